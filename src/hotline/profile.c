/*
 * strait: a node's contact profile (RFC 2350 in spirit): the team, from
 * <home>/contacts.yaml, and the hotline principals enrolled here with
 * their public keys, fingerprints and escalation chains. Partners fetch
 * it (GET /api/v1/contacts/); `strait contacts` shows what they published.
 */
#include "hotline/node.h"

#include "common/json.h"
#include "common/secfile.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define CONTACTS_MAX (64 << 10)

/* The keys contacts.yaml may hold; each a text or a list of texts. */
static const char *const team_keys[] = {
    "team",  "time_zone",    "languages", "hours",   "email",
    "phone", "emergency",    "address",	  "website", "notes",
    "pgp",   "constituency", "contacts",
};

static bool team_key(const char *k)
{
	for (size_t i = 0; i < sizeof(team_keys) / sizeof(team_keys[0]); i++)
		if (strcmp(k, team_keys[i]) == 0)
			return true;
	return false;
}

/* contacts.yaml as the "team" object of the profile. A missing file is an
 * empty team. */
static int team_json(const char *home, struct jw *w, struct diag *d)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/contacts.yaml", home);
	FILE *f = fopen(path, "rb");
	jw_key(w, "team");
	jw_obj_open(w);
	if (f == NULL) {
		jw_obj_close(w);
		return ST_OK;
	}
	char *text = malloc(CONTACTS_MAX + 1);
	size_t n = text != NULL ? fread(text, 1, CONTACTS_MAX + 1, f) : 0;
	fclose(f);
	if (text == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	if (n > CONTACTS_MAX) {
		free(text);
		return diag_set(d, ST_ELIMIT, "%s: larger than %d bytes", path,
				CONTACTS_MAX);
	}
	yaml_parser_t p;
	yaml_event_t ev;
	int rc = ST_OK, depth = 0;
	bool in_list = false, want_key = true;
	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, (const unsigned char *)text, n);
	for (bool end = false; !end && rc == ST_OK;) {
		if (!yaml_parser_parse(&p, &ev)) {
			rc = diag_set(d, ST_EINVAL, "%s:%zu: %s", path,
				      p.problem_mark.line + 1,
				      p.problem ? p.problem : "bad YAML");
			break;
		}
		size_t line = ev.start_mark.line + 1;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			end = true;
			break;
		case YAML_MAPPING_START_EVENT:
			if (++depth != 1)
				rc = diag_set(d, ST_EINVAL,
					      "%s:%zu: a value is a text or a "
					      "list of texts",
					      path, line);
			break;
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		case YAML_SEQUENCE_START_EVENT:
			if (depth != 1 || want_key || in_list)
				rc = diag_set(d, ST_EINVAL,
					      "%s:%zu: a list only as a value",
					      path, line);
			else {
				in_list = true;
				jw_arr_open(w);
			}
			break;
		case YAML_SEQUENCE_END_EVENT:
			in_list = false;
			want_key = true;
			jw_arr_close(w);
			break;
		case YAML_SCALAR_EVENT: {
			const char *v = (const char *)ev.data.scalar.value;
			if (depth != 1) {
				rc = diag_set(d, ST_EINVAL,
					      "%s:%zu: expected key: value "
					      "lines",
					      path, line);
			} else if (in_list) {
				jw_str(w, v);
			} else if (want_key) {
				if (!team_key(v))
					rc = diag_set(d, ST_EINVAL,
						      "%s:%zu: unknown key "
						      "'%s'",
						      path, line, v);
				else
					jw_key(w, v);
				want_key = false;
			} else {
				jw_str(w, v);
				want_key = true;
			}
			break;
		}
		case YAML_ALIAS_EVENT:
			rc = diag_set(d, ST_EINVAL, "%s:%zu: no aliases", path,
				      line);
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	free(text);
	jw_obj_close(w);
	return rc;
}

struct principals_ctx {
	struct jw *w;
};

static void hex32(struct jw *w, const char *key, const uint8_t *b)
{
	char hex[65];
	sodium_bin2hex(hex, sizeof(hex), b, 32);
	jw_key(w, key);
	jw_str(w, hex);
}

static int principal_json(void *ctx, const struct hl_principal *p)
{
	struct jw *w = ((struct principals_ctx *)ctx)->w;
	jw_obj_open(w);
	jw_key(w, "address");
	jw_str(w, p->addr);
	jw_key(w, "title");
	jw_str(w, p->title);
	hex32(w, "sign_pk", p->key.sign_pk);
	hex32(w, "box_pk", p->key.box_pk);
	jw_key(w, "fingerprint");
	jw_str(w, p->fp);
	for (int l = 0; l < 2; l++) {
		jw_key(w, l == 0 ? "deputies" : "duty");
		jw_arr_open(w);
		for (size_t i = 0; i < p->nchain[l]; i++)
			jw_str(w, p->chain[l][i]);
		jw_arr_close(w);
	}
	jw_obj_close(w);
	return ST_OK;
}

int hl_profile_json(const char *home, struct hl_db *db, const char *identity,
		    const char *name, const char *country, struct buf *out,
		    struct diag *d)
{
	struct jw w;
	jw_init(&w, out);
	jw_obj_open(&w);
	jw_key(&w, "node");
	jw_obj_open(&w);
	jw_key(&w, "identity");
	jw_str(&w, identity);
	jw_key(&w, "name");
	jw_str(&w, name ? name : "");
	jw_key(&w, "country");
	jw_str(&w, country ? country : "");
	jw_obj_close(&w);
	int rc = team_json(home, &w, d);
	if (rc != ST_OK)
		return rc;
	jw_key(&w, "principals");
	jw_arr_open(&w);
	struct principals_ctx pc = {&w};
	rc = hl_principal_list(db, "", principal_json, &pc, d);
	if (rc != ST_OK)
		return rc;
	jw_arr_close(&w);
	jw_obj_close(&w);
	rc = jw_finish(&w);
	return rc == ST_OK ? ST_OK : diag_set(d, rc, "profile too large");
}
