/*
 * Unit tests of the node's signing keys (src/federation/nodekey.c): the
 * key file, signatures, rotation and its history, refusals.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "federation/nodekey.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define T0 1800000000

static char *make_home(void)
{
	static char tmpl[256];
	const char *tmp = getenv("TMPDIR");
	snprintf(tmpl, sizeof(tmpl), "%s/strait-nodekey-XXXXXX",
		 tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	assert_non_null(mkdtemp(tmpl));
	return tmpl;
}

static void rm_home(const char *home)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/keys/node.key", home);
	unlink(p);
	snprintf(p, sizeof(p), "%s/keys", home);
	rmdir(p);
	rmdir(home);
}

static void key_path(const char *home, char *p, size_t cap)
{
	snprintf(p, cap, "%s/keys/node.key", home);
}

static size_t read_file(const char *path, uint8_t *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	size_t n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

static void write_file(const char *path, const uint8_t *buf, size_t n)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, n, f), n);
	fclose(f);
	chmod(path, 0600);
}

static void test_create_load_sign(void **state)
{
	(void)state;
	char *home = make_home(), path[512];
	struct diag d;
	struct stat st;

	assert_int_equal(nodekeys_create(home, T0, &d), ST_OK);
	key_path(home, path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* A second create never replaces the key. */
	assert_int_equal(nodekeys_create(home, T0, &d), ST_ECONFIG);
	assert_non_null(strstr(d.msg, "already exists"));

	struct nodekeys *k;
	assert_int_equal(nodekeys_load(home, &k, &d), ST_OK);
	/* Whoever holds the key is not dumpable. */
	assert_int_equal(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
	const struct nodekey_pub *hist;
	assert_int_equal(nodekeys_history(k, &hist), 1);
	const struct nodekey_pub *cur = nodekeys_current(k);
	assert_ptr_equal(cur, &hist[0]);
	assert_int_equal(cur->created, T0);
	assert_int_equal(cur->retired, 0);
	char id[NODEKEY_ID_LEN + 1];
	nodekey_id(cur->pk, id);
	assert_string_equal(cur->id, id);
	assert_int_equal(strlen(id), NODEKEY_ID_LEN);
	assert_int_equal(strspn(id, "0123456789abcdef"), NODEKEY_ID_LEN);
	assert_ptr_equal(nodekeys_find(k, id), cur);
	assert_null(nodekeys_find(k, "0000000000000000"));

	static const char msg[] = "attestation of a batch";
	uint8_t sig[NODEKEY_SIG_BYTES];
	assert_int_equal(nodekeys_sign(k, msg, sizeof(msg), sig), ST_OK);
	assert_true(nodekey_verify(cur->pk, msg, sizeof(msg), sig));
	/* Another message, an altered signature, another key: refused. */
	assert_false(nodekey_verify(cur->pk, msg, sizeof(msg) - 1, sig));
	sig[10] ^= 1;
	assert_false(nodekey_verify(cur->pk, msg, sizeof(msg), sig));
	sig[10] ^= 1;
	uint8_t other[NODEKEY_PUB_BYTES];
	memcpy(other, cur->pk, sizeof(other));
	other[0] ^= 1;
	assert_false(nodekey_verify(other, msg, sizeof(msg), sig));

	/* The public key's text form round-trips; anything else is refused. */
	char text[NODEKEY_PUB_TEXT];
	uint8_t back[NODEKEY_PUB_BYTES];
	nodekey_pub_text(cur->pk, text);
	assert_int_equal(strlen(text), NODEKEY_PUB_TEXT - 1);
	assert_int_equal(nodekey_pub_parse(text, back), ST_OK);
	assert_memory_equal(back, cur->pk, NODEKEY_PUB_BYTES);
	text[5] = '*';
	assert_int_equal(nodekey_pub_parse(text, back), ST_EINVAL);
	assert_int_equal(nodekey_pub_parse("abc", back), ST_EINVAL);
	assert_int_equal(nodekey_pub_parse(NULL, back), ST_EINVAL);
	nodekeys_free(k);
	rm_home(home);
}

static void test_rotation(void **state)
{
	(void)state;
	char *home = make_home(), path[512];
	struct diag d;
	static const char msg[] = "signed before the rotation";
	uint8_t sig[NODEKEY_SIG_BYTES], img[8 + 3 * 80];

	assert_int_equal(nodekeys_create(home, T0, &d), ST_OK);
	struct nodekeys *k;
	assert_int_equal(nodekeys_load(home, &k, &d), ST_OK);
	char old[NODEKEY_ID_LEN + 1];
	snprintf(old, sizeof(old), "%s", nodekeys_current(k)->id);
	assert_int_equal(nodekeys_sign(k, msg, sizeof(msg), sig), ST_OK);
	assert_int_equal(nodekeys_rotate(k, T0 + 60, &d), ST_OK);
	const struct nodekey_pub *hist;
	assert_int_equal(nodekeys_history(k, &hist), 2);
	assert_string_equal(hist[0].id, old);
	assert_int_equal(hist[0].retired, T0 + 60);
	assert_string_not_equal(nodekeys_current(k)->id, old);
	assert_int_equal(nodekeys_current(k)->retired, 0);
	/* What the retired key signed still verifies with its public key;
	 * the new key signs from now on. */
	assert_true(nodekey_verify(hist[0].pk, msg, sizeof(msg), sig));
	uint8_t sig2[NODEKEY_SIG_BYTES];
	assert_int_equal(nodekeys_sign(k, msg, sizeof(msg), sig2), ST_OK);
	assert_true(
	    nodekey_verify(nodekeys_current(k)->pk, msg, sizeof(msg), sig2));
	assert_false(nodekey_verify(hist[0].pk, msg, sizeof(msg), sig2));
	char cur[NODEKEY_ID_LEN + 1];
	snprintf(cur, sizeof(cur), "%s", nodekeys_current(k)->id);
	nodekeys_free(k);

	/* Persisted: the history reloads, and the retired key's secret is
	 * no longer in the file (zeros where its seed was). */
	assert_int_equal(nodekeys_load(home, &k, &d), ST_OK);
	assert_int_equal(nodekeys_history(k, &hist), 2);
	assert_string_equal(hist[0].id, old);
	assert_string_equal(nodekeys_current(k)->id, cur);
	nodekeys_free(k);
	key_path(home, path, sizeof(path));
	assert_int_equal(read_file(path, img, sizeof(img)), 8 + 2 * 80);
	static const uint8_t zero[32];
	assert_memory_equal(img + 8 + 48, zero, 32);
	assert_memory_not_equal(img + 8 + 80 + 48, zero, 32);
	rm_home(home);
}

static void test_history_full(void **state)
{
	(void)state;
	char *home = make_home();
	struct diag d;
	assert_int_equal(nodekeys_create(home, T0, &d), ST_OK);
	struct nodekeys *k;
	assert_int_equal(nodekeys_load(home, &k, &d), ST_OK);
	for (int i = 1; i < NODEKEY_HISTORY_MAX; i++)
		assert_int_equal(nodekeys_rotate(k, T0 + i, &d), ST_OK);
	const struct nodekey_pub *hist;
	assert_int_equal(nodekeys_history(k, &hist), NODEKEY_HISTORY_MAX);
	char cur[NODEKEY_ID_LEN + 1];
	snprintf(cur, sizeof(cur), "%s", nodekeys_current(k)->id);
	assert_int_equal(nodekeys_rotate(k, T0 + 999, &d), ST_ELIMIT);
	assert_non_null(strstr(d.msg, "history is full"));
	/* Refused without a change: the same key signs. */
	assert_string_equal(nodekeys_current(k)->id, cur);
	assert_int_equal(nodekeys_history(k, &hist), NODEKEY_HISTORY_MAX);
	nodekeys_free(k);
	assert_int_equal(nodekeys_load(home, &k, &d), ST_OK);
	assert_string_equal(nodekeys_current(k)->id, cur);
	nodekeys_free(k);
	rm_home(home);
}

static void test_refusals(void **state)
{
	(void)state;
	char *home = make_home(), path[512];
	struct diag d;
	uint8_t img[8 + 80], bad[8 + 80];

	/* No key file: a clear message, not a crash. */
	struct nodekeys *k = NULL;
	assert_int_equal(nodekeys_load(home, &k, &d), ST_ENOTFOUND);
	assert_null(k);
	assert_non_null(strstr(d.msg, "no signing key"));

	assert_int_equal(nodekeys_create(home, T0, &d), ST_OK);
	key_path(home, path, sizeof(path));
	assert_int_equal(read_file(path, img, sizeof(img)), sizeof(img));

	/* Readable by others: refused, never fixed silently. */
	chmod(path, 0644);
	assert_int_equal(nodekeys_load(home, &k, &d), ST_ECONFIG);
	assert_non_null(strstr(d.msg, "readable by group or others"));
	chmod(path, 0600);

	/* Truncated, wrong magic, a count that does not fit. */
	write_file(path, img, sizeof(img) - 1);
	assert_int_equal(nodekeys_load(home, &k, &d), ST_ECONFIG);
	assert_non_null(strstr(d.msg, "not a node key file"));
	memcpy(bad, img, sizeof(bad));
	bad[0] = 'X';
	write_file(path, bad, sizeof(bad));
	assert_int_equal(nodekeys_load(home, &k, &d), ST_ECONFIG);
	assert_non_null(strstr(d.msg, "not a node key file"));
	memcpy(bad, img, sizeof(bad));
	bad[5] = 2;
	write_file(path, bad, sizeof(bad));
	assert_int_equal(nodekeys_load(home, &k, &d), ST_ECONFIG);
	/* A seed that does not give the public key. */
	memcpy(bad, img, sizeof(bad));
	bad[8 + 48] ^= 1;
	write_file(path, bad, sizeof(bad));
	assert_int_equal(nodekeys_load(home, &k, &d), ST_ECONFIG);
	assert_non_null(strstr(d.msg, "does not match"));
	/* The only key marked retired. */
	memcpy(bad, img, sizeof(bad));
	bad[8 + 8] = 1;
	write_file(path, bad, sizeof(bad));
	assert_int_equal(nodekeys_load(home, &k, &d), ST_ECONFIG);
	assert_non_null(strstr(d.msg, "only the last key"));

	/* The good file loads again. */
	write_file(path, img, sizeof(img));
	assert_int_equal(nodekeys_load(home, &k, &d), ST_OK);
	nodekeys_free(k);
	rm_home(home);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_create_load_sign),
	    cmocka_unit_test(test_rotation),
	    cmocka_unit_test(test_history_full),
	    cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
