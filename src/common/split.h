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
 * is "bundle". Its other members are skipped (in constant memory; a
 * second "objects" or "type" is an error). A top-level object without
 * such an array is a single element.
 *
 * When "objects" comes before "type" (as in canonical JSON), the rest of
 * the object is looked at first while it fits in max_elem. An object
 * larger than max_elem cannot be a single element, so it is streamed as a
 * container, and a "type" other than "bundle" met after its array ends the
 * stream with an error.
 *
 * Elements of the array need not be objects (the caller rejects those).
 * An empty input, or a top-level value that is neither an object nor an
 * array, is an error.
 */

enum split_kind {
	SPLIT_UNKNOWN,	/* nothing read yet */
	SPLIT_BUNDLE,	/* object with "type": "bundle" and "objects" */
	SPLIT_ENVELOPE, /* object with "objects" and no "type" */
	SPLIT_ARRAY,	/* top-level array of elements */
	SPLIT_SINGLE,	/* one top-level object */
};

/*
 * Reads up to cap bytes into buf. Returns the number read, 0 at end of
 * input, or -1 on error (errno set).
 */
typedef ssize_t (*split_read_fn)(void *ctx, char *buf, size_t cap);

struct split;

/*
 * Creates a splitter reading through rd(ctx, ...). max_elem caps the size
 * of one element; the splitter's window never exceeds max_elem + 1 MiB +
 * JSON_PADDING bytes (it starts at 64 KiB). NULL when out of memory.
 */
struct split *split_new(split_read_fn rd, void *ctx, size_t max_elem);

/* Convenience: a splitter over an in-memory buffer (not copied; it must
 * outlive the splitter). */
struct split *split_new_mem(const char *data, size_t len, size_t max_elem);

/* split_free(NULL) is a no-op. */
void split_free(struct split *s);

/*
 * Returns the next element: 1 and *elem and *len set (the bytes stay valid
 * until the next call, and JSON_PADDING readable bytes follow them, so
 * json_parse may be called with JSON_PARSE_PADDED); 0 at the end of the
 * input; or a negative st_err with a message naming the byte offset.
 *
 * An element larger than max_elem, or nested deeper than 64 levels, is
 * skipped: ST_ELIMIT is returned for it (and only for it) and the next
 * call continues with the element after it. Any other error (malformed
 * structure, truncated input, trailing content, read failure) ends the
 * stream: every later call returns the same error and message. Elements
 * before an error may or may not have been returned, depending on where
 * in the input the error lies.
 *
 * *offset (optional) receives the element's byte offset in the input (a
 * leading BOM counts), also for a skipped element.
 */
int split_next(struct split *s, const char **elem, size_t *len,
	       uint64_t *offset, struct diag *d);

/* Where one element lies in an input. */
struct split_span {
	size_t off, len;
};

/*
 * Splits an in-memory input at once: *out (malloc'd, the caller frees it)
 * gets where each element lies, *n how many, *kind what the input was.
 * max_elem as for split_new; an element larger is an error here (the
 * input is in memory, nothing is skipped). Errors as split_next; nothing
 * is returned then.
 */
int split_all(const char *data, size_t len, size_t max_elem,
	      struct split_span **out, size_t *n, enum split_kind *kind,
	      struct diag *d);

/* What the input turned out to be (known after the first split_next; a
 * container larger than max_elem with "type" after "objects" shows as
 * SPLIT_ENVELOPE until its "type" is met). */
enum split_kind split_kind(const struct split *s);

/* Bytes of the input scanned so far (all of it after the end). */
uint64_t split_bytes_read(const struct split *s);

#endif
