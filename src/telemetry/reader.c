/*
 * strait: the telemetry reader: inputs read in chunks of whole lines,
 * the format detected, each line handed to the JSON-lines or TSV path,
 * malformed lines reported, records delivered.
 */
#include "telemetry/tel_int.h"

#include "common/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const struct tel_options TEL_OPTIONS_DEFAULT = {
    .format = TEL_FMT_AUTO,
    .max_line = 1u << 20,
    .max_scos = 32,
    .max_record_mem = 4u << 20,
};

static const char *const default_local_nets[] = {
    "10.0.0.0/8",    "172.16.0.0/12", "192.168.0.0/16",
    "100.64.0.0/10", "127.0.0.0/8",   "169.254.0.0/16",
    "fc00::/7",	     "fe80::/10",     "::1/128",
};

/* ------------------------------------------------------------------ */
/* Names and values                                                     */
/* ------------------------------------------------------------------ */

const char *tel_kind_name(enum tel_kind k)
{
	static const char *const names[TEL_KIND__COUNT] = {
	    "conn", "dns", "http", "ssl", "files", "x509", "alert", "other",
	};
	return (unsigned)k < TEL_KIND__COUNT ? names[k] : "?";
}

const char *tel_format_name(enum tel_format f)
{
	switch (f) {
	case TEL_FMT_AUTO:
		return "auto";
	case TEL_FMT_ZEEK_JSON:
		return "zeek-json";
	case TEL_FMT_ZEEK_TSV:
		return "zeek-tsv";
	case TEL_FMT_EVE:
		return "eve";
	}
	return "?";
}

const char *tel_sco_value(const struct tel_record *r, size_t i, size_t *len)
{
	if (i >= r->obs.n_objects || r->info[i].local ||
	    r->info[i].value == NULL)
		return NULL;
	if (len != NULL)
		*len = r->info[i].value_len;
	return r->info[i].value;
}

/* ------------------------------------------------------------------ */
/* The reader                                                           */
/* ------------------------------------------------------------------ */

static int add_local_net(struct tel_reader *r, const struct ip_prefix *p)
{
	if (!p->v6 && p->len <= 32) {
		if (r->n_v4 >= TEL_MAX_LOCAL_NETS)
			return ST_ELIMIT;
		uint32_t a = (uint32_t)p->addr[0] << 24 |
			     (uint32_t)p->addr[1] << 16 |
			     (uint32_t)p->addr[2] << 8 | p->addr[3];
		uint32_t mask = p->len == 0 ? 0 : ~0u << (32 - p->len);
		r->v4[r->n_v4].mask = mask;
		r->v4[r->n_v4].net = a & mask;
		r->n_v4++;
		return ST_OK;
	}
	if (r->n_v6 >= TEL_MAX_LOCAL_NETS)
		return ST_ELIMIT;
	r->v6[r->n_v6++] = *p;
	return ST_OK;
}

int tel_reader_new(const struct tel_options *opt, struct tel_reader **out,
		   struct diag *d)
{
	struct tel_reader *r;
	*out = NULL;
	if (opt == NULL)
		opt = &TEL_OPTIONS_DEFAULT;
	if (opt->max_line < 64 || opt->max_line > (64u << 20))
		return diag_set(d, ST_EINVAL,
				"max_line must be from 64 bytes to 64 MiB");
	if (opt->max_scos < 1 || opt->max_scos > TEL_MAX_SCOS)
		return diag_set(d, ST_EINVAL, "max_scos must be from 1 to %d",
				TEL_MAX_SCOS);
	if (opt->max_record_mem < 4096)
		return diag_set(d, ST_EINVAL,
				"max_record_mem must be at least 4096");
	if (opt->format > TEL_FMT_EVE)
		return diag_set(d, ST_EINVAL, "unknown format");
	if (opt->n_local_nets > TEL_MAX_LOCAL_NETS ||
	    (opt->n_local_nets > 0 && opt->local_nets == NULL))
		return diag_set(d, ST_EINVAL, "bad local_nets");

	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	r->opt = *opt;
	r->buf_cap = TEL_CHUNK;
	if (r->buf_cap < opt->max_line + 2)
		r->buf_cap = opt->max_line + 2;
	r->buf = malloc(r->buf_cap + JSON_PADDING);
	r->scratch = malloc(opt->max_line + 1);
	r->jl = json_lines_new();
	r->arena = arena_new(64 * 1024);
	if (r->buf == NULL || r->scratch == NULL || r->jl == NULL ||
	    r->arena == NULL) {
		tel_reader_free(r);
		return diag_set(d, ST_ENOMEM, "out of memory");
	}
	r->lim.max_bytes = opt->max_line;
	r->lim.max_depth = 32;
	r->lim.max_string = (uint32_t)opt->max_line;
	r->lim.max_members = 100000;
	tel_keys_init(r);
	for (int i = 0; i < TEL_MAX_SCOS; i++)
		snprintf(r->refs[i], sizeof(r->refs[i]), "%d", i);
	for (size_t i = 0; i < opt->n_local_nets; i++)
		add_local_net(r, &opt->local_nets[i]);
	if (opt->n_local_nets == 0 && !opt->no_default_local_nets) {
		size_t n =
		    sizeof(default_local_nets) / sizeof(default_local_nets[0]);
		for (size_t i = 0; i < n; i++) {
			struct ip_prefix p;
			const char *s = default_local_nets[i];
			if (ip_parse(s, strlen(s), &p))
				add_local_net(r, &p);
		}
	}
	tel_tsv_reset(&r->tsv);
	r->day = -1;
	*out = r;
	return ST_OK;
}

void tel_reader_free(struct tel_reader *r)
{
	if (r == NULL)
		return;
	free(r->buf);
	free(r->scratch);
	json_lines_free(r->jl);
	arena_free(r->arena);
	free(r);
}

const struct tel_stats *tel_reader_stats(const struct tel_reader *r)
{
	return &r->stats;
}

void tel_reader_reset_stats(struct tel_reader *r)
{
	memset(&r->stats, 0, sizeof(r->stats));
}

/* ------------------------------------------------------------------ */
/* Records and errors                                                   */
/* ------------------------------------------------------------------ */

void tel_report(struct tel_reader *r, uint64_t line, int err, const char *msg)
{
	r->stats.malformed++;
	r->src_malformed++;
	if (r->opt.on_error != NULL)
		r->opt.on_error(r->opt.error_ctx, r->src, line, err, msg);
	else if (r->src_malformed <= TEL_REPORTS_PER_INPUT)
		log_warn("telemetry", "%s:%llu: %s", r->src,
			 (unsigned long long)line, msg);
}

int tel_finish(struct tel_reader *r, uint64_t line, int rc, enum tel_format fmt,
	       enum tel_kind kind, st_time ts)
{
	if (rc == ST_OK && r->err != ST_OK)
		rc = r->err == ST_ELIMIT
			 ? diag_set(&r->d, ST_ELIMIT,
				    "the record needs more than %zu bytes",
				    r->opt.max_record_mem)
			 : r->err;
	if (rc == ST_ENOMEM)
		return rc;
	if (rc < 0) {
		tel_report(r, line, rc, r->d.msg);
		return ST_OK;
	}
	if (r->n_scos == 0) {
		r->stats.skipped++;
		return ST_OK;
	}
	if (r->truncated)
		r->stats.truncated++;
	r->stats.records++;
	r->stats.by_kind[kind]++;
	struct tel_record rec = {
	    .obs = {NULL, ts, ts, 1, r->scos, r->n_scos},
	    .info = r->info,
	    .kind = kind,
	    .format = fmt,
	    .source = r->src,
	    .line = line,
	    .ts = ts,
	    .uid = r->uid,
	};
	return r->fn != NULL ? r->fn(r->fn_ctx, &rec) : ST_OK;
}

/* ------------------------------------------------------------------ */
/* Blocks of lines                                                      */
/* ------------------------------------------------------------------ */

static int json_block(struct tel_reader *r, const char *text, size_t len,
		      uint64_t first_line, uint64_t *next_line)
{
	struct json_line ln;
	json_lines_start(r->jl, text, len, first_line, &r->lim);
	for (;;) {
		int rc = json_lines_next(r->jl, &ln, &r->d);
		if (rc == 0) {
			*next_line = ln.line;
			return ST_OK;
		}
		if (rc == ST_ENOMEM)
			return rc;
		if (rc < 0) {
			if (ln.len > r->opt.max_line)
				r->stats.too_long++;
			tel_report(r, ln.line, rc, r->d.msg);
			continue;
		}
		if (ln.root->type != JSON_OBJECT) {
			tel_report(r, ln.line, ST_EINVAL, "not a JSON object");
			continue;
		}
		tel_json_fields(r, ln.root);
		bool eve = r->fmt == TEL_FMT_EVE ||
			   (r->fmt != TEL_FMT_ZEEK_JSON &&
			    trec_get(&r->rec, TF_EVENT_TYPE) != NULL);
		if (eve)
			rc = tel_eve_record(r, ln.line);
		else
			rc = tel_zeek_record(r, ln.line, TEL_FMT_ZEEK_JSON,
					     r->name_kind_known, r->name_kind);
		if (rc != ST_OK)
			return rc;
	}
}

/* Decides the format of an input from its first non-blank byte: TSV
 * headers start with '#'; anything else is read as JSON lines, each
 * record being an EVE event if it has "event_type", else Zeek's. */
static bool detect(struct tel_reader *r, const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char c = p[i];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (c == '#')
			r->fmt = TEL_FMT_ZEEK_TSV;
		return true;
	}
	return false;
}

/* ------------------------------------------------------------------ */
/* Inputs                                                               */
/* ------------------------------------------------------------------ */

struct source {
	int fd; /* -1: memory */
	const char *mem;
	size_t len, pos;
};

static long src_read(struct source *s, char *dst, size_t n)
{
	if (s->fd < 0) {
		size_t k = s->len - s->pos < n ? s->len - s->pos : n;
		if (k == 0)
			return 0; /* also for data NULL with len 0 */
		memcpy(dst, s->mem + s->pos, k);
		s->pos += k;
		return (long)k;
	}
	for (;;) {
		ssize_t k = read(s->fd, dst, n);
		if (k >= 0 || errno != EINTR)
			return (long)k;
	}
}

/* The log kind a file name says: "conn.log", "dns.2024-01-01.log". */
static void name_hint(struct tel_reader *r, const char *name)
{
	const char *base = strrchr(name, '/');
	base = base != NULL ? base + 1 : name;
	const char *dot = strchr(base, '.');
	size_t n = dot != NULL ? (size_t)(dot - base) : strlen(base);
	r->name_kind_known = tel_kind_from_path(base, n, &r->name_kind);
}

static void begin_input(struct tel_reader *r, const char *name)
{
	r->src = name;
	name_hint(r, name);
	r->fmt = r->opt.format;
	r->src_malformed = 0;
	tel_tsv_reset(&r->tsv);
	r->stats.inputs++;
}

static void end_input(struct tel_reader *r)
{
	if (r->opt.on_error == NULL && r->src_malformed > TEL_REPORTS_PER_INPUT)
		log_warn("telemetry", "%s: %llu malformed lines in all", r->src,
			 (unsigned long long)r->src_malformed);
}

/* Offset just past the last '\n' in buf[from, to), or 0 when there is
 * none. */
static size_t last_newline(const char *buf, size_t from, size_t to)
{
	while (to > from) {
		if (buf[to - 1] == '\n')
			return to;
		to--;
	}
	return 0;
}

/*
 * Reads an input in chunks of whole lines. One read at a time, so that
 * the lines of a pipe are handled as they arrive. A line that does not fit
 * in the buffer is reported and its bytes skipped up to the next '\n'.
 */
static int read_input(struct tel_reader *r, struct source *s, const char *name,
		      tel_record_fn fn, void *ctx, struct diag *d)
{
	size_t have = 0;  /* bytes in r->buf */
	size_t clean = 0; /* leading bytes of r->buf known to hold no '\n' */
	uint64_t line = 1;
	bool eof = false, skipping = false, first = true;
	bool decided = r->opt.format != TEL_FMT_AUTO;
	int rc = ST_OK;

	begin_input(r, name);
	r->fn = fn;
	r->fn_ctx = ctx;
	while (!eof || have > 0) {
		if (!eof && have < r->buf_cap) {
			long n = src_read(s, r->buf + have, r->buf_cap - have);
			if (n < 0) {
				rc = diag_set(d, ST_EIO, "%s: %s", name,
					      strerror(errno));
				goto out;
			}
			eof = n == 0;
			have += (size_t)n;
			r->stats.bytes += (uint64_t)n;
		}
		size_t upto = last_newline(r->buf, clean, have);
		if (skipping) {
			/* The rest of a line longer than the buffer. */
			if (upto == 0) {
				r->stats.lines += eof; /* it was the last */
				have = clean = 0;
				continue;
			}
			char *nl = memchr(r->buf, '\n', have);
			size_t drop = (size_t)(nl - r->buf) + 1;
			memmove(r->buf, nl + 1, have - drop);
			have -= drop;
			clean = 0;
			r->stats.lines++;
			line++;
			skipping = false;
			continue;
		}
		if (upto == 0 && !eof) {
			clean = have;
			if (have < r->buf_cap)
				continue; /* the line goes on: read more */
			r->stats.too_long++;
			diag_set(&r->d, ST_ELIMIT,
				 "line longer than the limit of %zu bytes",
				 r->opt.max_line);
			tel_report(r, line, ST_ELIMIT, r->d.msg);
			skipping = true;
			have = clean = 0;
			continue;
		}
		if (upto == 0)
			upto = have; /* the last line has no '\n' */
		size_t off = 0;
		if (first && upto >= 3 &&
		    memcmp(r->buf, "\xef\xbb\xbf", 3) == 0)
			off = 3; /* a byte order mark */
		first = false;
		if (!decided)
			decided = detect(r, r->buf + off, upto - off);
		uint64_t next = line;
		if (r->fmt == TEL_FMT_ZEEK_TSV)
			rc = tel_tsv_block(r, r->buf + off, upto - off, line,
					   &next);
		else
			rc = json_block(r, r->buf + off, upto - off, line,
					&next);
		r->stats.lines += next - line;
		line = next;
		if (rc != ST_OK) {
			if (rc == ST_ENOMEM)
				diag_set(d, rc, "%s: out of memory", name);
			goto out;
		}
		memmove(r->buf, r->buf + upto, have - upto);
		have -= upto;
		clean = have;
	}
out:
	end_input(r);
	r->fn = NULL;
	return rc;
}

int tel_read_fd(struct tel_reader *r, int fd, const char *name,
		tel_record_fn fn, void *ctx, struct diag *d)
{
	struct source s = {fd, NULL, 0, 0};
	return read_input(r, &s, name != NULL ? name : "-", fn, ctx, d);
}

int tel_read_mem(struct tel_reader *r, const void *data, size_t len,
		 const char *name, tel_record_fn fn, void *ctx, struct diag *d)
{
	struct source s = {-1, data, len, 0};
	return read_input(r, &s, name != NULL ? name : "-", fn, ctx, d);
}

int tel_read_file(struct tel_reader *r, const char *path, tel_record_fn fn,
		  void *ctx, struct diag *d)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return diag_set(d, errno == ENOENT ? ST_ENOTFOUND : ST_EIO,
				"%s: %s", path, strerror(errno));
	int rc = tel_read_fd(r, fd, path, fn, ctx, d);
	close(fd);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Directories                                                          */
/* ------------------------------------------------------------------ */

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n > m && memcmp(s + n - m, suffix, m) == 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int tel_read_dir(struct tel_reader *r, const char *dir, tel_record_fn fn,
		 void *ctx, struct diag *d)
{
	DIR *dh = opendir(dir);
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = ST_OK;
	struct dirent *e;

	if (dh == NULL)
		return diag_set(d, errno == ENOENT ? ST_ENOTFOUND : ST_EIO,
				"%s: %s", dir, strerror(errno));
	while ((e = readdir(dh)) != NULL) {
		const char *nm = e->d_name;
		if (nm[0] == '.' ||
		    !(ends_with(nm, ".log") || ends_with(nm, ".json")))
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			char **p = realloc(names, nc * sizeof(*p));
			if (p == NULL) {
				rc = diag_set(d, ST_ENOMEM, "out of memory");
				goto out;
			}
			names = p;
			cap = nc;
		}
		size_t len = strlen(dir) + strlen(nm) + 2;
		if ((names[n] = malloc(len)) == NULL) {
			rc = diag_set(d, ST_ENOMEM, "out of memory");
			goto out;
		}
		snprintf(names[n++], len, "%s/%s", dir, nm);
	}
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		if (stat(names[i], &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		name_hint(r, names[i]);
		if (r->opt.kinds != 0 && r->name_kind_known &&
		    !(r->opt.kinds & TEL_KIND_BIT(r->name_kind)))
			continue;
		struct diag fd;
		rc = tel_read_file(r, names[i], fn, ctx, &fd);
		if (rc == ST_EIO || rc == ST_ENOTFOUND) {
			/* Reported; the other files are still read. */
			r->src = names[i];
			if (r->opt.on_error != NULL)
				r->opt.on_error(r->opt.error_ctx, names[i], 0,
						rc, fd.msg);
			else
				log_warn("telemetry", "%s", fd.msg);
			rc = ST_OK;
		} else if (rc != ST_OK) {
			if (rc == ST_ENOMEM && d != NULL)
				*d = fd;
			break;
		}
	}
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(dh);
	return rc;
}
