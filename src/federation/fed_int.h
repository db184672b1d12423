/* strait: federation internals shared by fed.c, facts.c, receive.c,
 * client.c and sender.c (private to src/federation). */
#ifndef STRAIT_FEDERATION_FED_INT_H
#define STRAIT_FEDERATION_FED_INT_H

#include "common/arena.h"
#include "common/json.h"
#include "federation/attest.h"
#include "federation/fed.h"
#include "federation/fedstate.h"
#include "federation/peers.h"
#include "policy/peer_policy.h"
#include "policy/release.h"

#include <pthread.h>
#include <stdatomic.h>

struct fed_sender;

struct fed {
	struct fed_config cfg;
	char identity[STIX_ID_MAX];
	char name[128], country[8];
	char home[4096];
	struct fedstate *state;
	struct peers *peers; /* registry: under peers_mu */
	pthread_mutex_t peers_mu;
	struct fed_sender *senders; /* changed by the supervisor, under
				       senders_mu */
	pthread_mutex_t senders_mu;
	pthread_t supervisor;
	bool supervising;
	atomic_bool stop;
	atomic_uint_fast64_t quarantined; /* since start */
	atomic_uint_fast64_t dead_letters;
	atomic_uint_fast64_t pushed; /* versions delivered */
	atomic_uint_fast64_t push_batches;
	atomic_uint_fast64_t caught_up; /* versions fetched by catch-up */
	/* our newest audit head, for the senders to publish (witness.c) */
	pthread_mutex_t head_mu;
	struct fed_witness head;
	uint64_t head_gen; /* 0: none yet */
	/* quotas: a token bucket per partner */
	pthread_mutex_t quota_mu;
	struct fed_bucket *buckets;
	size_t nbuckets;
};

/* A partner's audience: its policy, resolved against our collections. */
struct fed_partner {
	struct partner p;
	struct peer_policy pol;
	char name[PEER_NAME_MAX];
	char identity[STIX_ID_MAX];
	int64_t *allow, *deny; /* resolved collection ids */
	const char **types, **labels, **dtypes, **dlabels;
	struct audience aud;
	char hash[65]; /* SHA-256 hex of the policy text, "" for none */
};

/* Builds *out for peer from its policy text (NULL: none). identity may be
 * "" (unknown yet). ST_OK, or ST_ECONFIG with d (the stored policy no
 * longer parses: the partner then receives nothing). */
int fed_partner_build(struct store *s, const char *name, const char *identity,
		      const char *policy_text, struct fed_partner *out,
		      struct diag *d);
void fed_partner_free(struct fed_partner *p);

/* The facts of versions, read from the store and fedstate, for the release
 * engine (its source) and for the sender. */
struct fed_facts;
struct fed_facts *fed_facts_new(struct store *s, struct fedstate *fs);
void fed_facts_free(struct fed_facts *x);
/* The engine's source over these facts. */
struct release_source fed_facts_source(struct fed_facts *x);
/* The version of row as the decision sees it (valid until the next call
 * of fed_facts_row or fed_facts_reset). */
int fed_facts_row(struct fed_facts *x, const struct store_row *row,
		  struct release_version *out, struct diag *d);
/* Frees what rows and lookups kept. */
void fed_facts_reset(struct fed_facts *x);
/* Whether versions' collections are read (the default): a caller whose
 * audience does not need them (policy_needs_collections) saves a read per
 * version and per reference. */
void fed_facts_collections(struct fed_facts *x, bool needed);

/* Every reference a STIX object makes (*_ref, *_refs at any depth, but not
 * marking references), into refs (arena strings); *n gets the count. */
int fed_refs_of(const struct json_val *obj, struct arena *a, const char ***refs,
		size_t *n);

/* The partners other than peer (their identities, into out, at most cap)
 * that every version seqs[0..n) is released to as well, their deciders
 * having decided past them: we deliver those versions to them ourselves,
 * which our attestation says ("direct") so that a node relaying them
 * need not. */
#define MAX_OTHERS 64
size_t fed_direct(struct fed *f, const char *peer, const uint64_t *seqs,
		  size_t n, char (*out)[STIX_ID_MAX], size_t cap);

/* The attestations covering items (versions released to partner peer):
 * one signed now by us over our own versions and those received from feed
 * peers ("received from"), then the origin's stored attestation of each
 * relayed version, each passed to fn once. relay_green: whether the
 * partner may relay our GREEN (its policy); recipient: the partner's
 * identity, named as the RED recipient when our own RED versions are
 * among items (they were released to it because an import named it). Our
 * attestation names in "direct" the other partners we deliver all of our
 * own versions among items to ourselves (fed_direct). */
int fed_attestations(struct fed *f, const char *peer, bool relay_green,
		     const char *recipient, const struct fed_page_item *items,
		     size_t n, fed_json_fn fn, void *ctx, struct diag *d);

/* sender.c: one thread per registered peer. */
int fed_senders_start(struct fed *f, struct diag *d);
void fed_senders_stop(struct fed *f);

/*
 * The provenance facts of a stored version into f (foreign, origin,
 * relay_green, red_identities), pointing into *p and into red (room for
 * FED_MAX_RED). *p is zeroed or filled: fed_prov_free it after. ST_OK, or
 * the error reading the provenance. Every reader of a version's facts
 * (the decision, the decider's shortcut) takes them from here.
 */
int fed_facts_provenance(struct fedstate *fs, const struct store_row *row,
			 struct release_facts *f, struct fed_prov *p,
			 const char **red);
/*
 * The provenance of a stored version: the record kept in its row (prov,
 * prov_len: store_row.prov), as every version received since the store
 * kept them has. Else from fedstate, where a version released from
 * quarantine has it: by its version key; for a received copy
 * (STORE_F_FOREIGN) of an object STIX does not version (an SCO, a marking
 * definition: our store assigned its version key), by the hash of its
 * bytes (fed_copy_key). ST_ENOTFOUND for our own versions (those not
 * marked STORE_F_FOREIGN), without a lookup.
 */
int fed_prov_of(struct fedstate *fs, const char *id, st_time version,
		uint8_t flags, const char *body, size_t len, const void *prov,
		size_t prov_len, struct fed_prov *out);
/* The key of an unversioned copy's record: from the SHA-256 of its bytes,
 * negative, so never a real version key. */
st_time fed_copy_key(const uint8_t sha[32]);

#endif
