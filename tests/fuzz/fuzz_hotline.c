/*
 * Fuzzes what a partner relays over the hotline link (POST
 * /api/v1/hotline/relay/, at most 1 MiB): the JSON document, then, as
 * hl_node_receive does by its kind, a message's header
 * (hl_header_parse), a receipt (hl_receipt_parse) or a joint incident's
 * entry (inc_entry_parse). Whatever the input: no crash, no leak; what
 * parses passes its own checks and is written back by its JSON writer
 * into a form that reads back the same.
 */
#include "common/json.h"
#include "coop/incident.h"
#include "hotline/wire.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct json_doc *again;

static void header_round_trip(const struct hl_header *h)
{
	struct buf b = BUF_INIT(1 << 20);
	struct jw w;
	jw_init(&w, &b);
	hl_header_json(&w, h);
	const struct json_val *root;
	struct hl_header back;
	if (jw_finish(&w) != ST_OK ||
	    json_parse(again, b.data, b.len, 0, NULL, &root, NULL) != ST_OK ||
	    hl_header_parse(root, &back, NULL) != ST_OK ||
	    memcmp(&back, h, sizeof(back)) != 0)
		abort();
	buf_free(&b);
}

static void receipt_round_trip(const struct hl_receipt_rec *r)
{
	struct buf b = BUF_INIT(1 << 16);
	struct jw w;
	jw_init(&w, &b);
	hl_receipt_json(&w, r);
	const struct json_val *root;
	struct hl_receipt_rec back;
	if (jw_finish(&w) != ST_OK ||
	    json_parse(again, b.data, b.len, 0, NULL, &root, NULL) != ST_OK ||
	    hl_receipt_parse(root, &back, NULL) != ST_OK ||
	    strcmp(back.msg, r->msg) != 0 ||
	    strcmp(back.principal, r->principal) != 0 || back.kind != r->kind ||
	    back.at != r->at || memcmp(back.sig, r->sig, sizeof(r->sig)) != 0)
		abort();
	buf_free(&b);
}

static void entry_round_trip(const struct inc_entry *e)
{
	if (inc_entry_check(e, NULL) != ST_OK)
		abort();
	struct buf b = BUF_INIT(1 << 20);
	struct jw w;
	jw_init(&w, &b);
	inc_entry_json(&w, e);
	const struct json_val *root;
	struct inc_entry *back = malloc(sizeof(*back));
	if (back == NULL || jw_finish(&w) != ST_OK ||
	    json_parse(again, b.data, b.len, 0, NULL, &root, NULL) != ST_OK ||
	    inc_entry_parse(root, back, NULL) != ST_OK ||
	    strcmp(back->id, e->id) != 0 || back->kind != e->kind ||
	    back->at != e->at || strcmp(back->text, e->text) != 0)
		abort();
	free(back);
	buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > (1 << 20))
		return 0; /* the endpoint refuses it unread */
	struct json_doc *doc = json_doc_new();
	if (again == NULL)
		again = json_doc_new();
	if (doc == NULL || again == NULL)
		abort();
	const struct json_val *root;
	if (json_parse(doc, (const char *)data, size, 0, NULL, &root, NULL) ==
	    ST_OK) {
		struct hl_header *h = malloc(sizeof(*h));
		struct hl_receipt_rec r;
		struct inc_entry *e = malloc(sizeof(*e));
		if (h == NULL || e == NULL)
			abort();
		if (hl_header_parse(json_get(root, "header"), h, NULL) ==
		    ST_OK) {
			if (hl_header_check(h, NULL) != ST_OK)
				abort();
			header_round_trip(h);
		}
		if (hl_receipt_parse(json_get(root, "receipt"), &r, NULL) ==
		    ST_OK)
			receipt_round_trip(&r);
		if (inc_entry_parse(json_get(root, "entry"), e, NULL) == ST_OK)
			entry_round_trip(e);
		free(h);
		free(e);
	}
	json_doc_free(doc);
	return 0;
}
