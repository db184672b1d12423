/*
 * strait: a lookup's answer as JSON, the one shape the CLI and the API
 * give (docs/LOOKUP.md). Everything in it, the counts included, comes
 * from versions the caller's release decision shows.
 */
#include "lookup/lookup.h"

#include "common/json.h"
#include "federation/fedstate.h"
#include "stix/stix.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SOURCES_MAX 64

struct source {
	char identity[STIX_ID_MAX]; /* "" for a feed peer */
	char peer[33];		    /* the partner it came from, or "" */
	size_t objects;
};

struct rep {
	struct jw *w;
	struct store *st;
	const char *self;
	struct source src[SOURCES_MAX];
	size_t nsrc;
	size_t objects, indicators, sightings;
	int64_t sighting_count;
	st_time first_seen, last_seen;
};

static void put_str_of(struct jw *w, const char *key, const struct json_val *o)
{
	const struct json_val *v = json_get(o, key);
	if (v != NULL && v->type == JSON_STRING) {
		jw_key(w, key);
		jw_strn(w, v->u.str, v->len);
	}
}

static void note_source(struct rep *r, const char *identity, const char *peer)
{
	for (size_t i = 0; i < r->nsrc; i++)
		if (strcmp(r->src[i].identity, identity) == 0 &&
		    strcmp(r->src[i].peer, peer) == 0) {
			r->src[i].objects++;
			return;
		}
	if (r->nsrc == SOURCES_MAX)
		return;
	struct source *s = &r->src[r->nsrc++];
	snprintf(s->identity, sizeof(s->identity), "%s", identity);
	snprintf(s->peer, sizeof(s->peer), "%s", peer);
	s->objects = 1;
}

static void seen(struct rep *r, const struct json_val *o, const char *first,
		 const char *last)
{
	st_time t;
	const struct json_val *v = json_get(o, first);
	if (v != NULL && v->type == JSON_STRING &&
	    ts_parse(v->u.str, v->len, &t, NULL) == ST_OK &&
	    (r->first_seen == 0 || t < r->first_seen))
		r->first_seen = t;
	v = json_get(o, last);
	if (v != NULL && v->type == JSON_STRING &&
	    ts_parse(v->u.str, v->len, &t, NULL) == ST_OK && t > r->last_seen)
		r->last_seen = t;
}

/* Where this node has the version from, as "source": {"origin",
 * "local", "from_peer"}; origin and peer (33 bytes) get the same. */
static void put_source(struct jw *w, const struct store_row *row,
		       const char *self, char *origin, char *peer)
{
	struct fed_prov p;
	origin[0] = peer[0] = '\0';
	if (row->prov != NULL &&
	    fed_prov_decode(row->prov, row->prov_len, &p) == ST_OK) {
		snprintf(origin, STIX_ID_MAX, "%s", p.origin);
		snprintf(peer, 33, "%s", p.peer);
		fed_prov_free(&p);
	} else if (!(row->flags & STORE_F_FOREIGN)) {
		snprintf(origin, STIX_ID_MAX, "%s", self);
	}
	jw_key(w, "source");
	jw_obj_open(w);
	jw_key(w, "origin");
	jw_str(w, origin);
	jw_key(w, "local");
	jw_bool(w, origin[0] != '\0' && strcmp(origin, self) == 0);
	if (peer[0] != '\0') {
		jw_key(w, "from_peer");
		jw_str(w, peer);
	}
	jw_obj_close(w);
}

/* What every object of an answer starts with: "id", "type". */
static void put_id_type(struct jw *w, const struct store_row *row,
			const struct json_val *type)
{
	jw_key(w, "id");
	jw_str(w, row->id);
	jw_key(w, "type");
	if (type != NULL && type->type == JSON_STRING)
		jw_strn(w, type->u.str, type->len);
	else
		jw_str(w, "");
}

/* "version", "tlp" and "source" (put_source). */
static void put_where(struct jw *w, const struct store_row *row,
		      const char *self, char *origin, char *peer)
{
	char ts[TS_BUFSZ];
	ts_format(row->version, ts);
	jw_key(w, "version");
	jw_str(w, ts);
	jw_key(w, "tlp");
	jw_str(w, tlp_name(row->tlp));
	put_source(w, row, self, origin, peer);
}

static int on_hit(void *ctx, const struct lk_hit *h)
{
	struct rep *r = ctx;
	struct jw *w = r->w;
	const struct store_row *row = h->row;
	const struct json_val *o = h->obj;
	if (o == NULL)
		return ST_OK;
	const struct json_val *type = json_get(o, "type");
	r->objects++;
	jw_obj_open(w);
	put_id_type(w, row, type);
	jw_key(w, "found");
	jw_str(w, lk_how_name(h->how));
	if (h->via != NULL) {
		jw_key(w, "via");
		jw_str(w, h->via);
	}
	char origin[STIX_ID_MAX], peer[33];
	put_where(w, row, r->self, origin, peer);
	note_source(r, origin, origin[0] ? "" : peer);
	put_str_of(w, "name", o);
	put_str_of(w, "value", o);
	put_str_of(w, "pattern", o);
	put_str_of(w, "created_by_ref", o);
	const struct json_val *conf = json_get(o, "confidence");
	if (conf != NULL && conf->type == JSON_NUMBER && conf->u.num.is_int) {
		jw_key(w, "confidence");
		jw_int(w, conf->u.num.i);
	}
	const struct json_val *rev = json_get(o, "revoked");
	if (rev != NULL && rev->type == JSON_TRUE) {
		jw_key(w, "revoked");
		jw_bool(w, true);
	}
	if (type != NULL && json_str_eq(type, "indicator")) {
		r->indicators++;
		put_str_of(w, "valid_from", o);
		put_str_of(w, "valid_until", o);
	}
	if (type != NULL && json_str_eq(type, "opinion")) {
		/* who disagreed (created_by_ref, source) and why */
		put_str_of(w, "opinion", o);
		put_str_of(w, "explanation", o);
	}
	if (type != NULL && json_str_eq(type, "sighting")) {
		r->sightings++;
		const struct json_val *c = json_get(o, "count");
		int64_t n =
		    c != NULL && c->type == JSON_NUMBER && c->u.num.is_int
			? c->u.num.i
			: 1;
		r->sighting_count += n;
		jw_key(w, "count");
		jw_int(w, n);
		put_str_of(w, "first_seen", o);
		put_str_of(w, "last_seen", o);
		seen(r, o, "first_seen", "last_seen");
	} else if (type != NULL && json_str_eq(type, "observed-data")) {
		put_str_of(w, "first_observed", o);
		put_str_of(w, "last_observed", o);
		seen(r, o, "first_observed", "last_observed");
	}
	jw_obj_close(w);
	return ST_OK;
}

/* The name of an identity the store holds, if the caller may see it. */
struct name_ctx {
	char name[256];
	lk_visible_fn vis;
	void *vis_ctx;
};

static int identity_name(void *ctx, const struct store_row *row)
{
	struct name_ctx *c = ctx;
	struct json_doc *doc = json_doc_new();
	const struct json_val *o, *n;
	struct diag pd;
	if (doc != NULL && (c->vis == NULL || c->vis(c->vis_ctx, row)) &&
	    json_parse(doc, row->body, row->body_len, 0, NULL, &o, &pd) ==
		ST_OK &&
	    (n = json_get(o, "name")) != NULL && n->type == JSON_STRING)
		snprintf(c->name, sizeof(c->name), "%s", n->u.str);
	json_doc_free(doc);
	return 1;
}

int lk_report_json(struct lk_index *x, struct store *st,
		   const struct lk_value *v, const char *self,
		   lk_visible_fn vis, void *vis_ctx, size_t max, struct jw *w,
		   struct diag *d)
{
	struct rep r = {.w = w, .st = st, .self = self};
	jw_obj_open(w);
	jw_key(w, "value");
	jw_str(w, v->text);
	jw_key(w, "kind");
	jw_str(w, lk_kind_name(v->kind));
	jw_key(w, "objects");
	jw_arr_open(w);
	bool more = false;
	int rc = lk_find(x, v, vis, vis_ctx, max, on_hit, &r, &more, d);
	jw_arr_close(w);
	if (rc != ST_OK)
		return rc;
	jw_key(w, "more");
	jw_bool(w, more);
	jw_key(w, "indexed_through");
	jw_int(w, (int64_t)lk_indexed(x));
	/* who knows it: this node, and each partner whose objects are
	 * among those shown */
	size_t partners = 0;
	bool local = false;
	jw_key(w, "sources");
	jw_arr_open(w);
	for (size_t i = 0; i < r.nsrc; i++) {
		const struct source *s = &r.src[i];
		bool self_src = strcmp(s->identity, self) == 0;
		local |= self_src;
		partners += !self_src;
		/* this node's own name needs no release decision */
		struct name_ctx nc = {.vis = self_src ? NULL : vis,
				      .vis_ctx = vis_ctx};
		if (s->identity[0] != '\0') {
			struct store_query q = {.id = s->identity,
						.vsel = STORE_V_LAST};
			store_query(st, &q, identity_name, &nc, NULL, NULL);
		}
		jw_obj_open(w);
		jw_key(w, "origin");
		jw_str(w, s->identity);
		jw_key(w, "name");
		jw_str(w, nc.name);
		jw_key(w, "local");
		jw_bool(w, self_src);
		if (s->peer[0] != '\0') {
			jw_key(w, "from_peer");
			jw_str(w, s->peer);
		}
		jw_key(w, "objects");
		jw_int(w, (int64_t)s->objects);
		jw_obj_close(w);
	}
	jw_arr_close(w);
	jw_key(w, "summary");
	jw_obj_open(w);
	jw_key(w, "objects");
	jw_int(w, (int64_t)r.objects);
	jw_key(w, "indicators");
	jw_int(w, (int64_t)r.indicators);
	jw_key(w, "sightings");
	jw_int(w, (int64_t)r.sightings);
	jw_key(w, "times_sighted");
	jw_int(w, r.sighting_count);
	char ts[TS_BUFSZ];
	if (r.first_seen != 0) {
		ts_format(r.first_seen, ts);
		jw_key(w, "first_seen");
		jw_str(w, ts);
		ts_format(r.last_seen, ts);
		jw_key(w, "last_seen");
		jw_str(w, ts);
	}
	jw_key(w, "known_here");
	jw_bool(w, local);
	jw_key(w, "partners");
	jw_int(w, (int64_t)partners);
	jw_obj_close(w);
	jw_obj_close(w);
	return ST_OK;
}

/* ---- strait search ---- */

struct srep {
	struct jw *w;
	const char *self;
};

static int on_text_hit(void *ctx, const struct lk_text_hit *h)
{
	struct srep *r = ctx;
	struct jw *w = r->w;
	const struct store_row *row = h->row;
	const struct json_val *o = h->obj;
	const struct json_val *type = json_get(o, "type");
	jw_obj_open(w);
	put_id_type(w, row, type);
	char origin[STIX_ID_MAX], peer[33];
	put_where(w, row, r->self, origin, peer);
	put_str_of(w, "name", o);
	/* a translation: what it translates */
	const struct json_val *tr = json_get(o, "object_ref");
	if (type != NULL && json_str_eq(type, "language-content") &&
	    tr != NULL && tr->type == JSON_STRING) {
		jw_key(w, "translates");
		jw_strn(w, tr->u.str, tr->len);
	}
	const struct json_val *rev = json_get(o, "revoked");
	if (rev != NULL && rev->type == JSON_TRUE) {
		jw_key(w, "revoked");
		jw_bool(w, true);
	}
	jw_key(w, "snippet");
	jw_str(w, h->snippet);
	jw_obj_close(w);
	return ST_OK;
}

int lk_search_json(struct lk_index *x, const char *q, const char *self,
		   lk_visible_fn vis, void *vis_ctx, size_t max, struct jw *w,
		   struct diag *d)
{
	struct srep r = {.w = w, .self = self};
	jw_obj_open(w);
	jw_key(w, "query");
	jw_str(w, q);
	jw_key(w, "objects");
	jw_arr_open(w);
	bool more = false;
	int rc = lk_search(x, q, vis, vis_ctx, max, on_text_hit, &r, &more, d);
	jw_arr_close(w);
	if (rc != ST_OK)
		return rc;
	jw_key(w, "more");
	jw_bool(w, more);
	jw_key(w, "indexed_through");
	jw_int(w, (int64_t)lk_indexed(x));
	jw_obj_close(w);
	return ST_OK;
}
