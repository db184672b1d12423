/*
 * Unit tests of the peer registry (src/federation/peers.c): what is kept,
 * the token sealed (never in the file in clear, opened only with this
 * node's key), policies, and the checks of names and URLs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "federation/peers.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char home[256];

static void rm_home(void)
{
	char p[512];
	const char *files[] = {"peers.db", "peers.db-journal", "keys/peers.key",
			       "keys"};
	for (size_t i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "%s/%s", home, files[i]);
		if (unlink(p) != 0)
			rmdir(p);
	}
	rmdir(home);
}

/* Whether needle occurs in the n bytes at hay (memmem is not POSIX). */
static bool has_bytes(const char *hay, size_t n, const char *needle)
{
	size_t k = strlen(needle);
	for (size_t i = 0; i + k <= n; i++)
		if (memcmp(hay + i, needle, k) == 0)
			return true;
	return false;
}

static void fill(struct peer *p, const char *name)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->url, sizeof(p->url), "https://%s.example:7400/taxii2/",
		 name);
	memset(p->pk, name[0], sizeof(p->pk));
	p->trust = PEER_ATTESTED;
	snprintf(p->pins[0], sizeof(p->pins[0]), "%064d", 7);
}

static int count(void *ctx, const struct peer *peer)
{
	(void)peer;
	(*(int *)ctx)++;
	return 0;
}

static void test_registry(void **state)
{
	(void)state;
	struct peers *p;
	struct diag d;
	struct peer a, got;
	const char *tmp = getenv("TMPDIR");
	snprintf(home, sizeof(home), "%s/strait-peers-XXXXXX",
		 tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	assert_non_null(mkdtemp(home));
	assert_int_equal(peers_open(home, &p, &d), ST_OK);

	fill(&a, "jp");
	assert_int_equal(
	    peers_add(p, &a, "the-token-of-jp", "tlp: [green]\n", &d), ST_OK);
	assert_int_equal(peers_add(p, &a, "x", NULL, &d), ST_EEXIST);
	fill(&a, "us");
	a.trust = PEER_FEED;
	assert_int_equal(peers_add(p, &a, "the-token-of-us", NULL, &d), ST_OK);
	/* Tokens: 1 to PEER_TOKEN_MAX bytes. */
	fill(&a, "kr");
	assert_int_equal(peers_add(p, &a, "", NULL, &d), ST_EINVAL);

	assert_int_equal(peers_get(p, "jp", &got, &d), ST_OK);
	assert_string_equal(got.url, "https://jp.example:7400/taxii2/");
	assert_true(got.has_policy);
	assert_int_equal(got.trust, PEER_ATTESTED);
	assert_int_equal(got.pk[0], 'j');
	assert_string_equal(got.pins[0], a.pins[0]);
	assert_int_equal(got.pins[1][0], '\0');
	assert_int_equal(peers_get(p, "us", &got, &d), ST_OK);
	assert_false(got.has_policy);
	assert_int_equal(got.trust, PEER_FEED);
	assert_int_equal(peers_get(p, "nobody", &got, &d), ST_ENOTFOUND);
	int n = 0;
	assert_int_equal(peers_list(p, count, &n, &d), ST_OK);
	assert_int_equal(n, 2);

	/* The token opens with this node's key, and is not in the file. */
	char tok[PEER_TOKEN_MAX + 1];
	assert_int_equal(peers_token(p, "jp", tok, sizeof(tok), &d), ST_OK);
	assert_string_equal(tok, "the-token-of-jp");
	assert_int_equal(peers_token(p, "jp", tok, 4, &d), ST_EAUTH);
	char path[512];
	snprintf(path, sizeof(path), "%s/peers.db", home);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	static char img[1 << 20];
	size_t len = fread(img, 1, sizeof(img), f);
	fclose(f);
	assert_true(len > 0);
	assert_false(has_bytes(img, len, "the-token-of"));

	/* Policies: replaced, read back, removed. */
	char *text;
	assert_int_equal(peers_policy(p, "jp", &text, &d), ST_OK);
	assert_string_equal(text, "tlp: [green]\n");
	free(text);
	assert_int_equal(peers_set_policy(p, "us", "tlp: [clear]\n", &d),
			 ST_OK);
	assert_int_equal(peers_policy(p, "us", &text, &d), ST_OK);
	assert_string_equal(text, "tlp: [clear]\n");
	free(text);
	assert_int_equal(peers_set_policy(p, "jp", NULL, &d), ST_OK);
	assert_int_equal(peers_policy(p, "jp", &text, &d), ST_OK);
	assert_null(text);
	assert_int_equal(peers_set_policy(p, "nobody", NULL, &d), ST_ENOTFOUND);

	assert_int_equal(peers_remove(p, "us", &d), ST_OK);
	assert_int_equal(peers_remove(p, "us", &d), ST_ENOTFOUND);
	peers_close(p);

	/* Another node's key cannot open the tokens. */
	snprintf(path, sizeof(path), "%s/keys/peers.key", home);
	f = fopen(path, "wb");
	assert_non_null(f);
	char other[32];
	memset(other, 9, sizeof(other));
	fwrite(other, 1, sizeof(other), f);
	fclose(f);
	assert_int_equal(peers_open(home, &p, &d), ST_OK);
	assert_int_equal(peers_token(p, "jp", tok, sizeof(tok), &d), ST_EAUTH);
	assert_non_null(strstr(d.msg, "does not open"));
	peers_close(p);
	rm_home();
}

static void test_checks(void **state)
{
	(void)state;
	struct diag d;
	static const struct {
		const char *url;
		int rc;
	} urls[] = {
	    {"https://nisc.example:7400/taxii2/", ST_OK},
	    {"http://127.0.0.1:7400/taxii2/", ST_OK},
	    {"http://127.9.9.9/taxii2/", ST_OK},
	    {"http://[::1]:7400/taxii2/", ST_OK},
	    {"http://localhost:7400/taxii2/", ST_OK},
	    {"https://[2001:db8::1]/taxii2/", ST_OK},
	    {"http://10.0.0.1/taxii2/", ST_EINVAL},
	    {"http://nisc.example/taxii2/", ST_EINVAL},
	    {"http://[2001:db8::1]/taxii2/", ST_EINVAL},
	    {"http://127.0.0.1.example/", ST_EINVAL},
	    {"ftp://nisc.example/", ST_EINVAL},
	    {"https://user:pw@nisc.example/", ST_EINVAL},
	    {"https:///taxii2/", ST_EINVAL},
	    {"nisc.example", ST_EINVAL},
	};
	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		int rc = peer_url_check(urls[i].url, &d);
		if (rc != urls[i].rc)
			fprintf(stderr, "%s: %d %s\n", urls[i].url, rc, d.msg);
		assert_int_equal(rc, urls[i].rc);
	}
	assert_int_equal(peer_name_check("nisc-jp_1", &d), ST_OK);
	assert_int_equal(peer_name_check("", &d), ST_EINVAL);
	assert_int_equal(peer_name_check("NISC", &d), ST_EINVAL);
	assert_int_equal(peer_name_check("a b", &d), ST_EINVAL);
	assert_int_equal(
	    peer_name_check("abcdefghijklmnopqrstuvwxyz0123456", &d),
	    ST_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_registry),
	    cmocka_unit_test(test_checks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
