/* strait: the command-line interface (private to src/cli). */
#ifndef STRAIT_CLI_CLI_H
#define STRAIT_CLI_CLI_H

#include "stix/stix.h"
#include "store/store.h"

#include <stdbool.h>
#include <stdio.h>

/* Exit statuses shared by every command. */
enum cli_exit {
	CLI_OK = 0,
	CLI_PARTIAL = 1, /* some input rejected, or the object was not found */
	CLI_USAGE = 2,	 /* usage, configuration or I/O error */
};

/* The node's configuration, strait.yaml in the home. */
struct config {
	char node_name[128];
	char node_org[128];
	char node_country[8];
	char node_identity[STIX_ID_MAX];
	char store[512];      /* store URL; relative paths are in the home */
	char default_tlp[16]; /* marking of unmarked objects */
	char listen[128];
	char fed_disk_reserve_mb[24];	   /* peer writes stop below this */
	char fed_peer_objects_per_min[24]; /* each partner's quota */
	char fed_max_response_mb[24];	   /* what we read from a partner */
	char audit_max_mb[24];		   /* the audit log's cap, 0: none */
	char audit_head_interval_s[24];	   /* heads signed this often */
	char hl_ack[4][24];		   /* acknowledgement deadlines */
	char hl_flash_per_min[24];	   /* FLASH per sender per minute */
	char hl_profile_every_s[24];	   /* partners' profiles fetched */
	char hl_hook[512];		   /* escalation hook command */
	char lc_half_life[24];		   /* confidence halves this often */
	char lc_default_confidence[8];	   /* for objects without one */
	char lc_valid_for[4096];	   /* TARGET=DURATION, ... */
	char feed_allow_hosts[2048];	   /* hosts feeds may be pulled from
					      besides loopback, ", "-joined */
	char feed_max_response_mb[24];	   /* largest feed response read */
};

/* One entry of the config table: YAML key, field, size, meaning. */
struct config_key {
	const char *key;
	size_t offset;
	size_t size;
	const char *def;
	const char *help;
	bool list; /* a YAML list (or one string), kept ", "-joined */
};

extern const struct config_key config_keys[];

/* Fills cfg with the defaults. */
void config_defaults(struct config *cfg);
/* Reads path; unknown keys and over-long values are errors naming the key
 * and line. */
int config_load(const char *path, struct config *cfg, struct diag *d);
/* Writes cfg to path atomically (temporary file, fsync, rename). */
int config_save(const char *path, const struct config *cfg, struct diag *d);

/* What every command gets. */
struct cli {
	const char *home; /* --home, $STRAIT_HOME or ./strait-home */
	const char *prog; /* argv[0] for messages */
	struct config cfg;
	struct store *store;
	char path_buf[4096];
};

struct cli_cmd {
	const char *name;
	const char *summary;
	/* argv[0] is the command name; getopt-style parsing from argv[1]. */
	int (*run)(struct cli *c, int argc, char **argv);
};

/* Prints "strait: <message>" to stderr; returns status. */
int cli_fail(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Joins the home and a file name into c->path_buf. */
const char *cli_path(struct cli *c, const char *name);
/* Loads strait.yaml only; errors say what to run. */
int cli_load_config(struct cli *c);
/* Loads strait.yaml and opens the store; errors say what to run. */
int cli_open(struct cli *c);
void cli_close(struct cli *c);
/* Resolves --collection (id or alias); the default collection when NULL. */
int cli_collection(struct cli *c, const char *arg,
		   struct store_collection *out);

/* Progress on a terminal (a bar with rate), plain lines otherwise. */
struct progress;
struct progress *progress_new(FILE *f, const char *what, uint64_t total);
/* Reports units read (seen), units done (e.g. durably stored) and bytes
 * read; rate-limited, cheap to call often. */
void progress_update(struct progress *p, uint64_t seen, uint64_t done,
		     uint64_t bytes);
/* Prints the final line and frees; NULL is a no-op. */
void progress_done(struct progress *p, uint64_t seen, uint64_t done,
		   uint64_t bytes);

int cmd_init(struct cli *c, int argc, char **argv);
int cmd_collection(struct cli *c, int argc, char **argv);
int cmd_import(struct cli *c, int argc, char **argv);
int cmd_export(struct cli *c, int argc, char **argv);
int cmd_get(struct cli *c, int argc, char **argv);
int cmd_lookup(struct cli *c, int argc, char **argv);
/* Opens the store and the lookup index and brings the index up to date
 * (progress on stderr unless quiet); cmd names the command in errors.
 * CLI_OK with *out to lk_close, or the status after printing why. */
struct lk_index;
int cli_lookup_index(struct cli *c, const char *cmd, bool quiet,
		     struct lk_index **out);
int cmd_search(struct cli *c, int argc, char **argv);
int cmd_node(struct cli *c, int argc, char **argv);
int cmd_peer(struct cli *c, int argc, char **argv);
int cmd_policy(struct cli *c, int argc, char **argv);
int cmd_quarantine(struct cli *c, int argc, char **argv);
int cmd_serve(struct cli *c, int argc, char **argv);
int cmd_user(struct cli *c, int argc, char **argv);
int cmd_pattern(struct cli *c, int argc, char **argv);
int cmd_match(struct cli *c, int argc, char **argv);
int cmd_audit(struct cli *c, int argc, char **argv);
int cmd_hotline(struct cli *c, int argc, char **argv);
int cmd_contacts(struct cli *c, int argc, char **argv);
int cmd_incident(struct cli *c, int argc, char **argv);
int cmd_feed(struct cli *c, int argc, char **argv);
/* A sink (interop/import.h) whose objects and rejections go to in; the
 * rest of it is zero, for the caller to fill. */
struct ingest;
struct ix_sink;
void cli_ingest_sink(struct ingest *in, struct ix_sink *k);
int cmd_fp(struct cli *c, int argc, char **argv);
int cmd_allow(struct cli *c, int argc, char **argv);
/* Opens <home>/lifecycle.db with the configuration's lifecycle: section
 * (after cli_load_config or cli_open; the store, when open, serves the
 * default validity per collection). CLI_OK with *out to lc_close, or
 * CLI_USAGE after printing why (cmd names the command). */
struct lc;
int cli_lifecycle(struct cli *c, const char *cmd, struct lc **out);

/*
 * Records a change made through the CLI in the audit log: kind ("user.add",
 * "peer.policy", ...), then pairs of key and value (a NULL value is JSON
 * null) ending with NULL; the actor is "cli:" and the host account that
 * ran the command. A head is signed after it. The change is made already:
 * a failure to record is a warning on stderr.
 */
void cli_audit(struct cli *c, const char *kind, ...);

/*
 * Loads strait.yaml and opens <home>/auth.db into *out (create: make it if
 * missing). CLI_OK; CLI_PARTIAL, silently, when there is no auth.db and
 * create is false ("no accounts yet"); CLI_USAGE after printing why.
 * The caller closes *out with auth_close().
 */
struct auth;
int cli_auth_open(struct cli *c, bool create, struct auth **out);

/*
 * Loads warninglists into wl: the n folders given, else the shipped set
 * (STRAIT_SHARE or the build's share/ folder) and <home>/warninglists
 * when it exists. CLI_OK, or CLI_USAGE after printing which file is wrong.
 */
struct wl_set;
int cli_warninglists(struct cli *c, struct wl_set *wl, const char *const *dirs,
		     size_t n, bool quiet);

/* The command table and the entry point of the binary. */
extern const struct cli_cmd cli_commands[];
int cli_main(int argc, char **argv);

/* The id and alias of the collection "strait init" creates. */
#define CLI_DEFAULT_ALIAS "default"

#endif
