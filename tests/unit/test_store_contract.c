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
#include <sys/stat.h>
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
	/* Makes a new store in dir at an older schema version (no later
	 * migrations); NULL when not available. */
	int (*create_at_schema)(const char *dir, int version);
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

static int sqlite_create_at_schema(const char *dir, int version)
{
	char path[4096];
	struct diag d = {""};
	snprintf(path, sizeof(path), "%s/store.db", dir);
	int rc = sq_create_at_schema_for_test(path, version, &d);
	if (rc != ST_OK)
		fprintf(stderr, "create at schema %d: %s\n", version, d.msg);
	return rc;
}

static const struct backend backends[] = {
    {"sqlite", sqlite_create_at_schema, sqlite_url, sqlite_raw,
     sq_schema_latest},
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

/* STRAIT_TEST_KEYS_RECENT_MAX: every store of the run merges its recent
 * keys that often (the second CTest entry sets it low, so every test also
 * runs across many merges of the key tables). */
static uint32_t keys_recent_max(void)
{
	const char *e = getenv("STRAIT_TEST_KEYS_RECENT_MAX");
	return e != NULL ? (uint32_t)strtoul(e, NULL, 10) : 0;
}

static struct store *open_store(struct fx *f, const struct store_options *o)
{
	struct store *s = NULL;
	struct diag d = {""};
	struct store_options use = {.create = true};
	if (o != NULL)
		use = *o;
	if (use.keys_recent_max == 0)
		use.keys_recent_max = keys_recent_max();
	int rc = store_open(f->url, &use, &s, &d);
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

static void gate_set(bool closed);

static int teardown(void **state)
{
	struct fx *f = *state;
	gate_set(false); /* a failed test may have left the writer held */
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
		bool has_body;
		char spec[8];
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
	r->has_body = row->body != NULL;
	snprintf(r->body, sizeof(r->body), "%.*s", (int)row->body_len,
		 row->body != NULL ? row->body : "");
	snprintf(r->spec, sizeof(r->spec), "%s",
		 row->spec_version != NULL ? row->spec_version : "");
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

/* The key index's two tables: a version whose key is gone, and a key in
 * both tables, are reported. */
static void test_check_keys(void **state)
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
	assert_int_equal(f->be->raw(f->dir,
				    "INSERT INTO keys_recent SELECT * FROM"
				    " keys_main WHERE seq = 1",
				    NULL),
			 0);
	assert_int_equal(f->be->raw(f->dir,
				    "INSERT OR IGNORE INTO keys_main SELECT *"
				    " FROM keys_recent WHERE seq = 1",
				    NULL),
			 0);
	f->s = open_store(f, NULL);
	assert_int_equal(store_check(f->s, &d), ST_ESTORE);
	assert_non_null(strstr(d.msg, "in both key tables"));
	store_close(f->s);
	f->s = NULL;
	assert_int_equal(f->be->raw(f->dir,
				    "DELETE FROM keys_main WHERE seq = 2;"
				    " DELETE FROM keys_recent WHERE seq = 2",
				    NULL),
			 0);
	f->s = open_store(f, NULL);
	assert_int_equal(store_check(f->s, &d), ST_ESTORE);
	assert_non_null(strstr(d.msg, "version without its key"));
}

/* ------------------------------------------------------------------ */
/* TAXII pages                                                          */
/* ------------------------------------------------------------------ */

/* Who may see a row: seq % mod == 0 (mod 0: everyone), or exactly the
 * listed seqs when seqs is set. */
struct vis {
	uint64_t mod;
	const uint64_t *seqs;
	size_t nseqs;
	size_t calls;
};

static bool vis_fn(void *ctx, const struct store_row *row)
{
	struct vis *v = ctx;
	v->calls++;
	if (v->seqs != NULL) {
		for (size_t i = 0; i < v->nseqs; i++)
			if (v->seqs[i] == row->seq)
				return true;
		return false;
	}
	return v->mod == 0 || row->seq % v->mod == 0;
}

/* Runs a page and checks what every page must satisfy. */
static struct store_page_result
page(struct store *s, const struct store_page_query *q, struct got *g)
{
	struct store_page_result res;
	struct diag d = {""};
	memset(g, 0, sizeof(*g));
	int rc = store_page(s, q, collect, g, &res, &d);
	if (rc != ST_OK)
		fprintf(stderr, "page: %s\n", d.msg);
	assert_int_equal(rc, ST_OK);
	assert_int_equal(res.rows, g->n);
	assert_true(g->n <= q->limit);
	/* Never an empty page that says there is more. */
	assert_false(res.more && res.rows == 0);
	if (g->n > 0) {
		assert_int_equal(res.first, g->r[0].date_added);
		assert_int_equal(res.last, g->r[g->n - 1].date_added);
		assert_true(res.next >= res.last);
	} else {
		/* Defined for empty pages: both 0 (headers omitted). */
		assert_int_equal(res.first, 0);
		assert_int_equal(res.last, 0);
	}
	assert_true(res.next >= q->after && res.next >= q->added_after);
	for (size_t i = 0; i < g->n; i++) {
		assert_string_equal(g->r[i].spec, "2.1");
		assert_true(g->r[i].date_added > q->after);
		assert_true(g->r[i].date_added > q->added_after);
		if (i > 0)
			assert_true(g->r[i].date_added >
				    g->r[i - 1].date_added);
	}
	return res;
}

/* The page's rows are exactly these seqs, in this order. */
static void expect_seqs(const struct got *g, size_t n, ...)
{
	va_list ap;
	va_start(ap, n);
	if (g->n != n) {
		fprintf(stderr, "got %zu rows:", g->n);
		for (size_t i = 0; i < g->n; i++)
			fprintf(stderr, " %llu",
				(unsigned long long)g->r[i].seq);
		fprintf(stderr, ", want %zu\n", n);
	}
	assert_int_equal(g->n, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(g->r[i].seq, va_arg(ap, int));
	va_end(ap);
}

#define PAGE_EXPECT(s, q, ...)                 \
	do {                                   \
		struct got g_;                 \
		page((s), (q), &g_);           \
		expect_seqs(&g_, __VA_ARGS__); \
		got_free(&g_);                 \
	} while (0)

/*
 * The filter fixture. seq: 1 A@100 (c), 2 A@300 (c), 3 A@400 (c2 only),
 * 4 B@100 (c), 5 X (SCO, c), 6 A@200 (c, late: an older version arriving
 * last). In c by date_added: 1, 2, 4, 5, 6. A's last in c is 300 (400 is
 * not a member of c), its first 100.
 */
struct ffx {
	int64_t c, c2;
	char a[STORE_ID_MAX], b[STORE_ID_MAX], x[STORE_ID_MAX];
	st_time da[7]; /* date_added by seq (in c; 3 in c2) */
};

static void ffx_make(struct store *s, struct ffx *x)
{
	struct store_item it;
	memset(x, 0, sizeof(*x));
	x->c = add_coll(s, C1, "filters");
	x->c2 = add_coll(s, C2, "");
	make_id(x->a, "indicator", 1);
	make_id(x->b, "malware", 2);
	make_id(x->x, "ipv4-addr", 3);
	it = one(s, x->c, "indicator", 1, true, 100, "A100");
	x->da[1] = it.date_added;
	it = one(s, x->c, "indicator", 1, true, 300, "A300");
	x->da[2] = it.date_added;
	it = one(s, x->c2, "indicator", 1, true, 400, "A400");
	x->da[3] = it.date_added;
	it = one(s, x->c, "malware", 2, true, 100, "B");
	x->da[4] = it.date_added;
	it = one(s, x->c, "ipv4-addr", 3, false, 0, "X");
	x->da[5] = it.date_added;
	it = one(s, x->c, "indicator", 1, true, 200, "A200");
	assert_int_equal(it.seq, 6);
	x->da[6] = it.date_added;
}

static void test_page_filters(void **state)
{
	struct fx *f = *state;
	struct ffx x;
	ffx_make(f->s, &x);
	struct store_page_query q = {.cid = x.c, .limit = 100};

	/* match[version] */
	PAGE_EXPECT(f->s, &q, 3, 2, 4, 5); /* default: last */
	q.version.sel = STORE_VM_LAST;
	PAGE_EXPECT(f->s, &q, 3, 2, 4, 5);
	q.version.sel = STORE_VM_FIRST;
	PAGE_EXPECT(f->s, &q, 3, 1, 4, 5);
	q.version.sel = STORE_VM_ALL;
	PAGE_EXPECT(f->s, &q, 5, 1, 2, 4, 5, 6);
	q.version.sel = STORE_VM_FIRST | STORE_VM_LAST;
	PAGE_EXPECT(f->s, &q, 4, 1, 2, 4, 5);
	st_time at200[] = {200}, at100_300[] = {300, 100}, at999[] = {999};
	q.version = (struct store_vmatch){0, at200, 1};
	PAGE_EXPECT(f->s, &q, 1, 6);
	q.version = (struct store_vmatch){0, at100_300, 2};
	PAGE_EXPECT(f->s, &q, 3, 1, 2, 4); /* B's version is 100 too */
	q.version = (struct store_vmatch){STORE_VM_LAST, at200, 1};
	PAGE_EXPECT(f->s, &q, 4, 2, 4, 5, 6);
	q.version = (struct store_vmatch){0, at999, 1};
	PAGE_EXPECT(f->s, &q, 0);
	q.version = (struct store_vmatch){STORE_VM_ALL, at999, 1};
	PAGE_EXPECT(f->s, &q, 5, 1, 2, 4, 5, 6);
	q.version = (struct store_vmatch){0};

	/* The SCO's version key is its first date_added. */
	struct got g;
	page(f->s, &q, &g);
	assert_int_equal(g.r[2].version, x.da[5]);
	assert_true(g.r[0].has_body);
	assert_non_null(strstr(g.r[0].body, "A300"));
	assert_int_equal(g.r[0].tlp, 1);
	assert_string_equal(g.r[0].id, x.a);
	assert_string_equal(g.r[2].id, x.x);
	got_free(&g);

	/* match[type] */
	const char *t_ind[] = {"indicator"};
	const char *t_two[] = {"malware", "ipv4-addr"};
	const char *t_none[] = {"x-never-seen"};
	const char *t_mix[] = {"x-never-seen", "indicator"};
	q.types = t_ind;
	q.ntypes = 1;
	PAGE_EXPECT(f->s, &q, 1, 2);
	q.types = t_two;
	q.ntypes = 2;
	PAGE_EXPECT(f->s, &q, 2, 4, 5);
	q.types = t_none;
	q.ntypes = 1;
	PAGE_EXPECT(f->s, &q, 0);
	q.types = t_mix;
	q.ntypes = 2;
	PAGE_EXPECT(f->s, &q, 1, 2);
	q.version.sel = STORE_VM_ALL;
	PAGE_EXPECT(f->s, &q, 3, 1, 2, 6);
	q.types = NULL;
	q.ntypes = 0;
	q.version.sel = 0;

	/* match[id] */
	char unseen[STORE_ID_MAX], alien[STORE_ID_MAX];
	make_id(unseen, "indicator", 99);
	make_id(alien, "x-never-seen", 1);
	const char *i_a[] = {x.a}, *i_ab[] = {x.b, x.a};
	const char *i_unseen[] = {unseen, alien};
	q.ids = i_a;
	q.nids = 1;
	PAGE_EXPECT(f->s, &q, 1, 2);
	q.ids = i_ab;
	q.nids = 2;
	PAGE_EXPECT(f->s, &q, 2, 2, 4);
	q.version.sel = STORE_VM_ALL;
	PAGE_EXPECT(f->s, &q, 4, 1, 2, 4, 6);
	q.ids = i_unseen;
	PAGE_EXPECT(f->s, &q, 0);
	/* ids AND types */
	q.ids = i_a;
	q.nids = 1;
	q.types = t_two;
	q.ntypes = 2;
	PAGE_EXPECT(f->s, &q, 0);
	q.types = t_ind;
	q.ntypes = 1;
	PAGE_EXPECT(f->s, &q, 3, 1, 2, 6);
	q.types = NULL;
	q.ntypes = 0;
	q.ids = NULL;
	q.nids = 0;
	q.version.sel = 0;

	/* match[spec_version]: strait holds 2.1 only (SCOs included). */
	const char *s21[] = {"2.1"}, *s20[] = {"2.0"},
		   *sboth[] = {"2.0", "2.1"};
	q.spec_versions = s21;
	q.nspec = 1;
	PAGE_EXPECT(f->s, &q, 3, 2, 4, 5);
	q.spec_versions = s20;
	PAGE_EXPECT(f->s, &q, 0);
	q.spec_versions = sboth;
	q.nspec = 2;
	PAGE_EXPECT(f->s, &q, 3, 2, 4, 5);
	q.spec_versions = NULL;
	q.nspec = 0;

	/* added_after is strict: equal is excluded. */
	q.added_after = x.da[4];
	PAGE_EXPECT(f->s, &q, 1, 5);
	q.added_after = x.da[4] - 1;
	PAGE_EXPECT(f->s, &q, 2, 4, 5);
	q.version.sel = STORE_VM_ALL;
	q.added_after = x.da[4];
	PAGE_EXPECT(f->s, &q, 2, 5, 6);
	/* ... and so is the resume position; both AND together. */
	q.added_after = 0;
	q.after = x.da[2];
	PAGE_EXPECT(f->s, &q, 3, 4, 5, 6);
	q.added_after = x.da[5];
	PAGE_EXPECT(f->s, &q, 1, 6);
	q.added_after = x.da[6];
	PAGE_EXPECT(f->s, &q, 0);
	q.after = q.added_after = 0;

	/* Everything combined. */
	q.ids = i_ab;
	q.nids = 2;
	q.types = t_ind;
	q.ntypes = 1;
	q.version = (struct store_vmatch){STORE_VM_FIRST, at200, 1};
	q.spec_versions = sboth;
	q.nspec = 2;
	q.added_after = x.da[1];
	PAGE_EXPECT(f->s, &q, 1, 6);
	q.added_after = 0;
	PAGE_EXPECT(f->s, &q, 2, 1, 6);

	/* The other collection: A@400 is last and first there. */
	struct store_page_query q2 = {.cid = x.c2, .limit = 10};
	PAGE_EXPECT(f->s, &q2, 1, 3);
	q2.version.sel = STORE_VM_FIRST;
	PAGE_EXPECT(f->s, &q2, 1, 3);

	/* Manifest: no bodies, same rows. */
	struct store_page_query m = {
	    .cid = x.c, .limit = 100, .flags = STORE_PAGE_NO_BODY};
	page(f->s, &m, &g);
	expect_seqs(&g, 3, 2, 4, 5);
	for (size_t i = 0; i < g.n; i++) {
		assert_false(g.r[i].has_body);
		assert_int_equal(g.r[i].body[0], '\0');
	}
	assert_int_equal(g.r[0].version, 300);
	got_free(&g);
	check_ok(f->s);
}

static void test_page_errors(void **state)
{
	struct fx *f = *state;
	struct ffx x;
	struct got g = {0};
	struct diag d;
	struct store_page_result res;
	ffx_make(f->s, &x);
	struct store_page_query q = {.cid = x.c, .limit = 0};
	assert_int_equal(store_page(f->s, &q, collect, &g, &res, &d),
			 ST_EINVAL);
	q.limit = 10;
	q.cid = 0;
	assert_int_equal(store_page(f->s, &q, collect, &g, &res, &d),
			 ST_EINVAL);
	q.cid = x.c;
	const char *bad[] = {"indicator--NOT-A-UUID"};
	q.ids = bad;
	q.nids = 1;
	assert_int_equal(store_page(f->s, &q, collect, &g, &res, &d),
			 ST_EINVAL);
	const char *many[STORE_MATCH_MAX + 1];
	for (size_t i = 0; i <= STORE_MATCH_MAX; i++)
		many[i] = x.a;
	q.ids = many;
	q.nids = STORE_MATCH_MAX + 1;
	assert_int_equal(store_page(f->s, &q, collect, &g, &res, &d),
			 ST_ELIMIT);
	/* The most allowed is fine. */
	q.nids = STORE_MATCH_MAX;
	assert_int_equal(store_page(f->s, &q, collect, &g, &res, &d), ST_OK);
	assert_int_equal(res.rows, 1);
	q.ids = NULL;
	q.nids = 0;
	q.version.sel = 0x80;
	assert_int_equal(store_page(f->s, &q, collect, &g, &res, &d),
			 ST_EINVAL);
	q.version.sel = 0;
	/* A stop from the row callback is returned, the page so far kept. */
	got_free(&g);
	g.stop_after = 2;
	assert_int_equal(store_page(f->s, &q, collect, &g, &res, &d), 42);
	assert_int_equal(res.rows, 2);
	assert_int_equal(res.last, x.da[4]);
	assert_int_equal(res.next, x.da[4]);
	got_free(&g);
	/* A collection that does not exist is just empty. */
	q.cid = 12345;
	PAGE_EXPECT(f->s, &q, 0);
}

/* Get An Object is a page with match[id]: every selector. */
static void test_get_object(void **state)
{
	struct fx *f = *state;
	struct ffx x;
	ffx_make(f->s, &x);
	const char *ids[] = {x.a};
	st_time at200[] = {200}, at2[] = {100, 200}, at_no[] = {400};
	struct store_page_query q = {
	    .cid = x.c, .ids = ids, .nids = 1, .limit = 10};
	PAGE_EXPECT(f->s, &q, 1, 2);
	q.version.sel = STORE_VM_LAST;
	PAGE_EXPECT(f->s, &q, 1, 2);
	q.version.sel = STORE_VM_FIRST;
	PAGE_EXPECT(f->s, &q, 1, 1);
	q.version.sel = STORE_VM_ALL;
	PAGE_EXPECT(f->s, &q, 3, 1, 2, 6);
	q.version.sel = STORE_VM_FIRST | STORE_VM_LAST;
	PAGE_EXPECT(f->s, &q, 2, 1, 2);
	q.version = (struct store_vmatch){0, at200, 1};
	PAGE_EXPECT(f->s, &q, 1, 6);
	q.version = (struct store_vmatch){0, at2, 2};
	PAGE_EXPECT(f->s, &q, 2, 1, 6);
	q.version = (struct store_vmatch){STORE_VM_LAST, at2, 2};
	PAGE_EXPECT(f->s, &q, 3, 1, 2, 6);
	q.version = (struct store_vmatch){STORE_VM_FIRST, at200, 1};
	PAGE_EXPECT(f->s, &q, 2, 1, 6);
	/* 400 exists, but not in this collection. */
	q.version = (struct store_vmatch){0, at_no, 1};
	PAGE_EXPECT(f->s, &q, 0);
	q.cid = x.c2;
	PAGE_EXPECT(f->s, &q, 1, 3);
	q.cid = x.c;
	/* Paging one object's versions. */
	q.version = (struct store_vmatch){STORE_VM_ALL, NULL, 0};
	q.limit = 2;
	struct got g;
	struct store_page_result r = page(f->s, &q, &g);
	expect_seqs(&g, 2, 1, 2);
	assert_true(r.more);
	got_free(&g);
	q.after = r.next;
	r = page(f->s, &q, &g);
	expect_seqs(&g, 1, 6);
	assert_false(r.more);
	got_free(&g);
	/* Version selection comes before visibility: hiding A's last
	 * version does not make an older one "last". */
	uint64_t only1[] = {1};
	struct vis v = {.seqs = only1, .nseqs = 1};
	q.after = 0;
	q.limit = 10;
	q.version = (struct store_vmatch){0};
	q.visible = vis_fn;
	q.visible_ctx = &v;
	PAGE_EXPECT(f->s, &q, 0);
	assert_int_equal(v.calls, 1);
}

/* A seen[] bitmap over seqs 1..n, for coverage checks. */
static void mark_seen(unsigned char *seen, size_t n, const struct got *g)
{
	for (size_t i = 0; i < g->n; i++) {
		assert_true(g->r[i].seq >= 1 && g->r[i].seq <= n);
		assert_int_equal(seen[g->r[i].seq], 0);
		seen[g->r[i].seq] = 1;
	}
}

/* Pages through c with limit, by next or by added_after = last; returns
 * the number of pages; every row lands in seen exactly once. */
static size_t page_all(struct store *s, struct store_page_query *q,
		       bool by_added_after, unsigned char *seen, size_t n,
		       size_t *rows)
{
	size_t pages = 0;
	*rows = 0;
	q->after = q->added_after = 0;
	for (;;) {
		struct got g;
		struct store_page_result r = page(s, q, &g);
		mark_seen(seen, n, &g);
		*rows += g.n;
		pages++;
		got_free(&g);
		assert_true(pages <= n + 1);
		if (!r.more)
			break;
		if (by_added_after)
			q->added_after = r.last;
		else
			q->after = r.next;
	}
	return pages;
}

/* 10,000 objects added in one batch (so in one transaction, with
 * date_added one microsecond apart) page correctly both ways. */
static void test_page_10000_one_batch(void **state)
{
	struct fx *f = *state;
	int64_t c = add_coll(f->s, C1, "");
	enum { N = 10000 };
	struct tb t;
	unsigned char *seen = calloc(N + 1, 1);
	size_t rows, pages;
	assert_non_null(seen);
	store_set_clock_for_test(fake_clock);
	atomic_store(&fake_now, (st_time)1700000000000000);
	tb_init(&t, N, c);
	for (size_t i = 0; i < N; i++)
		tb_set(&t, i, i % 3 ? "indicator" : "ipv4-addr", i, i % 3, 7,
		       "x");
	append_ok(f->s, &t);
	tb_free(&t);

	struct store_page_query q = {.cid = c, .limit = 97};
	pages = page_all(f->s, &q, false, seen, N, &rows);
	assert_int_equal(rows, N);
	assert_int_equal(pages, (N + 96) / 97);
	memset(seen, 0, N + 1);
	pages = page_all(f->s, &q, true, seen, N, &rows);
	assert_int_equal(rows, N);
	assert_int_equal(pages, (N + 96) / 97);

	/* A limit that divides N: the last page is full and says no more
	 * (the probe found nothing), so no empty page follows. */
	q.limit = 1000;
	q.flags = STORE_PAGE_NO_BODY;
	memset(seen, 0, N + 1);
	pages = page_all(f->s, &q, false, seen, N, &rows);
	assert_int_equal(rows, N);
	assert_int_equal(pages, 10);
	/* limit 1. */
	q.limit = 1;
	q.flags = 0;
	memset(seen, 0, N + 1);
	pages = page_all(f->s, &q, true, seen, N, &rows);
	assert_int_equal(rows, N);
	assert_int_equal(pages, N);
	free(seen);
}

/* Hidden rows do not leave pages short: each is filled to limit. */
static void test_page_visibility_fills(void **state)
{
	struct fx *f = *state;
	int64_t c = add_coll(f->s, C1, "");
	enum { N = 1000, L = 10 };
	struct tb t;
	unsigned char seen[N + 1] = {0};
	tb_init(&t, N, c);
	for (size_t i = 0; i < N; i++)
		tb_set(&t, i, "indicator", i, true, 5, "v");
	append_ok(f->s, &t);
	tb_free(&t);

	struct vis v = {.mod = 2};
	struct store_page_query q = {
	    .cid = c, .limit = L, .visible = vis_fn, .visible_ctx = &v};
	size_t pages = 0, rows = 0;
	for (;;) {
		struct got g;
		struct store_page_result r = page(f->s, &q, &g);
		mark_seen(seen, N, &g);
		for (size_t i = 0; i < g.n; i++)
			assert_int_equal(g.r[i].seq % 2, 0);
		/* Every page is full: 500 visible rows, 50 pages. */
		assert_int_equal(g.n, L);
		rows += g.n;
		pages++;
		got_free(&g);
		if (!r.more)
			break;
		q.after = r.next;
	}
	assert_int_equal(pages, N / 2 / L);
	assert_int_equal(rows, N / 2);
	for (size_t i = 2; i <= N; i += 2)
		assert_int_equal(seen[i], 1);
	/* First/last are those of the visible rows. */
	v.mod = 3;
	q.after = 0;
	struct got g;
	struct store_page_result r = page(f->s, &q, &g);
	assert_int_equal(g.r[0].seq, 3);
	assert_int_equal(r.first, g.r[0].date_added);
	assert_int_equal(r.last, g.r[L - 1].date_added);
	assert_int_equal(g.r[L - 1].seq, 30);
	got_free(&g);
}

/* A bounded scan: pages stop on their budget, but an empty page never
 * says "more". */
static void test_page_budget(void **state)
{
	struct fx *f = *state;
	int64_t c = add_coll(f->s, C1, "");
	enum { N = 30000 };
	struct tb t;
	unsigned char *seen = calloc(N + 1, 1);
	assert_non_null(seen);
	tb_init(&t, N, c);
	for (size_t i = 0; i < N; i++)
		tb_set(&t, i, "indicator", i, true, 5, "v");
	append_ok(f->s, &t);
	tb_free(&t);

	uint64_t few[] = {5, 25000, 30000};
	struct vis v = {.seqs = few, .nseqs = 3};
	struct store_page_query q = {.cid = c,
				     .limit = 10,
				     .visible = vis_fn,
				     .visible_ctx = &v,
				     .budget = 1000};
	struct got g;
	struct store_page_result r = page(f->s, &q, &g);
	/* Found seq 5, then ran out of budget: one row, more. */
	expect_seqs(&g, 1, 5);
	assert_true(r.more);
	assert_true(r.examined >= 1000 && r.examined < 1000 + 8192);
	assert_true(r.next > g.r[0].date_added); /* hidden rows skipped */
	got_free(&g);
	size_t rows;
	size_t pages = page_all(f->s, &q, false, seen, N, &rows);
	assert_int_equal(rows, 3);
	assert_true(pages >= 2);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(seen[few[i]], 1);

	/* The default budget (10000 here) behaves the same. */
	q.budget = 0;
	memset(seen, 0, N + 1);
	page_all(f->s, &q, false, seen, N, &rows);
	assert_int_equal(rows, 3);
	memset(seen, 0, N + 1);
	page_all(f->s, &q, true, seen, N, &rows);
	assert_int_equal(rows, 3);

	/* Nothing visible: the page scans to the end, then says no more. */
	v.nseqs = 0;
	q.budget = 1000;
	q.after = q.added_after = 0;
	r = page(f->s, &q, &g);
	assert_int_equal(g.n, 0);
	assert_false(r.more);
	assert_false(r.capped);
	assert_int_equal(r.examined, N);
	got_free(&g);
	/* ... unless capped: still no "more" on an empty page. */
	q.scan_max = 5000;
	r = page(f->s, &q, &g);
	assert_int_equal(g.n, 0);
	assert_false(r.more);
	assert_true(r.capped);
	assert_true(r.examined >= 5000 && r.examined < N);
	got_free(&g);
	free(seen);
}

/* ------------------------------------------------------------------ */
/* Versions, DELETE                                                     */
/* ------------------------------------------------------------------ */

static struct store_page_result
versions(struct store *s, const struct store_versions_query *q, struct got *g)
{
	struct store_page_result res;
	struct diag d = {""};
	memset(g, 0, sizeof(*g));
	int rc = store_versions(s, q, collect, g, &res, &d);
	if (rc != ST_OK)
		fprintf(stderr, "versions: %s\n", d.msg);
	assert_int_equal(rc, ST_OK);
	assert_int_equal(res.rows, g->n);
	assert_false(res.more && res.rows == 0);
	for (size_t i = 0; i < g->n; i++)
		assert_false(g->r[i].has_body);
	return res;
}

static void expect_versions(const struct got *g, size_t n, ...)
{
	va_list ap;
	va_start(ap, n);
	assert_int_equal(g->n, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(g->r[i].version, va_arg(ap, int));
	va_end(ap);
}

static void test_versions(void **state)
{
	struct fx *f = *state;
	int64_t c = add_coll(f->s, C1, "");
	int64_t c2 = add_coll(f->s, C2, "");
	char id[STORE_ID_MAX], other[STORE_ID_MAX];
	struct got g;
	make_id(id, "indicator", 1);
	make_id(other, "indicator", 2);
	/* Arrival (date_added) order 300, 100, 200; 400 only in c2. */
	struct store_item v300 = one(f->s, c, "indicator", 1, true, 300, "a");
	struct store_item v100 = one(f->s, c, "indicator", 1, true, 100, "b");
	one(f->s, c2, "indicator", 1, true, 400, "c");
	one(f->s, c, "indicator", 1, true, 200, "d");
	one(f->s, c, "indicator", 2, true, 100, "e");

	struct store_versions_query q = {.cid = c, .id = id, .limit = 10};
	struct store_page_result r = versions(f->s, &q, &g);
	expect_versions(&g, 3, 300, 100, 200); /* by date_added */
	assert_false(r.more);
	assert_int_equal(r.first, v300.date_added);
	got_free(&g);

	q.limit = 2;
	r = versions(f->s, &q, &g);
	expect_versions(&g, 2, 300, 100);
	assert_true(r.more);
	got_free(&g);
	q.after = r.next;
	r = versions(f->s, &q, &g);
	expect_versions(&g, 1, 200);
	assert_false(r.more);
	got_free(&g);
	q.after = 0;
	q.limit = 10;

	q.added_after = v300.date_added;
	versions(f->s, &q, &g);
	expect_versions(&g, 2, 100, 200);
	got_free(&g);
	q.added_after = 0;

	const char *s20[] = {"2.0"}, *s21[] = {"2.1"};
	q.spec_versions = s20;
	q.nspec = 1;
	versions(f->s, &q, &g);
	expect_versions(&g, 0);
	got_free(&g);
	q.spec_versions = s21;
	versions(f->s, &q, &g);
	expect_versions(&g, 3, 300, 100, 200);
	got_free(&g);
	q.spec_versions = NULL;
	q.nspec = 0;

	uint64_t hide[] = {v300.seq, 4};
	struct vis v = {.seqs = hide, .nseqs = 2}; /* shows 300 and 200 */
	q.visible = vis_fn;
	q.visible_ctx = &v;
	r = versions(f->s, &q, &g);
	expect_versions(&g, 2, 300, 200);
	assert_int_equal(r.last, g.r[1].date_added);
	got_free(&g);
	hide[0] = v100.seq;
	hide[1] = 999;
	q.limit = 1; /* one visible version, and no further one */
	r = versions(f->s, &q, &g);
	expect_versions(&g, 1, 100);
	assert_false(r.more);
	got_free(&g);
	q.visible = NULL;
	q.limit = 10;

	q.cid = c2;
	versions(f->s, &q, &g);
	expect_versions(&g, 1, 400);
	got_free(&g);
	q.id = other;
	versions(f->s, &q, &g);
	expect_versions(&g, 0);
	got_free(&g);
	check_ok(f->s);
}

static size_t remove_ok(struct store *s, int64_t cid, const char *id,
			const struct store_vmatch *v, const char *const *spec,
			size_t nspec)
{
	struct diag d = {""};
	size_t n = 999;
	int rc = store_remove(s, cid, id, v, spec, nspec, &n, &d);
	if (rc != ST_OK)
		fprintf(stderr, "remove: %s\n", d.msg);
	assert_int_equal(rc, ST_OK);
	return n;
}

static void test_remove(void **state)
{
	struct fx *f = *state;
	int64_t c = add_coll(f->s, C1, "");
	int64_t c2 = add_coll(f->s, C2, "");
	char id[STORE_ID_MAX], other[STORE_ID_MAX];
	struct got g;
	struct diag d;
	size_t n;
	make_id(id, "indicator", 1);
	make_id(other, "indicator", 2);
	for (int k = 1; k <= 3; k++) {
		char body[8];
		snprintf(body, sizeof(body), "v%d", k);
		one(f->s, c, "indicator", 1, true, k * 100, body);
		one(f->s, c2, "indicator", 1, true, k * 100, body);
	}
	one(f->s, c, "indicator", 2, true, 100, "o");
	const char *ids[] = {id};
	struct store_page_query q = {
	    .cid = c, .ids = ids, .nids = 1, .limit = 10};
	st_time before = store_last_added(f->s);

	/* Default: the last version. */
	assert_int_equal(remove_ok(f->s, c, id, NULL, NULL, 0), 1);
	assert_true(store_last_added(f->s) > before);
	page(f->s, &q, &g);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.r[0].version, 200); /* now the last in c */
	got_free(&g);
	/* spec_version 2.0 matches nothing; a specific version. */
	const char *s20[] = {"2.0"};
	struct store_vmatch all = {STORE_VM_ALL, NULL, 0};
	assert_int_equal(remove_ok(f->s, c, id, &all, s20, 1), 0);
	st_time at100[] = {100};
	struct store_vmatch v100 = {0, at100, 1};
	assert_int_equal(remove_ok(f->s, c, id, &v100, NULL, 0), 1);
	q.version.sel = STORE_VM_ALL;
	page(f->s, &q, &g);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.r[0].version, 200);
	got_free(&g);
	assert_int_equal(remove_ok(f->s, c, id, &all, NULL, 0), 1);
	assert_int_equal(remove_ok(f->s, c, id, &all, NULL, 0), 0);
	PAGE_EXPECT(f->s, &q, 0);
	/* The other object and the other collection are untouched. */
	q.ids = NULL;
	q.nids = 0;
	page(f->s, &q, &g);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.r[0].id, other);
	got_free(&g);
	q.cid = c2;
	page(f->s, &q, &g);
	assert_int_equal(g.n, 3);
	got_free(&g);
	/* The versions stay in the log. */
	struct store_query lq = {.id = id, .vsel = STORE_V_ALL};
	query(f->s, &lq, &g);
	assert_int_equal(g.n, 3);
	got_free(&g);
	assert_int_equal(stats(f->s).versions, 4);

	/* Errors; unknown ids remove nothing. */
	char unseen[STORE_ID_MAX];
	make_id(unseen, "x-never-seen", 1);
	assert_int_equal(remove_ok(f->s, c, unseen, &all, NULL, 0), 0);
	assert_int_equal(
	    store_remove(f->s, c, "indicator--bad", &all, NULL, 0, &n, &d),
	    ST_EINVAL);
	assert_int_equal(store_remove(f->s, 777, id, &all, NULL, 0, &n, &d),
			 ST_ENOTFOUND);
	assert_int_equal(n, 0);

	/* Added again: a new membership with a new date_added. */
	struct store_item again = one(f->s, c, "indicator", 1, true, 300, "v3");
	assert_int_equal(again.result, STORE_DUPLICATE);
	assert_true(again.added_to_collection);
	q.cid = c;
	q.ids = ids;
	q.nids = 1;
	page(f->s, &q, &g);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.r[0].date_added, again.date_added);
	got_free(&g);
	check_ok(f->s);

	/* The removals are recorded, one row per membership removed. */
	if (f->be->raw == NULL)
		return;
	int64_t k = 0;
	store_close(f->s);
	f->s = NULL;
	assert_int_equal(
	    f->be->raw(f->dir, "SELECT count(*) FROM removals", &k), 0);
	assert_int_equal(k, 3);
	assert_int_equal(
	    f->be->raw(f->dir, "SELECT count(DISTINCT date) FROM removals", &k),
	    0);
	assert_int_equal(k, 3);
	f->s = open_store(f, NULL);
	check_ok(f->s);
}

/* ------------------------------------------------------------------ */
/* Status resources                                                     */
/* ------------------------------------------------------------------ */

#define S1 "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
#define S2 "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
#define S3 "cccccccc-cccc-4ccc-8ccc-cccccccccccc"
#define S4 "dddddddd-dddd-4ddd-8ddd-dddddddddddd"

static void status_put_ok(struct store *s, const char *id, int64_t owner,
			  st_time created, bool pending, const char *lists)
{
	struct store_status st;
	struct diag d = {""};
	memset(&st, 0, sizeof(st));
	snprintf(st.id, sizeof(st.id), "%s", id);
	st.owner = owner;
	st.created = created;
	st.pending = pending;
	st.total = 3;
	st.success = pending ? 1 : 2;
	st.failure = 1;
	st.npending = pending ? 1 : 0;
	st.lists = (char *)lists;
	st.lists_len = strlen(lists);
	int rc = store_status_put(s, &st, &d);
	if (rc != ST_OK)
		fprintf(stderr, "status: %s\n", d.msg);
	assert_int_equal(rc, ST_OK);
}

static void test_status(void **state)
{
	struct fx *f = *state;
	struct store_status st, bad;
	struct diag d;
	size_t n;
	st_time now = time_now();

	status_put_ok(f->s, S1, 7, 0, true, "{\"pendings\":[1]}");
	assert_int_equal(store_status_get(f->s, S1, &st, &d), ST_OK);
	assert_string_equal(st.id, S1);
	assert_int_equal(st.owner, 7);
	assert_true(st.created >= now && st.created <= time_now());
	assert_true(st.pending);
	assert_int_equal(st.total, 3);
	assert_int_equal(st.success, 1);
	assert_int_equal(st.failure, 1);
	assert_int_equal(st.npending, 1);
	assert_string_equal(st.lists, "{\"pendings\":[1]}");
	assert_int_equal(st.lists_len, strlen(st.lists));
	st_time created = st.created;
	store_status_release(&st);
	assert_null(st.lists);
	store_status_release(&st);
	store_status_release(NULL);

	/* Completed by its owner: replaced, created kept. */
	status_put_ok(f->s, S1, 7, 0, false, "{\"successes\":[1,2]}");
	assert_int_equal(store_status_get(f->s, S1, &st, &d), ST_OK);
	assert_false(st.pending);
	assert_int_equal(st.success, 2);
	assert_int_equal(st.created, created);
	assert_string_equal(st.lists, "{\"successes\":[1,2]}");
	store_status_release(&st);

	/* Another account cannot overwrite it. */
	memset(&bad, 0, sizeof(bad));
	snprintf(bad.id, sizeof(bad.id), "%s", S1);
	bad.owner = 8;
	bad.lists = (char *)"{}";
	bad.lists_len = 2;
	assert_int_equal(store_status_put(f->s, &bad, &d), ST_EEXIST);
	assert_int_equal(store_status_get(f->s, S1, &st, &d), ST_OK);
	assert_int_equal(st.owner, 7);
	store_status_release(&st);
	snprintf(bad.id, sizeof(bad.id), "not-a-uuid");
	assert_int_equal(store_status_put(f->s, &bad, &d), ST_EINVAL);

	assert_int_equal(store_status_get(f->s, S2, &st, &d), ST_ENOTFOUND);
	assert_null(st.lists);
	assert_int_equal(store_status_get(f->s, "../x", &st, &d), ST_ENOTFOUND);

	/* Purge by age. */
	status_put_ok(f->s, S2, 7, created - 1000, false, "{}");
	assert_int_equal(store_status_purge(f->s, created, &n, &d), ST_OK);
	assert_int_equal(n, 1);
	assert_int_equal(store_status_get(f->s, S2, &st, &d), ST_ENOTFOUND);
	assert_int_equal(store_status_get(f->s, S1, &st, &d), ST_OK);
	store_status_release(&st);
	assert_int_equal(store_status_purge(f->s, created, &n, &d), ST_OK);
	assert_int_equal(n, 0);

	/* The writer purges by itself what is past 24 hours (on its first
	 * write after open), and keeps what is younger. */
	const st_time hour = 3600ll * 1000000;
	status_put_ok(f->s, S2, 7, now - 25 * hour, false, "{}");
	status_put_ok(f->s, S3, 7, now - 23 * hour, false, "{}");
	reopen(f, NULL);
	assert_int_equal(store_meta_set(f->s, "poke", "1"), ST_OK);
	assert_int_equal(store_status_get(f->s, S2, &st, &d), ST_ENOTFOUND);
	assert_int_equal(store_status_get(f->s, S3, &st, &d), ST_OK);
	store_status_release(&st);
	/* Statuses survive a restart. */
	assert_int_equal(store_status_get(f->s, S1, &st, &d), ST_OK);
	assert_int_equal(st.owner, 7);
	store_status_release(&st);
	check_ok(f->s);
}

struct status_poster {
	struct store *s;
	int who;
	int bad;
};

static void *post_statuses(void *arg)
{
	struct status_poster *p = arg;
	for (int i = 0; i < 50; i++) {
		struct store_status st;
		memset(&st, 0, sizeof(st));
		snprintf(st.id, sizeof(st.id), "%08x-0000-4000-8000-%012x",
			 (unsigned)p->who, (unsigned)i);
		st.owner = p->who;
		st.total = st.success = (uint64_t)i;
		st.lists = (char *)"{}";
		st.lists_len = 2;
		if (store_status_put(p->s, &st, NULL) != ST_OK)
			p->bad++;
	}
	return NULL;
}

/* Status puts from concurrent requests share commits. */
static void test_status_group_commit(void **state)
{
	struct fx *f = *state;
	enum { NT = 4 };
	struct status_poster p[NT];
	pthread_t th[NT];
	struct store_stats before = stats(f->s);
	for (int i = 0; i < NT; i++) {
		p[i] = (struct status_poster){f->s, i + 1, 0};
		assert_int_equal(
		    pthread_create(&th[i], NULL, post_statuses, &p[i]), 0);
	}
	for (int i = 0; i < NT; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(p[i].bad, 0);
	}
	struct store_stats after = stats(f->s);
	assert_true(after.commits - before.commits < NT * 50);
	for (int w = 1; w <= NT; w++) {
		for (int i = 0; i < 50; i++) {
			struct store_status st;
			char id[37];
			snprintf(id, sizeof(id), "%08x-0000-4000-8000-%012x",
				 (unsigned)w, (unsigned)i);
			assert_int_equal(store_status_get(f->s, id, &st, NULL),
					 ST_OK);
			assert_int_equal(st.owner, w);
			assert_int_equal(st.total, (uint64_t)i);
			store_status_release(&st);
		}
	}
	/* A failing job in a group fails alone. */
	struct store_status mine;
	memset(&mine, 0, sizeof(mine));
	snprintf(mine.id, sizeof(mine.id), "%08x-0000-4000-8000-%012x", 1u, 0u);
	mine.owner = 99;
	assert_int_equal(store_status_put(f->s, &mine, NULL), ST_EEXIST);
}

/* A clock that holds the writer inside its transaction (it reads the
 * clock once per transaction, after BEGIN) while the gate is closed. */
static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static bool gate_closed, gate_entered;

static st_time gate_clock(void)
{
	pthread_mutex_lock(&gate_mu);
	gate_entered = true;
	pthread_cond_broadcast(&gate_cv);
	while (gate_closed)
		pthread_cond_wait(&gate_cv, &gate_mu);
	pthread_mutex_unlock(&gate_mu);
	return time_now();
}

static void gate_set(bool closed)
{
	pthread_mutex_lock(&gate_mu);
	gate_closed = closed;
	gate_entered = false;
	pthread_cond_broadcast(&gate_cv);
	pthread_mutex_unlock(&gate_mu);
}

/* Waits until the writer is held at the gate. */
static void gate_wait_entered(void)
{
	pthread_mutex_lock(&gate_mu);
	while (!gate_entered)
		pthread_cond_wait(&gate_cv, &gate_mu);
	pthread_mutex_unlock(&gate_mu);
}

static void status_async_ok(struct store *s, const char *id, int64_t owner,
			    st_time created, const char *lists)
{
	struct store_status st;
	struct diag d = {""};
	memset(&st, 0, sizeof(st));
	snprintf(st.id, sizeof(st.id), "%s", id);
	st.owner = owner;
	st.created = created;
	st.total = st.success = 5;
	st.lists = (char *)lists;
	st.lists_len = strlen(lists);
	int rc = store_status_put_async(s, &st, &d);
	if (rc != ST_OK)
		fprintf(stderr, "status: %s\n", d.msg);
	assert_int_equal(rc, ST_OK);
}

struct status_getter {
	struct store *s;
	const char *ids[4];
	int found; /* how many of ids were found with owner 7 and lists */
};

static void *get_statuses(void *arg)
{
	struct status_getter *g = arg;
	for (int i = 0; i < 4 && g->ids[i] != NULL; i++) {
		struct store_status st;
		if (store_status_get(g->s, g->ids[i], &st, NULL) != ST_OK)
			continue;
		if (st.owner == 7 && st.total == 5 && st.lists_len == 9 &&
		    strcmp(st.lists, "{\"a\":[1]}") == 0)
			g->found++;
		store_status_release(&st);
	}
	return NULL;
}

/* Found by another thread, with the expected contents. */
static int found_elsewhere(struct store *s, const char *a, const char *b)
{
	struct status_getter g = {s, {a, b, NULL, NULL}, 0};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, get_statuses, &g), 0);
	pthread_join(th, NULL);
	return g.found;
}

/*
 * An async status is readable from its put on, by any thread, while
 * queued and while being written; it is committed with the writer's next
 * transaction, and store_close commits what is still queued.
 */
static void test_status_async(void **state)
{
	struct fx *f = *state;
	struct store_status st;
	struct diag d = {""};
	size_t n;
	const char *lists = "{\"a\":[1]}";

	/* Held in the writer's transaction: S1 being written, S2 queued. */
	gate_set(true);
	store_set_clock_for_test(gate_clock);
	status_async_ok(f->s, S1, 7, 0, lists);
	gate_wait_entered();
	status_async_ok(f->s, S2, 7, 0, lists);
	assert_int_equal(stats(f->s).status_uncommitted, 2);
	assert_int_equal(found_elsewhere(f->s, S1, S2), 2);
	/* Not in the database yet: only the store's memory has them. */
	int64_t rows = -1;
	assert_int_equal(
	    sqlite_raw(f->dir, "SELECT count(*) FROM status", &rows), 0);
	assert_int_equal(rows, 0);
	gate_set(false);
	store_set_clock_for_test(NULL);

	/* A durable put after them waits for a commit that has them. */
	status_put_ok(f->s, S3, 7, 0, false, "{}");
	assert_int_equal(stats(f->s).status_uncommitted, 0);
	assert_int_equal(
	    sqlite_raw(f->dir, "SELECT count(*) FROM status", &rows), 0);
	assert_int_equal(rows, 3);
	assert_int_equal(found_elsewhere(f->s, S1, S2), 2);

	/* Queued at close: committed by store_close, there after a restart
	 * (the writer may or may not have taken it: either way). */
	static const char *const later[] = {
	    "dddddddd-dddd-4ddd-8ddd-dddddddddddd",
	    "eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee"};
	status_async_ok(f->s, later[0], 7, 0, lists);
	status_async_ok(f->s, later[1], 7, 0, lists);
	reopen(f, NULL);
	assert_int_equal(found_elsewhere(f->s, later[0], later[1]), 2);
	assert_int_equal(found_elsewhere(f->s, S1, S2), 2);

	/* Purge sees an async status put before it: an old one goes. */
	const st_time hour = 3600ll * 1000000;
	const char *old = "ffffffff-ffff-4fff-8fff-ffffffffffff";
	st_time now = time_now();
	status_async_ok(f->s, old, 7, now - 2 * hour, lists);
	assert_int_equal(store_status_purge(f->s, now - hour, &n, &d), ST_OK);
	assert_int_equal(n, 1);
	assert_int_equal(store_status_get(f->s, old, &st, &d), ST_ENOTFOUND);
	/* ... and the others stay. */
	assert_int_equal(found_elsewhere(f->s, S1, S2), 2);

	/* Checked like the durable put. */
	memset(&st, 0, sizeof(st));
	snprintf(st.id, sizeof(st.id), "%s", "not-a-uuid");
	assert_int_equal(store_status_put_async(f->s, &st, &d), ST_EINVAL);
	/* An id of another owner: dropped, the stored one is kept. */
	memset(&st, 0, sizeof(st));
	snprintf(st.id, sizeof(st.id), "%s", S1);
	st.owner = 99;
	assert_int_equal(store_status_put_async(f->s, &st, &d), ST_OK);
	status_put_ok(f->s, S3, 7, 0, false, "{}"); /* after it */
	assert_int_equal(store_status_get(f->s, S1, &st, &d), ST_OK);
	assert_int_equal(st.owner, 7);
	store_status_release(&st);
	check_ok(f->s);
}

/* Polls (up to 10 s) until no status waits to be made durable. */
static bool statuses_settle(struct store *s)
{
	for (int i = 0; i < 1000; i++) {
		if (stats(s).status_uncommitted == 0)
			return true;
		struct timespec ts = {0, 10 * 1000000L};
		nanosleep(&ts, NULL);
	}
	return false;
}

/*
 * A status put alone (no caller waiting on it) is committed without a
 * sync of its own: readable at once, made durable by the next commit's
 * sync, or by one of its own after status_sync_ms. So TAXII Add Objects
 * (the objects, then the status) costs the disk one sync, not two.
 */
static void test_status_shares_sync(void **state)
{
	struct fx *f = *state;
	const char *lists = "{\"a\":[1]}";
	struct store_options o = {.create = true, .status_sync_ms = 600000};
	reopen(f, &o);
	assert_int_equal(one(f->s, 0, "indicator", 1, true, 1, "a").result,
			 STORE_STORED);
	struct store_stats st = stats(f->s);
	uint64_t syncs = st.syncs, commits = st.commits;
	assert_true(syncs >= 1); /* the object's commit was synced */

	status_async_ok(f->s, S1, 7, 0, lists);
	for (int i = 0; i < 1000 && stats(f->s).commits == commits; i++) {
		struct timespec ts = {0, 10 * 1000000L};
		nanosleep(&ts, NULL);
	}
	st = stats(f->s);
	assert_int_equal(st.commits, commits + 1); /* written... */
	assert_int_equal(st.syncs, syncs);	   /* ...not synced */
	assert_int_equal(st.status_uncommitted, 1);
	int64_t rows = -1;
	assert_int_equal(
	    sqlite_raw(f->dir, "SELECT count(*) FROM status", &rows), 0);
	assert_int_equal(rows, 1); /* in the database, for other readers */
	assert_int_equal(found_elsewhere(f->s, S1, NULL), 1);

	/* Another request's status joins the wait: still no sync. */
	status_async_ok(f->s, S4, 7, 0, lists);
	for (int i = 0; i < 1000 && stats(f->s).commits == commits + 1; i++) {
		struct timespec ts = {0, 10 * 1000000L};
		nanosleep(&ts, NULL);
	}
	st = stats(f->s);
	assert_int_equal(st.commits, commits + 2);
	assert_int_equal(st.syncs, syncs);
	assert_int_equal(st.status_uncommitted, 2);

	/* The next object's commit makes all durable with one sync. */
	assert_int_equal(one(f->s, 0, "indicator", 2, true, 1, "b").result,
			 STORE_STORED);
	st = stats(f->s);
	assert_int_equal(st.syncs, syncs + 1);
	assert_int_equal(st.status_uncommitted, 0);

	/* Alone for status_sync_ms: a sync of its own. */
	o.status_sync_ms = 20;
	reopen(f, &o);
	syncs = stats(f->s).syncs;
	status_async_ok(f->s, S2, 7, 0, lists);
	assert_true(statuses_settle(f->s));
	assert_int_equal(stats(f->s).syncs, syncs + 1);
	assert_int_equal(found_elsewhere(f->s, S1, S2), 2);

	/* Closed while a status waits for a sync (close does not wait
	 * status_sync_ms): there after reopening. */
	o.status_sync_ms = 600000;
	reopen(f, &o);
	commits = stats(f->s).commits;
	status_async_ok(f->s, S3, 7, 0, lists);
	for (int i = 0; i < 1000 && stats(f->s).commits == commits; i++) {
		struct timespec ts = {0, 10 * 1000000L};
		nanosleep(&ts, NULL);
	}
	double t0 = time_mono();
	reopen(f, NULL);
	assert_true(time_mono() - t0 < 60.0);
	struct store_status got;
	assert_int_equal(store_status_get(f->s, S3, &got, NULL), ST_OK);
	store_status_release(&got);
	check_ok(f->s);
}

/* Readers unused for idle_ms are closed by the store; reads go on. */
static void test_idle_readers(void **state)
{
	struct fx *f = *state;
	struct store_options o = {.create = true, .idle_ms = 100};
	reopen(f, &o);
	struct tb t;
	tb_init(&t, 10, 0);
	for (size_t i = 0; i < 10; i++)
		tb_set(&t, i, "indicator", i + 1, true, 1000, "x");
	append_ok(f->s, &t);
	tb_free(&t);
	/* Two threads reading at once: two connections. */
	struct status_getter g[2] = {{f->s, {S1}, 0}, {f->s, {S2}, 0}};
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(
		    pthread_create(&th[i], NULL, get_statuses, &g[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	struct store_stats st = stats(f->s);
	assert_true(st.readers >= 1);
	/* Closed within a few ticks of idle_ms (stats takes a reader: poll
	 * more slowly than idle_ms). */
	double t0 = time_mono();
	do {
		struct timespec ts = {0, 400 * 1000000L};
		nanosleep(&ts, NULL);
		st = stats(f->s);
	} while (st.readers > 0 && time_mono() - t0 < 10);
	assert_int_equal(st.readers, 0);
	assert_true(st.readers_closed_idle >= 1);
	assert_int_equal(st.versions, 10);
	/* Reads still work: a new connection opens. */
	assert_int_equal(stats(f->s).versions, 10);
	check_ok(f->s);

	/* UINT32_MAX: never closed. */
	o.idle_ms = UINT32_MAX;
	reopen(f, &o);
	(void)stats(f->s);
	struct timespec ts = {0, 300 * 1000000L};
	nanosleep(&ts, NULL);
	assert_int_equal(stats(f->s).readers, 1);
}

/* ------------------------------------------------------------------ */
/* Following the log                                                    */
/* ------------------------------------------------------------------ */

struct waiter {
	struct store *s;
	bool by_date;
	uint64_t after_seq;
	st_time after_date;
	uint64_t got_seq;
	st_time got_date;
	double waited;
};

static void *wait_main(void *arg)
{
	struct waiter *w = arg;
	double t0 = time_mono();
	if (w->by_date)
		w->got_date = store_wait_added(w->s, w->after_date, 10000);
	else
		w->got_seq = store_wait_seq(w->s, w->after_seq, 10000);
	w->waited = time_mono() - t0;
	return NULL;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static void test_wait_seq(void **state)
{
	struct fx *f = *state;
	int64_t c = add_coll(f->s, C1, "");
	int64_t c2 = add_coll(f->s, C2, "");
	pthread_t th;

	assert_int_equal(store_last_seq(f->s), 0);
	double t0 = time_mono();
	assert_int_equal(store_wait_seq(f->s, 0, 100), 0);
	assert_true(time_mono() - t0 >= 0.095);

	/* A commit wakes a waiter at once. */
	struct waiter w = {.s = f->s, .after_seq = 0};
	assert_int_equal(pthread_create(&th, NULL, wait_main, &w), 0);
	sleep_ms(50);
	struct store_item a = one(f->s, c, "indicator", 1, true, 1, "a");
	pthread_join(th, NULL);
	assert_int_equal(w.got_seq, a.seq);
	assert_true(w.waited < 5.0);
	assert_int_equal(store_last_seq(f->s), a.seq);
	/* Already past: returns at once. */
	t0 = time_mono();
	assert_int_equal(store_wait_seq(f->s, 0, 5000), a.seq);
	assert_true(time_mono() - t0 < 1.0);
	assert_int_equal(store_last_seq(f->s), stats(f->s).last_seq);

	/* A version joining another collection moves date_added only. */
	st_time d0 = store_last_added(f->s);
	assert_int_equal(d0, a.date_added);
	struct waiter wd = {.s = f->s, .by_date = true, .after_date = d0};
	assert_int_equal(pthread_create(&th, NULL, wait_main, &wd), 0);
	sleep_ms(50);
	struct store_item dup = one(f->s, c2, "indicator", 1, true, 1, "a");
	pthread_join(th, NULL);
	assert_int_equal(dup.result, STORE_DUPLICATE);
	assert_int_equal(wd.got_date, dup.date_added);
	assert_true(wd.waited < 5.0);
	assert_int_equal(store_last_seq(f->s), a.seq);
	assert_int_equal(store_wait_added(f->s, dup.date_added, 50),
			 dup.date_added);

	/* The marks survive a restart. */
	reopen(f, NULL);
	assert_int_equal(store_last_seq(f->s), a.seq);
	assert_int_equal(store_last_added(f->s), dup.date_added);
}

struct logged {
	uint64_t seq[16];
	st_time date[16];
	size_t n;
	size_t stop_at;
};

static int log_fn(void *ctx, const struct store_row *row)
{
	struct logged *l = ctx;
	assert_true(l->n < 16);
	assert_non_null(row->body);
	assert_string_equal(row->spec_version, "2.1");
	l->seq[l->n] = row->seq;
	l->date[l->n++] = row->date_added;
	return l->stop_at != 0 && l->n == l->stop_at ? 42 : 0;
}

/* Which collections a version is a member of (the partner release
 * decision's collection scopes). */
static void test_memberships(void **state)
{
	struct fx *f = *state;
	int64_t c1 = add_coll(f->s, C1, "");
	int64_t c2 = add_coll(f->s, C2, "");
	struct diag d;
	int64_t cids[4];
	size_t n = 99;
	struct store_item a = one(f->s, c2, "indicator", 1, true, 1, "1");
	struct store_item b = one(f->s, 0, "indicator", 2, true, 1, "2");
	assert_int_equal(store_memberships(f->s, a.seq, cids, 4, &n, &d),
			 ST_OK);
	assert_int_equal(n, 1);
	assert_int_equal(cids[0], c2);
	/* joins c1 later: both, ascending */
	one(f->s, c1, "indicator", 1, true, 1, "1");
	assert_int_equal(store_memberships(f->s, a.seq, cids, 4, &n, &d),
			 ST_OK);
	assert_int_equal(n, 2);
	assert_int_equal(cids[0], c1 < c2 ? c1 : c2);
	assert_int_equal(cids[1], c1 < c2 ? c2 : c1);
	/* n says how many there are even past cap */
	assert_int_equal(store_memberships(f->s, a.seq, cids, 1, &n, &d),
			 ST_OK);
	assert_int_equal(n, 2);
	/* in the log but in no collection; not in the log at all */
	assert_int_equal(store_memberships(f->s, b.seq, cids, 4, &n, &d),
			 ST_OK);
	assert_int_equal(n, 0);
	assert_int_equal(store_memberships(f->s, 999, cids, 4, &n, &d), ST_OK);
	assert_int_equal(n, 0);
}

struct held_got {
	size_t n;
	size_t idx[16];
	st_time version[16], date[16];
	uint64_t seq[16];
};

static int held_fn(void *ctx, size_t i, const struct store_row *row)
{
	struct held_got *g = ctx;
	assert_true(g->n < 16);
	assert_non_null(row->body);
	assert_true(row->body_len > 0);
	g->idx[g->n] = i;
	g->version[g->n] = row->version;
	g->date[g->n] = row->date_added;
	g->seq[g->n++] = row->seq;
	return 0;
}

/* Every version of several ids at once, with membership of one collection
 * (what a partner's envelope is checked against). */
static void test_held(void **state)
{
	struct fx *f = *state;
	int64_t c1 = add_coll(f->s, C1, "");
	int64_t c2 = add_coll(f->s, C2, "");
	struct diag d;
	struct store_item a1 = one(f->s, c1, "indicator", 1, true, 1, "1");
	struct store_item a2 = one(f->s, c2, "indicator", 1, true, 2, "1b");
	struct store_item m = one(f->s, c2, "malware", 2, true, 5, "m");
	char ia[STORE_ID_MAX], im[STORE_ID_MAX], iu[STORE_ID_MAX],
	    it[STORE_ID_MAX];
	make_id(ia, "indicator", 1);
	make_id(im, "malware", 2);
	make_id(iu, "indicator", 99);	/* never seen */
	make_id(it, "x-never-seen", 1); /* a type never seen */
	const char *ids[] = {iu, ia, it, im};
	struct held_got g;
	memset(&g, 0, sizeof(g));
	assert_int_equal(store_held(f->s, ids, 4, c1, held_fn, &g, &d), ST_OK);
	assert_int_equal(g.n, 3);
	size_t seen_a = 0;
	for (size_t k = 0; k < g.n; k++) {
		if (g.idx[k] == 1) {
			seen_a++;
			if (g.seq[k] == a1.seq) {
				assert_int_equal(g.version[k], 1);
				assert_int_equal(g.date[k], a1.date_added);
			} else {
				assert_int_equal(g.seq[k], a2.seq);
				assert_int_equal(g.date[k], 0); /* in c2 only */
			}
		} else {
			assert_int_equal(g.idx[k], 3);
			assert_int_equal(g.seq[k], m.seq);
			assert_int_equal(g.date[k], 0);
		}
	}
	assert_int_equal(seen_a, 2);
	/* another collection: the memberships follow */
	memset(&g, 0, sizeof(g));
	assert_int_equal(store_held(f->s, ids + 3, 1, c2, held_fn, &g, &d),
			 ST_OK);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.date[0], m.date_added);
	/* a malformed id matches nothing; the others are still read */
	const char *bad[] = {"not-an-id", NULL, im};
	memset(&g, 0, sizeof(g));
	assert_int_equal(store_held(f->s, bad, 3, c2, held_fn, &g, &d), ST_OK);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.idx[0], 2);
	/* nothing asked, nothing read */
	assert_int_equal(store_held(f->s, NULL, 0, c1, held_fn, &g, &d), ST_OK);
	/* a type first written after it was asked for (and found unknown)
	 * is found from then on: an unknown type is not remembered */
	struct store_item x = one(f->s, c1, "x-never-seen", 1, true, 7, "x");
	memset(&g, 0, sizeof(g));
	assert_int_equal(store_held(f->s, ids, 4, c1, held_fn, &g, &d), ST_OK);
	assert_int_equal(g.n, 4);
	bool seen_x = false;
	for (size_t k = 0; k < g.n; k++)
		if (g.idx[k] == 2) {
			assert_int_equal(g.seq[k], x.seq);
			seen_x = true;
		}
	assert_true(seen_x);
}

/* Large commits (a partner catching up) let keys_recent grow past a
 * 32nd of the log before it is merged: with every page of it dirtied by
 * each commit anyway, merging rewrites of keys_main are what cost. Every
 * key is still found, each in one table. */
static void test_recent_keys_follow_commit_size(void **state)
{
	struct fx *f = *state;
	if (f->be->raw == NULL)
		return;
	struct store_options o = {.create = true, .keys_recent_max = 262144};
	reopen(f, &o);
	int64_t c1 = add_coll(f->s, C1, "");
	int64_t most = 0;
	for (uint64_t round = 0; round < 15; round++) {
		struct tb t;
		tb_init(&t, 2000, c1);
		for (size_t i = 0; i < 2000; i++)
			tb_set(&t, i, "indicator", round * 2000 + i + 1, true,
			       1, "k");
		append_ok(f->s, &t);
		tb_free(&t);
		int64_t recent = 0;
		assert_int_equal(f->be->raw(f->dir,
					    "SELECT count(*) FROM keys_recent",
					    &recent),
				 0);
		if (recent > most)
			most = recent;
	}
	/* a 32nd of 30,000 is below the 4,096 floor: the old limit merged
	 * at 4,096 (at most 4,000 left after a commit of 2,000) */
	assert_true(most > 4096);
	int64_t keys = 0;
	assert_int_equal(f->be->raw(f->dir,
				    "SELECT (SELECT count(*) FROM keys_main) +"
				    " (SELECT count(*) FROM keys_recent)",
				    &keys),
			 0);
	assert_int_equal(keys, 30000);
	struct diag d;
	assert_int_equal(store_check(f->s, &d), ST_OK);
	char id[STORE_ID_MAX];
	make_id(id, "indicator", 29999);
	const char *ids[] = {id};
	struct held_got g;
	memset(&g, 0, sizeof(g));
	assert_int_equal(store_held(f->s, ids, 1, c1, held_fn, &g, &d), ST_OK);
	assert_int_equal(g.n, 1);
}

/* Another handle on the same store (another process, the CLI beside a
 * running node) writes after this one's id filter was built: this one's
 * lookups find what it wrote, and its writer takes a copy of it as a
 * duplicate, not a new row. */
static void test_held_written_elsewhere(void **state)
{
	struct fx *f = *state;
	int64_t c1 = add_coll(f->s, C1, "");
	struct diag d;
	one(f->s, c1, "indicator", 1, true, 1, "1");
	char i1[STORE_ID_MAX], i2[STORE_ID_MAX], i3[STORE_ID_MAX];
	make_id(i1, "indicator", 1);
	make_id(i2, "indicator", 2);
	make_id(i3, "malware", 3);
	const char *ids[] = {i1, i2, i3};
	struct held_got g;
	memset(&g, 0, sizeof(g));
	assert_int_equal(store_held(f->s, ids, 3, c1, held_fn, &g, &d), ST_OK);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.idx[0], 0);
	if (strcmp(f->be->name, "sqlite") == 0)
		assert_true(SQ(f->s)->idf.built);

	struct store *other = open_store(f, NULL);
	struct store_item o2 = one(other, c1, "indicator", 2, true, 1, "2");
	one(other, c1, "malware", 3, true, 1, "3");
	struct store_item o4 = one(other, c1, "malware", 3, true, 2, "3b");
	/* written here first (the writer's own view): the same version is
	 * a duplicate, a new one of the other handle's object is stored
	 * beside its two */
	struct tb t;
	tb_init(&t, 2, c1);
	tb_set(&t, 0, "indicator", 2, true, 1, "2");
	tb_set(&t, 1, "malware", 3, true, 3, "3c");
	append_ok(f->s, &t);
	assert_int_equal(t.b.items[0].result, STORE_DUPLICATE);
	assert_int_equal(t.b.items[0].seq, o2.seq);
	assert_int_equal(t.b.items[1].result, STORE_STORED);
	assert_true(t.b.items[1].seq > o4.seq);
	tb_free(&t);
	memset(&g, 0, sizeof(g));
	assert_int_equal(store_held(other, ids + 2, 1, c1, held_fn, &g, &d),
			 ST_OK);
	assert_int_equal(g.n, 3); /* versions 1, 2 and 3 */
	/* then read here (the readers' view): found */
	struct store_item o5 = one(other, c1, "indicator", 5, true, 1, "5");
	char i5[STORE_ID_MAX];
	make_id(i5, "indicator", 5);
	const char *more[] = {i2, i5};
	memset(&g, 0, sizeof(g));
	assert_int_equal(store_held(f->s, more, 2, c1, held_fn, &g, &d), ST_OK);
	assert_int_equal(g.n, 2);
	bool seen2 = false, seen5 = false;
	for (size_t k = 0; k < g.n; k++) {
		seen2 |= g.idx[k] == 0 && g.seq[k] == o2.seq;
		seen5 |= g.idx[k] == 1 && g.seq[k] == o5.seq;
	}
	assert_true(seen2);
	assert_true(seen5);
	store_close(other);
}

/* The id filter itself (SQLite): no UUID it was given, at a build, by a
 * fold or by the writer, ever reads "not held", across a growth; UUIDs
 * never given mostly do. */
static void test_id_filter(void **state)
{
	struct fx *f = *state;
	if (strcmp(f->be->name, "sqlite") != 0)
		return;
	sqlite3 *db;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(db,
			 "CREATE TABLE versions(seq INTEGER PRIMARY KEY,"
			 " uuid BLOB);"
			 "CREATE TABLE keys_main(uuid BLOB);"
			 "CREATE TABLE keys_recent(uuid BLOB);",
			 NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_stmt *ins, *k;
	assert_int_equal(sqlite3_prepare_v2(db,
					    "INSERT INTO versions(seq, uuid)"
					    " VALUES(?1, ?2)",
					    -1, &ins, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
					    "INSERT INTO keys_main(uuid)"
					    " VALUES(?1)",
					    -1, &k, NULL),
			 SQLITE_OK);
	struct sq_idf_stmts q;
	assert_int_equal(
	    sqlite3_prepare_v2(db, SQ_IDF_AFTER, -1, &q.after, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, SQ_IDF_ALL, -1, &q.all, NULL),
			 SQLITE_OK);
	enum { N = 150000, HELD_AT_BUILD = 1000, FOLDED = 2000 };
	uint8_t(*u)[16] = malloc((size_t)N * 16);
	assert_non_null(u);
	for (size_t i = 0; i < N; i++)
		uuid_v4(u[i]);
	struct sq_idf idf;
	sq_idf_init(&idf);
	struct diag d;
	/* rows held before the build, in the key table and the log */
	for (size_t i = 0; i < HELD_AT_BUILD + FOLDED; i++) {
		sqlite3_bind_int64(ins, 1, (int64_t)i + 1);
		sqlite3_bind_blob(ins, 2, u[i], 16, SQLITE_STATIC);
		assert_int_equal(sqlite3_step(ins), SQLITE_DONE);
		sqlite3_reset(ins);
		if (i >= HELD_AT_BUILD)
			continue;
		sqlite3_bind_blob(k, 1, u[i], 16, SQLITE_STATIC);
		assert_int_equal(sqlite3_step(k), SQLITE_DONE);
		sqlite3_reset(k);
	}
	/* not yet due: a few lookups against many rows build nothing */
	assert_int_equal(
	    sq_idf_sync_locked(&idf, db, &q, HELD_AT_BUILD, 10, false, &d),
	    ST_OK);
	assert_false(idf.built);
	assert_true(sq_idf_maybe_locked(&idf, u[N - 1]));
	/* due: built from the keys, as of seq HELD_AT_BUILD */
	assert_int_equal(sq_idf_sync_locked(&idf, db, &q, HELD_AT_BUILD,
					    HELD_AT_BUILD, false, &d),
			 ST_OK);
	assert_true(idf.built);
	assert_int_equal(idf.through, HELD_AT_BUILD);
	/* it answers for that snapshot, not for a later one (a reader with
	 * an older snapshot may build it while another reads): those look
	 * every id up until a sync folds the rest in */
	assert_true(sq_idf_covers_locked(&idf, HELD_AT_BUILD));
	assert_false(sq_idf_covers_locked(&idf, HELD_AT_BUILD + 1));
	/* the log moved on: the rows after `through` are folded in */
	assert_int_equal(sq_idf_sync_locked(&idf, db, &q,
					    HELD_AT_BUILD + FOLDED, 1, false,
					    &d),
			 ST_OK);
	assert_int_equal(idf.through, HELD_AT_BUILD + FOLDED);
	assert_true(sq_idf_covers_locked(&idf, HELD_AT_BUILD + FOLDED));
	/* the writer adds the rest, past its capacity ... */
	for (size_t i = HELD_AT_BUILD + FOLDED; i < N; i++)
		sq_idf_add_locked(&idf, u[i]);
	assert_true(idf.n > idf.cap);
	/* ... a reader never rebuilds; the writer grows it from the keys */
	uint64_t builds = idf.builds;
	assert_int_equal(sq_idf_sync_locked(&idf, db, &q,
					    HELD_AT_BUILD + FOLDED, 1, false,
					    &d),
			 ST_OK);
	assert_int_equal(idf.builds, builds);
	for (size_t i = 0; i < N; i++)
		assert_true(sq_idf_maybe_locked(&idf, u[i]));
	for (size_t i = HELD_AT_BUILD + FOLDED; i < N; i++) {
		sqlite3_bind_int64(ins, 1, (int64_t)i + 1);
		sqlite3_bind_blob(ins, 2, u[i], 16, SQLITE_STATIC);
		assert_int_equal(sqlite3_step(ins), SQLITE_DONE);
		sqlite3_reset(ins);
	}
	assert_int_equal(sqlite3_exec(db,
				      "DELETE FROM keys_main;"
				      " INSERT INTO keys_main"
				      " SELECT uuid FROM versions",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(sq_idf_sync_locked(&idf, db, &q, N, 1, true, &d),
			 ST_OK);
	assert_int_equal(idf.builds, builds + 1);
	assert_int_equal(idf.n, N);
	assert_true(idf.cap >= 2 * (uint64_t)N);
	size_t maybe = 0;
	for (size_t i = 0; i < N; i++)
		assert_true(sq_idf_maybe_locked(&idf, u[i]));
	/* never given: "not held", but for about one in a hundred */
	for (size_t i = 0; i < 100000; i++) {
		uint8_t x[16];
		uuid_v4(x);
		maybe += sq_idf_maybe_locked(&idf, x);
	}
	assert_true(maybe < 3000);
	sq_idf_free(&idf);
	sqlite3_finalize(ins);
	sqlite3_finalize(k);
	sqlite3_finalize(q.after);
	sqlite3_finalize(q.all);
	sqlite3_close(db);
	free(u);
}

/* What a version's owner keeps with it comes back on every read path, as
 * written; a version stored without it reads NULL. */
struct provs {
	size_t n, with;
	char last[32];
};

static int prov_fn(void *ctx, const struct store_row *row)
{
	struct provs *p = ctx;
	p->n++;
	if (row->prov != NULL) {
		p->with++;
		assert_true(row->prov_len < sizeof(p->last));
		memcpy(p->last, row->prov, row->prov_len);
		p->last[row->prov_len] = '\0';
	} else {
		assert_int_equal(row->prov_len, 0);
	}
	return 0;
}

static int prov_held_fn(void *ctx, size_t i, const struct store_row *row)
{
	(void)i;
	return prov_fn(ctx, row);
}

static void test_prov(void **state)
{
	struct fx *f = *state;
	int64_t c1 = add_coll(f->s, C1, "");
	struct diag d;
	struct tb t;
	tb_init(&t, 2, c1);
	tb_set(&t, 0, "indicator", 1, true, 1, "a");
	tb_set(&t, 1, "indicator", 2, true, 1, "b");
	static const char blob[] = {'o', 0, 'r', 'g'}; /* any bytes */
	t.b.items[0].prov = blob;
	t.b.items[0].prov_len = sizeof(blob);
	append_ok(f->s, &t);
	tb_free(&t);
	struct provs p;
	uint64_t last;
	memset(&p, 0, sizeof(p));
	assert_int_equal(store_log_read(f->s, 0, 10, 0, prov_fn, &p, &last, &d),
			 ST_OK);
	assert_int_equal(p.n, 2);
	assert_int_equal(p.with, 1);
	assert_memory_equal(p.last, blob, sizeof(blob));
	memset(&p, 0, sizeof(p));
	assert_int_equal(
	    store_log_read(f->s, 0, 10, c1, prov_fn, &p, &last, &d), ST_OK);
	assert_int_equal(p.with, 1);
	char id[STORE_ID_MAX];
	make_id(id, "indicator", 1);
	struct store_query q;
	memset(&q, 0, sizeof(q));
	q.id = id;
	memset(&p, 0, sizeof(p));
	assert_int_equal(store_query(f->s, &q, prov_fn, &p, NULL, &d), ST_OK);
	assert_int_equal(p.n, 1);
	assert_int_equal(p.with, 1);
	assert_memory_equal(p.last, blob, sizeof(blob));
	const char *ids[] = {id};
	memset(&p, 0, sizeof(p));
	assert_int_equal(store_held(f->s, ids, 1, c1, prov_held_fn, &p, &d),
			 ST_OK);
	assert_int_equal(p.with, 1);
	assert_memory_equal(p.last, blob, sizeof(blob));
	struct store_page_query pq;
	struct store_page_result pr;
	memset(&pq, 0, sizeof(pq));
	memset(&pr, 0, sizeof(pr));
	pq.cid = c1;
	pq.limit = 10;
	memset(&p, 0, sizeof(p));
	assert_int_equal(store_page(f->s, &pq, prov_fn, &p, &pr, &d), ST_OK);
	assert_int_equal(p.n, 2);
	assert_int_equal(p.with, 1);
	assert_memory_equal(p.last, blob, sizeof(blob));
}

static void test_log_read(void **state)
{
	struct fx *f = *state;
	int64_t c1 = add_coll(f->s, C1, "");
	int64_t c2 = add_coll(f->s, C2, "");
	struct logged l;
	uint64_t last;
	struct diag d;
	struct store_item s1 = one(f->s, c1, "indicator", 1, true, 1, "1");
	one(f->s, c2, "indicator", 2, true, 1, "2");
	one(f->s, c1, "indicator", 3, true, 1, "3");
	one(f->s, 0, "indicator", 4, true, 1, "4");
	one(f->s, c2, "indicator", 5, true, 1, "5");
	/* seq 2 joins c1 later (no new seq). */
	struct store_item j = one(f->s, c1, "indicator", 2, true, 1, "2");
	assert_int_equal(j.seq, 2);

	memset(&l, 0, sizeof(l));
	assert_int_equal(store_log_read(f->s, 0, 100, 0, log_fn, &l, &last, &d),
			 ST_OK);
	assert_int_equal(l.n, 5);
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(l.seq[i], i + 1);
		assert_int_equal(l.date[i], 0);
	}
	assert_int_equal(last, 5);

	memset(&l, 0, sizeof(l));
	assert_int_equal(
	    store_log_read(f->s, 0, 100, c1, log_fn, &l, &last, &d), ST_OK);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.seq[0], 1);
	assert_int_equal(l.date[0], s1.date_added);
	assert_int_equal(l.seq[1], 2);
	assert_int_equal(l.date[1], j.date_added); /* its date in c1 */
	assert_int_equal(l.seq[2], 3);
	assert_int_equal(last, 5);

	/* limit bounds the versions examined; last_seq moves past the
	 * versions of other collections. */
	memset(&l, 0, sizeof(l));
	assert_int_equal(store_log_read(f->s, 2, 2, c1, log_fn, &l, &last, &d),
			 ST_OK);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.seq[0], 3);
	assert_int_equal(last, 4);
	memset(&l, 0, sizeof(l));
	assert_int_equal(
	    store_log_read(f->s, last, 2, c1, log_fn, &l, &last, &d), ST_OK);
	assert_int_equal(l.n, 0);
	assert_int_equal(last, 5);
	assert_int_equal(
	    store_log_read(f->s, last, 2, c1, log_fn, &l, &last, &d), ST_OK);
	assert_int_equal(last, 5);

	/* A stop from fn: that row counts as read. */
	memset(&l, 0, sizeof(l));
	l.stop_at = 2;
	assert_int_equal(store_log_read(f->s, 0, 100, 0, log_fn, &l, &last, &d),
			 42);
	assert_int_equal(last, 2);
	assert_int_equal(store_log_read(f->s, 0, 0, 0, log_fn, &l, &last, &d),
			 ST_EINVAL);
}

/* ------------------------------------------------------------------ */
/* Upgrades                                                             */
/* ------------------------------------------------------------------ */

/* A store made by the first schema (before TAXII) opens, upgrades, and
 * keeps its data. */
static void test_migrate_from_1(void **state)
{
	struct fx *f = *state;
	int64_t v = -1;
	if (f->be->create_at_schema == NULL || f->be->raw == NULL)
		skip();
	store_close(f->s);
	f->s = NULL;
	rm_dir(f->dir);
	assert_int_equal(mkdir(f->dir, 0700), 0);
	assert_int_equal(f->be->create_at_schema(f->dir, 1), ST_OK);
	assert_int_equal(
	    f->be->raw(f->dir, "SELECT max(version) FROM schema_version", &v),
	    0);
	assert_int_equal(v, 1);
	assert_int_equal(f->be->raw(f->dir,
				    "SELECT count(*) FROM sqlite_master"
				    " WHERE name IN ('status', 'removals')",
				    &v),
			 0);
	assert_int_equal(v, 0);
	/* What schema 1 held: one collection, an indicator in it with two
	 * versions, the older one (400) stored after the newer (500). */
	char sql[1024];
	snprintf(sql, sizeof(sql),
		 "INSERT INTO types(code, name, versions, objects)"
		 " VALUES (1, 'indicator', 2, 1);"
		 "INSERT INTO collections(cid, id, alias, title, description,"
		 " media_types) VALUES (1, '%s', 'old', 't', '', '');"
		 "INSERT INTO versions VALUES (1, 1,"
		 " X'00000000000040008000000000000001', 500, 1, 0,"
		 " '{\"old\":1}', NULL);"
		 "INSERT INTO versions VALUES (2, 1,"
		 " X'00000000000040008000000000000001', 400, 1, 0,"
		 " '{\"old\":2}', NULL);"
		 "INSERT INTO membership VALUES (1, 1000, 1);"
		 "INSERT INTO membership VALUES (1, 1001, 2);"
		 "UPDATE meta SET value = '2' WHERE key = 'store.last_seq';"
		 "UPDATE meta SET value = '1001'"
		 " WHERE key = 'store.last_date';",
		 C1);
	assert_int_equal(f->be->raw(f->dir, sql, NULL), 0);

	f->s = open_store(f, NULL);
	check_ok(f->s);
	struct store_collection c;
	assert_int_equal(store_collection_find(f->s, C1, &c), ST_OK);
	struct store_page_query q = {.cid = c.cid, .limit = 10};
	struct got g;
	page(f->s, &q, &g);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.r[0].date_added, 1000);
	assert_int_equal(g.r[0].version, 500);
	assert_string_equal(g.r[0].body, "{\"old\":1}");
	got_free(&g);
	q.version.sel = STORE_VM_FIRST;
	PAGE_EXPECT(f->s, &q, 1, 2);
	q.version.sel = STORE_VM_ALL;
	PAGE_EXPECT(f->s, &q, 2, 1, 2);
	assert_int_equal(store_last_seq(f->s), 2);
	/* The new tables work. */
	status_put_ok(f->s, S1, 1, 0, false, "{}");
	char id[STORE_ID_MAX];
	make_id(id, "indicator", 1);
	assert_int_equal(remove_ok(f->s, c.cid, id, NULL, NULL, 0), 1);
	q.version.sel = STORE_VM_LAST;
	PAGE_EXPECT(f->s, &q, 1, 2); /* 400 is the last one left */
	struct store_item it = one(f->s, c.cid, "indicator", 9, true, 1, "n");
	assert_int_equal(it.seq, 3);
	assert_true(it.date_added > 1001);
	check_ok(f->s);
	store_close(f->s);
	f->s = NULL;
	assert_int_equal(
	    f->be->raw(f->dir, "SELECT max(version) FROM schema_version", &v),
	    0);
	assert_int_equal(v, f->be->schema_latest());
	assert_true(v >= 2);
	f->s = open_store(f, NULL);
}

/* ------------------------------------------------------------------ */

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_open_reopen),
	    T(test_memberships),
	    T(test_held),
	    T(test_held_written_elsewhere),
	    T(test_recent_keys_follow_commit_size),
	    T(test_id_filter),
	    T(test_prov),
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
	    T(test_check_keys),
	    T(test_page_filters),
	    T(test_page_errors),
	    T(test_get_object),
	    T(test_page_10000_one_batch),
	    T(test_page_visibility_fills),
	    T(test_page_budget),
	    T(test_versions),
	    T(test_remove),
	    T(test_status),
	    T(test_status_group_commit),
	    T(test_status_async),
	    T(test_status_shares_sync),
	    T(test_idle_readers),
	    T(test_wait_seq),
	    T(test_log_read),
	    T(test_migrate_from_1),
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
