"""strait export --format zeek-intel|suricata|suricata-dataset|blocklist|
rpz|csv: golden files for every format (`make golden` writes them again,
for review), what each format leaves out and why, Suricata's stable
sid/rev across versions and revocations (and across the exports.db
schema change), the dataset lists' base64, and an export made for a
partner never holding what the release decision withholds from it."""
import base64
import json
import os
import re
import sqlite3

import pytest

from conftest import sid

GOLDEN = os.path.join(os.path.dirname(__file__), "..", "golden", "exports")
FORMATS = {"zeek-intel": "zeek-intel.txt", "suricata": "suricata.rules",
           "blocklist": "blocklist.txt", "rpz": "rpz.zone",
           "csv": "indicators.csv"}
KEY = "FH2PF_E6vyZKHafoxsgmv7ajpq5AcP3xRGyrS1GLvrE"
TLP = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}


def normalise(text, node):
    """What differs from node to node and day to day: the node's
    identity (the source of each line) and the RPZ serial."""
    ident = node.run("node", "show", "--json", check=0).json()["id"]
    text = text.replace(ident, "identity--NODE")
    return re.sub(r"\(\d+ 3600 600", "(SERIAL 3600 600", text)


def imp(node, path):
    r = node.run("import", "--quiet", path)
    assert r.rc in (0, 1), r


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_golden(node, tmp_path, fmt):
    imp(node, os.path.join(GOLDEN, "indicators.json"))
    out = tmp_path / FORMATS[fmt]
    r = node.run("export", "--format", fmt, "-o", str(out), check=0)
    got = normalise(out.read_text(), node)
    # the summary on stderr: counts, each reason, each indicator left out
    summary = normalise(r.err, node)
    summary = "\n".join(line for line in summary.splitlines()
                        if not line.startswith("exported "))
    want_path = os.path.join(GOLDEN, FORMATS[fmt])
    if os.environ.get("STRAIT_GOLDEN_UPDATE"):
        with open(want_path, "w") as f:
            f.write(got)
        with open(want_path + ".stderr", "w") as f:
            f.write(summary + "\n")
    with open(want_path) as f:
        assert got == f.read(), fmt
    with open(want_path + ".stderr") as f:
        assert summary + "\n" == f.read(), fmt


def test_what_is_left_out_and_why(node, tmp_path):
    imp(node, os.path.join(GOLDEN, "indicators.json"))
    r = node.run("export", "--format", "zeek-intel", check=0)
    assert "1 revoked, 1 expired" in r.err
    for why in ("comparisons joined by AND", "LIKE or MATCHES",
                "a pattern that is not STIX",
                "an address compared with '=' to a prefix",
                "observations joined by AND",
                "Zeek computes no SHA-512",
                "Zeek sees only plain http:// URLs"):
        assert why in r.err, (why, r.err)
    # neither the revoked nor the expired indicator's value is written
    assert "192.0.2.1" not in r.out and "192.0.2.2" not in r.out
    r = node.run("export", "--format", "suricata", check=0)
    assert "Suricata matches file hashes only from lists" in r.err
    assert "Suricata rules hold no email address" in r.err


def test_bad_usage(node):
    r = node.run("export", "--format", "snort", check=2)
    assert "expected stix, zeek-intel, suricata, suricata-dataset, " \
        "blocklist, rpz, csv or misp-feed" in r.err
    r = node.run("export", "--format", "csv", "--all-versions", check=2)
    assert "--all-versions are for --format stix" in r.err
    r = node.run("export", "--format", "csv", "--type", "indicator",
                 check=2)
    assert "--type" in r.err


def rules(text):
    """{(stix id, what the rule matches): (sid, rev)}"""
    out = {}
    for line in text.splitlines():
        m = re.search(r"stix_id (\S+),", line)
        body = re.sub(r"metadata:.*", "", line)
        s = re.search(r"sid:(\d+); rev:(\d+);", line)
        out[(m.group(1), body)] = (int(s.group(1)), int(s.group(2)))
    return out


def ind(value, oid=None, modified="2026-01-01T00:00:00.000Z", **kw):
    o = {"type": "indicator", "spec_version": "2.1",
         "id": oid or sid("indicator"), "created":
         "2026-01-01T00:00:00.000Z", "modified": modified,
         "name": "ip %s" % value,
         "pattern": "[ipv4-addr:value = '%s']" % value,
         "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
         "object_marking_refs": [TLP["green"]]}
    o.update(kw)
    return o


def import_objs(node, tmp_path, objs, name):
    p = tmp_path / name
    p.write_text(json.dumps({"type": "bundle", "id": sid("bundle"),
                             "objects": objs}))
    imp(node, str(p))


def test_suricata_sids_are_stable(node, tmp_path):
    a, b = ind("198.51.100.1"), ind("198.51.100.2")
    import_objs(node, tmp_path, [a, b], "1.json")
    first = rules(node.run("export", "--format", "suricata", check=0).out)
    assert len(first) == 2 and all(r == 1 for _, r in first.values())
    # the same export again: the same sids and revs
    again = rules(node.run("export", "--format", "suricata", check=0).out)
    assert again == first
    # a new version of a: same sid, next rev; a new indicator: a new sid
    a2 = dict(a, name="ip 198.51.100.1, seen again",
              modified="2026-02-01T00:00:00.000Z")
    c = ind("198.51.100.3")
    import_objs(node, tmp_path, [a2, c], "2.json")
    now = rules(node.run("export", "--format", "suricata", check=0).out)
    sa = {k[0]: v for k, v in first.items()}
    sn = {k[0]: v for k, v in now.items()}
    assert sn[a["id"]] == (sa[a["id"]][0], 2)
    assert sn[b["id"]] == sa[b["id"]]
    assert sn[c["id"]][0] not in {s for s, _ in sa.values()}
    # revoked: its rule is gone, the others keep their sids
    b2 = dict(b, revoked=True, modified="2026-02-01T00:00:00.000Z")
    import_objs(node, tmp_path, [b2], "3.json")
    after = {k[0]: v for k, v in rules(node.run(
        "export", "--format", "suricata", check=0).out).items()}
    assert b["id"] not in after
    assert after[a["id"]] == sn[a["id"]] and after[c["id"]] == sn[c["id"]]


def test_for_a_partner_holds_only_what_it_is_given(node, tmp_path):
    """Every format, --for a partner whose policy admits CLEAR and GREEN:
    no value of an AMBER or RED indicator is in the file."""
    node.run("user", "add", "jp", "--role", "peer", "--org", "NISC",
             check=0)
    pol = tmp_path / "jp.yaml"
    pol.write_text('tlp: [clear, green]\ncollections: ["*"]\n'
                   'types: ["*"]\nlabels: ["*"]\n')
    node.run("peer", "add", "jp", "--url", "http://127.0.0.1:9/taxii2/",
             "--key", KEY, "--token", "-", "--policy", str(pol),
             stdin="unused\n", check=0)
    given, withheld = [], []
    for i, t in enumerate(["clear", "green", "amber", "red"] * 5):
        o = ind("203.0.113.%d" % (i + 1),
                object_marking_refs=[TLP[t]],
                pattern="[domain-name:value = 'h%d-%s.example'] OR "
                        "[ipv4-addr:value = '203.0.113.%d']" % (i, t, i + 1))
        (given if t in ("clear", "green") else withheld).append(o)
    import_objs(node, tmp_path, given + withheld, "mixed.json")
    for fmt in sorted(FORMATS):
        r = node.run("export", "--format", fmt, "--for", "jp", check=0)
        for o in given:
            host = re.search(r"'(h[^']+)'", o["pattern"]).group(1)
            if fmt == "rpz":  # the address makes it inexpressible there
                assert o["id"] + ": an RPZ zone" in r.err, r.err
            else:
                assert host in r.out, (fmt, host)
        for o in withheld:
            host = re.search(r"'(h[^']+)'", o["pattern"]).group(1)
            ip = re.search(r"'(203[^']+)'", o["pattern"]).group(1)
            assert host not in r.out and ip + "\n" not in r.out and \
                ip + "\t" not in r.out and ip + "," not in r.out and \
                ip + " " not in r.out, (fmt, o["id"])
        assert "for jp: " in r.err, r.err
    out = tmp_path / "jp-datasets"
    r = node.run("export", "--format", "suricata-dataset", "--for", "jp",
                 "-o", str(out), check=0)
    names = set(lines_b64(out / "domains.lst"))
    ips = set((out / "ipv4.lst").read_text().split())
    for o in given:
        assert re.search(r"'(h[^']+)'", o["pattern"]).group(1) in names
        assert re.search(r"'(203[^']+)'", o["pattern"]).group(1) in ips
    for o in withheld:
        assert re.search(r"'(h[^']+)'", o["pattern"]).group(1) not in names
        assert re.search(r"'(203[^']+)'", o["pattern"]).group(1) not in ips
    assert len(names) == len(given) and len(ips) == len(given), (names, ips)
    assert "for jp: %d versions released" % len(given) in r.err, r.err
    # what was given is on record as released to jp, path "export"
    sent = node.run("peer", "sent", "jp", "--json", check=0).json()
    assert any(x["path"] == "export" for x in sent), sent


def test_suricata_to_stdout_leaves_no_spool(node, tmp_path):
    """Rules to stdout are spooled in the home until their sids are
    committed; the spool is gone afterwards, and so is every temporary
    file beside -o."""
    imp(node, os.path.join(GOLDEN, "indicators.json"))
    r = node.run("export", "--format", "suricata", check=0)
    assert r.out.count("sid:") == 8, r.out
    assert not [f for f in os.listdir(node.home) if "spool" in f]
    out = tmp_path / "x.rules"
    node.run("export", "--format", "suricata", "-o", str(out), check=0)
    assert not [f for f in os.listdir(tmp_path) if ".tmp." in f]
    assert out.read_text() == r.out


def test_sids_kept_across_the_schema_change(node):
    """An exports.db of the first schema (primary key (id, key)) is
    carried over: its sids stay, a changed version moves the rev, and a
    new rule gets a sid above every one given before."""
    imp(node, os.path.join(GOLDEN, "indicators.json"))
    db = sqlite3.connect(os.path.join(node.home, "exports.db"))
    db.executescript(
        "CREATE TABLE schema_version(version INTEGER PRIMARY KEY,"
        " applied INTEGER NOT NULL);"
        "INSERT INTO schema_version VALUES(1, 0);"
        "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)"
        " WITHOUT ROWID;"
        "CREATE TABLE suricata(id TEXT NOT NULL, key TEXT NOT NULL,"
        " sid INTEGER NOT NULL UNIQUE, version INTEGER NOT NULL,"
        " rev INTEGER NOT NULL, PRIMARY KEY(id, key)) WITHOUT ROWID;"
        "INSERT INTO suricata VALUES('indicator--e0000010-1111-4111-8111-"
        "111111111111', 'ip:2001:db8::7', 1000123, 0, 4);"
        "INSERT INTO suricata VALUES('indicator--gone', 'ip:192.0.2.99',"
        " 1000500, 0, 1);")
    db.commit()
    db.close()
    got = rules(node.run("export", "--format", "suricata", check=0).out)
    v6 = [v for k, v in got.items() if "e0000010" in k[0]]
    assert v6 == [(1000123, 5)], got
    others = [s for k, (s, _) in got.items() if "e0000010" not in k[0]]
    assert len(others) == len(got) - 1 and min(others) > 1000500, got
    db = sqlite3.connect(os.path.join(node.home, "exports.db"))
    assert db.execute("SELECT max(version) FROM schema_version"
                      ).fetchone()[0] == 2
    assert db.execute("SELECT count(*) FROM suricata").fetchone()[0] == \
        len(got) + 1
    db.close()
    # and the same again, from the new schema
    again = rules(node.run("export", "--format", "suricata", check=0).out)
    assert again == got


# --------------------------------------------------------------------------
# Suricata datasets

DATASET_FILES = ["domains.lst", "tls-certs.lst", "ipv4.lst", "ipv6.lst",
                 "md5.lst", "sha1.lst", "sha256.lst", "datasets.rules"]
DATASET_GOLDEN = os.path.join(GOLDEN, "suricata-dataset")


def lines_b64(path):
    """The values of a dataset of type string: each line strict base64
    (the alphabet and padding Suricata's loader takes)."""
    out = []
    for line in path.read_text().splitlines():
        raw = base64.b64decode(line, validate=True)
        assert base64.b64encode(raw).decode() == line, line
        out.append(raw.decode())
    return out


def export_datasets(node, tmp_path, name="ds"):
    imp(node, os.path.join(GOLDEN, "indicators.json"))
    imp(node, os.path.join(GOLDEN, "datasets.json"))
    out = tmp_path / name
    r = node.run("export", "--format", "suricata-dataset", "-o", str(out),
                 check=0)
    return out, r


def test_suricata_dataset_golden(node, tmp_path):
    out, r = export_datasets(node, tmp_path)
    assert sorted(os.listdir(out)) == sorted(DATASET_FILES)
    got = {f: normalise((out / f).read_text(), node) for f in DATASET_FILES}
    got["stderr"] = "\n".join(
        line for line in normalise(r.err, node).splitlines()
        if not line.startswith("exported ")) + "\n"
    for f, text in sorted(got.items()):
        want_path = os.path.join(DATASET_GOLDEN, f)
        if os.environ.get("STRAIT_GOLDEN_UPDATE"):
            os.makedirs(DATASET_GOLDEN, exist_ok=True)
            with open(want_path, "w") as g:
                g.write(text)
        with open(want_path) as g:
            assert text == g.read(), f


def test_suricata_dataset_values_and_rules(node, tmp_path):
    out, r = export_datasets(node, tmp_path)
    assert sorted(lines_b64(out / "domains.lst")) == [
        "a.example", "c2.example.org", "evil.example.net",
        "login.example.com", "xn--bcher-kva.example"]
    assert lines_b64(out / "tls-certs.lst") == [
        "a9:99:3e:36:47:06:81:6a:ba:3e:25:71:78:50:c2:6c:9c:d0:d8:9d"]
    assert (out / "ipv4.lst").read_text() == "192.0.2.10\n198.51.100.20\n"
    assert (out / "ipv6.lst").read_text() == "2001:db8::42\n2001:db8::7\n"
    assert (out / "md5.lst").read_text() == (
        "0cc175b9c0f1b6a831c399e269772661\n"
        "d41d8cd98f00b204e9800998ecf8427e\n")
    assert (out / "sha1.lst").read_text() == \
        "da39a3ee5e6b4b0d3255bfef95601890afd80709\n"
    assert (out / "sha256.lst").read_text().split() == [
        "5f0a6c1e8d9b7a2c3e4f5061728394a5b6c7d8e9f00112233445566778899aab",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"]
    # left out whole, with the reason
    for oid, why in (
            ("d0000004", "Suricata's ip dataset takes for an IPv4 one"),
            ("d0000005", "Suricata's ip dataset takes for an IPv4 one"),
            ("d0000009", "a URL (a Suricata dataset matches one buffer"),
            ("e0000001", "a prefix"),
            ("e0000017", "not a DNS name"),
            ("e0000011", "no buffer holding just an email address"),
            ("e0000012", "Suricata computes no SHA-512")):
        assert re.search(r"left out indicator--%s-[-0-9a-f]+: .*%s" % (
            oid, re.escape(why)), r.err), (oid, r.err)
    assert "kept-out.example" not in "".join(lines_b64(out / "domains.lst"))
    assert "192.0.2.77" not in (out / "ipv4.lst").read_text()
    # the rules load the lists beside them, each with a sid of its own
    text = (out / "datasets.rules").read_text()
    live = [l for l in text.splitlines() if l.startswith("alert ")]
    assert len(live) == 9, text
    for line in live:
        m = re.search(r"(?:load |file(?:md5|sha1|sha256):)([a-z0-9.-]+)",
                      line)
        assert m and m.group(1) in DATASET_FILES, line
    sids = [int(x) for x in re.findall(r"sid:(\d+);", text)]
    assert len(set(sids)) == len(sids) == 9
    # the same sids the next time, none shared with the rules format
    out2 = tmp_path / "ds2"
    node.run("export", "--format", "suricata-dataset", "-o", str(out2),
             check=0)
    assert (out2 / "datasets.rules").read_text() == text
    rsids = {s for s, _ in rules(node.run(
        "export", "--format", "suricata", check=0).out).values()}
    assert rsids and not rsids & set(sids)


def test_suricata_dataset_empty_list_and_usage(node, tmp_path):
    """Without -o: refused. A list with nothing in it: an empty file and
    its rule as a comment (a hash list Suricata cannot load empty)."""
    r = node.run("export", "--format", "suricata-dataset", check=2)
    assert "give -o DIR" in r.err, r
    f = tmp_path / "file"
    f.write_text("x")
    r = node.run("export", "--format", "suricata-dataset", "-o", str(f),
                 check=2)
    assert "not a directory" in r.err, r
    imp(node, os.path.join(GOLDEN, "indicators.json"))
    out = tmp_path / "new"
    node.run("export", "--format", "suricata-dataset", "-o", str(out),
             check=0)
    assert (out / "md5.lst").read_text() == ""
    rule = [l for l in (out / "datasets.rules").read_text().splitlines()
            if "filemd5:md5.lst" in l]
    assert len(rule) == 1 and rule[0].startswith("# alert "), rule


# --------------------------------------------------------------------------
# CSV in


CSV_GOLDEN = os.path.join(os.path.dirname(__file__), "..", "golden", "csv")


def stix_objects(node):
    out = node.run("export", check=0).json()
    return sorted(out["objects"], key=lambda o: o["id"])


def test_csv_in_golden(node):
    """A CSV file with every column and kind imports as these indicators
    (`make golden` writes them again)."""
    r = node.run("import", os.path.join(CSV_GOLDEN, "in.csv"), check=0)
    assert "stored       7" in r.out, r
    got = json.dumps(stix_objects(node), indent=1, ensure_ascii=False,
                     sort_keys=True) + "\n"
    path = os.path.join(CSV_GOLDEN, "in.stix.json")
    if os.environ.get("STRAIT_GOLDEN_UPDATE"):
        with open(path, "w") as f:
            f.write(got)
    with open(path) as f:
        assert got == f.read()


def test_csv_round_trip(node, fresh, tmp_path):
    """Indicators out as CSV, into another node, out again: the same
    bytes; imported a second time: duplicates, nothing new."""
    imp(node, os.path.join(GOLDEN, "indicators.json"))
    first = tmp_path / "first.csv"
    node.run("export", "--format", "csv", "-o", str(first), check=0)
    fresh.run("init", "--name", "OTHER", "--country", "JP", check=0)
    r = fresh.run("import", str(first), check=0)
    assert "rejected     0" in r.out, r
    second = tmp_path / "second.csv"
    fresh.run("export", "--format", "csv", "-o", str(second), check=0)
    assert first.read_text() == second.read_text()
    r = fresh.run("import", str(first), check=0)
    assert "stored       0" in r.out and "duplicate    %d" % (
        len(first.read_text().splitlines()) - 1) in r.out, r


def test_csv_rows_refused_with_row_and_column(node, tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text(
        "value,type,tlp,first_seen,last_seen\n"
        "198.51.100.8,,green,,\n"            # row 2: stored
        "not a value!,,,,\n"                  # 3: no type recognised
        "1.2.3.4,domain,,,\n"                 # 4: not a domain
        "evil.example,,purple,,\n"            # 5: tlp
        "x@example.com,,,2026-13-01,\n"       # 6: first_seen
        "a.example,,,2026-02-01T00:00:00Z,2026-01-01T00:00:00Z\n"  # 7
        "b.example,ftp,,,\n"                  # 8: type
        ",,,,\n"                              # 9: blank: skipped
        "c.example,,,,\n")                    # 10: stored
    r = node.run("import", str(p), check=1)
    assert "stored       2" in r.out and "rejected     6" in r.out, r
    for want in ("row 3, column value: no type given and none recognised",
                 "row 4, column value: not a domain name: '1.2.3.4'",
                 "row 5, column tlp: unknown level",
                 "row 6, column first_seen: not a timestamp",
                 "row 7, column last_seen: not after first_seen",
                 "row 8, column type: unknown"):
        assert want in r.err, (want, r.err)


def test_csv_whole_file_errors(node, tmp_path):
    p = tmp_path / "nohead.csv"
    p.write_text("ip,comment\n1.2.3.4,x\n")
    r = node.run("import", str(p), check=1)
    assert "the header names no 'value' column" in r.err, r
    assert "stored       0" in r.out
    p = tmp_path / "quote.csv"
    p.write_text("value\n1.2.3.4\n5.6.7.8\n\"9.9.9.9\n")
    r = node.run("import", str(p), check=1)
    assert "stored       2" in r.out, r  # the rows before it are kept
    assert "row 4" in r.err, r
    p = tmp_path / "broken.csv"
    p.write_text("value\n1.2.3.4\nx\"y\n")
    r = node.run("import", str(p), check=1)
    assert "malformed CSV" in r.err, r
    # --format csv on JSON: refused as CSV, naming the row; --format stix
    # on CSV: not JSON
    r = node.run("import", "--format", "csv",
                 os.path.join(GOLDEN, "indicators.json"), check=1)
    assert "row 2: malformed CSV" in r.err and "stored       0" in r.out, r
    r = node.run("import", "--format", "stix",
                 os.path.join(CSV_GOLDEN, "in.csv"), check=1)
    assert "stored       0" in r.out, r
    r = node.run("import", "--format", "xml", "x", check=2)
    assert "expected stix" in r.err and "csv" in r.err, r
