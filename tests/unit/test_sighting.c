/* Sightings: aggregation per indicator and window, markings inherited from
 * the indicator, and nothing of our own networks in what is emitted. */
#include "telemetry/sighting.h"

#include "common/buf.h"
#include "stix/stix.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define IDENTITY "identity--4f4b7e6e-1c2d-4e7a-9a55-2f0c1d0c7a11"
#define STRICT "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
#define GREEN "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
#define HOUR ((st_time)3600 * 1000000)
#define T0 ((st_time)1767225600 * 1000000) /* 2026-01-01T00:00:00Z */

/* What a flush appended, one object per entry. */
struct sink {
	char *objs[64];
	size_t n;
};

static int collect(void *ctx, const char *indicator, const char *json,
		   size_t len)
{
	struct sink *s = ctx;
	assert_non_null(strstr(indicator, "indicator--"));
	if (s->n == 64)
		return ST_ELIMIT;
	s->objs[s->n] = strndup(json, len);
	s->n++;
	return ST_OK;
}

static void sink_free(struct sink *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->objs[i]);
	s->n = 0;
}

/* The parsed indicator of the tests (lives in doc). */
static const struct json_val *indicator(struct json_doc *doc, const char *json)
{
	const struct json_val *root;
	struct diag d;
	assert_int_equal(json_parse(doc, json, strlen(json), 0,
				    &JSON_LIMITS_DEFAULT, &root, &d),
			 ST_OK);
	return root;
}

static const char *IND_STRICT =
    "{\"type\":\"indicator\",\"spec_version\":\"2.1\","
    "\"id\":\"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f\","
    "\"created\":\"2026-01-01T00:00:00.000Z\","
    "\"modified\":\"2026-01-01T00:00:00.000Z\","
    "\"pattern\":\"[ipv4-addr:value = '198.51.100.7']\","
    "\"pattern_type\":\"stix\",\"valid_from\":\"2026-01-01T00:00:00Z\","
    "\"object_marking_refs\":[\"" STRICT "\"]}";

static const char *IND_GRANULAR =
    "{\"type\":\"indicator\",\"spec_version\":\"2.1\","
    "\"id\":\"indicator--0b3c1c52-6a47-4b8e-8f5c-6f1d1d1f3c22\","
    "\"created\":\"2026-01-01T00:00:00.000Z\","
    "\"modified\":\"2026-01-01T00:00:00.000Z\","
    "\"pattern\":\"[domain-name:value = 'evil.example']\","
    "\"pattern_type\":\"stix\",\"valid_from\":\"2026-01-01T00:00:00Z\","
    "\"object_marking_refs\":[\"" GREEN "\"],"
    "\"granular_markings\":[{\"marking_ref\":\"" STRICT "\","
    "\"selectors\":[\"pattern\"]}]}";

static const char *IND_BARE =
    "{\"type\":\"indicator\",\"spec_version\":\"2.1\","
    "\"id\":\"indicator--5b0e7d77-4a1c-4f52-9a53-4f5b0b9c1d33\","
    "\"created\":\"2026-01-01T00:00:00.000Z\","
    "\"modified\":\"2026-01-01T00:00:00.000Z\","
    "\"pattern\":\"[file:hashes.'SHA-256' = "
    "'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']\","
    "\"pattern_type\":\"stix\",\"valid_from\":\"2026-01-01T00:00:00Z\"}";

/* The first emitted object of a type, parsed into doc. */
static const struct json_val *find(struct json_doc *doc, struct sink *s,
				   const char *type)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct json_val *root;
		struct diag d;
		assert_int_equal(json_parse(doc, s->objs[i], strlen(s->objs[i]),
					    0, &JSON_LIMITS_DEFAULT, &root, &d),
				 ST_OK);
		if (json_str_eq(json_get(root, "type"), type))
			return root;
	}
	return NULL;
}

static void assert_all_valid(struct sink *s)
{
	struct json_doc *doc = json_doc_new();
	struct stix_report rep;
	stix_report_init(&rep);
	for (size_t i = 0; i < s->n; i++) {
		const struct json_val *root;
		struct stix_info info;
		struct diag d;
		assert_int_equal(json_parse(doc, s->objs[i], strlen(s->objs[i]),
					    0, &JSON_LIMITS_DEFAULT, &root, &d),
				 ST_OK);
		stix_report_reset(&rep);
		if (stix_validate(root, &info, &rep) != ST_OK)
			fail_msg("not valid STIX: %s", s->objs[i]);
	}
	stix_report_free(&rep);
	json_doc_free(doc);
}

/* A conn record with our internal host on one side. */
static const char *CONTEXT_ADDR =
    "{\"type\":\"ipv4-addr\",\"value\":\"10.20.30.40\"}";

static void
test_strict_sighting_keeps_marking_and_no_internal_address(void **state)
{
	(void)state;
	struct json_doc *doc = json_doc_new(), *cdoc = json_doc_new();
	const struct json_val *ind = indicator(doc, IND_STRICT);
	const struct json_val *ctxv;
	struct diag d;
	assert_int_equal(json_parse(cdoc, CONTEXT_ADDR, strlen(CONTEXT_ADDR), 0,
				    &JSON_LIMITS_DEFAULT, &ctxv, &d),
			 ST_OK);
	struct sighting_options o = {.identity = IDENTITY};
	struct sighting_agg *a = sighting_agg_new(&o);
	assert_non_null(a);
	struct sighting_hit h = {.indicator = ind,
				 .tlp = -1,
				 .sco_type = "ipv4-addr",
				 .path = "value",
				 .value = "198.51.100.7",
				 .when = T0 + 5 * 1000000,
				 .context = &ctxv,
				 .n_context = 1};
	assert_int_equal(sighting_add(a, &h, &d), ST_OK);
	h.when = T0 + 65 * 1000000;
	assert_int_equal(sighting_add(a, &h, &d), ST_OK);
	struct sink s = {0};
	assert_int_equal(sighting_flush(a, T0 + HOUR, collect, &s, &d), 1);
	assert_int_equal(s.n, 3); /* the SCO, observed-data, sighting */
	assert_all_valid(&s);
	for (size_t i = 0; i < s.n; i++) {
		/* every object carries the indicator's AMBER+STRICT */
		assert_non_null(strstr(s.objs[i], STRICT));
		/* and nothing of the record but the matched value */
		assert_null(strstr(s.objs[i], "10.20.30.40"));
	}
	struct json_doc *pd = json_doc_new();
	const struct json_val *sg = find(pd, &s, "sighting");
	assert_non_null(sg);
	assert_true(
	    json_str_eq(json_get(sg, "sighting_of_ref"),
			"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"));
	assert_int_equal(json_get(sg, "count")->u.num.i, 2);
	assert_true(json_str_eq(json_get(sg, "first_seen"),
				"2026-01-01T00:00:05.000000Z"));
	assert_true(json_str_eq(json_get(sg, "last_seen"),
				"2026-01-01T00:01:05.000000Z"));
	const struct json_val *w = json_get(sg, "where_sighted_refs");
	assert_int_equal(w->len, 1);
	assert_true(json_str_eq(&w->u.items[0], IDENTITY));
	const struct json_val *od = find(pd, &s, "observed-data");
	assert_int_equal(json_get(od, "number_observed")->u.num.i, 2);
	assert_int_equal(json_get(od, "object_refs")->len, 1);
	json_doc_free(pd);
	sink_free(&s);
	sighting_agg_free(a);
	json_doc_free(doc);
	json_doc_free(cdoc);
}

static void test_context_only_when_asked(void **state)
{
	(void)state;
	struct json_doc *doc = json_doc_new(), *cdoc = json_doc_new();
	const struct json_val *ind = indicator(doc, IND_STRICT);
	const struct json_val *ctxv;
	struct diag d;
	assert_int_equal(json_parse(cdoc, CONTEXT_ADDR, strlen(CONTEXT_ADDR), 0,
				    &JSON_LIMITS_DEFAULT, &ctxv, &d),
			 ST_OK);
	struct sighting_options o = {.identity = IDENTITY,
				     .include_context = true};
	struct sighting_agg *a = sighting_agg_new(&o);
	struct sighting_hit h = {.indicator = ind,
				 .tlp = -1,
				 .sco_type = "ipv4-addr",
				 .path = "value",
				 .value = "198.51.100.7",
				 .when = T0,
				 .context = &ctxv,
				 .n_context = 1};
	assert_int_equal(sighting_add(a, &h, &d), ST_OK);
	struct sink s = {0};
	assert_int_equal(sighting_flush(a, T0 + 1000000, collect, &s, &d), 1);
	assert_int_equal(s.n, 4);
	assert_all_valid(&s);
	bool seen = false;
	for (size_t i = 0; i < s.n; i++) {
		seen |= strstr(s.objs[i], "10.20.30.40") != NULL;
		assert_non_null(strstr(s.objs[i], STRICT));
	}
	assert_true(seen);
	sink_free(&s);
	sighting_agg_free(a);
	json_doc_free(doc);
	json_doc_free(cdoc);
}

static void test_windows_and_new_versions(void **state)
{
	(void)state;
	struct json_doc *doc = json_doc_new();
	const struct json_val *ind = indicator(doc, IND_BARE);
	struct diag d;
	struct sighting_options o = {.identity = IDENTITY, .window_s = 3600};
	struct sighting_agg *a = sighting_agg_new(&o);
	struct sighting_hit h = {
	    .indicator = ind,
	    .tlp = TLP_AMBER,
	    .sco_type = "file",
	    .path = "hashes.SHA-256",
	    .value = "aec070645fe53ee3b3763059376134f058cc337247c978add178"
		     "b6ccdfb0019f",
	    .when = T0 + 10 * 1000000};
	assert_int_equal(sighting_add(a, &h, &d), ST_OK);
	h.when = T0 + HOUR + 1; /* the next window: another sighting */
	assert_int_equal(sighting_add(a, &h, &d), ST_OK);
	assert_int_equal(sighting_count(a), 2);
	struct sink s = {0};
	assert_int_equal(sighting_flush(a, T0 + 2 * HOUR, collect, &s, &d), 2);
	assert_all_valid(&s);
	/* No marking on the indicator: its stored TLP, made explicit. */
	const char *amber =
	    "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421";
	for (size_t i = 0; i < s.n; i++)
		assert_non_null(strstr(s.objs[i], amber));
	/* The sighting of the first window. */
	struct json_doc *pd = json_doc_new();
	char id[128] = "", mod[64] = "";
	int sightings = 0;
	for (size_t i = 0; i < s.n; i++) {
		const struct json_val *obj;
		assert_int_equal(json_parse(pd, s.objs[i], strlen(s.objs[i]), 0,
					    &JSON_LIMITS_DEFAULT, &obj, &d),
				 ST_OK);
		if (!json_str_eq(json_get(obj, "type"), "sighting"))
			continue;
		sightings++;
		if (json_str_eq(json_get(obj, "first_seen"),
				"2026-01-01T00:00:10.000000Z")) {
			snprintf(id, sizeof(id), "%s",
				 json_get(obj, "id")->u.str);
			snprintf(mod, sizeof(mod), "%s",
				 json_get(obj, "modified")->u.str);
		}
	}
	assert_int_equal(sightings, 2);
	assert_true(id[0] != '\0');
	sink_free(&s);
	const struct json_val *sg;

	/* Nothing new: nothing emitted. */
	assert_int_equal(sighting_flush(a, T0 + 2 * HOUR, collect, &s, &d), 0);
	assert_int_equal(s.n, 0);

	/* One more hit in the first window: a later version, same id. */
	h.when = T0 + 20 * 1000000;
	assert_int_equal(sighting_add(a, &h, &d), ST_OK);
	assert_int_equal(sighting_flush(a, T0 + 2 * HOUR, collect, &s, &d), 1);
	sg = find(pd, &s, "sighting");
	assert_string_equal(json_get(sg, "id")->u.str, id);
	assert_true(strcmp(json_get(sg, "modified")->u.str, mod) > 0);
	assert_int_equal(json_get(sg, "count")->u.num.i, 2);
	json_doc_free(pd);
	sink_free(&s);
	sighting_agg_free(a);
	json_doc_free(doc);
}

static void test_granular_marking_is_inherited(void **state)
{
	(void)state;
	struct json_doc *doc = json_doc_new();
	const struct json_val *ind = indicator(doc, IND_GRANULAR);
	struct diag d;
	struct sighting_options o = {.identity = IDENTITY};
	struct sighting_agg *a = sighting_agg_new(&o);
	struct sighting_hit h = {.indicator = ind,
				 .tlp = -1,
				 .sco_type = "domain-name",
				 .path = "value",
				 .value = "evil.example",
				 .when = T0};
	assert_int_equal(sighting_add(a, &h, &d), ST_OK);
	struct sink s = {0};
	assert_int_equal(sighting_flush(a, T0, collect, &s, &d), 1);
	assert_all_valid(&s);
	struct json_doc *pd = json_doc_new();
	for (size_t i = 0; i < s.n; i++) {
		const struct json_val *root;
		struct stix_info info;
		struct stix_report rep;
		stix_report_init(&rep);
		assert_int_equal(json_parse(pd, s.objs[i], strlen(s.objs[i]), 0,
					    &JSON_LIMITS_DEFAULT, &root, &d),
				 ST_OK);
		assert_int_equal(stix_validate(root, &info, &rep), ST_OK);
		/* at object level: the whole object is AMBER+STRICT */
		assert_int_equal(info.tlp, TLP_AMBER_STRICT);
		stix_report_free(&rep);
	}
	json_doc_free(pd);
	sink_free(&s);
	sighting_agg_free(a);
	json_doc_free(doc);
}

/* As the matcher hands hits over: the id and the object-level refs only;
 * the stored TLP (granular AMBER+STRICT here) is made explicit. */
static void test_refs_and_stored_tlp(void **state)
{
	(void)state;
	struct diag d;
	const char *refs[] = {GREEN};
	struct sighting_options o = {.identity = IDENTITY};
	struct sighting_agg *a = sighting_agg_new(&o);
	struct sighting_hit h = {
	    .indicator_id = "indicator--0b3c1c52-6a47-4b8e-8f5c-6f1d1d1f3c22",
	    .markings = refs,
	    .n_markings = 1,
	    .tlp = TLP_AMBER_STRICT,
	    .sco_type = "domain-name",
	    .path = "value",
	    .value = "evil.example",
	    .when = T0};
	assert_int_equal(sighting_add(a, &h, &d), ST_OK);
	struct sink s = {0};
	assert_int_equal(sighting_flush(a, T0, collect, &s, &d), 1);
	assert_int_equal(s.n, 3);
	assert_all_valid(&s);
	for (size_t i = 0; i < s.n; i++) {
		assert_non_null(strstr(s.objs[i], GREEN));
		assert_non_null(strstr(s.objs[i], STRICT));
	}
	sink_free(&s);
	sighting_agg_free(a);
}

static void test_value_that_is_no_sco_alone(void **state)
{
	(void)state;
	struct json_doc *doc = json_doc_new();
	const struct json_val *ind = indicator(doc, IND_STRICT);
	struct diag d;
	struct sighting_options o = {.identity = IDENTITY};
	struct sighting_agg *a = sighting_agg_new(&o);
	/* A port alone is no valid network-traffic: the sighting goes
	 * without observed-data rather than with an invalid object. */
	struct sighting_hit h = {.indicator = ind,
				 .tlp = -1,
				 .sco_type = "network-traffic",
				 .path = "dst_port",
				 .value = "4444",
				 .when = T0};
	assert_int_equal(sighting_add(a, &h, &d), ST_OK);
	struct sink s = {0};
	assert_int_equal(sighting_flush(a, T0, collect, &s, &d), 1);
	assert_int_equal(s.n, 1);
	assert_all_valid(&s);
	assert_null(strstr(s.objs[0], "observed_data_refs"));
	sink_free(&s);
	sighting_agg_free(a);
	json_doc_free(doc);
}

static void test_refusals(void **state)
{
	(void)state;
	struct sighting_options none = {0};
	assert_null(sighting_agg_new(&none));
	struct json_doc *doc = json_doc_new();
	const struct json_val *noid =
	    indicator(doc, "{\"type\":\"indicator\"}");
	struct sighting_options o = {.identity = IDENTITY};
	struct sighting_agg *a = sighting_agg_new(&o);
	struct sighting_hit h = {.indicator = noid, .tlp = -1, .when = T0};
	struct diag d;
	assert_int_equal(sighting_add(a, &h, &d), ST_EINVAL);
	assert_int_equal(sighting_count(a), 0);
	sighting_agg_free(a);
	sighting_agg_free(NULL);
	json_doc_free(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(
		test_strict_sighting_keeps_marking_and_no_internal_address),
	    cmocka_unit_test(test_context_only_when_asked),
	    cmocka_unit_test(test_windows_and_new_versions),
	    cmocka_unit_test(test_granular_marking_is_inherited),
	    cmocka_unit_test(test_refs_and_stored_tlp),
	    cmocka_unit_test(test_value_that_is_no_sco_alone),
	    cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
