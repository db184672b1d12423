"""kill -9 during a large import: every object reported stored survives."""
import json
import os
import re
import signal
import subprocess
import time

from conftest import BIN, Node, bundle, indicator


def big_bundle(path, n):
    with open(path, "w") as f:
        f.write('{"type":"bundle","id":"bundle--6a0b5e3b-6f4e-4a7e-9e43-'
                '2b1c6e5b1a11","objects":[')
        for i in range(n):
            if i:
                f.write(",")
            o = indicator(value="10.%d.%d.%d" % (i >> 16, (i >> 8) & 255,
                                                  i & 255))
            f.write(json.dumps(o))
        f.write("]}")


def test_kill_during_import(node, tmp_path):
    path = tmp_path / "big.json"
    big_bundle(path, 400000)
    env = dict(os.environ)
    proc = subprocess.Popen([BIN, "--home", node.home, "import", str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    reported = 0
    deadline = time.time() + 120
    # progress lines: "progress: N objects stored, ..."
    while time.time() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        m = re.match(r"progress: (\d+) objects stored", line)
        if m:
            reported = int(m.group(1))
            if reported > 0:
                break
    assert reported > 0, "no progress line before the end of the import"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # Reopening must work and hold at least what was reported.
    show = node.run("node", "show", "--json", check=0).json()
    assert show["versions"] >= reported + 1  # + the node identity
    assert show["versions"] < 400001, "the import was killed mid-way"
    # The store stays usable: re-import stores the rest, nothing twice.
    r = node.run("import", "--json", str(path), timeout=300)
    s = r.json()
    assert s["stored"] + s["duplicate"] == 400000, r
    final = node.run("node", "show", "--json", check=0).json()
    assert final["versions"] == 400001
