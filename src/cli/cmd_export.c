#include "cli/cli.h"
#include "cli/export_misp.h"
#include "lifecycle/lifecycle.h"

#include "common/json.h"
#include "common/uuid.h"
#include "federation/fed.h"
#include "federation/fedstate.h"
#include "interop/sensor.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char export_usage[] =
    "usage: strait export [--format F] [--collection ID] [--type T,...]\n"
    "                     [--added-after TS] [--all-versions] [--for PEER]\n"
    "                     [-o FILE]\n"
    "\n"
    "Writes the objects of a collection as one STIX 2.1 bundle, in the\n"
    "order they were added, each object exactly as stored (RFC 8785\n"
    "canonical form). By default only the latest version of each object.\n"
    "\n"
    "With --format, the collection's indicators (latest versions, not\n"
    "revoked, not expired) for a sensor or a blocklist: zeek-intel (Zeek\n"
    "Intel framework), suricata (rules with stable sid and rev),\n"
    "suricata-dataset (a directory of Suricata dataset and hash lists and\n"
    "the rules that load them; needs -o DIR), blocklist (one value a\n"
    "line), rpz (a DNS RPZ zone of domain names), csv\n"
    "(value,type,comment,tlp,first_seen,last_seen). Only indicators whose\n"
    "pattern the format expresses exactly are written; the others are\n"
    "counted and listed on stderr with the reason (docs/EXPORTS.md).\n"
    "\n"
    "--format misp-feed -o DIR writes a MISP feed to the folder DIR: one\n"
    "event JSON per report and grouping with what it refers to,\n"
    "manifest.json and hashes.csv, for MISP to pull (docs/MISP.md).\n"
    "\n"
    "  --format F         stix (default), zeek-intel, suricata,\n"
    "                     suricata-dataset, blocklist, rpz, csv, misp-feed\n"
    "  --collection ID    collection id or alias (default: 'default')\n"
    "  --type T,...       only these STIX types\n"
    "  --added-after TS   only versions added after this timestamp\n"
    "  --all-versions     every version, not only the latest\n"
    "  --for PEER         only what the release decision gives that partner\n"
    "                     (its sharing policy, references, relay rules);\n"
    "                     the export is recorded as a release to it\n"
    "  --min-confidence N sensor formats: only indicators whose confidence,\n"
    "                     decayed by age (docs/LIFECYCLE.md), is at least\n"
    "                     N (0-100); those without one are left out\n"
    "  -o, --output FILE  write to FILE (atomically) instead of stdout;\n"
    "                     suricata-dataset (made if absent) and misp-feed:\n"
    "                     the folder\n";

#define PAGE 1000
#define MAX_TYPES 64

/* A row kept for deciding after the read (the decision reads the store
 * for references, which a store callback may not do). */
struct kept {
	struct store_row row;
	char *id, *body;
};

struct export_ctx {
	FILE *f;
	uint64_t n;
	st_time last_added;
	int err;
	struct fed_decider *dec; /* --for */
	struct kept *kept;
	size_t nkept;
	uint64_t withheld;
	struct fed_sent_item *sent;
	size_t nsent, capsent;
	/* --format other than stix */
	int format;
	struct ix_writer *w;
	struct ix_sids *sids;
	char src[STIX_ID_MAX + 8]; /* "strait:<node identity>" */
	int ix_err;
	char ix_msg[512];
	uint64_t revoked, expired, not_stix;
	struct left {
		const char *why;
		uint64_t n;
	} why[32];
	size_t nwhy;
	char (*listed)[160]; /* the first LISTED left out, "id: why" */
	size_t nlisted;
	struct json_doc *doc; /* each indicator parsed into it */
	/* the lifecycle (sensor formats): NULL when nothing is suppressed
	 * here and no --min-confidence */
	struct lc *lc;
	bool lc_active; /* false positives, allow-list or default validity */
	int min_conf;	/* -1: no --min-confidence */
	uint64_t suppressed, low_conf;
	char lc_why[LC_WHY_MAX];
};

#define LISTED 50

static void left_out(struct export_ctx *x, const char *id, const char *why)
{
	size_t i = 0;
	while (i < x->nwhy && strcmp(x->why[i].why, why) != 0)
		i++;
	if (i == x->nwhy && x->nwhy < sizeof(x->why) / sizeof(x->why[0]))
		x->why[x->nwhy++] = (struct left){why, 0};
	if (i < x->nwhy)
		x->why[i].n++;
	if (x->listed == NULL)
		x->listed = calloc(LISTED, sizeof(*x->listed));
	if (x->listed != NULL && x->nlisted < LISTED)
		snprintf(x->listed[x->nlisted++], sizeof(x->listed[0]),
			 "%s: %s", id, why);
}

/* One indicator for a sensor format: written if it is current and the
 * format holds its pattern exactly; else counted. true when written. */
static bool sensor_row(struct export_ctx *x, const struct store_row *row)
{
	const struct json_val *o;
	struct diag d;
	bool done = false;
	if (x->doc == NULL && (x->doc = json_doc_new()) == NULL) {
		x->err = ENOMEM;
		return false;
	}
	if (json_parse(x->doc, row->body, row->body_len, 0, NULL, &o, &d) !=
	    ST_OK) {
		x->err = ENOMEM;
		return false;
	}
	const struct json_val *rev = json_get(o, "revoked");
	const char *pt = json_get_str(o, "pattern_type");
	const char *pat = json_get_str(o, "pattern");
	const char *until = json_get_str(o, "valid_until");
	st_time vu;
	static struct ix_atom atoms[IX_ATOMS_MAX];
	size_t n = 0;
	const char *why = NULL;
	if (rev != NULL && rev->type == JSON_TRUE) {
		x->revoked++;
	} else if (until != NULL &&
		   ts_parse(until, strlen(until), &vu, NULL) == ST_OK &&
		   vu <= time_now()) {
		x->expired++;
	} else if (x->lc_active &&
		   lc_suppressed(x->lc, o, row, time_now(), x->lc_why)) {
		x->suppressed++;
		left_out(x, row->id,
			 "suppressed here (strait fp, strait allow, default "
			 "validity)");
	} else if (x->min_conf >= 0 &&
		   lc_confidence(x->lc, o, time_now()) < x->min_conf) {
		x->low_conf++;
		left_out(x, row->id,
			 "confidence, decayed by age, below --min-confidence");
	} else if ((pt != NULL && strcmp(pt, "stix") != 0) || pat == NULL) {
		x->not_stix++;
		left_out(x, row->id, "a pattern that is not STIX");
	} else if (ix_pattern_atoms(pat, strlen(pat), atoms, &n, &why) !=
		   ST_OK) {
		left_out(x, row->id, why);
	} else {
		for (size_t i = 0; i < n && why == NULL; i++)
			if (!ix_expressible((enum ix_export_fmt)x->format,
					    &atoms[i], &why))
				break;
		if (why != NULL) {
			left_out(x, row->id, why);
		} else {
			struct ix_indicator ind = {
			    .id = row->id,
			    .version = row->version,
			    .name = json_get_str(o, "name"),
			    .tlp = tlp_name(row->tlp),
			    .source = x->src,
			    .valid_from = json_get_str(o, "valid_from"),
			    .valid_until = until,
			    .atoms = atoms,
			    .n = n};
			if (ix_writer_add(x->w, &ind, &d) != ST_OK) {
				x->ix_err = ST_EIO;
				snprintf(x->ix_msg, sizeof(x->ix_msg), "%s",
					 d.msg);
			} else {
				x->n++;
				done = true;
			}
		}
	}
	return done;
}

static void report_left_out(struct export_ctx *x, enum ix_export_fmt f,
			    uint64_t lines)
{
	uint64_t left = 0;
	for (size_t i = 0; i < x->nwhy; i++)
		left += x->why[i].n;
	fprintf(stderr,
		"%s: %llu indicators written (%llu lines), %llu left out "
		"as not exactly expressible, %llu revoked, %llu expired",
		ix_export_fmt_name(f), (unsigned long long)x->n,
		(unsigned long long)lines,
		(unsigned long long)(left - x->suppressed - x->low_conf),
		(unsigned long long)x->revoked, (unsigned long long)x->expired);
	if (x->suppressed > 0)
		fprintf(stderr, ", %llu suppressed here",
			(unsigned long long)x->suppressed);
	if (x->min_conf >= 0)
		fprintf(stderr, ", %llu below --min-confidence %d",
			(unsigned long long)x->low_conf, x->min_conf);
	fputc('\n', stderr);
	for (size_t i = 0; i < x->nwhy; i++)
		fprintf(stderr, "  %llu: %s\n", (unsigned long long)x->why[i].n,
			x->why[i].why);
	for (size_t i = 0; i < x->nlisted; i++)
		fprintf(stderr, "  left out %s\n", x->listed[i]);
	if (left > x->nlisted)
		fprintf(stderr, "  (and %llu more)\n",
			(unsigned long long)(left - x->nlisted));
	free(x->listed);
	x->listed = NULL;
}

static void write_body(struct export_ctx *x, const char *body, size_t len)
{
	if (x->n > 0 && fputc(',', x->f) == EOF)
		x->err = errno;
	if (fwrite(body, 1, len, x->f) != len)
		x->err = errno;
	x->n++;
}

static int write_row(void *ctx, const struct store_row *row)
{
	struct export_ctx *x = ctx;
	x->last_added = row->date_added;
	if (x->dec == NULL) {
		if (x->w != NULL)
			sensor_row(x, row);
		else
			write_body(x, row->body, row->body_len);
		return x->err != 0 || x->ix_err != 0;
	}
	struct kept *k = &x->kept[x->nkept];
	k->row = *row;
	k->id = strdup(row->id);
	/* the body, its NUL, then the provenance kept with it */
	k->body = malloc(row->body_len + 1 + row->prov_len);
	if (k->id == NULL || k->body == NULL) {
		free(k->id);
		free(k->body);
		x->err = ENOMEM;
		return 1;
	}
	memcpy(k->body, row->body, row->body_len);
	k->body[row->body_len] = '\0';
	if (row->prov != NULL && row->prov_len > 0) {
		memcpy(k->body + row->body_len + 1, row->prov, row->prov_len);
		k->row.prov = k->body + row->body_len + 1;
	} else {
		k->row.prov = NULL;
		k->row.prov_len = 0;
	}
	k->row.id = k->id;
	k->row.body = k->body;
	k->row.warnings = NULL;
	x->nkept++;
	return 0;
}

/* --for: decides the kept rows and writes what is released. */
static void flush_kept(struct export_ctx *x)
{
	for (size_t i = 0; i < x->nkept; i++) {
		struct kept *k = &x->kept[i];
		if (x->err == 0 &&
		    fed_decider_decide(x->dec, &k->row, NULL) == RELEASE_OK) {
			bool given = true;
			if (x->w != NULL)
				given = sensor_row(x, &k->row);
			else
				write_body(x, k->body, k->row.body_len);
			if (!given) {
				free(k->id);
				free(k->body);
				continue;
			}
			if (x->nsent == x->capsent) {
				size_t nc = x->capsent ? x->capsent * 2 : 1024;
				struct fed_sent_item *g =
				    realloc(x->sent, nc * sizeof(*g));
				if (g == NULL) {
					x->err = ENOMEM;
				} else {
					x->sent = g;
					x->capsent = nc;
				}
			}
			if (x->nsent < x->capsent) {
				x->sent[x->nsent++] = (struct fed_sent_item){
				    k->row.seq, k->id, k->row.version};
				k->id = NULL; /* kept until recorded */
			}
		} else if (x->err == 0) {
			x->withheld++;
		}
		free(k->id);
		free(k->body);
	}
	x->nkept = 0;
}

/*
 * Where an export goes: a file written beside its name and renamed over
 * it, or (suricata-dataset) several in a directory the same way; a spool
 * (suricata rules to stdout: given out only once their sids are
 * committed, so a sid a reader saw is never given to another rule after
 * a crash); or stdout. A reader never sees half a file.
 */
struct out {
	const char *path; /* -o; NULL: stdout */
	size_t n;	  /* files: 1, or IX_DS_NFILES for a directory */
	FILE *f[IX_DS_NFILES];
	char tmp[IX_DS_NFILES][PATH_MAX];
	char dst[IX_DS_NFILES][PATH_MAX];
	FILE *spool;
};

static int out_open(struct out *o, const char *path, int format,
		    const char *home)
{
	memset(o, 0, sizeof(*o));
	o->path = path;
	if (format == IX_FMT_SURICATA_DATASET) {
		if (path == NULL)
			return cli_fail(CLI_USAGE,
					"export: --format suricata-dataset "
					"writes several files: give -o DIR");
		struct stat sb;
		if (mkdir(path, 0755) != 0 && errno != EEXIST)
			return cli_fail(CLI_USAGE, "export: %s: %s", path,
					strerror(errno));
		if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode))
			return cli_fail(CLI_USAGE,
					"export: %s: not a directory", path);
		o->n = IX_DS_NFILES;
	} else if (path != NULL) {
		o->n = 1;
	} else if (format == IX_FMT_SURICATA) {
		char sp[PATH_MAX];
		snprintf(sp, sizeof(sp), "%s/export-spool.XXXXXX", home);
		int fd = mkstemp(sp);
		if (fd >= 0)
			unlink(sp);
		if (fd < 0 || (o->spool = fdopen(fd, "w+b")) == NULL) {
			if (fd >= 0)
				close(fd);
			return cli_fail(CLI_USAGE, "export: %s: %s", sp,
					strerror(errno));
		}
		return CLI_OK;
	}
	for (size_t i = 0; i < o->n; i++) {
		if (o->n == 1)
			snprintf(o->dst[i], sizeof(o->dst[i]), "%s", path);
		else
			snprintf(o->dst[i], sizeof(o->dst[i]), "%s/%s", path,
				 IX_DS_FILES[i]);
		snprintf(o->tmp[i], sizeof(o->tmp[i]), "%s.tmp.%ld", o->dst[i],
			 (long)getpid());
		if ((o->f[i] = fopen(o->tmp[i], "wb")) == NULL) {
			int e = errno;
			o->n = i; /* out_abort removes those made */
			return cli_fail(CLI_USAGE, "export: %s: %s", o->tmp[i],
					strerror(e));
		}
	}
	return CLI_OK;
}

/* The stream the export writes; NULL for a directory of files. */
static FILE *out_stream(const struct out *o)
{
	if (o->spool != NULL)
		return o->spool;
	if (o->n == 0)
		return stdout;
	return o->n == 1 ? o->f[0] : NULL;
}

/* Everything written on disk (the files synced and closed). */
static int out_sync(struct out *o)
{
	int status = CLI_OK;
	if (o->spool != NULL)
		return fflush(o->spool) != 0
			   ? cli_fail(CLI_USAGE, "export: spool: %s",
				      strerror(errno))
			   : CLI_OK;
	if (o->n == 0)
		return fflush(stdout) != 0
			   ? cli_fail(CLI_USAGE, "export: write: %s",
				      strerror(errno))
			   : CLI_OK;
	for (size_t i = 0; i < o->n; i++) {
		if ((fflush(o->f[i]) != 0 || fsync(fileno(o->f[i])) != 0) &&
		    status == CLI_OK)
			status = cli_fail(CLI_USAGE, "export: %s: %s",
					  o->tmp[i], strerror(errno));
		if (fclose(o->f[i]) != 0 && status == CLI_OK)
			status = cli_fail(CLI_USAGE, "export: %s: %s",
					  o->tmp[i], strerror(errno));
		o->f[i] = NULL;
	}
	return status;
}

/* Undoes out_open: the temporary files removed. */
static void out_abort(struct out *o)
{
	for (size_t i = 0; i < o->n; i++) {
		if (o->f[i] != NULL)
			fclose(o->f[i]);
		unlink(o->tmp[i]);
	}
	if (o->spool != NULL)
		fclose(o->spool);
	memset(o, 0, sizeof(*o));
}

/* Gives the export to its readers: the files renamed over their names
 * (the rules of a directory last), or the spool copied to stdout. */
static int out_publish(struct out *o)
{
	int status = CLI_OK;
	if (o->spool != NULL) {
		char b[65536];
		size_t got;
		rewind(o->spool);
		while ((got = fread(b, 1, sizeof(b), o->spool)) > 0)
			if (fwrite(b, 1, got, stdout) != got)
				break;
		if (ferror(o->spool) || ferror(stdout) || fflush(stdout) != 0)
			status = cli_fail(CLI_USAGE, "export: write: %s",
					  strerror(errno));
		fclose(o->spool);
		o->spool = NULL;
		return status;
	}
	for (size_t i = 0; i < o->n; i++)
		if (status == CLI_OK && rename(o->tmp[i], o->dst[i]) != 0)
			status = cli_fail(CLI_USAGE, "export: %s: %s",
					  o->dst[i], strerror(errno));
	if (status == CLI_OK && o->n > 1) {
		/* the renames themselves on disk */
		int fd = open(o->path, O_RDONLY | O_DIRECTORY);
		if (fd >= 0) {
			fsync(fd);
			close(fd);
		}
	}
	if (status != CLI_OK)
		for (size_t i = 0; i < o->n; i++)
			unlink(o->tmp[i]);
	return status;
}

int cli_export_record(struct cli *c, const char *peer,
		      const struct fed_sent_item *items, size_t n)
{
	/* What a partner was given is on record, like a push. */
	struct fedstate *fs = NULL;
	struct diag d;
	int status = CLI_OK;
	if (fedstate_open(c->home, &fs, &d) != ST_OK ||
	    fed_sent_record(fs, peer, "export", items, n, time_now(), &d) !=
		ST_OK)
		status = cli_fail(CLI_USAGE,
				  "export: recording the release: %s", d.msg);
	fedstate_close(fs);
	return status;
}

int cmd_export(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"collection", required_argument, NULL, 'c'},
	    {"type", required_argument, NULL, 't'},
	    {"added-after", required_argument, NULL, 'a'},
	    {"all-versions", no_argument, NULL, 'A'},
	    {"output", required_argument, NULL, 'o'},
	    {"for", required_argument, NULL, 'f'},
	    {"min-confidence", required_argument, NULL, 'M'},
	    {"format", required_argument, NULL, 'F'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *coll_arg = NULL, *out_path = NULL, *for_peer = NULL;
	int format = -1;	/* stix */
	bool misp_feed = false; /* --format misp-feed: a folder */
	int min_conf = -1;	/* --min-confidence */
	char *types_arg = NULL;
	const char *types[MAX_TYPES + 1] = {NULL};
	struct store_query q;
	memset(&q, 0, sizeof(q));
	q.vsel = STORE_V_LAST;
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			coll_arg = optarg;
			break;
		case 't':
			types_arg = optarg;
			break;
		case 'a':
			if (ts_parse(optarg, strlen(optarg), &q.added_after,
				     NULL) != ST_OK)
				return cli_fail(CLI_USAGE,
						"export: --added-after: not a "
						"timestamp like "
						"2024-01-31T12:00:00.000000Z: "
						"'%s'",
						optarg);
			break;
		case 'A':
			q.vsel = STORE_V_ALL;
			break;
		case 'o':
			out_path = optarg;
			break;
		case 'f':
			for_peer = optarg;
			break;
		case 'M': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || v < 0 || v > 100)
				return cli_fail(CLI_USAGE,
						"export: --min-confidence: "
						"expected 0 to 100, got '%s'",
						optarg);
			min_conf = (int)v;
			break;
		}
		case 'F':
			misp_feed = strcmp(optarg, "misp-feed") == 0;
			if (strcmp(optarg, "stix") == 0 || misp_feed) {
				format = -1;
				break;
			}
			format = ix_export_fmt_parse(optarg);
			if (format < 0)
				return cli_fail(
				    CLI_USAGE,
				    "export: --format: expected "
				    "stix, zeek-intel, suricata, "
				    "suricata-dataset, blocklist, "
				    "rpz, csv or misp-feed, got '%s'",
				    optarg);
			break;
		case 'h':
			fputs(export_usage, stdout);
			return CLI_OK;
		default:
			fputs(export_usage, stderr);
			return CLI_USAGE;
		}
	}
	if (optind != argc)
		return cli_fail(CLI_USAGE, "export: unexpected argument '%s'",
				argv[optind]);
	if (format >= 0 && (types_arg != NULL || q.vsel == STORE_V_ALL))
		return cli_fail(CLI_USAGE,
				"export: --type and --all-versions are for "
				"--format stix; %s takes the latest version of "
				"each indicator",
				ix_export_fmt_name((enum ix_export_fmt)format));
	if (min_conf >= 0 && format < 0)
		return cli_fail(CLI_USAGE,
				"export: --min-confidence is for the sensor "
				"formats (zeek-intel, suricata, "
				"suricata-dataset, blocklist, rpz, csv)");
	if (misp_feed) {
		if (types_arg != NULL || q.vsel == STORE_V_ALL)
			return cli_fail(CLI_USAGE,
					"export: --type and --all-versions are "
					"for --format stix; misp-feed takes "
					"the latest version of each report and "
					"grouping and what they refer to");
		int mrc = cli_open(c);
		if (mrc != CLI_OK)
			return mrc;
		struct store_collection mc;
		if ((mrc = cli_collection(c, coll_arg, &mc)) != CLI_OK)
			return mrc;
		return cli_export_misp(c, mc.cid, out_path, for_peer);
	}
	if (format == IX_FMT_SURICATA_DATASET && out_path == NULL)
		return cli_fail(CLI_USAGE, "export: --format suricata-dataset "
					   "writes several files: give -o DIR");
	if (types_arg != NULL) {
		int n = 0;
		for (char *save = NULL, *t = strtok_r(types_arg, ",", &save);
		     t != NULL; t = strtok_r(NULL, ",", &save)) {
			if (n == MAX_TYPES)
				return cli_fail(CLI_USAGE,
						"export: more than %d types",
						MAX_TYPES);
			types[n++] = t;
		}
		types[n] = NULL;
		q.types = types;
	}
	int rc = cli_open(c);
	if (rc != CLI_OK)
		return rc;
	struct store_collection coll;
	if ((rc = cli_collection(c, coll_arg, &coll)) != CLI_OK)
		return rc;
	q.cid = coll.cid;
	q.limit = PAGE;

	struct export_ctx x;
	memset(&x, 0, sizeof(x));
	if (for_peer != NULL) {
		struct diag d;
		int frc =
		    fed_decider_new(c->store, c->home, for_peer, &x.dec, &d);
		if (frc == ST_ENOTFOUND)
			return cli_fail(CLI_USAGE,
					"export: --for: no peer named '%s' "
					"(strait peer list)",
					for_peer);
		if (frc != ST_OK)
			return cli_fail(CLI_USAGE, "export: --for %s: %s",
					for_peer, d.msg);
		x.kept = calloc(PAGE, sizeof(*x.kept));
		if (x.kept == NULL) {
			fed_decider_free(x.dec);
			return cli_fail(CLI_USAGE, "export: out of memory");
		}
		if (!fed_decider_knows_identity(x.dec))
			fprintf(stderr,
				"export: the identity of %s is not known yet "
				"(its node was never reached): nothing "
				"TLP:RED can be released to it\n",
				for_peer);
	}
	static struct out o; /* 64 KiB of paths: not on the stack */
	int status = out_open(&o, out_path, format, c->home);
	x.f = out_stream(&o);
	uint8_t u[16];
	char us[UUID_STRLEN + 1];
	uuid_v4(u);
	uuid_format(u, us);
	if (status != CLI_OK) {
		/* out_open said why */
	} else if (format >= 0) {
		static const char *const ind_only[] = {"indicator", NULL};
		q.types = ind_only;
		struct diag d;
		char gen[128];
		snprintf(gen, sizeof(gen), "strait export --format %s%s%s",
			 ix_export_fmt_name((enum ix_export_fmt)format),
			 for_peer ? " --for " : "", for_peer ? for_peer : "");
		if ((format == IX_FMT_SURICATA ||
		     format == IX_FMT_SURICATA_DATASET) &&
		    ix_sids_open(c->home, &x.sids, &d) != ST_OK)
			status = cli_fail(CLI_USAGE, "export: %s", d.msg);
		else if (ix_writer_new((enum ix_export_fmt)format, x.f, x.sids,
				       gen, &x.w, &d) != ST_OK)
			status = cli_fail(CLI_USAGE, "export: %s", d.msg);
		x.format = format;
		x.min_conf = min_conf;
		if (status == CLI_OK &&
		    cli_lifecycle(c, "export", &x.lc) != CLI_OK)
			status = CLI_USAGE; /* it said why */
		x.lc_active = x.lc != NULL && !lc_idle(x.lc);
		const char *self = c->cfg.node_identity;
		snprintf(x.src, sizeof(x.src), "strait:%s",
			 self && *self ? self : "node");
	} else {
		fprintf(x.f,
			"{\"type\":\"bundle\",\"id\":\"bundle--%s\","
			"\"objects\":[",
			us);
	}
	for (; status == CLI_OK;) {
		size_t got = 0;
		struct diag d;
		rc = store_query(c->store, &q, write_row, &x, &got, &d);
		if (x.dec != NULL)
			flush_kept(&x);
		if (rc < 0) {
			status = cli_fail(CLI_USAGE, "export: %s", d.msg);
			break;
		}
		if (x.err) {
			status = cli_fail(CLI_USAGE, "export: write: %s",
					  strerror(x.err));
			break;
		}
		if (x.ix_err) {
			status = cli_fail(CLI_USAGE, "export: %s", x.ix_msg);
			break;
		}
		if (got < PAGE)
			break;
		q.added_after = x.last_added;
	}
	if (format < 0) {
		if (status == CLI_OK)
			fputs("]}\n", x.f);
	} else if (x.w != NULL) {
		struct diag d;
		uint64_t lines = 0;
		int wrc = format == IX_FMT_SURICATA_DATASET
			      ? ix_writer_finish_files(x.w, o.f, &lines, &d)
			      : ix_writer_finish(x.w, &lines, &d);
		x.w = NULL;
		if (wrc != ST_OK && status == CLI_OK)
			status = cli_fail(CLI_USAGE, "export: %s", d.msg);
		report_left_out(&x, (enum ix_export_fmt)format, lines);
	}
	/* On disk, then the sids committed, then given to readers: a crash
	 * in between leaves sids given to nobody, never a rule whose sid
	 * could go to another. */
	if (status == CLI_OK)
		status = out_sync(&o);
	if (status == CLI_OK && x.sids != NULL) {
		struct diag d;
		if (ix_sids_commit(x.sids, &d) != ST_OK)
			status = cli_fail(CLI_USAGE, "export: %s", d.msg);
	}
	ix_sids_close(x.sids);
	lc_close(x.lc);
	json_doc_free(x.doc);
	if (status == CLI_OK)
		status = out_publish(&o);
	else
		out_abort(&o);
	if (status == CLI_OK && out_path != NULL)
		fprintf(stderr, "exported %llu %s to %s\n",
			(unsigned long long)x.n,
			format < 0 ? "objects" : "indicators", out_path);
	if (x.dec != NULL) {
		if (status == CLI_OK)
			status =
			    cli_export_record(c, for_peer, x.sent, x.nsent);
		fprintf(stderr,
			"for %s: %llu versions released, %llu withheld by the "
			"release decision\n",
			for_peer, (unsigned long long)x.n,
			(unsigned long long)x.withheld);
		for (size_t i = 0; i < x.nsent; i++)
			free((char *)x.sent[i].id);
		free(x.sent);
		free(x.kept);
		fed_decider_free(x.dec);
	}
	return status;
}
