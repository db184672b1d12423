/*
 * strait: from bytes in one of the formats strait reads to STIX objects,
 * one object at a time. `strait import` (files) and the feed puller (HTTP
 * responses) both read through it, so a format is added here once:
 *
 *  - stix: STIX 2.1 bundles, TAXII envelopes, JSON arrays of objects or a
 *    single object, streamed through the splitter (common/split.h) in
 *    memory bounded by the largest object; an object without
 *    spec_version that is STIX 2.0 (ix_stix20_is_20) is upgraded to 2.1
 *    on the way (interop/stix20.h), each change a note;
 *  - stix2.0: the same, every object taken for STIX 2.0 (2.1 objects
 *    still pass unchanged);
 *  - misp: MISP event JSON (interop/misp_in.h), read whole, up to
 *    IX_MISP_MAX_BYTES;
 *  - csv: CSV of indicators (interop/csv_in.h), streamed.
 *
 * The objects go to a sink; what is done with them (the ingest, a count)
 * is the caller's. A new format is a row of the table in import.c, a
 * member of enum ix_in_fmt and a reader function.
 */
#ifndef STRAIT_INTEROP_IMPORT_H
#define STRAIT_INTEROP_IMPORT_H

#include "common/err.h"
#include "common/time.h"
#include "interop/csv_in.h"
#include "interop/misp_in.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum ix_in_fmt {
	IX_IN_AUTO, /* told by the first bytes (ix_src_sniff) */
	IX_IN_STIX,
	IX_IN_STIX20,
	IX_IN_MISP,
	IX_IN_CSV,
};

/* The format named name ("stix", "stix2.0", "misp", "csv"); ST_EINVAL for another
 * name ("auto" is not a name: it is the absence of one). */
int ix_in_fmt_parse(const char *name, enum ix_in_fmt *out);
/* The name of f; "auto" for IX_IN_AUTO. */
const char *ix_in_fmt_name(enum ix_in_fmt f);
/* The names for a message, "stix, stix2.0, misp or csv", into out (cap
 * bytes). */
void ix_in_fmt_list(char *out, size_t cap);

/* Bytes read ahead to tell a format. */
#define IX_SNIFF_BYTES 4096

/*
 * An input read through its first IX_SNIFF_BYTES kept aside, so that its
 * format can be told before it is read. Fill it with ix_src_init or
 * ix_src_init_mem; nothing in it needs freeing.
 */
struct ix_src {
	ix_read_fn read;
	void *ctx;
	const char *mem; /* ix_src_init_mem: the bytes, not copied */
	size_t mem_len, mem_pos;
	char head[IX_SNIFF_BYTES];
	size_t len, pos; /* bytes of head read ahead, and handed out */
};

/* An input read through rd(ctx, ...) (which retries on EINTR itself). */
void ix_src_init(struct ix_src *s, ix_read_fn rd, void *ctx);
/* An input in memory (len bytes at data, which must outlive s). */
void ix_src_init_mem(struct ix_src *s, const char *data, size_t len);
/*
 * The format of s from its first bytes: MISP event JSON when its first
 * member is "Event" or "response", STIX when it starts with '{' or '['
 * (after white space and a byte order mark) or is empty, CSV otherwise.
 * A read error here shows again when the input is read.
 */
enum ix_in_fmt ix_src_sniff(struct ix_src *s);
/* Reads s (an ix_read_fn over a struct ix_src *): the bytes read ahead,
 * then the rest. */
ssize_t ix_src_read(void *src, char *buf, size_t cap);

/* Where the objects of an input go. */
struct ix_sink {
	/*
	 * One object, JSON text of len bytes; with JSON_PARSE_PADDED in
	 * flags, JSON_PADDING readable bytes follow it. at: its byte offset
	 * (stix), its row (csv) or its event's number (misp). A non-ST_OK
	 * return stops the reading and is returned by ix_import.
	 */
	int (*object)(void *ctx, const char *json, size_t len, unsigned flags,
		      uint64_t at);
	/* Something refused, at as above (0: the input as a whole): msg
	 * names the object, row or event and why. */
	void (*reject)(void *ctx, uint64_t at, const char *msg);
	void *ctx;
	/* What a reader tells about an object that is not a rejection (a
	 * MISP mapping choice); NULL: nothing. */
	ix_note_fn note;
	void *note_ctx;
	/* csv: the time of the import, for rows without first_seen (0:
	 * now); an identity id that the indicators made from rows name as
	 * their created_by_ref (NULL: none). The objects of the other
	 * formats are their creators' and are never changed. */
	st_time now;
	const char *created_by;
};

/*
 * Reads src to its end as format f (IX_IN_AUTO: ix_src_sniff) and
 * hands its objects to k. Input that is not of the format, or malformed
 * past some point, is a rejection (k->reject), and what came before it
 * was passed on: ST_OK. Otherwise ST_EIO (src could not be read; d says
 * why), ST_EINVAL (k->created_by is not an id), ST_ENOMEM, or the first
 * non-ST_OK of k->object.
 */
int ix_import(struct ix_src *src, enum ix_in_fmt f, const struct ix_sink *k,
	      struct diag *d);

#endif
