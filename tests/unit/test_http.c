/*
 * Unit tests of the HTTP core (src/taxii/http.c, http_parse.c): the pure
 * parsers as tables (routes, query strings, Accept and Content-Type,
 * listen addresses, error bodies), then a real server on loopback driven
 * by libcurl, raw sockets and a GnuTLS client: statuses, body caps, the
 * access log, concurrency caps, the peer listener, graceful stop with an
 * open stream, and TLS with client certificates made here by openssl.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/json.h"
#include "taxii/http.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static void sleep_us(long us)
{
	struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
	nanosleep(&ts, NULL);
}

/* ------------------------------------------------------------------ */
/* Routes                                                               */
/* ------------------------------------------------------------------ */

static int h_nop(struct http_request *req, struct http_response *resp)
{
	(void)req;
	(void)resp;
	return ST_OK;
}

static const struct http_route table[] = {
    {HTTP_GET, "/taxii2/", h_nop, 0, "discovery"},
    {HTTP_GET, "/{root}/", h_nop, 0, "root"},
    {HTTP_GET, "/{root}/collections/", h_nop, 0, "collections"},
    {HTTP_GET | HTTP_POST, "/{root}/collections/{id}/objects/", h_nop, 0,
     "objects"},
    {HTTP_GET | HTTP_DELETE, "/{root}/collections/{id}/objects/{object}/",
     h_nop, 0, "object"},
    {HTTP_GET, "/{root}/collections/{id}/objects/{object}/versions/", h_nop, 0,
     "versions"},
    {HTTP_GET, "/{root}/status/{sid}/", h_nop, 0, "status"},
};
#define NTABLE (sizeof(table) / sizeof(table[0]))

static const struct {
	unsigned method;
	const char *path;
	enum http_match_result want;
	const char *route;  /* on OK */
	const char *params; /* "root=a,id=b" on OK; allow string on 405 */
} route_cases[] = {
    {HTTP_GET, "/taxii2/", HTTP_MATCH_OK, "discovery", ""},
    {HTTP_HEAD, "/taxii2/", HTTP_MATCH_OK, "discovery", ""},
    {HTTP_GET, "/api1/", HTTP_MATCH_OK, "root", "root=api1"},
    {HTTP_GET, "/api1/collections/", HTTP_MATCH_OK, "collections", "root=api1"},
    {HTTP_GET, "/api1/collections/c1/objects/", HTTP_MATCH_OK, "objects",
     "root=api1,id=c1"},
    {HTTP_POST, "/api1/collections/c1/objects/", HTTP_MATCH_OK, "objects",
     "root=api1,id=c1"},
    {HTTP_DELETE, "/r/collections/c/objects/indicator--1/", HTTP_MATCH_OK,
     "object", "root=r,id=c,object=indicator--1"},
    {HTTP_GET, "/r/collections/c/objects/o/versions/", HTTP_MATCH_OK,
     "versions", "root=r,id=c,object=o"},
    {HTTP_GET, "/r/status/s1/", HTTP_MATCH_OK, "status", "root=r,sid=s1"},
    /* Parameters are percent-decoded; literals are not. */
    {HTTP_GET, "/api%31/", HTTP_MATCH_OK, "root", "root=api1"},
    {HTTP_GET, "/a%20b/", HTTP_MATCH_OK, "root", "root=a b"},
    {HTTP_GET, "/r/collection%73/", HTTP_MATCH_NOT_FOUND, NULL, NULL},
    /* 405 with the methods that would have matched. */
    {HTTP_DELETE, "/api1/collections/c1/objects/", HTTP_MATCH_BAD_METHOD, NULL,
     "GET, HEAD, POST"},
    {HTTP_PUT, "/r/collections/c/objects/o/", HTTP_MATCH_BAD_METHOD, NULL,
     "GET, HEAD, DELETE"},
    {HTTP_POST, "/taxii2/", HTTP_MATCH_BAD_METHOD, NULL, "GET, HEAD"},
    {0, "/taxii2/", HTTP_MATCH_BAD_METHOD, NULL, "GET, HEAD"},
    /* The trailing slash is required; empty segments match nothing. */
    {HTTP_GET, "/taxii2", HTTP_MATCH_NOT_FOUND, NULL, NULL},
    {HTTP_GET, "/api1/collections", HTTP_MATCH_NOT_FOUND, NULL, NULL},
    {HTTP_GET, "//collections/", HTTP_MATCH_NOT_FOUND, NULL, NULL},
    {HTTP_GET, "/api1//", HTTP_MATCH_NOT_FOUND, NULL, NULL},
    {HTTP_GET, "/", HTTP_MATCH_NOT_FOUND, NULL, NULL},
    {HTTP_GET, "", HTTP_MATCH_NOT_FOUND, NULL, NULL},
    {HTTP_GET, "taxii2/", HTTP_MATCH_NOT_FOUND, NULL, NULL},
    {HTTP_GET, "/a/b/c/d/e/f/g/", HTTP_MATCH_NOT_FOUND, NULL, NULL},
    /* A decoded '/' never lands in a parameter. */
    {HTTP_GET, "/a%2Fb/", HTTP_MATCH_NOT_FOUND, NULL, NULL},
    /* Malformed escapes and NUL: 400, whatever the route. */
    {HTTP_GET, "/api%2/", HTTP_MATCH_BAD_REQUEST, NULL, NULL},
    {HTTP_GET, "/api%zz/", HTTP_MATCH_BAD_REQUEST, NULL, NULL},
    {HTTP_GET, "/a%00/", HTTP_MATCH_BAD_REQUEST, NULL, NULL},
    {HTTP_GET, "/nothing/%/", HTTP_MATCH_BAD_REQUEST, NULL, NULL},
};

static void test_route_table(void **state)
{
	(void)state;
	struct http_match m;

	for (size_t i = 0; i < sizeof(route_cases) / sizeof(route_cases[0]);
	     i++) {
		const char *p = route_cases[i].path;
		enum http_match_result r = http_route_match(
		    table, NTABLE, route_cases[i].method, p, strlen(p), &m);
		if (r != route_cases[i].want)
			fail_msg("%s: result %d, want %d", p, r,
				 route_cases[i].want);
		if (r == HTTP_MATCH_OK) {
			assert_string_equal(m.route->name,
					    route_cases[i].route);
			char got[256] = "";
			for (size_t k = 0; k < m.n_params; k++) {
				char one[128];
				snprintf(one, sizeof(one), "%s%.*s=%s",
					 k ? "," : "", (int)m.name_lens[k],
					 m.names[k], m.values[k]);
				strcat(got, one);
			}
			assert_string_equal(got, route_cases[i].params);
		}
		if (r == HTTP_MATCH_BAD_METHOD) {
			char allow[64];
			http_allow_string(m.allow, allow, sizeof(allow));
			assert_string_equal(allow, route_cases[i].params);
		}
	}
}

static void test_route_limits(void **state)
{
	(void)state;
	struct http_match m;
	char path[HTTP_MAX_PATH + 16];

	/* Longest allowed path, as one parameter. */
	memset(path, 'a', sizeof(path));
	path[0] = '/';
	path[HTTP_MAX_PATH - 1] = '/';
	assert_int_equal(
	    http_route_match(table, NTABLE, HTTP_GET, path, HTTP_MAX_PATH, &m),
	    HTTP_MATCH_OK);
	assert_int_equal(strlen(m.values[0]), HTTP_MAX_PATH - 2);
	path[HTTP_MAX_PATH] = '/';
	assert_int_equal(http_route_match(table, NTABLE, HTTP_GET, path,
					  HTTP_MAX_PATH + 1, &m),
			 HTTP_MATCH_BAD_REQUEST);
	/* More segments than HTTP_MAX_SEGMENTS. */
	size_t n = 0;
	path[n++] = '/';
	for (int i = 0; i < HTTP_MAX_SEGMENTS + 1; i++) {
		path[n++] = 'x';
		path[n++] = '/';
	}
	assert_int_equal(http_route_match(table, NTABLE, HTTP_GET, path, n, &m),
			 HTTP_MATCH_NOT_FOUND);
	/* Methods. */
	assert_int_equal(http_method_parse("GET", 3), HTTP_GET);
	assert_int_equal(http_method_parse("DELETE", 6), HTTP_DELETE);
	assert_int_equal(http_method_parse("get", 3), 0);
	assert_int_equal(http_method_parse("GETX", 4), 0);
	assert_string_equal(http_method_name(HTTP_OPTIONS), "OPTIONS");
}

/* ------------------------------------------------------------------ */
/* Query strings                                                        */
/* ------------------------------------------------------------------ */

static const struct {
	const char *qs;
	int rc;
	const char *want; /* "k=v|k=v" in order */
} query_cases[] = {
    {"", ST_OK, ""},
    {"a=1", ST_OK, "a=1"},
    {"match[type]=indicator,malware&match[type]=sighting&limit=10", ST_OK,
     "match[type]=indicator,malware|match[type]=sighting|limit=10"},
    {"match%5Btype%5D=x", ST_OK, "match[type]=x"},
    {"a=%41%42&b=x+y", ST_OK, "a=AB|b=x y"},
    {"added_after=2016-01-01T00:00:00.000000Z", ST_OK,
     "added_after=2016-01-01T00:00:00.000000Z"},
    {"a=%2B1", ST_OK, "a=+1"},
    {"k", ST_OK, "k="},
    {"k=", ST_OK, "k="},
    {"a=b=c", ST_OK, "a=b=c"},
    {"a=1&&b=2&", ST_OK, "a=1|b=2"},
    {"&&&", ST_OK, ""},
    {"a=%C3%A9", ST_OK, "a=\xc3\xa9"},
    {"=v", ST_EINVAL, NULL},
    {"%3D=v", ST_OK, "==v"},
    {"a=1&=2", ST_EINVAL, NULL},
    {"a=%zz", ST_EINVAL, NULL},
    {"a=%4", ST_EINVAL, NULL},
    {"a=%", ST_EINVAL, NULL},
    {"a%=1", ST_EINVAL, NULL},
    {"a=%00", ST_EINVAL, NULL},
    {"a=%0A", ST_EINVAL, NULL},
    {"a=%7F", ST_EINVAL, NULL},
    {"a=%C3", ST_EINVAL, NULL},
    {"a=%C0%AF", ST_EINVAL, NULL},
    {"a=%ED%A0%80", ST_EINVAL, NULL},
    {"a=%F5%80%80%80", ST_EINVAL, NULL},
};

static void kv_string(const struct http_query *q, char *out, size_t cap)
{
	size_t o = 0;
	out[0] = '\0';
	for (size_t i = 0; i < q->n; i++)
		o += (size_t)snprintf(out + o, cap - o, "%s%s=%s", i ? "|" : "",
				      q->items[i].key, q->items[i].value);
}

static void test_query_table(void **state)
{
	(void)state;
	struct http_query q;
	struct diag d;
	char got[512];

	for (size_t i = 0; i < sizeof(query_cases) / sizeof(query_cases[0]);
	     i++) {
		const char *qs = query_cases[i].qs;
		int rc = http_query_parse(qs, strlen(qs), 32, 2048, &q, &d);
		if (rc != query_cases[i].rc)
			fail_msg("'%s': rc %d, want %d", qs, rc,
				 query_cases[i].rc);
		if (rc == ST_OK) {
			kv_string(&q, got, sizeof(got));
			assert_string_equal(got, query_cases[i].want);
		} else {
			assert_int_equal(q.n, 0);
			assert_null(q.items);
			/* The message never echoes the value. */
			assert_null(strstr(d.msg, "zz"));
		}
		http_query_free(&q);
	}
	/* Accessors. */
	const char *qs = "match[type]=a&limit=5&match[type]=b";
	assert_int_equal(http_query_parse(qs, strlen(qs), 32, 2048, &q, NULL),
			 ST_OK);
	assert_string_equal(http_query_get(&q, "match[type]"), "a");
	assert_int_equal(http_query_count(&q, "match[type]"), 2);
	assert_int_equal(http_query_count(&q, "next"), 0);
	assert_null(http_query_get(&q, "next"));
	http_query_free(&q);
	/* NULL is an empty query; free twice is harmless. */
	assert_int_equal(http_query_parse(NULL, 0, 32, 2048, &q, NULL), ST_OK);
	assert_int_equal(q.n, 0);
	http_query_free(&q);
	http_query_free(&q);
}

static void test_query_limits(void **state)
{
	(void)state;
	struct http_query q;
	struct diag d;
	struct buf b = BUF_INIT(1 << 20);

	for (int i = 0; i < 32; i++)
		buf_printf(&b, "%sp%d=%d", i ? "&" : "", i, i);
	assert_int_equal(http_query_parse(b.data, b.len, 32, 2048, &q, &d),
			 ST_OK);
	assert_int_equal(q.n, 32);
	http_query_free(&q);
	buf_adds(&b, "&one=more");
	assert_int_equal(http_query_parse(b.data, b.len, 32, 2048, &q, &d),
			 ST_ELIMIT);
	assert_int_equal(q.n, 0);

	/* A value of exactly max_value decoded bytes passes; one more does
	   not. Encoded length does not count: %41 is one byte. */
	buf_reset(&b);
	buf_adds(&b, "v=");
	for (int i = 0; i < 2048; i++)
		buf_adds(&b, "%41");
	assert_int_equal(http_query_parse(b.data, b.len, 32, 2048, &q, &d),
			 ST_OK);
	assert_int_equal(q.items[0].value_len, 2048);
	http_query_free(&q);
	buf_adds(&b, "A");
	assert_int_equal(http_query_parse(b.data, b.len, 32, 2048, &q, &d),
			 ST_ELIMIT);
	/* Keys are bounded too. */
	buf_reset(&b);
	for (int i = 0; i < 2049; i++)
		buf_addc(&b, 'k');
	buf_adds(&b, "=1");
	assert_int_equal(http_query_parse(b.data, b.len, 32, 2048, &q, &d),
			 ST_ELIMIT);
	buf_free(&b);

	/* Percent-decoding on its own. */
	char out[16];
	assert_int_equal(http_pct_decode("a%2fb+c", 7, out, true), 5);
	assert_string_equal(out, "a/b c");
	assert_int_equal(http_pct_decode("a+b", 3, out, false), 3);
	assert_string_equal(out, "a+b");
	assert_int_equal(http_pct_decode("%", 1, out, false), -1);
	assert_int_equal(http_pct_decode("%g0", 3, out, false), -1);
}

/* ------------------------------------------------------------------ */
/* Content negotiation                                                  */
/* ------------------------------------------------------------------ */

static const struct {
	const char *accept;
	bool ok;
} accept_cases[] = {
    {"", true},
    {"   ", true},
    {"application/taxii+json;version=2.1", true},
    {"application/taxii+json", true},
    {"application/taxii+json; version=2.1", true},
    {"Application/TAXII+JSON ; Version = 2.1", true},
    {"application/taxii+json;version=\"2.1\"", true},
    {"application/taxii+json;version=2.1;q=0.5", true},
    {"application/taxii+json;charset=utf-8", true},
    {"*/*", true},
    {"application/*", true},
    {"text/html, application/xhtml+xml, */*;q=0.8", true},
    {"application/json, application/taxii+json;version=2.1", true},
    {"application/taxii+json;version=2.1,,", true},
    {" , application/taxii+json", true},
    {"application/taxii+json;version=2.0, */*;q=0.1", true},
    {"application/taxii+json;q=1.000", true},
    {"application/taxii+json;version=2.0", false},
    {"application/taxii+json;version=\"2.0\"", false},
    {"application/taxii+json;version=2.1;version=2.0", false},
    {"application/json", false},
    {"application/stix+json;version=2.1", false},
    {"text/*", false},
    {"*/json", false},
    {"application/taxii+json;q=0", false},
    {"application/taxii+json;q=0.000", false},
    {"application/taxii+json;q=0, */*", false},
    {"*/*;q=0", false},
    {"application/taxii+json;q=1.5", false},
    {"application/taxii+json;q=abc", false},
    {"application/taxii+json;version", false},
    {"application/taxii+json;version=\"2.1", false},
    {"garbage", false},
    {"application/", false},
    {"/taxii+json", false},
};

static const struct {
	const char *ctype;
	bool ok;
} ctype_cases[] = {
    {"application/taxii+json;version=2.1", true},
    {"application/taxii+json", true},
    {"application/taxii+json; charset=utf-8; version=2.1", true},
    {"APPLICATION/TAXII+JSON;VERSION=2.1", true},
    {"application/taxii+json ; version = \"2.1\" ", true},
    {"application/taxii+json;version=2.0", false},
    {"application/json", false},
    {"application/stix+json;version=2.1", false},
    {"application/taxii+json, text/plain", false},
    {"*/*", false},
    {"application/*", false},
    {"", false},
    {"application/taxii+json;", true},
    {"application/taxii+json;version=2.1;version=2.1", false},
    {"application/taxii+json x", false},
};

static void test_accept_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(accept_cases) / sizeof(accept_cases[0]);
	     i++) {
		const char *a = accept_cases[i].accept;
		bool ok = http_accepts(a, strlen(a), HTTP_TAXII_TYPE,
				       HTTP_TAXII_VERSION);
		if (ok != accept_cases[i].ok)
			fail_msg("Accept '%s': %d, want %d", a, ok,
				 accept_cases[i].ok);
	}
	assert_true(http_accepts(NULL, 0, HTTP_TAXII_TYPE, "2.1"));
	/* Other media types use the same function. */
	assert_true(
	    http_accepts("text/event-stream", 17, "text/event-stream", NULL));
	assert_false(http_accepts("text/event-stream;version=1", 27,
				  "text/event-stream", NULL));
	/* Over the size and count bounds: not acceptable. */
	struct buf b = BUF_INIT(1 << 20);
	for (int i = 0; i < 70; i++)
		buf_adds(&b, "text/plain, ");
	buf_adds(&b, "*/*");
	assert_false(http_accepts(b.data, b.len, HTTP_TAXII_TYPE, "2.1"));
	buf_free(&b);

	for (size_t i = 0; i < sizeof(ctype_cases) / sizeof(ctype_cases[0]);
	     i++) {
		const char *c = ctype_cases[i].ctype;
		bool ok = http_content_type_is(c, strlen(c), HTTP_TAXII_TYPE,
					       HTTP_TAXII_VERSION);
		if (ok != ctype_cases[i].ok)
			fail_msg("Content-Type '%s': %d, want %d", c, ok,
				 ctype_cases[i].ok);
	}
	assert_false(http_content_type_is(NULL, 0, HTTP_TAXII_TYPE, "2.1"));
}

/* ------------------------------------------------------------------ */
/* Listen addresses                                                     */
/* ------------------------------------------------------------------ */

static void test_listen(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		int rc;
		int family;
		uint16_t port;
		bool loopback;
	} cases[] = {
	    {"127.0.0.1:7400", ST_OK, AF_INET, 7400, true},
	    {"127.1.2.3:0", ST_OK, AF_INET, 0, true},
	    {"localhost:80", ST_OK, AF_INET, 80, true},
	    {"0.0.0.0:7400", ST_OK, AF_INET, 7400, false},
	    {"192.0.2.1:65535", ST_OK, AF_INET, 65535, false},
	    {"[::1]:7400", ST_OK, AF_INET6, 7400, true},
	    {"[::]:1", ST_OK, AF_INET6, 1, false},
	    {"[::ffff:127.0.0.1]:5", ST_OK, AF_INET6, 5, true},
	    {"[2001:db8::1]:443", ST_OK, AF_INET6, 443, false},
	    {"127.0.0.1", ST_EINVAL, 0, 0, false},
	    {"127.0.0.1:", ST_EINVAL, 0, 0, false},
	    {"127.0.0.1:65536", ST_EINVAL, 0, 0, false},
	    {"127.0.0.1:-1", ST_EINVAL, 0, 0, false},
	    {"127.0.0.1:80x", ST_EINVAL, 0, 0, false},
	    {"::1:7400", ST_EINVAL, 0, 0, false},
	    {"[::1]7400", ST_EINVAL, 0, 0, false},
	    {"[127.0.0.1]:80", ST_EINVAL, 0, 0, false},
	    {"example.org:80", ST_EINVAL, 0, 0, false},
	    {"", ST_EINVAL, 0, 0, false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sockaddr_storage ss;
		bool lb;
		struct diag d;
		int rc = http_parse_listen(cases[i].s, &ss, &lb, &d);
		if (rc != cases[i].rc)
			fail_msg("'%s': rc %d", cases[i].s, rc);
		if (rc != ST_OK)
			continue;
		assert_int_equal(ss.ss_family, cases[i].family);
		uint16_t port =
		    ss.ss_family == AF_INET
			? ntohs(((struct sockaddr_in *)&ss)->sin_port)
			: ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
		assert_int_equal(port, cases[i].port);
		assert_int_equal(lb, cases[i].loopback);
	}
}

/* ------------------------------------------------------------------ */
/* Error bodies: the one mapping                                        */
/* ------------------------------------------------------------------ */

static const char *resp_header(const struct http_response *r, const char *name)
{
	for (size_t i = 0; i < r->n_headers; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

/* Checks body is a TAXII error with the status as a string. */
static void check_error_body(const char *body, size_t len, int status,
			     const char *description)
{
	struct json_doc *doc = json_doc_new();
	const struct json_val *root, *v;
	char code[8];

	assert_non_null(doc);
	assert_int_equal(json_parse(doc, body, len, 0, NULL, &root, NULL),
			 ST_OK);
	assert_int_equal(root->type, JSON_OBJECT);
	v = json_get(root, "title");
	assert_non_null(v);
	assert_int_equal(v->type, JSON_STRING);
	assert_true(v->len > 0);
	snprintf(code, sizeof(code), "%d", status);
	assert_true(json_str_eq(json_get(root, "http_status"), code));
	if (description != NULL)
		assert_true(
		    json_str_eq(json_get(root, "description"), description));
	json_doc_free(doc);
}

static void test_error_body(void **state)
{
	(void)state;
	struct http_response r;

	memset(&r, 0, sizeof(r));
	buf_init(&r.body, 1 << 16);
	buf_adds(&r.body, "partial output that must disappear");
	http_response_header(&r, "X-Stale", "1");
	assert_int_equal(http_error(&r, 404, NULL, "no such \"thing\""), ST_OK);
	assert_int_equal(r.status, 404);
	assert_string_equal(r.content_type, HTTP_TAXII_CTYPE);
	assert_null(resp_header(&r, "X-Stale"));
	check_error_body(r.body.data, r.body.len, 404, "no such \"thing\"");
	assert_non_null(strstr(r.body.data, "\"title\":\"Not Found\""));

	http_error(&r, 401, "Unauthorized", NULL);
	assert_string_equal(resp_header(&r, "WWW-Authenticate"),
			    "Basic realm=\"strait\", Bearer");
	check_error_body(r.body.data, r.body.len, 401, NULL);
	assert_null(strstr(r.body.data, "description"));

	http_error(&r, 429, NULL, NULL);
	assert_string_equal(resp_header(&r, "Retry-After"), "1");
	r.retry_after_s = 30;
	http_error(&r, 503, NULL, NULL);
	assert_string_equal(resp_header(&r, "Retry-After"), "30");
	assert_null(resp_header(&r, "WWW-Authenticate"));

	/* A description that is not UTF-8 still gives a valid body. */
	http_error(&r, 400, NULL, "bad \xff byte");
	check_error_body(r.body.data, r.body.len, 400, NULL);
	/* Not an error status: 500. */
	http_error(&r, 200, NULL, NULL);
	assert_int_equal(r.status, 500);
	/* A 500 from an st_err never carries the description. */
	http_error_from(&r, ST_ESTORE, "SQLITE_CORRUPT at page 7");
	assert_int_equal(r.status, 500);
	assert_null(strstr(r.body.data, "SQLITE"));

	static const struct {
		int err, status;
	} map[] = {
	    {ST_EINVAL, 400},  {ST_EJSON, 400},	    {ST_ESTIX, 400},
	    {ST_ERANGE, 400},  {ST_ELIMIT, 400},    {ST_ENOTFOUND, 404},
	    {ST_EEXIST, 409},  {ST_ECONFLICT, 409}, {ST_ECLOSED, 503},
	    {ST_ENOMEM, 500},  {ST_EIO, 500},	    {ST_ESTORE, 500},
	    {ST_ECONFIG, 500},
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		assert_int_equal(http_status_from_err(map[i].err),
				 map[i].status);
	assert_string_equal(http_reason(415), "Unsupported Media Type");

	/* Header injection is refused. */
	assert_int_equal(http_response_header(&r, "X-A", "a\r\nSet-Cookie: x"),
			 ST_EINVAL);
	assert_int_equal(http_response_header(&r, "X-A\n", "a"), ST_EINVAL);
	for (int i = (int)r.n_headers; i < HTTP_MAX_RESP_HEADERS; i++)
		assert_int_equal(http_response_header(&r, "X-N", "1"), ST_OK);
	assert_int_equal(http_response_header(&r, "X-N", "1"), ST_ELIMIT);
	http_error(&r, 500, NULL, NULL); /* frees the headers */
	buf_free(&r.body);
}

/* ------------------------------------------------------------------ */
/* A real server                                                        */
/* ------------------------------------------------------------------ */

#define CAP 1000 /* max_content_length of the test server */

/* The access log, captured. */
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static struct buf log_lines = BUF_INIT(1 << 22);

static void log_sink(void *arg, const char *line, size_t len)
{
	(void)arg;
	pthread_mutex_lock(&log_mu);
	buf_add(&log_lines, line, len);
	buf_addc(&log_lines, '\n');
	pthread_mutex_unlock(&log_mu);
}

/* A copy of the captured log (free it). Tests assert on the copy, never
 * while holding log_mu: a failed assertion jumps out of the test, and a
 * mutex left locked would block the server's logging thread for good. */
static char *log_snapshot(void)
{
	pthread_mutex_lock(&log_mu);
	char *copy = strdup(log_lines.data ? log_lines.data : "");
	pthread_mutex_unlock(&log_mu);
	assert_non_null(copy);
	return copy;
}

static void log_clear(void)
{
	pthread_mutex_lock(&log_mu);
	buf_reset(&log_lines);
	pthread_mutex_unlock(&log_mu);
}

/* Waits until the log holds n lines (the line comes after the reply). */
static void log_wait(size_t n)
{
	for (int i = 0; i < 400; i++) {
		size_t have = 0;
		pthread_mutex_lock(&log_mu);
		for (size_t k = 0; k < log_lines.len; k++)
			have += log_lines.data[k] == '\n';
		pthread_mutex_unlock(&log_mu);
		if (have >= n)
			return;
		sleep_us(5000);
	}
	fail_msg("access log has fewer than %zu lines", n);
}

static int h_ping(struct http_request *req, struct http_response *resp)
{
	(void)req;
	return buf_adds(&resp->body, "{}");
}

/* Echoes what the handler saw. */
static int h_echo(struct http_request *req, struct http_response *resp)
{
	struct jw w;
	jw_init(&w, &resp->body);
	jw_obj_open(&w);
	jw_key(&w, "id");
	jw_str(&w, http_param(req, "id"));
	jw_key(&w, "len");
	jw_int(&w, (int64_t)req->body_len);
	jw_key(&w, "params");
	jw_int(&w, (int64_t)req->query.n);
	jw_key(&w, "types");
	jw_int(&w, (int64_t)http_query_count(&req->query, "match[type]"));
	jw_key(&w, "account");
	jw_str(&w, req->account ? (const char *)req->account : "");
	jw_key(&w, "method");
	jw_str(&w, http_method_name(req->method));
	jw_obj_close(&w);
	http_response_header(resp, "X-TAXII-Date-Added-First",
			     "2016-01-01T00:00:00.000000Z");
	return jw_finish(&w);
}

static pthread_mutex_t slow_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t slow_cv = PTHREAD_COND_INITIALIZER;
static bool slow_release;

/* Holds the account's only slot until released (or 5 s). */
static int h_slow(struct http_request *req, struct http_response *resp)
{
	if (http_account_enter(req, resp, "acct:alice", 1) != ST_OK)
		return ST_OK;
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 5;
	pthread_mutex_lock(&slow_mu);
	while (!slow_release)
		if (pthread_cond_timedwait(&slow_cv, &slow_mu, &dl) != 0)
			break;
	pthread_mutex_unlock(&slow_mu);
	return buf_adds(&resp->body, "{\"slow\":true}");
}

static ssize_t tick(void *arg, char *out, size_t max)
{
	int *n = arg;
	struct timespec ts = {0, 20 * 1000 * 1000};
	nanosleep(&ts, NULL);
	if (++*n > 100000)
		return HTTP_STREAM_END;
	int k = snprintf(out, max, "tick %d\n", *n);
	return k < 0 || (size_t)k >= max ? HTTP_STREAM_ERROR : k;
}

static atomic_int stream_freed;

static void tick_free(void *arg)
{
	free(arg);
	atomic_fetch_add(&stream_freed, 1);
}

static int h_stream(struct http_request *req, struct http_response *resp)
{
	(void)req;
	int *n = calloc(1, sizeof(*n));
	if (n == NULL)
		return ST_ENOMEM;
	http_response_stream(resp, 200, "text/plain", tick, n, tick_free);
	return ST_OK;
}

/* A stream that says "open" and then waits for events that never come,
 * as an SSE subscription does, holding an account slot like stream.c. */
struct quiet {
	struct http_server *srv;
	bool opened;
};

static ssize_t quiet_read(void *arg, char *out, size_t max)
{
	struct quiet *q = arg;
	if (!q->opened) {
		q->opened = true;
		int k = snprintf(out, max, "open\n");
		return k < 0 || (size_t)k >= max ? HTTP_STREAM_ERROR : k;
	}
	if (http_server_stopping(q->srv))
		return HTTP_STREAM_END;
	struct timespec ts = {0, 100 * 1000 * 1000};
	nanosleep(&ts, NULL);
	return 0;
}

static void quiet_free(void *arg)
{
	free(arg);
	atomic_fetch_add(&stream_freed, 1);
}

static int h_quiet(struct http_request *req, struct http_response *resp)
{
	if (http_account_enter(req, resp, "stream:alice", 1) != ST_OK)
		return ST_OK;
	struct quiet *q = calloc(1, sizeof(*q));
	if (q == NULL)
		return ST_ENOMEM;
	q->srv = req->server;
	http_response_stream(resp, 200, "text/event-stream", quiet_read, q,
			     quiet_free);
	return ST_OK;
}

static int h_cert(struct http_request *req, struct http_response *resp)
{
	return buf_adds(&resp->body,
			req->client_cert ? req->client_cert_hex : "none");
}

static int h_fail(struct http_request *req, struct http_response *resp)
{
	(void)req;
	buf_adds(&resp->body, "half a resp");
	return ST_ESTORE;
}

static const struct http_route server_routes[] = {
    {HTTP_GET, "/ping/", h_ping, HTTP_ROUTE_PUBLIC, "ping"},
    {HTTP_GET | HTTP_POST, "/taxii/{id}/", h_echo,
     HTTP_ROUTE_AUTH | HTTP_ROUTE_TAXII, "echo"},
    {HTTP_GET, "/slow/", h_slow, HTTP_ROUTE_AUTH, "slow"},
    {HTTP_GET, "/stream/", h_stream, HTTP_ROUTE_STREAM, "stream"},
    {HTTP_GET, "/quiet/", h_quiet, HTTP_ROUTE_AUTH | HTTP_ROUTE_STREAM,
     "quiet"},
    {HTTP_GET, "/cert/", h_cert, 0, "cert"},
    {HTTP_GET, "/fail/", h_fail, 0, "fail"},
};

#define SECRET_TOKEN "s3cr3t-b34r3r-t0k3n"
#define SECRET_NEXT "N3XT-T0K3N-DO-NOT-LOG"

static int auth(struct http_request *req, struct http_response *resp)
{
	const char *a = http_header(req, "Authorization");
	if (a != NULL && strcmp(a, "Bearer " SECRET_TOKEN) == 0) {
		http_request_set_account(req, (void *)"alice", "alice");
		return ST_OK;
	}
	if (a != NULL && strcmp(a, "Bearer throttled") == 0) {
		resp->retry_after_s = 7;
		return http_error(resp, 429, NULL, "too many failures"),
		       ST_ELIMIT;
	}
	return http_error(resp, 401, NULL, NULL), ST_EINVAL;
}

static void base_config(struct http_config *c)
{
	memset(c, 0, sizeof(*c));
	c->main.listen = "127.0.0.1:0";
	c->main.limits.max_content_length = CAP;
	c->routes = server_routes;
	c->n_routes = sizeof(server_routes) / sizeof(server_routes[0]);
	c->auth = auth;
	c->access_log = log_sink;
}

static struct http_server *start(const struct http_config *c)
{
	struct http_server *s = NULL;
	struct diag d = {""};
	int rc = http_server_start(c, &s, &d);
	if (rc != ST_OK)
		fail_msg("server start: %s", d.msg);
	return s;
}

/* ---- A libcurl client ---- */

struct reply {
	long status;
	struct buf body;
	struct buf headers;
	CURLcode rc;
};

static size_t on_body(char *p, size_t sz, size_t n, void *arg)
{
	struct buf *b = arg;
	return buf_add(b, p, sz * n) == ST_OK ? sz * n : 0;
}

struct upload {
	const char *data;
	size_t len, pos;
};

static size_t on_read(char *p, size_t sz, size_t n, void *arg)
{
	struct upload *u = arg;
	size_t k = sz * n;
	if (k > 100)
		k = 100; /* many small chunks */
	if (k > u->len - u->pos)
		k = u->len - u->pos;
	memcpy(p, u->data + u->pos, k);
	u->pos += k;
	return k;
}

struct req_opts {
	const char *method;
	const char *const *headers; /* NULL-terminated */
	const char *body;
	size_t body_len;
	bool chunked;
	const char *cafile, *cert, *key; /* TLS */
};

static void request(const char *url, const struct req_opts *o, struct reply *r)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hl = NULL;
	struct upload up = {o ? o->body : NULL, o ? o->body_len : 0, 0};

	assert_non_null(c);
	buf_init(&r->body, 1 << 22);
	buf_init(&r->headers, 1 << 16);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->headers);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	hl = curl_slist_append(hl, "Expect:");
	for (size_t i = 0; o && o->headers && o->headers[i]; i++)
		hl = curl_slist_append(hl, o->headers[i]);
	if (o && o->body != NULL) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		if (o->chunked) {
			hl =
			    curl_slist_append(hl, "Transfer-Encoding: chunked");
			curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
			curl_easy_setopt(c, CURLOPT_READDATA, &up);
		} else {
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, o->body);
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE,
					 (long)o->body_len);
		}
	}
	if (o && o->method != NULL) {
		if (strcmp(o->method, "HEAD") == 0)
			curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
		else
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, o->method);
	}
	if (o && o->cafile != NULL) {
		curl_easy_setopt(c, CURLOPT_CAINFO, o->cafile);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	}
	if (o && o->cert != NULL) {
		curl_easy_setopt(c, CURLOPT_SSLCERT, o->cert);
		curl_easy_setopt(c, CURLOPT_SSLKEY, o->key);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	r->rc = curl_easy_perform(c);
	r->status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
}

static void reply_free(struct reply *r)
{
	buf_free(&r->body);
	buf_free(&r->headers);
}

/* Whether hay holds needle, ignoring ASCII case. */
static bool ci_contains(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (; hay && *hay; hay++)
		if (strncasecmp(hay, needle, n) == 0)
			return true;
	return false;
}

static bool has_header(const struct reply *r, const char *line)
{
	return ci_contains(r->headers.data, line);
}

static void url_of(char *out, size_t cap, struct http_server *s,
		   const char *path)
{
	snprintf(out, cap, "http://127.0.0.1:%u%s",
		 http_server_port(s, HTTP_LISTENER_MAIN), path);
}

/* A status and, for errors, a TAXII error body. */
static void expect_status(struct http_server *s, const char *path,
			  const struct req_opts *o, long status)
{
	char url[HTTP_MAX_URI + 128];
	struct reply r;

	url_of(url, sizeof(url), s, path);
	request(url, o, &r);
	if (r.rc != CURLE_OK)
		fail_msg("%s: curl %s", path, curl_easy_strerror(r.rc));
	if (r.status != status)
		fail_msg("%s: status %ld, want %ld (%s)", path, r.status,
			 status, r.body.data ? r.body.data : "");
	if (status >= 400 && (o == NULL || o->method == NULL ||
			      strcmp(o->method, "HEAD") != 0)) {
		check_error_body(r.body.data, r.body.len, (int)status, NULL);
		assert_true(has_header(&r, "Content-Type: " HTTP_TAXII_CTYPE));
	}
	reply_free(&r);
}

/* ---- Raw sockets ---- */

static int tcp_connect(uint16_t port)
{
	struct sockaddr_in a = {0};
	struct timeval tv = {3, 0};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Sends req on fd and reads until the peer closes, the timeout, or (when
   one_reply) a complete response with Content-Length. */
static size_t exchange(int fd, const char *req, size_t req_len, char *out,
		       size_t cap)
{
	size_t n = 0;
	if (req_len > 0 && send(fd, req, req_len, MSG_NOSIGNAL) < 0)
		return 0;
	while (n + 1 < cap) {
		ssize_t k = recv(fd, out + n, cap - 1 - n, 0);
		if (k <= 0)
			break;
		n += (size_t)k;
		out[n] = '\0';
		const char *hend = strstr(out, "\r\n\r\n");
		const char *cl = strstr(out, "Content-Length: ");
		if (hend && cl && cl < hend &&
		    n >= (size_t)(hend + 4 - out) + (size_t)atoi(cl + 16))
			break;
	}
	out[n] = '\0';
	return n;
}

static void test_server_statuses(void **state)
{
	(void)state;
	struct http_config c;
	base_config(&c);
	struct http_server *s = start(&c);
	const char *auth_h[] = {"Authorization: Bearer " SECRET_TOKEN, NULL};
	const char *taxii_h[] = {"Authorization: Bearer " SECRET_TOKEN,
				 "Accept: application/taxii+json;version=2.1",
				 "Content-Type: application/taxii+json;"
				 "version=2.1",
				 NULL};
	struct req_opts o = {.headers = taxii_h};
	char url[256];
	struct reply r;

	assert_true(http_server_port(s, HTTP_LISTENER_MAIN) > 0);
	assert_int_equal(http_server_port(s, HTTP_LISTENER_PEER), 0);

	expect_status(s, "/ping/", NULL, 200);
	expect_status(s, "/taxii/abc/", &o, 200);
	/* 404 for no route, also without the trailing slash. */
	expect_status(s, "/nope/", NULL, 404);
	expect_status(s, "/ping", NULL, 404);
	/* 405 with Allow. */
	url_of(url, sizeof(url), s, "/ping/");
	request(url, &(struct req_opts){.method = "DELETE"}, &r);
	assert_int_equal(r.status, 405);
	assert_true(has_header(&r, "Allow: GET, HEAD"));
	check_error_body(r.body.data, r.body.len, 405, NULL);
	reply_free(&r);
	/* HEAD of a GET route: the status and no body. */
	request(url, &(struct req_opts){.method = "HEAD"}, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body.len, 0);
	reply_free(&r);
	/* 401 with WWW-Authenticate, from the missing auth and the hook. */
	url_of(url, sizeof(url), s, "/taxii/abc/");
	request(url, NULL, &r);
	assert_int_equal(r.status, 401);
	assert_true(has_header(&r, "WWW-Authenticate: Basic realm=\"strait\", "
				   "Bearer"));
	check_error_body(r.body.data, r.body.len, 401, NULL);
	reply_free(&r);
	const char *throttled[] = {"Authorization: Bearer throttled", NULL};
	request(url, &(struct req_opts){.headers = throttled}, &r);
	assert_int_equal(r.status, 429);
	assert_true(has_header(&r, "Retry-After: 7"));
	reply_free(&r);
	/* 406 and 415 on a TAXII route. */
	const char *json_accept[] = {"Authorization: Bearer " SECRET_TOKEN,
				     "Accept: application/json", NULL};
	expect_status(s, "/taxii/abc/",
		      &(struct req_opts){.headers = json_accept}, 406);
	const char *bad_ct[] = {"Authorization: Bearer " SECRET_TOKEN,
				"Content-Type: application/json", NULL};
	expect_status(
	    s, "/taxii/abc/",
	    &(struct req_opts){.headers = bad_ct, .body = "{}", .body_len = 2},
	    415);
	/* A POST with no Content-Type at all is a 415 as well. */
	expect_status(
	    s, "/taxii/abc/",
	    &(struct req_opts){.headers = auth_h, .body = "{}", .body_len = 2},
	    415);
	/* Query: repeated keys reach the handler; malformed is 400. */
	url_of(url, sizeof(url), s,
	       "/taxii/a%62c/?match[type]=a,b&match%5Btype%5D=c&limit=5");
	request(url, &o, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body.data, "\"id\":\"abc\""));
	assert_non_null(strstr(r.body.data, "\"params\":3"));
	assert_non_null(strstr(r.body.data, "\"types\":2"));
	assert_non_null(strstr(r.body.data, "\"account\":\"alice\""));
	assert_true(has_header(&r, "X-TAXII-Date-Added-First: 2016"));
	reply_free(&r);
	expect_status(s, "/taxii/abc/?limit=%zz", &o, 400);
	expect_status(s, "/taxii/abc/?a=%00", &o, 400);
	expect_status(s, "/ta%zzxii/", NULL, 400);
	/* A handler error: a clean 500, nothing of its partial output. */
	url_of(url, sizeof(url), s, "/fail/");
	request(url, NULL, &r);
	assert_int_equal(r.status, 500);
	assert_null(strstr(r.body.data, "half"));
	check_error_body(r.body.data, r.body.len, 500, NULL);
	reply_free(&r);
	/* A request target over HTTP_MAX_URI: 414 from strait. */
	char *longq = malloc(HTTP_MAX_URI + 64);
	strcpy(longq, "/ping/?a=");
	memset(longq + 9, 'x', HTTP_MAX_URI);
	longq[HTTP_MAX_URI + 9] = '\0';
	expect_status(s, longq, NULL, 414);
	free(longq);
	/* Headers over max_header_bytes: 431 from strait. */
	char *bigh = malloc(20000);
	strcpy(bigh, "X-Big: ");
	memset(bigh + 7, 'y', 19000);
	bigh[19007] = '\0';
	const char *big_hdrs[] = {bigh, NULL};
	expect_status(s, "/ping/", &(struct req_opts){.headers = big_hdrs},
		      431);
	free(bigh);
	http_server_free(s);
}

static void test_server_raw(void **state)
{
	(void)state;
	struct http_config c;
	base_config(&c);
	struct http_server *s = start(&c);
	uint16_t port = http_server_port(s, HTTP_LISTENER_MAIN);
	char out[8192];
	int fd;

	/* An unknown method on a known path: 405 with a TAXII body. */
	fd = tcp_connect(port);
	const char *r1 = "FROB /ping/ HTTP/1.1\r\nHost: x\r\n\r\n";
	exchange(fd, r1, strlen(r1), out, sizeof(out));
	close(fd);
	assert_non_null(strstr(out, "HTTP/1.1 405"));
	assert_non_null(strstr(out, "\"http_status\":\"405\""));

	/* Keep-alive survives a 404: two requests, one connection. */
	fd = tcp_connect(port);
	const char *r2 = "GET /nope/ HTTP/1.1\r\nHost: x\r\n\r\n";
	exchange(fd, r2, strlen(r2), out, sizeof(out));
	assert_non_null(strstr(out, "HTTP/1.1 404"));
	const char *r3 = "GET /ping/ HTTP/1.1\r\nHost: x\r\n\r\n";
	exchange(fd, r3, strlen(r3), out, sizeof(out));
	assert_non_null(strstr(out, "HTTP/1.1 200"));
	close(fd);

	/* Garbage: libmicrohttpd's own 400, then the server goes on. */
	fd = tcp_connect(port);
	const char *r4 = "\x01\x02garbage\r\n\r\n";
	exchange(fd, r4, strlen(r4), out, sizeof(out));
	close(fd);
	expect_status(s, "/ping/", NULL, 200);
	http_server_free(s);
}

/* Bodies: at and under the cap accepted, over it 413 (announced or
   chunked). */
static void test_server_body_cap(void **state)
{
	(void)state;
	struct http_config c;
	base_config(&c);
	struct http_server *s = start(&c);
	const char *h[] = {"Authorization: Bearer " SECRET_TOKEN,
			   "Content-Type: application/taxii+json", NULL};
	char *body = malloc(CAP * 4);
	char url[256];
	struct reply r;

	memset(body, 'a', CAP * 4);
	url_of(url, sizeof(url), s, "/taxii/b/");
	static const struct {
		size_t len;
		bool chunked;
		long status;
	} cases[] = {
	    {CAP - 1, false, 200}, {CAP, false, 200},	 {CAP + 1, false, 413},
	    {CAP * 4, false, 413}, {CAP - 1, true, 200}, {CAP, true, 200},
	    {CAP + 1, true, 413},  {CAP * 4, true, 413}, {0, false, 200},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		request(url,
			&(struct req_opts){.headers = h,
					   .body = body,
					   .body_len = cases[i].len,
					   .chunked = cases[i].chunked},
			&r);
		if (r.status != cases[i].status)
			fail_msg("body %zu%s: status %ld", cases[i].len,
				 cases[i].chunked ? " chunked" : "", r.status);
		if (r.status == 200) {
			char want[32];
			snprintf(want, sizeof(want), "\"len\":%zu",
				 cases[i].len);
			assert_non_null(strstr(r.body.data, want));
		} else {
			check_error_body(r.body.data, r.body.len, 413, NULL);
		}
		reply_free(&r);
	}
	/* Far past the cap (cap + 1 MiB): the connection is closed rather
	   than read forever. */
	size_t huge = (3u << 20);
	char *hb = malloc(huge);
	memset(hb, 'b', huge);
	request(
	    url,
	    &(struct req_opts){
		.headers = h, .body = hb, .body_len = huge, .chunked = true},
	    &r);
	assert_int_not_equal(r.status, 200);
	reply_free(&r);
	free(hb);
	free(body);
	/* And the server still answers. */
	expect_status(s, "/ping/", NULL, 200);
	http_server_free(s);
}

/* One line per request; never a query string, a paging token or a
   credential. */
static void test_access_log(void **state)
{
	(void)state;
	struct http_config c;
	base_config(&c);
	struct http_server *s = start(&c);
	const char *h[] = {"Authorization: Bearer " SECRET_TOKEN, NULL};
	char url[512];
	struct reply r;

	log_clear();
	url_of(url, sizeof(url), s,
	       "/taxii/abc/?next=" SECRET_NEXT "&match[type]=indicator");
	request(url, &(struct req_opts){.headers = h}, &r);
	assert_int_equal(r.status, 200);
	size_t body_len = r.body.len;
	reply_free(&r);
	const char *bad[] = {"Authorization: Basic " SECRET_TOKEN, NULL};
	url_of(url, sizeof(url), s, "/taxii/x%0Ay/?next=" SECRET_NEXT);
	request(url, &(struct req_opts){.headers = bad}, &r);
	assert_int_equal(r.status, 401);
	reply_free(&r);
	log_wait(2);

	char *all = log_snapshot();
	assert_null(strstr(all, SECRET_NEXT));
	assert_null(strstr(all, SECRET_TOKEN));
	assert_null(strstr(all, "next="));
	assert_null(strstr(all, "?"));
	assert_null(strstr(all, "Bearer"));
	/* The first line, field by field. */
	char want[256];
	snprintf(
	    want, sizeof(want),
	    "method=GET path=/taxii/abc/ status=200 bytes=%zu ms=", body_len);
	assert_memory_equal(all, want, strlen(want));
	const char *nl = strchr(all, '\n');
	assert_non_null(nl);
	char first[512];
	snprintf(first, sizeof(first), "%.*s", (int)(nl - all), all);
	const char *ms = strstr(first, " ms=") + 4;
	char *end;
	double v = strtod(ms, &end);
	assert_true(end > ms && v >= 0 && v < 10000);
	assert_non_null(strstr(first, " account=alice addr=127.0.0.1 "
				      "listener=main route=echo end=ok"));
	/* The second: the newline in the path is escaped, no account. */
	const char *second = nl + 1;
	assert_memory_equal(second, "method=GET path=/taxii/x%0Ay/ status=401",
			    strlen("method=GET path=/taxii/x%0Ay/ status=401"));
	assert_non_null(strstr(second, " account=- "));
	/* Exactly two lines. */
	assert_null(strchr(strchr(second, '\n') + 1, '\n'));
	free(all);
	http_server_free(s);
}

struct bg {
	pthread_t t;
	char url[256];
	struct req_opts o;
	struct reply r;
};

static void *bg_run(void *arg)
{
	struct bg *b = arg;
	request(b->url, &b->o, &b->r);
	return NULL;
}

/* Per-account cap: the second concurrent request gets 429. */
static void test_account_cap(void **state)
{
	(void)state;
	struct http_config c;
	base_config(&c);
	struct http_server *s = start(&c);
	static const char *h[] = {"Authorization: Bearer " SECRET_TOKEN, NULL};
	struct bg b = {.o = {.headers = h}};
	struct reply r;

	slow_release = false;
	url_of(b.url, sizeof(b.url), s, "/slow/");
	pthread_create(&b.t, NULL, bg_run, &b);
	for (int i = 0; i < 400; i++) {
		if (http_account_count(s, HTTP_LISTENER_MAIN, "acct:alice") ==
		    1)
			break;
		sleep_us(5000);
	}
	assert_int_equal(
	    http_account_count(s, HTTP_LISTENER_MAIN, "acct:alice"), 1);
	assert_int_equal(http_server_inflight(s), 1);
	request(b.url, &b.o, &r);
	assert_int_equal(r.status, 429);
	assert_true(has_header(&r, "Retry-After: 1"));
	check_error_body(r.body.data, r.body.len, 429, NULL);
	reply_free(&r);
	pthread_mutex_lock(&slow_mu);
	slow_release = true;
	pthread_cond_broadcast(&slow_cv);
	pthread_mutex_unlock(&slow_mu);
	pthread_join(b.t, NULL);
	assert_int_equal(b.r.status, 200);
	reply_free(&b.r);
	/* The slot came back with the request. */
	for (int i = 0; i < 200 && http_server_inflight(s) > 0; i++)
		sleep_us(5000);
	assert_int_equal(
	    http_account_count(s, HTTP_LISTENER_MAIN, "acct:alice"), 0);
	expect_status(s, "/slow/", &b.o, 200);
	http_server_free(s);
}

/* Per-address connection limit, and the peer listener keeps serving while
   the main one is full. */
static void test_connection_limits(void **state)
{
	(void)state;
	struct http_config c;
	base_config(&c);
	c.main.limits.per_ip_connections = 2;
	c.peer.listen = "127.0.0.1:0";
	struct http_server *s = start(&c);
	uint16_t port = http_server_port(s, HTTP_LISTENER_MAIN);
	uint16_t pport = http_server_port(s, HTTP_LISTENER_PEER);
	char out[4096];
	const char *req = "GET /ping/ HTTP/1.1\r\nHost: x\r\n\r\n";

	assert_true(pport > 0 && pport != port);
	int a = tcp_connect(port), b = tcp_connect(port);
	assert_true(a >= 0 && b >= 0);
	/* Both are served (and so accepted and counted). */
	exchange(a, req, strlen(req), out, sizeof(out));
	assert_non_null(strstr(out, "HTTP/1.1 200"));
	exchange(b, req, strlen(req), out, sizeof(out));
	assert_non_null(strstr(out, "HTTP/1.1 200"));
	/* A third from the same address is closed unanswered. */
	int x = tcp_connect(port);
	if (x >= 0) {
		size_t n = exchange(x, req, strlen(req), out, sizeof(out));
		assert_int_equal(n, 0);
		close(x);
	}
	/* The peer listener has its own limits. */
	int p = tcp_connect(pport);
	assert_true(p >= 0);
	exchange(p, req, strlen(req), out, sizeof(out));
	assert_non_null(strstr(out, "HTTP/1.1 200"));
	close(p);
	/* Freeing a slot lets the next one in: the connection's thread
	 * notices the close asynchronously, so allow it up to 5 s (bounded)
	 * on a loaded machine instead of one fixed pause. */
	close(a);
	bool served = false;
	for (int tries = 0; tries < 50 && !served; tries++) {
		sleep_us(100000);
		x = tcp_connect(port);
		assert_true(x >= 0);
		memset(out, 0, sizeof(out));
		exchange(x, req, strlen(req), out, sizeof(out));
		served = strstr(out, "HTTP/1.1 200") != NULL;
		close(x);
	}
	assert_true(served);
	close(b);
	http_server_free(s);
}

struct stream_client {
	pthread_t t;
	char url[256];
	atomic_size_t bytes;
	CURLcode rc;
	long status;
};

static size_t stream_body(char *p, size_t sz, size_t n, void *arg)
{
	struct stream_client *sc = arg;
	(void)p;
	atomic_fetch_add(&sc->bytes, sz * n);
	return sz * n;
}

static void *stream_run(void *arg)
{
	struct stream_client *sc = arg;
	CURL *c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, sc->url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, stream_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, sc);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	sc->rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &sc->status);
	curl_easy_cleanup(c);
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A stop while a stream is open ends the stream cleanly, lets an
   in-flight request finish, and then refuses new connections. */
static void test_graceful_stop(void **state)
{
	(void)state;
	struct http_config c;
	base_config(&c);
	struct http_server *s = start(&c);
	struct stream_client sc = {.bytes = 0};
	static const char *h[] = {"Authorization: Bearer " SECRET_TOKEN, NULL};
	struct bg slow = {.o = {.headers = h}};
	uint16_t port = http_server_port(s, HTTP_LISTENER_MAIN);

	log_clear();
	atomic_store(&stream_freed, 0);
	url_of(sc.url, sizeof(sc.url), s, "/stream/");
	pthread_create(&sc.t, NULL, stream_run, &sc);
	for (int i = 0; i < 400 && atomic_load(&sc.bytes) < 30; i++)
		sleep_us(5000);
	assert_true(atomic_load(&sc.bytes) >= 30);

	slow_release = false;
	url_of(slow.url, sizeof(slow.url), s, "/slow/");
	pthread_create(&slow.t, NULL, bg_run, &slow);
	for (int i = 0; i < 400 && http_server_inflight(s) < 2; i++)
		sleep_us(5000);
	assert_int_equal(http_server_inflight(s), 2);
	assert_false(http_server_stopping(s));

	/* Release the slow request a little after the stop begins. */
	double t0 = now_s();
	pthread_mutex_lock(&slow_mu);
	slow_release = true;
	pthread_cond_broadcast(&slow_cv);
	pthread_mutex_unlock(&slow_mu);
	http_server_stop(s, 8000);
	double took = now_s() - t0;
	assert_true(http_server_stopping(s));
	/* The open stream ended at once instead of holding the stop for its
	 * whole grace (8 s); 5 s leaves room for a loaded machine. */
	assert_true(took < 5.0);
	pthread_join(sc.t, NULL);
	pthread_join(slow.t, NULL);
	/* The stream ended with its chunked terminator: a clean end. */
	assert_int_equal(sc.rc, CURLE_OK);
	assert_int_equal(sc.status, 200);
	assert_int_equal(slow.r.status, 200);
	reply_free(&slow.r);
	assert_int_equal(atomic_load(&stream_freed), 1);
	assert_int_equal(http_server_inflight(s), 0);
	/* The stream's log line counts what it sent. */
	char *logged = log_snapshot();
	const char *sl = strstr(logged, "path=/stream/ status=200 ");
	bool counted = sl != NULL && atoll(strstr(sl, "bytes=") + 6) > 0;
	free(logged);
	assert_true(counted);
	/* No one listens any more. */
	int fd = tcp_connect(port);
	if (fd >= 0) {
		char out[64];
		assert_int_equal(exchange(fd, "GET /ping/ HTTP/1.0\r\n\r\n", 24,
					  out, sizeof(out)),
				 0);
		close(fd);
	}
	http_server_stop(s, 1000); /* idempotent */
	http_server_free(s);
}

/* Opens /quiet/ on a raw socket and reads up to its first line. */
static int quiet_open(uint16_t port)
{
	static const char req[] =
	    "GET /quiet/ HTTP/1.1\r\nHost: x\r\n"
	    "Authorization: Bearer " SECRET_TOKEN "\r\n\r\n";
	char out[1024];
	size_t n = 0;
	int fd = tcp_connect(port);
	assert_true(fd >= 0);
	assert_true(send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) > 0);
	out[0] = '\0';
	while (n + 1 < sizeof(out) && strstr(out, "open\n") == NULL) {
		ssize_t k = recv(fd, out + n, sizeof(out) - 1 - n, 0);
		if (k <= 0)
			break;
		n += (size_t)k;
		out[n] = '\0';
	}
	assert_non_null(strstr(out, "HTTP/1.1 200"));
	assert_non_null(strstr(out, "open\n"));
	return fd;
}

/* Seconds until the stream slot of alice is free (at most limit). */
static double slot_free_after(struct http_server *s, double limit)
{
	double t0 = now_s();
	while (now_s() - t0 < limit &&
	       http_account_count(s, HTTP_LISTENER_MAIN, "stream:alice") > 0)
		sleep_us(10000);
	return now_s() - t0;
}

/* A client that goes away while its stream waits for events frees the
 * stream's thread and account slot within about a second, not at the
 * connection timeout (30 s here); one that is merely quiet, or has sent
 * bytes the server has not read, keeps its stream. */
static void test_stream_client_gone(void **state)
{
	(void)state;
	struct http_config c;
	base_config(&c);
	struct http_server *s = start(&c);
	uint16_t port = http_server_port(s, HTTP_LISTENER_MAIN);

	log_clear();
	atomic_store(&stream_freed, 0);
	/* Closed: the slot comes back fast. */
	int fd = quiet_open(port);
	assert_int_equal(
	    http_account_count(s, HTTP_LISTENER_MAIN, "stream:alice"), 1);
	close(fd);
	double took = slot_free_after(s, 5.0);
	assert_true(took < 2.0);
	assert_int_equal(
	    http_account_count(s, HTTP_LISTENER_MAIN, "stream:alice"), 0);
	for (int i = 0; i < 200 && atomic_load(&stream_freed) < 1; i++)
		sleep_us(5000);
	assert_int_equal(atomic_load(&stream_freed), 1);
	log_wait(1);
	char *logged = log_snapshot();
	bool tagged = strstr(logged, "route=quiet end=client-closed") != NULL;
	free(logged);
	assert_true(tagged);

	/* Open with unread bytes pending (a pipelined request): not a
	 * close. The slot is taken, so a second stream is refused. */
	fd = quiet_open(port);
	static const char more[] = "GET /ping/ HTTP/1.1\r\nHost: x\r\n\r\n";
	assert_true(send(fd, more, sizeof(more) - 1, MSG_NOSIGNAL) > 0);
	sleep_us(1000 * 1000);
	assert_int_equal(
	    http_account_count(s, HTTP_LISTENER_MAIN, "stream:alice"), 1);
	assert_int_equal(atomic_load(&stream_freed), 1);
	/* Then a reset (SO_LINGER 0) ends it as fast. */
	struct linger lg = {1, 0};
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	took = slot_free_after(s, 5.0);
	assert_true(took < 2.0);
	for (int i = 0; i < 200 && atomic_load(&stream_freed) < 2; i++)
		sleep_us(5000);
	assert_int_equal(atomic_load(&stream_freed), 2);
	for (int i = 0; i < 200 && http_server_inflight(s) > 0; i++)
		sleep_us(5000);
	assert_int_equal(http_server_inflight(s), 0);
	http_server_free(s);
}

static void test_start_refusals(void **state)
{
	(void)state;
	struct http_config c;
	struct http_server *s = NULL;
	struct diag d;

	/* Plain HTTP on a non-loopback address: refused unless forced. */
	base_config(&c);
	c.main.listen = "0.0.0.0:0";
	assert_int_equal(http_server_start(&c, &s, &d), ST_ECONFIG);
	assert_null(s);
	assert_non_null(strstr(d.msg, "plain HTTP"));
	c.allow_plain_non_loopback = true;
	assert_int_equal(http_server_start(&c, &s, &d), ST_OK);
	http_server_free(s);
	s = NULL;
	/* Also for the peer listener. */
	base_config(&c);
	c.peer.listen = "[::]:0";
	assert_int_equal(http_server_start(&c, &s, &d), ST_ECONFIG);
	/* A bad listen address. */
	base_config(&c);
	c.main.listen = "nowhere:1";
	assert_int_equal(http_server_start(&c, &s, &d), ST_ECONFIG);
	/* A route pattern without its trailing slash. */
	static const struct http_route bad[] = {
	    {HTTP_GET, "/ping", h_ping, 0, "ping"}};
	base_config(&c);
	c.routes = bad;
	c.n_routes = 1;
	assert_int_equal(http_server_start(&c, &s, &d), ST_ECONFIG);
	/* TLS files that do not exist; a client CA without TLS. */
	base_config(&c);
	c.tls.cert_file = "/nonexistent/cert.pem";
	c.tls.key_file = "/nonexistent/key.pem";
	assert_int_equal(http_server_start(&c, &s, &d), ST_ECONFIG);
	base_config(&c);
	c.tls.client_ca_file = "/nonexistent/ca.pem";
	assert_int_equal(http_server_start(&c, &s, &d), ST_ECONFIG);
	/* A port in use. */
	base_config(&c);
	struct http_server *first = start(&c);
	char listen[64];
	snprintf(listen, sizeof(listen), "127.0.0.1:%u",
		 http_server_port(first, HTTP_LISTENER_MAIN));
	c.main.listen = listen;
	assert_int_equal(http_server_start(&c, &s, &d), ST_EIO);
	http_server_free(first);
}

/* ------------------------------------------------------------------ */
/* TLS                                                                  */
/* ------------------------------------------------------------------ */

static char tls_dir[64];

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd) != 0)
		fail_msg("command failed: %s", cmd);
}

static void tls_path(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", tls_dir, name);
}

/* A server certificate for 127.0.0.1, a client CA, a client certificate
   it signed, and a stranger's self-signed client certificate. */
static int tls_setup(void **state)
{
	(void)state;
	snprintf(tls_dir, sizeof(tls_dir), "/tmp/strait-tls-XXXXXX");
	if (mkdtemp(tls_dir) == NULL)
		return -1;
	const char *q = ">/dev/null 2>&1";
	const char *ec = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";
	sh("cd %s && openssl req -x509 %s -keyout srv.key -out srv.pem "
	   "-days 2 -subj /CN=localhost "
	   "-addext subjectAltName=IP:127.0.0.1,DNS:localhost %s",
	   tls_dir, ec, q);
	sh("cd %s && openssl req -x509 %s -keyout ca.key -out ca.pem -days 2 "
	   "-subj /CN=strait-test-ca %s",
	   tls_dir, ec, q);
	sh("cd %s && openssl req -new %s -keyout cl.key -out cl.csr "
	   "-subj /CN=client %s && openssl x509 -req -in cl.csr -CA ca.pem "
	   "-CAkey ca.key -CAcreateserial -out cl.pem -days 2 %s",
	   tls_dir, ec, q, q);
	sh("cd %s && openssl req -x509 %s -keyout other.key -out other.pem "
	   "-days 2 -subj /CN=stranger %s",
	   tls_dir, ec, q);
	/* The client certificate's SHA-256 as openssl computes it. */
	sh("cd %s && openssl x509 -in cl.pem -noout -fingerprint -sha256 "
	   "> cl.fp",
	   tls_dir);
	return 0;
}

static int tls_teardown(void **state)
{
	(void)state;
	if (tls_dir[0] != '\0')
		sh("rm -rf %s", tls_dir);
	return 0;
}

/* The fingerprint of cl.pem in lowercase hex without colons. */
static void client_fp(char out[65])
{
	char p[128], line[256];
	tls_path(p, sizeof(p), "cl.fp");
	FILE *f = fopen(p, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	const char *eq = strchr(line, '=');
	assert_non_null(eq);
	size_t n = 0;
	for (const char *c = eq + 1; *c && n < 64; c++)
		if (*c != ':' && *c != '\n')
			out[n++] =
			    (char)((*c >= 'A' && *c <= 'F') ? *c + 32 : *c);
	out[n] = '\0';
	assert_int_equal(n, 64);
}

static void tls_config(struct http_config *c, char paths[4][128])
{
	base_config(c);
	tls_path(paths[0], 128, "srv.pem");
	tls_path(paths[1], 128, "srv.key");
	tls_path(paths[2], 128, "ca.pem");
	c->tls.cert_file = paths[0];
	c->tls.key_file = paths[1];
	c->tls.client_ca_file = paths[2];
}

/* A GnuTLS handshake with the given priorities; returns the protocol
   version, or -1 if the handshake failed. */
static int gnutls_try(uint16_t port, const char *prio)
{
	gnutls_session_t ses;
	gnutls_certificate_credentials_t cred;
	int fd = tcp_connect(port), rc, ver = -1;

	assert_true(fd >= 0);
	assert_int_equal(gnutls_certificate_allocate_credentials(&cred), 0);
	assert_int_equal(gnutls_init(&ses, GNUTLS_CLIENT), 0);
	assert_int_equal(gnutls_priority_set_direct(ses, prio, NULL), 0);
	gnutls_credentials_set(ses, GNUTLS_CRD_CERTIFICATE, cred);
	gnutls_transport_set_int(ses, fd);
	gnutls_handshake_set_timeout(ses, 5000);
	do {
		rc = gnutls_handshake(ses);
	} while (rc < 0 && !gnutls_error_is_fatal(rc));
	if (rc == 0) {
		ver = (int)gnutls_protocol_get_version(ses);
		/* And HTTP works over it. */
		const char *req = "GET /ping/ HTTP/1.1\r\nHost: x\r\n"
				  "Connection: close\r\n\r\n";
		assert_true(gnutls_record_send(ses, req, strlen(req)) > 0);
		char out[1024];
		ssize_t n = gnutls_record_recv(ses, out, sizeof(out) - 1);
		assert_true(n > 12);
		out[n] = '\0';
		assert_non_null(strstr(out, "HTTP/1.1 200"));
		gnutls_bye(ses, GNUTLS_SHUT_RDWR);
	}
	gnutls_deinit(ses);
	gnutls_certificate_free_credentials(cred);
	close(fd);
	return ver;
}

static void test_tls(void **state)
{
	(void)state;
	struct http_config c;
	char paths[4][128], url[256], cert[128], key[128], other[128],
	    okey[128], fp[65];
	struct reply r;

	tls_config(&c, paths);
	/* TLS on a non-loopback address needs no force. */
	c.main.listen = "0.0.0.0:0";
	struct http_server *s = start(&c);
	uint16_t port = http_server_port(s, HTTP_LISTENER_MAIN);
	tls_path(cert, sizeof(cert), "cl.pem");
	tls_path(key, sizeof(key), "cl.key");
	tls_path(other, sizeof(other), "other.pem");
	tls_path(okey, sizeof(okey), "other.key");
	client_fp(fp);

	snprintf(url, sizeof(url), "https://127.0.0.1:%u/cert/", port);
	/* With the CA-signed client certificate: its fingerprint. */
	request(
	    url,
	    &(struct req_opts){.cafile = paths[0], .cert = cert, .key = key},
	    &r);
	if (r.rc != CURLE_OK)
		fail_msg("curl: %s", curl_easy_strerror(r.rc));
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body.data, fp);
	reply_free(&r);
	/* Without one, or with one the CA did not sign: none. */
	request(url, &(struct req_opts){.cafile = paths[0]}, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body.data, "none");
	reply_free(&r);
	request(
	    url,
	    &(struct req_opts){.cafile = paths[0], .cert = other, .key = okey},
	    &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body.data, "none");
	reply_free(&r);
	/* Plain HTTP to the TLS port gets no HTTP answer. */
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/ping/", port);
	request(url, NULL, &r);
	assert_int_not_equal(r.status, 200);
	reply_free(&r);

	/* Versions: 1.3 preferred, 1.2 accepted, 1.1 and 1.0 refused. */
	assert_int_equal(gnutls_try(port, "NORMAL"), GNUTLS_TLS1_3);
	assert_int_equal(gnutls_try(port, "NORMAL:-VERS-TLS1.3"),
			 GNUTLS_TLS1_2);
	assert_int_equal(gnutls_try(port, "NORMAL:-VERS-ALL:+VERS-TLS1.1"), -1);
	assert_int_equal(gnutls_try(port, "NORMAL:-VERS-ALL:+VERS-TLS1.0"), -1);
	http_server_free(s);

	/* The control: a server configured to allow TLS 1.1 does get it
	   from this client, so the refusal above is the server's. */
	tls_config(&c, paths);
	c.tls.priorities = "NORMAL:+VERS-TLS1.1";
	s = start(&c);
	port = http_server_port(s, HTTP_LISTENER_MAIN);
	assert_int_equal(gnutls_try(port, "NORMAL:-VERS-ALL:+VERS-TLS1.1"),
			 GNUTLS_TLS1_1);
	http_server_free(s);

	/* Required client certificates: 403 without, 200 with. */
	tls_config(&c, paths);
	c.tls.require_client_cert = true;
	s = start(&c);
	port = http_server_port(s, HTTP_LISTENER_MAIN);
	snprintf(url, sizeof(url), "https://127.0.0.1:%u/ping/", port);
	request(url, &(struct req_opts){.cafile = paths[0]}, &r);
	assert_int_equal(r.status, 403);
	check_error_body(r.body.data, r.body.len, 403, NULL);
	reply_free(&r);
	request(
	    url,
	    &(struct req_opts){.cafile = paths[0], .cert = other, .key = okey},
	    &r);
	assert_int_equal(r.status, 403);
	reply_free(&r);
	request(
	    url,
	    &(struct req_opts){.cafile = paths[0], .cert = cert, .key = key},
	    &r);
	assert_int_equal(r.status, 200);
	reply_free(&r);
	http_server_free(s);
}

int main(void)
{
	const struct CMUnitTest pure[] = {
	    cmocka_unit_test(test_route_table),
	    cmocka_unit_test(test_route_limits),
	    cmocka_unit_test(test_query_table),
	    cmocka_unit_test(test_query_limits),
	    cmocka_unit_test(test_accept_table),
	    cmocka_unit_test(test_listen),
	    cmocka_unit_test(test_error_body),
	};
	const struct CMUnitTest server[] = {
	    cmocka_unit_test(test_server_statuses),
	    cmocka_unit_test(test_server_raw),
	    cmocka_unit_test(test_server_body_cap),
	    cmocka_unit_test(test_access_log),
	    cmocka_unit_test(test_account_cap),
	    cmocka_unit_test(test_connection_limits),
	    cmocka_unit_test(test_graceful_stop),
	    cmocka_unit_test(test_stream_client_gone),
	    cmocka_unit_test(test_start_refusals),
	};
	const struct CMUnitTest tls[] = {
	    cmocka_unit_test(test_tls),
	};
	int rc = 0;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	http_signals_block(); /* SIGPIPE from closed test sockets */
	rc |= cmocka_run_group_tests_name("http parsers", pure, NULL, NULL);
	rc |= cmocka_run_group_tests_name("http server", server, NULL, NULL);
	rc |= cmocka_run_group_tests_name("http tls", tls, tls_setup,
					  tls_teardown);
	curl_global_cleanup();
	buf_free(&log_lines);
	return rc;
}
