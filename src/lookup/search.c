/*
 * strait: full-text search over names, descriptions and translations
 * (docs/LOOKUP.md). The lookup index keeps each version's text in an FTS5
 * table with the trigram tokenizer, so that Korean and Japanese are found
 * without word segmentation: a query of three characters or more is a
 * phrase MATCH (case-insensitive substring, ranked by bm25); a shorter one
 * is a LIKE scan. Every hit is read again at its object's latest version,
 * which must be the version that matched, and passed through the caller's
 * release decision.
 */
#include "lookup/lookup_int.h"

#include "common/json.h"
#include "common/sqlschema.h"
#include "common/utf8.h"
#include "federation/fedstate.h"
#include "stix/stix.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROWS_PER_HIT 4 /* versions read per object asked for */
#define SNIPPET_MAX 512

struct shit {
	int64_t seq;
	char id[STIX_ID_MAX];
	char snippet[SNIPPET_MAX];
};

/* UTF-8 characters in s (bytes that do not continue a character). */
static size_t chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

int lk_search_check(const char *q, struct diag *d)
{
	size_t n = strlen(q);
	if (n == 0)
		return diag_set(d, ST_EINVAL, "an empty query");
	if (n > LK_QUERY_MAX)
		return diag_set(d, ST_ELIMIT,
				"the query is longer than %d bytes",
				LK_QUERY_MAX);
	if (utf8_invalid_offset(q, n) >= 0)
		return diag_set(d, ST_EINVAL, "the query is not UTF-8");
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)q[i] < 0x20)
			return diag_set(d, ST_EINVAL,
					"the query holds a control character "
					"at byte %zu",
					i);
	return ST_OK;
}

static int collect(struct lk_index *x, sqlite3_stmt *st, struct shit **out,
		   size_t *n, struct diag *d)
{
	size_t cap = 0;
	int src;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			struct shit *g = realloc(*out, cap * sizeof(*g));
			if (g == NULL) {
				sqlite3_reset(st);
				return diag_set(d, ST_ENOMEM, "out of memory");
			}
			*out = g;
		}
		struct shit *h = &(*out)[*n];
		h->seq = sqlite3_column_int64(st, 0);
		const unsigned char *sn = sqlite3_column_text(st, 1);
		snprintf(h->snippet, sizeof(h->snippet), "%s",
			 sn ? (const char *)sn : "");
		h->id[0] = '\0';
		(*n)++;
	}
	sqlite3_reset(st);
	if (src != SQLITE_DONE)
		return sql_diag(x->db, d, x->path);
	return ST_OK;
}

int lk_search(struct lk_index *x, const char *q, lk_visible_fn vis,
	      void *vis_ctx, size_t max, lk_text_fn fn, void *ctx, bool *more,
	      struct diag *d)
{
	*more = false;
	if (max == 0)
		max = 100;
	int rc = lk_search_check(q, d);
	if (rc == ST_OK)
		rc = lk_prep(x, &x->q_obj, "SELECT id FROM objs WHERE seq = ?1",
			     d);
	if (rc != ST_OK)
		return rc;
	struct buf pat = BUF_INIT(4 * LK_QUERY_MAX + 8);
	struct shit *hits = NULL;
	size_t n = 0;
	sqlite3_stmt *st = NULL;
	if (chars(q) >= 3) {
		/* one phrase: the query as it is, quotes doubled */
		buf_addc(&pat, '"');
		for (const char *p = q; *p; p++) {
			if (*p == '"')
				buf_addc(&pat, '"');
			buf_addc(&pat, *p);
		}
		buf_addc(&pat, '"');
		rc = lk_prep(x, &x->q_match,
			     "SELECT rowid, snippet(texts, 0, '[', ']', '...',"
			     " 12) FROM texts WHERE texts MATCH ?1"
			     " ORDER BY rank LIMIT ?2",
			     d);
		st = x->q_match;
	} else {
		/* shorter than a trigram: a scan */
		buf_addc(&pat, '%');
		for (const char *p = q; *p; p++) {
			if (*p == '%' || *p == '_' || *p == '\\')
				buf_addc(&pat, '\\');
			buf_addc(&pat, *p);
		}
		buf_addc(&pat, '%');
		rc = lk_prep(x, &x->q_like,
			     "SELECT rowid, substr(body, 1, 160) FROM texts"
			     " WHERE body LIKE ?1 ESCAPE '\\' LIMIT ?2",
			     d);
		st = x->q_like;
	}
	if (rc == ST_OK) {
		sqlite3_bind_text(st, 1, pat.data, (int)pat.len,
				  SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 2, (int64_t)(max * ROWS_PER_HIT + 1));
		rc = collect(x, st, &hits, &n, d);
	}
	bool cut = n > max * ROWS_PER_HIT;
	/* the object of each version */
	for (size_t i = 0; rc == ST_OK && i < n; i++) {
		sqlite3_reset(x->q_obj);
		sqlite3_bind_int64(x->q_obj, 1, hits[i].seq);
		if (sqlite3_step(x->q_obj) == SQLITE_ROW)
			snprintf(
			    hits[i].id, sizeof(hits[i].id), "%s",
			    (const char *)sqlite3_column_text(x->q_obj, 0));
		sqlite3_reset(x->q_obj);
	}
	struct lk_latest lt = {.b = BUF_INIT((size_t)64 << 20)};
	size_t shown = 0;
	for (size_t i = 0; rc == ST_OK && i < n; i++) {
		if (hits[i].id[0] == '\0')
			continue;
		bool seen = false; /* an object once, at its best rank */
		for (size_t k = 0; k < i && !seen; k++)
			seen = strcmp(hits[k].id, hits[i].id) == 0;
		if (seen)
			continue;
		struct store_query sq = {.id = hits[i].id,
					 .vsel = STORE_V_LAST};
		lt.got = false;
		int qr = store_query(x->st, &sq, lk_on_latest, &lt, NULL, d);
		if (qr != ST_OK && qr != 1) {
			rc = qr;
			break;
		}
		if (!lt.got)
			continue;
		/* the latest version must be one that matched */
		bool matched = false;
		for (size_t k = i; k < n && !matched; k++)
			matched = (uint64_t)hits[k].seq == lt.row.seq &&
				  strcmp(hits[k].id, hits[i].id) == 0;
		if (!matched || (vis != NULL && !vis(vis_ctx, &lt.row)))
			continue;
		if (shown == max) {
			*more = true;
			break;
		}
		struct lk_text_hit h = {.row = &lt.row,
					.snippet = hits[i].snippet};
		shown++;
		rc = fn(ctx, &h);
	}
	if (rc == ST_OK && cut && shown == max)
		*more = true;
	buf_free(&lt.b);
	buf_free(&pat);
	free(hits);
	return rc;
}
