/*
 * strait: what the release decision needs to know about a version, read
 * from the store (marking, body, memberships) and from fedstate
 * (provenance), and a partner's policy resolved into an audience.
 */
#include "federation/fed_int.h"

#include "common/hash.h"
#include "common/hex.h"
#include "common/log.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CIDS 64
#define MAX_REFS 4096
#define MAX_LABELS 256

st_time fed_copy_key(const uint8_t sha[32])
{
	uint64_t k = 0;
	for (int i = 0; i < 7; i++)
		k = k << 8 | sha[i];
	return -(st_time)k - 1;
}

int fed_facts_provenance(struct fedstate *fs, const struct store_row *row,
			 struct release_facts *f, struct fed_prov *p,
			 const char **red)
{
	int rc = fed_prov_of(fs, row->id, row->version, row->flags, row->body,
			     row->body_len, row->prov, row->prov_len, p);
	f->foreign = (row->flags & STORE_F_FOREIGN) != 0;
	if (rc == ST_ENOTFOUND) {
		/* Ours; or received, its record lost (a power cut before
		 * the provenance reached the disk): another node's, origin
		 * unknown, no permission to relay. */
		memset(p, 0, sizeof(*p));
		return ST_OK;
	}
	if (rc != ST_OK) {
		memset(p, 0, sizeof(*p));
		return rc;
	}
	/* Not marked received: ours, its record naming RED recipients only
	 * (strait import --red-to). */
	f->origin = f->foreign && p->origin[0] ? p->origin : NULL;
	f->relay_green = p->relay_green;
	for (size_t i = 0; i < p->n_red; i++)
		red[i] = p->red[i];
	f->red_identities = red;
	f->n_red_identities = p->n_red;
	return ST_OK;
}

int fed_prov_of(struct fedstate *fs, const char *id, st_time version,
		uint8_t flags, const char *body, size_t len, const void *prov,
		size_t prov_len, struct fed_prov *out)
{
	if (prov != NULL && prov_len > 0) {
		int rc = fed_prov_decode(prov, prov_len, out);
		if (rc == ST_OK) {
			snprintf(out->id, sizeof(out->id), "%s", id);
			out->version = version;
		}
		return rc;
	}
	/* Every version received is marked so in the store (releases from
	 * quarantine too): the others are ours, with nothing to look up. */
	if (!(flags & STORE_F_FOREIGN))
		return ST_ENOTFOUND;
	int rc = fed_prov_get(fs, id, version, out);
	if (rc == ST_ENOTFOUND && body != NULL) {
		uint8_t sha[32];
		hash_sha256(body, len, sha);
		rc = fed_prov_get(fs, id, fed_copy_key(sha), out);
	}
	return rc;
}

/* ------------------------------------------------------------------ */
/* A partner's audience                                                 */
/* ------------------------------------------------------------------ */

static int resolve(struct store *s, const struct peer_list *l, int64_t **out,
		   size_t *n)
{
	*out = calloc(l->n ? l->n : 1, sizeof(**out));
	*n = 0;
	if (*out == NULL)
		return ST_ENOMEM;
	for (size_t i = 0; i < l->n; i++) {
		struct store_collection c;
		if (strcmp(l->items[i], "*") == 0)
			continue;
		/* A name that names no collection here counts for nothing. */
		if (store_collection_find(s, l->items[i], &c) == ST_OK)
			(*out)[(*n)++] = c.cid;
	}
	return ST_OK;
}

static int names(const struct peer_list *l, const char ***out, size_t *n)
{
	*out = calloc(l->n + 1, sizeof(**out));
	*n = 0;
	if (*out == NULL)
		return ST_ENOMEM;
	/* "*" is kept (the policy reader records it as the list's all
	 * flag): policy_decide reads a denied "*" as every type or every
	 * labelled object; an allowed one is also the all flag. */
	bool star = l->all;
	for (size_t i = 0; i < l->n; i++) {
		if (strcmp(l->items[i], "*") == 0)
			star = true;
		else
			(*out)[(*n)++] = l->items[i];
	}
	if (star)
		(*out)[(*n)++] = "*";
	return ST_OK;
}

void fed_partner_free(struct fed_partner *p)
{
	if (p == NULL)
		return;
	peer_policy_free(&p->pol);
	free(p->allow);
	free(p->deny);
	free(p->types);
	free(p->labels);
	free(p->dtypes);
	free(p->dlabels);
	memset(p, 0, sizeof(*p));
}

int fed_partner_build(struct store *s, const char *name, const char *identity,
		      const char *policy_text, struct fed_partner *out,
		      struct diag *d)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", name);
	snprintf(out->identity, sizeof(out->identity), "%s",
		 identity != NULL ? identity : "");
	out->p.name = out->name;
	out->p.identity = out->identity[0] ? out->identity : NULL;
	out->aud.role = ROLE_PEER;
	out->aud.partner = &out->p;
	if (policy_text == NULL)
		return ST_OK; /* has_policy false: receives nothing */
	uint8_t h[32];
	hash_sha256(policy_text, strlen(policy_text), h);
	sodium_bin2hex(out->hash, sizeof(out->hash), h, sizeof(h));
	int rc =
	    peer_policy_parse(policy_text, strlen(policy_text), &out->pol, d);
	if (rc != ST_OK)
		return rc;
	const struct peer_policy *pol = &out->pol;
	struct partner *p = &out->p;
	memcpy(p->tlp, pol->tlp, sizeof(p->tlp));
	p->all_collections = pol->collections.all;
	p->all_types = pol->types.all;
	p->all_labels = pol->labels.all;
	if ((rc = resolve(s, &pol->collections, &out->allow,
			  &p->n_collections)) != ST_OK ||
	    (rc = resolve(s, &pol->deny_collections, &out->deny,
			  &p->n_deny_collections)) != ST_OK ||
	    (rc = names(&pol->types, &out->types, &p->n_types)) != ST_OK ||
	    (rc = names(&pol->labels, &out->labels, &p->n_labels)) != ST_OK ||
	    (rc = names(&pol->deny_types, &out->dtypes, &p->n_deny_types)) !=
		ST_OK ||
	    (rc = names(&pol->deny_labels, &out->dlabels, &p->n_deny_labels)) !=
		ST_OK)
		return diag_set(d, rc, "out of memory");
	p->collections = out->allow;
	p->deny_collections = out->deny;
	p->deny_all_collections = pol->deny_collections.all;
	p->types = out->types;
	p->labels = out->labels;
	p->deny_types = out->dtypes;
	p->deny_labels = out->dlabels;
	p->has_policy = true;
	return ST_OK;
}

/* ------------------------------------------------------------------ */
/* References                                                           */
/* ------------------------------------------------------------------ */

struct refs {
	struct arena *a;
	const char **v;
	size_t n, cap;
	int rc;
};

static bool ends_with(const char *k, size_t kl, const char *suf)
{
	size_t sl = strlen(suf);
	return kl >= sl && memcmp(k + kl - sl, suf, sl) == 0;
}

static void add_ref(struct refs *r, const struct json_val *v)
{
	if (v->type != JSON_STRING || v->len == 0 || v->len >= STIX_ID_MAX ||
	    memchr(v->u.str, '-', v->len) == NULL)
		return;
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->v[i], v->u.str) == 0)
			return;
	if (r->n == MAX_REFS) {
		r->rc = ST_ELIMIT;
		return;
	}
	if (r->n == r->cap) {
		size_t nc = r->cap ? r->cap * 2 : 16;
		const char **g = arena_alloc(r->a, nc * sizeof(*g));
		if (g == NULL) {
			r->rc = ST_ENOMEM;
			return;
		}
		if (r->n)
			memcpy(g, r->v, r->n * sizeof(*g));
		r->v = g;
		r->cap = nc;
	}
	char *s = arena_alloc(r->a, v->len + 1);
	if (s == NULL) {
		r->rc = ST_ENOMEM;
		return;
	}
	memcpy(s, v->u.str, v->len + 1);
	r->v[r->n++] = s;
}

/* Marking references are decided by the marking rules, not as
 * references (a TLP marking definition is pinned, never "held"). */
static bool marking_key(const char *k, size_t kl)
{
	return (kl == 19 && memcmp(k, "object_marking_refs", 19) == 0) ||
	       (kl == 11 && memcmp(k, "marking_ref", 11) == 0);
}

static void walk(struct refs *r, const struct json_val *v, int depth)
{
	if (depth > 8 || r->rc != ST_OK)
		return;
	if (v->type == JSON_ARRAY) {
		for (uint32_t i = 0; i < v->len; i++)
			walk(r, &v->u.items[i], depth + 1);
		return;
	}
	if (v->type != JSON_OBJECT)
		return;
	for (uint32_t i = 0; i < v->len; i++) {
		const struct json_member *m = &v->u.members[i];
		if (marking_key(m->key, m->klen))
			continue;
		if (ends_with(m->key, m->klen, "_ref")) {
			add_ref(r, &m->val);
		} else if (ends_with(m->key, m->klen, "_refs") &&
			   m->val.type == JSON_ARRAY) {
			for (uint32_t j = 0; j < m->val.len; j++)
				add_ref(r, &m->val.u.items[j]);
		} else if (m->val.type == JSON_OBJECT ||
			   m->val.type == JSON_ARRAY) {
			walk(r, &m->val, depth + 1);
		}
	}
}

int fed_refs_of(const struct json_val *obj, struct arena *a, const char ***refs,
		size_t *n)
{
	struct refs r = {.a = a};
	walk(&r, obj, 0);
	*refs = r.v;
	*n = r.n;
	return r.rc;
}

/* ------------------------------------------------------------------ */
/* Facts of versions                                                    */
/* ------------------------------------------------------------------ */

struct fed_facts {
	struct store *store;
	struct fedstate *fs;
	struct json_doc *doc;
	struct arena *row_arena;  /* the version being decided */
	struct arena *look_arena; /* the last lookup's versions */
	struct release_version *looked;
	size_t nlooked, caplooked;
	int err;      /* of the last lookup's reads */
	bool no_cids; /* the audience does not look at collections */
};

struct fed_facts *fed_facts_new(struct store *s, struct fedstate *fs)
{
	struct fed_facts *x = calloc(1, sizeof(*x));
	if (x == NULL)
		return NULL;
	x->store = s;
	x->fs = fs;
	x->doc = json_doc_new();
	x->row_arena = arena_new(64 * 1024);
	x->look_arena = arena_new(64 * 1024);
	if (x->doc == NULL || x->row_arena == NULL || x->look_arena == NULL) {
		fed_facts_free(x);
		return NULL;
	}
	return x;
}

void fed_facts_free(struct fed_facts *x)
{
	if (x == NULL)
		return;
	json_doc_free(x->doc);
	arena_free(x->row_arena);
	arena_free(x->look_arena);
	free(x->looked);
	free(x);
}

void fed_facts_reset(struct fed_facts *x)
{
	arena_reset(x->row_arena);
	arena_reset(x->look_arena);
	x->nlooked = 0;
}

static char *adup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);
	if (p != NULL) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

/* Fills v from one stored version; strings in arena a. */
static int build(struct fed_facts *x, struct arena *a, uint64_t seq,
		 const char *id, st_time version, uint8_t tlp, uint8_t flags,
		 const char *body, size_t body_len, const void *prov,
		 size_t prov_len, struct release_version *v, struct diag *d)
{
	memset(v, 0, sizeof(*v));
	v->f.tlp = tlp;
	v->f.flags = flags;
	if ((v->id = adup(a, id, strlen(id))) == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	const char *dd = strstr(v->id, "--");
	char *type = adup(a, v->id, dd ? (size_t)(dd - v->id) : 0);
	if (type == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	v->f.type = type;

	const struct json_val *root;
	int rc = json_parse(x->doc, body, body_len, 0, NULL, &root, d);
	if (rc != ST_OK)
		return rc;
	const struct json_val *labels = json_get(root, "labels");
	if (labels != NULL && labels->type == JSON_ARRAY) {
		size_t nl = labels->len < MAX_LABELS ? labels->len : MAX_LABELS;
		const char **l = arena_alloc(a, (nl ? nl : 1) * sizeof(*l));
		if (l == NULL)
			return diag_set(d, ST_ENOMEM, "out of memory");
		size_t k = 0;
		for (size_t i = 0; i < nl; i++) {
			const struct json_val *e = &labels->u.items[i];
			if (e->type == JSON_STRING &&
			    (l[k] = adup(a, e->u.str, e->len)) != NULL)
				k++;
		}
		v->f.labels = l;
		v->f.n_labels = k;
	}
	const char **refs;
	size_t nrefs;
	if ((rc = fed_refs_of(root, a, &refs, &nrefs)) != ST_OK)
		return diag_set(d, rc, "%s: too many references", id);
	v->refs = refs;
	v->n_refs = nrefs;

	int64_t cids[MAX_CIDS];
	size_t nc = 0;
	if (!x->no_cids && (rc = store_memberships(x->store, seq, cids,
						   MAX_CIDS, &nc, d)) != ST_OK)
		return rc;
	if (nc > MAX_CIDS)
		nc = MAX_CIDS;
	int64_t *c = arena_alloc(a, (nc ? nc : 1) * sizeof(*c));
	if (c == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	memcpy(c, cids, nc * sizeof(*c));
	v->f.cids = c;
	v->f.n_cids = nc;

	struct store_row row = {.id = id,
				.version = version,
				.flags = flags,
				.body = body,
				.body_len = body_len,
				.prov = prov,
				.prov_len = prov_len};
	struct fed_prov p;
	const char *tmp[FED_MAX_RED];
	if ((rc = fed_facts_provenance(x->fs, &row, &v->f, &p, tmp)) != ST_OK)
		return diag_set(d, rc, "%s: provenance could not be read", id);
	/* the facts outlive p: into the arena */
	size_t nr = v->f.n_red_identities;
	const char **red = arena_alloc(a, (nr ? nr : 1) * sizeof(*red));
	if (red == NULL ||
	    (v->f.origin != NULL &&
	     (v->f.origin = adup(a, v->f.origin, strlen(v->f.origin))) == NULL))
		rc = ST_ENOMEM;
	for (size_t i = 0; rc == ST_OK && i < nr; i++)
		if ((red[i] = adup(a, tmp[i], strlen(tmp[i]))) == NULL)
			rc = ST_ENOMEM;
	v->f.red_identities = red;
	fed_prov_free(&p);
	return rc == ST_OK ? ST_OK : diag_set(d, rc, "out of memory");
}

int fed_facts_row(struct fed_facts *x, const struct store_row *row,
		  struct release_version *out, struct diag *d)
{
	arena_reset(x->row_arena);
	return build(x, x->row_arena, row->seq, row->id, row->version, row->tlp,
		     row->flags, row->body, row->body_len, row->prov,
		     row->prov_len, out, d);
}

/* A copy of a row read by lookup (the callback may not read further). */
struct held {
	uint64_t seq;
	char *id;
	st_time version;
	uint8_t tlp, flags;
	char *body;
	size_t len;
	void *prov;
	size_t prov_len;
};

struct held_list {
	struct arena *a;
	bool last_only; /* only the latest version counts (not an SCO) */
	struct held v[64];
	size_t n;
};

static int copy_held(struct held_list *h, struct held *e,
		     const struct store_row *row)
{
	e->seq = row->seq;
	e->version = row->version;
	e->tlp = row->tlp;
	e->flags = row->flags;
	e->id = adup(h->a, row->id, strlen(row->id));
	e->body = adup(h->a, row->body, row->body_len);
	e->len = row->body_len;
	e->prov = NULL;
	e->prov_len = 0;
	if (row->prov != NULL && row->prov_len > 0) {
		e->prov = arena_alloc(h->a, row->prov_len);
		if (e->prov == NULL)
			return ST_ENOMEM;
		memcpy(e->prov, row->prov, row->prov_len);
		e->prov_len = row->prov_len;
	}
	return e->id == NULL || e->body == NULL ? ST_ENOMEM : ST_OK;
}

static int keep_row(void *ctx, size_t i, const struct store_row *row)
{
	struct held_list *h = ctx;
	(void)i;
	if (h->last_only && h->n == 1) {
		const struct held *e = &h->v[0];
		if (row->version < e->version ||
		    (row->version == e->version && row->seq < e->seq))
			return 0; /* an earlier version */
		return copy_held(h, &h->v[0], row);
	}
	if (h->n == 64)
		return 1; /* an SCO held 64 times: enough to decide */
	int rc = copy_held(h, &h->v[h->n], row);
	if (rc == ST_OK)
		h->n++;
	return rc;
}

/* The versions of id that count for a reference to it: the latest, or
 * every one of an SCO. One prepared lookup by id (this runs for every
 * reference of every version decided). */
static int lookup(void *ctx, const char *id, const struct release_version **out,
		  size_t *n)
{
	struct fed_facts *x = ctx;
	struct diag d;
	char type[STIX_TYPE_MAX];
	const char *dd = strstr(id, "--");
	*out = NULL;
	*n = 0;
	arena_reset(x->look_arena);
	x->nlooked = 0;
	if (dd == NULL || (size_t)(dd - id) >= sizeof(type))
		return ST_OK; /* not an id: nothing held */
	memcpy(type, id, (size_t)(dd - id));
	type[dd - id] = '\0';
	struct held_list h = {.a = x->look_arena,
			      .last_only =
				  !stix_is_sco_type(type, strlen(type))};
	const char *ids[1] = {id};
	/* a malformed id names nothing we hold: no row */
	int rc = store_held(x->store, ids, 1, 0, keep_row, &h, &d);
	if (rc < 0) {
		log_warn("federation", "reference %s: %s", id,
			 rc == ST_ENOMEM ? "out of memory" : d.msg);
		return rc;
	}
	if (h.n > x->caplooked) {
		struct release_version *g =
		    realloc(x->looked, h.n * sizeof(*g));
		if (g == NULL)
			return ST_ENOMEM;
		x->looked = g;
		x->caplooked = h.n;
	}
	for (size_t i = 0; i < h.n; i++) {
		const struct held *e = &h.v[i];
		if ((rc = build(x, x->look_arena, e->seq, e->id, e->version,
				e->tlp, e->flags, e->body, e->len, e->prov,
				e->prov_len, &x->looked[i], &d)) != ST_OK) {
			log_warn("federation", "reference %s: %s", id, d.msg);
			return rc;
		}
	}
	x->nlooked = h.n;
	*out = x->looked;
	*n = h.n;
	return ST_OK;
}

void fed_facts_collections(struct fed_facts *x, bool needed)
{
	if (x != NULL)
		x->no_cids = !needed;
}

struct release_source fed_facts_source(struct fed_facts *x)
{
	return (struct release_source){lookup, x};
}
