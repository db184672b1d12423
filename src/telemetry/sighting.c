/* strait: sightings of indicators in our own telemetry (see sighting.h). */
#include "telemetry/sighting.h"

#include "common/buf.h"
#include "common/uuid.h"
#include "stix/stix.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_WINDOW_S 3600
#define DEFAULT_MAX_VALUES 16
#define MAX_OPEN ((size_t)1 << 20) /* open sightings held at once */
#define MAX_MARKINGS 32
#define MAX_CONTEXT 32
#define OBJ_MAX ((size_t)1 << 20) /* one emitted object */

struct value {
	char *type, *path, *value;
};

/* One sighting: an indicator within one window. */
struct agg {
	struct agg *next; /* hash chain */
	char *indicator;
	int64_t window;
	uint64_t count;
	st_time first, last;
	char *markings[MAX_MARKINGS];
	uint32_t n_markings;
	struct value *vals;
	uint32_t n_vals;
	char *context[MAX_CONTEXT]; /* SCOs, compact JSON */
	uint32_t n_context;
	char sid[64], odid[64]; /* sighting and observed-data ids */
	st_time created, modified;
	bool dirty;
};

struct sighting_agg {
	struct sighting_options opt;
	char *identity;
	struct agg **tab;
	size_t cap, n;
	struct json_doc *doc;
	struct buf a, b; /* scratch for emitted objects */
};

static void write_markings(struct jw *w, const struct agg *g);
static int valid(struct sighting_agg *a, const struct buf *b);

static uint64_t hash_key(const char *s, int64_t w)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return (h ^ (uint64_t)w) * 0x9e3779b97f4a7c15ull;
}

struct sighting_agg *sighting_agg_new(const struct sighting_options *opt)
{
	if (opt == NULL || opt->identity == NULL || opt->identity[0] == '\0')
		return NULL;
	struct sighting_agg *a = calloc(1, sizeof(*a));
	if (a == NULL)
		return NULL;
	a->opt = *opt;
	if (a->opt.window_s <= 0)
		a->opt.window_s = DEFAULT_WINDOW_S;
	if (a->opt.max_values == 0)
		a->opt.max_values = DEFAULT_MAX_VALUES;
	a->identity = strdup(opt->identity);
	a->cap = 256;
	a->tab = calloc(a->cap, sizeof(*a->tab));
	a->doc = json_doc_new();
	buf_init(&a->a, OBJ_MAX);
	buf_init(&a->b, OBJ_MAX);
	if (a->identity == NULL || a->tab == NULL || a->doc == NULL) {
		sighting_agg_free(a);
		return NULL;
	}
	a->opt.identity = a->identity;
	return a;
}

static void agg_free(struct agg *g)
{
	free(g->indicator);
	for (uint32_t i = 0; i < g->n_markings; i++)
		free(g->markings[i]);
	for (uint32_t i = 0; i < g->n_vals; i++) {
		free(g->vals[i].type);
		free(g->vals[i].path);
		free(g->vals[i].value);
	}
	free(g->vals);
	for (uint32_t i = 0; i < g->n_context; i++)
		free(g->context[i]);
	free(g);
}

void sighting_agg_free(struct sighting_agg *a)
{
	if (a == NULL)
		return;
	for (size_t i = 0; a->tab != NULL && i < a->cap; i++) {
		struct agg *g = a->tab[i], *next;
		for (; g != NULL; g = next) {
			next = g->next;
			agg_free(g);
		}
	}
	free(a->tab);
	free(a->identity);
	json_doc_free(a->doc);
	buf_free(&a->a);
	buf_free(&a->b);
	free(a);
}

size_t sighting_count(const struct sighting_agg *a)
{
	return a->n;
}

static int grow(struct sighting_agg *a)
{
	size_t cap = a->cap * 2;
	struct agg **tab = calloc(cap, sizeof(*tab));
	if (tab == NULL)
		return ST_ENOMEM;
	for (size_t i = 0; i < a->cap; i++) {
		struct agg *g = a->tab[i], *next;
		for (; g != NULL; g = next) {
			next = g->next;
			size_t k =
			    hash_key(g->indicator, g->window) & (cap - 1);
			g->next = tab[k];
			tab[k] = g;
		}
	}
	free(a->tab);
	a->tab = tab;
	a->cap = cap;
	return ST_OK;
}

static int add_marking(struct agg *g, const char *id, size_t len)
{
	for (uint32_t i = 0; i < g->n_markings; i++)
		if (strlen(g->markings[i]) == len &&
		    memcmp(g->markings[i], id, len) == 0)
			return ST_OK;
	if (g->n_markings == MAX_MARKINGS)
		return ST_ELIMIT;
	char *c = strndup(id, len);
	if (c == NULL)
		return ST_ENOMEM;
	g->markings[g->n_markings++] = c;
	return ST_OK;
}

/* Every marking of the indicator, object level and granular; its stored
 * TLP when they say less. */
static int take_markings(struct agg *g, const struct sighting_hit *h)
{
	int rc = ST_OK;
	for (size_t i = 0; i < h->n_markings && rc == ST_OK; i++)
		if (h->markings[i] != NULL)
			rc = add_marking(g, h->markings[i],
					 strlen(h->markings[i]));
	const struct json_val *om =
	    json_get(h->indicator, "object_marking_refs");
	for (uint32_t i = 0; om && om->type == JSON_ARRAY && i < om->len; i++)
		if (om->u.items[i].type == JSON_STRING && rc == ST_OK)
			rc = add_marking(g, om->u.items[i].u.str,
					 om->u.items[i].len);
	const struct json_val *gm = json_get(h->indicator, "granular_markings");
	for (uint32_t i = 0; gm && gm->type == JSON_ARRAY && i < gm->len; i++) {
		const struct json_val *r =
		    json_get(&gm->u.items[i], "marking_ref");
		if (r != NULL && r->type == JSON_STRING && rc == ST_OK)
			rc = add_marking(g, r->u.str, r->len);
	}
	int level = -1; /* what the refs say */
	for (uint32_t i = 0; i < g->n_markings; i++) {
		int l =
		    tlp_of_marking_id(g->markings[i], strlen(g->markings[i]));
		if (l > level)
			level = l;
	}
	if (rc == ST_OK && h->tlp > level && h->tlp <= TLP_RED) {
		const char *id = tlp_marking_id((enum tlp)h->tlp);
		rc = add_marking(g, id, strlen(id));
	}
	/* Unmarked and no stored level: leave it to the import's default,
	 * which is what the indicator itself received. */
	return rc;
}

static int take_value(struct sighting_agg *a, struct agg *g,
		      const struct sighting_hit *h)
{
	if (h->sco_type == NULL || h->path == NULL || h->value == NULL)
		return ST_OK;
	for (uint32_t i = 0; i < g->n_vals; i++)
		if (strcmp(g->vals[i].type, h->sco_type) == 0 &&
		    strcmp(g->vals[i].path, h->path) == 0 &&
		    strcmp(g->vals[i].value, h->value) == 0)
			return ST_OK;
	if (g->n_vals >= a->opt.max_values)
		return ST_OK; /* counted, not kept */
	if (g->vals == NULL) {
		g->vals = calloc(a->opt.max_values, sizeof(*g->vals));
		if (g->vals == NULL)
			return ST_ENOMEM;
	}
	struct value *v = &g->vals[g->n_vals];
	v->type = strdup(h->sco_type);
	v->path = strdup(h->path);
	v->value = strdup(h->value);
	if (v->type == NULL || v->path == NULL || v->value == NULL) {
		free(v->type);
		free(v->path);
		free(v->value);
		memset(v, 0, sizeof(*v));
		return ST_ENOMEM;
	}
	g->n_vals++;
	return ST_OK;
}

/*
 * The other SCOs of the observation, for include_context: each that stands
 * alone (no references: a network-traffic needs its endpoints and is left
 * out) gets its deterministic id and the sighting's markings.
 */
static int take_context(struct sighting_agg *a, struct agg *g,
			const struct sighting_hit *h)
{
	if (!a->opt.include_context || g->n_context > 0)
		return ST_OK;
	for (size_t i = 0; i < h->n_context && g->n_context < MAX_CONTEXT;
	     i++) {
		const struct json_val *o = h->context[i];
		const struct json_val *type = json_get(o, "type");
		if (o->type != JSON_OBJECT || type == NULL ||
		    type->type != JSON_STRING)
			continue;
		bool refs = false;
		for (uint32_t k = 0; k < o->len; k++) {
			const char *key = o->u.members[k].key;
			size_t kl = o->u.members[k].klen;
			if ((kl > 4 && strcmp(key + kl - 4, "_ref") == 0) ||
			    (kl > 5 && strcmp(key + kl - 5, "_refs") == 0))
				refs = true;
		}
		uint8_t u[16];
		if (refs || stix_sco_id(o, u) != ST_OK)
			continue;
		char us[UUID_STRLEN + 1];
		uuid_format(u, us);
		struct jw w;
		buf_reset(&a->a);
		jw_init(&w, &a->a);
		jw_obj_open(&w);
		jw_key(&w, "type");
		jw_strn(&w, type->u.str, type->len);
		jw_key(&w, "spec_version");
		jw_str(&w, "2.1");
		char id[128];
		snprintf(id, sizeof(id), "%.*s--%s", (int)type->len,
			 type->u.str, us);
		jw_key(&w, "id");
		jw_str(&w, id);
		for (uint32_t k = 0; k < o->len; k++) {
			const struct json_member *m = &o->u.members[k];
			if (strcmp(m->key, "type") == 0 ||
			    strcmp(m->key, "id") == 0 ||
			    strcmp(m->key, "spec_version") == 0)
				continue;
			jw_keyn(&w, m->key, m->klen);
			jw_value(&w, &m->val);
		}
		write_markings(&w, g);
		jw_obj_close(&w);
		if (jw_finish(&w) != ST_OK || valid(a, &a->a) != ST_OK)
			continue;
		char *c = strndup(a->a.data, a->a.len);
		if (c == NULL)
			return ST_ENOMEM;
		g->context[g->n_context++] = c;
	}
	return ST_OK;
}

static void new_id(const char *type, char out[64])
{
	uint8_t u[16];
	char s[UUID_STRLEN + 1];
	uuid_v4(u);
	uuid_format(u, s);
	snprintf(out, 64, "%s--%s", type, s);
}

int sighting_add(struct sighting_agg *a, const struct sighting_hit *h,
		 struct diag *d)
{
	const char *iid = h->indicator_id;
	if (iid == NULL) {
		const struct json_val *idv = json_get(h->indicator, "id");
		iid =
		    idv != NULL && idv->type == JSON_STRING ? idv->u.str : NULL;
	}
	if (iid == NULL || strncmp(iid, "indicator--", 11) != 0)
		return diag_set(d, ST_EINVAL, "sighting: indicator without id");
	int64_t w = h->when / (a->opt.window_s * 1000000);
	uint64_t hk = hash_key(iid, w);
	struct agg *g = a->tab[hk & (a->cap - 1)];
	for (; g != NULL; g = g->next)
		if (g->window == w && strcmp(g->indicator, iid) == 0)
			break;
	if (g == NULL) {
		if (a->n >= MAX_OPEN)
			return diag_set(d, ST_ELIMIT,
					"sighting: %zu open sightings: flush "
					"first",
					a->n);
		if (a->n >= a->cap && grow(a) != ST_OK)
			return diag_set(d, ST_ENOMEM, "sighting: no memory");
		g = calloc(1, sizeof(*g));
		if (g == NULL || (g->indicator = strdup(iid)) == NULL) {
			free(g);
			return diag_set(d, ST_ENOMEM, "sighting: no memory");
		}
		g->window = w;
		g->first = g->last = h->when;
		new_id("sighting", g->sid);
		new_id("observed-data", g->odid);
		int rc = take_markings(g, h);
		if (rc != ST_OK) {
			agg_free(g);
			return diag_set(d, rc,
					"sighting: %s: more than %d markings",
					iid, MAX_MARKINGS);
		}
		size_t k = hk & (a->cap - 1);
		g->next = a->tab[k];
		a->tab[k] = g;
		a->n++;
	}
	g->count++;
	if (h->when < g->first)
		g->first = h->when;
	if (h->when > g->last)
		g->last = h->when;
	g->dirty = true;
	int rc = take_value(a, g, h);
	if (rc == ST_OK)
		rc = take_context(a, g, h);
	if (rc != ST_OK)
		return diag_set(d, rc, "sighting: no memory");
	return ST_OK;
}

/* ------------------------------------------------------------------ */
/* Emitting                                                             */
/* ------------------------------------------------------------------ */

static void write_markings(struct jw *w, const struct agg *g)
{
	if (g->n_markings == 0)
		return;
	jw_key(w, "object_marking_refs");
	jw_arr_open(w);
	for (uint32_t i = 0; i < g->n_markings; i++)
		jw_str(w, g->markings[i]);
	jw_arr_close(w);
}

/* The properties of the matched value: "hashes.SHA-256" becomes
 * {"hashes": {"SHA-256": value}}. */
static void write_path(struct jw *w, const struct value *v)
{
	const char *p = v->path;
	int depth = 0;
	for (;;) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		jw_keyn(w, p, n);
		if (dot == NULL)
			break;
		jw_obj_open(w);
		depth++;
		p = dot + 1;
	}
	jw_str(w, v->value);
	while (depth-- > 0)
		jw_obj_close(w);
}

/* ST_OK if the object in b passes the validator, else ST_ESTIX. */
static int valid(struct sighting_agg *a, const struct buf *b)
{
	const struct json_val *root;
	struct stix_info info;
	struct stix_report rep;
	struct diag d;
	int rc = ST_ESTIX;
	stix_report_init(&rep);
	if (json_parse(a->doc, b->data, b->len, 0, &JSON_LIMITS_DEFAULT, &root,
		       &d) == ST_OK &&
	    stix_validate(root, &info, &rep) == ST_OK)
		rc = ST_OK;
	stix_report_free(&rep);
	return rc;
}

/*
 * The SCO holding only the matched value, with its deterministic id, in
 * out (compact JSON) and its id in id. ST_ESTIX when the value alone does
 * not make a valid SCO (a network-traffic port, say): the sighting then
 * goes without it.
 */
static int make_sco(struct sighting_agg *a, const struct agg *g,
		    const struct value *v, struct buf *out, char id[128])
{
	struct jw w;
	buf_reset(&a->a);
	jw_init(&w, &a->a);
	jw_obj_open(&w);
	jw_key(&w, "type");
	jw_str(&w, v->type);
	jw_key(&w, "spec_version");
	jw_str(&w, "2.1");
	write_path(&w, v);
	jw_obj_close(&w);
	if (jw_finish(&w) != ST_OK)
		return ST_ESTIX;
	const struct json_val *root;
	struct diag d;
	uint8_t u[16];
	if (json_parse(a->doc, a->a.data, a->a.len, 0, &JSON_LIMITS_DEFAULT,
		       &root, &d) != ST_OK ||
	    stix_sco_id(root, u) != ST_OK)
		return ST_ESTIX;
	char us[UUID_STRLEN + 1];
	uuid_format(u, us);
	snprintf(id, 128, "%s--%s", v->type, us);

	buf_reset(out);
	jw_init(&w, out);
	jw_obj_open(&w);
	jw_key(&w, "type");
	jw_str(&w, v->type);
	jw_key(&w, "spec_version");
	jw_str(&w, "2.1");
	jw_key(&w, "id");
	jw_str(&w, id);
	write_path(&w, v);
	write_markings(&w, g);
	jw_obj_close(&w);
	if (jw_finish(&w) != ST_OK)
		return ST_ESTIX;
	return valid(a, out);
}

static void ts_key(struct jw *w, const char *key, st_time t, bool ms)
{
	char ts[TS_BUFSZ];
	if (ms)
		ts_format_ms(t, ts);
	else
		ts_format(t, ts);
	jw_key(w, key);
	jw_str(w, ts);
}

static int emit_agg(struct sighting_agg *a, struct agg *g, st_time now,
		    sighting_emit_fn emit, void *ctx, struct diag *d)
{
	/* A later version each time: modified moves at least 1 ms on. */
	st_time mod = now / 1000 * 1000;
	if (g->created == 0)
		g->created = mod;
	if (mod <= g->modified)
		mod = g->modified + 1000;
	g->modified = mod;

	char ids[DEFAULT_MAX_VALUES + MAX_CONTEXT][128];
	uint32_t n_ids = 0;
	int rc;
	for (uint32_t i = 0; i < g->n_vals && n_ids < DEFAULT_MAX_VALUES; i++) {
		rc = make_sco(a, g, &g->vals[i], &a->b, ids[n_ids]);
		if (rc == ST_ESTIX)
			continue;
		if (rc != ST_OK)
			return diag_set(d, rc, "sighting: no memory");
		if ((rc = emit(ctx, g->indicator, a->b.data, a->b.len)) !=
		    ST_OK)
			return diag_set(d, rc, "sighting: %s: cannot append",
					g->sid);
		n_ids++;
	}
	/* Context SCOs are the operator's explicit choice: they go as they
	 * were read, with the sighting's markings on the observed-data. */
	for (uint32_t i = 0; i < g->n_context; i++) {
		const struct json_val *root;
		struct diag pd;
		if (json_parse(a->doc, g->context[i], strlen(g->context[i]), 0,
			       &JSON_LIMITS_DEFAULT, &root, &pd) != ST_OK)
			continue;
		const struct json_val *id = json_get(root, "id");
		if (id == NULL || id->type != JSON_STRING || id->len >= 128)
			continue;
		if ((rc = emit(ctx, g->indicator, g->context[i],
			       strlen(g->context[i]))) != ST_OK)
			return diag_set(d, rc, "sighting: %s: cannot append",
					g->sid);
		memcpy(ids[n_ids], id->u.str, id->len + 1);
		n_ids++;
	}

	struct jw w;
	if (n_ids > 0) {
		buf_reset(&a->b);
		jw_init(&w, &a->b);
		jw_obj_open(&w);
		jw_key(&w, "type");
		jw_str(&w, "observed-data");
		jw_key(&w, "spec_version");
		jw_str(&w, "2.1");
		jw_key(&w, "id");
		jw_str(&w, g->odid);
		jw_key(&w, "created_by_ref");
		jw_str(&w, a->identity);
		ts_key(&w, "created", g->created, true);
		ts_key(&w, "modified", g->modified, true);
		ts_key(&w, "first_observed", g->first, false);
		ts_key(&w, "last_observed", g->last, false);
		jw_key(&w, "number_observed");
		jw_int(&w,
		       g->count > 999999999 ? 999999999 : (int64_t)g->count);
		jw_key(&w, "object_refs");
		jw_arr_open(&w);
		for (uint32_t i = 0; i < n_ids; i++)
			jw_str(&w, ids[i]);
		jw_arr_close(&w);
		write_markings(&w, g);
		jw_obj_close(&w);
		if ((rc = jw_finish(&w)) != ST_OK ||
		    (rc = emit(ctx, g->indicator, a->b.data, a->b.len)) !=
			ST_OK)
			return diag_set(d, rc, "sighting: %s: cannot append",
					g->odid);
	}

	buf_reset(&a->b);
	jw_init(&w, &a->b);
	jw_obj_open(&w);
	jw_key(&w, "type");
	jw_str(&w, "sighting");
	jw_key(&w, "spec_version");
	jw_str(&w, "2.1");
	jw_key(&w, "id");
	jw_str(&w, g->sid);
	jw_key(&w, "created_by_ref");
	jw_str(&w, a->identity);
	ts_key(&w, "created", g->created, true);
	ts_key(&w, "modified", g->modified, true);
	ts_key(&w, "first_seen", g->first, false);
	ts_key(&w, "last_seen", g->last, false);
	jw_key(&w, "count");
	jw_int(&w, g->count > 999999999 ? 999999999 : (int64_t)g->count);
	jw_key(&w, "sighting_of_ref");
	jw_str(&w, g->indicator);
	if (n_ids > 0) {
		jw_key(&w, "observed_data_refs");
		jw_arr_open(&w);
		jw_str(&w, g->odid);
		jw_arr_close(&w);
	}
	jw_key(&w, "where_sighted_refs");
	jw_arr_open(&w);
	jw_str(&w, a->identity);
	jw_arr_close(&w);
	write_markings(&w, g);
	jw_obj_close(&w);
	if ((rc = jw_finish(&w)) != ST_OK ||
	    (rc = emit(ctx, g->indicator, a->b.data, a->b.len)) != ST_OK)
		return diag_set(d, rc, "sighting: %s: cannot append", g->sid);
	g->dirty = false;
	return ST_OK;
}

long sighting_flush(struct sighting_agg *a, st_time now, sighting_emit_fn emit,
		    void *ctx, struct diag *d)
{
	long n = 0;
	for (size_t i = 0; i < a->cap; i++) {
		for (struct agg *g = a->tab[i]; g != NULL; g = g->next) {
			if (!g->dirty)
				continue;
			int rc = emit_agg(a, g, now, emit, ctx, d);
			if (rc != ST_OK)
				return rc;
			n++;
		}
	}
	return n;
}
