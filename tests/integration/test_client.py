"""What the OASIS taxii2-client does, against a real `strait serve`.

The client cannot be installed here, so `taxii2client_emu` reproduces the
behaviours that matter (its docstring lists them and says where they were
read): as_pages, Status.wait_until_final, the discovery walk, add_objects
with an envelope, TokenAuth and HTTP Basic, and filter keyword arguments.
"""
import datetime
import json

import pytest
import requests

from conftest import indicator, sid
from taxii_fixtures import (TAXII, Client, Server, add_user, collection_id,
                            grant, stop_clean)
import taxii2client_emu as emu

PASSWORD = "correct horse battery staple"


def malware(name="WannaCry-like"):
    return {"type": "malware", "spec_version": "2.1", "id": sid("malware"),
            "created": "2026-01-02T00:00:00.000Z",
            "modified": "2026-01-02T00:00:00.000Z", "name": name,
            "is_family": True,
            "object_marking_refs": [
                "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"]}


@pytest.fixture
def srv(node):
    node.admin = add_user(node, "admin", "admin")
    node.coll = collection_id(node)
    s = Server(node)
    yield s
    stop_clean(s)


def token_server(srv, token):
    return emu.Server(srv.discovery, auth=emu.TokenAuth(token))


def default_collection(srv, token):
    root = token_server(srv, token).default
    (coll,) = root.collections
    return coll


def ids(envelopes):
    out = []
    for env in envelopes:
        out += [o["id"] for o in env.get("objects", [])]
    return out


# ------------------------------------------------------- the emulation itself


def test_emulated_as_pages_restarts_on_missing_next():
    """The behaviour the server must never trigger, shown on a stub: a page
    saying `more` without `next` makes the client ask for page one again,
    for ever (bounded here by max_pages)."""
    calls = []

    def stub(limit=None, next=None):
        calls.append((limit, next))
        return {"more": True, "objects": [{"id": "x--1"}, {"id": "x--2"}]}

    pager = emu.Pager(stub, 2, max_pages=5)
    with pytest.raises(emu.PagingLoop):
        list(pager)
    assert pager.restarts == 4
    assert calls[1:] == [(2, "")] * 4
    # With the client's own query building, that empty `next` is dropped.
    assert emu.query_params({"limit": 2, "next": ""}) == {"limit": 2}


def test_emulated_as_pages_shrinks_limit_to_first_page():
    pages = [{"more": True, "next": "a", "objects": [1] * 300},
             {"more": True, "next": "b", "objects": [1] * 300},
             {"more": False, "objects": [1] * 7}]
    seen = []

    def stub(limit=None, next=None):
        seen.append((limit, next))
        return pages[len(seen) - 1]

    pager = emu.Pager(stub, 1000)
    assert [len(p["objects"]) for p in pager] == [300, 300, 7]
    assert seen == [(1000, None), (300, "a"), (300, "b")]
    assert pager.restarts == 0


def test_emulated_filter_kwargs():
    q = emu.query_params({
        "type": ["indicator", "malware"], "id": "indicator--1",
        "version": [datetime.datetime(2026, 1, 1, 0, 0, 0, 500000), "last"],
        "added_after": datetime.datetime(
            2026, 1, 1, tzinfo=datetime.timezone.utc),
        "spec_version": None, "limit": 10, "next": "tok"})
    assert q == {"match[type]": "indicator,malware",
                 "match[id]": "indicator--1",
                 "match[version]": "2026-01-01T00:00:00.5Z,last",
                 "added_after": "2026-01-01T00:00:00Z",
                 "limit": 10, "next": ["tok"]}
    with pytest.raises(emu.InvalidArgumentsError):
        emu.query_params({"added_after": ["a", "b"]})


# ------------------------------------------------------------ discovery walk


def test_discovery_walk(srv, node):
    server = token_server(srv, node.admin)
    assert server.title == "strait node TEST"
    assert len(server.api_roots) == 1
    root = server.api_roots[0]
    assert server.default is root
    # The API root URL is absolute and points back at this server.
    assert root.url == srv.root
    assert root.title and TAXII in root.versions
    assert root.max_content_length == 10485760
    (coll,) = root.collections
    assert coll.id == node.coll and coll.url == srv.root + \
        "collections/%s/" % node.coll
    assert coll.can_read is True and coll.can_write is True
    assert coll.title
    # The API root's own connection made exactly two requests, both GETs
    # that passed the client's Content-Type check.
    assert [(m, u) for m, u, _ in root._conn.log] == [
        ("GET", srv.root), ("GET", srv.root + "collections/")]


def test_walk_reads_can_read_and_can_write(srv, node):
    reader = add_user(node, "reader", "reader")
    writer = add_user(node, "writer", "analyst")
    # A reader with no grant sees no collection at all.
    assert token_server(srv, reader).default.collections == []
    grant(node, Client(srv, reader), node.coll, "reader", "read")
    grant(node, Client(srv, writer), node.coll, "writer", "write")
    coll = default_collection(srv, reader)
    assert (coll.can_read, coll.can_write) == (True, False)
    # The client refuses locally, from can_write...
    with pytest.raises(emu.AccessError):
        coll.add_objects({"objects": [indicator()]})
    # ...and the server agrees if asked anyway.
    r = Client(srv, reader).post("collections/%s/objects/" % node.coll,
                                 {"objects": [indicator()]})
    assert r.status_code == 403
    wcoll = default_collection(srv, writer)
    assert (wcoll.can_read, wcoll.can_write) == (True, True)
    st = wcoll.add_objects({"objects": [indicator()]}, poll_interval=0.1,
                           timeout=10)
    assert st.status == "complete" and st.success_count == 1
    assert len(coll.get_objects()["objects"]) >= 1


# ------------------------------------------------- add_objects and the status


def test_add_objects_and_wait_until_final(srv, node):
    coll = default_collection(srv, node.admin)
    good = [indicator(value="198.51.100.%d" % i) for i in range(3)]
    bad = indicator(value="198.51.100.99")
    bad["valid_from"] = "not a timestamp"
    st = coll.add_objects({"objects": good + [bad]},
                          wait_for_completion=False)
    # The status URL the client builds: ../../status/<id>/ from the
    # collection URL.
    assert st.url == srv.root + "status/%s/" % st.id
    assert st.status == "complete"
    assert (st.total_count, st.success_count, st.failure_count,
            st.pending_count) == (4, 3, 1, 0)
    assert {s["id"] for s in st.successes} == {o["id"] for o in good}
    assert st.failures[0]["id"] == bad["id"]
    assert "valid_from" in st.failures[0]["message"]

    # wait_until_final polls the status endpoint until "complete": start it
    # from a status the client believes pending.
    pending = dict(st.raw, status="pending")
    waiting = emu.Status(st.url, conn=coll._conn, status_info=pending)
    before = len(coll._conn.log)
    waiting.wait_until_final(poll_interval=0.05, timeout=10)
    assert waiting.status == "complete" and bool(waiting)
    polls = [u for m, u, _ in coll._conn.log[before:] if m == "GET"]
    assert polls == [st.url]
    assert waiting.raw == st.raw

    # A fresh Status reads the endpoint itself (through the API root too).
    again = emu.Status(st.url, auth=emu.TokenAuth(node.admin))
    assert again.raw == st.raw
    root = token_server(srv, node.admin).default
    assert root.get_status(st.id).raw == st.raw

    # add_objects with waiting (the default) on a complete status: no polls.
    before = len(coll._conn.log)
    st2 = coll.add_objects(json.dumps({"objects": [indicator()]}),
                           poll_interval=0.05, timeout=10)
    assert st2.status == "complete"
    assert [m for m, _, _ in coll._conn.log[before:]] == ["POST"]


def test_status_belongs_to_its_creator(srv, node):
    coll = default_collection(srv, node.admin)
    st = coll.add_objects({"objects": [indicator()]})
    other = add_user(node, "other", "admin")
    with pytest.raises(requests.HTTPError) as e:
        emu.Status(st.url, auth=emu.TokenAuth(other))
    assert e.value.response.status_code == 404


# ------------------------------------------------------------------- paging


N = 2500


@pytest.fixture
def loaded(srv, node):
    """2,500 indicators and 40 malware objects in the default collection."""
    coll = default_collection(srv, node.admin)
    node.indicators = [indicator(value="10.%d.%d.%d" % (i >> 16,
                                                        (i >> 8) & 255,
                                                        i & 255))
                       for i in range(N)]
    node.malware = [malware("family %d" % i) for i in range(40)]
    st = coll.add_objects({"objects": node.indicators + node.malware},
                          poll_interval=0.1, timeout=120)
    assert st.status == "complete" and st.success_count == N + 40, \
        st.failures[:3]
    return coll


def test_as_pages_2500_objects_limit_1000(srv, node, loaded):
    pager = emu.Pager(loaded.get_objects, 1000, type="indicator")
    pages = list(pager)
    got = ids(pages)
    assert [len(p["objects"]) for p in pages] == [1000, 1000, 500]
    assert len(got) == N and set(got) == {o["id"] for o in node.indicators}
    assert pager.restarts == 0
    assert pager.limits == [1000, 1000, 1000]
    assert pager.nexts[0] is None and all(pager.nexts[1:])
    assert all(p["more"] for p in pages[:-1]) and not pages[-1]["more"]
    assert "next" not in pages[-1] or not pages[-1]["next"]


def test_as_pages_default_limit_shrinks_to_first_page(srv, node, loaded):
    """as_pages(func) with the default per_request=0 sends no limit first
    (0 is dropped); strait answers its default page of 1000 with `more`,
    and the client adopts 1000 as its limit from then on."""
    pager = emu.Pager(loaded.get_objects)
    pages = list(pager)
    got = ids(pages)
    assert pager.limits == [None, 1000, 1000]
    assert pager.restarts == 0
    assert len(got) == len(set(got))
    mine = {o["id"] for o in node.indicators + node.malware}
    assert mine <= set(got)
    # Only objects of the node's own (its identity) besides ours.
    assert all(i.startswith("identity--") for i in set(got) - mine)


def test_as_pages_small_limits_and_manifest(srv, node, loaded):
    # An odd limit: every page full but the last, nothing twice.
    pager = emu.Pager(loaded.get_objects, 333, type="indicator")
    got = ids(pager)
    assert len(got) == N and len(set(got)) == N and pager.restarts == 0
    assert len(pager.limits) == 8 and set(pager.limits) == {333}
    # The manifest pages the same way (its records are under "objects").
    pager = emu.Pager(loaded.get_manifest, 1000, type="indicator")
    pages = list(pager)
    recs = [r for p in pages for r in p["objects"]]
    assert [len(p["objects"]) for p in pages] == [1000, 1000, 500]
    assert {r["id"] for r in recs} == {o["id"] for o in node.indicators}
    assert pager.restarts == 0
    # A limit above what exists: one page, no more.
    pager = emu.Pager(loaded.get_objects, 5000, type="malware")
    pages = list(pager)
    assert len(pages) == 1 and not pages[0]["more"]
    assert len(pages[0]["objects"]) == 40


def test_filter_kwargs_against_strait(srv, node, loaded):
    coll = loaded
    only = coll.get_objects(type="malware")
    assert {o["id"] for o in only["objects"]} == \
        {o["id"] for o in node.malware}
    both = emu.Pager(coll.get_objects, 1000, type=["malware", "indicator"])
    assert len(ids(both)) == N + 40
    one = node.indicators[7]
    env = coll.get_objects(id=one["id"])
    assert [o["id"] for o in env["objects"]] == [one["id"]]
    env = coll.get_objects(id=[one["id"], node.malware[0]["id"]],
                           version="all", spec_version="2.1")
    assert len(env["objects"]) == 2
    # get_object and object_versions take the same kwargs.
    assert coll.get_object(one["id"], version="first")["objects"][0][
        "id"] == one["id"]
    v = coll.object_versions(one["id"])
    assert len(v["versions"]) == 1 and \
        v["versions"][0].startswith("2026-01-01T00:00:00")
    # added_after as a datetime: a time after everything matches nothing.
    later = datetime.datetime.now(datetime.timezone.utc) + \
        datetime.timedelta(days=1)
    env = coll.get_objects(added_after=later, type="malware")
    assert env.get("objects", []) == [] and not env.get("more")
    # A malformed filter value is the server's 400, raised by the client.
    with pytest.raises(requests.HTTPError) as e:
        coll.get_objects(version="yesterday")
    assert e.value.response.status_code == 400


# --------------------------------------------------------------------- auth


def test_token_auth_and_basic(srv, node):
    add_user(node, "basic", "admin", password=PASSWORD)
    # TokenAuth sends "Authorization: Token <key>".
    sent = {}

    class Spy(emu.TokenAuth):
        def __call__(self, r):
            r = super().__call__(r)
            sent["auth"] = r.headers["Authorization"]
            return r

    server = emu.Server(srv.discovery, auth=Spy(node.admin))
    assert server.title
    assert sent["auth"] == "Token " + node.admin
    # HTTP Basic through the whole walk and an add.
    server = emu.Server(srv.discovery, user="basic", password=PASSWORD)
    (coll,) = server.default.collections
    assert coll._conn.session.auth.username == "basic"
    st = coll.add_objects({"objects": [indicator()]}, poll_interval=0.1,
                          timeout=10)
    assert st.status == "complete"
    assert len(emu.Pager(coll.get_objects, 1000).__iter__().__next__()[
        "objects"]) >= 1
    # Wrong credentials of either kind: the client raises the server's 401.
    for bad in (dict(auth=emu.TokenAuth("strait_" + "Z" * 43)),
                dict(user="basic", password="wrong password")):
        with pytest.raises(requests.HTTPError) as e:
            emu.Server(srv.discovery, **bad).title
        assert e.value.response.status_code == 401
    # Both schemes on one request are refused by the client itself.
    with pytest.raises(emu.InvalidArgumentsError):
        emu.Server(srv.discovery, user="basic", password=PASSWORD,
                   auth=emu.TokenAuth(node.admin))


def test_client_content_type_check_rejects_other_types(srv, node):
    """The client's check is strict about the version parameter; strait's
    answers pass it for the exact Accept the client sends, and a request
    for another TAXII version is a 406 the client raises."""
    conn = emu.Connection(auth=emu.TokenAuth(node.admin))
    assert conn.get(srv.discovery)["title"]
    with pytest.raises(requests.HTTPError) as e:
        conn.get(srv.discovery, headers={
            "Accept": "application/taxii+json;version=2.0"})
    assert e.value.response.status_code == 406
    assert not emu.Connection.content_type_ok(
        "application/json", emu.MEDIA_TYPE_TAXII_V21)
    assert emu.Connection.content_type_ok(
        "application/taxii+json; version=2.1", emu.MEDIA_TYPE_TAXII_V21)
