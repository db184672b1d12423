/* strait: the store's public functions, dispatched to the backends. */
#include "store/store_int.h"

#include "common/uuid.h"

#include <stdatomic.h>
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

int store_check(struct store *s, struct diag *d)
{
	return s->ops->check(s, d);
}
