/* strait policy explain: the release decision for one object and audience,
 * and the rule that made it. */
#include "cli/cli.h"

#include "common/json.h"
#include "federation/fed.h"
#include "federation/peers.h"
#include "policy/policy.h"
#include "policy/release.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char policy_usage[] =
    "usage: strait policy explain OBJECT-ID --to PEER|ORG [--version V]\n"
    "                             [--json]\n"
    "\n"
    "Prints whether the release decision lets a version go to an\n"
    "audience, and the rule that decided. The same function decides on\n"
    "every way out: push to a partner, catch-up and TAXII reads by its\n"
    "account, exports made --for it.\n"
    "\n"
    "  --to PEER     a registered partner node (strait peer list): its\n"
    "                sharing policy, references, relay rules\n"
    "  --to ORG      otherwise, local accounts of that organisation: one\n"
    "                line per role\n"
    "  --version V   last (default), first, all, or a version timestamp\n"
    "  --json        one JSON object per version and audience\n"
    "\n"
    "exit status: 0 released (for every version and role shown), 1\n"
    "withheld or not found, 2 usage error.\n";

struct version_row {
	struct store_row row;
	char *id, *body;
};

struct rows {
	struct version_row *v;
	size_t n, cap;
};

static int keep(void *ctx, const struct store_row *row)
{
	struct rows *r = ctx;
	if (r->n == r->cap) {
		size_t nc = r->cap ? r->cap * 2 : 8;
		struct version_row *g = realloc(r->v, nc * sizeof(*g));
		if (g == NULL)
			return ST_ENOMEM;
		r->v = g;
		r->cap = nc;
	}
	struct version_row *v = &r->v[r->n];
	v->row = *row;
	v->id = strdup(row->id);
	/* the body, its NUL, then the provenance kept with it */
	v->body = malloc(row->body_len + 1 + row->prov_len);
	if (v->id == NULL || v->body == NULL) {
		free(v->id);
		free(v->body);
		return ST_ENOMEM;
	}
	memcpy(v->body, row->body, row->body_len);
	v->body[row->body_len] = '\0';
	if (row->prov != NULL && row->prov_len > 0) {
		memcpy(v->body + row->body_len + 1, row->prov, row->prov_len);
		v->row.prov = v->body + row->body_len + 1;
	} else {
		v->row.prov = NULL;
		v->row.prov_len = 0;
	}
	v->row.id = v->id;
	v->row.body = v->body;
	v->row.warnings = NULL;
	r->n++;
	return 0;
}

static void print(bool json, const char *id, st_time version,
		  const char *audience, enum release_why why,
		  const struct release_explain *ex)
{
	char ts[TS_BUFSZ];
	ts_format(version, ts);
	bool ref = ex != NULL && ex->ref[0] != '\0';
	if (json) {
		struct buf b;
		struct jw w;
		buf_init(&b, 1 << 16);
		jw_init(&w, &b);
		jw_obj_open(&w);
		jw_key(&w, "id");
		jw_str(&w, id);
		jw_key(&w, "version");
		jw_str(&w, ts);
		jw_key(&w, "to");
		jw_str(&w, audience);
		jw_key(&w, "released");
		jw_bool(&w, why == RELEASE_OK);
		jw_key(&w, "rule");
		jw_str(&w, release_why_name(why));
		if (ref) {
			jw_key(&w, "reference");
			jw_str(&w, ex->ref);
			jw_key(&w, "reference_rule");
			jw_str(&w, release_why_name(ex->ref_why));
		}
		jw_obj_close(&w);
		if (jw_finish(&w) == ST_OK)
			printf("%.*s\n", (int)b.len, b.data);
		buf_free(&b);
		return;
	}
	printf("%s  %s  to %-24s %s: %s", id, ts, audience,
	       why == RELEASE_OK ? "RELEASED" : "WITHHELD",
	       release_why_name(why));
	if (ref)
		printf(" (%s: %s)", ex->ref, release_why_name(ex->ref_why));
	putchar('\n');
}

static int explain(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"to", required_argument, NULL, 't'},
	    {"version", required_argument, NULL, 'v'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *to = NULL, *ver = "last";
	bool json = false;
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 't':
			to = optarg;
			break;
		case 'v':
			ver = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(policy_usage, stdout);
			return CLI_OK;
		default:
			fputs(policy_usage, stderr);
			return CLI_USAGE;
		}
	}
	if (optind + 1 != argc || to == NULL) {
		fputs(policy_usage, stderr);
		return CLI_USAGE;
	}
	const char *id = argv[optind];
	struct store_query q;
	memset(&q, 0, sizeof(q));
	q.id = id;
	if (strcmp(ver, "last") == 0) {
		q.vsel = STORE_V_LAST;
	} else if (strcmp(ver, "first") == 0) {
		q.vsel = STORE_V_FIRST;
	} else if (strcmp(ver, "all") == 0) {
		q.vsel = STORE_V_ALL;
	} else {
		q.vsel = STORE_V_AT;
		if (ts_parse(ver, strlen(ver), &q.at, NULL) != ST_OK)
			return cli_fail(CLI_USAGE,
					"policy explain: --version: not first, "
					"last, all or a timestamp: '%s'",
					ver);
	}
	int rc = cli_open(c);
	if (rc != CLI_OK)
		return rc;
	struct rows r = {0};
	struct diag d;
	int qrc = store_query(c->store, &q, keep, &r, NULL, &d);
	if (qrc == ST_EINVAL)
		return cli_fail(CLI_USAGE,
				"policy explain: '%s' is not a STIX "
				"id (type--uuid)",
				id);
	if (qrc < 0)
		return cli_fail(CLI_USAGE, "policy explain: %s", d.msg);
	if (r.n == 0) {
		fprintf(stderr,
			"strait: policy explain: no such object or "
			"version: %s\n",
			id);
		return CLI_PARTIAL;
	}
	int status = CLI_OK;
	struct fed_decider *dec = NULL;
	int frc = peer_name_check(to, &d) == ST_OK
		      ? fed_decider_new(c->store, c->home, to, &dec, &d)
		      : ST_ENOTFOUND;
	if (frc != ST_OK && frc != ST_ENOTFOUND) {
		status = cli_fail(CLI_USAGE, "policy explain: --to %s: %s", to,
				  d.msg);
		goto out;
	}
	char label[160];
	for (size_t i = 0; i < r.n; i++) {
		const struct store_row *row = &r.v[i].row;
		struct release_explain ex;
		memset(&ex, 0, sizeof(ex));
		if (dec != NULL) {
			snprintf(label, sizeof(label), "peer %s", to);
			enum release_why w = fed_decider_decide(dec, row, &ex);
			print(json, id, row->version, label, w, &ex);
			if (w != RELEASE_OK)
				status = CLI_PARTIAL;
			continue;
		}
		/* An organisation: its local accounts, role by role (the
		 * version's own facts: references are decided for
		 * partners). */
		static const enum role roles[] = {ROLE_ADMIN, ROLE_ANALYST,
						  ROLE_READER, ROLE_AUDITOR};
		bool own = strcmp(to, c->cfg.node_org) == 0;
		for (size_t k = 0; k < sizeof(roles) / sizeof(roles[0]); k++) {
			struct audience a;
			memset(&a, 0, sizeof(a));
			a.role = roles[k];
			a.own_org = own;
			struct release_facts f = {.tlp = row->tlp,
						  .flags = row->flags};
			enum release_why w = policy_decide(&a, &f);
			snprintf(label, sizeof(label), "%s %.60s%s",
				 role_name(roles[k]), to, own ? " (ours)" : "");
			print(json, id, row->version, label, w, NULL);
			if (w != RELEASE_OK)
				status = CLI_PARTIAL;
		}
	}
out:
	fed_decider_free(dec);
	for (size_t i = 0; i < r.n; i++) {
		free(r.v[i].id);
		free(r.v[i].body);
	}
	free(r.v);
	return status;
}

int cmd_policy(struct cli *c, int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		fputs(policy_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_USAGE : CLI_OK;
	}
	if (strcmp(argv[1], "explain") == 0)
		return explain(c, argc - 1, argv + 1);
	fprintf(stderr, "strait: policy: unknown subcommand '%s'\n", argv[1]);
	fputs(policy_usage, stderr);
	return CLI_USAGE;
}
