/*
 * strait: what lookup.c and search.c share of the lookup index.
 */
#ifndef STRAIT_LOOKUP_LOOKUP_INT_H
#define STRAIT_LOOKUP_LOOKUP_INT_H

#include "common/buf.h"
#include "lookup/lookup.h"

#include <limits.h>
#include <sqlite3.h>

struct lk_index {
	sqlite3 *db;
	struct store *st;
	char path[PATH_MAX];
	sqlite3_stmt *ins_term, *ins_net, *ins_obj, *ins_plen, *ins_text;
	sqlite3_stmt *q_term, *q_net, *q_range, *q_obj, *q_plens;
	sqlite3_stmt *q_match, *q_like;
};

/* Prepares sql into *st once (kept with the index). */
int lk_prep(struct lk_index *x, sqlite3_stmt **st, const char *sql,
	    struct diag *d);

/* The latest version of an object, copied out of the store's read. */
struct lk_latest {
	struct store_row row;
	struct buf b; /* id, body, prov */
	bool got;
};
/* store_query callback filling a struct lk_latest. */
int lk_on_latest(void *ctx, const struct store_row *row);
/* The latest version of each of ids[0..n), in one read of the store
 * (out[i].got false for an id it does not hold); NULL with d set on
 * failure. Free with lk_latest_free. */
struct lk_latest *lk_latest_many(struct lk_index *x, const char *const *ids,
				 size_t n, struct diag *d);
void lk_latest_free(struct lk_latest *l, size_t n);

#endif
