"""Joint incident rooms and a trilateral hotline channel between three
real nodes (KR, JP, US), each pair linked: an incident KR opens with JP
reaches JP and never US; entries
written at once at KR and at JP converge to the same timeline on both; a
linked object reaches JP only if KR's release decision gives it to JP; a
liaison officer of JP working at KR reads and writes to the incidents JP
takes part in, and no other; the incident exports as valid STIX 2.1. A
hotline message from KR's director to JP's and US's reaches both on one
trilateral channel, and both sign their acknowledgements."""
import json
import os
import threading
import time

import pytest
import requests

from fed_fixtures import (FedNode, indicator, link, wait_held, wait_linked,
                          wait_until)

PASS = "correct horse battery staple\n"


@pytest.fixture(scope="module")
def tri(tmp_path_factory):
    root = tmp_path_factory.mktemp("incident")
    kr, jp, us = (FedNode(root, n).init() for n in ("kr", "jp", "us"))
    nodes = [kr, jp, us]
    for n in nodes:  # each node's director, with its key file
        path = os.path.join(n.home, "strait.yaml")
        with open(path) as f:
            text = f.read()
        with open(path, "w") as f:
            f.write(text.replace("profile_every_s: 30",
                                 "profile_every_s: 1"))
        n.cli("user", "add", "director", "--role", "principal")
        n.key = os.path.join(str(root), "%s-director.key" % n.name)
        n.cli("hotline", "keygen", "--out", n.key, "--kdf", "interactive",
              stdin=PASS)
        n.fp = n.cli("hotline", "enroll", "director", "--key",
                     n.key).stdout.split("fingerprint ", 1)[1].strip()
    for a in nodes:
        for b in nodes:
            if a is not b:
                a.account_for(b)
    for n in nodes:
        n.start()
    link(kr, jp, ["clear", "green"])
    link(kr, us, ["clear", "green", "amber"])
    link(jp, kr, ["clear", "green"])
    link(jp, us, ["clear", "green"])
    link(us, kr, ["clear", "green"])
    link(us, jp, ["clear", "green"])
    for n in nodes:
        wait_linked(n, [m.name for m in nodes if m is not n])
    tok = kr.cli("user", "add", "kim", "--role", "liaison", "--org",
                 "jp").stdout.strip()
    kr.tokens["kim"] = tok
    yield kr, jp, us
    for n in nodes:
        n.stop()


def incidents(node):
    return {i["id"]: i for i in node.cli_json("incident", "list")}


def show(node, iid):
    return node.cli_json("incident", "show", iid)


def api(node, method, path, token, body=None):
    return requests.request(method, node.base + path, timeout=30,
                            data=json.dumps(body) if body else None,
                            headers={"Authorization": "Bearer " + token})


def test_open_reaches_participants_only(tri):
    kr, jp, us = tri
    iid = kr.cli("incident", "open", "--title", "Lazarus wave 7",
                 "--with", "jp", "--severity", "high").stdout.strip()
    wait_until(lambda: iid in incidents(jp), what="JP to hold it")
    got = incidents(jp)[iid]
    assert got["title"] == "Lazarus wave 7" and got["severity"] == "high"
    assert sorted(got["participants"]) == sorted([kr.identity, jp.identity])
    time.sleep(1.5)
    assert iid not in incidents(us)
    # US cannot push an entry into it either: it is no participant
    doc = {"kind": "incident", "entry": {
        "id": "0b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e", "incident": iid,
        "at": "2026-11-27T00:00:00.000Z", "author": us.identity + "/x",
        "kind": "note", "text": "let me in"}}
    r = api(kr, "POST", "api/v1/hotline/relay/", kr.tokens["us"], doc)
    assert r.status_code == 422 and "participants" in r.text


def test_concurrent_entries_converge(tri):
    kr, jp, us = tri
    iid = kr.cli("incident", "open", "--title", "converge", "--with",
                 "jp").stdout.strip()
    wait_until(lambda: iid in incidents(jp), what="JP to hold it")

    def write(node, who):
        for i in range(10):
            node.cli("incident", "note", iid, "%s note %d" % (who, i),
                     "--as", who)
    ts = [threading.Thread(target=write, args=(kr, "kr-analyst")),
          threading.Thread(target=write, args=(jp, "jp-analyst"))]
    for t in ts:
        t.start()
    jp.cli("incident", "task", iid, "block the C2 range", "--owner",
           "jp-soc", "--due", "2026-11-28T09:00:00Z")
    kr.cli("incident", "note", iid, "isolate the hosts", "--decision")
    for t in ts:
        t.join()
    want = 1 + 10 + 10 + 2

    def both():
        a, b = show(kr, iid)["entries"], show(jp, iid)["entries"]
        return len(a) == want and len(b) == want
    wait_until(both, what="both timelines complete")
    a, b = show(kr, iid)["entries"], show(jp, iid)["entries"]
    assert [e["id"] for e in a] == [e["id"] for e in b]
    assert a == b
    kinds = [e["kind"] for e in a]
    assert kinds.count("note") == 20 and "task" in kinds and \
        "decision" in kinds
    task = [e for e in a if e["kind"] == "task"][0]
    assert task["owner"] == "jp-soc" and task["due"].startswith(
        "2026-11-28T09:00:00")
    # JP closes it; KR sees it closed
    jp.cli("incident", "close", iid)
    wait_until(lambda: incidents(kr)[iid]["status"] == "closed",
               what="KR to see it closed")


def test_linked_objects_follow_the_release_decision(tri):
    kr, jp, us = tri
    green, amber = indicator(tlp="green"), indicator(tlp="amber")
    kr.import_objects([green, amber])
    iid = kr.cli("incident", "open", "--title", "links", "--with",
                 "jp").stdout.strip()
    kr.cli("incident", "link", iid, green["id"], "--why", "C2 domain")
    kr.cli("incident", "link", iid, amber["id"], "--why", "victim list")
    wait_until(lambda: iid in incidents(jp) and
               len(show(jp, iid)["entries"]) == 3, what="the links at JP")
    links = [e for e in show(jp, iid)["entries"] if e["kind"] == "link"]
    assert {e["stix"] for e in links} == {green["id"], None}
    withheld = [e for e in links if e["stix"] is None][0]
    assert withheld["text"] == "an object not released to this partner"
    assert amber["id"] not in json.dumps(show(jp, iid))
    # KR itself keeps both
    assert {e["stix"] for e in show(kr, iid)["entries"]
            if e["kind"] == "link"} == {green["id"], amber["id"]}
    # the STIX export of KR's incident imports cleanly
    bundle = kr.cli("incident", "show", iid, "--stix").stdout
    doc = json.loads(bundle)
    types = [o["type"] for o in doc["objects"]]
    assert types[0] == "incident" and types.count("note") == 2
    path = os.path.join(kr.home, "incident.json")
    with open(path, "w") as f:
        f.write(bundle)
    fresh = FedNode(os.path.dirname(kr.home), "fresh").init()
    r = fresh.cli("import", path, "--json")
    assert json.loads(r.stdout)["rejected"] == 0, r.stdout


def test_liaison_reads_and_writes_its_partners_incidents(tri):
    kr, jp, us = tri
    with_jp = kr.cli("incident", "open", "--title", "with jp", "--with",
                     "jp").stdout.strip()
    with_us = kr.cli("incident", "open", "--title", "with us", "--with",
                     "us").stdout.strip()
    tok = kr.tokens["kim"]
    wait_until(lambda: api(kr, "GET", "api/v1/incidents/",
                           tok).status_code == 200, what="kim's account")
    seen = {i["id"] for i in api(kr, "GET", "api/v1/incidents/",
                                 tok).json()["incidents"]}
    assert with_jp in seen and with_us not in seen
    assert api(kr, "GET", "api/v1/incidents/%s/" % with_us,
               tok).status_code == 404
    r = api(kr, "POST", "api/v1/incidents/%s/entries/" % with_jp, tok,
            {"kind": "note", "text": "JP confirms the IP"})
    assert r.status_code == 201, r.text
    assert api(kr, "POST", "api/v1/incidents/%s/entries/" % with_us, tok,
               {"kind": "note", "text": "x"}).status_code == 404
    assert api(kr, "POST", "api/v1/incidents/%s/entries/" % with_jp, tok,
               {"kind": "status", "text": "x"}).status_code == 400
    wait_until(lambda: with_jp in incidents(jp) and any(
        e.get("text") == "JP confirms the IP"
        for e in show(jp, with_jp)["entries"]), what="the note at JP")
    e = [e for e in show(jp, with_jp)["entries"]
         if e.get("text") == "JP confirms the IP"][0]
    assert e["author"] == kr.identity + "/kim"
    # a reader of our organisation reads, and does not write
    rt = kr.cli("user", "add", "rd", "--role", "reader").stdout.strip()
    wait_until(lambda: api(kr, "GET", "api/v1/incidents/",
                           rt).status_code == 200, what="rd's account")
    assert api(kr, "POST", "api/v1/incidents/%s/entries/" % with_jp, rt,
               {"kind": "note", "text": "x"}).status_code == 403


def test_trilateral_hotline(tri):
    kr, jp, us = tri
    nodes = {"kr": kr, "jp": jp, "us": us}

    def knows_all():
        for n in nodes.values():
            doc = n.cli_json("contacts")
            have = {p["partner"] for p in doc["partners"]
                    if p["profile"]["principals"]}
            if have != set(nodes) - {n.name}:
                return False
        return True
    wait_until(knows_all, what="every profile at every node")
    for n in nodes.values():
        for p in nodes.values():
            if p is not n:
                n.cli("hotline", "trust", p.name + ":director", p.fp)
    r = kr.cli("hotline", "send", "--as", "director", "--key", kr.key,
               "--to", "jp:director,us:director", "--precedence",
               "IMMEDIATE", "--body", "to both of you", "--json",
               stdin=PASS)
    sent = json.loads(r.stdout)
    assert sent["partners"] == 2
    mid = sent["id"]

    def inbox(n):
        return {m["header"]["id"]: m for m in json.loads(n.cli(
            "hotline", "inbox", "--as", "director", "--key", n.key,
            "--json", stdin=PASS).stdout)}
    for n in (jp, us):
        wait_until(lambda n=n: mid in inbox(n), what="at " + n.name)
    a, b = inbox(jp)[mid], inbox(us)[mid]
    assert a["verified"] and b["verified"]
    assert a["body"] == b["body"] == "to both of you"
    assert a["header"] == b["header"]
    assert len(a["header"]["recipients"]) == 2
    # one channel for the three nodes, another for KR and JP alone
    mid2 = json.loads(kr.cli(
        "hotline", "send", "--as", "director", "--key", kr.key, "--to",
        "jp:director", "--body", "just you", "--json",
        stdin=PASS).stdout)["id"]
    wait_until(lambda: mid2 in inbox(jp), what="the bilateral one")
    assert inbox(jp)[mid2]["header"]["channel"] != a["header"]["channel"]
    for n in (jp, us):
        n.cli("hotline", "ack", mid, "--as", "director", "--key", n.key,
              stdin=PASS)

    def acks():
        s = json.loads(kr.cli("hotline", "show", mid, "--as", "director",
                              "--key", kr.key, "--json",
                              stdin=PASS).stdout)
        return {x["principal"].split("/")[0] for x in s["receipts"]
                if x["receipt"] == "acknowledged" and x["verified"]}
    wait_until(lambda: acks() == {jp.identity, us.identity},
               what="both signed acknowledgements at KR")
