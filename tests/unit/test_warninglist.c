/*
 * Unit tests of MISP warninglists (src/pattern/warninglist.c): each list
 * type, matching_attributes, the order lists are consulted in, the
 * shipped starter set, and the refusal of malformed lists (with the file
 * and the reason named, and nothing of the file kept).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/err.h"
#include "common/ip.h"
#include "pattern/warninglist.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A list document of the given type; attrs is the JSON array text of
 * matching_attributes, or NULL for none. */
static char *doc(const char *name, const char *type, const char *attrs,
		 const char *entries)
{
	static char buf[8192];

	snprintf(buf, sizeof(buf),
		 "{\"name\": \"%s\", \"version\": 3, \"description\": \"t\", "
		 "\"type\": \"%s\"%s%s, \"list\": [%s]}",
		 name, type, attrs ? ", \"matching_attributes\": " : "",
		 attrs ? attrs : "", entries);
	return buf;
}

static struct wl_set *set_of(const char *name, const char *type,
			     const char *attrs, const char *entries)
{
	struct wl_set *s = wl_set_new();
	struct diag d = {""};
	const char *j = doc(name, type, attrs, entries);

	assert_non_null(s);
	if (wl_set_load_mem(s, "test.json", j, strlen(j), &d) != ST_OK)
		fail_msg("load: %s", d.msg);
	return s;
}

static const char *check(const struct wl_set *s, enum wl_kind k, const char *v)
{
	return wl_check(s, k, v, strlen(v));
}

/* One expectation: value v of kind k hits (the only list) or not. */
struct want {
	enum wl_kind k;
	const char *v;
	bool hit;
};

static void expect(const struct wl_set *s, const char *list,
		   const struct want *w, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *got = check(s, w[i].k, w[i].v);
		if (w[i].hit && (got == NULL || strcmp(got, list) != 0))
			fail_msg("%s (kind %d) should hit %s", w[i].v,
				 (int)w[i].k, list);
		if (!w[i].hit && got != NULL)
			fail_msg("%s (kind %d) should not hit, hit %s", w[i].v,
				 (int)w[i].k, got);
	}
}

#define EXPECT(s, list, arr) expect(s, list, arr, sizeof(arr) / sizeof(arr[0]))

static struct ip_prefix pfx(const char *s)
{
	struct ip_prefix p;

	if (!ip_parse(s, strlen(s), &p))
		fail_msg("bad prefix in test: %s", s);
	return p;
}

/* ------------------------------------------------------------------ */
/* The list types                                                       */
/* ------------------------------------------------------------------ */

static void test_cidr(void **state)
{
	(void)state;
	struct wl_set *s =
	    set_of("C", "cidr", NULL,
		   "\"10.0.0.0/8\", \"192.0.2.1\", \"2001:db8::/32\", "
		   "\"172.16.5.77/12\"");
	static const struct want w[] = {
	    {WL_KIND_IP, "10.1.2.3", true},
	    {WL_KIND_IP, "10.255.255.255", true},
	    {WL_KIND_IP, "11.0.0.0", false},
	    {WL_KIND_IP, "9.255.255.255", false},
	    /* A listed address is a /32. */
	    {WL_KIND_IP, "192.0.2.1", true},
	    {WL_KIND_IP, "192.0.2.2", false},
	    {WL_KIND_IP, "192.0.2.1/32", true},
	    {WL_KIND_IP, "192.0.2.0/31", false},
	    /* A CIDR value must lie inside a listed block. */
	    {WL_KIND_IP, "10.20.0.0/16", true},
	    {WL_KIND_IP, "10.0.0.0/8", true},
	    {WL_KIND_IP, "10.0.0.0/7", false},
	    {WL_KIND_IP, "2001:db8::1", true},
	    {WL_KIND_IP, "2001:DB8:ffff::/48", true},
	    {WL_KIND_IP, "2001:db9::1", false},
	    /* Host bits of a listed block are ignored: 172.16.0.0/12. */
	    {WL_KIND_IP, "172.31.0.1", true},
	    {WL_KIND_IP, "::ffff:10.1.2.3", false},
	    {WL_KIND_IP, "not an address", false},
	    {WL_KIND_IP, "", false},
	    /* A URL's host. */
	    {WL_KIND_URL, "http://10.1.2.3:8080/x", true},
	    {WL_KIND_URL, "https://user:pw@10.1.2.3/", true},
	    {WL_KIND_URL, "http://[2001:db8::5]:443/a?b#c", true},
	    {WL_KIND_URL, "10.9.9.9/path", true},
	    {WL_KIND_URL, "http://11.1.2.3/10.1.2.3", false},
	    {WL_KIND_URL, "http://example.com/", false},
	    /* Not for other kinds unless matching_attributes says so. */
	    {WL_KIND_DOMAIN, "10.1.2.3", false},
	    {WL_KIND_OTHER, "10.1.2.3", false},
	};
	EXPECT(s, "C", w);

	struct ip_prefix p = pfx("10.0.0.0/7");
	assert_string_equal(wl_check_prefix(s, &p), "C"); /* overlaps */
	p = pfx("192.0.2.0/24");
	assert_string_equal(wl_check_prefix(s, &p), "C");
	p = pfx("11.0.0.0/8");
	assert_null(wl_check_prefix(s, &p));
	p = pfx("2001:db8:1::/48");
	assert_string_equal(wl_check_prefix(s, &p), "C");
	p = pfx("::/0");
	assert_string_equal(wl_check_prefix(s, &p), "C");
	assert_int_equal(wl_set_lists(s), 1);
	assert_int_equal(wl_set_entries(s), 4);
	wl_set_free(s);
}

static void test_string(void **state)
{
	(void)state;
	struct wl_set *s =
	    set_of("S", "string", NULL,
		   "\"Example.com\", \"d41d8cd98f00b204e9800998ecf8427e\", "
		   "\"http://x.test/A\", \"alice@example.org\", "
		   "\"2001:DB8::1\"");
	static const struct want w[] = {
	    /* Case does not matter for names, addresses and hashes... */
	    {WL_KIND_DOMAIN, "example.com", true},
	    {WL_KIND_DOMAIN, "EXAMPLE.COM", true},
	    {WL_KIND_HASH, "D41D8CD98F00B204E9800998ECF8427E", true},
	    {WL_KIND_EMAIL, "Alice@Example.org", true},
	    {WL_KIND_IP, "2001:db8::1", true},
	    /* ...but does for URLs and other values. */
	    {WL_KIND_URL, "http://x.test/A", true},
	    {WL_KIND_URL, "http://x.test/a", false},
	    {WL_KIND_OTHER, "Example.com", true},
	    {WL_KIND_OTHER, "example.com", false},
	    /* Exact: no subdomains, prefixes or suffixes. */
	    {WL_KIND_DOMAIN, "www.example.com", false},
	    {WL_KIND_DOMAIN, "example.co", false},
	    {WL_KIND_DOMAIN, "example.comm", false},
	    {WL_KIND_HASH, "d41d8cd98f00b204e9800998ecf8427", false},
	    {WL_KIND_DOMAIN, "", false},
	};
	EXPECT(s, "S", w);
	wl_set_free(s);
}

static void test_hostname(void **state)
{
	(void)state;
	struct wl_set *s =
	    set_of("H", "hostname", NULL,
		   "\"example.com\", \"*.test\", \".invalid\", \"Local.\", "
		   "\"xn--bcher-kva.example\"");
	static const struct want w[] = {
	    {WL_KIND_DOMAIN, "example.com", true},
	    {WL_KIND_DOMAIN, "www.example.com", true},
	    {WL_KIND_DOMAIN, "a.b.c.example.com", true},
	    {WL_KIND_DOMAIN, "WWW.Example.COM.", true},
	    {WL_KIND_DOMAIN, "notexample.com", false},
	    {WL_KIND_DOMAIN, "example.com.evil.net", false},
	    {WL_KIND_DOMAIN, "com", false},
	    {WL_KIND_DOMAIN, "foo.test", true},
	    {WL_KIND_DOMAIN, "test", true},
	    {WL_KIND_DOMAIN, "contest", false},
	    {WL_KIND_DOMAIN, "x.invalid", true},
	    {WL_KIND_DOMAIN, "printer.local", true},
	    {WL_KIND_DOMAIN, "printer.local.", true},
	    {WL_KIND_DOMAIN, "www.xn--bcher-kva.example", true},
	    {WL_KIND_DOMAIN, ".", false},
	    {WL_KIND_DOMAIN, "", false},
	    /* URLs: the host only. */
	    {WL_KIND_URL, "https://user@www.example.com:443/p?q#f", true},
	    {WL_KIND_URL, "HTTP://EXAMPLE.COM", true},
	    {WL_KIND_URL, "//cdn.example.com/x.js", true},
	    {WL_KIND_URL, "www.example.com/path", true},
	    {WL_KIND_URL, "https://example.com./", true},
	    {WL_KIND_URL, "https://evil.net/?u=www.example.com", false},
	    {WL_KIND_URL, "https://evil.net/example.com", false},
	    {WL_KIND_URL, "https://example.com@evil.net/", false},
	    {WL_KIND_URL, "https://evil.net#@example.com", false},
	    {WL_KIND_URL, "https://evil.net/x@example.com", false},
	    {WL_KIND_URL, "https://evil.net?@www.example.com", false},
	    /* E-mail: the domain. */
	    {WL_KIND_EMAIL, "alice@mail.example.com", true},
	    {WL_KIND_EMAIL, "example.com@evil.net", false},
	    /* Not for IP or hash values by default. */
	    {WL_KIND_IP, "example.com", false},
	    {WL_KIND_HASH, "example.com", false},
	};
	EXPECT(s, "H", w);
	assert_int_equal(wl_set_entries(s), 5);
	wl_set_free(s);
}

static void test_substring(void **state)
{
	(void)state;
	struct wl_set *s =
	    set_of("U", "substring", NULL, "\"tracking\", \"Evil\"");
	static const struct want w[] = {
	    {WL_KIND_URL, "http://a.example/tracking/x", true},
	    {WL_KIND_URL, "tracking", true},
	    {WL_KIND_URL, "http://a.example/trackin", false},
	    {WL_KIND_DOMAIN, "www.EVIL.net", true},
	    {WL_KIND_DOMAIN, "TRACKING.example", true},
	    {WL_KIND_URL, "http://evil.net/", false}, /* URLs keep case */
	    {WL_KIND_URL, "http://Evil.net/", true},
	    {WL_KIND_OTHER, "an Evil thing", true},
	    {WL_KIND_OTHER, "", false},
	};
	EXPECT(s, "U", w);
	wl_set_free(s);
}

static void test_regex(void **state)
{
	(void)state;
	struct wl_set *s =
	    set_of("R", "regex", NULL,
		   "\"/^ad[0-9]+\\\\.example\\\\.net$/i\", \"^cdn-[a-z]+$\", "
		   "\"#^/api/v[0-9]#\", \"/^(a+)+$/\", \"~^x.y$~s\", "
		   "\"/path/to\"");
	static const struct want w[] = {
	    {WL_KIND_DOMAIN, "ad12.example.net", true},
	    {WL_KIND_DOMAIN, "AD7.EXAMPLE.NET", true}, /* flag i */
	    {WL_KIND_DOMAIN, "ad.example.net", false},
	    {WL_KIND_DOMAIN, "xad1.example.net", false},
	    {WL_KIND_OTHER, "cdn-abc", true},
	    {WL_KIND_OTHER, "cdn-ABC", false},
	    {WL_KIND_URL, "/api/v2/users", true}, /* delimiter # */
	    {WL_KIND_OTHER, "x\ny", true},	  /* flag s */
	    /* Not delimited ("to" is no set of flags): a bare pattern. */
	    {WL_KIND_URL, "http://h/path/to/x", true},
	    {WL_KIND_OTHER, "aaaa", true},
	    /* Catastrophic backtracking reaches the match limit: no hit,
	     * and no stall. */
	    {WL_KIND_OTHER, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab",
	     false},
	};
	EXPECT(s, "R", w);
	wl_set_free(s);
}

static void test_matching_attributes(void **state)
{
	(void)state;
	struct wl_set *s;

	/* cidr, IP sources only: URLs no longer. */
	s = set_of("C", "cidr", "[\"ip-src\"]", "\"10.0.0.0/8\"");
	static const struct want c[] = {
	    {WL_KIND_IP, "10.0.0.1", true},
	    {WL_KIND_URL, "http://10.0.0.1/", false},
	};
	EXPECT(s, "C", c);
	wl_set_free(s);

	/* cidr applied to domains as well. */
	s = set_of("C", "cidr", "[\"domain|ip\"]", "\"10.0.0.0/8\"");
	static const struct want c2[] = {
	    {WL_KIND_IP, "10.0.0.1", true},
	    {WL_KIND_DOMAIN, "10.0.0.1", true},
	    {WL_KIND_URL, "http://10.0.0.1/", false},
	};
	EXPECT(s, "C", c2);
	wl_set_free(s);

	/* string for hashes only. */
	s = set_of("S", "string", "[\"md5\", \"filename|sha256\"]",
		   "\"d41d8cd98f00b204e9800998ecf8427e\"");
	static const struct want h[] = {
	    {WL_KIND_HASH, "d41d8cd98f00b204e9800998ecf8427e", true},
	    {WL_KIND_OTHER, "d41d8cd98f00b204e9800998ecf8427e", false},
	    {WL_KIND_DOMAIN, "d41d8cd98f00b204e9800998ecf8427e", false},
	};
	EXPECT(s, "S", h);
	wl_set_free(s);

	/* hostname for URLs only. */
	s = set_of("H", "hostname", "[\"url\", \"link\"]", "\"example.com\"");
	static const struct want u[] = {
	    {WL_KIND_URL, "https://www.example.com/", true},
	    {WL_KIND_DOMAIN, "www.example.com", false},
	    {WL_KIND_EMAIL, "a@example.com", false},
	};
	EXPECT(s, "H", u);
	wl_set_free(s);

	/* Types strait has no kind for are WL_KIND_OTHER. */
	s = set_of("O", "string", "[\"btc\", \"AS\"]", "\"AS13335\"");
	static const struct want o[] = {
	    {WL_KIND_OTHER, "AS13335", true},
	    {WL_KIND_DOMAIN, "AS13335", false},
	};
	EXPECT(s, "O", o);
	wl_set_free(s);

	/* An empty array restricts nothing. */
	s = set_of("E", "substring", "[]", "\"evil\"");
	static const struct want e[] = {
	    {WL_KIND_IP, "evil", true},
	    {WL_KIND_HASH, "evil", true},
	    {WL_KIND_URL, "evil", true},
	};
	EXPECT(s, "E", e);
	wl_set_free(s);

	/* Out-of-range kinds hit nothing. */
	assert_null(wl_check(s = set_of("A", "substring", NULL, "\"a\""),
			     (enum wl_kind)99, "a", 1));
	wl_set_free(s);
}

/* The first list in load order wins, whatever the types. */
static void test_first_list(void **state)
{
	(void)state;
	struct wl_set *s = wl_set_new();
	static const struct {
		const char *name, *type, *entries;
	} lists[] = {
	    {"first-substring", "substring", "\"zzz\""},
	    {"second-string", "string", "\"www.example.com\""},
	    {"third-hostname", "hostname", "\"example.com\", \"zzz.example\""},
	    {"fourth-regex", "regex", "\"example\""},
	    {"fifth-cidr", "cidr", "\"10.0.0.0/8\""},
	    {"sixth-cidr", "cidr", "\"10.1.0.0/16\", \"0.0.0.0/0\""},
	    {"seventh-hostname", "hostname", "\"com\""},
	};
	struct diag d;

	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		const char *j =
		    doc(lists[i].name, lists[i].type, NULL, lists[i].entries);
		assert_int_equal(wl_set_load_mem(s, "x", j, strlen(j), &d),
				 ST_OK);
	}
	assert_string_equal(check(s, WL_KIND_DOMAIN, "www.example.com"),
			    "second-string");
	assert_string_equal(check(s, WL_KIND_DOMAIN, "a.example.com"),
			    "third-hostname");
	assert_string_equal(check(s, WL_KIND_DOMAIN, "zzz.example"),
			    "first-substring");
	assert_string_equal(check(s, WL_KIND_OTHER, "an example"),
			    "fourth-regex");
	assert_string_equal(check(s, WL_KIND_DOMAIN, "github.com"),
			    "seventh-hostname");
	assert_string_equal(check(s, WL_KIND_IP, "10.1.2.3"), "fifth-cidr");
	assert_string_equal(check(s, WL_KIND_IP, "11.1.2.3"), "sixth-cidr");
	struct ip_prefix p = pfx("10.1.2.0/24");
	assert_string_equal(wl_check_prefix(s, &p), "fifth-cidr");
	p = pfx("0.0.0.0/0");
	assert_string_equal(wl_check_prefix(s, &p), "fifth-cidr");
	assert_int_equal(wl_set_lists(s), 7);
	assert_int_equal(wl_set_entries(s), 9);
	wl_set_free(s);
}

/* ------------------------------------------------------------------ */
/* The starter set                                                      */
/* ------------------------------------------------------------------ */

static int is_json(const struct dirent *e)
{
	size_t n = strlen(e->d_name);
	return n > 5 && strcmp(e->d_name + n - 5, ".json") == 0;
}

static void test_starter_set(void **state)
{
	(void)state;
	struct dirent **names;
	struct diag d = {""};
	char path[4096];
	int n = scandir(WARNINGLIST_DIR, &names, is_json, alphasort);

	assert_true(n >= 10);
	/* Each file loads on its own. */
	for (int i = 0; i < n; i++) {
		struct wl_set *one = wl_set_new();
		snprintf(path, sizeof(path), "%s/%s", WARNINGLIST_DIR,
			 names[i]->d_name);
		if (wl_set_load_file(one, path, &d) != ST_OK)
			fail_msg("%s", d.msg);
		assert_int_equal(wl_set_lists(one), 1);
		assert_true(wl_set_entries(one) > 0);
		wl_set_free(one);
		free(names[i]);
	}
	free(names);

	struct wl_set *s = wl_set_new();
	if (wl_set_load_dir(s, WARNINGLIST_DIR, &d) != ST_OK)
		fail_msg("%s", d.msg);
	assert_int_equal(wl_set_lists(s), (size_t)n);

	static const struct {
		enum wl_kind k;
		const char *v;
		const char *list; /* a word of the list's name, or NULL */
	} cases[] = {
	    {WL_KIND_IP, "10.1.2.3", "RFC 1918"},
	    {WL_KIND_IP, "172.31.255.255", "RFC 1918"},
	    {WL_KIND_IP, "192.168.1.1", "RFC 1918"},
	    {WL_KIND_IP, "100.64.1.1", "RFC 6598"},
	    {WL_KIND_IP, "fd12:3456::1", "RFC 4193"},
	    {WL_KIND_IP, "2001:db8::1", "Documentation"},
	    {WL_KIND_IP, "192.0.2.55", "Documentation"},
	    {WL_KIND_IP, "198.51.100.7", "Documentation"},
	    {WL_KIND_IP, "203.0.113.200", "Documentation"},
	    {WL_KIND_IP, "127.0.0.1", "Loopback"},
	    {WL_KIND_IP, "::1", "Loopback"},
	    {WL_KIND_IP, "239.1.2.3", "Multicast"},
	    {WL_KIND_IP, "ff02::1", "Multicast"},
	    {WL_KIND_IP, "0.1.2.3", "Special-purpose IPv4"},
	    {WL_KIND_IP, "169.254.169.254", "Special-purpose IPv4"},
	    {WL_KIND_IP, "255.255.255.255", "Special-purpose IPv4"},
	    {WL_KIND_IP, "250.1.1.1", "Special-purpose IPv4"},
	    {WL_KIND_IP, "fe80::1", "Special-purpose IPv6"},
	    {WL_KIND_IP, "::", "Special-purpose IPv6"},
	    {WL_KIND_IP, "8.8.8.8", "DNS"},
	    {WL_KIND_IP, "8.8.4.4", "DNS"},
	    {WL_KIND_IP, "1.1.1.1", "DNS"},
	    {WL_KIND_IP, "9.9.9.9", "DNS"},
	    {WL_KIND_IP, "2606:4700:4700::1111", "DNS"},
	    {WL_KIND_IP, "208.67.222.222", "DNS"},
	    {WL_KIND_URL, "http://192.168.0.1/admin", "RFC 1918"},
	    {WL_KIND_DOMAIN, "www.example.com", "Reserved"},
	    {WL_KIND_DOMAIN, "example.org", "Reserved"},
	    {WL_KIND_DOMAIN, "foo.test", "Reserved"},
	    {WL_KIND_DOMAIN, "LOCALHOST", "Reserved"},
	    {WL_KIND_DOMAIN, "nas.home.arpa", "Reserved"},
	    {WL_KIND_DOMAIN, "printer.local.", "Reserved"},
	    {WL_KIND_URL, "https://www.example.net/x", "Reserved"},
	    {WL_KIND_EMAIL, "someone@example.com", "Reserved"},
	    {WL_KIND_DOMAIN, "abcdefghijklmnop.onion", "onion"},
	    /* Ordinary values hit nothing. */
	    {WL_KIND_IP, "175.45.176.1", NULL},
	    {WL_KIND_IP, "8.8.8.9", NULL},
	    {WL_KIND_IP, "1.1.1.4", NULL},
	    {WL_KIND_IP, "2a00:1450:4001::1", NULL},
	    {WL_KIND_IP, "172.32.0.1", NULL},
	    {WL_KIND_IP, "100.128.0.1", NULL},
	    {WL_KIND_DOMAIN, "wikipedia.org", NULL},
	    {WL_KIND_DOMAIN, "examples.com", NULL},
	    {WL_KIND_DOMAIN, "test.com", NULL},
	    {WL_KIND_URL, "https://www.wikipedia.org/wiki/Example.com", NULL},
	    {WL_KIND_EMAIL, "someone@wikipedia.org", NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = check(s, cases[i].k, cases[i].v);
		if (cases[i].list == NULL && got != NULL)
			fail_msg("%s should hit nothing, hit '%s'", cases[i].v,
				 got);
		if (cases[i].list != NULL &&
		    (got == NULL || strstr(got, cases[i].list) == NULL))
			fail_msg("%s should hit '%s', hit '%s'", cases[i].v,
				 cases[i].list, got ? got : "nothing");
	}
	struct ip_prefix p = pfx("10.0.0.0/16");
	assert_non_null(wl_check_prefix(s, &p));
	p = pfx("0.0.0.0/0");
	assert_non_null(wl_check_prefix(s, &p));
	p = pfx("175.45.176.0/22");
	assert_null(wl_check_prefix(s, &p));

	/* Loading the same lists again is refused, and changes nothing. */
	size_t entries = wl_set_entries(s);
	assert_int_equal(wl_set_load_dir(s, WARNINGLIST_DIR, &d), ST_EEXIST);
	assert_non_null(strstr(d.msg, "loaded already"));
	assert_int_equal(wl_set_lists(s), (size_t)n);
	assert_int_equal(wl_set_entries(s), entries);
	wl_set_free(s);
}

/* ------------------------------------------------------------------ */
/* Malformed lists                                                      */
/* ------------------------------------------------------------------ */

#define OK_HEAD "\"name\": \"N\", \"version\": 1, \"description\": \"d\", "

static void test_malformed(void **state)
{
	(void)state;
	static char big[WL_MAX_ENTRY + 200],
	    many[(WL_MAX_SCAN_ENTRIES + 1) * 4 + 200];
	static const struct {
		const char *json;
		int rc;
		const char *why; /* in the message */
	} cases[] = {
	    {"{", ST_EJSON, ""},
	    {"", ST_EJSON, ""},
	    {"[]", ST_EINVAL, "expected an object, found array"},
	    {"{\"version\": 1, \"description\": \"d\", \"type\": \"cidr\", "
	     "\"list\": []}",
	     ST_EINVAL, "'name'"},
	    {"{\"name\": \"\", \"version\": 1, \"description\": \"d\", "
	     "\"type\": \"cidr\", \"list\": []}",
	     ST_EINVAL, "'name'"},
	    {"{\"name\": 5, \"version\": 1, \"description\": \"d\", "
	     "\"type\": \"cidr\", \"list\": []}",
	     ST_EINVAL, "'name'"},
	    {"{\"name\": \"a\\u0000b\", \"version\": 1, \"description\": "
	     "\"d\", \"type\": \"cidr\", \"list\": []}",
	     ST_EINVAL, "NUL"},
	    {"{\"name\": \"N\", \"description\": \"d\", \"type\": \"cidr\", "
	     "\"list\": []}",
	     ST_EINVAL, "'version'"},
	    {"{\"name\": \"N\", \"version\": 1.5, \"description\": \"d\", "
	     "\"type\": \"cidr\", \"list\": []}",
	     ST_EINVAL, "'version'"},
	    {"{\"name\": \"N\", \"version\": -1, \"description\": \"d\", "
	     "\"type\": \"cidr\", \"list\": []}",
	     ST_EINVAL, "'version'"},
	    {"{\"name\": \"N\", \"version\": \"1\", \"description\": \"d\", "
	     "\"type\": \"cidr\", \"list\": []}",
	     ST_EINVAL, "'version'"},
	    {"{\"name\": \"N\", \"version\": 1, \"type\": \"cidr\", "
	     "\"list\": []}",
	     ST_EINVAL, "'description'"},
	    {"{" OK_HEAD "\"list\": []}", ST_EINVAL, "'type'"},
	    {"{" OK_HEAD "\"type\": \"ip\", \"list\": []}", ST_EINVAL,
	     "'type'"},
	    {"{" OK_HEAD "\"type\": [\"cidr\"], \"list\": []}", ST_EINVAL,
	     "'type'"},
	    {"{" OK_HEAD "\"type\": \"cidr\"}", ST_EINVAL, "'list'"},
	    {"{" OK_HEAD "\"type\": \"cidr\", \"list\": \"10.0.0.0/8\"}",
	     ST_EINVAL, "'list'"},
	    {"{" OK_HEAD "\"type\": \"cidr\", \"list\": [], \"lists\": []}",
	     ST_EINVAL, "unknown member 'lists'"},
	    {"{" OK_HEAD "\"type\": \"cidr\", \"list\": [], "
	     "\"matching_attributes\": \"ip-src\"}",
	     ST_EINVAL, "'matching_attributes'"},
	    {"{" OK_HEAD "\"type\": \"cidr\", \"list\": [], "
	     "\"matching_attributes\": [\"ip-src\", 4]}",
	     ST_EINVAL, "matching_attributes[1]: expected a string"},
	    {"{" OK_HEAD "\"type\": \"cidr\", \"list\": [\"10.0.0.0/8\", 7]}",
	     ST_EINVAL, "list[1]: expected a string, found number"},
	    {"{" OK_HEAD "\"type\": \"string\", \"list\": [\"a\", \"\"]}",
	     ST_EINVAL, "list[1]: empty entry"},
	    {"{" OK_HEAD "\"type\": \"string\", \"list\": [\"a\\u0000b\"]}",
	     ST_EINVAL, "list[0]: contains a NUL"},
	    {"{" OK_HEAD "\"type\": \"cidr\", \"list\": [\"10.0.0.0/8\", "
	     "\"192.168.0.0/16\", \"10.0.0.0/33\"]}",
	     ST_EINVAL,
	     "warninglist 'N': list[2]: not an IP address or CIDR block: "
	     "'10.0.0.0/33'"},
	    {"{" OK_HEAD "\"type\": \"cidr\", \"list\": [\"example.com\"]}",
	     ST_EINVAL, "list[0]: not an IP address"},
	    {"{" OK_HEAD "\"type\": \"hostname\", \"list\": [\"ok.example\", "
	     "\"bad host\"]}",
	     ST_EINVAL, "list[1]: not a host name"},
	    {"{" OK_HEAD "\"type\": \"hostname\", \"list\": [\"*.\"]}",
	     ST_EINVAL, "list[0]: not a host name"},
	    {"{" OK_HEAD "\"type\": \"regex\", \"list\": [\"^ok$\", \"(\"]}",
	     ST_EINVAL, "warninglist 'N': list[1]: bad regex '(': missing"},
	    {"{" OK_HEAD "\"type\": \"regex\", \"list\": [\"/a/u\", "
	     "\"/[z-a]/i\"]}",
	     ST_EINVAL, "list[1]: bad regex '/[z-a]/i': range out of order"},
	    {big, ST_ELIMIT, "list[0]: longer than 1024 bytes"},
	    {many, ST_ELIMIT, "substring lists hold at most 10000 entries"},
	};
	struct diag d;
	char *p;

	p = big +
	    sprintf(big, "{" OK_HEAD "\"type\": \"string\", \"list\": [\"");
	memset(p, 'a', WL_MAX_ENTRY + 1);
	strcpy(p + WL_MAX_ENTRY + 1, "\"]}");
	p = many +
	    sprintf(many, "{" OK_HEAD "\"type\": \"substring\", \"list\": [");
	for (unsigned i = 0; i <= WL_MAX_SCAN_ENTRIES; i++)
		p += sprintf(p, "%s\"a\"", i ? "," : "");
	strcpy(p, "]}");

	/* A set holding one list already; no failure may change it. */
	struct wl_set *s = set_of("keep", "hostname", NULL, "\"keep.example\"");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *j = cases[i].json;
		int rc = wl_set_load_mem(s, "bad.json", j, strlen(j), &d);
		if (rc != cases[i].rc)
			fail_msg("case %zu: rc %d (%s), want %d", i, rc, d.msg,
				 cases[i].rc);
		if (strncmp(d.msg, "bad.json: ", 10) != 0 ||
		    strstr(d.msg, cases[i].why) == NULL)
			fail_msg("case %zu: message '%s' lacks '%s'", i, d.msg,
				 cases[i].why);
		assert_int_equal(wl_set_lists(s), 1);
		assert_int_equal(wl_set_entries(s), 1);
	}
	/* Nothing of the valid entries before the bad one was kept. */
	assert_null(check(s, WL_KIND_IP, "10.1.1.1"));
	assert_null(check(s, WL_KIND_IP, "192.168.1.1"));
	assert_null(check(s, WL_KIND_DOMAIN, "ok.example"));
	assert_null(check(s, WL_KIND_OTHER, "ok"));
	assert_string_equal(check(s, WL_KIND_DOMAIN, "a.keep.example"), "keep");

	/* A second list of the same name. */
	const char *j = doc("keep", "cidr", NULL, "\"10.0.0.0/8\"");
	assert_int_equal(wl_set_load_mem(s, "dup.json", j, strlen(j), &d),
			 ST_EEXIST);
	assert_string_equal(d.msg,
			    "dup.json: a list named 'keep' is loaded already");
	assert_null(check(s, WL_KIND_IP, "10.1.1.1"));
	assert_int_equal(wl_set_lists(s), 1);
	wl_set_free(s);
	wl_set_free(NULL);
}

/* ------------------------------------------------------------------ */
/* Files and directories                                                */
/* ------------------------------------------------------------------ */

static void put(const char *dir, const char *name, const char *text)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void test_files(void **state)
{
	(void)state;
	char dir[4096], path[4096];
	const char *tmp = getenv("TMPDIR");
	struct diag d;
	struct wl_set *s;

	snprintf(dir, sizeof(dir), "%s/strait-wl-XXXXXX",
		 tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	/* Written in an order readdir need not keep; loaded by name. */
	put(dir, "b.json", doc("list-b", "cidr", NULL, "\"10.0.0.0/8\""));
	put(dir, "a.json",
	    doc("list-a", "cidr", NULL, "\"10.1.0.0/16\", \"fc00::/7\""));
	put(dir, "c.txt", "not a list");
	put(dir, ".hidden.json", "not a list either");

	s = wl_set_new();
	assert_int_equal(wl_set_load_dir(s, dir, &d), ST_OK);
	assert_int_equal(wl_set_lists(s), 2);
	assert_int_equal(wl_set_entries(s), 3);
	assert_string_equal(check(s, WL_KIND_IP, "10.1.2.3"), "list-a");
	assert_string_equal(check(s, WL_KIND_IP, "10.2.2.3"), "list-b");
	wl_set_free(s);

	/* One bad file: the whole directory is refused, naming it. */
	put(dir, "m.json",
	    doc("list-m", "hostname", NULL, "\"ok.example\", \"no good\""));
	s = wl_set_new();
	assert_int_equal(wl_set_load_dir(s, dir, &d), ST_EINVAL);
	assert_non_null(strstr(d.msg, "/m.json: warninglist 'list-m': "
				      "list[1]: not a host name"));
	assert_int_equal(wl_set_lists(s), 0);
	assert_null(check(s, WL_KIND_IP, "10.1.2.3"));
	assert_null(check(s, WL_KIND_DOMAIN, "ok.example"));

	/* The same file alone, by path. */
	snprintf(path, sizeof(path), "%s/m.json", dir);
	assert_int_equal(wl_set_load_file(s, path, &d), ST_EINVAL);
	assert_true(strncmp(d.msg, path, strlen(path)) == 0);
	snprintf(path, sizeof(path), "%s/a.json", dir);
	assert_int_equal(wl_set_load_file(s, path, &d), ST_OK);
	assert_int_equal(wl_set_lists(s), 1);

	/* Missing files and directories, and a directory as a file. */
	snprintf(path, sizeof(path), "%s/none.json", dir);
	assert_int_equal(wl_set_load_file(s, path, &d), ST_ENOTFOUND);
	assert_non_null(strstr(d.msg, "none.json"));
	snprintf(path, sizeof(path), "%s/none", dir);
	assert_int_equal(wl_set_load_dir(s, path, &d), ST_ENOTFOUND);
	assert_int_equal(wl_set_load_file(s, dir, &d), ST_EINVAL);
	assert_non_null(strstr(d.msg, "not a regular file"));

	/* A file past the size limit is refused before it is read. */
	snprintf(path, sizeof(path), "%s/huge.json", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)WL_MAX_FILE + 1), 0);
	close(fd);
	assert_int_equal(wl_set_load_file(s, path, &d), ST_ELIMIT);
	assert_non_null(strstr(d.msg, "huge.json: larger than"));
	assert_int_equal(wl_set_lists(s), 1);
	wl_set_free(s);

	/* An empty directory loads nothing, successfully. */
	static const char *const files[] = {
	    "a.json", "b.json", "c.txt", ".hidden.json", "m.json", "huge.json"};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		assert_int_equal(unlink(path), 0);
	}
	s = wl_set_new();
	assert_int_equal(wl_set_load_dir(s, dir, &d), ST_OK);
	assert_int_equal(wl_set_lists(s), 0);
	assert_null(check(s, WL_KIND_DOMAIN, "anything"));
	wl_set_free(s);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cidr),
	    cmocka_unit_test(test_string),
	    cmocka_unit_test(test_hostname),
	    cmocka_unit_test(test_substring),
	    cmocka_unit_test(test_regex),
	    cmocka_unit_test(test_matching_attributes),
	    cmocka_unit_test(test_first_list),
	    cmocka_unit_test(test_starter_set),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
