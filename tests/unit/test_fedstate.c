/*
 * Unit tests of the federation state (src/federation/fedstate.c):
 * provenance (first origin wins), attestations, cursors per incarnation,
 * the released sets (in memory, in step with the file), release records
 * and their digest, catch-up cursors, the quarantine, dead letters,
 * health, the cursors kept in memory, which writes wait for the disk,
 * forgetting a peer, and deciding while others read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "federation/fedstate.h"
#include "testvfs.h"

#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define INC_A "6f1c2d3e-0000-4000-8000-00000000000a"
#define INC_B "6f1c2d3e-0000-4000-8000-00000000000b"
#define IND1 "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
#define IND2 "indicator--0b9f8e7d-6c5b-4a39-8271-605f4e3d2c1b"
#define ORIGIN_JP "identity--6c1a4f8e-2a7b-4c3d-9e5f-0a1b2c3d4e5f"
#define ORIGIN_US "identity--1bd8de3b-5567-4323-86fd-875946fe797a"
#define ATT1 "x-strait-attestation--1bd8de3b-5567-4323-86fd-875946fe7970"
/* 2023-11-14T22:13:20.123456Z */
#define T0 ((st_time)1700000000123456)

static char home[256];

static int setup(void **state)
{
	(void)state;
	const char *tmp = getenv("TMPDIR");
	snprintf(home, sizeof(home), "%s/strait-fedstate-XXXXXX",
		 tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	return mkdtemp(home) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char p[512];
	const char *files[] = {"peers.db",	 "peers.db-wal",
			       "peers.db-shm",	 "peers.db-journal",
			       "keys/peers.key", "keys"};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", home, files[i]);
		if (unlink(p) != 0)
			rmdir(p);
	}
	rmdir(home);
	return 0;
}

static struct fedstate *open_state(void)
{
	struct fedstate *f = NULL;
	struct diag d;
	int rc = fedstate_open(home, &f, &d);
	if (rc != ST_OK)
		fail_msg("fedstate_open: %s", d.msg);
	return f;
}

static struct fed_prov prov(const char *id, st_time v, const char *origin,
			    const char *peer)
{
	struct fed_prov p;
	memset(&p, 0, sizeof(p));
	snprintf(p.id, sizeof(p.id), "%s", id);
	p.version = v;
	snprintf(p.origin, sizeof(p.origin), "%s", origin);
	snprintf(p.peer, sizeof(p.peer), "%s", peer);
	memset(p.sha256, origin[0] != '\0' ? origin[10] : 0x5a,
	       sizeof(p.sha256));
	return p;
}

static void test_open_file(void **state)
{
	(void)state;
	struct fedstate *f = open_state();
	char path[512];
	struct stat st;
	snprintf(path, sizeof(path), "%s/peers.db", home);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0077, 0);
	fedstate_close(f);
	fedstate_close(NULL);
	/* Opening again finds its tables (no migration runs twice). */
	f = open_state();
	fedstate_close(f);
	struct diag d;
	assert_int_equal(fedstate_open(NULL, &f, &d), ST_EINVAL);
}

static void test_provenance(void **state)
{
	(void)state;
	struct fedstate *f = open_state();
	struct diag d;
	char red[2][STIX_ID_MAX] = {ORIGIN_US, ORIGIN_JP};
	struct fed_prov p[3] = {
	    prov(IND1, T0, "", "us"), /* a feed: origin unknown */
	    prov(IND1, T0 + 1, ORIGIN_JP, "jp"),
	    prov(IND1, T0 + 2, ORIGIN_US, "us"),
	};
	snprintf(p[1].attestation, sizeof(p[1].attestation), "%s", ATT1);
	p[1].relay_green = true;
	p[1].red = red;
	p[1].n_red = 2;
	struct fed_attestation att = {ATT1, "{\"first\":1}", 11};
	assert_int_equal(fed_prov_put(f, p, 3, &att, 1, &d), ST_OK);

	/* The same (id, version) again from elsewhere: the first stays, and
	 * so does the attestation already kept. */
	struct fed_prov again = prov(IND1, T0 + 1, ORIGIN_US, "us");
	struct fed_attestation att2 = {ATT1, "{\"second\":2}", 12};
	assert_int_equal(fed_prov_put(f, &again, 1, &att2, 1, &d), ST_OK);

	struct fed_prov got;
	assert_int_equal(fed_prov_get(f, IND1, T0 + 1, &got), ST_OK);
	assert_string_equal(got.id, IND1);
	assert_true(got.version == T0 + 1);
	assert_string_equal(got.origin, ORIGIN_JP);
	assert_string_equal(got.peer, "jp");
	assert_string_equal(got.attestation, ATT1);
	assert_true(got.relay_green);
	assert_int_equal(got.n_red, 2);
	assert_string_equal(got.red[0], ORIGIN_US);
	assert_string_equal(got.red[1], ORIGIN_JP);
	assert_memory_equal(got.sha256, p[1].sha256, 32);
	fed_prov_free(&got);
	assert_null(got.red);

	assert_int_equal(fed_prov_get(f, IND1, T0, &got), ST_OK);
	assert_string_equal(got.origin, "");
	assert_string_equal(got.peer, "us");
	assert_false(got.relay_green);
	assert_int_equal(got.n_red, 0);
	fed_prov_free(&got);

	/* A version without a record is our own. */
	assert_int_equal(fed_prov_get(f, IND1, T0 + 3, &got), ST_ENOTFOUND);
	assert_int_equal(fed_prov_get(f, IND2, T0, &got), ST_ENOTFOUND);

	/* The first origin recorded binds the id, not the feed's "". */
	char origin[STIX_ID_MAX];
	assert_int_equal(fed_origin_of(f, IND1, origin), ST_OK);
	assert_string_equal(origin, ORIGIN_JP);
	assert_int_equal(fed_origin_of(f, IND2, origin), ST_ENOTFOUND);
	struct fed_prov feed = prov(IND2, T0, "", "us");
	assert_int_equal(fed_prov_put(f, &feed, 1, NULL, 0, &d), ST_OK);
	assert_int_equal(fed_origin_of(f, IND2, origin), ST_ENOTFOUND);

	char *json = NULL;
	size_t len = 0;
	assert_int_equal(fed_attestation_get(f, ATT1, &json, &len), ST_OK);
	assert_int_equal(len, 11);
	assert_string_equal(json, "{\"first\":1}");
	free(json);
	assert_int_equal(
	    fed_attestation_get(f, "x-strait-attestation--none", &json, &len),
	    ST_ENOTFOUND);
	assert_null(json);

	/* Refusals name what is wrong and write nothing. */
	struct fed_prov bad = prov(IND2, T0 + 9, ORIGIN_JP, "JP!");
	assert_int_equal(fed_prov_put(f, &bad, 1, NULL, 0, &d), ST_EINVAL);
	bad = prov(IND2, T0 + 9, ORIGIN_JP, "jp");
	bad.n_red = FED_MAX_RED + 1;
	bad.red = red;
	assert_int_equal(fed_prov_put(f, &bad, 1, NULL, 0, &d), ST_EINVAL);
	assert_non_null(strstr(d.msg, "RED recipients"));
	bad.n_red = 0;
	bad.id[0] = '\0';
	assert_int_equal(fed_prov_put(f, &bad, 1, NULL, 0, &d), ST_EINVAL);
	struct fed_attestation noatt = {ATT1, NULL, 0};
	assert_int_equal(fed_prov_put(f, NULL, 0, &noatt, 1, &d), ST_EINVAL);
	assert_int_equal(fed_prov_get(f, IND2, T0 + 9, &got), ST_ENOTFOUND);
	fedstate_close(f);
}

struct sent_seen {
	int n;
	struct fed_sent s[4];
};

static int on_sent(void *ctx, const struct fed_sent *s)
{
	struct sent_seen *x = ctx;
	if (x->n < 4)
		x->s[x->n] = *s;
	x->n++;
	return 0;
}

/* A cursor, read successfully. */
static uint64_t cursor(struct fedstate *f, const char *peer, const char *inc,
		       enum fed_cursor which)
{
	uint64_t seq = 99;
	assert_int_equal(fed_cursor_get(f, peer, inc, which, &seq), ST_OK);
	return seq;
}

static void test_cursors(void **state)
{
	(void)state;
	struct fedstate *f = open_state();
	struct diag d;
	uint64_t seq = 99;
	assert_true(cursor(f, "jp", INC_A, FED_DECIDED) == 0);
	assert_int_equal(fed_decided(f, "jp", INC_A, 40, NULL, 0, &d), ST_OK);
	assert_int_equal(
	    fed_delivered(f, "jp", INC_A, 30, NULL, 0, "push", T0, &d), ST_OK);
	assert_true(cursor(f, "jp", INC_A, FED_DECIDED) == 40);
	assert_true(cursor(f, "jp", INC_A, FED_DELIVERED) == 30);
	/* Another incarnation of our store: its log starts again. */
	assert_true(cursor(f, "jp", INC_B, FED_DECIDED) == 0);
	assert_true(cursor(f, "jp", INC_B, FED_DELIVERED) == 0);
	/* Another peer has its own. */
	assert_true(cursor(f, "us", INC_A, FED_DECIDED) == 0);
	/* The empty delivery above moved the cursor, recorded nothing. */
	struct sent_seen x = {0};
	assert_int_equal(fed_sent_list(f, "jp", 0, on_sent, &x, &d), ST_OK);
	assert_int_equal(x.n, 0);
	assert_int_equal(fed_sent_list(f, "jp", 0, NULL, &x, &d), ST_EINVAL);
	assert_int_equal(fed_cursor_get(f, "x y", INC_A, FED_DECIDED, &seq),
			 ST_EINVAL);
	assert_int_equal(fed_decided(f, "jp", "", 1, NULL, 0, &d), ST_EINVAL);
	assert_int_equal(fed_decided(f, "jp", INC_A, 1, NULL, 3, &d),
			 ST_EINVAL);
	fedstate_close(f);
}

static void test_released(void **state)
{
	(void)state;
	struct fedstate *f = open_state();
	struct diag d;
	const uint64_t a[] = {1, 3, 5};
	const uint64_t b[] = {4, 9, 3}; /* out of order, 3 again */
	assert_false(fed_released(f, "jp", 3));
	assert_int_equal(fed_decided(f, "jp", INC_A, 5, a, 3, &d), ST_OK);
	assert_int_equal(fed_decided(f, "jp", INC_A, 9, b, 3, &d), ST_OK);
	const bool want[] = {false, true,  false, true,	 true,
			     true,  false, false, false, true};
	for (uint64_t s = 0; s < 10; s++)
		assert_true(fed_released(f, "jp", s) == want[s]);
	assert_false(fed_released(f, "us", 3));
	assert_false(fed_released(f, NULL, 3));
	assert_false(fed_released(f, "../x", 3));
	/* The next released after a seq: where a deliverer goes next. */
	const uint64_t nexts[][2] = {{0, 1}, {1, 3}, {2, 3},
				     {3, 4}, {5, 9}, {8, 9}};
	for (size_t i = 0; i < sizeof(nexts) / sizeof(nexts[0]); i++) {
		uint64_t nx = 0;
		assert_true(fed_released_next(f, "jp", nexts[i][0], &nx));
		assert_true(nx == nexts[i][1]);
	}
	uint64_t none = 0;
	assert_false(fed_released_next(f, "jp", 9, &none));
	assert_false(fed_released_next(f, "jp", UINT64_MAX, &none));
	assert_false(fed_released_next(f, "us", 0, &none));
	assert_false(fed_released_next(f, "../x", 0, &none));

	uint64_t q = 0;
	assert_int_equal(
	    fed_delivered(f, "jp", INC_A, 3, NULL, 0, "push", T0, &d), ST_OK);
	assert_int_equal(fed_queue_depth(f, "jp", INC_A, &q, &d), ST_OK);
	assert_true(q == 3); /* 4, 5, 9 */
	assert_int_equal(fed_queue_depth(f, "jp", INC_B, &q, &d), ST_OK);
	assert_true(q == 0);

	/* Reopened: the set is read from the file. */
	fedstate_close(f);
	f = open_state();
	for (uint64_t s = 0; s < 10; s++)
		assert_true(fed_released(f, "jp", s) == want[s]);

	/* A policy change: decided again from the start. */
	char hash[65];
	assert_int_equal(fed_policy_hash_get(f, "jp", hash), ST_OK);
	assert_string_equal(hash, "");
	char h[65];
	memset(h, 'a', 64);
	h[64] = '\0';
	assert_int_equal(fed_policy_reset(f, "jp", "NOT-HEX", &d), ST_EINVAL);
	assert_int_equal(fed_policy_reset(f, "jp", h, &d), ST_OK);
	assert_int_equal(fed_policy_hash_get(f, "jp", hash), ST_OK);
	assert_string_equal(hash, h);
	for (uint64_t s = 0; s < 10; s++)
		assert_false(fed_released(f, "jp", s));
	assert_true(cursor(f, "jp", INC_A, FED_DECIDED) == 0);
	assert_true(cursor(f, "jp", INC_A, FED_DELIVERED) == 0);
	fedstate_close(f);
	f = open_state();
	assert_false(fed_released(f, "jp", 3));

	/* Decisions for another incarnation replace the old set. */
	assert_int_equal(fed_decided(f, "jp", INC_A, 5, a, 3, &d), ST_OK);
	assert_true(fed_released(f, "jp", 5));
	const uint64_t c[] = {2};
	assert_int_equal(fed_decided(f, "jp", INC_B, 2, c, 1, &d), ST_OK);
	assert_false(fed_released(f, "jp", 5));
	assert_true(fed_released(f, "jp", 2));

	/* And a store restored under a new incarnation drops them all. */
	assert_int_equal(fed_adopt_incarnation(f, INC_A, &d), ST_OK);
	assert_false(fed_released(f, "jp", 2));
	assert_true(cursor(f, "jp", INC_B, FED_DECIDED) == 0);
	fedstate_close(f);
}

/* The digest the node must give, computed here from the lines. */
static void expected_digest(const char *const *lines, size_t n, char hex[65])
{
	crypto_hash_sha256_state h;
	uint8_t md[32];
	crypto_hash_sha256_init(&h);
	for (size_t i = 0; i < n; i++)
		crypto_hash_sha256_update(&h, (const uint8_t *)lines[i],
					  strlen(lines[i]));
	crypto_hash_sha256_final(&h, md);
	sodium_bin2hex(hex, 65, md, 32);
}

static void test_sent(void **state)
{
	(void)state;
	struct fedstate *f = open_state();
	struct diag d;
	const struct fed_sent_item items[] = {
	    {7, IND2, T0},
	    {8, IND1, T0 + 1000000},
	    {9, IND1, T0},
	};
	assert_int_equal(
	    fed_delivered(f, "jp", INC_A, 9, items, 3, "push", T0 + 10, &d),
	    ST_OK);
	assert_int_equal(
	    fed_sent_record(f, "jp", "taxii", items, 1, T0 + 20, &d), ST_OK);
	assert_int_equal(
	    fed_sent_record(f, "jp", "stream", items, 0, T0 + 30, &d),
	    ST_OK); /* nothing recorded */
	assert_int_equal(
	    fed_sent_record(f, "us", "export", items, 2, T0 + 40, &d), ST_OK);
	assert_int_equal(
	    fed_sent_record(f, "jp", "carrier-pigeon", items, 1, T0, &d),
	    ST_EINVAL);
	assert_non_null(strstr(d.msg, "carrier-pigeon"));

	struct sent_seen x = {0};
	assert_int_equal(fed_sent_list(f, "jp", 0, on_sent, &x, &d), ST_OK);
	assert_int_equal(x.n, 2);
	assert_string_equal(x.s[0].path, "push");
	assert_true(x.s[0].at == T0 + 10);
	assert_true(x.s[0].count == 3);
	assert_string_equal(x.s[0].first_id, IND2);
	const char *lines[] = {
	    /* the items' lines in bytewise order (not the items' order) */
	    IND2 "|2023-11-14T22:13:20.123456Z\n",
	    IND1 "|2023-11-14T22:13:20.123456Z\n",
	    IND1 "|2023-11-14T22:13:21.123456Z\n",
	};
	char hex[65];
	expected_digest(lines, 3, hex);
	assert_string_equal(x.s[0].digest, hex);
	assert_string_equal(x.s[1].path, "taxii");
	assert_true(x.s[1].count == 1);
	expected_digest(lines, 1, hex);
	assert_string_equal(x.s[1].digest, hex);

	x.n = 0;
	assert_int_equal(fed_sent_list(f, "jp", T0 + 11, on_sent, &x, &d),
			 ST_OK);
	assert_int_equal(x.n, 1);
	assert_string_equal(x.s[0].path, "taxii");
	x.n = 0;
	assert_int_equal(fed_sent_list(f, "us", 0, on_sent, &x, &d), ST_OK);
	assert_int_equal(x.n, 1);
	x.n = 0;
	assert_int_equal(fed_sent_list(f, "uk", 0, on_sent, &x, &d), ST_OK);
	assert_int_equal(x.n, 0);
	fedstate_close(f);
}

static void test_catchup(void **state)
{
	(void)state;
	struct fedstate *f = open_state();
	struct diag d;
	st_time after = 1;
	const char *coll = "91a7b528-80eb-42ed-a74d-c6fbd5a26116";
	assert_int_equal(fed_catchup_get(f, "jp", coll, &after), ST_OK);
	assert_true(after == 0);
	assert_int_equal(fed_catchup_set(f, "jp", coll, T0, &d), ST_OK);
	assert_int_equal(fed_catchup_set(f, "jp", "other", T0 + 5, &d), ST_OK);
	assert_int_equal(fed_catchup_set(f, "jp", coll, T0 + 7, &d), ST_OK);
	assert_int_equal(fed_catchup_get(f, "jp", coll, &after), ST_OK);
	assert_true(after == T0 + 7);
	assert_int_equal(fed_catchup_get(f, "jp", "other", &after), ST_OK);
	assert_true(after == T0 + 5);
	assert_int_equal(fed_catchup_get(f, "us", coll, &after), ST_OK);
	assert_true(after == 0);
	assert_int_equal(fed_catchup_set(f, "jp", "", T0, &d), ST_EINVAL);
	fedstate_close(f);
}

struct q_seen {
	int n;
	int64_t qids[4];
	bool had_object;
};

static int on_q(void *ctx, const struct fed_quarantined *q)
{
	struct q_seen *x = ctx;
	if (x->n < 4)
		x->qids[x->n] = q->qid;
	if (q->object != NULL || q->attestation != NULL)
		x->had_object = true;
	x->n++;
	return 0;
}

static struct fed_quarantined qentry(const char *peer, const char *reason)
{
	struct fed_quarantined q;
	memset(&q, 0, sizeof(q));
	q.at = T0;
	snprintf(q.peer, sizeof(q.peer), "%s", peer);
	snprintf(q.id, sizeof(q.id), "%s", IND1);
	snprintf(q.version, sizeof(q.version), "2026-01-01T00:00:00.000Z");
	snprintf(q.reason, sizeof(q.reason), "%s", reason);
	q.cid = 1;
	q.object = (char *)"{\"type\":\"indicator\"}";
	q.object_len = strlen(q.object);
	return q;
}

static void test_quarantine(void **state)
{
	(void)state;
	struct fedstate *f = open_state();
	struct diag d;
	int64_t q1 = 0, q2 = 0, q3 = 0;
	struct fed_quarantined a = qentry("jp", "signature does not verify");
	a.attestation = (char *)"{\"type\":\"x-strait-attestation\"}";
	a.attestation_len = strlen(a.attestation);
	struct fed_quarantined b = qentry("jp", "not listed");
	struct fed_quarantined c = qentry("us", "modified in the future");
	assert_int_equal(fed_quarantine_add(f, &a, &q1, &d), ST_OK);
	assert_int_equal(fed_quarantine_add(f, &b, &q2, &d), ST_OK);
	assert_int_equal(fed_quarantine_add(f, &c, &q3, &d), ST_OK);
	assert_true(q1 > 0 && q2 > q1 && q3 > q2);
	assert_true(fed_quarantine_count(f, "") == 3);
	assert_true(fed_quarantine_count(f, "jp") == 2);
	assert_true(fed_quarantine_count(f, "us") == 1);
	assert_true(fed_quarantine_count(f, "uk") == 0);

	struct q_seen x = {0};
	assert_int_equal(fed_quarantine_list(f, on_q, &x, &d), ST_OK);
	assert_int_equal(x.n, 3);
	assert_true(x.qids[0] == q1 && x.qids[2] == q3);
	assert_false(x.had_object);

	struct fed_quarantined got;
	assert_int_equal(fed_quarantine_get(f, q1, &got, &d), ST_OK);
	assert_true(got.qid == q1 && got.at == T0 && got.cid == 1);
	assert_string_equal(got.peer, "jp");
	assert_string_equal(got.id, IND1);
	assert_string_equal(got.version, "2026-01-01T00:00:00.000Z");
	assert_string_equal(got.reason, "signature does not verify");
	assert_int_equal(got.object_len, a.object_len);
	assert_string_equal(got.object, a.object);
	assert_string_equal(got.attestation, a.attestation);
	fed_quarantined_free(&got);
	assert_null(got.object);
	assert_int_equal(fed_quarantine_get(f, q2, &got, &d), ST_OK);
	assert_null(got.attestation);
	fed_quarantined_free(&got);

	assert_int_equal(fed_quarantine_remove(f, q2, &d), ST_OK);
	assert_int_equal(fed_quarantine_remove(f, q2, &d), ST_ENOTFOUND);
	assert_non_null(strstr(d.msg, "no quarantined object"));
	assert_int_equal(fed_quarantine_get(f, q2, &got, &d), ST_ENOTFOUND);
	assert_true(fed_quarantine_count(f, "jp") == 1);

	struct fed_quarantined bad = qentry("jp", "x");
	bad.object = NULL;
	assert_int_equal(fed_quarantine_add(f, &bad, &q1, &d), ST_EINVAL);
	bad = qentry("JP", "x");
	assert_int_equal(fed_quarantine_add(f, &bad, &q1, &d), ST_EINVAL);
	assert_true(fed_quarantine_count(f, "") == 2);
	fedstate_close(f);
}

struct dl_seen {
	int n, skipped;
	int64_t dids[8];
};

static int on_dl(void *ctx, const struct fed_deadletter *dl)
{
	struct dl_seen *x = ctx;
	if (x->n < 8)
		x->dids[x->n] = dl->did;
	x->skipped += dl->skipped;
	x->n++;
	return 0;
}

static struct fed_deadletter dletter(const char *peer, uint64_t seq)
{
	struct fed_deadletter dl;
	memset(&dl, 0, sizeof(dl));
	dl.at = T0;
	snprintf(dl.peer, sizeof(dl.peer), "%s", peer);
	dl.seq = seq;
	snprintf(dl.id, sizeof(dl.id), "%s", IND1);
	dl.version = T0;
	snprintf(dl.reason, sizeof(dl.reason), "422: too large");
	return dl;
}

static void test_deadletters(void **state)
{
	(void)state;
	struct fedstate *f = open_state();
	struct diag d;
	for (uint64_t s = 1; s <= 3; s++) {
		struct fed_deadletter dl = dletter("jp", s);
		assert_int_equal(fed_deadletter_add(f, &dl, &d), ST_OK);
	}
	struct fed_deadletter us = dletter("us", 4);
	assert_int_equal(fed_deadletter_add(f, &us, &d), ST_OK);
	assert_true(fed_deadletter_count(f, "jp", false) == 3);
	assert_true(fed_deadletter_count(f, "us", true) == 1);

	struct dl_seen x = {0};
	assert_int_equal(fed_deadletter_list(f, "jp", on_dl, &x, &d), ST_OK);
	assert_int_equal(x.n, 3);
	assert_int_equal(x.skipped, 0);

	size_t n = 9;
	assert_int_equal(fed_deadletter_skip(f, "jp", x.dids[1], &n, &d),
			 ST_OK);
	assert_int_equal(n, 1);
	assert_true(fed_deadletter_count(f, "jp", false) == 2);
	assert_true(fed_deadletter_count(f, "jp", true) == 3);
	/* A dead letter of another peer is not this one's to skip. */
	struct dl_seen y = {0};
	assert_int_equal(fed_deadletter_list(f, "us", on_dl, &y, &d), ST_OK);
	assert_int_equal(fed_deadletter_skip(f, "jp", y.dids[0], &n, &d),
			 ST_ENOTFOUND);
	assert_int_equal(n, 0);
	assert_int_equal(fed_deadletter_skip(f, "jp", 0, &n, &d), ST_OK);
	assert_int_equal(n, 2);
	assert_true(fed_deadletter_count(f, "jp", false) == 0);
	assert_true(fed_deadletter_count(f, "us", false) == 1);
	x = (struct dl_seen){0};
	assert_int_equal(fed_deadletter_list(f, "jp", on_dl, &x, &d), ST_OK);
	assert_int_equal(x.skipped, 3);

	struct fed_deadletter bad = dletter("jp", 1);
	bad.id[0] = '\0';
	assert_int_equal(fed_deadletter_add(f, &bad, &d), ST_EINVAL);
	fedstate_close(f);
}

static void test_health(void **state)
{
	(void)state;
	struct fedstate *f = open_state();
	struct diag d;
	struct fed_health h;
	assert_int_equal(fed_health_get(f, "jp", &h), ST_OK);
	assert_string_equal(h.peer, "jp");
	assert_string_equal(h.identity, "");
	assert_true(h.last_success == 0 && h.sent == 0);

	snprintf(h.identity, sizeof(h.identity), "%s", ORIGIN_JP);
	h.last_success = T0;
	h.last_error_at = T0 + 1;
	snprintf(h.last_error, sizeof(h.last_error), "connection refused");
	h.down_since = T0 + 1;
	h.sent = 12;
	h.received = 34;
	assert_int_equal(fed_health_put(f, &h, &d), ST_OK);
	h.sent = 13;
	assert_int_equal(fed_health_put(f, &h, &d), ST_OK);
	struct fed_health got;
	assert_int_equal(fed_health_get(f, "jp", &got), ST_OK);
	assert_string_equal(got.identity, ORIGIN_JP);
	assert_true(got.last_success == T0 && got.last_error_at == T0 + 1);
	assert_string_equal(got.last_error, "connection refused");
	assert_true(got.down_since == T0 + 1);
	assert_true(got.sent == 13 && got.received == 34);
	assert_int_equal(fed_health_get(f, "us", &got), ST_OK);
	assert_string_equal(got.identity, "");

	/* Another process (peer status) reads the file: a change of state
	 * reaches it at once, counts within a second, and all at close. */
	struct fedstate *cli = open_state();
	assert_int_equal(fed_health_get(cli, "jp", &got), ST_OK);
	assert_string_equal(got.identity, ORIGIN_JP);
	assert_true(got.sent == 12 && got.down_since == T0 + 1);
	fedstate_close(cli);
	h.down_since = 0; /* up again */
	h.last_success = T0 + 2;
	h.sent = 14;
	assert_int_equal(fed_health_put(f, &h, &d), ST_OK);
	h.sent = 15;
	assert_int_equal(fed_health_put(f, &h, &d), ST_OK);
	assert_int_equal(fed_health_get(f, "jp", &got), ST_OK);
	assert_true(got.sent == 15); /* this process: at once */
	cli = open_state();
	assert_int_equal(fed_health_get(cli, "jp", &got), ST_OK);
	assert_true(got.down_since == 0 && got.sent == 14);
	fedstate_close(cli);
	fed_health_flush(f, false); /* not a second yet */
	cli = open_state();
	assert_int_equal(fed_health_get(cli, "jp", &got), ST_OK);
	assert_true(got.sent == 14);
	fedstate_close(cli);
	struct timespec wait = {1, 100 * 1000 * 1000};
	nanosleep(&wait, NULL);
	fed_health_flush(f, false);
	cli = open_state();
	assert_int_equal(fed_health_get(cli, "jp", &got), ST_OK);
	assert_true(got.sent == 15);
	fedstate_close(cli);
	h.received = 35;
	assert_int_equal(fed_health_put(f, &h, &d), ST_OK);
	fedstate_close(f);
	f = open_state();
	assert_int_equal(fed_health_get(f, "jp", &got), ST_OK);
	assert_true(got.received == 35);

	/* Counts waiting in memory for a peer that another process removes
	 * meanwhile do not bring its record back. */
	h.received = 36;
	assert_int_equal(fed_health_put(f, &h, &d), ST_OK); /* written */
	h.received = 37;
	assert_int_equal(fed_health_put(f, &h, &d), ST_OK); /* waits */
	cli = open_state();
	assert_int_equal(fed_forget_peer(cli, "jp", &d), ST_OK);
	fedstate_close(cli);
	fed_health_flush(f, true);
	cli = open_state();
	assert_int_equal(fed_health_get(cli, "jp", &got), ST_OK);
	assert_string_equal(got.identity, "");
	assert_true(got.received == 0);
	fedstate_close(cli);
	fedstate_close(f);
}

/*
 * The cursors a server reads several times per version are kept in
 * memory: a handle's own writes show at once (and are in the file), a
 * reset or a new incarnation takes them back to 0, and what another
 * process wrote is seen after fed_peer_reread.
 */
static void test_cursor_memory(void **state)
{
	(void)state;
	struct fedstate *f = open_state(), *other = open_state();
	struct diag d;
	uint64_t rel[1] = {7};
	assert_true(cursor(f, "jp", INC_A, FED_DECIDED) == 0);
	assert_int_equal(fed_decided(f, "jp", INC_A, 40, rel, 1, &d), ST_OK);
	assert_int_equal(
	    fed_delivered(f, "jp", INC_A, 30, NULL, 0, "push", T0, &d), ST_OK);
	assert_true(cursor(f, "jp", INC_A, FED_DECIDED) == 40);
	assert_true(cursor(f, "jp", INC_A, FED_DELIVERED) == 30);
	/* in the file too */
	assert_true(cursor(other, "jp", INC_A, FED_DECIDED) == 40);
	/* Another incarnation decides: the old cursor reads 0, the new one
	 * its value, and the set it named is emptied. */
	assert_int_equal(fed_decided(f, "jp", INC_B, 5, NULL, 0, &d), ST_OK);
	assert_true(cursor(f, "jp", INC_A, FED_DECIDED) == 0);
	assert_true(cursor(f, "jp", INC_B, FED_DECIDED) == 5);
	assert_false(fed_released(f, "jp", 7));
	/* Written by another process: seen once reread. */
	assert_int_equal(fed_decided(other, "jp", INC_B, 60, NULL, 0, &d),
			 ST_OK);
	fed_peer_reread(f, "jp");
	assert_true(cursor(f, "jp", INC_B, FED_DECIDED) == 60);
	/* A policy reset takes both back to 0. */
	assert_int_equal(
	    fed_delivered(f, "jp", INC_B, 50, NULL, 0, "push", T0, &d), ST_OK);
	assert_int_equal(fed_policy_reset(f, "jp", "", &d), ST_OK);
	assert_true(cursor(f, "jp", INC_B, FED_DECIDED) == 0);
	assert_true(cursor(f, "jp", INC_B, FED_DELIVERED) == 0);
	/* So does adopting an incarnation, for cursors of another one. */
	assert_int_equal(fed_decided(f, "us", INC_A, 9, NULL, 0, &d), ST_OK);
	assert_int_equal(fed_adopt_incarnation(f, INC_B, &d), ST_OK);
	assert_true(cursor(f, "us", INC_A, FED_DECIDED) == 0);
	/* And forgetting the peer. */
	assert_int_equal(fed_decided(f, "jp", INC_B, 70, NULL, 0, &d), ST_OK);
	assert_int_equal(fed_forget_peer(f, "jp", &d), ST_OK);
	assert_true(cursor(f, "jp", INC_B, FED_DECIDED) == 0);
	fedstate_close(other);
	fedstate_close(f);
}

/*
 * Durability per write: decisions, deliveries, provenance and a health
 * row for a known identity do not wait for the disk; every other write
 * does, also when it comes right after one that did not (the connection
 * is told the mode only when it changes).
 */
static void test_durability(void **state)
{
	(void)state;
	testvfs_count_syncs("peers.db-wal");
	testvfs_use(true);
	struct fedstate *f = open_state();
	struct diag d;
	uint64_t rel[1] = {3};
	struct fed_prov p = prov(IND1, T0, ORIGIN_JP, "jp");
	struct fed_health h;
	assert_int_equal(fed_health_get(f, "jp", &h), ST_OK);
	snprintf(h.identity, sizeof(h.identity), "%s", ORIGIN_JP);

	int n0 = testvfs_syncs();
	assert_int_equal(fed_health_put(f, &h, &d), ST_OK); /* learnt */
	int n1 = testvfs_syncs();
	assert_true(n1 > n0);
	assert_int_equal(fed_decided(f, "jp", INC_A, 3, rel, 1, &d), ST_OK);
	assert_int_equal(
	    fed_delivered(f, "jp", INC_A, 3, NULL, 0, "push", T0, &d), ST_OK);
	assert_int_equal(fed_prov_put(f, &p, 1, NULL, 0, &d), ST_OK);
	h.sent = 1;
	assert_int_equal(fed_health_put(f, &h, &d), ST_OK); /* a count */
	assert_int_equal(testvfs_syncs(), n1);
	/* one autocommit write after the relaxed ones */
	assert_int_equal(fed_catchup_set(f, "jp", "coll-1", T0, &d), ST_OK);
	int n2 = testvfs_syncs();
	assert_true(n2 > n1);
	/* one transaction after a relaxed one */
	assert_int_equal(fed_decided(f, "jp", INC_A, 4, NULL, 0, &d), ST_OK);
	assert_int_equal(testvfs_syncs(), n2);
	assert_int_equal(fed_policy_reset(f, "jp", "", &d), ST_OK);
	assert_true(testvfs_syncs() > n2);
	fedstate_close(f);
	/* all of it is in the file */
	f = open_state();
	assert_true(cursor(f, "jp", INC_A, FED_DECIDED) == 0);
	st_time after = 0;
	assert_int_equal(fed_catchup_get(f, "jp", "coll-1", &after), ST_OK);
	assert_true(after == T0);
	assert_int_equal(fed_health_get(f, "jp", &h), ST_OK);
	assert_true(h.sent == 1);
	fedstate_close(f);
	testvfs_use(false);
	testvfs_count_syncs(NULL);
}

static long long wal_bytes(void)
{
	char p[512];
	struct stat st;
	snprintf(p, sizeof(p), "%s/peers.db-wal", home);
	return stat(p, &st) == 0 ? (long long)st.st_size : 0;
}

/* Frames in the WAL now, as a connection of its own sees them. */
static int wal_frames(void)
{
	char p[512];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int frames = -1;
	snprintf(p, sizeof(p), "%s/peers.db", home);
	if (sqlite3_open_v2(p, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "PRAGMA wal_checkpoint(PASSIVE)", -1, &st,
			       NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		frames = sqlite3_column_int(st, 1);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return frames;
}

/*
 * Serving: commits no longer copy the WAL back themselves (SQLite's
 * automatic checkpoint, at 1,000 pages, runs inside a commit, holding the
 * state's lock); fedstate_checkpoint_due does, on its own connection,
 * and the WAL then starts over. Nothing is lost either way.
 */
static void test_checkpoints_apart(void **state)
{
	(void)state;
	struct fedstate *f = open_state();
	struct diag d;
	assert_int_equal(fedstate_checkpoints_apart(f, &d), ST_OK);
	fedstate_checkpoint_due(f); /* nothing to do yet */
	uint64_t seqs[256], next = 1;
	for (int b = 0; b < 2000 && wal_bytes() <= 1500 * 4096LL; b++) {
		for (size_t i = 0; i < 256; i++)
			seqs[i] = next++;
		assert_int_equal(
		    fed_decided(f, "jp", INC_A, next - 1, seqs, 256, &d),
		    ST_OK);
	}
	long long big = wal_bytes();
	assert_true(big > 1500 * 4096LL); /* past where SQLite would have */

	fedstate_checkpoint_due(f);
	for (size_t i = 0; i < 256; i++)
		seqs[i] = next++;
	assert_int_equal(fed_decided(f, "jp", INC_A, next - 1, seqs, 256, &d),
			 ST_OK);
	/* The commit after the checkpoint started the WAL over. */
	int frames = wal_frames();
	assert_true(frames > 0 && frames < 100);
	assert_true(wal_bytes() <= big);
	assert_true(fed_released(f, "jp", 1));
	assert_true(fed_released(f, "jp", next - 1));
	uint64_t cur = 0;
	assert_int_equal(fed_cursor_get(f, "jp", INC_A, FED_DECIDED, &cur),
			 ST_OK);
	assert_true(cur == next - 1);
	fedstate_close(f);
	f = open_state();
	assert_true(fed_released(f, "jp", next - 1));
	fedstate_close(f);
}

/* Gives peer one of everything that is kept per peer. */
static void populate(struct fedstate *f, const char *peer)
{
	struct diag d;
	const uint64_t seqs[] = {2, 4};
	const struct fed_sent_item it = {2, IND1, T0};
	assert_int_equal(fed_decided(f, peer, INC_A, 4, seqs, 2, &d), ST_OK);
	assert_int_equal(
	    fed_delivered(f, peer, INC_A, 2, &it, 1, "push", T0, &d), ST_OK);
	assert_int_equal(fed_catchup_set(f, peer, "c1", T0, &d), ST_OK);
	struct fed_quarantined q = qentry(peer, "not listed");
	assert_int_equal(fed_quarantine_add(f, &q, NULL, &d), ST_OK);
	struct fed_deadletter dl = dletter(peer, 2);
	assert_int_equal(fed_deadletter_add(f, &dl, &d), ST_OK);
	struct fed_health h;
	memset(&h, 0, sizeof(h));
	snprintf(h.peer, sizeof(h.peer), "%s", peer);
	h.last_success = T0;
	assert_int_equal(fed_health_put(f, &h, &d), ST_OK);
	char hash[65];
	memset(hash, 'b', 64);
	hash[64] = '\0';
	assert_int_equal(fed_policy_reset(f, peer, hash, &d), ST_OK);
	assert_int_equal(fed_decided(f, peer, INC_A, 4, seqs, 2, &d), ST_OK);
	struct fed_prov p = prov(IND1, T0, ORIGIN_JP, peer);
	assert_int_equal(fed_prov_put(f, &p, 1, NULL, 0, &d), ST_OK);
}

/* Whether peer still has everything populate gave it. */
static void assert_kept(struct fedstate *f, const char *peer, bool kept)
{
	struct diag d;
	uint64_t seq;
	st_time after;
	struct fed_health h;
	char hash[65];
	struct sent_seen x = {0};
	assert_true(fed_released(f, peer, 4) == kept);
	assert_int_equal(fed_cursor_get(f, peer, INC_A, FED_DECIDED, &seq),
			 ST_OK);
	assert_true(seq == (kept ? 4 : 0));
	assert_int_equal(fed_sent_list(f, peer, 0, on_sent, &x, &d), ST_OK);
	assert_int_equal(x.n, kept ? 1 : 0);
	assert_int_equal(fed_catchup_get(f, peer, "c1", &after), ST_OK);
	assert_true(after == (kept ? T0 : 0));
	assert_true(fed_quarantine_count(f, peer) == (kept ? 1 : 0));
	assert_true(fed_deadletter_count(f, peer, true) == (kept ? 1 : 0));
	assert_int_equal(fed_health_get(f, peer, &h), ST_OK);
	assert_true(h.last_success == (kept ? T0 : 0));
	assert_int_equal(fed_policy_hash_get(f, peer, hash), ST_OK);
	assert_int_equal(strlen(hash), kept ? 64 : 0);
}

static void test_forget(void **state)
{
	(void)state;
	struct fedstate *f = open_state();
	struct diag d;
	populate(f, "jp");
	populate(f, "us");
	assert_kept(f, "jp", true);
	assert_int_equal(fed_forget_peer(f, "jp", &d), ST_OK);
	assert_kept(f, "jp", false);
	assert_kept(f, "us", true);
	/* Provenance stays: the versions are still foreign. */
	struct fed_prov p;
	assert_int_equal(fed_prov_get(f, IND1, T0, &p), ST_OK);
	fed_prov_free(&p);
	/* From the file too, not only in memory. */
	fedstate_close(f);
	f = open_state();
	assert_kept(f, "jp", false);
	assert_kept(f, "us", true);
	assert_int_equal(fed_forget_peer(f, "not a name", &d), ST_EINVAL);
	fedstate_close(f);
}

#define RACE_BATCHES 100
#define RACE_PER 4

struct race {
	struct fedstate *f;
	int errors; /* written by the writer only */
	int regressions;
	int done;
	pthread_mutex_t mu;
};

static void *race_writer(void *arg)
{
	struct race *r = arg;
	struct diag d;
	for (uint64_t b = 0; b < RACE_BATCHES; b++) {
		uint64_t seqs[RACE_PER];
		for (uint64_t i = 0; i < RACE_PER; i++)
			seqs[i] = b * RACE_PER + i + 1;
		if (fed_decided(r->f, "jp", INC_A, seqs[RACE_PER - 1], seqs,
				RACE_PER, &d) != ST_OK)
			r->errors++;
	}
	pthread_mutex_lock(&r->mu);
	r->done = 1;
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

static void *race_reader(void *arg)
{
	struct race *r = arg;
	uint64_t high = 0; /* every seq up to high was seen released */
	int regressions = 0;
	for (;;) {
		pthread_mutex_lock(&r->mu);
		int done = r->done;
		pthread_mutex_unlock(&r->mu);
		/* Released stays released: never a gap below the mark. */
		for (uint64_t s = 1; s <= high; s += 7)
			if (!fed_released(r->f, "jp", s))
				regressions++;
		while (fed_released(r->f, "jp", high + 1))
			high++;
		if (fed_released(r->f, "us", 1))
			regressions++;
		if (done)
			break;
	}
	pthread_mutex_lock(&r->mu);
	r->regressions += regressions;
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

static void test_race(void **state)
{
	(void)state;
	struct race r = {0};
	r.f = open_state();
	pthread_mutex_init(&r.mu, NULL);
	pthread_t w, rd[2];
	assert_int_equal(pthread_create(&rd[0], NULL, race_reader, &r), 0);
	assert_int_equal(pthread_create(&w, NULL, race_writer, &r), 0);
	assert_int_equal(pthread_create(&rd[1], NULL, race_reader, &r), 0);
	pthread_join(w, NULL);
	pthread_join(rd[0], NULL);
	pthread_join(rd[1], NULL);
	assert_int_equal(r.errors, 0);
	assert_int_equal(r.regressions, 0);
	for (uint64_t s = 1; s <= RACE_BATCHES * RACE_PER; s++)
		assert_true(fed_released(r.f, "jp", s));
	assert_false(fed_released(r.f, "jp", RACE_BATCHES * RACE_PER + 1));
	uint64_t seq = 0;
	assert_int_equal(fed_cursor_get(r.f, "jp", INC_A, FED_DECIDED, &seq),
			 ST_OK);
	assert_true(seq == RACE_BATCHES * RACE_PER);
	pthread_mutex_destroy(&r.mu);
	fedstate_close(r.f);
}

/* The record kept in a store row: what goes in comes out; bytes that are
 * cut, padded or malformed are refused, never read past. */
static void test_prov_bytes(void **state)
{
	(void)state;
	struct fed_prov p, q;
	memset(&p, 0, sizeof(p));
	snprintf(p.origin, sizeof(p.origin), "identity--%s",
		 "11111111-1111-4111-8111-111111111111");
	snprintf(p.peer, sizeof(p.peer), "kr");
	snprintf(p.attestation, sizeof(p.attestation), "x-strait-att--%s",
		 "22222222-2222-4222-8222-222222222222");
	p.relay_green = true;
	char red[2][STIX_ID_MAX] = {"identity--a", "identity--b"};
	p.red = red;
	p.n_red = 2;
	for (int i = 0; i < 32; i++)
		p.sha256[i] = (uint8_t)(i * 7);
	struct buf b = BUF_INIT(1 << 16);
	assert_int_equal(fed_prov_encode(&p, &b), ST_OK);
	assert_int_equal(fed_prov_decode(b.data, b.len, &q), ST_OK);
	assert_string_equal(q.origin, p.origin);
	assert_string_equal(q.peer, "kr");
	assert_string_equal(q.attestation, p.attestation);
	assert_true(q.relay_green);
	assert_int_equal(q.n_red, 2);
	assert_string_equal(q.red[1], "identity--b");
	assert_memory_equal(q.sha256, p.sha256, 32);
	fed_prov_free(&q);
	/* every cut is refused */
	for (size_t n = 0; n < b.len; n++)
		assert_int_equal(fed_prov_decode(b.data, n, &q), ST_ESTORE);
	/* trailing bytes, another format, a bad flag, too many recipients */
	char *c = malloc(b.len + 1);
	assert_non_null(c);
	memcpy(c, b.data, b.len);
	c[b.len] = 'x';
	assert_int_equal(fed_prov_decode(c, b.len + 1, &q), ST_ESTORE);
	c[0] = 2;
	assert_int_equal(fed_prov_decode(c, b.len, &q), ST_ESTORE);
	c[0] = 1;
	c[1] = 7;
	assert_int_equal(fed_prov_decode(c, b.len, &q), ST_ESTORE);
	c[1] = 1;
	c[2] = (char)0xff;
	c[3] = (char)0xff;
	assert_int_equal(fed_prov_decode(c, b.len, &q), ST_ESTORE);
	free(c);
	/* a feed peer's record: no origin, no attestation */
	memset(&p, 0, sizeof(p));
	snprintf(p.peer, sizeof(p.peer), "feed");
	assert_int_equal(fed_prov_encode(&p, &b), ST_OK);
	assert_int_equal(fed_prov_decode(b.data, b.len, &q), ST_OK);
	assert_string_equal(q.origin, "");
	assert_string_equal(q.peer, "feed");
	assert_int_equal(q.n_red, 0);
	fed_prov_free(&q);
	buf_free(&b);
}

/* Heads a partner published: kept by (seq, time), the same one twice
 * kept once, read back by seq, per partner; a bad key id is refused. */
static void test_witness(void **state)
{
	(void)state;
	struct fedstate *f = open_state();
	struct diag d;
	struct fed_witness w[3];
	for (int i = 0; i < 3; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].seq = (uint64_t)(30 - 10 * i); /* 30, 20, 10 */
		memset(w[i].hash, 0xa0 + i, sizeof(w[i].hash));
		w[i].at = T0 + i;
		snprintf(w[i].key_id, sizeof(w[i].key_id), "0123456789abcdef");
		memset(w[i].sig, i, sizeof(w[i].sig));
		assert_int_equal(fed_witness_put(f, "jp", &w[i], &d), ST_OK);
	}
	assert_int_equal(fed_witness_put(f, "jp", &w[1], &d), ST_OK);
	struct fed_witness *v = NULL;
	size_t n = 0;
	assert_int_equal(fed_witness_list(f, "jp", &v, &n, &d), ST_OK);
	assert_int_equal(n, 3);
	assert_int_equal(v[0].seq, 10);
	assert_int_equal(v[2].seq, 30);
	assert_memory_equal(v[0].hash, w[2].hash, sizeof(w[2].hash));
	assert_memory_equal(v[2].sig, w[0].sig, sizeof(w[0].sig));
	assert_string_equal(v[1].key_id, "0123456789abcdef");
	assert_int_equal(v[1].at, T0 + 1);
	free(v);
	assert_int_equal(fed_witness_list(f, "us", &v, &n, &d), ST_OK);
	assert_int_equal(n, 0);
	free(v);
	w[0].key_id[0] = '\0';
	assert_int_equal(fed_witness_put(f, "jp", &w[0], &d), ST_EINVAL);
	assert_int_equal(fed_witness_put(f, "NOT A PEER", &w[1], &d),
			 ST_EINVAL);
	fedstate_close(f);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_open_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_provenance, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cursors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_released, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_catchup, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_quarantine, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_deadletters, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_health, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cursor_memory, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_durability, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_checkpoints_apart, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_forget, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_witness, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_race, setup, teardown),
	    cmocka_unit_test(test_prov_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
