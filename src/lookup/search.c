/*
 * strait: full-text search over names, descriptions and translations
 * (docs/LOOKUP.md). The lookup index keeps each version's text in an FTS5
 * table with the trigram tokenizer, so that Korean and Japanese are found
 * without word segmentation: a query of three characters or more is a
 * phrase MATCH (case-insensitive substring); a shorter one is a LIKE scan.
 * Newest versions first: ranking every match by bm25 costs time in
 * proportion to the matches (12.8 ms for a common word in 20,000 texts),
 * newest first stops after the rows asked for. Every hit is read again at its object's latest version,
 * which must be the version that matched, and passed through the caller's
 * release decision.
 */
#include "lookup/lookup_int.h"

#include "common/json.h"
#include "common/sqlschema.h"
#include "common/utf8.h"
#include "federation/fedstate.h"
#include "stix/stix.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROWS_PER_HIT 4 /* versions read per object asked for */
#define SNIPPET_MAX 512

struct shit {
	int64_t seq;
	char id[STIX_ID_MAX];
};

/* Where q is in the version's text, about 60 bytes each side, the match
 * in [brackets], on one line: computed for the hits shown only (FTS5's
 * snippet() for every row read cost more than the search). ASCII letters
 * compare in any case; when q is not found as written (case in another
 * script), the text's start. */
static void snippet(const struct json_val *o, const char *q, char *out,
		    size_t cap)
{
	struct buf text = BUF_INIT(65536 + 1);
	out[0] = '\0';
	lk_version_text(o, &text);
	size_t n = text.len, ql = strlen(q), at = n;
	const char *t = text.data;
	for (size_t i = 0; ql <= n && i + ql <= n && at == n; i++) {
		size_t k = 0;
		while (k < ql && tolower((unsigned char)t[i + k]) ==
				     tolower((unsigned char)q[k]))
			k++;
		if (k == ql)
			at = i;
	}
	size_t from = at == n ? 0 : (at > 60 ? at - 60 : 0);
	size_t to = at == n ? (n < 120 ? n : 120)
			    : (at + ql + 60 < n ? at + ql + 60 : n);
	while (from > 0 && ((unsigned char)t[from] & 0xC0) == 0x80)
		from--; /* whole characters */
	while (to < n && ((unsigned char)t[to] & 0xC0) == 0x80)
		to++;
	size_t w = 0;
	if (from > 0 && w + 3 < cap) {
		memcpy(out, "...", 3);
		w = 3;
	}
	for (size_t i = from; i < to && w + 6 < cap; i++) {
		if (at != n && i == at)
			out[w++] = '[';
		out[w++] = t[i] == '\n' ? ' ' : t[i];
		if (at != n && i + 1 == at + ql)
			out[w++] = ']';
	}
	if (to < n && w + 4 < cap) {
		memcpy(out + w, "...", 3);
		w += 3;
	}
	out[w] = '\0';
	buf_free(&text);
}

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
			     "SELECT rowid FROM texts WHERE texts MATCH ?1"
			     " ORDER BY rowid DESC LIMIT ?2",
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
			     "SELECT rowid FROM texts"
			     " WHERE body LIKE ?1 ESCAPE '\\'"
			     " ORDER BY rowid DESC LIMIT ?2",
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
	/* each object once, at its best place; their latest versions in
	 * one read of the store */
	const char **uid = calloc(n ? n : 1, sizeof(*uid));
	size_t *first = calloc(n ? n : 1, sizeof(*first));
	size_t nu = 0;
	if (rc == ST_OK && (uid == NULL || first == NULL))
		rc = diag_set(d, ST_ENOMEM, "out of memory");
	for (size_t i = 0; rc == ST_OK && i < n; i++) {
		if (hits[i].id[0] == '\0')
			continue;
		bool seen = false;
		for (size_t k = 0; k < nu && !seen; k++)
			seen = strcmp(uid[k], hits[i].id) == 0;
		if (!seen) {
			first[nu] = i;
			uid[nu++] = hits[i].id;
		}
	}
	struct lk_latest *lts = NULL;
	struct json_doc *doc = json_doc_new();
	if (rc == ST_OK && doc == NULL)
		rc = diag_set(d, ST_ENOMEM, "out of memory");
	if (rc == ST_OK && (lts = lk_latest_many(x, uid, nu, d)) == NULL)
		rc = ST_ESTORE;
	size_t shown = 0;
	for (size_t u = 0; rc == ST_OK && u < nu; u++) {
		struct lk_latest *lt = &lts[u];
		if (!lt->got)
			continue;
		/* the latest version must be one that matched */
		bool matched = false;
		for (size_t k = first[u]; k < n && !matched; k++)
			matched = (uint64_t)hits[k].seq == lt->row.seq &&
				  strcmp(hits[k].id, uid[u]) == 0;
		if (!matched || (vis != NULL && !vis(vis_ctx, &lt->row)))
			continue;
		if (shown == max) {
			*more = true;
			break;
		}
		/* parsed once, for the snippet and the answer */
		const struct json_val *o;
		struct diag pd;
		if (json_parse(doc, lt->row.body, lt->row.body_len, 0, NULL, &o,
			       &pd) != ST_OK)
			continue; /* the store holds valid JSON */
		char sn[SNIPPET_MAX];
		snippet(o, q, sn, sizeof(sn));
		struct lk_text_hit h = {
		    .row = &lt->row, .obj = o, .snippet = sn};
		shown++;
		rc = fn(ctx, &h);
	}
	lk_latest_free(lts, nu);
	json_doc_free(doc);
	free(uid);
	free(first);
	if (rc == ST_OK && cut && shown == max)
		*more = true;
	buf_free(&pat);
	free(hits);
	return rc;
}
