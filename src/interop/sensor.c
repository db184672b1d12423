/*
 * strait: indicators for sensors and blocklists; see sensor.h.
 */
#include "interop/sensor.h"

#include "common/buf.h"
#include "common/sqlschema.h"
#include "pattern/pattern.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Atoms                                                                */
/* ------------------------------------------------------------------ */

const char *ix_kind_name(enum ix_kind k)
{
	static const char *const n[] = {
	    "ip",   "cidr",   "domain", "url",	 "md5",
	    "sha1", "sha256", "sha512", "email", "x509-sha1",
	};
	return (unsigned)k < sizeof(n) / sizeof(n[0]) ? n[k] : "?";
}

static bool hex_of_len(const char *s, size_t n, size_t want)
{
	if (n != want)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

static bool key_is(const struct pat_path *p, size_t i, const char *k)
{
	return i < p->n_steps && p->steps[i].kind == PAT_STEP_KEY &&
	       strcmp(p->steps[i].key, k) == 0;
}

/* The kind a path holds, or -1 with *why. */
static int path_kind(const struct pat_path *p, const char **why)
{
	const char *t = p->type;
	if ((strcmp(t, "ipv4-addr") == 0 || strcmp(t, "ipv6-addr") == 0) &&
	    p->n_steps == 1 && key_is(p, 0, "value"))
		return IX_IP;
	if (strcmp(t, "domain-name") == 0 && p->n_steps == 1 &&
	    key_is(p, 0, "value"))
		return IX_DOMAIN;
	if (strcmp(t, "url") == 0 && p->n_steps == 1 && key_is(p, 0, "value"))
		return IX_URL;
	if (strcmp(t, "email-addr") == 0 && p->n_steps == 1 &&
	    key_is(p, 0, "value"))
		return IX_EMAIL;
	bool file = strcmp(t, "file") == 0 || strcmp(t, "artifact") == 0;
	bool cert = strcmp(t, "x509-certificate") == 0;
	if ((file || cert) && p->n_steps == 2 && key_is(p, 0, "hashes") &&
	    p->steps[1].kind == PAT_STEP_KEY) {
		const char *h = p->steps[1].key;
		if (cert)
			return strcmp(h, "SHA-1") == 0 || strcmp(h, "SHA1") == 0
				   ? IX_CERT_SHA1
				   : (*why = "a certificate hash other than "
					     "SHA-1",
				      -1);
		if (strcmp(h, "MD5") == 0)
			return IX_MD5;
		if (strcmp(h, "SHA-1") == 0 || strcmp(h, "SHA1") == 0)
			return IX_SHA1;
		if (strcmp(h, "SHA-256") == 0 || strcmp(h, "SHA256") == 0)
			return IX_SHA256;
		if (strcmp(h, "SHA-512") == 0 || strcmp(h, "SHA512") == 0)
			return IX_SHA512;
		*why = "a file hash other than MD5, SHA-1, SHA-256, SHA-512";
		return -1;
	}
	*why = "a property no export format holds (only addresses, domain "
	       "names, URLs, email addresses and file or certificate hashes)";
	return -1;
}

struct atoms {
	struct ix_atom *a;
	size_t n;
	const char *why;
};

static bool add_atom(struct atoms *x, int kind, const struct pat_const *c,
		     bool subset)
{
	if (c->type != PAT_C_STRING) {
		x->why = "a comparison with something other than a string";
		return false;
	}
	if (x->n == IX_ATOMS_MAX) {
		x->why = "more than 64 values in one pattern";
		return false;
	}
	if (c->u.str.len == 0 || c->u.str.len > IX_VALUE_MAX ||
	    memchr(c->u.str.p, '\0', c->u.str.len) != NULL) {
		x->why = "an empty, over-long or NUL-holding value";
		return false;
	}
	struct ix_atom *a = &x->a[x->n];
	memset(a, 0, sizeof(*a));
	memcpy(a->value, c->u.str.p, c->u.str.len);
	a->value[c->u.str.len] = '\0';
	a->kind = (enum ix_kind)kind;
	if (kind == IX_IP) {
		if (!ip_parse(c->u.str.p, c->u.str.len, &a->ip)) {
			x->why = "an address that does not parse";
			return false;
		}
		bool full = a->ip.len == (a->ip.v6 ? 128 : 32);
		if (!full && !subset) {
			/* '=' compares the SCO's value as a string */
			x->why = "an address compared with '=' to a prefix";
			return false;
		}
		a->kind = full ? IX_IP : IX_CIDR;
		/* the canonical text */
		char t[INET6_ADDRSTRLEN];
		inet_ntop(a->ip.v6 ? AF_INET6 : AF_INET, a->ip.addr, t,
			  sizeof(t));
		if (full)
			snprintf(a->value, sizeof(a->value), "%s", t);
		else
			snprintf(a->value, sizeof(a->value), "%s/%u", t,
				 a->ip.len);
	} else if (subset) {
		x->why = "ISSUBSET on something other than an address";
		return false;
	} else if (kind == IX_DOMAIN || kind == IX_EMAIL) {
		lower(a->value);
	} else if (kind >= IX_MD5 && kind <= IX_SHA512) {
		static const size_t len[] = {32, 40, 64, 128};
		if (!hex_of_len(a->value, strlen(a->value),
				len[kind - IX_MD5])) {
			x->why = "a hash of the wrong length or not hex";
			return false;
		}
		lower(a->value);
	} else if (kind == IX_CERT_SHA1) {
		if (!hex_of_len(a->value, strlen(a->value), 40)) {
			x->why = "a certificate hash that is not 40 hex digits";
			return false;
		}
		lower(a->value);
	}
	x->n++;
	return true;
}

static bool cmp_atoms(struct atoms *x, const struct pat_cmp *c)
{
	if (c->negated) {
		x->why = "a negated comparison (NOT)";
		return false;
	}
	int kind = path_kind(&c->path, &x->why);
	if (kind < 0)
		return false;
	switch (c->op) {
	case PAT_OP_EQ:
		return add_atom(x, kind, &c->vals[0], false);
	case PAT_OP_IN:
		for (uint32_t i = 0; i < c->n_vals; i++)
			if (!add_atom(x, kind, &c->vals[i], false))
				return false;
		return true;
	case PAT_OP_ISSUBSET:
		return add_atom(x, kind, &c->vals[0], true);
	case PAT_OP_LIKE:
	case PAT_OP_MATCHES:
		x->why = "LIKE or MATCHES (a sensor list holds exact values)";
		return false;
	default:
		x->why = "an operator other than =, IN or ISSUBSET";
		return false;
	}
}

static bool cexpr_atoms(struct atoms *x, const struct pat_cexpr *ce)
{
	switch (ce->kind) {
	case PAT_CE_CMP:
		return cmp_atoms(x, ce->cmp);
	case PAT_CE_OR:
		return cexpr_atoms(x, ce->l) && cexpr_atoms(x, ce->r);
	case PAT_CE_AND:
		x->why = "comparisons joined by AND";
		return false;
	}
	return false;
}

static bool oexpr_atoms(struct atoms *x, const struct pat_oexpr *oe)
{
	switch (oe->kind) {
	case PAT_OE_OBS:
		return cexpr_atoms(x, oe->cexpr);
	case PAT_OE_OR:
		return oexpr_atoms(x, oe->l) && oexpr_atoms(x, oe->r);
	case PAT_OE_AND:
		x->why = "observations joined by AND";
		return false;
	case PAT_OE_FOLLOWEDBY:
		x->why = "FOLLOWEDBY";
		return false;
	default:
		x->why = "a qualifier (REPEATS, WITHIN, START/STOP)";
		return false;
	}
}

int ix_pattern_atoms(const char *pattern, size_t len, struct ix_atom *out,
		     size_t *n, const char **why)
{
	*n = 0;
	struct pattern *p = NULL;
	struct diag d;
	if (pattern_parse(pattern, len, NULL, &p, &d) != ST_OK) {
		*why = "a pattern that does not parse";
		return ST_EINVAL;
	}
	struct atoms x = {.a = out};
	bool ok = oexpr_atoms(&x, pattern_root(p));
	pattern_free(p);
	if (!ok) {
		*why = x.why;
		return ST_EINVAL;
	}
	*n = x.n;
	return ST_OK;
}

/* ------------------------------------------------------------------ */
/* Formats                                                              */
/* ------------------------------------------------------------------ */

static const char *const FORMATS[] = {"zeek-intel", "suricata", "blocklist",
				      "rpz", "csv"};

int ix_format_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(FORMATS) / sizeof(FORMATS[0]); i++)
		if (strcmp(name, FORMATS[i]) == 0)
			return (int)i;
	return -1;
}

const char *ix_format_name(enum ix_format f)
{
	return FORMATS[f];
}

/* A host[/path] URL Zeek or Suricata sees in plain HTTP: "http://" with no
 * user, no port, no fragment. */
static bool plain_http(const char *url, const char **host, size_t *hlen,
		       const char **path)
{
	if (strncmp(url, "http://", 7) != 0)
		return false;
	const char *h = url + 7;
	size_t n = strcspn(h, "/?#");
	if (n == 0 || memchr(h, '@', n) != NULL || memchr(h, ':', n) != NULL ||
	    strchr(h, '#') != NULL)
		return false;
	*host = h;
	*hlen = n;
	*path = h[n] == '\0' ? "/" : h + n;
	return true;
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

bool ix_expressible(enum ix_format f, const struct ix_atom *a, const char **why)
{
	const char *host, *path;
	size_t hlen;
	if (!printable(a->value)) {
		*why = "a value with control characters";
		return false;
	}
	switch (f) {
	case IX_FMT_ZEEK:
		if (a->kind == IX_SHA512) {
			*why = "Zeek computes no SHA-512";
			return false;
		}
		if (a->kind == IX_URL &&
		    !plain_http(a->value, &host, &hlen, &path)) {
			*why = "Zeek sees only plain http:// URLs (no port, "
			       "user or fragment)";
			return false;
		}
		return true;
	case IX_FMT_SURICATA:
		if (a->kind >= IX_MD5 && a->kind <= IX_SHA512) {
			*why = "Suricata matches file hashes only from lists "
			       "beside the rules";
			return false;
		}
		if (a->kind == IX_EMAIL) {
			*why = "Suricata rules hold no email address";
			return false;
		}
		if (a->kind == IX_URL &&
		    !plain_http(a->value, &host, &hlen, &path)) {
			*why = "Suricata rules see only plain http:// URLs (no "
			       "port, user or fragment)";
			return false;
		}
		return true;
	case IX_FMT_RPZ:
		if (a->kind != IX_DOMAIN) {
			*why = "an RPZ zone here holds domain names only";
			return false;
		}
		if (!domain_name_valid(a->value, strlen(a->value), true)) {
			*why = "not a DNS name";
			return false;
		}
		return true;
	case IX_FMT_BLOCKLIST:
	case IX_FMT_CSV:
		/* what strait import reads back as a domain */
		if (a->kind == IX_DOMAIN &&
		    !domain_name_valid(a->value, strlen(a->value), false)) {
			*why = "not a domain name";
			return false;
		}
		return true;
	}
	return false;
}

/* ------------------------------------------------------------------ */
/* Stable sids                                                          */
/* ------------------------------------------------------------------ */

#define SID_FIRST 1000000u /* Suricata's range for local rules */

/* What exports.db holds, loaded once into a hash table (open
 * addressing): each rule's lookup costs no database read; only new sids
 * and new revs are written. */
struct sid_slot {
	uint64_t h; /* fnv(key) */
	char *key;  /* id "\x1f" rule key; NULL: empty */
	uint32_t sid, rev;
	int64_t version;
};

struct ix_sids {
	sqlite3 *db;
	char path[PATH_MAX];
	sqlite3_stmt *put, *upd;
	uint32_t next;
	bool in_tx;
	struct sid_slot *slot;
	size_t cap, n; /* cap a power of two */
};

static const struct sql_migration sid_migrations[] = {
    {1, "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)"
	" WITHOUT ROWID;"
	"CREATE TABLE suricata(id TEXT NOT NULL, key TEXT NOT NULL,"
	" sid INTEGER NOT NULL UNIQUE, version INTEGER NOT NULL,"
	" rev INTEGER NOT NULL, PRIMARY KEY(id, key)) WITHOUT ROWID;"},
};

static uint64_t fnv(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	/* the low bits pick the slot: mix the high ones down */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

static struct sid_slot *find_slot(struct ix_sids *s, const char *k, uint64_t h)
{
	size_t i = (size_t)h & (s->cap - 1);
	while (s->slot[i].key != NULL &&
	       (s->slot[i].h != h || strcmp(s->slot[i].key, k) != 0))
		i = (i + 1) & (s->cap - 1);
	return &s->slot[i];
}

static int grow(struct ix_sids *s)
{
	size_t cap = s->cap ? s->cap * 2 : 4096;
	struct sid_slot *old = s->slot;
	size_t oldcap = s->cap;
	s->slot = calloc(cap, sizeof(*s->slot));
	if (s->slot == NULL) {
		s->slot = old;
		return ST_ENOMEM;
	}
	s->cap = cap;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].key != NULL)
			*find_slot(s, old[i].key, old[i].h) = old[i];
	free(old);
	return ST_OK;
}

/* The slot for k, made (empty, key set) when absent; NULL: no memory. */
static struct sid_slot *slot_for(struct ix_sids *s, const char *k, bool *fresh)
{
	if ((s->n + 1) * 2 > s->cap && grow(s) != ST_OK)
		return NULL;
	uint64_t h = fnv(k);
	struct sid_slot *e = find_slot(s, k, h);
	*fresh = e->key == NULL;
	if (*fresh) {
		if ((e->key = strdup(k)) == NULL)
			return NULL;
		e->h = h;
		s->n++;
	}
	return e;
}

static char *join_key(const char *id, const char *key)
{
	size_t a = strlen(id), b = strlen(key);
	char *k = malloc(a + b + 2);
	if (k != NULL) {
		memcpy(k, id, a);
		k[a] = '\x1f';
		memcpy(k + a + 1, key, b + 1);
	}
	return k;
}

int ix_sids_open(const char *home, struct ix_sids **out, struct diag *d)
{
	*out = NULL;
	struct ix_sids *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	snprintf(s->path, sizeof(s->path), "%s/exports.db", home);
	int rc = sql_open_private(s->path, "exports state", sid_migrations, 1,
				  &s->db, d);
	if (rc != ST_OK) {
		free(s);
		return rc;
	}
	sqlite3_stmt *all = NULL;
	uint32_t mx = 0;
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
		SQLITE_OK ||
	    sqlite3_prepare_v2(
		s->db, "SELECT id, key, sid, version, rev FROM suricata", -1,
		&all, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db,
			       "INSERT INTO suricata(id, key, sid, version,"
			       " rev) VALUES(?1, ?2, ?3, ?4, 1)",
			       -1, &s->put, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db,
			       "UPDATE suricata SET version = ?3, rev = ?4"
			       " WHERE id = ?1 AND key = ?2",
			       -1, &s->upd, NULL) != SQLITE_OK) {
		rc = sql_diag(s->db, d, s->path);
		sqlite3_finalize(all);
		ix_sids_close(s);
		return rc;
	}
	s->in_tx = true;
	int src;
	while (rc == ST_OK && (src = sqlite3_step(all)) == SQLITE_ROW) {
		char *k = join_key((const char *)sqlite3_column_text(all, 0),
				   (const char *)sqlite3_column_text(all, 1));
		bool fresh;
		struct sid_slot *e = k ? slot_for(s, k, &fresh) : NULL;
		free(k);
		if (e == NULL) {
			rc = diag_set(d, ST_ENOMEM, "out of memory");
			break;
		}
		e->sid = (uint32_t)sqlite3_column_int64(all, 2);
		e->version = sqlite3_column_int64(all, 3);
		e->rev = (uint32_t)sqlite3_column_int64(all, 4);
		if (e->sid > mx)
			mx = e->sid;
	}
	if (rc == ST_OK && src != SQLITE_DONE)
		rc = sql_diag(s->db, d, s->path);
	sqlite3_finalize(all);
	if (rc != ST_OK) {
		ix_sids_close(s);
		return rc;
	}
	s->next = mx >= SID_FIRST ? mx + 1 : SID_FIRST;
	*out = s;
	return ST_OK;
}

void ix_sids_close(struct ix_sids *s)
{
	if (s == NULL)
		return;
	sqlite3_finalize(s->put);
	sqlite3_finalize(s->upd);
	if (s->in_tx)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(s->db);
	for (size_t i = 0; i < s->cap; i++)
		free(s->slot[i].key);
	free(s->slot);
	free(s);
}

int ix_sids_get(struct ix_sids *s, const char *id, const char *key,
		st_time version, uint32_t *sid, uint32_t *rev, struct diag *d)
{
	char *k = join_key(id, key);
	bool fresh = false;
	struct sid_slot *e = k ? slot_for(s, k, &fresh) : NULL;
	free(k);
	if (e == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	sqlite3_stmt *st;
	if (fresh) {
		if (s->next == UINT32_MAX)
			return diag_set(d, ST_ELIMIT, "no sid left");
		e->sid = s->next++;
		e->rev = 1;
		e->version = version;
		st = s->put;
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 3, e->sid);
		sqlite3_bind_int64(st, 4, version);
	} else if (e->version != version) {
		/* a new version of the indicator: the rule's next rev */
		e->rev++;
		e->version = version;
		st = s->upd;
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 3, version);
		sqlite3_bind_int64(st, 4, e->rev);
	} else {
		*sid = e->sid;
		*rev = e->rev;
		return ST_OK;
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		return sql_diag(s->db, d, s->path);
	*sid = e->sid;
	*rev = e->rev;
	return ST_OK;
}

int ix_sids_commit(struct ix_sids *s, struct diag *d)
{
	if (!s->in_tx)
		return ST_OK;
	s->in_tx = false;
	if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		int rc = sql_diag(s->db, d, s->path);
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return rc;
	}
	return ST_OK;
}

/* ------------------------------------------------------------------ */
/* Writers                                                              */
/* ------------------------------------------------------------------ */

struct ix_writer {
	enum ix_format f;
	FILE *out;
	struct buf line; /* one line (or rule), written with one fwrite */
	struct ix_sids *sids;
	char generator[128];
	char **kept; /* blocklist and RPZ: values, sorted at the end */
	size_t nkept, capkept;
	uint64_t written;
	int err;
};

int ix_writer_new(enum ix_format f, FILE *out, struct ix_sids *sids,
		  const char *generator, struct ix_writer **w, struct diag *d)
{
	*w = calloc(1, sizeof(**w));
	if (*w == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	(*w)->f = f;
	(*w)->out = out;
	buf_init(&(*w)->line, (size_t)64 << 10);
	(*w)->sids = sids;
	snprintf((*w)->generator, sizeof((*w)->generator), "%s", generator);
	if (f == IX_FMT_SURICATA && sids == NULL) {
		free(*w);
		*w = NULL;
		return diag_set(d, ST_EINVAL, "suricata needs its sids");
	}
	if (f == IX_FMT_ZEEK)
		fputs("#fields\tindicator\tindicator_type\tmeta.source\t"
		      "meta.desc\n",
		      out);
	else if (f == IX_FMT_CSV)
		fputs("value,type,comment,tlp,first_seen,last_seen\n", out);
	return ST_OK;
}

static void put(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

/* Text for a Zeek field: tabs and line breaks become spaces, empty "-". */
static void zeek_field(struct buf *b, const char *s)
{
	if (s == NULL || *s == '\0') {
		buf_addc(b, '-');
		return;
	}
	size_t start = b->len;
	put(b, s);
	for (size_t i = start; i < b->len; i++)
		if (b->data[i] == '\t' || b->data[i] == '\n' ||
		    b->data[i] == '\r')
			b->data[i] = ' ';
}

static const char *zeek_type(enum ix_kind k)
{
	switch (k) {
	case IX_IP:
		return "Intel::ADDR";
	case IX_CIDR:
		return "Intel::SUBNET";
	case IX_DOMAIN:
		return "Intel::DOMAIN";
	case IX_URL:
		return "Intel::URL";
	case IX_MD5:
	case IX_SHA1:
	case IX_SHA256:
		return "Intel::FILE_HASH";
	case IX_EMAIL:
		return "Intel::EMAIL";
	case IX_CERT_SHA1:
		return "Intel::CERT_HASH";
	default:
		return NULL;
	}
}

/* A Suricata content string: printable ASCII as is, except the bytes a
 * rule gives meaning to, which go as |hex|. */
static void sur_content(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c >= 0x7f || c == '"' || c == ';' ||
		    c == '\\' || c == '|' || c == ':') {
			char e[4] = {'|', hex[c >> 4], hex[c & 15], '|'};
			buf_add(b, e, 4);
		} else {
			buf_addc(b, (char)c);
		}
	}
}

/* msg: text with '"', ';' and '\' escaped, line breaks as spaces. */
static void sur_msg(struct buf *b, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '"' || *s == ';' || *s == '\\')
			buf_addc(b, '\\');
		buf_addc(b, *s == '\n' || *s == '\r' || *s == '\t' ? ' ' : *s);
	}
}

static int sur_rule(struct ix_writer *w, const struct ix_indicator *ind,
		    const struct ix_atom *a, struct diag *d)
{
	char key[IX_VALUE_MAX + 16];
	snprintf(key, sizeof(key), "%s:%s", ix_kind_name(a->kind), a->value);
	uint32_t sid, rev;
	int rc =
	    ix_sids_get(w->sids, ind->id, key, ind->version, &sid, &rev, d);
	if (rc != ST_OK)
		return rc;
	struct buf *b = &w->line;
	const char *host, *path;
	size_t hlen;
	char num[64];
	switch (a->kind) {
	case IX_IP:
	case IX_CIDR:
		put(b, "alert ip ");
		put(b, a->value);
		put(b, " any <> any any (");
		break;
	case IX_DOMAIN:
		put(b, "alert dns any any -> any any (");
		break;
	case IX_URL:
		put(b, "alert http any any -> any any (");
		break;
	case IX_CERT_SHA1:
		put(b, "alert tls any any -> any any (");
		break;
	default:
		return diag_set(d, ST_EINVAL, "%s: not for Suricata rules",
				ix_kind_name(a->kind));
	}
	put(b, "msg:\"strait ");
	sur_msg(b, ind->name != NULL ? ind->name : ind->id);
	put(b, "\"; ");
	switch (a->kind) {
	case IX_DOMAIN:
		put(b, "dns.query; content:\"");
		sur_content(b, a->value, strlen(a->value));
		snprintf(num, sizeof(num), "\"; nocase; bsize:%zu; ",
			 strlen(a->value));
		put(b, num);
		break;
	case IX_URL: {
		plain_http(a->value, &host, &hlen, &path);
		put(b, "http.host; content:\"");
		char lh[IX_VALUE_MAX + 1];
		for (size_t i = 0; i < hlen; i++)
			lh[i] = (char)tolower((unsigned char)host[i]);
		sur_content(b, lh, hlen);
		snprintf(num, sizeof(num),
			 "\"; bsize:%zu; http.uri.raw; content:\"", hlen);
		put(b, num);
		sur_content(b, path, strlen(path));
		snprintf(num, sizeof(num), "\"; bsize:%zu; ", strlen(path));
		put(b, num);
		break;
	}
	case IX_CERT_SHA1:
		put(b, "tls.cert_fingerprint; content:\"");
		for (size_t i = 0; i < 40; i += 2) {
			if (i)
				put(b, "|3A|");
			buf_add(b, a->value + i, 2);
		}
		put(b, "\"; bsize:59; ");
		break;
	default:
		break;
	}
	put(b, "metadata: stix_id ");
	put(b, ind->id);
	put(b, ", tlp ");
	put(b, ind->tlp);
	put(b, ", source ");
	put(b, ind->source);
	snprintf(num, sizeof(num), "; sid:%u; rev:%u;)\n", sid, rev);
	put(b, num);
	return ST_OK;
}

static void csv_field(struct buf *b, const char *s)
{
	if (s == NULL)
		return;
	if (strpbrk(s, ",\"\r\n") == NULL) {
		put(b, s);
		return;
	}
	buf_addc(b, '"');
	for (; *s; s++) {
		if (*s == '"')
			buf_addc(b, '"');
		buf_addc(b, *s);
	}
	buf_addc(b, '"');
}

static int keep(struct ix_writer *w, const char *v)
{
	if (w->nkept == w->capkept) {
		size_t cap = w->capkept ? w->capkept * 2 : 1024;
		char **g = realloc(w->kept, cap * sizeof(*g));
		if (g == NULL)
			return ST_ENOMEM;
		w->kept = g;
		w->capkept = cap;
	}
	if ((w->kept[w->nkept] = strdup(v)) == NULL)
		return ST_ENOMEM;
	w->nkept++;
	return ST_OK;
}

int ix_writer_add(struct ix_writer *w, const struct ix_indicator *ind,
		  struct diag *d)
{
	for (size_t i = 0; i < ind->n; i++) {
		const struct ix_atom *a = &ind->atoms[i];
		struct buf *b = &w->line;
		int rc = ST_OK;
		buf_reset(b);
		switch (w->f) {
		case IX_FMT_ZEEK: {
			const char *host, *path;
			size_t hlen;
			if (a->kind == IX_URL &&
			    plain_http(a->value, &host, &hlen, &path))
				put(b, a->value + 7); /* no scheme */
			else
				put(b, a->value);
			buf_addc(b, '\t');
			put(b, zeek_type(a->kind));
			buf_addc(b, '\t');
			zeek_field(b, ind->source);
			buf_addc(b, '\t');
			zeek_field(b, ind->name ? ind->name : ind->id);
			buf_addc(b, '\n');
			break;
		}
		case IX_FMT_SURICATA:
			rc = sur_rule(w, ind, a, d);
			break;
		case IX_FMT_CSV:
			csv_field(b, a->value);
			buf_addc(b, ',');
			put(b, ix_kind_name(a->kind));
			buf_addc(b, ',');
			csv_field(b, ind->name ? ind->name : ind->id);
			buf_addc(b, ',');
			put(b, ind->tlp);
			buf_addc(b, ',');
			csv_field(b, ind->valid_from);
			buf_addc(b, ',');
			csv_field(b, ind->valid_until);
			buf_addc(b, '\n');
			break;
		case IX_FMT_BLOCKLIST:
		case IX_FMT_RPZ:
			rc = keep(w, a->value);
			if (rc == ST_ENOMEM)
				rc = diag_set(d, rc, "out of memory");
			break;
		}
		if (rc != ST_OK)
			return rc;
		if (b->len > 0) {
			fwrite(b->data, 1, b->len, w->out);
			w->written++;
		}
	}
	return ferror(w->out) ? diag_set(d, ST_EIO, "write failed") : ST_OK;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int ix_writer_finish(struct ix_writer *w, uint64_t *written, struct diag *d)
{
	if (w->f == IX_FMT_BLOCKLIST || w->f == IX_FMT_RPZ) {
		if (w->nkept > 0) /* nothing kept: kept may be NULL */
			qsort(w->kept, w->nkept, sizeof(*w->kept), cmp_str);
		size_t u = 0;
		for (size_t i = 0; i < w->nkept; i++)
			if (u == 0 || strcmp(w->kept[u - 1], w->kept[i]) != 0)
				w->kept[u++] = w->kept[i];
			else
				free(w->kept[i]);
		w->nkept = u;
		if (w->f == IX_FMT_BLOCKLIST) {
			fprintf(w->out, "# %s: %zu values\n", w->generator, u);
		} else {
			fprintf(w->out,
				"; %s: %zu names\n"
				"$TTL 300\n"
				"@ IN SOA localhost. hostmaster.localhost. "
				"(%lld 3600 600 86400 300)\n"
				"@ IN NS localhost.\n",
				w->generator, u,
				(long long)(time_now() / 1000000));
		}
		for (size_t i = 0; i < u; i++) {
			if (w->f == IX_FMT_BLOCKLIST)
				fprintf(w->out, "%s\n", w->kept[i]);
			else
				fprintf(w->out, "%s CNAME .\n", w->kept[i]);
			w->written++;
		}
	}
	*written = w->written;
	int rc = ferror(w->out) ? diag_set(d, ST_EIO, "write failed") : ST_OK;
	ix_writer_free(w);
	return rc;
}

void ix_writer_free(struct ix_writer *w)
{
	if (w == NULL)
		return;
	for (size_t i = 0; i < w->nkept; i++)
		free(w->kept[i]);
	free(w->kept);
	buf_free(&w->line);
	free(w);
}
