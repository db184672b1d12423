/*
 * Deterministic SCO identifiers. Expected ids come from the STIX 2.1
 * specification's examples (Errata 01 regenerated them with
 * cti-python-stix2) and, where an example's printed properties do not give
 * its id (3.4 warns of it), from an independent computation: UUIDv5 over
 * the sorted compact JSON of the contributing properties.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/uuid.h"
#include "stix/stix.h"

#include <stdio.h>
#include <string.h>

struct idcase {
	const char *json;
	const char *id;
};

static const struct idcase cases[] = {
    /* from the specification's examples */
    {"{\"type\":\"ipv4-addr\",\"value\":\"198.51.100.3\"}",
     "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4"},
    {"{\"type\":\"ipv4-addr\",\"value\":\"198.51.100.0/24\"}",
     "ipv4-addr--1ea47840-aa39-5aa8-b4a2-cd203eb6662a"},
    {"{\"type\":\"ipv6-addr\",\"value\":\"2001:0db8::/96\"}",
     "ipv6-addr--084d3b4c-7785-568a-a569-0c61c95754ab"},
    {"{\"type\":\"domain-name\",\"value\":\"example.com\","
     "\"resolves_to_refs\":[\"ipv4-addr--28bb3599-77cd-5a82-a950-"
     "b5bc3caf07c4\"]}",
     "domain-name--bedb4899-d24b-5401-bc86-8f6b4cc18ec7"},
    {"{\"type\":\"email-addr\",\"value\":\"john@example.com\","
     "\"display_name\":\"John Doe\"}",
     "email-addr--7165e2a9-671f-585d-b1e1-ca59c671d934"},
    {"{\"type\":\"file\",\"hashes\":{\"SHA-256\":\"fe90a7e910cb3a4739bed9"
     "180e807e93fa70c90f25a8915476f5e4bfbac681db\"},\"size\":25536,"
     "\"name\":\"foo.dll\"}",
     "file--949eb97a-da1e-5292-8959-03c4249dc9f3"},
    {"{\"type\":\"file\",\"hashes\":{\"SHA-256\":\"841a8921140aba50671ebb"
     "0770fecc4ee308c4952cfeff8de154ab14eeef4649\"},\"name\":"
     "\"qu\xc3\xaary.dll\",\"name_enc\":\"windows-1252\"}",
     "file--7d1e3a18-89e7-5bc5-be36-9879f5b7f5c8"},
    {"{\"type\":\"directory\",\"path\":\"C:\\\\Windows\\\\System32\"}",
     "directory--0a58d0c1-59e6-5afd-8252-dcd3f13e5622"},
    {"{\"type\":\"mutex\",\"name\":\"__CLEANSWEEP__\"}",
     "mutex--f93fe911-e545-5239-b9b0-597840d0c871"},
    {"{\"type\":\"mac-addr\",\"value\":\"d2:fb:49:24:37:18\"}",
     "mac-addr--757b1725-9903-54f5-a855-1240691d7659"},
    {"{\"type\":\"url\",\"value\":\"https://example.com/research/index."
     "html\"}",
     "url--47c3cf9a-5027-5bf0-997a-017c7edc7c55"},
    {"{\"type\":\"autonomous-system\",\"number\":15139,\"name\":"
     "\"Slime Industries\",\"rir\":\"ARIN\"}",
     "autonomous-system--3aa27478-50b5-5ab8-9da9-cdc12b657fff"},
    {"{\"type\":\"software\",\"name\":\"Word\",\"cpe\":\"cpe:2.3:a:"
     "microsoft:word:2000:*:*:*:*:*:*:*\",\"version\":\"2002\","
     "\"vendor\":\"Microsoft\"}",
     "software--710b0b41-d4d0-5d6c-a400-fc9254554ffc"},
    {"{\"type\":\"user-account\",\"user_id\":\"1001\",\"account_login\":"
     "\"jdoe\",\"account_type\":\"unix\",\"display_name\":\"John Doe\"}",
     "user-account--f94d689e-707d-58c3-b803-c720bb6ed096"},
    {"{\"type\":\"windows-registry-key\",\"key\":\"HKEY_LOCAL_MACHINE\\\\"
     "System\\\\Foo\\\\Bar\"}",
     "windows-registry-key--1884b770-b679-522a-a9c7-45fadaaec7bb"},
    {"{\"type\":\"windows-registry-key\",\"key\":\"hkey_local_machine\\\\"
     "system\\\\bar\\\\foo\",\"values\":[{\"name\":\"Foo\",\"data\":"
     "\"qwerty\",\"data_type\":\"REG_SZ\"},{\"name\":\"Bar\",\"data\":"
     "\"42\",\"data_type\":\"REG_DWORD\"}]}",
     "windows-registry-key--f6a11ddf-fa2b-54c8-97ab-e7f28413095a"},
    {"{\"type\":\"x509-certificate\",\"issuer\":\"C=ZA\",\"serial_number\""
     ":\"36:f7:d4:32:f4:ab:70:ea:d3:ce:98:6e:ea:99:93:49:32:0a:b7:06\"}",
     "x509-certificate--bf86f034-2390-54d7-8426-d08433db3fbe"},
    /* computed independently */
    {"{\"type\":\"network-traffic\",\"src_ref\":\"ipv4-addr--9cf4a8ec-7640"
     "-5f40-a006-79942896168b\",\"dst_ref\":\"ipv4-addr--28bb3599-77cd-"
     "5a82-a950-b5bc3caf07c4\",\"protocols\":[\"tcp\"],"
     "\"src_byte_count\":10}",
     "network-traffic--4292dccf-844d-5aa2-a8c2-285ed7a90c02"},
    {"{\"type\":\"network-traffic\",\"start\":\"2016-01-01T00:00:00Z\","
     "\"src_port\":223,\"dst_port\":80,\"dst_ref\":\"ipv4-addr--28bb3599-"
     "77cd-5a82-a950-b5bc3caf07c4\",\"protocols\":[\"ipv4\",\"tcp\"],"
     "\"extensions\":{\"tcp-ext\":{\"src_flags_hex\":\"00000002\"}}}",
     "network-traffic--097cc148-f3d0-55d7-ba29-a0adf36ee784"},
    {"{\"type\":\"file\",\"hashes\":{\"MD5\":\"3773a88f65a5e780c8dff9cdc3a0"
     "56f3\"},\"size\":25537,\"extensions\":{\"ntfs-ext\":{\"sid\":"
     "\"1234567\"}}}",
     "file--2e202cb3-6639-5fa4-8700-57ad24b9e246"},
    {"{\"type\":\"email-message\",\"is_multipart\":false,\"from_ref\":"
     "\"email-addr--6deb37bd-12b7-54ae-805f-5f7146f3d171\",\"subject\":"
     "\"Saying Hello\",\"date\":\"1997-11-21T15:55:06.000Z\"}",
     "email-message--16177f7c-38c5-59f4-baa5-b934fa13ce49"},
    {"{\"type\":\"email-message\",\"is_multipart\":false,\"body\":\"Hi\","
     "\"from_ref\":\"email-addr--6deb37bd-12b7-54ae-805f-5f7146f3d171\","
     "\"subject\":\"Saying Hello\"}",
     "email-message--eff76198-f1f8-50c4-b2db-6f137d3ad4e3"},
    {"{\"type\":\"artifact\",\"mime_type\":\"text/plain\","
     "\"payload_bin\":\"aGVsbG8=\"}",
     "artifact--c31e8e38-8283-504b-9e75-800b29a09186"},
    /* one hash only: MD5 is preferred, wherever it is */
    {"{\"type\":\"artifact\",\"payload_bin\":\"aGVsbG8=\",\"hashes\":{"
     "\"SHA-256\":\"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e7304"
     "3362938b9824\",\"MD5\":\"3773a88f65a5e780c8dff9cdc3a056f3\"}}",
     "artifact--cb9a4e6f-b05a-55e2-a803-700e438ba597"},
    {"{\"type\":\"x509-certificate\",\"serial_number\":\"01\",\"hashes\":"
     "{\"SHA-512\":\""
     "00000000000000000000000000000000000000000000000000"
     "000000000000000000000000000000000000000000000000000000000000000000"
     "000000000000\",\"SHA-1\":\"5374e08903744ceeaedd8f5e1bfc06b2c4688e"
     "76\"}}",
     "x509-certificate--f6364c8e-c4a4-5850-a57e-b87975df8756"},
    /* none of the four: the first hash */
    {"{\"type\":\"file\",\"name\":\"a\",\"hashes\":{\"x_foo\":\"abc\","
     "\"x_bar\":\"def\"}}",
     "file--48e6ccc3-2d9d-5c3a-8aee-1be47c73d5e7"},
    /* non-ASCII and a character outside the BMP */
    {"{\"type\":\"domain-name\",\"value\":\"\xe6\x97\xa5\xe6\x9c\xac\xe8"
     "\xaa\x9e.example\"}",
     "domain-name--4cbe4ad2-21ff-5d88-860c-1f4584ab89b5"},
    {"{\"type\":\"mutex\",\"name\":\"a\xf0\x9f\x98\x80"
     "b\"}",
     "mutex--35f649bd-4a78-5d3e-b904-61a04713808b"},
};

static void test_known_ids(void **state)
{
	(void)state;
	struct json_doc *doc = json_doc_new();
	struct stix_report rep;
	struct stix_info info;
	stix_report_init(&rep);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct json_val *v = NULL;
		uint8_t u[16];
		char us[UUID_STRLEN + 1];
		const char *want = strstr(cases[i].id, "--") + 2;
		assert_int_equal(json_parse(doc, cases[i].json,
					    strlen(cases[i].json), 0, NULL, &v,
					    NULL),
				 ST_OK);
		assert_int_equal(stix_sco_id(v, u), ST_OK);
		uuid_format(u, us);
		if (strcmp(us, want) != 0)
			print_error("case %zu: %s, want %s\n", i, us, want);
		assert_string_equal(us, want);
		assert_int_equal(uuid_version(u), 5);
		/* the same id when validation generates it */
		stix_report_reset(&rep);
		assert_int_equal(stix_validate(v, &info, &rep), ST_OK);
		assert_true(info.id_generated);
		assert_string_equal(info.id, cases[i].id);
	}
	stix_report_free(&rep);
	json_doc_free(doc);
}

static void test_random_ids(void **state)
{
	(void)state;
	static const char *const json[] = {
	    /* process has no contributing properties */
	    "{\"type\":\"process\",\"pid\":1}",
	    /* none of user-account's contributing properties is present */
	    "{\"type\":\"user-account\",\"display_name\":\"x\"}",
	};
	struct json_doc *doc = json_doc_new();
	for (size_t i = 0; i < sizeof(json) / sizeof(json[0]); i++) {
		const struct json_val *v = NULL;
		uint8_t a[16], b[16];
		assert_int_equal(json_parse(doc, json[i], strlen(json[i]), 0,
					    NULL, &v, NULL),
				 ST_OK);
		assert_int_equal(stix_sco_id(v, a), ST_OK);
		assert_int_equal(stix_sco_id(v, b), ST_OK);
		assert_int_equal(uuid_version(a), 4);
		assert_memory_not_equal(a, b, 16);
	}
	json_doc_free(doc);
}

static void test_not_sco(void **state)
{
	(void)state;
	static const char *const json[] = {
	    "{\"type\":\"indicator\"}",
	    "{\"type\":\"x-custom-sco\",\"value\":\"a\"}",
	    "{\"value\":\"1.2.3.4\"}",
	    "[1]",
	};
	struct json_doc *doc = json_doc_new();
	for (size_t i = 0; i < sizeof(json) / sizeof(json[0]); i++) {
		const struct json_val *v = NULL;
		uint8_t u[16];
		assert_int_equal(json_parse(doc, json[i], strlen(json[i]), 0,
					    NULL, &v, NULL),
				 ST_OK);
		assert_int_equal(stix_sco_id(v, u), ST_EINVAL);
	}
	json_doc_free(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_known_ids),
	    cmocka_unit_test(test_random_ids),
	    cmocka_unit_test(test_not_sco),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
