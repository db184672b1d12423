"""Accounts: strait user ... and strait collection grant."""
import os
import re
import stat

import pytest

from conftest import Node

TOKEN_RE = re.compile(r"^strait_[A-Za-z0-9_-]{43}$")
PW = "correct horse battery staple"
FP = ":".join(["AB", "12"] * 16)  # as openssl prints a SHA-256
FP_HEX = "ab12" * 16


def auth_files(node):
    base = os.path.join(node.home, "auth.db")
    return [p for p in (base, base + "-wal", base + "-shm")
            if os.path.exists(p)]


def add(node, name, *args, stdin=None, check=0):
    r = node.run("user", "add", name, *args, stdin=stdin, check=check)
    if check == 0:
        token = r.out.strip()
        assert TOKEN_RE.match(token), r
        return token
    return r


def users(node):
    return {u["name"]: u for u in node.run("user", "list", "--json",
                                            check=0).json()}


def test_help(node, tmp_path):
    top = Node(tmp_path / "h").run("--help", check=0)
    assert "  user " in top.out
    r = node.run("user", "--help", check=0)
    assert r.out.startswith("usage: strait user")
    for sub in ("add", "list", "disable", "enable", "remove", "token",
                "password", "bind-cert"):
        assert "strait user " + sub in r.out
        h = node.run("user", sub, "--help", check=0)
        assert h.out.startswith("usage: strait user"), (sub, h)
    assert node.run("user", check=2).err.startswith("usage: strait user")
    r = node.run("user", "frobnicate", check=2)
    assert "unknown subcommand 'frobnicate'" in r.err
    g = node.run("collection", "grant", "--help", check=0)
    assert "strait collection grant COLLECTION USER read|write|none" in g.out


def test_no_accounts_yet(node):
    r = node.run("user", "list", check=0)
    assert "no accounts yet" in r.out
    assert node.run("user", "list", "--json", check=0).json() == []
    for sub in ("disable", "enable", "remove", "token"):
        r = node.run("user", sub, "alice", check=1)
        assert "no such user 'alice'" in r.err and "no accounts yet" in r.err
    r = node.run("collection", "grant", "default", "alice", "read", check=1)
    assert "no accounts yet" in r.err
    assert auth_files(node) == [], "read-only commands create nothing"


def test_needs_a_node(tmp_path):
    r = Node(tmp_path / "missing").run("user", "add", "alice", "--role",
                                       "admin", check=2)
    assert "no node at" in r.err


def test_add_prints_token_once(node):
    token = add(node, "alice", "--role", "analyst")
    r = node.run("user", "add", "bob", "--role", "reader", check=0)
    assert "shown once" in r.err and token not in r.err
    assert r.out.strip() != token
    listed = node.run("user", "list", "--json", check=0)
    text = node.run("user", "list", check=0)
    body = token[len("strait_"):]
    for out in (listed.out, listed.err, text.out, text.err):
        assert body not in out and body[:16] not in out
    u = users(node)
    assert set(u) == {"alice", "bob"}
    a = u["alice"]
    assert a["role"] == "analyst" and a["disabled"] is False
    assert a["password"] is False and a["cert_bound"] is False
    assert a["tokens"] == 1 and a["grants"] == []
    assert isinstance(a["id"], int) and a["id"] > 0
    # Only a hash is stored: neither the token nor its body is on disk.
    files = auth_files(node)
    assert files
    for p in files:
        data = open(p, "rb").read()
        assert body.encode() not in data
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o600, p


def test_org_defaults_to_node_org(tmp_path):
    n = Node(tmp_path / "h")
    n.run("init", "--name", "NCSC", "--org", "NCSC Korea", check=0)
    add(n, "alice", "--role", "analyst")
    add(n, "jp", "--role", "reader", "--org", "NISC Japan")
    u = users(n)
    assert u["alice"]["org"] == "NCSC Korea"
    assert u["jp"]["org"] == "NISC Japan"


def test_liaison_names_a_registered_partner(tmp_path):
    """A liaison officer's --org is the partner node it comes from: it
    is required, and must name a registered peer."""
    n = Node(tmp_path / "h")
    n.run("init", "--name", "NCSC", "--org", "NCSC Korea", check=0)
    r = n.run("user", "add", "kim", "--role", "liaison", check=2)
    assert "a liaison officer needs --org PEER" in r.err
    r = n.run("user", "add", "kim", "--role", "liaison", "--org", "jp",
              check=2)
    assert "--org 'jp': no partner node of that name" in r.err
    assert "kim" not in users(n)
    n.run("peer", "add", "jp", "--url", "http://127.0.0.1:9/taxii2/",
          "--key", "A" * 43, "--token", "-", stdin="t" * 40 + "\n", check=0)
    add(n, "kim", "--role", "liaison", "--org", "jp")
    assert users(n)["kim"]["org"] == "jp"
    assert users(n)["kim"]["role"] == "liaison"


@pytest.mark.parametrize("args,status,message", [
    (["Alice", "--role", "admin"], 2, "a-z 0-9"),
    (["a:b", "--role", "admin"], 2, "a-z 0-9"),
    (["x" * 65, "--role", "admin"], 2, "a-z 0-9"),
    (["alice", "--role", "root"], 2, "unknown role 'root'"),
    (["alice"], 2, "--role is required"),
    (["--role", "admin"], 2, "one NAME expected"),
    (["alice", "bob", "--role", "admin"], 2, "one NAME expected"),
    (["alice", "--role", "admin", "--org", ""], 2, "organisation"),
])
def test_add_errors(node, args, status, message):
    r = node.run("user", "add", *args, check=status)
    assert message in r.err, r
    assert auth_files(node) == [], "a refused add creates nothing"


def test_duplicate_name(node):
    add(node, "alice", "--role", "analyst")
    r = add(node, "alice", "--role", "reader", check=1)
    assert "already exists" in r.err and r.out == ""
    assert users(node)["alice"]["role"] == "analyst"


def test_password(node):
    r = add(node, "short", "--role", "reader", "--password-stdin",
            stdin="elevenbytes\n", check=2)
    assert "too short" in r.err
    r = add(node, "empty", "--role", "reader", "--password-stdin",
            stdin="\n", check=2)
    assert "empty password" in r.err
    assert users(node) == {}
    add(node, "alice", "--role", "reader", "--password-stdin",
        stdin=PW + "\n")
    assert users(node)["alice"]["password"] is True
    for p in auth_files(node):
        assert PW.encode() not in open(p, "rb").read()
    r = node.run("user", "password", "alice", "--clear", check=0)
    assert "cleared" in r.out
    assert users(node)["alice"]["password"] is False
    node.run("user", "password", "alice", stdin=PW + "!\n", check=0)
    assert users(node)["alice"]["password"] is True
    node.run("user", "password", "alice", stdin="short\n", check=2)
    node.run("user", "password", "nobody", stdin=PW, check=1)
    listed = node.run("user", "list", "--json", check=0).out
    assert PW not in listed and "$argon2" not in listed


def test_disable_enable_remove(node):
    add(node, "alice", "--role", "analyst")
    add(node, "bob", "--role", "reader")
    assert "disabled 'alice'" in node.run("user", "disable", "alice",
                                          check=0).out
    assert users(node)["alice"]["disabled"] is True
    text = node.run("user", "list", check=0).out
    assert re.search(r"^alice\s+analyst.*disabled", text, re.M)
    node.run("user", "enable", "alice", check=0)
    assert users(node)["alice"]["disabled"] is False
    node.run("user", "remove", "alice", check=0)
    assert set(users(node)) == {"bob"}
    for sub in ("disable", "enable", "remove", "token"):
        r = node.run("user", sub, "alice", check=1)
        assert "no such user 'alice'" in r.err
    node.run("user", "disable", check=2)
    node.run("user", "disable", "bob", "extra", check=2)


def test_token_rotation(node):
    first = add(node, "alice", "--role", "analyst")
    r = node.run("user", "token", "alice", check=0)
    second = r.out.strip()
    assert TOKEN_RE.match(second) and second != first
    assert "shown once" in r.err
    assert users(node)["alice"]["tokens"] == 1
    listed = node.run("user", "list", "--json", check=0).out
    assert second[7:] not in listed


def test_bind_cert(node):
    add(node, "peer-jp", "--role", "peer", "--org", "NISC Japan")
    node.run("user", "bind-cert", "peer-jp", FP, check=0)
    assert users(node)["peer-jp"]["cert_bound"] is True
    text = node.run("user", "list", check=0).out
    assert re.search(r"^peer-jp\s+peer\s+NISC Japan\s+enabled\s+no\s+yes",
                     text, re.M), text
    node.run("user", "bind-cert", "peer-jp", "--clear", check=0)
    assert users(node)["peer-jp"]["cert_bound"] is False
    r = node.run("user", "bind-cert", "peer-jp", "not-hex", check=2)
    assert "64 hex digits" in r.err
    node.run("user", "bind-cert", "peer-jp", check=2)
    node.run("user", "bind-cert", "peer-jp", FP_HEX, "--clear", check=2)
    node.run("user", "bind-cert", "nobody", FP_HEX, check=1)


def test_collection_grant(node):
    add(node, "alice", "--role", "analyst")
    add(node, "peer-jp", "--role", "peer", "--org", "NISC Japan")
    add(node, "root", "--role", "admin")
    add(node, "aud", "--role", "auditor")
    cid = node.run("collection", "add", "Wedge", "--alias", "wedge",
                   check=0).out.strip()
    r = node.run("collection", "grant", "default", "alice", "read", check=0)
    assert "alice: read on" in r.out and "(default)" in r.out
    node.run("collection", "grant", cid, "peer-jp", "write", check=0)
    u = users(node)
    default_id = u["alice"]["grants"][0]["collection"]
    assert u["alice"]["grants"] == [
        {"collection": default_id, "alias": "default", "access": "read"}]
    assert u["peer-jp"]["grants"] == [
        {"collection": cid, "alias": "wedge", "access": "write"}]
    assert u["root"]["all_collections"] is True
    node.run("collection", "grant", "wedge", "alice", "write", check=0)
    node.run("collection", "grant", "default", "alice", "none", check=0)
    assert [(g["alias"], g["access"]) for g in users(node)["alice"]["grants"]] \
        == [("wedge", "write")]
    text = node.run("user", "list", check=0).out
    assert re.search(r"^\s+write\s+%s \(wedge\)" % cid, text, re.M), text

    r = node.run("collection", "grant", "nowhere", "alice", "read", check=1)
    assert "no collection 'nowhere'" in r.err
    r = node.run("collection", "grant", "wedge", "nobody", "read", check=1)
    assert "no such user 'nobody'" in r.err
    r = node.run("collection", "grant", "wedge", "alice", "admin", check=2)
    assert "not read, write or none" in r.err
    r = node.run("collection", "grant", "wedge", "root", "read", check=2)
    assert "admins read and write every collection" in r.err
    r = node.run("collection", "grant", "wedge", "aud", "write", check=2)
    assert "auditors never write" in r.err
    node.run("collection", "grant", "wedge", "aud", "read", check=0)
    node.run("collection", "grant", "wedge", "alice", check=2)
