/*
 * strait: a partner's sharing policy, the YAML file given to `strait peer
 * add --policy` / `strait peer policy` (docs/FEDERATION.md):
 *
 *   tlp: [clear, green, amber]   # levels the partner may receive
 *   collections: ["*"]           # collection ids or aliases; "*": all
 *   types: ["*"]                 # STIX types
 *   labels: ["*"]
 *   deny:                        # deny wins over allow
 *     collections: []
 *     types: []
 *     labels: []
 *   relay_green: false
 *   default_tlp: amber           # for unmarked objects from a feed peer
 *
 * Least privilege: what the file does not grant is not granted. A missing
 * tlp, collections, types or labels list grants nothing; AMBER+STRICT and
 * RED are granted only when named; relay_green defaults to false. Every
 * problem is an error naming the line and the key: an unknown key, a
 * value of the wrong kind, an unknown TLP level, a malformed name, a
 * list longer than PEER_POLICY_MAX_ITEMS.
 */
#ifndef STRAIT_POLICY_PEER_POLICY_H
#define STRAIT_POLICY_PEER_POLICY_H

#include "common/err.h"
#include "stix/stix.h"

#include <stdbool.h>
#include <stddef.h>

#define PEER_POLICY_MAX_ITEMS 256
#define PEER_POLICY_ITEM_MAX 128 /* bytes of one name, with its NUL */
#define PEER_POLICY_MAX_BYTES (64 * 1024)

/* A list of names; all when it holds "*". */
struct peer_list {
	char (*items)[PEER_POLICY_ITEM_MAX];
	size_t n;
	bool all;
};

struct peer_policy {
	bool tlp[TLP_RED + 1]; /* levels granted, by enum tlp */
	struct peer_list collections, types, labels;
	struct peer_list deny_collections, deny_types, deny_labels;
	bool relay_green;
	bool has_default_tlp;
	enum tlp default_tlp;
};

/* Parses len bytes of YAML into *out (free with peer_policy_free; empty
 * on failure). ST_OK, or ST_ECONFIG / ST_ELIMIT with d ("line 4: ..."). */
int peer_policy_parse(const char *text, size_t len, struct peer_policy *out,
		      struct diag *d);
/* The same for a file (at most PEER_POLICY_MAX_BYTES); d names it. */
int peer_policy_load(const char *path, struct peer_policy *out, struct diag *d);
void peer_policy_free(struct peer_policy *p);

/* Whether the list admits name (a "*" list admits everything). */
bool peer_list_has(const struct peer_list *l, const char *name);

#endif
