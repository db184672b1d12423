/* Accounts: tokens, passwords, grants, throttling, and a second handle on
 * the same auth.db standing in for a running server while the CLI writes. */
#include "auth/auth.h"

#include <pthread.h>
#include <setjmp.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define ORG "NCSC Korea"
#define PW "correct horse battery"
#define FP "ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12"

struct fx {
	char dir[256];
	char path[300];
	struct auth *a;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");
	snprintf(f->dir, sizeof(f->dir), "%s/strait-auth-XXXXXX",
		 tmp && tmp[0] ? tmp : "/tmp");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/auth.db", f->dir);
	int err = -1;
	f->a = auth_open(f->path, true, &err, NULL);
	if (f->a == NULL)
		return -1;
	auth_set_refresh_interval(f->a, 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char p[320];
	auth_close(f->a);
	const char *sfx[] = {"", "-wal", "-shm"};
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s%s", f->path, sfx[i]);
		unlink(p);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

static int64_t add(struct auth *a, const char *name, enum role role,
		   const char *org, const char *pw, char tok[AUTH_TOKEN_MAX])
{
	char scratch[AUTH_TOKEN_MAX];
	struct diag d;
	int64_t id = 0;
	int rc =
	    auth_user_add(a, name, role, org, pw, tok ? tok : scratch, &id, &d);
	if (rc != ST_OK)
		fail_msg("add %s: %s", name, d.msg);
	return id;
}

/* --- opening --------------------------------------------------------- */

static void test_open_missing_and_mode(void **state)
{
	struct fx *f = *state;
	char p[320];
	int err = 0;
	struct diag d;
	snprintf(p, sizeof(p), "%s/none.db", f->dir);
	assert_null(auth_open(p, false, &err, &d));
	assert_int_equal(err, ST_ENOTFOUND);
	assert_string_equal(d.msg, "no accounts yet");
	assert_int_not_equal(access(p, F_OK), 0);

	struct stat sb;
	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	snprintf(p, sizeof(p), "%s-wal", f->path);
	add(f->a, "alice", ROLE_ANALYST, ORG, NULL, NULL);
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	/* Not an accounts database: refused, not overwritten. */
	snprintf(p, sizeof(p), "%s/other.db", f->dir);
	FILE *o = fopen(p, "w");
	fputs("hello", o);
	fclose(o);
	assert_null(auth_open(p, true, &err, NULL));
	assert_int_not_equal(err, ST_OK);
	unlink(p);
}

/* --- accounts and tokens -------------------------------------------- */

static const struct add_case {
	const char *what, *name, *org, *pw;
	enum role role;
	int want;
} add_cases[] = {
    {"ok", "analyst.1", ORG, NULL, ROLE_ANALYST, ST_OK},
    {"64-char name",
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", ORG,
     NULL, ROLE_READER, ST_OK},
    {"65-char name",
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", ORG,
     NULL, ROLE_READER, ST_EINVAL},
    {"upper case", "Alice", ORG, NULL, ROLE_READER, ST_EINVAL},
    {"empty name", "", ORG, NULL, ROLE_READER, ST_EINVAL},
    {"colon (Basic)", "a:b", ORG, NULL, ROLE_READER, ST_EINVAL},
    {"space", "a b", ORG, NULL, ROLE_READER, ST_EINVAL},
    {"empty org", "x1", "", NULL, ROLE_READER, ST_EINVAL},
    {"control in org", "x2", "bad\norg", NULL, ROLE_READER, ST_EINVAL},
    {"bad role", "x3", ORG, NULL, ROLE__COUNT, ST_EINVAL},
    {"short password", "x4", ORG, "elevenbytes", ROLE_READER, ST_EINVAL},
    {"duplicate", "analyst.1", ORG, NULL, ROLE_READER, ST_EEXIST},
};

static void test_add_validation(void **state)
{
	struct fx *f = *state;
	for (size_t i = 0; i < sizeof(add_cases) / sizeof(add_cases[0]); i++) {
		const struct add_case *c = &add_cases[i];
		char tok[AUTH_TOKEN_MAX];
		struct diag d;
		memset(tok, 'x', sizeof(tok));
		int rc = auth_user_add(f->a, c->name, c->role, c->org, c->pw,
				       tok, NULL, &d);
		if (rc != c->want)
			fail_msg("%s: got %d want %d", c->what, rc, c->want);
		if (rc != ST_OK) /* no token leaks out of a failure */
			for (size_t k = 0; k < sizeof(tok); k++)
				assert_int_equal(tok[k], 0);
	}
	struct auth_account u;
	assert_int_equal(auth_user_get(f->a, "x4", &u), ST_ENOTFOUND);
}

static void test_token_lookup(void **state)
{
	struct fx *f = *state;
	char tok[AUTH_TOKEN_MAX], other[AUTH_TOKEN_MAX];
	int64_t id = add(f->a, "alice", ROLE_ANALYST, ORG, NULL, tok);
	add(f->a, "bob", ROLE_PEER, "NISC Japan", NULL, other);
	assert_true(id > 0);
	assert_int_equal(strlen(tok), AUTH_TOKEN_LEN);
	assert_memory_equal(tok, AUTH_TOKEN_PREFIX, strlen(AUTH_TOKEN_PREFIX));
	assert_string_not_equal(tok, other);

	struct auth_account u;
	assert_int_equal(auth_lookup_token(f->a, tok, NULL, &u), ST_OK);
	assert_int_equal(u.id, id);
	assert_string_equal(u.name, "alice");
	assert_int_equal(u.role, ROLE_ANALYST);
	assert_string_equal(u.org, ORG);
	assert_int_equal(u.method, AUTH_METHOD_TOKEN);
	assert_true(u.credential > 0);
	assert_false(u.has_password);
	assert_int_equal(u.n_tokens, 1);
	assert_int_equal(auth_lookup_token(f->a, other, NULL, &u), ST_OK);
	assert_string_equal(u.name, "bob");

	char wrong[AUTH_TOKEN_MAX + 8];
	snprintf(wrong, sizeof(wrong), "%s", tok);
	wrong[AUTH_TOKEN_LEN - 1] =
	    wrong[AUTH_TOKEN_LEN - 1] == 'A' ? 'B' : 'A';
	char longer[AUTH_TOKEN_MAX + 8];
	snprintf(longer, sizeof(longer), "%sx", tok);
	char huge[200];
	memset(huge, 'a', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = '\0';
	const char *bad[] = {NULL,
			     "",
			     "strait_",
			     wrong,
			     longer,
			     huge,
			     tok + strlen(AUTH_TOKEN_PREFIX)};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(auth_lookup_token(f->a, bad[i], NULL, &u),
				 ST_ENOTFOUND);
}

/* Whether needle occurs in the file at path (missing file: no). */
static bool file_has(const char *path, const void *needle, size_t n)
{
	FILE *fp = fopen(path, "rb");
	if (fp == NULL)
		return false;
	static unsigned char buf[1 << 22];
	size_t len = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	for (size_t i = 0; i + n <= len; i++)
		if (memcmp(buf + i, needle, n) == 0)
			return true;
	return false;
}

static void test_token_stored_as_hash_only(void **state)
{
	struct fx *f = *state;
	char tok[AUTH_TOKEN_MAX], rot[AUTH_TOKEN_MAX];
	add(f->a, "alice", ROLE_ANALYST, ORG, PW, tok);
	assert_int_equal(auth_user_rotate_token(f->a, "alice", rot, NULL),
			 ST_OK);
	char wal[320];
	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	const char *toks[] = {tok, rot};
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < 2; i++) {
			const char *body = toks[i] + strlen(AUTH_TOKEN_PREFIX);
			unsigned char raw[64];
			size_t rawlen = 0;
			assert_int_equal(
			    sodium_base642bin(
				raw, sizeof(raw), body, strlen(body), NULL,
				&rawlen, NULL,
				sodium_base64_VARIANT_URLSAFE_NO_PADDING),
			    0);
			assert_int_equal(rawlen, 32);
			const char *files[] = {f->path, wal};
			for (size_t k = 0; k < 2; k++) {
				assert_false(
				    file_has(files[k], body, strlen(body)));
				assert_false(file_has(files[k], raw, 16));
				assert_false(file_has(files[k], raw + 16, 16));
				assert_false(
				    file_has(files[k], PW, strlen(PW)));
			}
		}
		/* Second pass: after a close, everything checkpointed. */
		auth_close(f->a);
		f->a = auth_open(f->path, false, NULL, NULL);
		assert_non_null(f->a);
	}
	/* The file does hold something: the account name. */
	auth_close(f->a);
	f->a = NULL;
	assert_true(file_has(f->path, "alice", 5));
	f->a = auth_open(f->path, false, NULL, NULL);
	assert_non_null(f->a);
}

static void test_disable_enable_remove(void **state)
{
	struct fx *f = *state;
	char tok[AUTH_TOKEN_MAX];
	struct auth_account u;
	int64_t id = add(f->a, "alice", ROLE_ANALYST, ORG, NULL, tok);
	assert_int_equal(auth_user_set_disabled(f->a, "alice", true, NULL),
			 ST_OK);
	assert_int_equal(auth_lookup_token(f->a, tok, NULL, &u), ST_ENOTFOUND);
	assert_int_equal(auth_user_get(f->a, "alice", &u), ST_OK);
	assert_true(u.disabled);
	assert_int_equal(auth_user_set_disabled(f->a, "alice", false, NULL),
			 ST_OK);
	assert_int_equal(auth_lookup_token(f->a, tok, NULL, &u), ST_OK);
	assert_false(u.disabled);

	assert_int_equal(auth_user_set_disabled(f->a, "nobody", true, NULL),
			 ST_ENOTFOUND);
	assert_int_equal(auth_user_remove(f->a, "nobody", NULL), ST_ENOTFOUND);
	assert_int_equal(auth_user_rotate_token(f->a, "nobody", tok, NULL),
			 ST_ENOTFOUND);

	assert_int_equal(
	    auth_grant_set(f->a, "alice", "c1", AUTH_ACCESS_READ, NULL), ST_OK);
	assert_int_equal(auth_user_remove(f->a, "alice", NULL), ST_OK);
	assert_int_equal(auth_lookup_token(f->a, tok, NULL, &u), ST_ENOTFOUND);
	assert_int_equal(auth_user_get(f->a, "alice", &u), ST_ENOTFOUND);
	assert_int_equal(auth_user_get_id(f->a, id, &u), ST_ENOTFOUND);
	assert_int_equal(auth_grant_get(f->a, id, "c1"), AUTH_ACCESS_NONE);
	/* Ids are never reused: RED recipient lists name accounts by id. */
	int64_t again = add(f->a, "alice", ROLE_ANALYST, ORG, NULL, NULL);
	assert_true(again > id);
	assert_int_equal(auth_grant_get(f->a, again, "c1"), AUTH_ACCESS_NONE);
}

static void test_rotation_revokes(void **state)
{
	struct fx *f = *state;
	char old[AUTH_TOKEN_MAX], fresh[AUTH_TOKEN_MAX];
	struct auth_account u, before;
	add(f->a, "alice", ROLE_ANALYST, ORG, NULL, old);
	assert_int_equal(auth_lookup_token(f->a, old, NULL, &before), ST_OK);
	assert_true(auth_still_valid(f->a, &before));
	assert_int_equal(auth_user_rotate_token(f->a, "alice", fresh, NULL),
			 ST_OK);
	assert_string_not_equal(old, fresh);
	assert_int_equal(auth_lookup_token(f->a, old, NULL, &u), ST_ENOTFOUND);
	assert_int_equal(auth_lookup_token(f->a, fresh, NULL, &u), ST_OK);
	assert_int_equal(u.n_tokens, 1);
	/* A stream opened with the old token must end. */
	assert_false(auth_still_valid(f->a, &before));
	assert_true(auth_still_valid(f->a, &u));
}

static void test_cert_binding(void **state)
{
	struct fx *f = *state;
	char tok[AUTH_TOKEN_MAX];
	struct auth_account u;
	struct diag d;
	add(f->a, "peer-jp", ROLE_PEER, "NISC Japan", NULL, tok);
	assert_false(auth_cert_is_bound(f->a, FP));
	assert_int_equal(auth_user_bind_cert(f->a, "peer-jp", "xyz", &d),
			 ST_EINVAL);
	assert_int_equal(auth_user_bind_cert(f->a, "peer-jp", FP "00", &d),
			 ST_EINVAL);
	/* Upper case with separators, as openssl prints it. */
	char colons[200];
	size_t n = 0;
	for (size_t i = 0; i < strlen(FP); i += 2) {
		if (i > 0)
			colons[n++] = ':';
		colons[n++] = (char)(FP[i] >= 'a' ? FP[i] - 32 : FP[i]);
		colons[n++] =
		    (char)(FP[i + 1] >= 'a' ? FP[i + 1] - 32 : FP[i + 1]);
	}
	colons[n] = '\0';
	assert_int_equal(auth_user_bind_cert(f->a, "peer-jp", colons, &d),
			 ST_OK);
	assert_int_equal(auth_user_get(f->a, "peer-jp", &u), ST_OK);
	assert_string_equal(u.cert_fp, FP);
	assert_true(auth_cert_is_bound(f->a, FP));

	char other[] = FP;
	other[0] = 'c';
	assert_int_equal(auth_lookup_token(f->a, tok, NULL, &u), ST_ENOTFOUND);
	assert_int_equal(auth_lookup_token(f->a, tok, other, &u), ST_ENOTFOUND);
	assert_int_equal(auth_lookup_token(f->a, tok, FP, &u), ST_OK);
	assert_int_equal(auth_lookup_token(f->a, tok, colons, &u), ST_OK);
	assert_true(auth_cert_matches(&u, FP));
	assert_false(auth_cert_matches(&u, NULL));

	assert_int_equal(auth_user_bind_cert(f->a, "peer-jp", NULL, &d), ST_OK);
	assert_int_equal(auth_lookup_token(f->a, tok, NULL, &u), ST_OK);
	assert_false(auth_cert_is_bound(f->a, FP));
	assert_int_equal(auth_user_bind_cert(f->a, "nobody", NULL, &d),
			 ST_ENOTFOUND);
}

static void test_audience(void **state)
{
	struct fx *f = *state;
	struct auth_account u;
	struct audience au;
	int64_t id =
	    add(f->a, "liaison-jp", ROLE_LIAISON, "NISC Japan", NULL, NULL);
	assert_int_equal(auth_user_get(f->a, "liaison-jp", &u), ST_OK);
	auth_audience(&u, ORG, &au);
	assert_int_equal(au.account_id, id);
	assert_int_equal(au.role, ROLE_LIAISON);
	assert_false(au.own_org);
	auth_audience(&u, "NISC Japan", &au);
	assert_true(au.own_org);
	auth_audience(&u, "", &au);
	assert_false(au.own_org);
}

/* --- HTTP Basic ------------------------------------------------------ */

static double fake_now;
static double fake_clock(void *ctx)
{
	(void)ctx;
	return fake_now;
}

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_basic_cached(void **state)
{
	struct fx *f = *state;
	struct auth_account u;
	struct auth_stats s0, s1;
	add(f->a, "alice", ROLE_ANALYST, ORG, PW, NULL);
	auth_get_stats(f->a, &s0);

	double t0 = mono();
	assert_int_equal(auth_check_basic(f->a, "alice", PW, NULL, &u), ST_OK);
	double t1 = mono();
	enum { N = 1000 };
	for (int i = 0; i < N; i++)
		assert_int_equal(auth_check_basic(f->a, "alice", PW, NULL, &u),
				 ST_OK);
	double t2 = mono();
	auth_get_stats(f->a, &s1);
	assert_int_equal(s1.argon2_verifies - s0.argon2_verifies, 1);
	assert_int_equal(s1.basic_cache_hits - s0.basic_cache_hits, N);
	assert_int_equal(u.method, AUTH_METHOD_BASIC);
	assert_string_equal(u.name, "alice");
	assert_true(u.has_password);
	/* A cached check is orders of magnitude cheaper than Argon2id. */
	assert_true((t2 - t1) / N < (t1 - t0) / 10);
	print_message("argon2id verify %.1f ms, cached check %.2f us\n",
		      (t1 - t0) * 1e3, (t2 - t1) / N * 1e6);
}

static void test_basic_wrong_not_cached(void **state)
{
	struct fx *f = *state;
	struct auth_account u;
	struct auth_stats s0, s1;
	add(f->a, "alice", ROLE_ANALYST, ORG, PW, NULL);
	add(f->a, "nopw", ROLE_ANALYST, ORG, NULL, NULL);
	assert_int_equal(auth_check_basic(f->a, "alice", PW, NULL, &u), ST_OK);
	auth_get_stats(f->a, &s0);
	const struct {
		const char *user, *pw;
	} bad[] = {
	    {"alice", "correct horse batterz"},
	    {"alice", "correct horse batterz"}, /* again: still verified */
	    {"alice", PW "x"},
	    {"nobody", PW}, /* unknown user: same work */
	    {"nopw", PW},   /* no password set */
	    {"ALICE", PW},
	};
	size_t nbad = sizeof(bad) / sizeof(bad[0]);
	for (size_t i = 0; i < nbad; i++)
		assert_int_equal(
		    auth_check_basic(f->a, bad[i].user, bad[i].pw, NULL, &u),
		    ST_ENOTFOUND);
	auth_get_stats(f->a, &s1);
	assert_int_equal(s1.argon2_verifies - s0.argon2_verifies, nbad);
	assert_int_equal(s1.basic_cache_hits, s0.basic_cache_hits);
	/* Cheap refusals: no Argon2id for these. */
	assert_int_equal(auth_check_basic(f->a, "alice", "", NULL, &u),
			 ST_ENOTFOUND);
	assert_int_equal(auth_check_basic(f->a, NULL, PW, NULL, &u),
			 ST_ENOTFOUND);
	/* The right password is still cached. */
	assert_int_equal(auth_check_basic(f->a, "alice", PW, NULL, &u), ST_OK);
	auth_get_stats(f->a, &s0);
	assert_int_equal(s0.argon2_verifies, s1.argon2_verifies);
}

static void test_basic_invalidation(void **state)
{
	struct fx *f = *state;
	struct auth_account u;
	struct auth_stats s0, s1;
	fake_now = 1000;
	auth_set_clock(f->a, fake_clock, NULL);
	add(f->a, "alice", ROLE_ANALYST, ORG, PW, NULL);
	assert_int_equal(auth_check_basic(f->a, "alice", PW, NULL, &u), ST_OK);

	/* Disabled: refused at once; re-enabled: verified afresh. */
	assert_int_equal(auth_user_set_disabled(f->a, "alice", true, NULL),
			 ST_OK);
	assert_int_equal(auth_check_basic(f->a, "alice", PW, NULL, &u),
			 ST_ENOTFOUND);
	assert_int_equal(auth_user_set_disabled(f->a, "alice", false, NULL),
			 ST_OK);
	auth_get_stats(f->a, &s0);
	assert_int_equal(auth_check_basic(f->a, "alice", PW, NULL, &u), ST_OK);
	auth_get_stats(f->a, &s1);
	assert_int_equal(s1.argon2_verifies - s0.argon2_verifies, 1);

	/* Password changed: the old one fails although it was cached. */
	assert_int_equal(
	    auth_user_set_password(f->a, "alice", "a different password", NULL),
	    ST_OK);
	assert_int_equal(auth_check_basic(f->a, "alice", PW, NULL, &u),
			 ST_ENOTFOUND);
	assert_int_equal(
	    auth_check_basic(f->a, "alice", "a different password", NULL, &u),
	    ST_OK);
	/* The entry expires. */
	auth_get_stats(f->a, &s0);
	fake_now += AUTH_BASIC_CACHE_SECONDS - 1;
	assert_int_equal(
	    auth_check_basic(f->a, "alice", "a different password", NULL, &u),
	    ST_OK);
	fake_now += 2;
	assert_int_equal(
	    auth_check_basic(f->a, "alice", "a different password", NULL, &u),
	    ST_OK);
	auth_get_stats(f->a, &s1);
	assert_int_equal(s1.argon2_verifies - s0.argon2_verifies, 1);
	assert_int_equal(s1.basic_cache_hits - s0.basic_cache_hits, 1);
	/* Removed. */
	assert_true(auth_still_valid(f->a, &u));
	assert_int_equal(auth_user_set_password(f->a, "alice", NULL, NULL),
			 ST_OK);
	assert_false(auth_still_valid(f->a, &u));
	assert_int_equal(
	    auth_check_basic(f->a, "alice", "a different password", NULL, &u),
	    ST_ENOTFOUND);
	auth_set_clock(f->a, NULL, NULL);
}

/* --- grants ---------------------------------------------------------- */

#define C1 "11111111-1111-4111-8111-111111111111"
#define C2 "22222222-2222-4222-8222-222222222222"

static const struct grant_case {
	enum role role;
	enum auth_access grant; /* on C1; never on C2 */
	int set_rc;
	enum auth_access want_c1, want_c2;
	bool may_delete;
} grant_cases[] = {
    {ROLE_ADMIN, AUTH_ACCESS_NONE, ST_OK, AUTH_ACCESS_RW, AUTH_ACCESS_RW, true},
    {ROLE_ADMIN, AUTH_ACCESS_READ, ST_EINVAL, AUTH_ACCESS_RW, AUTH_ACCESS_RW,
     true},
    {ROLE_ANALYST, AUTH_ACCESS_RW, ST_OK, AUTH_ACCESS_RW, AUTH_ACCESS_NONE,
     true},
    {ROLE_ANALYST, AUTH_ACCESS_WRITE, ST_EINVAL, AUTH_ACCESS_NONE,
     AUTH_ACCESS_NONE, true},
    {ROLE_READER, AUTH_ACCESS_READ, ST_OK, AUTH_ACCESS_READ, AUTH_ACCESS_NONE,
     true},
    {ROLE_PEER, AUTH_ACCESS_RW, ST_OK, AUTH_ACCESS_RW, AUTH_ACCESS_NONE, false},
    {ROLE_PEER, AUTH_ACCESS_READ, ST_OK, AUTH_ACCESS_READ, AUTH_ACCESS_NONE,
     false},
    {ROLE_LIAISON, AUTH_ACCESS_READ, ST_OK, AUTH_ACCESS_READ, AUTH_ACCESS_NONE,
     false},
    /* a liaison officer reads; it writes to joint incidents only */
    {ROLE_LIAISON, AUTH_ACCESS_RW, ST_EINVAL, AUTH_ACCESS_NONE,
     AUTH_ACCESS_NONE, false},
    {ROLE_AUDITOR, AUTH_ACCESS_READ, ST_OK, AUTH_ACCESS_READ, AUTH_ACCESS_NONE,
     false},
    {ROLE_AUDITOR, AUTH_ACCESS_RW, ST_EINVAL, AUTH_ACCESS_NONE,
     AUTH_ACCESS_NONE, false},
    {ROLE_METRICS, AUTH_ACCESS_READ, ST_EINVAL, AUTH_ACCESS_NONE,
     AUTH_ACCESS_NONE, false},
};

static void test_grants_matrix(void **state)
{
	struct fx *f = *state;
	for (size_t i = 0; i < sizeof(grant_cases) / sizeof(grant_cases[0]);
	     i++) {
		const struct grant_case *c = &grant_cases[i];
		char name[32];
		struct auth_account u;
		snprintf(name, sizeof(name), "u%zu", i);
		add(f->a, name, c->role, ORG, NULL, NULL);
		int rc = auth_grant_set(f->a, name, C1, c->grant, NULL);
		if (rc != c->set_rc)
			fail_msg("case %zu (%s): grant_set %d", i,
				 role_name(c->role), rc);
		assert_int_equal(auth_user_get(f->a, name, &u), ST_OK);
		if (auth_access(f->a, &u, C1) != c->want_c1 ||
		    auth_access(f->a, &u, C2) != c->want_c2)
			fail_msg("case %zu (%s): access %d/%d", i,
				 role_name(c->role), auth_access(f->a, &u, C1),
				 auth_access(f->a, &u, C2));
		assert_int_equal(auth_may_delete(&u), c->may_delete);
		/* Disabled accounts reach nothing. */
		assert_int_equal(auth_user_set_disabled(f->a, name, true, NULL),
				 ST_OK);
		assert_int_equal(auth_access(f->a, &u, C1), AUTH_ACCESS_NONE);
	}
	/* Changing and removing a grant. */
	struct auth_account u;
	add(f->a, "changer", ROLE_ANALYST, ORG, NULL, NULL);
	assert_int_equal(auth_user_get(f->a, "changer", &u), ST_OK);
	assert_int_equal(
	    auth_grant_set(f->a, "changer", C2, AUTH_ACCESS_RW, NULL), ST_OK);
	assert_int_equal(
	    auth_grant_set(f->a, "changer", C1, AUTH_ACCESS_READ, NULL), ST_OK);
	assert_int_equal(auth_grant_get(f->a, u.id, C2), AUTH_ACCESS_RW);
	assert_int_equal(
	    auth_grant_set(f->a, "changer", C2, AUTH_ACCESS_READ, NULL), ST_OK);
	assert_int_equal(auth_access(f->a, &u, C2), AUTH_ACCESS_READ);
	assert_int_equal(
	    auth_grant_set(f->a, "changer", C2, AUTH_ACCESS_NONE, NULL), ST_OK);
	assert_int_equal(auth_access(f->a, &u, C2), AUTH_ACCESS_NONE);
	assert_int_equal(auth_user_get(f->a, "changer", &u), ST_OK);
	assert_int_equal(u.n_grants, 1);
	assert_int_equal(
	    auth_grant_set(f->a, "nobody", C1, AUTH_ACCESS_READ, NULL),
	    ST_ENOTFOUND);
	assert_int_equal(
	    auth_grant_set(f->a, "changer", "", AUTH_ACCESS_READ, NULL),
	    ST_EINVAL);

	const struct {
		const char *s;
		int rc;
		enum auth_access x;
	} parse[] = {
	    {"read", ST_OK, AUTH_ACCESS_READ},
	    {"write", ST_OK, AUTH_ACCESS_RW},
	    {"none", ST_OK, AUTH_ACCESS_NONE},
	    {"rw", ST_EINVAL, 0},
	    {"READ", ST_EINVAL, 0},
	    {"", ST_EINVAL, 0},
	};
	for (size_t i = 0; i < sizeof(parse) / sizeof(parse[0]); i++) {
		enum auth_access x = AUTH_ACCESS_NONE;
		assert_int_equal(auth_access_parse(parse[i].s, &x),
				 parse[i].rc);
		if (parse[i].rc == ST_OK) {
			assert_int_equal(x, parse[i].x);
			assert_string_equal(auth_access_name(x), parse[i].s);
		}
	}
}

/* --- throttling ------------------------------------------------------ */

static struct auth_throttle *throttle(unsigned slots)
{
	struct auth_throttle_cfg cfg;
	auth_throttle_cfg_default(&cfg);
	cfg.clock = fake_clock;
	if (slots)
		cfg.slots = slots;
	return auth_throttle_new(&cfg);
}

static void test_throttle_arithmetic(void **state)
{
	(void)state;
	fake_now = 5000;
	struct auth_throttle *t = throttle(0);
	const char *ip = "198.51.100.7";
	for (int i = 1; i <= 9; i++) {
		assert_int_equal(auth_throttle_failure(t, ip, "alice", false),
				 0);
		assert_int_equal(auth_throttle_check(t, ip, "alice", false), 0);
	}
	/* The 10th failure blocks for 2 s, then each one doubles. */
	const unsigned want[] = {2, 4, 8, 16, 32, 64, 128, 256, 300, 300};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_int_equal(auth_throttle_failure(t, ip, "alice", false),
				 want[i]);
		assert_int_equal(auth_throttle_check(t, ip, "alice", false),
				 want[i]);
		fake_now += want[i] - 0.5;
		assert_int_equal(auth_throttle_check(t, ip, "alice", false), 1);
		fake_now += 0.5;
		assert_int_equal(auth_throttle_check(t, ip, "alice", false), 0);
	}
	/* Other keys are not affected; a verified bound certificate never
	 * is, and does not count. */
	fake_now += 0; /* not blocked right now; block again */
	assert_int_equal(auth_throttle_failure(t, ip, "alice", false), 300);
	assert_int_equal(auth_throttle_check(t, ip, "bob", false), 0);
	assert_int_equal(auth_throttle_check(t, "198.51.100.8", "alice", false),
			 0);
	assert_int_equal(auth_throttle_check(t, ip, "alice", true), 0);
	assert_int_equal(auth_throttle_failure(t, ip, "alice", true), 0);
	assert_int_equal(auth_throttle_check(t, ip, "alice", false), 300);

	/* A success forgets the key. */
	auth_throttle_success(t, ip, "alice");
	assert_int_equal(auth_throttle_check(t, ip, "alice", false), 0);
	assert_int_equal(auth_throttle_failure(t, ip, "alice", false), 0);

	/* Failures spread wider than the window never block. */
	for (int i = 0; i < 30; i++) {
		assert_int_equal(auth_throttle_failure(t, ip, "carol", false),
				 0);
		fake_now += 7; /* 9 failures per 60 s */
	}
	/* After a quiet `forget` period escalation starts over. */
	for (int i = 0; i < 12; i++)
		auth_throttle_failure(t, ip, "dave", false);
	assert_int_equal(auth_throttle_check(t, ip, "dave", false), 8);
	fake_now += 900;
	assert_int_equal(auth_throttle_failure(t, ip, "dave", false), 0);
	auth_throttle_free(t);
}

static void test_throttle_bounded(void **state)
{
	(void)state;
	fake_now = 100;
	struct auth_throttle *t = throttle(16);
	char ip[32];
	/* Blocked keys survive a spray of fresh ones. */
	for (int i = 0; i < 10; i++)
		auth_throttle_failure(t, "203.0.113.1", "victim", false);
	assert_int_equal(auth_throttle_check(t, "203.0.113.1", "victim", false),
			 2);
	for (int i = 0; i < 10000; i++) {
		snprintf(ip, sizeof(ip), "10.0.%d.%d", i / 256, i % 256);
		auth_throttle_failure(t, ip, "x", false);
	}
	assert_int_equal(auth_throttle_check(t, "203.0.113.1", "victim", false),
			 2);
	auth_throttle_free(t);
	auth_throttle_free(NULL);
}

struct tthread {
	struct auth_throttle *t;
	int id;
};

static void *throttle_thread(void *arg)
{
	struct tthread *x = arg;
	char ip[32];
	for (int i = 0; i < 20000; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.1", x->id, i % 64);
		if (auth_throttle_check(x->t, ip, "u", false) == 0)
			auth_throttle_failure(x->t, ip, "u", false);
	}
	return NULL;
}

static void test_throttle_threads(void **state)
{
	(void)state;
	fake_now = 100;
	struct auth_throttle *t = throttle(0);
	pthread_t th[4];
	struct tthread x[4];
	for (int i = 0; i < 4; i++) {
		x[i] = (struct tthread){t, i};
		pthread_create(&th[i], NULL, throttle_thread, &x[i]);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	/* The clock stood still: every key was blocked at its 10th. */
	char ip[32];
	for (int i = 0; i < 4; i++)
		for (int k = 0; k < 64; k++) {
			snprintf(ip, sizeof(ip), "10.%d.%d.1", i, k);
			assert_int_equal(auth_throttle_check(t, ip, "u", false),
					 2);
		}
	auth_throttle_free(t);
}

/* --- two handles: the CLI writes, the server notices ---------------- */

static void test_second_handle_refresh(void **state)
{
	struct fx *f = *state;
	char tok[AUTH_TOKEN_MAX], fresh[AUTH_TOKEN_MAX];
	struct auth_account u, held;
	struct auth_stats s0, s1;
	add(f->a, "alice", ROLE_ANALYST, ORG, NULL, tok);

	struct auth *srv = auth_open(f->path, false, NULL, NULL);
	assert_non_null(srv);
	auth_set_refresh_interval(srv, 0);
	assert_int_equal(auth_lookup_token(srv, tok, NULL, &held), ST_OK);
	assert_int_equal(auth_access(srv, &held, C1), AUTH_ACCESS_NONE);

	/* No change: lookups never reload. */
	auth_get_stats(srv, &s0);
	uint64_t gen = auth_generation(srv);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(auth_lookup_token(srv, tok, NULL, &u), ST_OK);
	auth_get_stats(srv, &s1);
	assert_int_equal(s1.reloads, s0.reloads);
	assert_int_equal(auth_generation(srv), gen);

	/* A grant. */
	assert_int_equal(
	    auth_grant_set(f->a, "alice", C1, AUTH_ACCESS_READ, NULL), ST_OK);
	assert_int_equal(auth_access(srv, &held, C1), AUTH_ACCESS_READ);
	assert_true(auth_generation(srv) > gen);
	gen = auth_generation(srv);
	assert_true(auth_still_valid(srv, &held));

	/* Disabled. */
	assert_int_equal(auth_user_set_disabled(f->a, "alice", true, NULL),
			 ST_OK);
	assert_int_equal(auth_lookup_token(srv, tok, NULL, &u), ST_ENOTFOUND);
	assert_false(auth_still_valid(srv, &held));
	assert_int_equal(auth_access(srv, &held, C1), AUTH_ACCESS_NONE);
	assert_true(auth_generation(srv) > gen);
	assert_int_equal(auth_user_set_disabled(f->a, "alice", false, NULL),
			 ST_OK);
	assert_int_equal(auth_lookup_token(srv, tok, NULL, &u), ST_OK);

	/* Token rotated. */
	assert_int_equal(auth_user_rotate_token(f->a, "alice", fresh, NULL),
			 ST_OK);
	assert_int_equal(auth_lookup_token(srv, tok, NULL, &u), ST_ENOTFOUND);
	assert_int_equal(auth_lookup_token(srv, fresh, NULL, &u), ST_OK);

	/* Removed. */
	assert_int_equal(auth_user_remove(f->a, "alice", NULL), ST_OK);
	assert_int_equal(auth_lookup_token(srv, fresh, NULL, &u), ST_ENOTFOUND);

	/* With the default interval, a change shows within it and a burst
	 * of lookups checks data_version at most once per interval. */
	auth_set_refresh_interval(srv, 200);
	add(f->a, "bob", ROLE_READER, ORG, NULL, tok);
	double until = mono() + 2;
	int rc = ST_ENOTFOUND;
	while (rc != ST_OK && mono() < until)
		rc = auth_lookup_token(srv, tok, NULL, &u);
	assert_int_equal(rc, ST_OK);
	auth_close(srv);
}

struct lthread {
	struct auth *a;
	const char *tok;
	int ok, refused;
};

static void *lookup_thread(void *arg)
{
	struct lthread *x = arg;
	struct auth_account u;
	for (int i = 0; i < 20000; i++) {
		if (auth_lookup_token(x->a, x->tok, NULL, &u) == ST_OK) {
			x->ok++;
			if (strcmp(u.name, "alice") != 0)
				x->refused = -1000000; /* torn copy */
		} else {
			x->refused++;
		}
	}
	return NULL;
}

static void test_concurrent_lookups(void **state)
{
	struct fx *f = *state;
	char tok[AUTH_TOKEN_MAX];
	add(f->a, "alice", ROLE_ANALYST, ORG, NULL, tok);
	struct auth *srv = auth_open(f->path, false, NULL, NULL);
	assert_non_null(srv);
	auth_set_refresh_interval(srv, 0);
	pthread_t th[4];
	struct lthread x[4];
	for (int i = 0; i < 4; i++) {
		x[i] = (struct lthread){srv, tok, 0, 0};
		pthread_create(&th[i], NULL, lookup_thread, &x[i]);
	}
	for (int i = 0; i < 20; i++) {
		char name[16];
		snprintf(name, sizeof(name), "other%d", i);
		add(f->a, name, ROLE_READER, ORG, NULL, NULL);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(x[i].ok, 20000);
		assert_int_equal(x[i].refused, 0);
	}
	auth_close(srv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_open_missing_and_mode, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_add_validation, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_token_lookup, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_token_stored_as_hash_only,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_disable_enable_remove, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_rotation_revokes, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_cert_binding, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_audience, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_basic_cached, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_basic_wrong_not_cached, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_basic_invalidation, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_grants_matrix, setup,
					    teardown),
	    cmocka_unit_test(test_throttle_arithmetic),
	    cmocka_unit_test(test_throttle_bounded),
	    cmocka_unit_test(test_throttle_threads),
	    cmocka_unit_test_setup_teardown(test_second_handle_refresh, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_lookups, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
