/*
 * strait: the audit writer of a running node (`strait serve`).
 *
 * Request threads, senders and the receiver record events through one
 * writer thread, which appends whatever has queued in one durable
 * transaction (group commit): a hundred reads by partners at once cost one
 * disk sync, not a hundred. The writer also signs a head on a schedule and
 * at stop, and hands each signed head to a callback (the federation
 * publishes it to the partners, who keep it as a witness).
 *
 * Two ways to record:
 *  - waiting: the call returns once the event is on disk, or ST_EIO when it
 *    could not be written. The caller then refuses the action the event
 *    would record (fail closed): reads by peer and liaison accounts.
 *  - queued: the call returns at once; the event is on disk after the next
 *    group commit (milliseconds). Used where waiting would put a disk sync
 *    in series with every object a partner receives (pushes), or where the
 *    action is refused anyway (a failed login). While the log cannot be
 *    written, queued events are kept and retried each second; past
 *    AUDIT_QUEUE_MAX of them a queued event is refused (ST_ELIMIT) and
 *    counted as lost, never silently.
 *
 * audit_writer_ok() says whether the last attempt to write succeeded:
 * paths that must fail closed without waiting (a partner's push) ask it.
 * Thread-safe.
 */
#ifndef STRAIT_AUDIT_WRITER_H
#define STRAIT_AUDIT_WRITER_H

#include "audit/audit.h"

#include <stdbool.h>
#include <stdint.h>

/* Events queued (waiting or not) before a queued event is refused. */
#define AUDIT_QUEUE_MAX 100000
/* Events appended in one transaction, at most. */
#define AUDIT_BATCH_MAX 4096

struct audit_writer;

typedef void (*audit_head_fn)(void *ctx, const struct audit_head *h);

struct audit_writer_cfg {
	struct audit *log;	     /* borrowed; outlives the writer */
	const struct nodekeys *keys; /* borrowed; signs the heads (NULL: a
				      node without a key signs none) */
	unsigned head_interval_ms;   /* 0: 60000 */
	audit_head_fn on_head;	     /* may be NULL */
	void *on_head_ctx;
};

/* Starts the writer thread. ST_OK, ST_ENOMEM or ST_EIO (no thread). */
int audit_writer_start(const struct audit_writer_cfg *cfg,
		       struct audit_writer **out, struct diag *d);
/* Writes what is queued, signs a last head when events were added since
 * the last one, and ends the thread. NULL is a no-op. */
void audit_writer_stop(struct audit_writer *w);

/*
 * Records one event (fields as for audit_append; copied). wait: see above.
 * ST_OK, ST_EINVAL (a field refused), ST_EIO (waiting, and the event could
 * not be written), ST_ELIMIT (queued, and the queue is full), ST_ENOMEM.
 */
int audit_record(struct audit_writer *w, const char *kind, const char *actor,
		 const char *detail, bool wait);

/* false while the log cannot be written (the last attempt failed). A
 * NULL writer is never ok: with no log, nothing that must be recorded may
 * happen. */
bool audit_writer_ok(struct audit_writer *w);

/* Signs a head now if events were added since the last one (the tests and
 * `serve` at a peer's request). ST_OK or an error. */
int audit_writer_sign(struct audit_writer *w, struct diag *d);

struct audit_writer_stats {
	uint64_t events;  /* appended */
	uint64_t batches; /* transactions */
	uint64_t failures;
	uint64_t lost; /* queued events refused: the queue was full */
	uint64_t heads;
	bool failing;
};
void audit_writer_stats(struct audit_writer *w, struct audit_writer_stats *out);

#endif
