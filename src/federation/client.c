/*
 * strait: the TAXII client a sender uses to reach one partner. It contacts
 * only the configured origin (scheme, host and port of the peer's URL): no
 * redirect is followed, an API root or collection on another origin is
 * refused, http:// is used only when the configured URL is a loopback one
 * (peer_url_check), every response is capped, certificates are checked
 * against the peer's CA file or pinned keys (two pins allowed, so a
 * renewal does not break the link).
 */
#include "federation/client.h"

#include "common/json.h"
#include "common/log.h"

#include <curl/curl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TAXII_TYPE "application/taxii+json;version=2.1"
#define DOC_MAX ((size_t)1 << 20) /* discovery, API root, collections */

static void origin_of(const char *url, char *out, size_t cap)
{
	const char *p = strstr(url, "://");
	size_t n = p ? (size_t)(p + 3 - url) : 0;
	if (p != NULL)
		n += strcspn(p + 3, "/?#");
	snprintf(out, cap, "%.*s", (int)n, url);
}

int fc_open(struct fed_client *c, const struct peer *p, const char *token,
	    size_t max_response, unsigned timeout_ms, struct diag *d)
{
	memset(c, 0, sizeof(*c));
	c->peer = *p;
	c->max_response = max_response;
	c->timeout_ms = timeout_ms;
	origin_of(p->url, c->origin, sizeof(c->origin));
	c->h = curl_easy_init();
	if (c->h == NULL)
		return diag_set(d, ST_ENOMEM, "cannot start a client");
	char auth[PEER_TOKEN_MAX + 32];
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	c->hdrs = curl_slist_append(NULL, auth);
	sodium_memzero(auth, sizeof(auth));
	c->hdrs = curl_slist_append(c->hdrs, "Accept: " TAXII_TYPE);
	if (c->hdrs == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	return ST_OK;
}

void fc_close(struct fed_client *c)
{
	if (c->hdrs != NULL) {
		/* the first header holds the token */
		struct curl_slist *s = c->hdrs;
		sodium_memzero(s->data, strlen(s->data));
		curl_slist_free_all(c->hdrs);
	}
	if (c->h != NULL)
		curl_easy_cleanup(c->h);
	free(c->readable);
	memset(c, 0, sizeof(*c));
}

struct sink {
	struct buf *b;
	size_t max;
	bool over;
};

static size_t on_data(char *p, size_t size, size_t n, void *ctx)
{
	struct sink *s = ctx;
	size_t len = size * n;
	if (s->b->len + len > s->max) {
		s->over = true;
		return 0; /* aborts the transfer */
	}
	return buf_add(s->b, p, len) == ST_OK ? len : 0;
}

/* Whether url is on the configured origin (an absolute URL on another
 * scheme, host or port is refused). */
static bool same_origin(const struct fed_client *c, const char *url)
{
	size_t n = strlen(c->origin);
	return strncasecmp(url, c->origin, n) == 0 &&
	       (url[n] == '/' || url[n] == '\0');
}

/* Resolves a link from a document (absolute, or a path on the origin). */
static int resolve(const struct fed_client *c, const char *base,
		   const char *link, char *out, size_t cap, struct diag *d)
{
	int n;
	if (strstr(link, "://") != NULL) {
		if (!same_origin(c, link))
			return diag_set(d, ST_EAUTH,
					"peer %s: '%.120s' is not on the "
					"configured origin %s",
					c->peer.name, link, c->origin);
		n = snprintf(out, cap, "%s", link);
	} else if (link[0] == '/') {
		if (link[1] == '/')
			return diag_set(d, ST_EAUTH,
					"peer %s: '%.120s' names another host",
					c->peer.name, link);
		n = snprintf(out, cap, "%s%s", c->origin, link);
	} else {
		size_t bl = strlen(base);
		n = snprintf(out, cap, "%s%s%s", base,
			     bl && base[bl - 1] == '/' ? "" : "/", link);
	}
	if (n < 0 || (size_t)n >= cap)
		return diag_set(d, ST_ELIMIT, "peer %s: URL too long",
				c->peer.name);
	size_t l = strlen(out);
	if (l + 1 < cap && out[l - 1] != '/') {
		out[l] = '/';
		out[l + 1] = '\0';
	}
	return ST_OK;
}

static void pins_option(const struct fed_client *c, char *out, size_t cap)
{
	out[0] = '\0';
	for (int i = 0; i < PEER_PINS_MAX; i++) {
		const char *hex = c->peer.pins[i];
		uint8_t bin[32];
		size_t bl = 0;
		if (hex[0] == '\0' ||
		    sodium_hex2bin(bin, sizeof(bin), hex, strlen(hex), NULL,
				   &bl, NULL) != 0 ||
		    bl != 32)
			continue;
		char b64[64];
		sodium_bin2base64(b64, sizeof(b64), bin, 32,
				  sodium_base64_VARIANT_ORIGINAL);
		size_t l = strlen(out);
		snprintf(out + l, cap - l, "%ssha256//%s", l ? ";" : "", b64);
	}
}

int fc_request(struct fed_client *c, const char *method, const char *url,
	       const char *body, size_t body_len, size_t max,
	       struct fc_response *r, struct diag *d)
{
	memset(&r->status, 0,
	       sizeof(*r) - offsetof(struct fc_response, status));
	buf_reset(&r->body);
	if (!same_origin(c, url))
		return diag_set(d, ST_EAUTH,
				"peer %s: refusing '%.120s' (not on %s)",
				c->peer.name, url, c->origin);
	CURL *h = c->h;
	curl_easy_reset(h);
	struct sink s = {&r->body, max ? max : c->max_response, false};
	bool tls = strncasecmp(url, "https://", 8) == 0;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, tls ? "https" : "http");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)s.max);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, NULL);
	if (tls) {
		char pins[256];
		pins_option(c, pins, sizeof(pins));
		if (c->peer.ca_file[0])
			curl_easy_setopt(h, CURLOPT_CAINFO, c->peer.ca_file);
		if (pins[0])
			curl_easy_setopt(h, CURLOPT_PINNEDPUBLICKEY, pins);
		if (c->peer.client_cert[0]) {
			curl_easy_setopt(h, CURLOPT_SSLCERT,
					 c->peer.client_cert);
			curl_easy_setopt(h, CURLOPT_SSLKEY, c->peer.client_key);
		}
	}
	struct curl_slist *hdrs = c->hdrs;
	struct curl_slist *post = NULL;
	if (body != NULL) {
		/* The shared list plus a Content-Type, then unlinked. */
		post = curl_slist_append(NULL, "Content-Type: " TAXII_TYPE);
		if (post == NULL)
			return diag_set(d, ST_ENOMEM, "out of memory");
		post->next = c->hdrs;
		hdrs = post;
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)body_len);
	}
	if (strcmp(method, "GET") != 0 && body == NULL)
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	CURLcode cc = curl_easy_perform(h);
	if (post != NULL) {
		post->next = NULL;
		curl_slist_free_all(post);
	}
	if (s.over || cc == CURLE_FILESIZE_EXCEEDED)
		return diag_set(d, ST_ELIMIT,
				"peer %s: response to %s is larger than %zu "
				"bytes",
				c->peer.name, url, s.max);
	if (cc != CURLE_OK)
		return diag_set(d, ST_EIO, "peer %s: %s: %s", c->peer.name, url,
				curl_easy_strerror(cc));
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	struct curl_header *hd;
	if (curl_easy_header(h, "Date", 0, CURLH_HEADER, -1, &hd) ==
	    CURLHE_OK) {
		time_t t = curl_getdate(hd->value, NULL);
		if (t > 0)
			r->date = (st_time)t * 1000000;
	}
	if (curl_easy_header(h, "X-TAXII-Date-Added-Last", 0, CURLH_HEADER, -1,
			     &hd) == CURLHE_OK)
		ts_parse(hd->value, strlen(hd->value), &r->added_last, NULL);
	if (r->status >= 300 && r->status < 400)
		return diag_set(d, ST_EAUTH,
				"peer %s: %s answered a redirect (%ld); "
				"redirects are not followed",
				c->peer.name, url, r->status);
	return ST_OK;
}

/* Reads a small JSON document into doc. */
static int get_doc(struct fed_client *c, const char *url, struct fc_response *r,
		   struct json_doc *doc, const struct json_val **root,
		   struct diag *d)
{
	int rc = fc_request(c, "GET", url, NULL, 0, DOC_MAX, r, d);
	if (rc != ST_OK)
		return rc;
	if (r->status != 200)
		return diag_set(
		    d, r->status == 401 || r->status == 403 ? ST_EAUTH : ST_EIO,
		    "peer %s: GET %s: HTTP %ld", c->peer.name, url, r->status);
	rc = json_parse(doc, r->body.data ? r->body.data : "", r->body.len, 0,
			NULL, root, d);
	if (rc != ST_OK || (*root)->type != JSON_OBJECT)
		return diag_set(d, ST_EJSON, "peer %s: %s: not a JSON object",
				c->peer.name, url);
	return ST_OK;
}

int fc_discover(struct fed_client *c, struct diag *d)
{
	struct fc_response r;
	struct json_doc *doc = json_doc_new();
	const struct json_val *root, *v;
	int rc;
	char url[PEER_URL_MAX + 128];
	memset(&r, 0, sizeof(r));
	buf_init(&r.body, DOC_MAX);
	if (doc == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	c->inbox[0] = '\0';
	c->nreadable = 0;
	/* Discovery: the default API root, else the first. */
	if ((rc = get_doc(c, c->peer.url, &r, doc, &root, d)) != ST_OK)
		goto out;
	const char *root_link = NULL;
	if ((v = json_get(root, "default")) != NULL && v->type == JSON_STRING)
		root_link = v->u.str;
	else if ((v = json_get(root, "api_roots")) != NULL &&
		 v->type == JSON_ARRAY && v->len > 0 &&
		 v->u.items[0].type == JSON_STRING)
		root_link = v->u.items[0].u.str;
	if (root_link == NULL) {
		rc = diag_set(d, ST_EJSON,
			      "peer %s: discovery names no API "
			      "root",
			      c->peer.name);
		goto out;
	}
	if ((rc = resolve(c, c->peer.url, root_link, c->api_root,
			  sizeof(c->api_root), d)) != ST_OK)
		goto out;
	snprintf(url, sizeof(url), "%scollections/", c->api_root);
	if ((rc = get_doc(c, url, &r, doc, &root, d)) != ST_OK)
		goto out;
	v = json_get(root, "collections");
	size_t n = v != NULL && v->type == JSON_ARRAY ? v->len : 0;
	free(c->readable);
	c->readable = calloc(n ? n : 1, sizeof(*c->readable));
	if (c->readable == NULL) {
		rc = diag_set(d, ST_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n && i < FC_MAX_COLLECTIONS; i++) {
		const struct json_val *col = &v->u.items[i];
		const struct json_val *id = json_get(col, "id");
		const struct json_val *cr = json_get(col, "can_read");
		const struct json_val *cw = json_get(col, "can_write");
		if (id == NULL || id->type != JSON_STRING || id->len != 36 ||
		    strspn(id->u.str, "0123456789abcdef-") != 36)
			continue;
		if (cw != NULL && cw->type == JSON_TRUE && !c->inbox[0]) {
			snprintf(c->inbox, sizeof(c->inbox),
				 "%scollections/%s/objects/", c->api_root,
				 id->u.str);
		}
		if (cr != NULL && cr->type == JSON_TRUE)
			snprintf(c->readable[c->nreadable++], 37, "%s",
				 id->u.str);
	}
	rc = ST_OK;
out:
	buf_free(&r.body);
	json_doc_free(doc);
	return rc;
}

int fc_node(struct fed_client *c, char *identity, size_t cap, struct diag *d)
{
	struct fc_response r;
	struct json_doc *doc = json_doc_new();
	const struct json_val *root, *id, *pk;
	char url[PEER_URL_MAX + 64];
	int rc;
	memset(&r, 0, sizeof(r));
	buf_init(&r.body, DOC_MAX);
	if (doc == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	snprintf(url, sizeof(url), "%s/api/v1/node", c->origin);
	if ((rc = get_doc(c, url, &r, doc, &root, d)) != ST_OK)
		goto out;
	id = json_get(root, "id");
	pk = json_get(root, "public_key");
	uint8_t got[NODEKEY_PUB_BYTES];
	if (id == NULL || id->type != JSON_STRING || id->len >= cap ||
	    strncmp(id->u.str, "identity--", 10) != 0 || pk == NULL ||
	    pk->type != JSON_STRING ||
	    nodekey_pub_parse(pk->u.str, got) != ST_OK) {
		rc = diag_set(d, ST_EJSON,
			      "peer %s: /api/v1/node: no identity or key",
			      c->peer.name);
		goto out;
	}
	if (sodium_memcmp(got, c->peer.pk, sizeof(got)) != 0) {
		rc = diag_set(d, ST_EAUTH,
			      "peer %s: its node key is %s, not the key "
			      "configured with `strait peer add --key`",
			      c->peer.name, pk->u.str);
		goto out;
	}
	snprintf(identity, cap, "%s", id->u.str);
out:
	buf_free(&r.body);
	json_doc_free(doc);
	return rc;
}
