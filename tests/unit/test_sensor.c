/*
 * Unit tests of src/interop/sensor.c: which patterns come apart into
 * values (and the reason for each that does not), the values normalised,
 * the common shape taken apart without the parser to the same atoms,
 * which format holds which kind of value exactly, and the lines of a
 * Suricata dataset.
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
	assert_int_equal(ix_export_fmt_parse("zeek-intel"), IX_FMT_ZEEK);
	assert_int_equal(ix_export_fmt_parse("suricata"), IX_FMT_SURICATA);
	assert_int_equal(ix_export_fmt_parse("snort"), -1);
}

/* The same pattern spaced otherwise: the parser's road, not the quick
 * one for the common shape. */
static void respace(const char *in, char *out, size_t cap)
{
	size_t o = 0;
	for (; *in && o + 3 < cap; in++) {
		out[o++] = *in;
		if (*in == ' ' && in[1] != '\0' && strchr("=O", in[1]))
			out[o++] = ' ';
	}
	out[o] = '\0';
}

static void test_quick_road_agrees_with_the_parser(void **state)
{
	(void)state;
	static const char *const cases[] = {
	    "[ipv4-addr:value = '198.51.100.7']",
	    "[ipv6-addr:value = '2001:DB8:0:0::7']",
	    "[domain-name:value = 'A.Example.COM']",
	    "[url:value = 'http://x.example/p?q=1']",
	    "[email-addr:value = 'X@Example.NET']",
	    "[file:hashes.MD5 = 'D41D8CD98F00B204E9800998ECF8427E']",
	    "[file:hashes.'SHA-1' = "
	    "'da39a3ee5e6b4b0d3255bfef95601890afd80709']",
	    "[file:hashes.'SHA-256' = "
	    "'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'"
	    "]",
	    "[x509-certificate:hashes.'SHA-1' = "
	    "'a9993e364706816aba3e25717850c26c9cd0d89d']",
	    "[ipv4-addr:value = '10.0.0.1'] OR [ipv4-addr:value = '10.0.0.2'] "
	    "OR [domain-name:value = 'c.example']",
	    /* what add_atom refuses, for the same reason either way */
	    "[ipv4-addr:value = '10.0.0.0/8']",
	    "[ipv4-addr:value = '999.1.1.1']",
	    "[file:hashes.MD5 = 'abc']",
	    "[domain-name:value = '']",
	    "[ipv4-addr:value = '10.0.0.1'] OR [file:hashes.MD5 = 'xyz']",
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char other[512];
		respace(cases[i], other, sizeof(other));
		assert_string_not_equal(cases[i], other);
		struct ix_atom a[IX_ATOMS_MAX], b[IX_ATOMS_MAX];
		size_t na = 99, nb = 98;
		const char *wa = NULL, *wb = NULL;
		int ra =
		    ix_pattern_atoms(cases[i], strlen(cases[i]), a, &na, &wa);
		int rb = ix_pattern_atoms(other, strlen(other), b, &nb, &wb);
		if (ra != rb)
			fail_msg("%s: %d, respaced %d", cases[i], ra, rb);
		if (ra != ST_OK) {
			assert_string_equal(wa, wb);
			continue;
		}
		assert_int_equal(na, nb);
		for (size_t j = 0; j < na; j++) {
			assert_int_equal(a[j].kind, b[j].kind);
			assert_int_equal(a[j].len, b[j].len);
			assert_int_equal(a[j].len, strlen(a[j].value));
			assert_string_equal(a[j].value, b[j].value);
			assert_memory_equal(&a[j].ip, &b[j].ip,
					    sizeof(a[j].ip));
		}
	}
}

struct line_case {
	const char *pattern;
	const char *line; /* NULL: no dataset line */
};

static void test_dataset_lines(void **state)
{
	(void)state;
	static const struct line_case cases[] = {
	    /* base64 of the name, with each amount of padding */
	    {"[domain-name:value = 'Evil.Example.NET']",
	     "ZXZpbC5leGFtcGxlLm5ldA=="},
	    {"[domain-name:value = 'a.bc']", "YS5iYw=="},
	    {"[domain-name:value = 'ab.cd']", "YWIuY2Q="},
	    {"[domain-name:value = 'a.b']", "YS5i"},
	    /* "a9:99:3e:...:9d", as tls.cert_fingerprint holds it */
	    {"[x509-certificate:hashes.'SHA-1' = "
	     "'A9993E364706816ABA3E25717850C26C9CD0D89D']",
	     "YTk6OTk6M2U6MzY6NDc6MDY6ODE6NmE6YmE6M2U6MjU6NzE6Nzg6NTA6YzI6NmM6"
	     "OWM6ZDA6ZDg6OWQ="},
	    {"[ipv4-addr:value = '192.0.2.1']", "192.0.2.1"},
	    {"[ipv6-addr:value = '2001:DB8::1']", "2001:db8::1"},
	    {"[file:hashes.MD5 = 'D41D8CD98F00B204E9800998ECF8427E']",
	     "d41d8cd98f00b204e9800998ecf8427e"},
	    {"[url:value = 'http://a.example/']", NULL},
	    {"[ipv4-addr:value ISSUBSET '192.0.2.0/24']", NULL},
	    {"[email-addr:value = 'x@a.example']", NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ix_atom a = atom(cases[i].pattern);
		char out[256];
		size_t n = ix_dataset_line(&a, out, sizeof(out));
		if (cases[i].line == NULL) {
			assert_int_equal(n, 0);
			continue;
		}
		assert_int_equal(n, strlen(cases[i].line));
		assert_string_equal(out, cases[i].line);
		/* no room: nothing, never a cut line */
		assert_int_equal(ix_dataset_line(&a, out, n), 0);
		assert_int_equal(ix_dataset_line(&a, out, n + 1), n);
	}
}

static void test_what_a_dataset_holds(void **state)
{
	(void)state;
	static const struct {
		const char *pattern;
		const char *why; /* NULL: held */
	} cases[] = {
	    {"[ipv4-addr:value = '192.0.2.1']", NULL},
	    {"[ipv6-addr:value = '2001:db8::1']", NULL},
	    {"[domain-name:value = 'a.example']", NULL},
	    {"[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']", NULL},
	    {"[file:hashes.'SHA-1' = "
	     "'da39a3ee5e6b4b0d3255bfef95601890afd80709']",
	     NULL},
	    {"[x509-certificate:hashes.'SHA-1' = "
	     "'a9993e364706816aba3e25717850c26c9cd0d89d']",
	     NULL},
	    /* Suricata's ip set keeps these as IPv4 addresses */
	    {"[ipv6-addr:value = '::ffff:192.0.2.1']", "for an IPv4 one"},
	    {"[ipv6-addr:value = '102:304::']", "for an IPv4 one"},
	    {"[ipv4-addr:value ISSUBSET '192.0.2.0/24']", "a prefix"},
	    {"[url:value = 'http://a.example/']", "a URL"},
	    {"[email-addr:value = 'x@a.example']", "email"},
	    {"[domain-name:value = 'a b.example']", "not a DNS name"},
	    {"[file:hashes.'SHA-512' = "
	     "'ababababababababababababababababababababababababababababababab"
	     "ababababababababababababababababababababababababababababababab"
	     "abab']",
	     "SHA-512"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ix_atom a = atom(cases[i].pattern);
		const char *why = NULL;
		bool held = ix_expressible(IX_FMT_SURICATA_DATASET, &a, &why);
		if (cases[i].why == NULL) {
			if (!held)
				fail_msg("%s: %s", cases[i].pattern, why);
			continue;
		}
		assert_false(held);
		if (strstr(why, cases[i].why) == NULL)
			fail_msg("%s: '%s' does not say '%s'", cases[i].pattern,
				 why, cases[i].why);
	}
	assert_int_equal(ix_export_fmt_parse("suricata-dataset"),
			 IX_FMT_SURICATA_DATASET);
	assert_string_equal(IX_DS_FILES[IX_DS_NFILES - 1], "datasets.rules");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_disjunctions_come_apart),
	    cmocka_unit_test(test_what_does_not_come_apart),
	    cmocka_unit_test(test_which_format_holds_what),
	    cmocka_unit_test(test_quick_road_agrees_with_the_parser),
	    cmocka_unit_test(test_dataset_lines),
	    cmocka_unit_test(test_what_a_dataset_holds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
