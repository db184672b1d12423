/*
 * strait audit: read and verify the node's audit log (src/audit).
 */
#include "cli/cli.h"

#include "audit/audit.h"
#include "common/json.h"
#include "common/time.h"
#include "federation/fed.h"
#include "federation/fedstate.h"
#include "federation/nodekey.h"
#include "federation/peers.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char audit_usage[] =
    "usage: strait audit tail [-n N] [--json]\n"
    "       strait audit verify [--local] [--archive FILE] [--json]\n"
    "       strait audit rotate [--json]\n"
    "\n"
    "The audit log (<home>/audit.db) records security-relevant events,\n"
    "each linked to the one before by SHA-256, with heads signed by the\n"
    "node's key.\n"
    "\n"
    "tail: the last N events (default 20), oldest first: seq, time, kind,\n"
    "actor and detail (with --json, also each event's hash).\n"
    "\n"
    "verify: recomputes the chain and checks the signed heads, the node's\n"
    "own and those each partner keeps for it (asked over the network, as\n"
    "the node's sender would; --local: the node's own only). A partner's\n"
    "heads show a rewrite signed again with the node's key, and a tail cut\n"
    "together with its heads. Exit 0 when the log is sound (a partner not\n"
    "reached is named, and its heads are not compared); 1, naming the\n"
    "first fault and the event where it is, when an event was edited,\n"
    "deleted or reordered, the tail was cut or a signature is bad; 2 when\n"
    "the log cannot be read. --archive FILE verifies a rotated-out archive\n"
    "instead (on its own: from the checkpoint it started at to its closing\n"
    "head).\n"
    "\n"
    "rotate: signs a checkpoint at the last event and moves every event up\n"
    "to it into <home>/audit-archive/audit-FIRST-LAST.db (0600); the live\n"
    "log goes on from the checkpoint. Keep the archives: they are the\n"
    "record. Safe while strait serve runs.\n";

static int help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0)
			return 1;
	return 0;
}

/* Opens the log, which must exist (reading never makes one). */
static int open_log(struct cli *c, const char *what, struct audit **a)
{
	struct diag d;
	int rc = cli_load_config(c);
	if (rc != CLI_OK)
		return rc;
	struct stat sb;
	const char *path = cli_path(c, "audit.db");
	if (stat(path, &sb) != 0)
		return cli_fail(CLI_PARTIAL, "audit %s: %s: no audit log yet",
				what, path);
	if (audit_open(c->home, a, &d) != ST_OK)
		return cli_fail(CLI_USAGE, "audit %s: %s", what, d.msg);
	return CLI_OK;
}

struct tail_ctx {
	struct jw *w;
};

static int print_event(void *ctx, const struct audit_event *e)
{
	struct tail_ctx *t = ctx;
	char ts[TS_BUFSZ];
	ts_format(e->at, ts);
	if (t->w == NULL) {
		printf("%6llu  %s  %-12s %-20s %s\n",
		       (unsigned long long)e->seq, ts, e->kind, e->actor,
		       e->detail);
		return 0;
	}
	char hex[2 * AUDIT_HASH_BYTES + 1];
	sodium_bin2hex(hex, sizeof(hex), e->hash, AUDIT_HASH_BYTES);
	jw_obj_open(t->w);
	jw_key(t->w, "seq");
	jw_int(t->w, (int64_t)e->seq);
	jw_key(t->w, "at");
	jw_str(t->w, ts);
	jw_key(t->w, "kind");
	jw_str(t->w, e->kind);
	jw_key(t->w, "actor");
	jw_str(t->w, e->actor);
	jw_key(t->w, "detail");
	jw_str(t->w, e->detail);
	jw_key(t->w, "hash");
	jw_str(t->w, hex);
	jw_obj_close(t->w);
	return 0;
}

static int cmd_tail(struct cli *c, int argc, char **argv)
{
	bool json = false;
	unsigned long long n = 20;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
			char *end;
			errno = 0;
			n = strtoull(argv[++i], &end, 10);
			if (errno != 0 || *end != '\0' || end == argv[i] ||
			    argv[i][0] == '-')
				return cli_fail(CLI_USAGE,
						"audit tail: -n wants a count, "
						"not '%s'",
						argv[i]);
		} else {
			return cli_fail(CLI_USAGE,
					"audit tail: unexpected '%s' (see "
					"strait audit --help)",
					argv[i]);
		}
	}
	struct audit *a = NULL;
	int rc = open_log(c, "tail", &a);
	if (rc != CLI_OK) {
		if (rc == CLI_PARTIAL && json) {
			printf("[]\n");
			return CLI_OK;
		}
		return rc;
	}
	struct diag d;
	struct buf out = BUF_INIT(1 << 26);
	struct jw w;
	struct tail_ctx t = {NULL};
	if (json) {
		jw_init(&w, &out);
		jw_arr_open(&w);
		t.w = &w;
	}
	rc = audit_tail(a, n, print_event, &t, &d);
	audit_close(a);
	if (rc != ST_OK) {
		buf_free(&out);
		return cli_fail(CLI_USAGE, "audit tail: %s", d.msg);
	}
	if (json) {
		jw_arr_close(&w);
		rc = jw_finish(&w);
		if (rc == ST_OK)
			printf("%s\n", out.data);
	}
	buf_free(&out);
	return rc == ST_OK ? CLI_OK : cli_fail(CLI_USAGE, "audit tail: output");
}

/* What each partner keeps for us. */
struct witness_set {
	struct audit_head *heads;
	size_t n;
	struct peer_heads {
		char name[PEER_NAME_MAX];
		size_t heads;
		char error[256]; /* "" when reached */
	} * peers;
	size_t npeers, cap;
	const char *home;
};

static int fetch_peer(void *ctx, const struct peer *p)
{
	struct witness_set *ws = ctx;
	if (ws->npeers == ws->cap) {
		size_t nc = ws->cap ? ws->cap * 2 : 8;
		struct peer_heads *g = realloc(ws->peers, nc * sizeof(*g));
		if (g == NULL)
			return ST_ENOMEM;
		ws->peers = g;
		ws->cap = nc;
	}
	struct peer_heads *ph = &ws->peers[ws->npeers++];
	memset(ph, 0, sizeof(*ph));
	snprintf(ph->name, sizeof(ph->name), "%s", p->name);
	struct fed_witness *v = NULL;
	size_t n = 0;
	struct diag d;
	if (fed_witness_fetch(ws->home, p->name, &v, &n, &d) != ST_OK) {
		snprintf(ph->error, sizeof(ph->error), "%s", d.msg);
		return ST_OK;
	}
	struct audit_head *g = realloc(ws->heads, (ws->n + n + 1) * sizeof(*g));
	if (g == NULL) {
		free(v);
		return ST_ENOMEM;
	}
	ws->heads = g;
	for (size_t i = 0; i < n; i++) {
		struct audit_head *h = &ws->heads[ws->n++];
		memset(h, 0, sizeof(*h));
		h->seq = v[i].seq;
		memcpy(h->hash, v[i].hash, sizeof(h->hash));
		h->at = v[i].at;
		snprintf(h->key_id, sizeof(h->key_id), "%s", v[i].key_id);
		memcpy(h->sig, v[i].sig, sizeof(h->sig));
	}
	ph->heads = n;
	free(v);
	return ST_OK;
}

/* Asks every registered partner for the heads it keeps for us. */
static int fetch_witnesses(struct cli *c, struct witness_set *ws)
{
	struct peers *p = NULL;
	struct diag d;
	struct stat sb;
	ws->home = c->home;
	if (stat(cli_path(c, "peers.db"), &sb) != 0)
		return CLI_OK; /* no partner yet */
	if (peers_open(c->home, &p, &d) != ST_OK)
		return cli_fail(CLI_USAGE, "audit verify: partners: %s", d.msg);
	int rc = peers_list(p, fetch_peer, ws, &d);
	peers_close(p);
	if (rc != ST_OK)
		return cli_fail(CLI_USAGE, "audit verify: partners: %s",
				rc == ST_ENOMEM ? "out of memory" : d.msg);
	return CLI_OK;
}

static void witnesses_json(struct jw *w, const struct witness_set *ws)
{
	jw_key(w, "witnesses");
	jw_arr_open(w);
	for (size_t i = 0; i < ws->npeers; i++) {
		jw_obj_open(w);
		jw_key(w, "peer");
		jw_str(w, ws->peers[i].name);
		jw_key(w, "heads");
		jw_int(w, (int64_t)ws->peers[i].heads);
		jw_key(w, "error");
		if (ws->peers[i].error[0])
			jw_str(w, ws->peers[i].error);
		else
			jw_null(w);
		jw_obj_close(w);
	}
	jw_arr_close(w);
}

static int cmd_verify(struct cli *c, int argc, char **argv)
{
	bool json = false, local = false;
	const char *archive = NULL;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (strcmp(argv[i], "--local") == 0)
			local = true;
		else if (strcmp(argv[i], "--archive") == 0 && i + 1 < argc)
			archive = argv[++i];
		else
			return cli_fail(CLI_USAGE,
					"audit verify: unexpected '%s' (see "
					"strait audit --help)",
					argv[i]);
	}
	struct audit *a = NULL;
	struct diag d;
	int rc;
	if (archive != NULL) {
		struct stat sb;
		local = true; /* partners keep heads of the live log */
		if ((rc = cli_load_config(c)) != CLI_OK)
			return rc;
		if (stat(archive, &sb) != 0)
			return cli_fail(CLI_USAGE,
					"audit verify: %s: no such "
					"file",
					archive);
		if (audit_open_path(archive, &a, &d) != ST_OK)
			return cli_fail(CLI_USAGE, "audit verify: %s", d.msg);
	} else if ((rc = open_log(c, "verify", &a)) != CLI_OK) {
		return rc;
	}
	struct nodekeys *keys = NULL;
	if (nodekeys_load(c->home, &keys, &d) != ST_OK) {
		audit_close(a);
		return cli_fail(CLI_USAGE, "audit verify: the node's keys: %s",
				d.msg);
	}
	struct witness_set ws;
	memset(&ws, 0, sizeof(ws));
	if (!local && (rc = fetch_witnesses(c, &ws)) != CLI_OK) {
		audit_close(a);
		nodekeys_free(keys);
		free(ws.heads);
		free(ws.peers);
		return rc;
	}
	struct audit_report r;
	rc = audit_verify(a, keys, ws.heads, ws.n, &r, &d);
	audit_close(a);
	nodekeys_free(keys);
	if (rc != ST_OK) {
		free(ws.heads);
		free(ws.peers);
		return cli_fail(CLI_USAGE, "audit verify: %s", d.msg);
	}
	if (json) {
		struct buf out = BUF_INIT(1 << 16);
		struct jw w;
		jw_init(&w, &out);
		jw_obj_open(&w);
		jw_key(&w, "ok");
		jw_bool(&w, r.ok);
		jw_key(&w, "events");
		jw_int(&w, (int64_t)r.events);
		jw_key(&w, "heads");
		jw_int(&w, (int64_t)r.heads);
		jw_key(&w, "bad_seq");
		if (r.ok)
			jw_null(&w);
		else
			jw_int(&w, (int64_t)r.bad_seq);
		jw_key(&w, "fault");
		if (r.ok)
			jw_null(&w);
		else
			jw_str(&w, r.fault);
		jw_key(&w, "checkpoint");
		if (r.base)
			jw_int(&w, (int64_t)r.base);
		else
			jw_null(&w);
		witnesses_json(&w, &ws);
		jw_obj_close(&w);
		if (jw_finish(&w) == ST_OK)
			printf("%s\n", out.data);
		buf_free(&out);
	} else {
		if (r.ok)
			printf(
			    "audit log sound: %llu events, %llu signed heads "
			    "checked%s\n",
			    (unsigned long long)r.events,
			    (unsigned long long)r.heads,
			    r.base ? " (from its checkpoint)" : "");
		else
			fprintf(stderr, "strait: audit log tampered: %s\n",
				r.fault);
		for (size_t i = 0; i < ws.npeers; i++)
			if (ws.peers[i].error[0])
				fprintf(stderr,
					"strait: warning: partner %s not "
					"reached, its heads not compared: "
					"%s\n",
					ws.peers[i].name, ws.peers[i].error);
			else
				printf("  partner %s keeps %zu heads\n",
				       ws.peers[i].name, ws.peers[i].heads);
	}
	free(ws.heads);
	free(ws.peers);
	return r.ok ? CLI_OK : CLI_PARTIAL;
}

static int cmd_rotate(struct cli *c, int argc, char **argv)
{
	bool json = argc == 3 && strcmp(argv[2], "--json") == 0;
	if (argc > 3 || (argc == 3 && !json))
		return cli_fail(CLI_USAGE, "audit rotate: [--json] only");
	struct audit *a = NULL;
	int rc = open_log(c, "rotate", &a);
	if (rc != CLI_OK)
		return rc;
	struct diag d;
	struct nodekeys *keys = NULL;
	if (nodekeys_load(c->home, &keys, &d) != ST_OK) {
		audit_close(a);
		return cli_fail(CLI_USAGE, "audit rotate: the node's keys: %s",
				d.msg);
	}
	struct audit_head cp;
	char path[4096];
	int err =
	    audit_rotate(a, keys, time_now(), cli_path(c, "audit-archive"), &cp,
			 path, sizeof(path), &d);
	audit_close(a);
	nodekeys_free(keys);
	if (err == ST_ENOTFOUND)
		return cli_fail(CLI_PARTIAL, "audit rotate: %s", d.msg);
	if (err != ST_OK)
		return cli_fail(CLI_USAGE, "audit rotate: %s", d.msg);
	char hex[2 * AUDIT_HASH_BYTES + 1], seq[32];
	sodium_bin2hex(hex, sizeof(hex), cp.hash, sizeof(cp.hash));
	snprintf(seq, sizeof(seq), "%llu", (unsigned long long)cp.seq);
	if (json)
		printf(
		    "{\"checkpoint\":%s,\"hash\":\"%s\",\"archive\":\"%s\"}\n",
		    seq, hex, path);
	else
		printf("checkpoint at event %s (%s)\narchived to %s\n", seq,
		       hex, path);
	cli_audit(c, "audit.rotate", "checkpoint", seq, "hash", hex, "archive",
		  path, NULL);
	return CLI_OK;
}

int cmd_audit(struct cli *c, int argc, char **argv)
{
	if (argc < 2 || help(argc, argv)) {
		fputs(audit_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_USAGE : CLI_OK;
	}
	if (strcmp(argv[1], "tail") == 0)
		return cmd_tail(c, argc, argv);
	if (strcmp(argv[1], "verify") == 0)
		return cmd_verify(c, argc, argv);
	if (strcmp(argv[1], "rotate") == 0)
		return cmd_rotate(c, argc, argv);
	fputs(audit_usage, stderr);
	return cli_fail(CLI_USAGE, "audit: unknown subcommand '%s'", argv[1]);
}
