/*
 * Unit tests of the IP prefix trie (src/pattern/iptrie.c).
 *
 * Table-driven cases pin down the order of walks, the edges (/0, /32,
 * /128, adjacent blocks, many values per prefix) and removal; then a
 * randomised run (fixed seed) checks every walk, overlap test and count
 * against a plain list searched one entry at a time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/err.h"
#include "common/ip.h"
#include "pattern/iptrie.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct ip_prefix pfx(const char *s)
{
	struct ip_prefix p;

	if (!ip_parse(s, strlen(s), &p))
		fail_msg("bad prefix in test: %s", s);
	return p;
}

static void add(struct iptrie *t, const char *s, uint32_t v)
{
	struct ip_prefix p = pfx(s);
	assert_int_equal(iptrie_insert(t, &p, v), ST_OK);
}

static int del(struct iptrie *t, const char *s, uint32_t v)
{
	struct ip_prefix p = pfx(s);
	return iptrie_remove(t, &p, v);
}

/* Collects what a walk reports, as "prefix=value" words. */
struct seen {
	char text[4096];
	size_t n;
	int stop_at; /* return 7 from the call with this index (1-based) */
};

static void fmt_prefix(const struct ip_prefix *p, char *out, size_t cap)
{
	if (!p->v6) {
		snprintf(out, cap, "%u.%u.%u.%u/%u", p->addr[0], p->addr[1],
			 p->addr[2], p->addr[3], p->len);
		return;
	}
	size_t n = 0;
	for (int i = 0; i < 16; i += 2)
		n += (size_t)snprintf(out + n, cap - n, "%s%x", i ? ":" : "",
				      p->addr[i] << 8 | p->addr[i + 1]);
	snprintf(out + n, cap - n, "/%u", p->len);
}

static int collect(void *ctx, const struct ip_prefix *p, uint32_t value)
{
	struct seen *s = ctx;
	char buf[64];
	size_t used = strlen(s->text);

	fmt_prefix(p, buf, sizeof(buf));
	snprintf(s->text + used, sizeof(s->text) - used, "%s%s=%u",
		 used ? " " : "", buf, value);
	s->n++;
	return (int)s->n == s->stop_at ? 7 : 0;
}

static const char *walk(const struct iptrie *t, const char *a, struct seen *s)
{
	struct ip_prefix p = pfx(a);
	memset(s, 0, sizeof(*s));
	assert_int_equal(iptrie_walk_containing(t, &p, collect, s), 0);
	return s->text;
}

static const char *walk_over(const struct iptrie *t, const char *a,
			     struct seen *s)
{
	struct ip_prefix p = pfx(a);
	memset(s, 0, sizeof(*s));
	assert_int_equal(iptrie_walk_overlapping(t, &p, collect, s), 0);
	return s->text;
}

static bool overlaps(const struct iptrie *t, const char *a)
{
	struct ip_prefix p = pfx(a);
	return iptrie_overlaps(t, &p);
}

/* ------------------------------------------------------------------ */
/* Fixed cases                                                          */
/* ------------------------------------------------------------------ */

static void test_empty(void **state)
{
	(void)state;
	struct iptrie *t = iptrie_new();
	struct seen s;

	assert_non_null(t);
	assert_int_equal(iptrie_count(t), 0);
	assert_string_equal(walk(t, "10.0.0.1", &s), "");
	assert_string_equal(walk(t, "::1", &s), "");
	assert_false(overlaps(t, "0.0.0.0/0"));
	assert_false(overlaps(t, "::/0"));
	assert_int_equal(del(t, "10.0.0.0/8", 1), ST_ENOTFOUND);
	assert_true(iptrie_memory(t) > 0);
	iptrie_free(t);
	iptrie_free(NULL);
}

/* Walks report the containing prefixes shortest first. */
static void test_v4_order(void **state)
{
	(void)state;
	struct iptrie *t = iptrie_new();
	struct seen s;

	/* Inserted out of order on purpose. */
	add(t, "10.1.2.0/24", 3);
	add(t, "10.0.0.0/8", 1);
	add(t, "10.1.2.3/32", 4);
	add(t, "0.0.0.0/0", 0);
	add(t, "10.1.0.0/16", 2);
	add(t, "10.1.3.0/24", 5);
	add(t, "192.168.0.0/16", 6);
	assert_int_equal(iptrie_count(t), 7);

	static const struct {
		const char *a, *want;
	} cases[] = {
	    {"10.1.2.3", "0.0.0.0/0=0 10.0.0.0/8=1 10.1.0.0/16=2 "
			 "10.1.2.0/24=3 10.1.2.3/32=4"},
	    {"10.1.2.4", "0.0.0.0/0=0 10.0.0.0/8=1 10.1.0.0/16=2 "
			 "10.1.2.0/24=3"},
	    {"10.1.3.255", "0.0.0.0/0=0 10.0.0.0/8=1 10.1.0.0/16=2 "
			   "10.1.3.0/24=5"},
	    {"10.2.0.0", "0.0.0.0/0=0 10.0.0.0/8=1"},
	    {"11.0.0.0", "0.0.0.0/0=0"},
	    {"192.168.255.255", "0.0.0.0/0=0 192.168.0.0/16=6"},
	    {"255.255.255.255", "0.0.0.0/0=0"},
	    /* A block: the prefixes that contain all of it. */
	    {"10.1.0.0/16", "0.0.0.0/0=0 10.0.0.0/8=1 10.1.0.0/16=2"},
	    {"10.1.0.0/22", "0.0.0.0/0=0 10.0.0.0/8=1 10.1.0.0/16=2"},
	    {"10.0.0.0/7", "0.0.0.0/0=0"},
	    {"0.0.0.0/0", "0.0.0.0/0=0"},
	    /* The other family holds nothing. */
	    {"::ffff:10.1.2.3", ""},
	    {"::/0", ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		walk(t, cases[i].a, &s);
		if (strcmp(s.text, cases[i].want) != 0)
			fail_msg("walk %s: got '%s', want '%s'", cases[i].a,
				 s.text, cases[i].want);
	}
	iptrie_free(t);
}

static void test_v6_order(void **state)
{
	(void)state;
	struct iptrie *t = iptrie_new();
	struct seen s;

	add(t, "2001:db8::/32", 2);
	add(t, "::/0", 0);
	add(t, "2001:db8::1/128", 4);
	add(t, "2000::/3", 1);
	add(t, "2001:db8:0:1::/64", 3);
	add(t, "fe80::/10", 5);
	add(t, "10.0.0.0/8", 9); /* IPv4 lives apart */

	static const struct {
		const char *a, *want;
	} cases[] = {
	    {"2001:db8::1", "0:0:0:0:0:0:0:0/0=0 2000:0:0:0:0:0:0:0/3=1 "
			    "2001:db8:0:0:0:0:0:0/32=2 "
			    "2001:db8:0:0:0:0:0:1/128=4"},
	    {"2001:db8::2", "0:0:0:0:0:0:0:0/0=0 2000:0:0:0:0:0:0:0/3=1 "
			    "2001:db8:0:0:0:0:0:0/32=2"},
	    {"2001:db8:0:1::ffff", "0:0:0:0:0:0:0:0/0=0 "
				   "2000:0:0:0:0:0:0:0/3=1 "
				   "2001:db8:0:0:0:0:0:0/32=2 "
				   "2001:db8:0:1:0:0:0:0/64=3"},
	    {"fe80::1", "0:0:0:0:0:0:0:0/0=0 fe80:0:0:0:0:0:0:0/10=5"},
	    {"febf:ffff::", "0:0:0:0:0:0:0:0/0=0 fe80:0:0:0:0:0:0:0/10=5"},
	    {"fec0::", "0:0:0:0:0:0:0:0/0=0"},
	    {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "0:0:0:0:0:0:0:0/0=0"},
	    {"10.1.1.1", "10.0.0.0/8=9"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		walk(t, cases[i].a, &s);
		if (strcmp(s.text, cases[i].want) != 0)
			fail_msg("walk %s: got '%s', want '%s'", cases[i].a,
				 s.text, cases[i].want);
	}
	iptrie_free(t);
}

/* Host routes and the default route, alone and together. */
static void test_edges(void **state)
{
	(void)state;
	struct iptrie *t = iptrie_new();
	struct seen s;

	add(t, "255.255.255.255/32", 1);
	add(t, "0.0.0.0/32", 2);
	add(t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", 3);
	add(t, "::/128", 4);
	assert_string_equal(walk(t, "255.255.255.255", &s),
			    "255.255.255.255/32=1");
	assert_string_equal(walk(t, "255.255.255.254", &s), "");
	assert_string_equal(walk(t, "0.0.0.0", &s), "0.0.0.0/32=2");
	assert_string_equal(walk(t, "::", &s), "0:0:0:0:0:0:0:0/128=4");
	assert_string_equal(walk(t, "::1", &s), "");
	assert_string_equal(
	    walk(t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", &s),
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128=3");
	/* A host route does not contain a block around it... */
	assert_string_equal(walk(t, "255.255.255.0/24", &s), "");
	/* ...but overlaps it. */
	assert_true(overlaps(t, "255.255.255.0/24"));
	assert_true(overlaps(t, "0.0.0.0/0"));
	assert_true(overlaps(t, "::/0"));
	assert_false(overlaps(t, "1.0.0.0/8"));
	assert_false(overlaps(t, "::2"));

	add(t, "0.0.0.0/0", 5);
	add(t, "::/0", 6);
	assert_string_equal(walk(t, "255.255.255.255", &s),
			    "0.0.0.0/0=5 255.255.255.255/32=1");
	assert_string_equal(walk(t, "1.2.3.4", &s), "0.0.0.0/0=5");
	assert_string_equal(walk(t, "2001:db8::", &s), "0:0:0:0:0:0:0:0/0=6");
	assert_true(overlaps(t, "1.0.0.0/8"));
	assert_true(overlaps(t, "::2"));

	/* Lengths beyond the family are refused. */
	struct ip_prefix bad = pfx("10.0.0.0/8");
	bad.len = 33;
	assert_int_equal(iptrie_insert(t, &bad, 1), ST_EINVAL);
	assert_int_equal(iptrie_remove(t, &bad, 1), ST_ENOTFOUND);
	assert_int_equal(iptrie_walk_containing(t, &bad, collect, &s), 0);
	assert_false(iptrie_overlaps(t, &bad));
	bad = pfx("::/0");
	bad.len = 129;
	assert_int_equal(iptrie_insert(t, &bad, 1), ST_EINVAL);
	assert_int_equal(iptrie_count(t), 6);

	/* Host bits past the length are ignored on insert and remove. */
	bad = pfx("10.0.0.0/8");
	bad.addr[3] = 77;
	assert_int_equal(iptrie_insert(t, &bad, 8), ST_OK);
	assert_string_equal(walk(t, "10.9.9.9", &s),
			    "0.0.0.0/0=5 10.0.0.0/8=8");
	assert_int_equal(iptrie_remove(t, &bad, 8), ST_OK);
	iptrie_free(t);
}

/* Two halves of a block, and blocks side by side. */
static void test_adjacent(void **state)
{
	(void)state;
	struct iptrie *t = iptrie_new();
	struct seen s;

	add(t, "10.0.0.0/25", 1);
	add(t, "10.0.0.128/25", 2);
	add(t, "10.0.1.0/24", 3);
	add(t, "2001:db8::/33", 4);
	add(t, "2001:db8:8000::/33", 5);
	assert_string_equal(walk(t, "10.0.0.127", &s), "10.0.0.0/25=1");
	assert_string_equal(walk(t, "10.0.0.128", &s), "10.0.0.128/25=2");
	assert_string_equal(walk(t, "10.0.1.0", &s), "10.0.1.0/24=3");
	assert_string_equal(walk(t, "10.0.2.0", &s), "");
	assert_string_equal(walk(t, "9.255.255.255", &s), "");
	assert_string_equal(walk(t, "10.0.0.0/24", &s), "");
	assert_true(overlaps(t, "10.0.0.0/24"));
	assert_true(overlaps(t, "10.0.0.64/26"));
	assert_false(overlaps(t, "10.0.2.0/24"));
	assert_false(overlaps(t, "10.0.2.0/23"));
	assert_true(overlaps(t, "10.0.0.0/22"));
	assert_string_equal(walk(t, "2001:db8:7fff:ffff::", &s),
			    "2001:db8:0:0:0:0:0:0/33=4");
	assert_string_equal(walk(t, "2001:db8:8000::", &s),
			    "2001:db8:8000:0:0:0:0:0/33=5");
	assert_false(overlaps(t, "2001:db9::/32"));
	assert_true(overlaps(t, "2001:db8::/32"));

	/* Everything inside a block, in address order. */
	assert_string_equal(walk_over(t, "10.0.0.0/16", &s),
			    "10.0.0.0/25=1 10.0.0.128/25=2 10.0.1.0/24=3");
	add(t, "10.0.0.0/8", 6);
	assert_string_equal(walk_over(t, "10.0.0.0/24", &s),
			    "10.0.0.0/8=6 10.0.0.0/25=1 10.0.0.128/25=2");
	assert_string_equal(walk_over(t, "10.0.0.0/25", &s),
			    "10.0.0.0/8=6 10.0.0.0/25=1");
	assert_string_equal(walk_over(t, "10.0.0.1", &s),
			    "10.0.0.0/8=6 10.0.0.0/25=1");
	assert_string_equal(walk_over(t, "10.0.3.0/24", &s), "10.0.0.0/8=6");
	assert_string_equal(walk_over(t, "11.0.0.0/8", &s), "");
	iptrie_free(t);
}

/* Many values under one prefix; the same pair twice is two pairs. */
static void test_many_values(void **state)
{
	(void)state;
	struct iptrie *t = iptrie_new();
	struct seen s;
	char want[4096] = "";

	for (uint32_t v = 0; v < 100; v++)
		add(t, "192.0.2.0/24", v);
	assert_int_equal(iptrie_count(t), 100);
	walk(t, "192.0.2.1", &s);
	assert_int_equal(s.n, 100);
	assert_true(strncmp(s.text, "192.0.2.0/24=0 192.0.2.0/24=1 ", 30) == 0);

	/* Removing keeps the order of the rest. */
	for (uint32_t v = 0; v < 100; v++)
		if (v % 3 != 0)
			assert_int_equal(del(t, "192.0.2.0/24", v), ST_OK);
	assert_int_equal(del(t, "192.0.2.0/24", 1), ST_ENOTFOUND);
	assert_int_equal(del(t, "192.0.2.0/25", 0), ST_ENOTFOUND);
	for (uint32_t v = 0; v < 100; v += 3) {
		size_t n = strlen(want);
		snprintf(want + n, sizeof(want) - n, "%s192.0.2.0/24=%u",
			 n ? " " : "", v);
	}
	assert_string_equal(walk(t, "192.0.2.200", &s), want);

	/* A stop from the callback ends the walk with its value. */
	struct ip_prefix a = pfx("192.0.2.200");
	memset(&s, 0, sizeof(s));
	s.stop_at = 3;
	assert_int_equal(iptrie_walk_containing(t, &a, collect, &s), 7);
	assert_int_equal(s.n, 3);
	memset(&s, 0, sizeof(s));
	s.stop_at = 2;
	assert_int_equal(iptrie_walk_overlapping(t, &a, collect, &s), 7);
	assert_int_equal(s.n, 2);

	/* Down to one value and up again. */
	for (uint32_t v = 3; v < 100; v += 3)
		assert_int_equal(del(t, "192.0.2.0/24", v), ST_OK);
	assert_string_equal(walk(t, "192.0.2.1", &s), "192.0.2.0/24=0");
	add(t, "192.0.2.0/24", 0);
	add(t, "192.0.2.0/24", 5);
	assert_string_equal(walk(t, "192.0.2.1", &s),
			    "192.0.2.0/24=0 192.0.2.0/24=0 192.0.2.0/24=5");
	assert_int_equal(iptrie_count(t), 3);
	assert_int_equal(del(t, "192.0.2.0/24", 0), ST_OK);
	assert_string_equal(walk(t, "192.0.2.1", &s),
			    "192.0.2.0/24=0 192.0.2.0/24=5");
	assert_int_equal(del(t, "192.0.2.0/24", 0), ST_OK);
	assert_int_equal(del(t, "192.0.2.0/24", 0), ST_ENOTFOUND);
	assert_int_equal(del(t, "192.0.2.0/24", 5), ST_OK);
	assert_int_equal(iptrie_count(t), 0);
	assert_string_equal(walk(t, "192.0.2.1", &s), "");
	assert_false(overlaps(t, "0.0.0.0/0"));
	iptrie_free(t);
}

/* Removing a prefix takes its branch nodes along, and the nodes freed
 * are reused: insert/remove cycles do not grow the trie. */
static void test_remove_reuse(void **state)
{
	(void)state;
	struct iptrie *t = iptrie_new();
	struct seen s;
	char buf[64];

	add(t, "10.0.0.0/8", 1);
	add(t, "10.1.0.0/16", 2);
	add(t, "10.2.0.0/16", 3);
	add(t, "10.1.1.0/24", 4);
	/* Removing the middle of a chain keeps what is below it. */
	assert_int_equal(del(t, "10.1.0.0/16", 2), ST_OK);
	assert_string_equal(walk(t, "10.1.1.1", &s),
			    "10.0.0.0/8=1 10.1.1.0/24=4");
	assert_int_equal(del(t, "10.0.0.0/8", 1), ST_OK);
	assert_string_equal(walk(t, "10.1.1.1", &s), "10.1.1.0/24=4");
	assert_string_equal(walk(t, "10.2.0.1", &s), "10.2.0.0/16=3");
	assert_false(overlaps(t, "10.3.0.0/16"));
	assert_true(overlaps(t, "10.0.0.0/8"));
	assert_int_equal(del(t, "10.1.1.0/24", 4), ST_OK);
	assert_int_equal(del(t, "10.2.0.0/16", 3), ST_OK);
	assert_false(overlaps(t, "0.0.0.0/0"));

	size_t mem = 0;
	for (int round = 0; round < 5; round++) {
		for (uint32_t i = 0; i < 1000; i++) {
			snprintf(buf, sizeof(buf), "10.%u.%u.0/24", i >> 8,
				 i & 255);
			add(t, buf, i);
			snprintf(buf, sizeof(buf), "2001:db8:%x::/48", i);
			add(t, buf, i);
		}
		assert_int_equal(iptrie_count(t), 2000);
		if (round == 0)
			mem = iptrie_memory(t);
		assert_int_equal(iptrie_memory(t), mem);
		for (uint32_t i = 0; i < 1000; i++) {
			snprintf(buf, sizeof(buf), "10.%u.%u.0/24", i >> 8,
				 i & 255);
			assert_int_equal(del(t, buf, i), ST_OK);
			snprintf(buf, sizeof(buf), "2001:db8:%x::/48", i);
			assert_int_equal(del(t, buf, i), ST_OK);
		}
		assert_int_equal(iptrie_count(t), 0);
		assert_false(overlaps(t, "0.0.0.0/0"));
		assert_false(overlaps(t, "::/0"));
	}
	iptrie_free(t);
}

/* ------------------------------------------------------------------ */
/* Randomised cross-check                                               */
/* ------------------------------------------------------------------ */

#define N_PREFIXES 20000
#define N_LOOKUPS 100000

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

/* One stored pair, with its address as two 64-bit halves for a fast
 * containment test (IPv4 in the top of hi). */
struct pair {
	struct ip_prefix p;
	uint32_t value;
	uint64_t hi, lo, mhi, mlo;
	bool live;
};

static void halves(const struct ip_prefix *p, uint64_t *hi, uint64_t *lo)
{
	*hi = *lo = 0;
	for (int i = 0; i < 8; i++) {
		*hi = *hi << 8 | p->addr[i];
		*lo = *lo << 8 | p->addr[8 + i];
	}
}

static void set_pair(struct pair *e, const struct ip_prefix *p, uint32_t v)
{
	unsigned len = p->len; /* bits from the top of hi, then of lo */

	e->p = *p;
	e->value = v;
	e->live = true;
	halves(p, &e->hi, &e->lo);
	e->mhi = len == 0 ? 0 : len >= 64 ? ~0ull : ~0ull << (64 - len);
	e->mlo = len <= 64 ? 0 : len >= 128 ? ~0ull : ~0ull << (128 - len);
}

/* Clears the bits of p past its length. */
static void clamp(struct ip_prefix *p)
{
	unsigned bits = p->v6 ? 128 : 32;

	for (unsigned i = p->len; i < bits; i++)
		p->addr[i >> 3] &= (uint8_t) ~(1u << (7 - (i & 7)));
	if (!p->v6)
		memset(p->addr + 4, 0, 12);
}

/* A random prefix: often an extension of a stored one (so that prefixes
 * nest deeply), often the same as one (so that prefixes hold several
 * values), and otherwise from a few dense regions or anywhere. */
static struct ip_prefix random_prefix(const struct pair *pairs, size_t n)
{
	struct ip_prefix p;
	uint32_t r = rnd() % 100;

	memset(&p, 0, sizeof(p));
	if (n > 0 && r < 10)
		return pairs[rnd() % n].p;
	if (n > 0 && r < 55) {
		p = pairs[rnd() % n].p;
		unsigned bits = p.v6 ? 128 : 32;
		if (p.len < bits) {
			unsigned ext = 1 + rnd() % (bits - p.len);
			if (ext > 12 && rnd() % 2)
				ext = 1 + rnd() % 12;
			for (unsigned i = p.len; i < p.len + ext; i++)
				if (rnd() & 1)
					p.addr[i >> 3] |=
					    (uint8_t)(1u << (7 - (i & 7)));
			p.len = (uint8_t)(p.len + ext);
		}
		return p;
	}
	p.v6 = rnd() % 3 == 0;
	for (int i = 0; i < 16; i++)
		p.addr[i] = (uint8_t)rnd();
	if (rnd() % 4 != 0) {
		/* A dense region: 8 choices for the first 12 bits. */
		static const uint8_t top[8][2] = {
		    {10, 0x00},	  {10, 0x10},	{192, 0xa0},  {172, 0x10},
		    {0x20, 0x00}, {0x20, 0x10}, {0xfe, 0x80}, {0xff, 0x00}};
		const uint8_t *t = top[rnd() % 8];
		p.addr[0] = t[0];
		p.addr[1] = (uint8_t)((p.addr[1] & 0x0f) | t[1]);
	}
	unsigned bits = p.v6 ? 128 : 32;
	p.len =
	    (uint8_t)(rnd() % 400 == 0 ? rnd() % 9 : 8 + rnd() % (bits - 7));
	clamp(&p);
	return p;
}

/* An address or block inside a random stored prefix, or anywhere. */
static struct ip_prefix random_query(const struct pair *pairs, size_t n)
{
	struct ip_prefix a;

	memset(&a, 0, sizeof(a));
	if (rnd() % 10 < 7) {
		a = pairs[rnd() % n].p;
	} else {
		a.v6 = rnd() % 3 == 0;
		a.len = 0;
	}
	unsigned bits = a.v6 ? 128 : 32;
	for (unsigned i = a.len; i < bits; i++)
		if (rnd() & 1)
			a.addr[i >> 3] |= (uint8_t)(1u << (7 - (i & 7)));
	/* Mostly addresses; sometimes a block. */
	a.len = (uint8_t)(rnd() % 5 == 0 ? rnd() % (bits + 1) : bits);
	clamp(&a);
	return a;
}

static inline bool pair_contains(const struct pair *e, bool v6, uint64_t hi,
				 uint64_t lo, unsigned len)
{
	return e->live && e->p.v6 == v6 && e->p.len <= len &&
	       (hi & e->mhi) == e->hi && (lo & e->mlo) == e->lo;
}

/* What a walk reported. */
struct rep {
	struct ip_prefix p;
	uint32_t value;
};

struct got {
	struct rep *r;
	size_t n, cap;
};

static int record(void *ctx, const struct ip_prefix *p, uint32_t value)
{
	struct got *g = ctx;

	if (g->n == g->cap)
		fail_msg("more pairs reported than stored");
	g->r[g->n].p = *p;
	g->r[g->n++].value = value;
	return 0;
}

static bool rep_is(const struct rep *r, const struct pair *e)
{
	return r->value == e->value && r->p.v6 == e->p.v6 &&
	       r->p.len == e->p.len && memcmp(r->p.addr, e->p.addr, 16) == 0;
}

static int cmp_rep(const void *a, const void *b)
{
	const struct rep *x = a, *y = b;
	int c = memcmp(x->p.addr, y->p.addr, 16);

	if (c != 0)
		return c;
	if (x->p.len != y->p.len)
		return x->p.len < y->p.len ? -1 : 1;
	return x->value < y->value ? -1 : x->value > y->value;
}

/*
 * The plain list is searched one pair at a time, but cut first by length
 * and leading bits so that 100,000 queries stay quick: per family, one
 * bucket for the pairs shorter than 8 bits, one per first byte for those
 * of 8 to 15 bits, one per first 16 bits for the longer ones. A bucket
 * keeps its pairs in the order they were added.
 */
#define B_FAMILY (1 + 256 + 65536)

struct index {
	uint32_t *start; /* 2 * B_FAMILY + 1 offsets into items */
	uint32_t *items;
};

static size_t bucket(bool v6, unsigned len, const uint8_t *addr)
{
	size_t b = v6 ? B_FAMILY : 0;

	if (len < 8)
		return b;
	if (len < 16)
		return b + 1 + addr[0];
	return b + 257 + ((size_t)addr[0] << 8 | addr[1]);
}

static void index_build(struct index *x, const struct pair *pairs, size_t n)
{
	x->start = calloc(2 * B_FAMILY + 1, sizeof(*x->start));
	x->items = malloc((n ? n : 1) * sizeof(*x->items));
	assert_non_null(x->start);
	assert_non_null(x->items);
	for (size_t i = 0; i < n; i++)
		x->start[bucket(pairs[i].p.v6, pairs[i].p.len,
				pairs[i].p.addr) +
			 1]++;
	for (size_t b = 0; b < 2 * B_FAMILY; b++)
		x->start[b + 1] += x->start[b];
	uint32_t *fill = malloc(2 * B_FAMILY * sizeof(*fill));
	assert_non_null(fill);
	memcpy(fill, x->start, 2 * B_FAMILY * sizeof(*fill));
	for (size_t i = 0; i < n; i++)
		x->items[fill[bucket(pairs[i].p.v6, pairs[i].p.len,
				     pairs[i].p.addr)]++] = (uint32_t)i;
	free(fill);
}

static void index_free(struct index *x)
{
	free(x->start);
	free(x->items);
}

/* Marks as removed what iptrie_remove takes: the first live pair equal
 * to pairs[i]. */
static void drop_first_equal(struct pair *pairs, const struct index *x,
			     size_t i)
{
	size_t b = bucket(pairs[i].p.v6, pairs[i].p.len, pairs[i].p.addr);

	for (uint32_t k = x->start[b]; k < x->start[b + 1]; k++) {
		struct pair *e = &pairs[x->items[k]];
		if (e->live && e->value == pairs[i].value &&
		    e->p.len == pairs[i].p.len &&
		    memcmp(e->p.addr, pairs[i].p.addr, 16) == 0) {
			e->live = false;
			return;
		}
	}
	fail_msg("no live pair to drop");
}

/* Checks one query against the plain list. */
static void cross_check(const struct iptrie *t, const struct pair *pairs,
			size_t n, const struct index *x,
			const struct ip_prefix *a, uint32_t *want,
			struct got *g, bool deep)
{
	static const unsigned tier_len[] = {0, 8, 16};
	uint64_t hi, lo;
	size_t nw = 0;

	halves(a, &hi, &lo);
	for (int tier = 0; tier < 3 && a->len >= tier_len[tier]; tier++) {
		size_t b = bucket(a->v6, tier_len[tier], a->addr);
		for (uint32_t k = x->start[b]; k < x->start[b + 1]; k++) {
			uint32_t i = x->items[k];
			if (pair_contains(&pairs[i], a->v6, hi, lo, a->len))
				want[nw++] = i;
		}
	}
	/* Stably by length: shortest first, then in the order added (a
	 * length is in one bucket, in that order). */
	for (size_t k = 1; k < nw; k++) {
		uint32_t w = want[k];
		size_t j = k;
		for (; j > 0 && pairs[want[j - 1]].p.len > pairs[w].p.len; j--)
			want[j] = want[j - 1];
		want[j] = w;
	}
	g->n = 0;
	assert_int_equal(iptrie_walk_containing(t, a, record, g), 0);
	if (g->n != nw)
		fail_msg("walk: %zu pairs reported, %zu stored", g->n, nw);
	for (size_t k = 0; k < nw; k++)
		if (!rep_is(&g->r[k], &pairs[want[k]]))
			fail_msg("walk: pair %zu differs", k);
	if (!deep)
		return;

	/* Overlap: containing a, or inside it. */
	struct pair q;
	set_pair(&q, a, 0);
	for (size_t i = 0; i < n; i++)
		if (pairs[i].live && pairs[i].p.len > a->len &&
		    pair_contains(&q, pairs[i].p.v6, pairs[i].hi, pairs[i].lo,
				  pairs[i].p.len))
			want[nw++] = (uint32_t)i;
	assert_int_equal(iptrie_overlaps(t, a), nw > 0);
	g->n = 0;
	assert_int_equal(iptrie_walk_overlapping(t, a, record, g), 0);
	if (g->n != nw)
		fail_msg("overlapping: %zu pairs reported, %zu stored", g->n,
			 nw);
	/* The containing ones come first, as from the walk. */
	for (size_t k = 0; k < nw; k++)
		if (pairs[want[k]].p.len <= a->len &&
		    !rep_is(&g->r[k], &pairs[want[k]]))
			fail_msg("overlapping: pair %zu differs", k);
	/* All of them, as multisets. */
	struct rep *w = malloc((nw ? nw : 1) * sizeof(*w));
	assert_non_null(w);
	for (size_t k = 0; k < nw; k++)
		w[k] = (struct rep){pairs[want[k]].p, pairs[want[k]].value};
	qsort(w, nw, sizeof(*w), cmp_rep);
	qsort(g->r, g->n, sizeof(*g->r), cmp_rep);
	for (size_t k = 0; k < nw; k++)
		if (cmp_rep(&w[k], &g->r[k]) != 0)
			fail_msg("overlapping: pair %zu differs", k);
	free(w);
}

static void test_random(void **state)
{
	(void)state;
	struct iptrie *t = iptrie_new();
	struct pair *pairs = calloc(N_PREFIXES, sizeof(*pairs));
	uint32_t *want = malloc(N_PREFIXES * sizeof(*want));
	struct got g = {malloc(N_PREFIXES * sizeof(struct rep)), 0, N_PREFIXES};
	size_t n = 0;

	assert_non_null(pairs);
	assert_non_null(want);
	assert_non_null(g.r);
	for (; n < N_PREFIXES; n++) {
		struct ip_prefix p = random_prefix(pairs, n);
		set_pair(&pairs[n], &p, rnd() % 1000);
		assert_int_equal(iptrie_insert(t, &p, pairs[n].value), ST_OK);
	}
	assert_int_equal(iptrie_count(t), n);
	struct index x;
	index_build(&x, pairs, n);
	for (int i = 0; i < N_LOOKUPS; i++) {
		struct ip_prefix a = random_query(pairs, n);
		cross_check(t, pairs, n, &x, &a, want, &g, i % 50 == 0);
	}

	/* Remove half, in random order, then check again. */
	size_t live = n;
	for (size_t k = 0; k < n / 2; k++) {
		size_t i = rnd() % n;
		if (!pairs[i].live)
			continue;
		assert_int_equal(iptrie_remove(t, &pairs[i].p, pairs[i].value),
				 ST_OK);
		drop_first_equal(pairs, &x, i);
		live--;
		/* A value never stored under the prefix is not found. */
		assert_int_equal(iptrie_remove(t, &pairs[i].p, 1000 + k),
				 ST_ENOTFOUND);
	}
	assert_int_equal(iptrie_count(t), live);
	for (int i = 0; i < N_LOOKUPS / 5; i++) {
		struct ip_prefix a = random_query(pairs, n);
		cross_check(t, pairs, n, &x, &a, want, &g, i % 20 == 0);
	}

	/* Remove the rest: the trie is empty again. */
	for (size_t i = 0; i < n; i++) {
		if (!pairs[i].live)
			continue;
		assert_int_equal(iptrie_remove(t, &pairs[i].p, pairs[i].value),
				 ST_OK);
		pairs[i].live = false;
	}
	assert_int_equal(iptrie_count(t), 0);
	struct ip_prefix all = pfx("0.0.0.0/0");
	assert_false(iptrie_overlaps(t, &all));
	all = pfx("::/0");
	assert_false(iptrie_overlaps(t, &all));

	index_free(&x);
	free(g.r);
	free(want);
	free(pairs);
	iptrie_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_v4_order),
	    cmocka_unit_test(test_v6_order),
	    cmocka_unit_test(test_edges),
	    cmocka_unit_test(test_adjacent),
	    cmocka_unit_test(test_many_values),
	    cmocka_unit_test(test_remove_reuse),
	    cmocka_unit_test(test_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
