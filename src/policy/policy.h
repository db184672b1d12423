/* strait: the release decision, the one function every way out obeys. */
#ifndef STRAIT_POLICY_POLICY_H
#define STRAIT_POLICY_POLICY_H

#include "stix/stix.h"

#include <stdbool.h>
#include <stdint.h>

/*
 * Whether an object version may go to an audience is decided here and
 * nowhere else: TAXII reads, streams, exports made for someone, and (with
 * the federation work) partner nodes all ask policy_may_release(). What
 * this version covers: accounts of this node, of our own organisation or
 * of others, by role and TLP (docs/POLICY.md has the table).
 */

enum role {
	ROLE_ADMIN,
	ROLE_ANALYST,
	ROLE_READER,
	ROLE_PEER,    /* a partner node's account */
	ROLE_LIAISON, /* a partner's officer working in our node */
	ROLE_AUDITOR,
	ROLE_METRICS, /* a metrics scraper: /metrics and health only,
			no object, no collection */
	ROLE__COUNT,
};

/* "admin", "analyst", ...; NULL for an out-of-range value. */
const char *role_name(enum role r);
/* ST_OK or ST_EINVAL. */
int role_parse(const char *s, enum role *out);

/* Who would receive the version. */
struct audience {
	int64_t account_id; /* > 0 for an account */
	enum role role;
	bool own_org; /* the account belongs to the node's organisation */
};

/* What the decision needs to know about one version (from the store). */
struct release_facts {
	uint8_t tlp;   /* enum tlp, after the import's default was applied */
	uint8_t flags; /* STORE_F_* of the version */
	/* Accounts named as recipients of a TLP:RED version. */
	const int64_t *red_recipients;
	uint32_t n_red_recipients;
};

enum release_why {
	RELEASE_OK,
	RELEASE_DENY_UNKNOWN_MARKING, /* a marking strait does not understand */
	RELEASE_DENY_ROLE,	      /* the role may not read this level */
	RELEASE_DENY_STRICT,   /* AMBER+STRICT outside our organisation */
	RELEASE_DENY_RED,      /* RED, and not a named recipient */
	RELEASE_DENY_TLP_NONE, /* no marking and no default recorded */
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

static inline bool policy_may_release(const struct audience *a,
				      const struct release_facts *f)
{
	return policy_decide(a, f) == RELEASE_OK;
}

/*
 * The most restrictive TLP level (enum tlp, CLEAR..AMBER+STRICT) a role
 * reads, RED aside (named recipients only); -1 when the role reads nothing
 * through this decision: peer and liaison accounts see exactly a partner's
 * view, which the partner's sharing policy (federation) defines, and until
 * then they see nothing.
 */
int policy_role_ceiling(enum role r, bool own_org);

#endif
