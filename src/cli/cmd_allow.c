/*
 * strait allow: the local allow-list. Values on it are never matched
 * (strait match) or exported here, whoever's indicator names them; no
 * object is revoked or changed, and partners are not told.
 */
#include "cli/cli.h"

#include "common/buf.h"
#include "common/json.h"
#include "lifecycle/lifecycle.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char allow_usage[] =
    "usage: strait allow add VALUE [--reason TEXT]\n"
    "       strait allow list [--json]\n"
    "       strait allow remove VALUE\n"
    "\n"
    "The local allow-list: values this node never alerts on (strait match)\n"
    "or exports, whoever's indicator names them. Nothing is revoked and\n"
    "partners are not told.\n"
    "\n"
    "VALUE is written as for strait lookup: an IPv4 or IPv6 address or\n"
    "CIDR prefix (an indicator whose prefix overlaps it is suppressed), a\n"
    "domain name (its subdomains too, and URLs and email addresses on\n"
    "it), a URL, a file hash, an email address, a wallet address.\n"
    "\n"
    "exit status: 0 done, 1 not on the list (remove), 2 usage or I/O "
    "error.\n";

struct list_ctx {
	bool json;
	size_t n;
	struct buf *b;
	struct jw w;
};

static int print_one(void *ctx, const struct lc_allow *a)
{
	struct list_ctx *l = ctx;
	char at[TS_BUFSZ];
	ts_format(a->at, at);
	if (l->json) {
		jw_obj_open(&l->w);
		jw_key(&l->w, "value");
		jw_str(&l->w, a->value);
		jw_key(&l->w, "kind");
		jw_str(&l->w, a->kind);
		jw_key(&l->w, "reason");
		jw_str(&l->w, a->reason);
		jw_key(&l->w, "at");
		jw_str(&l->w, at);
		jw_obj_close(&l->w);
	} else {
		printf("%-7s %s%s%s\n", a->kind, a->value,
		       a->reason[0] ? "  # " : "", a->reason);
	}
	l->n++;
	return 0;
}

int cmd_allow(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"reason", required_argument, NULL, 'r'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *reason = NULL;
	bool json = false;
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			reason = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(allow_usage, stdout);
			return CLI_OK;
		default:
			fputs(allow_usage, stderr);
			return CLI_USAGE;
		}
	}
	int n = argc - optind;
	char **a = argv + optind;
	bool add = n == 2 && strcmp(a[0], "add") == 0;
	bool rm = n == 2 && strcmp(a[0], "remove") == 0;
	bool list = n == 1 && strcmp(a[0], "list") == 0;
	if (!add && !rm && !list) {
		fputs(allow_usage, stderr);
		return CLI_USAGE;
	}
	if (reason != NULL && strlen(reason) >= LC_REASON_MAX)
		return cli_fail(CLI_USAGE, "allow: --reason: at most %d bytes",
				LC_REASON_MAX - 1);
	int rc = cli_load_config(c);
	if (rc != CLI_OK)
		return rc;
	struct lc *lc = NULL;
	if ((rc = cli_lifecycle(c, "allow", &lc)) != CLI_OK)
		return rc;
	struct diag d;
	if (add) {
		struct lc_allow e;
		int r = lc_allow_add(lc, a[1], reason, &e, &d);
		if (r == ST_EINVAL)
			rc = cli_fail(CLI_USAGE, "allow: %s", d.msg);
		else if (r != ST_OK)
			rc = cli_fail(CLI_USAGE, "allow: %s", d.msg);
		else {
			printf("%s (%s) is on the allow-list: no longer "
			       "matched or exported here\n",
			       e.value, e.kind);
			cli_audit(c, "allow.add", "value", e.value, "reason",
				  e.reason, NULL);
		}
	} else if (rm) {
		int r = lc_allow_remove(lc, a[1], &d);
		if (r == ST_ENOTFOUND)
			rc = cli_fail(CLI_PARTIAL, "allow: %s", d.msg);
		else if (r != ST_OK)
			rc = cli_fail(CLI_USAGE, "allow: %s", d.msg);
		else {
			printf("%s removed from the allow-list\n", a[1]);
			cli_audit(c, "allow.remove", "value", a[1], NULL);
		}
	} else {
		struct buf b = BUF_INIT((size_t)256 << 20);
		struct list_ctx l = {.json = json, .b = &b};
		jw_init(&l.w, &b);
		jw_arr_open(&l.w);
		int r = lc_allow_list(lc, print_one, &l, &d);
		jw_arr_close(&l.w);
		if (r != ST_OK)
			rc = cli_fail(CLI_USAGE, "allow: %s", d.msg);
		else if (json && jw_finish(&l.w) == ST_OK)
			printf("%s\n", b.data);
		else if (json)
			rc = cli_fail(CLI_USAGE, "allow: out of memory");
		else if (l.n == 0)
			printf("the allow-list is empty\n");
		buf_free(&b);
	}
	lc_close(lc);
	return rc;
}
