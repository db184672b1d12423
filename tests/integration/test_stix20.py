"""STIX 2.0 in: a 2.0 bundle is recognised by its objects (no
spec_version) and upgraded to 2.1 on the way, each change printed; the
result is the golden file (`make golden` writes it again); what cannot be
upgraded is refused by object, the rest kept."""
import json
import os

from conftest import SRC, sid

GOLDEN = os.path.join(SRC, "tests", "golden", "stix20")
BUNDLE = os.path.join(GOLDEN, "bundle.json")
IP_ID = "ipv4-addr--12592121-be4c-5a93-a813-5a5af16e50db"  # 198.51.100.7


def stix_objects(node):
    out = node.run("export", check=0).json()
    return sorted(out["objects"], key=lambda o: o["id"])


def test_a_2_0_bundle_is_upgraded(node):
    r = node.run("import", BUNDLE, check=0)
    # six objects, and the observed-data's three observables as SCOs
    assert "objects      9" in r.out and "stored       9" in r.out, r
    for want in (
            "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f: added "
            "spec_version 2.1",
            "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f: labels moved "
            "to indicator_types",
            IP_ID + ": made from objects.0 of observed-data--"
            "b67d30ff-02ac-498a-92f9-32f845f448cf"):
        assert "note: %s: %s" % (BUNDLE, want) in r.err, r.err
    got = json.dumps(stix_objects(node), indent=1, ensure_ascii=False,
                     sort_keys=True) + "\n"
    path = os.path.join(GOLDEN, "upgraded.stix.json")
    if os.environ.get("STRAIT_GOLDEN_UPDATE"):
        with open(path, "w") as f:
            f.write(got)
    with open(path) as f:
        assert got == f.read()
    objs = {o["id"]: o for o in json.loads(got)}
    od = objs["observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf"]
    assert "objects" not in od and IP_ID in od["object_refs"]
    assert objs["malware--fdd60b30-b67c-41e3-b0b9-f01faf20d111"][
        "is_family"] is True
    # the address is found by lookup, through the SCO made of it
    r = node.run("lookup", "--json", "198.51.100.7", check=0).json()
    assert IP_ID in {o["id"] for o in r["objects"]}
    # the same bundle again, forced: the same objects
    r = node.run("import", "--format", "stix2.0", BUNDLE, check=0)
    assert "duplicate    9" in r.out, r


def test_what_cannot_be_upgraded_is_refused_by_object(node, tmp_path):
    with open(BUNDLE) as f:
        b = json.load(f)
    od = b["objects"][5]
    od["objects"]["1"]["resolves_to_refs"] = ["7"]  # no such key
    del b["objects"][2]["id"]
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(b))
    r = node.run("import", str(p))
    assert r.rc == 1, r
    assert "rejected     2" in r.out and "stored       4" in r.out, r
    assert "'7'" in r.err and "observed-data--b67d30ff" in r.err, r.err
    # a 2.1 bundle is not touched: no notes
    p.write_text(json.dumps({"type": "bundle", "id": sid("bundle"),
                             "objects": [{
                                 "type": "identity", "spec_version": "2.1",
                                 "id": sid("identity"), "name": "x",
                                 "created": "2026-01-01T00:00:00.000Z",
                                 "modified": "2026-01-01T00:00:00.000Z"}]}))
    r = node.run("import", str(p), check=0)
    assert "note:" not in r.err and "stored       1" in r.out, r
