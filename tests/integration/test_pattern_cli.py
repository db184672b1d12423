"""strait pattern check / match against the patterning conformance corpus.

Every case of tests/data/pattern/*.json (written from the STIX 2.1
specification, section 9) goes through the command line: `pattern check`
must accept the valid patterns (exit 0) and reject the invalid ones (exit
2); `pattern match` on the case's objects, written as a bundle, must exit
0 on a match, 1 on no match and 2 on an invalid pattern, and with --json
name the satisfying observed-data when the case gives them. All failures
of a file are reported together.
"""
import concurrent.futures
import glob
import json
import os
import subprocess
import uuid

import pytest

from conftest import BIN, SRC

CORPUS = os.path.join(SRC, "tests", "data", "pattern")
FILES = sorted(os.path.basename(p) for p in glob.glob(os.path.join(CORPUS, "*.json")))


def load(name):
    with open(os.path.join(CORPUS, name), encoding="utf-8") as f:
        return json.load(f)


def strait(*args):
    env = dict(os.environ)
    env.pop("STRAIT_HOME", None)
    return subprocess.run([BIN] + list(args), capture_output=True, text=True,
                          env=env, timeout=60)


def run_case(case, path):
    """The problems with one case, as a list of strings (empty: it passed)."""
    pattern, expect = case["pattern"], case["expect"]
    want_check = 2 if expect == "invalid" else 0
    want_match = {"match": 0, "nomatch": 1, "invalid": 2}[expect]
    problems = []

    r = strait("pattern", "check", pattern)
    if r.returncode != want_check:
        problems.append("check: exit %d, want %d: %s" % (
            r.returncode, want_check, (r.stderr or r.stdout).strip()))

    with open(path, "w", encoding="utf-8") as f:
        json.dump({"type": "bundle", "id": "bundle--%s" % uuid.uuid4(),
                   "objects": case["objects"]}, f, ensure_ascii=False)

    r = strait("pattern", "match", pattern, path)
    if r.returncode != want_match:
        problems.append("match: exit %d, want %d: %s" % (
            r.returncode, want_match, (r.stderr or r.stdout).strip()))

    r = strait("pattern", "match", "--json", pattern, path)
    if r.returncode != want_match:
        problems.append("match --json: exit %d, want %d: %s" % (
            r.returncode, want_match, (r.stderr or r.stdout).strip()))
    elif expect != "invalid":
        try:
            got = json.loads(r.stdout)
        except ValueError:
            problems.append("match --json: not JSON: %r" % r.stdout)
            return problems
        if got.get("matched") is not (expect == "match"):
            problems.append("match --json: matched is %r" % got.get("matched"))
        if expect == "match" and "observations" in case:
            obs = got.get("observations")
            if not isinstance(obs, list) or \
                    sorted(map(str, obs)) != sorted(case["observations"]):
                problems.append("match --json: observations %r, want %r" % (
                    obs, sorted(case["observations"])))
    return problems


def test_corpus_present():
    cases = [c for f in FILES for c in load(f)]
    assert len(cases) >= 300, "only %d corpus cases" % len(cases)
    names = [c["name"] for c in cases]
    dups = sorted({n for n in names if names.count(n) > 1})
    assert not dups, "duplicate case names: %s" % dups


@pytest.mark.parametrize("name", FILES)
def test_corpus_file(name, tmp_path):
    cases = load(name)
    workers = max(2, min(8, (os.cpu_count() or 2) * 2))
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(
            lambda ic: run_case(ic[1], str(tmp_path / ("%d.json" % ic[0]))),
            enumerate(cases)))
    failures = []
    for case, problems in zip(cases, results):
        if problems:
            failures.append("%s (%s)\n    pattern: %r\n    expected: %s%s\n    %s" % (
                case["name"], case["ref"], case["pattern"], case["expect"],
                " %s" % case["observations"] if "observations" in case else "",
                "\n    ".join(problems)))
    assert not failures, "%d of %d cases of %s failed:\n%s" % (
        len(failures), len(cases), name, "\n".join(failures))
