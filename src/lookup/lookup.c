/*
 * strait: the lookup index and its queries; see lookup.h.
 *
 * lookup.db holds three tables. terms(key, seq): a key is a letter, a
 * colon and a normalised value ("d:example.com", "h:<hex>", "r:<id>").
 * nets(fam, plen, net, seq): addresses and prefixes, the network as 16
 * bytes so that byte order is address order. objs(seq, id): the object
 * of each indexed version. meta: the last seq indexed and the store
 * incarnation it belongs to (a restored store gets the index rebuilt).
 */
#include "lookup/lookup.h"
#include "lookup/lookup_int.h"

#include "common/buf.h"
#include "common/json.h"
#include "common/sqlschema.h"
#include "common/uuid.h"
#include "pattern/pattern.h"
#include "stix/stix.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 20000 /* versions per indexing transaction */
#define KEY_MAX (LK_VALUE_MAX + 8)
#define HOPS_MAX 4096 /* ids followed for references */

static const struct sql_migration migrations[] = {
    {1, "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)"
	" WITHOUT ROWID;"
	"CREATE TABLE terms(key TEXT NOT NULL, seq INTEGER NOT NULL,"
	" PRIMARY KEY(key, seq)) WITHOUT ROWID;"
	"CREATE TABLE nets(fam INTEGER NOT NULL, net BLOB NOT NULL,"
	" plen INTEGER NOT NULL, seq INTEGER NOT NULL,"
	" PRIMARY KEY(fam, net, plen, seq)) WITHOUT ROWID;"
	"CREATE TABLE objs(seq INTEGER PRIMARY KEY, id TEXT NOT NULL);"
	"CREATE TABLE plens(fam INTEGER NOT NULL, plen INTEGER NOT NULL,"
	" PRIMARY KEY(fam, plen)) WITHOUT ROWID;"},
    /* The text of each version (rowid: its seq) for strait search; what
     * was indexed before it is indexed again. */
    {2, "CREATE VIRTUAL TABLE texts USING fts5(body, tokenize='trigram');"
	"DELETE FROM terms; DELETE FROM nets; DELETE FROM objs;"
	"DELETE FROM plens; UPDATE meta SET value = '0' WHERE key = 'seq';"},
};

/* ------------------------------------------------------------------ */
/* Values                                                               */
/* ------------------------------------------------------------------ */

const char *lk_kind_name(enum lk_kind k)
{
	static const char *const n[] = {"ip",	 "domain", "url",   "hash",
					"email", "wallet", "attack"};
	return (unsigned)k < sizeof(n) / sizeof(n[0]) ? n[k] : "?";
}

const char *lk_how_name(enum lk_how h)
{
	static const char *const n[] = {"value", "matches", "mentions",
					"refers", "attack-id"};
	return (unsigned)h < sizeof(n) / sizeof(n[0]) ? n[h] : "?";
}

static bool all_of(const char *s, size_t n, const char *set)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\0' || strchr(set, s[i]) == NULL)
			return false;
	return true;
}

static const char HEX[] = "0123456789abcdefABCDEF";
static const char B58[] =
    "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
static const char B32[] = "023456789acdefghjklmnpqrstuvwxyz";

static const char *hash_algo(size_t n)
{
	switch (n) {
	case 32:
		return "MD5";
	case 40:
		return "SHA-1";
	case 64:
		return "SHA-256";
	case 128:
		return "SHA-512";
	}
	return NULL;
}

static bool is_wallet(const char *s, size_t n)
{
	if (n == 42 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		return all_of(s + 2, 40, HEX); /* Ethereum */
	if ((s[0] == '1' || s[0] == '3') && n >= 26 && n <= 35)
		return all_of(s, n, B58); /* Bitcoin, base58 */
	if (n >= 14 && n <= 74 && strncmp(s, "bc1", 3) == 0)
		return all_of(s + 3, n - 3, B32); /* Bitcoin, bech32 */
	return false;
}

static bool is_attack(const char *s, size_t n)
{
	size_t p = 0;
	if (n >= 2 && (strncmp(s, "TA", 2) == 0 || strncmp(s, "ta", 2) == 0))
		p = 2;
	else if (n >= 1 && strchr("TtGgSsMm", s[0]) != NULL)
		p = 1;
	else
		return false;
	if (n - p == 4 && all_of(s + p, 4, "0123456789"))
		return true;
	return p == 1 && (s[0] == 'T' || s[0] == 't') && n == 9 &&
	       all_of(s + 1, 4, "0123456789") && s[5] == '.' &&
	       all_of(s + 6, 3, "0123456789");
}

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

int lk_value_parse(const char *s, struct lk_value *out, struct diag *d)
{
	memset(out, 0, sizeof(*out));
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' ||
			 s[n - 1] == '\n' || s[n - 1] == '\r'))
		n--;
	if (n == 0)
		return diag_set(d, ST_EINVAL, "an empty value");
	if (n > LK_VALUE_MAX)
		return diag_set(d, ST_ELIMIT,
				"the value is longer than %d bytes",
				LK_VALUE_MAX);
	memcpy(out->text, s, n);
	out->text[n] = '\0';
	if (ip_parse(s, n, &out->ip)) {
		out->kind = LK_IP;
		/* the canonical text, as patterns and SCOs write it */
		char a[INET6_ADDRSTRLEN];
		if (inet_ntop(out->ip.v6 ? AF_INET6 : AF_INET, out->ip.addr, a,
			      sizeof(a)) != NULL) {
			if (out->ip.len == (out->ip.v6 ? 128 : 32))
				snprintf(out->text, sizeof(out->text), "%s", a);
			else
				snprintf(out->text, sizeof(out->text), "%s/%u",
					 a, out->ip.len);
		}
		return ST_OK;
	}
	const char *colon = memchr(s, ':', n);
	if (colon != NULL && (size_t)(colon - s) + 3 <= n && colon[1] == '/' &&
	    colon[2] == '/') {
		out->kind = LK_URL;
		return ST_OK;
	}
	if (memchr(s, '@', n) != NULL) {
		out->kind = LK_EMAIL;
		lower(out->text);
		return ST_OK;
	}
	if (hash_algo(n) != NULL && all_of(s, n, HEX)) {
		out->kind = LK_HASH;
		out->hash_algo = hash_algo(n);
		lower(out->text);
		return ST_OK;
	}
	if (is_wallet(s, n)) {
		out->kind = LK_WALLET;
		if (out->text[0] == '0')
			lower(out->text);
		return ST_OK;
	}
	if (is_attack(s, n)) {
		out->kind = LK_ATTACK;
		for (char *p = out->text; *p; p++)
			*p = (char)toupper((unsigned char)*p);
		return ST_OK;
	}
	if (n > 1 && out->text[n - 1] == '.')
		out->text[--n] = '\0';
	if (domain_name_valid(out->text, n, false)) {
		out->kind = LK_DOMAIN;
		lower(out->text);
		return ST_OK;
	}
	return diag_set(d, ST_EINVAL,
			"'%.80s' is not a value lookup understands: an IP "
			"address or CIDR prefix, a domain name, a URL "
			"(scheme://...), a file hash (MD5, SHA-1, SHA-256, "
			"SHA-512 in hex), an email address, a Bitcoin or "
			"Ethereum address, or an ATT&CK id (T1566.001, "
			"G0032, S0154, TA0001, M1017)",
			s);
}

/* ------------------------------------------------------------------ */
/* What a version names                                                 */
/* ------------------------------------------------------------------ */

/* The terms of one version, as keys and prefixes. */
struct terms {
	char (*keys)[KEY_MAX];
	size_t n, cap;
	struct ip_prefix *nets;
	size_t nn, ncap;
	bool oom;
};

static void terms_reset(struct terms *t)
{
	t->n = t->nn = 0;
	t->oom = false;
}

static void terms_free(struct terms *t)
{
	free(t->keys);
	free(t->nets);
	memset(t, 0, sizeof(*t));
}

static void add_key(struct terms *t, char tag, const char *s, size_t n)
{
	if (n == 0 || n > LK_VALUE_MAX)
		return;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		void *g = realloc(t->keys, cap * sizeof(*t->keys));
		if (g == NULL) {
			t->oom = true;
			return;
		}
		t->keys = g;
		t->cap = cap;
	}
	char *k = t->keys[t->n];
	k[0] = tag;
	k[1] = ':';
	memcpy(k + 2, s, n);
	k[n + 2] = '\0';
	/* case-insensitive kinds are kept in lower case */
	if (tag == 'd' || tag == 'e' || tag == 'h' ||
	    (tag == 'w' && k[2] == '0'))
		lower(k + 2);
	if (tag == 'd' && n > 1 && k[n + 1] == '.')
		k[n + 1] = '\0';
	if (tag == 'a')
		for (char *p = k + 2; *p; p++)
			*p = (char)toupper((unsigned char)*p);
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->keys[i], k) == 0)
			return;
	t->n++;
}

static void add_net(struct terms *t, const char *s, size_t n)
{
	struct ip_prefix p;
	if (!ip_parse(s, n, &p))
		return;
	if (t->nn == t->ncap) {
		size_t cap = t->ncap ? t->ncap * 2 : 8;
		void *g = realloc(t->nets, cap * sizeof(*t->nets));
		if (g == NULL) {
			t->oom = true;
			return;
		}
		t->nets = g;
		t->ncap = cap;
	}
	t->nets[t->nn++] = p;
}

static void add_str(struct terms *t, char tag, const struct json_val *v)
{
	if (v != NULL && v->type == JSON_STRING)
		add_key(t, tag, v->u.str, v->len);
}

static void add_hashes(struct terms *t, const struct json_val *h)
{
	if (h == NULL || h->type != JSON_OBJECT)
		return;
	for (uint32_t i = 0; i < h->len; i++) {
		const struct json_val *v = &h->u.members[i].val;
		if (v->type == JSON_STRING && hash_algo(v->len) != NULL &&
		    all_of(v->u.str, v->len, HEX))
			add_key(t, 'h', v->u.str, v->len);
	}
}

/* STIX 2.1 has no wallet object: the name of the proposed one, and the
 * custom type MISP and others use. */
static bool is_wallet_type(const char *t)
{
	return strcmp(t, "cryptocurrency-wallet") == 0 ||
	       strcmp(t, "x-crypto-wallet") == 0;
}

/* The tag of what a pattern comparison's path names, or 0. 'n' for an
 * address (an equality or ISSUBSET), 'x' for a path whose comparison the
 * index cannot hold (LIKE, MATCHES): such indicators are checked at
 * every lookup of that kind. */
static char path_tag(const struct pat_path *p)
{
	const char *t = p->type;
	const char *k = p->n_steps > 0 && p->steps[0].kind == PAT_STEP_KEY
			    ? p->steps[0].key
			    : "";
	if ((strcmp(t, "ipv4-addr") == 0 || strcmp(t, "ipv6-addr") == 0) &&
	    strcmp(k, "value") == 0)
		return 'n';
	if (strcmp(t, "domain-name") == 0 && strcmp(k, "value") == 0)
		return 'd';
	if (strcmp(t, "url") == 0 && strcmp(k, "value") == 0)
		return 'u';
	if (strcmp(t, "email-addr") == 0 && strcmp(k, "value") == 0)
		return 'e';
	if (strcmp(t, "email-message") == 0 &&
	    (strcmp(k, "from_ref") == 0 || strcmp(k, "sender_ref") == 0 ||
	     strcmp(k, "to_refs") == 0 || strcmp(k, "cc_refs") == 0) &&
	    p->n_steps >= 2 && p->steps[p->n_steps - 1].kind == PAT_STEP_KEY &&
	    strcmp(p->steps[p->n_steps - 1].key, "value") == 0)
		return 'e';
	if ((strcmp(t, "file") == 0 || strcmp(t, "artifact") == 0 ||
	     strcmp(t, "x509-certificate") == 0) &&
	    strcmp(k, "hashes") == 0)
		return 'h';
	if (is_wallet_type(t) &&
	    (strcmp(k, "address") == 0 || strcmp(k, "value") == 0))
		return 'w';
	return 0;
}

static const char SCAN_KINDS[] = "dueiwh"; /* 'i' for addresses */

static void cexpr_terms(struct terms *t, const struct pat_cexpr *ce)
{
	if (ce == NULL)
		return;
	if (ce->kind != PAT_CE_CMP) {
		cexpr_terms(t, ce->l);
		cexpr_terms(t, ce->r);
		return;
	}
	const struct pat_cmp *c = ce->cmp;
	char tag = path_tag(&c->path);
	if (tag == 0 || c->negated)
		return;
	if (c->op == PAT_OP_LIKE || c->op == PAT_OP_MATCHES) {
		char kind = tag == 'n' ? 'i' : tag;
		add_key(t, 'x', &kind, 1);
		return;
	}
	if (c->op != PAT_OP_EQ && c->op != PAT_OP_IN &&
	    !(c->op == PAT_OP_ISSUBSET && tag == 'n'))
		return;
	for (uint32_t i = 0; i < c->n_vals; i++) {
		const struct pat_const *v = &c->vals[i];
		if (v->type != PAT_C_STRING)
			continue;
		if (tag == 'n')
			add_net(t, v->u.str.p, v->u.str.len);
		else
			add_key(t, tag, v->u.str.p, v->u.str.len);
	}
}

static void oexpr_terms(struct terms *t, const struct pat_oexpr *oe)
{
	if (oe == NULL)
		return;
	if (oe->kind == PAT_OE_OBS)
		cexpr_terms(t, oe->cexpr);
	oexpr_terms(t, oe->l);
	oexpr_terms(t, oe->r);
}

/* References that say something about the object: not who made it or
 * how it is marked (every object has those). */
static bool telling_ref(const char *key)
{
	return strcmp(key, "created_by_ref") != 0 &&
	       strcmp(key, "object_marking_refs") != 0;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* The terms of version o; *keep (optional) gets an indicator's parsed
 * pattern (the caller frees it) instead of its being freed here. */
static void version_terms_keep(struct terms *t, const struct json_val *o,
			       struct pattern **keep)
{
	const struct json_val *type = json_get(o, "type");
	if (type == NULL || type->type != JSON_STRING)
		return;
	const char *ty = type->u.str;
	const struct json_val *val = json_get(o, "value");
	if (strcmp(ty, "ipv4-addr") == 0 || strcmp(ty, "ipv6-addr") == 0) {
		if (val != NULL && val->type == JSON_STRING)
			add_net(t, val->u.str, val->len);
	} else if (strcmp(ty, "domain-name") == 0) {
		add_str(t, 'd', val);
	} else if (strcmp(ty, "url") == 0) {
		add_str(t, 'u', val);
	} else if (strcmp(ty, "email-addr") == 0) {
		add_str(t, 'e', val);
	} else if (strcmp(ty, "file") == 0 || strcmp(ty, "artifact") == 0 ||
		   strcmp(ty, "x509-certificate") == 0) {
		add_hashes(t, json_get(o, "hashes"));
	} else if (is_wallet_type(ty)) {
		add_str(t, 'w', json_get(o, "address"));
		add_str(t, 'w', val);
	} else if (strcmp(ty, "indicator") == 0) {
		const struct json_val *pt = json_get(o, "pattern_type");
		const struct json_val *p = json_get(o, "pattern");
		struct pattern *pat = NULL;
		struct diag pd;
		if ((pt == NULL || json_str_eq(pt, "stix")) && p != NULL &&
		    p->type == JSON_STRING &&
		    pattern_parse(p->u.str, p->len, NULL, &pat, &pd) == ST_OK)
			oexpr_terms(t, pattern_root(pat));
		if (keep != NULL)
			*keep = pat;
		else
			pattern_free(pat);
	}
	for (uint32_t i = 0; o->type == JSON_OBJECT && i < o->len; i++) {
		const char *k = o->u.members[i].key;
		const struct json_val *v = &o->u.members[i].val;
		if (!telling_ref(k))
			continue;
		if (ends_with(k, "_ref"))
			add_str(t, 'r', v);
		else if (ends_with(k, "_refs") && v->type == JSON_ARRAY)
			for (uint32_t j = 0; j < v->len; j++)
				add_str(t, 'r', &v->u.items[j]);
	}
	const struct json_val *er = json_get(o, "external_references");
	for (uint32_t i = 0;
	     er != NULL && er->type == JSON_ARRAY && i < er->len; i++) {
		const struct json_val *src =
		    json_get(&er->u.items[i], "source_name");
		const struct json_val *eid =
		    json_get(&er->u.items[i], "external_id");
		if (src != NULL && src->type == JSON_STRING &&
		    strncmp(src->u.str, "mitre-", 6) == 0 && eid != NULL &&
		    eid->type == JSON_STRING && is_attack(eid->u.str, eid->len))
			add_key(t, 'a', eid->u.str, eid->len);
	}
}

static void version_terms(struct terms *t, const struct json_val *o)
{
	version_terms_keep(t, o, NULL);
}

int lk_terms_count(const struct json_val *o, size_t *keys, size_t *nets)
{
	struct terms t = {0};
	version_terms(&t, o);
	*keys = t.n;
	*nets = t.nn;
	bool oom = t.oom;
	terms_free(&t);
	return oom ? ST_ENOMEM : ST_OK;
}

/* The text strait search finds a version by: its name, description,
 * aliases, labels, a note's abstract and content, an opinion's
 * explanation, and every string of a language-content's contents (the
 * translations), one per line, at most TEXT_MAX bytes. */
#define TEXT_MAX 65536

static void text_add(struct buf *b, const struct json_val *v)
{
	if (v == NULL)
		return;
	if (v->type == JSON_STRING) {
		if (v->len == 0 || b->len + v->len + 1 > TEXT_MAX)
			return;
		buf_add(b, v->u.str, v->len);
		buf_addc(b, '\n');
	} else if (v->type == JSON_ARRAY) {
		for (uint32_t i = 0; i < v->len; i++)
			if (v->u.items[i].type == JSON_STRING)
				text_add(b, &v->u.items[i]);
	}
}

void lk_version_text(const struct json_val *o, struct buf *b)
{
	static const char *const keys[] = {
	    "name",   "description", "aliases", "x_mitre_aliases",
	    "labels", "abstract",    "content", "explanation",
	    "goals",  "roles",	     "sectors", NULL,
	};
	if (o == NULL || o->type != JSON_OBJECT)
		return;
	for (size_t i = 0; keys[i] != NULL; i++)
		text_add(b, json_get(o, keys[i]));
	const struct json_val *c = json_get(o, "contents");
	for (uint32_t i = 0; c != NULL && c->type == JSON_OBJECT && i < c->len;
	     i++) {
		const struct json_val *lang = &c->u.members[i].val;
		for (uint32_t k = 0; lang->type == JSON_OBJECT && k < lang->len;
		     k++)
			text_add(b, &lang->u.members[k].val);
	}
}

/* ------------------------------------------------------------------ */
/* The index file                                                       */
/* ------------------------------------------------------------------ */

static int meta_get(struct lk_index *x, const char *key, char *out, size_t cap)
{
	sqlite3_stmt *st;
	out[0] = '\0';
	if (sqlite3_prepare_v2(x->db, "SELECT value FROM meta WHERE key = ?1",
			       -1, &st, NULL) != SQLITE_OK)
		return ST_ESTORE;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(out, cap, "%s",
			 (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return ST_OK;
}

static int meta_set(struct lk_index *x, const char *key, const char *val,
		    struct diag *d)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(x->db,
			       "INSERT OR REPLACE INTO meta(key, value)"
			       " VALUES(?1, ?2)",
			       -1, &st, NULL) != SQLITE_OK)
		return sql_diag(x->db, d, x->path);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, val, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st) == SQLITE_DONE ? ST_OK
						 : sql_diag(x->db, d, x->path);
	sqlite3_finalize(st);
	return rc;
}

uint64_t lk_indexed(struct lk_index *x)
{
	char v[32];
	meta_get(x, "seq", v, sizeof(v));
	return strtoull(v, NULL, 10);
}

int lk_open(const char *home, struct store *st, struct lk_index **out,
	    struct diag *d)
{
	*out = NULL;
	struct lk_index *x = calloc(1, sizeof(*x));
	if (x == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	x->st = st;
	snprintf(x->path, sizeof(x->path), "%s/lookup.db", home);
	int rc = sql_open_private(x->path, "lookup index", migrations,
				  sizeof(migrations) / sizeof(migrations[0]),
				  &x->db, d);
	if (rc != ST_OK) {
		free(x);
		diag_prefix(d, "the lookup index (derived from the store: "
			       "delete it and the next lookup builds it "
			       "again)");
		return rc;
	}
	/* Derived data: a lost tail is indexed again. Its keys arrive in
	 * no order, so inserts touch pages all over the file: a page cache
	 * of 64 MiB keeps them off the disk. */
	sqlite3_exec(x->db,
		     "PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536",
		     NULL, NULL, NULL);
	char inc[64];
	meta_get(x, "incarnation", inc, sizeof(inc));
	const char *want = store_incarnation(st);
	if (strcmp(inc, want) != 0) {
		/* a new index, or one of another store: start again */
		rc = sqlite3_exec(x->db,
				  "BEGIN IMMEDIATE; DELETE FROM terms;"
				  " DELETE FROM nets; DELETE FROM objs;"
				  " DELETE FROM plens; DELETE FROM texts;"
				  " DELETE FROM meta;",
				  NULL, NULL, NULL) == SQLITE_OK
			 ? ST_OK
			 : sql_diag(x->db, d, x->path);
		if (rc == ST_OK)
			rc = meta_set(x, "incarnation", want, d);
		if (rc == ST_OK)
			rc = meta_set(x, "seq", "0", d);
		if (rc == ST_OK && sqlite3_exec(x->db, "COMMIT", NULL, NULL,
						NULL) != SQLITE_OK)
			rc = sql_diag(x->db, d, x->path);
		if (rc != ST_OK) {
			sqlite3_exec(x->db, "ROLLBACK", NULL, NULL, NULL);
			lk_close(x);
			return rc;
		}
	}
	*out = x;
	return ST_OK;
}

void lk_close(struct lk_index *x)
{
	if (x == NULL)
		return;
	sqlite3_stmt *all[] = {x->q_match, x->q_like,  x->ins_text, x->ins_term,
			       x->ins_net, x->ins_obj, x->ins_plen, x->q_term,
			       x->q_net,   x->q_range, x->q_obj,    x->q_plens};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		sqlite3_finalize(all[i]);
	sqlite3_close(x->db);
	free(x);
}

struct batch_ctx {
	struct lk_index *x;
	struct json_doc *doc;
	struct terms t;
	struct buf text;
	uint64_t n;
	int err;
	struct diag *d;
};

static int put_version(struct batch_ctx *b, const struct store_row *row)
{
	struct lk_index *x = b->x;
	const struct json_val *root;
	struct diag pd;
	if (json_parse(b->doc, row->body, row->body_len, 0, NULL, &root, &pd) !=
	    ST_OK)
		return ST_OK; /* the store holds valid JSON: skip, never stop */
	terms_reset(&b->t);
	version_terms(&b->t, root);
	if (b->t.oom)
		return diag_set(b->d, ST_ENOMEM, "out of memory");
	buf_reset(&b->text);
	lk_version_text(root, &b->text);
	if (b->t.n == 0 && b->t.nn == 0 && b->text.len == 0)
		return ST_OK;
	if (b->text.len > 0) {
		sqlite3_reset(x->ins_text);
		sqlite3_bind_int64(x->ins_text, 1, (int64_t)row->seq);
		sqlite3_bind_text(x->ins_text, 2, b->text.data,
				  (int)b->text.len, SQLITE_STATIC);
		if (sqlite3_step(x->ins_text) != SQLITE_DONE)
			return sql_diag(x->db, b->d, x->path);
	}
	for (size_t i = 0; i < b->t.n; i++) {
		sqlite3_reset(x->ins_term);
		sqlite3_bind_text(x->ins_term, 1, b->t.keys[i], -1,
				  SQLITE_STATIC);
		sqlite3_bind_int64(x->ins_term, 2, (int64_t)row->seq);
		if (sqlite3_step(x->ins_term) != SQLITE_DONE)
			return sql_diag(x->db, b->d, x->path);
	}
	for (size_t i = 0; i < b->t.nn; i++) {
		const struct ip_prefix *p = &b->t.nets[i];
		sqlite3_reset(x->ins_net);
		sqlite3_bind_int(x->ins_net, 1, p->v6 ? 6 : 4);
		sqlite3_bind_blob(x->ins_net, 2, p->addr, 16, SQLITE_STATIC);
		sqlite3_bind_int(x->ins_net, 3, p->len);
		sqlite3_bind_int64(x->ins_net, 4, (int64_t)row->seq);
		if (sqlite3_step(x->ins_net) != SQLITE_DONE)
			return sql_diag(x->db, b->d, x->path);
		sqlite3_reset(x->ins_plen);
		sqlite3_bind_int(x->ins_plen, 1, p->v6 ? 6 : 4);
		sqlite3_bind_int(x->ins_plen, 2, p->len);
		if (sqlite3_step(x->ins_plen) != SQLITE_DONE)
			return sql_diag(x->db, b->d, x->path);
	}
	sqlite3_reset(x->ins_obj);
	sqlite3_bind_int64(x->ins_obj, 1, (int64_t)row->seq);
	sqlite3_bind_text(x->ins_obj, 2, row->id, -1, SQLITE_STATIC);
	if (sqlite3_step(x->ins_obj) != SQLITE_DONE)
		return sql_diag(x->db, b->d, x->path);
	return ST_OK;
}

static int on_log_row(void *ctx, const struct store_row *row)
{
	struct batch_ctx *b = ctx;
	b->n++;
	int rc = put_version(b, row);
	if (rc != ST_OK) {
		b->err = rc;
		return 1;
	}
	return 0;
}

int lk_prep(struct lk_index *x, sqlite3_stmt **st, const char *sql,
	    struct diag *d)
{
	if (*st != NULL)
		return ST_OK;
	return sqlite3_prepare_v2(x->db, sql, -1, st, NULL) == SQLITE_OK
		   ? ST_OK
		   : sql_diag(x->db, d, x->path);
}

/* One transaction: up to limit versions past the index's last seq.
 * *n gets how many were read, *to the seq reached. */
static int catch_batch(struct lk_index *x, struct batch_ctx *b, size_t limit,
		       uint64_t *from, uint64_t *to, struct diag *d)
{
	int rc =
	    lk_prep(x, &x->ins_term,
		    "INSERT OR IGNORE INTO terms(key, seq) VALUES(?1, ?2)", d);
	if (rc == ST_OK)
		rc = lk_prep(x, &x->ins_net,
			     "INSERT OR IGNORE INTO nets(fam, net, plen, seq)"
			     " VALUES(?1, ?2, ?3, ?4)",
			     d);
	if (rc == ST_OK)
		rc = lk_prep(
		    x, &x->ins_obj,
		    "INSERT OR IGNORE INTO objs(seq, id) VALUES(?1, ?2)", d);
	if (rc == ST_OK)
		rc = lk_prep(x, &x->ins_plen,
			     "INSERT OR IGNORE INTO plens(fam, plen)"
			     " VALUES(?1, ?2)",
			     d);
	if (rc == ST_OK)
		rc = lk_prep(x, &x->ins_text,
			     "INSERT OR REPLACE INTO texts(rowid, body)"
			     " VALUES(?1, ?2)",
			     d);
	if (rc != ST_OK)
		return rc;
	if (sqlite3_exec(x->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK)
		return sql_diag(x->db, d, x->path);
	/* where the index stands, read inside the transaction: two
	 * processes catching up never index a version twice */
	*from = *to = lk_indexed(x);
	b->n = 0;
	b->err = ST_OK;
	rc = store_log_read(x->st, *from, limit, 0, on_log_row, b, to, d);
	if (rc == 1)
		rc = b->err;
	char v[32];
	snprintf(v, sizeof(v), "%llu", (unsigned long long)*to);
	if (rc == ST_OK && *to > *from)
		rc = meta_set(x, "seq", v, d);
	if (rc == ST_OK &&
	    sqlite3_exec(x->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		rc = sql_diag(x->db, d, x->path);
	if (rc != ST_OK)
		sqlite3_exec(x->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

int lk_catch_up_some(struct lk_index *x, size_t limit, uint64_t *added,
		     struct diag *d)
{
	*added = 0;
	struct batch_ctx b = {.x = x,
			      .doc = json_doc_new(),
			      .text = BUF_INIT(TEXT_MAX + 1),
			      .d = d};
	if (b.doc == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	uint64_t from, to;
	int rc = catch_batch(x, &b, limit, &from, &to, d);
	if (rc == ST_OK)
		*added = b.n;
	terms_free(&b.t);
	buf_free(&b.text);
	json_doc_free(b.doc);
	return rc;
}

int lk_catch_up(struct lk_index *x, lk_progress_fn progress, void *ctx,
		uint64_t *added, struct diag *d)
{
	*added = 0;
	struct batch_ctx b = {.x = x,
			      .doc = json_doc_new(),
			      .text = BUF_INIT(TEXT_MAX + 1),
			      .d = d};
	if (b.doc == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	int rc = ST_OK;
	for (;;) {
		uint64_t last = store_last_seq(x->st), from, to;
		rc = catch_batch(x, &b, BATCH, &from, &to, d);
		if (rc != ST_OK)
			break;
		*added += b.n;
		if (progress != NULL && to > from)
			progress(ctx, to, last > to ? last : to);
		if (to == from || b.n < BATCH)
			break;
	}
	terms_free(&b.t);
	buf_free(&b.text);
	json_doc_free(b.doc);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Finding                                                              */
/* ------------------------------------------------------------------ */

/* A candidate: an object id and how it was found. */
struct cand {
	char id[STIX_ID_MAX];
	enum lk_how how;
	char via[STIX_ID_MAX];
};

struct find {
	struct lk_index *x;
	const struct lk_value *v;
	struct cand *c;
	size_t n, cap;
	bool oom;
	bool capped; /* more candidates than HOPS_MAX */
};

static void cand_add(struct find *f, const char *id, enum lk_how how,
		     const char *via)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->c[i].id, id) == 0)
			return;
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 32;
		void *g = realloc(f->c, cap * sizeof(*f->c));
		if (g == NULL) {
			f->oom = true;
			return;
		}
		f->c = g;
		f->cap = cap;
	}
	struct cand *c = &f->c[f->n++];
	snprintf(c->id, sizeof(c->id), "%s", id);
	c->how = how;
	snprintf(c->via, sizeof(c->via), "%s", via ? via : "");
}

/* Ids of the versions a statement (bound, cached) returns as seq in
 * column 0; the statement is reset after. */
static int ids_of(struct find *f, sqlite3_stmt *st, enum lk_how how,
		  const char *via)
{
	struct lk_index *x = f->x;
	int src;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		if (f->n >= HOPS_MAX) {
			f->capped = true; /* reported as "more" */
			break;
		}
		const unsigned char *id = sqlite3_column_text(st, 1);
		if (id != NULL)
			cand_add(f, (const char *)id, how, via);
	}
	sqlite3_reset(st);
	(void)x;
	return src == SQLITE_ROW || src == SQLITE_DONE ? ST_OK : ST_ESTORE;
}

static int by_key(struct find *f, const char *key, enum lk_how how,
		  const char *via)
{
	sqlite3_bind_text(f->x->q_term, 1, key, -1, SQLITE_TRANSIENT);
	return ids_of(f, f->x->q_term, how, via);
}

/* Address lookups: every prefix that holds the value (one probe for
 * each prefix length the index holds), and for a prefix, every address
 * or narrower prefix inside it. */
static int by_ip(struct find *f, const struct ip_prefix *p)
{
	struct lk_index *x = f->x;
	int fam = p->v6 ? 6 : 4, bits = p->v6 ? 128 : 32;
	int plens[129], np = 0, src;
	sqlite3_bind_int(x->q_plens, 1, fam);
	while ((src = sqlite3_step(x->q_plens)) == SQLITE_ROW && np < 129)
		plens[np++] = sqlite3_column_int(x->q_plens, 0);
	sqlite3_reset(x->q_plens);
	if (src != SQLITE_DONE && src != SQLITE_ROW)
		return ST_ESTORE;
	for (int k = 0; k < np; k++) {
		int len = plens[k];
		if (len > p->len || len > bits)
			continue;
		struct ip_prefix m = *p;
		for (int i = len; i < bits; i++)
			m.addr[i >> 3] &= (uint8_t) ~(0x80u >> (i & 7));
		sqlite3_bind_int(x->q_net, 1, fam);
		sqlite3_bind_blob(x->q_net, 2, m.addr, 16, SQLITE_TRANSIENT);
		sqlite3_bind_int(x->q_net, 3, len);
		int rc = ids_of(f, x->q_net, LK_IS_VALUE, NULL);
		if (rc != ST_OK)
			return rc;
	}
	if (p->len == bits)
		return ST_OK;
	/* narrower than the prefix asked about: its range of networks */
	uint8_t hi[16];
	memcpy(hi, p->addr, 16);
	for (int i = p->len; i < bits; i++)
		hi[i >> 3] |= (uint8_t)(0x80u >> (i & 7));
	sqlite3_bind_int(x->q_range, 1, fam);
	sqlite3_bind_blob(x->q_range, 2, p->addr, 16, SQLITE_TRANSIENT);
	sqlite3_bind_blob(x->q_range, 3, hi, 16, SQLITE_TRANSIENT);
	sqlite3_bind_int(x->q_range, 4, p->len);
	return ids_of(f, x->q_range, LK_IS_VALUE, NULL);
}

static int find_prepare(struct lk_index *x, struct diag *d)
{
	int rc = lk_prep(x, &x->q_term,
			 "SELECT t.seq, o.id FROM terms t JOIN objs o"
			 " ON o.seq = t.seq WHERE t.key = ?1",
			 d);
	if (rc == ST_OK)
		rc = lk_prep(x, &x->q_net,
			     "SELECT n.seq, o.id FROM nets n JOIN objs o"
			     " ON o.seq = n.seq WHERE n.fam = ?1"
			     " AND n.net = ?2 AND n.plen = ?3",
			     d);
	if (rc == ST_OK)
		rc = lk_prep(x, &x->q_range,
			     "SELECT n.seq, o.id FROM nets n JOIN objs o"
			     " ON o.seq = n.seq WHERE n.fam = ?1 AND n.net"
			     " BETWEEN ?2 AND ?3 AND n.plen > ?4",
			     d);
	if (rc == ST_OK)
		rc = lk_prep(x, &x->q_obj, "SELECT id FROM objs WHERE seq = ?1",
			     d);
	if (rc == ST_OK)
		rc = lk_prep(
		    x, &x->q_plens,
		    "SELECT plen FROM plens WHERE fam = ?1 ORDER BY plen", d);
	return rc;
}

/* The value as the one SCO of an observation, to decide indicators. */
static int value_sco(const struct lk_value *v, const char *wallet_type,
		     struct buf *out)
{
	const char *type = NULL, *prop = "value";
	switch (v->kind) {
	case LK_IP:
		type = v->ip.v6 ? "ipv6-addr" : "ipv4-addr";
		break;
	case LK_DOMAIN:
		type = "domain-name";
		break;
	case LK_URL:
		type = "url";
		break;
	case LK_EMAIL:
		type = "email-addr";
		break;
	case LK_HASH:
		type = "file";
		break;
	case LK_WALLET:
		type = wallet_type;
		prop = "address";
		break;
	case LK_ATTACK:
		return ST_ENOTFOUND;
	}
	struct jw w;
	jw_init(&w, out);
	jw_obj_open(&w);
	jw_key(&w, "type");
	jw_str(&w, type);
	if (v->kind == LK_HASH) {
		jw_key(&w, "hashes");
		jw_obj_open(&w);
		jw_key(&w, v->hash_algo);
		jw_str(&w, v->text);
		jw_obj_close(&w);
	} else {
		jw_key(&w, prop);
		jw_str(&w, v->text);
	}
	jw_obj_close(&w);
	return jw_finish(&w);
}

/* Whether the latest version still names the value (the index may hold
 * an older version's terms), and, for an indicator, whether its pattern
 * matches the value on its own. */
struct judge {
	const struct lk_value *v;
	const char *key; /* the value's term key, or NULL for LK_IP */
	const struct json_val *sco;  /* the value as an SCO, or NULL */
	const struct json_val *sco2; /* a wallet: as the other type too */
	const char *via;	     /* LK_REFERS: the id */
	struct terms t;
	struct json_doc *doc;
};

static bool names_ip(const struct terms *t, const struct ip_prefix *p)
{
	for (size_t i = 0; i < t->nn; i++) {
		const struct ip_prefix *q = &t->nets[i];
		if (q->v6 == p->v6 && (ip_contains(q, p) || ip_contains(p, q)))
			return true;
	}
	return false;
}

static bool names_key(const struct terms *t, const char *key)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->keys[i], key) == 0)
			return true;
	return false;
}

/* -1: not (any more); else the lk_how it stands as. */
static int judge_row(struct judge *j, const struct store_row *row,
		     enum lk_how how, const struct json_val **obj)
{
	const struct json_val *root;
	struct diag pd;
	if (json_parse(j->doc, row->body, row->body_len, 0, NULL, &root, &pd) !=
	    ST_OK)
		return -1;
	*obj = root;
	terms_reset(&j->t);
	struct pattern *pat = NULL; /* an indicator's, parsed once */
	version_terms_keep(&j->t, root, &pat);
	const struct json_val *type = json_get(root, "type");
	bool indicator = json_str_eq(type, "indicator");
	int out = -1;
	if (how == LK_REFERS) {
		char key[KEY_MAX];
		snprintf(key, sizeof(key), "r:%s", j->via);
		out = names_key(&j->t, key) ? LK_REFERS : -1;
		pattern_free(pat);
		return out;
	}
	bool named = false;
	if (j->v->kind == LK_IP)
		named = names_ip(&j->t, &j->v->ip);
	else if (j->key != NULL)
		named = names_key(&j->t, j->key);
	if (!indicator) {
		pattern_free(pat);
		return named ? (j->v->kind == LK_ATTACK ? LK_ATTACK_ID
							: LK_IS_VALUE)
			     : -1;
	}
	/* an indicator: does its pattern match the value alone? */
	out = named ? LK_MENTIONS : -1;
	if (j->sco != NULL && pat != NULL) {
		struct pat_sco s[2] = {{.ref = "0", .obj = j->sco},
				       {.ref = "1", .obj = j->sco2}};
		struct pat_observation o = {.number_observed = 1,
					    .objects = s,
					    .n_objects = j->sco2 ? 2 : 1};
		struct pat_result r = {0};
		if (pattern_eval(pat, &o, 1, &r, &pd) == ST_OK && r.matched)
			out = LK_MATCHES;
		pat_result_clear(&r);
	}
	pattern_free(pat);
	if (j->v->kind == LK_ATTACK && named)
		out = LK_ATTACK_ID;
	return out;
}

int lk_on_latest(void *ctx, const struct store_row *row)
{
	struct lk_latest *l = ctx;
	buf_reset(&l->b);
	size_t idlen = strlen(row->id) + 1;
	if (buf_add(&l->b, row->id, idlen) != ST_OK ||
	    buf_add(&l->b, row->body, row->body_len) != ST_OK ||
	    buf_addc(&l->b, '\0') != ST_OK ||
	    (row->prov_len > 0 &&
	     buf_add(&l->b, row->prov, row->prov_len) != ST_OK))
		return ST_ENOMEM;
	l->row = *row;
	l->row.id = l->b.data;
	l->row.body = l->b.data + idlen;
	l->row.prov =
	    row->prov_len > 0 ? l->b.data + idlen + row->body_len + 1 : NULL;
	l->row.warnings = NULL;
	l->got = true;
	return 1;
}

struct many_ctx {
	struct lk_latest *out;
	int err;
};

static int on_held(void *ctx, size_t i, const struct store_row *row)
{
	struct many_ctx *m = ctx;
	struct lk_latest *l = &m->out[i];
	if (l->got && row->version <= l->row.version)
		return 0;
	if (lk_on_latest(l, row) != 1) {
		m->err = ST_ENOMEM;
		return 1;
	}
	return 0;
}

struct lk_latest *lk_latest_many(struct lk_index *x, const char *const *ids,
				 size_t n, struct diag *d)
{
	struct lk_latest *out = calloc(n ? n : 1, sizeof(*out));
	if (out == NULL) {
		diag_set(d, ST_ENOMEM, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		buf_init(&out[i].b, (size_t)64 << 20);
	struct many_ctx m = {.out = out};
	int rc = n > 0 ? store_held(x->st, ids, n, 0, on_held, &m, d) : ST_OK;
	if (rc == 1)
		rc = m.err;
	if (rc != ST_OK) {
		if (rc == ST_ENOMEM)
			diag_set(d, ST_ENOMEM, "out of memory");
		lk_latest_free(out, n);
		return NULL;
	}
	return out;
}

void lk_latest_free(struct lk_latest *l, size_t n)
{
	for (size_t i = 0; l != NULL && i < n; i++)
		buf_free(&l[i].b);
	free(l);
}

/* Each candidate at its latest version, judged and shown. Indicators
 * and SCOs found, their ids are followed one step (what refers to them),
 * and observed-data found that way one more (sightings of it). */
int lk_find(struct lk_index *x, const struct lk_value *v, lk_visible_fn vis,
	    void *vis_ctx, size_t max, lk_hit_fn fn, void *ctx, bool *more,
	    struct diag *d)
{
	*more = false;
	d->msg[0] = '\0';
	if (max == 0)
		max = 1000;
	struct find f = {.x = x, .v = v};
	struct judge j = {.v = v, .doc = json_doc_new()};
	struct buf sb = BUF_INIT(LK_VALUE_MAX * 2);
	struct json_doc *sdoc = json_doc_new(), *sdoc2 = json_doc_new();
	char key[KEY_MAX], sco_id[STIX_ID_MAX] = "";
	int rc = j.doc && sdoc && sdoc2
		     ? ST_OK
		     : diag_set(d, ST_ENOMEM, "out of memory");
	static const char tags[] = {'n', 'd', 'u', 'h', 'e', 'w', 'a'};
	char tag = tags[v->kind];
	if (rc == ST_OK && v->kind != LK_IP) {
		snprintf(key, sizeof(key), "%c:%s", tag, v->text);
		j.key = key;
	}
	/* the value as an SCO: for patterns, and its deterministic id */
	if (rc == ST_OK && v->kind == LK_WALLET &&
	    value_sco(v, "x-crypto-wallet", &sb) == ST_OK) {
		const struct json_val *root;
		struct diag pd;
		if (json_parse(sdoc2, sb.data, sb.len, 0, NULL, &root, &pd) ==
		    ST_OK)
			j.sco2 = root;
		buf_reset(&sb);
	}
	if (rc == ST_OK &&
	    value_sco(v, "cryptocurrency-wallet", &sb) == ST_OK) {
		const struct json_val *root;
		struct diag pd;
		if (json_parse(sdoc, sb.data, sb.len, 0, NULL, &root, &pd) ==
		    ST_OK) {
			j.sco = root;
			uint8_t u[16];
			char us[40];
			if (stix_sco_id(root, u) == ST_OK) {
				uuid_format(u, us);
				snprintf(sco_id, sizeof(sco_id), "%s--%s",
					 json_get(root, "type")->u.str, us);
			}
		}
	}
	if (rc == ST_OK)
		rc = find_prepare(x, d);
	if (rc == ST_OK)
		rc = v->kind == LK_IP ? by_ip(&f, &v->ip)
				      : by_key(&f, key, LK_IS_VALUE, NULL);
	/* indicators the index cannot hold (LIKE, MATCHES) */
	if (rc == ST_OK && v->kind != LK_ATTACK) {
		char sk = v->kind == LK_IP ? 'i' : tag;
		char xkey[4] = {'x', ':', sk, '\0'};
		if (strchr(SCAN_KINDS, sk) != NULL)
			rc = by_key(&f, xkey, LK_MATCHES, NULL);
	}
	if (rc != ST_OK && d->msg[0] == '\0')
		rc = sql_diag(x->db, d, x->path);
	if (rc == ST_OK && f.oom)
		rc = diag_set(d, ST_ENOMEM, "out of memory");

	/* Judge each at its latest version; what stands is followed: round
	 * 1 finds what refers to the value's SCO and to the indicators and
	 * SCOs of round 0, round 2 the sightings of observed-data. */
	size_t shown = 0, done = 0;
	char(*follow)[STIX_ID_MAX] = NULL;
	size_t nfollow = 0;
	for (int round = 0; rc == ST_OK && round < 3; round++) {
		for (size_t i = 0; round > 0 && rc == ST_OK && i < nfollow;
		     i++) {
			char rk[KEY_MAX];
			snprintf(rk, sizeof(rk), "r:%s", follow[i]);
			rc = by_key(&f, rk, LK_REFERS, follow[i]);
		}
		if (round == 1 && sco_id[0] != '\0' && rc == ST_OK) {
			char rk[KEY_MAX];
			snprintf(rk, sizeof(rk), "r:%s", sco_id);
			rc = by_key(&f, rk, LK_REFERS, sco_id);
		}
		free(follow);
		nfollow = 0;
		follow = calloc(f.n ? f.n : 1, sizeof(*follow));
		if (rc == ST_OK && (follow == NULL || f.oom))
			rc = diag_set(d, ST_ENOMEM, "out of memory");
		else if (rc != ST_OK && d->msg[0] == '\0')
			rc = sql_diag(x->db, d, x->path);
		/* the latest versions of this round's candidates, in one
		 * read of the store */
		size_t first = done, nr = f.n - done;
		const char **rid = calloc(nr ? nr : 1, sizeof(*rid));
		struct lk_latest *lts = NULL;
		if (rc == ST_OK && rid == NULL)
			rc = diag_set(d, ST_ENOMEM, "out of memory");
		for (size_t i = 0; rc == ST_OK && i < nr; i++)
			rid[i] = f.c[first + i].id;
		if (rc == ST_OK &&
		    (lts = lk_latest_many(x, rid, nr, d)) == NULL)
			rc = ST_ESTORE;
		for (; rc == ST_OK && done < f.n; done++) {
			struct cand *c = &f.c[done];
			struct lk_latest *lt = &lts[done - first];
			if (shown >= max) {
				*more = true;
				break;
			}
			j.via = c->via;
			if (!lt->got)
				continue;
			const struct json_val *obj = NULL;
			int verdict = judge_row(&j, &lt->row, c->how, &obj);
			if (verdict < 0 ||
			    (vis != NULL && !vis(vis_ctx, &lt->row)))
				continue;
			struct lk_hit h = {.how = (enum lk_how)verdict,
					   .via = c->how == LK_REFERS ? c->via
								      : NULL,
					   .row = &lt->row,
					   .obj = obj};
			shown++;
			if ((rc = fn(ctx, &h)) != ST_OK)
				break;
			if (verdict != LK_REFERS ||
			    strncmp(c->id, "observed-data--", 15) == 0)
				snprintf(follow[nfollow++], STIX_ID_MAX, "%s",
					 c->id);
		}
		lk_latest_free(lts, nr);
		free(rid);
		if (*more)
			break;
	}
	if (f.capped)
		*more = true;
	free(follow);
	free(f.c);
	terms_free(&j.t);
	json_doc_free(j.doc);
	json_doc_free(sdoc);
	json_doc_free(sdoc2);
	buf_free(&sb);
	return rc;
}
