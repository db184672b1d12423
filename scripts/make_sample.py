#!/usr/bin/python3
"""Writes data/sample/dprk-sample.json, the bundled sample data set that
`make run` imports into a new node. Deterministic: ids are UUIDv5 of names,
so regenerating gives the same bytes. All addresses and domains are from
documentation ranges (RFC 5737, RFC 3849) or the reserved .example TLD."""
import json
import sys
import uuid

NS = uuid.UUID("6f2c1c1e-8b55-4a53-9d57-1a0b5c4d7e11")
STIX_NS = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")
T0 = "2026-10-01T09:00:00.000Z"
T1 = "2026-10-15T03:30:00.000Z"

TLP = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}


def sid(t, name):
    # Deterministic, but shaped as UUIDv4 as STIX asks of SDOs and SROs.
    u = bytearray(uuid.uuid5(NS, t + ":" + name).bytes)
    u[6] = (u[6] & 0x0F) | 0x40
    u[8] = (u[8] & 0x3F) | 0x80
    return "%s--%s" % (t, uuid.UUID(bytes=bytes(u)))


def sco_id(t, props):
    canon = json.dumps(props, sort_keys=True, separators=(",", ":"),
                       ensure_ascii=False)
    return "%s--%s" % (t, uuid.uuid5(STIX_NS, canon))


NCSC = sid("identity", "ncsc")
NISC = sid("identity", "nisc")
objs = []


def sdo(t, key, tlp="green", created=T0, modified=None, **kw):
    o = {"type": t, "spec_version": "2.1", "id": sid(t, key),
         "created": created, "modified": modified or created,
         "created_by_ref": kw.pop("by", NCSC)}
    if tlp:
        o["object_marking_refs"] = [TLP[tlp]]
    o.update(kw)
    objs.append(o)
    return o["id"]


def rel(src, rtype, dst, tlp="green"):
    return sdo("relationship", "%s %s %s" % (src, rtype, dst), tlp=tlp,
               relationship_type=rtype, source_ref=src, target_ref=dst)


objs.append({"type": "identity", "spec_version": "2.1", "id": NCSC,
             "created": T0, "modified": T0,
             "name": "National Cyber Security Center (sample)",
             "identity_class": "organization",
             "sectors": ["government-national"],
             "object_marking_refs": [TLP["clear"]]})
objs.append({"type": "identity", "spec_version": "2.1", "id": NISC,
             "created": T0, "modified": T0,
             "name": "National center of Incident readiness and Strategy "
                     "for Cybersecurity (sample)",
             "identity_class": "organization",
             "sectors": ["government-national"],
             "object_marking_refs": [TLP["clear"]]})
kr = sdo("location", "kr", tlp="clear", name="Republic of Korea",
         country="KR", region="eastern-asia")
jp = sdo("location", "jp", tlp="clear", name="Japan", country="JP",
         region="eastern-asia")

lazarus = sdo("intrusion-set", "lazarus", name="Lazarus Group",
              aliases=["HIDDEN COBRA", "Diamond Sleet"],
              description="State-sponsored actor attributed to the DPRK; "
                          "financially motivated operations against "
                          "crypto-asset exchanges.",
              first_seen="2009-01-01T00:00:00.000Z",
              goals=["steal crypto-assets", "espionage"],
              resource_level="government",
              primary_motivation="organizational-gain")
kimsuky = sdo("intrusion-set", "kimsuky", name="Kimsuky",
              aliases=["Emerald Sleet", "Velvet Chollima"],
              description="DPRK espionage actor targeting think tanks, "
                          "diplomats and nuclear-policy experts in Korea "
                          "and Japan.",
              resource_level="government", primary_motivation="ideology")
andariel = sdo("intrusion-set", "andariel", name="Andariel",
               resource_level="government",
               primary_motivation="organizational-gain")
actor = sdo("threat-actor", "rgb", name="Reconnaissance General Bureau "
            "operators", threat_actor_types=["nation-state"],
            sophistication="advanced", resource_level="government",
            primary_motivation="organizational-gain")
applejeus = sdo("malware", "applejeus", name="AppleJeus", is_family=True,
                malware_types=["trojan", "backdoor"],
                description="Trojanised crypto-trading application.")
babyshark = sdo("malware", "babyshark", name="BabyShark", is_family=True,
                malware_types=["remote-access-trojan"])
phish = sdo("attack-pattern", "spearphishing-attachment",
            name="Spearphishing Attachment",
            external_references=[{"source_name": "mitre-attack",
                                  "external_id": "T1566.001"}])
wedge = sdo("attack-pattern", "wedge-issues",
            name="Identify Wedge Issues",
            description="Divisive narratives on historical issues seeded "
                        "to split publics.",
            external_references=[{"source_name": "DISARM",
                                  "external_id": "T0081.006"}])
vuln = sdo("vulnerability", "cve-2025-0001", name="CVE-2025-0001",
           tlp="clear",
           external_references=[{"source_name": "cve",
                                 "external_id": "CVE-2025-0001"}])
tool = sdo("tool", "mixer", name="Crypto mixing service",
           tool_types=["information-gathering"])
coa = sdo("course-of-action", "block-c2", name="Block listed C2 addresses",
          description="Block the listed addresses at the perimeter.")
infra = sdo("infrastructure", "c2-kr-hop", tlp="amber",
            name="Relay hosts used to launder attack origin",
            infrastructure_types=["command-and-control", "anonymization"])
campaign = sdo("campaign", "applejeus-2026", name="AppleJeus 2026 wave",
               first_seen="2026-09-20T00:00:00.000Z",
               objective="Theft of crypto-assets from exchanges")

indicators = []
values = [
    ("ipv4-addr", "value", "203.0.113.17", "clear"),
    ("ipv4-addr", "value", "198.51.100.23", "green"),
    ("domain-name", "value", "update.trade-helper.example", "green"),
    ("domain-name", "value", "mail.kr-gov-login.example", "amber"),
    ("url", "value", "https://cdn.celas-trade.example/jeus.pkg", "green"),
    ("file", "hashes.'SHA-256'",
     "3f9c2b7f0c1e4d5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c",
     "amber"),
    ("ipv6-addr", "value", "2001:db8::66", "green"),
    ("email-addr", "value", "recruiter@jobs-portal.example", None),
]
for i, (t, path, v, tlp) in enumerate(values):
    pat = "[%s:%s = '%s']" % (t, path, v)
    ind = sdo("indicator", "ind-%d" % i, tlp=tlp,
              name="%s %s" % (t, v), pattern=pat, pattern_type="stix",
              valid_from=T0, indicator_types=["malicious-activity"],
              kill_chain_phases=[{"kill_chain_name": "mitre-attack",
                                  "phase_name": "command-and-control"}])
    indicators.append(ind)
    rel(ind, "indicates", lazarus if i % 2 == 0 else kimsuky, tlp=tlp)

# SCOs with deterministic ids, one of each common kind.
for t, v in [("ipv4-addr", "203.0.113.17"), ("ipv4-addr", "198.51.100.23"),
             ("domain-name", "update.trade-helper.example"),
             ("url", "https://cdn.celas-trade.example/jeus.pkg"),
             ("ipv6-addr", "2001:db8::66")]:
    objs.append({"type": t, "spec_version": "2.1",
                 "id": sco_id(t, {"value": v}), "value": v})
fileobj = {"type": "file", "spec_version": "2.1",
           "hashes": {"SHA-256": values[5][2]}, "name": "jeus.pkg"}
fileobj["id"] = sco_id("file", {"hashes": fileobj["hashes"],
                                "name": "jeus.pkg"})
objs.append(fileobj)

rel(lazarus, "uses", applejeus)
rel(kimsuky, "uses", babyshark)
rel(kimsuky, "uses", phish)
rel(lazarus, "attributed-to", actor)
rel(campaign, "attributed-to", lazarus)
rel(lazarus, "targets", kr, tlp="clear")
rel(kimsuky, "targets", jp, tlp="clear")
rel(applejeus, "exploits", vuln)
rel(coa, "mitigates", applejeus)
rel(lazarus, "uses", infra, tlp="amber")
rel(andariel, "uses", tool)

obs = sdo("observed-data", "obs-1", tlp="amber",
          first_observed="2026-10-14T22:10:00.000Z",
          last_observed="2026-10-14T22:40:00.000Z", number_observed=3,
          object_refs=[sco_id("ipv4-addr", {"value": "203.0.113.17"})])
sdo("sighting", "sight-1", tlp="amber", by=NISC,
    sighting_of_ref=indicators[0], count=3,
    first_seen="2026-10-14T22:10:00.000Z",
    last_seen="2026-10-14T22:40:00.000Z",
    observed_data_refs=[obs], where_sighted_refs=[NISC])
sdo("report", "joint-advisory-1", created=T1,
    name="Joint advisory: AppleJeus wave against exchanges",
    report_types=["threat-report", "campaign"], published=T1,
    object_refs=[lazarus, applejeus, campaign] + indicators[:5])
sdo("note", "note-1", tlp="amber", content="Hosts in the relay range were "
    "compromised routers; the origin is not Korean.",
    object_refs=[infra])
sdo("grouping", "case-1", tlp="amber", context="suspicious-activity",
    name="Relay investigation", object_refs=[infra, obs])
sdo("opinion", "op-1", by=NISC, opinion="agree",
    object_refs=[lazarus])
# An updated version of an indicator: revoked later.
old = [o for o in objs if o["id"] == indicators[1]][0]
upd = dict(old)
upd["modified"] = T1
upd["revoked"] = True
objs.append(upd)
# A RED item for named recipients only.
sdo("note", "note-red", tlp="red",
    content="Source reporting: liaison channel only.",
    object_refs=[lazarus])

bundle = {"type": "bundle", "id": sid("bundle", "sample"),
          "objects": objs}
json.dump(bundle, sys.stdout, indent=1, ensure_ascii=False)
sys.stdout.write("\n")
