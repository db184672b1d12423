/* strait: STIX patterning internals (private to src/pattern). */
#ifndef STRAIT_PATTERN_PATTERN_INT_H
#define STRAIT_PATTERN_PATTERN_INT_H

#include "pattern/pattern.h"

#include "common/ip.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Steps in one object path; path walking recurses once per step. */
#define PAT_MAX_STEPS 64

/* ------------------------------------------------------------------ */
/* Lexer (lex.c)                                                        */
/* ------------------------------------------------------------------ */

enum tok {
	TK_EOF,
	TK_LBRACK,
	TK_RBRACK,
	TK_LPAREN,
	TK_RPAREN,
	TK_COLON,
	TK_DOT,
	TK_COMMA,
	TK_STAR,
	TK_EQ,
	TK_NEQ,
	TK_LT,
	TK_LE,
	TK_GT,
	TK_GE,
	TK_IDENT,	 /* [a-zA-Z_][a-zA-Z0-9_]* that is no keyword */
	TK_IDENT_HYPHEN, /* the same with at least one '-' */
	TK_STRING,	 /* 'text' (escapes checked, not resolved) */
	TK_INT,
	TK_FLOAT,
	TK_BOOL,
	TK_BINARY,    /* b'base64' (checked) */
	TK_HEX,	      /* h'hex' (checked) */
	TK_TIMESTAMP, /* t'...' (checked with ts_parse) */
	TK_AND,
	TK_OR,
	TK_NOT,
	TK_FOLLOWEDBY,
	TK_LIKE,
	TK_MATCHES,
	TK_ISSUPERSET,
	TK_ISSUBSET,
	TK_LAST,
	TK_IN,
	TK_START,
	TK_STOP,
	TK_SECONDS,
	TK_WITHIN,
	TK_REPEATS,
	TK_TIMES,
	TK_EXISTS,
	TK_OTHER, /* a character no rule of the grammar accepts here */
};

struct token {
	enum tok kind;
	uint32_t off; /* byte offset in the pattern text */
	uint32_t len; /* bytes of the token text */
};

struct lexer {
	const char *s;
	size_t len;
	size_t pos;
	struct diag *d;
};

/* Reads the next token. ST_OK, or ST_EINVAL with d set ("at N: expected
 * X, found Y") for a malformed literal or an unterminated comment. */
int lex_next(struct lexer *lx, struct token *t);

/* Describes a token for "found ...": 'text' (cut short and with control
 * characters replaced), or "end of pattern". */
void lex_describe(const struct lexer *lx, const struct token *t, char *out,
		  size_t cap);

/* Formats "at N: expected <what>, found <description of t>" into d and
 * returns err. */
int lex_fail(const struct lexer *lx, const struct token *t, int err,
	     const char *what);

/* ------------------------------------------------------------------ */
/* The parsed pattern                                                   */
/* ------------------------------------------------------------------ */

/* A comparison with what the parser compiled for it. The public part
 * comes first, so a const struct pat_cmp * of this pattern converts
 * back (cmp_x_of). */
struct cmp_x {
	struct pat_cmp cmp;
	pcre2_code *re;	       /* MATCHES against text (UTF mode) */
	pcre2_code *re_bin;    /* MATCHES against binary values: the expression
			       as Latin-1 bytes; NULL when it has a code
			       point above U+00FF */
	struct ip_prefix ip;   /* ISSUBSET / ISSUPERSET */
	bool like_latin1;      /* LIKE: every code point below U+0100 */
	struct cmp_x *next_re; /* comparisons holding regexes, to free */
};

static inline const struct cmp_x *cmp_x_of(const struct pat_cmp *c)
{
	return (const struct cmp_x *)(const void *)c;
}

/* An observation expression with what the evaluator needs. */
struct oexpr_x {
	struct pat_oexpr e;
	uint32_t id;	   /* creation order: children come before parents */
	uint32_t leaf;	   /* PAT_OE_OBS: index among the brackets */
	int64_t within_us; /* PAT_OE_WITHIN: seconds in microseconds */
};

static inline const struct oexpr_x *oexpr_x_of(const struct pat_oexpr *e)
{
	return (const struct oexpr_x *)(const void *)e;
}

struct pattern {
	struct arena *arena; /* the tree, its strings and constants */
	struct pattern_limits lim;
	struct pat_oexpr *root;
	const struct oexpr_x **nodes; /* every node, children first */
	uint32_t n_nodes;
	uint32_t n_leaves; /* brackets */
	struct cmp_x *regexes;
	pcre2_match_context *mctx; /* read-only once parsed */
};

/* ------------------------------------------------------------------ */
/* Shared helpers                                                       */
/* ------------------------------------------------------------------ */

/* Decodes standard base64 with padding (the grammar's form, nonempty
 * unless allow_empty). out must hold len / 4 * 3 bytes. Returns the
 * decoded length, or -1. */
long pat_base64_decode(const char *s, size_t len, uint8_t *out,
		       bool allow_empty);

/* Decodes an even number of hex digits; out holds len / 2 bytes. Returns
 * the decoded length, or -1. */
long pat_hex_decode(const char *s, size_t len, uint8_t *out);

/* True if every code point of the UTF-8 text s is below U+0100. */
bool pat_utf8_is_latin1(const char *s, size_t len);

/*
 * SQL LIKE over code points (% any run, _ one code point, the whole text,
 * case-sensitive): 1 or 0, or ST_ELIMIT (d says so) when the work
 * backtracking redoes passes 64 times lim->pcre_match_limit. The
 * evaluator and the matcher's leaf decisions both use it.
 */
int pat_like(const struct pattern_limits *lim, const char *pat, size_t plen,
	     const char *s, size_t slen, struct diag *d);

/* The Unicode NFC form of UTF-8 text (LIKE and MATCHES compare NFC
 * forms). 0: s is in NFC already (or cannot be normalised here), *out
 * untouched; 1: *out is a new NUL-terminated copy the caller frees;
 * ST_ENOMEM. */
int pat_nfc(const char *s, size_t len, char **out, size_t *out_len);

#endif
