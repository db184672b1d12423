/*
 * Unit tests of the JSON parser (src/common/json_parse.cpp): what it
 * accepts, what it rejects and where, its limits, and the read helpers.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int setup(void **state)
{
	*state = json_doc_new();
	return *state == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	json_doc_free(*state);
	return 0;
}

/* Writes v compactly (document order) into out. */
static void compact(const struct json_val *v, char *out, size_t cap)
{
	struct buf b = BUF_INIT(1 << 20);
	struct jw w;
	jw_init(&w, &b);
	jw_value(&w, v);
	assert_int_equal(jw_finish(&w), ST_OK);
	snprintf(out, cap, "%s", b.data);
	buf_free(&b);
}

/* ------------------------------------------------------------------ */
/* Valid documents                                                      */
/* ------------------------------------------------------------------ */

static const struct {
	const char *in;
	enum json_type type;
	const char *out; /* written back by jw_value */
} valid[] = {
    {"null", JSON_NULL, "null"},
    {" true ", JSON_TRUE, "true"},
    {"false", JSON_FALSE, "false"},
    {"0", JSON_NUMBER, "0"},
    {"-12", JSON_NUMBER, "-12"},
    {"1.5", JSON_NUMBER, "1.5"},
    {"-2.5E-3", JSON_NUMBER, "-0.0025"},
    {"1e2", JSON_NUMBER, "100"},
    {"9223372036854775807", JSON_NUMBER, "9223372036854775807"},
    {"-9223372036854775808", JSON_NUMBER, "-9223372036854775808"},
    {"\"\"", JSON_STRING, "\"\""},
    {"\"a\\u00e9\\n\\\"\\\\\\/\"", JSON_STRING, "\"a\xc3\xa9\\n\\\"\\\\/\""},
    {"\"\\ud83d\\ude02\"", JSON_STRING, "\"\xf0\x9f\x98\x82\""},
    {"\"\xe2\x80\xa8\"", JSON_STRING, "\"\xe2\x80\xa8\""},
    {"[]", JSON_ARRAY, "[]"},
    {"[1, [2, [3]], {}]", JSON_ARRAY, "[1,[2,[3]],{}]"},
    {"{}", JSON_OBJECT, "{}"},
    {"{\"b\": 1, \"a\": [true, null], \"\": \"\"}", JSON_OBJECT,
     "{\"b\":1,\"a\":[true,null],\"\":\"\"}"},
    {"\n\t{ \"k\" : { \"k\" : { } } }\r\n", JSON_OBJECT, "{\"k\":{\"k\":{}}}"},
};

static void test_valid(void **state)
{
	struct json_doc *doc = *state;
	char got[256];
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		const struct json_val *root = NULL;
		struct diag d = {{0}};
		int rc = json_parse(doc, valid[i].in, strlen(valid[i].in), 0,
				    NULL, &root, &d);
		if (rc != ST_OK)
			fail_msg("%s: %d %s", valid[i].in, rc, d.msg);
		assert_non_null(root);
		assert_int_equal(root->type, valid[i].type);
		compact(root, got, sizeof(got));
		if (strcmp(got, valid[i].out) != 0)
			fail_msg("%s: got %s, want %s", valid[i].in, got,
				 valid[i].out);
	}
}

static void test_values(void **state)
{
	struct json_doc *doc = *state;
	const char *in = "{\"s\":\"a\\u0000b\",\"i\":-7,\"d\":0.25,"
			 "\"big\":18446744073709551615,\"arr\":[1,2,3]}";
	const struct json_val *root;
	assert_int_equal(json_parse(doc, in, strlen(in), 0, NULL, &root, NULL),
			 ST_OK);
	const struct json_val *s = json_get(root, "s");
	assert_non_null(s);
	assert_int_equal(s->len, 3);
	assert_memory_equal(s->u.str, "a\0b", 3);
	const struct json_val *i = json_get(root, "i");
	assert_true(i->u.num.is_int);
	assert_int_equal(i->u.num.i, -7);
	assert_true(i->u.num.d == -7.0);
	const struct json_val *d = json_get(root, "d");
	assert_false(d->u.num.is_int);
	assert_true(d->u.num.d == 0.25);
	/* Beyond int64: a double, not is_int. */
	const struct json_val *big = json_get(root, "big");
	assert_false(big->u.num.is_int);
	assert_true(big->u.num.d == 18446744073709551615.0);
	const struct json_val *arr = json_get(root, "arr");
	assert_int_equal(arr->type, JSON_ARRAY);
	assert_int_equal(arr->len, 3);
	assert_int_equal(arr->u.items[2].u.num.i, 3);
	/* Members stay in document order. */
	assert_string_equal(root->u.members[0].key, "s");
	assert_string_equal(root->u.members[4].key, "arr");
	assert_null(json_get(root, "missing"));
	assert_null(json_get(arr, "s"));
	assert_null(json_get(NULL, "s"));
	assert_true(json_str_eq(json_get(root, "s"), "a") == false);
	assert_false(json_str_eq(i, "-7"));
	assert_false(json_str_eq(NULL, ""));
}

static void test_str_eq(void **state)
{
	struct json_doc *doc = *state;
	const struct json_val *root;
	assert_int_equal(
	    json_parse(doc, "{\"type\":\"bundle\"}", 17, 0, NULL, &root, NULL),
	    ST_OK);
	assert_true(json_str_eq(json_get(root, "type"), "bundle"));
	assert_false(json_str_eq(json_get(root, "type"), "bundl"));
	assert_false(json_str_eq(json_get(root, "type"), "bundles"));
}

static void test_type_names(void **state)
{
	(void)state;
	static const struct {
		enum json_type t;
		const char *name;
	} names[] = {
	    {JSON_NULL, "null"},     {JSON_FALSE, "boolean"},
	    {JSON_TRUE, "boolean"},  {JSON_NUMBER, "number"},
	    {JSON_STRING, "string"}, {JSON_ARRAY, "array"},
	    {JSON_OBJECT, "object"},
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_string_equal(json_type_name(names[i].t), names[i].name);
}

/* One json_doc parses many documents; padded input parses in place. */
static void test_reuse_and_padding(void **state)
{
	struct json_doc *doc = *state;
	char *text = calloc(1, 100 + JSON_PADDING);
	assert_non_null(text);
	for (int n = 0; n < 50; n++) {
		int len = snprintf(text, 100, "{\"n\":%d,\"s\":\"v%d\"}", n, n);
		const struct json_val *root;
		memset(text + len, 'x', JSON_PADDING); /* any content */
		assert_int_equal(json_parse(doc, text, (size_t)len,
					    JSON_PARSE_PADDED, NULL, &root,
					    NULL),
				 ST_OK);
		assert_int_equal(json_get(root, "n")->u.num.i, n);
	}
	free(text);
}

/* ------------------------------------------------------------------ */
/* Rejections                                                           */
/* ------------------------------------------------------------------ */

static const struct {
	const char *name;
	const char *in;
	int rc;
	const char *msg; /* a substring of the message */
} invalid[] = {
    {"empty", "", ST_EJSON, "at byte 0: empty document"},
    {"blank", "  \n", ST_EJSON, "empty document"},
    {"trailing content", "[1] x", ST_EJSON, "at byte 4:"},
    {"second value", "{} {}", ST_EJSON, "at byte 3:"},
    {"extra bracket", "[1,2]]", ST_EJSON, "at byte 5:"},
    {"bad literal", "{\"k\":nul}", ST_EJSON, "at byte 5:"},
    {"bad atom", "tru", ST_EJSON, "at byte 0:"},
    {"leading zero", "[01]", ST_EJSON, "at byte 1: invalid"},
    {"number out of range", "[1e400]", ST_EJSON, "at byte 1: invalid"},
    {"integer beyond 64 bits", "18446744073709551616", ST_EJSON,
     "at byte 0: invalid"},
    {"invalid UTF-8", "\"\xff\"", ST_EJSON, "at byte 1: invalid UTF-8"},
    {"truncated UTF-8", "[1,\"\xc3\"]", ST_EJSON, "at byte 4: invalid UTF-8"},
    {"overlong UTF-8", "[\"\xc0\xaf\"]", ST_EJSON, "at byte 2: invalid UTF-8"},
    {"UTF-8 surrogate", "[\"ab\xed\xa0\x80\"]", ST_EJSON,
     "at byte 4: invalid UTF-8"},
    {"lone high surrogate", "\"\\ud800\"", ST_EJSON, "lone surrogate"},
    {"lone low surrogate", "[\"\\udc00x\"]", ST_EJSON,
     "at byte 1: invalid string (bad escape or lone surrogate)"},
    {"bad escape", "[\"\\x\"]", ST_EJSON, "at byte 1: invalid string"},
    {"raw control in string", "[\"a\tb\"]", ST_EJSON, "at byte"},
    {"duplicate key", "{\"a\":1,\"a\":2}", ST_EJSON,
     "at byte 7: duplicate key \"a\""},
    {"duplicate nested key", "[{\"x\":{\"b\":1,\"c\":2,\"b\":3}}]", ST_EJSON,
     "at byte 19: duplicate key \"b\""},
    {"duplicate key, escaped", "{\"ab\":1,\"a\\u0062\":2}", ST_EJSON,
     "at byte 8: duplicate key \"ab\""},
    {"trailing comma", "{\"a\":1,}", ST_EJSON, "at byte"},
    {"missing colon", "{\"a\" 1}", ST_EJSON, "at byte"},
    {"truncated", "[1,2", ST_EJSON, "at byte"},
    {"single quotes", "['a']", ST_EJSON, "at byte 1:"},
    {"NaN", "[NaN]", ST_EJSON, "at byte 1"},
};

static void test_invalid(void **state)
{
	struct json_doc *doc = *state;
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		const struct json_val *root = (const struct json_val *)1;
		struct diag d = {{0}};
		int rc = json_parse(doc, invalid[i].in, strlen(invalid[i].in),
				    0, NULL, &root, &d);
		if (rc != invalid[i].rc)
			fail_msg("%s: rc %d, want %d (%s)", invalid[i].name, rc,
				 invalid[i].rc, d.msg);
		assert_null(root);
		if (strstr(d.msg, invalid[i].msg) == NULL)
			fail_msg("%s: message <%s> lacks <%s>", invalid[i].name,
				 d.msg, invalid[i].msg);
	}
}

/* Objects of more than 12 members take the sorting path. */
static void test_duplicate_in_large_object(void **state)
{
	struct json_doc *doc = *state;
	char in[2048];
	for (int dup = 0; dup < 2; dup++) {
		size_t o = 0;
		o += (size_t)snprintf(in + o, sizeof(in) - o, "{");
		for (int k = 0; k < 40; k++)
			o += (size_t)snprintf(in + o, sizeof(in) - o,
					      "%s\"key%02d\":%d", k ? "," : "",
					      dup && k == 33 ? 7 : k, k);
		snprintf(in + o, sizeof(in) - o, "}");
		const struct json_val *root;
		struct diag d = {{0}};
		int rc = json_parse(doc, in, strlen(in), 0, NULL, &root, &d);
		if (!dup) {
			assert_int_equal(rc, ST_OK);
			assert_int_equal(root->len, 40);
			continue;
		}
		assert_int_equal(rc, ST_EJSON);
		assert_non_null(strstr(d.msg, "duplicate key \"key07\""));
		/* The offset is the second "key07". */
		char want[64];
		snprintf(want, sizeof(want), "at byte %td:",
			 strstr(strstr(in, "\"key07\"") + 1, "\"key07\"") - in);
		if (strstr(d.msg, want) == NULL)
			fail_msg("message <%s> lacks <%s>", d.msg, want);
	}
}

/* ------------------------------------------------------------------ */
/* Limits                                                               */
/* ------------------------------------------------------------------ */

static void test_limits(void **state)
{
	struct json_doc *doc = *state;
	const struct json_limits lim = {32, 3, 5, 4};
	static const struct {
		const char *in;
		int rc;
		const char *msg;
	} rows[] = {
	    {"[[[1]]]", ST_OK, NULL},
	    {"[[[[1]]]]", ST_ELIMIT, "nesting deeper than 3"},
	    {"{\"a\":{\"b\":{\"c\":{}}}}", ST_ELIMIT, "nesting deeper"},
	    {"\"12345\"", ST_OK, NULL},
	    {"\"123456\"", ST_ELIMIT, "string of 6 bytes"},
	    {"{\"12345\":1}", ST_OK, NULL},
	    {"{\"123456\":1}", ST_ELIMIT, "key of 6 bytes"},
	    {"[1,2,3,4]", ST_OK, NULL},
	    {"[1,2,3,4,5]", ST_ELIMIT, "array of 5 items"},
	    {"{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5}", ST_ELIMIT,
	     "object of 5 members"},
	    {"[                              1]", ST_ELIMIT,
	     "document of 33 bytes exceeds the limit of 32"},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct json_val *root;
		struct diag d = {{0}};
		int rc = json_parse(doc, rows[i].in, strlen(rows[i].in), 0,
				    &lim, &root, &d);
		if (rc != rows[i].rc)
			fail_msg("%s: rc %d, want %d (%s)", rows[i].in, rc,
				 rows[i].rc, d.msg);
		if (rows[i].msg != NULL && strstr(d.msg, rows[i].msg) == NULL)
			fail_msg("%s: message <%s> lacks <%s>", rows[i].in,
				 d.msg, rows[i].msg);
	}
}

/* The default limits: depth 64 passes, 65 does not. */
static void test_default_depth(void **state)
{
	struct json_doc *doc = *state;
	char in[200];
	for (int depth = 64; depth <= 65; depth++) {
		memset(in, '[', (size_t)depth);
		memset(in + depth, ']', (size_t)depth);
		const struct json_val *root;
		int rc = json_parse(doc, in, (size_t)depth * 2, 0, NULL, &root,
				    NULL);
		assert_int_equal(rc, depth == 64 ? ST_OK : ST_ELIMIT);
	}
	assert_int_equal(JSON_LIMITS_DEFAULT.max_depth, 64);
	assert_int_equal(JSON_LIMITS_DEFAULT.max_bytes, 16u << 20);
}

/* A document that nests far deeper than any limit, and is broken: the
 * error is found and placed without a recursion as deep as the input
 * (run on a thread with a small stack: 256 KiB, 4 MiB under ASan, whose
 * frames are many times larger). */
#if defined(__SANITIZE_ADDRESS__)
#define DEEP_STACK ((size_t)4 << 20)
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DEEP_STACK ((size_t)4 << 20)
#endif
#endif
#ifndef DEEP_STACK
#define DEEP_STACK ((size_t)256 << 10)
#endif
struct deep_arg {
	int rc;
	char msg[DIAG_MAX];
};

static void *deep_main(void *p)
{
	struct deep_arg *a = p;
	size_t n = 100000;
	char *in = malloc(n + 1);
	struct json_doc *doc = json_doc_new();
	if (in == NULL || doc == NULL) {
		a->rc = ST_ENOMEM;
		goto out;
	}
	memset(in, '[', n);
	in[n] = '}';
	struct json_limits lim = JSON_LIMITS_DEFAULT;
	const struct json_val *root;
	struct diag d = {""};
	a->rc = json_parse(doc, in, n + 1, 0, &lim, &root, &d);
	snprintf(a->msg, sizeof(a->msg), "%s", d.msg);
out:
	json_doc_free(doc);
	free(in);
	return NULL;
}

static void test_deep_broken_nesting(void **state)
{
	(void)state;
	pthread_attr_t at;
	pthread_t th;
	struct deep_arg a = {0, ""};
	pthread_attr_init(&at);
	pthread_attr_setstacksize(&at, DEEP_STACK);
	assert_int_equal(pthread_create(&th, &at, deep_main, &a), 0);
	pthread_join(th, NULL);
	pthread_attr_destroy(&at);
	assert_true(a.rc == ST_EJSON || a.rc == ST_ELIMIT);
	assert_true(a.msg[0] != '\0');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid),
	    cmocka_unit_test(test_values),
	    cmocka_unit_test(test_str_eq),
	    cmocka_unit_test(test_type_names),
	    cmocka_unit_test(test_reuse_and_padding),
	    cmocka_unit_test(test_invalid),
	    cmocka_unit_test(test_duplicate_in_large_object),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_default_depth),
	    cmocka_unit_test(test_deep_broken_nesting),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
