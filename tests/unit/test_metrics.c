/*
 * Unit tests of /metrics (src/taxii/metrics.c): counters by route and
 * status, the latency histogram's buckets, the text format (0.0.4) and its
 * label escaping, counting from many threads at once; and the routes whose
 * final slash is optional (/metrics as Prometheus scrapes it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "taxii/taxii_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int h_none(struct http_request *req, struct http_response *resp)
{
	(void)req;
	(void)resp;
	return ST_OK;
}

static const struct http_route routes[] = {
    {HTTP_GET, "/a/", h_none, 0, "alpha"},
    {HTTP_GET, "/s/{id}/stream/", h_none,
     HTTP_ROUTE_STREAM | HTTP_ROUTE_SLASH_OPTIONAL, "stream"},
    {HTTP_GET, "/metrics/", h_none, HTTP_ROUTE_SLASH_OPTIONAL, "metrics"},
    {HTTP_POST, "/metrics/", h_none, HTTP_ROUTE_SLASH_OPTIONAL, "post"},
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

static char *render(struct metrics *m)
{
	struct metrics_gauges g;
	memset(&g, 0, sizeof(g));
	g.store_versions = 12;
	g.store_objects = 10;
	g.store_bytes = 4096;
	g.streams = 3;
	g.stream_events = 7;
	g.rss_bytes = 1 << 20;
	g.start_time = 1700000000.5;
	struct buf b = BUF_INIT(1 << 20);
	assert_int_equal(metrics_render(m, &g, &b), ST_OK);
	size_t len;
	return buf_take(&b, &len);
}

static void assert_line(const char *text, const char *line)
{
	char want[512];
	snprintf(want, sizeof(want), "\n%s\n", line);
	if (strstr(text, want) == NULL)
		fail_msg("missing line '%s' in:\n%s", line, text);
}

static void test_counts_and_buckets(void **state)
{
	(void)state;
	struct metrics *m = metrics_new(routes, NROUTES);
	assert_non_null(m);
	metrics_observe(m, &routes[0], 200, 0.5);   /* le 0.001 */
	metrics_observe(m, &routes[0], 200, 3.0);   /* le 0.005 */
	metrics_observe(m, &routes[0], 404, 20000); /* +Inf only */
	metrics_observe(m, &routes[1], 200, 60000); /* a stream */
	metrics_observe(m, NULL, 404, 0.1);	    /* no route */
	metrics_observe(m, &routes[2], 0, 1.0);	    /* nothing sent */
	char *t = render(m);
	assert_line(t, "strait_http_requests_total{route=\"alpha\",code="
		       "\"200\"} 2");
	assert_line(t, "strait_http_requests_total{route=\"alpha\",code="
		       "\"404\"} 1");
	assert_line(t, "strait_http_requests_total{route=\"stream\",code="
		       "\"200\"} 1");
	assert_line(t, "strait_http_requests_total{route=\"none\",code="
		       "\"404\"} 1");
	assert_line(t, "strait_http_requests_total{route=\"metrics\",code="
		       "\"0\"} 1");
	assert_line(t, "strait_http_request_duration_seconds_bucket{route="
		       "\"alpha\",le=\"0.001\"} 1");
	assert_line(t, "strait_http_request_duration_seconds_bucket{route="
		       "\"alpha\",le=\"0.0025\"} 1");
	assert_line(t, "strait_http_request_duration_seconds_bucket{route="
		       "\"alpha\",le=\"0.005\"} 2");
	assert_line(t, "strait_http_request_duration_seconds_bucket{route="
		       "\"alpha\",le=\"10\"} 2");
	assert_line(t, "strait_http_request_duration_seconds_bucket{route="
		       "\"alpha\",le=\"+Inf\"} 3");
	assert_line(t, "strait_http_request_duration_seconds_sum{route="
		       "\"alpha\"} 20.003500");
	assert_line(t, "strait_http_request_duration_seconds_count{route="
		       "\"alpha\"} 3");
	/* Streams are counted, never timed. */
	assert_null(strstr(t, "duration_seconds_bucket{route=\"stream\""));
	assert_line(t, "# TYPE strait_http_request_duration_seconds "
		       "histogram");
	assert_line(t, "strait_stream_subscribers 3");
	assert_line(t, "# TYPE strait_stream_subscribers gauge");
	assert_line(t, "strait_stream_events_total 7");
	assert_line(t, "strait_store_versions 12");
	assert_line(t, "strait_store_objects 10");
	assert_line(t, "strait_store_size_bytes 4096");
	assert_line(t, "process_resident_memory_bytes 1048576");
	assert_line(t, "process_start_time_seconds 1700000000.500");
	/* Every line is a comment or "name{labels} value" / "name value". */
	for (char *p = t, *nl; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		assert_non_null(nl);
		assert_true(nl > p);
		if (*p != '#')
			assert_non_null(memchr(p, ' ', (size_t)(nl - p)));
	}
	free(t);
	metrics_free(m);
	metrics_free(NULL);
}

/* More distinct codes than the per-route table holds go to "other". */
static void test_many_codes(void **state)
{
	(void)state;
	struct metrics *m = metrics_new(routes, NROUTES);
	for (int code = 200; code < 240; code++)
		metrics_observe(m, &routes[0], code, 1);
	char *t = render(m);
	assert_line(t, "strait_http_requests_total{route=\"alpha\",code="
		       "\"200\"} 1");
	assert_line(t, "strait_http_requests_total{route=\"alpha\",code="
		       "\"other\"} 24");
	free(t);
	metrics_free(m);
}

static void test_label_escape(void **state)
{
	(void)state;
	struct buf b = BUF_INIT(64);
	assert_int_equal(metrics_label_append(&b, "a\"b\\c\nd"), ST_OK);
	assert_string_equal(b.data, "a\\\"b\\\\c\\nd");
	buf_free(&b);
	assert_true(metrics_rss_bytes() > 0);
	assert_true(metrics_process_start() > 1600000000.0);
}

struct hammer {
	struct metrics *m;
	int code;
};

static void *hammer_main(void *arg)
{
	struct hammer *h = arg;
	for (int i = 0; i < 10000; i++)
		metrics_observe(h->m, &routes[i % 2 ? 0 : 2], h->code + i % 3,
				0.2);
	return NULL;
}

/* Concurrent observers: no count is lost, no code slot is doubled. */
static void test_threads(void **state)
{
	(void)state;
	struct metrics *m = metrics_new(routes, NROUTES);
	pthread_t th[8];
	struct hammer h[8];
	for (int i = 0; i < 8; i++) {
		h[i] = (struct hammer){m, 200 + (i % 2) * 100};
		assert_int_equal(
		    pthread_create(&th[i], NULL, hammer_main, &h[i]), 0);
	}
	for (int i = 0; i < 8; i++)
		pthread_join(th[i], NULL);
	char *t = render(m);
	/* 8 threads x 10000, half to each route: 40000 per route. */
	assert_line(t, "strait_http_request_duration_seconds_count{route="
		       "\"alpha\"} 40000");
	assert_line(t, "strait_http_request_duration_seconds_count{route="
		       "\"metrics\"} 40000");
	unsigned long long total = 0;
	int lines = 0;
	for (const char *p = t; (p = strstr(p, "requests_total{route=\"alpha"
					       "\",code=\"")) != NULL;
	     p++) {
		const char *v = strchr(p, '}');
		total += strtoull(v + 2, NULL, 10);
		lines++;
	}
	assert_int_equal(total, 40000);
	assert_int_equal(lines, 6); /* 200..202 and 300..302 */
	free(t);
	metrics_free(m);
}

/* Routes flagged HTTP_ROUTE_SLASH_OPTIONAL match without the final
 * slash; every other route still needs it. */
static void test_slash_optional(void **state)
{
	(void)state;
	static const struct {
		unsigned method;
		const char *path;
		enum http_match_result want;
		const char *route;
	} cases[] = {
	    {HTTP_GET, "/metrics", HTTP_MATCH_OK, "metrics"},
	    {HTTP_GET, "/metrics/", HTTP_MATCH_OK, "metrics"},
	    {HTTP_POST, "/metrics", HTTP_MATCH_OK, "post"},
	    {HTTP_PUT, "/metrics", HTTP_MATCH_BAD_METHOD, NULL},
	    {HTTP_GET, "/a/", HTTP_MATCH_OK, "alpha"},
	    {HTTP_GET, "/a", HTTP_MATCH_NOT_FOUND, NULL},
	    {HTTP_GET, "/s/x1/stream", HTTP_MATCH_OK, "stream"},
	    {HTTP_GET, "/s/x1/stream/", HTTP_MATCH_OK, "stream"},
	    {HTTP_GET, "/s//stream", HTTP_MATCH_NOT_FOUND, NULL},
	    {HTTP_GET, "/metricsx", HTTP_MATCH_NOT_FOUND, NULL},
	    {HTTP_GET, "/metrics//", HTTP_MATCH_NOT_FOUND, NULL},
	    {HTTP_GET, "", HTTP_MATCH_NOT_FOUND, NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct http_match m;
		enum http_match_result r =
		    http_route_match(routes, NROUTES, cases[i].method,
				     cases[i].path, strlen(cases[i].path), &m);
		if (r != cases[i].want)
			fail_msg("case %zu (%s): got %d", i, cases[i].path,
				 (int)r);
		if (cases[i].route != NULL)
			assert_string_equal(m.route->name, cases[i].route);
	}
	struct http_match m;
	assert_int_equal(http_route_match(routes, NROUTES, HTTP_GET,
					  "/s/abc/stream", 13, &m),
			 HTTP_MATCH_OK);
	assert_int_equal(m.n_params, 1);
	assert_string_equal(m.values[0], "abc");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_counts_and_buckets),
	    cmocka_unit_test(test_many_codes),
	    cmocka_unit_test(test_label_escape),
	    cmocka_unit_test(test_threads),
	    cmocka_unit_test(test_slash_optional),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
