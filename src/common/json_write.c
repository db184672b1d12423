/*
 * strait: JSON out. The streaming writer (jw_*), the RFC 8785 (JCS)
 * canonicaliser, ECMAScript number formatting and the UTF-16 key order.
 *
 * Both writers share one string escaper: only '"', '\\' and the controls
 * below U+0020 are escaped (\b \t \n \f \r, else \u00xx in lowercase), as
 * RFC 8785 section 3.2.2.2 requires; everything else, U+2028 included, is
 * copied as UTF-8. A string is checked and copied in the same pass, 16
 * bytes at a time (SSE2) or 8 (elsewhere); only a string that needs an
 * escape takes the byte-by-byte path.
 */
#include "common/json.h"
#include "common/utf8.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* The largest integer I-JSON (and so JCS) can carry exactly: 2^53 - 1. */
#define SAFE_INT_MAX 9007199254740991LL

/* Nesting json_canonical accepts (the parser's default limit is 64). */
#define CANON_MAX_DEPTH 128

/* Objects with up to this many members are sorted on the stack. */
#define CANON_SMALL 32

_Static_assert(JW_MAX_DEPTH <= 64, "jw.objs has one bit per level");

/* ------------------------------------------------------------------ */
/* Output helpers                                                       */
/* ------------------------------------------------------------------ */

/* buf_add with the common case (room already there) inlined. */
static inline int put(struct buf *b, const void *p, size_t n)
{
	if (n < b->cap - b->len && n <= b->max - b->len) {
		memcpy(b->data + b->len, p, n);
		b->len += n;
		b->data[b->len] = '\0';
		return ST_OK;
	}
	return buf_add(b, p, n);
}

static inline int put1(struct buf *b, char c)
{
	if (b->len + 1 < b->cap && b->len < b->max) {
		b->data[b->len++] = c;
		b->data[b->len] = '\0';
		return ST_OK;
	}
	return buf_add(b, &c, 1);
}

/* Writes the decimal digits of v; returns the length (at most 20). */
static size_t fmt_u64(uint64_t v, char *out)
{
	char tmp[20];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (size_t i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}

/* Writes v in decimal; returns the length (at most 20). */
static size_t fmt_i64(int64_t v, char *out)
{
	if (v >= 0)
		return fmt_u64((uint64_t)v, out);
	out[0] = '-';
	return 1 + fmt_u64(0 - (uint64_t)v, out + 1);
}

/* ------------------------------------------------------------------ */
/* Strings                                                              */
/* ------------------------------------------------------------------ */

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/*
 * Non-zero if any byte of the word needs a look: a control, '"', '\\', or
 * (when high is HIGHS) a byte >= 0x80. Each term is exact as to whether
 * some byte matches, which is all the caller asks.
 */
static inline uint64_t word_special(uint64_t v, uint64_t high)
{
	uint64_t q = v ^ (ONES * '"');
	uint64_t s = v ^ (ONES * '\\');
	uint64_t t =
	    ((v - ONES * 0x20) & ~v) | ((q - ONES) & ~q) | ((s - ONES) & ~s);
	return (t & HIGHS) | (v & high);
}

/* Bytes that end a plain run: 1 always (controls, '"', '\\'), 2 only
 * when checking UTF-8 (bytes >= 0x80). */
#define R16(x) x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x
#define R64(x) R16(x), R16(x), R16(x), R16(x)
static const uint8_t byte_class[256] = {
    R16(1), R16(1), ['"'] = 1, ['\\'] = 1, [0x80] = R64(2), R64(2),
};
#undef R64
#undef R16

/* Length of the prefix of s that needs no escaping (and, when check_utf8,
 * is ASCII). */
static inline size_t plain_prefix(const unsigned char *s, size_t n,
				  bool check_utf8)
{
	uint64_t high = check_utf8 ? HIGHS : 0;
	uint8_t stop = check_utf8 ? 3 : 1;
	size_t i = 0;
	while (i + 8 <= n) {
		uint64_t v;
		memcpy(&v, s + i, 8);
		if (word_special(v, high) != 0)
			break;
		i += 8;
	}
	while (i < n && (byte_class[s[i]] & stop) == 0)
		i++;
	return i;
}

static int put_str_slow(struct buf *b, const unsigned char *s, size_t n,
			size_t i, bool check_utf8);

#ifdef __SSE2__
/* Non-zero if a byte of v needs escaping (or, with utf8, is >= 0x80). */
static inline int vec_special(__m128i v, bool utf8)
{
	__m128i q = _mm_cmpeq_epi8(v, _mm_set1_epi8('"'));
	__m128i bs = _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'));
	__m128i ctl = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
	int m = _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(q, bs), ctl));
	return utf8 ? m | _mm_movemask_epi8(v) : m;
}
#endif

/*
 * Copies s (n >= 8) to dst a word at a time, the last word overlapping the
 * one before; false, having written some of it, if a byte needs escaping
 * (or, with utf8, is not ASCII).
 */
static inline bool copy_plain(char *dst, const unsigned char *s, size_t n,
			      bool utf8)
{
	size_t i = 0;
#ifdef __SSE2__
	if (n >= 16) {
		__m128i v;
		int any = 0;
		for (; i + 16 <= n; i += 16) {
			v = _mm_loadu_si128(
			    (const __m128i *)(const void *)(s + i));
			any |= vec_special(v, utf8);
			_mm_storeu_si128((__m128i *)(void *)(dst + i), v);
		}
		if (i < n) {
			v = _mm_loadu_si128(
			    (const __m128i *)(const void *)(s + n - 16));
			any |= vec_special(v, utf8);
			_mm_storeu_si128((__m128i *)(void *)(dst + n - 16), v);
		}
		return any == 0;
	}
#endif
	uint64_t v, any = 0, high = utf8 ? HIGHS : 0;
	for (; i + 8 <= n; i += 8) {
		memcpy(&v, s + i, 8);
		any |= word_special(v, high);
		memcpy(dst + i, &v, 8);
	}
	if (i < n) {
		memcpy(&v, s + n - 8, 8);
		any |= word_special(v, high);
		memcpy(dst + n - 8, &v, 8);
	}
	return any == 0;
}

/*
 * Appends s as a quoted JSON string, or on error nothing. With check_utf8,
 * invalid UTF-8 is ST_EINVAL (strings from the parser are valid already
 * and skip it).
 */
static int put_str(struct buf *b, const char *str, size_t n, bool check_utf8)
{
	const unsigned char *s = (const unsigned char *)str;
	int rc;

	if (n > SIZE_MAX / 8)
		return ST_ELIMIT; /* so that n + 2 cannot wrap */
	/* The common case: nothing to escape; one check, one copy. */
	if (n + 2 >= b->cap - b->len || n + 2 > b->max - b->len) {
		rc = buf_reserve(b, n + 2);
		if (rc != ST_OK)
			return rc;
	}
	char *p = b->data + b->len;
	bool plain;
	if (n >= 8) {
		plain = copy_plain(p + 1, s, n, check_utf8);
	} else {
		uint8_t stop = check_utf8 ? 3 : 1, any = 0;
		for (size_t i = 0; i < n; i++) {
			any |= byte_class[s[i]] & stop;
			p[1 + i] = (char)s[i];
		}
		plain = any == 0;
	}
	if (plain) {
		p[0] = '"';
		p[n + 1] = '"';
		p[n + 2] = '\0';
		b->len += n + 2;
		return ST_OK;
	}
	size_t len0 = b->len;
	rc = put_str_slow(b, s, n, plain_prefix(s, n, check_utf8), check_utf8);
	if (rc != ST_OK && b->data != NULL) {
		b->len = len0;
		b->data[len0] = '\0';
	}
	return rc;
}

/* put_str from the first byte (at i) that needs a look. */
static int put_str_slow(struct buf *b, const unsigned char *s, size_t n,
			size_t i, bool check_utf8)
{
	static const char hex[] = "0123456789abcdef";
	static const char short_esc[32] = {
	    ['\b'] = 'b', ['\t'] = 't', ['\n'] = 'n',
	    ['\f'] = 'f', ['\r'] = 'r',
	};
	size_t run = 0; /* start of the bytes not yet written */
	int rc;

	if ((rc = put1(b, '"')) != ST_OK)
		return rc;
	while (i < n) {
		unsigned char c = s[i];
		if (c >= 0x80) {
			size_t k = check_utf8 ? utf8_seq_len(s + i, n - i) : 1;
			if (k == 0)
				return ST_EINVAL;
			i += k;
		} else if (c < 0x20 || c == '"' || c == '\\') {
			char esc[6] = {'\\', (char)c, 0, 0, 0, 0};
			size_t elen = 2;
			if (c < 0x20 && short_esc[c] != 0) {
				esc[1] = short_esc[c];
			} else if (c < 0x20) {
				memcpy(esc + 1, "u00", 3);
				esc[4] = hex[c >> 4];
				esc[5] = hex[c & 15];
				elen = 6;
			}
			if ((rc = put(b, s + run, i - run)) != ST_OK ||
			    (rc = put(b, esc, elen)) != ST_OK)
				return rc;
			run = ++i;
		} else {
			i++;
		}
		if (i < n && s[i] < 0x80 && s[i] >= 0x20 && s[i] != '"' &&
		    s[i] != '\\')
			i += plain_prefix(s + i, n - i, check_utf8);
	}
	if ((rc = put(b, s + run, n - run)) != ST_OK)
		return rc;
	return put1(b, '"');
}

/* ------------------------------------------------------------------ */
/* Numbers                                                              */
/* ------------------------------------------------------------------ */

/*
 * The first prec significant digits of v (> 0, finite), correctly
 * rounded by printf: the digits go to dig (no NUL), the decimal exponent
 * of the first digit to *e. Returns the number of digits.
 */
static int digits_at(double v, int prec, char dig[20], int *e)
{
	char tmp[48];
	int nd = 0;
	snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
	const char *s = tmp;
	/* Skip the decimal point whatever the locale makes of it. */
	for (; *s != '\0' && *s != 'e'; s++)
		if (*s >= '0' && *s <= '9' && nd < 20)
			dig[nd++] = *s;
	*e = *s == 'e' ? (int)strtol(s + 1, NULL, 10) : 0;
	return nd;
}

/* strtod of dig x 10^(e - nd + 1); no decimal point, so no locale. */
static double digits_value(const char *dig, int nd, int e)
{
	char tmp[48];
	int x = e - nd + 1;
	size_t n = (size_t)nd;
	memcpy(tmp, dig, n);
	tmp[n++] = 'e';
	if (x < 0) {
		tmp[n++] = '-';
		x = -x;
	}
	n += fmt_u64((uint64_t)x, tmp + n);
	tmp[n] = '\0';
	return strtod(tmp, NULL);
}

/* Adds one unit in the last place of dig; may carry into a new digit. */
static void digits_inc(char *dig, int *nd, int *e)
{
	int i = *nd - 1;
	while (i >= 0 && dig[i] == '9')
		dig[i--] = '0';
	if (i >= 0) {
		dig[i]++;
		return;
	}
	dig[0] = '1';
	*nd = 1;
	(*e)++;
}

/*
 * v rounded to p digits (into dig; the exponent into *e), from d17, its 17
 * correctly rounded digits: rounding those again gives the same digits
 * unless the dropped ones are exactly 5000..., a tie that may not be one
 * in v, and then printf rounds v itself. Returns the number of digits.
 */
static int round_to(double v, const char *d17, int e17, int p, char dig[20],
		    int *e)
{
	int nd = p;
	memcpy(dig, d17, (size_t)p);
	*e = e17;
	if (p >= 17 || d17[p] < '5')
		return nd;
	bool tie = d17[p] == '5';
	for (int i = p + 1; i < 17 && tie; i++)
		tie = d17[i] == '0';
	if (tie)
		return digits_at(v, p, dig, e);
	digits_inc(dig, &nd, e);
	return nd;
}

/*
 * The shortest digits that read back as v (> 0, finite, not an integer
 * below 2^53), and among those the closest to v, as ECMAScript
 * Number::toString asks. Returns the number of digits; *e is the decimal
 * exponent of the first digit.
 *
 * For most doubles the rounding interval is symmetric, so if p digits
 * round-trip so do p + 1 (the nearest p + 1 digits are at least as close)
 * and a binary search over p finds the shortest. At an exact power of two
 * the interval below is half as wide as the one above: there the nearest
 * p digits may fall just below the interval while the p digits above v are
 * still inside, so each length is tried in turn, with that other candidate.
 * printf is called once (for 17 digits), strtod once per candidate.
 */
static int shortest_digits(double v, char dig[20], int *e)
{
	char d17[20];
	int e17, exp2, nd;
	digits_at(v, 17, d17, &e17);
	if (frexp(v, &exp2) == 0.5) {
		for (int p = 1; p <= 17; p++) {
			nd = round_to(v, d17, e17, p, dig, e);
			double r = digits_value(dig, nd, *e);
			if (r == v)
				return nd;
			if (r < v) {
				digits_inc(dig, &nd, e);
				if (digits_value(dig, nd, *e) == v)
					return nd;
			}
		}
		return round_to(v, d17, e17, 17, dig, e);
	}
	int lo = 1, hi = 17; /* 17 digits always round-trip */
	while (lo < hi) {
		int mid = (lo + hi) / 2;
		nd = round_to(v, d17, e17, mid, dig, e);
		if (digits_value(dig, nd, *e) == v)
			hi = mid;
		else
			lo = mid + 1;
	}
	return round_to(v, d17, e17, lo, dig, e);
}

int json_fmt_number(double v, char out[32])
{
	char dig[20];
	char *p = out;
	int k, n, e;

	if (isnan(v) || isinf(v))
		return -1;
	if (v == 0) { /* -0 too */
		out[0] = '0';
		out[1] = '\0';
		return 1;
	}
	if (v < 0) {
		*p++ = '-';
		v = -v;
	}
	if (v < 9007199254740992.0 && v == floor(v)) {
		p += fmt_u64((uint64_t)v, p);
		*p = '\0';
		return (int)(p - out);
	}
	k = shortest_digits(v, dig, &e);
	while (k > 1 && dig[k - 1] == '0')
		k--;
	n = e + 1; /* v = 0.dig x 10^n */
	if (k <= n && n <= 21) {
		memcpy(p, dig, (size_t)k);
		p += k;
		memset(p, '0', (size_t)(n - k));
		p += n - k;
	} else if (0 < n && n <= 21) {
		memcpy(p, dig, (size_t)n);
		p += n;
		*p++ = '.';
		memcpy(p, dig + n, (size_t)(k - n));
		p += k - n;
	} else if (-6 < n && n <= 0) {
		*p++ = '0';
		*p++ = '.';
		memset(p, '0', (size_t)-n);
		p += -n;
		memcpy(p, dig, (size_t)k);
		p += k;
	} else {
		*p++ = dig[0];
		if (k > 1) {
			*p++ = '.';
			memcpy(p, dig + 1, (size_t)(k - 1));
			p += k - 1;
		}
		*p++ = 'e';
		*p++ = n - 1 >= 0 ? '+' : '-';
		p += fmt_u64((uint64_t)(n - 1 >= 0 ? n - 1 : 1 - n), p);
	}
	*p = '\0';
	return (int)(p - out);
}

/* ------------------------------------------------------------------ */
/* Key order                                                            */
/* ------------------------------------------------------------------ */

/*
 * UTF-8 byte order is code point order; UTF-16 order differs only in that
 * code points from U+10000 (lead bytes F0..F4, surrogate pairs D800..DFFF
 * in UTF-16) sort before U+E000..U+FFFF (lead bytes EE, EF). Swapping
 * those lead byte ranges, a permutation of 0..255, gives UTF-16 order by
 * plain byte comparison, and a total order for any bytes.
 */
static inline unsigned utf16_weight(unsigned char c)
{
	if (c < 0xee || c > 0xf7)
		return c;
	return c <= 0xef ? c + 8u : c - 2u;
}

int json_key_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	const unsigned char *x = (const unsigned char *)a;
	const unsigned char *y = (const unsigned char *)b;
	size_t n = alen < blen ? alen : blen;
	size_t i = 0;
	while (i + 8 <= n && memcmp(x + i, y + i, 8) == 0)
		i += 8;
	for (; i < n; i++) {
		if (x[i] != y[i])
			return utf16_weight(x[i]) < utf16_weight(y[i]) ? -1 : 1;
	}
	return alen < blen ? -1 : alen > blen;
}

/* ------------------------------------------------------------------ */
/* The streaming writer                                                 */
/* ------------------------------------------------------------------ */

static inline bool in_object(const struct jw *w)
{
	return w->depth > 0 && (w->objs >> (w->depth - 1) & 1) != 0;
}

static void emit(struct jw *w, const void *p, size_t n)
{
	int rc = put(w->out, p, n);
	if (rc != ST_OK)
		w->err = rc;
}

/* Checks that a value may come here and writes the comma before it. */
static bool begin_value(struct jw *w)
{
	if (w->err != ST_OK)
		return false;
	if (w->depth == 0) {
		if (!w->first[0]) { /* a second top-level value */
			w->err = ST_EINVAL;
			return false;
		}
		w->first[0] = false;
		return true;
	}
	if (in_object(w)) {
		if (!w->after_key) {
			w->err = ST_EINVAL;
			return false;
		}
		w->after_key = false;
		return true;
	}
	if (!w->first[w->depth])
		emit(w, ",", 1);
	w->first[w->depth] = false;
	return w->err == ST_OK;
}

void jw_init(struct jw *w, struct buf *out)
{
	w->out = out;
	w->err = ST_OK;
	w->depth = 0;
	w->first[0] = true;
	w->after_key = false;
	w->objs = 0;
}

static void open_container(struct jw *w, char c, bool obj)
{
	if (!begin_value(w))
		return;
	if (w->depth >= JW_MAX_DEPTH) {
		w->err = ST_ELIMIT;
		return;
	}
	emit(w, &c, 1);
	w->depth++;
	w->first[w->depth] = true;
	if (obj)
		w->objs |= UINT64_C(1) << (w->depth - 1);
	else
		w->objs &= ~(UINT64_C(1) << (w->depth - 1));
}

static void close_container(struct jw *w, char c, bool obj)
{
	if (w->err != ST_OK)
		return;
	if (w->depth == 0 || in_object(w) != obj || w->after_key) {
		w->err = ST_EINVAL;
		return;
	}
	emit(w, &c, 1);
	w->depth--;
}

void jw_obj_open(struct jw *w)
{
	open_container(w, '{', true);
}

void jw_obj_close(struct jw *w)
{
	close_container(w, '}', true);
}

void jw_arr_open(struct jw *w)
{
	open_container(w, '[', false);
}

void jw_arr_close(struct jw *w)
{
	close_container(w, ']', false);
}

static void put_key(struct jw *w, const char *k, size_t len, bool check_utf8)
{
	if (w->err != ST_OK)
		return;
	if (!in_object(w) || w->after_key) {
		w->err = ST_EINVAL;
		return;
	}
	if (!w->first[w->depth])
		emit(w, ",", 1);
	w->first[w->depth] = false;
	int rc = ST_OK;
	if (w->err == ST_OK &&
	    ((rc = put_str(w->out, k, len, check_utf8)) != ST_OK ||
	     (rc = put1(w->out, ':')) != ST_OK))
		w->err = rc;
	w->after_key = true;
}

void jw_key(struct jw *w, const char *k)
{
	put_key(w, k, strlen(k), true);
}

void jw_keyn(struct jw *w, const char *k, size_t len)
{
	put_key(w, k, len, true);
}

static void put_string(struct jw *w, const char *s, size_t len, bool check_utf8)
{
	if (!begin_value(w))
		return;
	int rc = put_str(w->out, s, len, check_utf8);
	if (rc != ST_OK)
		w->err = rc;
}

void jw_str(struct jw *w, const char *s)
{
	put_string(w, s, strlen(s), true);
}

void jw_strn(struct jw *w, const char *s, size_t len)
{
	put_string(w, s, len, true);
}

void jw_int(struct jw *w, int64_t v)
{
	char tmp[24];
	if (begin_value(w))
		emit(w, tmp, fmt_i64(v, tmp));
}

void jw_double(struct jw *w, double v)
{
	char tmp[32];
	if (!begin_value(w))
		return;
	int n = json_fmt_number(v, tmp);
	if (n < 0)
		w->err = ST_ERANGE;
	else
		emit(w, tmp, (size_t)n);
}

void jw_bool(struct jw *w, bool v)
{
	if (begin_value(w))
		emit(w, v ? "true" : "false", v ? 4 : 5);
}

void jw_null(struct jw *w)
{
	if (begin_value(w))
		emit(w, "null", 4);
}

void jw_raw(struct jw *w, const char *json, size_t len)
{
	if (begin_value(w))
		emit(w, json, len);
}

void jw_value(struct jw *w, const struct json_val *v)
{
	if (w->err != ST_OK)
		return;
	switch (v->type) {
	case JSON_NULL:
		jw_null(w);
		return;
	case JSON_FALSE:
	case JSON_TRUE:
		jw_bool(w, v->type == JSON_TRUE);
		return;
	case JSON_NUMBER:
		if (v->u.num.is_int)
			jw_int(w, v->u.num.i);
		else
			jw_double(w, v->u.num.d);
		return;
	case JSON_STRING:
		put_string(w, v->u.str, v->len, false);
		return;
	case JSON_ARRAY:
		jw_arr_open(w);
		for (uint32_t i = 0; i < v->len && w->err == ST_OK; i++)
			jw_value(w, &v->u.items[i]);
		jw_arr_close(w);
		return;
	case JSON_OBJECT:
		jw_obj_open(w);
		for (uint32_t i = 0; i < v->len && w->err == ST_OK; i++) {
			const struct json_member *m = &v->u.members[i];
			put_key(w, m->key, m->klen, false);
			jw_value(w, &m->val);
		}
		jw_obj_close(w);
		return;
	}
	w->err = ST_EINVAL;
}

int jw_finish(struct jw *w)
{
	if (w->err != ST_OK)
		return w->err;
	if (w->depth != 0 || w->after_key || w->first[0])
		return ST_EINVAL;
	return ST_OK;
}

/* ------------------------------------------------------------------ */
/* RFC 8785 canonical form                                              */
/* ------------------------------------------------------------------ */

struct canon {
	struct buf *out;
	struct diag *d;
};

static int canon_value(struct canon *c, const struct json_val *v,
		       unsigned depth);

/*
 * A member to sort, with the first 8 bytes of its key (UTF-16 weighted,
 * zero-padded) as a big-endian number: when two prefixes differ they give
 * the order of the keys (a key that ends early is a prefix of the other,
 * and so first), so most comparisons are one integer comparison.
 */
struct sort_ent {
	uint64_t pre;
	const struct json_member *m;
};

static inline uint64_t key_prefix(const char *k, uint32_t len)
{
	uint64_t v = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (len >= 8) {
		memcpy(&v, k, 8);
		if ((v & HIGHS) == 0) /* ASCII: weights are the bytes */
			return __builtin_bswap64(v);
		v = 0;
	}
#endif
	for (uint32_t i = 0; i < 8; i++)
		v = v << 8 | (i < len ? utf16_weight((unsigned char)k[i]) : 0);
	return v;
}

static inline int ent_cmp(const struct sort_ent *a, const struct sort_ent *b)
{
	if (a->pre != b->pre)
		return a->pre < b->pre ? -1 : 1;
	return json_key_cmp(a->m->key, a->m->klen, b->m->key, b->m->klen);
}

static int ent_qsort_cmp(const void *a, const void *b)
{
	return ent_cmp(a, b);
}

/* Sorts e; returns true if two keys are equal. */
static bool sort_members(struct sort_ent *e, uint32_t n)
{
	bool dup = false;
	if (n > CANON_SMALL) {
		qsort(e, n, sizeof(*e), ent_qsort_cmp);
		for (uint32_t i = 1; i < n && !dup; i++)
			dup = ent_cmp(&e[i - 1], &e[i]) == 0;
		return dup;
	}
	for (uint32_t i = 1; i < n; i++) {
		struct sort_ent x = e[i];
		uint32_t j = i;
		while (j > 0) {
			int r = ent_cmp(&e[j - 1], &x);
			if (r <= 0) {
				dup |= r == 0;
				break;
			}
			e[j] = e[j - 1];
			j--;
		}
		e[j] = x;
	}
	return dup;
}

static int out_err(struct canon *c, int rc)
{
	if (rc == ST_ELIMIT)
		return diag_set(c->d, rc,
				"canonical form exceeds the limit of %zu bytes",
				c->out->max);
	if (rc == ST_ENOMEM)
		return diag_set(c->d, rc, "out of memory");
	return diag_set(c->d, rc, "cannot write the canonical form");
}

static int canon_object(struct canon *c, const struct json_val *v,
			unsigned depth)
{
	struct sort_ent small[CANON_SMALL];
	struct sort_ent *e = small;
	uint32_t n = v->len;
	int rc = ST_OK;

	if (n > CANON_SMALL) {
		e = malloc(sizeof(*e) * n);
		if (e == NULL) {
			rc = diag_set(c->d, ST_ENOMEM, "out of memory");
			goto out;
		}
	}
	for (uint32_t i = 0; i < n; i++) {
		const struct json_member *m = &v->u.members[i];
		e[i].pre = key_prefix(m->key, m->klen);
		e[i].m = m;
	}
	if (sort_members(e, n)) {
		rc = diag_set(c->d, ST_EJSON, "duplicate key in an object");
		goto out;
	}
	if ((rc = put1(c->out, '{')) != ST_OK) {
		rc = out_err(c, rc);
		goto out;
	}
	for (uint32_t i = 0; i < n; i++) {
		const struct json_member *m = e[i].m;
		if ((i > 0 && (rc = put1(c->out, ',')) != ST_OK) ||
		    (rc = put_str(c->out, m->key, m->klen, false)) != ST_OK ||
		    (rc = put1(c->out, ':')) != ST_OK) {
			rc = out_err(c, rc);
			goto out;
		}
		rc = canon_value(c, &m->val, depth + 1);
		if (rc != ST_OK) {
			if (rc == ST_ERANGE || rc == ST_EINVAL)
				diag_prefix(c->d, "\"%.*s\"",
					    (int)(m->klen > 64 ? 64 : m->klen),
					    m->key);
			goto out;
		}
	}
	if ((rc = put1(c->out, '}')) != ST_OK)
		rc = out_err(c, rc);
out:
	if (e != small)
		free(e);
	return rc;
}

static int canon_value(struct canon *c, const struct json_val *v,
		       unsigned depth)
{
	char tmp[32];
	int rc;
	size_t n;

	switch (v->type) {
	case JSON_NULL:
		rc = put(c->out, "null", 4);
		break;
	case JSON_FALSE:
		rc = put(c->out, "false", 5);
		break;
	case JSON_TRUE:
		rc = put(c->out, "true", 4);
		break;
	case JSON_NUMBER:
		if (v->u.num.is_int) {
			int64_t i = v->u.num.i;
			if (i > SAFE_INT_MAX || i < -SAFE_INT_MAX)
				return diag_set(c->d, ST_ERANGE,
						"integer %lld is outside the "
						"I-JSON range +-(2^53-1)",
						(long long)i);
			n = fmt_i64(i, tmp);
		} else {
			double a = fabs(v->u.num.d);
			/* From 2^53 to 1e21 a double is written as an integer
			 * that is not an I-JSON one: json_parse would refuse
			 * it, or read it back as an out-of-range integer. */
			if (a >= 9007199254740992.0 && a < 1e21)
				return diag_set(c->d, ST_ERANGE,
						"number %.17g would be written "
						"as an integer outside the "
						"I-JSON range +-(2^53-1)",
						v->u.num.d);
			int k = json_fmt_number(v->u.num.d, tmp);
			if (k < 0)
				return diag_set(c->d, ST_ERANGE,
						"NaN or infinite number");
			n = (size_t)k;
		}
		rc = put(c->out, tmp, n);
		break;
	case JSON_STRING:
		rc = put_str(c->out, v->u.str, v->len, false);
		break;
	case JSON_ARRAY:
		if (depth >= CANON_MAX_DEPTH)
			return diag_set(c->d, ST_ELIMIT,
					"nesting deeper than %d",
					CANON_MAX_DEPTH);
		if ((rc = put1(c->out, '[')) != ST_OK)
			break;
		for (uint32_t i = 0; i < v->len; i++) {
			if (i > 0 && (rc = put1(c->out, ',')) != ST_OK)
				return out_err(c, rc);
			rc = canon_value(c, &v->u.items[i], depth + 1);
			if (rc != ST_OK) {
				if (rc == ST_ERANGE || rc == ST_EINVAL)
					diag_prefix(c->d, "[%u]", i);
				return rc;
			}
		}
		rc = put1(c->out, ']');
		break;
	case JSON_OBJECT:
		if (depth >= CANON_MAX_DEPTH)
			return diag_set(c->d, ST_ELIMIT,
					"nesting deeper than %d",
					CANON_MAX_DEPTH);
		return canon_object(c, v, depth);
	default:
		return diag_set(c->d, ST_EINVAL, "unknown value type %d",
				(int)v->type);
	}
	return rc == ST_OK ? ST_OK : out_err(c, rc);
}

int json_canonical(const struct json_val *v, struct buf *out, struct diag *d)
{
	struct canon c = {out, d};
	size_t len0 = out->len;
	int rc = canon_value(&c, v, 0);
	if (rc != ST_OK) {
		out->len = len0;
		if (out->data != NULL)
			out->data[len0] = '\0';
	}
	return rc;
}
