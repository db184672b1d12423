/*
 * strait: the literal prefilter for LIKE and MATCHES.
 *
 * Every LIKE / MATCHES anchor is a literal that any match must contain
 * (matcher_anchor.c proves it from the pattern); a leaf value that
 * contains it makes its bracket a candidate, which is then confirmed
 * (below). Literals are kept per indexed path, in one of two places:
 *
 *   - a Hyperscan literal database per path (hs_compile_lit_multi, one id
 *     per literal, HS_FLAG_SINGLEMATCH, HS_FLAG_CASELESS for (?i)), built
 *     lazily before a feed once enough literals changed, or on
 *     matcher_compile();
 *   - a q-gram index: each literal is filed under one of its 4-byte
 *     substrings (3-byte for literals of 3 bytes), ASCII-lowercased, the
 *     one whose bucket is emptiest when it is added; a scan looks every
 *     4-byte (and, if needed, 3-byte) window of the value up and compares
 *     the literals filed there. It holds every literal when Hyperscan is
 *     not used, and otherwise the literals added since the last database
 *     build, so adding an indicator never waits for a rebuild.
 *
 * A literal hit on an indicator of one LIKE or MATCHES comparison at a
 * plain path is confirmed here, on the value (in NFC): with a LIKE
 * matcher of the evaluator's semantics, or with a copy of the regex the
 * parser compiled (interpreted until it has been used a few times, then
 * JIT-compiled), under the pattern limits; no parsed pattern is kept for
 * those. Other indicators are confirmed by the evaluator.
 *
 * Why literals and not the whole regex in HS_FLAG_PREFILTER mode: measured
 * here, 10,000 prefilter-mode regexes took ~20 s to compile and ~29 us per
 * scan, against ~0.5 s and ~0.1 us for their literals; the confirmation
 * step makes both exact. Literal extraction also gives both prefilters the
 * same candidates, so results never depend on which one is built in.
 */
#include "pattern/matcher_int.h"
/* The pattern module's internals: pat_nfc (LIKE and MATCHES see NFC) and
 * cmp_x_of (the regex the parser compiled). */
#include "pattern/pattern_int.h"

#include <stdlib.h>
#include <string.h>

#ifdef STRAIT_HAVE_HYPERSCAN
#include <hs/hs.h>
#endif

enum {
	LS_FREE,
	LS_INDEX,  /* in the trigram index */
	LS_DB,	   /* in the Hyperscan database */
	LS_DBDEAD, /* removed, but still in the database until a rebuild */
};

struct mlit {
	char *s;
	uint32_t len;
	uint32_t bracket;
	uint32_t gram;	/* the q-gram it is filed under (lowercased) */
	uint32_t gnext; /* next literal in the same bucket */
	uint32_t next_free;
	uint16_t gpos; /* where that q-gram starts in the literal */
	uint8_t state;
	uint8_t q; /* 3 or 4 */
	bool caseless;
};

/* The literals filed under q-grams of one width. */
struct gidx {
	uint32_t *heads, *counts;
	uint32_t bits; /* log2 of the bucket count; 0: no buckets */
	uint32_t n;
};

struct litset {
	uint32_t path;
	struct mlit *lits;
	uint32_t n, cap, free;
	uint32_t live;
	/* q-gram index: [0] 3-grams, [1] 4-grams */
	struct gidx g[2];
	uint32_t n_indexed;
	/* Hyperscan */
	void *db; /* hs_database_t */
	size_t db_bytes;
	uint32_t *db_ids; /* literal slot per Hyperscan id */
	uint32_t n_db, n_dead;
	bool failed; /* the last build failed: wait for another change */
};

static inline unsigned char lc(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

static inline uint32_t gram_at(const char *s, unsigned q)
{
	const unsigned char *u = (const unsigned char *)s;
	uint32_t g =
	    (uint32_t)lc(u[0]) << 16 | (uint32_t)lc(u[1]) << 8 | lc(u[2]);
	return q == 4 ? g << 8 | lc(u[3]) : g;
}

static inline uint32_t bucket(const struct gidx *x, uint32_t g)
{
	return (g * 2654435761u) >> (32 - x->bits);
}

static bool lit_eq(const struct mlit *l, const char *s)
{
	if (!l->caseless)
		return memcmp(l->s, s, l->len) == 0;
	for (uint32_t i = 0; i < l->len; i++)
		if (lc((unsigned char)l->s[i]) != lc((unsigned char)s[i]))
			return false;
	return true;
}

/* ------------------------------------------------------------------ */
/* Trigram index                                                        */
/* ------------------------------------------------------------------ */

static void gram_link(struct litset *ls, uint32_t id)
{
	struct mlit *l = &ls->lits[id];
	struct gidx *x = &ls->g[l->q == 4];
	uint32_t b = bucket(x, l->gram);
	l->gnext = x->heads[b];
	x->heads[b] = id;
	x->counts[b]++;
}

static int gram_resize(struct litset *ls, struct gidx *x, uint32_t bits)
{
	size_t nb = (size_t)1 << bits;
	uint32_t *h = malloc(nb * sizeof(*h));
	uint32_t *c = calloc(nb, sizeof(*c));
	if (!h || !c) {
		free(h);
		free(c);
		return ST_ENOMEM;
	}
	for (size_t i = 0; i < nb; i++)
		h[i] = MNONE;
	free(x->heads);
	free(x->counts);
	x->heads = h;
	x->counts = c;
	x->bits = bits;
	for (uint32_t i = 0; i < ls->n; i++)
		if (ls->lits[i].state == LS_INDEX &&
		    &ls->g[ls->lits[i].q == 4] == x)
			gram_link(ls, i);
	return ST_OK;
}

static int gram_add(struct litset *ls, uint32_t id)
{
	struct mlit *l = &ls->lits[id];
	l->q = l->len >= 4 ? 4 : 3;
	struct gidx *x = &ls->g[l->q == 4];
	if (!x->bits || (size_t)(x->n + 1) * 2 > (size_t)1 << x->bits) {
		int rc = gram_resize(ls, x, x->bits ? x->bits + 1 : 6);
		if (rc)
			return rc;
	}
	/* File the literal under its least crowded q-gram. */
	uint32_t best = UINT32_MAX;
	for (uint32_t p = 0; p + l->q <= l->len; p++) {
		uint32_t g = gram_at(l->s + p, l->q);
		uint32_t c = x->counts[bucket(x, g)];
		if (c < best) {
			best = c;
			l->gram = g;
			l->gpos = (uint16_t)p;
			if (!c)
				break;
		}
	}
	gram_link(ls, id);
	x->n++;
	ls->n_indexed++;
	return ST_OK;
}

static void gram_del(struct litset *ls, uint32_t id)
{
	struct mlit *l = &ls->lits[id];
	struct gidx *x = &ls->g[l->q == 4];
	uint32_t b = bucket(x, l->gram);
	for (uint32_t *p = &x->heads[b]; *p != MNONE; p = &ls->lits[*p].gnext) {
		if (*p == id) {
			*p = l->gnext;
			x->counts[b]--;
			x->n--;
			ls->n_indexed--;
			return;
		}
	}
}

static void gram_clear(struct litset *ls)
{
	for (int k = 0; k < 2; k++) {
		free(ls->g[k].heads);
		free(ls->g[k].counts);
		memset(&ls->g[k], 0, sizeof(ls->g[k]));
	}
	ls->n_indexed = 0;
}

/* ------------------------------------------------------------------ */
/* Literal slots                                                        */
/* ------------------------------------------------------------------ */

static void slot_free(struct litset *ls, uint32_t id)
{
	struct mlit *l = &ls->lits[id];
	free(l->s);
	l->s = NULL;
	l->state = LS_FREE;
	l->next_free = ls->free;
	ls->free = id;
}

int mlit_add(struct matcher *m, uint32_t path, const char *lit, size_t len,
	     bool caseless, uint32_t bracket, uint32_t *slot)
{
	if (len < 3 || len > MLIT_MAX)
		return ST_EINVAL;
	struct mpath *p = &m->paths[path];
	struct litset *ls = p->lits;
	if (!ls) {
		ls = calloc(1, sizeof(*ls));
		if (!ls)
			return ST_ENOMEM;
		ls->path = path;
		ls->free = MNONE;
		p->lits = ls;
	}
	uint32_t id;
	if (ls->free != MNONE) {
		id = ls->free;
		ls->free = ls->lits[id].next_free;
	} else {
		if (ls->n == ls->cap) {
			uint32_t cap = ls->cap ? ls->cap * 2 : 8;
			struct mlit *a = realloc(ls->lits, cap * sizeof(*a));
			if (!a)
				return ST_ENOMEM;
			ls->lits = a;
			ls->cap = cap;
		}
		id = ls->n++;
	}
	struct mlit *l = &ls->lits[id];
	memset(l, 0, sizeof(*l));
	l->s = malloc(len + 1);
	if (!l->s) {
		l->state = LS_FREE;
		l->next_free = ls->free;
		ls->free = id;
		return ST_ENOMEM;
	}
	memcpy(l->s, lit, len);
	l->s[len] = '\0';
	l->len = (uint32_t)len;
	l->bracket = bracket;
	l->caseless = caseless;
	l->state = LS_INDEX;
	int rc = gram_add(ls, id);
	if (rc) {
		slot_free(ls, id);
		return rc;
	}
	ls->live++;
	ls->failed = false;
	m->n_literals++;
	if (m->use_hs)
		m->lit_dirty = true;
	*slot = id;
	return ST_OK;
}

void mlit_del(struct matcher *m, uint32_t path, uint32_t slot)
{
	struct litset *ls = m->paths[path].lits;
	if (!ls || slot >= ls->n)
		return;
	struct mlit *l = &ls->lits[slot];
	if (l->state == LS_INDEX) {
		gram_del(ls, slot);
		slot_free(ls, slot);
	} else if (l->state == LS_DB) {
		/* The database still reports it: keep the slot until the
		 * next build so the id cannot name another literal. */
		free(l->s);
		l->s = NULL;
		l->state = LS_DBDEAD;
		ls->n_dead++;
		ls->failed = false;
		m->lit_dirty = true;
	} else {
		return;
	}
	ls->live--;
	m->n_literals--;
}

/* ------------------------------------------------------------------ */
/* Scanning                                                             */
/* ------------------------------------------------------------------ */

struct scanctx {
	struct matcher *m;
	struct litset *ls;
	const struct json_val *v;
	bool plain;
	const char *s; /* the value scanned (in NFC) */
	size_t len;
};

/* The literals filed under gram g, which the value has at pos. */
static void gram_probe(struct scanctx *c, const struct gidx *x, uint32_t g,
		       size_t pos, const char *s, size_t len)
{
	struct litset *ls = c->ls;
	for (uint32_t id = x->heads[bucket(x, g)]; id != MNONE;
	     id = ls->lits[id].gnext) {
		const struct mlit *l = &ls->lits[id];
		if (l->gram != g || pos < l->gpos)
			continue;
		size_t start = pos - l->gpos;
		if (start + l->len > len || !lit_eq(l, s + start))
			continue;
		mfeed_lit_hit(c->m, l->bracket, ls->path, c->v, c->plain, c->s,
			      c->len);
	}
}

static void gram_scan(struct scanctx *c, const char *s, size_t len)
{
	const struct gidx *g3 = &c->ls->g[0], *g4 = &c->ls->g[1];
	if (!c->ls->n_indexed)
		return;
	uint32_t g = 0;
	for (size_t i = 0; i < len; i++) {
		g = g << 8 | lc((unsigned char)s[i]);
		if (i >= 2 && g3->n)
			gram_probe(c, g3, g & 0xffffff, i - 2, s, len);
		if (i >= 3 && g4->n)
			gram_probe(c, g4, g, i - 3, s, len);
	}
}

#ifdef STRAIT_HAVE_HYPERSCAN
static int on_hs_match(unsigned int id, unsigned long long from,
		       unsigned long long to, unsigned int flags, void *ctx)
{
	(void)from;
	(void)to;
	(void)flags;
	struct scanctx *c = ctx;
	struct litset *ls = c->ls;
	if (id < ls->n_db) {
		const struct mlit *l = &ls->lits[ls->db_ids[id]];
		if (l->state == LS_DB)
			mfeed_lit_hit(c->m, l->bracket, ls->path, c->v,
				      c->plain, c->s, c->len);
	}
	return 0;
}
#endif

void mlit_scan(struct matcher *m, uint32_t path, const char *s, size_t len,
	       const struct json_val *v, bool plain)
{
	struct scanctx c = {
	    .m = m, .ls = m->paths[path].lits, .v = v, .plain = plain};
	if (!c.ls)
		return;
	/* The evaluator matches LIKE and MATCHES against the value's NFC
	 * form (and the literals come from NFC constants): scan that. ASCII
	 * and text already in NFC are scanned as they are, without copying. */
	char *norm = NULL;
	size_t nlen = 0;
	if (pat_nfc(s, len, &norm, &nlen) == 1) {
		s = norm;
		len = nlen;
	}
	c.s = s;
	c.len = len;
#ifdef STRAIT_HAVE_HYPERSCAN
	if (c.ls->db && m->hs_scratch && len <= UINT32_MAX)
		hs_scan(c.ls->db, s, (unsigned int)len, 0, m->hs_scratch,
			on_hs_match, &c);
#endif
	gram_scan(&c, s, len);
	free(norm);
}

/* ------------------------------------------------------------------ */
/* Confirming single LIKE and MATCHES comparisons                       */
/* ------------------------------------------------------------------ */

int mlit_init(struct matcher *m)
{
	pcre2_match_context *mc = pcre2_match_context_create(NULL);
	pcre2_match_data *md = pcre2_match_data_create(1, NULL);
	if (!mc || !md) {
		pcre2_match_context_free(mc);
		pcre2_match_data_free(md);
		return ST_ENOMEM;
	}
	pcre2_set_match_limit(mc, m->lim.pcre_match_limit);
	pcre2_set_depth_limit(mc, m->lim.pcre_depth_limit);
	pcre2_set_heap_limit(mc, m->lim.pcre_heap_limit);
	m->mctx = mc;
	m->mdata = md;
	return ST_OK;
}

void mlit_fini(struct matcher *m)
{
	pcre2_match_context_free(m->mctx);
	pcre2_match_data_free(m->mdata);
	m->mctx = m->mdata = NULL;
}

void *mlit_regex_copy(const struct pat_cmp *cmp, size_t *mem)
{
	/* The very code the parser compiled (same options), without the
	 * parser's arena around it. */
	const pcre2_code *re = cmp_x_of(cmp)->re;
	pcre2_code *c = re ? pcre2_code_copy(re) : NULL;
	size_t sz = 0;
	if (c)
		pcre2_pattern_info(c, PCRE2_INFO_SIZE, &sz);
	*mem = mmalloc_size(sz);
	return c;
}

void mlit_regex_free(void *re)
{
	pcre2_code_free(re);
}

/* A regex becomes JIT code once it has confirmed this many candidates:
 * the rest stay small (interpreted). */
#define JIT_AFTER 8

int mlit_confirm(struct matcher *m, struct mcold *c, bool regex, const char *s,
		 size_t len, struct diag *d)
{
	if (!c)
		return 0;
	if (!regex)
		return pat_like(&m->lim, c->like, c->like_len, s, len, d);
	pcre2_code *re = c->re;
	if (!re)
		return 0;
	if (c->re_uses < JIT_AFTER && ++c->re_uses == JIT_AFTER &&
	    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE) == 0) {
		size_t sz = 0;
		pcre2_pattern_info(re, PCRE2_INFO_JITSIZE, &sz);
		c->re_mem += sz;
		m->mem_cold += sz;
	}
	int rc = pcre2_match(re, (PCRE2_SPTR)s, len, 0, 0, m->mdata, m->mctx);
	if (rc >= 0)
		return 1;
	switch (rc) {
	case PCRE2_ERROR_NOMATCH:
		return 0;
	case PCRE2_ERROR_MATCHLIMIT:
	case PCRE2_ERROR_DEPTHLIMIT:
	case PCRE2_ERROR_HEAPLIMIT:
	case PCRE2_ERROR_JIT_STACKLIMIT:
	case PCRE2_ERROR_NOMEMORY: {
		PCRE2_UCHAR msg[128];
		pcre2_get_error_message(rc, msg, sizeof(msg));
		return diag_set(d, ST_ELIMIT, "MATCHES: %s", (const char *)msg);
	}
	default:
		return 0;
	}
}

/* ------------------------------------------------------------------ */
/* Hyperscan databases                                                  */
/* ------------------------------------------------------------------ */

#ifdef STRAIT_HAVE_HYPERSCAN
static int build_db(struct matcher *m, struct litset *ls, struct diag *d)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < ls->n; i++)
		if (ls->lits[i].state == LS_INDEX || ls->lits[i].state == LS_DB)
			n++;
	const char **ex = NULL;
	unsigned *flags = NULL, *ids = NULL;
	size_t *lens = NULL;
	uint32_t *map = NULL;
	hs_database_t *db = NULL;
	int rc = ST_OK;
	if (n) {
		ex = malloc(n * sizeof(*ex));
		flags = malloc(n * sizeof(*flags));
		ids = malloc(n * sizeof(*ids));
		lens = malloc(n * sizeof(*lens));
		map = malloc(n * sizeof(*map));
		if (!ex || !flags || !ids || !lens || !map) {
			rc = ST_ENOMEM;
			goto out;
		}
		uint32_t k = 0;
		for (uint32_t i = 0; i < ls->n; i++) {
			const struct mlit *l = &ls->lits[i];
			if (l->state != LS_INDEX && l->state != LS_DB)
				continue;
			ex[k] = l->s;
			lens[k] = l->len;
			flags[k] = HS_FLAG_SINGLEMATCH |
				   (l->caseless ? HS_FLAG_CASELESS : 0);
			ids[k] = k;
			map[k] = i;
			k++;
		}
		hs_compile_error_t *err = NULL;
		if (hs_compile_lit_multi(ex, flags, ids, lens, n, HS_MODE_BLOCK,
					 NULL, &db, &err) != HS_SUCCESS) {
			rc = diag_set(d, ST_EINVAL,
				      "%s: Hyperscan could not build the "
				      "literal database: %s",
				      m->paths[ls->path].display,
				      err && err->message ? err->message : "?");
			hs_free_compile_error(err);
			ls->failed = true;
			goto out;
		}
		hs_scratch_t *scratch = m->hs_scratch;
		if (hs_alloc_scratch(db, &scratch) != HS_SUCCESS) {
			hs_free_database(db);
			db = NULL;
			rc = ST_ENOMEM;
			goto out;
		}
		m->hs_scratch = scratch;
		size_t sz = 0;
		if (hs_scratch_size(scratch, &sz) == HS_SUCCESS)
			m->hs_scratch_size = sz;
	}
	/* Swap: every live literal is now in the database. */
	if (ls->db)
		hs_free_database(ls->db);
	free(ls->db_ids);
	ls->db = db;
	ls->db_ids = map;
	ls->n_db = n;
	ls->db_bytes = 0;
	if (db) {
		size_t sz = 0;
		if (hs_database_size(db, &sz) == HS_SUCCESS)
			ls->db_bytes = sz;
	}
	map = NULL;
	for (uint32_t i = 0; i < ls->n; i++) {
		struct mlit *l = &ls->lits[i];
		if (l->state == LS_INDEX)
			l->state = LS_DB;
		else if (l->state == LS_DBDEAD)
			slot_free(ls, i);
	}
	gram_clear(ls);
	ls->n_dead = 0;
	ls->failed = false;
out:
	free(ex);
	free(flags);
	free(ids);
	free(lens);
	free(map);
	return rc;
}
#endif

int mlit_rebuild(struct matcher *m, bool force, struct diag *d)
{
	int rc = ST_OK;
	m->lit_dirty = false;
#ifdef STRAIT_HAVE_HYPERSCAN
	if (!m->use_hs)
		return ST_OK;
	double t0 = time_mono();
	bool built = false;
	for (uint32_t i = 0; i < m->n_paths; i++) {
		struct litset *ls = m->paths[i].lits;
		if (!ls || ls->failed || (!ls->n_indexed && !ls->n_dead))
			continue;
		/* Few changes stay in the trigram index until more come. */
		if (!force && ls->n_indexed < 256 &&
		    ls->n_dead < ls->n_db / 4 + 256) {
			m->lit_dirty = true;
			continue;
		}
		int r = build_db(m, ls, d);
		if (r && !rc)
			rc = r;
		built = true;
	}
	if (built)
		m->compile_seconds = time_mono() - t0;
#else
	(void)force;
	(void)d;
#endif
	return rc == ST_ENOMEM ? rc : ST_OK;
}

/* ------------------------------------------------------------------ */
/* Memory and teardown                                                  */
/* ------------------------------------------------------------------ */

void mlit_free_set(struct matcher *m, struct litset *ls)
{
	(void)m;
	if (!ls)
		return;
	for (uint32_t i = 0; i < ls->n; i++)
		free(ls->lits[i].s);
	free(ls->lits);
	gram_clear(ls);
#ifdef STRAIT_HAVE_HYPERSCAN
	if (ls->db)
		hs_free_database(ls->db);
#endif
	free(ls->db_ids);
	free(ls);
}

void mlit_free_scratch(struct matcher *m)
{
#ifdef STRAIT_HAVE_HYPERSCAN
	if (m->hs_scratch)
		hs_free_scratch(m->hs_scratch);
#endif
	m->hs_scratch = NULL;
}

size_t mlit_memory(const struct matcher *m, size_t *hs_bytes)
{
	size_t n = 0, hs = m->hs_scratch ? m->hs_scratch_size : 0;
	for (uint32_t i = 0; i < m->n_paths; i++) {
		const struct litset *ls = m->paths[i].lits;
		if (!ls)
			continue;
		n += mmalloc_size(sizeof(*ls)) +
		     mmalloc_size(ls->cap * sizeof(*ls->lits));
		for (uint32_t j = 0; j < ls->n; j++)
			if (ls->lits[j].s)
				n += mmalloc_size(ls->lits[j].len + 1);
		for (int k = 0; k < 2; k++)
			if (ls->g[k].bits)
				n += 2 *
				     mmalloc_size(((size_t)1 << ls->g[k].bits) *
						  sizeof(uint32_t));
		n += mmalloc_size(ls->n_db * sizeof(uint32_t));
		hs += ls->db_bytes;
	}
	*hs_bytes = hs;
	return n;
}
