/*
 * Unit tests of the indexed matcher (src/pattern/matcher*.c).
 *
 * Most tests run once per prefilter (the built-in literal index, and
 * Hyperscan when built with it): the answers must not depend on it. The
 * randomized cross-check compares every hit with a brute-force
 * pattern_eval of every indicator against every observation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/json.h"
#include "pattern/matcher.h"
#include "pattern/matcher_int.h"
#include "pattern/warninglist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEC 1000000LL
#define T0 (1700000000LL * SEC) /* 2023-11-14T22:13:20Z */

/* ------------------------------------------------------------------ */
/* Helpers                                                              */
/* ------------------------------------------------------------------ */

/* The literal index always; Hyperscan too when it is built in and runs
 * on this CPU (decided once, in main). */
static enum matcher_prefilter prefilters[2] = {MATCHER_PREFILTER_LITERAL};
static size_t n_prefilters = 1;
#define N_PREFILTERS n_prefilters

static struct matcher *new_matcher(enum matcher_prefilter pf,
				   const struct matcher_config *base)
{
	struct matcher_config c;
	if (base)
		c = *base;
	else
		matcher_config_default(&c);
	c.prefilter = pf;
	struct matcher *m = NULL;
	struct diag d;
	assert_int_equal(matcher_new(&c, &m, &d), ST_OK);
	return m;
}

static void ts(st_time t, char out[TS_BUFSZ])
{
	ts_format(t, out);
}

/* An indicator as JSON; extra is a JSON fragment of more members (",..."). */
struct ind {
	unsigned n;	     /* id number */
	const char *pattern; /* NULL: none */
	st_time modified;    /* 0: T0 */
	const char *extra;
};

static void ind_id(unsigned n, char out[64])
{
	snprintf(out, 64, "indicator--00000000-0000-4000-8000-%012u", n);
}

static int offer_full(struct matcher *m, const struct ind *in, st_time now,
		      struct diag *why)
{
	struct buf b = BUF_INIT(1 << 20);
	struct jw w;
	char id[64], t[TS_BUFSZ];
	ind_id(in->n, id);
	jw_init(&w, &b);
	jw_obj_open(&w);
	jw_key(&w, "type");
	jw_str(&w, "indicator");
	jw_key(&w, "spec_version");
	jw_str(&w, "2.1");
	jw_key(&w, "id");
	jw_str(&w, id);
	ts(T0 - 3600 * SEC, t);
	jw_key(&w, "created");
	jw_str(&w, t);
	ts(in->modified ? in->modified : T0, t);
	jw_key(&w, "modified");
	jw_str(&w, t);
	if (in->pattern) {
		jw_key(&w, "pattern");
		jw_str(&w, in->pattern);
	}
	jw_key(&w, "pattern_type");
	jw_str(&w, "stix");
	jw_key(&w, "valid_from");
	ts(T0 - 3600 * SEC, t);
	jw_str(&w, t);
	jw_obj_close(&w);
	assert_int_equal(jw_finish(&w), ST_OK);
	if (in->extra && *in->extra) {
		/* Splice the extra members (they override by coming last is
		 * not JSON: the callers never repeat a key). */
		b.len--; /* the closing brace */
		buf_adds(&b, in->extra);
		buf_addc(&b, '}');
	}
	struct json_doc *doc = json_doc_new();
	const struct json_val *root;
	struct diag d;
	int rc = json_parse(doc, b.data, b.len, 0, NULL, &root, &d);
	if (rc)
		fail_msg("bad indicator JSON %s: %s", b.data, d.msg);
	rc = matcher_offer(m, root, now, why);
	json_doc_free(doc);
	buf_free(&b);
	return rc;
}

static int offer(struct matcher *m, unsigned n, const char *pattern)
{
	struct diag why;
	struct ind in = {n, pattern, 0, NULL};
	int rc = offer_full(m, &in, T0, &why);
	if (rc < 0)
		fail_msg("offer of %s failed: %s", pattern, why.msg);
	return rc;
}

/* An observation from a JSON list of SCOs, referred to as "0", "1"... */
struct obs {
	struct json_doc *doc;
	struct pat_sco scos[32];
	struct pat_observation o;
};

static const char *const refs[32] = {
    "0",  "1",	"2",  "3",  "4",  "5",	"6",  "7",  "8",  "9",	"10",
    "11", "12", "13", "14", "15", "16", "17", "18", "19", "20", "21",
    "22", "23", "24", "25", "26", "27", "28", "29", "30", "31",
};

static const struct pat_observation *mkobs(struct obs *b, const char *json,
					   st_time t)
{
	if (!b->doc)
		b->doc = json_doc_new();
	const struct json_val *root;
	struct diag d;
	if (json_parse(b->doc, json, strlen(json), 0, NULL, &root, &d))
		fail_msg("bad observation JSON %s: %s", json, d.msg);
	assert_int_equal(root->type, JSON_ARRAY);
	assert_true(root->len <= 32);
	for (uint32_t i = 0; i < root->len; i++) {
		b->scos[i].ref = refs[i];
		b->scos[i].obj = &root->u.items[i];
	}
	memset(&b->o, 0, sizeof(b->o));
	b->o.first_observed = t;
	b->o.last_observed = t;
	b->o.number_observed = 1;
	b->o.objects = b->scos;
	b->o.n_objects = root->len;
	return &b->o;
}

static void obs_free(struct obs *b)
{
	json_doc_free(b->doc);
	b->doc = NULL;
}

/* What the hit callback saw. */
struct hits {
	unsigned n;
	char log[4096]; /* "N:path=value,path=value;" per hit */
	size_t nobs_last;
	char markings[256];
	char creator[128];
};

static void on_hit(void *ctx, const struct matcher_hit *h)
{
	struct hits *hs = ctx;
	hs->n++;
	size_t at = strlen(hs->log);
	unsigned num = (unsigned)strtoul(h->id + strlen(h->id) - 12, NULL, 10);
	at += (size_t)snprintf(hs->log + at, sizeof(hs->log) - at, "%u:", num);
	for (size_t i = 0; i < h->n_values && at < sizeof(hs->log); i++)
		at += (size_t)snprintf(hs->log + at, sizeof(hs->log) - at,
				       "%s%s=%.*s", i ? "," : "",
				       h->values[i].path, (int)h->values[i].len,
				       h->values[i].value);
	if (at < sizeof(hs->log))
		snprintf(hs->log + at, sizeof(hs->log) - at, ";");
	hs->nobs_last = h->n_observations;
	hs->markings[0] = '\0';
	for (size_t i = 0; i < h->n_markings; i++) {
		strncat(hs->markings, h->markings[i],
			sizeof(hs->markings) - strlen(hs->markings) - 2);
		strcat(hs->markings, " ");
	}
	snprintf(hs->creator, sizeof(hs->creator), "%s",
		 h->created_by_ref ? h->created_by_ref : "");
}

/* Feeds one observation and returns the hit log. */
static const char *feed(struct matcher *m, const char *json, st_time t,
			struct hits *hs)
{
	struct obs b = {0};
	memset(hs, 0, sizeof(*hs));
	assert_int_equal(matcher_feed(m, mkobs(&b, json, t), on_hit, hs),
			 ST_OK);
	obs_free(&b);
	return hs->log;
}

/* ------------------------------------------------------------------ */
/* Each index kind hits and misses                                      */
/* ------------------------------------------------------------------ */

struct idx_case {
	const char *pattern;
	const char *obs;
	const char *expect; /* hit log, "" for none */
};

static const struct idx_case idx_cases[] = {
    /* equality, hash index */
    {"[ipv4-addr:value = '198.51.100.7']",
     "[{\"type\":\"ipv4-addr\",\"value\":\"198.51.100.7\"}]",
     "1:ipv4-addr:value=198.51.100.7;"},
    {"[ipv4-addr:value = '198.51.100.7']",
     "[{\"type\":\"ipv4-addr\",\"value\":\"198.51.100.8\"}]", ""},
    {"[ipv4-addr:value = '198.51.100.7']",
     "[{\"type\":\"ipv6-addr\",\"value\":\"198.51.100.7\"}]", ""},
    {"[domain-name:value = 'evil.example']",
     "[{\"type\":\"domain-name\",\"value\":\"evil.example\"}]",
     "1:domain-name:value=evil.example;"},
    {"[domain-name:value = 'evil.example']",
     "[{\"type\":\"domain-name\",\"value\":\"EVIL.example\"}]", ""},
    {"[url:value = 'http://evil.example/a']",
     "[{\"type\":\"url\",\"value\":\"http://evil.example/a\"}]",
     "1:url:value=http://evil.example/a;"},
    {"[file:hashes.'SHA-256' = "
     "'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']",
     "[{\"type\":\"file\",\"hashes\":{\"SHA-256\":"
     "\"aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f\"}}]",
     "1:file:hashes.'SHA-256'="
     "aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f;"},
    {"[file:hashes.'SHA-256' = 'aa']",
     "[{\"type\":\"file\",\"hashes\":{\"MD5\":\"aa\"}}]", ""},
    {"[domain-name:value IN ('a.example', 'b.example')]",
     "[{\"type\":\"domain-name\",\"value\":\"b.example\"}]",
     "1:domain-name:value=b.example;"},
    {"[domain-name:value IN ('a.example', 'b.example')]",
     "[{\"type\":\"domain-name\",\"value\":\"c.example\"}]", ""},
    {"[network-traffic:dst_port = 4444]",
     "[{\"type\":\"network-traffic\",\"dst_port\":4444}]",
     "1:network-traffic:dst_port=4444;"},
    {"[network-traffic:dst_port = 4444]",
     "[{\"type\":\"network-traffic\",\"dst_port\":\"4444\"}]", ""},
    {"[x-thing:flag = true]", "[{\"type\":\"x-thing\",\"flag\":true}]",
     "1:x-thing:flag=true;"},
    {"[x-thing:flag = true]", "[{\"type\":\"x-thing\",\"flag\":false}]", ""},
    /* a list is not a value: only [*] reaches into it */
    {"[x-thing:tags = 'a']", "[{\"type\":\"x-thing\",\"tags\":[\"a\"]}]", ""},
    {"[x-thing:tags[*] = 'a']", "[{\"type\":\"x-thing\",\"tags\":[\"a\"]}]",
     "1:x-thing:tags[*]=a;"},
    /* references */
    {"[network-traffic:dst_ref.value = '203.0.113.9']",
     "[{\"type\":\"network-traffic\",\"dst_ref\":\"1\"},"
     "{\"type\":\"ipv4-addr\",\"value\":\"203.0.113.9\"}]",
     "1:network-traffic:dst_ref.value=203.0.113.9;"},
    {"[network-traffic:dst_ref.value = '203.0.113.9']",
     "[{\"type\":\"network-traffic\",\"src_ref\":\"1\"},"
     "{\"type\":\"ipv4-addr\",\"value\":\"203.0.113.9\"}]",
     ""},
    {"[email-message:to_refs[*].value = 'x@evil.example']",
     "[{\"type\":\"email-message\",\"to_refs\":[\"1\",\"2\"]},"
     "{\"type\":\"email-addr\",\"value\":\"a@b.example\"},"
     "{\"type\":\"email-addr\",\"value\":\"x@evil.example\"}]",
     "1:email-message:to_refs[*].value=x@evil.example;"},
    /* CIDR, prefix trie */
    {"[ipv4-addr:value ISSUBSET '198.51.100.0/24']",
     "[{\"type\":\"ipv4-addr\",\"value\":\"198.51.100.200\"}]",
     "1:ipv4-addr:value=198.51.100.200;"},
    {"[ipv4-addr:value ISSUBSET '198.51.100.0/24']",
     "[{\"type\":\"ipv4-addr\",\"value\":\"198.51.101.1\"}]", ""},
    {"[ipv4-addr:value ISSUBSET '10.0.0.0/8']",
     "[{\"type\":\"ipv4-addr\",\"value\":\"10.20.0.0/16\"}]",
     "1:ipv4-addr:value=10.20.0.0/16;"},
    {"[ipv4-addr:value ISSUBSET '10.20.0.0/16']",
     "[{\"type\":\"ipv4-addr\",\"value\":\"10.0.0.0/8\"}]", ""},
    {"[ipv6-addr:value ISSUBSET '2001:db8:aa::/48']",
     "[{\"type\":\"ipv6-addr\",\"value\":\"2001:db8:aa::1\"}]",
     "1:ipv6-addr:value=2001:db8:aa::1;"},
    {"[ipv6-addr:value ISSUBSET '2001:db8:aa::/48']",
     "[{\"type\":\"ipv6-addr\",\"value\":\"2001:db8:ab::1\"}]", ""},
    {"[network-traffic:src_ref.value ISSUBSET '192.0.2.0/24']",
     "[{\"type\":\"network-traffic\",\"src_ref\":\"1\"},"
     "{\"type\":\"ipv4-addr\",\"value\":\"192.0.2.77\"}]",
     "1:network-traffic:src_ref.value=192.0.2.77;"},
    /* LIKE and MATCHES, literal prefilter */
    {"[domain-name:value LIKE '%.evil.example']",
     "[{\"type\":\"domain-name\",\"value\":\"www.evil.example\"}]",
     "1:domain-name:value=www.evil.example;"},
    {"[domain-name:value LIKE '%.evil.example']",
     "[{\"type\":\"domain-name\",\"value\":\"www.evil.example.org\"}]", ""},
    {"[domain-name:value LIKE 'ab_.evil.example']",
     "[{\"type\":\"domain-name\",\"value\":\"ab\xc3\xa9.evil.example\"}]",
     "1:domain-name:value=ab\xc3\xa9.evil.example;"},
    {"[url:value MATCHES '^https?://[a-z]+\\\\.bad\\\\.org/']",
     "[{\"type\":\"url\",\"value\":\"https://www.bad.org/x\"}]",
     "1:url:value=https://www.bad.org/x;"},
    {"[url:value MATCHES '^https?://[a-z]+\\\\.bad\\\\.org/']",
     "[{\"type\":\"url\",\"value\":\"ftp://www.bad.org/x\"}]", ""},
    {"[url:value MATCHES '(?i)EVIL\\\\.ORG']",
     "[{\"type\":\"url\",\"value\":\"http://evil.org/\"}]",
     "1:url:value=http://evil.org/;"},
    {"[url:value MATCHES 'gate\\\\.php|panel/admin']",
     "[{\"type\":\"url\",\"value\":\"http://x.example/panel/admin\"}]",
     "1:url:value=http://x.example/panel/admin;"},
    {"[url:value MATCHES 'gate\\\\.php|panel/admin']",
     "[{\"type\":\"url\",\"value\":\"http://x.example/panel/user\"}]", ""},
    /* AND in one bracket: same object */
    {"[file:name = 'a.exe' AND file:size = 10]",
     "[{\"type\":\"file\",\"name\":\"a.exe\",\"size\":10}]",
     "1:file:name=a.exe;"},
    {"[file:name = 'a.exe' AND file:size = 10]",
     "[{\"type\":\"file\",\"name\":\"a.exe\",\"size\":11},"
     "{\"type\":\"file\",\"name\":\"b.exe\",\"size\":10}]",
     ""},
};

static void test_index_kinds(void **state)
{
	(void)state;
	for (size_t p = 0; p < N_PREFILTERS; p++) {
		for (size_t i = 0; i < sizeof(idx_cases) / sizeof(idx_cases[0]);
		     i++) {
			const struct idx_case *c = &idx_cases[i];
			struct matcher *m = new_matcher(prefilters[p], NULL);
			assert_int_equal(offer(m, 1, c->pattern),
					 MATCHER_ACTIVE);
			/* A decoy on the same paths must not disturb. */
			offer(m, 2, "[domain-name:value = 'decoy.example']");
			struct hits hs;
			const char *got = feed(m, c->obs, T0, &hs);
			if (strcmp(got, c->expect))
				fail_msg(
				    "case %zu (%s) prefilter %d: got '%s', "
				    "expected '%s'",
				    i, c->pattern, (int)prefilters[p], got,
				    c->expect);
			matcher_free(m);
		}
	}
}

/* LIKE and MATCHES compare NFC forms: a value written with a decomposed
 * e + U+0301 must reach the literal written with U+00E9. The matcher must
 * agree with the evaluator either way (without ICU neither normalises). */
static void test_nfc(void **state)
{
	(void)state;
	static const char *const pats[] = {
	    "[domain-name:value LIKE '%caf\xc3\xa9.example']",
	    "[domain-name:value MATCHES 'caf\xc3\xa9\\\\.ex']",
	    "[domain-name:value LIKE '%cafe\xcc\x81.example']",
	};
	static const char obs[] =
	    "[{\"type\":\"domain-name\",\"value\":\"www.cafe\xcc\x81."
	    "example\"}]";
	for (size_t p = 0; p < N_PREFILTERS; p++) {
		for (size_t i = 0; i < sizeof(pats) / sizeof(pats[0]); i++) {
			struct matcher *m = new_matcher(prefilters[p], NULL);
			assert_int_equal(offer(m, 1, pats[i]), MATCHER_ACTIVE);
			struct obs b = {0};
			const struct pat_observation *o = mkobs(&b, obs, T0);
			struct pattern *pt;
			assert_int_equal(pattern_parse(pats[i], strlen(pats[i]),
						       NULL, &pt, NULL),
					 ST_OK);
			struct pat_result r = {0};
			assert_int_equal(pattern_eval(pt, o, 1, &r, NULL),
					 ST_OK);
			struct hits hs;
			memset(&hs, 0, sizeof(hs));
			assert_int_equal(matcher_feed(m, o, on_hit, &hs),
					 ST_OK);
			assert_int_equal(hs.n, r.matched ? 1 : 0);
			pat_result_clear(&r);
			pattern_free(pt);
			obs_free(&b);
			matcher_free(m);
		}
	}
}

/* A hit says which indicator version it was, with its markings. */
static void test_hit_metadata(void **state)
{
	(void)state;
	struct matcher *m = new_matcher(MATCHER_PREFILTER_AUTO, NULL);
	struct ind in = {
	    7, "[domain-name:value = 'evil.example']", 0,
	    ",\"object_marking_refs\":[\"marking-definition--"
	    "bab4a63c-aed9-4cf5-a766-dfca5abac2bb\"],\"created_by_ref\":"
	    "\"identity--11111111-1111-4111-8111-111111111111\""};
	assert_int_equal(offer_full(m, &in, T0, NULL), MATCHER_ACTIVE);
	struct hits hs;
	feed(m, "[{\"type\":\"domain-name\",\"value\":\"evil.example\"}]", T0,
	     &hs);
	assert_int_equal(hs.n, 1);
	assert_string_equal(
	    hs.markings,
	    "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb ");
	assert_string_equal(hs.creator,
			    "identity--11111111-1111-4111-8111-111111111111");
	assert_int_equal(hs.nobs_last, 1);
	matcher_free(m);
}

/* ------------------------------------------------------------------ */
/* Anchors                                                              */
/* ------------------------------------------------------------------ */

struct anchor_case {
	const char *pattern;
	const char *expect; /* atom kinds per bracket: "E" eq, "T" trie,
			       "L" literal, "-" none; brackets split by '|' */
};

static const struct anchor_case anchor_cases[] = {
    {"[ipv4-addr:value = '1.2.3.4']", "E"},
    {"[domain-name:value IN ('a.x', 'b.x', 'c.x')]", "EEE"},
    {"[ipv4-addr:value ISSUBSET '10.0.0.0/24']", "T"},
    {"[url:value LIKE '%evil.com%']", "L"},
    /* AND: one side, the cheaper */
    {"[url:value LIKE '%evil.com%' AND url:value = 'http://evil.com/']", "E"},
    {"[file:size > 10 AND file:name = 'a.exe']", "E"},
    {"[file:name = 'a.exe' AND file:size > 10]", "E"},
    {"[ipv4-addr:value ISSUBSET '10.0.0.0/8' AND ipv4-addr:value = "
     "'10.1.1.1']",
     "E"},
    /* OR: both sides, or none */
    {"[ipv4-addr:value = '1.1.1.1' OR domain-name:value = 'a.x']", "EE"},
    {"[ipv4-addr:value = '1.1.1.1' OR file:size > 10]", "-"},
    {"[(file:size > 10 OR file:name = 'b') AND file:name = 'a']", "E"},
    /* not indexable */
    {"[ipv4-addr:value != '1.1.1.1']", "-"},
    {"[ipv4-addr:value NOT = '1.1.1.1']", "-"},
    {"[EXISTS file:name]", "-"},
    {"[artifact:payload_bin = 'abc']", "-"},
    {"[x-a:b_hex = h'00']", "-"},
    /* observation operators: every bracket has its own */
    {"[ipv4-addr:value = '1.1.1.1'] AND [domain-name:value = 'a.x']", "E|E"},
    {"[ipv4-addr:value = '1.1.1.1'] FOLLOWEDBY [url:value LIKE '%/gate%']",
     "E|L"},
    {"([ipv4-addr:value = '1.1.1.1'] OR [file:size > 1]) WITHIN 5 SECONDS",
     "E|-"},
    {"[ipv4-addr:value = '1.1.1.1'] REPEATS 3 TIMES", "E"},
};

static void kinds_of(const struct manchors *a, uint32_t from, char *out)
{
	size_t n = strlen(out);
	if (from == a->n) {
		out[n++] = '-';
	}
	for (uint32_t i = from; i < a->n; i++)
		out[n++] = a->a[i].kind == MA_EQ     ? 'E'
			   : a->a[i].kind == MA_TRIE ? 'T'
						     : 'L';
	out[n] = '\0';
}

static void oexpr_anchors(struct matcher *m, const struct pat_oexpr *e,
			  char *out)
{
	if (e->kind == PAT_OE_OBS) {
		struct manchors a = {0};
		struct diag why;
		why.msg[0] = '\0';
		if (out[0])
			strcat(out, "|");
		assert_true(manchor_cexpr(m, e->cexpr, &a, &why) >= 0);
		kinds_of(&a, 0, out);
		return;
	}
	oexpr_anchors(m, e->l, out);
	if (e->r)
		oexpr_anchors(m, e->r, out);
}

static void test_anchors(void **state)
{
	(void)state;
	struct matcher *m = new_matcher(MATCHER_PREFILTER_AUTO, NULL);
	for (size_t i = 0; i < sizeof(anchor_cases) / sizeof(anchor_cases[0]);
	     i++) {
		const struct anchor_case *c = &anchor_cases[i];
		struct pattern *p;
		struct diag d;
		if (pattern_parse(c->pattern, strlen(c->pattern), NULL, &p, &d))
			fail_msg("%s: %s", c->pattern, d.msg);
		char got[64] = "";
		oexpr_anchors(m, pattern_root(p), got);
		if (strcmp(got, c->expect))
			fail_msg("%s: anchors '%s', expected '%s'", c->pattern,
				 got, c->expect);
		pattern_free(p);
	}
	matcher_free(m);
}

struct lit_case {
	const char *pat;
	bool like;
	const char *expect; /* literals joined by '|'; "" none */
	bool caseless;
};

static const struct lit_case lit_cases[] = {
    {"%.evil.example", true, ".evil.example", false},
    {"%evil%.com", true, "evil", false},
    {"a_bcd%e", true, "bcd", false},
    {"%", true, "", false},
    {"a\\%bc", true, "bc", false},
    {"evil\\.com", false, "evil.com", false},
    {"^https?://evil", false, "://evil", false},
    {"ab?cdef", false, "cdef", false},
    {"abc*d", false, "ab", false},
    {"ab+cde", false, "cde", false},
    {"a{2}bcd", false, "bcd", false},
    {"(foo|bar)bazqux", false, "bazqux", false},
    {"gate\\.php|panel/admin", false, "gate.php|panel/admin", false},
    {"gate|.*", false, "", false},
    {"\\d+xyz\\w", false, "xyz", false},
    {"[abc]def[g]", false, "def", false},
    {"[]abc]def", false, "def", false},
    {"(?i)EVIL", false, "EVIL", true},
    {"(?i)kiss", false, "i", true},
    {"x(?i:abc)yz", false, "yz", true},
    {"\\x41bcd", false, "", false},
    {"(?x)a b c", false, "", false},
    {"foo.*barbaz", false, "barbaz", false},
    {"\\Qa.b*c\\E", false, "a.b*c", false},
    {"\\Qabc\\E?d", false, "ab", false},
    {"\\bword\\b", false, "word", false},
    {"(*UTF)abc", false, "", false},
    {"caf\xc3\xa9?xyz", false, "caf", false},
    {"\\p{L}abcd", false, "abcd", false},
    {"a\\.b\\-c", false, "a.b-c", false},
};

static void test_literals(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(lit_cases) / sizeof(lit_cases[0]); i++) {
		const struct lit_case *c = &lit_cases[i];
		struct mlits l;
		int n = manchor_literals(c->pat, strlen(c->pat), c->like, &l);
		char got[256] = "";
		for (int k = 0; k < n; k++) {
			if (k)
				strcat(got, "|");
			strncat(got, l.buf + l.off[k], l.len[k]);
		}
		if (strcmp(got, c->expect))
			fail_msg("'%s': literals '%s', expected '%s'", c->pat,
				 got, c->expect);
		if (n)
			assert_int_equal(l.caseless, c->caseless);
	}
}

/* ------------------------------------------------------------------ */
/* Stateful patterns across feeds                                       */
/* ------------------------------------------------------------------ */

#define IP(v) "[{\"type\":\"ipv4-addr\",\"value\":\"" v "\"}]"
#define DOM(v) "[{\"type\":\"domain-name\",\"value\":\"" v "\"}]"

static void test_followedby(void **state)
{
	(void)state;
	struct matcher *m = new_matcher(MATCHER_PREFILTER_AUTO, NULL);
	assert_int_equal(offer(m, 1,
			       "[ipv4-addr:value = '192.0.2.1'] FOLLOWEDBY "
			       "[domain-name:value = 'evil.example']"),
			 MATCHER_ACTIVE);
	struct hits hs;
	/* the right side first: no match, kept */
	assert_string_equal(feed(m, DOM("evil.example"), T0, &hs), "");
	assert_string_equal(feed(m, IP("192.0.2.1"), T0 + 10 * SEC, &hs), "");
	assert_string_equal(feed(m, IP("192.0.2.2"), T0 + 11 * SEC, &hs), "");
	assert_string_equal(feed(m, DOM("evil.example"), T0 + 20 * SEC, &hs),
			    "1:domain-name:value=evil.example;");
	assert_int_equal(hs.nobs_last, 2);
	/* the match consumed the pair: one more right side alone is not
	 * another match */
	assert_string_equal(feed(m, DOM("evil.example"), T0 + 30 * SEC, &hs),
			    "");
	struct matcher_stats st;
	matcher_stats(m, &st);
	assert_int_equal(st.stateful, 1);
	assert_true(st.mem_state > 0);
	matcher_free(m);
}

static void test_repeats(void **state)
{
	(void)state;
	struct matcher *m = new_matcher(MATCHER_PREFILTER_AUTO, NULL);
	assert_int_equal(
	    offer(m, 1, "[ipv4-addr:value = '192.0.2.9'] REPEATS 3 TIMES"),
	    MATCHER_ACTIVE);
	struct hits hs;
	unsigned total = 0;
	for (int i = 0; i < 7; i++) {
		feed(m, IP("192.0.2.9"), T0 + i * SEC, &hs);
		total += hs.n;
		assert_int_equal(hs.n, i == 2 || i == 5);
		if (hs.n)
			assert_int_equal(hs.nobs_last, 3);
	}
	assert_int_equal(total, 2);
	matcher_free(m);
}

static void test_within(void **state)
{
	(void)state;
	struct matcher *m = new_matcher(MATCHER_PREFILTER_AUTO, NULL);
	assert_int_equal(offer(m, 1,
			       "([ipv4-addr:value = '192.0.2.1'] AND "
			       "[domain-name:value = 'evil.example']) WITHIN "
			       "60 SECONDS"),
			 MATCHER_ACTIVE);
	struct hits hs;
	feed(m, IP("192.0.2.1"), T0, &hs);
	assert_int_equal(hs.n, 0);
	/* too late: the address has expired from the window */
	feed(m, DOM("evil.example"), T0 + 100 * SEC, &hs);
	assert_int_equal(hs.n, 0);
	/* within the window: the domain kept above and this address */
	feed(m, IP("192.0.2.1"), T0 + 130 * SEC, &hs);
	assert_int_equal(hs.n, 1);
	assert_int_equal(hs.nobs_last, 2);

	/* A long observation (0 s to 50 s) still binds with one starting at
	 * 95 s: the window of 60 s touches both. Its start is far in the
	 * past; its end is not. */
	struct obs b = {0};
	const struct pat_observation *o = mkobs(&b, IP("192.0.2.1"), T0);
	struct pat_observation lo = *o;
	lo.first_observed = T0 + 1000 * SEC;
	lo.last_observed = T0 + 1050 * SEC;
	memset(&hs, 0, sizeof(hs));
	assert_int_equal(matcher_feed(m, &lo, on_hit, &hs), ST_OK);
	assert_int_equal(hs.n, 0);
	obs_free(&b);
	feed(m, DOM("evil.example"), T0 + 1095 * SEC, &hs);
	assert_int_equal(hs.n, 1);
	matcher_free(m);
}

struct disabled {
	unsigned n;
	char id[80];
	char reason[256];
};

static void on_disable(void *ctx, const char *id, const char *reason)
{
	struct disabled *d = ctx;
	d->n++;
	snprintf(d->id, sizeof(d->id), "%s", id);
	snprintf(d->reason, sizeof(d->reason), "%s", reason);
}

static void test_state_cap(void **state)
{
	(void)state;
	struct matcher_config c;
	struct disabled dis = {0};
	matcher_config_default(&c);
	c.max_state = 4;
	c.on_disable = on_disable;
	c.on_disable_ctx = &dis;
	struct matcher *m = new_matcher(MATCHER_PREFILTER_AUTO, &c);
	assert_int_equal(offer(m, 1,
			       "[ipv4-addr:value = '192.0.2.1'] FOLLOWEDBY "
			       "[domain-name:value = 'evil.example']"),
			 MATCHER_ACTIVE);
	assert_int_equal(offer(m, 2, "[ipv4-addr:value = '192.0.2.1']"),
			 MATCHER_ACTIVE);
	/* REPEATS beyond the cap could never match: refused */
	struct diag why;
	struct ind r = {3, "[ipv4-addr:value = '192.0.2.3'] REPEATS 5 TIMES", 0,
			NULL};
	assert_int_equal(offer_full(m, &r, T0, &why), MATCHER_REFUSED);
	assert_non_null(strstr(why.msg, "REPEATS"));
	struct hits hs;
	for (int i = 0; i < 5; i++) {
		feed(m, IP("192.0.2.1"), T0 + i * SEC, &hs);
		assert_string_equal(hs.log, "2:ipv4-addr:value=192.0.2.1;");
	}
	assert_int_equal(dis.n, 1);
	char id[64];
	ind_id(1, id);
	assert_string_equal(dis.id, id);
	assert_non_null(strstr(dis.reason, "4 observations"));
	const char *reason;
	assert_int_equal(matcher_status(m, id, &reason), MATCHER_ST_DISABLED);
	assert_non_null(reason);
	struct matcher_stats st;
	matcher_stats(m, &st);
	assert_int_equal(st.disabled, 1);
	assert_int_equal(st.active, 1);
	assert_int_equal(st.mem_state, 0);
	/* the other indicator still matches */
	feed(m, IP("192.0.2.1"), T0 + 9 * SEC, &hs);
	assert_string_equal(hs.log, "2:ipv4-addr:value=192.0.2.1;");
	matcher_free(m);
}

/* ------------------------------------------------------------------ */
/* Lifecycle                                                            */
/* ------------------------------------------------------------------ */

static unsigned hits_of(struct matcher *m, const char *obs)
{
	struct hits hs;
	feed(m, obs, T0, &hs);
	return hs.n;
}

static void test_lifecycle(void **state)
{
	(void)state;
	struct matcher *m = new_matcher(MATCHER_PREFILTER_AUTO, NULL);
	char t[TS_BUFSZ], extra[128], id[64];
	struct diag why;

	/* valid_from ahead: pending, then active once the clock passes */
	ts(T0 + 3600 * SEC, t);
	snprintf(extra, sizeof(extra), ",\"valid_until\":\"%s\"", t);
	struct ind a = {1, "[ipv4-addr:value = '192.0.2.1']", 0, NULL};
	/* valid_from is fixed by the helper at T0 - 1h: offer at T0 - 2h */
	assert_int_equal(offer_full(m, &a, T0 - 2 * 3600 * SEC, &why),
			 MATCHER_PENDING);
	ind_id(1, id);
	assert_int_equal(matcher_status(m, id, NULL), MATCHER_ST_PENDING);
	struct hits hs;
	struct obs b = {0};
	memset(&hs, 0, sizeof(hs));
	matcher_feed(m, mkobs(&b, IP("192.0.2.1"), T0), on_hit, &hs);
	assert_int_equal(hs.n, 0);
	matcher_advance(m, T0);
	assert_int_equal(matcher_status(m, id, NULL), MATCHER_ST_ACTIVE);
	memset(&hs, 0, sizeof(hs));
	matcher_feed(m, mkobs(&b, IP("192.0.2.1"), T0), on_hit, &hs);
	assert_int_equal(hs.n, 1);
	obs_free(&b);

	/* valid_until: expires as the clock passes it */
	struct ind e = {2, "[ipv4-addr:value = '192.0.2.2']", 0, extra};
	assert_int_equal(offer_full(m, &e, T0, &why), MATCHER_ACTIVE);
	assert_int_equal(hits_of(m, IP("192.0.2.2")), 1);
	matcher_advance(m, T0 + 2 * 3600 * SEC);
	assert_int_equal(hits_of(m, IP("192.0.2.2")), 0);
	ind_id(2, id);
	assert_int_equal(matcher_status(m, id, NULL), MATCHER_ST_EXPIRED);
	/* offered already expired: not compiled in */
	struct ind e2 = {3, "[ipv4-addr:value = '192.0.2.3']", 0, extra};
	assert_int_equal(offer_full(m, &e2, T0 + 2 * 3600 * SEC, &why),
			 MATCHER_EXPIRED);

	/* a newer version replaces; an older one arriving late is stale */
	st_time now = T0 + 2 * 3600 * SEC;
	struct ind v1 = {4, "[ipv4-addr:value = '192.0.2.41']", T0, NULL};
	struct ind v2 = {4, "[ipv4-addr:value = '192.0.2.42']", T0 + SEC, NULL};
	assert_int_equal(offer_full(m, &v2, now, &why), MATCHER_ACTIVE);
	assert_int_equal(offer_full(m, &v1, now, &why), MATCHER_STALE);
	assert_int_equal(offer_full(m, &v2, now, &why), MATCHER_STALE);
	assert_int_equal(hits_of(m, IP("192.0.2.41")), 0);
	assert_int_equal(hits_of(m, IP("192.0.2.42")), 1);
	struct ind v3 = {4, "[ipv4-addr:value = '192.0.2.43']", T0 + 2 * SEC,
			 NULL};
	assert_int_equal(offer_full(m, &v3, now, &why), MATCHER_ACTIVE);
	assert_int_equal(hits_of(m, IP("192.0.2.42")), 0);
	assert_int_equal(hits_of(m, IP("192.0.2.43")), 1);

	/* revoked: removed for good, even by a later or an older version */
	struct ind rv = {4, "[ipv4-addr:value = '192.0.2.43']", T0 + 3 * SEC,
			 ",\"revoked\":true"};
	assert_int_equal(offer_full(m, &rv, now, &why), MATCHER_REVOKED);
	assert_int_equal(hits_of(m, IP("192.0.2.43")), 0);
	assert_int_equal(offer_full(m, &v3, now, &why), MATCHER_REVOKED);
	struct ind v5 = {4, "[ipv4-addr:value = '192.0.2.43']", T0 + 9 * SEC,
			 NULL};
	assert_int_equal(offer_full(m, &v5, now, &why), MATCHER_REVOKED);
	assert_int_equal(hits_of(m, IP("192.0.2.43")), 0);
	ind_id(4, id);
	assert_int_equal(matcher_status(m, id, NULL), MATCHER_ST_REVOKED);

	/* removed: the same version comes back, an older one does not */
	struct ind r1 = {5, "[ipv4-addr:value = '192.0.2.51']", T0, NULL};
	struct ind r2 = {5, "[ipv4-addr:value = '192.0.2.52']", T0 + SEC, NULL};
	assert_int_equal(offer_full(m, &r2, now, &why), MATCHER_ACTIVE);
	ind_id(5, id);
	assert_int_equal(matcher_remove(m, id), ST_OK);
	assert_int_equal(matcher_remove(m, id), ST_ENOTFOUND);
	assert_int_equal(hits_of(m, IP("192.0.2.52")), 0);
	assert_int_equal(offer_full(m, &r1, now, &why), MATCHER_STALE);
	assert_int_equal(offer_full(m, &r2, now, &why), MATCHER_ACTIVE);
	assert_int_equal(hits_of(m, IP("192.0.2.52")), 1);

	/* not a STIX pattern: ignored, and it replaces a STIX version */
	struct ind sn = {5, "alert tcp any any", T0 + 2 * SEC,
			 NULL}; /* pattern_type is set below */
	(void)sn;
	struct buf bb = BUF_INIT(4096);
	ind_id(5, id);
	ts(T0 + 2 * SEC, t);
	buf_printf(&bb,
		   "{\"type\":\"indicator\",\"spec_version\":\"2.1\","
		   "\"id\":\"%s\",\"created\":\"%s\",\"modified\":\"%s\","
		   "\"pattern\":\"alert tcp any any\",\"pattern_type\":"
		   "\"snort\",\"valid_from\":\"%s\"}",
		   id, t, t, t);
	struct json_doc *doc = json_doc_new();
	const struct json_val *root;
	assert_int_equal(json_parse(doc, bb.data, bb.len, 0, NULL, &root, NULL),
			 ST_OK);
	assert_int_equal(matcher_offer(m, root, now, &why), MATCHER_NOT_STIX);
	json_doc_free(doc);
	buf_free(&bb);
	assert_int_equal(hits_of(m, IP("192.0.2.52")), 0);

	/* malformed: an error, and the id is remembered as invalid */
	struct ind bad = {6, "[ipv4-addr:value = ", 0, NULL};
	assert_int_equal(offer_full(m, &bad, now, &why), ST_EINVAL);
	assert_non_null(strstr(why.msg, "pattern"));
	ind_id(6, id);
	assert_int_equal(matcher_status(m, id, NULL), MATCHER_ST_INVALID);

	struct matcher_stats st;
	matcher_stats(m, &st);
	assert_int_equal(st.active, 1); /* indicator 1 */
	assert_int_equal(st.revoked, 1);
	assert_int_equal(st.expired, 2);
	assert_int_equal(st.not_stix, 1);
	assert_int_equal(st.invalid, 1);
	matcher_free(m);
}

/* ------------------------------------------------------------------ */
/* Refusals and warninglists                                            */
/* ------------------------------------------------------------------ */

static const char wl_json[] =
    "{\"name\":\"test resolvers\",\"version\":1,\"description\":\"t\","
    "\"type\":\"cidr\",\"list\":[\"8.8.8.8\",\"9.9.9.0/24\"]}";
static const char wl_names[] =
    "{\"name\":\"test names\",\"version\":1,\"description\":\"t\","
    "\"type\":\"hostname\",\"list\":[\"good.example.com\","
    "\"well-known.example\"]}";

struct refusal {
	const char *pattern;
	const char *reason; /* a part of the message */
};

static const struct refusal refusals[] = {
    {"[ipv4-addr:value ISSUBSET '16.0.0.0/4']", "broader than /8"},
    {"[ipv6-addr:value ISSUBSET '2001::/16']", "broader than /32"},
    {"[domain-name:value LIKE '%']", "no literal of 3 bytes"},
    {"[url:value LIKE '%ab%']", "no literal of 3 bytes"},
    {"[url:value MATCHES 'a.b']", "no literal of 3 bytes"},
    {"[url:value MATCHES 'evil|x']", "no literal of 3 bytes"},
    {"[ipv4-addr:value = '8.8.8.8']", "warninglist 'test resolvers'"},
    {"[ipv4-addr:value ISSUBSET '9.9.0.0/16']", "warninglist 'test resolvers'"},
    {"[domain-name:value IN ('bad.example', 'well-known.example')]",
     "warninglist 'test names'"},
    {"[ipv4-addr:value = '8.8.8.8' OR domain-name:value = 'bad.example']",
     "warninglist"},
    {"[network-traffic:dst_ref.value = '8.8.8.8']", "warninglist"},
};

static void test_refusals(void **state)
{
	(void)state;
	struct wl_set *wl = wl_set_new();
	struct diag d;
	assert_int_equal(
	    wl_set_load_mem(wl, "resolvers", wl_json, strlen(wl_json), &d),
	    ST_OK);
	assert_int_equal(
	    wl_set_load_mem(wl, "names", wl_names, strlen(wl_names), &d),
	    ST_OK);
	struct matcher_config c;
	matcher_config_default(&c);
	c.warninglists = wl;
	c.max_always = 1;
	struct matcher *m = new_matcher(MATCHER_PREFILTER_AUTO, &c);
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		struct ind in = {(unsigned)(10 + i), refusals[i].pattern, 0,
				 NULL};
		struct diag why;
		int rc = offer_full(m, &in, T0, &why);
		if (rc != MATCHER_REFUSED ||
		    !strstr(why.msg, refusals[i].reason))
			fail_msg("%s: outcome %s, '%s'; expected refused with "
				 "'%s'",
				 refusals[i].pattern, matcher_outcome_name(rc),
				 why.msg, refusals[i].reason);
		char id[64];
		const char *reason = NULL;
		ind_id(in.n, id);
		assert_int_equal(matcher_status(m, id, &reason),
				 MATCHER_ST_REFUSED);
		assert_non_null(strstr(reason, refusals[i].reason));
	}
	/* A broad comparison is fine where a selective one anchors. */
	assert_int_equal(offer(m, 1,
			       "[ipv4-addr:value ISSUBSET '16.0.0.0/4' AND "
			       "ipv4-addr:value = '17.1.1.1']"),
			 MATCHER_ACTIVE);
	/* Without any indexable comparison: one fits the always list... */
	assert_int_equal(offer(m, 2, "[file:size > 1000000]"), MATCHER_ACTIVE);
	struct diag why;
	struct ind full = {3, "[file:name != 'x']", 0, NULL};
	/* ...the next one does not. */
	assert_int_equal(offer_full(m, &full, T0, &why), MATCHER_REFUSED);
	assert_non_null(strstr(why.msg, "every observation"));
	struct matcher_stats st;
	matcher_stats(m, &st);
	assert_int_equal(st.refused,
			 sizeof(refusals) / sizeof(refusals[0]) + 1);
	assert_int_equal(st.refusals, st.refused);
	assert_int_equal(st.always, 1);
	assert_int_equal(st.active, 2);
	struct hits hs;
	feed(m, "[{\"type\":\"file\",\"name\":\"a\",\"size\":2000000}]", T0,
	     &hs);
	assert_string_equal(hs.log, "2:;");
	feed(m, IP("17.1.1.1"), T0, &hs);
	assert_string_equal(hs.log, "1:ipv4-addr:value=17.1.1.1;");

	/* Observed values on a warninglist suppress the hit. */
	assert_int_equal(
	    offer(m, 4, "[domain-name:value LIKE '%.example.com']"),
	    MATCHER_ACTIVE);
	feed(m, DOM("good.example.com"), T0, &hs);
	assert_int_equal(hs.n, 0);
	feed(m, DOM("bad.example.com"), T0, &hs);
	assert_string_equal(hs.log, "4:domain-name:value=bad.example.com;");
	matcher_stats(m, &st);
	assert_int_equal(st.suppressed, 1);
	matcher_free(m);
	wl_set_free(wl);
}

/* A regex that trips the PCRE2 limit disables its indicator only. */
static void test_pcre_limit(void **state)
{
	(void)state;
	struct pattern_limits lim = PATTERN_LIMITS_DEFAULT;
	lim.pcre_match_limit = 100; /* LIKE: 6,400 steps */
	struct matcher_config c;
	struct disabled dis = {0};
	matcher_config_default(&c);
	c.limits = &lim;
	c.on_disable = on_disable;
	c.on_disable_ctx = &dis;
	for (size_t p = 0; p < N_PREFILTERS; p++) {
		memset(&dis, 0, sizeof(dis));
		struct matcher *m = new_matcher(prefilters[p], &c);
		assert_int_equal(
		    offer(m, 1, "[url:value MATCHES 'xyz(a|aa)+(b|c)$']"),
		    MATCHER_ACTIVE);
		assert_int_equal(offer(m, 2, "[url:value LIKE 'xyz%']"),
				 MATCHER_ACTIVE);
		struct hits hs;
		feed(m,
		     "[{\"type\":\"url\",\"value\":"
		     "\"xyzaaaaaaaaaaaaaaaaaaaaaaaaa"
		     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaad\"}]",
		     T0, &hs);
		assert_int_equal(hs.n, 1);
		assert_non_null(strstr(hs.log, "2:"));
		assert_int_equal(dis.n, 1);
		assert_non_null(strstr(dis.reason, "MATCHES"));
		char id[64];
		ind_id(1, id);
		assert_int_equal(matcher_status(m, id, NULL),
				 MATCHER_ST_DISABLED);
		feed(m, "[{\"type\":\"url\",\"value\":\"xyzab\"}]", T0, &hs);
		assert_string_equal(hs.log, "2:url:value=xyzab;");
		matcher_free(m);
	}
}

/* The same through the evaluator (a bracket of two comparisons), and a
 * LIKE that backtracks too much. */
static void test_eval_limits(void **state)
{
	(void)state;
	struct pattern_limits lim = PATTERN_LIMITS_DEFAULT;
	lim.pcre_match_limit = 100; /* LIKE: 6,400 steps */
	struct matcher_config c;
	struct disabled dis = {0};
	matcher_config_default(&c);
	c.limits = &lim;
	c.on_disable = on_disable;
	c.on_disable_ctx = &dis;
	static const char *const pats[] = {
	    "[url:value MATCHES 'xyz(a|aa)+(b|c)$' AND url:value != 'q']",
	    "[url:value LIKE 'xyz%a_a_a_a_a_c']",
	    "[url:value LIKE 'xyz%a_a_a_a_a_c' AND url:value != 'q']",
	};
	/* Long enough for the LIKE's last % to redo more than 6,400 steps
	 * (12 at each of 1,200 positions). */
	char long_url[1600];
	size_t n = (size_t)snprintf(long_url, sizeof(long_url),
				    "[{\"type\":\"url\",\"value\":\"xyz");
	memset(long_url + n, 'a', 1200);
	snprintf(long_url + n + 1200, sizeof(long_url) - n - 1200, "d\"}]");
	for (size_t p = 0; p < N_PREFILTERS; p++) {
		for (size_t i = 0; i < sizeof(pats) / sizeof(pats[0]); i++) {
			memset(&dis, 0, sizeof(dis));
			struct matcher *m = new_matcher(prefilters[p], &c);
			assert_int_equal(offer(m, 1, pats[i]), MATCHER_ACTIVE);
			assert_int_equal(
			    offer(m, 2, "[url:value MATCHES '^xyz']"),
			    MATCHER_ACTIVE);
			struct hits hs;
			feed(m, long_url, T0, &hs);
			assert_int_equal(hs.n, 1);
			if (dis.n != 1)
				fail_msg("%s: not disabled", pats[i]);
			feed(m, "[{\"type\":\"url\",\"value\":\"xyzab\"}]", T0,
			     &hs);
			assert_string_equal(hs.log, "2:url:value=xyzab;");
			matcher_free(m);
		}
	}
}

/* Stateful patterns with brackets the evaluator confirms. */
static void test_stateful_mixed(void **state)
{
	(void)state;
	struct matcher *m = new_matcher(MATCHER_PREFILTER_AUTO, NULL);
	assert_int_equal(
	    offer(m, 1,
		  "[ipv4-addr:value ISSUBSET '198.51.100.0/24'] FOLLOWEDBY "
		  "[url:value LIKE '%/gate.php' AND url:value NOT LIKE "
		  "'%.example/gate.php'] WITHIN 300 SECONDS"),
	    MATCHER_ACTIVE);
	struct hits hs;
	feed(m, "[{\"type\":\"url\",\"value\":\"http://a.test/gate.php\"}]", T0,
	     &hs);
	assert_int_equal(hs.n, 0);
	feed(m, IP("198.51.100.20"), T0 + SEC, &hs);
	assert_int_equal(hs.n, 0);
	feed(m, "[{\"type\":\"url\",\"value\":\"http://b.example/gate.php\"}]",
	     T0 + 2 * SEC, &hs);
	assert_int_equal(hs.n, 0);
	feed(m, "[{\"type\":\"url\",\"value\":\"http://b.test/gate.php\"}]",
	     T0 + 3 * SEC, &hs);
	assert_string_equal(hs.log, "1:url:value=http://b.test/gate.php;");
	assert_int_equal(hs.nobs_last, 2);
	matcher_free(m);
}

/* ------------------------------------------------------------------ */
/* Randomized cross-check against brute-force evaluation               */
/* ------------------------------------------------------------------ */

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % n);
}

static const char *const hashes[] = {
    "aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f",
    "0f343b0931126a20f133d67c2b018a3b5e0c0f1b1d1e2f3a4b5c6d7e8f9a0b1c",
    "d41d8cd98f00b204e9800998ecf8427ed41d8cd98f00b204e9800998ecf8427e",
    "5d41402abc4b2a76b9719d911017c5925d41402abc4b2a76b9719d911017c592",
};

/* A random indicator pattern over small value universes. */
static void rand_pattern(char *out, size_t cap)
{
	unsigned a = rnd(16), b = rnd(4), c = rnd(4);
	switch (rnd(22)) {
	case 0:
		snprintf(out, cap, "[ipv4-addr:value = '10.%u.%u.%u']", b / 2,
			 c, a);
		break;
	case 1:
		snprintf(out, cap, "[ipv4-addr:value ISSUBSET '10.%u.%u.0/%u']",
			 b / 2, c, rnd(2) ? 24 : 28);
		break;
	case 2:
		snprintf(out, cap, "[domain-name:value = '%c.evil%u.test']",
			 'a' + c, b);
		break;
	case 3:
		snprintf(out, cap, "[domain-name:value LIKE '%%.evil%u.test']",
			 b);
		break;
	case 4:
		snprintf(out, cap,
			 "[url:value MATCHES '^http://[a-%c]\\\\.evil%u\\\\."
			 "test/p[0-%u]$']",
			 'a' + c, b, a % 4);
		break;
	case 5:
		snprintf(out, cap, "[file:hashes.'SHA-256' = '%s']", hashes[c]);
		break;
	case 6:
		snprintf(out, cap,
			 "[network-traffic:dst_port = %u AND "
			 "network-traffic:dst_ref.value = '10.0.%u.%u']",
			 b ? 4444u : 80u, c, a);
		break;
	case 7:
		snprintf(out, cap,
			 "[domain-name:value IN ('%c.evil%u.test', "
			 "'%c.evil%u.test')]",
			 'a' + c, b, 'a' + (c + 1) % 4, (b + 1) % 4);
		break;
	case 8:
		snprintf(out, cap,
			 "[ipv4-addr:value = '10.0.%u.%u' OR domain-name:value "
			 "= '%c.evil%u.test']",
			 c, a, 'a' + c, b);
		break;
	case 9:
		snprintf(out, cap,
			 "[url:value LIKE 'http://%%/p%u' AND url:value != "
			 "'http://a.evil%u.test/p%u']",
			 c, b, c);
		break;
	case 10:
		snprintf(
		    out, cap,
		    "[network-traffic:dst_ref.value ISSUBSET '10.0.%u.0/28']",
		    c);
		break;
	case 11:
		snprintf(out, cap, "[ipv4-addr:value != '10.0.%u.%u']", c, a);
		break;
	case 12:
		snprintf(out, cap, "[url:value MATCHES '(?i)EVIL%u\\\\.TEST']",
			 b);
		break;
	case 13:
		snprintf(out, cap,
			 "[email-message:to_refs[*].value = 'x%u@evil%u.test']",
			 c, b);
		break;
	case 14:
		snprintf(out, cap,
			 "[network-traffic:protocols[*] = '%s' AND "
			 "network-traffic:dst_port = %u]",
			 c ? "tcp" : "udp", b ? 4444u : 53u);
		break;
	case 15:
		snprintf(out, cap,
			 "[ipv6-addr:value ISSUBSET '2001:db8::%x00/12%u']", c,
			 b + 4);
		break;
	case 16:
		/* an OR with a side no index can answer */
		snprintf(out, cap,
			 "[ipv4-addr:value = '10.0.%u.%u' OR ipv4-addr:value > "
			 "'10.1.%u']",
			 c, a, b);
		break;
	case 17:
		snprintf(out, cap, "[x-thing:name LIKE '%s']",
			 (const char *const[]){"%abc_d", "%ab\xc3\xa9%", "abc_",
					       "%bcd"}[c]);
		break;
	case 18:
		snprintf(out, cap, "[x-thing:addr ISSUBSET '10.0.%u.0/24']", c);
		break;
	case 19:
		snprintf(out, cap, "[x-thing:addr[*] = '10.0.%u.%u']", c, a);
		break;
	case 20:
		snprintf(out, cap, "[x-thing:name MATCHES '%s']",
			 (const char *const[]){"^abc.d$", "(?i)ABC",
					       "bcd|b\xc3\xa9"
					       "d",
					       "^xab"}[c]);
		break;
	default:
		snprintf(out, cap,
			 "[file:hashes.'SHA-256' = '%s' AND file:name LIKE "
			 "'%%.exe']",
			 hashes[c]);
		break;
	}
}

/* A random observation's SCO list. */
static void rand_obs(char *out, size_t cap)
{
	size_t n = 0;
#define ADD(...) n += (size_t)snprintf(out + n, cap - n, __VA_ARGS__)
	ADD("[");
	unsigned kinds = 1 + rnd(3);
	unsigned idx = 0;
	for (unsigned k = 0; k < kinds; k++) {
		unsigned a = rnd(16), b = rnd(4), c = rnd(4);
		if (idx)
			ADD(",");
		switch (rnd(8)) {
		case 0:
			ADD("{\"type\":\"ipv4-addr\",\"value\":\"10.%u.%u.%"
			    "u\"}",
			    b / 2, c, a);
			idx++;
			break;
		case 1:
			ADD("{\"type\":\"network-traffic\",\"dst_port\":%u,"
			    "\"protocols\":[\"%s\"],\"dst_ref\":\"%u\"},"
			    "{\"type\":\"ipv4-addr\",\"value\":\"10.0.%u.%u\"}",
			    rnd(2) ? 4444u : (rnd(2) ? 80u : 53u),
			    c ? "tcp" : "udp", idx + 1, c, a);
			idx += 2;
			break;
		case 2:
			ADD("{\"type\":\"domain-name\",\"value\":\"%c.evil%u."
			    "test\"}",
			    'a' + c, b);
			idx++;
			break;
		case 3:
			ADD("{\"type\":\"url\",\"value\":\"http://%c.%s%u.test/"
			    "p%u\"}",
			    'a' + c, rnd(2) ? "evil" : "EVIL", b, a % 4);
			idx++;
			break;
		case 4:
			ADD("{\"type\":\"file\",\"name\":\"f%u.%s\",\"hashes\":"
			    "{\"SHA-256\":\"%s\"}}",
			    a, rnd(2) ? "exe" : "dll", hashes[c]);
			idx++;
			break;
		case 5:
			ADD("{\"type\":\"email-message\",\"to_refs\":[\"%u\"]},"
			    "{\"type\":\"email-addr\",\"value\":\"x%u@evil%u."
			    "test\"}",
			    idx + 1, c, b);
			idx += 2;
			break;
		case 6: {
			static const char *const names[] = {"abcd",
							    "ab\xc3\xa9"
							    "d",
							    "abc\xc3\xa9"
							    "d",
							    "xabcd",
							    "ABCd",
							    "abce\xcc\x81"
							    "d",
							    "a\xc3\xa9"
							    "cd",
							    "abc"};
			if (rnd(2))
				ADD("{\"type\":\"x-thing\",\"name\":\"%s\","
				    "\"addr\":\"10.0.%u.%u\"}",
				    names[rnd(8)], c, a);
			else
				ADD("{\"type\":\"x-thing\",\"name\":[\"%s\"],"
				    "\"addr\":[\"10.0.%u.%u\"]}",
				    names[rnd(8)], c, a);
			idx++;
			break;
		}
		default:
			ADD("{\"type\":\"ipv6-addr\",\"value\":\"2001:db8::%x%"
			    "x\"}",
			    c, a);
			idx++;
			break;
		}
	}
	ADD("]");
#undef ADD
}

struct xhits {
	unsigned obs;
	uint8_t *got; /* [obs][ind] */
	unsigned n_ind;
};

static void on_xhit(void *ctx, const struct matcher_hit *h)
{
	struct xhits *x = ctx;
	unsigned num = (unsigned)strtoul(h->id + strlen(h->id) - 12, NULL, 10);
	assert_true(num < x->n_ind);
	x->got[x->obs * x->n_ind + num]++;
}

static void crosscheck(enum matcher_prefilter pf, uint32_t cache, uint64_t seed)
{
	enum { NI = 400, NO = 400 };
	rng_state = seed;
	struct matcher_config c;
	matcher_config_default(&c);
	c.max_always = NI;
	c.pattern_cache = cache;
	struct matcher *m = new_matcher(pf, &c);
	static char pats[NI][256];
	struct pattern **ps = calloc(NI, sizeof(*ps));
	for (unsigned i = 0; i < NI; i++) {
		rand_pattern(pats[i], sizeof(pats[i]));
		struct diag d;
		if (pattern_parse(pats[i], strlen(pats[i]), NULL, &ps[i], &d))
			fail_msg("%s: %s", pats[i], d.msg);
		int rc = offer(m, i, pats[i]);
		if (rc != MATCHER_ACTIVE)
			fail_msg("%s: %s", pats[i], matcher_outcome_name(rc));
		/* Half of them compiled into the databases, half pending. */
		if (i == NI / 2)
			assert_int_equal(matcher_compile(m, NULL), ST_OK);
	}
	struct xhits x = {0, calloc(NO * NI, 1), NI};
	struct obs b = {0};
	unsigned total = 0;
	for (unsigned o = 0; o < NO; o++) {
		char js[2048];
		rand_obs(js, sizeof(js));
		const struct pat_observation *ob = mkobs(&b, js, T0 + o * SEC);
		x.obs = o;
		assert_int_equal(matcher_feed(m, ob, on_xhit, &x), ST_OK);
		for (unsigned i = 0; i < NI; i++) {
			struct pat_result r = {0};
			struct diag d;
			assert_int_equal(pattern_eval(ps[i], ob, 1, &r, &d),
					 ST_OK);
			unsigned got = x.got[o * NI + i];
			if (got != (r.matched ? 1u : 0u))
				fail_msg("prefilter %d: %s vs %s: matcher %u, "
					 "evaluator %d",
					 (int)pf, pats[i], js, got, r.matched);
			total += got;
			pat_result_clear(&r);
		}
	}
	/* The universes are small on purpose: many hits. */
	assert_true(total > NO);
	struct matcher_stats st;
	matcher_stats(m, &st);
	assert_int_equal(st.active, NI);
	assert_true(st.exact > 0 && st.exact < NI);
	assert_true(st.always > 0);
	obs_free(&b);
	for (unsigned i = 0; i < NI; i++)
		pattern_free(ps[i]);
	free(ps);
	free(x.got);
	matcher_free(m);
}

static void test_crosscheck(void **state)
{
	(void)state;
	for (size_t p = 0; p < N_PREFILTERS; p++) {
		crosscheck(prefilters[p], 1024, 0x9e3779b97f4a7c15ull);
		crosscheck(prefilters[p], 8, 0x2545f4914f6cdd1dull);
		crosscheck(prefilters[p], 0, 0x5851f42d4c957f2dull);
		crosscheck(prefilters[p], 64, 0x14057b7ef767814full);
	}
}

/* Replacing and removing indicators keeps the indexes consistent: after
 * churn, the survivors answer as a fresh matcher with only them does. */
static void test_churn(void **state)
{
	(void)state;
	enum { NI = 300, NO = 200 };
	for (size_t p = 0; p < N_PREFILTERS; p++) {
		rng_state = 0x1234567ull + p;
		struct matcher *m = new_matcher(prefilters[p], NULL);
		struct matcher *fresh = new_matcher(prefilters[p], NULL);
		static char pats[NI][256];
		static bool live[NI];
		struct matcher_config c;
		matcher_config_default(&c);
		for (unsigned i = 0; i < NI; i++) {
			do
				rand_pattern(pats[i], sizeof(pats[i]));
			while (strstr(pats[i], "!="));
			offer(m, i, pats[i]);
			live[i] = true;
		}
		matcher_compile(m, NULL);
		for (unsigned k = 0; k < 400; k++) {
			unsigned i = rnd(NI);
			char id[64];
			ind_id(i, id);
			if (live[i] && rnd(2)) {
				assert_int_equal(matcher_remove(m, id), ST_OK);
				live[i] = false;
			} else {
				/* a newer version with a new pattern */
				do
					rand_pattern(pats[i], sizeof(pats[i]));
				while (strstr(pats[i], "!="));
				struct ind in = {i, pats[i],
						 T0 + (st_time)(k + 1) * SEC,
						 NULL};
				assert_int_equal(offer_full(m, &in, T0, NULL),
						 MATCHER_ACTIVE);
				live[i] = true;
			}
		}
		for (unsigned i = 0; i < NI; i++)
			if (live[i])
				offer(fresh, i, pats[i]);
		struct obs b = {0};
		for (unsigned o = 0; o < NO; o++) {
			char js[2048];
			rand_obs(js, sizeof(js));
			struct xhits x1 = {0, calloc(NI, 1), NI};
			struct xhits x2 = {0, calloc(NI, 1), NI};
			matcher_feed(m, mkobs(&b, js, T0), on_xhit, &x1);
			matcher_feed(fresh, mkobs(&b, js, T0), on_xhit, &x2);
			assert_memory_equal(x1.got, x2.got, NI);
			free(x1.got);
			free(x2.got);
		}
		obs_free(&b);
		struct matcher_stats s1, s2;
		matcher_stats(m, &s1);
		matcher_stats(fresh, &s2);
		assert_int_equal(s1.active, s2.active);
		assert_int_equal(s1.eq_keys, s2.eq_keys);
		assert_int_equal(s1.prefixes, s2.prefixes);
		assert_int_equal(s1.literals, s2.literals);
		matcher_free(m);
		matcher_free(fresh);
	}
}

static void test_stats(void **state)
{
	(void)state;
	for (size_t p = 0; p < N_PREFILTERS; p++) {
		struct matcher *m = new_matcher(prefilters[p], NULL);
		char pat[128];
		for (unsigned i = 0; i < 100; i++) {
			snprintf(pat, sizeof(pat),
				 i % 3 ? "[ipv4-addr:value = '10.9.%u.%u']"
				       : "[url:value LIKE '%%/gate%u.php']",
				 i, i);
			offer(m, i, pat);
		}
		assert_int_equal(matcher_compile(m, NULL), ST_OK);
		struct matcher_stats st;
		matcher_stats(m, &st);
		assert_int_equal(st.active, 100);
		assert_int_equal(st.exact, 100);
		assert_int_equal(st.literals, 34);
		assert_int_equal(st.eq_keys, 66);
		assert_int_equal(st.paths, 2);
		assert_true(st.memory >= st.mem_tables + st.mem_patterns);
		/* single comparisons keep no parsed pattern... */
		assert_int_equal(st.mem_patterns, 0);
		/* ...others are kept (cached) for confirmation */
		offer(m, 100,
		      "[url:value LIKE '%/gate%' AND url:value != 'x']");
		matcher_stats(m, &st);
		assert_true(st.mem_patterns > 4096);
		assert_int_equal(st.exact, 100);
		if (prefilters[p] == MATCHER_PREFILTER_HYPERSCAN) {
			assert_string_equal(st.prefilter, "hyperscan");
			assert_true(st.mem_hyperscan > 0);
		} else {
			assert_string_equal(st.prefilter, "literal-index");
			assert_int_equal(st.mem_hyperscan, 0);
		}
		matcher_free(m);
	}
	if (n_prefilters == 1) {
		/* Asking for Hyperscan where it is not: a clear error. */
		struct matcher_config c;
		struct matcher *m = NULL;
		struct diag d;
		matcher_config_default(&c);
		c.prefilter = MATCHER_PREFILTER_HYPERSCAN;
		assert_int_equal(matcher_new(&c, &m, &d), ST_EINVAL);
		assert_null(m);
		assert_non_null(strstr(d.msg, "Hyperscan"));
	}
}

int main(void)
{
	struct matcher_config c;
	struct matcher *m = NULL;
	matcher_config_default(&c);
	c.prefilter = MATCHER_PREFILTER_HYPERSCAN;
	if (matcher_new(&c, &m, NULL) == ST_OK)
		prefilters[n_prefilters++] = MATCHER_PREFILTER_HYPERSCAN;
	matcher_free(m);
#ifdef STRAIT_HAVE_HYPERSCAN
	if (n_prefilters == 1)
		print_message("Hyperscan is built in but not usable here: "
			      "testing the literal index only\n");
#endif
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_index_kinds),
	    cmocka_unit_test(test_nfc),
	    cmocka_unit_test(test_hit_metadata),
	    cmocka_unit_test(test_anchors),
	    cmocka_unit_test(test_literals),
	    cmocka_unit_test(test_followedby),
	    cmocka_unit_test(test_repeats),
	    cmocka_unit_test(test_within),
	    cmocka_unit_test(test_state_cap),
	    cmocka_unit_test(test_lifecycle),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_pcre_limit),
	    cmocka_unit_test(test_eval_limits),
	    cmocka_unit_test(test_stateful_mixed),
	    cmocka_unit_test(test_crosscheck),
	    cmocka_unit_test(test_churn),
	    cmocka_unit_test(test_stats),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
