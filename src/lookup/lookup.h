/*
 * strait: "have we, or any partner, seen this value?" (see docs/LOOKUP.md).
 *
 * An index derived from the store's log, kept in <home>/lookup.db: for
 * each version, the values it names (an SCO's value or hashes, the
 * literals an indicator's pattern compares with, the ids it refers to,
 * the ATT&CK ids of its external references). It is never the truth:
 * every candidate it gives is read again from the store at its latest
 * version, checked against the value, and passed through the caller's
 * release decision before anything about it is shown or counted. It can
 * be deleted at any time; the next lookup builds it again.
 */
#ifndef STRAIT_LOOKUP_LOOKUP_H
#define STRAIT_LOOKUP_LOOKUP_H

#include "common/err.h"
#include "common/ip.h"
#include "common/time.h"
#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LK_VALUE_MAX 2048

struct jw;
struct buf;
struct json_val;

enum lk_kind {
	LK_IP,	   /* an address or a CIDR prefix, IPv4 or IPv6 */
	LK_DOMAIN, /* lower case, no trailing dot */
	LK_URL,
	LK_HASH, /* MD5, SHA-1, SHA-256 or SHA-512, lower-case hex */
	LK_EMAIL,
	LK_WALLET, /* a Bitcoin or Ethereum address */
	LK_ATTACK, /* T1566, T1566.001, G0032, S0154, TA0001, M1017 */
};

struct lk_value {
	enum lk_kind kind;
	char text[LK_VALUE_MAX + 1]; /* normalised */
	struct ip_prefix ip;	     /* LK_IP */
	const char *hash_algo;	     /* LK_HASH: "MD5", "SHA-1", ... */
};

/* What kind of value s is, normalised. ST_EINVAL with d saying what
 * values are understood. */
int lk_value_parse(const char *s, struct lk_value *out, struct diag *d);
const char *lk_kind_name(enum lk_kind k);

/* How many terms and addresses the index would keep for the object o
 * (tests and fuzzing: the extraction the index runs on every version,
 * partners' included). ST_ENOMEM, else ST_OK. */
int lk_terms_count(const struct json_val *o, size_t *keys, size_t *nets);

struct lk_index;

/* Opens (or makes) <home>/lookup.db over st, which the caller keeps
 * open. */
int lk_open(const char *home, struct store *st, struct lk_index **out,
	    struct diag *d);
void lk_close(struct lk_index *x);

/* Indexes what the store's log holds past the index's last seq, in
 * batches, each its own transaction. progress (optional) is called after
 * each batch with the seq reached and the store's last seq. *added gets
 * the number of versions read. Safe against another process doing the
 * same (each batch checks where the index stands first). */
typedef void (*lk_progress_fn)(void *ctx, uint64_t seq, uint64_t last);
int lk_catch_up(struct lk_index *x, lk_progress_fn progress, void *ctx,
		uint64_t *added, struct diag *d);
/* One transaction of at most limit versions (serve's indexer: short
 * holds of the index). */
int lk_catch_up_some(struct lk_index *x, size_t limit, uint64_t *added,
		     struct diag *d);
/* The last seq indexed. */
uint64_t lk_indexed(struct lk_index *x);

/* How an object came to be found. */
enum lk_how {
	LK_IS_VALUE,  /* an SCO with this value */
	LK_MATCHES,   /* an indicator whose pattern matches the value alone */
	LK_MENTIONS,  /* an indicator whose pattern names the value, but needs
			 more than it to match */
	LK_REFERS,    /* refers to one of the objects above (a sighting, a
			 report, observed-data, a relationship) */
	LK_ATTACK_ID, /* carries the ATT&CK id as an external reference */
};
const char *lk_how_name(enum lk_how h);

/* One object found, at its latest version (valid during the callback). */
struct lk_hit {
	enum lk_how how;
	const char *via; /* LK_REFERS: the id it refers to */
	const struct store_row *row;
	const struct json_val *obj; /* row's body, parsed */
};

/* The caller's release decision: false hides the version. NULL: every
 * version is visible (a local administrator at the node). */
typedef bool (*lk_visible_fn)(void *ctx, const struct store_row *row);
typedef int (*lk_hit_fn)(void *ctx, const struct lk_hit *hit);

/* Finds every object that holds, matches or refers to v, at most max
 * (0: 1000); *more is set when there were more. fn sees only visible
 * versions; an object whose latest version is not visible is not
 * reported at all (no older version stands in for it). */
int lk_find(struct lk_index *x, const struct lk_value *v, lk_visible_fn vis,
	    void *vis_ctx, size_t max, lk_hit_fn fn, void *ctx, bool *more,
	    struct diag *d);

/* ---- strait search -------------------------------------------------- */

#define LK_QUERY_MAX 256

/* The text search finds a version by (its name, description, aliases,
 * labels, a note's content, the translations of a language-content),
 * appended to b, one string per line. */
void lk_version_text(const struct json_val *o, struct buf *b);
/* ST_OK when q may be searched for: 1 to LK_QUERY_MAX bytes of UTF-8
 * without control characters; else d says what is wrong. */
int lk_search_check(const char *q, struct diag *d);

struct lk_text_hit {
	const struct store_row *row; /* the latest version */
	const struct json_val *obj;  /* its body, parsed */
	const char *snippet; /* where it matched, the match in [brackets] */
};
typedef int (*lk_text_fn)(void *ctx, const struct lk_text_hit *hit);
/* Objects whose latest version's text holds q (case-insensitive), best
 * first, at most max (0: 100); *more when there may be more. */
int lk_search(struct lk_index *x, const char *q, lk_visible_fn vis,
	      void *vis_ctx, size_t max, lk_text_fn fn, void *ctx, bool *more,
	      struct diag *d);
/* The answer as JSON: {"query", "objects": [...], "more"}. */
int lk_search_json(struct lk_index *x, const char *q, const char *self,
		   lk_visible_fn vis, void *vis_ctx, size_t max, struct jw *w,
		   struct diag *d);

/* The answer as one JSON object (docs/LOOKUP.md): the objects found,
 * where this node has each from, who knows the value (this node, which
 * partners), sightings. self is this node's identity id. */
int lk_report_json(struct lk_index *x, struct store *st,
		   const struct lk_value *v, const char *self,
		   lk_visible_fn vis, void *vis_ctx, size_t max, struct jw *w,
		   struct diag *d);

/* ---- In `strait serve` ---------------------------------------------- */

/* The index kept up to date by a thread of its own (it follows the
 * store's commits, and looks every second for what other processes
 * wrote), shared by the request threads. */
struct lk_service;
int lk_service_start(const char *home, struct store *st,
		     struct lk_service **out, struct diag *d);
/* NULL is a no-op. */
void lk_service_stop(struct lk_service *s);
/* lk_report_json and lk_search_json under the service's lock. */
int lk_service_report(struct lk_service *s, const struct lk_value *v,
		      const char *self, lk_visible_fn vis, void *vis_ctx,
		      size_t max, struct jw *w, struct diag *d);
int lk_service_search(struct lk_service *s, const char *q, const char *self,
		      lk_visible_fn vis, void *vis_ctx, size_t max,
		      struct jw *w, struct diag *d);

#endif
