/*
 * strait: the release decision over references. policy_decide() (policy.h)
 * decides one version on its own facts; release_decide() adds the rule that
 * a version goes out only if every object it references that the node holds
 * may go to the same audience, recursively (a relationship to an indicator
 * whose created_by_ref is a RED identity stays home). Derived objects
 * (sightings, observed-data, detector findings) reference what they were
 * derived from, so they are released only when their sources are: they
 * inherit the most restrictive marking and recipients of their sources.
 *
 * The engine does not read the store itself: a source (struct
 * release_source) answers "which versions of this id count", so the same
 * code runs over the store (src/federation) and over the property test's
 * random worlds.
 */
#ifndef STRAIT_POLICY_RELEASE_H
#define STRAIT_POLICY_RELEASE_H

#include "common/err.h"
#include "policy/policy.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* References followed from one version before the decision gives up and
 * withholds (RELEASE_DENY_DEPTH). */
#define RELEASE_MAX_DEPTH 16
/* Distinct objects examined for one top-level decision, at most; past it
 * the version is withheld (RELEASE_DENY_DEPTH). */
#define RELEASE_MAX_VISITED 4096

/* One version as the decision sees it. */
struct release_version {
	const char *id;
	struct release_facts f;
	const char *const *refs; /* ids this version references (any
				    *_ref / *_refs, object_refs, ...) */
	size_t n_refs;
};

/*
 * The versions of id that count when something references id, into
 * *out and *n (owned by the source, valid until the engine's next call of
 * lookup or until release_engine_reset). None (n = 0) when the node does
 * not hold id: a reference to an object we do not hold discloses nothing
 * new and does not withhold. For an SDO or SRO: its latest version by
 * version key. For an SCO: every copy held (several origins, several
 * markings): the most restrictive decides. ST_OK or an error (the
 * decision then withholds and returns the error).
 */
typedef int (*release_lookup_fn)(void *ctx, const char *id,
				 const struct release_version **out, size_t *n);

struct release_source {
	release_lookup_fn lookup;
	void *ctx;
};

/* Why a decision withheld: the rule, and for references the first
 * referenced id that was withheld and its own reason. ref is an id the
 * version references directly (the first of its refs, in order, whose
 * answer withheld it); ref_why is that id's own answer: the rule its
 * counted versions fail, or DENY_REFERENCE / DENY_DEPTH when the cause is
 * further along its references, or DENY_REFERENCE when the source failed
 * on the way. */
struct release_explain {
	enum release_why why;
	char ref[STIX_ID_MAX]; /* "" unless why is DENY_REFERENCE/DEPTH */
	enum release_why ref_why;
};

struct release_engine;

/* NULL when out of memory. */
struct release_engine *release_engine_new(const struct release_source *src);
void release_engine_free(struct release_engine *e);
/* Forgets what the engine remembered about referenced objects (their
 * decisions are cached per audience between resets): call it when the
 * store may have changed, e.g. before each batch. */
void release_engine_reset(struct release_engine *e);

/*
 * The decision for version v to audience a: policy_decide() on v, then on
 * every version of every object v references (through the source),
 * recursively, each reference decided for the same audience. A cycle
 * (an identity whose created_by_ref is itself) does not withhold by
 * itself. A reference back to v's own id means the counted versions of
 * that id, like any reference (for the latest version of an SDO, v
 * itself). Returns RELEASE_OK or the reason; why (optional) gets the
 * detail. An error of the source withholds (returns DENY_REFERENCE with
 * ref set). Deterministic for the same source answers.
 *
 * The limits: a held object more than RELEASE_MAX_DEPTH references away
 * along the path followed, or more than RELEASE_MAX_VISITED objects looked
 * up, withholds with DENY_DEPTH (a reference to an object not held does
 * not). The limits bound the work, they are not rules: answers the engine
 * remembers are exact, so a version withheld by a limit may be released
 * by an engine that already knows part of its references, never the other
 * way round. Without the limits the answer is the greatest fixpoint: a
 * version is released iff its own facts pass and those of every held
 * object reachable through references (counted versions) pass.
 *
 * The engine remembers the answers for referenced ids for the audience
 * pointer it was given (another pointer forgets them): the audience must
 * not change behind the same pointer without release_engine_reset().
 */
enum release_why release_decide(struct release_engine *e,
				const struct audience *a,
				const struct release_version *v,
				struct release_explain *why);

#endif
