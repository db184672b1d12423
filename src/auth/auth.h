/* strait: accounts, bearer tokens, passwords, collection grants, throttling. */
#ifndef STRAIT_AUTH_AUTH_H
#define STRAIT_AUTH_AUTH_H

#include "common/err.h"
#include "policy/policy.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Accounts live in their own SQLite database, <home>/auth.db (mode 0600,
 * WAL, synchronous=FULL), shared by the CLI and a running `strait serve`.
 * Each struct auth keeps an in-memory snapshot of every account, token hash
 * and grant; lookups read only the snapshot (under a read lock), so the
 * request path does not touch SQLite. Changes made by another process (the
 * CLI disabling a user, rotating a token, changing a grant) are noticed
 * through `PRAGMA data_version`, checked at most once per refresh interval
 * (default 500 ms) by whichever lookup comes first, or at once by
 * auth_refresh(). A struct auth is safe to share between threads.
 *
 * Secrets: a token is shown once, when made, and stored only as a keyed
 * BLAKE2b-256 hash (the key is 32 random bytes made with the database and
 * kept in its meta table, so equal tokens in two databases hash
 * differently). A password is stored only as an Argon2id string
 * (crypto_pwhash_str). Nothing in this module logs, prints or returns a
 * token, a password or a hash; copies are wiped with sodium_memzero.
 *
 * Errors: ST_OK, or ST_EINVAL (malformed argument: bad name, role, org,
 * fingerprint, password too short), ST_ENOTFOUND (no such account; for the
 * credential checks also "disabled", "wrong password", "wrong or missing
 * client certificate": a caller is never told which), ST_EEXIST (name
 * taken), ST_ESTORE / ST_EIO (the database), ST_ENOMEM. The struct diag,
 * when given, gets the human message (never containing a secret).
 */

/* "strait_" + base64url (no padding) of 32 random bytes = 50 chars + NUL. */
#define AUTH_TOKEN_PREFIX "strait_"
#define AUTH_TOKEN_LEN 50
#define AUTH_TOKEN_MAX 64
#define AUTH_NAME_MAX 64     /* [a-z0-9._-]{1,64} */
#define AUTH_ORG_MAX 127     /* 1..127 printable bytes */
#define AUTH_FP_HEX 64	     /* SHA-256 client-certificate fingerprint */
#define AUTH_PASSWORD_MIN 12 /* bytes */
#define AUTH_PASSWORD_MAX 1024
#define AUTH_COLLECTION_ID_MAX 64 /* TAXII collection ids are 36-byte UUIDs */

/* How long a verified HTTP Basic password is remembered. */
#define AUTH_BASIC_CACHE_SECONDS 60

/*
 * Access to a collection, a bit set. The CLI's "write" grant is
 * AUTH_ACCESS_RW: in TAXII a writer that cannot read back what it wrote is
 * of no use, and a write-only grant would still reveal nothing new.
 */
enum auth_access {
	AUTH_ACCESS_NONE = 0,
	AUTH_ACCESS_READ = 1,
	AUTH_ACCESS_WRITE = 2,
	AUTH_ACCESS_RW = 3,
};

/* "none", "read", "write" (= read+write), "write-only"; never NULL. */
const char *auth_access_name(enum auth_access x);
/* "none" | "read" | "write" (-> AUTH_ACCESS_RW). ST_OK or ST_EINVAL. */
int auth_access_parse(const char *s, enum auth_access *out);

/* How a request proved who it is (filled by the credential checks). */
enum auth_method {
	AUTH_METHOD_NONE = 0,
	AUTH_METHOD_TOKEN,
	AUTH_METHOD_BASIC,
};

/* An account, copied out of the snapshot: the caller owns the copy. */
struct auth_account {
	int64_t id; /* > 0, never reused */
	char name[AUTH_NAME_MAX + 1];
	enum role role;
	char org[AUTH_ORG_MAX + 1];
	bool disabled;
	bool has_password;
	char cert_fp[AUTH_FP_HEX + 1]; /* lowercase hex, "" when unbound */
	int64_t created;	       /* st_time, microseconds since epoch */
	uint32_t n_tokens;	       /* live tokens */
	uint32_t n_grants;
	/* Filled by auth_lookup_token / auth_check_basic, 0 otherwise: */
	enum auth_method method;
	int64_t credential; /* token row id, or the password's serial */
};

struct auth;

/*
 * Opens <path> (normally <home>/auth.db). With create, a missing file is
 * made with mode 0600 and the schema; without it a missing file is
 * ST_ENOTFOUND ("no accounts yet"). Migrations are applied in order either
 * way. Loads the first snapshot. Returns NULL on failure with *err set
 * (err may be NULL) and d filled. Free with auth_close().
 */
struct auth *auth_open(const char *path, bool create, int *err, struct diag *d);
/* Closes the database and wipes every cached secret. NULL is a no-op. */
void auth_close(struct auth *a);

/*
 * Re-reads the database now if another connection changed it since the
 * last snapshot (PRAGMA data_version); a no-op otherwise. ST_OK or
 * ST_ESTORE (the old snapshot stays in use).
 */
int auth_refresh(struct auth *a, struct diag *d);
/*
 * The snapshot's generation: it increases by one each time the snapshot is
 * reloaded (any account, token or grant changed). Long-lived requests
 * (streams) compare it with the value they started with and, when it
 * moved, call auth_still_valid() and re-ask auth_access(). Triggers the
 * same interval-limited data_version check as a lookup.
 */
uint64_t auth_generation(struct auth *a);
/* How often lookups check data_version; 0 = on every lookup (tests). */
void auth_set_refresh_interval(struct auth *a, unsigned ms);

/* --- accounts (the CLI's writes; each is one durable transaction) --- */

/* Whether name is a valid account name ([a-z0-9._-]{1,64}). */
bool auth_name_valid(const char *name);

/*
 * Adds an enabled account with a first token, which is written to
 * token_out (shown once: the caller prints it and then wipes it with
 * sodium_memzero). password may be NULL (no HTTP Basic); otherwise it must
 * be AUTH_PASSWORD_MIN..AUTH_PASSWORD_MAX bytes; this function does not
 * keep or wipe the caller's copy. *id_out (may be NULL) gets the new id.
 * ST_EEXIST when the name is taken.
 */
int auth_user_add(struct auth *a, const char *name, enum role role,
		  const char *org, const char *password,
		  char token_out[AUTH_TOKEN_MAX], int64_t *id_out,
		  struct diag *d);
/* Enables or disables; a disabled account's credentials stop working at
 * the next refresh of every process. ST_ENOTFOUND for an unknown name. */
int auth_user_set_disabled(struct auth *a, const char *name, bool disabled,
			   struct diag *d);
/* Removes the account, its tokens and its grants. ST_ENOTFOUND. */
int auth_user_remove(struct auth *a, const char *name, struct diag *d);
/* Revokes every token of the account and issues a new one into token_out
 * (shown once, as for auth_user_add). ST_ENOTFOUND. */
int auth_user_rotate_token(struct auth *a, const char *name,
			   char token_out[AUTH_TOKEN_MAX], struct diag *d);
/* Sets (password != NULL) or clears the password; either way cached Basic
 * successes for the account stop working. ST_ENOTFOUND, ST_EINVAL. */
int auth_user_set_password(struct auth *a, const char *name,
			   const char *password, struct diag *d);
/*
 * Binds the account to a client certificate (SHA-256 fingerprint, 64 hex
 * digits, ':' separators and upper case accepted and normalised) or clears
 * the binding (fp == NULL). A bound account authenticates only when the
 * request presents that certificate. ST_ENOTFOUND, ST_EINVAL.
 */
int auth_user_bind_cert(struct auth *a, const char *name, const char *fp,
			struct diag *d);

/* Copies the account named name / numbered id from the snapshot (disabled
 * ones too). ST_ENOTFOUND. */
int auth_user_get(struct auth *a, const char *name, struct auth_account *out);
int auth_user_get_id(struct auth *a, int64_t id, struct auth_account *out);

typedef int (*auth_account_fn)(void *ctx, const struct auth_account *acct);
/* Calls fn for each account by id, from the snapshot, after a refresh;
 * stops early and returns fn's value when it is not ST_OK. */
int auth_user_list(struct auth *a, auth_account_fn fn, void *ctx);

/* --- collection grants --- */

/*
 * Sets the account's grant on a collection (AUTH_ACCESS_NONE removes it).
 * The caller resolves aliases: collection_id is the TAXII id as stored.
 * Refused with ST_EINVAL: AUTH_ACCESS_WRITE alone (use AUTH_ACCESS_RW),
 * any write for an auditor or a liaison officer, any grant for an admin
 * (admins already have everything). ST_ENOTFOUND for an unknown account.
 */
int auth_grant_set(struct auth *a, const char *name, const char *collection_id,
		   enum auth_access access, struct diag *d);
/* The grant as stored (not the effective access); NONE when none. */
enum auth_access auth_grant_get(struct auth *a, int64_t account_id,
				const char *collection_id);
typedef int (*auth_grant_fn)(void *ctx, const char *collection_id,
			     enum auth_access access);
/* Calls fn for each grant of the account, by collection id; stops early
 * and returns fn's value when it is not ST_OK. ST_ENOTFOUND: no account. */
int auth_grant_list(struct auth *a, int64_t account_id, auth_grant_fn fn,
		    void *ctx);

/*
 * The effective access of an account to a collection: what TAXII reports
 * as can_read / can_write and what the handlers enforce. Disabled or
 * removed accounts get NONE. Admins get RW on every collection without a
 * grant; every other role gets exactly its grant (so peer accounts write
 * only where granted), except that auditors and liaison officers never
 * write. What a reader
 * then sees inside a collection is the release decision's (src/policy).
 */
enum auth_access auth_access(struct auth *a, const struct auth_account *acct,
			     const char *collection_id);
/* Whether the account may DELETE objects: never peer, liaison or auditor
 * accounts; otherwise only where it has write access (ask auth_access). */
bool auth_may_delete(const struct auth_account *acct);

/* The release decision's view of an account: own_org when acct->org equals
 * node_org (byte for byte; an empty node_org matches nothing). */
void auth_audience(const struct auth_account *acct, const char *node_org,
		   struct audience *out);

/* --- credential checks (the request path; no SQLite in the common case) */

/*
 * Accepts a bearer token (the value after "Bearer " or "Token "). On
 * success copies the account into out with method = AUTH_METHOD_TOKEN and
 * credential = the token's id. client_fp is the SHA-256 fingerprint (hex)
 * of the client certificate the TLS layer verified, or NULL when none:
 * an account bound to a certificate is accepted only with it.
 * ST_ENOTFOUND for an unknown, malformed or revoked token, a disabled
 * account or a certificate mismatch, with no way to tell which.
 */
int auth_lookup_token(struct auth *a, const char *token, const char *client_fp,
		      struct auth_account *out);
/*
 * HTTP Basic. The first success verifies Argon2id (tens of ms); it is then
 * remembered for AUTH_BASIC_CACHE_SECONDS under a keyed BLAKE2b of
 * (account id, password serial, name, password), so repeated requests do
 * not pay Argon2id. Disabling or removing the account or changing its
 * password makes the cached entry useless at once (after the refresh that
 * sees the change). Failures are never cached. An unknown user still costs
 * one Argon2id verification so timing does not reveal which names exist.
 * Same results and client_fp rule as auth_lookup_token, with method =
 * AUTH_METHOD_BASIC. password is not kept; the caller wipes its copy.
 */
int auth_check_basic(struct auth *a, const char *user, const char *password,
		     const char *client_fp, struct auth_account *out);
/*
 * Whether an account bound to a certificate may use the certificate the
 * request presented (fp: hex, separators and case ignored; NULL = none).
 * Always true for an unbound account. Constant time in the fingerprint.
 */
bool auth_cert_matches(const struct auth_account *acct, const char *fp);
/*
 * Whether an enabled account is bound to this certificate fingerprint:
 * the HTTP layer asks it to decide `cert_verified` for the throttle before
 * it knows which account a token belongs to.
 */
bool auth_cert_is_bound(struct auth *a, const char *fp);
/*
 * Whether a credential accepted earlier (acct filled by a lookup or
 * check) still stands: the account exists, is enabled, keeps its role,
 * organisation and certificate binding, and the token is not revoked (or
 * the password unchanged). Open streams ask this when auth_generation()
 * moves.
 */
bool auth_still_valid(struct auth *a, const struct auth_account *acct);

/* Counters for tests and /metrics. */
struct auth_stats {
	uint64_t argon2_verifies; /* crypto_pwhash_str_verify calls */
	uint64_t basic_cache_hits;
	uint64_t reloads; /* snapshots loaded */
};
void auth_get_stats(struct auth *a, struct auth_stats *out);

/* Replaces the monotonic clock (seconds) used for the Basic cache; tests
 * only. fn NULL restores the real clock. */
void auth_set_clock(struct auth *a, double (*fn)(void *ctx), void *ctx);

/* --- failure throttling (in memory, per process) --- */

/*
 * Keyed on (client address, account name tried; "" for a bare token).
 * After `threshold` failures within `window` seconds the key is blocked
 * for 2 s; each further failure before the key is forgotten (no failure
 * for `forget` seconds) doubles the block, up to `max_block`:
 * block = min(2^n, max_block) for the n-th failure from the threshold on
 * (n = 1 at the threshold). While blocked, auth_throttle_check() answers
 * at once with the seconds left (for 429 + Retry-After); no thread ever
 * sleeps. A success forgets the key. A request whose client certificate
 * the TLS layer verified and which is bound to the account is never
 * blocked and never counted (cert_verified). The table has a fixed number
 * of slots; when full, the least recently used unblocked key is evicted
 * (blocked keys are evicted only when every candidate is blocked, the one
 * expiring first). Thread-safe.
 */
struct auth_throttle_cfg {
	unsigned threshold; /* 10 */
	unsigned window;    /* 60 s */
	unsigned max_block; /* 300 s */
	unsigned forget;    /* 900 s */
	unsigned slots;	    /* 4096 */
	/* Clock in seconds (monotonic); NULL = the real one. For tests. */
	double (*clock)(void *ctx);
	void *clock_ctx;
};
/* The defaults above. */
void auth_throttle_cfg_default(struct auth_throttle_cfg *cfg);

struct auth_throttle;
/* cfg NULL = defaults. NULL on ENOMEM. Free with auth_throttle_free. */
struct auth_throttle *auth_throttle_new(const struct auth_throttle_cfg *cfg);
void auth_throttle_free(struct auth_throttle *t);
/* 0 when the attempt may proceed, else the seconds to put in Retry-After
 * (>= 1). addr and name may be NULL (treated as ""). */
unsigned auth_throttle_check(struct auth_throttle *t, const char *addr,
			     const char *name, bool cert_verified);
/* Records a failed attempt; returns what auth_throttle_check would now
 * answer (so the failing request itself can already get 429). */
unsigned auth_throttle_failure(struct auth_throttle *t, const char *addr,
			       const char *name, bool cert_verified);
/* Records a success: the key is forgotten. */
void auth_throttle_success(struct auth_throttle *t, const char *addr,
			   const char *name);

#endif
