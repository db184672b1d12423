/* IPv4/IPv6 addresses and CIDR prefixes (src/common/ip.c). */
#include "common/ip.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static const struct {
	const char *in;
	size_t n; /* 0: strlen(in) */
	bool ok;
	bool v6;
	unsigned len;
	const char *same_as; /* parses to the same prefix, or NULL */
} parse_cases[] = {
    {"192.0.2.1", 0, true, false, 32, NULL},
    {"192.0.2.0/24", 0, true, false, 24, NULL},
    {"192.0.2.77/24", 0, true, false, 24, "192.0.2.0/24"}, /* host bits */
    {"0.0.0.0/0", 0, true, false, 0, NULL},
    {"10.1.2.3/0", 0, true, false, 0, "0.0.0.0/0"},
    {"2001:db8::1", 0, true, true, 128, NULL},
    {"2001:db8::/32", 0, true, true, 32, NULL},
    {"2001:db8:ffff::/32", 0, true, true, 32, "2001:db8::/32"},
    {"::/0", 0, true, true, 0, NULL},
    {"::1", 0, true, true, 128, NULL},
    {"192.0.2.1/33", 0, false, false, 0, NULL},
    {"2001:db8::/129", 0, false, false, 0, NULL},
    {"192.0.2.1/", 0, false, false, 0, NULL},
    {"192.0.2.1/+8", 0, false, false, 0, NULL},
    {"192.0.2.1/ 8", 0, false, false, 0, NULL},
    {"/8", 0, false, false, 0, NULL},
    {"", 0, false, false, 0, NULL},
    {"192.0.2", 0, false, false, 0, NULL},
    {"192.0.2.256", 0, false, false, 0, NULL},
    {"example.com", 0, false, false, 0, NULL},
    {"10.0.0.1\0junk", 13, false, false, 0, NULL}, /* NUL inside */
    {"10.0.0.1/8\0", 11, false, false, 0, NULL},
    {"192.0.2.1/24", 9, true, false, 32, "192.0.2.1"}, /* n bytes only */
};

static void test_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]);
	     i++) {
		const char *in = parse_cases[i].in;
		size_t n = parse_cases[i].n ? parse_cases[i].n : strlen(in);
		struct ip_prefix p, q;
		bool ok = ip_parse(in, n, &p);
		if (ok != parse_cases[i].ok)
			fail_msg("case %zu (%s): parse %d", i, in, ok);
		if (!ok)
			continue;
		assert_int_equal(p.v6, parse_cases[i].v6);
		assert_int_equal(p.len, parse_cases[i].len);
		if (parse_cases[i].same_as != NULL) {
			const char *s = parse_cases[i].same_as;
			assert_true(ip_parse(s, strlen(s), &q));
			assert_memory_equal(&p, &q, sizeof(p));
		}
	}
}

static const struct {
	const char *outer, *inner;
	bool contains;
} contain_cases[] = {
    {"0.0.0.0/0", "203.0.113.9", true},
    {"::/0", "2001:db8::1", true},
    {"::/0", "203.0.113.9", false}, /* families never mix */
    {"0.0.0.0/0", "::1", false},
    {"198.51.100.0/24", "198.51.100.255", true},
    {"198.51.100.0/24", "198.51.101.0", false},
    {"198.51.100.0/25", "198.51.100.127", true},
    {"198.51.100.0/25", "198.51.100.128", false},  /* the boundary bit */
    {"198.51.100.0/24", "198.51.100.0/23", false}, /* wider than outer */
    {"198.51.100.0/23", "198.51.101.0/24", true},
    {"10.0.0.0/8", "10.0.0.0/8", true},
    {"2001:db8::/33", "2001:db8:7fff::1", true},
    {"2001:db8::/33", "2001:db8:8000::1", false},
    {"2001:db8::1/128", "2001:db8::1", true},
};

static void test_contains(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(contain_cases) / sizeof(contain_cases[0]);
	     i++) {
		struct ip_prefix o, n;
		assert_true(ip_parse(contain_cases[i].outer,
				     strlen(contain_cases[i].outer), &o));
		assert_true(ip_parse(contain_cases[i].inner,
				     strlen(contain_cases[i].inner), &n));
		if (ip_contains(&o, &n) != contain_cases[i].contains)
			fail_msg("%s contains %s: want %d",
				 contain_cases[i].outer, contain_cases[i].inner,
				 contain_cases[i].contains);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_contains),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
