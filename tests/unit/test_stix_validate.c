/*
 * Table-driven tests of stix_validate(): every rule with a passing and a
 * failing case. The table is tests/data/stix/rules.json, one case a line:
 * {name, expect: ok|error|warning, path, msg, object}. "error" and
 * "warning" cases must report an issue of that kind whose path contains
 * `path` and whose message contains `msg`; "ok" cases must report nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "stix/stix.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *p = NULL;
	long n;
	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (p = malloc((size_t)n + 1)) != NULL) {
		*len = fread(p, 1, (size_t)n, f);
		p[*len] = '\0';
	}
	fclose(f);
	return p;
}

static void dump(const char *name, int rc, const struct stix_report *rep)
{
	print_error("case \"%s\": rc %d, %u errors, %u warnings\n", name, rc,
		    rep->n_errors, rep->n_warnings);
	for (uint32_t i = 0; i < rep->n; i++)
		print_error("    %s %s: %s\n", rep->items[i].error ? "E" : "W",
			    rep->items[i].path, rep->items[i].msg);
}

static bool has_issue(const struct stix_report *rep, bool error,
		      const char *path, const char *msg)
{
	for (uint32_t i = 0; i < rep->n; i++) {
		const struct stix_issue *it = &rep->items[i];
		if (it->error == error && strstr(it->path, path) != NULL &&
		    strstr(it->msg, msg) != NULL)
			return true;
	}
	return false;
}

static void test_rules_table(void **state)
{
	(void)state;
	size_t len = 0;
	char *text = slurp(TEST_DATA_DIR "/stix/rules.json", &len);
	struct json_doc *doc = json_doc_new();
	const struct json_val *root = NULL;
	struct stix_report rep;
	struct stix_info info;
	unsigned failures = 0, n_err = 0, n_warn = 0, n_ok = 0;

	assert_non_null(text);
	assert_non_null(doc);
	assert_int_equal(json_parse(doc, text, len, 0, NULL, &root, NULL),
			 ST_OK);
	assert_int_equal(root->type, JSON_ARRAY);
	assert_true(root->len > 250);
	stix_report_init(&rep);
	for (uint32_t i = 0; i < root->len; i++) {
		const struct json_val *c = &root->u.items[i];
		const char *name = json_get(c, "name")->u.str;
		const char *expect = json_get(c, "expect")->u.str;
		const char *path = json_get(c, "path")->u.str;
		const char *msg = json_get(c, "msg")->u.str;
		const struct json_val *obj = json_get(c, "object");
		bool ok;
		stix_report_reset(&rep);
		int rc = stix_validate(obj, &info, &rep);
		if (strcmp(expect, "ok") == 0) {
			ok = rc == ST_OK && rep.n_errors == 0 &&
			     rep.n_warnings == 0;
			n_ok++;
		} else if (strcmp(expect, "error") == 0) {
			ok = rc == ST_ESTIX && has_issue(&rep, true, path, msg);
			n_err++;
		} else {
			ok = rc == ST_OK && has_issue(&rep, false, path, msg);
			n_warn++;
		}
		/* what stix_validate promises whatever the object */
		if (rc == ST_OK &&
		    (info.id[0] == '\0' ||
		     strncmp(info.id, info.type, strlen(info.type)) != 0))
			ok = false;
		if ((rc == ST_ESTIX) != (rep.n_errors > 0))
			ok = false;
		if (!ok) {
			failures++;
			print_error("expected %s [%s] [%s]\n", expect, path,
				    msg);
			dump(name, rc, &rep);
		}
	}
	print_message("%u rule cases: %u ok, %u errors, %u warnings\n",
		      root->len, n_ok, n_err, n_warn);
	assert_int_equal(failures, 0);
	stix_report_free(&rep);
	json_doc_free(doc);
	free(text);
}

/* Parses a literal and validates it with a fresh report. */
static int validate(const char *json, struct stix_info *info,
		    struct stix_report *rep, struct json_doc *doc)
{
	const struct json_val *v = NULL;
	assert_int_equal(json_parse(doc, json, strlen(json), 0, NULL, &v, NULL),
			 ST_OK);
	stix_report_reset(rep);
	return stix_validate(v, info, rep);
}

static void test_info(void **state)
{
	(void)state;
	struct json_doc *doc = json_doc_new();
	struct stix_report rep;
	struct stix_info info;
	st_time t;
	stix_report_init(&rep);

	assert_int_equal(
	    validate("{\"type\":\"indicator\",\"spec_version\":\"2.1\","
		     "\"id\":\"indicator--8e2e2d2b-17d4-4cbf-938f-"
		     "98ee46b3cd3f\",\"created\":\"2016-04-06T20:03:48."
		     "000Z\",\"modified\":\"2017-01-01T00:00:00.123Z\","
		     "\"revoked\":true,\"pattern\":\"[x:y = 'z']\","
		     "\"pattern_type\":\"stix\",\"valid_from\":"
		     "\"2016-01-01T00:00:00Z\"}",
		     &info, &rep, doc),
	    ST_OK);
	assert_string_equal(info.id,
			    "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f");
	assert_string_equal(info.type, "indicator");
	assert_int_equal(info.kind, STIX_SDO);
	assert_true(info.versioned);
	assert_true(info.revoked);
	assert_false(info.custom_type);
	assert_false(info.id_generated);
	assert_int_equal(ts_parse("2016-04-06T20:03:48.000Z", 24, &t, NULL),
			 ST_OK);
	assert_true(info.created == t);
	assert_int_equal(ts_parse("2017-01-01T00:00:00.123Z", 24, &t, NULL),
			 ST_OK);
	assert_true(info.modified == t);
	assert_true(info.version == t);
	assert_int_equal(info.tlp, TLP_NONE);
	assert_false(info.unknown_marking);
	assert_int_equal(info.uuid[0], 0x8e);

	/* an SCO is not versioned */
	assert_int_equal(validate("{\"type\":\"url\",\"value\":"
				  "\"https://example.com/\"}",
				  &info, &rep, doc),
			 ST_OK);
	assert_int_equal(info.kind, STIX_SCO);
	assert_false(info.versioned);
	assert_true(info.version == 0);

	/* a marking definition has only created */
	assert_int_equal(
	    validate("{\"type\":\"marking-definition\",\"spec_version\":"
		     "\"2.1\",\"id\":\"marking-definition--4a0042fe-8b88-"
		     "40fe-9600-dfa128ce6fbd\",\"created\":\"2016-08-01T00:"
		     "00:00.000Z\",\"definition_type\":\"statement\","
		     "\"definition\":{\"statement\":\"c\"}}",
		     &info, &rep, doc),
	    ST_OK);
	assert_int_equal(info.kind, STIX_META);
	assert_false(info.versioned);
	assert_true(info.created != 0);

	/* a custom type, and a bundle */
	assert_int_equal(
	    validate("{\"type\":\"x-acme\",\"spec_version\":\"2.1\","
		     "\"id\":\"x-acme--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f\""
		     ",\"created\":\"2016-04-06T20:03:48.000Z\","
		     "\"modified\":\"2016-04-06T20:03:48.000Z\"}",
		     &info, &rep, doc),
	    ST_OK);
	assert_true(info.custom_type);
	assert_int_equal(info.kind, STIX_SDO);
	assert_int_equal(validate("{\"type\":\"bundle\",\"id\":\"bundle--"
				  "8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f\"}",
				  &info, &rep, doc),
			 ST_ESTIX);
	assert_int_equal(info.kind, STIX_BUNDLE);

	stix_report_free(&rep);
	json_doc_free(doc);
}

/* An SCO without id gets its deterministic one. */
static void test_missing_sco_id(void **state)
{
	(void)state;
	struct json_doc *doc = json_doc_new();
	struct stix_report rep;
	struct stix_info info;
	stix_report_init(&rep);
	assert_int_equal(validate("{\"type\":\"ipv4-addr\",\"value\":"
				  "\"198.51.100.3\"}",
				  &info, &rep, doc),
			 ST_OK);
	assert_true(info.id_generated);
	assert_string_equal(info.id,
			    "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4");
	assert_int_equal(rep.n, 0);
	/* still validated normally */
	assert_int_equal(validate("{\"type\":\"ipv4-addr\",\"value\":"
				  "\"198.51.100\"}",
				  &info, &rep, doc),
			 ST_ESTIX);
	/* missing id is an error for the other kinds */
	assert_int_equal(validate("{\"type\":\"identity\",\"spec_version\":"
				  "\"2.1\",\"created\":\"2016-04-06T20:03:48."
				  "000Z\",\"modified\":\"2016-04-06T20:03:48."
				  "000Z\",\"name\":\"a\"}",
				  &info, &rep, doc),
			 ST_ESTIX);
	assert_false(info.id_generated);
	stix_report_free(&rep);
	json_doc_free(doc);
}

static void test_report_cap_and_format(void **state)
{
	(void)state;
	struct json_doc *doc = json_doc_new();
	struct stix_report rep;
	struct stix_info info;
	struct buf b = BUF_INIT(1 << 20);
	char json[8192];
	size_t o = 0;
	stix_report_init(&rep);
	o += (size_t)snprintf(json + o, sizeof(json) - o,
			      "{\"type\":\"url\",\"value\":\"https://e.x/\"");
	for (int i = 0; i < 100; i++)
		o += (size_t)snprintf(json + o, sizeof(json) - o, ",\"X%d\":1",
				      i);
	snprintf(json + o, sizeof(json) - o, "}");
	assert_int_equal(validate(json, &info, &rep, doc), ST_ESTIX);
	assert_int_equal(rep.n_errors, 100);
	assert_int_equal(rep.n, 65); /* 64 kept, then the summary */
	assert_true(rep.items[64].error);
	assert_non_null(strstr(rep.items[64].msg, "36 more"));

	assert_int_equal(validate("{\"type\":\"url\",\"value\":\"x\","
				  "\"defanged\":1,\"acme\":true}",
				  &info, &rep, doc),
			 ST_ESTIX);
	assert_int_equal(stix_report_format(&rep, info.id, true, &b), ST_OK);
	assert_non_null(strstr(b.data, ": value: not a URL"));
	assert_non_null(strstr(b.data, "url--"));
	assert_null(strstr(b.data, "x_")); /* the warning is not there */
	buf_reset(&b);
	assert_int_equal(stix_report_format(&rep, info.id, false, &b), ST_OK);
	assert_non_null(strstr(b.data, "acme: custom property name should"));
	buf_reset(&b);
	assert_int_equal(stix_report_warnings_json(&rep, &b), ST_OK);
	assert_string_equal(b.data, "[\"acme: custom property name should "
				    "start with \\\"x_\\\"\"]");
	buf_free(&b);
	stix_report_free(&rep);
	json_doc_free(doc);
}

static void test_parse_id(void **state)
{
	(void)state;
	static const struct {
		const char *id;
		int rc;
		const char *type;
	} cases[] = {
	    {"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", ST_OK,
	     "indicator"},
	    {"x-foo-bar--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", ST_OK,
	     "x-foo-bar"},
	    {"indicator-8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", ST_EINVAL, NULL},
	    {"indicator--8E2E2D2B-17d4-4cbf-938f-98ee46b3cd3f", ST_EINVAL,
	     NULL},
	    {"in--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", ST_EINVAL, NULL},
	    {"Indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", ST_EINVAL,
	     NULL},
	    {"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3", ST_EINVAL, NULL},
	    {"", ST_EINVAL, NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char type[STIX_TYPE_MAX];
		uint8_t u[16];
		int rc =
		    stix_parse_id(cases[i].id, strlen(cases[i].id), type, u);
		assert_int_equal(rc, cases[i].rc);
		if (rc == ST_OK) {
			assert_string_equal(type, cases[i].type);
			assert_int_equal(u[0], 0x8e);
			assert_int_equal(u[15], 0x3f);
		}
	}
	assert_true(stix_is_sco_type("ipv4-addr", 9));
	assert_true(stix_is_sco_type("x509-certificate", 16));
	assert_false(stix_is_sco_type("indicator", 9));
	assert_false(stix_is_sco_type("ipv4-add", 8));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rules_table),
	    cmocka_unit_test(test_info),
	    cmocka_unit_test(test_missing_sco_id),
	    cmocka_unit_test(test_report_cap_and_format),
	    cmocka_unit_test(test_parse_id),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
