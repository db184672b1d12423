/*
 * Unit tests of the hotline's state (src/hotline/db.c), on when a message
 * counts as kept: a message and the outbox entry queued with it can be
 * read as soon as they are committed (the link relays it while the disk
 * works), in precedence order, leaving out what the link still holds;
 * the count of commits and of those on disk that answers a partner; what
 * is synced is still there after the database is opened again; a sync
 * that cannot be done says which file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "hotline/hotline.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KR "identity--6c1a4f8e-2a7b-4c3d-9e5f-0a1b2c3d4e5f"
#define JP "identity--0b5b3e0e-8f1d-4a3c-9d2e-1f2a3b4c5d6e"

static char home[256];

static int setup(void **state)
{
	(void)state;
	const char *tmp = getenv("TMPDIR");
	snprintf(home, sizeof(home), "%s/strait-hldb-XXXXXX",
		 tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	return mkdtemp(home) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char p[512];
	const char *files[] = {"hotline.db", "hotline.db-wal",
			       "hotline.db-shm"};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", home, files[i]);
		unlink(p);
	}
	rmdir(home);
	return 0;
}

static void message(struct hl_msg *m, const char *id, enum hl_dir dir)
{
	memset(m, 0, sizeof(*m));
	struct hl_header *h = &m->h;
	snprintf(h->id, sizeof(h->id), "%s", id);
	const char *ids[] = {KR, JP};
	hl_channel_of(ids, 2, h->channel);
	snprintf(h->sender, sizeof(h->sender), "%s/kim", KR);
	snprintf(h->recipients[0], sizeof(h->recipients[0]), "%s/tanaka", JP);
	h->nrecipients = 1;
	h->type = HL_ALERT;
	h->status = HL_EXERCISE;
	h->prec = HL_FLASH;
	h->tlp = TLP_AMBER;
	h->sent = 1764201600000000;
	hl_set_body(h, "body", 4);
	m->dir = dir;
	snprintf(m->peer, sizeof(m->peer), "jp");
	m->stored = 1764201600000000;
	m->state = HL_OPEN;
}

static void queue(struct hl_db *db, const char *id, enum hl_prec prec)
{
	struct hl_msg m;
	message(&m, id, HL_OUT);
	m.h.prec = prec;
	const char *peers[] = {"jp"};
	const char *docs[] = {"{\"kind\":\"message\"}"};
	bool dup = true;
	struct diag d;
	assert_int_equal(
	    hl_msg_put_queued(db, &m, NULL, 0, peers, docs, 1, &dup, &d),
	    ST_OK);
	assert_false(dup);
}

/* The next outbox entry for jp: its precedence, and it is the document
 * queued. */
static enum hl_prec next_entry(struct hl_db *db)
{
	struct hl_out o;
	struct diag d;
	assert_int_equal(hl_outbox_next(db, "jp", NULL, 0, &o, &d), ST_OK);
	assert_string_equal(o.json, "{\"kind\":\"message\"}");
	enum hl_prec p = o.prec;
	assert_int_equal(hl_outbox_done(db, o.seq, &d), ST_OK);
	free(o.json);
	return p;
}

static void test_entry_ready_once_committed(void **state)
{
	(void)state;
	struct hl_db *db;
	struct diag d;
	assert_int_equal(hl_db_open(home, &db, &d), ST_OK);
	/* a ROUTINE message, then a FLASH one, no sync yet */
	queue(db, "8c5f3a2e-1d4b-4e6f-9a8b-7c6d5e4f3a2b", HL_ROUTINE);
	queue(db, "9d6a4b3f-2e5c-4f7a-8b9c-8d7e6f5a4b3c", HL_FLASH);
	/* committed: the message can be read, and the link can take the
	 * entries at once, FLASH first */
	struct hl_msg got;
	assert_int_equal(
	    hl_msg_get(db, "8c5f3a2e-1d4b-4e6f-9a8b-7c6d5e4f3a2b", &got, &d),
	    ST_OK);
	assert_int_equal(next_entry(db), HL_FLASH);
	assert_int_equal(next_entry(db), HL_ROUTINE);
	struct hl_out o;
	assert_int_equal(hl_outbox_next(db, "jp", NULL, 0, &o, &d),
			 ST_ENOTFOUND);
	assert_int_equal(hl_db_sync(db, &d), ST_OK);
	hl_db_close(db);
}

static void test_outbox_leaves_out_what_the_link_holds(void **state)
{
	(void)state;
	struct hl_db *db;
	struct diag d;
	assert_int_equal(hl_db_open(home, &db, &d), ST_OK);
	queue(db, "8c5f3a2e-1d4b-4e6f-9a8b-7c6d5e4f3a2b", HL_FLASH);
	queue(db, "9d6a4b3f-2e5c-4f7a-8b9c-8d7e6f5a4b3c", HL_FLASH);
	struct hl_out a, b, c;
	assert_int_equal(hl_outbox_next(db, "jp", NULL, 0, &a, &d), ST_OK);
	/* the first sent, not yet on the partner's disk: the second next */
	assert_int_equal(hl_outbox_next(db, "jp", &a.seq, 1, &b, &d), ST_OK);
	assert_true(b.seq != a.seq);
	int64_t both[] = {a.seq, b.seq};
	assert_int_equal(hl_outbox_next(db, "jp", both, 2, &c, &d),
			 ST_ENOTFOUND);
	/* both still there for a link that starts again */
	assert_int_equal(hl_outbox_next(db, "jp", NULL, 0, &c, &d), ST_OK);
	assert_int_equal(c.seq, a.seq);
	free(a.json);
	free(b.json);
	free(c.json);
	hl_db_close(db);
}

static void *sync_thread(void *arg)
{
	struct diag d;
	return (void *)(intptr_t)hl_db_sync(arg, &d);
}

static void test_commits_counted_and_synced_together(void **state)
{
	(void)state;
	struct hl_db *db;
	struct diag d;
	assert_int_equal(hl_db_open(home, &db, &d), ST_OK);
	assert_int_equal(hl_db_gen(db), 0);
	queue(db, "8c5f3a2e-1d4b-4e6f-9a8b-7c6d5e4f3a2b", HL_FLASH);
	queue(db, "9d6a4b3f-2e5c-4f7a-8b9c-8d7e6f5a4b3c", HL_ROUTINE);
	assert_int_equal(hl_db_gen(db), 2);
	assert_int_equal(hl_db_durable(db), 0);
	/* a replay is no commit */
	struct hl_msg m;
	message(&m, "8c5f3a2e-1d4b-4e6f-9a8b-7c6d5e4f3a2b", HL_OUT);
	bool dup = false;
	assert_int_equal(hl_msg_put(db, &m, NULL, 0, &dup, &d), ST_OK);
	assert_true(dup);
	assert_int_equal(hl_db_gen(db), 2);
	/* syncs at the same time all return once both are on disk */
	pthread_t th[4];
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, sync_thread, db),
				 0);
	for (int i = 0; i < 4; i++) {
		void *rc;
		pthread_join(th[i], &rc);
		assert_int_equal((intptr_t)rc, ST_OK);
	}
	assert_int_equal(hl_db_durable(db), 2);
	hl_db_close(db);
}

static void test_synced_message_survives_reopen(void **state)
{
	(void)state;
	struct hl_db *db;
	struct diag d;
	assert_int_equal(hl_db_open(home, &db, &d), ST_OK);
	struct hl_msg m;
	message(&m, "8c5f3a2e-1d4b-4e6f-9a8b-7c6d5e4f3a2b", HL_IN);
	struct hl_reader rd = {.ct = (const uint8_t *)"sealed", .ctlen = 6};
	snprintf(rd.addr, sizeof(rd.addr), "%s/tanaka", JP);
	bool dup = true;
	assert_int_equal(hl_msg_put(db, &m, &rd, 1, &dup, &d), ST_OK);
	assert_false(dup);
	assert_int_equal(hl_db_sync(db, &d), ST_OK);
	/* the same again is a replay: nothing changes */
	assert_int_equal(hl_msg_put(db, &m, &rd, 1, &dup, &d), ST_OK);
	assert_true(dup);
	hl_db_close(db);
	assert_int_equal(hl_db_open(home, &db, &d), ST_OK);
	struct hl_msg got;
	assert_int_equal(
	    hl_msg_get(db, "8c5f3a2e-1d4b-4e6f-9a8b-7c6d5e4f3a2b", &got, &d),
	    ST_OK);
	assert_int_equal(got.dir, HL_IN);
	assert_string_equal(got.h.sender, m.h.sender);
	hl_db_close(db);
}

static void test_sync_failure_names_the_file(void **state)
{
	(void)state;
	struct hl_db *db;
	struct diag d;
	assert_int_equal(hl_db_open(home, &db, &d), ST_OK);
	queue(db, "8c5f3a2e-1d4b-4e6f-9a8b-7c6d5e4f3a2b", HL_FLASH);
	char wal[512];
	snprintf(wal, sizeof(wal), "%s/hotline.db-wal", home);
	assert_int_equal(unlink(wal), 0);
	assert_int_equal(hl_db_sync(db, &d), ST_EIO);
	assert_non_null(strstr(d.msg, "hotline.db-wal"));
	hl_db_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_entry_ready_once_committed,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_outbox_leaves_out_what_the_link_holds, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_commits_counted_and_synced_together, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_synced_message_survives_reopen,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sync_failure_names_the_file,
					    setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
