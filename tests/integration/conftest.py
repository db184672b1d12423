"""Shared fixtures: run the real strait binary against temporary homes."""
import json
import os
import subprocess
import uuid

import pytest

BIN = os.environ.get("STRAIT_BIN", "build/src/daemon/strait")
SRC = os.environ.get("STRAIT_SRC", os.path.join(os.path.dirname(__file__),
                                                 "..", ".."))


class Result:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def json(self):
        return json.loads(self.out)

    def __repr__(self):
        return "rc=%d\nstdout:\n%s\nstderr:\n%s" % (self.rc, self.out,
                                                   self.err)


class Node:
    """A node home and a way to run strait commands against it."""

    def __init__(self, home):
        self.home = str(home)

    def run(self, *args, stdin=None, check=None, timeout=120):
        env = dict(os.environ)
        env.pop("STRAIT_HOME", None)
        proc = subprocess.run([BIN, "--home", self.home] + list(args),
                              input=stdin, capture_output=True, text=True,
                              env=env, timeout=timeout)
        r = Result(proc)
        if check is not None:
            assert r.rc == check, r
        return r


@pytest.fixture
def node(tmp_path):
    n = Node(tmp_path / "home")
    n.run("init", "--name", "TEST", "--country", "KR", check=0)
    return n


@pytest.fixture
def fresh(tmp_path):
    """A second, independent home (not initialised)."""
    return Node(tmp_path / "other")


def sid(t):
    return "%s--%s" % (t, uuid.uuid4())


TLP_GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
TLP_AMBER_STRICT = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"


def indicator(value="203.0.113.5", modified="2026-01-01T00:00:00.000Z",
              marking=TLP_GREEN, oid=None, **extra):
    o = {"type": "indicator", "spec_version": "2.1",
         "id": oid or sid("indicator"),
         "created": "2026-01-01T00:00:00.000Z", "modified": modified,
         "name": "bad address %s" % value,
         "pattern": "[ipv4-addr:value = '%s']" % value,
         "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
         "indicator_types": ["malicious-activity"]}
    if marking:
        o["object_marking_refs"] = [marking]
    o.update(extra)
    return o


def bundle(objects):
    return {"type": "bundle", "id": sid("bundle"), "objects": objects}


def write_json(path, doc):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False)
    return str(path)
