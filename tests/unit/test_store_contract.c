/*
 * The store contract, run against every backend in backends[] (as Knot's
 * test_db.c runs one set against each of its databases). A backend may
 * give a `raw` hook that runs a statement on its backing database, for
 * the tests that inject faults or read the schema; tests needing it are
 * skipped for a backend without it.
 */
#include "store/store.h"
#include "store/store_int.h"
#include "store/sqlite/sqlite_int.h"

#include "common/uuid.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stddef.h>
#include <cmocka.h>

/* ------------------------------------------------------------------ */
/* Backends                                                             */
/* ------------------------------------------------------------------ */

struct backend {
	const char *name;
	/* The URL of a store kept in dir. */
	void (*url)(const char *dir, char *out, size_t cap);
	/* Runs sql on the backing database; *out (optional) receives the
	 * first column of the first row. NULL when not available. */
	int (*raw)(const char *dir, const char *sql, int64_t *out);
	/* The newest schema version the backend knows. */
	int (*schema_latest)(void);
};

static void sqlite_url(const char *dir, char *out, size_t cap)
{
	snprintf(out, cap, "sqlite:%s/store.db", dir);
}

static int sqlite_raw(const char *dir, const char *sql, int64_t *out)
{
	char path[4096];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int rc = -1;
	snprintf(path, sizeof(path), "%s/store.db", dir);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK)
		goto out;
	sqlite3_busy_timeout(db, 10000);
	if (out == NULL) {
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0
									  : -1;
		goto out;
	}
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		rc = 0;
	}
out:
	if (rc != 0 && db != NULL)
		fprintf(stderr, "raw: %s: %s\n", sql, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}

static const struct backend backends[] = {
    {"sqlite", sqlite_url, sqlite_raw, sq_schema_latest},
};

/* ------------------------------------------------------------------ */
/* Fixture and helpers                                                  */
/* ------------------------------------------------------------------ */

struct fx {
	const struct backend *be;
	char dir[1024];
	char url[1200];
	struct store *s;
};

static const struct backend *cur_backend;

static void rm_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[2048];
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

static struct store *open_store(struct fx *f, const struct store_options *o)
{
	struct store *s = NULL;
	struct diag d = {""};
	struct store_options def = {.create = true};
	int rc = store_open(f->url, o != NULL ? o : &def, &s, &d);
	if (rc != ST_OK)
		fprintf(stderr, "store_open: %s\n", d.msg);
	assert_int_equal(rc, ST_OK);
	assert_non_null(s);
	return s;
}

static void reopen(struct fx *f, const struct store_options *o)
{
	store_close(f->s);
	f->s = open_store(f, o);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");
	assert_non_null(f);
	f->be = cur_backend;
	snprintf(f->dir, sizeof(f->dir), "%s/strait-store-XXXXXX",
		 tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	assert_non_null(mkdtemp(f->dir));
	f->be->url(f->dir, f->url, sizeof(f->url));
	f->s = open_store(f, NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	store_set_clock_for_test(NULL);
	store_close(f->s);
	rm_dir(f->dir);
	free(f);
	return 0;
}

/* A batch whose items own their ids and bodies. */
struct tb {
	struct store_batch b;
	char (*ids)[STORE_ID_MAX];
	char **bodies;
};

static void tb_init(struct tb *t, size_t n, int64_t cid)
{
	memset(t, 0, sizeof(*t));
	t->b.n = n;
	t->b.cid = cid;
	t->b.items = calloc(n ? n : 1, sizeof(*t->b.items));
	t->ids = calloc(n ? n : 1, sizeof(*t->ids));
	t->bodies = calloc(n ? n : 1, sizeof(*t->bodies));
	assert_non_null(t->b.items);
	assert_non_null(t->ids);
	assert_non_null(t->bodies);
}

static void make_id(char *out, const char *type, uint64_t num)
{
	uint8_t u[16] = {0};
	char us[UUID_STRLEN + 1];
	for (int i = 0; i < 8; i++)
		u[15 - i] = (uint8_t)(num >> (8 * i));
	u[6] = 0x40;
	u[8] = 0x80;
	uuid_format(u, us);
	snprintf(out, STORE_ID_MAX, "%s--%s", type, us);
}

/* Item i: object num of type; content distinguishes bodies. */
static void tb_set(struct tb *t, size_t i, const char *type, uint64_t num,
		   bool versioned, st_time version, const char *content)
{
	struct store_item *it = &t->b.items[i];
	char body[512];
	make_id(t->ids[i], type, num);
	int n = snprintf(body, sizeof(body),
			 "{\"id\":\"%s\",\"type\":\"%s\",\"v\":%lld,"
			 "\"x\":\"%s\"}",
			 t->ids[i], type, (long long)version, content);
	free(t->bodies[i]);
	t->bodies[i] = strdup(body);
	assert_non_null(t->bodies[i]);
	it->id = t->ids[i];
	it->body = t->bodies[i];
	it->body_len = (size_t)n;
	it->versioned = versioned;
	it->version = versioned ? version : 0;
	it->tlp = 1;
	it->flags = 0;
	it->warnings = NULL;
}

static void tb_free(struct tb *t)
{
	for (size_t i = 0; i < t->b.n; i++)
		free(t->bodies[i]);
	free(t->bodies);
	free(t->ids);
	free(t->b.items);
}

static void append_ok(struct store *s, struct tb *t)
{
	int rc = store_append(s, &t->b);
	if (rc != ST_OK)
		fprintf(stderr, "append: %s\n", t->b.diag.msg);
	assert_int_equal(rc, ST_OK);
}

/* Appends one item in a batch of its own; returns its outputs. */
static struct store_item one(struct store *s, int64_t cid, const char *type,
			     uint64_t num, bool versioned, st_time version,
			     const char *content)
{
	struct tb t;
	struct store_item out;
	tb_init(&t, 1, cid);
	tb_set(&t, 0, type, num, versioned, version, content);
	append_ok(s, &t);
	out = t.b.items[0];
	tb_free(&t);
	return out;
}

static int64_t add_coll(struct store *s, const char *id, const char *alias)
{
	struct store_collection c;
	struct diag d = {""};
	memset(&c, 0, sizeof(c));
	snprintf(c.id, sizeof(c.id), "%s", id);
	snprintf(c.alias, sizeof(c.alias), "%s", alias);
	snprintf(c.title, sizeof(c.title), "title of %s", id);
	int rc = store_collection_add(s, &c, &d);
	if (rc != ST_OK)
		fprintf(stderr, "collection_add: %s\n", d.msg);
	assert_int_equal(rc, ST_OK);
	assert_true(c.cid > 0);
	return c.cid;
}

#define C1 "11111111-1111-4111-8111-111111111111"
#define C2 "22222222-2222-4222-8222-222222222222"
#define C3 "33333333-3333-4333-8333-333333333333"

/* Rows collected by a query. */
struct got {
	size_t n, cap;
	struct grow {
		uint64_t seq;
		st_time date_added, version;
		char id[STORE_ID_MAX];
		char body[512];
		uint8_t tlp;
	} * r;
	size_t stop_after; /* 0: never stop */
};

static int collect(void *ctx, const struct store_row *row)
{
	struct got *g = ctx;
	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 64;
		g->r = realloc(g->r, g->cap * sizeof(*g->r));
		if (g->r == NULL)
			return ST_ENOMEM;
	}
	struct grow *r = &g->r[g->n++];
	r->seq = row->seq;
	r->date_added = row->date_added;
	r->version = row->version;
	r->tlp = row->tlp;
	snprintf(r->id, sizeof(r->id), "%s", row->id);
	snprintf(r->body, sizeof(r->body), "%.*s", (int)row->body_len,
		 row->body);
	if (g->stop_after != 0 && g->n == g->stop_after)
		return 42;
	return 0;
}

static void query(struct store *s, const struct store_query *q, struct got *g)
{
	struct diag d = {""};
	size_t count = 999999;
	memset(g, 0, sizeof(*g));
	int rc = store_query(s, q, collect, g, &count, &d);
	if (rc != ST_OK)
		fprintf(stderr, "query: %s\n", d.msg);
	assert_int_equal(rc, ST_OK);
	assert_int_equal(count, g->n);
}

static void got_free(struct got *g)
{
	free(g->r);
	memset(g, 0, sizeof(*g));
}

static void check_ok(struct store *s)
{
	struct diag d = {""};
	int rc = store_check(s, &d);
	if (rc != ST_OK)
		fprintf(stderr, "check: %s\n", d.msg);
	assert_int_equal(rc, ST_OK);
}

static struct store_stats stats(struct store *s)
{
	struct store_stats st;
	assert_int_equal(store_stats(s, &st), ST_OK);
	return st;
}

/* A clock tests can stop and turn back. */
static _Atomic st_time fake_now;

static st_time fake_clock(void)
{
	return atomic_load(&fake_now);
}

/* ------------------------------------------------------------------ */
/* Open, create, schema                                                 */
/* ------------------------------------------------------------------ */

static void test_open_reopen(void **state)
{
	struct fx *f = *state;
	char inc[40], meta[64];
	struct store *s = NULL;
	struct diag d = {""};
	struct store_options nocreate = {0};
	uint8_t u[16];

	snprintf(inc, sizeof(inc), "%s", store_incarnation(f->s));
	assert_int_equal(strlen(inc), 36);
	assert_int_equal(uuid_parse(inc, 36, true, u), ST_OK);
	assert_int_equal(uuid_version(u), 4);
	assert_int_equal(
	    store_meta_get(f->s, "store.incarnation", meta, sizeof(meta)),
	    ST_OK);
	assert_string_equal(meta, inc);

	struct store_stats st = stats(f->s);
	assert_int_equal(st.versions, 0);
	assert_int_equal(st.objects, 0);
	assert_int_equal(st.collections, 0);
	assert_int_equal(st.last_seq, 0);
	assert_true(st.db_bytes > 0);

	/* Reopen without create: same incarnation. */
	reopen(f, &nocreate);
	assert_string_equal(store_incarnation(f->s), inc);

	/* A bare path names the same store. */
	char bare[1200];
	snprintf(bare, sizeof(bare), "%s/store.db", f->dir);
	assert_int_equal(store_open(bare, NULL, &s, &d), ST_OK);
	assert_string_equal(store_incarnation(s), inc);
	store_close(s);
	s = NULL;

	/* No store there, and create not asked. */
	char missing[1200];
	snprintf(missing, sizeof(missing), "sqlite:%s/none.db", f->dir);
	assert_int_equal(store_open(missing, &nocreate, &s, &d), ST_ENOTFOUND);
	assert_null(s);
	assert_int_equal(store_open("nosuch:/x", NULL, &s, &d), ST_EINVAL);
	assert_non_null(strstr(d.msg, "scheme"));

	/* A new store elsewhere has another incarnation. */
	struct store_options create = {.create = true};
	assert_int_equal(store_open(missing, &create, &s, &d), ST_OK);
	assert_string_not_equal(store_incarnation(s), inc);
	store_close(s);
	store_close(NULL);
}

static void test_schema_version(void **state)
{
	struct fx *f = *state;
	int64_t v = -1, rows = -1;
	struct store *s = NULL;
	struct diag d = {""};
	if (f->be->raw == NULL)
		skip();
	store_close(f->s);
	f->s = NULL;
	assert_int_equal(
	    f->be->raw(f->dir, "SELECT max(version) FROM schema_version", &v),
	    0);
	assert_int_equal(v, f->be->schema_latest());
	/* One row per migration applied, from 1. */
	assert_int_equal(
	    f->be->raw(f->dir,
		       "SELECT count(*) FROM schema_version"
		       " WHERE version BETWEEN 1 AND"
		       " (SELECT max(version) FROM schema_version)",
		       &rows),
	    0);
	assert_int_equal(rows, v);

	/* Reopening applies nothing twice. */
	f->s = open_store(f, NULL);
	store_close(f->s);
	f->s = NULL;
	assert_int_equal(
	    f->be->raw(f->dir, "SELECT count(*) FROM schema_version", &rows),
	    0);
	assert_int_equal(rows, v);

	/* A store from a newer program is refused. */
	assert_int_equal(f->be->raw(f->dir,
				    "INSERT INTO schema_version VALUES"
				    " (1000000, 0)",
				    NULL),
			 0);
	assert_int_equal(store_open(f->url, NULL, &s, &d), ST_ESTORE);
	assert_non_null(strstr(d.msg, "newer"));
	assert_null(s);
	assert_int_equal(f->be->raw(f->dir,
				    "DELETE FROM schema_version"
				    " WHERE version = 1000000",
				    NULL),
			 0);
	f->s = open_store(f, NULL);
}

static void test_not_a_store(void **state)
{
	struct fx *f = *state;
	struct store *s = NULL;
	struct diag d = {""};
	struct store_options create = {.create = true};
	char url[1300], path[1200];
	sqlite3 *db;
	snprintf(path, sizeof(path), "%s/other.db", f->dir);
	snprintf(url, sizeof(url), "sqlite:%s", path);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(db, "CREATE TABLE t(x)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_open(url, &create, &s, &d), ST_ESTORE);
	assert_non_null(strstr(d.msg, "not a strait store"));
	assert_null(s);
}

/* ------------------------------------------------------------------ */
/* Meta and collections                                                 */
/* ------------------------------------------------------------------ */

static void test_meta(void **state)
{
	struct fx *f = *state;
	char v[64], tiny[4];
	assert_int_equal(store_meta_get(f->s, "node.id", v, sizeof(v)),
			 ST_ENOTFOUND);
	assert_int_equal(store_meta_set(f->s, "node.id", "kr-ncsc"), ST_OK);
	assert_int_equal(store_meta_get(f->s, "node.id", v, sizeof(v)), ST_OK);
	assert_string_equal(v, "kr-ncsc");
	assert_int_equal(store_meta_set(f->s, "node.id", "jp-nisc"), ST_OK);
	assert_int_equal(store_meta_get(f->s, "node.id", tiny, sizeof(tiny)),
			 ST_ELIMIT);
	assert_int_equal(store_meta_set(f->s, "store.last_seq", "7"),
			 ST_EINVAL);
	reopen(f, NULL);
	assert_int_equal(store_meta_get(f->s, "node.id", v, sizeof(v)), ST_OK);
	assert_string_equal(v, "jp-nisc");
	assert_int_equal(store_meta_get(f->s, "store.last_seq", v, sizeof(v)),
			 ST_OK);
	assert_string_equal(v, "0");
}

struct clist {
	char ids[8][37];
	size_t n;
	size_t stop_at;
};

static int list_fn(void *ctx, const struct store_collection *c)
{
	struct clist *l = ctx;
	if (l->n < 8)
		snprintf(l->ids[l->n++], 37, "%s", c->id);
	return l->stop_at != 0 && l->n == l->stop_at ? 7 : 0;
}

static void test_collections(void **state)
{
	struct fx *f = *state;
	struct store_collection c;
	struct diag d = {""};

	/* Created out of id order: listing follows creation. */
	int64_t c2 = add_coll(f->s, C2, "alpha");
	int64_t c1 = add_coll(f->s, C1, "");
	int64_t c3 = add_coll(f->s, C3, "");
	assert_true(c1 != c2 && c1 != c3 && c2 != c3);

	memset(&c, 0, sizeof(c));
	snprintf(c.id, sizeof(c.id), "%s", C1);
	assert_int_equal(store_collection_add(f->s, &c, &d), ST_EEXIST);
	assert_non_null(strstr(d.msg, C1));
	snprintf(c.id, sizeof(c.id), "44444444-4444-4444-8444-444444444444");
	snprintf(c.alias, sizeof(c.alias), "alpha");
	assert_int_equal(store_collection_add(f->s, &c, &d), ST_EEXIST);
	assert_non_null(strstr(d.msg, "alpha"));
	snprintf(c.alias, sizeof(c.alias), "%s", C3);
	assert_int_equal(store_collection_add(f->s, &c, &d), ST_EINVAL);
	snprintf(c.id, sizeof(c.id), "not-a-uuid");
	c.alias[0] = '\0';
	assert_int_equal(store_collection_add(f->s, &c, &d), ST_EINVAL);
	snprintf(c.id, sizeof(c.id), "44444444-4444-4444-8444-44444444444A");
	assert_int_equal(store_collection_add(f->s, &c, &d), ST_EINVAL);

	memset(&c, 0, sizeof(c));
	assert_int_equal(store_collection_find(f->s, "alpha", &c), ST_OK);
	assert_string_equal(c.id, C2);
	assert_int_equal(c.cid, c2);
	assert_string_equal(c.title, "title of " C2);
	assert_int_equal(store_collection_find(f->s, C3, &c), ST_OK);
	assert_int_equal(c.cid, c3);
	assert_string_equal(c.alias, "");
	assert_int_equal(store_collection_find(f->s, "beta", &c), ST_ENOTFOUND);

	struct clist l = {.n = 0};
	assert_int_equal(store_collection_list(f->s, list_fn, &l), ST_OK);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.ids[0], C2);
	assert_string_equal(l.ids[1], C1);
	assert_string_equal(l.ids[2], C3);
	memset(&l, 0, sizeof(l));
	l.stop_at = 2;
	assert_int_equal(store_collection_list(f->s, list_fn, &l), 7);
	assert_int_equal(l.n, 2);

	reopen(f, NULL);
	assert_int_equal(store_collection_find(f->s, "alpha", &c), ST_OK);
	assert_int_equal(c.cid, c2);
	assert_int_equal(stats(f->s).collections, 3);
}

/* ------------------------------------------------------------------ */
/* Appending                                                            */
/* ------------------------------------------------------------------ */

static void test_append_versioned(void **state)
{
	struct fx *f = *state;
	struct store_item it;
	struct got g;

	it = one(f->s, 0, "indicator", 1, true, 1000, "a");
	assert_int_equal(it.result, STORE_STORED);
	assert_int_equal(it.seq, 1);
	assert_int_equal(it.stored_version, 1000);
	assert_false(it.added_to_collection);

	it = one(f->s, 0, "indicator", 1, true, 1000, "a");
	assert_int_equal(it.result, STORE_DUPLICATE);
	assert_int_equal(it.seq, 1);

	it = one(f->s, 0, "indicator", 1, true, 1000, "b");
	assert_int_equal(it.result, STORE_CONFLICT);
	assert_int_equal(it.seq, 1);

	it = one(f->s, 0, "indicator", 1, true, 2000, "b");
	assert_int_equal(it.result, STORE_STORED);
	assert_int_equal(it.seq, 2);

	/* The first content of (id, 1000) is kept. */
	struct store_query q = {.vsel = STORE_V_AT, .at = 1000};
	char id[STORE_ID_MAX];
	make_id(id, "indicator", 1);
	q.id = id;
	query(f->s, &q, &g);
	assert_int_equal(g.n, 1);
	assert_non_null(strstr(g.r[0].body, "\"x\":\"a\""));
	assert_string_equal(g.r[0].id, id);
	assert_int_equal(g.r[0].tlp, 1);
	got_free(&g);

	struct store_stats st = stats(f->s);
	assert_int_equal(st.versions, 2);
	assert_int_equal(st.objects, 1);
	assert_int_equal(st.last_seq, 2);
	check_ok(f->s);
}

static void test_append_sco(void **state)
{
	struct fx *f = *state;
	int64_t c = add_coll(f->s, C1, "");
	struct store_item a, b, n, again;

	a = one(f->s, c, "ipv4-addr", 7, false, 0, "one");
	assert_int_equal(a.result, STORE_STORED);
	assert_true(a.added_to_collection);
	/* An SCO's version key is its first date_added. */
	assert_true(a.stored_version > 0);
	assert_int_equal(a.stored_version, a.date_added);

	b = one(f->s, c, "ipv4-addr", 7, false, 0, "one");
	assert_int_equal(b.result, STORE_DUPLICATE);
	assert_int_equal(b.seq, a.seq);
	assert_int_equal(b.stored_version, a.stored_version);
	assert_false(b.added_to_collection);

	n = one(f->s, c, "ipv4-addr", 7, false, 0, "two");
	assert_int_equal(n.result, STORE_STORED);
	assert_true(n.seq > a.seq);
	assert_true(n.stored_version > a.stored_version);

	again = one(f->s, c, "ipv4-addr", 7, false, 0, "one");
	assert_int_equal(again.result, STORE_DUPLICATE);
	assert_int_equal(again.seq, a.seq);

	/* Same UUID, another SCO type: another object. */
	struct store_item other =
	    one(f->s, c, "domain-name", 7, false, 0, "one");
	assert_int_equal(other.result, STORE_STORED);

	/* Without a collection an SCO still gets a version key. */
	struct store_item lone = one(f->s, 0, "url", 9, false, 0, "u");
	assert_int_equal(lone.result, STORE_STORED);
	assert_true(lone.stored_version > other.stored_version);
	assert_false(lone.added_to_collection);

	struct store_stats st = stats(f->s);
	assert_int_equal(st.versions, 4);
	assert_int_equal(st.objects, 3);
	check_ok(f->s);
}

static void test_same_key_in_batch(void **state)
{
	struct fx *f = *state;
	int64_t c = add_coll(f->s, C1, "");
	struct tb t;
	tb_init(&t, 6, c);
	tb_set(&t, 0, "malware", 1, true, 500, "a");
	tb_set(&t, 1, "malware", 1, true, 500, "a");
	tb_set(&t, 2, "malware", 1, true, 500, "b");
	tb_set(&t, 3, "file", 2, false, 0, "f");
	tb_set(&t, 4, "file", 2, false, 0, "f");
	tb_set(&t, 5, "file", 2, false, 0, "g");
	append_ok(f->s, &t);
	struct store_item *it = t.b.items;
	assert_int_equal(it[0].result, STORE_STORED);
	assert_true(it[0].added_to_collection);
	assert_int_equal(it[1].result, STORE_DUPLICATE);
	assert_false(it[1].added_to_collection);
	assert_int_equal(it[1].seq, it[0].seq);
	assert_int_equal(it[2].result, STORE_CONFLICT);
	assert_false(it[2].added_to_collection);
	assert_int_equal(it[3].result, STORE_STORED);
	assert_int_equal(it[4].result, STORE_DUPLICATE);
	assert_int_equal(it[4].seq, it[3].seq);
	assert_int_equal(it[5].result, STORE_STORED);
	assert_int_equal(it[5].seq, it[3].seq + 1);
	tb_free(&t);

	struct got g;
	struct store_query q = {.cid = c, .vsel = STORE_V_ALL};
	query(f->s, &q, &g);
	assert_int_equal(g.n, 3);
	got_free(&g);
	check_ok(f->s);
}

static void test_duplicate_new_collection(void **state)
{
	struct fx *f = *state;
	int64_t c1 = add_coll(f->s, C1, "");
	int64_t c2 = add_coll(f->s, C2, "");
	struct store_item a, b, again, conf;
	struct got g;

	a = one(f->s, c1, "report", 3, true, 100, "r");
	assert_int_equal(a.result, STORE_STORED);
	b = one(f->s, c2, "report", 3, true, 100, "r");
	assert_int_equal(b.result, STORE_DUPLICATE);
	assert_true(b.added_to_collection);
	assert_true(b.date_added > a.date_added);
	again = one(f->s, c2, "report", 3, true, 100, "r");
	assert_int_equal(again.result, STORE_DUPLICATE);
	assert_false(again.added_to_collection);
	assert_int_equal(again.date_added, 0);
	conf = one(f->s, c2, "report", 3, true, 100, "other");
	assert_int_equal(conf.result, STORE_CONFLICT);
	assert_false(conf.added_to_collection);

	struct store_query q = {.cid = c2, .vsel = STORE_V_ALL};
	query(f->s, &q, &g);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.r[0].seq, a.seq);
	assert_int_equal(g.r[0].date_added, b.date_added);
	got_free(&g);
	q.cid = c1;
	query(f->s, &q, &g);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.r[0].date_added, a.date_added);
	got_free(&g);
	assert_int_equal(stats(f->s).versions, 1);
}

static void test_bad_batches(void **state)
{
	struct fx *f = *state;
	struct tb t;

	/* Malformed ids are refused at submit, and wait agrees. */
	tb_init(&t, 2, 0);
	tb_set(&t, 0, "indicator", 1, true, 1, "a");
	tb_set(&t, 1, "indicator", 2, true, 1, "a");
	t.ids[1][strlen(t.ids[1]) - 1] = 'X';
	assert_int_equal(store_submit(f->s, &t.b), ST_EINVAL);
	assert_int_equal(store_wait(f->s, &t.b), ST_EINVAL);
	assert_non_null(strstr(t.b.diag.msg, "item 1"));
	assert_int_equal(t.b.items[0].result, STORE_FAILED);
	tb_free(&t);

	/* A missing collection fails its batch, not its neighbours. */
	struct tb good1, bad, good2;
	tb_init(&good1, 1, 0);
	tb_set(&good1, 0, "indicator", 10, true, 1, "g1");
	tb_init(&bad, 2, 9999);
	tb_set(&bad, 0, "indicator", 11, true, 1, "b");
	tb_set(&bad, 1, "indicator", 12, true, 1, "b");
	tb_init(&good2, 1, 0);
	tb_set(&good2, 0, "indicator", 13, true, 1, "g2");
	assert_int_equal(store_submit(f->s, &good1.b), ST_OK);
	assert_int_equal(store_submit(f->s, &bad.b), ST_OK);
	assert_int_equal(store_submit(f->s, &good2.b), ST_OK);
	assert_int_equal(store_wait(f->s, &good1.b), ST_OK);
	assert_int_equal(store_wait(f->s, &bad.b), ST_ENOTFOUND);
	assert_int_equal(store_wait(f->s, &good2.b), ST_OK);
	assert_non_null(strstr(bad.b.diag.msg, "9999"));
	assert_int_equal(bad.b.items[0].result, STORE_FAILED);
	assert_int_equal(bad.b.items[1].result, STORE_FAILED);
	assert_int_equal(good1.b.items[0].result, STORE_STORED);
	assert_int_equal(good2.b.items[0].result, STORE_STORED);
	assert_int_equal(good2.b.items[0].seq, good1.b.items[0].seq + 1);
	tb_free(&good1);
	tb_free(&bad);
	tb_free(&good2);
	assert_int_equal(stats(f->s).versions, 2);

	/* An empty batch is fine. */
	tb_init(&t, 0, 0);
	assert_int_equal(store_append(f->s, &t.b), ST_OK);
	tb_free(&t);
	check_ok(f->s);
}

/*
 * A database failure inside a group rolls the group back; its batches are
 * retried alone, so only the failing one fails, and nothing of it (not
 * even a seq) is left behind.
 */
static void test_failure_rolls_back(void **state)
{
	struct fx *f = *state;
	int64_t c = add_coll(f->s, C1, "");
	enum { NB = 6, BIG = 20000 };
	struct tb big, t[NB];
	if (f->be->raw == NULL)
		skip();
	assert_int_equal(f->be->raw(f->dir,
				    "CREATE TRIGGER poison BEFORE INSERT ON"
				    " versions WHEN NEW.body LIKE '%POISON%'"
				    " BEGIN SELECT RAISE(ABORT, 'poisoned');"
				    " END",
				    NULL),
			 0);
	/* Keeps the writer busy so that the small batches form a group. */
	tb_init(&big, BIG, c);
	for (size_t i = 0; i < BIG; i++)
		tb_set(&big, i, "indicator", 100000 + i, true, 5, "big");
	assert_int_equal(store_submit(f->s, &big.b), ST_OK);
	for (int i = 0; i < NB; i++) {
		tb_init(&t[i], 3, c);
		for (int k = 0; k < 3; k++)
			tb_set(&t[i], (size_t)k, "sighting",
			       (uint64_t)(i * 10 + k), true, 9,
			       i == 2 && k == 1 ? "POISON" : "fine");
		assert_int_equal(store_submit(f->s, &t[i].b), ST_OK);
	}
	assert_int_equal(store_wait(f->s, &big.b), ST_OK);
	uint64_t prev = big.b.items[BIG - 1].seq;
	st_time prev_date = big.b.items[BIG - 1].date_added;
	for (int i = 0; i < NB; i++) {
		int rc = store_wait(f->s, &t[i].b);
		for (int k = 0; k < 3; k++) {
			struct store_item *it = &t[i].b.items[k];
			if (i == 2) {
				assert_int_equal(it->result, STORE_FAILED);
				continue;
			}
			assert_int_equal(it->result, STORE_STORED);
			assert_int_equal(it->seq, prev + 1);
			assert_true(it->date_added > prev_date);
			prev = it->seq;
			prev_date = it->date_added;
		}
		if (i == 2) {
			assert_int_equal(rc, ST_ESTORE);
			assert_non_null(strstr(t[i].b.diag.msg, "poisoned"));
		} else {
			assert_int_equal(rc, ST_OK);
		}
		tb_free(&t[i]);
	}
	tb_free(&big);
	struct store_stats st = stats(f->s);
	assert_int_equal(st.versions, BIG + 3 * (NB - 1));
	assert_int_equal(st.last_seq, st.versions);
	check_ok(f->s);
}

/* date_added and seq strictly increase, whatever the clock says. */
static void test_monotonic_clock(void **state)
{
	struct fx *f = *state;
	int64_t c = add_coll(f->s, C1, "");
	enum { N = 5000 };
	const st_time T = 1700000000000000;
	struct tb t;

	store_set_clock_for_test(fake_clock);
	atomic_store(&fake_now, T);
	tb_init(&t, N, c);
	for (size_t i = 0; i < N; i++)
		tb_set(&t, i, i % 2 ? "indicator" : "ipv4-addr", i, i % 2, 10,
		       "same microsecond");
	append_ok(f->s, &t);
	assert_true(t.b.items[0].date_added >= T);
	for (size_t i = 1; i < N; i++) {
		assert_int_equal(t.b.items[i].result, STORE_STORED);
		assert_int_equal(t.b.items[i].seq, t.b.items[i - 1].seq + 1);
		assert_int_equal(t.b.items[i].date_added,
				 t.b.items[i - 1].date_added + 1);
	}
	st_time last = t.b.items[N - 1].date_added;
	tb_free(&t);

	/* The clock steps back an hour. */
	atomic_store(&fake_now, T - 3600000000ll);
	struct store_item a = one(f->s, c, "indicator", 999999, true, 1, "x");
	assert_int_equal(a.date_added, last + 1);

	/* And stays back across a restart: the mark is persisted. */
	reopen(f, NULL);
	struct store_item b = one(f->s, c, "indicator", 999998, true, 1, "x");
	assert_int_equal(b.date_added, last + 2);
	assert_int_equal(b.seq, a.seq + 1);

	/* When the clock moves on, date_added follows it. */
	atomic_store(&fake_now, T + 3600000000ll);
	struct store_item n = one(f->s, c, "indicator", 999997, true, 1, "x");
	assert_int_equal(n.date_added, T + 3600000000ll);
	check_ok(f->s);
}

/* ------------------------------------------------------------------ */
/* Reading                                                              */
/* ------------------------------------------------------------------ */

static void test_query_versions(void **state)
{
	struct fx *f = *state;
	int64_t c = add_coll(f->s, C1, "");
	int64_t c2 = add_coll(f->s, C2, "");
	char id[STORE_ID_MAX];
	struct got g;
	make_id(id, "indicator", 5);

	/* v100 and v300 first; v200 arrives late (greatest seq). */
	one(f->s, c, "indicator", 5, true, 100, "v100");
	one(f->s, c2, "indicator", 5, true, 300, "v300");
	struct store_item late =
	    one(f->s, c, "indicator", 5, true, 200, "v200");
	assert_int_equal(late.seq, 3);
	one(f->s, c, "indicator", 6, true, 100, "other object");

	struct store_query q = {.id = id};
	q.vsel = STORE_V_LAST;
	query(f->s, &q, &g);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.r[0].version, 300);
	assert_int_equal(g.r[0].date_added, 0);
	got_free(&g);

	q.vsel = STORE_V_FIRST;
	query(f->s, &q, &g);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.r[0].version, 100);
	got_free(&g);

	q.vsel = STORE_V_ALL;
	query(f->s, &q, &g);
	assert_int_equal(g.n, 3);
	assert_int_equal(g.r[0].version, 100);
	assert_int_equal(g.r[1].version, 300);
	assert_int_equal(g.r[2].version, 200);
	got_free(&g);

	q.vsel = STORE_V_AT;
	q.at = 200;
	query(f->s, &q, &g);
	assert_int_equal(g.n, 1);
	assert_non_null(strstr(g.r[0].body, "v200"));
	got_free(&g);
	q.at = 250;
	query(f->s, &q, &g);
	assert_int_equal(g.n, 0);
	got_free(&g);

	/* In collection c, v300 is not a member: last there is v200. */
	q.vsel = STORE_V_LAST;
	q.cid = c;
	query(f->s, &q, &g);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.r[0].version, 200);
	assert_int_equal(g.r[0].date_added, late.date_added);
	got_free(&g);

	/* The whole log, last versions only, in seq order. */
	struct store_query all = {.vsel = STORE_V_LAST};
	query(f->s, &all, &g);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.r[0].version, 300);
	assert_int_equal(g.r[1].seq, 4);
	got_free(&g);
	all.cid = c;
	query(f->s, &all, &g);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.r[0].version, 200); /* ordered by date_added */
	assert_int_equal(g.r[1].seq, 4);
	got_free(&g);
	all.vsel = STORE_V_FIRST;
	query(f->s, &all, &g);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.r[0].version, 100);
	got_free(&g);

	/* Unknown ids and types match nothing; bad ids are errors. */
	char nid[STORE_ID_MAX];
	make_id(nid, "indicator", 77);
	q.id = nid;
	q.cid = 0;
	query(f->s, &q, &g);
	assert_int_equal(g.n, 0);
	got_free(&g);
	make_id(nid, "x-never-seen", 5);
	query(f->s, &q, &g);
	assert_int_equal(g.n, 0);
	got_free(&g);
	q.id = "indicator--nope";
	struct diag d;
	assert_int_equal(store_query(f->s, &q, collect, &g, NULL, &d),
			 ST_EINVAL);
	struct store_query aa = {.added_after = 5};
	assert_int_equal(store_query(f->s, &aa, collect, &g, NULL, &d),
			 ST_EINVAL);
}

struct tcount {
	char names[8][32];
	uint64_t n[8];
	size_t k;
};

static int type_fn(void *ctx, const char *type, uint64_t versions)
{
	struct tcount *t = ctx;
	if (t->k < 8) {
		snprintf(t->names[t->k], 32, "%s", type);
		t->n[t->k++] = versions;
	}
	return 0;
}

static void test_query_types(void **state)
{
	struct fx *f = *state;
	int64_t c = add_coll(f->s, C1, "");
	static const char *const kinds[] = {"malware", "indicator",
					    "x-custom-thing", "ipv4-addr"};
	struct tb t;
	struct got g;
	tb_init(&t, 40, c);
	for (size_t i = 0; i < 40; i++)
		tb_set(&t, i, kinds[i % 4], i, i % 4 != 3, 10, "t");
	append_ok(f->s, &t);
	tb_free(&t);

	const char *const want[] = {"indicator", "x-custom-thing", NULL};
	struct store_query q = {.types = want, .vsel = STORE_V_ALL};
	query(f->s, &q, &g);
	assert_int_equal(g.n, 20);
	for (size_t i = 0; i < g.n; i++) {
		assert_true(strncmp(g.r[i].id, "indicator--", 11) == 0 ||
			    strncmp(g.r[i].id, "x-custom-thing--", 16) == 0);
		if (i > 0)
			assert_true(g.r[i].seq > g.r[i - 1].seq);
	}
	got_free(&g);

	const char *const some[] = {"nothing", "malware", NULL};
	q.types = some;
	q.cid = c;
	query(f->s, &q, &g);
	assert_int_equal(g.n, 10);
	for (size_t i = 1; i < g.n; i++)
		assert_true(g.r[i].date_added > g.r[i - 1].date_added);
	got_free(&g);

	const char *const none[] = {"nothing", NULL};
	q.types = none;
	query(f->s, &q, &g);
	assert_int_equal(g.n, 0);
	got_free(&g);

	struct tcount tc = {.k = 0};
	assert_int_equal(store_count_by_type(f->s, type_fn, &tc), ST_OK);
	assert_int_equal(tc.k, 4);
	assert_string_equal(tc.names[0], "indicator");
	assert_string_equal(tc.names[1], "ipv4-addr");
	assert_string_equal(tc.names[2], "malware");
	assert_string_equal(tc.names[3], "x-custom-thing");
	for (int i = 0; i < 4; i++)
		assert_int_equal(tc.n[i], 10);
}

static void test_query_collection_order(void **state)
{
	struct fx *f = *state;
	int64_t c1 = add_coll(f->s, C1, "");
	int64_t c2 = add_coll(f->s, C2, "");
	struct got g;
	/* Log order A B C; collection c2 gets C, then A: by date_added. */
	struct store_item a = one(f->s, c1, "tool", 1, true, 1, "a");
	one(f->s, c1, "tool", 2, true, 1, "b");
	struct store_item cc = one(f->s, c2, "tool", 3, true, 1, "c");
	struct store_item a2 = one(f->s, c2, "tool", 1, true, 1, "a");
	assert_true(a2.added_to_collection);

	struct store_query q = {.cid = c2, .vsel = STORE_V_ALL};
	query(f->s, &q, &g);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.r[0].seq, cc.seq);
	assert_int_equal(g.r[0].date_added, cc.date_added);
	assert_int_equal(g.r[1].seq, a.seq);
	assert_int_equal(g.r[1].date_added, a2.date_added);
	got_free(&g);

	q.added_after = cc.date_added;
	query(f->s, &q, &g);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.r[0].seq, a.seq);
	got_free(&g);

	/* after_seq applies with a collection too. */
	q.added_after = 0;
	q.after_seq = a.seq;
	query(f->s, &q, &g);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.r[0].seq, cc.seq);
	got_free(&g);
}

static int count_only(void *ctx, const struct store_row *row)
{
	(void)row;
	(*(size_t *)ctx)++;
	return 0;
}

static void test_paging(void **state)
{
	struct fx *f = *state;
	int64_t c = add_coll(f->s, C1, "");
	enum { N = 2500, PAGE = 97 };
	struct tb t;
	struct got g;
	tb_init(&t, N, c);
	for (size_t i = 0; i < N; i++)
		tb_set(&t, i, i % 3 ? "indicator" : "url", i, i % 3 != 0, 7,
		       "page");
	append_ok(f->s, &t);
	tb_free(&t);
	/* Another collection's rows must not leak into c's pages. */
	int64_t other = add_coll(f->s, C2, "");
	one(f->s, other, "indicator", 777777, true, 7, "other");

	static unsigned char seen[N + 2];
	memset(seen, 0, sizeof(seen));
	struct store_query q = {.vsel = STORE_V_ALL, .limit = PAGE};
	size_t total = 0, pages = 0;
	for (;;) {
		query(f->s, &q, &g);
		assert_true(g.n <= PAGE);
		for (size_t i = 0; i < g.n; i++) {
			assert_true(g.r[i].seq > q.after_seq);
			if (g.r[i].seq <= N) {
				assert_int_equal(seen[g.r[i].seq], 0);
				seen[g.r[i].seq] = 1;
			}
			q.after_seq = g.r[i].seq;
		}
		total += g.n;
		pages++;
		size_t n = g.n;
		got_free(&g);
		if (n < PAGE)
			break;
	}
	assert_int_equal(total, N + 1);
	assert_int_equal(pages, (N + 1) / PAGE + 1);

	memset(seen, 0, sizeof(seen));
	struct store_query qc = {.cid = c, .vsel = STORE_V_ALL, .limit = PAGE};
	total = 0;
	for (;;) {
		query(f->s, &qc, &g);
		for (size_t i = 0; i < g.n; i++) {
			assert_true(g.r[i].date_added > qc.added_after);
			assert_true(g.r[i].seq <= N);
			assert_int_equal(seen[g.r[i].seq], 0);
			seen[g.r[i].seq] = 1;
			qc.added_after = g.r[i].date_added;
		}
		total += g.n;
		size_t n = g.n;
		got_free(&g);
		if (n < PAGE)
			break;
	}
	assert_int_equal(total, N);

	/* The callback may stop early; its value comes back. */
	struct store_query all = {.vsel = STORE_V_ALL};
	size_t count = 0;
	memset(&g, 0, sizeof(g));
	g.stop_after = 3;
	assert_int_equal(store_query(f->s, &all, collect, &g, &count, NULL),
			 42);
	assert_int_equal(count, 3);
	got_free(&g);
	size_t n = 0;
	assert_int_equal(store_query(f->s, &all, count_only, &n, NULL, NULL),
			 ST_OK);
	assert_int_equal(n, N + 1);
}

/* ------------------------------------------------------------------ */
/* Concurrency                                                          */
/* ------------------------------------------------------------------ */

struct feeder {
	struct store *s;
	int64_t cid;
	int nbatches;
	atomic_bool done;
	uint64_t appended;
	int failures;
};

static void *feed(void *arg)
{
	struct feeder *fe = arg;
	for (int i = 0; i < fe->nbatches; i++) {
		struct tb t;
		size_t n = (size_t)(i % 5) + 1;
		tb_init(&t, n, fe->cid);
		for (size_t k = 0; k < n; k++)
			tb_set(&t, k, "indicator", (uint64_t)i * 10 + k, true,
			       1, "feed");
		if (store_append(fe->s, &t.b) != ST_OK)
			fe->failures++;
		fe->appended += n;
		tb_free(&t);
	}
	atomic_store(&fe->done, true);
	return NULL;
}

struct prefix {
	uint64_t expect;
	bool gap;
};

static int check_prefix(void *ctx, const struct store_row *row)
{
	struct prefix *p = ctx;
	if (row->seq != p->expect)
		p->gap = true;
	p->expect = row->seq + 1;
	return 0;
}

/*
 * While a writer appends many small batches, a reader sees the log grow
 * as contiguous prefixes: querying after k it gets exactly k+1..m, never
 * a gap, and never less than it saw before.
 */
static void test_reader_sees_prefix(void **state)
{
	struct fx *f = *state;
	struct feeder fe = {.s = f->s, .nbatches = 1500};
	pthread_t th;
	uint64_t seen = 0;
	unsigned polls = 0, grew = 0;
	srand(7);
	assert_int_equal(pthread_create(&th, NULL, feed, &fe), 0);
	for (bool last = false; !last;) {
		last = atomic_load(&fe.done);
		uint64_t back =
		    seen ? (uint64_t)rand() % (seen < 25 ? seen : 25) : 0;
		struct store_query q = {.vsel = STORE_V_ALL,
					.after_seq = seen - back};
		struct prefix p = {.expect = q.after_seq + 1};
		size_t n = 0;
		assert_int_equal(
		    store_query(f->s, &q, check_prefix, &p, &n, NULL), ST_OK);
		assert_false(p.gap);
		uint64_t m = p.expect - 1;
		assert_true(m >= seen);
		grew += m > seen;
		seen = m;
		polls++;
	}
	pthread_join(th, NULL);
	assert_int_equal(fe.failures, 0);
	assert_int_equal(seen, fe.appended);
	assert_int_equal(stats(f->s).last_seq, fe.appended);
	/* The reader did watch the log grow, many times. */
	assert_true(grew > 10);
	(void)polls;
}

struct submitter {
	struct store *s;
	int64_t cid;
	int who;
	struct tb t[25];
	int bad;
};

static void *submit_many(void *arg)
{
	struct submitter *sb = arg;
	for (int i = 0; i < 25; i++) {
		tb_init(&sb->t[i], 20, sb->cid);
		for (size_t k = 0; k < 20; k++)
			tb_set(&sb->t[i], k, "campaign",
			       (uint64_t)sb->who * 100000 + (uint64_t)i * 100 +
				   k,
			       true, 3, "c");
		if (store_submit(sb->s, &sb->t[i].b) != ST_OK)
			sb->bad++;
	}
	for (int i = 0; i < 25; i++) {
		if (store_wait(sb->s, &sb->t[i].b) != ST_OK)
			sb->bad++;
		for (size_t k = 0; k < 20; k++)
			if (sb->t[i].b.items[k].result != STORE_STORED)
				sb->bad++;
	}
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Four threads submitting at once: all answered, and grouped. */
static void test_group_commit(void **state)
{
	struct fx *f = *state;
	int64_t c = add_coll(f->s, C1, "");
	enum { NT = 4, NB = 25, NI = 20 };
	struct submitter *sb = calloc(NT, sizeof(*sb));
	pthread_t th[NT];
	struct store_stats before = stats(f->s);
	uint64_t *seqs = calloc(NT * NB * NI, sizeof(*seqs));
	size_t ns = 0;
	assert_non_null(sb);
	assert_non_null(seqs);
	for (int i = 0; i < NT; i++) {
		sb[i].s = f->s;
		sb[i].cid = c;
		sb[i].who = i;
		assert_int_equal(
		    pthread_create(&th[i], NULL, submit_many, &sb[i]), 0);
	}
	for (int i = 0; i < NT; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < NT; i++) {
		assert_int_equal(sb[i].bad, 0);
		for (int b = 0; b < NB; b++) {
			for (int k = 0; k < NI; k++)
				seqs[ns++] = sb[i].t[b].b.items[k].seq;
			tb_free(&sb[i].t[b]);
		}
	}
	qsort(seqs, ns, sizeof(*seqs), cmp_u64);
	for (size_t i = 0; i < ns; i++)
		assert_int_equal(seqs[i], i + 1);
	struct store_stats after = stats(f->s);
	uint64_t batches = after.batches - before.batches;
	uint64_t commits = after.commits - before.commits;
	assert_int_equal(batches, NT * NB);
	assert_true(commits >= 1);
	/* Group commit: far fewer transactions than batches. */
	assert_true(commits <= batches / 2);
	assert_int_equal(after.versions, NT * NB * NI);
	free(seqs);
	free(sb);
	check_ok(f->s);
}

/* A batch larger than batch_max spans transactions, reported once. */
static void test_batch_max(void **state)
{
	struct fx *f = *state;
	struct store_options o = {.create = true, .batch_max = 100};
	struct tb t;
	reopen(f, &o);
	struct store_stats before = stats(f->s);
	tb_init(&t, 1050, 0);
	for (size_t i = 0; i < 1050; i++)
		tb_set(&t, i, "note", i, true, 1, "n");
	append_ok(f->s, &t);
	for (size_t i = 0; i < 1050; i++) {
		assert_int_equal(t.b.items[i].result, STORE_STORED);
		assert_int_equal(t.b.items[i].seq, i + 1);
	}
	tb_free(&t);
	struct store_stats after = stats(f->s);
	assert_int_equal(after.commits - before.commits, 11);
	assert_int_equal(after.batches - before.batches, 1);
	assert_int_equal(after.versions, 1050);
}

/* ------------------------------------------------------------------ */
/* Crash safety                                                         */
/* ------------------------------------------------------------------ */

/* The child: append until killed, reporting each committed total. */
static void kill_child(const char *url, int fd, unsigned seed)
{
	struct store *s = NULL;
	struct store_options o = {.checkpoint_pages = 64};
	struct store_collection c;
	struct store_stats st;
	uint64_t total;
	if (store_open(url, &o, &s, NULL) != ST_OK ||
	    store_collection_find(s, "crash", &c) != ST_OK ||
	    store_stats(s, &st) != ST_OK)
		_exit(3);
	total = st.versions;
	srand(seed);
	for (uint64_t round = 0;; round++) {
		struct tb t;
		size_t n = 50 + (size_t)rand() % 200;
		tb_init(&t, n, c.cid);
		for (size_t i = 0; i < n; i++) {
			uint8_t u[16];
			uint64_t num = 0;
			uuid_v4(u); /* only the randomness */
			memcpy(&num, u, 8);
			tb_set(&t, i, "indicator", num, true, 1,
			       "crash test body with some bytes in it");
		}
		if (store_append(s, &t.b) != ST_OK)
			_exit(4);
		for (size_t i = 0; i < n; i++)
			total += t.b.items[i].result == STORE_STORED;
		if (write(fd, &total, sizeof(total)) != sizeof(total))
			_exit(5);
		tb_free(&t);
	}
}

static void test_sigkill(void **state)
{
	struct fx *f = *state;
	add_coll(f->s, "55555555-5555-4555-8555-555555555555", "crash");
	store_close(f->s);
	f->s = NULL;
	for (unsigned round = 0; round < 4; round++) {
		int p[2];
		uint64_t reported = 0, v;
		assert_int_equal(pipe(p), 0);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(p[0]);
			kill_child(f->url, p[1], round + 1);
		}
		close(p[1]);
		/* Let it commit a while, then kill it mid-flight. */
		uint64_t target = reported + 2000 + round * 1500;
		ssize_t r;
		while ((r = read(p[0], &v, sizeof(v))) == sizeof(v)) {
			reported = v;
			if (v >= target)
				break;
		}
		assert_int_equal(r, sizeof(v));
		struct timespec ts = {0, (long)(round * 3 + 1) * 1000000L};
		nanosleep(&ts, NULL);
		assert_int_equal(kill(pid, SIGKILL), 0);
		while (read(p[0], &v, sizeof(v)) == sizeof(v))
			reported = v;
		close(p[0]);
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status));
		assert_int_equal(WTERMSIG(status), SIGKILL);

		f->s = open_store(f, NULL);
		struct store_stats st = stats(f->s);
		assert_true(st.versions >= reported);
		/* At most the batch in flight may be there beyond it. */
		assert_true(st.versions <= reported + 250);
		assert_int_equal(st.last_seq, st.versions);
		check_ok(f->s);
		struct store_collection c;
		assert_int_equal(store_collection_find(f->s, "crash", &c),
				 ST_OK);
		struct store_query q = {.cid = c.cid, .vsel = STORE_V_ALL};
		size_t n = 0;
		assert_int_equal(
		    store_query(f->s, &q, count_only, &n, NULL, NULL), ST_OK);
		assert_int_equal(n, st.versions);
		store_close(f->s);
		f->s = NULL;
	}
	f->s = open_store(f, NULL);
}

/* The check notices damage it did not make (so a clean check means
 * something). */
static void test_check_detects(void **state)
{
	struct fx *f = *state;
	int64_t c = add_coll(f->s, C1, "");
	struct diag d = {""};
	if (f->be->raw == NULL)
		skip();
	one(f->s, c, "indicator", 1, true, 1, "a");
	one(f->s, c, "indicator", 2, true, 1, "b");
	check_ok(f->s);
	store_close(f->s);
	f->s = NULL;
	assert_int_equal(
	    f->be->raw(f->dir, "DELETE FROM versions WHERE seq = 2", NULL), 0);
	f->s = open_store(f, NULL);
	assert_int_equal(store_check(f->s, &d), ST_ESTORE);
	assert_non_null(strstr(d.msg, "membership without a version"));
}

/* ------------------------------------------------------------------ */

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_open_reopen),
	    T(test_schema_version),
	    T(test_not_a_store),
	    T(test_meta),
	    T(test_collections),
	    T(test_append_versioned),
	    T(test_append_sco),
	    T(test_same_key_in_batch),
	    T(test_duplicate_new_collection),
	    T(test_bad_batches),
	    T(test_failure_rolls_back),
	    T(test_monotonic_clock),
	    T(test_query_versions),
	    T(test_query_types),
	    T(test_query_collection_order),
	    T(test_paging),
	    T(test_reader_sees_prefix),
	    T(test_group_commit),
	    T(test_batch_max),
	    T(test_sigkill),
	    T(test_check_detects),
	};
	int failed = 0;
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
		cur_backend = &backends[i];
		failed += _cmocka_run_group_tests(
		    backends[i].name, tests, sizeof(tests) / sizeof(tests[0]),
		    NULL, NULL);
	}
	return failed != 0;
}
