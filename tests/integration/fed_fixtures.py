"""Federation fixtures: real `strait serve` nodes linked as partners.

A FedNode is one node home and its server: `strait init`, accounts (an
analyst of its own organisation, a peer account for each partner),
`strait serve` on 127.0.0.1 (port 0 the first time, the same port when it
is started again, so partners keep their URL), stop by SIGTERM or SIGKILL.
link() registers one node at another with a sharing policy, as an
operator would (`strait peer add ... --token - --policy FILE`).

The kill -9 loop (kill9_soak) lives here too, so that the integration
test and scripts/soak_federation.py run the same code.

Only the standard library and requests (Debian's python3-requests).
"""
import json
import os
import random
import re
import signal
import subprocess
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

BIN = os.environ.get("STRAIT_BIN", "build/src/daemon/strait")
TAXII = "application/taxii+json;version=2.1"
TLP = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict":
        "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
TLP1_WHITE = "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"
LEVELS = ["clear", "green", "amber", "amber+strict", "red"]
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:")
# Waits end as soon as their condition holds: these bound a failure only,
# and are generous for the ASan+UBSan build on two cores.
WAIT = float(os.environ.get("STRAIT_FED_WAIT", "90"))


def sid(t):
    return "%s--%s" % (t, uuid.uuid4())


def stamp(offset_s=0.0, t=None):
    """A STIX timestamp (millisecond precision), offset_s from now."""
    t = (time.time() if t is None else t) + offset_s
    ms = int(round(t * 1000))
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + \
        ".%03dZ" % (ms % 1000)


def norm_ts(ts):
    """A STIX timestamp as strait prints versions (microseconds)."""
    m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z$", ts)
    assert m, ts
    return "%s.%sZ" % (m.group(1), (m.group(2) or "").ljust(6, "0")[:6])


_n = [0]


def indicator(tlp="green", markings=None, name=None, oid=None,
              modified=None, **kw):
    """An indicator with a unique pattern, marked `tlp` (a key of TLP,
    None for unmarked) or with an explicit list of marking ids."""
    _n[0] += 1
    t = modified or stamp()
    o = {"type": "indicator", "spec_version": "2.1",
         "id": oid or sid("indicator"), "created": kw.pop("created", t),
         "modified": t,
         "name": name or "test indicator %d" % _n[0],
         "pattern": "[domain-name:value = 'h%d-%s.example.com']" % (
             _n[0], uuid.uuid4().hex[:8]),
         "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
         "indicator_types": ["malicious-activity"]}
    if markings is not None:
        o["object_marking_refs"] = list(markings)
    elif tlp is not None:
        o["object_marking_refs"] = [TLP[tlp]]
    o.update(kw)
    return o


def marked(o, tlp):
    if tlp is not None:
        o["object_marking_refs"] = [TLP[tlp]]
    return o


def sdo(type_, tlp="green", **kw):
    t = stamp()
    o = {"type": type_, "spec_version": "2.1", "id": sid(type_),
         "created": t, "modified": t}
    o.update(kw)
    return marked(o, tlp)


def bundle(objects):
    return {"type": "bundle", "id": sid("bundle"), "objects": objects}


def version_of(o):
    return norm_ts(o.get("modified") or o["created"])


def sanitizer_report(text):
    for line in (text or "").splitlines():
        if any(m in line for m in SANITIZER_MARKS):
            return line
    return None


def wait_until(fn, timeout=WAIT, what="condition", interval=0.1):
    """Polls fn() until it returns a true value, which is returned."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = fn()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.0f s waiting for %s" %
                                 (timeout, what))
        time.sleep(interval)


STOP_SIGNALS = (1 << (signal.SIGINT - 1)) | (1 << (signal.SIGTERM - 1))


def _signal_wait(pid, timeout=30):
    """Until the main thread of `strait serve` sits in its signal wait
    (SIGTERM earlier than that may kill it instead of stopping it)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with open("/proc/%d/task/%d/status" % (pid, pid)) as f:
                for line in f:
                    if line.startswith("SigBlk:"):
                        if not int(line.split()[1], 16) & STOP_SIGNALS:
                            return True
        except OSError:
            return False
        time.sleep(0.01)
    return False


class FedNode:
    """One node: its home, its accounts, its server."""

    def __init__(self, root, name, country=None, node_name=None,
                 org=None):
        self.name = name
        self.home = os.path.join(str(root), name)
        self.country = country or name[:2].upper()
        self.node_name = node_name or name.upper()
        self.org = org or "Org of %s" % self.node_name
        self.tokens = {}
        self.serve_args = []  # more options of `strait serve`
        self.proc = None
        self.port = 0
        self.starts = 0
        self.s = requests.Session()
        self.s.headers["Accept"] = TAXII

    # --- the CLI ---------------------------------------------------------
    def cli(self, *args, stdin=None, check=True, timeout=180):
        env = dict(os.environ)
        env.pop("STRAIT_HOME", None)
        p = subprocess.run([BIN, "--home", self.home] + [str(a) for a in
                                                         args],
                           input=stdin, capture_output=True, text=True,
                           env=env, timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError("strait %s (%s) exited %d:\n%s%s" % (
                " ".join(str(a) for a in args), self.name, p.returncode,
                p.stdout, p.stderr[-3000:]))
        return p

    def cli_json(self, *args):
        return json.loads(self.cli(*(list(args) + ["--json"])).stdout)

    def init(self):
        self.cli("init", "--name", self.node_name, "--org", self.org,
                 "--country", self.country)
        info = self.cli_json("node", "show")
        self.identity = info["id"]
        self.public_key = info["public_key"]
        self.coll = info["collections"][0]["id"]
        self.tokens["analyst"] = self.add_account("analyst", "analyst")
        return self

    def add_account(self, name, role, org=None):
        args = ["user", "add", name, "--role", role]
        if org:
            args += ["--org", org]
        out = self.cli(*args).stdout
        m = re.search(r"strait_[A-Za-z0-9_-]{43}", out)
        assert m, out
        self.cli("collection", "grant", "default", name, "write")
        self.tokens[name] = m.group(0)
        return m.group(0)

    def account_for(self, other):
        """The peer account this node makes for partner `other`."""
        return self.add_account(other.name, "peer", other.org)

    # --- the server ------------------------------------------------------
    @property
    def log_path(self):
        return os.path.join(self.home, "serve-%d.log" % self.starts)

    def start(self, timeout=120):
        """Starts `strait serve`: on port 0 the first time, then on the
        port it had (a partner's URL names it)."""
        deadline = time.monotonic() + timeout
        while True:
            self.starts += 1
            out_path = os.path.join(self.home, "serve-%d.out" % self.starts)
            env = dict(os.environ)
            env.pop("STRAIT_HOME", None)
            with open(out_path, "w") as out, open(self.log_path, "w") as err:
                self.proc = subprocess.Popen(
                    [BIN, "--home", self.home, "serve", "--listen",
                     "127.0.0.1:%d" % self.port] + self.serve_args,
                    stdout=out, stderr=err,
                    env=env)
            url = None
            while url is None and self.proc.poll() is None:
                with open(out_path) as f:
                    m = re.search(r"(https?://[^ ]+/taxii2/)", f.read())
                if m:
                    url = m.group(1)
                elif time.monotonic() > deadline:
                    self.proc.kill()
                    raise AssertionError("%s did not start" % self.name)
                else:
                    time.sleep(0.01)
            if url is not None:
                break
            # It exited: the port may be held a moment longer; retry.
            if time.monotonic() > deadline or self.port == 0:
                raise AssertionError("%s did not start:\n%s" % (
                    self.name, self.log()))
            time.sleep(0.2)
        self.url = url
        self.base = url[:-len("taxii2/")]
        self.port = int(re.search(r":(\d+)/taxii2/$", url).group(1))
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def log(self, which=None):
        path = os.path.join(self.home, "serve-%d.log" % (which or
                                                         self.starts))
        try:
            with open(path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def all_logs(self):
        return "\n".join(self.log(i) for i in range(1, self.starts + 1))

    def stop(self, check=True, timeout=60):
        """SIGTERM; with check, a graceful exit (0) without a sanitizer
        report is asserted."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            _signal_wait(self.proc.pid)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("%s did not stop on SIGTERM:\n%s" % (
                    self.name, self.log()[-4000:]))
        rc = self.proc.returncode
        self.proc = None
        if check:
            log = self.log()
            assert rc == 0 and sanitizer_report(log) is None, \
                "%s exited %s:\n%s" % (self.name, rc, log[-4000:])
        return rc

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    # --- reading and writing -------------------------------------------
    def request(self, method, path, token=None, body=None, timeout=60):
        url = path if path.startswith("http") else self.base + path
        headers = {"Authorization": "Bearer " +
                   (token or self.tokens["analyst"])}
        data = None
        if body is not None:
            headers["Content-Type"] = TAXII
            data = json.dumps(body)
        return self.s.request(method, url, headers=headers, data=data,
                              timeout=timeout)

    def objects_url(self, suffix=""):
        return "taxii2/root/collections/%s/objects/%s" % (self.coll, suffix)

    def import_objects(self, objects, *extra, path=None):
        path = path or os.path.join(self.home, "import-%s.json" %
                                    uuid.uuid4().hex[:8])
        with open(path, "w") as f:
            json.dump(bundle(objects), f)
        return self.cli("import", "--quiet", *extra, path)

    def export(self):
        """Every stored version of the default collection, in log order:
        a list of (id, version) (version None for an SCO). The node's own
        identity, made by init, is in no collection."""
        doc = json.loads(self.cli("export", "--all-versions").stdout)
        return [(o["id"], norm_ts(o.get("modified") or o["created"])
                 if "created" in o else None)
                for o in doc.get("objects", [])]

    def held_ids(self):
        return {i for i, _ in self.export()}

    def has(self, oid):
        return self.cli("get", oid, check=False).returncode == 0

    def get_json(self, oid):
        return self.cli_json("get", oid, "--version", "all")

    def versions_count(self):
        return self.cli_json("node", "show")["versions"]

    def peer_status(self, name):
        for p in self.cli_json("peer", "status"):
            if p["name"] == name:
                return p
        raise AssertionError("%s has no peer %s" % (self.name, name))

    def quarantine(self):
        return self.cli_json("quarantine", "list")

    def sent(self, peer):
        return self.cli_json("peer", "sent", peer)


def policy_text(tlp, relay_green=False, default_tlp=None, extra=""):
    text = ("tlp: [%s]\ncollections: [\"*\"]\ntypes: [\"*\"]\n"
            "labels: [\"*\"]\nrelay_green: %s\n" % (
                ", ".join(tlp), "true" if relay_green else "false"))
    if default_tlp:
        text += "default_tlp: %s\n" % default_tlp
    return text + extra


def write_policy(node, peer_name, text):
    path = os.path.join(node.home, "policy-%s-%s.yaml" % (
        peer_name, uuid.uuid4().hex[:6]))
    with open(path, "w") as f:
        f.write(text)
    return path


def link(a, b, tlp, relay_green=False, default_tlp=None, url=None,
         trust="attested", key=None, token=None, name=None, policy=True):
    """Registers b as a partner of a (a sends b what `tlp` grants).
    b's peer account for a must exist (b.account_for(a)) unless a token
    is given."""
    name = name or b.name
    args = ["peer", "add", name, "--url", url or b.url, "--key",
            key or b.public_key, "--token", "-", "--trust", trust]
    if policy:
        args += ["--policy", write_policy(a, name, policy_text(
            tlp, relay_green, default_tlp))]
    a.cli(*args, stdin=(token or b.tokens[a.name]) + "\n")


def set_policy(a, name, tlp, relay_green=False, default_tlp=None):
    a.cli("peer", "policy", name, write_policy(a, name, policy_text(
        tlp, relay_green, default_tlp)))


def wait_linked(a, names, timeout=WAIT):
    """Until a's senders have learnt each named partner's identity."""
    def ok():
        st = {p["name"]: p for p in a.cli_json("peer", "status")}
        return all(st[n]["identity"] for n in names)
    wait_until(ok, timeout, "%s to reach %s" % (a.name, ", ".join(names)))


def wait_held(node, ids, timeout=WAIT, what=None):
    ids = set(ids)
    wait_until(lambda: ids <= node.held_ids(), timeout,
               what or "%d objects at %s" % (len(ids), node.name),
               interval=0.1)


# ---------------------------------------------------------------------------
# A small HTTP server in a thread (127.0.0.1, port 0) with a handler
# function: handler(method, path, headers, body) -> (status, headers, body)
# where body is bytes, or an iterable of bytes sent without a length.


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def _serve(self, method):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        srv = self.server.owner
        with srv.lock:
            srv.requests.append((method, self.path))
        try:
            status, headers, payload = srv.handler(method, self.path,
                                                   self.headers, body)
        except Exception as e:  # a bug of the test server: show it
            status, headers, payload = 500, {}, repr(e).encode()
        self.send_response_only(status)
        headers = dict(headers)
        headers.setdefault("Date", self.date_time_string())
        for k, v in headers.items():
            self.send_header(k, v)
        if isinstance(payload, (bytes, bytearray)):
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        else:  # streamed until the connection closes
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            try:
                for chunk in payload:
                    self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")


class TestServer:
    def __init__(self, handler):
        self.handler = handler
        self.requests = []
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.owner = self
        self.port = self.httpd.server_address[1]
        self.origin = "http://127.0.0.1:%d" % self.port
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       daemon=True)
        self.thread.start()

    def paths(self):
        with self.lock:
            return [p for _, p in self.requests]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def json_reply(doc, status=200, headers=None):
    h = {"Content-Type": TAXII}
    h.update(headers or {})
    return status, h, json.dumps(doc).encode()


def status_reply(n):
    return json_reply({"id": str(uuid.uuid4()), "status": "complete",
                       "total_count": n, "success_count": n,
                       "successes": [], "failure_count": 0, "failures": [],
                       "pending_count": 0, "pendings": []}, 202)


class Sink:
    """A TAXII server that a strait node pushes to: it keeps every
    envelope, so the test holds objects with the node's real, signed
    attestations beside them."""

    COLL = "5a1f3c0e-7b2d-4e8a-9c61-0d2e4f6a8b1c"

    def __init__(self, identity, public_key):
        self.identity = identity
        self.public_key = public_key
        self.envelopes = []
        self.srv = TestServer(self.handle)
        self.url = self.srv.origin + "/taxii2/"

    def handle(self, method, path, headers, body):
        if path == "/taxii2/":
            return json_reply({"title": "sink", "default": "/root/",
                               "api_roots": ["/root/"]})
        if path == "/api/v1/node":
            return json_reply({"id": self.identity,
                               "public_key": self.public_key})
        if path == "/root/collections/":
            return json_reply({"collections": [{
                "id": self.COLL, "title": "inbox", "can_read": False,
                "can_write": True}]})
        if method == "POST" and path == "/root/collections/%s/objects/" % \
                self.COLL:
            env = json.loads(body)
            self.envelopes.append(env)
            return status_reply(len(env.get("objects", [])))
        return json_reply({"title": "not found"}, 404)

    def objects(self):
        out = []
        for e in self.envelopes:
            out += e.get("objects", [])
        return out

    def close(self):
        self.srv.close()


# ---------------------------------------------------------------------------
# The kill -9 loop: KR pushes a stream of objects to JP (and US), while
# KR's server or JP's is killed with SIGKILL at a random moment and
# started again on the same home and port.

SOAK_POLICIES = {
    ("kr", "jp"): (["clear", "green", "amber", "amber+strict"], True),
    ("kr", "us"): (["clear", "green", "amber"], False),
    ("jp", "kr"): (["clear", "green", "amber"], False),
    ("jp", "us"): (["clear", "green", "amber"], False),
    ("us", "kr"): (["clear", "green", "amber"], False),
    ("us", "jp"): (["clear", "green", "amber"], False),
}


def soak_expected(versions):
    """What each node should hold of KR's versions [(id, ver, tlp)]:
    JP what KR's policy for JP admits; US what KR's policy for US admits
    (JP relays only CLEAR and, KR allowing it, GREEN: already there)."""
    jp = {(i, v) for i, v, t in versions
          if t in SOAK_POLICIES[("kr", "jp")][0]}
    us = {(i, v) for i, v, t in versions
          if t in SOAK_POLICIES[("kr", "us")][0]}
    kr = {(i, v) for i, v, _ in versions}
    return {"kr": kr, "jp": jp, "us": us}


NODES = {"kr": ("KR", "NCSC", "National Cyber Security Center"),
         "jp": ("JP", "NISC", "National center of Incident readiness and "
                "Strategy for Cybersecurity"),
         "us": ("US", "CISA", "Cybersecurity and Infrastructure Security "
                "Agency")}


def triangle(root, policies, names=("kr", "jp", "us"), make=None):
    """Nodes (KR, JP, US by default), each with a peer account for the
    others, started and linked with policies[(a, b)] = (tlp list,
    relay_green); a's sender knows b's identity on return. make(name,
    country, node name, org) makes an initialised node (FedNode's)."""
    make = make or (lambda *a: FedNode(root, *a).init())
    nodes = {n: make(n, *NODES[n]) for n in names}
    for a in nodes.values():
        for b in nodes.values():
            if a is not b:
                a.account_for(b)
    for n in nodes.values():
        n.start()
    # Every partner's key is registered everywhere before any policy lets
    # a sender push: otherwise a node may relay a third node's object to
    # a partner that does not know that node's key yet, which refuses it
    # (a dead letter the test did not ask for).
    for (a, b) in policies:
        link(nodes[a], nodes[b], None, policy=False)
    for (a, b), (tlp, relay) in policies.items():
        set_policy(nodes[a], b, tlp, relay)
    for a in nodes.values():
        wait_linked(a, [b for (x, b) in policies if x == a.name])
    return nodes


class _Feeder(threading.Thread):
    """Imports small bundles at KR back to back (`strait import`, which
    works whether KR's server is up or not) until stopped: the stream
    KR's sender pushes. Some objects get a new version later."""

    def __init__(self, node, rnd, per_batch, root):
        super().__init__(daemon=True)
        self.node, self.rnd, self.per_batch = node, rnd, per_batch
        self.root = root
        self.stop = threading.Event()
        self.versions = []  # (id, version, tlp) stored at KR
        self.error = None

    def run(self):
        latest = []  # ids that may get a new version
        k = last_ms = 0
        try:
            while not self.stop.is_set():
                batch, seen = [], set()
                for _ in range(self.rnd.randint(*self.per_batch)):
                    tlp = self.rnd.choice(LEVELS)
                    oid = None
                    if latest and self.rnd.random() < 0.2:
                        oid = self.rnd.choice(latest)
                        if oid in seen:
                            continue
                    # versions are by `modified`: each one later than
                    # any before it
                    last_ms = max(int(time.time() * 1000), last_ms + 1)
                    o = indicator(tlp, oid=oid, modified=stamp(
                        t=last_ms / 1000.0),
                        created="2026-01-01T00:00:00.000Z")
                    seen.add(o["id"])
                    if oid is None:
                        latest.append(o["id"])
                    batch.append((o, tlp))
                k += 1
                path = os.path.join(self.root, "stream-%d.json" % k)
                with open(path, "w") as f:
                    json.dump(bundle([o for o, _ in batch]), f)
                p = subprocess.run([BIN, "--home", self.node.home, "import",
                                    "--quiet", path], capture_output=True,
                                   text=True, timeout=300)
                if p.returncode != 0:
                    raise AssertionError("import at %s exited %d: %s%s" % (
                        self.node.name, p.returncode, p.stdout, p.stderr))
                self.versions += [(o["id"], version_of(o), t)
                                  for o, t in batch]
                time.sleep(0.002)
        except Exception as e:  # reported by the caller
            self.error = e


def kill9_soak(root, rounds=100, seed=None, log=print, per_batch=(5, 30),
               converge_timeout=None):
    """Runs the loop; returns a summary dict: rounds, kills (per node),
    busy_kills (KR had versions not yet delivered to JP), objects
    (versions imported at KR), losses, duplicates, extras, quarantined,
    seconds, seed, stops (exit status of the final SIGTERM), sanitizer
    (first report in each node's logs) and the nodes (stopped)."""
    seed = seed if seed is not None else random.randrange(1 << 30)
    rnd = random.Random(seed)
    t0 = time.monotonic()
    nodes = triangle(root, SOAK_POLICIES)
    kr = nodes["kr"]
    kills = {"kr": 0, "jp": 0}
    busy = 0
    feeder = _Feeder(kr, random.Random(rnd.random()), per_batch, str(root))
    try:
        feeder.start()
        for r in range(rounds):
            time.sleep(rnd.uniform(0.02, 0.3))
            if feeder.error:
                raise feeder.error
            victim = nodes[rnd.choice(["kr", "jp"])]
            try:
                lag = kr.peer_status("jp")["lag_objects"]
            except (AssertionError, ValueError):
                lag = 0
            busy += 1 if lag > 0 else 0
            victim.kill()
            kills[victim.name] += 1
            time.sleep(rnd.uniform(0.0, 0.1))
            victim.start()
            if (r + 1) % 10 == 0:
                log("  round %d/%d: %d versions imported at kr" % (
                    r + 1, rounds, len(feeder.versions)))
        feeder.stop.set()
        feeder.join()
        if feeder.error:
            raise feeder.error
        versions = feeder.versions
        expected = soak_expected(versions)
        ours = {i for i, _, _ in versions}
        timeout = converge_timeout or max(WAIT, 3 * WAIT * len(versions) /
                                          2000.0)

        def held(n):
            return [k for k in nodes[n].export() if k[0] in ours]

        def converged():
            return all(set(held(n)) >= expected[n] for n in nodes)
        try:
            wait_until(converged, timeout, "the nodes to converge",
                       interval=0.5)
        except AssertionError:
            pass  # counted as losses below
        # Late duplicates or leaks: each node makes one object after the
        # stream; it reaching the others means their queues passed
        # everything before it.
        marks = {}
        for n in nodes.values():
            o = indicator("clear", name="end of soak at %s" % n.name)
            n.import_objects([o])
            marks[n.name] = o["id"]
        for n in nodes.values():
            try:
                wait_held(n, [m for k, m in marks.items() if k != n.name],
                          timeout)
            except AssertionError:
                pass
        losses = duplicates = extras = 0
        detail = {}
        for n in nodes:
            h = held(n)
            got = set(h)
            dup = len(h) - len(got)
            lost = expected[n] - got
            extra = got - expected[n]
            losses += len(lost)
            duplicates += dup
            extras += len(extra)
            detail[n] = {"held": len(got), "expected": len(expected[n]),
                         "lost": sorted(lost)[:5], "extra":
                         sorted(extra)[:5], "duplicates": dup}
        quarantined = {n: len(nodes[n].quarantine()) for n in nodes}
    finally:
        feeder.stop.set()
        stops = {}
        for n in nodes.values():
            try:
                stops[n.name] = n.stop(check=False)
            except AssertionError as e:
                stops[n.name] = str(e)
    reports = {n.name: sanitizer_report(n.all_logs()) for n in
               nodes.values()}
    return {"rounds": rounds, "kills": kills, "busy_kills": busy,
            "objects": len(versions), "losses": losses,
            "duplicates": duplicates, "extras": extras,
            "quarantined": quarantined, "detail": detail,
            "seconds": time.monotonic() - t0, "seed": seed,
            "stops": stops, "sanitizer": reports, "nodes": nodes}


def soak_line(s):
    return ("soak: rounds=%d kills=kr:%d,jp:%d (%d while KR had versions "
            "not yet delivered to JP) "
            "objects=%d losses=%d duplicates=%d extras=%d quarantined=%d "
            "time=%.1fs seed=%d" % (
                s["rounds"], s["kills"]["kr"], s["kills"]["jp"],
                s["busy_kills"], s["objects"], s["losses"],
                s["duplicates"], s["extras"],
                sum(s["quarantined"].values()), s["seconds"], s["seed"]))
