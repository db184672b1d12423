/*
 * strait: a path-compressed binary prefix trie (see iptrie.h).
 *
 * Layout. Each family has one array of 32-bit words; node i occupies
 * `stride` words starting at i * stride: two child indexes, a meta word
 * (prefix length and how the values are held), a value word, then the key
 * in 1 (IPv4) or 4 (IPv6) big-endian-ordered words, zero past the length.
 * Index 0 is never a node, so 0 is the null child. IPv4 nodes take 20
 * bytes, IPv6 nodes 32.
 *
 * Shape. A node exists because it holds values or because two subtrees
 * branch at it; a node that holds nothing always has two children. So a
 * trie of n distinct prefixes has fewer than 2n nodes, every leaf holds a
 * value, and any non-empty subtree holds at least one value (which makes
 * iptrie_overlaps one descent).
 *
 * Values. A node with one value keeps it in its value word; more than one
 * go to a growable array in the trie's list table, and the value word is
 * then that table's index.
 */
#include "pattern/iptrie.h"

#include "common/err.h"

#include <stdlib.h>
#include <string.h>

enum {
	W_C0 = 0,   /* child for bit 0 */
	W_C1 = 1,   /* child for bit 1 */
	W_META = 2, /* prefix length in bits 0-7, value state in bits 8-9 */
	W_VAL = 3,  /* the single value, or the index of the value list */
	W_KEY = 4,  /* key words */
};

#define NIL 0u
#define META_LEN(m) ((m)&0xffu)
#define META_STATE(m) (((m) >> 8) & 3u)
#define ST_NONE 0u /* no value: a branching node */
#define ST_ONE 1u  /* one value, in W_VAL */
#define ST_LIST 2u /* W_VAL indexes t->lists */

/* The deepest path: one node per prefix length 0..128. */
#define MAX_DEPTH 130

/* Node indexes stay well inside uint32_t and index * stride in size_t. */
#define MAX_NODES (UINT32_MAX / 16u)

struct fam {
	uint32_t *w;   /* node words */
	uint32_t cap;  /* nodes allocated (including slot 0) */
	uint32_t used; /* slots handed out so far (slot 0 counts) */
	uint32_t free; /* freed nodes, chained through W_C0 */
	uint32_t root; /* NIL when the family is empty */
	unsigned kw;   /* key words: 1 or 4 */
	unsigned stride;
};

/* The values of a prefix holding more than one. A free entry has v NULL
 * and its next free index in cap. */
struct vlist {
	uint32_t *v;
	uint32_t n, cap;
};

struct iptrie {
	struct fam fam[2]; /* [0] IPv4, [1] IPv6 */
	struct vlist *lists;
	uint32_t n_lists, cap_lists; /* slots used, allocated */
	uint32_t free_list;	     /* head of free slots + 1, 0: none */
	size_t count;
};

/* ------------------------------------------------------------------ */
/* Keys                                                                 */
/* ------------------------------------------------------------------ */

/* The address of p as key words, bits past p->len cleared. */
static void to_key(const struct ip_prefix *p, unsigned kw, uint32_t *key)
{
	for (unsigned i = 0; i < kw; i++) {
		const uint8_t *b = p->addr + 4 * i;
		key[i] = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
			 (uint32_t)b[2] << 8 | b[3];
	}
	for (unsigned i = 0; i < kw; i++) {
		unsigned lo = 32 * i;
		if (p->len <= lo)
			key[i] = 0;
		else if (p->len < lo + 32)
			key[i] &= ~0u << (32 - (p->len - lo));
	}
}

static void from_key(const uint32_t *key, unsigned len, bool v6,
		     struct ip_prefix *p)
{
	memset(p, 0, sizeof(*p));
	for (unsigned i = 0; i < (v6 ? 4u : 1u); i++) {
		p->addr[4 * i] = (uint8_t)(key[i] >> 24);
		p->addr[4 * i + 1] = (uint8_t)(key[i] >> 16);
		p->addr[4 * i + 2] = (uint8_t)(key[i] >> 8);
		p->addr[4 * i + 3] = (uint8_t)key[i];
	}
	p->len = (uint8_t)len;
	p->v6 = v6;
}

static inline unsigned key_bit(const uint32_t *key, unsigned i)
{
	return (key[i >> 5] >> (31 - (i & 31))) & 1u;
}

/* True if a and b agree on their first len bits. */
static inline bool key_match(const uint32_t *a, const uint32_t *b, unsigned len)
{
	unsigned i = 0;

	for (; len >= 32; len -= 32, i++)
		if (a[i] != b[i])
			return false;
	return len == 0 || ((a[i] ^ b[i]) >> (32 - len)) == 0;
}

/* The number of leading bits a and b share, at most max. */
static unsigned key_common(const uint32_t *a, const uint32_t *b, unsigned max)
{
	for (unsigned i = 0; 32 * i < max; i++) {
		uint32_t x = a[i] ^ b[i];
		if (x != 0) {
			unsigned c = 32 * i + (unsigned)__builtin_clz(x);
			return c < max ? c : max;
		}
	}
	return max;
}

/* ------------------------------------------------------------------ */
/* Nodes                                                                */
/* ------------------------------------------------------------------ */

static inline uint32_t *node(const struct fam *f, uint32_t i)
{
	return f->w + (size_t)i * f->stride;
}

/* Makes room for n more nodes, so that node_new cannot fail (nor move
 * the array) until they are used. */
static int reserve(struct fam *f, uint32_t n)
{
	uint32_t have = f->cap > f->used ? f->cap - f->used : 0;
	uint32_t spare = f->free != NIL ? 1 : 0;

	if (have + spare >= n)
		return ST_OK;
	if (f->used > MAX_NODES - n)
		return ST_ENOMEM;
	uint32_t cap = f->cap < 64 ? 64 : f->cap + f->cap / 2;
	if (cap < f->used + n)
		cap = f->used + n;
	if (cap > MAX_NODES)
		cap = MAX_NODES;
	uint32_t *w = realloc(f->w, (size_t)cap * f->stride * sizeof(*w));
	if (w == NULL)
		return ST_ENOMEM;
	f->w = w;
	f->cap = cap;
	return ST_OK;
}

/* A node for the first len bits of key, childless. Room was reserved. */
static uint32_t node_new(struct fam *f, const uint32_t *key, unsigned len,
			 uint32_t state, uint32_t val)
{
	uint32_t i;

	if (f->free != NIL) {
		i = f->free;
		f->free = node(f, i)[W_C0];
	} else {
		i = f->used++;
	}
	uint32_t *n = node(f, i);
	n[W_C0] = NIL;
	n[W_C1] = NIL;
	n[W_META] = len | state << 8;
	n[W_VAL] = val;
	for (unsigned k = 0; k < f->kw; k++) {
		unsigned lo = 32 * k;
		if (len <= lo)
			n[W_KEY + k] = 0;
		else if (len < lo + 32)
			n[W_KEY + k] = key[k] & ~0u << (32 - (len - lo));
		else
			n[W_KEY + k] = key[k];
	}
	return i;
}

static void node_release(struct fam *f, uint32_t i)
{
	uint32_t *n = node(f, i);

	n[W_META] = 0;
	n[W_C1] = NIL;
	n[W_C0] = f->free;
	f->free = i;
}

/* ------------------------------------------------------------------ */
/* Value lists                                                          */
/* ------------------------------------------------------------------ */

/* A list holding a and b, its index in *out. */
static int list_new(struct iptrie *t, uint32_t a, uint32_t b, uint32_t *out)
{
	uint32_t *v = malloc(4 * sizeof(*v));
	uint32_t i;

	if (v == NULL)
		return ST_ENOMEM;
	if (t->free_list != 0) {
		i = t->free_list - 1;
		t->free_list = t->lists[i].cap;
	} else {
		if (t->n_lists == t->cap_lists) {
			uint32_t cap = t->cap_lists ? t->cap_lists * 2 : 16;
			struct vlist *l = NULL;
			if (cap > t->cap_lists)
				l = realloc(t->lists, cap * sizeof(*l));
			if (l == NULL) {
				free(v);
				return ST_ENOMEM;
			}
			t->lists = l;
			t->cap_lists = cap;
		}
		i = t->n_lists++;
	}
	v[0] = a;
	v[1] = b;
	t->lists[i] = (struct vlist){v, 2, 4};
	*out = i;
	return ST_OK;
}

static void list_release(struct iptrie *t, uint32_t i)
{
	free(t->lists[i].v);
	t->lists[i] = (struct vlist){NULL, 0, t->free_list};
	t->free_list = i + 1;
}

static int add_value(struct iptrie *t, uint32_t *n, uint32_t value)
{
	uint32_t state = META_STATE(n[W_META]), li;
	struct vlist *l;

	switch (state) {
	case ST_NONE:
		n[W_VAL] = value;
		break;
	case ST_ONE:
		if (list_new(t, n[W_VAL], value, &li) != ST_OK)
			return ST_ENOMEM;
		n[W_VAL] = li;
		break;
	default:
		l = &t->lists[n[W_VAL]];
		if (l->n == l->cap) {
			if (l->cap > UINT32_MAX / 2)
				return ST_ENOMEM;
			uint32_t *v = realloc(l->v, 2 * l->cap * sizeof(*v));
			if (v == NULL)
				return ST_ENOMEM;
			l->v = v;
			l->cap *= 2;
		}
		l->v[l->n++] = value;
		return ST_OK;
	}
	n[W_META] = META_LEN(n[W_META]) | (state + 1) << 8;
	return ST_OK;
}

/* Removes one occurrence of value; ST_ENOTFOUND if the node lacks it. */
static int del_value(struct iptrie *t, uint32_t *n, uint32_t value)
{
	uint32_t state = META_STATE(n[W_META]), len = META_LEN(n[W_META]);

	if (state == ST_NONE)
		return ST_ENOTFOUND;
	if (state == ST_ONE) {
		if (n[W_VAL] != value)
			return ST_ENOTFOUND;
		n[W_META] = len | ST_NONE << 8;
		n[W_VAL] = 0;
		return ST_OK;
	}
	uint32_t li = n[W_VAL];
	struct vlist *l = &t->lists[li];
	uint32_t k = 0;
	while (k < l->n && l->v[k] != value)
		k++;
	if (k == l->n)
		return ST_ENOTFOUND;
	/* Keep the order values were added in: walks report them so. */
	memmove(l->v + k, l->v + k + 1, (l->n - k - 1) * sizeof(*l->v));
	if (--l->n == 1) {
		n[W_VAL] = l->v[0];
		n[W_META] = len | ST_ONE << 8;
		list_release(t, li);
	}
	return ST_OK;
}

/* Calls fn for each value of node n (which holds at least one). */
static int report(const struct iptrie *t, const struct fam *f,
		  const uint32_t *n, iptrie_fn fn, void *ctx)
{
	struct ip_prefix p;
	int rc;

	from_key(n + W_KEY, META_LEN(n[W_META]), f->kw == 4, &p);
	if (META_STATE(n[W_META]) == ST_ONE)
		return fn(ctx, &p, n[W_VAL]);
	const struct vlist *l = &t->lists[n[W_VAL]];
	for (uint32_t k = 0; k < l->n; k++)
		if ((rc = fn(ctx, &p, l->v[k])) != 0)
			return rc;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The trie                                                             */
/* ------------------------------------------------------------------ */

struct iptrie *iptrie_new(void)
{
	struct iptrie *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	for (int v6 = 0; v6 < 2; v6++) {
		struct fam *f = &t->fam[v6];
		f->kw = v6 ? 4 : 1;
		f->stride = W_KEY + f->kw;
		f->used = 1; /* slot 0 is NIL */
	}
	return t;
}

void iptrie_free(struct iptrie *t)
{
	if (t == NULL)
		return;
	for (uint32_t i = 0; i < t->n_lists; i++)
		free(t->lists[i].v);
	free(t->lists);
	free(t->fam[0].w);
	free(t->fam[1].w);
	free(t);
}

/* The family index of p, or -1 when p's length is out of range. */
static int fam_idx(const struct ip_prefix *p)
{
	if (p->len > (p->v6 ? 128 : 32))
		return -1;
	return p->v6 ? 1 : 0;
}

int iptrie_insert(struct iptrie *t, const struct ip_prefix *p, uint32_t value)
{
	int fi = fam_idx(p);
	uint32_t key[4];
	unsigned plen;

	if (fi < 0)
		return ST_EINVAL;
	struct fam *f = &t->fam[fi];
	/* Two nodes at most are added; reserving first keeps the pointers
	 * into the array below valid. */
	if (reserve(f, 2) != ST_OK)
		return ST_ENOMEM;
	to_key(p, f->kw, key);
	plen = p->len;

	uint32_t *link = &f->root;
	for (;;) {
		uint32_t i = *link;
		if (i == NIL) {
			*link = node_new(f, key, plen, ST_ONE, value);
			break;
		}
		uint32_t *n = node(f, i);
		unsigned nlen = META_LEN(n[W_META]);
		unsigned c =
		    key_common(n + W_KEY, key, nlen < plen ? nlen : plen);
		if (c == nlen && nlen == plen) {
			if (add_value(t, n, value) != ST_OK)
				return ST_ENOMEM;
			break;
		}
		if (c == nlen) {
			link = &n[W_C0 + key_bit(key, nlen)];
			continue;
		}
		/* The new prefix leaves n's path at bit c. */
		uint32_t up;
		if (c == plen) {
			/* p contains n: p becomes n's parent. */
			up = node_new(f, key, plen, ST_ONE, value);
			node(f, up)[W_C0 + key_bit(n + W_KEY, plen)] = i;
		} else {
			uint32_t leaf = node_new(f, key, plen, ST_ONE, value);
			up = node_new(f, key, c, ST_NONE, 0);
			unsigned b = key_bit(key, c);
			node(f, up)[W_C0 + b] = leaf;
			node(f, up)[W_C0 + !b] = i;
		}
		*link = up;
		break;
	}
	t->count++;
	return ST_OK;
}

int iptrie_remove(struct iptrie *t, const struct ip_prefix *p, uint32_t value)
{
	int fi = fam_idx(p);
	uint32_t *links[MAX_DEPTH], key[4];
	unsigned depth = 0, plen;

	if (fi < 0)
		return ST_ENOTFOUND;
	struct fam *f = &t->fam[fi];
	to_key(p, f->kw, key);
	plen = p->len;

	/* links[k] is the slot pointing at the k-th node of the path. */
	uint32_t *link = &f->root, *n;
	for (;;) {
		if (*link == NIL)
			return ST_ENOTFOUND;
		n = node(f, *link);
		unsigned nlen = META_LEN(n[W_META]);
		if (nlen > plen || !key_match(n + W_KEY, key, nlen))
			return ST_ENOTFOUND;
		links[depth++] = link;
		if (nlen == plen)
			break;
		link = &n[W_C0 + key_bit(key, nlen)];
	}
	if (del_value(t, n, value) != ST_OK)
		return ST_ENOTFOUND;
	t->count--;
	if (META_STATE(n[W_META]) != ST_NONE)
		return ST_OK;

	/* The node is empty now: unlink it unless two subtrees need it, and
	 * then its parent too if that only branched to reach it. */
	for (;;) {
		uint32_t i = *link, c0 = n[W_C0], c1 = n[W_C1];
		if (META_STATE(n[W_META]) != ST_NONE ||
		    (c0 != NIL && c1 != NIL))
			break;
		*link = c0 != NIL ? c0 : c1;
		node_release(f, i);
		if (c0 != NIL || c1 != NIL || --depth == 0)
			break;
		link = links[depth - 1];
		n = node(f, *link);
	}
	return ST_OK;
}

int iptrie_walk_containing(const struct iptrie *t, const struct ip_prefix *a,
			   iptrie_fn fn, void *ctx)
{
	int fi = fam_idx(a);
	uint32_t key[4];
	int rc;

	if (fi < 0)
		return 0;
	const struct fam *f = &t->fam[fi];
	to_key(a, f->kw, key);
	for (uint32_t i = f->root; i != NIL;) {
		const uint32_t *n = node(f, i);
		unsigned nlen = META_LEN(n[W_META]);
		if (nlen > a->len || !key_match(n + W_KEY, key, nlen))
			break;
		if (META_STATE(n[W_META]) != ST_NONE &&
		    (rc = report(t, f, n, fn, ctx)) != 0)
			return rc;
		if (nlen == a->len)
			break;
		i = n[W_C0 + key_bit(key, nlen)];
	}
	return 0;
}

/* Reports every value in the subtree at i, pre-order, 0-branch first. */
static int walk_subtree(const struct iptrie *t, const struct fam *f, uint32_t i,
			iptrie_fn fn, void *ctx)
{
	uint32_t stack[MAX_DEPTH + 1];
	unsigned sp = 0;
	int rc;

	stack[sp++] = i;
	while (sp > 0) {
		const uint32_t *n = node(f, stack[--sp]);
		if (META_STATE(n[W_META]) != ST_NONE &&
		    (rc = report(t, f, n, fn, ctx)) != 0)
			return rc;
		/* Each pop pushes at most two, one level deeper: the stack
		 * holds at most one pending sibling per level. */
		if (n[W_C1] != NIL)
			stack[sp++] = n[W_C1];
		if (n[W_C0] != NIL)
			stack[sp++] = n[W_C0];
	}
	return 0;
}

int iptrie_walk_overlapping(const struct iptrie *t, const struct ip_prefix *a,
			    iptrie_fn fn, void *ctx)
{
	int fi = fam_idx(a);
	uint32_t key[4];
	int rc;

	if (fi < 0)
		return 0;
	const struct fam *f = &t->fam[fi];
	to_key(a, f->kw, key);
	for (uint32_t i = f->root; i != NIL;) {
		const uint32_t *n = node(f, i);
		unsigned nlen = META_LEN(n[W_META]);
		if (!key_match(n + W_KEY, key, nlen < a->len ? nlen : a->len))
			break;
		if (nlen >= a->len)
			return walk_subtree(t, f, i, fn, ctx);
		if (META_STATE(n[W_META]) != ST_NONE &&
		    (rc = report(t, f, n, fn, ctx)) != 0)
			return rc;
		i = n[W_C0 + key_bit(key, nlen)];
	}
	return 0;
}

bool iptrie_overlaps(const struct iptrie *t, const struct ip_prefix *p)
{
	int fi = fam_idx(p);
	uint32_t key[4];

	if (fi < 0)
		return false;
	const struct fam *f = &t->fam[fi];
	to_key(p, f->kw, key);
	for (uint32_t i = f->root; i != NIL;) {
		const uint32_t *n = node(f, i);
		unsigned nlen = META_LEN(n[W_META]);
		if (!key_match(n + W_KEY, key, nlen < p->len ? nlen : p->len))
			return false;
		/* Inside p: the subtree is not empty, so something is. */
		if (nlen >= p->len || META_STATE(n[W_META]) != ST_NONE)
			return true;
		i = n[W_C0 + key_bit(key, nlen)];
	}
	return false;
}

size_t iptrie_count(const struct iptrie *t)
{
	return t->count;
}

size_t iptrie_memory(const struct iptrie *t)
{
	size_t m = sizeof(*t) + (size_t)t->cap_lists * sizeof(*t->lists);

	for (int v6 = 0; v6 < 2; v6++)
		m += (size_t)t->fam[v6].cap * t->fam[v6].stride *
		     sizeof(uint32_t);
	for (uint32_t i = 0; i < t->n_lists; i++)
		m += (size_t)t->lists[i].cap * sizeof(uint32_t) *
		     (t->lists[i].v != NULL);
	return m;
}
