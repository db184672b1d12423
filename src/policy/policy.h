/* strait: the release decision, the one function every way out obeys. */
#ifndef STRAIT_POLICY_POLICY_H
#define STRAIT_POLICY_POLICY_H

#include "stix/stix.h"

#include <stdbool.h>
#include <stdint.h>

/*
 * Whether an object version may go to an audience is decided here and
 * nowhere else: TAXII reads, streams, exports made for someone and partner
 * nodes all ask policy_may_release(). Accounts of this node, of our own
 * organisation or of others, are decided by role and TLP; a partner node
 * by its sharing policy and the version's provenance (docs/POLICY.md has
 * both tables). This decides one version on its own facts: the rule over
 * the objects it references is release_decide() (release.h).
 */

enum role {
	ROLE_ADMIN,
	ROLE_ANALYST,
	ROLE_READER,
	ROLE_PEER,    /* a partner node's account */
	ROLE_LIAISON, /* a partner's officer working in our node */
	ROLE_AUDITOR,
	ROLE_METRICS,	/* a metrics scraper: /metrics and health only,
			no object, no collection */
	ROLE_PRINCIPAL, /* a hotline principal (src/hotline): reads like a
			   reader where granted */
	ROLE__COUNT,
};

/* "admin", "analyst", ...; NULL for an out-of-range value. */
const char *role_name(enum role r);
/* ST_OK or ST_EINVAL. */
int role_parse(const char *s, enum role *out);

/*
 * A partner node as an audience: what its sharing policy admits, with the
 * policy's collection names resolved to this node's collection ids (an
 * allowed or denied name that names no collection here counts for
 * nothing). Borrowed by struct audience.
 */
struct partner {
	const char *name;      /* the peer's name here, for messages */
	const char *identity;  /* its node's identity id ("identity--..."), or
				 NULL when not known yet: then nothing RED */
	bool has_policy;       /* false: the partner receives nothing */
	bool tlp[TLP_RED + 1]; /* levels granted (RED: still only when the
				  origin names the partner) */
	bool all_collections, all_types, all_labels; /* "*" */
	const int64_t *collections; /* allowed collection ids */
	size_t n_collections;
	const char *const *types; /* allowed STIX types */
	size_t n_types;
	const char *const *labels; /* allowed labels */
	size_t n_labels;
	const int64_t *deny_collections;
	size_t n_deny_collections;
	bool deny_all_collections; /* deny: collections: ["*"] */
	const char *const *deny_types;
	size_t n_deny_types;
	const char *const *deny_labels;
	size_t n_deny_labels;
};

/* Who would receive the version. */
struct audience {
	int64_t account_id; /* > 0 for an account */
	enum role role;
	bool own_org; /* the account belongs to the node's organisation */
	/* Set for a partner node (push, catch-up served to it, its peer
	 * account, a liaison officer of that partner, an export made for
	 * it): then only the partner rules apply, whatever role says. */
	const struct partner *partner;
};

/* What the decision needs to know about one version (from the store). */
struct release_facts {
	uint8_t tlp;   /* enum tlp, after the import's default was applied */
	uint8_t flags; /* STORE_F_* of the version */
	/* Accounts named as recipients of a TLP:RED version. */
	const int64_t *red_recipients;
	uint32_t n_red_recipients;
	/* --- for partner audiences (ignored for local accounts) --- */
	const char *type;	   /* STIX type of the object */
	const char *const *labels; /* its "labels" */
	size_t n_labels;
	const int64_t *cids; /* collections the version is a member of */
	size_t n_cids;
	/* Provenance: foreign when another node is the origin (we received
	 * it, attested by that origin or "received from" a feed peer). */
	bool foreign;
	const char *origin; /* origin node identity when foreign, or NULL */
	bool relay_green;   /* the origin allowed relaying its GREEN */
	/* Identities named as RED recipients: by the origin's attestation
	 * when foreign, by this node when it is ours. */
	const char *const *red_identities;
	size_t n_red_identities;
};

enum release_why {
	RELEASE_OK,
	RELEASE_DENY_UNKNOWN_MARKING, /* a marking strait does not understand */
	RELEASE_DENY_ROLE,	      /* the role may not read this level */
	RELEASE_DENY_STRICT,   /* AMBER+STRICT outside our organisation */
	RELEASE_DENY_RED,      /* RED, and not a named recipient */
	RELEASE_DENY_TLP_NONE, /* no marking and no default recorded */
	/* partner audiences */
	RELEASE_DENY_NO_POLICY,	 /* the partner has no sharing policy */
	RELEASE_DENY_PEER_TLP,	 /* the policy does not grant this level */
	RELEASE_DENY_COLLECTION, /* no allowed collection, or a denied one */
	RELEASE_DENY_TYPE,	 /* type not allowed, or denied */
	RELEASE_DENY_LABEL,	 /* a denied label, or none allowed */
	RELEASE_DENY_RELAY,	 /* foreign AMBER/AMBER+STRICT, foreign GREEN
				    without relay permission */
	RELEASE_DENY_ORIGIN,	 /* back to the node that made it */
	RELEASE_DENY_REFERENCE,	 /* references a held object the audience
				    may not receive (release.h) */
	RELEASE_DENY_DEPTH,	 /* references nested too deeply to decide */
};

/* "released", "unknown marking", ...: for audit logs, never for clients
 * (a denial must not reveal that something exists). */
const char *release_why_name(enum release_why w);

/*
 * The decision. Pure: the same inputs always give the same answer, so
 * answers may be cached or materialised (the property test compares any
 * such table with this function).
 */
enum release_why policy_decide(const struct audience *a,
			       const struct release_facts *f);

/*
 * The rules of policy_decide that read only tlp, flags and the provenance
 * fields of f (foreign, origin, relay_green, red_identities and, for local
 * audiences, red_recipients): when this withholds, policy_decide withholds
 * for the same reason, whatever the other facts. RELEASE_OK means "the
 * rest decides". Lets a caller skip reading a version (its type, labels,
 * collections, references) that its marking alone keeps from an audience.
 */
/*
 * Whether policy_decide's answer for a can depend on the collections a
 * version is in (release_facts.cids): false when the audience is not a
 * partner, or its policy allows every collection and denies none, or
 * denies them all. A caller may then leave cids empty, for the version
 * decided and for what it references.
 */
bool policy_needs_collections(const struct audience *a);

enum release_why policy_decide_marking(const struct audience *a,
				       const struct release_facts *f);

static inline bool policy_may_release(const struct audience *a,
				      const struct release_facts *f)
{
	return policy_decide(a, f) == RELEASE_OK;
}

/*
 * The most restrictive TLP level (enum tlp, CLEAR..AMBER+STRICT) a role
 * reads, RED aside (named recipients only); -1 when the role reads nothing
 * by role: peer and liaison accounts see exactly their partner's view (the
 * caller sets audience.partner, and the partner rules decide), and
 * nothing when no partner is bound.
 */
int policy_role_ceiling(enum role r, bool own_org);

#endif
