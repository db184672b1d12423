#include "cli/cli.h"

#include "common/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct cli_cmd cli_commands[] = {
    {"init", "create a node home: configuration, store, identity", cmd_init},
    {"serve", "run the TAXII 2.1 server", cmd_serve},
    {"node", "show the node's identity and what it holds", cmd_node},
    {"policy", "explain the release decision for an object and audience",
     cmd_policy},
    {"peer", "add, list and remove partner nodes; their policies", cmd_peer},
    {"quarantine", "objects partners sent that broke a rule: list, release",
     cmd_quarantine},
    {"user", "add, list, disable and remove accounts; tokens", cmd_user},
    {"collection", "add and list collections; grant access", cmd_collection},
    {"import", "import STIX 2.1 bundles, envelopes or objects", cmd_import},
    {"feed", "pull MISP, CSV and STIX feeds over HTTP, on a schedule",
     cmd_feed},
    {"export", "export objects as a STIX 2.1 bundle", cmd_export},
    {"get", "print one object (a version, or all of them)", cmd_get},
    {"lookup", "everything known about a value, here and from partners",
     cmd_lookup},
    {"search", "full text over names, descriptions and translations",
     cmd_search},
    {"pattern", "check STIX patterns and match them against observations",
     cmd_pattern},
    {"match", "match Zeek and Suricata telemetry against indicators",
     cmd_match},
    {"fp", "mark indicators and sightings as false positives", cmd_fp},
    {"allow", "the local allow-list: values never matched or exported",
     cmd_allow},
    {"audit", "read and verify the audit log", cmd_audit},
    {"hotline", "the hotline: keys, messages, receipts, status", cmd_hotline},
    {"contacts", "partners' contact profiles and hotline principals",
     cmd_contacts},
    {"incident", "joint incident rooms with partner nodes", cmd_incident},
    {NULL, NULL, NULL},
};

static void usage(FILE *f)
{
	fprintf(
	    f, "usage: strait [--home DIR] COMMAND [ARGS...]\n"
	       "\n"
	       "strait is a federated STIX 2.1 / TAXII 2.1 threat-intelligence "
	       "node.\n\ncommands:\n");
	for (const struct cli_cmd *cmd = cli_commands; cmd->name; cmd++)
		fprintf(f, "  %-12s %s\n", cmd->name, cmd->summary);
	fprintf(f,
		"\noptions:\n"
		"  --home DIR   the node's home (default $STRAIT_HOME, else "
		"./strait-home)\n"
		"  --help       this text; 'strait COMMAND --help' for a "
		"command\n"
		"  --version    print the version\n"
		"\nexit status: 0 success, 1 some input rejected or object not "
		"found,\n2 usage, configuration or I/O error.\n");
}

int cli_fail(int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("strait: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return status;
}

const char *cli_path(struct cli *c, const char *name)
{
	if (name[0] == '/')
		snprintf(c->path_buf, sizeof(c->path_buf), "%s", name);
	else
		snprintf(c->path_buf, sizeof(c->path_buf), "%s/%s", c->home,
			 name);
	return c->path_buf;
}

int cli_load_config(struct cli *c)
{
	struct diag d;
	const char *cfg = cli_path(c, "strait.yaml");
	int rc = config_load(cfg, &c->cfg, &d);
	if (rc == ST_ENOTFOUND)
		return cli_fail(CLI_USAGE,
				"no node at %s (create one with 'strait --home "
				"%s init --name NAME')",
				c->home, c->home);
	if (rc != ST_OK)
		return cli_fail(CLI_USAGE, "%s: %s", cfg, d.msg);
	return CLI_OK;
}

int cli_open(struct cli *c)
{
	struct diag d;
	int rc = cli_load_config(c);
	if (rc != CLI_OK)
		return rc;
	const char *url = c->cfg.store;
	char full[4200];
	if (strncmp(url, "sqlite:", 7) == 0 && url[7] != '/') {
		snprintf(full, sizeof(full), "sqlite:%s/%s", c->home, url + 7);
		url = full;
	}
	struct store_options opt = {0};
	rc = store_open(url, &opt, &c->store, &d);
	if (rc != ST_OK)
		return cli_fail(CLI_USAGE, "cannot open the store: %s", d.msg);
	return CLI_OK;
}

void cli_close(struct cli *c)
{
	store_close(c->store);
	c->store = NULL;
}

int cli_collection(struct cli *c, const char *arg, struct store_collection *out)
{
	const char *key = arg != NULL ? arg : CLI_DEFAULT_ALIAS;
	int rc = store_collection_find(c->store, key, out);
	if (rc == ST_ENOTFOUND)
		return cli_fail(CLI_USAGE,
				"no collection '%s' (see 'strait collection "
				"list')",
				key);
	if (rc != ST_OK)
		return cli_fail(CLI_USAGE, "collection '%s': %s", key,
				st_strerror(rc));
	return CLI_OK;
}

/* Takes --home DIR / --home=DIR from anywhere in argv (every command
 * accepts it) and compacts argv. */
static int take_home(int *argc, char **argv, const char **home)
{
	int out = 0;
	for (int i = 0; i < *argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			while (i < *argc)
				argv[out++] = argv[i++];
			break;
		}
		if (strcmp(argv[i], "--home") == 0) {
			if (i + 1 >= *argc)
				return cli_fail(CLI_USAGE,
						"--home needs a directory");
			*home = argv[++i];
			continue;
		}
		if (strncmp(argv[i], "--home=", 7) == 0) {
			*home = argv[i] + 7;
			continue;
		}
		argv[out++] = argv[i];
	}
	*argc = out;
	argv[out] = NULL;
	return CLI_OK;
}

int cli_main(int argc, char **argv)
{
	struct cli c;
	memset(&c, 0, sizeof(c));
	c.prog = argv[0];
	c.home = getenv("STRAIT_HOME");
	if (c.home == NULL || c.home[0] == '\0')
		c.home = "./strait-home";
	if (take_home(&argc, argv, &c.home) != CLI_OK)
		return CLI_USAGE;
	if (getenv("STRAIT_DEBUG") != NULL)
		log_set_level(LOG_DEBUG);
	config_defaults(&c.cfg);

	if (argc < 2) {
		usage(stderr);
		return CLI_USAGE;
	}
	const char *name = argv[1];
	if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 ||
	    strcmp(name, "help") == 0) {
		usage(stdout);
		return CLI_OK;
	}
	if (strcmp(name, "--version") == 0) {
		printf("strait %s\n", STRAIT_VERSION);
		return CLI_OK;
	}
	for (const struct cli_cmd *cmd = cli_commands; cmd->name; cmd++) {
		if (strcmp(cmd->name, name) == 0) {
			int rc = cmd->run(&c, argc - 1, argv + 1);
			cli_close(&c);
			return rc;
		}
	}
	cli_fail(CLI_USAGE, "unknown command '%s'", name);
	usage(stderr);
	return CLI_USAGE;
}
