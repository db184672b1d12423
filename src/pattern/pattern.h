/*
 * strait: STIX 2.1 patterning (STIX 2.1 section 9).
 *
 * pattern_parse() turns pattern text into a tree that the evaluator and
 * the indexed matcher both read; pattern_eval() decides a pattern against
 * a list of timed observations with the reference matcher's semantics.
 * Indicators are untrusted input from partners: every parse and every
 * evaluation runs under the limits in struct pattern_limits.
 */
#ifndef STRAIT_PATTERN_PATTERN_H
#define STRAIT_PATTERN_PATTERN_H

#include "common/err.h"
#include "common/json.h"
#include "common/time.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------ */
/* The tree                                                             */
/* ------------------------------------------------------------------ */

enum pat_const_type {
	PAT_C_STRING,	 /* 'text' (escapes \' and \\ resolved) */
	PAT_C_INT,	 /* 42, -7 */
	PAT_C_FLOAT,	 /* 1.5, -0.25 */
	PAT_C_BOOL,	 /* true, false */
	PAT_C_BINARY,	 /* b'base64' and h'hex', decoded to bytes */
	PAT_C_TIMESTAMP, /* t'2020-01-01T00:00:00Z' */
};

struct pat_const {
	enum pat_const_type type;
	bool hex; /* PAT_C_BINARY written as h'..' (else b'..') */
	union {
		struct {
			char *p; /* NUL-terminated; len excludes the NUL */
			size_t len;
		} str; /* PAT_C_STRING and PAT_C_BINARY (bytes) */
		int64_t i;
		double f;
		bool b;
		st_time ts; /* microseconds since the epoch, UTC */
	} u;
};

enum pat_step_kind {
	PAT_STEP_KEY,	/* .name or .'quoted name' */
	PAT_STEP_INDEX, /* [n] */
	PAT_STEP_ANY,	/* [*] */
};

struct pat_step {
	enum pat_step_kind kind;
	char *key;     /* PAT_STEP_KEY: NUL-terminated, quotes removed */
	int64_t index; /* PAT_STEP_INDEX */
};

/* type:step.step[...]: the first step is always a key (the property). A
 * key ending in "_ref" or an index/any step after a "_refs" key followed
 * by further steps is resolved to the referenced object. */
struct pat_path {
	char *type; /* SCO type, e.g. "network-traffic" */
	struct pat_step *steps;
	uint32_t n_steps;
};

enum pat_op {
	PAT_OP_EQ, /* = and == */
	PAT_OP_NE,
	PAT_OP_LT,
	PAT_OP_LE,
	PAT_OP_GT,
	PAT_OP_GE,
	PAT_OP_IN,
	PAT_OP_LIKE,
	PAT_OP_MATCHES,
	PAT_OP_ISSUBSET,
	PAT_OP_ISSUPERSET,
	PAT_OP_EXISTS,
};

struct pat_cmp {
	struct pat_path path;
	enum pat_op op;
	bool negated;		/* NOT before the operator */
	struct pat_const *vals; /* IN: the set; EXISTS: none; else one */
	uint32_t n_vals;
	uint32_t offset; /* byte offset in the pattern text, for messages */
};

enum pat_cexpr_kind { PAT_CE_CMP, PAT_CE_AND, PAT_CE_OR };

/* The comparison expression inside one pair of brackets. */
struct pat_cexpr {
	enum pat_cexpr_kind kind;
	struct pat_cexpr *l, *r; /* AND, OR */
	struct pat_cmp *cmp;	 /* CMP */
};

enum pat_oexpr_kind {
	PAT_OE_OBS,	   /* [ cexpr ] */
	PAT_OE_AND,	   /* l AND r */
	PAT_OE_OR,	   /* l OR r */
	PAT_OE_FOLLOWEDBY, /* l FOLLOWEDBY r */
	PAT_OE_REPEATS,	   /* l REPEATS n TIMES */
	PAT_OE_WITHIN,	   /* l WITHIN seconds SECONDS */
	PAT_OE_STARTSTOP,  /* l START t'..' STOP t'..' */
};

/* An observation expression; parentheses leave no node of their own. */
struct pat_oexpr {
	enum pat_oexpr_kind kind;
	struct pat_oexpr *l, *r; /* r only for AND, OR, FOLLOWEDBY */
	struct pat_cexpr *cexpr; /* OBS */
	uint32_t repeats;	 /* REPEATS */
	double seconds;		 /* WITHIN (positive) */
	st_time start, stop;	 /* STARTSTOP */
};

/* ------------------------------------------------------------------ */
/* Limits                                                               */
/* ------------------------------------------------------------------ */

struct pattern_limits {
	uint32_t max_len;	   /* bytes of pattern text */
	uint32_t max_depth;	   /* nesting of parentheses and brackets */
	uint32_t max_nodes;	   /* comparisons + observation nodes */
	uint32_t max_repeats;	   /* largest REPEATS n accepted */
	uint32_t pcre_match_limit; /* pcre2_set_match_limit */
	uint32_t pcre_depth_limit; /* pcre2_set_depth_limit */
	uint32_t pcre_heap_limit;  /* pcre2_set_heap_limit, KiB */
	uint32_t max_state;	   /* observation bindings tried per eval */
};

/* 64 KiB text, depth 32, 1024 nodes, REPEATS up to 1000, PCRE2 match
 * limit 100,000, depth 1,000, heap 1 MiB, 100,000 bindings. */
extern const struct pattern_limits PATTERN_LIMITS_DEFAULT;

/* ------------------------------------------------------------------ */
/* Parsing                                                              */
/* ------------------------------------------------------------------ */

struct pattern;

/*
 * Parses STIX pattern text (not NUL-terminated; len bytes). On success
 * *out is a new pattern owned by the caller (pattern_free). On failure
 * returns ST_EINVAL (syntax or semantic error: bad regex in MATCHES, bad
 * CIDR, bad timestamp, START after STOP, ...) or ST_ELIMIT, and d holds
 * "at N: expected X, found Y" with N the byte offset. lim NULL means
 * PATTERN_LIMITS_DEFAULT.
 */
int pattern_parse(const char *text, size_t len,
		  const struct pattern_limits *lim, struct pattern **out,
		  struct diag *d);

/* pattern_free(NULL) is a no-op. */
void pattern_free(struct pattern *p);

/* The root of the tree; borrowed, lives as long as p. */
const struct pat_oexpr *pattern_root(const struct pattern *p);

/* True if the pattern needs more than one observation or any qualifier
 * (AND/OR/FOLLOWEDBY between observation expressions, REPEATS, WITHIN,
 * START/STOP): such patterns keep state across telemetry records. */
bool pattern_is_stateful(const struct pattern *p);

/* ------------------------------------------------------------------ */
/* Observations                                                         */
/* ------------------------------------------------------------------ */

/* One SCO of an observation, with the key other SCOs use to refer to it:
 * the key in observed-data's deprecated "objects" container ("0", "1"),
 * or the SCO's id when observed-data lists it in object_refs. */
struct pat_sco {
	const char *ref; /* NUL-terminated */
	const struct json_val *obj;
};

/* One observed-data: the time span it covers, how many times it was seen,
 * and its SCOs. Telemetry readers build these too. */
struct pat_observation {
	const char *id; /* observed-data id, or NULL for telemetry */
	st_time first_observed, last_observed;
	uint32_t number_observed;
	const struct pat_sco *objects;
	size_t n_objects;
};

/* ------------------------------------------------------------------ */
/* Evaluation                                                           */
/* ------------------------------------------------------------------ */

/* What pattern_eval found: indexes (into the observations passed) of the
 * observations of one satisfying binding, ascending, without repeats. */
struct pat_result {
	bool matched;
	uint32_t *obs; /* malloc'd; free with pat_result_clear */
	size_t n_obs;
};

void pat_result_clear(struct pat_result *r);

/*
 * Decides p against n observations. Returns ST_OK with r->matched set, or
 * ST_ELIMIT when a limit of the pattern (PCRE2 limits, max_state) was
 * reached: the caller must then treat the indicator as disabled, never as
 * "no match". r is always cleared first.
 */
int pattern_eval(const struct pattern *p, const struct pat_observation *obs,
		 size_t n, struct pat_result *r, struct diag *d);

/*
 * Decides one comparison expression against one observation: true if some
 * SCO of the observation satisfies all of it. Used by the indexed matcher
 * to confirm a candidate. Returns 1, 0, or ST_ELIMIT.
 */
int pattern_eval_cexpr(const struct pattern *p, const struct pat_cexpr *ce,
		       const struct pat_observation *o, struct diag *d);

/*
 * Reads observed-data and their SCOs from a parsed bundle ({"type":
 * "bundle", "objects": [...]}) or a JSON list of objects. Both the
 * deprecated "objects" container and object_refs are understood; refs
 * that do not resolve are kept (they simply match nothing). Everything
 * returned points into root or into arena a, so it lives as long as both.
 * Observations come out in input order. ST_EINVAL with d naming the
 * object (id or index) and the property on malformed input.
 */
struct arena;
int pattern_observations(const struct json_val *root, struct arena *a,
			 struct pat_observation **out, size_t *n,
			 struct diag *d);

#endif
