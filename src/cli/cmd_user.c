/*
 * strait user: accounts in <home>/auth.db, shared with a running
 * `strait serve`, which sees every change within a second (it checks the
 * database's data_version; no restart, no signal).
 */
#include "cli/cli.h"

#include "auth/auth.h"
#include "federation/peers.h"
#include "common/json.h"

#include <errno.h>
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

static const char user_usage[] =
    "usage: strait user add NAME --role ROLE [--org ORG] [--password-stdin]\n"
    "       strait user list [--json]\n"
    "       strait user disable NAME\n"
    "       strait user enable NAME\n"
    "       strait user remove NAME\n"
    "       strait user token NAME\n"
    "       strait user password NAME [--clear]\n"
    "       strait user bind-cert NAME SHA256|--clear\n"
    "\n"
    "Accounts of this node, for TAXII clients, partners and the UI. They\n"
    "live in auth.db in the home; a running node applies changes within a\n"
    "second. Grants on collections: 'strait collection grant'.\n"
    "\n"
    "  add        creates the account and prints its bearer token ONCE\n"
    "             (only a hash is kept). NAME is 1 to 64 of a-z 0-9 . _ -\n"
    "  list       accounts, roles, organisations, status, grants\n"
    "  disable    its credentials stop working; enable undoes it\n"
    "  remove     deletes the account, its tokens and grants\n"
    "  token      revokes every token of the account, prints a new one once\n"
    "  password   sets the HTTP Basic password from stdin, or --clear\n"
    "  bind-cert  requires the client certificate with this SHA-256\n"
    "             fingerprint (hex, ':' allowed) besides the token\n"
    "\n"
    "  --role ROLE        admin, analyst, reader, peer, liaison, auditor,\n"
    "                     metrics (a scraper: /metrics and health only)\n"
    "                     or principal (a hotline principal: strait\n"
    "                     hotline enroll gives it its keys)\n"
    "  --org ORG          the account's organisation (default: node.org);\n"
    "                     for a liaison officer, the partner node it comes\n"
    "                     from (a peer's name): it sees exactly what the\n"
    "                     release decision gives that partner, reads only,\n"
    "                     and every read it makes is audited\n"
    "  --password-stdin   read a password (12 bytes or more) from stdin,\n"
    "                     enabling HTTP Basic; the trailing newline is "
    "dropped\n"
    "  --json             machine-readable output (never tokens or hashes)\n"
    "\n"
    "exit status: 0 done, 1 no such user (or the name is taken), 2 usage or "
    "I/O.\n";

int cli_auth_open(struct cli *c, bool create, struct auth **out)
{
	struct diag d;
	int rc, err = ST_OK;
	*out = NULL;
	if ((rc = cli_load_config(c)) != CLI_OK)
		return rc;
	*out = auth_open(cli_path(c, "auth.db"), create, &err, &d);
	if (*out != NULL)
		return CLI_OK;
	if (err == ST_ENOTFOUND)
		return CLI_PARTIAL;
	return cli_fail(CLI_USAGE, "cannot open %s: %s", cli_path(c, "auth.db"),
			d.msg);
}

/* The end of a command that changed or read one account. */
static int user_fail(int rc, const char *what, const struct diag *d)
{
	int status =
	    rc == ST_ENOTFOUND || rc == ST_EEXIST ? CLI_PARTIAL : CLI_USAGE;
	return cli_fail(status, "user %s: %s", what, d->msg);
}

static int no_accounts(const char *what, const char *name)
{
	return cli_fail(CLI_PARTIAL,
			"user %s: no such user '%s' (no accounts "
			"yet)",
			what, name);
}

/*
 * Reads the password from stdin into pw (cap bytes): the whole input, one
 * trailing "\n" or "\r\n" dropped. The caller wipes pw.
 */
static int read_password(char *pw, size_t cap)
{
	size_t n = fread(pw, 1, cap, stdin);
	if (ferror(stdin))
		return cli_fail(CLI_USAGE, "cannot read the password: %s",
				strerror(errno));
	if (n == cap)
		return cli_fail(CLI_USAGE,
				"the password is longer than %d bytes",
				AUTH_PASSWORD_MAX);
	if (n > 0 && pw[n - 1] == '\n')
		n--;
	if (n > 0 && pw[n - 1] == '\r')
		n--;
	pw[n] = '\0';
	if (memchr(pw, '\0', n) != NULL)
		return cli_fail(CLI_USAGE, "the password holds a NUL byte");
	if (n == 0)
		return cli_fail(CLI_USAGE, "empty password on stdin");
	if (n < AUTH_PASSWORD_MIN)
		return cli_fail(CLI_USAGE,
				"the password is too short (%zu bytes; at "
				"least %d)",
				n, AUTH_PASSWORD_MIN);
	return CLI_OK;
}

/* Prints a token that will never be shown again: the token alone on
 * stdout (for scripts), the warning on stderr. */
static void show_token(const char *name, char token[AUTH_TOKEN_MAX])
{
	printf("%s\n", token);
	fflush(stdout);
	fprintf(stderr,
		"strait: the token of '%s' is shown once and cannot be "
		"recovered: store it now\n",
		name);
	sodium_memzero(token, AUTH_TOKEN_MAX);
}

/* Whether org names a registered peer (CLI_OK) or the reason it cannot
 * be a liaison officer's partner. */
static int liaison_partner(struct cli *c, const char *org)
{
	if (org == NULL)
		return cli_fail(CLI_USAGE,
				"user add: a liaison officer needs --org PEER, "
				"the partner node it comes from (strait peer "
				"list)");
	struct peers *p = NULL;
	struct peer one;
	struct diag d;
	int rc = peers_open(c->home, &p, &d);
	if (rc == ST_OK)
		rc = peers_get(p, org, &one, &d);
	peers_close(p);
	if (rc == ST_ENOTFOUND)
		return cli_fail(CLI_USAGE,
				"user add: --org '%s': no partner node of that "
				"name is registered here (strait peer add %s "
				"... first): a liaison officer sees what that "
				"partner is given",
				org, org);
	if (rc != ST_OK)
		return cli_fail(CLI_USAGE, "user add: partners: %s", d.msg);
	return CLI_OK;
}

static int user_add(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"role", required_argument, NULL, 'r'},
	    {"org", required_argument, NULL, 'o'},
	    {"password-stdin", no_argument, NULL, 'p'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	char pw[AUTH_PASSWORD_MAX + 2];
	char token[AUTH_TOKEN_MAX];
	const char *role_arg = NULL, *org = NULL;
	bool with_pw = false;
	struct auth *a = NULL;
	struct diag d;
	enum role role;
	int ch, rc;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			role_arg = optarg;
			break;
		case 'o':
			org = optarg;
			break;
		case 'p':
			with_pw = true;
			break;
		case 'h':
			fputs(user_usage, stdout);
			return CLI_OK;
		default:
			fputs(user_usage, stderr);
			return CLI_USAGE;
		}
	}
	if (optind + 1 != argc)
		return cli_fail(CLI_USAGE, "user add: one NAME expected");
	const char *name = argv[optind];
	if (role_arg == NULL)
		return cli_fail(
		    CLI_USAGE,
		    "user add: --role is required (admin, analyst, "
		    "reader, peer, liaison, auditor, metrics or principal)");
	if (role_parse(role_arg, &role) != ST_OK)
		return cli_fail(
		    CLI_USAGE,
		    "user add: unknown role '%s' (admin, analyst, "
		    "reader, peer, liaison, auditor, metrics or principal)",
		    role_arg);
	if (!auth_name_valid(name))
		return cli_fail(CLI_USAGE,
				"user add: '%s': account names are 1 to %d of "
				"a-z 0-9 . _ -",
				name, AUTH_NAME_MAX);
	if (org != NULL && (org[0] == '\0' || strlen(org) > AUTH_ORG_MAX))
		return cli_fail(CLI_USAGE,
				"user add: an organisation is 1 to %d bytes",
				AUTH_ORG_MAX);
	/* A liaison officer sees what the release decision gives its
	 * partner: --org names that partner, as registered here. */
	if (role == ROLE_LIAISON && (rc = liaison_partner(c, org)) != CLI_OK)
		return rc;
	pw[0] = '\0';
	if (with_pw && (rc = read_password(pw, sizeof(pw))) != CLI_OK)
		goto out;
	rc = cli_auth_open(c, true, &a);
	if (rc != CLI_OK)
		goto out;
	if (org == NULL && c->cfg.node_org[0] == '\0') {
		rc = cli_fail(CLI_USAGE, "user add: the node has no node.org: "
					 "give --org");
		goto out;
	}
	if (org == NULL)
		org = c->cfg.node_org;
	int err = auth_user_add(a, name, role, org, with_pw ? pw : NULL, token,
				NULL, &d);
	if (err != ST_OK) {
		rc = user_fail(err, "add", &d);
		goto out;
	}
	show_token(name, token);
	cli_audit(c, "user.add", "name", name, "role", role_arg, "org", org,
		  NULL);
	rc = CLI_OK;
out:
	sodium_memzero(pw, sizeof(pw));
	sodium_memzero(token, sizeof(token));
	auth_close(a);
	return rc;
}

struct list_ctx {
	struct cli *c;
	struct auth *a;
	bool json;
	struct jw *w;
};

/* The alias of a collection, when the store is open and has one. */
static const char *alias_of(struct cli *c, const char *cid,
			    struct store_collection *buf)
{
	if (c->store == NULL ||
	    store_collection_find(c->store, cid, buf) != ST_OK ||
	    buf->alias[0] == '\0')
		return NULL;
	return buf->alias;
}

static int print_grant(void *ctx, const char *cid, enum auth_access access)
{
	struct list_ctx *l = ctx;
	struct store_collection coll;
	const char *alias = alias_of(l->c, cid, &coll);
	if (!l->json) {
		printf("    %-6s %s%s%s%s\n", auth_access_name(access), cid,
		       alias ? " (" : "", alias ? alias : "", alias ? ")" : "");
		return ST_OK;
	}
	jw_obj_open(l->w);
	jw_key(l->w, "collection");
	jw_str(l->w, cid);
	if (alias != NULL) {
		jw_key(l->w, "alias");
		jw_str(l->w, alias);
	}
	jw_key(l->w, "access");
	jw_str(l->w, auth_access_name(access));
	jw_obj_close(l->w);
	return ST_OK;
}

static int print_user(void *ctx, const struct auth_account *u)
{
	struct list_ctx *l = ctx;
	char created[TS_BUFSZ];
	ts_format(u->created, created);
	if (!l->json) {
		printf("%-20s %-8s %-20s %-8s %-8s %-4s %s\n", u->name,
		       role_name(u->role), u->org,
		       u->disabled ? "disabled" : "enabled",
		       u->has_password ? "yes" : "no",
		       u->cert_fp[0] ? "yes" : "no",
		       u->role == ROLE_ADMIN ? "all" : "");
		return auth_grant_list(l->a, u->id, print_grant, l);
	}
	struct jw *w = l->w;
	jw_obj_open(w);
	jw_key(w, "id");
	jw_int(w, u->id);
	jw_key(w, "name");
	jw_str(w, u->name);
	jw_key(w, "role");
	jw_str(w, role_name(u->role));
	jw_key(w, "org");
	jw_str(w, u->org);
	jw_key(w, "disabled");
	jw_bool(w, u->disabled);
	jw_key(w, "created");
	jw_str(w, created);
	jw_key(w, "password");
	jw_bool(w, u->has_password);
	jw_key(w, "cert_bound");
	jw_bool(w, u->cert_fp[0] != '\0');
	jw_key(w, "tokens");
	jw_int(w, u->n_tokens);
	jw_key(w, "all_collections");
	jw_bool(w, u->role == ROLE_ADMIN);
	jw_key(w, "grants");
	jw_arr_open(w);
	int rc = auth_grant_list(l->a, u->id, print_grant, l);
	jw_arr_close(w);
	jw_obj_close(w);
	return rc;
}

static int user_list(struct cli *c, int argc, char **argv)
{
	bool json = false;
	struct auth *a = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (strcmp(argv[i], "--help") == 0 ||
			   strcmp(argv[i], "-h") == 0) {
			fputs(user_usage, stdout);
			return CLI_OK;
		} else {
			return cli_fail(CLI_USAGE, "user list: unexpected '%s'",
					argv[i]);
		}
	}
	int rc = cli_auth_open(c, false, &a);
	if (rc == CLI_PARTIAL) {
		if (json)
			printf("[]\n");
		else
			printf("no accounts yet (add one with 'strait user "
			       "add NAME --role ROLE')\n");
		return CLI_OK;
	}
	if (rc != CLI_OK)
		return rc;
	/* The store only names collections (aliases); list works without. */
	if (cli_open(c) != CLI_OK)
		fprintf(stderr, "strait: (collection aliases unavailable)\n");
	struct buf out = BUF_INIT(1 << 26);
	struct jw w;
	jw_init(&w, &out);
	struct list_ctx l = {c, a, json, &w};
	if (json)
		jw_arr_open(&w);
	else
		printf("%-20s %-8s %-20s %-8s %-8s %-4s %s\n", "NAME", "ROLE",
		       "ORG", "STATUS", "PASSWORD", "CERT", "GRANTS");
	int err = auth_user_list(a, print_user, &l);
	if (err != ST_OK) {
		rc = cli_fail(CLI_USAGE, "user list: %s", st_strerror(err));
		goto out;
	}
	if (json) {
		jw_arr_close(&w);
		if (jw_finish(&w) != ST_OK) {
			rc = cli_fail(CLI_USAGE, "user list: output too large");
			goto out;
		}
		printf("%s\n", out.data);
	}
	rc = CLI_OK;
out:
	buf_free(&out);
	auth_close(a);
	return rc;
}

/* The subcommands that take NAME (and maybe one more argument). */
enum one_op {
	OP_DISABLE,
	OP_ENABLE,
	OP_REMOVE,
	OP_TOKEN,
	OP_PASSWORD,
	OP_BIND
};

static const struct {
	const char *name;
	enum one_op op;
} one_ops[] = {
    {"disable", OP_DISABLE}, {"enable", OP_ENABLE},	{"remove", OP_REMOVE},
    {"token", OP_TOKEN},     {"password", OP_PASSWORD}, {"bind-cert", OP_BIND},
};

/* What a successful change says. */
static void say_done(enum one_op op, const char *name, bool clear)
{
	switch (op) {
	case OP_DISABLE:
		printf("disabled '%s'\n", name);
		break;
	case OP_ENABLE:
		printf("enabled '%s'\n", name);
		break;
	case OP_REMOVE:
		printf("removed '%s' with its tokens and grants\n", name);
		break;
	case OP_PASSWORD:
		printf("%s the password of '%s'\n", clear ? "cleared" : "set",
		       name);
		break;
	case OP_BIND:
		printf("%s the certificate binding of '%s'\n",
		       clear ? "cleared" : "set", name);
		break;
	case OP_TOKEN:
		break;
	}
}

static int user_one(struct cli *c, size_t k, int argc, char **argv)
{
	const char *what = one_ops[k].name;
	enum one_op op = one_ops[k].op;
	const char *name = NULL, *arg = NULL;
	bool clear = false;
	char pw[AUTH_PASSWORD_MAX + 2];
	char token[AUTH_TOKEN_MAX];
	struct auth *a = NULL;
	struct diag d;
	int rc, err = ST_OK;
	pw[0] = '\0';
	token[0] = '\0';
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			fputs(user_usage, stdout);
			return CLI_OK;
		}
		if (strcmp(argv[i], "--clear") == 0 &&
		    (op == OP_PASSWORD || op == OP_BIND))
			clear = true;
		else if (argv[i][0] == '-' && argv[i][1] != '\0')
			return cli_fail(CLI_USAGE,
					"user %s: unknown option '%s'", what,
					argv[i]);
		else if (name == NULL)
			name = argv[i];
		else if (arg == NULL && op == OP_BIND)
			arg = argv[i];
		else
			return cli_fail(CLI_USAGE, "user %s: unexpected '%s'",
					what, argv[i]);
	}
	if (name == NULL)
		return cli_fail(CLI_USAGE, "user %s: NAME expected", what);
	if (op == OP_BIND && (arg == NULL) == !clear)
		return cli_fail(CLI_USAGE,
				"user bind-cert: give a SHA-256 fingerprint "
				"or --clear");
	if (op == OP_PASSWORD && !clear &&
	    (rc = read_password(pw, sizeof(pw))) != CLI_OK)
		goto out;
	rc = cli_auth_open(c, false, &a);
	if (rc == CLI_PARTIAL) {
		rc = no_accounts(what, name);
		goto out;
	}
	if (rc != CLI_OK)
		goto out;
	switch (op) {
	case OP_DISABLE:
	case OP_ENABLE:
		err = auth_user_set_disabled(a, name, op == OP_DISABLE, &d);
		break;
	case OP_REMOVE:
		err = auth_user_remove(a, name, &d);
		break;
	case OP_TOKEN:
		err = auth_user_rotate_token(a, name, token, &d);
		break;
	case OP_PASSWORD:
		err = auth_user_set_password(a, name, clear ? NULL : pw, &d);
		break;
	case OP_BIND:
		err = auth_user_bind_cert(a, name, clear ? NULL : arg, &d);
		break;
	}
	if (err != ST_OK) {
		rc = user_fail(err, what, &d);
		goto out;
	}
	if (op == OP_TOKEN)
		show_token(name, token);
	else
		say_done(op, name, clear);
	char kind[32];
	snprintf(kind, sizeof(kind), "user.%s", what);
	cli_audit(c, kind, "name", name, "cleared",
		  op == OP_PASSWORD || op == OP_BIND ? (clear ? "yes" : "no")
						     : NULL,
		  NULL);
	rc = CLI_OK;
out:
	sodium_memzero(pw, sizeof(pw));
	sodium_memzero(token, sizeof(token));
	auth_close(a);
	return rc;
}

int cmd_user(struct cli *c, int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		fputs(user_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_USAGE : CLI_OK;
	}
	if (strcmp(argv[1], "add") == 0)
		return user_add(c, argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return user_list(c, argc - 1, argv + 1);
	for (size_t k = 0; k < sizeof(one_ops) / sizeof(one_ops[0]); k++)
		if (strcmp(argv[1], one_ops[k].name) == 0)
			return user_one(c, k, argc - 1, argv + 1);
	fputs(user_usage, stderr);
	return cli_fail(CLI_USAGE, "user: unknown subcommand '%s'", argv[1]);
}
