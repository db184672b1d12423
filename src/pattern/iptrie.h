/*
 * strait: a prefix trie over IPv4 and IPv6 CIDR blocks.
 *
 * The indicator matcher keeps every CIDR of every indicator here and asks,
 * for each observed address, which stored prefixes contain it. The trie is
 * path-compressed and binary, with one root per address family; its nodes
 * live in one array per family (no allocation per node, none per lookup),
 * and a node holding a single value keeps it inline.
 *
 * A prefix may hold many values, and the same (prefix, value) pair may be
 * stored more than once: the pairs form a multiset, so every insert is
 * undone by exactly one remove. Lookups are read-only and may run in many
 * threads at once; inserts and removes need the caller's exclusion.
 */
#ifndef STRAIT_PATTERN_IPTRIE_H
#define STRAIT_PATTERN_IPTRIE_H

#include "common/ip.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct iptrie;

/* A new empty trie, or NULL when out of memory. */
struct iptrie *iptrie_new(void);

/* iptrie_free(NULL) is a no-op. */
void iptrie_free(struct iptrie *t);

/*
 * Adds value under prefix p (bits of p past its length are ignored).
 * ST_OK, ST_ENOMEM (the trie is unchanged), or ST_EINVAL when p->len is
 * longer than its family allows.
 */
int iptrie_insert(struct iptrie *t, const struct ip_prefix *p, uint32_t value);

/* Removes one (p, value) pair; ST_ENOTFOUND if absent. Never allocates. */
int iptrie_remove(struct iptrie *t, const struct ip_prefix *p, uint32_t value);

/*
 * The callback of the walks: p is the stored prefix (valid during the call
 * only). A non-zero return stops the walk, which then returns that value.
 * The callback must not modify the trie.
 */
typedef int (*iptrie_fn)(void *ctx, const struct ip_prefix *p, uint32_t value);

/*
 * Calls fn for every stored (prefix, value) whose prefix contains a (a may
 * itself be a prefix: prefixes containing all of it), shortest prefix
 * first, the values of one prefix in the order they were added. Returns
 * fn's value if fn returned non-zero, else 0.
 */
int iptrie_walk_containing(const struct iptrie *t, const struct ip_prefix *a,
			   iptrie_fn fn, void *ctx);

/*
 * Like iptrie_walk_containing, then also calls fn for every stored pair
 * whose prefix lies inside a (longer than a, or equal and already
 * reported: no pair is reported twice). Those come in address order, a
 * prefix before the longer prefixes inside it.
 */
int iptrie_walk_overlapping(const struct iptrie *t, const struct ip_prefix *a,
			    iptrie_fn fn, void *ctx);

/* True if any stored prefix overlaps p (contains it or is contained by it). */
bool iptrie_overlaps(const struct iptrie *t, const struct ip_prefix *p);

/* The number of stored (prefix, value) pairs. */
size_t iptrie_count(const struct iptrie *t);

/* Bytes held by the trie, including spare capacity. */
size_t iptrie_memory(const struct iptrie *t);

#endif
