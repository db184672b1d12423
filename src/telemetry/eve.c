/*
 * strait: Suricata EVE events mapped to SCOs. The top-level fields come
 * from tel_json_fields; the protocol objects ("dns", "http", "tls",
 * "fileinfo", "flow") are read where they are, whatever the event_type,
 * so that an alert with metadata yields the same SCOs as the protocol
 * event would.
 */
#include "telemetry/tel_int.h"

#include <stdio.h>
#include <string.h>

#define TRY(expr)                   \
	do {                        \
		int rc_ = (expr);   \
		if (rc_ < 0)        \
			return rc_; \
	} while (0)

static const struct {
	const char *name;
	enum tel_kind kind;
} event_kinds[] = {
    {"flow", TEL_KIND_CONN},   {"netflow", TEL_KIND_CONN},
    {"dns", TEL_KIND_DNS},     {"http", TEL_KIND_HTTP},
    {"tls", TEL_KIND_SSL},     {"fileinfo", TEL_KIND_FILES},
    {"alert", TEL_KIND_ALERT},
};

/* ------------------------------------------------------------------ */
/* Reading members                                                      */
/* ------------------------------------------------------------------ */

static const struct json_val *top(const struct tel_reader *r, enum tf id)
{
	const struct tval *v = trec_get(&r->rec, id);
	return v != NULL ? v->j : NULL;
}

/* obj.key as a string: 1, 0 when absent/null/empty, ST_EINVAL. */
static int m_str(struct tel_reader *r, const struct json_val *obj,
		 const char *objname, const char *key, const char **s,
		 size_t *len)
{
	const struct json_val *v = json_get(obj, key);
	*s = NULL;
	*len = 0;
	if (v == NULL || v->type == JSON_NULL)
		return 0;
	if (v->type != JSON_STRING)
		return diag_set(&r->d, ST_EINVAL, "%s%s%s: expected a string",
				objname, *objname ? "." : "", key);
	if (v->len == 0)
		return 0;
	*s = v->u.str;
	*len = v->len;
	return 1;
}

/* obj.key as an integer in [0, max]: 1, 0 when absent, ST_EINVAL. */
static int m_uint(struct tel_reader *r, const struct json_val *obj,
		  const char *objname, const char *key, int64_t max,
		  int64_t *out)
{
	const struct json_val *v = json_get(obj, key);
	*out = -1;
	if (v == NULL || v->type == JSON_NULL)
		return 0;
	if (v->type != JSON_NUMBER || !v->u.num.is_int || v->u.num.i < 0 ||
	    v->u.num.i > max)
		return diag_set(&r->d, ST_EINVAL,
				"%s%s%s: expected an integer from 0 to %lld",
				objname, *objname ? "." : "", key,
				(long long)max);
	*out = v->u.num.i;
	return 1;
}

static int m_time(struct tel_reader *r, const struct json_val *obj,
		  const char *objname, const char *key, st_time *out)
{
	const char *s;
	size_t len;
	int rc = m_str(r, obj, objname, key, &s, &len);
	if (rc <= 0)
		return rc;
	if (!tel_parse_iso(s, len, out))
		return diag_set(
		    &r->d, ST_EINVAL, "%s%s%s: not a time: \"%.*s\"", objname,
		    *objname ? "." : "", key, len > 40 ? 40 : (int)len, s);
	return 1;
}

/* A sub-object: NULL when absent, ST_EINVAL through *rc for another
 * type. */
static const struct json_val *m_obj(struct tel_reader *r,
				    const struct json_val *obj, const char *key,
				    int *rc)
{
	const struct json_val *v = json_get(obj, key);
	if (v == NULL || v->type == JSON_NULL)
		return NULL;
	if (v->type != JSON_OBJECT) {
		*rc = diag_set(&r->d, ST_EINVAL, "%s: expected an object", key);
		return NULL;
	}
	return v;
}

static const struct json_val *top_obj(struct tel_reader *r, enum tf id, int *rc)
{
	const struct json_val *v = top(r, id);
	if (v != NULL && v->type != JSON_OBJECT) {
		*rc = diag_set(&r->d, ST_EINVAL, "%s: expected an object",
			       tel_field_name(id));
		return NULL;
	}
	return v;
}

static bool str_is(const char *s, size_t len, const char *lit)
{
	return s != NULL && len == strlen(lit) && memcmp(s, lit, len) == 0;
}

/* ------------------------------------------------------------------ */
/* Protocol objects                                                     */
/* ------------------------------------------------------------------ */

static int eve_flow(struct tel_reader *r, struct traffic *t)
{
	int rc = ST_OK;
	const struct json_val *f = top_obj(r, TF_E_FLOW, &rc);
	TRY(rc);
	if (f != NULL) {
		TRY(m_uint(r, f, "flow", "bytes_toserver", INT64_MAX,
			   &t->src_bytes));
		TRY(m_uint(r, f, "flow", "bytes_toclient", INT64_MAX,
			   &t->dst_bytes));
		TRY(m_uint(r, f, "flow", "pkts_toserver", INT64_MAX,
			   &t->src_pkts));
		TRY(m_uint(r, f, "flow", "pkts_toclient", INT64_MAX,
			   &t->dst_pkts));
	} else if ((f = top_obj(r, TF_E_NETFLOW, &rc)) != NULL) {
		TRY(m_uint(r, f, "netflow", "bytes", INT64_MAX, &t->src_bytes));
		TRY(m_uint(r, f, "netflow", "pkts", INT64_MAX, &t->src_pkts));
	}
	TRY(rc);
	if (f == NULL)
		return ST_OK;
	const char *name = top(r, TF_E_FLOW) != NULL ? "flow" : "netflow";
	TRY(rc = m_time(r, f, name, "start", &t->start));
	t->has_start = rc > 0;
	TRY(rc = m_time(r, f, name, "end", &t->end));
	t->has_end = rc > 0;
	return ST_OK;
}

static int eve_http(struct tel_reader *r, const struct json_val *h,
		    struct http_req *q)
{
	int64_t port;
	memset(q, 0, sizeof(*q));
	q->body_len = -1;
	if ((m_str(r, h, "http", "hostname", &q->host, &q->host_len)) < 0 ||
	    m_str(r, h, "http", "url", &q->uri, &q->uri_len) < 0 ||
	    m_str(r, h, "http", "http_method", &q->method, &q->method_len) <
		0 ||
	    m_str(r, h, "http", "protocol", &q->version, &q->version_len) < 0 ||
	    m_str(r, h, "http", "http_user_agent", &q->ua, &q->ua_len) < 0 ||
	    m_str(r, h, "http", "http_refer", &q->referrer, &q->referrer_len) <
		0)
		return ST_EINVAL;
	TRY(m_uint(r, h, "http", "http_port", 65535, &port));
	if (port >= 0 && port != 80 && q->host != NULL) {
		/* The Host header named a port: keep it in the URL. */
		char *p = tel_alloc(r, q->host_len + 8);
		if (p == NULL)
			return r->err;
		q->host_len =
		    (size_t)snprintf(p, q->host_len + 8, "%.*s:%d",
				     (int)q->host_len, q->host, (int)port);
		q->host = p;
	}
	return ST_OK;
}

/* One DNS answer record {"rrtype": "A", "rdata": "..."}. */
static int dns_rr(struct tel_reader *r, const struct json_val *rr, int *to,
		  size_t *n)
{
	const char *type, *data;
	size_t tl, dl;
	if (rr->type != JSON_OBJECT)
		return diag_set(&r->d, ST_EINVAL,
				"dns.answers: expected objects");
	TRY(m_str(r, rr, "dns.answers", "rrtype", &type, &tl));
	TRY(m_str(r, rr, "dns.answers", "rdata", &data, &dl));
	if (data == NULL ||
	    !(str_is(type, tl, "A") || str_is(type, tl, "AAAA") ||
	      str_is(type, tl, "CNAME")))
		return ST_OK;
	int a = tel_dns_answer(r, data, dl);
	if (a >= 0 && *n < TEL_MAX_SCOS)
		to[(*n)++] = a;
	return ST_OK;
}

/* The answers of a DNS object in any of EVE's layouts. */
static int dns_answers(struct tel_reader *r, const struct json_val *d, int *to,
		       size_t *n)
{
	const struct json_val *a = json_get(d, "answers");
	const struct json_val *g = json_get(d, "grouped");
	if (a != NULL && a->type == JSON_ARRAY) {
		for (uint32_t i = 0; i < a->len; i++)
			TRY(dns_rr(r, &a->u.items[i], to, n));
		return ST_OK;
	}
	if (g != NULL && g->type == JSON_OBJECT) {
		static const char *const types[] = {"A", "AAAA", "CNAME"};
		for (size_t k = 0; k < 3; k++) {
			const struct json_val *l = json_get(g, types[k]);
			if (l == NULL || l->type != JSON_ARRAY)
				continue;
			for (uint32_t i = 0; i < l->len; i++) {
				if (l->u.items[i].type != JSON_STRING)
					return diag_set(&r->d, ST_EINVAL,
							"dns.grouped: expected "
							"strings");
				int x = tel_dns_answer(r, l->u.items[i].u.str,
						       l->u.items[i].len);
				if (x >= 0 && *n < TEL_MAX_SCOS)
					to[(*n)++] = x;
			}
		}
		return ST_OK;
	}
	/* Version 1: one event per answer, rrtype and rdata inline. */
	const char *type;
	size_t tl;
	TRY(m_str(r, d, "dns", "type", &type, &tl));
	if (str_is(type, tl, "answer") && json_get(d, "rdata") != NULL)
		return dns_rr(r, d, to, n);
	return ST_OK;
}

static int eve_dns(struct tel_reader *r, const struct json_val *d)
{
	const char *q = NULL;
	size_t ql = 0;
	int to[TEL_MAX_SCOS];
	size_t n = 0;
	int rc = ST_OK;
	/* The query: "rrname" (versions 1, 2), "queries"[0] (version 3),
	 * "query"[0] (alert metadata). */
	TRY(m_str(r, d, "dns", "rrname", &q, &ql));
	static const char *const lists[] = {"queries", "query"};
	for (size_t k = 0; q == NULL && k < 2; k++) {
		const struct json_val *l = json_get(d, lists[k]);
		if (l != NULL && l->type == JSON_ARRAY && l->len > 0 &&
		    l->u.items[0].type == JSON_OBJECT)
			TRY(m_str(r, &l->u.items[0], "dns", "rrname", &q, &ql));
	}
	int dom = q != NULL ? tel_domain(r, q, ql, TEL_ROLE_QUERY) : -1;
	TRY(dns_answers(r, d, to, &n));
	const struct json_val *ans = m_obj(r, d, "answer", &rc);
	TRY(rc);
	if (ans != NULL)
		TRY(dns_answers(r, ans, to, &n));
	tel_domain_resolves(r, dom, to, n);
	return ST_OK;
}

static int eve_tls(struct tel_reader *r, const struct json_val *t)
{
	struct cert_info c;
	const char *sni;
	size_t len;
	int rc;
	TRY(m_str(r, t, "tls", "sni", &sni, &len));
	if (sni != NULL)
		tel_domain(r, sni, len, TEL_ROLE_HOST);
	memset(&c, 0, sizeof(c));
	c.exponent = -1;
	if (m_str(r, t, "tls", "subject", &c.subject, &c.subject_len) < 0 ||
	    m_str(r, t, "tls", "issuerdn", &c.issuer, &c.issuer_len) < 0 ||
	    m_str(r, t, "tls", "serial", &c.serial, &c.serial_len) < 0 ||
	    m_str(r, t, "tls", "fingerprint", &c.fingerprint,
		  &c.fingerprint_len) < 0)
		return ST_EINVAL;
	TRY(rc = m_time(r, t, "tls", "notbefore", &c.not_before));
	c.has_not_before = rc > 0;
	TRY(rc = m_time(r, t, "tls", "notafter", &c.not_after));
	c.has_not_after = rc > 0;
	return tel_cert(r, &c);
}

static int eve_fileinfo(struct tel_reader *r, const struct json_val *f)
{
	struct file_info fi;
	memset(&fi, 0, sizeof(fi));
	if (m_str(r, f, "fileinfo", "filename", &fi.name, &fi.name_len) < 0 ||
	    m_str(r, f, "fileinfo", "md5", &fi.md5, &fi.md5_len) < 0 ||
	    m_str(r, f, "fileinfo", "sha1", &fi.sha1, &fi.sha1_len) < 0 ||
	    m_str(r, f, "fileinfo", "sha256", &fi.sha256, &fi.sha256_len) < 0 ||
	    m_str(r, f, "fileinfo", "mimetype", &fi.mime, &fi.mime_len) < 0)
		return ST_EINVAL;
	TRY(m_uint(r, f, "fileinfo", "size", INT64_MAX, &fi.size));
	return tel_file(r, &fi);
}

/* ------------------------------------------------------------------ */
/* Events                                                               */
/* ------------------------------------------------------------------ */

/* A top-level integer field in [0, max]: 1, 0 when absent, ST_EINVAL. */
static int t_uint(struct tel_reader *r, enum tf id, int64_t max, int64_t *out)
{
	const struct json_val *v = top(r, id);
	*out = -1;
	if (v == NULL)
		return 0;
	if (v->type != JSON_NUMBER || !v->u.num.is_int || v->u.num.i < 0 ||
	    v->u.num.i > max)
		return diag_set(&r->d, ST_EINVAL,
				"%s: expected an integer from 0 to %lld",
				tel_field_name(id), (long long)max);
	*out = v->u.num.i;
	return 1;
}

static int t_str(struct tel_reader *r, enum tf id, const char **s, size_t *len)
{
	const struct json_val *v = top(r, id);
	*s = NULL;
	*len = 0;
	if (v == NULL)
		return 0;
	if (v->type != JSON_STRING)
		return diag_set(&r->d, ST_EINVAL, "%s: expected a string",
				tel_field_name(id));
	*s = v->u.str;
	*len = v->len;
	return v->len > 0;
}

static int eve_map(struct tel_reader *r, enum tel_kind kind)
{
	const char *s;
	size_t len;
	int rc = ST_OK;
	int64_t v;
	struct traffic t;
	struct http_req hq;
	static const enum tf ipf[2] = {TF_SRC_IP, TF_DEST_IP};

	tel_traffic_init(&t);
	for (int k = 0; k < 2; k++) {
		TRY(rc = t_str(r, ipf[k], &s, &len));
		if (rc > 0)
			TRY(tel_addr(r, s, len, k ? TEL_ROLE_DST : TEL_ROLE_SRC,
				     false, tel_field_name(ipf[k]),
				     k ? &t.dst : &t.src));
	}
	TRY(t_uint(r, TF_SRC_PORT, 65535, &t.sport));
	TRY(t_uint(r, TF_DEST_PORT, 65535, &t.dport));

	/* "TCP", "UDP", "ICMP", "IPv6-ICMP", or the protocol number. */
	const struct json_val *p = top(r, TF_PROTO);
	if (p != NULL && p->type == JSON_NUMBER && p->u.num.is_int &&
	    p->u.num.i >= 0 && p->u.num.i <= 255) {
		char *n = tel_alloc(r, 4);
		if (n == NULL)
			return r->err;
		t.transport_len = (size_t)snprintf(n, 4, "%d", (int)p->u.num.i);
		t.transport = n;
	} else {
		TRY(rc = t_str(r, TF_PROTO, &s, &len));
		if (rc > 0) {
			t.transport = s;
			t.transport_len = len;
		}
	}
	TRY(t_uint(r, TF_ICMP_TYPE, 255, &v));
	if (v >= 0) {
		t.icmp_type = (int)v;
		t.icmp_code = 0;
		TRY(t_uint(r, TF_ICMP_CODE, 255, &v));
		if (v >= 0)
			t.icmp_code = (int)v;
	}
	TRY(rc = t_str(r, TF_APP_PROTO, &s, &len));
	if (rc > 0 && !str_is(s, len, "failed") && !str_is(s, len, "unknown"))
		tel_traffic_app(&t, s, len);
	else if (kind == TEL_KIND_DNS)
		tel_traffic_app(&t, "dns", 3);
	else if (kind == TEL_KIND_HTTP)
		tel_traffic_app(&t, "http", 4);
	else if (kind == TEL_KIND_SSL)
		tel_traffic_app(&t, "tls", 3);
	TRY(eve_flow(r, &t));

	const struct json_val *http = top_obj(r, TF_E_HTTP, &rc);
	TRY(rc);
	if (http != NULL) {
		TRY(eve_http(r, http, &hq));
		t.http = &hq;
	}
	if (t.src >= 0 || t.dst >= 0)
		tel_traffic(r, &t);
	if (http != NULL) {
		if (hq.host != NULL) {
			const char *c = memchr(hq.host, ':', hq.host_len);
			size_t hl = c ? (size_t)(c - hq.host) : hq.host_len;
			tel_domain(r, hq.host, hl, TEL_ROLE_HOST);
		}
		if (hq.uri != NULL &&
		    !str_is(hq.method, hq.method_len, "CONNECT"))
			tel_url(r, &hq, t.dst, t.dport);
	}
	const struct json_val *o;
	if ((o = top_obj(r, TF_E_DNS, &rc)) != NULL)
		TRY(eve_dns(r, o));
	TRY(rc);
	if ((o = top_obj(r, TF_E_TLS, &rc)) != NULL)
		TRY(eve_tls(r, o));
	TRY(rc);
	if ((o = top_obj(r, TF_E_FILEINFO, &rc)) != NULL)
		TRY(eve_fileinfo(r, o));
	TRY(rc);
	return ST_OK;
}

int tel_eve_record(struct tel_reader *r, uint64_t line)
{
	enum tel_kind kind = TEL_KIND_OTHER;
	const char *s;
	size_t len;
	st_time ts = 0;
	int rc;

	tel_sb_reset(r);
	rc = t_str(r, TF_EVENT_TYPE, &s, &len);
	if (rc == 0)
		rc = diag_set(&r->d, ST_EINVAL, "event_type: missing");
	if (rc < 0)
		goto out;
	for (size_t i = 0; i < sizeof(event_kinds) / sizeof(event_kinds[0]);
	     i++)
		if (str_is(s, len, event_kinds[i].name))
			kind = event_kinds[i].kind;
	if (r->opt.kinds != 0 && !(r->opt.kinds & TEL_KIND_BIT(kind))) {
		r->stats.skipped++;
		return ST_OK;
	}
	rc = t_str(r, TF_TIMESTAMP, &s, &len);
	if (rc == 0)
		rc = diag_set(&r->d, ST_EINVAL, "timestamp: missing");
	else if (rc > 0 && !tel_parse_iso(s, len, &ts))
		rc = diag_set(&r->d, ST_EINVAL,
			      "timestamp: not a time: \"%.*s\"",
			      len > 40 ? 40 : (int)len, s);
	if (rc < 0)
		goto out;
	const struct json_val *fid = top(r, TF_FLOW_ID);
	if (fid != NULL && fid->type == JSON_NUMBER && fid->u.num.is_int) {
		char *u = tel_alloc(r, 24);
		if (u != NULL) {
			snprintf(u, 24, "%lld", (long long)fid->u.num.i);
			r->uid = u;
		}
	}
	rc = eve_map(r, kind);
out:
	return tel_finish(r, line, rc, TEL_FMT_EVE, kind, ts);
}
