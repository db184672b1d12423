/*
 * strait: evaluating STIX patterns (STIX 2.1 section 9) with the OASIS
 * reference matcher's semantics (cti-pattern-matcher), except where it
 * falls short of the specification: IPv6 and /0 in ISSUBSET/ISSUPERSET,
 * DOTALL for MATCHES, '%' and '_' taking line feeds, and WITHIN's bound
 * being exclusive.
 *
 * Comparison expressions: a bracket holds for an observation if one of its
 * SCOs satisfies the whole expression. A comparison holds for an SCO of the
 * path's type if one of the values the path selects passes the operator;
 * NOT negates the operator for values that exist, so nothing matches a
 * path that selects no value (except NOT EXISTS). LIKE and MATCHES compare
 * NFC forms; = and the orderings compare code points as they are.
 *
 * Observation expressions: a binding assigns observation instances (an
 * observed-data with number_observed N counts as N instances) to the
 * brackets so that every operator's constraint holds: AND, FOLLOWEDBY and
 * REPEATS take distinct instances; FOLLOWEDBY asks that every instance on
 * the left may have been seen no later than every one on the right (the
 * latest first_observed on the left <= the earliest last_observed on the
 * right); WITHIN that times can be picked in the intervals that span less
 * than its length (the latest earlier than the earliest plus it);
 * START/STOP that every interval reaches into [start, stop). The search is
 * a backtracking machine with an explicit goal list and choice stack (no
 * recursion); every candidate it tries counts against max_state.
 */
#include "pattern/pattern_int.h"

#include "common/json.h"
#include "common/utf8.h"

#include <stdlib.h>
#include <string.h>

#include <unicode/unorm2.h>
#include <unicode/ustring.h>

struct evctx {
	const struct pattern *p;
	pcre2_match_data *md; /* made on the first MATCHES */
	struct diag *d;
};

void pat_result_clear(struct pat_result *r)
{
	if (r == NULL)
		return;
	free(r->obs);
	r->obs = NULL;
	r->n_obs = 0;
	r->matched = false;
}

int pat_nfc(const char *s, size_t len, char **out, size_t *out_len)
{
	size_t i = 0;
	while (i < len && (unsigned char)s[i] < 0x80)
		i++;
	if (i == len)
		return 0; /* ASCII is always NFC */
	UErrorCode err = U_ZERO_ERROR;
	const UNormalizer2 *nfc = unorm2_getNFCInstance(&err);
	if (U_FAILURE(err) || len > INT32_MAX / 4)
		return 0;
	int32_t n16 = 0, nn = 0, n8 = 0;
	u_strFromUTF8(NULL, 0, &n16, s, (int32_t)len, &err);
	if (err != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(err))
		return 0; /* not UTF-8: compared as it is */
	UChar *u = malloc(((size_t)n16 + 1) * sizeof(*u));
	UChar *v = NULL;
	char *o = NULL;
	int rc = ST_ENOMEM;
	if (u == NULL)
		goto out;
	err = U_ZERO_ERROR;
	u_strFromUTF8(u, n16 + 1, NULL, s, (int32_t)len, &err);
	if (U_FAILURE(err) || unorm2_isNormalized(nfc, u, n16, &err) ||
	    U_FAILURE(err)) {
		rc = 0;
		goto out;
	}
	nn = unorm2_normalize(nfc, u, n16, NULL, 0, &err);
	err = U_ZERO_ERROR;
	if ((v = malloc(((size_t)nn + 1) * sizeof(*v))) == NULL)
		goto out;
	unorm2_normalize(nfc, u, n16, v, nn + 1, &err);
	if (U_FAILURE(err)) {
		rc = 0;
		goto out;
	}
	u_strToUTF8(NULL, 0, &n8, v, nn, &err);
	err = U_ZERO_ERROR;
	if ((o = malloc((size_t)n8 + 1)) == NULL)
		goto out;
	u_strToUTF8(o, n8 + 1, NULL, v, nn, &err);
	if (U_FAILURE(err)) {
		rc = 0;
		goto out;
	}
	*out = o;
	*out_len = (size_t)n8;
	o = NULL;
	rc = 1;
out:
	free(u);
	free(v);
	free(o);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Values and comparisons                                               */
/* ------------------------------------------------------------------ */

/* A value selected by a path: JSON, or bytes decoded from a *_bin or
 * *_hex property. */
struct value {
	const struct json_val *j; /* NULL for bytes */
	const uint8_t *b;
	size_t blen;
};

/* An operator's outcome before NOT: R_NEVER is false even under NOT (the
 * reference matcher's "no comparison function" for ordering). */
enum { R_FALSE = 0, R_TRUE = 1, R_NEVER = 2 };

/* How a value compares with a constant. */
enum cmp_kind {
	K_ORDERED, /* *ord is value <=> constant */
	K_NONE,	   /* types that do not compare */
	K_BADSTR,  /* string vs binary with a code point above U+00FF */
	K_BADTS,   /* timestamp constant vs a string that is none */
};

static int sign_of(int64_t a, int64_t b)
{
	return (a > b) - (a < b);
}

/* Sign of i - d, exactly. */
static int cmp_int_double(int64_t i, double d)
{
	if (d >= 9223372036854775808.0)
		return -1;
	if (d < -9223372036854775808.0)
		return 1;
	int64_t t = (int64_t)d; /* toward zero; |d - t| < 1 */
	if (t != i)
		return sign_of(i, t);
	double frac = d - (double)t;
	return frac > 0 ? -1 : frac < 0 ? 1 : 0;
}

static int num_cmp(const struct json_val *v, const struct pat_const *c)
{
	if (v->u.num.is_int && c->type == PAT_C_INT)
		return sign_of(v->u.num.i, c->u.i);
	if (v->u.num.is_int)
		return cmp_int_double(v->u.num.i, c->u.f);
	if (c->type == PAT_C_INT)
		return -cmp_int_double(c->u.i, v->u.num.d);
	double a = v->u.num.d, b = c->u.f;
	return (a > b) - (a < b);
}

static int bytes_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
	int r = memcmp(a, b, alen < blen ? alen : blen);
	if (r != 0)
		return r < 0 ? -1 : 1;
	return (alen > blen) - (alen < blen);
}

/* Compares UTF-8 text as Latin-1 bytes (each code point one byte) with
 * bytes; false when the text has a code point above U+00FF. */
static bool latin1_cmp(const char *s, size_t slen, const uint8_t *b,
		       size_t blen, int *ord)
{
	if (!pat_utf8_is_latin1(s, slen))
		return false;
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k = 0;
	while (i < slen && k < blen) {
		unsigned cp = u[i];
		if (cp >= 0x80) {
			cp = ((u[i] & 0x1fu) << 6) | (u[i + 1] & 0x3fu);
			i++;
		}
		i++;
		if (cp != b[k]) {
			*ord = cp < b[k] ? -1 : 1;
			return true;
		}
		k++;
	}
	*ord = (i < slen) - (k < blen);
	return true;
}

static enum cmp_kind compare(const struct value *v, const struct pat_const *c,
			     int *ord)
{
	const struct json_val *j = v->j;
	switch (c->type) {
	case PAT_C_INT:
	case PAT_C_FLOAT:
		if (j == NULL || j->type != JSON_NUMBER)
			return K_NONE;
		*ord = num_cmp(j, c);
		return K_ORDERED;
	case PAT_C_STRING:
		if (j == NULL)
			return latin1_cmp(c->u.str.p, c->u.str.len, v->b,
					  v->blen, ord)
				   ? (*ord = -*ord, K_ORDERED)
				   : K_BADSTR;
		if (j->type != JSON_STRING)
			return K_NONE;
		*ord = bytes_cmp(j->u.str, j->len, c->u.str.p, c->u.str.len);
		return K_ORDERED;
	case PAT_C_BOOL:
		if (j == NULL ||
		    (j->type != JSON_TRUE && j->type != JSON_FALSE))
			return K_NONE;
		*ord = (j->type == JSON_TRUE) != c->u.b;
		return K_ORDERED;
	case PAT_C_BINARY:
		if (j == NULL) {
			*ord =
			    bytes_cmp(v->b, v->blen, c->u.str.p, c->u.str.len);
			return K_ORDERED;
		}
		if (j->type != JSON_STRING)
			return K_NONE;
		return latin1_cmp(j->u.str, j->len, (const uint8_t *)c->u.str.p,
				  c->u.str.len, ord)
			   ? K_ORDERED
			   : K_BADSTR;
	case PAT_C_TIMESTAMP: {
		st_time t;
		if (j == NULL || j->type != JSON_STRING)
			return K_NONE;
		if (ts_parse(j->u.str, j->len, &t, NULL) != ST_OK)
			return K_BADTS;
		*ord = sign_of(t, c->u.ts);
		return K_ORDERED;
	}
	}
	return K_NONE;
}

static int eq_result(const struct value *v, const struct pat_const *c)
{
	int ord = 1;
	enum cmp_kind k = compare(v, c, &ord);
	if (k == K_BADTS)
		return R_NEVER;
	return k == K_ORDERED && ord == 0 ? R_TRUE : R_FALSE;
}

static int order_result(const struct value *v, const struct pat_cmp *cmp)
{
	int ord = 0;
	switch (compare(v, &cmp->vals[0], &ord)) {
	case K_ORDERED:
		break;
	case K_BADSTR:
		return R_FALSE;
	default:
		return R_NEVER;
	}
	switch (cmp->op) {
	case PAT_OP_LT:
		return ord < 0;
	case PAT_OP_LE:
		return ord <= 0;
	case PAT_OP_GT:
		return ord > 0;
	default:
		return ord >= 0;
	}
}

/* SQL LIKE over code points: % any run, _ one code point, whole string,
 * case-sensitive. Greedy with one backtrack point, so at most
 * len(s) * len(pat) steps. The work redone by backtracking counts against
 * 64 times the PCRE2 match limit: it grows with the text only as far as
 * the pattern makes it, so a long value in our own telemetry (which an
 * attacker can shape) cannot by itself push an indicator over its limit
 * and get it disabled. A trailing % matches the rest at once. */
int pat_like(const struct pattern_limits *lim, const char *pat, size_t plen,
	     const char *s, size_t slen, struct diag *d)
{
	const unsigned char *p = (const unsigned char *)pat;
	const unsigned char *u = (const unsigned char *)s;
	size_t pi = 0, si = 0, star_p = SIZE_MAX, star_s = 0;
	uint64_t work = 0;
	const uint64_t budget = (uint64_t)lim->pcre_match_limit * 64;
	while (si < slen) {
		size_t sk = utf8_seq_len(u + si, slen - si);
		if (sk == 0)
			return R_FALSE;
		if (pi < plen && p[pi] == '%') {
			while (pi < plen && p[pi] == '%')
				pi++;
			if (pi == plen) /* the rest, if it is text */
				return utf8_invalid_offset(s + si, slen - si) <
					       0
					   ? R_TRUE
					   : R_FALSE;
			star_p = pi;
			star_s = si;
			continue;
		}
		if (pi < plen) {
			size_t pk = utf8_seq_len(p + pi, plen - pi);
			if (pk == 0)
				return R_FALSE;
			if (p[pi] == '_' ||
			    (pk == sk && memcmp(p + pi, u + si, pk) == 0)) {
				pi += p[pi] == '_' ? 1 : pk;
				si += sk;
				continue;
			}
		}
		if (star_p == SIZE_MAX)
			return R_FALSE;
		work += pi - star_p + 1;
		if (work > budget)
			return diag_set(d, ST_ELIMIT,
					"LIKE needed more than %llu steps",
					(unsigned long long)budget);
		pi = star_p;
		star_s += utf8_seq_len(u + star_s, slen - star_s);
		si = star_s;
	}
	while (pi < plen && p[pi] == '%')
		pi++;
	return pi == plen ? R_TRUE : R_FALSE;
}

static int regex_search(struct evctx *ev, const struct cmp_x *cx,
			const pcre2_code *re, const void *s, size_t len)
{
	if (ev->md == NULL) {
		ev->md = pcre2_match_data_create(1, NULL);
		if (ev->md == NULL)
			return diag_set(ev->d, ST_ENOMEM, "out of memory");
	}
	int rc = pcre2_match(re, (PCRE2_SPTR)s, len, 0, 0, ev->md, ev->p->mctx);
	if (rc >= 0)
		return R_TRUE;
	switch (rc) {
	case PCRE2_ERROR_NOMATCH:
		return R_FALSE;
	case PCRE2_ERROR_MATCHLIMIT:
	case PCRE2_ERROR_DEPTHLIMIT:
	case PCRE2_ERROR_HEAPLIMIT:
	case PCRE2_ERROR_JIT_STACKLIMIT:
	case PCRE2_ERROR_NOMEMORY: {
		PCRE2_UCHAR msg[128];
		pcre2_get_error_message(rc, msg, sizeof(msg));
		return diag_set(ev->d, ST_ELIMIT, "at %u: MATCHES: %s",
				cx->cmp.offset, (const char *)msg);
	}
	default:
		return R_FALSE; /* e.g. a subject that is not UTF-8 */
	}
}

/* LIKE and MATCHES see text in NFC (the constants were normalised when
 * parsed). */
static int like_nfc(struct evctx *ev, const struct pat_const *c, const char *s,
		    size_t len)
{
	char *norm = NULL;
	size_t nlen = 0;
	int k = pat_nfc(s, len, &norm, &nlen);
	if (k < 0)
		return diag_set(ev->d, ST_ENOMEM, "out of memory");
	int r =
	    k ? pat_like(&ev->p->lim, c->u.str.p, c->u.str.len, norm, nlen,
			 ev->d)
	      : pat_like(&ev->p->lim, c->u.str.p, c->u.str.len, s, len, ev->d);
	free(norm);
	return r;
}

static int regex_nfc(struct evctx *ev, const struct cmp_x *cx, const char *s,
		     size_t len)
{
	char *norm = NULL;
	size_t nlen = 0;
	int k = pat_nfc(s, len, &norm, &nlen);
	if (k < 0)
		return diag_set(ev->d, ST_ENOMEM, "out of memory");
	int r = k ? regex_search(ev, cx, cx->re, norm, nlen)
		  : regex_search(ev, cx, cx->re, s, len);
	free(norm);
	return r;
}

/* The operator's outcome for one value, NOT applied. */
static int test_value(struct evctx *ev, const struct cmp_x *cx,
		      const struct value *v)
{
	const struct pat_cmp *cmp = &cx->cmp;
	const struct json_val *j = v->j;
	const struct pat_const *c = cmp->vals;
	bool text = j != NULL && j->type == JSON_STRING;
	int r = R_FALSE;
	switch (cmp->op) {
	case PAT_OP_EQ:
	case PAT_OP_NE:
		r = eq_result(v, c);
		if (cmp->op == PAT_OP_NE && r != R_NEVER)
			r = !r;
		break;
	case PAT_OP_LT:
	case PAT_OP_LE:
	case PAT_OP_GT:
	case PAT_OP_GE:
		r = order_result(v, cmp);
		break;
	case PAT_OP_IN:
		for (uint32_t i = 0; i < cmp->n_vals && r != R_TRUE; i++) {
			int e = eq_result(v, &c[i]);
			if (e == R_NEVER)
				return R_FALSE;
			r = e;
		}
		break;
	case PAT_OP_LIKE:
		if (text)
			r = like_nfc(ev, c, j->u.str, j->len);
		else if (j == NULL && cx->like_latin1 &&
			 utf8_invalid_offset(v->b, v->blen) < 0)
			r = like_nfc(ev, c, (const char *)v->b, v->blen);
		break;
	case PAT_OP_MATCHES:
		if (text)
			r = regex_nfc(ev, cx, j->u.str, j->len);
		else if (j == NULL && cx->re_bin != NULL)
			r = regex_search(ev, cx, cx->re_bin, v->b, v->blen);
		break;
	case PAT_OP_ISSUBSET:
	case PAT_OP_ISSUPERSET: {
		struct ip_prefix ip;
		if (!text || !ip_parse(j->u.str, j->len, &ip))
			break;
		r = cmp->op == PAT_OP_ISSUBSET ? ip_contains(&cx->ip, &ip)
					       : ip_contains(&ip, &cx->ip);
		break;
	}
	case PAT_OP_EXISTS:
		r = R_TRUE;
		break;
	}
	if (r < 0)
		return r;
	if (r == R_NEVER)
		return 0;
	return cmp->negated ? !r : r;
}

/* ------------------------------------------------------------------ */
/* Object paths                                                         */
/* ------------------------------------------------------------------ */

struct walk {
	struct evctx *ev;
	const struct cmp_x *cx;
	const struct pat_observation *o;
	bool exists; /* EXISTS: any value will do */
};

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

/* The SCO of the observation a reference names, or NULL. */
static const struct json_val *resolve(const struct pat_observation *o,
				      const struct json_val *ref)
{
	if (ref == NULL || ref->type != JSON_STRING)
		return NULL;
	for (size_t i = 0; i < o->n_objects; i++) {
		const struct pat_sco *s = &o->objects[i];
		if (s->ref != NULL && s->obj != NULL &&
		    strlen(s->ref) == ref->len &&
		    memcmp(s->ref, ref->u.str, ref->len) == 0)
			return s->obj;
	}
	return NULL;
}

static const struct json_val *member(const struct json_val *obj,
				     const char *key)
{
	if (obj->type != JSON_OBJECT)
		return NULL;
	size_t n = strlen(key);
	for (uint32_t i = 0; i < obj->len; i++) {
		const struct json_member *m = &obj->u.members[i];
		if (m->klen == n && memcmp(m->key, key, n) == 0)
			return &m->val;
	}
	return NULL;
}

/* A *_bin (base64) or *_hex value as bytes, tested; no value (0) when it
 * does not decode. */
static int test_decoded(struct walk *w, const struct json_val *v, bool hex)
{
	/* Hex takes two characters a byte, base64 four for three. */
	uint8_t *b = malloc(hex ? v->len / 2 + 1 : v->len / 4 * 3 + 1);
	if (b == NULL)
		return diag_set(w->ev->d, ST_ENOMEM, "out of memory");
	long n = hex ? pat_hex_decode(v->u.str, v->len, b)
		     : pat_base64_decode(v->u.str, v->len, b, true);
	int r = 0;
	if (n >= 0) {
		struct value val = {NULL, b, (size_t)n};
		r = test_value(w->ev, w->cx, &val);
	}
	free(b);
	return r;
}

/* Follows the path from step i at v; 1 as soon as a selected value
 * passes. Recursion is one level per step (at most PAT_MAX_STEPS). refs:
 * v is the list of a *_refs property, whose elements are references. */
static int walk(struct walk *w, const struct json_val *v, uint32_t i, bool refs)
{
	const struct pat_path *path = &w->cx->cmp.path;
	if (i == path->n_steps) {
		if (w->exists)
			return 1;
		struct value val = {v, NULL, 0};
		return test_value(w->ev, w->cx, &val);
	}
	const struct pat_step *st = &path->steps[i];
	bool last = i + 1 == path->n_steps;
	switch (st->kind) {
	case PAT_STEP_KEY: {
		const struct json_val *child = member(v, st->key);
		if (child == NULL)
			return 0;
		if (!last && ends_with(st->key, "_ref")) {
			child = resolve(w->o, child);
			return child != NULL ? walk(w, child, i + 1, false) : 0;
		}
		if (last && !w->exists && child->type == JSON_STRING &&
		    (ends_with(st->key, "_bin") || ends_with(st->key, "_hex")))
			return test_decoded(w, child,
					    ends_with(st->key, "_hex"));
		return walk(w, child, i + 1, ends_with(st->key, "_refs"));
	}
	case PAT_STEP_INDEX: {
		if (v->type != JSON_ARRAY || st->index < 0 ||
		    st->index >= (int64_t)v->len)
			return 0;
		const struct json_val *el = &v->u.items[st->index];
		if (refs && !last)
			el = resolve(w->o, el);
		return el != NULL ? walk(w, el, i + 1, false) : 0;
	}
	case PAT_STEP_ANY:
		if (v->type != JSON_ARRAY)
			return 0;
		for (uint32_t k = 0; k < v->len; k++) {
			const struct json_val *el = &v->u.items[k];
			if (refs && !last && (el = resolve(w->o, el)) == NULL)
				continue;
			int r = walk(w, el, i + 1, false);
			if (r != 0)
				return r;
		}
		return 0;
	}
	return 0;
}

static int eval_cmp(struct evctx *ev, const struct pat_cmp *cmp,
		    const struct pat_observation *o, const struct json_val *sco)
{
	const struct json_val *type = member(sco, "type");
	if (type == NULL || type->type != JSON_STRING ||
	    strlen(cmp->path.type) != type->len ||
	    memcmp(cmp->path.type, type->u.str, type->len) != 0)
		return 0;
	struct walk w = {ev, cmp_x_of(cmp), o, cmp->op == PAT_OP_EXISTS};
	int r = walk(&w, sco, 0, false);
	if (r < 0 || !w.exists)
		return r;
	return cmp->negated ? !r : r;
}

/* One SCO against a comparison expression. Chains are left-deep (the
 * grammar is left-associative): the loop walks down the left operands and
 * recursion goes only into right operands, whose depth is bounded by the
 * nesting of parentheses. */
static int eval_ce(struct evctx *ev, const struct pat_cexpr *ce,
		   const struct pat_observation *o, const struct json_val *sco)
{
	for (;;) {
		if (ce->kind == PAT_CE_CMP)
			return eval_cmp(ev, ce->cmp, o, sco);
		int r = eval_ce(ev, ce->r, o, sco);
		if (r < 0)
			return r;
		if (ce->kind == PAT_CE_AND ? r == 0 : r == 1)
			return r;
		ce = ce->l;
	}
}

static int obs_match(struct evctx *ev, const struct pat_cexpr *ce,
		     const struct pat_observation *o)
{
	for (size_t i = 0; i < o->n_objects; i++) {
		const struct json_val *sco = o->objects[i].obj;
		if (sco == NULL || sco->type != JSON_OBJECT)
			continue;
		int r = eval_ce(ev, ce, o, sco);
		if (r != 0)
			return r;
	}
	return 0;
}

int pattern_eval_cexpr(const struct pattern *p, const struct pat_cexpr *ce,
		       const struct pat_observation *o, struct diag *d)
{
	struct evctx ev = {p, NULL, d};
	int r = obs_match(&ev, ce, o);
	pcre2_match_data_free(ev.md);
	return r;
}

/* ------------------------------------------------------------------ */
/* The binding search                                                   */
/* ------------------------------------------------------------------ */

/* Goals: what remains to be done, as a list (frames are never changed
 * once made, so choice points can share them). */
enum goal {
	G_DONE,
	G_SOLVE,     /* bind node x */
	G_AND_RIGHT, /* left of AND x bound: bind its right */
	G_FB_RIGHT,  /* left of FOLLOWEDBY x bound (from mark) */
	G_FB_CHECK,  /* right of FOLLOWEDBY bound; mark..mid is the left */
	G_REP,	     /* rep repetitions of x done; the next from mid */
	G_WITHIN,    /* the binding of WITHIN x started at mark */
	G_STARTSTOP, /* every instance bound meanwhile is in x's window */
};

struct frame {
	uint8_t kind;
	const struct oexpr_x *x;
	uint32_t mark, mid, rep;
	uint32_t prev_rank; /* G_REP: rank of the previous repetition's first
			       instance */
	uint32_t next;
};

enum { C_LEAF, C_OR };

struct choice {
	uint8_t kind;
	bool tried_right; /* C_OR */
	const struct oexpr_x *x;
	uint32_t goal; /* what follows the choice */
	uint32_t pos, end;
	uint32_t blen, ftop;
};

struct search {
	struct evctx ev;
	const struct pat_observation *obs;
	uint32_t n;
	uint32_t *rank;	    /* per observation: position by first_observed */
	uint32_t *cand;	    /* per bracket, its matching observations by rank */
	uint32_t *leaf_off; /* per bracket, into cand */
	uint32_t *leaf_cnt;
	uint32_t *used;	 /* per observation: instances bound */
	bool *feasible;	 /* per node */
	uint64_t *minsz; /* per node: instances a binding takes, at least */
	uint64_t *cap;	 /* per node: instances its brackets hold, at most */
	uint32_t *bind;	 /* the instances bound so far (observation indexes) */
	uint32_t blen, bcap;
	struct frame *fr;
	uint32_t ftop, fcap, fmax;
	struct choice *ch;
	uint32_t ctop, ccap;
	uint64_t steps;
	int err; /* sticky: the first error met */
};

#define NO_GOAL UINT32_MAX

static uint32_t instances(const struct pat_observation *o)
{
	return o->number_observed ? o->number_observed : 1;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

static uint64_t sat_mul(uint64_t a, uint64_t b)
{
	return b != 0 && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

/* a - b >= d, without overflow: WITHIN d asks that the latest time be
 * earlier than the earliest plus d (STIX 2.1 section 9.5.1). */
static bool gap_exceeds(st_time a, st_time b, int64_t d)
{
	int64_t diff;
	if (__builtin_sub_overflow(a, b, &diff))
		return a > b;
	return diff >= d;
}

static int limit_hit(struct search *s)
{
	return diag_set(s->ev.d, ST_ELIMIT,
			"pattern evaluation tried more than %u observation "
			"bindings",
			s->ev.p->lim.max_state);
}

static int grow(void **arr, uint32_t *cap, size_t elem, uint32_t need)
{
	if (need <= *cap)
		return ST_OK;
	uint32_t ncap = *cap ? *cap : 64;
	while (ncap < need)
		ncap *= 2;
	void *n = realloc(*arr, (size_t)ncap * elem);
	if (n == NULL)
		return ST_ENOMEM;
	*arr = n;
	*cap = ncap;
	return ST_OK;
}

/* Pushes a frame; NO_GOAL (and s->err set) when out of memory or past
 * the frame limit. */
static uint32_t push_frame(struct search *s, uint8_t kind,
			   const struct oexpr_x *x, uint32_t next)
{
	if (s->err != ST_OK)
		return NO_GOAL;
	if (s->ftop >= s->fmax) {
		s->err = limit_hit(s);
		return NO_GOAL;
	}
	if (grow((void **)&s->fr, &s->fcap, sizeof(*s->fr), s->ftop + 1) !=
	    ST_OK) {
		s->err = diag_set(s->ev.d, ST_ENOMEM, "out of memory");
		return NO_GOAL;
	}
	struct frame *f = &s->fr[s->ftop];
	memset(f, 0, sizeof(*f));
	f->kind = kind;
	f->x = x;
	f->next = next;
	f->mark = s->blen;
	f->mid = s->blen;
	return s->ftop++;
}

static const struct oexpr_x *left(const struct oexpr_x *x)
{
	return oexpr_x_of(x->e.l);
}

static const struct oexpr_x *right(const struct oexpr_x *x)
{
	return oexpr_x_of(x->e.r);
}

enum { CHK_OK, CHK_REJECT, CHK_BREAK };

/* Checks a candidate observation against every constraint still open in
 * the goal list k. CHK_BREAK: it and every later candidate of the same
 * bracket fail (candidates come in order of first_observed). */
static int check(const struct search *s, uint32_t k, uint32_t o)
{
	st_time first = s->obs[o].first_observed;
	st_time last = s->obs[o].last_observed;
	for (; s->fr[k].kind != G_DONE; k = s->fr[k].next) {
		const struct frame *f = &s->fr[k];
		switch (f->kind) {
		case G_WITHIN: {
			int64_t d = f->x->within_us;
			if (s->blen == f->mark) {
				if (gap_exceeds(first, last, d))
					return CHK_REJECT;
				break;
			}
			st_time F = INT64_MIN, L = INT64_MAX;
			for (uint32_t i = f->mark; i < s->blen; i++) {
				const struct pat_observation *b =
				    &s->obs[s->bind[i]];
				if (b->first_observed > F)
					F = b->first_observed;
				if (b->last_observed < L)
					L = b->last_observed;
			}
			if (gap_exceeds(first, L, d))
				return CHK_BREAK;
			if (gap_exceeds(F, last, d) ||
			    gap_exceeds(first, last, d))
				return CHK_REJECT;
			break;
		}
		case G_STARTSTOP:
			if (first >= f->x->e.stop)
				return CHK_BREAK;
			if (last < f->x->e.start)
				return CHK_REJECT;
			break;
		case G_FB_CHECK:
			for (uint32_t i = f->mark; i < f->mid; i++)
				if (s->obs[s->bind[i]].first_observed > last)
					return CHK_REJECT;
			break;
		case G_REP:
			if (f->rep > 0 && s->blen == f->mid &&
			    s->rank[o] < f->prev_rank)
				return CHK_REJECT;
			break;
		default:
			break;
		}
	}
	return CHK_OK;
}

/* Where a bracket's candidates start: a repetition's first instance comes
 * no earlier (by rank) than the previous repetition's, so each set of
 * repetitions is tried once, not in every order. */
static uint32_t first_candidate(const struct search *s, uint32_t k,
				const uint32_t *cand, uint32_t cnt)
{
	uint32_t bound = 0;
	for (; s->fr[k].kind != G_DONE; k = s->fr[k].next) {
		const struct frame *f = &s->fr[k];
		if (f->kind == G_REP && f->rep > 0 && s->blen == f->mid &&
		    f->prev_rank > bound)
			bound = f->prev_rank;
	}
	uint32_t lo = 0, hi = cnt;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (s->rank[cand[mid]] < bound)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Resumes the newest choice point with its next alternative: the goal to
 * continue with, or NO_GOAL when every choice is spent (no match) or on
 * an error (s->err). */
static uint32_t backtrack(struct search *s)
{
	while (s->ctop > 0 && s->err == ST_OK) {
		struct choice *c = &s->ch[s->ctop - 1];
		while (s->blen > c->blen)
			s->used[s->bind[--s->blen]]--;
		s->ftop = c->ftop;
		if (c->kind == C_OR) {
			if (c->tried_right) {
				s->ctop--;
				continue;
			}
			c->tried_right = true;
			return push_frame(s, G_SOLVE, right(c->x), c->goal);
		}
		const uint32_t *cand = s->cand + s->leaf_off[c->x->leaf];
		while (c->pos < c->end) {
			uint32_t o = cand[c->pos++];
			if (++s->steps > s->ev.p->lim.max_state) {
				s->err = limit_hit(s);
				return NO_GOAL;
			}
			if (s->used[o] >= instances(&s->obs[o]))
				continue;
			int chk = check(s, c->goal, o);
			if (chk == CHK_BREAK)
				break;
			if (chk == CHK_REJECT)
				continue;
			if (grow((void **)&s->bind, &s->bcap, sizeof(*s->bind),
				 s->blen + 1) != ST_OK) {
				s->err = diag_set(s->ev.d, ST_ENOMEM,
						  "out of memory");
				return NO_GOAL;
			}
			s->bind[s->blen++] = o;
			s->used[o]++;
			return c->goal;
		}
		s->ctop--;
	}
	return NO_GOAL;
}

static void push_choice(struct search *s, uint8_t kind, const struct oexpr_x *x,
			uint32_t goal)
{
	if (s->err != ST_OK)
		return;
	if (grow((void **)&s->ch, &s->ccap, sizeof(*s->ch), s->ctop + 1) !=
	    ST_OK) {
		s->err = diag_set(s->ev.d, ST_ENOMEM, "out of memory");
		return;
	}
	struct choice *c = &s->ch[s->ctop++];
	memset(c, 0, sizeof(*c));
	c->kind = kind;
	c->x = x;
	c->goal = goal;
	c->blen = s->blen;
	c->ftop = s->ftop;
	if (kind == C_LEAF) {
		const uint32_t *cand = s->cand + s->leaf_off[x->leaf];
		c->end = s->leaf_cnt[x->leaf];
		c->pos = first_candidate(s, goal, cand, c->end);
	}
}

/* SOLVE x, continuing with next: the goal to run now, or NO_GOAL to
 * backtrack (a bracket pushed its choice point, or x cannot be bound). */
static uint32_t solve(struct search *s, const struct oexpr_x *x, uint32_t next)
{
	uint32_t k;
	if (!s->feasible[x->id])
		return NO_GOAL;
	switch (x->e.kind) {
	case PAT_OE_OBS:
		push_choice(s, C_LEAF, x, next);
		return NO_GOAL;
	case PAT_OE_OR:
		if (!s->feasible[left(x)->id])
			return push_frame(s, G_SOLVE, right(x), next);
		if (!s->feasible[right(x)->id])
			return push_frame(s, G_SOLVE, left(x), next);
		push_choice(s, C_OR, x, next);
		return push_frame(s, G_SOLVE, left(x), next);
	case PAT_OE_AND:
		k = push_frame(s, G_AND_RIGHT, x, next);
		break;
	case PAT_OE_FOLLOWEDBY:
		k = push_frame(s, G_FB_RIGHT, x, next);
		break;
	case PAT_OE_REPEATS:
		k = push_frame(s, G_REP, x, next);
		break;
	case PAT_OE_WITHIN:
		k = push_frame(s, G_WITHIN, x, next);
		break;
	default:
		k = push_frame(s, G_STARTSTOP, x, next);
		break;
	}
	return push_frame(s, G_SOLVE, left(x), k);
}

/* Runs the machine: 1 found (s->bind holds the binding), 0 none, < 0. */
static int run(struct search *s, const struct oexpr_x *root)
{
	uint32_t done = push_frame(s, G_DONE, NULL, 0);
	uint32_t goal = push_frame(s, G_SOLVE, root, done);
	for (;;) {
		if (s->err != ST_OK)
			return s->err;
		if (goal == NO_GOAL) {
			goal = backtrack(s);
			if (goal == NO_GOAL)
				return s->err;
			continue;
		}
		struct frame f = s->fr[goal];
		uint32_t k;
		switch (f.kind) {
		case G_DONE:
			return 1;
		case G_SOLVE:
			goal = solve(s, f.x, f.next);
			break;
		case G_AND_RIGHT:
			goal = push_frame(s, G_SOLVE, right(f.x), f.next);
			break;
		case G_FB_RIGHT:
			k = push_frame(s, G_FB_CHECK, f.x, f.next);
			if (k != NO_GOAL)
				s->fr[k].mark = f.mark;
			goal = push_frame(s, G_SOLVE, right(f.x), k);
			break;
		case G_REP:
			if (f.rep + 1 == f.x->e.repeats) {
				goal = f.next;
				break;
			}
			k = push_frame(s, G_REP, f.x, f.next);
			if (k != NO_GOAL) {
				s->fr[k].rep = f.rep + 1;
				s->fr[k].prev_rank = s->rank[s->bind[f.mid]];
			}
			goal = push_frame(s, G_SOLVE, left(f.x), k);
			break;
		default: /* checked as instances were bound */
			goal = f.next;
			break;
		}
	}
}

struct by_first {
	st_time first;
	uint32_t idx;
};

static int by_first_cmp(const void *a, const void *b)
{
	const struct by_first *x = a, *y = b;
	if (x->first != y->first)
		return x->first < y->first ? -1 : 1;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

/* Candidates of every bracket, in order of first_observed; then which
 * nodes can be bound at all, from counts alone. */
static int prepare(struct search *s, const struct pattern *p)
{
	uint32_t n = s->n;
	struct by_first *order = malloc((size_t)n * sizeof(*order));
	s->rank = malloc((size_t)n * sizeof(*s->rank));
	s->used = calloc(n, sizeof(*s->used));
	s->leaf_off = calloc(p->n_leaves, sizeof(*s->leaf_off));
	s->leaf_cnt = calloc(p->n_leaves, sizeof(*s->leaf_cnt));
	s->feasible = calloc(p->n_nodes, sizeof(*s->feasible));
	s->minsz = calloc(p->n_nodes, sizeof(*s->minsz));
	s->cap = calloc(p->n_nodes, sizeof(*s->cap));
	int rc = ST_OK;
	if (order == NULL || s->rank == NULL || s->used == NULL ||
	    s->leaf_off == NULL || s->leaf_cnt == NULL || s->feasible == NULL ||
	    s->minsz == NULL || s->cap == NULL) {
		rc = diag_set(s->ev.d, ST_ENOMEM, "out of memory");
		goto out;
	}
	for (uint32_t i = 0; i < n; i++) {
		order[i].first = s->obs[i].first_observed;
		order[i].idx = i;
	}
	qsort(order, n, sizeof(*order), by_first_cmp);
	for (uint32_t i = 0; i < n; i++)
		s->rank[order[i].idx] = i;

	uint32_t total = 0, ccap = 0;
	for (uint32_t id = 0; id < p->n_nodes; id++) {
		const struct oexpr_x *x = p->nodes[id];
		uint64_t cap = 0;
		if (x->e.kind != PAT_OE_OBS)
			continue;
		s->leaf_off[x->leaf] = total;
		for (uint32_t i = 0; i < n; i++) {
			uint32_t o = order[i].idx;
			int r = obs_match(&s->ev, x->e.cexpr, &s->obs[o]);
			if (r < 0) {
				rc = r;
				goto out;
			}
			if (r == 0)
				continue;
			if (grow((void **)&s->cand, &ccap, sizeof(*s->cand),
				 total + 1) != ST_OK) {
				rc = diag_set(s->ev.d, ST_ENOMEM,
					      "out of memory");
				goto out;
			}
			s->cand[total++] = o;
			cap = sat_add(cap, instances(&s->obs[o]));
		}
		s->leaf_cnt[x->leaf] = total - s->leaf_off[x->leaf];
		s->cap[id] = cap;
	}
	/* Children come before parents in p->nodes. */
	for (uint32_t id = 0; id < p->n_nodes; id++) {
		const struct oexpr_x *x = p->nodes[id];
		uint32_t l = x->e.l ? left(x)->id : 0;
		uint32_t r = x->e.r ? right(x)->id : 0;
		switch (x->e.kind) {
		case PAT_OE_OBS:
			s->feasible[id] = s->leaf_cnt[x->leaf] > 0;
			s->minsz[id] = 1;
			break;
		case PAT_OE_AND:
		case PAT_OE_FOLLOWEDBY:
			s->minsz[id] = sat_add(s->minsz[l], s->minsz[r]);
			s->cap[id] = sat_add(s->cap[l], s->cap[r]);
			s->feasible[id] = s->feasible[l] && s->feasible[r] &&
					  s->cap[id] >= s->minsz[id];
			break;
		case PAT_OE_OR:
			s->cap[id] = sat_add(s->cap[l], s->cap[r]);
			s->feasible[id] = s->feasible[l] || s->feasible[r];
			s->minsz[id] = !s->feasible[l]	 ? s->minsz[r]
				       : !s->feasible[r] ? s->minsz[l]
				       : s->minsz[l] < s->minsz[r]
					   ? s->minsz[l]
					   : s->minsz[r];
			break;
		case PAT_OE_REPEATS:
			s->minsz[id] = sat_mul(s->minsz[l], x->e.repeats);
			s->cap[id] = s->cap[l];
			s->feasible[id] =
			    s->feasible[l] && s->cap[l] >= s->minsz[id];
			break;
		default:
			s->minsz[id] = s->minsz[l];
			s->cap[id] = s->cap[l];
			s->feasible[id] = s->feasible[l];
			break;
		}
	}
out:
	free(order);
	return rc;
}

static void search_free(struct search *s)
{
	free(s->rank);
	free(s->cand);
	free(s->leaf_off);
	free(s->leaf_cnt);
	free(s->used);
	free(s->feasible);
	free(s->minsz);
	free(s->cap);
	free(s->bind);
	free(s->fr);
	free(s->ch);
	pcre2_match_data_free(s->ev.md);
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/* The distinct observations of the binding, ascending, into r. */
static int take_binding(struct search *s, struct pat_result *r)
{
	r->obs = malloc((size_t)(s->blen ? s->blen : 1) * sizeof(*r->obs));
	if (r->obs == NULL)
		return diag_set(s->ev.d, ST_ENOMEM, "out of memory");
	memcpy(r->obs, s->bind, (size_t)s->blen * sizeof(*r->obs));
	qsort(r->obs, s->blen, sizeof(*r->obs), u32_cmp);
	size_t k = 0;
	for (size_t i = 0; i < s->blen; i++)
		if (k == 0 || r->obs[k - 1] != r->obs[i])
			r->obs[k++] = r->obs[i];
	r->n_obs = k;
	r->matched = true;
	return ST_OK;
}

int pattern_eval(const struct pattern *p, const struct pat_observation *obs,
		 size_t n, struct pat_result *r, struct diag *d)
{
	memset(r, 0, sizeof(*r));
	if (n > UINT32_MAX / 2)
		return diag_set(d, ST_ELIMIT,
				"pattern evaluation: too many observations");
	struct search s;
	memset(&s, 0, sizeof(s));
	s.ev.p = p;
	s.ev.d = d;
	s.obs = obs;
	s.n = (uint32_t)n;
	int rc;

	if (p->root->kind == PAT_OE_OBS) {
		/* One bracket: the first observation it holds for. */
		for (uint32_t i = 0; i < s.n; i++) {
			rc = obs_match(&s.ev, p->root->cexpr, &obs[i]);
			if (rc < 0)
				goto out;
			if (rc == 1) {
				s.bind = malloc(sizeof(*s.bind));
				if (s.bind == NULL) {
					rc = diag_set(d, ST_ENOMEM,
						      "out of memory");
					goto out;
				}
				s.bind[0] = i;
				s.blen = 1;
				rc = take_binding(&s, r);
				goto out;
			}
		}
		rc = ST_OK;
		goto out;
	}
	rc = ST_OK;
	if (n == 0)
		goto out;
	if ((rc = prepare(&s, p)) != ST_OK)
		goto out;
	/* Frames live along the current path of the search: a few per bound
	 * instance and per node. */
	uint64_t fmax =
	    (uint64_t)p->lim.max_state * 8 + (uint64_t)p->n_nodes * 8 + 64;
	s.fmax = fmax > UINT32_MAX - 1 ? UINT32_MAX - 1 : (uint32_t)fmax;
	rc = run(&s, oexpr_x_of(p->root));
	if (rc == 1)
		rc = take_binding(&s, r);
out:
	search_free(&s);
	if (rc < 0)
		pat_result_clear(r);
	return rc < 0 ? rc : ST_OK;
}
