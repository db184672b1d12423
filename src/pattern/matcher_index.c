/*
 * strait: the matcher's hash tables (paths, equality keys, ids, interned
 * strings) and postings lists.
 *
 * Every table is an array of 8-byte slots (32 bits of hash + a node
 * index) over a separate array of nodes whose indexes never move, so the
 * prefix tries and the anchors can refer to nodes by index. Lookups that
 * miss, the common case on the hot path, touch only the slot array.
 */
#include "pattern/matcher_int.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Slot tables                                                          */
/* ------------------------------------------------------------------ */

void mtab_free(struct mtab *t)
{
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

size_t mtab_memory(const struct mtab *t)
{
	return t->slots
		   ? mmalloc_size(((size_t)t->mask + 1) * sizeof(struct mslot))
		   : 0;
}

static void slot_put(struct mslot *slots, uint32_t mask, uint32_t h,
		     uint32_t node)
{
	uint32_t i = h & mask;
	while (slots[i].node != MNONE)
		i = (i + 1) & mask;
	slots[i].h = h;
	slots[i].node = node;
}

static int mtab_grow(struct mtab *t)
{
	size_t cap = t->slots ? ((size_t)t->mask + 1) * 2 : 16;
	if (cap > (size_t)1 << 31)
		return ST_ENOMEM;
	struct mslot *s = malloc(cap * sizeof(*s));
	if (!s)
		return ST_ENOMEM;
	for (size_t i = 0; i < cap; i++)
		s[i].node = MNONE;
	if (t->slots) {
		for (size_t i = 0; i <= t->mask; i++)
			if (t->slots[i].node != MNONE)
				slot_put(s, (uint32_t)(cap - 1), t->slots[i].h,
					 t->slots[i].node);
		free(t->slots);
	}
	t->slots = s;
	t->mask = (uint32_t)(cap - 1);
	return ST_OK;
}

int mtab_add(struct mtab *t, uint32_t h, uint32_t node)
{
	/* Load factor at most 1/2: probes stay short on misses. */
	if (!t->slots || (size_t)(t->n + 1) * 2 > (size_t)t->mask + 1) {
		int rc = mtab_grow(t);
		if (rc)
			return rc;
	}
	slot_put(t->slots, t->mask, h, node);
	t->n++;
	return ST_OK;
}

void mtab_del(struct mtab *t, uint32_t i)
{
	/* Backward shift: move later entries of the run into the hole when
	 * the hole lies between their home slot and where they are. */
	uint32_t mask = t->mask;
	uint32_t j = i;
	for (;;) {
		j = (j + 1) & mask;
		if (t->slots[j].node == MNONE)
			break;
		uint32_t home = t->slots[j].h & mask;
		bool move =
		    i <= j ? (home <= i || home > j) : (home <= i && home > j);
		if (move) {
			t->slots[i] = t->slots[j];
			i = j;
		}
	}
	t->slots[i].node = MNONE;
	t->n--;
}

/* ------------------------------------------------------------------ */
/* Postings                                                             */
/* ------------------------------------------------------------------ */

int mpost_add(struct mpost *p, uint32_t b)
{
	const uint32_t *it = mpost_items(p);
	for (uint32_t i = 0; i < p->n; i++)
		if (it[i] == b)
			return 0;
	if (p->n == 0 && p->cap <= 1) {
		p->u.one = b;
		p->n = 1;
		p->cap = 1;
		return 1;
	}
	if (p->n == p->cap) {
		uint32_t cap = p->cap * 2;
		uint32_t *a = malloc(cap * sizeof(*a));
		if (!a)
			return ST_ENOMEM;
		memcpy(a, mpost_items(p), p->n * sizeof(*a));
		if (p->cap > 1)
			free(p->u.many);
		p->u.many = a;
		p->cap = cap;
	}
	p->u.many[p->n++] = b;
	return 1;
}

bool mpost_del(struct mpost *p, uint32_t b)
{
	uint32_t *it = p->cap > 1 ? p->u.many : &p->u.one;
	for (uint32_t i = 0; i < p->n; i++) {
		if (it[i] != b)
			continue;
		it[i] = it[--p->n];
		if (p->cap > 1 && p->n <= 1) {
			uint32_t last = p->n ? it[0] : 0;
			free(p->u.many);
			p->u.one = last;
			p->cap = 1;
		}
		return true;
	}
	return false;
}

void mpost_free(struct mpost *p)
{
	if (p->cap > 1)
		free(p->u.many);
	memset(p, 0, sizeof(*p));
}

size_t mpost_memory(const struct mpost *p)
{
	return p->cap > 1 ? mmalloc_size(p->cap * sizeof(uint32_t)) : 0;
}

/* Grows a node array to hold one more; ST_ENOMEM. */
static int grow(void **arr, uint32_t *cap, uint32_t n, size_t size)
{
	if (n < *cap)
		return ST_OK;
	uint32_t nc = *cap ? *cap * 2 : 16;
	if (nc <= *cap)
		return ST_ENOMEM;
	void *a = realloc(*arr, (size_t)nc * size);
	if (!a)
		return ST_ENOMEM;
	*arr = a;
	*cap = nc;
	return ST_OK;
}

/* ------------------------------------------------------------------ */
/* Paths                                                                */
/* ------------------------------------------------------------------ */

struct keyref {
	const struct matcher *m;
	const char *s;
	size_t len;
	uint32_t path;
	uint8_t tag;
};

static bool path_eq(const void *ctx, uint32_t node)
{
	const struct keyref *k = ctx;
	const struct mpath *p = &k->m->paths[node];
	return p->parent == k->path && p->clen == k->len &&
	       memcmp(p->comp, k->s, k->len) == 0;
}

uint32_t mpath_find(const struct matcher *m, uint32_t parent, const char *comp,
		    size_t len)
{
	struct keyref k = {.m = m, .s = comp, .len = len, .path = parent};
	uint32_t h = mtab_h32(mhash(comp, len, parent));
	uint32_t i = mtab_find(&m->path_tab, h, path_eq, &k);
	return i == MNONE ? MNONE : m->path_tab.slots[i].node;
}

void mpath_update(struct mpath *p)
{
	p->flags = (p->n_prefix ? MP_PREFIX : 0) | (p->n_eq ? MP_EQ : 0) |
		   (p->n_trie ? MP_TRIE : 0) | (p->n_lit ? MP_LIT : 0);
}

int mpath_get(struct matcher *m, uint32_t parent, const char *comp, size_t len,
	      uint32_t *out)
{
	uint32_t id = mpath_find(m, parent, comp, len);
	if (id != MNONE) {
		*out = id;
		return ST_OK;
	}
	if (len > UINT32_MAX - 1)
		return ST_ELIMIT;
	int rc = grow((void **)&m->paths, &m->cap_paths, m->n_paths,
		      sizeof(*m->paths));
	if (rc)
		return rc;
	struct mpath *p = &m->paths[m->n_paths];
	memset(p, 0, sizeof(*p));
	p->comp = malloc(len + 1);
	p->display = strdup("");
	if (!p->comp || !p->display) {
		free(p->comp);
		free(p->display);
		return ST_ENOMEM;
	}
	memcpy(p->comp, comp, len);
	p->comp[len] = '\0';
	p->clen = (uint32_t)len;
	p->parent = parent;
	p->wl_kind = WL_KIND_OTHER;
	rc = mtab_add(&m->path_tab, mtab_h32(mhash(comp, len, parent)),
		      m->n_paths);
	if (rc) {
		free(p->comp);
		free(p->display);
		return rc;
	}
	*out = m->n_paths++;
	return ST_OK;
}

/* ------------------------------------------------------------------ */
/* Equality keys                                                        */
/* ------------------------------------------------------------------ */

static bool eq_eq(const void *ctx, uint32_t node)
{
	const struct keyref *k = ctx;
	const struct meq *e = &k->m->eqs[node];
	return e->path == k->path && e->tag == k->tag && e->len == k->len &&
	       memcmp(meq_val(e), k->s, k->len) == 0;
}

/* Three bits of one 64-bit word per key, 8 to 16 bits per key: a few
 * per cent of false positives, in a table small enough (about 1.5 bytes
 * per key) to stay in cache next to the parser's data. Prefix keys are
 * reached through the tries, never looked up: they are left out. */
static inline uint64_t bloom_bits(uint64_t h)
{
	return 1ull << (h & 63) | 1ull << ((h >> 6) & 63) |
	       1ull << ((h >> 12) & 63);
}

static inline uint32_t bloom_word(uint64_t h, uint32_t mask)
{
	return (uint32_t)(h >> 40) & mask;
}

/* Sizes the filter for the live keys and sets their bits again (stale
 * bits of removed keys go away). */
static int bloom_rebuild(struct matcher *m, uint32_t keys)
{
	uint32_t words = 64;
	while (words < keys / 4 + 1 && words < (1u << 26))
		words *= 2; /* 16 to 32 bits per key */
	uint64_t *b = calloc(words, sizeof(*b));
	if (!b)
		return ST_ENOMEM;
	free(m->bloom);
	m->bloom = b;
	m->bloom_mask = words - 1;
	m->bloom_keys = m->bloom_dead = 0;
	for (uint32_t i = 0; i < m->n_eqs; i++) {
		const struct meq *e = &m->eqs[i];
		if (!e->tag || e->tag == MV_PFX)
			continue;
		uint64_t h = meq_hash(e->path, e->tag, meq_val(e), e->len);
		b[bloom_word(h, m->bloom_mask)] |= bloom_bits(h);
		m->bloom_keys++;
	}
	return ST_OK;
}

uint32_t meq_find(const struct matcher *m, uint32_t path, uint8_t tag,
		  const void *val, size_t len)
{
	uint64_t h64 = meq_hash(path, tag, val, len);
	if (m->bloom && tag != MV_PFX) {
		uint64_t bits = bloom_bits(h64);
		if ((m->bloom[bloom_word(h64, m->bloom_mask)] & bits) != bits)
			return MNONE;
	}
	struct keyref k = {
	    .m = m, .s = val, .len = len, .path = path, .tag = tag};
	uint32_t i = mtab_find(&m->eq_tab, mtab_h32(h64), eq_eq, &k);
	return i == MNONE ? MNONE : m->eq_tab.slots[i].node;
}

int meq_get(struct matcher *m, uint32_t path, uint8_t tag, const void *val,
	    size_t len, uint32_t *out)
{
	uint32_t id = meq_find(m, path, tag, val, len);
	if (id != MNONE) {
		*out = id;
		return ST_OK;
	}
	if (len > UINT32_MAX - 1)
		return ST_ELIMIT;
	if (m->free_eq != MNONE) {
		id = m->free_eq;
		m->free_eq = m->eqs[id].next_free;
	} else {
		int rc = grow((void **)&m->eqs, &m->cap_eqs, m->n_eqs,
			      sizeof(*m->eqs));
		if (rc)
			return rc;
		id = m->n_eqs++;
	}
	struct meq *e = &m->eqs[id];
	memset(e, 0, sizeof(*e));
	char *dst = e->v.inl;
	if (len >= MEQ_INLINE)
		dst = e->v.p = malloc(len + 1);
	int rc = dst ? ST_OK : ST_ENOMEM;
	if (!rc) {
		memcpy(dst, val, len);
		dst[len] = '\0';
		e->len = (uint32_t)len;
		e->path = path;
		e->tag = tag;
		rc = mtab_add(&m->eq_tab,
			      mtab_h32(meq_hash(path, tag, val, len)), id);
	}
	if (!rc) {
		/* The new node is live: a rebuild sets its bits too. When a
		 * rebuild fails, the old filter takes it over capacity (more
		 * false positives, never a false negative). */
		uint64_t h = meq_hash(path, tag, val, len);
		bool full = !m->bloom || (uint64_t)m->bloom_keys + 1 >
					     8 * ((uint64_t)m->bloom_mask + 1);
		if (tag != MV_PFX &&
		    (!full || (bloom_rebuild(m, 2 * (m->live_eqs + 1) + 64) &&
			       m->bloom))) {
			m->bloom[bloom_word(h, m->bloom_mask)] |= bloom_bits(h);
			m->bloom_keys++;
		}
	}
	if (rc) {
		if (len >= MEQ_INLINE)
			free(e->v.p);
		e->tag = 0;
		e->next_free = m->free_eq;
		m->free_eq = id;
		return rc;
	}
	m->live_eqs++;
	*out = id;
	return ST_OK;
}

void meq_release(struct matcher *m, uint32_t node)
{
	struct meq *e = &m->eqs[node];
	if (!e->tag || e->post.n)
		return;
	struct keyref k = {.m = m,
			   .s = meq_val(e),
			   .len = e->len,
			   .path = e->path,
			   .tag = e->tag};
	uint32_t h = mtab_h32(meq_hash(e->path, e->tag, k.s, e->len));
	uint32_t i = mtab_find(&m->eq_tab, h, eq_eq, &k);
	if (i != MNONE)
		mtab_del(&m->eq_tab, i);
	mpost_free(&e->post);
	if (e->len >= MEQ_INLINE)
		free(e->v.p);
	bool filtered = e->tag != MV_PFX;
	e->tag = 0;
	e->next_free = m->free_eq;
	m->free_eq = node;
	m->live_eqs--;
	/* Removed keys leave their bits: rebuild once they outnumber the
	 * live ones (a failure only keeps the stale bits). */
	if (filtered && ++m->bloom_dead > m->live_eqs + 1024)
		bloom_rebuild(m, 2 * m->live_eqs + 64);
}

/* ------------------------------------------------------------------ */
/* Id records                                                           */
/* ------------------------------------------------------------------ */

static bool rec_eq(const void *ctx, uint32_t node)
{
	const struct keyref *k = ctx;
	const struct mrec *r = &k->m->recs[node];
	return r->len == k->len && memcmp(r->id, k->s, k->len) == 0;
}

uint32_t mrec_find(const struct matcher *m, const char *id, size_t len)
{
	struct keyref k = {.m = m, .s = id, .len = len};
	uint32_t i =
	    mtab_find(&m->id_tab, mtab_h32(mhash(id, len, 1)), rec_eq, &k);
	return i == MNONE ? MNONE : m->id_tab.slots[i].node;
}

int mrec_add(struct matcher *m, const char *id, size_t len, uint32_t *out)
{
	int rc =
	    grow((void **)&m->recs, &m->cap_recs, m->n_recs, sizeof(*m->recs));
	if (rc)
		return rc;
	char *copy = arena_alloc(m->ids, len + 1);
	if (!copy)
		return ST_ENOMEM;
	memcpy(copy, id, len);
	copy[len] = '\0';
	struct mrec *r = &m->recs[m->n_recs];
	memset(r, 0, sizeof(*r));
	r->id = copy;
	r->len = (uint32_t)len;
	r->modified = INT64_MIN;
	r->removed = INT64_MIN;
	r->slot = MNONE;
	r->status = MATCHER_ST_UNKNOWN;
	rc = mtab_add(&m->id_tab, mtab_h32(mhash(id, len, 1)), m->n_recs);
	if (rc)
		return rc; /* the copy stays in the arena, unused */
	*out = m->n_recs++;
	return ST_OK;
}

/* ------------------------------------------------------------------ */
/* Interned strings                                                     */
/* ------------------------------------------------------------------ */

static bool str_eq(const void *ctx, uint32_t node)
{
	const struct keyref *k = ctx;
	const struct mstr *s = &k->m->strs[node];
	return s->s && s->len == k->len && memcmp(s->s, k->s, k->len) == 0;
}

const char *mstr_intern(struct matcher *m, const char *s, size_t len)
{
	struct keyref k = {.m = m, .s = s, .len = len};
	uint32_t h = mtab_h32(mhash(s, len, 2));
	uint32_t i = mtab_find(&m->str_tab, h, str_eq, &k);
	if (i != MNONE) {
		struct mstr *e = &m->strs[m->str_tab.slots[i].node];
		e->refs++;
		return e->s;
	}
	uint32_t id;
	if (m->free_str != MNONE) {
		id = m->free_str;
		m->free_str = m->strs[id].next_free;
	} else {
		if (grow((void **)&m->strs, &m->cap_strs, m->n_strs,
			 sizeof(*m->strs)))
			return NULL;
		id = m->n_strs++;
	}
	struct mstr *e = &m->strs[id];
	e->s = malloc(len + 1);
	if (!e->s || mtab_add(&m->str_tab, h, id)) {
		free(e->s);
		e->s = NULL;
		e->next_free = m->free_str;
		m->free_str = id;
		return NULL;
	}
	memcpy(e->s, s, len);
	e->s[len] = '\0';
	e->len = (uint32_t)len;
	e->refs = 1;
	m->mem_strings += mmalloc_size(len + 1);
	return e->s;
}

void mstr_release(struct matcher *m, const char *s)
{
	if (!s)
		return;
	size_t len = strlen(s);
	struct keyref k = {.m = m, .s = s, .len = len};
	uint32_t h = mtab_h32(mhash(s, len, 2));
	uint32_t i = mtab_find(&m->str_tab, h, str_eq, &k);
	if (i == MNONE)
		return;
	uint32_t id = m->str_tab.slots[i].node;
	struct mstr *e = &m->strs[id];
	if (--e->refs)
		return;
	mtab_del(&m->str_tab, i);
	m->mem_strings -= mmalloc_size(e->len + 1);
	free(e->s);
	e->s = NULL;
	e->next_free = m->free_str;
	m->free_str = id;
}

/* ------------------------------------------------------------------ */
/* Interned marking sets                                                */
/* ------------------------------------------------------------------ */

static uint64_t marks_hash(const char *const *mk, uint32_t n, const char *cr)
{
	/* Interned strings are unique: their addresses identify them. */
	uint64_t h = mhash(&cr, sizeof(cr), n);
	for (uint32_t i = 0; i < n; i++)
		h = mhash(&mk[i], sizeof(mk[i]), h);
	return h;
}

static void marks_drop(struct matcher *m, const char **mk, uint32_t n,
		       const char *cr)
{
	for (uint32_t i = 0; i < n; i++)
		mstr_release(m, mk[i]);
	mstr_release(m, cr);
}

struct mmarks *mmarks_intern(struct matcher *m, const struct json_val *marks,
			     const struct json_val *creator, int *rc)
{
	*rc = ST_OK;
	uint32_t n = 0;
	if (marks && marks->type == JSON_ARRAY)
		for (uint32_t i = 0; i < marks->len; i++)
			n += marks->u.items[i].type == JSON_STRING;
	bool has_creator = creator && creator->type == JSON_STRING;
	if (!n && !has_creator)
		return NULL;
	if (n > 4096) {
		*rc = ST_ELIMIT;
		return NULL;
	}
	const char *stack[16];
	const char **mk = n <= 16 ? stack : malloc(n * sizeof(*mk));
	const char *cr = NULL;
	struct mmarks *found = NULL;
	uint32_t k = 0;
	if (!mk)
		goto nomem;
	for (uint32_t i = 0; n && i < marks->len; i++) {
		const struct json_val *v = &marks->u.items[i];
		if (v->type != JSON_STRING)
			continue;
		if (!(mk[k] = mstr_intern(m, v->u.str, v->len)))
			goto nomem;
		k++;
	}
	if (has_creator && !(cr = mstr_intern(m, creator->u.str, creator->len)))
		goto nomem;
	uint64_t h = marks_hash(mk, n, cr);
	if (m->marks_tab) {
		for (struct mmarks *e = m->marks_tab[h & m->marks_mask]; e;
		     e = e->next) {
			if (e->hash == h && e->n == n && e->creator == cr &&
			    !memcmp(e->markings, mk, n * sizeof(*mk))) {
				found = e;
				break;
			}
		}
	}
	if (found) {
		/* The set holds its own references to the strings. */
		marks_drop(m, mk, k, cr);
		found->refs++;
		goto out;
	}
	if (!m->marks_tab || m->n_marks + 1 > m->marks_mask + 1) {
		uint32_t cap = m->marks_tab ? (m->marks_mask + 1) * 2 : 64;
		struct mmarks **t = calloc(cap, sizeof(*t));
		if (!t)
			goto nomem;
		for (uint32_t i = 0; m->marks_tab && i <= m->marks_mask; i++) {
			for (struct mmarks *e = m->marks_tab[i], *nx; e;
			     e = nx) {
				nx = e->next;
				e->next = t[e->hash & (cap - 1)];
				t[e->hash & (cap - 1)] = e;
			}
		}
		free(m->marks_tab);
		m->marks_tab = t;
		m->marks_mask = cap - 1;
	}
	found = malloc(sizeof(*found) + n * sizeof(found->markings[0]));
	if (!found)
		goto nomem;
	found->refs = 1;
	found->n = n;
	found->hash = h;
	found->creator = cr;
	memcpy(found->markings, mk, n * sizeof(*mk));
	found->next = m->marks_tab[h & m->marks_mask];
	m->marks_tab[h & m->marks_mask] = found;
	m->n_marks++;
	goto out;
nomem:
	if (mk)
		marks_drop(m, mk, k, cr);
	*rc = ST_ENOMEM;
	found = NULL;
out:
	if (mk != stack)
		free(mk);
	return found;
}

void mmarks_release(struct matcher *m, struct mmarks *mk)
{
	if (!mk || --mk->refs)
		return;
	for (struct mmarks **p = &m->marks_tab[mk->hash & m->marks_mask]; *p;
	     p = &(*p)->next) {
		if (*p == mk) {
			*p = mk->next;
			break;
		}
	}
	m->n_marks--;
	marks_drop(m, (const char **)mk->markings, mk->n, mk->creator);
	free(mk);
}

/* ------------------------------------------------------------------ */
/* Addresses                                                            */
/* ------------------------------------------------------------------ */

bool mip_parse(const char *s, size_t n, struct ip_prefix *out)
{
	/* Plain dotted quads ("192.0.2.1": no leading zeros, no prefix
	 * length) are the bulk of telemetry; ip_parse takes the rest, so
	 * both accept exactly the same strings. */
	if (n >= 7 && n <= 15) {
		uint8_t b[4];
		size_t i = 0;
		int k;
		for (k = 0; k < 4; k++) {
			unsigned v = 0, digits = 0;
			while (i < n && s[i] >= '0' && s[i] <= '9' &&
			       digits < 4) {
				v = v * 10 + (unsigned)(s[i] - '0');
				i++;
				digits++;
			}
			if (!digits || digits > 3 || v > 255 ||
			    (digits > 1 && s[i - digits] == '0'))
				break;
			b[k] = (uint8_t)v;
			if (k < 3) {
				if (i >= n || s[i] != '.')
					break;
				i++;
			}
		}
		if (k == 4 && i == n) {
			memset(out, 0, sizeof(*out));
			memcpy(out->addr, b, 4);
			out->len = 32;
			return true;
		}
	}
	return ip_parse(s, n, out);
}

/* ------------------------------------------------------------------ */
/* Memory and teardown                                                  */
/* ------------------------------------------------------------------ */

size_t mindex_memory(const struct matcher *m)
{
	size_t n = mtab_memory(&m->path_tab) + mtab_memory(&m->eq_tab) +
		   mtab_memory(&m->id_tab) + mtab_memory(&m->str_tab);
	n += mmalloc_size((size_t)m->cap_paths * sizeof(*m->paths));
	for (uint32_t i = 0; i < m->n_paths; i++)
		n += mmalloc_size(m->paths[i].clen + 1) +
		     mmalloc_size(strlen(m->paths[i].display) + 1) +
		     (m->paths[i].bits4 ? mmalloc_size(1u << 17) : 0);
	n += mmalloc_size((size_t)m->cap_eqs * sizeof(*m->eqs));
	if (m->bloom)
		n += mmalloc_size(((size_t)m->bloom_mask + 1) * 8);
	for (uint32_t i = 0; i < m->n_eqs; i++) {
		const struct meq *e = &m->eqs[i];
		if (e->tag)
			n += (e->len >= MEQ_INLINE ? mmalloc_size(e->len + 1)
						   : 0) +
			     mpost_memory(&e->post);
	}
	n += mmalloc_size((size_t)m->cap_recs * sizeof(*m->recs));
	for (uint32_t i = 0; i < m->n_recs; i++)
		if (m->recs[i].reason)
			n += mmalloc_size(strlen(m->recs[i].reason) + 1);
	n += arena_used(m->ids);
	n += mmalloc_size((size_t)m->cap_strs * sizeof(*m->strs)) +
	     m->mem_strings;
	n += mmalloc_size((size_t)(m->marks_tab ? m->marks_mask + 1 : 0) *
			  sizeof(*m->marks_tab));
	for (uint32_t i = 0; m->marks_tab && i <= m->marks_mask; i++)
		for (const struct mmarks *e = m->marks_tab[i]; e; e = e->next)
			n += mmalloc_size(sizeof(*e) +
					  e->n * sizeof(e->markings[0]));
	return n;
}

void mindex_free(struct matcher *m)
{
	for (uint32_t i = 0; i < m->n_paths; i++) {
		struct mpath *p = &m->paths[i];
		free(p->comp);
		free(p->display);
		free(p->bits4);
		iptrie_free(p->trie4);
		iptrie_free(p->trie6);
		mlit_free_set(m, p->lits);
	}
	free(m->paths);
	for (uint32_t i = 0; i < m->n_eqs; i++) {
		if (m->eqs[i].tag) {
			if (m->eqs[i].len >= MEQ_INLINE)
				free(m->eqs[i].v.p);
			mpost_free(&m->eqs[i].post);
		}
	}
	free(m->eqs);
	for (uint32_t i = 0; i < m->n_recs; i++)
		free(m->recs[i].reason);
	free(m->recs);
	arena_free(m->ids);
	for (uint32_t i = 0; m->marks_tab && i <= m->marks_mask; i++) {
		for (struct mmarks *e = m->marks_tab[i], *nx; e; e = nx) {
			nx = e->next;
			free(e);
		}
	}
	free(m->marks_tab);
	for (uint32_t i = 0; i < m->n_strs; i++)
		free(m->strs[i].s);
	free(m->strs);
	mtab_free(&m->path_tab);
	mtab_free(&m->eq_tab);
	free(m->bloom);
	mtab_free(&m->id_tab);
	mtab_free(&m->str_tab);
}
