/*
 * strait: TLP markings. The nine built-in marking definitions (TLP 1.0 in
 * STIX 2.1 section 7.2.1.4, TLP 2.0 from the OASIS extension
 * extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d) are pinned:
 * their ids stand for a level whatever an incoming object says, and an
 * object that reuses one of the ids must be the built-in definition.
 */
#include "stix/stix_int.h"

#include <string.h>
#include <strings.h>

#define MD_PREFIX "marking-definition--"
#define MD_PREFIX_LEN (sizeof(MD_PREFIX) - 1)
#define TLP2_EXT "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"

struct pinned {
	const char *uuid;
	enum tlp level;
	bool v2;
	const char *name;  /* "TLP:GREEN" */
	const char *value; /* definition.tlp or tlp_2_0 */
	const char *created;
};

static const struct pinned pinned[] = {
    {"613f2e26-407d-48c7-9eca-b8e91df99dc9", TLP_CLEAR, false, "TLP:WHITE",
     "white", "2017-01-20T00:00:00.000Z"},
    {"34098fce-860f-48ae-8e50-ebd3cc5e41da", TLP_GREEN, false, "TLP:GREEN",
     "green", "2017-01-20T00:00:00.000Z"},
    {"f88d31f6-486f-44da-b317-01333bde0b82", TLP_AMBER, false, "TLP:AMBER",
     "amber", "2017-01-20T00:00:00.000Z"},
    {"5e57c739-391a-4eb3-b6be-7d15ca92d5ed", TLP_RED, false, "TLP:RED", "red",
     "2017-01-20T00:00:00.000Z"},
    {"94868c89-83c2-464b-929b-a1a8aa3c8487", TLP_CLEAR, true, "TLP:CLEAR",
     "clear", "2022-10-01T00:00:00.000Z"},
    {"bab4a63c-aed9-4cf5-a766-dfca5abac2bb", TLP_GREEN, true, "TLP:GREEN",
     "green", "2022-10-01T00:00:00.000Z"},
    {"55d920b0-5e8b-4f79-9ee9-91f868d9b421", TLP_AMBER, true, "TLP:AMBER",
     "amber", "2022-10-01T00:00:00.000Z"},
    {"939a9414-2ddd-4d32-a0cd-375ea402b003", TLP_AMBER_STRICT, true,
     "TLP:AMBER+STRICT", "amber+strict", "2022-10-01T00:00:00.000Z"},
    {"e828b379-4e03-4974-9ac4-e53a884c97c1", TLP_RED, true, "TLP:RED", "red",
     "2022-10-01T00:00:00.000Z"},
};

#define NPINNED (sizeof(pinned) / sizeof(pinned[0]))

static int find_pinned(const char *id, size_t len)
{
	if (id == NULL || len != MD_PREFIX_LEN + 36 ||
	    memcmp(id, MD_PREFIX, MD_PREFIX_LEN) != 0)
		return -1;
	for (size_t i = 0; i < NPINNED; i++) {
		if (memcmp(id + MD_PREFIX_LEN, pinned[i].uuid, 36) == 0)
			return (int)i;
	}
	return -1;
}

int tlp_of_marking_id(const char *id, size_t len)
{
	int p = find_pinned(id, len);
	return p < 0 ? -1 : (int)pinned[p].level;
}

const char *tlp_marking_id(enum tlp t)
{
	/* The TLP 2.0 rows of the pinned table above. */
	static const char *const ids[] = {
	    [TLP_CLEAR] = MD_PREFIX "94868c89-83c2-464b-929b-a1a8aa3c8487",
	    [TLP_GREEN] = MD_PREFIX "bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
	    [TLP_AMBER] = MD_PREFIX "55d920b0-5e8b-4f79-9ee9-91f868d9b421",
	    [TLP_AMBER_STRICT] =
		MD_PREFIX "939a9414-2ddd-4d32-a0cd-375ea402b003",
	    [TLP_RED] = MD_PREFIX "e828b379-4e03-4974-9ac4-e53a884c97c1",
	};
	return (unsigned)t <= TLP_RED ? ids[t] : NULL;
}

const char *tlp_name(enum tlp t)
{
	switch (t) {
	case TLP_CLEAR:
		return "CLEAR";
	case TLP_GREEN:
		return "GREEN";
	case TLP_AMBER:
		return "AMBER";
	case TLP_AMBER_STRICT:
		return "AMBER+STRICT";
	case TLP_RED:
		return "RED";
	case TLP_NONE:
		return "NONE";
	}
	return "NONE";
}

int tlp_parse(const char *s, enum tlp *out)
{
	static const struct {
		const char *name;
		enum tlp level;
	} names[] = {
	    {"clear", TLP_CLEAR},
	    {"white", TLP_CLEAR},
	    {"green", TLP_GREEN},
	    {"amber", TLP_AMBER},
	    {"amber+strict", TLP_AMBER_STRICT},
	    {"amber-strict", TLP_AMBER_STRICT},
	    {"red", TLP_RED},
	    {"none", TLP_NONE},
	};
	if (s == NULL)
		return ST_EINVAL;
	if (strncasecmp(s, "tlp:", 4) == 0)
		s += 4;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(s, names[i].name) == 0) {
			*out = names[i].level;
			return ST_OK;
		}
	}
	return ST_EINVAL;
}

/* ------------------------------------------------------------------ */
/* Marking-definition objects                                           */
/* ------------------------------------------------------------------ */

static const struct json_val *get(const struct json_val *o, const char *k)
{
	return json_get(o, k);
}

/* An object with exactly these string members (NULL-terminated pairs). */
static bool exact_strings(const struct json_val *o, const char *const *kv)
{
	uint32_t n = 0;
	if (o == NULL || o->type != JSON_OBJECT)
		return false;
	for (; kv[0] != NULL; kv += 2, n++) {
		if (!json_str_eq(get(o, kv[0]), kv[1]))
			return false;
	}
	return o->len == n;
}

static void redefines(struct vctx *c, const struct pinned *p, const char *key,
		      const char *why)
{
	if (key != NULL)
		stix_issue_key(c, true, key,
			       "redefines the built-in %s marking (%s)",
			       p->name, why);
	else
		stix_issue(c, true, "redefines the built-in %s marking (%s)",
			   p->name, why);
}

static void check_builtin(struct vctx *c, struct frame *f,
			  const struct pinned *p)
{
	static const char *const allowed[] = {
	    "type", "spec_version",    "id",	     "created",
	    "name", "definition_type", "definition", "extensions",
	};
	const struct json_val *o = f->o;
	const struct json_val *name = get(o, "name");
	const struct json_val *created = get(o, "created");
	st_time want, got;

	for (uint32_t i = 0; i < o->len; i++) {
		const struct json_member *m = &o->u.members[i];
		bool ok = false;
		for (size_t k = 0; k < sizeof(allowed) / sizeof(*allowed); k++)
			ok |= strlen(allowed[k]) == m->klen &&
			      memcmp(allowed[k], m->key, m->klen) == 0;
		if (!ok) {
			char key[64];
			size_t kl = m->klen < sizeof(key) - 1 ? m->klen
							      : sizeof(key) - 1;
			memcpy(key, m->key, kl);
			key[kl] = '\0';
			redefines(c, p, key, "a property it does not have");
		}
	}
	if (name != NULL && !json_str_eq(name, p->name))
		redefines(c, p, "name", "a different name");
	if (created != NULL && created->type == JSON_STRING &&
	    ts_parse(p->created, strlen(p->created), &want, NULL) == ST_OK &&
	    ts_parse(created->u.str, created->len, &got, NULL) == ST_OK &&
	    want != got)
		stix_issue_key(c, false, "created",
			       "differs from the built-in %s definition's "
			       "(%s)",
			       p->name, p->created);

	if (!p->v2) {
		const char *def[] = {"tlp", p->value, NULL};
		if (!json_str_eq(get(o, "definition_type"), "tlp"))
			redefines(c, p, "definition_type",
				  "definition_type is not \"tlp\"");
		if (!exact_strings(get(o, "definition"), def))
			redefines(c, p, "definition", "a different definition");
		if (get(o, "extensions") != NULL)
			redefines(c, p, "extensions", "extensions added");
	} else {
		const struct json_val *ext = get(o, "extensions");
		const char *want_ext[] = {"extension_type",
					  "property-extension", "tlp_2_0",
					  p->value, NULL};
		if (get(o, "definition_type") != NULL ||
		    get(o, "definition") != NULL)
			redefines(c, p, NULL, "a TLP 1.0 definition added");
		if (ext == NULL || ext->type != JSON_OBJECT || ext->len != 1 ||
		    !exact_strings(json_get(ext, TLP2_EXT), want_ext))
			redefines(c, p, "extensions",
				  "a different TLP 2.0 extension");
	}
}

void stix_check_marking_definition(struct vctx *c, struct frame *f)
{
	char vbuf[80];
	const struct json_val *dt = stix_fval(f, "definition_type");
	const struct json_val *def = stix_fval(f, "definition");
	const struct json_val *ext = stix_fval(f, "extensions");
	const struct json_val *name = stix_fval(f, "name");
	const struct json_val *omr = stix_fval(f, "object_marking_refs");
	const char *id = c->info->id;
	int p = find_pinned(id, strlen(id));

	if (ext == NULL) {
		if (dt == NULL)
			stix_issue_key(c, true, "definition_type",
				       "required when extensions is absent");
		if (def == NULL)
			stix_issue_key(c, true, "definition",
				       "required when extensions is absent");
	}
	if (def != NULL && def->type == JSON_OBJECT) {
		const struct json_val *st = json_get(def, "statement");
		const struct json_val *tl = json_get(def, "tlp");
		if (json_str_eq(dt, "statement") &&
		    (st == NULL || st->type != JSON_STRING))
			stix_issue_key(c, true, "definition",
				       "a statement marking needs a "
				       "\"statement\" string");
		if (json_str_eq(dt, "tlp") &&
		    (tl == NULL || tl->type != JSON_STRING))
			stix_issue_key(c, true, "definition",
				       "a TLP marking needs a \"tlp\" string");
	}
	if (json_str_eq(dt, "tlp") && p < 0 && id[0] != '\0')
		stix_issue_key(c, true, "definition_type",
			       "only the four built-in TLP marking "
			       "definitions may use definition_type \"tlp\"");
	for (uint32_t i = 0;
	     omr != NULL && omr->type == JSON_ARRAY && i < omr->len; i++) {
		if (id[0] != '\0' && json_str_eq(&omr->u.items[i], id))
			stix_issue_key(c, true, "object_marking_refs",
				       "a marking definition must not mark "
				       "itself");
	}
	if (p >= 0) {
		check_builtin(c, f, &pinned[p]);
		return;
	}
	if (name != NULL && name->type == JSON_STRING && name->len >= 4 &&
	    strncasecmp(name->u.str, "TLP:", 4) == 0)
		stix_issue_key(c, false, "name",
			       "%s is not one of the built-in TLP marking "
			       "definitions: strait does not treat it as TLP",
			       stix_fmt_val(name, vbuf, sizeof(vbuf)));
	if (ext != NULL && ext->type == JSON_OBJECT &&
	    json_get(ext, TLP2_EXT) != NULL)
		stix_issue_key(c, false, "extensions",
			       "a TLP 2.0 marking with an id that is not one "
			       "of the five built-in ones: strait does not "
			       "treat it as TLP");
}
