/* strait: the indicator lifecycle (lifecycle.h, docs/LIFECYCLE.md). */
#include "lifecycle/lifecycle.h"

#include "common/buf.h"
#include "common/ip.h"
#include "common/json.h"
#include "common/sqlschema.h"
#include "federation/fedstate.h"
#include "lookup/lookup.h"
#include "pattern/pattern.h"
#include "pattern/warninglist.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COLLS_MAX 256

struct lc_coll {
	int64_t cid;
	char id[37];
	char alias[128];
};

struct lc {
	sqlite3 *db;
	char path[PATH_MAX];
	struct store *st;
	struct lc_config cfg;
	bool have_cfg;
	struct wl_set *wl; /* the allow-list, built on first use */
	bool wl_built;
	struct lc_coll colls[COLLS_MAX];
	size_t ncolls;
	bool colls_read;
};

static const struct sql_migration migrations[] = {
    {1, "CREATE TABLE fp(id TEXT PRIMARY KEY, indicator TEXT NOT NULL,"
	" reason TEXT NOT NULL, opinion TEXT NOT NULL,"
	" collection TEXT NOT NULL, at INTEGER NOT NULL);"
	"CREATE INDEX fp_indicator ON fp(indicator);"
	"CREATE TABLE allow(value TEXT PRIMARY KEY, kind TEXT NOT NULL,"
	" reason TEXT NOT NULL, at INTEGER NOT NULL);"},
};

/* ---- configuration ---------------------------------------------------- */

int lc_duration_parse(const char *s, int64_t *secs)
{
	if (s == NULL || !isdigit((unsigned char)*s))
		return ST_EINVAL;
	char *end;
	errno = 0;
	long long n = strtoll(s, &end, 10);
	if (errno != 0 || n <= 0 || end[0] == '\0' || end[1] != '\0')
		return ST_EINVAL;
	int64_t unit;
	switch (end[0]) {
	case 's':
		unit = 1;
		break;
	case 'm':
		unit = 60;
		break;
	case 'h':
		unit = 3600;
		break;
	case 'd':
		unit = 86400;
		break;
	case 'w':
		unit = 7 * 86400;
		break;
	default:
		return ST_EINVAL;
	}
	/* a century is plenty, and keeps every sum in range */
	if (n > 100LL * 366 * 86400 / unit)
		return ST_EINVAL;
	*secs = (int64_t)n * unit;
	return ST_OK;
}

int lc_config_parse(const char *half_life, const char *default_confidence,
		    const char *valid_for, struct lc_config *out,
		    struct diag *d)
{
	memset(out, 0, sizeof(*out));
	out->default_confidence = -1;
	if (half_life != NULL && *half_life != '\0' &&
	    lc_duration_parse(half_life, &out->half_life_s) != ST_OK)
		return diag_set(d, ST_ECONFIG,
				"lifecycle.half_life: expected a duration "
				"such as 180d (s, m, h, d, w), got '%s'",
				half_life);
	if (default_confidence != NULL && *default_confidence != '\0') {
		char *end;
		long v = strtol(default_confidence, &end, 10);
		if (*end != '\0' || v < 0 || v > 100)
			return diag_set(d, ST_ECONFIG,
					"lifecycle.default_confidence: "
					"expected 0 to 100, got '%s'",
					default_confidence);
		out->default_confidence = (int)v;
	}
	const char *p = valid_for != NULL ? valid_for : "";
	while (*p != '\0') {
		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		size_t n = strcspn(p, ", \t");
		char entry[STIX_ID_MAX + 32];
		if (n >= sizeof(entry))
			return diag_set(d, ST_ECONFIG,
					"lifecycle.default_valid_for: entry "
					"too long: '%.40s...'",
					p);
		memcpy(entry, p, n);
		entry[n] = '\0';
		p += n;
		char *eq = strrchr(entry, '=');
		int64_t secs;
		if (eq == NULL || eq == entry ||
		    lc_duration_parse(eq + 1, &secs) != ST_OK)
			return diag_set(d, ST_ECONFIG,
					"lifecycle.default_valid_for: expected "
					"TARGET=DURATION (a collection, an "
					"identity id, a partner or *, and a "
					"duration such as 90d), got '%s'",
					entry);
		if (out->n_valid_for == LC_VALID_MAX)
			return diag_set(d, ST_ECONFIG,
					"lifecycle.default_valid_for: more "
					"than %d entries",
					LC_VALID_MAX);
		*eq = '\0';
		for (size_t i = 0; i < out->n_valid_for; i++)
			if (strcmp(out->valid_for[i].target, entry) == 0)
				return diag_set(d, ST_ECONFIG,
						"lifecycle.default_valid_for: "
						"'%s' given twice",
						entry);
		struct lc_validity *v = &out->valid_for[out->n_valid_for++];
		snprintf(v->target, sizeof(v->target), "%s", entry);
		v->secs = secs;
	}
	return ST_OK;
}

int lc_decay(int confidence, int64_t age_s, int64_t half_life_s)
{
	if (confidence < 0 || half_life_s <= 0 || age_s <= 0)
		return confidence;
	double v =
	    (double)confidence * exp2(-(double)age_s / (double)half_life_s);
	return (int)floor(v + 0.5);
}

/* ---- the state file --------------------------------------------------- */

int lc_open(const char *home, struct store *st, const struct lc_config *cfg,
	    struct lc **out, struct diag *d)
{
	*out = NULL;
	struct lc *lc = calloc(1, sizeof(*lc));
	if (lc == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	snprintf(lc->path, sizeof(lc->path), "%s/lifecycle.db", home);
	lc->st = st;
	if (cfg != NULL) {
		lc->cfg = *cfg;
		lc->have_cfg = true;
	} else {
		lc->cfg.default_confidence = -1;
	}
	int rc = sql_open_private(lc->path, "lifecycle state", migrations,
				  sizeof(migrations) / sizeof(migrations[0]),
				  &lc->db, d);
	if (rc != ST_OK) {
		free(lc);
		return rc;
	}
	*out = lc;
	return ST_OK;
}

void lc_close(struct lc *lc)
{
	if (lc == NULL)
		return;
	sqlite3_close(lc->db);
	wl_set_free(lc->wl);
	free(lc);
}

static int prep(struct lc *lc, const char *sql, sqlite3_stmt **st,
		struct diag *d)
{
	if (sqlite3_prepare_v2(lc->db, sql, -1, st, NULL) != SQLITE_OK)
		return sql_diag(lc->db, d, lc->path);
	return ST_OK;
}

static void col_text(sqlite3_stmt *st, int i, char *out, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	snprintf(out, cap, "%s", t != NULL ? (const char *)t : "");
}

int lc_fp_add(struct lc *lc, const struct lc_fp *fp, struct diag *d)
{
	sqlite3_stmt *st = NULL;
	int rc = prep(lc,
		      "INSERT OR REPLACE INTO fp(id, indicator, reason, "
		      "opinion, collection, at) VALUES (?,?,?,?,?,?)",
		      &st, d);
	if (rc != ST_OK)
		return rc;
	sqlite3_bind_text(st, 1, fp->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, fp->indicator, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, fp->reason, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, fp->opinion, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, fp->collection, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, fp->at);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = sql_diag(lc->db, d, lc->path);
	sqlite3_finalize(st);
	return rc;
}

static void fp_of_row(sqlite3_stmt *st, struct lc_fp *fp)
{
	col_text(st, 0, fp->id, sizeof(fp->id));
	col_text(st, 1, fp->indicator, sizeof(fp->indicator));
	col_text(st, 2, fp->reason, sizeof(fp->reason));
	col_text(st, 3, fp->opinion, sizeof(fp->opinion));
	col_text(st, 4, fp->collection, sizeof(fp->collection));
	fp->at = sqlite3_column_int64(st, 5);
}

#define FP_COLS "id, indicator, reason, opinion, collection, at"

int lc_fp_remove(struct lc *lc, const char *id, struct lc_fp *out,
		 struct diag *d)
{
	sqlite3_stmt *st = NULL;
	int rc = prep(lc, "SELECT " FP_COLS " FROM fp WHERE id = ?", &st, d);
	if (rc != ST_OK)
		return rc;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	int s = sqlite3_step(st);
	if (s == SQLITE_ROW && out != NULL)
		fp_of_row(st, out);
	else if (s == SQLITE_DONE)
		rc = diag_set(d, ST_ENOTFOUND, "%s is not marked", id);
	else if (s != SQLITE_ROW)
		rc = sql_diag(lc->db, d, lc->path);
	sqlite3_finalize(st);
	if (rc != ST_OK)
		return rc;
	if ((rc = prep(lc, "DELETE FROM fp WHERE id = ?", &st, d)) != ST_OK)
		return rc;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = sql_diag(lc->db, d, lc->path);
	sqlite3_finalize(st);
	return rc;
}

int lc_fp_list(struct lc *lc, lc_fp_fn fn, void *ctx, struct diag *d)
{
	sqlite3_stmt *st = NULL;
	int rc = prep(lc, "SELECT " FP_COLS " FROM fp ORDER BY at, id", &st, d);
	if (rc != ST_OK)
		return rc;
	struct lc_fp *fp = malloc(sizeof(*fp));
	if (fp == NULL) {
		sqlite3_finalize(st);
		return diag_set(d, ST_ENOMEM, "out of memory");
	}
	int s;
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		fp_of_row(st, fp);
		if ((rc = fn(ctx, fp)) != 0)
			break;
	}
	if (rc == ST_OK && s != SQLITE_DONE)
		rc = sql_diag(lc->db, d, lc->path);
	free(fp);
	sqlite3_finalize(st);
	return rc;
}

bool lc_fp_find(struct lc *lc, const char *indicator, struct lc_fp *out)
{
	sqlite3_stmt *st = NULL;
	if (prep(lc,
		 "SELECT " FP_COLS " FROM fp WHERE indicator = ? "
		 "ORDER BY at LIMIT 1",
		 &st, NULL) != ST_OK)
		return false;
	sqlite3_bind_text(st, 1, indicator, -1, SQLITE_STATIC);
	bool found = sqlite3_step(st) == SQLITE_ROW;
	if (found && out != NULL)
		fp_of_row(st, out);
	sqlite3_finalize(st);
	return found;
}

/* ---- the allow-list --------------------------------------------------- */

static int allow_norm(const char *value, struct lk_value *v, struct diag *d)
{
	if (lk_value_parse(value, v, d) != ST_OK)
		return ST_EINVAL;
	if (v->kind == LK_ATTACK)
		return diag_set(d, ST_EINVAL,
				"an ATT&CK id is not a value telemetry "
				"carries: allow-list addresses, prefixes, "
				"domains, URLs, hashes, email addresses or "
				"wallets");
	return ST_OK;
}

int lc_allow_add(struct lc *lc, const char *value, const char *reason,
		 struct lc_allow *out, struct diag *d)
{
	struct lk_value *v = malloc(sizeof(*v));
	if (v == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	int rc = allow_norm(value, v, d);
	sqlite3_stmt *st = NULL;
	if (rc == ST_OK)
		rc = prep(lc,
			  "INSERT OR REPLACE INTO allow(value, kind, reason, "
			  "at) VALUES (?,?,?,?)",
			  &st, d);
	st_time now = time_now();
	if (rc == ST_OK) {
		sqlite3_bind_text(st, 1, v->text, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, lk_kind_name(v->kind), -1,
				  SQLITE_STATIC);
		sqlite3_bind_text(st, 3, reason ? reason : "", -1,
				  SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, now);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = sql_diag(lc->db, d, lc->path);
	}
	sqlite3_finalize(st);
	if (rc == ST_OK && out != NULL) {
		snprintf(out->value, sizeof(out->value), "%s", v->text);
		snprintf(out->kind, sizeof(out->kind), "%s",
			 lk_kind_name(v->kind));
		snprintf(out->reason, sizeof(out->reason), "%s",
			 reason ? reason : "");
		out->at = now;
	}
	lc->wl_built = false;
	free(v);
	return rc;
}

int lc_allow_remove(struct lc *lc, const char *value, struct diag *d)
{
	struct lk_value *v = malloc(sizeof(*v));
	if (v == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	int rc = allow_norm(value, v, d);
	sqlite3_stmt *st = NULL;
	if (rc == ST_OK)
		rc = prep(lc, "DELETE FROM allow WHERE value = ?", &st, d);
	if (rc == ST_OK) {
		sqlite3_bind_text(st, 1, v->text, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = sql_diag(lc->db, d, lc->path);
		else if (sqlite3_changes(lc->db) == 0)
			rc = diag_set(d, ST_ENOTFOUND,
				      "'%s' is not on the allow-list", v->text);
	}
	sqlite3_finalize(st);
	lc->wl_built = false;
	free(v);
	return rc;
}

int lc_allow_list(struct lc *lc, lc_allow_fn fn, void *ctx, struct diag *d)
{
	sqlite3_stmt *st = NULL;
	int rc = prep(lc,
		      "SELECT value, kind, reason, at FROM allow "
		      "ORDER BY kind, value",
		      &st, d);
	if (rc != ST_OK)
		return rc;
	struct lc_allow *a = malloc(sizeof(*a));
	if (a == NULL) {
		sqlite3_finalize(st);
		return diag_set(d, ST_ENOMEM, "out of memory");
	}
	int s;
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		col_text(st, 0, a->value, sizeof(a->value));
		col_text(st, 1, a->kind, sizeof(a->kind));
		col_text(st, 2, a->reason, sizeof(a->reason));
		a->at = sqlite3_column_int64(st, 3);
		if ((rc = fn(ctx, a)) != 0)
			break;
	}
	if (rc == ST_OK && s != SQLITE_DONE)
		rc = sql_diag(lc->db, d, lc->path);
	free(a);
	sqlite3_finalize(st);
	return rc;
}

/* The entries as three MISP warninglists (cidr, hostname, string). */
struct wl_lists {
	struct buf b[3];
	size_t n[3];
};

static int add_entry(void *ctx, const struct lc_allow *a)
{
	struct wl_lists *l = ctx;
	int i = strcmp(a->kind, "ip") == 0	 ? 0
		: strcmp(a->kind, "domain") == 0 ? 1
						 : 2;
	if (l->n[i]++ > 0 && buf_addc(&l->b[i], ',') != ST_OK)
		return ST_ENOMEM;
	struct jw w;
	jw_init(&w, &l->b[i]);
	jw_str(&w, a->value);
	return jw_finish(&w);
}

int lc_allow_warninglist(struct lc *lc, struct wl_set *wl, struct diag *d)
{
	static const char *const types[3] = {"cidr", "hostname", "string"};
	static const char *const names[3] = {LC_ALLOW_LIST_NAME " (addresses)",
					     LC_ALLOW_LIST_NAME " (domains)",
					     LC_ALLOW_LIST_NAME};
	struct wl_lists l;
	memset(&l, 0, sizeof(l));
	for (int i = 0; i < 3; i++)
		l.b[i] = (struct buf)BUF_INIT((size_t)64 << 20);
	int rc = lc_allow_list(lc, add_entry, &l, d);
	if (rc != ST_OK && d != NULL && d->msg[0] == '\0')
		diag_set(d, rc, "allow-list: out of memory");
	struct buf doc = BUF_INIT((size_t)80 << 20);
	for (int i = 0; rc == ST_OK && i < 3; i++) {
		if (l.n[i] == 0)
			continue;
		buf_reset(&doc);
		struct jw w;
		jw_init(&w, &doc);
		jw_obj_open(&w);
		jw_key(&w, "name");
		jw_str(&w, names[i]);
		jw_key(&w, "version");
		jw_int(&w, 1);
		jw_key(&w, "description");
		jw_str(&w, "values this node never alerts on or exports");
		jw_key(&w, "type");
		jw_str(&w, types[i]);
		jw_key(&w, "list");
		jw_arr_open(&w);
		jw_raw(&w, l.b[i].data, l.b[i].len);
		jw_arr_close(&w);
		jw_obj_close(&w);
		if ((rc = jw_finish(&w)) != ST_OK)
			rc = diag_set(d, rc, "allow-list: out of memory");
		else
			rc =
			    wl_set_load_mem(wl, names[i], doc.data, doc.len, d);
	}
	buf_free(&doc);
	for (int i = 0; i < 3; i++)
		buf_free(&l.b[i]);
	return rc;
}

static struct wl_set *allow_set(struct lc *lc)
{
	if (lc->wl_built)
		return lc->wl;
	wl_set_free(lc->wl);
	lc->wl = wl_set_new();
	struct diag d;
	if (lc->wl != NULL && lc_allow_warninglist(lc, lc->wl, &d) != ST_OK) {
		wl_set_free(lc->wl);
		lc->wl = NULL;
	}
	lc->wl_built = lc->wl != NULL;
	return lc->wl;
}

const char *lc_allow_hit(struct lc *lc, int wl_kind, const char *v, size_t len)
{
	struct wl_set *wl = allow_set(lc);
	return wl != NULL ? wl_check(wl, (enum wl_kind)wl_kind, v, len) : NULL;
}

/* ---- patterns --------------------------------------------------------- */

static bool is_wallet(const char *t)
{
	return strcmp(t, "cryptocurrency-wallet") == 0 ||
	       strcmp(t, "x-crypto-wallet") == 0;
}

/* The warninglist kind of a constant compared at path p, or -1 when the
 * allow-list does not apply there. */
static int path_kind(const struct pat_path *p, const char *s, size_t len)
{
	const char *t = p->type;
	const char *last =
	    p->n_steps > 0 && p->steps[p->n_steps - 1].kind == PAT_STEP_KEY
		? p->steps[p->n_steps - 1].key
		: "";
	const char *first = p->n_steps > 0 && p->steps[0].kind == PAT_STEP_KEY
				? p->steps[0].key
				: "";
	if (strcmp(t, "ipv4-addr") == 0 || strcmp(t, "ipv6-addr") == 0)
		return strcmp(last, "value") == 0 ? WL_KIND_IP : -1;
	if (strcmp(t, "domain-name") == 0)
		return strcmp(last, "value") == 0 ? WL_KIND_DOMAIN : -1;
	if (strcmp(t, "url") == 0)
		return strcmp(last, "value") == 0 ? WL_KIND_URL : -1;
	if (strcmp(t, "email-addr") == 0 || strcmp(t, "email-message") == 0)
		return strcmp(last, "value") == 0 ? WL_KIND_EMAIL : -1;
	if (strcmp(t, "file") == 0 || strcmp(t, "artifact") == 0 ||
	    strcmp(t, "x509-certificate") == 0)
		return strcmp(first, "hashes") == 0 ? WL_KIND_HASH : -1;
	if (is_wallet(t))
		return strcmp(last, "address") == 0 ||
			       strcmp(last, "value") == 0
			   ? WL_KIND_OTHER
			   : -1;
	/* through a reference: network-traffic:dst_ref.value and the like */
	if (strcmp(last, "value") == 0 && p->n_steps > 1) {
		struct ip_prefix ip;
		if (ip_parse(s, len, &ip))
			return WL_KIND_IP;
		return memchr(s, '@', len) != NULL ? WL_KIND_EMAIL
						   : WL_KIND_DOMAIN;
	}
	return -1;
}

struct walk {
	struct wl_set *wl;
	char *why; /* LC_WHY_MAX */
	bool hit;
};

static void cmp_check(struct walk *w, const struct pat_cmp *c)
{
	if (w->hit || c->negated)
		return;
	if (c->op == PAT_OP_ISSUBSET && c->n_vals == 1 &&
	    c->vals[0].type == PAT_C_STRING) {
		struct ip_prefix pfx;
		const char *s = c->vals[0].u.str.p;
		size_t n = c->vals[0].u.str.len;
		if (ip_parse(s, n, &pfx) && wl_check_prefix(w->wl, &pfx)) {
			snprintf(w->why, LC_WHY_MAX, "allow-listed: %.100s", s);
			w->hit = true;
		}
		return;
	}
	if (c->op != PAT_OP_EQ && c->op != PAT_OP_IN)
		return;
	for (uint32_t i = 0; i < c->n_vals && !w->hit; i++) {
		if (c->vals[i].type != PAT_C_STRING)
			continue;
		const char *s = c->vals[i].u.str.p;
		size_t n = c->vals[i].u.str.len;
		int k = path_kind(&c->path, s, n);
		if (k >= 0 && wl_check(w->wl, (enum wl_kind)k, s, n)) {
			snprintf(w->why, LC_WHY_MAX, "allow-listed: %.100s", s);
			w->hit = true;
		}
	}
}

static void cexpr_check(struct walk *w, const struct pat_cexpr *ce)
{
	if (ce == NULL || w->hit)
		return;
	if (ce->kind == PAT_CE_CMP)
		cmp_check(w, ce->cmp);
	cexpr_check(w, ce->l);
	cexpr_check(w, ce->r);
}

static void oexpr_check(struct walk *w, const struct pat_oexpr *oe)
{
	if (oe == NULL || w->hit)
		return;
	if (oe->kind == PAT_OE_OBS)
		cexpr_check(w, oe->cexpr);
	oexpr_check(w, oe->l);
	oexpr_check(w, oe->r);
}

/* True when the indicator's STIX pattern compares with an allow-listed
 * value (equality, IN, or a prefix overlapping an allow-listed one). */
static bool allow_listed(struct lc *lc, const struct json_val *o, char *why)
{
	struct wl_set *wl = allow_set(lc);
	if (wl == NULL || wl_set_lists(wl) == 0)
		return false;
	const struct json_val *pt = json_get(o, "pattern_type");
	const struct json_val *p = json_get(o, "pattern");
	if ((pt != NULL && !json_str_eq(pt, "stix")) || p == NULL ||
	    p->type != JSON_STRING)
		return false;
	struct pattern *pat = NULL;
	struct diag pd;
	if (pattern_parse(p->u.str, p->len, NULL, &pat, &pd) != ST_OK)
		return false;
	struct walk w = {.wl = wl, .why = why};
	oexpr_check(&w, pattern_root(pat));
	pattern_free(pat);
	return w.hit;
}

/* ---- validity --------------------------------------------------------- */

static bool ts_of(const struct json_val *o, const char *key, st_time *t)
{
	const struct json_val *v = json_get(o, key);
	return v != NULL && v->type == JSON_STRING &&
	       ts_parse(v->u.str, v->len, t, NULL) == ST_OK;
}

static int add_coll(void *ctx, const struct store_collection *c)
{
	struct lc *lc = ctx;
	if (lc->ncolls == COLLS_MAX)
		return 1;
	struct lc_coll *k = &lc->colls[lc->ncolls++];
	k->cid = c->cid;
	snprintf(k->id, sizeof(k->id), "%s", c->id);
	snprintf(k->alias, sizeof(k->alias), "%s", c->alias);
	return 0;
}

static const struct lc_validity *rule_for(struct lc *lc, const char *target)
{
	for (size_t i = 0; i < lc->cfg.n_valid_for; i++)
		if (strcmp(lc->cfg.valid_for[i].target, target) == 0)
			return &lc->cfg.valid_for[i];
	return NULL;
}

/* The default validity that applies to o: its maker's, else the
 * partner's it came from, else its collections' (the shortest), else
 * "*"'s. */
static const struct lc_validity *default_rule(struct lc *lc,
					      const struct json_val *o,
					      const struct store_row *row,
					      char *rule)
{
	const struct lc_validity *r = NULL;
	const char *by = json_get_str(o, "created_by_ref");
	if (by != NULL && (r = rule_for(lc, by)) != NULL) {
		if (rule)
			snprintf(rule, 128, "identity %.90s", by);
		return r;
	}
	if (row != NULL && row->prov != NULL) {
		struct fed_prov p;
		if (fed_prov_decode(row->prov, row->prov_len, &p) == ST_OK) {
			if (p.peer[0] != '\0' &&
			    (r = rule_for(lc, p.peer)) != NULL && rule)
				snprintf(rule, 128, "partner %s", p.peer);
			fed_prov_free(&p);
			if (r != NULL)
				return r;
		}
	}
	if (row != NULL && lc->st != NULL) {
		if (!lc->colls_read) {
			store_collection_list(lc->st, add_coll, lc);
			lc->colls_read = true;
		}
		int64_t cids[COLLS_MAX];
		size_t n = 0;
		if (store_memberships(lc->st, row->seq, cids, COLLS_MAX, &n,
				      NULL) == ST_OK) {
			for (size_t i = 0; i < n && i < COLLS_MAX; i++)
				for (size_t j = 0; j < lc->ncolls; j++) {
					const struct lc_coll *k = &lc->colls[j];
					if (k->cid != cids[i])
						continue;
					const struct lc_validity *c =
					    rule_for(lc, k->id);
					if (c == NULL && k->alias[0])
						c = rule_for(lc, k->alias);
					if (c != NULL &&
					    (r == NULL || c->secs < r->secs)) {
						r = c;
						if (rule)
							snprintf(
							    rule, 128,
							    "collection %s",
							    k->alias[0]
								? k->alias
								: k->id);
					}
				}
		}
		if (r != NULL)
			return r;
	}
	if ((r = rule_for(lc, "*")) != NULL && rule)
		snprintf(rule, 128, "every indicator");
	return r;
}

st_time lc_valid_until(struct lc *lc, const struct json_val *o,
		       const struct store_row *row, bool *by_default,
		       char *rule)
{
	st_time t;
	if (by_default)
		*by_default = false;
	if (rule)
		rule[0] = '\0';
	if (ts_of(o, "valid_until", &t))
		return t;
	if (lc->cfg.n_valid_for == 0)
		return 0;
	const struct lc_validity *r = default_rule(lc, o, row, rule);
	if (r == NULL ||
	    !(ts_of(o, "valid_from", &t) || ts_of(o, "created", &t)))
		return 0;
	if (by_default)
		*by_default = true;
	return t + r->secs * 1000000;
}

/* ---- the decisions ---------------------------------------------------- */

bool lc_idle(struct lc *lc)
{
	if (lc->cfg.n_valid_for > 0)
		return false;
	sqlite3_stmt *st = NULL;
	bool any = true; /* a failed read is not idle: ask each time */
	if (prep(lc,
		 "SELECT EXISTS(SELECT 1 FROM fp) OR "
		 "EXISTS(SELECT 1 FROM allow)",
		 &st, NULL) == ST_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		any = sqlite3_column_int(st, 0) != 0;
	sqlite3_finalize(st);
	return !any;
}

bool lc_suppressed(struct lc *lc, const struct json_val *o,
		   const struct store_row *row, st_time now,
		   char why[LC_WHY_MAX])
{
	why[0] = '\0';
	const char *id = json_get_str(o, "id");
	struct lc_fp *fp = malloc(sizeof(*fp));
	if (id != NULL && fp != NULL && lc_fp_find(lc, id, fp)) {
		snprintf(why, LC_WHY_MAX, "false positive%s%.100s",
			 fp->reason[0] ? ": " : "", fp->reason);
		free(fp);
		return true;
	}
	free(fp);
	if (allow_listed(lc, o, why))
		return true;
	bool by_default;
	char rule[128];
	st_time until = lc_valid_until(lc, o, row, &by_default, rule);
	if (until != 0 && until <= now) {
		if (by_default)
			snprintf(why, LC_WHY_MAX,
				 "expired (default validity of %.80s)", rule);
		else
			snprintf(why, LC_WHY_MAX, "expired");
		return true;
	}
	return false;
}

int64_t lc_age(const struct json_val *o, st_time now)
{
	st_time t = 0, u;
	if (ts_of(o, "modified", &u))
		t = u;
	else if (ts_of(o, "created", &u))
		t = u;
	if (ts_of(o, "valid_from", &u) && u > t)
		t = u;
	if (t == 0 || t >= now)
		return 0;
	return (now - t) / 1000000;
}

int lc_confidence(struct lc *lc, const struct json_val *o, st_time now)
{
	const struct json_val *c = json_get(o, "confidence");
	int conf = lc->cfg.default_confidence;
	if (c != NULL && c->type == JSON_NUMBER && c->u.num.is_int &&
	    c->u.num.i >= 0 && c->u.num.i <= 100)
		conf = (int)c->u.num.i;
	return lc_decay(conf, lc_age(o, now), lc->cfg.half_life_s);
}
