/*
 * Unit tests of the small common helpers: timestamps (src/common/time.c),
 * UUIDs (src/common/uuid.c) and wake words (src/common/wake.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/err.h"
#include "common/hash.h"
#include "common/hex.h"
#include "common/time.h"
#include "common/uuid.h"
#include "common/wake.h"

#include <pthread.h>

#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Timestamps                                                           */
/* ------------------------------------------------------------------ */

static const struct {
	const char *in;
	int rc;
	st_time us;	 /* when rc is ST_OK */
	int frac;	 /* fractional digits written */
	const char *out; /* ts_format of the value */
} stamps[] = {
    {"1970-01-01T00:00:00Z", ST_OK, 0, 0, "1970-01-01T00:00:00.000000Z"},
    {"1970-01-01T00:00:00.000001Z", ST_OK, 1, 6, "1970-01-01T00:00:00.000001Z"},
    {"2016-04-06T20:03:48.000Z", ST_OK, 1459973028000000, 3,
     "2016-04-06T20:03:48.000000Z"},
    {"2016-04-06T20:03:48.5Z", ST_OK, 1459973028500000, 1,
     "2016-04-06T20:03:48.500000Z"},
    /* More than six digits: accepted, truncated (not rounded). */
    {"2016-04-06T20:03:48.123456789Z", ST_OK, 1459973028123456, 9,
     "2016-04-06T20:03:48.123456Z"},
    {"2016-04-06T20:03:48.9999999Z", ST_OK, 1459973028999999, 7,
     "2016-04-06T20:03:48.999999Z"},
    /* Leap years: 2000 and 2024 are, 1900 and 2023 are not. */
    {"2000-02-29T00:00:00Z", ST_OK, 951782400000000, 0,
     "2000-02-29T00:00:00.000000Z"},
    {"2024-02-29T12:00:00Z", ST_OK, 1709208000000000, 0,
     "2024-02-29T12:00:00.000000Z"},
    {"1900-02-29T00:00:00Z", ST_EINVAL, 0, 0, NULL},
    {"2023-02-29T00:00:00Z", ST_EINVAL, 0, 0, NULL},
    {"2023-02-28T23:59:59Z", ST_OK, 1677628799000000, 0,
     "2023-02-28T23:59:59.000000Z"},
    /* A leap second is accepted (and lands on the next second). */
    {"2016-12-31T23:59:60Z", ST_OK, 1483228800000000, 0,
     "2017-01-01T00:00:00.000000Z"},
    {"2016-12-31T23:59:61Z", ST_EINVAL, 0, 0, NULL},
    {"9999-12-31T23:59:59.999999Z", ST_OK, 253402300799999999, 6,
     "9999-12-31T23:59:59.999999Z"},
    {"0001-01-01T00:00:00Z", ST_OK, -62135596800000000, 0,
     "0001-01-01T00:00:00.000000Z"},
    /* Calendar and syntax errors. */
    {"2016-13-01T00:00:00Z", ST_EINVAL, 0, 0, NULL},
    {"2016-00-01T00:00:00Z", ST_EINVAL, 0, 0, NULL},
    {"2016-04-31T00:00:00Z", ST_EINVAL, 0, 0, NULL},
    {"2016-04-00T00:00:00Z", ST_EINVAL, 0, 0, NULL},
    {"2016-04-06T24:00:00Z", ST_EINVAL, 0, 0, NULL},
    {"2016-04-06T23:60:00Z", ST_EINVAL, 0, 0, NULL},
    {"2016-04-06T20:03:48", ST_EINVAL, 0, 0, NULL},
    {"2016-04-06T20:03:48.000", ST_EINVAL, 0, 0, NULL},
    {"2016-04-06T20:03:48+00:00", ST_EINVAL, 0, 0, NULL},
    {"2016-04-06T20:03:48z", ST_EINVAL, 0, 0, NULL},
    {"2016-04-06T20:03:48.Z", ST_EINVAL, 0, 0, NULL},
    {"2016-04-06 20:03:48Z", ST_EINVAL, 0, 0, NULL},
    {"2016-4-06T20:03:48Z", ST_EINVAL, 0, 0, NULL},
    {"2016-04-06T20:03:48ZZ", ST_EINVAL, 0, 0, NULL},
    {"2016-04-06T20:03:48.1a2Z", ST_EINVAL, 0, 0, NULL},
    {"", ST_EINVAL, 0, 0, NULL},
};

static void test_ts_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(stamps) / sizeof(stamps[0]); i++) {
		st_time t = -1;
		int frac = -1;
		int rc =
		    ts_parse(stamps[i].in, strlen(stamps[i].in), &t, &frac);
		if (rc != stamps[i].rc)
			fail_msg("%s: rc %d, want %d", stamps[i].in, rc,
				 stamps[i].rc);
		if (rc != ST_OK)
			continue;
		if (t != stamps[i].us)
			fail_msg("%s: %lld, want %lld", stamps[i].in,
				 (long long)t, (long long)stamps[i].us);
		assert_int_equal(frac, stamps[i].frac);
		char out[TS_BUFSZ];
		ts_format(t, out);
		assert_string_equal(out, stamps[i].out);
		/* And back again. */
		st_time t2;
		assert_int_equal(ts_parse(out, strlen(out), &t2, NULL), ST_OK);
		assert_true(t2 == t);
	}
}

/* Only len bytes are read: a longer buffer is not a longer timestamp. */
static void test_ts_parse_len(void **state)
{
	(void)state;
	const char *s = "2016-04-06T20:03:48Zjunk";
	st_time t;
	assert_int_equal(ts_parse(s, 20, &t, NULL), ST_OK);
	assert_int_equal(ts_parse(s, 24, &t, NULL), ST_EINVAL);
	assert_int_equal(ts_parse(s, 19, &t, NULL), ST_EINVAL);
}

static void test_ts_format_ms(void **state)
{
	(void)state;
	static const struct {
		st_time t;
		const char *want;
	} rows[] = {
	    {0, "1970-01-01T00:00:00.000Z"},
	    {1459973028123456, "2016-04-06T20:03:48.123Z"},
	    {1459973028999999, "2016-04-06T20:03:48.999Z"},
	    {-1, "1969-12-31T23:59:59.999Z"},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char out[TS_BUFSZ];
		ts_format_ms(rows[i].t, out);
		assert_string_equal(out, rows[i].want);
	}
	char out[TS_BUFSZ];
	ts_format(-1, out);
	assert_string_equal(out, "1969-12-31T23:59:59.999999Z");
	/* Past the four-digit years a STIX timestamp has: still written in
	 * full, never cut short. */
	ts_format(253402300800000001, out);
	assert_string_equal(out, "10000-01-01T00:00:00.000001Z");
	ts_format_ms(253402300800000001, out);
	assert_string_equal(out, "10000-01-01T00:00:00.000Z");
}

static void test_clocks(void **state)
{
	(void)state;
	/* After 2024-01-01 and monotonic time does not go back. */
	assert_true(time_now() > 1704067200000000);
	double a = time_mono(), b = time_mono();
	assert_true(b >= a);
}

/* ------------------------------------------------------------------ */
/* UUIDs                                                                */
/* ------------------------------------------------------------------ */

static void test_uuid_parse(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		bool strict;
		int rc;
	} rows[] = {
	    {"00abedb4-aa42-466c-9c01-fed23315a9b7", true, ST_OK},
	    {"00ABEDB4-AA42-466C-9C01-FED23315A9B7", false, ST_OK},
	    {"00ABEDB4-AA42-466C-9C01-FED23315A9B7", true, ST_EINVAL},
	    {"00abedb4-aa42-466c-9c01-fed23315a9b", true, ST_EINVAL},
	    {"00abedb4-aa42-466c-9c01-fed23315a9b77", true, ST_EINVAL},
	    {"00abedb4aa42-466c-9c01-fed23315a9b7-", true, ST_EINVAL},
	    {"00abedb4-aa42-466c-9c01-fed23315a9bg", true, ST_EINVAL},
	    {"{0abedb4-aa42-466c-9c01-fed23315a9b7", true, ST_EINVAL},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint8_t u[16];
		int rc = uuid_parse(rows[i].in, strlen(rows[i].in),
				    rows[i].strict, u);
		if (rc != rows[i].rc)
			fail_msg("%s: rc %d", rows[i].in, rc);
		if (rc == ST_OK)
			assert_memory_equal(u, UUID_NS_STIX, 16);
	}
	char out[UUID_STRLEN + 1];
	uuid_format(UUID_NS_STIX, out);
	assert_string_equal(out, "00abedb4-aa42-466c-9c01-fed23315a9b7");
	uint8_t nil[16] = {0};
	assert_int_equal(uuid_version(nil), 0);
	assert_int_equal(uuid_version(UUID_NS_STIX), 4);
}

/*
 * STIX deterministic ids: UUIDv5 in the STIX namespace of the canonical
 * JSON of the id-contributing properties. The expected ids are the ones
 * cti-python-stix2 asserts in test_deterministic_ids.py, plus the id of
 * {"value":"198.51.100.3"} (computed with Python's uuid.uuid5; note that
 * the spec's example id ipv4-addr--ff26c055-... is not a computed one).
 */
static void test_uuid_v5(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		const char *want;
	} rows[] = {
	    {"{\"values\":[{\"data\":\"qwerty\",\"name\":\"Foo\"},"
	     "{\"data\":\"42\",\"name\":\"Bar\"}]}",
	     "36594eba-bcc7-5014-9835-0e154264e588"},
	    {"{\"extensions\":{\"windows-pebinary-ext\":{\"machine_hex\":"
	     "\"014c\",\"pe_type\":\"exe\",\"sections\":[{\"entropy\":"
	     "7.980693,\"hashes\":{\"SHA-256\":\"6e3b6f3978e5cd96ba7abee35c2"
	     "4e867b7e64072e2ecb22d0ee7a6e6af6894d0\"},\"name\":\".data\","
	     "\"size\":4096}]}},\"hashes\":{\"SHA-256\":\"841a8921140aba5067"
	     "1ebb0770fecc4ee308c4952cfeff8de154ab14eeef4649\"},\"name\":"
	     "\"example.exe\"}",
	     "ced31cd4-bdcb-537d-aefa-92d291bfc11d"},
	    {"{\"value\":\"198.51.100.3\"}",
	     "28bb3599-77cd-5a82-a950-b5bc3caf07c4"},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint8_t u[16];
		char out[UUID_STRLEN + 1];
		uuid_v5(UUID_NS_STIX, rows[i].name, strlen(rows[i].name), u);
		uuid_format(u, out);
		assert_string_equal(out, rows[i].want);
		assert_int_equal(uuid_version(u), 5);
		assert_int_equal(u[8] & 0xc0, 0x80); /* RFC 4122 variant */
	}
}

static void test_uuid_v4(void **state)
{
	(void)state;
	uint8_t a[16], b[16];
	uuid_v4(a);
	uuid_v4(b);
	assert_int_equal(uuid_version(a), 4);
	assert_int_equal(a[8] & 0xc0, 0x80);
	assert_memory_not_equal(a, b, 16);
	char s[UUID_STRLEN + 1];
	uint8_t back[16];
	uuid_format(a, s);
	assert_int_equal(uuid_parse(s, strlen(s), true, back), ST_OK);
	assert_memory_equal(a, back, 16);
}

/* The error strings are stable; diag_prefix keeps the message. */
static void test_errors(void **state)
{
	(void)state;
	assert_string_equal(st_strerror(ST_OK), "success");
	assert_string_equal(st_strerror(ST_EJSON), "malformed JSON");
	assert_string_equal(st_strerror(ST_ERANGE), "value out of range");
	assert_string_equal(st_strerror(12345), "unknown error");
	struct diag d;
	assert_int_equal(diag_set(&d, ST_ELIMIT, "at byte %d", 7), ST_ELIMIT);
	diag_prefix(&d, "indicator--%s", "x");
	assert_string_equal(d.msg, "indicator--x: at byte 7");
	assert_int_equal(diag_set(NULL, ST_EIO, "x"), ST_EIO);
	diag_prefix(NULL, "y");
}

/* ------------------------------------------------------------------ */
/* Wake words                                                           */
/* ------------------------------------------------------------------ */

#define WAITERS 8

struct waiter {
	wake_gen *g;
	_Atomic int *ready; /* the flag the publisher sets before the bump */
	int saw;
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;
	for (;;) {
		uint32_t seen = wake_load(w->g);
		if (atomic_load(w->ready)) {
			w->saw = 1;
			return NULL;
		}
		wake_wait(w->g, seen, 10000);
	}
}

static void test_wake(void **state)
{
	(void)state;
	wake_gen g = 0;
	_Atomic int ready = 0;

	/* A generation other than the one seen: no sleep at all. */
	double t0 = time_mono();
	wake_wait(&g, 1, 5000);
	assert_true(time_mono() - t0 < 1.0);
	/* The seen generation and nobody bumps: back after the timeout. */
	t0 = time_mono();
	wake_wait(&g, 0, 50);
	double took = time_mono() - t0;
	assert_true(took >= 0.045 && took < 2.0);
	/* A zero timeout never sleeps. */
	t0 = time_mono();
	wake_wait(&g, 0, 0);
	assert_true(time_mono() - t0 < 1.0);

	/* One bump wakes every waiter, each sees what was published. */
	pthread_t th[WAITERS];
	struct waiter w[WAITERS];
	for (int i = 0; i < WAITERS; i++) {
		w[i] = (struct waiter){&g, &ready, 0};
		assert_int_equal(
		    pthread_create(&th[i], NULL, waiter_main, &w[i]), 0);
	}
	atomic_store(&ready, 1);
	t0 = time_mono();
	wake_all(&g);
	for (int i = 0; i < WAITERS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].saw, 1);
	}
	/* Well before the waiters' own 10 s timeout. */
	assert_true(time_mono() - t0 < 5.0);
	assert_int_equal(wake_load(&g), 1);
}

/* Every byte: a digit's value in either case, lowercase only when asked,
 * and nothing else is a digit. */
static void test_hex_digit(void **state)
{
	(void)state;
	for (int c = 0; c < 256; c++) {
		int want = c >= '0' && c <= '9'	  ? c - '0'
			   : c >= 'a' && c <= 'f' ? c - 'a' + 10
			   : c >= 'A' && c <= 'F' ? c - 'A' + 10
						  : -1;
		assert_int_equal(hex_digit((unsigned char)c), want);
		assert_int_equal(hex_digit_lower((unsigned char)c),
				 c >= 'A' && c <= 'F' ? -1 : want);
	}
	uint8_t u[16];
	assert_int_equal(
	    uuid_parse("0123abcd-EF01-4000-8000-00000000000f", 36, false, u),
	    ST_OK);
	assert_int_equal(u[4], 0xef);
	assert_int_equal(u[15], 0x0f);
	assert_int_equal(
	    uuid_parse("0123abcd-EF01-4000-8000-00000000000f", 36, true, u),
	    ST_EINVAL);
}

/* The digest of a set of versions: the sorted lines, whatever the order
 * they are given in (the value is sha256sum of the two lines, versions with six
 * fractional digits as ts_format writes them). */
static void test_hash_versions(void **state)
{
	(void)state;
	st_time t1 = 0, t2 = 0;
	assert_int_equal(ts_parse("2026-01-01T00:00:00.000Z", 24, &t1, NULL),
			 ST_OK);
	assert_int_equal(ts_parse("2026-01-02T00:00:00.000Z", 24, &t2, NULL),
			 ST_OK);
	const char *a = "indicator--00000000-0000-4000-8000-000000000001";
	const char *b = "indicator--00000000-0000-4000-8000-000000000002";
	struct hash_version v1[] = {{a, t1}, {b, t2}},
			    v2[] = {{b, t2}, {a, t1}};
	char h1[65], h2[65], h0[65];
	assert_int_equal(hash_versions_hex(v1, 2, h1), ST_OK);
	assert_int_equal(hash_versions_hex(v2, 2, h2), ST_OK);
	assert_string_equal(h1,
			    "2ccceddbb1493f717efa1ba5c479488f8dff7ad3364b9c9a"
			    "ca1e476e5a7d6455");
	assert_string_equal(h1, h2);
	assert_int_equal(hash_versions_hex(v1, 0, h0), ST_OK);
	assert_string_equal(h0,
			    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934c"
			    "a495991b7852b855");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hex_digit),
	    cmocka_unit_test(test_ts_parse),
	    cmocka_unit_test(test_ts_parse_len),
	    cmocka_unit_test(test_ts_format_ms),
	    cmocka_unit_test(test_clocks),
	    cmocka_unit_test(test_uuid_parse),
	    cmocka_unit_test(test_uuid_v5),
	    cmocka_unit_test(test_uuid_v4),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_wake),
	    cmocka_unit_test(test_hash_versions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
