/* The release decision for local audiences: a table of cases a user would
 * recognise, then invariants checked over every combination. */
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
		struct audience a = {c->account, c->role, c->own_org};
		struct release_facts f = {c->tlp, c->flags, &who, 1};
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
					struct audience a = {5, (enum role)r,
							     own != 0};
					struct release_facts f = {(uint8_t)t,
								  flagsets[fi],
								  &other, 1};
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
	    cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
