/*
 * Unit tests of src/interop/stix20.c: STIX 2.0 objects upgraded to 2.1.
 * Each upgraded object is checked property by property and must pass the
 * STIX 2.1 validator; the SCO ids are the 2.1 deterministic ones, computed
 * independently (UUIDv5 in the STIX namespace over the canonical JSON of
 * the ID contributing properties) and written here literally.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/json.h"
#include "interop/stix20.h"
#include "stix/stix.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IP_198 "ipv4-addr--12592121-be4c-5a93-a813-5a5af16e50db"
#define IP_203 "ipv4-addr--39090fdc-366e-571f-ab5b-d05e2918f88f"
#define DOMAIN "domain-name--69228563-c8d2-54ae-aeca-5f4134cb59aa"
#define TRAFFIC "network-traffic--f4eb600a-7758-5249-9115-f9c683567875"
#define DIR_TMP "directory--9d5142ea-3041-5292-b76f-5b9091552621"
#define FILE_EVIL "file--68a2009d-542c-5eca-b608-f9c00e17cc6f"
#define TLP_GREEN "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"
#define TLP_RED "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"

/* What one upgrade handed on. */
struct got {
	char *obj[16];
	uint64_t line[16];
	size_t n;
	char notes[64][256];
	size_t nnotes;
	int fail_at; /* on_object returns ST_ESTORE for this one (1-based) */
	struct json_doc *doc;
};

static int on_object(void *ctx, const char *json, size_t len, uint64_t line)
{
	struct got *g = ctx;
	assert_true(g->n < 16);
	assert_int_equal(json[len], '\0');
	if (g->fail_at != 0 && (int)g->n + 1 == g->fail_at)
		return ST_ESTORE;
	g->obj[g->n] = strdup(json);
	g->line[g->n] = line;
	g->n++;
	return ST_OK;
}

static void on_note(void *ctx, const char *id, const char *msg)
{
	struct got *g = ctx;
	assert_true(g->nnotes < 64);
	snprintf(g->notes[g->nnotes++], 256, "%s: %s", id, msg);
}

static void got_free(struct got *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->obj[i]);
	json_doc_free(g->doc);
	memset(g, 0, sizeof(*g));
}

static int upgrade(struct got *g, const char *json, struct diag *d)
{
	return ix_stix20_upgrade(json, strlen(json), 7, on_object, on_note, g,
				 d);
}

/* Object i parsed (valid until the next call). */
static const struct json_val *parsed(struct got *g, size_t i)
{
	const struct json_val *o;
	if (g->doc == NULL)
		g->doc = json_doc_new();
	assert_non_null(g->doc);
	assert_true(i < g->n);
	assert_int_equal(
	    json_parse(g->doc, g->obj[i], strlen(g->obj[i]), 0, NULL, &o, NULL),
	    ST_OK);
	return o;
}

/* Object i must be valid STIX 2.1 (errors only; warnings allowed). */
static void assert_valid(struct got *g, size_t i)
{
	struct stix_report rep;
	struct stix_info info;
	struct buf b = BUF_INIT(1 << 16);
	stix_report_init(&rep);
	if (stix_validate(parsed(g, i), &info, &rep) != ST_OK) {
		stix_report_format(&rep, info.id, true, &b);
		fail_msg("%s\n%s", g->obj[i], b.data ? b.data : "");
	}
	stix_report_free(&rep);
	buf_free(&b);
}

static bool has_note(const struct got *g, const char *part)
{
	for (size_t i = 0; i < g->nnotes; i++)
		if (strstr(g->notes[i], part) != NULL)
			return true;
	return false;
}

/* The string items of list key of o, joined by commas. */
static void joined(const struct json_val *o, const char *key, char *out,
		   size_t cap)
{
	const struct json_val *v = json_get(o, key);
	out[0] = '\0';
	assert_non_null(v);
	assert_int_equal(v->type, JSON_ARRAY);
	for (uint32_t i = 0; i < v->len; i++) {
		assert_int_equal(v->u.items[i].type, JSON_STRING);
		snprintf(out + strlen(out), cap - strlen(out), "%s%s",
			 i ? "," : "", v->u.items[i].u.str);
	}
}

static void test_indicator(void **state)
{
	(void)state;
	struct got g = {0};
	struct diag d;
	const char *in =
	    "{\"type\":\"indicator\",\"id\":\"indicator--8e2e2d2b-17d4-4cbf-"
	    "938f-98ee46b3cd3f\",\"created\":\"2016-04-06T20:03:48Z\","
	    "\"modified\":\"2016-04-06T20:03:48.1Z\",\"labels\":[\"malicious-"
	    "activity\"],\"name\":\"Poison Ivy\",\"pattern\":\"[file:hashes."
	    "'SHA-256' = '4bac27393bdd9777ce02453256c5577cd02275510b2227f473"
	    "d03f533924f877']\",\"valid_from\":\"2016-01-01T00:00:00Z\"}";
	assert_int_equal(upgrade(&g, in, &d), ST_OK);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.line[0], 7);
	assert_string_equal(
	    g.obj[0],
	    "{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":"
	    "\"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f\",\"created\":"
	    "\"2016-04-06T20:03:48.000Z\",\"modified\":\"2016-04-06T20:03:48."
	    "100Z\",\"indicator_types\":[\"malicious-activity\"],\"name\":"
	    "\"Poison Ivy\",\"pattern\":\"[file:hashes.'SHA-256' = "
	    "'4bac27393bdd9777ce02453256c5577cd02275510b2227f473d03f533924f877"
	    "']\",\"pattern_type\":\"stix\",\"pattern_version\":\"2.0\","
	    "\"valid_from\":\"2016-01-01T00:00:00Z\"}");
	assert_valid(&g, 0);
	assert_true(has_note(&g, "indicator--8e2e2d2b-17d4-4cbf-938f-"
				 "98ee46b3cd3f: added spec_version 2.1"));
	assert_true(has_note(&g, "labels moved to indicator_types"));
	assert_true(has_note(&g, "added pattern_type stix"));
	assert_true(has_note(&g, "created 2016-04-06T20:03:48Z written to "
				 "the millisecond"));
	got_free(&g);
}

static void test_malware_and_other_vocabularies(void **state)
{
	(void)state;
	static const struct {
		const char *type, *prop, *extra;
	} cases[] = {
	    {"malware", "malware_types", ""},
	    {"threat-actor", "threat_actor_types", ""},
	    {"tool", "tool_types", ""},
	    {"report", "report_types",
	     ",\"published\":\"2017-01-01T00:00:00Z\",\"object_refs\":["
	     "\"malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b\"]"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct got g = {0};
		struct diag d;
		char in[1024];
		snprintf(in, sizeof(in),
			 "{\"type\":\"%s\",\"id\":\"%s--31b940d4-6f7f-459a-"
			 "80ea-9c1f17b5891b\",\"created\":\"2017-01-27T13:49:"
			 "53.997Z\",\"modified\":\"2017-01-27T13:49:53.997Z\","
			 "\"name\":\"Cryptolocker\",\"labels\":[\"ransomware\","
			 "\"x-custom\"]%s}",
			 cases[i].type, cases[i].type, cases[i].extra);
		assert_int_equal(upgrade(&g, in, &d), ST_OK);
		assert_int_equal(g.n, 1);
		const struct json_val *o = parsed(&g, 0);
		char list[256];
		joined(o, cases[i].prop, list, sizeof(list));
		assert_string_equal(list, "ransomware,x-custom");
		assert_null(json_get(o, "labels"));
		assert_true(json_str_eq(json_get(o, "spec_version"), "2.1"));
		const struct json_val *fam = json_get(o, "is_family");
		if (strcmp(cases[i].type, "malware") == 0) {
			assert_non_null(fam);
			assert_int_equal(fam->type, JSON_TRUE);
			assert_true(has_note(&g, "added is_family true"));
		} else {
			assert_null(fam);
		}
		assert_valid(&g, 0);
		got_free(&g);
	}
	/* identity keeps identity_class; other types keep their labels */
	struct got g = {0};
	struct diag d;
	assert_int_equal(
	    upgrade(&g,
		    "{\"type\":\"identity\",\"id\":\"identity--311b2d2d-f010-"
		    "4473-83ec-1edf84858f4c\",\"created\":\"2015-12-21T19:59:"
		    "11.000Z\",\"modified\":\"2015-12-21T19:59:11.000Z\","
		    "\"name\":\"ACME\",\"identity_class\":\"organization\","
		    "\"labels\":[\"partner\"]}",
		    &d),
	    ST_OK);
	const struct json_val *o = parsed(&g, 0);
	assert_true(json_str_eq(json_get(o, "identity_class"), "organization"));
	char list[64];
	joined(o, "labels", list, sizeof(list));
	assert_string_equal(list, "partner");
	assert_valid(&g, 0);
	got_free(&g);
}

/* A 2.0 observed-data: addresses, a name resolving to one, traffic
 * between two (its id covers src_ref and dst_ref), a file in a directory
 * (its id covers parent_directory_ref) with 2.0's "created". */
static const char OBSERVED[] =
    "{\"type\":\"observed-data\",\"id\":\"observed-data--b67d30ff-02ac-498a-"
    "92f9-32f845f448cf\",\"created\":\"2016-04-06T19:58:16.000Z\","
    "\"modified\":\"2016-04-06T19:58:16.000Z\",\"first_observed\":"
    "\"2015-12-21T19:00:00Z\",\"last_observed\":\"2015-12-21T19:00:00Z\","
    "\"number_observed\":50,\"object_marking_refs\":[\"" TLP_GREEN "\"],"
    "\"objects\":{"
    "\"n\":{\"type\":\"network-traffic\",\"src_ref\":\"a\",\"dst_ref\":"
    "\"b\",\"dst_port\":443,\"protocols\":[\"tcp\"]},"
    "\"a\":{\"type\":\"ipv4-addr\",\"value\":\"198.51.100.7\"},"
    "\"d\":{\"type\":\"domain-name\",\"value\":\"evil.example\","
    "\"resolves_to_refs\":[\"a\",\"b\"]},"
    "\"b\":{\"type\":\"ipv4-addr\",\"value\":\"203.0.113.9\"},"
    "\"f\":{\"type\":\"file\",\"name\":\"evil.sh\",\"created\":"
    "\"2015-12-21T18:00:00Z\",\"parent_directory_ref\":\"t\"},"
    "\"t\":{\"type\":\"directory\",\"path\":\"/tmp\"}}}";

static void test_observed_data_refs(void **state)
{
	(void)state;
	struct got g = {0};
	struct diag d;
	char list[1024];
	assert_int_equal(upgrade(&g, OBSERVED, &d), ST_OK);
	assert_int_equal(g.n, 7);
	/* the SCOs in the order of objects, then the observed-data */
	static const char *const ids[] = {TRAFFIC, IP_198,    DOMAIN,
					  IP_203,  FILE_EVIL, DIR_TMP};
	for (size_t i = 0; i < 6; i++) {
		const struct json_val *o = parsed(&g, i);
		assert_true(json_str_eq(json_get(o, "id"), ids[i]));
		assert_true(json_str_eq(json_get(o, "spec_version"), "2.1"));
		joined(o, "object_marking_refs", list, sizeof(list));
		assert_string_equal(list, TLP_GREEN);
		assert_valid(&g, i);
	}
	const struct json_val *nt = parsed(&g, 0);
	assert_true(json_str_eq(json_get(nt, "src_ref"), IP_198));
	assert_true(json_str_eq(json_get(nt, "dst_ref"), IP_203));
	joined(parsed(&g, 2), "resolves_to_refs", list, sizeof(list));
	assert_string_equal(list, IP_198 "," IP_203);
	const struct json_val *f = parsed(&g, 4);
	assert_true(json_str_eq(json_get(f, "parent_directory_ref"), DIR_TMP));
	assert_true(json_str_eq(json_get(f, "ctime"), "2015-12-21T18:00:00Z"));
	assert_null(json_get(f, "created"));
	const struct json_val *od = parsed(&g, 6);
	assert_null(json_get(od, "objects"));
	joined(od, "object_refs", list, sizeof(list));
	assert_string_equal(list, TRAFFIC "," IP_198 "," DOMAIN "," IP_203
					  "," FILE_EVIL "," DIR_TMP);
	assert_valid(&g, 6);
	assert_true(has_note(&g, FILE_EVIL ": created renamed ctime"));
	assert_true(has_note(&g, TRAFFIC ": made from objects.n of "
					 "observed-data--b67d30ff"));
	assert_true(has_note(&g, TRAFFIC ": 2 references to embedded keys"));
	assert_true(has_note(&g, "objects (6 embedded observables) replaced "
				 "by object_refs"));
	for (size_t i = 0; i < g.n; i++)
		assert_int_equal(g.line[i], 7);
	got_free(&g);
}

static void test_same_observable_twice_is_one_sco(void **state)
{
	(void)state;
	struct got g = {0};
	struct diag d;
	char list[512];
	assert_int_equal(
	    upgrade(&g,
		    "{\"type\":\"observed-data\",\"id\":\"observed-data--"
		    "b67d30ff-02ac-498a-92f9-32f845f448cf\",\"created\":\"2016-"
		    "04-06T19:58:16.000Z\",\"modified\":\"2016-04-06T19:58:16."
		    "000Z\",\"first_observed\":\"2015-12-21T19:00:00Z\","
		    "\"last_observed\":\"2015-12-21T19:00:00Z\",\"number_"
		    "observed\":1,\"objects\":{\"0\":{\"type\":\"ipv4-addr\","
		    "\"value\":\"198.51.100.7\"},\"1\":{\"type\":\"ipv4-addr\","
		    "\"value\":\"198.51.100.7\"}}}",
		    &d),
	    ST_OK);
	assert_int_equal(g.n, 2);
	assert_true(json_str_eq(json_get(parsed(&g, 0), "id"), IP_198));
	joined(parsed(&g, 1), "object_refs", list, sizeof(list));
	assert_string_equal(list, IP_198);
	got_free(&g);
}

static void test_granular_marking_moves_to_the_sco(void **state)
{
	(void)state;
	struct got g = {0};
	struct diag d;
	char list[512];
	assert_int_equal(
	    upgrade(
		&g,
		"{\"type\":\"observed-data\",\"id\":\"observed-data--"
		"b67d30ff-02ac-498a-92f9-32f845f448cf\",\"created\":\"2016-"
		"04-06T19:58:16.000Z\",\"modified\":\"2016-04-06T19:58:16."
		"000Z\",\"first_observed\":\"2015-12-21T19:00:00Z\","
		"\"last_observed\":\"2015-12-21T19:00:00Z\",\"number_"
		"observed\":1,\"granular_markings\":[{\"marking_ref\":"
		"\"" TLP_RED
		"\",\"selectors\":[\"objects.1.value\",\"objects.1\","
		"\"number_observed\"]}],\"objects\":{\"0\":{\"type\":"
		"\"domain-name\",\"value\":\"evil.example\"},\"1\":{\"type\":"
		"\"ipv4-addr\",\"value\":\"198.51.100.7\"}}}",
		&d),
	    ST_OK);
	assert_int_equal(g.n, 3);
	assert_null(json_get(parsed(&g, 0), "object_marking_refs"));
	joined(parsed(&g, 1), "object_marking_refs", list, sizeof(list));
	assert_string_equal(list, TLP_RED);
	const struct json_val *od = parsed(&g, 2);
	const struct json_val *gm = json_get(od, "granular_markings");
	assert_non_null(gm);
	assert_int_equal(gm->len, 1);
	joined(&gm->u.items[0], "selectors", list, sizeof(list));
	assert_string_equal(list, "object_refs.[1],number_observed");
	for (size_t i = 0; i < g.n; i++)
		assert_valid(&g, i);
	got_free(&g);
}

struct bad_case {
	const char *json;
	int rc;
	const char *msg; /* a part of the message */
};

static void test_refused(void **state)
{
	(void)state;
#define OD_HEAD                                                                \
	"{\"type\":\"observed-data\",\"id\":\"observed-data--b67d30ff-02ac-"   \
	"498a-92f9-32f845f448cf\",\"created\":\"2016-04-06T19:58:16.000Z\","   \
	"\"modified\":\"2016-04-06T19:58:16.000Z\",\"first_observed\":"        \
	"\"2015-12-21T19:00:00Z\",\"last_observed\":\"2015-12-21T19:00:00Z\"," \
	"\"number_observed\":1,"
	static const struct bad_case cases[] = {
	    {"[1,2]", ST_EINVAL,
	     "object 7: a STIX object must be a JSON "
	     "object, not array"},
	    {"\"indicator\"", ST_EINVAL, "must be a JSON object, not string"},
	    {"{\"id\":\"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f\"}",
	     ST_EINVAL, "object 7: type: required, and missing"},
	    {"{\"type\":7}", ST_EINVAL, "type: must be a non-empty string"},
	    {"{\"type\":\"indicator\",\"pattern\":\"[a:b = 'c']\"}", ST_EINVAL,
	     "object 7 (indicator): id: required, and missing"},
	    {"{\"type\":\"indicator\",", ST_EJSON, "object 7: "},
	    {OD_HEAD "\"objects\":{\"0\":{\"type\":\"domain-name\",\"value\":"
		     "\"evil.example\",\"resolves_to_refs\":[\"9\"]}}}",
	     ST_EINVAL,
	     "observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf: objects.0."
	     "resolves_to_refs: no embedded object has the key '9'"},
	    {OD_HEAD "\"objects\":{\"0\":{\"type\":\"network-traffic\","
		     "\"src_ref\":1,\"protocols\":[\"tcp\"]}}}",
	     ST_EINVAL, "objects.0.src_ref: a reference must be the key"},
	    {OD_HEAD "\"objects\":{}}", ST_EINVAL,
	     "objects: must be a dictionary of embedded observables with at "
	     "least one, not an empty one"},
	    {OD_HEAD "\"objects\":[]}", ST_EINVAL, "not array"},
	    {OD_HEAD "\"foo\":1}", ST_EINVAL, "objects: required"},
	    {OD_HEAD "\"objects\":{\"0\":[1]}}", ST_EINVAL,
	     "objects.0: an embedded observable must be an object"},
	    {OD_HEAD "\"objects\":{\"0\":{\"value\":\"x\"}}}", ST_EINVAL,
	     "objects.0: an embedded observable needs a string type"},
	    {OD_HEAD "\"objects\":{\"0\":{\"type\":\"x-thing\"}}}", ST_EINVAL,
	     "'x-thing' is not an observable type of the specification"},
	    /* two archives holding each other: neither id can be first */
	    {OD_HEAD
	     "\"objects\":{\"0\":{\"type\":\"file\",\"name\":\"a.zip\","
	     "\"extensions\":{\"archive-ext\":{\"contains_refs\":[\"1\"]"
	     "}}},\"1\":{\"type\":\"file\",\"name\":\"b.zip\","
	     "\"extensions\":{\"archive-ext\":{\"contains_refs\":[\"0\"]"
	     "}}}}}",
	     ST_EINVAL, "references lead back to it"},
	    {OD_HEAD "\"granular_markings\":[{\"marking_ref\":\"" TLP_RED
		     "\",\"selectors\":[\"objects.5.value\"]}],\"objects\":{"
		     "\"0\":{\"type\":\"mutex\",\"name\":\"m\"}}}",
	     ST_EINVAL,
	     "granular_markings[0].selectors[0]: no embedded "
	     "object has the key '5'"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct got g = {0};
		struct diag d = {{0}};
		int rc = upgrade(&g, cases[i].json, &d);
		if (rc != cases[i].rc || strstr(d.msg, cases[i].msg) == NULL)
			fail_msg("case %zu: rc %d, '%s'", i, rc, d.msg);
		assert_int_equal(g.n, 0); /* nothing handed on */
		assert_int_equal(g.nnotes, 0);
		got_free(&g);
	}
}

static void test_too_many_observables(void **state)
{
	(void)state;
	struct buf b = BUF_INIT((size_t)4 << 20);
	struct got g = {0};
	struct diag d = {{0}};
	buf_adds(&b, OD_HEAD "\"objects\":{");
	for (int i = 0; i <= IX_STIX20_OBJECTS_MAX; i++)
		buf_printf(&b, "%s\"%d\":{\"type\":\"mutex\",\"name\":\"m%d\"}",
			   i ? "," : "", i, i);
	buf_adds(&b, "}}");
	assert_int_equal(
	    ix_stix20_upgrade(b.data, b.len, 1, on_object, on_note, &g, &d),
	    ST_ELIMIT);
	assert_non_null(strstr(d.msg, "10001 embedded observables"));
	assert_int_equal(g.n, 0);
	got_free(&g);
	buf_free(&b);
}

static void test_stix21_passes_through(void **state)
{
	(void)state;
	static const char *const in[] = {
	    /* as it came, spacing included */
	    "{ \"type\": \"indicator\", \"spec_version\": \"2.1\", \"id\": "
	    "\"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f\", \"labels\": "
	    "[\"x\"], \"created\": \"2016-04-06T20:03:48Z\" }",
	    /* an SCO of 2.1 may come without id and spec_version */
	    "{\"type\":\"ipv4-addr\",\"value\":\"198.51.100.7\"}",
	    /* a type new in 2.1 is not 2.0, even without spec_version */
	    "{\"type\":\"note\",\"id\":\"note--0c7b5b88-8ff7-4a4d-aa9d-"
	    "feb398cd0061\",\"content\":\"x\"}",
	    "{\"type\":\"bundle\",\"id\":\"bundle--0c7b5b88-8ff7-4a4d-aa9d-"
	    "feb398cd0061\",\"spec_version\":\"2.0\",\"objects\":[]}",
	};
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		struct got g = {0};
		struct diag d;
		assert_int_equal(upgrade(&g, in[i], &d), ST_OK);
		assert_int_equal(g.n, 1);
		assert_string_equal(g.obj[0], in[i]);
		assert_int_equal(g.nnotes, 0);
		got_free(&g);
	}
}

static void test_is_20(void **state)
{
	(void)state;
	static const struct {
		const char *json;
		bool is20;
	} cases[] = {
	    {"{\"type\":\"indicator\",\"id\":\"indicator--1\"}", true},
	    {"{\"type\":\"relationship\"}", true},
	    {"{\"type\":\"marking-definition\"}", true},
	    {"{\"type\":\"x-mitre-tactic\"}", true},
	    {"{\"type\":\"indicator\",\"spec_version\":\"2.0\"}", true},
	    {"{\"type\":\"indicator\",\"spec_version\":\"2.1\"}", false},
	    {"{\"type\":\"ipv4-addr\"}", false},
	    {"{\"type\":\"bundle\"}", false},
	    {"{\"type\":\"grouping\"}", false},
	    {"{\"type\":\"x-thing\",\"extensions\":{\"extension-definition--"
	     "1\":{\"extension_type\":\"new-sco\"}}}",
	     false},
	    {"{\"type\":1}", false},
	    {"[]", false},
	};
	struct json_doc *doc = json_doc_new();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct json_val *o;
		assert_int_equal(json_parse(doc, cases[i].json,
					    strlen(cases[i].json), 0, NULL, &o,
					    NULL),
				 ST_OK);
		if (ix_stix20_is_20(o) != cases[i].is20)
			fail_msg("%s", cases[i].json);
	}
	assert_false(ix_stix20_is_20(NULL));
	json_doc_free(doc);
}

static void test_on_object_error_stops(void **state)
{
	(void)state;
	struct got g = {.fail_at = 2};
	struct diag d = {{0}};
	assert_int_equal(upgrade(&g, OBSERVED, &d), ST_ESTORE);
	assert_int_equal(g.n, 1);
	assert_non_null(strstr(d.msg, IP_198));
	got_free(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_indicator),
	    cmocka_unit_test(test_malware_and_other_vocabularies),
	    cmocka_unit_test(test_observed_data_refs),
	    cmocka_unit_test(test_same_observable_twice_is_one_sco),
	    cmocka_unit_test(test_granular_marking_moves_to_the_sco),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_too_many_observables),
	    cmocka_unit_test(test_stix21_passes_through),
	    cmocka_unit_test(test_is_20),
	    cmocka_unit_test(test_on_object_error_stops),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
