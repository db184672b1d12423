/*
 * Fuzzes the STIX pattern parser and evaluator. The input is pattern
 * text: it must parse or fail with a positioned message; a pattern that
 * parses is evaluated against a few fixed observations (references,
 * lists, binary values, addresses, repeated sightings) and must answer or
 * stop at a limit, never anything else.
 */
#include "common/arena.h"
#include "common/json.h"
#include "pattern/pattern.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char observations[] =
    "{\"type\": \"bundle\", \"id\": \"bundle--f\", \"objects\": ["
    "{\"type\": \"observed-data\", \"id\": \"observed-data--1\","
    " \"first_observed\": \"2020-01-01T00:00:00Z\","
    " \"last_observed\": \"2020-01-01T00:00:05Z\", \"number_observed\": 2,"
    " \"object_refs\": [\"ipv4-addr--1\", \"network-traffic--1\","
    " \"file--1\"]},"
    "{\"type\": \"ipv4-addr\", \"id\": \"ipv4-addr--1\","
    " \"value\": \"10.0.0.1\"},"
    "{\"type\": \"network-traffic\", \"id\": \"network-traffic--1\","
    " \"src_ref\": \"ipv4-addr--1\", \"dst_port\": 443,"
    " \"protocols\": [\"ipv4\", \"tcp\"], \"x_refs\": [\"ipv4-addr--1\"]},"
    "{\"type\": \"file\", \"id\": \"file--1\", \"name\": \"a\\u00e9.exe\","
    " \"size\": 1024.5, \"hashes\": {\"SHA-256\": \"aa\"},"
    " \"payload_bin\": \"YWxpY2U=\", \"x_hex\": \"0102\", \"x\": null,"
    " \"ctime\": \"2020-01-01T00:00:00.5Z\", \"b\": true,"
    " \"x_bin\": \"dGhlIHF1aWNrIGJyb3duIGZveCBqdW1wcyBvdmVy\","
    " \"note\": \"cafe\\u0301\\nline 2\"},"
    "{\"type\": \"observed-data\", \"id\": \"observed-data--2\","
    " \"first_observed\": \"2020-01-01T00:00:03Z\","
    " \"last_observed\": \"2020-01-01T00:00:03Z\", \"number_observed\": 1,"
    " \"objects\": {\"0\": {\"type\": \"ipv6-addr\", \"value\": "
    "\"2001:db8::1\"}, \"1\": {\"type\": \"network-traffic\","
    " \"src_ref\": \"0\", \"dst_ref\": \"9\"}}}"
    "]}";

static struct json_doc *doc;
static struct arena *arena;
static struct pat_observation *obs;
static size_t n_obs;

static void setup(void)
{
	const struct json_val *root;
	doc = json_doc_new();
	arena = arena_new(4096);
	if (doc == NULL || arena == NULL ||
	    json_parse(doc, observations, strlen(observations), 0, NULL, &root,
		       NULL) != ST_OK ||
	    pattern_observations(root, arena, &obs, &n_obs, NULL) != ST_OK ||
	    n_obs != 2)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pattern_limits lim = PATTERN_LIMITS_DEFAULT;
	struct pattern *p = NULL;
	struct pat_result r;
	struct diag d;

	if (doc == NULL)
		setup();
	/* Small enough to keep every input fast. */
	lim.max_state = 5000;
	lim.pcre_match_limit = 20000;
	int rc = pattern_parse((const char *)data, size, &lim, &p, &d);
	if (rc != ST_OK) {
		if ((rc != ST_EINVAL && rc != ST_ELIMIT) || p != NULL ||
		    strncmp(d.msg, "at ", 3) != 0 ||
		    strstr(d.msg, ": expected ") == NULL)
			abort();
		return 0;
	}
	const struct pat_oexpr *root = pattern_root(p);
	if (pattern_is_stateful(p) != (root->kind != PAT_OE_OBS))
		abort();
	rc = pattern_eval(p, obs, n_obs, &r, &d);
	if (rc != ST_OK && rc != ST_ELIMIT)
		abort();
	if (rc == ST_ELIMIT && (r.matched || r.obs != NULL))
		abort();
	if (r.matched == (r.n_obs == 0))
		abort();
	for (size_t i = 0; i < r.n_obs; i++)
		if (r.obs[i] >= n_obs || (i > 0 && r.obs[i] <= r.obs[i - 1]))
			abort();
	bool matched = r.matched;
	pat_result_clear(&r);
	if (root->kind == PAT_OE_OBS) {
		/* One bracket: the indexed matcher's entry point agrees. */
		bool any = false, limited = false;
		for (size_t i = 0; i < n_obs; i++) {
			int m = pattern_eval_cexpr(p, root->cexpr, &obs[i], &d);
			if (m < 0 && m != ST_ELIMIT)
				abort();
			limited = limited || m == ST_ELIMIT;
			any = any || m == 1;
		}
		if (rc == ST_OK && !limited && any != matched)
			abort();
		if (rc == ST_ELIMIT && !limited)
			abort();
	}
	pattern_free(p);
	return 0;
}
