/*
 * strait: the hotline's state on a node, <home>/hotline.db (SQLite, WAL,
 * synchronous FULL, 0600), shared by the CLI (a principal's client on the
 * node's host) and `strait serve` (which relays, counts deadlines and
 * escalates).
 *
 * What a node holds: principals' public keys (its own, enrolled by the
 * operator; its partners', from their contact profiles, usable only once
 * their fingerprint is confirmed), escalation chains, messages (the
 * signed header, the signature and one sealed body per reader of this
 * node: never a plaintext body, never a secret key), receipts signed by
 * readers, the outbox of what is still to reach each partner, the events
 * the UI and `hotline watch` follow, and each link's heartbeat.
 *
 * Every write is one durable transaction; a message, a receipt or a
 * notice is acknowledged to the partner that sent it only after it is on
 * disk.
 */
#ifndef STRAIT_HOTLINE_HOTLINE_H
#define STRAIT_HOTLINE_HOTLINE_H

#include "common/err.h"
#include "common/time.h"
#include "hotline/keyfile.h"
#include "hotline/wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HL_PEER_MAX 33 /* a peer's name here, and the NUL */
#define HL_CHAIN_MAX 8 /* members at each level */

/* Default acknowledgement deadlines, seconds, by precedence. */
#define HL_DEADLINE_FLASH 300
#define HL_DEADLINE_IMMEDIATE 1800
#define HL_DEADLINE_PRIORITY 10800
#define HL_DEADLINE_ROUTINE 86400

struct hl_db;

int hl_db_open(const char *home, struct hl_db **out, struct diag *d);
void hl_db_close(struct hl_db *db);
/* Changes by any connection (PRAGMA data_version): serve polls it to see
 * what the CLI wrote. */
uint64_t hl_db_version(struct hl_db *db);
/* Checkpoints: off, a commit never runs one (its disk syncs would fall on
 * the message being kept); serve checkpoints on a connection of its own
 * with hl_db_checkpoint (PASSIVE: it never waits for writers). */
void hl_db_autocheckpoint(struct hl_db *db, bool on);
int hl_db_checkpoint(struct hl_db *db);
/* Waiting for events: the generation moves with every event this handle
 * adds, and with hl_db_poke (serve pokes when another process wrote). */
uint64_t hl_db_event_gen(struct hl_db *db);
void hl_db_poke(struct hl_db *db);
/* Until the generation is no longer gen, or ms passed. */
void hl_db_wait_event(struct hl_db *db, uint64_t gen, unsigned ms);

/* ---- principals ---- */

enum hl_trust {
	HL_TRUST_OURS,	  /* enrolled here: trusted */
	HL_TRUST_PENDING, /* a partner's, fingerprint not confirmed yet */
	HL_TRUST_OK,	  /* a partner's, confirmed out of band */
	HL_TRUST_CHANGED, /* a partner's key changed since it was
			     confirmed: not used until confirmed again */
};
const char *hl_trust_name(enum hl_trust t);

struct hl_principal {
	char addr[HL_ADDR_MAX + 1]; /* identity/name */
	char peer[HL_PEER_MAX];	    /* "" for ours, else the partner */
	char title[128];	    /* what the profile calls it */
	struct hotline_pub key;	    /* the key as last published */
	char fp[HOTLINE_FP_TEXT];   /* its fingerprint */
	enum hl_trust trust;
	char trusted_fp[HOTLINE_FP_TEXT]; /* the one confirmed, "" none */
	/* the escalation chain: deputies (level 1), duty officers (2) */
	char chain[2][HL_CHAIN_MAX][HL_ADDR_MAX + 1];
	size_t nchain[2];
	st_time updated;
};

/* Whether the key may be used: ours, or a partner's confirmed one. */
bool hl_principal_usable(const struct hl_principal *p);

/* Enrolls (or re-keys) a principal of this node. ST_OK. */
int hl_principal_enroll(struct hl_db *db, const char *addr, const char *title,
			const struct hotline_pub *key, struct diag *d);
/* Sets the chain of one of our principals (members: addresses). */
int hl_principal_chain(struct hl_db *db, const char *addr,
		       const char *const *deputies, size_t nd,
		       const char *const *duty, size_t nu, struct diag *d);
/* A partner's principal as its profile lists it: new ones are pending;
 * a key other than the confirmed one makes it CHANGED (*changed set). */
int hl_principal_seen(struct hl_db *db, const char *peer,
		      const struct hl_principal *p, bool *changed,
		      struct diag *d);
/* Confirms a partner's principal: fp (spaces and case ignored) must be
 * the fingerprint of its current key. ST_ENOTFOUND, ST_ECONFLICT (it is
 * another fingerprint). */
int hl_principal_trust(struct hl_db *db, const char *addr, const char *fp,
		       struct diag *d);
int hl_principal_get(struct hl_db *db, const char *addr,
		     struct hl_principal *out);
typedef int (*hl_principal_fn)(void *ctx, const struct hl_principal *p);
/* peer NULL: all; "" ours; a name: that partner's. */
int hl_principal_list(struct hl_db *db, const char *peer, hl_principal_fn fn,
		      void *ctx, struct diag *d);

/* ---- messages ---- */

enum hl_dir { HL_OUT, HL_IN };
enum hl_state {
	HL_OPEN,      /* waiting for an acknowledgement */
	HL_ACKED,     /* a reader acknowledged it */
	HL_EXHAUSTED, /* the deadline passed at the last level of the chain */
};
const char *hl_state_name(enum hl_state s);

struct hl_msg {
	struct hl_header h;
	uint8_t sig[HL_SIG_BYTES];
	enum hl_dir dir;
	char peer[HL_PEER_MAX]; /* in: the partner it came from */
	st_time stored;		/* our wall clock, when stored */
	double clock_in;	/* the hotline clock at receipt (in) */
	double deadline;	/* the hotline clock when it escalates */
	int level;		/* 0 recipients, 1 deputies, 2 duty */
	enum hl_state state;
};

struct hl_reader {
	char addr[HL_ADDR_MAX + 1];
	const uint8_t *ct;
	size_t ctlen;
};

/* Stores a message with the sealed bodies of the given readers. *dup is
 * set (and nothing changes) when its id is already held: a replay. The
 * commit is visible at once but does not wait for the disk (nor hold the
 * connection while the disk works): call hl_db_sync before telling anyone
 * that the message is kept. */
int hl_msg_put(struct hl_db *db, const struct hl_msg *m,
	       const struct hl_reader *readers, size_t n, bool *dup,
	       struct diag *d);
/* The same, and in the same transaction, queues docs[i] for peers[i]
 * (a message sent from here and its relay documents). The link may take
 * an entry at once: a partner may hold a message before it is on disk
 * here (docs/HOTLINE.md, "When a message counts as kept"). */
int hl_msg_put_queued(struct hl_db *db, const struct hl_msg *m,
		      const struct hl_reader *readers, size_t n,
		      const char *const *peers, const char *const *docs,
		      size_t nq, bool *dup, struct diag *d);
/* Makes every commit made so far durable, without holding the
 * connection meanwhile; callers at the same time share one disk sync.
 * ST_OK or ST_EIO. */
int hl_db_sync(struct hl_db *db, struct diag *d);
/* Messages committed through this connection (hl_msg_put and
 * hl_msg_put_queued, not replays), counted; and how many of them
 * hl_db_sync has made durable. A message put before hl_db_gen is read is
 * on disk once hl_db_durable reaches that count. */
uint64_t hl_db_gen(struct hl_db *db);
uint64_t hl_db_durable(struct hl_db *db);
/* Waits up to ms until the count is no longer seen. */
void hl_db_wait_commit(struct hl_db *db, uint64_t seen, unsigned ms);
int hl_msg_get(struct hl_db *db, const char *id, struct hl_msg *out,
	       struct diag *d);
/* The sealed body for reader (malloc'd). ST_ENOTFOUND. */
int hl_msg_body(struct hl_db *db, const char *id, const char *reader,
		uint8_t **ct, size_t *ctlen, struct diag *d);
/* The readers the message holds bodies for, at chain levels; level of
 * each (0 recipient, 1 deputy, 2 duty). */
typedef int (*hl_msg_fn)(void *ctx, const struct hl_msg *m);
/* Messages reader may read now (a recipient, or in a chain level the
 * message has escalated to), or every message when reader is NULL;
 * oldest first. */
int hl_msg_list(struct hl_db *db, const char *reader, hl_msg_fn fn, void *ctx,
		struct diag *d);
/* The readers of message id at chain level (0, 1, 2) into out[cap]. */
int hl_msg_readers(struct hl_db *db, const char *id, int level,
		   char (*out)[HL_ADDR_MAX + 1], size_t cap, size_t *n);
/* Moves a message's state, level and deadline. */
int hl_msg_update(struct hl_db *db, const char *id, enum hl_state state,
		  int level, double deadline, struct diag *d);
/* Incoming open messages whose deadline is at or before clock. */
int hl_msg_due(struct hl_db *db, double clock, hl_msg_fn fn, void *ctx,
	       struct diag *d);
/* The chain level of reader for message id: 0, 1, 2, or -1 when it is
 * not a reader. */
int hl_msg_reader_level(struct hl_db *db, const char *id, const char *reader);

/* ---- receipts ---- */

int hl_receipt_put(struct hl_db *db, const struct hl_receipt_rec *r, bool *dup,
		   struct diag *d);
typedef int (*hl_receipt_fn)(void *ctx, const struct hl_receipt_rec *r);
int hl_receipt_list(struct hl_db *db, const char *msg, hl_receipt_fn fn,
		    void *ctx, struct diag *d);

/* ---- the outbox: what is still to reach a partner ---- */

struct hl_out {
	int64_t seq;
	char peer[HL_PEER_MAX];
	enum hl_prec prec;
	char *json; /* the document to post (malloc'd) */
};
/* Queues json for peer, to go out in precedence order. */
int hl_outbox_add(struct hl_db *db, const char *peer, enum hl_prec prec,
		  const char *json, struct diag *d);
/* The next for peer: FLASH first, then by age, leaving out the nskip
 * entries in skip (sent, not yet on the partner's disk). ST_ENOTFOUND:
 * none. */
int hl_outbox_next(struct hl_db *db, const char *peer, const int64_t *skip,
		   size_t nskip, struct hl_out *out, struct diag *d);
int hl_outbox_done(struct hl_db *db, int64_t seq, struct diag *d);
uint64_t hl_outbox_count(struct hl_db *db, const char *peer);

/* ---- events: what the UI and `hotline watch` follow ---- */

struct hl_event {
	int64_t seq;
	st_time at;
	char kind[32];		 /* message, receipt, escalated, ... */
	char msg[HL_ID_LEN + 1]; /* "" when none */
	char detail[1024];	 /* JSON */
};
int hl_event_add(struct hl_db *db, const char *kind, const char *msg,
		 const char *detail, struct diag *d);
typedef int (*hl_event_fn)(void *ctx, const struct hl_event *e);
/* The newest event's seq, 0 when none. */
int64_t hl_event_last(struct hl_db *db);
int hl_event_list(struct hl_db *db, int64_t after, size_t limit, hl_event_fn fn,
		  void *ctx, struct diag *d);

/* ---- links and profiles ---- */

struct hl_link {
	char peer[HL_PEER_MAX];
	st_time last_heard; /* last exchange that worked, either way */
	st_time down_since; /* 0 while up */
};
int hl_link_heard(struct hl_db *db, const char *peer, st_time at,
		  struct diag *d);
int hl_link_down(struct hl_db *db, const char *peer, st_time at,
		 struct diag *d);
int hl_link_get(struct hl_db *db, const char *peer, struct hl_link *out);

int hl_profile_put(struct hl_db *db, const char *peer, const char *json,
		   struct diag *d);
/* *json malloc'd; ST_ENOTFOUND when none yet. */
int hl_profile_get(struct hl_db *db, const char *peer, char **json,
		   st_time *fetched, struct diag *d);

#endif
