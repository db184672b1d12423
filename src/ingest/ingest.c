#include "ingest/ingest.h"

#include "pattern/pattern.h"

#include "common/buf.h"
#include "common/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * A slot is one batch being filled or in flight. Bodies, ids and warnings of
 * its items are packed into growable buffers; the items keep offsets until
 * the batch is submitted, when the pointers are fixed (the buffers may move
 * while they grow).
 */
struct slot {
	struct store_batch batch;
	struct store_item *items;
	size_t *body_off;
	size_t *id_off;
	size_t *warn_off; /* SIZE_MAX when none */
	size_t *prov_off; /* in warnings; SIZE_MAX when none */
	uint64_t *index;
	uint64_t *offset;
	size_t n;
	struct buf bodies;
	struct buf ids;
	struct buf warnings;
	bool in_flight;
};

struct ingest {
	struct store *store;
	struct ingest_options opt;
	ingest_event_fn on_event;
	void *ctx;
	struct json_doc *doc;
	struct stix_report rep;
	struct buf scratch;
	struct slot *slots;
	uint32_t cur;
	struct ingest_stats stats;
	int err;
};

#define BODY_BUF_MAX ((size_t)1 << 34)

static void emit(struct ingest *in, enum ingest_event_kind kind, uint64_t index,
		 uint64_t offset, const char *id, const char *msg)
{
	if (in->on_event == NULL)
		return;
	struct ingest_event ev = {.kind = kind,
				  .index = index,
				  .offset = offset,
				  .id = id ? id : "",
				  .msg = msg ? msg : "",
				  .stats = &in->stats};
	in->on_event(in->ctx, &ev);
}

static void slot_free(struct slot *s)
{
	free(s->items);
	free(s->body_off);
	free(s->id_off);
	free(s->warn_off);
	free(s->prov_off);
	free(s->index);
	free(s->offset);
	buf_free(&s->bodies);
	buf_free(&s->ids);
	buf_free(&s->warnings);
}

static int slot_init(struct slot *s, uint32_t cap, size_t bytes_hint)
{
	memset(s, 0, sizeof(*s));
	s->items = calloc(cap, sizeof(*s->items));
	s->body_off = calloc(cap, sizeof(size_t));
	s->id_off = calloc(cap, sizeof(size_t));
	s->warn_off = calloc(cap, sizeof(size_t));
	s->prov_off = calloc(cap, sizeof(size_t));
	s->index = calloc(cap, sizeof(uint64_t));
	s->offset = calloc(cap, sizeof(uint64_t));
	buf_init(&s->bodies, BODY_BUF_MAX);
	buf_init(&s->ids, BODY_BUF_MAX);
	buf_init(&s->warnings, BODY_BUF_MAX);
	/* Canonical bodies are no larger than their input: room for them
	 * at once, not by doubling (a failure only means growing later). */
	if (bytes_hint > 0)
		(void)buf_reserve(&s->bodies, bytes_hint < BODY_BUF_MAX
						  ? bytes_hint + cap
						  : BODY_BUF_MAX);
	if (s->items == NULL || s->body_off == NULL || s->id_off == NULL ||
	    s->warn_off == NULL || s->prov_off == NULL || s->index == NULL ||
	    s->offset == NULL)
		return ST_ENOMEM;
	return ST_OK;
}

struct ingest *ingest_new(struct store *s, const struct ingest_options *opt,
			  ingest_event_fn on_event, void *ctx)
{
	struct ingest *in = calloc(1, sizeof(*in));
	if (in == NULL)
		return NULL;
	in->store = s;
	in->opt = *opt;
	/* Enough queued work for the writer to commit large groups while
	 * this thread parses (see DEFAULT_BATCH_MAX in the SQLite backend):
	 * about 50 MB of canonical bodies in flight, whatever the input size. */
	if (in->opt.batch_size == 0)
		in->opt.batch_size = 16384;
	if (in->opt.in_flight == 0)
		in->opt.in_flight = 6;
	if (in->opt.max_object == 0)
		in->opt.max_object = JSON_LIMITS_DEFAULT.max_bytes;
	in->on_event = on_event;
	in->ctx = ctx;
	in->doc = json_doc_new();
	stix_report_init(&in->rep);
	buf_init(&in->scratch, 1u << 20);
	in->slots = calloc(in->opt.in_flight, sizeof(*in->slots));
	if (in->doc == NULL || in->slots == NULL)
		goto fail;
	for (uint32_t i = 0; i < in->opt.in_flight; i++)
		if (slot_init(&in->slots[i], in->opt.batch_size,
			      in->opt.bytes_hint) != ST_OK)
			goto fail;
	return in;
fail:
	ingest_free(in);
	return NULL;
}

void ingest_free(struct ingest *in)
{
	if (in == NULL)
		return;
	if (in->slots != NULL) {
		for (uint32_t i = 0; i < in->opt.in_flight; i++)
			slot_free(&in->slots[i]);
		free(in->slots);
	}
	json_doc_free(in->doc);
	stix_report_free(&in->rep);
	buf_free(&in->scratch);
	free(in);
}

const struct ingest_stats *ingest_stats(const struct ingest *in)
{
	return &in->stats;
}

void ingest_reject(struct ingest *in, uint64_t offset, const char *msg)
{
	uint64_t index = in->stats.seen++;
	in->stats.rejected++;
	emit(in, INGEST_REJECTED, index, offset, "", msg);
}

static int slot_submit(struct ingest *in, struct slot *s)
{
	for (size_t i = 0; i < s->n; i++) {
		struct store_item *it = &s->items[i];
		it->body = s->bodies.data + s->body_off[i];
		it->id = s->ids.data + s->id_off[i];
		it->warnings = s->warn_off[i] == SIZE_MAX
				   ? NULL
				   : s->warnings.data + s->warn_off[i];
		it->prov = s->prov_off[i] == SIZE_MAX
			       ? NULL
			       : s->warnings.data + s->prov_off[i];
	}
	memset(&s->batch, 0, sizeof(s->batch));
	s->batch.items = s->items;
	s->batch.n = s->n;
	s->batch.cid = in->opt.cid;
	int rc = store_submit(in->store, &s->batch);
	if (rc != ST_OK)
		return rc;
	s->in_flight = true;
	return ST_OK;
}

static void slot_clear(struct slot *s)
{
	s->n = 0;
	buf_reset(&s->bodies);
	buf_reset(&s->ids);
	buf_reset(&s->warnings);
	s->in_flight = false;
}

/* Waits for an in-flight slot, accounts its results and empties it. */
static int slot_collect(struct ingest *in, struct slot *s)
{
	if (!s->in_flight)
		return ST_OK;
	int rc = store_wait(in->store, &s->batch);
	for (size_t i = 0; i < s->n; i++) {
		const struct store_item *it = &s->items[i];
		enum store_result r = rc == ST_OK ? it->result : STORE_FAILED;
		if (in->opt.report_accepted &&
		    (r == STORE_STORED || r == STORE_DUPLICATE) &&
		    in->on_event != NULL) {
			struct ingest_event ev = {
			    .kind = INGEST_ACCEPTED,
			    .index = s->index[i],
			    .offset = s->offset[i],
			    .id = it->id,
			    .msg = r == STORE_STORED ? "stored" : "duplicate",
			    .version = it->stored_version,
			    .stats = &in->stats};
			in->on_event(in->ctx, &ev);
		}
		switch (r) {
		case STORE_STORED:
			in->stats.stored++;
			if (it->flags & STORE_F_DEFAULT_TLP)
				in->stats.defaulted++;
			if (it->warnings != NULL)
				in->stats.warned++;
			break;
		case STORE_DUPLICATE:
			in->stats.duplicate++;
			break;
		case STORE_CONFLICT:
			in->stats.conflict++;
			emit(in, INGEST_CONFLICT, s->index[i], s->offset[i],
			     it->id,
			     "same id and version already stored with "
			     "different content; the first is kept");
			break;
		case STORE_PENDING:
		case STORE_FAILED:
			in->stats.failed++;
			emit(in, INGEST_FAILED, s->index[i], s->offset[i],
			     it->id,
			     rc != ST_OK ? s->batch.diag.msg : "not stored");
			break;
		}
	}
	slot_clear(s);
	emit(in, INGEST_COMMITTED, 0, 0, NULL, NULL);
	if (rc != ST_OK && in->err == ST_OK)
		in->err = rc;
	return rc;
}

/* The object with "id" added, for SCOs that arrived without one. */
static int with_id(struct ingest *in, const struct json_val *root,
		   const char *id, struct json_val *out,
		   struct json_member **members)
{
	struct json_member *m = malloc(sizeof(*m) * (root->len + 1));
	if (m == NULL)
		return ST_ENOMEM;
	(void)in;
	m[0].key = "id";
	m[0].klen = 2;
	m[0].val.type = JSON_STRING;
	m[0].val.len = (uint32_t)strlen(id);
	m[0].val.u.str = id;
	memcpy(m + 1, root->u.members, sizeof(*m) * root->len);
	out->type = JSON_OBJECT;
	out->len = root->len + 1;
	out->u.members = m;
	*members = m;
	return ST_OK;
}

static int queue(struct ingest *in, const struct json_val *root,
		 const struct stix_info *info, uint64_t index, uint64_t offset)
{
	struct slot *s = &in->slots[in->cur];
	if (s->in_flight) {
		int rc = slot_collect(in, s);
		if (rc != ST_OK)
			return rc;
	}
	size_t i = s->n;
	struct store_item *it = &s->items[i];
	memset(it, 0, sizeof(*it));

	struct json_val patched;
	struct json_member *members = NULL;
	if (info->id_generated) {
		int rc = with_id(in, root, info->id, &patched, &members);
		if (rc != ST_OK)
			return rc;
		root = &patched;
	}
	struct diag d;
	size_t body_at = s->bodies.len;
	int rc = json_canonical(root, &s->bodies, &d);
	if (rc != ST_OK) {
		free(members);
		char msg[DIAG_MAX + 64];
		snprintf(msg, sizeof(msg), "%s: %s", info->id, d.msg);
		in->stats.rejected++;
		emit(in, INGEST_REJECTED, index, offset, info->id, msg);
		return ST_OK;
	}
	struct ingest_admitted adm = {NULL, 0};
	bool admit = in->opt.admit == NULL ||
		     in->opt.admit(in->opt.admit_ctx, index, info, root,
				   s->bodies.data + body_at,
				   s->bodies.len - body_at, &adm);
	free(members);
	if (!admit) {
		s->bodies.len = body_at; /* not queued: forget its bytes */
		in->stats.held++;
		return ST_OK;
	}
	s->body_off[i] = body_at;
	it->body_len = s->bodies.len - body_at;
	/* NUL-separate bodies so each is a C string too. */
	if ((rc = buf_addc(&s->bodies, '\0')) != ST_OK)
		return rc;
	s->id_off[i] = s->ids.len;
	if ((rc = buf_add(&s->ids, info->id, strlen(info->id) + 1)) != ST_OK)
		return rc;
	s->prov_off[i] = SIZE_MAX;
	if (adm.prov != NULL && adm.prov_len > 0) {
		s->prov_off[i] = s->warnings.len;
		if ((rc = buf_add(&s->warnings, adm.prov, adm.prov_len)) !=
		    ST_OK)
			return rc;
	}
	s->warn_off[i] = SIZE_MAX;
	if (in->rep.n_warnings > 0) {
		s->warn_off[i] = s->warnings.len;
		rc = stix_report_warnings_json(&in->rep, &s->warnings);
		if (rc == ST_OK)
			rc = buf_addc(&s->warnings, '\0');
		if (rc != ST_OK)
			return rc;
	}
	it->prov_len = s->prov_off[i] == SIZE_MAX ? 0 : adm.prov_len;
	it->versioned = info->versioned;
	it->version = info->version;
	it->modified = info->modified;
	it->tlp = (uint8_t)info->tlp;
	it->flags = 0;
	if (info->unknown_marking)
		it->flags |= STORE_F_UNKNOWN_MARKING;
	if (info->revoked)
		it->flags |= STORE_F_REVOKED;
	it->flags |= in->opt.flags;
	if (info->tlp == TLP_NONE && !info->unknown_marking) {
		it->tlp = (uint8_t)in->opt.default_tlp;
		it->flags |= STORE_F_DEFAULT_TLP;
	}
	if (s->prov_off[i] == SIZE_MAX && it->tlp == TLP_RED &&
	    in->opt.red_prov != NULL && in->opt.red_prov_len > 0) {
		s->prov_off[i] = s->warnings.len;
		it->prov_len = in->opt.red_prov_len;
		if ((rc = buf_add(&s->warnings, in->opt.red_prov,
				  in->opt.red_prov_len)) != ST_OK)
			return rc;
	}
	s->index[i] = index;
	s->offset[i] = offset;
	s->n++;
	if (s->n == in->opt.batch_size) {
		rc = slot_submit(in, s);
		if (rc != ST_OK)
			return rc;
		in->cur = (in->cur + 1) % in->opt.in_flight;
	}
	return ST_OK;
}

/*
 * An indicator whose pattern_type is "stix" must hold a pattern the
 * parser accepts: a node that stores a broken pattern would pass it on to
 * every partner and every sensor. Other pattern languages (yara, sigma,
 * snort, suricata, pcre, ...) are stored as they are.
 */
static int check_pattern(const struct json_val *root, const char *id, char *msg,
			 size_t cap)
{
	const struct json_val *pt = json_get(root, "pattern_type");
	const struct json_val *p = json_get(root, "pattern");
	if (!json_str_eq(pt, "stix") || p == NULL || p->type != JSON_STRING)
		return ST_OK;
	struct pattern *pat = NULL;
	struct diag d;
	int rc = pattern_parse(p->u.str, p->len, NULL, &pat, &d);
	pattern_free(pat);
	if (rc != ST_OK)
		snprintf(msg, cap, "%s: property 'pattern': %s", id, d.msg);
	return rc;
}

int ingest_object(struct ingest *in, const char *json, size_t len,
		  unsigned flags, uint64_t offset)
{
	if (in->err != ST_OK)
		return in->err;
	uint64_t index = in->stats.seen++;
	in->stats.bytes += len;
	char msg[DIAG_MAX + 128];
	if (len > in->opt.max_object) {
		snprintf(msg, sizeof(msg),
			 "object of %zu bytes exceeds the limit of %zu", len,
			 in->opt.max_object);
		goto reject;
	}
	const struct json_val *root;
	struct diag d;
	struct json_limits lim = JSON_LIMITS_DEFAULT;
	lim.max_bytes = in->opt.max_object;
	int rc = json_parse(in->doc, json, len, flags & JSON_PARSE_PADDED, &lim,
			    &root, &d);
	if (rc != ST_OK) {
		snprintf(msg, sizeof(msg), "not valid JSON: %s", d.msg);
		goto reject;
	}
	if (root->type != JSON_OBJECT) {
		snprintf(msg, sizeof(msg),
			 "expected a STIX object, got a JSON %s",
			 json_type_name(root->type));
		goto reject;
	}
	struct stix_info info;
	stix_report_reset(&in->rep);
	rc = stix_validate(root, &info, &in->rep);
	if (rc == ST_OK && info.kind == STIX_BUNDLE) {
		snprintf(msg, sizeof(msg),
			 "%s: a bundle cannot be stored as an object", info.id);
		goto reject;
	}
	if (rc == ST_ESTIX) {
		buf_reset(&in->scratch);
		stix_report_format(&in->rep, info.id[0] ? info.id : "(no id)",
				   true, &in->scratch);
		in->stats.rejected++;
		emit(in, INGEST_REJECTED, index, offset, info.id,
		     in->scratch.data ? in->scratch.data : "invalid");
		return ST_OK;
	}
	if (rc != ST_OK)
		return rc;
	if (strcmp(info.type, "indicator") == 0 &&
	    check_pattern(root, info.id, msg, sizeof(msg)) != ST_OK) {
		in->stats.rejected++;
		emit(in, INGEST_REJECTED, index, offset, info.id, msg);
		return ST_OK;
	}
	if (in->rep.n_warnings > 0) {
		buf_reset(&in->scratch);
		stix_report_format(&in->rep, info.id, false, &in->scratch);
		emit(in, INGEST_WARNING, index, offset, info.id,
		     in->scratch.data ? in->scratch.data : "");
	}
	return queue(in, root, &info, index, offset);

reject:
	in->stats.rejected++;
	emit(in, INGEST_REJECTED, index, offset, "", msg);
	return ST_OK;
}

int ingest_finish(struct ingest *in)
{
	struct slot *s = &in->slots[in->cur];
	if (!s->in_flight && s->n > 0) {
		int rc = slot_submit(in, s);
		if (rc != ST_OK)
			return rc;
	}
	/* Collect in submission order: oldest first. */
	for (uint32_t k = 1; k <= in->opt.in_flight; k++) {
		uint32_t i = (in->cur + k) % in->opt.in_flight;
		slot_collect(in, &in->slots[i]);
	}
	in->cur = 0;
	return in->err;
}
