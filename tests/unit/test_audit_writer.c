/*
 * Unit tests of the audit writer (src/audit/writer.c): events recorded by
 * many threads at once share disk syncs and form one sound chain; when the
 * log cannot be written (a full disk, made by a VFS that fails the writes)
 * a waiting record is refused, queued events are kept and written once the
 * disk has room again, in order; stopping signs a last head and hands it
 * to the callback.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "audit/audit.h"
#include "audit/writer.h"
#include "federation/nodekey.h"
#include "testvfs.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define T0 ((st_time)1700000000000000)
#define THREADS 8
#define EACH 50

static char home[256];

static int setup(void **state)
{
	(void)state;
	const char *tmp = getenv("TMPDIR");
	snprintf(home, sizeof(home), "%s/strait-auditw-XXXXXX",
		 tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	if (mkdtemp(home) == NULL)
		return -1;
	struct diag d;
	return nodekeys_create(home, T0, &d) == ST_OK ? 0 : -1;
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

struct fixture {
	struct audit *log;
	struct nodekeys *keys;
	struct audit_writer *w;
	struct audit_head last; /* the last head given to the callback */
	int heads;
};

static void on_head(void *ctx, const struct audit_head *h)
{
	struct fixture *f = ctx;
	f->last = *h;
	f->heads++;
}

static void start(struct fixture *f)
{
	struct diag d;
	memset(f, 0, sizeof(*f));
	assert_int_equal(audit_open(home, &f->log, &d), ST_OK);
	assert_int_equal(nodekeys_load(home, &f->keys, &d), ST_OK);
	struct audit_writer_cfg cfg = {f->log, f->keys, 0, on_head, f};
	assert_int_equal(audit_writer_start(&cfg, &f->w, &d), ST_OK);
}

static void finish(struct fixture *f)
{
	audit_writer_stop(f->w);
	nodekeys_free(f->keys);
	audit_close(f->log);
}

/* The kinds and details of the log, in order, into a string. */
static int collect(void *ctx, const struct audit_event *e)
{
	char *s = ctx;
	size_t n = strlen(s);
	snprintf(s + n, 4096 - n, "%s:%s;", e->kind, e->detail);
	return 0;
}

static void sound(struct fixture *f, uint64_t events)
{
	struct audit_report r;
	struct diag d;
	assert_int_equal(audit_verify(f->log, f->keys, NULL, 0, &r, &d), ST_OK);
	if (!r.ok)
		fail_msg("%s", r.fault);
	assert_int_equal(r.events, events);
}

static void *recorder(void *arg)
{
	struct audit_writer *w = arg;
	char detail[64];
	for (int i = 0; i < EACH; i++) {
		snprintf(detail, sizeof(detail), "{\"i\":%d}", i);
		if (audit_record(w, "read", "peer:jp", detail, true) != ST_OK)
			return (void *)1;
	}
	return NULL;
}

/* Eight threads, each waiting for fifty events: every one is on disk when
 * its call returns, the chain holds, and the events shared transactions. */
static void test_group_commit(void **state)
{
	(void)state;
	struct fixture f;
	start(&f);
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, recorder, f.w), 0);
	for (int i = 0; i < THREADS; i++) {
		void *r;
		pthread_join(t[i], &r);
		assert_null(r);
	}
	struct audit_writer_stats st;
	audit_writer_stats(f.w, &st);
	assert_int_equal(st.events, THREADS * EACH);
	assert_true(st.batches < st.events);
	assert_false(st.failing);
	assert_true(audit_writer_ok(f.w));
	/* Durable before the return: another connection sees them all. */
	struct audit *other;
	struct diag d;
	assert_int_equal(audit_open(home, &other, &d), ST_OK);
	struct audit_report r;
	assert_int_equal(audit_verify(other, f.keys, NULL, 0, &r, &d), ST_OK);
	assert_true(r.ok);
	assert_int_equal(r.events, THREADS * EACH);
	audit_close(other);
	finish(&f);
}

/* A field the log would refuse is refused at once, not in a batch where
 * it would take good events down with it. */
static void test_bad_field(void **state)
{
	(void)state;
	struct fixture f;
	start(&f);
	assert_int_equal(audit_record(f.w, "login", "", "{}", false),
			 ST_EINVAL);
	assert_int_equal(audit_record(f.w, "login", "user:a", "\xff", true),
			 ST_EINVAL);
	assert_int_equal(audit_record(f.w, "login", "user:a", "{}", true),
			 ST_OK);
	sound(&f, 1);
	finish(&f);
}

/* A full disk: waiting records fail and the writer says it is not ok;
 * queued ones are kept and land, in order, when there is room again. */
static void test_full_disk(void **state)
{
	(void)state;
	testvfs_use(true);
	struct fixture f;
	start(&f);
	assert_int_equal(audit_record(f.w, "k", "a", "1", true), ST_OK);
	testvfs_full("audit.db-wal", true);
	assert_int_equal(audit_record(f.w, "k", "a", "refused", true), ST_EIO);
	assert_false(audit_writer_ok(f.w));
	assert_int_equal(audit_record(f.w, "k", "a", "2", false), ST_OK);
	assert_int_equal(audit_record(f.w, "k", "a", "3", false), ST_OK);
	assert_int_equal(audit_record(f.w, "k", "a", "refused", true), ST_EIO);
	struct audit_writer_stats st;
	audit_writer_stats(f.w, &st);
	assert_true(st.failing);
	assert_true(st.failures >= 2);
	testvfs_full("audit.db-wal", false);
	/* retried within a second; a waiting record also goes after them */
	assert_int_equal(audit_record(f.w, "k", "a", "4", true), ST_OK);
	assert_true(audit_writer_ok(f.w));
	char seen[4096] = "";
	struct diag d;
	assert_int_equal(audit_tail(f.log, 10, collect, seen, &d), ST_OK);
	assert_string_equal(seen, "k:1;k:2;k:3;k:4;");
	sound(&f, 4);
	finish(&f);
	testvfs_use(false);
}

/* Stopping writes what is queued and signs a head naming the last event;
 * with nothing new, no head is signed. */
static void test_stop_signs(void **state)
{
	(void)state;
	struct fixture f;
	start(&f);
	for (int i = 0; i < 5; i++)
		assert_int_equal(audit_record(f.w, "k", "a", "x", false),
				 ST_OK);
	struct audit *log = f.log;
	struct nodekeys *keys = f.keys;
	audit_writer_stop(f.w);
	assert_int_equal(f.heads, 1);
	assert_int_equal(f.last.seq, 5);
	struct audit_report r;
	struct diag d;
	assert_int_equal(audit_verify(log, keys, &f.last, 1, &r, &d), ST_OK);
	assert_true(r.ok);
	assert_int_equal(r.heads, 2); /* the one kept, and the witness */
	/* again, with nothing new: no second head */
	struct audit_writer_cfg cfg = {log, keys, 0, on_head, &f};
	assert_int_equal(audit_writer_start(&cfg, &f.w, &d), ST_OK);
	audit_writer_stop(f.w);
	assert_int_equal(f.heads, 1);
	nodekeys_free(keys);
	audit_close(log);
}

/* Heads on a schedule: with a 50 ms interval, a head follows new events
 * without a stop. */
static void test_head_interval(void **state)
{
	(void)state;
	struct fixture f;
	struct diag d;
	memset(&f, 0, sizeof(f));
	assert_int_equal(audit_open(home, &f.log, &d), ST_OK);
	assert_int_equal(nodekeys_load(home, &f.keys, &d), ST_OK);
	struct audit_writer_cfg cfg = {f.log, f.keys, 50, on_head, &f};
	assert_int_equal(audit_writer_start(&cfg, &f.w, &d), ST_OK);
	assert_int_equal(audit_record(f.w, "k", "a", "x", true), ST_OK);
	for (int i = 0;
	     i < 200 && __atomic_load_n(&f.heads, __ATOMIC_SEQ_CST) == 0; i++) {
		struct timespec ts = {0, 10 * 1000000L};
		nanosleep(&ts, NULL);
	}
	assert_int_equal(__atomic_load_n(&f.heads, __ATOMIC_SEQ_CST), 1);
	finish(&f);
	assert_int_equal(f.heads, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_field, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_full_disk, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stop_signs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_head_interval, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
