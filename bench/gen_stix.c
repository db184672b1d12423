/*
 * Realistic STIX 2.1 objects for the benchmarks (see gen_stix.h). The mix
 * and sizes follow what national feeds carry.
 */
#include "gen_stix.h"

#include "common/buf.h"
#include "common/uuid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_SEED 0x9e3779b97f4a7c15ull

void gen_stix_init(struct gen_stix *g, uint64_t seed)
{
	g->rng = seed != 0 ? seed : DEFAULT_SEED;
	g->nrecent = 0;
}

uint64_t gen_stix_next(struct gen_stix *g)
{
	g->rng ^= g->rng << 13;
	g->rng ^= g->rng >> 7;
	g->rng ^= g->rng << 17;
	return g->rng;
}

static unsigned pick(struct gen_stix *g, unsigned n)
{
	return (unsigned)(gen_stix_next(g) % n);
}

static void rand_uuid(struct gen_stix *g, char out[UUID_STRLEN + 1])
{
	uint8_t u[16];
	uint64_t a = gen_stix_next(g), b = gen_stix_next(g);
	memcpy(u, &a, 8);
	memcpy(u + 8, &b, 8);
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
	uuid_format(u, out);
}

static const char *const tlp_ids[] = {
    "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
};

static const char *const words[] = {
    "lazarus", "kimsuky", "andariel", "applejeus", "babyshark", "exchange",
    "wallet",  "update",  "secure",   "login",	   "portal",	"trade",
    "crypto",  "bridge",  "defi",     "recruit",   "invest",	"gov",
    "mail",    "cdn",	  "static",   "helper",	   "service",	"account",
    "verify",  "notice",  "policy"};
#define NWORDS (sizeof(words) / sizeof(words[0]))

/* Ids of recent objects, to reference from relationships and reports. */
static void remember(struct gen_stix *g, const char *id)
{
	snprintf(g->recent[g->nrecent % GEN_STIX_RECENT], sizeof(g->recent[0]),
		 "%s", id);
	g->nrecent++;
}

static const char *recent_id(struct gen_stix *g)
{
	unsigned n =
	    g->nrecent < GEN_STIX_RECENT ? g->nrecent : GEN_STIX_RECENT;
	return g->recent[pick(g, n)];
}

static void timestamp(struct gen_stix *g, char out[32], unsigned day,
		      unsigned sec)
{
	snprintf(out, 32, "2025-%02u-%02uT%02u:%02u:%02u.%03uZ", 1 + day % 12,
		 1 + day % 28, sec / 3600 % 24, sec / 60 % 60, sec % 60,
		 pick(g, 1000));
}

static void common(struct gen_stix *g, struct jw *w, const char *type,
		   const char *id, const char *creator, bool sco)
{
	jw_key(w, "type");
	jw_str(w, type);
	jw_key(w, "spec_version");
	jw_str(w, "2.1");
	jw_key(w, "id");
	jw_str(w, id);
	if (sco)
		return;
	char ts[32];
	timestamp(g, ts, pick(g, 300), pick(g, 86400));
	jw_key(w, "created");
	jw_str(w, ts);
	jw_key(w, "modified");
	jw_str(w, ts);
	if (creator != NULL) {
		jw_key(w, "created_by_ref");
		jw_str(w, creator);
	}
	unsigned m = pick(g, 10);
	if (m < 8) {
		jw_key(w, "object_marking_refs");
		jw_arr_open(w);
		jw_str(w, tlp_ids[m % 4]);
		jw_arr_close(w);
	}
}

static void value(struct gen_stix *g, char *out, size_t cap, unsigned kind)
{
	switch (kind) {
	case 0:
		snprintf(out, cap, "%u.%u.%u.%u", 1 + pick(g, 223),
			 pick(g, 256), pick(g, 256), 1 + pick(g, 254));
		break;
	case 1:
		snprintf(out, cap, "%s-%s%u.%s", words[pick(g, NWORDS)],
			 words[pick(g, NWORDS)], pick(g, 1000),
			 pick(g, 2) ? "com" : "net");
		break;
	case 2:
		snprintf(out, cap, "https://%s.%s%u.org/%s/%s.php?id=%u",
			 words[pick(g, NWORDS)], words[pick(g, NWORDS)],
			 pick(g, 1000), words[pick(g, NWORDS)],
			 words[pick(g, NWORDS)], pick(g, 100000));
		break;
	default: {
		static const char hex[] = "0123456789abcdef";
		size_t i;
		for (i = 0; i < 64 && i + 1 < cap; i++)
			out[i] = hex[gen_stix_next(g) & 15];
		out[i] = '\0';
	}
	}
}

void gen_stix_indicator_members(struct gen_stix *g, struct jw *w)
{
	char id[80], uuid[UUID_STRLEN + 1], v[256], pat[400], ts[32];
	rand_uuid(g, uuid);
	snprintf(id, sizeof(id), "indicator--%s", uuid);
	common(g, w, "indicator", id, GEN_STIX_CREATOR, false);
	unsigned kind = pick(g, 4);
	value(g, v, sizeof(v), kind);
	static const char *const paths[] = {"ipv4-addr:value",
					    "domain-name:value", "url:value",
					    "file:hashes.'SHA-256'"};
	snprintf(pat, sizeof(pat), "[%s = '%s']", paths[kind], v);
	jw_key(w, "name");
	jw_str(w, v);
	jw_key(w, "description");
	jw_str(w, "Observed in DPRK-attributed activity against exchanges "
		  "and policy researchers; block and report sightings.");
	jw_key(w, "indicator_types");
	jw_arr_open(w);
	jw_str(w, "malicious-activity");
	jw_arr_close(w);
	jw_key(w, "pattern");
	jw_str(w, pat);
	jw_key(w, "pattern_type");
	jw_str(w, "stix");
	timestamp(g, ts, pick(g, 300), pick(g, 86400));
	jw_key(w, "valid_from");
	jw_str(w, ts);
	jw_key(w, "confidence");
	jw_int(w, 50 + pick(g, 50));
	jw_key(w, "labels");
	jw_arr_open(w);
	jw_str(w, words[pick(g, NWORDS)]);
	jw_str(w, "dprk");
	jw_arr_close(w);
	jw_key(w, "kill_chain_phases");
	jw_arr_open(w);
	jw_obj_open(w);
	jw_key(w, "kill_chain_name");
	jw_str(w, "mitre-attack");
	jw_key(w, "phase_name");
	jw_str(w, "command-and-control");
	jw_obj_close(w);
	jw_arr_close(w);
	remember(g, id);
}

static void sco(struct gen_stix *g, struct jw *w)
{
	char v[256], name[300], id[80], uuid[UUID_STRLEN + 1];
	uint8_t u[16];
	unsigned kind = pick(g, 4);
	static const char *const types[] = {"ipv4-addr", "domain-name", "url",
					    "file"};
	value(g, v, sizeof(v), kind);
	if (kind == 3)
		snprintf(name, sizeof(name),
			 "{\"hashes\":{\"SHA-256\":\"%s\"}}", v);
	else
		snprintf(name, sizeof(name), "{\"value\":\"%s\"}", v);
	uuid_v5(UUID_NS_STIX, name, strlen(name), u);
	uuid_format(u, uuid);
	snprintf(id, sizeof(id), "%s--%s", types[kind], uuid);
	jw_obj_open(w);
	common(g, w, types[kind], id, NULL, true);
	if (kind == 3) {
		jw_key(w, "hashes");
		jw_obj_open(w);
		jw_key(w, "SHA-256");
		jw_str(w, v);
		jw_obj_close(w);
	} else {
		jw_key(w, "value");
		jw_str(w, v);
	}
	jw_obj_close(w);
	remember(g, id);
}

static void relationship(struct gen_stix *g, struct jw *w, const char *creator)
{
	char id[80], uuid[UUID_STRLEN + 1];
	rand_uuid(g, uuid);
	snprintf(id, sizeof(id), "relationship--%s", uuid);
	jw_obj_open(w);
	common(g, w, "relationship", id, creator, false);
	static const char *const kinds[] = {"indicates", "uses", "targets",
					    "related-to", "attributed-to"};
	jw_key(w, "relationship_type");
	jw_str(w, kinds[pick(g, 5)]);
	jw_key(w, "source_ref");
	jw_str(w, recent_id(g));
	jw_key(w, "target_ref");
	jw_str(w, recent_id(g));
	jw_obj_close(w);
}

static void sighting(struct gen_stix *g, struct jw *w, const char *creator)
{
	char id[80], uuid[UUID_STRLEN + 1], ts[32], ts2[32];
	rand_uuid(g, uuid);
	snprintf(id, sizeof(id), "sighting--%s", uuid);
	jw_obj_open(w);
	common(g, w, "sighting", id, creator, false);
	unsigned day = pick(g, 300);
	timestamp(g, ts, day, 3600);
	timestamp(g, ts2, day, 7200);
	jw_key(w, "sighting_of_ref");
	char ind[80];
	rand_uuid(g, uuid);
	snprintf(ind, sizeof(ind), "indicator--%s", uuid);
	jw_str(w, ind);
	jw_key(w, "count");
	jw_int(w, 1 + pick(g, 50));
	jw_key(w, "first_seen");
	jw_str(w, ts);
	jw_key(w, "last_seen");
	jw_str(w, ts2);
	jw_key(w, "where_sighted_refs");
	jw_arr_open(w);
	jw_str(w, creator);
	jw_arr_close(w);
	jw_obj_close(w);
}

static void report(struct gen_stix *g, struct jw *w, const char *creator)
{
	char id[80], uuid[UUID_STRLEN + 1], ts[32];
	rand_uuid(g, uuid);
	snprintf(id, sizeof(id), "report--%s", uuid);
	jw_obj_open(w);
	common(g, w, "report", id, creator, false);
	jw_key(w, "name");
	jw_str(w, "Weekly joint bulletin on DPRK cyber operations");
	jw_key(w, "description");
	jw_str(w, "Indicators and relationships shared among the partner "
		  "centres this week, with sightings and analyst notes.");
	jw_key(w, "report_types");
	jw_arr_open(w);
	jw_str(w, "threat-report");
	jw_arr_close(w);
	timestamp(g, ts, pick(g, 300), pick(g, 86400));
	jw_key(w, "published");
	jw_str(w, ts);
	jw_key(w, "object_refs");
	jw_arr_open(w);
	unsigned n = 10 + pick(g, 40);
	for (unsigned i = 0; i < n; i++)
		jw_str(w, recent_id(g));
	jw_arr_close(w);
	jw_obj_close(w);
}

static void named_sdo(struct gen_stix *g, struct jw *w, const char *creator)
{
	static const char *const types[] = {
	    "malware", "intrusion-set", "attack-pattern", "identity", "note"};
	unsigned k = pick(g, 5);
	char id[80], uuid[UUID_STRLEN + 1], name[128];
	rand_uuid(g, uuid);
	snprintf(id, sizeof(id), "%s--%s", types[k], uuid);
	snprintf(name, sizeof(name), "%s %s %u", words[pick(g, NWORDS)],
		 words[pick(g, NWORDS)], pick(g, 10000));
	jw_obj_open(w);
	common(g, w, types[k], id, creator, false);
	switch (k) {
	case 0:
		jw_key(w, "name");
		jw_str(w, name);
		jw_key(w, "is_family");
		jw_bool(w, true);
		jw_key(w, "malware_types");
		jw_arr_open(w);
		jw_str(w, "remote-access-trojan");
		jw_arr_close(w);
		break;
	case 1:
	case 2:
		jw_key(w, "name");
		jw_str(w, name);
		jw_key(w, "description");
		jw_str(w, "Tracked by the partner centres.");
		break;
	case 3:
		jw_key(w, "name");
		jw_str(w, name);
		jw_key(w, "identity_class");
		jw_str(w, "organization");
		break;
	default:
		jw_key(w, "content");
		jw_str(w, "Analyst note: infrastructure reused from an earlier "
			  "wave; 同じ基盤 / 동일 인프라.");
		jw_key(w, "object_refs");
		jw_arr_open(w);
		jw_str(w, recent_id(g));
		jw_arr_close(w);
	}
	jw_obj_close(w);
	remember(g, id);
}

void gen_stix_object(struct gen_stix *g, struct jw *w)
{
	const char *creator = GEN_STIX_CREATOR;
	unsigned r = pick(g, 100);
	if (g->nrecent < 16 || r < 35) {
		jw_obj_open(w);
		gen_stix_indicator_members(g, w);
		jw_obj_close(w);
	} else if (r < 60) {
		sco(g, w);
	} else if (r < 80) {
		relationship(g, w, creator);
	} else if (r < 88) {
		sighting(g, w, creator);
	} else if (r < 90) {
		report(g, w, creator);
	} else {
		named_sdo(g, w, creator);
	}
}
