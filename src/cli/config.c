/*
 * strait.yaml: a table of keys (config_keys) drives defaults, reading and
 * writing, so a new setting is one row. The file is read with libyaml; the
 * accepted shape is mappings of scalars, nested one level ("node: name:").
 */
#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

/* A list: a YAML sequence of scalars, or one scalar "a, b". */
#define LIST(name, field, def, help)                                     \
	{                                                                \
		name, offsetof(struct config, field),                    \
		    sizeof(((struct config *)0)->field), def, help, true \
	}

#define KEY(name, field, def, help)                                       \
	{                                                                 \
		name, offsetof(struct config, field),                     \
		    sizeof(((struct config *)0)->field), def, help, false \
	}

const struct config_key config_keys[] = {
    KEY("node.name", node_name, "", "the node's name, e.g. NCSC"),
    KEY("node.org", node_org, "", "the organisation running the node"),
    KEY("node.country", node_country, "", "ISO 3166-1 alpha-2 country code"),
    KEY("node.identity", node_identity, "",
	"the node's STIX identity id (set by init)"),
    KEY("store", store, "sqlite:strait.db",
	"store URL; relative paths are in the home"),
    KEY("default_tlp", default_tlp, "amber",
	"marking that unmarked objects take (clear, green, amber, "
	"amber+strict, red)"),
    KEY("listen", listen, "127.0.0.1:7400", "HTTP listen address"),
    KEY("federation.disk_reserve_mb", fed_disk_reserve_mb, "1024",
	"free disk space (MiB) kept for local work: below it, partners' "
	"writes get 503"),
    KEY("federation.peer_objects_per_minute", fed_peer_objects_per_min,
	"6000000",
	"objects each partner may send per minute (a burst of as many); "
	"past it, 429"),
    KEY("federation.max_response_mb", fed_max_response_mb, "64",
	"largest response read from a partner (a page of objects, a "
	"status), in MiB"),
    KEY("audit.max_mb", audit_max_mb, "0",
	"largest size of the audit log (MiB; 0: no cap): when it is full, "
	"reads and pushes of partner and liaison accounts are refused"),
    KEY("audit.head_interval_s", audit_head_interval_s, "60",
	"how often strait serve signs the audit log's head (when events "
	"were added) and publishes it to the partners, in seconds"),
    KEY("hotline.flash_ack_s", hl_ack[0], "300",
	"seconds a FLASH message waits for an acknowledgement before it "
	"escalates (counted here, from its receipt)"),
    KEY("hotline.immediate_ack_s", hl_ack[1], "1800", "the same for IMMEDIATE"),
    KEY("hotline.priority_ack_s", hl_ack[2], "10800", "the same for PRIORITY"),
    KEY("hotline.routine_ack_s", hl_ack[3], "86400", "the same for ROUTINE"),
    KEY("hotline.flash_per_minute", hl_flash_per_min, "30",
	"FLASH messages a partner's principal may send per minute"),
    KEY("hotline.profile_every_s", hl_profile_every_s, "30",
	"how often each partner's contact profile (its principals' keys) "
	"is fetched, in seconds"),
    KEY("hotline.escalation_hook", hl_hook, "",
	"a shell command run at each escalation (e.g. one that pages the "
	"duty officer); it gets STRAIT_HOTLINE_* variables, never a body"),
    KEY("lifecycle.half_life", lc_half_life, "",
	"confidence halves with every such age (e.g. 180d; s, m, h, d, w); "
	"empty: no decay (docs/LIFECYCLE.md)"),
    KEY("lifecycle.default_confidence", lc_default_confidence, "",
	"confidence of objects that state none (0 to 100); empty: none"),
    KEY("lifecycle.default_valid_for", lc_valid_for, "",
	"validity of indicators without valid_until, per collection, "
	"identity, partner or * (a mapping, or TARGET=DURATION, ...)"),
    LIST("feeds.allow_hosts", feed_allow_hosts, "",
	 "hosts strait feed may pull from besides loopback (127.0.0.0/8, "
	 "::1, localhost): names, *.suffix, addresses or CIDR prefixes"),
    KEY("feeds.max_response_mb", feed_max_response_mb, "64",
	"largest response read from a feed (a bundle, a CSV file, a MISP "
	"manifest or event), in MiB"),
    {NULL, 0, 0, NULL, NULL, false},
};

void config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	for (const struct config_key *k = config_keys; k->key; k++)
		snprintf((char *)cfg + k->offset, k->size, "%s", k->def);
}

static const struct config_key *find_key(const char *key)
{
	for (const struct config_key *k = config_keys; k->key; k++)
		if (strcmp(k->key, key) == 0)
			return k;
	return NULL;
}

int config_load(const char *path, struct config *cfg, struct diag *d)
{
	config_defaults(cfg);
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		if (errno == ENOENT)
			return diag_set(d, ST_ENOTFOUND, "no such file");
		return diag_set(d, ST_EIO, "cannot read: %s", strerror(errno));
	}
	yaml_parser_t p;
	yaml_event_t ev;
	int rc = ST_OK;
	char section[64] = "";
	char key[128] = "";
	bool have_key = false;
	int depth = 0;				/* mapping depth */
	const struct config_key *seq = NULL;	/* a list being read */
	const struct config_key *submap = NULL; /* a key whose value is a
						   mapping of scalars */
	yaml_parser_initialize(&p);
	yaml_parser_set_input_file(&p, f);
	for (;;) {
		if (!yaml_parser_parse(&p, &ev)) {
			rc = diag_set(d, ST_ECONFIG, "line %zu: %s",
				      p.problem_mark.line + 1,
				      p.problem ? p.problem : "YAML error");
			break;
		}
		size_t line = ev.start_mark.line + 1;
		bool end = ev.type == YAML_STREAM_END_EVENT;
		switch (ev.type) {
		case YAML_MAPPING_START_EVENT:
			if (depth == 2 && have_key && submap == NULL &&
			    strcmp(key, "lifecycle.default_valid_for") == 0) {
				/* kept as "TARGET=DURATION,..." */
				submap = find_key(key);
				((char *)cfg + submap->offset)[0] = '\0';
				have_key = false;
			} else if (depth == 1 && have_key) {
				snprintf(section, sizeof(section), "%s", key);
				have_key = false;
			} else if (depth >= 1) {
				rc = diag_set(d, ST_ECONFIG,
					      "line %zu: unexpected mapping",
					      line);
			}
			depth++;
			break;
		case YAML_MAPPING_END_EVENT:
			depth--;
			if (depth == 2)
				submap = NULL;
			if (depth == 1)
				section[0] = '\0';
			break;
		case YAML_SEQUENCE_START_EVENT:
			seq = have_key && seq == NULL ? find_key(key) : NULL;
			if (seq == NULL || !seq->list) {
				seq = NULL;
				rc = diag_set(d, ST_ECONFIG,
					      "line %zu: lists are not "
					      "expected here",
					      line);
				break;
			}
			((char *)cfg + seq->offset)[0] = '\0';
			have_key = false;
			break;
		case YAML_SEQUENCE_END_EVENT:
			seq = NULL;
			break;
		case YAML_SCALAR_EVENT: {
			const char *v = (const char *)ev.data.scalar.value;
			if (seq != NULL) {
				char *to = (char *)cfg + seq->offset;
				size_t n = strlen(to);
				if (n + ev.data.scalar.length + 3 > seq->size)
					rc = diag_set(d, ST_ECONFIG,
						      "line %zu: the list '%s' "
						      "is longer than %zu "
						      "bytes",
						      line, seq->key,
						      seq->size - 1);
				else
					snprintf(to + n, seq->size - n, "%s%s",
						 n ? ", " : "", v);
				break;
			}
			if (submap != NULL) {
				char *fld = (char *)cfg + submap->offset;
				size_t n = strlen(fld);
				if (n + ev.data.scalar.length + 2 >=
				    submap->size)
					rc =
					    diag_set(d, ST_ECONFIG,
						     "line %zu: '%s' is longer "
						     "than %zu bytes",
						     line, submap->key,
						     submap->size - 1);
				else
					snprintf(fld + n, submap->size - n,
						 "%s%s",
						 have_key ? "="
						 : n	  ? ","
							  : "",
						 v);
				have_key = !have_key;
				break;
			}
			if (!have_key) {
				if (section[0])
					snprintf(key, sizeof(key), "%s.%s",
						 section, v);
				else
					snprintf(key, sizeof(key), "%s", v);
				have_key = true;
				break;
			}
			have_key = false;
			const struct config_key *k = find_key(key);
			if (k == NULL) {
				rc = diag_set(d, ST_ECONFIG,
					      "line %zu: unknown key '%s'",
					      line, key);
				break;
			}
			if (ev.data.scalar.length >= k->size) {
				rc = diag_set(d, ST_ECONFIG,
					      "line %zu: value of '%s' is "
					      "longer than %zu bytes",
					      line, key, k->size - 1);
				break;
			}
			memcpy((char *)cfg + k->offset, v,
			       ev.data.scalar.length + 1);
			break;
		}
		default:
			break;
		}
		yaml_event_delete(&ev);
		if (end || rc != ST_OK)
			break;
	}
	yaml_parser_delete(&p);
	fclose(f);
	return rc;
}

static int emit_scalar(yaml_emitter_t *e, const char *s)
{
	yaml_event_t ev;
	yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s,
				     (int)strlen(s), 1, 1,
				     YAML_ANY_SCALAR_STYLE);
	return yaml_emitter_emit(e, &ev);
}

/* A list key's value, "a, b", as the flow sequence [a, b]. */
static int emit_list(yaml_emitter_t *e, const char *s)
{
	yaml_event_t ev;
	yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
					     YAML_FLOW_SEQUENCE_STYLE);
	int ok = yaml_emitter_emit(e, &ev);
	while (ok && *s != '\0') {
		size_t n = strcspn(s, ",");
		char item[512];
		const char *a = s, *b = s + n;
		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		snprintf(item, sizeof(item), "%.*s", (int)(b - a), a);
		if (item[0] != '\0')
			ok = emit_scalar(e, item);
		s += n + (s[n] == ',');
	}
	yaml_sequence_end_event_initialize(&ev);
	return ok && yaml_emitter_emit(e, &ev);
}

static int emit_mapping(yaml_emitter_t *e, bool start)
{
	yaml_event_t ev;
	if (start)
		yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
						    YAML_BLOCK_MAPPING_STYLE);
	else
		yaml_mapping_end_event_initialize(&ev);
	return yaml_emitter_emit(e, &ev);
}

static int write_yaml(FILE *f, const struct config *cfg)
{
	yaml_emitter_t e;
	yaml_event_t ev;
	int ok = yaml_emitter_initialize(&e);
	yaml_emitter_set_output_file(&e, f);
	yaml_emitter_set_unicode(&e, 1);
	yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
	ok = ok && yaml_emitter_emit(&e, &ev);
	yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
	ok = ok && yaml_emitter_emit(&e, &ev);
	ok = ok && emit_mapping(&e, true);
	char section[64] = "";
	for (const struct config_key *k = config_keys; ok && k->key; k++) {
		const char *dot = strchr(k->key, '.');
		const char *val = (const char *)cfg + k->offset;
		char sec[64] = "";
		if (dot != NULL)
			snprintf(sec, sizeof(sec), "%.*s", (int)(dot - k->key),
				 k->key);
		if (strcmp(sec, section) != 0) {
			if (section[0])
				ok = ok && emit_mapping(&e, false);
			if (sec[0]) {
				ok = ok && emit_scalar(&e, sec) &&
				     emit_mapping(&e, true);
			}
			snprintf(section, sizeof(section), "%s", sec);
		}
		ok = ok && emit_scalar(&e, dot ? dot + 1 : k->key) &&
		     (k->list ? emit_list(&e, val) : emit_scalar(&e, val));
	}
	if (section[0])
		ok = ok && emit_mapping(&e, false);
	ok = ok && emit_mapping(&e, false);
	yaml_document_end_event_initialize(&ev, 1);
	ok = ok && yaml_emitter_emit(&e, &ev);
	yaml_stream_end_event_initialize(&ev);
	ok = ok && yaml_emitter_emit(&e, &ev);
	ok = ok && yaml_emitter_flush(&e);
	yaml_emitter_delete(&e);
	return ok ? ST_OK : ST_EIO;
}

int config_save(const char *path, const struct config *cfg, struct diag *d)
{
	char tmp[4200];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return diag_set(d, ST_EIO, "%s: %s", tmp, strerror(errno));
	FILE *f = fdopen(fd, "w");
	if (f == NULL) {
		close(fd);
		return diag_set(d, ST_EIO, "%s: %s", tmp, strerror(errno));
	}
	fputs("# strait node configuration (see docs/OPERATING.md)\n", f);
	int rc = write_yaml(f, cfg);
	if (rc == ST_OK && (fflush(f) != 0 || fsync(fd) != 0))
		rc = ST_EIO;
	if (fclose(f) != 0)
		rc = ST_EIO;
	if (rc == ST_OK && rename(tmp, path) != 0)
		rc = ST_EIO;
	if (rc != ST_OK) {
		unlink(tmp);
		return diag_set(d, rc, "cannot write %s: %s", path,
				strerror(errno));
	}
	return ST_OK;
}
