/*
 * Fuzzes the reading of an audit head a partner publishes (POST
 * /api/v1/audit/witness/, at most 4096 bytes): JSON parsed under the
 * default limits, then fed_witness_parse. Whatever the input: no crash,
 * no leak; a head that parses is written back by fed_witness_json and
 * reads back the same.
 */
#include "common/json.h"
#include "federation/fed.h"
#include "federation/fedstate.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0; /* the endpoint refuses it before parsing */
	struct json_doc *doc = json_doc_new();
	if (doc == NULL)
		abort();
	const struct json_val *root;
	struct fed_witness w, back;
	if (json_parse(doc, (const char *)data, size, 0, NULL, &root, NULL) ==
		ST_OK &&
	    fed_witness_parse(root, &w, NULL) == ST_OK) {
		struct buf b = BUF_INIT(4096);
		struct jw jw;
		jw_init(&jw, &b);
		fed_witness_json(&jw, &w);
		if (jw_finish(&jw) != ST_OK ||
		    json_parse(doc, b.data, b.len, 0, NULL, &root, NULL) !=
			ST_OK ||
		    fed_witness_parse(root, &back, NULL) != ST_OK ||
		    back.seq != w.seq || back.at != w.at ||
		    memcmp(back.hash, w.hash, sizeof(w.hash)) != 0 ||
		    memcmp(back.sig, w.sig, sizeof(w.sig)) != 0 ||
		    strcmp(back.key_id, w.key_id) != 0)
			abort();
		buf_free(&b);
	}
	json_doc_free(doc);
	return 0;
}
