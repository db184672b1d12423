/*
 * strait: bytes of a format to STIX objects; see import.h.
 */
#include "interop/import.h"

#include "common/buf.h"
#include "common/json.h"
#include "common/split.h"
#include "interop/stix20.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK ((size_t)1 << 16)

typedef int (*reader_fn)(struct ix_src *src, const struct ix_sink *k,
			 struct diag *d);

static int read_stix(struct ix_src *src, const struct ix_sink *k,
		     struct diag *d);
static int read_stix20(struct ix_src *src, const struct ix_sink *k,
		       struct diag *d);
static int read_misp(struct ix_src *src, const struct ix_sink *k,
		     struct diag *d);
static int read_csv(struct ix_src *src, const struct ix_sink *k,
		    struct diag *d);

/* The formats, in the order messages name them. */
static const struct {
	const char *name;
	enum ix_in_fmt f;
	reader_fn read;
} FORMATS[] = {
    {"stix", IX_IN_STIX, read_stix},
    {"stix2.0", IX_IN_STIX20, read_stix20},
    {"misp", IX_IN_MISP, read_misp},
    {"csv", IX_IN_CSV, read_csv},
};
#define N_FORMATS (sizeof(FORMATS) / sizeof(FORMATS[0]))

int ix_in_fmt_parse(const char *name, enum ix_in_fmt *out)
{
	for (size_t i = 0; i < N_FORMATS; i++)
		if (strcmp(FORMATS[i].name, name) == 0) {
			*out = FORMATS[i].f;
			return ST_OK;
		}
	return ST_EINVAL;
}

const char *ix_in_fmt_name(enum ix_in_fmt f)
{
	for (size_t i = 0; i < N_FORMATS; i++)
		if (FORMATS[i].f == f)
			return FORMATS[i].name;
	return "auto";
}

void ix_in_fmt_list(char *out, size_t cap)
{
	size_t n = 0;
	if (cap == 0)
		return;
	out[0] = '\0';
	for (size_t i = 0; i < N_FORMATS && n < cap; i++) {
		const char *sep = i == 0	       ? ""
				  : i + 1 == N_FORMATS ? " or "
						       : ", ";
		int w =
		    snprintf(out + n, cap - n, "%s%s", sep, FORMATS[i].name);
		if (w < 0)
			break;
		n += (size_t)w;
	}
}

/* ------------------------------------------------------------------ */
/* Inputs                                                               */
/* ------------------------------------------------------------------ */

static ssize_t read_mem(void *ctx, char *buf, size_t cap)
{
	struct ix_src *s = ctx;
	size_t n = s->mem_len - s->mem_pos;
	if (n > cap)
		n = cap;
	if (n > 0)
		memcpy(buf, s->mem + s->mem_pos, n);
	s->mem_pos += n;
	return (ssize_t)n;
}

void ix_src_init(struct ix_src *s, ix_read_fn rd, void *ctx)
{
	s->read = rd;
	s->ctx = ctx;
	s->mem = NULL;
	s->mem_len = s->mem_pos = 0;
	s->len = s->pos = 0;
}

void ix_src_init_mem(struct ix_src *s, const char *data, size_t len)
{
	ix_src_init(s, read_mem, s);
	s->mem = data;
	s->mem_len = len;
}

ssize_t ix_src_read(void *src, char *buf, size_t cap)
{
	struct ix_src *s = src;
	if (s->pos < s->len) {
		size_t n = s->len - s->pos < cap ? s->len - s->pos : cap;
		memcpy(buf, s->head + s->pos, n);
		s->pos += n;
		return (ssize_t)n;
	}
	return s->read(s->ctx, buf, cap);
}

enum ix_in_fmt ix_src_sniff(struct ix_src *s)
{
	/* only before anything was handed out */
	while (s->pos == 0 && s->len < sizeof(s->head)) {
		ssize_t n =
		    s->read(s->ctx, s->head + s->len, sizeof(s->head) - s->len);
		if (n <= 0)
			break;
		s->len += (size_t)n;
	}
	size_t i = 0;
	if (s->len >= 3 && memcmp(s->head, "\xEF\xBB\xBF", 3) == 0)
		i = 3;
	while (i < s->len && strchr(" \t\r\n", s->head[i]) != NULL)
		i++;
	if (ix_misp_sniff(s->head, s->len))
		return IX_IN_MISP;
	if (i == s->len || s->head[i] == '{' || s->head[i] == '[')
		return IX_IN_STIX;
	return IX_IN_CSV;
}

/* ------------------------------------------------------------------ */
/* Readers                                                              */
/* ------------------------------------------------------------------ */

/* The objects an upgrade hands on, at the byte offset of the 2.0
 * object they came from. */
struct up {
	const struct ix_sink *k;
	uint64_t at;
};

static int up_object(void *ctx, const char *json, size_t len, uint64_t line)
{
	struct up *u = ctx;
	(void)line;
	return u->k->object(u->k->ctx, json, len, 0, u->at);
}

static void up_note(void *ctx, const char *id, const char *msg)
{
	struct up *u = ctx;
	if (u->k->note != NULL)
		u->k->note(u->k->note_ctx, id, msg);
}

/* Whether text (len bytes) holds the n bytes of needle. */
static bool holds(const char *text, size_t len, const char *needle, size_t n)
{
	for (const char *p = text; len >= n;) {
		const char *q = memchr(p, needle[0], len - n + 1);
		if (q == NULL)
			return false;
		if (memcmp(q, needle, n) == 0)
			return true;
		len -= (size_t)(q - p) + 1;
		p = q + 1;
	}
	return false;
}

/*
 * One element of a STIX input. all20: every object is taken for 2.0;
 * otherwise only one without "spec_version" anywhere in its text is
 * looked at (a 2.1 SDO always has it), so 2.1 input is not parsed twice,
 * and it is upgraded only when it is STIX 2.0 (ix_stix20_is_20): what is
 * not goes on as it is, to be judged (and refused) as any object.
 */
static int stix_element(const struct ix_sink *k, struct json_doc *doc,
			const char *elem, size_t len, uint64_t off, bool all20,
			struct diag *d)
{
	const struct json_val *root;
	struct diag pd;
	if (!all20 && (holds(elem, len, "\"spec_version\"", 14) ||
		       json_parse(doc, elem, len, JSON_PARSE_PADDED, NULL,
				  &root, &pd) != ST_OK ||
		       !ix_stix20_is_20(root)))
		return k->object(k->ctx, elem, len, JSON_PARSE_PADDED, off);
	struct up u = {k, off};
	int rc = ix_stix20_upgrade(elem, len, off, up_object, up_note, &u, d);
	if (rc == ST_EINVAL || rc == ST_EJSON || rc == ST_ELIMIT) {
		k->reject(k->ctx, off, d->msg); /* that object only */
		rc = ST_OK;
	}
	return rc;
}

static int read_any_stix(struct ix_src *src, const struct ix_sink *k,
			 bool all20, struct diag *d)
{
	struct split *sp =
	    split_new(ix_src_read, src, JSON_LIMITS_DEFAULT.max_bytes);
	struct json_doc *doc = json_doc_new();
	if (sp == NULL || doc == NULL) {
		split_free(sp);
		json_doc_free(doc);
		return diag_set(d, ST_ENOMEM, "out of memory");
	}
	int rc = ST_OK;
	while (rc == ST_OK) {
		const char *elem;
		size_t len;
		uint64_t off = split_bytes_read(sp);
		int r = split_next(sp, &elem, &len, &off, d);
		if (r == 0)
			break;
		if (r == 1) {
			rc = stix_element(k, doc, elem, len, off, all20, d);
			continue;
		}
		if (r == ST_ELIMIT) {
			k->reject(k->ctx, off, d->msg);
			continue;
		}
		if (r == ST_EIO) {
			rc = ST_EIO; /* d says why */
			break;
		}
		/* Malformed input: what came before it is kept. */
		k->reject(k->ctx, split_bytes_read(sp), d->msg);
		break;
	}
	split_free(sp);
	json_doc_free(doc);
	return rc;
}

static int read_stix(struct ix_src *src, const struct ix_sink *k,
		     struct diag *d)
{
	return read_any_stix(src, k, false, d);
}

static int read_stix20(struct ix_src *src, const struct ix_sink *k,
		       struct diag *d)
{
	return read_any_stix(src, k, true, d);
}

/* The objects the CSV and MISP readers make go through here: they take
 * no padding, and CSV rows may get a creator. */
struct made {
	const struct ix_sink *k;
	struct buf json; /* an object with created_by_ref added */
	const char *created_by;
};

static int made_object(void *ctx, const char *json, size_t len, uint64_t at)
{
	struct made *m = ctx;
	if (m->created_by == NULL)
		return m->k->object(m->k->ctx, json, len, 0, at);
	/* The CSV reader writes each indicator as one object without a
	 * created_by_ref, ending in '}': the property goes before it. */
	size_t end = len;
	while (end > 0 && strchr(" \t\r\n", json[end - 1]) != NULL)
		end--;
	if (end < 2 || json[end - 1] != '}')
		return m->k->object(m->k->ctx, json, len, 0, at);
	buf_reset(&m->json);
	int rc = buf_add(&m->json, json, end - 1);
	if (rc == ST_OK)
		rc = buf_printf(&m->json, "%s\"created_by_ref\":\"%s\"}",
				end > 2 ? "," : "", m->created_by);
	if (rc != ST_OK)
		return rc;
	return m->k->object(m->k->ctx, m->json.data, m->json.len, 0, at);
}

static void made_reject(void *ctx, uint64_t at, const char *msg)
{
	struct made *m = ctx;
	m->k->reject(m->k->ctx, at, msg);
}

static void made_note(void *ctx, const char *id, const char *msg)
{
	struct made *m = ctx;
	if (m->k->note != NULL)
		m->k->note(m->k->note_ctx, id, msg);
}

/* An id of letters, digits and '-' only: it goes into JSON as it is. */
static bool plain_id(const char *s)
{
	if (strncmp(s, "identity--", 10) != 0 || strlen(s) > 128)
		return false;
	for (; *s; s++)
		if (!(*s == '-' || (*s >= '0' && *s <= '9') ||
		      (*s >= 'a' && *s <= 'z')))
			return false;
	return true;
}

static int read_csv(struct ix_src *src, const struct ix_sink *k, struct diag *d)
{
	if (k->created_by != NULL && !plain_id(k->created_by))
		return diag_set(d, ST_EINVAL,
				"created_by: '%.80s' is not an "
				"identity id",
				k->created_by);
	struct made m = {k, BUF_INIT((size_t)2 << 20), k->created_by};
	int rc = ix_csv_read(ix_src_read, src, k->now ? k->now : time_now(),
			     made_object, made_reject, &m, d);
	if (rc == ST_EINVAL || rc == ST_ELIMIT) {
		/* what came before it is kept */
		k->reject(k->ctx, 0, d->msg);
		rc = ST_OK;
	}
	buf_free(&m.json);
	return rc;
}

/* A MISP document is one JSON value: read whole, up to
 * IX_MISP_MAX_BYTES. */
static int read_misp(struct ix_src *src, const struct ix_sink *k,
		     struct diag *d)
{
	struct buf text = BUF_INIT(IX_MISP_MAX_BYTES + JSON_PADDING + 1);
	char *chunk = malloc(CHUNK);
	int rc = chunk ? ST_OK : diag_set(d, ST_ENOMEM, "out of memory");
	while (rc == ST_OK) {
		ssize_t n = ix_src_read(src, chunk, CHUNK);
		if (n < 0) {
			rc = diag_set(d, ST_EIO, "%s", strerror(errno));
		} else if (n == 0) {
			break;
		} else if (text.len + (size_t)n > IX_MISP_MAX_BYTES) {
			char msg[128];
			snprintf(msg, sizeof(msg),
				 "a MISP document larger than %zu MiB",
				 IX_MISP_MAX_BYTES >> 20);
			k->reject(k->ctx, 0, msg);
			free(chunk);
			buf_free(&text);
			return ST_OK;
		} else if (buf_add(&text, chunk, (size_t)n) != ST_OK) {
			rc = diag_set(d, ST_ENOMEM, "out of memory");
		}
	}
	free(chunk);
	size_t len = text.len;
	if (rc == ST_OK && buf_reserve(&text, JSON_PADDING) != ST_OK)
		rc = diag_set(d, ST_ENOMEM, "out of memory");
	if (rc != ST_OK) {
		buf_free(&text);
		return rc;
	}
	memset(text.data + len, ' ', JSON_PADDING);
	struct made m = {k, BUF_INIT(0), NULL};
	struct ix_misp_stats st;
	rc = ix_misp_read(text.data, len, made_object, made_note, made_reject,
			  &m, &st, d);
	if (rc == ST_EINVAL || rc == ST_EJSON || rc == ST_ELIMIT) {
		k->reject(k->ctx, 0, d->msg); /* what came before is kept */
		rc = ST_OK;
	}
	buf_free(&text);
	return rc;
}

int ix_import(struct ix_src *src, enum ix_in_fmt f, const struct ix_sink *k,
	      struct diag *d)
{
	if (f == IX_IN_AUTO)
		f = ix_src_sniff(src);
	for (size_t i = 0; i < N_FORMATS; i++)
		if (FORMATS[i].f == f)
			return FORMATS[i].read(src, k, d);
	return diag_set(d, ST_EINVAL, "no reader for format %d", (int)f);
}
