/*
 * strait: Zeek records (JSON or TSV, read into struct trec by the format's
 * reader) mapped to SCOs, and the field-name table both formats share.
 */
#include "telemetry/tel_int.h"

#include "common/ip.h"

#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Field names                                                          */
/* ------------------------------------------------------------------ */

static const char *const field_names[TF__COUNT] = {
    [TF_TS] = "ts",
    [TF_UID] = "uid",
    [TF_ORIG_H] = "id.orig_h",
    [TF_ORIG_P] = "id.orig_p",
    [TF_RESP_H] = "id.resp_h",
    [TF_RESP_P] = "id.resp_p",
    [TF_PROTO] = "proto",
    [TF_PATH] = "_path",
    [TF_SERVICE] = "service",
    [TF_DURATION] = "duration",
    [TF_ORIG_BYTES] = "orig_bytes",
    [TF_RESP_BYTES] = "resp_bytes",
    [TF_CONN_STATE] = "conn_state",
    [TF_LOCAL_ORIG] = "local_orig",
    [TF_LOCAL_RESP] = "local_resp",
    [TF_ORIG_PKTS] = "orig_pkts",
    [TF_RESP_PKTS] = "resp_pkts",
    [TF_QUERY] = "query",
    [TF_QTYPE_NAME] = "qtype_name",
    [TF_RCODE_NAME] = "rcode_name",
    [TF_TRANS_ID] = "trans_id",
    [TF_ANSWERS] = "answers",
    [TF_METHOD] = "method",
    [TF_HOST] = "host",
    [TF_URI] = "uri",
    [TF_REFERRER] = "referrer",
    [TF_VERSION] = "version",
    [TF_USER_AGENT] = "user_agent",
    [TF_REQ_BODY_LEN] = "request_body_len",
    [TF_STATUS_CODE] = "status_code",
    [TF_SERVER_NAME] = "server_name",
    [TF_CIPHER] = "cipher",
    [TF_SUBJECT] = "subject",
    [TF_ISSUER] = "issuer",
    [TF_CERT_CHAIN_FPS] = "cert_chain_fps",
    [TF_JA3] = "ja3",
    [TF_FUID] = "fuid",
    [TF_MD5] = "md5",
    [TF_SHA1] = "sha1",
    [TF_SHA256] = "sha256",
    [TF_FILENAME] = "filename",
    [TF_MIME_TYPE] = "mime_type",
    [TF_TOTAL_BYTES] = "total_bytes",
    [TF_SEEN_BYTES] = "seen_bytes",
    [TF_TX_HOSTS] = "tx_hosts",
    [TF_RX_HOSTS] = "rx_hosts",
    [TF_IS_ORIG] = "is_orig",
    [TF_ID] = "id",
    [TF_FINGERPRINT] = "fingerprint",
    [TF_CERT_VERSION] = "certificate.version",
    [TF_CERT_SERIAL] = "certificate.serial",
    [TF_CERT_SUBJECT] = "certificate.subject",
    [TF_CERT_ISSUER] = "certificate.issuer",
    [TF_CERT_NOT_BEFORE] = "certificate.not_valid_before",
    [TF_CERT_NOT_AFTER] = "certificate.not_valid_after",
    [TF_CERT_KEY_ALG] = "certificate.key_alg",
    [TF_CERT_SIG_ALG] = "certificate.sig_alg",
    [TF_CERT_EXPONENT] = "certificate.exponent",
    [TF_SAN_DNS] = "san.dns",
    [TF_TIMESTAMP] = "timestamp",
    [TF_EVENT_TYPE] = "event_type",
    [TF_FLOW_ID] = "flow_id",
    [TF_SRC_IP] = "src_ip",
    [TF_SRC_PORT] = "src_port",
    [TF_DEST_IP] = "dest_ip",
    [TF_DEST_PORT] = "dest_port",
    [TF_APP_PROTO] = "app_proto",
    [TF_ICMP_TYPE] = "icmp_type",
    [TF_ICMP_CODE] = "icmp_code",
    [TF_E_DNS] = "dns",
    [TF_E_HTTP] = "http",
    [TF_E_TLS] = "tls",
    [TF_E_FILEINFO] = "fileinfo",
    [TF_E_FLOW] = "flow",
    [TF_E_NETFLOW] = "netflow",
    [TF_E_ALERT] = "alert",
};

const char *tel_field_name(enum tf id)
{
	return id > TF_NONE && id < TF__COUNT ? field_names[id] : "?";
}

/* Every record looks up each of its keys: the length and four bytes tell
 * the names apart well enough, and cost the same for any length. */
static uint32_t key_hash(const char *s, size_t len)
{
	uint32_t h = (uint32_t)len * 0x9e3779b1u;
	h ^= (unsigned char)s[0] * 0x85ebca6bu;
	h ^= (unsigned char)s[len - 1] * 0xc2b2ae35u;
	h ^= (unsigned char)s[len / 2] * 0x27d4eb2fu;
	h ^= (unsigned char)s[len > 3 ? len - 3 : 0] * 0x165667b1u;
	return h ^ (h >> 15);
}

void tel_keys_init(struct tel_reader *r)
{
	memset(r->keys, 0, sizeof(r->keys));
	for (unsigned id = 1; id < TF__COUNT; id++) {
		const char *k = field_names[id];
		size_t len = strlen(k);
		uint32_t h = key_hash(k, len) & (TEL_KEY_SLOTS - 1);
		while (r->keys[h].key != NULL)
			h = (h + 1) & (TEL_KEY_SLOTS - 1);
		r->keys[h].key = k;
		r->keys[h].len = (uint8_t)len;
		r->keys[h].id = (uint8_t)id;
	}
}

enum tf tel_key_lookup(const struct tel_reader *r, const char *key, size_t len)
{
	if (len == 0 || len > 64)
		return TF_NONE;
	uint32_t h = key_hash(key, len) & (TEL_KEY_SLOTS - 1);
	while (r->keys[h].key != NULL) {
		if (r->keys[h].len == len &&
		    memcmp(r->keys[h].key, key, len) == 0)
			return (enum tf)r->keys[h].id;
		h = (h + 1) & (TEL_KEY_SLOTS - 1);
	}
	return TF_NONE;
}

/* Objects whose members Zeek's JSON writer may nest instead of writing
 * "id.orig_h" (some shippers re-nest them). */
static bool nests(const char *key, size_t len)
{
	return (len == 2 && memcmp(key, "id", 2) == 0) ||
	       (len == 11 && memcmp(key, "certificate", 11) == 0) ||
	       (len == 3 && memcmp(key, "san", 3) == 0);
}

void tel_json_fields(struct tel_reader *r, const struct json_val *root)
{
	trec_clear(&r->rec);
	for (uint32_t i = 0; i < root->len; i++) {
		const struct json_member *m = &root->u.members[i];
		if (m->val.type == JSON_NULL)
			continue;
		if (m->val.type == JSON_OBJECT && nests(m->key, m->klen)) {
			char k[80];
			for (uint32_t j = 0; j < m->val.len; j++) {
				const struct json_member *s =
				    &m->val.u.members[j];
				if (s->val.type == JSON_NULL ||
				    m->klen + 1 + s->klen >= sizeof(k))
					continue;
				memcpy(k, m->key, m->klen);
				k[m->klen] = '.';
				memcpy(k + m->klen + 1, s->key, s->klen);
				enum tf id =
				    tel_key_lookup(r, k, m->klen + 1 + s->klen);
				if (id != TF_NONE)
					trec_set(&r->rec, id)->j = &s->val;
			}
			continue;
		}
		enum tf id;
		struct shape_slot *c = i < TEL_SHAPE_MAX ? &r->shape[i] : NULL;
		if (c != NULL && c->len == m->klen &&
		    memcmp(c->key, m->key, m->klen) == 0) {
			id = (enum tf)c->id;
		} else {
			id = tel_key_lookup(r, m->key, m->klen);
			if (c != NULL && m->klen > 0 &&
			    m->klen <= sizeof(c->key)) {
				c->len = (uint8_t)m->klen;
				c->id = (uint8_t)id;
				memcpy(c->key, m->key, m->klen);
			}
		}
		if (id != TF_NONE)
			trec_set(&r->rec, id)->j = &m->val;
	}
}

/* ------------------------------------------------------------------ */
/* Reading fields                                                       */
/* ------------------------------------------------------------------ */

static int bad_type(struct tel_reader *r, enum tf id, const char *want)
{
	return diag_set(&r->d, ST_EINVAL, "%s: expected %s", tel_field_name(id),
			want);
}

/* 1 with the text, 0 when absent or empty, ST_EINVAL for another type. */
static int f_str(struct tel_reader *r, enum tf id, const char **s, size_t *len)
{
	const struct tval *v = trec_get(&r->rec, id);
	*s = NULL;
	*len = 0;
	if (v == NULL)
		return 0;
	if (v->j != NULL) {
		if (v->j->type != JSON_STRING)
			return bad_type(r, id, "a string");
		*s = v->j->u.str;
		*len = v->j->len;
	} else {
		if (v->container)
			return bad_type(r, id, "a string, not a set");
		*s = v->s;
		*len = v->len;
	}
	if (*len == 0)
		*s = NULL;
	return *len > 0;
}

static bool digits_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	if (len == 0 || len > 19)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return true;
}

/* An unsigned count up to max: 1, 0 when absent, ST_EINVAL. Strings of
 * digits are accepted from JSON only when text_ok. */
static int f_uint(struct tel_reader *r, enum tf id, uint64_t max, bool text_ok,
		  int64_t *out)
{
	const struct tval *v = trec_get(&r->rec, id);
	uint64_t u;
	*out = -1;
	if (v == NULL)
		return 0;
	if (v->j != NULL) {
		if (v->j->type == JSON_NUMBER && v->j->u.num.is_int &&
		    v->j->u.num.i >= 0) {
			u = (uint64_t)v->j->u.num.i;
		} else if (v->j->type == JSON_STRING && text_ok &&
			   digits_u64(v->j->u.str, v->j->len, &u)) {
			/* certificate.exponent is a string in x509.log */
		} else {
			return bad_type(r, id, "a non-negative integer");
		}
	} else if (v->container || !digits_u64(v->s, v->len, &u)) {
		return bad_type(r, id, "a non-negative integer");
	}
	if (u > max)
		return diag_set(&r->d, ST_EINVAL, "%s: %llu is out of range",
				tel_field_name(id), (unsigned long long)u);
	*out = (int64_t)u;
	return 1;
}

static int f_bool(struct tel_reader *r, enum tf id, bool *out)
{
	const struct tval *v = trec_get(&r->rec, id);
	*out = false;
	if (v == NULL)
		return 0;
	if (v->j != NULL) {
		if (v->j->type != JSON_TRUE && v->j->type != JSON_FALSE)
			return bad_type(r, id, "a boolean");
		*out = v->j->type == JSON_TRUE;
		return 1;
	}
	if (v->len == 1 && (v->s[0] == 'T' || v->s[0] == 'F')) {
		*out = v->s[0] == 'T';
		return 1;
	}
	return bad_type(r, id, "T or F");
}

/* A time: Zeek writes seconds since the epoch (a number in JSON, text in
 * TSV) or, with JSON::TS_ISO8601, an ISO 8601 string. */
static int f_time(struct tel_reader *r, enum tf id, st_time *out)
{
	const struct tval *v = trec_get(&r->rec, id);
	if (v == NULL)
		return 0;
	bool ok;
	if (v->j != NULL && v->j->type == JSON_NUMBER)
		ok = tel_epoch_double(v->j->u.num.d, out);
	else if (v->j != NULL && v->j->type == JSON_STRING)
		ok = tel_parse_iso(v->j->u.str, v->j->len, out) ||
		     tel_parse_epoch(v->j->u.str, v->j->len, out);
	else if (v->j == NULL && !v->container)
		ok = tel_parse_epoch(v->s, v->len, out) ||
		     tel_parse_iso(v->s, v->len, out);
	else
		ok = false;
	if (!ok)
		return bad_type(r, id, "a time");
	return 1;
}

/* A list of strings (JSON array, TSV set or vector). */
struct liter {
	const struct tval *v;
	uint32_t i, n;
};

static int f_list(struct tel_reader *r, enum tf id, struct liter *it)
{
	const struct tval *v = trec_get(&r->rec, id);
	it->v = v;
	it->i = it->n = 0;
	if (v == NULL)
		return 0;
	if (v->j != NULL) {
		if (v->j->type != JSON_ARRAY)
			return bad_type(r, id, "an array");
		it->n = v->j->len;
	} else if (v->container) {
		it->n = v->n_elems;
	} else {
		it->n = v->len > 0; /* a lone value in an untyped column */
	}
	return it->n > 0;
}

static int l_next(struct tel_reader *r, enum tf id, struct liter *it,
		  const char **s, size_t *len)
{
	if (it->i >= it->n)
		return 0;
	uint32_t i = it->i++;
	const struct tval *v = it->v;
	if (v->j != NULL) {
		const struct json_val *e = &v->j->u.items[i];
		if (e->type != JSON_STRING)
			return bad_type(r, id, "an array of strings");
		*s = e->u.str;
		*len = e->len;
	} else if (v->container) {
		*s = v->elems[i].s;
		*len = v->elems[i].len;
	} else {
		*s = v->s;
		*len = v->len;
	}
	return 1;
}

/* ------------------------------------------------------------------ */
/* Kinds                                                                */
/* ------------------------------------------------------------------ */

static const struct {
	const char *name;
	enum tel_kind kind;
} path_kinds[] = {
    {"conn", TEL_KIND_CONN}, {"dns", TEL_KIND_DNS},	{"http", TEL_KIND_HTTP},
    {"ssl", TEL_KIND_SSL},   {"files", TEL_KIND_FILES}, {"x509", TEL_KIND_X509},
};

bool tel_kind_from_path(const char *s, size_t len, enum tel_kind *k)
{
	for (size_t i = 0; i < sizeof(path_kinds) / sizeof(path_kinds[0]);
	     i++) {
		size_t n = strlen(path_kinds[i].name);
		if (len == n && memcmp(s, path_kinds[i].name, n) == 0) {
			*k = path_kinds[i].kind;
			return true;
		}
	}
	return false;
}

#define HAS(t, id) (trec_get((t), (id)) != NULL)

enum tel_kind tel_zeek_infer(const struct trec *t)
{
	if (HAS(t, TF_CERT_SERIAL) || HAS(t, TF_CERT_SUBJECT) ||
	    HAS(t, TF_CERT_ISSUER) || HAS(t, TF_CERT_NOT_BEFORE))
		return TEL_KIND_X509;
	if (HAS(t, TF_FUID) &&
	    (HAS(t, TF_MD5) || HAS(t, TF_SHA1) || HAS(t, TF_SHA256) ||
	     HAS(t, TF_MIME_TYPE) || HAS(t, TF_SEEN_BYTES) ||
	     HAS(t, TF_TOTAL_BYTES) || HAS(t, TF_TX_HOSTS) ||
	     HAS(t, TF_FILENAME)))
		return TEL_KIND_FILES;
	if (HAS(t, TF_QUERY) || HAS(t, TF_QTYPE_NAME) || HAS(t, TF_TRANS_ID) ||
	    HAS(t, TF_ANSWERS))
		return TEL_KIND_DNS;
	if (HAS(t, TF_METHOD) || HAS(t, TF_URI) || HAS(t, TF_USER_AGENT) ||
	    HAS(t, TF_STATUS_CODE))
		return TEL_KIND_HTTP;
	if (HAS(t, TF_SERVER_NAME) || HAS(t, TF_CIPHER) ||
	    HAS(t, TF_CERT_CHAIN_FPS) || HAS(t, TF_JA3))
		return TEL_KIND_SSL;
	if (HAS(t, TF_CONN_STATE) || HAS(t, TF_ORIG_BYTES) ||
	    HAS(t, TF_RESP_BYTES) || HAS(t, TF_SERVICE))
		return TEL_KIND_CONN;
	return TEL_KIND_OTHER;
}

/* ------------------------------------------------------------------ */
/* Mapping                                                              */
/* ------------------------------------------------------------------ */

/* Both ends of the record: addresses, ports, local hints. */
struct ends {
	int src, dst;
	int64_t sport, dport;
};

#define TRY(expr)                   \
	do {                        \
		int rc_ = (expr);   \
		if (rc_ < 0)        \
			return rc_; \
	} while (0)

static int map_ends(struct tel_reader *r, struct ends *e)
{
	const char *s;
	size_t len;
	bool lo = false, lr = false;
	int rc;
	e->src = e->dst = -1;
	TRY(f_bool(r, TF_LOCAL_ORIG, &lo));
	TRY(f_bool(r, TF_LOCAL_RESP, &lr));
	TRY(f_uint(r, TF_ORIG_P, 65535, false, &e->sport));
	TRY(f_uint(r, TF_RESP_P, 65535, false, &e->dport));
	if ((rc = f_str(r, TF_ORIG_H, &s, &len)) < 0)
		return rc;
	if (rc)
		TRY(tel_addr(r, s, len, TEL_ROLE_SRC, lo, "id.orig_h",
			     &e->src));
	if ((rc = f_str(r, TF_RESP_H, &s, &len)) < 0)
		return rc;
	if (rc)
		TRY(tel_addr(r, s, len, TEL_ROLE_DST, lr, "id.resp_h",
			     &e->dst));
	return ST_OK;
}

/* The network-traffic of the record's ends, transport from "proto". */
static int ends_traffic(struct tel_reader *r, const struct ends *e,
			struct traffic *t, const char *dflt_transport)
{
	const char *s;
	size_t len;
	int rc;
	tel_traffic_init(t);
	t->src = e->src;
	t->dst = e->dst;
	t->sport = e->sport;
	t->dport = e->dport;
	if ((rc = f_str(r, TF_PROTO, &s, &len)) < 0)
		return rc;
	if (rc && !(len == 17 && memcmp(s, "unknown_transport", 17) == 0)) {
		t->transport = s;
		t->transport_len = len;
	} else if (dflt_transport != NULL) {
		t->transport = dflt_transport;
		t->transport_len = strlen(dflt_transport);
	}
	if (t->transport != NULL && t->transport_len == 4 &&
	    memcmp(t->transport, "icmp", 4) == 0 && e->sport >= 0) {
		/* Zeek logs an ICMP message's type and code as ports. */
		t->icmp_type = (int)(e->sport & 0xff);
		t->icmp_code = e->dport >= 0 ? (int)(e->dport & 0xff) : 0;
	}
	return ST_OK;
}

static int map_conn(struct tel_reader *r, const struct ends *e, st_time ts)
{
	struct traffic t;
	const char *s;
	size_t len;
	st_time dur;
	int rc;
	TRY(ends_traffic(r, e, &t, NULL));
	if ((rc = f_str(r, TF_SERVICE, &s, &len)) < 0)
		return rc;
	for (size_t i = 0; rc && i < len;) {
		/* "ssl,http": analyzers that confirmed the protocol. */
		const char *c = memchr(s + i, ',', len - i);
		size_t n = c ? (size_t)(c - (s + i)) : len - i;
		tel_traffic_app(&t, s + i, n);
		i += n + 1;
	}
	t.has_start = true;
	t.start = ts;
	if ((rc = f_time(r, TF_DURATION, &dur)) < 0)
		return rc;
	if (rc) {
		t.has_end = true;
		t.end = ts + dur;
	}
	TRY(f_uint(r, TF_ORIG_BYTES, INT64_MAX, false, &t.src_bytes));
	TRY(f_uint(r, TF_RESP_BYTES, INT64_MAX, false, &t.dst_bytes));
	TRY(f_uint(r, TF_ORIG_PKTS, INT64_MAX, false, &t.src_pkts));
	TRY(f_uint(r, TF_RESP_PKTS, INT64_MAX, false, &t.dst_pkts));
	tel_traffic(r, &t);
	return ST_OK;
}

static bool looks_like_ip(const char *s, size_t len)
{
	struct ip_prefix a;
	if (len == 0 || len > 45 || memchr(s, '/', len) != NULL ||
	    memchr(s, '\0', len) != NULL)
		return false;
	if (memchr(s, ':', len) == NULL) {
		for (size_t i = 0; i < len; i++)
			if (!(s[i] == '.' || (s[i] >= '0' && s[i] <= '9')))
				return false;
	}
	return ip_parse(s, len, &a);
}

int tel_dns_answer(struct tel_reader *r, const char *s, size_t len)
{
	int idx = -1;
	if (looks_like_ip(s, len)) {
		if (tel_addr(r, s, len, TEL_ROLE_ANSWER, false, "answers",
			     &idx) != ST_OK)
			return -1;
		return idx;
	}
	return tel_domain(r, s, len, TEL_ROLE_ANSWER);
}

static int map_dns(struct tel_reader *r, const struct ends *e)
{
	struct traffic t;
	struct liter it;
	const char *s;
	size_t len;
	int rc, to[TEL_MAX_SCOS];
	size_t n = 0;
	TRY(ends_traffic(r, e, &t, NULL));
	tel_traffic_app(&t, "dns", 3);
	tel_traffic(r, &t);
	if ((rc = f_str(r, TF_QUERY, &s, &len)) < 0)
		return rc;
	int dom = rc ? tel_domain(r, s, len, TEL_ROLE_QUERY) : -1;
	if ((rc = f_list(r, TF_ANSWERS, &it)) < 0)
		return rc;
	while ((rc = l_next(r, TF_ANSWERS, &it, &s, &len)) > 0) {
		int a = tel_dns_answer(r, s, len);
		if (a >= 0 && n < TEL_MAX_SCOS)
			to[n++] = a;
	}
	if (rc < 0)
		return rc;
	tel_domain_resolves(r, dom, to, n);
	return ST_OK;
}

/* Host header without a port; NULL for an address literal. */
static const char *host_name(const char *s, size_t len, size_t *out)
{
	if (len == 0 || s[0] == '[')
		return NULL;
	const char *c = memchr(s, ':', len);
	if (c != NULL) {
		for (const char *p = c + 1; p < s + len; p++)
			if (*p < '0' || *p > '9')
				return NULL;
		len = (size_t)(c - s);
	}
	*out = len;
	return s;
}

static int map_http(struct tel_reader *r, const struct ends *e)
{
	struct traffic t;
	struct http_req h;
	int rc;
	memset(&h, 0, sizeof(h));
	if ((rc = f_str(r, TF_METHOD, &h.method, &h.method_len)) < 0 ||
	    (rc = f_str(r, TF_HOST, &h.host, &h.host_len)) < 0 ||
	    (rc = f_str(r, TF_URI, &h.uri, &h.uri_len)) < 0 ||
	    (rc = f_str(r, TF_VERSION, &h.version, &h.version_len)) < 0 ||
	    (rc = f_str(r, TF_USER_AGENT, &h.ua, &h.ua_len)) < 0 ||
	    (rc = f_str(r, TF_REFERRER, &h.referrer, &h.referrer_len)) < 0)
		return rc;
	TRY(f_uint(r, TF_REQ_BODY_LEN, INT64_MAX, false, &h.body_len));
	TRY(ends_traffic(r, e, &t, "tcp"));
	tel_traffic_app(&t, "http", 4);
	t.http = &h;
	tel_traffic(r, &t);
	size_t hl;
	const char *hn = h.host ? host_name(h.host, h.host_len, &hl) : NULL;
	if (hn != NULL)
		tel_domain(r, hn, hl, TEL_ROLE_HOST);
	if (h.uri != NULL &&
	    !(h.method_len == 7 && memcmp(h.method, "CONNECT", 7) == 0))
		tel_url(r, &h, e->dst, e->dport);
	return ST_OK;
}

static int map_ssl(struct tel_reader *r, const struct ends *e)
{
	struct traffic t;
	struct cert_info c;
	struct liter it;
	const char *s;
	size_t len;
	int rc;
	TRY(ends_traffic(r, e, &t, "tcp"));
	tel_traffic_app(&t, "tls", 3);
	tel_traffic(r, &t);
	if ((rc = f_str(r, TF_SERVER_NAME, &s, &len)) < 0)
		return rc;
	if (rc)
		tel_domain(r, s, len, TEL_ROLE_HOST);
	/* Older ssl.log has the server certificate's subject and issuer;
	 * newer ones its fingerprint first in cert_chain_fps. */
	memset(&c, 0, sizeof(c));
	c.exponent = -1;
	if ((rc = f_str(r, TF_SUBJECT, &c.subject, &c.subject_len)) < 0 ||
	    (rc = f_str(r, TF_ISSUER, &c.issuer, &c.issuer_len)) < 0 ||
	    (rc = f_list(r, TF_CERT_CHAIN_FPS, &it)) < 0)
		return rc;
	if (rc && (rc = l_next(r, TF_CERT_CHAIN_FPS, &it, &c.fingerprint,
			       &c.fingerprint_len)) < 0)
		return rc;
	return tel_cert(r, &c);
}

static int map_files(struct tel_reader *r, struct ends *e)
{
	struct file_info f;
	struct liter tx, rx;
	const char *s;
	size_t len;
	int rc;
	if (e->src < 0 && e->dst < 0) {
		/* Before Zeek 5.1: the hosts that sent and received it. */
		bool is_orig = false;
		TRY(f_bool(r, TF_IS_ORIG, &is_orig));
		if ((rc = f_list(r, TF_TX_HOSTS, &tx)) < 0 ||
		    (rc = f_list(r, TF_RX_HOSTS, &rx)) < 0)
			return rc;
		if ((rc = l_next(r, TF_TX_HOSTS, &tx, &s, &len)) < 0)
			return rc;
		if (rc)
			TRY(tel_addr(
			    r, s, len, is_orig ? TEL_ROLE_SRC : TEL_ROLE_DST,
			    false, "tx_hosts", is_orig ? &e->src : &e->dst));
		if ((rc = l_next(r, TF_RX_HOSTS, &rx, &s, &len)) < 0)
			return rc;
		if (rc)
			TRY(tel_addr(
			    r, s, len, is_orig ? TEL_ROLE_DST : TEL_ROLE_SRC,
			    false, "rx_hosts", is_orig ? &e->dst : &e->src));
	} else {
		struct traffic t;
		TRY(ends_traffic(r, e, &t, NULL));
		tel_traffic(r, &t);
	}
	memset(&f, 0, sizeof(f));
	if ((rc = f_str(r, TF_FILENAME, &f.name, &f.name_len)) < 0 ||
	    (rc = f_str(r, TF_MIME_TYPE, &f.mime, &f.mime_len)) < 0 ||
	    (rc = f_str(r, TF_MD5, &f.md5, &f.md5_len)) < 0 ||
	    (rc = f_str(r, TF_SHA1, &f.sha1, &f.sha1_len)) < 0 ||
	    (rc = f_str(r, TF_SHA256, &f.sha256, &f.sha256_len)) < 0)
		return rc;
	TRY(f_uint(r, TF_TOTAL_BYTES, INT64_MAX, false, &f.size));
	if (f.size < 0)
		TRY(f_uint(r, TF_SEEN_BYTES, INT64_MAX, false, &f.size));
	return tel_file(r, &f);
}

static int map_x509(struct tel_reader *r)
{
	struct cert_info c;
	struct liter it;
	const char *s;
	size_t len;
	int64_t ver;
	int rc;
	memset(&c, 0, sizeof(c));
	if ((rc = f_str(r, TF_CERT_SERIAL, &c.serial, &c.serial_len)) < 0 ||
	    (rc = f_str(r, TF_CERT_SUBJECT, &c.subject, &c.subject_len)) < 0 ||
	    (rc = f_str(r, TF_CERT_ISSUER, &c.issuer, &c.issuer_len)) < 0 ||
	    (rc = f_str(r, TF_CERT_SIG_ALG, &c.sig_alg, &c.sig_alg_len)) < 0 ||
	    (rc = f_str(r, TF_CERT_KEY_ALG, &c.key_alg, &c.key_alg_len)) < 0 ||
	    (rc = f_str(r, TF_FINGERPRINT, &c.fingerprint,
			&c.fingerprint_len)) < 0)
		return rc;
	if ((rc = f_time(r, TF_CERT_NOT_BEFORE, &c.not_before)) < 0)
		return rc;
	c.has_not_before = rc;
	if ((rc = f_time(r, TF_CERT_NOT_AFTER, &c.not_after)) < 0)
		return rc;
	c.has_not_after = rc;
	TRY(f_uint(r, TF_CERT_EXPONENT, INT64_MAX, true, &c.exponent));
	TRY(f_uint(r, TF_CERT_VERSION, 1000, false, &ver));
	if (ver >= 0) {
		char *v = tel_alloc(r, 8);
		if (v == NULL)
			return r->err;
		c.version_len = (size_t)snprintf(v, 8, "%d", (int)ver);
		c.version = v;
	}
	if ((rc = f_list(r, TF_SAN_DNS, &it)) < 0)
		return rc;
	if (rc) {
		/* "DNS:a, DNS:b" as OpenSSL prints the extension. */
		size_t total = 0;
		struct liter it2 = it;
		while ((rc = l_next(r, TF_SAN_DNS, &it2, &s, &len)) > 0)
			total += len + 6;
		if (rc < 0)
			return rc;
		char *p = tel_alloc(r, total + 1);
		if (p == NULL)
			return r->err;
		c.san = p;
		while (l_next(r, TF_SAN_DNS, &it, &s, &len) > 0) {
			if (p != c.san) {
				memcpy(p, ", ", 2);
				p += 2;
			}
			memcpy(p, "DNS:", 4);
			memcpy(p + 4, s, len);
			p += 4 + len;
		}
		*p = '\0';
		c.san_len = (size_t)(p - c.san);
	}
	return tel_cert(r, &c);
}

static int map_other(struct tel_reader *r, const struct ends *e)
{
	struct traffic t;
	TRY(ends_traffic(r, e, &t, NULL));
	if (t.transport != NULL)
		tel_traffic(r, &t);
	return ST_OK;
}

static int zeek_map(struct tel_reader *r, enum tel_kind kind, st_time ts)
{
	struct ends e;
	TRY(map_ends(r, &e));
	switch (kind) {
	case TEL_KIND_CONN:
		return map_conn(r, &e, ts);
	case TEL_KIND_DNS:
		return map_dns(r, &e);
	case TEL_KIND_HTTP:
		return map_http(r, &e);
	case TEL_KIND_SSL:
		return map_ssl(r, &e);
	case TEL_KIND_FILES:
		return map_files(r, &e);
	case TEL_KIND_X509:
		return map_x509(r);
	default:
		return map_other(r, &e);
	}
}

int tel_zeek_record(struct tel_reader *r, uint64_t line, enum tel_format fmt,
		    bool hint_known, enum tel_kind hint)
{
	enum tel_kind kind = hint;
	const char *s;
	size_t len;
	st_time ts;
	int rc;

	tel_sb_reset(r);
	if (f_str(r, TF_PATH, &s, &len) > 0 &&
	    tel_kind_from_path(s, len, &kind))
		hint_known = true;
	if (!hint_known)
		kind = tel_zeek_infer(&r->rec);
	/* Logs about Zeek itself (loaded_scripts, stats, capture_loss...)
	 * have nothing to observe, and some have no ts: not malformed. */
	bool nothing = kind == TEL_KIND_OTHER && !HAS(&r->rec, TF_ORIG_H) &&
		       !HAS(&r->rec, TF_RESP_H);
	if (nothing ||
	    (r->opt.kinds != 0 && !(r->opt.kinds & TEL_KIND_BIT(kind)))) {
		r->stats.skipped++;
		return ST_OK;
	}
	rc = f_time(r, TF_TS, &ts);
	if (rc == 0)
		rc = diag_set(&r->d, ST_EINVAL, "ts: missing");
	if (rc > 0) {
		enum tf uid = kind == TEL_KIND_FILES  ? TF_FUID
			      : kind == TEL_KIND_X509 ? TF_ID
						      : TF_UID;
		if (f_str(r, uid, &s, &len) > 0)
			r->uid = s;
		rc = zeek_map(r, kind, ts);
	}
	return tel_finish(r, line, rc, fmt, kind, ts);
}
