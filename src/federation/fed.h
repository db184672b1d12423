/*
 * strait: federation at run time, inside `strait serve` (docs/FEDERATION.md).
 *
 * One sender thread per partner reads our log after its cursors, decides
 * what the partner may receive (the release decision, materialised in
 * fedstate), and delivers it with attestations as TAXII Add Objects to the
 * partner's writable collection, waiting for the partner's durable 202. The
 * same thread catches up from the partner (TAXII added_after/next, every
 * version) on start, after an outage, and periodically for feed peers.
 *
 * What a partner sends (pushed to our TAXII API by its peer account, or
 * fetched by catch-up) goes through fed_receive: attestations verified,
 * each object checked against them and against the arrival rules, then
 * provenance recorded and the objects stored; whatever fails a rule is
 * quarantined, never applied.
 */
#ifndef STRAIT_FEDERATION_FED_H
#define STRAIT_FEDERATION_FED_H

#include "common/buf.h"
#include "common/err.h"
#include "common/time.h"
#include "policy/policy.h"
#include "policy/release.h"
#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fed;
struct fedstate;
struct nodekeys;

struct fed_config {
	const char *home;	    /* peers.db, keys/ */
	struct store *store;	    /* borrowed */
	struct nodekeys *keys;	    /* borrowed: our signing keys */
	const char *identity;	    /* our node's identity id */
	const char *name, *country; /* for GET /api/v1/node */
	enum tlp default_tlp;	    /* node default for unmarked objects */
	bool senders;		    /* start the sender threads */
	/* Limits of the client (0: defaults). */
	size_t max_response;	  /* bytes of one response (64 MiB) */
	unsigned batch_objects;	  /* objects per push (1000) */
	unsigned catchup_every_s; /* feed peers are polled this often (30) */
	unsigned timeout_ms;	  /* per request (30000) */
	/* What partners may write (0: no limit): free space kept on the
	 * home's file system, and objects per partner per minute. */
	uint64_t disk_reserve_mb;
	uint64_t peer_objects_per_min;
	/* The audit log (NULL: nothing recorded). A push taken by a partner
	 * is recorded ("release", queued), and so is each decided stretch
	 * with versions withheld ("release.decide"); while audit_ok says the
	 * log cannot be written, no batch is posted (fail closed: the
	 * senders wait and retry). */
	int (*audit)(void *ctx, const char *kind, const char *actor,
		     const char *detail, bool wait);
	bool (*audit_ok)(void *ctx);
	void *audit_ctx;
};

/* ---- audit witnesses ---- */

struct fed_witness; /* fedstate.h */
struct json_val;
struct jw;
/* Hands our newest signed audit head to every sender, which publishes it
 * to its partner (POST /api/v1/audit/witness/; a partner that is a plain
 * TAXII server answers 404 and is not asked again until it reconnects). */
void fed_publish_head(struct fed *f, const struct fed_witness *h);
/* A head as JSON, the form partners exchange:
 * {"seq":N,"hash":HEX64,"at":TIMESTAMP,"key_id":HEX16,"sig":HEX128}. */
void fed_witness_json(struct jw *w, const struct fed_witness *h);
/* The key a registered peer is known by here. ST_ENOTFOUND otherwise. */
int fed_peer_key(struct fed *f, const char *peer, uint8_t pk[32],
		 char key_id[17]);
/* Reads that form back, every field checked. ST_OK or ST_EINVAL naming
 * the field. */
int fed_witness_parse(const struct json_val *v, struct fed_witness *out,
		      struct diag *d);
/* The heads of our audit log that peer keeps for us: GET
 * /api/v1/audit/witness/ on the partner, with the token held for it.
 * *out is malloc'd (the caller frees). ST_ENOTFOUND: no such peer;
 * ST_EIO: the partner could not be asked, with d saying why. */
int fed_witness_fetch(const char *home, const char *peer,
		      struct fed_witness **out, size_t *n, struct diag *d);

/* ---- a connection to a partner for other modules (the hotline) ---- */

struct fed_link;
/* Opens a connection to a registered peer with the token held for it
 * (the same TLS settings and pins as its sender). ST_ENOTFOUND: no such
 * peer. */
int fed_link_open(const char *home, const char *peer, unsigned timeout_ms,
		  struct fed_link **out, struct diag *d);
void fed_link_close(struct fed_link *l);
/* One request to path (e.g. "/api/v1/hotline/relay/") on the peer's
 * origin; body NULL for GET. The answer's body goes to resp (reset
 * first, capped by its max). ST_OK with *status for any HTTP answer. */
int fed_link_call(struct fed_link *l, const char *method, const char *path,
		  const char *body, size_t len, long *status, struct buf *resp,
		  struct diag *d);
/* The registered peer whose node identity (as its sender learnt it) is
 * identity, from a home (the CLI). ST_ENOTFOUND. */
int fed_peer_by_identity(const char *home, const char *identity, char *out,
			 size_t cap);
/* Whether the release decision gives peer the latest version of object
 * id held here (fed_decider_decide over it); an object not held discloses
 * nothing new and goes. For what refers to objects on its way out: a
 * joint incident's link, a hotline message's STIX ids. */
bool fed_released_to(struct store *st, const char *home, const char *peer,
		     const char *id);
/* A registered peer's node identity as learnt by its sender ("" when
 * not known yet). */
int fed_peer_identity(struct fed *f, const char *peer, char *out, size_t cap);

/* Opens the federation state; starts the senders when cfg->senders. */
int fed_new(const struct fed_config *cfg, struct fed **out, struct diag *d);
/* Stops the senders (finishing nothing half-way: cursors only move after
 * a partner's 202), closes. NULL is a no-op. */
void fed_free(struct fed *f);

/* A partner's account was authenticated here (any request): our sender
 * for it, if it is backing off after failures, tries again at once (the
 * partner is evidently up). Any thread; unknown names are ignored. */
void fed_peer_contact(struct fed *f, const char *peer);
/* A partner pushed to us: while its pushes arrive, our catch-up from it
 * waits (both would bring the same versions). Any thread. */
void fed_peer_pushed(struct fed *f, const char *peer);

struct fedstate *fed_state(struct fed *f);

/*
 * Whether peer may write n objects now: ST_OK; ST_ELIMIT when its quota
 * is spent (the caller answers 429), ST_EIO when the disk is down to its
 * reserve (503), with *retry_s and d saying why. Local work and the audit
 * never go through this.
 */
int fed_admit(struct fed *f, const char *peer, size_t n, unsigned *retry_s,
	      struct diag *d);

/* One object of a TAXII envelope, as received. */
struct fed_elem {
	const char *json;
	size_t len;
};

/* What became of one received object (for the TAXII status). */
enum fed_outcome {
	FED_STORED,
	FED_DUPLICATE,
	FED_QUARANTINED,
	FED_REJECTED,	 /* not valid STIX: not kept (the sender is told why) */
	FED_FAILED,	 /* the store failed */
	FED_ATTESTATION, /* an attestation: verified and kept, not stored */
};

struct fed_result {
	enum fed_outcome outcome;
	char id[STIX_ID_MAX];
	char version[TS_BUFSZ];
	char msg[256];
};

/*
 * Receives the objects of one envelope from peer (its name here), into
 * our collection cid. peer_date is the partner's HTTP Date (0 when
 * absent: our clock), against which "modified in the future" is judged
 * (never a later clock than ours: a partner cannot widen the window).
 * results[0..n) gets one outcome per element. ST_OK unless the store or
 * fedstate failed as a whole (then nothing more is certain: the sender
 * retries). ST_ENOTFOUND when peer is not a registered peer.
 */
int fed_receive(struct fed *f, const char *peer, st_time peer_date, int64_t cid,
		const struct fed_elem *elems, size_t n,
		struct fed_result *results, struct diag *d);

/* The audience of a partner (its policy resolved against our
 * collections), for TAXII reads by its account and `policy explain`:
 * whether row was released to it (the materialised decision). */
bool fed_peer_visible(struct fed *f, const char *peer,
		      const struct store_row *row);

/* Waits until peer's sender has decided our log up to seq (or timeout_ms
 * passed): streams by the partner's account scan only decided rows. */
void fed_wait_decided(struct fed *f, const char *peer, uint64_t seq,
		      unsigned timeout_ms);

/*
 * The attestations that must travel beside rows released to peer in one
 * TAXII page (catch-up served to a strait partner): one signed now by
 * us over our own versions and feed-received ones, and the stored ones of
 * relayed versions. fn gets each attestation's JSON once.
 */
struct fed_page_item {
	uint64_t seq;
	const char *id;
	st_time version;
	const char *body;
	size_t body_len;
	uint8_t flags;	  /* STORE_F_* of the version */
	uint8_t tlp;	  /* enum tlp of the version */
	const void *prov; /* store_row.prov */
	size_t prov_len;
};
typedef int (*fed_json_fn)(void *ctx, const char *json, size_t len);
int fed_page_attestations(struct fed *f, const char *peer,
			  const struct fed_page_item *items, size_t n,
			  fed_json_fn fn, void *ctx, struct diag *d);
/* Records a release to peer on a path other than push ("taxii",
 * "stream"). */
void fed_record_release(struct fed *f, const char *peer, const char *path,
			const struct fed_page_item *items, size_t n);

/*
 * The release decision for one partner outside `strait serve` (exports
 * made for a partner, `strait policy explain`): the same engine and facts
 * as the sender, over the store and <home>/peers.db. ST_ENOTFOUND when
 * no peer has that name.
 */
struct fed_decider;
int fed_decider_new(struct store *s, const char *home, const char *peer,
		    struct fed_decider **out, struct diag *d);
void fed_decider_free(struct fed_decider *x);
/* The decision for a stored version (read outside any store callback:
 * the references are looked up in the store). */
enum release_why fed_decider_decide(struct fed_decider *x,
				    const struct store_row *row,
				    struct release_explain *why);
/* Whether the partner's identity is known yet (RED needs it). */
bool fed_decider_knows_identity(const struct fed_decider *x);

/* GET /api/v1/node: our identity and public keys (JSON object). */
int fed_node_json(struct fed *f, struct buf *out);
/* GET /api/v1/peers: per-peer state (JSON array; never tokens). */
int fed_peers_json(struct fed *f, struct buf *out);
/* Prometheus lines for /metrics. */
int fed_metrics(struct fed *f, struct buf *out);

#endif
