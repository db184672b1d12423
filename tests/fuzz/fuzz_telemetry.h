/*
 * Shared by the telemetry fuzz harnesses: reads the input with a reader
 * forced to one format and checks every record it delivers: each SCO
 * serialises (so its strings are UTF-8 and its tree well formed), refs
 * are "0".."n-1" and every *_ref / *_refs names one of them, times agree.
 */
#ifndef STRAIT_FUZZ_TELEMETRY_H
#define STRAIT_FUZZ_TELEMETRY_H

#include "common/json.h"
#include "telemetry/telemetry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check_refs(const struct json_val *v, size_t n)
{
	if (v->type == JSON_ARRAY)
		for (uint32_t i = 0; i < v->len; i++)
			check_refs(&v->u.items[i], n);
	if (v->type != JSON_OBJECT)
		return;
	for (uint32_t i = 0; i < v->len; i++) {
		const struct json_member *m = &v->u.members[i];
		size_t k = m->klen;
		bool one = k > 4 && memcmp(m->key + k - 4, "_ref", 4) == 0;
		bool many = k > 5 && memcmp(m->key + k - 5, "_refs", 5) == 0;
		if (one && (m->val.type != JSON_STRING ||
			    (size_t)atoi(m->val.u.str) >= n))
			abort();
		if (many)
			for (uint32_t j = 0; j < m->val.len; j++)
				if (m->val.u.items[j].type != JSON_STRING ||
				    (size_t)atoi(m->val.u.items[j].u.str) >= n)
					abort();
		check_refs(&m->val, n);
	}
}

static int fuzz_tel_record(void *ctx, const struct tel_record *r)
{
	struct buf b = BUF_INIT(1 << 26);
	(void)ctx;
	if (r->obs.n_objects == 0 || r->obs.n_objects > 64 ||
	    r->obs.first_observed != r->ts || r->obs.number_observed != 1 ||
	    r->line == 0)
		abort();
	for (size_t i = 0; i < r->obs.n_objects; i++) {
		char ref[8];
		struct jw w;
		snprintf(ref, sizeof(ref), "%zu", i);
		if (strcmp(r->obs.objects[i].ref, ref) != 0)
			abort();
		check_refs(r->obs.objects[i].obj, r->obs.n_objects);
		buf_reset(&b);
		jw_init(&w, &b);
		jw_value(&w, r->obs.objects[i].obj);
		if (jw_finish(&w) != ST_OK)
			abort();
		size_t len;
		const char *v = tel_sco_value(r, i, &len);
		if (v != NULL && (strlen(v) != len || r->info[i].local))
			abort();
	}
	buf_free(&b);
	return 0;
}

static void fuzz_tel_error(void *ctx, const char *src, uint64_t line, int err,
			   const char *msg)
{
	(void)ctx;
	(void)src;
	(void)line;
	if (err >= 0 || msg == NULL)
		abort();
}

static void fuzz_tel_read(enum tel_format fmt, const uint8_t *data, size_t size)
{
	static struct tel_reader *r[4];
	if (r[fmt] == NULL) {
		struct tel_options o = TEL_OPTIONS_DEFAULT;
		o.format = fmt;
		o.max_line = 4096; /* reach the length checks */
		o.max_scos = 16;
		o.on_error = fuzz_tel_error;
		if (tel_reader_new(&o, &r[fmt], NULL) != ST_OK)
			abort();
	}
	if (tel_read_mem(r[fmt], data, size, "fuzz", fuzz_tel_record, NULL,
			 NULL) != ST_OK)
		abort();
}

#endif
