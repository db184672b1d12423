/*
 * strait: the STIX 2.1 object model as data. One table per type lists its
 * properties with their kind and whether they are required; vocabularies,
 * value ranges and reference targets are tables too. Adding a property is
 * a row here, not code in validate.c.
 */
#include "stix/stix_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Vocabularies (section 10, with the Errata 01 additions)              */
/* ------------------------------------------------------------------ */

#define VOCAB(id, nm, arr) \
	[id] = {(nm), (arr), (uint8_t)(sizeof(arr) / sizeof((arr)[0]))}

static const char *const account_type[] = {
    "facebook", "ldap",	   "nis",  "openid",	    "radius",	      "skype",
    "tacacs",	"twitter", "unix", "windows-local", "windows-domain",
};
static const char *const attack_motivation[] = {
    "accidental",    "coercion",
    "dominance",     "ideology",
    "notoriety",     "organizational-gain",
    "personal-gain", "personal-satisfaction",
    "revenge",	     "unpredictable",
};
static const char *const attack_resource_level[] = {
    "individual", "club", "contest", "team", "organization", "government",
};
static const char *const encryption_algorithm[] = {
    "AES-256-GCM",
    "ChaCha20-Poly1305",
    "mime-type-indicated",
};
static const char *const extension_type[] = {
    "new-sdo",
    "new-sco",
    "new-sro",
    "property-extension",
    "toplevel-property-extension",
};
static const char *const grouping_context[] = {
    "suspicious-activity",
    "malware-analysis",
    "unspecified",
};
static const char *const identity_class[] = {
    "individual", "group", "system", "organization", "class", "unknown",
};
static const char *const implementation_language[] = {
    "applescript", "bash",	   "c",	     "c++",	    "c#",    "go",
    "java",	   "javascript",   "lua",    "objective-c", "perl",  "php",
    "powershell",  "python",	   "ruby",   "rust",	    "scala", "swift",
    "typescript",  "visual-basic", "x86-32", "x86-64",
};
static const char *const indicator_type[] = {
    "anomalous-activity", "anonymization", "benign",  "compromised",
    "malicious-activity", "attribution",   "unknown",
};
static const char *const industry_sector[] = {
    "agriculture",
    "aerospace",
    "automotive",
    "chemical",
    "commercial",
    "communications",
    "construction",
    "defense",
    "education",
    "energy",
    "entertainment",
    "financial-services",
    "government",
    "emergency-services",
    "government-national",
    "government-regional",
    "government-local",
    "government-public-services",
    "healthcare",
    "hospitality-leisure",
    "infrastructure",
    "dams",
    "nuclear",
    "water",
    "insurance",
    "legal",
    "manufacturing",
    "mining",
    "non-profit",
    "pharmaceuticals",
    "retail",
    "technology",
    "telecommunications",
    "transportation",
    "utilities",
};
static const char *const infrastructure_type[] = {
    "amplification",
    "anonymization",
    "botnet",
    "command-and-control",
    "control-system",
    "exfiltration",
    "firewall",
    "hosting-malware",
    "hosting-target-lists",
    "phishing",
    "reconnaissance",
    "routers-switches",
    "staging",
    "workstation",
    "unknown",
};
static const char *const malware_capabilities[] = {
    "accesses-remote-machines",
    "anti-debugging",
    "anti-disassembly",
    "anti-emulation",
    "anti-memory-forensics",
    "anti-sandbox",
    "anti-vm",
    "captures-input-peripherals",
    "captures-output-peripherals",
    "captures-system-state-data",
    "cleans-traces-of-infection",
    "commits-fraud",
    "communicates-with-c2",
    "compromises-data-availability",
    "compromises-data-integrity",
    "compromises-system-availability",
    "controls-local-machine",
    "degrades-security-software",
    "degrades-system-updates",
    "determines-c2-server",
    "emails-spam",
    "escalates-privileges",
    "evades-av",
    "exfiltrates-data",
    "fingerprints-host",
    "hides-artifacts",
    "hides-executing-code",
    "infects-files",
    "infects-remote-machines",
    "installs-other-components",
    "persists-after-system-reboot",
    "prevents-artifact-access",
    "prevents-artifact-deletion",
    "probes-network-environment",
    "self-modifies",
    "steals-authentication-credentials",
    "violates-system-operational-integrity",
};
static const char *const malware_result[] = {
    "malicious",
    "suspicious",
    "benign",
    "unknown",
};
static const char *const malware_type[] = {
    "adware",
    "backdoor",
    "bot",
    "bootkit",
    "ddos",
    "downloader",
    "dropper",
    "exploit-kit",
    "keylogger",
    "ransomware",
    "remote-access-trojan",
    "resource-exploitation",
    "rogue-security-software",
    "rootkit",
    "screen-capture",
    "spyware",
    "trojan",
    "unknown",
    "virus",
    "webshell",
    "wiper",
    "worm",
};
static const char *const marking_definition_type[] = {
    "statement",
    "tlp",
};
static const char *const socket_address_family[] = {
    "AF_UNSPEC",  "AF_INET",  "AF_IPX",	 "AF_APPLETALK",
    "AF_NETBIOS", "AF_INET6", "AF_IRDA", "AF_BTH",
};
static const char *const socket_type[] = {
    "SOCK_STREAM", "SOCK_DGRAM", "SOCK_RAW", "SOCK_RDM", "SOCK_SEQPACKET",
};
static const char *const opinion[] = {
    "strongly-disagree", "disagree", "neutral", "agree", "strongly-agree",
};
static const char *const pattern_type[] = {
    "stix", "pcre", "sigma", "snort", "suricata", "yara",
};
static const char *const processor_architecture[] = {
    "alpha", "arm", "ia-64", "mips", "powerpc", "sparc", "x86", "x86-64",
};
static const char *const region[] = {
    "africa",
    "eastern-africa",
    "middle-africa",
    "northern-africa",
    "southern-africa",
    "western-africa",
    "americas",
    "latin-america-caribbean",
    "south-america",
    "caribbean",
    "central-america",
    "northern-america",
    "asia",
    "central-asia",
    "eastern-asia",
    "southern-asia",
    "south-eastern-asia",
    "western-asia",
    "europe",
    "eastern-europe",
    "northern-europe",
    "southern-europe",
    "western-europe",
    "oceania",
    "antarctica",
    "australia-new-zealand",
    "melanesia",
    "micronesia",
    "polynesia",
};
static const char *const report_type[] = {
    "attack-pattern", "campaign",      "identity", "incident",
    "indicator",      "intrusion-set", "malware",  "observed-data",
    "threat-actor",   "threat-report", "tool",	   "vulnerability",
};
static const char *const threat_actor_type[] = {
    "activist",
    "competitor",
    "crime-syndicate",
    "criminal",
    "hacker",
    "insider-accidental",
    "insider-disgruntled",
    "nation-state",
    "private-sector",
    "sensationalist",
    "spy",
    "terrorist",
    "unknown",
};
static const char *const threat_actor_role[] = {
    "agent",
    "director",
    "independent",
    "infrastructure-architect",
    "infrastructure-operator",
    "malware-author",
    "sponsor",
};
static const char *const threat_actor_sophistication[] = {
    "none",   "minimal",   "intermediate", "advanced",
    "expert", "innovator", "strategic",
};
static const char *const tool_type[] = {
    "denial-of-service",       "exploitation",
    "information-gathering",   "network-capture",
    "credential-exploitation", "remote-access",
    "vulnerability-scanning",  "unknown",
};
static const char *const windows_integrity_level[] = {
    "low",
    "medium",
    "high",
    "system",
};
static const char *const windows_pebinary_type[] = {
    "dll",
    "exe",
    "sys",
};
static const char *const windows_registry_datatype[] = {
    "REG_NONE",
    "REG_SZ",
    "REG_EXPAND_SZ",
    "REG_BINARY",
    "REG_DWORD",
    "REG_DWORD_BIG_ENDIAN",
    "REG_DWORD_LITTLE_ENDIAN",
    "REG_LINK",
    "REG_MULTI_SZ",
    "REG_RESOURCE_LIST",
    "REG_FULL_RESOURCE_DESCRIPTION",
    "REG_RESOURCE_REQUIREMENTS_LIST",
    "REG_QWORD",
    "REG_INVALID_TYPE",
};
static const char *const windows_service_start_type[] = {
    "SERVICE_AUTO_START", "SERVICE_BOOT_START",	  "SERVICE_DEMAND_START",
    "SERVICE_DISABLED",	  "SERVICE_SYSTEM_ALERT",
};
static const char *const windows_service_type[] = {
    "SERVICE_KERNEL_DRIVER",
    "SERVICE_FILE_SYSTEM_DRIVER",
    "SERVICE_WIN32_OWN_PROCESS",
    "SERVICE_WIN32_SHARE_PROCESS",
};
static const char *const windows_service_status[] = {
    "SERVICE_CONTINUE_PENDING", "SERVICE_PAUSE_PENDING", "SERVICE_PAUSED",
    "SERVICE_RUNNING",		"SERVICE_START_PENDING", "SERVICE_STOP_PENDING",
    "SERVICE_STOPPED",
};

const struct vocab stix_vocabs[V__COUNT] = {
    VOCAB(V_ACCOUNT_TYPE, "account-type-ov", account_type),
    VOCAB(V_ATTACK_MOTIVATION, "attack-motivation-ov", attack_motivation),
    VOCAB(V_ATTACK_RESOURCE_LEVEL, "attack-resource-level-ov",
	  attack_resource_level),
    VOCAB(V_ENCRYPTION_ALGORITHM, "encryption-algorithm-enum",
	  encryption_algorithm),
    VOCAB(V_EXTENSION_TYPE, "extension-type-enum", extension_type),
    VOCAB(V_GROUPING_CONTEXT, "grouping-context-ov", grouping_context),
    VOCAB(V_IDENTITY_CLASS, "identity-class-ov", identity_class),
    VOCAB(V_IMPLEMENTATION_LANGUAGE, "implementation-language-ov",
	  implementation_language),
    VOCAB(V_INDICATOR_TYPE, "indicator-type-ov", indicator_type),
    VOCAB(V_INDUSTRY_SECTOR, "industry-sector-ov", industry_sector),
    VOCAB(V_INFRASTRUCTURE_TYPE, "infrastructure-type-ov", infrastructure_type),
    VOCAB(V_MALWARE_CAPABILITIES, "malware-capabilities-ov",
	  malware_capabilities),
    VOCAB(V_MALWARE_RESULT, "malware-result-ov", malware_result),
    VOCAB(V_MALWARE_TYPE, "malware-type-ov", malware_type),
    VOCAB(V_MARKING_DEFINITION_TYPE, "marking definition types",
	  marking_definition_type),
    VOCAB(V_SOCKET_ADDRESS_FAMILY, "network-socket-address-family-enum",
	  socket_address_family),
    VOCAB(V_SOCKET_TYPE, "network-socket-type-enum", socket_type),
    VOCAB(V_OPINION, "opinion-enum", opinion),
    VOCAB(V_PATTERN_TYPE, "pattern-type-ov", pattern_type),
    VOCAB(V_PROCESSOR_ARCHITECTURE, "processor-architecture-ov",
	  processor_architecture),
    VOCAB(V_REGION, "region-ov", region),
    VOCAB(V_REPORT_TYPE, "report-type-ov", report_type),
    VOCAB(V_THREAT_ACTOR_TYPE, "threat-actor-type-ov", threat_actor_type),
    VOCAB(V_THREAT_ACTOR_ROLE, "threat-actor-role-ov", threat_actor_role),
    VOCAB(V_THREAT_ACTOR_SOPHISTICATION, "threat-actor-sophistication-ov",
	  threat_actor_sophistication),
    VOCAB(V_TOOL_TYPE, "tool-type-ov", tool_type),
    VOCAB(V_WINDOWS_INTEGRITY_LEVEL, "windows-integrity-level-enum",
	  windows_integrity_level),
    VOCAB(V_WINDOWS_PEBINARY_TYPE, "windows-pebinary-type-ov",
	  windows_pebinary_type),
    VOCAB(V_WINDOWS_REGISTRY_DATATYPE, "windows-registry-datatype-enum",
	  windows_registry_datatype),
    VOCAB(V_WINDOWS_SERVICE_START_TYPE, "windows-service-start-type-enum",
	  windows_service_start_type),
    VOCAB(V_WINDOWS_SERVICE_TYPE, "windows-service-type-enum",
	  windows_service_type),
    VOCAB(V_WINDOWS_SERVICE_STATUS, "windows-service-status-enum",
	  windows_service_status),
};

bool stix_vocab_has(int v, const char *s, size_t len)
{
	const struct vocab *vo = &stix_vocabs[v];
	for (unsigned i = 0; i < vo->n; i++) {
		const char *t = vo->terms[i];
		if (t[0] == s[0] && strlen(t) == len && memcmp(t, s, len) == 0)
			return true;
	}
	return false;
}

/* ------------------------------------------------------------------ */
/* Ranges and reference targets                                         */
/* ------------------------------------------------------------------ */

/* I-JSON integers: +-(2^53 - 1). */
#define IJ 9007199254740991.0

const struct range stix_ranges[R__COUNT] = {
    [R_ANY] = {-IJ, IJ},	  [R_NONNEG] = {0, IJ},
    [R_CONFIDENCE] = {0, 100},	  [R_NUMBER_OBSERVED] = {1, 999999999},
    [R_COUNT] = {0, 999999999},	  [R_PORT] = {0, 65535},
    [R_LATITUDE] = {-90.0, 90.0}, [R_LONGITUDE] = {-180.0, 180.0},
};

const struct refset stix_refsets[RS__COUNT] = {
    [RS_ANY] = {0, RC_ANY, "a STIX object"},
    [RS_IDENTITY] = {TBIT(T_IDENTITY), 0, "identity"},
    [RS_MARKING] = {TBIT(T_MARKING_DEFINITION), 0, "marking-definition"},
    [RS_SDO] = {0, RC_SDO, "an SDO"},
    [RS_SDO_SCO] = {0, RC_SDO | RC_SCO, "an SDO or SCO"},
    [RS_SCO] = {0, RC_SCO, "an SCO"},
    [RS_SCO_SRO] = {0, RC_SCO | RC_SRO, "an SCO or SRO"},
    [RS_OBSERVED_DATA] = {TBIT(T_OBSERVED_DATA), 0, "observed-data"},
    [RS_IDENTITY_LOCATION] = {TBIT(T_IDENTITY) | TBIT(T_LOCATION), 0,
			      "identity or location"},
    [RS_SOFTWARE] = {TBIT(T_SOFTWARE), 0, "software"},
    [RS_FILE_ARTIFACT] = {TBIT(T_FILE) | TBIT(T_ARTIFACT), 0,
			  "file or artifact"},
    [RS_SAMPLE] = {TBIT(T_FILE) | TBIT(T_NETWORK_TRAFFIC) | TBIT(T_ARTIFACT), 0,
		   "file, network-traffic or artifact"},
    [RS_FILE_DIRECTORY] = {TBIT(T_FILE) | TBIT(T_DIRECTORY), 0,
			   "file or directory"},
    [RS_RESOLVES_DOMAIN] = {TBIT(T_IPV4_ADDR) | TBIT(T_IPV6_ADDR) |
				TBIT(T_DOMAIN_NAME),
			    0, "ipv4-addr, ipv6-addr or domain-name"},
    [RS_USER_ACCOUNT] = {TBIT(T_USER_ACCOUNT), 0, "user-account"},
    [RS_EMAIL_ADDR] = {TBIT(T_EMAIL_ADDR), 0, "email-addr"},
    [RS_ARTIFACT] = {TBIT(T_ARTIFACT), 0, "artifact"},
    [RS_DIRECTORY] = {TBIT(T_DIRECTORY), 0, "directory"},
    [RS_MAC_ADDR] = {TBIT(T_MAC_ADDR), 0, "mac-addr"},
    [RS_AS] = {TBIT(T_AUTONOMOUS_SYSTEM), 0, "autonomous-system"},
    [RS_ENDPOINT] = {TBIT(T_IPV4_ADDR) | TBIT(T_IPV6_ADDR) | TBIT(T_MAC_ADDR) |
			 TBIT(T_DOMAIN_NAME),
		     0, "ipv4-addr, ipv6-addr, mac-addr or domain-name"},
    [RS_NETWORK_TRAFFIC] = {TBIT(T_NETWORK_TRAFFIC), 0, "network-traffic"},
    [RS_FILE] = {TBIT(T_FILE), 0, "file"},
    [RS_PROCESS] = {TBIT(T_PROCESS), 0, "process"},
};

/* ------------------------------------------------------------------ */
/* Common properties (section 3.2), by kind of object                   */
/* ------------------------------------------------------------------ */

static const struct pspec common_sdo[] = {
    P("type", PK_SKIP, 0, 0),
    P("spec_version", PK_SKIP, 0, 0),
    P("id", PK_SKIP, 0, 0),
    P("created", PK_TS, F_REQ, TS_MS),
    P("modified", PK_TS, F_REQ, TS_MS),
    P("created_by_ref", PK_REF, 0, RS_IDENTITY),
    P("revoked", PK_BOOL, 0, 0),
    P("labels", PK_STR_LIST, 0, 0),
    P("confidence", PK_INT, 0, R_CONFIDENCE),
    P("lang", PK_LANG, 0, 0),
    P("external_references", PK_OBJ_LIST, 0, S_EXTREF),
    P("object_marking_refs", PK_REFS, 0, RS_MARKING),
    P("granular_markings", PK_OBJ_LIST, 0, S_GRANULAR),
    P("extensions", PK_EXTENSIONS, 0, 0),
};

static const struct pspec common_sco[] = {
    P("type", PK_SKIP, 0, 0),
    P("spec_version", PK_SKIP, 0, 0),
    P("id", PK_SKIP, 0, 0),
    P("object_marking_refs", PK_REFS, 0, RS_MARKING),
    P("granular_markings", PK_OBJ_LIST, 0, S_GRANULAR),
    P("defanged", PK_BOOL, 0, 0),
    P("extensions", PK_EXTENSIONS, 0, 0),
};

static const struct pspec common_marking[] = {
    P("type", PK_SKIP, 0, 0),
    P("spec_version", PK_SKIP, 0, 0),
    P("id", PK_SKIP, 0, 0),
    P("created", PK_TS, F_REQ, TS_MS),
    P("created_by_ref", PK_REF, 0, RS_IDENTITY),
    P("external_references", PK_OBJ_LIST, 0, S_EXTREF),
    P("object_marking_refs", PK_REFS, 0, RS_MARKING),
    P("granular_markings", PK_OBJ_LIST, 0, S_GRANULAR),
    P("extensions", PK_EXTENSIONS, 0, 0),
};

static const struct pspec common_lc[] = {
    P("type", PK_SKIP, 0, 0),
    P("spec_version", PK_SKIP, 0, 0),
    P("id", PK_SKIP, 0, 0),
    P("created", PK_TS, F_REQ, TS_MS),
    P("modified", PK_TS, F_REQ, TS_MS),
    P("created_by_ref", PK_REF, 0, RS_IDENTITY),
    P("revoked", PK_BOOL, 0, 0),
    P("labels", PK_STR_LIST, 0, 0),
    P("confidence", PK_INT, 0, R_CONFIDENCE),
    P("external_references", PK_OBJ_LIST, 0, S_EXTREF),
    P("object_marking_refs", PK_REFS, 0, RS_MARKING),
    P("granular_markings", PK_OBJ_LIST, 0, S_GRANULAR),
    P("extensions", PK_EXTENSIONS, 0, 0),
};

static const struct pspec common_extdef[] = {
    P("type", PK_SKIP, 0, 0),
    P("spec_version", PK_SKIP, 0, 0),
    P("id", PK_SKIP, 0, 0),
    P("created", PK_TS, F_REQ, TS_MS),
    P("modified", PK_TS, F_REQ, TS_MS),
    P("created_by_ref", PK_REF, F_REQ, RS_IDENTITY),
    P("revoked", PK_BOOL, 0, 0),
    P("labels", PK_STR_LIST, 0, 0),
    P("external_references", PK_OBJ_LIST, 0, S_EXTREF),
    P("object_marking_refs", PK_REFS, 0, RS_MARKING),
    P("granular_markings", PK_OBJ_LIST, 0, S_GRANULAR),
};

static const char *const common_names[] = {
    "confidence",
    "created",
    "created_by_ref",
    "defanged",
    "extensions",
    "external_references",
    "granular_markings",
    "id",
    "labels",
    "lang",
    "modified",
    "object_marking_refs",
    "revoked",
    "spec_version",
    "type",
};

bool stix_is_common_name(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(common_names) / sizeof(*common_names);
	     i++) {
		if (strlen(common_names[i]) == len &&
		    memcmp(common_names[i], name, len) == 0)
			return true;
	}
	return false;
}

/* ------------------------------------------------------------------ */
/* STIX Domain Objects (section 4)                                      */
/* ------------------------------------------------------------------ */

static const struct pspec attack_pattern_p[] = {
    P("name", PK_STR, F_REQ, 0),
    P("description", PK_STR, 0, 0),
    P("aliases", PK_STR_LIST, 0, 0),
    P("kill_chain_phases", PK_OBJ_LIST, 0, S_KCP),
};

static const struct pspec campaign_p[] = {
    P("name", PK_STR, F_REQ, 0),      P("description", PK_STR, 0, 0),
    P("aliases", PK_STR_LIST, 0, 0),  P("first_seen", PK_TS, 0, TS_ANY),
    P("last_seen", PK_TS, 0, TS_ANY), P("objective", PK_STR, 0, 0),
};

static const struct pspec course_of_action_p[] = {
    P("name", PK_STR, F_REQ, 0),
    P("description", PK_STR, 0, 0),
    P("action", PK_RESERVED, 0, 0),
};

/* name is optional: the 2.1 OASIS Standard and its JSON schema say so;
 * the Errata 01 draft's table lists it as required. */
static const struct pspec grouping_p[] = {
    P("name", PK_STR, 0, 0),
    P("description", PK_STR, 0, 0),
    P("context", PK_OV, F_REQ, V_GROUPING_CONTEXT),
    P("object_refs", PK_REFS, F_REQ, RS_ANY),
};

static const struct pspec identity_p[] = {
    P("name", PK_STR, F_REQ, 0),
    P("description", PK_STR, 0, 0),
    P("roles", PK_STR_LIST, 0, 0),
    P("identity_class", PK_OV, 0, V_IDENTITY_CLASS),
    P("sectors", PK_OV_LIST, 0, V_INDUSTRY_SECTOR),
    P("contact_information", PK_STR, 0, 0),
};

static const struct pspec incident_p[] = {
    P("name", PK_STR, F_REQ, 0),
    P("description", PK_STR, 0, 0),
};

static const struct pspec indicator_p[] = {
    P("name", PK_STR, 0, 0),
    P("description", PK_STR, 0, 0),
    P("indicator_types", PK_OV_LIST, 0, V_INDICATOR_TYPE),
    P("pattern", PK_STR, F_REQ, 0),
    P("pattern_type", PK_OV, F_REQ, V_PATTERN_TYPE),
    P("pattern_version", PK_STR, 0, 0),
    P("valid_from", PK_TS, F_REQ, TS_ANY),
    P("valid_until", PK_TS, 0, TS_ANY),
    P("kill_chain_phases", PK_OBJ_LIST, 0, S_KCP),
};

static const struct pspec infrastructure_p[] = {
    P("name", PK_STR, F_REQ, 0),
    P("description", PK_STR, 0, 0),
    P("infrastructure_types", PK_OV_LIST, 0, V_INFRASTRUCTURE_TYPE),
    P("aliases", PK_STR_LIST, 0, 0),
    P("kill_chain_phases", PK_OBJ_LIST, 0, S_KCP),
    P("first_seen", PK_TS, 0, TS_ANY),
    P("last_seen", PK_TS, 0, TS_ANY),
};

static const struct pspec intrusion_set_p[] = {
    P("name", PK_STR, F_REQ, 0),
    P("description", PK_STR, 0, 0),
    P("aliases", PK_STR_LIST, 0, 0),
    P("first_seen", PK_TS, 0, TS_ANY),
    P("last_seen", PK_TS, 0, TS_ANY),
    P("goals", PK_STR_LIST, 0, 0),
    P("resource_level", PK_OV, 0, V_ATTACK_RESOURCE_LEVEL),
    P("primary_motivation", PK_OV, 0, V_ATTACK_MOTIVATION),
    P("secondary_motivations", PK_OV_LIST, 0, V_ATTACK_MOTIVATION),
};

static const struct pspec location_p[] = {
    P("name", PK_STR, 0, 0),
    P("description", PK_STR, 0, 0),
    P("latitude", PK_FLOAT, 0, R_LATITUDE),
    P("longitude", PK_FLOAT, 0, R_LONGITUDE),
    P("precision", PK_FLOAT, 0, R_ANY),
    P("region", PK_OV, 0, V_REGION),
    P("country", PK_STR, 0, 0),
    P("administrative_area", PK_STR, 0, 0),
    P("city", PK_STR, 0, 0),
    P("street_address", PK_STR, 0, 0),
    P("postal_code", PK_STR, 0, 0),
};

static const struct pspec malware_p[] = {
    P("name", PK_STR, 0, 0),
    P("description", PK_STR, 0, 0),
    P("malware_types", PK_OV_LIST, 0, V_MALWARE_TYPE),
    P("is_family", PK_BOOL, F_REQ, 0),
    P("aliases", PK_STR_LIST, 0, 0),
    P("kill_chain_phases", PK_OBJ_LIST, 0, S_KCP),
    P("first_seen", PK_TS, 0, TS_ANY),
    P("last_seen", PK_TS, 0, TS_ANY),
    P("operating_system_refs", PK_REFS, 0, RS_SOFTWARE),
    P("architecture_execution_envs", PK_OV_LIST, 0, V_PROCESSOR_ARCHITECTURE),
    P("implementation_languages", PK_OV_LIST, 0, V_IMPLEMENTATION_LANGUAGE),
    P("capabilities", PK_OV_LIST, 0, V_MALWARE_CAPABILITIES),
    P("sample_refs", PK_REFS, 0, RS_FILE_ARTIFACT),
};

static const struct pspec malware_analysis_p[] = {
    P("product", PK_STR, F_REQ, 0),
    P("version", PK_STR, 0, 0),
    P("host_vm_ref", PK_REF, 0, RS_SOFTWARE),
    P("operating_system_ref", PK_REF, 0, RS_SOFTWARE),
    P("installed_software_refs", PK_REFS, 0, RS_SOFTWARE),
    P("configuration_version", PK_STR, 0, 0),
    P("modules", PK_STR_LIST, 0, 0),
    P("analysis_engine_version", PK_STR, 0, 0),
    P("analysis_definition_version", PK_STR, 0, 0),
    P("submitted", PK_TS, 0, TS_ANY),
    P("analysis_started", PK_TS, 0, TS_ANY),
    P("analysis_ended", PK_TS, 0, TS_ANY),
    P("result_name", PK_STR, 0, 0),
    P("result", PK_OV, 0, V_MALWARE_RESULT),
    P("analysis_sco_refs", PK_REFS, 0, RS_SCO),
    P("sample_ref", PK_REF, 0, RS_SAMPLE),
};

static const struct pspec note_p[] = {
    P("abstract", PK_STR, 0, 0),
    P("content", PK_STR, F_REQ, 0),
    P("authors", PK_STR_LIST, 0, 0),
    P("object_refs", PK_REFS, F_REQ, RS_ANY),
};

static const struct pspec observed_data_p[] = {
    P("first_observed", PK_TS, F_REQ, TS_ANY),
    P("last_observed", PK_TS, F_REQ, TS_ANY),
    P("number_observed", PK_INT, F_REQ, R_NUMBER_OBSERVED),
    P("objects", PK_CONTAINER, 0, 0),
    P("object_refs", PK_REFS, 0, RS_SCO_SRO),
};

static const struct pspec opinion_p[] = {
    P("explanation", PK_STR, 0, 0),
    P("authors", PK_STR_LIST, 0, 0),
    P("opinion", PK_ENUM, F_REQ, V_OPINION),
    P("object_refs", PK_REFS, F_REQ, RS_ANY),
};

static const struct pspec report_p[] = {
    P("name", PK_STR, F_REQ, 0),
    P("description", PK_STR, 0, 0),
    P("report_types", PK_OV_LIST, 0, V_REPORT_TYPE),
    P("published", PK_TS, F_REQ, TS_ANY),
    P("object_refs", PK_REFS, F_REQ, RS_ANY),
};

static const struct pspec threat_actor_p[] = {
    P("name", PK_STR, F_REQ, 0),
    P("description", PK_STR, 0, 0),
    P("threat_actor_types", PK_OV_LIST, 0, V_THREAT_ACTOR_TYPE),
    P("aliases", PK_STR_LIST, 0, 0),
    P("first_seen", PK_TS, 0, TS_ANY),
    P("last_seen", PK_TS, 0, TS_ANY),
    P("roles", PK_OV_LIST, 0, V_THREAT_ACTOR_ROLE),
    P("goals", PK_STR_LIST, 0, 0),
    P("sophistication", PK_OV, 0, V_THREAT_ACTOR_SOPHISTICATION),
    P("resource_level", PK_OV, 0, V_ATTACK_RESOURCE_LEVEL),
    P("primary_motivation", PK_OV, 0, V_ATTACK_MOTIVATION),
    P("secondary_motivations", PK_OV_LIST, 0, V_ATTACK_MOTIVATION),
    P("personal_motivations", PK_OV_LIST, 0, V_ATTACK_MOTIVATION),
};

static const struct pspec tool_p[] = {
    P("name", PK_STR, F_REQ, 0),
    P("description", PK_STR, 0, 0),
    P("tool_types", PK_OV_LIST, 0, V_TOOL_TYPE),
    P("aliases", PK_STR_LIST, 0, 0),
    P("kill_chain_phases", PK_OBJ_LIST, 0, S_KCP),
    P("tool_version", PK_STR, 0, 0),
};

static const struct pspec vulnerability_p[] = {
    P("name", PK_STR, F_REQ, 0),
    P("description", PK_STR, 0, 0),
};

/* ------------------------------------------------------------------ */
/* STIX Relationship Objects (section 5)                                */
/* ------------------------------------------------------------------ */

static const struct pspec relationship_p[] = {
    P("relationship_type", PK_STR, F_REQ, 0),
    P("description", PK_STR, 0, 0),
    P("source_ref", PK_REF, F_REQ, RS_SDO_SCO),
    P("target_ref", PK_REF, F_REQ, RS_SDO_SCO),
    P("start_time", PK_TS, 0, TS_ANY),
    P("stop_time", PK_TS, 0, TS_ANY),
};

static const struct pspec sighting_p[] = {
    P("description", PK_STR, 0, 0),
    P("first_seen", PK_TS, 0, TS_ANY),
    P("last_seen", PK_TS, 0, TS_ANY),
    P("count", PK_INT, 0, R_COUNT),
    P("sighting_of_ref", PK_REF, F_REQ, RS_SDO),
    P("observed_data_refs", PK_REFS, 0, RS_OBSERVED_DATA),
    P("where_sighted_refs", PK_REFS, 0, RS_IDENTITY_LOCATION),
    P("summary", PK_BOOL, 0, 0),
};

/* ------------------------------------------------------------------ */
/* STIX Cyber-observable Objects (section 6)                            */
/* ------------------------------------------------------------------ */

static const struct pspec artifact_p[] = {
    P("mime_type", PK_STR, 0, 0),
    P("payload_bin", PK_BIN, 0, 0),
    P("url", PK_STR, 0, 0),
    P("hashes", PK_HASHES, 0, 0),
    P("encryption_algorithm", PK_ENUM, 0, V_ENCRYPTION_ALGORITHM),
    P("decryption_key", PK_STR, 0, 0),
};

static const struct pspec autonomous_system_p[] = {
    P("number", PK_INT, F_REQ, R_ANY),
    P("name", PK_STR, 0, 0),
    P("rir", PK_STR, 0, 0),
};

static const struct pspec directory_p[] = {
    P("path", PK_STR, F_REQ, 0),
    P("path_enc", PK_STR, 0, 0),
    P("ctime", PK_TS, 0, TS_ANY),
    P("mtime", PK_TS, 0, TS_ANY),
    P("atime", PK_TS, 0, TS_ANY),
    P("contains_refs", PK_REFS, 0, RS_FILE_DIRECTORY),
};

static const struct pspec domain_name_p[] = {
    P("value", PK_STR, F_REQ, 0),
    P("resolves_to_refs", PK_REFS, 0, RS_RESOLVES_DOMAIN),
};

static const struct pspec email_addr_p[] = {
    P("value", PK_STR, F_REQ, 0),
    P("display_name", PK_STR, 0, 0),
    P("belongs_to_ref", PK_REF, 0, RS_USER_ACCOUNT),
};

static const struct pspec email_message_p[] = {
    P("is_multipart", PK_BOOL, F_REQ, 0),
    P("date", PK_TS, 0, TS_ANY),
    P("content_type", PK_STR, 0, 0),
    P("from_ref", PK_REF, 0, RS_EMAIL_ADDR),
    P("sender_ref", PK_REF, 0, RS_EMAIL_ADDR),
    P("to_refs", PK_REFS, 0, RS_EMAIL_ADDR),
    P("cc_refs", PK_REFS, 0, RS_EMAIL_ADDR),
    P("bcc_refs", PK_REFS, 0, RS_EMAIL_ADDR),
    P("message_id", PK_STR, 0, 0),
    P("subject", PK_STR, 0, 0),
    P("received_lines", PK_STR_LIST, 0, 0),
    P("additional_header_fields", PK_DICT, 0, DV_STR_LIST),
    P("body", PK_STR, 0, 0),
    P("body_multipart", PK_OBJ_LIST, 0, S_MIME_PART),
    P("raw_email_ref", PK_REF, 0, RS_ARTIFACT),
};

static const struct pspec file_p[] = {
    P("hashes", PK_HASHES, 0, 0),
    P("size", PK_INT, 0, R_NONNEG),
    P("name", PK_STR, 0, 0),
    P("name_enc", PK_STR, 0, 0),
    P("magic_number_hex", PK_HEX, 0, 0),
    P("mime_type", PK_STR, 0, 0),
    P("ctime", PK_TS, 0, TS_ANY),
    P("mtime", PK_TS, 0, TS_ANY),
    P("atime", PK_TS, 0, TS_ANY),
    P("parent_directory_ref", PK_REF, 0, RS_DIRECTORY),
    P("contains_refs", PK_REFS, 0, RS_SCO),
    P("content_ref", PK_REF, 0, RS_ARTIFACT),
};

static const struct pspec ip_addr_p[] = {
    P("value", PK_STR, F_REQ, 0),
    P("resolves_to_refs", PK_REFS, 0, RS_MAC_ADDR),
    P("belongs_to_refs", PK_REFS, 0, RS_AS),
};

static const struct pspec mac_addr_p[] = {
    P("value", PK_STR, F_REQ, 0),
};

static const struct pspec mutex_p[] = {
    P("name", PK_STR, F_REQ, 0),
};

static const struct pspec network_traffic_p[] = {
    P("start", PK_TS, 0, TS_ANY),
    P("end", PK_TS, 0, TS_ANY),
    P("is_active", PK_BOOL, 0, 0),
    P("src_ref", PK_REF, 0, RS_ENDPOINT),
    P("dst_ref", PK_REF, 0, RS_ENDPOINT),
    P("src_port", PK_INT, 0, R_PORT),
    P("dst_port", PK_INT, 0, R_PORT),
    P("protocols", PK_STR_LIST, F_REQ, 0),
    P("src_byte_count", PK_INT, 0, R_NONNEG),
    P("dst_byte_count", PK_INT, 0, R_NONNEG),
    P("src_packets", PK_INT, 0, R_NONNEG),
    P("dst_packets", PK_INT, 0, R_NONNEG),
    P("ipfix", PK_DICT, 0, DV_INT_OR_STR),
    P("src_payload_ref", PK_REF, 0, RS_ARTIFACT),
    P("dst_payload_ref", PK_REF, 0, RS_ARTIFACT),
    P("encapsulates_refs", PK_REFS, 0, RS_NETWORK_TRAFFIC),
    P("encapsulated_by_ref", PK_REF, 0, RS_NETWORK_TRAFFIC),
};

static const struct pspec process_p[] = {
    P("is_hidden", PK_BOOL, 0, 0),
    P("pid", PK_INT, 0, R_ANY),
    P("created_time", PK_TS, 0, TS_ANY),
    P("cwd", PK_STR, 0, 0),
    P("command_line", PK_STR, 0, 0),
    P("environment_variables", PK_DICT, 0, DV_STR),
    P("opened_connection_refs", PK_REFS, 0, RS_NETWORK_TRAFFIC),
    P("creator_user_ref", PK_REF, 0, RS_USER_ACCOUNT),
    P("image_ref", PK_REF, 0, RS_FILE),
    P("parent_ref", PK_REF, 0, RS_PROCESS),
    P("child_refs", PK_REFS, 0, RS_PROCESS),
};

static const struct pspec software_p[] = {
    P("name", PK_STR, F_REQ, 0), P("cpe", PK_STR, 0, 0),
    P("swid", PK_STR, 0, 0),	 P("languages", PK_LANG_LIST, 0, 0),
    P("vendor", PK_STR, 0, 0),	 P("version", PK_STR, 0, 0),
};

static const struct pspec url_p[] = {
    P("value", PK_STR, F_REQ, 0),
};

static const struct pspec user_account_p[] = {
    P("user_id", PK_STR, 0, 0),
    P("credential", PK_STR, 0, 0),
    P("account_login", PK_STR, 0, 0),
    P("account_type", PK_OV, 0, V_ACCOUNT_TYPE),
    P("display_name", PK_STR, 0, 0),
    P("is_service_account", PK_BOOL, 0, 0),
    P("is_privileged", PK_BOOL, 0, 0),
    P("can_escalate_privs", PK_BOOL, 0, 0),
    P("is_disabled", PK_BOOL, 0, 0),
    P("account_created", PK_TS, 0, TS_ANY),
    P("account_expires", PK_TS, 0, TS_ANY),
    P("credential_last_changed", PK_TS, 0, TS_ANY),
    P("account_first_login", PK_TS, 0, TS_ANY),
    P("account_last_login", PK_TS, 0, TS_ANY),
};

static const struct pspec windows_registry_key_p[] = {
    P("key", PK_STR, 0, 0),
    P("values", PK_OBJ_LIST, 0, S_REG_VALUE),
    P("modified_time", PK_TS, 0, TS_ANY),
    P("creator_user_ref", PK_REF, 0, RS_USER_ACCOUNT),
    P("number_of_subkeys", PK_INT, 0, R_ANY),
};

static const struct pspec x509_certificate_p[] = {
    P("is_self_signed", PK_BOOL, 0, 0),
    P("hashes", PK_HASHES, 0, 0),
    P("version", PK_STR, 0, 0),
    P("serial_number", PK_STR, 0, 0),
    P("signature_algorithm", PK_STR, 0, 0),
    P("issuer", PK_STR, 0, 0),
    P("validity_not_before", PK_TS, 0, TS_ANY),
    P("validity_not_after", PK_TS, 0, TS_ANY),
    P("subject", PK_STR, 0, 0),
    P("subject_public_key_algorithm", PK_STR, 0, 0),
    P("subject_public_key_modulus", PK_STR, 0, 0),
    P("subject_public_key_exponent", PK_INT, 0, R_ANY),
    P("x509_v3_extensions", PK_OBJ, 0, S_X509_V3),
};

/* ------------------------------------------------------------------ */
/* STIX Meta Objects (section 7)                                        */
/* ------------------------------------------------------------------ */

static const struct pspec marking_definition_p[] = {
    P("name", PK_STR, 0, 0),
    P("definition_type", PK_OV, 0, V_MARKING_DEFINITION_TYPE),
    P("definition", PK_ANYOBJ, 0, 0),
};

static const struct pspec language_content_p[] = {
    P("object_ref", PK_REF, F_REQ, RS_ANY),
    P("object_modified", PK_TS, 0, TS_ANY),
    P("contents", PK_LC_CONTENTS, F_REQ, 0),
};

static const struct pspec extension_definition_p[] = {
    P("name", PK_STR, F_REQ, 0),
    P("description", PK_STR, 0, 0),
    P("schema", PK_STR, F_REQ, 0),
    P("version", PK_STR, F_REQ, 0),
    P("extension_types", PK_ENUM_LIST, F_REQ, V_EXTENSION_TYPE),
    P("extension_properties", PK_STR_LIST, 0, 0),
};

/* ------------------------------------------------------------------ */
/* Nested structures and predefined extensions                          */
/* ------------------------------------------------------------------ */

static const struct pspec extref_p[] = {
    P("source_name", PK_STR, F_REQ, 0),
    P("description", PK_STR, 0, 0),
    P("url", PK_STR, 0, 0),
    P("hashes", PK_HASHES, 0, 0),
    P("external_id", PK_STR, 0, 0),
};

static const struct pspec kcp_p[] = {
    P("kill_chain_name", PK_STR, F_REQ, 0),
    P("phase_name", PK_STR, F_REQ, 0),
};

static const struct pspec granular_p[] = {
    P("lang", PK_LANG, 0, 0),
    P("marking_ref", PK_REF, 0, RS_MARKING),
    P("selectors", PK_STR_LIST, F_REQ, 0),
};

static const struct pspec mime_part_p[] = {
    P("body", PK_STR, 0, 0),
    P("body_raw_ref", PK_REF, 0, RS_FILE_ARTIFACT),
    P("content_type", PK_STR, 0, 0),
    P("content_disposition", PK_STR, 0, 0),
};

static const struct pspec ads_p[] = {
    P("name", PK_STR, F_REQ, 0),
    P("hashes", PK_HASHES, 0, 0),
    P("size", PK_INT, 0, R_NONNEG),
};

static const struct pspec pe_opt_header_p[] = {
    P("magic_hex", PK_HEX, 0, 0),
    P("major_linker_version", PK_INT, 0, R_ANY),
    P("minor_linker_version", PK_INT, 0, R_ANY),
    P("size_of_code", PK_INT, 0, R_NONNEG),
    P("size_of_initialized_data", PK_INT, 0, R_NONNEG),
    P("size_of_uninitialized_data", PK_INT, 0, R_NONNEG),
    P("address_of_entry_point", PK_INT, 0, R_ANY),
    P("base_of_code", PK_INT, 0, R_ANY),
    P("base_of_data", PK_INT, 0, R_ANY),
    P("image_base", PK_INT, 0, R_ANY),
    P("section_alignment", PK_INT, 0, R_ANY),
    P("file_alignment", PK_INT, 0, R_ANY),
    P("major_os_version", PK_INT, 0, R_ANY),
    P("minor_os_version", PK_INT, 0, R_ANY),
    P("major_image_version", PK_INT, 0, R_ANY),
    P("minor_image_version", PK_INT, 0, R_ANY),
    P("major_subsystem_version", PK_INT, 0, R_ANY),
    P("minor_subsystem_version", PK_INT, 0, R_ANY),
    P("win32_version_value_hex", PK_HEX, 0, 0),
    P("size_of_image", PK_INT, 0, R_NONNEG),
    P("size_of_headers", PK_INT, 0, R_NONNEG),
    P("checksum_hex", PK_HEX, 0, 0),
    P("subsystem_hex", PK_HEX, 0, 0),
    P("dll_characteristics_hex", PK_HEX, 0, 0),
    P("size_of_stack_reserve", PK_INT, 0, R_NONNEG),
    P("size_of_stack_commit", PK_INT, 0, R_NONNEG),
    P("size_of_heap_reserve", PK_INT, 0, R_NONNEG),
    P("size_of_heap_commit", PK_INT, 0, R_NONNEG),
    P("loader_flags_hex", PK_HEX, 0, 0),
    P("number_of_rva_and_sizes", PK_INT, 0, R_ANY),
    P("hashes", PK_HASHES, 0, 0),
};

static const struct pspec pe_section_p[] = {
    P("name", PK_STR, F_REQ, 0),
    P("size", PK_INT, 0, R_NONNEG),
    P("entropy", PK_FLOAT, 0, R_ANY),
    P("hashes", PK_HASHES, 0, 0),
};

static const struct pspec reg_value_p[] = {
    P("name", PK_STR, 0, 0),
    P("data", PK_STR, 0, 0),
    P("data_type", PK_ENUM, 0, V_WINDOWS_REGISTRY_DATATYPE),
};

static const struct pspec x509_v3_p[] = {
    P("basic_constraints", PK_STR, 0, 0),
    P("name_constraints", PK_STR, 0, 0),
    P("policy_constraints", PK_STR, 0, 0),
    P("key_usage", PK_STR, 0, 0),
    P("extended_key_usage", PK_STR, 0, 0),
    P("subject_key_identifier", PK_STR, 0, 0),
    P("authority_key_identifier", PK_STR, 0, 0),
    P("subject_alternative_name", PK_STR, 0, 0),
    P("issuer_alternative_name", PK_STR, 0, 0),
    P("subject_directory_attributes", PK_STR, 0, 0),
    P("crl_distribution_points", PK_STR, 0, 0),
    P("inhibit_any_policy", PK_STR, 0, 0),
    P("private_key_usage_period_not_before", PK_TS, 0, TS_ANY),
    P("private_key_usage_period_not_after", PK_TS, 0, TS_ANY),
    P("certificate_policies", PK_STR, 0, 0),
    P("policy_mappings", PK_STR, 0, 0),
};

static const struct pspec ext_archive_p[] = {
    P("contains_refs", PK_REFS, F_REQ, RS_FILE_DIRECTORY),
    P("comment", PK_STR, 0, 0),
};

static const struct pspec ext_ntfs_p[] = {
    P("sid", PK_STR, 0, 0),
    P("alternate_data_streams", PK_OBJ_LIST, 0, S_ADS),
};

static const struct pspec ext_pdf_p[] = {
    P("version", PK_STR, 0, 0),
    P("is_optimized", PK_BOOL, 0, 0),
    P("document_info_dict", PK_DICT, 0, DV_STR),
    P("pdfid0", PK_STR, 0, 0),
    P("pdfid1", PK_STR, 0, 0),
};

static const struct pspec ext_raster_p[] = {
    P("image_height", PK_INT, 0, R_ANY),
    P("image_width", PK_INT, 0, R_ANY),
    P("bits_per_pixel", PK_INT, 0, R_ANY),
    P("exif_tags", PK_DICT, 0, DV_INT_OR_STR),
};

static const struct pspec ext_pebinary_p[] = {
    P("pe_type", PK_OV, F_REQ, V_WINDOWS_PEBINARY_TYPE),
    P("imphash", PK_STR, 0, 0),
    P("machine_hex", PK_HEX, 0, 0),
    P("number_of_sections", PK_INT, 0, R_NONNEG),
    P("time_date_stamp", PK_TS, 0, TS_SEC),
    P("pointer_to_symbol_table_hex", PK_HEX, 0, 0),
    P("number_of_symbols", PK_INT, 0, R_NONNEG),
    P("size_of_optional_header", PK_INT, 0, R_NONNEG),
    P("characteristics_hex", PK_HEX, 0, 0),
    P("file_header_hashes", PK_HASHES, 0, 0),
    P("optional_header", PK_OBJ, 0, S_PE_OPT_HEADER),
    P("sections", PK_OBJ_LIST, 0, S_PE_SECTION),
};

static const struct pspec ext_http_p[] = {
    P("request_method", PK_STR, F_REQ, 0),
    P("request_value", PK_STR, F_REQ, 0),
    P("request_version", PK_STR, 0, 0),
    P("request_header", PK_DICT, 0, DV_STR_LIST),
    P("message_body_length", PK_INT, 0, R_NONNEG),
    P("message_body_data_ref", PK_REF, 0, RS_ARTIFACT),
};

static const struct pspec ext_icmp_p[] = {
    P("icmp_type_hex", PK_HEX, F_REQ, 0),
    P("icmp_code_hex", PK_HEX, F_REQ, 0),
};

static const struct pspec ext_socket_p[] = {
    P("address_family", PK_ENUM, F_REQ, V_SOCKET_ADDRESS_FAMILY),
    P("is_blocking", PK_BOOL, 0, 0),
    P("is_listening", PK_BOOL, 0, 0),
    P("options", PK_DICT, 0, DV_INT),
    P("socket_type", PK_ENUM, 0, V_SOCKET_TYPE),
    P("socket_descriptor", PK_INT, 0, R_NONNEG),
    P("socket_handle", PK_INT, 0, R_ANY),
};

static const struct pspec ext_tcp_p[] = {
    P("src_flags_hex", PK_HEX, 0, 0),
    P("dst_flags_hex", PK_HEX, 0, 0),
};

static const struct pspec ext_win_process_p[] = {
    P("aslr_enabled", PK_BOOL, 0, 0),
    P("dep_enabled", PK_BOOL, 0, 0),
    P("priority", PK_STR, 0, 0),
    P("owner_sid", PK_STR, 0, 0),
    P("window_title", PK_STR, 0, 0),
    P("startup_info", PK_DICT, 0, DV_ANY),
    P("integrity_level", PK_ENUM, 0, V_WINDOWS_INTEGRITY_LEVEL),
};

static const struct pspec ext_win_service_p[] = {
    P("service_name", PK_STR, 0, 0),
    P("descriptions", PK_STR_LIST, 0, 0),
    P("display_name", PK_STR, 0, 0),
    P("group_name", PK_STR, 0, 0),
    P("start_type", PK_ENUM, 0, V_WINDOWS_SERVICE_START_TYPE),
    P("service_dll_refs", PK_REFS, 0, RS_FILE),
    P("service_type", PK_ENUM, 0, V_WINDOWS_SERVICE_TYPE),
    P("service_status", PK_ENUM, 0, V_WINDOWS_SERVICE_STATUS),
};

static const struct pspec ext_unix_account_p[] = {
    P("gid", PK_INT, 0, R_ANY),
    P("groups", PK_STR_LIST, 0, 0),
    P("home_dir", PK_STR, 0, 0),
    P("shell", PK_STR, 0, 0),
};

#define NP(a) (uint8_t)(sizeof(a) / sizeof((a)[0]))
#define STRUCT(id, nm, arr, fl, fn) [id] = {(nm), (arr), NP(arr), (fl), (fn)}

const struct sspec stix_structs[S__COUNT] = {
    STRUCT(S_EXTREF, "external-reference", extref_p, 0, stix_chk_extref),
    STRUCT(S_KCP, "kill-chain-phase", kcp_p, 0, stix_chk_kcp),
    STRUCT(S_GRANULAR, "granular-marking", granular_p, 0, stix_chk_granular),
    STRUCT(S_MIME_PART, "email-mime-part-type", mime_part_p, 0,
	   stix_chk_mime_part),
    STRUCT(S_ADS, "alternate-data-stream-type", ads_p, 0, NULL),
    STRUCT(S_PE_OPT_HEADER, "windows-pe-optional-header-type", pe_opt_header_p,
	   SS_AT_LEAST_ONE, NULL),
    STRUCT(S_PE_SECTION, "windows-pe-section-type", pe_section_p, 0, NULL),
    STRUCT(S_REG_VALUE, "windows-registry-value-type", reg_value_p,
	   SS_AT_LEAST_ONE, NULL),
    STRUCT(S_X509_V3, "x509-v3-extensions-type", x509_v3_p, SS_AT_LEAST_ONE,
	   NULL),
    STRUCT(S_EXT_ARCHIVE, "archive-ext", ext_archive_p, 0, NULL),
    STRUCT(S_EXT_NTFS, "ntfs-ext", ext_ntfs_p, SS_AT_LEAST_ONE, NULL),
    STRUCT(S_EXT_PDF, "pdf-ext", ext_pdf_p, SS_AT_LEAST_ONE, NULL),
    STRUCT(S_EXT_RASTER, "raster-image-ext", ext_raster_p, SS_AT_LEAST_ONE,
	   NULL),
    STRUCT(S_EXT_PEBINARY, "windows-pebinary-ext", ext_pebinary_p, 0,
	   stix_chk_pebinary),
    STRUCT(S_EXT_HTTP, "http-request-ext", ext_http_p, 0, stix_chk_http),
    STRUCT(S_EXT_ICMP, "icmp-ext", ext_icmp_p, 0, NULL),
    STRUCT(S_EXT_SOCKET, "socket-ext", ext_socket_p, 0, NULL),
    STRUCT(S_EXT_TCP, "tcp-ext", ext_tcp_p, SS_AT_LEAST_ONE, NULL),
    STRUCT(S_EXT_WIN_PROCESS, "windows-process-ext", ext_win_process_p,
	   SS_AT_LEAST_ONE, NULL),
    STRUCT(S_EXT_WIN_SERVICE, "windows-service-ext", ext_win_service_p,
	   SS_AT_LEAST_ONE, NULL),
    STRUCT(S_EXT_UNIX_ACCOUNT, "unix-account-ext", ext_unix_account_p,
	   SS_AT_LEAST_ONE, NULL),
};

static const struct extspec file_exts[] = {
    {"archive-ext", S_EXT_ARCHIVE},
    {"ntfs-ext", S_EXT_NTFS},
    {"pdf-ext", S_EXT_PDF},
    {"raster-image-ext", S_EXT_RASTER},
    {"windows-pebinary-ext", S_EXT_PEBINARY},
};
static const struct extspec network_traffic_exts[] = {
    {"http-request-ext", S_EXT_HTTP},
    {"icmp-ext", S_EXT_ICMP},
    {"socket-ext", S_EXT_SOCKET},
    {"tcp-ext", S_EXT_TCP},
};
static const struct extspec process_exts[] = {
    {"windows-process-ext", S_EXT_WIN_PROCESS},
    {"windows-service-ext", S_EXT_WIN_SERVICE},
};
static const struct extspec user_account_exts[] = {
    {"unix-account-ext", S_EXT_UNIX_ACCOUNT},
};

/* ID contributing properties (section 6, per SCO). */
static const char *const id_artifact[] = {"hashes", "payload_bin", NULL};
static const char *const id_as[] = {"number", NULL};
static const char *const id_directory[] = {"path", NULL};
static const char *const id_value[] = {"value", NULL};
static const char *const id_email_message[] = {"from_ref", "subject", "body",
					       NULL};
static const char *const id_file[] = {"hashes", "name", "extensions",
				      "parent_directory_ref", NULL};
static const char *const id_mutex[] = {"name", NULL};
static const char *const id_network_traffic[] = {
    "start",	"end",	     "src_ref",	   "dst_ref", "src_port",
    "dst_port", "protocols", "extensions", NULL,
};
static const char *const id_none[] = {NULL};
static const char *const id_software[] = {"name",   "cpe",     "swid",
					  "vendor", "version", NULL};
static const char *const id_user_account[] = {"account_type", "user_id",
					      "account_login", NULL};
static const char *const id_registry_key[] = {"key", "values", NULL};
static const char *const id_x509[] = {"hashes", "serial_number", NULL};

#define SDO(id, nm, arr, fn)                                             \
	[id] = {(nm),  STIX_SDO, 0, NP(common_sdo), NP(arr), common_sdo, \
		(arr), NULL,	 0, NULL,	    (fn)}
#define SRO(id, nm, arr, fn)                                             \
	[id] = {(nm),  STIX_SRO, 0, NP(common_sdo), NP(arr), common_sdo, \
		(arr), NULL,	 0, NULL,	    (fn)}
#define SCO(id, nm, arr, fl, ex, nex, idp, fn)                               \
	[id] = {(nm),  STIX_SCO, (fl),	NP(common_sco), NP(arr), common_sco, \
		(arr), (ex),	 (nex), (idp),		(fn)}
#define META(id, nm, com, arr, fn)                            \
	[id] = {(nm),  STIX_META, 0, NP(com), NP(arr), (com), \
		(arr), NULL,	  0, NULL,    (fn)}

const struct tspec stix_types[T__COUNT] = {
    SCO(T_ARTIFACT, "artifact", artifact_p, 0, NULL, 0, id_artifact,
	stix_chk_artifact),
    SDO(T_ATTACK_PATTERN, "attack-pattern", attack_pattern_p, NULL),
    SCO(T_AUTONOMOUS_SYSTEM, "autonomous-system", autonomous_system_p, 0, NULL,
	0, id_as, NULL),
    SDO(T_CAMPAIGN, "campaign", campaign_p, NULL),
    SDO(T_COURSE_OF_ACTION, "course-of-action", course_of_action_p, NULL),
    SCO(T_DIRECTORY, "directory", directory_p, 0, NULL, 0, id_directory, NULL),
    SCO(T_DOMAIN_NAME, "domain-name", domain_name_p, 0, NULL, 0, id_value,
	stix_chk_domain_name),
    SCO(T_EMAIL_ADDR, "email-addr", email_addr_p, 0, NULL, 0, id_value,
	stix_chk_email_addr),
    SCO(T_EMAIL_MESSAGE, "email-message", email_message_p, 0, NULL, 0,
	id_email_message, stix_chk_email_message),
    META(T_EXTENSION_DEFINITION, "extension-definition", common_extdef,
	 extension_definition_p, stix_chk_extension_definition),
    SCO(T_FILE, "file", file_p, 0, file_exts, NP(file_exts), id_file,
	stix_chk_file),
    SDO(T_GROUPING, "grouping", grouping_p, NULL),
    SDO(T_IDENTITY, "identity", identity_p, NULL),
    SDO(T_INCIDENT, "incident", incident_p, NULL),
    SDO(T_INDICATOR, "indicator", indicator_p, NULL),
    SDO(T_INFRASTRUCTURE, "infrastructure", infrastructure_p, NULL),
    SDO(T_INTRUSION_SET, "intrusion-set", intrusion_set_p, NULL),
    SCO(T_IPV4_ADDR, "ipv4-addr", ip_addr_p, 0, NULL, 0, id_value,
	stix_chk_ipv4),
    SCO(T_IPV6_ADDR, "ipv6-addr", ip_addr_p, 0, NULL, 0, id_value,
	stix_chk_ipv6),
    META(T_LANGUAGE_CONTENT, "language-content", common_lc, language_content_p,
	 NULL),
    SDO(T_LOCATION, "location", location_p, stix_chk_location),
    SCO(T_MAC_ADDR, "mac-addr", mac_addr_p, 0, NULL, 0, id_value, stix_chk_mac),
    SDO(T_MALWARE, "malware", malware_p, stix_chk_malware),
    SDO(T_MALWARE_ANALYSIS, "malware-analysis", malware_analysis_p,
	stix_chk_malware_analysis),
    META(T_MARKING_DEFINITION, "marking-definition", common_marking,
	 marking_definition_p, stix_check_marking_definition),
    SCO(T_MUTEX, "mutex", mutex_p, 0, NULL, 0, id_mutex, NULL),
    SCO(T_NETWORK_TRAFFIC, "network-traffic", network_traffic_p, 0,
	network_traffic_exts, NP(network_traffic_exts), id_network_traffic,
	stix_chk_network_traffic),
    SDO(T_NOTE, "note", note_p, NULL),
    SDO(T_OBSERVED_DATA, "observed-data", observed_data_p,
	stix_chk_observed_data),
    SDO(T_OPINION, "opinion", opinion_p, NULL),
    SCO(T_PROCESS, "process", process_p, TF_AT_LEAST_ONE, process_exts,
	NP(process_exts), id_none, NULL),
    SRO(T_RELATIONSHIP, "relationship", relationship_p, stix_chk_relationship),
    SDO(T_REPORT, "report", report_p, NULL),
    SRO(T_SIGHTING, "sighting", sighting_p, NULL),
    SCO(T_SOFTWARE, "software", software_p, 0, NULL, 0, id_software, NULL),
    SDO(T_THREAT_ACTOR, "threat-actor", threat_actor_p, NULL),
    SDO(T_TOOL, "tool", tool_p, NULL),
    SCO(T_URL, "url", url_p, 0, NULL, 0, id_value, stix_chk_url),
    SCO(T_USER_ACCOUNT, "user-account", user_account_p, TF_AT_LEAST_ONE,
	user_account_exts, NP(user_account_exts), id_user_account, NULL),
    SDO(T_VULNERABILITY, "vulnerability", vulnerability_p, NULL),
    SCO(T_WINDOWS_REGISTRY_KEY, "windows-registry-key", windows_registry_key_p,
	TF_AT_LEAST_ONE, NULL, 0, id_registry_key, stix_chk_registry_key),
    SCO(T_X509_CERTIFICATE, "x509-certificate", x509_certificate_p,
	TF_AT_LEAST_ONE, NULL, 0, id_x509, NULL),
    /* custom object types: common properties only */
    [T_CUSTOM_SDO] = {"custom SDO", STIX_SDO, 0, NP(common_sdo), 0, common_sdo,
		      NULL, NULL, 0, NULL, NULL},
    [T_CUSTOM_SCO] = {"custom SCO", STIX_SCO, 0, NP(common_sco), 0, common_sco,
		      NULL, NULL, 0, NULL, NULL},
    [T_CUSTOM_SRO] = {"custom SRO", STIX_SRO, 0, NP(common_sdo), 0, common_sdo,
		      NULL, NULL, 0, NULL, NULL},
};

/* strcmp of a counted key against a NUL-terminated name, inline. */
static int name_cmp(const char *key, size_t len, const char *name)
{
	size_t i = 0;
	for (; i < len && name[i] != '\0'; i++) {
		if (key[i] != name[i])
			return (unsigned char)key[i] - (unsigned char)name[i];
	}
	if (i < len)
		return 1;
	return name[i] != '\0' ? -1 : 0;
}

int stix_type_find(const char *name, size_t len)
{
	int lo = 0, hi = T__SPEC - 1;
	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		int cmp = name_cmp(name, len, stix_types[mid].name);
		if (cmp == 0)
			return mid;
		if (cmp < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	return -1;
}

bool stix_is_sco_type(const char *type, size_t len)
{
	int t = stix_type_find(type, len);
	return t >= 0 && stix_types[t].kind == STIX_SCO;
}

/* ------------------------------------------------------------------ */
/* Sorted property indices, built once                                  */
/* ------------------------------------------------------------------ */

static struct pindex type_index[T__COUNT];
static pthread_once_t index_once = PTHREAD_ONCE_INIT;

static int pspec_cmp(const void *a, const void *b)
{
	const struct pspec *x = *(const struct pspec *const *)a;
	const struct pspec *y = *(const struct pspec *const *)b;
	return strcmp(x->name, y->name);
}

static unsigned slot_of(const char *key, size_t len)
{
	const unsigned char *k = (const unsigned char *)key;
	if (len == 0)
		return 0;
	return ((unsigned)len * 7u + k[0] * 3u + k[len - 1] * 5u + k[len / 2]) &
	       (PINDEX_SLOTS - 1);
}

int stix_pindex_find(const struct pindex *ix, const char *key, size_t len)
{
	unsigned h = slot_of(key, len);
	for (unsigned probe = 0; probe < PINDEX_SLOTS; probe++) {
		unsigned s = ix->slot[h];
		if (s == 0)
			return -1;
		const struct pspec *p = ix->p[s - 1];
		if (p->len == len && memcmp(p->name, key, len) == 0)
			return (int)s - 1;
		h = (h + 1) & (PINDEX_SLOTS - 1);
	}
	return -1;
}

static void build_index(void)
{
	for (int t = 0; t < T__COUNT; t++) {
		const struct tspec *ts = &stix_types[t];
		struct pindex *ix = &type_index[t];
		ix->n = 0;
		for (unsigned i = 0; i < ts->ncommon && ix->n < 64; i++)
			ix->p[ix->n++] = &ts->common[i];
		for (unsigned i = 0; i < ts->n && ix->n < 64; i++)
			ix->p[ix->n++] = &ts->props[i];
		qsort(ix->p, ix->n, sizeof(ix->p[0]), pspec_cmp);
		ix->required = 0;
		memset(ix->slot, 0, sizeof(ix->slot));
		for (unsigned i = 0; i < ix->n; i++) {
			unsigned h = slot_of(ix->p[i]->name, ix->p[i]->len);
			if (ix->p[i]->flags & F_REQ)
				ix->required |= (uint64_t)1 << i;
			while (ix->slot[h] != 0)
				h = (h + 1) & (PINDEX_SLOTS - 1);
			ix->slot[h] = (uint8_t)(i + 1);
		}
	}
}

const struct pindex *stix_type_index(int tid)
{
	pthread_once(&index_once, build_index);
	return &type_index[tid];
}
