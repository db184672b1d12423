/* strait: the node's store, an append-only log of STIX object versions. */
#ifndef STRAIT_STORE_STORE_H
#define STRAIT_STORE_STORE_H

#include "common/err.h"
#include "common/time.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Everything a node knows is a STIX object version on one log. Each version
 * appended gets a sequence number (seq); each membership of a version in a
 * collection gets a date_added. Both are assigned inside the write
 * transaction and only ever grow: date_added = max(now, last + 1 us), with
 * last persisted, so they never repeat or go backwards.
 *
 * Version keys: SDOs, SROs and meta objects are versioned by "modified"
 * (else "created"), at microsecond resolution. SCOs are not versioned by
 * STIX; their version key is the date_added at which this node first stored
 * that exact content (canonical bytes), so identical copies are duplicates
 * and a changed copy is a new version, never a conflict.
 *
 * Writes go through one writer thread that owns the only write connection
 * and group-commits batches from all callers. A batch is reported only once
 * its commit is durable. Reads use one connection per thread and short
 * transactions.
 *
 * The store is a function table (struct store_ops) so that backends can be
 * added without touching callers; tests/unit/test_store_contract.c runs the
 * same contract against each.
 */

struct store;

/* Page cache and other tuning; zero fields take the defaults. */
struct store_options {
	bool create;	    /* create the database if missing */
	uint32_t cache_mb;  /* page cache per read connection (default 16);
				 the writer's is four times this */
	uint32_t batch_max; /* items per write transaction (default 131072) */
	uint32_t checkpoint_pages; /* WAL pages that wake the checkpointer
				      (default 10000 of 8 KiB) */
};

/*
 * Opens the store at url: "sqlite:PATH" or a bare PATH for the embedded
 * backend. On create, a new node incarnation id is made. Caller owns the
 * returned store (store_close it). ST_ENOTFOUND when the store does not
 * exist and opt->create is false; ST_EINVAL for an unknown scheme;
 * ST_ESTORE when the file is not a strait store or its schema is newer
 * than this program. opt may be NULL (defaults, no create).
 */
int store_open(const char *url, const struct store_options *opt,
	       struct store **out, struct diag *d);
/* Stops the writer after the pending batches, checkpoints, closes.
 * store_close(NULL) is a no-op. */
void store_close(struct store *s);

/* The node incarnation id (36-character UUID): new at init and on
 * restore, part of every cursor. */
const char *store_incarnation(struct store *s);

/*
 * Small persistent key-value settings (node identity id, ...). get copies
 * the value with its NUL into val: ST_ENOTFOUND when the key is absent,
 * ST_ELIMIT when it does not fit in cap. set is durable when it returns.
 * Keys beginning with "store." belong to the store: set rejects them
 * (ST_EINVAL), get may read them.
 */
int store_meta_get(struct store *s, const char *key, char *val, size_t cap);
int store_meta_set(struct store *s, const char *key, const char *val);

/* ------------------------------------------------------------------ */
/* Collections                                                          */
/* ------------------------------------------------------------------ */

struct store_collection {
	int64_t cid; /* internal id, > 0 */
	char id[37]; /* TAXII collection id (UUID) */
	char title[256];
	char description[1024];
	char alias[128];       /* "" when none */
	char media_types[256]; /* comma-separated; "" means STIX 2.1 only */
};

/*
 * Adds a collection, durably; fills c->cid. c->id must be a lowercase
 * UUID; a non-empty alias must not itself look like a UUID. ST_EEXIST
 * when id or alias is taken, ST_EINVAL for a malformed id or alias.
 */
int store_collection_add(struct store *s, struct store_collection *c,
			 struct diag *d);
/* Finds by id or alias. ST_ENOTFOUND. */
int store_collection_find(struct store *s, const char *id_or_alias,
			  struct store_collection *out);
typedef int (*store_collection_fn)(void *ctx, const struct store_collection *c);
/* Calls fn for each collection in creation order; stops early (returning
 * fn's value) when fn returns non-zero. */
int store_collection_list(struct store *s, store_collection_fn fn, void *ctx);

/* ------------------------------------------------------------------ */
/* Appending                                                            */
/* ------------------------------------------------------------------ */

enum store_result {
	STORE_PENDING = 0,
	STORE_STORED,	 /* a new version was appended */
	STORE_DUPLICATE, /* this exact version was already stored */
	STORE_CONFLICT,	 /* same (id, version), different content: the first
			    stored one is kept */
	STORE_FAILED,	 /* the write failed: see the batch's diag */
};

/* Flags kept beside a version. */
#define STORE_F_DEFAULT_TLP \
	0x1u			     /* tlp came from the import's declared
					default, not from the object */
#define STORE_F_UNKNOWN_MARKING 0x2u /* carries a marking that is not TLP */
#define STORE_F_REVOKED 0x4u

struct store_item {
	/* in */
	const char *id;	  /* "type--uuid" */
	const char *body; /* canonical JSON (RFC 8785) of the object */
	size_t body_len;
	bool versioned;	      /* false for SCOs */
	st_time version;      /* when versioned */
	st_time modified;     /* 0 when absent */
	uint8_t tlp;	      /* enum tlp */
	uint8_t flags;	      /* STORE_F_* */
	const char *warnings; /* JSON array of strings, or NULL */
	/* out */
	enum store_result result;
	uint64_t seq;		  /* of the new version (STORED) */
	st_time stored_version;	  /* the version key (assigned for SCOs) */
	st_time date_added;	  /* of the membership, when one was added */
	bool added_to_collection; /* a membership was added (also for
				     duplicates newly added to cid) */
};

struct store_batch {
	struct store_item *items;
	size_t n;
	int64_t cid; /* collection to add each version to; 0 = none */
	/* out */
	int rc; /* ST_OK, or why the batch failed as a whole */
	struct diag diag;
	/* private to the store */
	void *priv_next;
	bool priv_done;
};

/*
 * Queues a batch for the writer and returns at once. The items and their
 * bytes stay owned by the caller and must stay valid until store_wait.
 * Ids must be "type--uuid" with a lowercase UUID and bodies non-empty:
 * otherwise ST_EINVAL at once (the batch is then already done, with
 * every item STORE_FAILED). ST_ECLOSED while the store is closing.
 * Outputs: seq is the version's seq for STORED, DUPLICATE and CONFLICT
 * (the existing one for the last two).
 */
int store_submit(struct store *s, struct store_batch *b);
/*
 * Waits until the batch is committed durably (or failed); returns b->rc.
 * Items are always decided in order, as if appended one after the other.
 * A failed batch has every undecided item STORE_FAILED and b->diag says
 * why. A batch larger than batch_max is written in several transactions:
 * it is reported once the last one committed, and when a later one fails,
 * the items of the earlier ones keep their (committed) results.
 */
int store_wait(struct store *s, struct store_batch *b);
/* store_submit then store_wait. */
int store_append(struct store *s, struct store_batch *b);

/* ------------------------------------------------------------------ */
/* Reading                                                              */
/* ------------------------------------------------------------------ */

enum store_vsel {
	STORE_V_LAST = 0, /* latest version by version key, not by seq */
	STORE_V_FIRST,
	STORE_V_ALL,
	STORE_V_AT, /* the version equal to query.at */
};

struct store_query {
	const char *id;		  /* one object, or NULL */
	const char *const *types; /* NULL-terminated list, or NULL for all */
	int64_t cid;		  /* collection, or 0 for the whole log */
	uint64_t after_seq;	  /* only versions with seq > after_seq */
	st_time added_after;	  /* with cid: date_added > added_after */
	enum store_vsel vsel;
	st_time at;   /* with STORE_V_AT */
	size_t limit; /* 0 = no limit */
};

/* One version, valid only during the callback. */
struct store_row {
	uint64_t seq;
	st_time date_added; /* in the queried collection; 0 without cid */
	st_time version;
	const char *id;
	const char *body;
	size_t body_len;
	uint8_t tlp;
	uint8_t flags;
	const char *warnings; /* NULL when none */
};

typedef int (*store_row_fn)(void *ctx, const struct store_row *row);

/*
 * Calls fn for each matching version, ordered by date_added (with cid) or
 * by seq (without). Stops early when fn returns non-zero and returns that
 * value. One short read transaction per call: page with after_seq or
 * added_after and limit for large results. *count (optional) receives the
 * number of rows passed to fn (the stopping one included).
 *
 * vsel LAST/FIRST pick the greatest/smallest version key of each object,
 * never the greatest seq (an old version can arrive late); with a cid,
 * among the versions that are members of that collection. An id or type
 * the store has never seen matches nothing. ST_EINVAL for a malformed id
 * or for added_after without a cid; ST_ELIMIT past 64 types.
 */
int store_query(struct store *s, const struct store_query *q, store_row_fn fn,
		void *ctx, size_t *count, struct diag *d);

struct store_stats {
	uint64_t versions; /* rows in the log */
	uint64_t objects;  /* distinct ids */
	uint64_t collections;
	uint64_t last_seq;
	uint64_t db_bytes; /* database + WAL on disk */
	/* this process, since store_open */
	uint64_t commits; /* write transactions committed */
	uint64_t batches; /* batches reported (batches / commits is the
				 group-commit factor) */
};

/* Counts from one consistent snapshot; cheap (no table scans). */
int store_stats(struct store *s, struct store_stats *st);

typedef int (*store_type_count_fn)(void *ctx, const char *type,
				   uint64_t versions);
/* Number of versions per type, types in alphabetical order. */
int store_count_by_type(struct store *s, store_type_count_fn fn, void *ctx);

/*
 * Checks the store: the database's own integrity check, then the log's
 * invariants (every membership names a version, the counters agree with
 * the rows, seq and date_added below their persisted high-water marks).
 * Reads everything: for operators and tests, not for hot paths.
 * ST_OK, or ST_ESTORE with the first problem in d.
 */
int store_check(struct store *s, struct diag *d);

/* ------------------------------------------------------------------ */
/* Backends                                                             */
/* ------------------------------------------------------------------ */

struct store_ops {
	const char *scheme; /* "sqlite" */
	int (*open)(const char *path, const struct store_options *opt,
		    struct store **out, struct diag *d);
	void (*close)(struct store *s);
	const char *(*incarnation)(struct store *s);
	int (*meta_get)(struct store *s, const char *key, char *val,
			size_t cap);
	int (*meta_set)(struct store *s, const char *key, const char *val);
	int (*collection_add)(struct store *s, struct store_collection *c,
			      struct diag *d);
	int (*collection_find)(struct store *s, const char *id_or_alias,
			       struct store_collection *out);
	int (*collection_list)(struct store *s, store_collection_fn fn,
			       void *ctx);
	int (*submit)(struct store *s, struct store_batch *b);
	int (*wait)(struct store *s, struct store_batch *b);
	int (*query)(struct store *s, const struct store_query *q,
		     store_row_fn fn, void *ctx, size_t *count, struct diag *d);
	int (*stats)(struct store *s, struct store_stats *st);
	int (*count_by_type)(struct store *s, store_type_count_fn fn,
			     void *ctx);
	int (*check)(struct store *s, struct diag *d);
};

/* Every backend's struct store begins with this. */
struct store {
	const struct store_ops *ops;
};

extern const struct store_ops store_sqlite_ops;

#endif
