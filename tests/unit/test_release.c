/*
 * The release decision over references (src/policy/release.c), against a
 * small world held in memory: what a partner or an account would notice
 * (a relationship that drags a RED object along stays home), cycles, the
 * depth and count limits, SCOs held under several markings, and what the
 * engine remembers between decisions.
 *
 * The source hands out a fresh copy of its answer on every lookup and
 * frees the previous one, so an engine that kept a pointer into an
 * earlier answer reads freed memory (the ASan build reports it).
 */
#include "policy/release.h"
#include "store/store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OBJS 64
#define MAX_COPIES 3
#define MAX_REFS 4

#define PID "identity--0b0f6a5b-6e36-4b6a-9d5b-6d4e8b1a3c01"
#define REL "relationship--11111111-1111-4111-8111-111111111111"
#define IND "indicator--22222222-2222-4222-8222-222222222222"
#define IDY "identity--33333333-3333-4333-8333-333333333333"
#define OBS "observed-data--44444444-4444-4444-8444-444444444444"
#define IP "ipv4-addr--55555555-5555-5555-8555-555555555555"
#define MAL "malware--66666666-6666-4666-8666-666666666666"
#define SIG "sighting--88888888-8888-4888-8888-888888888888"
#define NOT_HELD "malware--77777777-7777-4777-8777-777777777777"
/* Ids of this family are held by every world: one GREEN version, no
 * references (for the count limit). */
#define GEN_PREFIX "indicator--gen-"

/* One id as the world holds it: its counted versions (one for an SDO, one
 * per copy for an SCO). */
struct tobj {
	char id[STIX_ID_MAX];
	size_t n;
	uint8_t tlp[MAX_COPIES];
	const char *refs[MAX_COPIES][MAX_REFS];
	size_t n_refs[MAX_COPIES];
};

struct world {
	struct tobj objs[MAX_OBJS];
	size_t n;
	const char *fail_id; /* lookup of this id fails */
	unsigned lookups;
	void *last; /* the previous answer, freed on the next lookup */
};

static struct tobj *find(struct world *w, const char *id)
{
	for (size_t i = 0; i < w->n; i++)
		if (strcmp(w->objs[i].id, id) == 0)
			return &w->objs[i];
	return NULL;
}

static struct tobj *add(struct world *w, const char *id, uint8_t tlp)
{
	assert_true(w->n < MAX_OBJS);
	struct tobj *o = &w->objs[w->n++];
	memset(o, 0, sizeof(*o));
	snprintf(o->id, sizeof(o->id), "%s", id);
	o->n = 1;
	o->tlp[0] = tlp;
	return o;
}

/* Another copy of an SCO, under another marking. */
static void add_copy(struct tobj *o, uint8_t tlp)
{
	assert_true(o->n < MAX_COPIES);
	o->tlp[o->n++] = tlp;
}

/* A reference from every counted version of o. */
static void add_ref(struct tobj *o, const char *to)
{
	for (size_t c = 0; c < o->n; c++) {
		assert_true(o->n_refs[c] < MAX_REFS);
		o->refs[c][o->n_refs[c]++] = to;
	}
}

static void type_of(const char *id, char *type)
{
	const char *dash = strstr(id, "--");
	size_t n = dash != NULL ? (size_t)(dash - id) : strlen(id);
	memcpy(type, id, n);
	type[n] = '\0';
}

/* The answer, copied into one block: versions, their reference arrays
 * and the strings, so that all of it goes with the next lookup. */
static int copy_answer(struct world *w, const char *id, const uint8_t *tlp,
		       size_t n, const char *const (*refs)[MAX_REFS],
		       const size_t *n_refs, const struct release_version **out,
		       size_t *nout)
{
	size_t size = n * sizeof(struct release_version) + STIX_ID_MAX * 2;
	for (size_t c = 0; c < n; c++) {
		size += n_refs[c] * sizeof(char *);
		for (size_t j = 0; j < n_refs[c]; j++)
			size += strlen(refs[c][j]) + 1;
	}
	char *blk = malloc(size);
	assert_non_null(blk);
	/* Versions, then reference arrays, then strings: each aligned. */
	struct release_version *vs = (struct release_version *)blk;
	const char **ptrs = (const char **)(blk + n * sizeof(*vs));
	size_t total_refs = 0;
	for (size_t c = 0; c < n; c++)
		total_refs += n_refs[c];
	char *idc = (char *)(ptrs + total_refs), *type = idc + STIX_ID_MAX;
	snprintf(idc, STIX_ID_MAX, "%s", id);
	type_of(id, type);
	char *str = type + STIX_ID_MAX;
	for (size_t c = 0; c < n; c++) {
		vs[c] =
		    (struct release_version){.id = idc,
					     .f = {.tlp = tlp[c], .type = type},
					     .refs = ptrs,
					     .n_refs = n_refs[c]};
		for (size_t j = 0; j < n_refs[c]; j++) {
			size_t len = strlen(refs[c][j]) + 1;
			memcpy(str, refs[c][j], len);
			*ptrs++ = str;
			str += len;
		}
	}
	free(w->last);
	w->last = blk;
	*out = vs;
	*nout = n;
	return ST_OK;
}

static int lookup(void *ctx, const char *id, const struct release_version **out,
		  size_t *n)
{
	struct world *w = ctx;
	w->lookups++;
	free(w->last);
	w->last = NULL;
	*out = NULL;
	*n = 0;
	if (w->fail_id != NULL && strcmp(id, w->fail_id) == 0)
		return ST_EIO;
	if (strncmp(id, GEN_PREFIX, strlen(GEN_PREFIX)) == 0) {
		static const uint8_t green = TLP_GREEN;
		static const size_t none = 0;
		return copy_answer(w, id, &green, 1, NULL, &none, out, n);
	}
	const struct tobj *o = find(w, id);
	if (o == NULL)
		return ST_OK;
	return copy_answer(w, id, o->tlp, o->n, o->refs, o->n_refs, out, n);
}

/* The version of o that a caller decides (its first counted version). */
static struct release_version version_of(const struct tobj *o, char *type)
{
	type_of(o->id, type);
	return (struct release_version){.id = o->id,
					.f = {.tlp = o->tlp[0], .type = type},
					.refs = o->refs[0],
					.n_refs = o->n_refs[0]};
}

/* Partners: "jp" gets CLEAR, GREEN, AMBER and our RED that names it, "kr"
 * only CLEAR and GREEN; both "*" for collections, types and labels. */
static const struct partner jp = {.name = "jp",
				  .identity = PID,
				  .has_policy = true,
				  .tlp = {true, true, true, false, true},
				  .all_collections = true,
				  .all_types = true,
				  .all_labels = true};
static const struct partner kr = {.name = "kr",
				  .identity = "identity--kr",
				  .has_policy = true,
				  .tlp = {true, true, false, false, false},
				  .all_collections = true,
				  .all_types = true,
				  .all_labels = true};
static const struct audience to_jp = {.partner = &jp};
static const struct audience to_kr = {.partner = &kr};

struct fixture {
	struct world w;
	struct release_engine *e;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	if (fx == NULL)
		return -1;
	struct release_source src = {lookup, &fx->w};
	fx->e = release_engine_new(&src);
	if (fx->e == NULL) {
		free(fx);
		return -1;
	}
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	release_engine_free(fx->e);
	free(fx->w.last);
	free(fx);
	return 0;
}

/* Decides o's first version for a and checks the answer and the detail. */
static void expect(struct fixture *fx, const struct audience *a,
		   const struct tobj *o, enum release_why want,
		   const char *want_ref, enum release_why want_ref_why)
{
	char type[STIX_ID_MAX];
	struct release_version v = version_of(o, type);
	struct release_explain why;
	memset(&why, 0x5a, sizeof(why));
	enum release_why got = release_decide(fx->e, a, &v, &why);
	if (got != want || why.why != want)
		fail_msg("%s: got '%s' (explained '%s'), want '%s'", o->id,
			 release_why_name(got), release_why_name(why.why),
			 release_why_name(want));
	assert_string_equal(why.ref, want_ref != NULL ? want_ref : "");
	if (want_ref != NULL && why.ref_why != want_ref_why)
		fail_msg("%s: ref %s withheld for '%s', want '%s'", o->id,
			 why.ref, release_why_name(why.ref_why),
			 release_why_name(want_ref_why));
	/* The same answer without asking for the detail. */
	assert_int_equal(release_decide(fx->e, a, &v, NULL), want);
}

static void test_relationship_to_red(void **state)
{
	struct fixture *fx = *state;
	struct tobj *rel = add(&fx->w, REL, TLP_GREEN);
	add_ref(rel, IND);
	add_ref(rel, MAL);
	add(&fx->w, MAL, TLP_GREEN);
	add(&fx->w, IND, TLP_RED); /* names nobody */
	expect(fx, &to_jp, rel, RELEASE_DENY_REFERENCE, IND, RELEASE_DENY_RED);
	/* The RED object itself stays home too; the malware goes. */
	expect(fx, &to_jp, find(&fx->w, IND), RELEASE_DENY_RED, NULL, 0);
	expect(fx, &to_jp, find(&fx->w, MAL), RELEASE_OK, NULL, 0);
}

static void test_reference_not_held(void **state)
{
	struct fixture *fx = *state;
	struct tobj *rel = add(&fx->w, REL, TLP_GREEN);
	add_ref(rel, NOT_HELD);
	add_ref(rel, MAL);
	add(&fx->w, MAL, TLP_CLEAR);
	expect(fx, &to_kr, rel, RELEASE_OK, NULL, 0);
}

static void test_created_by_amber_identity(void **state)
{
	struct fixture *fx = *state;
	struct tobj *ind = add(&fx->w, IND, TLP_GREEN);
	add_ref(ind, IDY);
	add(&fx->w, IDY, TLP_AMBER);
	/* kr gets GREEN only: the indicator would reveal the identity. */
	expect(fx, &to_kr, ind, RELEASE_DENY_REFERENCE, IDY,
	       RELEASE_DENY_PEER_TLP);
	expect(fx, &to_jp, ind, RELEASE_OK, NULL, 0);
}

static void test_self_referencing_identity(void **state)
{
	struct fixture *fx = *state;
	struct tobj *idy = add(&fx->w, IDY, TLP_GREEN);
	add_ref(idy, IDY); /* created_by_ref: itself */
	struct tobj *ind = add(&fx->w, IND, TLP_GREEN);
	add_ref(ind, IDY);
	expect(fx, &to_kr, idy, RELEASE_OK, NULL, 0);
	expect(fx, &to_kr, ind, RELEASE_OK, NULL, 0);
}

static void test_cycle(void **state)
{
	struct fixture *fx = *state;
	struct tobj *a = add(&fx->w, REL, TLP_GREEN);
	add_ref(a, IND);
	struct tobj *b = add(&fx->w, IND, TLP_CLEAR);
	add_ref(b, REL);
	expect(fx, &to_kr, a, RELEASE_OK, NULL, 0);
	expect(fx, &to_kr, b, RELEASE_OK, NULL, 0);
	/* A cycle does not protect what hangs off it. */
	add_ref(b, MAL);
	add(&fx->w, MAL, TLP_AMBER);
	release_engine_reset(fx->e);
	expect(fx, &to_kr, a, RELEASE_DENY_REFERENCE, IND,
	       RELEASE_DENY_REFERENCE);
	/* From b, REL comes first and reaches MAL through b's own id. */
	expect(fx, &to_kr, b, RELEASE_DENY_REFERENCE, REL,
	       RELEASE_DENY_REFERENCE);
}

/* A component first met while its entry point was still being decided
 * must not be remembered as released before that entry point is: here
 * REL -> IND -> REL settles only after IND's second reference (AMBER)
 * has withheld IND. */
static void test_cycle_not_remembered_early(void **state)
{
	struct fixture *fx = *state;
	struct tobj *obs = add(&fx->w, OBS, TLP_GREEN);
	add_ref(obs, IND);
	struct tobj *ind = add(&fx->w, IND, TLP_GREEN);
	add_ref(ind, REL);
	add_ref(ind, MAL);
	struct tobj *rel = add(&fx->w, REL, TLP_GREEN);
	add_ref(rel, IND);
	add(&fx->w, MAL, TLP_AMBER);
	struct tobj *sig = add(&fx->w, SIG, TLP_GREEN);
	add_ref(sig, REL);
	expect(fx, &to_kr, obs, RELEASE_DENY_REFERENCE, IND,
	       RELEASE_DENY_REFERENCE);
	/* REL was examined (and looked fine) before MAL was; it reaches MAL
	 * through IND. */
	expect(fx, &to_kr, sig, RELEASE_DENY_REFERENCE, REL,
	       RELEASE_DENY_REFERENCE);
}

/* Deciding an older version of an id: a reference back to its id means
 * the version that counts (the latest, here RED), as it does for anyone
 * else; and what was learnt deciding it holds for the others. */
static void test_reference_back_to_older_version(void **state)
{
	struct fixture *fx = *state;
	struct tobj *latest = add(&fx->w, IND, TLP_RED);
	add_ref(latest, REL);
	struct tobj *rel = add(&fx->w, REL, TLP_GREEN);
	add_ref(rel, IND);
	const char *old_refs[] = {REL};
	struct release_version old = {
	    .id = IND,
	    .f = {.tlp = TLP_GREEN, .type = "indicator"},
	    .refs = old_refs,
	    .n_refs = 1};
	struct release_explain why;
	assert_int_equal(release_decide(fx->e, &to_jp, &old, &why),
			 RELEASE_DENY_REFERENCE);
	assert_string_equal(why.ref, REL);
	assert_int_equal(why.ref_why, RELEASE_DENY_REFERENCE);
	expect(fx, &to_jp, rel, RELEASE_DENY_REFERENCE, IND, RELEASE_DENY_RED);
	/* With GREEN as the latest, the older version goes. */
	latest->tlp[0] = TLP_GREEN;
	release_engine_reset(fx->e);
	assert_int_equal(release_decide(fx->e, &to_jp, &old, NULL), RELEASE_OK);
}

static void chain(struct world *w, int len)
{
	char id[STIX_ID_MAX];
	for (int i = 0; i < len; i++) {
		snprintf(id, sizeof(id), "indicator--chain-%02d", i);
		struct tobj *o = add(w, id, TLP_GREEN);
		if (i + 1 < len) {
			static char next[MAX_OBJS][STIX_ID_MAX];
			snprintf(next[i], sizeof(next[i]),
				 "indicator--chain-%02d", i + 1);
			add_ref(o, next[i]);
		}
	}
}

static void test_depth_limit(void **state)
{
	struct fixture *fx = *state;
	/* The head and RELEASE_MAX_DEPTH held objects after it. */
	chain(&fx->w, RELEASE_MAX_DEPTH + 1);
	expect(fx, &to_kr, &fx->w.objs[0], RELEASE_OK, NULL, 0);
	/* The last may reference what we do not hold. */
	add_ref(&fx->w.objs[RELEASE_MAX_DEPTH], NOT_HELD);
	release_engine_reset(fx->e);
	expect(fx, &to_kr, &fx->w.objs[0], RELEASE_OK, NULL, 0);
	/* One held object more is too deep. */
	fx->w.n = 0;
	chain(&fx->w, RELEASE_MAX_DEPTH + 2);
	release_engine_reset(fx->e);
	expect(fx, &to_kr, &fx->w.objs[0], RELEASE_DENY_DEPTH,
	       "indicator--chain-01", RELEASE_DENY_DEPTH);
	/* Decided from further down, the rest of the chain is released. */
	expect(fx, &to_kr, &fx->w.objs[1], RELEASE_OK, NULL, 0);
}

static void test_count_limit(void **state)
{
	struct fixture *fx = *state;
	size_t n = RELEASE_MAX_VISITED + 1;
	char(*ids)[32] = calloc(n, sizeof(*ids));
	const char **refs = calloc(n, sizeof(*refs));
	assert_non_null(ids);
	assert_non_null(refs);
	for (size_t i = 0; i < n; i++) {
		snprintf(ids[i], sizeof(ids[i]), GEN_PREFIX "%zu", i);
		refs[i] = ids[i];
	}
	struct release_version v = {.id = REL,
				    .f = {.tlp = TLP_GREEN},
				    .refs = refs,
				    .n_refs = RELEASE_MAX_VISITED};
	struct release_explain why;
	assert_int_equal(release_decide(fx->e, &to_kr, &v, &why), RELEASE_OK);
	v.n_refs = n;
	release_engine_reset(fx->e);
	assert_int_equal(release_decide(fx->e, &to_kr, &v, &why),
			 RELEASE_DENY_DEPTH);
	assert_string_equal(why.ref, ids[RELEASE_MAX_VISITED]);
	assert_int_equal(why.ref_why, RELEASE_DENY_DEPTH);
	free(ids);
	free(refs);
}

static void test_sco_held_twice(void **state)
{
	struct fixture *fx = *state;
	struct tobj *obs = add(&fx->w, OBS, TLP_GREEN);
	add_ref(obs, IP);
	struct tobj *ip = add(&fx->w, IP, TLP_GREEN);
	add_copy(ip, TLP_AMBER); /* the same address from another source */
	expect(fx, &to_kr, obs, RELEASE_DENY_REFERENCE, IP,
	       RELEASE_DENY_PEER_TLP);
	expect(fx, &to_jp, obs, RELEASE_OK, NULL, 0);
}

static void test_cache_and_reset(void **state)
{
	struct fixture *fx = *state;
	struct tobj *rel = add(&fx->w, REL, TLP_GREEN);
	add_ref(rel, IND);
	struct tobj *ind = add(&fx->w, IND, TLP_GREEN);
	expect(fx, &to_kr, rel, RELEASE_OK, NULL, 0);
	/* The world changes: the indicator is now AMBER. Until the reset the
	 * engine answers from what it remembers, without asking. */
	ind->tlp[0] = TLP_AMBER;
	unsigned before = fx->w.lookups;
	expect(fx, &to_kr, rel, RELEASE_OK, NULL, 0);
	assert_int_equal(fx->w.lookups, before);
	release_engine_reset(fx->e);
	expect(fx, &to_kr, rel, RELEASE_DENY_REFERENCE, IND,
	       RELEASE_DENY_PEER_TLP);
	/* Another audience forgets too: jp gets AMBER. */
	ind->tlp[0] = TLP_RED;
	expect(fx, &to_jp, rel, RELEASE_DENY_REFERENCE, IND, RELEASE_DENY_RED);
	ind->tlp[0] = TLP_AMBER;
	expect(fx, &to_kr, rel, RELEASE_DENY_REFERENCE, IND,
	       RELEASE_DENY_PEER_TLP);
	expect(fx, &to_jp, rel, RELEASE_OK, NULL, 0);
}

static void test_lookup_error(void **state)
{
	struct fixture *fx = *state;
	struct tobj *rel = add(&fx->w, REL, TLP_GREEN);
	add_ref(rel, IND);
	struct tobj *ind = add(&fx->w, IND, TLP_GREEN);
	add_ref(ind, IDY);
	add(&fx->w, IDY, TLP_GREEN);
	fx->w.fail_id = IDY;
	expect(fx, &to_kr, rel, RELEASE_DENY_REFERENCE, IND,
	       RELEASE_DENY_REFERENCE);
	/* An error is not remembered: once the source answers, it goes. */
	fx->w.fail_id = NULL;
	expect(fx, &to_kr, rel, RELEASE_OK, NULL, 0);
}

static void test_local_accounts(void **state)
{
	struct fixture *fx = *state;
	/* References apply to accounts of this node too. */
	struct tobj *rel = add(&fx->w, REL, TLP_GREEN);
	add_ref(rel, IND);
	add(&fx->w, IND, TLP_AMBER);
	struct audience reader = {
	    .account_id = 4, .role = ROLE_READER, .own_org = false};
	struct audience analyst = {
	    .account_id = 5, .role = ROLE_ANALYST, .own_org = false};
	expect(fx, &reader, rel, RELEASE_DENY_REFERENCE, IND,
	       RELEASE_DENY_ROLE);
	expect(fx, &analyst, rel, RELEASE_OK, NULL, 0);
}

static void test_own_facts_first(void **state)
{
	struct fixture *fx = *state;
	struct tobj *rel = add(&fx->w, REL, TLP_AMBER);
	add_ref(rel, IND);
	add(&fx->w, IND, TLP_RED);
	/* The version's own reason, and no reference named. */
	expect(fx, &to_kr, rel, RELEASE_DENY_PEER_TLP, NULL, 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_relationship_to_red),
	    T(test_reference_not_held),
	    T(test_created_by_amber_identity),
	    T(test_self_referencing_identity),
	    T(test_cycle),
	    T(test_cycle_not_remembered_early),
	    T(test_reference_back_to_older_version),
	    T(test_depth_limit),
	    T(test_count_limit),
	    T(test_sco_held_twice),
	    T(test_cache_and_reset),
	    T(test_lookup_error),
	    T(test_local_accounts),
	    T(test_own_facts_first),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
