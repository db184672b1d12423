/*
 * strait: STIX 2.0 objects upgraded to STIX 2.1; see stix20.h.
 *
 * The object is parsed once (json_parse) and written again (jw) with the
 * changes. For an observed-data, the ids of its observables come first:
 * an SCO's deterministic id covers its ID contributing properties, and
 * some of those are references to other observables (a file's
 * parent_directory_ref, a network-traffic's src_ref, ...), so those
 * observables get their ids first (a depth-first walk over just those
 * references). Then every SCO is written with all its references rewritten,
 * then the observed-data, and only then is anything handed on: an object
 * that cannot be upgraded hands on nothing.
 */
#include "interop/stix20.h"

#include "common/buf.h"
#include "common/json.h"
#include "common/time.h"
#include "common/uuid.h"
#include "stix/stix.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Upgraded objects: a 16 MiB object whose observables all grow. */
#define OUT_MAX ((size_t)64 << 20)
/* Markings one SCO may end up with. */
#define MARKS_MAX 64
/* How much of a key or an id a message quotes. */
#define QUOTE 80

/* Types of STIX 2.1 that 2.0 did not have: an object of one of them
 * without spec_version is a broken 2.1 object, not a 2.0 one. */
static const char *const NEW_IN_21[] = {
    "extension-definition",
    "grouping",
    "incident",
    "infrastructure",
    "language-content",
    "location",
    "malware-analysis",
    "note",
    "opinion",
};

/* 2.0's required "labels", holding the open vocabulary 2.1 moved. */
static const struct {
	const char *type, *prop;
} LABELS_TO[] = {
    {"indicator", "indicator_types"}, {"malware", "malware_types"},
    {"report", "report_types"},	      {"threat-actor", "threat_actor_types"},
    {"tool", "tool_types"},
};

/* Observable properties 2.1 renamed (to NULL: 2.1 has no such property;
 * it is kept as it was, a custom property, and noted). */
static const struct {
	const char *type, *from, *to;
} RENAMES[] = {
    {"directory", "accessed", "atime"},
    {"directory", "created", "ctime"},
    {"directory", "modified", "mtime"},
    {"file", "accessed", "atime"},
    {"file", "created", "ctime"},
    {"file", "modified", "mtime"},
    {"file", "is_encrypted", NULL},
    {"file", "encryption_algorithm", NULL},
    {"file", "decryption_key", NULL},
    {"process", "created", "created_time"},
    {"process", "binary_ref", "image_ref"},
    {"process", "name", NULL},
    {"process", "arguments", NULL},
    {"windows-registry-key", "modified", "modified_time"},
    {NULL, "description", NULL},
};

/* The ID contributing properties (STIX 2.1 section 6) that hold, or may
 * hold, references to other observables. */
static const struct {
	const char *type;
	const char *props[4];
} ID_REFS[] = {
    {"email-message", {"from_ref", NULL}},
    {"file", {"parent_directory_ref", "extensions", NULL}},
    {"network-traffic", {"src_ref", "dst_ref", "extensions", NULL}},
};

/* Dictionaries of observables: their keys are data, never references. */
static const char *const DICTS[] = {
    "additional_header_fields",
    "document_info_dict",
    "environment_variables",
    "exif_tags",
    "hashes",
    "ipfix",
    "options",
    "request_header",
};

enum { S_NEW, S_WALK, S_DONE };

/* One embedded observable of a 2.0 observed-data. */
struct sco {
	const struct json_member *m; /* its key and its object */
	const char *type;
	char id[STIX_ID_MAX];
	uint8_t state;
	uint32_t dep0, ndep; /* its contributing references, in deps */
	uint32_t rep;	     /* the first observable with the same id */
	uint32_t pos;	     /* its entry in object_refs */
	uint32_t stamp;	     /* last granular marking entry + 1 naming it */
	size_t off, len;     /* its upgraded JSON, in up.scos */
	const struct json_val *marks[MARKS_MAX]; /* from granular markings */
	uint32_t nmarks;
};

/* An observable by its key, or by its id, for sorting and searching. */
struct keyed {
	const char *key;
	size_t klen;
	uint32_t k;
};

struct up {
	const struct json_val *obj;
	const char *id; /* the object's (NUL-terminated) */
	struct diag *d;
	struct buf notes; /* "id\0msg\0" pairs, handed on at the end */
	/* observed-data */
	const struct json_val *objects;
	struct sco *sco;
	uint32_t nsco;
	struct keyed *sorted; /* the observables by key */
	uint32_t *deps;
	uint32_t ndeps, capdeps;
	const struct json_val *all_marks[MARKS_MAX]; /* selector "objects" */
	uint32_t nall;
	uint32_t nrefs; /* references rewritten in the SCO being written */
	struct json_doc *iddoc;
	struct buf tmp;	 /* an SCO written to compute its id */
	struct buf scos; /* the upgraded SCOs, one after another */
	struct buf out;	 /* the upgraded object */
};

static bool in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

static bool ends_with(const char *s, size_t len, const char *suf)
{
	size_t n = strlen(suf);
	return len >= n && memcmp(s + len - n, suf, n) == 0;
}

static bool key_is(const struct json_member *m, const char *k)
{
	return m->klen == strlen(k) && memcmp(m->key, k, m->klen) == 0;
}

/* A reference by name: a string in *_ref, a list in *_refs. */
enum refkind { R_NONE, R_ONE, R_LIST };

static enum refkind ref_kind(const char *key, size_t klen)
{
	if (ends_with(key, klen, "_ref"))
		return R_ONE;
	if (ends_with(key, klen, "_refs"))
		return R_LIST;
	return R_NONE;
}

static bool is_dict(const char *key, size_t klen)
{
	for (size_t i = 0; i < sizeof(DICTS) / sizeof(DICTS[0]); i++)
		if (strlen(DICTS[i]) == klen &&
		    memcmp(DICTS[i], key, klen) == 0)
			return true;
	return false;
}

static bool has_new_sco_ext(const struct json_val *obj)
{
	const struct json_val *ext = json_get(obj, "extensions");
	if (ext == NULL || ext->type != JSON_OBJECT)
		return false;
	for (uint32_t i = 0; i < ext->len; i++)
		if (json_str_eq(
			json_get(&ext->u.members[i].val, "extension_type"),
			"new-sco"))
			return true;
	return false;
}

bool ix_stix20_is_20(const struct json_val *obj)
{
	if (obj == NULL || obj->type != JSON_OBJECT)
		return false;
	const struct json_val *t = json_get(obj, "type");
	if (t == NULL || t->type != JSON_STRING || t->len == 0 ||
	    memchr(t->u.str, '\0', t->len) != NULL)
		return false;
	const struct json_val *sv = json_get(obj, "spec_version");
	if (sv != NULL && !json_str_eq(sv, "2.0"))
		return false;
	return !stix_is_sco_type(t->u.str, t->len) &&
	       strcmp(t->u.str, "bundle") != 0 &&
	       !in_list(t->u.str, NEW_IN_21,
			sizeof(NEW_IN_21) / sizeof(NEW_IN_21[0])) &&
	       !has_new_sco_ext(obj);
}

static int oom(struct up *u)
{
	return diag_set(u->d, ST_ENOMEM, "%s: out of memory", u->id);
}

static void note(struct up *u, const char *id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void note(struct up *u, const char *id, const char *fmt, ...)
{
	char msg[DIAG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* a note that does not fit is dropped, never the object */
	size_t mark = u->notes.len;
	if (buf_adds(&u->notes, id) != ST_OK ||
	    buf_addc(&u->notes, '\0') != ST_OK ||
	    buf_adds(&u->notes, msg) != ST_OK ||
	    buf_addc(&u->notes, '\0') != ST_OK)
		u->notes.len = mark;
}

/* ------------------------------------------------------------------ */
/* Observables                                                          */
/* ------------------------------------------------------------------ */

static int bytes_cmp(const char *a, size_t al, const char *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);
	if (c != 0)
		return c;
	return (al > bl) - (al < bl);
}

/* By key (or id), then by position in objects. */
static int keyed_cmp(const void *pa, const void *pb)
{
	const struct keyed *a = pa, *b = pb;
	int c = bytes_cmp(a->key, a->klen, b->key, b->klen);
	return c != 0 ? c : (a->k > b->k) - (a->k < b->k);
}

/* The observable with key k, or -1. */
static int64_t lookup(const struct up *u, const char *k, size_t kl)
{
	size_t lo = 0, hi = u->nsco;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct keyed *e = &u->sorted[mid];
		int c = bytes_cmp(e->key, e->klen, k, kl);
		if (c == 0)
			return e->k;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* "objects.<key>" of a message. */
#define OKEY(s) (int)((s)->m->klen < QUOTE ? (s)->m->klen : QUOTE), (s)->m->key

/* The observable a reference names; ST_EINVAL when none. */
static int target(struct up *u, const struct sco *s, const char *prop,
		  const struct json_val *v, uint32_t *out)
{
	if (v->type != JSON_STRING)
		return diag_set(u->d, ST_EINVAL,
				"%s: objects.%.*s.%s: a reference must be the "
				"key of an embedded object, not %s",
				u->id, OKEY(s), prop, json_type_name(v->type));
	int64_t t = lookup(u, v->u.str, v->len);
	if (t < 0)
		return diag_set(u->d, ST_EINVAL,
				"%s: objects.%.*s.%s: no embedded object "
				"has the key '%.*s'",
				u->id, OKEY(s), prop,
				(int)(v->len < QUOTE ? v->len : QUOTE),
				v->u.str);
	*out = (uint32_t)t;
	return ST_OK;
}

static int add_dep(struct up *u, uint32_t t)
{
	if (u->ndeps == u->capdeps) {
		uint32_t cap = u->capdeps ? u->capdeps * 2 : 64;
		uint32_t *p = realloc(u->deps, cap * sizeof(*p));
		if (p == NULL)
			return oom(u);
		u->deps = p;
		u->capdeps = cap;
	}
	u->deps[u->ndeps++] = t;
	return ST_OK;
}

/* Collects the references held in v (the value of property key) as
 * dependencies of s. */
static int collect(struct up *u, struct sco *s, const char *key, size_t klen,
		   const struct json_val *v)
{
	int rc = ST_OK;
	uint32_t t;
	char prop[QUOTE + 1];
	snprintf(prop, sizeof(prop), "%.*s", (int)(klen < QUOTE ? klen : QUOTE),
		 key);
	switch (ref_kind(key, klen)) {
	case R_ONE:
		if ((rc = target(u, s, prop, v, &t)) == ST_OK)
			rc = add_dep(u, t);
		return rc;
	case R_LIST:
		if (v->type != JSON_ARRAY)
			return diag_set(u->d, ST_EINVAL,
					"%s: objects.%.*s.%s: must be a list "
					"of keys, not %s",
					u->id, OKEY(s), prop,
					json_type_name(v->type));
		for (uint32_t i = 0; i < v->len && rc == ST_OK; i++)
			if ((rc = target(u, s, prop, &v->u.items[i], &t)) ==
			    ST_OK)
				rc = add_dep(u, t);
		return rc;
	case R_NONE:
		break;
	}
	if (is_dict(key, klen))
		return ST_OK;
	if (v->type == JSON_OBJECT) {
		for (uint32_t i = 0; i < v->len && rc == ST_OK; i++)
			rc =
			    collect(u, s, v->u.members[i].key,
				    v->u.members[i].klen, &v->u.members[i].val);
	} else if (v->type == JSON_ARRAY) {
		for (uint32_t i = 0; i < v->len && rc == ST_OK; i++)
			rc = collect(u, s, "", 0, &v->u.items[i]);
	}
	return rc;
}

static int collect_deps(struct up *u, struct sco *s)
{
	s->dep0 = u->ndeps;
	for (size_t i = 0; i < sizeof(ID_REFS) / sizeof(ID_REFS[0]); i++) {
		if (strcmp(ID_REFS[i].type, s->type) != 0)
			continue;
		for (const char *const *p = ID_REFS[i].props; *p; p++) {
			const struct json_val *v = json_get(&s->m->val, *p);
			int rc = v ? collect(u, s, *p, strlen(*p), v) : ST_OK;
			if (rc != ST_OK)
				return rc;
		}
	}
	s->ndep = u->ndeps - s->dep0;
	return ST_OK;
}

static const char *renamed(const char *type, const struct json_member *m,
			   bool *dropped)
{
	*dropped = false;
	for (size_t i = 0; i < sizeof(RENAMES) / sizeof(RENAMES[0]); i++) {
		if ((RENAMES[i].type != NULL &&
		     strcmp(RENAMES[i].type, type) != 0) ||
		    !key_is(m, RENAMES[i].from))
			continue;
		*dropped = RENAMES[i].to == NULL;
		return RENAMES[i].to;
	}
	return NULL;
}

/* Writes a reference: the id of its observable, or (while ids are being
 * computed, for a reference that does not contribute) the key itself. */
static void write_ref(struct up *u, struct jw *w, const struct json_val *v)
{
	int64_t t = lookup(u, v->u.str, v->len);
	if (t >= 0 && u->sco[t].state == S_DONE) {
		jw_str(w, u->sco[t].id);
		u->nrefs++;
	} else
		jw_strn(w, v->u.str, v->len);
}

/* Writes v (the value of property key) with its references rewritten. */
static void write_val(struct up *u, struct jw *w, const char *key, size_t klen,
		      const struct json_val *v)
{
	enum refkind rk = ref_kind(key, klen);
	if (rk == R_ONE && v->type == JSON_STRING) {
		write_ref(u, w, v);
	} else if (rk == R_LIST && v->type == JSON_ARRAY) {
		jw_arr_open(w);
		for (uint32_t i = 0; i < v->len; i++) {
			if (v->u.items[i].type == JSON_STRING)
				write_ref(u, w, &v->u.items[i]);
			else
				jw_value(w, &v->u.items[i]);
		}
		jw_arr_close(w);
	} else if (rk == R_NONE && !is_dict(key, klen) &&
		   v->type == JSON_OBJECT) {
		jw_obj_open(w);
		for (uint32_t i = 0; i < v->len; i++) {
			const struct json_member *m = &v->u.members[i];
			jw_keyn(w, m->key, m->klen);
			write_val(u, w, m->key, m->klen, &m->val);
		}
		jw_obj_close(w);
	} else if (rk == R_NONE && v->type == JSON_ARRAY) {
		jw_arr_open(w);
		for (uint32_t i = 0; i < v->len; i++)
			write_val(u, w, "", 0, &v->u.items[i]);
		jw_arr_close(w);
	} else {
		jw_value(w, v);
	}
}

/* Adds a marking (a string) to a list of at most MARKS_MAX, once. */
static int add_mark(struct up *u, const struct json_val **list, uint32_t *n,
		    const struct json_val *m)
{
	for (uint32_t i = 0; i < *n; i++)
		if (list[i]->len == m->len &&
		    memcmp(list[i]->u.str, m->u.str, m->len) == 0)
			return ST_OK;
	if (*n == MARKS_MAX)
		return diag_set(u->d, ST_ELIMIT,
				"%s: more than %d markings for one embedded "
				"object",
				u->id, MARKS_MAX);
	list[(*n)++] = m;
	return ST_OK;
}

/*
 * Writes observable s into b as a 2.1 SCO. final: with its id, every
 * reference rewritten, the markings, and notes; otherwise only what its id
 * is computed from is sure to be right.
 */
static int write_sco(struct up *u, struct sco *s, struct buf *b, bool final)
{
	const struct json_val *o = &s->m->val;
	const struct json_val *marks[MARKS_MAX];
	uint32_t nmarks = 0;
	int rc = ST_OK;
	struct jw w;

	u->nrefs = 0;
	jw_init(&w, b);
	jw_obj_open(&w);
	jw_key(&w, "type");
	jw_str(&w, s->type);
	jw_key(&w, "spec_version");
	jw_str(&w, "2.1");
	if (final) {
		jw_key(&w, "id");
		jw_str(&w, s->id);
		note(u, s->id,
		     "made from objects.%.*s of %s, with spec_version 2.1 and "
		     "its deterministic id",
		     OKEY(s), u->id);
	}
	for (uint32_t i = 0; i < o->len; i++) {
		const struct json_member *m = &o->u.members[i];
		bool dropped;
		const char *to;
		if (key_is(m, "type") || key_is(m, "spec_version") ||
		    key_is(m, "id") || key_is(m, "object_marking_refs"))
			continue;
		if (key_is(m, "granular_markings")) {
			/* not 2.0, kept as it is: its marking_ref is no
			 * embedded key */
			jw_key(&w, "granular_markings");
			jw_value(&w, &m->val);
			continue;
		}
		to = renamed(s->type, m, &dropped);
		if (to != NULL && json_get(o, to) != NULL)
			to = NULL; /* both: keep each as it is */
		if (final && to != NULL)
			note(u, s->id, "%s renamed %s (STIX 2.1)", m->key, to);
		if (final && dropped)
			note(u, s->id,
			     "kept %s, a STIX 2.0 property that 2.1 does not "
			     "have",
			     m->key);
		if (to != NULL)
			jw_key(&w, to);
		else
			jw_keyn(&w, m->key, m->klen);
		write_val(u, &w, m->key, m->klen, &m->val);
	}
	if (final) {
		/* its own (not 2.0, but kept), the observed-data's, and those
		 * of granular markings that selected it */
		const struct json_val *lists[2] = {
		    json_get(o, "object_marking_refs"),
		    json_get(u->obj, "object_marking_refs")};
		for (int l = 0; l < 2 && rc == ST_OK; l++) {
			const struct json_val *v = lists[l];
			if (v == NULL)
				continue;
			if (v->type != JSON_ARRAY)
				return diag_set(u->d, ST_EINVAL,
						"%s: object_marking_refs: must "
						"be a list, not %s",
						u->id, json_type_name(v->type));
			for (uint32_t i = 0; i < v->len && rc == ST_OK; i++) {
				if (v->u.items[i].type != JSON_STRING)
					return diag_set(
					    u->d, ST_EINVAL,
					    "%s: object_marking_refs[%u]: "
					    "must be a string",
					    u->id, i);
				rc =
				    add_mark(u, marks, &nmarks, &v->u.items[i]);
			}
		}
		for (uint32_t i = 0; i < u->nall && rc == ST_OK; i++)
			rc = add_mark(u, marks, &nmarks, u->all_marks[i]);
		for (uint32_t i = 0; i < s->nmarks && rc == ST_OK; i++)
			rc = add_mark(u, marks, &nmarks, s->marks[i]);
		if (rc != ST_OK)
			return rc;
		if (nmarks > 0) {
			jw_key(&w, "object_marking_refs");
			jw_arr_open(&w);
			for (uint32_t i = 0; i < nmarks; i++)
				jw_strn(&w, marks[i]->u.str, marks[i]->len);
			jw_arr_close(&w);
		}
	}
	jw_obj_close(&w);
	if ((rc = jw_finish(&w)) != ST_OK)
		return diag_set(u->d, rc, "%s: objects.%.*s: %s", u->id,
				OKEY(s), st_strerror(rc));
	if (final) {
		if (json_get(o, "id") != NULL)
			note(u, s->id, "its id in objects.%.*s was replaced",
			     OKEY(s));
		if (u->nrefs > 0)
			note(u, s->id,
			     "%u reference%s to embedded keys rewritten to ids",
			     u->nrefs, u->nrefs == 1 ? "" : "s");
		if (nmarks > 0)
			note(u, s->id, "took %u marking%s of %s", nmarks,
			     nmarks == 1 ? "" : "s", u->id);
	}
	return ST_OK;
}

/* Computes the id of s, whose contributing references are done. */
static int sco_id(struct up *u, struct sco *s)
{
	const struct json_val *root;
	uint8_t uu[16];
	char us[UUID_STRLEN + 1];
	int rc;

	buf_reset(&u->tmp);
	if ((rc = write_sco(u, s, &u->tmp, false)) != ST_OK)
		return rc;
	rc =
	    json_parse(u->iddoc, u->tmp.data, u->tmp.len, 0, NULL, &root, NULL);
	if (rc == ST_OK)
		rc = stix_sco_id(root, uu);
	if (rc == ST_ENOMEM)
		return oom(u);
	if (rc != ST_OK)
		return diag_set(u->d, ST_EINVAL,
				"%s: objects.%.*s: no STIX 2.1 id can be made "
				"of it (%s)",
				u->id, OKEY(s), st_strerror(rc));
	uuid_format(uu, us);
	snprintf(s->id, sizeof(s->id), "%s--%s", s->type, us);
	s->state = S_DONE;
	return ST_OK;
}

/* Gives every observable its id, those it contributes to after it. */
static int compute_ids(struct up *u)
{
	struct frame {
		uint32_t k, next;
	} *stack = malloc((size_t)u->nsco * sizeof(*stack));
	int rc = ST_OK;
	if (stack == NULL)
		return oom(u);
	for (uint32_t k0 = 0; k0 < u->nsco && rc == ST_OK; k0++) {
		uint32_t top = 0;
		if (u->sco[k0].state != S_NEW)
			continue;
		stack[top++] = (struct frame){k0, 0};
		u->sco[k0].state = S_WALK;
		while (top > 0 && rc == ST_OK) {
			struct frame *f = &stack[top - 1];
			struct sco *s = &u->sco[f->k];
			if (f->next == s->ndep) {
				rc = sco_id(u, s);
				top--;
				continue;
			}
			uint32_t t = u->deps[s->dep0 + f->next++];
			if (u->sco[t].state == S_DONE)
				continue;
			if (u->sco[t].state == S_WALK) {
				rc = diag_set(
				    u->d, ST_EINVAL,
				    "%s: objects.%.*s: its ID contributing "
				    "references lead back to it (through "
				    "objects.%.*s): no id can be computed",
				    u->id, OKEY(s), OKEY(&u->sco[t]));
				break;
			}
			u->sco[t].state = S_WALK;
			stack[top++] = (struct frame){t, 0};
		}
	}
	free(stack);
	return rc;
}

/* Entries of object_refs: one per distinct id, in the order of objects. */
static int number_refs(struct up *u)
{
	struct keyed *by = malloc((size_t)u->nsco * sizeof(*by));
	if (by == NULL)
		return oom(u);
	for (uint32_t k = 0; k < u->nsco; k++)
		by[k] = (struct keyed){u->sco[k].id, strlen(u->sco[k].id), k};
	qsort(by, u->nsco, sizeof(*by), keyed_cmp);
	for (uint32_t i = 0; i < u->nsco; i++)
		u->sco[by[i].k].rep =
		    i > 0 && strcmp(by[i].key, by[i - 1].key) == 0
			? u->sco[by[i - 1].k].rep
			: by[i].k;
	free(by);
	uint32_t n = 0;
	for (uint32_t k = 0; k < u->nsco; k++)
		u->sco[k].pos =
		    u->sco[k].rep == k ? n++ : u->sco[u->sco[k].rep].pos;
	return ST_OK;
}

/*
 * Granular markings selecting inside "objects": the marking goes on the
 * whole SCO selected (a selector into a 2.0 observable has no exact 2.1
 * counterpart, and marking more never leaks). Checked here, rewritten
 * when the observed-data is written.
 */
static int granular_marks(struct up *u)
{
	const struct json_val *gm = json_get(u->obj, "granular_markings");
	uint32_t moved = 0;
	if (gm == NULL || gm->type != JSON_ARRAY)
		return ST_OK;
	for (uint32_t i = 0; i < gm->len; i++) {
		const struct json_val *e = &gm->u.items[i];
		const struct json_val *mr = json_get(e, "marking_ref");
		const struct json_val *sel = json_get(e, "selectors");
		if (sel == NULL || sel->type != JSON_ARRAY)
			continue;
		for (uint32_t j = 0; j < sel->len; j++) {
			const struct json_val *s = &sel->u.items[j];
			if (s->type != JSON_STRING ||
			    strncmp(s->u.str, "objects", 7) != 0 ||
			    (s->len > 7 && s->u.str[7] != '.'))
				continue;
			if (mr == NULL || mr->type != JSON_STRING)
				return diag_set(u->d, ST_EINVAL,
						"%s: granular_markings[%u]: "
						"selects embedded objects "
						"without a marking_ref",
						u->id, i);
			int rc;
			if (s->len == 7) {
				rc = add_mark(u, u->all_marks, &u->nall, mr);
			} else {
				const char *k = s->u.str + 8;
				const char *dot = memchr(k, '.', s->len - 8);
				size_t kl =
				    dot ? (size_t)(dot - k) : s->len - 8;
				int64_t t = lookup(u, k, kl);
				if (t < 0)
					return diag_set(
					    u->d, ST_EINVAL,
					    "%s: granular_markings[%u]."
					    "selectors[%u]: no embedded object "
					    "has the key '%.*s'",
					    u->id, i, j,
					    (int)(kl < QUOTE ? kl : QUOTE), k);
				struct sco *sc = &u->sco[u->sco[t].rep];
				rc = add_mark(u, sc->marks, &sc->nmarks, mr);
			}
			if (rc != ST_OK)
				return rc;
			moved++;
		}
	}
	if (moved > 0)
		note(u, u->id,
		     "granular markings selecting inside objects now mark "
		     "the SCOs they selected and their object_refs entries");
	return ST_OK;
}

/* Writes the observed-data's granular_markings with selectors inside
 * "objects" pointing at object_refs. */
static void write_granular(struct up *u, struct jw *w,
			   const struct json_val *gm)
{
	if (gm->type != JSON_ARRAY) {
		jw_value(w, gm);
		return;
	}
	jw_arr_open(w);
	for (uint32_t i = 0; i < gm->len; i++) {
		const struct json_val *e = &gm->u.items[i];
		if (e->type != JSON_OBJECT) {
			jw_value(w, e);
			continue;
		}
		jw_obj_open(w);
		for (uint32_t m = 0; m < e->len; m++) {
			const struct json_member *mb = &e->u.members[m];
			jw_keyn(w, mb->key, mb->klen);
			if (!key_is(mb, "selectors") ||
			    mb->val.type != JSON_ARRAY) {
				jw_value(w, &mb->val);
				continue;
			}
			const struct json_val *sel = &mb->val;
			bool whole = false;
			jw_arr_open(w);
			for (uint32_t j = 0; j < sel->len; j++) {
				const struct json_val *s = &sel->u.items[j];
				if (s->type != JSON_STRING ||
				    strncmp(s->u.str, "objects", 7) != 0 ||
				    (s->len > 7 && s->u.str[7] != '.')) {
					jw_value(w, s);
					continue;
				}
				if (s->len == 7) {
					if (!whole)
						jw_str(w, "object_refs");
					whole = true;
					continue;
				}
				const char *k = s->u.str + 8;
				const char *dot = memchr(k, '.', s->len - 8);
				size_t kl =
				    dot ? (size_t)(dot - k) : s->len - 8;
				uint32_t t = (uint32_t)lookup(u, k, kl);
				/* once per entry: the stamp is i + 1 */
				struct sco *sc = &u->sco[u->sco[t].rep];
				if (sc->stamp == i + 1)
					continue;
				sc->stamp = i + 1;
				char p[32];
				snprintf(p, sizeof(p), "object_refs.[%u]",
					 sc->pos);
				jw_str(w, p);
			}
			jw_arr_close(w);
		}
		jw_obj_close(w);
	}
	jw_arr_close(w);
}

/* Reads "objects" into u->sco, keyed, with each observable's dependencies. */
static int read_objects(struct up *u)
{
	const struct json_val *ob = u->objects;
	int rc = ST_OK;

	if (ob->type != JSON_OBJECT || ob->len == 0)
		return diag_set(u->d, ST_EINVAL,
				"%s: objects: must be a dictionary of "
				"embedded observables with at least one, "
				"not %s",
				u->id,
				ob->type == JSON_OBJECT
				    ? "an empty one"
				    : json_type_name(ob->type));
	if (ob->len > IX_STIX20_OBJECTS_MAX)
		return diag_set(u->d, ST_ELIMIT,
				"%s: objects: %u embedded observables, more "
				"than %d",
				u->id, ob->len, IX_STIX20_OBJECTS_MAX);
	u->nsco = ob->len;
	u->sco = calloc(u->nsco, sizeof(*u->sco));
	u->sorted = malloc((size_t)u->nsco * sizeof(*u->sorted));
	if (u->sco == NULL || u->sorted == NULL)
		return oom(u);
	for (uint32_t k = 0; k < u->nsco; k++) {
		struct sco *s = &u->sco[k];
		s->m = &ob->u.members[k];
		const struct json_val *t = json_get(&s->m->val, "type");
		if (s->m->val.type != JSON_OBJECT)
			return diag_set(u->d, ST_EINVAL,
					"%s: objects.%.*s: an embedded "
					"observable must be an object, not %s",
					u->id, OKEY(s),
					json_type_name(s->m->val.type));
		if (t == NULL || t->type != JSON_STRING)
			return diag_set(u->d, ST_EINVAL,
					"%s: objects.%.*s: an embedded "
					"observable needs a string type",
					u->id, OKEY(s));
		if (!stix_is_sco_type(t->u.str, t->len) ||
		    memchr(t->u.str, '\0', t->len) != NULL)
			return diag_set(u->d, ST_EINVAL,
					"%s: objects.%.*s: '%.*s' is not an "
					"observable type of the specification "
					"(a custom observable has no STIX 2.1 "
					"form without an extension definition)",
					u->id, OKEY(s),
					(int)(t->len < QUOTE ? t->len : QUOTE),
					t->u.str);
		s->type = t->u.str;
		u->sorted[k] = (struct keyed){s->m->key, s->m->klen, k};
	}
	qsort(u->sorted, u->nsco, sizeof(*u->sorted), keyed_cmp);
	for (uint32_t k = 0; k < u->nsco && rc == ST_OK; k++)
		rc = collect_deps(u, &u->sco[k]);
	return rc;
}

/* Upgrades the observables: every SCO is written into u->scos. */
static int upgrade_objects(struct up *u)
{
	int rc;
	if ((rc = read_objects(u)) != ST_OK || (rc = compute_ids(u)) != ST_OK ||
	    (rc = number_refs(u)) != ST_OK || (rc = granular_marks(u)) != ST_OK)
		return rc;
	for (uint32_t k = 0; k < u->nsco; k++) {
		struct sco *s = &u->sco[k];
		/* every reference, contributing or not, must name a key */
		uint32_t mark = u->ndeps;
		for (uint32_t i = 0; i < s->m->val.len && rc == ST_OK; i++) {
			const struct json_member *m = &s->m->val.u.members[i];
			if (!key_is(m, "object_marking_refs") &&
			    !key_is(m, "granular_markings"))
				rc = collect(u, s, m->key, m->klen, &m->val);
		}
		u->ndeps = mark;
		if (rc != ST_OK)
			return rc;
		s->off = u->scos.len;
		if ((rc = write_sco(u, s, &u->scos, true)) != ST_OK)
			return rc;
		s->len = u->scos.len - s->off;
	}
	return ST_OK;
}

/* ------------------------------------------------------------------ */
/* The object                                                           */
/* ------------------------------------------------------------------ */

/* A created or modified with fewer than three fractional digits, padded
 * to milliseconds; false to keep it as it is. */
static bool pad_ms(const struct json_val *v, char out[TS_BUFSZ + 8])
{
	st_time t;
	int frac = 0;
	if (v->type != JSON_STRING || v->len > TS_BUFSZ ||
	    ts_parse(v->u.str, v->len, &t, &frac) != ST_OK || frac >= 3)
		return false;
	/* "...SS[.f[f]]Z": the digits it has, then zeros */
	size_t n = v->len - 1;
	memcpy(out, v->u.str, n);
	if (frac == 0)
		out[n++] = '.';
	for (int i = frac; i < 3; i++)
		out[n++] = '0';
	out[n++] = 'Z';
	out[n] = '\0';
	return true;
}

static int upgrade(struct up *u, const char *type)
{
	const struct json_val *o = u->obj;
	const char *types_to = NULL;
	struct jw w;
	int rc;

	for (size_t i = 0; i < sizeof(LABELS_TO) / sizeof(LABELS_TO[0]); i++)
		if (strcmp(type, LABELS_TO[i].type) == 0 &&
		    json_get(o, LABELS_TO[i].prop) == NULL)
			types_to = LABELS_TO[i].prop;
	bool indicator = strcmp(type, "indicator") == 0;
	bool observed = strcmp(type, "observed-data") == 0;
	if (observed) {
		u->objects = json_get(o, "objects");
		if (u->objects == NULL)
			return diag_set(u->d, ST_EINVAL,
					"%s: objects: required in a STIX 2.0 "
					"observed-data, and missing",
					u->id);
		if (json_get(o, "object_refs") != NULL)
			return diag_set(u->d, ST_EINVAL,
					"%s: object_refs: not a STIX 2.0 "
					"property, beside objects",
					u->id);
		if ((rc = upgrade_objects(u)) != ST_OK)
			return rc;
	}

	jw_init(&w, &u->out);
	jw_obj_open(&w);
	jw_key(&w, "type");
	jw_value(&w, json_get(o, "type"));
	jw_key(&w, "spec_version");
	jw_str(&w, "2.1");
	note(u, u->id,
	     json_get(o, "spec_version") ? "spec_version 2.0 replaced by 2.1"
					 : "added spec_version 2.1");
	for (uint32_t i = 0; i < o->len; i++) {
		const struct json_member *m = &o->u.members[i];
		char ts[TS_BUFSZ + 8];
		if (key_is(m, "type") || key_is(m, "spec_version"))
			continue;
		if ((key_is(m, "created") || key_is(m, "modified")) &&
		    pad_ms(&m->val, ts)) {
			jw_keyn(&w, m->key, m->klen);
			jw_str(&w, ts);
			note(u, u->id, "%s %s written to the millisecond: %s",
			     m->key, m->val.u.str, ts);
		} else if (types_to != NULL && key_is(m, "labels")) {
			jw_key(&w, types_to);
			jw_value(&w, &m->val);
			note(u, u->id, "labels moved to %s", types_to);
		} else if (observed && key_is(m, "objects")) {
			jw_key(&w, "object_refs");
			jw_arr_open(&w);
			for (uint32_t k = 0; k < u->nsco; k++)
				if (u->sco[k].rep == k)
					jw_str(&w, u->sco[k].id);
			jw_arr_close(&w);
			note(u, u->id,
			     "objects (%u embedded observables) replaced by "
			     "object_refs to the SCOs made of them",
			     u->nsco);
		} else if (observed && key_is(m, "granular_markings")) {
			jw_key(&w, "granular_markings");
			write_granular(u, &w, &m->val);
		} else {
			jw_keyn(&w, m->key, m->klen);
			jw_value(&w, &m->val);
		}
		if (indicator && key_is(m, "pattern") &&
		    json_get(o, "pattern_type") == NULL) {
			jw_key(&w, "pattern_type");
			jw_str(&w, "stix");
			if (json_get(o, "pattern_version") == NULL) {
				jw_key(&w, "pattern_version");
				jw_str(&w, "2.0");
			}
			note(u, u->id,
			     "added pattern_type stix and pattern_version 2.0");
		}
	}
	if (strcmp(type, "malware") == 0 && json_get(o, "is_family") == NULL) {
		jw_key(&w, "is_family");
		jw_bool(&w, true);
		note(u, u->id, "added is_family true");
	}
	jw_obj_close(&w);
	if ((rc = jw_finish(&w)) != ST_OK)
		return diag_set(u->d, rc, "%s: the upgraded object: %s", u->id,
				st_strerror(rc));
	return ST_OK;
}

static int hand_on(struct up *u, ix_object_fn on_object, const char *json,
		   size_t len, uint64_t index, void *ctx, const char *id)
{
	int rc = on_object(ctx, json, len, index);
	if (rc != ST_OK)
		return diag_set(u->d, rc, "%s: %s", id, st_strerror(rc));
	return ST_OK;
}

int ix_stix20_upgrade(const char *json, size_t len, uint64_t index,
		      ix_object_fn on_object, ix_note_fn on_note, void *ctx,
		      struct diag *d)
{
	struct up u = {.d = d,
		       .notes = BUF_INIT(OUT_MAX),
		       .tmp = BUF_INIT(OUT_MAX),
		       .scos = BUF_INIT(OUT_MAX),
		       .out = BUF_INIT(OUT_MAX)};
	struct json_doc *doc = json_doc_new();
	const struct json_val *o, *t, *id;
	char where[64];
	int rc;

	u.iddoc = json_doc_new();
	if (doc == NULL || u.iddoc == NULL) {
		rc = diag_set(d, ST_ENOMEM, "out of memory");
		goto out;
	}
	snprintf(where, sizeof(where), "object %llu",
		 (unsigned long long)index);
	u.id = where;
	rc = json_parse(doc, json, len, 0, NULL, &o, d);
	if (rc != ST_OK) {
		diag_prefix(d, "%s", where);
		goto out;
	}
	u.obj = o;
	if (o->type != JSON_OBJECT) {
		rc = diag_set(d, ST_EINVAL,
			      "%s: a STIX object must be a JSON object, not %s",
			      where, json_type_name(o->type));
		goto out;
	}
	t = json_get(o, "type");
	if (t == NULL || t->type != JSON_STRING || t->len == 0 ||
	    memchr(t->u.str, '\0', t->len) != NULL) {
		rc = diag_set(d, ST_EINVAL, "%s: type: %s", where,
			      t == NULL ? "required, and missing"
					: "must be a non-empty string");
		goto out;
	}
	id = json_get(o, "id");
	/* a 2.1 SCO may come without an id: the import makes it */
	bool id_optional =
	    stix_is_sco_type(t->u.str, t->len) || has_new_sco_ext(o);
	if ((id == NULL && !id_optional) ||
	    (id != NULL && (id->type != JSON_STRING || id->len == 0 ||
			    memchr(id->u.str, '\0', id->len) != NULL))) {
		rc = diag_set(d, ST_EINVAL, "%s (%.*s): id: %s", where,
			      (int)(t->len < QUOTE ? t->len : QUOTE), t->u.str,
			      id == NULL ? "required, and missing"
					 : "must be a non-empty string");
		goto out;
	}
	if (!ix_stix20_is_20(o)) {
		/* 2.1 (or not STIX 2.0): as it came, NUL-terminated */
		if ((rc = buf_add(&u.out, json, len)) != ST_OK) {
			rc = diag_set(d, rc, "%s: %s", where, st_strerror(rc));
			goto out;
		}
		rc = hand_on(&u, on_object, u.out.data, u.out.len, index, ctx,
			     where);
		goto out;
	}
	u.id = id->u.str;
	if ((rc = upgrade(&u, t->u.str)) != ST_OK)
		goto out;
	/* the notes, then the SCOs, then the object */
	for (size_t p = 0; p < u.notes.len && on_note != NULL;) {
		const char *nid = u.notes.data + p;
		const char *msg = nid + strlen(nid) + 1;
		on_note(ctx, nid, msg);
		p = (size_t)(msg - u.notes.data) + strlen(msg) + 1;
	}
	for (uint32_t k = 0; k < u.nsco && rc == ST_OK; k++) {
		struct sco *s = &u.sco[k];
		const struct sco *r = &u.sco[s->rep];
		if (s->rep != k && r->len == s->len &&
		    memcmp(u.scos.data + r->off, u.scos.data + s->off,
			   s->len) == 0)
			continue; /* the same SCO twice: once is enough */
		/* NUL-terminated in place for the call */
		char save = u.scos.data[s->off + s->len];
		u.scos.data[s->off + s->len] = '\0';
		rc = hand_on(&u, on_object, u.scos.data + s->off, s->len, index,
			     ctx, s->id);
		u.scos.data[s->off + s->len] = save;
	}
	if (rc == ST_OK)
		rc = hand_on(&u, on_object, u.out.data, u.out.len, index, ctx,
			     u.id);
out:
	free(u.sco);
	free(u.sorted);
	free(u.deps);
	buf_free(&u.notes);
	buf_free(&u.tmp);
	buf_free(&u.scos);
	buf_free(&u.out);
	json_doc_free(u.iddoc);
	json_doc_free(doc);
	return rc;
}
