/*
 * strait audit: read and verify the node's audit log (src/audit).
 */
#include "cli/cli.h"

#include "audit/audit.h"
#include "common/json.h"
#include "common/time.h"
#include "federation/nodekey.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char audit_usage[] =
    "usage: strait audit tail [-n N] [--json]\n"
    "       strait audit verify [--json]\n"
    "\n"
    "The audit log (<home>/audit.db) records security-relevant events,\n"
    "each linked to the one before by SHA-256, with heads signed by the\n"
    "node's key.\n"
    "\n"
    "tail: the last N events (default 20), oldest first: seq, time, kind,\n"
    "actor and detail (with --json, also each event's hash).\n"
    "\n"
    "verify: recomputes the chain and checks the signed heads. Exit 0 when\n"
    "the log is sound; 1, naming the first fault and the event where it\n"
    "is, when an event was edited, deleted or reordered, the tail was cut\n"
    "or a signature is bad; 2 when the log cannot be read.\n";

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

static int cmd_verify(struct cli *c, int argc, char **argv)
{
	bool json = false;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else
			return cli_fail(CLI_USAGE,
					"audit verify: unexpected '%s' (see "
					"strait audit --help)",
					argv[i]);
	}
	struct audit *a = NULL;
	int rc = open_log(c, "verify", &a);
	if (rc != CLI_OK)
		return rc;
	struct diag d;
	struct nodekeys *keys = NULL;
	if (nodekeys_load(c->home, &keys, &d) != ST_OK) {
		audit_close(a);
		return cli_fail(CLI_USAGE, "audit verify: the node's keys: %s",
				d.msg);
	}
	struct audit_report r;
	rc = audit_verify(a, keys, NULL, 0, &r, &d);
	audit_close(a);
	nodekeys_free(keys);
	if (rc != ST_OK)
		return cli_fail(CLI_USAGE, "audit verify: %s", d.msg);
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
		jw_obj_close(&w);
		if (jw_finish(&w) == ST_OK)
			printf("%s\n", out.data);
		buf_free(&out);
	} else if (r.ok) {
		printf("audit log sound: %llu events, %llu signed heads "
		       "checked\n",
		       (unsigned long long)r.events,
		       (unsigned long long)r.heads);
	} else {
		fprintf(stderr, "strait: audit log tampered: %s\n", r.fault);
	}
	return r.ok ? CLI_OK : CLI_PARTIAL;
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
	fputs(audit_usage, stderr);
	return cli_fail(CLI_USAGE, "audit: unknown subcommand '%s'", argv[1]);
}
