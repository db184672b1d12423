/*
 * TLP: the level computed for marked objects (object and granular
 * markings, TLP 1.0 mapped onto 2.0, unknown markings), the pinned
 * built-in marking definitions and the helpers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "stix/stix.h"

#include <stdio.h>
#include <string.h>

#define MD "marking-definition--"
#define W1 MD "613f2e26-407d-48c7-9eca-b8e91df99dc9"
#define G1 MD "34098fce-860f-48ae-8e50-ebd3cc5e41da"
#define A1 MD "f88d31f6-486f-44da-b317-01333bde0b82"
#define R1 MD "5e57c739-391a-4eb3-b6be-7d15ca92d5ed"
#define C2 MD "94868c89-83c2-464b-929b-a1a8aa3c8487"
#define G2 MD "bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
#define A2 MD "55d920b0-5e8b-4f79-9ee9-91f868d9b421"
#define AS2 MD "939a9414-2ddd-4d32-a0cd-375ea402b003"
#define R2 MD "e828b379-4e03-4974-9ac4-e53a884c97c1"
#define OTHER MD "4a0042fe-8b88-40fe-9600-dfa128ce6fbd"
#define TLP2EXT "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"

#define IND(extra)                                                           \
	"{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":"           \
	"\"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f\",\"created\":"   \
	"\"2016-04-06T20:03:48.000Z\",\"modified\":"                         \
	"\"2016-04-06T20:03:48.000Z\",\"name\":\"n\",\"description\":\"d\"," \
	"\"pattern\":\"[x:y = 'z']\",\"pattern_type\":\"stix\","             \
	"\"valid_from\":\"2016-01-01T00:00:00Z\"" extra "}"
#define OMR(refs) ",\"object_marking_refs\":[" refs "]"
#define GM(ref, sel)                                      \
	",\"granular_markings\":[{\"marking_ref\":\"" ref \
	"\",\"selectors\":[" sel "]}]"
#define Q(s) "\"" s "\""

#define TLP1(id, name, level)                                               \
	"{\"type\":\"marking-definition\",\"spec_version\":\"2.1\",\"id\":" \
	"\"" id                                                             \
	"\",\"created\":\"2017-01-20T00:00:00.000Z\",\"definition_type\":"  \
	"\"tlp\"" name ",\"definition\":{\"tlp\":\"" level "\"}}"
#define TLP2(id, name, level, extra)                                           \
	"{\"type\":\"marking-definition\",\"spec_version\":\"2.1\",\"id\":"    \
	"\"" id "\",\"created\":\"2022-10-01T00:00:00.000Z\",\"name\":\"" name \
	"\"" extra ",\"extensions\":{\"" TLP2EXT "\":{\"extension_type\":"     \
	"\"property-extension\",\"tlp_2_0\":\"" level "\"}}}"

struct mcase {
	const char *name;
	const char *json;
	int rc;
	enum tlp tlp;
	bool unknown;
	const char *issue; /* substring of an issue's message, or NULL: none */
};

static const struct mcase cases[] = {
    {"unmarked", IND(""), ST_OK, TLP_NONE, false, NULL},
    {"TLP 1.0 white is clear", IND(OMR(Q(W1))), ST_OK, TLP_CLEAR, false, NULL},
    {"TLP 1.0 green", IND(OMR(Q(G1))), ST_OK, TLP_GREEN, false, NULL},
    {"TLP 1.0 amber", IND(OMR(Q(A1))), ST_OK, TLP_AMBER, false, NULL},
    {"TLP 1.0 red", IND(OMR(Q(R1))), ST_OK, TLP_RED, false, NULL},
    {"TLP 2.0 clear", IND(OMR(Q(C2))), ST_OK, TLP_CLEAR, false, NULL},
    {"TLP 2.0 green", IND(OMR(Q(G2))), ST_OK, TLP_GREEN, false, NULL},
    {"TLP 2.0 amber", IND(OMR(Q(A2))), ST_OK, TLP_AMBER, false, NULL},
    {"TLP 2.0 amber+strict", IND(OMR(Q(AS2))), ST_OK, TLP_AMBER_STRICT, false,
     NULL},
    {"TLP 2.0 red", IND(OMR(Q(R2))), ST_OK, TLP_RED, false, NULL},
    {"most restrictive of two", IND(OMR(Q(G2) "," Q(A1))), ST_OK, TLP_AMBER,
     false, NULL},
    {"most restrictive of three", IND(OMR(Q(C2) "," Q(R2) "," Q(G1))), ST_OK,
     TLP_RED, false, NULL},
    {"amber+strict over amber", IND(OMR(Q(A2) "," Q(AS2))), ST_OK,
     TLP_AMBER_STRICT, false, NULL},
    {"granular marking only", IND(GM(A2, Q("description"))), ST_OK, TLP_AMBER,
     false, NULL},
    {"granular more restrictive than the object",
     IND(OMR(Q(G2)) GM(R1, Q("description"))), ST_OK, TLP_RED, false, NULL},
    {"object more restrictive than granular", IND(OMR(Q(A2)) GM(C2, Q("name"))),
     ST_OK, TLP_AMBER, false, NULL},
    {"language granular marking is no TLP",
     IND(",\"granular_markings\":[{\"lang\":\"de\",\"selectors\":"
	 "[\"description\"]}]"),
     ST_OK, TLP_NONE, false, NULL},
    {"unknown marking", IND(OMR(Q(OTHER))), ST_OK, TLP_NONE, true, NULL},
    {"unknown marking beside TLP", IND(OMR(Q(G2) "," Q(OTHER))), ST_OK,
     TLP_GREEN, true, NULL},
    {"unknown granular marking", IND(GM(OTHER, Q("name"))), ST_OK, TLP_NONE,
     true, NULL},
    /* the built-in definitions themselves */
    {"built-in white", TLP1(W1, ",\"name\":\"TLP:WHITE\"", "white"), ST_OK,
     TLP_NONE, false, NULL},
    {"built-in green", TLP1(G1, ",\"name\":\"TLP:GREEN\"", "green"), ST_OK,
     TLP_NONE, false, NULL},
    {"built-in amber", TLP1(A1, ",\"name\":\"TLP:AMBER\"", "amber"), ST_OK,
     TLP_NONE, false, NULL},
    {"built-in red", TLP1(R1, ",\"name\":\"TLP:RED\"", "red"), ST_OK, TLP_NONE,
     false, NULL},
    {"built-in red without name (STIX 2.0 style)", TLP1(R1, "", "red"), ST_OK,
     TLP_NONE, false, NULL},
    {"built-in 2.0 clear", TLP2(C2, "TLP:CLEAR", "clear", ""), ST_OK, TLP_NONE,
     false, NULL},
    {"built-in 2.0 green", TLP2(G2, "TLP:GREEN", "green", ""), ST_OK, TLP_NONE,
     false, NULL},
    {"built-in 2.0 amber", TLP2(A2, "TLP:AMBER", "amber", ""), ST_OK, TLP_NONE,
     false, NULL},
    {"built-in 2.0 amber+strict",
     TLP2(AS2, "TLP:AMBER+STRICT", "amber+strict", ""), ST_OK, TLP_NONE, false,
     NULL},
    {"built-in 2.0 red", TLP2(R2, "TLP:RED", "red", ""), ST_OK, TLP_NONE, false,
     NULL},
    /* redefinitions */
    {"TLP 1.0 green id, white definition",
     TLP1(G1, ",\"name\":\"TLP:GREEN\"", "white"), ST_ESTIX, TLP_NONE, false,
     "redefines the built-in TLP:GREEN marking"},
    {"TLP 1.0 green id, other name",
     TLP1(G1, ",\"name\":\"TLP:CLEAR\"", "green"), ST_ESTIX, TLP_NONE, false,
     "redefines the built-in TLP:GREEN marking (a different name)"},
    {"TLP 2.0 amber id, clear level", TLP2(A2, "TLP:AMBER", "clear", ""),
     ST_ESTIX, TLP_NONE, false, "redefines the built-in TLP:AMBER marking"},
    {"TLP 2.0 red id, extra property",
     TLP2(R2, "TLP:RED", "red", ",\"x_relay\":true"), ST_ESTIX, TLP_NONE, false,
     "redefines the built-in TLP:RED marking"},
    {"TLP 2.0 clear id, TLP 1.0 definition added",
     TLP2(C2, "TLP:CLEAR", "clear",
	  ",\"definition_type\":\"tlp\",\"definition\":{\"tlp\":"
	  "\"white\"}"),
     ST_ESTIX, TLP_NONE, false, "redefines the built-in TLP:CLEAR marking"},
    {"TLP 1.0 id in TLP 2.0 form", TLP2(W1, "TLP:WHITE", "clear", ""), ST_ESTIX,
     TLP_NONE, false, "redefines the built-in TLP:WHITE marking"},
    {"built-in with another created date",
     "{\"type\":\"marking-definition\",\"spec_version\":\"2.1\",\"id\":\"" G1
     "\",\"created\":\"2018-01-20T00:00:00.000Z\",\"definition_type\":"
     "\"tlp\",\"name\":\"TLP:GREEN\",\"definition\":{\"tlp\":\"green\"}}",
     ST_OK, TLP_NONE, false, "differs from the built-in TLP:GREEN"},
    /* look-alikes with other ids */
    {"custom marking named TLP:",
     "{\"type\":\"marking-definition\",\"spec_version\":\"2.1\",\"id\":\"" OTHER
     "\",\"created\":\"2016-08-01T00:00:00.000Z\",\"name\":\"TLP:GREEN\","
     "\"definition_type\":\"statement\",\"definition\":{\"statement\":"
     "\"share with the community\"}}",
     ST_OK, TLP_NONE, false, "strait does not treat it as TLP"},
    {"custom TLP 2.0 marking", TLP2(OTHER, "Green-ish", "green", ""), ST_OK,
     TLP_NONE, false, "strait does not treat it as TLP"},
};

static bool has_msg(const struct stix_report *r, const char *s)
{
	for (uint32_t i = 0; i < r->n; i++) {
		if (strstr(r->items[i].msg, s) != NULL)
			return true;
	}
	return false;
}

static void test_marking_cases(void **state)
{
	(void)state;
	struct json_doc *doc = json_doc_new();
	struct stix_report rep;
	struct stix_info info;
	unsigned failures = 0;
	stix_report_init(&rep);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct mcase *c = &cases[i];
		const struct json_val *v = NULL;
		assert_int_equal(json_parse(doc, c->json, strlen(c->json), 0,
					    NULL, &v, NULL),
				 ST_OK);
		stix_report_reset(&rep);
		int rc = stix_validate(v, &info, &rep);
		bool ok = rc == c->rc && info.tlp == c->tlp &&
			  info.unknown_marking == c->unknown &&
			  (c->issue ? has_msg(&rep, c->issue) : rep.n == 0);
		if (!ok) {
			failures++;
			print_error("case \"%s\": rc %d tlp %s unknown %d\n",
				    c->name, rc, tlp_name(info.tlp),
				    info.unknown_marking);
			for (uint32_t k = 0; k < rep.n; k++)
				print_error("    %s: %s\n", rep.items[k].path,
					    rep.items[k].msg);
		}
	}
	assert_int_equal(failures, 0);
	stix_report_free(&rep);
	json_doc_free(doc);
}

static void test_helpers(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		int rc;
		enum tlp t;
	} parse[] = {
	    {"clear", ST_OK, TLP_CLEAR},
	    {"WHITE", ST_OK, TLP_CLEAR},
	    {"TLP:GREEN", ST_OK, TLP_GREEN},
	    {"tlp:amber", ST_OK, TLP_AMBER},
	    {"AMBER+STRICT", ST_OK, TLP_AMBER_STRICT},
	    {"amber-strict", ST_OK, TLP_AMBER_STRICT},
	    {"Red", ST_OK, TLP_RED},
	    {"none", ST_OK, TLP_NONE},
	    {"purple", ST_EINVAL, TLP_NONE},
	    {"tlp:", ST_EINVAL, TLP_NONE},
	    {"", ST_EINVAL, TLP_NONE},
	};
	static const struct {
		const char *id;
		int level;
	} ids[] = {
	    {W1, TLP_CLEAR},
	    {G1, TLP_GREEN},
	    {A1, TLP_AMBER},
	    {R1, TLP_RED},
	    {C2, TLP_CLEAR},
	    {G2, TLP_GREEN},
	    {A2, TLP_AMBER},
	    {AS2, TLP_AMBER_STRICT},
	    {R2, TLP_RED},
	    {OTHER, -1},
	    {"identity--34098fce-860f-48ae-8e50-ebd3cc5e41da", -1},
	    {G1 "0", -1},
	};
	for (size_t i = 0; i < sizeof(parse) / sizeof(parse[0]); i++) {
		enum tlp t = TLP_NONE;
		assert_int_equal(tlp_parse(parse[i].s, &t), parse[i].rc);
		if (parse[i].rc == ST_OK)
			assert_int_equal(t, parse[i].t);
	}
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		assert_int_equal(
		    tlp_of_marking_id(ids[i].id, strlen(ids[i].id)),
		    ids[i].level);
	assert_string_equal(tlp_name(TLP_CLEAR), "CLEAR");
	assert_string_equal(tlp_name(TLP_AMBER_STRICT), "AMBER+STRICT");
	assert_string_equal(tlp_name(TLP_RED), "RED");
	assert_string_equal(tlp_name(TLP_NONE), "NONE");
	/* every name parses back to its level */
	for (int t = TLP_CLEAR; t <= TLP_RED; t++) {
		enum tlp back = TLP_NONE;
		assert_int_equal(tlp_parse(tlp_name((enum tlp)t), &back),
				 ST_OK);
		assert_int_equal(back, t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_marking_cases),
	    cmocka_unit_test(test_helpers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
