/*
 * strait: what the matcher indexes of a pattern.
 *
 * An anchor set of a comparison expression is a disjunction of indexable
 * comparisons ("atoms") such that any object satisfying the expression
 * satisfies at least one of them: for AND either side's set will do (the
 * cheaper is taken), for OR both sets are needed. Atoms may
 * over-approximate (the evaluator confirms candidates); they must never
 * miss. So everything here is conservative: whatever is not understood
 * gives no atom rather than a wrong one.
 *
 * Over-broad atoms are refused rather than indexed, and the reason is
 * kept in case no other atom can take their place (so a broad comparison
 * ANDed with a selective one is accepted; alone, or ORed, it refuses the
 * indicator):
 *   - ISSUBSET with a CIDR shorter than min_cidr4 (/8) or min_cidr6 (/32).
 *     A /8 is the largest IPv4 block a registry hands out; an IPv6 /32 is
 *     a whole ISP allocation. Anything wider matches a large share of all
 *     traffic.
 *   - LIKE or MATCHES without a literal of min_literal (3) bytes that
 *     every match contains: three bytes still allow '%.ru' or '(?i)\.cn$'
 *     (common in feeds), two would make nearly every value a candidate;
 *     without a provable literal (e.g. '^[a-z]+$') nothing can prefilter.
 *   - equality and CIDR constants on a configured warninglist (a partner
 *     listing 8.8.8.8 or google.com would flood the node with hits).
 * A comparison with no indexable form at all (!=, NOT, <, EXISTS, ...)
 * gives no atom and no reason: its bracket goes to the bounded list that
 * is evaluated against every observation (matcher.c).
 */
#include "pattern/matcher_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Paths                                                                */
/* ------------------------------------------------------------------ */

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

bool manchor_path_ok(const struct pat_path *p, bool *plain)
{
	*plain = true;
	if (!p->type || !*p->type || !p->n_steps ||
	    p->steps[0].kind != PAT_STEP_KEY)
		return false;
	const char *last = NULL;
	for (uint32_t i = 0; i < p->n_steps; i++) {
		const struct pat_step *s = &p->steps[i];
		if (s->kind != PAT_STEP_KEY) {
			*plain = false;
			continue;
		}
		/* A reference followed by more steps is resolved. */
		if (i + 1 < p->n_steps &&
		    (ends_with(s->key, "_ref") || ends_with(s->key, "_refs")))
			*plain = false;
		last = s->key;
	}
	/* *_bin and *_hex values are compared decoded: not as indexed. */
	return !(ends_with(last, "_bin") || ends_with(last, "_hex"));
}

static bool plain_key(const char *k)
{
	if (!*k)
		return false;
	for (const char *c = k; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '_'))
			return false;
	return true;
}

void manchor_path_display(const struct pat_path *p, char *out, size_t cap)
{
	size_t n = 0;
#define PUT(c)                          \
	do {                            \
		if (n + 1 < cap)        \
			out[n++] = (c); \
	} while (0)
	for (const char *c = p->type ? p->type : ""; *c; c++)
		PUT(*c);
	PUT(':');
	for (uint32_t i = 0; i < p->n_steps; i++) {
		const struct pat_step *s = &p->steps[i];
		if (s->kind == PAT_STEP_KEY) {
			if (i)
				PUT('.');
			if (plain_key(s->key)) {
				for (const char *c = s->key; *c; c++)
					PUT(*c);
			} else {
				PUT('\'');
				for (const char *c = s->key; *c; c++) {
					if (*c == '\'' || *c == '\\')
						PUT('\\');
					PUT(*c);
				}
				PUT('\'');
			}
		} else if (s->kind == PAT_STEP_ANY) {
			PUT('[');
			PUT('*');
			PUT(']');
		} else {
			char num[24];
			int k = snprintf(num, sizeof(num), "[%lld]",
					 (long long)s->index);
			for (int j = 0; j < k; j++)
				PUT(num[j]);
		}
	}
#undef PUT
	if (cap)
		out[n] = '\0';
}

static enum wl_kind type_wl_kind(const char *type, const char *last_key)
{
	if (!strcmp(last_key, "value")) {
		if (!strcmp(type, "ipv4-addr") || !strcmp(type, "ipv6-addr"))
			return WL_KIND_IP;
		if (!strcmp(type, "domain-name"))
			return WL_KIND_DOMAIN;
		if (!strcmp(type, "url"))
			return WL_KIND_URL;
		if (!strcmp(type, "email-addr"))
			return WL_KIND_EMAIL;
	}
	return WL_KIND_OTHER;
}

/* The kind of values at a pattern path: the type's own, a hash under
 * "hashes", or, through a reference, unknown (OTHER; decided by value). */
enum wl_kind manchor_path_wl_kind(const struct pat_path *p)
{
	const char *last = NULL;
	for (uint32_t i = 0; i < p->n_steps; i++) {
		if (p->steps[i].kind != PAT_STEP_KEY)
			continue;
		if (!strcmp(p->steps[i].key, "hashes"))
			return WL_KIND_HASH;
		if (last &&
		    (ends_with(last, "_ref") || ends_with(last, "_refs")))
			return WL_KIND_OTHER;
		last = p->steps[i].key;
	}
	if (!last || p->n_steps > 1)
		return WL_KIND_OTHER;
	return type_wl_kind(p->type, last);
}

/* ------------------------------------------------------------------ */
/* Required literals of LIKE and MATCHES                                */
/* ------------------------------------------------------------------ */

/* The literal scanner's state for one branch of a regex. */
struct lscan {
	char cur[MLIT_MAX];
	size_t n;	/* bytes in cur */
	size_t last;	/* where the last literal character starts */
	bool have_last; /* cur ends with a character a quantifier binds */
	char best[MLIT_MAX];
	size_t best_n;
};

static void ls_break(struct lscan *s)
{
	if (s->n > s->best_n) {
		memcpy(s->best, s->cur, s->n);
		s->best_n = s->n;
	}
	s->n = 0;
	s->have_last = false;
}

static void ls_char(struct lscan *s, const char *c, size_t k)
{
	if (s->n + k > sizeof(s->cur))
		ls_break(s);
	if (k > sizeof(s->cur))
		return;
	s->last = s->n;
	memcpy(s->cur + s->n, c, k);
	s->n += k;
	s->have_last = true;
}

/* A quantifier follows: min is its minimum count. */
static void ls_quant(struct lscan *s, unsigned long min)
{
	if (!s->have_last) {
		/* It binds to something that already broke the run. */
		return;
	}
	if (min == 0)
		s->n = s->last; /* the character may be absent */
	ls_break(s);
}

static size_t utf8_len(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0)
		return 2;
	if ((c & 0xf0) == 0xe0)
		return 3;
	if ((c & 0xf8) == 0xf0)
		return 4;
	return 1;
}

/* Parses a quantifier at p; returns its length (0: none) and its min. */
static size_t quantifier(const char *p, const char *end, unsigned long *min)
{
	size_t k = 0;
	if (p >= end)
		return 0;
	if (*p == '*' || *p == '?') {
		*min = 0;
		k = 1;
	} else if (*p == '+') {
		*min = 1;
		k = 1;
	} else if (*p == '{') {
		const char *q = p + 1;
		unsigned long lo = 0;
		bool digits = false;
		while (q < end && *q >= '0' && *q <= '9') {
			lo = lo * 10 + (unsigned long)(*q - '0');
			if (lo > 65535)
				lo = 65535;
			q++;
			digits = true;
		}
		if (q < end && *q == ',') {
			q++;
			bool hi = false;
			while (q < end && *q >= '0' && *q <= '9') {
				q++;
				hi = true;
			}
			/* PCRE2 10.43 accepts {,n}; be safe and read it as
			 * min 0 whatever the version does. */
			if (!digits && !hi)
				return 0;
			if (!digits)
				lo = 0;
		} else if (!digits) {
			return 0;
		}
		if (q >= end || *q != '}')
			return 0;
		*min = lo;
		k = (size_t)(q - p) + 1;
	} else {
		return 0;
	}
	/* Lazy or possessive suffix. */
	if (p + k < end && (p[k] == '?' || p[k] == '+'))
		k++;
	return k;
}

/* The quantifier after an atom, if any: applied to the scan (or a break
 * when the atom cannot be trusted as a literal); returns its length. */
static size_t after_atom(struct lscan *s, const char *p, const char *end,
			 bool unsafe)
{
	unsigned long min = 0;
	size_t q = quantifier(p, end, &min);
	if (q) {
		if (unsafe)
			ls_break(s);
		else
			ls_quant(s, min);
	}
	return q;
}

/* Skips a character class starting at p ('['); returns the position after
 * its ']' or NULL if it is malformed. */
static const char *skip_class(const char *p, const char *end)
{
	p++;
	if (p < end && *p == '^')
		p++;
	if (p < end && *p == ']')
		p++;
	while (p < end) {
		if (*p == '\\') {
			if (p + 1 < end && p[1] == 'Q') {
				const char *e = p + 2;
				while (e + 1 < end &&
				       !(e[0] == '\\' && e[1] == 'E'))
					e++;
				if (e + 1 >= end)
					return NULL;
				p = e + 2;
				continue;
			}
			p += 2;
			continue;
		}
		if (*p == '[' && p + 1 < end &&
		    (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
			char t = p[1];
			const char *e = p + 2;
			while (e + 1 < end && !(e[0] == t && e[1] == ']'))
				e++;
			if (e + 1 >= end)
				return NULL;
			p = e + 2;
			continue;
		}
		if (*p == ']')
			return p + 1;
		p++;
	}
	return NULL;
}

/* Skips a group starting at p ('('); returns the position after its ')'
 * or NULL. Classes, escapes and \Q..\E inside are honoured. */
static const char *skip_group(const char *p, const char *end)
{
	int depth = 0;
	while (p < end) {
		char c = *p;
		if (c == '\\') {
			if (p + 1 < end && p[1] == 'Q') {
				const char *e = p + 2;
				while (e + 1 < end &&
				       !(e[0] == '\\' && e[1] == 'E'))
					e++;
				p = e + 1 < end ? e + 2 : end;
				continue;
			}
			p += 2;
			continue;
		}
		if (c == '[') {
			p = skip_class(p, end);
			if (!p)
				return NULL;
			continue;
		}
		if (c == '(')
			depth++;
		else if (c == ')' && --depth == 0)
			return p + 1;
		p++;
	}
	return NULL;
}

/* True for the characters PCRE2 may fold to a non-ASCII character under
 * caseless UTF matching (K: KELVIN SIGN, S: LATIN SMALL LETTER LONG S):
 * an ASCII-only caseless prefilter must not rely on them. */
static bool fold_unsafe(unsigned char c)
{
	return c == 'k' || c == 'K' || c == 's' || c == 'S';
}

/* Scans one top-level branch [p, end) of a regex. Returns false when the
 * syntax is not understood (no literal can be trusted). */
static bool scan_branch(const char *p, const char *end, bool caseless,
			struct lscan *s)
{
	while (p < end) {
		unsigned char c = (unsigned char)*p;
		unsigned long min;
		size_t q;
		if (c == '\\') {
			if (p + 1 >= end)
				return false;
			unsigned char e = (unsigned char)p[1];
			if (e == 'Q') {
				const char *t = p + 2;
				bool unsafe = false;
				while (t < end &&
				       !(t + 1 < end && t[0] == '\\' &&
					 t[1] == 'E')) {
					size_t k = utf8_len((unsigned char)*t);
					if (k > (size_t)(end - t))
						k = (size_t)(end - t);
					unsafe =
					    caseless &&
					    ((unsigned char)*t >= 0x80 ||
					     fold_unsafe((unsigned char)*t));
					if (unsafe)
						ls_break(s);
					else
						ls_char(s, t, k);
					t += k;
				}
				p = t < end ? t + 2 : end;
				p += after_atom(s, p, end, unsafe);
				continue;
			}
			if (e == 'E') {
				p += 2;
				continue;
			}
			char lit = 0;
			bool atom = false, zero = false;
			switch (e) {
			case 'n':
				lit = '\n';
				break;
			case 't':
				lit = '\t';
				break;
			case 'r':
				lit = '\r';
				break;
			case 'f':
				lit = '\f';
				break;
			case 'e':
				lit = 0x1b;
				break;
			case 'a':
				lit = 0x07;
				break;
			case 'd':
			case 'D':
			case 'w':
			case 'W':
			case 's':
			case 'S':
			case 'h':
			case 'H':
			case 'v':
			case 'V':
			case 'R':
			case 'N':
			case 'X':
				atom = true;
				break;
			case 'b':
			case 'B':
			case 'A':
			case 'Z':
			case 'z':
			case 'G':
				zero = true;
				break;
			case 'p':
			case 'P':
				atom = true;
				if (p + 2 < end && p[2] == '{') {
					const char *t = memchr(
					    p + 3, '}', (size_t)(end - p - 3));
					if (!t)
						return false;
					p = t + 1 - 2; /* p += 2 below */
				} else if (p + 2 < end) {
					p += 1; /* one-letter property */
				} else {
					return false;
				}
				break;
			default:
				if (e >= 0x80 || (e >= '0' && e <= '9') ||
				    (e >= 'a' && e <= 'z') ||
				    (e >= 'A' && e <= 'Z'))
					return false; /* \x, \o, \g, \k, \1 ... */
				lit = (char)e;
				break;
			}
			p += 2;
			if (zero) {
				ls_break(s);
				continue;
			}
			if (atom) {
				ls_break(s);
				q = quantifier(p, end, &min);
				p += q;
				continue;
			}
			if (caseless && fold_unsafe((unsigned char)lit))
				ls_break(s);
			else
				ls_char(s, &lit, 1);
			p += after_atom(s, p, end,
					caseless &&
					    fold_unsafe((unsigned char)lit));
			continue;
		}
		if (c == '[') {
			const char *t = skip_class(p, end);
			if (!t)
				return false;
			ls_break(s);
			p = t + quantifier(t, end, &min);
			continue;
		}
		if (c == '(') {
			if (p + 1 < end && p[1] == '*')
				return false; /* (*VERB) and start options */
			if (p + 1 < end && p[1] == '?') {
				/* (?#comment), (?flags), (?flags:...), look-
				 * arounds, named groups: flags other than
				 * i, s, m, n, U, J change how literals read. */
				if (p + 2 < end && p[2] == '#') {
					const char *t =
					    memchr(p, ')', (size_t)(end - p));
					if (!t)
						return false;
					ls_break(s);
					p = t + 1;
					continue;
				}
				const char *t = p + 2;
				bool flags = true;
				while (t < end && *t != ')' && *t != ':') {
					if (!*t || !strchr("imsnUJ-^", *t)) {
						flags = false;
						break;
					}
					t++;
				}
				if (flags && t < end && *t == ')') {
					/* Caseless was applied to the whole
					 * pattern by the caller's pre-scan. */
					ls_break(s);
					p = t + 1;
					continue;
				}
			}
			const char *t = skip_group(p, end);
			if (!t)
				return false;
			ls_break(s);
			p = t + quantifier(t, end, &min);
			continue;
		}
		if (c == ')')
			return false;
		if (c == '.') {
			ls_break(s);
			p++;
			p += quantifier(p, end, &min);
			continue;
		}
		if (c == '^' || c == '$') {
			ls_break(s);
			p++;
			continue;
		}
		if (c == '*' || c == '+' || c == '?')
			return false; /* a quantifier without anything */
		if (c == '{') {
			/* A literal '{' unless it is a quantifier, which would
			 * have been read after its atom: read it as a break. */
			ls_break(s);
			p++;
			continue;
		}
		size_t k = utf8_len(c);
		if ((size_t)(end - p) < k)
			return false;
		bool unsafe = caseless && (c >= 0x80 || fold_unsafe(c));
		if (unsafe)
			ls_break(s);
		else
			ls_char(s, p, k);
		p += k;
		p += after_atom(s, p, end, unsafe);
	}
	ls_break(s);
	return true;
}

/* True if the regex sets inline flag f anywhere ((?f) or (?f:).
 * 'i' (caseless): applying it to the whole pattern only widens the
 * prefilter. 'x' (extended: whitespace and comments are not literal):
 * then no literal is trusted. A flag after '-' counts too: both uses
 * only make the prefilter more careful. */
static bool regex_flag(const char *p, size_t len, char f)
{
	for (size_t i = 0; i + 2 < len; i++) {
		if (p[i] == '\\') {
			i++;
			continue;
		}
		if (p[i] == '(' && p[i + 1] == '?') {
			for (size_t j = i + 2;
			     j < len && p[j] && strchr("imsxnUJ-^", p[j]); j++)
				if (p[j] == f)
					return true;
		}
	}
	return false;
}

int manchor_literals(const char *pat, size_t len, bool like, struct mlits *l)
{
	memset(l, 0, sizeof(*l));
	struct lscan s;
	if (like) {
		/* LIKE: % and _ are wildcards; a backslash may be an escape
		 * in some readings, so it breaks a literal too. */
		memset(&s, 0, sizeof(s));
		for (size_t i = 0; i < len; i++) {
			char c = pat[i];
			if (c == '%' || c == '_' || c == '\\')
				ls_break(&s);
			else
				ls_char(&s, &c, 1);
		}
		ls_break(&s);
		if (!s.best_n)
			return 0;
		memcpy(l->buf, s.best, s.best_n);
		l->off[0] = 0;
		l->len[0] = (uint32_t)s.best_n;
		l->n = 1;
		return 1;
	}
	if (regex_flag(pat, len, 'x'))
		return 0;
	l->caseless = regex_flag(pat, len, 'i');
	/* Split at top-level '|': every branch needs its own literal. */
	const char *end = pat + len, *b = pat, *p = pat;
	int depth = 0;
	size_t used = 0;
	for (;;) {
		bool split = p >= end;
		if (!split) {
			if (*p == '\\') {
				if (p + 1 < end && p[1] == 'Q') {
					const char *e = p + 2;
					while (e + 1 < end &&
					       !(e[0] == '\\' && e[1] == 'E'))
						e++;
					p = e + 1 < end ? e + 2 : end;
				} else {
					p += 2;
				}
				if (p > end)
					p = end;
				continue;
			}
			if (*p == '[') {
				const char *t = skip_class(p, end);
				if (!t)
					return 0;
				p = t;
				continue;
			}
			if (*p == '(')
				depth++;
			else if (*p == ')')
				depth--;
			split = depth == 0 && *p == '|';
			if (depth < 0)
				return 0;
		}
		if (split) {
			if (l->n == MLIT_BRANCHES)
				return 0;
			memset(&s, 0, sizeof(s));
			if (!scan_branch(b, p, l->caseless, &s) || !s.best_n)
				return 0;
			if (used + s.best_n > sizeof(l->buf))
				return 0;
			memcpy(l->buf + used, s.best, s.best_n);
			l->off[l->n] = (uint32_t)used;
			l->len[l->n] = (uint32_t)s.best_n;
			l->n++;
			used += s.best_n;
			if (p >= end)
				break;
			b = p + 1;
		}
		p++;
	}
	return (int)l->n;
}

/* ------------------------------------------------------------------ */
/* Atoms of one comparison                                              */
/* ------------------------------------------------------------------ */

static int push(struct matcher *m, struct manchors *out, const struct matom *a)
{
	if (out->n == out->cap) {
		uint32_t cap = out->cap ? out->cap * 2 : 16;
		struct matom *na = arena_alloc(m->tmp, cap * sizeof(*na));
		if (!na)
			return ST_ENOMEM;
		if (out->n)
			memcpy(na, out->a, out->n * sizeof(*na));
		out->a = na;
		out->cap = cap;
	}
	out->a[out->n++] = *a;
	return ST_OK;
}

/* The warninglist kind of one constant at a path. */
static enum wl_kind const_wl_kind(const struct pat_path *p, const char *s,
				  size_t len)
{
	enum wl_kind k = manchor_path_wl_kind(p);
	struct ip_prefix pfx;
	if (k == WL_KIND_OTHER && mip_parse(s, len, &pfx))
		k = WL_KIND_IP;
	return k;
}

/* One constant of = or IN as an atom; 0: not indexable (why set if it is
 * refused). */
static int const_atom(struct matcher *m, const struct pat_cmp *c,
		      const struct pat_const *v, struct matom *a,
		      struct diag *why)
{
	memset(a, 0, sizeof(*a));
	a->kind = MA_EQ;
	a->path = &c->path;
	a->cost = 1;
	switch (v->type) {
	case PAT_C_STRING: {
		a->tag = MV_STR;
		a->s = v->u.str.p;
		a->len = (uint32_t)v->u.str.len;
		if (m->cfg.warninglists) {
			enum wl_kind k = const_wl_kind(&c->path, a->s, a->len);
			const char *list =
			    wl_check(m->cfg.warninglists, k, a->s, a->len);
			if (list) {
				diag_set(why, ST_EINVAL,
					 "at %u: '%.*s' is on the warninglist "
					 "'%s'",
					 c->offset,
					 (int)(a->len > 100 ? 100 : a->len),
					 a->s, list);
				return 0;
			}
		}
		return 1;
	}
	case PAT_C_INT:
		a->tag = MV_NUM;
		a->num = (double)v->u.i;
		return 1;
	case PAT_C_FLOAT:
		if (!isfinite(v->u.f))
			return 0;
		a->tag = MV_NUM;
		a->num = v->u.f;
		return 1;
	case PAT_C_BOOL:
		a->tag = MV_BOOL;
		a->bval = v->u.b;
		return 1;
	default:
		return 0;
	}
}

static int cmp_atoms(struct matcher *m, const struct pat_cmp *c,
		     struct manchors *out, struct diag *why)
{
	if (c->negated)
		return 0;
	bool plain;
	if (!manchor_path_ok(&c->path, &plain))
		return 0;
	uint32_t n0 = out->n;
	struct matom a;
	int rc;
	switch (c->op) {
	case PAT_OP_EQ:
	case PAT_OP_IN:
		if (!c->n_vals)
			return 0;
		for (uint32_t i = 0; i < c->n_vals; i++) {
			rc = const_atom(m, c, &c->vals[i], &a, why);
			if (rc <= 0 || (rc = push(m, out, &a))) {
				out->n = n0;
				return rc < 0 ? rc : 0;
			}
		}
		return 1;
	case PAT_OP_ISSUBSET: {
		if (c->n_vals != 1 || c->vals[0].type != PAT_C_STRING)
			return 0;
		memset(&a, 0, sizeof(a));
		a.kind = MA_TRIE;
		a.path = &c->path;
		if (!mip_parse(c->vals[0].u.str.p, c->vals[0].u.str.len,
			       &a.pfx))
			return 0;
		unsigned min = a.pfx.v6 ? m->cfg.min_cidr6 : m->cfg.min_cidr4;
		if (a.pfx.len < min) {
			diag_set(why, ST_EINVAL,
				 "at %u: CIDR '%s' is broader than /%u",
				 c->offset, c->vals[0].u.str.p, min);
			return 0;
		}
		if (m->cfg.warninglists) {
			const char *list =
			    wl_check_prefix(m->cfg.warninglists, &a.pfx);
			if (list) {
				diag_set(why, ST_EINVAL,
					 "at %u: CIDR '%s' overlaps the "
					 "warninglist '%s'",
					 c->offset, c->vals[0].u.str.p, list);
				return 0;
			}
		}
		unsigned full = a.pfx.v6 ? 128 : 32;
		a.cost = 1 + (full - a.pfx.len) / 4;
		rc = push(m, out, &a);
		return rc ? rc : 1;
	}
	case PAT_OP_LIKE:
	case PAT_OP_MATCHES: {
		if (c->n_vals != 1 || c->vals[0].type != PAT_C_STRING)
			return 0;
		bool like = c->op == PAT_OP_LIKE;
		struct mlits l;
		int nl = manchor_literals(c->vals[0].u.str.p,
					  c->vals[0].u.str.len, like, &l);
		uint32_t shortest = UINT32_MAX;
		for (int i = 0; i < nl; i++)
			if (l.len[i] < shortest)
				shortest = l.len[i];
		if (nl <= 0 || shortest < m->cfg.min_literal) {
			const char *t = c->vals[0].u.str.p;
			size_t tl = c->vals[0].u.str.len;
			diag_set(why, ST_EINVAL,
				 "at %u: %s '%.*s' has no literal of %u bytes "
				 "that every match contains",
				 c->offset, like ? "LIKE" : "MATCHES",
				 (int)(tl > 100 ? 100 : tl), t,
				 m->cfg.min_literal);
			return 0;
		}
		for (int i = 0; i < nl; i++) {
			memset(&a, 0, sizeof(a));
			a.kind = MA_LIT;
			a.path = &c->path;
			a.caseless = l.caseless;
			char *copy = arena_alloc(m->tmp, l.len[i] + 1);
			if (!copy) {
				out->n = n0;
				return ST_ENOMEM;
			}
			memcpy(copy, l.buf + l.off[i], l.len[i]);
			copy[l.len[i]] = '\0';
			a.s = copy;
			a.len = l.len[i];
			a.cost = 12 - (a.len > 10 ? 10 : a.len) / 2;
			if ((rc = push(m, out, &a))) {
				out->n = n0;
				return rc;
			}
		}
		return 1;
	}
	default:
		return 0;
	}
}

static uint64_t cost_of(const struct manchors *out, uint32_t from, uint32_t to)
{
	uint64_t c = 0;
	for (uint32_t i = from; i < to; i++)
		c += out->a[i].cost;
	return c;
}

int manchor_cexpr(struct matcher *m, const struct pat_cexpr *ce,
		  struct manchors *out, struct diag *why)
{
	if (ce->kind == PAT_CE_CMP)
		return cmp_atoms(m, ce->cmp, out, why);
	uint32_t a0 = out->n;
	int rl = manchor_cexpr(m, ce->l, out, why);
	if (rl < 0)
		return rl;
	uint32_t a1 = out->n;
	int rr = manchor_cexpr(m, ce->r, out, why);
	if (rr < 0) {
		out->n = a0;
		return rr;
	}
	uint32_t a2 = out->n;
	if (ce->kind == PAT_CE_OR) {
		if (rl > 0 && rr > 0)
			return 1;
		out->n = a0;
		return 0;
	}
	/* AND: one side's anchors suffice; keep the cheaper. */
	if (rl > 0 && rr > 0) {
		if (cost_of(out, a1, a2) < cost_of(out, a0, a1)) {
			memmove(out->a + a0, out->a + a1,
				(a2 - a1) * sizeof(*out->a));
			out->n = a0 + (a2 - a1);
		} else {
			out->n = a1;
		}
		return 1;
	}
	return rl > 0 || rr > 0 ? 1 : 0;
}

/* ------------------------------------------------------------------ */
/* State windows                                                        */
/* ------------------------------------------------------------------ */

void manchor_window(const struct pat_oexpr *e, st_time *horizon, st_time *start,
		    st_time *stop)
{
	*horizon = INT64_MAX;
	*start = INT64_MIN;
	*stop = INT64_MAX;
	/* Only qualifiers at the root bound every binding. */
	while (e && (e->kind == PAT_OE_WITHIN || e->kind == PAT_OE_STARTSTOP)) {
		if (e->kind == PAT_OE_WITHIN) {
			double us = e->seconds * 1e6;
			if (us >= 0 && us < 9e18 && (st_time)us < *horizon)
				*horizon = (st_time)ceil(us);
		} else {
			if (e->start > *start)
				*start = e->start;
			if (e->stop < *stop)
				*stop = e->stop;
		}
		e = e->l;
	}
}
