"""The indicator lifecycle: false-positive marks (`strait fp`) and the
opinion they send, the allow-list (`strait allow`), a default validity for
indicators without valid_until, and confidence decay, as `strait match`
and `strait lookup` show them; and, between two nodes, the opinion going
back to the indicator's maker."""
import json
import re
import time

import pytest

import fed_fixtures as ff
from conftest import sid
from taxii_fixtures import Client, Server, add_user

GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
C2 = "175.45.176.10"
NAME = "c2.bad-example.org"
INSIDE = "10.1.2.3"
DAY = 86400


def stamp(offset_s=0.0):
    return ff.stamp(offset_s)


def indicator(pattern, valid_from="2024-01-01T00:00:00Z", **kw):
    o = {"type": "indicator", "spec_version": "2.1", "id": sid("indicator"),
         "created": "2024-01-01T00:00:00.000Z",
         "modified": "2024-01-01T00:00:00.000Z",
         "pattern": pattern, "pattern_type": "stix",
         "valid_from": valid_from, "object_marking_refs": [GREEN]}
    o.update(kw)
    return o


def load(node, tmp_path, objs, name="objs.json"):
    p = tmp_path / name
    p.write_text(json.dumps({"type": "bundle", "id": sid("bundle"),
                             "objects": objs}))
    node.run("import", str(p), check=0)


def write_logs(d):
    """Two connections to C2 and one DNS query for NAME, just now."""
    d.mkdir(exist_ok=True)
    now = time.time()
    with open(d / "conn.log", "w") as f:
        for i in range(2):
            f.write(json.dumps({
                "ts": now - 60 + i, "uid": "C%d" % i, "id.orig_h": INSIDE,
                "id.orig_p": 49152 + i, "id.resp_h": C2, "id.resp_p": 443,
                "proto": "tcp", "local_orig": True,
                "local_resp": False}) + "\n")
    with open(d / "dns.log", "w") as f:
        f.write(json.dumps({
            "ts": now - 30, "uid": "D1", "id.orig_h": INSIDE,
            "id.orig_p": 5353, "id.resp_h": "10.0.0.53", "id.resp_p": 53,
            "proto": "udp", "query": NAME}) + "\n")
    return d


def match(node, logs, check=0):
    r = node.run("match", "--zeek", str(logs), "--json",
                 "--no-warninglists", check=check)
    doc = r.json()
    hit = {o["sighting_of_ref"] for o in doc["sightings"]
           if o["type"] == "sighting"}
    return hit, doc["summary"]


def set_lifecycle(node, **keys):
    """Rewrites the lifecycle: section of strait.yaml."""
    path = node.home + "/strait.yaml"
    text = open(path).read()
    for k, v in keys.items():
        text, n = re.subn(r"(?m)^  %s:.*(\n    .*)*$" % k,
                          "  %s: %s" % (k, v), text)
        assert n == 1, (k, text)
    open(path, "w").write(text)


def get(node, oid):
    """The latest version of oid (`strait get` prints a comment line
    before it)."""
    out = node.run("get", oid, check=0).out
    return json.loads(out[out.index("{"):])


def lookup(node, value):
    return node.run("lookup", "--json", "--quiet", value, check=0).json()


def obj_of(answer, oid):
    found = [o for o in answer["objects"] if o["id"] == oid]
    assert found, answer
    return found[0]


@pytest.fixture
def two(node, tmp_path):
    """Two indicators, one for each planted value, and the logs."""
    a = indicator("[ipv4-addr:value = '%s']" % C2)
    b = indicator("[domain-name:value = '%s']" % NAME)
    load(node, tmp_path, [a, b])
    return a, b, write_logs(tmp_path / "logs")


def test_fp_suppresses_matches_and_sends_an_opinion(node, two):
    a, b, logs = two
    hit, _ = match(node, logs)
    assert hit == {a["id"], b["id"]}

    r = node.run("fp", a["id"], "--reason", "our own scanner", "--json",
                 check=0)
    mark = r.json()
    assert mark["indicator"] == a["id"] and mark["collection"] == "default"
    op = get(node, mark["opinion"])
    assert op["type"] == "opinion"
    assert op["opinion"] == "strongly-disagree"
    assert op["explanation"] == "our own scanner"
    assert op["object_refs"] == [a["id"]]
    me = node.run("node", "show", "--json", check=0).json()["id"]
    assert op["created_by_ref"] == me
    assert op["object_marking_refs"] == [GREEN]  # the indicator's
    # the indicator itself is untouched
    got = get(node, a["id"])
    assert got == a

    hit, summary = match(node, logs)
    assert hit == {b["id"]}
    assert summary["suppressed_sightings"] == 1
    assert summary["suppressed_hits"] == 2
    assert summary["refused"] == 0

    # a second mark is refused; the list shows the one
    node.run("fp", a["id"], check=1)
    marks = node.run("fp", "list", "--json", check=0).json()
    assert [(m["id"], m["reason"]) for m in marks] == [
        (a["id"], "our own scanner")]

    # lookup: suppressed here, and who disagreed and why
    ind = obj_of(lookup(node, C2), a["id"])
    assert ind["suppressed"] == "false positive: our own scanner"
    assert ind["false_positive"]["opinion"] == mark["opinion"]
    [o] = ind["opinions"]
    assert (o["by"], o["local"], o["opinion"], o["explanation"]) == (
        me, True, "strongly-disagree", "our own scanner")

    # undo: matches again, and the opinion is revoked (a new version)
    node.run("fp", "undo", a["id"], check=0)
    hit, _ = match(node, logs)
    assert hit == {a["id"], b["id"]}
    assert get(node, mark["opinion"])["revoked"] is True
    node.run("fp", "undo", a["id"], check=1)


def test_fp_on_a_sighting_marks_its_indicator(node, two, tmp_path):
    a, b, logs = two
    node.run("match", "--zeek", str(logs), "--emit-sightings",
             "--no-warninglists", check=0)
    objs = node.run("export", check=0).json()["objects"]
    [s] = [o for o in objs if o["type"] == "sighting"
           and o["sighting_of_ref"] == b["id"]]
    mark = node.run("fp", s["id"], "--json", check=0).json()
    assert (mark["id"], mark["indicator"]) == (s["id"], b["id"])
    op = get(node, mark["opinion"])
    assert op["object_refs"] == [s["id"], b["id"]]
    assert op["explanation"] == "marked as a false positive"
    hit, _ = match(node, logs)
    assert hit == {a["id"]}


def test_allow_list_suppresses_matches(node, two):
    a, b, logs = two
    node.run("allow", "add", C2, "--reason", "partner's sinkhole", check=0)
    node.run("allow", "add", "Bad-Example.ORG.", check=0)  # and subdomains
    listed = node.run("allow", "list", "--json", check=0).json()
    assert [(e["value"], e["kind"]) for e in listed] == [
        ("bad-example.org", "domain"), (C2, "ip")]
    r = node.run("match", "--zeek", str(logs), "--json",
                 "--no-warninglists", check=0)  # exit 0: not refusals
    doc = r.json()
    assert [o for o in doc["sightings"] if o["type"] == "sighting"] == []
    assert doc["summary"]["suppressed_indicators"] == 2
    assert doc["summary"]["refused"] == 0
    assert "suppressed" in r.err

    node.run("allow", "remove", "bad-example.org", check=0)
    node.run("allow", "remove", "bad-example.org", check=1)
    hit, _ = match(node, logs)
    assert hit == {b["id"]}
    node.run("allow", "add", "T1566", check=2)  # not a telemetry value
    node.run("allow", "add", "not a value", check=2)


def test_allow_list_suppresses_served_telemetry(node, two):
    """POST /api/v1/telemetry matches as strait match does: an indicator
    marked a false positive, or a value the allow-list holds (read when
    serve starts), makes no hit."""
    a, b, logs = two
    tok = add_user(node, "soc", "analyst")
    body = (logs / "conn.log").read_text()

    def post():
        srv = Server(node)
        try:
            r = Client(srv, tok).s.post(srv.base + "api/v1/telemetry",
                                        data=body, timeout=60)
            assert r.status_code == 200, r.text
            return r.json()
        finally:
            srv.stop()
    assert post()["hits"] == 2  # the two connections to C2
    node.run("fp", a["id"], "--reason", "our proxy", check=0)
    doc = post()
    assert doc["hits"] == 0 and doc["sightings"] == 0, doc
    node.run("fp", "undo", a["id"], check=0)
    assert post()["hits"] == 2
    node.run("allow", "add", C2, check=0)
    doc = post()
    assert doc["hits"] == 0 and doc["sightings"] == 0, doc


def blocklist(node, *extra):
    r = node.run("export", "--format", "blocklist", *extra, check=0)
    return {line for line in r.out.splitlines()
            if line and not line.startswith("#")}, r.err


def test_exports_leave_out_what_is_suppressed(node, two, tmp_path):
    a, b, logs = two
    values, err = blocklist(node)
    assert {C2, NAME} <= values, (values, err)
    assert "suppressed" not in err
    node.run("fp", a["id"], "--reason", "our proxy", check=0)
    node.run("allow", "add", NAME, check=0)
    values, err = blocklist(node)
    assert C2 not in values and NAME not in values, values
    assert ", 2 suppressed here" in err, err
    assert "left out %s: suppressed here" % a["id"] in err, err
    node.run("fp", "undo", a["id"], check=0)
    values, _ = blocklist(node)
    assert C2 in values and NAME not in values


def test_exports_min_confidence_uses_the_decayed_value(node, tmp_path):
    """confidence 80, 60 days old, half-life 30 days: worth 20 now."""
    old = indicator("[ipv4-addr:value = '198.51.100.61']", confidence=80,
                    valid_from=stamp(-60 * DAY), created=stamp(-60 * DAY),
                    modified=stamp(-60 * DAY))
    new = indicator("[ipv4-addr:value = '198.51.100.62']", confidence=80,
                    valid_from=stamp(-DAY), created=stamp(-DAY),
                    modified=stamp(-DAY))
    none = indicator("[ipv4-addr:value = '198.51.100.63']")
    load(node, tmp_path, [old, new, none])
    set_lifecycle(node, half_life="30d")
    values, err = blocklist(node, "--min-confidence", "50")
    assert values == {"198.51.100.62"}, (values, err)
    assert ", 2 below --min-confidence 50" in err, err
    values, _ = blocklist(node, "--min-confidence", "15")
    assert values == {"198.51.100.61", "198.51.100.62"}, values
    r = node.run("export", "--format", "blocklist", "--min-confidence",
                 "101")
    assert r.rc == 2 and "expected 0 to 100" in r.err, r
    r = node.run("export", "--min-confidence", "10")
    assert r.rc == 2 and "for the sensor formats" in r.err, r


def test_default_validity_expires_old_indicators(node, two, tmp_path):
    a, b, logs = two  # valid from 2024-01-01, no valid_until
    fresh = indicator("[ipv4-addr:value = '%s']" % C2,
                      valid_from=stamp(-2 * DAY), name="fresh")
    load(node, tmp_path, [fresh], "fresh.json")
    assert obj_of(lookup(node, C2), a["id"])["expired"] is False
    # a mapping, as an operator writes it
    set_lifecycle(node, default_valid_for="\n    default: 30d\n    '*': 400w")
    ans = lookup(node, C2)
    old = obj_of(ans, a["id"])
    assert old["expired"] is True
    assert old["valid_until_default"] == "2024-01-31T00:00:00.000000Z"
    assert old["valid_until_rule"] == "collection default"
    assert old["suppressed"].startswith("expired (default validity")
    new = obj_of(ans, fresh["id"])
    assert new["expired"] is False and "suppressed" not in new
    text = node.run("lookup", "--quiet", C2, check=0).out
    assert "EXPIRED" in text and "default for collection default" in text
    hit, _ = match(node, logs)
    assert hit == {fresh["id"]}
    # the scalar form; a shorter default expires the fresh one too
    set_lifecycle(node, default_valid_for="default=1d")
    assert match(node, logs)[0] == set()
    set_lifecycle(node, default_valid_for="nonsense")
    assert node.run("lookup", C2, check=2).rc == 2


def test_confidence_decays_with_age(node, tmp_path):
    hl = 180
    stated = indicator("[ipv4-addr:value = '%s']" % C2, confidence=80,
                       modified=stamp(-2 * hl * DAY),
                       valid_from=stamp(-3 * hl * DAY))
    unstated = indicator("[ipv4-addr:value = '%s']" % C2,
                         modified=stamp(-hl * DAY))
    load(node, tmp_path, [stated, unstated])
    ans = lookup(node, C2)
    assert obj_of(ans, stated["id"])["effective_confidence"] == 80
    assert obj_of(ans, unstated["id"])["effective_confidence"] is None
    set_lifecycle(node, half_life="%dd" % hl, default_confidence="60")
    ans = lookup(node, C2)
    s = obj_of(ans, stated["id"])
    # two half-lives since it was last modified: 80 / 4
    assert (s["confidence"], s["effective_confidence"]) == (80, 20)
    assert s["age_days"] == 2 * hl
    # the default, one half-life old
    assert obj_of(ans, unstated["id"])["effective_confidence"] == 30
    text = node.run("lookup", "--quiet", C2, check=0).out
    assert "confidence 80 (now 20, 360 days old)" in text
    set_lifecycle(node, half_life="soon")
    node.run("lookup", C2, check=2)


def test_lookup_names_who_disagreed(node, tmp_path):
    """An opinion that arrived from a partner: its maker's name."""
    ind = indicator("[ipv4-addr:value = '%s']" % C2)
    who = {"type": "identity", "spec_version": "2.1",
           "id": sid("identity"), "created": stamp(), "modified": stamp(),
           "name": "NISC", "identity_class": "organization",
           "object_marking_refs": [GREEN]}
    op = {"type": "opinion", "spec_version": "2.1", "id": sid("opinion"),
          "created": stamp(), "modified": stamp(),
          "created_by_ref": who["id"], "opinion": "disagree",
          "explanation": "a CDN address", "object_refs": [ind["id"]],
          "object_marking_refs": [GREEN]}
    load(node, tmp_path, [ind, who, op])
    [o] = obj_of(lookup(node, C2), ind["id"])["opinions"]
    assert (o["by"], o["name"], o["opinion"], o["explanation"]) == (
        who["id"], "NISC", "disagree", "a CDN address")
    text = node.run("lookup", "--quiet", C2, check=0).out
    assert "disagree by NISC: a CDN address" in text


# ---------------------------------------------------------------------------
# Two nodes: the opinion goes back to the indicator's maker.


@pytest.fixture
def pair(tmp_path):
    nodes = ff.triangle(tmp_path, {("kr", "jp"): (["clear", "green"], False),
                                   ("jp", "kr"): (["clear", "green"], False)},
                        names=("kr", "jp"))
    yield nodes["kr"], nodes["jp"]
    errors = []
    for n in nodes.values():
        try:
            n.stop(check=True)
        except AssertionError as e:
            errors.append(str(e))
        rep = ff.sanitizer_report(n.all_logs())
        if rep:
            errors.append("%s: %s" % (n.name, rep))
    assert not errors, "\n".join(errors)


def test_opinion_reaches_the_indicators_maker(pair):
    kr, jp = pair
    ind = ff.indicator("green", name="KR's indicator")
    kr.import_objects([ind])
    ff.wait_held(jp, [ind["id"]])
    mark = jp.cli_json("fp", ind["id"], "--reason", "JP's mail relay")
    ff.wait_held(kr, [mark["opinion"]], timeout=min(ff.WAIT, 30))
    value = re.search(r"'([^']+)'", ind["pattern"]).group(1)
    ans = json.loads(kr.cli("lookup", "--json", "--quiet", value).stdout)
    [o] = obj_of(ans, ind["id"])["opinions"]
    assert (o["by"], o["opinion"], o["explanation"]) == (
        jp.identity, "strongly-disagree", "JP's mail relay")
    # named as JP's identity object (held here) names it
    got = json.loads(kr.cli("get", "--json", jp.identity).stdout)
    ident = got["versions"][-1]["object"]
    assert o["name"] == ident["name"] and o["from_peer"] == "jp"
