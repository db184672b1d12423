/*
 * Fuzzes the router and the query parser with a request line
 * ("METHOD TARGET"): the target's path goes through the TAXII route table,
 * its query string through http_query_parse. What they return must hold
 * together: matched parameters are non-empty, NUL-free, without '/', and
 * a 405 always names methods; parsed pairs stay within the limits and
 * their lengths are what strlen says.
 */
#include "taxii/http.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int nop(struct http_request *req, struct http_response *resp)
{
	(void)req;
	(void)resp;
	return ST_OK;
}

static const struct http_route routes[] = {
    {HTTP_GET, "/taxii2/", nop, 0, "discovery"},
    {HTTP_GET, "/{root}/", nop, 0, "root"},
    {HTTP_GET, "/{root}/status/{id}/", nop, 0, "status"},
    {HTTP_GET, "/{root}/collections/", nop, 0, "collections"},
    {HTTP_GET, "/{root}/collections/{id}/", nop, 0, "collection"},
    {HTTP_GET, "/{root}/collections/{id}/manifest/", nop, 0, "manifest"},
    {HTTP_GET | HTTP_POST, "/{root}/collections/{id}/objects/", nop, 0,
     "objects"},
    {HTTP_GET | HTTP_DELETE, "/{root}/collections/{id}/objects/{oid}/", nop, 0,
     "object"},
    {HTTP_GET, "/{root}/collections/{id}/objects/{oid}/versions/", nop, 0,
     "versions"},
    {HTTP_GET, "/api/v1/collections/{id}/stream/", nop, 0, "stream"},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	const char *sp = memchr(s, ' ', size);
	static struct http_match m;
	struct http_query q;

	if (sp == NULL)
		return 0;
	unsigned method = http_method_parse(s, (size_t)(sp - s));
	const char *target = sp + 1;
	size_t tlen = size - (size_t)(target - s);
	const char *qm = memchr(target, '?', tlen);
	size_t plen = qm ? (size_t)(qm - target) : tlen;

	switch (http_route_match(routes, sizeof(routes) / sizeof(routes[0]),
				 method, target, plen, &m)) {
	case HTTP_MATCH_OK:
		if (m.route == NULL ||
		    !(m.route->methods & method ||
		      (method == HTTP_HEAD && (m.route->methods & HTTP_GET))))
			abort();
		for (size_t i = 0; i < m.n_params; i++) {
			size_t n = strlen(m.values[i]);
			if (n == 0 || n > plen || memchr(m.values[i], '/', n))
				abort();
		}
		break;
	case HTTP_MATCH_BAD_METHOD:
		if (m.allow == 0 || (m.allow & method))
			abort();
		break;
	default:
		break;
	}

	if (qm == NULL)
		return 0;
	const char *qs = qm + 1;
	size_t qlen = tlen - plen - 1;
	if (http_query_parse(qs, qlen, 8, 64, &q, NULL) == ST_OK) {
		if (q.n > 8)
			abort();
		for (size_t i = 0; i < q.n; i++) {
			const struct http_kv *kv = &q.items[i];
			if (kv->key_len == 0 || kv->key_len > 64 ||
			    kv->value_len > 64 ||
			    strlen(kv->key) != kv->key_len ||
			    strlen(kv->value) != kv->value_len)
				abort();
		}
		if (q.n > 0 &&
		    http_query_get(&q, q.items[0].key) != q.items[0].value)
			abort();
	} else if (q.n != 0 || q.items != NULL) {
		abort();
	}
	http_query_free(&q);
	return 0;
}
