/*
 * Unit tests of the RFC 8785 canonicaliser (json_canonical), ECMAScript
 * number formatting (json_fmt_number) and the UTF-16 key order
 * (json_key_cmp).
 *
 * tests/data/jcs holds the cyberphone/json-canonicalization test vectors;
 * tests/data/golden holds STIX objects and their canonical form, checked
 * byte for byte. To regenerate the golden outputs after an intended
 * change, run the test with STRAIT_REGEN_GOLDEN=1 (or build the
 * regen_golden_jcs target) and review the diff.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/json.h"
#include "common/uuid.h"

#include <math.h>
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

/* Reads TEST_DATA_DIR/rel; NULL if it does not exist. */
static char *read_data(const char *rel, size_t *len)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", TEST_DATA_DIR, rel);
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	struct buf b = BUF_INIT(1 << 24);
	char tmp[4096];
	size_t n;
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		assert_int_equal(buf_add(&b, tmp, n), ST_OK);
	fclose(f);
	return buf_take(&b, len);
}

static void write_data(const char *rel, const char *data, size_t len)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", TEST_DATA_DIR, rel);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

/* Parses text and appends its canonical form to out. */
static int canon_text(struct json_doc *doc, const char *text, size_t len,
		      struct buf *out, struct diag *d)
{
	const struct json_val *root;
	int rc = json_parse(doc, text, len, 0, NULL, &root, d);
	if (rc != ST_OK)
		return rc;
	return json_canonical(root, out, d);
}

/* ------------------------------------------------------------------ */
/* Published test vectors and golden files                              */
/* ------------------------------------------------------------------ */

static void check_file_pair(struct json_doc *doc, const char *in_rel,
			    const char *out_rel, bool regen)
{
	size_t inlen, wantlen = 0;
	char *in = read_data(in_rel, &inlen);
	if (in == NULL)
		fail_msg("missing %s", in_rel);
	struct buf got = BUF_INIT(1 << 24);
	struct diag d = {{0}};
	int rc = canon_text(doc, in, inlen, &got, &d);
	if (rc != ST_OK)
		fail_msg("%s: %d %s", in_rel, rc, d.msg);
	if (regen) {
		write_data(out_rel, got.data, got.len);
	} else {
		char *want = read_data(out_rel, &wantlen);
		if (want == NULL)
			fail_msg("missing %s", out_rel);
		if (got.len != wantlen || memcmp(got.data, want, wantlen) != 0)
			fail_msg("%s:\n got: %s\nwant: %.*s", in_rel, got.data,
				 (int)wantlen, want);
		free(want);
	}
	/* Canonical form is a fixed point. */
	struct buf again = BUF_INIT(1 << 24);
	assert_int_equal(canon_text(doc, got.data, got.len, &again, &d), ST_OK);
	assert_int_equal(again.len, got.len);
	assert_memory_equal(again.data, got.data, got.len);
	buf_free(&again);
	buf_free(&got);
	free(in);
}

static void test_vectors(void **state)
{
	static const char *const names[] = {
	    "arrays", "french", "structures",	"unicode",
	    "values", "weird",	"simpleString",
	};
	char in[256], out[256];
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(in, sizeof(in), "jcs/input/%s.json", names[i]);
		snprintf(out, sizeof(out), "jcs/output/%s.json", names[i]);
		check_file_pair(*state, in, out, false);
	}
}

static void test_golden(void **state)
{
	static const char *const names[] = {
	    "indicator",	  "identity", "ipv4-addr",
	    "marking-definition", "bundle",
	};
	const char *env = getenv("STRAIT_REGEN_GOLDEN");
	bool regen = env != NULL && strcmp(env, "1") == 0;
	char in[256], out[256];
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(in, sizeof(in), "golden/%s.json", names[i]);
		snprintf(out, sizeof(out), "golden/%s.canonical.json",
			 names[i]);
		check_file_pair(*state, in, out, regen);
	}
}

/*
 * Deterministic SCO ids: the UUIDv5 of the canonical id-contributing
 * properties. Expected ids from cti-python-stix2's test suite
 * (test_deterministic_ids.py); the inputs are deliberately unsorted.
 */
static void test_sco_ids(void **state)
{
	static const struct {
		const char *props;
		const char *uuid;
	} ids[] = {
	    {"{\"values\": [{\"name\": \"Foo\", \"data\": \"qwerty\"},\n"
	     "  {\"name\": \"Bar\", \"data\": \"42\"}]}",
	     "36594eba-bcc7-5014-9835-0e154264e588"},
	    {"{\"name\":\"example.exe\",\"hashes\":{\"SHA-256\":"
	     "\"841a8921140aba50671ebb0770fecc4ee308c4952cfeff8de154ab14eeef"
	     "4649\"},\"extensions\":{\"windows-pebinary-ext\":{\"pe_type\":"
	     "\"exe\",\"machine_hex\":\"014c\",\"sections\":[{\"name\":"
	     "\".data\",\"size\":4096,\"entropy\":7.980693,\"hashes\":"
	     "{\"SHA-256\":\"6e3b6f3978e5cd96ba7abee35c24e867b7e64072e2ecb2"
	     "2d0ee7a6e6af6894d0\"}}]}}}",
	     "ced31cd4-bdcb-537d-aefa-92d291bfc11d"},
	    {"{ \"value\" : \"198.51.100.3\" }",
	     "28bb3599-77cd-5a82-a950-b5bc3caf07c4"},
	};
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		struct buf b = BUF_INIT(4096);
		uint8_t u[16];
		char s[UUID_STRLEN + 1];
		assert_int_equal(canon_text(*state, ids[i].props,
					    strlen(ids[i].props), &b, NULL),
				 ST_OK);
		uuid_v5(UUID_NS_STIX, b.data, b.len, u);
		uuid_format(u, s);
		if (strcmp(s, ids[i].uuid) != 0)
			fail_msg("%s: got %s, want %s", b.data, s, ids[i].uuid);
		buf_free(&b);
	}
}

/* ------------------------------------------------------------------ */
/* Numbers                                                              */
/* ------------------------------------------------------------------ */

/* RFC 8785 Appendix B: IEEE 754 bits and their serialisation. */
static const struct {
	uint64_t bits;
	const char *want; /* NULL: NaN or infinity */
} appendix_b[] = {
    {0x0000000000000000, "0"},
    {0x8000000000000000, "0"},
    {0x0000000000000001, "5e-324"},
    {0x8000000000000001, "-5e-324"},
    {0x7fefffffffffffff, "1.7976931348623157e+308"},
    {0xffefffffffffffff, "-1.7976931348623157e+308"},
    {0x4340000000000000, "9007199254740992"},
    {0xc340000000000000, "-9007199254740992"},
    {0x4430000000000000, "295147905179352830000"},
    {0x7fffffffffffffff, NULL},
    {0x7ff0000000000000, NULL},
    {0xfff0000000000000, NULL},
    {0x44b52d02c7e14af5, "9.999999999999997e+22"},
    {0x44b52d02c7e14af6, "1e+23"},
    {0x44b52d02c7e14af7, "1.0000000000000001e+23"},
    {0x444b1ae4d6e2ef4e, "999999999999999700000"},
    {0x444b1ae4d6e2ef4f, "999999999999999900000"},
    {0x444b1ae4d6e2ef50, "1e+21"},
    {0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"},
    {0x3eb0c6f7a0b5ed8d, "0.000001"},
    {0x41b3de4355555553, "333333333.3333332"},
    {0x41b3de4355555554, "333333333.33333325"},
    {0x41b3de4355555555, "333333333.3333333"},
    {0x41b3de4355555556, "333333333.3333334"},
    {0x41b3de4355555557, "333333333.33333343"},
    {0xbecbf647612f3696, "-0.0000033333333333333333"},
    {0x43143ff3c1cb0959, "1424953923781206.2"},
    /* From the es6testfile samples. */
    {0x4340000000000001, "9007199254740994"},
    {0x4340000000000002, "9007199254740996"},
};

static void test_numbers_appendix_b(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(appendix_b) / sizeof(appendix_b[0]);
	     i++) {
		double v;
		char out[32];
		memcpy(&v, &appendix_b[i].bits, sizeof(v));
		int n = json_fmt_number(v, out);
		if (appendix_b[i].want == NULL) {
			assert_int_equal(n, -1);
			continue;
		}
		if (n < 0 || strcmp(out, appendix_b[i].want) != 0 ||
		    (size_t)n != strlen(out))
			fail_msg("%016llx: got %s, want %s",
				 (unsigned long long)appendix_b[i].bits,
				 n < 0 ? "-1" : out, appendix_b[i].want);
	}
}

static void test_numbers_es(void **state)
{
	(void)state;
	static const struct {
		double v;
		const char *want;
	} rows[] = {
	    {0.0, "0"},
	    {-0.0, "0"},
	    {1.0, "1"},
	    {-1.0, "-1"},
	    {0.5, "0.5"},
	    {-1.5, "-1.5"},
	    {100.0, "100"},
	    {1e20, "100000000000000000000"},
	    {1e21, "1e+21"},
	    {1.5e21, "1.5e+21"},
	    {123456789012345680000.0, "123456789012345680000"},
	    {1e-6, "0.000001"},
	    {1.5e-6, "0.0000015"},
	    {1e-7, "1e-7"},
	    {1.2345e-7, "1.2345e-7"},
	    {123e-20, "1.23e-18"},
	    {5e-324, "5e-324"},
	    {2.2250738585072014e-308, "2.2250738585072014e-308"},
	    {1.7976931348623157e308, "1.7976931348623157e+308"},
	    {0.1, "0.1"},
	    {0.1 + 0.2, "0.30000000000000004"},
	    {1.0 / 3.0, "0.3333333333333333"},
	    {2.0 / 3.0, "0.6666666666666666"},
	    {9007199254740991.0, "9007199254740991"},
	    {-9007199254740991.0, "-9007199254740991"},
	    {9007199254740992.0, "9007199254740992"},
	    {18446744073709551616.0, "18446744073709552000"},
	    {4.35, "4.35"},
	    {0.000021, "0.000021"},
	    {37.5665, "37.5665"},
	    {126.978, "126.978"},
	    {1e300, "1e+300"},
	    {-1e-300, "-1e-300"},
	    {0.25, "0.25"},
	    {1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0 *
		 1024.0,
	     "1.2089258196146292e+24"},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char out[32];
		int n = json_fmt_number(rows[i].v, out);
		if (n < 0 || strcmp(out, rows[i].want) != 0)
			fail_msg("%.17g: got %s, want %s", rows[i].v,
				 n < 0 ? "-1" : out, rows[i].want);
		assert_int_equal((size_t)n, strlen(out));
	}
	char out[32];
	assert_int_equal(json_fmt_number(NAN, out), -1);
	assert_int_equal(json_fmt_number(INFINITY, out), -1);
	assert_int_equal(json_fmt_number(-INFINITY, out), -1);
}

/* Number text through the parser into canonical form. */
static void test_numbers_text(void **state)
{
	static const struct {
		const char *in;
		int rc;
		const char *want;
	} rows[] = {
	    {"[1E30, 4.50, 2e-3, 0.000001, 1e-7, "
	     "0.000000000000000000000000001]",
	     ST_OK, "[1e+30,4.5,0.002,0.000001,1e-7,1e-27]"},
	    {"[333333333.33333329]", ST_OK, "[333333333.3333333]"},
	    {"[-0, -0.0, 0e5, 1.0, 100e-2, 10E-1]", ST_OK, "[0,0,0,1,1,1]"},
	    {"[9007199254740991, -9007199254740991]", ST_OK,
	     "[9007199254740991,-9007199254740991]"},
	    {"[9007199254740992]", ST_ERANGE, NULL},
	    {"[9007199254740993]", ST_ERANGE, NULL},
	    {"[-9007199254740993]", ST_ERANGE, NULL},
	    {"{\"x\":[1,{\"y\":9223372036854775807}]}", ST_ERANGE, NULL},
	    /* Doubles that would be written as integers beyond 2^53-1
		 * (json_parse would refuse or reject them when read back). */
	    {"[9007199254740991.0, 9.007199254740991e15]", ST_OK,
	     "[9007199254740991,9007199254740991]"},
	    {"[9007199254740993.0]", ST_ERANGE, NULL},
	    {"[-9.007199254740992e15]", ST_ERANGE, NULL},
	    {"[1e20]", ST_ERANGE, NULL},
	    {"[999999999999999900000.0]", ST_ERANGE, NULL},
	    {"[1e21, -1e21, 1.5e300]", ST_OK, "[1e+21,-1e+21,1.5e+300]"},
	    /* Beyond int64 the parser gives a double, not is_int. */
	    {"[18446744073709551615]", ST_ERANGE, NULL},
	    {"[0.1, 0.2, 0.30000000000000004]", ST_OK,
	     "[0.1,0.2,0.30000000000000004]"},
	    {"[5e-324, 1.7976931348623157e308]", ST_OK,
	     "[5e-324,1.7976931348623157e+308]"},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct buf b = BUF_INIT(4096);
		struct diag d = {{0}};
		int rc =
		    canon_text(*state, rows[i].in, strlen(rows[i].in), &b, &d);
		if (rc != rows[i].rc)
			fail_msg("%s: rc %d, want %d (%s)", rows[i].in, rc,
				 rows[i].rc, d.msg);
		if (rows[i].want != NULL)
			assert_string_equal(b.data, rows[i].want);
		else
			assert_int_equal(b.len, 0);
		buf_free(&b);
	}
}

/* ------------------------------------------------------------------ */
/* Key order                                                            */
/* ------------------------------------------------------------------ */

static void test_key_cmp(void **state)
{
	(void)state;
	static const struct {
		const char *a, *b;
		size_t alen, blen;
		int want; /* sign */
	} rows[] = {
	    {"a", "b", 1, 1, -1},
	    {"", "a", 0, 1, -1},
	    {"a", "a", 1, 1, 0},
	    {"ab", "a", 2, 1, 1},
	    {"A", "a", 1, 1, -1},
	    {"10", "1", 2, 1, 1},
	    {"a\0b", "a\0c", 3, 3, -1},
	    {"a\0", "a", 2, 1, 1},
	    {"created", "created_by_ref", 7, 14, -1},
	    {"spec_version_x1", "spec_version_x2", 15, 15, -1},
	    /* U+00F6 < U+20AC (both BMP) */
	    {"\xc3\xb6", "\xe2\x82\xac", 2, 3, -1},
	    /* U+D7FF < U+10000 (D800 in UTF-16) */
	    {"\xed\x9f\xbf", "\xf0\x90\x80\x80", 3, 4, -1},
	    /* U+10000 (D800) < U+E000: UTF-8 order says otherwise */
	    {"\xf0\x90\x80\x80", "\xee\x80\x80", 4, 3, -1},
	    /* U+1F602 (D83D) < U+FB33 */
	    {"\xf0\x9f\x98\x82", "\xef\xac\xb3", 4, 3, -1},
	    /* U+FFFF > U+10FFFF (DBFF DFFF) */
	    {"\xef\xbf\xbf", "\xf4\x8f\xbf\xbf", 3, 4, 1},
	    /* U+1F600 < U+1F602 */
	    {"\xf0\x9f\x98\x80", "\xf0\x9f\x98\x82", 4, 4, -1},
	    /* U+0080 < U+00F6 */
	    {"\xc2\x80", "\xc3\xb6", 2, 2, -1},
	    /* the long-prefix path */
	    {"0123456789abcdefX", "0123456789abcdefY", 17, 17, -1},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int r = json_key_cmp(rows[i].a, rows[i].alen, rows[i].b,
				     rows[i].blen);
		int back = json_key_cmp(rows[i].b, rows[i].blen, rows[i].a,
					rows[i].alen);
		int sign = (r > 0) - (r < 0);
		if (sign != rows[i].want)
			fail_msg("row %zu: %d, want %d", i, r, rows[i].want);
		assert_int_equal((back > 0) - (back < 0), -rows[i].want);
	}
}

/* Keys of every UTF-8 length, sorted; each pair compares consistently. */
static void test_key_sort(void **state)
{
	static const char *const want =
	    "{\"\":0,\"\\t\":0,\"A\":0,\"a\":0,\"aa\":0,\"\xc2\x80\":0,"
	    "\"\xdf\xbf\":0,\"\xe0\xa0\x80\":0,\"\xed\x9f\xbf\":0,"
	    "\"\xf0\x90\x80\x80\":0,\"\xf0\x9f\x98\x80\":0,"
	    "\"\xf4\x8f\xbf\xbf\":0,\"\xee\x80\x80\":0,"
	    "\"\xef\xbf\xbd\":0,\"\xef\xbf\xbf\":0}";
	const char *in =
	    "{\"\xef\xbf\xbf\":0,\"\xf4\x8f\xbf\xbf\":0,\"aa\":0,"
	    "\"\xee\x80\x80\":0,\"\xc2\x80\":0,\"\":0,\"\xed\x9f\xbf\":0,"
	    "\"\xf0\x9f\x98\x80\":0,\"a\":0,\"\xdf\xbf\":0,\"\\t\":0,"
	    "\"\xef\xbf\xbd\":0,\"\xe0\xa0\x80\":0,\"A\":0,"
	    "\"\xf0\x90\x80\x80\":0}";
	struct buf b = BUF_INIT(4096);
	assert_int_equal(canon_text(*state, in, strlen(in), &b, NULL), ST_OK);
	assert_string_equal(b.data, want);
	buf_free(&b);
}

/* More members than the insertion sort handles: the qsort path. */
static void test_large_object(void **state)
{
	struct buf in = BUF_INIT(1 << 20), want = BUF_INIT(1 << 20);
	struct buf got = BUF_INIT(1 << 20);
	assert_int_equal(buf_adds(&in, "{"), ST_OK);
	for (int k = 199; k >= 0; k--)
		assert_int_equal(buf_printf(&in, "%s\"k%03d\" : %d",
					    k == 199 ? "" : ", ", k, k),
				 ST_OK);
	assert_int_equal(buf_adds(&in, "}"), ST_OK);
	assert_int_equal(buf_adds(&want, "{"), ST_OK);
	for (int k = 0; k < 200; k++)
		assert_int_equal(
		    buf_printf(&want, "%s\"k%03d\":%d", k ? "," : "", k, k),
		    ST_OK);
	assert_int_equal(buf_adds(&want, "}"), ST_OK);
	assert_int_equal(canon_text(*state, in.data, in.len, &got, NULL),
			 ST_OK);
	assert_string_equal(got.data, want.data);
	buf_free(&in);
	buf_free(&want);
	buf_free(&got);
}

/* A hand-built tree with equal keys is refused (small and large). */
static void test_duplicate_keys(void **state)
{
	(void)state;
	for (uint32_t n = 3; n <= 60; n += 57) {
		struct json_member *m = calloc(n, sizeof(*m));
		char(*keys)[8] = calloc(n, sizeof(*keys));
		assert_non_null(m);
		assert_non_null(keys);
		for (uint32_t i = 0; i < n; i++) {
			snprintf(keys[i], sizeof(keys[i]), "k%u",
				 i == n - 1 ? 1 : i);
			m[i].key = keys[i];
			m[i].klen = (uint32_t)strlen(keys[i]);
			m[i].val.type = JSON_NULL;
		}
		struct json_val obj = {.type = JSON_OBJECT, .len = n};
		obj.u.members = m;
		struct buf b = BUF_INIT(4096);
		struct diag d = {{0}};
		assert_int_equal(json_canonical(&obj, &b, &d), ST_EJSON);
		assert_non_null(strstr(d.msg, "duplicate key"));
		assert_int_equal(b.len, 0);
		buf_free(&b);
		free(keys);
		free(m);
	}
}

/* On error the output buffer is as it was. */
static void test_error_keeps_buffer(void **state)
{
	static const struct {
		const char *in;
		size_t max;
		int rc;
		const char *msg;
	} rows[] = {
	    {"{\"a\":\"b\",\"c\":[1,2,9007199254740993]}", 4096, ST_ERANGE,
	     "\"c\": [2]: integer 9007199254740993 is outside"},
	    {"{\"a\":\"a long string that does not fit\"}", 20, ST_ELIMIT,
	     "exceeds the limit of 20 bytes"},
	    {"[\"exact\"]", 15, ST_OK, NULL},
	    {"[\"exact!\"]", 15, ST_ELIMIT, "exceeds"},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct buf b = BUF_INIT(rows[i].max);
		struct diag d = {{0}};
		assert_int_equal(buf_adds(&b, "PREFIX"), ST_OK);
		int rc =
		    canon_text(*state, rows[i].in, strlen(rows[i].in), &b, &d);
		if (rc != rows[i].rc)
			fail_msg("%s: rc %d (%s)", rows[i].in, rc, d.msg);
		if (rc == ST_OK) {
			assert_true(b.len > 6);
		} else {
			assert_int_equal(b.len, 6);
			assert_string_equal(b.data, "PREFIX");
			if (strstr(d.msg, rows[i].msg) == NULL)
				fail_msg("message <%s> lacks <%s>", d.msg,
					 rows[i].msg);
		}
		buf_free(&b);
	}
}

/* NaN in a hand-built tree; and canonical form appends. */
static void test_nan_and_append(void **state)
{
	(void)state;
	struct json_val v = {.type = JSON_NUMBER};
	v.u.num.d = NAN;
	struct buf b = BUF_INIT(64);
	assert_int_equal(json_canonical(&v, &b, NULL), ST_ERANGE);
	v.u.num.d = 2.5;
	assert_int_equal(json_canonical(&v, &b, NULL), ST_OK);
	assert_int_equal(json_canonical(&v, &b, NULL), ST_OK);
	assert_string_equal(b.data, "2.52.5");
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vectors),
	    cmocka_unit_test(test_golden),
	    cmocka_unit_test(test_sco_ids),
	    cmocka_unit_test(test_numbers_appendix_b),
	    cmocka_unit_test(test_numbers_es),
	    cmocka_unit_test(test_numbers_text),
	    cmocka_unit_test(test_key_cmp),
	    cmocka_unit_test(test_key_sort),
	    cmocka_unit_test(test_large_object),
	    cmocka_unit_test(test_duplicate_keys),
	    cmocka_unit_test(test_error_keeps_buffer),
	    cmocka_unit_test(test_nan_and_append),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
