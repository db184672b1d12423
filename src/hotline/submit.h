/*
 * strait: what a principal of this node hands in, checked, kept and
 * queued for the partners (shared by `strait hotline` and the API).
 */
#ifndef STRAIT_HOTLINE_SUBMIT_H
#define STRAIT_HOTLINE_SUBMIT_H

#include "hotline/hotline.h"

/*
 * A message signed by one of our principals (identity: our node's), with
 * the bodies sealed for its readers: every recipient a partner's principal
 * whose key is confirmed, every reader too, the signature the sender's.
 * Kept as sent and queued for each partner with the bodies of its readers
 * (*queued: how many partners). Every STIX id the header refers to must
 * be one the release decision gives each recipient's node (a reference is
 * a disclosure; the signature keeps the node from taking it out): store
 * and home are for that decision. ST_EINVAL naming what is wrong,
 * ST_EEXIST for an id already sent. Returns once the message is on disk;
 * committed (when not NULL) is called before that, as soon as the message
 * and its outbox entries are committed, so that the links can take them
 * while the disk works.
 */
struct store;
int hl_submit(struct hl_db *db, struct store *st, const char *home,
	      const char *identity, const struct hl_header *h,
	      const uint8_t *sig, const struct hl_reader *rd, size_t n,
	      void (*committed)(void *ctx), void *ctx, size_t *queued,
	      struct diag *d);

/*
 * A receipt signed by one of our principals for a message it may read now
 * (a recipient, or reached by the escalation): kept, an acknowledgement
 * stops the escalation, and it is queued for the sender's node. A receipt
 * already held is a no-op.
 */
int hl_receipt_submit(struct hl_db *db, const char *identity,
		      const struct hl_receipt_rec *r, struct diag *d);

#endif
