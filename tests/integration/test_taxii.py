"""The TAXII 2.1 server: every endpoint, filter and error status, paging,
and what each role and organisation may see through every one of them."""
import json
import threading
import uuid

import pytest
import requests

from conftest import bundle, indicator, sid
from taxii_fixtures import (TAXII, Client, Server, add_user, collection_id,
                            grant, wait_port_closed)

TLP = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict":
        "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
UNKNOWN_MARKING = "marking-definition--0f3a2d6e-5b1c-4e8f-9a7d-2c4b6e8f0a13"


@pytest.fixture
def srv(node):
    node.admin = add_user(node, "admin", "admin")
    node.coll = collection_id(node)
    s = Server(node)
    yield s
    s.stop()


def envelope(objs):
    return {"objects": objs}


def objects_url(coll, suffix="objects/"):
    return "collections/%s/%s" % (coll, suffix)


# ---------------------------------------------------------------- basics


def test_discovery_api_root_collections(srv, node):
    c = Client(srv, node.admin)
    r = c.get(srv.discovery)
    assert r.status_code == 200
    assert r.headers["Content-Type"].replace(" ", "") == TAXII
    d = r.json()
    assert d["api_roots"] == [srv.root] and d["default"] == srv.root
    assert d["title"] == "strait node TEST"
    root = c.get(srv.root).json()
    assert root["versions"] == [TAXII]
    assert root["max_content_length"] == 10485760
    cols = c.get("collections/").json()["collections"]
    assert [x["id"] for x in cols] == [node.coll]
    assert cols[0]["can_read"] and cols[0]["can_write"]
    assert cols[0]["media_types"] == ["application/stix+json;version=2.1"]
    one = c.get("collections/%s/" % node.coll).json()
    assert one == cols[0]


def test_authentication_required_and_schemes(srv, node):
    r = requests.get(srv.discovery, headers={"Accept": TAXII})
    assert r.status_code == 401
    assert "Basic" in r.headers["WWW-Authenticate"]
    assert r.json()["http_status"] == "401"
    for scheme in ("Bearer", "Token"):
        assert Client(srv, node.admin, scheme=scheme).get(
            srv.root).status_code == 200
    bad = Client(srv, "strait_" + "A" * 43)
    assert bad.get(srv.root).status_code == 401
    add_user(node, "basic", "reader", password="correct horse battery")
    ok = Client(srv, basic=("basic", "correct horse battery"))
    assert ok.get(srv.root).status_code == 200
    assert ok.get(srv.root).status_code == 200  # cached, still fine
    wrong = Client(srv, basic=("basic", "wrong password!!"))
    assert wrong.get(srv.root).status_code == 401


def test_public_discovery(node):
    node.admin = add_user(node, "admin", "admin")
    s = Server(node, "--public-discovery")
    try:
        r = requests.get(s.discovery, headers={"Accept": TAXII})
        assert r.status_code == 200 and r.json()["api_roots"]
        assert requests.get(s.root, headers={"Accept": TAXII}
                            ).status_code == 401
    finally:
        s.stop()


def test_content_negotiation(srv, node):
    c = Client(srv, node.admin)
    assert c.get(srv.root, headers={"Accept": "application/json"}
                 ).status_code == 406
    assert c.get(srv.root, headers={"Accept": "application/taxii+json"}
                 ).status_code == 200
    assert c.get(srv.root, headers={"Accept": "*/*"}).status_code == 200
    r = c.post(objects_url(node.coll), envelope([indicator()]),
               ctype="application/json")
    assert r.status_code == 415 and r.json()["http_status"] == "415"


def test_unknown_paths_and_methods(srv, node):
    c = Client(srv, node.admin)
    assert c.get("nothing-here/").status_code == 404
    assert c.get("collections/%s/objects" % node.coll).status_code == 404
    r = c.s.put(srv.root + "collections/", timeout=10)
    assert r.status_code == 405 and "GET" in r.headers["Allow"]
    missing = str(uuid.uuid4())
    assert c.get("collections/%s/" % missing).status_code == 404
    assert c.get("collections/default/").status_code == 404  # id only


# ----------------------------------------------------------- add + status


def test_add_objects_and_status(srv, node):
    c = Client(srv, node.admin)
    good = [indicator() for _ in range(3)]
    bad = indicator()
    bad["valid_from"] = "2024-13-01T00:00:00Z"
    r = c.post(objects_url(node.coll), envelope(good + [bad]))
    assert r.status_code == 202, r.text
    st = r.json()
    assert st["status"] == "complete"
    assert (st["total_count"], st["success_count"], st["failure_count"],
            st["pending_count"]) == (4, 3, 1, 0)
    assert sorted(x["id"] for x in st["successes"]) == sorted(
        o["id"] for o in good)
    assert st["successes"][0]["version"].endswith("Z")
    assert st["failures"][0]["id"] == bad["id"]
    assert "valid_from" in st["failures"][0]["message"]
    again = c.get("status/%s/" % st["id"])
    assert again.status_code == 200 and again.json() == st
    # Durable: visible to a new reader at once.
    got = c.get(objects_url(node.coll)).json()["objects"]
    assert sorted(o["id"] for o in got) == sorted(o["id"] for o in good)
    # Duplicates are successes, not errors.
    dup = c.post(objects_url(node.coll), envelope(good)).json()
    assert dup["success_count"] == 3 and dup["failure_count"] == 0
    # Another account cannot read the status.
    other = Client(srv, add_user(node, "ana", "analyst"))
    assert other.get("status/%s/" % st["id"]).status_code == 404
    assert c.get("status/%s/" % uuid.uuid4()).status_code == 404


def test_add_rejects_malformed_envelope_whole(srv, node):
    c = Client(srv, node.admin)
    text = json.dumps(envelope([indicator(), indicator()]))
    r = c.post(objects_url(node.coll), data=text[:-10])
    assert r.status_code == 400 and r.json()["http_status"] == "400"
    r = c.post(objects_url(node.coll), data=json.dumps(indicator()))
    assert r.status_code == 400
    assert c.get(objects_url(node.coll)).json().get("objects", []) == []


def test_max_content_length(node):
    node.admin = add_user(node, "admin", "admin")
    coll = collection_id(node)
    s = Server(node, "--max-content-length", "4096")
    try:
        c = Client(s, node.admin)
        assert c.get(s.root).json()["max_content_length"] == 4096
        small = json.dumps(envelope([indicator()]))
        pad = 4096 - len(small)
        body = small[:-1] + " " * pad + "}"
        assert len(body) == 4096
        assert c.post(objects_url(coll), data=body).status_code == 202
        r = c.post(objects_url(coll), data=body + " ")
        assert r.status_code == 413 and r.json()["http_status"] == "413"
    finally:
        s.stop()


# ----------------------------------------------------------------- reads


def load(c, coll, n, **kw):
    objs = [indicator(value="10.1.%d.%d" % (i // 250, i % 250), **kw)
            for i in range(n)]
    r = c.post(objects_url(coll), envelope(objs))
    assert r.status_code == 202 and r.json()["success_count"] == n, r.text
    return objs


def test_paging_10000_both_ways(srv, node):
    c = Client(srv, node.admin)
    objs = load(c, node.coll, 10000)
    want = [o["id"] for o in objs]
    # 1. with next
    got, url, pages = [], objects_url(node.coll) + "?limit=999", 0
    while True:
        r = c.get(url)
        assert r.status_code == 200
        env = r.json()
        got += [o["id"] for o in env["objects"]]
        pages += 1
        assert len(env["objects"]) > 0
        if not env["more"]:
            assert "next" not in env
            break
        assert env["next"]
        url = objects_url(node.coll) + "?limit=999&next=" + env["next"]
    assert got == want and pages == 11
    # 2. with added_after = X-TAXII-Date-Added-Last
    got, after = [], None
    while True:
        q = "?limit=1000" + ("&added_after=" + after if after else "")
        r = c.get(objects_url(node.coll) + q)
        env = r.json()
        got += [o["id"] for o in env.get("objects", [])]
        if not env["more"]:
            break
        after = r.headers["X-TAXII-Date-Added-Last"]
    assert got == want


def test_filters(srv, node):
    c = Client(srv, node.admin)
    oid = sid("indicator")
    v1 = indicator(oid=oid, modified="2026-01-01T00:00:00.000Z")
    v2 = indicator(oid=oid, modified="2026-02-01T00:00:00.000Z", name="v2")
    v3 = indicator(oid=oid, modified="2026-03-01T00:00:00.000Z", name="v3")
    mal = {"type": "malware", "spec_version": "2.1", "id": sid("malware"),
           "created": "2026-01-01T00:00:00.000Z",
           "modified": "2026-01-01T00:00:00.000Z", "name": "m",
           "is_family": True, "object_marking_refs": [TLP["green"]]}
    c.post(objects_url(node.coll), envelope([v3, v1, mal]))
    c.post(objects_url(node.coll), envelope([v2]))
    u = objects_url(node.coll)

    def ids(q):
        r = c.get(u + q)
        assert r.status_code == 200, r.text
        return [(o["id"], o.get("name")) for o in r.json().get("objects",
                                                              [])]
    assert ids("?match[type]=malware") == [(mal["id"], "m")]
    assert ids("?match[id]=%s" % oid) == [(oid, "v3")]
    assert sorted(ids("?match[id]=%s&match[version]=all" % oid)) == sorted(
        [(oid, v1["name"]), (oid, "v2"), (oid, "v3")])
    assert ids("?match[id]=%s&match[version]=first" % oid) == [
        (oid, v1["name"])]
    assert ids("?match[id]=%s&match[version]=2026-02-01T00:00:00.000Z"
               % oid) == [(oid, "v2")]
    assert len(ids("?match[type]=indicator,malware")) == 2
    assert ids("?match[spec_version]=2.0") == []
    assert len(ids("?match[spec_version]=2.1")) == 2
    for bad in ("?added_after=yesterday", "?limit=0", "?limit=-3",
                "?limit=abc", "?match[foo]=x", "?match[id]=nonsense",
                "?match[version]=latest", "?match[type]=BAD!"):
        r = c.get(u + bad)
        assert r.status_code == 400, bad
        assert r.json()["http_status"] == "400"
    # manifest
    man = c.get(objects_url(node.coll, "manifest/")).json()["objects"]
    assert {m["id"] for m in man} == {oid, mal["id"]}
    rec = [m for m in man if m["id"] == oid][0]
    assert rec["version"] == "2026-03-01T00:00:00.000000Z"
    assert rec["media_type"] == "application/stix+json;version=2.1"
    assert set(rec) == {"id", "date_added", "version", "media_type"}
    # one object and its versions
    one = c.get(objects_url(node.coll, "objects/%s/" % oid)).json()
    assert [o["name"] for o in one["objects"]] == ["v3"]
    vers = c.get(objects_url(node.coll, "objects/%s/versions/" % oid))
    assert vers.status_code == 200
    assert vers.json()["versions"] == [   # in date_added order
        "2026-03-01T00:00:00.000000Z", "2026-01-01T00:00:00.000000Z",
        "2026-02-01T00:00:00.000000Z"]
    assert "X-TAXII-Date-Added-First" in vers.headers
    missing = sid("indicator")
    assert c.get(objects_url(node.coll, "objects/%s/" % missing)
                 ).status_code == 404
    assert c.get(objects_url(node.coll, "objects/%s/versions/" % missing)
                 ).status_code == 404


def test_date_added_headers(srv, node):
    c = Client(srv, node.admin)
    load(c, node.coll, 5)
    r = c.get(objects_url(node.coll) + "?limit=2")
    first, last = (r.headers["X-TAXII-Date-Added-First"],
                   r.headers["X-TAXII-Date-Added-Last"])
    assert first < last and first.endswith("Z") and len(first) == 27
    man = c.get(objects_url(node.coll, "manifest/") + "?limit=2").json()
    assert [m["date_added"] for m in man["objects"]] == [first, last]
    empty = c.get(objects_url(node.coll) + "?match[type]=tool")
    assert empty.status_code == 200
    assert "X-TAXII-Date-Added-First" not in empty.headers
    assert empty.json()["more"] is False


# ------------------------------------------------------------ next tokens


def first_next(c, coll, q="?limit=2"):
    env = c.get(objects_url(coll) + q).json()
    assert env["more"] and env["next"]
    return env["next"]


def test_forged_expired_foreign_tokens(srv, node):
    c = Client(srv, node.admin)
    load(c, node.coll, 6)
    tok = first_next(c, node.coll)
    u = objects_url(node.coll)
    # tampered: flip one character
    flipped = tok[:20] + ("A" if tok[20] != "A" else "B") + tok[21:]
    for bad in (flipped, tok[:-1], "x" * 600, "not-a-token"):
        r = c.get(u + "?limit=2&next=" + bad)
        assert r.status_code == 400 and "objects" not in r.json()
    # another account's token
    ana = Client(srv, add_user(node, "ana", "admin"))
    r = ana.get(u + "?limit=2&next=" + tok)
    assert r.status_code == 400 and "objects" not in r.json()
    # the same account, other filters
    r = c.get(u + "?limit=2&match[type]=indicator&next=" + tok)
    assert r.status_code == 400
    # another collection
    other = node.run("collection", "add", "Other", check=0).out.strip()
    r = c.get(objects_url(other) + "?limit=2&next=" + tok)
    assert r.status_code == 400
    # a token survives a restart (keys persist), but a restored node with
    # another incarnation would refuse it: covered by the token unit tests.
    assert c.get(u + "?limit=2&next=" + tok).status_code == 200


# ------------------------------------------------------- who sees what


@pytest.fixture
def marked(srv, node):
    """One object per marking, plus an unknown marking, in the default
    collection, and accounts of our org and of another org."""
    c = Client(srv, node.admin)
    objs = {}
    for level, ref in TLP.items():
        objs[level] = indicator(marking=ref, name=level)
    objs["unknown"] = indicator(marking=UNKNOWN_MARKING, name="unknown")
    r = c.post(objects_url(node.coll), envelope(list(objs.values())))
    assert r.json()["success_count"] == 6, r.text
    users = {}
    # a partner registered without a policy: it is given nothing, and so
    # neither is its liaison officer (a node without federation would
    # show the same)
    node.run("peer", "add", "jp-node", "--url", "http://127.0.0.1:9/taxii2/",
             "--key", "A" * 43, "--token", "-", stdin="t" * 40 + "\n",
             check=0)
    for name, role, org in (("own-reader", "reader", None),
                            ("own-analyst", "analyst", None),
                            ("ext-reader", "reader", "PARTNER"),
                            ("ext-analyst", "analyst", "PARTNER"),
                            ("ext-admin", "admin", "PARTNER"),
                            ("peer", "peer", "JP-NODE"),
                            ("liaison", "liaison", "jp-node"),
                            ("auditor", "auditor", None)):
        users[name] = Client(srv, add_user(node, name, role, org=org))
        if role != "admin":
            node.run("collection", "grant", node.coll, name, "read",
                     check=0)
    users["admin"] = c
    return objs, users


EXPECT = {
    "admin": {"clear", "green", "amber", "amber+strict", "unknown"},
    "own-reader": {"clear", "green", "amber", "amber+strict"},
    "own-analyst": {"clear", "green", "amber", "amber+strict"},
    "auditor": {"clear", "green", "amber", "amber+strict"},
    "ext-reader": {"clear", "green"},
    "ext-analyst": {"clear", "green", "amber"},
    "ext-admin": {"clear", "green", "amber"},
    "peer": set(),
    "liaison": set(),
}


def test_release_by_role_and_org_on_every_read_path(srv, node, marked):
    objs, users = marked
    by_id = {o["id"]: k for k, o in objs.items()}
    for who, client in users.items():
        want = EXPECT[who]
        env = client.get(objects_url(node.coll)).json()
        seen = {by_id[o["id"]] for o in env.get("objects", [])}
        assert seen == want, who
        man = client.get(objects_url(node.coll, "manifest/")).json()
        assert {by_id[m["id"]] for m in man.get("objects", [])} == want
        for level, o in objs.items():
            one = client.get(objects_url(node.coll,
                                         "objects/%s/" % o["id"]))
            vers = client.get(objects_url(node.coll,
                                          "objects/%s/versions/" % o["id"]))
            if level in want:
                assert one.status_code == 200, (who, level)
                assert vers.status_code == 200, (who, level)
            else:
                assert one.status_code == 404, (who, level)
                assert vers.status_code == 404, (who, level)
                assert o["id"] not in one.text and o["id"] not in vers.text
        # paging with limit=1 never shows an empty page with more=true
        # nor a hidden object, and counts headers only over what is seen
        url, pages, seen = objects_url(node.coll) + "?limit=1", 0, set()
        while True:
            r = client.get(url)
            env = r.json()
            got = env.get("objects", [])
            if env["more"]:
                assert len(got) == 1
            seen |= {by_id[o["id"]] for o in got}
            if got:
                assert r.headers["X-TAXII-Date-Added-First"]
            pages += 1
            if not env["more"]:
                break
            url = objects_url(node.coll) + "?limit=1&next=" + env["next"]
        assert seen == want and pages == max(1, len(want)), who


def test_no_access_and_read_only(srv, node, marked):
    objs, users = marked
    stranger = Client(srv, add_user(node, "stranger", "analyst"))
    assert stranger.get("collections/").json().get("collections", []) == []
    for suffix in ("", "objects/", "manifest/"):
        r = stranger.get("collections/%s/%s" % (node.coll, suffix))
        assert r.status_code == 404, suffix
    reader = users["own-reader"]
    r = reader.post(objects_url(node.coll), envelope([indicator()]))
    assert r.status_code == 403
    col = reader.get("collections/%s/" % node.coll).json()
    assert col["can_read"] and not col["can_write"]


def test_delete_matrix(srv, node, marked):
    objs, users = marked
    green = objs["green"]["id"]
    path = objects_url(node.coll, "objects/%s/" % green)
    stranger = Client(srv, add_user(node, "stranger2", "analyst"))
    assert stranger.delete(path).status_code == 404      # no read, no write
    assert users["own-reader"].delete(path).status_code == 403  # read only
    grant(node, users["peer"], node.coll, "peer", "write")
    assert users["peer"].delete(path).status_code == 403  # never peers
    # a liaison officer is never given write access, and never deletes
    r = node.run("collection", "grant", node.coll, "liaison", "write",
                 check=2)
    assert "is a liaison officer" in r.err
    assert users["liaison"].delete(path).status_code == 403
    grant(node, users["ext-reader"], node.coll, "ext-reader", "write")
    # a writer that cannot see the object gets 404, nothing is removed
    hidden = objects_url(node.coll, "objects/%s/" % objs["amber"]["id"])
    assert users["ext-reader"].delete(hidden).status_code == 404
    assert users["admin"].get(hidden).status_code == 200
    admin = users["admin"]
    assert admin.delete(path).status_code == 200
    assert admin.get(path).status_code == 404
    assert admin.delete(path).status_code == 404
    # the version itself stays in the log
    node.run("get", green, check=0)


def test_peer_writes_only_where_granted(srv, node):
    peer = Client(srv, add_user(node, "jp", "peer", org="NISC"))
    inbox = node.run("collection", "add", "Inbox", "--alias", "inbox",
                     check=0).out.strip()
    r = peer.post(objects_url(inbox), envelope([indicator()]))
    assert r.status_code == 404
    grant(node, peer, inbox, "jp", "write")
    # a peer account not linked to a registered partner may not write
    r = peer.post(objects_url(inbox), envelope([indicator()]))
    assert r.status_code == 403
    assert "partner" in r.json()["description"]
    # linked (a feed partner: no attestations needed), it may
    node.run("peer", "add", "jp", "--url", "http://127.0.0.1:9/taxii2/",
             "--key", "FH2PF_E6vyZKHafoxsgmv7ajpq5AcP3xRGyrS1GLvrE",
             "--token", "-", "--trust", "feed", stdin="unused\n", check=0)
    r = peer.post(objects_url(inbox), envelope([indicator()]))
    assert r.status_code == 202
    assert peer.post(objects_url(node.coll),
                     envelope([indicator()])).status_code == 404


def test_disabled_account_is_refused(srv, node):
    tok = add_user(node, "temp", "admin")
    c = Client(srv, tok)
    assert c.get(srv.root).status_code == 200
    node.run("user", "disable", "temp", check=0)
    import time
    deadline = time.time() + 5
    while time.time() < deadline and c.get(srv.root).status_code == 200:
        time.sleep(0.1)
    assert c.get(srv.root).status_code == 401


def test_health_is_admin_only(srv, node):
    c = Client(srv, node.admin)
    r = c.get(srv.base + "api/v1/health/")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    reader = Client(srv, add_user(node, "r", "reader"))
    assert reader.get(srv.base + "api/v1/health/").status_code == 403


def test_repeated_failures_get_429(srv, node):
    s = requests.Session()
    codes = []
    for _ in range(14):
        r = s.get(srv.root, auth=("nobody", "wrong password!!"),
                  headers={"Accept": TAXII})
        codes.append(r.status_code)
    assert codes[0] == 401 and codes[-1] == 429
    r = s.get(srv.root, auth=("nobody", "wrong password!!"),
              headers={"Accept": TAXII})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    # a valid token from the same address still works (other key)
    assert Client(srv, node.admin).get(srv.root).status_code == 200


def test_concurrent_writers_and_readers(srv, node):
    c = Client(srv, node.admin)
    errors, stored = [], []

    def writer(k):
        try:
            cl = Client(srv, node.admin)
            for j in range(10):
                objs = [indicator(value="172.16.%d.%d" % (k, j * 10 + i))
                        for i in range(10)]
                r = cl.post(objects_url(node.coll), envelope(objs))
                assert r.status_code == 202
                stored.extend(o["id"] for o in objs)
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    def reader():
        try:
            cl = Client(srv, node.admin)
            for _ in range(20):
                r = cl.get(objects_url(node.coll) + "?limit=50")
                assert r.status_code == 200
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    ts = [threading.Thread(target=writer, args=(k,)) for k in range(8)]
    ts += [threading.Thread(target=reader) for _ in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors, errors
    got = []
    url = objects_url(node.coll) + "?limit=500"
    while True:
        env = c.get(url).json()
        got += [o["id"] for o in env.get("objects", [])]
        if not env["more"]:
            break
        url = objects_url(node.coll) + "?limit=500&next=" + env["next"]
    assert sorted(got) == sorted(stored) and len(got) == 800


def test_graceful_stop_and_access_log(node):
    node.admin = add_user(node, "admin", "admin")
    s = Server(node)
    c = Client(s, node.admin)
    load(c, collection_id(node), 3)
    env = c.get(objects_url(collection_id(node)) + "?limit=1").json()
    c.get(objects_url(collection_id(node)) + "?limit=1&next=" + env["next"])
    assert s.stop() == 0
    assert wait_port_closed(s)
    assert "method=GET" in s.log and "status=200" in s.log
    assert node.admin not in s.log
    assert env["next"] not in s.log, "paging tokens must never be logged"
