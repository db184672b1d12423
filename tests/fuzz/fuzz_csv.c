/*
 * Fuzzes the CSV reader of `strait import` (src/interop/csv_in.c, libcsv
 * underneath): the first byte sets the size of the reads the input is
 * given in (1 to 256 bytes), the rest is the file. Whatever the input: no
 * crash, no leak, no field buffered past the limit; every indicator the
 * reader makes is valid STIX 2.1 (stix_validate) and its pattern parses;
 * the row of each is after the row before it.
 */
#include "common/json.h"
#include "interop/csv_in.h"
#include "pattern/pattern.h"
#include "stix/stix.h"

#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct src {
	const uint8_t *p;
	size_t n, pos, step;
};

static ssize_t rd(void *ctx, char *buf, size_t cap)
{
	struct src *s = ctx;
	size_t k = s->n - s->pos;
	if (k > s->step)
		k = s->step;
	if (k > cap)
		k = cap;
	memcpy(buf, s->p + s->pos, k);
	s->pos += k;
	return (ssize_t)k;
}

static uint64_t last_row;

static int object(void *ctx, const char *json, size_t len, uint64_t row)
{
	(void)ctx;
	if (row <= last_row)
		abort(); /* rows out of order */
	last_row = row;
	struct json_doc *doc = json_doc_new();
	const struct json_val *o;
	struct stix_info info;
	struct stix_report rep;
	stix_report_init(&rep);
	if (doc == NULL ||
	    json_parse(doc, json, len, 0, NULL, &o, NULL) != ST_OK ||
	    stix_validate(o, &info, &rep) != ST_OK)
		abort(); /* the reader made something that is not STIX */
	const struct json_val *p = json_get(o, "pattern");
	struct pattern *pat = NULL;
	if (p == NULL || p->type != JSON_STRING ||
	    pattern_parse(p->u.str, p->len, NULL, &pat, NULL) != ST_OK)
		abort(); /* a pattern that does not parse */
	pattern_free(pat);
	stix_report_free(&rep);
	json_doc_free(doc);
	return ST_OK;
}

static void rejected(void *ctx, uint64_t row, const char *msg)
{
	(void)ctx;
	(void)row;
	if (msg == NULL || strncmp(msg, "row ", 4) != 0)
		abort(); /* a refusal that does not name its row */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > (1 << 20))
		return 0;
	struct src s = {data + 1, size - 1, 0, (size_t)data[0] + 1};
	struct diag d;
	last_row = 0;
	ix_csv_read(rd, &s, 1767225600000000LL, object, rejected, NULL, &d);
	return 0;
}
