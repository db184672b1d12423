/*
 * Unit tests of the streaming splitter (src/common/split.c).
 *
 * Every table row runs through split_new_mem and through split_new with
 * read callbacks of 1, 3, 7 and 65536 bytes, and every mode must give the
 * same elements, kinds and errors: chunk boundaries are where streaming
 * scanners break.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/json.h"
#include "common/split.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define HAVE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_ASAN 1
#endif
#endif
#ifdef HAVE_ASAN
/* From the ASan runtime (gcc's and clang's); gcc ships no header for it. */
size_t __sanitizer_get_current_allocated_bytes(void);
#endif

/* Heap bytes in use now (glibc, or ASan's allocator under ASan). */
static size_t heap_in_use(void)
{
#ifdef HAVE_ASAN
	return __sanitizer_get_current_allocated_bytes();
#else
	struct mallinfo2 mi = mallinfo2();
	return mi.uordblks + mi.hblkhd;
#endif
}

/* ------------------------------------------------------------------ */
/* Reading helpers                                                      */
/* ------------------------------------------------------------------ */

struct feed {
	const char *data;
	size_t len;
	size_t pos;
	size_t chunk;
	size_t fail_at; /* return -1 (EIO) once pos reaches this */
	size_t max_cap; /* the largest cap the splitter offered */
};

static ssize_t feed_read(void *ctx, char *buf, size_t cap)
{
	struct feed *f = ctx;
	if (cap > f->max_cap)
		f->max_cap = cap;
	if (f->pos >= f->fail_at) {
		errno = EIO;
		return -1;
	}
	size_t n = f->len - f->pos;
	if (n > f->chunk)
		n = f->chunk;
	if (n > cap)
		n = cap;
	memcpy(buf, f->data + f->pos, n);
	f->pos += n;
	return (ssize_t)n;
}

static const char *kind_name(enum split_kind k)
{
	switch (k) {
	case SPLIT_UNKNOWN:
		return "unknown";
	case SPLIT_BUNDLE:
		return "bundle";
	case SPLIT_ENVELOPE:
		return "envelope";
	case SPLIT_ARRAY:
		return "array";
	case SPLIT_SINGLE:
		return "single";
	}
	return "?";
}

/*
 * Runs a splitter to its end and describes what it returned: elements
 * joined by '|', "LIMIT@off" for a skipped element, "ERR(code)@msg" for
 * the final error. Checks on the way: offsets point at the element's
 * bytes in the input, JSON_PADDING bytes after an element are readable,
 * and errors are sticky.
 */
static void run(struct split *s, const char *in, size_t inlen, char *out,
		size_t outcap, char *errmsg)
{
	size_t o = 0;
	out[0] = '\0';
	errmsg[0] = '\0';
	for (int guard = 0; guard < 1000; guard++) {
		const char *e = NULL;
		size_t len = 99;
		uint64_t off = UINT64_MAX;
		struct diag d = {{0}};
		int rc = split_next(s, &e, &len, &off, &d);
		if (rc == 0) {
			assert_null(e);
			/* The end is sticky too. */
			assert_int_equal(split_next(s, &e, &len, NULL, NULL),
					 0);
			return;
		}
		if (o > 0)
			o += (size_t)snprintf(out + o, outcap - o, "|");
		if (rc == 1) {
			assert_non_null(e);
			assert_true(off < inlen);
			assert_true(off + len <= inlen);
			assert_memory_equal(in + off, e, len);
			/* JSON_PADDING readable bytes (ASan checks). */
			volatile char sink = 0;
			for (size_t k = 0; k < JSON_PADDING; k++)
				sink ^= e[len + k];
			(void)sink;
			o += (size_t)snprintf(out + o, outcap - o, "%.*s",
					      (int)len, e);
		} else if (rc == ST_ELIMIT) {
			assert_null(e);
			assert_non_null(strstr(d.msg, "at byte"));
			o += (size_t)snprintf(out + o, outcap - o, "LIMIT@%llu",
					      (unsigned long long)off);
		} else {
			assert_true(rc < 0);
			assert_null(e);
			o += (size_t)snprintf(out + o, outcap - o, "ERR(%d)",
					      rc);
			snprintf(errmsg, DIAG_MAX, "%s", d.msg);
			/* Sticky: the same error and message again. */
			struct diag d2 = {{0}};
			assert_int_equal(split_next(s, &e, &len, NULL, &d2),
					 rc);
			assert_string_equal(d.msg, d2.msg);
			return;
		}
		assert_true(o < outcap);
	}
	fail_msg("splitter did not end");
}

/* ------------------------------------------------------------------ */
/* The table                                                            */
/* ------------------------------------------------------------------ */

#define BIG 1000000

static const struct split_case {
	const char *name;
	const char *in;
	size_t max_elem;
	enum split_kind kind;
	const char *want;   /* as run() describes it */
	const char *errmsg; /* substring of the final error, if any */
} cases[] = {
    {"bundle",
     "{\"type\":\"bundle\",\"id\":\"bundle--1\",\"objects\":"
     "[{\"a\":1},{\"b\":2}]}",
     BIG, SPLIT_BUNDLE, "{\"a\":1}|{\"b\":2}", NULL},
    {"bundle spec_version first",
     "{\"spec_version\":\"2.0\",\"type\":\"bundle\",\"objects\":[{}]}", BIG,
     SPLIT_BUNDLE, "{}", NULL},
    {"envelope", "{\"more\":true,\"next\":\"abc\",\"objects\":[{\"a\":1}]}",
     BIG, SPLIT_ENVELOPE, "{\"a\":1}", NULL},
    {"envelope objects first",
     "{\"objects\":[{\"a\":1},{\"b\":[2]}],\"more\":false,\"next\":\"x\"}", BIG,
     SPLIT_ENVELOPE, "{\"a\":1}|{\"b\":[2]}", NULL},
    {"canonical bundle (objects before type)",
     "{\"id\":\"bundle--1\",\"objects\":[{\"a\":1},{\"b\":[1,2]}],"
     "\"spec_version\":\"2.1\",\"type\":\"bundle\"}",
     BIG, SPLIT_BUNDLE, "{\"a\":1}|{\"b\":[1,2]}", NULL},
    {"canonical bundle larger than max_elem",
     "{\"id\":\"bundle--1\",\"objects\":[{\"a\":1},{\"b\":[1,2]}],"
     "\"type\":\"bundle\"}",
     12, SPLIT_BUNDLE, "{\"a\":1}|{\"b\":[1,2]}", NULL},
    {"bare array", "[{\"a\":1}, {\"b\":2}]", BIG, SPLIT_ARRAY,
     "{\"a\":1}|{\"b\":2}", NULL},
    {"array of non-objects",
     "[1, -2.5e+3, \"x\", null, true, false, [2], "
     "{\"c\":{}}]",
     BIG, SPLIT_ARRAY, "1|-2.5e+3|\"x\"|null|true|false|[2]|{\"c\":{}}", NULL},
    {"empty array", " [ ] ", BIG, SPLIT_ARRAY, "", NULL},
    {"empty objects array", "{\"type\":\"bundle\",\"objects\":[]}", BIG,
     SPLIT_BUNDLE, "", NULL},
    {"empty objects array, spaces",
     "{\"type\":\"bundle\",\"objects\":[ \n ],\"id\":\"b\"}", BIG, SPLIT_BUNDLE,
     "", NULL},
    {"single object", "{\"type\":\"indicator\",\"id\":\"x\"}", BIG,
     SPLIT_SINGLE, "{\"type\":\"indicator\",\"id\":\"x\"}", NULL},
    {"single empty object", " {} ", BIG, SPLIT_SINGLE, "{}", NULL},
    {"objects that is not an array",
     "{\"type\":\"observed-data\",\"objects\":{\"0\":{\"type\":\"file\"}}}",
     BIG, SPLIT_SINGLE,
     "{\"type\":\"observed-data\",\"objects\":{\"0\":{\"type\":\"file\"}}}",
     NULL},
    {"objects array, other type first",
     "{\"type\":\"x-foo\",\"objects\":[1,2]}", BIG, SPLIT_SINGLE,
     "{\"type\":\"x-foo\",\"objects\":[1,2]}", NULL},
    {"objects array, other type after",
     "{\"objects\":[1,2],\"type\":\"x-foo\"}", BIG, SPLIT_SINGLE,
     "{\"objects\":[1,2],\"type\":\"x-foo\"}", NULL},
    {"objects array, type not a string", "{\"objects\":[1],\"type\":7}", BIG,
     SPLIT_SINGLE, "{\"objects\":[1],\"type\":7}", NULL},
    {"bundle type without objects", "{\"type\":\"bundle\",\"id\":\"b\"}", BIG,
     SPLIT_SINGLE, "{\"type\":\"bundle\",\"id\":\"b\"}", NULL},
    {"strings with braces and escaped quotes",
     "{\"type\":\"bundle\",\"objects\":[{\"s\":\"}]{[\\\"\\\\\"},"
     "{\"t\":\"\\\\\",\"u\":\"a\\\"]\"}]}",
     BIG, SPLIT_BUNDLE,
     "{\"s\":\"}]{[\\\"\\\\\"}|{\"t\":\"\\\\\",\"u\":\"a\\\"]\"}", NULL},
    {"escaped key names",
     "{\"typ\\u0065\":\"bun\\u0064le\","
     "\"obj\\u0065cts\":[{\"a\":1}]}",
     BIG, SPLIT_BUNDLE, "{\"a\":1}", NULL},
    {"other members skipped",
     "{\"x_a\":{\"objects\":[9]},\"type\":\"bundle\",\"objects\":[{\"a\":1}],"
     "\"x_big\":{\"k\":[1,2,{\"]\":\"[\"}]},\"z\":\"s\",\"n\":-1.5E-3,"
     "\"t\":true,\"f\":false,\"u\":null}",
     BIG, SPLIT_BUNDLE, "{\"a\":1}", NULL},
    {"nested arrays in elements", "[{\"a\":[[1,[2]],{\"b\":[]}]},[[[]]]]", BIG,
     SPLIT_ARRAY, "{\"a\":[[1,[2]],{\"b\":[]}]}|[[[]]]", NULL},
    {"whitespace everywhere",
     " \n\t{ \"type\" : \"bundle\" ,\r\n \"objects\" : [ {\"a\" : 1} , "
     "{ } \n] } \n",
     BIG, SPLIT_BUNDLE, "{\"a\" : 1}|{ }", NULL},
    {"byte order mark", "\xef\xbb\xbf[{\"a\":1}]", BIG, SPLIT_ARRAY,
     "{\"a\":1}", NULL},
    {"non-ASCII strings",
     "[{\"n\":\"\xed\x95\x9c\xea\xb5\xad\"},"
     "\"\xe6\x97\xa5\"]",
     BIG, SPLIT_ARRAY, "{\"n\":\"\xed\x95\x9c\xea\xb5\xad\"}|\"\xe6\x97\xa5\"",
     NULL},
    {"element larger than max_elem skipped",
     "[{\"a\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"},{\"b\":1},"
     "[\"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\"],2]",
     20, SPLIT_ARRAY, "LIMIT@1|{\"b\":1}|LIMIT@60|2", NULL},
    {"element of exactly max_elem", "[{\"a\":1},{\"ab\":1}]", 7, SPLIT_ARRAY,
     "{\"a\":1}|LIMIT@9", NULL},
    {"single object larger than max_elem",
     "{\"type\":\"indicator\",\"id\":\"x\"}  ", 10, SPLIT_SINGLE, "LIMIT@0",
     NULL},
    {"oversize canonical container, type not bundle",
     "{\"objects\":[{\"a\":1},{\"b\":2}],\"type\":\"x\"}", 12, SPLIT_ENVELOPE,
     "{\"a\":1}|{\"b\":2}|ERR(-3)", "other than \"bundle\""},

    /* Errors: sticky, with the byte offset. */
    {"truncated after an element",
     "{\"type\":\"bundle\",\"objects\":[{\"a\":1}", BIG, SPLIT_BUNDLE,
     "{\"a\":1}|ERR(-3)", "at byte 35: unexpected end of input"},
    {"truncated in an element", "[{\"a\":\"xx", BIG, SPLIT_ARRAY, "ERR(-3)",
     "at byte 9: unexpected end of input"},
    {"truncated in an escape", "[\"\\", BIG, SPLIT_ARRAY, "ERR(-3)",
     "at byte 3: unexpected end of input"},
    {"truncated in a number", "[12", BIG, SPLIT_ARRAY, "ERR(-3)",
     "at byte 3: unexpected end of input"},
    {"truncated in the top-level object", "{\"type\":\"bund", BIG,
     SPLIT_UNKNOWN, "ERR(-3)", "at byte 13: unexpected end of input"},
    {"truncated after the objects array", "{\"type\":\"bundle\",\"objects\":[]",
     BIG, SPLIT_BUNDLE, "ERR(-3)", "at byte 29: unexpected end of input"},
    {"trailing garbage", "[{\"a\":1}] x", BIG, SPLIT_ARRAY, "{\"a\":1}|ERR(-3)",
     "at byte 10: unexpected content"},
    {"second top-level value", "{\"a\":1}{\"b\":2}", BIG, SPLIT_SINGLE,
     "{\"a\":1}|ERR(-3)", "at byte 7: unexpected content"},
    {"mismatched brackets", "[{\"a\":1]]", BIG, SPLIT_ARRAY, "ERR(-3)",
     "at byte 7: ']' does not close '{'"},
    {"top-level number", "42", BIG, SPLIT_UNKNOWN, "ERR(-3)",
     "at byte 0: expected '{' or '['"},
    {"top-level string", " \"s\"", BIG, SPLIT_UNKNOWN, "ERR(-3)",
     "at byte 1: expected '{' or '['"},
    {"empty input", "", BIG, SPLIT_UNKNOWN, "ERR(-3)", "empty input"},
    {"blank input", " \n\t ", BIG, SPLIT_UNKNOWN, "ERR(-3)",
     "at byte 4: empty input"},
    {"only a byte order mark", "\xef\xbb\xbf", BIG, SPLIT_UNKNOWN, "ERR(-3)",
     "empty input"},
    {"missing comma", "[{\"a\":1} {\"b\":2}]", BIG, SPLIT_ARRAY,
     "{\"a\":1}|ERR(-3)", "at byte 9: expected ',' or ']'"},
    {"trailing comma", "[{\"a\":1},]", BIG, SPLIT_ARRAY, "{\"a\":1}|ERR(-3)",
     "at byte 9: expected a value"},
    {"leading comma", "[,1]", BIG, SPLIT_ARRAY, "ERR(-3)",
     "at byte 1: expected a value"},
    {"bad literal", "[tru]", BIG, SPLIT_ARRAY, "ERR(-3)",
     "at byte 1: invalid value"},
    {"bad number", "[01]", BIG, SPLIT_ARRAY, "ERR(-3)",
     "at byte 1: invalid value"},
    {"bad literal in a skipped member", "{\"more\":flase,\"objects\":[]}", BIG,
     SPLIT_UNKNOWN, "ERR(-3)", "at byte 8: invalid value"},
    {"missing colon", "{\"type\" \"bundle\"}", BIG, SPLIT_UNKNOWN, "ERR(-3)",
     "at byte 8: expected ':'"},
    {"key not a string", "{type:1}", BIG, SPLIT_UNKNOWN, "ERR(-3)",
     "at byte 1: expected a key"},
    {"duplicate objects", "{\"type\":\"bundle\",\"objects\":[],\"objects\":[]}",
     BIG, SPLIT_BUNDLE, "ERR(-3)", "duplicate key \"objects\""},
    {"duplicate type",
     "{\"type\":\"bundle\",\"type\":\"bundle\","
     "\"objects\":[]}",
     BIG, SPLIT_UNKNOWN, "ERR(-3)", "duplicate key \"type\""},
    {"container, then a non-bundle type",
     "{\"type\":\"bundle\",\"objects\":[{}],\"type\":\"x\"}", BIG, SPLIT_BUNDLE,
     "{}|ERR(-3)", "duplicate key \"type\""},
    {"control byte", "[\x01]", BIG, SPLIT_ARRAY, "ERR(-3)",
     "at byte 1: invalid value"},
};

/* Runs one row in every mode; all must agree with the table. */
static void check_case(const struct split_case *c)
{
	static const size_t chunks[] = {1, 3, 7, 65536};
	size_t inlen = strlen(c->in);
	char got[4096], msg[DIAG_MAX];
	/* An exact-size copy, so ASan sees reads past the input. */
	char *in = malloc(inlen ? inlen : 1);
	assert_non_null(in);
	memcpy(in, c->in, inlen);

	for (size_t m = 0; m <= sizeof(chunks) / sizeof(chunks[0]); m++) {
		struct feed f = {in, inlen, 0, 0, SIZE_MAX, 0};
		struct split *s;
		if (m == 0) {
			s = split_new_mem(in, inlen, c->max_elem);
		} else {
			f.chunk = chunks[m - 1];
			s = split_new(feed_read, &f, c->max_elem);
		}
		assert_non_null(s);
		assert_int_equal(split_kind(s), SPLIT_UNKNOWN);
		run(s, in, inlen, got, sizeof(got), msg);
		if (strcmp(got, c->want) != 0)
			fail_msg("%s (mode %zu): got <%s>, want <%s> (%s)",
				 c->name, m, got, c->want, msg);
		if (split_kind(s) != c->kind)
			fail_msg("%s (mode %zu): kind %s, want %s", c->name, m,
				 kind_name(split_kind(s)), kind_name(c->kind));
		if (c->errmsg != NULL && strstr(msg, c->errmsg) == NULL)
			fail_msg("%s (mode %zu): message <%s> lacks <%s>",
				 c->name, m, msg, c->errmsg);
		if (c->errmsg == NULL && msg[0] != '\0')
			fail_msg("%s (mode %zu): unexpected error <%s>",
				 c->name, m, msg);
		if (c->errmsg == NULL)
			assert_int_equal(split_bytes_read(s), inlen);
		split_free(s);
	}
	free(in);
}

static void test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_case(&cases[i]);
}

/* ------------------------------------------------------------------ */
/* Single behaviours                                                    */
/* ------------------------------------------------------------------ */

static void test_offsets(void **state)
{
	(void)state;
	const char *in =
	    "\xef\xbb\xbf{\"type\":\"bundle\",\"objects\":[ {\"a\":1},"
	    "\n  {\"b\":2}]}";
	static const uint64_t want[] = {32, 43};
	struct split *s = split_new_mem(in, strlen(in), 100);
	const char *e;
	size_t len;
	uint64_t off;
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(split_next(s, &e, &len, &off, NULL), 1);
		assert_int_equal(off, want[i]);
		assert_int_equal(len, 7);
	}
	assert_int_equal(split_next(s, &e, &len, &off, NULL), 0);
	assert_int_equal(split_bytes_read(s), strlen(in));
	split_free(s);
}

/* Depth: 64 levels in an element pass, 65 are skipped, and the stream
 * goes on to the next element. */
static void test_depth(void **state)
{
	(void)state;
	char in[512];
	size_t o = 0;
	in[o++] = '[';
	for (int i = 0; i < 64; i++)
		in[o++] = '[';
	for (int i = 0; i < 64; i++)
		in[o++] = ']';
	in[o++] = ',';
	/* 65 levels: {"k":[{"k":[ ... 1 ... ]}]} */
	for (int i = 0; i < 65; i++) {
		if (i % 2 == 0) {
			memcpy(in + o, "{\"k\":", 5);
			o += 5;
		} else {
			in[o++] = '[';
		}
	}
	in[o++] = '1';
	for (int i = 64; i >= 0; i--)
		in[o++] = i % 2 == 0 ? '}' : ']';
	memcpy(in + o, ",{}]", 4);
	o += 4;

	struct split *s = split_new_mem(in, o, 100000);
	const char *e;
	size_t len;
	uint64_t off;
	struct diag d = {{0}};
	assert_int_equal(split_next(s, &e, &len, &off, &d), 1);
	assert_int_equal(len, 128);
	assert_int_equal(split_next(s, &e, &len, &off, &d), ST_ELIMIT);
	assert_int_equal(off, 130);
	assert_non_null(strstr(d.msg, "deeper than 64"));
	assert_int_equal(split_next(s, &e, &len, &off, &d), 1);
	assert_memory_equal(e, "{}", 2);
	assert_int_equal(split_next(s, &e, &len, &off, &d), 0);
	split_free(s);
}

static void test_read_error(void **state)
{
	(void)state;
	const char *in = "[{\"a\":1},{\"b\":2}]";
	struct feed f = {in, strlen(in), 0, 4, 8, 0};
	struct split *s = split_new(feed_read, &f, 100);
	const char *e;
	size_t len;
	struct diag d = {{0}};
	assert_int_equal(split_next(s, &e, &len, NULL, &d), 1);
	int rc = split_next(s, &e, &len, NULL, &d);
	assert_int_equal(rc, ST_EIO);
	assert_non_null(strstr(d.msg, "at byte 8: read error"));
	assert_int_equal(split_next(s, &e, &len, NULL, NULL), ST_EIO);
	split_free(s);
}

/* A NULL splitter is fine to free; NULL diag and offset are allowed. */
static void test_null_args(void **state)
{
	(void)state;
	split_free(NULL);
	struct split *s = split_new_mem("[1]", 3, 10);
	const char *e;
	size_t len;
	assert_int_equal(split_next(s, &e, &len, NULL, NULL), 1);
	assert_int_equal(len, 1);
	assert_int_equal(split_next(s, &e, &len, NULL, NULL), 0);
	split_free(s);
}

/* ------------------------------------------------------------------ */
/* A large generated stream in bounded memory                           */
/* ------------------------------------------------------------------ */

struct gen {
	uint64_t total;	  /* bytes to produce (about) */
	uint64_t emitted; /* bytes produced */
	uint64_t objects; /* objects started */
	char pending[8192];
	size_t plen, ppos;
	int phase; /* 0 head, 1 objects, 2 tail, 3 done */
	size_t max_cap;
	size_t peak_heap;
};

/* Object n of the stream; every 5000th is larger than max_elem. */
static size_t gen_object(uint64_t n, char *out, size_t cap)
{
	int len;
	if (n % 5000 == 4999) {
		char pad[6000];
		memset(pad, 'p', sizeof(pad) - 1);
		pad[sizeof(pad) - 1] = '\0';
		len = snprintf(out, cap,
			       "%s{\"type\":\"note\",\"content\":\"%s\"}",
			       n ? "," : "", pad);
	} else {
		len = snprintf(out, cap,
			       "%s{\"type\":\"indicator\",\"spec_version\":"
			       "\"2.1\",\"id\":\"indicator--%08llx-0000-4000-"
			       "8000-000000000000\",\"created\":"
			       "\"2024-01-01T00:00:00.000Z\",\"name\":\"a "
			       "\\\"quoted\\\" {name} [%llu]\",\"pattern\":"
			       "\"[ipv4-addr:value = '198.51.100.%llu']\","
			       "\"labels\":[\"x\",[\"y\",{\"z\":null}]],"
			       "\"confidence\":%llu}",
			       n ? ",\n  " : "\n  ", (unsigned long long)n,
			       (unsigned long long)n,
			       (unsigned long long)(n % 256),
			       (unsigned long long)(n % 101));
	}
	return (size_t)len;
}

static ssize_t gen_read(void *ctx, char *buf, size_t cap)
{
	struct gen *g = ctx;
	size_t h = heap_in_use();
	if (h > g->peak_heap)
		g->peak_heap = h;
	if (cap > g->max_cap)
		g->max_cap = cap;
	size_t n = 0;
	while (n < cap && g->phase < 3) {
		if (g->ppos == g->plen) {
			g->ppos = 0;
			if (g->phase == 0) {
				g->plen = (size_t)snprintf(
				    g->pending, sizeof(g->pending),
				    "{\"type\":\"bundle\",\"id\":\"bundle--"
				    "1\",\"objects\":[");
				g->phase = 1;
			} else if (g->phase == 1 && g->emitted < g->total) {
				g->plen = gen_object(g->objects++, g->pending,
						     sizeof(g->pending));
			} else if (g->phase == 1) {
				g->plen = (size_t)snprintf(
				    g->pending, sizeof(g->pending), "\n]}\n");
				g->phase = 2;
			} else {
				g->phase = 3;
				break;
			}
		}
		size_t k = g->plen - g->ppos;
		if (k > cap - n)
			k = cap - n;
		memcpy(buf + n, g->pending + g->ppos, k);
		g->ppos += k;
		n += k;
		g->emitted += k;
	}
	return (ssize_t)n;
}

static void test_large_stream(void **state)
{
	(void)state;
	const size_t max_elem = 4096;
	const size_t chunk = (size_t)1 << 20;
	struct gen g = {0};
	g.total = (uint64_t)200 << 20;
	size_t heap0 = heap_in_use();
	g.peak_heap = heap0;

	struct split *s = split_new(gen_read, &g, max_elem);
	struct json_doc *doc = json_doc_new();
	assert_non_null(s);
	assert_non_null(doc);
	uint64_t n = 0, skipped = 0, last_off = 0;
	const char *e;
	size_t len;
	uint64_t off;
	int rc;
	struct diag d;
	while ((rc = split_next(s, &e, &len, &off, &d)) != 0) {
		if (rc == ST_ELIMIT) {
			skipped++;
			n++;
			continue;
		}
		assert_int_equal(rc, 1);
		assert_true(off > last_off);
		last_off = off;
		assert_true(len <= max_elem);
		assert_int_equal(e[0], '{');
		assert_int_equal(e[len - 1], '}');
		if (n % 997 == 0) {
			/* The element parses in place, padded. */
			const struct json_val *root;
			assert_int_equal(json_parse(doc, e, len,
						    JSON_PARSE_PADDED, NULL,
						    &root, &d),
					 ST_OK);
			assert_true(
			    json_str_eq(json_get(root, "type"), "indicator"));
		}
		n++;
	}
	assert_int_equal(split_kind(s), SPLIT_BUNDLE);
	assert_int_equal(n, g.objects);
	assert_int_equal(skipped, g.objects / 5000);
	assert_int_equal(split_bytes_read(s), g.emitted);
	assert_true(g.emitted >= g.total);
	/* The window never offered more than max_elem + chunk, and the heap
	 * (json_doc aside) stayed within that plus slack. */
	print_message("%llu objects, %llu bytes, heap +%zu, cap %zu\n",
		      (unsigned long long)n, (unsigned long long)g.emitted,
		      g.peak_heap - heap0, g.max_cap);
	assert_true(g.max_cap <= max_elem + chunk);
	size_t doc_slack = (size_t)1 << 20;
	if (g.peak_heap - heap0 > max_elem + chunk + JSON_PADDING + doc_slack)
		fail_msg("heap grew by %zu bytes", g.peak_heap - heap0);
	json_doc_free(doc);
	split_free(s);
}

/* split_all: every element's place at once, and what the input was. */
static void test_split_all(void **state)
{
	(void)state;
	const char *env =
	    "{\"more\":true,\"objects\":[{\"a\":1}, {\"b\":\"]\"}],"
	    "\"next\":\"x\"}";
	struct split_span *v = NULL;
	size_t n = 9;
	enum split_kind kind;
	struct diag d;
	assert_int_equal(
	    split_all(env, strlen(env), strlen(env) + 1, &v, &n, &kind, &d),
	    ST_OK);
	assert_int_equal(kind, SPLIT_ENVELOPE);
	assert_int_equal(n, 2);
	assert_memory_equal(env + v[0].off, "{\"a\":1}", v[0].len);
	assert_int_equal(v[1].len, strlen("{\"b\":\"]\"}"));
	assert_memory_equal(env + v[1].off, "{\"b\":\"]\"}", v[1].len);
	free(v);
	/* an object without "objects" is one element of its own */
	assert_int_equal(
	    split_all("{\"more\":false}", 14, 15, &v, &n, &kind, &d), ST_OK);
	assert_int_equal(kind, SPLIT_SINGLE);
	assert_int_equal(n, 1);
	free(v);
	/* malformed: an error naming where, and nothing returned */
	const char *bad = "{\"objects\":[{\"a\":1},";
	assert_true(split_all(bad, strlen(bad), 100, &v, &n, &kind, &d) < 0);
	assert_null(v);
	assert_int_equal(n, 0);
	assert_true(d.msg[0] != '\0');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_offsets),
	    cmocka_unit_test(test_depth),
	    cmocka_unit_test(test_read_error),
	    cmocka_unit_test(test_null_args),
	    cmocka_unit_test(test_large_stream),
	    cmocka_unit_test(test_split_all),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
