/* strait: the store's public functions, dispatched to the backends. */
#include "store/store_int.h"

#include "common/uuid.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Backends by URL scheme; a bare path goes to the first. */
static const struct store_ops *const backends[] = {
    &store_sqlite_ops,
};

#define NBACKENDS (sizeof(backends) / sizeof(backends[0]))

static _Atomic(store_clock_fn) clock_fn;

st_time store_clock_now(void)
{
	store_clock_fn fn =
	    atomic_load_explicit(&clock_fn, memory_order_acquire);
	return fn != NULL ? fn() : time_now();
}

void store_set_clock_for_test(store_clock_fn fn)
{
	atomic_store_explicit(&clock_fn, fn, memory_order_release);
}

int store_id_split(const char *id, size_t *type_len, uint8_t uuid[16])
{
	if (id == NULL)
		return ST_EINVAL;
	size_t len = strlen(id);
	/* The UUID is the last 36 characters: types may contain '-'. */
	if (len < 1 + 2 + UUID_STRLEN || len > STORE_ID_MAX - 1)
		return ST_EINVAL;
	size_t tl = len - UUID_STRLEN - 2;
	if (id[tl] != '-' || id[tl + 1] != '-')
		return ST_EINVAL;
	for (size_t i = 0; i < tl; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-'))
			return ST_EINVAL;
	}
	if (uuid_parse(id + tl + 2, UUID_STRLEN, true, uuid) != ST_OK)
		return ST_EINVAL;
	*type_len = tl;
	return ST_OK;
}

/* Is url "scheme:rest" with a scheme we do not know? */
static bool has_scheme(const char *url)
{
	size_t i = 0;
	while ((url[i] >= 'a' && url[i] <= 'z') ||
	       (url[i] >= '0' && url[i] <= '9') || url[i] == '+')
		i++;
	return i >= 2 && url[i] == ':';
}

int store_open(const char *url, const struct store_options *opt,
	       struct store **out, struct diag *d)
{
	static const struct store_options defaults;
	if (url == NULL || out == NULL)
		return diag_set(d, ST_EINVAL, "store: no URL");
	if (opt == NULL)
		opt = &defaults;
	*out = NULL;
	for (size_t i = 0; i < NBACKENDS; i++) {
		size_t n = strlen(backends[i]->scheme);
		if (strncmp(url, backends[i]->scheme, n) == 0 && url[n] == ':')
			return backends[i]->open(url + n + 1, opt, out, d);
	}
	if (has_scheme(url))
		return diag_set(d, ST_EINVAL, "store: unknown scheme in '%s'",
				url);
	return backends[0]->open(url, opt, out, d);
}

void store_close(struct store *s)
{
	if (s != NULL)
		s->ops->close(s);
}

const char *store_incarnation(struct store *s)
{
	return s->ops->incarnation(s);
}

int store_meta_get(struct store *s, const char *key, char *val, size_t cap)
{
	if (key == NULL || val == NULL || cap == 0)
		return ST_EINVAL;
	return s->ops->meta_get(s, key, val, cap);
}

int store_meta_set(struct store *s, const char *key, const char *val)
{
	if (key == NULL || val == NULL || key[0] == '\0' ||
	    strncmp(key, "store.", 6) == 0)
		return ST_EINVAL;
	return s->ops->meta_set(s, key, val);
}

int store_collection_add(struct store *s, struct store_collection *c,
			 struct diag *d)
{
	uint8_t u[16];
	if (c == NULL)
		return diag_set(d, ST_EINVAL, "collection: none given");
	if (uuid_parse(c->id, strnlen(c->id, sizeof(c->id)), true, u) != ST_OK)
		return diag_set(d, ST_EINVAL,
				"collection: id '%.36s' is not a lowercase "
				"UUID",
				c->id);
	if (memchr(c->alias, '\0', sizeof(c->alias)) == NULL ||
	    memchr(c->title, '\0', sizeof(c->title)) == NULL ||
	    memchr(c->description, '\0', sizeof(c->description)) == NULL ||
	    memchr(c->media_types, '\0', sizeof(c->media_types)) == NULL)
		return diag_set(d, ST_EINVAL,
				"collection %s: unterminated field", c->id);
	/* An alias shaped like a UUID could name another collection. */
	if (uuid_parse(c->alias, strlen(c->alias), false, u) == ST_OK)
		return diag_set(d, ST_EINVAL,
				"collection %s: alias '%s' looks like a "
				"collection id",
				c->id, c->alias);
	return s->ops->collection_add(s, c, d);
}

int store_collection_find(struct store *s, const char *id_or_alias,
			  struct store_collection *out)
{
	if (id_or_alias == NULL || id_or_alias[0] == '\0' || out == NULL)
		return ST_EINVAL;
	return s->ops->collection_find(s, id_or_alias, out);
}

int store_collection_list(struct store *s, store_collection_fn fn, void *ctx)
{
	return s->ops->collection_list(s, fn, ctx);
}

int store_submit(struct store *s, struct store_batch *b)
{
	return s->ops->submit(s, b);
}

int store_wait(struct store *s, struct store_batch *b)
{
	return s->ops->wait(s, b);
}

int store_append(struct store *s, struct store_batch *b)
{
	int rc = store_submit(s, b);
	if (rc != ST_OK)
		return rc;
	return store_wait(s, b);
}

int store_query(struct store *s, const struct store_query *q, store_row_fn fn,
		void *ctx, size_t *count, struct diag *d)
{
	if (count != NULL)
		*count = 0;
	if (q == NULL || fn == NULL)
		return diag_set(d, ST_EINVAL, "query: nothing to do");
	if (q->cid == 0 && q->added_after != 0)
		return diag_set(d, ST_EINVAL,
				"query: added_after needs a collection");
	if (q->vsel > STORE_V_AT)
		return diag_set(d, ST_EINVAL, "query: unknown version filter");
	return s->ops->query(s, q, fn, ctx, count, d);
}

int store_stats(struct store *s, struct store_stats *st)
{
	memset(st, 0, sizeof(*st));
	return s->ops->stats(s, st);
}

int store_count_by_type(struct store *s, store_type_count_fn fn, void *ctx)
{
	return s->ops->count_by_type(s, fn, ctx);
}

int store_held(struct store *s, const char *const *ids, size_t n, int64_t cid,
	       store_held_fn fn, void *ctx, struct diag *d)
{
	if (n > 0 && (ids == NULL || fn == NULL))
		return diag_set(d, ST_EINVAL, "held: nothing to do");
	return n == 0 ? ST_OK : s->ops->held(s, ids, n, cid, fn, ctx, d);
}

int store_memberships(struct store *s, uint64_t seq, int64_t *cids, size_t cap,
		      size_t *n, struct diag *d)
{
	*n = 0;
	return s->ops->memberships(s, seq, cids, cap, n, d);
}

int store_check(struct store *s, struct diag *d)
{
	return s->ops->check(s, d);
}

/* ------------------------------------------------------------------ */
/* TAXII 2.1 reads, removals, status, following the log                 */
/* ------------------------------------------------------------------ */

/* Does a match[spec_version] list admit what strait stores? */
static bool spec_admits(const char *const *spec, size_t n)
{
	if (n == 0)
		return true;
	for (size_t i = 0; i < n; i++)
		if (spec[i] != NULL && strcmp(spec[i], STORE_SPEC_VERSION) == 0)
			return true;
	return false;
}

static int check_list(const void *list, size_t n, const char *what,
		      struct diag *d)
{
	if (n > STORE_MATCH_MAX)
		return diag_set(d, ST_ELIMIT, "match[%s]: more than %d values",
				what, STORE_MATCH_MAX);
	if (n > 0 && list == NULL)
		return diag_set(d, ST_EINVAL, "match[%s]: no list", what);
	return ST_OK;
}

static int check_vmatch(const struct store_vmatch *v, struct diag *d)
{
	if ((v->sel & ~(STORE_VM_LAST | STORE_VM_FIRST | STORE_VM_ALL)) != 0)
		return diag_set(d, ST_EINVAL,
				"match[version]: unknown "
				"selector");
	return check_list(v->at, v->nat, "version", d);
}

int store_page(struct store *s, const struct store_page_query *q,
	       store_row_fn fn, void *ctx, struct store_page_result *res,
	       struct diag *d)
{
	struct store_page_result local;
	uint8_t u[16];
	size_t tl;
	int rc;
	if (res == NULL)
		res = &local;
	memset(res, 0, sizeof(*res));
	if (q == NULL || fn == NULL)
		return diag_set(d, ST_EINVAL, "page: nothing to do");
	if (q->cid <= 0)
		return diag_set(d, ST_EINVAL, "page: no collection");
	if (q->limit == 0)
		return diag_set(d, ST_EINVAL, "page: limit must be > 0");
	if (q->added_after < 0 || q->after < 0)
		return diag_set(d, ST_EINVAL, "page: negative position");
	if ((rc = check_list(q->ids, q->nids, "id", d)) != ST_OK ||
	    (rc = check_list(q->types, q->ntypes, "type", d)) != ST_OK ||
	    (rc = check_list(q->spec_versions, q->nspec, "spec_version", d)) !=
		ST_OK ||
	    (rc = check_vmatch(&q->version, d)) != ST_OK)
		return rc;
	for (size_t i = 0; i < q->nids; i++)
		if (store_id_split(q->ids[i], &tl, u) != ST_OK)
			return diag_set(
			    d, ST_EINVAL, "match[id]: invalid id '%.80s'",
			    q->ids[i] != NULL ? q->ids[i] : "(null)");
	for (size_t i = 0; i < q->ntypes; i++)
		if (q->types[i] == NULL)
			return diag_set(d, ST_EINVAL, "match[type]: null");
	res->next = q->after > q->added_after ? q->after : q->added_after;
	if (!spec_admits(q->spec_versions, q->nspec))
		return ST_OK;
	return s->ops->page(s, q, fn, ctx, res, d);
}

int store_versions(struct store *s, const struct store_versions_query *q,
		   store_row_fn fn, void *ctx, struct store_page_result *res,
		   struct diag *d)
{
	if (q == NULL)
		return diag_set(d, ST_EINVAL, "versions: nothing to do");
	if (q->id == NULL)
		return diag_set(d, ST_EINVAL, "versions: no id");
	const char *ids[1] = {q->id};
	struct store_page_query p = {
	    .cid = q->cid,
	    .ids = ids,
	    .nids = 1,
	    .version = {.sel = STORE_VM_ALL},
	    .spec_versions = q->spec_versions,
	    .nspec = q->nspec,
	    .added_after = q->added_after,
	    .after = q->after,
	    .limit = q->limit,
	    .flags = STORE_PAGE_NO_BODY,
	    .visible = q->visible,
	    .visible_ctx = q->visible_ctx,
	    .budget = q->budget,
	    .scan_max = q->scan_max,
	};
	return store_page(s, &p, fn, ctx, res, d);
}

int store_remove(struct store *s, int64_t cid, const char *id,
		 const struct store_vmatch *v, const char *const *spec_versions,
		 size_t nspec, size_t *removed, struct diag *d)
{
	static const struct store_vmatch last = {STORE_VM_LAST, NULL, 0};
	size_t local, tl;
	uint8_t u[16];
	int rc;
	if (removed == NULL)
		removed = &local;
	*removed = 0;
	if (cid <= 0)
		return diag_set(d, ST_EINVAL, "remove: no collection");
	if (store_id_split(id, &tl, u) != ST_OK)
		return diag_set(d, ST_EINVAL, "remove: invalid id '%.80s'",
				id != NULL ? id : "(null)");
	if (v == NULL || (v->sel == 0 && v->nat == 0))
		v = &last;
	if ((rc = check_vmatch(v, d)) != ST_OK ||
	    (rc = check_list(spec_versions, nspec, "spec_version", d)) != ST_OK)
		return rc;
	if (!spec_admits(spec_versions, nspec))
		return ST_OK;
	return s->ops->remove(s, cid, id, v, spec_versions, nspec, removed, d);
}

static bool is_status_id(const char *id)
{
	uint8_t u[16];
	return id != NULL &&
	       uuid_parse(id, strnlen(id, UUID_STRLEN + 1), true, u) == ST_OK;
}

static int status_check(const struct store_status *st, struct diag *d)
{
	if (st == NULL || !is_status_id(st->id))
		return diag_set(d, ST_EINVAL, "status: id is not a UUID");
	if (st->lists_len > 0 && st->lists == NULL)
		return diag_set(d, ST_EINVAL, "status: no lists");
	if (st->total > INT64_MAX || st->success > INT64_MAX ||
	    st->failure > INT64_MAX || st->npending > INT64_MAX ||
	    st->lists_len > INT32_MAX)
		return diag_set(d, ST_ERANGE, "status: out of range");
	return ST_OK;
}

int store_status_put(struct store *s, const struct store_status *st,
		     struct diag *d)
{
	int rc = status_check(st, d);
	return rc != ST_OK ? rc : s->ops->status_put(s, st, d);
}

int store_status_put_async(struct store *s, const struct store_status *st,
			   struct diag *d)
{
	int rc = status_check(st, d);
	if (rc != ST_OK)
		return rc;
	/* A backend without it waits: the put is durable on return. */
	if (s->ops->status_put_async == NULL)
		return s->ops->status_put(s, st, d);
	return s->ops->status_put_async(s, st, d);
}

int store_status_get(struct store *s, const char *id, struct store_status *out,
		     struct diag *d)
{
	if (out == NULL)
		return diag_set(d, ST_EINVAL, "status: no output");
	memset(out, 0, sizeof(*out));
	if (!is_status_id(id))
		return diag_set(d, ST_ENOTFOUND, "status: no such status");
	return s->ops->status_get(s, id, out, d);
}

void store_status_release(struct store_status *st)
{
	if (st == NULL)
		return;
	free(st->lists);
	st->lists = NULL;
	st->lists_len = 0;
}

int store_status_purge(struct store *s, st_time before, size_t *purged,
		       struct diag *d)
{
	size_t local;
	if (purged == NULL)
		purged = &local;
	*purged = 0;
	return s->ops->status_purge(s, before, purged, d);
}

uint64_t store_last_seq(struct store *s)
{
	return s->ops->wait_seq(s, UINT64_MAX, 0);
}

uint64_t store_wait_seq(struct store *s, uint64_t after_seq, int timeout_ms)
{
	return s->ops->wait_seq(s, after_seq, timeout_ms);
}

st_time store_last_added(struct store *s)
{
	return s->ops->wait_added(s, INT64_MAX, 0);
}

st_time store_wait_added(struct store *s, st_time after, int timeout_ms)
{
	return s->ops->wait_added(s, after, timeout_ms);
}

int store_log_read(struct store *s, uint64_t after_seq, size_t limit,
		   int64_t cid, store_row_fn fn, void *ctx, uint64_t *last_seq,
		   struct diag *d)
{
	if (last_seq != NULL)
		*last_seq = after_seq;
	if (fn == NULL || limit == 0 || cid < 0)
		return diag_set(d, ST_EINVAL, "log: nothing to do");
	if (after_seq > INT64_MAX)
		return diag_set(d, ST_ERANGE, "log: after_seq out of range");
	return s->ops->log_read(s, after_seq, limit, cid, fn, ctx, last_seq, d);
}
