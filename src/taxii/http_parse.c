/*
 * strait: the pure parts of the HTTP core, without sockets: percent
 * decoding, query strings, the route matcher, content negotiation, listen
 * addresses and the error mapping. Each is fuzzed on its own.
 */
#include "taxii/http.h"
#include "common/hex.h"
#include "taxii/http_int.h"

#include "common/json.h"
#include "common/utf8.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- Percent decoding ---------------------------------------------------- */

ssize_t http_pct_decode(const char *src, size_t len, char *dst,
			bool plus_is_space)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)src[i];
		if (c == '%') {
			if (len - i < 3)
				return -1;
			int hi = hex_digit((unsigned char)src[i + 1]);
			int lo = hex_digit((unsigned char)src[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		} else if (c == '+' && plus_is_space) {
			c = ' ';
		}
		if (c == '\0')
			return -1;
		dst[o++] = (char)c;
	}
	dst[o] = '\0';
	return (ssize_t)o;
}

/* Well-formed UTF-8 (no overlongs, no surrogates) without C0 controls or
   DEL: no query value TAXII defines needs anything else. */
static bool text_ok(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < len;) {
		if (p[i] < 0x20 || p[i] == 0x7f)
			return false;
		size_t k = utf8_seq_len(p + i, len - i);
		if (k == 0)
			return false;
		i += k;
	}
	return true;
}

/* ---- Query strings ------------------------------------------------------- */

void http_query_free(struct http_query *q)
{
	if (q == NULL)
		return;
	free(q->items);
	free(q->mem);
	q->items = NULL;
	q->mem = NULL;
	q->n = 0;
}

int http_query_parse(const char *qs, size_t len, unsigned max_params,
		     size_t max_value, struct http_query *q, struct diag *d)
{
	int rc = ST_OK;

	q->items = NULL;
	q->mem = NULL;
	q->n = 0;
	if (qs == NULL || len == 0)
		return ST_OK;
	if (memchr(qs, '\0', len) != NULL)
		return diag_set(d, ST_EINVAL, "query string holds a NUL byte");

	/* Count the pairs first so the items array is allocated once. */
	size_t pairs = 0;
	for (size_t i = 0; i < len;) {
		const char *amp = memchr(qs + i, '&', len - i);
		size_t end = amp ? (size_t)(amp - qs) : len;
		if (end > i)
			pairs++;
		i = end + 1;
	}
	if (pairs > max_params)
		return diag_set(d, ST_ELIMIT,
				"query string has more than %u parameters",
				max_params);
	if (pairs == 0)
		return ST_OK;

	q->mem = malloc(len + 1);
	q->items = calloc(pairs, sizeof(*q->items));
	if (q->mem == NULL || q->items == NULL) {
		rc = diag_set(d, ST_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(q->mem, qs, len);
	q->mem[len] = '\0';

	for (size_t i = 0; i < len;) {
		char *pair = q->mem + i;
		char *amp = memchr(pair, '&', len - i);
		size_t end = amp ? (size_t)(amp - q->mem) : len;
		size_t plen = end - i;
		i = end + 1;
		if (plen == 0)
			continue; /* "a=1&&b=2", a trailing '&' */
		pair[plen] = '\0';
		char *eq = memchr(pair, '=', plen);
		size_t klen = eq ? (size_t)(eq - pair) : plen;
		char *val = eq ? eq + 1 : pair + plen;
		size_t vlen = eq ? plen - klen - 1 : 0;
		if (klen == 0) {
			rc = diag_set(d, ST_EINVAL,
				      "query parameter without a name");
			goto out;
		}
		ssize_t kd = http_pct_decode(pair, klen, pair, true);
		ssize_t vd = http_pct_decode(val, vlen, val, true);
		if (kd < 0 || vd < 0) {
			rc = diag_set(d, ST_EINVAL,
				      "malformed percent-encoding in the query "
				      "string");
			goto out;
		}
		if (kd == 0) {
			rc = diag_set(d, ST_EINVAL,
				      "query parameter without a name");
			goto out;
		}
		if ((size_t)kd > max_value || (size_t)vd > max_value) {
			rc = diag_set(d, ST_ELIMIT,
				      "query parameter longer than %zu bytes",
				      max_value);
			goto out;
		}
		if (!text_ok(pair, (size_t)kd) || !text_ok(val, (size_t)vd)) {
			rc =
			    diag_set(d, ST_EINVAL,
				     "query parameter is not valid UTF-8 text");
			goto out;
		}
		struct http_kv *kv = &q->items[q->n++];
		kv->key = pair;
		kv->key_len = (size_t)kd;
		kv->value = val;
		kv->value_len = (size_t)vd;
	}
out:
	if (rc != ST_OK)
		http_query_free(q);
	return rc;
}

const char *http_query_get(const struct http_query *q, const char *key)
{
	for (size_t i = 0; i < q->n; i++)
		if (strcmp(q->items[i].key, key) == 0)
			return q->items[i].value;
	return NULL;
}

size_t http_query_count(const struct http_query *q, const char *key)
{
	size_t n = 0;
	for (size_t i = 0; i < q->n; i++)
		if (strcmp(q->items[i].key, key) == 0)
			n++;
	return n;
}

/* ---- Methods and routes -------------------------------------------------- */

static const struct {
	const char *name;
	unsigned bit;
} methods[] = {
    {"GET", HTTP_GET},	       {"HEAD", HTTP_HEAD},	{"POST", HTTP_POST},
    {"PUT", HTTP_PUT},	       {"DELETE", HTTP_DELETE}, {"PATCH", HTTP_PATCH},
    {"OPTIONS", HTTP_OPTIONS},
};

unsigned http_method_parse(const char *s, size_t len)
{
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strlen(methods[i].name) == len &&
		    memcmp(methods[i].name, s, len) == 0)
			return methods[i].bit;
	return 0;
}

const char *http_method_name(unsigned m)
{
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (methods[i].bit == m)
			return methods[i].name;
	return "";
}

void http_allow_string(unsigned mask, char *out, size_t cap)
{
	size_t o = 0;

	if (cap == 0)
		return;
	out[0] = '\0';
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		if (!(mask & methods[i].bit))
			continue;
		size_t n = strlen(methods[i].name);
		size_t sep = o ? 2 : 0;
		if (o + sep + n + 1 > cap)
			break;
		if (sep) {
			memcpy(out + o, ", ", 2);
			o += 2;
		}
		memcpy(out + o, methods[i].name, n);
		o += n;
		out[o] = '\0';
	}
}

/* A route's methods as the server sees them: GET implies HEAD. */
static unsigned route_methods(const struct http_route *r)
{
	return r->methods & HTTP_GET ? r->methods | HTTP_HEAD : r->methods;
}

struct seg {
	const char *p;
	size_t len;
};

/* Splits "/a/b/" into its segments; false for an empty segment, a path
   not starting and ending with '/', or too many segments. "/" has none. */
static bool split_path(const char *path, size_t len, struct seg *segs,
		       size_t *n)
{
	*n = 0;
	if (len == 0 || path[0] != '/' || path[len - 1] != '/')
		return false;
	size_t i = 1;
	while (i < len) {
		const char *slash = memchr(path + i, '/', len - i);
		size_t end = (size_t)(slash - path); /* always found */
		if (end == i || *n == HTTP_MAX_SEGMENTS)
			return false;
		segs[*n].p = path + i;
		segs[*n].len = end - i;
		(*n)++;
		i = end + 1;
	}
	return true;
}

static bool is_param(const struct seg *s)
{
	return s->len >= 3 && s->p[0] == '{' && s->p[s->len - 1] == '}';
}

/* Whether path segments match a pattern; decodes parameters into m. */
static bool match_route(const struct http_route *r, const struct seg *ps,
			size_t np, struct http_match *m)
{
	struct seg rs[HTTP_MAX_SEGMENTS];
	size_t nr;
	size_t used = 0;

	if (!split_path(r->pattern, strlen(r->pattern), rs, &nr) || nr != np)
		return false;
	m->n_params = 0;
	for (size_t i = 0; i < np; i++) {
		if (!is_param(&rs[i])) {
			if (rs[i].len != ps[i].len ||
			    memcmp(rs[i].p, ps[i].p, ps[i].len) != 0)
				return false;
			continue;
		}
		if (m->n_params == HTTP_MAX_PATH_PARAMS)
			return false;
		char *dst = m->mem + used;
		ssize_t dl = http_pct_decode(ps[i].p, ps[i].len, dst, false);
		if (dl <= 0 || memchr(dst, '/', (size_t)dl) != NULL)
			return false;
		m->names[m->n_params] = rs[i].p + 1;
		m->name_lens[m->n_params] = rs[i].len - 2;
		m->values[m->n_params] = dst;
		m->n_params++;
		used += (size_t)dl + 1;
	}
	return true;
}

enum http_match_result http_route_match(const struct http_route *routes,
					size_t n_routes, unsigned method,
					const char *path, size_t len,
					struct http_match *m)
{
	struct seg ps[HTTP_MAX_SEGMENTS];
	size_t np;

	m->route = NULL;
	m->n_params = 0;
	m->allow = 0;
	if (len > HTTP_MAX_PATH || memchr(path, '\0', len) != NULL)
		return HTTP_MATCH_BAD_REQUEST;
	/* A malformed escape anywhere is a bad request, not a 404. */
	for (size_t i = 0; i < len; i++)
		if (path[i] == '%' &&
		    (len - i < 3 || hex_digit((unsigned char)path[i + 1]) < 0 ||
		     hex_digit((unsigned char)path[i + 2]) < 0 ||
		     (path[i + 1] == '0' && path[i + 2] == '0')))
			return HTTP_MATCH_BAD_REQUEST;
	/* Without its final '/', a path can match only the routes whose
	   slash is optional: as if it were there. */
	char slashed[HTTP_MAX_PATH + 2];
	bool no_slash = len > 0 && path[len - 1] != '/';
	if (no_slash) {
		memcpy(slashed, path, len);
		slashed[len] = '/';
		path = slashed;
		len++;
	}
	if (!split_path(path, len, ps, &np))
		return HTTP_MATCH_NOT_FOUND;
	for (size_t i = 0; i < n_routes; i++) {
		const struct http_route *r = &routes[i];
		if (no_slash && !(r->flags & HTTP_ROUTE_SLASH_OPTIONAL))
			continue;
		if (!match_route(r, ps, np, m))
			continue;
		if (route_methods(r) & method) {
			m->route = r;
			return HTTP_MATCH_OK;
		}
		m->allow |= route_methods(r);
	}
	m->n_params = 0;
	return m->allow ? HTTP_MATCH_BAD_METHOD : HTTP_MATCH_NOT_FOUND;
}

/* ---- Content negotiation ------------------------------------------------- */

#define ACCEPT_MAX_LEN 4096
#define ACCEPT_MAX_RANGES 64

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* RFC 7230 tchar. */
static bool is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

struct mtype {
	const char *type;
	size_t type_len;
	const char *sub;
	size_t sub_len;
	char version[16];
	bool has_version;
	bool bad_version; /* more than one, or too long */
	int q;		  /* thousandths */
	bool bad_q;
};

/* Reads a token at *i; returns its length (0 if none). */
static size_t read_token(const char *s, size_t len, size_t *i)
{
	size_t start = *i;
	while (*i < len && is_tchar((unsigned char)s[*i]))
		(*i)++;
	return *i - start;
}

static void skip_ows(const char *s, size_t len, size_t *i)
{
	while (*i < len && is_ows(s[*i]))
		(*i)++;
}

/* RFC 7231 qvalue: "0" ["." 0*3DIGIT] / "1" ["." 0*3("0")]. */
static int parse_q(const char *v, size_t n)
{
	if (n == 0 || (v[0] != '0' && v[0] != '1'))
		return -1;
	int q = (v[0] - '0') * 1000;
	if (n == 1)
		return q;
	if (v[1] != '.' || n > 5)
		return -1;
	int scale = 100;
	for (size_t i = 2; i < n; i++, scale /= 10) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		q += (v[i] - '0') * scale;
	}
	return q > 1000 ? -1 : q;
}

/*
 * Parses one media type (or range) with its parameters from s[*i...],
 * stopping after a ',' at top level (or at the end). Returns false for a
 * malformed element, with *i moved past it.
 */
static bool parse_mtype(const char *s, size_t len, size_t *i, struct mtype *mt)
{
	bool ok = true;

	memset(mt, 0, sizeof(*mt));
	mt->q = 1000;
	skip_ows(s, len, i);
	mt->type = s + *i;
	mt->type_len = read_token(s, len, i);
	if (mt->type_len == 0 || *i >= len || s[*i] != '/')
		ok = false;
	else {
		(*i)++;
		mt->sub = s + *i;
		mt->sub_len = read_token(s, len, i);
		if (mt->sub_len == 0)
			ok = false;
	}
	while (ok) {
		skip_ows(s, len, i);
		if (*i >= len || s[*i] == ',')
			break;
		if (s[*i] != ';') {
			ok = false;
			break;
		}
		(*i)++;
		skip_ows(s, len, i);
		if (*i < len && s[*i] == ',')
			break; /* a trailing ';' is tolerated */
		if (*i >= len)
			break;
		const char *name = s + *i;
		size_t nlen = read_token(s, len, i);
		skip_ows(s, len, i);
		if (nlen == 0 || *i >= len || s[*i] != '=') {
			ok = false;
			break;
		}
		(*i)++;
		skip_ows(s, len, i);
		char val[16];
		size_t vlen = 0;
		bool too_long = false;
		if (*i < len && s[*i] == '"') {
			(*i)++;
			bool closed = false;
			while (*i < len) {
				char c = s[*i];
				if (c == '\\' && *i + 1 < len) {
					c = s[*i + 1];
					(*i)++;
				} else if (c == '"') {
					(*i)++;
					closed = true;
					break;
				}
				if (vlen < sizeof(val) - 1)
					val[vlen++] = c;
				else
					too_long = true;
				(*i)++;
			}
			if (!closed) {
				ok = false;
				break;
			}
		} else {
			const char *v = s + *i;
			size_t n = read_token(s, len, i);
			if (n == 0) {
				ok = false;
				break;
			}
			if (n >= sizeof(val)) {
				too_long = true;
				n = sizeof(val) - 1;
			}
			memcpy(val, v, n);
			vlen = n;
		}
		val[vlen] = '\0';
		if (nlen == 1 && (name[0] == 'q' || name[0] == 'Q')) {
			mt->q = too_long ? -1 : parse_q(val, vlen);
			if (mt->q < 0)
				mt->bad_q = true;
		} else if (nlen == 7 && strncasecmp(name, "version", 7) == 0) {
			if (mt->has_version || too_long)
				mt->bad_version = true;
			mt->has_version = true;
			memcpy(mt->version, val, vlen + 1);
		}
		/* Other parameters (charset, ...) do not matter here. */
	}
	/* Skip to after the next top-level ',' (quotes respected). */
	bool inq = false;
	while (*i < len) {
		char c = s[*i];
		(*i)++;
		if (inq && c == '\\' && *i < len) {
			(*i)++;
			continue;
		}
		if (c == '"') {
			inq = !inq;
			ok = ok && inq; /* a quote outside a parameter value */
		} else if (c == ',' && !inq) {
			break;
		} else if (!is_ows(c)) {
			ok = false;
		}
	}
	return ok;
}

static bool ieq(const char *a, size_t alen, const char *b, size_t blen)
{
	return alen == blen && strncasecmp(a, b, alen) == 0;
}

static bool all_ows(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!is_ows(s[i]))
			return false;
	return true;
}

bool http_accepts(const char *accept, size_t len, const char *type,
		  const char *version)
{
	const char *slash = strchr(type, '/');
	size_t tl = slash ? (size_t)(slash - type) : strlen(type);
	const char *sub = slash ? slash + 1 : "";
	size_t sl = strlen(sub);
	int best_spec = -1, best_q = 0;
	size_t ranges = 0;

	if (accept == NULL || all_ows(accept, len))
		return true;
	if (len > ACCEPT_MAX_LEN)
		return false;
	for (size_t i = 0; i < len;) {
		struct mtype mt;
		size_t before = i;
		bool ok = parse_mtype(accept, len, &i, &mt);
		if (i == before)
			break;
		size_t elen = i - before;
		if (accept[before + elen - 1] == ',')
			elen--;
		if (all_ows(accept + before, elen))
			continue; /* empty list element: "a, ,b" */
		if (++ranges > ACCEPT_MAX_RANGES)
			return false;
		if (!ok || mt.bad_q || mt.bad_version)
			continue;
		int spec;
		bool tstar = mt.type_len == 1 && mt.type[0] == '*';
		bool sstar = mt.sub_len == 1 && mt.sub[0] == '*';
		if (tstar && sstar)
			spec = 0;
		else if (tstar)
			continue; /* "* /json" is not a valid range */
		else if (!ieq(mt.type, mt.type_len, type, tl))
			continue;
		else if (sstar)
			spec = 1;
		else if (!ieq(mt.sub, mt.sub_len, sub, sl))
			continue;
		else
			spec = mt.has_version ? 3 : 2;
		if (mt.has_version &&
		    (version == NULL || strcmp(mt.version, version) != 0))
			continue;
		if (spec > best_spec || (spec == best_spec && mt.q > best_q)) {
			best_spec = spec;
			best_q = mt.q;
		}
	}
	return best_spec >= 0 && best_q > 0;
}

bool http_content_type_is(const char *ctype, size_t len, const char *type,
			  const char *version)
{
	const char *slash = strchr(type, '/');
	size_t tl = slash ? (size_t)(slash - type) : strlen(type);
	const char *sub = slash ? slash + 1 : "";
	struct mtype mt;
	size_t i = 0;

	if (ctype == NULL || len == 0 || len > ACCEPT_MAX_LEN ||
	    memchr(ctype, ',', len) != NULL)
		return false;
	if (!parse_mtype(ctype, len, &i, &mt) || mt.bad_version || i != len)
		return false;
	if (!ieq(mt.type, mt.type_len, type, tl) ||
	    !ieq(mt.sub, mt.sub_len, sub, strlen(sub)))
		return false;
	if (mt.has_version &&
	    (version == NULL || strcmp(mt.version, version) != 0))
		return false;
	return true;
}

/* ---- Listen addresses ---------------------------------------------------- */

int http_parse_listen(const char *s, struct sockaddr_storage *ss,
		      bool *loopback, struct diag *d)
{
	char host[64];
	const char *port_s;
	size_t hlen;

	memset(ss, 0, sizeof(*ss));
	*loopback = false;
	if (s == NULL || *s == '\0')
		return diag_set(d, ST_EINVAL, "empty listen address");
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		if (rb == NULL || rb[1] != ':')
			return diag_set(d, ST_EINVAL,
					"listen address '%s': expected "
					"[IPv6]:PORT",
					s);
		hlen = (size_t)(rb - s - 1);
		if (hlen >= sizeof(host))
			return diag_set(d, ST_EINVAL,
					"listen address '%s': host too long",
					s);
		memcpy(host, s + 1, hlen);
		port_s = rb + 2;
	} else {
		const char *colon = strrchr(s, ':');
		if (colon == NULL || memchr(s, ':', (size_t)(colon - s)))
			return diag_set(d, ST_EINVAL,
					"listen address '%s': expected "
					"HOST:PORT (IPv6 as [ADDR]:PORT)",
					s);
		hlen = (size_t)(colon - s);
		if (hlen >= sizeof(host))
			return diag_set(d, ST_EINVAL,
					"listen address '%s': host too long",
					s);
		memcpy(host, s, hlen);
		port_s = colon + 1;
	}
	host[hlen] = '\0';

	unsigned long port = 0;
	size_t pl = strlen(port_s);
	if (pl == 0 || pl > 5)
		return diag_set(d, ST_EINVAL, "listen address '%s': bad port",
				s);
	for (size_t i = 0; i < pl; i++) {
		if (port_s[i] < '0' || port_s[i] > '9')
			return diag_set(d, ST_EINVAL,
					"listen address '%s': bad port", s);
		port = port * 10 + (unsigned long)(port_s[i] - '0');
	}
	if (port > 65535)
		return diag_set(d, ST_EINVAL,
				"listen address '%s': port over 65535", s);

	if (strcmp(host, "localhost") == 0)
		strcpy(host, "127.0.0.1");
	struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
	if (s[0] != '[' && inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
		*loopback = (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
		return ST_OK;
	}
	if (s[0] == '[' && inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		*loopback = IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr) ||
			    (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr) &&
			     v6->sin6_addr.s6_addr[12] == 127);
		return ST_OK;
	}
	return diag_set(d, ST_EINVAL,
			"listen address '%s': '%s' is not an IP address", s,
			host);
}

/* ---- Errors -------------------------------------------------------------- */

static const struct {
	int status;
	const char *reason;
} reasons[] = {
    {200, "OK"},
    {201, "Created"},
    {202, "Accepted"},
    {204, "No Content"},
    {206, "Partial Content"},
    {304, "Not Modified"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {406, "Not Acceptable"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {410, "Gone"},
    {411, "Length Required"},
    {413, "Payload Too Large"},
    {414, "URI Too Long"},
    {415, "Unsupported Media Type"},
    {416, "Range Not Satisfiable"},
    {422, "Unprocessable Entity"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {503, "Service Unavailable"},
};

const char *http_reason(int status)
{
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].status == status)
			return reasons[i].reason;
	return "Unknown";
}

int http_status_from_err(int err)
{
	switch (err) {
	case ST_OK:
		return 200;
	case ST_EINVAL:
	case ST_EJSON:
	case ST_ESTIX:
	case ST_ERANGE:
	case ST_ELIMIT:
		return 400;
	case ST_ENOTFOUND:
		return 404;
	case ST_EEXIST:
	case ST_ECONFLICT:
		return 409;
	case ST_ECLOSED:
		return 503;
	default:
		return 500;
	}
}

static void response_clear(struct http_response *resp)
{
	if (resp->stream_free != NULL)
		resp->stream_free(resp->stream_arg);
	resp->stream = NULL;
	resp->stream_arg = NULL;
	resp->stream_free = NULL;
	for (size_t i = 0; i < resp->n_headers; i++) {
		free(resp->headers[i].name);
		free(resp->headers[i].value);
	}
	resp->n_headers = 0;
	buf_reset(&resp->body);
}

void http_response_release(struct http_response *resp)
{
	response_clear(resp);
	buf_free(&resp->body);
}

static bool header_text_ok(const char *s)
{
	for (; *s; s++)
		if (*s == '\r' || *s == '\n')
			return false;
	return true;
}

int http_response_header(struct http_response *resp, const char *name,
			 const char *value)
{
	if (name == NULL || value == NULL || *name == '\0' ||
	    !header_text_ok(name) || !header_text_ok(value) ||
	    strchr(name, ':') != NULL)
		return ST_EINVAL;
	if (resp->n_headers == HTTP_MAX_RESP_HEADERS)
		return ST_ELIMIT;
	char *n = strdup(name), *v = strdup(value);
	if (n == NULL || v == NULL) {
		free(n);
		free(v);
		return ST_ENOMEM;
	}
	resp->headers[resp->n_headers].name = n;
	resp->headers[resp->n_headers].value = v;
	resp->n_headers++;
	return ST_OK;
}

void http_response_stream(struct http_response *resp, int status,
			  const char *content_type, http_stream_fn fn,
			  void *arg, void (*free_fn)(void *))
{
	if (resp->stream_free != NULL)
		resp->stream_free(resp->stream_arg);
	buf_reset(&resp->body);
	resp->status = status;
	resp->content_type = content_type;
	resp->stream = fn;
	resp->stream_arg = arg;
	resp->stream_free = free_fn;
}

int http_error(struct http_response *resp, int status, const char *title,
	       const char *description)
{
	char code[8];
	struct jw w;

	response_clear(resp);
	if (status < 400 || status > 599)
		status = 500;
	resp->status = status;
	resp->content_type = HTTP_TAXII_CTYPE;
	snprintf(code, sizeof(code), "%d", status);
	jw_init(&w, &resp->body);
	jw_obj_open(&w);
	jw_key(&w, "title");
	jw_str(&w, title ? title : http_reason(status));
	if (description != NULL) {
		jw_key(&w, "description");
		jw_str(&w, description);
	}
	jw_key(&w, "http_status");
	jw_str(&w, code);
	jw_obj_close(&w);
	if (jw_finish(&w) != ST_OK) {
		/* A description that is not UTF-8, or a tiny response cap:
		   fall back to the bare form, which always fits. */
		buf_reset(&resp->body);
		buf_printf(&resp->body,
			   "{\"title\":\"%s\",\"http_status\":\"%d\"}",
			   http_reason(status), status);
	}
	if (status == 401)
		http_response_header(resp, "WWW-Authenticate",
				     "Basic realm=\"strait\", Bearer");
	if (status == 429 || status == 503) {
		char ra[16];
		snprintf(ra, sizeof(ra), "%u",
			 resp->retry_after_s ? resp->retry_after_s : 1);
		http_response_header(resp, "Retry-After", ra);
	}
	return ST_OK;
}

int http_error_from(struct http_response *resp, int err,
		    const char *description)
{
	int status = http_status_from_err(err);
	return http_error(resp, status, NULL,
			  status == 500 ? NULL : description);
}
