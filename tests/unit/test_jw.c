/*
 * Unit tests of the streaming JSON writer (jw_* in src/common/json_write.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Escaping                                                             */
/* ------------------------------------------------------------------ */

#define S(lit) lit, sizeof(lit) - 1

static const struct {
	const char *in;
	size_t len;
	const char *want; /* NULL: rejected with ST_EINVAL */
	size_t wantlen;
} strings[] = {
    {S(""), S("\"\"")},
    {S("plain ascii text"), S("\"plain ascii text\"")},
    {S("\""), S("\"\\\"\"")},
    {S("\\"), S("\"\\\\\"")},
    {S("/"), S("\"/\"")},
    {S("\b\f\n\r\t"), S("\"\\b\\f\\n\\r\\t\"")},
    {S("\0"), S("\"\\u0000\"")},
    {S("a\0b"), S("\"a\\u0000b\"")},
    {S("\x01\x0b\x0e\x1a\x1f"), S("\"\\u0001\\u000b\\u000e\\u001a\\u001f\"")},
    {S(" \x7f~"), S("\" \x7f~\"")},
    /* Non-ASCII passes through as UTF-8, U+2028/2029 included. */
    {S("\xc3\xa9t\xc3\xa9"), S("\"\xc3\xa9t\xc3\xa9\"")},
    {S("\xe2\x80\xa8\xe2\x80\xa9"), S("\"\xe2\x80\xa8\xe2\x80\xa9\"")},
    {S("\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4"),
     S("\"\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4\"")},
    {S("\xf0\x9f\x98\x82"), S("\"\xf0\x9f\x98\x82\"")},
    {S("\xef\xbf\xbf\xf4\x8f\xbf\xbf"), S("\"\xef\xbf\xbf\xf4\x8f\xbf\xbf\"")},
    /* Escapes at every position of an 8-byte word, and after one. */
    {S("0123456\"89abcdef\\ghijklmnopqrstu\n"),
     S("\"0123456\\\"89abcdef\\\\ghijklmnopqrstu\\n\"")},
    {S("01234567\xc3\xa9"
       "abcdefgh\tend"),
     S("\"01234567\xc3\xa9"
       "abcdefgh\\tend\"")},
    {S("</script>"), S("\"</script>\"")},
    /* Invalid UTF-8 is refused. */
    {S("\xff"), NULL, 0},
    {S("ok\x80"), NULL, 0},
    {S("\xc0\xaf"), NULL, 0},		    /* overlong '/' */
    {S("\xe0\x80\xaf"), NULL, 0},	    /* overlong */
    {S("\xed\xa0\x80"), NULL, 0},	    /* surrogate U+D800 */
    {S("\xf4\x90\x80\x80"), NULL, 0},	    /* beyond U+10FFFF */
    {S("\xe2\x82"), NULL, 0},		    /* truncated */
    {S("abcdefghij\xf0\x9f\x98"), NULL, 0}, /* truncated at the end */
    {S("\xf8\x88\x80\x80\x80"), NULL, 0},   /* five bytes */
};

static void test_strings(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
		struct buf b = BUF_INIT(4096);
		struct jw w;
		jw_init(&w, &b);
		jw_strn(&w, strings[i].in, strings[i].len);
		int rc = jw_finish(&w);
		if (strings[i].want == NULL) {
			if (rc != ST_EINVAL)
				fail_msg("row %zu: rc %d, want ST_EINVAL", i,
					 rc);
		} else {
			if (rc != ST_OK)
				fail_msg("row %zu: rc %d", i, rc);
			if (b.len != strings[i].wantlen ||
			    memcmp(b.data, strings[i].want, b.len) != 0)
				fail_msg("row %zu: got <%s>, want <%s>", i,
					 b.data, strings[i].want);
		}
		buf_free(&b);
	}
}

/* Every control character: the short form or \u00xx in lowercase. */
static void test_all_controls(void **state)
{
	(void)state;
	for (int c = 0; c < 0x20; c++) {
		char in = (char)c, want[16];
		switch (c) {
		case '\b':
			snprintf(want, sizeof(want), "\"\\b\"");
			break;
		case '\t':
			snprintf(want, sizeof(want), "\"\\t\"");
			break;
		case '\n':
			snprintf(want, sizeof(want), "\"\\n\"");
			break;
		case '\f':
			snprintf(want, sizeof(want), "\"\\f\"");
			break;
		case '\r':
			snprintf(want, sizeof(want), "\"\\r\"");
			break;
		default:
			snprintf(want, sizeof(want), "\"\\u%04x\"", c);
		}
		struct buf b = BUF_INIT(64);
		struct jw w;
		jw_init(&w, &b);
		jw_strn(&w, &in, 1);
		assert_int_equal(jw_finish(&w), ST_OK);
		assert_string_equal(b.data, want);
		buf_free(&b);
	}
}

/* Keys are escaped the same way; jw_keyn takes embedded NULs. */
static void test_keys(void **state)
{
	(void)state;
	struct buf b = BUF_INIT(256);
	struct jw w;
	jw_init(&w, &b);
	jw_obj_open(&w);
	jw_keyn(&w, "a\0b", 3);
	jw_int(&w, 1);
	jw_key(&w, "q\"\n\xc3\xa9");
	jw_null(&w);
	jw_obj_close(&w);
	assert_int_equal(jw_finish(&w), ST_OK);
	assert_string_equal(b.data,
			    "{\"a\\u0000b\":1,\"q\\\"\\n\xc3\xa9\":null}");
	buf_free(&b);
}

/* ------------------------------------------------------------------ */
/* Structure                                                            */
/* ------------------------------------------------------------------ */

static void test_nesting(void **state)
{
	(void)state;
	struct buf b = BUF_INIT(1024);
	struct jw w;
	jw_init(&w, &b);
	jw_obj_open(&w);
	jw_key(&w, "a");
	jw_arr_open(&w);
	jw_int(&w, 1);
	jw_int(&w, -2);
	jw_obj_open(&w);
	jw_key(&w, "b");
	jw_null(&w);
	jw_obj_close(&w);
	jw_arr_open(&w);
	jw_arr_close(&w);
	jw_obj_open(&w);
	jw_obj_close(&w);
	jw_arr_close(&w);
	jw_key(&w, "c");
	jw_bool(&w, true);
	jw_key(&w, "d");
	jw_double(&w, -1.5);
	jw_key(&w, "e");
	jw_bool(&w, false);
	jw_key(&w, "f");
	jw_str(&w, "x");
	jw_key(&w, "g");
	jw_double(&w, 1e21);
	jw_key(&w, "h");
	jw_double(&w, -0.0);
	jw_obj_close(&w);
	assert_int_equal(jw_finish(&w), ST_OK);
	assert_string_equal(b.data,
			    "{\"a\":[1,-2,{\"b\":null},[],{}],\"c\":true,"
			    "\"d\":-1.5,\"e\":false,\"f\":\"x\",\"g\":1e+21,"
			    "\"h\":0}");
	buf_free(&b);
}

static void test_ints(void **state)
{
	(void)state;
	static const struct {
		int64_t v;
		const char *want;
	} rows[] = {
	    {0, "0"},
	    {-1, "-1"},
	    {9, "9"},
	    {10, "10"},
	    {1234567890123, "1234567890123"},
	    {INT64_MAX, "9223372036854775807"},
	    {INT64_MIN, "-9223372036854775808"},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct buf b = BUF_INIT(64);
		struct jw w;
		jw_init(&w, &b);
		jw_int(&w, rows[i].v);
		assert_int_equal(jw_finish(&w), ST_OK);
		assert_string_equal(b.data, rows[i].want);
		buf_free(&b);
	}
}

static void test_raw(void **state)
{
	(void)state;
	struct buf b = BUF_INIT(256);
	struct jw w;
	jw_init(&w, &b);
	jw_obj_open(&w);
	jw_key(&w, "objects");
	jw_arr_open(&w);
	jw_raw(&w, "{\"id\":1}", 8);
	jw_raw(&w, "{\"id\":2}", 8);
	jw_arr_close(&w);
	jw_key(&w, "more");
	jw_raw(&w, "false", 5);
	jw_obj_close(&w);
	assert_int_equal(jw_finish(&w), ST_OK);
	assert_string_equal(
	    b.data, "{\"objects\":[{\"id\":1},{\"id\":2}],\"more\":false}");
	buf_free(&b);
}

/* Misuse is a sticky error; later calls write nothing. */
typedef void (*jw_step)(struct jw *w);

static void s_obj(struct jw *w)
{
	jw_obj_open(w);
}
static void s_obj_end(struct jw *w)
{
	jw_obj_close(w);
}
static void s_arr(struct jw *w)
{
	jw_arr_open(w);
}
static void s_arr_end(struct jw *w)
{
	jw_arr_close(w);
}
static void s_key(struct jw *w)
{
	jw_key(w, "k");
}
static void s_int(struct jw *w)
{
	jw_int(w, 1);
}
static void s_nan(struct jw *w)
{
	jw_double(w, NAN);
}
static void s_inf(struct jw *w)
{
	jw_double(w, -INFINITY);
}
static void s_bad_utf8(struct jw *w)
{
	jw_str(w, "\xc3");
}

static void test_misuse(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		jw_step steps[6];
		int rc;
		const char *out; /* what was written before the error */
	} rows[] = {
	    {"value without key", {s_obj, s_int}, ST_EINVAL, "{"},
	    {"key in array", {s_arr, s_key}, ST_EINVAL, "["},
	    {"key at top level", {s_key}, ST_EINVAL, ""},
	    {"two keys", {s_obj, s_key, s_key}, ST_EINVAL, "{\"k\":"},
	    {"close object with a key pending",
	     {s_obj, s_key, s_obj_end},
	     ST_EINVAL,
	     "{\"k\":"},
	    {"object closed as array", {s_obj, s_arr_end}, ST_EINVAL, "{"},
	    {"array closed as object", {s_arr, s_obj_end}, ST_EINVAL, "["},
	    {"close at top level", {s_arr_end}, ST_EINVAL, ""},
	    {"second top-level value", {s_int, s_int}, ST_EINVAL, "1"},
	    {"unclosed", {s_arr, s_int}, ST_EINVAL, "[1"},
	    {"key without value", {s_obj, s_key}, ST_EINVAL, "{\"k\":"},
	    {"nothing", {NULL}, ST_EINVAL, ""},
	    {"NaN", {s_arr, s_nan, s_int, s_arr_end}, ST_ERANGE, "["},
	    {"infinity", {s_inf}, ST_ERANGE, ""},
	    /* A string is written whole or not at all. */
	    {"invalid UTF-8",
	     {s_arr, s_int, s_bad_utf8, s_arr_end},
	     ST_EINVAL,
	     "[1,"},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct buf b = BUF_INIT(256);
		struct jw w;
		jw_init(&w, &b);
		for (size_t k = 0; k < 6 && rows[i].steps[k] != NULL; k++)
			rows[i].steps[k](&w);
		if (w.err != ST_OK) {
			/* Sticky: nothing more is written. */
			size_t len = b.len;
			jw_str(&w, "after");
			jw_obj_close(&w);
			assert_int_equal(b.len, len);
		}
		int rc = jw_finish(&w);
		if (rc != rows[i].rc)
			fail_msg("%s: rc %d, want %d", rows[i].name, rc,
				 rows[i].rc);
		if (strcmp(b.data ? b.data : "", rows[i].out) != 0)
			fail_msg("%s: wrote <%s>", rows[i].name, b.data);
		buf_free(&b);
	}
}

static void test_depth(void **state)
{
	(void)state;
	struct buf b = BUF_INIT(1024);
	struct jw w;
	jw_init(&w, &b);
	for (int i = 0; i < JW_MAX_DEPTH; i++)
		jw_arr_open(&w);
	assert_int_equal(w.err, ST_OK);
	for (int i = 0; i < JW_MAX_DEPTH; i++)
		jw_arr_close(&w);
	assert_int_equal(jw_finish(&w), ST_OK);
	assert_int_equal(b.len, 2 * JW_MAX_DEPTH);

	buf_reset(&b);
	jw_init(&w, &b);
	for (int i = 0; i <= JW_MAX_DEPTH; i++) {
		jw_obj_open(&w);
		jw_key(&w, "k");
	}
	assert_int_equal(jw_finish(&w), ST_ELIMIT);
	buf_free(&b);
}

/* The buffer cap: ST_ELIMIT, sticky, and the buffer stays within it. */
static void test_cap(void **state)
{
	(void)state;
	for (size_t max = 0; max < 40; max++) {
		struct buf b = BUF_INIT(max);
		struct jw w;
		jw_init(&w, &b);
		jw_arr_open(&w);
		jw_str(&w, "0123456789");
		jw_int(&w, 12345);
		jw_str(&w, "tab\there");
		jw_arr_close(&w);
		/* ["0123456789",12345,"tab\there"] is 32 bytes */
		int rc = jw_finish(&w);
		assert_true(b.len <= max);
		if (max >= 32) {
			assert_int_equal(rc, ST_OK);
			assert_string_equal(b.data, "[\"0123456789\",12345,"
						    "\"tab\\there\"]");
		} else {
			assert_int_equal(rc, ST_ELIMIT);
		}
		buf_free(&b);
	}
}

/* ------------------------------------------------------------------ */
/* jw_value                                                             */
/* ------------------------------------------------------------------ */

static void test_value_round_trip(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		const char *want;
	} rows[] = {
	    {" { \"z\" : [ 1 , 2.50 , -3e2 ] , \"a\" : { \"\" : null } ,"
	     " \"s\" : \"\\u00e9\\u2028\\n\\u0001\\/\" } ",
	     "{\"z\":[1,2.5,-300],\"a\":{\"\":null},"
	     "\"s\":\"\xc3\xa9\xe2\x80\xa8\\n\\u0001/\"}"},
	    {"[true,false,null,\"\",[],{}]", "[true,false,null,\"\",[],{}]"},
	    {"9223372036854775807", "9223372036854775807"},
	    {"\"a\\u0000b\"", "\"a\\u0000b\""},
	};
	struct json_doc *doc = json_doc_new();
	assert_non_null(doc);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct json_val *root;
		struct buf b = BUF_INIT(4096);
		struct jw w;
		assert_int_equal(json_parse(doc, rows[i].in, strlen(rows[i].in),
					    0, NULL, &root, NULL),
				 ST_OK);
		jw_init(&w, &b);
		jw_value(&w, root);
		assert_int_equal(jw_finish(&w), ST_OK);
		assert_string_equal(b.data, rows[i].want);
		/* Written again from its own output: the same bytes. */
		char *first = strdup(b.data);
		assert_int_equal(
		    json_parse(doc, first, strlen(first), 0, NULL, &root, NULL),
		    ST_OK);
		buf_reset(&b);
		jw_init(&w, &b);
		jw_value(&w, root);
		assert_int_equal(jw_finish(&w), ST_OK);
		assert_string_equal(b.data, first);
		free(first);
		buf_free(&b);
	}
	json_doc_free(doc);
}

/* jw_value inside a document being written, and past the depth limit. */
static void test_value_nested(void **state)
{
	(void)state;
	struct json_doc *doc = json_doc_new();
	const struct json_val *root;
	struct buf b = BUF_INIT(4096);
	struct jw w;
	assert_int_equal(
	    json_parse(doc, "{\"b\":[1]}", 9, 0, NULL, &root, NULL), ST_OK);
	jw_init(&w, &b);
	jw_arr_open(&w);
	jw_value(&w, root);
	jw_value(&w, root);
	jw_arr_close(&w);
	assert_int_equal(jw_finish(&w), ST_OK);
	assert_string_equal(b.data, "[{\"b\":[1]},{\"b\":[1]}]");

	/* 64 levels parse; inside one more array they are too deep. */
	char deep[130];
	memset(deep, '[', 64);
	memset(deep + 64, ']', 64);
	assert_int_equal(json_parse(doc, deep, 128, 0, NULL, &root, NULL),
			 ST_OK);
	buf_reset(&b);
	jw_init(&w, &b);
	jw_value(&w, root);
	assert_int_equal(jw_finish(&w), ST_OK);
	buf_reset(&b);
	jw_init(&w, &b);
	jw_arr_open(&w);
	jw_value(&w, root);
	jw_arr_close(&w);
	assert_int_equal(jw_finish(&w), ST_ELIMIT);
	buf_free(&b);
	json_doc_free(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_strings),
	    cmocka_unit_test(test_all_controls),
	    cmocka_unit_test(test_keys),
	    cmocka_unit_test(test_nesting),
	    cmocka_unit_test(test_ints),
	    cmocka_unit_test(test_raw),
	    cmocka_unit_test(test_misuse),
	    cmocka_unit_test(test_depth),
	    cmocka_unit_test(test_cap),
	    cmocka_unit_test(test_value_round_trip),
	    cmocka_unit_test(test_value_nested),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
