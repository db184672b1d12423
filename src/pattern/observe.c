/*
 * strait: observations for pattern evaluation from STIX content: each
 * observed-data of a bundle (or a JSON list of objects) with its SCOs,
 * from object_refs (SCOs found by id in the same list) and from the
 * deprecated "objects" container (keyed by "0", "1", ...).
 */
#include "pattern/pattern_int.h"

#include "common/arena.h"
#include "common/json.h"
#include "common/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An object of the list that has an id, for resolving object_refs. */
struct by_id {
	const char *id;
	uint32_t len;
	uint32_t idx;
	const struct json_val *obj;
};

static int by_id_cmp(const void *a, const void *b)
{
	const struct by_id *x = a, *y = b;
	uint32_t n = x->len < y->len ? x->len : y->len;
	int r = memcmp(x->id, y->id, n);
	if (r != 0)
		return r;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

/* The first object of the list with this id, or NULL. */
static const struct json_val *find_id(const struct by_id *ids, size_t n,
				      const struct json_val *ref)
{
	size_t lo = 0, hi = n;
	struct by_id key = {ref->u.str, ref->len, 0, NULL};
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (by_id_cmp(&ids[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < n && ids[lo].len == ref->len &&
	    memcmp(ids[lo].id, ref->u.str, ref->len) == 0)
		return ids[lo].obj;
	return NULL;
}

static int timestamp_prop(const struct json_val *od, const char *name,
			  const char *prop, st_time *out, struct diag *d)
{
	const struct json_val *v = json_get(od, prop);
	if (v == NULL)
		return diag_set(d, ST_EINVAL, "%s: property '%s': missing",
				name, prop);
	if (v->type != JSON_STRING ||
	    ts_parse(v->u.str, v->len, out, NULL) != ST_OK)
		return diag_set(d, ST_EINVAL,
				"%s: property '%s': expected a timestamp "
				"(YYYY-MM-DDTHH:MM:SS[.s]Z), found %s",
				name, prop,
				v->type == JSON_STRING
				    ? "a string that is none"
				    : json_type_name(v->type));
	return ST_OK;
}

/* One observed-data into o. name says which object, for messages. */
static int read_observed(const struct json_val *od, const char *name,
			 const struct by_id *ids, size_t n_ids, struct arena *a,
			 struct pat_observation *o, struct diag *d)
{
	int rc;
	const struct json_val *id = json_get(od, "id");
	o->id = id != NULL && id->type == JSON_STRING ? id->u.str : NULL;
	if ((rc = timestamp_prop(od, name, "first_observed", &o->first_observed,
				 d)) != ST_OK ||
	    (rc = timestamp_prop(od, name, "last_observed", &o->last_observed,
				 d)) != ST_OK)
		return rc;
	if (o->last_observed < o->first_observed)
		return diag_set(d, ST_EINVAL,
				"%s: property 'last_observed': earlier than "
				"first_observed",
				name);
	const struct json_val *num = json_get(od, "number_observed");
	if (num == NULL)
		return diag_set(d, ST_EINVAL,
				"%s: property 'number_observed': missing",
				name);
	if (num->type != JSON_NUMBER || !num->u.num.is_int ||
	    num->u.num.i < 1 || num->u.num.i > 999999999)
		return diag_set(d, ST_EINVAL,
				"%s: property 'number_observed': expected an "
				"integer from 1 to 999999999",
				name);
	o->number_observed = (uint32_t)num->u.num.i;

	const struct json_val *objs = json_get(od, "objects");
	const struct json_val *refs = json_get(od, "object_refs");
	if (objs == NULL && refs == NULL)
		return diag_set(d, ST_EINVAL,
				"%s: expected property 'object_refs' (or the "
				"deprecated 'objects'), found neither",
				name);
	if (objs != NULL && objs->type != JSON_OBJECT)
		return diag_set(d, ST_EINVAL,
				"%s: property 'objects': expected an object, "
				"found %s",
				name, json_type_name(objs->type));
	if (refs != NULL && refs->type != JSON_ARRAY)
		return diag_set(d, ST_EINVAL,
				"%s: property 'object_refs': expected a list, "
				"found %s",
				name, json_type_name(refs->type));
	size_t cap = (objs ? objs->len : 0) + (refs ? refs->len : 0);
	struct pat_sco *scos = arena_alloc(a, (cap ? cap : 1) * sizeof(*scos));
	if (scos == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	size_t k = 0;
	for (uint32_t i = 0; objs != NULL && i < objs->len; i++) {
		const struct json_member *m = &objs->u.members[i];
		if (m->val.type != JSON_OBJECT)
			return diag_set(d, ST_EINVAL,
					"%s: property 'objects': '%s': "
					"expected an object, found %s",
					name, m->key,
					json_type_name(m->val.type));
		scos[k].ref = m->key;
		scos[k].obj = &m->val;
		k++;
	}
	for (uint32_t i = 0; refs != NULL && i < refs->len; i++) {
		const struct json_val *ref = &refs->u.items[i];
		if (ref->type != JSON_STRING)
			return diag_set(d, ST_EINVAL,
					"%s: property 'object_refs': item %u: "
					"expected an id, found %s",
					name, i, json_type_name(ref->type));
		/* A reference to an object not in the list matches nothing;
		 * it is left out. */
		const struct json_val *obj = find_id(ids, n_ids, ref);
		if (obj == NULL)
			continue;
		scos[k].ref = ref->u.str;
		scos[k].obj = obj;
		k++;
	}
	o->objects = scos;
	o->n_objects = k;
	return ST_OK;
}

int pattern_observations(const struct json_val *root, struct arena *a,
			 struct pat_observation **out, size_t *n,
			 struct diag *d)
{
	*out = NULL;
	*n = 0;
	const struct json_val *list = root;
	if (root->type == JSON_OBJECT &&
	    json_str_eq(json_get(root, "type"), "bundle")) {
		list = json_get(root, "objects");
		if (list == NULL)
			return ST_OK; /* an empty bundle */
		if (list->type != JSON_ARRAY)
			return diag_set(d, ST_EINVAL,
					"bundle: property 'objects': expected "
					"a list, found %s",
					json_type_name(list->type));
	} else if (root->type != JSON_ARRAY) {
		return diag_set(d, ST_EINVAL,
				"expected a STIX bundle or a JSON list of "
				"objects, found %s",
				root->type == JSON_OBJECT
				    ? "an object that is no bundle"
				    : json_type_name(root->type));
	}

	size_t n_obs = 0, n_ids = 0;
	for (uint32_t i = 0; i < list->len; i++) {
		const struct json_val *obj = &list->u.items[i];
		if (obj->type != JSON_OBJECT)
			return diag_set(d, ST_EINVAL,
					"objects[%u]: expected an object, "
					"found %s",
					i, json_type_name(obj->type));
		if (json_str_eq(json_get(obj, "type"), "observed-data"))
			n_obs++;
		const struct json_val *id = json_get(obj, "id");
		if (id != NULL && id->type == JSON_STRING)
			n_ids++;
	}
	if (n_obs == 0)
		return ST_OK;

	struct by_id *ids = malloc((n_ids ? n_ids : 1) * sizeof(*ids));
	struct pat_observation *obs = arena_alloc(a, n_obs * sizeof(*obs));
	if (ids == NULL || obs == NULL) {
		free(ids);
		return diag_set(d, ST_ENOMEM, "out of memory");
	}
	size_t k = 0;
	for (uint32_t i = 0; i < list->len; i++) {
		const struct json_val *id = json_get(&list->u.items[i], "id");
		if (id != NULL && id->type == JSON_STRING) {
			ids[k].id = id->u.str;
			ids[k].len = id->len;
			ids[k].idx = i;
			ids[k].obj = &list->u.items[i];
			k++;
		}
	}
	qsort(ids, n_ids, sizeof(*ids), by_id_cmp);

	int rc = ST_OK;
	k = 0;
	for (uint32_t i = 0; i < list->len && rc == ST_OK; i++) {
		const struct json_val *obj = &list->u.items[i];
		if (!json_str_eq(json_get(obj, "type"), "observed-data"))
			continue;
		char name[160];
		const struct json_val *id = json_get(obj, "id");
		if (id != NULL && id->type == JSON_STRING)
			snprintf(name, sizeof(name), "%s", id->u.str);
		else
			snprintf(name, sizeof(name), "objects[%u]", i);
		memset(&obs[k], 0, sizeof(obs[k]));
		rc = read_observed(obj, name, ids, n_ids, a, &obs[k], d);
		k++;
	}
	free(ids);
	if (rc != ST_OK)
		return rc;
	*out = obs;
	*n = n_obs;
	return ST_OK;
}
