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
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

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
	/* not memset: the value alone is 2 KiB, and a pattern has one or
	 * two values a million times over in an export */
	struct ix_atom *a = &x->a[x->n];
	memcpy(a->value, c->u.str.p, c->u.str.len);
	a->value[c->u.str.len] = '\0';
	a->len = c->u.str.len;
	a->kind = (enum ix_kind)kind;
	memset(&a->ip, 0, sizeof(a->ip));
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
		inet_ntop(a->ip.v6 ? AF_INET6 : AF_INET, a->ip.addr, a->value,
			  sizeof(a->value));
		a->len = strlen(a->value);
		if (!full)
			a->len += (size_t)snprintf(a->value + a->len,
						   sizeof(a->value) - a->len,
						   "/%u", a->ip.len);
	} else if (subset) {
		x->why = "ISSUBSET on something other than an address";
		return false;
	} else if (kind == IX_DOMAIN || kind == IX_EMAIL) {
		lower(a->value);
	} else if (kind >= IX_MD5 && kind <= IX_SHA512) {
		static const size_t len[] = {32, 40, 64, 128};
		if (!hex_of_len(a->value, a->len, len[kind - IX_MD5])) {
			x->why = "a hash of the wrong length or not hex";
			return false;
		}
		lower(a->value);
	} else if (kind == IX_CERT_SHA1) {
		if (!hex_of_len(a->value, a->len, 40)) {
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

/*
 * The shape most indicators have, taken apart without the parser: one to
 * FAST_OBS observations "[path = 'value']" joined by " OR ", spaced just
 * so, each path one of FAST_PATHS, each value printable ASCII without a
 * quote or a backslash. The parser reads such a pattern as a disjunction
 * of those equalities, in that order, so the atoms are the same; any
 * other text (other spacing, escapes, other paths or operators) goes to
 * the parser. A parse costs several allocations and a tree; in an export
 * of a million indicators it was a fifth of the time.
 */
#define FAST_OBS 8
#define FAST_MAX_LEN 16384 /* well inside the parser's limits */

static const struct fast_path {
	const char *text;
	enum ix_kind kind;
} FAST_PATHS[] = {
    {"ipv4-addr:value", IX_IP},
    {"ipv6-addr:value", IX_IP},
    {"domain-name:value", IX_DOMAIN},
    {"url:value", IX_URL},
    {"email-addr:value", IX_EMAIL},
    {"file:hashes.MD5", IX_MD5},
    {"file:hashes.'SHA-1'", IX_SHA1},
    {"file:hashes.'SHA-256'", IX_SHA256},
    {"file:hashes.'SHA-512'", IX_SHA512},
    {"x509-certificate:hashes.'SHA-1'", IX_CERT_SHA1},
};

/* true when the pattern has the shape (*ok then says whether its atoms
 * are all values, x->why when not); false: for the parser. */
static bool fast_atoms(const char *p, size_t len, struct atoms *x, bool *ok)
{
	struct {
		int kind;
		const char *v;
		size_t n;
	} obs[FAST_OBS];
	size_t nobs = 0;
	const char *s = p, *end = p + len;
	if (len > FAST_MAX_LEN)
		return false;
	for (;;) {
		if (nobs == FAST_OBS || s == end || *s++ != '[')
			return false;
		size_t k = 0, n = 0;
		for (; k < sizeof(FAST_PATHS) / sizeof(FAST_PATHS[0]); k++) {
			n = strlen(FAST_PATHS[k].text);
			if ((size_t)(end - s) > n + 4 &&
			    memcmp(s, FAST_PATHS[k].text, n) == 0 &&
			    memcmp(s + n, " = '", 4) == 0)
				break;
		}
		if (k == sizeof(FAST_PATHS) / sizeof(FAST_PATHS[0]))
			return false;
		s += n + 4;
		const char *v = s;
		while (s < end && *s != '\'' && *s >= 0x20 && *s < 0x7f &&
		       *s != '\\')
			s++;
		if (end - s < 2 || s[0] != '\'' || s[1] != ']')
			return false;
		obs[nobs].kind = (int)FAST_PATHS[k].kind;
		obs[nobs].v = v;
		obs[nobs].n = (size_t)(s - v);
		nobs++;
		s += 2;
		if (s == end)
			break;
		if (end - s < 4 || memcmp(s, " OR ", 4) != 0)
			return false;
		s += 4;
	}
	*ok = true;
	for (size_t i = 0; i < nobs && *ok; i++) {
		struct pat_const c = {.type = PAT_C_STRING};
		c.u.str.p = (char *)obs[i].v; /* read only */
		c.u.str.len = obs[i].n;
		*ok = add_atom(x, obs[i].kind, &c, false);
	}
	return true;
}

int ix_pattern_atoms(const char *pattern, size_t len, struct ix_atom *out,
		     size_t *n, const char **why)
{
	*n = 0;
	struct atoms fx = {.a = out};
	bool fok;
	if (fast_atoms(pattern, len, &fx, &fok)) {
		if (!fok) {
			*why = fx.why;
			return ST_EINVAL;
		}
		*n = fx.n;
		return ST_OK;
	}
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

static const char *const FORMATS[] = {
    "zeek-intel", "suricata", "blocklist", "rpz", "csv", "suricata-dataset"};

int ix_export_fmt_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(FORMATS) / sizeof(FORMATS[0]); i++)
		if (strcmp(name, FORMATS[i]) == 0)
			return (int)i;
	return -1;
}

const char *ix_export_fmt_name(enum ix_export_fmt f)
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

/* An IPv6 address Suricata's `ip` dataset keeps as an IPv4 one: the
 * v4-mapped ::ffff:a.b.c.d (converted when loaded), and any whose last
 * 12 bytes are zero (an IPv4 packet's 4 bytes are looked up padded with
 * zeros). In the set, each would match IPv4 traffic. */
static bool v6_aliases_v4(const struct ip_prefix *p)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0,    0,
					   0, 0, 0, 0, 0xff, 0xff};
	static const uint8_t zero[12];
	return memcmp(p->addr, mapped, 12) == 0 ||
	       memcmp(p->addr + 4, zero, 12) == 0;
}

static bool dataset_holds(const struct ix_atom *a, const char **why)
{
	switch (a->kind) {
	case IX_IP:
		if (a->ip.v6 && v6_aliases_v4(&a->ip)) {
			*why =
			    "an IPv6 address Suricata's ip dataset takes for "
			    "an IPv4 one";
			return false;
		}
		return true;
	case IX_CIDR:
		*why = "a prefix (a Suricata dataset holds single addresses)";
		return false;
	case IX_DOMAIN:
		if (!domain_name_valid(a->value, a->len, true)) {
			*why = "not a DNS name";
			return false;
		}
		return true;
	case IX_URL:
		*why = "a URL (a Suricata dataset matches one buffer, a URL "
		       "needs two: host and path)";
		return false;
	case IX_SHA512:
		*why = "Suricata computes no SHA-512";
		return false;
	case IX_EMAIL:
		*why = "Suricata has no buffer holding just an email address";
		return false;
	case IX_MD5:
	case IX_SHA1:
	case IX_SHA256:
	case IX_CERT_SHA1:
		return true;
	}
	return false;
}

bool ix_expressible(enum ix_export_fmt f, const struct ix_atom *a,
		    const char **why)
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
	case IX_FMT_SURICATA_DATASET:
		return dataset_holds(a, why);
	case IX_FMT_RPZ:
		if (a->kind != IX_DOMAIN) {
			*why = "an RPZ zone here holds domain names only";
			return false;
		}
		if (!domain_name_valid(a->value, a->len, true)) {
			*why = "not a DNS name";
			return false;
		}
		return true;
	case IX_FMT_BLOCKLIST:
	case IX_FMT_CSV:
		/* what strait import reads back as a domain */
		if (a->kind == IX_DOMAIN &&
		    !domain_name_valid(a->value, a->len, false)) {
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
#define SIDS_PRESIZE_MAX ((size_t)1 << 24)
#define SIDS_MAX ((size_t)1 << 30) /* rules an export keeps in memory */

/*
 * What exports.db holds, loaded once, kept small: each rule is its sid,
 * rev, version and a 128-bit keyed hash of its key ("id" 0x1f "rule
 * key"; SipHash-128, BLAKE2b past 512 bytes), under a key drawn at random
 * for each export and never written out, so that neither chance (2^-89
 * for a million rules) nor a partner choosing indicator values can make
 * two keys one. The rules are in an array in sid order, under an open
 * addressing index of entry numbers. An export
 * asks for its rules in about the order their sids were given (the
 * store's order), so a lookup first tries the entry after the one it
 * found last, and goes to the index only when that is not it. A slot
 * holds the top 32 bits of h[0] beside the entry's number: they place it
 * (its home is their top `bits` bits) and a probe compares them before
 * it reads the entry, so neither a probe nor a resize reads entries that
 * are not the one sought.
 *
 * Memory is the cost here: a page touched for the first time costs more
 * than the work done in it, so the array and the index are as small as
 * they can be, and big ones ask for huge pages.
 */
struct sid_ent {
	uint64_t h[2]; /* the key's hash; h[0] picks the home slot */
	int64_t version;
	uint32_t sid, rev;
};

/* New rows go to the database this many at a time, in one statement. */
#define PUT_BATCH 64

struct pend_row {
	uint32_t sid;
	int64_t version;
	size_t off, idn, keyn; /* id then key, at pend.data + off */
};

struct ix_sids {
	sqlite3 *db;
	char path[PATH_MAX];
	sqlite3_stmt *put, *putn, *upd; /* putn: PUT_BATCH rows */
	struct buf pend;		/* the rows not inserted yet */
	struct pend_row prow[PUT_BATCH];
	size_t npend;
	uint32_t next;
	bool in_tx;
	unsigned char hkey[crypto_shorthash_siphashx24_KEYBYTES];
	struct sid_ent *ent;
	size_t nent, capent;
	size_t cursor;	/* the entry the next lookup tries first */
	uint64_t *slot; /* tag << 32 | (entry + 1); 0: empty */
	size_t cap;	/* 1 << bits, at least twice nent */
	unsigned bits;
};

#define HUGE_PAGE ((size_t)2 << 20)

/* Asks for huge pages under a big allocation: fewer pages to fault in. */
static void hint_huge(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
	uintptr_t a =
	    ((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
	uintptr_t e = ((uintptr_t)p + n) & ~(uintptr_t)(HUGE_PAGE - 1);
	if (n >= 4 * HUGE_PAGE && e > a)
		madvise((void *)a, e - a, MADV_HUGEPAGE);
#else
	(void)p;
	(void)n;
#endif
}

/*
 * Version 2 keys the table by sid alone: a new rule is appended at the
 * end of one B-tree instead of inserted into two (the primary key on
 * (id, key) and the UNIQUE on sid). (id, key) stays unique because the
 * only writer, ix_sids_get, looks each one up in memory first, with the
 * file locked for the whole export.
 */
static const struct sql_migration sid_migrations[] = {
    {1, "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)"
	" WITHOUT ROWID;"
	"CREATE TABLE suricata(id TEXT NOT NULL, key TEXT NOT NULL,"
	" sid INTEGER NOT NULL UNIQUE, version INTEGER NOT NULL,"
	" rev INTEGER NOT NULL, PRIMARY KEY(id, key)) WITHOUT ROWID;"},
    {2, "CREATE TABLE suricata2(sid INTEGER PRIMARY KEY,"
	" id TEXT NOT NULL, key TEXT NOT NULL, version INTEGER NOT NULL,"
	" rev INTEGER NOT NULL);"
	"INSERT INTO suricata2(sid, id, key, version, rev)"
	" SELECT sid, id, key, version, rev FROM suricata ORDER BY sid;"
	"DROP TABLE suricata;"
	"ALTER TABLE suricata2 RENAME TO suricata;"},
};

/* The hash of (id, rule key); an id holds no 0x1f. */
static void key_hash(const struct ix_sids *s, const char *id, size_t idn,
		     const char *key, size_t keyn, uint64_t h[2])
{
	crypto_generichash_state st;
	unsigned char out[crypto_shorthash_siphashx24_BYTES];
	if (idn + 1 + keyn <= 512) {
		unsigned char k[512];
		memcpy(k, id, idn);
		k[idn] = 0x1f;
		memcpy(k + idn + 1, key, keyn);
		crypto_shorthash_siphashx24(out, k, idn + 1 + keyn, s->hkey);
	} else {
		/* a long value: a keyed BLAKE2b of the same bytes */
		crypto_generichash_init(&st, s->hkey, sizeof(s->hkey),
					sizeof(out));
		crypto_generichash_update(&st, (const unsigned char *)id, idn);
		crypto_generichash_update(&st, (const unsigned char *)"\x1f",
					  1);
		crypto_generichash_update(&st, (const unsigned char *)key,
					  keyn);
		crypto_generichash_final(&st, out, sizeof(out));
	}
	memcpy(h, out, sizeof(out));
}

static bool ent_is(const struct sid_ent *e, const uint64_t h[2])
{
	return e->h[0] == h[0] && e->h[1] == h[1];
}

static size_t home(const struct ix_sids *s, uint32_t tag)
{
	return (size_t)(tag >> (32 - s->bits));
}

/* The entry of hash h, or NULL with *at the empty slot where it goes. */
static struct sid_ent *sid_find(struct ix_sids *s, const uint64_t h[2],
				size_t *at)
{
	size_t mask = s->cap - 1;
	uint32_t tag = (uint32_t)(h[0] >> 32);
	for (size_t i = home(s, tag);; i = (i + 1) & mask) {
		uint64_t v = s->slot[i];
		if (v == 0) {
			*at = i;
			return NULL;
		}
		if ((uint32_t)(v >> 32) == tag &&
		    ent_is(&s->ent[(uint32_t)v - 1], h))
			return &s->ent[(uint32_t)v - 1];
	}
}

static void slot_set(struct ix_sids *s, size_t at, size_t entry)
{
	s->slot[at] = (s->ent[entry].h[0] >> 32) << 32 | (uint64_t)(entry + 1);
}

static int index_resize(struct ix_sids *s, unsigned bits)
{
	size_t cap = (size_t)1 << bits;
	uint64_t *slot = calloc(cap, sizeof(*slot));
	if (slot == NULL)
		return ST_ENOMEM;
	hint_huge(slot, cap * sizeof(*slot));
	for (size_t i = 0; i < s->cap; i++) {
		uint64_t v = s->slot[i];
		if (v == 0)
			continue;
		size_t j = (size_t)((uint32_t)(v >> 32) >> (32 - bits));
		while (slot[j] != 0)
			j = (j + 1) & (cap - 1);
		slot[j] = v;
	}
	free(s->slot);
	s->slot = slot;
	s->cap = cap;
	s->bits = bits;
	return ST_OK;
}

/* Room for n entries in the array. */
static int arr_reserve(struct ix_sids *s, size_t n)
{
	if (n <= s->capent)
		return ST_OK;
	if (n > SIDS_MAX)
		return ST_ELIMIT;
	size_t cap = s->capent ? s->capent : 4096;
	while (cap < n)
		cap *= 2;
	struct sid_ent *e = realloc(s->ent, cap * sizeof(*e));
	if (e == NULL)
		return ST_ENOMEM;
	hint_huge(e, cap * sizeof(*e));
	s->ent = e;
	s->capent = cap;
	return ST_OK;
}

static int no_room(int rc, struct diag *d)
{
	return rc == ST_ELIMIT
		   ? diag_set(d, rc, "more than %zu rules", SIDS_MAX)
		   : diag_set(d, rc, "out of memory");
}

/* Indexes the entries loaded. The slots are in random order: each is
 * fetched a few entries ahead of its insertion, so that the cache misses
 * overlap instead of coming one after another. */
static int index_loaded(struct ix_sids *s)
{
	enum { AHEAD = 16 };
	size_t n = s->nent;
	unsigned bits = 12;
	while (((size_t)1 << bits) < n * 2)
		bits++;
	if (index_resize(s, bits) != ST_OK)
		return ST_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (i + AHEAD < n)
			__builtin_prefetch(&s->slot[home(
			    s, (uint32_t)(s->ent[i + AHEAD].h[0] >> 32))]);
		size_t at;
		/* a key twice (a file edited by hand): the lower sid wins */
		if (sid_find(s, s->ent[i].h, &at) == NULL)
			slot_set(s, at, i);
		else
			memset(s->ent[i].h, 0, sizeof(s->ent[i].h));
	}
	return ST_OK;
}

static int sids_load(struct ix_sids *s, struct diag *d)
{
	int64_t mx = 0;
	int rc =
	    sql_query_int(s->db, "SELECT max(sid) FROM suricata", 0, &mx, d);
	if (rc != ST_OK)
		return rc;
	/* sids are given in order and never taken back: the highest
	 * tells how many rules there are, short of a file edited by hand */
	if (mx >= SID_FIRST) {
		size_t want = (size_t)(mx - SID_FIRST + 1);
		if (arr_reserve(s, want < SIDS_PRESIZE_MAX
				       ? want
				       : SIDS_PRESIZE_MAX) != ST_OK)
			return diag_set(d, ST_ENOMEM, "out of memory");
	}
	sqlite3_stmt *all = NULL;
	if (sqlite3_prepare_v2(s->db,
			       "SELECT sid, id, key, version, rev FROM suricata"
			       " ORDER BY sid",
			       -1, &all, NULL) != SQLITE_OK)
		return sql_diag(s->db, d, s->path);
	int src;
	uint32_t top = 0;
	while ((src = sqlite3_step(all)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(all, 1);
		size_t idn = (size_t)sqlite3_column_bytes(all, 1);
		const char *key = (const char *)sqlite3_column_text(all, 2);
		size_t keyn = (size_t)sqlite3_column_bytes(all, 2);
		int64_t sid = sqlite3_column_int64(all, 0);
		if (id == NULL || key == NULL || sid < 0 || sid > UINT32_MAX) {
			rc = diag_set(d, ST_ESTORE, "%s: a bad row (sid %lld)",
				      s->path, (long long)sid);
			break;
		}
		/* the index is built at the end, in one go */
		if ((rc = arr_reserve(s, s->nent + 1)) != ST_OK) {
			rc = no_room(rc, d);
			break;
		}
		struct sid_ent *e = &s->ent[s->nent++];
		key_hash(s, id, idn, key, keyn, e->h);
		e->sid = (uint32_t)sid;
		e->version = sqlite3_column_int64(all, 3);
		e->rev = (uint32_t)sqlite3_column_int64(all, 4);
		if (e->sid > top)
			top = e->sid;
	}
	if (rc == ST_OK && src != SQLITE_DONE)
		rc = sql_diag(s->db, d, s->path);
	sqlite3_finalize(all);
	if (rc == ST_OK && index_loaded(s) != ST_OK)
		rc = diag_set(d, ST_ENOMEM, "out of memory");
	s->next = top >= SID_FIRST ? top + 1 : SID_FIRST;
	return rc;
}

int ix_sids_open(const char *home, struct ix_sids **out, struct diag *d)
{
	*out = NULL;
	if (sodium_init() < 0)
		return diag_set(d, ST_EIO, "libsodium: cannot initialise");
	struct ix_sids *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	randombytes_buf(s->hkey, sizeof(s->hkey));
	snprintf(s->path, sizeof(s->path), "%s/exports.db", home);
	int rc = sql_open_private(
	    s->path, "exports state", sid_migrations,
	    sizeof(sid_migrations) / sizeof(sid_migrations[0]), &s->db, d);
	if (rc != ST_OK) {
		free(s);
		return rc;
	}
	char putn_sql[64 + PUT_BATCH * 16] =
	    "INSERT INTO suricata(sid, id, key, version, rev) VALUES";
	for (size_t i = 0; i < PUT_BATCH; i++)
		strcat(putn_sql, i ? ",(?,?,?,?,1)" : "(?,?,?,?,1)");
	buf_init(&s->pend, (size_t)64 << 20);
	/* The whole export in one write transaction: two exports at once
	 * would give the same sids. */
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
		SQLITE_OK ||
	    sqlite3_prepare_v2(s->db,
			       "INSERT INTO suricata(sid, id, key, version,"
			       " rev) VALUES(?, ?, ?, ?, 1)",
			       -1, &s->put, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db, putn_sql, -1, &s->putn, NULL) !=
		SQLITE_OK ||
	    sqlite3_prepare_v2(s->db,
			       "UPDATE suricata SET version = ?2, rev = ?3"
			       " WHERE sid = ?1",
			       -1, &s->upd, NULL) != SQLITE_OK) {
		rc = sql_diag(s->db, d, s->path);
		ix_sids_close(s);
		return rc;
	}
	s->in_tx = true;
	if ((rc = sids_load(s, d)) != ST_OK) {
		ix_sids_close(s);
		return rc;
	}
	*out = s;
	return ST_OK;
}

void ix_sids_close(struct ix_sids *s)
{
	if (s == NULL)
		return;
	sqlite3_finalize(s->put);
	sqlite3_finalize(s->putn);
	sqlite3_finalize(s->upd);
	buf_free(&s->pend);
	if (s->in_tx)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(s->db);
	free(s->ent);
	free(s->slot);
	free(s);
}

/* Inserts the pending rows: PUT_BATCH of them in one statement, fewer
 * one by one. */
static int put_pending(struct ix_sids *s, struct diag *d)
{
	bool all = s->npend == PUT_BATCH;
	for (size_t i = 0; i < s->npend; i++) {
		const struct pend_row *r = &s->prow[i];
		sqlite3_stmt *st = all ? s->putn : s->put;
		int p = all ? (int)i * 4 : 0;
		const char *id = s->pend.data + r->off;
		if (!all || i == 0)
			sqlite3_reset(st);
		sqlite3_bind_int64(st, p + 1, r->sid);
		sqlite3_bind_text(st, p + 2, id, (int)r->idn, SQLITE_STATIC);
		sqlite3_bind_text(st, p + 3, id + r->idn, (int)r->keyn,
				  SQLITE_STATIC);
		sqlite3_bind_int64(st, p + 4, r->version);
		if ((!all || i + 1 == s->npend) &&
		    sqlite3_step(st) != SQLITE_DONE)
			return sql_diag(s->db, d, s->path);
	}
	s->npend = 0;
	buf_reset(&s->pend);
	return ST_OK;
}

static int sids_get(struct ix_sids *s, const char *id, size_t idn,
		    const char *key, size_t keyn, st_time version,
		    uint32_t *sid, uint32_t *rev, struct diag *d)
{
	uint64_t h[2];
	int rc;
	key_hash(s, id, idn, key, keyn, h);
	struct sid_ent *e = NULL;
	size_t at = 0;
	if (s->cursor < s->nent && ent_is(&s->ent[s->cursor], h))
		e = &s->ent[s->cursor];
	else if ((s->nent + 1) * 2 <= s->cap)
		e = sid_find(s, h, &at);
	else if (index_resize(s, s->bits ? s->bits + 1 : 12) != ST_OK)
		return diag_set(d, ST_ENOMEM, "out of memory");
	else
		e = sid_find(s, h, &at);
	if (e == NULL) {
		/* a rule never seen: the next sid */
		if (s->next == UINT32_MAX)
			return diag_set(d, ST_ELIMIT, "no sid left");
		if ((rc = arr_reserve(s, s->nent + 1)) != ST_OK)
			return no_room(rc, d);
		e = &s->ent[s->nent++];
		memcpy(e->h, h, sizeof(e->h));
		e->sid = s->next++;
		e->rev = 1;
		e->version = version;
		slot_set(s, at, s->nent - 1);
		s->cursor = s->nent;
		struct pend_row *r = &s->prow[s->npend];
		r->sid = e->sid;
		r->version = version;
		r->off = s->pend.len;
		r->idn = idn;
		r->keyn = keyn;
		if (buf_add(&s->pend, id, idn) != ST_OK ||
		    buf_add(&s->pend, key, keyn) != ST_OK)
			return diag_set(d, ST_ENOMEM, "out of memory");
		if (++s->npend == PUT_BATCH &&
		    (rc = put_pending(s, d)) != ST_OK)
			return rc;
		*sid = e->sid;
		*rev = e->rev;
		return ST_OK;
	}
	s->cursor = (size_t)(e - s->ent) + 1;
	if (e->version != version && (rc = put_pending(s, d)) != ST_OK)
		return rc;
	if (e->version != version) {
		/* a new version of the indicator: the rule's next rev */
		e->rev++;
		e->version = version;
		sqlite3_stmt *st = s->upd;
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, e->sid);
		sqlite3_bind_int64(st, 2, version);
		sqlite3_bind_int64(st, 3, e->rev);
		if (sqlite3_step(st) != SQLITE_DONE)
			return sql_diag(s->db, d, s->path);
	}
	*sid = e->sid;
	*rev = e->rev;
	return ST_OK;
}

int ix_sids_get(struct ix_sids *s, const char *id, const char *key,
		st_time version, uint32_t *sid, uint32_t *rev, struct diag *d)
{
	return sids_get(s, id, strlen(id), key, strlen(key), version, sid, rev,
			d);
}

int ix_sids_commit(struct ix_sids *s, struct diag *d)
{
	if (!s->in_tx)
		return ST_OK;
	int rc = put_pending(s, d);
	if (rc != ST_OK)
		return rc;
	s->in_tx = false;
	if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		rc = sql_diag(s->db, d, s->path);
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	}
	return rc;
}

/* ------------------------------------------------------------------ */
/* Suricata datasets                                                    */
/* ------------------------------------------------------------------ */

enum ds_list {
	DS_DOMAINS,
	DS_CERTS,
	DS_IPV4,
	DS_IPV6,
	DS_MD5,
	DS_SHA1,
	DS_SHA256,
	DS_N
};

const char *const IX_DS_FILES[IX_DS_NFILES] = {
    "domains.lst", "tls-certs.lst", "ipv4.lst",	  "ipv6.lst",
    "md5.lst",	   "sha1.lst",	    "sha256.lst", "datasets.rules",
};
_Static_assert(DS_N + 1 == IX_DS_NFILES, "one file per list, then rules");

/* The rules over the lists, written in this order. A dataset rule gets
 * ",memcap M,hashsize H" for its list's size; a file hash rule names its
 * list (filemd5 and the others read one hex hash a line too, from the
 * rule file's directory when not found in the default rule path). */
static const struct ds_rule {
	enum ds_list list;
	const char *key; /* for its sid */
	const char *text;
	bool dataset;
} DS_RULES[] = {
    {DS_DOMAINS, "dns.query",
     "alert dns any any -> any any (msg:\"strait: DNS query for a listed "
     "name\"; dns.query; to_lowercase; dataset:isset,strait-domains,type "
     "string,load domains.lst",
     true},
    {DS_CERTS, "tls.cert_fingerprint",
     "alert tls any any -> any any (msg:\"strait: TLS certificate with a "
     "listed SHA-1\"; tls.cert_fingerprint; dataset:isset,strait-tls-certs,"
     "type string,load tls-certs.lst",
     true},
    {DS_IPV4, "ip.src:ipv4",
     "alert ip any any -> any any (msg:\"strait: listed IPv4 address as "
     "source\"; ip.src; dataset:isset,strait-ipv4,type ipv4,load ipv4.lst",
     true},
    {DS_IPV4, "ip.dst:ipv4",
     "alert ip any any -> any any (msg:\"strait: listed IPv4 address as "
     "destination\"; ip.dst; dataset:isset,strait-ipv4,type ipv4,load "
     "ipv4.lst",
     true},
    {DS_IPV6, "ip.src:ipv6",
     "alert ip any any -> any any (msg:\"strait: listed IPv6 address as "
     "source\"; ip.src; dataset:isset,strait-ipv6,type ip,load ipv6.lst",
     true},
    {DS_IPV6, "ip.dst:ipv6",
     "alert ip any any -> any any (msg:\"strait: listed IPv6 address as "
     "destination\"; ip.dst; dataset:isset,strait-ipv6,type ip,load "
     "ipv6.lst",
     true},
    {DS_MD5, "filemd5",
     "alert tcp any any -> any any (msg:\"strait: file with a listed "
     "MD5\"; filemd5:md5.lst",
     false},
    {DS_SHA1, "filesha1",
     "alert tcp any any -> any any (msg:\"strait: file with a listed "
     "SHA-1\"; filesha1:sha1.lst",
     false},
    {DS_SHA256, "filesha256",
     "alert tcp any any -> any any (msg:\"strait: file with a listed "
     "SHA-256\"; filesha256:sha256.lst",
     false},
};

/* The sids of the dataset rules are kept under this "indicator". */
#define DS_SID_ID "suricata-dataset"

static int ds_list_of(const struct ix_atom *a)
{
	switch (a->kind) {
	case IX_DOMAIN:
		return DS_DOMAINS;
	case IX_CERT_SHA1:
		return DS_CERTS;
	case IX_IP:
		return a->ip.v6 ? DS_IPV6 : DS_IPV4;
	case IX_MD5:
		return DS_MD5;
	case IX_SHA1:
		return DS_SHA1;
	case IX_SHA256:
		return DS_SHA256;
	default:
		return -1;
	}
}

size_t ix_dataset_line(const struct ix_atom *a, char *out, size_t cap)
{
	char fp[59];
	const char *bin = a->value;
	size_t n = a->len;
	switch (a->kind) {
	case IX_DOMAIN:
		break;
	case IX_CERT_SHA1: /* as tls.cert_fingerprint holds it */
		if (a->len != 40)
			return 0;
		for (size_t i = 0; i < 20; i++) {
			fp[3 * i] = a->value[2 * i];
			fp[3 * i + 1] = a->value[2 * i + 1];
			if (i < 19)
				fp[3 * i + 2] = ':';
		}
		bin = fp;
		n = sizeof(fp);
		break;
	case IX_IP:
	case IX_MD5:
	case IX_SHA1:
	case IX_SHA256:
		if (a->len >= cap)
			return 0;
		memcpy(out, a->value, a->len + 1);
		return a->len;
	default:
		return 0;
	}
	if (sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL) > cap)
		return 0;
	sodium_bin2base64(out, cap, (const unsigned char *)bin, n,
			  sodium_base64_VARIANT_ORIGINAL);
	return strlen(out);
}

/* ------------------------------------------------------------------ */
/* Writers                                                              */
/* ------------------------------------------------------------------ */

/* Lines are built in memory and written this many bytes at a time. */
#define FLUSH_AT ((size_t)64 << 10)
/* One line's bound: a rule holds the indicator's name. */
#define LINE_MAX_BYTES ((size_t)64 << 20)

struct kept {
	char **v;
	size_t n, cap;
};

struct ix_writer {
	enum ix_export_fmt f;
	FILE *out;
	struct buf line; /* lines not written yet */
	bool too_long;	 /* a line went past LINE_MAX_BYTES */
	struct ix_sids *sids;
	char generator[128];
	struct kept kept[DS_N]; /* blocklist and RPZ: kept[0] */
	uint64_t written;
};

int ix_writer_new(enum ix_export_fmt f, FILE *out, struct ix_sids *sids,
		  const char *generator, struct ix_writer **w, struct diag *d)
{
	*w = NULL;
	if ((f == IX_FMT_SURICATA || f == IX_FMT_SURICATA_DATASET) &&
	    sids == NULL)
		return diag_set(d, ST_EINVAL, "%s needs its sids",
				ix_export_fmt_name(f));
	if ((f == IX_FMT_SURICATA_DATASET) != (out == NULL))
		return diag_set(d, ST_EINVAL,
				"%s: a directory of files, or one stream",
				ix_export_fmt_name(f));
	*w = calloc(1, sizeof(**w));
	if (*w == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	(*w)->f = f;
	(*w)->out = out;
	buf_init(&(*w)->line, LINE_MAX_BYTES);
	(*w)->sids = sids;
	snprintf((*w)->generator, sizeof((*w)->generator), "%s", generator);
	if (f == IX_FMT_ZEEK)
		fputs("#fields\tindicator\tindicator_type\tmeta.source\t"
		      "meta.desc\n",
		      out);
	else if (f == IX_FMT_CSV)
		fputs("value,type,comment,tlp,first_seen,last_seen\n", out);
	return ST_OK;
}

static void put(struct ix_writer *w, const char *s, size_t n)
{
	if (buf_add(&w->line, s, n) != ST_OK)
		w->too_long = true;
}

static void puts_(struct ix_writer *w, const char *s)
{
	put(w, s, strlen(s));
}

#define PUTL(w, lit) put(w, lit, sizeof(lit) - 1)

static void putc_(struct ix_writer *w, char c)
{
	if (buf_addc(&w->line, c) != ST_OK)
		w->too_long = true;
}

static void put_u(struct ix_writer *w, uint64_t v)
{
	char t[24];
	size_t i = sizeof(t);
	do
		t[--i] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	put(w, t + i, sizeof(t) - i);
}

/* Room for n more bytes at the end of the line; NULL past the bound. */
static char *room(struct ix_writer *w, size_t n)
{
	if (buf_reserve(&w->line, n) != ST_OK) {
		w->too_long = true;
		return NULL;
	}
	return w->line.data + w->line.len;
}

static void took(struct ix_writer *w, const char *end)
{
	w->line.len = (size_t)(end - w->line.data);
	w->line.data[w->line.len] = '\0';
}

/* Text for a Zeek field: tabs and line breaks become spaces, empty "-". */
static void zeek_field(struct ix_writer *w, const char *s)
{
	if (s == NULL || *s == '\0') {
		putc_(w, '-');
		return;
	}
	size_t start = w->line.len;
	puts_(w, s);
	if (w->too_long)
		return;
	for (size_t i = start; i < w->line.len; i++)
		if (w->line.data[i] == '\t' || w->line.data[i] == '\n' ||
		    w->line.data[i] == '\r')
			w->line.data[i] = ' ';
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
static void sur_content(struct ix_writer *w, const char *s, size_t n, bool fold)
{
	static const char hex[] = "0123456789ABCDEF";
	char *o = room(w, n * 4);
	if (o == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (fold)
			c = (unsigned char)tolower(c);
		if (c < 0x20 || c >= 0x7f || c == '"' || c == ';' ||
		    c == '\\' || c == '|' || c == ':') {
			*o++ = '|';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
			*o++ = '|';
		} else {
			*o++ = (char)c;
		}
	}
	took(w, o);
}

/* msg: text with '"', ';' and '\' escaped, line breaks as spaces. */
static void sur_msg(struct ix_writer *w, const char *s)
{
	size_t n = strlen(s);
	char *o = room(w, n * 2);
	if (o == NULL)
		return;
	for (; *s; s++) {
		if (*s == '"' || *s == ';' || *s == '\\')
			*o++ = '\\';
		*o++ = *s == '\n' || *s == '\r' || *s == '\t' ? ' ' : *s;
	}
	took(w, o);
}

static int sur_rule(struct ix_writer *w, const struct ix_indicator *ind,
		    size_t idn, const struct ix_atom *a, struct diag *d)
{
	/* the rule's key: "kind:value" */
	char key[16 + IX_VALUE_MAX];
	const char *kn = ix_kind_name(a->kind);
	size_t kl = strlen(kn);
	memcpy(key, kn, kl);
	key[kl] = ':';
	memcpy(key + kl + 1, a->value, a->len);
	uint32_t sid, rev;
	int rc = sids_get(w->sids, ind->id, idn, key, kl + 1 + a->len,
			  ind->version, &sid, &rev, d);
	if (rc != ST_OK)
		return rc;
	const char *host, *path;
	size_t hlen;
	switch (a->kind) {
	case IX_IP:
	case IX_CIDR:
		PUTL(w, "alert ip ");
		put(w, a->value, a->len);
		PUTL(w, " any <> any any (");
		break;
	case IX_DOMAIN:
		PUTL(w, "alert dns any any -> any any (");
		break;
	case IX_URL:
		PUTL(w, "alert http any any -> any any (");
		break;
	case IX_CERT_SHA1:
		PUTL(w, "alert tls any any -> any any (");
		break;
	default:
		return diag_set(d, ST_EINVAL, "%s: not for Suricata rules", kn);
	}
	PUTL(w, "msg:\"strait ");
	sur_msg(w, ind->name != NULL ? ind->name : ind->id);
	PUTL(w, "\"; ");
	switch (a->kind) {
	case IX_DOMAIN:
		PUTL(w, "dns.query; content:\"");
		sur_content(w, a->value, a->len, false);
		PUTL(w, "\"; nocase; bsize:");
		put_u(w, a->len);
		PUTL(w, "; ");
		break;
	case IX_URL: {
		plain_http(a->value, &host, &hlen, &path);
		size_t plen = strlen(path);
		PUTL(w, "http.host; content:\"");
		sur_content(w, host, hlen, true);
		PUTL(w, "\"; bsize:");
		put_u(w, hlen);
		PUTL(w, "; http.uri.raw; content:\"");
		sur_content(w, path, plen, false);
		PUTL(w, "\"; bsize:");
		put_u(w, plen);
		PUTL(w, "; ");
		break;
	}
	case IX_CERT_SHA1: {
		PUTL(w, "tls.cert_fingerprint; content:\"");
		char *o = room(w, 20 * 2 + 19 * 4);
		if (o != NULL) {
			for (size_t i = 0; i < 40; i += 2) {
				if (i) {
					memcpy(o, "|3A|", 4);
					o += 4;
				}
				*o++ = a->value[i];
				*o++ = a->value[i + 1];
			}
			took(w, o);
		}
		PUTL(w, "\"; bsize:59; ");
		break;
	}
	default:
		break;
	}
	PUTL(w, "metadata: stix_id ");
	put(w, ind->id, idn);
	PUTL(w, ", tlp ");
	puts_(w, ind->tlp);
	PUTL(w, ", source ");
	puts_(w, ind->source);
	PUTL(w, "; sid:");
	put_u(w, sid);
	PUTL(w, "; rev:");
	put_u(w, rev);
	PUTL(w, ";)\n");
	return ST_OK;
}

static void csv_field(struct ix_writer *w, const char *s)
{
	if (s == NULL)
		return;
	if (strpbrk(s, ",\"\r\n") == NULL) {
		puts_(w, s);
		return;
	}
	putc_(w, '"');
	for (; *s; s++) {
		if (*s == '"')
			putc_(w, '"');
		putc_(w, *s);
	}
	putc_(w, '"');
}

static int keep(struct kept *k, const char *v, size_t n)
{
	if (k->n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 1024;
		char **g = realloc(k->v, cap * sizeof(*g));
		if (g == NULL)
			return ST_ENOMEM;
		k->v = g;
		k->cap = cap;
	}
	char *c = malloc(n + 1);
	if (c == NULL)
		return ST_ENOMEM;
	memcpy(c, v, n);
	c[n] = '\0';
	k->v[k->n++] = c;
	return ST_OK;
}

static int flush(struct ix_writer *w, struct diag *d)
{
	if (w->line.len > 0 &&
	    fwrite(w->line.data, 1, w->line.len, w->out) != w->line.len)
		return diag_set(d, ST_EIO, "write failed");
	buf_reset(&w->line);
	return ferror(w->out) ? diag_set(d, ST_EIO, "write failed") : ST_OK;
}

static int add_atom_line(struct ix_writer *w, const struct ix_indicator *ind,
			 size_t idn, const struct ix_atom *a, struct diag *d)
{
	int rc = ST_OK;
	switch (w->f) {
	case IX_FMT_ZEEK: {
		const char *host, *path;
		size_t hlen;
		if (a->kind == IX_URL &&
		    plain_http(a->value, &host, &hlen, &path))
			put(w, a->value + 7, a->len - 7); /* no scheme */
		else
			put(w, a->value, a->len);
		putc_(w, '\t');
		puts_(w, zeek_type(a->kind));
		putc_(w, '\t');
		zeek_field(w, ind->source);
		putc_(w, '\t');
		zeek_field(w, ind->name ? ind->name : ind->id);
		putc_(w, '\n');
		w->written++;
		break;
	}
	case IX_FMT_SURICATA:
		rc = sur_rule(w, ind, idn, a, d);
		w->written++;
		break;
	case IX_FMT_CSV:
		csv_field(w, a->value);
		putc_(w, ',');
		puts_(w, ix_kind_name(a->kind));
		putc_(w, ',');
		csv_field(w, ind->name ? ind->name : ind->id);
		putc_(w, ',');
		puts_(w, ind->tlp);
		putc_(w, ',');
		csv_field(w, ind->valid_from);
		putc_(w, ',');
		csv_field(w, ind->valid_until);
		putc_(w, '\n');
		w->written++;
		break;
	case IX_FMT_BLOCKLIST:
	case IX_FMT_RPZ:
		if (keep(&w->kept[0], a->value, a->len) != ST_OK)
			rc = diag_set(d, ST_ENOMEM, "out of memory");
		break;
	case IX_FMT_SURICATA_DATASET: {
		char v[IX_VALUE_MAX * 2];
		size_t n = ix_dataset_line(a, v, sizeof(v));
		int l = ds_list_of(a);
		if (n == 0 || l < 0)
			rc = diag_set(d, ST_EINVAL, "%s: not for a dataset",
				      ix_kind_name(a->kind));
		else if (keep(&w->kept[l], v, n) != ST_OK)
			rc = diag_set(d, ST_ENOMEM, "out of memory");
		break;
	}
	}
	return rc;
}

int ix_writer_add(struct ix_writer *w, const struct ix_indicator *ind,
		  struct diag *d)
{
	size_t idn = strlen(ind->id);
	for (size_t i = 0; i < ind->n; i++) {
		int rc = add_atom_line(w, ind, idn, &ind->atoms[i], d);
		if (rc != ST_OK)
			return rc;
	}
	if (w->too_long)
		return diag_set(d, ST_ELIMIT, "%s: a line of more than %zu MiB",
				ind->id, LINE_MAX_BYTES >> 20);
	return w->line.len >= FLUSH_AT ? flush(w, d) : ST_OK;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts k and drops the values seen twice. */
static void sort_unique(struct kept *k)
{
	if (k->n > 0) /* nothing kept: v may be NULL */
		qsort(k->v, k->n, sizeof(*k->v), cmp_str);
	size_t u = 0;
	for (size_t i = 0; i < k->n; i++)
		if (u == 0 || strcmp(k->v[u - 1], k->v[i]) != 0)
			k->v[u++] = k->v[i];
		else
			free(k->v[i]);
	k->n = u;
}

int ix_writer_finish(struct ix_writer *w, uint64_t *written, struct diag *d)
{
	int rc = ST_OK;
	if (w->f == IX_FMT_SURICATA_DATASET) {
		ix_writer_free(w);
		return diag_set(d, ST_EINVAL, "suricata-dataset: files needed");
	}
	if (w->f == IX_FMT_BLOCKLIST || w->f == IX_FMT_RPZ) {
		struct kept *k = &w->kept[0];
		sort_unique(k);
		if (w->f == IX_FMT_BLOCKLIST) {
			fprintf(w->out, "# %s: %zu values\n", w->generator,
				k->n);
		} else {
			fprintf(w->out,
				"; %s: %zu names\n"
				"$TTL 300\n"
				"@ IN SOA localhost. hostmaster.localhost. "
				"(%lld 3600 600 86400 300)\n"
				"@ IN NS localhost.\n",
				w->generator, k->n,
				(long long)(time_now() / 1000000));
		}
		for (size_t i = 0; i < k->n; i++) {
			puts_(w, k->v[i]);
			if (w->f == IX_FMT_BLOCKLIST)
				putc_(w, '\n');
			else
				PUTL(w, " CNAME .\n");
			w->written++;
			if (w->line.len >= FLUSH_AT &&
			    (rc = flush(w, d)) != ST_OK)
				break;
		}
	}
	if (rc == ST_OK)
		rc = flush(w, d);
	*written = w->written;
	ix_writer_free(w);
	return rc;
}

/* Sizes for a dataset of n values: Suricata's default memcap (16 MiB)
 * holds about a hundred thousand strings, and a hash of too few rows
 * makes the load slow. Powers of two, so that the rule (and its rev)
 * changes only when the list grows or shrinks a lot. */
static void ds_sizes(size_t n, uint64_t *memcap_mib, uint64_t *hashsize)
{
	uint64_t h = 1024;
	while (h < n)
		h *= 2;
	uint64_t bytes = (uint64_t)n * 512 + h * 64, m = 16;
	while (m << 20 < bytes)
		m *= 2;
	*memcap_mib = m;
	*hashsize = h;
}

static uint64_t fnv64(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

int ix_writer_finish_files(struct ix_writer *w, FILE *const files[],
			   uint64_t *written, struct diag *d)
{
	int rc = ST_OK;
	if (w->f != IX_FMT_SURICATA_DATASET) {
		ix_writer_free(w);
		return diag_set(d, ST_EINVAL, "one stream, not files");
	}
	uint64_t total = 0;
	for (size_t l = 0; l < DS_N && rc == ST_OK; l++) {
		struct kept *k = &w->kept[l];
		w->out = files[l];
		sort_unique(k);
		for (size_t i = 0; i < k->n && rc == ST_OK; i++) {
			puts_(w, k->v[i]);
			putc_(w, '\n');
			if (w->line.len >= FLUSH_AT)
				rc = flush(w, d);
		}
		if (rc == ST_OK)
			rc = flush(w, d);
		total += k->n;
	}
	w->out = files[DS_N];
	if (rc == ST_OK) {
		puts_(w, "# ");
		puts_(w, w->generator);
		PUTL(w, ": ");
		put_u(w, total);
		PUTL(w, " values in the lists beside this file; a rule whose "
			"list is empty is left as a comment\n");
	}
	for (size_t i = 0;
	     i < sizeof(DS_RULES) / sizeof(DS_RULES[0]) && rc == ST_OK; i++) {
		const struct ds_rule *r = &DS_RULES[i];
		size_t n = w->kept[r->list].n;
		if (n == 0)
			PUTL(w, "# ");
		size_t text = w->line.len;
		puts_(w, r->text);
		if (r->dataset) {
			uint64_t mc, hs;
			ds_sizes(n, &mc, &hs);
			PUTL(w, ",memcap ");
			put_u(w, mc);
			PUTL(w, "mb,hashsize ");
			put_u(w, hs);
		}
		PUTL(w, ";");
		if (w->too_long)
			break;
		/* rev moves when the rule's text does */
		uint32_t sid, rev;
		uint64_t v = fnv64(w->line.data + text, w->line.len - text);
		rc = sids_get(w->sids, DS_SID_ID, strlen(DS_SID_ID), r->key,
			      strlen(r->key), (st_time)(v >> 1), &sid, &rev, d);
		if (rc != ST_OK)
			break;
		PUTL(w, " sid:");
		put_u(w, sid);
		PUTL(w, "; rev:");
		put_u(w, rev);
		PUTL(w, ";)\n");
	}
	if (rc == ST_OK && w->too_long)
		rc = diag_set(d, ST_ELIMIT, "a line too long");
	if (rc == ST_OK)
		rc = flush(w, d);
	*written = total;
	ix_writer_free(w);
	return rc;
}

void ix_writer_free(struct ix_writer *w)
{
	if (w == NULL)
		return;
	for (size_t l = 0; l < DS_N; l++) {
		for (size_t i = 0; i < w->kept[l].n; i++)
			free(w->kept[l].v[i]);
		free(w->kept[l].v);
	}
	buf_free(&w->line);
	free(w);
}
