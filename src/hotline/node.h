/*
 * strait: what `strait serve` runs for the hotline.
 *
 *  - One link thread per registered partner, on its own connection (never
 *    behind the federation's bulk pushes): it posts the outbox in
 *    precedence order (FLASH first) to the partner's
 *    /api/v1/hotline/relay/, deletes each entry once the partner answered
 *    that it is on its disk, sends a heartbeat when idle, and fetches the
 *    partner's contact profile (principals and their keys) every 30 s.
 *    Unreachable: entries wait in hotline.db, nothing is lost; a replayed
 *    entry is recognised by its id and not stored twice.
 *  - A supervisor that starts and ends link threads as partners are added
 *    and removed, notices what the CLI wrote (hotline.db's data_version),
 *    and counts deadlines: an incoming message not acknowledged by the
 *    hotline clock's deadline (from its receipt here, never the sender's
 *    time) escalates to the recipients' deputies, then to the duty
 *    officers; each step runs the operator's hook and is reported to the
 *    sender's node.
 *  - hl_node_receive: what a partner relays (messages, receipts, notices,
 *    heartbeats), checked before it is kept.
 */
#ifndef STRAIT_HOTLINE_NODE_H
#define STRAIT_HOTLINE_NODE_H

#include "common/buf.h"
#include "common/uuid.h"
#include "hotline/hotline.h"

#include <stdbool.h>

struct fed;
struct json_val;

struct hl_node_cfg {
	const char *home;
	const char *identity; /* our node's identity id */
	const char *name, *country;
	struct fed *fed; /* partners' identities */
	/* The hotline clock in seconds (NULL: CLOCK_BOOTTIME, which goes on
	 * across restarts of the process). */
	double (*clock)(void *ctx);
	void *clock_ctx;
	unsigned deadline_s[4];	  /* by precedence; 0: the defaults */
	const char *hook;	  /* shell command run on escalation, or NULL */
	unsigned flash_per_min;	  /* per sending principal (0: 30) */
	unsigned profile_every_s; /* partners' profiles fetched (0: 30) */
	/* Other kinds a partner relays over the link (joint incidents):
	 * handed to this callback with the parsed document (may be NULL:
	 * they are refused). Its result is the relay's. */
	int (*other)(void *ctx, const char *peer, const char *peer_id,
		     const struct json_val *root, struct diag *d);
	void *other_ctx;
	/* The audit log (may be NULL). */
	int (*audit)(void *ctx, const char *kind, const char *actor,
		     const char *detail, bool wait);
	void *audit_ctx;
};

struct hl_node;

int hl_node_start(const struct hl_node_cfg *cfg, struct hl_node **out,
		  struct diag *d);
void hl_node_stop(struct hl_node *n);
/* Something new in the outbox: the links look now. */
void hl_node_wake(struct hl_node *n);
struct hl_db *hl_node_db(struct hl_node *n);
double hl_node_clock(struct hl_node *n);

/* What a partner's link may drop from its outbox (docs/HOTLINE.md, "When
 * a message counts as kept"): an entry answered with gen > 0 once an
 * answer with the same boot reports durable >= gen; one answered with gen
 * 0 at once. Another boot means this node started again and may have lost
 * what it had committed but not synced: those entries are sent again
 * (replays are dropped by id). */
struct hl_ack {
	char boot[UUID_STRLEN + 1]; /* this start of the node */
	uint64_t gen;	  /* the message's commit; 0: on disk already */
	uint64_t durable; /* commits of this start on disk so far */
};
/* A partner's relay POST (body: one JSON document). ST_OK when kept or
 * already held (a replay), with *ack; ST_EINVAL with d when refused for
 * good (the partner must not retry); ST_ELIMIT when FLASH comes faster
 * than allowed (retry later); another error when it could not be kept. */
int hl_node_receive(struct hl_node *n, const char *peer, const char *body,
		    size_t len, struct hl_ack *ack, struct diag *d);

/* Our contact profile as JSON: the node, the team (contacts.yaml in the
 * home, if any) and our principals with their public keys, fingerprints
 * and chains. */
int hl_node_profile_json(struct hl_node *n, struct buf *out, struct diag *d);
/* The same, from a home (the CLI): identity, name, country given. */
int hl_profile_json(const char *home, struct hl_db *db, const char *identity,
		    const char *name, const char *country, struct buf *out,
		    struct diag *d);

#endif
