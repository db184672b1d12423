/*
 * strait: the streaming splitter.
 *
 * The input is read into a window (buf) that keeps the bytes from "mark"
 * (the start of the element being scanned) to the end of what was read;
 * everything before mark is dropped when more is read, so the window never
 * holds more than max_elem + SPLIT_CHUNK + JSON_PADDING bytes. An element
 * that outgrows max_elem loses its mark and is scanned to its end in
 * discard mode, then reported with ST_ELIMIT.
 *
 * Scanning is synchronous: the scanners call more() when they run out of
 * bytes, and more() reads through the callback (moving the window, so
 * positions are indexes, never pointers). Only the place in the top-level
 * grammar survives between calls to split_next (enum state).
 *
 * A top-level object is ambiguous until its "objects" and "type" members
 * are known. If "type" comes first the answer is immediate. If "objects"
 * comes first (as in canonical JSON, where "id" < "objects" < "type"), the
 * rest of the object is scanned ahead while it fits in max_elem, then the
 * scan rewinds to the array; if it does not fit it cannot be a single
 * element anyway, so it is taken as a container and a later "type" other
 * than "bundle" ends the stream with an error.
 */
#include "common/split.h"

#include "common/json.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPLIT_CHUNK ((size_t)1 << 20)  /* most bytes asked of the callback */
#define SPLIT_FIRST ((size_t)64 << 10) /* the first window */
#define SPLIT_MAX_DEPTH 64	       /* nesting within one element */
#define NONE SIZE_MAX		       /* no mark / no position */
#define CAPTURE_MAX 64		       /* raw bytes of a key kept to compare */
#define MORE_ABORT (-1000)	       /* window full during the look-ahead */

enum state {
	S_START,     /* nothing read yet */
	S_ARR_FIRST, /* after '[' of the element array: a value or ']' */
	S_ARR_VALUE, /* after ',': a value */
	S_ARR_NEXT,  /* after an element: ',' or ']' */
	S_MEMBERS,   /* after a container's objects array: ',' or '}' */
	S_END,	     /* after the top-level value: whitespace only */
	S_DONE,
};

struct split {
	split_read_fn rd;
	void *ctx;
	size_t max_elem;
	bool mem;	  /* over a caller's buffer: no reads */
	const char *data; /* the window: buf, or the caller's buffer */
	char *buf;
	size_t cap;
	size_t len;	   /* bytes in the window */
	size_t pos;	   /* scan position in the window */
	size_t mark;	   /* start of the kept bytes, or NONE */
	size_t arr_pos;	   /* look-ahead: the '[' of "objects", or NONE */
	uint64_t base;	   /* input offset of data[0] */
	uint64_t elem_off; /* input offset of the element being scanned */
	bool eof;
	bool abort_on_overflow; /* look-ahead: stop rather than drop mark */
	bool overflowed;	/* mark was dropped: larger than max_elem */
	char *scratch;		/* mem mode: an element copied to be padded */
	size_t scratch_cap;
	enum split_kind kind;
	enum state state;
	bool container; /* after the element array comes S_MEMBERS */
	bool seen_type;
	int err; /* sticky */
	char errmsg[DIAG_MAX];
};

/* Raw bytes of a short string, kept to compare keys and "type". */
struct capture {
	char b[CAPTURE_MAX];
	size_t n;
	bool over;
};

static int fail(struct split *s, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sets the sticky error; the message names the byte offset. */
static int fail(struct split *s, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->errmsg, sizeof(s->errmsg), fmt, ap);
	va_end(ap);
	s->err = err;
	return err;
}

static unsigned long long here(const struct split *s)
{
	return (unsigned long long)(s->base + s->pos);
}

static int truncated(struct split *s)
{
	return fail(s, ST_EJSON, "at byte %llu: unexpected end of input",
		    (unsigned long long)(s->base + s->len));
}

static int unexpected(struct split *s, const char *what)
{
	unsigned char c = (unsigned char)s->data[s->pos];
	if (c >= 0x20 && c < 0x7f)
		return fail(s, ST_EJSON, "at byte %llu: expected %s, not '%c'",
			    here(s), what, c);
	return fail(s, ST_EJSON, "at byte %llu: expected %s, not byte 0x%02x",
		    here(s), what, c);
}

/* ------------------------------------------------------------------ */
/* The window                                                           */
/* ------------------------------------------------------------------ */

static size_t max_cap(const struct split *s)
{
	return s->max_elem + SPLIT_CHUNK + JSON_PADDING;
}

/*
 * Reads more input into the window, first dropping the bytes before mark
 * (or before pos without a mark). Returns 1 if bytes were added, 0 at the
 * end of the input, MORE_ABORT (look-ahead only), or a sticky error.
 */
static int fill(struct split *s)
{
	if (s->mem || s->eof)
		return 0;
	if (s->mark != NONE && s->len - s->mark > s->max_elem) {
		if (s->abort_on_overflow)
			return MORE_ABORT;
		s->mark = NONE;
		s->overflowed = true;
	}
	size_t keep = s->mark != NONE ? s->mark : s->pos;
	if (keep > 0) {
		memmove(s->buf, s->buf + keep, s->len - keep);
		s->base += keep;
		s->len -= keep;
		s->pos -= keep;
		if (s->mark != NONE)
			s->mark -= keep;
		if (s->arr_pos != NONE)
			s->arr_pos -= keep;
	}
	/*
	 * Grow (by doubling, up to max_cap) when less than half the window
	 * and less than a chunk is free. len <= max_elem after the move
	 * above, so a full-size window always has a chunk free.
	 */
	size_t room = s->cap > 0 ? s->cap - s->len - JSON_PADDING : 0;
	if (s->cap == 0 ||
	    (room < s->cap / 2 && room < SPLIT_CHUNK && s->cap < max_cap(s))) {
		size_t ncap =
		    s->cap > 0 ? s->cap * 2 : SPLIT_FIRST + JSON_PADDING;
		if (ncap > max_cap(s))
			ncap = max_cap(s);
		char *p = realloc(s->buf, ncap);
		if (p == NULL)
			return fail(s, ST_ENOMEM, "out of memory");
		s->buf = p;
		s->data = p;
		s->cap = ncap;
		room = s->cap - s->len - JSON_PADDING;
	}
	ssize_t r;
	do {
		r = s->rd(s->ctx, s->buf + s->len, room);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return fail(s, ST_EIO, "at byte %llu: read error: %s",
			    (unsigned long long)(s->base + s->len),
			    strerror(errno));
	if ((size_t)r > room)
		return fail(s, ST_EIO, "at byte %llu: read callback overran",
			    (unsigned long long)(s->base + s->len));
	if (r == 0) {
		s->eof = true;
		return 0;
	}
	s->len += (size_t)r;
	memset(s->buf + s->len, 0, JSON_PADDING);
	return 1;
}

/* 1 if a byte is available at pos, else what fill() said. */
static inline int more(struct split *s)
{
	return s->pos < s->len ? 1 : fill(s);
}

/* Skips whitespace: 1 with a byte at pos, 0 at the end, or an error. */
static int skip_ws(struct split *s)
{
	for (;;) {
		int r = more(s);
		if (r <= 0)
			return r;
		while (s->pos < s->len) {
			char c = s->data[s->pos];
			if (c != ' ' && c != '\n' && c != '\r' && c != '\t')
				return 1;
			s->pos++;
		}
	}
}

/* skip_ws where the end of the input would be a truncation. */
static int skip_ws_more(struct split *s)
{
	int r = skip_ws(s);
	return r == 0 ? truncated(s) : r;
}

/* ------------------------------------------------------------------ */
/* Scanners                                                             */
/* ------------------------------------------------------------------ */

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* Index of the first '"' or '\\' in d[i, n), or n. */
static size_t find_quote(const unsigned char *d, size_t i, size_t n)
{
	while (i + 8 <= n) {
		uint64_t v;
		memcpy(&v, d + i, 8);
		uint64_t q = v ^ (ONES * '"');
		uint64_t b = v ^ (ONES * '\\');
		if ((((q - ONES) & ~q) | ((b - ONES) & ~b)) & HIGHS)
			break;
		i += 8;
	}
	while (i < n && d[i] != '"' && d[i] != '\\')
		i++;
	return i;
}

static void capture_add(struct capture *c, const char *p, size_t n)
{
	if (c == NULL || c->over)
		return;
	if (n > CAPTURE_MAX - c->n) {
		c->over = true;
		return;
	}
	memcpy(c->b + c->n, p, n);
	c->n += n;
}

/*
 * Scans the string whose '"' is at pos, leaving pos after the closing
 * '"'. Its raw bytes go to cap (if any). 1, or an error.
 */
static int scan_string(struct split *s, struct capture *cap)
{
	bool esc = false; /* a '\\' ended the last window */
	s->pos++;
	for (;;) {
		int r = more(s);
		if (r <= 0)
			return r == 0 ? truncated(s) : r;
		const unsigned char *d = (const unsigned char *)s->data;
		size_t i = s->pos, n = s->len;
		if (esc) {
			i++;
			esc = false;
		}
		for (;;) {
			i = find_quote(d, i, n);
			if (i >= n)
				break;
			if (d[i] == '"') {
				capture_add(cap, s->data + s->pos, i - s->pos);
				s->pos = i + 1;
				return 1;
			}
			if (i + 1 >= n) { /* the escaped byte is not read yet */
				i = n;
				esc = true;
				break;
			}
			i += 2;
		}
		capture_add(cap, s->data + s->pos, n - s->pos);
		s->pos = n;
	}
}

/*
 * Scans a number or literal at pos, up to its delimiter. Numbers are
 * checked against the JSON grammar, literals spelled out.
 */
static int scan_scalar(struct split *s)
{
	/* Number grammar states: 0 start, 1 after '-', 2 after a leading 0,
	 * 3 integer digits, 4 after '.', 5 fraction digits, 6 after 'e',
	 * 7 after the exponent sign, 8 exponent digits. */
	static const char ok_end[9] = {0, 0, 1, 1, 0, 1, 0, 0, 1};
	uint64_t start = s->base + s->pos;
	char lit[6];
	size_t nlit = 0;
	int st = 0;
	bool number = true;

	for (;;) {
		int r = more(s);
		if (r <= 0)
			return r == 0 ? truncated(s) : r;
		char c = s->data[s->pos];
		if (c == ',' || c == ']' || c == '}' || c == ' ' || c == '\n' ||
		    c == '\r' || c == '\t')
			break;
		if (nlit < sizeof(lit))
			lit[nlit] = c;
		nlit++;
		bool dig = c >= '0' && c <= '9';
		switch (st) {
		case 0:
			st = c == '-' ? 1 : c == '0' ? 2 : dig ? 3 : -1;
			break;
		case 1:
			st = c == '0' ? 2 : dig ? 3 : -1;
			break;
		case 2:
		case 3:
			st = (st == 3 && dig)	      ? 3
			     : c == '.'		      ? 4
			     : (c == 'e' || c == 'E') ? 6
						      : -1;
			break;
		case 4:
		case 5:
			st = dig				   ? 5
			     : (st == 5 && (c == 'e' || c == 'E')) ? 6
								   : -1;
			break;
		case 6:
			st = (c == '+' || c == '-') ? 7 : dig ? 8 : -1;
			break;
		case 7:
		case 8:
			st = dig ? 8 : -1;
			break;
		default:
			break;
		}
		if (st < 0)
			number = false;
		if (!number && nlit > 5)
			break;
		s->pos++;
	}
	if (number && st >= 0 && ok_end[st])
		return 1;
	if ((nlit == 4 &&
	     (memcmp(lit, "true", 4) == 0 || memcmp(lit, "null", 4) == 0)) ||
	    (nlit == 5 && memcmp(lit, "false", 5) == 0))
		return 1;
	return fail(s, ST_EJSON, "at byte %llu: invalid value",
		    (unsigned long long)start);
}

/* Bytes that matter between tokens inside an array or object. */
static const bool structural[256] = {
    ['"'] = true, ['{'] = true, ['}'] = true, ['['] = true, [']'] = true,
};

/*
 * Scans one value at pos (not whitespace), leaving pos after it. Checks
 * strings, escapes and the nesting of {} and [] (their kinds are matched
 * for the first 64 levels; deeper ones are only counted). *depth receives
 * the deepest nesting met (0 for a scalar). 1, or an error.
 */
static int scan_value(struct split *s, uint64_t *depth)
{
	uint64_t objs = 0; /* bit i: level i + 1 is an object */
	uint64_t level = 0;
	char c = s->data[s->pos];

	*depth = 0;
	if (c == '"')
		return scan_string(s, NULL);
	if (c != '{' && c != '[')
		return scan_scalar(s);
	for (;;) {
		int r = more(s);
		if (r <= 0)
			return r == 0 ? truncated(s) : r;
		const unsigned char *d = (const unsigned char *)s->data;
		size_t i = s->pos, n = s->len;
		while (i < n) {
			if (!structural[d[i]]) {
				i++;
				continue;
			}
			c = (char)d[i];
			if (c == '"') {
				s->pos = i;
				r = scan_string(s, NULL);
				if (r <= 0)
					return r;
				d = (const unsigned char *)s->data;
				i = s->pos;
				n = s->len;
				continue;
			}
			if (c == '{' || c == '[') {
				level++;
				if (level > *depth)
					*depth = level;
				if (level <= 64) {
					uint64_t bit = UINT64_C(1)
						       << (level - 1);
					objs =
					    c == '{' ? objs | bit : objs & ~bit;
				}
				i++;
				continue;
			}
			if (level <= 64 &&
			    ((objs >> (level - 1) & 1) != 0) != (c == '}')) {
				s->pos = i;
				return fail(s, ST_EJSON,
					    "at byte %llu: '%c' does not close "
					    "'%c'",
					    here(s), c,
					    (objs >> (level - 1) & 1) ? '{'
								      : '[');
			}
			i++;
			if (--level == 0) {
				s->pos = i;
				return 1;
			}
		}
		s->pos = i;
	}
}

/* True if the raw string bytes in c, unescaped, are the ASCII text lit. */
static bool capture_eq(const struct capture *c, const char *lit)
{
	size_t i = 0, j = 0, m = strlen(lit);
	if (c->over)
		return false;
	while (i < c->n) {
		unsigned ch = (unsigned char)c->b[i++];
		if (ch == '\\') {
			if (i >= c->n)
				return false;
			char e = c->b[i++];
			const char *from = "\"\\/bfnrt",
				   *to = "\"\\/\b\f\n\r\t";
			const char *k = strchr(from, e);
			if (e != '\0' && k != NULL) {
				ch = (unsigned char)to[k - from];
			} else if (e == 'u' && c->n - i >= 4) {
				ch = 0;
				for (int h = 0; h < 4; h++) {
					char x = c->b[i++];
					ch <<= 4;
					if (x >= '0' && x <= '9')
						ch |= (unsigned)(x - '0');
					else if (x >= 'a' && x <= 'f')
						ch |= (unsigned)(x - 'a' + 10);
					else if (x >= 'A' && x <= 'F')
						ch |= (unsigned)(x - 'A' + 10);
					else
						return false;
				}
			} else {
				return false;
			}
		}
		if (j >= m || (unsigned char)lit[j] != ch)
			return false;
		j++;
	}
	return j == m;
}

/* Scans a member key at pos (which must be '"') and its ':'; leaves pos
 * at the value. */
static int scan_key(struct split *s, struct capture *key)
{
	int r;
	key->n = 0;
	key->over = false;
	if (s->data[s->pos] != '"')
		return unexpected(s, "a key");
	if ((r = scan_string(s, key)) <= 0 || (r = skip_ws_more(s)) <= 0)
		return r;
	if (s->data[s->pos] != ':')
		return unexpected(s, "':'");
	s->pos++;
	return skip_ws_more(s);
}

/* ------------------------------------------------------------------ */
/* The top-level grammar                                                */
/* ------------------------------------------------------------------ */

static void start_elements(struct split *s, size_t after_bracket,
			   bool container)
{
	s->pos = after_bracket;
	s->mark = NONE;
	s->arr_pos = NONE;
	s->abort_on_overflow = false;
	s->overflowed = false;
	s->container = container;
	s->state = S_ARR_FIRST;
}

/*
 * The top-level object whose '{' is at pos. Either finds a container and
 * leaves the state at its elements (returns 0), or finds a single element
 * (returns 1 with *elen set; mark is its start), or fails.
 */
static int top_object(struct split *s, size_t *elen, uint64_t *maxdepth)
{
	struct capture key, val;
	bool seen_objects = false, type_bundle = false, first = true;
	uint64_t depth;
	int r;

	s->mark = s->pos;
	s->elem_off = s->base + s->pos;
	s->pos++;
	s->arr_pos = NONE;
	s->overflowed = false;
	s->seen_type = false;
	*maxdepth = 1;
	for (;;) {
		if ((r = skip_ws_more(s)) <= 0)
			goto out;
		if (first && s->data[s->pos] == '}')
			break;
		first = false;
		if ((r = scan_key(s, &key)) <= 0)
			goto out;
		bool is_type = capture_eq(&key, "type");
		bool is_objects = capture_eq(&key, "objects");
		char c = s->data[s->pos];
		if ((is_type && s->seen_type) || (is_objects && seen_objects)) {
			r = fail(s, ST_EJSON,
				 "at byte %llu: duplicate key "
				 "\"%s\"",
				 here(s), is_type ? "type" : "objects");
			goto out;
		}
		depth = 0;
		if (is_type && c == '"') {
			val.n = 0;
			val.over = false;
			r = scan_string(s, &val);
			s->seen_type = true;
			type_bundle = capture_eq(&val, "bundle");
		} else if (is_objects && c == '[' &&
			   !(s->seen_type && !type_bundle)) {
			seen_objects = true;
			if (s->seen_type || s->overflowed) {
				/* Known to be a container: stream it. */
				s->kind =
				    type_bundle ? SPLIT_BUNDLE : SPLIT_ENVELOPE;
				start_elements(s, s->pos + 1, true);
				return 0;
			}
			s->arr_pos = s->pos;
			s->abort_on_overflow = true;
			r = scan_value(s, &depth);
		} else {
			s->seen_type |= is_type;
			seen_objects |= is_objects;
			r = scan_value(s, &depth);
		}
		if (r <= 0)
			goto out;
		if (depth + 1 > *maxdepth)
			*maxdepth = depth + 1;
		if ((r = skip_ws_more(s)) <= 0)
			goto out;
		c = s->data[s->pos];
		if (c == '}')
			break;
		if (c != ',') {
			r = unexpected(s, "',' or '}'");
			goto out;
		}
		s->pos++;
	}
	s->pos++; /* the '}' */
	/* Larger than max_elem, it cannot be a single element: then it is a
	 * container whatever its type, as it is when the window fills up
	 * during the look-ahead (so both modes agree). */
	bool big = s->mark == NONE || s->pos - s->mark > s->max_elem;
	if (s->arr_pos != NONE && (!s->seen_type || type_bundle || big)) {
		/* The whole container was looked at: go back to its array. */
		s->kind = type_bundle ? SPLIT_BUNDLE : SPLIT_ENVELOPE;
		s->seen_type = false; /* met again after the array */
		start_elements(s, s->arr_pos + 1, true);
		return 0;
	}
	s->kind = SPLIT_SINGLE;
	s->state = S_END;
	s->abort_on_overflow = false;
	s->arr_pos = NONE;
	*elen = s->mark != NONE ? s->pos - s->mark : 0;
	return 1;
out:
	if (r == MORE_ABORT) {
		/* Over max_elem before its end: not a single element. */
		s->kind = SPLIT_ENVELOPE;
		s->seen_type = false;
		start_elements(s, s->arr_pos + 1, true);
		return 0;
	}
	return r < 0 ? r : truncated(s);
}

/* After the objects array of a container: its other members, then '}'. */
static int members_after(struct split *s)
{
	struct capture key, val;
	uint64_t depth;
	int r;

	for (;;) {
		if ((r = skip_ws_more(s)) <= 0)
			return r;
		char c = s->data[s->pos];
		if (c == '}') {
			s->pos++;
			s->state = S_END;
			return 0;
		}
		if (c != ',')
			return unexpected(s, "',' or '}'");
		s->pos++;
		if ((r = skip_ws_more(s)) <= 0 || (r = scan_key(s, &key)) <= 0)
			return r;
		if (capture_eq(&key, "objects"))
			return fail(s, ST_EJSON,
				    "at byte %llu: duplicate key \"objects\"",
				    here(s));
		if (!capture_eq(&key, "type")) {
			if ((r = scan_value(s, &depth)) <= 0)
				return r;
			continue;
		}
		if (s->seen_type)
			return fail(s, ST_EJSON,
				    "at byte %llu: duplicate key \"type\"",
				    here(s));
		s->seen_type = true;
		uint64_t at = s->base + s->pos;
		val.n = 0;
		val.over = false;
		if (s->data[s->pos] == '"')
			r = scan_string(s, &val);
		else
			r = scan_value(s, &depth);
		if (r <= 0)
			return r;
		if (!capture_eq(&val, "bundle"))
			return fail(s, ST_EJSON,
				    "at byte %llu: a top-level object with an "
				    "\"objects\" array has a \"type\" other "
				    "than \"bundle\"",
				    (unsigned long long)at);
		s->kind = SPLIT_BUNDLE;
	}
}

/* The top-level value: sets the kind and the state. 1 if it is a single
 * element (then *elen is set and mark is its start), 0, or an error. */
static int begin(struct split *s, size_t *elen, uint64_t *maxdepth)
{
	static const char bom[3] = {'\xef', '\xbb', '\xbf'};
	int r;

	/* Keep the first bytes while looking for a BOM. */
	s->mark = s->pos;
	while (s->len - s->pos < 3 && (r = fill(s)) > 0)
		;
	s->mark = NONE;
	if (s->err != ST_OK)
		return s->err;
	if (s->len - s->pos >= 3 && memcmp(s->data + s->pos, bom, 3) == 0)
		s->pos += 3;
	if ((r = skip_ws(s)) < 0)
		return r;
	if (r == 0)
		return fail(s, ST_EJSON, "at byte %llu: empty input", here(s));
	if (s->data[s->pos] == '[') {
		s->kind = SPLIT_ARRAY;
		start_elements(s, s->pos + 1, false);
		return 0;
	}
	if (s->data[s->pos] == '{')
		return top_object(s, elen, maxdepth);
	return unexpected(s, "'{' or '['");
}

/* ------------------------------------------------------------------ */
/* Public interface                                                     */
/* ------------------------------------------------------------------ */

static struct split *split_alloc(size_t max_elem)
{
	struct split *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	/* Keeps max_cap() from overflowing. */
	if (max_elem > SIZE_MAX / 4)
		max_elem = SIZE_MAX / 4;
	s->max_elem = max_elem;
	s->mark = NONE;
	s->arr_pos = NONE;
	s->kind = SPLIT_UNKNOWN;
	s->state = S_START;
	return s;
}

struct split *split_new(split_read_fn rd, void *ctx, size_t max_elem)
{
	struct split *s = split_alloc(max_elem);
	if (s == NULL)
		return NULL;
	s->rd = rd;
	s->ctx = ctx;
	s->data = "";
	return s;
}

struct split *split_new_mem(const char *data, size_t len, size_t max_elem)
{
	struct split *s = split_alloc(max_elem);
	if (s == NULL)
		return NULL;
	s->mem = true;
	s->eof = true;
	s->data = data != NULL ? data : "";
	s->len = data != NULL ? len : 0;
	return s;
}

void split_free(struct split *s)
{
	if (s == NULL)
		return;
	free(s->buf);
	free(s->scratch);
	free(s);
}

enum split_kind split_kind(const struct split *s)
{
	return s->kind;
}

uint64_t split_bytes_read(const struct split *s)
{
	return s->base + s->pos;
}

/*
 * Hands out the element at mark (elen bytes): checks its size and depth,
 * and in mem mode copies it when fewer than JSON_PADDING bytes follow.
 */
static int deliver(struct split *s, size_t elen, uint64_t depth,
		   const char **elem, size_t *len, struct diag *d)
{
	unsigned long long off = (unsigned long long)s->elem_off;
	const char *p;
	if (s->mark == NONE || s->overflowed || elen > s->max_elem) {
		s->mark = NONE;
		return diag_set(d, ST_ELIMIT,
				"at byte %llu: element larger than %zu bytes "
				"skipped",
				off, s->max_elem);
	}
	p = s->data + s->mark;
	s->mark = NONE;
	if (depth > SPLIT_MAX_DEPTH)
		return diag_set(d, ST_ELIMIT,
				"at byte %llu: element nested deeper than %d "
				"skipped",
				off, SPLIT_MAX_DEPTH);
	if (s->mem && s->len - (size_t)(p + elen - s->data) < JSON_PADDING) {
		if (s->scratch_cap < elen + JSON_PADDING) {
			char *n = realloc(s->scratch, elen + JSON_PADDING);
			if (n == NULL)
				return diag_set(
				    d, fail(s, ST_ENOMEM, "out of memory"),
				    "out of memory");
			s->scratch = n;
			s->scratch_cap = elen + JSON_PADDING;
		}
		memcpy(s->scratch, p, elen);
		memset(s->scratch + elen, 0, JSON_PADDING);
		p = s->scratch;
	}
	*elem = p;
	*len = elen;
	return 1;
}

int split_next(struct split *s, const char **elem, size_t *len,
	       uint64_t *offset, struct diag *d)
{
	size_t elen = 0;
	uint64_t depth = 0;
	int r;

	*elem = NULL;
	*len = 0;
	while (s->err == ST_OK) {
		switch (s->state) {
		case S_START:
			r = begin(s, &elen, &depth);
			if (r < 0)
				goto fail;
			if (r == 1)
				goto element; /* a single top-level object */
			break;
		case S_ARR_FIRST:
		case S_ARR_VALUE:
			if (skip_ws_more(s) < 0)
				goto fail;
			if (s->data[s->pos] == ']' && s->state == S_ARR_FIRST) {
				s->pos++;
				s->state = s->container ? S_MEMBERS : S_END;
				break;
			}
			if (s->data[s->pos] == ']' || s->data[s->pos] == ',') {
				unexpected(s, "a value");
				goto fail;
			}
			s->mark = s->pos;
			s->elem_off = s->base + s->pos;
			s->overflowed = false;
			if (scan_value(s, &depth) < 0)
				goto fail;
			s->state = S_ARR_NEXT;
			elen = s->mark != NONE ? s->pos - s->mark : 0;
			goto element;
		case S_ARR_NEXT:
			if (skip_ws_more(s) < 0)
				goto fail;
			if (s->data[s->pos] == ',') {
				s->pos++;
				s->state = S_ARR_VALUE;
			} else if (s->data[s->pos] == ']') {
				s->pos++;
				s->state = s->container ? S_MEMBERS : S_END;
			} else {
				unexpected(s, "',' or ']'");
			}
			break;
		case S_MEMBERS:
			members_after(s);
			break;
		case S_END:
			r = skip_ws(s);
			if (r < 0)
				goto fail;
			if (r > 0) {
				fail(s, ST_EJSON,
				     "at byte %llu: unexpected "
				     "content after the top-level value",
				     here(s));
				goto fail;
			}
			s->state = S_DONE;
			return 0;
		case S_DONE:
			return 0;
		}
	}
fail:
	return diag_set(d, s->err, "%s", s->errmsg);
element:
	if (offset != NULL)
		*offset = s->elem_off;
	return deliver(s, elen, depth, elem, len, d);
}

int split_all(const char *data, size_t len, size_t max_elem,
	      struct split_span **out, size_t *n, enum split_kind *kind,
	      struct diag *d)
{
	*out = NULL;
	*n = 0;
	*kind = SPLIT_UNKNOWN;
	struct split *sp = split_new_mem(data, len, max_elem);
	if (sp == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	struct split_span *v = NULL;
	size_t cap = 0, k = 0;
	const char *e;
	size_t el;
	uint64_t off;
	int r;
	while ((r = split_next(sp, &e, &el, &off, d)) == 1) {
		if (k == cap) {
			cap = cap ? cap * 2 : 64;
			struct split_span *g = realloc(v, cap * sizeof(*v));
			if (g == NULL) {
				r = diag_set(d, ST_ENOMEM, "out of memory");
				break;
			}
			v = g;
		}
		v[k++] = (struct split_span){(size_t)off, el};
	}
	*kind = split_kind(sp);
	split_free(sp);
	if (r < 0) {
		free(v);
		return r;
	}
	*out = v;
	*n = k;
	return ST_OK;
}
