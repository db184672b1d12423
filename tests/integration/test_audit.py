"""The audit log from the command line: what `strait user`, `strait peer`
and `strait node rotate-key` record, `strait audit tail`, and `strait
audit verify` finding an edited, a deleted and a cut-off event, each named
with where it is."""
import json
import os
import sqlite3

from conftest import Node

KEY = "A" * 43  # a public key as text: 32 bytes, base64url


def tamper(node, sql):
    db = sqlite3.connect(os.path.join(node.home, "audit.db"))
    db.executescript(sql)
    db.commit()
    db.close()


def changes(node):
    node.run("user", "add", "alice", "--role", "reader", "--org", "NISC",
             check=0)
    node.run("user", "disable", "alice", check=0)
    node.run("peer", "add", "jp", "--url", "http://127.0.0.1:9/taxii2/",
             "--key", KEY, "--token", "-", stdin="t" * 40 + "\n", check=0)
    node.run("node", "rotate-key", check=0)


def test_help_and_empty(node, tmp_path):
    assert "  audit " in Node(tmp_path / "h").run("--help", check=0).out
    r = node.run("audit", "--help", check=0)
    assert r.out.startswith("usage: strait audit tail")
    assert node.run("audit", check=2).err.startswith("usage: strait audit")
    assert "unknown subcommand 'x'" in node.run("audit", "x", check=2).err
    r = node.run("audit", "tail", check=1)
    assert "no audit log yet" in r.err
    assert node.run("audit", "tail", "--json", check=0).json() == []
    assert "wants a count" in node.run("audit", "tail", "-n", "x",
                                       check=2).err


def test_changes_recorded_and_verified(node):
    changes(node)
    events = node.run("audit", "tail", "--json", check=0).json()
    assert [e["kind"] for e in events] == [
        "user.add", "user.disable", "peer.add", "key.rotate"]
    assert [e["seq"] for e in events] == [1, 2, 3, 4]
    assert all(e["actor"].startswith("cli:") for e in events)
    assert json.loads(events[0]["detail"]) == {
        "name": "alice", "role": "reader", "org": "NISC"}
    assert json.loads(events[2]["detail"])["peer"] == "jp"
    assert all(len(e["hash"]) == 64 for e in events)
    last = node.run("audit", "tail", "-n", "1", "--json", check=0).json()
    assert [e["seq"] for e in last] == [4]
    r = node.run("audit", "verify", check=0)
    assert "audit log sound: 4 events, 4 signed heads checked" in r.out
    v = node.run("audit", "verify", "--json", check=0).json()
    # jp is registered at a URL where nothing listens: its heads are not
    # compared, and it is named
    assert v == {"ok": True, "events": 4, "heads": 4, "bad_seq": None,
                 "fault": None, "checkpoint": None, "witnesses": [
                     {"peer": "jp", "heads": 0, "error": v["witnesses"][0][
                         "error"]}]}
    assert "127.0.0.1:9" in v["witnesses"][0]["error"]
    assert "partner jp not reached" in r.err
    v = node.run("audit", "verify", "--local", "--json", check=0).json()
    assert v["witnesses"] == []
    # The log file is the node's own.
    assert os.stat(os.path.join(node.home, "audit.db")).st_mode & 0o077 == 0


def test_edit_found(node):
    changes(node)
    tamper(node, "UPDATE events SET detail = '{\"name\":\"bob\"}'"
                 " WHERE seq = 1")
    r = node.run("audit", "verify", check=1)
    assert "audit log tampered: event 1 was changed" in r.err
    v = node.run("audit", "verify", "--json", check=1).json()
    assert v["ok"] is False and v["bad_seq"] == 1


def test_delete_found(node):
    changes(node)
    tamper(node, "DELETE FROM events WHERE seq = 2")
    r = node.run("audit", "verify", check=1)
    assert "events 2 to 2 are missing" in r.err


def test_cut_tail_found(node):
    changes(node)
    tamper(node, "DELETE FROM events WHERE seq > 2")
    r = node.run("audit", "verify", check=1)
    assert "names event 3, which the log no longer holds" in r.err
    assert "its tail was cut" in r.err


def test_rotation_by_signed_checkpoint(node):
    changes(node)
    r = node.run("audit", "rotate", "--json", check=0).json()
    assert r["checkpoint"] == 4
    assert r["archive"].endswith("/audit-archive/audit-1-4.db")
    assert os.stat(r["archive"]).st_mode & 0o777 == 0o600
    # the live log goes on from the checkpoint, the rotation its first
    # event
    tail = node.run("audit", "tail", "--json", check=0).json()
    assert [e["seq"] for e in tail] == [5]
    assert tail[0]["kind"] == "audit.rotate"
    assert json.loads(tail[0]["detail"])["checkpoint"] == "4"
    v = node.run("audit", "verify", "--local", "--json", check=0).json()
    assert v["ok"] and v["checkpoint"] == 4 and v["events"] == 1
    out = node.run("audit", "verify", "--local", check=0).out
    assert "(from its checkpoint)" in out
    # the archive on its own
    a = node.run("audit", "verify", "--archive", r["archive"], "--json",
                 check=0).json()
    assert a["ok"] and a["events"] == 4 and a["checkpoint"] is None
    # an archived event changed later is found in the archive
    db = sqlite3.connect(r["archive"])
    db.execute("UPDATE events SET actor = 'someone else' WHERE seq = 2")
    db.commit()
    db.close()
    a = node.run("audit", "verify", "--archive", r["archive"], "--json",
                 check=1).json()
    assert a["ok"] is False and a["bad_seq"] == 2
    # a second rotation starts where the first ended
    r2 = node.run("audit", "rotate", "--json", check=0).json()
    assert r2["archive"].endswith("/audit-5-5.db")
    a = node.run("audit", "verify", "--archive", r2["archive"], "--json",
                 check=0).json()
    assert a["ok"] and a["checkpoint"] == 4 and a["events"] == 1
