"""The hotline between two nodes, KR and JP, end to end through real
`strait serve` processes: keys published in contact profiles and confirmed
out of band, signed and sealed messages, signed receipts, deadlines counted
on the receiving node's own (test) clock, escalation to deputies and duty
officers with the operator's hook, store-and-forward across a restart in
precedence order, and what a node's administrator cannot do.

KR's principal kim writes to JP's principal tanaka, whose deputy is sato
and whose duty officer is ito; yamada is a JP principal outside that
chain. Each node's hotline clock is a file the test sets, and the two
disagree by hundreds of seconds: deadlines follow JP's alone."""
import base64
import json
import os
import socket
import sqlite3
import subprocess
import threading
import time

import pytest
import requests

from fed_fixtures import (BIN, FedNode, bundle, indicator, link, norm_ts,
                          wait_linked, wait_until)

PASS = "correct horse battery staple\n"
KR_CLOCK0, JP_CLOCK0 = 100000.0, 50.0


def set_config(node, old, new):
    path = os.path.join(node.home, "strait.yaml")
    with open(path) as f:
        text = f.read()
    assert old in text, text
    with open(path, "w") as f:
        f.write(text.replace(old, new))


def set_clock(path, value):
    with open(path + ".tmp", "w") as f:
        f.write("%.3f\n" % value)
    os.replace(path + ".tmp", path)


def read_clock(path):
    with open(path) as f:
        return float(f.read())


def principal(node, name, keys_dir):
    """An account of role principal with its key file, enrolled; its
    fingerprint."""
    node.cli("user", "add", name, "--role", "principal")
    key = os.path.join(keys_dir, "%s-%s.key" % (node.name, name))
    node.cli("hotline", "keygen", "--out", key, "--kdf", "interactive",
             stdin=PASS)
    out = node.cli("hotline", "enroll", name, "--key", key).stdout
    fp = out.split("fingerprint ", 1)[1].strip()
    return key, fp


class World:
    pass


@pytest.fixture(scope="module")
def w(tmp_path_factory):
    root = tmp_path_factory.mktemp("hotline")
    w = World()
    w.root = str(root)
    w.kr = FedNode(root, "kr").init()
    w.jp = FedNode(root, "jp").init()
    w.hook_log = os.path.join(w.root, "hook.log")
    for n, t0 in ((w.kr, KR_CLOCK0), (w.jp, JP_CLOCK0)):
        n.clock = os.path.join(w.root, "%s.clock" % n.name)
        set_clock(n.clock, t0)
        n.serve_args = ["--hotline-clock", n.clock]
        set_config(n, "profile_every_s: 30", "profile_every_s: 1")
    # JP takes 500 idle streams besides everything else
    w.jp.serve_args += ["--max-connections", "1024", "--per-ip-connections",
                        "1024", "--stream-max", "1000"]
    set_config(w.jp, "escalation_hook:",
               "escalation_hook: 'echo \"$STRAIT_HOTLINE_EVENT "
               "$STRAIT_HOTLINE_LEVEL $STRAIT_HOTLINE_PRECEDENCE "
               "$STRAIT_HOTLINE_MESSAGE\" >> %s'" % w.hook_log)
    w.keys, w.fp = {}, {}
    for n, names in ((w.kr, ["kim"]),
                     (w.jp, ["tanaka", "sato", "ito", "yamada"])):
        for name in names:
            w.keys[name], w.fp[name] = principal(n, name, w.root)
    w.jp.cli("hotline", "chain", "tanaka", "--deputy", "sato", "--duty",
             "ito")
    w.kr.account_for(w.jp)
    w.jp.account_for(w.kr)
    w.kr.start()
    w.jp.start()
    link(w.kr, w.jp, ["clear", "green"])
    link(w.jp, w.kr, ["clear", "green"])
    wait_linked(w.kr, ["jp"])
    wait_linked(w.jp, ["kr"])

    def profiles():
        a = contacts(w.kr).get("jp", {}).get("principals", [])
        b = contacts(w.jp).get("kr", {}).get("principals", [])
        return len(a) == 4 and len(b) == 1
    wait_until(profiles, what="each node to hold the other's profile")
    for name in ("tanaka", "sato", "ito", "yamada"):
        w.kr.cli("hotline", "trust", "jp:" + name, w.fp[name])
    w.jp.cli("hotline", "trust", "kr:kim", w.fp["kim"])
    yield w
    for n in (w.kr, w.jp):
        n.stop()


def contacts(node):
    doc = node.cli_json("contacts")
    return {p["partner"]: p["profile"] for p in doc["partners"]}


def send(w, to="jp:tanaka", prec="FLASH", status="Exercise", body="test",
         kind="Alert"):
    r = w.kr.cli("hotline", "send", "--as", "kim", "--key", w.keys["kim"],
                 "--to", to, "--precedence", prec, "--status", status,
                 "--type", kind, "--body", body, "--json", stdin=PASS)
    return json.loads(r.stdout)["id"]


def inbox(w, name):
    r = w.jp.cli("hotline", "inbox", "--as", name, "--key", w.keys[name],
                 "--json", stdin=PASS)
    return {m["header"]["id"]: m for m in json.loads(r.stdout)}


def show(node, who, key, mid, check=True):
    r = node.cli("hotline", "show", mid, "--as", who, "--key", key,
                 "--json", stdin=PASS, check=check)
    return json.loads(r.stdout) if r.returncode == 0 else r


def events(node, kind=None, msg=None):
    out = node.cli("hotline", "watch", "--json").stdout.splitlines()
    ev = [json.loads(x) for x in out]
    return [e for e in ev if (kind is None or e["kind"] == kind) and
            (msg is None or e["message"] == msg)]


def test_delivery_and_signed_receipts(w):
    body = "北 activity at 03:10 KST 日本語 test — check your sensors"
    mid = send(w, body=body)
    wait_until(lambda: mid in inbox(w, "tanaka"), what="delivery to JP")
    m = inbox(w, "tanaka")[mid]
    assert m["body"] == body and m["verified"] is True
    assert m["header"]["status"] == "Exercise"
    assert m["header"]["precedence"] == "FLASH"
    # text: Exercise traffic is labelled as such
    txt = w.jp.cli("hotline", "inbox", "--as", "tanaka", "--key",
                   w.keys["tanaka"], stdin=PASS).stdout
    assert "[EXERCISE] FLASH Alert  %s" % mid in txt
    s = show(w.jp, "tanaka", w.keys["tanaka"], mid)
    assert s["body"] == body and s["verified"]
    r = w.jp.cli("hotline", "ack", mid, "--as", "tanaka", "--key",
                 w.keys["tanaka"], stdin=PASS)
    assert "[EXERCISE] acknowledged %s" % mid in r.stdout
    assert w.jp.cli_json("hotline", "status")["principals"]

    def receipts():
        s = show(w.kr, "kim", w.keys["kim"], mid)
        return {(x["receipt"], x["verified"]) for x in s["receipts"]}
    wait_until(lambda: receipts() == {("delivered", True), ("read", True),
                                      ("acknowledged", True)},
               what="three verified receipts back at KR")
    s = show(w.kr, "kim", w.keys["kim"], mid)
    assert s["direction"] == "out" and "body" not in s
    # a deputy cannot read what never escalated to it
    r = show(w.jp, "sato", w.keys["sato"], mid, check=False)
    assert r.returncode == 1 and "is not for sato" in r.stderr


def test_escalation_follows_the_receivers_clock(w):
    mid = send(w, prec="IMMEDIATE", status="Test", body="escalate me")
    wait_until(lambda: mid in inbox(w, "tanaka"), what="delivery")
    jp0 = read_clock(w.jp.clock)
    # KR's clock jumps a day ahead: nothing happens at JP
    set_clock(w.kr.clock, read_clock(w.kr.clock) + 86400)
    set_clock(w.jp.clock, jp0 + 1790)  # IMMEDIATE: 1800 s
    time.sleep(0.5)
    assert not events(w.jp, "escalated", mid)
    set_clock(w.jp.clock, jp0 + 1801)
    wait_until(lambda: events(w.jp, "escalated", mid), what="escalation")
    e = events(w.jp, "escalated", mid)[0]
    assert json.loads(json.dumps(e["detail"]))["level"] == 1
    assert mid in inbox(w, "sato")  # the deputy reads it now
    assert mid not in inbox(w, "ito")
    # the sender sees it
    wait_until(lambda: events(w.kr, "escalated", mid),
               what="KR to learn of the escalation")
    # then the duty officer, then no one is left
    set_clock(w.jp.clock, jp0 + 1801 + 1801)
    wait_until(lambda: mid in inbox(w, "ito"), what="the duty officer")
    set_clock(w.jp.clock, jp0 + 1801 * 3)
    wait_until(lambda: events(w.jp, "unacknowledged", mid),
               what="the chain exhausted")
    wait_until(lambda: events(w.kr, "unacknowledged", mid), what="KR told")
    with open(w.hook_log) as f:
        hooks = [x for x in f.read().splitlines() if mid in x]
    assert hooks == ["escalated 1 IMMEDIATE " + mid,
                     "escalated 2 IMMEDIATE " + mid,
                     "unacknowledged 2 IMMEDIATE " + mid], hooks
    set_clock(w.kr.clock, KR_CLOCK0)


def test_acknowledged_message_does_not_escalate(w):
    mid = send(w, prec="FLASH", body="ack in time")
    wait_until(lambda: mid in inbox(w, "tanaka"), what="delivery")
    w.jp.cli("hotline", "ack", mid, "--as", "tanaka", "--key",
             w.keys["tanaka"], stdin=PASS)
    set_clock(w.jp.clock, read_clock(w.jp.clock) + 3600)
    time.sleep(0.6)
    assert not events(w.jp, "escalated", mid)


def test_store_and_forward_in_precedence_order(w):
    w.jp.stop()
    ids = [send(w, prec=p, body="queued %s" % p)
           for p in ("ROUTINE", "PRIORITY", "FLASH")]

    def down():
        st = w.kr.cli_json("hotline", "status")
        link_jp = [x for x in st["links"] if x["partner"] == "jp"][0]
        return not link_jp["up"] and link_jp["queued"] >= 3
    wait_until(down, what="KR to see JP down with three queued")
    w.jp.start()
    wait_until(lambda: set(ids) <= set(inbox(w, "tanaka")),
               what="all three after the restart")
    got = [e["message"] for e in events(w.jp, "message")
           if e["message"] in ids]
    assert got == [ids[2], ids[1], ids[0]]  # FLASH first, then by rank
    st = w.kr.cli_json("hotline", "status")
    link_jp = [x for x in st["links"] if x["partner"] == "jp"][0]
    assert link_jp["up"] and link_jp["queued"] == 0


def relay_doc(node, mid):
    """A message as its sender's node relays it, rebuilt from what the
    receiving node keeps."""
    db = sqlite3.connect(os.path.join(node.home, "hotline.db"))
    h, sig = db.execute("SELECT header, sig FROM messages WHERE id = ?",
                        (mid,)).fetchone()
    readers = [{"principal": a, "sealed": base64.b64encode(ct).decode()}
               for a, ct in db.execute(
                   "SELECT addr, ct FROM readers WHERE msg = ?", (mid,))]
    db.close()
    return {"kind": "message", "header": json.loads(h), "sig": sig.hex(),
            "readers": readers}


def relay(w, doc):
    r = requests.post(w.jp.base + "api/v1/hotline/relay/",
                      data=json.dumps(doc), timeout=30, headers={
                          "Authorization": "Bearer " + w.jp.tokens["kr"]})
    assert r.status_code == 201, r.text
    return r.json()


def test_partner_reports_its_disk_and_its_restarts(w):
    # JP answers a relay at the commit, saying which start of the node it
    # is, the commit's number and how many of this start's commits are on
    # disk; its syncer catches up, so a heartbeat soon reports it there
    mid = send(w, prec="FLASH", body="durable")
    wait_until(lambda: mid in inbox(w, "tanaka"), what="delivery")
    doc = relay_doc(w.jp, mid)
    a = relay(w, doc)
    assert a["kept"] is True and len(a["boot"]) == 36, a
    wait_until(lambda: relay(w, {"kind": "heartbeat"})["durable"] >=
               a["gen"], what="JP to report the message on disk")
    # and KR has let the entry go
    wait_until(lambda: [x for x in w.kr.cli_json("hotline", "status")[
        "links"] if x["partner"] == "jp"][0]["queued"] == 0,
        what="KR's outbox to empty")
    # started again, JP is another boot; what it kept before is on disk
    # already (synced at the start), so a replay is reported there at once
    w.jp.stop()
    w.jp.start()
    b = relay(w, doc)
    assert b["boot"] != a["boot"] and b["gen"] <= b["durable"], (a, b)
    assert len(events(w.jp, "message", mid)) == 1


def test_replay_and_forgery_refused(w):
    mid = send(w, prec="PRIORITY", status="Actual", body="original")
    wait_until(lambda: mid in inbox(w, "tanaka"), what="delivery")
    n_before = len(inbox(w, "tanaka"))
    # the same message relayed again (as KR's node would after a lost
    # answer, or an attacker replaying it): recognised by its id, kept
    # once, no second event
    replay = relay_doc(w.jp, mid)
    for _ in range(2):
        relay(w, replay)
    assert len(events(w.jp, "message", mid)) == 1
    assert len(inbox(w, "tanaka")) == n_before
    # JP's node administrator relabels the stored message as an
    # Exercise: the signature no longer holds, and the reader is told
    db = sqlite3.connect(os.path.join(w.jp.home, "hotline.db"))
    h = json.loads(db.execute("SELECT header FROM messages WHERE id = ?",
                              (mid,)).fetchone()[0])
    h["status"] = "Exercise"
    db.execute("UPDATE messages SET header = ? WHERE id = ?",
               (json.dumps(h), mid))
    db.commit()
    db.close()
    m = inbox(w, "tanaka")[mid]
    assert m["verified"] is False and "FORGED" in m["problem"]
    assert len(inbox(w, "tanaka")) == n_before
    # yamada (a principal outside the chain) cannot read it
    r = show(w.jp, "yamada", w.keys["yamada"], mid, check=False)
    assert r.returncode == 1 and "is not for yamada" in r.stderr
    # JP's node cannot make up tanaka's acknowledgement for KR: a receipt
    # relayed with another key's signature is refused
    fake = {"kind": "receipt", "receipt": {
        "message": mid, "principal": h["recipients"][0],
        "receipt": "acknowledged", "at": "2026-11-27T00:00:00.000000Z",
        "sig": "00" * 64}}
    r = requests.post(w.kr.base + "api/v1/hotline/relay/",
                      data=json.dumps(fake), timeout=30, headers={
                          "Authorization": "Bearer " + w.kr.tokens["jp"]})
    assert r.status_code == 422 and "does not verify" in r.text
    s = show(w.kr, "kim", w.keys["kim"], mid)
    assert ("acknowledged", True) not in {
        (x["receipt"], x["verified"]) for x in s["receipts"]}
    # the relay is for partner nodes: a principal cannot post to it
    tok = w.jp.cli("user", "add", "p2", "--role", "principal").stdout
    r = requests.post(w.jp.base + "api/v1/hotline/relay/", data="{}",
                      timeout=30, headers={
                          "Authorization": "Bearer " + tok.strip()})
    assert r.status_code == 403


def test_changed_key_refused_until_confirmed(w, tmp_path):
    # yamada's key is replaced at JP (a stolen account, or a new key)
    new = str(tmp_path / "yamada-2.key")
    w.jp.cli("hotline", "keygen", "--out", new, "--kdf", "interactive",
             stdin=PASS)
    out = w.jp.cli("hotline", "enroll", "yamada", "--key", new).stdout
    fp2 = out.split("fingerprint ", 1)[1].strip()
    # KR had confirmed the old one (in the fixture)

    def changed():
        st = w.kr.cli_json("hotline", "status")
        p = [x for x in st["principals"] if x["address"].endswith(
            "/yamada")][0]
        return p["trust"] == "changed" and p["fingerprint"] == fp2
    wait_until(changed, what="KR to see yamada's new key")
    assert events(w.kr, "key.changed")
    assert "has a new key" in w.kr.log()
    r = w.kr.cli("hotline", "send", "--as", "kim", "--key", w.keys["kim"],
                 "--to", "jp:yamada", "--body", "x", stdin=PASS,
                 check=False)
    assert r.returncode == 2 and "its key is changed" in r.stderr
    # the old fingerprint does not confirm the new key
    r = w.kr.cli("hotline", "trust", "jp:yamada", w.fp["yamada"],
                 check=False)
    assert r.returncode == 1 and "not the one given" in r.stderr
    w.kr.cli("hotline", "trust", "jp:yamada", fp2)
    w.keys["yamada"] = new
    mid = send(w, to="jp:yamada", body="after confirmation")
    wait_until(lambda: mid in inbox(w, "yamada"), what="delivery")


def test_contacts_and_status_text(w):
    out = w.kr.cli("contacts").stdout
    assert out.startswith("jp (JP)")
    assert "principal    tanaka  [confirmed]" in out
    assert w.fp["tanaka"] in out
    own = w.jp.cli_json("contacts", "--own")
    assert {p["address"].split("/")[1] for p in own["principals"]} == {
        "tanaka", "sato", "ito", "yamada"}
    t = [p for p in own["principals"] if p["address"].endswith("/tanaka")][0]
    assert [d.split("/")[1] for d in t["deputies"]] == ["sato"]
    assert [d.split("/")[1] for d in t["duty"]] == ["ito"]
    st = w.kr.cli("hotline", "status").stdout
    assert "jp         up" in st
    # the team part comes from contacts.yaml; a wrong key is named
    with open(os.path.join(w.jp.home, "contacts.yaml"), "w") as f:
        f.write("team: NISC\ntime_zone: Asia/Tokyo\nlanguages: [ja, en]\n")
    own = w.jp.cli_json("contacts", "--own")
    assert own["team"] == {"team": "NISC", "time_zone": "Asia/Tokyo",
                           "languages": ["ja", "en"]}
    with open(os.path.join(w.jp.home, "contacts.yaml"), "a") as f:
        f.write("colour: blue\n")
    r = w.jp.cli("contacts", "--own", check=False)
    assert r.returncode == 2 and "contacts.yaml:4: unknown key 'colour'" \
        in r.stderr
    os.unlink(os.path.join(w.jp.home, "contacts.yaml"))


def open_streams(node, n):
    """n idle live streams on node's default collection: 8 accounts' worth
    each (a stream cap per account), never read."""
    toks = []
    for k in range((n + 7) // 8):
        toks.append(node.cli("user", "add", "watcher%d" % k, "--role",
                             "reader").stdout.strip())
        node.cli("collection", "grant", "default", "watcher%d" % k, "read")
    time.sleep(1.5)  # a running node re-reads accounts within a second
    socks = []
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", node.port))
        s.sendall(("GET /api/v1/collections/%s/stream HTTP/1.1\r\n"
                   "Host: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
                   "Accept: text/event-stream\r\n\r\n" %
                   (node.coll, toks[i // 8])).encode())
        socks.append(s)
    return socks


def test_flash_goes_through_bulk_and_idle_streams(w):
    """While KR pushes a bulk of 100,000 objects to JP, and 500 idle live
    streams are open at JP, a FLASH message reaches JP before the bulk is
    through: it never waits behind the replication."""
    socks = open_streams(w.jp, 500)
    try:
        mtok = w.jp.cli("user", "add", "scraper", "--role",
                        "metrics").stdout.strip()

        def streams():
            m = requests.get(w.jp.base + "metrics", timeout=30, headers={
                "Authorization": "Bearer " + mtok}).text
            line = [x for x in m.splitlines()
                    if x.startswith("strait_stream_subscribers ")]
            return int(float(line[0].split()[1])) if line else -1
        wait_until(lambda: streams() >= 500, what="500 open streams",
                   timeout=60)
        objs = [indicator(tlp="green", name="bulk %d" % i)
                for i in range(100000)]
        path = os.path.join(w.root, "bulk.json")
        with open(path, "w") as f:
            json.dump(bundle(objs), f)
        last = objs[-1]["id"]

        def versions():
            r = requests.get(w.jp.base + "api/v1/health", timeout=30,
                             headers={"Authorization": "Bearer " + mtok})
            return r.json()["versions"]

        def holds(oid):
            return w.jp.cli("get", oid, check=False).returncode == 0
        before = versions()
        imp = subprocess.Popen([BIN, "--home", w.kr.home, "import",
                                "--quiet", path])
        # the bulk is on its way to JP
        wait_until(lambda: versions() > before + 100,
                   what="the bulk arriving at JP", timeout=120,
                   interval=0.05)
        mid = send(w, prec="FLASH", status="Test", body="through the bulk")
        wait_until(lambda: mid in inbox(w, "tanaka"), what="the FLASH",
                   timeout=120, interval=0.05)
        imp.wait(timeout=300)
        wait_until(lambda: holds(last), what="the whole bulk", timeout=300)
        # JP recorded the FLASH before it added the bulk's last object:
        # two times JP itself wrote, not how soon the test looked (the
        # inbox is read with a key file, which takes its time)
        got = events(w.jp, "message", mid)
        assert got, events(w.jp)
        r = w.jp.request("GET", "taxii2/root/collections/%s/manifest/"
                         "?match[id]=%s" % (w.jp.coll, last))
        assert r.status_code == 200, r.text
        last_added = r.json()["objects"][0]["date_added"]
        assert norm_ts(got[0]["at"]) < norm_ts(last_added), (
            "the bulk was through before the FLASH", got[0]["at"],
            last_added)
    finally:
        for s in socks:
            s.close()


def test_stix_references_follow_the_release_decision(w):
    """A message's STIX ids are a disclosure: one the release decision
    does not give JP (KR's policy for JP admits CLEAR and GREEN) is
    refused before anything goes."""
    green, amber = indicator(tlp="green"), indicator(tlp="amber")
    w.kr.import_objects([green, amber])
    for o, ok in ((amber, False), (green, True)):
        r = w.kr.cli("hotline", "send", "--as", "kim", "--key",
                     w.keys["kim"], "--to", "jp:tanaka", "--stix", o["id"],
                     "--body", "see this object", stdin=PASS, check=False)
        if ok:
            assert r.returncode == 0, r.stderr
        else:
            assert r.returncode == 2
            assert "release decision does not give it to jp" in r.stderr
