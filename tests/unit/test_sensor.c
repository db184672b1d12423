/*
 * Unit tests of src/interop/sensor.c: which patterns come apart into
 * values (and the reason for each that does not), the values normalised,
 * and which format holds which kind of value exactly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "interop/sensor.h"

#include <string.h>

struct ok_case {
	const char *pattern;
	size_t n;
	enum ix_kind kind0;
	const char *value0;
};

static void test_disjunctions_come_apart(void **state)
{
	(void)state;
	static const struct ok_case cases[] = {
	    {"[ipv4-addr:value = '198.51.100.7']", 1, IX_IP, "198.51.100.7"},
	    {"[ipv4-addr:value ISSUBSET '198.51.100.0/24']", 1, IX_CIDR,
	     "198.51.100.0/24"},
	    {"[ipv4-addr:value ISSUBSET '198.51.100.9/32']", 1, IX_IP,
	     "198.51.100.9"},
	    {"[ipv6-addr:value = '2001:DB8:0:0::7']", 1, IX_IP, "2001:db8::7"},
	    {"[domain-name:value = 'A.Example.COM']", 1, IX_DOMAIN,
	     "a.example.com"},
	    {"[domain-name:value IN ('a.example', 'b.example', 'c.example')]",
	     3, IX_DOMAIN, "a.example"},
	    {"[url:value = 'http://x.example/p'] OR [ipv4-addr:value = "
	     "'192.0.2.1']",
	     2, IX_URL, "http://x.example/p"},
	    {"([domain-name:value = 'a.example'] OR [domain-name:value = "
	     "'b.example'])",
	     2, IX_DOMAIN, "a.example"},
	    {"[file:hashes.MD5 = 'D41D8CD98F00B204E9800998ECF8427E']", 1,
	     IX_MD5, "d41d8cd98f00b204e9800998ecf8427e"},
	    {"[file:hashes.'SHA-256' = "
	     "'5f0a6c1e8d9b7a2c3e4f5061728394a5b6c7d8e9f00112233445566778899aab"
	     "']",
	     1, IX_SHA256,
	     "5f0a6c1e8d9b7a2c3e4f5061728394a5b6c7d8e9f00112233445566778899aa"
	     "b"},
	    {"[email-addr:value = 'X@Example.NET']", 1, IX_EMAIL,
	     "x@example.net"},
	    {"[x509-certificate:hashes.'SHA-1' = "
	     "'a9993e364706816aba3e25717850c26c9cd0d89d']",
	     1, IX_CERT_SHA1, "a9993e364706816aba3e25717850c26c9cd0d89d"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ix_atom a[IX_ATOMS_MAX];
		size_t n = 99;
		const char *why = NULL;
		int rc = ix_pattern_atoms(
		    cases[i].pattern, strlen(cases[i].pattern), a, &n, &why);
		if (rc != ST_OK)
			fail_msg("%s: %s", cases[i].pattern, why);
		assert_int_equal(n, cases[i].n);
		assert_int_equal(a[0].kind, cases[i].kind0);
		assert_string_equal(a[0].value, cases[i].value0);
	}
}

struct bad_case {
	const char *pattern;
	const char *why; /* a part of the reason */
};

static void test_what_does_not_come_apart(void **state)
{
	(void)state;
	static const struct bad_case cases[] = {
	    {"[ipv4-addr:value = '1.2.3.4' AND ipv4-addr:value = '1.2.3.5']",
	     "AND"},
	    {"[domain-name:value = 'a.example'] AND [domain-name:value = "
	     "'b.example']",
	     "observations joined by AND"},
	    {"[domain-name:value = 'a.example'] FOLLOWEDBY "
	     "[domain-name:value = 'b.example']",
	     "FOLLOWEDBY"},
	    {"[domain-name:value = 'a.example'] REPEATS 2 TIMES", "qualifier"},
	    {"[domain-name:value LIKE '%.example']", "LIKE"},
	    {"[url:value MATCHES '^http']", "MATCHES"},
	    {"[ipv4-addr:value NOT = '1.2.3.4']", "negated"},
	    {"[ipv4-addr:value != '1.2.3.4']", "operator"},
	    {"[ipv4-addr:value = '10.0.0.0/8']", "'=' to a prefix"},
	    {"[domain-name:value ISSUBSET 'a.example']", "does not parse"},
	    {"[network-traffic:dst_port = 443]", "property"},
	    {"[file:hashes.'SSDEEP' = '3:abc:def']", "file hash other"},
	    {"[file:hashes.MD5 = 'abc']", "wrong length"},
	    {"[x509-certificate:hashes.'SHA-256' = 'aa']", "other than SHA-1"},
	    {"not a pattern", "does not parse"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ix_atom a[IX_ATOMS_MAX];
		size_t n = 0;
		const char *why = NULL;
		int rc = ix_pattern_atoms(
		    cases[i].pattern, strlen(cases[i].pattern), a, &n, &why);
		assert_int_equal(rc, ST_EINVAL);
		assert_non_null(why);
		if (strstr(why, cases[i].why) == NULL)
			fail_msg("%s: '%s' does not say '%s'", cases[i].pattern,
				 why, cases[i].why);
		assert_int_equal(n, 0);
	}
}

static struct ix_atom atom(const char *pattern)
{
	struct ix_atom a[IX_ATOMS_MAX];
	size_t n = 0;
	const char *why;
	assert_int_equal(
	    ix_pattern_atoms(pattern, strlen(pattern), a, &n, &why), ST_OK);
	return a[0];
}

static void test_which_format_holds_what(void **state)
{
	(void)state;
	struct ix_atom ip = atom("[ipv4-addr:value = '192.0.2.1']");
	struct ix_atom dom = atom("[domain-name:value = 'a.example']");
	struct ix_atom http = atom("[url:value = 'http://a.example/x']");
	struct ix_atom https = atom("[url:value = 'https://a.example/x']");
	struct ix_atom port = atom("[url:value = 'http://a.example:8080/x']");
	struct ix_atom md5 =
	    atom("[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']");
	struct ix_atom sha512 = atom(
	    "[file:hashes.'SHA-512' = "
	    "'ababababababababababababababababababababababababababababababab"
	    "ababababababababababababababababababababababababababababababab"
	    "abab']");
	struct ix_atom mail = atom("[email-addr:value = 'x@a.example']");
	struct ix_atom odd = atom("[domain-name:value = 'a b.example']");
	const char *why;
	/* zeek */
	assert_true(ix_expressible(IX_FMT_ZEEK, &ip, &why));
	assert_true(ix_expressible(IX_FMT_ZEEK, &http, &why));
	assert_false(ix_expressible(IX_FMT_ZEEK, &https, &why));
	assert_false(ix_expressible(IX_FMT_ZEEK, &port, &why));
	assert_true(ix_expressible(IX_FMT_ZEEK, &md5, &why));
	assert_false(ix_expressible(IX_FMT_ZEEK, &sha512, &why));
	assert_true(ix_expressible(IX_FMT_ZEEK, &mail, &why));
	/* suricata */
	assert_true(ix_expressible(IX_FMT_SURICATA, &dom, &why));
	assert_false(ix_expressible(IX_FMT_SURICATA, &md5, &why));
	assert_false(ix_expressible(IX_FMT_SURICATA, &mail, &why));
	/* rpz: DNS names only */
	assert_true(ix_expressible(IX_FMT_RPZ, &dom, &why));
	assert_false(ix_expressible(IX_FMT_RPZ, &ip, &why));
	assert_false(ix_expressible(IX_FMT_RPZ, &odd, &why));
	assert_string_equal(why, "not a DNS name");
	/* blocklist and csv hold every kind */
	struct ix_atom all[] = {ip, dom, http, https, md5, sha512, mail};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		assert_true(ix_expressible(IX_FMT_BLOCKLIST, &all[i], &why));
		assert_true(ix_expressible(IX_FMT_CSV, &all[i], &why));
	}
	/* formats by name */
	assert_int_equal(ix_format_parse("zeek-intel"), IX_FMT_ZEEK);
	assert_int_equal(ix_format_parse("suricata"), IX_FMT_SURICATA);
	assert_int_equal(ix_format_parse("snort"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_disjunctions_come_apart),
	    cmocka_unit_test(test_what_does_not_come_apart),
	    cmocka_unit_test(test_which_format_holds_what),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
