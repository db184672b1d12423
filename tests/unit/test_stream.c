/*
 * Unit tests of the live stream's pure parts (src/taxii/stream.c): the SSE
 * framing of events, data and comments, line breaks inside data (whole and
 * split between pieces), and the buffer cap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "taxii/taxii_int.h"

#include <stdio.h>
#include <string.h>

/* The data escaping, as a table: input, expected output. */
static const struct {
	const char *in;
	const char *out;
} data_cases[] = {
    {"", ""},
    {"{\"a\":1}", "{\"a\":1}"},
    {"a\nb", "a\ndata: b"},
    {"a\rb", "a\ndata: b"},
    {"a\r\nb", "a\ndata: b"},
    {"a\n\nb", "a\ndata: \ndata: b"},
    {"a\n\r\nb", "a\ndata: \ndata: b"},
    {"\n", "\ndata: "},
    {"\r", "\ndata: "},
    {"x\r", "x\ndata: "},
    {"\r\r", "\ndata: \ndata: "},
    {"caf\xc3\xa9 \xe2\x80\xa8", "caf\xc3\xa9 \xe2\x80\xa8"}, /* U+2028 */
};

static void test_data_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(data_cases) / sizeof(data_cases[0]);
	     i++) {
		struct buf b = BUF_INIT(1024);
		bool cr = false;
		const char *in = data_cases[i].in;
		assert_int_equal(sse_data_append(&b, in, strlen(in), &cr),
				 ST_OK);
		const char *got = b.data ? b.data : "";
		if (strcmp(got, data_cases[i].out) != 0)
			fail_msg("case %zu: got '%s'", i, got);
		assert_int_equal(sse_data_len(in, strlen(in)),
				 strlen(data_cases[i].out));
		buf_free(&b);
	}
}

/* Any split of the input into two pieces gives the same output as one. */
static void test_data_pieces(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(data_cases) / sizeof(data_cases[0]);
	     i++) {
		const char *in = data_cases[i].in;
		size_t n = strlen(in);
		for (size_t cut = 0; cut <= n; cut++) {
			struct buf b = BUF_INIT(1024);
			bool cr = false;
			assert_int_equal(sse_data_append(&b, in, cut, &cr),
					 ST_OK);
			assert_int_equal(
			    sse_data_append(&b, in + cut, n - cut, &cr), ST_OK);
			const char *got = b.data ? b.data : "";
			if (strcmp(got, data_cases[i].out) != 0)
				fail_msg("case %zu cut %zu: got '%s'", i, cut,
					 got);
			buf_free(&b);
		}
	}
}

static void test_event(void **state)
{
	(void)state;
	struct buf b = BUF_INIT(1024);
	const char *body = "{\"id\":\"indicator--1\",\"type\":\"indicator\"}";
	assert_int_equal(sse_event_append(&b, "CURSOR_1", body, strlen(body)),
			 ST_OK);
	assert_string_equal(b.data, "id: CURSOR_1\nevent: object\ndata: "
				    "{\"id\":\"indicator--1\",\"type\":"
				    "\"indicator\"}\n\n");
	/* A data value with a break cannot end the event early. */
	buf_reset(&b);
	assert_int_equal(sse_event_append(&b, "C2", "a\n\nid: forged", 13),
			 ST_OK);
	assert_string_equal(b.data, "id: C2\nevent: object\ndata: a\ndata: "
				    "\ndata: id: forged\n\n");
	/* An id with a line break is refused and nothing is written. */
	buf_reset(&b);
	assert_int_equal(sse_event_append(&b, "C\n3", "x", 1), ST_EINVAL);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

static void test_comment(void **state)
{
	(void)state;
	struct buf b = BUF_INIT(64);
	assert_int_equal(sse_comment_append(&b, "keepalive"), ST_OK);
	assert_string_equal(b.data, ": keepalive\n\n");
	assert_int_equal(sse_comment_append(&b, "two\nlines"), ST_EINVAL);
	assert_string_equal(b.data, ": keepalive\n\n");
	buf_free(&b);
}

/* Over the buffer's cap an event is not written at all (no half event),
 * and what was there before stays. */
static void test_event_cap(void **state)
{
	(void)state;
	struct buf b = BUF_INIT(64);
	assert_int_equal(sse_event_append(&b, "A", "{}", 2), ST_OK);
	size_t before = b.len;
	char big[100];
	memset(big, 'x', sizeof(big));
	assert_int_equal(sse_event_append(&b, "B", big, sizeof(big)),
			 ST_ELIMIT);
	assert_int_equal(b.len, before);
	assert_string_equal(b.data, "id: A\nevent: object\ndata: {}\n\n");
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_data_table),
	    cmocka_unit_test(test_data_pieces),
	    cmocka_unit_test(test_event),
	    cmocka_unit_test(test_comment),
	    cmocka_unit_test(test_event_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
