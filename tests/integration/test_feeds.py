"""strait feed: MISP, CSV and STIX feeds pulled over HTTP, by hand and by
`strait serve` on a schedule; conditional requests, changed MISP events
only, allowed hosts, redirects, size limits, status."""
import copy
import hashlib
import http.server
import json
import os
import re
import threading
import time

import pytest

from conftest import SRC, bundle, indicator
from taxii_fixtures import Server, stop_clean

IDENTITY = "identity--2d1c6ab3-5e4f-4503-ab95-87d5f4c2f4a1"
GOLDEN_EVENT = os.path.join(SRC, "tests", "golden", "misp", "event.json")


class Feeds:
    """A local HTTP server for feed files: ETag and Last-Modified on every
    file, 304 for a matching If-None-Match or If-Modified-Since, redirects
    by table, and a log of every request."""

    def __init__(self):
        self.files = {}      # path -> (bytes, mtime)
        self.redirects = {}  # path -> Location
        self.log = []        # (path, status)
        self.lock = threading.Lock()
        feeds = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def answer(self, status, body=b"", headers=()):
                with feeds.lock:
                    feeds.log.append((self.path, status))
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if body:
                    self.wfile.write(body)

            def do_GET(self):
                with feeds.lock:
                    f = feeds.files.get(self.path)
                    to = feeds.redirects.get(self.path)
                if to is not None:
                    return self.answer(302, headers=[("Location", to)])
                if f is None:
                    return self.answer(404, b"not found")
                body, mtime = f
                etag = '"%s"' % hashlib.sha256(body).hexdigest()[:20]
                lm = time.strftime("%a, %d %b %Y %H:%M:%S GMT",
                                   time.gmtime(mtime))
                hdrs = [("ETag", etag), ("Last-Modified", lm)]
                inm = self.headers.get("If-None-Match")
                ims = self.headers.get("If-Modified-Since")
                if (inm is not None and inm == etag) or (
                        inm is None and ims == lm):
                    return self.answer(304, headers=hdrs)
                self.answer(200, body, hdrs)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                     Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base = "http://127.0.0.1:%d" % self.port
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       daemon=True)
        self.thread.start()

    def put(self, path, data, mtime=None):
        if not isinstance(data, (bytes, bytearray)):
            data = json.dumps(data).encode() if not isinstance(data, str) \
                else data.encode()
        with self.lock:
            old = self.files.get(path)
            if mtime is None:
                mtime = int(time.time()) if old is None else old[1] + 1
            self.files[path] = (bytes(data), mtime)

    def requests(self):
        with self.lock:
            out = list(self.log)
            self.log.clear()
        return out

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def feeds():
    f = Feeds()
    yield f
    f.close()


def set_feeds_config(node, allow=None, max_mb=None):
    """Edits the feeds: section of the node's strait.yaml."""
    path = os.path.join(node.home, "strait.yaml")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"^feeds:\n((?:[ \t]+.*\n?)*)", text, re.M)
    assert m, text
    lines = [l for l in m.group(1).splitlines() if l.strip()]
    keep = {}
    for l in lines:
        k, _, v = l.strip().partition(":")
        keep[k] = v.strip()
    if allow is not None:
        keep["allow_hosts"] = "[%s]" % ", ".join(allow)
    if max_mb is not None:
        keep["max_response_mb"] = str(max_mb)
    block = "feeds:\n" + "".join("  %s: %s\n" % kv for kv in keep.items())
    with open(path, "w", encoding="utf-8") as f:
        f.write(text[:m.start()] + block + text[m.end():])


def types(node):
    return node.run("node", "show", "--json", check=0).json()["types"]


def status(node, name):
    r = node.run("feed", "status", name, "--json", check=0)
    (s,) = r.json()
    return s


def pull(node, name, check=0):
    r = node.run("feed", "pull", name, "--json", check=check)
    (res,) = r.json()
    return res


def misp_event(uuid, ts, value):
    return {"Event": {
        "uuid": uuid, "info": "feed event %s" % value, "date": "2026-11-02",
        "timestamp": str(ts), "published": True, "threat_level_id": "2",
        "analysis": "2", "distribution": "1",
        "Orgc": {"name": "CERT-X",
                 "uuid": "5a1e2b3c-4d5e-4f60-8172-a3b4c5d6e7f8"},
        "Tag": [{"name": "tlp:green"}],
        "Attribute": [{
            "uuid": "6b2f3c4d-5e6f-4a71-8283-%012x" % (ts % (1 << 40)),
            "type": "ip-dst", "category": "Network activity",
            "value": value, "to_ids": True, "comment": "",
            "timestamp": str(ts)}]}}


def manifest_entry(ev):
    e = ev["Event"]
    return {"info": e["info"], "date": e["date"],
            "timestamp": e["timestamp"], "analysis": 2,
            "threat_level_id": 2, "Orgc": e["Orgc"], "Tag": e["Tag"]}


def test_misp_feed_fetches_only_changed_events(node, feeds):
    with open(GOLDEN_EVENT, encoding="utf-8") as f:
        golden = json.load(f)
    u1 = golden["Event"]["uuid"]
    u2 = "7c3e9d1a-2b4c-4d5e-8f60-718293a4b5c6"
    ev2 = misp_event(u2, 1793760000, "192.0.2.44")
    feeds.put("/misp/%s.json" % u1, golden)
    feeds.put("/misp/%s.json" % u2, ev2)
    manifest = {u1: manifest_entry(golden), u2: manifest_entry(ev2)}
    feeds.put("/misp/manifest.json", manifest)

    r = node.run("feed", "add", "cert-x", "--url", feeds.base + "/misp/",
                 "--format", "misp", "--every", "manual", check=0)
    assert "cert-x" in r.out
    res = pull(node, "cert-x")
    assert res["error"] is None, res
    assert res["result"] == "imported"
    assert res["events_listed"] == 2 and res["events_fetched"] == 2
    assert res["stored"] > 10 and res["rejected"] == 0, res
    got = sorted(p for p, s in feeds.requests())
    assert got == sorted(["/misp/manifest.json", "/misp/%s.json" % u1,
                          "/misp/%s.json" % u2])
    t = types(node)
    assert t["report"] == 2 and t["threat-actor"] >= 1, t

    # Nothing changed: the manifest answers 304, no event is fetched.
    res = pull(node, "cert-x")
    assert res["result"] == "not modified" and res["stored"] == 0, res
    assert feeds.requests() == [("/misp/manifest.json", 304)]

    # One event changed: only it is fetched, and a new version stored.
    ev2b = copy.deepcopy(ev2)
    ev2b["Event"]["timestamp"] = "1793770000"
    ev2b["Event"]["info"] = "feed event, revised"
    feeds.put("/misp/%s.json" % u2, ev2b)
    manifest[u2] = manifest_entry(ev2b)
    feeds.put("/misp/manifest.json", manifest)
    res = pull(node, "cert-x")
    assert res["events_fetched"] == 1 and res["events_changed"] == 1, res
    assert res["stored"] >= 1, res
    assert feeds.requests() == [("/misp/manifest.json", 200),
                                ("/misp/%s.json" % u2, 200)]

    # A manifest that changed in another way fetches no event.
    manifest[u1]["info"] = "renamed in the manifest only"
    feeds.put("/misp/manifest.json", manifest)
    res = pull(node, "cert-x")
    assert res["result"] == "no new events" and res["events_fetched"] == 0
    assert feeds.requests() == [("/misp/manifest.json", 200)]

    s = status(node, "cert-x")
    assert s["state"] == "ok" and s["last_success"] and s["last_error"] is None
    assert s["misp_events_known"] == 2
    assert s["total"]["pulls"] == 4
    assert s["total"]["stored"] >= res["stored"] + 11
    text = node.run("feed", "status", "cert-x", check=0).out
    assert "last success" in text and "misp events   2 imported" in text


def test_misp_event_that_fails_is_retried_alone(node, feeds):
    u1 = "1a2b3c4d-0000-4e5f-8a9b-000000000001"
    u2 = "1a2b3c4d-0000-4e5f-8a9b-000000000002"
    e1 = misp_event(u1, 1793760001, "192.0.2.51")
    e2 = misp_event(u2, 1793760002, "192.0.2.52")
    feeds.put("/m/%s.json" % u1, e1)  # e2 is missing: 404
    feeds.put("/m/manifest.json", {u1: manifest_entry(e1),
                                   u2: manifest_entry(e2)})
    node.run("feed", "add", "m", "--url", feeds.base + "/m/manifest.json",
             "--format", "misp", check=0)
    r = node.run("feed", "pull", "m", "--json")
    assert r.rc == 2, r
    (res,) = r.json()
    assert res["events_fetched"] == 1 and res["events_failed"] == 1
    assert "HTTP 404" in res["error"]
    s = status(node, "m")
    assert s["state"] == "failing" and "HTTP 404" in s["last_error"]
    feeds.requests()
    # The next pull reads the manifest again (its validators were not
    # kept) and fetches only the event that failed.
    feeds.put("/m/%s.json" % u2, e2)
    res = pull(node, "m")
    assert res["error"] is None and res["events_fetched"] == 1, res
    assert feeds.requests() == [("/m/manifest.json", 200),
                                ("/m/%s.json" % u2, 200)]
    assert status(node, "m")["state"] == "ok"


def test_csv_and_stix_feeds_use_conditional_requests(node, feeds):
    csv = ("value,type,comment\n"
           "198.51.100.77,ip,c2\n"
           "evil-feed.example,domain,phishing\n"
           "http://evil-feed.example/x,url,landing\n")
    feeds.put("/iocs.csv", csv)
    objs = [indicator(value="203.0.113.%d" % i, marking=None)
            for i in range(2)]
    feeds.put("/bundle.json", bundle(objs))
    node.run("feed", "add", "csv1", "--url", feeds.base + "/iocs.csv",
             "--format", "csv", "--tlp", "green", "--created-by", IDENTITY,
             check=0)
    node.run("feed", "add", "stix1", "--url", feeds.base + "/bundle.json",
             "--format", "stix", "--collection", "default", check=0)
    lst = node.run("feed", "list", "--json", check=0).json()
    assert [(f["name"], f["format"], f["every"]) for f in lst] == [
        ("csv1", "csv", "1h"), ("stix1", "stix", "1h")]
    assert lst[0]["tlp"] == "GREEN" and lst[0]["created_by"] == IDENTITY

    r = node.run("feed", "pull", check=0)  # every feed, progress on stderr
    assert "csv1: imported: 3 stored" in r.out, r
    assert "stix1: imported: 2 stored" in r.out, r
    assert "feed csv1:" in r.err
    assert sorted(feeds.requests()) == [("/bundle.json", 200),
                                        ("/iocs.csv", 200)]
    # the CSV feed's indicators name the identity given
    out = node.run("export", "--type", "indicator", check=0)
    made = [o for o in json.loads(out.out)["objects"]
            if "198.51.100.77" in o["pattern"]
            or "evil-feed.example" in o["pattern"]]
    assert len(made) == 3
    assert all(o.get("created_by_ref") == IDENTITY for o in made), made
    # the bundle's objects are not changed
    theirs = [o for o in json.loads(out.out)["objects"]
              if o["id"] in {x["id"] for x in objs}]
    assert len(theirs) == 2 and all("created_by_ref" not in o
                                    for o in theirs)

    r = node.run("feed", "pull", "--json", check=0)
    assert [x["result"] for x in r.json()] == ["not modified"] * 2
    assert sorted(feeds.requests()) == [("/bundle.json", 304),
                                        ("/iocs.csv", 304)]

    # a changed bundle is read again; what was stored is a duplicate
    objs.append(indicator(value="203.0.113.99"))
    feeds.put("/bundle.json", bundle(objs))
    res = pull(node, "stix1")
    assert (res["stored"], res["duplicate"]) == (1, 2), res

    # --created-by is for CSV feeds only
    r = node.run("feed", "add", "x", "--url", feeds.base + "/bundle.json",
                 "--format", "stix", "--created-by", IDENTITY, check=2)
    assert "csv feeds only" in r.err


def test_hosts_outside_loopback_and_allow_hosts_are_refused(node, feeds):
    r = node.run("feed", "add", "far", "--url",
                 "http://feeds.example.org/bundle.json", "--format", "stix",
                 check=2)
    assert "host 'feeds.example.org' is not loopback and not in " \
        "feeds.allow_hosts" in r.err, r
    r = node.run("feed", "add", "far", "--url", "ftp://127.0.0.1/x",
                 "--format", "stix", check=2)
    assert "only http:// and https://" in r.err
    r = node.run("feed", "add", "far", "--url",
                 "http://user:pw@127.0.0.1/x", "--format", "stix", check=2)
    assert "user information" in r.err
    assert node.run("feed", "list", "--json", check=0).json() == []

    set_feeds_config(node, allow=["feeds.example.org", "10.9.0.0/16"])
    node.run("feed", "add", "far", "--url",
             "https://feeds.example.org/bundle.json", "--format", "stix",
             check=0)
    node.run("feed", "add", "net", "--url", "http://10.9.3.4/x.csv",
             "--format", "csv", check=0)
    r = node.run("feed", "add", "other", "--url", "http://10.8.3.4/x.csv",
                 "--format", "csv", check=2)
    assert "'10.8.3.4' is not loopback" in r.err

    # a host removed from the list is refused at the next pull
    set_feeds_config(node, allow=[])
    r = node.run("feed", "pull", "far", "--json")
    assert r.rc == 2
    assert "not in feeds.allow_hosts" in r.json()[0]["error"]
    assert status(node, "far")["state"] == "failing"


def test_redirects_are_checked_like_the_url(node, feeds):
    feeds.put("/bundle.json", bundle([indicator(value="192.0.2.9")]))
    feeds.redirects["/moved.json"] = feeds.base + "/bundle.json"
    feeds.redirects["/away.json"] = "http://198.51.100.7/bundle.json"
    node.run("feed", "add", "moved", "--url", feeds.base + "/moved.json",
             "--format", "stix", check=0)
    node.run("feed", "add", "away", "--url", feeds.base + "/away.json",
             "--format", "stix", check=0)
    res = pull(node, "moved")
    assert res["stored"] == 1, res
    assert feeds.requests() == [("/moved.json", 302), ("/bundle.json", 200)]
    r = node.run("feed", "pull", "away", "--json")
    assert r.rc == 2, r
    err = r.json()[0]["error"]
    assert "redirect to http://198.51.100.7/bundle.json refused" in err
    assert "'198.51.100.7' is not loopback" in err
    assert feeds.requests() == [("/away.json", 302)]


def test_oversize_response_is_refused_and_nothing_stored(node, feeds):
    set_feeds_config(node, max_mb=1)
    objs = [indicator(value="198.18.%d.%d" % (i // 250, i % 250),
                      description="x" * 400) for i in range(2500)]
    body = json.dumps(bundle(objs)).encode()
    assert len(body) > (1 << 20)
    feeds.put("/big.json", body)
    node.run("feed", "add", "big", "--url", feeds.base + "/big.json",
             "--format", "stix", check=0)
    before = types(node).get("indicator", 0)
    r = node.run("feed", "pull", "big")
    assert r.rc == 2, r
    assert "larger than 1 MiB (feeds.max_response_mb)" in r.out, r
    assert types(node).get("indicator", 0) == before
    s = status(node, "big")
    assert s["state"] == "failing" and "larger than 1 MiB" in s["last_error"]
    assert s["total"]["stored"] == 0


def test_serve_pulls_on_schedule_and_a_failing_feed_blocks_none(node, feeds):
    objs = [indicator(value="192.0.2.%d" % i) for i in range(3)]
    feeds.put("/sched.json", bundle(objs))
    node.run("feed", "add", "sched", "--url", feeds.base + "/sched.json",
             "--format", "stix", "--every", "2s", check=0)
    # a feed whose server is gone
    node.run("feed", "add", "dead", "--url", "http://127.0.0.1:9/x.json",
             "--format", "stix", "--every", "1s", check=0)
    srv = Server(node)
    try:
        deadline = time.time() + 30
        s = None
        while time.time() < deadline:
            s = status(node, "sched")
            if s["last_success"] is not None:
                break
            time.sleep(0.2)
        assert s["last_success"] is not None, s
        assert s["total"]["stored"] == 3
        # the next pulls are conditional, and a change is picked up
        objs.append(indicator(value="192.0.2.200"))
        feeds.put("/sched.json", bundle(objs))
        while time.time() < deadline:
            s = status(node, "sched")
            if s["total"]["stored"] == 4:
                break
            time.sleep(0.2)
        assert s["total"]["stored"] == 4, s
        assert ("/sched.json", 304) in feeds.requests() or \
            s["total"]["pulls"] >= 2
        d = status(node, "dead")
        assert d["state"] == "failing" and d["last_error"], d
        assert d["total"]["pulls"] >= 1
    finally:
        stop_clean(srv)


def test_add_remove_and_help(node, feeds):
    for sub in ("add", "list", "remove", "pull", "status"):
        r = node.run("feed", sub, "--help", check=0)
        assert r.out.startswith("usage: strait feed " + sub), r
    assert "strait feed pull" in node.run("feed", "--help", check=0).out
    r = node.run("feed", "add", "bad name", "--url", feeds.base + "/x",
                 "--format", "stix", check=2)
    assert "not a feed name" in r.err
    r = node.run("feed", "add", "a", "--url", feeds.base + "/x",
                 "--format", "xml", check=2)
    assert "--format" in r.err
    r = node.run("feed", "add", "a", "--url", feeds.base + "/x",
                 "--format", "stix", "--every", "soon", check=2)
    assert "--every" in r.err
    r = node.run("feed", "add", "a", "--url", feeds.base + "/x",
                 "--format", "stix", "--collection", "nope", check=2)
    assert "no collection 'nope'" in r.err
    node.run("feed", "add", "a", "--url", feeds.base + "/x", "--format",
             "stix", "--every", "90s", check=0)
    r = node.run("feed", "add", "a", "--url", feeds.base + "/x",
                 "--format", "stix", check=2)
    assert "exists" in r.err
    assert node.run("feed", "list", "--json", check=0).json()[0]["every"] \
        == "90s"
    assert status(node, "a")["state"] == "never pulled"
    node.run("feed", "remove", "a", check=0)
    r = node.run("feed", "remove", "a", check=2)
    assert "no feed 'a'" in r.err
    r = node.run("feed", "pull", "a", check=2)
    assert "no feed 'a'" in r.err
