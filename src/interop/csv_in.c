/*
 * strait: CSV of indicators in; see csv_in.h.
 */
#include "interop/csv_in.h"
#include "interop/sensor.h"

#include "common/buf.h"
#include "common/ip.h"
#include "common/json.h"
#include "common/uuid.h"
#include "stix/stix.h"

#include <csv.h>
#include <sodium.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CHUNK 65536

/* strait's namespace for the ids of indicators made from CSV rows */
static const uint8_t NS_CSV[16] = {0x5c, 0x2e, 0x7a, 0x14, 0x0b, 0x3d,
				   0x4f, 0x61, 0x9a, 0x8e, 0x27, 0xc4,
				   0x1d, 0x55, 0xe3, 0x90};

enum col { C_VALUE, C_TYPE, C_COMMENT, C_TLP, C_FIRST, C_LAST, C_N };
static const char *const COLS[C_N] = {"value", "type",	     "comment",
				      "tlp",   "first_seen", "last_seen"};

struct rd {
	/* the row being read */
	char *field[IX_CSV_FIELDS_MAX];
	size_t nfield;
	bool too_many;
	uint64_t row; /* 1: the header */
	int col[C_N]; /* column index of each, -1 when absent */
	bool header_done;
	st_time now;
	ix_object_fn on_object;
	ix_reject_fn on_reject;
	void *ctx;
	int err; /* stops the reading */
	struct diag *d;
	struct buf json;
};

static void row_clear(struct rd *r)
{
	for (size_t i = 0; i < r->nfield; i++)
		free(r->field[i]);
	r->nfield = 0;
	r->too_many = false;
}

static void on_field(void *s, size_t len, void *data)
{
	struct rd *r = data;
	if (r->err != ST_OK)
		return;
	if (r->nfield == IX_CSV_FIELDS_MAX) {
		r->too_many = true;
		return;
	}
	char *f = malloc(len + 1);
	if (f == NULL) {
		r->err = diag_set(r->d, ST_ENOMEM, "out of memory");
		return;
	}
	memcpy(f, s ? s : "", len);
	f[len] = '\0';
	r->field[r->nfield++] = f;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 &&
	       (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

static const char *cell(struct rd *r, enum col c)
{
	int i = r->col[c];
	if (i < 0 || (size_t)i >= r->nfield)
		return "";
	return trim(r->field[i]);
}

static bool hexlen(const char *s, size_t want)
{
	if (strlen(s) != want)
		return false;
	for (; *s; s++)
		if (!isxdigit((unsigned char)*s))
			return false;
	return true;
}

/* The kinds a row's type may name (export's names, and a few of MISP's). */
struct kind {
	const char *name;
	const char *path; /* pattern path */
	const char *op;
};
static const struct kind KINDS[] = {
    {"ip", NULL, "="},
    {"cidr", NULL, "ISSUBSET"},
    {"domain", "domain-name:value", "="},
    {"url", "url:value", "="},
    {"md5", "file:hashes.MD5", "="},
    {"sha1", "file:hashes.'SHA-1'", "="},
    {"sha256", "file:hashes.'SHA-256'", "="},
    {"sha512", "file:hashes.'SHA-512'", "="},
    {"email", "email-addr:value", "="},
    {"x509-sha1", "x509-certificate:hashes.'SHA-1'", "="},
};
#define NKINDS (sizeof(KINDS) / sizeof(KINDS[0]))

static const struct {
	const char *alias, *kind;
} ALIASES[] = {
    {"ip-src", "ip"},	    {"ip-dst", "ip"},
    {"ipv4", "ip"},	    {"ipv6", "ip"},
    {"hostname", "domain"}, {"domain-name", "domain"},
    {"uri", "url"},	    {"email-src", "email"},
    {"email-dst", "email"}, {"sha-1", "sha1"},
    {"sha-256", "sha256"},  {"sha-512", "sha512"},
    {"subnet", "cidr"},	    {"x509-fingerprint-sha1", "x509-sha1"},
};

static const struct kind *kind_named(const char *t)
{
	for (size_t i = 0; i < sizeof(ALIASES) / sizeof(ALIASES[0]); i++)
		if (strcasecmp(t, ALIASES[i].alias) == 0)
			t = ALIASES[i].kind;
	for (size_t i = 0; i < NKINDS; i++)
		if (strcasecmp(t, KINDS[i].name) == 0)
			return &KINDS[i];
	return NULL;
}

static const struct kind *kind_of_value(const char *v)
{
	struct ip_prefix p;
	size_t n = strlen(v);
	if (ip_parse(v, n, &p))
		return kind_named(p.len == (p.v6 ? 128 : 32) ? "ip" : "cidr");
	if (strstr(v, "://") != NULL)
		return kind_named("url");
	if (strchr(v, '@') != NULL)
		return kind_named("email");
	if (hexlen(v, 32))
		return kind_named("md5");
	if (hexlen(v, 40))
		return kind_named("sha1");
	if (hexlen(v, 64))
		return kind_named("sha256");
	if (hexlen(v, 128))
		return kind_named("sha512");
	if (domain_name_valid(v, strlen(v), false))
		return kind_named("domain");
	return NULL;
}

/* Why value is not a k, or NULL. */
static const char *check_value(const struct kind *k, const char *v,
			       struct ip_prefix *ip)
{
	size_t n = strlen(v);
	if (strcmp(k->name, "ip") == 0)
		return ip_parse(v, n, ip) && ip->len == (ip->v6 ? 128 : 32)
			   ? NULL
			   : "not an IPv4 or IPv6 address";
	if (strcmp(k->name, "cidr") == 0)
		return ip_parse(v, n, ip) ? NULL : "not a CIDR prefix";
	if (strcmp(k->name, "domain") == 0)
		return domain_name_valid(v, strlen(v), false)
			   ? NULL
			   : "not a domain name";
	if (strcmp(k->name, "url") == 0)
		return strstr(v, "://") != NULL ? NULL
						: "not a URL (scheme://...)";
	if (strcmp(k->name, "email") == 0)
		return strchr(v, '@') != NULL ? NULL : "not an email address";
	static const struct {
		const char *name;
		size_t len;
	} H[] = {{"md5", 32},
		 {"sha1", 40},
		 {"sha256", 64},
		 {"sha512", 128},
		 {"x509-sha1", 40}};
	for (size_t i = 0; i < sizeof(H) / sizeof(H[0]); i++)
		if (strcmp(k->name, H[i].name) == 0)
			return hexlen(v, H[i].len) ? NULL
						   : "not a hash of that kind "
						     "(hex digits of its "
						     "length)";
	return NULL;
}

/* A STIX pattern string literal: ' and \ escaped. */
static void literal(struct buf *b, const char *v)
{
	buf_addc(b, '\'');
	for (; *v; v++) {
		if (*v == '\'' || *v == '\\')
			buf_addc(b, '\\');
		buf_addc(b, *v);
	}
	buf_addc(b, '\'');
}

/* A timestamp without a fraction of zeros: "2026-01-01T00:00:00Z", as
 * the CSV export writes what it was given. */
static void ts_short(st_time t, char out[TS_BUFSZ])
{
	ts_format(t, out);
	char *dot = strchr(out, '.');
	if (dot == NULL)
		return;
	size_t n = strlen(dot);
	while (n > 2 && dot[n - 2] == '0') {
		dot[n - 2] = 'Z';
		dot[n - 1] = '\0';
		n--;
	}
	if (n == 2) /* ".Z" */
		memmove(dot, dot + 1, 2);
}

static void reject(struct rd *r, const char *col, const char *fmt,
		   const char *v)
{
	char msg[600];
	snprintf(msg, sizeof(msg), "row %llu, column %s: %s: '%.200s'",
		 (unsigned long long)r->row, col, fmt, v);
	r->on_reject(r->ctx, r->row, msg);
}

static void header(struct rd *r)
{
	for (int c = 0; c < C_N; c++)
		r->col[c] = -1;
	for (size_t i = 0; i < r->nfield; i++) {
		const char *h = trim(r->field[i]);
		if (i == 0 && strncmp(h, "\xEF\xBB\xBF", 3) == 0)
			h += 3; /* a byte order mark */
		for (int c = 0; c < C_N; c++)
			if (strcasecmp(h, COLS[c]) == 0 && r->col[c] < 0)
				r->col[c] = (int)i;
	}
	if (r->col[C_VALUE] < 0)
		r->err = diag_set(r->d, ST_EINVAL,
				  "row 1: the header names no 'value' column "
				  "(columns: value, type, comment, tlp, "
				  "first_seen, last_seen)");
	r->header_done = true;
}

static void row(struct rd *r)
{
	const char *v = cell(r, C_VALUE);
	if (r->too_many) {
		reject(r, "-", "more than 64 columns", "");
		return;
	}
	if (*v == '\0') {
		/* an empty line, or a row without a value */
		bool blank = true;
		for (size_t i = 0; i < r->nfield && blank; i++)
			blank = *trim(r->field[i]) == '\0';
		if (!blank)
			reject(r, "value", "empty", v);
		return;
	}
	const char *t = cell(r, C_TYPE);
	const struct kind *k = *t ? kind_named(t) : kind_of_value(v);
	if (k == NULL) {
		if (*t)
			reject(r, "type",
			       "unknown (ip, cidr, domain, url, md5, sha1, "
			       "sha256, sha512, email, x509-sha1)",
			       t);
		else
			reject(r, "value",
			       "no type given and none recognised (give a "
			       "type column)",
			       v);
		return;
	}
	struct ip_prefix ip;
	const char *why = check_value(k, v, &ip);
	if (why != NULL) {
		reject(r, "value", why, v);
		return;
	}
	/* names, mail addresses and hashes compare in any case: one form,
	 * one id */
	char norm[IX_CSV_FIELD_MAX + 1];
	snprintf(norm, sizeof(norm), "%s", v);
	if (strcmp(k->name, "url") != 0 && k->path != NULL)
		for (char *q = norm; *q; q++)
			*q = (char)tolower((unsigned char)*q);
	v = norm;
	const char *tlp = cell(r, C_TLP);
	enum tlp level = TLP_NONE;
	if (*tlp) {
		const char *l =
		    strncasecmp(tlp, "tlp:", 4) == 0 ? tlp + 4 : tlp;
		char low[32];
		size_t n = strlen(l);
		for (size_t i = 0; i < n && i < sizeof(low) - 1; i++)
			low[i] = (char)tolower((unsigned char)l[i]);
		low[n < sizeof(low) - 1 ? n : sizeof(low) - 1] = '\0';
		if (strcmp(low, "white") == 0)
			snprintf(low, sizeof(low), "clear");
		if (tlp_parse(low, &level) != ST_OK || level == TLP_NONE) {
			reject(r, "tlp",
			       "unknown level (clear, green, amber, "
			       "amber+strict, red)",
			       tlp);
			return;
		}
	}
	st_time first = 0, last = 0;
	const char *fs = cell(r, C_FIRST), *ls = cell(r, C_LAST);
	if (*fs && ts_parse(fs, strlen(fs), &first, NULL) != ST_OK) {
		reject(r, "first_seen",
		       "not a timestamp like 2026-01-31T12:00:00Z", fs);
		return;
	}
	if (*ls && ts_parse(ls, strlen(ls), &last, NULL) != ST_OK) {
		reject(r, "last_seen",
		       "not a timestamp like 2026-01-31T12:00:00Z", ls);
		return;
	}
	st_time at = first ? first : r->now;
	if (last && last <= at) {
		/* STIX: valid_until after valid_from */
		reject(r, "last_seen",
		       first ? "not after first_seen"
			     : "not after the time of the import (give "
			       "first_seen)",
		       ls);
		return;
	}
	char ts[TS_BUFSZ], vf[TS_BUFSZ], vu[TS_BUFSZ];
	ts_format(at, ts);
	ts_short(at, vf);
	if (last)
		ts_short(last, vu);
	/* the id: from the type and value, so that a row imported again
	 * is the same object */
	char name[2048 + 32];
	snprintf(name, sizeof(name), "%s|%s", k->name, v);
	/* UUIDv4 in form (STIX asks SDOs for v4), its bits from a hash of
	 * strait's namespace, the type and the value */
	uint8_t h[crypto_generichash_BYTES], u[16];
	crypto_generichash_state hs;
	crypto_generichash_init(&hs, NULL, 0, sizeof(h));
	crypto_generichash_update(&hs, NS_CSV, sizeof(NS_CSV));
	crypto_generichash_update(&hs, (const unsigned char *)name,
				  strlen(name));
	crypto_generichash_final(&hs, h, sizeof(h));
	memcpy(u, h, 16);
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40); /* version 4 */
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	char us[UUID_STRLEN + 1];
	uuid_format(u, us);
	struct buf pat = BUF_INIT(8192);
	buf_addc(&pat, '[');
	if (k->path == NULL)
		buf_add(&pat, ip.v6 ? "ipv6-addr:value" : "ipv4-addr:value",
			15);
	else
		buf_add(&pat, k->path, strlen(k->path));
	buf_addc(&pat, ' ');
	buf_add(&pat, k->op, strlen(k->op));
	buf_addc(&pat, ' ');
	literal(&pat, v);
	buf_addc(&pat, ']');
	buf_addc(&pat, '\0');
	const char *comment = cell(r, C_COMMENT);
	struct jw w;
	buf_reset(&r->json);
	jw_init(&w, &r->json);
	jw_obj_open(&w);
	jw_key(&w, "type");
	jw_str(&w, "indicator");
	jw_key(&w, "spec_version");
	jw_str(&w, "2.1");
	jw_key(&w, "id");
	char id[64];
	snprintf(id, sizeof(id), "indicator--%s", us);
	jw_str(&w, id);
	jw_key(&w, "created");
	jw_str(&w, ts);
	jw_key(&w, "modified");
	jw_str(&w, ts);
	jw_key(&w, "name");
	jw_str(&w, *comment ? comment : v);
	jw_key(&w, "pattern");
	jw_str(&w, pat.data);
	jw_key(&w, "pattern_type");
	jw_str(&w, "stix");
	jw_key(&w, "valid_from");
	jw_str(&w, vf);
	if (last) {
		jw_key(&w, "valid_until");
		jw_str(&w, vu);
	}
	if (level != TLP_NONE) {
		jw_key(&w, "object_marking_refs");
		jw_arr_open(&w);
		jw_str(&w, tlp_marking_id(level));
		jw_arr_close(&w);
	}
	jw_obj_close(&w);
	buf_free(&pat);
	if (jw_finish(&w) != ST_OK) {
		reject(r, "value", "too long", v);
		return;
	}
	int rc = r->on_object(r->ctx, r->json.data, r->json.len, r->row);
	if (rc != ST_OK)
		r->err = diag_set(r->d, rc, "row %llu: %s",
				  (unsigned long long)r->row, st_strerror(rc));
}

static void on_row(int c, void *data)
{
	(void)c;
	struct rd *r = data;
	if (r->err == ST_OK) {
		r->row++;
		if (!r->header_done)
			header(r);
		else
			row(r);
	}
	row_clear(r);
}

int ix_csv_read(ix_read_fn rd, void *rctx, st_time now, ix_object_fn on_object,
		ix_reject_fn on_reject, void *ctx, struct diag *d)
{
	struct csv_parser p;
	if (csv_init(&p, CSV_STRICT | CSV_APPEND_NULL) != 0)
		return diag_set(d, ST_ENOMEM, "out of memory");
	struct rd r = {.now = now,
		       .on_object = on_object,
		       .on_reject = on_reject,
		       .ctx = ctx,
		       .d = d,
		       .json = BUF_INIT((size_t)1 << 20)};
	char *chunk = malloc(CHUNK);
	int rc = chunk ? ST_OK : diag_set(d, ST_ENOMEM, "out of memory");
	while (rc == ST_OK && r.err == ST_OK) {
		ssize_t n = rd(rctx, chunk, CHUNK);
		if (n < 0) {
			rc = diag_set(d, ST_EIO, "read failed");
			break;
		}
		if (n == 0)
			break;
		if (csv_parse(&p, chunk, (size_t)n, on_field, on_row, &r) !=
		    (size_t)n) {
			rc = diag_set(d, ST_EINVAL, "row %llu: %s",
				      (unsigned long long)r.row + 1,
				      csv_error(&p) == CSV_EPARSE
					  ? "malformed CSV (a quote inside "
					    "an unquoted field, or text after "
					    "a closing quote)"
					  : csv_strerror(csv_error(&p)));
			break;
		}
		/* a field still open past the limit: never buffered on */
		if (p.entry_pos > IX_CSV_FIELD_MAX) {
			rc = diag_set(d, ST_ELIMIT,
				      "row %llu: a field longer than %d bytes "
				      "(an unclosed quote?)",
				      (unsigned long long)r.row + 1,
				      IX_CSV_FIELD_MAX);
			break;
		}
	}
	if (rc == ST_OK && r.err == ST_OK &&
	    csv_fini(&p, on_field, on_row, &r) != 0)
		rc =
		    diag_set(d, ST_EINVAL, "row %llu: malformed CSV at the end",
			     (unsigned long long)r.row + 1);
	if (rc == ST_OK && r.err == ST_OK && !r.header_done)
		rc = diag_set(d, ST_EINVAL, "no header row: an empty file");
	if (rc == ST_OK && r.err != ST_OK)
		rc = r.err;
	row_clear(&r);
	csv_free(&p);
	free(chunk);
	buf_free(&r.json);
	return rc;
}
