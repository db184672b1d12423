/*
 * Unit tests of the audit log (src/audit): appends and reads back, the
 * chain verified, and each kind of tampering found and located: an edited
 * event, a deleted one, two swapped, a cut tail (by the node's own signed
 * head, and by a witness's when the heads were cut too), a rewrite
 * re-signed with the node's key (by a witness), a forged head signature.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "audit/audit.h"
#include "federation/nodekey.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define T0 ((st_time)1700000000000000)
#define N 20

static char home[256];

static int setup(void **state)
{
	(void)state;
	const char *tmp = getenv("TMPDIR");
	snprintf(home, sizeof(home), "%s/strait-audit-XXXXXX",
		 tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	return mkdtemp(home) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char p[512];
	const char *files[] = {"audit.db", "audit.db-wal", "audit.db-shm",
			       "keys/node.key", "keys"};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", home, files[i]);
		if (unlink(p) != 0)
			rmdir(p);
	}
	rmdir(home);
	return 0;
}

static struct nodekeys *keys(void)
{
	struct diag d;
	struct nodekeys *k = NULL;
	if (nodekeys_load(home, &k, &d) == ST_ENOTFOUND)
		assert_int_equal(nodekeys_create(home, T0, &d), ST_OK);
	if (k == NULL)
		assert_int_equal(nodekeys_load(home, &k, &d), ST_OK);
	return k;
}

/* A log of N events, its head signed after event 10 and after the last;
 * *last_head gets the last. */
static struct audit *filled(struct nodekeys *k, struct audit_head *last_head)
{
	struct diag d;
	struct audit *a = NULL;
	assert_int_equal(audit_open(home, &a, &d), ST_OK);
	for (int i = 1; i <= N; i++) {
		char detail[64];
		snprintf(detail, sizeof(detail), "{\"n\":%d}", i);
		uint64_t seq = 0;
		assert_int_equal(audit_append(a, T0 + i, "read", "liaison-jp",
					      detail, &seq, &d),
				 ST_OK);
		assert_true(seq == (uint64_t)i);
		if (i == 10)
			assert_int_equal(
			    audit_sign_head(a, k, T0 + 100, NULL, &d), ST_OK);
	}
	assert_int_equal(audit_sign_head(a, k, T0 + 200, last_head, &d), ST_OK);
	return a;
}

static void raw(const char *sql)
{
	char p[512];
	sqlite3 *db = NULL;
	snprintf(p, sizeof(p), "%s/audit.db", home);
	assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
	char *err = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err);
	sqlite3_close(db);
}

static struct audit_report verify(struct audit *a, struct nodekeys *k,
				  const struct audit_head *w, size_t nw)
{
	struct audit_report r;
	struct diag d;
	assert_int_equal(audit_verify(a, k, w, nw, &r, &d), ST_OK);
	return r;
}

struct seen {
	uint64_t first, n;
	char kind[16];
};

static int on_event(void *ctx, const struct audit_event *e)
{
	struct seen *s = ctx;
	if (s->n++ == 0)
		s->first = e->seq;
	snprintf(s->kind, sizeof(s->kind), "%s", e->kind);
	return 0;
}

static void test_append_tail_verify(void **state)
{
	(void)state;
	struct nodekeys *k = keys();
	struct audit_head last;
	struct audit *a = filled(k, &last);
	struct diag d;
	assert_true(last.seq == N);
	struct audit_report r = verify(a, k, &last, 1);
	assert_true(r.ok);
	assert_true(r.events == N && r.heads == 3); /* two own, one witness */
	struct seen s = {0, 0, ""};
	assert_int_equal(audit_tail(a, 5, on_event, &s, &d), ST_OK);
	assert_true(s.n == 5 && s.first == N - 4);
	assert_string_equal(s.kind, "read");
	/* Reopened (another process): it goes on from the same chain. */
	audit_close(a);
	assert_int_equal(audit_open(home, &a, &d), ST_OK);
	uint64_t seq = 0;
	assert_int_equal(
	    audit_append(a, T0 + 99, "login", "analyst", "", &seq, &d), ST_OK);
	assert_true(seq == N + 1);
	assert_true(verify(a, k, &last, 1).ok);
	/* Bad fields are refused, and nothing is written. */
	assert_int_equal(audit_append(a, T0, "", "analyst", "", NULL, &d),
			 ST_EINVAL);
	char big[AUDIT_KIND_MAX + 2];
	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(audit_append(a, T0, big, "analyst", "", NULL, &d),
			 ST_EINVAL);
	assert_non_null(strstr(d.msg, "kind longer than"));
	assert_int_equal(
	    audit_append(a, T0, "login", "analyst", "ok \xff", NULL, &d),
	    ST_EINVAL);
	assert_non_null(strstr(d.msg, "detail: not UTF-8 at byte 3"));
	assert_true(verify(a, k, NULL, 0).events == N + 1);
	audit_close(a);
	nodekeys_free(k);
}

static void test_edit_found(void **state)
{
	(void)state;
	struct nodekeys *k = keys();
	struct audit *a = filled(k, NULL);
	raw("UPDATE events SET detail = '{\"n\":99}' WHERE seq = 7");
	struct audit_report r = verify(a, k, NULL, 0);
	assert_false(r.ok);
	assert_true(r.bad_seq == 7);
	assert_non_null(strstr(r.fault, "event 7 was changed"));
	audit_close(a);
	nodekeys_free(k);
}

static void test_delete_found(void **state)
{
	(void)state;
	struct nodekeys *k = keys();
	struct audit *a = filled(k, NULL);
	raw("DELETE FROM events WHERE seq = 4");
	struct audit_report r = verify(a, k, NULL, 0);
	assert_false(r.ok);
	assert_true(r.bad_seq == 4);
	assert_non_null(strstr(r.fault, "events 4 to 4 are missing"));
	audit_close(a);
	nodekeys_free(k);
}

static void test_swap_found(void **state)
{
	(void)state;
	struct nodekeys *k = keys();
	struct audit *a = filled(k, NULL);
	/* events 5 and 6 trade places, each with its own hashes */
	raw("UPDATE events SET seq = -5 WHERE seq = 5;"
	    "UPDATE events SET seq = 5 WHERE seq = 6;"
	    "UPDATE events SET seq = 6 WHERE seq = -5");
	struct audit_report r = verify(a, k, NULL, 0);
	assert_false(r.ok);
	assert_true(r.bad_seq == 5);
	assert_non_null(strstr(r.fault, "event 5"));
	audit_close(a);
	nodekeys_free(k);
}

static void test_cut_tail_found(void **state)
{
	(void)state;
	struct nodekeys *k = keys();
	struct audit_head last;
	struct audit *a = filled(k, &last);
	/* The events after 15 are gone; the node's head after 20 says so. */
	raw("DELETE FROM events WHERE seq > 15");
	struct audit_report r = verify(a, k, NULL, 0);
	assert_false(r.ok);
	assert_true(r.bad_seq == N);
	assert_non_null(strstr(r.fault, "its tail was cut"));
	/* The heads cut too: the chain alone looks sound, a witness's
	 * head shows the cut. */
	raw("DELETE FROM heads WHERE seq > 15");
	assert_true(verify(a, k, NULL, 0).ok);
	r = verify(a, k, &last, 1);
	assert_false(r.ok);
	assert_true(r.bad_seq == N);
	assert_non_null(strstr(r.fault, "a witness's head names event 20"));
	audit_close(a);
	nodekeys_free(k);
}

static void test_resigned_rewrite_found(void **state)
{
	(void)state;
	struct nodekeys *k = keys();
	struct audit_head last;
	struct audit *a = filled(k, &last);
	audit_close(a);
	/* Whoever holds the node's key rewrites the log from scratch, one
	 * event different, and signs new heads: sound on its own. */
	raw("DELETE FROM events; DELETE FROM heads");
	struct diag d;
	assert_int_equal(audit_open(home, &a, &d), ST_OK);
	for (int i = 1; i <= N; i++) {
		char detail[64];
		snprintf(detail, sizeof(detail), "{\"n\":%d}", i == 12 ? 0 : i);
		assert_int_equal(audit_append(a, T0 + i, "read", "liaison-jp",
					      detail, NULL, &d),
				 ST_OK);
	}
	assert_int_equal(audit_sign_head(a, k, T0 + 300, NULL, &d), ST_OK);
	assert_true(verify(a, k, NULL, 0).ok);
	/* The head a partner kept from before does not match. */
	struct audit_report r = verify(a, k, &last, 1);
	assert_false(r.ok);
	assert_true(r.bad_seq == N);
	assert_non_null(strstr(r.fault, "another hash than the log"));
	audit_close(a);
	nodekeys_free(k);
}

static void test_forged_head_found(void **state)
{
	(void)state;
	struct nodekeys *k = keys();
	struct audit_head last;
	struct audit *a = filled(k, &last);
	/* A witness's head whose signature is not the node's. */
	last.sig[0] ^= 1;
	struct audit_report r = verify(a, k, &last, 1);
	assert_false(r.ok);
	assert_true(r.bad_seq == N);
	assert_non_null(strstr(r.fault, "a witness's head of event 20 has no"
					" good signature"));
	/* The node's own head, forged. */
	raw("UPDATE heads SET sig = zeroblob(64) WHERE seq = 10");
	r = verify(a, k, NULL, 0);
	assert_false(r.ok);
	assert_true(r.bad_seq == 10);
	assert_non_null(strstr(r.fault, "the signed head of event 10 has no"
					" good signature"));
	audit_close(a);
	nodekeys_free(k);
}

/* Rotation: the events up to a signed checkpoint go to an archive that
 * verifies on its own; the live log goes on from the checkpoint; heads of
 * archived events are not compared, except the checkpoint's own; an
 * archive changed afterwards, or a checkpoint removed, is found. */
static void test_rotation(void **state)
{
	(void)state;
	struct nodekeys *k = keys();
	struct audit_head last, cp;
	struct audit *a = filled(k, &last);
	struct diag d;
	char dir[512], path[1024], path2[1024];
	snprintf(dir, sizeof(dir), "%s/archive", home);
	assert_int_equal(
	    audit_rotate(a, k, T0 + 300, dir, &cp, path, sizeof(path), &d),
	    ST_OK);
	assert_int_equal(cp.seq, N);
	assert_memory_equal(cp.hash, last.hash, AUDIT_HASH_BYTES);
	assert_non_null(strstr(path, "/audit-1-20.db"));
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	/* nothing new: nothing to rotate */
	assert_int_equal(
	    audit_rotate(a, k, T0 + 301, dir, &cp, path2, sizeof(path2), &d),
	    ST_ENOTFOUND);
	struct audit_report r = verify(a, k, NULL, 0);
	assert_true(r.ok);
	assert_int_equal(r.events, 0);
	assert_int_equal(r.base, N);
	/* the log goes on, linked to the checkpoint */
	uint64_t seq = 0;
	assert_int_equal(
	    audit_append(a, T0 + 400, "login", "x", "{}", &seq, &d), ST_OK);
	assert_int_equal(seq, N + 1);
	/* a witness of an archived event is not compared; the checkpoint's
	 * own is, by hash */
	struct audit_head old = last;
	old.seq = 10;
	old.key_id[0] = '\0'; /* compared by seq and hash alone */
	r = verify(a, k, &old, 1);
	assert_true(r.ok);
	assert_int_equal(r.archived, 1);
	struct audit_head bad = last;
	bad.hash[0] ^= 1;
	bad.key_id[0] = '\0'; /* compared by hash alone */
	r = verify(a, k, &bad, 1);
	assert_false(r.ok);
	assert_non_null(strstr(r.fault, "another hash than the checkpoint"));
	/* the archive verifies on its own: 20 events and the closing head */
	struct audit *arc = NULL;
	assert_int_equal(audit_open_path(path, &arc, &d), ST_OK);
	r = verify(arc, k, &last, 1);
	assert_true(r.ok);
	assert_int_equal(r.events, N);
	audit_close(arc);
	/* a second rotation starts where the first ended */
	assert_int_equal(
	    audit_rotate(a, k, T0 + 500, dir, &cp, path2, sizeof(path2), &d),
	    ST_OK);
	assert_non_null(strstr(path2, "/audit-21-21.db"));
	assert_int_equal(audit_open_path(path2, &arc, &d), ST_OK);
	r = verify(arc, k, NULL, 0);
	assert_true(r.ok);
	assert_int_equal(r.base, N);
	assert_int_equal(r.events, 1);
	audit_close(arc);
	/* an archived event changed afterwards */
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
				      "UPDATE events SET detail = '{}'"
				      " WHERE seq = 3",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(audit_open_path(path, &arc, &d), ST_OK);
	r = verify(arc, k, NULL, 0);
	assert_false(r.ok);
	assert_int_equal(r.bad_seq, 3);
	audit_close(arc);
	/* the live log's checkpoints removed: its first event has nothing
	 * to follow */
	assert_int_equal(
	    audit_append(a, T0 + 600, "login", "x", "{}", &seq, &d), ST_OK);
	assert_int_equal(seq, N + 2);
	audit_close(a);
	raw("DELETE FROM checkpoints");
	assert_int_equal(audit_open(home, &a, &d), ST_OK);
	r = verify(a, k, NULL, 0);
	assert_false(r.ok);
	assert_non_null(strstr(r.fault, "missing"));
	audit_close(a);
	nodekeys_free(k);
	unlink(path);
	unlink(path2);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_append_tail_verify, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_edit_found, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_delete_found, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_swap_found, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cut_tail_found, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_resigned_rewrite_found, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_forged_head_found, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
