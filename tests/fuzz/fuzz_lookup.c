/*
 * Fuzzes what the lookup index reads from outside: the value a caller
 * asks about (GET /api/v1/lookup?value=, at most 2048 bytes after
 * trimming), and the terms it takes from every stored version, partners'
 * objects included (indicator patterns among them).
 *
 * The first byte chooses (modulo 3). 0: the rest is a value:
 * lk_value_parse must not crash, and a value it accepts, parsed again from
 * its normalised text, is the same kind with the same text. 1: the rest is
 * a JSON object: the term extraction must not crash or leak, and keeps no
 * more terms than the input has bytes. 2: the rest is a JSON object, its
 * text for strait search (lk_version_text) and the rest again as a search
 * query: the text is never longer than 64 KiB, and a query lk_search_check
 * accepts is UTF-8 of 1 to 256 bytes.
 */
#include "common/buf.h"
#include "common/json.h"
#include "lookup/lookup.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 65536)
		return 0;
	if (data[0] % 3 == 2) {
		struct json_doc *doc = json_doc_new();
		struct buf b = BUF_INIT(1 << 20);
		if (doc == NULL)
			abort();
		const struct json_val *root;
		if (json_parse(doc, (const char *)data + 1, size - 1, 0, NULL,
			       &root, NULL) == ST_OK) {
			lk_version_text(root, &b);
			if (b.len > 65536)
				abort(); /* past the text's cap */
		}
		json_doc_free(doc);
		buf_free(&b);
		char *q = malloc(size);
		if (q == NULL)
			abort();
		memcpy(q, data + 1, size - 1);
		q[size - 1] = '\0';
		size_t n = strlen(q);
		if (lk_search_check(q, NULL) == ST_OK &&
		    (n == 0 || n > LK_QUERY_MAX))
			abort();
		free(q);
		return 0;
	}
	if (data[0] % 3 == 0) {
		char *s = malloc(size);
		if (s == NULL)
			abort();
		memcpy(s, data + 1, size - 1);
		s[size - 1] = '\0';
		struct lk_value v, again;
		if (lk_value_parse(s, &v, NULL) == ST_OK &&
		    (lk_value_parse(v.text, &again, NULL) != ST_OK ||
		     again.kind != v.kind || strcmp(again.text, v.text) != 0))
			abort(); /* normalising is not stable */
		free(s);
		return 0;
	}
	struct json_doc *doc = json_doc_new();
	if (doc == NULL)
		abort();
	const struct json_val *root;
	size_t keys, nets;
	if (json_parse(doc, (const char *)data + 1, size - 1, 0, NULL, &root,
		       NULL) == ST_OK &&
	    lk_terms_count(root, &keys, &nets) == ST_OK && keys + nets > size)
		abort(); /* more terms than the input could name */
	json_doc_free(doc);
	return 0;
}
