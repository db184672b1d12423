#include "policy/policy.h"

#include "common/err.h"
#include "store/store.h"

#include <string.h>

static const char *const role_names[ROLE__COUNT] = {
    [ROLE_ADMIN] = "admin",	[ROLE_ANALYST] = "analyst",
    [ROLE_READER] = "reader",	[ROLE_PEER] = "peer",
    [ROLE_LIAISON] = "liaison", [ROLE_AUDITOR] = "auditor",
    [ROLE_METRICS] = "metrics",
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

enum release_why policy_decide(const struct audience *a,
			       const struct release_facts *f)
{
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
