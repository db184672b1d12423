#include "policy/policy.h"

#include "common/err.h"
#include "store/store.h"

#include <string.h>

static const char *const role_names[ROLE__COUNT] = {
    [ROLE_ADMIN] = "admin",	[ROLE_ANALYST] = "analyst",
    [ROLE_READER] = "reader",	[ROLE_PEER] = "peer",
    [ROLE_LIAISON] = "liaison", [ROLE_AUDITOR] = "auditor",
    [ROLE_METRICS] = "metrics", [ROLE_PRINCIPAL] = "principal",
};

/*
 * The role table: the most restrictive level each role reads, for accounts
 * of our organisation and of others. AMBER+STRICT never leaves our
 * organisation; AMBER reaches another organisation's accounts only where
 * the role has need to know (analysts and admins); readers and auditors of
 * other organisations get the community levels.
 */
static const int ceiling[ROLE__COUNT][2] = {
    /*                 other org      own org */
    [ROLE_ADMIN] = {TLP_AMBER, TLP_AMBER_STRICT},
    [ROLE_ANALYST] = {TLP_AMBER, TLP_AMBER_STRICT},
    [ROLE_READER] = {TLP_GREEN, TLP_AMBER_STRICT},
    [ROLE_AUDITOR] = {TLP_GREEN, TLP_AMBER_STRICT},
    [ROLE_PEER] = {-1, -1},
    [ROLE_LIAISON] = {-1, -1},
    [ROLE_METRICS] = {-1, -1},
    [ROLE_PRINCIPAL] = {TLP_GREEN, TLP_AMBER_STRICT},
};

const char *role_name(enum role r)
{
	if ((unsigned)r >= ROLE__COUNT)
		return NULL;
	return role_names[r];
}

int role_parse(const char *s, enum role *out)
{
	for (int r = 0; r < ROLE__COUNT; r++) {
		if (strcmp(s, role_names[r]) == 0) {
			*out = (enum role)r;
			return ST_OK;
		}
	}
	return ST_EINVAL;
}

int policy_role_ceiling(enum role r, bool own_org)
{
	if ((unsigned)r >= ROLE__COUNT)
		return -1;
	return ceiling[r][own_org ? 1 : 0];
}

const char *release_why_name(enum release_why w)
{
	switch (w) {
	case RELEASE_OK:
		return "released";
	case RELEASE_DENY_UNKNOWN_MARKING:
		return "unknown marking";
	case RELEASE_DENY_ROLE:
		return "role may not read this level";
	case RELEASE_DENY_STRICT:
		return "TLP:AMBER+STRICT outside our organisation";
	case RELEASE_DENY_RED:
		return "TLP:RED and not a named recipient";
	case RELEASE_DENY_TLP_NONE:
		return "no marking recorded";
	case RELEASE_DENY_NO_POLICY:
		return "the partner has no sharing policy";
	case RELEASE_DENY_PEER_TLP:
		return "the partner's policy does not grant this TLP level";
	case RELEASE_DENY_COLLECTION:
		return "not in a collection the policy allows";
	case RELEASE_DENY_TYPE:
		return "a type the policy does not allow";
	case RELEASE_DENY_LABEL:
		return "no label the policy allows, or a denied label";
	case RELEASE_DENY_RELAY:
		return "another node's TLP:AMBER, AMBER+STRICT or RED, or its "
		       "GREEN without relay permission";
	case RELEASE_DENY_ORIGIN:
		return "back to the node that made it";
	case RELEASE_DENY_REFERENCE:
		return "references an object the audience may not receive";
	case RELEASE_DENY_DEPTH:
		return "references nested too deeply to decide";
	}
	return "?";
}

static bool named(const struct audience *a, const struct release_facts *f)
{
	if (a->account_id <= 0)
		return false;
	for (uint32_t i = 0; i < f->n_red_recipients; i++)
		if (f->red_recipients[i] == a->account_id)
			return true;
	return false;
}

/* RED recipients are named exactly: no "*" there. */
static bool has_name_exact(const char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (names[i] != NULL && strcmp(names[i], name) == 0)
			return true;
	return false;
}

static bool has_id(const int64_t *ids, size_t n, int64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

/* Whether a list of names holds "*", which stands for every name as in
 * the policy file (so a converter may pass a denied "*" through: struct
 * partner has flags only for the allowed "*"). */
static bool has_star(const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (names[i] != NULL && strcmp(names[i], "*") == 0)
			return true;
	return false;
}

/* Whether a list of names holds name, or "*". A NULL name (not known) is
 * held only by "*". */
static bool has_name(const char *const *names, size_t n, const char *name)
{
	if (has_star(names, n))
		return true;
	return name != NULL && has_name_exact(names, n, name);
}

static enum release_why collections_rule(const struct partner *p,
					 const struct release_facts *f)
{
	bool allowed = p->all_collections;
	if (p->deny_all_collections)
		return RELEASE_DENY_COLLECTION; /* deny wins, "*" is all */
	for (size_t i = 0; i < f->n_cids; i++) {
		if (has_id(p->deny_collections, p->n_deny_collections,
			   f->cids[i]))
			return RELEASE_DENY_COLLECTION;
		if (has_id(p->collections, p->n_collections, f->cids[i]))
			allowed = true;
	}
	return allowed ? RELEASE_OK : RELEASE_DENY_COLLECTION;
}

static enum release_why types_rule(const struct partner *p,
				   const struct release_facts *f)
{
	if (has_name(p->deny_types, p->n_deny_types, f->type))
		return RELEASE_DENY_TYPE;
	/* An object whose type we were not told is allowed only by "*". */
	if (p->all_types || has_name(p->types, p->n_types, f->type))
		return RELEASE_OK;
	return RELEASE_DENY_TYPE;
}

static enum release_why labels_rule(const struct partner *p,
				    const struct release_facts *f)
{
	bool allowed = p->all_labels || has_star(p->labels, p->n_labels);
	for (size_t i = 0; i < f->n_labels; i++) {
		if (f->labels[i] == NULL)
			continue;
		if (has_name(p->deny_labels, p->n_deny_labels, f->labels[i]))
			return RELEASE_DENY_LABEL;
		if (has_name(p->labels, p->n_labels, f->labels[i]))
			allowed = true;
	}
	/* With a list of allowed labels, an object without labels has none
	 * of them. */
	return allowed ? RELEASE_OK : RELEASE_DENY_LABEL;
}

/*
 * A partner node (docs/POLICY.md, "Partner nodes"): the first rule that
 * matches decides, in the documented order. Provenance comes before the
 * partner's grants: what we may not relay, or may not send back to its
 * origin, stays home whatever the policy admits.
 */
/* The partner rules that read only the marking and the provenance. */
static enum release_why partner_marking(const struct partner *p,
					const struct release_facts *f)
{
	if (!p->has_policy)
		return RELEASE_DENY_NO_POLICY;
	if (f->flags & STORE_F_UNKNOWN_MARKING)
		return RELEASE_DENY_UNKNOWN_MARKING;
	if (f->tlp > TLP_RED)
		return RELEASE_DENY_TLP_NONE;
	if (f->foreign && f->origin != NULL && p->identity != NULL &&
	    strcmp(f->origin, p->identity) == 0)
		return RELEASE_DENY_ORIGIN;
	if (f->foreign) {
		/* Only the community levels travel on, GREEN only when the
		 * origin allowed it; RED is never relayed. */
		if (f->tlp >= TLP_AMBER)
			return RELEASE_DENY_RELAY;
		if (f->tlp == TLP_GREEN && !f->relay_green)
			return RELEASE_DENY_RELAY;
	}
	if (f->tlp == TLP_RED &&
	    (p->identity == NULL ||
	     !has_name_exact(f->red_identities, f->n_red_identities,
			     p->identity)))
		return RELEASE_DENY_RED;
	if (!p->tlp[f->tlp])
		return RELEASE_DENY_PEER_TLP;
	return RELEASE_OK;
}

static enum release_why partner_decide(const struct partner *p,
				       const struct release_facts *f)
{
	enum release_why r = partner_marking(p, f);
	if (r != RELEASE_OK)
		return r;
	if ((r = collections_rule(p, f)) != RELEASE_OK)
		return r;
	if ((r = types_rule(p, f)) != RELEASE_OK)
		return r;
	return labels_rule(p, f);
}

bool policy_needs_collections(const struct audience *a)
{
	const struct partner *p = a->partner;
	return p != NULL && p->has_policy && !p->deny_all_collections &&
	       !(p->all_collections && p->n_deny_collections == 0);
}

enum release_why policy_decide_marking(const struct audience *a,
				       const struct release_facts *f)
{
	return a->partner != NULL ? partner_marking(a->partner, f)
				  : policy_decide(a, f);
}

enum release_why policy_decide(const struct audience *a,
			       const struct release_facts *f)
{
	if (a->partner != NULL)
		return partner_decide(a->partner, f);
	/* A marking we do not understand is released only to our own
	 * administrators, and then only if the TLP rules allow it too: with
	 * several markings the most restrictive wins. */
	if (f->flags & STORE_F_UNKNOWN_MARKING) {
		if (a->role != ROLE_ADMIN || !a->own_org)
			return RELEASE_DENY_UNKNOWN_MARKING;
		if (f->tlp == TLP_NONE)
			return RELEASE_OK; /* no TLP marking beside it */
	}
	if (f->tlp == TLP_RED)
		return named(a, f) ? RELEASE_OK : RELEASE_DENY_RED;
	if (f->tlp > TLP_AMBER_STRICT)
		return RELEASE_DENY_TLP_NONE;
	if (f->tlp == TLP_AMBER_STRICT && !a->own_org)
		return RELEASE_DENY_STRICT;
	if ((int)f->tlp > policy_role_ceiling(a->role, a->own_org))
		return RELEASE_DENY_ROLE;
	return RELEASE_OK;
}
