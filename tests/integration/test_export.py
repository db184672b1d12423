"""Export: bundles, filters, versions, round trip byte for byte."""
import json

from conftest import bundle, indicator, sid, write_json

NOW = "2026-01-01T00:00:00.000Z"


def canonical(o):
    return json.dumps(o, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)


def sample_objects():
    objs = [indicator(value="192.0.2.%d" % i) for i in range(20)]
    objs.append({"type": "malware", "spec_version": "2.1",
                 "id": sid("malware"), "created": NOW, "modified": NOW,
                 "name": "BabyShark 악성코드 マルウェア", "is_family": True,
                 "confidence": 85})
    objs.append({"type": "domain-name", "spec_version": "2.1",
                 "id": sid("domain-name"), "value": "c2.example"})
    return objs


def test_round_trip_is_byte_identical(node, fresh, tmp_path):
    objs = sample_objects()
    # pretty-printed input with keys in a different order
    text = json.dumps(bundle(objs[::-1]), indent=4, sort_keys=False)
    (tmp_path / "in.json").write_text(text)
    node.run("import", str(tmp_path / "in.json"), check=0)
    out1 = tmp_path / "out1.json"
    node.run("export", "-o", str(out1), check=0)
    fresh.run("init", "--name", "OTHER", check=0)
    fresh.run("import", str(out1), check=0)
    out2 = tmp_path / "out2.json"
    fresh.run("export", "-o", str(out2), check=0)
    b1, b2 = json.loads(out1.read_text()), json.loads(out2.read_text())
    assert b1["type"] == "bundle" and len(b1["objects"]) == len(objs)
    raw1 = out1.read_text()
    raw2 = out2.read_text()
    # Objects are written exactly as stored, in canonical form.
    objs1 = [canonical(o) for o in b1["objects"]]
    assert objs1 == [canonical(o) for o in b2["objects"]]
    for o in objs1:
        assert o in raw1 and o in raw2
    assert sorted(objs1) == sorted(canonical(o) for o in objs)


def test_filters(node, tmp_path):
    objs = sample_objects()
    node.run("import", write_json(tmp_path / "a.json", bundle(objs)), check=0)
    only = json.loads(node.run("export", "--type", "malware,domain-name",
                               check=0).out)
    assert sorted(o["type"] for o in only["objects"]) == [
        "domain-name", "malware"]
    later = indicator()
    # added_after: the date_added of the first import's last object
    node.run("import", write_json(tmp_path / "b.json", later), check=0)
    full = json.loads(node.run("export", check=0).out)
    assert full["objects"][-1]["id"] == later["id"]
    # every version and only the latest
    v2 = dict(objs[0], modified="2026-06-01T00:00:00.000Z", name="v2")
    node.run("import", write_json(tmp_path / "c.json", v2), check=0)
    latest = json.loads(node.run("export", check=0).out)["objects"]
    assert [o["name"] for o in latest if o["id"] == v2["id"]] == ["v2"]
    allv = json.loads(node.run("export", "--all-versions",
                               check=0).out)["objects"]
    assert len([o for o in allv if o["id"] == v2["id"]]) == 2


def test_added_after(node, tmp_path):
    a = indicator()
    node.run("import", write_json(tmp_path / "a.json", a), check=0)
    node.run("get", a["id"], check=0)
    import datetime
    cut = datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ")
    b = indicator()
    node.run("import", write_json(tmp_path / "b.json", b), check=0)
    got = json.loads(node.run("export", "--added-after", cut,
                              check=0).out)["objects"]
    assert [o["id"] for o in got] == [b["id"]]
    r = node.run("export", "--added-after", "yesterday", check=2)
    assert "--added-after" in r.err


def test_export_paging_covers_everything_once(node, tmp_path):
    objs = [indicator(value="10.0.%d.%d" % (i // 250, i % 250))
            for i in range(2500)]
    node.run("import", write_json(tmp_path / "big.json", bundle(objs)),
             check=0)
    got = json.loads(node.run("export", check=0).out)["objects"]
    assert [o["id"] for o in got] == [o["id"] for o in objs]


def test_export_to_file_is_atomic(node, tmp_path):
    bad = tmp_path / "no-such-dir" / "out.json"
    r = node.run("export", "-o", str(bad), check=2)
    assert "no-such-dir" in r.err
    assert not bad.exists()
