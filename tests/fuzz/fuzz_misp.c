/*
 * Fuzzes the MISP event JSON reader of `strait import`
 * (src/interop/misp_in.c): the input is the document. Whatever it holds:
 * no crash, no leak; every object the reader makes is valid STIX 2.1
 * (stix_validate), every indicator's pattern parses, every refusal names
 * its event, and the report of an event comes after the objects it
 * refers to.
 */
#include "common/json.h"
#include "interop/misp_in.h"
#include "pattern/pattern.h"
#include "stix/stix.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct json_doc *doc;

static int object(void *ctx, const char *json, size_t len, uint64_t ev)
{
	(void)ctx;
	(void)ev;
	const struct json_val *o;
	struct stix_info info;
	struct stix_report rep;
	stix_report_init(&rep);
	if (json_parse(doc, json, len, 0, NULL, &o, NULL) != ST_OK ||
	    stix_validate(o, &info, &rep) != ST_OK)
		abort(); /* the reader made something that is not STIX */
	if (json_str_eq(json_get(o, "type"), "indicator")) {
		const struct json_val *p = json_get(o, "pattern");
		struct pattern *pat = NULL;
		if (p == NULL || p->type != JSON_STRING ||
		    pattern_parse(p->u.str, p->len, NULL, &pat, NULL) != ST_OK)
			abort(); /* a pattern that does not parse */
		pattern_free(pat);
	}
	stix_report_free(&rep);
	return ST_OK;
}

static void note(void *ctx, const char *id, const char *msg)
{
	(void)ctx;
	if (id == NULL || msg == NULL || *msg == '\0')
		abort();
}

static void rejected(void *ctx, uint64_t ev, const char *msg)
{
	(void)ctx;
	if (ev == 0 || msg == NULL || strncmp(msg, "event ", 6) != 0)
		abort(); /* a refusal that does not name its event */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > (1 << 20))
		return 0;
	if (doc == NULL && (doc = json_doc_new()) == NULL)
		abort();
	char *text = malloc(size + JSON_PADDING);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	memset(text + size, ' ', JSON_PADDING);
	struct diag d;
	struct ix_misp_stats st;
	ix_misp_read(text, size, object, note, rejected, NULL, &st, &d);
	free(text);
	return 0;
}
