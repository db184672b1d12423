"""Federation between real nodes: three `strait serve` processes (KR, JP,
US) on loopback, linked as partners with sharing policies, exchanging
objects by push, relay and catch-up; a feed peer; a hostile peer; and
SIGKILL in the middle of delivery.

What is asserted is what an operator would see: which objects each node
holds (`strait export --all-versions`, `strait get`), what each node
reports (`strait quarantine list`, `strait peer status`, `strait peer
sent`), and that every server stops cleanly at the end (no sanitizer
report in the ASan+UBSan build).

Delivery is in log order, so "a withheld object never arrives" is known
once a later object that is released (a sentinel) has arrived.
"""
import os
import socket
import threading
import time

import pytest

import fed_fixtures as ff
from fed_fixtures import (FedNode, TLP, TLP1_WHITE, indicator, link, sdo,
                          set_policy, wait_held, wait_until)

FULL = ["clear", "green", "amber", "amber+strict"]
TO_AMBER = ["clear", "green", "amber"]


class Fed:
    """The nodes and helper servers of one test; all stopped at the end
    (each node's stop asserted clean: exit 0, no sanitizer report)."""

    def __init__(self, root):
        self.root = root
        self.nodes = {}
        self.servers = []

    def node(self, name, country=None, node_name=None, org=None):
        n = FedNode(self.root, name, country, node_name, org).init()
        self.nodes[name] = n
        return n

    def triangle(self, policies, names=("kr", "jp", "us")):
        return list(ff.triangle(self.root, policies, names,
                                make=self.node).values())

    def close(self):
        for s in self.servers:
            s.close()
        errors = []
        for n in self.nodes.values():
            try:
                n.stop(check=True)
            except AssertionError as e:
                errors.append(str(e))
        for n in self.nodes.values():
            rep = ff.sanitizer_report(n.all_logs())
            if rep:
                errors.append("%s: %s" % (n.name, rep))
        assert not errors, "\n".join(errors)


@pytest.fixture
def fed(tmp_path):
    f = Fed(tmp_path)
    yield f
    f.close()


def ids(objs):
    return {o["id"] for o in objs}


def held_of(node, universe):
    """The ids of `universe` that node holds."""
    return node.held_ids() & set(universe)


def no_duplicates(node):
    """Each (id, version) stored once, and `node show` counts agree."""
    got = node.export()
    assert len(got) == len(set(got)), [k for k in got if got.count(k) > 1]
    # `node show` counts every version, the node's own identity (in no
    # collection) too.
    own = 0 if node.identity in {i for i, _ in got} else 1
    assert node.versions_count() == len(got) + own, (node.name, got)
    return got


def flush(src, dst, tlp="green"):
    """src makes an object its policy for dst releases; once dst holds it,
    src's sender to dst has passed everything src held before it."""
    o = indicator(tlp, name="sentinel %s to %s" % (src.name, dst.name))
    src.import_objects([o])
    wait_held(dst, [o["id"]], what="%s's sentinel at %s" % (src.name,
                                                          dst.name))
    return o


def pushed(src, dst):
    """Versions src delivered to dst by push, over all its records."""
    return sum(r["count"] for r in src.sent(dst) if r["path"] == "push")


def change_policy(a, name, tlp, relay_green=False):
    """`strait peer policy` on a running node, then waits until its
    sender applies it: it decides again from the start of the log and
    sends what the new policy admits (here always something: at least
    the node's identity), which `strait peer sent` shows."""
    before = pushed(a, name)
    set_policy(a, name, tlp, relay_green)
    wait_until(lambda: pushed(a, name) > before,
               what="%s to apply its new policy for %s" % (a.name, name))


def quiet(*nodes):
    """Nothing quarantined, no dead letters, anywhere."""
    for n in nodes:
        assert n.quarantine() == [], (n.name, n.quarantine())
        for p in n.cli_json("peer", "status"):
            if p["dead_letters"]:
                dl = n.cli_json("peer", "deadletter", p["name"])
                assert p["dead_letters"] == 0, (n.name, p["name"], dl)


STANDARD = {
    ("kr", "jp"): (FULL, True),
    ("kr", "us"): (TO_AMBER, False),
    ("jp", "kr"): (TO_AMBER, False),
    ("jp", "us"): (TO_AMBER, False),
    ("us", "kr"): (TO_AMBER, False),
    ("us", "jp"): (TO_AMBER, False),
}


def test_red_goes_only_to_the_partners_an_import_names(fed):
    """Our TLP:RED leaves the node only for the partners `strait import
    --red-to` names (their policies granting red too); the partner holds
    it and never relays it."""
    red_too = FULL + ["red"]
    pol = dict(STANDARD)
    pol[("kr", "jp")] = (red_too, True)
    pol[("kr", "us")] = (red_too, False)
    pol[("jp", "us")] = (red_too, True)
    kr, jp, us = fed.triangle(pol)
    named = indicator("red", name="RED for JP only")
    unnamed = indicator("red", name="RED that names nobody")
    kr.import_objects([named], "--red-to", "jp")
    kr.import_objects([unnamed])
    wait_held(jp, [named["id"]], what="KR's RED at the partner it names")
    flush(kr, jp)
    flush(kr, us)
    flush(jp, us)
    assert not jp.has(unnamed["id"])
    assert not us.has(named["id"]) and not us.has(unnamed["id"])
    r = kr.cli("policy", "explain", named["id"], "--to", "us", check=False)
    assert r.returncode == 1, r  # 1: withheld
    assert "WITHHELD: TLP:RED and not a named recipient" in r.stdout, r
    out = kr.cli("policy", "explain", named["id"], "--to", "jp").stdout
    assert "RELEASED" in out, out
    # a name that is no partner is refused before anything is read
    r = kr.cli("import", "--red-to", "nobody", "/dev/null", check=False)
    assert r.returncode == 2 and "no partner 'nobody'" in r.stderr, r
    quiet(kr, jp, us)


# ---------------------------------------------------------------------------
# 1. The release table, every row, through push.

def test_release_table_through_push(fed):
    kr, jp, us = fed.triangle(STANDARD)
    custom = {"type": "marking-definition", "spec_version": "2.1",
              "id": ff.sid("marking-definition"),
              "created": "2026-01-01T00:00:00.000Z",
              "definition_type": "statement",
              "definition": {"statement": "KR national caveat: NOFORN"}}
    rows = {
        "clear": indicator("clear"),
        "green": indicator("green"),
        "amber": indicator("amber"),
        "amber+strict": indicator("amber+strict"),
        "red": indicator("red"),
        "unmarked": indicator(None),
        "custom": indicator(markings=[custom["id"]]),
        "green+custom": indicator(markings=[TLP["green"], custom["id"]]),
        "tlp1-white": indicator(markings=[TLP1_WHITE]),
        "granular-red": indicator(
            "green", description="the part only named recipients may see",
            granular_markings=[{"marking_ref": TLP["red"],
                                "selectors": ["description"]}]),
        "green+amber": indicator(markings=[TLP["green"], TLP["amber"]]),
        "green+amber+strict": indicator(markings=[TLP["green"],
                                                  TLP["amber+strict"]]),
    }
    universe = ids(rows.values()) | {custom["id"]}
    kr.import_objects([custom] + list(rows.values()))
    # Delivery is in log order: a later released object at JP and US
    # means the rows were decided and passed.
    sent = flush(kr, jp)
    wait_held(us, [sent["id"]])
    # JP relays (CLEAR; GREEN KR allowed): its own later object at US
    # means JP's sender passed what it relays. The same from US to JP.
    flush(jp, us)
    flush(us, jp)
    universe |= {sent["id"]}
    to_jp = {"clear", "green", "amber", "amber+strict", "unmarked",
             "tlp1-white", "green+amber", "green+amber+strict"}
    to_us = {"clear", "green", "amber", "unmarked", "tlp1-white",
             "green+amber"}
    # The marking definition itself is an unmarked object: the node's
    # default, AMBER.
    want_jp = {rows[k]["id"] for k in to_jp} | {custom["id"], sent["id"]}
    want_us = {rows[k]["id"] for k in to_us} | {custom["id"], sent["id"]}
    got_jp, got_us = held_of(jp, universe), held_of(us, universe)
    name = {v["id"]: k for k, v in rows.items()}
    name[custom["id"]] = "marking-definition"
    name[sent["id"]] = "sentinel"
    assert got_jp == want_jp, ("JP", sorted(name[i] for i in got_jp ^
                                            want_jp))
    assert got_us == want_us, ("US", sorted(name[i] for i in got_us ^
                                            want_us))
    # What was withheld is held at KR and nowhere else (`strait get`).
    for k in ("red", "custom", "green+custom", "granular-red"):
        assert kr.has(rows[k]["id"]) and not jp.has(rows[k]["id"]) and \
            not us.has(rows[k]["id"]), k
    # The unmarked object travels as the marking it was released under.
    for n in (jp, us):
        v = n.get_json(rows["unmarked"]["id"])["versions"]
        assert [x["tlp"] for x in v] == ["AMBER"], (n.name, v)
        v = n.get_json(rows["tlp1-white"]["id"])["versions"]
        assert [x["tlp"] for x in v] == ["CLEAR"], (n.name, v)
    for n in (kr, jp, us):
        no_duplicates(n)
    quiet(kr, jp, us)


# ---------------------------------------------------------------------------
# 2. References: a version goes only where everything it references goes.

def test_references_withhold(fed):
    kr, jp, us = fed.triangle(STANDARD)
    red = indicator("red", name="inside an operation")
    actor = sdo("intrusion-set", "green", name="Example Group")
    rel = sdo("relationship", "green", relationship_type="indicates",
              source_ref=red["id"], target_ref=actor["id"])
    strict = indicator("amber+strict", name="seen only at a KR victim")
    sighting = sdo("sighting", "green", sighting_of_ref=strict["id"],
                   count=3)
    strict2 = indicator("amber+strict")
    plain = indicator("green")
    report = sdo("report", "green", name="weekly", published=ff.stamp(),
                 report_types=["threat-report"],
                 object_refs=[plain["id"], strict2["id"]])
    ident = sdo("identity", "amber+strict", name="a KR source",
                identity_class="individual")
    authored = indicator("green", created_by_ref=ident["id"])
    # Referencing objects first: the decision must not depend on the
    # order of the bundle.
    objs = [rel, sighting, report, authored, red, actor, strict, strict2,
            plain, ident]
    kr.import_objects(objs)
    sent = flush(kr, jp)
    wait_held(us, [sent["id"]])
    flush(jp, us)
    flush(us, jp)
    universe = ids(objs)
    name = {rel["id"]: "relationship to RED", red["id"]: "RED",
            actor["id"]: "actor", strict["id"]: "AMBER+STRICT indicator",
            sighting["id"]: "sighting of it", strict2["id"]:
            "AMBER+STRICT in report", plain["id"]: "GREEN in report",
            report["id"]: "report", ident["id"]: "AMBER+STRICT identity",
            authored["id"]: "created by it"}
    want_jp = {actor["id"], strict["id"], sighting["id"], strict2["id"],
               plain["id"], report["id"], ident["id"], authored["id"]}
    want_us = {actor["id"], plain["id"]}
    got_jp, got_us = held_of(jp, universe), held_of(us, universe)
    assert got_jp == want_jp, ("JP", sorted(name[i] for i in got_jp ^
                                            want_jp))
    assert got_us == want_us, ("US", sorted(name[i] for i in got_us ^
                                            want_us))
    for n in (kr, jp, us):
        no_duplicates(n)
    quiet(kr, jp, us)


# ---------------------------------------------------------------------------
# 3. Relay through the third node.

def test_relay(fed):
    pol = dict(STANDARD)
    pol[("kr", "jp")] = (TO_AMBER, False)
    pol[("kr", "us")] = ([], False)  # KR sends US nothing directly
    kr, jp, us = fed.triangle(pol)
    # KR's policy for JP does not let JP relay KR's GREEN.
    c1, g1, a1 = indicator("clear"), indicator("green"), indicator("amber")
    kr.import_objects([c1, g1, a1])
    wait_held(jp, ids([c1, g1, a1]))
    s1 = flush(jp, us)
    assert us.has(c1["id"]), "CLEAR not relayed by JP"
    assert not us.has(g1["id"]), "GREEN relayed without KR's permission"
    assert not us.has(a1["id"]), "AMBER relayed"
    # KR now lets JP relay its GREEN: what KR sends from now on goes on.
    change_policy(kr, "jp", TO_AMBER, relay_green=True)
    c2, g2, a2 = indicator("clear"), indicator("green"), indicator("amber")
    kr.import_objects([c2, g2, a2])
    wait_held(jp, ids([c2, g2, a2]))
    s2 = flush(jp, us)
    assert us.has(c2["id"]) and us.has(g2["id"]), "not relayed"
    assert not us.has(a2["id"]) and not us.has(a1["id"]), "AMBER relayed"
    # g1 was first recorded at JP without permission to relay: the first
    # record of a version wins (docs/FEDERATION.md, Provenance).
    assert not us.has(g1["id"])
    # KR released nothing to US on any path.
    assert kr.sent("us") == []
    # KR's direct link to US opens: what it admits is backfilled; the
    # versions US already has through JP are not stored again.
    change_policy(kr, "us", TO_AMBER)
    k3 = flush(kr, us)
    j3 = flush(jp, us)
    j4 = flush(jp, kr)
    u3 = flush(us, kr)
    u4 = flush(us, jp)
    kr_own = ids([c1, g1, a1, c2, g2, a2, k3])
    jp_own = ids([s1, s2, j3, j4])
    us_own = ids([u3, u4])
    universe = kr_own | jp_own | us_own
    identities = {kr.identity, jp.identity, us.identity}
    want = {"kr": kr_own | jp_own | us_own,
            "jp": kr_own | jp_own | us_own,
            "us": kr_own | jp_own | us_own}
    # Delivery is asynchronous: a node's sentinel reaching one partner
    # says nothing of the other (US's u4 reaches KR from US itself, not
    # through JP). Everything first, then exactly that.
    for n in (kr, jp, us):
        wait_held(n, want[n.name] | (identities - {n.identity}))
    for n in (kr, jp, us):
        got = no_duplicates(n)
        held = {i for i, _ in got}
        assert held & universe == want[n.name], (
            n.name, sorted(held & universe ^ want[n.name]))
        # and the partners' identities (its own is in no collection)
        assert held - universe == identities - {n.identity}, (
            n.name, held - universe)
    # Nothing went back to the node that made it: what JP and US pushed
    # to KR is exactly what they made (their identity and sentinels),
    # and perhaps the third node's identity (TLP:CLEAR, so relayable; not
    # relayed when its origin's batch already said it delivers it to KR
    # itself, which depends on which of the origin's deciders ran first):
    # neither KR's objects they hold nor what the other did not let them
    # relay.
    assert pushed(jp, "kr") - len(jp_own) in (1, 2), jp.sent("kr")
    assert pushed(us, "kr") - len(us_own) in (1, 2), us.sent("kr")
    for src, dst, own in ((jp, kr, kr_own), (us, kr, kr_own),
                          (us, jp, jp_own), (kr, jp, jp_own | us_own),
                          (kr, us, jp_own | us_own)):
        for r in src.sent(dst.name):
            assert r["first_id"] not in own, (src.name, dst.name, r)
    quiet(kr, jp, us)


def assert_not_sent(src, dst, objs, why):
    """Once src's sender to dst has passed them (a sentinel arrived), none
    of objs went from src to dst: not pushed (src's release records), not
    served to dst's account reading src."""
    s = flush(src, dst)
    r = src.request("GET", src.objects_url(), token=src.tokens[dst.name])
    assert r.status_code == 200, r.text
    served = {o["id"] for o in r.json().get("objects", [])}
    assert s["id"] in served, served
    assert not served & ids(objs), why
    for rec in src.sent(dst.name):
        assert rec["first_id"] not in ids(objs), (why, rec)


def test_what_its_origin_sends_itself_is_not_relayed(fed):
    """KR gives its GREEN to JP, with leave to relay it, and to US, and JP
    gives US its GREEN. KR's batches to JP say (signed) that KR delivers
    them to US itself, so JP does not send them to US again: not by push,
    not to US's account reading JP. test_relay is the other side: what
    KR does not give US, JP relays."""
    pol = dict(STANDARD)
    pol[("kr", "jp")] = (TO_AMBER, True)
    pol[("jp", "us")] = (TO_AMBER, True)
    kr, jp, us = fed.triangle(pol)
    # JP away while KR decides for both: its batches to JP then say so
    # (a batch decided for JP before it is for US cannot, and is relayed).
    jp.stop()
    g = [indicator("green") for _ in range(5)]
    kr.import_objects(g)
    wait_held(us, ids(g))
    last = kr.versions_count()
    wait_until(lambda: kr.peer_status("jp")["decided"] >= last,
               what="KR to decide for JP")
    jp.start()
    wait_held(jp, ids(g))
    assert_not_sent(jp, us, g, "JP relays what KR sends US itself")
    # US has each once, from KR
    no_duplicates(us)
    quiet(kr, jp, us)


def test_what_came_from_a_partner_does_not_go_back_to_it(fed):
    """KR gives JP nothing and US its GREEN with leave to relay; US relays
    it to JP, and JP, which may relay GREEN to US, does not send it back
    to US, where it came from."""
    pol = dict(STANDARD)
    pol[("kr", "jp")] = ([], False)
    pol[("kr", "us")] = (TO_AMBER, True)
    pol[("jp", "us")] = (TO_AMBER, True)
    kr, jp, us = fed.triangle(pol)
    g = [indicator("green") for _ in range(3)]
    kr.import_objects(g)
    wait_held(jp, ids(g))  # through US: KR sends JP nothing
    assert all(r["first_id"] not in ids(g) for r in kr.sent("jp"))
    assert_not_sent(jp, us, g, "JP sends US back what came from US")
    no_duplicates(us)
    quiet(kr, jp, us)


# ---------------------------------------------------------------------------
# 4. Catch-up.

PAIR = {("kr", "jp"): (FULL, False), ("jp", "kr"): (TO_AMBER, False)}


def marking_row():
    return {t: indicator(t) for t in ff.LEVELS}


def test_catch_up_after_partner_was_down(fed):
    kr, jp = fed.triangle(PAIR, names=("kr", "jp"))
    before = indicator("green")
    kr.import_objects([before])
    wait_held(jp, [before["id"]])
    jp.stop()
    rows = marking_row()
    kr.import_objects(list(rows.values()))
    # KR notices: its sender to JP fails and says so. JP stays down long
    # enough for KR's backoff to grow past 6 s (0.1 s doubling).
    wait_until(lambda: kr.peer_status("jp")["down_since"], what="JP down")
    time.sleep(7)
    back = ff.norm_ts(ff.stamp())
    jp.start()  # same home, same port
    after = flush(kr, jp)
    want = ids([before, after]) | {rows[t]["id"] for t in FULL}
    universe = want | {rows["red"]["id"]}
    assert held_of(jp, universe) == want
    no_duplicates(jp)
    st = wait_until(lambda: (lambda p: p if p["queue"] == 0 and
                             p["down_since"] is None else None)(
        kr.peer_status("jp")), what="KR's queue for JP to drain")
    assert st["delivered"] == st["decided"]
    # KR's push resumed as soon as JP called it, not when its backoff
    # ended, so JP did not read KR's collections again: catch-up waits
    # 2 s for a partner's pushes to start (test_catch_up_alone covers a
    # partner whose pushes never come).
    since = [r for r in kr.sent("jp") if ff.norm_ts(r["at"]) >= back]
    assert {r["path"] for r in since} == {"push"}, kr.sent("jp")
    quiet(kr, jp)


def threads(node):
    """(name, nice) of each thread of node's server, from /proc."""
    out = []
    base = "/proc/%d/task" % node.proc.pid
    for tid in os.listdir(base):
        try:
            with open("%s/%s/stat" % (base, tid)) as f:
                stat = f.read()
        except OSError:
            continue  # ended meanwhile
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        # field 19 (nice), counted after the ")" that ends the name
        out.append((name, int(stat[stat.rindex(")") + 2:].split()[16])))
    return out


def test_backlog_decided_at_low_priority(fed):
    """A single object's decision is made at normal priority; a backlog
    (here an import while the partner is down) by a thread of its own at
    nice 10, which ends with the backlog; everything is decided and
    delivered."""
    kr, jp = fed.triangle(PAIR, names=("kr", "jp"))
    flush(kr, jp)
    names = dict(threads(kr))
    assert names.get("decide:jp") == 0, names
    assert "send:jp" in names and "federation" in names, names
    jp.stop()
    rows = [indicator("green") for _ in range(20000)]
    seen = set()
    done = threading.Event()

    def watch():
        while not done.is_set():
            seen.update(t for t in threads(kr) if t[0] == "backlog:jp")

    w = threading.Thread(target=watch)
    w.start()
    try:
        kr.import_objects(rows)
        total = kr.versions_count()
        wait_until(lambda: kr.peer_status("jp")["decided"] >= total,
                   what="KR deciding the import for JP")
    finally:
        done.set()
        w.join()
    assert seen == {("backlog:jp", 10)}, seen
    wait_until(lambda: "backlog:jp" not in dict(threads(kr)),
               what="the backlog thread to end")
    assert dict(threads(kr)).get("decide:jp") == 0
    jp.start()
    # Up to three batches are in flight and may land in either order: a
    # sentinel's arrival does not prove the earlier batches landed, so
    # wait for all of them.
    wait_held(jp, ids(rows), what="the 20,000 versions at JP")
    quiet(kr, jp)


def dead_url():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return "http://127.0.0.1:%d/taxii2/" % port


def test_catch_up_alone(fed):
    """KR cannot reach JP (its entry for JP names a dead address); JP can
    reach KR: JP gets what KR releases to it by catching up on start."""
    kr = fed.node("kr", "KR", "NCSC")
    jp = fed.node("jp", "JP", "NISC")
    kr.account_for(jp)
    jp.account_for(kr)
    kr.start()
    jp.start()
    link(kr, jp, FULL, url=dead_url())
    link(jp, kr, TO_AMBER)
    # KR learns JP's identity from JP's attested push (it never reached
    # JP itself): it can decide for JP from then on.
    wait_until(lambda: kr.peer_status("jp")["identity"] == jp.identity,
               what="KR to learn JP's identity")
    assert kr.peer_status("jp")["last_error"]
    rows = marking_row()
    kr.import_objects(list(rows.values()))
    # Released to JP and waiting: KR's queue for JP says so.
    wait_until(lambda: kr.peer_status("jp")["queue"] >= len(FULL),
               what="KR to decide for JP while it cannot reach it")
    jp.stop()
    jp.start()
    want = {rows[t]["id"] for t in FULL}
    try:
        wait_held(jp, want, what="KR's objects at JP by catch-up")
    except AssertionError:
        pass
    got = held_of(jp, ids(rows.values()))
    assert got == want, ("caught up", sorted(
        t for t in rows if rows[t]["id"] in got), "KR's peer status",
        kr.peer_status("jp"))
    no_duplicates(jp)
    # It went by JP's read of KR's collection, recorded as released.
    assert [r for r in kr.sent("jp") if r["path"] == "taxii"], kr.sent("jp")
    quiet(kr, jp)


# ---------------------------------------------------------------------------
# 5. A feed peer: a plain TAXII source.

def test_feed_peer(fed):
    kr, jp = fed.triangle({("kr", "jp"): (FULL, True),
                           ("jp", "kr"): (TO_AMBER, False)},
                          names=("kr", "jp"))
    fd = fed.node("feed", "DE", "FEED", "A vendor feed")
    # KR reads the feed with an ordinary account (another organisation).
    fd.add_account("kr", "analyst", org="National Cyber Security Center")
    clear, green = indicator("clear"), indicator("green")
    unmarked, strict = indicator(None), indicator("amber+strict")
    fd.import_objects([clear, green, unmarked, strict])
    fd.start()
    # A plain TAXII view: what KR's account reads there has no
    # attestation beside it.
    r = fd.request("GET", fd.objects_url(), token=fd.tokens["kr"])
    assert r.status_code == 200, r.text
    assert sorted(o["id"] for o in r.json()["objects"]) == sorted(
        ids([clear, green, unmarked]))
    link(kr, fd, [], default_tlp="green", trust="feed", token=fd.tokens["kr"])
    wait_held(kr, ids([clear, green, unmarked]), what="the feed at KR")
    levels = {o["id"]: [v["tlp"] for v in kr.get_json(o["id"])["versions"]]
              for o in (clear, green, unmarked)}
    assert levels == {clear["id"]: ["CLEAR"], green["id"]: ["GREEN"],
                      unmarked["id"]: ["GREEN"]}, levels
    assert not kr.has(strict["id"])
    # KR relays only the feed's CLEAR, under its own attestation.
    flush(kr, jp)
    universe = ids([clear, green, unmarked, strict])
    assert held_of(jp, universe) == {clear["id"]}
    r = kr.request("GET", kr.objects_url("?match[id]=%s" % clear["id"]),
                   token=kr.tokens["jp"])
    assert r.status_code == 200, r.text
    objs = r.json()["objects"]
    atts = [o for o in objs if o["type"] == "x-strait-attestation"]
    assert [o["id"] for o in objs if o["type"] == "indicator"] == \
        [clear["id"]]
    assert len(atts) == 1 and atts[0]["created_by_ref"] == kr.identity
    assert clear["id"] in [e["id"] for e in atts[0]["objects"]]
    no_duplicates(kr)
    quiet(kr, jp)


# ---------------------------------------------------------------------------
# 6. A hostile peer.

CATCHUP_STUCK = 3  # pages without progress before paging counts as stuck
HUGE = (64 << 20) + (1 << 20)  # just over the client's 64 MiB cap


class Hostile:
    """One HTTP server, a behaviour per path prefix (/MODE/taxii2/ is the
    discovery URL a peer at KR is given)."""
    COLL = "0d6c1f8e-3b2a-4c5d-8e9f-1a2b3c4d5e6f"

    def __init__(self, identity, public_key):
        self.identity, self.public_key = identity, public_key
        self.pages = {}  # mode -> objects served by catch-up
        self.date = {}  # mode -> Date header
        self.srv = ff.TestServer(self.handle)
        self.origin = self.srv.origin

    def url(self, mode):
        return "%s/%s/taxii2/" % (self.origin, mode)

    def handle(self, method, path, headers, body):
        if path == "/api/v1/node":
            return ff.json_reply({"id": self.identity,
                                  "public_key": self.public_key})
        parts = path.split("/")
        mode = parts[1] if len(parts) > 1 else ""
        rest = "/" + "/".join(parts[2:])
        hdr = {"Date": self.date[mode]} if mode in self.date else {}
        if rest == "/taxii2/":
            if mode == "redirect":
                return 302, {"Location": self.origin +
                             "/elsewhere/taxii2/"}, b""
            if mode == "origin":
                other = "http://127.0.0.2:%d/root/" % self.srv.port
                return ff.json_reply({"title": "h", "default": other,
                                      "api_roots": [other]})
            return ff.json_reply({"title": "h", "default":
                                  "/%s/root/" % mode,
                                  "api_roots": ["/%s/root/" % mode]})
        if rest == "/root/collections/":
            return ff.json_reply({"collections": [{
                "id": self.COLL, "title": "intel", "can_read": True,
                "can_write": False}]})
        if rest.startswith("/root/collections/%s/objects/" % self.COLL):
            if mode == "pages":
                return ff.json_reply({"more": True, "next": "again",
                                      "objects": []}, headers={
                    "X-TAXII-Date-Added-First": "2026-01-01T00:00:00Z",
                    "X-TAXII-Date-Added-Last": "2026-01-01T00:00:00Z"})
            if mode == "huge":
                def stream():
                    yield b'{"more": false, "objects": ["'
                    chunk = b"x" * (1 << 20)
                    for _ in range(HUGE >> 20):
                        yield chunk
                    yield b'"]}'
                return 200, {"Content-Type": ff.TAXII}, stream()
            h = {"X-TAXII-Date-Added-First": "2026-01-01T00:00:00Z",
                 "X-TAXII-Date-Added-Last": "2026-01-01T00:00:00Z"}
            h.update(hdr)
            return ff.json_reply({"more": False, "objects":
                                  self.pages.get(mode, [])}, headers=h)
        return ff.json_reply({"title": "not found"}, 404)

    def requests(self, mode):
        return [p for p in self.srv.paths() if p.startswith("/%s/" % mode)]

    def close(self):
        self.srv.close()


def signed_by(node, objects, keyholder):
    """Objects as `node` attests them: node pushes them to a sink (a
    TAXII server standing for a partner, with keyholder's public key)
    that keeps the envelopes."""
    sink = ff.Sink(ff.sid("identity"), keyholder.public_key)
    try:
        node.import_objects(objects)
        link(node, keyholder, FULL, url=sink.url, token="sink-token",
             name="sink")
        node.start()
        want = ids(objects)
        wait_until(lambda: want <= ids(sink.objects()),
                   what="%s's push to the sink" % node.name)
        node.stop()
        return sink.objects()
    finally:
        sink.close()


def test_hostile_peer(fed, tmp_path):
    pol = dict(STANDARD)
    pol[("us", "kr")] = (["clear", "green"], False)
    kr, jp, us = fed.triangle(pol)
    # Objects KR holds whose ids are bound to an origin: K is KR's own,
    # G came from US (attested by US).
    k1 = indicator("green", name="KR's own",
                   created="2026-01-01T00:00:00.000Z")
    kr.import_objects([k1])
    g1 = indicator("green", name="US's", created="2026-01-01T00:00:00.000Z")
    ua = indicator("amber", name="US's AMBER, for JP")
    us.import_objects([g1, ua])
    wait_held(kr, [g1["id"]])
    wait_held(jp, [ua["id"], k1["id"]])
    # US's real attestation over UA, as US serves it to JP's account.
    r = us.request("GET", us.objects_url("?match[id]=%s" % ua["id"]),
                   token=us.tokens["jp"])
    assert r.status_code == 200, r.text
    served = r.json()["objects"]
    ua_att = [o for o in served if o["type"] == "x-strait-attestation"]
    assert len(ua_att) == 1 and ua_att[0]["created_by_ref"] == us.identity
    # EV, a node of its own, signs later versions of K and G, and one of
    # its own objects (its genuine attestation; the test changes the
    # object after it was signed).
    ev = fed.node("ev", "XX", "EV")
    other = FedNode(tmp_path, "keyholder").init()
    k2 = dict(k1, modified=ff.stamp(), name="K rewritten by EV")
    g2 = dict(g1, modified=ff.stamp(0.001), name="G rewritten by EV")
    e1 = indicator("green", name="EV's own")
    got = signed_by(ev, [k2, g2, e1], other)
    ev_att = [o for o in got if o["type"] == "x-strait-attestation"]
    assert ev_att and all(a["created_by_ref"] == ev.identity
                          for a in ev_att)
    e1_forged = dict(e1, name="EV's own, changed after signing")
    future = indicator(None, name="from the future",
                       modified=ff.stamp(3600), created=ff.stamp())
    future2 = indicator(None, name="from the future, with a future Date",
                        modified=ff.stamp(3600), created=ff.stamp())

    h = Hostile(ev.identity, ev.public_key)
    fed.servers.append(h)
    h.pages["objs"] = [k2, g2, ua, e1_forged] + ev_att + ua_att
    h.pages["future"] = [future]
    h.pages["futdate"] = [future2]
    h.date["futdate"] = time.strftime("%a, %d %b %Y %H:%M:%S GMT",
                                      time.gmtime(time.time() + 3600))
    keys = {m: FedNode(tmp_path, "key-" + m).init().public_key
            for m in ("redirect", "origin", "pages", "huge", "future",
                      "futdate")}
    keys["objs"] = ev.public_key
    trust = {"redirect": "attested", "origin": "attested", "objs":
             "attested", "pages": "feed", "huge": "feed", "future": "feed",
             "futdate": "feed"}
    for mode, key in keys.items():
        # No policy: KR sends them nothing; it only reads from them.
        kr.cli("peer", "add", "h" + mode, "--url", h.url(mode), "--key",
               key, "--token", "-", "--trust", trust[mode],
               stdin="hostile-token\n")
    # Meanwhile KR keeps working.
    normal = indicator("green", name="business as usual")
    kr.import_objects([normal])
    wait_held(jp, [normal["id"]])

    # The same, pushed: JP's account at KR posts US's AMBER object with
    # US's attestation, and EV's later version of K with EV's.
    r = kr.request("POST", kr.objects_url(), token=kr.tokens["jp"],
                   body={"objects": [ua, k2] + ua_att + ev_att})
    assert r.status_code == 202, r.text
    st = r.json()
    assert sorted(f["id"] for f in st["failures"]) == sorted([ua["id"],
                                                              k2["id"]])
    assert all(f["message"].startswith("quarantined: ")
               for f in st["failures"]), st

    relayed = "TLP:AMBER relayed by a node that is not its origin"
    want_q = {
        ("hobjs", k2["id"]): "bound to origin %s" % kr.identity,
        ("hobjs", g2["id"]): "bound to origin %s" % us.identity,
        ("hobjs", ua["id"]): relayed,
        ("hobjs", e1["id"]): "its bytes differ from what the attestation "
                             "lists",
        ("hfuture", future["id"]): "'modified' is more than five minutes "
                                   "ahead",
        ("hfutdate", future2["id"]): "'modified' is more than five "
                                     "minutes ahead",
        ("jp", ua["id"]): relayed,
        ("jp", k2["id"]): "bound to origin %s" % kr.identity,
    }

    def entries():
        return {(e["peer"], e["id"]): e for e in kr.quarantine()}
    try:
        wait_until(lambda: set(want_q) <= set(entries()), timeout=min(
            ff.WAIT, 45), what="the quarantine at KR")
    except AssertionError:
        pass
    q = entries()
    wrong = {k: (q[k]["reason"] if k in q else None, why)
             for k, why in want_q.items()
             if k not in q or why not in q[k]["reason"]}
    assert set(q) <= set(want_q), sorted(set(q) - set(want_q))
    # Transport-level refusals are in the peer's status.
    want_err = {"hredirect": "redirect", "horigin":
                "not on the configured origin", "hpages":
                "paging makes no progress", "hhuge": "larger than"}

    def errors():
        st = {p["name"]: p for p in kr.cli_json("peer", "status")}
        return {n: st[n]["last_error"] or "" for n in want_err}
    try:
        wait_until(lambda: all(w in errors()[n] for n, w in
                               want_err.items()), timeout=min(ff.WAIT, 45),
                   what="the hostile peers' errors at KR")
    except AssertionError:
        pass
    errs = errors()
    bad_err = {n: errs[n] for n, w in want_err.items() if w not in errs[n]}
    # Nothing of it is stored at KR: K and G keep only their first
    # version; the rest is not held at all.
    held = kr.export()
    versions = {}
    for i, v in held:
        versions.setdefault(i, []).append(v)
    stored = {
        "K": versions.get(k1["id"]), "G": versions.get(g1["id"]),
        "UA": versions.get(ua["id"]), "E1": versions.get(e1["id"]),
        "future": versions.get(future["id"]),
        "future (Date ahead)": versions.get(future2["id"])}
    keep = {"K": [ff.version_of(k1)], "G": [ff.version_of(g1)]}
    leaks = {k: v for k, v in stored.items() if v != keep.get(k)}
    # Paging that makes no progress is given up after a few pages each
    # time (not followed forever); redirects are not followed; the API
    # root on another origin is never asked.
    segments, run = [], 0
    for p in h.requests("pages"):
        if p.endswith("/taxii2/"):
            segments.append(run)
            run = 0
        elif "/objects/" in p:
            run += 1
    segments.append(run)
    assert max(segments) <= CATCHUP_STUCK + 1, segments
    assert sum(segments) >= CATCHUP_STUCK, segments
    assert not any(p.startswith("/elsewhere/") for p in h.srv.paths())
    assert all(p == "/redirect/taxii2/" for p in h.requests("redirect"))
    assert not any("/root/" in p for p in h.requests("origin"))
    # KR still works after all of it.
    later = indicator("green", name="still business as usual")
    kr.import_objects([later])
    wait_held(jp, [later["id"]])
    assert kr.running()
    assert not wrong and not bad_err and not leaks, {
        "quarantine (got, want)": wrong, "peer errors": bad_err,
        "stored at KR": leaks}


# ---------------------------------------------------------------------------
# 7. kill -9 while pushing.

def test_kill9_while_pushing(tmp_path):
    """The loop of scripts/soak_federation.py, 30 rounds."""
    s = ff.kill9_soak(tmp_path, rounds=30, log=lambda m: None)
    print(ff.soak_line(s))
    assert s["kills"]["kr"] + s["kills"]["jp"] == 30
    assert (s["losses"], s["duplicates"], s["extras"]) == (0, 0, 0), \
        (ff.soak_line(s), s["detail"])
    assert s["quarantined"] == {"kr": 0, "jp": 0, "us": 0}, s["quarantined"]
    assert s["stops"] == {"kr": 0, "jp": 0, "us": 0}, s["stops"]
    assert not any(s["sanitizer"].values()), s["sanitizer"]
