/*
 * strait: the STIX pattern lexer (STIX 2.1 section 9, the STIXPattern.g4
 * grammar): keywords are case-sensitive, whitespace includes the Unicode
 * spaces the grammar lists, and comments are skipped. Literals are checked
 * here (escapes, base64, hex, timestamps); the parser decodes them.
 */
#include "pattern/pattern_int.h"
#include "common/hex.h"

#include "common/time.h"
#include "common/utf8.h"

#include <stdio.h>
#include <string.h>

static const struct {
	const char *word;
	enum tok kind;
} keywords[] = {
    {"AND", TK_AND},
    {"OR", TK_OR},
    {"NOT", TK_NOT},
    {"FOLLOWEDBY", TK_FOLLOWEDBY},
    {"LIKE", TK_LIKE},
    {"MATCHES", TK_MATCHES},
    {"ISSUPERSET", TK_ISSUPERSET},
    {"ISSUBSET", TK_ISSUBSET},
    {"LAST", TK_LAST},
    {"IN", TK_IN},
    {"START", TK_START},
    {"STOP", TK_STOP},
    {"SECONDS", TK_SECONDS},
    {"WITHIN", TK_WITHIN},
    {"REPEATS", TK_REPEATS},
    {"TIMES", TK_TIMES},
    {"EXISTS", TK_EXISTS},
    {"true", TK_BOOL},
    {"false", TK_BOOL},
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_ident_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_ident_char(char c)
{
	return is_ident_start(c) || is_digit(c) || c == '-';
}

/* Bytes of the whitespace character at s (n bytes left), or 0. */
static size_t space_len(const unsigned char *s, size_t n)
{
	switch (s[0]) {
	case ' ':
	case '\t':
	case '\r':
	case '\n':
	case 0x0b:
	case 0x0c:
		return 1;
	default:
		break;
	}
	size_t k = utf8_seq_len(s, n);
	uint32_t cp;
	if (k == 2)
		cp = ((uint32_t)(s[0] & 0x1f) << 6) | (s[1] & 0x3f);
	else if (k == 3)
		cp = ((uint32_t)(s[0] & 0x0f) << 12) |
		     ((uint32_t)(s[1] & 0x3f) << 6) | (s[2] & 0x3f);
	else
		return 0;
	if (cp == 0x85 || cp == 0xa0 || cp == 0x1680 ||
	    (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 ||
	    cp == 0x202f || cp == 0x205f || cp == 0x3000)
		return k;
	return 0;
}

void lex_describe(const struct lexer *lx, const struct token *t, char *out,
		  size_t cap)
{
	if (t->kind == TK_EOF) {
		snprintf(out, cap, "end of pattern");
		return;
	}
	const unsigned char *s = (const unsigned char *)lx->s + t->off;
	size_t n = t->len, max = 40, o = 0;
	bool literal =
	    s[0] == '\'' || (n > 1 && s[1] == '\'' &&
			     (s[0] == 'b' || s[0] == 'h' || s[0] == 't'));
	if (cap < 8) {
		if (cap > 0)
			out[0] = '\0';
		return;
	}
	if (!literal)
		out[o++] = '\'';
	size_t i = 0;
	while (i < n && i < max && o + 8 < cap) {
		size_t k = utf8_seq_len(s + i, n - i);
		if (k == 0)
			k = 1;
		if (k == 1 && (s[i] < 0x20 || s[i] == 0x7f)) {
			out[o++] = '?';
		} else {
			memcpy(out + o, s + i, k);
			o += k;
		}
		i += k;
	}
	if (i < n && o + 4 < cap) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	if (!literal && o + 1 < cap)
		out[o++] = '\'';
	out[o] = '\0';
}

int lex_fail(const struct lexer *lx, const struct token *t, int err,
	     const char *what)
{
	char found[96];
	lex_describe(lx, t, found, sizeof(found));
	return diag_set(lx->d, err, "at %u: expected %s, found %s",
			t->kind == TK_EOF ? (unsigned)lx->len : t->off, what,
			found);
}

/* Skips whitespace and comments. */
static int skip_blank(struct lexer *lx)
{
	const unsigned char *s = (const unsigned char *)lx->s;
	for (;;) {
		if (lx->pos >= lx->len)
			return ST_OK;
		size_t k = space_len(s + lx->pos, lx->len - lx->pos);
		if (k > 0) {
			lx->pos += k;
			continue;
		}
		if (s[lx->pos] != '/' || lx->pos + 1 >= lx->len)
			return ST_OK;
		if (s[lx->pos + 1] == '/') {
			while (lx->pos < lx->len && s[lx->pos] != '\n' &&
			       s[lx->pos] != '\r')
				lx->pos++;
			continue;
		}
		if (s[lx->pos + 1] != '*')
			return ST_OK;
		size_t start = lx->pos;
		size_t i = lx->pos + 2;
		while (i + 1 < lx->len && !(s[i] == '*' && s[i + 1] == '/'))
			i++;
		if (i + 1 >= lx->len)
			return diag_set(lx->d, ST_EINVAL,
					"at %zu: expected '*/' to close the "
					"comment that starts at %zu, found end "
					"of pattern",
					lx->len, start);
		lx->pos = i + 2;
	}
}

/* A quoted string starting at lx->pos (the quote): only \' and \\ are
 * escapes. Sets *end past the closing quote. */
static int lex_string(struct lexer *lx, size_t start, size_t *end)
{
	const char *s = lx->s;
	size_t i = start + 1;
	while (i < lx->len) {
		if (s[i] == '\'') {
			*end = i + 1;
			return ST_OK;
		}
		if (s[i] == '\\') {
			if (i + 1 < lx->len &&
			    (s[i + 1] == '\'' || s[i + 1] == '\\')) {
				i += 2;
				continue;
			}
			struct token bad = {TK_OTHER, (uint32_t)i, 1};
			if (i + 1 < lx->len)
				bad.len = 2;
			else
				bad.kind = TK_EOF;
			return lex_fail(lx, &bad, ST_EINVAL,
					"\\' or \\\\ (the only escapes in a "
					"string)");
		}
		i++;
	}
	return diag_set(lx->d, ST_EINVAL,
			"at %zu: expected ' to close the string that starts at "
			"%zu, found end of pattern",
			lx->len, start);
}

/* b'..', h'..' or t'..' at start: finds the closing quote and checks the
 * contents. */
static int lex_prefixed(struct lexer *lx, size_t start, struct token *t)
{
	const char *s = lx->s;
	char kind = s[start];
	size_t i = start + 2;
	while (i < lx->len && s[i] != '\'')
		i++;
	if (i >= lx->len)
		return diag_set(lx->d, ST_EINVAL,
				"at %zu: expected ' to close the literal that "
				"starts at %zu, found end of pattern",
				lx->len, start);
	const char *body = s + start + 2;
	size_t blen = i - start - 2;
	t->off = (uint32_t)start;
	t->len = (uint32_t)(i + 1 - start);
	switch (kind) {
	case 'b':
		t->kind = TK_BINARY;
		if (blen % 4 != 0 ||
		    pat_base64_decode(body, blen, NULL, false) < 0)
			return lex_fail(lx, t, ST_EINVAL,
					"base64 in b'' (groups of four "
					"characters, '=' padding)");
		return ST_OK;
	case 'h':
		t->kind = TK_HEX;
		if (pat_hex_decode(body, blen, NULL) < 0)
			return lex_fail(lx, t, ST_EINVAL,
					"an even number of hex digits in h''");
		return ST_OK;
	default: {
		st_time ts;
		t->kind = TK_TIMESTAMP;
		if (ts_parse(body, blen, &ts, NULL) != ST_OK)
			return lex_fail(lx, t, ST_EINVAL,
					"a timestamp like "
					"t'2020-01-31T23:59:59.123Z'");
		return ST_OK;
	}
	}
}

/* A number at start: the grammar's IntPosLiteral / IntNegLiteral ('0' or
 * no leading zero) and FloatPos/FloatNeg ([0-9]* '.' [0-9]+). Returns
 * false when start is a lone sign. */
static bool lex_number(struct lexer *lx, size_t start, struct token *t)
{
	const char *s = lx->s;
	size_t i = start;
	if (s[i] == '+' || s[i] == '-')
		i++;
	size_t digits = i;
	while (i < lx->len && is_digit(s[i]))
		i++;
	if (i + 1 < lx->len && s[i] == '.' && is_digit(s[i + 1])) {
		i++;
		while (i < lx->len && is_digit(s[i]))
			i++;
		t->kind = TK_FLOAT;
		t->len = (uint32_t)(i - start);
		return true;
	}
	if (i == digits)
		return false;
	/* "012" is "0" then "12", as the grammar's lexer reads it. */
	if (s[digits] == '0')
		i = digits + 1;
	t->kind = TK_INT;
	t->len = (uint32_t)(i - start);
	return true;
}

int lex_next(struct lexer *lx, struct token *t)
{
	int rc = skip_blank(lx);
	if (rc != ST_OK)
		return rc;
	const char *s = lx->s;
	size_t p = lx->pos;
	t->off = (uint32_t)p;
	t->len = 1;
	if (p >= lx->len) {
		t->kind = TK_EOF;
		t->len = 0;
		t->off = (uint32_t)lx->len;
		return ST_OK;
	}
	char c = s[p];
	char c1 = p + 1 < lx->len ? s[p + 1] : '\0';
	switch (c) {
	case '[':
		t->kind = TK_LBRACK;
		break;
	case ']':
		t->kind = TK_RBRACK;
		break;
	case '(':
		t->kind = TK_LPAREN;
		break;
	case ')':
		t->kind = TK_RPAREN;
		break;
	case ':':
		t->kind = TK_COLON;
		break;
	case ',':
		t->kind = TK_COMMA;
		break;
	case '*':
		t->kind = TK_STAR;
		break;
	case '=':
		t->kind = TK_EQ;
		t->len = c1 == '=' ? 2 : 1;
		break;
	case '!':
		t->kind = c1 == '=' ? TK_NEQ : TK_OTHER;
		t->len = c1 == '=' ? 2 : 1;
		break;
	case '<':
		t->kind = c1 == '=' ? TK_LE : c1 == '>' ? TK_NEQ : TK_LT;
		t->len = c1 == '=' || c1 == '>' ? 2 : 1;
		break;
	case '>':
		t->kind = c1 == '=' ? TK_GE : TK_GT;
		t->len = c1 == '=' ? 2 : 1;
		break;
	case '\'': {
		size_t end = p;
		if ((rc = lex_string(lx, p, &end)) != ST_OK)
			return rc;
		t->kind = TK_STRING;
		t->len = (uint32_t)(end - p);
		break;
	}
	case '.':
		if (!lex_number(lx, p, t))
			t->kind = TK_DOT;
		break;
	default:
		if (is_digit(c) || c == '+' || c == '-') {
			if (!lex_number(lx, p, t))
				t->kind = TK_OTHER;
			break;
		}
		if ((c == 'b' || c == 'h' || c == 't') && c1 == '\'') {
			if ((rc = lex_prefixed(lx, p, t)) != ST_OK)
				return rc;
			break;
		}
		if (is_ident_start(c)) {
			size_t i = p + 1;
			bool hyphen = false;
			while (i < lx->len && is_ident_char(s[i])) {
				hyphen = hyphen || s[i] == '-';
				i++;
			}
			t->len = (uint32_t)(i - p);
			t->kind = hyphen ? TK_IDENT_HYPHEN : TK_IDENT;
			for (size_t k = 0;
			     !hyphen &&
			     k < sizeof(keywords) / sizeof(keywords[0]);
			     k++) {
				if (strlen(keywords[k].word) == t->len &&
				    memcmp(keywords[k].word, s + p, t->len) ==
					0)
					t->kind = keywords[k].kind;
			}
			break;
		}
		t->kind = TK_OTHER;
		t->len = (uint32_t)utf8_seq_len((const unsigned char *)s + p,
						lx->len - p);
		if (t->len == 0)
			t->len = 1;
		break;
	}
	lx->pos = p + t->len;
	return ST_OK;
}

/* ------------------------------------------------------------------ */
/* Literal decoders shared with the evaluator                          */
/* ------------------------------------------------------------------ */

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long pat_base64_decode(const char *s, size_t len, uint8_t *out,
		       bool allow_empty)
{
	if (len % 4 != 0 || (len == 0 && !allow_empty))
		return -1;
	long o = 0;
	for (size_t i = 0; i < len; i += 4) {
		int v[4];
		int pad = 0;
		for (int k = 0; k < 4; k++) {
			unsigned char c = (unsigned char)s[i + k];
			if (c == '=' && i + 4 == len && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad > 0)
				return -1; /* data after '=' */
			v[k] = b64_value(c);
			if (v[k] < 0)
				return -1;
		}
		uint32_t w = ((uint32_t)v[0] << 18) | ((uint32_t)v[1] << 12) |
			     ((uint32_t)v[2] << 6) | (uint32_t)v[3];
		uint8_t b[3] = {(uint8_t)(w >> 16), (uint8_t)(w >> 8),
				(uint8_t)w};
		for (int k = 0; k < 3 - pad; k++) {
			if (out != NULL)
				out[o] = b[k];
			o++;
		}
	}
	return o;
}

long pat_hex_decode(const char *s, size_t len, uint8_t *out)
{
	if (len % 2 != 0)
		return -1;
	for (size_t i = 0; i < len; i += 2) {
		int hi = hex_digit((unsigned char)s[i]);
		int lo = hex_digit((unsigned char)s[i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		if (out != NULL)
			out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	return (long)(len / 2);
}

bool pat_utf8_is_latin1(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < len;) {
		size_t k = utf8_seq_len(u + i, len - i);
		if (k == 0 || k > 2 || (k == 2 && u[i] > 0xc3))
			return false;
		i += k;
	}
	return true;
}
