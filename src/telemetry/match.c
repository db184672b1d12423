/* strait: matching our telemetry against the indicators we hold (match.h). */
#include "telemetry/match.h"

#include "common/ip.h"
#include "common/log.h"
#include "ingest/ingest.h"
#include "pattern/matcher.h"
#include "policy/policy.h"
#include "telemetry/sighting.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE 1000
#define MAX_CIDS 256
#define MAX_CONTEXT 64

/* What the engine remembers of each indicator id: its stored TLP (of the
 * latest version offered) and whether it was hit. */
struct ind {
	char *id;
	st_time version;
	uint8_t tlp, flags; /* of that version, for the release decision */
	bool hit;
	uint64_t req; /* the request (match_engine_begin) it was last hit in */
};

struct match_engine {
	struct store *st;
	struct match_options o;
	int64_t cids[MAX_CIDS];
	st_time after[MAX_CIDS]; /* load position per collection */
	size_t n_cids;
	struct matcher *m;
	struct sighting_agg *sa;
	struct json_doc *doc;
	struct ind *inds; /* open addressing by id */
	size_t inds_cap, inds_n;
	const struct tel_record *cur; /* the record being fed */
	struct match_stats stats;
	/* What one request may be told (match_engine_begin). */
	const struct audience *aud; /* NULL: everything */
	uint64_t req;
	struct match_counts counts;
	int err; /* first error met in a callback */
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return h;
}

static struct ind *ind_find(struct match_engine *e, const char *id, bool add)
{
	if (add && (e->inds_n + 1) * 2 > e->inds_cap) {
		size_t cap = e->inds_cap ? e->inds_cap * 2 : 1024;
		struct ind *t = calloc(cap, sizeof(*t));
		if (t == NULL)
			return NULL;
		for (size_t i = 0; i < e->inds_cap; i++) {
			if (e->inds[i].id == NULL)
				continue;
			size_t k = hash_str(e->inds[i].id) & (cap - 1);
			while (t[k].id != NULL)
				k = (k + 1) & (cap - 1);
			t[k] = e->inds[i];
		}
		free(e->inds);
		e->inds = t;
		e->inds_cap = cap;
	}
	if (e->inds_cap == 0)
		return NULL;
	size_t k = hash_str(id) & (e->inds_cap - 1);
	while (e->inds[k].id != NULL) {
		if (strcmp(e->inds[k].id, id) == 0)
			return &e->inds[k];
		k = (k + 1) & (e->inds_cap - 1);
	}
	if (!add || (e->inds[k].id = strdup(id)) == NULL)
		return NULL;
	e->inds_n++;
	return &e->inds[k];
}

static void on_disable(void *ctx, const char *id, const char *reason)
{
	struct match_engine *e = ctx;
	e->stats.disabled++;
	log_warn("match", "%s disabled: %s", id, reason);
	if (e->o.on_refusal != NULL)
		e->o.on_refusal(e->o.ctx, id, "disabled", reason);
}

static int offer_row(void *ctx, const struct store_row *row)
{
	struct match_engine *e = ctx;
	const struct json_val *root;
	struct diag d;
	if (json_parse(e->doc, row->body, row->body_len, 0,
		       &JSON_LIMITS_DEFAULT, &root, &d) != ST_OK)
		return 0; /* stored bodies parse; nothing to offer if not */
	e->stats.indicators++;
	struct diag why = {""};
	int out = matcher_offer(e->m, root, time_now(), &why);
	if (out == ST_ENOMEM) {
		e->err = ST_ENOMEM;
		return 1;
	}
	if (out < 0) {
		e->stats.invalid++;
		if (e->o.on_refusal != NULL)
			e->o.on_refusal(e->o.ctx, row->id, "invalid", why.msg);
	} else if (out == MATCHER_REFUSED) {
		e->stats.refused++;
		if (e->o.on_refusal != NULL)
			e->o.on_refusal(e->o.ctx, row->id, "refused", why.msg);
	}
	struct ind *in = ind_find(e, row->id, true);
	if (in == NULL) {
		e->err = ST_ENOMEM;
		return 1;
	}
	if (row->version >= in->version) {
		in->version = row->version;
		in->tlp = row->tlp;
		in->flags = row->flags;
	}
	return 0;
}

/* Offers every indicator version added to collection i since the last
 * load. */
static int load_collection(struct match_engine *e, size_t i, struct diag *d)
{
	static const char *const types[] = {"indicator"};
	for (;;) {
		struct store_page_query q;
		memset(&q, 0, sizeof(q));
		q.cid = e->cids[i];
		q.types = types;
		q.ntypes = 1;
		q.version.sel = STORE_VM_ALL;
		q.after = e->after[i];
		q.limit = PAGE;
		struct store_page_result res;
		int rc = store_page(e->st, &q, offer_row, e, &res, d);
		if (rc < 0)
			return rc;
		if (e->err != ST_OK)
			return diag_set(d, e->err, "match: no memory");
		if (res.next > e->after[i])
			e->after[i] = res.next;
		if (!res.more)
			return ST_OK;
	}
}

static int add_cid(void *ctx, const struct store_collection *c)
{
	struct match_engine *e = ctx;
	if (e->n_cids == MAX_CIDS)
		return 1;
	e->cids[e->n_cids++] = c->cid;
	return 0;
}

static void count_states(struct match_engine *e)
{
	struct matcher_stats ms;
	matcher_stats(e->m, &ms);
	e->stats.active = ms.active;
	e->stats.inactive = ms.expired + ms.revoked + ms.not_stix;
	e->stats.matcher_memory = ms.memory;
	e->stats.compile_seconds = ms.compile_seconds;
}

static int load_all(struct match_engine *e, struct diag *d)
{
	for (size_t i = 0; i < e->n_cids; i++) {
		int rc = load_collection(e, i, d);
		if (rc != ST_OK)
			return rc;
	}
	int rc = matcher_compile(e->m, d);
	count_states(e);
	return rc;
}

int match_engine_new(struct store *st, const struct match_options *o,
		     struct match_engine **out, struct diag *d)
{
	*out = NULL;
	if (o->identity == NULL || o->n_cids > MAX_CIDS)
		return diag_set(d, ST_EINVAL,
				"match: an identity and at most %d "
				"collections",
				MAX_CIDS);
	struct match_engine *e = calloc(1, sizeof(*e));
	if (e == NULL)
		return diag_set(d, ST_ENOMEM, "match: no memory");
	e->st = st;
	e->o = *o;
	int rc;
	if (o->n_cids > 0) {
		memcpy(e->cids, o->cids, o->n_cids * sizeof(o->cids[0]));
		e->n_cids = o->n_cids;
	} else if ((rc = store_collection_list(st, add_cid, e)) < 0) {
		diag_set(d, rc, "match: cannot list the collections");
		goto fail;
	} else if (rc > 0) {
		rc = diag_set(d, ST_ELIMIT, "match: more than %d collections",
			      MAX_CIDS);
		goto fail;
	}
	struct matcher_config mc;
	matcher_config_default(&mc);
	mc.warninglists = o->warninglists;
	mc.on_disable = on_disable;
	mc.on_disable_ctx = e;
	if ((rc = matcher_new(&mc, &e->m, d)) != ST_OK)
		goto fail;
	struct sighting_options so = {.identity = o->identity,
				      .window_s = o->window_s,
				      .include_context = o->include_context};
	e->sa = sighting_agg_new(&so);
	e->doc = json_doc_new();
	if (e->sa == NULL || e->doc == NULL) {
		rc = diag_set(d, ST_ENOMEM, "match: no memory");
		goto fail;
	}
	if ((rc = load_all(e, d)) != ST_OK)
		goto fail;
	*out = e;
	return ST_OK;
fail:
	match_engine_free(e);
	return rc;
}

void match_engine_free(struct match_engine *e)
{
	if (e == NULL)
		return;
	matcher_free(e->m);
	sighting_agg_free(e->sa);
	json_doc_free(e->doc);
	for (size_t i = 0; i < e->inds_cap; i++)
		free(e->inds[i].id);
	free(e->inds);
	free(e);
}

int match_engine_refresh(struct match_engine *e, struct diag *d)
{
	matcher_advance(e->m, time_now());
	return load_all(e, d);
}

/* ------------------------------------------------------------------ */
/* Hits                                                                 */
/* ------------------------------------------------------------------ */

/*
 * The SCO a matched value lives in and its property there, from the
 * indicator's object path: "file:hashes.'SHA-256'" gives file and
 * hashes.SHA-256; through a reference ("network-traffic:dst_ref.value")
 * the referenced object's type is read off the value.
 */
static void value_target(const char *path, const char *value, char *type,
			 size_t tcap, char *prop, size_t pcap)
{
	const char *colon = strchr(path, ':');
	const char *rest = colon ? colon + 1 : path;
	snprintf(type, tcap, "%.*s", colon ? (int)(colon - path) : 0, path);
	/* The property path with quotes and list indexes dropped; after a
	 * reference, only what follows it. */
	size_t n = 0;
	bool via_ref = false;
	for (const char *p = rest; *p && n + 1 < pcap; p++) {
		if (*p == '\'')
			continue;
		if (*p == '[') {
			while (*p && *p != ']')
				p++;
			if (*p == '\0')
				break;
			continue;
		}
		if (*p == '.' && n >= 4 &&
		    (memcmp(prop + n - 4, "_ref", 4) == 0 ||
		     (n >= 5 && memcmp(prop + n - 5, "_refs", 5) == 0))) {
			n = 0; /* restart after the reference */
			via_ref = true;
			continue;
		}
		prop[n++] = *p;
	}
	prop[n] = '\0';
	if (!via_ref)
		return;
	struct ip_prefix ip;
	if (ip_parse(value, strlen(value), &ip))
		snprintf(type, tcap, "%s", ip.v6 ? "ipv6-addr" : "ipv4-addr");
	else if (strchr(value, '@') != NULL)
		snprintf(type, tcap, "email-addr");
	else
		snprintf(type, tcap, "domain-name");
}

/* True if value is the value of a local SCO of the record: our own
 * address, which a sighting must not carry. */
static bool is_local_value(const struct tel_record *r, const char *v,
			   size_t len)
{
	for (size_t i = 0; r != NULL && i < r->obs.n_objects; i++) {
		if (!r->info[i].local && !r->info[i].refs_local)
			continue;
		size_t l;
		const char *s = tel_sco_value(r, i, &l);
		if (s != NULL && l == len && memcmp(s, v, len) == 0)
			return true;
	}
	return false;
}

static void on_hit(void *ctx, const struct matcher_hit *h)
{
	struct match_engine *e = ctx;
	const struct tel_record *r = e->cur;
	struct ind *in = ind_find(e, h->id, false);
	e->stats.hits++;
	if (e->o.suppressed != NULL &&
	    e->o.suppressed(e->o.suppressed_ctx, h->id)) {
		e->stats.suppressed++;
		return;
	}
	if (in != NULL && !in->hit) {
		in->hit = true;
		e->stats.indicators_hit++;
	}
	/* What the requester is told goes through the release decision: a
	 * hit on an indicator it may not read is not even counted. */
	struct release_facts f = {.tlp = in != NULL ? in->tlp : TLP_NONE,
				  .flags = in != NULL ? in->flags : 0};
	if (in != NULL && (e->aud == NULL || policy_may_release(e->aud, &f))) {
		e->counts.hits++;
		if (in->req != e->req) {
			in->req = e->req;
			e->counts.indicators++;
		}
	}
	const struct json_val *context[MAX_CONTEXT];
	size_t n_context = 0;
	if (e->o.include_context && r != NULL)
		for (size_t i = 0; i < r->obs.n_objects && i < MAX_CONTEXT; i++)
			context[n_context++] = r->obs.objects[i].obj;
	struct sighting_hit sh = {
	    .indicator_id = h->id,
	    .markings = h->markings,
	    .n_markings = h->n_markings,
	    .tlp = in != NULL ? in->tlp : -1,
	    .when = h->last_observed,
	    .context = context,
	    .n_context = n_context,
	};
	struct diag d;
	size_t kept = 0;
	for (size_t i = 0; i < h->n_values; i++) {
		const struct matcher_value *v = &h->values[i];
		if (!e->o.include_context &&
		    is_local_value(r, v->value, v->len))
			continue; /* counted, never shown */
		char type[64], prop[256], val[4096];
		snprintf(val, sizeof(val), "%.*s", (int)v->len, v->value);
		value_target(v->path, val, type, sizeof(type), prop,
			     sizeof(prop));
		sh.sco_type = type;
		sh.path = prop;
		sh.value = val;
		if (sighting_add(e->sa, &sh, &d) != ST_OK)
			log_warn("match", "%s: %s", h->id, d.msg);
		kept++;
		sh.when = h->last_observed; /* count once per value */
	}
	if (kept == 0 && sighting_add(e->sa, &sh, &d) != ST_OK)
		log_warn("match", "%s: %s", h->id, d.msg);
}

void match_engine_begin(struct match_engine *e, const struct audience *aud)
{
	e->aud = aud;
	e->req++;
	memset(&e->counts, 0, sizeof(e->counts));
}

void match_engine_counts(const struct match_engine *e, struct match_counts *c)
{
	*c = e->counts;
}

int match_engine_record(void *ctx, const struct tel_record *r)
{
	struct match_engine *e = ctx;
	e->cur = r;
	e->stats.records++;
	int rc = matcher_feed(e->m, &r->obs, on_hit, e);
	e->cur = NULL;
	return rc < 0 ? rc : 0;
}

/* ------------------------------------------------------------------ */
/* Flushing                                                             */
/* ------------------------------------------------------------------ */

struct flush_ctx {
	struct match_engine *e;
	struct ingest *in;
	uint64_t objects;
};

/* True if the requester of match_engine_begin may read the indicator. */
static bool visible(struct match_engine *e, const char *indicator)
{
	struct ind *in = ind_find(e, indicator, false);
	if (in == NULL)
		return false;
	struct release_facts f = {.tlp = in->tlp, .flags = in->flags};
	return e->aud == NULL || policy_may_release(e->aud, &f);
}

static int emit_ingest(void *ctx, const char *indicator, const char *json,
		       size_t len)
{
	struct flush_ctx *f = ctx;
	f->objects++;
	if (visible(f->e, indicator))
		f->e->counts.objects++;
	return ingest_object(f->in, json, len, 0, f->objects);
}

static void on_event(void *ctx, const struct ingest_event *ev)
{
	(void)ctx;
	if (ev->kind == INGEST_REJECTED || ev->kind == INGEST_FAILED)
		log_warn("match", "sighting object %s not stored: %s", ev->id,
			 ev->msg);
}

int match_engine_flush(struct match_engine *e, int64_t cid,
		       enum tlp default_tlp, uint64_t *stored, struct diag *d)
{
	struct ingest_options opt;
	memset(&opt, 0, sizeof(opt));
	opt.cid = cid;
	opt.default_tlp = default_tlp;
	struct flush_ctx f = {e, ingest_new(e->st, &opt, on_event, NULL), 0};
	if (f.in == NULL)
		return diag_set(d, ST_ENOMEM, "match: no memory");
	long n = sighting_flush(e->sa, time_now(), emit_ingest, &f, d);
	int rc = n < 0 ? (int)n : ingest_finish(f.in);
	if (n > 0)
		e->stats.sightings += (uint64_t)n;
	if (stored != NULL)
		*stored = ingest_stats(f.in)->stored;
	ingest_free(f.in);
	if (rc < 0 && d->msg[0] == '\0')
		diag_set(d, rc, "match: cannot store the sightings");
	return rc < 0 ? rc : ST_OK;
}

struct json_out {
	FILE *f;
	uint64_t n;
};

static int emit_json(void *ctx, const char *indicator, const char *json,
		     size_t len)
{
	(void)indicator;
	struct json_out *o = ctx;
	if (fputs(o->n++ ? ",\n" : "\n", o->f) == EOF ||
	    fwrite(json, 1, len, o->f) != len)
		return ST_EIO;
	return ST_OK;
}

int match_engine_flush_json(struct match_engine *e, FILE *out, struct diag *d)
{
	struct json_out o = {out, 0};
	fputs("[", out);
	long n = sighting_flush(e->sa, time_now(), emit_json, &o, d);
	fputs(o.n ? "\n]\n" : "]\n", out);
	if (n < 0)
		return (int)n;
	e->stats.sightings += (uint64_t)n;
	return ST_OK;
}

void match_engine_stats(const struct match_engine *e, struct match_stats *s)
{
	*s = e->stats;
	s->pending = sighting_count(e->sa);
}
