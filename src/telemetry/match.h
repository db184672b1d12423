/*
 * strait: matching our telemetry against the indicators we hold.
 *
 * A match engine loads the active STIX indicators of chosen collections
 * from the store into one indexed matcher (src/pattern/matcher.h), feeds
 * it telemetry records (src/telemetry/telemetry.h), aggregates the hits
 * into sightings (sighting.h) and appends those to the store through the
 * ingest pipeline, so they are validated, marked and released like any
 * other object. `strait match` and POST /api/v1/telemetry both use it.
 */
#ifndef STRAIT_TELEMETRY_MATCH_H
#define STRAIT_TELEMETRY_MATCH_H

#include "common/err.h"
#include "common/time.h"
#include "stix/stix.h"
#include "store/store.h"
#include "telemetry/telemetry.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct wl_set;

struct match_options {
	const int64_t *cids;  /* collections whose indicators are loaded */
	size_t n_cids;	      /* 0: every collection */
	const char *identity; /* the node's identity id (sightings) */
	int64_t window_s;     /* sighting aggregation window (default 3600) */
	bool include_context; /* observed-data with the whole record */
	const struct wl_set *warninglists; /* borrowed; NULL: none */
	/* Called for every indicator the matcher refuses or cannot parse
	 * (id, outcome name, reason), and for each disabled while matching
	 * ("disabled"). May be NULL. */
	void (*on_refusal)(void *ctx, const char *id, const char *what,
			   const char *why);
	void *ctx;
	/* Whether hits on the indicator id are suppressed here (a false
	 * positive marked with strait fp): such a hit is counted in
	 * stats.suppressed only, makes no sighting and is not told to the
	 * requester. May be NULL. */
	bool (*suppressed)(void *ctx, const char *id);
	void *suppressed_ctx;
};

struct match_stats {
	uint64_t indicators; /* versions offered to the matcher */
	uint64_t active;     /* compiled in and valid now */
	uint64_t refused;    /* refused: over-broad, warninglisted */
	uint64_t invalid;    /* pattern did not parse */
	uint64_t inactive;   /* expired, revoked, stale, not STIX */
	uint64_t disabled;   /* tripped a limit while matching */
	uint64_t records;    /* telemetry records fed */
	uint64_t hits;	     /* (indicator, record) matches */
	uint64_t suppressed; /* of them, on suppressed indicators */
	uint64_t indicators_hit;
	uint64_t sightings;    /* sighting versions emitted */
	uint64_t pending;      /* sightings held, not flushed yet */
	size_t matcher_memory; /* bytes */
	double compile_seconds;
};

struct match_engine;
struct audience;

/* Loads and compiles; *out owned by the caller (match_engine_free). */
int match_engine_new(struct store *st, const struct match_options *o,
		     struct match_engine **out, struct diag *d);
void match_engine_free(struct match_engine *e); /* NULL ok */

/* Offers the indicator versions added to the collections since the last
 * load, and recompiles what changed. For a long-running node. */
int match_engine_refresh(struct match_engine *e, struct diag *d);

/*
 * What one requester may be told of the records fed after
 * match_engine_begin: hits on, and the number of, indicators the release
 * decision gives aud (NULL: every indicator). aud is borrowed until the
 * next begin. The sightings themselves are stored for everyone and read
 * through the release decision like any object.
 */
struct match_counts {
	uint64_t hits;
	uint64_t indicators; /* distinct indicators hit: each makes a new
				version of its sighting at the next flush */
	uint64_t objects;    /* objects the flushes appended for them */
};
void match_engine_begin(struct match_engine *e, const struct audience *aud);
void match_engine_counts(const struct match_engine *e, struct match_counts *c);

/* A tel_record_fn: feeds one record (ctx is the engine). */
int match_engine_record(void *ctx, const struct tel_record *r);

/*
 * Appends the sightings (and their observed-data and SCOs) that changed
 * since the last flush to collection cid through the ingest pipeline;
 * durable when it returns. *stored (optional) gets the versions stored.
 */
int match_engine_flush(struct match_engine *e, int64_t cid,
		       enum tlp default_tlp, uint64_t *stored, struct diag *d);

/* Writes the pending sightings as a JSON array of objects to out instead
 * of storing them (for --json without --emit-sightings). */
int match_engine_flush_json(struct match_engine *e, FILE *out, struct diag *d);

void match_engine_stats(const struct match_engine *e, struct match_stats *s);

#endif
