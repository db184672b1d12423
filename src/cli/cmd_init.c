#include "cli/cli.h"

#include "federation/nodekey.h"

#include "common/json.h"
#include "common/uuid.h"
#include "ingest/ingest.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char init_usage[] =
    "usage: strait init --name NAME [--org ORG] [--country CC]\n"
    "                   [--default-tlp LEVEL]\n"
    "\n"
    "Creates the node home (--home, default $STRAIT_HOME or ./strait-home):\n"
    "strait.yaml, the embedded SQLite store, a default collection (alias\n"
    "'default') and the node's STIX identity object. Refuses to touch an\n"
    "existing home.\n"
    "\n"
    "  --name NAME          the node's name, e.g. NCSC\n"
    "  --org ORG            organisation running the node (default NAME)\n"
    "  --country CC         ISO 3166-1 alpha-2 code, e.g. KR\n"
    "  --default-tlp LEVEL  marking of unmarked objects (default amber)\n";

static int make_identity(struct cli *c, struct buf *out)
{
	uint8_t u[16];
	char us[UUID_STRLEN + 1], now[TS_BUFSZ];
	uuid_v4(u);
	uuid_format(u, us);
	ts_format_ms(time_now(), now);
	snprintf(c->cfg.node_identity, sizeof(c->cfg.node_identity),
		 "identity--%s", us);
	struct jw w;
	jw_init(&w, out);
	jw_obj_open(&w);
	jw_key(&w, "type");
	jw_str(&w, "identity");
	jw_key(&w, "spec_version");
	jw_str(&w, "2.1");
	jw_key(&w, "id");
	jw_str(&w, c->cfg.node_identity);
	jw_key(&w, "created");
	jw_str(&w, now);
	jw_key(&w, "modified");
	jw_str(&w, now);
	jw_key(&w, "name");
	jw_str(&w, c->cfg.node_org);
	jw_key(&w, "identity_class");
	jw_str(&w, "organization");
	/* Marked, not only stored as CLEAR: partners store unmarked objects
	 * from us as AMBER, and everything whose created_by_ref names this
	 * identity could then never be relayed. */
	jw_key(&w, "object_marking_refs");
	jw_arr_open(&w);
	jw_str(&w, tlp_marking_id(TLP_CLEAR));
	jw_arr_close(&w);
	jw_key(&w, "sectors");
	jw_arr_open(&w);
	jw_str(&w, "government-national");
	jw_arr_close(&w);
	jw_key(&w, "x_strait_node");
	jw_obj_open(&w);
	jw_key(&w, "name");
	jw_str(&w, c->cfg.node_name);
	if (c->cfg.node_country[0]) {
		jw_key(&w, "country");
		jw_str(&w, c->cfg.node_country);
	}
	jw_obj_close(&w);
	jw_obj_close(&w);
	return jw_finish(&w);
}

static int store_identity(struct cli *c, const struct buf *obj)
{
	struct ingest_options opt = {0};
	opt.default_tlp = TLP_CLEAR; /* a node's identity is not a secret */
	struct ingest *in = ingest_new(c->store, &opt, NULL, NULL);
	if (in == NULL)
		return ST_ENOMEM;
	int rc = ingest_object(in, obj->data, obj->len, 0, 0);
	if (rc == ST_OK)
		rc = ingest_finish(in);
	if (rc == ST_OK && ingest_stats(in)->stored != 1)
		rc = ST_ESTIX;
	ingest_free(in);
	return rc;
}

static bool valid_country(const char *cc)
{
	return strlen(cc) == 2 && isupper((unsigned char)cc[0]) &&
	       isupper((unsigned char)cc[1]);
}

int cmd_init(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"name", required_argument, NULL, 'n'},
	    {"org", required_argument, NULL, 'o'},
	    {"country", required_argument, NULL, 'c'},
	    {"default-tlp", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *name = NULL, *org = NULL, *country = "", *tlp = "amber";
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			name = optarg;
			break;
		case 'o':
			org = optarg;
			break;
		case 'c':
			country = optarg;
			break;
		case 't':
			tlp = optarg;
			break;
		case 'h':
			fputs(init_usage, stdout);
			return CLI_OK;
		default:
			fputs(init_usage, stderr);
			return CLI_USAGE;
		}
	}
	if (optind != argc)
		return cli_fail(CLI_USAGE, "init: unexpected argument '%s'",
				argv[optind]);
	if (name == NULL || name[0] == '\0') {
		fputs(init_usage, stderr);
		return cli_fail(CLI_USAGE, "init: --name is required");
	}
	if (country[0] && !valid_country(country))
		return cli_fail(CLI_USAGE,
				"init: --country must be an ISO 3166-1 alpha-2 "
				"code in capitals, e.g. KR (got '%s')",
				country);
	enum tlp level;
	if (tlp_parse(tlp, &level) != ST_OK || level == TLP_NONE)
		return cli_fail(
		    CLI_USAGE,
		    "init: --default-tlp: unknown level '%s' (clear, "
		    "green, amber, amber+strict, red)",
		    tlp);
	if (strlen(name) >= sizeof(c->cfg.node_name) ||
	    (org && strlen(org) >= sizeof(c->cfg.node_org)))
		return cli_fail(CLI_USAGE, "init: name or org too long");

	struct stat st;
	if (stat(cli_path(c, "strait.yaml"), &st) == 0 ||
	    stat(cli_path(c, "strait.db"), &st) == 0)
		return cli_fail(CLI_USAGE,
				"init: %s already holds a node; refusing to "
				"overwrite it",
				c->home);
	if (mkdir(c->home, 0700) != 0 && errno != EEXIST)
		return cli_fail(CLI_USAGE, "init: cannot create %s: %s",
				c->home, strerror(errno));

	config_defaults(&c->cfg);
	snprintf(c->cfg.node_name, sizeof(c->cfg.node_name), "%s", name);
	snprintf(c->cfg.node_org, sizeof(c->cfg.node_org), "%s",
		 org ? org : name);
	snprintf(c->cfg.node_country, sizeof(c->cfg.node_country), "%s",
		 country);
	snprintf(c->cfg.default_tlp, sizeof(c->cfg.default_tlp), "%s",
		 tlp_name(level));

	struct diag d;
	bool key_made = false;
	struct store_options sopt = {.create = true};
	char url[4200];
	snprintf(url, sizeof(url), "sqlite:%s", cli_path(c, "strait.db"));
	int rc = store_open(url, &sopt, &c->store, &d);
	if (rc != ST_OK)
		return cli_fail(CLI_USAGE, "init: cannot create the store: %s",
				d.msg);

	struct store_collection coll;
	memset(&coll, 0, sizeof(coll));
	uint8_t u[16];
	uuid_v4(u);
	uuid_format(u, coll.id);
	snprintf(coll.title, sizeof(coll.title), "%s shared intelligence",
		 name);
	snprintf(coll.description, sizeof(coll.description),
		 "Default collection of node %s", name);
	snprintf(coll.alias, sizeof(coll.alias), "%s", CLI_DEFAULT_ALIAS);
	rc = store_collection_add(c->store, &coll, &d);
	if (rc != ST_OK)
		goto fail;

	struct buf ident = BUF_INIT(1 << 16);
	rc = make_identity(c, &ident);
	if (rc == ST_OK)
		rc = store_identity(c, &ident);
	buf_free(&ident);
	if (rc != ST_OK) {
		diag_set(&d, rc, "cannot store the node identity: %s",
			 st_strerror(rc));
		goto fail;
	}
	rc = store_meta_set(c->store, "node.identity", c->cfg.node_identity);
	if (rc != ST_OK) {
		diag_set(&d, rc, "cannot record the node identity");
		goto fail;
	}
	/* The node's signing key (provenance attestations). */
	rc = nodekeys_create(c->home, time_now() / 1000000, &d);
	if (rc != ST_OK)
		goto fail;
	key_made = true;
	struct nodekeys *keys;
	rc = nodekeys_load(c->home, &keys, &d);
	if (rc != ST_OK)
		goto fail;
	char key_id[NODEKEY_ID_LEN + 1], key_text[NODEKEY_PUB_TEXT];
	snprintf(key_id, sizeof(key_id), "%s", nodekeys_current(keys)->id);
	nodekey_pub_text(nodekeys_current(keys)->pk, key_text);
	nodekeys_free(keys);
	/* The configuration is written last: a home without it is not a
	 * node, and a failed init leaves nothing that looks like one. */
	rc = config_save(cli_path(c, "strait.yaml"), &c->cfg, &d);
	if (rc != ST_OK)
		goto fail;

	printf("initialised node %s in %s\n", name, c->home);
	printf("  identity     %s\n", c->cfg.node_identity);
	printf("  collection   %s (alias '%s')\n", coll.id, coll.alias);
	printf("  incarnation  %s\n", store_incarnation(c->store));
	printf("  default TLP  %s\n", tlp_name(level));
	printf("  signing key  %s %s\n", key_id, key_text);
	return CLI_OK;

fail:
	store_close(c->store);
	c->store = NULL;
	unlink(cli_path(c, "strait.db"));
	unlink(cli_path(c, "strait.db-wal"));
	unlink(cli_path(c, "strait.db-shm"));
	if (key_made) /* never one that was there before */
		unlink(cli_path(c, "keys/node.key"));
	return cli_fail(CLI_USAGE, "init: %s", d.msg);
}
