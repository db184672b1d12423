/*
 * strait: telemetry readers. Zeek logs (JSON lines or Zeek's TSV) and
 * Suricata EVE JSON become one STIX observation per record, built from
 * SCOs the pattern matcher understands.
 *
 * A reader is opened once and reused for many inputs (files, a directory,
 * a file descriptor or a request body in memory). Each record is handed to
 * a callback as a struct tel_record: a pat_observation (first_observed =
 * last_observed = the record's time, number_observed 1, id NULL) whose
 * SCOs are keyed "0", "1", ... as in observed-data's objects container,
 * plus the context a sighting needs (source, line, kind, time, which SCOs
 * are local addresses). Everything in a record lives until the callback
 * returns: copy what you keep.
 *
 * What a record becomes:
 *   every kind   ipv4-addr / ipv6-addr of both ends (src first), and a
 *                network-traffic with src_ref, dst_ref, ports, protocols
 *                (["ipv4"|"ipv6", transport, application...], lowercase;
 *                Zeek's "ssl" is written "tls")
 *   conn, flow   + start, end, byte and packet counts
 *   dns          + domain-name of the query, resolves_to_refs to the
 *                answer addresses (and CNAME names, as domain-names)
 *   http         + http-request-ext on the network-traffic, domain-name
 *                of the host, url "http://host/uri" (scheme and host
 *                lowercased, default port dropped, %xx in capitals)
 *   ssl, tls     + domain-name of the server name, x509-certificate when
 *                the log has certificate fields
 *   files        file with name, size, mime_type and hashes {"MD5",
 *                "SHA-1", "SHA-256"}
 *   x509         x509-certificate (serial_number, subject, issuer,
 *                validity_not_before/after, version, algorithms, hashes)
 *   alert        the SCOs of whatever the event carries (http, dns, ...)
 * Addresses are validated (IPv6 written in RFC 5952 form), domain names
 * lowercased without a final dot, hashes in lowercase hex; certificate
 * serials and names are kept as the log writes them.
 *
 * The format is detected per input from its first non-blank byte: '#'
 * starts Zeek's TSV headers; anything else is read as JSON lines (through
 * json_lines, simdjson's document stream), each line an EVE event if it
 * has "event_type", else a Zeek record. A Zeek log's kind comes from
 * #path or "_path", else the file name ("conn.log", "dns.*.log.json"),
 * else the fields present.
 *
 * Malformed lines (bad JSON or TSV, missing or bad ts, an address that is
 * not one, a field of the wrong type, a line over the length limit) are
 * counted, reported with the source name and line number, and skipped;
 * reading goes on. Only I/O errors and exhaustion of memory stop a read.
 * Valid records with nothing to observe (Suricata's stats, Zeek's
 * loaded_scripts.log, a DNS query that is not a plausible name and has no
 * endpoints...) are counted as skipped.
 */
#ifndef STRAIT_TELEMETRY_TELEMETRY_H
#define STRAIT_TELEMETRY_TELEMETRY_H

#include "common/err.h"
#include "common/ip.h"
#include "common/time.h"
#include "pattern/pattern.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------ */
/* Records                                                              */
/* ------------------------------------------------------------------ */

/* What a record is about. Suricata's flow/netflow events count as conn,
 * tls as ssl, fileinfo as files. */
enum tel_kind {
	TEL_KIND_CONN,
	TEL_KIND_DNS,
	TEL_KIND_HTTP,
	TEL_KIND_SSL,
	TEL_KIND_FILES,
	TEL_KIND_X509,
	TEL_KIND_ALERT,
	TEL_KIND_OTHER, /* any other log with endpoints (smtp, ssh, ...) */
	TEL_KIND__COUNT,
};

/* Bit of a kind in tel_options.kinds. */
#define TEL_KIND_BIT(k) (1u << (k))

enum tel_format {
	TEL_FMT_AUTO,	   /* from the first non-blank byte of each input */
	TEL_FMT_ZEEK_JSON, /* Zeek, one JSON object per line */
	TEL_FMT_ZEEK_TSV,  /* Zeek's default TSV with #fields headers */
	TEL_FMT_EVE,	   /* Suricata EVE JSON */
};

/* Roles of an SCO in its record (bits; an address can have several). */
#define TEL_ROLE_SRC 0x01u     /* originator / source address */
#define TEL_ROLE_DST 0x02u     /* responder / destination address */
#define TEL_ROLE_TRAFFIC 0x04u /* the network-traffic */
#define TEL_ROLE_QUERY 0x08u   /* the DNS query name */
#define TEL_ROLE_ANSWER 0x10u  /* a DNS answer (address or name) */
#define TEL_ROLE_HOST 0x20u    /* HTTP host or TLS server name */
#define TEL_ROLE_URL 0x40u
#define TEL_ROLE_FILE 0x80u
#define TEL_ROLE_CERT 0x100u

/* What the matcher does not need but a sighting does, per SCO. */
struct tel_sco_info {
	unsigned roles; /* TEL_ROLE_* */
	/* An address inside the local networks (tel_options.local_nets, or
	 * Zeek's local_orig/local_resp): it must never leave the node. */
	bool local;
	/* The object refers to a local address (a network-traffic between
	 * local and remote, a domain resolving to a local address): never
	 * share the object itself. */
	bool refs_local;
	/* The SCO's value property (address, domain name, URL), NUL-
	 * terminated; NULL for network-traffic, file and certificate. */
	const char *value;
	uint32_t value_len;
};

struct tel_record {
	/* The observation, SCOs in obs.objects[0 .. obs.n_objects). */
	struct pat_observation obs;
	/* obs.n_objects entries, parallel to obs.objects. */
	const struct tel_sco_info *info;
	enum tel_kind kind;
	enum tel_format format; /* never TEL_FMT_AUTO */
	const char *source;	/* file name or the name given for the input */
	uint64_t line;		/* 1-based line number in source */
	st_time ts;		/* the record's time (also in obs) */
	/* Zeek's uid (fuid for files and x509) or Suricata's flow_id in
	 * decimal; NULL when the record has none. */
	const char *uid;
};

/*
 * The value of SCO i that may be quoted in data shared with partners (a
 * sighting's "what matched"): the address, domain name or URL, or NULL
 * when SCO i is a local address or has no single value. Never share the
 * SCO objects of a record as they are: they name both ends of a flow.
 */
const char *tel_sco_value(const struct tel_record *r, size_t i, size_t *len);

/* "conn", "dns", "http", "ssl", "files", "x509", "alert", "other". */
const char *tel_kind_name(enum tel_kind k);
/* "zeek-json", "zeek-tsv", "eve", "auto". */
const char *tel_format_name(enum tel_format f);

/* ------------------------------------------------------------------ */
/* Readers                                                              */
/* ------------------------------------------------------------------ */

/*
 * Called for each record, in input order. Return 0 to go on; any other
 * value stops the read, and the tel_read_* function returns it (use
 * positive values to tell them from strait's error codes).
 */
typedef int (*tel_record_fn)(void *ctx, const struct tel_record *r);

/* Called for each malformed line (line 0: the input as a whole, e.g. a
 * file of a directory that cannot be opened). msg is "why", without the
 * source and line. */
typedef void (*tel_error_fn)(void *ctx, const char *source, uint64_t line,
			     int err, const char *msg);

struct tel_options {
	enum tel_format format; /* TEL_FMT_AUTO to detect per input */
	size_t max_line;	/* longer lines are reported and skipped */
	uint32_t max_scos;	/* SCOs per record (at most 64); more are
				   dropped and the record counted truncated */
	size_t max_record_mem;	/* bytes of SCO trees per record */
	/* Records of other kinds are skipped (and, by tel_read_dir, files
	 * whose name says another kind); 0 means every kind. */
	unsigned kinds;
	/* Local networks. NULL with n_local_nets 0 means the defaults:
	 * 10/8, 172.16/12, 192.168/16, 100.64/10, 127/8, 169.254/16,
	 * fc00::/7, fe80::/10, ::1. With no_default_local_nets set and no
	 * list, only Zeek's local_orig/local_resp mark addresses local. */
	const struct ip_prefix *local_nets;
	size_t n_local_nets;
	bool no_default_local_nets;
	/* Malformed lines go here; NULL logs the first few per input (and
	 * a count at its end) with log_warn. */
	tel_error_fn on_error;
	void *error_ctx;
};

/* 1 MiB lines, 32 SCOs, 4 MiB per record, every kind, default local
 * networks, errors logged. */
extern const struct tel_options TEL_OPTIONS_DEFAULT;

/* Counters, summed over every input a reader has read. */
struct tel_stats {
	uint64_t inputs;    /* files, descriptors or buffers read */
	uint64_t bytes;	    /* bytes read */
	uint64_t lines;	    /* lines seen (headers and blank ones too) */
	uint64_t records;   /* records delivered */
	uint64_t malformed; /* lines reported (too_long included) */
	uint64_t too_long;  /* lines over max_line */
	uint64_t skipped;   /* valid records with nothing to observe (EVE
			       stats, ...) or of a kind not asked for */
	uint64_t truncated; /* records that had more than max_scos SCOs */
	uint64_t by_kind[TEL_KIND__COUNT]; /* records delivered per kind */
};

struct tel_reader;

/*
 * A reader and its buffers: about 8 MiB, up to 15 times max_line more once
 * lines that long have been parsed. Records are built in an arena reset
 * for each one; nothing is allocated per record once the first few have
 * been read. A reader is used by one thread at a time. opt NULL means
 * TEL_OPTIONS_DEFAULT; it is copied, but local_nets must outlive the
 * reader. ST_EINVAL for options out of range, ST_ENOMEM.
 */
int tel_reader_new(const struct tel_options *opt, struct tel_reader **out,
		   struct diag *d);
/* tel_reader_free(NULL) is a no-op. */
void tel_reader_free(struct tel_reader *r);

/*
 * Read one input to its end, calling fn for each record. name is what
 * records and error reports call the input; a file name also hints the
 * log kind ("conn.log", "dns.2024-01-01.log.json"). Returns ST_OK, fn's
 * non-zero return, ST_EIO (with d saying which input; what was read until
 * then was delivered) or ST_ENOMEM.
 */
int tel_read_file(struct tel_reader *r, const char *path, tel_record_fn fn,
		  void *ctx, struct diag *d);
/* fd is read to its end and not closed. */
int tel_read_fd(struct tel_reader *r, int fd, const char *name,
		tel_record_fn fn, void *ctx, struct diag *d);
/* data is not modified (a request body, e.g. POST /api/v1/telemetry). */
int tel_read_mem(struct tel_reader *r, const void *data, size_t len,
		 const char *name, tel_record_fn fn, void *ctx, struct diag *d);

/*
 * Reads the Zeek and Suricata logs of a directory (not its
 * subdirectories): regular files named *.log, *.log.json or *.json, in
 * name order, skipping files whose name says a kind not in
 * tel_options.kinds. A file that cannot be opened is reported (line 0)
 * and skipped. Returns ST_OK, fn's non-zero return, ST_ENOTFOUND or
 * ST_EIO for the directory itself, ST_ENOMEM.
 */
int tel_read_dir(struct tel_reader *r, const char *dir, tel_record_fn fn,
		 void *ctx, struct diag *d);

/* The counters so far (borrowed; live as long as the reader). */
const struct tel_stats *tel_reader_stats(const struct tel_reader *r);
void tel_reader_reset_stats(struct tel_reader *r);

#endif
