/*
 * Fuzzes the STIX 2.0 to 2.1 upgrade of `strait import`
 * (src/interop/stix20.c). Whatever the input: no crash, no leak; an input
 * refused hands on nothing; an object that is not STIX 2.0 is handed on
 * byte for byte; every object an upgrade hands on is JSON that is no
 * longer STIX 2.0, the upgraded object last, and the validator runs on
 * each without crashing.
 */
#include "common/json.h"
#include "interop/stix20.h"
#include "stix/stix.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
	struct json_doc *doc;
	struct stix_report rep;
	const uint8_t *in;
	size_t inlen;
	bool is20;
	size_t n, notes;
	bool last_is_20; /* of the object handed on last */
};

static int object(void *ctx, const char *json, size_t len, uint64_t line)
{
	struct seen *s = ctx;
	const struct json_val *o;
	struct stix_info info;
	if (line != 3 || json[len] != '\0')
		abort();
	if (!s->is20 && (len != s->inlen || memcmp(json, s->in, len) != 0))
		abort(); /* not 2.0, yet changed */
	if (json_parse(s->doc, json, len, 0, NULL, &o, NULL) != ST_OK)
		abort(); /* the upgrade wrote something that is not JSON */
	if (s->is20 && o->type != JSON_OBJECT)
		abort();
	s->last_is_20 = ix_stix20_is_20(o);
	stix_report_reset(&s->rep);
	stix_validate(o, &info, &s->rep);
	s->n++;
	return ST_OK;
}

static void noted(void *ctx, const char *id, const char *msg)
{
	struct seen *s = ctx;
	if (id == NULL || msg == NULL || *msg == '\0')
		abort();
	s->notes++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct seen s;
	struct json_doc *in = json_doc_new();
	const struct json_val *root;
	struct diag d;

	if (s.doc == NULL && (s.doc = json_doc_new()) == NULL)
		abort();
	if (in == NULL)
		abort();
	s.in = data;
	s.inlen = size;
	s.n = s.notes = 0;
	s.is20 = json_parse(in, (const char *)data, size, 0, NULL, &root,
			    NULL) == ST_OK &&
		 ix_stix20_is_20(root);
	int rc = ix_stix20_upgrade((const char *)data, size, 3, object, noted,
				   &s, &d);
	if (rc != ST_OK && (s.n != 0 || s.notes != 0))
		abort(); /* refused, yet something was handed on */
	if (rc == ST_OK && (s.n == 0 || (s.is20 && s.last_is_20)))
		abort(); /* nothing, or still 2.0 */
	if (rc == ST_OK && !s.is20 && (s.n != 1 || s.notes != 0))
		abort(); /* a 2.1 object must pass as it is */
	json_doc_free(in);
	return 0;
}
