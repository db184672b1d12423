/*
 * strait: the indexed matcher's lifecycle: indicators in and out of the
 * indexes, their versions, validity and statistics.
 *
 * Per id the matcher remembers, for ever, the newest `modified` it has
 * seen and what became of it (a tombstone for revoked, refused, invalid,
 * expired and removed ones), so an older version arriving late can never
 * bring back what a newer one replaced or revoked. Each change touches
 * only the index entries of that indicator.
 *
 * What an indicator keeps: its anchors (to take them out again), its
 * validity, its interned markings, and only for those that need it the
 * parsed pattern (stateful ones), its text (stateless ones the evaluator
 * confirms: parsed again on demand, with a cache of parsed ones), or its
 * LIKE pattern or a copy of its compiled regex.
 */
#include "pattern/matcher_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef STRAIT_HAVE_HYPERSCAN
#include <hs/hs.h>
#endif

void matcher_config_default(struct matcher_config *c)
{
	memset(c, 0, sizeof(*c));
	c->max_state = 64;
	c->max_always = 64;
	c->min_cidr4 = 8;
	c->min_cidr6 = 32;
	c->min_literal = 3;
	c->prefilter = MATCHER_PREFILTER_AUTO;
	c->pattern_cache = 1024;
}

const char *matcher_outcome_name(int outcome)
{
	static const char *const names[] = {
	    [MATCHER_ACTIVE] = "active",   [MATCHER_PENDING] = "pending",
	    [MATCHER_EXPIRED] = "expired", [MATCHER_REVOKED] = "revoked",
	    [MATCHER_STALE] = "stale",	   [MATCHER_NOT_STIX] = "not-stix",
	    [MATCHER_REFUSED] = "refused",
	};
	if (outcome < 0)
		return st_strerror(outcome);
	if ((size_t)outcome < sizeof(names) / sizeof(names[0]))
		return names[outcome];
	return "?";
}

int matcher_new(const struct matcher_config *c, struct matcher **out,
		struct diag *d)
{
	*out = NULL;
	struct matcher_config cfg;
	if (c)
		cfg = *c;
	else
		matcher_config_default(&cfg);
	if (!cfg.max_state || cfg.max_state > 65536)
		return diag_set(d, ST_EINVAL,
				"max_state must be between 1 and 65536");
	if (cfg.min_cidr4 > 32 || cfg.min_cidr6 > 128)
		return diag_set(d, ST_EINVAL, "min_cidr4/min_cidr6 too long");
	if (cfg.min_literal < 3 || cfg.min_literal > MLIT_MAX)
		return diag_set(d, ST_EINVAL,
				"min_literal must be between 3 and %d",
				MLIT_MAX);
	bool hs = false;
#ifdef STRAIT_HAVE_HYPERSCAN
	hs = hs_valid_platform() == HS_SUCCESS;
#endif
	if (cfg.prefilter == MATCHER_PREFILTER_HYPERSCAN && !hs)
		return diag_set(d, ST_EINVAL,
				"Hyperscan is not available in this build "
				"or on this CPU");
	struct matcher *m = calloc(1, sizeof(*m));
	if (!m)
		return ST_ENOMEM;
	m->cfg = cfg;
	m->lim = cfg.limits ? *cfg.limits : PATTERN_LIMITS_DEFAULT;
	m->cfg.limits = &m->lim;
	m->use_hs = hs && cfg.prefilter != MATCHER_PREFILTER_LITERAL;
	m->now = INT64_MIN;
	m->next_expiry = INT64_MAX;
	m->free_eq = m->free_str = m->free_ind = MNONE;
	m->lru_head = m->lru_tail = MNONE;
	m->tmp = arena_new(64 * 1024);
	m->ids = arena_new(256 * 1024);
	if (!m->tmp || !m->ids || mlit_init(m)) {
		arena_free(m->tmp);
		arena_free(m->ids);
		mlit_fini(m);
		free(m);
		return ST_ENOMEM;
	}
	*out = m;
	return ST_OK;
}

static void ind_uninstall(struct matcher *m, uint32_t slot);

void matcher_free(struct matcher *m)
{
	if (!m)
		return;
	for (uint32_t i = 0; i < m->n_inds; i++)
		if (m->inds[i].rec != MNONE)
			ind_uninstall(m, i);
	mindex_free(m);
	mlit_free_scratch(m);
	mlit_fini(m);
	mfeed_free(m);
	pattern_free(m->scratch_pat);
	free(m->inds);
	free(m->brs);
	free(m->free_brs);
	free(m->always);
	arena_free(m->tmp);
	free(m);
}

/* ------------------------------------------------------------------ */
/* Paths in use                                                         */
/* ------------------------------------------------------------------ */

static uint32_t path_uses(const struct mpath *p)
{
	return p->n_prefix + p->n_eq + p->n_trie + p->n_lit;
}

/* Finds or adds the path nodes of a pattern path: the type, then one per
 * key (list steps collapse). */
static int path_chain(struct matcher *m, const struct pat_path *pp,
		      uint32_t *out)
{
	uint32_t pid;
	int rc = mpath_get(m, MNONE, pp->type, strlen(pp->type), &pid);
	for (uint32_t i = 0; !rc && i < pp->n_steps; i++)
		if (pp->steps[i].kind == PAT_STEP_KEY)
			rc = mpath_get(m, pid, pp->steps[i].key,
				       strlen(pp->steps[i].key), &pid);
	*out = pid;
	return rc;
}

enum { PC_PREFIX, PC_EQ, PC_TRIE, PC_LIT };

static uint32_t *path_count(struct mpath *p, int which)
{
	switch (which) {
	case PC_EQ:
		return &p->n_eq;
	case PC_TRIE:
		return &p->n_trie;
	case PC_LIT:
		return &p->n_lit;
	default:
		return &p->n_prefix;
	}
}

/* A path comes into use: so do the paths it continues. */
static void path_inc(struct matcher *m, uint32_t pid, int which)
{
	while (pid != MNONE) {
		struct mpath *p = &m->paths[pid];
		bool was_unused = path_uses(p) == 0;
		(*path_count(p, which))++;
		mpath_update(p);
		if (!was_unused)
			return;
		pid = p->parent;
		which = PC_PREFIX;
	}
}

static void path_dec(struct matcher *m, uint32_t pid, int which)
{
	while (pid != MNONE) {
		struct mpath *p = &m->paths[pid];
		uint32_t *c = path_count(p, which);
		if (*c)
			(*c)--;
		mpath_update(p);
		if (path_uses(p))
			return;
		pid = p->parent;
		which = PC_PREFIX;
	}
}

/* ------------------------------------------------------------------ */
/* Anchors in and out of the indexes                                    */
/* ------------------------------------------------------------------ */

#define BITS4_SHIFT 12 /* /20 blocks: 2^20 bits, 128 KiB */

static void bits4_set(uint64_t *b, const struct ip_prefix *p)
{
	uint32_t a = (uint32_t)p->addr[0] << 24 | (uint32_t)p->addr[1] << 16 |
		     (uint32_t)p->addr[2] << 8 | p->addr[3];
	uint32_t first = a >> BITS4_SHIFT;
	uint32_t n =
	    p->len >= 32 - BITS4_SHIFT ? 1 : 1u << (32 - BITS4_SHIFT - p->len);
	first &= ~(n - 1);
	for (uint32_t i = first; i < first + n; i++)
		b[i >> 6] |= 1ull << (i & 63);
}

static int bits4_one(void *ctx, const struct ip_prefix *p, uint32_t value)
{
	(void)value;
	bits4_set(ctx, p);
	return 0;
}

/* Clears the bits of removed prefixes: set again from what the trie
 * holds. */
static void bits4_rebuild(struct mpath *p)
{
	memset(p->bits4, 0, (1u << (32 - BITS4_SHIFT)) / 8);
	struct ip_prefix all;
	memset(&all, 0, sizeof(all));
	if (p->trie4)
		iptrie_walk_overlapping(p->trie4, &all, bits4_one, p->bits4);
	p->bits4_dead = 0;
}

static int trie_insert(struct mpath *p, const struct ip_prefix *pfx,
		       uint32_t node)
{
	struct iptrie **t = pfx->v6 ? &p->trie6 : &p->trie4;
	if (!*t && !(*t = iptrie_new()))
		return ST_ENOMEM;
	if (!pfx->v6 && !p->bits4 &&
	    !(p->bits4 = calloc((1u << (32 - BITS4_SHIFT)) / 64, 8)))
		return ST_ENOMEM;
	int rc = iptrie_insert(*t, pfx, node);
	if (rc)
		return rc;
	if (!pfx->v6)
		bits4_set(p->bits4, pfx);
	return ST_OK;
}

static int anchor_add(struct matcher *m, struct mind *ind, uint32_t bracket,
		      const struct matom *a)
{
	uint32_t pid;
	int rc = path_chain(m, a->path, &pid);
	if (rc)
		return rc;
	struct mpath *p = &m->paths[pid];
	if (!p->display[0]) {
		char disp[512];
		manchor_path_display(a->path, disp, sizeof(disp));
		char *dd = strdup(disp);
		if (!dd)
			return ST_ENOMEM;
		free(p->display);
		p->display = dd;
	}
	p->wl_kind = (uint8_t)manchor_path_wl_kind(a->path);
	struct manchor an = {.kind = a->kind, .bracket = bracket, .path = pid};
	switch (a->kind) {
	case MA_EQ: {
		const void *val = a->s;
		size_t len = a->len;
		double d = a->num == 0 ? 0.0 : a->num;
		uint8_t b = a->bval;
		if (a->tag == MV_NUM) {
			val = &d;
			len = sizeof(d);
		} else if (a->tag == MV_BOOL) {
			val = &b;
			len = 1;
		}
		uint32_t node;
		rc = meq_get(m, pid, a->tag, val, len, &node);
		if (rc)
			return rc;
		rc = mpost_add(&m->eqs[node].post, bracket);
		if (rc <= 0) {
			meq_release(m, node);
			return rc; /* 0: already there for this bracket */
		}
		an.ref = node;
		path_inc(m, pid, PC_EQ);
		break;
	}
	case MA_TRIE: {
		uint32_t node;
		rc = meq_get(m, pid, MV_PFX, &a->pfx, sizeof(a->pfx), &node);
		if (rc)
			return rc;
		bool first = m->eqs[node].post.n == 0;
		rc = mpost_add(&m->eqs[node].post, bracket);
		if (rc <= 0) {
			meq_release(m, node);
			return rc;
		}
		if (first) {
			rc = trie_insert(&m->paths[pid], &a->pfx, node);
			if (rc) {
				mpost_del(&m->eqs[node].post, bracket);
				meq_release(m, node);
				return rc;
			}
			m->n_prefixes++;
		}
		an.ref = node;
		path_inc(m, pid, PC_TRIE);
		break;
	}
	case MA_LIT:
		rc = mlit_add(m, pid, a->s, a->len, a->caseless, bracket,
			      &an.ref);
		if (rc)
			return rc;
		path_inc(m, pid, PC_LIT);
		break;
	default:
		return ST_EINVAL;
	}
	mind_anchors(ind)[ind->n_anchors++] = an;
	return ST_OK;
}

static void anchor_del(struct matcher *m, const struct manchor *an)
{
	switch (an->kind) {
	case MA_EQ:
		mpost_del(&m->eqs[an->ref].post, an->bracket);
		meq_release(m, an->ref);
		path_dec(m, an->path, PC_EQ);
		break;
	case MA_TRIE: {
		struct meq *e = &m->eqs[an->ref];
		mpost_del(&e->post, an->bracket);
		if (!e->post.n) {
			struct ip_prefix pfx;
			memcpy(&pfx, meq_val(e), sizeof(pfx));
			struct mpath *p = &m->paths[an->path];
			struct iptrie *t = pfx.v6 ? p->trie6 : p->trie4;
			if (t)
				iptrie_remove(t, &pfx, an->ref);
			if (!pfx.v6 && p->bits4 &&
			    ++p->bits4_dead > iptrie_count(p->trie4) / 2 + 64)
				bits4_rebuild(p);
			m->n_prefixes--;
		}
		meq_release(m, an->ref);
		path_dec(m, an->path, PC_TRIE);
		break;
	}
	case MA_LIT:
		mlit_del(m, an->path, an->ref);
		path_dec(m, an->path, PC_LIT);
		break;
	default:
		break;
	}
}

/* ------------------------------------------------------------------ */
/* Indicator slots and brackets                                         */
/* ------------------------------------------------------------------ */

static int bracket_new(struct matcher *m, uint32_t *out)
{
	if (m->n_free_brs) {
		*out = m->free_brs[--m->n_free_brs];
		return ST_OK;
	}
	if (m->n_brs == m->cap_brs) {
		uint32_t cap = m->cap_brs ? m->cap_brs * 2 : 64;
		struct mbracket *a = realloc(m->brs, cap * sizeof(*a));
		if (!a)
			return ST_ENOMEM;
		m->brs = a;
		m->cap_brs = cap;
	}
	*out = m->n_brs++;
	return ST_OK;
}

static void bracket_free(struct matcher *m, uint32_t b)
{
	m->brs[b].ind = MNONE;
	m->brs[b].ce = NULL;
	m->brs[b].flags = 0;
	if (m->n_free_brs == m->cap_free_brs) {
		uint32_t cap = m->cap_free_brs ? m->cap_free_brs * 2 : 64;
		uint32_t *a = realloc(m->free_brs, cap * sizeof(*a));
		if (!a)
			return; /* the slot is lost, nothing breaks */
		m->free_brs = a;
		m->cap_free_brs = cap;
	}
	m->free_brs[m->n_free_brs++] = b;
}

static int slot_new(struct matcher *m, uint32_t *out)
{
	if (m->free_ind != MNONE) {
		*out = m->free_ind;
		m->free_ind = m->inds[*out].next_free;
		return ST_OK;
	}
	if (m->n_inds == m->cap_inds) {
		uint32_t cap = m->cap_inds ? m->cap_inds * 2 : 64;
		struct mind *a = realloc(m->inds, cap * sizeof(*a));
		if (!a)
			return ST_ENOMEM;
		m->inds = a;
		m->cap_inds = cap;
	}
	*out = m->n_inds++;
	return ST_OK;
}

static struct mcold *cold_of(struct matcher *m, struct mind *ind)
{
	if (!ind->cold) {
		ind->cold = calloc(1, sizeof(*ind->cold));
		if (ind->cold) {
			ind->cold->lru_prev = ind->cold->lru_next = MNONE;
			m->mem_cold += mmalloc_size(sizeof(*ind->cold));
		}
	}
	return ind->cold;
}

static void always_del(struct matcher *m, uint32_t b)
{
	for (uint32_t i = 0; i < m->n_always; i++) {
		if (m->always[i] == b) {
			m->always[i] = m->always[--m->n_always];
			return;
		}
	}
}

static void lru_unlink(struct matcher *m, uint32_t slot);

static void cold_free(struct matcher *m, uint32_t slot)
{
	struct mind *ind = &m->inds[slot];
	struct mcold *c = ind->cold;
	if (!c)
		return;
	if (ind->flags & MI_CACHED)
		lru_unlink(m, slot);
	mstate_free(m, c->state);
	pattern_free(c->pat);
	m->mem_patterns -= c->pat_mem;
	m->mem_cold -= mmalloc_size(sizeof(*c)) +
		       mmalloc_size(c->text ? c->text_len + 1 : 0) +
		       mmalloc_size(c->like ? c->like_len + 1 : 0) + c->re_mem;
	free(c->text);
	free(c->like);
	mlit_regex_free(c->re);
	free(c->disable_reason);
	free(c);
	ind->cold = NULL;
}

static void ind_uninstall(struct matcher *m, uint32_t slot)
{
	struct mind *ind = &m->inds[slot];
	struct manchor *an = mind_anchors(ind);
	for (uint32_t i = 0; i < ind->n_anchors; i++)
		anchor_del(m, &an[i]);
	uint32_t *br = mind_brackets(ind);
	for (uint32_t i = 0; i < ind->n_brackets; i++) {
		if (m->brs[br[i]].flags & MB_ALWAYS)
			always_del(m, br[i]);
		bracket_free(m, br[i]);
	}
	if (ind->flags & MI_AN_MANY)
		free(ind->an.many);
	if (ind->flags & MI_BR_MANY)
		free(ind->br.many);
	mmarks_release(m, ind->marks);
	cold_free(m, slot);
	if (ind->rec != MNONE)
		m->recs[ind->rec].slot = MNONE;
	memset(ind, 0, sizeof(*ind));
	ind->rec = MNONE;
	ind->next_free = m->free_ind;
	m->free_ind = slot;
}

static void rec_reason(struct mrec *r, const char *reason)
{
	free(r->reason);
	r->reason = reason && *reason ? strdup(reason) : NULL;
}

void mind_disable(struct matcher *m, uint32_t slot, const char *reason)
{
	struct mind *ind = &m->inds[slot];
	if (ind->rec == MNONE)
		return;
	struct mrec *r = &m->recs[ind->rec];
	rec_reason(r, reason ? reason : "disabled");
	r->status = MATCHER_ST_DISABLED;
	ind_uninstall(m, slot);
	if (m->cfg.on_disable)
		m->cfg.on_disable(m->cfg.on_disable_ctx, r->id,
				  r->reason ? r->reason : "disabled");
}

void mind_flag_disable(struct matcher *m, uint32_t slot, const char *reason)
{
	struct mind *ind = &m->inds[slot];
	if (ind->flags & MI_DISABLE)
		return;
	if (m->n_dis == m->cap_dis) {
		uint32_t cap = m->cap_dis ? m->cap_dis * 2 : 16;
		uint32_t *a = realloc(m->dis, cap * sizeof(*a));
		if (!a)
			return; /* it stays enabled; the limit will recur */
		m->dis = a;
		m->cap_dis = cap;
	}
	m->dis[m->n_dis++] = slot;
	ind->flags |= MI_DISABLE;
	struct mcold *c = cold_of(m, ind);
	if (c) {
		free(c->disable_reason);
		c->disable_reason = strdup(reason);
	}
}

/* ------------------------------------------------------------------ */
/* The cache of parsed stateless patterns                               */
/* ------------------------------------------------------------------ */

/* An estimate of the memory a parsed pattern holds, counted the way
 * malloc would (and measured so here): the parser's arena (4 KiB blocks,
 * or four times the text for long patterns), its node list and match
 * context, and for each MATCHES two compiled regexes with JIT code. */
static size_t regex_count(const struct pat_cexpr *ce)
{
	if (!ce)
		return 0;
	if (ce->kind != PAT_CE_CMP)
		return regex_count(ce->l) + regex_count(ce->r);
	return ce->cmp->op == PAT_OP_MATCHES;
}

static size_t oexpr_nodes(const struct pat_oexpr *e, size_t *regexes)
{
	if (!e)
		return 0;
	*regexes += regex_count(e->cexpr);
	return 1 + oexpr_nodes(e->l, regexes) + oexpr_nodes(e->r, regexes);
}

static size_t pattern_mem(const struct pattern *p, size_t text_len)
{
	size_t regexes = 0;
	size_t nodes = oexpr_nodes(pattern_root(p), &regexes);
	size_t block = text_len < 2048 ? 4096 : text_len * 4;
	return mmalloc_size(128) + mmalloc_size(block + 32) +
	       mmalloc_size(nodes * sizeof(void *)) + mmalloc_size(64) +
	       regexes * 3584;
}

static void lru_unlink(struct matcher *m, uint32_t slot)
{
	struct mcold *c = m->inds[slot].cold;
	if (c->lru_prev != MNONE)
		m->inds[c->lru_prev].cold->lru_next = c->lru_next;
	else
		m->lru_head = c->lru_next;
	if (c->lru_next != MNONE)
		m->inds[c->lru_next].cold->lru_prev = c->lru_prev;
	else
		m->lru_tail = c->lru_prev;
	c->lru_prev = c->lru_next = MNONE;
	m->inds[slot].flags &= ~(uint32_t)MI_CACHED;
	m->n_cached--;
}

static void lru_push(struct matcher *m, uint32_t slot)
{
	struct mcold *c = m->inds[slot].cold;
	c->lru_prev = MNONE;
	c->lru_next = m->lru_head;
	if (m->lru_head != MNONE)
		m->inds[m->lru_head].cold->lru_prev = slot;
	else
		m->lru_tail = slot;
	m->lru_head = slot;
	m->inds[slot].flags |= MI_CACHED;
	m->n_cached++;
}

static void lru_evict(struct matcher *m, uint32_t slot)
{
	struct mcold *c = m->inds[slot].cold;
	lru_unlink(m, slot);
	pattern_free(c->pat);
	c->pat = NULL;
	m->mem_patterns -= c->pat_mem;
	c->pat_mem = 0;
}

/* Puts a stateless indicator's parsed pattern in the cache, making room
 * (never by evicting it). */
static void cache_put(struct matcher *m, uint32_t slot, struct pattern *p)
{
	struct mcold *c = m->inds[slot].cold;
	c->pat = p;
	c->pat_mem = pattern_mem(p, c->text_len);
	m->mem_patterns += c->pat_mem;
	lru_push(m, slot);
	while (m->n_cached > m->cfg.pattern_cache && m->lru_tail != slot)
		lru_evict(m, m->lru_tail);
}

struct pattern *mind_pattern(struct matcher *m, uint32_t slot, int *rc,
			     struct diag *d)
{
	struct mind *ind = &m->inds[slot];
	struct mcold *c = ind->cold;
	*rc = ST_OK;
	if (c && c->pat) {
		if ((ind->flags & MI_CACHED) && m->lru_head != slot) {
			lru_unlink(m, slot);
			lru_push(m, slot);
		}
		return c->pat;
	}
	if (!c || !c->text) {
		*rc = diag_set(d, ST_EINVAL, "no pattern kept");
		return NULL;
	}
	struct pattern *p = NULL;
	*rc = pattern_parse(c->text, c->text_len, &m->lim, &p, d);
	if (*rc)
		return NULL;
	if (!m->cfg.pattern_cache) {
		/* Lives until the next call. */
		pattern_free(m->scratch_pat);
		m->scratch_pat = p;
		return p;
	}
	cache_put(m, slot, p);
	return p;
}

/* ------------------------------------------------------------------ */
/* Compiling one indicator                                              */
/* ------------------------------------------------------------------ */

static uint32_t count_brackets(const struct pat_oexpr *e)
{
	if (!e)
		return 0;
	if (e->kind == PAT_OE_OBS)
		return 1;
	return count_brackets(e->l) + count_brackets(e->r);
}

static void list_brackets(const struct pat_oexpr *e,
			  const struct pat_cexpr **out, uint32_t *n)
{
	if (!e)
		return;
	if (e->kind == PAT_OE_OBS) {
		out[(*n)++] = e->cexpr;
		return;
	}
	list_brackets(e->l, out, n);
	list_brackets(e->r, out, n);
}

static uint32_t max_repeats(const struct pat_oexpr *e)
{
	if (!e || e->kind == PAT_OE_OBS)
		return 0;
	uint32_t a = max_repeats(e->l), b = max_repeats(e->r);
	uint32_t r = e->kind == PAT_OE_REPEATS ? e->repeats : 0;
	return a > b ? (a > r ? a : r) : (b > r ? b : r);
}

/* How a bracket is decided: MB_EXACT, MB_LIKE, MB_REGEX or 0 (the
 * evaluator). One comparison at a plain path, not negated: = and IN on
 * strings and ISSUBSET compare the selected value as the indexes do (the
 * evaluator compares strings bytewise and prefixes with ip_contains);
 * LIKE and MATCHES are tested on the value by the matcher itself. */
static uint8_t bracket_kind(const struct pat_cexpr *ce, bool stateless)
{
	if (ce->kind != PAT_CE_CMP)
		return 0;
	const struct pat_cmp *c = ce->cmp;
	bool plain;
	if (c->negated || !c->n_vals || !manchor_path_ok(&c->path, &plain) ||
	    !plain)
		return 0;
	for (uint32_t i = 0; i < c->n_vals; i++)
		if (c->vals[i].type != PAT_C_STRING)
			return 0;
	switch (c->op) {
	case PAT_OP_EQ:
	case PAT_OP_IN:
	case PAT_OP_ISSUBSET:
		return MB_EXACT;
	case PAT_OP_LIKE:
		return stateless ? MB_LIKE : 0;
	case PAT_OP_MATCHES:
		return stateless ? MB_REGEX : 0;
	default:
		return 0;
	}
}

struct indfields {
	const char *id;
	size_t id_len;
	st_time modified, valid_from, valid_until;
	bool revoked;
	const struct json_val *pattern, *pattern_type, *markings, *creator;
};

/* Keeps what confirming needs besides the indexes. */
static int keep_for_confirmation(struct matcher *m, uint32_t slot,
				 const struct indfields *f, struct pattern *pat,
				 uint8_t kind, bool stateful, bool *owned)
{
	struct mind *ind = &m->inds[slot];
	*owned = false;
	if (kind == MB_EXACT)
		return ST_OK;
	struct mcold *c = cold_of(m, ind);
	if (!c)
		return ST_ENOMEM;
	const struct pat_oexpr *root = pattern_root(pat);
	if (stateful) {
		c->pat = pat;
		c->pat_mem = pattern_mem(pat, f->pattern->len);
		m->mem_patterns += c->pat_mem;
		*owned = true;
		return ST_OK;
	}
	const struct pat_cmp *cmp = root->cexpr->cmp;
	if (kind == MB_LIKE) {
		const struct pat_const *v = &cmp->vals[0];
		c->like = malloc(v->u.str.len + 1);
		if (!c->like)
			return ST_ENOMEM;
		memcpy(c->like, v->u.str.p, v->u.str.len + 1);
		c->like_len = (uint32_t)v->u.str.len;
		m->mem_cold += mmalloc_size(c->like_len + 1);
		return ST_OK;
	}
	if (kind == MB_REGEX) {
		c->re = mlit_regex_copy(cmp, &c->re_mem);
		if (!c->re)
			return ST_ENOMEM;
		m->mem_cold += c->re_mem;
		return ST_OK;
	}
	/* The evaluator confirms: the text, and the tree while cached. */
	c->text = malloc(f->pattern->len + 1);
	if (!c->text)
		return ST_ENOMEM;
	memcpy(c->text, f->pattern->u.str, f->pattern->len);
	c->text[f->pattern->len] = '\0';
	c->text_len = f->pattern->len;
	m->mem_cold += mmalloc_size(c->text_len + 1);
	if (m->cfg.pattern_cache) {
		cache_put(m, slot, pat);
		*owned = true;
	}
	return ST_OK;
}

static int install(struct matcher *m, uint32_t rec, const struct indfields *f,
		   struct pattern *pat, bool *owned, struct diag *why)
{
	const struct pat_oexpr *root = pattern_root(pat);
	bool stateful = pattern_is_stateful(pat);
	uint32_t nb = count_brackets(root);
	*owned = false;
	if (!nb || nb > 65535)
		return diag_set(why, ST_EINVAL, "pattern has %u brackets", nb);
	if (stateful && max_repeats(root) > m->cfg.max_state) {
		diag_set(why, ST_EINVAL,
			 "REPEATS %u TIMES needs more state than the %u "
			 "observations kept per indicator",
			 max_repeats(root), m->cfg.max_state);
		return MATCHER_REFUSED;
	}
	arena_reset(m->tmp);
	const struct pat_cexpr **ces = arena_alloc(m->tmp, nb * sizeof(*ces));
	uint32_t *from = arena_alloc(m->tmp, (nb + 1) * sizeof(*from));
	if (!ces || !from)
		return ST_ENOMEM;
	uint32_t k = 0;
	list_brackets(root, ces, &k);

	/* Anchors of every bracket; a bracket without any is evaluated
	 * against every observation, within max_always. */
	struct manchors A = {0};
	uint32_t n_always = 0;
	for (uint32_t i = 0; i < nb; i++) {
		struct diag bwhy;
		bwhy.msg[0] = '\0';
		from[i] = A.n;
		int rc = manchor_cexpr(m, ces[i], &A, &bwhy);
		if (rc < 0)
			return rc;
		if (rc == 0) {
			if (bwhy.msg[0]) {
				diag_set(why, ST_EINVAL, "%s", bwhy.msg);
				return MATCHER_REFUSED;
			}
			n_always++;
		}
	}
	from[nb] = A.n;
	if (n_always && m->n_always + n_always > m->cfg.max_always) {
		diag_set(why, ST_EINVAL,
			 "no indexable comparison (=, IN, ISSUBSET, LIKE or "
			 "MATCHES) in %u bracket(s), and the list of those "
			 "checked against every observation is full (%u)",
			 n_always, m->cfg.max_always);
		return MATCHER_REFUSED;
	}

	uint32_t slot;
	int rc = slot_new(m, &slot);
	if (rc)
		return rc;
	struct mind *ind = &m->inds[slot];
	memset(ind, 0, sizeof(*ind));
	ind->rec = rec;
	ind->modified = f->modified;
	ind->valid_from = f->valid_from;
	ind->valid_until = f->valid_until;
	ind->flags = stateful ? MI_STATEFUL : 0;
	m->recs[rec].slot = slot;
	if (nb > 1) {
		if (!(ind->br.many = calloc(nb, sizeof(uint32_t)))) {
			rc = ST_ENOMEM;
			goto fail;
		}
		ind->flags |= MI_BR_MANY;
	}
	if (A.n > 1) {
		if (!(ind->an.many = malloc(A.n * sizeof(struct manchor)))) {
			rc = ST_ENOMEM;
			goto fail;
		}
		ind->flags |= MI_AN_MANY;
	}
	uint8_t kind0 = 0;
	for (uint32_t i = 0; i < nb; i++) {
		uint32_t b;
		rc = bracket_new(m, &b);
		if (rc)
			goto fail;
		struct mbracket *br = &m->brs[b];
		memset(br, 0, sizeof(*br));
		br->ind = slot;
		br->idx = (uint16_t)i;
		br->ce = stateful ? ces[i] : NULL;
		mind_brackets(ind)[i] = b;
		ind->n_brackets = i + 1;
		if (from[i] == from[i + 1]) {
			if (m->n_always == m->cap_always) {
				uint32_t cap =
				    m->cap_always ? m->cap_always * 2 : 16;
				uint32_t *a =
				    realloc(m->always, cap * sizeof(*a));
				if (!a) {
					rc = ST_ENOMEM;
					goto fail;
				}
				m->always = a;
				m->cap_always = cap;
			}
			br->flags |= MB_ALWAYS;
			m->always[m->n_always++] = b;
			continue;
		}
		br->flags |= bracket_kind(ces[i], !stateful);
		if (i == 0)
			kind0 = br->flags & MB_DECIDED;
		for (uint32_t j = from[i]; j < from[i + 1]; j++) {
			rc = anchor_add(m, ind, b, &A.a[j]);
			if (rc)
				goto fail;
		}
	}

	ind->marks = mmarks_intern(m, f->markings, f->creator, &rc);
	if (rc)
		goto fail;
	if (stateful) {
		struct mcold *c = cold_of(m, ind);
		if (!c || !(c->state = calloc(1, sizeof(*c->state)))) {
			rc = ST_ENOMEM;
			goto fail;
		}
		manchor_window(root, &c->state->horizon, &c->state->start,
			       &c->state->stop);
		c->state->newest = INT64_MIN;
	}
	rc = keep_for_confirmation(m, slot, f, pat, stateful ? 0 : kind0,
				   stateful, owned);
	if (rc)
		goto fail;
	if (f->valid_until < m->next_expiry)
		m->next_expiry = f->valid_until;
	return ST_OK;

fail:
	if (*owned) {
		/* Taken back: the caller frees it. */
		struct mcold *c = m->inds[slot].cold;
		if (m->inds[slot].flags & MI_CACHED)
			lru_unlink(m, slot);
		m->mem_patterns -= c->pat_mem;
		c->pat = NULL;
		c->pat_mem = 0;
		*owned = false;
	}
	ind_uninstall(m, slot);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Offers                                                               */
/* ------------------------------------------------------------------ */

static int read_time(const struct json_val *v, st_time *out)
{
	if (!v || v->type != JSON_STRING)
		return ST_EINVAL;
	return ts_parse(v->u.str, v->len, out, NULL);
}

static int read_fields(const struct json_val *o, struct indfields *f,
		       struct diag *why)
{
	memset(f, 0, sizeof(*f));
	if (!o || o->type != JSON_OBJECT)
		return diag_set(why, ST_EINVAL, "not a JSON object");
	if (!json_str_eq(json_get(o, "type"), "indicator"))
		return diag_set(why, ST_EINVAL, "not an indicator");
	const struct json_val *id = json_get(o, "id");
	if (!id || id->type != JSON_STRING || !id->len || id->len > 256)
		return diag_set(why, ST_EINVAL, "indicator without an id");
	f->id = id->u.str;
	f->id_len = id->len;
	const struct json_val *mod = json_get(o, "modified");
	if (!mod)
		mod = json_get(o, "created");
	if (read_time(mod, &f->modified))
		return diag_set(why, ST_EINVAL,
				"%s: no valid 'modified' timestamp", f->id);
	const struct json_val *rv = json_get(o, "revoked");
	f->revoked = rv && rv->type == JSON_TRUE;
	f->valid_from = INT64_MIN;
	f->valid_until = INT64_MAX;
	const struct json_val *v = json_get(o, "valid_from");
	if (v && read_time(v, &f->valid_from))
		return diag_set(why, ST_EINVAL, "%s: bad 'valid_from'", f->id);
	v = json_get(o, "valid_until");
	if (v && read_time(v, &f->valid_until))
		return diag_set(why, ST_EINVAL, "%s: bad 'valid_until'", f->id);
	f->pattern = json_get(o, "pattern");
	f->pattern_type = json_get(o, "pattern_type");
	f->markings = json_get(o, "object_marking_refs");
	f->creator = json_get(o, "created_by_ref");
	return ST_OK;
}

static void tombstone(struct mrec *r, int status, const char *reason)
{
	r->status = (uint8_t)status;
	rec_reason(r, reason);
}

int matcher_offer(struct matcher *m, const struct json_val *indicator,
		  st_time now, struct diag *why)
{
	if (why)
		why->msg[0] = '\0';
	matcher_advance(m, now);
	struct indfields f;
	int rc = read_fields(indicator, &f, why);
	if (rc)
		return rc;
	uint32_t ri = mrec_find(m, f.id, f.id_len);
	if (ri == MNONE) {
		rc = mrec_add(m, f.id, f.id_len, &ri);
		if (rc)
			return rc;
	}
	struct mrec *r = &m->recs[ri];
	if (r->status == MATCHER_ST_REVOKED) {
		if (f.modified > r->modified)
			r->modified = f.modified;
		return MATCHER_REVOKED;
	}
	if (r->status == MATCHER_ST_REMOVED ? f.modified < r->removed
					    : f.modified <= r->modified)
		return MATCHER_STALE;

	/* This version is the newest: whatever it says replaces the old. */
	r->modified = f.modified;
	if (r->slot != MNONE)
		ind_uninstall(m, r->slot);
	if (f.revoked) {
		tombstone(r, MATCHER_ST_REVOKED, NULL);
		return MATCHER_REVOKED;
	}
	/* STIX 2.0 indicators (no spec_version) had no pattern_type: their
	 * patterns are STIX patterns. */
	bool v20 = !f.pattern_type && !json_get(indicator, "spec_version");
	if (!v20 && !json_str_eq(f.pattern_type, "stix")) {
		tombstone(r, MATCHER_ST_NOT_STIX, NULL);
		return MATCHER_NOT_STIX;
	}
	if (!f.pattern || f.pattern->type != JSON_STRING) {
		rc = diag_set(why, ST_EINVAL, "%s: no 'pattern'", r->id);
		tombstone(r, MATCHER_ST_INVALID, "no pattern");
		return rc;
	}
	if (f.valid_until <= m->now) {
		tombstone(r, MATCHER_ST_EXPIRED, NULL);
		return MATCHER_EXPIRED;
	}
	struct pattern *pat = NULL;
	struct diag pd;
	rc =
	    pattern_parse(f.pattern->u.str, f.pattern->len, &m->lim, &pat, &pd);
	if (rc) {
		diag_set(why, rc, "%s: pattern %s", r->id, pd.msg);
		if (rc == ST_ENOMEM)
			r->removed = r->modified;
		tombstone(r,
			  rc == ST_ENOMEM ? MATCHER_ST_REMOVED
					  : MATCHER_ST_INVALID,
			  pd.msg);
		return rc;
	}
	bool owned;
	rc = install(m, ri, &f, pat, &owned, &pd);
	r = &m->recs[ri];
	if (!owned)
		pattern_free(pat);
	if (rc == MATCHER_REFUSED) {
		diag_set(why, ST_EINVAL, "%s: refused: %s", r->id, pd.msg);
		tombstone(r, MATCHER_ST_REFUSED, pd.msg);
		m->c_refusals++;
		return MATCHER_REFUSED;
	}
	if (rc == ST_ENOMEM) {
		/* Not the indicator's fault: as if removed, so offering the
		 * same version again retries it. */
		diag_set(why, rc, "%s: out of memory", r->id);
		r->removed = r->modified;
		tombstone(r, MATCHER_ST_REMOVED, "out of memory");
		return rc;
	}
	if (rc) {
		diag_set(why, rc, "%s: %s", r->id, pd.msg);
		tombstone(r, MATCHER_ST_INVALID, pd.msg);
		return rc;
	}
	rec_reason(r, NULL);
	if (f.valid_from > m->now) {
		r->status = MATCHER_ST_PENDING;
		return MATCHER_PENDING;
	}
	r->status = MATCHER_ST_ACTIVE;
	return MATCHER_ACTIVE;
}

int matcher_remove(struct matcher *m, const char *id)
{
	uint32_t ri = mrec_find(m, id, strlen(id));
	if (ri == MNONE || m->recs[ri].slot == MNONE)
		return ST_ENOTFOUND;
	struct mrec *r = &m->recs[ri];
	ind_uninstall(m, r->slot);
	r->removed = r->modified;
	tombstone(r, MATCHER_ST_REMOVED, NULL);
	return ST_OK;
}

void matcher_advance(struct matcher *m, st_time now)
{
	if (now > m->now)
		m->now = now;
	if (m->now < m->next_expiry)
		return;
	st_time next = INT64_MAX;
	for (uint32_t i = 0; i < m->n_inds; i++) {
		struct mind *ind = &m->inds[i];
		if (ind->rec == MNONE)
			continue;
		if (ind->valid_until <= m->now) {
			struct mrec *r = &m->recs[ind->rec];
			ind_uninstall(m, i);
			tombstone(r, MATCHER_ST_EXPIRED, NULL);
		} else if (ind->valid_until < next) {
			next = ind->valid_until;
		}
	}
	m->next_expiry = next;
}

int matcher_compile(struct matcher *m, struct diag *d)
{
	return mlit_rebuild(m, true, d);
}

enum matcher_status matcher_status(const struct matcher *m, const char *id,
				   const char **reason)
{
	if (reason)
		*reason = NULL;
	uint32_t ri = mrec_find(m, id, strlen(id));
	if (ri == MNONE)
		return MATCHER_ST_UNKNOWN;
	const struct mrec *r = &m->recs[ri];
	if (reason)
		*reason = r->reason;
	if (r->slot != MNONE)
		return m->inds[r->slot].valid_from > m->now ? MATCHER_ST_PENDING
							    : MATCHER_ST_ACTIVE;
	return (enum matcher_status)r->status;
}

/* ------------------------------------------------------------------ */
/* Statistics                                                           */
/* ------------------------------------------------------------------ */

void matcher_stats(const struct matcher *m, struct matcher_stats *s)
{
	memset(s, 0, sizeof(*s));
	size_t tables = mindex_memory(m);
	tables += mmalloc_size(sizeof(*m)) +
		  mmalloc_size(m->cap_inds * sizeof(*m->inds)) +
		  mmalloc_size(m->cap_brs * sizeof(*m->brs)) +
		  mmalloc_size(m->cap_free_brs * sizeof(uint32_t)) +
		  mmalloc_size(m->cap_always * sizeof(uint32_t)) +
		  mmalloc_size(m->cap_cands * sizeof(*m->cands)) +
		  mmalloc_size(m->cap_hvals * sizeof(*m->hvals)) +
		  mmalloc_size(m->cap_touched * sizeof(uint32_t)) +
		  mmalloc_size(m->cap_out_vals * sizeof(*m->out_vals)) +
		  mmalloc_size(m->cap_numbuf) +
		  mmalloc_size(m->cap_refmap * sizeof(uint32_t)) +
		  arena_used(m->tmp) + m->mem_cold;
	size_t state = m->mem_state;
	for (uint32_t i = 0; i < m->n_inds; i++) {
		const struct mind *ind = &m->inds[i];
		if (ind->rec == MNONE)
			continue;
		if (ind->valid_from > m->now)
			s->pending++;
		else
			s->active++;
		if (ind->flags & MI_STATEFUL)
			s->stateful++;
		else if (m->brs[ind->br.one].flags & MB_DECIDED)
			s->exact++;
		if (ind->flags & MI_BR_MANY)
			tables += mmalloc_size(ind->n_brackets * 4);
		if (ind->flags & MI_AN_MANY)
			tables += mmalloc_size(ind->n_anchors *
					       sizeof(struct manchor));
		if (ind->cold)
			state += mstate_memory(ind->cold->state);
	}
	for (uint32_t i = 0; i < m->n_recs; i++) {
		switch (m->recs[i].status) {
		case MATCHER_ST_REFUSED:
			s->refused++;
			break;
		case MATCHER_ST_DISABLED:
			s->disabled++;
			break;
		case MATCHER_ST_INVALID:
			s->invalid++;
			break;
		case MATCHER_ST_REVOKED:
			s->revoked++;
			break;
		case MATCHER_ST_EXPIRED:
			s->expired++;
			break;
		case MATCHER_ST_NOT_STIX:
			s->not_stix++;
			break;
		default:
			break;
		}
	}
	s->ids = m->n_recs;
	s->always = m->n_always;
	for (uint32_t i = 0; i < m->n_paths; i++)
		if (m->paths[i].flags & (MP_EQ | MP_TRIE | MP_LIT))
			s->paths++;
	s->eq_keys = m->live_eqs - m->n_prefixes;
	s->prefixes = m->n_prefixes;
	s->literals = m->n_literals;
	s->observations = m->c_obs;
	s->candidates = m->c_cands;
	s->confirmations = m->c_confirm;
	s->hits = m->c_hits;
	s->suppressed = m->c_suppressed;
	s->refusals = m->c_refusals;
	size_t hs = 0;
	tables += mlit_memory(m, &hs);
	size_t tries = 0;
	for (uint32_t i = 0; i < m->n_paths; i++) {
		if (m->paths[i].trie4)
			tries += iptrie_memory(m->paths[i].trie4);
		if (m->paths[i].trie6)
			tries += iptrie_memory(m->paths[i].trie6);
	}
	s->mem_tables = tables;
	s->mem_tries = tries;
	s->mem_patterns = m->mem_patterns;
	s->mem_hyperscan = hs;
	s->mem_state = state;
	s->memory = tables + tries + m->mem_patterns + hs + state;
	s->prefilter = m->use_hs ? "hyperscan" : "literal-index";
	s->compile_seconds = m->compile_seconds;
}
