"""MISP in and out: event JSON imported as STIX (golden file, `make golden`
writes it again), what cannot be imported named with its event and
attribute, a round trip back out as a MISP feed, the feed served at
/api/v1/feeds/misp/ by the release decision of each account, and a feed
made --for a partner never holding what the decision withholds."""
import copy
import hashlib
import json
import os

from conftest import sid
from taxii_fixtures import Client, Server, add_user, collection_id, grant

GOLDEN = os.path.join(os.path.dirname(__file__), "..", "golden", "misp")
EVENT = os.path.join(GOLDEN, "event.json")
KEY = "FH2PF_E6vyZKHafoxsgmv7ajpq5AcP3xRGyrS1GLvrE"
EV_UUID = "5f0c2a1e-8b44-4d2a-9c61-3e7d2b9a1c01"
RED_SHA = "0b8f5d2e-6a1c-4f3b-9d7e-1a2b3c4d5e04"


def load_event():
    with open(EVENT) as f:
        return json.load(f)


def stix_objects(node):
    out = node.run("export", check=0).json()
    return sorted(out["objects"], key=lambda o: o["id"])


def test_event_imports_as_these_objects(node):
    r = node.run("import", EVENT, check=0)
    assert "stored       19" in r.out and "rejected     0" in r.out, r
    # what has no STIX equivalent is named, and kept
    assert "attribute 6: MISP type 'btc' has no STIX equivalent: kept " \
        "as a note" in r.err, r.err
    assert "attribute 9 (0b8f5d2e-6a1c-4f3b-9d7e-1a2b3c4d5e09): deleted " \
        "in MISP, left out" in r.err, r.err
    assert "galaxy 'sector' has no STIX mapping" in r.err, r.err
    got = json.dumps(stix_objects(node), indent=1, ensure_ascii=False,
                     sort_keys=True) + "\n"
    path = os.path.join(GOLDEN, "event.stix.json")
    if os.environ.get("STRAIT_GOLDEN_UPDATE"):
        with open(path, "w") as f:
            f.write(got)
    with open(path) as f:
        assert got == f.read()
    # imported again: the same objects
    r = node.run("import", EVENT, check=0)
    assert "duplicate    19" in r.out, r


def test_the_mapping(node):
    node.run("import", "--quiet", EVENT, check=0)
    objs = {o["id"]: o for o in stix_objects(node)}
    rep = objs["report--" + EV_UUID]
    assert rep["name"].startswith("Lazarus spear-phishing")
    assert rep["object_marking_refs"] == [
        "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"]
    assert 'misp-galaxy:sector="Finance"' in rep["labels"]
    assert set(rep["object_refs"]) <= set(objs)
    ip = objs["indicator--0b8f5d2e-6a1c-4f3b-9d7e-1a2b3c4d5e01"]
    assert ip["pattern"] == "[ipv4-addr:value = '198.51.100.7']"
    assert ip["valid_from"] == "2026-10-30T08:00:00.000Z"
    # the attribute's own TLP tag wins over the event's
    sha = objs["indicator--" + RED_SHA]
    assert sha["object_marking_refs"] == [
        "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"]
    # to_ids false: observed data and its SCO
    od = objs["observed-data--0b8f5d2e-6a1c-4f3b-9d7e-1a2b3c4d5e03"]
    assert objs[od["object_refs"][0]]["value"] == \
        "https://update-exchange.example/login.php"
    port = objs["indicator--0b8f5d2e-6a1c-4f3b-9d7e-1a2b3c4d5e07"]
    assert "network-traffic:dst_port = 8443" in port["pattern"]
    ta = [o for o in objs.values() if o["type"] == "threat-actor"][0]
    assert ta["name"] == "Lazarus Group" and "APT38" in ta["aliases"]
    ap = [o for o in objs.values() if o["type"] == "attack-pattern"][0]
    assert {"source_name": "mitre-attack", "external_id": "T1566.002"} \
        in ap["external_references"]
    # lookup finds the event's values, the ATT&CK id too
    r = node.run("lookup", "--json", "198.51.100.7", check=0).json()
    assert "report--" + EV_UUID in {o["id"] for o in r["objects"]}
    r = node.run("lookup", "--json", "T1566.002", check=0).json()
    assert ap["id"] in {o["id"] for o in r["objects"]}


def test_bad_attributes_are_named_and_the_rest_kept(node, tmp_path):
    ev = load_event()
    ev["Event"]["Attribute"][0]["value"] = "198.51.100.300"
    ev["Event"]["Attribute"][1]["uuid"] = "not-a-uuid"
    ev["Event"]["Object"][0]["Attribute"][1]["first_seen"] = "yesterday"
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(ev))
    r = node.run("import", str(p))
    assert r.rc == 1, r
    assert "rejected     3" in r.out and "stored       16" in r.out, r
    for want in (
            "event 1, attribute 1 (0b8f5d2e-6a1c-4f3b-9d7e-1a2b3c4d5e01): "
            "value: not an IPv4 or IPv6 address (type ip-dst): "
            "'198.51.100.300'",
            "event 1, attribute 2: uuid: missing or not a UUID",
            "event 1, object 1, attribute 2 "
            "(4c2e9a7b-1d3f-4b5a-8c6e-0f1a2b3c4d03): first_seen: not a "
            "time"):
        assert want in r.err, r.err


def test_not_misp_and_malformed(node, tmp_path):
    p = tmp_path / "x.json"
    p.write_text('{"Event": {"uuid": "5f0c2a1e-8b44-4d2a-9c61-3e7d2b9a1c01"'
                 ', "info": "x", "timestamp": "1793750400", "Attribute": [')
    r = node.run("import", str(p))
    assert r.rc == 1 and "rejected     1" in r.out, r
    assert "rejected: %s: " % p in r.err, r.err
    p.write_text('{"Event": {"info": "no uuid", "timestamp": "1"}}')
    r = node.run("import", str(p))
    assert r.rc == 1 and "event 1: uuid: missing or not a UUID" in r.err, r
    p.write_text('{"Event": {"uuid": "%s", "info": "empty", '
                 '"timestamp": "1793750400"}}' % EV_UUID)
    r = node.run("import", str(p))
    assert r.rc == 1 and "nothing in it could be imported" in r.err, r
    # --format misp on something else says what it expected
    q = tmp_path / "b.json"
    q.write_text('{"type": "bundle", "id": "%s", "objects": []}'
                 % sid("bundle"))
    r = node.run("import", "--format", "misp", str(q))
    assert r.rc == 1 and "expected {\"Event\": {...}}" in r.err, r


def test_a_response_list_of_events(node, tmp_path):
    a = load_event()
    b = copy.deepcopy(a)
    b["Event"]["uuid"] = "6a0c2a1e-8b44-4d2a-9c61-3e7d2b9a1c02"
    b["Event"]["info"] = "second event"
    b["Event"]["Attribute"] = [{
        "uuid": "6a0c2a1e-8b44-4d2a-9c61-3e7d2b9a1c03", "type": "hostname",
        "category": "Network activity", "value": "c2.example",
        "to_ids": True, "timestamp": "1793750400"}]
    b["Event"]["Object"] = []
    b["Event"]["Galaxy"] = []
    p = tmp_path / "list.json"
    p.write_text(json.dumps({"response": [a, b]}))
    r = node.run("import", str(p), check=0)
    assert "rejected     0" in r.out, r
    ids = {o["id"] for o in stix_objects(node)}
    assert "report--6a0c2a1e-8b44-4d2a-9c61-3e7d2b9a1c02" in ids
    assert "report--" + EV_UUID in ids


def project(ev):
    """What a round trip keeps of an event: its attributes and objects
    by uuid with type, value, to_ids, category, comment, relation."""
    e = ev["Event"]

    def attr(a):
        return (a["type"], a["value"], bool(a["to_ids"]),
                a.get("category"), a.get("comment") or "",
                a.get("object_relation"))
    attrs = {a["uuid"]: attr(a) for a in e.get("Attribute", [])
             if not a.get("deleted")}
    objs = {o["uuid"]: (o["name"], {a["uuid"]: attr(a)
                                    for a in o["Attribute"]})
            for o in e.get("Object", [])}
    clusters = {c["uuid"]: c["value"] for g in e.get("Galaxy", [])
                for c in g["GalaxyCluster"]
                if g["type"] in ("threat-actor", "mitre-attack-pattern")}
    return e["uuid"], e["info"], e["date"], attrs, objs, clusters


def read_feed(d):
    with open(os.path.join(d, "manifest.json")) as f:
        manifest = json.load(f)
    with open(os.path.join(d, "hashes.csv")) as f:
        hashes = f.read().splitlines()
    events = {}
    for u in manifest:
        with open(os.path.join(d, u + ".json")) as f:
            events[u] = json.load(f)
    return manifest, hashes, events


def test_round_trip_as_a_misp_feed(node, tmp_path):
    node.run("import", "--quiet", EVENT, check=0)
    out = tmp_path / "feed"
    r = node.run("export", "--format", "misp-feed", "-o", str(out), check=0)
    assert "exported 1 events" in r.err, r
    manifest, hashes, events = read_feed(out)
    assert list(manifest) == [EV_UUID]
    # the feed's files are these (`make golden` writes them again)
    for name, want in (("manifest.json", "feed-manifest.json"),
                       ("hashes.csv", "feed-hashes.csv"),
                       (EV_UUID + ".json", "feed-event.json")):
        with open(out / name) as f:
            got = f.read()
        if name.endswith(".json"):
            got = json.dumps(json.loads(got), indent=1,
                             ensure_ascii=False) + "\n"
        path = os.path.join(GOLDEN, want)
        if os.environ.get("STRAIT_GOLDEN_UPDATE"):
            with open(path, "w") as f:
                f.write(got)
        with open(path) as f:
            assert got == f.read(), name
    m = manifest[EV_UUID]
    assert m["info"] == load_event()["Event"]["info"]
    assert m["Orgc"] == {"name": "KR-NCSC",
                         "uuid": "7d3e6b8a-2f1c-4e5d-8a9b-0c1d2e3f4a5b"}
    assert {"name": "tlp:amber"} in m["Tag"]
    assert m["timestamp"] == "1793750400"
    assert project(events[EV_UUID]) == project(load_event())
    md5 = hashlib.md5(b"198.51.100.7").hexdigest()
    assert "%s,%s" % (md5, EV_UUID) in hashes
    # the composite value is hashed part by part, as MISP does
    assert "%s,%s" % (hashlib.md5(b"8443").hexdigest(), EV_UUID) in hashes
    # the feed imports again as the same objects
    other = tmp_path / "other"
    from conftest import Node
    n2 = Node(other)
    n2.run("init", "--name", "JP", "--country", "JP", check=0)
    r = n2.run("import", str(out / (EV_UUID + ".json")), check=0)
    assert "rejected     0" in r.out, r
    a = {o["id"] for o in stix_objects(node)}
    b = {o["id"] for o in stix_objects(n2)}
    assert a - b == set(), a - b


def without_red(ev, uuid):
    """The event under another uuid, without its RED attribute."""
    e = copy.deepcopy(ev)
    e["Event"]["uuid"] = uuid
    e["Event"]["Attribute"] = [a for a in e["Event"]["Attribute"]
                               if a["uuid"] != RED_SHA]
    return e


def partner_jp(node, tmp_path):
    node.run("user", "add", "jp", "--role", "peer", "--org", "NISC",
             check=0)
    pol = tmp_path / "jp.yaml"
    pol.write_text('tlp: [clear, green, amber]\ncollections: ["*"]\n'
                   'types: ["*"]\nlabels: ["*"]\n')
    node.run("peer", "add", "jp", "--url", "http://127.0.0.1:9/taxii2/",
             "--key", KEY, "--token", "-", "--policy", str(pol),
             stdin="unused\n", check=0)


def test_a_feed_for_a_partner_holds_only_what_it_is_given(node, fresh,
                                                          tmp_path):
    """The release decision is reference-aware: an event that refers to
    a RED attribute is withheld whole from a partner that may not have
    it; the same event without it is given, AMBER attributes and all."""
    partner_jp(node, tmp_path)
    node.run("import", "--quiet", EVENT, check=0)
    out = tmp_path / "feed"
    r = node.run("export", "--format", "misp-feed", "-o", str(out),
                 "--for", "jp", check=0)
    manifest, hashes, events = read_feed(out)
    assert manifest == {} and hashes == [], (manifest, hashes)
    assert "exported 0 events" in r.err, r
    fresh.run("init", "--name", "KR2", "--country", "KR", check=0)
    partner_jp(fresh, tmp_path)
    p = tmp_path / "plain.json"
    p.write_text(json.dumps(without_red(load_event(), EV_UUID)))
    fresh.run("import", "--quiet", str(p), check=0)
    r = fresh.run("export", "--format", "misp-feed", "-o", str(out),
                  "--for", "jp", check=0)
    manifest, hashes, events = read_feed(out)
    assert list(manifest) == [EV_UUID], manifest
    assert project(events[EV_UUID]) == \
        project(without_red(load_event(), EV_UUID))
    assert hashlib.md5(b"198.51.100.7").hexdigest() in "".join(hashes)
    sent = fresh.run("peer", "sent", "jp", "--json", check=0).json()
    assert any(x["path"] == "export" for x in sent), sent
    # an earlier export's event files the feed no longer holds go
    stale = out / "11111111-2222-4333-8444-555555555555.json"
    stale.write_text("{}")
    r = fresh.run("export", "--format", "misp-feed", "-o", str(out),
                  "--for", "jp", check=0)
    assert not stale.exists() and "removed 1 event files" in r.err, r
    r = fresh.run("export", "--format", "misp-feed")
    assert r.rc == 2 and "give it with -o DIR" in r.err, r


def test_the_feed_served_by_the_release_decision(node, tmp_path):
    coll = collection_id(node)
    node.run("import", "--quiet", EVENT, check=0)
    srv = Server(node)
    try:
        own = Client(srv, add_user(node, "ana", "analyst"))
        other = Client(srv, add_user(node, "bob", "reader",
                                     org="Partner Bank"))
        none = Client(srv, add_user(node, "eve", "analyst"))
        metrics = Client(srv, add_user(node, "prom", "metrics"))
        grant(node, own, coll, "ana", "read")
        grant(node, other, coll, "bob", "read")
        base = srv.base + "api/v1/feeds/misp/"
        r = own.get(base + "manifest.json")
        assert r.status_code == 200, r.text
        assert list(r.json()) == [EV_UUID]
        # our analyst: everything but the RED attribute, which goes to
        # named recipients only
        r = own.get(base + EV_UUID + ".json")
        assert r.status_code == 200, r.text
        assert project(r.json()) == \
            project(without_red(load_event(), EV_UUID))
        r = own.get(base + "hashes.csv")
        assert r.status_code == 200 and r.headers["Content-Type"]. \
            startswith("text/csv")
        assert hashlib.md5(b"198.51.100.7").hexdigest() in r.text
        red = "3F1B8E0C2D4A6B8C0E2F4A6B8C0D2E4F6A8B0C2D4E6F8A0B2C4D6E8F0A2B" \
            "4C6D"
        assert hashlib.md5(red.encode()).hexdigest() not in r.text
        # another organisation's reader may not read AMBER: no event
        assert other.get(base + "manifest.json").json() == {}
        r = other.get(base + EV_UUID + ".json")
        assert r.status_code == 404, r.text
        # no grant: an empty feed, and no event
        assert none.get(base + "manifest.json").json() == {}
        assert none.get(base + EV_UUID + ".json").status_code == 404
        assert metrics.get(base + "manifest.json").status_code == 403
        assert own.get(base + "passwd").status_code == 404
        assert own.get(base + "../manifest.json").status_code == 404
        assert Client(srv).get(base + "manifest.json").status_code == 401
    finally:
        srv.stop()
