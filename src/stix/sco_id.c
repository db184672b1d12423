/*
 * strait: deterministic SCO identifiers (STIX 2.1 sections 2.9 and 3.4):
 * UUIDv5 in the STIX namespace over the RFC 8785 canonical JSON of an
 * object holding the type's ID contributing properties that are present.
 * For "hashes", one hash only: the first present of MD5, SHA-1, SHA-256,
 * SHA-512, else the first in document order (as cti-python-stix2 does).
 * Values are taken as they are written (a timestamp is not reformatted).
 */
#include "stix/stix_int.h"

#include "common/uuid.h"

#include <string.h>

/* Canonical forms longer than this are not worth a deterministic id. */
#define SCO_ID_MAX_JSON (16u << 20)

static const struct json_member *find(const struct json_val *o, const char *key)
{
	size_t len = strlen(key);
	for (uint32_t i = 0; i < o->len; i++) {
		const struct json_member *m = &o->u.members[i];
		if (m->klen == len && memcmp(m->key, key, len) == 0)
			return m;
	}
	return NULL;
}

static const struct json_member *one_hash(const struct json_val *h)
{
	static const char *const pref[] = {"MD5", "SHA-1", "SHA-256",
					   "SHA-512"};
	for (size_t i = 0; i < sizeof(pref) / sizeof(pref[0]); i++) {
		const struct json_member *m = find(h, pref[i]);
		if (m != NULL)
			return m;
	}
	return &h->u.members[0];
}

int stix_sco_uuid5(const struct json_val *obj, int tid, uint8_t uuid[16])
{
	const char *const *ids = stix_types[tid].idprops;
	struct json_member mem[8];
	struct json_val root;
	struct buf b;
	uint32_t n = 0;
	int rc;

	if (ids == NULL || obj == NULL || obj->type != JSON_OBJECT)
		return ST_EINVAL;
	for (; *ids != NULL && n < 8; ids++) {
		const struct json_member *m = find(obj, *ids);
		if (m == NULL)
			continue;
		mem[n] = *m;
		if (strcmp(*ids, "hashes") == 0 && m->val.type == JSON_OBJECT &&
		    m->val.len > 0) {
			/* a one-member view of the chosen hash */
			mem[n].val.len = 1;
			mem[n].val.u.members =
			    (struct json_member *)one_hash(&m->val);
		}
		n++;
	}
	if (n == 0)
		return 0;
	root.type = JSON_OBJECT;
	root.len = n;
	root.u.members = mem;
	buf_init(&b, SCO_ID_MAX_JSON);
	rc = json_canonical(&root, &b, NULL);
	if (rc == ST_OK)
		uuid_v5(UUID_NS_STIX, b.data, b.len, uuid);
	buf_free(&b);
	return rc == ST_OK ? 1 : rc;
}

int stix_sco_id(const struct json_val *obj, uint8_t uuid[16])
{
	const struct json_val *type = json_get(obj, "type");
	int tid, rc;
	if (type == NULL || type->type != JSON_STRING)
		return ST_EINVAL;
	tid = stix_type_find(type->u.str, type->len);
	if (tid < 0 || stix_types[tid].kind != STIX_SCO)
		return ST_EINVAL;
	rc = stix_sco_uuid5(obj, tid, uuid);
	if (rc < 0)
		return rc;
	if (rc == 0)
		uuid_v4(uuid);
	return ST_OK;
}
