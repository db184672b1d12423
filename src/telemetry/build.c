/*
 * strait: building the SCOs of a telemetry record as json_val trees in the
 * reader's arena, which is reset for every record.
 */
#include "telemetry/tel_int.h"
#include "common/hex.h"

#include "common/ip.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Memory and objects                                                   */
/* ------------------------------------------------------------------ */

void tel_sb_reset(struct tel_reader *r)
{
	arena_reset(r->arena);
	r->mem_used = 0;
	r->err = ST_OK;
	r->n_scos = 0;
	r->truncated = false;
	r->uid = NULL;
}

void *tel_alloc(struct tel_reader *r, size_t n)
{
	if (r->err != ST_OK)
		return NULL;
	/* Counted here (as the arena rounds) to save a call per
	 * allocation. */
	if (n > r->opt.max_record_mem ||
	    r->mem_used > r->opt.max_record_mem - n) {
		r->err = ST_ELIMIT;
		return NULL;
	}
	r->mem_used += (n + 15) & ~(size_t)15;
	void *p = arena_alloc(r->arena, n);
	if (p == NULL)
		r->err = ST_ENOMEM;
	return p;
}

char *tel_strdup(struct tel_reader *r, const char *s, size_t len)
{
	char *p = tel_alloc(r, len + 1);
	if (p == NULL)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

struct ob tel_obj(struct tel_reader *r, uint32_t cap)
{
	struct ob o = {NULL, 0};
	/* The value and its members in one piece. */
	struct json_member *m = tel_alloc(r, sizeof(*m) * (cap + 1));
	if (m == NULL)
		return o;
	struct json_val *v = &m[cap].val;
	v->type = JSON_OBJECT;
	v->len = 0;
	v->u.members = m;
	o.v = v;
	o.cap = cap;
	return o;
}

static struct json_val *put_arr(struct tel_reader *r, struct ob o,
				const char *key, uint32_t n)
{
	struct json_val *items = tel_alloc(r, sizeof(*items) * (n ? n : 1));
	struct json_val *v = tel_put(r, o, key);
	if (items == NULL)
		return NULL;
	v->type = JSON_ARRAY;
	v->len = n;
	v->u.items = items;
	return items;
}

int tel_sco_add(struct tel_reader *r, struct ob o, unsigned roles,
		const char *value, size_t vlen)
{
	if (o.v == NULL)
		return -1;
	if (r->n_scos >= r->opt.max_scos) {
		r->truncated = true;
		return -1;
	}
	int i = (int)r->n_scos++;
	r->scos[i].ref = r->refs[i];
	r->scos[i].obj = o.v;
	r->info[i].roles = roles;
	r->info[i].local = false;
	r->info[i].refs_local = false;
	r->info[i].value = value;
	r->info[i].value_len = (uint32_t)vlen;
	r->is_addr[i] = false;
	return i;
}

/* ------------------------------------------------------------------ */
/* Text helpers                                                         */
/* ------------------------------------------------------------------ */

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool has_upper(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			return true;
	return false;
}

/* s lowercased: s itself when it already is and is NUL-terminated at len,
 * else a copy. */
static const char *lowered(struct tel_reader *r, const char *s, size_t len,
			   bool nul_at_len)
{
	if (nul_at_len && !has_upper(s, len))
		return s;
	char *p = tel_alloc(r, len + 1);
	if (p == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++)
		p[i] = lower(s[i]);
	p[len] = '\0';
	return p;
}

/* ------------------------------------------------------------------ */
/* Addresses                                                            */
/* ------------------------------------------------------------------ */

static bool in_local_nets(const struct tel_reader *r, const struct ip_prefix *a)
{
	if (!a->v6) {
		uint32_t x = (uint32_t)a->addr[0] << 24 |
			     (uint32_t)a->addr[1] << 16 |
			     (uint32_t)a->addr[2] << 8 | a->addr[3];
		for (size_t i = 0; i < r->n_v4; i++)
			if ((x & r->v4[i].mask) == r->v4[i].net)
				return true;
		return false;
	}
	for (size_t i = 0; i < r->n_v6; i++)
		if (ip_contains(&r->v6[i], a))
			return true;
	return false;
}

/* Dotted-quad IPv4 as inet_pton takes it (no leading zeros), without
 * the copy ip_parse makes: most addresses in logs are IPv4. */
static bool parse_v4(const char *s, size_t len, struct ip_prefix *a)
{
	const char *p = s, *end = s + len;
	memset(a, 0, sizeof(*a));
	for (int part = 0; part < 4; part++) {
		if (part > 0 && (p == end || *p++ != '.'))
			return false;
		if (p == end || (unsigned)(*p - '0') > 9)
			return false;
		unsigned v = (unsigned)(*p++ - '0');
		/* Up to two more digits, none after a leading zero. */
		for (int k = 0;
		     v != 0 && k < 2 && p < end && (unsigned)(*p - '0') <= 9;
		     k++)
			v = v * 10 + (unsigned)(*p++ - '0');
		if (v > 255)
			return false;
		a->addr[part] = (uint8_t)v;
	}
	a->len = 32;
	return p == end;
}

int tel_addr(struct tel_reader *r, const char *s, size_t len, unsigned role,
	     bool local_hint, const char *field, int *idx)
{
	struct ip_prefix a;
	*idx = -1;
	/* ip_parse hands the text to inet_pton as a C string: a NUL inside
	 * would cut it short unnoticed. */
	bool ok = parse_v4(s, len, &a) ||
		  (memchr(s, ':', len) != NULL && memchr(s, '/', len) == NULL &&
		   memchr(s, '\0', len) == NULL && ip_parse(s, len, &a));
	if (!ok)
		return diag_set(&r->d, ST_EINVAL,
				"%s: not an IP address: \"%.*s\"", field,
				len > 64 ? 64 : (int)len, s);
	for (uint32_t i = 0; i < r->n_scos; i++) {
		if (r->is_addr[i] && r->addr[i].v6 == a.v6 &&
		    memcmp(r->addr[i].addr, a.addr, 16) == 0) {
			r->info[i].roles |= role;
			r->info[i].local |= local_hint;
			*idx = (int)i;
			return ST_OK;
		}
	}
	const char *text;
	size_t tlen;
	if (a.v6) {
		/* One spelling per address (RFC 5952), so that equal
		 * addresses compare equal as strings. */
		char *p = tel_alloc(r, INET6_ADDRSTRLEN);
		if (p == NULL)
			return r->err;
		inet_ntop(AF_INET6, a.addr, p, INET6_ADDRSTRLEN);
		text = p;
		tlen = strlen(p);
	} else if (s[len] == '\0') {
		/* parse_v4 takes only the canonical dotted-quad form. */
		text = s;
		tlen = len;
	} else {
		text = tel_strdup(r, s, len);
		tlen = len;
		if (text == NULL)
			return r->err;
	}
	struct ob o = tel_obj(r, 2);
	tel_put_str(r, o, "type", a.v6 ? "ipv6-addr" : "ipv4-addr", 9);
	tel_put_str(r, o, "value", text, tlen);
	if (r->err != ST_OK)
		return r->err;
	int i = tel_sco_add(r, o, role, text, tlen);
	if (i < 0)
		return ST_OK;
	r->is_addr[i] = true;
	r->addr[i] = a;
	r->info[i].local = local_hint || in_local_nets(r, &a);
	*idx = i;
	return ST_OK;
}

/* ------------------------------------------------------------------ */
/* Domain names and URLs                                                */
/* ------------------------------------------------------------------ */

/* Letters, digits, '-' (not first or last in a label) and '_' in labels
 * of 1 to 63 bytes, at most 253 in all, not an IPv4 literal; UTF-8
 * (already validated) is let through for internationalised names. */
static bool plausible_domain(const char *s, size_t len)
{
	if (len == 0 || len > 253)
		return false;
	size_t label = 0;
	bool all_digits = true;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (c == '-' && (label == 0 || i + 1 == len))
			return false;
		if (++label > 63)
			return false;
		if (c >= '0' && c <= '9')
			continue;
		all_digits = false;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    c == '-' || c == '_' || c >= 0x80)
			continue;
		return false;
	}
	return label > 0 && !all_digits;
}

int tel_domain(struct tel_reader *r, const char *s, size_t len, unsigned role)
{
	bool nul = s[len] == '\0';
	if (len > 1 && s[len - 1] == '.') {
		len--;
		nul = false;
	}
	if (!plausible_domain(s, len))
		return -1;
	const char *v = lowered(r, s, len, nul);
	if (v == NULL)
		return -1;
	for (uint32_t i = 0; i < r->n_scos; i++) {
		const struct tel_sco_info *in = &r->info[i];
		if (!r->is_addr[i] && in->value != NULL &&
		    in->value_len == len &&
		    json_str_eq(json_get(r->scos[i].obj, "type"),
				"domain-name") &&
		    memcmp(in->value, v, len) == 0) {
			r->info[i].roles |= role;
			return (int)i;
		}
	}
	struct ob o = tel_obj(r, 3);
	tel_put_str(r, o, "type", "domain-name", 11);
	tel_put_str(r, o, "value", v, len);
	return tel_sco_add(r, o, role, v, len);
}

void tel_domain_resolves(struct tel_reader *r, int dom, const int *to, size_t n)
{
	if (dom < 0 || n == 0)
		return;
	/* The object was made by tel_domain with room for this list. */
	struct ob o = {(struct json_val *)r->scos[dom].obj, 3};
	for (uint32_t i = 0; i < o.v->len; i++)
		if (strcmp(o.v->u.members[i].key, "resolves_to_refs") == 0)
			return;
	struct json_val *items = put_arr(r, o, "resolves_to_refs", (uint32_t)n);
	if (items == NULL)
		return;
	struct json_val *arr = &o.v->u.members[o.v->len - 1].val;
	arr->len = 0;
	for (size_t k = 0; k < n; k++) {
		if (to[k] < 0 || to[k] == dom)
			continue;
		bool dup = false;
		for (uint32_t j = 0; j < arr->len; j++)
			if (items[j].u.str == r->refs[to[k]])
				dup = true;
		if (dup)
			continue;
		tel_set_str(&items[arr->len++], r->refs[to[k]],
			    strlen(r->refs[to[k]]));
		if (r->info[to[k]].local || r->info[to[k]].refs_local)
			r->info[dom].refs_local = true;
	}
	if (arr->len == 0)
		o.v->len--; /* nothing resolved: no empty list */
}

/* Appends s to p, %xx escapes in capitals; returns the new end. */
static char *copy_path(char *p, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%' && i + 2 < len &&
		    hex_digit((unsigned char)s[i + 1]) >= 0 &&
		    hex_digit((unsigned char)s[i + 2]) >= 0) {
			*p++ = '%';
			*p++ = "0123456789ABCDEF"[hex_digit(
			    (unsigned char)s[i + 1])];
			*p++ = "0123456789ABCDEF"[hex_digit(
			    (unsigned char)s[i + 2])];
			i += 2;
			continue;
		}
		*p++ = s[i];
	}
	return p;
}

/* Lowercases the authority into p without a default port (":80" for
 * http, ":443" for https); returns the new end. */
static char *copy_authority(char *p, const char *s, size_t len, bool https)
{
	const char *def = https ? ":443" : ":80";
	size_t dl = strlen(def);
	if (len > dl && memcmp(s + len - dl, def, dl) == 0)
		len -= dl;
	if (len > 1 && s[len - 1] == '.')
		len--;
	for (size_t i = 0; i < len; i++)
		*p++ = lower(s[i]);
	return p;
}

static bool prefix_ci(const char *s, size_t len, const char *pre)
{
	size_t n = strlen(pre);
	if (len < n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (lower(s[i]) != pre[i])
			return false;
	return true;
}

static bool eq_ci(const char *a, const char *b, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (lower(a[i]) != lower(b[i]))
			return false;
	return true;
}

static bool bad_url_char(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			return true;
	return false;
}

int tel_url(struct tel_reader *r, const struct http_req *h, int dst,
	    int64_t dport)
{
	const char *uri = h->uri;
	size_t ulen = h->uri_len;
	if (uri == NULL || bad_url_char(uri, ulen))
		return -1;
	char *p, *start;
	if (prefix_ci(uri, ulen, "http://") ||
	    prefix_ci(uri, ulen, "https://")) {
		/* Absolute form (a request to a proxy). */
		bool https = lower(uri[4]) == 's';
		size_t skip = https ? 8 : 7;
		const char *auth = uri + skip;
		size_t rest = ulen - skip;
		const char *slash = memchr(auth, '/', rest);
		size_t alen = slash ? (size_t)(slash - auth) : rest;
		if (alen == 0)
			return -1;
		start = p = tel_alloc(r, ulen + 2);
		if (p == NULL)
			return -1;
		memcpy(p, https ? "https://" : "http://", skip);
		p = copy_authority(p + skip, auth, alen, https);
		if (slash == NULL)
			*p++ = '/';
		else
			p = copy_path(p, slash, rest - alen);
	} else {
		if (ulen > 0 && uri[0] != '/')
			return -1; /* "*", CONNECT's authority form */
		char hostbuf[INET6_ADDRSTRLEN + 10];
		const char *host = h->host;
		size_t hlen = h->host_len;
		if (host != NULL && bad_url_char(host, hlen))
			return -1;
		if (host == NULL || hlen == 0) {
			if (dst < 0 || !r->is_addr[dst])
				return -1;
			const struct tel_sco_info *in = &r->info[dst];
			bool v6 = r->addr[dst].v6;
			int n;
			if (dport >= 0 && dport != 80)
				n = snprintf(hostbuf, sizeof(hostbuf),
					     v6 ? "[%s]:%lld" : "%s:%lld",
					     in->value, (long long)dport);
			else
				n = snprintf(hostbuf, sizeof(hostbuf),
					     v6 ? "[%s]" : "%s", in->value);
			host = hostbuf;
			hlen = (size_t)n;
		}
		start = p = tel_alloc(r, 7 + hlen + ulen + 2);
		if (p == NULL)
			return -1;
		memcpy(p, "http://", 7);
		p = copy_authority(p + 7, host, hlen, false);
		if (ulen == 0)
			*p++ = '/';
		else
			p = copy_path(p, uri, ulen);
	}
	*p = '\0';
	size_t len = (size_t)(p - start);
	struct ob o = tel_obj(r, 2);
	tel_put_str(r, o, "type", "url", 3);
	tel_put_str(r, o, "value", start, len);
	return tel_sco_add(r, o, TEL_ROLE_URL, start, len);
}

/* ------------------------------------------------------------------ */
/* Network traffic                                                      */
/* ------------------------------------------------------------------ */

void tel_traffic_init(struct traffic *t)
{
	memset(t, 0, sizeof(*t));
	t->src = t->dst = -1;
	t->sport = t->dport = -1;
	t->src_bytes = t->dst_bytes = t->src_pkts = t->dst_pkts = -1;
	t->icmp_type = t->icmp_code = -1;
}

static bool proto_name(const char *s, size_t len)
{
	if (len == 0 || len > 32)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = lower(s[i]);
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
	}
	return true;
}

void tel_traffic_app(struct traffic *t, const char *s, size_t len)
{
	if (!proto_name(s, len))
		return;
	if (len == 3 && prefix_ci(s, len, "ssl")) {
		s = "tls";
		len = 3;
	}
	for (uint32_t i = 0; i < t->n_apps; i++)
		if (t->app_lens[i] == len && eq_ci(t->apps[i], s, len))
			return;
	if (t->n_apps < sizeof(t->apps) / sizeof(t->apps[0])) {
		t->apps[t->n_apps] = s;
		t->app_lens[t->n_apps] = len;
		t->n_apps++;
	}
}

static void put_ts(struct tel_reader *r, struct ob o, const char *key,
		   st_time t)
{
	size_t len;
	const char *s = tel_ts_str(r, t, &len);
	if (s != NULL)
		tel_put_str(r, o, key, s, len);
}

static void put_lower(struct tel_reader *r, struct json_val *v, const char *s,
		      size_t len)
{
	const char *p = lowered(r, s, len, s[len] == '\0');
	if (p != NULL)
		tel_set_str(v, p, len);
}

static void put_http_ext(struct tel_reader *r, struct ob nt,
			 const struct http_req *h)
{
	struct ob ext = tel_obj(r, 1);
	struct ob req = tel_obj(r, 5);
	if (ext.v == NULL || req.v == NULL)
		return;
	struct json_val *v = tel_put(r, nt, "extensions");
	*v = *ext.v;
	ext.v = v;
	v = tel_put(r, ext, "http-request-ext");
	*v = *req.v;
	req.v = v;
	put_lower(r, tel_put(r, req, "request_method"), h->method,
		  h->method_len);
	tel_put_str(r, req, "request_value", h->uri, h->uri_len);
	if (h->version != NULL && h->version_len > 0) {
		/* Zeek writes "1.1", Suricata "HTTP/1.1": STIX wants
		 * "http/1.1". */
		if (prefix_ci(h->version, h->version_len, "http/")) {
			put_lower(r, tel_put(r, req, "request_version"),
				  h->version, h->version_len);
		} else {
			char *p = tel_alloc(r, h->version_len + 6);
			if (p != NULL) {
				memcpy(p, "http/", 5);
				memcpy(p + 5, h->version, h->version_len);
				p[h->version_len + 5] = '\0';
				put_lower(r, tel_put(r, req, "request_version"),
					  p, h->version_len + 5);
			}
		}
	}
	uint32_t nh = (h->host != NULL && h->host_len) +
		      (h->ua != NULL && h->ua_len) +
		      (h->referrer != NULL && h->referrer_len);
	if (nh > 0) {
		struct ob hdr = tel_obj(r, nh);
		if (hdr.v != NULL) {
			v = tel_put(r, req, "request_header");
			*v = *hdr.v;
			hdr.v = v;
			if (h->host != NULL && h->host_len)
				tel_put_str(r, hdr, "Host", h->host,
					    h->host_len);
			if (h->ua != NULL && h->ua_len)
				tel_put_str(r, hdr, "User-Agent", h->ua,
					    h->ua_len);
			if (h->referrer != NULL && h->referrer_len)
				tel_put_str(r, hdr, "Referer", h->referrer,
					    h->referrer_len);
		}
	}
	if (h->body_len >= 0)
		tel_put_int(r, req, "message_body_length", h->body_len);
}

int tel_traffic(struct tel_reader *r, const struct traffic *t)
{
	if (t->src < 0 && t->dst < 0)
		return -1;
	struct ob o = tel_obj(r, 13);
	tel_put_str(r, o, "type", "network-traffic", 15);
	if (t->src >= 0)
		tel_put_str(r, o, "src_ref", r->refs[t->src],
			    strlen(r->refs[t->src]));
	if (t->dst >= 0)
		tel_put_str(r, o, "dst_ref", r->refs[t->dst],
			    strlen(r->refs[t->dst]));
	bool icmp = t->icmp_type >= 0;
	if (t->sport >= 0 && !icmp)
		tel_put_int(r, o, "src_port", t->sport);
	if (t->dport >= 0 && !icmp)
		tel_put_int(r, o, "dst_port", t->dport);

	/* protocols: network layer, transport, applications. */
	int any = t->src >= 0 ? t->src : t->dst;
	bool v6 = r->is_addr[any] && r->addr[any].v6;
	uint32_t n = 1 + (t->transport != NULL) + t->n_apps;
	struct json_val *items = put_arr(r, o, "protocols", n);
	if (items == NULL)
		return -1;
	uint32_t k = 0;
	tel_set_str(&items[k++], v6 ? "ipv6" : "ipv4", 4);
	if (t->transport != NULL)
		put_lower(r, &items[k++], t->transport, t->transport_len);
	for (uint32_t i = 0; i < t->n_apps; i++)
		put_lower(r, &items[k++], t->apps[i], t->app_lens[i]);

	if (t->has_start)
		put_ts(r, o, "start", t->start);
	if (t->has_end)
		put_ts(r, o, "end", t->end);
	if (t->src_bytes >= 0)
		tel_put_int(r, o, "src_byte_count", t->src_bytes);
	if (t->dst_bytes >= 0)
		tel_put_int(r, o, "dst_byte_count", t->dst_bytes);
	if (t->src_pkts >= 0)
		tel_put_int(r, o, "src_packets", t->src_pkts);
	if (t->dst_pkts >= 0)
		tel_put_int(r, o, "dst_packets", t->dst_pkts);
	if (icmp) {
		struct ob ext = tel_obj(r, 1);
		struct ob ie = tel_obj(r, 2);
		if (ext.v != NULL && ie.v != NULL) {
			struct json_val *v = tel_put(r, o, "extensions");
			*v = *ext.v;
			ext.v = v;
			v = tel_put(r, ext, "icmp-ext");
			*v = *ie.v;
			ie.v = v;
			char *hx = tel_alloc(r, 6);
			if (hx != NULL) {
				static const char d[] = "0123456789abcdef";
				int ty = t->icmp_type & 0xff;
				int co =
				    t->icmp_code < 0 ? 0 : t->icmp_code & 0xff;
				hx[0] = d[ty >> 4];
				hx[1] = d[ty & 15];
				hx[2] = '\0';
				hx[3] = d[co >> 4];
				hx[4] = d[co & 15];
				hx[5] = '\0';
				tel_put_str(r, ie, "icmp_type_hex", hx, 2);
				tel_put_str(r, ie, "icmp_code_hex", hx + 3, 2);
			}
		}
	} else if (t->http != NULL && t->http->method != NULL &&
		   t->http->uri != NULL) {
		put_http_ext(r, o, t->http);
	}
	int i = tel_sco_add(r, o, TEL_ROLE_TRAFFIC, NULL, 0);
	if (i >= 0)
		r->info[i].refs_local =
		    (t->src >= 0 && r->info[t->src].local) ||
		    (t->dst >= 0 && r->info[t->dst].local);
	return i;
}

/* ------------------------------------------------------------------ */
/* Files and certificates                                               */
/* ------------------------------------------------------------------ */

/* Lowercase hex of exactly want digits (colons dropped when colons);
 * NULL and a message when s is not. */
static const char *hex_digest(struct tel_reader *r, const char *field,
			      const char *s, size_t len, size_t want,
			      bool colons)
{
	char *p = tel_alloc(r, want + 1);
	if (p == NULL)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < len; i++) {
		if (colons && s[i] == ':')
			continue;
		if (k == want || hex_digit((unsigned char)s[i]) < 0) {
			k = want + 1;
			break;
		}
		p[k++] = lower(s[i]);
	}
	if (k != want) {
		diag_set(&r->d, ST_EINVAL, "%s: not %zu hex digits", field,
			 want);
		return NULL;
	}
	p[k] = '\0';
	return p;
}

int tel_file(struct tel_reader *r, const struct file_info *f)
{
	const char *h[3] = {NULL, NULL, NULL};
	static const char *const names[3] = {"MD5", "SHA-1", "SHA-256"};
	static const char *const fields[3] = {"md5", "sha1", "sha256"};
	static const size_t want[3] = {32, 40, 64};
	const char *in[3] = {f->md5, f->sha1, f->sha256};
	size_t inlen[3] = {f->md5_len, f->sha1_len, f->sha256_len};
	uint32_t nh = 0;
	for (int i = 0; i < 3; i++) {
		if (in[i] == NULL || inlen[i] == 0)
			continue;
		h[i] =
		    hex_digest(r, fields[i], in[i], inlen[i], want[i], false);
		if (h[i] == NULL)
			return r->err != ST_OK ? r->err : ST_EINVAL;
		nh++;
	}
	bool name = f->name != NULL && f->name_len > 0;
	if (nh == 0 && !name)
		return ST_OK;
	struct ob o = tel_obj(r, 5);
	tel_put_str(r, o, "type", "file", 4);
	if (nh > 0) {
		struct ob hs = tel_obj(r, nh);
		if (hs.v == NULL)
			return r->err;
		struct json_val *v = tel_put(r, o, "hashes");
		*v = *hs.v;
		hs.v = v;
		for (int i = 0; i < 3; i++)
			if (h[i] != NULL)
				tel_put_str(r, hs, names[i], h[i], want[i]);
	}
	if (name)
		tel_put_str(r, o, "name", f->name, f->name_len);
	if (f->size >= 0)
		tel_put_int(r, o, "size", f->size);
	if (f->mime != NULL && f->mime_len > 0)
		tel_put_str(r, o, "mime_type", f->mime, f->mime_len);
	tel_sco_add(r, o, TEL_ROLE_FILE, NULL, 0);
	return r->err;
}

int tel_cert(struct tel_reader *r, const struct cert_info *c)
{
	const char *fp = NULL, *alg = NULL;
	size_t fplen = 0;
	if (c->fingerprint != NULL && c->fingerprint_len > 0) {
		size_t digits = 0;
		for (size_t i = 0; i < c->fingerprint_len; i++)
			digits += c->fingerprint[i] != ':';
		fplen = digits;
		alg = digits == 32 ? "MD5" : digits == 40 ? "SHA-1" : "SHA-256";
		if (digits != 32 && digits != 40)
			fplen = 64;
		fp = hex_digest(r, "fingerprint", c->fingerprint,
				c->fingerprint_len, fplen, true);
		if (fp == NULL)
			return r->err != ST_OK ? r->err : ST_EINVAL;
	}
	bool any = fp != NULL || c->serial_len || c->subject_len ||
		   c->issuer_len || c->has_not_before || c->has_not_after;
	if (!any)
		return ST_OK;
	struct ob o = tel_obj(r, 12);
	tel_put_str(r, o, "type", "x509-certificate", 16);
	if (fp != NULL) {
		struct ob hs = tel_obj(r, 1);
		if (hs.v == NULL)
			return r->err;
		struct json_val *v = tel_put(r, o, "hashes");
		*v = *hs.v;
		hs.v = v;
		tel_put_str(r, hs, alg, fp, fplen);
	}
	if (c->version_len)
		tel_put_str(r, o, "version", c->version, c->version_len);
	if (c->serial_len)
		tel_put_str(r, o, "serial_number", c->serial, c->serial_len);
	if (c->sig_alg_len)
		tel_put_str(r, o, "signature_algorithm", c->sig_alg,
			    c->sig_alg_len);
	if (c->issuer_len)
		tel_put_str(r, o, "issuer", c->issuer, c->issuer_len);
	if (c->has_not_before)
		put_ts(r, o, "validity_not_before", c->not_before);
	if (c->has_not_after)
		put_ts(r, o, "validity_not_after", c->not_after);
	if (c->subject_len)
		tel_put_str(r, o, "subject", c->subject, c->subject_len);
	if (c->key_alg_len)
		tel_put_str(r, o, "subject_public_key_algorithm", c->key_alg,
			    c->key_alg_len);
	if (c->exponent >= 0)
		tel_put_int(r, o, "subject_public_key_exponent", c->exponent);
	if (c->san_len) {
		struct ob ext = tel_obj(r, 1);
		if (ext.v != NULL) {
			struct json_val *v =
			    tel_put(r, o, "x509_v3_extensions");
			*v = *ext.v;
			ext.v = v;
			tel_put_str(r, ext, "subject_alternative_name", c->san,
				    c->san_len);
		}
	}
	tel_sco_add(r, o, TEL_ROLE_CERT, NULL, 0);
	return r->err;
}

/* ------------------------------------------------------------------ */
/* Time                                                                 */
/* ------------------------------------------------------------------ */

/* Latest time accepted: 9999-12-31T23:59:59.999999Z. */
#define TEL_TIME_MAX ((st_time)253402300799 * 1000000 + 999999)

static void civil(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static char *two(char *p, unsigned v)
{
	p[0] = (char)('0' + v / 10);
	p[1] = (char)('0' + v % 10);
	return p + 2;
}

const char *tel_ts_str(struct tel_reader *r, st_time t, size_t *len)
{
	if (t < 0 || t > TEL_TIME_MAX)
		t = t < 0 ? 0 : TEL_TIME_MAX;
	char *out = tel_alloc(r, 32);
	if (out == NULL)
		return NULL;
	int64_t secs = t / 1000000, us = t % 1000000;
	int64_t days = secs / 86400, rem = secs % 86400;
	if (days != r->day) {
		/* Records come in time order: the date rarely changes. */
		int64_t y;
		unsigned mo, d;
		civil(days, &y, &mo, &d);
		char *q = r->day_text;
		q = two(q, (unsigned)(y / 100));
		q = two(q, (unsigned)(y % 100));
		*q++ = '-';
		q = two(q, mo);
		*q++ = '-';
		q = two(q, d);
		*q = 'T';
		r->day = days;
	}
	char *p = out;
	memcpy(p, r->day_text, 11);
	p += 11;
	p = two(p, (unsigned)(rem / 3600));
	*p++ = ':';
	p = two(p, (unsigned)(rem / 60 % 60));
	*p++ = ':';
	p = two(p, (unsigned)(rem % 60));
	if (us != 0) {
		/* Milliseconds when that is exact, else microseconds. */
		int digits = us % 1000 == 0 ? 3 : 6;
		int64_t v = digits == 3 ? us / 1000 : us;
		*p++ = '.';
		for (int i = digits - 1; i >= 0; i--) {
			p[i] = (char)('0' + v % 10);
			v /= 10;
		}
		p += digits;
	}
	*p++ = 'Z';
	*p = '\0';
	*len = (size_t)(p - out);
	return out;
}

bool tel_parse_epoch(const char *s, size_t len, st_time *out)
{
	size_t i = 0;
	int64_t sec = 0, us = 0;
	if (len == 0)
		return false;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		if (i >= 12)
			return false;
		sec = sec * 10 + (s[i] - '0');
	}
	if (i == 0)
		return false;
	if (i < len) {
		if (s[i] != '.' || i + 1 == len)
			return false;
		int nd = 0;
		for (i++; i < len; i++, nd++) {
			if (s[i] < '0' || s[i] > '9')
				return false;
			if (nd < 6)
				us = us * 10 + (s[i] - '0');
		}
		for (; nd < 6; nd++)
			us *= 10;
	}
	st_time t = sec * 1000000 + us;
	if (t > TEL_TIME_MAX)
		return false;
	*out = t;
	return true;
}

bool tel_epoch_double(double d, st_time *out)
{
	if (!(d >= 0) || d > (double)(TEL_TIME_MAX / 1000000))
		return false;
	*out = (st_time)(d * 1e6 + 0.5); /* d >= 0: rounds to nearest */
	return true;
}

bool tel_parse_iso(const char *s, size_t len, st_time *out)
{
	char buf[40];
	size_t i = 19, n;
	int64_t off = 0;
	if (len < 19 || (s[10] != 'T' && s[10] != ' '))
		return false;
	memcpy(buf, s, 19);
	buf[10] = 'T';
	n = 19;
	if (i < len && s[i] == '.') {
		buf[n++] = '.';
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			if (n < 29)
				buf[n++] = s[i];
		if (buf[n - 1] == '.')
			return false;
	}
	if (i < len) {
		if (s[i] == 'Z' && i + 1 == len) {
			i++;
		} else if (s[i] == '+' || s[i] == '-') {
			int sign = s[i] == '-' ? -1 : 1;
			const char *z = s + i + 1;
			size_t zl = len - i - 1;
			/* +HHMM or +HH:MM */
			if (zl != 4 && !(zl == 5 && z[2] == ':'))
				return false;
			for (size_t k = 0; k < zl; k++)
				if (k != 2 || zl == 4)
					if (z[k] < '0' || z[k] > '9')
						return false;
			const char *m = z + zl - 2;
			int hh = (z[0] - '0') * 10 + (z[1] - '0');
			int mm = (m[0] - '0') * 10 + (m[1] - '0');
			if (hh > 23 || mm > 59)
				return false;
			off = sign * ((int64_t)hh * 3600 + mm * 60);
			i = len;
		} else {
			return false;
		}
	}
	buf[n++] = 'Z';
	st_time t;
	if (ts_parse(buf, n, &t, NULL) != ST_OK)
		return false;
	t -= off * 1000000;
	if (t < 0 || t > TEL_TIME_MAX)
		return false;
	*out = t;
	return true;
}
