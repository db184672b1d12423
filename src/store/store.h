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
	uint32_t checkpoint_pages;  /* WAL pages that wake the checkpointer
				      (default 10000 of 8 KiB) */
	uint32_t status_keep_hours; /* status resources older than this are
				       purged by the writer, about once a
				       minute (default and minimum 24) */
	/* Idle memory (default 10000 ms, UINT32_MAX: never): pooled read
	 * connections unused for this long are closed (with their page
	 * cache and database mapping), and the writer releases its page
	 * cache once it wrote nothing for this long. Done by the store's own
	 * threads, never on a caller's path. */
	uint32_t idle_ms;
	/* New keys held in the small key table before they are merged into
	 * the large one, at most (default 262144; the writer merges at a
	 * 32nd of the log, at least 4096, more when its commits are large;
	 * see recent_limit in sqlite/writer.c). */
	uint32_t keys_recent_max;
	/* Statuses committed alone (store_status_put_async with nothing
	 * else queued) wait this long at most (default 100 ms) for a commit
	 * whose sync makes them durable too, before a sync of their own. */
	uint32_t status_sync_ms;
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
#define STORE_F_FOREIGN \
	0x8u /* received from a partner node: made by another origin (its
		provenance is kept by federation) */

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
	/* Bytes kept with the version for its owner (the federation's
	 * provenance of a received version), or NULL: opaque here. */
	const void *prov;
	size_t prov_len;
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
	const void *prov;     /* store_item.prov, NULL when none */
	size_t prov_len;
	const char *spec_version; /* always STORE_SPEC_VERSION: strait stores
				     only STIX 2.1 (SCOs without spec_version
				     count as 2.1) */
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

/* ------------------------------------------------------------------ */
/* TAXII 2.1 reads: pages of one collection, versions of one object     */
/* ------------------------------------------------------------------ */

/* The only spec_version strait stores, and the media type of every
 * manifest record. */
#define STORE_SPEC_VERSION "2.1"
#define STORE_MEDIA_TYPE "application/stix+json;version=2.1"

/* Most values in one match[] list (ids, types, version timestamps,
 * spec_versions): beyond it, ST_ELIMIT (the handler answers 400). */
#define STORE_MATCH_MAX 100

/*
 * match[version] keywords, OR-ed with each other and with timestamps:
 * LAST is the greatest version key among the object's versions that are
 * members of the collection, FIRST the smallest.
 */
#define STORE_VM_LAST 0x1u
#define STORE_VM_FIRST 0x2u
#define STORE_VM_ALL 0x4u

/*
 * A version selector (match[version]): the union of the keyword bits and
 * the versions whose key equals one of at[]. sel == 0 and nat == 0 means
 * STORE_VM_LAST (TAXII's default for GET; a DELETE handler passes what
 * it wants explicitly). "last"/"first" are by version key (modified),
 * never by arrival: an older version that arrives late is not "last".
 * Selection comes before visibility: when the caller may not see an
 * object's last version, the object is absent from a version=last page
 * (an older version does not take its place).
 */
struct store_vmatch {
	unsigned sel;	   /* STORE_VM_* */
	const st_time *at; /* version keys, microseconds; NULL when nat 0 */
	size_t nat;
};

/*
 * The visibility decision, applied by the store to each candidate row
 * inside the scan (so pages fill up with rows the caller may see). It
 * runs while a read transaction is open: it must be quick and must not
 * block (no I/O, no locks another thread holds while it writes to the
 * store). row is valid only during the call; with STORE_PAGE_NO_BODY its
 * body is NULL.
 */
typedef bool (*store_visible_fn)(void *ctx, const struct store_row *row);

/* store_page_query.flags. NO_BODY for manifest and versions: rows carry
 * no body (body NULL, body_len 0) and bodies are not read at all. */
#define STORE_PAGE_NO_BODY 0x1u

struct store_page_query {
	int64_t cid; /* the collection (required, > 0) */
	/* match[id], match[type]: NULL/0 = any. Ids are "type--uuid" with a
	 * lowercase UUID (ST_EINVAL otherwise); ids and types the store has
	 * never seen match nothing. */
	const char *const *ids;
	size_t nids;
	const char *const *types;
	size_t ntypes;
	struct store_vmatch version;
	/* match[spec_version]: NULL/0 = any. Rows match when "2.1" is in
	 * the list, so ["2.0"] alone matches nothing. */
	const char *const *spec_versions;
	size_t nspec;
	st_time added_after; /* membership date_added > added_after; 0 none */
	st_time after;	     /* resume position: date_added > after; 0 from
				the start (ANDed with added_after) */
	size_t limit;	     /* rows wanted, > 0 (ST_EINVAL for 0) */
	unsigned flags;	     /* STORE_PAGE_* */
	store_visible_fn visible; /* NULL: every row is visible */
	void *visible_ctx;
	/* Rows examined (memberships of the collection read, visible or
	 * not) after which a page that already has a row stops, reporting
	 * more=true. 0: max(10 * limit, 10000). With ids, the scan is
	 * bounded by those objects' versions instead and reads them all. */
	size_t budget;
	/* Examined rows after which even an empty page stops (then with
	 * more=false and capped=true, see below). 0: no cap: an empty page
	 * goes on until it finds a visible row or reaches the end. */
	size_t scan_max;
};

struct store_page_result {
	size_t rows; /* rows passed to fn */
	/* A further visible row exists (found by probing one row past the
	 * page within the budget), or the budget ran out: ask again from
	 * next. Never true when rows is 0. */
	bool more;
	/* Ask again with after = next to continue. Every row with date_added
	 * <= next that matches and is visible has been returned by this or
	 * an earlier page; it may be past the last row returned (rows
	 * examined and not visible are not read again). date_added is
	 * strictly increasing per collection, so there is no gap and no
	 * duplicate. Never below max(after, added_after), its value when
	 * nothing was examined. */
	st_time next;
	/* date_added of the first and the last row returned (for
	 * X-TAXII-Date-Added-First/Last); both 0 when rows is 0, and the
	 * handler then omits both headers. */
	st_time first, last;
	size_t examined; /* memberships read */
	bool capped;	 /* scan_max was reached with no row: more is false
			    although rows past next may exist */
};

/*
 * A page of one collection for TAXII Get Objects / Get Object / Get
 * Manifest: the versions that are members of q->cid and match every
 * filter, ordered by date_added ascending, at most q->limit of them, each
 * one passed to q->visible (if set) and, when visible, to fn. fn runs
 * inside a read transaction too: like visible, it must not block (copy
 * or serialise the row into memory; do the I/O after the call). When fn
 * returns non-zero the page stops and that value is returned (res is
 * filled for the rows so far). The scan runs in several short read
 * transactions when it is long, so rows committed meanwhile may appear
 * in later transactions (never behind next).
 *
 * Get Object is this call with ids = {that id}; Get Object Versions is
 * store_versions(). ST_EINVAL (bad id, cid or limit), ST_ELIMIT (a list
 * longer than STORE_MATCH_MAX), ST_ENOTFOUND never (an empty page is not
 * an error; the handler decides on 404).
 */
int store_page(struct store *s, const struct store_page_query *q,
	       store_row_fn fn, void *ctx, struct store_page_result *res,
	       struct diag *d);

/*
 * Versions of one object in a collection (TAXII Get Object Versions):
 * store_page with ids = {id}, every version, no bodies. Rows are ordered
 * by date_added (TAXII's order for this endpoint); the handler prints
 * row->version for each. Same result and errors as store_page.
 */
struct store_versions_query {
	int64_t cid;
	const char *id;
	const char *const *spec_versions;
	size_t nspec;
	st_time added_after;
	st_time after;
	size_t limit;
	store_visible_fn visible;
	void *visible_ctx;
	size_t budget, scan_max;
};
int store_versions(struct store *s, const struct store_versions_query *q,
		   store_row_fn fn, void *ctx, struct store_page_result *res,
		   struct diag *d);

/*
 * TAXII Delete An Object: removes from collection cid the memberships of
 * the versions of id selected by v (LAST/FIRST among the object's member
 * versions) and spec_versions (as in store_page_query), durably, through
 * the writer. The versions themselves stay in the log (readable through
 * other collections and store_query); a removal is recorded in the
 * removals table so streams and federation can see it. *removed gets
 * the number of memberships removed (0: nothing matched, the handler
 * answers 404). ST_EINVAL for a malformed id or cid, ST_ENOTFOUND for a
 * missing collection.
 */
int store_remove(struct store *s, int64_t cid, const char *id,
		 const struct store_vmatch *v, const char *const *spec_versions,
		 size_t nspec, size_t *removed, struct diag *d);

/* ------------------------------------------------------------------ */
/* Status resources (TAXII Add Objects)                                 */
/* ------------------------------------------------------------------ */

struct store_status {
	char id[37];	 /* UUID, lowercase */
	int64_t owner;	 /* account id of the creator */
	st_time created; /* set by the store on put when 0 */
	bool pending;	 /* "pending", else "complete" */
	uint64_t total, success, failure, npending;
	/* {"successes":[...],"failures":[...],"pendings":[...]} or any JSON
	 * the handler chooses: stored and returned as bytes. */
	char *lists;
	size_t lists_len;
};

/*
 * Stores (or replaces: a pending status made complete) a status,
 * durably, through the writer: it is written in the writer's next
 * transaction, with the batches of that group and the other statuses
 * queued (concurrent requests share commits), and this returns after
 * that commit. The store copies what it needs. Replacing keeps id, owner
 * and created. ST_EINVAL for an id that is not a lowercase UUID, ST_EEXIST
 * when the id exists with another owner (nothing is changed).
 */
int store_status_put(struct store *s, const struct store_status *st,
		     struct diag *d);
/*
 * The same without waiting: the status (copied) is queued for the
 * writer's next transaction and this returns at once (ST_OK; ST_EINVAL or
 * ST_ERANGE as above, ST_ECLOSED when closing). From its return,
 * store_status_get in any thread finds it, whether queued, being written
 * or committed (read-your-writes); store_close commits it first. It is
 * committed with the next group commit of the writer (the batches of
 * other requests, or a transaction of its own when there are none).
 *
 * Crash window: the status is durable only after that commit is synced:
 * a status committed alone (nothing else queued) waits for the next
 * commit's sync, or status_sync_ms (100 ms) at most for one of its own.
 * A crash (power
 * loss, SIGKILL) in between loses the status resource, not the objects
 * the caller committed before: TAXII Add Objects commits the objects
 * (durable), puts the status asynchronously and answers 202 with the
 * complete status in its body; after such a crash a GET of that status
 * is a 404 while the objects are stored.
 *
 * For ids the caller made (random UUIDs): an id that exists with another
 * owner is not reported (the put is dropped when written, with a
 * warning in the log); a put of an id already queued replaces it. An
 * error of the write itself (disk full) is only logged.
 */
int store_status_put_async(struct store *s, const struct store_status *st,
			   struct diag *d);
/*
 * Reads a status into out; out->lists is allocated and the caller owns
 * it: release with store_status_release(). ST_ENOTFOUND when absent or
 * purged. Sees statuses put by store_status_put_async that are not yet
 * committed (a replacement not yet committed shows its own created).
 * The caller checks out->owner against the requesting account.
 */
int store_status_get(struct store *s, const char *id, struct store_status *out,
		     struct diag *d);
/* Frees out->lists; a no-op on NULL or an already released status. */
void store_status_release(struct store_status *st);
/*
 * Deletes statuses created before `before`, durably; *purged (optional)
 * gets how many. The writer also does this by itself about once a
 * minute for those older than status_keep_hours.
 */
int store_status_purge(struct store *s, st_time before, size_t *purged,
		       struct diag *d);

/* ------------------------------------------------------------------ */
/* Following the log (streams)                                          */
/* ------------------------------------------------------------------ */

/* The seq of the last version committed by this process's writer (or
 * present at open). Cheap: no database access. */
uint64_t store_last_seq(struct store *s);
/*
 * Waits until a version with seq > after_seq is committed or timeout_ms
 * passes (< 0: no timeout), and returns the last committed seq (so the
 * caller compares it with after_seq; equal means a timeout). Returns at
 * once, with the current value, when the store is closing (every waiter
 * must have returned before store_close frees the store). Only commits
 * of this process wake it.
 */
uint64_t store_wait_seq(struct store *s, uint64_t after_seq, int timeout_ms);
/*
 * The same for the date_added high-water mark, which also moves when an
 * existing version joins a collection (no new seq) or memberships are
 * removed: for collection streams that page by date_added.
 */
st_time store_last_added(struct store *s);
st_time store_wait_added(struct store *s, st_time after, int timeout_ms);

/*
 * Versions with seq > after_seq in seq order: at most limit (> 0)
 * versions of the log are examined. With cid, only those that are members
 * of that collection are passed to fn, each with its membership's
 * date_added; without, every version, with date_added 0. fn runs inside
 * a read transaction and must not block (see store_page); it stops the
 * read by returning non-zero (that value is returned; that row counts as
 * read). *last_seq (optional) gets the greatest seq read, members or
 * not, so that a stream on a collection advances past versions of other
 * collections: resume with after_seq = *last_seq.
 *
 * A version already in the log that joins the collection later (a
 * duplicate added again) gets a new date_added but no new seq, so it is
 * not seen here: a stream that must see such re-additions pages the
 * collection with store_page by date_added and waits with
 * store_wait_added.
 */
int store_log_read(struct store *s, uint64_t after_seq, size_t limit,
		   int64_t cid, store_row_fn fn, void *ctx, uint64_t *last_seq,
		   struct diag *d);

/*
 * The collections (cids, ascending) the version seq is a member of, at
 * most cap of them into cids; *n gets how many there are (may exceed
 * cap). A seq the log does not hold has none. One short read.
 */
/*
 * Every version held of each of ids[0..n), in one read transaction (what
 * a partner's envelope needs checked, looked up at once): fn(ctx, i, row)
 * for each version of ids[i], with row->date_added the version's
 * date_added in collection cid, or 0 when it is not a member of it (cid 0:
 * always 0). An id the store has never seen, or a malformed one, gets no
 * call. The calls for one id come together, the ids in no set order (the
 * store's key order). Stops early when fn returns non-zero and returns
 * that value.
 */
typedef int (*store_held_fn)(void *ctx, size_t i, const struct store_row *row);
int store_held(struct store *s, const char *const *ids, size_t n, int64_t cid,
	       store_held_fn fn, void *ctx, struct diag *d);

int store_memberships(struct store *s, uint64_t seq, int64_t *cids, size_t cap,
		      size_t *n, struct diag *d);

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
	uint64_t syncs;	  /* syncs of the log to the disk (each a
			     durable point for every commit before it) */
	uint64_t status_uncommitted;  /* statuses queued or being written */
	uint64_t readers;	      /* read connections open (before this
					call took one) */
	uint64_t readers_closed_idle; /* closed after idle_ms unused */
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
	int (*held)(struct store *s, const char *const *ids, size_t n,
		    int64_t cid, store_held_fn fn, void *ctx, struct diag *d);
	int (*memberships)(struct store *s, uint64_t seq, int64_t *cids,
			   size_t cap, size_t *n, struct diag *d);
	int (*check)(struct store *s, struct diag *d);
	int (*page)(struct store *s, const struct store_page_query *q,
		    store_row_fn fn, void *ctx, struct store_page_result *res,
		    struct diag *d);
	int (*remove)(struct store *s, int64_t cid, const char *id,
		      const struct store_vmatch *v,
		      const char *const *spec_versions, size_t nspec,
		      size_t *removed, struct diag *d);
	int (*status_put)(struct store *s, const struct store_status *st,
			  struct diag *d);
	int (*status_put_async)(struct store *s, const struct store_status *st,
				struct diag *d);
	int (*status_get)(struct store *s, const char *id,
			  struct store_status *out, struct diag *d);
	int (*status_purge)(struct store *s, st_time before, size_t *purged,
			    struct diag *d);
	uint64_t (*wait_seq)(struct store *s, uint64_t after_seq,
			     int timeout_ms);
	st_time (*wait_added)(struct store *s, st_time after, int timeout_ms);
	int (*log_read)(struct store *s, uint64_t after_seq, size_t limit,
			int64_t cid, store_row_fn fn, void *ctx,
			uint64_t *last_seq, struct diag *d);
};

/* Every backend's struct store begins with this. */
struct store {
	const struct store_ops *ops;
};

extern const struct store_ops store_sqlite_ops;

#endif
