/*
 * strait: the indexed matcher's internals, shared by matcher*.c and the
 * unit tests. Nothing outside src/pattern/matcher*.c and
 * tests/unit/test_matcher.c includes this header.
 *
 * Layout:
 *   matcher.c         lifecycle: new/free, offer/remove/advance, stats
 *   matcher_anchor.c  anchors of a pattern, literal extraction, refusals
 *   matcher_index.c   the hash function, hash tables, interned strings
 *   matcher_lit.c     the LIKE/MATCHES literal prefilter (Hyperscan or
 *                     the built-in trigram index) and their confirmation
 *   matcher_feed.c    observation walk, candidates, confirmation, state
 */
#ifndef STRAIT_PATTERN_MATCHER_INT_H
#define STRAIT_PATTERN_MATCHER_INT_H

#include "common/arena.h"
#include "common/ip.h"
#include "pattern/iptrie.h"
#include "pattern/matcher.h"
#include "pattern/warninglist.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define MNONE UINT32_MAX

/* ------------------------------------------------------------------ */
/* Hashing and the open-addressing slot table                          */
/* ------------------------------------------------------------------ */

/* A fast 64-bit non-cryptographic hash: 128-bit multiply-fold mixing,
 * with the tail read by (overlapping) whole-word loads. */
static inline uint64_t mh_mix(uint64_t a, uint64_t b)
{
	__uint128_t r = (__uint128_t)a * b;
	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t mh_rd64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static inline uint64_t mh_rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

#define MH_K1 0xa0761d6478bd642full
#define MH_K2 0xe7037ed1a0b428dbull
#define MH_K3 0x8ebc6af09c88c6e3ull
#define MH_K4 0x589965cc75374cc3ull

static inline uint64_t mhash(const void *p, size_t n, uint64_t seed)
{
	const uint8_t *s = p;
	uint64_t h = seed ^ MH_K1, a, b;
	if (n <= 16) {
		if (n >= 8) {
			a = mh_rd64(s);
			b = mh_rd64(s + n - 8);
		} else if (n >= 4) {
			a = mh_rd32(s);
			b = mh_rd32(s + n - 4);
		} else if (n) {
			a = (uint64_t)s[0] << 16 | (uint64_t)s[n >> 1] << 8 |
			    s[n - 1];
			b = 0;
		} else {
			a = b = 0;
		}
	} else {
		size_t i = n;
		while (i > 16) {
			h = mh_mix(mh_rd64(s) ^ MH_K2, mh_rd64(s + 8) ^ h);
			s += 16;
			i -= 16;
		}
		a = mh_rd64(s + i - 16);
		b = mh_rd64(s + i - 8);
	}
	return mh_mix(MH_K2 ^ n, mh_mix(a ^ MH_K3, b ^ h ^ MH_K4));
}

/* Slots hold 32 bits of the hash (which also give the home slot) and the
 * index of a node that lives in a separate, stable array. A miss reads
 * only the slot array. Linear probing, backward-shift deletion. */
struct mslot {
	uint32_t h;
	uint32_t node; /* MNONE: empty */
};

struct mtab {
	struct mslot *slots;
	uint32_t mask; /* capacity - 1; no slots until the first insert */
	uint32_t n;
};

static inline uint32_t mtab_h32(uint64_t h)
{
	return (uint32_t)(h >> 32) ^ (uint32_t)h;
}

/* Probes for h; for each slot with the same 32 bits calls eq(ctx, node)
 * and returns the slot index on a match, else MNONE. */
static inline uint32_t mtab_find(const struct mtab *t, uint32_t h,
				 bool (*eq)(const void *ctx, uint32_t node),
				 const void *ctx)
{
	if (!t->slots)
		return MNONE;
	for (uint32_t i = h & t->mask;; i = (i + 1) & t->mask) {
		const struct mslot *s = &t->slots[i];
		if (s->node == MNONE)
			return MNONE;
		if (s->h == h && eq(ctx, s->node))
			return i;
	}
}

void mtab_free(struct mtab *t);
/* Adds (h, node); the key must not be present. ST_ENOMEM. */
int mtab_add(struct mtab *t, uint32_t h, uint32_t node);
/* Empties slot i (from mtab_find). */
void mtab_del(struct mtab *t, uint32_t i);
size_t mtab_memory(const struct mtab *t);

/* Bytes malloc really uses for a request of n (header, rounding). */
static inline size_t mmalloc_size(size_t n)
{
	return n ? (n + 8 + 15) & ~(size_t)15 : 0;
}

/* ------------------------------------------------------------------ */
/* Postings: the brackets an index entry leads to                       */
/* ------------------------------------------------------------------ */

struct mpost {
	uint32_t n, cap;
	union {
		uint32_t one;	/* cap <= 1 */
		uint32_t *many; /* cap > 1 */
	} u;
};

static inline const uint32_t *mpost_items(const struct mpost *p)
{
	return p->cap > 1 ? p->u.many : &p->u.one;
}

/* Adds b unless present: 1 added, 0 present, ST_ENOMEM. */
int mpost_add(struct mpost *p, uint32_t b);
/* Removes b; true if it was there. */
bool mpost_del(struct mpost *p, uint32_t b);
void mpost_free(struct mpost *p);
size_t mpost_memory(const struct mpost *p);

/* ------------------------------------------------------------------ */
/* Index keys: paths, equality values, prefixes                         */
/* ------------------------------------------------------------------ */

enum {
	MP_PREFIX = 1, /* a longer indexed path continues this one */
	MP_EQ = 2,     /* equality anchors on this path */
	MP_TRIE = 4,   /* CIDR anchors */
	MP_LIT = 8,    /* LIKE / MATCHES anchors */
};

struct litset;
struct mtrie16;

/* One step of an indexed object path. Paths form a tree: an SCO type at
 * the root, then one node per property key (list steps collapse into the
 * key they follow), so the walk of an SCO looks each member up by (the
 * path so far, its key) without building strings. */
struct mpath {
	uint32_t parent; /* MNONE for a type */
	uint32_t clen;
	char *comp;	   /* the type or the key; NUL-terminated */
	char *display;	   /* "type:prop.sub" as a pattern writes it, or "" */
	uint32_t flags;	   /* MP_* while the counts below are non-zero */
	uint32_t n_prefix; /* child paths in use */
	uint32_t n_eq, n_trie, n_lit;
	struct iptrie *trie4, *trie6;
	/* Per IPv4 /20 block, a bit set if some prefix of trie4 overlaps
	 * it: most addresses skip the walk. Removals leave bits set until
	 * a rebuild from the trie. */
	uint64_t *bits4;
	uint32_t bits4_dead;
	struct litset *lits;
	uint8_t wl_kind; /* enum wl_kind of the values at this path */
};

/* Value tags of equality keys. */
enum {
	MV_STR = 's',
	MV_NUM = 'n',
	MV_BOOL = 'b',
	MV_PFX = 'p', /* a CIDR prefix: the value is a struct ip_prefix */
};

/* One (path, value) key; the tries point at MV_PFX ones by index. Short
 * values (an IPv4 address) live in the node: a hit reads one line. */
#define MEQ_INLINE 16
struct meq {
	union {
		char *p;	      /* len >= MEQ_INLINE */
		char inl[MEQ_INLINE]; /* NUL-terminated */
	} v;
	uint32_t len;
	uint32_t path;
	uint8_t tag; /* 0: a free node */
	struct mpost post;
	uint32_t next_free;
};

static inline const char *meq_val(const struct meq *e)
{
	return e->len < MEQ_INLINE ? e->v.inl : e->v.p;
}

/* ------------------------------------------------------------------ */
/* Indicators, brackets, anchors                                       */
/* ------------------------------------------------------------------ */

/* How a candidate bracket is decided. Brackets of a single comparison on
 * a path of plain keys (no list step, no reference followed) are decided
 * at the leaf that hit them, without the evaluator: the evaluator selects
 * exactly that leaf for such a path, so a hit through a list or a
 * reference (which it never selects) is no hit for them. */
enum {
	MB_EXACT = 1,  /* =, IN or ISSUBSET: the index hit decides */
	MB_LIKE = 2,   /* LIKE: the matcher's LIKE test on the hit value */
	MB_REGEX = 4,  /* MATCHES: the matcher's PCRE2 test on the hit value */
	MB_ALWAYS = 8, /* no anchor: evaluated against every observation */
};
#define MB_DECIDED (MB_EXACT | MB_LIKE | MB_REGEX)

/* One comparison expression ("bracket") of an indicator's pattern. */
struct mbracket {
	const struct pat_cexpr *ce; /* stateful: in the kept pattern */
	uint32_t ind;		    /* indicator slot; MNONE: free */
	uint32_t epoch;		    /* the feed that last made it a candidate */
	uint32_t cand;		    /* its candidate index in that feed */
	uint16_t idx;		    /* position among its indicator's */
	uint8_t flags;
};

enum {
	MA_EQ,
	MA_TRIE,
	MA_LIT,
};

/* One anchor as entered in an index, kept to take it out again. */
struct manchor {
	uint8_t kind;
	uint32_t bracket;
	uint32_t path;
	uint32_t ref; /* MA_EQ, MA_TRIE: meq node; MA_LIT: literal slot */
};

/* A copied observation, shared by the windows that hold it. */
struct mobs {
	uint32_t refs;
	size_t size;
	struct pat_observation o;
};

struct mstate {
	struct pat_observation *win; /* cap entries */
	struct mobs **blk;	     /* the copy behind each, NULL: borrowed */
	uint32_t n, cap;
	st_time newest;	     /* latest first_observed seen */
	st_time horizon;     /* WITHIN bound in microseconds, or INT64_MAX */
	st_time start, stop; /* START/STOP at the root, else full range */
};

/* The markings and creator of indicators, interned: most indicators of
 * one source share them. */
struct mmarks {
	uint32_t refs;
	uint32_t n;
	uint64_t hash;
	const char *creator; /* interned, or NULL */
	struct mmarks *next; /* in its hash chain */
	const char *markings[];
};

/* What only some indicators need. */
struct mcold {
	/* Stateful: the parsed pattern, always. Stateless ones that the
	 * evaluator confirms: the text, and the parsed pattern while it is
	 * in the cache (lru_*). */
	struct pattern *pat;
	char *text;
	uint32_t text_len;
	uint32_t lru_prev, lru_next;
	size_t pat_mem; /* estimate for pat */
	struct mstate *state;
	uint32_t epoch;	   /* the feed that last satisfied a bracket */
	uint32_t sat_head; /* that feed's satisfied candidates (chain) */
	/* MB_LIKE: the LIKE pattern (NFC). MB_REGEX: the regex, a copy of
	 * the one the parser compiled (pcre2_code), JIT-compiled once it
	 * has been used a few times. */
	char *like;
	uint32_t like_len;
	void *re;
	uint32_t re_uses;
	size_t re_mem;
	char *disable_reason;
};

enum {
	MI_STATEFUL = 1,
	MI_DISABLE = 2, /* to be disabled at the end of this feed */
	MI_CACHED = 4,	/* cold->pat is in the cache */
	MI_BR_MANY = 8, /* br.many is in use (else br.one) */
	MI_AN_MANY = 16 /* an.many is in use (else an.one) */
};

struct mind {
	uint32_t rec; /* id record; MNONE: free slot */
	uint32_t flags;
	uint32_t n_brackets, n_anchors;
	uint32_t next_free; /* free slots: the next one */
	st_time modified, valid_from, valid_until;
	union {
		uint32_t one;
		uint32_t *many;
	} br;
	union {
		struct manchor one;
		struct manchor *many;
	} an;
	struct mmarks *marks; /* NULL: none */
	struct mcold *cold;   /* NULL: none needed */
};

static inline uint32_t *mind_brackets(struct mind *i)
{
	return (i->flags & MI_BR_MANY) ? i->br.many : &i->br.one;
}

static inline struct manchor *mind_anchors(struct mind *i)
{
	return (i->flags & MI_AN_MANY) ? i->an.many : &i->an.one;
}

/* What the matcher remembers per id, for ever (tombstones included). */
struct mrec {
	const char *id; /* in the matcher's id arena */
	uint32_t len;
	uint8_t status;	  /* enum matcher_status */
	uint32_t slot;	  /* indicator slot while compiled in, else MNONE */
	st_time modified; /* newest version seen */
	st_time removed;  /* modified of the version matcher_remove dropped */
	char *reason;	  /* refused, invalid, disabled: why */
};

/* Interned strings (marking ids, creators), reference counted. */
struct mstr {
	char *s;
	uint32_t len;
	uint32_t refs;
	uint32_t next_free;
};

/* ------------------------------------------------------------------ */
/* Feeding                                                              */
/* ------------------------------------------------------------------ */

/* A leaf value that hit an anchor. */
struct mhitval {
	uint32_t path;
	const struct json_val *v;
	uint32_t next; /* next value of the same candidate, MNONE */
};

struct mcand {
	uint32_t bracket;
	uint32_t vals;	   /* first mhitval, MNONE */
	uint32_t next_sat; /* next satisfied candidate of the indicator */
	uint8_t n_vals;
};

/* ------------------------------------------------------------------ */
/* The matcher                                                          */
/* ------------------------------------------------------------------ */

struct matcher {
	struct matcher_config cfg;
	struct pattern_limits lim;
	bool use_hs;
	st_time now;
	st_time next_expiry; /* earliest valid_until compiled in */

	struct mtab path_tab;
	struct mpath *paths;
	uint32_t n_paths, cap_paths;

	struct mtab eq_tab;
	struct meq *eqs;
	uint32_t n_eqs, cap_eqs, free_eq, live_eqs;
	/* A blocked Bloom filter over the equality keys: most values looked
	 * up are in no indicator, and a miss then reads one word of a table
	 * small enough to stay in cache instead of the slot array. */
	uint64_t *bloom;
	uint32_t bloom_mask; /* words - 1 */
	uint32_t bloom_keys, bloom_dead;

	struct mtab id_tab;
	struct mrec *recs;
	uint32_t n_recs, cap_recs;
	struct arena *ids; /* id strings: records are never freed */

	struct mtab str_tab;
	struct mstr *strs;
	uint32_t n_strs, cap_strs, free_str;
	struct mmarks **marks_tab; /* hash chains of interned marking sets */
	uint32_t marks_mask, n_marks;

	struct mind *inds;
	uint32_t n_inds, cap_inds, free_ind;

	struct mbracket *brs;
	uint32_t n_brs, cap_brs;
	uint32_t *free_brs;
	uint32_t n_free_brs, cap_free_brs;

	uint32_t *always; /* bracket ids */
	uint32_t n_always, cap_always;

	/* feed scratch, reused */
	uint32_t epoch;
	struct mcand *cands;
	uint32_t n_cands, cap_cands;
	struct mhitval *hvals;
	uint32_t n_hvals, cap_hvals;
	uint32_t *touched; /* stateful indicators touched by this feed */
	uint32_t n_touched, cap_touched;
	uint32_t *dis; /* indicators to disable at the end of this feed */
	uint32_t n_dis, cap_dis;
	struct matcher_value *out_vals;
	uint32_t cap_out_vals;
	char *numbuf; /* formatted numbers for hits */
	size_t cap_numbuf;
	uint32_t *refmap; /* ref -> object index, for large observations */
	uint32_t cap_refmap;
	struct mobs *cur_copy; /* this feed's observation, once copied */
	int feed_err;
	void *hs_scratch; /* hs_scratch_t */
	size_t hs_scratch_size;
	bool lit_dirty; /* literal sets with changes not in a database */
	void *mctx;	/* pcre2_match_context with the limits */
	void *mdata;	/* pcre2_match_data */

	struct arena *tmp;		       /* per-offer scratch */
	uint32_t lru_head, lru_tail, n_cached; /* parsed stateless patterns */
	struct pattern *scratch_pat; /* pattern_cache 0: the last parsed */

	/* counts */
	size_t n_prefixes, n_literals;
	uint64_t c_obs, c_cands, c_confirm, c_hits, c_suppressed, c_refusals;
	size_t mem_patterns, mem_state, mem_strings, mem_cold;
	double compile_seconds;
};

/* ------------------------------------------------------------------ */
/* Between the files                                                    */
/* ------------------------------------------------------------------ */

/* matcher_index.c */
uint32_t mpath_find(const struct matcher *m, uint32_t parent, const char *comp,
		    size_t len);
/* Finds or adds a path node; ST_ENOMEM. */
int mpath_get(struct matcher *m, uint32_t parent, const char *comp, size_t len,
	      uint32_t *out);
/* Recomputes the MP_* flags from the counts. */
void mpath_update(struct mpath *p);
uint32_t meq_find(const struct matcher *m, uint32_t path, uint8_t tag,
		  const void *val, size_t len);
int meq_get(struct matcher *m, uint32_t path, uint8_t tag, const void *val,
	    size_t len, uint32_t *out);
/* Frees the node if its postings are empty. */
void meq_release(struct matcher *m, uint32_t node);
uint32_t mrec_find(const struct matcher *m, const char *id, size_t len);
int mrec_add(struct matcher *m, const char *id, size_t len, uint32_t *out);
const char *mstr_intern(struct matcher *m, const char *s, size_t len);
void mstr_release(struct matcher *m, const char *s);
/* Interns a set of markings and a creator (either may be empty). */
struct mmarks *mmarks_intern(struct matcher *m, const struct json_val *marks,
			     const struct json_val *creator, int *rc);
void mmarks_release(struct matcher *m, struct mmarks *mk);
size_t mindex_memory(const struct matcher *m);
void mindex_free(struct matcher *m);

static inline uint64_t meq_hash(uint32_t path, uint8_t tag, const void *val,
				size_t len)
{
	return mhash(val, len, ((uint64_t)path << 8 | tag) * MH_K3);
}

/* Parses an address or CIDR as ip_parse does, with a fast path for plain
 * dotted quads. */
bool mip_parse(const char *s, size_t n, struct ip_prefix *out);

/* matcher_anchor.c */

/* One indexable comparison, as derived from a pattern. */
struct matom {
	uint8_t kind; /* MA_* */
	uint8_t tag;  /* MA_EQ: MV_* */
	bool caseless;
	const struct pat_path *path;
	const char *s; /* MV_STR value, or literal; in the pattern or tmp */
	uint32_t len;
	double num;
	bool bval;
	struct ip_prefix pfx;
	uint32_t cost;
};

struct manchors {
	struct matom *a;
	uint32_t n, cap;
};

/* Derives the anchors of one comparison expression into out (appending).
 * Returns 1 with atoms added, 0 when it has none (why may then hold a
 * refusal reason, empty otherwise), ST_ENOMEM. */
int manchor_cexpr(struct matcher *m, const struct pat_cexpr *ce,
		  struct manchors *out, struct diag *why);

/* True if a pattern path can be indexed; *plain is set when every step is
 * a key and no reference is followed (the evaluator then selects exactly
 * the value at that key). *_bin and *_hex values are compared decoded, so
 * those paths are not indexed. */
bool manchor_path_ok(const struct pat_path *p, bool *plain);
/* The path as a pattern writes it, into out. */
void manchor_path_display(const struct pat_path *p, char *out, size_t cap);

/* Literals every match of a LIKE pattern or a regex must contain: one per
 * top-level alternative of the regex (any of them may be the one). */
#define MLIT_MAX 256	 /* longest literal kept */
#define MLIT_BRANCHES 16 /* most alternatives */
struct mlits {
	char buf[MLIT_MAX * 2];
	uint32_t off[MLIT_BRANCHES], len[MLIT_BRANCHES];
	uint32_t n;
	bool caseless; /* (?i) somewhere: compare ASCII letters caselessly */
};

/* Fills l; returns how many literals (0: none can be proven, so the
 * comparison cannot be anchored). For each alternative the longest
 * literal is kept. */
int manchor_literals(const char *pat, size_t len, bool like, struct mlits *l);

/* The horizon (WITHIN bound) and START/STOP window of a stateful pattern. */
void manchor_window(const struct pat_oexpr *e, st_time *horizon, st_time *start,
		    st_time *stop);

/* The warninglist kind of values at a pattern path: WL_KIND_OTHER when
 * it cannot tell (through a reference: decide by the value). */
enum wl_kind manchor_path_wl_kind(const struct pat_path *p);

/* matcher_lit.c */
/* The PCRE2 match context (with the limits) and match data. ST_ENOMEM. */
int mlit_init(struct matcher *m);
void mlit_fini(struct matcher *m);
int mlit_add(struct matcher *m, uint32_t path, const char *lit, size_t len,
	     bool caseless, uint32_t bracket, uint32_t *slot);
void mlit_del(struct matcher *m, uint32_t path, uint32_t slot);
/* Scans a string leaf for the literals of its path, adding candidates. */
void mlit_scan(struct matcher *m, uint32_t path, const char *s, size_t len,
	       const struct json_val *v, bool plain);
/* Rebuilds dirty databases (all of them when force). */
int mlit_rebuild(struct matcher *m, bool force, struct diag *d);
void mlit_free_set(struct matcher *m, struct litset *ls);
size_t mlit_memory(const struct matcher *m, size_t *hs_bytes);
void mlit_free_scratch(struct matcher *m);
/* The matcher's own confirmation of MB_LIKE / MB_REGEX brackets against
 * a value already in NFC: 1, 0 or ST_ELIMIT (d set). */
int mlit_confirm(struct matcher *m, struct mcold *c, bool regex, const char *s,
		 size_t len, struct diag *d);
/* Copies the regex the parser compiled for a MATCHES comparison. */
void *mlit_regex_copy(const struct pat_cmp *cmp, size_t *mem);
void mlit_regex_free(void *re);

/* matcher_feed.c */
/* A leaf hit bracket b: records the candidate (for MB_DECIDED brackets
 * only when plain, the leaf reached by keys alone). */
void mfeed_add_cand(struct matcher *m, uint32_t bracket, uint32_t path,
		    const struct json_val *v, bool plain);
/* A literal of bracket b was found in s (the leaf v in NFC). */
void mfeed_lit_hit(struct matcher *m, uint32_t bracket, uint32_t path,
		   const struct json_val *v, bool plain, const char *s,
		   size_t len);
void mstate_free(struct matcher *m, struct mstate *st);
size_t mstate_memory(const struct mstate *st);
void mfeed_free(struct matcher *m);

/* matcher.c */
/* The parsed pattern of an indicator: kept (stateful) or from the cache,
 * parsing its text again if it was evicted. NULL with *rc and d set. */
struct pattern *mind_pattern(struct matcher *m, uint32_t slot, int *rc,
			     struct diag *d);
/* Disables an indicator now (outside a feed): out of the indexes, with the
 * reason kept and reported. */
void mind_disable(struct matcher *m, uint32_t slot, const char *reason);
/* Marks an indicator to be disabled at the end of the feed. */
void mind_flag_disable(struct matcher *m, uint32_t slot, const char *reason);

#endif
