"""`make demo` (scripts/demo.py): three federated nodes and the scenario a
newcomer sees, checked line by line."""
import os
import re
import subprocess

from conftest import BIN, SRC


def test_demo_scenario(tmp_path):
    out_dir = tmp_path / "demo"
    p = subprocess.run(
        ["/usr/bin/python3", os.path.join(SRC, "scripts", "demo.py"),
         "--bin", os.path.abspath(BIN), "--dir", str(out_dir), "--no-wait"],
        capture_output=True, text=True, timeout=600, cwd=SRC)
    assert p.returncode == 0, p.stdout + p.stderr
    out = p.stdout
    # 1. the campaign reaches both partners, with a measured time
    assert re.search(r"all 11 TLP:GREEN objects readable at NISC \d+ ms", out)
    assert re.search(r"all 11 TLP:GREEN objects readable at CISA \d+ ms", out)
    assert re.search(r"20 single indicators posted to KR: at JP after "
                     r"[\d.]+ ms \(median\)", out)
    # 2. AMBER+STRICT: JP's policy admits it, US's does not
    assert "at JP: yes   at US: no" in out
    # 3. RED and what points at it stay home
    assert re.search(r"the RED indicator +held at KR: yes   at JP or US: no",
                     out)
    assert re.search(r"a GREEN relationship to it +held at KR: yes   at JP "
                     r"or US: no", out)
    assert "leak" not in out
    # 4. the tampered copy is quarantined, and listed
    assert "quarantined: its bytes differ from what the attestation " \
        "lists" in out
    assert re.search(r"^\s+1\s+\S+Z\s+kr\s+indicator--", out, re.M)
    # 5. the hotline: a FLASH exercise, read and acknowledged, signed
    assert re.search(r"at JP's director after \d+ ms .*: \[EXERCISE\] FLASH "
                     r"Alert, signature verified", out)
    assert "signed receipts verified at KR: acknowledged, delivered" in out
    # 6. a joint incident: one timeline at both, nothing at US
    assert "the same 5 entries, in the same order, at KR and JP; US (not " \
        "a participant) holds nothing of it" in out
    assert re.search(r"task +jp:analyst +JP: block the C2 range", out)
    # 7. strait lookup at KR: the address is known here and to JP and US,
    # each partner named, and US's sighting counted
    step7 = out.split("== 7.", 1)[1].split("== the nodes", 1)[0]
    assert "known here and to 2 partners" in step7, step7
    assert re.search(r"1 object +this node", step7), step7
    assert re.search(r"1 object +National center of Incident readiness",
                     step7), step7
    assert re.search(r"2 objects +Cybersecurity and Infrastructure", step7)
    assert "2 indicators, 1 sighting (seen 4 times" in step7, step7
    # URLs and tokens to explore with
    assert len(re.findall(r"analyst token  strait_", out)) == 3
    # the nodes were stopped cleanly: no sanitizer report, no crash
    for n in ("kr", "jp", "us"):
        log = (out_dir / n / "serve.log").read_text()
        assert "signal 15: stopping" in log, log[-2000:]
        assert "ERROR: AddressSanitizer" not in log
        assert "runtime error" not in log
