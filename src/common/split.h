/* strait: streaming splitter for bundles, envelopes and JSON arrays. */
#ifndef STRAIT_COMMON_SPLIT_H
#define STRAIT_COMMON_SPLIT_H

#include "common/err.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Finds the element boundaries of the top-level "objects" array of a STIX
 * bundle or TAXII envelope (or of a top-level JSON array, or a single
 * top-level object) while reading its input in chunks, so that an input of
 * any size is handled in memory bounded by the largest element. It checks
 * only the structure it needs (strings, escapes, nesting, commas); each
 * element is parsed in full by json_parse afterwards.
 *
 * A top-level object is a container (bundle or envelope) when it has an
 * "objects" member whose value is an array and its "type" member, if any,
 * is "bundle". Its other members are skipped (bounded by max_elem). A
 * top-level object without such an array is a single element.
 */

enum split_kind {
	SPLIT_UNKNOWN,  /* nothing read yet */
	SPLIT_BUNDLE,   /* object with "type": "bundle" and "objects" */
	SPLIT_ENVELOPE, /* object with "objects" and no "type" */
	SPLIT_ARRAY,    /* top-level array of elements */
	SPLIT_SINGLE,   /* one top-level object */
};

/*
 * Reads up to cap bytes into buf. Returns the number read, 0 at end of
 * input, or -1 on error (errno set).
 */
typedef ssize_t (*split_read_fn)(void *ctx, char *buf, size_t cap);

struct split;

/*
 * Creates a splitter reading through rd(ctx, ...). max_elem caps the size
 * of one element (and of one skipped top-level member). NULL when out of
 * memory.
 */
struct split *split_new(split_read_fn rd, void *ctx, size_t max_elem);

/* Convenience: a splitter over an in-memory buffer (not copied; it must
 * outlive the splitter). */
struct split *split_new_mem(const char *data, size_t len, size_t max_elem);

/* split_free(NULL) is a no-op. */
void split_free(struct split *s);

/*
 * Returns the next element: 1 and *elem/*len set (the bytes stay valid
 * until the next call, and JSON_PADDING readable bytes follow them, so
 * json_parse may be called with JSON_PARSE_PADDED); 0 at the end of the
 * input; or a negative st_err with a message naming the byte offset.
 *
 * An element larger than max_elem is skipped: ST_ELIMIT is returned for it
 * and the next call continues with the element after it. Any other error
 * (malformed structure, truncated input, read failure) ends the stream:
 * every later call returns the same error.
 *
 * *offset (optional) receives the element's byte offset in the input.
 */
int split_next(struct split *s, const char **elem, size_t *len,
	       uint64_t *offset, struct diag *d);

/* What the input turned out to be (known after the first split_next). */
enum split_kind split_kind(const struct split *s);

/* Bytes consumed from the input so far. */
uint64_t split_bytes_read(const struct split *s);

#endif
