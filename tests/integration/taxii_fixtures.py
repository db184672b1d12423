"""A running `strait serve` on a loopback ephemeral port, with accounts."""
import os
import re
import signal
import subprocess
import time

import requests

from conftest import BIN, Node

TAXII = "application/taxii+json;version=2.1"
TOKEN_RE = re.compile(r"strait_[A-Za-z0-9_-]{43}")


class Server:
    def __init__(self, node, *args):
        self.node = node
        env = dict(os.environ)
        env.pop("STRAIT_HOME", None)
        self.proc = subprocess.Popen(
            [BIN, "--home", node.home, "serve", "--listen", "127.0.0.1:0"]
            + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, env=env)
        line = self.proc.stdout.readline()
        m = re.search(r"(https?://[^ ]+/taxii2/)", line)
        if not m:
            self.proc.kill()
            raise AssertionError("serve did not start: %r %s" % (
                line, self.proc.stderr.read()))
        self.discovery = m.group(1)
        self.base = self.discovery[:-len("taxii2/")]
        self.root = self.base + "taxii2/root/"

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("serve did not stop on %s" % sig)
        self.log = self.proc.stderr.read()
        return self.proc.returncode


class Client:
    """One account's view of the server."""

    def __init__(self, server, token=None, basic=None, scheme="Bearer"):
        self.s = requests.Session()
        self.server = server
        if token:
            self.s.headers["Authorization"] = "%s %s" % (scheme, token)
        if basic:
            self.s.auth = basic
        self.s.headers["Accept"] = TAXII

    def get(self, path, **kw):
        return self.s.get(self._url(path), timeout=60, **kw)

    def post(self, path, json_body=None, data=None, ctype=TAXII, **kw):
        import json
        headers = kw.pop("headers", {})
        headers.setdefault("Content-Type", ctype)
        body = data if data is not None else json.dumps(json_body)
        return self.s.post(self._url(path), data=body, headers=headers,
                           timeout=120, **kw)

    def delete(self, path, **kw):
        return self.s.delete(self._url(path), timeout=60, **kw)

    def _url(self, path):
        if path.startswith("http"):
            return path
        return self.server.root + path


def add_user(node, name, role, org=None, password=None):
    args = ["user", "add", name, "--role", role]
    if org:
        args += ["--org", org]
    if password:
        args.append("--password-stdin")
    r = node.run(*args, stdin=(password + "\n") if password else None,
                 check=0)
    m = TOKEN_RE.search(r.out)
    assert m, r
    return m.group(0)


def collection_id(node, alias="default"):
    for c in node.run("collection", "list", "--json", check=0).json():
        if c.get("alias") == alias:
            return c["id"]
    raise AssertionError("no collection " + alias)


def wait_port_closed(server, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            requests.get(server.discovery, timeout=1)
        except requests.ConnectionError:
            return True
        time.sleep(0.1)
    return False


def grant(node, client, coll, name, access):
    """Grants with the CLI, then waits until the running server applies it
    (accounts are re-read from auth.db within a second)."""
    node.run("collection", "grant", coll, name, access, check=0)
    want_write = access == "write"
    deadline = time.time() + 5
    while time.time() < deadline:
        r = client.get("collections/%s/" % coll)
        if r.status_code == 200 and r.json()["can_write"] == want_write:
            return
        time.sleep(0.05)
    raise AssertionError("grant of %s to %s not applied" % (access, name))


SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:")


def sanitizer_report(text):
    """The first line of a sanitizer report in `text`, or None."""
    for line in (text or "").splitlines():
        if any(m in line for m in SANITIZER_MARKS):
            return line
    return None


STOP_SIGNALS = (1 << (signal.SIGINT - 1)) | (1 << (signal.SIGTERM - 1))


def blocked_signals(pid, tid):
    """The SigBlk mask of one thread, from /proc."""
    with open("/proc/%d/task/%d/status" % (pid, tid), encoding="ascii") as f:
        for line in f:
            if line.startswith("SigBlk:"):
                return int(line.split()[1], 16)
    raise AssertionError("no SigBlk for %d/%d" % (pid, tid))


def wait_signal_wait(pid, timeout=10):
    """Waits until the main thread of a started `strait serve` sits in its
    signal wait: there the kernel shows SIGINT and SIGTERM unblocked for it
    (after start they are blocked, until the wait). A stop signal sent
    earlier may kill the process instead of stopping it, because threads
    started before the signals were blocked take it (a known bug)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if not blocked_signals(pid, pid) & STOP_SIGNALS:
                return True
        except OSError:
            return False
        time.sleep(0.01)
    return False


def stop_clean(server, sig=signal.SIGTERM):
    """Stops the server and asserts a graceful exit (0) with no sanitizer
    report in its log (an ASan+UBSan build prints them at exit)."""
    if server.proc.poll() is None:
        wait_signal_wait(server.proc.pid)
    rc = server.stop(sig)
    assert rc == 0 and sanitizer_report(server.log) is None, \
        "serve exited %s:\n%s" % (rc, server.log[-4000:])
