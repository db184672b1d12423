"""strait match: Zeek logs (JSON and TSV) with planted hits against stored
indicators; the sightings it emits, their markings, what they leave out,
and who may read them."""
import json

import pytest

from conftest import sid
from taxii_fixtures import Client, Server, TAXII, add_user, collection_id

STRICT = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
RED = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"

C2 = "175.45.176.10"          # planted: a remote address
PHISH = "login-naver.kr-security.com"  # planted: a DNS query
SHA256 = "5f0a6c1e8d9b7a2c3e4f5061728394a5b6c7d8e9f00112233445566778899aab"
INSIDE = "10.1.2.3"           # our host: must never leave the node
RESOLVER = "8.8.8.8"          # on the shipped warninglist

IND = {
    "c2": (sid("indicator"), "[ipv4-addr:value = '%s']" % C2, [STRICT]),
    "phish": (sid("indicator"), "[domain-name:value = '%s']" % PHISH,
              [GREEN]),
    "file": (sid("indicator"),
             "[file:hashes.'SHA-256' = '%s']" % SHA256, [GREEN]),
    "unseen": (sid("indicator"), "[ipv4-addr:value = '175.45.176.99']",
               [GREEN]),
    "resolver": (sid("indicator"), "[ipv4-addr:value = '%s']" % RESOLVER,
                 [GREEN]),
    "reserved": (sid("indicator"), "[domain-name:value = 'www.example.com']",
                 [GREEN]),
}


def indicator(iid, pattern, markings):
    return {"type": "indicator", "spec_version": "2.1", "id": iid,
            "created": "2024-01-01T00:00:00.000Z",
            "modified": "2024-01-01T00:00:00.000Z",
            "pattern": pattern, "pattern_type": "stix",
            "valid_from": "2024-01-01T00:00:00Z",
            "object_marking_refs": markings}


# Planted records: three connections to the C2 address from our host, two
# DNS queries for the phishing name, one download of the file, and
# traffic to the warninglisted resolver.
CONN = [
    (1709287200.5, INSIDE, 49152, C2, 443, "tcp"),
    (1709287260.5, INSIDE, 49153, C2, 443, "tcp"),
    (1709287320.5, INSIDE, 49154, C2, 8080, "tcp"),
    (1709287330.5, INSIDE, 53000, RESOLVER, 53, "udp"),
    (1709287340.5, INSIDE, 49155, "198.18.0.7", 443, "tcp"),
]
DNS = [
    (1709287201.0, INSIDE, PHISH),
    (1709287202.0, INSIDE, PHISH),
    (1709287203.0, INSIDE, "www.example.com"),
]
FILES = [(1709287204.0, INSIDE, "198.18.0.8", SHA256)]

HEAD = ("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n"
        "#unset_field\t-\n#path\t%s\n#fields\t%s\n#types\t%s\n")


def write_json_logs(d):
    d.mkdir()
    with open(d / "conn.log", "w") as f:
        for ts, oh, op, rh, rp, proto in CONN:
            f.write(json.dumps({"ts": ts, "uid": "C%d" % int(ts),
                                "id.orig_h": oh, "id.orig_p": op,
                                "id.resp_h": rh, "id.resp_p": rp,
                                "proto": proto, "local_orig": True,
                                "local_resp": False}) + "\n")
    with open(d / "dns.log", "w") as f:
        for ts, oh, q in DNS:
            f.write(json.dumps({"ts": ts, "uid": "D%d" % int(ts),
                                "id.orig_h": oh, "id.orig_p": 5353,
                                "id.resp_h": "10.0.0.53", "id.resp_p": 53,
                                "proto": "udp", "query": q}) + "\n")
    with open(d / "files.log", "w") as f:
        for ts, oh, rh, sha in FILES:
            f.write(json.dumps({"ts": ts, "fuid": "F1", "uid": "C9",
                                "id.orig_h": rh, "id.orig_p": 80,
                                "id.resp_h": oh, "id.resp_p": 50000,
                                "source": "HTTP", "sha256": sha}) + "\n")


def write_tsv_logs(d):
    d.mkdir()
    with open(d / "conn.log", "w") as f:
        f.write(HEAD % ("conn", "\t".join(
            ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p",
             "proto", "local_orig", "local_resp"]), "\t".join(
            ["time", "string", "addr", "port", "addr", "port", "enum",
             "bool", "bool"])))
        for ts, oh, op, rh, rp, proto in CONN:
            f.write("%.6f\tC%d\t%s\t%d\t%s\t%d\t%s\tT\tF\n" % (
                ts, int(ts), oh, op, rh, rp, proto))
    with open(d / "dns.log", "w") as f:
        f.write(HEAD % ("dns", "\t".join(
            ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p",
             "proto", "query", "answers"]), "\t".join(
            ["time", "string", "addr", "port", "addr", "port", "enum",
             "string", "vector[string]"])))
        for ts, oh, q in DNS:
            f.write("%.6f\tD%d\t%s\t5353\t10.0.0.53\t53\tudp\t%s\t-\n" % (
                ts, int(ts), oh, q))
    with open(d / "files.log", "w") as f:
        f.write(HEAD % ("files", "\t".join(
            ["ts", "fuid", "uid", "id.orig_h", "id.orig_p", "id.resp_h",
             "id.resp_p", "source", "md5", "sha1", "sha256"]), "\t".join(
            ["time", "string", "string", "addr", "port", "addr", "port",
             "string", "string", "string", "string"])))
        for ts, oh, rh, sha in FILES:
            f.write("%.6f\tF1\tC9\t%s\t80\t%s\t50000\tHTTP\t-\t-\t%s\n" % (
                ts, rh, oh, sha))


@pytest.fixture
def loaded(node, tmp_path):
    bundle = {"type": "bundle", "id": sid("bundle"),
              "objects": [indicator(*v) for v in IND.values()]}
    p = tmp_path / "indicators.json"
    p.write_text(json.dumps(bundle))
    node.run("import", str(p), check=0)
    write_json_logs(tmp_path / "zeek-json")
    write_tsv_logs(tmp_path / "zeek-tsv")
    return node


def stored_objects(node):
    r = node.run("export", "--all-versions", check=0)
    return json.loads(r.out)["objects"]


def sightings_by_indicator(objs):
    return {o["sighting_of_ref"]: o for o in objs if o["type"] == "sighting"}


@pytest.mark.parametrize("fmt", ["zeek-json", "zeek-tsv"])
def test_planted_hits_become_sightings(loaded, tmp_path, fmt):
    node = loaded
    r = node.run("match", "--zeek", str(tmp_path / fmt), "--emit-sightings",
                 "--json")
    # the two warninglisted indicators are refused, which exits 1
    assert r.rc == 1, r
    assert IND["resolver"][0] in r.err and "warninglist" in r.err
    assert IND["reserved"][0] in r.err
    summary = json.loads(r.out)
    assert summary["records"] == len(CONN) + len(DNS) + len(FILES)
    assert summary["malformed"] == 0
    assert summary["refused"] == 2
    assert summary["indicators_hit"] == 3
    assert summary["sightings"] == 3

    objs = stored_objects(node)
    by_ind = sightings_by_indicator(objs)
    assert set(by_ind) == {IND["c2"][0], IND["phish"][0], IND["file"][0]}
    assert by_ind[IND["c2"][0]]["count"] == 3
    assert by_ind[IND["phish"][0]]["count"] == 2
    assert by_ind[IND["file"][0]]["count"] == 1
    assert by_ind[IND["c2"][0]]["first_seen"].startswith(
        "2024-03-01T10:00:00.5")
    assert by_ind[IND["c2"][0]]["last_seen"].startswith(
        "2024-03-01T10:02:00.5")

    ident = json.loads(node.run("node", "show", "--json", check=0).out)
    index = {o["id"]: o for o in objs}
    for key in ("c2", "phish", "file"):
        s = by_ind[IND[key][0]]
        # marked as its indicator, sighted here
        assert set(IND[key][2]) <= set(s["object_marking_refs"])
        assert s["where_sighted_refs"] == [ident["id"]]
        (od,) = [index[i] for i in s["observed_data_refs"]]
        assert od["number_observed"] == s["count"]
        assert set(IND[key][2]) <= set(od["object_marking_refs"])
        scos = [index[i] for i in od["object_refs"]]
        assert len(scos) == 1
        for sco in scos:
            assert set(IND[key][2]) <= set(sco["object_marking_refs"])
    values = [index[i] for i in by_ind[IND["c2"][0]]["observed_data_refs"]]
    assert index[values[0]["object_refs"][0]]["value"] == C2
    # nothing of our own network in anything the match produced
    produced = [o for o in objs if o["type"] != "indicator"]
    assert produced
    for o in produced:
        text = json.dumps(o)
        assert INSIDE not in text and "10.0.0.53" not in text, text
        assert RESOLVER not in text and "www.example.com" not in text


def test_json_and_tsv_agree(loaded, tmp_path):
    node = loaded
    out = {}
    for fmt in ("zeek-json", "zeek-tsv"):
        r = node.run("match", "--zeek", str(tmp_path / fmt), "--json",
                     "--quiet")
        assert r.rc == 1, r  # refused indicators
        doc = json.loads(r.out)
        out[fmt] = sorted((o["sighting_of_ref"], o["count"])
                          for o in doc["sightings"] if o["type"] ==
                          "sighting")
        assert doc["summary"]["stored"] == 0
    assert out["zeek-json"] == out["zeek-tsv"]
    assert len(out["zeek-json"]) == 3
    # without --emit-sightings nothing was stored
    assert not [o for o in stored_objects(node) if o["type"] == "sighting"]


def test_malformed_lines_are_counted_not_fatal(loaded, tmp_path):
    d = tmp_path / "bad"
    d.mkdir()
    good = json.dumps({"ts": 1709287200.5, "uid": "C1", "id.orig_h": INSIDE,
                       "id.orig_p": 1, "id.resp_h": C2, "id.resp_p": 443,
                       "proto": "tcp"})
    (d / "conn.log").write_text(good + "\n{not json\n" + good + "\n")
    r = loaded.run("match", "--zeek", str(d / "conn.log"), "--json",
                   "--no-warninglists")
    assert r.rc == 1, r
    assert "conn.log:2" in r.err
    doc = json.loads(r.out)
    assert doc["summary"]["records"] == 2
    assert doc["summary"]["malformed"] == 1


def test_strict_sighting_is_not_released(loaded, tmp_path):
    node = loaded
    node.run("match", "--zeek", str(tmp_path / "zeek-json"),
             "--emit-sightings", "--quiet")
    coll = collection_id(node)
    peer_tok = add_user(node, "jp", "peer", org="NISC")
    other_tok = add_user(node, "us", "analyst", org="CISA")
    own_tok = add_user(node, "kr", "analyst")
    for name in ("jp", "us", "kr"):
        node.run("collection", "grant", "default", name, "read", check=0)
    srv = Server(node)
    try:
        def sightings(tok):
            c = Client(srv, tok)
            r = c.get("collections/%s/objects/?match[type]=sighting"
                      "&limit=100" % coll)
            assert r.status_code == 200, r.text
            assert r.headers["Content-Type"] == TAXII
            return {o["sighting_of_ref"]
                    for o in r.json().get("objects", [])}
        own = sightings(own_tok)
        assert IND["c2"][0] in own  # our organisation reads it
        # AMBER+STRICT: not to another organisation, never to a peer
        assert IND["c2"][0] not in sightings(other_tok)
        assert IND["phish"][0] in sightings(other_tok)
        assert sightings(peer_tok) == set()
    finally:
        srv.stop()


def test_telemetry_endpoint(loaded, tmp_path):
    node = loaded
    # A RED indicator on the same address: nobody here is named on it, so
    # its hits must not show in any count the poster gets back.
    red = indicator(sid("indicator"), "[ipv4-addr:value = '%s']" % C2,
                    [RED])
    p = tmp_path / "red.json"
    p.write_text(json.dumps({"type": "bundle", "id": sid("bundle"),
                             "objects": [red]}))
    node.run("import", str(p), check=0)
    coll = collection_id(node)
    analyst = add_user(node, "soc", "analyst")
    reader = add_user(node, "r", "reader")
    foreign = add_user(node, "us", "analyst", org="CISA")
    for name in ("soc", "r", "us"):
        node.run("collection", "grant", "default", name, "read", check=0)
    srv = Server(node)
    try:
        url = srv.base + "api/v1/telemetry"
        body = (tmp_path / "zeek-json" / "conn.log").read_text()
        body += "{broken\n"
        soc = Client(srv, analyst)
        r = soc.s.post(url, data=body, timeout=60,
                       headers={"Content-Type": "text/plain"})
        assert r.status_code == 200, r.text
        doc = r.json()
        assert doc["records"] == len(CONN)
        assert doc["malformed"] == 1
        assert doc["errors"][0]["line"] == len(CONN) + 1
        assert doc["hits"] == 3  # the three connections to the C2
        assert doc["sightings"] == 1 and doc["stored"] >= 2
        assert set(doc) == {"errors", "records", "malformed", "hits",
                            "sightings", "stored"}
        # the same again: the sighting gets a new version, count 6
        r = soc.s.post(url, data=body, timeout=60)
        assert r.json()["sightings"] == 1
        r = soc.get("collections/%s/objects/?match[type]=sighting" % coll)
        (s,) = r.json()["objects"]
        assert s["sighting_of_ref"] == IND["c2"][0] and s["count"] == 6
        assert STRICT in s["object_marking_refs"]
        assert INSIDE not in json.dumps(r.json())
        # the RED indicator was hit too: its sighting is stored, unseen
        assert red["id"] in {o.get("sighting_of_ref")
                             for o in stored_objects(node)}
        # only analysts and admins of our organisation post telemetry
        for tok in (reader, foreign):
            r = Client(srv, tok).s.post(url, data=body, timeout=60)
            assert r.status_code == 403, r.text
        r = soc.s.post(url + "?format=pcap", data=body, timeout=60)
        assert r.status_code == 400
        r = soc.s.post(url + "?format=eve", data="", timeout=60)
        assert r.status_code == 200 and r.json()["records"] == 0
    finally:
        srv.stop()


def test_patterns_checked_on_import_and_taxii_add(node, tmp_path):
    bad = indicator(sid("indicator"), "[ipv4-addr:value = '1.2.3.4'",
                    [GREEN])
    yara = indicator(sid("indicator"), "rule x { condition: true }", [GREEN])
    yara["pattern_type"] = "yara"
    good = indicator(sid("indicator"), "[url:value = 'http://x.example/']",
                     [GREEN])
    p = tmp_path / "b.json"
    p.write_text(json.dumps({"type": "bundle", "id": sid("bundle"),
                             "objects": [bad, yara, good]}))
    r = node.run("import", str(p))
    assert r.rc == 1, r
    assert bad["id"] in r.err and "property 'pattern': at 28: expected" \
        in r.err, r.err
    stored = {o["id"]: o for o in stored_objects(node)}
    assert bad["id"] not in stored
    assert stored[yara["id"]]["pattern"] == yara["pattern"]  # untouched
    assert good["id"] in stored

    # the same decision over TAXII: the failure names the pattern error
    coll = collection_id(node)
    tok = add_user(node, "w", "analyst")
    node.run("collection", "grant", "default", "w", "write", check=0)
    srv = Server(node)
    try:
        c = Client(srv, tok)
        bad2 = dict(bad, id=sid("indicator"))
        r = c.post("collections/%s/objects/" % coll,
                   {"objects": [bad2, dict(good, id=sid("indicator"))]})
        assert r.status_code == 202, r.text
        st = r.json()
        assert st["success_count"] == 1 and st["failure_count"] == 1
        (f,) = st["failures"]
        assert f["id"] == bad2["id"] and "pattern" in f["message"]
    finally:
        srv.stop()
