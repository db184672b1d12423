/* strait: the ingest pipeline, from JSON bytes to durably stored versions. */
#ifndef STRAIT_INGEST_INGEST_H
#define STRAIT_INGEST_INGEST_H

#include "common/err.h"
#include "stix/stix.h"
#include "store/store.h"

#include <stdbool.h>
#include <stdint.h>

/*
 * Every way in (the import command, TAXII Add Objects, federation) hands
 * objects to an ingest: each is parsed (simdjson), validated (STIX 2.1),
 * put in RFC 8785 canonical form and queued in a batch; full batches go to
 * the store's writer thread while the caller goes on parsing the next ones.
 * Results are known, and reported, only once a batch is durably committed.
 */

struct ingest;

/*
 * An admission check (federation: attestations, arrival rules), called
 * for each object that passed validation, with its canonical bytes (what
 * would be stored), before it is queued: return true to store it, false
 * to keep it out (the hook has reported it; the ingest counts it as held
 * and emits nothing for it). index is the object's ordinal in this
 * ingest. canon is valid only during the call. What the hook sets in
 * *out is stored with the version (store_item.prov), copied.
 */
struct stix_report;
struct ingest_admitted {
	const void *prov; /* NULL: nothing */
	size_t prov_len;
};
typedef bool (*ingest_admit_fn)(void *ctx, uint64_t index,
				const struct stix_info *info,
				const struct json_val *root, const char *canon,
				size_t len, struct ingest_admitted *out);

struct ingest_options {
	int64_t cid;	       /* collection the objects join; 0 = none */
	enum tlp default_tlp;  /* marking that unmarked objects take */
	bool default_declared; /* default_tlp was declared for this import
				   (otherwise it is the node's default) */
	uint32_t batch_size;   /* objects per batch (default 16384) */
	uint32_t in_flight;    /* batches queued at once (default 6) */
	bool report_accepted;  /* emit INGEST_ACCEPTED for every object */
	size_t max_object;     /* bytes in one object (default 16 MiB) */
	size_t bytes_hint;     /* input bytes of one batch, when known (a
				  partner's envelope): room reserved at once */
	ingest_admit_fn admit; /* NULL: every valid object is stored */
	/* Kept with every TLP:RED version stored (store_item.prov) when the
	 * admission check sets nothing: an import's named RED recipients. */
	const void *red_prov;
	size_t red_prov_len;
	uint8_t flags; /* STORE_F_* added to every version stored */
	void *admit_ctx;
};

struct ingest_stats {
	uint64_t seen;	    /* objects handed in */
	uint64_t stored;    /* new versions appended (durable) */
	uint64_t duplicate; /* versions already stored */
	uint64_t conflict;  /* same (id, version), different content */
	uint64_t rejected;  /* broke a MUST rule, or not JSON */
	uint64_t failed;    /* valid, but the store failed to write them */
	uint64_t warned;    /* stored with warnings */
	uint64_t defaulted; /* took the default marking */
	uint64_t held;	    /* kept out by the admission check */
	uint64_t bytes;	    /* input bytes of objects handed in */
};

enum ingest_event_kind {
	INGEST_REJECTED, /* msg: every error, one per line */
	INGEST_WARNING,	 /* msg: every warning, one per line */
	INGEST_CONFLICT,
	INGEST_FAILED,
	INGEST_COMMITTED, /* a batch became durable; stats are up to date */
	INGEST_ACCEPTED,  /* one object is durably stored, or was already:
			     id, version; msg "stored" or "duplicate" */
};

struct ingest_event {
	enum ingest_event_kind kind;
	uint64_t index;	 /* ordinal of the object in this ingest (0-based) */
	uint64_t offset; /* byte offset given by the caller */
	const char *id;	 /* object id, or "" when unknown */
	const char *msg; /* human text, may hold several lines */
	st_time version; /* INGEST_ACCEPTED: the version key */
	const struct ingest_stats *stats;
};

typedef void (*ingest_event_fn)(void *ctx, const struct ingest_event *ev);

/* NULL when out of memory. on_event may be NULL. */
struct ingest *ingest_new(struct store *s, const struct ingest_options *opt,
			  ingest_event_fn on_event, void *ctx);
/* Flushes nothing: call ingest_finish first. ingest_free(NULL) is a no-op. */
void ingest_free(struct ingest *in);

/*
 * Takes one JSON object (len bytes; with JSON_PARSE_PADDED in flags,
 * JSON_PADDING readable bytes follow it). A rejected object is reported
 * through the event callback and counted; that is not an error of this call.
 * Returns ST_OK, or an error of the store (the ingest cannot go on).
 */
int ingest_object(struct ingest *in, const char *json, size_t len,
		  unsigned flags, uint64_t offset);

/* Reports an object that could not even be read (e.g. from the splitter). */
void ingest_reject(struct ingest *in, uint64_t offset, const char *msg);

/* Submits what is queued and waits until everything is durable. */
int ingest_finish(struct ingest *in);

const struct ingest_stats *ingest_stats(const struct ingest *in);

#endif
