"""The live stream (Server-Sent Events) and /metrics: delivery in order and
exactly once, resume without gap or duplicate, opaque cursors, what each
organisation may receive, heartbeats, caps, revocation, slow consumers,
graceful stop; and who may read the metrics."""
import json
import re
import signal
import socket
import threading
import time
import uuid

import pytest
import requests

from conftest import indicator
from taxii_fixtures import (Client, Server, add_user, collection_id,
                            stop_clean)

TLP = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict":
        "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
UNKNOWN_MARKING = "marking-definition--0f3a2d6e-5b1c-4e8f-9a7d-2c4b6e8f0a13"
CURSOR_RE = re.compile(r"^[A-Za-z0-9_-]{76}$")


class Sub:
    """One SSE subscription read on a thread: events, comments, and
    whether (and when) the server ended it."""

    def __init__(self, server, token, coll, params=None, headers=None,
                 path=None):
        h = {"Authorization": "Bearer %s" % token,
             "Accept": "text/event-stream"}
        h.update(headers or {})
        url = server.base + (path or "api/v1/collections/%s/stream" % coll)
        self.events, self.comments, self.id_only = [], [], []
        self.ended_at = None
        self.error = None
        self.done = threading.Event()
        self.r = requests.get(url, headers=h, params=params, stream=True,
                              timeout=(5, 60))
        self.status = self.r.status_code
        if self.status != 200:
            self.body = self.r.content
            self.r.close()
            self.done.set()
            return
        self.opened = threading.Event()
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()
        assert self.opened.wait(5), "no first comment from the stream"

    def _run(self):
        ev = {}
        try:
            for raw in self.r.iter_lines(chunk_size=None):
                line = raw.decode("utf-8")
                if line == "":
                    if "data" in ev:
                        self.events.append(ev)
                    elif "id" in ev:
                        self.id_only.append(ev["id"])
                    ev = {}
                elif line.startswith(":"):
                    self.comments.append(line)
                    self.opened.set()
                else:
                    field, _, value = line.partition(":")
                    if value.startswith(" "):
                        value = value[1:]
                    if field == "data" and "data" in ev:
                        ev["data"] += "\n" + value
                    else:
                        ev[field] = value
        except Exception as e:  # noqa: BLE001 (closed by us, or reset)
            self.error = e
        finally:
            self.ended_at = time.monotonic()
            self.opened.set()
            self.done.set()

    def objects(self):
        return [json.loads(e["data"]) for e in self.events]

    def ids(self):
        return [o["id"] for o in self.objects()]

    def wait(self, n, timeout=10):
        deadline = time.monotonic() + timeout
        while len(self.events) < n and time.monotonic() < deadline:
            if self.done.is_set():
                break
            time.sleep(0.02)
        return len(self.events) >= n

    def close(self):
        # Shut the socket down first: closing the response alone waits for
        # the reading thread's read to return (the next heartbeat).
        conn = getattr(self.r.raw, "_connection", None)
        sock = getattr(conn, "sock", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        assert self.done.wait(5), "the reader did not stop"
        self.r.close()


@pytest.fixture
def srv(node):
    node.admin = add_user(node, "admin", "admin")
    node.coll = collection_id(node)
    s = Server(node)
    yield s
    stop_clean(s)


def post(client, coll, objs):
    r = client.post("collections/%s/objects/" % coll, {"objects": objs})
    assert r.status_code == 202, r.text
    assert r.json()["success_count"] == len(objs), r.text
    return [o["id"] for o in objs]


def quiet(sub, seconds=0.5):
    """Nothing more arrives for a while (a duplicate would)."""
    n = len(sub.events)
    time.sleep(seconds)
    return len(sub.events) == n


# ------------------------------------------------------------ delivery


def test_live_objects_in_order_exactly_once(srv, node):
    c = Client(srv, node.admin)
    before = post(c, node.coll, [indicator() for _ in range(2)])
    sub = Sub(srv, node.admin, node.coll)
    assert sub.r.headers["Content-Type"] == "text/event-stream"
    assert sub.r.headers["Cache-Control"] == "no-store"
    sent = post(c, node.coll, [indicator() for _ in range(3)])
    sent += post(c, node.coll, [indicator() for _ in range(4)])
    assert sub.wait(7), sub.events
    assert quiet(sub)
    assert sub.ids() == sent            # in order, once, none from before
    assert not set(before) & set(sub.ids())
    for e in sub.events:
        assert e["event"] == "object"
        assert CURSOR_RE.match(e["id"]), e["id"]
    assert len({e["id"] for e in sub.events}) == 7
    # the data is the stored canonical JSON, as TAXII serves it
    one = c.get("collections/%s/objects/%s/" % (node.coll, sent[0]))
    assert json.loads(sub.events[0]["data"]) == one.json()["objects"][0]
    sub.close()


def test_route_forms_and_accept(srv, node):
    base = "api/v1/collections/%s/stream" % node.coll
    for path in (base, base + "/"):
        s = Sub(srv, node.admin, node.coll, path=path)
        assert s.status == 200, path
        s.close()
    s = Sub(srv, node.admin, node.coll, headers={"Accept": "*/*"})
    assert s.status == 200
    s.close()
    s = Sub(srv, node.admin, node.coll,
            headers={"Accept": "application/json"})
    assert s.status == 406
    assert json.loads(s.body)["http_status"] == "406"
    r = requests.get(srv.base + base, timeout=10)
    assert r.status_code == 401
    missing = str(uuid.uuid4())
    assert Sub(srv, node.admin, missing).status == 404
    assert Sub(srv, node.admin, "default").status == 404  # ids only


def test_resume_with_last_event_id_no_gap_no_duplicate(srv, node):
    c = Client(srv, node.admin)
    sub = Sub(srv, node.admin, node.coll)
    first = post(c, node.coll, [indicator() for _ in range(3)])
    assert sub.wait(3)
    cursors = [e["id"] for e in sub.events]
    sub.close()
    missed = post(c, node.coll, [indicator() for _ in range(4)])
    # Last-Event-ID, as EventSource sends it when it reconnects
    again = Sub(srv, node.admin, node.coll,
                headers={"Last-Event-ID": cursors[-1]})
    assert again.wait(4) and quiet(again)
    assert again.ids() == missed
    later = post(c, node.coll, [indicator()])
    assert again.wait(5) and again.ids() == missed + later
    again.close()
    # ?from= with an earlier cursor: strictly after it
    mid = Sub(srv, node.admin, node.coll, params={"from": cursors[0]})
    assert mid.wait(7) and quiet(mid)
    assert mid.ids() == first[1:] + missed + later
    mid.close()
    # the header wins over ?from= (a reconnecting EventSource keeps its URL)
    both = Sub(srv, node.admin, node.coll, params={"from": "start"},
               headers={"Last-Event-ID": cursors[-1]})
    assert both.wait(5) and quiet(both)
    assert both.ids() == missed + later
    both.close()


def test_from_start_replays_and_default_is_now(srv, node):
    c = Client(srv, node.admin)
    old = post(c, node.coll, [indicator() for _ in range(3)])
    now = Sub(srv, node.admin, node.coll)
    assert quiet(now, 0.3) and now.events == []
    new = post(c, node.coll, [indicator()])
    assert now.wait(1) and quiet(now) and now.ids() == new
    start = Sub(srv, node.admin, node.coll, params={"from": "start"})
    # the default collection also holds the node's identity
    assert start.wait(4) and quiet(start)
    assert [i for i in start.ids() if i.startswith("indicator--")] == \
        old + new
    explicit = Sub(srv, node.admin, node.coll, params={"from": "now"})
    assert quiet(explicit, 0.3) and explicit.events == []
    for s in (now, start, explicit):
        s.close()


def test_forged_foreign_and_stale_cursors_are_400(srv, node):
    c = Client(srv, node.admin)
    sub = Sub(srv, node.admin, node.coll)
    post(c, node.coll, [indicator() for _ in range(2)])
    assert sub.wait(2)
    good = sub.events[0]["id"]
    sub.close()
    other_admin = add_user(node, "admin2", "admin")
    inbox = node.run("collection", "add", "Inbox", "--alias", "inbox",
                     check=0).out.strip()
    flipped = good[:50] + ("A" if good[50] != "A" else "B") + good[51:]
    # a TAXII paging token of the same account is not a stream cursor
    env = c.get("collections/%s/objects/?limit=1" % node.coll).json()
    assert env["more"]
    cases = [
        (node.admin, node.coll, "A" * 76),         # forged
        (node.admin, node.coll, flipped),          # altered
        (node.admin, node.coll, "x"),              # malformed
        (node.admin, node.coll, "A" * 600),        # too long
        (other_admin, node.coll, good),            # another account
        (node.admin, inbox, good),                 # another collection
        (node.admin, node.coll, env["next"]),      # a paging token
    ]
    for tok, coll, cur in cases:
        for how in ("header", "query"):
            if how == "header":
                s = Sub(srv, tok, coll, headers={"Last-Event-ID": cur})
            else:
                s = Sub(srv, tok, coll, params={"from": cur})
            assert s.status == 400, (cur[:20], how)
            body = json.loads(s.body)
            assert body["http_status"] == "400"
            assert "objects" not in body


# ------------------------------------------------------------ who sees what


ACCOUNTS = (("own-reader", "reader", None),
            ("ext-reader", "reader", "PARTNER"),
            ("ext-analyst", "analyst", "PARTNER"),
            ("peer", "peer", "JP-NODE"),
            ("auditor", "auditor", None))
EXPECT = {
    "admin": {"clear", "green", "amber", "amber+strict", "unknown"},
    "own-reader": {"clear", "green", "amber", "amber+strict"},
    "auditor": {"clear", "green", "amber", "amber+strict"},
    "ext-reader": {"clear", "green"},
    "ext-analyst": {"clear", "green", "amber"},
    "peer": set(),
}


def test_release_decision_per_subscriber(srv, node):
    admin = Client(srv, node.admin)
    tokens = {"admin": node.admin}
    for name, role, org in ACCOUNTS:
        tokens[name] = add_user(node, name, role, org=org)
        node.run("collection", "grant", node.coll, name, "read", check=0)
    # a stranger without a grant cannot open the stream at all
    stranger = add_user(node, "stranger", "analyst")
    time.sleep(0.6)  # the server re-reads accounts every half second
    assert Sub(srv, stranger, node.coll).status == 404
    subs = {who: Sub(srv, tok, node.coll) for who, tok in tokens.items()}
    # Every level, three rounds, interleaved: hidden objects sit between
    # visible ones.
    levels, order = [], []
    for rnd in range(3):
        objs = []
        for level, ref in list(TLP.items()) + [("unknown", UNKNOWN_MARKING)]:
            o = indicator(marking=ref, name="%s-%d" % (level, rnd))
            objs.append(o)
            levels.append(level)
            order.append(o["id"])
        post(admin, node.coll, objs)
    by_id = dict(zip(order, levels))
    for who, s in subs.items():
        want = [i for i in order if by_id[i] in EXPECT[who]]
        assert s.wait(len(want)) and quiet(s, 0.3), who
        assert s.ids() == want, who
        # ids are all alike and nothing else was sent for hidden objects
        assert all(CURSOR_RE.match(e["id"]) for e in s.events), who
        assert s.id_only == [] and s.comments == [": stream open"], who
        s.close()


def test_heartbeats_during_silence(node):
    node.admin = add_user(node, "admin", "admin")
    coll = collection_id(node)
    s = Server(node, "--stream-heartbeat-ms", "200")
    try:
        sub = Sub(s, node.admin, coll)
        time.sleep(1.5)
        beats = [x for x in sub.comments if x == ": keepalive"]
        assert 4 <= len(beats) <= 9, sub.comments
        assert sub.events == [] and not sub.done.is_set()
        # an object is still delivered between heartbeats
        ids = post(Client(s, node.admin), coll, [indicator()])
        assert sub.wait(1) and sub.ids() == ids
        sub.close()
    finally:
        stop_clean(s)
    # with the default (15 s), a quiet second carries no heartbeat
    s = Server(node)
    try:
        sub = Sub(s, node.admin, coll)
        time.sleep(1.0)
        assert sub.comments == [": stream open"]
        sub.close()
    finally:
        stop_clean(s)


# ------------------------------------------------------------ caps


def test_per_account_stream_cap(node):
    node.admin = add_user(node, "admin", "admin")
    node.coll = collection_id(node)
    # A subscriber that went away is noticed at the next write (an event
    # or a heartbeat): a short heartbeat gives its slot back quickly.
    srv = Server(node, "--stream-heartbeat-ms", "300")
    try:
        cap_test(srv, node)
    finally:
        stop_clean(srv)


def cap_test(srv, node):
    other = add_user(node, "other", "admin")
    subs = [Sub(srv, node.admin, node.coll) for _ in range(8)]
    assert all(s.status == 200 for s in subs)
    over = Sub(srv, node.admin, node.coll)
    assert over.status == 429
    assert int(over.r.headers["Retry-After"]) >= 1
    assert json.loads(over.body)["http_status"] == "429"
    # another account is not affected, nor are the account's other reads
    o = Sub(srv, other, node.coll)
    assert o.status == 200
    assert Client(srv, node.admin).get(srv.root).status_code == 200
    subs[0].close()
    deadline, status = time.monotonic() + 5, None
    while time.monotonic() < deadline:
        again = Sub(srv, node.admin, node.coll)
        status = again.status
        if status == 200:
            subs.append(again)
            break
        time.sleep(0.1)
    assert status == 200, "a closed stream must give its slot back"
    for s in subs[1:] + [o]:
        s.close()


def test_closed_stream_frees_its_slot_at_once(node):
    """With the default heartbeat (15 s) nothing is written to a quiet
    stream, yet a subscriber that closes gives its per-account slot (and
    its connection's thread) back within about a second: the server looks
    at the socket while the stream waits."""
    node.admin = add_user(node, "admin", "admin")
    node.coll = collection_id(node)
    srv = Server(node)
    try:
        c = Client(srv, node.admin)
        subs = [Sub(srv, node.admin, node.coll) for _ in range(8)]
        assert all(s.status == 200 for s in subs)
        assert Sub(srv, node.admin, node.coll).status == 429
        assert metric(c, srv, "strait_stream_subscribers") == 8
        t0 = time.monotonic()
        subs[0].close()
        status, elapsed = None, None
        while time.monotonic() - t0 < 5:
            again = Sub(srv, node.admin, node.coll)
            status = again.status
            if status == 200:
                elapsed = time.monotonic() - t0
                subs.append(again)
                break
            time.sleep(0.05)
        assert status == 200, "a closed stream must give its slot back"
        assert elapsed < 2.0, elapsed
        assert metric(c, srv, "strait_stream_subscribers") == 8
        for s in subs[1:]:
            s.close()
    finally:
        stop_clean(srv)
    assert "route=stream end=client-closed" in srv.log, srv.log[-2000:]


def test_global_stream_cap(node):
    node.admin = add_user(node, "admin", "admin")
    coll = collection_id(node)
    s = Server(node, "--stream-max", "2")
    try:
        a = Sub(s, node.admin, coll)
        b = Sub(s, add_user(node, "b", "admin"), coll)
        assert a.status == 200 and b.status == 200
        c = Sub(s, add_user(node, "c", "admin"), coll)
        assert c.status == 503 and int(c.r.headers["Retry-After"]) >= 1
        a.close()
        b.close()
    finally:
        stop_clean(s)


# ------------------------------------------------------------ revocation


def ended_within(sub, seconds):
    t0 = time.monotonic()
    return sub.done.wait(seconds) and sub.ended_at - t0 <= seconds


@pytest.mark.parametrize("change", [
    ("user", "disable", "temp"),
    ("user", "token", "temp"),
    ("user", "remove", "temp"),
    ("collection", "grant", "{coll}", "temp", "none"),
])
def test_revocation_ends_open_streams(srv, node, change):
    tok = add_user(node, "temp", "analyst")
    node.run("collection", "grant", node.coll, "temp", "read", check=0)
    deadline = time.monotonic() + 5
    sub = None
    while time.monotonic() < deadline:
        sub = Sub(srv, tok, node.coll)
        if sub.status == 200:
            break
        time.sleep(0.1)
    assert sub.status == 200
    keep = Sub(srv, node.admin, node.coll)   # unaffected bystander
    args = [a.replace("{coll}", node.coll) for a in change]
    t0 = time.monotonic()
    node.run(*args, check=0)
    assert sub.done.wait(3), "stream still open 3 s after %s" % (change,)
    latency = sub.ended_at - t0
    assert latency < 3, latency
    # nothing reaches the revoked account, the bystander goes on
    ids = post(Client(srv, node.admin), node.coll, [indicator()])
    assert keep.wait(1) and keep.ids() == ids
    assert sub.events == []
    assert not keep.done.is_set()
    keep.close()


# ------------------------------------------------------------ big and slow


def test_object_larger_than_the_buffer(srv, node):
    c = Client(srv, node.admin)
    sub = Sub(srv, node.admin, node.coll)
    big = indicator(description="d" * 900000, x_pad="p" * 900000)
    small = indicator()
    ids = post(c, node.coll, [big, small])
    assert sub.wait(2, timeout=20) and quiet(sub)
    assert sub.ids() == ids
    got = sub.objects()[0]
    assert got["description"] == big["description"]
    assert got["x_pad"] == big["x_pad"]
    # resume after the big one gives only the small one
    again = Sub(srv, node.admin, node.coll,
                headers={"Last-Event-ID": sub.events[0]["id"]})
    assert again.wait(1) and quiet(again) and again.ids() == ids[1:]
    sub.close()
    again.close()


def metric(client, server, name):
    r = client.get(server.base + "metrics")
    assert r.status_code == 200
    m = re.search(r"^%s (\d+)$" % re.escape(name), r.text, re.M)
    return int(m.group(1))


def test_slow_consumer_is_disconnected(node):
    node.admin = add_user(node, "admin", "admin")
    coll = collection_id(node)
    s = Server(node, "--idle-timeout", "2")
    try:
        c = Client(s, node.admin)
        # ~12 MB of objects: more than the socket buffers hold
        for k in range(3):
            post(c, coll, [indicator(description="%d-%d " % (k, i)
                                     + "z" * 100000) for i in range(40)])
        host, port = s.base.split("//")[1].rstrip("/").split(":")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(5)
        sock.connect((host, int(port)))
        sock.sendall(("GET /api/v1/collections/%s/stream?from=start "
                      "HTTP/1.1\r\nHost: %s:%s\r\nAuthorization: Bearer %s"
                      "\r\nAccept: text/event-stream\r\n\r\n"
                      % (coll, host, port, node.admin)).encode())
        assert sock.recv(12).startswith(b"HTTP/1.1 200")
        # ... and never reads again. The server stays responsive and drops
        # the subscriber once it has taken nothing for the idle timeout.
        t0 = time.monotonic()
        saw_open, gone = False, False
        while time.monotonic() - t0 < 20:
            t1 = time.monotonic()
            n = metric(c, s, "strait_stream_subscribers")
            assert time.monotonic() - t1 < 1.0, "server not responsive"
            saw_open |= n == 1
            if saw_open and n == 0:
                gone = True
                break
            time.sleep(0.2)
        assert saw_open and gone, "slow consumer still connected"
        elapsed = time.monotonic() - t0
        assert elapsed >= 1.5, elapsed   # it was the timeout, not at once
        sock.close()
    finally:
        stop_clean(s)
    assert "route=stream end=timeout" in s.log, s.log[-2000:]


def test_graceful_stop_with_open_streams(node):
    node.admin = add_user(node, "admin", "admin")
    coll = collection_id(node)
    s = Server(node)
    subs = [Sub(s, node.admin, coll) for _ in range(3)]
    subs.append(Sub(s, node.admin, coll, params={"from": "start"}))
    t0 = time.monotonic()
    stop_clean(s, signal.SIGTERM)
    assert time.monotonic() - t0 < 3
    for sub in subs:
        assert sub.done.wait(3)
    assert "route=stream" in s.log


# ------------------------------------------------------------ metrics


def test_metrics_for_admin_and_metrics_accounts_only(srv, node):
    admin = Client(srv, node.admin)
    post(admin, node.coll, [indicator()])
    sub = Sub(srv, node.admin, node.coll)
    for path in ("metrics", "metrics/"):
        r = admin.get(srv.base + path)
        assert r.status_code == 200, path
        assert r.headers["Content-Type"].startswith(
            "text/plain; version=0.0.4")
        text = r.text
        assert re.search(r'^strait_http_requests_total\{route="objects_add",'
                         r'code="202"\} 1$', text, re.M), text
        assert re.search(r'^strait_http_request_duration_seconds_bucket\{'
                         r'route="objects_add",le="\+Inf"\} 1$', text, re.M)
        assert re.search(r"^strait_stream_subscribers 1$", text, re.M)
        assert re.search(r"^strait_store_versions \d+$", text, re.M)
        assert re.search(r"^strait_store_size_bytes [1-9]\d*$", text, re.M)
        assert re.search(r"^process_resident_memory_bytes [1-9]\d*$", text,
                         re.M)
        assert re.search(r"^process_start_time_seconds [1-9]", text, re.M)
        assert "# TYPE strait_http_request_duration_seconds histogram" \
            in text
    sub.close()
    reader = Client(srv, add_user(node, "r", "reader"))
    r = reader.get(srv.base + "metrics")
    assert r.status_code == 403
    assert "strait_" not in r.text
    auditor = Client(srv, add_user(node, "aud", "auditor"))
    assert auditor.get(srv.base + "metrics").status_code == 403
    assert auditor.get(srv.base + "api/v1/health").status_code == 403
    scraper = Client(srv, add_user(node, "prom", "metrics"))
    r = scraper.get(srv.base + "metrics")
    assert r.status_code == 200
    assert re.search(r"^strait_store_versions \d+$", r.text, re.M)
    assert scraper.get(srv.base + "api/v1/health").status_code == 200
    # a scraper reads no collection, and cannot be granted one
    assert scraper.get("collections/").json().get("collections", []) == []
    assert scraper.get("collections/%s/objects/" % node.coll
                       ).status_code in (403, 404)
    r = node.run("collection", "grant", "default", "prom", "read")
    assert r.rc != 0 and "metrics account" in r.err
    assert requests.get(srv.base + "metrics", timeout=10).status_code == 401
    # TAXII routes keep their trailing slash
    assert admin.get("collections/%s/objects" % node.coll
                     ).status_code == 404
    assert admin.get(srv.base + "api/v1/health").status_code == 200
