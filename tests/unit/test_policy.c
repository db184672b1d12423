/* The release decision on one version's own facts: for local accounts and
 * for partner nodes, a table of cases a user would recognise, then
 * invariants checked over every combination. */
#include "policy/policy.h"
#include "store/store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

struct tcase {
	const char *name;
	enum role role;
	bool own_org;
	int64_t account;
	uint8_t tlp;
	uint8_t flags;
	bool named;
	enum release_why want;
};

static const struct tcase cases[] = {
    {"clear to a reader of another org", ROLE_READER, false, 7, TLP_CLEAR, 0,
     false, RELEASE_OK},
    {"green to an auditor of another org", ROLE_AUDITOR, false, 7, TLP_GREEN, 0,
     false, RELEASE_OK},
    {"amber to an analyst of another org", ROLE_ANALYST, false, 7, TLP_AMBER, 0,
     false, RELEASE_OK},
    {"amber not to a reader of another org", ROLE_READER, false, 7, TLP_AMBER,
     0, false, RELEASE_DENY_ROLE},
    {"amber to our own reader", ROLE_READER, true, 7, TLP_AMBER, 0, false,
     RELEASE_OK},
    {"amber+strict to our own analyst", ROLE_ANALYST, true, 7, TLP_AMBER_STRICT,
     0, false, RELEASE_OK},
    {"amber+strict never to another org, even an admin", ROLE_ADMIN, false, 7,
     TLP_AMBER_STRICT, 0, false, RELEASE_DENY_STRICT},
    {"red not to our own admin unless named", ROLE_ADMIN, true, 7, TLP_RED, 0,
     false, RELEASE_DENY_RED},
    {"red to a named recipient", ROLE_READER, false, 7, TLP_RED, 0, true,
     RELEASE_OK},
    {"unknown marking to our own admin", ROLE_ADMIN, true, 7, TLP_GREEN,
     STORE_F_UNKNOWN_MARKING, false, RELEASE_OK},
    {"unknown marking not to another org's admin", ROLE_ADMIN, false, 7,
     TLP_GREEN, STORE_F_UNKNOWN_MARKING, false, RELEASE_DENY_UNKNOWN_MARKING},
    {"unknown marking not to our analyst", ROLE_ANALYST, true, 7, TLP_CLEAR,
     STORE_F_UNKNOWN_MARKING, false, RELEASE_DENY_UNKNOWN_MARKING},
    {"default marking counts as the marking", ROLE_READER, false, 7, TLP_AMBER,
     STORE_F_DEFAULT_TLP, false, RELEASE_DENY_ROLE},
    {"peer without a partner policy reads nothing", ROLE_PEER, false, 7,
     TLP_CLEAR, 0, false, RELEASE_DENY_ROLE},
    {"liaison without a partner policy reads nothing", ROLE_LIAISON, false, 7,
     TLP_CLEAR, 0, false, RELEASE_DENY_ROLE},
    {"a metrics scraper reads no object, even CLEAR", ROLE_METRICS, true, 7,
     TLP_CLEAR, 0, false, RELEASE_DENY_ROLE},
    {"no marking recorded is never released", ROLE_ADMIN, true, 7, TLP_NONE, 0,
     false, RELEASE_DENY_TLP_NONE},
};

static void test_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct tcase *c = &cases[i];
		int64_t who = c->named ? c->account : c->account + 1;
		struct audience a = {.account_id = c->account,
				     .role = c->role,
				     .own_org = c->own_org};
		struct release_facts f = {.tlp = c->tlp,
					  .flags = c->flags,
					  .red_recipients = &who,
					  .n_red_recipients = 1};
		enum release_why got = policy_decide(&a, &f);
		if (got != c->want)
			fail_msg("%s: got '%s', want '%s'", c->name,
				 release_why_name(got),
				 release_why_name(c->want));
	}
}

/* Invariants over every role, organisation, level and flag. */
static void test_invariants(void **state)
{
	(void)state;
	static const uint8_t flagsets[] = {
	    0, STORE_F_DEFAULT_TLP, STORE_F_UNKNOWN_MARKING, STORE_F_REVOKED};
	for (int r = 0; r < ROLE__COUNT; r++) {
		for (int own = 0; own < 2; own++) {
			for (size_t fi = 0; fi < sizeof(flagsets); fi++) {
				bool prev = true;
				for (int t = TLP_CLEAR; t <= TLP_RED; t++) {
					int64_t other = 99;
					struct audience a = {
					    .account_id = 5,
					    .role = (enum role)r,
					    .own_org = own != 0};
					struct release_facts f = {
					    .tlp = (uint8_t)t,
					    .flags = flagsets[fi],
					    .red_recipients = &other,
					    .n_red_recipients = 1};
					bool ok = policy_may_release(&a, &f);
					/* Never looser for a more restricted
					 * level. */
					if (t < TLP_RED)
						assert_true(prev || !ok);
					prev = ok;
					if (t == TLP_AMBER_STRICT && !own)
						assert_false(ok);
					if (t == TLP_RED)
						assert_false(ok);
					if ((flagsets[fi] &
					     STORE_F_UNKNOWN_MARKING) &&
					    !(r == ROLE_ADMIN && own))
						assert_false(ok);
				}
			}
		}
	}
}

/*
 * Partner nodes. Each row is one partner policy and one version; the base
 * partner is "jp" (identity PID) granted CLEAR, GREEN and AMBER with "*"
 * for collections, types and labels, and the base version is our own
 * GREEN indicator labelled malicious-activity in collection 1. Rows come
 * in pairs where they can: one that hits a rule, one just past it.
 */
#define PID "identity--0b0f6a5b-6e36-4b6a-9d5b-6d4e8b1a3c01"
#define OTHER_NODE "identity--7d2c1e9a-0f1b-4c3d-8e5f-a1b2c3d4e5f6"

#define LIST(field, arr) \
	.field = (arr), .n_##field = sizeof(arr) / sizeof((arr)[0])
#define GRANT(c, g, a, s, r) .tlp = {(c), (g), (a), (s), (r)}
#define JP .name = "jp", .identity = PID, .has_policy = true
/* The same partner before a policy was given. */
#define JP_WITHOUT_POLICY .name = "jp", .identity = PID
/* A partner whose node identity is not known yet. */
#define ANON .name = "kr", .has_policy = true
#define CGA GRANT(true, true, true, false, false)
#define ALL .all_collections = true, .all_types = true, .all_labels = true
#define BASE_PARTNER JP, CGA, ALL
/* The base version without its TLP; rows add .tlp and what they change. */
#define IND .type = "indicator", LIST(labels, l_mal), LIST(cids, c_1)

static const int64_t c_1[] = {1}, c_2[] = {2}, c_12[] = {1, 2};
static const char *const l_mal[] = {"malicious-activity"};
static const char *const l_benign[] = {"benign"};
static const char *const l_both[] = {"benign", "malicious-activity"};
static const char *const l_star[] = {"*"};
static const char *const t_ind[] = {"indicator"};
static const char *const t_malware[] = {"malware"};
static const char *const t_star[] = {"*"};
static const char *const red_jp[] = {OTHER_NODE, PID};
static const char *const red_other[] = {OTHER_NODE};

struct pcase {
	const char *name;
	struct partner p;
	struct release_facts f;
	enum release_why want;
};

static const struct pcase pcases[] = {
    /* 1. no policy */
    {"the base case is released",
     {BASE_PARTNER},
     {.tlp = TLP_GREEN, IND},
     RELEASE_OK},
    {"a partner without a policy receives nothing, not even CLEAR",
     {JP_WITHOUT_POLICY, CGA, ALL},
     {.tlp = TLP_CLEAR, IND},
     RELEASE_DENY_NO_POLICY},
    {"no policy is said before an unknown marking",
     {JP_WITHOUT_POLICY, CGA, ALL},
     {.tlp = TLP_GREEN, .flags = STORE_F_UNKNOWN_MARKING, IND},
     RELEASE_DENY_NO_POLICY},
    /* 2. unknown marking */
    {"an unknown marking never goes to a partner",
     {BASE_PARTNER},
     {.tlp = TLP_CLEAR, .flags = STORE_F_UNKNOWN_MARKING, IND},
     RELEASE_DENY_UNKNOWN_MARKING},
    {"an unknown marking without TLP never goes either",
     {BASE_PARTNER},
     {.tlp = TLP_NONE, .flags = STORE_F_UNKNOWN_MARKING, IND},
     RELEASE_DENY_UNKNOWN_MARKING},
    {"a default TLP is a marking like any other",
     {BASE_PARTNER},
     {.tlp = TLP_GREEN, .flags = STORE_F_DEFAULT_TLP, IND},
     RELEASE_OK},
    /* 3. no TLP */
    {"no TLP recorded is never released",
     {BASE_PARTNER},
     {.tlp = TLP_NONE, IND},
     RELEASE_DENY_TLP_NONE},
    {"an out-of-range level counts as none",
     {BASE_PARTNER},
     {.tlp = 7, IND},
     RELEASE_DENY_TLP_NONE},
    {"CLEAR, the level below, is released",
     {BASE_PARTNER},
     {.tlp = TLP_CLEAR, IND},
     RELEASE_OK},
    /* 4. back to the origin */
    {"never back to the node that made it",
     {BASE_PARTNER},
     {.tlp = TLP_CLEAR,
      IND,
      .foreign = true,
      .origin = PID,
      .relay_green = true},
     RELEASE_DENY_ORIGIN},
    {"another origin's CLEAR goes on",
     {BASE_PARTNER},
     {.tlp = TLP_CLEAR, IND, .foreign = true, .origin = OTHER_NODE},
     RELEASE_OK},
    {"origin is said before relay",
     {BASE_PARTNER},
     {.tlp = TLP_AMBER, IND, .foreign = true, .origin = PID},
     RELEASE_DENY_ORIGIN},
    {"a partner of unknown identity is not the origin",
     {ANON, CGA, ALL},
     {.tlp = TLP_CLEAR, IND, .foreign = true, .origin = PID},
     RELEASE_OK},
    {"an origin on our own version is not provenance",
     {BASE_PARTNER},
     {.tlp = TLP_CLEAR, IND, .origin = PID},
     RELEASE_OK},
    /* 5. relay */
    {"foreign AMBER is never relayed, even when granted",
     {BASE_PARTNER},
     {.tlp = TLP_AMBER,
      IND,
      .foreign = true,
      .origin = OTHER_NODE,
      .relay_green = true},
     RELEASE_DENY_RELAY},
    {"our own AMBER goes where granted",
     {BASE_PARTNER},
     {.tlp = TLP_AMBER, IND},
     RELEASE_OK},
    {"foreign AMBER+STRICT is never relayed",
     {JP, GRANT(true, true, true, true, true), ALL},
     {.tlp = TLP_AMBER_STRICT, IND, .foreign = true, .origin = OTHER_NODE},
     RELEASE_DENY_RELAY},
    {"foreign RED is never relayed, even naming the partner",
     {JP, GRANT(true, true, true, true, true), ALL},
     {.tlp = TLP_RED,
      IND,
      .foreign = true,
      .origin = OTHER_NODE,
      LIST(red_identities, red_jp)},
     RELEASE_DENY_RELAY},
    {"foreign GREEN without relay permission stays",
     {BASE_PARTNER},
     {.tlp = TLP_GREEN, IND, .foreign = true, .origin = OTHER_NODE},
     RELEASE_DENY_RELAY},
    {"foreign GREEN with relay permission goes on",
     {BASE_PARTNER},
     {.tlp = TLP_GREEN,
      IND,
      .foreign = true,
      .origin = OTHER_NODE,
      .relay_green = true},
     RELEASE_OK},
    {"foreign GREEN from a feed peer (origin unknown) needs permission too",
     {BASE_PARTNER},
     {.tlp = TLP_GREEN, IND, .foreign = true},
     RELEASE_DENY_RELAY},
    {"foreign AMBER by default is AMBER",
     {BASE_PARTNER},
     {.tlp = TLP_AMBER, .flags = STORE_F_DEFAULT_TLP, IND, .foreign = true},
     RELEASE_DENY_RELAY},
    /* 6. RED */
    {"our RED to a partner it names",
     {JP, GRANT(true, true, true, false, true), ALL},
     {.tlp = TLP_RED, IND, LIST(red_identities, red_jp)},
     RELEASE_OK},
    {"our RED not to a partner it does not name",
     {JP, GRANT(true, true, true, false, true), ALL},
     {.tlp = TLP_RED, IND, LIST(red_identities, red_other)},
     RELEASE_DENY_RED},
    {"our RED not to a partner of unknown identity",
     {ANON, GRANT(true, true, true, false, true), ALL},
     {.tlp = TLP_RED, IND, LIST(red_identities, red_jp)},
     RELEASE_DENY_RED},
    /* 7. levels granted */
    {"RED named but not granted by the policy",
     {BASE_PARTNER},
     {.tlp = TLP_RED, IND, LIST(red_identities, red_jp)},
     RELEASE_DENY_PEER_TLP},
    {"AMBER+STRICT only when granted",
     {BASE_PARTNER},
     {.tlp = TLP_AMBER_STRICT, IND},
     RELEASE_DENY_PEER_TLP},
    {"AMBER+STRICT granted",
     {JP, GRANT(true, true, true, true, false), ALL},
     {.tlp = TLP_AMBER_STRICT, IND},
     RELEASE_OK},
    {"AMBER not granted to a GREEN partner",
     {JP, GRANT(true, true, false, false, false), ALL},
     {.tlp = TLP_AMBER, IND},
     RELEASE_DENY_PEER_TLP},
    {"GREEN granted to a GREEN partner",
     {JP, GRANT(true, true, false, false, false), ALL},
     {.tlp = TLP_GREEN, IND},
     RELEASE_OK},
    {"levels are granted one by one, not up to a ceiling",
     {JP, GRANT(false, true, false, false, false), ALL},
     {.tlp = TLP_CLEAR, IND},
     RELEASE_DENY_PEER_TLP},
    {"the level is said before the scopes",
     {JP, GRANT(true, false, false, false, false), .all_types = true,
      .all_labels = true},
     {.tlp = TLP_GREEN, IND},
     RELEASE_DENY_PEER_TLP},
    /* 8. collections */
    {"a denied collection, with all allowed",
     {BASE_PARTNER, LIST(deny_collections, c_1)},
     {.tlp = TLP_GREEN, IND},
     RELEASE_DENY_COLLECTION},
    {"another collection denied",
     {BASE_PARTNER, LIST(deny_collections, c_2)},
     {.tlp = TLP_GREEN, IND},
     RELEASE_OK},
    {"an allowed collection",
     {JP, CGA, .all_types = true, .all_labels = true, LIST(collections, c_1)},
     {.tlp = TLP_GREEN, IND},
     RELEASE_OK},
    {"not in an allowed collection",
     {JP, CGA, .all_types = true, .all_labels = true, LIST(collections, c_2)},
     {.tlp = TLP_GREEN, IND},
     RELEASE_DENY_COLLECTION},
    {"one of its collections allowed is enough",
     {JP, CGA, .all_types = true, .all_labels = true, LIST(collections, c_2)},
     {.tlp = TLP_GREEN,
      .type = "indicator",
      LIST(labels, l_mal),
      LIST(cids, c_12)},
     RELEASE_OK},
    {"deny wins over allow for collections",
     {JP, CGA, .all_types = true, .all_labels = true, LIST(collections, c_12),
      LIST(deny_collections, c_2)},
     {.tlp = TLP_GREEN,
      .type = "indicator",
      LIST(labels, l_mal),
      LIST(cids, c_12)},
     RELEASE_DENY_COLLECTION},
    {"deny every collection (\"*\") wins over allow all",
     {BASE_PARTNER, .deny_all_collections = true},
     {.tlp = TLP_CLEAR, IND},
     RELEASE_DENY_COLLECTION},
    {"deny every collection also holds back what is in none",
     {BASE_PARTNER, .deny_all_collections = true},
     {.tlp = TLP_CLEAR, .type = "indicator"},
     RELEASE_DENY_COLLECTION},
    {"in no collection, with a list of allowed ones",
     {JP, CGA, .all_types = true, .all_labels = true, LIST(collections, c_1)},
     {.tlp = TLP_GREEN, .type = "indicator", LIST(labels, l_mal)},
     RELEASE_DENY_COLLECTION},
    {"in no collection, with all allowed",
     {BASE_PARTNER},
     {.tlp = TLP_GREEN, .type = "indicator", LIST(labels, l_mal)},
     RELEASE_OK},
    {"the collection is said before the type",
     {JP, CGA, .all_labels = true, LIST(collections, c_2),
      LIST(types, t_malware)},
     {.tlp = TLP_GREEN, IND},
     RELEASE_DENY_COLLECTION},
    /* 9. types */
    {"a denied type, with all allowed",
     {BASE_PARTNER, LIST(deny_types, t_ind)},
     {.tlp = TLP_GREEN, IND},
     RELEASE_DENY_TYPE},
    {"another type denied",
     {BASE_PARTNER, LIST(deny_types, t_malware)},
     {.tlp = TLP_GREEN, IND},
     RELEASE_OK},
    {"an allowed type",
     {JP, CGA, .all_collections = true, .all_labels = true, LIST(types, t_ind)},
     {.tlp = TLP_GREEN, IND},
     RELEASE_OK},
    {"a type not allowed",
     {JP, CGA, .all_collections = true, .all_labels = true,
      LIST(types, t_malware)},
     {.tlp = TLP_GREEN, IND},
     RELEASE_DENY_TYPE},
    {"deny wins over allow for types",
     {JP, CGA, .all_collections = true, .all_labels = true, LIST(types, t_ind),
      LIST(deny_types, t_ind)},
     {.tlp = TLP_GREEN, IND},
     RELEASE_DENY_TYPE},
    {"an unknown type is not an allowed type",
     {JP, CGA, .all_collections = true, .all_labels = true, LIST(types, t_ind)},
     {.tlp = TLP_GREEN, LIST(labels, l_mal), LIST(cids, c_1)},
     RELEASE_DENY_TYPE},
    {"an unknown type passes \"*\"",
     {BASE_PARTNER},
     {.tlp = TLP_GREEN, LIST(labels, l_mal), LIST(cids, c_1)},
     RELEASE_OK},
    {"a denied \"*\" denies every type",
     {BASE_PARTNER, LIST(deny_types, t_star)},
     {.tlp = TLP_GREEN, IND},
     RELEASE_DENY_TYPE},
    {"an allowed \"*\" entry allows every type",
     {JP, CGA, .all_collections = true, .all_labels = true,
      LIST(types, t_star)},
     {.tlp = TLP_GREEN, IND},
     RELEASE_OK},
    {"an allowed \"*\" entry allows an unknown type too",
     {JP, CGA, .all_collections = true, .all_labels = true,
      LIST(types, t_star)},
     {.tlp = TLP_GREEN, LIST(labels, l_mal), LIST(cids, c_1)},
     RELEASE_OK},
    {"a denied \"*\" denies an unknown type too",
     {BASE_PARTNER, LIST(deny_types, t_star)},
     {.tlp = TLP_GREEN, LIST(labels, l_mal), LIST(cids, c_1)},
     RELEASE_DENY_TYPE},
    {"the type is said before the labels",
     {JP, CGA, .all_collections = true, LIST(types, t_malware),
      LIST(labels, l_benign)},
     {.tlp = TLP_GREEN, IND},
     RELEASE_DENY_TYPE},
    /* 10. labels */
    {"a denied label, with all allowed",
     {BASE_PARTNER, LIST(deny_labels, l_mal)},
     {.tlp = TLP_GREEN, IND},
     RELEASE_DENY_LABEL},
    {"another label denied",
     {BASE_PARTNER, LIST(deny_labels, l_benign)},
     {.tlp = TLP_GREEN, IND},
     RELEASE_OK},
    {"an allowed label",
     {JP, CGA, .all_collections = true, .all_types = true, LIST(labels, l_mal)},
     {.tlp = TLP_GREEN, IND},
     RELEASE_OK},
    {"no allowed label",
     {JP, CGA, .all_collections = true, .all_types = true,
      LIST(labels, l_benign)},
     {.tlp = TLP_GREEN, IND},
     RELEASE_DENY_LABEL},
    {"one allowed label of two is enough",
     {JP, CGA, .all_collections = true, .all_types = true,
      LIST(labels, l_benign)},
     {.tlp = TLP_GREEN,
      .type = "indicator",
      LIST(labels, l_both),
      LIST(cids, c_1)},
     RELEASE_OK},
    {"deny wins over allow for labels",
     {JP, CGA, .all_collections = true, .all_types = true,
      LIST(labels, l_benign), LIST(deny_labels, l_mal)},
     {.tlp = TLP_GREEN,
      .type = "indicator",
      LIST(labels, l_both),
      LIST(cids, c_1)},
     RELEASE_DENY_LABEL},
    {"no labels, with a list of allowed labels",
     {JP, CGA, .all_collections = true, .all_types = true, LIST(labels, l_mal)},
     {.tlp = TLP_GREEN, .type = "indicator", LIST(cids, c_1)},
     RELEASE_DENY_LABEL},
    {"no labels, with all allowed and some denied",
     {BASE_PARTNER, LIST(deny_labels, l_mal)},
     {.tlp = TLP_GREEN, .type = "indicator", LIST(cids, c_1)},
     RELEASE_OK},
    {"a denied \"*\" denies every labelled object",
     {BASE_PARTNER, LIST(deny_labels, l_star)},
     {.tlp = TLP_GREEN, IND},
     RELEASE_DENY_LABEL},
    {"an allowed \"*\" entry allows every label",
     {JP, CGA, .all_collections = true, .all_types = true,
      LIST(labels, l_star)},
     {.tlp = TLP_GREEN, IND},
     RELEASE_OK},
    {"an allowed \"*\" entry allows an unlabelled object, as \"*\" does",
     {JP, CGA, .all_collections = true, .all_types = true,
      LIST(labels, l_star)},
     {.tlp = TLP_GREEN, .type = "indicator", LIST(cids, c_1)},
     RELEASE_OK},
    {"a denied \"*\" does not deny an unlabelled object",
     {BASE_PARTNER, LIST(deny_labels, l_star)},
     {.tlp = TLP_GREEN, .type = "indicator", LIST(cids, c_1)},
     RELEASE_OK},
};

static void test_partner_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(pcases) / sizeof(pcases[0]); i++) {
		const struct pcase *c = &pcases[i];
		/* The role and organisation of the account do not matter. */
		for (int r = 0; r < ROLE__COUNT; r++) {
			struct audience a = {.account_id = 3,
					     .role = (enum role)r,
					     .own_org = r % 2 == 0,
					     .partner = &c->p};
			enum release_why got = policy_decide(&a, &c->f);
			if (got != c->want)
				fail_msg("%s (role %s): got '%s', want '%s'",
					 c->name, role_name((enum role)r),
					 release_why_name(got),
					 release_why_name(c->want));
		}
	}
}

/* Invariants for a partner granted every level and everything in scope:
 * provenance alone still keeps things home. */
static void test_partner_invariants(void **state)
{
	(void)state;
	const struct partner p = {JP, GRANT(true, true, true, true, true), ALL};
	const struct partner nobody = {.name = "nobody",
				       .identity = NULL,
				       .has_policy = true,
				       GRANT(true, true, true, true, true),
				       ALL};
	struct audience a = {.partner = &p}, anon = {.partner = &nobody};
	for (int t = TLP_CLEAR; t <= TLP_RED; t++) {
		for (int bits = 0; bits < 16; bits++) {
			struct release_facts f = {
			    .tlp = (uint8_t)t,
			    .flags = (bits & 1) ? STORE_F_UNKNOWN_MARKING : 0,
			    .foreign = (bits & 2) != 0,
			    .relay_green = (bits & 4) != 0,
			    .origin = (bits & 8) ? PID : OTHER_NODE,
			    IND,
			    LIST(red_identities, red_jp)};
			bool ok = policy_may_release(&a, &f);
			if (bits & 1)
				assert_false(ok);
			if (f.foreign && t >= TLP_AMBER)
				assert_false(ok);
			if (f.foreign && (bits & 8))
				assert_false(ok);
			/* RED needs to know who the partner is. */
			if (t == TLP_RED)
				assert_false(policy_may_release(&anon, &f));
			/* Everything else is released. */
			if (!(bits & 1) && !(f.foreign && t >= TLP_AMBER) &&
			    !(f.foreign && (bits & 8)) &&
			    !(f.foreign && t == TLP_GREEN && !f.relay_green))
				assert_true(ok);
		}
	}
}

static void test_why_names(void **state)
{
	(void)state;
	/* Every reason has its own text. */
	for (int i = RELEASE_OK; i <= RELEASE_DENY_DEPTH; i++) {
		const char *n = release_why_name((enum release_why)i);
		assert_string_not_equal(n, "?");
		for (int j = RELEASE_OK; j < i; j++)
			assert_string_not_equal(
			    n, release_why_name((enum release_why)j));
	}
}

static void test_names(void **state)
{
	(void)state;
	for (int r = 0; r < ROLE__COUNT; r++) {
		enum role back;
		assert_int_equal(role_parse(role_name((enum role)r), &back), 0);
		assert_int_equal(back, r);
	}
	enum role x;
	assert_int_not_equal(role_parse("root", &x), 0);
	assert_null(role_name(ROLE__COUNT));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cases),
	    cmocka_unit_test(test_invariants),
	    cmocka_unit_test(test_partner_cases),
	    cmocka_unit_test(test_partner_invariants),
	    cmocka_unit_test(test_why_names),
	    cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
