"""The command line: init, help, collections, get, node show, signing keys."""
import json
import os

from conftest import Node, bundle, indicator, write_json

COMMANDS = ["init", "node", "collection", "import", "export", "get"]


def test_help_lists_every_command(tmp_path):
    r = Node(tmp_path / "h").run("--help", check=0)
    for c in COMMANDS:
        assert "  " + c + " " in r.out


def test_each_command_has_help(tmp_path):
    n = Node(tmp_path / "h")
    for c in COMMANDS:
        r = n.run(c, "--help", check=0)
        assert r.out.startswith("usage: strait " + c), (c, r)


def test_unknown_command_is_usage_error(tmp_path):
    r = Node(tmp_path / "h").run("frobnicate", check=2)
    assert "unknown command 'frobnicate'" in r.err


def test_init_creates_home_and_identity(tmp_path):
    n = Node(tmp_path / "h")
    r = n.run("init", "--name", "NISC", "--org", "NISC Japan",
              "--country", "JP", check=0)
    assert "initialised node NISC" in r.out
    assert os.stat(n.home).st_mode & 0o077 == 0, "home must be private"
    show = n.run("node", "show", "--json", check=0).json()
    assert show["name"] == "NISC" and show["country"] == "JP"
    assert show["id"].startswith("identity--")
    assert len(show["incarnation"]) == 36
    ident = n.run("get", show["id"], "--json", check=0).json()
    obj = ident["versions"][0]["object"]
    assert obj["type"] == "identity" and obj["name"] == "NISC Japan"
    cols = n.run("collection", "list", "--json", check=0).json()
    assert [c["alias"] for c in cols] == ["default"]


def _b64url(s):
    import base64
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def _key_id(pk):
    import hashlib
    return hashlib.blake2b(pk, digest_size=32).hexdigest()[:16]


def test_init_makes_the_signing_key(tmp_path):
    n = Node(tmp_path / "h")
    r = n.run("init", "--name", "KR", "--org", "NCSC", "--country", "KR",
              check=0)
    keys = os.path.join(n.home, "keys")
    key = os.path.join(keys, "node.key")
    assert os.stat(keys).st_mode & 0o777 == 0o700
    assert os.stat(key).st_mode & 0o777 == 0o600
    show = n.run("node", "show", "--json", check=0).json()
    for k in ("id", "name", "country", "key_id", "public_key"):
        assert k in show, k
    assert show["name"] == "KR" and show["country"] == "KR"
    pk = _b64url(show["public_key"])
    assert len(pk) == 32
    # The key id is derived from the public key, as docs/FEDERATION.md says.
    assert show["key_id"] == _key_id(pk)
    assert "signing key  %s %s" % (show["key_id"], show["public_key"]) in r.out
    assert [k["key_id"] for k in show["keys"]] == [show["key_id"]]
    assert show["keys"][0]["retired"] is None
    # The secret is not in any output, and the text form names the key.
    text = n.run("node", "show", check=0).out
    assert "key id       " + show["key_id"] in text
    assert "public key   " + show["public_key"] in text


def test_rotate_key_keeps_the_history(tmp_path):
    n = Node(tmp_path / "h")
    n.run("init", "--name", "JP", check=0)
    before = n.run("node", "show", "--json", check=0).json()
    r = n.run("node", "rotate-key", check=0)
    assert "retired " + before["key_id"] in r.out
    after = n.run("node", "show", "--json", check=0).json()
    assert after["key_id"] != before["key_id"]
    assert after["key_id"] in r.out and after["public_key"] in r.out
    hist = after["keys"]
    assert [k["key_id"] for k in hist] == [before["key_id"], after["key_id"]]
    assert hist[0]["public_key"] == before["public_key"]
    assert hist[0]["retired"] is not None and hist[1]["retired"] is None
    # The retired key's secret is gone from the file: 32 zero bytes where
    # its seed was (format in src/federation/nodekey.h).
    img = open(os.path.join(n.home, "keys", "node.key"), "rb").read()
    assert len(img) == 8 + 2 * 80
    assert img[8 + 48:8 + 80] == bytes(32)
    assert img[8 + 80 + 48:] != bytes(32)


def test_signing_key_refusals(tmp_path):
    n = Node(tmp_path / "h")
    n.run("init", "--name", "US", check=0)
    key = os.path.join(n.home, "keys", "node.key")
    os.chmod(key, 0o644)
    show = n.run("node", "show", "--json", check=0).json()
    assert show["key_id"] is None and show["public_key"] is None
    text = n.run("node", "show", check=0).out
    assert "readable by group or others" in text
    r = n.run("node", "rotate-key", check=2)
    assert "readable by group or others" in r.err
    os.chmod(key, 0o600)
    # A home made before node keys: rotate-key makes the first one.
    os.unlink(key)
    r = n.run("node", "rotate-key", check=0)
    assert "had no signing key" in r.out
    assert n.run("node", "show", "--json", check=0).json()["key_id"]


def test_init_refuses_existing_home(node):
    before = open(os.path.join(node.home, "strait.yaml")).read()
    r = node.run("init", "--name", "OTHER", check=2)
    assert "refusing to overwrite" in r.err
    assert open(os.path.join(node.home, "strait.yaml")).read() == before


def test_init_validates_arguments(tmp_path):
    n = Node(tmp_path / "h")
    assert "--name is required" in n.run("init", check=2).err
    r = n.run("init", "--name", "X", "--country", "korea", check=2)
    assert "ISO 3166-1" in r.err
    r = n.run("init", "--name", "X", "--default-tlp", "purple", check=2)
    assert "unknown level 'purple'" in r.err
    assert not os.path.exists(os.path.join(n.home, "strait.yaml"))


def test_commands_without_home_say_what_to_do(tmp_path):
    r = Node(tmp_path / "missing").run("collection", "list", check=2)
    assert "no node at" in r.err and "init" in r.err


def test_home_from_environment(tmp_path):
    import subprocess
    from conftest import BIN
    env = dict(os.environ, STRAIT_HOME=str(tmp_path / "envhome"))
    p = subprocess.run([BIN, "init", "--name", "ENV"], env=env,
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert os.path.exists(tmp_path / "envhome" / "strait.yaml")


def test_collections(node):
    r = node.run("collection", "add", "Wedge campaigns", "--alias", "wedge",
                 "--description", "Disinformation", check=0)
    cid = r.out.strip()
    assert len(cid) == 36
    cols = node.run("collection", "list", "--json", check=0).json()
    assert cols[1] == {"id": cid, "title": "Wedge campaigns",
                       "description": "Disinformation", "alias": "wedge",
                       "media_types": ["application/stix+json;version=2.1"]}
    dup = node.run("collection", "add", "Again", "--alias", "wedge")
    assert dup.rc != 0 and "wedge" in dup.err
    bad = node.run("collection", "add", "X", "--id", "not-a-uuid", check=2)
    assert "not a UUID" in bad.err
    text = node.run("collection", "list", check=0).out
    assert "wedge" in text and "Wedge campaigns" in text


def test_get_versions_and_exit_status(node, tmp_path):
    oid = "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
    v1 = indicator(oid=oid, modified="2026-01-01T00:00:00.000Z")
    v2 = indicator(oid=oid, modified="2026-02-01T00:00:00.000Z",
                   name="second")
    v3 = indicator(oid=oid, modified="2026-03-01T00:00:00.000Z",
                   name="third")
    # The latest version arrives first, an older one late.
    node.run("import", write_json(tmp_path / "a.json", bundle([v3, v1])),
             check=0)
    node.run("import", write_json(tmp_path / "b.json", bundle([v2])),
             check=0)
    last = node.run("get", oid, "--json", check=0).json()["versions"]
    assert [v["object"]["name"] for v in last] == ["third"]
    first = node.run("get", oid, "--version", "first", "--json",
                     check=0).json()["versions"]
    assert first[0]["object"]["modified"] == "2026-01-01T00:00:00.000Z"
    allv = node.run("get", oid, "--version", "all", "--json",
                    check=0).json()["versions"]
    assert sorted(v["object"]["modified"] for v in allv) == [
        "2026-01-01T00:00:00.000Z", "2026-02-01T00:00:00.000Z",
        "2026-03-01T00:00:00.000Z"]
    at = node.run("get", oid, "--version", "2026-02-01T00:00:00.000Z",
                  "--json", check=0).json()["versions"]
    assert at[0]["object"]["name"] == "second"
    r = node.run("get", oid, "--version", "2026-02-02T00:00:00Z", check=1)
    assert "no such version" in r.err
    r = node.run("get", "indicator--00000000-0000-4000-8000-000000000000",
                 check=1)
    assert "no such object" in r.err
    assert "not a STIX id" in node.run("get", "nonsense", check=2).err
    text = node.run("get", oid, check=0).out
    assert "TLP:GREEN (object)" in text and '"name":"third"' in text
