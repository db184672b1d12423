/*
 * strait: STIX 2.1 validation. stix_validate() looks the object's type up
 * in the tables of types.c, checks every member against its row (or the
 * rules for custom properties), then runs the type's cross-property check.
 * MUST rules are errors, SHOULD rules warnings; every issue names the
 * property path and the value. Nothing is allocated per object except when
 * the report's items array has to grow.
 */
#include "stix/stix_int.h"

#include "common/uuid.h"
#include "common/utf8.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Reports                                                              */
/* ------------------------------------------------------------------ */

void stix_report_init(struct stix_report *r)
{
	memset(r, 0, sizeof(*r));
}

void stix_report_reset(struct stix_report *r)
{
	r->n = 0;
	r->n_errors = 0;
	r->n_warnings = 0;
}

void stix_report_free(struct stix_report *r)
{
	if (r == NULL)
		return;
	free(r->items);
	stix_report_init(r);
}

static int format_one(const struct stix_issue *it, const char *id,
		      struct buf *out)
{
	if (it->path[0] != '\0')
		return buf_printf(out, "%s: %s: %s\n", id, it->path, it->msg);
	return buf_printf(out, "%s: %s\n", id, it->msg);
}

int stix_report_format(const struct stix_report *r, const char *id,
		       bool errors_only, struct buf *out)
{
	int rc = ST_OK;
	if (id == NULL || id[0] == '\0')
		id = "(no id)";
	for (uint32_t i = 0; i < r->n && rc == ST_OK; i++) {
		if (!errors_only || r->items[i].error)
			rc = format_one(&r->items[i], id, out);
	}
	return rc;
}

int stix_report_warnings_json(const struct stix_report *r, struct buf *out)
{
	struct jw w;
	char line[sizeof(r->items[0].path) + sizeof(r->items[0].msg) + 4];
	jw_init(&w, out);
	jw_arr_open(&w);
	for (uint32_t i = 0; i < r->n; i++) {
		const struct stix_issue *it = &r->items[i];
		if (it->error)
			continue;
		if (it->path[0] != '\0')
			snprintf(line, sizeof(line), "%s: %s", it->path,
				 it->msg);
		else
			snprintf(line, sizeof(line), "%s", it->msg);
		jw_str(&w, line);
	}
	jw_arr_close(&w);
	return jw_finish(&w);
}

/* ------------------------------------------------------------------ */
/* Issues and paths                                                     */
/* ------------------------------------------------------------------ */

void stix_path_key(struct vctx *c, const char *key, size_t len)
{
	if (c->depth < PATH_DEPTH) {
		c->path[c->depth].key = key;
		c->path[c->depth].len = (uint32_t)len;
	}
	c->depth++;
}

void stix_path_idx(struct vctx *c, uint32_t idx)
{
	if (c->depth < PATH_DEPTH) {
		c->path[c->depth].key = NULL;
		c->path[c->depth].idx = idx;
	}
	c->depth++;
}

void stix_path_pop(struct vctx *c)
{
	if (c->depth > 0)
		c->depth--;
}

static void render_path(const struct vctx *c, char *out, size_t n)
{
	size_t o = 0;
	unsigned d = c->depth < PATH_DEPTH ? c->depth : PATH_DEPTH;
	out[0] = '\0';
	for (unsigned i = 0; i < d && o + 1 < n; i++) {
		const struct pseg *s = &c->path[i];
		int w;
		if (s->key != NULL)
			w = snprintf(out + o, n - o, "%s%.*s", i ? "." : "",
				     (int)s->len, s->key);
		else
			w = snprintf(out + o, n - o, "[%" PRIu32 "]", s->idx);
		if (w < 0)
			break;
		o += (size_t)w;
	}
	if (o >= n)
		out[n - 1] = '\0';
}

/* Replaces bytes that do not form valid UTF-8 with '?'. */
static void utf8_clean(char *s)
{
	unsigned char *p = (unsigned char *)s;
	size_t n = strlen(s);
	for (size_t i = 0; i < n;) {
		size_t k = utf8_seq_len(p + i, n - i);
		if (k == 0) {
			p[i++] = '?';
			continue;
		}
		i += k;
	}
}

__attribute__((format(printf, 3, 0))) static void
add_issue(struct vctx *c, bool error, const char *fmt, va_list ap)
{
	struct stix_report *r = c->rep;
	if (error)
		r->n_errors++;
	else
		r->n_warnings++;
	if (r->n - c->first_item >= STIX_REPORT_MAX) {
		c->dropped++;
		return;
	}
	if (r->n == r->cap) {
		uint32_t cap = r->cap ? r->cap * 2 : 16;
		struct stix_issue *p = realloc(r->items, cap * sizeof(*p));
		if (p == NULL) {
			c->oom = true;
			return;
		}
		r->items = p;
		r->cap = cap;
	}
	struct stix_issue *it = &r->items[r->n++];
	it->error = error;
	if (error)
		c->kept_errors++;
	render_path(c, it->path, sizeof(it->path));
	vsnprintf(it->msg, sizeof(it->msg), fmt, ap);
	/* truncation may cut a character: keep the report valid UTF-8 */
	utf8_clean(it->path);
	utf8_clean(it->msg);
}

void stix_issue(struct vctx *c, bool error, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	add_issue(c, error, fmt, ap);
	va_end(ap);
}

void stix_issue_key(struct vctx *c, bool error, const char *key,
		    const char *fmt, ...)
{
	va_list ap;
	stix_path_key(c, key, strlen(key));
	va_start(ap, fmt);
	add_issue(c, error, fmt, ap);
	va_end(ap);
	stix_path_pop(c);
}

/* The summary issue for what did not fit; not counted as an issue. */
static void finish_report(struct vctx *c, uint32_t errors_before)
{
	struct stix_report *r = c->rep;
	if (c->dropped == 0 || c->oom)
		return;
	uint32_t new_errors = r->n_errors - errors_before;
	bool dropped_error = new_errors > c->kept_errors;
	if (r->n == r->cap) {
		struct stix_issue *p =
		    realloc(r->items, (r->cap + 1) * sizeof(*p));
		if (p == NULL) {
			c->oom = true;
			return;
		}
		r->items = p;
		r->cap++;
	}
	struct stix_issue *it = &r->items[r->n++];
	it->error = dropped_error;
	it->path[0] = '\0';
	snprintf(it->msg, sizeof(it->msg), "... and %" PRIu32 " more issues",
		 c->dropped);
}

const char *stix_fmt_val(const struct json_val *v, char *buf, size_t n)
{
	if (v == NULL) {
		snprintf(buf, n, "nothing");
		return buf;
	}
	switch (v->type) {
	case JSON_NULL:
		snprintf(buf, n, "null");
		break;
	case JSON_TRUE:
		snprintf(buf, n, "true");
		break;
	case JSON_FALSE:
		snprintf(buf, n, "false");
		break;
	case JSON_NUMBER:
		if (v->u.num.is_int)
			snprintf(buf, n, "%" PRId64, v->u.num.i);
		else
			snprintf(buf, n, "%.17g", v->u.num.d);
		break;
	case JSON_ARRAY:
		snprintf(buf, n, "a list of %" PRIu32, v->len);
		break;
	case JSON_OBJECT:
		snprintf(buf, n, "an object");
		break;
	case JSON_STRING: {
		size_t o = 0, max = n > 8 ? n - 6 : 0;
		buf[o++] = '"';
		for (uint32_t i = 0; i < v->len && o < max; i++) {
			unsigned char ch = (unsigned char)v->u.str[i];
			if (ch < 0x20 || ch == 0x7f)
				ch = '?';
			buf[o++] = (char)ch;
			if (i + 1 < v->len && o >= max) {
				/* do not cut a UTF-8 sequence in half */
				while (o > 1 && ((unsigned char)buf[o - 1] &
						 0xc0) == 0x80)
					o--;
				if (o > 1 && (unsigned char)buf[o - 1] >= 0xc0)
					o--;
				memcpy(buf + o, "...", 3);
				o += 3;
				break;
			}
		}
		buf[o++] = '"';
		buf[o] = '\0';
		break;
	}
	}
	return buf;
}

#define VAL(v) stix_fmt_val((v), vbuf, sizeof(vbuf))

/* ------------------------------------------------------------------ */
/* Syntax helpers                                                       */
/* ------------------------------------------------------------------ */

static bool is_lower(char ch)
{
	return ch >= 'a' && ch <= 'z';
}

static bool is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static bool is_alpha(char ch)
{
	return is_lower(ch) || (ch >= 'A' && ch <= 'Z');
}

static bool is_alnum(char ch)
{
	return is_alpha(ch) || is_digit(ch);
}

static bool is_hexch(char ch)
{
	return is_digit(ch) || (ch >= 'a' && ch <= 'f') ||
	       (ch >= 'A' && ch <= 'F');
}

bool stix_type_name_ok(const char *s, size_t len)
{
	if (len < 3 || len > 250 || !is_lower(s[0]))
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		if (!is_lower(ch) && !is_digit(ch) && ch != '-')
			return false;
		if (ch == '-' && i > 0 && s[i - 1] == '-')
			return false;
	}
	return true;
}

/* Dictionary keys (2.3): ASCII letters, digits, '-' and '_', <= 250. */
static bool dict_key_ok(const char *s, size_t len, size_t min)
{
	if (len < min || len > 250)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_')
			return false;
	}
	return true;
}

/* The shape of an RFC 5646 tag: subtags of 1-8 letters or digits. */
bool stix_lang_ok(const char *s, size_t len)
{
	size_t i = 0, sub = 0;
	if (len == 0 || len > 256)
		return false;
	while (i < len) {
		size_t st = i;
		while (i < len && is_alnum(s[i]))
			i++;
		size_t sl = i - st;
		if (sl < 1 || sl > 8)
			return false;
		if (sub == 0) {
			bool single =
			    sl == 1 && (s[st] == 'x' || s[st] == 'X' ||
					s[st] == 'i' || s[st] == 'I');
			for (size_t k = st; k < i; k++) {
				if (!is_alpha(s[k]))
					return false;
			}
			if (!single && sl < 2)
				return false;
			if (single && i == len)
				return false;
		}
		sub++;
		if (i == len)
			break;
		if (s[i] != '-' || i + 1 == len)
			return false;
		i++;
	}
	return true;
}

static bool uuid_rfc4122(const uint8_t u[16])
{
	int ver = u[6] >> 4;
	return (u[8] & 0xc0) == 0x80 && ver >= 1 && ver <= 8;
}

/* Lowercase hex digit values, -1 for anything else. */
static const int8_t hexval[256] = {
    ['0'] = 1,	['1'] = 2,  ['2'] = 3,	['3'] = 4,  ['4'] = 5,	['5'] = 6,
    ['6'] = 7,	['7'] = 8,  ['8'] = 9,	['9'] = 10, ['a'] = 11, ['b'] = 12,
    ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
}; /* value + 1; 0 is not a digit */

/* The 36-character lowercase form, as uuid_parse(strict) but inline:
 * this runs for every identifier of every object. */
static bool uuid_lower(const char *s, uint8_t out[16])
{
	const unsigned char *p = (const unsigned char *)s;
	if (p[8] != '-' || p[13] != '-' || p[18] != '-' || p[23] != '-')
		return false;
	for (int i = 0, j = 0; i < 16; i++) {
		if (j == 8 || j == 13 || j == 18 || j == 23)
			j++;
		int hi = hexval[p[j]], lo = hexval[p[j + 1]];
		if (hi == 0 || lo == 0)
			return false;
		out[i] = (uint8_t)((hi - 1) << 4 | (lo - 1));
		j += 2;
	}
	return true;
}

/* Splits "type--uuid" without copying; *tl gets the type's length. */
static bool id_view(const char *id, size_t len, size_t *tl, uint8_t uuid[16])
{
	if (id == NULL || len < 3 + 2 + UUID_STRLEN)
		return false;
	*tl = len - UUID_STRLEN - 2;
	return *tl <= STIX_TYPE_MAX - 1 && id[*tl] == '-' &&
	       id[*tl + 1] == '-' && stix_type_name_ok(id, *tl) &&
	       uuid_lower(id + *tl + 2, uuid);
}

int stix_parse_id(const char *id, size_t len, char type[STIX_TYPE_MAX],
		  uint8_t uuid[16])
{
	size_t tl;
	if (!id_view(id, len, &tl, uuid))
		return ST_EINVAL;
	memcpy(type, id, tl);
	type[tl] = '\0';
	return ST_OK;
}

static bool base64_ok(const char *s, size_t len)
{
	if (len % 4 != 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		if (is_alnum(ch) || ch == '+' || ch == '/')
			continue;
		if (ch == '=' &&
		    (i + 1 == len || (i + 2 == len && s[i + 1] == '=')))
			continue;
		return false;
	}
	return true;
}

/* 0: ok, 1: uppercase digits (SHOULD), -1: not hex of even length. */
static int hex_check(const char *s, size_t len)
{
	int upper = 0;
	if (len % 2 != 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (!is_hexch(s[i]))
			return -1;
		if (s[i] >= 'A' && s[i] <= 'F')
			upper = 1;
	}
	return upper;
}

static bool str_is(const struct json_val *v, const char *s)
{
	return json_str_eq(v, s);
}

static bool lower_hyphen(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if ((s[i] >= 'A' && s[i] <= 'Z') || s[i] == ' ' || s[i] == '_')
			return false;
	}
	return true;
}

/* ------------------------------------------------------------------ */
/* Frames                                                               */
/* ------------------------------------------------------------------ */

static int find_linear(const struct pspec *const *props, unsigned n,
		       const char *key, size_t klen)
{
	for (unsigned k = 0; k < n; k++) {
		if (props[k]->len == klen &&
		    memcmp(props[k]->name, key, klen) == 0)
			return (int)k;
	}
	return -1;
}

int stix_fidx(const struct frame *f, const char *name)
{
	size_t len = strlen(name);
	if (f->ix != NULL)
		return stix_pindex_find(f->ix, name, len);
	return find_linear(f->props, f->n, name, len);
}

const struct json_val *stix_fval(const struct frame *f, const char *name)
{
	int i = stix_fidx(f, name);
	if (i < 0 || !(f->seen & ((uint64_t)1 << i)))
		return NULL;
	return f->val[i];
}

static bool fhas(const struct frame *f, const char *name)
{
	return stix_fval(f, name) != NULL;
}

static bool fts(const struct frame *f, const char *name, st_time *t)
{
	int i = stix_fidx(f, name);
	if (i < 0 || !(f->ts_ok & ((uint64_t)1 << i)))
		return false;
	*t = f->ts[i];
	return true;
}

static void frame_init(struct frame *f, const struct json_val *o,
		       const struct pspec *const *props, unsigned n)
{
	f->o = o;
	f->props = props;
	f->n = n;
	f->seen = 0;
	f->ts_ok = 0;
	f->tid = -1;
	f->top = false;
	f->ix = NULL;
}

/* ------------------------------------------------------------------ */
/* Values                                                               */
/* ------------------------------------------------------------------ */

static void check_struct(struct vctx *c, const struct json_val *o, int sidx);
static void check_extensions(struct vctx *c, struct frame *f,
			     const struct json_val *v);
static void check_container(struct vctx *c, const struct json_val *v);
static void check_lc_contents(struct vctx *c, const struct json_val *v);

static bool want_string(struct vctx *c, const struct json_val *v)
{
	if (v->type == JSON_STRING)
		return true;
	stix_issue(c, true, "must be a string, not %s",
		   json_type_name(v->type));
	return false;
}

/* A list property: an array with at least one item (2.12). */
static bool want_list(struct vctx *c, const struct json_val *v)
{
	if (v->type != JSON_ARRAY) {
		stix_issue(c, true, "must be a list, not %s",
			   json_type_name(v->type));
		return false;
	}
	if (v->len == 0) {
		stix_issue(c, true,
			   "empty list (omit an optional property instead)");
		return false;
	}
	return true;
}

static bool want_dict(struct vctx *c, const struct json_val *v)
{
	if (v->type != JSON_OBJECT) {
		stix_issue(c, true, "must be a dictionary, not %s",
			   json_type_name(v->type));
		return false;
	}
	if (v->len == 0) {
		stix_issue(c, true,
			   "empty dictionary (omit an optional "
			   "property instead)");
		return false;
	}
	return true;
}

static bool check_ts(struct vctx *c, const struct json_val *v, int rule,
		     st_time *out)
{
	char vbuf[80];
	int frac = 0;
	if (!want_string(c, v))
		return false;
	if (ts_parse(v->u.str, v->len, out, &frac) != ST_OK) {
		stix_issue(c, true, "not a STIX timestamp (%s)", VAL(v));
		return false;
	}
	if (rule == TS_MS && frac < 3) {
		stix_issue(c, true,
			   "must be precise to the millisecond, with at "
			   "least 3 fractional digits (%s)",
			   VAL(v));
		return false;
	}
	if (rule == TS_SEC && frac != 0) {
		stix_issue(c, true,
			   "must be precise to the second, with no "
			   "fractional digits (%s)",
			   VAL(v));
		return false;
	}
	return true;
}

static void check_number(struct vctx *c, const struct json_val *v, bool integer,
			 int range)
{
	char vbuf[80];
	const struct range *r = &stix_ranges[range];
	if (v->type != JSON_NUMBER) {
		stix_issue(c, true, "must be %s, not %s",
			   integer ? "an integer" : "a number",
			   json_type_name(v->type));
		return;
	}
	if (integer && !v->u.num.is_int) {
		stix_issue(c, true, "must be an integer (%s)", VAL(v));
		return;
	}
	double d = integer ? (double)v->u.num.i : v->u.num.d;
	if (integer && (v->u.num.i > 9007199254740991LL ||
			v->u.num.i < -9007199254740991LL)) {
		stix_issue(c, true, "integer outside +-(2^53-1) (%s)", VAL(v));
		return;
	}
	if (d < r->min || d > r->max)
		stix_issue(c, true, "%s is outside %.15g..%.15g", VAL(v),
			   r->min, r->max);
}

static int marking_level(struct vctx *c, const char *id, size_t len)
{
	int lv = tlp_of_marking_id(id, len);
	if (lv < 0)
		c->info->unknown_marking = true;
	else if (lv > c->tlp)
		c->tlp = lv;
	return lv;
}

static const struct json_val *member(const struct json_val *o, const char *key,
				     size_t klen)
{
	for (uint32_t i = 0; i < o->len; i++) {
		const struct json_member *m = &o->u.members[i];
		if (m->klen == klen && memcmp(m->key, key, klen) == 0)
			return &m->val;
	}
	return NULL;
}

/* Is a reference to an object of type t (or an unknown, custom type)
 * allowed by the reference set? */
static bool ref_type_ok(const struct refset *rs, const char *t, size_t tl)
{
	int tid = stix_type_find(t, tl);
	if (rs->cls & RC_ANY)
		return !(tl == 6 && memcmp(t, "bundle", 6) == 0);
	if (tid < 0) {
		/* a custom type may be an SDO, SCO or SRO */
		return (rs->cls & (RC_SDO | RC_SCO | RC_SRO)) != 0 &&
		       !(tl == 6 && memcmp(t, "bundle", 6) == 0);
	}
	if (rs->mask & TBIT(tid))
		return true;
	switch (stix_types[tid].kind) {
	case STIX_SDO:
		return (rs->cls & RC_SDO) != 0;
	case STIX_SCO:
		return (rs->cls & RC_SCO) != 0;
	case STIX_SRO:
		return (rs->cls & RC_SRO) != 0;
	default:
		return false;
	}
}

/* A reference inside the deprecated observable container: a local key. */
static void check_local_ref(struct vctx *c, const struct json_val *v, int rset)
{
	char vbuf[80];
	const struct refset *rs = &stix_refsets[rset];
	const struct json_val *t = member(c->container, v->u.str, v->len);
	if (t == NULL) {
		stix_issue(c, true,
			   "%s is not a key of the observable "
			   "container",
			   VAL(v));
		return;
	}
	const struct json_val *ty =
	    t->type == JSON_OBJECT ? member(t, "type", 4) : NULL;
	if (ty != NULL && ty->type == JSON_STRING &&
	    !ref_type_ok(rs, ty->u.str, ty->len))
		stix_issue(c, true, "%s refers to a %.*s; it must refer to %s",
			   VAL(v), (int)(ty->len > 64 ? 64 : ty->len),
			   ty->u.str, rs->what);
}

static void check_ref(struct vctx *c, const struct json_val *v, int rset)
{
	char vbuf[80];
	uint8_t u[16];
	size_t tl;
	const struct refset *rs = &stix_refsets[rset];
	if (!want_string(c, v))
		return;
	if (c->container != NULL && rset != RS_MARKING) {
		check_local_ref(c, v, rset);
		return;
	}
	if (!id_view(v->u.str, v->len, &tl, u)) {
		stix_issue(c, true, "not a STIX identifier (%s)", VAL(v));
		return;
	}
	if (!uuid_rfc4122(u)) {
		stix_issue(c, true, "the UUID of %s is not an RFC 4122 UUID",
			   VAL(v));
		return;
	}
	if (!ref_type_ok(rs, v->u.str, tl)) {
		stix_issue(c, true, "%s must refer to %s", VAL(v), rs->what);
		return;
	}
	if (rset == RS_MARKING)
		marking_level(c, v->u.str, v->len);
}

static void check_vocab(struct vctx *c, const struct json_val *v, int voc,
			bool closed)
{
	char vbuf[80];
	const struct vocab *vo = &stix_vocabs[voc];
	if (!want_string(c, v))
		return;
	if (v->len > 0 && stix_vocab_has(voc, v->u.str, v->len))
		return;
	if (closed)
		stix_issue(c, true, "%s is not in %s", VAL(v), vo->name);
	else if (!lower_hyphen(v->u.str, v->len) || v->len == 0)
		stix_issue(c, false,
			   "%s is not in %s and is not lowercase with "
			   "hyphens",
			   VAL(v), vo->name);
	else
		stix_issue(c, false, "%s is not in %s", VAL(v), vo->name);
}

struct hash_algo {
	const char *name;
	uint8_t len; /* hex digits, 0: other format */
};

static const struct hash_algo hash_algos[] = {
    {"MD5", 32},      {"SHA-1", 40},	 {"SHA-256", 64}, {"SHA-512", 128},
    {"SHA3-256", 64}, {"SHA3-512", 128}, {"SSDEEP", 0},	  {"TLSH", 0},
};

static bool ssdeep_ok(const char *s, size_t len)
{
	size_t i = 0;
	int part = 0;
	while (i < len && is_digit(s[i]))
		i++;
	if (i == 0 || i == len || s[i] != ':')
		return false;
	for (i++; i < len; i++) {
		if (s[i] == ':') {
			if (++part > 1)
				return false;
			continue;
		}
		if (s[i] == ',')
			break; /* ",filename" as ssdeep prints it */
		if (!is_alnum(s[i]) && s[i] != '+' && s[i] != '/')
			return false;
	}
	return part == 1;
}

static bool tlsh_ok(const char *s, size_t len)
{
	if (len == 72 && s[0] == 'T' && s[1] == '1') {
		s += 2;
		len -= 2;
	}
	return len == 70 && hex_check(s, len) >= 0;
}

static void check_hashes(struct vctx *c, const struct json_val *v)
{
	char vbuf[80];
	if (!want_dict(c, v))
		return;
	for (uint32_t i = 0; i < v->len; i++) {
		const struct json_member *m = &v->u.members[i];
		const struct json_val *h = &m->val;
		const struct hash_algo *ha = NULL;
		stix_path_key(c, m->key, m->klen);
		if (!dict_key_ok(m->key, m->klen, 3)) {
			stix_issue(c, true,
				   "hash name must be 3-250 ASCII "
				   "letters, digits, '-' or '_'");
			goto next;
		}
		if (!want_string(c, h))
			goto next;
		for (size_t k = 0; k < sizeof(hash_algos) / sizeof(*hash_algos);
		     k++) {
			if (strlen(hash_algos[k].name) == m->klen &&
			    memcmp(hash_algos[k].name, m->key, m->klen) == 0)
				ha = &hash_algos[k];
		}
		if (ha == NULL) {
			stix_issue(c, false,
				   "hash name is not in hash-algorithm-ov");
		} else if (ha->len != 0) {
			if (h->len != ha->len ||
			    hex_check(h->u.str, h->len) < 0)
				stix_issue(c, true,
					   "not a %s hash (%u hex digits): %s",
					   ha->name, ha->len, VAL(h));
		} else if (ha->name[1] == 'S' ? !ssdeep_ok(h->u.str, h->len)
					      : !tlsh_ok(h->u.str, h->len)) {
			stix_issue(c, true, "not a %s hash: %s", ha->name,
				   VAL(h));
		}
	next:
		stix_path_pop(c);
	}
}

static void check_dict(struct vctx *c, const struct json_val *v, int rule)
{
	char vbuf[80];
	if (!want_dict(c, v))
		return;
	for (uint32_t i = 0; i < v->len; i++) {
		const struct json_member *m = &v->u.members[i];
		const struct json_val *d = &m->val;
		stix_path_key(c, m->key, m->klen);
		if (!dict_key_ok(m->key, m->klen, 1))
			stix_issue(c, true,
				   "dictionary key must be 1-250 ASCII "
				   "letters, digits, '-' or '_'");
		switch (rule) {
		case DV_STR:
			want_string(c, d);
			break;
		case DV_INT:
			check_number(c, d, true, R_ANY);
			break;
		case DV_INT_OR_STR:
			if (d->type != JSON_STRING)
				check_number(c, d, true, R_ANY);
			break;
		case DV_STR_LIST:
			if (d->type == JSON_STRING) {
				stix_issue(c, false,
					   "value should be a list "
					   "of strings, not a "
					   "string");
			} else if (want_list(c, d)) {
				for (uint32_t k = 0; k < d->len; k++) {
					stix_path_idx(c, k);
					want_string(c, &d->u.items[k]);
					stix_path_pop(c);
				}
			}
			break;
		default:
			if (d->type == JSON_NULL)
				stix_issue(c, true,
					   "null is not a STIX value "
					   "(%s)",
					   VAL(d));
			break;
		}
		stix_path_pop(c);
	}
}

/* Checks one value against its row; records timestamps in the frame. */
static void check_value(struct vctx *c, struct frame *f, int idx,
			const struct json_val *v)
{
	char vbuf[80];
	const struct pspec *p = f->props[idx];
	switch (p->kind) {
	case PK_SKIP:
		break;
	case PK_STR:
		want_string(c, v);
		break;
	case PK_STR_LIST:
	case PK_REFS:
	case PK_OV_LIST:
	case PK_ENUM_LIST:
	case PK_LANG_LIST:
	case PK_OBJ_LIST:
		if (!want_list(c, v))
			break;
		for (uint32_t i = 0; i < v->len; i++) {
			const struct json_val *it = &v->u.items[i];
			stix_path_idx(c, i);
			switch (p->kind) {
			case PK_STR_LIST:
				want_string(c, it);
				break;
			case PK_REFS:
				check_ref(c, it, p->aux);
				break;
			case PK_OV_LIST:
				check_vocab(c, it, p->aux, false);
				break;
			case PK_ENUM_LIST:
				check_vocab(c, it, p->aux, true);
				break;
			case PK_LANG_LIST:
				if (want_string(c, it) &&
				    !stix_lang_ok(it->u.str, it->len))
					stix_issue(c, true,
						   "not an RFC 5646 "
						   "language tag "
						   "(%s)",
						   VAL(it));
				break;
			default:
				check_struct(c, it, p->aux);
				break;
			}
			stix_path_pop(c);
		}
		break;
	case PK_TS:
		if (check_ts(c, v, p->aux, &f->ts[idx]))
			f->ts_ok |= (uint64_t)1 << idx;
		break;
	case PK_BOOL:
		if (v->type != JSON_TRUE && v->type != JSON_FALSE)
			stix_issue(c, true, "must be true or false (%s)",
				   VAL(v));
		break;
	case PK_INT:
		check_number(c, v, true, p->aux);
		break;
	case PK_FLOAT:
		check_number(c, v, false, p->aux);
		break;
	case PK_REF:
		check_ref(c, v, p->aux);
		break;
	case PK_OV:
		check_vocab(c, v, p->aux, false);
		break;
	case PK_ENUM:
		check_vocab(c, v, p->aux, true);
		break;
	case PK_HASHES:
		check_hashes(c, v);
		break;
	case PK_HEX:
		if (!want_string(c, v))
			break;
		switch (hex_check(v->u.str, v->len)) {
		case -1:
			stix_issue(c, true,
				   "not an even number of hex digits "
				   "(%s)",
				   VAL(v));
			break;
		case 1:
			stix_issue(c, false,
				   "hex digits should be lowercase "
				   "(%s)",
				   VAL(v));
			break;
		default:
			break;
		}
		break;
	case PK_BIN:
		if (want_string(c, v) && !base64_ok(v->u.str, v->len))
			stix_issue(c, true, "not base64 (RFC 4648): %s",
				   VAL(v));
		break;
	case PK_DICT:
		check_dict(c, v, p->aux);
		break;
	case PK_LANG:
		if (want_string(c, v) && !stix_lang_ok(v->u.str, v->len))
			stix_issue(c, true, "not an RFC 5646 language tag (%s)",
				   VAL(v));
		break;
	case PK_OBJ:
		check_struct(c, v, p->aux);
		break;
	case PK_ANYOBJ:
		if (v->type != JSON_OBJECT)
			stix_issue(c, true, "must be an object, not %s",
				   json_type_name(v->type));
		break;
	case PK_EXTENSIONS:
		check_extensions(c, f, v);
		break;
	case PK_CONTAINER:
		check_container(c, v);
		break;
	case PK_LC_CONTENTS:
		check_lc_contents(c, v);
		break;
	case PK_RESERVED:
		stix_issue(c, true, "reserved property: it must not be used");
		break;
	default:
		break;
	}
}

/* ------------------------------------------------------------------ */
/* Nested structures                                                    */
/* ------------------------------------------------------------------ */

static void check_struct(struct vctx *c, const struct json_val *o, int sidx)
{
	char vbuf[80];
	const struct sspec *s = &stix_structs[sidx];
	const struct pspec *props[64];
	struct frame f;
	if (o->type != JSON_OBJECT) {
		stix_issue(c, true, "must be a %s object, not %s", s->name,
			   json_type_name(o->type));
		return;
	}
	/* rows in table order; lookups are linear over these few rows */
	for (unsigned i = 0; i < s->n; i++)
		props[i] = &s->props[i];
	frame_init(&f, o, props, s->n);
	for (uint32_t i = 0; i < o->len; i++) {
		const struct json_member *m = &o->u.members[i];
		int idx = find_linear(props, s->n, m->key, m->klen);
		stix_path_key(c, m->key, m->klen);
		if (idx < 0) {
			if (m->val.type == JSON_NULL)
				stix_issue(c, true, "null is not a STIX value");
			else
				stix_issue(c, false, "not a property of %s",
					   s->name);
		} else {
			f.seen |= (uint64_t)1 << idx;
			f.val[idx] = &m->val;
			check_value(c, &f, idx, &m->val);
		}
		stix_path_pop(c);
	}
	for (unsigned k = 0; k < s->n; k++) {
		if ((props[k]->flags & F_REQ) && !(f.seen & ((uint64_t)1 << k)))
			stix_issue_key(c, true, props[k]->name,
				       "required property of %s is missing",
				       s->name);
	}
	if ((s->flags & SS_AT_LEAST_ONE) && f.seen == 0)
		stix_issue(c, true,
			   "at least one property of %s must be "
			   "present (%s)",
			   s->name, VAL(o));
	if (s->check != NULL)
		s->check(c, &f);
}

/* ------------------------------------------------------------------ */
/* Custom properties, extensions, containers, language content          */
/* ------------------------------------------------------------------ */

static const char *const reserved_names[] = {
    "severity",
    "username",
    "phone_number",
    "action",
};

static bool prop_name_ok(const char *s, size_t len)
{
	if (len < 3 || len > 250)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!is_lower(s[i]) && !is_digit(s[i]) && s[i] != '_')
			return false;
	}
	return true;
}

static bool ends_with(const char *s, size_t len, const char *suf)
{
	size_t sl = strlen(suf);
	return len >= sl && memcmp(s + len - sl, suf, sl) == 0;
}

static void check_custom_prop(struct vctx *c, const struct json_member *m)
{
	char vbuf[80];
	const struct json_val *v = &m->val;
	for (size_t i = 0; i < sizeof(reserved_names) / sizeof(*reserved_names);
	     i++) {
		if (strlen(reserved_names[i]) == m->klen &&
		    memcmp(reserved_names[i], m->key, m->klen) == 0) {
			stix_issue(c, true,
				   "reserved property name: it must "
				   "not be used");
			return;
		}
	}
	if (!prop_name_ok(m->key, m->klen)) {
		stix_issue(c, true,
			   "custom property name must be 3-250 "
			   "characters of a-z, 0-9 and '_'");
		return;
	}
	if (!is_lower(m->key[0]))
		stix_issue(c, true, "property name must begin with a letter");
	if (!c->custom_type && !c->toplevel_ext &&
	    !(m->klen > 2 && m->key[0] == 'x' && m->key[1] == '_'))
		stix_issue(c, false,
			   "custom property name should start with "
			   "\"x_\"");
	if (v->type == JSON_NULL) {
		stix_issue(c, true, "null is not a STIX value");
	} else if (ends_with(m->key, m->klen, "_ref")) {
		check_ref(c, v, RS_ANY);
	} else if (ends_with(m->key, m->klen, "_refs") && want_list(c, v)) {
		for (uint32_t i = 0; i < v->len; i++) {
			stix_path_idx(c, i);
			check_ref(c, &v->u.items[i], RS_ANY);
			stix_path_pop(c);
		}
	}
	(void)vbuf;
}

#define EXTDEF_PREFIX "extension-definition--"
#define EXTDEF_PREFIX_LEN (sizeof(EXTDEF_PREFIX) - 1)

static void check_extdef_instance(struct vctx *c, struct frame *f,
				  const struct json_val *v)
{
	char vbuf[80];
	const struct json_val *et = member(v, "extension_type", 14);
	if (et == NULL) {
		stix_issue(c, true,
			   "extension_type is required for an "
			   "extension-definition extension");
	} else if (et->type != JSON_STRING ||
		   !stix_vocab_has(V_EXTENSION_TYPE, et->u.str, et->len)) {
		stix_issue_key(c, true, "extension_type",
			       "%s is not in extension-type-enum", VAL(et));
	} else if (et->len == 7 && memcmp(et->u.str, "new-s", 5) == 0 &&
		   f->tid >= 0 && f->tid < T__SPEC) {
		stix_issue_key(c, true, "extension_type",
			       "%s cannot be used on %s, a type of the "
			       "specification",
			       VAL(et), stix_types[f->tid].name);
	}
	for (uint32_t i = 0; i < v->len; i++) {
		const struct json_member *m = &v->u.members[i];
		if (m->klen == 14 && memcmp(m->key, "extension_type", 14) == 0)
			continue;
		stix_path_key(c, m->key, m->klen);
		if (!prop_name_ok(m->key, m->klen))
			stix_issue(c, true,
				   "extension property name must be "
				   "3-250 characters of a-z, 0-9 "
				   "and '_'");
		else if (m->val.type == JSON_NULL)
			stix_issue(c, true, "null is not a STIX value");
		stix_path_pop(c);
	}
}

static void check_extensions(struct vctx *c, struct frame *f,
			     const struct json_val *v)
{
	const struct tspec *ts = f->tid >= 0 ? &stix_types[f->tid] : NULL;
	if (!want_dict(c, v))
		return;
	for (uint32_t i = 0; i < v->len; i++) {
		const struct json_member *m = &v->u.members[i];
		const struct json_val *e = &m->val;
		const struct extspec *pre = NULL;
		uint8_t u[16];
		stix_path_key(c, m->key, m->klen);
		if (!dict_key_ok(m->key, m->klen, 1)) {
			stix_issue(c, true,
				   "extension name must be 1-250 ASCII "
				   "letters, digits, '-' or '_'");
			goto next;
		}
		for (unsigned k = 0; ts != NULL && k < ts->nexts; k++) {
			if (strlen(ts->exts[k].name) == m->klen &&
			    memcmp(ts->exts[k].name, m->key, m->klen) == 0)
				pre = &ts->exts[k];
		}
		if (e->type != JSON_OBJECT) {
			stix_issue(c, true,
				   "an extension must be an object, "
				   "not %s",
				   json_type_name(e->type));
			goto next;
		}
		if (m->klen >= EXTDEF_PREFIX_LEN - 2 &&
		    memcmp(m->key, EXTDEF_PREFIX, EXTDEF_PREFIX_LEN - 2) == 0) {
			if (m->klen != EXTDEF_PREFIX_LEN + UUID_STRLEN ||
			    memcmp(m->key, EXTDEF_PREFIX, EXTDEF_PREFIX_LEN) ||
			    uuid_parse(m->key + EXTDEF_PREFIX_LEN, UUID_STRLEN,
				       true, u) != ST_OK) {
				stix_issue(c, true,
					   "not a valid "
					   "extension-definition id");
				goto next;
			}
			check_extdef_instance(c, f, e);
		} else if (pre != NULL) {
			if (member(e, "extension_type", 14) != NULL)
				stix_issue(c, false,
					   "a predefined extension has no "
					   "extension_type");
			check_struct(c, e, pre->sspec);
		} else {
			stix_issue(c, false,
				   "neither an extension-definition "
				   "id nor a predefined extension "
				   "of %s",
				   ts != NULL ? ts->name : "this type");
		}
	next:
		stix_path_pop(c);
	}
}

static void check_typed(struct vctx *c, const struct json_val *o, int tid,
			bool top);

static void check_container(struct vctx *c, const struct json_val *v)
{
	char vbuf[80];
	if (!want_dict(c, v))
		return;
	stix_issue(c, false,
		   "the observable container is deprecated; use "
		   "object_refs");
	if (c->container != NULL)
		return; /* no containers in containers */
	c->container = v;
	for (uint32_t i = 0; i < v->len; i++) {
		const struct json_member *m = &v->u.members[i];
		const struct json_val *o = &m->val;
		const struct json_val *t;
		stix_path_key(c, m->key, m->klen);
		if (o->type != JSON_OBJECT) {
			stix_issue(c, true,
				   "must be a cyber-observable "
				   "object, not %s",
				   json_type_name(o->type));
		} else if ((t = member(o, "type", 4)) == NULL ||
			   t->type != JSON_STRING) {
			stix_issue_key(c, true, "type",
				       "required string is "
				       "missing");
		} else {
			int tid = stix_type_find(t->u.str, t->len);
			if (tid >= 0 && stix_types[tid].kind != STIX_SCO)
				stix_issue_key(c, true, "type",
					       "%s is not a cyber-observable "
					       "type",
					       VAL(t));
			else if (tid < 0 &&
				 !stix_type_name_ok(t->u.str, t->len))
				stix_issue_key(c, true, "type",
					       "not a valid type name (%s)",
					       VAL(t));
			else
				check_typed(c, o, tid >= 0 ? tid : T_CUSTOM_SCO,
					    false);
		}
		stix_path_pop(c);
	}
	c->container = NULL;
}

static void check_translation(struct vctx *c, const struct json_val *v,
			      unsigned depth)
{
	if (depth > 32)
		return;
	switch (v->type) {
	case JSON_STRING:
		break;
	case JSON_ARRAY:
		for (uint32_t i = 0; i < v->len; i++) {
			stix_path_idx(c, i);
			check_translation(c, &v->u.items[i], depth + 1);
			stix_path_pop(c);
		}
		break;
	case JSON_OBJECT:
		for (uint32_t i = 0; i < v->len; i++) {
			const struct json_member *m = &v->u.members[i];
			stix_path_key(c, m->key, m->klen);
			check_translation(c, &m->val, depth + 1);
			stix_path_pop(c);
		}
		break;
	default:
		stix_issue(c, true,
			   "a translation must be a string, list or "
			   "object, not %s",
			   json_type_name(v->type));
		break;
	}
}

static void check_lc_contents(struct vctx *c, const struct json_val *v)
{
	if (!want_dict(c, v))
		return;
	for (uint32_t i = 0; i < v->len; i++) {
		const struct json_member *m = &v->u.members[i];
		stix_path_key(c, m->key, m->klen);
		if (!stix_lang_ok(m->key, m->klen))
			stix_issue(c, true,
				   "key must be an RFC 5646 language "
				   "tag");
		if (m->val.type != JSON_OBJECT)
			stix_issue(c, true,
				   "must be an object of translated "
				   "properties, not %s",
				   json_type_name(m->val.type));
		else
			check_translation(c, &m->val, 0);
		stix_path_pop(c);
	}
}

/* ------------------------------------------------------------------ */
/* Typed objects                                                        */
/* ------------------------------------------------------------------ */

/* "b" must not be earlier than "a" (strictly later when strict). */
struct order_rule {
	int8_t tid; /* -1: any type */
	bool strict;
	const char *a, *b;
};

static const struct order_rule order_rules[] = {
    {-1, false, "created", "modified"},
    {T_CAMPAIGN, false, "first_seen", "last_seen"},
    {T_INFRASTRUCTURE, false, "first_seen", "last_seen"},
    {T_INTRUSION_SET, false, "first_seen", "last_seen"},
    {T_MALWARE, false, "first_seen", "last_seen"},
    {T_THREAT_ACTOR, false, "first_seen", "last_seen"},
    {T_SIGHTING, false, "first_seen", "last_seen"},
    {T_INDICATOR, true, "valid_from", "valid_until"},
    {T_OBSERVED_DATA, false, "first_observed", "last_observed"},
    {T_RELATIONSHIP, true, "start_time", "stop_time"},
    {T_NETWORK_TRAFFIC, false, "start", "end"},
};

static void check_order(struct vctx *c, struct frame *f)
{
	char ba[TS_BUFSZ], bb[TS_BUFSZ];
	for (size_t i = 0; i < sizeof(order_rules) / sizeof(*order_rules);
	     i++) {
		const struct order_rule *r = &order_rules[i];
		st_time ta, tb;
		if (r->tid >= 0 && r->tid != f->tid)
			continue;
		if (!fts(f, r->a, &ta) || !fts(f, r->b, &tb))
			continue;
		if (tb > ta || (tb == ta && !r->strict))
			continue;
		ts_format(ta, ba);
		ts_format(tb, bb);
		stix_issue_key(c, true, r->b, "must be %s %s (%s < %s)",
			       r->strict ? "later than" : "at or after", r->a,
			       bb, ba);
	}
}

/* Common properties that do not apply to this kind of object. */
static void check_not_applicable(struct vctx *c, struct frame *f,
				 const struct json_member *m)
{
	const struct tspec *ts = &stix_types[f->tid];
	bool versioning = m->klen >= 7 && (memcmp(m->key, "created", 7) == 0 ||
					   memcmp(m->key, "modified", 8) == 0 ||
					   memcmp(m->key, "revoked", 7) == 0);
	if (m->klen == 8 && memcmp(m->key, "defanged", 8) == 0)
		stix_issue(c, true,
			   "defanged must not be used on objects "
			   "other than SCOs");
	else if (ts->kind == STIX_SCO && versioning)
		stix_issue(c, false,
			   "SCOs are not versioned; versioning "
			   "properties do not apply");
	else
		stix_issue(c, false,
			   "common property that does not apply to "
			   "%s",
			   ts->name);
}

static void check_typed(struct vctx *c, const struct json_val *o, int tid,
			bool top)
{
	char vbuf[80];
	const struct tspec *ts = &stix_types[tid];
	const struct pindex *ix = stix_type_index(tid);
	struct frame f;
	const struct json_val *saved_root = c->root;
	frame_init(&f, o, ix->p, ix->n);
	f.ix = ix;
	f.tid = tid;
	f.top = top;
	c->root = o; /* what granular marking selectors start from */
	for (uint32_t i = 0; i < o->len; i++) {
		const struct json_member *m = &o->u.members[i];
		int idx = stix_pindex_find(ix, m->key, m->klen);
		stix_path_key(c, m->key, m->klen);
		if (idx >= 0) {
			f.seen |= (uint64_t)1 << idx;
			f.val[idx] = &m->val;
			check_value(c, &f, idx, &m->val);
		} else if (stix_is_common_name(m->key, m->klen)) {
			check_not_applicable(c, &f, m);
		} else {
			check_custom_prop(c, m);
		}
		stix_path_pop(c);
	}
	for (uint64_t miss = ix->required & ~f.seen; miss != 0;
	     miss &= miss - 1) {
		int k = __builtin_ctzll(miss);
		stix_issue_key(c, true, ix->p[k]->name,
			       "required property is missing");
	}
	if (ts->flags & TF_AT_LEAST_ONE) {
		bool any = false;
		for (unsigned k = 0; k < ts->n && !any; k++)
			any = fhas(&f, ts->props[k].name);
		if (!any && !fhas(&f, "extensions"))
			stix_issue(c, true,
				   "at least one %s property must be "
				   "present",
				   ts->name);
	}
	check_order(c, &f);
	if (ts->check != NULL)
		ts->check(c, &f);
	if (top) {
		const struct json_val *v;
		st_time t;
		if (fts(&f, "created", &t))
			c->info->created = t;
		if (fts(&f, "modified", &t))
			c->info->modified = t;
		v = stix_fval(&f, "revoked");
		c->info->revoked = v != NULL && v->type == JSON_TRUE;
	}
	c->root = saved_root;
	(void)vbuf;
}

/* ------------------------------------------------------------------ */
/* Per-type rules                                                       */
/* ------------------------------------------------------------------ */

static bool prefix_digits(const struct json_val *v, const char *prefix,
			  size_t min_digits)
{
	size_t pl = strlen(prefix);
	if (v->len < pl + min_digits || memcmp(v->u.str, prefix, pl) != 0)
		return false;
	for (size_t i = pl; i < v->len; i++) {
		if (!is_digit(v->u.str[i]))
			return false;
	}
	return true;
}

void stix_chk_extref(struct vctx *c, struct frame *f)
{
	char vbuf[80];
	const struct json_val *src = stix_fval(f, "source_name");
	const struct json_val *ext = stix_fval(f, "external_id");
	if (!fhas(f, "description") && !fhas(f, "url") && ext == NULL)
		stix_issue(c, true,
			   "one of description, url or external_id "
			   "must be present");
	if (ext == NULL || ext->type != JSON_STRING)
		return;
	if (str_is(src, "capec") && !prefix_digits(ext, "CAPEC-", 1))
		stix_issue_key(c, true, "external_id",
			       "a capec external_id must be CAPEC-[id] (%s)",
			       VAL(ext));
	if (str_is(src, "cve")) {
		bool ok = ext->len >= 13 &&
			  memcmp(ext->u.str, "CVE-", 4) == 0 &&
			  ext->u.str[8] == '-';
		for (size_t i = 4; ok && i < ext->len; i++)
			ok = i == 8 || is_digit(ext->u.str[i]);
		if (!ok)
			stix_issue_key(c, true, "external_id",
				       "a cve external_id must be the exact "
				       "CVE identifier (%s)",
				       VAL(ext));
	}
}

void stix_chk_kcp(struct vctx *c, struct frame *f)
{
	char vbuf[80];
	static const char *const names[] = {"kill_chain_name", "phase_name"};
	for (int i = 0; i < 2; i++) {
		const struct json_val *v = stix_fval(f, names[i]);
		if (v != NULL && v->type == JSON_STRING &&
		    !lower_hyphen(v->u.str, v->len))
			stix_issue_key(c, false, names[i],
				       "should be lowercase with hyphens (%s)",
				       VAL(v));
	}
}

/* Does the selector (7.2.3) name content present in the object? */
static bool selector_ok(const struct json_val *root, const char *s, size_t len)
{
	const struct json_val *cur = root;
	size_t i = 0;
	if (len == 0)
		return false;
	while (i <= len) {
		size_t st = i;
		while (i < len && s[i] != '.')
			i++;
		size_t cl = i - st;
		if (cl == 0)
			return false;
		if (s[st] == '[') {
			uint64_t n = 0;
			if (cl < 3 || s[st + cl - 1] != ']' ||
			    cur->type != JSON_ARRAY)
				return false;
			for (size_t k = st + 1; k < st + cl - 1; k++) {
				if (!is_digit(s[k]) || n > 100000000)
					return false;
				n = n * 10 + (uint64_t)(s[k] - '0');
			}
			if (n >= cur->len)
				return false;
			cur = &cur->u.items[n];
		} else {
			if (cur->type != JSON_OBJECT)
				return false;
			cur = member(cur, s + st, cl);
			if (cur == NULL)
				return false;
		}
		if (i == len)
			return true;
		i++; /* the '.' */
		if (i == len)
			return false;
	}
	return true;
}

void stix_chk_granular(struct vctx *c, struct frame *f)
{
	char vbuf[80];
	bool lang = fhas(f, "lang"), ref = fhas(f, "marking_ref");
	const struct json_val *sel = stix_fval(f, "selectors");
	if (lang == ref)
		stix_issue(c, true,
			   "exactly one of lang and marking_ref must "
			   "be present");
	if (sel == NULL || sel->type != JSON_ARRAY || c->root == NULL)
		return;
	for (uint32_t i = 0; i < sel->len; i++) {
		const struct json_val *s = &sel->u.items[i];
		if (s->type != JSON_STRING)
			continue;
		if (!selector_ok(c->root, s->u.str, s->len)) {
			stix_path_key(c, "selectors", 9);
			stix_path_idx(c, i);
			stix_issue(c, true,
				   "selector %s does not select "
				   "content present in the object",
				   VAL(s));
			stix_path_pop(c);
			stix_path_pop(c);
		}
	}
}

void stix_chk_mime_part(struct vctx *c, struct frame *f)
{
	if (!fhas(f, "body") && !fhas(f, "body_raw_ref"))
		stix_issue(c, true,
			   "one of body or body_raw_ref must be "
			   "present");
}

void stix_chk_pebinary(struct vctx *c, struct frame *f)
{
	int pe = stix_fidx(f, "pe_type");
	if ((f->seen & ~((uint64_t)1 << pe)) == 0)
		stix_issue(c, true,
			   "at least one property other than pe_type "
			   "must be present");
}

void stix_chk_http(struct vctx *c, struct frame *f)
{
	char vbuf[80];
	const struct json_val *m = stix_fval(f, "request_method");
	if (m != NULL && m->type == JSON_STRING &&
	    !lower_hyphen(m->u.str, m->len))
		stix_issue_key(c, false, "request_method",
			       "should be lowercase (%s)", VAL(m));
}

void stix_chk_location(struct vctx *c, struct frame *f)
{
	char vbuf[80];
	bool lat = fhas(f, "latitude"), lon = fhas(f, "longitude");
	const struct json_val *cc = stix_fval(f, "country");
	if (!fhas(f, "region") && !fhas(f, "country") && !(lat && lon))
		stix_issue(c, true,
			   "one of region, country, or latitude and "
			   "longitude must be present");
	if (lat != lon)
		stix_issue_key(c, true, lat ? "longitude" : "latitude",
			       "latitude and longitude must be present "
			       "together");
	if (fhas(f, "precision") && !(lat && lon))
		stix_issue_key(c, true, "precision",
			       "precision requires latitude and longitude");
	if (cc != NULL && cc->type == JSON_STRING &&
	    (cc->len != 2 || !is_alpha(cc->u.str[0]) ||
	     !is_alpha(cc->u.str[1])))
		stix_issue_key(c, false, "country",
			       "should be an ISO 3166-1 alpha-2 code (%s)",
			       VAL(cc));
}

void stix_chk_malware(struct vctx *c, struct frame *f)
{
	const struct json_val *fam = stix_fval(f, "is_family");
	if (fam != NULL && fam->type == JSON_TRUE && !fhas(f, "name"))
		stix_issue_key(c, true, "name",
			       "a malware family must have a name");
}

void stix_chk_malware_analysis(struct vctx *c, struct frame *f)
{
	char vbuf[80];
	const struct json_val *p = stix_fval(f, "product");
	if (!fhas(f, "result") && !fhas(f, "analysis_sco_refs"))
		stix_issue(c, true,
			   "one of result or analysis_sco_refs must "
			   "be present");
	if (p != NULL && p->type == JSON_STRING &&
	    !lower_hyphen(p->u.str, p->len))
		stix_issue_key(c, false, "product",
			       "should be lowercase with hyphens (%s)", VAL(p));
}

void stix_chk_observed_data(struct vctx *c, struct frame *f)
{
	bool objs = fhas(f, "objects");
	const struct json_val *refs = stix_fval(f, "object_refs");
	if (objs && refs != NULL)
		stix_issue(c, true,
			   "objects and object_refs must not both be "
			   "present");
	else if (!objs && refs == NULL)
		stix_issue(c, true,
			   "one of objects or object_refs must be "
			   "present");
	if (refs != NULL && refs->type == JSON_ARRAY && refs->len > 0) {
		bool sco = false;
		for (uint32_t i = 0; i < refs->len && !sco; i++) {
			const struct json_val *r = &refs->u.items[i];
			char type[STIX_TYPE_MAX];
			uint8_t u[16];
			if (r->type != JSON_STRING ||
			    stix_parse_id(r->u.str, r->len, type, u) != ST_OK)
				continue;
			int tid = stix_type_find(type, strlen(type));
			sco = tid < 0 || stix_types[tid].kind == STIX_SCO;
		}
		if (!sco)
			stix_issue_key(c, true, "object_refs",
				       "must contain at least one SCO "
				       "reference");
	}
}

void stix_chk_relationship(struct vctx *c, struct frame *f)
{
	char vbuf[80];
	const struct json_val *rt = stix_fval(f, "relationship_type");
	if (rt == NULL || rt->type != JSON_STRING)
		return;
	bool ok = rt->len > 0;
	for (uint32_t i = 0; ok && i < rt->len; i++)
		ok = is_lower(rt->u.str[i]) || is_digit(rt->u.str[i]) ||
		     rt->u.str[i] == '-';
	if (!ok)
		stix_issue_key(c, true, "relationship_type",
			       "must be ASCII a-z, 0-9 and '-' (%s)", VAL(rt));
}

static bool url_ok(const char *s, size_t len)
{
	size_t i = 0;
	if (len == 0 || !is_alpha(s[0]))
		return false;
	while (i < len &&
	       (is_alnum(s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.'))
		i++;
	if (i == len || s[i] != ':' || i + 1 == len)
		return false;
	for (; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch <= 0x20 || ch == 0x7f || ch == '"' || ch == '<' ||
		    ch == '>' || ch == '\\' || ch == '^' || ch == '`' ||
		    ch == '{' || ch == '|' || ch == '}')
			return false;
	}
	return true;
}

void stix_chk_artifact(struct vctx *c, struct frame *f)
{
	char vbuf[80];
	bool bin = fhas(f, "payload_bin");
	const struct json_val *url = stix_fval(f, "url");
	if (bin && url != NULL)
		stix_issue_key(c, true, "url",
			       "payload_bin and url must not both be present");
	else if (!bin && url == NULL)
		stix_issue(c, true,
			   "one of payload_bin or url must be "
			   "present");
	if (url != NULL && !fhas(f, "hashes"))
		stix_issue_key(c, true, "hashes",
			       "hashes must be present when url is");
	if (url != NULL && url->type == JSON_STRING &&
	    !url_ok(url->u.str, url->len))
		stix_issue_key(c, true, "url", "not a valid URL (%s)",
			       VAL(url));
	if (fhas(f, "decryption_key") && !fhas(f, "encryption_algorithm"))
		stix_issue_key(c, true, "decryption_key",
			       "must not be present without "
			       "encryption_algorithm");
}

static const struct json_val *value_str(struct frame *f)
{
	const struct json_val *v = stix_fval(f, "value");
	return v != NULL && v->type == JSON_STRING ? v : NULL;
}

void stix_chk_domain_name(struct vctx *c, struct frame *f)
{
	char vbuf[80];
	const struct json_val *v = value_str(f);
	if (v == NULL)
		return;
	const char *s = v->u.str;
	size_t len = v->len, lab = 0;
	bool ok = len > 0 && len <= 254 && s[0] != '.';
	for (size_t i = 0; ok && i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '.') {
			ok = lab > 0;
			lab = 0;
			continue;
		}
		lab++;
		ok = lab <= 63 &&
		     (ch >= 0x80 || is_alnum((char)ch) || ch == '-' ||
		      ch == '_' ||
		      (ch == '*' && i == 0 && (len == 1 || s[1] == '.')));
	}
	if (!ok)
		stix_issue_key(c, true, "value",
			       "not a domain name (RFC 1034): %s", VAL(v));
}

void stix_chk_email_addr(struct vctx *c, struct frame *f)
{
	char vbuf[80];
	const struct json_val *v = value_str(f);
	if (v == NULL)
		return;
	const char *at = memchr(v->u.str, '@', v->len);
	bool ok = at != NULL && at != v->u.str && at + 1 < v->u.str + v->len;
	for (uint32_t i = 0; ok && i < v->len; i++) {
		unsigned char ch = (unsigned char)v->u.str[i];
		ok = ch > 0x20 && ch != '<' && ch != '>' && ch != 0x7f;
	}
	if (!ok)
		stix_issue_key(c, true, "value",
			       "not an addr-spec (RFC 5322), without display "
			       "name: %s",
			       VAL(v));
}

void stix_chk_email_message(struct vctx *c, struct frame *f)
{
	const struct json_val *mp = stix_fval(f, "is_multipart");
	if (mp == NULL)
		return;
	if (mp->type == JSON_TRUE && fhas(f, "body"))
		stix_issue_key(c, true, "body",
			       "must not be used when is_multipart is true");
	if (mp->type == JSON_FALSE && fhas(f, "body_multipart"))
		stix_issue_key(c, true, "body_multipart",
			       "must not be used when is_multipart is false");
}

void stix_chk_file(struct vctx *c, struct frame *f)
{
	if (!fhas(f, "hashes") && !fhas(f, "name"))
		stix_issue(c, true, "one of hashes or name must be present");
}

/* Address with an optional "/prefix" of at most maxlen. */
static bool cidr_ok(const struct json_val *v, int af, int maxlen)
{
	char a[64];
	const char *slash = memchr(v->u.str, '/', v->len);
	size_t al = slash ? (size_t)(slash - v->u.str) : v->len;
	unsigned char bin[16];
	if (al == 0 || al >= sizeof(a))
		return false;
	memcpy(a, v->u.str, al);
	a[al] = '\0';
	if (inet_pton(af, a, bin) != 1)
		return false;
	if (slash != NULL) {
		const char *p = slash + 1, *end = v->u.str + v->len;
		int n = 0;
		if (p == end || end - p > 3)
			return false;
		for (; p < end; p++) {
			if (!is_digit(*p))
				return false;
			n = n * 10 + (*p - '0');
		}
		if (n > maxlen)
			return false;
	}
	return true;
}

void stix_chk_ipv4(struct vctx *c, struct frame *f)
{
	char vbuf[80];
	const struct json_val *v = value_str(f);
	if (v != NULL && !cidr_ok(v, AF_INET, 32))
		stix_issue_key(c, true, "value",
			       "not an IPv4 address or CIDR block: %s", VAL(v));
}

void stix_chk_ipv6(struct vctx *c, struct frame *f)
{
	char vbuf[80];
	const struct json_val *v = value_str(f);
	if (v != NULL && !cidr_ok(v, AF_INET6, 128))
		stix_issue_key(c, true, "value",
			       "not an IPv6 address or CIDR block: %s", VAL(v));
}

void stix_chk_mac(struct vctx *c, struct frame *f)
{
	char vbuf[80];
	const struct json_val *v = value_str(f);
	if (v == NULL)
		return;
	bool ok = v->len == 17;
	for (uint32_t i = 0; ok && i < 17; i++) {
		char ch = v->u.str[i];
		ok = i % 3 == 2 ? ch == ':'
				: (is_digit(ch) || (ch >= 'a' && ch <= 'f'));
	}
	if (!ok)
		stix_issue_key(c, true, "value",
			       "must be a lowercase, colon-delimited MAC-48 "
			       "address: %s",
			       VAL(v));
}

void stix_chk_network_traffic(struct vctx *c, struct frame *f)
{
	char vbuf[80];
	const struct json_val *act = stix_fval(f, "is_active");
	const struct json_val *pr = stix_fval(f, "protocols");
	if (!fhas(f, "src_ref") && !fhas(f, "dst_ref"))
		stix_issue(c, true,
			   "one of src_ref or dst_ref must be "
			   "present");
	if (act != NULL && act->type == JSON_TRUE && fhas(f, "end"))
		stix_issue_key(c, true, "end",
			       "must not be present when is_active is true");
	if (pr == NULL || pr->type != JSON_ARRAY)
		return;
	for (uint32_t i = 0; i < pr->len; i++) {
		const struct json_val *p = &pr->u.items[i];
		if (p->type != JSON_STRING || lower_hyphen(p->u.str, p->len))
			continue;
		stix_path_key(c, "protocols", 9);
		stix_path_idx(c, i);
		stix_issue(c, false, "protocol names should be lowercase (%s)",
			   VAL(p));
		stix_path_pop(c);
		stix_path_pop(c);
	}
}

void stix_chk_url(struct vctx *c, struct frame *f)
{
	char vbuf[80];
	const struct json_val *v = value_str(f);
	if (v != NULL && !url_ok(v->u.str, v->len))
		stix_issue_key(c, true, "value", "not a URL (RFC 3986): %s",
			       VAL(v));
}

void stix_chk_registry_key(struct vctx *c, struct frame *f)
{
	char vbuf[80];
	static const char *const short_hives[] = {"HKLM", "HKCU", "HKCR", "HKU",
						  "HKCC"};
	const struct json_val *k = stix_fval(f, "key");
	if (k == NULL || k->type != JSON_STRING)
		return;
	const char *bs = memchr(k->u.str, '\\', k->len);
	size_t hl = bs ? (size_t)(bs - k->u.str) : k->len;
	for (size_t i = 0; i < sizeof(short_hives) / sizeof(*short_hives);
	     i++) {
		if (strlen(short_hives[i]) != hl)
			continue;
		bool same = true;
		for (size_t j = 0; j < hl && same; j++)
			same = (k->u.str[j] & ~0x20) == short_hives[i][j];
		if (same)
			stix_issue_key(c, true, "key",
				       "the hive must be spelled out, not "
				       "abbreviated (%s)",
				       VAL(k));
	}
}

void stix_chk_extension_definition(struct vctx *c, struct frame *f)
{
	char vbuf[80];
	const struct json_val *types = stix_fval(f, "extension_types");
	const struct json_val *props = stix_fval(f, "extension_properties");
	bool toplevel = false;
	for (uint32_t i = 0;
	     types != NULL && types->type == JSON_ARRAY && i < types->len; i++)
		toplevel |=
		    str_is(&types->u.items[i], "toplevel-property-extension");
	if (props != NULL && !toplevel)
		stix_issue_key(c, true, "extension_properties",
			       "only allowed when extension_types has "
			       "toplevel-property-extension");
	if (props == NULL && toplevel)
		stix_issue_key(c, false, "extension_properties",
			       "should list the properties a "
			       "toplevel-property-extension adds");
	if (props == NULL || props->type != JSON_ARRAY)
		return;
	for (uint32_t i = 0; i < props->len; i++) {
		const struct json_val *p = &props->u.items[i];
		if (p->type != JSON_STRING || prop_name_ok(p->u.str, p->len))
			continue;
		stix_path_key(c, "extension_properties", 20);
		stix_path_idx(c, i);
		stix_issue(c, true, "not a valid property name (%s)", VAL(p));
		stix_path_pop(c);
		stix_path_pop(c);
	}
}

/* ------------------------------------------------------------------ */
/* Entry point                                                          */
/* ------------------------------------------------------------------ */

/* What the extensions say about the object before the property loop. */
static int scan_extensions(struct vctx *c, const struct json_val *ext)
{
	int kind = -1;
	if (ext == NULL || ext->type != JSON_OBJECT)
		return kind;
	for (uint32_t i = 0; i < ext->len; i++) {
		const struct json_val *e = &ext->u.members[i].val;
		const struct json_val *et;
		if (e->type != JSON_OBJECT ||
		    (et = member(e, "extension_type", 14)) == NULL)
			continue;
		if (str_is(et, "toplevel-property-extension"))
			c->toplevel_ext = true;
		else if (str_is(et, "new-sco"))
			kind = T_CUSTOM_SCO;
		else if (str_is(et, "new-sro"))
			kind = T_CUSTOM_SRO;
		else if (str_is(et, "new-sdo") && kind < 0)
			kind = T_CUSTOM_SDO;
	}
	return kind;
}

static void check_id(struct vctx *c, const struct json_val *id, int tid)
{
	char vbuf[80];
	char type[STIX_TYPE_MAX];
	uint8_t u[16];
	struct stix_info *info = c->info;
	if (id->type != JSON_STRING) {
		stix_issue(c, true, "must be a string, not %s",
			   json_type_name(id->type));
		return;
	}
	if (stix_parse_id(id->u.str, id->len, type, u) != ST_OK) {
		stix_issue(c, true,
			   "not an identifier <type>--<uuid> with a "
			   "lowercase UUID (%s)",
			   VAL(id));
		return;
	}
	if (strcmp(type, info->type) != 0) {
		stix_issue(c, true,
			   "the type part of %s is not the object's "
			   "type \"%s\"",
			   VAL(id), info->type);
		return;
	}
	if (!uuid_rfc4122(u)) {
		stix_issue(c, true, "not an RFC 4122 UUID (%s)", VAL(id));
		return;
	}
	memcpy(info->id, id->u.str, id->len);
	info->id[id->len] = '\0';
	memcpy(info->uuid, u, 16);
	if (stix_types[tid].kind != STIX_SCO && uuid_version(u) != 4)
		stix_issue(c, false,
			   "SDOs, SROs and meta objects should use "
			   "UUIDv4 (%s is version %d)",
			   VAL(id), uuid_version(u));
}

/* The deterministic identifier of an SCO, compared or generated. */
static void sco_identity(struct vctx *c, const struct json_val *obj, int tid,
			 bool has_id)
{
	struct stix_info *info = c->info;
	uint8_t u[16];
	char us[UUID_STRLEN + 1];
	int rc = stix_sco_uuid5(obj, tid, u);
	if (rc < 0 && rc != ST_EINVAL && rc != ST_ERANGE) {
		c->oom = rc == ST_ENOMEM;
		return;
	}
	if (has_id) {
		if (rc == 1 && memcmp(u, info->uuid, 16) != 0) {
			uuid_format(u, us);
			stix_issue_key(c, false, "id",
				       "not the deterministic id %s--%s of "
				       "the ID contributing properties",
				       info->type, us);
		}
		return;
	}
	if (rc != 1)
		uuid_v4(u); /* nothing contributes: UUIDv4 as 2.9 says */
	uuid_format(u, us);
	snprintf(info->id, sizeof(info->id), "%s--%s", info->type, us);
	memcpy(info->uuid, u, 16);
	info->id_generated = true;
}

int stix_validate(const struct json_val *obj, struct stix_info *info,
		  struct stix_report *rep)
{
	char vbuf[80];
	struct vctx c;
	const struct json_val *type = NULL, *id = NULL, *sv = NULL, *ext = NULL;
	uint32_t errors_before = rep->n_errors;
	int tid;

	memset(info, 0, sizeof(*info));
	info->tlp = TLP_NONE;
	memset(&c, 0, sizeof(c));
	c.root = obj;
	c.info = info;
	c.rep = rep;
	c.first_item = rep->n;
	c.tlp = -1;

	if (obj == NULL || obj->type != JSON_OBJECT) {
		stix_issue(&c, true, "a STIX object must be a JSON object");
		goto out;
	}
	for (uint32_t i = 0; i < obj->len; i++) {
		const struct json_member *m = &obj->u.members[i];
		if (m->klen == 4 && memcmp(m->key, "type", 4) == 0)
			type = &m->val;
		else if (m->klen == 2 && memcmp(m->key, "id", 2) == 0)
			id = &m->val;
		else if (m->klen == 12 &&
			 memcmp(m->key, "spec_version", 12) == 0)
			sv = &m->val;
		else if (m->klen == 10 && memcmp(m->key, "extensions", 10) == 0)
			ext = &m->val;
	}

	if (type == NULL || type->type != JSON_STRING) {
		stix_issue_key(&c, true, "type",
			       type ? "must be a string"
				    : "required property "
				      "is missing");
		goto out;
	}
	tid = stix_type_find(type->u.str, type->len);
	if (tid < 0 && type->len == 6 &&
	    memcmp(type->u.str, "bundle", 6) == 0) {
		info->kind = STIX_BUNDLE;
		memcpy(info->type, "bundle", 7);
		stix_issue(&c, true,
			   "a bundle is not a STIX object: validate "
			   "the objects it holds");
		goto out;
	}
	if (tid < 0 && !stix_type_name_ok(type->u.str, type->len)) {
		stix_issue_key(&c, true, "type",
			       "not a valid type name: 3-250 characters of "
			       "a-z, 0-9 and '-', starting with a letter, no "
			       "\"--\" (%s)",
			       VAL(type));
		goto out;
	}
	memcpy(info->type, type->u.str, type->len);
	info->type[type->len] = '\0';
	{
		int custom_kind = scan_extensions(&c, ext);
		if (tid < 0) {
			tid = custom_kind >= 0 ? custom_kind : T_CUSTOM_SDO;
			info->custom_type = true;
			c.custom_type = true;
		}
	}
	info->kind = (enum stix_kind)stix_types[tid].kind;

	/* id */
	stix_path_key(&c, "id", 2);
	if (id != NULL)
		check_id(&c, id, tid);
	else if (info->kind != STIX_SCO || tid >= T__SPEC)
		stix_issue(&c, true, "required property is missing");
	stix_path_pop(&c);
	if (info->kind == STIX_SCO && tid < T__SPEC &&
	    (id == NULL || info->id[0] != '\0'))
		sco_identity(&c, obj, tid, id != NULL);

	/* spec_version */
	if (sv == NULL) {
		if (info->kind != STIX_SCO)
			stix_issue_key(&c, true, "spec_version",
				       "required property is missing");
	} else if (!json_str_eq(sv, "2.1")) {
		stix_issue_key(&c, true, "spec_version", "must be \"2.1\" (%s)",
			       VAL(sv));
	}

	check_typed(&c, obj, tid, true);

	info->versioned = info->kind == STIX_SDO || info->kind == STIX_SRO ||
			  tid == T_LANGUAGE_CONTENT ||
			  tid == T_EXTENSION_DEFINITION;
	if (info->versioned)
		info->version = info->modified ? info->modified : info->created;
	info->tlp = c.tlp >= 0 ? (enum tlp)c.tlp : TLP_NONE;
out:
	finish_report(&c, errors_before);
	if (c.oom)
		return ST_ENOMEM;
	return rep->n_errors > errors_before ? ST_ESTIX : ST_OK;
}
