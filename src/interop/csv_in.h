/*
 * strait: CSV of indicators in (docs/EXPORTS.md, "CSV in"). The columns
 * are named by the header: value (required), type, comment, tlp,
 * first_seen, last_seen, in any order and case; others are ignored. Each
 * row becomes one STIX indicator, its id derived from the type and value
 * (the same row imported again is the same object). Parsing is libcsv's
 * (RFC 4180: quoted fields, doubled quotes, line breaks inside quotes).
 */
#ifndef STRAIT_INTEROP_CSV_IN_H
#define STRAIT_INTEROP_CSV_IN_H

#include "common/err.h"
#include "common/time.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define IX_CSV_FIELD_MAX 65536 /* bytes of one field */
#define IX_CSV_FIELDS_MAX 64   /* columns of one row */

/* Reads up to cap bytes (0 at the end, < 0 on error). */
typedef ssize_t (*ix_read_fn)(void *ctx, char *buf, size_t cap);
/* An indicator made of row line (JSON, len bytes, NUL-terminated). */
typedef int (*ix_object_fn)(void *ctx, const char *json, size_t len,
			    uint64_t line);
/* A row refused: msg names the line and the column. */
typedef void (*ix_reject_fn)(void *ctx, uint64_t line, const char *msg);
/* Something a reader tells about one object (id) that is not a
 * rejection: a mapping choice, a change made (the MISP and STIX 2.0
 * readers). */
typedef void (*ix_note_fn)(void *ctx, const char *id, const char *msg);

/*
 * Reads CSV from rd to its end. now: the time of the import, for rows
 * without first_seen. Returns ST_OK, the first non-ST_OK of on_object, or
 * ST_EINVAL (a file that is not CSV of indicators: no header, no value
 * column, malformed CSV, a field or row past the limits) or ST_EIO, with
 * d naming the line; the rows before it were passed on.
 */
int ix_csv_read(ix_read_fn rd, void *rctx, st_time now, ix_object_fn on_object,
		ix_reject_fn on_reject, void *ctx, struct diag *d);

#endif
