/*
 * strait: the partner nodes this node exchanges with, in <home>/peers.db
 * (0600). The bearer token we hold for each partner is stored sealed
 * (libsodium secretbox under <home>/keys/peers.key) and is never listed:
 * only the code that will call the partner opens it (peers_token).
 */
#ifndef STRAIT_FEDERATION_PEERS_H
#define STRAIT_FEDERATION_PEERS_H

#include "common/err.h"
#include "federation/nodekey.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PEER_NAME_MAX 33 /* 1-32 of [a-z0-9_-], and the NUL */
#define PEER_URL_MAX 1024
#define PEER_TOKEN_MAX 512 /* bytes of a token we hold */
#define PEER_PATH_MAX 1024
#define PEER_PINS_MAX 2

enum peer_trust {
	PEER_ATTESTED, /* a strait partner: its objects carry attestations */
	PEER_FEED,     /* a plain TAXII server: accepted as received from it */
};

/* What `strait peer add` records (never the token: see peers_add). */
struct peer {
	char name[PEER_NAME_MAX];
	char url[PEER_URL_MAX];
	uint8_t pk[NODEKEY_PUB_BYTES];
	char key_id[NODEKEY_ID_LEN + 1];
	enum peer_trust trust;
	char ca_file[PEER_PATH_MAX];	 /* "" : the system's CAs */
	char pins[PEER_PINS_MAX][65];	 /* SHA-256 hex, "" unused */
	char client_cert[PEER_PATH_MAX]; /* "" : none */
	char client_key[PEER_PATH_MAX];
	bool has_policy;
	int64_t created; /* unix seconds */
};

struct peers;

/* Opens (creating when missing) <home>/peers.db and the token key. */
int peers_open(const char *home, struct peers **out, struct diag *d);
void peers_close(struct peers *p);

/* Adds p with its token (sealed before it is written) and policy text
 * (YAML, NULL: none). ST_EEXIST for a name already used. */
int peers_add(struct peers *p, const struct peer *peer, const char *token,
	      const char *policy, struct diag *d);
/* ST_ENOTFOUND when there is no such peer. */
int peers_remove(struct peers *p, const char *name, struct diag *d);
int peers_get(struct peers *p, const char *name, struct peer *out,
	      struct diag *d);
/* Replaces the policy text (NULL removes it: the peer then receives
 * nothing). ST_ENOTFOUND when there is no such peer. */
int peers_set_policy(struct peers *p, const char *name, const char *policy,
		     struct diag *d);
/* The policy text into *out (malloc'd; NULL when none). */
int peers_policy(struct peers *p, const char *name, char **out, struct diag *d);
/* Opens the token held for name into out (cap bytes, NUL-terminated). */
int peers_token(struct peers *p, const char *name, char *out, size_t cap,
		struct diag *d);

typedef int (*peer_fn)(void *ctx, const struct peer *peer);
/* Every peer, by name. */
int peers_list(struct peers *p, peer_fn fn, void *ctx, struct diag *d);

/* Checks of the command line's values: ST_OK or ST_EINVAL with d. */
int peer_name_check(const char *name, struct diag *d);
/* http:// only for a loopback host; https:// anywhere; no user info. */
int peer_url_check(const char *url, struct diag *d);

#endif
