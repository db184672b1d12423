/*
 * strait: matching one observation.
 *
 * 1. Walk each SCO once. Each member is looked up in the path tree by
 *    (the path so far, its key); a key no indexed path uses ends the walk
 *    of that branch, so only what some indicator indexes is visited, and
 *    no key string is ever built. Lists collapse into their key.
 *    References (*_ref, *_refs) that an indexed path continues through
 *    are resolved within the observation and walked under the referring
 *    path. Each indexed leaf is looked up in the equality table, the
 *    path's prefix tries (IP values) and its literal prefilter.
 * 2. Every bracket an index hit leads to becomes a candidate once (an
 *    epoch per feed marks it), with the values that hit it. Brackets of
 *    one comparison at a plain path are decided right there: an equality
 *    or prefix hit is a match, a LIKE or MATCHES literal hit is tested
 *    on the value by the matcher's own LIKE and PCRE2 code.
 * 3. Other candidates are confirmed with pattern_eval_cexpr.
 * 4. Stateless indicators are reported; stateful ones evaluate their
 *    window plus this observation with pattern_eval, and keep a copy of
 *    it if it did not complete a match.
 *
 * Nothing here allocates per observation once the scratch arrays have
 * grown, except the copy kept by stateful indicators.
 */
#include "pattern/matcher_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WALK_DEPTH 8 /* object nesting followed in one SCO */
#define REF_HOPS 3   /* references followed in a row */

static int grow_arr(void **arr, uint32_t *cap, uint32_t need, size_t size)
{
	if (need <= *cap)
		return ST_OK;
	uint32_t nc = *cap ? *cap : 16;
	while (nc < need) {
		if (nc > UINT32_MAX / 2)
			return ST_ENOMEM;
		nc *= 2;
	}
	void *a = realloc(*arr, (size_t)nc * size);
	if (!a)
		return ST_ENOMEM;
	*arr = a;
	*cap = nc;
	return ST_OK;
}

/* ------------------------------------------------------------------ */
/* Candidates                                                           */
/* ------------------------------------------------------------------ */

void mfeed_add_cand(struct matcher *m, uint32_t b, uint32_t path,
		    const struct json_val *v, bool plain)
{
	struct mbracket *br = &m->brs[b];
	struct mcand *c;
	/* A decided bracket is hit only by the value its path selects. */
	if ((br->flags & MB_DECIDED) && !plain)
		return;
	if (br->epoch != m->epoch) {
		if (grow_arr((void **)&m->cands, &m->cap_cands, m->n_cands + 1,
			     sizeof(*m->cands))) {
			m->feed_err = ST_ENOMEM;
			return;
		}
		br->epoch = m->epoch;
		br->cand = m->n_cands;
		c = &m->cands[m->n_cands++];
		c->bracket = b;
		c->vals = MNONE;
		c->next_sat = MNONE;
		c->n_vals = 0;
	} else {
		c = &m->cands[br->cand];
	}
	if (!v || c->n_vals >= 4)
		return;
	for (uint32_t h = c->vals; h != MNONE; h = m->hvals[h].next)
		if (m->hvals[h].v == v && m->hvals[h].path == path)
			return;
	if (grow_arr((void **)&m->hvals, &m->cap_hvals, m->n_hvals + 1,
		     sizeof(*m->hvals)))
		return;
	struct mhitval *h = &m->hvals[m->n_hvals];
	h->path = path;
	h->v = v;
	h->next = c->vals;
	c->vals = m->n_hvals++;
	c->n_vals++;
}

void mfeed_lit_hit(struct matcher *m, uint32_t b, uint32_t path,
		   const struct json_val *v, bool plain, const char *s,
		   size_t len)
{
	struct mbracket *br = &m->brs[b];
	if (br->flags & (MB_LIKE | MB_REGEX)) {
		if (!plain)
			return;
		/* Another literal of the same value: tested already. */
		if (br->epoch == m->epoch)
			for (uint32_t h = m->cands[br->cand].vals; h != MNONE;
			     h = m->hvals[h].next)
				if (m->hvals[h].v == v)
					return;
		struct mind *ind = &m->inds[br->ind];
		if (ind->flags & MI_DISABLE)
			return;
		struct diag d;
		m->c_confirm++;
		int rc = mlit_confirm(m, ind->cold, br->flags & MB_REGEX, s,
				      len, &d);
		if (rc == ST_ELIMIT)
			mind_flag_disable(m, br->ind, d.msg);
		if (rc != 1)
			return;
	}
	mfeed_add_cand(m, b, path, v, plain);
}

static void add_posting(struct matcher *m, const struct mpost *p, uint32_t path,
			const struct json_val *v, bool plain)
{
	const uint32_t *it = mpost_items(p);
	for (uint32_t i = 0; i < p->n; i++)
		mfeed_add_cand(m, it[i], path, v, plain);
}

/* ------------------------------------------------------------------ */
/* The walk                                                             */
/* ------------------------------------------------------------------ */

struct walk {
	struct matcher *m;
	const struct pat_observation *o;
	uint32_t hops;
	bool refmap; /* m->refmap holds this observation's refs */
};

struct triectx {
	struct matcher *m;
	uint32_t path;
	const struct json_val *v;
	bool plain;
};

static int on_trie(void *ctx, const struct ip_prefix *p, uint32_t value)
{
	(void)p;
	struct triectx *t = ctx;
	if (value < t->m->n_eqs && t->m->eqs[value].tag)
		add_posting(t->m, &t->m->eqs[value].post, t->path, t->v,
			    t->plain);
	return 0;
}

/* plain: the leaf was reached by keys alone (no list, no reference). */
static void leaf(struct walk *w, uint32_t pid, const struct json_val *v,
		 bool plain)
{
	struct matcher *m = w->m;
	const struct mpath *p = &m->paths[pid];
	if (p->flags & MP_EQ) {
		uint8_t tag;
		const void *val;
		size_t len;
		double d;
		uint8_t b;
		switch (v->type) {
		case JSON_STRING:
			tag = MV_STR;
			val = v->u.str;
			len = v->len;
			break;
		case JSON_NUMBER:
			tag = MV_NUM;
			d = v->u.num.d == 0 ? 0.0 : v->u.num.d;
			val = &d;
			len = sizeof(d);
			break;
		case JSON_TRUE:
		case JSON_FALSE:
			tag = MV_BOOL;
			b = v->type == JSON_TRUE;
			val = &b;
			len = 1;
			break;
		default:
			tag = 0;
			val = NULL;
			len = 0;
			break;
		}
		if (tag) {
			uint32_t e = meq_find(m, pid, tag, val, len);
			if (e != MNONE)
				add_posting(m, &m->eqs[e].post, pid, v, plain);
		}
	}
	if (v->type != JSON_STRING)
		return;
	if ((p->flags & MP_TRIE) && v->len <= 64) {
		struct ip_prefix a;
		if (mip_parse(v->u.str, v->len, &a)) {
			const struct iptrie *t = a.v6 ? p->trie6 : p->trie4;
			struct triectx c = {m, pid, v, plain};
			uint32_t blk = ((uint32_t)a.addr[0] << 24 |
					(uint32_t)a.addr[1] << 16 |
					(uint32_t)a.addr[2] << 8 | a.addr[3]) >>
				       12;
			if (t && (a.v6 || !p->bits4 ||
				  (p->bits4[blk >> 6] >> (blk & 63) & 1)))
				iptrie_walk_containing(t, &a, on_trie, &c);
		}
	}
	if (p->flags & MP_LIT)
		mlit_scan(m, pid, v->u.str, v->len, v, plain);
}

static bool is_ref_key(const char *k, size_t n)
{
	return (n >= 4 && !memcmp(k + n - 4, "_ref", 4)) ||
	       (n >= 5 && !memcmp(k + n - 5, "_refs", 5));
}

static const struct json_val *resolve(struct walk *w, const char *s, size_t n)
{
	const struct pat_observation *o = w->o;
	if (!w->refmap) {
		for (size_t i = 0; i < o->n_objects; i++) {
			const char *r = o->objects[i].ref;
			if (r && !strncmp(r, s, n) && r[n] == '\0')
				return o->objects[i].obj;
		}
		return NULL;
	}
	uint32_t mask = w->m->cap_refmap - 1;
	for (uint32_t i = (uint32_t)mhash(s, n, 3) & mask;;
	     i = (i + 1) & mask) {
		uint32_t k = w->m->refmap[i];
		if (k == MNONE)
			return NULL;
		const char *r = o->objects[k].ref;
		if (!strncmp(r, s, n) && r[n] == '\0')
			return o->objects[k].obj;
	}
}

/* Large observations get a hash of their refs once per feed. */
static void build_refmap(struct walk *w)
{
	const struct pat_observation *o = w->o;
	if (o->n_objects <= 16 || o->n_objects > UINT32_MAX / 4)
		return;
	uint32_t need = 32;
	while (need < o->n_objects * 2)
		need *= 2;
	if (need > w->m->cap_refmap) {
		uint32_t *a = realloc(w->m->refmap, need * sizeof(*a));
		if (!a)
			return;
		w->m->refmap = a;
		w->m->cap_refmap = need;
	}
	uint32_t cap = w->m->cap_refmap, mask = cap - 1;
	for (uint32_t i = 0; i < cap; i++)
		w->m->refmap[i] = MNONE;
	for (size_t k = 0; k < o->n_objects; k++) {
		const char *r = o->objects[k].ref;
		if (!r)
			continue;
		uint32_t i = (uint32_t)mhash(r, strlen(r), 3) & mask;
		while (w->m->refmap[i] != MNONE)
			i = (i + 1) & mask;
		w->m->refmap[i] = (uint32_t)k;
	}
	w->refmap = true;
}

static void walk_members(struct walk *w, const struct json_val *obj,
			 uint32_t parent, bool plain, unsigned depth);

static void visit(struct walk *w, uint32_t pid, const struct json_val *v,
		  bool refkey, bool plain, unsigned depth)
{
	uint32_t flags = w->m->paths[pid].flags;
	switch (v->type) {
	case JSON_OBJECT:
		if ((flags & MP_PREFIX) && depth < WALK_DEPTH)
			walk_members(w, v, pid, plain, depth + 1);
		break;
	case JSON_ARRAY:
		if (depth < WALK_DEPTH)
			for (uint32_t i = 0; i < v->len; i++)
				visit(w, pid, &v->u.items[i], refkey, false,
				      depth + 1);
		break;
	case JSON_STRING:
		if (flags & (MP_EQ | MP_TRIE | MP_LIT))
			leaf(w, pid, v, plain);
		if (refkey && (flags & MP_PREFIX) && w->hops < REF_HOPS &&
		    depth < WALK_DEPTH) {
			const struct json_val *r = resolve(w, v->u.str, v->len);
			if (r && r->type == JSON_OBJECT) {
				w->hops++;
				walk_members(w, r, pid, false, depth + 1);
				w->hops--;
			}
		}
		break;
	case JSON_NUMBER:
	case JSON_TRUE:
	case JSON_FALSE:
		if (flags & MP_EQ)
			leaf(w, pid, v, plain);
		break;
	default:
		break;
	}
}

static void walk_members(struct walk *w, const struct json_val *obj,
			 uint32_t parent, bool plain, unsigned depth)
{
	struct matcher *m = w->m;
	for (uint32_t i = 0; i < obj->len; i++) {
		const struct json_member *mb = &obj->u.members[i];
		uint32_t pid = mpath_find(m, parent, mb->key, mb->klen);
		if (pid == MNONE || !m->paths[pid].flags)
			continue;
		visit(w, pid, &mb->val, is_ref_key(mb->key, mb->klen), plain,
		      depth);
	}
}

static void walk_sco(struct walk *w, const struct json_val *obj)
{
	if (!obj || obj->type != JSON_OBJECT)
		return;
	const struct json_val *t = NULL;
	for (uint32_t i = 0; i < obj->len; i++) {
		const struct json_member *mb = &obj->u.members[i];
		if (mb->klen == 4 && !memcmp(mb->key, "type", 4)) {
			t = &mb->val;
			break;
		}
	}
	if (!t || t->type != JSON_STRING)
		return;
	uint32_t pid = mpath_find(w->m, MNONE, t->u.str, t->len);
	if (pid == MNONE || !(w->m->paths[pid].flags & MP_PREFIX))
		return;
	walk_members(w, obj, pid, true, 0);
}

/* ------------------------------------------------------------------ */
/* Observation copies                                                   */
/* ------------------------------------------------------------------ */

static void json_size(const struct json_val *v, size_t *structs, size_t *chars)
{
	switch (v->type) {
	case JSON_STRING:
		*chars += (size_t)v->len + 1;
		break;
	case JSON_ARRAY:
		*structs += (size_t)v->len * sizeof(struct json_val);
		for (uint32_t i = 0; i < v->len; i++)
			json_size(&v->u.items[i], structs, chars);
		break;
	case JSON_OBJECT:
		*structs += (size_t)v->len * sizeof(struct json_member);
		for (uint32_t i = 0; i < v->len; i++) {
			*chars += (size_t)v->u.members[i].klen + 1;
			json_size(&v->u.members[i].val, structs, chars);
		}
		break;
	default:
		break;
	}
}

struct bump {
	char *s; /* structs */
	char *c; /* chars */
};

static const char *copy_chars(struct bump *b, const char *s, size_t n)
{
	char *d = b->c;
	memcpy(d, s, n);
	d[n] = '\0';
	b->c += n + 1;
	return d;
}

static void json_copy(struct bump *b, struct json_val *dst,
		      const struct json_val *src)
{
	*dst = *src;
	switch (src->type) {
	case JSON_STRING:
		dst->u.str = copy_chars(b, src->u.str, src->len);
		break;
	case JSON_ARRAY: {
		struct json_val *items = (struct json_val *)(void *)b->s;
		b->s += (size_t)src->len * sizeof(*items);
		for (uint32_t i = 0; i < src->len; i++)
			json_copy(b, &items[i], &src->u.items[i]);
		dst->u.items = items;
		break;
	}
	case JSON_OBJECT: {
		struct json_member *mb = (struct json_member *)(void *)b->s;
		b->s += (size_t)src->len * sizeof(*mb);
		for (uint32_t i = 0; i < src->len; i++) {
			const struct json_member *sm = &src->u.members[i];
			mb[i].key = copy_chars(b, sm->key, sm->klen);
			mb[i].klen = sm->klen;
			json_copy(b, &mb[i].val, &sm->val);
		}
		dst->u.members = mb;
		break;
	}
	default:
		break;
	}
}

/* One allocation holding the observation, its SCO list and their trees. */
static struct mobs *obs_copy(const struct pat_observation *o)
{
	size_t structs =
	    o->n_objects * (sizeof(struct pat_sco) + sizeof(struct json_val));
	size_t chars = o->id ? strlen(o->id) + 1 : 0;
	for (size_t i = 0; i < o->n_objects; i++) {
		if (o->objects[i].ref)
			chars += strlen(o->objects[i].ref) + 1;
		if (o->objects[i].obj)
			json_size(o->objects[i].obj, &structs, &chars);
	}
	size_t head = (sizeof(struct mobs) + 15) & ~(size_t)15;
	size_t size = head + structs + chars;
	struct mobs *c = malloc(size);
	if (!c)
		return NULL;
	c->refs = 0;
	c->size = size;
	c->o = *o;
	struct bump b = {(char *)c + head, (char *)c + head + structs};
	struct pat_sco *scos = (struct pat_sco *)(void *)b.s;
	b.s += o->n_objects * sizeof(*scos);
	struct json_val *vals = (struct json_val *)(void *)b.s;
	b.s += o->n_objects * sizeof(*vals);
	for (size_t i = 0; i < o->n_objects; i++) {
		const struct pat_sco *s = &o->objects[i];
		scos[i].ref =
		    s->ref ? copy_chars(&b, s->ref, strlen(s->ref)) : NULL;
		if (s->obj) {
			json_copy(&b, &vals[i], s->obj);
			scos[i].obj = &vals[i];
		} else {
			scos[i].obj = NULL;
		}
	}
	c->o.objects = scos;
	c->o.id = o->id ? copy_chars(&b, o->id, strlen(o->id)) : NULL;
	return c;
}

static void obs_unref(struct matcher *m, struct mobs *c)
{
	if (c && --c->refs == 0) {
		m->mem_state -= mmalloc_size(c->size);
		free(c);
	}
}

void mstate_free(struct matcher *m, struct mstate *st)
{
	if (!st)
		return;
	for (uint32_t i = 0; i < st->n; i++)
		obs_unref(m, st->blk[i]);
	free(st->win);
	free(st->blk);
	free(st);
}

size_t mstate_memory(const struct mstate *st)
{
	if (!st)
		return 0;
	return mmalloc_size(sizeof(*st)) +
	       mmalloc_size(st->cap * sizeof(*st->win)) +
	       mmalloc_size(st->cap * sizeof(*st->blk));
}

/* ------------------------------------------------------------------ */
/* Reporting                                                            */
/* ------------------------------------------------------------------ */

static bool valid_now(const struct mind *ind, st_time now)
{
	return now >= ind->valid_from && now < ind->valid_until;
}

/* Turns a leaf into text for a hit; numbers go to m->numbuf. */
static void value_text(struct matcher *m, const struct json_val *v, size_t slot,
		       struct matcher_value *out)
{
	switch (v->type) {
	case JSON_STRING:
		out->value = v->u.str;
		out->len = v->len;
		break;
	case JSON_TRUE:
		out->value = "true";
		out->len = 4;
		break;
	case JSON_FALSE:
		out->value = "false";
		out->len = 5;
		break;
	case JSON_NUMBER: {
		char *b = m->numbuf + slot * 32;
		int n = v->u.num.is_int
			    ? snprintf(b, 32, "%lld", (long long)v->u.num.i)
			    : json_fmt_number(v->u.num.d, b);
		out->value = b;
		out->len = n > 0 ? (size_t)n : 0;
		break;
	}
	default:
		out->value = "";
		out->len = 0;
		break;
	}
}

/* Gathers the values of a chain of candidates into m->out_vals; returns
 * how many, or -1 when every one is on a warninglist. */
static long gather_values(struct matcher *m, uint32_t first, bool chain)
{
	size_t total = 0, n = 0, listed = 0;
	for (uint32_t ci = first; ci != MNONE;
	     ci = chain ? m->cands[ci].next_sat : MNONE)
		total += m->cands[ci].n_vals;
	/* Room first: numbers are formatted into numbuf, which must not
	 * move once a value points into it. */
	if (grow_arr((void **)&m->out_vals, &m->cap_out_vals, (uint32_t)total,
		     sizeof(*m->out_vals)))
		return 0;
	if (total * 32 > m->cap_numbuf) {
		char *b = realloc(m->numbuf, total * 64);
		if (!b)
			return 0;
		m->numbuf = b;
		m->cap_numbuf = total * 64;
	}
	for (uint32_t ci = first; ci != MNONE;
	     ci = chain ? m->cands[ci].next_sat : MNONE) {
		const struct mcand *c = &m->cands[ci];
		/* Values were prepended: walk back to report in order. */
		uint32_t ids[4], k = 0;
		for (uint32_t h = c->vals; h != MNONE && k < 4;
		     h = m->hvals[h].next)
			ids[k++] = h;
		while (k-- && n < total) {
			const struct mhitval *h = &m->hvals[ids[k]];
			struct matcher_value *out = &m->out_vals[n];
			out->path = m->paths[h->path].display;
			value_text(m, h->v, n, out);
			if (m->cfg.warninglists && h->v->type == JSON_STRING) {
				enum wl_kind kind = m->paths[h->path].wl_kind;
				struct ip_prefix a;
				if (kind == WL_KIND_OTHER &&
				    mip_parse(out->value, out->len, &a))
					kind = WL_KIND_IP;
				if (wl_check(m->cfg.warninglists, kind,
					     out->value, out->len))
					listed++;
			}
			n++;
		}
	}
	if (n && listed == n)
		return -1;
	return (long)n;
}

static void report(struct matcher *m, const struct mind *ind, long nvals,
		   st_time first, st_time last, size_t nobs, matcher_hit_fn fn,
		   void *ctx)
{
	if (nvals < 0) {
		m->c_suppressed++;
		return;
	}
	struct matcher_hit h = {
	    .id = m->recs[ind->rec].id,
	    .modified = ind->modified,
	    .markings = ind->marks ? ind->marks->markings : NULL,
	    .n_markings = ind->marks ? ind->marks->n : 0,
	    .created_by_ref = ind->marks ? ind->marks->creator : NULL,
	    .values = m->out_vals,
	    .n_values = (size_t)nvals,
	    .first_observed = first,
	    .last_observed = last,
	    .n_observations = nobs,
	};
	m->c_hits++;
	if (fn)
		fn(ctx, &h);
}

/* ------------------------------------------------------------------ */
/* Stateful indicators                                                  */
/* ------------------------------------------------------------------ */

static void win_remove(struct matcher *m, struct mstate *st, uint32_t i)
{
	obs_unref(m, st->blk[i]);
	memmove(&st->win[i], &st->win[i + 1],
		(st->n - i - 1) * sizeof(*st->win));
	memmove(&st->blk[i], &st->blk[i + 1],
		(st->n - i - 1) * sizeof(*st->blk));
	st->n--;
}

static int win_reserve(struct mstate *st, uint32_t need)
{
	if (need <= st->cap)
		return ST_OK;
	uint32_t cap = st->cap ? st->cap * 2 : 4;
	while (cap < need)
		cap *= 2;
	struct pat_observation *w = realloc(st->win, cap * sizeof(*w));
	if (!w)
		return ST_ENOMEM;
	st->win = w;
	struct mobs **b = realloc(st->blk, cap * sizeof(*b));
	if (!b)
		return ST_ENOMEM;
	st->blk = b;
	st->cap = cap;
	return ST_OK;
}

static void state_step(struct matcher *m, uint32_t slot,
		       const struct pat_observation *o, matcher_hit_fn fn,
		       void *ctx)
{
	struct mind *ind = &m->inds[slot];
	struct mcold *cold = ind->cold;
	struct mstate *st = cold->state;
	struct diag d;
	if (o->last_observed < st->start || o->first_observed > st->stop)
		return;
	/* WITHIN binds observations whose latest first_observed is at most
	 * the bound after their earliest last_observed. Telemetry comes in
	 * order of first_observed, so a kept observation that ended more
	 * than the bound before the latest start seen can never be bound
	 * again. */
	if (o->first_observed > st->newest)
		st->newest = o->first_observed;
	if (st->horizon != INT64_MAX && st->newest > INT64_MIN + st->horizon) {
		st_time cut = st->newest - st->horizon;
		for (uint32_t i = 0; i < st->n;)
			if (st->win[i].last_observed < cut)
				win_remove(m, st, i);
			else
				i++;
	}
	if (win_reserve(st, st->n + 1)) {
		m->feed_err = ST_ENOMEM;
		return;
	}
	st->win[st->n] = *o; /* borrowed while evaluating */
	st->blk[st->n] = NULL;
	struct pat_result r = {0};
	m->c_confirm++;
	int rc = pattern_eval(cold->pat, st->win, st->n + 1, &r, &d);
	if (rc == ST_ELIMIT) {
		mind_flag_disable(m, slot, d.msg);
		pat_result_clear(&r);
		return;
	}
	bool keep = rc == ST_OK;
	if (rc == ST_OK && r.matched) {
		st_time first = INT64_MAX, last = INT64_MIN;
		bool used_new = false;
		for (size_t i = 0; i < r.n_obs; i++) {
			const struct pat_observation *b = &st->win[r.obs[i]];
			if (b->first_observed < first)
				first = b->first_observed;
			if (b->last_observed > last)
				last = b->last_observed;
			if (r.obs[i] == st->n)
				used_new = true;
		}
		long nv = gather_values(m, cold->sat_head, true);
		report(m, ind, nv, first, last, r.n_obs, fn, ctx);
		/* A match consumes its observations: the same ones never
		 * complete a second match. */
		for (size_t i = r.n_obs; i-- > 0;)
			if (r.obs[i] < st->n)
				win_remove(m, st, r.obs[i]);
		keep = !used_new;
	}
	pat_result_clear(&r);
	if (!keep)
		return;
	if (st->n + 1 > m->cfg.max_state) {
		char why[128];
		snprintf(why, sizeof(why),
			 "keeps more than %u observations of state",
			 m->cfg.max_state);
		mind_flag_disable(m, slot, why);
		return;
	}
	if (!m->cur_copy) {
		m->cur_copy = obs_copy(o);
		if (!m->cur_copy) {
			m->feed_err = ST_ENOMEM;
			return;
		}
		m->cur_copy->refs = 1; /* the feed's own, dropped at its end */
		m->mem_state += mmalloc_size(m->cur_copy->size);
	}
	m->cur_copy->refs++;
	st->win[st->n] = m->cur_copy->o;
	st->blk[st->n] = m->cur_copy;
	st->n++;
}

/* ------------------------------------------------------------------ */
/* Feeding                                                              */
/* ------------------------------------------------------------------ */

int matcher_feed(struct matcher *m, const struct pat_observation *o,
		 matcher_hit_fn fn, void *ctx)
{
	if (m->lit_dirty && mlit_rebuild(m, false, NULL) == ST_ENOMEM)
		return ST_ENOMEM;
	if (++m->epoch == 0) {
		for (uint32_t i = 0; i < m->n_brs; i++)
			m->brs[i].epoch = 0;
		for (uint32_t i = 0; i < m->n_inds; i++)
			if (m->inds[i].cold)
				m->inds[i].cold->epoch = 0;
		m->epoch = 1;
	}
	m->n_cands = 0;
	m->n_hvals = 0;
	m->n_touched = 0;
	m->n_dis = 0;
	m->feed_err = ST_OK;
	m->cur_copy = NULL;
	m->c_obs++;

	struct walk w = {.m = m, .o = o};
	if (m->n_paths) {
		build_refmap(&w);
		for (size_t i = 0; i < o->n_objects; i++)
			walk_sco(&w, o->objects[i].obj);
	}
	for (uint32_t i = 0; i < m->n_always; i++)
		mfeed_add_cand(m, m->always[i], 0, NULL, false);
	m->c_cands += m->n_cands;

	for (uint32_t ci = 0; ci < m->n_cands; ci++) {
		struct mcand *c = &m->cands[ci];
		const struct mbracket *br = &m->brs[c->bracket];
		struct mind *ind = &m->inds[br->ind];
		if ((ind->flags & MI_DISABLE) || !valid_now(ind, m->now))
			continue;
		if (!(br->flags & MB_DECIDED)) {
			struct diag d;
			m->c_confirm++;
			int rc;
			struct pattern *p = mind_pattern(m, br->ind, &rc, &d);
			const struct pat_cexpr *ce = br->ce;
			if (p && !ce) /* stateless: the one bracket */
				ce = pattern_root(p)->cexpr;
			if (p)
				rc = pattern_eval_cexpr(p, ce, o, &d);
			if (rc == ST_ELIMIT) {
				mind_flag_disable(m, br->ind, d.msg);
				continue;
			}
			if (rc != 1)
				continue;
		}
		if (!(ind->flags & MI_STATEFUL)) {
			long nv = gather_values(m, ci, false);
			report(m, ind, nv, o->first_observed, o->last_observed,
			       1, fn, ctx);
			continue;
		}
		struct mcold *cold = ind->cold;
		if (cold->epoch != m->epoch) {
			if (grow_arr((void **)&m->touched, &m->cap_touched,
				     m->n_touched + 1, sizeof(*m->touched))) {
				m->feed_err = ST_ENOMEM;
				continue;
			}
			cold->epoch = m->epoch;
			cold->sat_head = MNONE;
			m->touched[m->n_touched++] = br->ind;
		}
		c->next_sat = cold->sat_head;
		cold->sat_head = ci;
	}
	for (uint32_t i = 0; i < m->n_touched; i++) {
		struct mind *ind = &m->inds[m->touched[i]];
		if (!(ind->flags & MI_DISABLE))
			state_step(m, m->touched[i], o, fn, ctx);
	}
	if (m->cur_copy)
		obs_unref(m, m->cur_copy);
	m->cur_copy = NULL;

	/* Disable what hit a limit, now that no candidate is in use. */
	for (uint32_t i = 0; i < m->n_dis; i++) {
		struct mind *ind = &m->inds[m->dis[i]];
		if (ind->rec != MNONE && (ind->flags & MI_DISABLE))
			mind_disable(m, m->dis[i],
				     ind->cold ? ind->cold->disable_reason
					       : NULL);
	}
	m->n_dis = 0;
	return m->feed_err;
}

void mfeed_free(struct matcher *m)
{
	free(m->cands);
	free(m->hvals);
	free(m->touched);
	free(m->out_vals);
	free(m->numbuf);
	free(m->refmap);
	free(m->dis);
}
