/*
 * strait: MISP warninglists.
 *
 * A warninglist names values that are well known and harmless (private
 * ranges, documentation prefixes, public resolvers, reserved domain
 * names); an indicator or a sighting that hits one is most likely a false
 * positive. Lists are read in MISP's JSON format:
 *
 *   {"name": "...", "version": 1, "description": "...",
 *    "type": "cidr" | "string" | "hostname" | "substring" | "regex",
 *    "list": ["...", ...],
 *    "matching_attributes": ["ip-src", "domain", ...]}   (optional)
 *
 * and applied as MISP applies them:
 *   cidr       the value is an address or a CIDR block inside a listed one
 *              (entries may be plain addresses); for a URL, its host;
 *   string     the value equals an entry, ignoring case unless the value
 *              is a URL or of no particular kind;
 *   hostname   the value's host (a URL's host, an e-mail address's domain)
 *              is an entry or a subdomain of one; case and a trailing dot
 *              are ignored, and entries may be written "*.name" or ".name";
 *   substring  an entry occurs in the value (ignoring case as for string);
 *   regex      a PCRE2 search finds the entry in the value. An entry may be
 *              written with PHP delimiters and flags, as MISP writes them
 *              ("/^foo\.$/i", delimiters / # ~; flags i m s x u), or bare.
 *              Every match runs under match, depth and heap limits, and
 *              one that reaches a limit counts as no hit.
 * matching_attributes limits the kinds of value a list applies to (MISP
 * attribute types map to enum wl_kind; unknown types to WL_KIND_OTHER).
 * Without it: cidr lists apply to IP and URL values, hostname lists to
 * domain, URL and e-mail values, the others to every kind.
 *
 * A set is read-only once loaded: checks may run in many threads at once.
 */
#ifndef STRAIT_PATTERN_WARNINGLIST_H
#define STRAIT_PATTERN_WARNINGLIST_H

#include "common/err.h"
#include "common/ip.h"

#include <stddef.h>

/* What a checked value is. */
enum wl_kind {
	WL_KIND_IP,	/* an IPv4 or IPv6 address or CIDR block */
	WL_KIND_DOMAIN, /* a domain or host name */
	WL_KIND_URL,
	WL_KIND_EMAIL,
	WL_KIND_HASH, /* a file hash, fuzzy hash or fingerprint */
	WL_KIND_OTHER,
};

/* Limits on what a load accepts; past one the load fails with
 * ST_ELIMIT. */
#define WL_MAX_FILE (16u << 20) /* bytes of one list file */
#define WL_MAX_ENTRIES 1000000u /* entries of one list */
#define WL_MAX_SCAN_ENTRIES \
	10000u			     /* entries of a substring or regex list,
				      which every check scans */
#define WL_MAX_ENTRY 1024u	     /* bytes of one entry */
#define WL_MAX_NAME 256u	     /* bytes of a list's name */
#define WL_MAX_LISTS 4096u	     /* lists in one set */
#define WL_MAX_SET_ENTRIES 20000000u /* entries of all lists of a set */

struct wl_set;

/* A new empty set, or NULL when out of memory. */
struct wl_set *wl_set_new(void);

/* wl_set_free(NULL) is a no-op. */
void wl_set_free(struct wl_set *s);

/*
 * Adds the list in the file at path. On failure nothing of the file is
 * added and d says which file and what is wrong: ST_EINVAL (not a valid
 * warninglist: a missing or mistyped field, a bad CIDR or regex, naming
 * the entry by index), ST_EJSON, ST_ELIMIT, ST_EIO, ST_ENOTFOUND (no such
 * file), ST_EEXIST (a list of that name is loaded already), ST_ENOMEM.
 */
int wl_set_load_file(struct wl_set *s, const char *path, struct diag *d);

/* Adds the list in json (len bytes); name stands for its source in
 * messages. Errors as wl_set_load_file. */
int wl_set_load_mem(struct wl_set *s, const char *name, const char *json,
		    size_t len, struct diag *d);

/*
 * Adds every file named *.json in dir (not hidden ones), in byte order of
 * their names. All or nothing: if one file fails, none is added, and d
 * names that file. ST_ENOTFOUND if dir does not exist; other errors as
 * wl_set_load_file.
 */
int wl_set_load_dir(struct wl_set *s, const char *dir, struct diag *d);

/*
 * The name (the list's "name" field; borrowed, lives as long as s) of the
 * first list, in load order, that value (len bytes, not NUL-terminated)
 * of the given kind hits, or NULL.
 */
const char *wl_check(const struct wl_set *s, enum wl_kind kind,
		     const char *value, size_t len);

/* For an indicator's CIDR block: the name of the first cidr list that
 * applies to IP values and holds a block overlapping p, or NULL. */
const char *wl_check_prefix(const struct wl_set *s, const struct ip_prefix *p);

/* The number of lists, and of entries in all of them. */
size_t wl_set_lists(const struct wl_set *s);
size_t wl_set_entries(const struct wl_set *s);

#endif
