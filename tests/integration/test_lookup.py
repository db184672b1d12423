"""strait lookup and GET /api/v1/lookup: "have we, or any partner, seen
this value?" over a node's objects: each kind of value, matching against
patterns (equality, CIDR, LIKE), what refers to what was found, only the
latest version of each object, the index following imports and rebuilt
when lost, and the API showing each account only what its grants and the
release decision give it."""
import json
import os
import time

import pytest

from conftest import sid
from taxii_fixtures import Client, Server, add_user, collection_id, grant

GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
AMBER = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
STRICT = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
RED = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"

IP = "198.51.100.7"
SHA256 = "5F0A6C1E8D9B7A2C3E4F5061728394A5B6C7D8E9F00112233445566778899AAB"
WALLET = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
T = "2026-01-01T00:00:00.000Z"


def ind(pattern, marking=GREEN, oid=None, modified=T, **kw):
    o = {"type": "indicator", "spec_version": "2.1",
         "id": oid or sid("indicator"), "created": T, "modified": modified,
         "name": kw.pop("name", pattern), "pattern": pattern,
         "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
         "object_marking_refs": [marking]}
    o.update(kw)
    return o


def sco(type_, **kw):
    o = {"type": type_, "spec_version": "2.1", "id": sid(type_),
         "object_marking_refs": [GREEN]}
    o.update(kw)
    return o


def sdo(type_, **kw):
    o = {"type": type_, "spec_version": "2.1", "id": sid(type_),
         "created": T, "modified": T, "object_marking_refs": [GREEN]}
    o.update(kw)
    return o


def imp(node, objs, tmp_path, name="b.json"):
    path = tmp_path / name
    path.write_text(json.dumps({"type": "bundle", "id": sid("bundle"),
                                "objects": objs}))
    r = node.run("import", "--quiet", str(path))
    assert r.rc in (0, 1), r  # SCO ids with a warning are still stored
    return objs


def lookup(node, value, *extra, check=0):
    r = node.run("lookup", value, "--json", *extra, check=check)
    return r.json() if check == 0 else r


def found(ans):
    return {o["id"]: o["found"] for o in ans["objects"]}


@pytest.fixture
def world(node, tmp_path):
    """One node holding one of each thing lookup finds."""
    o = {
        "eq": ind("[ipv4-addr:value = '%s']" % IP, confidence=80),
        "cidr": ind("[ipv4-addr:value ISSUBSET '198.51.100.0/24']"),
        "needs_more": ind("[ipv4-addr:value = '%s' AND "
                          "ipv4-addr:value = '10.0.0.1']" % IP),
        "other_ip": ind("[ipv4-addr:value = '198.51.100.8']"),
        "v6": ind("[ipv6-addr:value = '2001:db8::7']"),
        "domain": ind("[domain-name:value = 'wallet-update.example.com']"),
        # STIX compares strings as they are: this pattern names the
        # domain, but would not match it written in lower case
        "domain_mixed": ind("[domain-name:value = "
                            "'Wallet-Update.Example.COM']"),
        "like": ind("[domain-name:value LIKE '%.example.com']"),
        "url": ind("[url:value = 'https://download.example.org/x.dmg']"),
        "email": ind("[email-message:from_ref.value = "
                     "'recruiter@example.net']"),
        "hash": ind("[file:hashes.'SHA-256' = '%s']" % SHA256.lower()),
        # STIX 2.1 has no wallet object: a custom one, and a pattern
        "wallet": sdo("x-crypto-wallet", address=WALLET),
        "wallet_ind": ind("[x-crypto-wallet:address = '%s']" % WALLET),
        "addr": sco("ipv4-addr", value=IP),
        "attack": sdo("attack-pattern", name="Spearphishing Attachment",
                      external_references=[{"source_name": "mitre-attack",
                                            "external_id": "T1566.001"}]),
    }
    o["sighting"] = sdo("sighting", sighting_of_ref=o["eq"]["id"], count=3,
                        first_seen="2026-02-01T00:00:00Z",
                        last_seen="2026-02-03T00:00:00Z")
    o["sighting2"] = sdo("sighting", sighting_of_ref=o["cidr"]["id"],
                         count=2, first_seen="2026-01-15T00:00:00Z",
                         last_seen="2026-02-05T00:00:00Z")
    o["report"] = sdo("report", name="Lazarus Q1",
                      published="2026-01-02T00:00:00Z",
                      object_refs=[o["eq"]["id"]])
    o["od"] = sdo("observed-data", first_observed=T, last_observed=T,
                  number_observed=1, object_refs=[o["addr"]["id"]])
    o["od_sighting"] = sdo("sighting", sighting_of_ref=o["eq"]["id"],
                           observed_data_refs=[o["od"]["id"]])
    imp(node, list(o.values()), tmp_path)
    return node, o


def test_an_address_and_everything_about_it(world):
    node, o = world
    ans = lookup(node, IP)
    f = found(ans)
    assert f[o["eq"]["id"]] == "matches"
    assert f[o["cidr"]["id"]] == "matches"
    # named by the pattern, but it needs more than the address to match
    assert f[o["needs_more"]["id"]] == "mentions"
    assert f[o["addr"]["id"]] == "value"
    for k in ("sighting", "sighting2", "report", "od", "od_sighting"):
        assert f[o[k]["id"]] == "refers", k
    assert o["other_ip"]["id"] not in f and o["v6"]["id"] not in f
    s = ans["summary"]
    assert s["indicators"] == 3 and s["sightings"] == 3
    assert s["times_sighted"] == 3 + 2 + 1
    # the earliest of the sightings and of the observed-data
    assert s["first_seen"].startswith("2026-01-01")
    assert s["last_seen"].startswith("2026-02-05")
    assert s["known_here"] is True and s["partners"] == 0
    by = {x["id"]: x for x in ans["objects"]}
    assert by[o["eq"]["id"]]["confidence"] == 80
    assert by[o["sighting"]["id"]]["via"] == o["eq"]["id"]
    assert by[o["eq"]["id"]]["source"]["local"] is True
    # the text answer names the same
    r = node.run("lookup", IP, check=0)
    assert "known here only" in r.out
    assert "6 sightings" not in r.out and "3 sightings (seen 6 times" in r.out


def test_prefixes_both_ways(world):
    node, o = world
    # a prefix finds the addresses inside it and the prefixes around it
    f = found(lookup(node, "198.51.100.0/29"))
    assert {o["eq"]["id"], o["cidr"]["id"], o["addr"]["id"]} <= set(f)
    assert f[o["cidr"]["id"]] == "matches"
    assert f[o["eq"]["id"]] == "mentions"  # the /29 is not just .7
    assert o["other_ip"]["id"] not in f  # .8 is outside the /29
    f = found(lookup(node, "198.51.0.0/16"))
    assert o["cidr"]["id"] in f and o["eq"]["id"] in f
    r = lookup(node, "198.51.101.0/24", check=1)
    assert "not known here" in node.run("lookup", "198.51.101.1").out
    f = found(lookup(node, "2001:DB8::7"))
    assert f == {o["v6"]["id"]: "matches"}


def test_each_kind_of_value(world):
    node, o = world
    cases = [
        ("Wallet-Update.example.com.", {o["domain"]["id"]: "matches",
                                        o["domain_mixed"]["id"]: "mentions",
                                        o["like"]["id"]: "matches"}),
        ("other.example.com", {o["like"]["id"]: "matches"}),
        ("https://download.example.org/x.dmg", {o["url"]["id"]: "matches"}),
        ("Recruiter@Example.NET", {o["email"]["id"]: "mentions"}),
        (SHA256, {o["hash"]["id"]: "matches"}),
        (WALLET, {o["wallet"]["id"]: "value",
                  o["wallet_ind"]["id"]: "matches"}),
        ("t1566.001", {o["attack"]["id"]: "attack-id"}),
    ]
    for value, want in cases:
        ans = lookup(node, value)
        assert found(ans) == want, (value, ans)
    # the kind each was read as
    assert lookup(node, SHA256)["kind"] == "hash"
    assert lookup(node, "T1566.001")["value"] == "T1566.001"
    assert lookup(node, "Wallet-Update.example.com.")["value"] == \
        "wallet-update.example.com"


def test_bad_and_unknown_values(node):
    r = node.run("lookup", "not a value!", check=2)
    assert "'not a value!' is not a value lookup understands" in r.err
    r = node.run("lookup", check=2)
    assert "one VALUE expected" in r.err
    r = node.run("lookup", "x" * 3000 + ".com", check=2)
    assert "longer than 2048 bytes" in r.err
    r = node.run("lookup", IP, "--limit", "0", check=2)
    assert "--limit" in r.err
    r = node.run("lookup", IP, check=1)
    assert "not known here, nor from any partner" in r.out
    assert "usage: strait lookup VALUE" in node.run("lookup", "--help",
                                                    check=0).out


def test_only_the_latest_version_counts(node, tmp_path):
    a = ind("[ipv4-addr:value = '%s']" % IP)
    b = ind("[ipv4-addr:value = '%s']" % IP)
    imp(node, [a, b], tmp_path)
    assert set(found(lookup(node, IP))) == {a["id"], b["id"]}
    # a moves to another address; b is revoked
    a2 = dict(a, pattern="[ipv4-addr:value = '203.0.113.9']",
              modified="2026-03-01T00:00:00.000Z")
    b2 = dict(b, revoked=True, modified="2026-03-01T00:00:00.000Z")
    imp(node, [a2, b2], tmp_path, "v2.json")
    ans = lookup(node, IP)
    assert set(found(ans)) == {b["id"]}
    assert ans["objects"][0]["revoked"] is True
    assert ans["objects"][0]["version"].startswith("2026-03-01")
    assert set(found(lookup(node, "203.0.113.9"))) == {a["id"]}
    assert "REVOKED" in node.run("lookup", IP, check=0).out


def test_limit_and_more(node, tmp_path):
    objs = [ind("[ipv4-addr:value = '%s']" % IP) for _ in range(30)]
    imp(node, objs, tmp_path)
    ans = lookup(node, IP, "--limit", "10")
    assert len(ans["objects"]) == 10 and ans["more"] is True
    ans = lookup(node, IP)
    assert len(ans["objects"]) == 30 and ans["more"] is False


def test_the_index_is_derived(world, tmp_path):
    node, o = world
    want = found(lookup(node, IP))
    path = os.path.join(node.home, "lookup.db")
    for ext in ("", "-wal", "-shm"):
        if os.path.exists(path + ext):
            os.unlink(path + ext)
    assert found(lookup(node, IP)) == want  # rebuilt from the store
    # an index that is not one is named, with what to do
    for ext in ("", "-wal", "-shm"):
        if os.path.exists(path + ext):
            os.unlink(path + ext)
    with open(path, "w") as f:
        f.write("not a database, not even close" * 100)
    r = node.run("lookup", IP, check=2)
    assert "lookup.db" in r.err and "delete it" in r.err


def test_api_follows_imports_and_the_release_decision(node, tmp_path):
    coll = collection_id(node)
    srv = Server(node)
    try:
        own = Client(srv, add_user(node, "ana", "analyst"))
        other = Client(srv, add_user(node, "bob", "reader", org="Partner "
                                     "Bank"))
        none = Client(srv, add_user(node, "eve", "analyst"))
        metrics = Client(srv, add_user(node, "prom", "metrics"))
        grant(node, own, coll, "ana", "read")
        grant(node, other, coll, "bob", "read")
        objs = [ind("[ipv4-addr:value = '%s']" % IP, marking=m,
                    name="marked %d" % i)
                for i, m in enumerate([GREEN, AMBER, STRICT, RED])]
        sight = sdo("sighting", sighting_of_ref=objs[2]["id"], count=5,
                    object_marking_refs=[STRICT])
        imp(node, objs + [sight], tmp_path)
        # serve indexes what the CLI imported, within seconds
        deadline = time.time() + 20
        while time.time() < deadline:
            r = own.get(srv.base + "api/v1/lookup?value=" + IP)
            assert r.status_code == 200, r.text
            if r.json()["objects"]:
                break
            time.sleep(0.2)
        for c in (own, other, none):
            r = c.get(srv.base + "api/v1/lookup", params={"value": IP})
            assert r.status_code == 200, r.text
            got = {o["id"] for o in r.json()["objects"]}
            # exactly what the same account reads over TAXII
            t = c.get("collections/%s/objects/" % coll)
            seen = {x["id"] for x in t.json().get("objects", [])} \
                if t.status_code == 200 else set()
            want = {x["id"] for x in objs + [sight]} & seen
            assert got == want, (r.json(), seen)
            s = r.json()["summary"]
            assert s["objects"] == len(got)
            assert s["sightings"] == (1 if sight["id"] in got else 0)
            assert s["times_sighted"] == (5 if sight["id"] in got else 0)
        # the other organisation's reader is given less than our analyst,
        # and the account without a grant nothing
        ids = lambda c: {o["id"] for o in c.get(  # noqa: E731
            srv.base + "api/v1/lookup", params={"value": IP}).json()[
                "objects"]}
        assert objs[2]["id"] in ids(own) and objs[2]["id"] not in ids(other)
        assert sight["id"] not in ids(other)
        assert ids(none) == set()
        r = metrics.get(srv.base + "api/v1/lookup", params={"value": IP})
        assert r.status_code == 403
        r = own.get(srv.base + "api/v1/lookup", params={"value": "nope!"})
        assert r.status_code == 400 and "not a value lookup understands" \
            in r.json()["description"]
        r = own.get(srv.base + "api/v1/lookup")
        assert r.status_code == 400
        r = own.get(srv.base + "api/v1/lookup",
                    params={"value": IP, "limit": "0"})
        assert r.status_code == 400
        r = own.get(srv.base + "api/v1/lookup",
                    params={"value": IP, "limit": "2"})
        assert len(r.json()["objects"]) == 2 and r.json()["more"] is True
        r = Client(srv).get(srv.base + "api/v1/lookup",
                            params={"value": IP})
        assert r.status_code == 401
    finally:
        srv.stop()


# --------------------------------------------------------------------------
# strait search


KO = "북한 정찰총국 산하 라자루스 그룹은 암호화폐 거래소를 공격한다."
JA = "日韓の世論を分断するための偽ニュース"


@pytest.fixture
def texts(node, tmp_path):
    actor = sdo("intrusion-set", name="Lazarus Group", description=KO,
                aliases=["ラザルス", "APT38"])
    report = sdo("report", name="歴史問題に関する偽情報キャンペーン",
                 description=JA, published="2026-01-01T00:00:00Z",
                 object_refs=[actor["id"]])
    tr = sdo("language-content", object_ref=report["id"],
             object_modified=T,
             contents={"ko": {"name": "역사 문제에 관한 허위 정보 캠페인",
                              "description": "한일 여론을 분열시키기 위한 "
                                             "가짜 뉴스"}})
    other = sdo("malware", name="AppleJeus", is_family=True,
                description="Trojanised trading apps")
    imp(node, [actor, report, tr, other], tmp_path)
    return node, {"actor": actor, "report": report, "tr": tr,
                  "other": other}


def search(node, q, *extra, check=0):
    r = node.run("search", q, "--json", *extra, check=check)
    return r.json() if check == 0 else r


def ids(ans):
    return [o["id"] for o in ans["objects"]]


def test_search_in_three_languages(texts):
    node, o = texts
    assert ids(search(node, "라자루스")) == [o["actor"]["id"]]
    assert ids(search(node, "ラザルス")) == [o["actor"]["id"]]  # an alias
    assert ids(search(node, "lazarus GROUP")) == [o["actor"]["id"]]
    assert ids(search(node, "偽ニュース")) == [o["report"]["id"]]
    # a translation is found, and says what it translates
    ans = search(node, "가짜 뉴스")
    assert ids(ans) == [o["tr"]["id"]]
    assert ans["objects"][0]["translates"] == o["report"]["id"]
    assert "[가짜 뉴스]" in ans["objects"][0]["snippet"]
    # one or two characters: a scan, still found
    assert set(ids(search(node, "偽"))) == {o["report"]["id"]}
    assert set(ids(search(node, "북한"))) == {o["actor"]["id"]}
    r = node.run("search", "라자루스", check=0)
    assert "Lazarus Group" in r.out and "[라자루스]" in r.out
    r = search(node, "nowhere to be found", check=1)
    assert '"nowhere to be found": 0 objects' in node.run(
        "search", "nowhere to be found").out


def test_search_sees_the_latest_version_only(texts, tmp_path):
    node, o = texts
    renamed = dict(o["other"], name="TraderTraitor",
                   modified="2026-03-01T00:00:00.000Z")
    imp(node, [renamed], tmp_path, "v2.json")
    r = search(node, "AppleJeus", check=1)
    assert json.loads(r.out)["objects"] == []
    ans = search(node, "TraderTraitor")
    assert ids(ans) == [o["other"]["id"]]
    assert ans["objects"][0]["version"].startswith("2026-03-01")


def test_search_refuses_what_it_cannot_search(node):
    r = node.run("search", "x" * 300, check=2)
    assert "longer than 256 bytes" in r.err
    r = node.run("search", "tab\there", check=2)
    assert "control character at byte 3" in r.err
    r = node.run("search", check=2)
    assert "one TEXT expected" in r.err


def test_search_api_and_the_release_decision(texts, tmp_path):
    node, o = texts
    coll = collection_id(node)
    secret = sdo("report", name="라자루스 내부 보고", published=T,
                 object_refs=[o["actor"]["id"]],
                 object_marking_refs=[STRICT])
    imp(node, [secret], tmp_path, "secret.json")
    srv = Server(node)
    try:
        own = Client(srv, add_user(node, "ana", "analyst"))
        other = Client(srv, add_user(node, "bob", "reader",
                                     org="Partner Bank"))
        grant(node, own, coll, "ana", "read")
        grant(node, other, coll, "bob", "read")

        def found(c, q):
            r = c.get(srv.base + "api/v1/search", params={"q": q})
            assert r.status_code == 200, r.text
            return set(ids(r.json()))
        deadline = time.time() + 20
        while time.time() < deadline and not found(own, "라자루스"):
            time.sleep(0.2)
        assert found(own, "라자루스") == {o["actor"]["id"], secret["id"]}
        # GREEN goes to another organisation's reader; AMBER+STRICT is
        # for our organisation only
        assert found(other, "라자루스") == {o["actor"]["id"]}
        r = own.get(srv.base + "api/v1/search", params={"q": "a\x01b"})
        assert r.status_code == 400
        r = own.get(srv.base + "api/v1/search", params={"q": "x" * 300})
        assert r.status_code == 400 and "longer than 256" in r.text
        r = own.get(srv.base + "api/v1/search")
        assert r.status_code == 400
    finally:
        srv.stop()
