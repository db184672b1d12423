/*
 * Unit tests of a hotline principal's key file (src/hotline/keyfile.c):
 * made and opened with the passphrase, never over another file; a wrong
 * passphrase, a changed byte, swapped public keys, a file others may read
 * and a file that is not a key file are all refused; the fingerprint.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "hotline/keyfile.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PASS "correct horse battery staple"

static char dir[256], path[300];

static int setup(void **state)
{
	(void)state;
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/strait-hotline-XXXXXX",
		 tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/principal.key", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	rmdir(dir);
	return 0;
}

static void make(struct hotline_pub *pub)
{
	struct diag d;
	assert_int_equal(hotline_keygen(path, PASS, strlen(PASS),
					HOTLINE_KDF_INTERACTIVE, pub, &d),
			 ST_OK);
}

static void flip(long off)
{
	FILE *f = fopen(path, "r+b");
	assert_non_null(f);
	assert_int_equal(fseek(f, off, SEEK_SET), 0);
	int c = fgetc(f);
	assert_int_equal(fseek(f, off, SEEK_SET), 0);
	fputc(c ^ 1, f);
	fclose(f);
}

static void test_make_open(void **state)
{
	(void)state;
	struct hotline_pub pub;
	struct diag d;
	make(&pub);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, HOTLINE_FILE_BYTES);
	struct hotline_keys *k = NULL;
	assert_int_equal(hotline_keys_open(path, PASS, strlen(PASS), &k, &d),
			 ST_OK);
	assert_memory_equal(k->pub.sign_pk, pub.sign_pk, HOTLINE_PK_BYTES);
	assert_memory_equal(k->pub.box_pk, pub.box_pk, HOTLINE_PK_BYTES);
	/* the keys work: a signature verifies with the public key */
	uint8_t sig[crypto_sign_BYTES];
	static const char m[] = "FLASH";
	crypto_sign_detached(sig, NULL, (const uint8_t *)m, sizeof(m),
			     k->sign_sk);
	assert_int_equal(crypto_sign_verify_detached(sig, (const uint8_t *)m,
						     sizeof(m), pub.sign_pk),
			 0);
	hotline_keys_free(k);
	/* never over an existing file */
	assert_int_equal(hotline_keygen(path, PASS, strlen(PASS),
					HOTLINE_KDF_INTERACTIVE, NULL, &d),
			 ST_ECONFIG);
	assert_non_null(strstr(d.msg, "exists already"));
	/* a passphrase too short */
	unlink(path);
	assert_int_equal(
	    hotline_keygen(path, "short", 5, HOTLINE_KDF_INTERACTIVE, NULL, &d),
	    ST_EINVAL);
	assert_int_equal(access(path, F_OK), -1);
}

static void test_refused(void **state)
{
	(void)state;
	struct hotline_pub pub;
	struct diag d;
	struct hotline_keys *k = NULL;
	make(&pub);
	assert_int_equal(
	    hotline_keys_open(path, "wrong passphrase!", 17, &k, &d), ST_EAUTH);
	assert_null(k);
	assert_non_null(strstr(d.msg, "wrong passphrase"));
	/* a byte of the sealed secrets */
	flip(HOTLINE_FILE_BYTES - 1);
	assert_int_equal(hotline_keys_open(path, PASS, strlen(PASS), &k, &d),
			 ST_EAUTH);
	flip(HOTLINE_FILE_BYTES - 1);
	/* a public key in clear (offset 40: the signing key) */
	flip(40);
	assert_int_equal(hotline_keys_open(path, PASS, strlen(PASS), &k, &d),
			 ST_EAUTH);
	assert_non_null(strstr(d.msg, "not those of its secrets"));
	flip(40);
	assert_int_equal(hotline_keys_open(path, PASS, strlen(PASS), &k, &d),
			 ST_OK);
	hotline_keys_free(k);
	/* readable by others: refused, not fixed */
	chmod(path, 0644);
	assert_int_equal(hotline_keys_open(path, PASS, strlen(PASS), &k, &d),
			 ST_ECONFIG);
	chmod(path, 0600);
	/* not a key file */
	flip(0);
	assert_int_equal(hotline_keys_open(path, PASS, strlen(PASS), &k, &d),
			 ST_ECONFIG);
	assert_non_null(strstr(d.msg, "not a strait hotline key file"));
	flip(0);
	/* limits beyond the sensitive setting (offset 16: memlimit) */
	flip(16 + 7);
	assert_int_equal(hotline_keys_open(path, PASS, strlen(PASS), &k, &d),
			 ST_ECONFIG);
	assert_non_null(strstr(d.msg, "out of range"));
}

static void test_fingerprint(void **state)
{
	(void)state;
	struct hotline_pub a, b;
	memset(&a, 1, sizeof(a));
	b = a;
	char fa[HOTLINE_FP_TEXT], fb[HOTLINE_FP_TEXT];
	hotline_fingerprint(&a, fa);
	assert_int_equal(strlen(fa), HOTLINE_FP_TEXT - 1);
	for (size_t i = 0; i < strlen(fa); i++)
		assert_true(i % 5 == 4
				? fa[i] == ' '
				: strchr("0123456789abcdef", fa[i]) != NULL);
	hotline_fingerprint(&b, fb);
	assert_string_equal(fa, fb);
	b.box_pk[31] ^= 1; /* either key changes it */
	hotline_fingerprint(&b, fb);
	assert_string_not_equal(fa, fb);
	enum hotline_kdf kdf;
	assert_int_equal(hotline_kdf_parse("moderate", &kdf), ST_OK);
	assert_int_equal(kdf, HOTLINE_KDF_MODERATE);
	assert_int_equal(hotline_kdf_parse("fast", &kdf), ST_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_make_open, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
	    cmocka_unit_test(test_fingerprint),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
