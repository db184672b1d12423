/*
 * Unit tests of the STIX pattern parser (src/pattern/lex.c, parse.c).
 *
 * Valid patterns are printed back from their tree in a small prefix form
 * and compared with what the grammar (STIX 2.1, STIXPattern.g4) says they
 * mean: precedence, associativity, qualifiers, every constant type, every
 * operator with and without NOT. Invalid ones must fail with the exact
 * message, including the byte offset.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/buf.h"
#include "pattern/pattern.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Printing the tree                                                    */
/* ------------------------------------------------------------------ */

static const char *op_name(enum pat_op op)
{
	switch (op) {
	case PAT_OP_EQ:
		return "=";
	case PAT_OP_NE:
		return "!=";
	case PAT_OP_LT:
		return "<";
	case PAT_OP_LE:
		return "<=";
	case PAT_OP_GT:
		return ">";
	case PAT_OP_GE:
		return ">=";
	case PAT_OP_IN:
		return "IN";
	case PAT_OP_LIKE:
		return "LIKE";
	case PAT_OP_MATCHES:
		return "MATCHES";
	case PAT_OP_ISSUBSET:
		return "ISSUBSET";
	case PAT_OP_ISSUPERSET:
		return "ISSUPERSET";
	case PAT_OP_EXISTS:
		return "EXISTS";
	}
	return "?";
}

static void print_const(struct buf *b, const struct pat_const *c)
{
	switch (c->type) {
	case PAT_C_STRING:
		buf_printf(b, "s'%s'", c->u.str.p);
		break;
	case PAT_C_INT:
		buf_printf(b, "i%lld", (long long)c->u.i);
		break;
	case PAT_C_FLOAT:
		buf_printf(b, "f%g", c->u.f);
		break;
	case PAT_C_BOOL:
		buf_printf(b, "%s", c->u.b ? "true" : "false");
		break;
	case PAT_C_BINARY:
		buf_printf(b, "%s", c->hex ? "h" : "b");
		for (size_t i = 0; i < c->u.str.len; i++)
			buf_printf(b, "%02x", (unsigned char)c->u.str.p[i]);
		break;
	case PAT_C_TIMESTAMP:
		buf_printf(b, "t%lld", (long long)c->u.ts);
		break;
	}
}

static void print_path(struct buf *b, const struct pat_path *p)
{
	buf_printf(b, "%s:", p->type);
	for (uint32_t i = 0; i < p->n_steps; i++) {
		const struct pat_step *s = &p->steps[i];
		if (s->kind == PAT_STEP_KEY)
			buf_printf(b, "%s%s", i ? "." : "", s->key);
		else if (s->kind == PAT_STEP_INDEX)
			buf_printf(b, "[%lld]", (long long)s->index);
		else
			buf_printf(b, "[*]");
	}
}

static void print_cexpr(struct buf *b, const struct pat_cexpr *ce)
{
	if (ce->kind != PAT_CE_CMP) {
		buf_printf(b, "(%s ", ce->kind == PAT_CE_AND ? "and" : "or");
		print_cexpr(b, ce->l);
		buf_printf(b, " ");
		print_cexpr(b, ce->r);
		buf_printf(b, ")");
		return;
	}
	const struct pat_cmp *c = ce->cmp;
	print_path(b, &c->path);
	buf_printf(b, " %s%s", c->negated ? "NOT " : "", op_name(c->op));
	if (c->op == PAT_OP_EXISTS)
		return;
	buf_printf(b, " ");
	if (c->op == PAT_OP_IN)
		buf_printf(b, "(");
	for (uint32_t i = 0; i < c->n_vals; i++) {
		if (i)
			buf_printf(b, " ");
		print_const(b, &c->vals[i]);
	}
	if (c->op == PAT_OP_IN)
		buf_printf(b, ")");
}

static void print_oexpr(struct buf *b, const struct pat_oexpr *e)
{
	switch (e->kind) {
	case PAT_OE_OBS:
		buf_printf(b, "[");
		print_cexpr(b, e->cexpr);
		buf_printf(b, "]");
		return;
	case PAT_OE_AND:
	case PAT_OE_OR:
	case PAT_OE_FOLLOWEDBY:
		buf_printf(b, "(%s ",
			   e->kind == PAT_OE_AND  ? "AND"
			   : e->kind == PAT_OE_OR ? "OR"
						  : "FB");
		print_oexpr(b, e->l);
		buf_printf(b, " ");
		print_oexpr(b, e->r);
		buf_printf(b, ")");
		return;
	case PAT_OE_REPEATS:
		buf_printf(b, "(REPEATS %u ", e->repeats);
		break;
	case PAT_OE_WITHIN:
		buf_printf(b, "(WITHIN %g ", e->seconds);
		break;
	case PAT_OE_STARTSTOP:
		buf_printf(b, "(START %lld %lld ", (long long)e->start,
			   (long long)e->stop);
		break;
	}
	print_oexpr(b, e->l);
	buf_printf(b, ")");
}

/* ------------------------------------------------------------------ */
/* Valid patterns                                                       */
/* ------------------------------------------------------------------ */

struct ok_case {
	const char *pattern;
	const char *tree;
	bool stateful;
};

/* 2020-01-01T00:00:00Z in microseconds. */
#define T2020 "1577836800000000"

static const struct ok_case ok_cases[] = {
    /* Every operator, with and without NOT. */
    {"[file:name = 'a']", "[file:name = s'a']", false},
    {"[file:name == 'a']", "[file:name = s'a']", false},
    {"[file:name NOT = 'a']", "[file:name NOT = s'a']", false},
    {"[file:name != 'a']", "[file:name != s'a']", false},
    {"[file:name <> 'a']", "[file:name != s'a']", false},
    {"[file:name NOT != 'a']", "[file:name NOT != s'a']", false},
    {"[file:size < 5]", "[file:size < i5]", false},
    {"[file:size NOT < 5]", "[file:size NOT < i5]", false},
    {"[file:size <= 5]", "[file:size <= i5]", false},
    {"[file:size NOT <= 5]", "[file:size NOT <= i5]", false},
    {"[file:size > 5]", "[file:size > i5]", false},
    {"[file:size NOT > 5]", "[file:size NOT > i5]", false},
    {"[file:size >= 5]", "[file:size >= i5]", false},
    {"[file:size NOT >= 5]", "[file:size NOT >= i5]", false},
    {"[file:size IN (1, 2, 3)]", "[file:size IN (i1 i2 i3)]", false},
    {"[file:size NOT IN (1, 2.5)]", "[file:size NOT IN (i1 f2.5)]", false},
    {"[file:size IN ()]", "[file:size IN ()]", false},
    {"[file:name LIKE 'a%_']", "[file:name LIKE s'a%_']", false},
    {"[file:name NOT LIKE 'a%']", "[file:name NOT LIKE s'a%']", false},
    {"[file:name MATCHES '^a.*$']", "[file:name MATCHES s'^a.*$']", false},
    {"[file:name NOT MATCHES 'x']", "[file:name NOT MATCHES s'x']", false},
    /* LIKE and MATCHES constants are kept in NFC; = keeps them as
     * written. */
    {"[file:name LIKE 'cafe\xcc\x81%']", "[file:name LIKE s'caf\xc3\xa9%']",
     false},
    {"[file:name MATCHES 'e\xcc\x81']", "[file:name MATCHES s'\xc3\xa9']",
     false},
    {"[file:name = 'e\xcc\x81']", "[file:name = s'e\xcc\x81']", false},
    {"[ipv4-addr:value ISSUBSET '10.0.0.0/8']",
     "[ipv4-addr:value ISSUBSET s'10.0.0.0/8']", false},
    {"[ipv4-addr:value NOT ISSUBSET '10.0.0.0/8']",
     "[ipv4-addr:value NOT ISSUBSET s'10.0.0.0/8']", false},
    {"[ipv6-addr:value ISSUPERSET '2001:db8::1']",
     "[ipv6-addr:value ISSUPERSET s'2001:db8::1']", false},
    {"[ipv4-addr:value NOT ISSUPERSET '0.0.0.0/0']",
     "[ipv4-addr:value NOT ISSUPERSET s'0.0.0.0/0']", false},
    {"[EXISTS file:name]", "[file:name EXISTS]", false},
    {"[NOT EXISTS file:name]", "[file:name NOT EXISTS]", false},

    /* Every constant type. */
    {"[x:a = 'it\\'s \\\\ ok']", "[x:a = s'it's \\ ok']", false},
    {"[x:a = '']", "[x:a = s'']", false},
    {"[x:a = 0]", "[x:a = i0]", false},
    {"[x:a = -7]", "[x:a = i-7]", false},
    {"[x:a = +7]", "[x:a = i7]", false},
    {"[x:a = 9223372036854775807]", "[x:a = i9223372036854775807]", false},
    {"[x:a = -9223372036854775808]", "[x:a = i-9223372036854775808]", false},
    {"[x:a = 1.5]", "[x:a = f1.5]", false},
    {"[x:a = -0.25]", "[x:a = f-0.25]", false},
    {"[x:a = .5]", "[x:a = f0.5]", false},
    {"[x:a = 007.5]", "[x:a = f7.5]", false},
    {"[x:a = true]", "[x:a = true]", false},
    {"[x:a = false]", "[x:a = false]", false},
    {"[x:a = b'AQIDBA==']", "[x:a = b01020304]", false},
    {"[x:a = b'YWxpY2U=']", "[x:a = b616c696365]", false},
    {"[x:a = b'YWJj']", "[x:a = b616263]", false},
    {"[x:a = h'010203ff']", "[x:a = h010203ff]", false},
    {"[x:a = h'ABcd']", "[x:a = habcd]", false},
    {"[x:a = h'']", "[x:a = h]", false},
    {"[x:a = t'2020-01-01T00:00:00Z']", "[x:a = t" T2020 "]", false},
    {"[x:a = t'2020-01-01T00:00:00.5Z']", "[x:a = t1577836800500000]", false},
    {"[x:a IN ('a', 'b')]", "[x:a IN (s'a' s'b')]", false},
    {"[x:a IN (b'AQ==', h'02')]", "[x:a IN (b01 h02)]", false},
    {"[x:a IN (t'2020-01-01T00:00:00Z')]", "[x:a IN (t" T2020 ")]", false},
    {"[x:a IN (true, false)]", "[x:a IN (true false)]", false},

    /* Object paths. */
    {"[file:hashes.'SHA-256' = 'x']", "[file:hashes.SHA-256 = s'x']", false},
    {"[file:hashes.MD5 = 'x']", "[file:hashes.MD5 = s'x']", false},
    {"[x-custom-type:'quoted key' = 1]", "[x-custom-type:quoted key = i1]",
     false},
    {"[network-traffic:src_ref.value = 'x']",
     "[network-traffic:src_ref.value = s'x']", false},
    {"[email-message:to_refs[*].value = 'x']",
     "[email-message:to_refs[*].value = s'x']", false},
    {"[x:list[0] = 1]", "[x:list[0] = i1]", false},
    {"[x:list[-1] = 1]", "[x:list[-1] = i1]", false},
    {"[x:a.b[2].c[*].d = 1]", "[x:a.b[2].c[*].d = i1]", false},
    {"[ x : a . b [ 1 ] = 1 ]", "[x:a.b[1] = i1]", false},

    /* Inside brackets: AND binds tighter than OR, both left-associative,
     * parentheses group. */
    {"[x:a = 1 AND x:b = 2]", "[(and x:a = i1 x:b = i2)]", false},
    {"[x:a = 1 OR x:b = 2 AND x:c = 3]",
     "[(or x:a = i1 (and x:b = i2 x:c = i3))]", false},
    {"[x:a = 1 AND x:b = 2 OR x:c = 3]",
     "[(or (and x:a = i1 x:b = i2) x:c = i3)]", false},
    {"[(x:a = 1 OR x:b = 2) AND x:c = 3]",
     "[(and (or x:a = i1 x:b = i2) x:c = i3)]", false},
    {"[x:a = 1 OR x:b = 2 OR x:c = 3]",
     "[(or (or x:a = i1 x:b = i2) x:c = i3)]", false},
    {"[x:a = 1 AND x:b = 2 AND x:c = 3]",
     "[(and (and x:a = i1 x:b = i2) x:c = i3)]", false},
    {"[((x:a = 1))]", "[x:a = i1]", false},

    /* Observation expressions: FOLLOWEDBY loosest, then OR, then AND;
     * qualifiers bind to the observation expression before them. */
    {"[x:a = 1] AND [x:b = 2]", "(AND [x:a = i1] [x:b = i2])", true},
    {"[x:a = 1] OR [x:b = 2]", "(OR [x:a = i1] [x:b = i2])", true},
    {"[x:a = 1] FOLLOWEDBY [x:b = 2]", "(FB [x:a = i1] [x:b = i2])", true},
    {"[x:a = 1] OR [x:b = 2] AND [x:c = 3]",
     "(OR [x:a = i1] (AND [x:b = i2] [x:c = i3]))", true},
    {"[x:a = 1] AND [x:b = 2] OR [x:c = 3]",
     "(OR (AND [x:a = i1] [x:b = i2]) [x:c = i3])", true},
    {"[x:a = 1] OR [x:b = 2] FOLLOWEDBY [x:c = 3]",
     "(FB (OR [x:a = i1] [x:b = i2]) [x:c = i3])", true},
    {"[x:a = 1] FOLLOWEDBY [x:b = 2] OR [x:c = 3]",
     "(FB [x:a = i1] (OR [x:b = i2] [x:c = i3]))", true},
    {"[x:a = 1] FOLLOWEDBY [x:b = 2] AND [x:c = 3]",
     "(FB [x:a = i1] (AND [x:b = i2] [x:c = i3]))", true},
    {"[x:a = 1] FOLLOWEDBY [x:b = 2] FOLLOWEDBY [x:c = 3]",
     "(FB (FB [x:a = i1] [x:b = i2]) [x:c = i3])", true},
    {"[x:a = 1] AND [x:b = 2] AND [x:c = 3]",
     "(AND (AND [x:a = i1] [x:b = i2]) [x:c = i3])", true},
    {"([x:a = 1] FOLLOWEDBY [x:b = 2]) AND [x:c = 3]",
     "(AND (FB [x:a = i1] [x:b = i2]) [x:c = i3])", true},
    {"(([x:a = 1]))", "[x:a = i1]", false},

    /* Qualifiers. */
    {"[x:a = 1] REPEATS 5 TIMES", "(REPEATS 5 [x:a = i1])", true},
    {"[x:a = 1] REPEATS +2 TIMES", "(REPEATS 2 [x:a = i1])", true},
    {"[x:a = 1] WITHIN 10 SECONDS", "(WITHIN 10 [x:a = i1])", true},
    {"[x:a = 1] WITHIN 2.5 SECONDS", "(WITHIN 2.5 [x:a = i1])", true},
    {"[x:a = 1] WITHIN .001 SECONDS", "(WITHIN 0.001 [x:a = i1])", true},
    {"[x:a = 1] START t'2020-01-01T00:00:00Z' STOP "
     "t'2020-01-01T00:00:01Z'",
     "(START " T2020 " 1577836801000000 [x:a = i1])", true},
    {"[x:a = 1] REPEATS 2 TIMES WITHIN 5 SECONDS",
     "(WITHIN 5 (REPEATS 2 [x:a = i1]))", true},
    {"([x:a = 1] REPEATS 2 TIMES) REPEATS 3 TIMES",
     "(REPEATS 3 (REPEATS 2 [x:a = i1]))", true},
    {"[x:a = 1] AND [x:b = 2] WITHIN 5 SECONDS",
     "(AND [x:a = i1] (WITHIN 5 [x:b = i2]))", true},
    {"([x:a = 1] AND [x:b = 2]) WITHIN 5 SECONDS",
     "(WITHIN 5 (AND [x:a = i1] [x:b = i2]))", true},
    {"([x:a = 1] OR [x:b = 2]) REPEATS 3 TIMES START "
     "t'2020-01-01T00:00:00Z' STOP t'2021-01-01T00:00:00Z'",
     "(START " T2020 " 1609459200000000 (REPEATS 3 (OR [x:a = i1] "
     "[x:b = i2])))",
     true},

    /* Whitespace and comments where the grammar skips them. */
    {"\t[x:a\n=\r1]\f", "[x:a = i1]", false},
    {"[x:a = 1]\xc2\xa0\xe3\x80\x80", "[x:a = i1]", false},
    {"/* c */ [x:a /* in */ = 1] // to the end", "[x:a = i1]", false},
    {"[x:a = 1] // c\nAND [x:b = 2]", "(AND [x:a = i1] [x:b = i2])", true},
    /* Keywords are only keywords in capitals; 'and' is a name. */
    {"[x:and = 1]", "[x:and = i1]", false},
    {"[x:'AND' = 1]", "[x:AND = i1]", false},
    {"[x:a = 'caf\xc3\xa9 \xe2\x9c\x93']",
     "[x:a = s'caf\xc3\xa9 \xe2\x9c\x93']", false},
};

static void test_valid(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(ok_cases) / sizeof(ok_cases[0]); i++) {
		const struct ok_case *c = &ok_cases[i];
		struct pattern *p = NULL;
		struct diag d = {{0}};
		int rc =
		    pattern_parse(c->pattern, strlen(c->pattern), NULL, &p, &d);
		if (rc != ST_OK)
			fail_msg("%s: rc %d: %s", c->pattern, rc, d.msg);
		struct buf b = BUF_INIT(1 << 16);
		print_oexpr(&b, pattern_root(p));
		if (strcmp(b.data, c->tree) != 0)
			fail_msg("%s:\n got  %s\n want %s", c->pattern, b.data,
				 c->tree);
		if (pattern_is_stateful(p) != c->stateful)
			fail_msg("%s: stateful %d", c->pattern,
				 pattern_is_stateful(p));
		buf_free(&b);
		pattern_free(p);
	}
}

/* ------------------------------------------------------------------ */
/* Invalid patterns                                                     */
/* ------------------------------------------------------------------ */

struct err_case {
	const char *pattern;
	int rc;
	const char *msg;
};

static const struct err_case err_cases[] = {
    /* Structure. */
    {"", ST_EINVAL, "at 0: expected '[' or '(', found end of pattern"},
    {"   ", ST_EINVAL, "at 3: expected '[' or '(', found end of pattern"},
    {"x:a = 1", ST_EINVAL, "at 0: expected '[' or '(', found 'x'"},
    {"[]", ST_EINVAL,
     "at 1: expected an object path like file:name, found ']'"},
    {"[x:a = 1", ST_EINVAL,
     "at 8: expected AND, OR or ']', found end of pattern"},
    {"[x:a = 1 x:b = 2]", ST_EINVAL,
     "at 9: expected AND, OR or ']', found 'x'"},
    {"[x:a = 1]]", ST_EINVAL,
     "at 9: expected AND, OR, FOLLOWEDBY, a qualifier or the end of the "
     "pattern, found ']'"},
    {"[x:a = 1] [x:b = 2]", ST_EINVAL,
     "at 10: expected AND, OR, FOLLOWEDBY, a qualifier or the end of the "
     "pattern, found '['"},
    {"([x:a = 1]", ST_EINVAL,
     "at 10: expected AND, OR, FOLLOWEDBY, a qualifier or ')', found end "
     "of pattern"},
    {"[x:a = 1] AND", ST_EINVAL,
     "at 13: expected '[' or '(', found end of pattern"},
    {"[x:a = 1] and [x:b = 2]", ST_EINVAL,
     "at 10: expected AND, OR, FOLLOWEDBY, a qualifier or the end of the "
     "pattern, found 'and'"},
    {"[(x:a = 1]", ST_EINVAL, "at 9: expected AND, OR or ')', found ']'"},
    {"[x:a = 1 AND]", ST_EINVAL,
     "at 12: expected an object path like file:name, found ']'"},
    {"[x:a = 1] FOLLOWEDBY", ST_EINVAL,
     "at 20: expected '[' or '(', found end of pattern"},
    /* Paths. */
    {"[x = 1]", ST_EINVAL,
     "at 3: expected ':' after the object type, found '='"},
    {"[x: = 1]", ST_EINVAL,
     "at 4: expected a property name (quote names that hold '-', like "
     "'SHA-256'), found '='"},
    {"[file:hashes.SHA-256 = 'x']", ST_EINVAL,
     "at 13: expected a property name (quote names that hold '-', like "
     "'SHA-256'), found 'SHA-256'"},
    {"[x:a-b = 1]", ST_EINVAL,
     "at 3: expected a property name (quote names that hold '-', like "
     "'SHA-256'), found 'a-b'"},
    {"[x:a[] = 1]", ST_EINVAL, "at 5: expected a list index or '*', found ']'"},
    {"[x:a[1 = 1]", ST_EINVAL,
     "at 7: expected ']' after the list index, found '='"},
    {"[x:a[1.5] = 1]", ST_EINVAL,
     "at 5: expected a list index or '*', found '1.5'"},
    {"[x:a. = 1]", ST_EINVAL,
     "at 6: expected a property name (quote names that hold '-', like "
     "'SHA-256'), found '='"},
    {"[x:AND = 1]", ST_EINVAL,
     "at 3: expected a property name (quote names that hold '-', like "
     "'SHA-256'), found 'AND'"},
    {"[1:a = 1]", ST_EINVAL,
     "at 1: expected an object path like file:name, found '1'"},
    /* Operators. */
    {"[x:a 1]", ST_EINVAL,
     "at 5: expected a comparison operator (=, !=, <, <=, >, >=, IN, LIKE, "
     "MATCHES, ISSUBSET or ISSUPERSET), found '1'"},
    {"[x:a like 'b']", ST_EINVAL,
     "at 5: expected a comparison operator (=, !=, <, <=, >, >=, IN, LIKE, "
     "MATCHES, ISSUBSET or ISSUPERSET), found 'like'"},
    {"[x:a NOT 'b']", ST_EINVAL,
     "at 9: expected a comparison operator (=, !=, <, <=, >, >=, IN, LIKE, "
     "MATCHES, ISSUBSET or ISSUPERSET), found 'b'"},
    {"[x:a ! 1]", ST_EINVAL,
     "at 5: expected a comparison operator (=, !=, <, <=, >, >=, IN, LIKE, "
     "MATCHES, ISSUBSET or ISSUPERSET), found '!'"},
    {"[x:a EXISTS]", ST_EINVAL,
     "at 5: expected a comparison operator (=, !=, <, <=, >, >=, IN, LIKE, "
     "MATCHES, ISSUBSET or ISSUPERSET), found 'EXISTS'"},
    {"[NOT x:a = 1]", ST_EINVAL, "at 5: expected EXISTS after NOT, found 'x'"},
    {"[EXISTS]", ST_EINVAL,
     "at 7: expected an object path like file:name, found ']'"},
    /* Constants and where they may go. */
    {"[x:a = ]", ST_EINVAL, "at 7: expected a constant, found ']'"},
    {"[x:a = null]", ST_EINVAL, "at 7: expected a constant, found 'null'"},
    {"[x:a = x]", ST_EINVAL, "at 7: expected a constant, found 'x'"},
    {"[x:a > true]", ST_EINVAL,
     "at 7: expected a string, number, binary or timestamp, found 'true'"},
    {"[x:a LIKE 1]", ST_EINVAL,
     "at 10: expected a string after LIKE, found '1'"},
    {"[x:a MATCHES h'00']", ST_EINVAL,
     "at 13: expected a string after MATCHES, found h'00'"},
    {"[x:a ISSUBSET 10]", ST_EINVAL,
     "at 14: expected a string after ISSUBSET, found '10'"},
    {"[x:a ISSUPERSET true]", ST_EINVAL,
     "at 16: expected a string after ISSUPERSET, found 'true'"},
    {"[x:a IN 1]", ST_EINVAL,
     "at 8: expected '(' to open the set after IN, found '1'"},
    {"[x:a IN (1 2)]", ST_EINVAL,
     "at 11: expected ',' or ')' in the set, found '2'"},
    {"[x:a IN (1,)]", ST_EINVAL, "at 11: expected a constant, found ')'"},
    {"[x:a IN (1, 'a')]", ST_EINVAL,
     "at 12: expected a constant of the same type as the set's first, "
     "found 'a'"},
    {"[x:a IN (true, 1)]", ST_EINVAL,
     "at 15: expected a constant of the same type as the set's first, "
     "found '1'"},
    {"[x:a = 9223372036854775808]", ST_EINVAL,
     "at 7: expected an integer that fits in 64 bits, found "
     "'9223372036854775808'"},
    {"[x:a = 012]", ST_EINVAL, "at 8: expected AND, OR or ']', found '12'"},
    {"[x:a = 1.]", ST_EINVAL, "at 8: expected AND, OR or ']', found '.'"},
    {"[x:a = - 1]", ST_EINVAL, "at 7: expected a constant, found '-'"},
    {"[x:a = 'abc]", ST_EINVAL,
     "at 12: expected ' to close the string that starts at 7, found end "
     "of pattern"},
    {"[x:a = 'a\\nb']", ST_EINVAL,
     "at 9: expected \\' or \\\\ (the only escapes in a string), found "
     "'\\n'"},
    {"[x:a = 'a\\", ST_EINVAL,
     "at 10: expected \\' or \\\\ (the only escapes in a string), found end "
     "of pattern"},
    {"[x:a = b'AQID=']", ST_EINVAL,
     "at 7: expected base64 in b'' (groups of four characters, '=' "
     "padding), found b'AQID='"},
    {"[x:a = b'']", ST_EINVAL,
     "at 7: expected base64 in b'' (groups of four characters, '=' "
     "padding), found b''"},
    {"[x:a = b'A=BC']", ST_EINVAL,
     "at 7: expected base64 in b'' (groups of four characters, '=' "
     "padding), found b'A=BC'"},
    {"[x:a = b'AQ*=']", ST_EINVAL,
     "at 7: expected base64 in b'' (groups of four characters, '=' "
     "padding), found b'AQ*='"},
    {"[x:a = h'abc']", ST_EINVAL,
     "at 7: expected an even number of hex digits in h'', found h'abc'"},
    {"[x:a = h'zz']", ST_EINVAL,
     "at 7: expected an even number of hex digits in h'', found h'zz'"},
    {"[x:a = h'00", ST_EINVAL,
     "at 11: expected ' to close the literal that starts at 7, found end "
     "of pattern"},
    {"[x:a = t'2020-02-30T00:00:00Z']", ST_EINVAL,
     "at 7: expected a timestamp like t'2020-01-31T23:59:59.123Z', found "
     "t'2020-02-30T00:00:00Z'"},
    {"[x:a = t'2020-01-01T00:00:00']", ST_EINVAL,
     "at 7: expected a timestamp like t'2020-01-31T23:59:59.123Z', found "
     "t'2020-01-01T00:00:00'"},
    {"[x:a = t'2020-01-01t00:00:00z']", ST_EINVAL,
     "at 7: expected a timestamp like t'2020-01-31T23:59:59.123Z', found "
     "t'2020-01-01t00:00:00z'"},
    {"[x:a = t'2020-01-01T24:00:00Z']", ST_EINVAL,
     "at 7: expected a timestamp like t'2020-01-31T23:59:59.123Z', found "
     "t'2020-01-01T24:00:00Z'"},
    /* Semantic checks at parse time. */
    {"[x:a MATCHES '(']", ST_EINVAL,
     "at 13: expected a regular expression PCRE2 can compile, found '(' "
     "(missing closing parenthesis at offset 1 of the expression)"},
    {"[x:a MATCHES 'a{2,1}']", ST_EINVAL,
     "at 13: expected a regular expression PCRE2 can compile, found "
     "'a{2,1}' (numbers out of order in {} quantifier at offset 5 of the "
     "expression)"},
    {"[x:a ISSUBSET '10.0.0.0/33']", ST_EINVAL,
     "at 14: expected an IPv4 or IPv6 address or CIDR block, found "
     "'10.0.0.0/33'"},
    {"[x:a ISSUPERSET 'example.com']", ST_EINVAL,
     "at 16: expected an IPv4 or IPv6 address or CIDR block, found "
     "'example.com'"},
    {"[x:a ISSUBSET '2001:db8::/129']", ST_EINVAL,
     "at 14: expected an IPv4 or IPv6 address or CIDR block, found "
     "'2001:db8::/129'"},
    {"[x:a = 1] START t'2020-01-01T00:00:00Z' STOP t'2020-01-01T00:00:00Z'",
     ST_EINVAL,
     "at 45: expected a STOP time later than START, found "
     "t'2020-01-01T00:00:00Z'"},
    {"[x:a = 1] START '2020-01-01T00:00:00Z' STOP '2021-01-01T00:00:00Z'",
     ST_EINVAL,
     "at 16: expected a timestamp t'...' after START, found "
     "'2020-01-01T00:00:00Z'"},
    {"[x:a = 1] START t'2020-01-01T00:00:00Z'", ST_EINVAL,
     "at 39: expected STOP, found end of pattern"},
    {"[x:a = 1] START t'2020-01-01T00:00:00Z' STOP 5", ST_EINVAL,
     "at 45: expected a timestamp t'...' after STOP, found '5'"},
    {"[x:a = 1] WITHIN 0 SECONDS", ST_EINVAL,
     "at 17: expected a number of seconds greater than 0, found '0'"},
    {"[x:a = 1] WITHIN 0.0 SECONDS", ST_EINVAL,
     "at 17: expected a number of seconds greater than 0, found '0.0'"},
    {"[x:a = 1] WITHIN -5 SECONDS", ST_EINVAL,
     "at 17: expected a number of seconds greater than 0, found '-5'"},
    {"[x:a = 1] WITHIN 5", ST_EINVAL,
     "at 18: expected SECONDS, found end of pattern"},
    {"[x:a = 1] WITHIN 5 seconds", ST_EINVAL,
     "at 19: expected SECONDS, found 'seconds'"},
    {"[x:a = 1] WITHIN 5 MINUTES", ST_EINVAL,
     "at 19: expected SECONDS, found 'MINUTES'"},
    {"[x:a = 1] REPEATS 0 TIMES", ST_EINVAL,
     "at 18: expected a whole number of repetitions greater than 0, found "
     "'0'"},
    {"[x:a = 1] REPEATS 2.5 TIMES", ST_EINVAL,
     "at 18: expected a whole number of repetitions greater than 0, found "
     "'2.5'"},
    {"[x:a = 1] REPEATS -2 TIMES", ST_EINVAL,
     "at 18: expected a whole number of repetitions greater than 0, found "
     "'-2'"},
    {"[x:a = 1] REPEATS 2", ST_EINVAL,
     "at 19: expected TIMES, found end of pattern"},
    {"[x:a = 1] REPEATS 2 TIMES REPEATS 3 TIMES", ST_EINVAL,
     "at 26: expected one qualifier of each kind at most (put the "
     "expression in parentheses to qualify it again), found 'REPEATS'"},
    {"[x:a = 1] WITHIN 5 SECONDS REPEATS 2 TIMES WITHIN 9 SECONDS", ST_EINVAL,
     "at 43: expected one qualifier of each kind at most (put the "
     "expression in parentheses to qualify it again), found 'WITHIN'"},
    {"[x:a = 1] START t'2020-01-01T00:00:00Z' STOP t'2020-01-02T00:00:00Z' "
     "START t'2020-01-01T00:00:00Z' STOP t'2020-01-02T00:00:00Z'",
     ST_EINVAL,
     "at 69: expected one qualifier of each kind at most (put the "
     "expression in parentheses to qualify it again), found 'START'"},
    /* Text. */
    {"[x:a = '\xff']", ST_EINVAL, "at 8: expected UTF-8 text, found byte 0xff"},
    {"[x:a = 1] /* open", ST_EINVAL,
     "at 17: expected '*/' to close the comment that starts at 10, found "
     "end of pattern"},
    {"[x:a = 1] #", ST_EINVAL,
     "at 10: expected AND, OR, FOLLOWEDBY, a qualifier or the end of the "
     "pattern, found '#'"},
    {"[x:a = 1] \x01", ST_EINVAL,
     "at 10: expected AND, OR, FOLLOWEDBY, a qualifier or the end of the "
     "pattern, found '?'"},
    /* Limits (defaults). */
    {"[x:a = 1] REPEATS 1001 TIMES", ST_ELIMIT,
     "at 18: expected at most 1000 repetitions, found '1001'"},
    {"[x:a = 1] REPEATS 99999999999999999999 TIMES", ST_ELIMIT,
     "at 18: expected at most 1000 repetitions, found "
     "'99999999999999999999'"},
};

static void test_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++) {
		const struct err_case *c = &err_cases[i];
		struct pattern *p = (struct pattern *)&p; /* must be reset */
		struct diag d = {{0}};
		int rc =
		    pattern_parse(c->pattern, strlen(c->pattern), NULL, &p, &d);
		if (rc != c->rc || strcmp(d.msg, c->msg) != 0)
			fail_msg("%s:\n got  %d %s\n want %d %s", c->pattern,
				 rc, d.msg, c->rc, c->msg);
		assert_null(p);
	}
}

/* The text is given with a length: bytes past it are never read, and a
 * NUL inside is just a character. */
static void test_length(void **state)
{
	(void)state;
	struct pattern *p;
	struct diag d;
	const char text[] = "[x:a = 1] garbage";
	assert_int_equal(pattern_parse(text, 9, NULL, &p, &d), ST_OK);
	pattern_free(p);
	const char nul[] = "[x:a = 'a\0b']";
	assert_int_equal(pattern_parse(nul, sizeof(nul) - 1, NULL, &p, &d),
			 ST_OK);
	const struct pat_const *c = &pattern_root(p)->cexpr->cmp->vals[0];
	assert_int_equal(c->u.str.len, 3);
	assert_memory_equal(c->u.str.p, "a\0b", 4);
	pattern_free(p);
	const char key[] = "[x:'a\0b' = 1]";
	assert_int_equal(pattern_parse(key, sizeof(key) - 1, NULL, &p, &d),
			 ST_EINVAL);
	assert_string_equal(d.msg, "at 3: expected a property name without "
				   "NUL characters, found 'a?b'");
	assert_int_equal(pattern_parse(NULL, 0, NULL, &p, &d), ST_EINVAL);
	assert_int_equal(pattern_parse(NULL, 5, NULL, &p, &d), ST_EINVAL);
	pattern_free(NULL);
}

/* Limits from struct pattern_limits, each one over and just under. */
static void test_limits(void **state)
{
	(void)state;
	struct pattern_limits lim = PATTERN_LIMITS_DEFAULT;
	struct pattern *p;
	struct diag d;
	struct buf b = BUF_INIT(1 << 20);

	assert_int_equal(PATTERN_LIMITS_DEFAULT.max_len, 65536);
	assert_int_equal(PATTERN_LIMITS_DEFAULT.max_depth, 32);
	assert_int_equal(PATTERN_LIMITS_DEFAULT.max_nodes, 1024);
	assert_int_equal(PATTERN_LIMITS_DEFAULT.max_repeats, 1000);
	assert_int_equal(PATTERN_LIMITS_DEFAULT.max_state, 100000);

	/* Text length. */
	lim.max_len = 9;
	assert_int_equal(pattern_parse("[x:a = 1]", 9, &lim, &p, &d), ST_OK);
	pattern_free(p);
	assert_int_equal(pattern_parse("[x:a = 12]", 10, &lim, &p, &d),
			 ST_ELIMIT);
	assert_string_equal(d.msg, "at 9: expected at most 9 bytes of "
				   "pattern, found 10");
	lim = PATTERN_LIMITS_DEFAULT;

	/* Depth: brackets and parentheses of both kinds count. */
	lim.max_depth = 3;
	assert_int_equal(pattern_parse("(([x:a = 1]))", 13, &lim, &p, &d),
			 ST_OK);
	pattern_free(p);
	assert_int_equal(pattern_parse("((([x:a = 1])))", 15, &lim, &p, &d),
			 ST_ELIMIT);
	assert_string_equal(d.msg, "at 3: expected at most 3 levels of "
				   "nesting, found '['");
	assert_int_equal(pattern_parse("([((x:a = 1))])", 15, &lim, &p, &d),
			 ST_ELIMIT);
	assert_string_equal(d.msg, "at 3: expected at most 3 levels of "
				   "nesting, found '('");
	lim = PATTERN_LIMITS_DEFAULT;

	/* Deep nesting at the default limit fails cleanly, not by stack. */
	buf_reset(&b);
	for (int i = 0; i < 5000; i++)
		buf_adds(&b, "(");
	assert_int_equal(pattern_parse(b.data, b.len, NULL, &p, &d), ST_ELIMIT);
	assert_string_equal(d.msg, "at 32: expected at most 32 levels of "
				   "nesting, found '('");

	/* Nodes: comparisons and observation nodes. */
	lim.max_nodes = 6;
	/* Two brackets, three comparisons, one AND. */
	const char *six = "[x:a = 1 AND x:b = 2] AND [x:c = 3]";
	assert_int_equal(pattern_parse(six, strlen(six), &lim, &p, &d), ST_OK);
	pattern_free(p);
	const char *seven =
	    "[x:a = 1 AND x:b = 2] AND [x:c = 3 AND x:d = 4 AND x:e = 5]";
	assert_int_equal(pattern_parse(seven, strlen(seven), &lim, &p, &d),
			 ST_ELIMIT);
	assert_string_equal(d.msg, "at 51: expected at most 6 comparisons and "
				   "observation expressions, found 'x'");
	lim = PATTERN_LIMITS_DEFAULT;

	/* A long OR chain of brackets: 300 take 899 nodes, 350 take 1049. */
	buf_reset(&b);
	for (int i = 0; i < 350; i++) {
		buf_printf(&b, "%s[ipv4-addr:value = '10.0.%d.%d']",
			   i ? " OR " : "", i / 256, i % 256);
		if (i == 299) {
			assert_int_equal(
			    pattern_parse(b.data, b.len, NULL, &p, &d), ST_OK);
			pattern_free(p);
		}
	}
	assert_int_equal(pattern_parse(b.data, b.len, NULL, &p, &d), ST_ELIMIT);

	/* Repeats. */
	lim.max_repeats = 3;
	assert_int_equal(
	    pattern_parse("[x:a = 1] REPEATS 3 TIMES", 25, &lim, &p, &d),
	    ST_OK);
	pattern_free(p);
	assert_int_equal(
	    pattern_parse("[x:a = 1] REPEATS 4 TIMES", 25, &lim, &p, &d),
	    ST_ELIMIT);
	assert_string_equal(d.msg,
			    "at 18: expected at most 3 repetitions, found '4'");

	/* Path steps: 64 at most. */
	buf_reset(&b);
	buf_adds(&b, "[x:a");
	for (int i = 1; i < 64; i++)
		buf_adds(&b, "[0]");
	buf_adds(&b, " = 1]");
	assert_int_equal(pattern_parse(b.data, b.len, NULL, &p, &d), ST_OK);
	pattern_free(p);
	buf_reset(&b);
	buf_adds(&b, "[x:a");
	for (int i = 1; i < 65; i++)
		buf_adds(&b, ".b");
	buf_adds(&b, " = 1]");
	assert_int_equal(pattern_parse(b.data, b.len, NULL, &p, &d), ST_ELIMIT);
	assert_string_equal(d.msg, "at 130: expected at most 64 steps in an "
				   "object path, found '.'");
	buf_free(&b);
}

/* The offsets recorded on comparisons point at their first token. */
static void test_offsets(void **state)
{
	(void)state;
	struct pattern *p;
	struct diag d;
	const char *text = "[x:a = 1 AND NOT EXISTS y:b]";
	assert_int_equal(pattern_parse(text, strlen(text), NULL, &p, &d),
			 ST_OK);
	const struct pat_cexpr *ce = pattern_root(p)->cexpr;
	assert_int_equal(ce->kind, PAT_CE_AND);
	assert_int_equal(ce->l->cmp->offset, 1);
	assert_int_equal(ce->r->cmp->offset, 13);
	assert_int_equal(ce->r->cmp->op, PAT_OP_EXISTS);
	assert_true(ce->r->cmp->negated);
	assert_int_equal(ce->r->cmp->n_vals, 0);
	pattern_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid),   cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_length),  cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_offsets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
