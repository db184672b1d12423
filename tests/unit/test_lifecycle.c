/*
 * Unit tests of the indicator lifecycle (src/lifecycle): the decay of
 * confidence with age, durations and the lifecycle: configuration, and
 * which indicators an allow-list entry suppresses (equality, subdomains,
 * prefixes, URLs on an allow-listed host, hashes in any case).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/json.h"
#include "lifecycle/lifecycle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DAY INT64_C(86400)

static void test_decay(void **state)
{
	(void)state;
	static const struct {
		int conf;
		int64_t age, half;
		int want;
	} t[] = {
	    {80, 0, 180 * DAY, 80},	     /* new */
	    {80, 180 * DAY, 180 * DAY, 40},  /* one half-life */
	    {80, 360 * DAY, 180 * DAY, 20},  /* two */
	    {80, 90 * DAY, 180 * DAY, 57},   /* 80 / sqrt 2 = 56.57 */
	    {100, 1800 * DAY, 180 * DAY, 0}, /* 0.098: rounds to 0 */
	    {75, 180 * DAY, 180 * DAY, 38},  /* 37.5 rounds up */
	    {80, 180 * DAY, 0, 80},	     /* no decay configured */
	    {80, -5 * DAY, 180 * DAY, 80},   /* modified in the future */
	    {0, 10 * DAY, 180 * DAY, 0},     /* nothing to lose */
	    {-1, 10 * DAY, 180 * DAY, -1},   /* no confidence */
	    {100, 100 * 365 * DAY, 1, 0},    /* no overflow, no NaN */
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int got = lc_decay(t[i].conf, t[i].age, t[i].half);
		if (got != t[i].want)
			fail_msg("row %zu: decay(%d, %lld, %lld) = %d, want %d",
				 i, t[i].conf, (long long)t[i].age,
				 (long long)t[i].half, got, t[i].want);
	}
}

static void test_duration(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		int64_t want; /* 0: refused */
	} t[] = {
	    {"90d", 90 * DAY}, {"12h", 12 * 3600}, {"30m", 1800}, {"45s", 45},
	    {"2w", 14 * DAY},  {"0d", 0},	   {"d", 0},	  {"90", 0},
	    {"90dd", 0},       {"-3d", 0},	   {"3y", 0},	  {"", 0},
	    {"99999999w", 0},  {" 3d", 0},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int64_t s = -1;
		int rc = lc_duration_parse(t[i].s, &s);
		if (t[i].want == 0 ? rc == ST_OK
				   : rc != ST_OK || s != t[i].want)
			fail_msg("'%s': rc %d, %lld", t[i].s, rc, (long long)s);
	}
}

static void test_config(void **state)
{
	(void)state;
	struct lc_config c;
	struct diag d;
	assert_int_equal(lc_config_parse("", "", "", &c, &d), ST_OK);
	assert_int_equal(c.half_life_s, 0);
	assert_int_equal(c.default_confidence, -1);
	assert_int_equal(c.n_valid_for, 0);
	assert_int_equal(lc_config_parse("180d", "50",
					 "default=90d, identity--0b9f8e7d-6c5b-"
					 "4a39-8271-605f4e3d2c1b=30d,*=1w",
					 &c, &d),
			 ST_OK);
	assert_int_equal(c.half_life_s, 180 * DAY);
	assert_int_equal(c.default_confidence, 50);
	assert_int_equal(c.n_valid_for, 3);
	assert_string_equal(c.valid_for[0].target, "default");
	assert_int_equal(c.valid_for[0].secs, 90 * DAY);
	assert_int_equal(c.valid_for[1].secs, 30 * DAY);
	assert_string_equal(c.valid_for[2].target, "*");
	static const char *const bad[][3] = {
	    {"soon", "", ""},	 {"", "101", ""},  {"", "x", ""},
	    {"", "", "default"}, {"", "", "=90d"}, {"", "", "a=1d,a=2d"},
	    {"", "", "a=1y"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		d.msg[0] = '\0';
		if (lc_config_parse(bad[i][0], bad[i][1], bad[i][2], &c, &d) !=
		    ST_ECONFIG)
			fail_msg("row %zu accepted", i);
		assert_non_null(strstr(d.msg, "lifecycle."));
	}
}

struct home {
	char dir[64];
	struct lc *lc;
	struct json_doc *doc;
};

static int setup(void **state)
{
	struct home *h = calloc(1, sizeof(*h));
	snprintf(h->dir, sizeof(h->dir), "/tmp/test_lifecycle.XXXXXX");
	if (h == NULL || mkdtemp(h->dir) == NULL)
		return -1;
	struct lc_config c;
	struct diag d;
	if (lc_config_parse("", "", "*=30d", &c, &d) != ST_OK ||
	    lc_open(h->dir, NULL, &c, &h->lc, &d) != ST_OK)
		return -1;
	h->doc = json_doc_new();
	*state = h;
	return 0;
}

static int teardown(void **state)
{
	struct home *h = *state;
	char p[128];
	lc_close(h->lc);
	json_doc_free(h->doc);
	static const char *const files[] = {"lifecycle.db", "lifecycle.db-wal",
					    "lifecycle.db-shm"};
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", h->dir, files[i]);
		unlink(p);
	}
	rmdir(h->dir);
	free(h);
	return 0;
}

/* Whether an indicator with this pattern (valid from now) is
 * suppressed, and why. */
static bool suppressed(struct home *h, const char *pattern, char *why)
{
	char ts[TS_BUFSZ], json[2048];
	ts_format_ms(time_now(), ts);
	snprintf(json, sizeof(json),
		 "{\"type\":\"indicator\",\"id\":\"indicator--a1111111-1111-"
		 "4111-8111-111111111111\",\"created\":\"%s\",\"modified\":"
		 "\"%s\",\"valid_from\":\"%s\",\"pattern_type\":\"stix\","
		 "\"pattern\":\"%s\"}",
		 ts, ts, ts, pattern);
	const struct json_val *o;
	struct diag d;
	assert_int_equal(
	    json_parse(h->doc, json, strlen(json), 0, NULL, &o, &d), ST_OK);
	return lc_suppressed(h->lc, o, NULL, time_now(), why);
}

static void test_allow_list(void **state)
{
	struct home *h = *state;
	struct diag d;
	char why[LC_WHY_MAX];
	static const char *const entries[] = {
	    "198.51.100.7",
	    "2001:DB8::/32",
	    "Example.COM.",
	    "http://tracker.example.net/x?y=1",
	    "5F0A6C1E8D9B7A2C3E4F5061728394A5B6C7D8E9F00112233445566778899AAB",
	    "ops@partner.example",
	};
	for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++)
		assert_int_equal(lc_allow_add(h->lc, entries[i], "t", NULL, &d),
				 ST_OK);
	assert_int_equal(lc_allow_add(h->lc, "T1566", NULL, NULL, &d),
			 ST_EINVAL);
	assert_int_equal(lc_allow_add(h->lc, "no such thing", NULL, NULL, &d),
			 ST_EINVAL);
	static const struct {
		const char *pattern;
		bool want;
	} t[] = {
	    {"[ipv4-addr:value = '198.51.100.7']", true},
	    {"[ipv4-addr:value = '198.51.100.8']", false},
	    {"[ipv4-addr:value ISSUBSET '198.51.100.0/24']", true}, /* holds
								      it */
	    {"[ipv4-addr:value ISSUBSET '198.51.101.0/24']", false},
	    {"[ipv6-addr:value = '2001:db8::1']", true},
	    {"[network-traffic:dst_ref.value = '198.51.100.7']", true},
	    {"[domain-name:value = 'example.com']", true},
	    {"[domain-name:value = 'cdn.example.com']", true}, /* subdomain */
	    {"[domain-name:value = 'notexample.com']", false},
	    {"[url:value = 'http://tracker.example.net/x?y=1']", true},
	    {"[url:value = 'http://tracker.example.net/other']", false},
	    {"[url:value = 'https://www.example.com/login']", true}, /* host */
	    {"[file:hashes.'SHA-256' = "
	     "'5f0a6c1e8d9b7a2c3e4f5061728394a5b6c7d8e9f00112233445566778899aab"
	     "']",
	     true},
	    {"[email-addr:value = 'ops@partner.example']", true},
	    {"[email-addr:value = 'x@example.com']", true}, /* its domain */
	    {"[ipv4-addr:value = '10.0.0.1'] OR [domain-name:value = "
	     "'example.com']",
	     true},
	    {"[ipv4-addr:value != '198.51.100.7']", false}, /* not a value */
	    {"[x-custom:value = '198.51.100.7']", false},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		bool got = suppressed(h, t[i].pattern, why);
		if (got != t[i].want)
			fail_msg("%s: suppressed %d (%s)", t[i].pattern, got,
				 why);
		if (got && strncmp(why, "allow-listed: ", 14) != 0)
			fail_msg("%s: why '%s'", t[i].pattern, why);
	}
	assert_int_equal(lc_allow_remove(h->lc, "EXAMPLE.com", &d), ST_OK);
	assert_false(suppressed(h, "[domain-name:value = 'example.com']", why));
	assert_int_equal(lc_allow_remove(h->lc, "example.com", &d),
			 ST_ENOTFOUND);
}

static void test_fp_and_expiry(void **state)
{
	struct home *h = *state;
	struct diag d;
	char why[LC_WHY_MAX];
	const char *p = "[ipv4-addr:value = '203.0.113.9']";
	assert_false(suppressed(h, p, why));
	struct lc_fp fp = {.id = "sighting--b1111111-1111-4111-8111-"
				 "111111111111",
			   .indicator = "indicator--a1111111-1111-4111-8111-"
					"111111111111",
			   .reason = "a test range",
			   .at = 1};
	assert_int_equal(lc_fp_add(h->lc, &fp, &d), ST_OK);
	assert_true(suppressed(h, p, why));
	assert_string_equal(why, "false positive: a test range");
	struct lc_fp out;
	assert_int_equal(lc_fp_remove(h->lc, fp.id, &out, &d), ST_OK);
	assert_string_equal(out.indicator, fp.indicator);
	assert_false(suppressed(h, p, why));
	assert_int_equal(lc_fp_remove(h->lc, fp.id, NULL, &d), ST_ENOTFOUND);

	/* "*=30d": valid 30 days from valid_from */
	static const char old[] =
	    "{\"type\":\"indicator\",\"created\":\"2020-01-01T00:00:00Z\","
	    "\"valid_from\":\"2020-02-01T00:00:00Z\",\"pattern\":\"[ipv4-addr:"
	    "value = '203.0.113.9']\"}";
	const struct json_val *o;
	assert_int_equal(json_parse(h->doc, old, strlen(old), 0, NULL, &o, &d),
			 ST_OK);
	bool by_default = false;
	char rule[128];
	char ts[TS_BUFSZ];
	ts_format(lc_valid_until(h->lc, o, NULL, &by_default, rule), ts);
	assert_true(by_default);
	assert_string_equal(ts, "2020-03-02T00:00:00.000000Z");
	assert_string_equal(rule, "every indicator");
	assert_true(lc_suppressed(h->lc, o, NULL, time_now(), why));
	assert_string_equal(why,
			    "expired (default validity of every indicator)");
	st_time before;
	assert_int_equal(ts_parse("2020-03-01T00:00:00Z", 20, &before, NULL),
			 ST_OK);
	assert_false(lc_suppressed(h->lc, o, NULL, before, why));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_decay),
	    cmocka_unit_test(test_duration),
	    cmocka_unit_test(test_config),
	    cmocka_unit_test_setup_teardown(test_allow_list, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fp_and_expiry, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
