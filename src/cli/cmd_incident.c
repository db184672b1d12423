/*
 * strait incident open|list|show|note|task|link|close: joint incident
 * rooms with partner nodes (src/coop). Entries written here are kept in
 * <home>/coop.db and queued for the other participants on the hotline
 * link; `strait serve` delivers them.
 */
#include "cli/cli.h"

#include "common/json.h"
#include "common/uuid.h"
#include "coop/incident.h"
#include "coop/share.h"
#include "federation/fed.h"
#include "federation/fedstate.h"
#include "hotline/hotline.h"

#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char incident_usage[] =
    "usage: strait incident open --title TEXT --with PEER[,PEER...]\n"
    "                            [--severity LEVEL] [--tlp LEVEL]\n"
    "       strait incident list [--json]\n"
    "       strait incident show ID [--json | --stix]\n"
    "       strait incident note ID TEXT [--decision]\n"
    "       strait incident task ID TEXT --owner WHO [--due TIMESTAMP]\n"
    "       strait incident link ID STIX-ID [--why TEXT]\n"
    "       strait incident close ID [--contained]\n"
    "  (each command that writes also takes --as NAME: the author, an\n"
    "   account of this node; default: operator)\n"
    "\n"
    "A joint incident is shared with named partner nodes. Everything about\n"
    "it is an entry (notes, tasks with an owner and a due time, decisions,\n"
    "status changes, links to STIX objects), append-only, with a unique id:\n"
    "entries written at once in two countries never conflict, and every\n"
    "participant shows the same timeline. Entries go to the participants\n"
    "only, over the hotline link (strait serve delivers them); a linked\n"
    "object goes only to participants the release decision gives it to.\n"
    "  --severity   low, medium (default), high or critical\n"
    "  --tlp        the incident's marking (default amber)\n"
    "  --stix       show: the incident as a STIX 2.1 bundle (an incident\n"
    "               object and one note per entry)\n"
    "  --contained  close: mark it contained instead of closed\n";

struct ctx {
	struct cli *c;
	struct inc_db *db;
	struct hl_db *hl;
};

static int open_ctx(struct cli *c, struct ctx *x)
{
	struct diag d;
	memset(x, 0, sizeof(*x));
	x->c = c;
	int rc = cli_open(c);
	if (rc != CLI_OK)
		return rc;
	if (c->cfg.node_identity[0] == '\0')
		return cli_fail(CLI_USAGE,
				"incident: the node has no identity");
	if (inc_db_open(c->home, &x->db, &d) != ST_OK ||
	    hl_db_open(c->home, &x->hl, &d) != ST_OK) {
		inc_db_close(x->db);
		return cli_fail(CLI_USAGE, "incident: %s", d.msg);
	}
	return CLI_OK;
}

static void close_ctx(struct ctx *x)
{
	inc_db_close(x->db);
	hl_db_close(x->hl);
}

static void new_id(char out[INC_ID_LEN + 1])
{
	uint8_t u[16];
	uuid_v4(u);
	uuid_format(u, out);
}

/* Keeps e and queues it for the other participants. */
static int write_entry(struct ctx *x, struct inc_entry *e, bool json)
{
	struct diag d;
	bool dup;
	if (inc_entry_put(x->db, e, &dup, &d) != ST_OK)
		return cli_fail(d.msg[0] && strstr(d.msg, "no incident")
				    ? CLI_PARTIAL
				    : CLI_USAGE,
				"incident: %s", d.msg);
	struct inc_share_cfg sc = {x->c->home, x->c->cfg.node_identity,
				   x->c->store, x->hl};
	size_t sent = 0;
	char missing[1024];
	if (inc_share(&sc, x->db, e, &sent, missing, sizeof(missing), &d) !=
	    ST_OK)
		return cli_fail(CLI_USAGE,
				"incident: kept here, but not queued for the "
				"partners: %s",
				d.msg);
	if (missing[0])
		fprintf(stderr,
			"strait: warning: not a partner known here (yet): %s\n",
			missing);
	if (json)
		printf("{\"incident\":\"%s\",\"entry\":\"%s\",\"partners\":"
		       "%zu}\n",
		       e->incident, e->id, sent);
	else if (e->kind == INC_OPEN)
		printf("%s\n", e->incident);
	else
		printf("%s %s, queued for %zu partner(s)\n",
		       inc_kind_name(e->kind), e->id, sent);
	cli_audit(x->c, "incident.write", "incident", e->incident, "entry",
		  e->id, "kind", inc_kind_name(e->kind), NULL);
	return CLI_OK;
}

static void author_of(struct cli *c, const char *as, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s", c->cfg.node_identity,
		 as != NULL ? as : "operator");
}

static int open_cmd(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"title", required_argument, NULL, 't'},
	    {"with", required_argument, NULL, 'w'},
	    {"severity", required_argument, NULL, 's'},
	    {"tlp", required_argument, NULL, 'l'},
	    {"as", required_argument, NULL, 'a'},
	    {"json", no_argument, NULL, 'j'},
	    {NULL, 0, NULL, 0},
	};
	const char *title = NULL, *with = NULL, *as = NULL;
	bool json = false;
	struct inc_entry e;
	memset(&e, 0, sizeof(e));
	e.kind = INC_OPEN;
	e.severity = INC_MEDIUM;
	e.tlp = TLP_AMBER;
	int opt;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		enum tlp t;
		switch (opt) {
		case 't':
			title = optarg;
			break;
		case 'w':
			with = optarg;
			break;
		case 'a':
			as = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 's':
			if (inc_severity_parse(optarg, &e.severity) != ST_OK)
				return cli_fail(CLI_USAGE,
						"incident open: --severity: "
						"low, medium, high or "
						"critical");
			break;
		case 'l':
			if (tlp_parse(optarg, &t) != ST_OK)
				return cli_fail(CLI_USAGE,
						"incident open: --tlp: not a "
						"TLP level");
			e.tlp = (uint8_t)t;
			break;
		default:
			return cli_fail(CLI_USAGE,
					"incident open: unknown option '%s'",
					argv[optind - 1]);
		}
	}
	if (optind != argc || title == NULL || with == NULL)
		return cli_fail(CLI_USAGE, "incident open: --title TEXT and "
					   "--with PEER[,PEER...] expected");
	struct ctx x;
	int rc = open_ctx(c, &x);
	if (rc != CLI_OK)
		return rc;
	struct fedstate *fs = NULL;
	struct diag d;
	if (fedstate_open(c->home, &fs, &d) != ST_OK) {
		close_ctx(&x);
		return cli_fail(CLI_USAGE, "incident open: %s", d.msg);
	}
	snprintf(e.nodes[e.nnodes++], STIX_ID_MAX, "%s", c->cfg.node_identity);
	char list[1024];
	snprintf(list, sizeof(list), "%s", with);
	for (char *save = NULL, *p = strtok_r(list, ",", &save);
	     p != NULL && rc == CLI_OK; p = strtok_r(NULL, ",", &save)) {
		struct fed_health h;
		if (e.nnodes == INC_MAX_NODES)
			rc = cli_fail(CLI_USAGE,
				      "incident open: at most %d nodes",
				      INC_MAX_NODES);
		else if (fed_health_get(fs, p, &h) != ST_OK ||
			 h.identity[0] == '\0')
			rc = cli_fail(CLI_USAGE,
				      "incident open: --with %s: not a partner "
				      "whose identity is known here (strait "
				      "peer status)",
				      p);
		else
			snprintf(e.nodes[e.nnodes++], STIX_ID_MAX, "%s",
				 h.identity);
	}
	fedstate_close(fs);
	if (rc == CLI_OK) {
		new_id(e.id);
		new_id(e.incident);
		e.at = time_now();
		author_of(c, as, e.author, sizeof(e.author));
		snprintf(e.text, sizeof(e.text), "%s", title);
		rc = write_entry(&x, &e, json);
	}
	close_ctx(&x);
	return rc;
}

/* note, task, link, close: an entry on an existing incident. */
static int entry_cmd(struct cli *c, int argc, char **argv, enum inc_kind kind)
{
	static const struct option opts[] = {
	    {"as", required_argument, NULL, 'a'},
	    {"decision", no_argument, NULL, 'd'},
	    {"owner", required_argument, NULL, 'o'},
	    {"due", required_argument, NULL, 'u'},
	    {"why", required_argument, NULL, 'y'},
	    {"contained", no_argument, NULL, 'c'},
	    {"json", no_argument, NULL, 'j'},
	    {NULL, 0, NULL, 0},
	};
	const char *as = NULL, *owner = NULL, *due = NULL, *why = NULL;
	bool decision = false, contained = false, json = false;
	int opt;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'a':
			as = optarg;
			break;
		case 'd':
			decision = true;
			break;
		case 'o':
			owner = optarg;
			break;
		case 'u':
			due = optarg;
			break;
		case 'y':
			why = optarg;
			break;
		case 'c':
			contained = true;
			break;
		case 'j':
			json = true;
			break;
		default:
			return cli_fail(CLI_USAGE,
					"incident %s: unknown option '%s'",
					argv[0], argv[optind - 1]);
		}
	}
	int want = kind == INC_STATUS ? 1 : 2;
	if (argc - optind != want)
		return cli_fail(CLI_USAGE, "incident %s: %s expected", argv[0],
				kind == INC_STATUS ? "ID"
				: kind == INC_LINK ? "ID STIX-ID"
						   : "ID TEXT");
	struct inc_entry e;
	memset(&e, 0, sizeof(e));
	e.kind = kind == INC_NOTE && decision ? INC_DECISION : kind;
	snprintf(e.incident, sizeof(e.incident), "%s", argv[optind]);
	if (kind == INC_LINK) {
		snprintf(e.stix, sizeof(e.stix), "%s", argv[optind + 1]);
		snprintf(e.text, sizeof(e.text), "%s", why ? why : "");
	} else if (kind != INC_STATUS) {
		if (strlen(argv[optind + 1]) > INC_TEXT_MAX)
			return cli_fail(CLI_USAGE,
					"incident %s: the text is over %d "
					"bytes",
					argv[0], INC_TEXT_MAX);
		snprintf(e.text, sizeof(e.text), "%s", argv[optind + 1]);
	}
	if (kind == INC_TASK) {
		if (owner == NULL)
			return cli_fail(CLI_USAGE,
					"incident task: --owner WHO expected");
		snprintf(e.owner, sizeof(e.owner), "%s", owner);
		if (due != NULL &&
		    ts_parse(due, strlen(due), &e.due, NULL) != ST_OK)
			return cli_fail(CLI_USAGE,
					"incident task: --due: a timestamp "
					"(2026-11-27T18:00:00Z)");
	}
	e.status = contained ? INC_S_CONTAINED : INC_S_CLOSED;
	struct ctx x;
	int rc = open_ctx(c, &x);
	if (rc != CLI_OK)
		return rc;
	new_id(e.id);
	e.at = time_now();
	author_of(c, as, e.author, sizeof(e.author));
	rc = write_entry(&x, &e, json);
	close_ctx(&x);
	return rc;
}

struct list_ctx {
	bool json;
	struct jw *w;
	size_t n;
};

static int list_one(void *ctx, const struct inc_state *s)
{
	struct list_ctx *l = ctx;
	l->n++;
	if (l->json) {
		inc_state_json(l->w, s);
		return ST_OK;
	}
	char ts[TS_BUFSZ];
	ts_format_ms(s->updated, ts);
	printf("%s  %-9s %-8s TLP:%-12s %zu nodes, %zu entries, %s  %s\n",
	       s->id, inc_status_name(s->status),
	       inc_severity_name(s->severity), tlp_name(s->tlp), s->nnodes,
	       s->entries, ts, s->title);
	return ST_OK;
}

static int list_cmd(struct cli *c, int argc, char **argv)
{
	bool json = argc == 2 && strcmp(argv[1], "--json") == 0;
	if (argc > 2 || (argc == 2 && !json))
		return cli_fail(CLI_USAGE, "incident list: [--json] only");
	struct ctx x;
	int rc = open_ctx(c, &x);
	if (rc != CLI_OK)
		return rc;
	struct buf out = BUF_INIT(64 << 20);
	struct jw w;
	jw_init(&w, &out);
	jw_arr_open(&w);
	struct list_ctx l = {json, &w, 0};
	struct diag d;
	if (inc_list(x.db, list_one, &l, &d) != ST_OK)
		rc = cli_fail(CLI_USAGE, "incident list: %s", d.msg);
	jw_arr_close(&w);
	if (rc == CLI_OK && json && jw_finish(&w) == ST_OK)
		printf("%s\n", out.data);
	else if (rc == CLI_OK && !json && l.n == 0)
		printf("no incident\n");
	buf_free(&out);
	close_ctx(&x);
	return rc;
}

struct show_ctx {
	bool json;
	struct jw *w;
	struct cli *c;
};

static int show_entry(void *ctx, const struct inc_entry *e)
{
	struct show_ctx *s = ctx;
	if (s->json) {
		inc_entry_json(s->w, e);
		return ST_OK;
	}
	char ts[TS_BUFSZ], due[TS_BUFSZ], who[128], peer[64];
	ts_format_ms(e->at, ts);
	/* the author by this node's name for its node: "jp:analyst" */
	const char *slash = strchr(e->author, '/');
	size_t nl = slash ? (size_t)(slash - e->author) : 0;
	char node[STIX_ID_MAX];
	snprintf(node, sizeof(node), "%.*s", (int)nl, e->author);
	if (slash == NULL)
		snprintf(who, sizeof(who), "%s", e->author);
	else if (strcmp(node, s->c->cfg.node_identity) == 0)
		snprintf(who, sizeof(who), "%s", slash + 1);
	else if (fed_peer_by_identity(s->c->home, node, peer, sizeof(peer)) ==
		 ST_OK)
		snprintf(who, sizeof(who), "%s:%s", peer, slash + 1);
	else
		snprintf(who, sizeof(who), "?:%s", slash + 1);
	printf("%s  %-9s %-22s ", ts, inc_kind_name(e->kind), who);
	switch (e->kind) {
	case INC_TASK:
		ts_format_ms(e->due, due);
		printf("%s (owner %s%s%s)\n", e->text, e->owner,
		       e->due ? ", due " : "", e->due ? due : "");
		break;
	case INC_STATUS:
		printf("%s\n", inc_status_name(e->status));
		break;
	case INC_SEVERITY:
		printf("%s\n", inc_severity_name(e->severity));
		break;
	case INC_LINK:
		printf("%s%s%s\n", e->stix[0] ? e->stix : "(withheld)",
		       e->text[0] ? ": " : "", e->text);
		break;
	default:
		printf("%s\n", e->text);
	}
	return ST_OK;
}

static int show_cmd(struct cli *c, int argc, char **argv)
{
	bool json = false, stix = false;
	const char *id = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (strcmp(argv[i], "--stix") == 0)
			stix = true;
		else if (id == NULL)
			id = argv[i];
		else
			return cli_fail(CLI_USAGE,
					"incident show: unexpected '%s'",
					argv[i]);
	}
	if (id == NULL || (json && stix))
		return cli_fail(CLI_USAGE,
				"incident show: ID [--json | --stix] expected");
	struct ctx x;
	int rc = open_ctx(c, &x);
	if (rc != CLI_OK)
		return rc;
	struct diag d;
	struct inc_state s;
	struct buf out = BUF_INIT(64 << 20);
	if (inc_state_get(x.db, id, &s, &d) != ST_OK) {
		rc = cli_fail(CLI_PARTIAL, "incident show: %s", d.msg);
	} else if (stix) {
		if (inc_stix_bundle(x.db, id, c->cfg.node_identity, &out, &d) !=
		    ST_OK)
			rc = cli_fail(CLI_USAGE, "incident show: %s", d.msg);
		else
			printf("%s\n", out.data);
	} else {
		struct jw w;
		jw_init(&w, &out);
		struct show_ctx sc = {json, &w, c};
		if (json) {
			jw_obj_open(&w);
			jw_key(&w, "incident");
			inc_state_json(&w, &s);
			jw_key(&w, "entries");
			jw_arr_open(&w);
		} else {
			printf("%s  %s\n  status %s, severity %s, TLP:%s\n  "
			       "participants:",
			       s.id, s.title, inc_status_name(s.status),
			       inc_severity_name(s.severity), tlp_name(s.tlp));
			for (size_t i = 0; i < s.nnodes; i++)
				printf(" %s", s.nodes[i]);
			printf("\n\n");
		}
		rc = inc_entries(x.db, id, show_entry, &sc, &d) == ST_OK
			 ? CLI_OK
			 : cli_fail(CLI_USAGE, "incident show: %s", d.msg);
		if (json) {
			jw_arr_close(&w);
			jw_obj_close(&w);
			if (jw_finish(&w) == ST_OK)
				printf("%s\n", out.data);
		}
	}
	buf_free(&out);
	close_ctx(&x);
	return rc;
}

int cmd_incident(struct cli *c, int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		fputs(incident_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_USAGE : CLI_OK;
	}
	const char *sub = argv[1];
	if (strcmp(sub, "open") == 0)
		return open_cmd(c, argc - 1, argv + 1);
	if (strcmp(sub, "list") == 0)
		return list_cmd(c, argc - 1, argv + 1);
	if (strcmp(sub, "show") == 0)
		return show_cmd(c, argc - 1, argv + 1);
	if (strcmp(sub, "note") == 0)
		return entry_cmd(c, argc - 1, argv + 1, INC_NOTE);
	if (strcmp(sub, "task") == 0)
		return entry_cmd(c, argc - 1, argv + 1, INC_TASK);
	if (strcmp(sub, "link") == 0)
		return entry_cmd(c, argc - 1, argv + 1, INC_LINK);
	if (strcmp(sub, "close") == 0)
		return entry_cmd(c, argc - 1, argv + 1, INC_STATUS);
	fputs(incident_usage, stderr);
	return cli_fail(CLI_USAGE, "incident: unknown subcommand '%s'", sub);
}
