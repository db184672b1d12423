/*
 * Unit tests of a partner's sharing policy file (src/policy/peer_policy.c):
 * the documented example, least privilege for what is missing, and an
 * error naming the line for every kind of mistake.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "policy/peer_policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int parse(const char *y, struct peer_policy *p, struct diag *d)
{
	return peer_policy_parse(y, strlen(y), p, d);
}

static void test_example(void **state)
{
	(void)state;
	/* The example of docs/FEDERATION.md, as the issue gives it. */
	static const char y[] =
	    "tlp: [clear, green, amber]   # levels this partner may receive\n"
	    "collections: [\"*\"]\n"
	    "types: [\"*\"]\n"
	    "labels: [\"*\"]\n"
	    "deny:\n"
	    "  collections: []\n"
	    "  types: []\n"
	    "  labels: []\n"
	    "relay_green: false\n"
	    "default_tlp: amber\n";
	struct peer_policy p;
	struct diag d;
	assert_int_equal(parse(y, &p, &d), ST_OK);
	assert_true(p.tlp[TLP_CLEAR] && p.tlp[TLP_GREEN] && p.tlp[TLP_AMBER]);
	/* AMBER+STRICT and RED only when named. */
	assert_false(p.tlp[TLP_AMBER_STRICT]);
	assert_false(p.tlp[TLP_RED]);
	assert_true(p.collections.all && p.types.all && p.labels.all);
	assert_true(peer_list_has(&p.types, "indicator"));
	assert_false(p.deny_collections.all || p.deny_types.all ||
		     p.deny_labels.all);
	assert_false(peer_list_has(&p.deny_types, "indicator"));
	assert_false(p.relay_green);
	assert_true(p.has_default_tlp);
	assert_int_equal(p.default_tlp, TLP_AMBER);
	peer_policy_free(&p);
}

static void test_least_privilege(void **state)
{
	(void)state;
	struct peer_policy p;
	struct diag d;
	/* An empty mapping grants nothing. */
	assert_int_equal(parse("{}\n", &p, &d), ST_OK);
	for (int t = TLP_CLEAR; t <= TLP_RED; t++)
		assert_false(p.tlp[t]);
	assert_false(peer_list_has(&p.collections, "default"));
	assert_false(peer_list_has(&p.types, "indicator"));
	assert_false(peer_list_has(&p.labels, "x"));
	assert_false(p.relay_green);
	assert_false(p.has_default_tlp);
	peer_policy_free(&p);

	/* Named lists, strict and red named, a deny list. */
	static const char y[] =
	    "tlp: [GREEN, amber+strict, tlp:red]\n"
	    "collections: [default, 0b6c8f4e-2a7b-4c3d-9e5f-0a1b2c3d4e5f]\n"
	    "types: [indicator, malware, x-mitre-tactic]\n"
	    "labels: [\"wedge strategy\", 日本語]\n"
	    "deny: {types: [note], labels: [internal]}\n"
	    "relay_green: TRUE\n";
	assert_int_equal(parse(y, &p, &d), ST_OK);
	assert_true(p.tlp[TLP_GREEN] && p.tlp[TLP_AMBER_STRICT] &&
		    p.tlp[TLP_RED]);
	assert_false(p.tlp[TLP_CLEAR] || p.tlp[TLP_AMBER]);
	assert_true(peer_list_has(&p.collections, "default"));
	assert_true(peer_list_has(&p.collections,
				  "0b6c8f4e-2a7b-4c3d-9e5f-0a1b2c3d4e5f"));
	assert_false(peer_list_has(&p.collections, "inbox"));
	assert_true(peer_list_has(&p.types, "x-mitre-tactic"));
	assert_false(peer_list_has(&p.types, "report"));
	assert_true(peer_list_has(&p.labels, "wedge strategy"));
	assert_true(peer_list_has(&p.labels, "日本語"));
	assert_true(peer_list_has(&p.deny_types, "note"));
	assert_true(peer_list_has(&p.deny_labels, "internal"));
	assert_true(p.relay_green);
	peer_policy_free(&p);
}

static void test_errors(void **state)
{
	(void)state;
	static const struct {
		const char *yaml;
		int rc;
		const char *msg;
	} cases[] = {
	    {"", ST_ECONFIG, "a policy is a mapping"},
	    {"- clear\n", ST_ECONFIG, "line 1: a policy is a mapping"},
	    {"tlp: [clear]\ncolour: blue\n", ST_ECONFIG,
	     "line 2: unknown key 'colour'"},
	    {"tlp: [clear, purple]\n", ST_ECONFIG,
	     "line 1: 'tlp': 'purple' is not a TLP level"},
	    {"tlp: [none]\n", ST_ECONFIG, "'none' is not a TLP level"},
	    {"tlp: clear\n", ST_ECONFIG, "line 1: 'tlp' must be a list"},
	    {"tlp: [clear]\ntlp: [red]\n", ST_ECONFIG,
	     "line 2: 'tlp' given twice"},
	    {"types: [Indicator]\n", ST_ECONFIG,
	     "'Indicator' is not a valid STIX type"},
	    {"types: [{a: b}]\n", ST_ECONFIG, "'types' must hold names only"},
	    {"collections: [\"a b\"]\n", ST_ECONFIG,
	     "not a valid collection id or alias"},
	    {"relay_green: maybe\n", ST_ECONFIG,
	     "'relay_green' must be true or false"},
	    {"relay_green: [true]\n", ST_ECONFIG,
	     "'relay_green' must be a single value"},
	    {"default_tlp: none\n", ST_ECONFIG,
	     "'default_tlp': 'none' is not a TLP level"},
	    {"deny:\n  verbs: []\n", ST_ECONFIG,
	     "line 2: unknown key 'deny.verbs'"},
	    {"deny: [note]\n", ST_ECONFIG, "'deny' must hold collections"},
	    {"deny: {types: [a1b]}\ndeny: {}\n", ST_ECONFIG,
	     "'deny' given twice"},
	    {"tlp: [clear\n", ST_ECONFIG, "line 2: "},
	    {"tlp: [clear]\n---\ntlp: [red]\n", ST_ECONFIG,
	     "one policy per file"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct peer_policy p;
		struct diag d = {""};
		int rc = parse(cases[i].yaml, &p, &d);
		if (rc != cases[i].rc || strstr(d.msg, cases[i].msg) == NULL)
			fprintf(stderr, "case %zu: rc %d, '%s'\n", i, rc,
				d.msg);
		assert_int_equal(rc, cases[i].rc);
		assert_non_null(strstr(d.msg, cases[i].msg));
		/* Nothing is left granted by a refused file. */
		assert_false(p.tlp[TLP_CLEAR]);
		assert_null(p.types.items);
	}
}

static void test_limits_and_files(void **state)
{
	(void)state;
	struct peer_policy p;
	struct diag d;
	/* 257 names in one list. */
	char *y = malloc(16 * 300);
	strcpy(y, "types: [");
	for (int i = 0; i < PEER_POLICY_MAX_ITEMS + 1; i++)
		sprintf(y + strlen(y), "%sx-t%d", i ? ", " : "", i);
	strcat(y, "]\n");
	assert_int_equal(parse(y, &p, &d), ST_ELIMIT);
	assert_non_null(strstr(d.msg, "more than 256 names"));
	free(y);
	/* Larger than a policy may be. */
	size_t big = PEER_POLICY_MAX_BYTES + 1;
	y = malloc(big + 1);
	memset(y, '#', big);
	y[big] = '\0';
	assert_int_equal(parse(y, &p, &d), ST_ELIMIT);
	free(y);
	/* A NUL byte. */
	assert_int_equal(peer_policy_parse("tlp: [clear]\0x", 14, &p, &d),
			 ST_ECONFIG);

	/* From a file: the path is in every message. */
	char path[256];
	const char *tmp = getenv("TMPDIR");
	snprintf(path, sizeof(path), "%s/strait-policy-%d.yaml",
		 tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp", (int)getpid());
	assert_int_equal(peer_policy_load(path, &p, &d), ST_ENOTFOUND);
	assert_non_null(strstr(d.msg, path));
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("tlp: [green]\ntypes: [indicator]\n", f);
	fclose(f);
	assert_int_equal(peer_policy_load(path, &p, &d), ST_OK);
	assert_true(p.tlp[TLP_GREEN]);
	assert_true(peer_list_has(&p.types, "indicator"));
	peer_policy_free(&p);
	f = fopen(path, "w");
	fputs("tlp: [green]\nbogus: 1\n", f);
	fclose(f);
	assert_int_equal(peer_policy_load(path, &p, &d), ST_ECONFIG);
	assert_non_null(strstr(d.msg, path));
	assert_non_null(strstr(d.msg, "line 2: unknown key 'bogus'"));
	remove(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_example),
	    cmocka_unit_test(test_least_privilege),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_limits_and_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
