#include "cli/cli.h"

#include "common/json.h"
#include "common/time.h"
#include "federation/fedstate.h"
#include "ingest/ingest.h"
#include "interop/import.h"
#include "stix/stix.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static const char import_usage[] =
    "usage: strait import [--format stix|stix2.0|misp|csv] [--collection "
    "ID]\n"
    "                     [--default-tlp LEVEL] [--red-to "
    "PEER|IDENTITY[,...]]\n"
    "                     [--nice N] [--json] [--quiet] FILE...\n"
    "\n"
    "Imports STIX 2.1 bundles, TAXII envelopes, JSON arrays of objects or\n"
    "single objects ('-' reads standard input). Each object is validated;\n"
    "valid ones are stored durably, invalid ones are rejected with the\n"
    "reason. Bundles of any size import in constant memory. STIX 2.0\n"
    "objects (no spec_version) are upgraded to 2.1 on the way, each\n"
    "change printed as a note (docs/STIX20.md).\n"
    "\n"
    "CSV of indicators is recognised by its content (a file that does not\n"
    "start with '{' or '['): a header naming value (required), type,\n"
    "comment, tlp, first_seen, last_seen; one indicator per row, the type\n"
    "inferred from the value when absent (docs/EXPORTS.md, CSV in).\n"
    "\n"
    "MISP event JSON is recognised by its first member, \"Event\" or\n"
    "\"response\" (a REST search's list): attributes become indicators\n"
    "(to_ids) or observed data, galaxy clusters threat actors, attack\n"
    "patterns, malware and tools, the event a report (docs/MISP.md).\n"
    "\n"
    "  --format F           stix, stix2.0, misp or csv: read every FILE\n"
    "                       as that\n"
    "  --collection ID      collection id or alias (default: 'default')\n"
    "  --default-tlp LEVEL  marking that unmarked objects of this import\n"
    "                       take (default: the node's, see strait.yaml);\n"
    "                       recorded beside the version, the object's\n"
    "                       bytes are never changed\n"
    "  --red-to NAMES       partner nodes (registered peer names, or their\n"
    "                       identity ids) that may receive the TLP:RED\n"
    "                       objects of this import; without it, our RED\n"
    "                       never leaves the node (each partner's policy\n"
    "                       must also grant red)\n"
    "  --nice N             lower this import's CPU priority by N, 0 to 19\n"
    "                       (default 10): a running node's hotline and\n"
    "                       requests go first while both need the cores;\n"
    "                       0 keeps the caller's\n"
    "  --json               print the summary as JSON\n"
    "  --quiet              no progress and no warnings, only rejections\n"
    "\n"
    "exit status: 0 all stored or duplicate, 1 some objects rejected or\n"
    "conflicting, 2 usage or I/O error.\n";

#define MAX_WARNING_LINES 100
/* How far an import lowers its CPU priority unless told otherwise: a bulk
 * import took a whole core from the node it fed, and FLASH messages
 * through that node waited for a core (bench/RESULTS.md, the hotline). */
#define IMPORT_NICE 10

/* Lowers the calling thread's priority by by (nice, up to 19): the threads
 * it starts afterwards (the store's) inherit it. Raising the nice value
 * needs no privilege; a failure only leaves the priority as it was. */
static void lower_priority(int by)
{
	if (by <= 0)
		return;
	errno = 0;
	int cur = getpriority(PRIO_PROCESS, 0);
	if (errno != 0)
		return;
	int want = cur + by > 19 ? 19 : cur + by;
	if (setpriority(PRIO_PROCESS, 0, want) != 0)
		fprintf(stderr,
			"strait: import: note: priority left as it was: %s\n",
			strerror(errno));
}

struct import_ctx {
	const char *file;
	bool csv;  /* rejections name their row, not a byte */
	bool misp; /* rejections name their event and attribute */
	struct progress *progress;
	bool quiet;
	uint64_t warnings_printed;
	uint64_t warnings_hidden;
};

/* Length of msg without its trailing newlines. */
static int trimmed_len(const char *msg)
{
	size_t n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		n--;
	return (int)n;
}

static void on_event(void *ctx, const struct ingest_event *ev)
{
	struct import_ctx *ic = ctx;
	switch (ev->kind) {
	case INGEST_REJECTED:
		if (ic->misp)
			fprintf(stderr, "rejected: %s: %.*s\n", ic->file,
				trimmed_len(ev->msg), ev->msg);
		else if (ic->csv && strncmp(ev->msg, "row ", 4) == 0)
			fprintf(stderr, "rejected: %s: %.*s\n", ic->file,
				trimmed_len(ev->msg), ev->msg);
		else if (ic->csv)
			fprintf(stderr, "rejected: %s: row %llu: %.*s\n",
				ic->file, (unsigned long long)ev->offset,
				trimmed_len(ev->msg), ev->msg);
		else
			fprintf(stderr,
				"rejected: %s: object %llu at byte %llu: "
				"%.*s\n",
				ic->file, (unsigned long long)ev->index + 1,
				(unsigned long long)ev->offset,
				trimmed_len(ev->msg), ev->msg);
		break;
	case INGEST_CONFLICT:
	case INGEST_FAILED:
		fprintf(stderr, "%s: %s: object %llu at byte %llu: %s: %s\n",
			ev->kind == INGEST_CONFLICT ? "conflict" : "failed",
			ic->file, (unsigned long long)ev->index + 1,
			(unsigned long long)ev->offset, ev->id, ev->msg);
		break;
	case INGEST_WARNING:
		if (ic->quiet)
			break;
		if (ic->warnings_printed < MAX_WARNING_LINES) {
			ic->warnings_printed++;
			fprintf(stderr, "warning: %s: object %llu: %.*s\n",
				ic->file, (unsigned long long)ev->index + 1,
				trimmed_len(ev->msg), ev->msg);
		} else {
			ic->warnings_hidden++;
		}
		break;
	case INGEST_ACCEPTED: /* not asked for: the summary counts them */
		break;
	case INGEST_COMMITTED:
		progress_update(ic->progress, ev->stats->seen,
				ev->stats->stored, ev->stats->bytes);
		break;
	}
}

/* A file, read with retries on EINTR. */
static ssize_t read_fd(void *ctx, char *buf, size_t cap)
{
	int fd = *(int *)ctx;
	for (;;) {
		ssize_t n = read(fd, buf, cap);
		if (n >= 0 || errno != EINTR)
			return n;
	}
}

static int to_ingest(void *ctx, const char *json, size_t len, unsigned flags,
		     uint64_t at)
{
	return ingest_object(ctx, json, len, flags, at);
}

static void reject_to_ingest(void *ctx, uint64_t at, const char *msg)
{
	ingest_reject(ctx, at, msg);
}

void cli_ingest_sink(struct ingest *in, struct ix_sink *k)
{
	memset(k, 0, sizeof(*k));
	k->object = to_ingest;
	k->reject = reject_to_ingest;
	k->ctx = in;
}

/* What a reader tells that is not a rejection: a MISP mapping choice
 * (its message names the attribute), a STIX 2.0 upgrade's change (of the
 * object id). */
static void on_note(void *ctx, const char *id, const char *msg)
{
	struct import_ctx *ic = ctx;
	if (ic->quiet)
		return;
	if (ic->warnings_printed >= MAX_WARNING_LINES) {
		ic->warnings_hidden++;
		return;
	}
	ic->warnings_printed++;
	if (ic->misp || id == NULL)
		fprintf(stderr, "note: %s: %s\n", ic->file, msg);
	else
		fprintf(stderr, "note: %s: %s: %s\n", ic->file, id, msg);
}

/* Feeds one file through the ingest. ST_EIO for unreadable files; a
 * malformed file is reported and counted as a rejection. */
static int import_file(struct ingest *in, struct import_ctx *ic,
		       const char *path, enum ix_in_fmt force)
{
	int fd = 0;
	if (strcmp(path, "-") != 0) {
		fd = open(path, O_RDONLY);
		if (fd < 0) {
			cli_fail(CLI_USAGE, "import: %s: %s", path,
				 strerror(errno));
			return ST_EIO;
		}
	}
	struct stat st;
	uint64_t total = 0;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		total = (uint64_t)st.st_size;
	ic->file = strcmp(path, "-") == 0 ? "(stdin)" : path;
	struct ix_src src;
	ix_src_init(&src, read_fd, &fd);
	enum ix_in_fmt f = force != IX_IN_AUTO ? force : ix_src_sniff(&src);
	ic->csv = f == IX_IN_CSV;
	ic->misp = f == IX_IN_MISP;
	if (!ic->quiet)
		ic->progress = progress_new(stderr, "objects stored", total);
	struct ix_sink k;
	cli_ingest_sink(in, &k);
	k.note = on_note;
	k.note_ctx = ic;
	struct diag d;
	int rc = ix_import(&src, f, &k, &d);
	if (rc == ST_EIO)
		cli_fail(CLI_USAGE, "import: %s: %s", ic->file, d.msg);
	if (rc == ST_OK)
		rc = ingest_finish(in);
	else
		ingest_finish(in);
	const struct ingest_stats *s = ingest_stats(in);
	progress_done(ic->progress, s->seen, s->stored, s->bytes);
	ic->progress = NULL;
	if (fd > 0)
		close(fd);
	return rc;
}

static void print_summary(const struct ingest_stats *s, enum tlp def,
			  bool declared, double secs, bool json,
			  uint64_t hidden)
{
	if (secs <= 0)
		secs = 1e-9;
	if (json) {
		struct buf out = BUF_INIT(4096);
		struct jw w;
		jw_init(&w, &out);
		jw_obj_open(&w);
		jw_key(&w, "objects");
		jw_int(&w, (int64_t)s->seen);
		jw_key(&w, "stored");
		jw_int(&w, (int64_t)s->stored);
		jw_key(&w, "duplicate");
		jw_int(&w, (int64_t)s->duplicate);
		jw_key(&w, "conflicting");
		jw_int(&w, (int64_t)s->conflict);
		jw_key(&w, "rejected");
		jw_int(&w, (int64_t)s->rejected);
		jw_key(&w, "failed");
		jw_int(&w, (int64_t)s->failed);
		jw_key(&w, "with_warnings");
		jw_int(&w, (int64_t)s->warned);
		jw_key(&w, "default_tlp");
		jw_str(&w, tlp_name(def));
		jw_key(&w, "default_tlp_declared");
		jw_bool(&w, declared);
		jw_key(&w, "took_default_tlp");
		jw_int(&w, (int64_t)s->defaulted);
		jw_key(&w, "bytes");
		jw_int(&w, (int64_t)s->bytes);
		jw_key(&w, "seconds");
		jw_double(&w, (double)(int64_t)(secs * 1000) / 1000);
		jw_obj_close(&w);
		if (jw_finish(&w) == ST_OK)
			printf("%s\n", out.data);
		buf_free(&out);
		return;
	}
	printf("objects      %llu\n", (unsigned long long)s->seen);
	printf("stored       %llu\n", (unsigned long long)s->stored);
	printf("duplicate    %llu\n", (unsigned long long)s->duplicate);
	printf("conflicting  %llu\n", (unsigned long long)s->conflict);
	printf("rejected     %llu\n", (unsigned long long)s->rejected);
	if (s->failed)
		printf("failed       %llu\n", (unsigned long long)s->failed);
	printf("warnings     %llu stored objects carry warnings",
	       (unsigned long long)s->warned);
	if (hidden)
		printf(" (%llu warning lines not shown)",
		       (unsigned long long)hidden);
	printf("\n");
	printf("default TLP  %llu took TLP:%s (%s)\n",
	       (unsigned long long)s->defaulted, tlp_name(def),
	       declared ? "declared by --default-tlp" : "the node's default");
	printf("time         %.2f s, %.0f objects/s, %.1f MB/s\n", secs,
	       (double)s->seen / secs, (double)s->bytes / secs / 1e6);
}

/* --red-to: the recipients' identities, as the provenance record kept
 * with each RED version of the import (docs/FEDERATION.md). */
static int red_recipients(struct cli *c, const char *list, struct buf *out)
{
	char(*ids)[STIX_ID_MAX] = calloc(FED_MAX_RED, sizeof(*ids));
	struct fedstate *fs = NULL;
	struct diag d;
	int rc = CLI_OK;
	size_t n = 0;
	if (ids == NULL)
		return cli_fail(CLI_USAGE, "import: out of memory");
	for (const char *p = list; *p != '\0' && rc == CLI_OK;) {
		size_t len = strcspn(p, ",");
		char name[STIX_ID_MAX];
		char type[STIX_TYPE_MAX];
		uint8_t uuid[16];
		if (len == 0 || len >= sizeof(name)) {
			rc = cli_fail(CLI_USAGE,
				      "import: --red-to: an empty or overlong "
				      "name in '%s'",
				      list);
			break;
		}
		memcpy(name, p, len);
		name[len] = '\0';
		p += len + (p[len] == ',');
		if (n == FED_MAX_RED) {
			rc = cli_fail(CLI_USAGE,
				      "import: --red-to: more than %d names",
				      FED_MAX_RED);
			break;
		}
		if (strncmp(name, "identity--", 10) == 0) {
			if (stix_parse_id(name, len, type, uuid) != ST_OK) {
				rc = cli_fail(CLI_USAGE,
					      "import: --red-to: '%s' is not "
					      "an identity id",
					      name);
				break;
			}
			memcpy(ids[n++], name, len + 1);
			continue;
		}
		struct fed_health h;
		if (fs == NULL && fedstate_open(c->home, &fs, &d) != ST_OK) {
			rc = cli_fail(CLI_USAGE, "import: --red-to: %s", d.msg);
			break;
		}
		fed_health_get(fs, name, &h);
		if (h.identity[0] == '\0') {
			rc = cli_fail(CLI_USAGE,
				      "import: --red-to: no partner '%s' whose "
				      "identity is known (it is learnt when "
				      "the link first comes up; or name its "
				      "identity id)",
				      name);
			break;
		}
		memcpy(ids[n++], h.identity, sizeof(h.identity));
	}
	fedstate_close(fs);
	if (rc == CLI_OK) {
		struct fed_prov pv;
		memset(&pv, 0, sizeof(pv));
		snprintf(pv.origin, sizeof(pv.origin), "%s",
			 c->cfg.node_identity);
		pv.red = ids;
		pv.n_red = n;
		if (fed_prov_encode(&pv, out) != ST_OK)
			rc = cli_fail(CLI_USAGE, "import: out of memory");
	}
	free(ids);
	return rc;
}

int cmd_import(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"collection", required_argument, NULL, 'c'},
	    {"default-tlp", required_argument, NULL, 't'},
	    {"red-to", required_argument, NULL, 'r'},
	    {"json", no_argument, NULL, 'j'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"format", required_argument, NULL, 'F'},
	    {"nice", required_argument, NULL, 'n'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *coll_arg = NULL, *tlp_arg = NULL, *red_arg = NULL;
	bool json = false, quiet = false;
	int nice_by = IMPORT_NICE;
	enum ix_in_fmt force = IX_IN_AUTO;
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "hq", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			coll_arg = optarg;
			break;
		case 't':
			tlp_arg = optarg;
			break;
		case 'r':
			red_arg = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'F':
			if (ix_in_fmt_parse(optarg, &force) != ST_OK) {
				char names[128];
				ix_in_fmt_list(names, sizeof(names));
				return cli_fail(CLI_USAGE,
						"import: --format: expected "
						"%s, got '%s'",
						names, optarg);
			}
			break;
		case 'n': {
			char *end;
			errno = 0;
			long v = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || errno != 0 ||
			    v < 0 || v > 19)
				return cli_fail(CLI_USAGE,
						"import: --nice: expected 0 to "
						"19, got '%s'",
						optarg);
			nice_by = (int)v;
			break;
		}
		case 'h':
			fputs(import_usage, stdout);
			return CLI_OK;
		default:
			fputs(import_usage, stderr);
			return CLI_USAGE;
		}
	}
	if (optind >= argc) {
		fputs(import_usage, stderr);
		return cli_fail(CLI_USAGE, "import: no FILE given");
	}
	enum tlp def;
	if (tlp_arg != NULL &&
	    (tlp_parse(tlp_arg, &def) != ST_OK || def == TLP_NONE))
		return cli_fail(CLI_USAGE,
				"import: --default-tlp: unknown level '%s' "
				"(clear, green, amber, amber+strict, red)",
				tlp_arg);
	/* before the store's threads start: they inherit it */
	lower_priority(nice_by);
	int rc = cli_open(c);
	if (rc != CLI_OK)
		return rc;
	if (tlp_arg == NULL &&
	    (tlp_parse(c->cfg.default_tlp, &def) != ST_OK || def == TLP_NONE))
		return cli_fail(CLI_USAGE,
				"strait.yaml: default_tlp: unknown level '%s'",
				c->cfg.default_tlp);
	struct store_collection coll;
	if ((rc = cli_collection(c, coll_arg, &coll)) != CLI_OK)
		return rc;

	struct buf red = BUF_INIT(1 << 20);
	if (red_arg != NULL &&
	    (rc = red_recipients(c, red_arg, &red)) != CLI_OK) {
		buf_free(&red);
		return rc;
	}
	struct import_ctx ic = {0};
	ic.quiet = quiet || json;
	struct ingest_options opt = {0};
	opt.cid = coll.cid;
	opt.default_tlp = def;
	opt.default_declared = tlp_arg != NULL;
	opt.red_prov = red.len > 0 ? red.data : NULL;
	opt.red_prov_len = red.len;
	struct ingest *in = ingest_new(c->store, &opt, on_event, &ic);
	if (in == NULL) {
		buf_free(&red);
		return cli_fail(CLI_USAGE, "import: out of memory");
	}
	double t0 = time_mono();
	int status = CLI_OK;
	for (int i = optind; i < argc; i++) {
		rc = import_file(in, &ic, argv[i], force);
		if (rc == ST_EIO) {
			status = CLI_USAGE;
			continue;
		}
		if (rc != ST_OK) {
			status = cli_fail(CLI_USAGE, "import: %s: store: %s",
					  argv[i], st_strerror(rc));
			break;
		}
	}
	const struct ingest_stats *s = ingest_stats(in);
	print_summary(s, def, opt.default_declared, time_mono() - t0, json,
		      ic.warnings_hidden);
	if (status == CLI_OK && (s->rejected || s->conflict))
		status = CLI_PARTIAL;
	if (s->failed)
		status = CLI_USAGE;
	ingest_free(in);
	buf_free(&red);
	return status;
}
