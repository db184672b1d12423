/*
 * strait: the indicator lifecycle (docs/LIFECYCLE.md).
 *
 * What this node thinks of the indicators it holds, kept beside them and
 * never written into them (STIX forbids changing another's object):
 *   - false-positive marks (`strait fp`), in <home>/lifecycle.db, each
 *     with the opinion object sent to the indicator's maker;
 *   - a local allow-list of values (`strait allow`), in the same file;
 *   - a default validity for indicators without valid_until, per
 *     collection, per maker (created_by_ref) or per partner, and a
 *     confidence that decays with age (strait.yaml, `lifecycle:`).
 * Matching and exports ask lc_suppressed() whether to leave an indicator
 * out and lc_confidence() what it is worth now.
 */
#ifndef STRAIT_LIFECYCLE_LIFECYCLE_H
#define STRAIT_LIFECYCLE_LIFECYCLE_H

#include "common/err.h"
#include "common/time.h"
#include "stix/stix.h"
#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_val;
struct wl_set;

#define LC_WHY_MAX 128
#define LC_REASON_MAX 1024
#define LC_VALUE_MAX 2048
#define LC_VALID_MAX 64
/* The name of the allow-list when it is loaded as a warninglist: the
 * matcher's refusals and suppressions name it. */
#define LC_ALLOW_LIST_NAME "local allow-list"

/* ---- configuration (strait.yaml, lifecycle:) ------------------------ */

/* A default validity: for indicators matching target (a collection id or
 * alias, an identity id, a partner's name, or "*" for every one). */
struct lc_validity {
	char target[STIX_ID_MAX];
	int64_t secs;
};

struct lc_config {
	int64_t half_life_s;	/* 0: confidence does not decay */
	int default_confidence; /* for objects without one; -1: none */
	struct lc_validity valid_for[LC_VALID_MAX];
	size_t n_valid_for;
};

/* "90d", "12h", "30m", "45s", "2w" (one number and one unit) into
 * seconds, > 0. ST_EINVAL. */
int lc_duration_parse(const char *s, int64_t *secs);

/* The config from the strings of strait.yaml: half_life ("" none),
 * default_confidence ("" none, else 0..100) and default_valid_for
 * ("TARGET=DURATION" entries separated by commas or spaces). ST_ECONFIG
 * with d naming the key and the entry. */
int lc_config_parse(const char *half_life, const char *default_confidence,
		    const char *valid_for, struct lc_config *out,
		    struct diag *d);

/* confidence (0..100) halved every half_life_s seconds of age, rounded
 * to the nearest integer; unchanged when half_life_s <= 0 or age_s <= 0.
 * -1 stays -1 (no confidence). */
int lc_decay(int confidence, int64_t age_s, int64_t half_life_s);

/* ---- the state file ------------------------------------------------- */

struct lc;

/* Opens (or makes, 0600) <home>/lifecycle.db; st (borrowed, may be NULL:
 * no collection or partner lookups then) and cfg (copied; NULL: no
 * decay, no default validity) serve lc_suppressed and lc_confidence. */
int lc_open(const char *home, struct store *st, const struct lc_config *cfg,
	    struct lc **out, struct diag *d);
void lc_close(struct lc *lc); /* NULL is a no-op */

/* A false-positive mark. id is what the analyst marked (an indicator or
 * a sighting), indicator the indicator it suppresses (id itself, or the
 * sighting's sighting_of_ref). */
struct lc_fp {
	char id[STIX_ID_MAX];
	char indicator[STIX_ID_MAX];
	char reason[LC_REASON_MAX];
	char opinion[STIX_ID_MAX]; /* the opinion sent, "" when none */
	char collection[128];	   /* where the opinion was stored */
	st_time at;
};

/* Records (or replaces) the mark of fp->id. */
int lc_fp_add(struct lc *lc, const struct lc_fp *fp, struct diag *d);
/* Removes the mark of id into *out (optional). ST_ENOTFOUND. */
int lc_fp_remove(struct lc *lc, const char *id, struct lc_fp *out,
		 struct diag *d);
/* Each mark, oldest first; fn returning non-zero stops (that value). */
typedef int (*lc_fp_fn)(void *ctx, const struct lc_fp *fp);
int lc_fp_list(struct lc *lc, lc_fp_fn fn, void *ctx, struct diag *d);
/* The mark that suppresses indicator (by itself or through one of its
 * sightings) into *out (optional): true when there is one. */
bool lc_fp_find(struct lc *lc, const char *indicator, struct lc_fp *out);

/* An allow-list entry: a value as `strait lookup` reads it, normalised. */
struct lc_allow {
	char value[LC_VALUE_MAX + 1];
	char kind[16]; /* lk_kind_name */
	char reason[LC_REASON_MAX];
	st_time at;
};

/* Parses value (lk_value_parse: addresses, prefixes, domains, URLs,
 * hashes, email addresses, wallets; not ATT&CK ids) and adds it; *out
 * (optional) gets the entry as kept. ST_EINVAL with d saying why. */
int lc_allow_add(struct lc *lc, const char *value, const char *reason,
		 struct lc_allow *out, struct diag *d);
/* Removes value (normalised first). ST_ENOTFOUND. */
int lc_allow_remove(struct lc *lc, const char *value, struct diag *d);
typedef int (*lc_allow_fn)(void *ctx, const struct lc_allow *a);
int lc_allow_list(struct lc *lc, lc_allow_fn fn, void *ctx, struct diag *d);
/* Adds the allow-list to wl as warninglists named LC_ALLOW_LIST_NAME...
 * (addresses and prefixes as a cidr list, domains as a hostname list:
 * subdomains included, the rest as a string list), so that the matcher
 * refuses indicators with an allow-listed value and drops hits whose
 * values are all allow-listed. Nothing is added for an empty list. */
int lc_allow_warninglist(struct lc *lc, struct wl_set *wl, struct diag *d);
/* The allow-list entry (borrowed until the next call) that the value v
 * (len bytes) of the given kind (enum wl_kind) hits, or NULL. */
const char *lc_allow_hit(struct lc *lc, int wl_kind, const char *v, size_t len);

/* ---- the decisions -------------------------------------------------- */

/* True when nothing can be suppressed here: no false-positive mark, an
 * empty allow-list and no default validity configured. An export of a
 * million indicators asks once, not for each. */
bool lc_idle(struct lc *lc);

/* When indicator o (its stored row, optional: collections and partner
 * for the defaults) stops being valid: its valid_until, else the default
 * validity counted from valid_from (else created); 0 when neither.
 * *by_default (optional) says the default gave it, *rule (optional, 128
 * bytes) which entry. */
st_time lc_valid_until(struct lc *lc, const struct json_val *o,
		       const struct store_row *row, bool *by_default,
		       char *rule);

/*
 * True when indicator o should be left out of matching and exports here:
 * marked as a false positive, an allow-listed value in its pattern, or
 * expired at now (valid_until, or the default validity). why gets the
 * reason ("false positive: ...", "allow-listed: 198.51.100.7", "expired
 * (default validity 90d for collection default)"). Revocation and the
 * pattern's form are the caller's business. row is optional, as above.
 */
bool lc_suppressed(struct lc *lc, const struct json_val *o,
		   const struct store_row *row, st_time now,
		   char why[LC_WHY_MAX]);

/* The confidence of o at now: its `confidence` (else the configured
 * default) decayed by the age of its latest assertion (the later of
 * `modified` and `valid_from`, else `created`) with the configured half
 * life; -1 when it has none. */
int lc_confidence(struct lc *lc, const struct json_val *o, st_time now);
/* The age of o's latest assertion at now, seconds (0 when unknown). */
int64_t lc_age(const struct json_val *o, st_time now);

#endif
