/*
 * strait hotline enroll|chain|trust|send|inbox|show|ack|watch|status, and
 * strait contacts: a principal's client on the node's host, and the
 * operator's view. Secrets come from the principal's key file, opened
 * here with its passphrase; hotline.db gets public keys, signed headers,
 * sealed bodies and signed receipts, and `strait serve` relays them.
 */
#include "cli/cli.h"
#include "cli/hotline_cli.h"

#include "auth/auth.h"
#include "common/json.h"
#include "common/utf8.h"
#include "common/uuid.h"
#include "federation/peers.h"
#include "hotline/hotline.h"
#include "hotline/node.h"
#include "hotline/submit.h"

#include <getopt.h>
#include <signal.h>
#include <sys/stat.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Opens hotline.db of the node (which must be a node with an identity). */
static int open_db(struct cli *c, const char *what, struct hl_db **db)
{
	struct diag d;
	int rc = cli_load_config(c);
	if (rc != CLI_OK)
		return rc;
	if (c->cfg.node_identity[0] == '\0')
		return cli_fail(CLI_USAGE,
				"hotline %s: the node has no "
				"identity",
				what);
	if (hl_db_open(c->home, db, &d) != ST_OK)
		return cli_fail(CLI_USAGE, "hotline %s: %s", what, d.msg);
	return CLI_OK;
}

struct find {
	const char *name;
	char *out;
	size_t cap;
	bool found;
};

static int find_name(void *ctx, const struct hl_principal *p)
{
	struct find *f = ctx;
	const char *slash = strchr(p->addr, '/');
	if (slash != NULL && strcmp(slash + 1, f->name) == 0) {
		snprintf(f->out, f->cap, "%s", p->addr);
		f->found = true;
	}
	return ST_OK;
}

/* "peer:name" (a partner's), "name" (ours) or a full address, to an
 * address known here. */
static bool resolve(struct hl_db *db, const char *who, char *out, size_t cap)
{
	if (hl_addr_valid(who, NULL)) {
		struct hl_principal p;
		snprintf(out, cap, "%s", who);
		return hl_principal_get(db, who, &p) == ST_OK;
	}
	char peer[HL_PEER_MAX] = "";
	const char *name = who, *colon = strchr(who, ':');
	if (colon != NULL) {
		size_t pl = (size_t)(colon - who);
		if (pl == 0 || pl >= sizeof(peer))
			return false;
		memcpy(peer, who, pl);
		peer[pl] = '\0';
		name = colon + 1;
	}
	struct find f = {name, out, cap, false};
	hl_principal_list(db, peer, find_name, &f, NULL);
	return f.found;
}

/* The principal's key file opened with the passphrase (first line of
 * stdin, or asked on a terminal); its keys must be those enrolled for
 * addr. */
static int open_keys(struct hl_db *db, const char *addr, const char *path,
		     const char *what, struct hotline_keys **k)
{
	struct diag d;
	if (sodium_init() < 0)
		return cli_fail(CLI_USAGE, "libsodium did not start");
	char *pass = sodium_malloc(HOTLINE_PASS_MAX + 2);
	if (pass == NULL)
		return cli_fail(CLI_USAGE, "out of memory");
	long n = hotline_read_pass("passphrase: ", pass, HOTLINE_PASS_MAX + 2);
	int rc = CLI_OK;
	if (n < 1) {
		rc = cli_fail(CLI_USAGE, "hotline %s: no passphrase", what);
	} else if (hotline_keys_open(path, pass, (size_t)n, k, &d) != ST_OK) {
		rc = cli_fail(CLI_USAGE, "hotline %s: %s", what, d.msg);
	} else {
		struct hl_principal p;
		if (hl_principal_get(db, addr, &p) != ST_OK ||
		    p.trust != HL_TRUST_OURS)
			rc = cli_fail(CLI_USAGE,
				      "hotline %s: %s is not a principal "
				      "enrolled here (strait hotline enroll)",
				      what, addr);
		else if (memcmp(&p.key, &(*k)->pub, sizeof(p.key)) != 0)
			rc = cli_fail(CLI_USAGE,
				      "hotline %s: %s is not the key file "
				      "enrolled for %s",
				      what, path, addr);
		if (rc != CLI_OK) {
			hotline_keys_free(*k);
			*k = NULL;
		}
	}
	sodium_free(pass);
	return rc;
}

/* Exercise and Test traffic is shown as such wherever it appears. */
static const char *status_label(enum hl_status s)
{
	return s == HL_EXERCISE ? "[EXERCISE] " : s == HL_TEST ? "[TEST] " : "";
}

/* ------------------------------------------------------------------ */

static int enroll(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"key", required_argument, NULL, 'k'},
	    {"title", required_argument, NULL, 't'},
	    {NULL, 0, NULL, 0},
	};
	const char *key = NULL, *title = "";
	int opt;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt == 'k')
			key = optarg;
		else if (opt == 't')
			title = optarg;
		else
			return cli_fail(CLI_USAGE,
					"hotline enroll: unknown option '%s'",
					argv[optind - 1]);
	}
	if (optind + 1 != argc || key == NULL)
		return cli_fail(CLI_USAGE,
				"hotline enroll: NAME --key FILE expected");
	const char *name = argv[optind];
	if (strlen(title) >= 128)
		return cli_fail(CLI_USAGE, "hotline enroll: --title: at most "
					   "127 bytes");
	struct auth *a = NULL;
	struct auth_account acct;
	int rc = cli_auth_open(c, false, &a);
	if (rc != CLI_OK)
		return rc;
	rc = auth_user_get(a, name, &acct);
	auth_close(a);
	if (rc != ST_OK || acct.role != ROLE_PRINCIPAL)
		return cli_fail(
		    CLI_USAGE,
		    "hotline enroll: '%s' is not an account of role "
		    "principal (strait user add %s --role "
		    "principal)",
		    name, name);
	struct diag d;
	struct hotline_pub pub;
	if (hotline_keyfile_pub(key, &pub, &d) != ST_OK)
		return cli_fail(CLI_USAGE, "hotline enroll: %s", d.msg);
	struct hl_db *db = NULL;
	if ((rc = open_db(c, "enroll", &db)) != CLI_OK)
		return rc;
	char addr[HL_ADDR_MAX + 1];
	snprintf(addr, sizeof(addr), "%s/%s", c->cfg.node_identity, name);
	if (hl_principal_enroll(db, addr, title, &pub, &d) != ST_OK)
		rc = cli_fail(CLI_USAGE, "hotline enroll: %s", d.msg);
	hl_db_close(db);
	if (rc != CLI_OK)
		return rc;
	char fp[HOTLINE_FP_TEXT];
	hotline_fingerprint(&pub, fp);
	printf("enrolled %s\nfingerprint %s\n", addr, fp);
	cli_audit(c, "hotline.enroll", "principal", addr, "fingerprint", fp,
		  NULL);
	return CLI_OK;
}

static int chain(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"deputy", required_argument, NULL, 'd'},
	    {"duty", required_argument, NULL, 'u'},
	    {NULL, 0, NULL, 0},
	};
	const char *dep[HL_CHAIN_MAX], *duty[HL_CHAIN_MAX];
	size_t nd = 0, nu = 0;
	int opt;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if ((opt == 'd' && nd == HL_CHAIN_MAX) ||
		    (opt == 'u' && nu == HL_CHAIN_MAX))
			return cli_fail(CLI_USAGE,
					"hotline chain: at most %d at each "
					"level",
					HL_CHAIN_MAX);
		if (opt == 'd')
			dep[nd++] = optarg;
		else if (opt == 'u')
			duty[nu++] = optarg;
		else
			return cli_fail(CLI_USAGE,
					"hotline chain: unknown option '%s'",
					argv[optind - 1]);
	}
	if (optind + 1 != argc)
		return cli_fail(CLI_USAGE, "hotline chain: NAME [--deputy NAME]"
					   "... [--duty NAME]... expected");
	struct hl_db *db = NULL;
	int rc = open_db(c, "chain", &db);
	if (rc != CLI_OK)
		return rc;
	char addr[HL_ADDR_MAX + 1];
	char da[HL_CHAIN_MAX][HL_ADDR_MAX + 1],
	    ua[HL_CHAIN_MAX][HL_ADDR_MAX + 1];
	const char *dp[HL_CHAIN_MAX], *up[HL_CHAIN_MAX];
	snprintf(addr, sizeof(addr), "%s/%s", c->cfg.node_identity,
		 argv[optind]);
	for (size_t i = 0; i < nd; i++) {
		snprintf(da[i], sizeof(da[i]), "%s/%s", c->cfg.node_identity,
			 dep[i]);
		dp[i] = da[i];
	}
	for (size_t i = 0; i < nu; i++) {
		snprintf(ua[i], sizeof(ua[i]), "%s/%s", c->cfg.node_identity,
			 duty[i]);
		up[i] = ua[i];
	}
	struct diag d;
	if (hl_principal_chain(db, addr, dp, nd, up, nu, &d) != ST_OK)
		rc = cli_fail(CLI_USAGE, "hotline chain: %s", d.msg);
	else
		printf("%s: %zu deputies, %zu duty officers\n", argv[optind],
		       nd, nu);
	hl_db_close(db);
	return rc;
}

static int trust(struct cli *c, int argc, char **argv)
{
	if (argc != 3)
		return cli_fail(CLI_USAGE,
				"hotline trust: PEER:NAME FINGERPRINT "
				"expected (the fingerprint in quotes)");
	struct hl_db *db = NULL;
	int rc = open_db(c, "trust", &db);
	if (rc != CLI_OK)
		return rc;
	char addr[HL_ADDR_MAX + 1];
	struct diag d;
	if (!resolve(db, argv[1], addr, sizeof(addr)))
		rc = cli_fail(CLI_PARTIAL,
			      "hotline trust: %s: no such partner principal "
			      "(strait contacts)",
			      argv[1]);
	else if (hl_principal_trust(db, addr, argv[2], &d) != ST_OK)
		rc = cli_fail(CLI_PARTIAL, "hotline trust: %s", d.msg);
	hl_db_close(db);
	if (rc == CLI_OK) {
		printf("confirmed %s\n", addr);
		cli_audit(c, "hotline.trust", "principal", addr, "fingerprint",
			  argv[2], NULL);
	}
	return rc;
}

/* ---- send ---- */

struct send_opts {
	const char *as, *key, *to, *body, *body_file;
	enum hl_prec prec;
	enum hl_status status;
	enum hl_type type;
	enum tlp tlp;
	const char *refs[HL_MAX_REFS], *stix[HL_MAX_STIX];
	size_t nrefs, nstix;
	bool json;
};

static int read_body(const struct send_opts *o, char **out, size_t *len)
{
	if (o->body != NULL) {
		*out = strdup(o->body);
		*len = strlen(o->body);
		return *out != NULL ? CLI_OK : cli_fail(CLI_USAGE, "no memory");
	}
	FILE *f = fopen(o->body_file, "rb");
	if (f == NULL)
		return cli_fail(CLI_USAGE, "hotline send: %s: cannot read it",
				o->body_file);
	*out = malloc(HL_BODY_MAX + 2);
	*len = *out != NULL ? fread(*out, 1, HL_BODY_MAX + 1, f) : 0;
	fclose(f);
	if (*out == NULL)
		return cli_fail(CLI_USAGE, "out of memory");
	if (*len > HL_BODY_MAX) {
		free(*out);
		return cli_fail(CLI_USAGE,
				"hotline send: %s: more than %d bytes",
				o->body_file, HL_BODY_MAX);
	}
	(*out)[*len] = '\0';
	return CLI_OK;
}

static bool in_list(char (*v)[HL_ADDR_MAX + 1], size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

static int send_msg(struct cli *c, const struct send_opts *o)
{
	struct hl_db *db = NULL;
	struct hotline_keys *k = NULL;
	char *body = NULL;
	size_t blen = 0;
	struct hl_header h;
	struct hl_reader rd[HL_MAX_READERS];
	char raddr[HL_MAX_READERS][HL_ADDR_MAX + 1];
	uint8_t *cts[HL_MAX_READERS];
	size_t nr = 0, queued = 0;
	struct diag d;
	memset(&h, 0, sizeof(h));
	int rc = read_body(o, &body, &blen);
	if (rc != CLI_OK)
		return rc;
	if (blen == 0 || utf8_invalid_offset(body, blen) >= 0) {
		free(body);
		return cli_fail(CLI_USAGE,
				"hotline send: the body is empty or not UTF-8");
	}
	/* the store: the release decision of the objects it refers to */
	if ((rc = cli_open(c)) != CLI_OK ||
	    (rc = open_db(c, "send", &db)) != CLI_OK)
		goto out;
	snprintf(h.sender, sizeof(h.sender), "%s/%s", c->cfg.node_identity,
		 o->as);
	/* recipients: PEER:NAME, comma-separated */
	char to[4096];
	snprintf(to, sizeof(to), "%s", o->to);
	const char *ids[HL_MAX_RECIPIENTS + 1];
	char idbuf[HL_MAX_RECIPIENTS][STIX_ID_MAX];
	ids[0] = c->cfg.node_identity;
	for (char *save = NULL, *t = strtok_r(to, ",", &save); t != NULL;
	     t = strtok_r(NULL, ",", &save)) {
		if (h.nrecipients == HL_MAX_RECIPIENTS) {
			rc = cli_fail(CLI_USAGE,
				      "hotline send: at most %d recipients",
				      HL_MAX_RECIPIENTS);
			goto out;
		}
		char *a = h.recipients[h.nrecipients];
		struct hl_principal p;
		if (!resolve(db, t, a, HL_ADDR_MAX + 1) ||
		    hl_principal_get(db, a, &p) != ST_OK || p.peer[0] == '\0') {
			rc = cli_fail(CLI_USAGE,
				      "hotline send: %s: not a partner's "
				      "principal known here (strait contacts)",
				      t);
			goto out;
		}
		if (!hl_principal_usable(&p)) {
			rc = cli_fail(CLI_USAGE,
				      "hotline send: %s: its key is %s: "
				      "confirm its fingerprint out of band "
				      "first (strait hotline trust %s "
				      "\"%s\")",
				      t, hl_trust_name(p.trust), t, p.fp);
			goto out;
		}
		/* the recipient and its chain read it */
		if (!in_list(raddr, nr, a))
			snprintf(raddr[nr++], HL_ADDR_MAX + 1, "%s", a);
		for (int l = 0; l < 2; l++)
			for (size_t i = 0; i < p.nchain[l]; i++) {
				struct hl_principal m;
				if (hl_principal_get(db, p.chain[l][i], &m) !=
					ST_OK ||
				    !hl_principal_usable(&m)) {
					fprintf(stderr,
						"strait: warning: %s of %s: "
						"key not confirmed, it will "
						"not be able to read this "
						"message if it escalates\n",
						p.chain[l][i], t);
					continue;
				}
				if (nr < HL_MAX_READERS &&
				    !in_list(raddr, nr, p.chain[l][i]))
					snprintf(raddr[nr++], HL_ADDR_MAX + 1,
						 "%s", p.chain[l][i]);
			}
		size_t nl = (size_t)(strchr(a, '/') - a);
		memcpy(idbuf[h.nrecipients], a, nl);
		idbuf[h.nrecipients][nl] = '\0';
		ids[1 + h.nrecipients] = idbuf[h.nrecipients];
		h.nrecipients++;
	}
	if (h.nrecipients == 0) {
		rc = cli_fail(CLI_USAGE, "hotline send: --to names nobody");
		goto out;
	}
	if ((rc = open_keys(db, h.sender, o->key, "send", &k)) != CLI_OK)
		goto out;
	uint8_t u[16];
	uuid_v4(u);
	uuid_format(u, h.id);
	hl_channel_of(ids, 1 + h.nrecipients, h.channel);
	h.type = o->type;
	h.status = o->status;
	h.prec = o->prec;
	h.tlp = (uint8_t)o->tlp;
	for (size_t i = 0; i < o->nrefs; i++)
		snprintf(h.refs[h.nrefs++], HL_ID_LEN + 1, "%s", o->refs[i]);
	for (size_t i = 0; i < o->nstix; i++)
		snprintf(h.stix[h.nstix++], STIX_ID_MAX, "%s", o->stix[i]);
	h.sent = time_now();
	hl_set_body(&h, body, blen);
	if (hl_header_check(&h, &d) != ST_OK) {
		rc = cli_fail(CLI_USAGE, "hotline send: %s", d.msg);
		goto out;
	}
	uint8_t sig[HL_SIG_BYTES];
	hl_sign(&h, k->sign_sk, sig);
	size_t sealed = 0;
	for (size_t i = 0; i < nr; i++) {
		struct hl_principal p;
		hl_principal_get(db, raddr[i], &p);
		size_t len = 0;
		if (hl_seal(body, blen, p.key.box_pk, &cts[sealed], &len) !=
		    ST_OK) {
			rc = cli_fail(CLI_USAGE, "hotline send: cannot seal");
			goto cleanup;
		}
		snprintf(rd[sealed].addr, sizeof(rd[sealed].addr), "%s",
			 raddr[i]);
		rd[sealed].ct = cts[sealed];
		rd[sealed].ctlen = len;
		sealed++;
	}
	/* a running node's links see the commit within their tick */
	if (hl_submit(db, c->store, c->home, c->cfg.node_identity, &h, sig, rd,
		      sealed, NULL, NULL, &queued, &d) != ST_OK)
		rc = cli_fail(CLI_USAGE, "hotline send: %s", d.msg);
cleanup:
	for (size_t i = 0; i < sealed; i++)
		free(cts[i]);
	if (rc == CLI_OK) {
		if (o->json)
			printf("{\"id\":\"%s\",\"channel\":\"%s\",\"partners\":"
			       "%zu,\"readers\":%zu}\n",
			       h.id, h.channel, queued, sealed);
		else
			printf("%s%s %s queued for %zu partner(s), %zu "
			       "reader(s): %s\n",
			       status_label(h.status), hl_prec_name(h.prec),
			       hl_type_name(h.type), queued, sealed, h.id);
		cli_audit(c, "hotline.send", "message", h.id, "precedence",
			  hl_prec_name(h.prec), "status",
			  hl_status_name(h.status), NULL);
	}
out:
	if (body != NULL) {
		sodium_memzero(body, blen);
		free(body);
	}
	hotline_keys_free(k);
	hl_db_close(db);
	return rc;
}

static int send_cmd(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"as", required_argument, NULL, 'a'},
	    {"key", required_argument, NULL, 'k'},
	    {"to", required_argument, NULL, 't'},
	    {"precedence", required_argument, NULL, 'p'},
	    {"status", required_argument, NULL, 's'},
	    {"type", required_argument, NULL, 'y'},
	    {"tlp", required_argument, NULL, 'l'},
	    {"ref", required_argument, NULL, 'r'},
	    {"stix", required_argument, NULL, 'x'},
	    {"body", required_argument, NULL, 'b'},
	    {"body-file", required_argument, NULL, 'f'},
	    {"json", no_argument, NULL, 'j'},
	    {NULL, 0, NULL, 0},
	};
	struct send_opts o;
	memset(&o, 0, sizeof(o));
	o.prec = HL_ROUTINE;
	o.status = HL_ACTUAL;
	o.type = HL_ALERT;
	o.tlp = TLP_AMBER;
	int opt;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'a':
			o.as = optarg;
			break;
		case 'k':
			o.key = optarg;
			break;
		case 't':
			o.to = optarg;
			break;
		case 'p':
			if (hl_prec_parse(optarg, &o.prec) != ST_OK)
				return cli_fail(CLI_USAGE,
						"hotline send: --precedence: "
						"FLASH, IMMEDIATE, PRIORITY or "
						"ROUTINE");
			break;
		case 's':
			if (hl_status_parse(optarg, &o.status) != ST_OK)
				return cli_fail(CLI_USAGE,
						"hotline send: --status: "
						"Actual, Exercise or Test");
			break;
		case 'y':
			if (hl_type_parse(optarg, &o.type) != ST_OK)
				return cli_fail(CLI_USAGE,
						"hotline send: --type: Alert, "
						"Update, Cancel or Ack");
			break;
		case 'l':
			if (tlp_parse(optarg, &o.tlp) != ST_OK)
				return cli_fail(CLI_USAGE,
						"hotline send: --tlp: clear, "
						"green, amber, amber+strict or "
						"red");
			break;
		case 'r':
			if (o.nrefs == HL_MAX_REFS)
				return cli_fail(CLI_USAGE,
						"hotline send: at most %d "
						"--ref",
						HL_MAX_REFS);
			o.refs[o.nrefs++] = optarg;
			break;
		case 'x':
			if (o.nstix == HL_MAX_STIX)
				return cli_fail(CLI_USAGE,
						"hotline send: at most %d "
						"--stix",
						HL_MAX_STIX);
			o.stix[o.nstix++] = optarg;
			break;
		case 'b':
			o.body = optarg;
			break;
		case 'f':
			o.body_file = optarg;
			break;
		case 'j':
			o.json = true;
			break;
		default:
			return cli_fail(CLI_USAGE,
					"hotline send: unknown option '%s'",
					argv[optind - 1]);
		}
	}
	if (optind != argc || o.as == NULL || o.key == NULL || o.to == NULL ||
	    (o.body == NULL) == (o.body_file == NULL))
		return cli_fail(CLI_USAGE,
				"hotline send: --as NAME --key FILE --to "
				"PEER:NAME[,...] and one of --body TEXT, "
				"--body-file FILE");
	return send_msg(c, &o);
}

/* ---- reading: inbox, show, ack ---- */

struct reader_opts {
	const char *as, *key, *id;
	bool json;
};

static int reader_args(int argc, char **argv, const char *what, bool want_id,
		       struct reader_opts *o)
{
	static const struct option opts[] = {
	    {"as", required_argument, NULL, 'a'},
	    {"key", required_argument, NULL, 'k'},
	    {"json", no_argument, NULL, 'j'},
	    {NULL, 0, NULL, 0},
	};
	memset(o, 0, sizeof(*o));
	int opt;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt == 'a')
			o->as = optarg;
		else if (opt == 'k')
			o->key = optarg;
		else if (opt == 'j')
			o->json = true;
		else
			return cli_fail(CLI_USAGE,
					"hotline %s: unknown option '%s'", what,
					argv[optind - 1]);
	}
	if (want_id && optind < argc)
		o->id = argv[optind++];
	if (optind != argc || o->as == NULL || o->key == NULL ||
	    (want_id && o->id == NULL))
		return cli_fail(CLI_USAGE,
				"hotline %s: %s--as NAME --key FILE "
				"expected",
				what, want_id ? "MESSAGE-ID " : "");
	return CLI_OK;
}

struct session {
	struct cli *c;
	struct hl_db *db;
	struct hotline_keys *k;
	char me[HL_ADDR_MAX + 1];
	bool json;
	struct jw *w;
	size_t shown;
};

/* Opens the body of m for the session's principal and checks the
 * sender's signature: *verified says whether the sender's key is
 * confirmed and signed it. */
static int open_msg(struct session *s, const struct hl_msg *m, char **body,
		    const char **why)
{
	uint8_t *ct = NULL;
	size_t len = 0;
	struct diag d;
	*why = NULL;
	int rc = hl_msg_body(s->db, m->h.id, s->me, &ct, &len, &d);
	if (rc == ST_OK)
		rc = hl_open(&m->h, ct, len, s->k->pub.box_pk, s->k->box_sk,
			     body, &d);
	free(ct);
	if (rc != ST_OK) {
		*why = "the body cannot be opened with this key";
		return rc;
	}
	struct hl_principal p;
	if (hl_principal_get(s->db, m->h.sender, &p) != ST_OK)
		*why = "UNVERIFIED: the sender is not known here";
	else if (!hl_principal_usable(&p))
		*why = "UNVERIFIED: the sender's key is not confirmed (strait "
		       "hotline trust)";
	else if (!hl_verify(&m->h, p.key.sign_pk, m->sig))
		*why = "FORGED: the signature is not the sender's";
	return ST_OK;
}

static int receipt(struct session *s, const struct hl_msg *m,
		   enum hl_receipt kind)
{
	struct hl_receipt_rec r;
	struct diag d;
	memset(&r, 0, sizeof(r));
	snprintf(r.msg, sizeof(r.msg), "%s", m->h.id);
	snprintf(r.principal, sizeof(r.principal), "%s", s->me);
	r.kind = kind;
	r.at = time_now();
	if (hl_receipt_sign(&r, s->k->sign_sk) != ST_OK ||
	    hl_receipt_submit(s->db, s->c->cfg.node_identity, &r, &d) !=
		ST_OK) {
		fprintf(stderr, "strait: %s receipt for %s not kept: %s\n",
			hl_receipt_kind_name(kind), m->h.id, d.msg);
		return CLI_USAGE;
	}
	return CLI_OK;
}

static void header_json(struct jw *w, const struct hl_msg *m, const char *body,
			const char *why)
{
	jw_obj_open(w);
	jw_key(w, "header");
	hl_header_json(w, &m->h);
	jw_key(w, "direction");
	jw_str(w, m->dir == HL_IN ? "in" : "out");
	jw_key(w, "state");
	jw_str(w, hl_state_name(m->state));
	jw_key(w, "level");
	jw_int(w, m->level);
	jw_key(w, "verified");
	jw_bool(w, why == NULL);
	jw_key(w, "problem");
	if (why != NULL)
		jw_str(w, why);
	else
		jw_null(w);
	if (body != NULL) {
		jw_key(w, "body");
		jw_str(w, body);
	}
}

static void header_text(const struct hl_msg *m, const char *why)
{
	char ts[TS_BUFSZ];
	ts_format(m->h.sent, ts);
	printf("%s%s %s  %s  from %s  sent %s  [%s, level %d]\n",
	       status_label(m->h.status), hl_prec_name(m->h.prec),
	       hl_type_name(m->h.type), m->h.id, m->h.sender, ts,
	       hl_state_name(m->state), m->level);
	printf("  TLP:%s  to", tlp_name(m->h.tlp));
	for (size_t i = 0; i < m->h.nrecipients; i++)
		printf(" %s", m->h.recipients[i]);
	printf("\n");
	if (why != NULL)
		printf("  !! %s\n", why);
}

static int inbox_one(void *ctx, const struct hl_msg *m)
{
	struct session *s = ctx;
	if (m->dir != HL_IN)
		return ST_OK;
	char *body = NULL;
	const char *why;
	if (open_msg(s, m, &body, &why) != ST_OK) {
		fprintf(stderr, "strait: message %s: %s\n", m->h.id, why);
		return ST_OK;
	}
	if (s->json) {
		header_json(s->w, m, body, why);
		jw_obj_close(s->w);
	} else {
		header_text(m, why);
		size_t first = strcspn(body, "\n");
		printf("  %.*s%s\n", (int)(first > 200 ? 200 : first), body,
		       first > 200 || body[first] ? " ..." : "");
	}
	s->shown++;
	receipt(s, m, HL_DELIVERED);
	sodium_memzero(body, strlen(body));
	free(body);
	return ST_OK;
}

static int session_open(struct cli *c, const struct reader_opts *o,
			const char *what, struct session *s)
{
	memset(s, 0, sizeof(*s));
	s->c = c;
	s->json = o->json;
	int rc = open_db(c, what, &s->db);
	if (rc != CLI_OK)
		return rc;
	snprintf(s->me, sizeof(s->me), "%s/%s", c->cfg.node_identity, o->as);
	rc = open_keys(s->db, s->me, o->key, what, &s->k);
	if (rc != CLI_OK) {
		hl_db_close(s->db);
		s->db = NULL;
	}
	return rc;
}

static void session_close(struct session *s)
{
	hotline_keys_free(s->k);
	hl_db_close(s->db);
}

static int inbox(struct cli *c, int argc, char **argv)
{
	struct reader_opts o;
	int rc = reader_args(argc, argv, "inbox", false, &o);
	if (rc != CLI_OK)
		return rc;
	struct session s;
	if ((rc = session_open(c, &o, "inbox", &s)) != CLI_OK)
		return rc;
	struct buf out = BUF_INIT(64 << 20);
	struct jw w;
	jw_init(&w, &out);
	jw_arr_open(&w);
	s.w = &w;
	struct diag d;
	if (hl_msg_list(s.db, s.me, inbox_one, &s, &d) != ST_OK)
		rc = cli_fail(CLI_USAGE, "hotline inbox: %s", d.msg);
	jw_arr_close(&w);
	if (rc == CLI_OK && o.json && jw_finish(&w) == ST_OK)
		printf("%s\n", out.data);
	else if (rc == CLI_OK && s.shown == 0)
		printf("no message for %s\n", o.as);
	buf_free(&out);
	session_close(&s);
	return rc;
}

struct rcpt_ctx {
	struct session *s;
	struct jw *w;
};

static int receipt_show(void *ctx, const struct hl_receipt_rec *r)
{
	struct rcpt_ctx *x = ctx;
	struct hl_principal p;
	bool ok = hl_principal_get(x->s->db, r->principal, &p) == ST_OK &&
		  hl_principal_usable(&p) &&
		  hl_receipt_verify(r, p.key.sign_pk);
	char ts[TS_BUFSZ];
	ts_format(r->at, ts);
	if (x->w != NULL) {
		jw_obj_open(x->w);
		jw_key(x->w, "principal");
		jw_str(x->w, r->principal);
		jw_key(x->w, "receipt");
		jw_str(x->w, hl_receipt_kind_name(r->kind));
		jw_key(x->w, "at");
		jw_str(x->w, ts);
		jw_key(x->w, "verified");
		jw_bool(x->w, ok);
		jw_obj_close(x->w);
	} else {
		printf("  %-12s %s %s%s\n", hl_receipt_kind_name(r->kind),
		       r->principal, ts,
		       ok ? ""
			  : "  !! NOT VERIFIED: not signed by a confirmed "
			    "key of that principal");
	}
	return ST_OK;
}

struct ev_ctx {
	const char *msg;
	struct jw *w;
};

static int event_show(void *ctx, const struct hl_event *e)
{
	struct ev_ctx *x = ctx;
	if (strcmp(e->msg, x->msg) != 0 ||
	    (strcmp(e->kind, "escalated") != 0 &&
	     strcmp(e->kind, "unacknowledged") != 0))
		return ST_OK;
	char ts[TS_BUFSZ];
	ts_format(e->at, ts);
	if (x->w != NULL) {
		jw_obj_open(x->w);
		jw_key(x->w, "event");
		jw_str(x->w, e->kind);
		jw_key(x->w, "at");
		jw_str(x->w, ts);
		jw_key(x->w, "detail");
		jw_raw(x->w, e->detail, strlen(e->detail));
		jw_obj_close(x->w);
	} else {
		printf("  %-12s %s %s\n", e->kind, ts, e->detail);
	}
	return ST_OK;
}

static int show(struct cli *c, int argc, char **argv)
{
	struct reader_opts o;
	int rc = reader_args(argc, argv, "show", true, &o);
	if (rc != CLI_OK)
		return rc;
	struct session s;
	if ((rc = session_open(c, &o, "show", &s)) != CLI_OK)
		return rc;
	struct hl_msg m;
	struct diag d;
	char *body = NULL;
	const char *why = NULL;
	struct buf out = BUF_INIT(16 << 20);
	struct jw w;
	jw_init(&w, &out);
	if (hl_msg_get(s.db, o.id, &m, &d) != ST_OK) {
		rc = cli_fail(CLI_PARTIAL, "hotline show: %s", d.msg);
		goto out;
	}
	if (m.dir == HL_OUT && strcmp(m.h.sender, s.me) != 0) {
		rc = cli_fail(CLI_PARTIAL,
			      "hotline show: %s was not sent by "
			      "%s",
			      o.id, o.as);
		goto out;
	}
	if (m.dir == HL_IN) {
		int level = hl_msg_reader_level(s.db, m.h.id, s.me);
		if (level < 0 || level > m.level) {
			rc = cli_fail(CLI_PARTIAL,
				      "hotline show: %s is not for %s (not "
				      "yet, or not at all)",
				      o.id, o.as);
			goto out;
		}
		if (open_msg(&s, &m, &body, &why) != ST_OK) {
			rc = cli_fail(CLI_USAGE, "hotline show: %s: %s", o.id,
				      why);
			goto out;
		}
	}
	struct rcpt_ctx rx = {&s, o.json ? &w : NULL};
	struct ev_ctx ex = {m.h.id, o.json ? &w : NULL};
	if (o.json) {
		header_json(&w, &m, body, why);
		jw_key(&w, "receipts");
		jw_arr_open(&w);
	} else {
		header_text(&m, why);
		if (body != NULL)
			printf("\n%s\n\n", body);
		printf("receipts:\n");
	}
	hl_receipt_list(s.db, m.h.id, receipt_show, &rx, &d);
	if (o.json) {
		jw_arr_close(&w);
		jw_key(&w, "escalations");
		jw_arr_open(&w);
	}
	hl_event_list(s.db, 0, 100000, event_show, &ex, &d);
	if (o.json) {
		jw_arr_close(&w);
		jw_obj_close(&w);
		if (jw_finish(&w) == ST_OK)
			printf("%s\n", out.data);
	}
	if (m.dir == HL_IN)
		rc = receipt(&s, &m, HL_READ);
out:
	if (body != NULL) {
		sodium_memzero(body, strlen(body));
		free(body);
	}
	buf_free(&out);
	session_close(&s);
	return rc;
}

static int ack(struct cli *c, int argc, char **argv)
{
	struct reader_opts o;
	int rc = reader_args(argc, argv, "ack", true, &o);
	if (rc != CLI_OK)
		return rc;
	struct session s;
	if ((rc = session_open(c, &o, "ack", &s)) != CLI_OK)
		return rc;
	struct hl_msg m;
	struct diag d;
	if (hl_msg_get(s.db, o.id, &m, &d) != ST_OK || m.dir != HL_IN) {
		rc = cli_fail(CLI_PARTIAL,
			      "hotline ack: %s: no such message "
			      "received here",
			      o.id);
	} else {
		struct hl_receipt_rec r;
		memset(&r, 0, sizeof(r));
		snprintf(r.msg, sizeof(r.msg), "%s", m.h.id);
		snprintf(r.principal, sizeof(r.principal), "%s", s.me);
		r.kind = HL_ACKNOWLEDGED;
		r.at = time_now();
		if (hl_receipt_sign(&r, s.k->sign_sk) != ST_OK ||
		    hl_receipt_submit(s.db, c->cfg.node_identity, &r, &d) !=
			ST_OK)
			rc = cli_fail(CLI_PARTIAL, "hotline ack: %s", d.msg);
		else
			printf("%sacknowledged %s\n", status_label(m.h.status),
			       m.h.id);
	}
	session_close(&s);
	return rc;
}

/* ---- the operator's view ---- */

static volatile sig_atomic_t watch_stop;

static void on_signal(int sig)
{
	(void)sig;
	watch_stop = 1;
}

struct watch_ctx {
	struct hl_db *db;
	int64_t last;
	bool json;
};

static int watch_one(void *ctx, const struct hl_event *e)
{
	struct watch_ctx *x = ctx;
	x->last = e->seq;
	char ts[TS_BUFSZ];
	ts_format(e->at, ts);
	if (x->json) {
		printf("{\"seq\":%lld,\"at\":\"%s\",\"kind\":\"%s\","
		       "\"message\":\"%s\",\"detail\":%s}\n",
		       (long long)e->seq, ts, e->kind, e->msg,
		       e->detail[0] ? e->detail : "{}");
	} else {
		const char *label = strstr(e->detail, "\"Exercise\"")
					? "[EXERCISE] "
				    : strstr(e->detail, "\"Test\"") ? "[TEST] "
								    : "";
		printf("%s %s%-14s %s %s\n", ts, label, e->kind,
		       e->msg[0] ? e->msg : "-", e->detail);
	}
	fflush(stdout);
	return ST_OK;
}

static int watch(struct cli *c, int argc, char **argv)
{
	bool follow = false, json = false;
	long long after = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--follow") == 0)
			follow = true;
		else if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (strcmp(argv[i], "--after") == 0 && i + 1 < argc)
			after = atoll(argv[++i]);
		else
			return cli_fail(CLI_USAGE,
					"hotline watch: unexpected '%s'",
					argv[i]);
	}
	struct hl_db *db = NULL;
	int rc = open_db(c, "watch", &db);
	if (rc != CLI_OK)
		return rc;
	struct watch_ctx x = {db, after, json};
	struct diag d;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	do {
		if (hl_event_list(db, x.last, 1000, watch_one, &x, &d) !=
		    ST_OK) {
			rc = cli_fail(CLI_USAGE, "hotline watch: %s", d.msg);
			break;
		}
		if (follow) {
			struct timespec ts = {0, 100 * 1000000L};
			nanosleep(&ts, NULL);
		}
	} while (follow && !watch_stop);
	hl_db_close(db);
	return rc;
}

struct status_ctx {
	struct hl_db *db;
	bool json;
	struct jw *w;
};

static int status_principal(void *ctx, const struct hl_principal *p)
{
	struct status_ctx *x = ctx;
	if (x->json) {
		jw_obj_open(x->w);
		jw_key(x->w, "address");
		jw_str(x->w, p->addr);
		jw_key(x->w, "partner");
		jw_str(x->w, p->peer);
		jw_key(x->w, "title");
		jw_str(x->w, p->title);
		jw_key(x->w, "fingerprint");
		jw_str(x->w, p->fp);
		jw_key(x->w, "trust");
		jw_str(x->w, hl_trust_name(p->trust));
		jw_obj_close(x->w);
	} else {
		printf("  %-9s %-10s %s\n             %s%s\n",
		       hl_trust_name(p->trust), p->peer[0] ? p->peer : "(ours)",
		       p->addr, p->fp,
		       p->trust == HL_TRUST_CHANGED
			   ? "  !! KEY CHANGED: not used until confirmed"
			   : "");
	}
	return ST_OK;
}

struct links_ctx {
	struct hl_db *db;
	struct jw *w;
};

static int link_one(void *ctx, const struct peer *p)
{
	struct links_ctx *x = ctx;
	struct hl_link l;
	bool known = hl_link_get(x->db, p->name, &l) == ST_OK;
	st_time now = time_now();
	bool up = known && l.down_since == 0 && l.last_heard != 0 &&
		  now - l.last_heard < 10 * 1000000LL;
	uint64_t q = hl_outbox_count(x->db, p->name);
	char heard[TS_BUFSZ] = "-", down[TS_BUFSZ] = "-";
	if (known && l.last_heard)
		ts_format(l.last_heard, heard);
	if (known && l.down_since)
		ts_format(l.down_since, down);
	if (x->w != NULL) {
		jw_obj_open(x->w);
		jw_key(x->w, "partner");
		jw_str(x->w, p->name);
		jw_key(x->w, "up");
		jw_bool(x->w, up);
		jw_key(x->w, "last_heard");
		if (known && l.last_heard)
			jw_str(x->w, heard);
		else
			jw_null(x->w);
		jw_key(x->w, "down_since");
		if (known && l.down_since)
			jw_str(x->w, down);
		else
			jw_null(x->w);
		jw_key(x->w, "queued");
		jw_int(x->w, (int64_t)q);
		jw_obj_close(x->w);
	} else if (up) {
		printf("  %-10s up    last heard %s, %llu queued\n", p->name,
		       heard, (unsigned long long)q);
	} else {
		printf("  %-10s DOWN  since %s (last heard %s), %llu queued\n",
		       p->name, down, heard, (unsigned long long)q);
	}
	return ST_OK;
}

/* Each registered partner's link, as `strait serve` last saw it. */
static int links_show(struct cli *c, struct hl_db *db, struct jw *w)
{
	struct peers *p = NULL;
	struct diag d;
	struct stat sb;
	if (stat(cli_path(c, "peers.db"), &sb) != 0)
		return CLI_OK;
	if (peers_open(c->home, &p, &d) != ST_OK)
		return cli_fail(CLI_USAGE, "hotline status: %s", d.msg);
	struct links_ctx x = {db, w};
	peers_list(p, link_one, &x, &d);
	peers_close(p);
	return CLI_OK;
}

static int status(struct cli *c, int argc, char **argv)
{
	bool json = argc == 2 && strcmp(argv[1], "--json") == 0;
	if (argc > 2 || (argc == 2 && !json))
		return cli_fail(CLI_USAGE, "hotline status: [--json] only");
	struct hl_db *db = NULL;
	int rc = open_db(c, "status", &db);
	if (rc != CLI_OK)
		return rc;
	struct buf out = BUF_INIT(16 << 20);
	struct jw w;
	jw_init(&w, &out);
	struct status_ctx x = {db, json, &w};
	struct diag d;
	if (json) {
		jw_obj_open(&w);
		jw_key(&w, "principals");
		jw_arr_open(&w);
	} else {
		printf("principals:\n");
	}
	hl_principal_list(db, NULL, status_principal, &x, &d);
	if (json) {
		jw_arr_close(&w);
		jw_key(&w, "links");
		jw_arr_open(&w);
	} else {
		printf("links:\n");
	}
	rc = links_show(c, db, json ? &w : NULL);
	if (json) {
		jw_arr_close(&w);
		jw_obj_close(&w);
		if (jw_finish(&w) == ST_OK)
			printf("%s\n", out.data);
	}
	buf_free(&out);
	hl_db_close(db);
	return rc;
}

int hotline_msg_cmd(struct cli *c, int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(struct cli *, int, char **);
	} cmds[] = {
	    {"enroll", enroll}, {"chain", chain}, {"trust", trust},
	    {"send", send_cmd}, {"inbox", inbox}, {"show", show},
	    {"ack", ack},	{"watch", watch}, {"status", status},
	};
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[0], cmds[i].name) == 0)
			return cmds[i].fn(c, argc, argv);
	return -1;
}
