/*
 * strait: MISP warninglists (see warninglist.h).
 *
 * Loading is in two steps so that a failed load leaves the set as it was:
 * a file is first parsed and checked into a staged list that owns all its
 * memory (normalised entries, parsed prefixes, compiled regexes), and
 * only when every file of the load is staged are they committed to the
 * set. The commit reserves everything it needs before it changes
 * anything, and takes back its trie inserts if one fails.
 *
 * Lookups go through structures shared by all lists, so that a check
 * costs about the same with one list or a hundred: one prefix trie for
 * every cidr list (its values are list indexes), one hash table for the
 * entries of every string list and one for every hostname list (a host
 * is looked up once per label suffix). Substring and regex lists are
 * scanned in load order, only as far as the best hit found so far.
 */
#include "pattern/warninglist.h"

#include "common/json.h"
#include "pattern/iptrie.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* PCRE2 limits of every regex match: generous for the anchored name
 * patterns warninglists hold, small enough that a pathological entry
 * cannot stall a check. */
#define WL_PCRE_MATCH_LIMIT 100000u
#define WL_PCRE_DEPTH_LIMIT 1000u
#define WL_PCRE_HEAP_LIMIT 1024u /* KiB */

#define WL_MAX_ATTRS 256u /* items of matching_attributes */

enum wl_type { T_CIDR, T_STRING, T_HOSTNAME, T_SUBSTRING, T_REGEX, T__COUNT };

static const char *const type_names[T__COUNT] = {
    [T_CIDR] = "cidr",	       [T_STRING] = "string",
    [T_HOSTNAME] = "hostname", [T_SUBSTRING] = "substring",
    [T_REGEX] = "regex",
};

#define K(kind) (1u << WL_KIND_##kind)
#define K_ALL ((1u << (WL_KIND_OTHER + 1)) - 1u)
/* Kinds whose values compare without regard to case. */
#define K_FOLD (K(IP) | K(DOMAIN) | K(EMAIL) | K(HASH))

/* The kinds a list applies to without matching_attributes. */
static const uint32_t default_kinds[T__COUNT] = {
    [T_CIDR] = K(IP) | K(URL),
    [T_STRING] = K_ALL,
    [T_HOSTNAME] = K(DOMAIN) | K(URL) | K(EMAIL),
    [T_SUBSTRING] = K_ALL,
    [T_REGEX] = K_ALL,
};

/* MISP attribute types and the kinds of value they carry. Types not here
 * (and not "filename|<hash>") are WL_KIND_OTHER. */
static const struct {
	const char *type;
	uint32_t kinds;
} attr_kinds[] = {
    {"ip-src", K(IP)},
    {"ip-dst", K(IP)},
    {"ip-src|port", K(IP)},
    {"ip-dst|port", K(IP)},
    {"ip", K(IP)},
    {"domain|ip", K(IP) | K(DOMAIN)},
    {"domain", K(DOMAIN)},
    {"hostname", K(DOMAIN)},
    {"hostname|port", K(DOMAIN)},
    {"url", K(URL)},
    {"uri", K(URL)},
    {"link", K(URL)},
    {"email", K(EMAIL)},
    {"email-src", K(EMAIL)},
    {"email-dst", K(EMAIL)},
    {"email-reply-to", K(EMAIL)},
    {"target-email", K(EMAIL)},
    {"whois-registrant-email", K(EMAIL)},
    {"dns-soa-email", K(EMAIL)},
    {"md5", K(HASH)},
    {"sha1", K(HASH)},
    {"sha224", K(HASH)},
    {"sha256", K(HASH)},
    {"sha384", K(HASH)},
    {"sha512", K(HASH)},
    {"sha512/224", K(HASH)},
    {"sha512/256", K(HASH)},
    {"sha3-224", K(HASH)},
    {"sha3-256", K(HASH)},
    {"sha3-384", K(HASH)},
    {"sha3-512", K(HASH)},
    {"ssdeep", K(HASH)},
    {"imphash", K(HASH)},
    {"impfuzzy", K(HASH)},
    {"pehash", K(HASH)},
    {"authentihash", K(HASH)},
    {"tlsh", K(HASH)},
    {"telfhash", K(HASH)},
    {"vhash", K(HASH)},
    {"cdhash", K(HASH)},
    {"sdhash", K(HASH)},
    {"x509-fingerprint-md5", K(HASH)},
    {"x509-fingerprint-sha1", K(HASH)},
    {"x509-fingerprint-sha256", K(HASH)},
    {"ja3-fingerprint-md5", K(HASH)},
    {"jarm-fingerprint", K(HASH)},
    {"hassh-md5", K(HASH)},
    {"hasshserver-md5", K(HASH)},
};

/* A loaded list. Entries of string, hostname and substring lists are
 * kept back to back in pool (string entries as written, hostname entries
 * normalised), entry i at off[i] .. off[i + 1]. */
struct wl_list {
	char *name;
	enum wl_type type;
	uint32_t kinds; /* K() bits it applies to */
	uint32_t n;	/* entries */
	char *pool;
	uint32_t *off;	 /* n + 1 offsets: string, hostname, substring */
	pcre2_code **re; /* n compiled entries: regex */
};

/* One entry of a string or hostname list in a shared hash table. */
struct sent {
	uint32_t hash; /* of the case-folded text */
	uint32_t list;
	uint32_t off, len; /* in that list's pool */
};

/* Open addressing, linear probing; slot values are entry index + 1, so
 * 0 is empty. Never more than half full. Equal keys of several lists are
 * all kept. */
struct strtab {
	struct sent *e;
	uint32_t n, cap;
	uint32_t *slot;
	uint32_t mask; /* slots - 1; slot is NULL while n is 0 */
};

struct wl_set {
	struct wl_list *lists;
	uint32_t n_lists, cap_lists;
	size_t n_entries;
	struct iptrie *cidr;
	struct strtab strings, hosts;
	uint32_t *scan; /* indexes of substring and regex lists, ascending */
	uint32_t n_scan;
	uint32_t kinds[T__COUNT]; /* union of the kinds of each type's lists */
	pcre2_match_context *mctx;
};

/* A list parsed and checked but not yet part of a set. */
struct staged {
	const char *src; /* file name or caller's name, for messages */
	struct wl_list l;
	struct ip_prefix *pfx; /* cidr entries */
};

/* Every failure leaves a message, out of memory too. */
static int nomem(struct diag *d, const char *src)
{
	if (src == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	return diag_set(d, ST_ENOMEM, "%s: out of memory", src);
}

/* ------------------------------------------------------------------ */
/* Text helpers                                                         */
/* ------------------------------------------------------------------ */

static inline unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

static uint32_t hash_fold(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325u; /* FNV-1a, 64 bits, folded */

	for (size_t i = 0; i < n; i++) {
		h ^= lower((unsigned char)s[i]);
		h *= 0x100000001b3u;
	}
	return (uint32_t)(h ^ h >> 32);
}

static bool eq_fold(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
			return false;
	return true;
}

/* True if needle (m > 0 bytes) occurs in hay (n bytes). */
static bool contains(const char *hay, size_t n, const char *needle, size_t m,
		     bool fold)
{
	if (m > n)
		return false;
	unsigned char c0 = lower((unsigned char)needle[0]);
	for (size_t i = 0; i + m <= n; i++) {
		if (fold) {
			if (lower((unsigned char)hay[i]) == c0 &&
			    eq_fold(hay + i, needle, m))
				return true;
		} else if (hay[i] == needle[0] &&
			   memcmp(hay + i, needle, m) == 0) {
			return true;
		}
	}
	return false;
}

static bool is_scheme_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
}

/*
 * The host of a URL: after "scheme://" (or "//") and any "userinfo@",
 * before the port, path, query or fragment; an IPv6 literal without its
 * brackets. A value without a scheme is read as "host/path".
 */
static void url_host(const char *v, size_t len, const char **host, size_t *hlen)
{
	size_t i = 0, start = 0, end;

	while (i < len && i < 64 && is_scheme_char(v[i]))
		i++;
	if (i > 0 && len - i >= 3 && memcmp(v + i, "://", 3) == 0)
		start = i + 3;
	else if (len >= 2 && v[0] == '/' && v[1] == '/')
		start = 2;
	for (end = start; end < len; end++)
		if (v[end] == '/' || v[end] == '?' || v[end] == '#' ||
		    v[end] == '\\')
			break;
	for (size_t k = end; k > start; k--) {
		if (v[k - 1] == '@') {
			start = k;
			break;
		}
	}
	if (start < end && v[start] == '[') {
		const char *close = memchr(v + start, ']', end - start);
		*host = v + start + 1;
		*hlen =
		    close ? (size_t)(close - v) - start - 1 : end - start - 1;
		return;
	}
	const char *colon = memchr(v + start, ':', end - start);
	*host = v + start;
	*hlen = colon ? (size_t)(colon - v) - start : end - start;
}

/* The part of a value of this kind that host-based lists look at. */
static void host_of(enum wl_kind kind, const char *v, size_t len,
		    const char **host, size_t *hlen)
{
	*host = v;
	*hlen = len;
	if (kind == WL_KIND_URL) {
		url_host(v, len, host, hlen);
	} else if (kind == WL_KIND_EMAIL) {
		for (size_t k = len; k > 0; k--) {
			if (v[k - 1] == '@') {
				*host = v + k;
				*hlen = len - k;
				break;
			}
		}
	}
}

/* ------------------------------------------------------------------ */
/* Hash tables of string and hostname entries                           */
/* ------------------------------------------------------------------ */

static void strtab_free(struct strtab *t)
{
	free(t->e);
	free(t->slot);
}

static void strtab_place(struct strtab *t, uint32_t idx)
{
	uint32_t i = t->e[idx].hash & t->mask;

	while (t->slot[i] != 0)
		i = (i + 1) & t->mask;
	t->slot[i] = idx + 1;
}

/* Makes room for more entries, so that strtab_add cannot fail. */
static int strtab_reserve(struct strtab *t, uint32_t more)
{
	if (more == 0)
		return ST_OK;
	if (more > WL_MAX_SET_ENTRIES || t->n > WL_MAX_SET_ENTRIES - more)
		return ST_ELIMIT;
	uint32_t need = t->n + more;
	if (need > t->cap) {
		uint32_t cap = t->cap + t->cap / 2;
		if (cap < need)
			cap = need;
		struct sent *e = realloc(t->e, (size_t)cap * sizeof(*e));
		if (e == NULL)
			return ST_ENOMEM;
		t->e = e;
		t->cap = cap;
	}
	size_t slots = t->slot != NULL ? (size_t)t->mask + 1 : 0;
	if (slots >= 2 * (size_t)need)
		return ST_OK;
	size_t want = 16;
	while (want < 2 * (size_t)need)
		want *= 2;
	uint32_t *slot = calloc(want, sizeof(*slot));
	if (slot == NULL)
		return ST_ENOMEM;
	free(t->slot);
	t->slot = slot;
	t->mask = (uint32_t)(want - 1);
	for (uint32_t k = 0; k < t->n; k++)
		strtab_place(t, k);
	return ST_OK;
}

static void strtab_add(struct strtab *t, const struct wl_list *l, uint32_t list,
		       uint32_t k)
{
	uint32_t off = l->off[k], len = l->off[k + 1] - off;

	t->e[t->n] =
	    (struct sent){hash_fold(l->pool + off, len), list, off, len};
	strtab_place(t, t->n++);
}

/*
 * The lowest list index below best of an entry equal to v (n bytes) in a
 * list applying to the kinds in kbit, or best.
 */
static uint32_t strtab_best(const struct wl_set *s, const struct strtab *t,
			    const char *v, size_t n, uint32_t kbit, bool fold,
			    uint32_t best)
{
	if (t->n == 0 || n > WL_MAX_ENTRY)
		return best;
	uint32_t h = hash_fold(v, n);
	for (uint32_t i = h & t->mask; t->slot[i] != 0; i = (i + 1) & t->mask) {
		const struct sent *e = &t->e[t->slot[i] - 1];
		if (e->hash != h || e->len != n || e->list >= best)
			continue;
		const struct wl_list *l = &s->lists[e->list];
		const char *text = l->pool + e->off;
		if ((l->kinds & kbit) == 0)
			continue;
		if (fold ? eq_fold(text, v, n) : memcmp(text, v, n) == 0)
			best = e->list;
	}
	return best;
}

/* ------------------------------------------------------------------ */
/* Lists                                                                */
/* ------------------------------------------------------------------ */

static void list_clear(struct wl_list *l)
{
	if (l->re != NULL)
		for (uint32_t k = 0; k < l->n; k++)
			pcre2_code_free(l->re[k]);
	free(l->re);
	free(l->name);
	free(l->pool);
	free(l->off);
	memset(l, 0, sizeof(*l));
}

static void staged_clear(struct staged *st)
{
	list_clear(&st->l);
	free(st->pfx);
	st->pfx = NULL;
}

/* Kinds of value a MISP attribute type carries. */
static uint32_t attr_kind(const char *type, size_t len)
{
	for (size_t i = 0; i < sizeof(attr_kinds) / sizeof(attr_kinds[0]); i++)
		if (strlen(attr_kinds[i].type) == len &&
		    memcmp(attr_kinds[i].type, type, len) == 0)
			return attr_kinds[i].kinds;
	if (len > 9 && memcmp(type, "filename|", 9) == 0)
		return K(HASH);
	return K(OTHER);
}

/*
 * A hostname entry as stored: lower case, without a leading "*." or "."
 * and a trailing ".". Writes into out (len bytes at most); returns the
 * length, 0 if nothing is left or a byte is a space or control.
 */
static size_t host_norm(const char *e, size_t len, char *out)
{
	if (len >= 2 && e[0] == '*' && e[1] == '.') {
		e += 2;
		len -= 2;
	} else if (len >= 1 && e[0] == '.') {
		e++;
		len--;
	}
	if (len > 0 && e[len - 1] == '.')
		len--;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)e[i];
		if (c <= 0x20 || c == 0x7f)
			return 0;
		out[i] = (char)lower(c);
	}
	return len;
}

/*
 * Compiles a regex entry: "/body/flags" (delimiter / # or ~, flags from
 * "imsxu") as PHP writes it, or else the whole entry as the pattern.
 */
static int regex_compile(const char *e, size_t len, pcre2_code **out, char *err,
			 size_t errlen)
{
	const char *pat = e;
	size_t plen = len;
	uint32_t opts = 0;

	if (len >= 2 && (e[0] == '/' || e[0] == '#' || e[0] == '~')) {
		size_t j = len - 1;
		while (j > 0 && e[j] != e[0])
			j--;
		static const char flags[] = "imsxu";
		static const uint32_t bits[] = {PCRE2_CASELESS, PCRE2_MULTILINE,
						PCRE2_DOTALL, PCRE2_EXTENDED,
						PCRE2_UTF};
		uint32_t o = 0;
		size_t k = j + 1;
		for (; j > 0 && k < len; k++) {
			const char *f = strchr(flags, e[k]);
			if (e[k] == '\0' || f == NULL)
				break;
			o |= bits[f - flags];
		}
		if (j > 0 && k == len) {
			pat = e + 1;
			plen = j - 1;
			opts = o;
		}
	}
	int code;
	PCRE2_SIZE at;
	*out = pcre2_compile((PCRE2_SPTR)pat, plen, opts, &code, &at, NULL);
	if (*out != NULL)
		return ST_OK;
	if (code == PCRE2_ERROR_NOMEMORY)
		return ST_ENOMEM;
	PCRE2_UCHAR msg[128];
	if (pcre2_get_error_message(code, msg, sizeof(msg)) < 0)
		strcpy((char *)msg, "invalid pattern");
	snprintf(err, errlen, "%s at %zu", (const char *)msg, (size_t)at);
	return ST_EINVAL;
}

/* Appends text to the list's pool as entry k (off[k] is set). */
static void pool_put(struct wl_list *l, uint32_t k, const char *text,
		     size_t len)
{
	memcpy(l->pool + l->off[k], text, len);
	l->off[k + 1] = l->off[k] + (uint32_t)len;
}

/* Reads the entries of "list" into st->l (type and name already set). */
static int stage_entries(struct staged *st, const struct json_val *list,
			 struct diag *d)
{
	struct wl_list *l = &st->l;
	bool scanned = l->type == T_SUBSTRING || l->type == T_REGEX;
	uint32_t n = list->len,
		 max = scanned ? WL_MAX_SCAN_ENTRIES : WL_MAX_ENTRIES;
	size_t text = 0;

	if (n > max)
		return diag_set(d, ST_ELIMIT,
				"%s lists hold at most %u entries",
				type_names[l->type], max);
	for (uint32_t k = 0; k < n; k++) {
		const struct json_val *v = &list->u.items[k];
		if (v->type != JSON_STRING)
			return diag_set(d, ST_EINVAL,
					"list[%u]: expected a string, found %s",
					k, json_type_name(v->type));
		if (v->len == 0)
			return diag_set(d, ST_EINVAL, "list[%u]: empty entry",
					k);
		if (v->len > WL_MAX_ENTRY)
			return diag_set(d, ST_ELIMIT,
					"list[%u]: longer than %u bytes", k,
					WL_MAX_ENTRY);
		if (memchr(v->u.str, '\0', v->len) != NULL)
			return diag_set(d, ST_EINVAL,
					"list[%u]: contains a NUL character",
					k);
		text += v->len;
	}
	l->n = n;
	if (l->type == T_CIDR) {
		st->pfx = malloc((n ? n : 1) * sizeof(*st->pfx));
		if (st->pfx == NULL)
			return nomem(d, NULL);
	} else if (l->type == T_REGEX) {
		l->re = calloc(n ? n : 1, sizeof(*l->re));
		if (l->re == NULL)
			return nomem(d, NULL);
	} else {
		l->pool = malloc(text ? text : 1);
		l->off = malloc(((size_t)n + 1) * sizeof(*l->off));
		if (l->pool == NULL || l->off == NULL)
			return nomem(d, NULL);
		l->off[0] = 0;
	}

	char host[WL_MAX_ENTRY], err[160];
	for (uint32_t k = 0; k < n; k++) {
		const char *e = list->u.items[k].u.str;
		size_t len = list->u.items[k].len;
		int shown = len > 64 ? 64 : (int)len;
		size_t hl;
		int rc;

		switch (l->type) {
		case T_CIDR:
			if (!ip_parse(e, len, &st->pfx[k]))
				return diag_set(d, ST_EINVAL,
						"list[%u]: not an IP address "
						"or CIDR block: '%.*s'",
						k, shown, e);
			break;
		case T_HOSTNAME:
			if ((hl = host_norm(e, len, host)) == 0)
				return diag_set(d, ST_EINVAL,
						"list[%u]: not a host name: "
						"'%.*s'",
						k, shown, e);
			pool_put(l, k, host, hl);
			break;
		case T_REGEX:
			rc = regex_compile(e, len, &l->re[k], err, sizeof(err));
			if (rc == ST_ENOMEM)
				return nomem(d, NULL);
			if (rc != ST_OK)
				return diag_set(
				    d, rc, "list[%u]: bad regex '%.*s': %s", k,
				    shown, e, err);
			break;
		default:
			pool_put(l, k, e, len);
			break;
		}
	}
	return ST_OK;
}

/* Parses and checks one list document into st, which owns everything it
 * holds afterwards (also on failure: staged_clear frees it). */
static int stage_doc(struct staged *st, const char *text, size_t len,
		     unsigned flags, struct diag *d)
{
	static const struct json_limits lim = {
	    WL_MAX_FILE, /* max_bytes */
	    8,		 /* max_depth */
	    1u << 16,	 /* max_string: descriptions */
	    WL_MAX_ENTRIES,
	};
	static const char *const known[] = {
	    "name", "version", "description",
	    "type", "list",    "matching_attributes"};
	struct json_doc *doc = json_doc_new();
	const struct json_val *root, *v;
	int rc;

	if (doc == NULL)
		return nomem(d, NULL);
	rc = json_parse(doc, text, len, flags, &lim, &root, d);
	if (rc != ST_OK)
		goto out;
	if (root->type != JSON_OBJECT) {
		rc = diag_set(d, ST_EINVAL, "expected an object, found %s",
			      json_type_name(root->type));
		goto out;
	}
	for (uint32_t i = 0; i < root->len; i++) {
		const struct json_member *m = &root->u.members[i];
		const char *key = m->key;
		size_t k = 0;
		while (k < sizeof(known) / sizeof(known[0]) &&
		       (m->klen != strlen(known[k]) ||
			memcmp(key, known[k], m->klen) != 0))
			k++;
		if (k == sizeof(known) / sizeof(known[0])) {
			rc = diag_set(d, ST_EINVAL, "unknown member '%.64s'",
				      key);
			goto out;
		}
	}

	/* name */
	v = json_get(root, "name");
	if (v == NULL || v->type != JSON_STRING || v->len == 0) {
		rc =
		    diag_set(d, ST_EINVAL, "'name' must be a non-empty string");
		goto out;
	}
	if (v->len > WL_MAX_NAME || memchr(v->u.str, '\0', v->len) != NULL) {
		rc = diag_set(d, ST_EINVAL,
			      "'name' must be at most %u bytes, without NUL",
			      WL_MAX_NAME);
		goto out;
	}
	if ((st->l.name = strdup(v->u.str)) == NULL) {
		rc = nomem(d, NULL);
		goto out;
	}

	/* version, description */
	v = json_get(root, "version");
	if (v == NULL || v->type != JSON_NUMBER || !v->u.num.is_int ||
	    v->u.num.i < 0) {
		rc = diag_set(d, ST_EINVAL,
			      "'version' must be a non-negative integer");
		goto out;
	}
	v = json_get(root, "description");
	if (v == NULL || v->type != JSON_STRING) {
		rc = diag_set(d, ST_EINVAL, "'description' must be a string");
		goto out;
	}

	/* type */
	v = json_get(root, "type");
	int t = 0;
	while (t < T__COUNT && !json_str_eq(v, type_names[t]))
		t++;
	if (v == NULL || t == T__COUNT) {
		rc = diag_set(d, ST_EINVAL,
			      "'type' must be one of cidr, string, hostname, "
			      "substring, regex");
		goto out;
	}
	st->l.type = (enum wl_type)t;

	/* matching_attributes */
	st->l.kinds = default_kinds[t];
	v = json_get(root, "matching_attributes");
	if (v != NULL) {
		if (v->type != JSON_ARRAY || v->len > WL_MAX_ATTRS) {
			rc = diag_set(d, ST_EINVAL,
				      "'matching_attributes' must be an array "
				      "of at most %u strings",
				      WL_MAX_ATTRS);
			goto out;
		}
		uint32_t kinds = 0;
		for (uint32_t i = 0; i < v->len; i++) {
			const struct json_val *a = &v->u.items[i];
			if (a->type != JSON_STRING) {
				rc = diag_set(d, ST_EINVAL,
					      "matching_attributes[%u]: "
					      "expected a string, found %s",
					      i, json_type_name(a->type));
				goto out;
			}
			kinds |= attr_kind(a->u.str, a->len);
		}
		/* An empty array is no restriction, as in MISP. */
		if (v->len > 0)
			st->l.kinds = kinds;
	}

	/* list */
	v = json_get(root, "list");
	if (v == NULL || v->type != JSON_ARRAY) {
		rc = diag_set(d, ST_EINVAL, "'list' must be an array");
		goto out;
	}
	if ((rc = stage_entries(st, v, d)) != ST_OK)
		diag_prefix(d, "warninglist '%s'", st->l.name);
out:
	json_doc_free(doc);
	return rc;
}

static int stage_mem(struct staged *st, const char *src, const char *json,
		     size_t len, unsigned flags, struct diag *d)
{
	memset(st, 0, sizeof(*st));
	st->src = src;
	int rc = stage_doc(st, json, len, flags, d);
	if (rc != ST_OK) {
		diag_prefix(d, "%s", src);
		staged_clear(st);
	}
	return rc;
}

/* Reads a whole file of at most WL_MAX_FILE bytes, with JSON_PADDING
 * readable bytes after it. */
static int read_file(const char *path, char **out, size_t *outlen,
		     struct diag *d)
{
	struct stat sb;
	char *data = NULL;
	size_t len = 0, cap;
	int fd, rc = ST_OK;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return diag_set(d, errno == ENOENT ? ST_ENOTFOUND : ST_EIO,
				"%s: %s", path, strerror(errno));
	if (fstat(fd, &sb) != 0) {
		rc = diag_set(d, ST_EIO, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		rc = diag_set(d, ST_EINVAL, "%s: not a regular file", path);
		goto out;
	}
	if (sb.st_size > (off_t)WL_MAX_FILE) {
		rc = diag_set(d, ST_ELIMIT, "%s: larger than %u bytes", path,
			      WL_MAX_FILE);
		goto out;
	}
	/* One byte more than the file's size shows whether it grew. */
	cap = (size_t)sb.st_size + 1;
	if ((data = malloc(cap + JSON_PADDING)) == NULL) {
		rc = nomem(d, path);
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, data + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = diag_set(d, ST_EIO, "%s: %s", path,
				      strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len == cap) {
			rc =
			    diag_set(d, ST_EIO, "%s: changed while read", path);
			goto out;
		}
	}
	memset(data + len, 0, JSON_PADDING);
	*out = data;
	*outlen = len;
	data = NULL;
out:
	free(data);
	close(fd);
	return rc;
}

static int stage_file(struct staged *st, const char *path, struct diag *d)
{
	char *data = NULL;
	size_t len = 0;
	int rc;

	memset(st, 0, sizeof(*st));
	if ((rc = read_file(path, &data, &len, d)) != ST_OK)
		return rc;
	rc = stage_mem(st, path, data, len, JSON_PARSE_PADDED, d);
	free(data);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Committing staged lists                                              */
/* ------------------------------------------------------------------ */

static bool name_taken(const struct wl_set *s, const struct staged *st,
		       size_t k, const char *name)
{
	for (uint32_t i = 0; i < s->n_lists; i++)
		if (strcmp(s->lists[i].name, name) == 0)
			return true;
	for (size_t i = 0; i < k; i++)
		if (strcmp(st[i].l.name, name) == 0)
			return true;
	return false;
}

/* Takes back the trie inserts of the first `upto` prefixes of st[j]. */
static void unwind_cidr(struct wl_set *s, struct staged *st, size_t j,
			uint32_t upto)
{
	for (uint32_t k = 0; k < upto; k++)
		iptrie_remove(s->cidr, &st[j].pfx[k], s->n_lists + (uint32_t)j);
}

/*
 * Adds n staged lists to s, all or none. On success their memory belongs
 * to s (st[] is left empty); on failure st[] is untouched.
 */
static int commit(struct wl_set *s, struct staged *st, size_t n, struct diag *d)
{
	size_t entries = 0;
	uint32_t strings = 0, hosts = 0, scans = 0;
	int rc;

	if (n > WL_MAX_LISTS || s->n_lists > WL_MAX_LISTS - n)
		return diag_set(d, ST_ELIMIT, "%s: more than %u lists",
				st[n ? n - 1 : 0].src, WL_MAX_LISTS);
	for (size_t j = 0; j < n; j++) {
		if (name_taken(s, st, j, st[j].l.name))
			return diag_set(d, ST_EEXIST,
					"%s: a list named '%s' is loaded "
					"already",
					st[j].src, st[j].l.name);
		entries += st[j].l.n;
		if (st[j].l.type == T_STRING)
			strings += st[j].l.n;
		else if (st[j].l.type == T_HOSTNAME)
			hosts += st[j].l.n;
		else if (st[j].l.type != T_CIDR)
			scans++;
	}
	if (entries > WL_MAX_SET_ENTRIES ||
	    s->n_entries > WL_MAX_SET_ENTRIES - entries)
		return diag_set(d, ST_ELIMIT,
				"%s: more than %u entries in all lists",
				st[n ? n - 1 : 0].src, WL_MAX_SET_ENTRIES);

	/* Reserve, changing nothing anyone can see. */
	if (s->n_lists + n > s->cap_lists) {
		uint32_t cap = s->n_lists + (uint32_t)n + 8;
		struct wl_list *l = realloc(s->lists, cap * sizeof(*l));
		if (l == NULL)
			return nomem(d, st[0].src);
		s->lists = l;
		s->cap_lists = cap;
	}
	if (scans > 0) {
		uint32_t *sc =
		    realloc(s->scan, (s->n_scan + scans) * sizeof(*sc));
		if (sc == NULL)
			return nomem(d, st[0].src);
		s->scan = sc;
	}
	if ((rc = strtab_reserve(&s->strings, strings)) != ST_OK ||
	    (rc = strtab_reserve(&s->hosts, hosts)) != ST_OK)
		return rc == ST_ENOMEM
			   ? nomem(d, st[0].src)
			   : diag_set(d, rc, "%s: too many entries", st[0].src);

	/* The trie is the one part that can fail half-way. */
	for (size_t j = 0; j < n; j++) {
		if (st[j].l.type != T_CIDR)
			continue;
		for (uint32_t k = 0; k < st[j].l.n; k++) {
			rc = iptrie_insert(s->cidr, &st[j].pfx[k],
					   s->n_lists + (uint32_t)j);
			if (rc != ST_OK) {
				rc = nomem(d, st[j].src);
				unwind_cidr(s, st, j, k);
				while (j-- > 0)
					if (st[j].l.type == T_CIDR)
						unwind_cidr(s, st, j,
							    st[j].l.n);
				return rc;
			}
		}
	}

	/* From here on nothing fails. */
	for (size_t j = 0; j < n; j++) {
		uint32_t idx = s->n_lists;
		struct wl_list *l = &s->lists[idx];
		*l = st[j].l;
		memset(&st[j].l, 0, sizeof(st[j].l));
		free(st[j].pfx);
		st[j].pfx = NULL;
		for (uint32_t k = 0; k < l->n; k++) {
			if (l->type == T_STRING)
				strtab_add(&s->strings, l, idx, k);
			else if (l->type == T_HOSTNAME)
				strtab_add(&s->hosts, l, idx, k);
		}
		if (l->type == T_SUBSTRING || l->type == T_REGEX)
			s->scan[s->n_scan++] = idx;
		s->kinds[l->type] |= l->kinds;
		s->n_entries += l->n;
		s->n_lists++;
	}
	return ST_OK;
}

/* ------------------------------------------------------------------ */
/* The set                                                              */
/* ------------------------------------------------------------------ */

struct wl_set *wl_set_new(void)
{
	struct wl_set *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->cidr = iptrie_new();
	s->mctx = pcre2_match_context_create(NULL);
	if (s->cidr == NULL || s->mctx == NULL) {
		wl_set_free(s);
		return NULL;
	}
	pcre2_set_match_limit(s->mctx, WL_PCRE_MATCH_LIMIT);
	pcre2_set_depth_limit(s->mctx, WL_PCRE_DEPTH_LIMIT);
	pcre2_set_heap_limit(s->mctx, WL_PCRE_HEAP_LIMIT);
	return s;
}

void wl_set_free(struct wl_set *s)
{
	if (s == NULL)
		return;
	for (uint32_t i = 0; i < s->n_lists; i++)
		list_clear(&s->lists[i]);
	free(s->lists);
	free(s->scan);
	strtab_free(&s->strings);
	strtab_free(&s->hosts);
	iptrie_free(s->cidr);
	pcre2_match_context_free(s->mctx);
	free(s);
}

int wl_set_load_mem(struct wl_set *s, const char *name, const char *json,
		    size_t len, struct diag *d)
{
	struct staged st;
	int rc;

	if ((rc = stage_mem(&st, name, json, len, 0, d)) != ST_OK)
		return rc;
	rc = commit(s, &st, 1, d);
	staged_clear(&st);
	return rc;
}

int wl_set_load_file(struct wl_set *s, const char *path, struct diag *d)
{
	struct staged st;
	int rc;

	if ((rc = stage_file(&st, path, d)) != ST_OK)
		return rc;
	rc = commit(s, &st, 1, d);
	staged_clear(&st);
	return rc;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int wl_set_load_dir(struct wl_set *s, const char *dir, struct diag *d)
{
	char **paths = NULL;
	struct staged *st = NULL;
	size_t n = 0, cap = 0, staged = 0;
	struct dirent *e;
	DIR *dh;
	int rc = ST_OK;

	if ((dh = opendir(dir)) == NULL)
		return diag_set(d, errno == ENOENT ? ST_ENOTFOUND : ST_EIO,
				"%s: %s", dir, strerror(errno));
	while ((e = readdir(dh)) != NULL) {
		size_t len = strlen(e->d_name);
		if (e->d_name[0] == '.' || len <= 5 ||
		    strcmp(e->d_name + len - 5, ".json") != 0)
			continue;
		if (n == WL_MAX_LISTS) {
			rc = diag_set(d, ST_ELIMIT, "%s: more than %u lists",
				      dir, WL_MAX_LISTS);
			goto out;
		}
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			char **p = realloc(paths, cap * sizeof(*p));
			if (p == NULL) {
				rc = nomem(d, dir);
				goto out;
			}
			paths = p;
		}
		size_t dl = strlen(dir);
		if ((paths[n] = malloc(dl + 1 + len + 1)) == NULL) {
			rc = nomem(d, dir);
			goto out;
		}
		memcpy(paths[n], dir, dl);
		paths[n][dl] = '/';
		memcpy(paths[n] + dl + 1, e->d_name, len + 1);
		n++;
	}
	if (n == 0)
		goto out;
	qsort(paths, n, sizeof(*paths), cmp_names);
	if ((st = calloc(n, sizeof(*st))) == NULL) {
		rc = nomem(d, dir);
		goto out;
	}
	for (; staged < n; staged++)
		if ((rc = stage_file(&st[staged], paths[staged], d)) != ST_OK)
			goto out;
	rc = commit(s, st, n, d);
out:
	for (size_t i = 0; i < staged && st != NULL; i++)
		staged_clear(&st[i]);
	free(st);
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	closedir(dh);
	return rc;
}

size_t wl_set_lists(const struct wl_set *s)
{
	return s->n_lists;
}

size_t wl_set_entries(const struct wl_set *s)
{
	return s->n_entries;
}

/* ------------------------------------------------------------------ */
/* Checks                                                               */
/* ------------------------------------------------------------------ */

struct cidr_hit {
	const struct wl_set *s;
	uint32_t kbit;
	uint32_t best;
};

static int on_cidr(void *ctx, const struct ip_prefix *p, uint32_t list)
{
	struct cidr_hit *h = ctx;

	(void)p;
	if (list < h->best && (h->s->lists[list].kinds & h->kbit) != 0)
		h->best = list;
	return h->best == 0; /* nothing can beat the first list */
}

/* A regex or substring list: true if an entry hits v. */
static bool scan_hits(const struct wl_set *s, const struct wl_list *l,
		      const char *v, size_t n, bool fold, pcre2_match_data **md)
{
	if (l->type == T_SUBSTRING) {
		for (uint32_t k = 0; k < l->n; k++)
			if (contains(v, n, l->pool + l->off[k],
				     l->off[k + 1] - l->off[k], fold))
				return true;
		return false;
	}
	if (*md == NULL && (*md = pcre2_match_data_create(1, NULL)) == NULL)
		return false;
	for (uint32_t k = 0; k < l->n; k++)
		if (pcre2_match(l->re[k], (PCRE2_SPTR)v, n, 0, 0, *md,
				s->mctx) >= 0)
			return true;
	return false;
}

const char *wl_check(const struct wl_set *s, enum wl_kind kind,
		     const char *value, size_t len)
{
	const char *host;
	size_t hlen;

	if ((unsigned)kind > WL_KIND_OTHER)
		return NULL;
	uint32_t kbit = 1u << kind, best = UINT32_MAX;
	bool fold = (K_FOLD & kbit) != 0;

	if (s->kinds[T_CIDR] & kbit) {
		struct ip_prefix p;
		host = value;
		hlen = len;
		if (kind == WL_KIND_URL)
			url_host(value, len, &host, &hlen);
		if (ip_parse(host, hlen, &p)) {
			struct cidr_hit h = {s, kbit, best};
			iptrie_walk_containing(s->cidr, &p, on_cidr, &h);
			best = h.best;
		}
	}
	if (s->kinds[T_STRING] & kbit)
		best =
		    strtab_best(s, &s->strings, value, len, kbit, fold, best);
	if (s->kinds[T_HOSTNAME] & kbit) {
		host_of(kind, value, len, &host, &hlen);
		if (hlen > 0 && host[hlen - 1] == '.')
			hlen--;
		/* The host, then each parent domain. */
		for (size_t i = 0; i < hlen;) {
			best = strtab_best(s, &s->hosts, host + i, hlen - i,
					   kbit, true, best);
			const char *dot = memchr(host + i, '.', hlen - i);
			if (dot == NULL)
				break;
			i = (size_t)(dot - host) + 1;
		}
	}
	if ((s->kinds[T_SUBSTRING] | s->kinds[T_REGEX]) & kbit) {
		pcre2_match_data *md = NULL;
		for (uint32_t i = 0; i < s->n_scan && s->scan[i] < best; i++) {
			const struct wl_list *l = &s->lists[s->scan[i]];
			if ((l->kinds & kbit) != 0 &&
			    scan_hits(s, l, value, len, fold, &md))
				best = s->scan[i];
		}
		pcre2_match_data_free(md);
	}
	return best == UINT32_MAX ? NULL : s->lists[best].name;
}

const char *wl_check_prefix(const struct wl_set *s, const struct ip_prefix *p)
{
	struct cidr_hit h = {s, K(IP), UINT32_MAX};

	if ((s->kinds[T_CIDR] & K(IP)) == 0)
		return NULL;
	iptrie_walk_overlapping(s->cidr, p, on_cidr, &h);
	return h.best == UINT32_MAX ? NULL : s->lists[h.best].name;
}
