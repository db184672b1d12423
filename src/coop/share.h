/*
 * strait: a joint incident's entries between participants.
 */
#ifndef STRAIT_COOP_SHARE_H
#define STRAIT_COOP_SHARE_H

#include "coop/incident.h"

struct store;
struct hl_db;

struct inc_share_cfg {
	const char *home;
	const char *identity; /* ours */
	struct store *store;  /* the release decision of linked objects */
	struct hl_db *hl;     /* the hotline's outbox */
};

/*
 * Queues entry e (already kept here) for every other participant of its
 * incident, over the hotline link; a link's object only to those the
 * release decision gives it (the others get the entry without it).
 * *sent: partners queued; missing (may be NULL) gets the participants
 * that are not registered partners here.
 */
int inc_share(const struct inc_share_cfg *c, struct inc_db *db,
	      const struct inc_entry *e, size_t *sent, char *missing,
	      size_t cap, struct diag *d);

/*
 * An entry relayed by a partner (its node identity peer_id): kept when
 * its author is of that node and both nodes take part in the incident.
 * ST_EINVAL (refused for good) naming why.
 */
struct json_val;
int inc_receive(struct inc_db *db, const char *identity, const char *peer_id,
		const struct json_val *root, struct inc_entry *out, bool *dup,
		struct diag *d);

#endif
