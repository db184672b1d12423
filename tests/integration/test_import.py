"""Import: validation, rejection reasons, duplicates, conflicts, markings."""
import json
import os
import subprocess
import time

from conftest import (BIN, TLP_AMBER_STRICT, bundle, indicator, sid,
                      write_json)

NOW = "2026-01-01T00:00:00.000Z"


def ten_valid():
    objs = [indicator(value="198.51.100.%d" % i) for i in range(6)]
    objs.append({"type": "ipv4-addr", "spec_version": "2.1",
                 "id": "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd",
                 "value": "198.51.100.3"})
    objs.append({"type": "malware", "spec_version": "2.1",
                 "id": sid("malware"), "created": NOW, "modified": NOW,
                 "name": "AppleJeus", "is_family": True})
    objs.append({"type": "intrusion-set", "spec_version": "2.1",
                 "id": sid("intrusion-set"), "created": NOW,
                 "modified": NOW, "name": "Lazarus Group"})
    objs.append({"type": "relationship", "spec_version": "2.1",
                 "id": sid("relationship"), "created": NOW, "modified": NOW,
                 "relationship_type": "uses", "source_ref": objs[8]["id"],
                 "target_ref": objs[7]["id"]})
    return objs


def five_invalid():
    bad_ts = indicator()
    bad_ts["valid_from"] = "2024-13-01T00:00:00Z"
    no_pattern = indicator()
    del no_pattern["pattern"]
    bad_id = indicator()
    bad_id["id"] = "malware--" + bad_id["id"].split("--")[1]
    bad_conf = indicator(confidence=150)
    bad_rel = {"type": "relationship", "spec_version": "2.1",
               "id": sid("relationship"), "created": NOW, "modified": NOW,
               "relationship_type": "uses", "source_ref": "not-an-id",
               "target_ref": sid("malware")}
    return [bad_ts, no_pattern, bad_id, bad_conf, bad_rel], [
        "valid_from", "pattern", "id", "confidence", "source_ref"]


def test_ten_valid_five_invalid(node, tmp_path):
    good = ten_valid()
    bad, props = five_invalid()
    mixed = good[:3] + bad[:2] + good[3:7] + bad[2:] + good[7:]
    path = write_json(tmp_path / "mixed.json", bundle(mixed))
    r = node.run("import", path)
    assert r.rc == 1, r
    lines = [l for l in r.err.splitlines() if l.startswith("rejected:")]
    assert len(lines) == 5, r.err
    for line, prop, obj in zip(lines, props, bad):
        assert prop in line, (prop, line)
        assert obj["id"] in line, line
    assert "2024-13-01" in lines[0]
    summary = dict(l.split(None, 1) for l in r.out.splitlines()
                   if l.split(None, 1)[0] in ("stored", "duplicate",
                                              "rejected", "conflicting"))
    assert summary == {"stored": "10", "duplicate": "0", "rejected": "5",
                       "conflicting": "0"}
    again = node.run("import", "--json", path)
    assert again.rc == 1
    s = again.json()
    assert (s["stored"], s["duplicate"], s["rejected"]) == (0, 10, 5)


def test_all_valid_exits_zero_and_counts_types(node, tmp_path):
    path = write_json(tmp_path / "good.json", bundle(ten_valid()))
    r = node.run("import", "--json", path, check=0)
    assert r.json()["stored"] == 10
    show = node.run("node", "show", "--json", check=0).json()
    assert show["types"]["indicator"] == 6
    assert show["types"]["ipv4-addr"] == 1


def test_conflict_keeps_first(node, tmp_path):
    a = indicator(name="first")
    b = dict(a, name="second")
    node.run("import", write_json(tmp_path / "a.json", a), check=0)
    r = node.run("import", write_json(tmp_path / "b.json", b))
    assert r.rc == 1 and "conflict" in r.err and a["id"] in r.err
    got = node.run("get", a["id"], "--json", check=0).json()
    assert got["versions"][0]["object"]["name"] == "first"


def test_input_shapes_and_stdin(node, tmp_path):
    objs = ten_valid()
    envelope = {"more": False, "objects": objs[:3]}
    node.run("import", write_json(tmp_path / "env.json", envelope), check=0)
    node.run("import", write_json(tmp_path / "arr.json", objs[3:6]), check=0)
    node.run("import", write_json(tmp_path / "one.json", objs[6]), check=0)
    r = node.run("import", "--json", "-", stdin=json.dumps(bundle(objs)),
                 check=0)
    assert r.json()["stored"] == 3 and r.json()["duplicate"] == 7


def test_default_tlp_is_recorded_not_written(node, tmp_path):
    unmarked = [indicator(marking=None) for _ in range(3)]
    marked = indicator(marking=TLP_AMBER_STRICT)
    path = write_json(tmp_path / "u.json", bundle(unmarked + [marked]))
    r = node.run("import", "--default-tlp", "green", path, check=0)
    assert "3 took TLP:GREEN (declared by --default-tlp)" in r.out
    g = node.run("get", unmarked[0]["id"], "--json", check=0).json()
    v = g["versions"][0]
    assert v["tlp"] == "GREEN" and v["tlp_source"] == "default"
    assert "object_marking_refs" not in v["object"], "bytes never changed"
    m = node.run("get", marked["id"], "--json", check=0).json()
    assert m["versions"][0]["tlp"] == "AMBER+STRICT"
    assert m["versions"][0]["tlp_source"] == "object"
    # Without --default-tlp the node's default (AMBER) applies.
    other = indicator(marking=None)
    r = node.run("import", write_json(tmp_path / "o.json", other), check=0)
    assert "1 took TLP:AMBER (the node's default)" in r.out


def test_sco_without_id_gets_deterministic_id(node, tmp_path):
    sco = {"type": "ipv4-addr", "value": "198.51.100.3"}
    node.run("import", write_json(tmp_path / "s.json", sco), check=0)
    # UUIDv5(STIX namespace, '{"value":"198.51.100.3"}')
    oid = "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4"
    got = node.run("get", oid, "--json", check=0).json()
    assert got["versions"][0]["object"] == dict(sco, id=oid)


def test_malformed_bundle_keeps_what_came_before(node, tmp_path):
    objs = ten_valid()
    text = json.dumps(bundle(objs))
    cut = text.index(objs[5]["id"])  # truncated inside object 6
    path = tmp_path / "trunc.json"
    path.write_text(text[:cut])
    r = node.run("import", str(path))
    assert r.rc == 1, r
    assert "byte" in r.err
    show = node.run("node", "show", "--json", check=0).json()
    assert show["versions"] == 1 + 5  # identity + five whole objects


def test_not_json_and_not_objects(node, tmp_path):
    p = tmp_path / "x.json"
    p.write_text('{"type": "bundle", "objects": [1, "two", {"type": "x"}]}')
    r = node.run("import", str(p))
    assert r.rc == 1
    rej = [l for l in r.err.splitlines() if l.startswith("rejected")]
    assert len(rej) == 3
    assert "JSON number" in rej[0] and "JSON string" in rej[1]
    r = node.run("import", str(tmp_path / "missing.json"), check=2)
    assert "missing.json" in r.err


def test_invalid_utf8_rejected_with_offset(node, tmp_path):
    obj = json.dumps(indicator(name="XXXX")).encode()
    obj = obj.replace(b"XXXX", b"\xff\xfe\xfd\xfc")
    p = tmp_path / "bad.json"
    p.write_bytes(b'{"type":"bundle","objects":[' + obj + b"]}")
    r = node.run("import", str(p))
    assert r.rc == 1 and "invalid UTF-8" in r.err and "at byte" in r.err


def test_sample_data_imports(node):
    import os
    from conftest import SRC
    path = os.path.join(SRC, "data", "sample", "dprk-sample.json")
    r = node.run("import", "--json", path)
    s = r.json()
    assert s["rejected"] == 0 and s["stored"] == s["objects"], r
    assert s["took_default_tlp"] >= 1


def import_threads_nice(node, *args):
    """Starts `strait import [args] -` reading standard input, and once
    the store's threads run (it waits for input then), returns each
    thread's nice value; then feeds it a bundle and checks it stored it."""
    proc = subprocess.Popen(
        [BIN, "--home", node.home, "import", "--quiet"] + list(args) + ["-"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE)
    try:
        task = "/proc/%d/task" % proc.pid
        deadline = time.monotonic() + 60
        names = {}
        while time.monotonic() < deadline:
            names = {}
            for tid in os.listdir(task):
                try:
                    with open(os.path.join(task, tid, "stat")) as f:
                        st = f.read()
                except FileNotFoundError:
                    continue
                comm = st[st.index("(") + 1:st.rindex(")")]
                names[comm] = int(st[st.rindex(")") + 2:].split()[16])
            if "strait-writer" in names:
                break
            time.sleep(0.02)
        assert "strait-writer" in names, names
        out, err = proc.communicate(
            json.dumps(bundle([indicator()])).encode(), timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert b"stored" in out, out
    return names


def test_import_yields_the_cpu(node):
    # A bulk import lowers its priority, and its store's threads with
    # it, so that a running node on the same cores goes first; --nice 0
    # keeps the caller's priority.
    base = os.nice(0)
    names = import_threads_nice(node)
    assert set(names.values()) == {min(base + 10, 19)}, names
    names = import_threads_nice(node, "--nice", "3")
    assert set(names.values()) == {min(base + 3, 19)}, names
    names = import_threads_nice(node, "--nice", "0")
    assert set(names.values()) == {base}, names
    r = node.run("import", "--nice", "20", "-", stdin="")
    assert r.rc == 2 and "--nice: expected 0 to 19, got '20'" in r.err, r
