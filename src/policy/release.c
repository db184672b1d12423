/*
 * strait: the release decision over references (release.h).
 *
 * A version is releasable to an audience when its own facts pass and so do
 * those of every held object reachable through its references (the
 * counted versions of each id): the greatest fixpoint, so a cycle does not
 * withhold by itself. The walk is a depth-first search that stops at the
 * first denial. An id on the search stack counts as released where it is
 * met again; Tarjan's strongly connected components tell when that
 * assumption is settled, and only settled answers are remembered:
 *
 * - a denial found on an object's own facts, and every object on the path
 *   that led to it, is definitive (each of them reaches the denied one);
 * - a component whose walk finished without a denial is released as a
 *   whole: every object it reaches was examined and passed;
 * - the limits (depth, count) and errors of the source are never
 *   remembered: they depend on the path or the moment, not on the object.
 *
 * The version decided is not a node of the search (it need not be the
 * version of its id that counts for others); its references are. So every
 * answer remembered is the answer for the counted versions of that id,
 * whichever version asked, and remembering never changes an answer (the
 * limits aside).
 */
#include "policy/release.h"

#include "common/arena.h"

#include <stdlib.h>
#include <string.h>

/* Past this many remembered ids the cache starts over: memory is bounded
 * even when a caller never resets. */
#define CACHE_MAX_IDS 65536

enum cached { C_NONE, C_OK, C_DENY };

/* One id met since the last reset. Numbered densely (its place in
 * e->ent), so the walk refers to ids by number while the table grows. */
struct entry {
	const char *key; /* NUL-terminated, in e->keys */
	uint32_t hash;
	uint32_t epoch; /* decision in which index and on_stack hold */
	uint32_t index; /* order in which that decision examined it */
	bool on_stack;	/* examined, its component not finished yet */
	/* enum cached: the settled answer for the id's counted versions,
	 * for e->aud; why: the reason when C_DENY. */
	uint8_t cached;
	uint8_t why;
};

/* Open addressing, linear probing. A bucket of another generation is
 * empty, so forgetting everything is one increment. */
struct bucket {
	uint32_t entry;
	uint32_t gen;
};

struct release_engine {
	struct release_source src;
	const struct audience *aud; /* the audience the cache is for */
	struct arena *keys;

	struct entry *ent;
	size_t n_ent, cap_ent;
	struct bucket *bk;
	size_t n_bk; /* a power of two */
	uint32_t gen;

	/* The decision in progress. */
	uint32_t epoch;
	uint32_t next_index;
	size_t examined;
	bool transient;	 /* the denial found depends on the path or moment */
	uint32_t *stack; /* Tarjan's stack of entries */
	size_t n_stack, cap_stack;
	/* The references of every object on the search stack, copied as
	 * entry numbers (a lookup's answer lasts only until the next). */
	uint32_t *refs;
	size_t n_refs, cap_refs;
};

#define INITIAL_BUCKETS 64

static uint32_t hash_str(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

static int grow_u32(uint32_t **a, size_t *cap, size_t need)
{
	if (need <= *cap)
		return ST_OK;
	size_t ncap = *cap ? *cap : 32;
	while (ncap < need)
		ncap *= 2;
	uint32_t *n = realloc(*a, ncap * sizeof(**a));
	if (n == NULL)
		return ST_ENOMEM;
	*a = n;
	*cap = ncap;
	return ST_OK;
}

static void bucket_put(struct release_engine *e, uint32_t x)
{
	size_t mask = e->n_bk - 1;
	size_t i = e->ent[x].hash & mask;
	while (e->bk[i].gen == e->gen)
		i = (i + 1) & mask;
	e->bk[i].entry = x;
	e->bk[i].gen = e->gen;
}

static int rehash(struct release_engine *e)
{
	size_t n = e->n_bk * 2;
	struct bucket *bk = calloc(n, sizeof(*bk));
	if (bk == NULL)
		return ST_ENOMEM;
	free(e->bk);
	e->bk = bk;
	e->n_bk = n;
	for (size_t x = 0; x < e->n_ent; x++)
		bucket_put(e, (uint32_t)x);
	return ST_OK;
}

/* The number of id's entry into *out, made when new. ST_OK or
 * ST_ENOMEM. */
static int intern(struct release_engine *e, const char *id, uint32_t *out)
{
	uint32_t h = hash_str(id);
	size_t mask = e->n_bk - 1;
	size_t i = h & mask;
	for (; e->bk[i].gen == e->gen; i = (i + 1) & mask) {
		const struct entry *en = &e->ent[e->bk[i].entry];
		if (en->hash == h && strcmp(en->key, id) == 0) {
			*out = e->bk[i].entry;
			return ST_OK;
		}
	}
	/* At most half full. Ids are bounded per decision by the count
	 * limit and between resets by CACHE_MAX_IDS, far below UINT32_MAX. */
	if ((e->n_ent + 1) * 2 > e->n_bk && rehash(e) != ST_OK)
		return ST_ENOMEM;
	if (e->n_ent == e->cap_ent) {
		size_t ncap = e->cap_ent ? e->cap_ent * 2 : 32;
		struct entry *n = realloc(e->ent, ncap * sizeof(*n));
		if (n == NULL)
			return ST_ENOMEM;
		e->ent = n;
		e->cap_ent = ncap;
	}
	size_t len = strlen(id) + 1;
	char *key = arena_alloc(e->keys, len);
	if (key == NULL)
		return ST_ENOMEM;
	memcpy(key, id, len);
	uint32_t x = (uint32_t)e->n_ent++;
	e->ent[x] = (struct entry){.key = key, .hash = h};
	bucket_put(e, x);
	*out = x;
	return ST_OK;
}

static void forget(struct release_engine *e)
{
	e->n_ent = 0;
	arena_reset(e->keys);
	if (++e->gen == 0) { /* wrapped: old buckets would look current */
		memset(e->bk, 0, e->n_bk * sizeof(*e->bk));
		e->gen = 1;
	}
}

struct release_engine *release_engine_new(const struct release_source *src)
{
	struct release_engine *e = calloc(1, sizeof(*e));
	if (e == NULL)
		return NULL;
	e->src = *src;
	e->gen = 1;
	e->keys = arena_new(16 * 1024);
	e->n_bk = INITIAL_BUCKETS;
	e->bk = calloc(e->n_bk, sizeof(*e->bk));
	if (e->keys == NULL || e->bk == NULL) {
		release_engine_free(e);
		return NULL;
	}
	return e;
}

void release_engine_free(struct release_engine *e)
{
	if (e == NULL)
		return;
	arena_free(e->keys);
	free(e->ent);
	free(e->bk);
	free(e->stack);
	free(e->refs);
	free(e);
}

void release_engine_reset(struct release_engine *e)
{
	forget(e);
	e->aud = NULL;
}

/* Settles the component whose root is entry root: every member released. */
static void settle(struct release_engine *e, uint32_t root)
{
	for (;;) {
		uint32_t y = e->stack[--e->n_stack];
		e->ent[y].on_stack = false;
		e->ent[y].cached = C_OK;
		if (y == root)
			return;
	}
}

static enum release_why deny(struct release_engine *e, enum release_why r,
			     bool transient)
{
	if (transient)
		e->transient = true;
	return r;
}

/*
 * The answer for the counted versions of entry x, met depth references
 * away from the version decided. *low takes the lowest index of an
 * unsettled entry x reaches (Tarjan's low-link).
 */
static enum release_why visit(struct release_engine *e, uint32_t x,
			      unsigned depth, uint32_t *low)
{
	struct entry *en = &e->ent[x];
	if (en->epoch == e->epoch && en->on_stack) {
		/* On the search stack (or in an unsettled component): counts
		 * as released here. */
		if (en->index < *low)
			*low = en->index;
		return RELEASE_OK;
	}
	if (en->cached == C_OK)
		return RELEASE_OK;
	if (en->cached == C_DENY)
		return (enum release_why)en->why;

	if (e->examined >= RELEASE_MAX_VISITED)
		return deny(e, RELEASE_DENY_DEPTH, true);
	e->examined++;
	const struct release_version *vs = NULL;
	size_t n = 0;
	if (e->src.lookup(e->src.ctx, en->key, &vs, &n) != ST_OK)
		return deny(e, RELEASE_DENY_REFERENCE, true);
	if (n == 0) {
		/* Not held: nothing to disclose. */
		en->cached = C_OK;
		return RELEASE_OK;
	}
	if (depth > RELEASE_MAX_DEPTH)
		return deny(e, RELEASE_DENY_DEPTH, true);
	/* A partner's own object (every version withheld only because it
	 * would go back to the node that made it) discloses nothing to that
	 * partner: an opinion or a sighting of its indicator may go to it.
	 * Its own references are the partner's business: not followed. */
	size_t theirs = 0;
	for (size_t i = 0; i < n; i++) {
		enum release_why r = policy_decide(e->aud, &vs[i].f);
		if (r == RELEASE_DENY_ORIGIN) {
			theirs++;
		} else if (r != RELEASE_OK) {
			en->cached = C_DENY;
			en->why = (uint8_t)r;
			return r;
		}
	}
	if (theirs == n) {
		en->cached = C_OK;
		return RELEASE_OK;
	}

	/* Copy the references before the next lookup overwrites them. */
	size_t base = e->n_refs;
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < vs[i].n_refs; j++) {
			const char *ref = vs[i].refs[j];
			uint32_t y;
			if (ref == NULL)
				continue;
			if (grow_u32(&e->refs, &e->cap_refs, e->n_refs + 1) !=
				ST_OK ||
			    intern(e, ref, &y) != ST_OK) {
				e->n_refs = base;
				return deny(e, RELEASE_DENY_REFERENCE, true);
			}
			e->refs[e->n_refs++] = y;
		}
	}
	size_t end = e->n_refs;
	if (grow_u32(&e->stack, &e->cap_stack, e->n_stack + 1) != ST_OK) {
		e->n_refs = base;
		return deny(e, RELEASE_DENY_REFERENCE, true);
	}
	en = &e->ent[x]; /* intern() may have moved the entries */
	en->epoch = e->epoch;
	en->index = e->next_index++;
	en->on_stack = true;
	e->stack[e->n_stack++] = x;

	uint32_t mine = en->index, my_low = mine;
	for (size_t i = base; i < end; i++) {
		enum release_why r = visit(e, e->refs[i], depth + 1, &my_low);
		if (r != RELEASE_OK) {
			/* The decision stops here: nothing is released. */
			e->n_refs = base;
			r = r == RELEASE_DENY_DEPTH ? RELEASE_DENY_DEPTH
						    : RELEASE_DENY_REFERENCE;
			if (!e->transient) {
				e->ent[x].cached = C_DENY;
				e->ent[x].why = (uint8_t)r;
			}
			return r;
		}
	}
	e->n_refs = base;
	if (my_low == mine)
		settle(e, x);
	else if (my_low < *low)
		*low = my_low;
	return RELEASE_OK;
}

static void explain_ref(struct release_explain *why, enum release_why r,
			const char *ref, enum release_why ref_why)
{
	if (why == NULL)
		return;
	why->why = r;
	size_t n = strlen(ref);
	if (n >= sizeof(why->ref))
		n = sizeof(why->ref) - 1;
	memcpy(why->ref, ref, n);
	why->ref[n] = '\0';
	why->ref_why = ref_why;
}

/* A fresh decision: per-decision state of every entry becomes stale. */
static void begin(struct release_engine *e)
{
	if (++e->epoch == 0) {
		for (size_t i = 0; i < e->n_ent; i++)
			e->ent[i].epoch = 0;
		e->epoch = 1;
	}
	e->next_index = 0;
	e->examined = 0;
	e->transient = false;
	e->n_stack = 0;
	e->n_refs = 0;
}

enum release_why release_decide(struct release_engine *e,
				const struct audience *a,
				const struct release_version *v,
				struct release_explain *why)
{
	if (why != NULL)
		*why = (struct release_explain){.why = RELEASE_OK};
	if (a != e->aud || e->n_ent > CACHE_MAX_IDS) {
		forget(e);
		e->aud = a;
	}
	enum release_why r = policy_decide(a, &v->f);
	if (r != RELEASE_OK) {
		if (why != NULL)
			why->why = r;
		return r;
	}
	if (v->n_refs == 0)
		return RELEASE_OK;

	/* The version itself is not a node of the search: a reference back
	 * to its own id means that id's counted versions, as anywhere else
	 * (for the latest version of an SDO that is itself, and the cycle
	 * closes there). So every answer settled below is exact. */
	begin(e);
	uint32_t low = UINT32_MAX;
	for (size_t i = 0; i < v->n_refs; i++) {
		const char *ref = v->refs[i];
		uint32_t y;
		if (ref == NULL)
			continue;
		if (intern(e, ref, &y) != ST_OK)
			r = RELEASE_DENY_REFERENCE;
		else
			r = visit(e, y, 1, &low);
		if (r != RELEASE_OK) {
			enum release_why mine = r == RELEASE_DENY_DEPTH
						    ? RELEASE_DENY_DEPTH
						    : RELEASE_DENY_REFERENCE;
			explain_ref(why, mine, ref, r);
			return mine;
		}
	}
	return RELEASE_OK;
}
