"""Liaison officers, and the audit log of a running node and its heads kept
by a partner.

KR and JP federate; JP's policy at KR admits CLEAR and GREEN. A liaison
officer seconded from JP works at KR: it reads exactly what KR's release
decision gives JP (the same as JP's own peer account and `export --for
jp`), never writes, deletes or administers, and each read it makes is in
KR's audit log with a digest of what it was given. When the audit log
cannot be written, its reads, JP's reads and pushes in both directions are
refused until it can, while KR's own analysts go on working."""
import hashlib
import json
import os
import sqlite3
import time

import pytest

from fed_fixtures import (FedNode, bundle, indicator, link, norm_ts,
                          version_of, wait_held, wait_linked, wait_until)

TAXII = "application/taxii+json;version=2.1"


def set_config(node, old, new):
    path = os.path.join(node.home, "strait.yaml")
    with open(path) as f:
        text = f.read()
    assert old in text, text
    with open(path, "w") as f:
        f.write(text.replace(old, new))


@pytest.fixture
def pair(tmp_path):
    kr = FedNode(tmp_path, "kr").init()
    jp = FedNode(tmp_path, "jp").init()
    for n in (kr, jp):  # heads signed and published every second
        set_config(n, "head_interval_s: 60", "head_interval_s: 1")
    kr.account_for(jp)
    jp.account_for(kr)
    kr.start()
    jp.start()
    link(kr, jp, ["clear", "green"])
    link(jp, kr, ["clear", "green", "amber"])
    wait_linked(kr, ["jp"])
    wait_linked(jp, ["kr"])
    kim = kr.cli("user", "add", "kim", "--role", "liaison", "--org",
                 "jp").stdout.strip()
    kr.cli("collection", "grant", "default", "kim", "read")
    kr.tokens["kim"] = kim
    # the running node re-reads accounts within a second
    wait_until(lambda: get(kr, "taxii2/root/collections/%s/" % kr.coll,
                           kim).status_code == 200, what="kim's grant")
    yield kr, jp
    for n in (kr, jp):
        n.stop()


def get(node, path, token, params=None):
    return node.s.get(node.base + path, params=params, headers={
        "Authorization": "Bearer " + token, "Accept": TAXII}, timeout=60)


def objects(node, token):
    r = get(node, "taxii2/root/collections/%s/objects/" % node.coll, token,
            {"match[version]": "all"})
    assert r.status_code == 200, r.text
    return [o for o in r.json().get("objects", [])
            if o["type"] != "x-strait-attestation"]


def keys(objs):
    return sorted((o["id"], norm_ts(version_of(o))) for o in objs)


def audit_events(node, kind=None, actor=None):
    ev = node.cli_json("audit", "tail", "-n", "10000")
    return [e for e in ev if (kind is None or e["kind"] == kind) and
            (actor is None or e["actor"] == actor)]


def digest(objs):
    """What the release records and the audit log keep of a set of
    versions: SHA-256 of the sorted "id|version" lines."""
    lines = sorted("%s|%s\n" % (o["id"], version_of(o)) for o in objs)
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def test_liaison_sees_what_its_partner_is_given(pair):
    kr, jp = pair
    objs = [indicator(tlp=t, name="liaison %s %d" % (t, i))
            for i, t in enumerate(["clear", "green", "amber", "red",
                                   "green", "amber+strict"])]
    kr.import_objects(objs)
    released = [o["id"] for o in objs if o["name"].split()[1] in
                ("clear", "green")]
    wait_held(jp, released)
    liaison = objects(kr, kr.tokens["kim"])
    peer = objects(kr, kr.tokens["jp"])
    export = json.loads(kr.cli("export", "--for", "jp",
                               "--all-versions").stdout)["objects"]
    assert keys(liaison) == keys(peer)
    assert keys(liaison) == keys([o for o in export
                                  if o["type"] != "x-strait-attestation"])
    assert {o["id"] for o in liaison} >= set(released)
    assert not {o["id"] for o in liaison} & {o["id"] for o in objs
                                             if o["id"] not in released}
    # An analyst of KR's own organisation sees more.
    assert len(objects(kr, kr.tokens["analyst"])) > len(liaison)
    # The liaison gets objects, not the partner node's attestations.
    r = get(kr, "taxii2/root/collections/%s/objects/" % kr.coll,
            kr.tokens["kim"])
    assert all(o["type"] != "x-strait-attestation"
               for o in r.json()["objects"])


def test_liaison_reads_only(pair):
    kr, jp = pair
    tok = kr.tokens["kim"]
    h = {"Authorization": "Bearer " + tok, "Accept": TAXII,
         "Content-Type": TAXII}
    o = indicator(tlp="green")
    r = kr.s.post(kr.base + "taxii2/root/collections/%s/objects/" % kr.coll,
                  data=json.dumps(bundle([o])), headers=h, timeout=30)
    assert r.status_code == 403
    kr.import_objects([o])
    wait_held(jp, [o["id"]])
    r = kr.s.delete(kr.base + "taxii2/root/collections/%s/objects/%s/" % (
        kr.coll, o["id"]), headers=h, timeout=30)
    assert r.status_code == 403
    assert kr.has(o["id"])
    for path in ("api/v1/peers/", "api/v1/audit/"):
        assert get(kr, path, tok).status_code == 403, path
    r = kr.cli("collection", "grant", "default", "kim", "write", check=False)
    assert r.returncode == 2 and "is a liaison officer" in r.stderr


def test_reads_are_audited(pair):
    kr, jp = pair
    objs = [indicator(tlp="green") for _ in range(3)]
    kr.import_objects(objs)
    wait_held(jp, [o["id"] for o in objs])
    got = objects(kr, kr.tokens["kim"])
    assert got
    reads = audit_events(kr, "read", "liaison:kim")
    assert reads, audit_events(kr)
    d = json.loads(reads[-1]["detail"])
    assert d == {"path": "taxii", "collection": kr.coll, "partner": "jp",
                 "versions": len(got), "digest": digest(got)}
    assert audit_events(kr, "login", "liaison:kim")
    # ... and is on record as released to JP, path "liaison", with the
    # same digest.
    rec = [x for x in kr.sent("jp") if x["path"] == "liaison"]
    assert rec and rec[-1]["digest"] == d["digest"], rec
    # A local analyst's reads are not recorded one by one; its login is.
    n = len(audit_events(kr, "read"))
    objects(kr, kr.tokens["analyst"])
    assert len(audit_events(kr, "read")) == n
    assert audit_events(kr, "login", "analyst:analyst")
    # JP read nothing by hand, but KR pushed: each push is recorded.
    rel = audit_events(kr, "release", "peer:jp")
    assert sum(json.loads(e["detail"])["versions"] for e in rel) >= 3
    # A refused token is recorded without the secret.
    r = get(kr, "taxii2/", "strait_" + "x" * 43)
    assert r.status_code == 401
    wait_until(lambda: audit_events(kr, "login.fail"), what="login.fail")
    assert "xxxx" not in json.dumps(audit_events(kr))
    # An auditor reads the log over HTTP.
    tok = kr.cli("user", "add", "aud", "--role", "auditor").stdout.strip()
    r = get(kr, "api/v1/audit/", tok, {"limit": "5"})
    assert r.status_code == 200, r.text
    assert len(r.json()["events"]) == 5
    assert get(kr, "api/v1/audit/", tok, {"limit": "0"}).status_code == 400
    assert kr.cli_json("audit", "verify")["ok"] is True


def test_lookup_gives_a_liaison_its_partners_view(pair):
    """GET /api/v1/lookup: a liaison officer and JP's own peer account
    are shown what KR's release decision gives JP, no more; the counts
    too. The liaison's lookup is audited and recorded as released."""
    kr, jp = pair
    ip = "198.51.100.77"
    objs = [indicator(tlp=t, name="lookup %s" % t,
                      pattern="[ipv4-addr:value = '%s']" % ip)
            for t in ("clear", "green", "amber", "amber+strict", "red")]
    kr.import_objects(objs)
    released = {o["id"] for o in objs[:2]}
    wait_held(jp, released)

    def look(token):
        def ask():
            r = get(kr, "api/v1/lookup", token, {"value": ip})
            assert r.status_code == 200, r.text
            return r.json()
        # serve's index follows the import within a second or so
        wait_until(lambda: ask()["summary"]["objects"] > 0,
                   what="the lookup index at KR")
        return ask()
    liaison = look(kr.tokens["kim"])
    assert {o["id"] for o in liaison["objects"]} == released
    assert liaison["summary"]["indicators"] == 2
    peer = look(kr.tokens["jp"])
    assert {o["id"] for o in peer["objects"]} == released
    analyst = look(kr.tokens["analyst"])
    assert {o["id"] for o in analyst["objects"]} >= {o["id"]
                                                     for o in objs[:4]}
    reads = [json.loads(e["detail"]) for e in
             audit_events(kr, "read", "liaison:kim")]
    mine = [d for d in reads if d["path"] == "lookup"]
    assert mine and mine[-1]["versions"] == 2 and \
        mine[-1]["partner"] == "jp", reads
    rec = [x for x in kr.sent("jp") if x["path"] == "liaison"]
    assert rec and rec[-1]["digest"] == mine[-1]["digest"], rec


def fill_audit_log(node):
    """What a full disk does to the audit log: the running node's cap
    (audit.max_mb: 1) is passed by a table of filler pages beside the
    events, so that an append needing a new page fails."""
    db = sqlite3.connect(os.path.join(node.home, "audit.db"))
    db.execute("CREATE TABLE filler(b BLOB)")
    db.execute("INSERT INTO filler VALUES(zeroblob(1100000))")
    db.commit()
    db.close()


def empty_audit_log(node):
    db = sqlite3.connect(os.path.join(node.home, "audit.db"))
    db.execute("DROP TABLE filler")
    db.commit()
    db.close()


def test_full_audit_log_fails_closed(pair):
    kr, jp = pair
    first = indicator(tlp="green")
    kr.import_objects([first])
    wait_held(jp, [first["id"]])
    kr.stop()
    set_config(kr, "max_mb: 0", "max_mb: 1")
    kr.start()
    fill_audit_log(kr)
    # Reads go on until the last page of events is full, then stop.
    url = "taxii2/root/collections/%s/objects/" % kr.coll
    refused = 0
    for _ in range(200):
        r = get(kr, url, kr.tokens["kim"])
        assert r.status_code in (200, 503), r.text
        refused = refused + 1 if r.status_code == 503 else 0
        if refused == 3:
            break
    assert refused == 3, "the liaison's reads were never refused"
    # KR's analysts work; the partner's officer, the partner's node and
    # KR's pushes wait for the log.
    assert len(objects(kr, kr.tokens["analyst"])) >= 1
    r = get(kr, url, kr.tokens["kim"])
    assert r.status_code == 503, r.text
    assert "audit log" in r.json()["description"]
    assert first["id"] not in r.text
    r = get(kr, "taxii2/root/collections/%s/manifest/" % kr.coll,
            kr.tokens["jp"])
    assert r.status_code == 503
    held = indicator(tlp="green", name="held back")
    kr.import_objects([held])
    time.sleep(2)
    assert not jp.has(held["id"])
    assert "cannot write the audit log" in kr.log()
    st = {p["name"]: p for p in kr.cli_json("peer", "status")}
    assert "audit log" in (st["jp"].get("last_error") or ""), st["jp"]
    # JP's pushes to KR are refused too (and retried).
    back = indicator(tlp="green", name="from jp")
    jp.import_objects([back])
    time.sleep(2)
    assert not kr.has(back["id"])
    # Room again: everything flows, and each read is recorded.
    empty_audit_log(kr)
    wait_until(lambda: get(kr, "taxii2/root/collections/%s/objects/" %
                           kr.coll, kr.tokens["kim"]).status_code == 200,
               what="the liaison's read after the log has room")
    wait_held(jp, [held["id"]])
    wait_held(kr, [back["id"]])
    assert audit_events(kr, "read", "liaison:kim")
    assert kr.cli_json("audit", "verify")["ok"] is True


def witnesses(node):
    v = node.cli_json("audit", "verify")
    return v, {w["peer"]: w for w in v["witnesses"]}


def test_partners_keep_heads_and_catch_a_rewrite(pair):
    """KR publishes its signed heads to JP, which keeps them; `strait
    audit verify` at KR fetches them and compares. A log rewritten and
    signed again with KR's own key passes KR's own checks, not JP's
    heads."""
    kr, jp = pair
    objs = [indicator(tlp="green") for _ in range(3)]
    kr.import_objects(objs)
    wait_held(jp, [o["id"] for o in objs])
    objects(kr, kr.tokens["kim"])  # more events at KR
    last = audit_events(kr)[-1]["seq"]

    def kept():
        v, w = witnesses(kr)
        assert v["ok"], v
        # JP's heads are counted among those verify compared
        return w["jp"]["error"] is None and w["jp"]["heads"] >= 2 and \
            v["heads"] >= w["jp"]["heads"]
    wait_until(kept, what="JP to keep two of KR's heads")
    # what JP holds is for KR's account alone
    r = get(jp, "api/v1/audit/witness/", jp.tokens["analyst"])
    assert r.status_code == 403
    r = get(jp, "api/v1/audit/witness/", jp.tokens["kr"])
    heads = r.json()["heads"]
    assert heads and max(h["seq"] for h in heads) <= last + 50
    # JP checks what it keeps: a head with a bad signature, a key JP does
    # not know KR by, or a malformed one is refused
    good = dict(heads[-1])
    h = {"Authorization": "Bearer " + jp.tokens["kr"],
         "Content-Type": "application/json"}
    url = jp.base + "api/v1/audit/witness/"
    bad = dict(good, hash="00" * 32)
    assert jp.s.post(url, data=json.dumps(bad), headers=h).status_code == 422
    other = dict(good, key_id="0123456789abcdef")
    r = jp.s.post(url, data=json.dumps(other), headers=h)
    assert r.status_code == 422 and "key" in r.json()["description"]
    r = jp.s.post(url, data=json.dumps(dict(good, seq="x")), headers=h)
    assert r.status_code == 400 and "seq" in r.json()["description"]
    assert jp.s.post(url, data=json.dumps(good), headers=h).status_code == 201
    # The rewrite: KR's log emptied, then a change recorded and signed by
    # KR's own CLI with KR's key.
    kr.stop()
    db = sqlite3.connect(os.path.join(kr.home, "audit.db"))
    db.executescript("DELETE FROM events; DELETE FROM heads;")
    db.commit()
    db.close()
    kr.cli("user", "add", "mallory", "--role", "reader")
    assert kr.cli_json("audit", "verify", "--local")["ok"] is True
    r = kr.cli("audit", "verify", "--json", check=False)
    assert r.returncode == 1, r.stdout + r.stderr
    v = json.loads(r.stdout)
    assert v["ok"] is False
    assert "a witness's head names event" in v["fault"]
    assert "its tail was cut" in v["fault"]
    kr.start()  # the fixture stops it
