/* strait: JSON in (simdjson), JSON out, and RFC 8785 canonical form. */
#ifndef STRAIT_COMMON_JSON_H
#define STRAIT_COMMON_JSON_H

#include "common/buf.h"
#include "common/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------ */
/* Parsed values                                                        */
/* ------------------------------------------------------------------ */

enum json_type {
	JSON_NULL,
	JSON_FALSE,
	JSON_TRUE,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT,
};

struct json_member;

/*
 * A parsed JSON value. The tree is read-only and owned by the json_doc it
 * came from; it lives until that document is parsed again or freed.
 */
struct json_val {
	enum json_type type;
	/* JSON_STRING: bytes (the text is also NUL-terminated, but may hold
	 * NUL characters); JSON_ARRAY: items; JSON_OBJECT: members. */
	uint32_t len;
	union {
		const char *str;
		struct json_val *items;
		struct json_member *members; /* in document order */
		struct {
			double d;    /* the value as a double */
			int64_t i;   /* valid when is_int */
			bool is_int; /* written without fraction or exponent
					 and within int64 */
		} num;
	} u;
};

struct json_member {
	const char *key; /* unescaped UTF-8, NUL-terminated */
	uint32_t klen;
	struct json_val val;
};

/* ------------------------------------------------------------------ */
/* Parsing                                                              */
/* ------------------------------------------------------------------ */

/*
 * Limits on what the parser accepts. Anything from the network or a file
 * is parsed under limits; exceeding one is ST_ELIMIT with a message.
 */
struct json_limits {
	size_t max_bytes;     /* document size */
	uint32_t max_depth;   /* nesting of arrays and objects */
	uint32_t max_string;  /* bytes in one string or key */
	uint32_t max_members; /* members of one object, items of one array */
};

/* 16 MiB documents, depth 64, 1 MiB strings, 100,000 members. */
extern const struct json_limits JSON_LIMITS_DEFAULT;

/* Bytes that must be readable (any content) after a buffer handed to
 * json_parse with JSON_PARSE_PADDED. */
#define JSON_PADDING 64

/* Flags for json_parse. */
#define JSON_PARSE_PADDED 1u /* JSON_PADDING bytes after text are readable */

/*
 * A reusable parser and the tree of the last document it parsed. Reusing one
 * json_doc for many documents avoids reallocations.
 */
struct json_doc;

struct json_doc *json_doc_new(void);
/* json_doc_free(NULL) is a no-op. */
void json_doc_free(struct json_doc *doc);

/*
 * Parses text (len bytes, UTF-8) into doc, replacing its previous tree, and
 * sets *root to the document's value. Rejects, with ST_EJSON and the byte
 * offset in the message: invalid JSON, invalid UTF-8, lone surrogates,
 * duplicate keys in one object, trailing content. ST_ELIMIT when a limit is
 * exceeded. lim may be NULL for JSON_LIMITS_DEFAULT.
 */
int json_parse(struct json_doc *doc, const char *text, size_t len,
	       unsigned flags, const struct json_limits *lim,
	       const struct json_val **root, struct diag *d);

/* ------------------------------------------------------------------ */
/* JSON lines                                                           */
/* ------------------------------------------------------------------ */

/*
 * Newline-delimited JSON (one document per line, as Zeek and Suricata write
 * their logs), parsed in batches of lines with simdjson's document stream.
 * Every non-blank line must hold exactly one document. A line that does not
 * (bad JSON, two documents, a document spanning lines, a line longer than
 * lim->max_bytes, a limit exceeded, a duplicate key) is reported with its
 * number and skipped; iteration goes on with the next line. Lines holding
 * only JSON whitespace are skipped silently. Batches are bounded (a few
 * hundred KiB of lines), so a bad line costs at most a re-parse of its
 * batch one line at a time, and no memory is allocated per document once
 * the first batches have been seen.
 */
struct json_lines;

struct json_lines *json_lines_new(void);
/* json_lines_free(NULL) is a no-op. */
void json_lines_free(struct json_lines *jl);

/* One line, as json_lines_next saw it. */
struct json_line {
	const struct json_val *root; /* the document; NULL for a bad line */
	uint64_t line;		     /* its number (first_line for the first) */
	size_t offset;		     /* byte offset of its first byte in text */
	size_t len;		     /* its bytes, without the '\n' */
};

/*
 * Starts iterating text: len bytes followed by JSON_PADDING readable bytes
 * (any content). first_line is the number of the first line of text (1,
 * or one past the lines of earlier chunks of the same file). text must not
 * change until the iteration ends. lim NULL means JSON_LIMITS_DEFAULT; its
 * max_bytes bounds each line.
 */
void json_lines_start(struct json_lines *jl, const char *text, size_t len,
		      uint64_t first_line, const struct json_limits *lim);

/*
 * Moves to the next non-blank line. Returns 1 with out->root set; 0 when
 * text is exhausted, with out->line the number the next line would have;
 * or, for a line that holds no single valid document, ST_EJSON or
 * ST_ELIMIT with out describing the line (root NULL) and d saying why
 * ("at byte 12: ..." counts from the start of the line). ST_ENOMEM is not
 * about the line: the caller should stop. The tree lives until the next
 * call, json_lines_start or json_lines_free.
 */
int json_lines_next(struct json_lines *jl, struct json_line *out,
		    struct diag *d);

/* ------------------------------------------------------------------ */
/* Reading values                                                       */
/* ------------------------------------------------------------------ */

/* The member of obj named key, or NULL (also when obj is not an object). */
const struct json_val *json_get(const struct json_val *obj, const char *key);

/* The string member of obj named key (NUL-terminated), or NULL when it is
 * absent or not a string. */
const char *json_get_str(const struct json_val *obj, const char *key);

/* True if v is a string equal to s. */
bool json_str_eq(const struct json_val *v, const char *s);

/* The JSON name of a type ("string", "object", ...). */
const char *json_type_name(enum json_type t);

/* ------------------------------------------------------------------ */
/* Writing                                                              */
/* ------------------------------------------------------------------ */

#define JW_MAX_DEPTH 64

/*
 * Streaming JSON writer into a buf. Commas and string escaping are handled
 * here; the output is compact (no whitespace). Errors are sticky: check
 * jw_finish() once at the end. ST_ELIMIT: the buf's cap or JW_MAX_DEPTH was
 * exceeded; ST_EINVAL: bad nesting (a value without a key in an object, a
 * key outside one, a mismatched close, a second top-level value) or a
 * string that is not valid UTF-8; ST_ERANGE: NaN or an infinity.
 */
struct jw {
	struct buf *out;
	int err;
	uint32_t depth;
	bool first[JW_MAX_DEPTH + 1]; /* no value yet at this depth */
	bool after_key;
	uint64_t objs; /* bit d-1 set: the container at depth d is an object */
};

void jw_init(struct jw *w, struct buf *out);
void jw_obj_open(struct jw *w);
void jw_obj_close(struct jw *w);
void jw_arr_open(struct jw *w);
void jw_arr_close(struct jw *w);
/* Keys and strings must be valid UTF-8 (else ST_EINVAL); the n forms may
 * hold NUL characters. */
void jw_key(struct jw *w, const char *key);
void jw_keyn(struct jw *w, const char *key, size_t len);
void jw_str(struct jw *w, const char *s);
void jw_strn(struct jw *w, const char *s, size_t len);
void jw_int(struct jw *w, int64_t v);
/* ECMAScript formatting; NaN and infinities are an error (ST_ERANGE). */
void jw_double(struct jw *w, double v);
void jw_bool(struct jw *w, bool v);
void jw_null(struct jw *w);
/* Inserts an already serialised JSON value (e.g. a stored object); it is
 * not checked. */
void jw_raw(struct jw *w, const char *json, size_t len);
/* Writes a parsed value (members in document order, compact). Its strings
 * are taken to be valid UTF-8, as json_parse makes them. */
void jw_value(struct jw *w, const struct json_val *v);
/* ST_OK, or the first error met; ST_EINVAL if the document is incomplete
 * (nothing written, a container left open, a key without its value). */
int jw_finish(struct jw *w);

/*
 * Appends the RFC 8785 (JCS) canonical form of v to out: members sorted by
 * the UTF-16 code units of their keys, no whitespace, numbers in ECMAScript
 * shortest round-trip form, minimal string escaping. Integers (num.is_int)
 * outside +-(2^53-1) are rejected (ST_ERANGE, I-JSON), as are doubles that
 * ECMAScript would write as such integers (2^53 <= |d| < 1e21, e.g. 1e20 or
 * 18446744073709551615), NaN and the infinities; other numbers are
 * formatted from their double, so the output always parses back. Also
 * ST_EJSON for two equal keys in one object, ST_ELIMIT past out's cap or
 * 128 levels of nesting, ST_ENOMEM. Strings are taken to be valid UTF-8,
 * as json_parse makes them. On error, out is left as it was.
 */
int json_canonical(const struct json_val *v, struct buf *out, struct diag *d);

/*
 * Formats a double as ECMAScript Number.prototype.toString does (shortest
 * round-trip digits). out must hold 32 bytes. Returns the length, or -1 for
 * NaN and infinities.
 */
int json_fmt_number(double v, char out[32]);

/* Compares two UTF-8 keys by their UTF-16 code units (RFC 8785 order). */
int json_key_cmp(const char *a, size_t alen, const char *b, size_t blen);

#endif
