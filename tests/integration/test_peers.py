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
