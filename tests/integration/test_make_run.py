"""`make run` (scripts/run.sh): a node a newcomer can query with the
printed curl line, run again on the same home without re-creating it."""
import json
import os
import queue
import re
import shlex
import signal
import stat
import subprocess
import threading
import time

import pytest
import requests

from conftest import BIN, SRC
from taxii_fixtures import (STOP_SIGNALS, TAXII, TOKEN_RE, Server,
                            blocked_signals, sanitizer_report, stop_clean,
                            wait_signal_wait)

START_TIMEOUT = 180  # first run: init and the sample import (ASan is slow)


class Run:
    """`sh scripts/run.sh BIN` from the repository root, in its own process
    group (as a terminal would run it), with its output read by threads."""

    def __init__(self, home, listen="127.0.0.1:0"):
        env = dict(os.environ, STRAIT_HOME=str(home))
        env.pop("STRAIT_LISTEN", None)
        if listen is not None:
            env["STRAIT_LISTEN"] = listen
        self.proc = subprocess.Popen(
            ["sh", "scripts/run.sh", os.path.abspath(BIN)], cwd=SRC,
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, start_new_session=True)
        self.lines = queue.Queue()
        self.out, self.err = [], []
        threading.Thread(target=self._pump, args=(self.proc.stdout,
                                                  self.out, True),
                         daemon=True).start()
        self.err_thread = threading.Thread(
            target=self._pump, args=(self.proc.stderr, self.err, False),
            daemon=True)
        self.err_thread.start()

    def _pump(self, f, keep, announce):
        for line in f:
            keep.append(line)
            if announce:
                self.lines.put(line)
        if announce:
            self.lines.put(None)

    def until(self, pattern, timeout=START_TIMEOUT):
        """Output lines up to and including the first matching `pattern`."""
        deadline = time.time() + timeout
        seen = []
        while True:
            left = deadline - time.time()
            try:
                line = self.lines.get(timeout=max(left, 0.01))
            except queue.Empty:
                line = None
                left = 0
            if line is None:
                self.stop(signal.SIGKILL)
                raise AssertionError(
                    "no %r in run.sh output (%s):\n%s\nstderr:\n%s" % (
                        pattern, "timeout" if left <= 0 else "ended",
                        "".join(self.out), "".join(self.err)))
            seen.append(line)
            if re.search(pattern, line):
                return "".join(seen)

    def stop(self, sig=signal.SIGTERM, group=False, timeout=30):
        if sig is not None and self.proc.poll() is None:
            wait_signal_wait(self.proc.pid)
            if group:
                os.killpg(self.proc.pid, sig)
            else:
                self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            raise AssertionError("run.sh did not stop on %s" % sig)
        self.err_thread.join(timeout)
        report = sanitizer_report("".join(self.err))
        assert report is None, "".join(self.err)[-4000:]
        return rc


def curl_lines(text):
    return [line.strip() for line in text.splitlines()
            if line.strip().startswith("curl ")]


def run_curl(line):
    """The printed line, split as a shell would (no shell), plus -w to
    learn the status code."""
    argv = shlex.split(line)
    assert argv[0] == "curl"
    env = {k: v for k, v in os.environ.items()
           if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    r = subprocess.run(argv + ["-w", "\n%{http_code}"], capture_output=True,
                       text=True, timeout=60, env=env)
    assert r.returncode == 0, (argv, r.stderr)
    body, _, code = r.stdout.rpartition("\n")
    return int(code), body


def session(text):
    """Everything the run printed once it serves: URL, token, curl lines."""
    url = re.search(r"discovery URL\s+(http://\S+/taxii2/)", text).group(1)
    token = re.search(r"admin token\s+(\S+)", text).group(1)
    assert TOKEN_RE.fullmatch(token), token
    lines = curl_lines(text)
    assert len(lines) == 2, text
    return url, token, lines


def check_curl(url, lines):
    code, body = run_curl(lines[0])
    assert code == 200, body
    doc = json.loads(body)
    assert doc["api_roots"] == [url + "root/"] and doc["title"]
    code, body = run_curl(lines[1])
    assert code == 200, body
    assert json.loads(body)["collections"][0]["can_read"] is True


def token_ok(url, token):
    r = requests.get(url, headers={"Accept": TAXII,
                                   "Authorization": "Bearer " + token},
                     timeout=30)
    return r.status_code


def test_make_run_first_and_later_runs(tmp_path):
    home = tmp_path / "home"
    token_file = home / "admin.token"

    # First run: a new node, the sample data, an admin account.
    run = Run(home)
    try:
        text = run.until(r"Ctrl-C stops the server")
        assert "initialised node NCSC" in text
        assert "importing the bundled sample data set" in text
        assert "created the account 'admin'" in text
        m = re.search(r"store\s+(\d+) versions of (\d+) objects", text)
        assert m and int(m.group(2)) > 50, text
        stored = m.group(0)
        served = re.search(r"serving TAXII 2.1 at (\S+)", text).group(1)
        url, token, lines = session(text)
        assert served == url and url.startswith("http://127.0.0.1:")
        assert not url.endswith(":0/taxii2/")
        check_curl(url, lines)
        assert token_file.read_text().strip() == token
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        assert not list(home.glob("admin.token.*"))
    finally:
        rc = run.stop(signal.SIGTERM)
    assert rc == 0, "".join(run.err)
    assert "signal 15: stopping" in "".join(run.err)
    assert token not in "".join(run.err)  # the access log never holds it

    # Second run on the same home: nothing re-created, same token; and
    # Ctrl-C (SIGINT to the whole process group) stops it.
    run = Run(home)
    try:
        text = run.until(r"Ctrl-C stops the server")
        assert "initialised" not in text and "importing" not in text
        assert "created the account" not in text
        assert "issued a new token" not in text
        assert stored in text  # the node holds exactly what it held
        url2, token2, lines = session(text)
        assert token2 == token
        check_curl(url2, lines)
    finally:
        rc = run.stop(signal.SIGINT, group=True)
    assert rc == 0, "".join(run.err)

    # The token file deleted: the next run rotates the token. This run
    # also takes its listen address from strait.yaml (no STRAIT_LISTEN).
    token_file.unlink()
    yaml = home / "strait.yaml"
    text = yaml.read_text()
    assert "listen: 127.0.0.1:7400" in text
    yaml.write_text(text.replace("listen: 127.0.0.1:7400",
                                 "listen: 127.0.0.1:0"))
    run = Run(home, listen=None)
    try:
        text = run.until(r"Ctrl-C stops the server")
        assert "issued a new token for 'admin'" in text
        assert "importing" not in text and stored in text
        url3, token3, lines = session(text)
        assert token3 != token
        assert token_file.read_text().strip() == token3
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        check_curl(url3, lines)
        assert token_ok(url3, token) == 401
        assert token_ok(url3, token3) == 200
    finally:
        rc = run.stop(signal.SIGTERM)
    assert rc == 0, "".join(run.err)


def test_make_run_reports_a_server_that_cannot_start(tmp_path):
    """A listen address that cannot work: serve's own message, the
    script says the server did not start, exit status 2 (serve's)."""
    run = Run(tmp_path / "home", listen="0.0.0.0:0")
    try:
        run.until(r"Explore it")
    finally:
        rc = run.stop(sig=None, timeout=60)  # it ends by itself
    err = "".join(run.err)
    assert rc == 2, err
    assert "refusing plain HTTP on non-loopback address" in err
    assert "strait serve did not start" in err
    assert not curl_lines("".join(run.out))


def test_only_the_waiting_thread_takes_stop_signals(node):
    """Ctrl-C must stop the server gracefully whenever it comes: every
    thread but the main one (which waits for the signals) blocks SIGINT and
    SIGTERM, so the kernel can only hand them to the waiting thread."""
    s = Server(node)
    try:
        pid = s.proc.pid
        assert wait_signal_wait(pid)
        tids = [int(t) for t in os.listdir("/proc/%d/task" % pid)]
        assert len(tids) > 1
        open_threads = [t for t in tids if t != pid and
                        blocked_signals(pid, t) & STOP_SIGNALS
                        != STOP_SIGNALS]
        assert open_threads == []
    finally:
        stop_clean(s)
