/*
 * strait: the indexed indicator matcher.
 *
 * Every active STIX indicator (pattern_type "stix") is compiled into one
 * matcher whose cost per observation does not grow with the number of
 * indicators: each indicator contributes "anchors" (indexable comparisons
 * any match needs) to hash, prefix-trie and literal indexes; an
 * observation is walked once, its leaves are looked up in the indexes, and
 * only the indicators whose anchors were hit are confirmed. An indicator
 * of one comparison on a plain path (the bulk of feeds: an address, a
 * domain, a hash, a CIDR, one LIKE or MATCHES) is decided where its value
 * is found and keeps no parsed pattern; others are confirmed with the
 * pattern evaluator. Stateful patterns (several observations, qualifiers)
 * keep a bounded window of copied observations per indicator; a match
 * consumes the observations it bound.
 *
 * Validity (valid_from, valid_until) is judged by the matcher's clock,
 * which matcher_offer and matcher_advance move forward, not by the times
 * of the observations.
 *
 * Indicators are untrusted partner input: over-broad patterns are refused
 * with a reason, and an indicator whose evaluation hits a limit is
 * disabled and reported without slowing the others.
 *
 * A matcher is not thread-safe: one thread at a time offers, feeds and
 * reads its statistics.
 */
#ifndef STRAIT_PATTERN_MATCHER_H
#define STRAIT_PATTERN_MATCHER_H

#include "common/err.h"
#include "common/json.h"
#include "common/time.h"
#include "pattern/pattern.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct matcher;
struct wl_set;

/* How LIKE and MATCHES candidates are found (see matcher_lit.c). */
enum matcher_prefilter {
	MATCHER_PREFILTER_AUTO,	     /* Hyperscan if usable, else the index */
	MATCHER_PREFILTER_HYPERSCAN, /* Hyperscan; ST_EINVAL if not usable */
	MATCHER_PREFILTER_LITERAL,   /* the built-in q-gram index only */
};

struct matcher_config {
	/* Parse and evaluation limits; NULL means PATTERN_LIMITS_DEFAULT. */
	const struct pattern_limits *limits;
	/* Warninglists (borrowed, must outlive the matcher), or NULL. With
	 * a set, patterns whose anchoring constants are listed are refused
	 * and hits on listed observed values are suppressed. */
	const struct wl_set *warninglists;
	/* Observations kept per stateful indicator; more disables it. */
	uint32_t max_state;
	/* Comparison expressions without any indexable comparison that are
	 * evaluated against every observation; more are refused. */
	uint32_t max_always;
	/* Shortest CIDR accepted in ISSUBSET, IPv4 and IPv6. */
	uint8_t min_cidr4, min_cidr6;
	/* Shortest required literal accepted for LIKE and MATCHES. */
	uint32_t min_literal;
	enum matcher_prefilter prefilter;
	/* Parsed patterns kept for confirming the candidates of stateless
	 * indicators the evaluator decides (more than one comparison, or a
	 * list or reference on the path); the others are parsed again from
	 * their text when needed. A parsed pattern holds about 5-10 KiB.
	 * Indicators of one comparison on a plain path need none. */
	uint32_t pattern_cache;
	/* Called when an indicator is disabled while matching (state cap,
	 * evaluation limit); the reason is a short sentence. May be NULL. */
	void (*on_disable)(void *ctx, const char *id, const char *reason);
	void *on_disable_ctx;
};

/* max_state 64, max_always 64, /8 and /32, 3-byte literals, AUTO,
 * 1024 cached patterns. */
void matcher_config_default(struct matcher_config *c);

/*
 * Creates an empty matcher; *out is owned by the caller (matcher_free).
 * c NULL means the defaults. ST_EINVAL with d set for a bad configuration
 * (MATCHER_PREFILTER_HYPERSCAN without Hyperscan), ST_ENOMEM.
 */
int matcher_new(const struct matcher_config *c, struct matcher **out,
		struct diag *d);

/* matcher_free(NULL) is a no-op. */
void matcher_free(struct matcher *m);

/* ------------------------------------------------------------------ */
/* Indicators                                                           */
/* ------------------------------------------------------------------ */

/* What matcher_offer did with an indicator version (non-negative). */
enum matcher_outcome {
	MATCHER_ACTIVE = 0, /* compiled in; matches while valid */
	MATCHER_PENDING,    /* compiled in; valid_from is still ahead */
	MATCHER_EXPIRED,    /* valid_until has passed: not compiled in */
	MATCHER_REVOKED,    /* revoked: removed, and stays removed */
	MATCHER_STALE,	    /* not newer than the version already seen */
	MATCHER_NOT_STIX,   /* pattern_type is not "stix": not compiled in */
	MATCHER_REFUSED,    /* over-broad; why says which part and why */
};

/* Short name of an outcome ("active", "refused", ...). */
const char *matcher_outcome_name(int outcome);

/*
 * Offers one version of a STIX indicator object (borrowed; the matcher
 * copies what it keeps). Only the newest version by `modified` per id
 * counts: an older or equal version is MATCHER_STALE, and a newer one
 * replaces the old in the indexes incrementally, whatever becomes of it.
 * A revoked version removes the indicator for good. now (wall clock)
 * also advances the matcher's clock as matcher_advance does.
 *
 * Returns an enum matcher_outcome, or ST_EINVAL (not an indicator,
 * missing id/modified/pattern, pattern syntax error; why says what),
 * ST_ELIMIT (the pattern breaks a parse limit), ST_ENOMEM (the version
 * is then dropped as by matcher_remove: offering it again retries). On
 * MATCHER_REFUSED and on errors, why holds the reason.
 */
int matcher_offer(struct matcher *m, const struct json_val *indicator,
		  st_time now, struct diag *why);

/* Removes an indicator by id. A later offer of the same or a newer version
 * compiles it in again; an older one stays stale. ST_ENOTFOUND if the id
 * is not compiled in. */
int matcher_remove(struct matcher *m, const char *id);

/* Advances the matcher's clock (it never goes back): indicators whose
 * valid_until has passed are removed, pending ones start matching. */
void matcher_advance(struct matcher *m, st_time now);

/*
 * Rebuilds the literal prefilter databases that changed, now rather than
 * at the next matcher_feed. Call it after loading many indicators.
 * ST_ENOMEM; a database that cannot be built leaves its literals in the
 * built-in index (still correct, slower), reported in d.
 */
int matcher_compile(struct matcher *m, struct diag *d);

/* Where an indicator stands, with the refusal or disabling reason
 * (borrowed, valid until the indicator changes) when there is one. */
enum matcher_status {
	MATCHER_ST_UNKNOWN,
	MATCHER_ST_ACTIVE,
	MATCHER_ST_PENDING,
	MATCHER_ST_EXPIRED,
	MATCHER_ST_REVOKED,
	MATCHER_ST_REMOVED,
	MATCHER_ST_NOT_STIX,
	MATCHER_ST_REFUSED,
	MATCHER_ST_INVALID,
	MATCHER_ST_DISABLED,
};

enum matcher_status matcher_status(const struct matcher *m, const char *id,
				   const char **reason);

/* ------------------------------------------------------------------ */
/* Matching                                                             */
/* ------------------------------------------------------------------ */

/* One matched SCO value: the indicator's object path that it satisfied
 * ("ipv4-addr:value", "network-traffic:dst_ref.value") and the observed
 * value as text (numbers and booleans formatted as JSON writes them). */
struct matcher_value {
	const char *path;
	const char *value;
	size_t len;
};

/*
 * One hit. Everything is borrowed and valid only during the callback.
 * id and modified name the indicator version (read the full object from
 * the store to apply its markings); markings are its object_marking_refs
 * and created_by_ref its creator, copied at offer time. values are the
 * observed values that hit the indicator's anchors in the observation fed
 * (empty for patterns without anchors). first/last span the observations
 * of the match (for stateful patterns, of every observation bound).
 */
struct matcher_hit {
	const char *id;
	st_time modified;
	const char *const *markings;
	size_t n_markings;
	const char *created_by_ref; /* or NULL */
	const struct matcher_value *values;
	size_t n_values;
	st_time first_observed, last_observed;
	size_t n_observations; /* observations in the match (1 if stateless) */
};

/* Called for each hit; it must not call back into the matcher. */
typedef void (*matcher_hit_fn)(void *ctx, const struct matcher_hit *hit);

/*
 * Matches one observation against every active indicator and calls fn
 * for each indicator it completes. The observation is borrowed: what
 * stateful indicators need is copied. Indicators that hit a limit are
 * disabled (config on_disable) and the feed goes on. Returns ST_OK or
 * ST_ENOMEM (state could not be copied; the observation is then lost to
 * stateful indicators only).
 */
int matcher_feed(struct matcher *m, const struct pat_observation *o,
		 matcher_hit_fn fn, void *ctx);

/* ------------------------------------------------------------------ */
/* Statistics                                                           */
/* ------------------------------------------------------------------ */

struct matcher_stats {
	/* Indicator counts by state (current). */
	size_t active;	 /* compiled in and valid now */
	size_t pending;	 /* compiled in, valid_from ahead */
	size_t stateful; /* of active + pending */
	size_t exact;	 /* of active + pending: one comparison at a plain
			    path, decided where its value is found (no
			    parsed pattern kept) */
	size_t always;	 /* comparison expressions evaluated every time */
	size_t refused, disabled, invalid, revoked, expired, not_stix;
	size_t ids; /* versions remembered per id (incl. tombstones) */
	/* Index sizes. */
	size_t paths, eq_keys, prefixes, literals;
	/* Counters since matcher_new. */
	uint64_t observations, candidates, confirmations, hits, suppressed;
	uint64_t refusals; /* offers refused, all reasons */
	/* Memory in bytes (estimates of what the matcher holds). */
	size_t memory;	      /* total of the below */
	size_t mem_tables;    /* hash tables, postings, indicator records */
	size_t mem_tries;     /* prefix tries */
	size_t mem_patterns;  /* parsed patterns kept for confirmation */
	size_t mem_hyperscan; /* databases and scratch */
	size_t mem_state;     /* observations kept by stateful indicators */
	/* Prefilter in use ("hyperscan" or "literal-index") and the time the
	 * last rebuild of the literal databases took. */
	const char *prefilter;
	double compile_seconds;
};

void matcher_stats(const struct matcher *m, struct matcher_stats *s);

#endif
