/*
 * strait: joint incidents, their entries and their state; see incident.h.
 */
#include "coop/incident.h"

#include "common/json.h"
#include "common/sqlschema.h"
#include "common/utf8.h"
#include "common/uuid.h"

#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct inc_db {
	sqlite3 *db;
	pthread_mutex_t mu;
	char path[PATH_MAX];
};

static const struct sql_migration migrations[] = {
    {1, "CREATE TABLE entries(id TEXT PRIMARY KEY, incident TEXT NOT NULL,"
	" at INTEGER NOT NULL, kind INTEGER NOT NULL, json TEXT NOT NULL)"
	" WITHOUT ROWID;"
	"CREATE INDEX entries_incident ON entries(incident, at, id);"},
};
#define NMIGRATIONS (sizeof(migrations) / sizeof(migrations[0]))

static const char *const kind_names[] = {"open",   "note", "task",  "decision",
					 "status", "link", "title", "severity"};
static const char *const status_names[] = {"open", "contained", "closed"};
static const char *const severity_names[] = {"low", "medium", "high",
					     "critical"};
#define N(a) (sizeof(a) / sizeof((a)[0]))

const char *inc_kind_name(enum inc_kind k)
{
	return (unsigned)k < N(kind_names) ? kind_names[k] : NULL;
}
const char *inc_status_name(enum inc_status s)
{
	return (unsigned)s < N(status_names) ? status_names[s] : NULL;
}
const char *inc_severity_name(enum inc_severity s)
{
	return (unsigned)s < N(severity_names) ? severity_names[s] : NULL;
}

static int parse_name(const char *const *v, size_t n, const char *s,
		      unsigned *out)
{
	for (size_t i = 0; s != NULL && i < n; i++)
		if (strcasecmp(s, v[i]) == 0) {
			*out = (unsigned)i;
			return ST_OK;
		}
	return ST_EINVAL;
}
int inc_kind_parse(const char *s, enum inc_kind *out)
{
	unsigned v;
	int rc = parse_name(kind_names, N(kind_names), s, &v);
	if (rc == ST_OK)
		*out = (enum inc_kind)v;
	return rc;
}
int inc_status_parse(const char *s, enum inc_status *out)
{
	unsigned v;
	int rc = parse_name(status_names, N(status_names), s, &v);
	if (rc == ST_OK)
		*out = (enum inc_status)v;
	return rc;
}
int inc_severity_parse(const char *s, enum inc_severity *out)
{
	unsigned v;
	int rc = parse_name(severity_names, N(severity_names), s, &v);
	if (rc == ST_OK)
		*out = (enum inc_severity)v;
	return rc;
}

int inc_db_open(const char *home, struct inc_db **out, struct diag *d)
{
	*out = NULL;
	struct inc_db *db = calloc(1, sizeof(*db));
	if (db == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	pthread_mutex_init(&db->mu, NULL);
	snprintf(db->path, sizeof(db->path), "%s/coop.db", home);
	int rc = sql_open_private(db->path, "joint incidents", migrations,
				  NMIGRATIONS, &db->db, d);
	if (rc != ST_OK) {
		inc_db_close(db);
		return rc;
	}
	*out = db;
	return ST_OK;
}

void inc_db_close(struct inc_db *db)
{
	if (db == NULL)
		return;
	sqlite3_close(db->db);
	pthread_mutex_destroy(&db->mu);
	free(db);
}

/* ---- checks ---- */

static bool uuid_ok(const char *s)
{
	uint8_t u[16];
	return strlen(s) == INC_ID_LEN &&
	       uuid_parse(s, INC_ID_LEN, false, u) == ST_OK;
}

static bool addr_ok(const char *s, size_t *node_len)
{
	const char *slash = strchr(s, '/');
	char type[STIX_TYPE_MAX];
	uint8_t u[16];
	if (slash == NULL || (size_t)(slash - s) >= STIX_ID_MAX ||
	    stix_parse_id(s, (size_t)(slash - s), type, u) != ST_OK ||
	    strcmp(type, "identity") != 0)
		return false;
	size_t n = strlen(slash + 1);
	if (n == 0 || n > 64)
		return false;
	for (const char *p = slash + 1; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      *p == '.' || *p == '_' || *p == '-'))
			return false;
	if (node_len != NULL)
		*node_len = (size_t)(slash - s);
	return true;
}

static bool text_ok(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);
	return n <= max && utf8_invalid_offset(s, n) < 0;
}

int inc_entry_check(const struct inc_entry *e, struct diag *d)
{
	if (!uuid_ok(e->id))
		return diag_set(d, ST_EINVAL, "entry id: not a UUID");
	if (!uuid_ok(e->incident))
		return diag_set(d, ST_EINVAL, "incident: not a UUID");
	if (!addr_ok(e->author, NULL))
		return diag_set(d, ST_EINVAL,
				"author: not an address (identity--.../name)");
	if (inc_kind_name(e->kind) == NULL)
		return diag_set(d, ST_EINVAL, "kind: out of range");
	if (!text_ok(e->text, INC_TEXT_MAX) ||
	    !text_ok(e->owner, sizeof(e->owner) - 1))
		return diag_set(d, ST_EINVAL,
				"text or owner: too long or not UTF-8");
	if (inc_status_name(e->status) == NULL ||
	    inc_severity_name(e->severity) == NULL || tlp_name(e->tlp) == NULL)
		return diag_set(d, ST_EINVAL,
				"status, severity or tlp: out of range");
	switch (e->kind) {
	case INC_OPEN:
		if (e->text[0] == '\0' || strlen(e->text) > INC_TITLE_MAX)
			return diag_set(d, ST_EINVAL, "title: 1 to %d bytes",
					INC_TITLE_MAX);
		if (e->nnodes < 2 || e->nnodes > INC_MAX_NODES)
			return diag_set(d, ST_EINVAL,
					"participants: 2 to %d nodes",
					INC_MAX_NODES);
		for (size_t i = 0; i < e->nnodes; i++) {
			char type[STIX_TYPE_MAX];
			uint8_t u[16];
			if (stix_parse_id(e->nodes[i], strlen(e->nodes[i]),
					  type, u) != ST_OK ||
			    strcmp(type, "identity") != 0)
				return diag_set(d, ST_EINVAL,
						"participants[%zu]: not an "
						"identity id",
						i);
		}
		break;
	case INC_NOTE:
	case INC_DECISION:
	case INC_TASK:
	case INC_TITLE:
		if (e->text[0] == '\0')
			return diag_set(d, ST_EINVAL, "%s: no text",
					inc_kind_name(e->kind));
		break;
	case INC_LINK:
		if (e->stix[0] != '\0') {
			char type[STIX_TYPE_MAX];
			uint8_t u[16];
			if (stix_parse_id(e->stix, strlen(e->stix), type, u) !=
			    ST_OK)
				return diag_set(d, ST_EINVAL,
						"stix: not a STIX id");
		}
		break;
	default:
		break;
	}
	return ST_OK;
}

/* ---- JSON ---- */

void inc_entry_json(struct jw *w, const struct inc_entry *e)
{
	char ts[TS_BUFSZ];
	jw_obj_open(w);
	jw_key(w, "id");
	jw_str(w, e->id);
	jw_key(w, "incident");
	jw_str(w, e->incident);
	ts_format(e->at, ts);
	jw_key(w, "at");
	jw_str(w, ts);
	jw_key(w, "author");
	jw_str(w, e->author);
	jw_key(w, "kind");
	jw_str(w, inc_kind_name(e->kind));
	if (e->text[0]) {
		jw_key(w, "text");
		jw_str(w, e->text);
	}
	switch (e->kind) {
	case INC_OPEN:
		jw_key(w, "severity");
		jw_str(w, inc_severity_name(e->severity));
		jw_key(w, "tlp");
		jw_str(w, tlp_name(e->tlp));
		jw_key(w, "participants");
		jw_arr_open(w);
		for (size_t i = 0; i < e->nnodes; i++)
			jw_str(w, e->nodes[i]);
		jw_arr_close(w);
		break;
	case INC_TASK:
		jw_key(w, "owner");
		jw_str(w, e->owner);
		if (e->due) {
			ts_format(e->due, ts);
			jw_key(w, "due");
			jw_str(w, ts);
		}
		break;
	case INC_STATUS:
		jw_key(w, "status");
		jw_str(w, inc_status_name(e->status));
		break;
	case INC_SEVERITY:
		jw_key(w, "severity");
		jw_str(w, inc_severity_name(e->severity));
		break;
	case INC_LINK:
		jw_key(w, "stix");
		if (e->stix[0])
			jw_str(w, e->stix);
		else
			jw_null(w);
		break;
	default:
		break;
	}
	jw_obj_close(w);
}

static bool str_field(const struct json_val *o, const char *key, char *out,
		      size_t cap, bool required)
{
	const struct json_val *v = json_get(o, key);
	if (v == NULL || v->type == JSON_NULL) {
		out[0] = '\0';
		return !required;
	}
	if (v->type != JSON_STRING || v->len >= cap ||
	    memchr(v->u.str, '\0', v->len) != NULL)
		return false;
	memcpy(out, v->u.str, v->len);
	out[v->len] = '\0';
	return true;
}

int inc_entry_parse(const struct json_val *v, struct inc_entry *e,
		    struct diag *d)
{
	memset(e, 0, sizeof(*e));
	char s[64];
	if (v == NULL || v->type != JSON_OBJECT)
		return diag_set(d, ST_EINVAL, "an entry is a JSON object");
	if (!str_field(v, "id", e->id, sizeof(e->id), true) ||
	    !str_field(v, "incident", e->incident, sizeof(e->incident), true) ||
	    !str_field(v, "author", e->author, sizeof(e->author), true) ||
	    !str_field(v, "text", e->text, sizeof(e->text), false) ||
	    !str_field(v, "owner", e->owner, sizeof(e->owner), false) ||
	    !str_field(v, "stix", e->stix, sizeof(e->stix), false))
		return diag_set(d, ST_EINVAL,
				"id, incident, author, text, owner or stix: "
				"missing, too long or not a string");
	if (!str_field(v, "kind", s, sizeof(s), true) ||
	    inc_kind_parse(s, &e->kind) != ST_OK)
		return diag_set(d, ST_EINVAL, "kind: not a known one");
	if (!str_field(v, "at", s, sizeof(s), true) ||
	    ts_parse(s, strlen(s), &e->at, NULL) != ST_OK)
		return diag_set(d, ST_EINVAL, "at: not a timestamp");
	if (str_field(v, "due", s, sizeof(s), false) && s[0] &&
	    ts_parse(s, strlen(s), &e->due, NULL) != ST_OK)
		return diag_set(d, ST_EINVAL, "due: not a timestamp");
	if (str_field(v, "status", s, sizeof(s), false) && s[0] &&
	    inc_status_parse(s, &e->status) != ST_OK)
		return diag_set(d, ST_EINVAL,
				"status: open, contained or "
				"closed");
	if (str_field(v, "severity", s, sizeof(s), false) && s[0] &&
	    inc_severity_parse(s, &e->severity) != ST_OK)
		return diag_set(d, ST_EINVAL,
				"severity: low, medium, high or critical");
	enum tlp t = TLP_AMBER;
	if (str_field(v, "tlp", s, sizeof(s), false) && s[0] &&
	    tlp_parse(s, &t) != ST_OK)
		return diag_set(d, ST_EINVAL, "tlp: not a TLP level");
	e->tlp = (uint8_t)t;
	const struct json_val *p = json_get(v, "participants");
	if (p != NULL) {
		if (p->type != JSON_ARRAY || p->len > INC_MAX_NODES)
			return diag_set(d, ST_EINVAL,
					"participants: at most %d",
					INC_MAX_NODES);
		for (uint32_t i = 0; i < p->len; i++) {
			const struct json_val *x = &p->u.items[i];
			if (x->type != JSON_STRING || x->len >= STIX_ID_MAX)
				return diag_set(d, ST_EINVAL,
						"participants[%u]: not an id",
						(unsigned)i);
			memcpy(e->nodes[i], x->u.str, x->len);
			e->nodes[i][x->len] = '\0';
		}
		e->nnodes = p->len;
	}
	return inc_entry_check(e, d);
}

void inc_state_json(struct jw *w, const struct inc_state *s)
{
	char ts[TS_BUFSZ];
	jw_obj_open(w);
	jw_key(w, "id");
	jw_str(w, s->id);
	jw_key(w, "title");
	jw_str(w, s->title);
	jw_key(w, "status");
	jw_str(w, inc_status_name(s->status));
	jw_key(w, "severity");
	jw_str(w, inc_severity_name(s->severity));
	jw_key(w, "tlp");
	jw_str(w, tlp_name(s->tlp));
	jw_key(w, "participants");
	jw_arr_open(w);
	for (size_t i = 0; i < s->nnodes; i++)
		jw_str(w, s->nodes[i]);
	jw_arr_close(w);
	jw_key(w, "creator");
	jw_str(w, s->creator);
	ts_format(s->opened, ts);
	jw_key(w, "opened");
	jw_str(w, ts);
	ts_format(s->updated, ts);
	jw_key(w, "updated");
	jw_str(w, ts);
	jw_key(w, "entries");
	jw_int(w, (int64_t)s->entries);
	jw_obj_close(w);
}

/* ---- storage ---- */

int inc_entry_put(struct inc_db *db, const struct inc_entry *e, bool *dup,
		  struct diag *d)
{
	*dup = false;
	int rc = inc_entry_check(e, d);
	if (rc != ST_OK)
		return rc;
	struct buf b = BUF_INIT(64 << 10);
	struct jw w;
	jw_init(&w, &b);
	inc_entry_json(&w, e);
	if ((rc = jw_finish(&w)) != ST_OK) {
		buf_free(&b);
		return diag_set(d, rc, "entry too large");
	}
	sqlite3_stmt *st = NULL;
	pthread_mutex_lock(&db->mu);
	if (sqlite3_exec(db->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK) {
		rc = sql_diag(db->db, d, db->path);
		goto out;
	}
	if (e->kind != INC_OPEN) {
		if (sqlite3_prepare_v2(db->db,
				       "SELECT 1 FROM entries WHERE incident ="
				       " ?1 AND kind = 0",
				       -1, &st, NULL) != SQLITE_OK)
			rc = sql_diag(db->db, d, db->path);
		else {
			sqlite3_bind_text(st, 1, e->incident, -1,
					  SQLITE_STATIC);
			if (sqlite3_step(st) != SQLITE_ROW)
				rc = diag_set(d, ST_ENOTFOUND,
					      "no incident %s here",
					      e->incident);
		}
		sqlite3_finalize(st);
		st = NULL;
	}
	if (rc == ST_OK &&
	    sqlite3_prepare_v2(db->db,
			       "INSERT OR IGNORE INTO entries(id, incident, at,"
			       " kind, json) VALUES(?1, ?2, ?3, ?4, ?5)",
			       -1, &st, NULL) != SQLITE_OK)
		rc = sql_diag(db->db, d, db->path);
	if (rc == ST_OK) {
		sqlite3_bind_text(st, 1, e->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, e->incident, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, e->at);
		sqlite3_bind_int(st, 4, (int)e->kind);
		sqlite3_bind_text(st, 5, b.data, (int)b.len, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = sql_diag(db->db, d, db->path);
		else
			*dup = sqlite3_changes(db->db) == 0;
	}
	sqlite3_finalize(st);
	if (rc == ST_OK &&
	    sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		rc = sql_diag(db->db, d, db->path);
	if (rc != ST_OK)
		sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
out:
	pthread_mutex_unlock(&db->mu);
	buf_free(&b);
	return rc;
}

int inc_entries(struct inc_db *db, const char *incident, inc_entry_fn fn,
		void *ctx, struct diag *d)
{
	sqlite3_stmt *st = NULL;
	struct inc_entry *v = NULL;
	size_t n = 0, cap = 0;
	int rc = ST_OK;
	struct json_doc *doc = json_doc_new();
	if (doc == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	pthread_mutex_lock(&db->mu);
	if (sqlite3_prepare_v2(db->db,
			       "SELECT json FROM entries WHERE incident = ?1"
			       " ORDER BY at, id",
			       -1, &st, NULL) != SQLITE_OK)
		rc = sql_diag(db->db, d, db->path);
	else
		sqlite3_bind_text(st, 1, incident, -1, SQLITE_STATIC);
	while (rc == ST_OK && sqlite3_step(st) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			struct inc_entry *g = realloc(v, cap * sizeof(*g));
			if (g == NULL) {
				rc = diag_set(d, ST_ENOMEM, "out of memory");
				break;
			}
			v = g;
		}
		const char *j = (const char *)sqlite3_column_text(st, 0);
		const struct json_val *root;
		struct diag dd;
		if (j != NULL &&
		    json_parse(doc, j, strlen(j), 0, NULL, &root, &dd) ==
			ST_OK &&
		    inc_entry_parse(root, &v[n], &dd) == ST_OK)
			n++;
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&db->mu);
	json_doc_free(doc);
	for (size_t i = 0; rc == ST_OK && i < n; i++)
		rc = fn(ctx, &v[i]);
	free(v);
	return rc;
}

static int fold(void *ctx, const struct inc_entry *e)
{
	struct inc_state *s = ctx;
	s->entries++;
	if (e->at > s->updated)
		s->updated = e->at;
	switch (e->kind) {
	case INC_OPEN:
		snprintf(s->title, sizeof(s->title), "%s", e->text);
		s->severity = e->severity;
		s->tlp = e->tlp;
		s->nnodes = e->nnodes;
		memcpy(s->nodes, e->nodes, sizeof(s->nodes));
		snprintf(s->creator, sizeof(s->creator), "%s", e->author);
		s->opened = e->at;
		break;
	case INC_STATUS:
		s->status = e->status;
		break;
	case INC_TITLE:
		snprintf(s->title, sizeof(s->title), "%s", e->text);
		break;
	case INC_SEVERITY:
		s->severity = e->severity;
		break;
	default:
		break;
	}
	return ST_OK;
}

int inc_state_get(struct inc_db *db, const char *incident,
		  struct inc_state *out, struct diag *d)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->id, sizeof(out->id), "%s", incident);
	int rc = inc_entries(db, incident, fold, out, d);
	if (rc == ST_OK && out->entries == 0)
		rc = diag_set(d, ST_ENOTFOUND, "no incident %s", incident);
	return rc;
}

bool inc_has_node(const struct inc_state *s, const char *identity)
{
	for (size_t i = 0; i < s->nnodes; i++)
		if (strcmp(s->nodes[i], identity) == 0)
			return true;
	return false;
}

int inc_list(struct inc_db *db, inc_state_fn fn, void *ctx, struct diag *d)
{
	sqlite3_stmt *st = NULL;
	char(*ids)[INC_ID_LEN + 1] = NULL;
	size_t n = 0, cap = 0;
	int rc = ST_OK;
	pthread_mutex_lock(&db->mu);
	if (sqlite3_prepare_v2(db->db,
			       "SELECT incident FROM entries WHERE kind = 0"
			       " ORDER BY at, id",
			       -1, &st, NULL) != SQLITE_OK)
		rc = sql_diag(db->db, d, db->path);
	while (rc == ST_OK && sqlite3_step(st) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			char(*g)[INC_ID_LEN + 1] =
			    realloc(ids, cap * sizeof(*g));
			if (g == NULL) {
				rc = diag_set(d, ST_ENOMEM, "out of memory");
				break;
			}
			ids = g;
		}
		snprintf(ids[n++], INC_ID_LEN + 1, "%s",
			 (const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&db->mu);
	for (size_t i = 0; rc == ST_OK && i < n; i++) {
		struct inc_state s;
		if (inc_state_get(db, ids[i], &s, NULL) == ST_OK)
			rc = fn(ctx, &s);
	}
	free(ids);
	return rc;
}

/* ---- STIX ---- */

struct stix_ctx {
	struct jw *w;
	const char *identity;
	const char *incident_id;
	const char *marking;
};

static int note_of(void *ctx, const struct inc_entry *e)
{
	struct stix_ctx *x = ctx;
	if (e->kind == INC_OPEN)
		return ST_OK;
	char ts[TS_BUFSZ], content[INC_TEXT_MAX + 256];
	ts_format_ms(e->at, ts);
	switch (e->kind) {
	case INC_TASK:
		snprintf(content, sizeof(content), "%s (owner %s)", e->text,
			 e->owner);
		break;
	case INC_STATUS:
		snprintf(content, sizeof(content), "status: %s",
			 inc_status_name(e->status));
		break;
	case INC_SEVERITY:
		snprintf(content, sizeof(content), "severity: %s",
			 inc_severity_name(e->severity));
		break;
	case INC_LINK:
		snprintf(content, sizeof(content), "linked %s%s%s",
			 e->stix[0] ? e->stix : "an object not released here",
			 e->text[0] ? ": " : "", e->text);
		break;
	default:
		snprintf(content, sizeof(content), "%s", e->text);
	}
	jw_obj_open(x->w);
	jw_key(x->w, "type");
	jw_str(x->w, "note");
	jw_key(x->w, "spec_version");
	jw_str(x->w, "2.1");
	jw_key(x->w, "id");
	char nid[STIX_ID_MAX];
	snprintf(nid, sizeof(nid), "note--%s", e->id);
	jw_str(x->w, nid);
	jw_key(x->w, "created");
	jw_str(x->w, ts);
	jw_key(x->w, "modified");
	jw_str(x->w, ts);
	jw_key(x->w, "created_by_ref");
	jw_str(x->w, x->identity);
	jw_key(x->w, "abstract");
	jw_str(x->w, inc_kind_name(e->kind));
	jw_key(x->w, "content");
	jw_str(x->w, content);
	jw_key(x->w, "authors");
	jw_arr_open(x->w);
	jw_str(x->w, e->author);
	jw_arr_close(x->w);
	jw_key(x->w, "object_refs");
	jw_arr_open(x->w);
	jw_str(x->w, x->incident_id);
	if (e->kind == INC_LINK && e->stix[0])
		jw_str(x->w, e->stix);
	jw_arr_close(x->w);
	if (x->marking != NULL) {
		jw_key(x->w, "object_marking_refs");
		jw_arr_open(x->w);
		jw_str(x->w, x->marking);
		jw_arr_close(x->w);
	}
	jw_obj_close(x->w);
	return ST_OK;
}

int inc_stix_bundle(struct inc_db *db, const char *incident,
		    const char *identity, struct buf *out, struct diag *d)
{
	struct inc_state s;
	int rc = inc_state_get(db, incident, &s, d);
	if (rc != ST_OK)
		return rc;
	char iid[STIX_ID_MAX], ts0[TS_BUFSZ], ts1[TS_BUFSZ], bid[64];
	snprintf(iid, sizeof(iid), "incident--%s", s.id);
	snprintf(bid, sizeof(bid), "bundle--%s", s.id);
	ts_format_ms(s.opened, ts0);
	ts_format_ms(s.updated, ts1);
	const char *marking = tlp_marking_id((enum tlp)s.tlp);
	struct jw w;
	jw_init(&w, out);
	jw_obj_open(&w);
	jw_key(&w, "type");
	jw_str(&w, "bundle");
	jw_key(&w, "id");
	jw_str(&w, bid);
	jw_key(&w, "objects");
	jw_arr_open(&w);
	jw_obj_open(&w);
	jw_key(&w, "type");
	jw_str(&w, "incident");
	jw_key(&w, "spec_version");
	jw_str(&w, "2.1");
	jw_key(&w, "id");
	jw_str(&w, iid);
	jw_key(&w, "created");
	jw_str(&w, ts0);
	jw_key(&w, "modified");
	jw_str(&w, ts1);
	jw_key(&w, "created_by_ref");
	jw_str(&w, identity);
	jw_key(&w, "name");
	jw_str(&w, s.title);
	char desc[256];
	snprintf(desc, sizeof(desc),
		 "joint incident, status %s, severity %s, %zu participants",
		 inc_status_name(s.status), inc_severity_name(s.severity),
		 s.nnodes);
	jw_key(&w, "description");
	jw_str(&w, desc);
	if (marking != NULL) {
		jw_key(&w, "object_marking_refs");
		jw_arr_open(&w);
		jw_str(&w, marking);
		jw_arr_close(&w);
	}
	jw_obj_close(&w);
	struct stix_ctx x = {&w, identity, iid, marking};
	rc = inc_entries(db, incident, note_of, &x, d);
	jw_arr_close(&w);
	jw_obj_close(&w);
	if (rc == ST_OK)
		rc = jw_finish(&w);
	return rc;
}
