/*
 * strait: a MISP feed out (docs/MISP.md): one MISP event JSON per STIX
 * report or grouping, with manifest.json and hashes.csv, as MISP pulls
 * a feed. Each event holds what its container refers to and the caller
 * may see: indicators as attributes with to_ids, observed data as
 * attributes without, notes and vulnerabilities as attributes, attack
 * patterns, threat actors, intrusion sets, malware, tools and courses of
 * action as galaxy clusters. Objects that came from MISP (x_misp_*) give
 * their attribute back as it came, grouped again into its MISP object.
 */
#ifndef STRAIT_INTEROP_MISP_OUT_H
#define STRAIT_INTEROP_MISP_OUT_H

#include "common/buf.h"
#include "common/err.h"
#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Whether the caller may see a version (NULL: every version). Called
 * outside any store read, so it may read the store itself. */
typedef bool (*ix_visible_fn)(void *ctx, const struct store_row *row);

struct ix_misp_feed_opts {
	const int64_t *cids; /* the collections to read */
	size_t ncids;
	ix_visible_fn visible;
	void *vctx;
	/* the organisation named for containers without created_by_ref */
	const char *org_name;
	const char *org_uuid;
};

struct ix_misp_out_stats {
	uint64_t events, attributes, objects, clusters;
	uint64_t withheld; /* referred to, not visible to the caller */
	uint64_t left_out; /* visible, with no MISP equivalent */
};

/* One event written: uuid, its JSON ({"Event": {...}}). Non-zero stops. */
typedef int (*ix_misp_event_fn)(void *ctx, const char *uuid, const char *json,
				size_t len);

/*
 * Every event of the feed, in container id order, then the manifest (a
 * JSON object keyed by event uuid) into manifest and the hashes (one
 * "md5 of a value,event uuid" line per attribute value) into hashes
 * (either may be NULL). ST_OK or the first error, d saying what.
 */
int ix_misp_feed(struct store *s, const struct ix_misp_feed_opts *o,
		 ix_misp_event_fn on_event, void *ctx, struct buf *manifest,
		 struct buf *hashes, struct ix_misp_out_stats *st,
		 struct diag *d);

/* The one event of uuid into out; ST_ENOTFOUND when no report or grouping
 * of that uuid is visible. */
int ix_misp_feed_event(struct store *s, const struct ix_misp_feed_opts *o,
		       const char *uuid, struct buf *out, struct diag *d);

#endif
