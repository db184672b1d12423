/*
 * strait: what federation keeps beside the store, in <home>/peers.db next to
 * the partner registry (peers.h): provenance of received versions, the
 * attestations that travel with them, each sender's cursor, what was
 * released to whom (the materialised decision and the record of every
 * release), the quarantine, dead letters, and per-peer health.
 *
 * One connection, used by several threads of `strait serve` (senders, HTTP
 * handlers) under a mutex, and by CLI commands in other processes (WAL mode,
 * busy timeout). Every write is durable when the call returns.
 */
#ifndef STRAIT_FEDERATION_FEDSTATE_H
#define STRAIT_FEDERATION_FEDSTATE_H

#include "common/err.h"
#include "common/time.h"
#include "stix/stix.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fedstate;

/* Opens (creating tables when missing) <home>/peers.db. */
int fedstate_open(const char *home, struct fedstate **out, struct diag *d);
void fedstate_close(struct fedstate *f); /* NULL: no-op */
/*
 * For the long-running process (serve): commits no longer copy the WAL
 * back into the database themselves (SQLite's automatic checkpoint, two
 * syncs while every user of the state waits on its connection);
 * fedstate_checkpoint_due does it, on a connection of its own, from one
 * thread that calls it often (at least once a second).
 */
int fedstate_checkpoints_apart(struct fedstate *f, struct diag *d);
/* A passive checkpoint, when the WAL has grown past about 4 MB. */
void fedstate_checkpoint_due(struct fedstate *f);

/* ---- provenance of versions received from peers ---- */

#define FED_MAX_RED 256

/* Where a version came from. A version without a record is this node's
 * own (local import, TAXII add by a local account, a detector). */
struct fed_prov {
	char id[STIX_ID_MAX];
	st_time version;	       /* the store's version key */
	char origin[STIX_ID_MAX];      /* origin node identity; for a feed peer,
				     "" (origin unknown: received from) */
	char peer[33];		       /* the peer it arrived from */
	char attestation[STIX_ID_MAX]; /* id of the attestation that
					  covers it; "" for a feed peer */
	bool relay_green;
	char (*red)[STIX_ID_MAX]; /* RED recipients the origin named */
	size_t n_red;
	uint8_t sha256[32]; /* of the canonical bytes received */
};

/*
 * Records n provenance records and the attestations they cite (json of
 * each, by id; an attestation already kept is not written again) in one
 * transaction. Written before the versions are appended to the store (a
 * record without its version is harmless: the version arrives again);
 * the commit does not wait for the disk, because the store marks each
 * received version STORE_F_FOREIGN in its own durable commit: a record
 * lost to a power cut leaves a version that still reads as another
 * node's (origin unknown, never relayed beyond what that allows).
 * An existing record for (id, version) is kept (first origin wins).
 */
struct fed_attestation {
	const char *id;
	const char *json;
	size_t len;
};
int fed_prov_put(struct fedstate *f, const struct fed_prov *p, size_t n,
		 const struct fed_attestation *att, size_t natt,
		 struct diag *d);
/* The record of (id, version) into *out (out->red malloc'd: free with
 * fed_prov_free). ST_ENOTFOUND when the version is our own. */
int fed_prov_get(struct fedstate *f, const char *id, st_time version,
		 struct fed_prov *out);
void fed_prov_free(struct fed_prov *p);

/*
 * A provenance record as bytes kept with the version in the store
 * (store_item.prov), in the store's own commit: no write elsewhere, and
 * read with the version. Binary: a format byte (1), relay_green, the
 * number of RED recipients (2 bytes, little-endian), the SHA-256, then
 * origin, peer, attestation and each RED recipient as NUL-terminated
 * strings. id and version are the row's, not kept. fed_prov_decode checks
 * every length (the bytes come from our own store, but are parsed as if
 * they did not): ST_ESTORE when malformed; free *out with fed_prov_free.
 */
int fed_prov_encode(const struct fed_prov *p, struct buf *out);
int fed_prov_decode(const void *bytes, size_t len, struct fed_prov *out);
/* The origin first bound to id (the origin of its first attested version
 * received) into origin[STIX_ID_MAX]: ST_ENOTFOUND when none. */
int fed_origin_of(struct fedstate *f, const char *id, char *origin);
/* The attestation json (malloc'd, *len) of id. ST_ENOTFOUND. */
int fed_attestation_get(struct fedstate *f, const char *id, char **json,
			size_t *len);

/* ---- senders: cursors and the materialised decision ---- */

/*
 * Each peer's sender walks our log twice, in order: it decides (the release
 * decision, materialised: which seqs the peer may receive), then delivers
 * what was decided. Two cursors, each the last seq of our log done, for our
 * store incarnation (a cursor kept for another incarnation reads as 0).
 * The released set is what every other path serving the peer (TAXII reads
 * and streams by its account) consults, so they agree with push.
 */
enum fed_cursor {
	FED_DECIDED,
	FED_DELIVERED,
};
int fed_cursor_get(struct fedstate *f, const char *peer,
		   const char *incarnation, enum fed_cursor which,
		   uint64_t *seq);

/* Marks seqs[0..n) released to peer and moves its DECIDED cursor to
 * cursor, in one durable transaction. */
int fed_decided(struct fedstate *f, const char *peer, const char *incarnation,
		uint64_t cursor, const uint64_t *seqs, size_t n,
		struct diag *d);
/* Whether seq was released to peer. Answered from memory (the set is
 * loaded once per peer and kept in step by fed_decided): safe to call
 * inside a store read callback. */
bool fed_released(struct fedstate *f, const char *peer, uint64_t seq);
/* The first seq released to peer after after, in *next; false when there
 * is none (or the set cannot be read). From memory, as fed_released: the
 * deliverer skips the stretches of the log that hold nothing for peer. */
bool fed_released_next(struct fedstate *f, const char *peer, uint64_t after,
		       uint64_t *next);
/*
 * The set, and each cursor, is read from the file the first time a peer is
 * asked about and then changes only through this process (fed_decided,
 * fed_delivered, fed_policy_reset, fed_forget_peer, fed_adopt_incarnation):
 * what another process writes later is not seen until this one reopens, or
 * calls fed_peer_reread. Only the senders of `strait serve` decide and
 * deliver, so a running server is never behind itself.
 * When the set cannot be read, nothing counts as released.
 *
 * A released set names seqs of one store incarnation, the one of the
 * peer's DECIDED cursor: fed_decided with another incarnation empties it
 * first.
 */

/* Forgets what this process keeps in memory of peer (its released set,
 * cursors and health record): they are read from the file on next use. `strait serve` calls
 * it when a sender starts, so a peer removed by `strait peer remove` (another
 * process) and added again starts from what the file says. */
void fed_peer_reread(struct fedstate *f, const char *peer);

/*
 * Empties the released set, and drops both cursors, of every peer whose
 * decisions were made for another store incarnation than this one (a
 * restored store numbers its log anew: old seqs name other versions).
 * Meant for `strait serve`, once the store is open and before serving.
 */
int fed_adopt_incarnation(struct fedstate *f, const char *incarnation,
			  struct diag *d);
/* How many seqs released to peer are not delivered yet (above its
 * DELIVERED cursor) for this incarnation, into *n; 0 when the decisions
 * were made for another incarnation. */
int fed_queue_depth(struct fedstate *f, const char *peer,
		    const char *incarnation, uint64_t *n, struct diag *d);

/*
 * One delivered batch, in one durable transaction: moves the DELIVERED
 * cursor to cursor and records the release (time, path, number of
 * versions and the SHA-256 of the sorted "id|version\n" lines, version as
 * a STIX timestamp) for `strait peer sent`. path is "push", "catch-up",
 * "taxii", "stream", "export" or "liaison" (read by the partner's liaison
 * officer here).
 */
struct fed_sent_item {
	uint64_t seq;
	const char *id;
	st_time version;
};
int fed_delivered(struct fedstate *f, const char *peer, const char *incarnation,
		  uint64_t cursor, const struct fed_sent_item *items, size_t n,
		  const char *path, st_time now, struct diag *d);
/* The same, and *digest_out (may be NULL) gets the release's digest (the
 * audit log records it beside the push). */
int fed_delivered_digest(struct fedstate *f, const char *peer,
			 const char *incarnation, uint64_t cursor,
			 const struct fed_sent_item *items, size_t n,
			 const char *path, st_time now, char digest_out[65],
			 struct diag *d);
/* Records a release made on another path (TAXII read, stream, export)
 * without moving any cursor. n may be 0 (nothing is recorded then). */
int fed_sent_record(struct fedstate *f, const char *peer, const char *path,
		    const struct fed_sent_item *items, size_t n, st_time now,
		    struct diag *d);
/* (fed_delivered with n = 0 moves the cursor and records no release.
 * The lines are sorted bytewise, as whole lines.) */

/*
 * The hash (hex SHA-256 of the policy text, "" for none) the peer's
 * decisions were made under. When the sender finds the registry's policy
 * changed it calls fed_policy_reset: the released set is emptied and both
 * cursors go back to 0, so what the new policy admits is decided and
 * delivered again (backfill; receivers deduplicate) and what it no longer
 * admits is no longer served. What was sent cannot be recalled.
 */
int fed_policy_hash_get(struct fedstate *f, const char *peer, char hash[65]);
int fed_policy_reset(struct fedstate *f, const char *peer, const char *hash,
		     struct diag *d);

struct fed_sent {
	st_time at;
	char path[16];
	uint64_t count;
	char digest[65];
	char first_id[STIX_ID_MAX]; /* first item of the batch, for reading */
};
typedef int (*fed_sent_fn)(void *ctx, const struct fed_sent *s);
/* Releases to peer at or after since (0: all), oldest first. */
int fed_sent_list(struct fedstate *f, const char *peer, st_time since,
		  fed_sent_fn fn, void *ctx, struct diag *d);

/* ---- catch-up cursors (per peer and remote collection) ---- */

/* The added_after to resume from (0 when none). */
int fed_catchup_get(struct fedstate *f, const char *peer,
		    const char *collection, st_time *after);
int fed_catchup_set(struct fedstate *f, const char *peer,
		    const char *collection, st_time after, struct diag *d);

/* ---- quarantine ---- */

struct fed_quarantined {
	int64_t qid;
	st_time at;
	char peer[33];
	char id[STIX_ID_MAX];	/* "" when the object had no readable id */
	char version[TS_BUFSZ]; /* as received, "" when none */
	char reason[256];
	int64_t cid;  /* our collection it was posted to (release adds it
			there) */
	char *object; /* the object's JSON as received (malloc'd) */
	size_t object_len;
	char *attestation; /* the attestation that came with it, or NULL */
	size_t attestation_len;
};
/* Adds (object and attestation copied); *qid gets its number. */
int fed_quarantine_add(struct fedstate *f, const struct fed_quarantined *q,
		       int64_t *qid, struct diag *d);
typedef int (*fed_quarantine_fn)(void *ctx, const struct fed_quarantined *q);
/* Oldest first; object/attestation are NULL in listings. */
int fed_quarantine_list(struct fedstate *f, fed_quarantine_fn fn, void *ctx,
			struct diag *d);
/* One entry with its object and attestation (free with
 * fed_quarantined_free). ST_ENOTFOUND. */
int fed_quarantine_get(struct fedstate *f, int64_t qid,
		       struct fed_quarantined *out, struct diag *d);
void fed_quarantined_free(struct fed_quarantined *q);
/* Removes the entry (after release or drop). ST_ENOTFOUND. */
int fed_quarantine_remove(struct fedstate *f, int64_t qid, struct diag *d);
/* Entries per peer ("" counts all). */
uint64_t fed_quarantine_count(struct fedstate *f, const char *peer);

/* ---- dead letters (versions a partner rejected permanently) ---- */

struct fed_deadletter {
	int64_t did;
	st_time at;
	char peer[33];
	uint64_t seq;
	char id[STIX_ID_MAX];
	st_time version;
	char reason[256];
	bool skipped; /* the operator acknowledged it */
};
int fed_deadletter_add(struct fedstate *f, const struct fed_deadletter *dl,
		       struct diag *d);
typedef int (*fed_deadletter_fn)(void *ctx, const struct fed_deadletter *dl);
int fed_deadletter_list(struct fedstate *f, const char *peer,
			fed_deadletter_fn fn, void *ctx, struct diag *d);
/* Marks did (or every entry of peer when did is 0) as skipped; *n gets
 * how many changed. */
int fed_deadletter_skip(struct fedstate *f, const char *peer, int64_t did,
			size_t *n, struct diag *d);
uint64_t fed_deadletter_count(struct fedstate *f, const char *peer,
			      bool include_skipped);

/* ---- health, for peer status, /api/v1/peers and /metrics ---- */

struct fed_health {
	char peer[33];
	char identity[STIX_ID_MAX]; /* learnt from the partner, "" unknown */
	st_time last_success;	    /* 0 never */
	st_time last_error_at;
	char last_error[256];
	st_time down_since; /* 0 when up */
	uint64_t sent;	    /* versions delivered (push), all time */
	uint64_t received;  /* versions stored from this peer */
};
/* Reads the record (zeroes with peer set when there is none). */
int fed_health_get(struct fedstate *f, const char *peer,
		   struct fed_health *out);
/*
 * Replaces the record. This process reads it back at once; the file gets
 * it at once when it is new, names another identity (then durably: the
 * identity is held to after), or changes the state (down_since, the last
 * error). A change of the counts or of last_success alone reaches the file
 * within a second (fed_health_flush, which the server's supervisor runs
 * every 100 ms, and fedstate_close): written after every batch, it cost
 * each batch a write; they update the record of the same identity only,
 * so a peer removed meanwhile by another process is not brought back.
 * Another process (`strait peer status`) sees counts up to a second old;
 * a crash may lose the last second of counts.
 */
int fed_health_put(struct fedstate *f, const struct fed_health *h,
		   struct diag *d);
/* Writes the records whose counts changed more than a second ago (all:
 * every changed record). */
void fed_health_flush(struct fedstate *f, bool all);

/* ---- one partner's state, as every view shows it (status.c) ---- */

struct peer;
struct jw;
struct fed_peer_status {
	struct fed_health h;
	uint64_t decided, delivered; /* cursors, this store incarnation */
	uint64_t queue;		     /* released, not delivered yet */
	uint64_t lag;		     /* our last seq - delivered */
	int64_t lag_s; /* seconds since the last success (or since the peer
			  was added) while the queue is not empty */
	uint64_t dead_letters; /* not skipped */
	uint64_t quarantined;
};
int fed_peer_status(struct fedstate *fs, const struct peer *p,
		    const char *incarnation, uint64_t last_seq, st_time now,
		    struct fed_peer_status *out, struct diag *d);
/* The object `peer status --json` and GET /api/v1/peers list (never a
 * token). */
void fed_peer_status_json(struct jw *w, const struct peer *p,
			  const struct fed_peer_status *s);

/* Forgets everything kept for peer (when it is removed). */
int fed_forget_peer(struct fedstate *f, const char *peer, struct diag *d);
/* What is forgotten: cursors, the released set, the release records,
 * catch-up cursors, quarantined objects, dead letters, health and the
 * policy hash. Provenance and attestations stay: they describe versions
 * in the store (which stay foreign), not the partnership. */

/* ---- audit witnesses: heads of a partner's audit log, kept for it ---- */

#define FED_WITNESS_KEEP 10000 /* per partner, the newest by seq */
struct fed_witness {
	uint64_t seq;	     /* the last event the head covers */
	uint8_t hash[32];    /* that event's hash */
	st_time at;	     /* when the partner signed it */
	char key_id[16 + 1]; /* the partner's key that signed it */
	uint8_t sig[64];     /* Ed25519 */
};
/* Keeps a head a partner published (its signature checked by the
 * caller); the same (seq, at) twice is kept once. */
int fed_witness_put(struct fedstate *f, const char *peer,
		    const struct fed_witness *w, struct diag *d);
/* The heads kept for peer, by seq: *out (malloc'd, the caller frees). */
int fed_witness_list(struct fedstate *f, const char *peer,
		     struct fed_witness **out, size_t *n, struct diag *d);

#endif
