/* strait: SQLite backend internals (writer, checkpointer, readers). */
#ifndef STRAIT_STORE_SQLITE_INT_H
#define STRAIT_STORE_SQLITE_INT_H

#include "store/store_int.h"

#include "common/sqlschema.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * Threads and connections:
 *   writer thread   wdb: the only connection that writes (log, meta,
 *                   collections); runs queued batches and jobs.
 *   checkpointer    cdb: PASSIVE checkpoints when the WAL grows.
 *   any thread      a read-only connection taken from the reader pool
 *                   for the length of one call (one short transaction).
 */

/* membership.mflags: another version of the object, with a greater
 * (smaller) version key, is a member of the same collection. */
#define MF_NOT_LAST 0x1
#define MF_NOT_FIRST 0x2

/* Writer statements, prepared once. */
enum {
	W_BEGIN,
	W_COMMIT,
	W_ROLLBACK,
	W_DATA_VERSION,
	W_FIND_ALL,  /* versions of (uuid, type): seq, version */
	W_BODY,	     /* body of seq */
	W_INSERT,    /* a new version */
	W_IS_MEMBER, /* (seq, cid) */
	W_MEMBER,    /* a new membership */
	W_HAS_COLL,  /* cid exists */
	W_TYPE_ADD,
	W_TYPE_COUNT, /* add to a type's counters */
	W_META_SET,
	W_MEMBERS_OF,	/* member versions of (uuid, type) in cid */
	W_SET_MFLAGS,	/* a membership's mflags */
	W_UNMEMBER,	/* remove a membership */
	W_REMOVAL,	/* record a removed membership */
	W_STATUS_PUT,	/* insert or replace a status */
	W_STATUS_PURGE, /* statuses created before ?1 */
	W_KEY_ADD,	/* a new key, into keys_recent */
	W_KEY_ADD_MAIN, /* a new key, into keys_main (large transactions) */
	W_KEYS_MERGE,	/* keys_recent into keys_main */
	W_KEYS_CLEAR,	/* empties keys_recent */
	W_IDF_AFTER,	/* the id filter: UUIDs of versions after ?1 */
	W_IDF_ALL,	/* the id filter: UUIDs of every key */
	W_NSTMT
};

/* Default of store_options.keys_recent_max: keys kept in keys_recent
 * at most before the writer merges them into keys_main (the schema,
 * sqlite.c; when, writer.c). A transaction of KEYS_DIRECT_MAX keys or
 * more writes them straight into keys_main. */
#define KEYS_RECENT_MAX 262144
#define KEYS_RECENT_MIN 4096
#define KEYS_DIRECT_MAX 65536

/* One type in the writer's cache, with this transaction's counts. */
struct sq_type {
	char *name; /* NULL: free slot */
	size_t len;
	int64_t code;
	int64_t dversions;
	int64_t dobjects;
};

/* A member version of one object in one collection (writer). */
struct sq_member {
	int64_t seq;
	st_time version, date_added;
	int mflags;
};

/* A piece of work the writer runs in its own transaction. */
struct sq_job {
	int (*fn)(struct sq_job *j);
	struct sq_store *s;
	void *arg;
	struct diag *d;
	int rc;
	bool done;
	struct sq_job *next;
};

/*
 * A status resource on its way to the database: queued by
 * sq_status_put (the caller waits: sync) or sq_status_put_async (the
 * writer frees it), written in the writer's next transaction, with the
 * batches of that group. Until that commit, sq_status_get finds it here.
 */
struct sq_astatus {
	struct store_status st; /* lists: owned unless sync */
	bool sync;		/* a caller waits for done */
	bool done;
	int rc;		/* sync: the result */
	struct diag *d; /* sync: the caller's (may be NULL) */
	struct sq_astatus *next;
};

/* Reader statements, prepared on first use. */
enum {
	R_BEGIN,
	R_COMMIT,
	R_ROLLBACK,
	R_TYPE_NAME,
	R_TYPE_CODE,
	R_META_GET,
	R_COLL_FIND,
	R_COLL_LIST,
	R_STATS_TYPES,
	R_STATS_COLL,
	R_LAST_SEQ,
	R_COUNT_TYPES,
	R_MEMBERSHIPS,
	R_STATUS_GET,
	R_PAGE_RANGE, /* the next chunk of a collection's keys */
	R_LOG,	      /* versions after a seq */
	R_LOG_COLL,   /* the same, with their membership in a collection */
	R_IDF_AFTER,  /* the id filter: UUIDs of versions after ?1 */
	R_IDF_ALL,    /* the id filter: UUIDs of every key */
	R_NSTMT
};

/* A read connection with its statements and code -> type name cache. */
struct sq_reader {
	sqlite3 *db;
	sqlite3_stmt *rs[R_NSTMT];
	struct sq_reader *next;	    /* in the free list */
	struct sq_reader *all_next; /* every reader, for close */
	char **names;		    /* by type code */
	size_t nnames;
	struct {
		char *sql;
		sqlite3_stmt *st;
	} cache[16]; /* query shapes, round robin */
	size_t cache_next;
	double idle_since; /* time_mono() when put back in the pool */
	char idbuf[STORE_ID_MAX];
};

/* idfilter.c: which object UUIDs the store may hold (a Bloom filter kept
 * in step with the log). Every field under mu. */
struct sq_idf {
	pthread_mutex_t mu;
	uint64_t *bits;
	uint64_t mask;	 /* bits in the filter, less one */
	uint64_t n, cap; /* UUIDs added; how many it was sized for */
	int64_t through; /* every version with seq <= through is in */
	uint64_t asked;	 /* lookups asked for (a build is due at rows/4) */
	uint64_t builds; /* for tests */
	bool built;
	unsigned char key[16];
};

/* The statements a sync steps, on the caller's connection: after (?1: a
 * seq) the UUIDs of the versions after it; all the UUIDs of every key. */
struct sq_idf_stmts {
	sqlite3_stmt *after, *all;
};

#define SQ_IDF_AFTER "SELECT uuid FROM versions WHERE seq > ?1"
#define SQ_IDF_ALL \
	"SELECT uuid FROM keys_main UNION ALL SELECT uuid FROM keys_recent"

void sq_idf_init(struct sq_idf *f);
void sq_idf_free(struct sq_idf *f);
/* Makes f complete for db's open transaction, whose last seq is max_seq:
 * folds in the versions after f->through, or builds f when due (asked:
 * lookups this caller is about to make), or, when may_rebuild (the writer,
 * holding the write lock), grows it when full. With f->mu held. */
int sq_idf_sync_locked(struct sq_idf *f, sqlite3 *db,
		       const struct sq_idf_stmts *q, int64_t max_seq,
		       uint64_t asked, bool may_rebuild, struct diag *d);
/* false: no version of uuid is held (as of the last sync); true: maybe.
 * True while no filter is built. With f->mu held. */
bool sq_idf_maybe_locked(const struct sq_idf *f, const uint8_t uuid[16]);
/* Whether f answers for a snapshot whose last seq is max_seq: built, and
 * every version up to it in (a reader with an older snapshot may have
 * built it meanwhile). With f->mu held. */
bool sq_idf_covers_locked(const struct sq_idf *f, int64_t max_seq);
void sq_idf_add_locked(struct sq_idf *f, const uint8_t uuid[16]);

struct sq_store {
	struct store base;
	char *path;
	uint32_t cache_kib;
	uint32_t batch_max;
	uint32_t keys_recent_max;
	uint32_t ckpt_pages;
	char incarnation[37];

	/* Queue: guarded by mu. */
	pthread_mutex_t mu;
	pthread_cond_t work_cv; /* writer: something queued */
	pthread_cond_t done_cv; /* waiters: something done */
	struct store_batch *q_head, *q_tail;
	struct sq_job *j_head, *j_tail;
	/* Status resources: queued, and taken by the writer for the
	 * transaction it is writing (both readable by sq_status_get). */
	struct sq_astatus *as_head, *as_tail;
	/* Written, not yet durable (oldest first: the syncer takes them from
	 * the front in commit order). */
	struct sq_astatus *as_busy, *as_busy_tail;
	uint64_t as_queued; /* in as_head and as_busy */

	/*
	 * Durability. The writer commits with synchronous=NORMAL (no sync in
	 * the commit) and queues a ticket per commit; the syncer thread makes
	 * the WAL durable with one fdatasync for every ticket queued since
	 * its last one, then tells their callers and the followers. So the
	 * writer builds the next transaction while the disk takes the last:
	 * with random keys a commit rewrites a WAL page per row, and waiting
	 * for that write-back was most of a small commit's time. wal_fd < 0:
	 * no syncer, synchronous=FULL as before.
	 */
	int wal_fd;
	pthread_t syncer;
	bool syncer_started;
	struct sq_ticket *t_head, *t_tail; /* under mu */
	bool t_busy;			   /* the syncer holds tickets (mu) */
	bool t_stop;			   /* under mu */
	bool t_hurry;	     /* a drain waits: lazy tickets sync now (mu) */
	pthread_cond_t t_cv; /* syncer: tickets, or stop */
	bool stopping;
	uint64_t commits, batches;
	atomic_uint_fast64_t syncs; /* of the WAL, that succeeded */
	/* What readers can see: the marks as of the last commit. The
	 * writer stores them under f_mu (holding mu too); reads that do not
	 * wait need no lock. Followers (stream subscribers, by the
	 * thousand) wait on f_mu and seq_cv, never on mu: woken together
	 * they would otherwise queue on the lock the writer and every
	 * poster need. */
	_Atomic uint64_t c_seq;
	_Atomic st_time c_date;
	pthread_mutex_t f_mu;
	pthread_cond_t seq_cv; /* c_seq or c_date moved, or stopping
				  (CLOCK_MONOTONIC) */
	bool f_stopping;       /* under f_mu */

	/* Writer thread state (only the writer touches these). */
	pthread_t writer;
	bool writer_started;
	sqlite3 *wdb;
	sqlite3_stmt *ws[W_NSTMT];
	size_t head_off;      /* items of q_head already written */
	int64_t data_version; /* when the state below was loaded */
	uint64_t last_seq;
	st_time last_date;
	int64_t recent_keys;   /* rows in keys_recent */
	double commit_rows;    /* rows per commit, a moving average */
	bool keys_direct;      /* this transaction's keys go to keys_main */
	st_time now;	       /* clock at BEGIN */
	struct sq_type *types; /* open addressing by name */
	size_t ntypes, types_cap;
	struct sq_member *mbuf; /* an object's members, by version */
	size_t mbuf_cap;
	uint32_t status_keep_hours;
	double last_purge; /* time_mono() of the last status purge */
	bool w_released;   /* writer: cache released since its last commit */

	/* Idle: readers unused for idle_ms are closed (by the
	 * checkpointer), and the writer releases its page cache once no
	 * transaction ran for idle_ms. */
	uint32_t idle_ms;
	/* How long statuses committed alone wait for a commit whose sync
	 * makes them durable too (see writer_main). */
	uint32_t status_sync_ms;

	/* Checkpointer. */
	pthread_t ckpt;
	bool ckpt_started;
	sqlite3 *cdb;
	pthread_mutex_t ck_mu;
	pthread_cond_t ck_cv;	   /* checkpointer: work to do */
	pthread_cond_t ck_done_cv; /* writer: the pause is over */
	bool ck_want, ck_stop;
	bool ck_stall;	      /* the writer waits for a checkpoint */
	uint32_t wal_pages;   /* writer: WAL size after its commit */
	uint32_t stall_pages; /* writer: WAL size at the last pause */

	/* Which UUIDs may be held; idf_use: the writer's transaction uses
	 * it (it was built at its BEGIN), idf_from: last_seq at that BEGIN. */
	struct sq_idf idf;
	bool idf_use;
	int64_t idf_from;

	/* Readers. */
	pthread_mutex_t r_mu;
	struct sq_reader *r_free; /* LIFO: the least recently used last */
	struct sq_reader *r_all;
	uint32_t r_open; /* connections in r_all */
	uint64_t r_closed_idle;
};

#define SQ(s) ((struct sq_store *)(s))

/* sqlite.c */
/* The version of the newest migration this program knows. */
int sq_schema_latest(void);
int sq_exec(sqlite3 *db, const char *sql, struct diag *d);
int sq_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, struct diag *d);
int sq_open_conn(struct sq_store *s, int flags, uint32_t cache_kib,
		 sqlite3 **out, struct diag *d);

/* For tests only: makes a new store at path with the migrations up to
 * version applied (none of the later ones), and no writer. */
int sq_create_at_schema_for_test(const char *path, int version, struct diag *d);

/* writer.c */
int sq_load_state(struct sq_store *s, struct diag *d);
void sq_types_free(struct sq_store *s);
int sq_writer_start(struct sq_store *s, struct diag *d);
void sq_writer_stop(struct sq_store *s);
int sq_run_job(struct sq_store *s, int (*fn)(struct sq_job *j), void *arg,
	       struct diag *d);
int sq_submit(struct store *st, struct store_batch *b);
int sq_wait(struct store *st, struct store_batch *b);
int sq_remove(struct store *st, int64_t cid, const char *id,
	      const struct store_vmatch *v, const char *const *spec_versions,
	      size_t nspec, size_t *removed, struct diag *d);
uint64_t sq_wait_seq(struct store *st, uint64_t after_seq, int timeout_ms);
st_time sq_wait_added(struct store *st, st_time after, int timeout_ms);

/* status.c */
int sq_status_put(struct store *st, const struct store_status *in,
		  struct diag *d);
int sq_status_put_async(struct store *st, const struct store_status *in,
			struct diag *d);
int sq_status_get(struct store *st, const char *id, struct store_status *out,
		  struct diag *d);
/* In the writer's transaction: writes each status of the list (only the
 * first with one); an id
 * owned by another account is not an error of the transaction (a sync
 * one gets ST_EEXIST, an async one is dropped with a warning). */
int sq_status_write_tx(struct sq_store *s, struct sq_astatus *as, bool one,
		       struct diag *d);
/* Frees an async status (not a sync one: its caller owns it). */
void sq_astatus_free(struct sq_astatus *a);
int sq_status_purge(struct store *st, st_time before, size_t *purged,
		    struct diag *d);
/* In the writer's transaction: deletes statuses created before `before`. */
int sq_status_purge_tx(struct sq_store *s, st_time before, size_t *purged,
		       struct diag *d);

/* read.c */
struct sq_reader *sq_reader_get(struct sq_store *s, struct diag *d);
sqlite3_stmt *sq_reader_stmt(struct sq_reader *r, int which, struct diag *d);
int sq_read_begin(struct sq_reader *r, struct diag *d);
void sq_read_end(struct sq_reader *r);
void sq_reader_put(struct sq_store *s, struct sq_reader *r);
void sq_readers_close(struct sq_store *s);
/* Closes the pooled readers unused for at least idle_ms (all of them
 * with 0); returns how many remain open. Any thread. */
uint32_t sq_readers_trim(struct sq_store *s, uint32_t idle_ms);
/* Returns freed heap to the system (glibc), after caches were released. */
void sq_heap_trim(void);
const char *sq_type_name(struct sq_reader *r, int64_t code);
int sq_query(struct store *st, const struct store_query *q, store_row_fn fn,
	     void *ctx, size_t *count, struct diag *d);
/* Fills row (all but id) from a statement whose columns are seq, type,
 * uuid, version, tlp, flags, body, warnings, date_added, prov. */
void sq_row_columns(sqlite3_stmt *qs, struct store_row *row);
int sq_held(struct store *st, const char *const *ids, size_t n, int64_t cid,
	    store_held_fn fn, void *ctx, struct diag *d);
/* The code of a type name in r's snapshot: 0 when never seen. */
int sq_type_code(struct sq_reader *r, const char *name, size_t len,
		 int64_t *code, struct diag *d);
/* A prepared statement for sql from the reader's small cache of query
 * shapes (valid until the reader prepares another shape). */
sqlite3_stmt *sq_shape_stmt(struct sq_reader *r, const char *sql,
			    struct diag *d);
/* Formats "type--uuid" into r->idbuf; NULL for a malformed row. */
const char *sq_row_id(struct sq_reader *r, int64_t type, const void *uuid,
		      int uuid_len);

/* page.c */
int sq_page(struct store *st, const struct store_page_query *q, store_row_fn fn,
	    void *ctx, struct store_page_result *res, struct diag *d);
int sq_log_read(struct store *st, uint64_t after_seq, size_t limit, int64_t cid,
		store_row_fn fn, void *ctx, uint64_t *last_seq, struct diag *d);

#endif
