/*
 * strait: what a partner sends, checked before anything is applied.
 *
 * Two passes over one envelope: first every attestation is verified (one
 * signature per batch), then every object is validated, hashed in its
 * canonical form and checked against the attestation that lists it and
 * against the arrival rules (docs/FEDERATION.md, "What arrives"). Objects
 * that pass get their provenance recorded (durably, before the objects)
 * and are stored; the others are quarantined with the reason. Nothing is
 * silently dropped: every element gets an outcome.
 */
#include "federation/fed_int.h"

#include "common/hash.h"
#include "common/log.h"
#include "ingest/ingest.h"
#include "stix/stix.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Allowed clock skew for "modified": five minutes, in microseconds. */
#define FUTURE_SKEW ((st_time)5 * 60 * 1000000)

struct verified {
	struct attest a;
	const char *json;
	size_t len;
	bool ok;
	char err[200];
	char peer[PEER_NAME_MAX]; /* the registered peer whose key signed */
};

/* The object admit() is checking, and its provenance. */
struct accepted {
	size_t elem;
	struct fed_prov prov;
};

struct rx {
	struct fed *f;
	const char *peer;
	struct peer info;
	char peer_identity[STIX_ID_MAX];
	struct verified *att;
	size_t natt;
	struct fed_result *res;
	const struct fed_elem *elems;
	size_t *map; /* ingest index -> element index */
	uint64_t stored;
	/* for admit() */
	bool feed;
	int64_t cid;
	st_time peer_date;
	struct held_ctx *hc;
	bool *is_att;	 /* per element: an attestation */
	struct pre *pre; /* per element, or NULL */
	struct prerow *pool;
	struct accepted cur; /* the object admit() is checking */
	size_t nacc;
	struct buf pbuf; /* the provenance admit() hands to the ingest */
	int store_err;
	char store_msg[200];
};

struct keys_ctx {
	struct attest_key *k;
	char (*owner)[PEER_NAME_MAX];
	size_t n, cap;
};

static int add_peer_key(void *ctx, const struct peer *p)
{
	struct keys_ctx *c = ctx;
	if (c->n == c->cap)
		return 0;
	memcpy(c->k[c->n].id, p->key_id, sizeof(c->k[c->n].id));
	memcpy(c->k[c->n].pk, p->pk, sizeof(p->pk));
	snprintf(c->owner[c->n], PEER_NAME_MAX, "%s", p->name);
	c->n++;
	return 0;
}

static int known_keys(struct fed *f, struct attest_key **out,
		      char (**owner)[PEER_NAME_MAX], size_t *n, struct diag *d)
{
	struct keys_ctx c = {0};
	c.cap = 256 + NODEKEY_HISTORY_MAX;
	c.k = calloc(c.cap, sizeof(*c.k));
	c.owner = calloc(c.cap, sizeof(*c.owner));
	if (c.k == NULL || c.owner == NULL) {
		free(c.k);
		free(c.owner);
		return diag_set(d, ST_ENOMEM, "out of memory");
	}
	pthread_mutex_lock(&f->peers_mu);
	int rc = peers_list(f->peers, add_peer_key, &c, d);
	pthread_mutex_unlock(&f->peers_mu);
	const struct nodekey_pub *h;
	size_t nh = f->cfg.keys ? nodekeys_history(f->cfg.keys, &h) : 0;
	for (size_t i = 0; i < nh && c.n < c.cap; i++) {
		memcpy(c.k[c.n].id, h[i].id, sizeof(c.k[c.n].id));
		memcpy(c.k[c.n].pk, h[i].pk, sizeof(h[i].pk));
		c.owner[c.n][0] = '\0'; /* ours */
		c.n++;
	}
	*out = c.k;
	*owner = c.owner;
	*n = c.n;
	return rc;
}

/* Whether needle occurs in the n bytes at p. */
static bool contains(const char *p, size_t n, const char *needle)
{
	size_t k = strlen(needle);
	for (const char *e = p + n; (size_t)(e - p) >= k;) {
		const char *c = memchr(p, needle[0], (size_t)(e - p) - k + 1);
		if (c == NULL)
			return false;
		if (memcmp(c, needle, k) == 0)
			return true;
		p = c + 1;
	}
	return false;
}

/* Copies src (NULL: empty) into dst of size n, cut short if it must be:
 * what snprintf(dst, n, "%s", src) does, without the format parsing (a
 * few of these run for every object received). */
static void scopy(char *dst, size_t n, const char *src)
{
	size_t l = src != NULL ? strnlen(src, n - 1) : 0;
	if (l > 0)
		memcpy(dst, src, l);
	dst[l] = '\0';
}

static void result(struct fed_result *r, enum fed_outcome o, const char *id,
		   const char *version, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void result(struct fed_result *r, enum fed_outcome o, const char *id,
		   const char *version, const char *fmt, ...)
{
	r->outcome = o;
	scopy(r->id, sizeof(r->id), id);
	scopy(r->version, sizeof(r->version), version);
	va_list ap;
	va_start(ap, fmt);
	if (strcmp(fmt, "%s") == 0)
		scopy(r->msg, sizeof(r->msg), va_arg(ap, const char *));
	else
		vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
}

static void quarantine(struct rx *x, size_t i, int64_t cid,
		       const struct verified *v, const char *id,
		       const char *version, const char *reason)
{
	struct fed_quarantined q;
	memset(&q, 0, sizeof(q));
	snprintf(q.peer, sizeof(q.peer), "%s", x->peer);
	snprintf(q.id, sizeof(q.id), "%s", id ? id : "");
	snprintf(q.version, sizeof(q.version), "%s", version ? version : "");
	snprintf(q.reason, sizeof(q.reason), "%s", reason);
	q.cid = cid;
	q.at = time_now();
	q.object = (char *)x->elems[i].json;
	q.object_len = x->elems[i].len;
	if (v != NULL) {
		q.attestation = (char *)v->json;
		q.attestation_len = v->len;
	}
	struct diag d;
	int64_t qid = 0;
	if (fed_quarantine_add(x->f->state, &q, &qid, &d) != ST_OK) {
		/* Not applied either way; the sender is told, and retries. */
		result(&x->res[i], FED_FAILED, id, version,
		       "could not be quarantined: %s", d.msg);
		return;
	}
	atomic_fetch_add(&x->f->quarantined, 1);
	log_warn("federation",
		 "quarantined %s %s from peer %s (entry %lld): %s",
		 id && *id ? id : "(no id)", version ? version : "", x->peer,
		 (long long)qid, reason);
	result(&x->res[i], FED_QUARANTINED, id, version, "quarantined: %s",
	       reason);
}

/* The attestation entry for (id, version) with these bytes. SCOs are
 * matched by id and bytes (their version key is the origin's own). */
enum match { M_NONE, M_OK, M_BYTES };

static enum match find(const struct attest *a, const char *id,
		       const char *version, bool versioned,
		       const uint8_t sha[32])
{
	size_t count;
	const struct attest_entry *e = attest_first(a, id, &count);
	enum match m = M_NONE;
	for (size_t i = 0; i < count; i++) {
		if (versioned && strcmp(e[i].version, version) != 0)
			continue;
		if (sodium_memcmp(e[i].sha256, sha, 32) == 0)
			return M_OK;
		m = M_BYTES;
	}
	return m;
}

static bool named(const struct attest *a, const char *identity)
{
	for (size_t i = 0; identity != NULL && *identity && i < a->n_red; i++)
		if (strcmp(a->red[i], identity) == 0)
			return true;
	return false;
}

/* The origin recorded with the earliest received version held of an id
 * ("" when none). */
struct origin_note {
	uint64_t origin_seq;
	char origin[STIX_ID_MAX];
	bool legacy; /* a received version without a record in its row */
};

/* What the store holds of one id: whether it holds this version (and
 * with which bytes), and every version it holds. */
struct held_ctx {
	const char *body;
	size_t len;
	st_time version;
	int found; /* this version: 0 not held, 1 same bytes, 2 other bytes */
	st_time *versions;
	bool *foreign; /* of each held version: received, not made here */
	size_t n, cap;
	bool nomem;
	struct origin_note on;
};

/* Notes the origin a held row's provenance names, keeping the earliest. */
static void note_origin(struct origin_note *c, const struct store_row *row)
{
	if (!(row->flags & STORE_F_FOREIGN))
		return;
	if (row->prov == NULL || row->prov_len == 0) {
		c->legacy = true;
		return;
	}
	struct fed_prov p;
	if (fed_prov_decode(row->prov, row->prov_len, &p) != ST_OK) {
		c->legacy = true;
		return;
	}
	if (p.origin[0] != '\0' &&
	    (c->origin[0] == '\0' || row->seq < c->origin_seq)) {
		memcpy(c->origin, p.origin, sizeof(c->origin));
		c->origin_seq = row->seq;
	}
	fed_prov_free(&p);
}

static int hc_add(struct held_ctx *c, st_time version, bool foreign)
{
	if (c->n == c->cap) {
		size_t nc = c->cap ? c->cap * 2 : 8;
		st_time *g = realloc(c->versions, nc * sizeof(*g));
		if (g == NULL)
			return ST_ENOMEM;
		c->versions = g;
		bool *fg = realloc(c->foreign, nc * sizeof(*fg));
		if (fg == NULL)
			return ST_ENOMEM;
		c->foreign = fg;
		c->cap = nc;
	}
	c->foreign[c->n] = foreign;
	c->versions[c->n++] = version;
	return ST_OK;
}

static int held_row(void *ctx, const struct store_row *row)
{
	struct held_ctx *c = ctx;
	note_origin(&c->on, row);
	if (row->version == c->version)
		c->found = row->body_len == c->len &&
				   memcmp(row->body, c->body, c->len) == 0
			       ? 1
			       : 2;
	if (hc_add(c, row->version, (row->flags & STORE_F_FOREIGN) != 0) !=
	    ST_OK) {
		c->nomem = true;
		return 1;
	}
	return 0;
}

/*
 * What the store holds of the objects of an envelope, read at once before
 * any is checked: the versions held of every id the envelope names, in
 * one read transaction. An element held with these very bytes in the
 * collection is a duplicate (catch-up, push and relays overlap after an
 * outage): it is reported so and goes no further, unhashed. admit() takes
 * what is held of the others from here (when the id it parses is the one
 * looked up); anything else is looked up on its own as before.
 */
struct pre {
	char id[STIX_ID_MAX]; /* "" when the element names none */
	size_t off, n;	      /* its versions in rx.pool */
	bool dup;	      /* held with these bytes, in cid */
	st_time dup_version;
	struct origin_note on;
};

/* One version held of an element's id. */
struct prerow {
	st_time version;
	bool foreign;
	bool same; /* held with the element's very bytes */
};

struct prefetch {
	struct rx *x;
	const size_t *elem; /* query index -> element */
	size_t npool, cap;
	bool nomem;
};

static int pre_row(void *ctx, size_t q, const struct store_row *row)
{
	struct prefetch *p = ctx;
	struct rx *x = p->x;
	size_t i = p->elem[q];
	struct pre *e = &x->pre[i];
	if (p->npool == p->cap) {
		size_t nc = p->cap ? p->cap * 2 : 1024;
		struct prerow *g = realloc(x->pool, nc * sizeof(*g));
		if (g == NULL) {
			p->nomem = true;
			return 1;
		}
		x->pool = g;
		p->cap = nc;
	}
	const struct fed_elem *el = &x->elems[i];
	bool same = row->body_len == el->len &&
		    memcmp(row->body, el->json, el->len) == 0;
	if (e->n == 0)
		e->off = p->npool;
	note_origin(&e->on, row);
	x->pool[p->npool++] = (struct prerow){
	    row->version, (row->flags & STORE_F_FOREIGN) != 0, same};
	e->n++;
	if (same && row->date_added != 0) {
		e->dup = true;
		e->dup_version = row->version;
	}
	return 0;
}

/* Fills x->pre for elements [0, n) not set aside by pass 1, and reports
 * the duplicates in their results. */
static int prefetch(struct rx *x, size_t n, struct json_doc *doc,
		    struct diag *d)
{
	const char **ids = malloc((n ? n : 1) * sizeof(*ids));
	size_t *elem = malloc((n ? n : 1) * sizeof(*elem));
	x->pre = calloc(n ? n : 1, sizeof(*x->pre));
	int rc = ST_OK;
	if (ids == NULL || elem == NULL || x->pre == NULL) {
		rc = diag_set(d, ST_ENOMEM, "out of memory");
		goto out;
	}
	size_t nq = 0;
	for (size_t i = 0; i < n; i++) {
		if (x->is_att[i])
			continue; /* pass 1 sees to those */
		const struct json_val *root, *id;
		struct diag pd;
		char type[STIX_TYPE_MAX];
		uint8_t uuid[16];
		if (json_parse(doc, x->elems[i].json, x->elems[i].len, 0, NULL,
			       &root, &pd) != ST_OK ||
		    root->type != JSON_OBJECT ||
		    (id = json_get(root, "id")) == NULL ||
		    id->type != JSON_STRING || id->len >= STIX_ID_MAX ||
		    stix_parse_id(id->u.str, id->len, type, uuid) != ST_OK)
			continue; /* the ingest says what is wrong */
		memcpy(x->pre[i].id, id->u.str, id->len + 1);
		ids[nq] = x->pre[i].id;
		elem[nq++] = i;
	}
	struct prefetch pf = {x, elem, 0, 0, false};
	rc = store_held(x->f->cfg.store, ids, nq, x->cid, pre_row, &pf, d);
	if (rc == ST_OK && pf.nomem)
		rc = diag_set(d, ST_ENOMEM, "out of memory");
	for (size_t q = 0; rc == ST_OK && q < nq; q++) {
		struct pre *p = &x->pre[elem[q]];
		if (!p->dup)
			continue;
		char ts[TS_BUFSZ];
		ts_format(p->dup_version, ts);
		result(&x->res[elem[q]], FED_DUPLICATE, p->id, ts, "duplicate");
	}
out:
	free(ids);
	free(elem);
	return rc;
}

/* The origin id is bound to, into bound: the origin recorded with the
 * earliest received version held; else this node when it made a version
 * of it. Nothing held, nothing bound. A copy of a version held with the
 * same bytes changes nothing here and binds nothing. */
static bool bound_origin(struct fed *f, const char *id,
			 const struct held_ctx *c, char bound[STIX_ID_MAX])
{
	if (c->on.origin[0] != '\0') {
		memcpy(bound, c->on.origin, STIX_ID_MAX);
		return true;
	}
	if (c->n == 0)
		return false;
	/* received before the store kept records in its rows */
	if (c->on.legacy && fed_origin_of(f->state, id, bound) == ST_OK)
		return true;
	if (f->cfg.identity == NULL || c->found == 1)
		return false;
	for (size_t i = 0; i < c->n; i++)
		if (!c->foreign[i]) {
			snprintf(bound, STIX_ID_MAX, "%s", f->cfg.identity);
			return true;
		}
	return false;
}

static void on_ingest(void *ctx, const struct ingest_event *ev)
{
	struct rx *x = ctx;
	size_t i = x->map[ev->index];
	struct fed_result *r = &x->res[i];
	char ts[TS_BUFSZ];
	switch (ev->kind) {
	case INGEST_ACCEPTED:
		ts_format(ev->version, ts);
		bool dup = strcmp(ev->msg, "duplicate") == 0;
		result(r, dup ? FED_DUPLICATE : FED_STORED, ev->id, ts, "%s",
		       ev->msg);
		if (!dup)
			x->stored++;
		break;
	case INGEST_REJECTED:
		result(r, FED_REJECTED, ev->id, r->version, "%s", ev->msg);
		break;
	case INGEST_CONFLICT:
	case INGEST_FAILED:
		result(r, FED_FAILED, ev->id, r->version, "%s", ev->msg);
		break;
	default:
		break;
	}
}

/* The ingest's admission check: one object, valid STIX, in canonical
 * form. Quarantines (and returns false) what breaks an arrival rule;
 * records the provenance of what passes. */
static bool admit(void *ctx, uint64_t index, const struct stix_info *info,
		  const struct json_val *root, const char *canon, size_t len,
		  struct ingest_admitted *out)
{
	struct rx *x = ctx;
	struct fed *f = x->f;
	struct held_ctx *hc = x->hc;
	size_t i = x->map[index]; /* the element */
	struct diag pd;
	(void)root;
	if (x->store_err != ST_OK)
		return false;
	char ver[TS_BUFSZ] = "";
	if (info->versioned)
		ts_format(info->version, ver);
	uint8_t sha[32];
	hash_sha256(canon, len, sha);
	hc->body = canon;
	hc->len = len;
	hc->version = info->version;
	hc->found = 0;
	hc->n = 0;
	memset(&hc->on, 0, sizeof(hc->on));
	/* What the prefetch read, when it looked up this id and these are
	 * the bytes it compared. */
	const struct pre *p = x->pre != NULL ? &x->pre[i] : NULL;
	if (p != NULL &&
	    (strcmp(p->id, info->id) != 0 || len != x->elems[i].len ||
	     memcmp(canon, x->elems[i].json, len) != 0))
		p = NULL;
	if (info->versioned && p != NULL)
		hc->on = p->on;
	for (size_t k = 0; info->versioned && p != NULL && k < p->n; k++) {
		const struct prerow *r = &x->pool[p->off + k];
		if (r->version == info->version)
			hc->found = r->same ? 1 : 2;
		if (hc_add(hc, r->version, r->foreign) != ST_OK) {
			x->store_err = ST_ENOMEM;
			snprintf(x->store_msg, sizeof(x->store_msg),
				 "out of memory");
			return false;
		}
	}
	if (info->versioned && p == NULL) {
		struct store_query q;
		memset(&q, 0, sizeof(q));
		q.id = info->id;
		q.vsel = STORE_V_ALL;
		if (store_query(f->cfg.store, &q, held_row, hc, NULL, &pd) <
			0 ||
		    hc->nomem) {
			x->store_err = hc->nomem ? ST_ENOMEM : ST_ESTORE;
			snprintf(x->store_msg, sizeof(x->store_msg), "%s",
				 hc->nomem ? "out of memory" : pd.msg);
			return false;
		}
	}
	/* A copy of a version we hold with these very bytes: nothing new
	 * (the store reports the duplicate; its provenance is recorded
	 * already, the first record wins). Catch-up and push overlap after
	 * an outage, so this is common. */
	if (info->versioned && hc->found == 1) {
		scopy(x->res[i].id, sizeof(x->res[i].id), info->id);
		scopy(x->res[i].version, sizeof(x->res[i].version), ver);
		return true;
	}
	struct accepted *a = &x->cur;
	memset(a, 0, sizeof(*a));
	scopy(a->prov.id, sizeof(a->prov.id), info->id);
	scopy(a->prov.peer, sizeof(a->prov.peer), x->peer);
	memcpy(a->prov.sha256, sha, 32);
	const struct verified *cover = NULL;
	const char *why = NULL;
	char whybuf[300];
	char bound[STIX_ID_MAX];
	if (!x->feed) {
		const struct verified *bytes = NULL, *bad = NULL;
		for (size_t k = 0; k < x->natt && cover == NULL; k++) {
			const struct verified *v = &x->att[k];
			if (!v->ok) {
				bad = v;
				continue;
			}
			enum match m =
			    find(&v->a, info->id, ver, info->versioned, sha);
			if (m == M_OK)
				cover = v;
			else if (m == M_BYTES)
				bytes = v;
		}
		if (cover == NULL) {
			if (bytes != NULL) {
				why = "its bytes differ from what the "
				      "attestation lists";
			} else if (bad != NULL) {
				snprintf(whybuf, sizeof(whybuf),
					 "no valid attestation covers it (one "
					 "was refused: %s)",
					 bad->err);
				why = whybuf;
			} else {
				why = "no attestation covers it";
			}
			quarantine(x, i, x->cid, bytes ? bytes : bad, info->id,
				   ver, why);
			return false;
		}
		const char *origin = cover->a.origin;
		bool from_origin = x->peer_identity[0] &&
				   strcmp(origin, x->peer_identity) == 0;
		if ((info->tlp == TLP_AMBER || info->tlp == TLP_AMBER_STRICT) &&
		    !from_origin) {
			why = "TLP:AMBER relayed by a node that is not its "
			      "origin";
		} else if (info->tlp == TLP_RED && !from_origin) {
			why = "TLP:RED relayed by a node that is not its "
			      "origin";
		} else if (info->tlp == TLP_RED &&
			   !named(&cover->a, f->cfg.identity)) {
			why = "TLP:RED and the origin's attestation does not "
			      "name this node";
		} else if (info->versioned &&
			   bound_origin(f, info->id, hc, bound) &&
			   strcmp(bound, origin) != 0) {
			snprintf(whybuf, sizeof(whybuf),
				 "attested by %s, but the object is bound to "
				 "origin %s",
				 origin, bound);
			why = whybuf;
		}
		if (why != NULL) {
			quarantine(x, i, x->cid, cover, info->id, ver, why);
			return false;
		}
		scopy(a->prov.origin, sizeof(a->prov.origin), origin);
		scopy(a->prov.attestation, sizeof(a->prov.attestation),
		      cover->a.id);
		a->prov.relay_green = cover->a.relay_green;
		if (info->tlp == TLP_RED && cover->a.n_red > 0) {
			a->prov.red = cover->a.red;
			a->prov.n_red = cover->a.n_red;
		}
	} else if (info->versioned && hc->found != 1 &&
		   bound_origin(f, info->id, hc, bound)) {
		/* A feed peer proves no origin: it may add objects and new
		 * versions of what feeds gave us, never change what an
		 * origin (this node included) made. */
		snprintf(whybuf, sizeof(whybuf),
			 "a feed peer may not change an object bound to "
			 "origin %s",
			 bound);
		quarantine(x, i, x->cid, NULL, info->id, ver, whybuf);
		return false;
	}
	if (info->modified > x->peer_date + FUTURE_SKEW) {
		quarantine(x, i, x->cid, cover, info->id, ver,
			   "'modified' is more than five minutes ahead of the "
			   "partner's clock");
		return false;
	}
	if (info->versioned && hc->found == 2) {
		quarantine(x, i, x->cid, cover, info->id, ver,
			   "the same version is held with other bytes");
		return false;
	}
	a->elem = i;
	/* An unversioned copy (SCO, marking definition) gets its version
	 * key from our store: its record is keyed by its bytes instead. */
	a->prov.version =
	    info->versioned ? info->version : fed_copy_key(a->prov.sha256);
	scopy(x->res[i].id, sizeof(x->res[i].id), info->id);
	scopy(x->res[i].version, sizeof(x->res[i].version), ver);
	/* Its provenance goes into the store with it, in the same commit. */
	if (fed_prov_encode(&a->prov, &x->pbuf) != ST_OK) {
		x->store_err = ST_ENOMEM;
		snprintf(x->store_msg, sizeof(x->store_msg), "out of memory");
		return false;
	}
	out->prov = x->pbuf.data;
	out->prov_len = x->pbuf.len;
	x->nacc++;
	return true;
}

int fed_receive(struct fed *f, const char *peer, st_time peer_date, int64_t cid,
		const struct fed_elem *elems, size_t n,
		struct fed_result *results, struct diag *d)
{
	struct rx x;
	struct held_ctx hc;
	memset(&x, 0, sizeof(x));
	memset(&hc, 0, sizeof(hc));
	x.f = f;
	x.peer = peer;
	x.res = results;
	x.elems = elems;
	memset(results, 0, n * sizeof(*results));
	pthread_mutex_lock(&f->peers_mu);
	int rc = peers_get(f->peers, peer, &x.info, d);
	pthread_mutex_unlock(&f->peers_mu);
	if (rc != ST_OK)
		return rc;
	bool feed = x.info.trust == PEER_FEED;
	struct fed_health h;
	fed_health_get(f->state, peer, &h);
	snprintf(x.peer_identity, sizeof(x.peer_identity), "%s", h.identity);
	/* "In the future" is judged against the partner's clock, but never
	 * a later one than ours: a partner whose Date is ahead (a wrong clock,
	 * or a hostile one) cannot widen the window. */
	st_time now = time_now();
	if (peer_date == 0 || peer_date > now)
		peer_date = now;

	struct attest_key *keys = NULL;
	char(*owner)[PEER_NAME_MAX] = NULL;
	size_t nkeys = 0;
	struct json_doc *doc = json_doc_new();
	struct fed_attestation *keep = calloc(n ? n : 1, sizeof(*keep));
	x.att = calloc(n ? n : 1, sizeof(*x.att));
	x.map = calloc(n ? n : 1, sizeof(*x.map));
	struct found_att {
		size_t elem;
		char id[STIX_ID_MAX];
	} *found = NULL;
	size_t nfound = 0;
	size_t nkeep = 0;
	struct ingest *in = NULL;
	if (doc == NULL || keep == NULL || x.att == NULL || x.map == NULL) {
		rc = diag_set(d, ST_ENOMEM, "out of memory");
		goto out;
	}
	if (!feed && (rc = known_keys(f, &keys, &owner, &nkeys, d)) != ST_OK)
		goto out;

	/* Which elements are attestations (only one that names the type
	 * can be), with their ids: attest_verify parses them itself. */
	const struct json_val *root;
	struct diag pd;
	x.is_att = calloc(n ? n : 1, sizeof(*x.is_att));
	if (x.is_att == NULL) {
		rc = diag_set(d, ST_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const struct json_val *t, *idv;
		if (!contains(elems[i].json, elems[i].len, ATTEST_TYPE) ||
		    json_parse(doc, elems[i].json, elems[i].len, 0, NULL, &root,
			       &pd) != ST_OK ||
		    (t = json_get(root, "type")) == NULL ||
		    !json_str_eq(t, ATTEST_TYPE))
			continue;
		struct found_att *g =
		    realloc(found, (nfound + 1) * sizeof(*found));
		if (g == NULL) {
			rc = diag_set(d, ST_ENOMEM, "out of memory");
			goto out;
		}
		found = g;
		found[nfound].elem = i;
		idv = json_get(root, "id");
		snprintf(found[nfound].id, sizeof(found[nfound].id), "%s",
			 idv && idv->type == JSON_STRING ? idv->u.str : "");
		nfound++;
		x.is_att[i] = true;
	}
	/* What the store holds of the others, and which are duplicates. */
	x.cid = cid;
	if ((rc = prefetch(&x, n, doc, d)) != ST_OK)
		goto out;
	bool any_new = false;
	for (size_t i = 0; i < n && !any_new; i++)
		any_new = !x.is_att[i] && results[i].outcome != FED_DUPLICATE;

	/* Pass 1: the attestations. When every object with them is held
	 * already (a relay of what came directly, a push overlapping a
	 * catch-up), nothing of the envelope is applied, and checking them
	 * would prove nothing. */
	for (size_t j = 0; j < nfound; j++) {
		size_t i = found[j].elem;
		const char *aid = found[j].id;
		struct verified *v = &x.att[x.natt];
		v->json = elems[i].json;
		v->len = elems[i].len;
		if (feed) {
			/* A feed peer's attestation proves nothing to us:
			 * kept aside, never trusted. */
			quarantine(&x, i, cid, NULL, aid, "",
				   "an attestation from a feed peer");
			continue;
		}
		if (!any_new) {
			result(&results[i], FED_ATTESTATION, aid, "",
			       "attestation not checked: every object with "
			       "it is held already");
			continue;
		}
		x.natt++;
		int vr = attest_verify(elems[i].json, elems[i].len, keys, nkeys,
				       &v->a, &pd);
		result(&results[i], FED_ATTESTATION, aid, "", "attestation %s",
		       vr == ST_OK ? "verified" : "refused");
		if (vr != ST_OK) {
			snprintf(v->err, sizeof(v->err), "%s", pd.msg);
			log_warn("federation",
				 "attestation %s from peer %s refused: %s", aid,
				 peer, pd.msg);
			/* The objects it would cover are quarantined in pass
			 * 2; the attestation itself with them. */
			continue;
		}
		/* Which registered node signed, and is the origin it names
		 * the one that node is known as? */
		for (size_t k = 0; k < nkeys; k++)
			if (strcmp(keys[k].id, v->a.key_id) == 0)
				snprintf(v->peer, sizeof(v->peer), "%s",
					 owner[k]);
		if (v->peer[0] == '\0') {
			/* our own key: our own objects coming back */
			if (f->cfg.identity == NULL ||
			    strcmp(v->a.origin, f->cfg.identity) != 0) {
				snprintf(v->err, sizeof(v->err),
					 "signed with this node's key but "
					 "names origin %s",
					 v->a.origin);
				continue;
			}
		} else {
			struct fed_health oh;
			fed_health_get(f->state, v->peer, &oh);
			if (oh.identity[0] == '\0') {
				/* First sight: the key was given out of
				 * band, so the origin it signs as is that
				 * partner's identity. */
				snprintf(oh.identity, sizeof(oh.identity), "%s",
					 v->a.origin);
				fed_health_put(f->state, &oh, NULL);
				if (strcmp(v->peer, peer) == 0)
					snprintf(x.peer_identity,
						 sizeof(x.peer_identity), "%s",
						 v->a.origin);
			} else if (strcmp(oh.identity, v->a.origin) != 0) {
				snprintf(v->err, sizeof(v->err),
					 "signed with the key of peer %s, "
					 "known as %s, but names origin %s",
					 v->peer, oh.identity, v->a.origin);
				continue;
			}
		}
		v->ok = true;
		keep[nkeep].id = v->a.id;
		keep[nkeep].json = v->json;
		keep[nkeep].len = v->len;
		nkeep++;
	}

	/* Pass 2: the objects, through one ingest: each is parsed,
	 * validated and put in canonical form once, and admit() checks it
	 * there against the attestations and the arrival rules. The ingest
	 * submits nothing before ingest_finish (one batch larger than the
	 * envelope), so the provenance of what was admitted is durable
	 * before any of it is stored. */
	x.feed = feed;
	x.cid = cid;
	x.peer_date = peer_date;
	x.hc = &hc;
	buf_init(&x.pbuf, (size_t)1 << 20);
	x.store_err = ST_OK;
	struct ingest_options opt;
	memset(&opt, 0, sizeof(opt));
	opt.cid = cid;
	/* Unmarked objects: a feed peer's declared default; from a strait
	 * partner AMBER (the origin's own default is not known here, and
	 * AMBER is never relayed). */
	opt.default_tlp = TLP_AMBER;
	opt.default_declared = true;
	if (feed) {
		char *text = NULL;
		struct peer_policy pol;
		pthread_mutex_lock(&f->peers_mu);
		peers_policy(f->peers, peer, &text, NULL);
		pthread_mutex_unlock(&f->peers_mu);
		if (text != NULL && peer_policy_parse(text, strlen(text), &pol,
						      NULL) == ST_OK) {
			if (pol.has_default_tlp)
				opt.default_tlp = pol.default_tlp;
			peer_policy_free(&pol);
		}
		free(text);
	}
	/* Marked in the store, in the same commit: a received version never
	 * reads as our own, even if its provenance record (written first,
	 * but without waiting for the disk) were lost to a power cut. */
	opt.flags = STORE_F_FOREIGN;
	opt.batch_size = (uint32_t)n + 1;
	opt.in_flight = 1;
	for (size_t i = 0; i < n; i++)
		opt.bytes_hint += elems[i].len;
	opt.report_accepted = true;
	opt.admit = admit;
	opt.admit_ctx = &x;
	in = ingest_new(f->cfg.store, &opt, on_ingest, &x);
	if (in == NULL) {
		rc = diag_set(d, ST_ENOMEM, "out of memory");
		goto out;
	}
	size_t nin = 0;
	for (size_t i = 0; i < n && rc == ST_OK; i++) {
		if (results[i].outcome == FED_ATTESTATION ||
		    results[i].outcome == FED_QUARANTINED ||
		    results[i].outcome == FED_DUPLICATE)
			continue; /* pass 1, or the prefetch, said */
		x.map[nin++] = i;
		rc = ingest_object(in, elems[i].json, elems[i].len, 0, i);
	}
	if (rc == ST_OK && x.store_err != ST_OK)
		rc = diag_set(d, x.store_err, "the store failed: %s",
			      x.store_msg);
	if (rc != ST_OK) {
		if (d->msg[0] == '\0')
			diag_set(d, rc, "receiving: %s", st_strerror(rc));
		goto out;
	}
	/* The attestations the admitted versions cite first (relaying
	 * one passes its origin's attestation on); then the versions, each
	 * with its provenance and marked foreign, in one commit. */
	if (x.nacc > 0 && nkeep > 0 &&
	    (rc = fed_prov_put(f->state, NULL, 0, keep, nkeep, d)) != ST_OK)
		goto out;
	if ((rc = ingest_finish(in)) != ST_OK) {
		diag_set(d, rc, "the store failed: %s", st_strerror(rc));
		goto out;
	}
	if (x.stored > 0) {
		fed_health_get(f->state, peer, &h);
		h.received += x.stored;
		fed_health_put(f->state, &h, NULL);
	}
	rc = ST_OK;
out:
	free(found);
	free(x.is_att);
	free(x.pre);
	free(x.pool);
	free(hc.versions);
	free(hc.foreign);
	for (size_t k = 0; k < x.natt; k++)
		attest_free(&x.att[k].a);
	free(x.att);
	free(x.map);
	buf_free(&x.pbuf);
	free(keep);
	free(keys);
	free(owner);
	ingest_free(in);
	json_doc_free(doc);
	return rc;
}
