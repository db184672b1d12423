"""MITRE ATT&CK as MITRE publishes it in STIX 2.1 (v14 and later): custom
object types (x-mitre-tactic, -matrix, -collection, -data-source,
-data-component), x_mitre_* properties, a revoked technique with its
revoked-by relationship, a deprecated one, subtechnique-of, uses,
mitigates and detects relationships, MITRE's identity and its statement
marking. The fixture (tests/data/attack/attack-mini.json) must import
whole, be found by ATT&CK id, and come back from `strait get` unchanged."""
import json
import os

import pytest

from conftest import SRC

FIXTURE = os.path.join(SRC, "tests", "data", "attack", "attack-mini.json")

T1566_001 = "attack-pattern--3415728a-526c-4f50-99d1-fa6b4750fa38"
T1193 = "attack-pattern--6be8ca4b-d321-467d-b80f-58675e82ada5"
T1064 = "attack-pattern--1aa10e83-e3f7-44a1-bb51-d53f11e5eb60"
G0032 = "intrusion-set--d473d868-4e87-490c-bda2-ea8765d704c6"
MITRE = "identity--c78cb6e5-0c4b-4611-8297-d1b8b55e40b5"
STATEMENT = "marking-definition--fa42a846-8d90-4e51-bc29-71d5b4802168"


def fixture_objects():
    with open(FIXTURE, encoding="utf-8") as f:
        return json.load(f)["objects"]


def by_id():
    return {o["id"]: o for o in fixture_objects()}


def canonical(obj):
    """RFC 8785 for what the fixture holds (ASCII keys, no numbers but
    integers)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)


@pytest.fixture
def attack(node):
    r = node.run("import", "--json", FIXTURE, check=0)
    return node, r.json()


def test_every_object_is_stored(attack):
    node, summary = attack
    n = len(fixture_objects())
    assert n >= 15
    assert summary["objects"] == n
    assert summary["stored"] == n
    assert summary["rejected"] == 0
    assert summary["conflicting"] == 0
    assert summary["failed"] == 0
    show = node.run("node", "show", "--json", check=0).json()
    types = show["types"]
    for t in ("x-mitre-tactic", "x-mitre-matrix", "x-mitre-collection",
              "x-mitre-data-source", "x-mitre-data-component"):
        assert types.get(t, 0) >= 1, (t, types)
    assert types["attack-pattern"] == 4
    assert types["relationship"] == 7
    # ours and MITRE's
    assert types["identity"] == 2
    # a second import changes nothing
    again = node.run("import", "--json", FIXTURE, check=0).json()
    assert (again["stored"], again["duplicate"]) == (0, n)


def test_revoked_and_deprecated_are_stored_as_they_are(attack):
    node, _ = attack
    got = node.run("get", T1193, "--json", check=0).json()
    obj = got["versions"][0]["object"]
    assert obj["revoked"] is True
    rel = [o for o in fixture_objects()
           if o["type"] == "relationship"
           and o["relationship_type"] == "revoked-by"]
    assert len(rel) == 1 and rel[0]["source_ref"] == T1193
    stored = node.run("get", rel[0]["id"], "--json", check=0).json()
    assert stored["versions"][0]["object"]["target_ref"] == T1566_001
    dep = node.run("get", T1064, "--json", check=0).json()
    assert dep["versions"][0]["object"]["x_mitre_deprecated"] is True
    assert "revoked" not in dep["versions"][0]["object"]
    # the lookup says the revoked technique is revoked
    found = node.run("lookup", "--json", "--quiet", "T1193",
                     check=0).json()
    hit = [o for o in found["objects"] if o["id"] == T1193]
    assert hit and hit[0]["found"] == "attack-id"
    assert hit[0]["revoked"] is True


def test_lookup_by_attack_id(attack):
    node, _ = attack
    found = node.run("lookup", "--json", "--quiet", "T1566.001",
                     check=0).json()
    assert found["kind"] == "attack"
    hits = {o["id"]: o for o in found["objects"]}
    assert hits[T1566_001]["found"] == "attack-id"
    assert hits[T1566_001]["name"] == "Spearphishing Attachment"
    # the relationships naming it: subtechnique-of, uses, revoked-by,
    # detects
    refers = {o["id"] for o in found["objects"] if o["found"] == "refers"}
    want = {o["id"] for o in fixture_objects()
            if o["type"] == "relationship"
            and T1566_001 in (o["source_ref"], o["target_ref"])}
    assert len(want) == 4 and refers == want
    group = node.run("lookup", "--json", "--quiet", "g0032",
                     check=0).json()
    assert G0032 in {o["id"] for o in group["objects"]
                     if o["found"] == "attack-id"}
    r = node.run("lookup", "--quiet", "T1566.001", check=0)
    assert T1566_001 in r.out and "Spearphishing Attachment" in r.out


def test_get_returns_x_mitre_properties_intact(attack):
    node, _ = attack
    objs = by_id()
    checked = 0
    for oid, want in objs.items():
        r = node.run("get", oid, check=0)
        body = [line for line in r.out.splitlines()
                if not line.startswith("#")]
        assert len(body) == 1, r
        # as stored: the object's canonical form, every byte
        assert body[0] == canonical(want), oid
        got = node.run("get", oid, "--json", check=0).json()
        obj = got["versions"][0]["object"]
        xs = [k for k in want if k.startswith("x_mitre_")]
        for k in xs:
            assert obj[k] == want[k] and type(obj[k]) is type(want[k]), \
                (oid, k)
            assert '"%s":%s' % (k, canonical(want[k])) in body[0], (oid, k)
        checked += len(xs)
    assert checked > 80
    # each of the properties the fixture is about, somewhere
    every = set().union(*(o.keys() for o in objs.values()))
    for k in ("x_mitre_version", "x_mitre_domains", "x_mitre_platforms",
              "x_mitre_is_subtechnique", "x_mitre_deprecated",
              "x_mitre_modified_by_ref", "x_mitre_attack_spec_version",
              "x_mitre_contents", "x_mitre_data_source_ref",
              "x_mitre_shortname"):
        assert k in every, k


def test_mitre_marking_is_kept_not_understood(attack):
    node, _ = attack
    ident = node.run("get", MITRE, "--json", check=0).json()
    assert ident["versions"][0]["object"]["name"] == "The MITRE Corporation"
    mark = node.run("get", STATEMENT, "--json", check=0).json()
    obj = mark["versions"][0]["object"]
    assert obj["definition_type"] == "statement"
    assert obj["definition"]["statement"].startswith(
        "Copyright 2015-2024, The MITRE Corporation.")
    # a statement marking is not TLP: objects under it are recorded with
    # an unknown marking (never released on TLP grounds)
    tech = node.run("get", T1566_001, "--json", check=0).json()
    assert tech["versions"][0]["tlp_source"] == "unknown-marking"
