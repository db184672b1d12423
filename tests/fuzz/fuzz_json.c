/*
 * Fuzzes json_parse; whatever it accepts must canonicalise, or be refused
 * with ST_ERANGE, and the canonical form must parse back and be a fixed
 * point (canonicalising it again gives the same bytes).
 */
#include "common/json.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct json_doc *doc;
	const struct json_val *root;
	struct buf a = BUF_INIT(1 << 26), b = BUF_INIT(1 << 26);

	if (doc == NULL && (doc = json_doc_new()) == NULL)
		abort();
	if (json_parse(doc, (const char *)data, size, 0, NULL, &root, NULL))
		return 0;
	int rc = json_canonical(root, &a, NULL);
	if (rc != ST_OK && rc != ST_ERANGE)
		abort();
	if (rc == ST_OK &&
	    (json_parse(doc, a.data, a.len, 0, NULL, &root, NULL) != ST_OK ||
	     json_canonical(root, &b, NULL) != ST_OK || a.len != b.len ||
	     memcmp(a.data, b.data, a.len) != 0))
		abort();
	buf_free(&a);
	buf_free(&b);
	return 0;
}
