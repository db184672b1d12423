#include "cli/cli.h"

#include "common/arena.h"
#include "common/json.h"
#include "pattern/pattern.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char pattern_usage[] =
    "usage: strait pattern check PATTERN\n"
    "       strait pattern match [--json] PATTERN FILE\n"
    "\n"
    "check parses a STIX 2.1 pattern and says where it is wrong, with\n"
    "the byte offset in PATTERN:\n"
    "  $ strait pattern check \"[file:name = 'x'\"\n"
    "  strait: pattern: at 16: expected AND, OR or ']', found end of "
    "pattern\n"
    "\n"
    "match decides PATTERN against the observed-data in FILE, a STIX\n"
    "bundle or a JSON list of observed-data and their SCOs ('-' reads\n"
    "standard input; at most 16 MiB). It prints \"match\" and the ids of\n"
    "the observed-data of one satisfying binding (the position among\n"
    "the observed-data, from 0, for those without an id), or \"no match\".\n"
    "\n"
    "  --json   print {\"matched\": BOOL, \"observations\": [ID, ...]}\n"
    "\n"
    "exit status: check: 0 valid, 2 invalid; match: 0 match, 1 no match,\n"
    "2 invalid pattern or input, or an evaluation limit reached.\n";

static int parse_arg(const char *text, struct pattern **p)
{
	struct diag d;
	int rc = pattern_parse(text, strlen(text), NULL, p, &d);
	if (rc != ST_OK)
		return cli_fail(CLI_USAGE, "pattern: %s", d.msg);
	return CLI_OK;
}

static int pattern_check(int argc, char **argv)
{
	if (argc == 2 &&
	    (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(pattern_usage, stdout);
		return CLI_OK;
	}
	if (argc != 2) {
		fputs(pattern_usage, stderr);
		return cli_fail(CLI_USAGE,
				"pattern check: one PATTERN expected");
	}
	struct pattern *p;
	int rc = parse_arg(argv[1], &p);
	if (rc != CLI_OK)
		return rc;
	printf("valid%s\n", pattern_is_stateful(p)
				? " (spans several observations or has a "
				  "qualifier)"
				: "");
	pattern_free(p);
	return CLI_OK;
}

/* Reads all of path ('-': standard input) into b, at most max bytes, with
 * JSON_PADDING readable bytes after the end. */
static int read_input(const char *path, const char *name, struct buf *b,
		      size_t max)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (f == NULL)
		return cli_fail(CLI_USAGE, "pattern: %s: %s", name,
				strerror(errno));
	int status = CLI_OK;
	for (;;) {
		if (buf_reserve(b, 65536) != ST_OK) {
			status = cli_fail(CLI_USAGE,
					  "pattern: %s: larger than %zu bytes",
					  name, max);
			break;
		}
		size_t n = fread(b->data + b->len, 1, 65536, f);
		b->len += n;
		if (b->len > max) {
			status = cli_fail(CLI_USAGE,
					  "pattern: %s: larger than %zu bytes",
					  name, max);
			break;
		}
		if (n < 65536) {
			if (ferror(f))
				status = cli_fail(
				    CLI_USAGE, "pattern: %s: read error", name);
			break;
		}
	}
	if (status == CLI_OK && buf_reserve(b, JSON_PADDING) == ST_OK) {
		memset(b->data + b->len, ' ', JSON_PADDING);
	} else if (status == CLI_OK) {
		status =
		    cli_fail(CLI_USAGE, "pattern: %s: out of memory", name);
	}
	if (f != stdin)
		fclose(f);
	return status;
}

static void print_result(const struct pat_result *r,
			 const struct pat_observation *obs, bool json)
{
	if (!json) {
		printf("%s\n", r->matched ? "match" : "no match");
		for (size_t i = 0; i < r->n_obs; i++) {
			const struct pat_observation *o = &obs[r->obs[i]];
			if (o->id != NULL)
				printf("%s\n", o->id);
			else
				printf("%u\n", r->obs[i]);
		}
		return;
	}
	struct buf out = BUF_INIT((size_t)1 << 30);
	struct jw w;
	jw_init(&w, &out);
	jw_obj_open(&w);
	jw_key(&w, "matched");
	jw_bool(&w, r->matched);
	jw_key(&w, "observations");
	jw_arr_open(&w);
	for (size_t i = 0; i < r->n_obs; i++) {
		const struct pat_observation *o = &obs[r->obs[i]];
		if (o->id != NULL)
			jw_str(&w, o->id);
		else
			jw_int(&w, r->obs[i]);
	}
	jw_arr_close(&w);
	jw_obj_close(&w);
	if (jw_finish(&w) == ST_OK)
		printf("%s\n", out.data);
	else
		cli_fail(CLI_USAGE, "pattern: cannot write the result");
	buf_free(&out);
}

static int pattern_match(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	bool json = false;
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(pattern_usage, stdout);
			return CLI_OK;
		default:
			fputs(pattern_usage, stderr);
			return CLI_USAGE;
		}
	}
	if (argc - optind != 2) {
		fputs(pattern_usage, stderr);
		return cli_fail(CLI_USAGE,
				"pattern match: PATTERN and FILE expected");
	}
	const char *path = argv[optind + 1];
	const char *name = strcmp(path, "-") == 0 ? "(stdin)" : path;
	size_t max = JSON_LIMITS_DEFAULT.max_bytes;
	struct pattern *p = NULL;
	struct json_doc *doc = NULL;
	struct arena *a = NULL;
	struct buf in = BUF_INIT(max + 65536 + JSON_PADDING);
	struct pat_result r = {0};
	struct diag d;
	const struct json_val *root;
	struct pat_observation *obs;
	size_t n;

	int status = parse_arg(argv[optind], &p);
	if (status != CLI_OK)
		goto out;
	if ((status = read_input(path, name, &in, max)) != CLI_OK)
		goto out;
	doc = json_doc_new();
	a = arena_new(65536);
	if (doc == NULL || a == NULL) {
		status = cli_fail(CLI_USAGE, "pattern: out of memory");
		goto out;
	}
	if (json_parse(doc, in.data, in.len, JSON_PARSE_PADDED, NULL, &root,
		       &d) != ST_OK ||
	    pattern_observations(root, a, &obs, &n, &d) != ST_OK) {
		status = cli_fail(CLI_USAGE, "pattern: %s: %s", name, d.msg);
		goto out;
	}
	int rc = pattern_eval(p, obs, n, &r, &d);
	if (rc == ST_ELIMIT) {
		status = cli_fail(CLI_USAGE,
				  "pattern: %s: evaluation stopped at a limit "
				  "(no answer): %s",
				  name, d.msg);
		goto out;
	}
	if (rc != ST_OK) {
		status = cli_fail(CLI_USAGE, "pattern: %s: %s", name, d.msg);
		goto out;
	}
	print_result(&r, obs, json);
	status = r.matched ? CLI_OK : CLI_PARTIAL;
out:
	pat_result_clear(&r);
	arena_free(a);
	json_doc_free(doc);
	buf_free(&in);
	pattern_free(p);
	return status;
}

int cmd_pattern(struct cli *c, int argc, char **argv)
{
	(void)c;
	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		fputs(pattern_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_USAGE : CLI_OK;
	}
	if (strcmp(argv[1], "check") == 0)
		return pattern_check(argc - 1, argv + 1);
	if (strcmp(argv[1], "match") == 0)
		return pattern_match(argc - 1, argv + 1);
	fputs(pattern_usage, stderr);
	return cli_fail(CLI_USAGE, "pattern: unknown subcommand '%s'", argv[1]);
}
