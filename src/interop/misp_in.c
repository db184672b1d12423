/*
 * strait: MISP event JSON in; see misp_in.h and docs/MISP.md.
 */
#include "interop/misp_in.h"

#include "common/buf.h"
#include "common/ip.h"
#include "common/json.h"
#include "common/uuid.h"
#include "stix/stix.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Clusters and identities carry no time of their own in an event: they
 * are dated from here, modified advancing with the cluster's version. */
#define EPOCH_2000 ((st_time)946684800 * 1000000)

#define MAX_GALAXY 4096 /* distinct clusters of one event */

/* What a MISP attribute type becomes. */
enum kind {
	K_IP,	     /* ip-src, ip-dst: an address or a CIDR prefix */
	K_IP_PORT,   /* ip-src|port, ip-dst|port */
	K_DOMAIN,    /* domain, hostname */
	K_DOMAIN_IP, /* domain|ip */
	K_URL,
	K_HASH,	     /* md5, sha1, sha256, sha512 */
	K_FILE_HASH, /* filename|md5, ... */
	K_FILENAME,
	K_EMAIL,
	K_X509, /* x509-fingerprint-sha1 */
	K_MUTEX,
	K_AS,
	K_VULN,
};

static const struct mtype {
	const char *name;
	enum kind kind;
	const char *hash; /* STIX hash name for the hash kinds */
	bool src;	  /* the source side of network traffic */
} MTYPES[] = {
    {"ip-src", K_IP, NULL, true},
    {"ip-dst", K_IP, NULL, false},
    {"ip-src|port", K_IP_PORT, NULL, true},
    {"ip-dst|port", K_IP_PORT, NULL, false},
    {"domain", K_DOMAIN, NULL, false},
    {"hostname", K_DOMAIN, NULL, false},
    {"domain|ip", K_DOMAIN_IP, NULL, false},
    {"url", K_URL, NULL, false},
    {"md5", K_HASH, "MD5", false},
    {"sha1", K_HASH, "SHA-1", false},
    {"sha256", K_HASH, "SHA-256", false},
    {"sha512", K_HASH, "SHA-512", false},
    {"filename|md5", K_FILE_HASH, "MD5", false},
    {"filename|sha1", K_FILE_HASH, "SHA-1", false},
    {"filename|sha256", K_FILE_HASH, "SHA-256", false},
    {"filename|sha512", K_FILE_HASH, "SHA-512", false},
    {"filename", K_FILENAME, NULL, false},
    {"email", K_EMAIL, NULL, false},
    {"email-src", K_EMAIL, NULL, false},
    {"email-dst", K_EMAIL, NULL, false},
    {"x509-fingerprint-sha1", K_X509, "SHA-1", false},
    {"mutex", K_MUTEX, NULL, false},
    {"AS", K_AS, NULL, false},
    {"vulnerability", K_VULN, NULL, false},
};

static const struct mtype *mtype_of(const char *t)
{
	for (size_t i = 0; i < sizeof(MTYPES) / sizeof(MTYPES[0]); i++)
		if (strcmp(t, MTYPES[i].name) == 0)
			return &MTYPES[i];
	return NULL;
}

/* What a galaxy's type becomes. */
static const struct {
	const char *galaxy, *stix;
} GALAXIES[] = {
    {"threat-actor", "threat-actor"},
    {"mitre-intrusion-set", "intrusion-set"},
    {"mitre-enterprise-attack-intrusion-set", "intrusion-set"},
    {"mitre-attack-pattern", "attack-pattern"},
    {"mitre-enterprise-attack-attack-pattern", "attack-pattern"},
    {"mitre-mobile-attack-attack-pattern", "attack-pattern"},
    {"mitre-malware", "malware"},
    {"mitre-enterprise-attack-malware", "malware"},
    {"malpedia", "malware"},
    {"mitre-tool", "tool"},
    {"mitre-enterprise-attack-tool", "tool"},
    {"tool", "tool"},
    {"mitre-course-of-action", "course-of-action"},
    {"mitre-enterprise-attack-course-of-action", "course-of-action"},
};

/* One event being read. */
struct ev {
	uint64_t n; /* its number, from 1 */
	const char *uuid;
	char report_id[STIX_ID_MAX];
	char ident_id[STIX_ID_MAX]; /* "" when the event names no Orgc */
	enum tlp tlp;		    /* the event's, TLP_NONE if untagged */
	st_time created, modified;
	struct buf refs; /* the report's object_refs, NUL-separated */
	size_t nrefs;
	char (*galaxy)[STIX_ID_MAX]; /* clusters already made */
	size_t ngalaxy;
};

struct mr {
	ix_object_fn on_object;
	ix_note_fn on_note;
	ix_reject_fn on_reject;
	void *ctx;
	struct ix_misp_stats *st;
	struct diag *d;
	int err; /* stops the reading */
	struct ev ev;
	struct buf json, body, pat;
	struct json_doc *doc; /* for SCO ids and checks */
	struct stix_report rep;
	char where[160]; /* what is being converted, for refusals */
};

static void note(struct mr *r, const char *id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void note(struct mr *r, const char *id, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (r->on_note != NULL)
		r->on_note(r->ctx, id, msg);
}

static void reject(struct mr *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void reject(struct mr *r, const char *fmt, ...)
{
	char msg[800];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r->st->rejected++;
	r->on_reject(r->ctx, r->ev.n, msg);
}

/*
 * Passes on one object made of r->where. It is checked first: a value the
 * STIX rules refuse (a URL that is not RFC 3986, ...) refuses what it was
 * made of, named, rather than leave a half-made object to the ingest.
 * false when it was not passed on.
 */
static bool emit(struct mr *r, const struct buf *b)
{
	const struct json_val *o;
	struct stix_info info;
	struct diag d;
	if (r->err != ST_OK)
		return false;
	stix_report_reset(&r->rep);
	if (json_parse(r->doc, b->data, b->len, 0, NULL, &o, &d) != ST_OK ||
	    stix_validate(o, &info, &r->rep) != ST_OK) {
		const struct stix_issue *is = NULL;
		for (uint32_t i = 0; i < r->rep.n && is == NULL; i++)
			if (r->rep.items[i].error)
				is = &r->rep.items[i];
		reject(r, "event %llu, %s: %s%s%s", (unsigned long long)r->ev.n,
		       r->where, is ? is->path : "", is ? ": " : "",
		       is ? is->msg : d.msg);
		return false;
	}
	int rc = r->on_object(r->ctx, b->data, b->len, r->ev.n);
	if (rc != ST_OK)
		r->err = diag_set(r->d, rc, "event %llu: %s",
				  (unsigned long long)r->ev.n, st_strerror(rc));
	return rc == ST_OK;
}

static void add_ref(struct ev *e, const char *id)
{
	buf_add(&e->refs, id, strlen(id) + 1);
	e->nrefs++;
}

/* MISP writes times as epoch seconds, in a string or a number. */
static bool epoch_of(const struct json_val *v, st_time *out)
{
	int64_t s;
	if (v == NULL)
		return false;
	if (v->type == JSON_NUMBER && v->u.num.is_int) {
		s = v->u.num.i;
	} else if (v->type == JSON_STRING && v->len > 0 && v->len < 19) {
		char *end;
		s = strtoll(v->u.str, &end, 10);
		if (*end != '\0')
			return false;
	} else {
		return false;
	}
	if (s <= 0 || s > (int64_t)253402300799) /* up to 9999-12-31 */
		return false;
	*out = (st_time)s * 1000000;
	return true;
}

/* MISP's first_seen and last_seen: ISO 8601 with "+00:00" or "Z". */
static bool iso_of(const char *s, st_time *out)
{
	char t[64];
	size_t n = strlen(s);
	if (n < 20 || n >= sizeof(t))
		return false;
	memcpy(t, s, n + 1);
	if (n > 6 && strcmp(t + n - 6, "+00:00") == 0) {
		t[n - 6] = 'Z';
		t[n - 5] = '\0';
		n -= 5;
	}
	return ts_parse(t, n, out, NULL) == ST_OK;
}

/* "YYYY-MM-DD" */
static bool date_of(const char *s, st_time *out)
{
	char t[32];
	if (s == NULL || strlen(s) != 10)
		return false;
	snprintf(t, sizeof(t), "%sT00:00:00Z", s);
	return ts_parse(t, strlen(t), out, NULL) == ST_OK;
}

static void put_time(struct jw *w, const char *key, st_time t)
{
	char ts[TS_BUFSZ];
	ts_format_ms(t, ts);
	jw_key(w, key);
	jw_str(w, ts);
}

/* A MISP uuid as a STIX id of type (NULL when it is not a uuid). */
static bool stix_id(const char *type, const char *uuid, char out[STIX_ID_MAX])
{
	uint8_t u[16];
	char us[UUID_STRLEN + 1];
	if (uuid == NULL || uuid_parse(uuid, strlen(uuid), false, u) != ST_OK)
		return false;
	uuid_format(u, us);
	snprintf(out, STIX_ID_MAX, "%s--%s", type, us);
	return true;
}

static bool is_true(const struct json_val *v)
{
	if (v == NULL)
		return false;
	if (v->type == JSON_TRUE)
		return true;
	if (v->type == JSON_STRING)
		return strcmp(v->u.str, "1") == 0 ||
		       strcasecmp(v->u.str, "true") == 0;
	if (v->type == JSON_NUMBER)
		return v->u.num.d != 0;
	return false;
}

/* The TLP tag among tags, TLP_NONE if none; *bad set for a "tlp:" tag
 * of no known level. */
static enum tlp tlp_of_tags(const struct json_val *tags, const char **bad)
{
	enum tlp level = TLP_NONE;
	*bad = NULL;
	if (tags == NULL || tags->type != JSON_ARRAY)
		return level;
	for (uint32_t i = 0; i < tags->len; i++) {
		const char *name = json_get_str(&tags->u.items[i], "name");
		enum tlp t;
		if (name == NULL || strncasecmp(name, "tlp:", 4) != 0)
			continue;
		if (tlp_parse(name, &t) != ST_OK || t == TLP_NONE) {
			*bad = name;
			continue;
		}
		if (level == TLP_NONE || t > level)
			level = t; /* two tags: the stricter holds */
	}
	return level;
}

/* Writes labels from the tags that are neither TLP nor galaxy tags. */
static void put_labels(struct jw *w, const struct json_val *tags,
		       const char *extra)
{
	bool open = false;
	if (tags != NULL && tags->type == JSON_ARRAY)
		for (uint32_t i = 0; i < tags->len; i++) {
			const char *name =
			    json_get_str(&tags->u.items[i], "name");
			if (name == NULL || *name == '\0' ||
			    strncasecmp(name, "tlp:", 4) == 0)
				continue;
			if (!open) {
				jw_key(w, "labels");
				jw_arr_open(w);
				open = true;
			}
			jw_str(w, name);
		}
	if (extra != NULL) {
		if (!open) {
			jw_key(w, "labels");
			jw_arr_open(w);
			open = true;
		}
		jw_str(w, extra);
	}
	if (open)
		jw_arr_close(w);
}

static void put_common(struct mr *r, struct jw *w, const char *type,
		       const char *id, st_time created, st_time modified,
		       enum tlp tlp)
{
	jw_key(w, "type");
	jw_str(w, type);
	jw_key(w, "spec_version");
	jw_str(w, "2.1");
	jw_key(w, "id");
	jw_str(w, id);
	put_time(w, "created", created);
	put_time(w, "modified", modified);
	if (r->ev.ident_id[0] != '\0' && strcmp(type, "identity") != 0) {
		jw_key(w, "created_by_ref");
		jw_str(w, r->ev.ident_id);
	}
	if (tlp != TLP_NONE) {
		jw_key(w, "object_marking_refs");
		jw_arr_open(w);
		jw_str(w, tlp_marking_id(tlp));
		jw_arr_close(w);
	}
}

static bool hex_of_len(const char *s, size_t want)
{
	if (strlen(s) != want)
		return false;
	for (; *s; s++)
		if (!isxdigit((unsigned char)*s))
			return false;
	return true;
}

static size_t hash_len(const char *name)
{
	if (strcmp(name, "MD5") == 0)
		return 32;
	if (strcmp(name, "SHA-1") == 0)
		return 40;
	if (strcmp(name, "SHA-256") == 0)
		return 64;
	return 128;
}

/* A pattern string literal: ' and \ escaped. */
static void literal(struct buf *b, const char *v, size_t n)
{
	buf_addc(b, '\'');
	for (size_t i = 0; i < n; i++) {
		if (v[i] == '\'' || v[i] == '\\')
			buf_addc(b, '\\');
		buf_addc(b, v[i]);
	}
	buf_addc(b, '\'');
}

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* The parts of one attribute's value, checked and normalised. */
struct val {
	char a[2048], b[2048]; /* "a|b" for the composite kinds */
	struct ip_prefix ip;
	bool v6, cidr;
	long port;
	int64_t asn;
};

/* Why value is not one of kind k, or NULL. */
static const char *split_value(const struct mtype *k, const char *value,
			       struct val *v)
{
	const char *bar = strchr(value, '|');
	v->v6 = v->cidr = false;
	v->port = 0;
	v->asn = 0;
	bool composite = k->kind == K_IP_PORT || k->kind == K_DOMAIN_IP ||
			 k->kind == K_FILE_HASH;
	if (strlen(value) >= sizeof(v->a))
		return "longer than 2047 bytes";
	if (composite) {
		if (bar == NULL || strchr(bar + 1, '|') != NULL)
			return "not two values joined by '|'";
		snprintf(v->a, sizeof(v->a), "%.*s", (int)(bar - value), value);
		snprintf(v->b, sizeof(v->b), "%s", bar + 1);
	} else {
		snprintf(v->a, sizeof(v->a), "%s", value);
		v->b[0] = '\0';
	}
	const char *ipv = k->kind == K_IP || k->kind == K_IP_PORT ? v->a
			  : k->kind == K_DOMAIN_IP		  ? v->b
								  : NULL;
	if (ipv != NULL) {
		if (!ip_parse(ipv, strlen(ipv), &v->ip))
			return "not an IPv4 or IPv6 address";
		v->v6 = v->ip.v6;
		v->cidr = v->ip.len != (v->ip.v6 ? 128 : 32);
		if (v->cidr && k->kind != K_IP)
			return "a prefix where an address is expected";
	}
	switch (k->kind) {
	case K_IP_PORT: {
		char *end;
		v->port = strtol(v->b, &end, 10);
		if (*v->b == '\0' || *end != '\0' || v->port < 0 ||
		    v->port > 65535)
			return "not a port number (0-65535)";
		break;
	}
	case K_DOMAIN:
	case K_DOMAIN_IP:
		lower(v->a);
		if (!domain_name_valid(v->a, strlen(v->a), false))
			return "not a domain name";
		break;
	case K_URL:
		if (strstr(v->a, "://") == NULL)
			return "not a URL (scheme://...)";
		break;
	case K_HASH:
	case K_X509:
		lower(v->a);
		if (!hex_of_len(v->a, hash_len(k->hash)))
			return "not a hash of that kind (hex digits of its "
			       "length)";
		break;
	case K_FILE_HASH:
		lower(v->b);
		if (*v->a == '\0')
			return "no file name before '|'";
		if (!hex_of_len(v->b, hash_len(k->hash)))
			return "not a hash of that kind after '|'";
		break;
	case K_FILENAME:
	case K_MUTEX:
		if (*v->a == '\0')
			return "empty";
		break;
	case K_EMAIL:
		lower(v->a);
		if (strchr(v->a, '@') == NULL)
			return "not an email address";
		break;
	case K_AS: {
		const char *p = v->a;
		char *end;
		if (strncasecmp(p, "AS", 2) == 0)
			p += 2;
		long long n = strtoll(p, &end, 10);
		if (*p == '\0' || *end != '\0' || n < 0 || n > 4294967295LL)
			return "not an AS number";
		v->asn = n;
		break;
	}
	case K_VULN:
		if (*v->a == '\0')
			return "empty";
		break;
	case K_IP:
		break;
	}
	return NULL;
}

/* The pattern of one attribute's value. */
static void pattern_of(const struct mtype *k, const struct val *v,
		       struct buf *p)
{
	const char *ipt = v->v6 ? "ipv6-addr" : "ipv4-addr";
	buf_reset(p);
	buf_addc(p, '[');
	switch (k->kind) {
	case K_IP:
		buf_printf(p, "%s:value %s ", ipt, v->cidr ? "ISSUBSET" : "=");
		literal(p, v->a, strlen(v->a));
		break;
	case K_IP_PORT:
		buf_printf(p, "network-traffic:%s_ref.type = '%s' AND ",
			   k->src ? "src" : "dst", ipt);
		buf_printf(p, "network-traffic:%s_ref.value = ",
			   k->src ? "src" : "dst");
		literal(p, v->a, strlen(v->a));
		buf_printf(p, " AND network-traffic:%s_port = %ld",
			   k->src ? "src" : "dst", v->port);
		break;
	case K_DOMAIN:
		buf_adds(p, "domain-name:value = ");
		literal(p, v->a, strlen(v->a));
		break;
	case K_DOMAIN_IP:
		buf_adds(p, "domain-name:value = ");
		literal(p, v->a, strlen(v->a));
		buf_adds(p, " AND domain-name:resolves_to_refs[*].value = ");
		literal(p, v->b, strlen(v->b));
		break;
	case K_URL:
		buf_adds(p, "url:value = ");
		literal(p, v->a, strlen(v->a));
		break;
	case K_HASH:
		buf_printf(p, "file:hashes.'%s' = ", k->hash);
		literal(p, v->a, strlen(v->a));
		break;
	case K_FILE_HASH:
		buf_adds(p, "file:name = ");
		literal(p, v->a, strlen(v->a));
		buf_printf(p, " AND file:hashes.'%s' = ", k->hash);
		literal(p, v->b, strlen(v->b));
		break;
	case K_FILENAME:
		buf_adds(p, "file:name = ");
		literal(p, v->a, strlen(v->a));
		break;
	case K_EMAIL:
		buf_adds(p, "email-addr:value = ");
		literal(p, v->a, strlen(v->a));
		break;
	case K_X509:
		buf_adds(p, "x509-certificate:hashes.'SHA-1' = ");
		literal(p, v->a, strlen(v->a));
		break;
	case K_MUTEX:
		buf_adds(p, "mutex:name = ");
		literal(p, v->a, strlen(v->a));
		break;
	case K_AS:
		buf_printf(p, "autonomous-system:number = %lld",
			   (long long)v->asn);
		break;
	case K_VULN:
		break;
	}
	buf_addc(p, ']');
	buf_addc(p, '\0');
	p->len--;
}

/*
 * Emits one SCO: body holds its properties as a JSON object without
 * type, spec_version and id; the id is derived from them. The SCO takes
 * the attribute's TLP. out gets the id.
 */
static bool sco(struct mr *r, const char *type, const struct buf *body,
		enum tlp tlp, char out[STIX_ID_MAX])
{
	const struct json_val *root;
	struct diag d;
	uint8_t u[16];
	char us[UUID_STRLEN + 1];
	out[0] = '\0';
	if (r->err != ST_OK)
		return false;
	/* the id: from the properties, as the specification derives it */
	buf_reset(&r->json);
	buf_printf(&r->json, "{\"type\":\"%s\",%s", type, body->data + 1);
	if (json_parse(r->doc, r->json.data, r->json.len, 0, NULL, &root, &d) !=
		ST_OK ||
	    stix_sco_id(root, u) != ST_OK) {
		reject(r, "event %llu, %s: a %s object could not be made of it",
		       (unsigned long long)r->ev.n, r->where, type);
		return false;
	}
	uuid_format(u, us);
	snprintf(out, STIX_ID_MAX, "%s--%s", type, us);
	buf_reset(&r->json);
	buf_printf(&r->json,
		   "{\"type\":\"%s\",\"spec_version\":\"2.1\","
		   "\"id\":\"%s\",",
		   type, out);
	if (tlp != TLP_NONE)
		buf_printf(&r->json, "\"object_marking_refs\":[\"%s\"],",
			   tlp_marking_id(tlp));
	buf_add(&r->json, body->data + 1, body->len - 1);
	if (!emit(r, &r->json)) {
		out[0] = '\0';
		return false;
	}
	return true;
}

/* The SCOs that stand for one attribute's value; ids into ids[]. */
static size_t scos_of(struct mr *r, const struct mtype *k, const struct val *v,
		      enum tlp tlp, char ids[2][STIX_ID_MAX])
{
	struct jw w;
	struct buf *b = &r->body;
	const char *ipt = v->v6 ? "ipv6-addr" : "ipv4-addr";
	size_t n = 0;
	buf_reset(b);
	jw_init(&w, b);
	jw_obj_open(&w);
	switch (k->kind) {
	case K_IP:
	case K_IP_PORT:
		jw_key(&w, "value");
		jw_str(&w, v->a);
		jw_obj_close(&w);
		if (jw_finish(&w) == ST_OK)
			n += sco(r, ipt, b, tlp, ids[n]);
		return n;
	case K_DOMAIN_IP:
		jw_key(&w, "value");
		jw_str(&w, v->b);
		jw_obj_close(&w);
		if (jw_finish(&w) == ST_OK)
			n += sco(r, ipt, b, tlp, ids[n]);
		buf_reset(b);
		jw_init(&w, b);
		jw_obj_open(&w);
		__attribute__((fallthrough)); /* the domain */
	case K_DOMAIN:
		jw_key(&w, "value");
		jw_str(&w, v->a);
		jw_obj_close(&w);
		if (jw_finish(&w) == ST_OK)
			n += sco(r, "domain-name", b, tlp, ids[n]);
		return n;
	case K_URL:
	case K_EMAIL:
		jw_key(&w, "value");
		jw_str(&w, v->a);
		jw_obj_close(&w);
		if (jw_finish(&w) == ST_OK)
			n += sco(r, k->kind == K_URL ? "url" : "email-addr", b,
				 tlp, ids[n]);
		return n;
	case K_HASH:
	case K_FILE_HASH:
	case K_X509:
		jw_key(&w, "hashes");
		jw_obj_open(&w);
		jw_key(&w, k->hash);
		jw_str(&w, k->kind == K_FILE_HASH ? v->b : v->a);
		jw_obj_close(&w);
		if (k->kind == K_FILE_HASH) {
			jw_key(&w, "name");
			jw_str(&w, v->a);
		}
		jw_obj_close(&w);
		if (jw_finish(&w) == ST_OK)
			n += sco(
			    r, k->kind == K_X509 ? "x509-certificate" : "file",
			    b, tlp, ids[n]);
		return n;
	case K_FILENAME:
	case K_MUTEX:
		jw_key(&w, "name");
		jw_str(&w, v->a);
		jw_obj_close(&w);
		if (jw_finish(&w) == ST_OK)
			n += sco(r, k->kind == K_MUTEX ? "mutex" : "file", b,
				 tlp, ids[n]);
		return n;
	case K_AS:
		jw_key(&w, "number");
		jw_int(&w, v->asn);
		jw_obj_close(&w);
		if (jw_finish(&w) == ST_OK)
			n += sco(r, "autonomous-system", b, tlp, ids[n]);
		return n;
	case K_VULN:
		break;
	}
	return 0;
}

/* The MISP fields kept on the object made of an attribute, so that the
 * feed export gives the attribute back as it came. */
static void put_misp(struct jw *w, const struct json_val *a,
		     const struct json_val *obj, const char *relation)
{
	const char *s;
	jw_key(w, "x_misp_type");
	jw_str(w, json_get_str(a, "type"));
	jw_key(w, "x_misp_value");
	jw_str(w, json_get_str(a, "value"));
	if ((s = json_get_str(a, "category")) != NULL && *s) {
		jw_key(w, "x_misp_category");
		jw_str(w, s);
	}
	if (obj == NULL)
		return;
	if ((s = json_get_str(obj, "name")) != NULL) {
		jw_key(w, "x_misp_object_name");
		jw_str(w, s);
	}
	if ((s = json_get_str(obj, "uuid")) != NULL) {
		jw_key(w, "x_misp_object_uuid");
		jw_str(w, s);
	}
	if ((s = json_get_str(obj, "meta-category")) != NULL) {
		jw_key(w, "x_misp_object_meta_category");
		jw_str(w, s);
	}
	if (relation != NULL) {
		jw_key(w, "x_misp_object_relation");
		jw_str(w, relation);
	}
}

static void galaxies(struct mr *r, const struct json_val *gal, enum tlp tlp,
		     const char *where);

/* One attribute (obj: the MISP object it belongs to, or NULL). */
static void attribute(struct mr *r, const struct json_val *a,
		      const struct json_val *obj, const char *where)
{
	struct ev *e = &r->ev;
	const char *uuid = json_get_str(a, "uuid");
	const char *type = json_get_str(a, "type");
	const char *value = json_get_str(a, "value");
	r->st->attributes++;
	snprintf(r->where, sizeof(r->where), "%s (%.40s)", where,
		 uuid ? uuid : "no uuid");
	if (a->type != JSON_OBJECT) {
		reject(r, "event %llu, %s: not an object",
		       (unsigned long long)e->n, where);
		return;
	}
	if (is_true(json_get(a, "deleted"))) {
		note(r, e->report_id, "%s (%s): deleted in MISP, left out",
		     where, uuid ? uuid : "no uuid");
		return;
	}
	char probe[STIX_ID_MAX];
	if (!stix_id("note", uuid, probe)) {
		reject(r, "event %llu, %s: uuid: missing or not a UUID",
		       (unsigned long long)e->n, where);
		return;
	}
	if (type == NULL || value == NULL) {
		reject(r, "event %llu, %s (%s): %s: missing or not a string",
		       (unsigned long long)e->n, where, uuid,
		       type == NULL ? "type" : "value");
		return;
	}
	st_time ts = e->modified, first = 0, last = 0;
	epoch_of(json_get(a, "timestamp"), &ts);
	const char *fs = json_get_str(a, "first_seen");
	const char *ls = json_get_str(a, "last_seen");
	if (fs != NULL && !iso_of(fs, &first)) {
		reject(r,
		       "event %llu, %s (%s): first_seen: not a time like "
		       "2026-01-31T12:00:00.000000+00:00: '%.64s'",
		       (unsigned long long)e->n, where, uuid, fs);
		return;
	}
	if (ls != NULL && !iso_of(ls, &last)) {
		reject(r,
		       "event %llu, %s (%s): last_seen: not a time like "
		       "2026-01-31T12:00:00.000000+00:00: '%.64s'",
		       (unsigned long long)e->n, where, uuid, ls);
		return;
	}
	const char *bad;
	const struct json_val *tags = json_get(a, "Tag");
	enum tlp tlp = tlp_of_tags(tags, &bad);
	if (bad != NULL) {
		reject(r, "event %llu, %s (%s): Tag: unknown TLP level '%.64s'",
		       (unsigned long long)e->n, where, uuid, bad);
		return;
	}
	if (tlp == TLP_NONE)
		tlp = e->tlp;
	st_time created = e->created < ts ? e->created : ts;
	const char *relation =
	    obj != NULL ? json_get_str(a, "object_relation") : NULL;
	const char *comment = json_get_str(a, "comment");
	bool ids = is_true(json_get(a, "to_ids"));
	const struct mtype *k = mtype_of(type);
	struct val v;
	const char *why = k != NULL ? split_value(k, value, &v) : NULL;
	if (why != NULL) {
		reject(r, "event %llu, %s (%s): value: %s (type %s): '%.200s'",
		       (unsigned long long)e->n, where, uuid, why, type, value);
		return;
	}
	char id[STIX_ID_MAX];
	struct jw w;
	buf_reset(&r->body);
	jw_init(&w, &r->body);
	jw_obj_open(&w);
	if (k == NULL || (k->kind == K_VULN && ids)) {
		/* no STIX equivalent: kept whole as a note */
		stix_id("note", uuid, id);
		put_common(r, &w, "note", id, created, ts, tlp);
		if (comment != NULL && *comment) {
			jw_key(&w, "abstract");
			jw_str(&w, comment);
		}
		jw_key(&w, "content");
		jw_str(&w, value);
		jw_key(&w, "object_refs");
		jw_arr_open(&w);
		jw_str(&w, e->report_id);
		jw_arr_close(&w);
		put_labels(&w, tags, NULL);
		r->st->notes++;
		if (k == NULL)
			note(r, id,
			     "%s: MISP type '%s' has no STIX "
			     "equivalent: kept as a note",
			     where, type);
	} else if (k->kind == K_VULN) {
		stix_id("vulnerability", uuid, id);
		put_common(r, &w, "vulnerability", id, created, ts, tlp);
		jw_key(&w, "name");
		jw_str(&w, v.a);
		if (comment != NULL && *comment) {
			jw_key(&w, "description");
			jw_str(&w, comment);
		}
		if (strncasecmp(v.a, "CVE-", 4) == 0) {
			jw_key(&w, "external_references");
			jw_arr_open(&w);
			jw_obj_open(&w);
			jw_key(&w, "source_name");
			jw_str(&w, "cve");
			jw_key(&w, "external_id");
			jw_str(&w, v.a);
			jw_obj_close(&w);
			jw_arr_close(&w);
		}
		put_labels(&w, tags, NULL);
		r->st->observed++;
	} else if (ids) {
		stix_id("indicator", uuid, id);
		put_common(r, &w, "indicator", id, created, ts, tlp);
		jw_key(&w, "name");
		jw_str(&w, value);
		if (comment != NULL && *comment) {
			jw_key(&w, "description");
			jw_str(&w, comment);
		}
		jw_key(&w, "indicator_types");
		jw_arr_open(&w);
		jw_str(&w, "malicious-activity");
		jw_arr_close(&w);
		pattern_of(k, &v, &r->pat);
		jw_key(&w, "pattern");
		jw_str(&w, r->pat.data);
		jw_key(&w, "pattern_type");
		jw_str(&w, "stix");
		st_time from = first ? first : ts;
		put_time(&w, "valid_from", from);
		if (last > from)
			put_time(&w, "valid_until", last);
		put_labels(&w, tags, NULL);
		r->st->indicators++;
	} else {
		char scos[2][STIX_ID_MAX];
		size_t n = scos_of(r, k, &v, tlp, scos);
		if (r->err != ST_OK || n == 0)
			return;
		buf_reset(&r->body); /* scos_of used it */
		jw_init(&w, &r->body);
		jw_obj_open(&w);
		stix_id("observed-data", uuid, id);
		put_common(r, &w, "observed-data", id, created, ts, tlp);
		st_time f = first ? first : ts;
		put_time(&w, "first_observed", f);
		put_time(&w, "last_observed", last >= f ? last : f);
		jw_key(&w, "number_observed");
		jw_int(&w, 1);
		jw_key(&w, "object_refs");
		jw_arr_open(&w);
		for (size_t i = 0; i < n; i++)
			jw_str(&w, scos[i]);
		jw_arr_close(&w);
		if (comment != NULL && *comment) {
			jw_key(&w, "x_misp_comment");
			jw_str(&w, comment);
		}
		put_labels(&w, tags, NULL);
		r->st->observed++;
	}
	put_misp(&w, a, obj, relation);
	jw_obj_close(&w);
	if (jw_finish(&w) != ST_OK) {
		reject(r, "event %llu, %s (%s): too large to convert",
		       (unsigned long long)e->n, where, uuid);
		return;
	}
	if (!emit(r, &r->body))
		return;
	add_ref(e, id);
	char gw[64];
	snprintf(gw, sizeof(gw), "%s", where);
	galaxies(r, json_get(a, "Galaxy"), tlp, gw);
}

/* "Spearphishing Attachment - T1566.001" -> "T1566.001" */
static const char *attack_id(const struct json_val *cl, const char *value)
{
	const struct json_val *meta = json_get(cl, "meta");
	const struct json_val *ext = json_get(meta, "external_id");
	if (ext != NULL && ext->type == JSON_ARRAY && ext->len > 0 &&
	    ext->u.items[0].type == JSON_STRING)
		return ext->u.items[0].u.str;
	const char *dash = value ? strstr(value, " - ") : NULL;
	return dash != NULL ? dash + 3 : NULL;
}

static void cluster(struct mr *r, const char *stype, const char *gtype,
		    const struct json_val *cl, enum tlp tlp, const char *where)
{
	struct ev *e = &r->ev;
	const char *uuid = json_get_str(cl, "uuid");
	const char *value = json_get_str(cl, "value");
	char id[STIX_ID_MAX];
	if (!stix_id(stype, uuid, id) || value == NULL || *value == '\0') {
		reject(r,
		       "event %llu, %s: a %s cluster without a uuid or "
		       "value",
		       (unsigned long long)e->n, where, gtype);
		return;
	}
	for (size_t i = 0; i < e->ngalaxy; i++)
		if (strcmp(e->galaxy[i], id) == 0)
			return;
	if (e->ngalaxy == MAX_GALAXY) {
		reject(r, "event %llu: more than %d galaxy clusters",
		       (unsigned long long)e->n, MAX_GALAXY);
		return;
	}
	memcpy(e->galaxy[e->ngalaxy++], id, STIX_ID_MAX);
	snprintf(r->where, sizeof(r->where), "%s: %s cluster %s", where, gtype,
		 uuid);
	const struct json_val *meta = json_get(cl, "meta");
	const char *desc = json_get_str(cl, "description");
	const char *ver = json_get_str(cl, "version");
	st_time mod = EPOCH_2000;
	if (ver != NULL) {
		char *end;
		long long n = strtoll(ver, &end, 10);
		if (*end == '\0' && n > 0 && n < 1000000000LL)
			mod += (st_time)n * 1000000;
	}
	struct jw w;
	buf_reset(&r->body);
	jw_init(&w, &r->body);
	jw_obj_open(&w);
	put_common(r, &w, stype, id, EPOCH_2000, mod, tlp);
	jw_key(&w, "name");
	jw_str(&w, value);
	if (desc != NULL && *desc) {
		jw_key(&w, "description");
		jw_str(&w, desc);
	}
	if (strcmp(stype, "malware") == 0) {
		jw_key(&w, "is_family");
		jw_bool(&w, true);
	}
	const struct json_val *syn = json_get(meta, "synonyms");
	if ((strcmp(stype, "threat-actor") == 0 ||
	     strcmp(stype, "intrusion-set") == 0) &&
	    syn != NULL && syn->type == JSON_ARRAY && syn->len > 0) {
		jw_key(&w, "aliases");
		jw_arr_open(&w);
		for (uint32_t i = 0; i < syn->len; i++)
			if (syn->u.items[i].type == JSON_STRING)
				jw_str(&w, syn->u.items[i].u.str);
		jw_arr_close(&w);
	}
	jw_key(&w, "external_references");
	jw_arr_open(&w);
	const char *ext =
	    strncmp(gtype, "mitre-", 6) == 0 ? attack_id(cl, value) : NULL;
	if (ext != NULL) {
		jw_obj_open(&w);
		jw_key(&w, "source_name");
		jw_str(&w, "mitre-attack");
		jw_key(&w, "external_id");
		jw_str(&w, ext);
		jw_obj_close(&w);
	}
	jw_obj_open(&w);
	jw_key(&w, "source_name");
	jw_str(&w, "misp-galaxy");
	jw_key(&w, "external_id");
	jw_str(&w, uuid);
	jw_key(&w, "description");
	jw_str(&w, gtype);
	jw_obj_close(&w);
	const struct json_val *refs = json_get(meta, "refs");
	if (refs != NULL && refs->type == JSON_ARRAY)
		for (uint32_t i = 0; i < refs->len && i < 64; i++)
			if (refs->u.items[i].type == JSON_STRING) {
				jw_obj_open(&w);
				jw_key(&w, "source_name");
				jw_str(&w, "reference");
				jw_key(&w, "url");
				jw_str(&w, refs->u.items[i].u.str);
				jw_obj_close(&w);
			}
	jw_arr_close(&w);
	const char *tag = json_get_str(cl, "tag_name");
	if (tag != NULL && *tag) {
		jw_key(&w, "x_misp_tag_name");
		jw_str(&w, tag);
	}
	jw_obj_close(&w);
	if (jw_finish(&w) != ST_OK) {
		reject(r, "event %llu, %s: cluster %s too large to convert",
		       (unsigned long long)e->n, where, uuid);
		return;
	}
	if (!emit(r, &r->body))
		return;
	add_ref(e, id);
	r->st->galaxy++;
}

/* Galaxy clusters; where names the event or attribute they hang on. */
static void galaxies(struct mr *r, const struct json_val *gal, enum tlp tlp,
		     const char *where)
{
	if (gal == NULL || gal->type != JSON_ARRAY)
		return;
	for (uint32_t i = 0; i < gal->len && r->err == ST_OK; i++) {
		const struct json_val *g = &gal->u.items[i];
		const char *gtype = json_get_str(g, "type");
		const struct json_val *cls = json_get(g, "GalaxyCluster");
		const char *stype = NULL;
		for (size_t j = 0;
		     gtype && j < sizeof(GALAXIES) / sizeof(GALAXIES[0]); j++)
			if (strcmp(gtype, GALAXIES[j].galaxy) == 0)
				stype = GALAXIES[j].stix;
		if (cls == NULL || cls->type != JSON_ARRAY)
			continue;
		for (uint32_t c = 0; c < cls->len && r->err == ST_OK; c++) {
			const struct json_val *cl = &cls->u.items[c];
			if (stype != NULL) {
				cluster(r, stype, gtype, cl, tlp, where);
				continue;
			}
			const char *tag = json_get_str(cl, "tag_name");
			note(r, r->ev.report_id,
			     "%s: galaxy '%s' has no STIX mapping: its tag "
			     "'%s' is kept as a label of the report",
			     where, gtype ? gtype : "?", tag ? tag : "?");
		}
	}
}

/* The labels a report takes for its unmapped galaxy clusters. */
static void put_galaxy_labels(struct jw *w, const struct json_val *gal)
{
	if (gal == NULL || gal->type != JSON_ARRAY)
		return;
	for (uint32_t i = 0; i < gal->len; i++) {
		const struct json_val *g = &gal->u.items[i];
		const char *gtype = json_get_str(g, "type");
		bool mapped = false;
		for (size_t j = 0;
		     gtype && j < sizeof(GALAXIES) / sizeof(GALAXIES[0]); j++)
			mapped |= strcmp(gtype, GALAXIES[j].galaxy) == 0;
		const struct json_val *cls = json_get(g, "GalaxyCluster");
		if (mapped || cls == NULL || cls->type != JSON_ARRAY)
			continue;
		for (uint32_t c = 0; c < cls->len; c++) {
			const char *tag =
			    json_get_str(&cls->u.items[c], "tag_name");
			if (tag != NULL && *tag)
				jw_str(w, tag);
		}
	}
}

static void identity(struct mr *r, const struct json_val *orgc)
{
	const char *name = json_get_str(orgc, "name");
	const char *uuid = json_get_str(orgc, "uuid");
	r->ev.ident_id[0] = '\0';
	if (name == NULL || !stix_id("identity", uuid, r->ev.ident_id)) {
		r->ev.ident_id[0] = '\0';
		return;
	}
	struct jw w;
	buf_reset(&r->body);
	jw_init(&w, &r->body);
	jw_obj_open(&w);
	put_common(r, &w, "identity", r->ev.ident_id, EPOCH_2000, EPOCH_2000,
		   TLP_NONE);
	jw_key(&w, "name");
	jw_str(&w, name);
	jw_key(&w, "identity_class");
	jw_str(&w, "organization");
	jw_obj_close(&w);
	snprintf(r->where, sizeof(r->where), "Orgc");
	if (jw_finish(&w) != ST_OK || !emit(r, &r->body))
		r->ev.ident_id[0] = '\0';
}

static void event(struct mr *r, const struct json_val *wrap)
{
	struct ev *e = &r->ev;
	const struct json_val *ev = json_get(wrap, "Event");
	e->n++;
	r->st->events++;
	buf_reset(&e->refs);
	e->nrefs = 0;
	e->ngalaxy = 0;
	if (ev == NULL || ev->type != JSON_OBJECT) {
		reject(r, "event %llu: no \"Event\" object",
		       (unsigned long long)e->n);
		return;
	}
	e->uuid = json_get_str(ev, "uuid");
	const char *info = json_get_str(ev, "info");
	if (!stix_id("report", e->uuid, e->report_id)) {
		reject(r, "event %llu: uuid: missing or not a UUID",
		       (unsigned long long)e->n);
		return;
	}
	if (info == NULL || *info == '\0') {
		reject(r, "event %llu (%s): info: missing or empty",
		       (unsigned long long)e->n, e->uuid);
		return;
	}
	st_time date = 0, published = 0;
	if (!epoch_of(json_get(ev, "timestamp"), &e->modified)) {
		reject(r,
		       "event %llu (%s): timestamp: missing or not epoch "
		       "seconds",
		       (unsigned long long)e->n, e->uuid);
		return;
	}
	if (json_get(ev, "date") != NULL &&
	    !date_of(json_get_str(ev, "date"), &date)) {
		reject(r, "event %llu (%s): date: not YYYY-MM-DD",
		       (unsigned long long)e->n, e->uuid);
		return;
	}
	e->created = date && date < e->modified ? date : e->modified;
	if (!epoch_of(json_get(ev, "publish_timestamp"), &published))
		published = e->modified;
	const char *bad;
	const struct json_val *tags = json_get(ev, "Tag");
	e->tlp = tlp_of_tags(tags, &bad);
	if (bad != NULL) {
		reject(r, "event %llu (%s): Tag: unknown TLP level '%.64s'",
		       (unsigned long long)e->n, e->uuid, bad);
		return;
	}
	identity(r, json_get(ev, "Orgc"));
	galaxies(r, json_get(ev, "Galaxy"), e->tlp, "the event");
	const struct json_val *attrs = json_get(ev, "Attribute");
	char where[96];
	if (attrs != NULL && attrs->type == JSON_ARRAY)
		for (uint32_t i = 0; i < attrs->len && r->err == ST_OK; i++) {
			snprintf(where, sizeof(where), "attribute %u", i + 1);
			attribute(r, &attrs->u.items[i], NULL, where);
		}
	const struct json_val *objs = json_get(ev, "Object");
	if (objs != NULL && objs->type == JSON_ARRAY)
		for (uint32_t i = 0; i < objs->len && r->err == ST_OK; i++) {
			const struct json_val *o = &objs->u.items[i];
			const struct json_val *oa = json_get(o, "Attribute");
			if (is_true(json_get(o, "deleted")))
				continue;
			if (oa == NULL || oa->type != JSON_ARRAY) {
				reject(r,
				       "event %llu (%s), object %u: no "
				       "Attribute list",
				       (unsigned long long)e->n, e->uuid,
				       i + 1);
				continue;
			}
			for (uint32_t j = 0; j < oa->len && r->err == ST_OK;
			     j++) {
				snprintf(where, sizeof(where),
					 "object %u, attribute %u", i + 1,
					 j + 1);
				attribute(r, &oa->u.items[j], o, where);
			}
		}
	if (r->err != ST_OK)
		return;
	if (e->nrefs == 0) {
		reject(r,
		       "event %llu (%s): nothing in it could be imported "
		       "(a STIX report must refer to something)",
		       (unsigned long long)e->n, e->uuid);
		return;
	}
	struct jw w;
	buf_reset(&r->body);
	jw_init(&w, &r->body);
	jw_obj_open(&w);
	put_common(r, &w, "report", e->report_id, e->created, e->modified,
		   e->tlp);
	jw_key(&w, "name");
	jw_str(&w, info);
	jw_key(&w, "report_types");
	jw_arr_open(&w);
	jw_str(&w, "threat-report");
	jw_arr_close(&w);
	put_time(&w, "published", published);
	jw_key(&w, "object_refs");
	jw_arr_open(&w);
	for (size_t off = 0; off < e->refs.len;) {
		const char *id = e->refs.data + off;
		jw_str(&w, id);
		off += strlen(id) + 1;
	}
	jw_arr_close(&w);
	/* tags and unmapped galaxy clusters as labels */
	bool any = false;
	for (uint32_t i = 0; tags && tags->type == JSON_ARRAY && i < tags->len;
	     i++) {
		const char *n = json_get_str(&tags->u.items[i], "name");
		any |= n != NULL && *n && strncasecmp(n, "tlp:", 4) != 0;
	}
	struct buf gl = BUF_INIT(1 << 20);
	struct jw gw;
	jw_init(&gw, &gl);
	jw_arr_open(&gw);
	put_galaxy_labels(&gw, json_get(ev, "Galaxy"));
	jw_arr_close(&gw);
	if (jw_finish(&gw) == ST_OK && (any || gl.len > 2)) {
		jw_key(&w, "labels");
		jw_arr_open(&w);
		for (uint32_t i = 0;
		     tags && tags->type == JSON_ARRAY && i < tags->len; i++) {
			const char *n = json_get_str(&tags->u.items[i], "name");
			if (n != NULL && *n && strncasecmp(n, "tlp:", 4) != 0)
				jw_str(&w, n);
		}
		put_galaxy_labels(&w, json_get(ev, "Galaxy"));
		jw_arr_close(&w);
	}
	buf_free(&gl);
	static const char *const KEEP[] = {"threat_level_id", "analysis",
					   "distribution"};
	for (size_t i = 0; i < sizeof(KEEP) / sizeof(KEEP[0]); i++) {
		const char *s = json_get_str(ev, KEEP[i]);
		if (s != NULL) {
			char key[64];
			snprintf(key, sizeof(key), "x_misp_%s", KEEP[i]);
			jw_key(&w, key);
			jw_str(&w, s);
		}
	}
	jw_key(&w, "external_references");
	jw_arr_open(&w);
	jw_obj_open(&w);
	jw_key(&w, "source_name");
	jw_str(&w, "misp");
	jw_key(&w, "external_id");
	jw_str(&w, e->uuid);
	jw_obj_close(&w);
	jw_arr_close(&w);
	jw_obj_close(&w);
	if (jw_finish(&w) != ST_OK) {
		reject(r, "event %llu (%s): the report would be too large",
		       (unsigned long long)e->n, e->uuid);
		return;
	}
	snprintf(r->where, sizeof(r->where), "the event's report");
	emit(r, &r->body);
}

bool ix_misp_sniff(const char *head, size_t len)
{
	size_t i = 0;
	if (len >= 3 && memcmp(head, "\xEF\xBB\xBF", 3) == 0)
		i = 3;
	while (i < len && strchr(" \t\r\n", head[i]) != NULL)
		i++;
	if (i == len || head[i] != '{')
		return false;
	for (i++; i < len && strchr(" \t\r\n", head[i]) != NULL; i++)
		;
	return (len - i >= 7 && memcmp(head + i, "\"Event\"", 7) == 0) ||
	       (len - i >= 10 && memcmp(head + i, "\"response\"", 10) == 0);
}

int ix_misp_read(const char *text, size_t len, ix_object_fn on_object,
		 ix_note_fn on_note, ix_reject_fn on_reject, void *ctx,
		 struct ix_misp_stats *st, struct diag *d)
{
	struct json_limits lim = JSON_LIMITS_DEFAULT;
	lim.max_bytes = IX_MISP_MAX_BYTES;
	lim.max_members = IX_MISP_MAX_MEMBERS;
	struct ix_misp_stats dummy;
	if (st == NULL)
		st = &dummy;
	memset(st, 0, sizeof(*st));
	if (len > IX_MISP_MAX_BYTES)
		return diag_set(d, ST_ELIMIT,
				"a MISP document larger than %zu MiB",
				IX_MISP_MAX_BYTES >> 20);
	struct json_doc *doc = json_doc_new();
	struct mr r = {.on_object = on_object,
		       .on_note = on_note,
		       .on_reject = on_reject,
		       .ctx = ctx,
		       .st = st,
		       .d = d,
		       .json = BUF_INIT((size_t)64 << 20),
		       .body = BUF_INIT((size_t)64 << 20),
		       .pat = BUF_INIT((size_t)1 << 20),
		       .doc = json_doc_new()};
	r.ev.refs = (struct buf)BUF_INIT((size_t)64 << 20);
	stix_report_init(&r.rep);
	r.ev.galaxy = calloc(MAX_GALAXY, sizeof(*r.ev.galaxy));
	const struct json_val *root;
	int rc = ST_OK;
	if (doc == NULL || r.doc == NULL || r.ev.galaxy == NULL)
		rc = diag_set(d, ST_ENOMEM, "out of memory");
	else
		rc = json_parse(doc, text, len, JSON_PARSE_PADDED, &lim, &root,
				d);
	if (rc == ST_OK) {
		const struct json_val *list = json_get(root, "response");
		if (json_get(root, "Event") != NULL) {
			event(&r, root);
		} else if (list != NULL && list->type == JSON_ARRAY) {
			for (uint32_t i = 0; i < list->len && r.err == ST_OK;
			     i++)
				event(&r, &list->u.items[i]);
		} else {
			rc = diag_set(d, ST_EINVAL,
				      "not MISP event JSON: expected "
				      "{\"Event\": {...}} or {\"response\": "
				      "[...]}");
		}
	}
	if (rc == ST_OK)
		rc = r.err;
	json_doc_free(doc);
	json_doc_free(r.doc);
	buf_free(&r.json);
	buf_free(&r.body);
	buf_free(&r.pat);
	buf_free(&r.ev.refs);
	free(r.ev.galaxy);
	stix_report_free(&r.rep);
	return rc;
}
