"""What partners may write: a per-partner quota (429) and a disk reserve
(503) that stop partners' writes while local work goes on."""
import json

from conftest import indicator
from taxii_fixtures import TAXII, Client, Server, add_user, collection_id

KEY = "FH2PF_E6vyZKHafoxsgmv7ajpq5AcP3xRGyrS1GLvrE"


def envelope(objs):
    return {"objects": objs}


def link_peer(node, name="jp", trust="feed"):
    """A peer account and its registered partner (a feed peer may post
    without attestations; an attested one must attest)."""
    tok = add_user(node, name, "peer", org="NISC")
    node.run("collection", "grant", "default", name, "write", check=0)
    pol = node.home + "/../%s.yaml" % name
    with open(pol, "w", encoding="utf-8") as f:
        f.write("tlp: []\n")  # it receives nothing from us
    node.run("peer", "add", name, "--url", "http://127.0.0.1:9/taxii2/",
             "--key", KEY, "--token", "-", "--trust", trust,
             "--policy", pol, stdin="unused\n", check=0)
    return tok


def link_feed_peer(node, name="jp"):
    return link_peer(node, name, "feed")


def set_config(node, text):
    with open(node.home + "/strait.yaml", "a", encoding="utf-8") as f:
        f.write(text)


def test_partner_quota_gives_429_and_local_work_goes_on(node):
    set_config(node, "federation:\n  peer_objects_per_minute: 5\n")
    tok = link_feed_peer(node)
    admin = add_user(node, "admin", "admin")
    srv = Server(node)
    try:
        coll = collection_id(node)
        peer = Client(srv, tok)
        url = "collections/%s/objects/" % coll
        r = peer.post(url, envelope([indicator() for _ in range(5)]))
        assert r.status_code == 202, r.text
        r = peer.post(url, envelope([indicator()]))
        assert r.status_code == 429, r.text
        assert int(r.headers["Retry-After"]) >= 1
        assert "quota of 5 objects per minute" in r.json()["description"]
        # a local account is not limited
        loc = Client(srv, admin)
        r = loc.post(url, envelope([indicator() for _ in range(20)]))
        assert r.status_code == 202
        assert r.json()["success_count"] == 20
    finally:
        srv.stop()
    assert "past its quota" in srv.log


def test_disk_reserve_stops_partner_writes_only(node):
    # a reserve no disk can meet: every partner write waits
    set_config(node, "federation:\n  disk_reserve_mb: 1000000000000\n")
    tok = link_feed_peer(node)
    admin = add_user(node, "admin", "admin")
    srv = Server(node)
    try:
        coll = collection_id(node)
        url = "collections/%s/objects/" % coll
        obj = indicator()
        r = Client(srv, tok).post(url, envelope([obj]))
        assert r.status_code == 503, r.text
        assert r.headers["Retry-After"] == "60"
        assert "disk reserve" in r.json()["description"]
        assert node.run("get", obj["id"]).rc == 1  # nothing stored
        r = Client(srv, admin).post(url, envelope([obj]))
        assert r.status_code == 202
        assert node.run("get", obj["id"]).rc == 0
    finally:
        srv.stop()


def test_a_limit_that_is_not_a_number_is_refused(node):
    set_config(node, "federation:\n  peer_objects_per_minute: lots\n")
    r = node.run("serve", "--listen", "127.0.0.1:0", timeout=30)
    assert r.rc == 2
    assert "federation.peer_objects_per_minute" in r.err
    assert "'lots'" in r.err


def test_peer_state_over_http_and_metrics(node):
    """GET /api/v1/peers shows what `peer status --json` shows (admins and
    auditors only, never a token); GET /api/v1/node gives the key partners
    check; /metrics has one line per partner and measure."""
    link_feed_peer(node)
    admin = add_user(node, "admin", "admin")
    analyst = add_user(node, "ana", "analyst")
    srv = Server(node)
    try:
        a = Client(srv, admin)
        r = a.get(srv.base + "api/v1/peers")
        assert r.status_code == 200, r.text
        peers = r.json()["peers"]
        cli = node.run("peer", "status", "--json", check=0).json()
        assert [p["name"] for p in peers] == ["jp"]
        assert set(peers[0]) == set(cli[0])
        assert peers[0]["trust"] == "feed"
        assert "unused" not in r.text  # the token we hold for jp
        assert Client(srv, analyst).get(
            srv.base + "api/v1/peers").status_code == 403
        r = Client(srv, analyst).get(srv.base + "api/v1/node")
        assert r.status_code == 200
        me = node.run("node", "show", "--json", check=0).json()
        assert r.json()["id"] == me["id"]
        assert r.json()["public_key"] == me["public_key"]
        m = a.get(srv.base + "metrics").text
        for name in ("queue", "lag_objects", "dead_letters", "quarantined",
                     "up"):
            assert 'strait_peer_%s{peer="jp"}' % name in m, name
    finally:
        srv.stop()


def test_a_partners_stream_is_recorded_as_a_release(node):
    """What a partner's account reads on the live stream is what was
    released to it, and `peer sent` records it on the path "stream"."""
    tok = link_feed_peer(node)
    with open(node.home + "/../jp.yaml", "w", encoding="utf-8") as f:
        f.write('tlp: [clear]\ncollections: ["*"]\ntypes: ["*"]\n'
                'labels: ["*"]\n')
    node.run("peer", "policy", "jp", node.home + "/../jp.yaml", check=0)
    clear = indicator(marking="marking-definition--"
                      "94868c89-83c2-464b-929b-a1a8aa3c8487")
    green = indicator()  # GREEN: not in jp's policy
    with open(node.home + "/../b.json", "w", encoding="utf-8") as f:
        json.dump({"type": "bundle", "id": "bundle--" + clear["id"][-36:],
                   "objects": [green, clear]}, f)
    node.run("import", node.home + "/../b.json", check=0)
    srv = Server(node)
    try:
        coll = collection_id(node)
        r = Client(srv, tok).s.get(
            srv.base + "api/v1/collections/%s/stream/?from=start" % coll,
            headers={"Accept": "text/event-stream"}, stream=True, timeout=30)
        assert r.status_code == 200
        got = []
        for line in r.iter_lines(decode_unicode=True):
            if line.startswith("data: "):
                got.append(json.loads(line[6:])["id"])
                break
        r.close()
        assert got == [clear["id"]]  # the GREEN one is not released
    finally:
        srv.stop()
    sent = node.run("peer", "sent", "jp", "--json", check=0).json()
    paths = {s["path"]: s for s in sent}
    assert "stream" in paths, sent
    assert paths["stream"]["first_id"] == clear["id"]


def test_a_denied_star_denies_what_it_names(node):
    """deny: labels: ["*"] withholds every labelled object, types: ["*"]
    every object, collections: ["*"] everything: the policy file's "*"
    reaches the decision (strait policy explain and export --for)."""
    link_feed_peer(node)
    labelled = indicator(marking="marking-definition--"
                         "94868c89-83c2-464b-929b-a1a8aa3c8487",
                         labels=["apt"])
    plain = indicator(marking="marking-definition--"
                      "94868c89-83c2-464b-929b-a1a8aa3c8487")
    path = node.home + "/../two.json"
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"type": "bundle", "id": "bundle--" + plain["id"][-36:],
                   "objects": [labelled, plain]}, f)
    node.run("import", path, check=0)
    base = 'tlp: [clear]\ncollections: ["*"]\ntypes: ["*"]\nlabels: ["*"]\n'
    cases = [("labels", {labelled["id"]: 1, plain["id"]: 0}),
             ("types", {labelled["id"]: 1, plain["id"]: 1}),
             ("collections", {labelled["id"]: 1, plain["id"]: 1})]
    for key, want in cases:
        pol = node.home + "/../deny-%s.yaml" % key
        with open(pol, "w", encoding="utf-8") as f:
            f.write(base + 'deny:\n  %s: ["*"]\n' % key)
        node.run("peer", "policy", "jp", pol, check=0)
        for oid, rc in want.items():
            r = node.run("policy", "explain", oid, "--to", "jp")
            assert r.rc == rc, (key, oid, r)
            assert ("WITHHELD" in r.out) == (rc == 1), r
        out = node.run("export", "--for", "jp", check=0).json()
        got = {o["id"] for o in out["objects"]}
        assert got == {oid for oid, rc in want.items() if rc == 0}, key


def test_what_is_held_already_is_not_checked_again(node):
    """An envelope whose objects this node holds with the same bytes (a
    relay of what came directly, a push overlapping a catch-up) applies
    nothing, so its attestation is not checked; one new object and the
    same bad attestation is checked, and the new object quarantined."""
    tok = link_peer(node, trust="attested")
    admin = add_user(node, "admin", "admin")
    srv = Server(node)
    try:
        coll = collection_id(node)
        url = "collections/%s/objects/" % coll
        held = indicator()
        r = Client(srv, admin).post(url, envelope([held]))
        assert r.status_code == 202 and r.json()["success_count"] == 1
        # the bytes as stored (canonical), as a strait partner sends them
        canon = node.run("get", held["id"]).out.splitlines()[-1]
        assert json.loads(canon)["id"] == held["id"]
        forged = json.dumps({"type": "x-strait-attestation",
                             "id": "x-strait-attestation--"
                                   "0b1d7ab9-3b63-4c8c-9d44-5d4a34e3a6d1",
                             "spec_version": "2.1"})
        peer = Client(srv, tok)
        r = peer.post(url, data='{"objects":[%s,%s]}' % (canon, forged))
        assert r.status_code == 202, r.text
        st = r.json()
        assert st["success_count"] == 2 and st["failure_count"] == 0, st
        msgs = {e["id"]: e.get("message") for e in st["successes"]}
        assert msgs[held["id"]] == "duplicate", st
        assert msgs[json.loads(forged)["id"]].startswith(
            "attestation not checked"), st
        assert json.loads(node.run("quarantine", "list", "--json").out) \
            == []
        fresh = indicator()
        body = '{"objects":[%s,%s,%s]}' % (canon, json.dumps(fresh), forged)
        r = peer.post(url, data=body)
        assert r.status_code == 202, r.text
        msgs = {e["id"]: e.get("message") for e in r.json()["successes"]}
        assert msgs[json.loads(forged)["id"]] == "attestation refused", r.text
        q = json.loads(node.run("quarantine", "list", "--json").out)
        assert [e["id"] for e in q] == [fresh["id"]], q
        assert "refused" in q[0]["reason"], q
        assert node.run("get", fresh["id"]).rc == 1  # not applied
        # the held object is as it was: one version
        assert node.run("get", held["id"]).out.count("# version") == 1
    finally:
        srv.stop()
