/*
 * Unit tests of STIX pattern evaluation (src/pattern/eval.c, observe.c).
 *
 * Tables of patterns against small fixtures: every operator with and
 * without NOT over every kind of value (the reference matcher's answers,
 * including its treatment of missing and incomparable values), object
 * paths through lists and references, the observation operators and
 * qualifiers over timed observations, the limits, and the reading of
 * observed-data from bundles.
 *
 * Fixtures are written with ' for " to stay readable; load() swaps them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/json.h"
#include "pattern/pattern.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fixture {
	struct json_doc *doc;
	struct arena *arena;
	char *text;
	struct pat_observation *obs;
	size_t n;
};

static int load_rc(const char *json, struct fixture *f, struct diag *d)
{
	memset(f, 0, sizeof(*f));
	size_t len = strlen(json);
	f->text = malloc(len + JSON_PADDING);
	assert_non_null(f->text);
	for (size_t i = 0; i < len; i++)
		f->text[i] = json[i] == '\'' ? '"' : json[i];
	memset(f->text + len, ' ', JSON_PADDING);
	f->doc = json_doc_new();
	f->arena = arena_new(4096);
	const struct json_val *root;
	int rc =
	    json_parse(f->doc, f->text, len, JSON_PARSE_PADDED, NULL, &root, d);
	if (rc != ST_OK)
		fail_msg("fixture JSON: %s", d->msg);
	return pattern_observations(root, f->arena, &f->obs, &f->n, d);
}

static void load(const char *json, struct fixture *f)
{
	struct diag d;
	int rc = load_rc(json, f, &d);
	if (rc != ST_OK)
		fail_msg("fixture: %s", d.msg);
}

static void unload(struct fixture *f)
{
	arena_free(f->arena);
	json_doc_free(f->doc);
	free(f->text);
}

/* Parses and evaluates; fails the test on a parse error. */
static int eval_lim(const char *pattern, const struct fixture *f,
		    const struct pattern_limits *lim, struct pat_result *r,
		    struct diag *d)
{
	struct pattern *p;
	int rc = pattern_parse(pattern, strlen(pattern), lim, &p, d);
	if (rc != ST_OK)
		fail_msg("%s: parse: %s", pattern, d->msg);
	rc = pattern_eval(p, f->obs, f->n, r, d);
	pattern_free(p);
	return rc;
}

struct mcase {
	const char *pattern;
	bool match;
	/* The observations of the binding found, -1 ended; NULL: not
	 * checked. */
	const int *obs;
};

#define OBS(...) ((const int[]){__VA_ARGS__, -1})

static void run_table(const char *fixture, const struct mcase *cases, size_t n)
{
	struct fixture f;
	load(fixture, &f);
	for (size_t i = 0; i < n; i++) {
		const struct mcase *c = &cases[i];
		struct pat_result r;
		struct diag d;
		int rc = eval_lim(c->pattern, &f, NULL, &r, &d);
		if (rc != ST_OK)
			fail_msg("%s: rc %d: %s", c->pattern, rc, d.msg);
		if (r.matched != c->match)
			fail_msg("%s: matched %d, want %d", c->pattern,
				 r.matched, c->match);
		if (!r.matched && r.n_obs != 0)
			fail_msg("%s: observations without a match",
				 c->pattern);
		if (c->obs != NULL) {
			size_t k = 0;
			while (c->obs[k] >= 0)
				k++;
			bool same = k == r.n_obs;
			for (size_t j = 0; same && j < k; j++)
				same = r.obs[j] == (uint32_t)c->obs[j];
			if (!same) {
				char got[128] = "";
				for (size_t j = 0; j < r.n_obs && j < 16; j++)
					snprintf(got + strlen(got),
						 sizeof(got) - strlen(got),
						 " %u", r.obs[j]);
				fail_msg("%s: observations%s", c->pattern, got);
			}
		}
		pat_result_clear(&r);
	}
	unload(&f);
}

#define RUN(fixture, table) \
	run_table(fixture, table, sizeof(table) / sizeof(table[0]))

/* ------------------------------------------------------------------ */
/* Operators over one SCO                                               */
/* ------------------------------------------------------------------ */

static const char values_fixture[] =
    "{'type': 'bundle', 'id': 'bundle--1', 'objects': ["
    " {'type': 'observed-data', 'id': 'observed-data--v',"
    "  'first_observed': '2020-01-01T00:00:00Z',"
    "  'last_observed': '2020-01-01T00:00:00Z', 'number_observed': 1,"
    "  'object_refs': ['x-test--1', 'user-account--1', 'user-account--2']},"
    " {'type': 'x-test', 'id': 'x-test--1', 'int': 5, 'float': 12.5,"
    "  'float_int': 12.0, 'big': 9007199254740993, 'bool': true,"
    "  'string': 'hello', 'uni': 'h\\u00e9llo \\u2713', 'latin': "
    "'caf\\u00e9', 'decomposed': 'cafe\\u0301', 'lines': "
    "'one\\ntwo\\nthree',"
    "  'ip': '10.20.30.40', 'cidr': '10.20.30.40/20',"
    "  'ip6': '2001:db8::1', 'cidr6': '2001:db8::/32',"
    "  'ts': '2020-06-01T12:00:00.5Z', 'badts': 'yesterday',"
    "  'list': ['a', 'b', 'c'], 'objs': [{'k': 1}, {'k': 2}],"
    "  'nul': null, 'payload_bin': 'YWxpY2U=', 'name_hex': '616c696365',"
    "  'raw_hex': '01020304', 'bad_bin': 'not base64!',"
    "  'long_bin': 'dGhlIHF1aWNrIGJyb3duIGZveCBqdW1wcyBvdmVy',"
    "  'hashes': {'SHA-256': 'aa', 'MD5': 'bb'},"
    "  'nested': {'deep': {'x': [1, [2, 3]]}}},"
    " {'type': 'user-account', 'id': 'user-account--1', 'user_id': "
    "'alice',"
    "  'is_privileged': false},"
    " {'type': 'user-account', 'id': 'user-account--2', 'user_id': 'bob',"
    "  'is_privileged': true}"
    "]}";

static const struct mcase eq_cases[] = {
    {"[x-test:int = 5]", true, OBS(0)},
    {"[x-test:int == 5]", true, NULL},
    {"[x-test:int NOT = 5]", false, NULL},
    {"[x-test:int = 6]", false, NULL},
    {"[x-test:int NOT = 6]", true, NULL},
    {"[x-test:int != 6]", true, NULL},
    {"[x-test:int != 5]", false, NULL},
    {"[x-test:int NOT != 5]", true, NULL},
    {"[x-test:int NOT != 6]", false, NULL},
    {"[x-test:int = 5.0]", true, NULL},
    {"[x-test:float_int = 12]", true, NULL},
    {"[x-test:float = 12.5]", true, NULL},
    {"[x-test:float = 12]", false, NULL},
    {"[x-test:big = 9007199254740993]", true, NULL},
    {"[x-test:big = 9007199254740992]", false, NULL},
    {"[x-test:int = true]", false, NULL},
    {"[x-test:int != true]", true, NULL},
    {"[x-test:int NOT = true]", true, NULL},
    {"[x-test:bool = true]", true, NULL},
    {"[x-test:bool = false]", false, NULL},
    {"[x-test:bool != false]", true, NULL},
    {"[x-test:bool NOT = true]", false, NULL},
    {"[x-test:bool = 1]", false, NULL},
    {"[x-test:bool != 1]", true, NULL},
    {"[x-test:int = '5']", false, NULL},
    {"[x-test:int != '5']", true, NULL},
    {"[x-test:string = 'hello']", true, NULL},
    {"[x-test:string = 'Hello']", false, NULL},
    {"[x-test:string NOT = 'hello']", false, NULL},
    {"[x-test:string != 'world']", true, NULL},
    {"[x-test:string NOT != 'hello']", true, NULL},
    {"[x-test:string = 5]", false, NULL},
    {"[x-test:uni = 'h\xc3\xa9llo \xe2\x9c\x93']", true, NULL},
    /* = compares code points as they are: no normalisation. */
    {"[x-test:latin = 'cafe\xcc\x81']", false, NULL},
    {"[x-test:decomposed = 'caf\xc3\xa9']", false, NULL},
    {"[x-test:hashes.'SHA-256' = 'aa']", true, NULL},
    {"[x-test:hashes.MD5 = 'aa']", false, NULL},
    /* A list is not its elements; indexes and [*] select them. */
    {"[x-test:list = 'a']", false, NULL},
    {"[x-test:list != 'a']", true, NULL},
    {"[x-test:list[0] = 'a']", true, NULL},
    {"[x-test:list[1] = 'a']", false, NULL},
    {"[x-test:list[*] = 'c']", true, NULL},
    {"[x-test:list[*] != 'a']", true, NULL},
    {"[x-test:list[*] = 'z']", false, NULL},
    {"[x-test:list[3] = 'a']", false, NULL},
    {"[x-test:list[3] != 'a']", false, NULL},
    {"[x-test:list[-1] = 'c']", false, NULL},
    {"[x-test:list.a = 'a']", false, NULL},
    {"[x-test:string[0] = 'h']", false, NULL},
    {"[x-test:objs[*].k = 2]", true, NULL},
    {"[x-test:objs[1].k = 1]", false, NULL},
    {"[x-test:nested.deep.x[1][0] = 2]", true, NULL},
    {"[x-test:nested.deep.x[*][*] = 3]", true, NULL},
    {"[x-test:nested.deep.x[*][*] = 1]", false, NULL},
    /* Nothing matches a path that selects nothing, NOT included. */
    {"[x-test:missing = 1]", false, NULL},
    {"[x-test:missing != 1]", false, NULL},
    {"[x-test:missing NOT = 1]", false, NULL},
    {"[x-test:missing NOT IN (1)]", false, NULL},
    {"[x-test:missing NOT LIKE 'a']", false, NULL},
    {"[x-test:missing NOT MATCHES 'a']", false, NULL},
    {"[x-test:missing NOT ISSUBSET '0.0.0.0/0']", false, NULL},
    {"[x-test:missing NOT < 1]", false, NULL},
    /* null exists but compares with nothing. */
    {"[x-test:nul = 'a']", false, NULL},
    {"[x-test:nul != 'a']", true, NULL},
    {"[x-test:nul > 'a']", false, NULL},
    {"[x-test:nul NOT > 'a']", false, NULL},
    /* Another type: nothing holds, NOT included. */
    {"[y-test:int = 5]", false, NULL},
    {"[y-test:int != 5]", false, NULL},
};

static const struct mcase order_cases[] = {
    {"[x-test:int > 3]", true, NULL},
    {"[x-test:int NOT > 3]", false, NULL},
    {"[x-test:int < 5]", false, NULL},
    {"[x-test:int NOT < 5]", true, NULL},
    {"[x-test:int <= 5]", true, NULL},
    {"[x-test:int NOT <= 5]", false, NULL},
    {"[x-test:int >= 5]", true, NULL},
    {"[x-test:int NOT >= 5]", false, NULL},
    {"[x-test:int >= 5.5]", false, NULL},
    {"[x-test:int < 5.5]", true, NULL},
    {"[x-test:int > 4.999]", true, NULL},
    {"[x-test:int > -7]", true, NULL},
    {"[x-test:float > 12.49]", true, NULL},
    {"[x-test:float < 12.51]", true, NULL},
    {"[x-test:float < 12]", false, NULL},
    {"[x-test:float > 12]", true, NULL},
    {"[x-test:big > 9007199254740992]", true, NULL},
    {"[x-test:big < 9007199254740994]", true, NULL},
    {"[x-test:string > 'alice']", true, NULL},
    {"[x-test:string < 'help']", true, NULL},
    {"[x-test:string > 'help']", false, NULL},
    {"[x-test:string >= 'hello']", true, NULL},
    {"[x-test:string <= 'hell']", false, NULL},
    {"[x-test:string > 'hell']", true, NULL},
    /* By code point: U+00E9 sorts after 'z'. */
    {"[x-test:uni > 'hz']", true, NULL},
    /* Types without an ordering: false, and NOT does not change it. */
    {"[x-test:int > 'a']", false, NULL},
    {"[x-test:int NOT > 'a']", false, NULL},
    {"[x-test:string > 5]", false, NULL},
    {"[x-test:string NOT > 5]", false, NULL},
    {"[x-test:int < h'05']", false, NULL},
    {"[x-test:int NOT < h'05']", false, NULL},
    /* Timestamps: a timestamp constant reads the string as one. */
    {"[x-test:ts = t'2020-06-01T12:00:00.500Z']", true, NULL},
    {"[x-test:ts = t'2020-06-01T12:00:00Z']", false, NULL},
    {"[x-test:ts != t'2020-06-01T12:00:00Z']", true, NULL},
    {"[x-test:ts > t'2020-06-01T12:00:00Z']", true, NULL},
    {"[x-test:ts < t'2020-06-01T12:00:00Z']", false, NULL},
    {"[x-test:ts NOT < t'2020-06-01T12:00:00Z']", true, NULL},
    {"[x-test:ts >= t'2020-06-01T12:00:00.5Z']", true, NULL},
    {"[x-test:ts IN (t'2021-01-01T00:00:00Z', t'2020-06-01T12:00:00.5Z')]",
     true, NULL},
    /* ... and a string constant compares as text. */
    {"[x-test:ts = '2020-06-01T12:00:00.5Z']", true, NULL},
    {"[x-test:ts = '2020-06-01T12:00:00.500Z']", false, NULL},
    /* A string that is no timestamp never compares with one. */
    {"[x-test:badts = t'2020-01-01T00:00:00Z']", false, NULL},
    {"[x-test:badts != t'2020-01-01T00:00:00Z']", false, NULL},
    {"[x-test:badts NOT = t'2020-01-01T00:00:00Z']", false, NULL},
    {"[x-test:badts > t'2020-01-01T00:00:00Z']", false, NULL},
    {"[x-test:badts NOT IN (t'2020-01-01T00:00:00Z')]", false, NULL},
    {"[x-test:int = t'2020-01-01T00:00:00Z']", false, NULL},
    {"[x-test:int != t'2020-01-01T00:00:00Z']", true, NULL},
    {"[x-test:int > t'2020-01-01T00:00:00Z']", false, NULL},
};

static const struct mcase set_cases[] = {
    {"[x-test:int IN (1, 5, 9)]", true, NULL},
    {"[x-test:int IN (1, 5.0)]", true, NULL},
    {"[x-test:int IN (1, 2)]", false, NULL},
    {"[x-test:int NOT IN (1, 5)]", false, NULL},
    {"[x-test:int NOT IN (1, 2)]", true, NULL},
    {"[x-test:float_int IN (11, 12, 13)]", true, NULL},
    {"[x-test:float IN (12.5)]", true, NULL},
    {"[x-test:int IN ('5')]", false, NULL},
    {"[x-test:int NOT IN ('5')]", true, NULL},
    {"[x-test:string IN ('hi', 'hello')]", true, NULL},
    {"[x-test:string NOT IN ('hi', 'hello')]", false, NULL},
    {"[x-test:string IN ()]", false, NULL},
    {"[x-test:string NOT IN ()]", true, NULL},
    {"[x-test:bool IN (true)]", true, NULL},
    {"[x-test:bool IN (false)]", false, NULL},
    {"[x-test:list[*] IN ('x', 'b')]", true, NULL},
    {"[x-test:list[*] NOT IN ('a', 'b', 'c')]", false, NULL},
    {"[x-test:payload_bin IN (h'616c696365', h'00')]", true, NULL},
};

static const struct mcase like_cases[] = {
    {"[x-test:string LIKE 'h%']", true, NULL},
    {"[x-test:string LIKE 'h_llo']", true, NULL},
    {"[x-test:string LIKE 'h_lo']", false, NULL},
    {"[x-test:string LIKE '%ll%']", true, NULL},
    {"[x-test:string LIKE '%l%l%o']", true, NULL},
    {"[x-test:string LIKE '%%%']", true, NULL},
    {"[x-test:string LIKE '%']", true, NULL},
    {"[x-test:string LIKE 'hello%']", true, NULL},
    {"[x-test:string LIKE 'hello_']", false, NULL},
    {"[x-test:string LIKE '_____']", true, NULL},
    {"[x-test:string LIKE '______']", false, NULL},
    {"[x-test:string LIKE 'ell']", false, NULL},
    {"[x-test:string LIKE 'H%']", false, NULL},
    {"[x-test:string LIKE '']", false, NULL},
    {"[x-test:string NOT LIKE 'h%']", false, NULL},
    {"[x-test:string NOT LIKE 'x%']", true, NULL},
    /* _ is one code point, not one byte. */
    {"[x-test:uni LIKE 'h_llo _']", true, NULL},
    {"[x-test:uni LIKE 'h__llo%']", false, NULL},
    {"[x-test:int LIKE '5']", false, NULL},
    {"[x-test:int NOT LIKE '5']", true, NULL},
    /* % and _ take line feeds too. */
    {"[x-test:lines LIKE 'one%three']", true, NULL},
    {"[x-test:lines LIKE 'one_two%']", true, NULL},
    /* Both sides in NFC: the constant is decomposed (e U+0301), the value
     * composed, and the other way round. */
    {"[x-test:latin LIKE 'cafe\xcc\x81']", true, NULL},
    {"[x-test:decomposed LIKE 'caf\xc3\xa9']", true, NULL},
    {"[x-test:decomposed LIKE 'caf_']", true, NULL},
};

static const struct mcase matches_cases[] = {
    {"[x-test:string MATCHES 'l+']", true, NULL},
    {"[x-test:string MATCHES '^l+']", false, NULL},
    {"[x-test:string MATCHES '^h.*o$']", true, NULL},
    {"[x-test:string MATCHES '(?i)HELLO']", true, NULL},
    {"[x-test:string MATCHES 'HELLO']", false, NULL},
    {"[x-test:string MATCHES '']", true, NULL},
    {"[x-test:string NOT MATCHES 'z']", true, NULL},
    {"[x-test:string NOT MATCHES 'e']", false, NULL},
    {"[x-test:uni MATCHES '^h.llo'] ", true, NULL},
    {"[x-test:uni MATCHES '\\\\x{2713}$']", true, NULL},
    {"[x-test:uni MATCHES '\xe2\x9c\x93']", true, NULL},
    {"[x-test:int MATCHES '5']", false, NULL},
    {"[x-test:int NOT MATCHES '5']", true, NULL},
    {"[x-test:list[*] MATCHES '^[bc]$']", true, NULL},
    /* DOTALL: '.' takes a line feed; '^' and '$' stay at the ends. */
    {"[x-test:lines MATCHES 'one.two']", true, NULL},
    {"[x-test:lines MATCHES '^two']", false, NULL},
    {"[x-test:lines MATCHES '^one.*three$']", true, NULL},
    /* NFC on both sides. */
    {"[x-test:decomposed MATCHES '^caf\xc3\xa9$']", true, NULL},
    {"[x-test:latin MATCHES '^cafe\xcc\x81$']", true, NULL},
    {"[x-test:decomposed MATCHES '^caf.$']", true, NULL},
};

static const struct mcase ip_cases[] = {
    {"[x-test:ip ISSUBSET '10.20.0.0/16']", true, NULL},
    {"[x-test:ip ISSUBSET '10.21.0.0/16']", false, NULL},
    {"[x-test:ip NOT ISSUBSET '10.21.0.0/16']", true, NULL},
    {"[x-test:ip NOT ISSUBSET '10.20.0.0/16']", false, NULL},
    {"[x-test:ip ISSUBSET '0.0.0.0/0']", true, NULL},
    {"[x-test:ip ISSUBSET '10.20.30.40']", true, NULL},
    {"[x-test:ip ISSUBSET '10.20.30.41/32']", false, NULL},
    {"[x-test:cidr ISSUBSET '10.20.0.0/16']", true, NULL},
    {"[x-test:cidr ISSUBSET '10.20.30.0/24']", false, NULL},
    {"[x-test:cidr ISSUPERSET '10.20.31.7']", true, NULL},
    {"[x-test:cidr ISSUPERSET '10.20.32.1']", false, NULL},
    {"[x-test:cidr ISSUPERSET '10.20.30.0/24']", true, NULL},
    {"[x-test:cidr NOT ISSUPERSET '10.20.30.0/24']", false, NULL},
    {"[x-test:cidr NOT ISSUPERSET '10.0.0.0/8']", true, NULL},
    {"[x-test:ip ISSUPERSET '10.20.30.40']", true, NULL},
    {"[x-test:ip ISSUPERSET '10.20.30.0/24']", false, NULL},
    /* IPv6, and /0 of each family. */
    {"[x-test:ip6 ISSUBSET '2001:db8::/32']", true, NULL},
    {"[x-test:ip6 ISSUBSET '2001:db9::/32']", false, NULL},
    {"[x-test:ip6 ISSUBSET '::/0']", true, NULL},
    {"[x-test:ip6 ISSUBSET '2001:0db8:0000::0001/128']", true, NULL},
    {"[x-test:cidr6 ISSUPERSET '2001:db8:ffff::1']", true, NULL},
    {"[x-test:cidr6 ISSUPERSET '2001:db8::/31']", false, NULL},
    {"[x-test:cidr6 NOT ISSUPERSET '2001:db8::/48']", false, NULL},
    /* Families never contain each other. */
    {"[x-test:ip ISSUBSET '::/0']", false, NULL},
    {"[x-test:ip6 ISSUBSET '0.0.0.0/0']", false, NULL},
    {"[x-test:ip6 NOT ISSUBSET '0.0.0.0/0']", true, NULL},
    /* Values that are no addresses. */
    {"[x-test:string ISSUBSET '0.0.0.0/0']", false, NULL},
    {"[x-test:string NOT ISSUBSET '0.0.0.0/0']", true, NULL},
    {"[x-test:int ISSUBSET '0.0.0.0/0']", false, NULL},
    {"[x-test:int NOT ISSUPERSET '1.2.3.4']", true, NULL},
};

/* *_bin (base64) and *_hex values are bytes; text compares with bytes as
 * Latin-1, as the reference matcher does. */
static const struct mcase binary_cases[] = {
    {"[x-test:payload_bin = 'alice']", true, NULL},
    {"[x-test:payload_bin = b'YWxpY2U=']", true, NULL},
    {"[x-test:payload_bin = h'616c696365']", true, NULL},
    {"[x-test:payload_bin = 'YWxpY2U=']", false, NULL},
    {"[x-test:name_hex = 'alice']", true, NULL},
    {"[x-test:name_hex = b'YWxpY2U=']", true, NULL},
    {"[x-test:name_hex NOT = h'616c696365']", false, NULL},
    {"[x-test:string = h'68656c6c6f']", true, NULL},
    {"[x-test:string = b'aGVsbG8=']", true, NULL},
    {"[x-test:string != b'aGVsbG8=']", false, NULL},
    {"[x-test:latin = h'636166e9']", true, NULL},
    {"[x-test:latin = h'636166c3a9']", false, NULL},
    {"[x-test:uni = h'68']", false, NULL},
    {"[x-test:raw_hex = h'01020304']", true, NULL},
    {"[x-test:long_bin = 'the quick brown fox jumps over']", true, NULL},
    {"[x-test:long_bin LIKE '%fox%']", true, NULL},
    {"[x-test:raw_hex = b'AQIDBA==']", true, NULL},
    {"[x-test:raw_hex > h'0102']", true, NULL},
    {"[x-test:raw_hex < h'02']", true, NULL},
    {"[x-test:raw_hex >= h'01020304']", true, NULL},
    {"[x-test:payload_bin > 'aardvark']", true, NULL},
    {"[x-test:payload_bin < 'alicf']", true, NULL},
    /* Text with a code point above U+00FF is no byte string: unequal,
     * and the ordering is false (NOT turns it). */
    {"[x-test:payload_bin = '\xc4\x83lice']", false, NULL},
    {"[x-test:payload_bin != '\xc4\x83lice']", true, NULL},
    {"[x-test:payload_bin > '\xc4\x83lice']", false, NULL},
    {"[x-test:payload_bin < '\xc4\x83lice']", false, NULL},
    {"[x-test:payload_bin NOT > '\xc4\x83lice']", true, NULL},
    {"[x-test:payload_bin MATCHES '^al']", true, NULL},
    {"[x-test:payload_bin MATCHES '\\\\x61li[c\\\\x01]e']", true, NULL},
    {"[x-test:raw_hex MATCHES '\\\\x03']", true, NULL},
    {"[x-test:raw_hex MATCHES '^\\\\x02']", false, NULL},
    {"[x-test:payload_bin MATCHES '\xc4\x83']", false, NULL},
    {"[x-test:payload_bin NOT MATCHES '\xc4\x83']", true, NULL},
    {"[x-test:payload_bin LIKE 'al%']", true, NULL},
    {"[x-test:payload_bin LIKE 'alice']", true, NULL},
    {"[x-test:payload_bin LIKE '%\xc4\x83%']", false, NULL},
    {"[x-test:payload_bin NOT LIKE '%\xc4\x83%']", true, NULL},
    /* A *_bin value that does not decode is no value. */
    {"[x-test:bad_bin = 'not base64!']", false, NULL},
    {"[x-test:bad_bin != 'x']", false, NULL},
    {"[EXISTS x-test:bad_bin]", true, NULL},
};

static const struct mcase exists_cases[] = {
    {"[EXISTS x-test:int]", true, NULL},
    {"[NOT EXISTS x-test:int]", false, NULL},
    {"[EXISTS x-test:missing]", false, NULL},
    {"[NOT EXISTS x-test:missing]", true, NULL},
    {"[EXISTS x-test:nul]", true, NULL},
    {"[EXISTS x-test:list[2]]", true, NULL},
    {"[EXISTS x-test:list[3]]", false, NULL},
    {"[EXISTS x-test:list[*]]", true, NULL},
    {"[EXISTS x-test:hashes.MD5]", true, NULL},
    {"[EXISTS x-test:hashes.'SHA-1']", false, NULL},
    {"[EXISTS x-test:payload_bin]", true, NULL},
    {"[EXISTS y-test:int]", false, NULL},
    {"[NOT EXISTS y-test:int]", false, NULL},
    {"[EXISTS user-account:is_privileged AND user-account:user_id = "
     "'alice']",
     true, NULL},
};

/* The comparisons joined by AND must hold for one SCO. */
static const struct mcase ce_cases[] = {
    {"[user-account:user_id = 'alice' AND user-account:is_privileged = "
     "true]",
     false, NULL},
    {"[user-account:user_id = 'bob' AND user-account:is_privileged = true]",
     true, NULL},
    {"[user-account:user_id = 'alice' OR user-account:is_privileged = true]",
     true, NULL},
    {"[x-test:int = 5 AND user-account:user_id = 'bob']", false, NULL},
    {"[x-test:int = 5 OR user-account:user_id = 'zed']", true, NULL},
    {"[user-account:user_id = 'zed' AND user-account:is_privileged = true "
     "OR user-account:user_id = 'alice']",
     true, NULL},
    {"[user-account:user_id = 'zed' AND (user-account:is_privileged = true "
     "OR user-account:user_id = 'alice')]",
     false, NULL},
    {"[user-account:user_id = 'alice' AND NOT EXISTS "
     "user-account:is_service_account]",
     true, NULL},
    {"[(x-test:int = 5 OR x-test:int = 6) AND (x-test:string = 'hello' OR "
     "x-test:string = 'bye') AND x-test:bool = true]",
     true, NULL},
    {"[x-test:int = 6 OR x-test:int = 7 OR x-test:int = 8 OR x-test:int = 5]",
     true, NULL},
    {"[x-test:int = 5 AND x-test:int = 5 AND x-test:int = 5 AND "
     "x-test:int = 6]",
     false, NULL},
};

static void test_equality(void **state)
{
	(void)state;
	RUN(values_fixture, eq_cases);
}

static void test_ordering(void **state)
{
	(void)state;
	RUN(values_fixture, order_cases);
}

static void test_sets(void **state)
{
	(void)state;
	RUN(values_fixture, set_cases);
}

static void test_like(void **state)
{
	(void)state;
	RUN(values_fixture, like_cases);
}

static void test_matches(void **state)
{
	(void)state;
	RUN(values_fixture, matches_cases);
}

static void test_ip(void **state)
{
	(void)state;
	RUN(values_fixture, ip_cases);
}

static void test_binary(void **state)
{
	(void)state;
	RUN(values_fixture, binary_cases);
}

static void test_exists(void **state)
{
	(void)state;
	RUN(values_fixture, exists_cases);
}

static void test_comparison_exprs(void **state)
{
	(void)state;
	RUN(values_fixture, ce_cases);
}

/* ------------------------------------------------------------------ */
/* References                                                           */
/* ------------------------------------------------------------------ */

static const char refs_fixture[] =
    "{'type': 'bundle', 'id': 'bundle--2', 'objects': ["
    " {'type': 'observed-data', 'id': 'observed-data--r1',"
    "  'first_observed': '2020-01-01T00:00:00Z',"
    "  'last_observed': '2020-01-01T00:00:00Z', 'number_observed': 1,"
    "  'object_refs': ['ipv4-addr--1', 'ipv4-addr--2', "
    "'network-traffic--1',"
    "   'email-message--1', 'email-addr--1', 'email-addr--2', 'file--1',"
    "   'directory--1', 'ipv4-addr--404']},"
    " {'type': 'ipv4-addr', 'id': 'ipv4-addr--1', 'value': '10.0.0.1'},"
    " {'type': 'ipv4-addr', 'id': 'ipv4-addr--2', 'value': "
    "'192.168.7.7'},"
    " {'type': 'ipv4-addr', 'id': 'ipv4-addr--3', 'value': '8.8.8.8'},"
    " {'type': 'network-traffic', 'id': 'network-traffic--1',"
    "  'src_ref': 'ipv4-addr--1', 'dst_ref': 'ipv4-addr--2',"
    "  'x_bad_ref': 'ipv4-addr--9', 'x_other_ref': 'ipv4-addr--3',"
    "  'protocols': ['ipv4', 'tcp'], 'dst_port': 443},"
    " {'type': 'email-message', 'id': 'email-message--1',"
    "  'is_multipart': false, 'from_ref': 'email-addr--1',"
    "  'to_refs': ['email-addr--1', 'email-addr--9', 'email-addr--2']},"
    " {'type': 'email-addr', 'id': 'email-addr--1', 'value': "
    "'a@example.com'},"
    " {'type': 'email-addr', 'id': 'email-addr--2', 'value': "
    "'b@example.com'},"
    " {'type': 'file', 'id': 'file--1', 'name': 'x.exe',"
    "  'parent_directory_ref': 'directory--1'},"
    " {'type': 'directory', 'id': 'directory--1', 'path': "
    "'C:\\\\Windows'},"
    " {'type': 'observed-data', 'id': 'observed-data--r2',"
    "  'first_observed': '2020-01-01T00:00:01Z',"
    "  'last_observed': '2020-01-01T00:00:01Z', 'number_observed': 1,"
    "  'objects': {'0': {'type': 'ipv4-addr', 'value': '10.0.0.5'},"
    "   '1': {'type': 'network-traffic', 'src_ref': '0', 'dst_ref': '7',"
    "         'protocols': ['udp']}}}"
    "]}";

static const struct mcase ref_cases[] = {
    {"[network-traffic:src_ref.value = '10.0.0.1']", true, OBS(0)},
    {"[network-traffic:src_ref.value = '192.168.7.7']", false, NULL},
    {"[network-traffic:dst_ref.value ISSUBSET '192.168.0.0/16']", true, OBS(0)},
    {"[network-traffic:src_ref.value = '10.0.0.5']", true, OBS(1)},
    {"[network-traffic:dst_ref.value != 'x' AND network-traffic:protocols[0] "
     "= 'udp']",
     false, NULL},
    /* A reference that does not resolve (in this observation) selects
     * nothing. */
    {"[network-traffic:x_bad_ref.value = 'x']", false, NULL},
    {"[network-traffic:x_bad_ref.value != 'x']", false, NULL},
    {"[network-traffic:x_other_ref.value = '8.8.8.8']", false, NULL},
    {"[NOT EXISTS network-traffic:x_bad_ref.value]", true, OBS(0)},
    {"[EXISTS network-traffic:src_ref.value]", true, OBS(0)},
    /* A reference at the end of a path is the reference itself. */
    {"[network-traffic:src_ref = 'ipv4-addr--1']", true, OBS(0)},
    {"[network-traffic:src_ref = '0']", true, OBS(1)},
    {"[email-message:to_refs[*].value = 'b@example.com']", true, OBS(0)},
    {"[email-message:to_refs[0].value = 'a@example.com']", true, NULL},
    {"[email-message:to_refs[1].value = 'b@example.com']", false, NULL},
    {"[email-message:to_refs[2].value = 'b@example.com']", true, NULL},
    {"[email-message:to_refs[*].value LIKE '%@example.com']", true, NULL},
    {"[email-message:to_refs.value = 'a@example.com']", false, NULL},
    {"[email-message:to_refs[*] = 'email-addr--9']", true, NULL},
    {"[email-message:from_ref.value = 'a@example.com']", true, NULL},
    {"[file:parent_directory_ref.path = 'C:\\\\Windows']", true, NULL},
    {"[file:parent_directory_ref.path MATCHES '^C:\\\\\\\\Win']", true, NULL},
    {"[network-traffic:protocols[*] = 'tcp']", true, OBS(0)},
    {"[network-traffic:dst_port >= 443 AND network-traffic:src_ref.value = "
     "'10.0.0.1']",
     true, OBS(0)},
    /* An object_refs entry that is not in the bundle is left out. */
    {"[ipv4-addr:value = '8.8.8.8']", false, NULL},
};

static void test_references(void **state)
{
	(void)state;
	RUN(refs_fixture, ref_cases);
}

/* ------------------------------------------------------------------ */
/* Observation expressions and qualifiers                               */
/* ------------------------------------------------------------------ */

/* Six observations: ann 00:00, ben 00:05, cat 00:10, dan 01:00 (seen 3
 * times), eve from 02:00 to 03:00, fay 00:00 (minutes:seconds after
 * 2020-01-01T00:00). */
#define PERSON(id, name, age, first, last, n)                                 \
	" {'type': 'observed-data', 'id': 'observed-data--" id "',"           \
	"  'first_observed': '2020-01-01T00:" first "Z',"                     \
	"  'last_observed': '2020-01-01T00:" last "Z', 'number_observed': " n \
	","                                                                   \
	"  'objects': {'0': {'type': 'user-account', 'user_id': '" name "',"  \
	"  'age': " age "}}}"

#define ANN PERSON("0", "ann", "10", "00:00", "00:00", "1")
#define BEN PERSON("1", "ben", "17", "00:05", "00:05", "1")
#define CAT PERSON("2", "cat", "22", "00:10", "00:10", "1")
#define DAN PERSON("3", "dan", "30", "01:00", "01:00", "3")
#define EVE PERSON("4", "eve", "50", "02:00", "03:00", "1")
#define FAY PERSON("5", "fay", "60", "00:00", "00:00", "1")

static const char timeline_fixture[] =
    "[" ANN "," BEN "," CAT "," DAN "," EVE "," FAY "]";

#define U "[user-account:"

static const struct mcase obs_cases[] = {
    /* AND: distinct observation instances. */
    {U "user_id = 'ann'] AND " U "age > 20]", true, OBS(0, 5)},
    {U "user_id = 'ann'] AND " U "age = 10]", false, NULL},
    {U "user_id = 'dan'] AND " U "age = 30]", true, OBS(3)},
    {U "user_id = 'ann'] AND " U "user_id = 'zed']", false, NULL},
    /* OR. */
    {U "user_id = 'ann'] OR " U "user_id = 'zed']", true, OBS(0)},
    {U "user_id = 'zed'] OR " U "user_id = 'cat']", true, OBS(2)},
    {U "user_id = 'zed'] OR " U "user_id = 'yan']", false, NULL},
    /* FOLLOWEDBY: before or at the same time. */
    {U "user_id = 'ann'] FOLLOWEDBY " U "user_id = 'cat']", true, OBS(0, 2)},
    {U "user_id = 'cat'] FOLLOWEDBY " U "user_id = 'ann']", false, NULL},
    {U "user_id = 'fay'] FOLLOWEDBY " U "user_id = 'ann']", true, OBS(0, 5)},
    {U "user_id = 'ann'] FOLLOWEDBY " U "user_id = 'fay']", true, OBS(0, 5)},
    {U "age > 5] FOLLOWEDBY " U "age < 12]", true, OBS(0, 5)},
    {U "user_id = 'dan'] FOLLOWEDBY " U "user_id = 'dan']", true, OBS(3)},
    {U "user_id = 'ann'] FOLLOWEDBY " U "user_id = 'ann']", false, NULL},
    {U "user_id = 'eve'] FOLLOWEDBY " U "user_id = 'dan']", false, NULL},
    {U "user_id = 'dan'] FOLLOWEDBY " U "user_id = 'eve']", true, OBS(3, 4)},
    {U "user_id = 'ann'] FOLLOWEDBY " U "user_id = 'ben'] FOLLOWEDBY " U
       "user_id = 'cat']",
     true, OBS(0, 1, 2)},
    {U "user_id = 'ben'] FOLLOWEDBY " U "user_id = 'ann'] FOLLOWEDBY " U
       "user_id = 'cat']",
     false, NULL},
    /* Precedence: FOLLOWEDBY loosest, then OR, then AND. */
    {U "age > 20] OR " U "user_id = 'zed'] FOLLOWEDBY " U "age < 0]", false,
     NULL},
    {U "age > 20] OR " U "user_id = 'zed'] AND " U "age < 0]", true, NULL},
    {"(" U "user_id = 'cat'] FOLLOWEDBY " U "age > 25]) AND " U "age < 15]",
     true, OBS(0, 2, 3)},
    {U "user_id = 'cat'] FOLLOWEDBY " U "age > 25] AND " U "age < 15]", false,
     NULL},
    /* REPEATS: number_observed counts as that many instances. */
    {U "age >= 10] REPEATS 4 TIMES", true, OBS(0, 1, 2, 5)},
    {U "user_id = 'dan'] REPEATS 3 TIMES", true, OBS(3)},
    {U "user_id = 'dan'] REPEATS 4 TIMES", false, NULL},
    {U "age >= 10] REPEATS 8 TIMES", true, OBS(0, 1, 2, 3, 4, 5)},
    {U "age >= 10] REPEATS 9 TIMES", false, NULL},
    {U "age < 20] REPEATS 2 TIMES", true, OBS(0, 1)},
    {U "age < 20] REPEATS 3 TIMES", false, NULL},
    {"(" U "user_id = 'ann'] OR " U "user_id = 'ben']) REPEATS 2 TIMES", true,
     OBS(0, 1)},
    {"(" U "user_id = 'ann'] AND " U "age < 20]) REPEATS 2 TIMES", false, NULL},
    {"(" U "user_id = 'dan'] AND " U "age > 20]) REPEATS 2 TIMES", true, NULL},
    /* WITHIN n: the latest earlier than the earliest plus n (STIX 2.1
     * section 9.5.1; the reference matcher also takes exactly n). */
    {U "user_id = 'ann'] AND " U "user_id = 'cat'] WITHIN 1 SECONDS", true,
     OBS(0, 2)},
    {"(" U "user_id = 'ann'] AND " U "user_id = 'cat']) WITHIN 10.001 "
     "SECONDS",
     true, OBS(0, 2)},
    {"(" U "user_id = 'ann'] AND " U "user_id = 'cat']) WITHIN 10 SECONDS",
     false, NULL},
    {"(" U "age < 20] REPEATS 2 TIMES) WITHIN 5.5 SECONDS", true, OBS(0, 1)},
    {"(" U "age < 20] REPEATS 2 TIMES) WITHIN 5 SECONDS", false, NULL},
    {U "age > 5] REPEATS 3 TIMES WITHIN 10 SECONDS", true, OBS(0, 1, 5)},
    {U "age > 5] REPEATS 4 TIMES WITHIN 10 SECONDS", false, NULL},
    {U "age > 5] REPEATS 4 TIMES WITHIN 11 SECONDS", true, OBS(0, 1, 2, 5)},
    {U "age > 5] REPEATS 5 TIMES WITHIN 11 SECONDS", false, NULL},
    {U "age > 25] REPEATS 4 TIMES WITHIN 61 SECONDS", true, OBS(3, 5)},
    {U "age > 25] REPEATS 4 TIMES WITHIN 60 SECONDS", false, NULL},
    {U "age > 25] REPEATS 5 TIMES WITHIN 121 SECONDS", true, OBS(3, 4, 5)},
    {U "age > 25] REPEATS 5 TIMES WITHIN 120 SECONDS", false, NULL},
    {"(" U "user_id = 'ann'] OR " U "user_id = 'zed']) WITHIN 1 SECONDS", true,
     OBS(0)},
    /* An interval counts from where it is nearest. */
    {"(" U "user_id = 'dan'] AND " U "user_id = 'eve']) WITHIN 61 SECONDS",
     true, OBS(3, 4)},
    {"(" U "user_id = 'dan'] AND " U "user_id = 'eve']) WITHIN 60 SECONDS",
     false, NULL},
    {"(" U "user_id = 'ann'] FOLLOWEDBY " U "user_id = 'dan']) WITHIN 60.5 "
     "SECONDS",
     true, OBS(0, 3)},
    {"(" U "user_id = 'ann'] FOLLOWEDBY " U "user_id = 'dan']) WITHIN 60 "
     "SECONDS",
     false, NULL},
    /* START/STOP: [start, stop), an interval reaching into it counts. */
    {U "user_id = 'ben'] START t'2020-01-01T00:00:05Z' STOP "
       "t'2020-01-01T00:00:06Z'",
     true, OBS(1)},
    {U "user_id = 'ben'] START t'2020-01-01T00:00:04Z' STOP "
       "t'2020-01-01T00:00:05Z'",
     false, NULL},
    {U "user_id = 'ben'] START t'2020-01-01T00:00:06Z' STOP "
       "t'2020-01-01T00:00:07Z'",
     false, NULL},
    {"(" U "user_id = 'ann'] AND " U "user_id = 'ben']) START "
     "t'2020-01-01T00:00:00Z' STOP t'2020-01-01T00:00:05Z'",
     false, NULL},
    {"(" U "user_id = 'ann'] AND " U "user_id = 'ben']) START "
     "t'2020-01-01T00:00:00Z' STOP t'2020-01-01T00:00:05.000001Z'",
     true, OBS(0, 1)},
    {U "user_id = 'ann'] AND " U "user_id = 'ben'] START "
       "t'2020-01-01T00:00:05Z' STOP t'2020-01-01T00:00:06Z'",
     true, OBS(0, 1)},
    {U "age > 0] REPEATS 4 TIMES START t'2020-01-01T00:00:00Z' STOP "
       "t'2020-01-01T00:00:11Z'",
     true, OBS(0, 1, 2, 5)},
    {U "age > 0] REPEATS 5 TIMES START t'2020-01-01T00:00:00Z' STOP "
       "t'2020-01-01T00:00:11Z'",
     false, NULL},
    {U "user_id = 'eve'] START t'2020-01-01T00:02:30Z' STOP "
       "t'2020-01-01T00:02:31Z'",
     true, OBS(4)},
    {U "user_id = 'eve'] START t'2020-01-01T00:03:00Z' STOP "
       "t'2020-01-01T00:04:00Z'",
     true, OBS(4)},
    {U "user_id = 'eve'] START t'2020-01-01T00:01:00Z' STOP "
       "t'2020-01-01T00:02:00Z'",
     false, NULL},
    {U "user_id = 'eve'] START t'2020-01-01T00:03:00.000001Z' STOP "
       "t'2020-01-01T00:04:00Z'",
     false, NULL},
};

static void test_observation_exprs(void **state)
{
	(void)state;
	RUN(timeline_fixture, obs_cases);
}

/* ------------------------------------------------------------------ */
/* Limits                                                               */
/* ------------------------------------------------------------------ */

static void test_state_limit(void **state)
{
	(void)state;
	struct fixture f;
	struct pat_result r;
	struct diag d;
	struct pattern_limits lim = PATTERN_LIMITS_DEFAULT;
	load(timeline_fixture, &f);
	lim.max_state = 5;
	assert_int_equal(
	    eval_lim(U "age >= 10] REPEATS 8 TIMES", &f, &lim, &r, &d),
	    ST_ELIMIT);
	assert_false(r.matched);
	assert_null(r.obs);
	assert_string_equal(d.msg, "pattern evaluation tried more than 5 "
				   "observation bindings");
	/* One bracket needs no search. */
	assert_int_equal(eval_lim(U "age >= 10]", &f, &lim, &r, &d), ST_OK);
	assert_true(r.matched);
	pat_result_clear(&r);
	unload(&f);

	/* A search that cannot finish: 40 candidates for 20 repetitions
	 * that can never be followed. The answer is "limit", never "no
	 * match". */
	struct buf b = BUF_INIT(1 << 20);
	buf_adds(&b, "[");
	for (int i = 0; i < 40; i++)
		buf_printf(&b,
			   "%s{'type': 'observed-data', 'first_observed': "
			   "'2020-01-01T00:00:%02dZ', 'last_observed': "
			   "'2020-01-01T00:00:%02dZ', 'number_observed': 1, "
			   "'objects': {'0': {'type': 'x', 'a': %d}}}",
			   i ? ", " : "", 10 + i, 10 + i, i == 0 ? 2 : 1);
	buf_adds(&b, "]");
	load(b.data, &f);
	assert_int_equal(eval_lim("([x:a = 1] REPEATS 20 TIMES) FOLLOWEDBY "
				  "[x:a = 2]",
				  &f, NULL, &r, &d),
			 ST_ELIMIT);
	assert_false(r.matched);
	/* The same pattern in the other order is found at once. */
	assert_int_equal(eval_lim("[x:a = 2] FOLLOWEDBY ([x:a = 1] REPEATS 20 "
				  "TIMES)",
				  &f, NULL, &r, &d),
			 ST_OK);
	assert_true(r.matched);
	assert_int_equal(r.n_obs, 21);
	pat_result_clear(&r);
	/* Counting alone decides what cannot be, without a search. */
	lim = PATTERN_LIMITS_DEFAULT;
	lim.max_state = 1;
	assert_int_equal(
	    eval_lim("[x:a = 1] REPEATS 40 TIMES", &f, &lim, &r, &d), ST_OK);
	assert_false(r.matched);
	assert_int_equal(eval_lim("[x:a = 1] REPEATS 2 TIMES AND [x:a = 3]", &f,
				  &lim, &r, &d),
			 ST_OK);
	assert_false(r.matched);
	/* WITHIN over time-ordered candidates stops early: 39 candidates,
	 * 10 repetitions, never within 5 seconds, decided in about 3,300
	 * steps (about 22,000 if every candidate were tried). */
	lim.max_state = 5000;
	assert_int_equal(eval_lim("[x:a = 1] REPEATS 10 TIMES WITHIN 5 "
				  "SECONDS",
				  &f, &lim, &r, &d),
			 ST_OK);
	assert_false(r.matched);
	assert_int_equal(eval_lim("[x:a = 1] REPEATS 10 TIMES WITHIN 9.5 "
				  "SECONDS",
				  &f, &lim, &r, &d),
			 ST_OK);
	assert_true(r.matched);
	assert_int_equal(r.n_obs, 10);
	assert_int_equal(r.obs[0], 1);
	pat_result_clear(&r);
	unload(&f);
	buf_free(&b);
}

static void test_regex_limits(void **state)
{
	(void)state;
	struct fixture f;
	struct pat_result r;
	struct diag d;
	struct pattern_limits lim = PATTERN_LIMITS_DEFAULT;
	load("[{'type': 'observed-data', 'first_observed': "
	     "'2020-01-01T00:00:00Z', 'last_observed': '2020-01-01T00:00:00Z', "
	     "'number_observed': 1, 'objects': {'0': {'type': 'x', 's': "
	     "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!'}}}]",
	     &f);
	/* Catastrophic backtracking stops at the match limit. */
	lim.pcre_match_limit = 1000;
	assert_int_equal(eval_lim("[x:s MATCHES '^(a+)+$']", &f, &lim, &r, &d),
			 ST_ELIMIT);
	assert_false(r.matched);
	assert_non_null(strstr(d.msg, "at 1: MATCHES: "));
	assert_int_equal(
	    eval_lim("[x:s NOT MATCHES '^(a+)+$']", &f, &lim, &r, &d),
	    ST_ELIMIT);
	/* ... and with the defaults, it is also a limit, not an answer. */
	assert_int_equal(eval_lim("[x:s MATCHES '^(a+)+$']", &f, NULL, &r, &d),
			 ST_ELIMIT);
	/* A cheap expression stays under the same limits. */
	assert_int_equal(eval_lim("[x:s MATCHES 'a+!$']", &f, &lim, &r, &d),
			 ST_OK);
	assert_true(r.matched);
	pat_result_clear(&r);
	/* The work LIKE's backtracking redoes counts against 64 times the
	 * match limit. */
	lim.pcre_match_limit = 1;
	assert_int_equal(
	    eval_lim("[x:s LIKE '%aaaaaaaaaab']", &f, &lim, &r, &d), ST_ELIMIT);
	assert_string_equal(d.msg, "LIKE needed more than 64 steps");
	lim.pcre_match_limit = 100000;
	assert_int_equal(eval_lim("[x:s LIKE '%a%a%a%b']", &f, &lim, &r, &d),
			 ST_OK);
	assert_false(r.matched);
	/* A long value alone never reaches the limit: a trailing % takes the
	 * rest at once, and the work grows with the text only as far as
	 * the pattern makes it. */
	{
		size_t n = 300000;
		char *big = malloc(n + 200);
		assert_non_null(big);
		int k =
		    snprintf(big, 200,
			     "[{'type': 'observed-data', 'first_observed': "
			     "'2020-01-01T00:00:00Z', 'last_observed': "
			     "'2020-01-01T00:00:00Z', 'number_observed': 1, "
			     "'objects': {'0': {'type': 'x', 's': 'abc");
		memset(big + k, 'q', n);
		snprintf(big + k + n, 200, "'}}}]");
		struct fixture fb;
		load(big, &fb);
		assert_int_equal(
		    eval_lim("[x:s LIKE 'abc%']", &fb, NULL, &r, &d), ST_OK);
		assert_true(r.matched);
		pat_result_clear(&r);
		assert_int_equal(
		    eval_lim("[x:s LIKE '%xyz%']", &fb, NULL, &r, &d), ST_OK);
		assert_false(r.matched);
		assert_int_equal(
		    eval_lim("[x:s LIKE 'abc%q_q']", &fb, NULL, &r, &d), ST_OK);
		assert_true(r.matched);
		pat_result_clear(&r);
		unload(&fb);
		free(big);
	}
	/* A limit reached in a bracket the binding needs ends the
	 * evaluation of a stateful pattern too. */
	lim.pcre_match_limit = 1000;
	assert_int_equal(eval_lim("[x:s = 'b'] OR [x:s MATCHES '^(a+)+$']", &f,
				  &lim, &r, &d),
			 ST_ELIMIT);
	unload(&f);
}

/* ------------------------------------------------------------------ */
/* pattern_eval_cexpr, the entry point of the indexed matcher          */
/* ------------------------------------------------------------------ */

static void test_eval_cexpr(void **state)
{
	(void)state;
	struct fixture f;
	struct pattern *p;
	struct diag d;
	load(timeline_fixture, &f);
	const char *text = "[user-account:user_id = 'ann'] FOLLOWEDBY "
			   "[user-account:age > 20 AND user-account:age < 40]";
	assert_int_equal(pattern_parse(text, strlen(text), NULL, &p, &d),
			 ST_OK);
	const struct pat_oexpr *root = pattern_root(p);
	assert_int_equal(root->kind, PAT_OE_FOLLOWEDBY);
	const struct pat_cexpr *left = root->l->cexpr, *right = root->r->cexpr;
	static const int want_left[6] = {1, 0, 0, 0, 0, 0};
	static const int want_right[6] = {0, 0, 1, 1, 0, 0};
	for (size_t i = 0; i < f.n; i++) {
		assert_int_equal(pattern_eval_cexpr(p, left, &f.obs[i], &d),
				 want_left[i]);
		assert_int_equal(pattern_eval_cexpr(p, right, &f.obs[i], &d),
				 want_right[i]);
	}
	/* A part of the expression on its own. */
	assert_int_equal(right->kind, PAT_CE_AND);
	assert_int_equal(pattern_eval_cexpr(p, right->l, &f.obs[1], &d), 0);
	assert_int_equal(pattern_eval_cexpr(p, right->l, &f.obs[4], &d), 1);
	pattern_free(p);

	const char *slow = "[user-account:user_id MATCHES '^(\\\\w+)+\\\\d$']";
	struct pattern_limits lim = PATTERN_LIMITS_DEFAULT;
	lim.pcre_match_limit = 10;
	assert_int_equal(pattern_parse(slow, strlen(slow), &lim, &p, &d),
			 ST_OK);
	struct pat_sco sco = {"0", NULL};
	struct json_doc *doc = json_doc_new();
	const struct json_val *obj;
	const char *json = "{\"type\": \"user-account\", \"user_id\": "
			   "\"abcdefghijklmnopqrstuvwxyz\"}";
	assert_int_equal(json_parse(doc, json, strlen(json), 0, NULL, &obj, &d),
			 ST_OK);
	sco.obj = obj;
	struct pat_observation o = {NULL, 0, 0, 1, &sco, 1};
	assert_int_equal(pattern_eval_cexpr(p, pattern_root(p)->cexpr, &o, &d),
			 ST_ELIMIT);
	/* Telemetry observations may hold SCOs without a JSON object. */
	sco.obj = NULL;
	assert_int_equal(pattern_eval_cexpr(p, pattern_root(p)->cexpr, &o, &d),
			 0);
	json_doc_free(doc);
	pattern_free(p);
	unload(&f);
}

/* Evaluation is read-only on the pattern: the same pattern gives the same
 * answers again, and an empty list of observations matches nothing. */
static void test_reuse(void **state)
{
	(void)state;
	struct fixture f;
	struct pattern *p;
	struct diag d;
	struct pat_result r;
	load(timeline_fixture, &f);
	const char *text = U "age > 5] REPEATS 3 TIMES WITHIN 10 SECONDS";
	assert_int_equal(pattern_parse(text, strlen(text), NULL, &p, &d),
			 ST_OK);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(pattern_eval(p, f.obs, f.n, &r, &d), ST_OK);
		assert_true(r.matched);
		assert_int_equal(r.n_obs, 3);
		pat_result_clear(&r);
	}
	assert_int_equal(pattern_eval(p, f.obs, 0, &r, &d), ST_OK);
	assert_false(r.matched);
	assert_int_equal(pattern_eval(p, f.obs + 3, 1, &r, &d), ST_OK);
	assert_true(r.matched); /* dan, seen three times */
	assert_int_equal(r.n_obs, 1);
	assert_int_equal(r.obs[0], 0);
	pat_result_clear(&r);
	pat_result_clear(&r);
	pattern_free(p);
	unload(&f);
}

/* ------------------------------------------------------------------ */
/* Reading observed-data                                                */
/* ------------------------------------------------------------------ */

#define OD_TIMES                                                      \
	"'first_observed': '2020-01-01T00:00:00Z', 'last_observed': " \
	"'2020-01-01T00:00:01Z'"

struct obs_err {
	const char *json;
	const char *msg;
};

static const struct obs_err obs_errors[] = {
    {"5", "expected a STIX bundle or a JSON list of objects, found number"},
    {"{'type': 'indicator'}",
     "expected a STIX bundle or a JSON list of objects, found an object "
     "that is no bundle"},
    {"{'type': 'bundle', 'objects': {}}",
     "bundle: property 'objects': expected a list, found object"},
    {"[1]", "objects[0]: expected an object, found number"},
    {"[{'type': 'observed-data', 'id': 'observed-data--1', "
     "'last_observed': '2020-01-01T00:00:00Z', 'number_observed': 1, "
     "'objects': {}}]",
     "observed-data--1: property 'first_observed': missing"},
    {"[{'type': 'observed-data', 'id': 'observed-data--1', "
     "'first_observed': 5, 'last_observed': '2020-01-01T00:00:00Z', "
     "'number_observed': 1, 'objects': {}}]",
     "observed-data--1: property 'first_observed': expected a timestamp "
     "(YYYY-MM-DDTHH:MM:SS[.s]Z), found number"},
    {"[{'type': 'observed-data', 'id': 'observed-data--1', "
     "'first_observed': '2020-01-01T00:00:00Z', 'last_observed': "
     "'yesterday', 'number_observed': 1, 'objects': {}}]",
     "observed-data--1: property 'last_observed': expected a timestamp "
     "(YYYY-MM-DDTHH:MM:SS[.s]Z), found a string that is none"},
    {"[{'type': 'observed-data', 'id': 'observed-data--1', "
     "'first_observed': '2020-01-02T00:00:00Z', 'last_observed': "
     "'2020-01-01T00:00:00Z', 'number_observed': 1, 'objects': {}}]",
     "observed-data--1: property 'last_observed': earlier than "
     "first_observed"},
    {"[{'type': 'observed-data', 'id': 'observed-data--1', " OD_TIMES
     ", 'objects': {}}]",
     "observed-data--1: property 'number_observed': missing"},
    {"[{'type': 'observed-data', 'id': 'observed-data--1', " OD_TIMES
     ", 'number_observed': 0, 'objects': {}}]",
     "observed-data--1: property 'number_observed': expected an integer "
     "from 1 to 999999999"},
    {"[{'type': 'observed-data', 'id': 'observed-data--1', " OD_TIMES
     ", 'number_observed': 1.5, 'objects': {}}]",
     "observed-data--1: property 'number_observed': expected an integer "
     "from 1 to 999999999"},
    {"[{'type': 'observed-data', 'id': 'observed-data--1', " OD_TIMES
     ", 'number_observed': 1000000000, 'objects': {}}]",
     "observed-data--1: property 'number_observed': expected an integer "
     "from 1 to 999999999"},
    {"[{'type': 'observed-data', 'id': 'observed-data--1', " OD_TIMES
     ", 'number_observed': 1}]",
     "observed-data--1: expected property 'object_refs' (or the deprecated "
     "'objects'), found neither"},
    {"[{'type': 'observed-data', 'id': 'observed-data--1', " OD_TIMES
     ", 'number_observed': 1, 'objects': []}]",
     "observed-data--1: property 'objects': expected an object, found "
     "array"},
    {"[{'type': 'observed-data', 'id': 'observed-data--1', " OD_TIMES
     ", 'number_observed': 1, 'objects': {'0': 'x'}}]",
     "observed-data--1: property 'objects': '0': expected an object, found "
     "string"},
    {"[{'type': 'observed-data', 'id': 'observed-data--1', " OD_TIMES
     ", 'number_observed': 1, 'object_refs': 'ipv4-addr--1'}]",
     "observed-data--1: property 'object_refs': expected a list, found "
     "string"},
    {"[{'type': 'observed-data', 'id': 'observed-data--1', " OD_TIMES
     ", 'number_observed': 1, 'object_refs': ['ipv4-addr--1', 7]}]",
     "observed-data--1: property 'object_refs': item 1: expected an id, "
     "found number"},
    {"[{'type': 'ipv4-addr', 'value': '1.2.3.4'}, {'type': 'indicator'}, "
     "{'type': 'observed-data', " OD_TIMES ", 'objects': {}}]",
     "objects[2]: property 'number_observed': missing"},
};

static void test_observations(void **state)
{
	(void)state;
	struct fixture f;
	struct diag d;
	for (size_t i = 0; i < sizeof(obs_errors) / sizeof(obs_errors[0]);
	     i++) {
		int rc = load_rc(obs_errors[i].json, &f, &d);
		if (rc != ST_EINVAL || strcmp(d.msg, obs_errors[i].msg) != 0)
			fail_msg("%s:\n got  %d %s\n want %s",
				 obs_errors[i].json, rc, d.msg,
				 obs_errors[i].msg);
		assert_null(f.obs);
		assert_int_equal(f.n, 0);
		unload(&f);
	}

	/* What comes out of a good bundle. */
	load(refs_fixture, &f);
	assert_int_equal(f.n, 2);
	assert_string_equal(f.obs[0].id, "observed-data--r1");
	assert_int_equal(f.obs[0].first_observed, 1577836800000000);
	assert_int_equal(f.obs[0].number_observed, 1);
	/* Nine refs, one of them to an object the bundle lacks. */
	assert_int_equal(f.obs[0].n_objects, 8);
	assert_string_equal(f.obs[0].objects[0].ref, "ipv4-addr--1");
	assert_true(json_str_eq(json_get(f.obs[0].objects[0].obj, "value"),
				"10.0.0.1"));
	assert_string_equal(f.obs[1].id, "observed-data--r2");
	assert_int_equal(f.obs[1].last_observed, 1577836801000000);
	assert_int_equal(f.obs[1].n_objects, 2);
	assert_string_equal(f.obs[1].objects[1].ref, "1");
	unload(&f);

	/* Both containers at once are read (the reference matcher's own
	 * fixtures carry an empty "objects" beside object_refs). */
	load("[{'type': 'observed-data', " OD_TIMES ", 'number_observed': 2, "
	     "'objects': {'a': {'type': 'x'}}, 'object_refs': ['x--1']}, "
	     "{'type': 'x', 'id': 'x--1'}]",
	     &f);
	assert_int_equal(f.n, 1);
	assert_null(f.obs[0].id);
	assert_int_equal(f.obs[0].number_observed, 2);
	assert_int_equal(f.obs[0].n_objects, 2);
	unload(&f);

	/* Nothing to observe is not an error. */
	load("{'type': 'bundle', 'id': 'bundle--3'}", &f);
	assert_int_equal(f.n, 0);
	unload(&f);
	load("[{'type': 'ipv4-addr', 'id': 'ipv4-addr--1', 'value': "
	     "'1.2.3.4'}]",
	     &f);
	assert_int_equal(f.n, 0);
	unload(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_equality),
	    cmocka_unit_test(test_ordering),
	    cmocka_unit_test(test_sets),
	    cmocka_unit_test(test_like),
	    cmocka_unit_test(test_matches),
	    cmocka_unit_test(test_ip),
	    cmocka_unit_test(test_binary),
	    cmocka_unit_test(test_exists),
	    cmocka_unit_test(test_comparison_exprs),
	    cmocka_unit_test(test_references),
	    cmocka_unit_test(test_observation_exprs),
	    cmocka_unit_test(test_state_limit),
	    cmocka_unit_test(test_regex_limits),
	    cmocka_unit_test(test_eval_cexpr),
	    cmocka_unit_test(test_reuse),
	    cmocka_unit_test(test_observations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
