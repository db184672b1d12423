/*
 * Property test of the release decision (policy_decide() and
 * release_decide()): random small worlds and audiences, each decision
 * compared with a model written here from the rules of DESIGN.md and
 * docs/POLICY.md, not from the code. The model never calls the policy: it
 * sees a world as bit sets (labels, collections, named nodes, reachable
 * ids), lists every rule a version breaks, and releases a version when it
 * breaks none and no held id reachable through its references holds a
 * counted version that breaks one (the greatest fixpoint: cycles do not
 * withhold by themselves).
 *
 * A case is one world, two audiences and three or four decisions made
 * with one engine (so that what it remembers is tested too: a second
 * decision for the same audience, then another audience). Worlds hold at
 * most MAX_HELD ids, so that no path of references is longer than
 * RELEASE_MAX_DEPTH and the limits never decide (test_release.c tests
 * them).
 *
 * STRAIT_PROPERTY_CASES sets the number of cases (default 1000000),
 * STRAIT_PROPERTY_SEED the seed. A mismatch prints the case in full.
 */
#include "policy/release.h"
#include "store/store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_CASES 1000000
#define DEFAULT_SEED 0x5354524149542031ull /* "STRAIT 1" */

#define MAX_HELD RELEASE_MAX_DEPTH /* a path visits each held id once */
#define MAX_UNHELD 4
#define FRESH_SLOT (MAX_HELD + MAX_UNHELD) /* id of a version not held */
#define MAX_SLOTS (FRESH_SLOT + 1)
#define MAX_VERS 3
#define MAX_REFS 4

#define N_TYPES 9
#define N_SDO_TYPES 6
#define N_LABELS 4
#define N_CIDS 4
#define N_NODES 3
#define PARTNER_NODE 2 /* the node the partner audiences usually are */

_Static_assert(MAX_SLOTS <= 32, "slot sets are 32-bit masks");

static const char *const type_names[N_TYPES] = {
    "indicator", "malware",   "identity",    "relationship", "observed-data",
    "sighting",	 "ipv4-addr", "domain-name", "file"};
static const char *const label_names[N_LABELS] = {"l0", "l1", "l2", "l3"};
static const char *const node_names[N_NODES] = {
    "identity--a0000000-0000-4000-8000-00000000000a",
    "identity--b0000000-0000-4000-8000-00000000000b",
    "identity--c0000000-0000-4000-8000-00000000000c"};

/* ---- random numbers: splitmix64 ---- */

static uint64_t rng;

static uint64_t next64(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned rnd(unsigned n)
{
	return (unsigned)(((next64() >> 32) * (uint64_t)n) >> 32);
}

static bool chance(unsigned percent)
{
	return rnd(100) < percent;
}

/* ---- the world ---- */

/* One version as the model sees it. */
struct mver {
	uint8_t tlp;
	bool unknown; /* carries a marking strait does not understand */
	uint8_t other_flags;
	uint8_t labels;	   /* bit i: label_names[i] */
	uint8_t cids;	   /* bit i: collection i + 1 */
	uint8_t red_nodes; /* bit i: node_names[i] named for RED */
	uint8_t red_accts; /* bit i: account i + 1 named for RED */
	bool foreign, relay_green;
	int8_t origin; /* node index, or -1 */
	uint8_t n_refs;
	uint8_t refs[MAX_REFS]; /* slots */
};

struct mobj {
	bool held;
	bool sco;    /* every copy counts; else the last version only */
	int8_t type; /* index in type_names, or -1: not known */
	uint8_t n;   /* versions (SDO) or copies (SCO) */
	struct mver v[MAX_VERS];
	/* The engine's view, built from the above. */
	struct release_version rv[MAX_VERS];
	const char *refp[MAX_VERS][MAX_REFS];
};

struct world {
	unsigned n_held, n_unheld;
	struct mobj o[MAX_SLOTS];
	const char *id[MAX_SLOTS];
	uint32_t held;		    /* slots held */
	uint32_t reach1[MAX_SLOTS]; /* held slots the counted versions of
					a slot reference */
	/* The answer of the last lookup, overwritten by the next. */
	struct release_version scratch[MAX_VERS];
	const char *scratch_refs[MAX_VERS][MAX_REFS];
};

/* An audience as the model sees it. */
struct maud {
	bool is_partner;
	/* a local account */
	int64_t account;
	enum role role;
	bool own;
	/* a partner */
	bool has_policy;
	int8_t ident; /* node index, or -1: not known */
	bool grant[TLP_RED + 1];
	bool all_c, all_t, all_l;
	uint8_t allow_c, deny_c, allow_l, deny_l;
	uint16_t allow_t, deny_t;
	bool allow_t_star, deny_t_star, allow_l_star, deny_l_star;
	bool deny_c_star; /* deny: collections: ["*"] */
	/* The engine's view. */
	struct partner p;
	struct audience a;
	int64_t c_buf[2][N_CIDS];
	const char *t_buf[2][N_TYPES + 1];
	const char *l_buf[2][N_LABELS + 1];
};

/* Names of ids, by type (the last: type not known) and slot. */
static char id_names[N_TYPES + 1][MAX_SLOTS][64];
/* Arrays for each bit set, so that facts point at stable memory. */
static const char *label_sets[1 << N_LABELS][N_LABELS];
static int64_t cid_sets[1 << N_CIDS][N_CIDS];
static const char *node_sets[1 << N_NODES][N_NODES];
static int64_t acct_sets[1 << 3][3];

static void init_tables(void)
{
	for (int t = 0; t <= N_TYPES; t++)
		for (int s = 0; s < MAX_SLOTS; s++)
			snprintf(id_names[t][s], sizeof(id_names[t][s]),
				 "%s--00000000-0000-4000-8000-0000000000%02d",
				 t < N_TYPES ? type_names[t] : "x-opaque", s);
	for (unsigned m = 0; m < (1u << N_LABELS); m++) {
		unsigned k = 0;
		for (unsigned i = 0; i < N_LABELS; i++)
			if (m & (1u << i)) {
				label_sets[m][k] = label_names[i];
				cid_sets[m][k++] = (int64_t)i + 1;
			}
	}
	for (unsigned m = 0; m < (1u << N_NODES); m++) {
		unsigned k = 0;
		for (unsigned i = 0; i < N_NODES; i++)
			if (m & (1u << i)) {
				node_sets[m][k] = node_names[i];
				acct_sets[m][k++] = (int64_t)i + 1;
			}
	}
}

static unsigned popcount(unsigned m)
{
	return (unsigned)__builtin_popcount(m);
}

/* ---- generation ---- */

static uint8_t random_tlp(void)
{
	unsigned r = rnd(100);
	if (r < 30)
		return TLP_CLEAR;
	if (r < 60)
		return TLP_GREEN;
	if (r < 75)
		return TLP_AMBER;
	if (r < 82)
		return TLP_AMBER_STRICT;
	if (r < 92)
		return TLP_RED;
	if (r < 97)
		return TLP_NONE;
	return 7; /* out of range */
}

/*
 * A version: "clean" (ours, CLEAR or GREEN, label l0, collection 1) with
 * probability 100 - dirt percent, so that closures of several objects are
 * not all withheld; otherwise every fact at random.
 */
static void random_version(struct world *w, struct mver *v, unsigned dirt)
{
	memset(v, 0, sizeof(*v));
	v->origin = -1;
	if (!chance(dirt)) {
		v->tlp = chance(50) ? TLP_CLEAR : TLP_GREEN;
		v->labels = 1;
		v->cids = 1;
		v->relay_green = chance(50);
	} else {
		v->tlp = random_tlp();
		v->unknown = chance(10);
		v->other_flags =
		    (uint8_t)(chance(20) ? STORE_F_DEFAULT_TLP : 0) |
		    (uint8_t)(chance(10) ? STORE_F_REVOKED : 0);
		v->labels = (uint8_t)rnd(1u << N_LABELS);
		v->cids = (uint8_t)rnd(1u << N_CIDS);
		v->red_nodes = (uint8_t)rnd(1u << N_NODES);
		v->red_accts = (uint8_t)rnd(1u << 3);
		v->foreign = chance(40);
		v->origin = chance(25) ? -1 : (int8_t)rnd(N_NODES);
		v->relay_green = chance(50);
	}
	unsigned r = rnd(100);
	v->n_refs = r < 35 ? 0 : r < 65 ? 1 : r < 85 ? 2 : 2 + rnd(3);
	for (unsigned i = 0; i < v->n_refs; i++) {
		if (w->n_unheld > 0 && chance(15))
			v->refs[i] = (uint8_t)(MAX_HELD + rnd(w->n_unheld));
		else
			v->refs[i] = (uint8_t)rnd(w->n_held);
	}
}

static void build_facts(const struct world *w, const struct mobj *o,
			const struct mver *v, struct release_version *rv,
			const char **refp, const char *id)
{
	for (unsigned i = 0; i < v->n_refs; i++)
		refp[i] = w->id[v->refs[i]];
	*rv = (struct release_version){
	    .id = id,
	    .f =
		{
		    .tlp = v->tlp,
		    .flags =
			(uint8_t)((v->unknown ? STORE_F_UNKNOWN_MARKING : 0) |
				  v->other_flags),
		    .red_recipients = acct_sets[v->red_accts],
		    .n_red_recipients = popcount(v->red_accts),
		    .type = o->type >= 0 ? type_names[o->type] : NULL,
		    .labels = label_sets[v->labels],
		    .n_labels = popcount(v->labels),
		    .cids = cid_sets[v->cids],
		    .n_cids = popcount(v->cids),
		    .foreign = v->foreign,
		    .origin = v->origin >= 0 ? node_names[v->origin] : NULL,
		    .relay_green = v->relay_green,
		    .red_identities = node_sets[v->red_nodes],
		    .n_red_identities = popcount(v->red_nodes),
		},
	    .refs = refp,
	    .n_refs = v->n_refs};
}

static void random_type(struct mobj *o)
{
	o->sco = chance(25);
	if (chance(3))
		o->type = -1;
	else if (o->sco)
		o->type = (int8_t)(N_SDO_TYPES + rnd(N_TYPES - N_SDO_TYPES));
	else
		o->type = (int8_t)rnd(N_SDO_TYPES);
}

static const char *id_of(const struct mobj *o, unsigned slot)
{
	return id_names[o->type >= 0 ? o->type : N_TYPES][slot];
}

static void random_world(struct world *w)
{
	static const unsigned dirts[] = {0, 3, 10, 25, 60, 100};
	unsigned dirt = dirts[rnd(sizeof(dirts) / sizeof(dirts[0]))];
	w->n_held = 1 + rnd(MAX_HELD);
	w->n_unheld = rnd(MAX_UNHELD + 1);
	w->held = 0;
	for (unsigned s = 0; s < MAX_SLOTS; s++)
		w->o[s].held = false;
	/* Names first: versions reference them. */
	for (unsigned s = 0; s < w->n_held; s++) {
		random_type(&w->o[s]);
		w->id[s] = id_of(&w->o[s], s);
	}
	for (unsigned s = MAX_HELD; s < MAX_HELD + w->n_unheld; s++) {
		random_type(&w->o[s]);
		w->id[s] = id_of(&w->o[s], s);
	}
	for (unsigned s = 0; s < w->n_held; s++) {
		struct mobj *o = &w->o[s];
		o->held = true;
		w->held |= 1u << s;
		o->n = (uint8_t)(1 + (chance(60) ? 0 : rnd(MAX_VERS)));
		for (unsigned k = 0; k < o->n; k++) {
			random_version(w, &o->v[k], dirt);
			build_facts(w, o, &o->v[k], &o->rv[k], o->refp[k],
				    w->id[s]);
		}
	}
}

/* The versions of slot s that count when something references it. */
static void counted(const struct mobj *o, unsigned *first, unsigned *n)
{
	*first = o->sco ? 0 : o->n - 1u;
	*n = o->sco ? o->n : 1;
}

static int lookup(void *ctx, const char *id, const struct release_version **out,
		  size_t *n)
{
	struct world *w = ctx;
	size_t len = strlen(id);
	*out = NULL;
	*n = 0;
	if (len < 2)
		return ST_OK;
	unsigned s =
	    (unsigned)(id[len - 2] - '0') * 10 + (unsigned)(id[len - 1] - '0');
	if (s >= MAX_SLOTS || !w->o[s].held || strcmp(w->id[s], id) != 0)
		return ST_OK;
	unsigned first, cnt;
	counted(&w->o[s], &first, &cnt);
	/* A copy the next lookup overwrites, as a store's would be. */
	for (unsigned k = 0; k < cnt; k++) {
		w->scratch[k] = w->o[s].rv[first + k];
		memcpy(w->scratch_refs[k], w->o[s].refp[first + k],
		       sizeof(w->scratch_refs[k]));
		w->scratch[k].refs = w->scratch_refs[k];
	}
	*out = w->scratch;
	*n = cnt;
	return ST_OK;
}

/* The names of mask into buf, with "*" somewhere when star. */
static size_t list_names(const char **buf, const char *const *names,
			 unsigned mask, unsigned n, bool star)
{
	size_t k = 0;
	unsigned at = star ? rnd(popcount(mask) + 1) : 0;
	for (unsigned i = 0; i < n; i++) {
		if (star && k == at) {
			buf[k++] = "*";
			star = false;
		}
		if (mask & (1u << i))
			buf[k++] = names[i];
	}
	if (star)
		buf[k++] = "*";
	return k;
}

static unsigned random_mask(unsigned bits, unsigned usual)
{
	/* Often the usual name (l0, collection 1, ...), sometimes others. */
	if (chance(60))
		return usual | (chance(30) ? rnd(1u << bits) : 0);
	return rnd(1u << bits);
}

static void random_audience(struct maud *m)
{
	memset(m, 0, offsetof(struct maud, p));
	m->is_partner = chance(65);
	m->a = (struct audience){0};
	if (!m->is_partner) {
		m->account = rnd(4);
		/* Mostly the roles that read something. */
		m->role = chance(80) ? (enum role)rnd(ROLE_AUDITOR + 1)
				     : (enum role)rnd(ROLE__COUNT);
		m->own = chance(50);
		m->a.account_id = m->account;
		m->a.role = m->role;
		m->a.own_org = m->own;
		return;
	}
	/* Partners also carry a random role: it must not matter. */
	m->a.account_id = rnd(4);
	m->a.role = (enum role)rnd(ROLE__COUNT);
	m->a.own_org = chance(50);
	m->has_policy = !chance(8);
	unsigned r = rnd(10);
	m->ident = r < 7 ? PARTNER_NODE : r < 9 ? -1 : (int8_t)rnd(N_NODES);
	m->grant[TLP_CLEAR] = chance(90);
	m->grant[TLP_GREEN] = chance(85);
	m->grant[TLP_AMBER] = chance(50);
	m->grant[TLP_AMBER_STRICT] = chance(30);
	m->grant[TLP_RED] = chance(40);
	m->all_c = chance(60);
	m->all_t = chance(60);
	m->all_l = chance(60);
	m->allow_c = m->all_c ? 0 : (uint8_t)random_mask(N_CIDS, 1);
	/* Allowed types: often all but one, sometimes any few. */
	m->allow_t =
	    m->all_t ? 0
	    : chance(60)
		? (uint16_t)(((1u << N_TYPES) - 1) & ~(1u << rnd(N_TYPES)))
		: (uint16_t)rnd(1u << N_TYPES);
	m->allow_l = m->all_l ? 0 : (uint8_t)random_mask(N_LABELS, 1);
	m->allow_t_star = !m->all_t && chance(5);
	m->allow_l_star = !m->all_l && chance(5);
	m->deny_c = chance(25) ? (uint8_t)rnd(1u << N_CIDS) : 0;
	m->deny_t = chance(25) ? (uint16_t)(1u << rnd(N_TYPES)) : 0;
	m->deny_l = chance(25) ? (uint8_t)rnd(1u << N_LABELS) : 0;
	m->deny_t_star = chance(3);
	m->deny_l_star = chance(3);
	m->deny_c_star = chance(3);

	struct partner *p = &m->p;
	*p = (struct partner){.name = "partner",
			      .identity =
				  m->ident >= 0 ? node_names[m->ident] : NULL,
			      .has_policy = m->has_policy,
			      .all_collections = m->all_c,
			      .deny_all_collections = m->deny_c_star,
			      .all_types = m->all_t,
			      .all_labels = m->all_l};
	memcpy(p->tlp, m->grant, sizeof(p->tlp));
	size_t k = 0;
	for (unsigned i = 0; i < N_CIDS; i++)
		if (m->allow_c & (1u << i))
			m->c_buf[0][k++] = (int64_t)i + 1;
	p->collections = m->c_buf[0];
	p->n_collections = k;
	k = 0;
	for (unsigned i = 0; i < N_CIDS; i++)
		if (m->deny_c & (1u << i))
			m->c_buf[1][k++] = (int64_t)i + 1;
	p->deny_collections = m->c_buf[1];
	p->n_deny_collections = k;
	p->n_types = list_names(m->t_buf[0], type_names, m->allow_t, N_TYPES,
				m->allow_t_star);
	p->types = m->t_buf[0];
	p->n_deny_types = list_names(m->t_buf[1], type_names, m->deny_t,
				     N_TYPES, m->deny_t_star);
	p->deny_types = m->t_buf[1];
	p->n_labels = list_names(m->l_buf[0], label_names, m->allow_l, N_LABELS,
				 m->allow_l_star);
	p->labels = m->l_buf[0];
	p->n_deny_labels = list_names(m->l_buf[1], label_names, m->deny_l,
				      N_LABELS, m->deny_l_star);
	p->deny_labels = m->l_buf[1];
	m->a.partner = p;
}

/* ---- the model ---- */

#define BIT(w) (1u << (w))

/* The most restrictive level each role reads (DESIGN.md, POLICY.md): -1
 * for nothing. */
static int model_ceiling(enum role r, bool own)
{
	switch (r) {
	case ROLE_ADMIN:
	case ROLE_ANALYST:
		return own ? TLP_AMBER_STRICT : TLP_AMBER;
	case ROLE_READER:
	case ROLE_AUDITOR:
	case ROLE_PRINCIPAL:
		return own ? TLP_AMBER_STRICT : TLP_GREEN;
	default:
		return -1; /* peer, liaison, metrics: only as a partner */
	}
}

/* Every rule version v of an object of type t breaks for audience m, as
 * a set of BIT(enum release_why). */
static uint32_t model_broken(const struct maud *m, const struct mver *v, int t)
{
	uint32_t b = 0;
	int level = v->tlp;
	bool valid = level <= TLP_RED;
	if (!m->is_partner) {
		bool own_admin = m->own && m->role == ROLE_ADMIN;
		/* An unknown marking alone (no TLP beside it) is fine for our
		 * own administrators. */
		if (v->unknown && own_admin && v->tlp == TLP_NONE)
			return 0;
		if (v->unknown && !own_admin)
			b |= BIT(RELEASE_DENY_UNKNOWN_MARKING);
		if (level == TLP_RED &&
		    !(m->account > 0 && (v->red_accts & BIT(m->account - 1))))
			b |= BIT(RELEASE_DENY_RED);
		if (!valid)
			b |= BIT(RELEASE_DENY_TLP_NONE);
		if (level == TLP_AMBER_STRICT && !m->own)
			b |= BIT(RELEASE_DENY_STRICT);
		if (level < TLP_RED && level > model_ceiling(m->role, m->own))
			b |= BIT(RELEASE_DENY_ROLE);
		return b;
	}
	if (!m->has_policy)
		b |= BIT(RELEASE_DENY_NO_POLICY);
	if (v->unknown)
		b |= BIT(RELEASE_DENY_UNKNOWN_MARKING);
	if (!valid)
		b |= BIT(RELEASE_DENY_TLP_NONE);
	if (v->foreign && v->origin >= 0 && v->origin == m->ident)
		b |= BIT(RELEASE_DENY_ORIGIN);
	/* Relayed: CLEAR always, GREEN with permission, nothing else. */
	if (v->foreign && level != TLP_CLEAR &&
	    !(level == TLP_GREEN && v->relay_green))
		b |= BIT(RELEASE_DENY_RELAY);
	if (level == TLP_RED &&
	    !(m->ident >= 0 && (v->red_nodes & BIT(m->ident))))
		b |= BIT(RELEASE_DENY_RED);
	if (valid && !m->grant[level])
		b |= BIT(RELEASE_DENY_PEER_TLP);
	if (m->deny_c_star || (v->cids & m->deny_c) ||
	    !(m->all_c || (v->cids & m->allow_c)))
		b |= BIT(RELEASE_DENY_COLLECTION);
	bool t_denied = m->deny_t_star || (t >= 0 && (m->deny_t & BIT(t)));
	bool t_allowed =
	    m->all_t || m->allow_t_star || (t >= 0 && (m->allow_t & BIT(t)));
	if (t_denied || !t_allowed)
		b |= BIT(RELEASE_DENY_TYPE);
	bool l_denied =
	    v->labels != 0 && (m->deny_l_star || (v->labels & m->deny_l));
	bool l_allowed =
	    m->all_l || m->allow_l_star || (v->labels & m->allow_l);
	if (l_denied || !l_allowed)
		b |= BIT(RELEASE_DENY_LABEL);
	return b;
}

/* The rule reported when several are broken: the documented order. */
static enum release_why model_first(const struct maud *m, uint32_t broken)
{
	static const enum release_why partner_order[] = {
	    RELEASE_DENY_NO_POLICY, RELEASE_DENY_UNKNOWN_MARKING,
	    RELEASE_DENY_TLP_NONE,  RELEASE_DENY_ORIGIN,
	    RELEASE_DENY_RELAY,	    RELEASE_DENY_RED,
	    RELEASE_DENY_PEER_TLP,  RELEASE_DENY_COLLECTION,
	    RELEASE_DENY_TYPE,	    RELEASE_DENY_LABEL};
	static const enum release_why local_order[] = {
	    RELEASE_DENY_UNKNOWN_MARKING, RELEASE_DENY_RED,
	    RELEASE_DENY_TLP_NONE, RELEASE_DENY_STRICT, RELEASE_DENY_ROLE};
	const enum release_why *order =
	    m->is_partner ? partner_order : local_order;
	size_t n = m->is_partner ? sizeof(partner_order) / sizeof(*order)
				 : sizeof(local_order) / sizeof(*order);
	for (size_t i = 0; i < n; i++)
		if (broken & BIT(order[i]))
			return order[i];
	return RELEASE_OK;
}

/* Per audience: the held slots with a counted version that breaks a rule,
 * and the rule reported for each. */
struct mview {
	uint32_t bad;
	uint32_t theirs; /* the audience made every version: not followed */
	enum release_why why[MAX_SLOTS];
};

static void model_view(const struct world *w, const struct maud *m,
		       struct mview *out)
{
	out->bad = 0;
	out->theirs = 0;
	for (unsigned s = 0; s < w->n_held; s++) {
		const struct mobj *o = &w->o[s];
		unsigned first, cnt, origin = 0;
		counted(o, &first, &cnt);
		for (unsigned k = first; k < first + cnt; k++) {
			uint32_t b = model_broken(m, &o->v[k], o->type);
			if (b != 0 &&
			    model_first(m, b) == RELEASE_DENY_ORIGIN) {
				origin++;
			} else if (b != 0) {
				out->bad |= BIT(s);
				out->why[s] = model_first(m, b);
				break;
			}
		}
		if (!(out->bad & BIT(s)) && cnt > 0 && origin == cnt)
			out->theirs |= BIT(s);
	}
}

static uint32_t refs_mask(const struct world *w, const struct mver *v)
{
	uint32_t r = 0;
	for (unsigned i = 0; i < v->n_refs; i++)
		r |= BIT(v->refs[i]);
	return r & w->held;
}

/* The held slots reachable from the set start (start included). */
static uint32_t closure(const struct world *w, uint32_t start)
{
	uint32_t reach = start, frontier = start;
	while (frontier != 0) {
		uint32_t next = 0;
		for (uint32_t f = frontier; f != 0; f &= f - 1)
			next |= w->reach1[__builtin_ctz(f)];
		frontier = next & ~reach;
		reach |= next;
	}
	return reach;
}

/* As closure, not going on from what the audience made itself. */
static uint32_t closure_view(const struct world *w, const struct mview *view,
			     uint32_t start)
{
	uint32_t reach = start, frontier = start;
	while (frontier != 0) {
		uint32_t next = 0;
		for (uint32_t f = frontier & ~view->theirs; f != 0; f &= f - 1)
			next |= w->reach1[__builtin_ctz(f)];
		frontier = next & ~reach;
		reach |= next;
	}
	return reach;
}

struct expect {
	enum release_why why;
	int ref; /* slot, or -1 */
	enum release_why ref_why;
};

static struct expect model_decide(const struct world *w, const struct maud *m,
				  const struct mview *view,
				  const struct mver *v, int type)
{
	struct expect x = {RELEASE_OK, -1, RELEASE_OK};
	uint32_t b = model_broken(m, v, type);
	if (b != 0) {
		x.why = model_first(m, b);
		return x;
	}
	/* The first reference, in order, from which a bad id is reachable. */
	for (unsigned i = 0; i < v->n_refs; i++) {
		unsigned r = v->refs[i];
		if (!(w->held & BIT(r)))
			continue;
		if (closure_view(w, view, BIT(r)) & view->bad) {
			x.why = RELEASE_DENY_REFERENCE;
			x.ref = (int)r;
			x.ref_why = (view->bad & BIT(r))
					? view->why[r]
					: RELEASE_DENY_REFERENCE;
			return x;
		}
	}
	return x;
}

/* ---- printing a case ---- */

static void print_version(const struct mver *v)
{
	printf("      tlp=%u unknown=%d flags=0x%x labels=0x%x cids=0x%x "
	       "foreign=%d origin=%d relay_green=%d red_nodes=0x%x "
	       "red_accts=0x%x refs=[",
	       v->tlp, v->unknown, v->other_flags, v->labels, v->cids,
	       v->foreign, v->origin, v->relay_green, v->red_nodes,
	       v->red_accts);
	for (unsigned i = 0; i < v->n_refs; i++)
		printf("%s%u", i ? " " : "", v->refs[i]);
	printf("]\n");
}

static void print_world(const struct world *w)
{
	printf(
	    "  world: %u held, %u not held (slots %u..); labels bit i: l<i>, "
	    "cids bit i: collection i+1, nodes: 0 a, 1 b, 2 c; red_accts "
	    "bit i: account i+1; tlp 15: none\n",
	    w->n_held, w->n_unheld, MAX_HELD);
	for (unsigned s = 0; s < MAX_SLOTS; s++) {
		const struct mobj *o = &w->o[s];
		bool unheld = s >= MAX_HELD && s < MAX_HELD + w->n_unheld;
		if (!o->held && !unheld)
			continue;
		printf("    slot %u %s %s%s\n", s, w->id[s],
		       o->sco ? "SCO (every copy counts)"
			      : "SDO (the last version counts)",
		       o->held ? "" : " NOT HELD");
		for (unsigned k = 0; o->held && k < o->n; k++)
			print_version(&o->v[k]);
	}
}

static void print_audience(const char *name, const struct maud *m)
{
	if (!m->is_partner) {
		printf("  audience %s: local account %" PRId64
		       " role=%s own_org=%d\n",
		       name, m->account, role_name(m->role), m->own);
		return;
	}
	printf("  audience %s: partner policy=%d identity=node %d grant=%d%d%d"
	       "%d%d all_c=%d all_t=%d all_l=%d allow_c=0x%x deny_c=0x%x "
	       "allow_t=0x%x%s deny_t=0x%x%s allow_l=0x%x%s deny_l=0x%x%s "
	       "(role %s, ignored)\n",
	       name, m->has_policy, m->ident, m->grant[0], m->grant[1],
	       m->grant[2], m->grant[3], m->grant[4], m->all_c, m->all_t,
	       m->all_l, m->allow_c, m->deny_c, m->allow_t,
	       m->allow_t_star ? "+*" : "", m->deny_t,
	       m->deny_t_star ? "+*" : "", m->allow_l,
	       m->allow_l_star ? "+*" : "", m->deny_l,
	       m->deny_l_star ? "+*" : "", role_name(m->a.role));
}

/* ---- the test ---- */

struct decision {
	int aud;       /* 0 or 1 */
	unsigned slot; /* id of the version decided */
	struct mver v; /* the version */
	int type;
	struct release_version rv;
	const char *refp[MAX_REFS];
};

static void random_decision(struct world *w, struct decision *d, int aud)
{
	d->aud = aud;
	if (chance(85)) {
		/* A version held: any, not only those that count. */
		d->slot = rnd(w->n_held);
		const struct mobj *o = &w->o[d->slot];
		unsigned k = rnd(o->n);
		d->v = o->v[k];
		d->type = o->type;
	} else {
		/* A version not held yet: of a new id, or a new version of
		 * an id held. */
		d->slot = chance(50) ? FRESH_SLOT : rnd(w->n_held);
		struct mobj *o = &w->o[d->slot];
		if (d->slot == FRESH_SLOT) {
			random_type(o);
			w->id[FRESH_SLOT] = id_of(o, FRESH_SLOT);
		}
		random_version(w, &d->v, 50);
		d->type = o->type;
	}
	build_facts(w, &w->o[d->slot], &d->v, &d->rv, d->refp, w->id[d->slot]);
}

static unsigned long long env_number(const char *name, unsigned long long dflt)
{
	const char *s = getenv(name);
	if (s == NULL || *s == '\0')
		return dflt;
	return strtoull(s, NULL, 0);
}

static void test_property(void **state)
{
	(void)state;
	unsigned long long cases =
	    env_number("STRAIT_PROPERTY_CASES", DEFAULT_CASES);
	unsigned long long seed =
	    env_number("STRAIT_PROPERTY_SEED", DEFAULT_SEED);
	printf("release property: %llu cases, seed 0x%llx "
	       "(STRAIT_PROPERTY_CASES, STRAIT_PROPERTY_SEED)\n",
	       cases, seed);
	init_tables();
	rng = seed;

	struct world *w = calloc(1, sizeof(*w));
	struct maud *aud = calloc(2, sizeof(*aud));
	assert_non_null(w);
	assert_non_null(aud);
	struct release_source src = {lookup, w};
	struct release_engine *e = release_engine_new(&src);
	assert_non_null(e);

	unsigned long long outcomes[RELEASE_DENY_DEPTH + 1] = {0};
	unsigned long long decisions = 0, released_refs = 0, released_cycle = 0;
	unsigned long long nocids = 0;
	clock_t t0 = clock();
	for (unsigned long long c = 0; c < cases; c++) {
		random_world(w);
		for (unsigned s = 0; s < MAX_SLOTS; s++) {
			unsigned first, cnt;
			w->reach1[s] = 0;
			if (!w->o[s].held)
				continue;
			counted(&w->o[s], &first, &cnt);
			for (unsigned k = first; k < first + cnt; k++)
				w->reach1[s] |= refs_mask(w, &w->o[s].v[k]);
		}
		random_audience(&aud[0]);
		random_audience(&aud[1]);
		struct mview views[2];
		model_view(w, &aud[0], &views[0]);
		model_view(w, &aud[1], &views[1]);
		release_engine_reset(e);

		/* Two for the first audience, one for the second, and
		 * sometimes the first again. */
		struct decision ds[4];
		unsigned nd = chance(20) ? 4 : 3;
		for (unsigned i = 0; i < nd; i++) {
			struct decision *d = &ds[i];
			if (i == 1 && chance(20)) {
				*d = ds[0]; /* the same again */
				d->rv.refs = d->refp;
			} else {
				random_decision(w, d, i == 2 ? 1 : 0);
			}
			struct release_explain why;
			bool want_why = (c & 7) != 0;
			enum release_why got = release_decide(
			    e, &aud[d->aud].a, &d->rv, want_why ? &why : NULL);
			struct expect x = model_decide(
			    w, &aud[d->aud], &views[d->aud], &d->v, d->type);
			const char *xref = x.ref >= 0 ? w->id[x.ref] : "";
			bool ok = got == x.why;
			/* what the marking alone withholds is withheld so */
			enum release_why mk =
			    policy_decide_marking(&aud[d->aud].a, &d->rv.f);
			if (mk != RELEASE_OK && mk != got) {
				printf("policy_decide_marking says %s, the "
				       "decision %s (case %llu)\n",
				       release_why_name(mk),
				       release_why_name(got), c);
				ok = false;
			}
			/* an audience that does not need collections
			 * decides the same without them */
			if (!policy_needs_collections(&aud[d->aud].a)) {
				struct release_facts nf = d->rv.f;
				nf.cids = NULL;
				nf.n_cids = 0;
				enum release_why a0 =
				    policy_decide(&aud[d->aud].a, &d->rv.f);
				enum release_why a1 =
				    policy_decide(&aud[d->aud].a, &nf);
				if (a0 != a1) {
					printf("without collections %s, with "
					       "them %s (case %llu)\n",
					       release_why_name(a1),
					       release_why_name(a0), c);
					ok = false;
				}
				nocids++;
			}
			if (ok && want_why)
				ok = why.why == got &&
				     strcmp(why.ref, xref) == 0 &&
				     (x.ref < 0 || why.ref_why == x.ref_why);
			decisions++;
			outcomes[got <= RELEASE_DENY_DEPTH ? got : 0]++;
			if (got == RELEASE_OK) {
				uint32_t cl = closure(w, refs_mask(w, &d->v));
				released_refs += cl != 0;
				for (uint32_t f = cl; f != 0; f &= f - 1) {
					int s = __builtin_ctz(f);
					if (closure(w, w->reach1[s]) & BIT(s)) {
						released_cycle++;
						break;
					}
				}
			}
			if (ok)
				continue;
			printf("MISMATCH in case %llu (seed 0x%llx), decision "
			       "%u\n",
			       c, seed, i);
			print_world(w);
			print_audience("0", &aud[0]);
			print_audience("1", &aud[1]);
			for (unsigned j = 0; j <= i; j++) {
				printf("  decision %u: audience %d, slot %u "
				       "%s:\n",
				       j, ds[j].aud, ds[j].slot,
				       w->id[ds[j].slot]);
				print_version(&ds[j].v);
			}
			printf("  engine: %s", release_why_name(got));
			if (want_why)
				printf(" (ref '%s': %s)", why.ref,
				       release_why_name(why.ref_why));
			printf("\n  model:  %s (ref '%s': %s)\n",
			       release_why_name(x.why), xref,
			       release_why_name(x.ref_why));
			fflush(stdout);
			fail_msg("release_decide differs from the model");
		}
	}
	double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	printf("release property: %llu cases, %llu decisions in %.2f s CPU\n",
	       cases, decisions, secs);
	printf("  released with held references: %llu, through a cycle: "
	       "%llu\n",
	       released_refs, released_cycle);
	printf("  decided also without collections (not needed): %llu\n",
	       nocids);
	assert_true(nocids > 0);
	for (int r = 0; r <= RELEASE_DENY_DEPTH; r++)
		if (outcomes[r] != 0)
			printf("  %-52s %llu\n",
			       release_why_name((enum release_why)r),
			       outcomes[r]);
	release_engine_free(e);
	free(aud);
	free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_property),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
