/*
 * strait: Zeek's TSV logs. The header lines (#separator, #set_separator,
 * #empty_field, #unset_field, #path, #fields, #types) set how the data
 * lines that follow are split; a later #separator starts a new header
 * (concatenated logs). Values are unescaped in place: Zeek writes the
 * separator, the set separator inside sets, backslashes and unprintable
 * bytes as \xNN. A value whose unescaped bytes are not UTF-8 keeps its
 * escaped spelling, so every SCO string stays valid UTF-8.
 */
#include "telemetry/tel_int.h"
#include "common/hex.h"

#include "common/utf8.h"

#include <stdio.h>
#include <string.h>

static void set_meta(char *dst, uint8_t *dlen, const char *s, size_t len)
{
	memcpy(dst, s, len);
	dst[len] = '\0';
	*dlen = (uint8_t)len;
}

void tel_tsv_reset(struct tsv_state *t)
{
	memset(t, 0, sizeof(*t));
	set_meta(t->sep, &t->sep_len, "\t", 1);
	set_meta(t->set_sep, &t->set_sep_len, ",", 1);
	set_meta(t->empty, &t->empty_len, "(empty)", 7);
	set_meta(t->unset, &t->unset_len, "-", 1);
}

/* Decodes \xNN escapes of s into out (room for len bytes); other bytes,
 * and backslashes that do not start an escape, are copied. Returns the
 * length. */
static size_t unescape(const char *s, size_t len, char *out)
{
	size_t k = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\\' && i + 3 < len && s[i + 1] == 'x' &&
		    hex_digit((unsigned char)s[i + 2]) >= 0 &&
		    hex_digit((unsigned char)s[i + 3]) >= 0) {
			out[k++] =
			    (char)(hex_digit((unsigned char)s[i + 2]) << 4 |
				   hex_digit((unsigned char)s[i + 3]));
			i += 3;
			continue;
		}
		out[k++] = s[i];
	}
	return k;
}

/* Unescapes a value in place (through the scratch buffer) when the result
 * is UTF-8, and NUL-terminates it; returns its length. */
static size_t value_in_place(struct tel_reader *r, char *s, size_t len)
{
	if (len > 0 && memchr(s, '\\', len) != NULL) {
		size_t k = unescape(s, len, r->scratch);
		if (utf8_invalid_offset(r->scratch, k) < 0) {
			memcpy(s, r->scratch, k);
			len = k;
		}
	}
	s[len] = '\0';
	return len;
}

/* The next occurrence of the separator sep in [p, end), or end. */
static char *find_sep(char *p, char *end, const char *sep, size_t n)
{
	if (n == 1) {
		char *q = memchr(p, sep[0], (size_t)(end - p));
		return q != NULL ? q : end;
	}
	for (; p + n <= end; p++) {
		p = memchr(p, sep[0], (size_t)(end - p));
		if (p == NULL || p + n > end)
			break;
		if (memcmp(p, sep, n) == 0)
			return p;
	}
	return end;
}

/* ------------------------------------------------------------------ */
/* Headers                                                              */
/* ------------------------------------------------------------------ */

/* Fields that are sets or vectors even when #types is missing. */
static bool container_field(enum tf id)
{
	return id == TF_ANSWERS || id == TF_TX_HOSTS || id == TF_RX_HOSTS ||
	       id == TF_SAN_DNS || id == TF_CERT_CHAIN_FPS;
}

static bool is_kw(const char *p, size_t len, const char *kw, size_t *vlen)
{
	size_t n = strlen(kw);
	if (len < n || memcmp(p, kw, n) != 0)
		return false;
	*vlen = len - n;
	return true;
}

/* The kind of the data lines: #path, else the file name, else what the
 * fields say. */
static void resolve_kind(struct tel_reader *r)
{
	struct tsv_state *t = &r->tsv;
	if (t->path_known) {
		t->kind = t->path_kind;
		t->kind_known = true;
	} else if (r->name_kind_known) {
		t->kind = r->name_kind;
		t->kind_known = true;
	} else {
		/* Fields present on every line of the log. */
		struct trec *fr = &r->rec;
		trec_clear(fr);
		for (uint32_t c = 0; c < t->n_cols; c++)
			if (t->col_id[c] != TF_NONE)
				trec_set(fr, t->col_id[c]);
		t->kind = tel_zeek_infer(fr);
		t->kind_known = true;
	}
}

static int header_meta(struct tel_reader *r, char *dst, uint8_t *dlen,
		       const char *v, size_t vlen, const char *what)
{
	char tmp[TEL_TSV_MAX_META];
	if (vlen == 0 || vlen >= sizeof(tmp))
		return diag_set(&r->d, ST_EINVAL, "%s: bad value", what);
	size_t k = unescape(v, vlen, tmp);
	if (k == 0)
		return diag_set(&r->d, ST_EINVAL, "%s: bad value", what);
	set_meta(dst, dlen, tmp, k);
	return ST_OK;
}

/* Splits the values of a #fields or #types line. */
static int header_list(struct tel_reader *r, char *p, char *end, bool fields)
{
	struct tsv_state *t = &r->tsv;
	uint32_t c = 0;
	while (p <= end) {
		char *q = find_sep(p, end, t->sep, t->sep_len);
		if (c >= TEL_TSV_MAX_COLS)
			return diag_set(&r->d, ST_ELIMIT,
					"more than %d columns",
					TEL_TSV_MAX_COLS);
		size_t n = (size_t)(q - p);
		if (fields) {
			enum tf id = tel_key_lookup(r, p, n);
			t->col_id[c] = (uint8_t)id;
			t->col_container[c] = container_field(id);
		} else if (c < t->n_cols) {
			t->col_container[c] =
			    (n >= 4 && memcmp(p, "set[", 4) == 0) ||
			    (n >= 7 && memcmp(p, "vector[", 7) == 0) ||
			    (n >= 6 && memcmp(p, "table[", 6) == 0);
		}
		c++;
		if (q == end)
			break;
		p = q + t->sep_len;
	}
	if (fields) {
		t->n_cols = c;
		t->have_fields = true;
		t->types_seen = false;
		resolve_kind(r);
	} else {
		if (c != t->n_cols)
			return diag_set(&r->d, ST_EINVAL,
					"#types has %u columns, #fields %u", c,
					t->n_cols);
		t->types_seen = true;
	}
	return ST_OK;
}

static int header(struct tel_reader *r, char *p, size_t len)
{
	struct tsv_state *t = &r->tsv;
	char *end = p + len;
	size_t vlen;
	if (is_kw(p, len, "#separator", &vlen)) {
		/* "#separator \x09": the only header with a space. */
		if (vlen < 2 || (p[10] != ' ' && p[10] != '\t'))
			return diag_set(&r->d, ST_EINVAL,
					"#separator: bad value");
		tel_tsv_reset(t);
		return header_meta(r, t->sep, &t->sep_len, p + 11, vlen - 1,
				   "#separator");
	}
	/* The other headers: keyword, separator, value. */
	char *q = find_sep(p, end, t->sep, t->sep_len);
	if (q == end)
		return ST_OK; /* "#close" alone and the like */
	size_t kl = (size_t)(q - p);
	char *v = q + t->sep_len;
	vlen = (size_t)(end - v);
	if (kl == 14 && memcmp(p, "#set_separator", 14) == 0)
		return header_meta(r, t->set_sep, &t->set_sep_len, v, vlen,
				   "#set_separator");
	if (kl == 12 && memcmp(p, "#empty_field", 12) == 0)
		return header_meta(r, t->empty, &t->empty_len, v, vlen,
				   "#empty_field");
	if (kl == 12 && memcmp(p, "#unset_field", 12) == 0)
		return header_meta(r, t->unset, &t->unset_len, v, vlen,
				   "#unset_field");
	if (kl == 5 && memcmp(p, "#path", 5) == 0) {
		t->path_known = tel_kind_from_path(v, vlen, &t->path_kind);
		if (t->have_fields)
			resolve_kind(r);
		return ST_OK;
	}
	if (kl == 7 && memcmp(p, "#fields", 7) == 0)
		return header_list(r, v, end, true);
	if (kl == 6 && memcmp(p, "#types", 6) == 0) {
		if (!t->have_fields)
			return diag_set(&r->d, ST_EINVAL,
					"#types before #fields");
		return header_list(r, v, end, false);
	}
	return ST_OK; /* #open, #close, comments */
}

/* ------------------------------------------------------------------ */
/* Data lines                                                           */
/* ------------------------------------------------------------------ */

static bool is_marker(const char *p, size_t n, const char *m, size_t ml)
{
	return n == ml && memcmp(p, m, ml) == 0;
}

/* Splits a set value into elements (in place, NUL-terminated). */
static void split_set(struct tel_reader *r, struct tval *v, char *p, char *end)
{
	const struct tsv_state *t = &r->tsv;
	v->container = true;
	v->elems = &r->elems[r->n_elems];
	v->n_elems = 0;
	for (;;) {
		char *q = find_sep(p, end, t->set_sep, t->set_sep_len);
		if (r->n_elems < TEL_MAX_ELEMS) {
			struct tel_elem *e = &r->elems[r->n_elems++];
			e->s = p;
			e->len =
			    (uint32_t)value_in_place(r, p, (size_t)(q - p));
			v->n_elems++;
		}
		if (q == end)
			break;
		p = q + t->set_sep_len;
	}
}

static int data_line(struct tel_reader *r, char *p, size_t len, uint64_t line)
{
	struct tsv_state *t = &r->tsv;
	if (!t->have_fields) {
		tel_report(r, line, ST_EINVAL, "data before a #fields header");
		return ST_OK;
	}
	long bad = utf8_invalid_offset(p, len);
	if (bad >= 0) {
		diag_set(&r->d, ST_EINVAL, "invalid UTF-8 at byte %ld", bad);
		tel_report(r, line, ST_EINVAL, r->d.msg);
		return ST_OK;
	}
	trec_clear(&r->rec);
	r->n_elems = 0;
	char *end = p + len;
	uint32_t c = 0;
	for (;;) {
		char *q = find_sep(p, end, t->sep, t->sep_len);
		size_t n = (size_t)(q - p);
		if (c >= t->n_cols) {
			c++;
			break;
		}
		enum tf id = (enum tf)t->col_id[c];
		char *next = q + t->sep_len;
		if (id != TF_NONE && !is_marker(p, n, t->unset, t->unset_len)) {
			struct tval *v = trec_set(&r->rec, id);
			v->j = NULL;
			v->container = false;
			v->n_elems = 0;
			if (is_marker(p, n, t->empty, t->empty_len)) {
				v->s = "";
				v->len = 0;
				v->container = t->col_container[c];
			} else if (t->col_container[c]) {
				v->s = p;
				v->len = (uint32_t)n;
				split_set(r, v, p, q);
			} else {
				v->s = p;
				v->len = (uint32_t)value_in_place(r, p, n);
			}
		}
		c++;
		if (q == end)
			break;
		p = next;
	}
	if (c != t->n_cols) {
		diag_set(&r->d, ST_EINVAL, "%u fields, #fields has %u", c,
			 t->n_cols);
		tel_report(r, line, ST_EINVAL, r->d.msg);
		return ST_OK;
	}
	return tel_zeek_record(r, line, TEL_FMT_ZEEK_TSV, t->kind_known,
			       t->kind);
}

int tel_tsv_block(struct tel_reader *r, char *text, size_t len,
		  uint64_t first_line, uint64_t *next_line)
{
	uint64_t line = first_line;
	size_t pos = 0;
	int rc = ST_OK;
	while (pos < len) {
		char *p = text + pos;
		char *nl = memchr(p, '\n', len - pos);
		size_t n = nl != NULL ? (size_t)(nl - p) : len - pos;
		pos += n + (nl != NULL);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n > r->opt.max_line) {
			r->stats.too_long++;
			diag_set(&r->d, ST_ELIMIT,
				 "line of %zu bytes exceeds the limit of %zu",
				 n, r->opt.max_line);
			tel_report(r, line, ST_ELIMIT, r->d.msg);
		} else if (n == 0) {
			/* blank */
		} else if (p[0] == '#') {
			if (header(r, p, n) != ST_OK)
				tel_report(r, line, ST_EINVAL, r->d.msg);
		} else {
			/* p[n] is the '\n', the '\r' or, for the last line
			 * of an input, padding: values may end there. */
			rc = data_line(r, p, n, line);
			if (rc != ST_OK)
				break;
		}
		line++;
	}
	*next_line = line;
	return rc;
}
