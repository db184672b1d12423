"""The hotline from the command line, so far: `strait hotline keygen`."""
import os
import re

from conftest import Node

PASS = "correct horse battery staple\n"
FP_RE = re.compile(r"^fingerprint     ([0-9a-f]{4} ){9}[0-9a-f]{4}$", re.M)
KEY_RE = re.compile(r"^signing key     [A-Za-z0-9_-]{43}$", re.M)


def test_help(node, tmp_path):
    assert "  hotline " in Node(tmp_path / "h").run("--help", check=0).out
    r = node.run("hotline", "--help", check=0)
    assert r.out.startswith("usage: strait hotline keygen")
    assert node.run("hotline", check=2).err.startswith("usage:")
    assert "unknown subcommand 'x'" in node.run("hotline", "x",
                                                check=2).err


def test_keygen(node, tmp_path):
    out = str(tmp_path / "kr-director.key")
    r = node.run("hotline", "keygen", "--out", out, "--kdf", "interactive",
                 stdin=PASS, check=0)
    assert FP_RE.search(r.out) and KEY_RE.search(r.out), r.out
    assert "encryption key  " in r.out
    st = os.stat(out)
    assert st.st_mode & 0o777 == 0o600 and st.st_size == 240
    # The passphrase is nowhere in the file.
    with open(out, "rb") as f:
        assert PASS.strip().encode() not in f.read()
    # Never over an existing file; two files, two fingerprints.
    r2 = node.run("hotline", "keygen", "--out", out, "--kdf", "interactive",
                  stdin=PASS, check=2)
    assert "exists already: not replaced" in r2.err
    other = str(tmp_path / "jp-director.key")
    r3 = node.run("hotline", "keygen", "--out", other, "--kdf",
                  "interactive", stdin=PASS, check=0)
    assert FP_RE.search(r3.out).group(0) != FP_RE.search(r.out).group(0)


def test_keygen_refuses(node, tmp_path):
    out = str(tmp_path / "k.key")
    r = node.run("hotline", "keygen", "--out", out, stdin="short\n", check=2)
    assert "too short (at least 12 bytes)" in r.err
    r = node.run("hotline", "keygen", "--out", out, stdin="", check=2)
    assert "no passphrase on stdin" in r.err
    r = node.run("hotline", "keygen", "--out", out, "--kdf", "fast",
                 stdin=PASS, check=2)
    assert "--kdf is interactive, moderate or sensitive" in r.err
    assert "--out FILE is required" in node.run("hotline", "keygen",
                                                stdin=PASS, check=2).err
    assert not os.path.exists(out)
