/*
 * strait: a MISP feed out; see misp_out.h and docs/MISP.md.
 */
#include "interop/misp_out.h"
#include "interop/sensor.h"

#include "common/json.h"
#include "common/time.h"
#include "common/uuid.h"
#include "stix/stix.h"

#include <nettle/md5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#define PAGE 1000
#define MAX_REFS 100000 /* objects one event may hold */

/* strait's namespace for the uuids of attributes made from STIX objects
 * without one of their own */
static const uint8_t NS_MISP[16] = {0x3a, 0x91, 0x0e, 0x5c, 0x77, 0x21,
				    0x4d, 0x08, 0xb2, 0x6f, 0x19, 0xc3,
				    0x8e, 0x40, 0xd5, 0x6a};

/* A version copied out of a store read. */
struct held {
	char *id, *body;
	struct store_row row;
};

struct heldv {
	struct held *v;
	size_t n, cap;
	int err;
};

static void held_clear(struct heldv *h)
{
	for (size_t i = 0; i < h->n; i++) {
		free(h->v[i].id);
		free(h->v[i].body);
	}
	h->n = 0;
}

static void held_free(struct heldv *h)
{
	held_clear(h);
	free(h->v);
	h->v = NULL;
	h->cap = 0;
}

static int held_add(struct heldv *h, const struct store_row *row)
{
	if (h->n == h->cap) {
		size_t nc = h->cap ? h->cap * 2 : 64;
		struct held *g = realloc(h->v, nc * sizeof(*g));
		if (g == NULL)
			return h->err = ST_ENOMEM;
		h->v = g;
		h->cap = nc;
	}
	struct held *k = &h->v[h->n];
	k->row = *row;
	k->id = strdup(row->id);
	k->body = malloc(row->body_len + 1 + row->prov_len);
	if (k->id == NULL || k->body == NULL) {
		free(k->id);
		free(k->body);
		return h->err = ST_ENOMEM;
	}
	memcpy(k->body, row->body, row->body_len);
	k->body[row->body_len] = '\0';
	if (row->prov != NULL && row->prov_len > 0) {
		memcpy(k->body + row->body_len + 1, row->prov, row->prov_len);
		k->row.prov = k->body + row->body_len + 1;
	} else {
		k->row.prov = NULL;
		k->row.prov_len = 0;
	}
	k->row.id = k->id;
	k->row.body = k->body;
	k->row.warnings = NULL;
	h->n++;
	return ST_OK;
}

static int on_query_row(void *ctx, const struct store_row *row)
{
	return held_add(ctx, row) != ST_OK;
}

static int on_held_row(void *ctx, size_t i, const struct store_row *row)
{
	(void)i;
	if (row->date_added == 0) /* not a member of the collection */
		return 0;
	return held_add(ctx, row) != ST_OK;
}

/* By id, the greatest version first. */
static int held_cmp(const void *a, const void *b)
{
	const struct held *x = a, *y = b;
	int c = strcmp(x->id, y->id);
	if (c != 0)
		return c;
	return x->row.version < y->row.version	 ? 1
	       : x->row.version > y->row.version ? -1
						 : 0;
}

/* Keeps, of each id, the greatest version the caller may see that is not
 * revoked; counts the ids none of whose versions may be seen. */
static void held_pick(struct heldv *h, const struct ix_misp_feed_opts *o,
		      struct json_doc *doc, uint64_t *withheld)
{
	if (h->n > 1)
		qsort(h->v, h->n, sizeof(*h->v), held_cmp);
	size_t out = 0;
	for (size_t i = 0; i < h->n;) {
		size_t j = i;
		ssize_t pick = -1;
		for (; j < h->n && strcmp(h->v[j].id, h->v[i].id) == 0; j++)
			if (pick < 0 && (o->visible == NULL ||
					 o->visible(o->vctx, &h->v[j].row)))
				pick = (ssize_t)j;
		bool revoked = false;
		if (pick >= 0) {
			const struct json_val *root;
			struct diag d;
			struct held *k = &h->v[pick];
			if (json_parse(doc, k->body, k->row.body_len, 0, NULL,
				       &root, &d) != ST_OK)
				pick = -1;
			else
				revoked = json_get(root, "revoked") != NULL &&
					  json_get(root, "revoked")->type ==
					      JSON_TRUE;
		} else if (withheld != NULL) {
			(*withheld)++;
		}
		for (size_t k = i; k < j; k++) {
			if ((ssize_t)k == pick && !revoked) {
				struct held t = h->v[k];
				h->v[k] = h->v[out];
				h->v[out++] = t;
				continue;
			}
		}
		i = j;
	}
	/* free the rest */
	for (size_t k = out; k < h->n; k++) {
		free(h->v[k].id);
		free(h->v[k].body);
	}
	h->n = out;
	if (h->n > 1)
		qsort(h->v, h->n, sizeof(*h->v), held_cmp);
}

static const struct held *held_find(const struct heldv *h, const char *id)
{
	size_t lo = 0, hi = h->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(h->v[mid].id, id);
		if (c == 0)
			return &h->v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* The versions of ids held in the collections of o. */
static int fetch(struct store *s, const struct ix_misp_feed_opts *o,
		 const char *const *ids, size_t n, struct heldv *h,
		 struct diag *d)
{
	for (size_t c = 0; c < o->ncids && n > 0; c++) {
		int rc = store_held(s, ids, n, o->cids[c], on_held_row, h, d);
		if (h->err != ST_OK)
			return diag_set(d, h->err, "out of memory");
		if (rc < 0)
			return rc;
	}
	return ST_OK;
}

/* ---- writing an event ---------------------------------------------- */

struct ev {
	struct jw *w;
	struct buf *hashes;
	const char *uuid; /* the event's */
	struct ix_misp_out_stats *st;
	const struct heldv *scos;
	struct json_doc *doc; /* for SCOs */
	uint64_t attrs;
};

static void epoch_str(st_time t, char out[24])
{
	snprintf(out, 24, "%lld", (long long)(t / 1000000));
}

static st_time ts_of(const struct json_val *o, const char *key)
{
	const char *s = json_get_str(o, key);
	st_time t = 0;
	if (s != NULL)
		ts_parse(s, strlen(s), &t, NULL);
	return t;
}

static void put_epoch(struct jw *w, const char *key, st_time t)
{
	char e[24];
	epoch_str(t, e);
	jw_key(w, key);
	jw_str(w, e);
}

/* MISP writes first_seen and last_seen as ISO 8601 with an offset. */
static void put_iso(struct jw *w, const char *key, st_time t)
{
	char ts[TS_BUFSZ], out[48];
	ts_format(t, ts);
	ts[strlen(ts) - 1] = '\0'; /* the Z */
	snprintf(out, sizeof(out), "%s+00:00", ts);
	jw_key(w, key);
	jw_str(w, out);
}

static const char *uuid_of(const char *id)
{
	const char *p = strstr(id, "--");
	return p ? p + 2 : id;
}

static void hash_line(struct ev *e, const char *value)
{
	if (e->hashes == NULL)
		return;
	struct md5_ctx m;
	uint8_t dg[MD5_DIGEST_SIZE];
	md5_init(&m);
	md5_update(&m, strlen(value), (const uint8_t *)value);
	md5_digest(&m, sizeof(dg), dg);
	for (size_t i = 0; i < sizeof(dg); i++)
		buf_printf(e->hashes, "%02x", dg[i]);
	buf_printf(e->hashes, ",%s\n", e->uuid);
}

/* The TLP tag and the labels of o, as MISP tags. */
static void put_tag_items(struct jw *w, const struct json_val *o)
{
	const struct json_val *m = json_get(o, "object_marking_refs");
	const struct json_val *l = json_get(o, "labels");
	for (uint32_t i = 0; m && m->type == JSON_ARRAY && i < m->len; i++) {
		const struct json_val *v = &m->u.items[i];
		int t = v->type == JSON_STRING
			    ? tlp_of_marking_id(v->u.str, v->len)
			    : -1;
		if (t < 0)
			continue;
		char tag[32];
		snprintf(tag, sizeof(tag), "tlp:%s", tlp_name((enum tlp)t));
		for (char *p = tag; *p; p++)
			*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
		jw_obj_open(w);
		jw_key(w, "name");
		jw_str(w, tag);
		jw_obj_close(w);
	}
	for (uint32_t i = 0; l && l->type == JSON_ARRAY && i < l->len; i++)
		if (l->u.items[i].type == JSON_STRING) {
			jw_obj_open(w);
			jw_key(w, "name");
			jw_str(w, l->u.items[i].u.str);
			jw_obj_close(w);
		}
}

static void put_tags(struct jw *w, const struct json_val *o)
{
	jw_key(w, "Tag");
	jw_arr_open(w);
	put_tag_items(w, o);
	jw_arr_close(w);
}

/* An event's tags: its TLP and labels, then its clusters' tags
 * (NUL-separated in galaxy_tags: MISP attaches clusters by their tags). */
static void put_event_tags(struct jw *w, const struct json_val *cont,
			   const struct buf *galaxy_tags)
{
	jw_key(w, "Tag");
	jw_arr_open(w);
	put_tag_items(w, cont);
	for (size_t off = 0; off < galaxy_tags->len;) {
		const char *t = galaxy_tags->data + off;
		jw_obj_open(w);
		jw_key(w, "name");
		jw_str(w, t);
		jw_obj_close(w);
		off += strlen(t) + 1;
	}
	jw_arr_close(w);
}

/* MISP's default category of an attribute type. */
static const char *category_of(const char *type)
{
	static const struct {
		const char *type, *cat;
	} C[] = {
	    {"ip-src", "Network activity"},
	    {"ip-dst", "Network activity"},
	    {"domain", "Network activity"},
	    {"hostname", "Network activity"},
	    {"url", "Network activity"},
	    {"AS", "Network activity"},
	    {"x509-fingerprint-sha1", "Network activity"},
	    {"md5", "Payload delivery"},
	    {"sha1", "Payload delivery"},
	    {"sha256", "Payload delivery"},
	    {"sha512", "Payload delivery"},
	    {"filename", "Payload delivery"},
	    {"email-src", "Payload delivery"},
	    {"mutex", "Artifacts dropped"},
	    {"vulnerability", "External analysis"},
	};
	for (size_t i = 0; i < sizeof(C) / sizeof(C[0]); i++)
		if (strcmp(type, C[i].type) == 0)
			return C[i].cat;
	return "Other";
}

/* One attribute. relation: within a MISP object, else NULL. */
static void attr(struct ev *e, const char *uuid, const char *type,
		 const char *category, const char *value, bool to_ids,
		 const char *comment, const struct json_val *o,
		 const char *relation, st_time first, st_time last)
{
	struct jw *w = e->w;
	jw_obj_open(w);
	jw_key(w, "uuid");
	jw_str(w, uuid);
	jw_key(w, "type");
	jw_str(w, type);
	jw_key(w, "category");
	jw_str(w, category ? category : category_of(type));
	jw_key(w, "value");
	jw_str(w, value);
	jw_key(w, "to_ids");
	jw_bool(w, to_ids);
	jw_key(w, "comment");
	jw_str(w, comment ? comment : "");
	st_time mod = ts_of(o, "modified");
	put_epoch(w, "timestamp", mod);
	jw_key(w, "distribution");
	jw_str(w, "5"); /* as the event */
	if (relation != NULL) {
		jw_key(w, "object_relation");
		jw_str(w, relation);
	}
	if (first) {
		put_iso(w, "first_seen", first);
		if (last > first)
			put_iso(w, "last_seen", last);
	}
	put_tags(w, o);
	jw_obj_close(w);
	e->st->attributes++;
	e->attrs++;
	/* composite values are hashed part by part, as MISP does */
	const char *bar = strchr(type, '|') ? strchr(value, '|') : NULL;
	if (bar != NULL) {
		char a[IX_VALUE_MAX + 1];
		snprintf(a, sizeof(a), "%.*s", (int)(bar - value), value);
		hash_line(e, a);
		hash_line(e, bar + 1);
	} else {
		hash_line(e, value);
	}
}

/* The MISP type of an atom of a pattern or an SCO value. */
static const char *type_of_kind(enum ix_kind k)
{
	switch (k) {
	case IX_IP:
	case IX_CIDR:
		return "ip-dst";
	case IX_DOMAIN:
		return "domain";
	case IX_URL:
		return "url";
	case IX_MD5:
		return "md5";
	case IX_SHA1:
		return "sha1";
	case IX_SHA256:
		return "sha256";
	case IX_SHA512:
		return "sha512";
	case IX_EMAIL:
		return "email-src";
	case IX_CERT_SHA1:
		return "x509-fingerprint-sha1";
	}
	return "other";
}

/* A uuid for the n-th attribute made of the STIX object id. */
static void derived_uuid(const char *id, size_t n, char out[UUID_STRLEN + 1])
{
	char name[STIX_ID_MAX + 24];
	uint8_t u[16];
	snprintf(name, sizeof(name), "%s#%zu", id, n);
	uuid_v5(NS_MISP, name, strlen(name), u);
	uuid_format(u, out);
}

/* The attributes of an SCO an observed-data refers to. */
static size_t sco_attrs(struct ev *e, const struct json_val *od,
			const char *od_id, const struct json_val *sco,
			size_t n0)
{
	const char *type = json_get_str(sco, "type");
	const char *value = json_get_str(sco, "value");
	const char *comment = json_get_str(od, "x_misp_comment");
	char u[UUID_STRLEN + 1];
	size_t n = n0;
	st_time f = ts_of(od, "first_observed"), l = ts_of(od, "last_observed");
	static const struct {
		const char *sco, *misp;
	} V[] = {{"ipv4-addr", "ip-dst"},     {"ipv6-addr", "ip-dst"},
		 {"domain-name", "domain"},   {"url", "url"},
		 {"email-addr", "email-src"}, {"mutex", "mutex"}};
	for (size_t i = 0; type && value && i < sizeof(V) / sizeof(V[0]); i++)
		if (strcmp(type, V[i].sco) == 0) {
			derived_uuid(od_id, n++, u);
			attr(e, u, V[i].misp, NULL, value, false, comment, od,
			     NULL, f, l);
			return n - n0;
		}
	if (type && strcmp(type, "mutex") == 0 && json_get_str(sco, "name")) {
		derived_uuid(od_id, n++, u);
		attr(e, u, "mutex", NULL, json_get_str(sco, "name"), false,
		     comment, od, NULL, f, l);
	}
	if (type && strcmp(type, "file") == 0) {
		static const struct {
			const char *h, *misp;
		} H[] = {{"MD5", "md5"},
			 {"SHA-1", "sha1"},
			 {"SHA-256", "sha256"},
			 {"SHA-512", "sha512"}};
		const struct json_val *hs = json_get(sco, "hashes");
		for (size_t i = 0; i < sizeof(H) / sizeof(H[0]); i++) {
			const char *v = json_get_str(hs, H[i].h);
			if (v == NULL)
				continue;
			derived_uuid(od_id, n++, u);
			attr(e, u, H[i].misp, NULL, v, false, comment, od, NULL,
			     f, l);
		}
		if (json_get_str(sco, "name") != NULL) {
			derived_uuid(od_id, n++, u);
			attr(e, u, "filename", NULL, json_get_str(sco, "name"),
			     false, comment, od, NULL, f, l);
		}
	}
	return n - n0;
}

/* The attributes of one object, when it makes some (relation: of the
 * MISP object it belongs to). Returns how many were written. */
static size_t object_attrs(struct ev *e, const struct json_val *o,
			   const char *relation)
{
	const char *type = json_get_str(o, "type");
	const char *id = json_get_str(o, "id");
	const char *mtype = json_get_str(o, "x_misp_type");
	const char *mvalue = json_get_str(o, "x_misp_value");
	const char *mcat = json_get_str(o, "x_misp_category");
	if (type == NULL || id == NULL)
		return 0;
	bool ind = strcmp(type, "indicator") == 0;
	bool od = strcmp(type, "observed-data") == 0;
	bool note = strcmp(type, "note") == 0;
	bool vuln = strcmp(type, "vulnerability") == 0;
	const char *comment = json_get_str(o, note ? "abstract"
					      : od ? "x_misp_comment"
						   : "description");
	st_time first = 0, last = 0;
	if (ind) {
		first = ts_of(o, "valid_from");
		last = ts_of(o, "valid_until");
	} else if (od) {
		first = ts_of(o, "first_observed");
		last = ts_of(o, "last_observed");
	}
	if (mtype != NULL && mvalue != NULL && (ind || od || note || vuln)) {
		attr(e, uuid_of(id), mtype, mcat, mvalue, ind, comment, o,
		     relation, first, last);
		return 1;
	}
	if (note) {
		const char *c = json_get_str(o, "content");
		if (c == NULL)
			return 0;
		attr(e, uuid_of(id), "text", NULL, c, false, comment, o,
		     relation, 0, 0);
		return 1;
	}
	if (vuln) {
		attr(e, uuid_of(id), "vulnerability", NULL,
		     json_get_str(o, "name"), false, comment, o, relation, 0,
		     0);
		return 1;
	}
	if (ind) {
		const char *p = json_get_str(o, "pattern");
		const char *pt = json_get_str(o, "pattern_type");
		struct ix_atom *atoms = malloc(IX_ATOMS_MAX * sizeof(*atoms));
		size_t n = 0;
		const char *why;
		if (atoms == NULL || p == NULL ||
		    (pt != NULL && strcmp(pt, "stix") != 0) ||
		    ix_pattern_atoms(p, strlen(p), atoms, &n, &why) != ST_OK) {
			free(atoms);
			return 0;
		}
		for (size_t i = 0; i < n; i++) {
			char u[UUID_STRLEN + 1];
			if (n == 1)
				snprintf(u, sizeof(u), "%s", uuid_of(id));
			else
				derived_uuid(id, i, u);
			attr(e, u, type_of_kind(atoms[i].kind), NULL,
			     atoms[i].value, true, comment, o, NULL, first,
			     last);
		}
		free(atoms);
		return n;
	}
	if (od) {
		const struct json_val *refs = json_get(o, "object_refs");
		size_t n = 0;
		for (uint32_t i = 0;
		     refs && refs->type == JSON_ARRAY && i < refs->len; i++) {
			const struct json_val *r = &refs->u.items[i];
			const struct held *h =
			    r->type == JSON_STRING
				? held_find(e->scos, r->u.str)
				: NULL;
			const struct json_val *sco;
			struct diag d;
			if (h == NULL ||
			    json_parse(e->doc, h->body, h->row.body_len, 0,
				       NULL, &sco, &d) != ST_OK)
				continue;
			n += sco_attrs(e, o, id, sco, n);
		}
		return n;
	}
	return 0;
}

/* The galaxy a STIX object type is a cluster of, when it is one. */
static const char *galaxy_of(const char *type)
{
	static const struct {
		const char *stix, *galaxy;
	} G[] = {{"threat-actor", "threat-actor"},
		 {"intrusion-set", "mitre-intrusion-set"},
		 {"attack-pattern", "mitre-attack-pattern"},
		 {"malware", "mitre-malware"},
		 {"tool", "mitre-tool"},
		 {"course-of-action", "mitre-course-of-action"}};
	for (size_t i = 0; type && i < sizeof(G) / sizeof(G[0]); i++)
		if (strcmp(type, G[i].stix) == 0)
			return G[i].galaxy;
	return NULL;
}

/* A cluster's galaxy, uuid, ATT&CK id and tag name. */
struct cl {
	const char *galaxy, *uuid, *ext, *value;
	char tag[1200];
};

static bool cluster_of(const struct json_val *o, struct cl *c)
{
	const char *type = json_get_str(o, "type");
	c->galaxy = galaxy_of(type);
	c->value = json_get_str(o, "name");
	if (c->galaxy == NULL || c->value == NULL)
		return false;
	c->uuid = uuid_of(json_get_str(o, "id"));
	c->ext = NULL;
	const struct json_val *x = json_get(o, "external_references");
	for (uint32_t i = 0; x && x->type == JSON_ARRAY && i < x->len; i++) {
		const struct json_val *r = &x->u.items[i];
		const char *src = json_get_str(r, "source_name");
		const char *eid = json_get_str(r, "external_id");
		if (src == NULL || eid == NULL)
			continue;
		if (strcmp(src, "misp-galaxy") == 0) {
			c->uuid = eid;
			if (json_get_str(r, "description") != NULL)
				c->galaxy = json_get_str(r, "description");
		} else if (strcmp(src, "mitre-attack") == 0) {
			c->ext = eid;
		}
	}
	const char *tag = json_get_str(o, "x_misp_tag_name");
	if (tag != NULL)
		snprintf(c->tag, sizeof(c->tag), "%s", tag);
	else
		snprintf(c->tag, sizeof(c->tag), "misp-galaxy:%s=\"%.1000s\"",
			 c->galaxy, c->value);
	return true;
}

static void put_cluster(struct jw *w, const struct json_val *o,
			const struct cl *c)
{
	jw_obj_open(w);
	jw_key(w, "type");
	jw_str(w, c->galaxy);
	jw_key(w, "name");
	jw_str(w, c->galaxy);
	jw_key(w, "GalaxyCluster");
	jw_arr_open(w);
	jw_obj_open(w);
	jw_key(w, "uuid");
	jw_str(w, c->uuid);
	jw_key(w, "type");
	jw_str(w, c->galaxy);
	jw_key(w, "value");
	jw_str(w, c->value);
	jw_key(w, "tag_name");
	jw_str(w, c->tag);
	const char *desc = json_get_str(o, "description");
	jw_key(w, "description");
	jw_str(w, desc ? desc : "");
	jw_key(w, "meta");
	jw_obj_open(w);
	const struct json_val *al = json_get(o, "aliases");
	if (al != NULL && al->type == JSON_ARRAY) {
		jw_key(w, "synonyms");
		jw_value(w, al);
	}
	if (c->ext != NULL) {
		jw_key(w, "external_id");
		jw_arr_open(w);
		jw_str(w, c->ext);
		jw_arr_close(w);
	}
	const struct json_val *x = json_get(o, "external_references");
	bool open = false;
	for (uint32_t i = 0; x && x->type == JSON_ARRAY && i < x->len; i++) {
		const char *url = json_get_str(&x->u.items[i], "url");
		if (url == NULL)
			continue;
		if (!open) {
			jw_key(w, "refs");
			jw_arr_open(w);
			open = true;
		}
		jw_str(w, url);
	}
	if (open)
		jw_arr_close(w);
	jw_obj_close(w);
	jw_obj_close(w);
	jw_arr_close(w);
	jw_obj_close(w);
}

/* Everything a container refers to, picked for the caller. */
struct content {
	struct heldv objs, scos;
	struct json_doc *doc, *doc2;
	char (*ids)[STIX_ID_MAX];
};

static int gather(struct store *s, const struct ix_misp_feed_opts *o,
		  const struct json_val *refs, struct content *c,
		  uint64_t *withheld, struct diag *d)
{
	size_t n = 0;
	const char **ids = NULL;
	held_clear(&c->objs);
	held_clear(&c->scos);
	if (refs == NULL || refs->type != JSON_ARRAY || refs->len == 0)
		return ST_OK;
	size_t cap = refs->len < MAX_REFS ? refs->len : MAX_REFS;
	ids = malloc(cap * sizeof(*ids));
	if (ids == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	for (uint32_t i = 0; i < refs->len && n < cap; i++)
		if (refs->u.items[i].type == JSON_STRING)
			ids[n++] = refs->u.items[i].u.str;
	int rc = fetch(s, o, ids, n, &c->objs, d);
	free(ids);
	if (rc != ST_OK)
		return rc;
	held_pick(&c->objs, o, c->doc, withheld);
	/* the SCOs of the observed data */
	size_t nsco = 0, capsco = 0;
	char **sids = NULL;
	for (size_t i = 0; i < c->objs.n && rc == ST_OK; i++) {
		if (strncmp(c->objs.v[i].id, "observed-data--", 15) != 0)
			continue;
		const struct json_val *root;
		if (json_parse(c->doc, c->objs.v[i].body,
			       c->objs.v[i].row.body_len, 0, NULL, &root,
			       d) != ST_OK)
			continue;
		const struct json_val *r = json_get(root, "object_refs");
		for (uint32_t k = 0; r && r->type == JSON_ARRAY && k < r->len;
		     k++) {
			if (r->u.items[k].type != JSON_STRING)
				continue;
			if (nsco == MAX_REFS) {
				rc = diag_set(d, ST_ELIMIT,
					      "more than %d observed objects "
					      "in one event",
					      MAX_REFS);
				break;
			}
			if (nsco == capsco) {
				size_t nc = capsco ? capsco * 2 : 64;
				char **g = realloc(sids, nc * sizeof(*g));
				if (g == NULL) {
					rc = diag_set(d, ST_ENOMEM,
						      "out of memory");
					break;
				}
				sids = g;
				capsco = nc;
			}
			sids[nsco] = strdup(r->u.items[k].u.str);
			if (sids[nsco] == NULL) {
				rc = diag_set(d, ST_ENOMEM, "out of memory");
				break;
			}
			nsco++;
		}
	}
	if (rc == ST_OK)
		rc = fetch(s, o, (const char *const *)sids, nsco, &c->scos, d);
	for (size_t i = 0; i < nsco; i++)
		free(sids[i]);
	free(sids);
	if (rc == ST_OK)
		held_pick(&c->scos, o, c->doc, NULL);
	return rc;
}

/* The organisation that made the container: its created_by_ref identity
 * when held and visible, else o's. */
static void orgc_of(struct store *s, const struct ix_misp_feed_opts *o,
		    const struct json_val *cont, struct content *c,
		    char name[256], char uuid[UUID_STRLEN + 1])
{
	const char *by = json_get_str(cont, "created_by_ref");
	struct heldv h = {0};
	struct diag d;
	const struct json_val *id_obj = NULL;
	snprintf(name, 256, "%s", o->org_name ? o->org_name : "strait");
	snprintf(uuid, UUID_STRLEN + 1, "%s", o->org_uuid ? o->org_uuid : "");
	if (by == NULL)
		return;
	const char *ids[1] = {by};
	if (fetch(s, o, ids, 1, &h, &d) == ST_OK) {
		held_pick(&h, o, c->doc2, NULL);
		if (h.n == 1 &&
		    json_parse(c->doc2, h.v[0].body, h.v[0].row.body_len, 0,
			       NULL, &id_obj, &d) == ST_OK &&
		    json_get_str(id_obj, "name") != NULL) {
			snprintf(name, 256, "%s", json_get_str(id_obj, "name"));
			snprintf(uuid, UUID_STRLEN + 1, "%s", uuid_of(by));
		}
	}
	held_free(&h);
}

static void put_orgc(struct jw *w, const char *name, const char *uuid)
{
	jw_key(w, "Orgc");
	jw_obj_open(w);
	jw_key(w, "name");
	jw_str(w, name);
	jw_key(w, "uuid");
	jw_str(w, uuid);
	jw_obj_close(w);
}

/* Writes the event of the container row into out; its manifest entry
 * into manifest (when not NULL). */
static int event(struct store *s, const struct ix_misp_feed_opts *o,
		 const struct held *row, struct content *c, struct buf *out,
		 struct jw *mw, struct buf *hashes,
		 struct ix_misp_out_stats *st, struct diag *d)
{
	const struct json_val *cont;
	struct json_doc *cdoc = json_doc_new();
	if (cdoc == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	int rc =
	    json_parse(cdoc, row->body, row->row.body_len, 0, NULL, &cont, d);
	if (rc == ST_OK)
		rc = gather(s, o, json_get(cont, "object_refs"), c,
			    &st->withheld, d);
	if (rc != ST_OK) {
		json_doc_free(cdoc);
		return rc;
	}
	const char *uuid = uuid_of(row->id);
	const char *info = json_get_str(cont, "name");
	st_time mod = ts_of(cont, "modified");
	st_time pub = ts_of(cont, "published");
	if (pub == 0)
		pub = mod;
	char date[TS_BUFSZ];
	ts_format(ts_of(cont, "created"), date);
	date[10] = '\0';
	const char *tl = json_get_str(cont, "x_misp_threat_level_id");
	const char *an = json_get_str(cont, "x_misp_analysis");
	struct buf galaxy_tags = BUF_INIT((size_t)16 << 20);
	struct jw w;
	buf_reset(out);
	jw_init(&w, out);
	jw_obj_open(&w);
	jw_key(&w, "Event");
	jw_obj_open(&w);
	jw_key(&w, "uuid");
	jw_str(&w, uuid);
	jw_key(&w, "info");
	jw_str(&w, info ? info : row->id);
	jw_key(&w, "date");
	jw_str(&w, date);
	jw_key(&w, "threat_level_id");
	jw_str(&w, tl ? tl : "4"); /* undefined */
	jw_key(&w, "analysis");
	jw_str(&w, an ? an : "2"); /* completed */
	jw_key(&w, "distribution");
	jw_str(&w, "0"); /* a pulled feed event stays with the puller */
	jw_key(&w, "published");
	jw_bool(&w, true);
	put_epoch(&w, "timestamp", mod);
	put_epoch(&w, "publish_timestamp", pub);
	char org_name[256], org_uuid[UUID_STRLEN + 1];
	orgc_of(s, o, cont, c, org_name, org_uuid);
	put_orgc(&w, org_name, org_uuid);
	struct ev e = {.w = &w,
		       .hashes = hashes,
		       .uuid = uuid,
		       .st = st,
		       .scos = &c->scos,
		       .doc = c->doc2};
	/* each object looked at once: a cluster, or in which MISP object */
	struct ob_info {
		bool cluster;
		char ouuid[64]; /* x_misp_object_uuid, "" when none */
	} *seen_as = calloc(c->objs.n + 1, sizeof(*seen_as));
	if (seen_as == NULL) {
		buf_free(&galaxy_tags);
		json_doc_free(cdoc);
		return diag_set(d, ST_ENOMEM, "out of memory");
	}
	/* standalone attributes, and the clusters' tags for the event */
	jw_key(&w, "Attribute");
	jw_arr_open(&w);
	for (size_t i = 0; i < c->objs.n; i++) {
		const struct json_val *ob;
		if (json_parse(c->doc, c->objs.v[i].body,
			       c->objs.v[i].row.body_len, 0, NULL, &ob,
			       d) != ST_OK)
			continue;
		struct cl cl;
		if (cluster_of(ob, &cl)) {
			seen_as[i].cluster = true;
			buf_add(&galaxy_tags, cl.tag, strlen(cl.tag) + 1);
			continue;
		}
		const char *ou = json_get_str(ob, "x_misp_object_uuid");
		if (ou != NULL) {
			snprintf(seen_as[i].ouuid, sizeof(seen_as[i].ouuid),
				 "%s", ou);
			continue;
		}
		if (object_attrs(&e, ob, NULL) == 0)
			st->left_out++;
	}
	jw_arr_close(&w);
	/* MISP objects, in the order their first attribute comes */
	jw_key(&w, "Object");
	jw_arr_open(&w);
	for (size_t i = 0; i < c->objs.n; i++) {
		const char *ou = seen_as[i].ouuid;
		bool seen = *ou == '\0';
		for (size_t k = 0; k < i && !seen; k++)
			seen = strcmp(seen_as[k].ouuid, ou) == 0;
		const struct json_val *ob;
		if (seen || json_parse(c->doc, c->objs.v[i].body,
				       c->objs.v[i].row.body_len, 0, NULL, &ob,
				       d) != ST_OK)
			continue;
		const char *on = json_get_str(ob, "x_misp_object_name");
		const char *mc =
		    json_get_str(ob, "x_misp_object_meta_category");
		jw_obj_open(&w);
		jw_key(&w, "uuid");
		jw_str(&w, ou);
		jw_key(&w, "name");
		jw_str(&w, on ? on : "misc");
		jw_key(&w, "meta-category");
		jw_str(&w, mc ? mc : "misc");
		jw_key(&w, "distribution");
		jw_str(&w, "5");
		put_epoch(&w, "timestamp", ts_of(ob, "modified"));
		jw_key(&w, "Attribute");
		jw_arr_open(&w);
		for (size_t k = i; k < c->objs.n; k++) {
			const struct json_val *p;
			if (strcmp(seen_as[k].ouuid, ou) != 0 ||
			    json_parse(c->doc, c->objs.v[k].body,
				       c->objs.v[k].row.body_len, 0, NULL, &p,
				       d) != ST_OK)
				continue;
			if (object_attrs(
				&e, p,
				json_get_str(p, "x_misp_object_relation")) == 0)
				st->left_out++;
		}
		jw_arr_close(&w);
		jw_obj_close(&w);
		st->objects++;
	}
	jw_arr_close(&w);
	jw_key(&w, "Galaxy");
	jw_arr_open(&w);
	for (size_t i = 0; i < c->objs.n; i++) {
		const struct json_val *ob;
		struct cl cl;
		if (seen_as[i].cluster &&
		    json_parse(c->doc, c->objs.v[i].body,
			       c->objs.v[i].row.body_len, 0, NULL, &ob,
			       d) == ST_OK &&
		    cluster_of(ob, &cl)) {
			put_cluster(&w, ob, &cl);
			st->clusters++;
		}
	}
	jw_arr_close(&w);
	free(seen_as);
	put_event_tags(&w, cont, &galaxy_tags);
	jw_obj_close(&w);
	jw_obj_close(&w);
	rc = jw_finish(&w);
	if (rc != ST_OK)
		rc = diag_set(d, rc, "%s: the event would be too large",
			      row->id);
	if (rc == ST_OK && mw != NULL) {
		jw_key(mw, uuid);
		jw_obj_open(mw);
		jw_key(mw, "info");
		jw_str(mw, info ? info : row->id);
		jw_key(mw, "date");
		jw_str(mw, date);
		jw_key(mw, "analysis");
		jw_str(mw, an ? an : "2");
		jw_key(mw, "threat_level_id");
		jw_str(mw, tl ? tl : "4");
		put_epoch(mw, "timestamp", mod);
		put_orgc(mw, org_name, org_uuid);
		put_event_tags(mw, cont, &galaxy_tags);
		jw_obj_close(mw);
	}
	if (rc == ST_OK)
		st->events++;
	buf_free(&galaxy_tags);
	json_doc_free(cdoc);
	return rc;
}

static int content_init(struct content *c, struct diag *d)
{
	memset(c, 0, sizeof(*c));
	c->doc = json_doc_new();
	c->doc2 = json_doc_new();
	if (c->doc == NULL || c->doc2 == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	return ST_OK;
}

static void content_free(struct content *c)
{
	held_free(&c->objs);
	held_free(&c->scos);
	json_doc_free(c->doc);
	json_doc_free(c->doc2);
}

/* The containers of o's collections, picked for the caller. */
static int containers(struct store *s, const struct ix_misp_feed_opts *o,
		      const char *id, struct heldv *h, struct json_doc *doc,
		      struct diag *d)
{
	static const char *const types[] = {"report", "grouping", NULL};
	for (size_t c = 0; c < o->ncids; c++) {
		struct store_query q = {0};
		q.cid = o->cids[c];
		q.vsel = STORE_V_LAST;
		q.id = id;
		q.types = id ? NULL : types;
		q.limit = PAGE;
		for (;;) {
			size_t got = 0;
			size_t before = h->n;
			int rc = store_query(s, &q, on_query_row, h, &got, d);
			if (h->err != ST_OK)
				return diag_set(d, h->err, "out of memory");
			if (rc < 0)
				return rc;
			if (got < PAGE || h->n == before)
				break;
			q.added_after = h->v[h->n - 1].row.date_added;
		}
	}
	held_pick(h, o, doc, NULL);
	return ST_OK;
}

int ix_misp_feed(struct store *s, const struct ix_misp_feed_opts *o,
		 ix_misp_event_fn on_event, void *ctx, struct buf *manifest,
		 struct buf *hashes, struct ix_misp_out_stats *st,
		 struct diag *d)
{
	struct ix_misp_out_stats dummy;
	if (st == NULL)
		st = &dummy;
	memset(st, 0, sizeof(*st));
	struct content c;
	struct heldv h = {0};
	struct buf out = BUF_INIT((size_t)256 << 20);
	struct jw mw;
	int rc = content_init(&c, d);
	if (rc == ST_OK)
		rc = containers(s, o, NULL, &h, c.doc, d);
	if (manifest != NULL) {
		jw_init(&mw, manifest);
		jw_obj_open(&mw);
	}
	for (size_t i = 0; i < h.n && rc == ST_OK; i++) {
		rc = event(s, o, &h.v[i], &c, &out, manifest ? &mw : NULL,
			   hashes, st, d);
		if (rc == ST_OK && on_event != NULL &&
		    on_event(ctx, uuid_of(h.v[i].id), out.data, out.len) != 0)
			rc =
			    diag_set(d, ST_EIO, "writing %s failed", h.v[i].id);
	}
	if (manifest != NULL && rc == ST_OK) {
		jw_obj_close(&mw);
		rc = jw_finish(&mw);
		if (rc != ST_OK)
			rc = diag_set(d, rc, "the manifest would be too large");
	}
	buf_free(&out);
	held_free(&h);
	content_free(&c);
	return rc;
}

int ix_misp_feed_event(struct store *s, const struct ix_misp_feed_opts *o,
		       const char *uuid, struct buf *out, struct diag *d)
{
	uint8_t u[16];
	char us[UUID_STRLEN + 1];
	if (uuid_parse(uuid, strlen(uuid), false, u) != ST_OK)
		return diag_set(d, ST_ENOTFOUND, "'%.64s' is not a uuid", uuid);
	uuid_format(u, us);
	struct ix_misp_out_stats st = {0};
	struct content c;
	struct heldv h = {0};
	int rc = content_init(&c, d);
	static const char *const kinds[] = {"report", "grouping"};
	for (size_t k = 0; k < 2 && rc == ST_OK && h.n == 0; k++) {
		char id[STIX_ID_MAX];
		snprintf(id, sizeof(id), "%s--%s", kinds[k], us);
		rc = containers(s, o, id, &h, c.doc, d);
	}
	if (rc == ST_OK && h.n == 0)
		rc = diag_set(d, ST_ENOTFOUND, "no event %s", us);
	if (rc == ST_OK)
		rc = event(s, o, &h.v[0], &c, out, NULL, NULL, &st, d);
	held_free(&h);
	content_free(&c);
	return rc;
}
