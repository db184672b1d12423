/* strait: internals of the telemetry readers (src/telemetry only). */
#ifndef STRAIT_TELEMETRY_TEL_INT_H
#define STRAIT_TELEMETRY_TEL_INT_H

#include "telemetry/telemetry.h"

#include "common/arena.h"
#include "common/json.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define TEL_MAX_SCOS 64		 /* hard ceiling of tel_options.max_scos */
#define TEL_CHUNK (4u << 20)	 /* bytes read from an input at a time */
#define TEL_MAX_ELEMS 1024	 /* TSV set elements per record */
#define TEL_TSV_MAX_COLS 512	 /* columns of a TSV log */
#define TEL_TSV_MAX_META 64	 /* bytes of a separator or field marker */
#define TEL_MAX_LOCAL_NETS 256	 /* local networks a reader keeps */
#define TEL_KEY_SLOTS 512	 /* field-name hash table (power of two) */
#define TEL_SKIP 1		 /* a mapper's "nothing to observe" */
#define TEL_REPORTS_PER_INPUT 10 /* errors logged per input by default */

/* ------------------------------------------------------------------ */
/* Fields                                                               */
/* ------------------------------------------------------------------ */

/* Every log field a mapper reads, Zeek's and Suricata's (top level). */
enum tf {
	TF_NONE = 0,
	/* Zeek, every log */
	TF_TS,
	TF_UID,
	TF_ORIG_H,
	TF_ORIG_P,
	TF_RESP_H,
	TF_RESP_P,
	TF_PROTO, /* also EVE */
	TF_PATH,
	/* conn */
	TF_SERVICE,
	TF_DURATION,
	TF_ORIG_BYTES,
	TF_RESP_BYTES,
	TF_CONN_STATE,
	TF_LOCAL_ORIG,
	TF_LOCAL_RESP,
	TF_ORIG_PKTS,
	TF_RESP_PKTS,
	/* dns */
	TF_QUERY,
	TF_QTYPE_NAME,
	TF_RCODE_NAME,
	TF_TRANS_ID,
	TF_ANSWERS,
	/* http */
	TF_METHOD,
	TF_HOST,
	TF_URI,
	TF_REFERRER,
	TF_VERSION, /* also ssl */
	TF_USER_AGENT,
	TF_REQ_BODY_LEN,
	TF_STATUS_CODE,
	/* ssl */
	TF_SERVER_NAME,
	TF_CIPHER,
	TF_SUBJECT,
	TF_ISSUER,
	TF_CERT_CHAIN_FPS,
	TF_JA3,
	/* files */
	TF_FUID,
	TF_MD5,
	TF_SHA1,
	TF_SHA256,
	TF_FILENAME,
	TF_MIME_TYPE,
	TF_TOTAL_BYTES,
	TF_SEEN_BYTES,
	TF_TX_HOSTS,
	TF_RX_HOSTS,
	TF_IS_ORIG,
	/* x509 */
	TF_ID,
	TF_FINGERPRINT,
	TF_CERT_VERSION,
	TF_CERT_SERIAL,
	TF_CERT_SUBJECT,
	TF_CERT_ISSUER,
	TF_CERT_NOT_BEFORE,
	TF_CERT_NOT_AFTER,
	TF_CERT_KEY_ALG,
	TF_CERT_SIG_ALG,
	TF_CERT_EXPONENT,
	TF_SAN_DNS,
	/* Suricata EVE */
	TF_TIMESTAMP,
	TF_EVENT_TYPE,
	TF_FLOW_ID,
	TF_SRC_IP,
	TF_SRC_PORT,
	TF_DEST_IP,
	TF_DEST_PORT,
	TF_APP_PROTO,
	TF_ICMP_TYPE,
	TF_ICMP_CODE,
	TF_E_DNS,
	TF_E_HTTP,
	TF_E_TLS,
	TF_E_FILEINFO,
	TF_E_FLOW,
	TF_E_NETFLOW,
	TF_E_ALERT,
	TF__COUNT
};

/* Name of a field as the log writes it ("id.orig_h"), for messages. */
const char *tel_field_name(enum tf id);

/* One element of a TSV set or vector: unescaped, NUL-terminated. */
struct tel_elem {
	const char *s;
	uint32_t len;
};

/* A field's value: JSON (j, never JSON_NULL) or TSV text (s, unescaped
 * and NUL-terminated; a set or vector as elems). */
struct tval {
	const struct json_val *j;
	const char *s;
	uint32_t len;
	bool container;
	uint32_t n_elems;
	const struct tel_elem *elems;
};

/* The fields of the record being mapped. */
struct trec {
	uint64_t seen[(TF__COUNT + 63) / 64];
	struct tval f[TF__COUNT];
};

static inline void trec_clear(struct trec *t)
{
	for (size_t i = 0; i < sizeof(t->seen) / sizeof(t->seen[0]); i++)
		t->seen[i] = 0;
}

static inline struct tval *trec_set(struct trec *t, unsigned id)
{
	t->seen[id >> 6] |= 1ull << (id & 63);
	return &t->f[id];
}

/* The field, or NULL when the record does not have it (or it is unset). */
static inline const struct tval *trec_get(const struct trec *t, unsigned id)
{
	return (t->seen[id >> 6] >> (id & 63)) & 1 ? &t->f[id] : NULL;
}

/* ------------------------------------------------------------------ */
/* The reader                                                           */
/* ------------------------------------------------------------------ */

struct tsv_state {
	char sep[TEL_TSV_MAX_META];
	char set_sep[TEL_TSV_MAX_META];
	char empty[TEL_TSV_MAX_META];
	char unset[TEL_TSV_MAX_META];
	uint8_t sep_len, set_sep_len, empty_len, unset_len;
	bool have_fields;
	bool path_known;
	enum tel_kind path_kind;
	bool kind_known; /* kind of the data lines, from path/name/fields */
	enum tel_kind kind;
	uint32_t n_cols;
	uint8_t col_id[TEL_TSV_MAX_COLS];
	bool col_container[TEL_TSV_MAX_COLS];
	bool types_seen;
};

/* The field id of the key at one position of the last JSON object read:
 * the lines of a log repeat their keys in the same order. */
#define TEL_SHAPE_MAX 48
struct shape_slot {
	uint8_t len; /* 0: nothing cached */
	uint8_t id;
	char key[30];
};

struct key_slot {
	const char *key; /* NULL: empty slot */
	uint8_t len;
	uint8_t id;
};

struct v4net {
	uint32_t net, mask;
};

struct tel_reader {
	struct tel_options opt;
	struct tel_stats stats;
	struct json_lines *jl;
	struct json_limits lim;
	struct arena *arena; /* SCO trees of the current record */
	char *buf;	     /* input chunk, buf_cap + JSON_PADDING bytes */
	size_t buf_cap;
	char *scratch; /* max_line + 1 bytes, TSV unescaping */
	struct key_slot keys[TEL_KEY_SLOTS];
	struct shape_slot shape[TEL_SHAPE_MAX];
	struct v4net v4[TEL_MAX_LOCAL_NETS];
	struct ip_prefix v6[TEL_MAX_LOCAL_NETS];
	size_t n_v4, n_v6;
	char refs[TEL_MAX_SCOS][3];

	/* The current input. */
	const char *src;
	bool name_kind_known;
	enum tel_kind name_kind;
	enum tel_format fmt;
	uint64_t src_malformed;
	struct tsv_state tsv;
	tel_record_fn fn;
	void *fn_ctx;

	/* The current record. */
	struct trec rec;
	struct tel_elem elems[TEL_MAX_ELEMS];
	uint32_t n_elems;
	struct diag d;
	int err;	 /* sticky ST_ENOMEM or ST_ELIMIT while building SCOs */
	size_t mem_used; /* arena bytes taken by the record */
	uint32_t n_scos;
	bool truncated;
	struct pat_sco scos[TEL_MAX_SCOS];
	struct tel_sco_info info[TEL_MAX_SCOS];
	struct ip_prefix addr[TEL_MAX_SCOS]; /* of address SCOs */
	bool is_addr[TEL_MAX_SCOS];
	const char *uid;
	struct json_val sink; /* where tel_put writes when it cannot */
	int64_t day;	      /* of day_text, days since the epoch */
	char day_text[12];    /* "YYYY-MM-DDT" */
};

/* Finds the field id of a key (TF_NONE when no mapper reads it). */
enum tf tel_key_lookup(const struct tel_reader *r, const char *key, size_t len);
/* Fills the key table (at reader creation). */
void tel_keys_init(struct tel_reader *r);

/* Reports a malformed line: counts it and calls on_error or logs. */
void tel_report(struct tel_reader *r, uint64_t line, int err, const char *msg);

/* Maps the fields in r->rec (Zeek, either format) or an EVE event, then
 * delivers the record. Returns ST_OK, the callback's non-zero value or
 * ST_ENOMEM; malformed and skipped records are counted here. */
int tel_zeek_record(struct tel_reader *r, uint64_t line, enum tel_format fmt,
		    bool hint_known, enum tel_kind hint);
int tel_eve_record(struct tel_reader *r, uint64_t line);

/* Reads the fields of a JSON object into r->rec (flattening "id",
 * "certificate" and "san" objects as Zeek's dotted names). */
void tel_json_fields(struct tel_reader *r, const struct json_val *root);

/* Processes a block of complete TSV lines (modified in place). Returns
 * ST_OK or a stop value; *next_line is the number after the block's. */
int tel_tsv_block(struct tel_reader *r, char *text, size_t len,
		  uint64_t first_line, uint64_t *next_line);
void tel_tsv_reset(struct tsv_state *t);

/* Infers a Zeek log's kind from the fields present in r->rec. */
enum tel_kind tel_zeek_infer(const struct trec *t);
/* The kind a log's name says ("conn.log", #path "dns"), if any. */
bool tel_kind_from_path(const char *s, size_t len, enum tel_kind *k);

/* ------------------------------------------------------------------ */
/* Building SCOs (build.c)                                              */
/* ------------------------------------------------------------------ */

/* An object under construction, with room for cap members. */
struct ob {
	struct json_val *v;
	uint32_t cap;
};

void tel_sb_reset(struct tel_reader *r);
/* Arena memory under max_record_mem; NULL sets r->err. */
void *tel_alloc(struct tel_reader *r, size_t n);
/* NUL-terminated copy in the arena. */
char *tel_strdup(struct tel_reader *r, const char *s, size_t len);

struct ob tel_obj(struct tel_reader *r, uint32_t cap);

/* A new member of o (key a literal, or text that outlives the record);
 * its value is JSON_NULL until set. Inline: every SCO property goes
 * through here, and the key's length folds to a constant. */
static inline struct json_val *tel_put(struct tel_reader *r, struct ob o,
				       const char *key)
{
	if (o.v == NULL || o.v->len >= o.cap) {
		/* No object (out of memory) or a member past the capacity
		 * (a bug of build.c): the value goes nowhere. */
		if (o.v != NULL && r->err == ST_OK)
			r->err = ST_ELIMIT;
		memset(&r->sink, 0, sizeof(r->sink));
		return &r->sink;
	}
	struct json_member *m = &o.v->u.members[o.v->len++];
	m->key = key;
	m->klen = (uint32_t)strlen(key);
	m->val.type = JSON_NULL;
	m->val.len = 0;
	return &m->val;
}

/* s must be NUL-terminated at len, as json_val strings are. */
static inline void tel_set_str(struct json_val *v, const char *s, size_t len)
{
	v->type = JSON_STRING;
	v->len = (uint32_t)len;
	v->u.str = s;
}

static inline void tel_put_str(struct tel_reader *r, struct ob o,
			       const char *key, const char *s, size_t len)
{
	if (s != NULL)
		tel_set_str(tel_put(r, o, key), s, len);
}

static inline void tel_put_int(struct tel_reader *r, struct ob o,
			       const char *key, int64_t i)
{
	struct json_val *v = tel_put(r, o, key);
	v->type = JSON_NUMBER;
	v->u.num.i = i;
	v->u.num.d = (double)i;
	v->u.num.is_int = true;
}

/* Appends an SCO: its index, or -1 when the record is full. */
int tel_sco_add(struct tel_reader *r, struct ob o, unsigned roles,
		const char *value, size_t vlen);

/*
 * The ipv4-addr or ipv6-addr SCO of address text s (reused when the
 * record has it already). *idx is its index (-1 when the record is full).
 * ST_EINVAL when s is not an address (the message names field).
 */
int tel_addr(struct tel_reader *r, const char *s, size_t len, unsigned role,
	     bool local_hint, const char *field, int *idx);
/* The domain-name SCO of a host or query name (lowercased, without a
 * final dot), or -1 when it is not a plausible domain name. Like every
 * text given to these builders, s[len] must be readable (it is used
 * as is when it is the terminating NUL). */
int tel_domain(struct tel_reader *r, const char *s, size_t len, unsigned role);
/* The SCO of a DNS answer: an address or a name (CNAME); -1 for anything
 * else (TXT or MX text), which is ignored. */
int tel_dns_answer(struct tel_reader *r, const char *s, size_t len);
/* Sets resolves_to_refs of domain SCO dom (created with tel_domain). */
void tel_domain_resolves(struct tel_reader *r, int dom, const int *to,
			 size_t n);

struct http_req {
	const char *method, *uri, *version, *host, *ua, *referrer;
	size_t method_len, uri_len, version_len, host_len, ua_len, referrer_len;
	int64_t body_len; /* -1: unknown */
};

/* The url SCO of a request (host, else the server address dst). */
int tel_url(struct tel_reader *r, const struct http_req *h, int dst,
	    int64_t dport);

struct traffic {
	int src, dst;	      /* SCO indexes, -1 if none */
	int64_t sport, dport; /* -1 if none */
	const char *transport;
	size_t transport_len;
	const char *apps[8];
	size_t app_lens[8];
	uint32_t n_apps;
	bool has_start, has_end;
	st_time start, end;
	int64_t src_bytes, dst_bytes, src_pkts, dst_pkts; /* -1 if none */
	int icmp_type, icmp_code;			  /* -1 if none */
	const struct http_req *http;
};

void tel_traffic_init(struct traffic *t);
/* Adds an application protocol (lowercased; "ssl" becomes "tls"). */
void tel_traffic_app(struct traffic *t, const char *s, size_t len);
/* The network-traffic SCO: its index or -1. */
int tel_traffic(struct tel_reader *r, const struct traffic *t);

struct file_info {
	const char *name, *mime, *md5, *sha1, *sha256;
	size_t name_len, mime_len, md5_len, sha1_len, sha256_len;
	int64_t size; /* -1 if unknown */
};

/* The file SCO (none without a name or hash). ST_EINVAL for a hash that
 * is not hex of its length. */
int tel_file(struct tel_reader *r, const struct file_info *f);

struct cert_info {
	const char *serial, *subject, *issuer, *sig_alg, *key_alg, *version;
	size_t serial_len, subject_len, issuer_len, sig_alg_len, key_alg_len,
	    version_len;
	const char *fingerprint; /* hex, colons allowed */
	size_t fingerprint_len;
	const char *san; /* "DNS:a, DNS:b" */
	size_t san_len;
	bool has_not_before, has_not_after;
	st_time not_before, not_after;
	int64_t exponent; /* -1 if unknown */
};

/* The x509-certificate SCO (none when cert has no property). ST_EINVAL
 * for a fingerprint that is not 32, 40 or 64 hex digits. */
int tel_cert(struct tel_reader *r, const struct cert_info *c);

/* A STIX timestamp for t into the arena. */
const char *tel_ts_str(struct tel_reader *r, st_time t, size_t *len);

/* Parses Zeek's epoch time text ("1591367999.305988"). */
bool tel_parse_epoch(const char *s, size_t len, st_time *out);
/* Parses an ISO 8601 time as Suricata writes it
 * ("2021-06-01T12:34:56.123456+0000"; Z, +HH:MM or no zone accepted). */
bool tel_parse_iso(const char *s, size_t len, st_time *out);
/* Seconds since the epoch as a double (JSON) to st_time. */
bool tel_epoch_double(double d, st_time *out);

/*
 * Ends a record whose mapping returned rc: a failure (rc, or a limit met
 * while building it, r->err) is reported with its line and the read goes
 * on (ST_ENOMEM alone stops it); otherwise the built record goes to the
 * callback (kind filter, stats).
 */
int tel_finish(struct tel_reader *r, uint64_t line, int rc, enum tel_format fmt,
	       enum tel_kind kind, st_time ts);

#endif
