"""strait peer: partner nodes, their keys, tokens and policies."""
import json
import os

from conftest import Node

POLICY = ("tlp: [clear, green, amber]\ncollections: [\"*\"]\n"
          "types: [\"*\"]\nlabels: [\"*\"]\nrelay_green: false\n")


def _nodes(tmp_path):
    kr = Node(tmp_path / "kr")
    kr.run("init", "--name", "KR", check=0)
    jp = Node(tmp_path / "jp")
    jp.run("init", "--name", "JP", check=0)
    key = jp.run("node", "show", "--json", check=0).json()
    return kr, key


def test_add_list_remove(tmp_path):
    kr, jp = _nodes(tmp_path)
    pol = tmp_path / "jp.yaml"
    pol.write_text(POLICY)
    r = kr.run("peer", "add", "jp", "--url", "http://127.0.0.1:7401/taxii2/",
               "--key", jp["public_key"], "--token", "jp-secret-token",
               "--policy", str(pol), check=0)
    assert "added peer jp" in r.out and jp["key_id"] in r.out
    r = kr.run("peer", "add", "us", "--url", "https://cisa.example/taxii2/",
               "--key", jp["public_key"], "--token", "-", "--trust", "feed",
               "--pin", "AB" * 32, stdin="us-secret-token\n", check=0)
    assert "no policy: us receives nothing" in r.out
    peers = kr.run("peer", "list", "--json", check=0).json()
    assert [p["name"] for p in peers] == ["jp", "us"]
    assert peers[0]["key_id"] == jp["key_id"]
    assert peers[0]["public_key"] == jp["public_key"]
    assert peers[0]["policy"] is True and peers[1]["policy"] is False
    assert peers[1]["trust"] == "feed" and peers[1]["pins"] == ["ab" * 32]
    text = kr.run("peer", "list", check=0).out
    assert "no policy: receives nothing" in text
    # The tokens we hold never appear, in any output or in the file.
    for out in (json.dumps(peers), text):
        assert "secret-token" not in out
    db = open(os.path.join(kr.home, "peers.db"), "rb").read()
    assert b"secret-token" not in db
    for f in ("peers.db", "keys/peers.key"):
        assert os.stat(os.path.join(kr.home, f)).st_mode & 0o077 == 0, f
    r = kr.run("peer", "policy", "us", str(pol), check=0)
    assert "cannot be recalled" in r.out
    assert kr.run("peer", "list", "--json", check=0).json()[1]["policy"]
    assert "removed peer us" in kr.run("peer", "remove", "us", check=0).out
    assert [p["name"] for p in
            kr.run("peer", "list", "--json", check=0).json()] == ["jp"]


def test_refusals(tmp_path):
    kr, jp = _nodes(tmp_path)
    key = jp["public_key"]
    base = ["peer", "add", "jp", "--key", key, "--token", "t"]
    cases = [
        (["--url", "http://10.0.0.1/taxii2/"], "loopback addresses only"),
        (["--url", "https://u:p@nisc.example/"], "user information"),
        (["--url", "ftp://nisc.example/"], "not an http(s) URL"),
    ]
    for extra, msg in cases:
        r = kr.run(*(base + extra), check=2)
        assert msg in r.err, (extra, r.err)
    url = ["--url", "https://nisc.example/taxii2/"]
    r = kr.run("peer", "add", "jp", *url, "--key", "abc", "--token", "t",
               check=2)
    assert "not a node public key" in r.err
    r = kr.run("peer", "add", "JP!", *url, "--key", key, "--token", "t",
               check=2)
    assert "1 to 32 of a-z" in r.err
    r = kr.run("peer", "add", "jp", *url, "--key", key, check=2)
    assert "--url, --key and --token are required" in r.err
    r = kr.run(*(base + url + ["--pin", "12"]), check=2)
    assert "not a SHA-256" in r.err
    r = kr.run(*(base + url + ["--trust", "maybe"]), check=2)
    assert "attested or feed" in r.err
    bad = tmp_path / "bad.yaml"
    bad.write_text("tlp: [green]\ncolour: blue\n")
    r = kr.run(*(base + url + ["--policy", str(bad)]), check=2)
    assert "line 2: unknown key 'colour'" in r.err and str(bad) in r.err
    # Nothing was added by any refused command.
    assert kr.run("peer", "list", "--json", check=0).json() == []
    kr.run(*(base + url), check=0)
    r = kr.run(*(base + url), check=2)
    assert "a peer named 'jp' exists" in r.err
    r = kr.run("peer", "policy", "nobody", str(bad), check=2)
    assert "unknown key 'colour'" in r.err
    good = tmp_path / "good.yaml"
    good.write_text(POLICY)
    r = kr.run("peer", "policy", "nobody", str(good), check=2)
    assert "no peer named 'nobody'" in r.err
    r = kr.run("peer", "remove", "nobody", check=2)
    assert "no peer named 'nobody'" in r.err


STATUS_KEYS = {"name", "url", "trust", "has_policy", "identity", "decided",
               "delivered", "queue", "lag_objects", "lag_seconds",
               "dead_letters", "quarantined", "sent", "received",
               "last_success", "last_error", "last_error_at", "down_since"}


def _with_peers(tmp_path):
    """KR with jp (a policy) and us (a feed, no policy)."""
    kr, jp = _nodes(tmp_path)
    pol = tmp_path / "jp.yaml"
    pol.write_text(POLICY)
    kr.run("peer", "add", "jp", "--url", "http://127.0.0.1:7401/taxii2/",
           "--key", jp["public_key"], "--token", "jp-secret-token",
           "--policy", str(pol), check=0)
    kr.run("peer", "add", "us", "--url", "https://cisa.example/taxii2/",
           "--key", jp["public_key"], "--token", "us-secret-token",
           "--trust", "feed", check=0)
    return kr


def test_quarantine_empty(node):
    r = node.run("quarantine", "list", check=0)
    assert "no quarantined objects" in r.out
    assert node.run("quarantine", "list", "--json", check=0).json() == []
    r = node.run("quarantine", "list", "--peer", "jp", check=0)
    assert "no quarantined objects from jp" in r.out
    for sub in ("show", "drop", "release"):
        r = node.run("quarantine", sub, "42", check=1)
        assert "no quarantined object 42" in r.err, (sub, r.err)
        r = node.run("quarantine", sub, "abc", check=2)
        assert "'abc' is not a quarantine number" in r.err, (sub, r.err)
        r = node.run("quarantine", sub, check=2)
        assert "one QID expected" in r.err, (sub, r.err)
        r = node.run("quarantine", sub, "--help", check=0)
        assert r.out.startswith("usage: strait quarantine " + sub)
    r = node.run("quarantine", "list", "--peer", "JP!", check=2)
    assert "1 to 32 of a-z" in r.err
    r = node.run("quarantine", "list", "--colour", check=2)
    assert "unexpected option '--colour'" in r.err
    r = node.run("quarantine", "purge", check=2)
    assert "unknown subcommand 'purge'" in r.err
    assert "quarantine" in node.run("--help", check=0).out


def test_quarantine_needs_a_node(fresh):
    r = fresh.run("quarantine", "list", check=2)
    assert "no node at" in r.err


def test_peer_status(tmp_path):
    kr = _with_peers(tmp_path)
    text = kr.run("peer", "status", check=0).out
    us = text[text.index("us "):]
    assert "no policy: receives nothing" in us
    assert "identity      unknown" in us and "last success  never" in us
    jp = text[:text.index("us ")]
    assert "no policy" not in jp and "policy        set" in jp
    st = kr.run("peer", "status", "--json", check=0).json()
    assert [p["name"] for p in st] == ["jp", "us"]
    for p in st:
        assert set(p) == STATUS_KEYS, p
        assert p["identity"] is None and p["last_success"] is None
        assert p["last_error"] is None and p["down_since"] is None
        assert p["decided"] == p["delivered"] == p["queue"] == 0
        assert p["lag_seconds"] == 0
        assert p["dead_letters"] == p["quarantined"] == 0
        # Our log holds the node's identity: nothing delivered yet.
        assert p["lag_objects"] >= 1
    assert st[0]["has_policy"] is True and st[1]["has_policy"] is False
    assert st[1]["trust"] == "feed"
    one = kr.run("peer", "status", "us", "--json", check=0).json()
    assert [p["name"] for p in one] == ["us"]
    for out in (text, json.dumps(st), json.dumps(one)):
        assert "secret-token" not in out
    r = kr.run("peer", "status", "nobody", check=2)
    assert "no peer named 'nobody'" in r.err
    r = kr.run("peer", "status", "jp", "us", check=2)
    assert "at most one NAME" in r.err
    # The federation state shares peers.db: still private.
    for f in ("peers.db", "peers.db-wal", "peers.db-shm"):
        path = os.path.join(kr.home, f)
        if os.path.exists(path):
            assert os.stat(path).st_mode & 0o077 == 0, f


def test_peer_status_without_peers(node):
    r = node.run("peer", "status", check=0)
    assert "no peers" in r.out
    assert node.run("peer", "status", "--json", check=0).json() == []


def test_peer_sent_and_deadletters_fresh(tmp_path):
    kr = _with_peers(tmp_path)
    r = kr.run("peer", "sent", "jp", check=0)
    assert "nothing released to jp" in r.out
    assert kr.run("peer", "sent", "jp", "--json", check=0).json() == []
    assert kr.run("peer", "sent", "jp", "--since", "2026-01-01T00:00:00Z",
                  "--json", check=0).json() == []
    r = kr.run("peer", "sent", "jp", "--since", "yesterday", check=2)
    assert "not a STIX timestamp" in r.err
    r = kr.run("peer", "sent", check=2)
    assert "one NAME expected" in r.err
    r = kr.run("peer", "sent", "nobody", check=2)
    assert "no peer named 'nobody'" in r.err
    r = kr.run("peer", "deadletter", "us", check=0)
    assert "no dead letters for us" in r.out
    assert kr.run("peer", "deadletter", "us", "--json", check=0).json() == []
    r = kr.run("peer", "deadletter", "us", "--skip", "7", check=1)
    assert "no dead letter 7 for us" in r.err
    r = kr.run("peer", "deadletter", "us", "--skip-all", check=0)
    assert "skipped 0 dead letters of us" in r.out
    r = kr.run("peer", "deadletter", "us", "--skip", "x", check=2)
    assert "not a dead letter number" in r.err
    r = kr.run("peer", "deadletter", "us", "--skip", "1", "--skip-all",
               check=2)
    assert "not both" in r.err
    for sub in ("status", "sent", "deadletter"):
        r = kr.run("peer", sub, "--help", check=0)
        assert r.out.startswith("usage: strait peer " + sub)


def test_remove_and_add_again(tmp_path):
    kr = _with_peers(tmp_path)
    assert "removed peer us" in kr.run("peer", "remove", "us", check=0).out
    for sub in ("sent", "deadletter", "status"):
        r = kr.run("peer", sub, "us", check=2)
        assert "no peer named 'us'" in r.err, sub
    r = kr.run("peer", "remove", "us", check=2)
    assert "no peer named 'us'" in r.err
    key = kr.run("peer", "list", "--json", check=0).json()[0]["public_key"]
    kr.run("peer", "add", "us", "--url", "https://cisa.example/taxii2/",
           "--key", key, "--token", "t2", check=0)
    us = kr.run("peer", "status", "us", "--json", check=0).json()[0]
    assert us["decided"] == us["delivered"] == us["queue"] == 0
    assert [p["name"] for p in
            kr.run("peer", "status", "--json", check=0).json()] == ["jp",
                                                                   "us"]
