/*
 * strait: the STIX pattern parser. Recursive descent over the STIX 2.1
 * grammar (STIXPattern.g4), loosest first:
 *
 *   pattern     = fb EOF
 *   fb          = or  { FOLLOWEDBY or }
 *   or          = and { OR and }
 *   and         = qualified { AND qualified }
 *   qualified   = primary { START t STOP t | WITHIN n SECONDS
 *                         | REPEATS n TIMES }
 *   primary     = '[' ce_or ']' | '(' fb ')'
 *   ce_or       = ce_and { OR ce_and }
 *   ce_and      = prop { AND prop }
 *   prop        = '(' ce_or ')' | NOT? EXISTS path
 *               | path NOT? op constant
 *
 * Chains are built left-associative, as the grammar says. Recursion only
 * happens at '(' and '[', and those are counted against max_depth.
 */
#include "pattern/pattern_int.h"

#include "common/arena.h"
#include "common/time.h"
#include "common/utf8.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct pattern_limits PATTERN_LIMITS_DEFAULT = {
    .max_len = 65536,
    .max_depth = 32,
    .max_nodes = 1024,
    .max_repeats = 1000,
    .pcre_match_limit = 100000,
    .pcre_depth_limit = 1000,
    .pcre_heap_limit = 1024,
    .max_state = 100000,
};

struct parser {
	struct lexer lx;
	struct token tok; /* the lookahead */
	struct pattern *p;
	const struct pattern_limits *lim;
	uint32_t depth;
	uint32_t nodes; /* comparisons + observation nodes */
	uint32_t cap_nodes;
	struct diag *d;
};

static int advance(struct parser *ps)
{
	return lex_next(&ps->lx, &ps->tok);
}

static int fail(struct parser *ps, int err, const char *what)
{
	return lex_fail(&ps->lx, &ps->tok, err, what);
}

static const char *tok_text(const struct parser *ps)
{
	return ps->lx.s + ps->tok.off;
}

/* Expects the lookahead to be kind and moves past it. */
static int expect(struct parser *ps, enum tok kind, const char *what)
{
	if (ps->tok.kind != kind)
		return fail(ps, ST_EINVAL, what);
	return advance(ps);
}

static void *alloc(struct parser *ps, size_t n)
{
	void *m = arena_alloc(ps->p->arena, n);
	if (m != NULL)
		memset(m, 0, n);
	return m;
}

static int nomem(struct parser *ps)
{
	return diag_set(ps->d, ST_ENOMEM, "out of memory");
}

static int count_node(struct parser *ps)
{
	if (++ps->nodes > ps->lim->max_nodes) {
		char what[96];
		snprintf(what, sizeof(what),
			 "at most %u comparisons and observation expressions",
			 ps->lim->max_nodes);
		return fail(ps, ST_ELIMIT, what);
	}
	return ST_OK;
}

static int enter(struct parser *ps)
{
	if (++ps->depth > ps->lim->max_depth) {
		char what[64];
		snprintf(what, sizeof(what), "at most %u levels of nesting",
			 ps->lim->max_depth);
		return fail(ps, ST_ELIMIT, what);
	}
	return ST_OK;
}

static int new_oexpr(struct parser *ps, enum pat_oexpr_kind kind,
		     struct pat_oexpr *l, struct pat_oexpr *r,
		     struct pat_oexpr **out)
{
	int rc = count_node(ps);
	if (rc != ST_OK)
		return rc;
	struct pattern *p = ps->p;
	if (p->n_nodes == ps->cap_nodes) {
		uint32_t cap = ps->cap_nodes ? ps->cap_nodes * 2 : 16;
		const struct oexpr_x **n =
		    realloc(p->nodes, cap * sizeof(*p->nodes));
		if (n == NULL)
			return nomem(ps);
		p->nodes = n;
		ps->cap_nodes = cap;
	}
	struct oexpr_x *x = alloc(ps, sizeof(*x));
	if (x == NULL)
		return nomem(ps);
	x->e.kind = kind;
	x->e.l = l;
	x->e.r = r;
	x->id = p->n_nodes;
	if (kind == PAT_OE_OBS)
		x->leaf = p->n_leaves++;
	p->nodes[p->n_nodes++] = x;
	*out = &x->e;
	return ST_OK;
}

/* ------------------------------------------------------------------ */
/* Constants                                                            */
/* ------------------------------------------------------------------ */

/* Copies the quoted text at off (quotes included, len bytes) with the
 * escapes resolved, NUL-terminated. */
static char *unquote(struct parser *ps, uint32_t off, uint32_t len,
		     size_t *out_len)
{
	const char *s = ps->lx.s + off + 1;
	size_t n = len - 2, o = 0;
	char *out = arena_alloc(ps->p->arena, n + 1);
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\')
			i++; /* the lexer allowed only \' and \\ */
		out[o++] = s[i];
	}
	out[o] = '\0';
	*out_len = o;
	return out;
}

/* Parses the integer token text (sign, digits) into *v; false on
 * overflow. */
static bool int_value(const char *s, size_t len, int64_t *v)
{
	bool neg = s[0] == '-';
	size_t i = s[0] == '-' || s[0] == '+' ? 1 : 0;
	uint64_t u = 0;
	uint64_t max = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < len; i++) {
		uint64_t digit = (uint64_t)(s[i] - '0');
		if (u > (max - digit) / 10)
			return false;
		u = u * 10 + digit;
	}
	if (neg)
		*v = u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u;
	else
		*v = (int64_t)u;
	return true;
}

static bool float_value(const char *s, size_t len, double *v)
{
	char buf[400];
	if (len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	char *end;
	*v = strtod(buf, &end);
	return end == buf + len && isfinite(*v);
}

/* What kinds of constant a place accepts. */
enum {
	A_STRING = 1,
	A_NUMBER = 2,
	A_BOOL = 4,
	A_BINARY = 8,
	A_TIMESTAMP = 16,
	A_PRIMITIVE = A_STRING | A_NUMBER | A_BOOL | A_BINARY | A_TIMESTAMP,
	A_ORDERABLE = A_STRING | A_NUMBER | A_BINARY | A_TIMESTAMP,
};

/* Reads the lookahead as a constant of an accepted kind into c. */
static int parse_const(struct parser *ps, unsigned accept, const char *what,
		       struct pat_const *c)
{
	const struct token *t = &ps->tok;
	const char *s = tok_text(ps);
	memset(c, 0, sizeof(*c));
	switch (t->kind) {
	case TK_STRING:
		if (!(accept & A_STRING))
			return fail(ps, ST_EINVAL, what);
		c->type = PAT_C_STRING;
		c->u.str.p = unquote(ps, t->off, t->len, &c->u.str.len);
		if (c->u.str.p == NULL)
			return nomem(ps);
		break;
	case TK_INT:
		if (!(accept & A_NUMBER))
			return fail(ps, ST_EINVAL, what);
		c->type = PAT_C_INT;
		if (!int_value(s, t->len, &c->u.i))
			return fail(ps, ST_EINVAL,
				    "an integer that fits in 64 bits");
		break;
	case TK_FLOAT:
		if (!(accept & A_NUMBER))
			return fail(ps, ST_EINVAL, what);
		c->type = PAT_C_FLOAT;
		if (!float_value(s, t->len, &c->u.f))
			return fail(ps, ST_EINVAL, "a finite number");
		break;
	case TK_BOOL:
		if (!(accept & A_BOOL))
			return fail(ps, ST_EINVAL, what);
		c->type = PAT_C_BOOL;
		c->u.b = s[0] == 't';
		break;
	case TK_BINARY:
	case TK_HEX: {
		if (!(accept & A_BINARY))
			return fail(ps, ST_EINVAL, what);
		size_t blen = t->len - 3;
		uint8_t *b = arena_alloc(ps->p->arena, blen + 1);
		if (b == NULL)
			return nomem(ps);
		long n = t->kind == TK_HEX
			     ? pat_hex_decode(s + 2, blen, b)
			     : pat_base64_decode(s + 2, blen, b, false);
		b[n] = '\0';
		c->type = PAT_C_BINARY;
		c->hex = t->kind == TK_HEX;
		c->u.str.p = (char *)b;
		c->u.str.len = (size_t)n;
		break;
	}
	case TK_TIMESTAMP:
		if (!(accept & A_TIMESTAMP))
			return fail(ps, ST_EINVAL, what);
		c->type = PAT_C_TIMESTAMP;
		ts_parse(s + 2, t->len - 3, &c->u.ts, NULL);
		break;
	default:
		return fail(ps, ST_EINVAL, what);
	}
	return advance(ps);
}

/* ------------------------------------------------------------------ */
/* Object paths                                                         */
/* ------------------------------------------------------------------ */

static char *copy_text(struct parser *ps, const char *s, size_t n)
{
	char *out = arena_alloc(ps->p->arena, n + 1);
	if (out != NULL) {
		memcpy(out, s, n);
		out[n] = '\0';
	}
	return out;
}

/* A property name: an identifier without '-', or a quoted string. */
static int parse_key(struct parser *ps, struct pat_step *st)
{
	st->kind = PAT_STEP_KEY;
	if (ps->tok.kind == TK_IDENT) {
		st->key = copy_text(ps, tok_text(ps), ps->tok.len);
	} else if (ps->tok.kind == TK_STRING) {
		size_t n;
		st->key = unquote(ps, ps->tok.off, ps->tok.len, &n);
		if (st->key != NULL && strlen(st->key) != n)
			return fail(ps, ST_EINVAL,
				    "a property name without NUL characters");
	} else {
		return fail(ps, ST_EINVAL,
			    "a property name (quote names that hold '-', "
			    "like 'SHA-256')");
	}
	if (st->key == NULL)
		return nomem(ps);
	return advance(ps);
}

static int parse_path(struct parser *ps, struct pat_path *path)
{
	struct pat_step steps[PAT_MAX_STEPS];
	uint32_t n = 0;
	int rc;
	if (ps->tok.kind != TK_IDENT && ps->tok.kind != TK_IDENT_HYPHEN)
		return fail(ps, ST_EINVAL, "an object path like file:name");
	path->type = copy_text(ps, tok_text(ps), ps->tok.len);
	if (path->type == NULL)
		return nomem(ps);
	if ((rc = advance(ps)) != ST_OK ||
	    (rc = expect(ps, TK_COLON, "':' after the object type")) != ST_OK)
		return rc;
	memset(steps, 0, sizeof(steps));
	if ((rc = parse_key(ps, &steps[n++])) != ST_OK)
		return rc;
	for (;;) {
		enum tok k = ps->tok.kind;
		if (k != TK_DOT && k != TK_LBRACK)
			break;
		if (n == PAT_MAX_STEPS) {
			char what[64];
			snprintf(what, sizeof(what),
				 "at most %d steps in an object path",
				 PAT_MAX_STEPS);
			return fail(ps, ST_ELIMIT, what);
		}
		struct pat_step *st = &steps[n++];
		if ((rc = advance(ps)) != ST_OK)
			return rc;
		if (k == TK_DOT) {
			if ((rc = parse_key(ps, st)) != ST_OK)
				return rc;
			continue;
		}
		if (ps->tok.kind == TK_STAR) {
			st->kind = PAT_STEP_ANY;
		} else if (ps->tok.kind == TK_INT) {
			st->kind = PAT_STEP_INDEX;
			if (!int_value(tok_text(ps), ps->tok.len, &st->index))
				return fail(ps, ST_EINVAL,
					    "an index that fits in 64 bits");
		} else {
			return fail(ps, ST_EINVAL, "a list index or '*'");
		}
		if ((rc = advance(ps)) != ST_OK ||
		    (rc = expect(ps, TK_RBRACK, "']' after the list index")) !=
			ST_OK)
			return rc;
	}
	path->steps = alloc(ps, n * sizeof(*steps));
	if (path->steps == NULL)
		return nomem(ps);
	memcpy(path->steps, steps, n * sizeof(*steps));
	path->n_steps = n;
	return ST_OK;
}

/* ------------------------------------------------------------------ */
/* Comparisons                                                          */
/* ------------------------------------------------------------------ */

/* The regex of a MATCHES, in UTF mode and (when it has no code point
 * above U+00FF) as Latin-1 bytes for binary values. */
static int compile_regex(struct parser *ps, struct cmp_x *cx,
			 const struct token *at)
{
	const struct pat_const *c = &cx->cmp.vals[0];
	int err;
	PCRE2_SIZE eoff;
	/* STIX 2.1 section 9.6.1: PCRE with DOTALL, searching. */
	cx->re =
	    pcre2_compile((PCRE2_SPTR)c->u.str.p, c->u.str.len,
			  PCRE2_UTF | PCRE2_DOTALL | PCRE2_NEVER_BACKSLASH_C,
			  &err, &eoff, NULL);
	if (cx->re == NULL) {
		PCRE2_UCHAR msg[128];
		char found[96];
		pcre2_get_error_message(err, msg, sizeof(msg));
		lex_describe(&ps->lx, at, found, sizeof(found));
		return diag_set(ps->d, ST_EINVAL,
				"at %u: expected a regular expression PCRE2 "
				"can compile, found %s (%s at offset %zu of "
				"the expression)",
				at->off, found, (const char *)msg,
				(size_t)eoff);
	}
	cx->next_re = ps->p->regexes;
	ps->p->regexes = cx;
	pcre2_jit_compile(cx->re, PCRE2_JIT_COMPLETE);
	if (!pat_utf8_is_latin1(c->u.str.p, c->u.str.len))
		return ST_OK;
	/* Binary values are matched byte by byte, as the reference matcher
	 * does: the expression's code points become bytes. */
	size_t n = 0;
	uint8_t *b = arena_alloc(ps->p->arena, c->u.str.len + 1);
	if (b == NULL)
		return nomem(ps);
	const unsigned char *s = (const unsigned char *)c->u.str.p;
	for (size_t i = 0; i < c->u.str.len; i++) {
		if (s[i] >= 0xc0) {
			b[n++] =
			    (uint8_t)(((s[i] & 0x1f) << 6) | (s[i + 1] & 0x3f));
			i++;
		} else {
			b[n++] = s[i];
		}
	}
	cx->re_bin =
	    pcre2_compile((PCRE2_SPTR)b, n, PCRE2_DOTALL, &err, &eoff, NULL);
	if (cx->re_bin != NULL)
		pcre2_jit_compile(cx->re_bin, PCRE2_JIT_COMPLETE);
	return ST_OK;
}

static bool same_set_type(const struct pat_const *a, const struct pat_const *b)
{
	bool na = a->type == PAT_C_INT || a->type == PAT_C_FLOAT;
	bool nb = b->type == PAT_C_INT || b->type == PAT_C_FLOAT;
	return a->type == b->type || (na && nb);
}

/* ( c, c, ... ): all of one type (integers and floats mix). */
static int parse_set(struct parser *ps, struct pat_cmp *cmp)
{
	int rc = expect(ps, TK_LPAREN, "'(' to open the set after IN");
	if (rc != ST_OK)
		return rc;
	struct pat_const *vals = NULL;
	uint32_t n = 0, cap = 0;
	if (ps->tok.kind != TK_RPAREN) {
		for (;;) {
			if (n == cap) {
				uint32_t ncap = cap ? cap * 2 : 8;
				struct pat_const *nv =
				    alloc(ps, ncap * sizeof(*nv));
				if (nv == NULL)
					return nomem(ps);
				if (n > 0)
					memcpy(nv, vals, n * sizeof(*nv));
				vals = nv;
				cap = ncap;
			}
			struct token at = ps->tok;
			rc = parse_const(ps, A_PRIMITIVE, "a constant",
					 &vals[n]);
			if (rc != ST_OK)
				return rc;
			if (n > 0 && !same_set_type(&vals[0], &vals[n])) {
				ps->tok = at;
				return fail(ps, ST_EINVAL,
					    "a constant of the same type as "
					    "the set's first");
			}
			n++;
			if (ps->tok.kind != TK_COMMA)
				break;
			if ((rc = advance(ps)) != ST_OK)
				return rc;
		}
	}
	if ((rc = expect(ps, TK_RPAREN, "',' or ')' in the set")) != ST_OK)
		return rc;
	cmp->vals = vals;
	cmp->n_vals = n;
	return ST_OK;
}

static const struct {
	enum tok tok;
	enum pat_op op;
	unsigned accept;
	const char *what;
} ops[] = {
    {TK_EQ, PAT_OP_EQ, A_PRIMITIVE, "a constant"},
    {TK_NEQ, PAT_OP_NE, A_PRIMITIVE, "a constant"},
    {TK_LT, PAT_OP_LT, A_ORDERABLE, "a string, number, binary or timestamp"},
    {TK_LE, PAT_OP_LE, A_ORDERABLE, "a string, number, binary or timestamp"},
    {TK_GT, PAT_OP_GT, A_ORDERABLE, "a string, number, binary or timestamp"},
    {TK_GE, PAT_OP_GE, A_ORDERABLE, "a string, number, binary or timestamp"},
    {TK_IN, PAT_OP_IN, 0, NULL},
    {TK_LIKE, PAT_OP_LIKE, A_STRING, "a string after LIKE"},
    {TK_MATCHES, PAT_OP_MATCHES, A_STRING, "a string after MATCHES"},
    {TK_ISSUBSET, PAT_OP_ISSUBSET, A_STRING, "a string after ISSUBSET"},
    {TK_ISSUPERSET, PAT_OP_ISSUPERSET, A_STRING, "a string after ISSUPERSET"},
};

static int parse_cmp(struct parser *ps, struct pat_cexpr **out)
{
	struct token start = ps->tok;
	int rc = count_node(ps);
	if (rc != ST_OK)
		return rc;
	struct cmp_x *cx = alloc(ps, sizeof(*cx));
	struct pat_cexpr *ce = alloc(ps, sizeof(*ce));
	if (cx == NULL || ce == NULL)
		return nomem(ps);
	struct pat_cmp *cmp = &cx->cmp;
	cmp->offset = start.off;
	ce->kind = PAT_CE_CMP;
	ce->cmp = cmp;
	*out = ce;

	if (ps->tok.kind == TK_NOT || ps->tok.kind == TK_EXISTS) {
		if (ps->tok.kind == TK_NOT) {
			cmp->negated = true;
			if ((rc = advance(ps)) != ST_OK)
				return rc;
			if (ps->tok.kind != TK_EXISTS)
				return fail(ps, ST_EINVAL, "EXISTS after NOT");
		}
		cmp->op = PAT_OP_EXISTS;
		if ((rc = advance(ps)) != ST_OK)
			return rc;
		return parse_path(ps, &cmp->path);
	}
	if ((rc = parse_path(ps, &cmp->path)) != ST_OK)
		return rc;
	if (ps->tok.kind == TK_NOT) {
		cmp->negated = true;
		if ((rc = advance(ps)) != ST_OK)
			return rc;
	}
	size_t k = 0;
	while (k < sizeof(ops) / sizeof(ops[0]) && ops[k].tok != ps->tok.kind)
		k++;
	if (k == sizeof(ops) / sizeof(ops[0]))
		return fail(ps, ST_EINVAL,
			    "a comparison operator (=, !=, <, <=, >, >=, IN, "
			    "LIKE, MATCHES, ISSUBSET or ISSUPERSET)");
	cmp->op = ops[k].op;
	if ((rc = advance(ps)) != ST_OK)
		return rc;
	if (cmp->op == PAT_OP_IN)
		return parse_set(ps, cmp);
	struct token at = ps->tok;
	cmp->vals = alloc(ps, sizeof(*cmp->vals));
	if (cmp->vals == NULL)
		return nomem(ps);
	cmp->n_vals = 1;
	if ((rc = parse_const(ps, ops[k].accept, ops[k].what, cmp->vals)) !=
	    ST_OK)
		return rc;
	struct pat_const *c = &cmp->vals[0];
	if (cmp->op == PAT_OP_LIKE || cmp->op == PAT_OP_MATCHES) {
		/* Both sides of LIKE and MATCHES are compared in NFC. */
		char *norm;
		size_t nlen;
		rc = pat_nfc(c->u.str.p, c->u.str.len, &norm, &nlen);
		if (rc < 0)
			return nomem(ps);
		if (rc == 1) {
			c->u.str.p = copy_text(ps, norm, nlen);
			c->u.str.len = nlen;
			free(norm);
			if (c->u.str.p == NULL)
				return nomem(ps);
		}
	}
	switch (cmp->op) {
	case PAT_OP_MATCHES:
		return compile_regex(ps, cx, &at);
	case PAT_OP_ISSUBSET:
	case PAT_OP_ISSUPERSET:
		if (!ip_parse(c->u.str.p, c->u.str.len, &cx->ip)) {
			ps->tok = at;
			return fail(ps, ST_EINVAL,
				    "an IPv4 or IPv6 address or CIDR block");
		}
		return ST_OK;
	case PAT_OP_LIKE:
		cx->like_latin1 = pat_utf8_is_latin1(c->u.str.p, c->u.str.len);
		return ST_OK;
	default:
		return ST_OK;
	}
}

static int parse_ce_or(struct parser *ps, struct pat_cexpr **out);

/* A comparison or a parenthesised comparison expression. */
static int parse_prop(struct parser *ps, struct pat_cexpr **out)
{
	if (ps->tok.kind != TK_LPAREN)
		return parse_cmp(ps, out);
	int rc = enter(ps);
	if (rc != ST_OK || (rc = advance(ps)) != ST_OK ||
	    (rc = parse_ce_or(ps, out)) != ST_OK ||
	    (rc = expect(ps, TK_RPAREN, "AND, OR or ')'")) != ST_OK)
		return rc;
	ps->depth--;
	return ST_OK;
}

static int ce_binary(struct parser *ps, enum pat_cexpr_kind kind,
		     struct pat_cexpr *l, struct pat_cexpr *r,
		     struct pat_cexpr **out)
{
	struct pat_cexpr *ce = alloc(ps, sizeof(*ce));
	if (ce == NULL)
		return nomem(ps);
	ce->kind = kind;
	ce->l = l;
	ce->r = r;
	*out = ce;
	return ST_OK;
}

static int parse_ce_and(struct parser *ps, struct pat_cexpr **out)
{
	int rc = parse_prop(ps, out);
	while (rc == ST_OK && ps->tok.kind == TK_AND) {
		struct pat_cexpr *r;
		if ((rc = advance(ps)) != ST_OK ||
		    (rc = parse_prop(ps, &r)) != ST_OK)
			return rc;
		rc = ce_binary(ps, PAT_CE_AND, *out, r, out);
	}
	return rc;
}

static int parse_ce_or(struct parser *ps, struct pat_cexpr **out)
{
	int rc = parse_ce_and(ps, out);
	while (rc == ST_OK && ps->tok.kind == TK_OR) {
		struct pat_cexpr *r;
		if ((rc = advance(ps)) != ST_OK ||
		    (rc = parse_ce_and(ps, &r)) != ST_OK)
			return rc;
		rc = ce_binary(ps, PAT_CE_OR, *out, r, out);
	}
	return rc;
}

/* ------------------------------------------------------------------ */
/* Observation expressions                                              */
/* ------------------------------------------------------------------ */

static int parse_fb(struct parser *ps, struct pat_oexpr **out);

static int parse_primary(struct parser *ps, struct pat_oexpr **out)
{
	int rc;
	if (ps->tok.kind == TK_LPAREN) {
		if ((rc = enter(ps)) != ST_OK || (rc = advance(ps)) != ST_OK ||
		    (rc = parse_fb(ps, out)) != ST_OK ||
		    (rc = expect(ps, TK_RPAREN,
				 "AND, OR, FOLLOWEDBY, a qualifier or ')'")) !=
			ST_OK)
			return rc;
		ps->depth--;
		return ST_OK;
	}
	if (ps->tok.kind != TK_LBRACK)
		return fail(ps, ST_EINVAL, "'[' or '('");
	if ((rc = enter(ps)) != ST_OK ||
	    (rc = new_oexpr(ps, PAT_OE_OBS, NULL, NULL, out)) != ST_OK ||
	    (rc = advance(ps)) != ST_OK ||
	    (rc = parse_ce_or(ps, &(*out)->cexpr)) != ST_OK ||
	    (rc = expect(ps, TK_RBRACK, "AND, OR or ']'")) != ST_OK)
		return rc;
	ps->depth--;
	return ST_OK;
}

/* The positive integer or float of WITHIN / REPEATS. */
static int positive_number(struct parser *ps, bool allow_float, double *v)
{
	const char *s = tok_text(ps);
	const char *what = allow_float
			       ? "a number of seconds greater than 0"
			       : "a whole number of repetitions greater than 0";
	if ((ps->tok.kind != TK_INT &&
	     (ps->tok.kind != TK_FLOAT || !allow_float)) ||
	    s[0] == '-')
		return fail(ps, ST_EINVAL, what);
	if (ps->tok.kind == TK_INT) {
		int64_t i;
		*v = int_value(s, ps->tok.len, &i) ? (double)i : INFINITY;
	} else if (!float_value(s, ps->tok.len, v)) {
		*v = INFINITY;
	}
	if (!(*v > 0))
		return fail(ps, ST_EINVAL, what);
	return ST_OK;
}

/* An observation expression and its qualifiers, at most one of each kind
 * (STIX 2.1 section 9.5.1). */
static int parse_qualified(struct parser *ps, struct pat_oexpr **out)
{
	int rc = parse_primary(ps, out);
	unsigned seen = 0;
	while (rc == ST_OK) {
		enum tok k = ps->tok.kind;
		struct pat_oexpr *q;
		double v;
		unsigned bit = k == TK_START	 ? 1u
			       : k == TK_WITHIN	 ? 2u
			       : k == TK_REPEATS ? 4u
						 : 0u;
		if (bit & seen)
			return fail(ps, ST_EINVAL,
				    "one qualifier of each kind at most (put "
				    "the expression in parentheses to qualify "
				    "it again)");
		seen |= bit;
		if (k == TK_START) {
			st_time start, stop;
			if ((rc = advance(ps)) != ST_OK)
				return rc;
			if (ps->tok.kind != TK_TIMESTAMP)
				return fail(ps, ST_EINVAL,
					    "a timestamp t'...' after START");
			ts_parse(tok_text(ps) + 2, ps->tok.len - 3, &start,
				 NULL);
			if ((rc = advance(ps)) != ST_OK ||
			    (rc = expect(ps, TK_STOP, "STOP")) != ST_OK)
				return rc;
			if (ps->tok.kind != TK_TIMESTAMP)
				return fail(ps, ST_EINVAL,
					    "a timestamp t'...' after STOP");
			ts_parse(tok_text(ps) + 2, ps->tok.len - 3, &stop,
				 NULL);
			if (stop <= start)
				return fail(ps, ST_EINVAL,
					    "a STOP time later than START");
			if ((rc = advance(ps)) != ST_OK ||
			    (rc = new_oexpr(ps, PAT_OE_STARTSTOP, *out, NULL,
					    &q)) != ST_OK)
				return rc;
			q->start = start;
			q->stop = stop;
		} else if (k == TK_WITHIN) {
			if ((rc = advance(ps)) != ST_OK ||
			    (rc = positive_number(ps, true, &v)) != ST_OK ||
			    (rc = advance(ps)) != ST_OK ||
			    (rc = expect(ps, TK_SECONDS, "SECONDS")) != ST_OK ||
			    (rc = new_oexpr(ps, PAT_OE_WITHIN, *out, NULL,
					    &q)) != ST_OK)
				return rc;
			q->seconds = v;
			/* Microseconds, capped far beyond any real span. */
			((struct oexpr_x *)(void *)q)->within_us =
			    v > 9.0e12 ? (int64_t)9.0e18 : llround(v * 1e6);
		} else if (k == TK_REPEATS) {
			if ((rc = advance(ps)) != ST_OK ||
			    (rc = positive_number(ps, false, &v)) != ST_OK)
				return rc;
			if (v > ps->lim->max_repeats) {
				char what[64];
				snprintf(what, sizeof(what),
					 "at most %u repetitions",
					 ps->lim->max_repeats);
				return fail(ps, ST_ELIMIT, what);
			}
			if ((rc = advance(ps)) != ST_OK ||
			    (rc = expect(ps, TK_TIMES, "TIMES")) != ST_OK ||
			    (rc = new_oexpr(ps, PAT_OE_REPEATS, *out, NULL,
					    &q)) != ST_OK)
				return rc;
			q->repeats = (uint32_t)v;
		} else {
			break;
		}
		*out = q;
	}
	return rc;
}

static int parse_and(struct parser *ps, struct pat_oexpr **out)
{
	int rc = parse_qualified(ps, out);
	while (rc == ST_OK && ps->tok.kind == TK_AND) {
		struct pat_oexpr *r;
		if ((rc = advance(ps)) != ST_OK ||
		    (rc = parse_qualified(ps, &r)) != ST_OK)
			return rc;
		rc = new_oexpr(ps, PAT_OE_AND, *out, r, out);
	}
	return rc;
}

static int parse_or(struct parser *ps, struct pat_oexpr **out)
{
	int rc = parse_and(ps, out);
	while (rc == ST_OK && ps->tok.kind == TK_OR) {
		struct pat_oexpr *r;
		if ((rc = advance(ps)) != ST_OK ||
		    (rc = parse_and(ps, &r)) != ST_OK)
			return rc;
		rc = new_oexpr(ps, PAT_OE_OR, *out, r, out);
	}
	return rc;
}

static int parse_fb(struct parser *ps, struct pat_oexpr **out)
{
	int rc = parse_or(ps, out);
	while (rc == ST_OK && ps->tok.kind == TK_FOLLOWEDBY) {
		struct pat_oexpr *r;
		if ((rc = advance(ps)) != ST_OK ||
		    (rc = parse_or(ps, &r)) != ST_OK)
			return rc;
		rc = new_oexpr(ps, PAT_OE_FOLLOWEDBY, *out, r, out);
	}
	return rc;
}

/* ------------------------------------------------------------------ */
/* The public entry points                                              */
/* ------------------------------------------------------------------ */

int pattern_parse(const char *text, size_t len,
		  const struct pattern_limits *lim, struct pattern **out,
		  struct diag *d)
{
	if (lim == NULL)
		lim = &PATTERN_LIMITS_DEFAULT;
	*out = NULL;
	if (text == NULL && len > 0)
		return diag_set(d, ST_EINVAL,
				"at 0: expected a pattern, "
				"found nothing");
	if (len > lim->max_len)
		return diag_set(d, ST_ELIMIT,
				"at %u: expected at most %u bytes of pattern, "
				"found %zu",
				lim->max_len, lim->max_len, len);
	long bad = utf8_invalid_offset(text, len);
	if (bad >= 0)
		return diag_set(
		    d, ST_EINVAL,
		    "at %ld: expected UTF-8 text, found byte 0x%02x", bad,
		    (unsigned)(unsigned char)text[bad]);

	struct pattern *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	p->lim = *lim;
	p->arena = arena_new(len < 2048 ? 4096 : len * 4);
	struct parser ps = {
	    .lx = {text != NULL ? text : "", len, 0, d},
	    .p = p,
	    .lim = lim,
	    .d = d,
	};
	int rc = p->arena != NULL ? ST_OK : nomem(&ps);
	if (rc == ST_OK)
		rc = advance(&ps);
	if (rc == ST_OK)
		rc = parse_fb(&ps, &p->root);
	if (rc == ST_OK && ps.tok.kind != TK_EOF)
		rc = fail(&ps, ST_EINVAL,
			  "AND, OR, FOLLOWEDBY, a qualifier or the end of the "
			  "pattern");
	if (rc == ST_OK) {
		p->mctx = pcre2_match_context_create(NULL);
		if (p->mctx == NULL) {
			rc = nomem(&ps);
		} else {
			pcre2_set_match_limit(p->mctx, lim->pcre_match_limit);
			pcre2_set_depth_limit(p->mctx, lim->pcre_depth_limit);
			pcre2_set_heap_limit(p->mctx, lim->pcre_heap_limit);
		}
	}
	if (rc != ST_OK) {
		pattern_free(p);
		return rc;
	}
	*out = p;
	return ST_OK;
}

void pattern_free(struct pattern *p)
{
	if (p == NULL)
		return;
	for (struct cmp_x *cx = p->regexes; cx != NULL; cx = cx->next_re) {
		pcre2_code_free(cx->re);
		pcre2_code_free(cx->re_bin);
	}
	pcre2_match_context_free(p->mctx);
	free(p->nodes);
	arena_free(p->arena);
	free(p);
}

const struct pat_oexpr *pattern_root(const struct pattern *p)
{
	return p->root;
}

bool pattern_is_stateful(const struct pattern *p)
{
	return p->root->kind != PAT_OE_OBS;
}
