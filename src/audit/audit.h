/*
 * strait: the audit log, a hash chain of security-relevant events signed by
 * the node.
 *
 * <home>/audit.db (SQLite, WAL, synchronous FULL, 0600) holds the events,
 * each linked to the one before it by hash, and the signed heads: the node
 * signs, with its current key (nodekey.h), the seq and hash of the last
 * event at that time. What the hashes and signatures cover (integers
 * little-endian, texts as a 4-byte length then the bytes):
 *
 *   event hash = SHA-256("strait-audit-event-1" | prev hash (32) | seq (8) |
 *                        at (8, µs since the epoch) | kind | actor | detail)
 *   head       = Ed25519("strait-audit-head-1" | seq (8) | hash (32) |
 *                        at (8))
 *
 * The first event's prev hash is 32 zero bytes.
 *
 * audit_verify finds, and locates, an edited, deleted or reordered event
 * (its hash, or its link to the one before, no longer holds), a signed head
 * that names an event the log no longer has or holds with another hash (a
 * truncated tail), and a bad signature. A rewrite re-signed with the node's
 * own key passes those checks: only heads kept elsewhere (the partners keep
 * the heads a node publishes to them) show it, passed as witnesses.
 */
#ifndef STRAIT_AUDIT_AUDIT_H
#define STRAIT_AUDIT_AUDIT_H

#include "common/err.h"
#include "common/time.h"
#include "federation/nodekey.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUDIT_HASH_BYTES 32
#define AUDIT_KIND_MAX 64	    /* bytes of a kind, NUL excluded */
#define AUDIT_ACTOR_MAX 256	    /* bytes of an actor */
#define AUDIT_DETAIL_MAX (64 << 10) /* bytes of a detail */

struct audit;
struct audit_head;

/* Opens <home>/audit.db, made (0600) when missing. */
int audit_open(const char *home, struct audit **out, struct diag *d);
/* The same for a log file at path (an archive made by audit_rotate). */
int audit_open_path(const char *path, struct audit **out, struct diag *d);

/*
 * Rotation by signed checkpoints: signs a checkpoint (a head) at the last
 * event, moves every event up to it, and the heads, into a new archive
 * file in dir (made 0700; the file 0600, audit-FIRST-LAST.db, never over
 * an existing one), and keeps the checkpoint as the live log's base: the
 * next event links to it. The archive holds the checkpoint it started from
 * and the closing head, so audit_verify checks it on its own; the live
 * log is checked from its checkpoint, whose signature vouches for what was
 * archived. The archive is written and synced before anything leaves the
 * live log. *cp gets the checkpoint, path the archive's path.
 * ST_ENOTFOUND when no event was added since the last rotation;
 * ST_EEXIST when the archive file exists.
 */
int audit_rotate(struct audit *a, const struct nodekeys *keys, st_time at,
		 const char *dir, struct audit_head *cp, char *path, size_t cap,
		 struct diag *d);
void audit_close(struct audit *a);

/* Caps the log's size (bytes, rounded down to whole pages; 0: no cap):
 * an append that would pass it fails as on a full disk (ST_EIO). */
int audit_set_max_bytes(struct audit *a, uint64_t bytes, struct diag *d);

/* Appends one event, durable when it returns; *seq (optional) gets its
 * number. kind: a short name ("login", "release", ...); actor: the
 * account or peer; detail: UTF-8 text, usually JSON. ST_EINVAL for a
 * field missing, empty (kind, actor), too long or not UTF-8, ST_EIO when
 * it could not be written (the caller then refuses the action it would
 * record: fail closed). */
int audit_append(struct audit *a, st_time at, const char *kind,
		 const char *actor, const char *detail, uint64_t *seq,
		 struct diag *d);

/* Whether an event's fields would be accepted (the checks of
 * audit_append): ST_OK or ST_EINVAL naming the field. */
int audit_check_event(const char *kind, const char *actor, const char *detail,
		      struct diag *d);

/* One event to append. */
struct audit_new {
	st_time at;
	const char *kind, *actor, *detail;
};
/* Appends n events (n >= 1) in one durable transaction, chained in order:
 * all or none. *first (optional) gets the first one's seq. Errors as for
 * audit_append; a field refused names the event's field. */
int audit_append_batch(struct audit *a, const struct audit_new *ev, size_t n,
		       uint64_t *first, struct diag *d);

/* Signs the current head (the last event) with the node's current key and
 * keeps it; *out (optional) gets it. ST_ENOTFOUND when there is no event
 * yet. */
struct audit_head {
	uint64_t seq;
	uint8_t hash[AUDIT_HASH_BYTES];
	st_time at;
	char key_id[NODEKEY_ID_LEN + 1];
	uint8_t sig[NODEKEY_SIG_BYTES];
};
int audit_sign_head(struct audit *a, const struct nodekeys *keys, st_time at,
		    struct audit_head *out, struct diag *d);

/* The newest signed head (by seq, then time). ST_ENOTFOUND when none. */
int audit_last_head(struct audit *a, struct audit_head *out, struct diag *d);
/* Whether h's signature is good under pk (a node's Ed25519 key): how a
 * partner checks a head before keeping it as a witness. */
bool audit_head_verify(const struct audit_head *h,
		       const uint8_t pk[NODEKEY_PUB_BYTES]);

/* One event, as read back. */
struct audit_event {
	uint64_t seq;
	st_time at;
	const char *kind, *actor, *detail; /* valid during the callback */
	uint8_t hash[AUDIT_HASH_BYTES];
};
typedef int (*audit_event_fn)(void *ctx, const struct audit_event *e);

/* The last n events, oldest first. fn returning non-zero stops (that value
 * is returned). */
int audit_tail(struct audit *a, uint64_t n, audit_event_fn fn, void *ctx,
	       struct diag *d);

/* What audit_verify found: ok, or the first fault, its seq and a sentence
 * naming it. */
struct audit_report {
	bool ok;
	uint64_t events;   /* events checked */
	uint64_t heads;	   /* signed heads checked */
	uint64_t bad_seq;  /* where the first fault is (0: not an event) */
	uint64_t base;	   /* the checkpoint the log goes on from (0: none) */
	uint64_t archived; /* heads of archived events: not compared */
	char fault[256];
};

/* Checks the chain from its first event, the signed heads against the
 * node's key history, and each witness (a head kept elsewhere: seq and
 * hash; its signature is checked too when key_id is set). ST_OK with the
 * report filled, whether the log is sound or not; another code when the
 * log cannot be read. */
int audit_verify(struct audit *a, const struct nodekeys *keys,
		 const struct audit_head *witnesses, size_t nwitnesses,
		 struct audit_report *r, struct diag *d);

#endif
