/*
 * strait hotline: a principal's keys (more of the hotline comes with the
 * rest of src/hotline).
 */
#include "cli/cli.h"
#include "cli/hotline_cli.h"

#include "hotline/keyfile.h"
#include "federation/nodekey.h"

#include <errno.h>
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static const char hotline_usage[] =
    "usage: strait hotline keygen --out FILE [--kdf LEVEL]\n"
    "       strait hotline enroll NAME --key FILE [--title TEXT]\n"
    "       strait hotline chain NAME [--deputy NAME]... [--duty NAME]...\n"
    "       strait hotline trust PEER:NAME FINGERPRINT\n"
    "       strait hotline send --as NAME --key FILE --to PEER:NAME[,...]\n"
    "              [--precedence FLASH|IMMEDIATE|PRIORITY|ROUTINE]\n"
    "              [--status Actual|Exercise|Test] [--type Alert|Update|\n"
    "              Cancel|Ack] [--tlp LEVEL] [--ref ID]... [--stix ID]...\n"
    "              (--body TEXT | --body-file FILE) [--json]\n"
    "       strait hotline inbox --as NAME --key FILE [--json]\n"
    "       strait hotline show ID --as NAME --key FILE [--json]\n"
    "       strait hotline ack ID --as NAME --key FILE\n"
    "       strait hotline watch [--after N] [--follow] [--json]\n"
    "       strait hotline status [--json]\n"
    "\n"
    "The hotline between principals of partner nodes (docs/HOTLINE.md).\n"
    "Messages are signed with the sender's key and sealed for each reader\n"
    "(the recipients and their escalation chains); the node keeps and\n"
    "relays only public keys, signed headers and sealed bodies. Commands\n"
    "that use a principal's key file read its passphrase from the first\n"
    "line of stdin, or ask for it on a terminal.\n"
    "\n"
    "enroll: NAME (an account of role principal) gets the public keys of\n"
    "its key file; they reach the partners in this node's contact profile.\n"
    "chain: NAME's deputies and duty officers, to whom an unacknowledged\n"
    "message escalates (principals enrolled here).\n"
    "trust: confirms a partner's principal's key after its fingerprint was\n"
    "compared out of band; a key that changes later is not used until it\n"
    "is confirmed again.\n"
    "send: signs, seals and queues a message; strait serve delivers it,\n"
    "FLASH first, and keeps it until the partner has it.\n"
    "inbox, show, ack: read (signing delivered and read receipts) and\n"
    "acknowledge; an acknowledgement stops the escalation.\n"
    "watch: the hotline's events; status: links and principals.\n"
    "\n"
    "keygen: makes a hotline principal's keys (Ed25519 to sign, X25519 to\n"
    "receive encrypted messages) and writes them to FILE (mode 0600,\n"
    "never over an existing file), sealed with a passphrase (Argon2id and\n"
    "XSalsa20-Poly1305). The keys stay with the principal: the node only\n"
    "ever gets the public keys. Prints the public keys and the\n"
    "fingerprint that partners confirm out of band (read it aloud).\n"
    "The passphrase (12 to 1024 bytes) is asked twice on a terminal, or\n"
    "read as the first line of stdin.\n"
    "  --kdf LEVEL   interactive (64 MiB), moderate (256 MiB, the\n"
    "                default) or sensitive (1 GiB): the memory it takes\n"
    "                to try one passphrase, here and for an attacker\n";

/* Reads one line into buf (without its newline); echo off on a terminal
 * after printing prompt. Returns its length, or -1. */
static long read_line(const char *prompt, char *buf, size_t cap, bool tty);

long hotline_read_pass(const char *prompt, char *buf, size_t cap)
{
	return read_line(prompt, buf, cap, isatty(STDIN_FILENO) != 0);
}

static long read_line(const char *prompt, char *buf, size_t cap, bool tty)
{
	struct termios old, quiet;
	if (tty) {
		fprintf(stderr, "%s", prompt);
		if (tcgetattr(STDIN_FILENO, &old) != 0)
			return -1;
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	char *got = fgets(buf, (int)cap, stdin);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fprintf(stderr, "\n");
	}
	if (got == NULL)
		return -1;
	size_t n = strlen(buf);
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	else if (n == cap - 1)
		return -2; /* longer than cap */
	if (n > 0 && buf[n - 1] == '\r')
		buf[--n] = '\0';
	return (long)n;
}

static int keygen(struct cli *c, int argc, char **argv)
{
	(void)c;
	static const struct option opts[] = {
	    {"out", required_argument, NULL, 'o'},
	    {"kdf", required_argument, NULL, 'k'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *out = NULL;
	enum hotline_kdf kdf = HOTLINE_KDF_MODERATE;
	int opt;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'o':
			out = optarg;
			break;
		case 'k':
			if (hotline_kdf_parse(optarg, &kdf) != ST_OK)
				return cli_fail(CLI_USAGE,
						"hotline keygen: --kdf is "
						"interactive, moderate or "
						"sensitive, not '%s'",
						optarg);
			break;
		case 'h':
			fputs(hotline_usage, stdout);
			return CLI_OK;
		default:
			return cli_fail(CLI_USAGE,
					"hotline keygen: unknown option '%s'",
					argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_fail(CLI_USAGE, "hotline keygen: unexpected '%s'",
				argv[optind]);
	if (out == NULL)
		return cli_fail(CLI_USAGE, "hotline keygen: --out FILE is "
					   "required");
	if (sodium_init() < 0)
		return cli_fail(CLI_USAGE, "libsodium did not start");
	bool tty = isatty(STDIN_FILENO) != 0;
	char *pass = sodium_malloc(HOTLINE_PASS_MAX + 2);
	char *again = sodium_malloc(HOTLINE_PASS_MAX + 2);
	int rc = CLI_OK;
	if (pass == NULL || again == NULL) {
		rc = cli_fail(CLI_USAGE, "out of memory");
		goto out;
	}
	long n = read_line("passphrase: ", pass, HOTLINE_PASS_MAX + 2, tty);
	if (n == -2 || n > HOTLINE_PASS_MAX) {
		rc = cli_fail(CLI_USAGE,
			      "hotline keygen: the passphrase is longer than "
			      "%d bytes",
			      HOTLINE_PASS_MAX);
		goto out;
	}
	if (n < HOTLINE_PASS_MIN) {
		rc = cli_fail(CLI_USAGE,
			      "hotline keygen: %s (at least %d bytes)",
			      n < 0 ? "no passphrase on stdin"
				    : "the passphrase is too short",
			      HOTLINE_PASS_MIN);
		goto out;
	}
	if (tty) {
		long m = read_line("again: ", again, HOTLINE_PASS_MAX + 2, tty);
		if (m != n || memcmp(pass, again, (size_t)n) != 0) {
			rc = cli_fail(CLI_USAGE, "hotline keygen: the two "
						 "passphrases differ");
			goto out;
		}
	}
	struct diag d;
	struct hotline_pub pub;
	if (hotline_keygen(out, pass, (size_t)n, kdf, &pub, &d) != ST_OK) {
		rc = cli_fail(CLI_USAGE, "hotline keygen: %s", d.msg);
		goto out;
	}
	char fp[HOTLINE_FP_TEXT], sign[NODEKEY_PUB_TEXT], box[NODEKEY_PUB_TEXT];
	hotline_fingerprint(&pub, fp);
	nodekey_pub_text(pub.sign_pk, sign);
	nodekey_pub_text(pub.box_pk, box);
	printf("wrote %s\n", out);
	printf("signing key     %s\n", sign);
	printf("encryption key  %s\n", box);
	printf("fingerprint     %s\n", fp);
out:
	sodium_free(pass);
	sodium_free(again);
	return rc;
}

int cmd_hotline(struct cli *c, int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		fputs(hotline_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_USAGE : CLI_OK;
	}
	if (strcmp(argv[1], "keygen") == 0)
		return keygen(c, argc - 1, argv + 1);
	int rc = hotline_msg_cmd(c, argc - 1, argv + 1);
	if (rc >= 0)
		return rc;
	fputs(hotline_usage, stderr);
	return cli_fail(CLI_USAGE, "hotline: unknown subcommand '%s'", argv[1]);
}
