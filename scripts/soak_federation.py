#!/usr/bin/python3
"""Federation soak: kill -9 in the middle of delivery, again and again.

Three nodes (KR, JP, US) run `strait serve` on loopback ports, linked as
a triangle with sharing policies. KR imports a stream of objects (TLP
CLEAR to RED, some with later versions) while, each round, KR's server
(the sender) or JP's (the receiver) is killed with SIGKILL at a random
moment and started again on the same home and port. At the end every
node must hold exactly what the policies admit of what KR imported: no
version lost, none stored twice, none leaked.

    /usr/bin/python3 scripts/soak_federation.py [--rounds N] [--bin PATH]
                                                [--dir DIR] [--seed N]

The last line is the summary: rounds, kills, objects (versions imported
at KR), losses, duplicates, extras (versions a node holds that its
policy does not admit), time. Exit status 0 when there were none of
those and every node stopped cleanly at the end, 1 otherwise.

The loop is the one the integration test runs (tests/integration/
fed_fixtures.py, 30 rounds in CI). Needs python3-requests.
"""
import argparse
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

import fed_fixtures as ff  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--bin", default=os.path.join(
        HERE, "..", "build", "src", "daemon", "strait"))
    ap.add_argument("--dir", help="where the node homes go (default: a "
                    "temporary folder, removed when all went well)")
    ap.add_argument("--seed", type=int)
    a = ap.parse_args()
    if a.rounds < 1:
        ap.error("--rounds must be at least 1")
    ff.BIN = os.path.abspath(a.bin)
    if not os.access(ff.BIN, os.X_OK):
        ap.error("no strait binary at %s (make build)" % ff.BIN)
    if a.dir:
        root = os.path.abspath(a.dir)
        if os.path.exists(root) and os.listdir(root):
            ap.error("%s exists and is not empty" % root)
        os.makedirs(root, exist_ok=True)
    else:
        root = tempfile.mkdtemp(prefix="strait-soak-")
    print("soak: %d rounds, homes under %s" % (a.rounds, root), flush=True)
    s = ff.kill9_soak(root, rounds=a.rounds, seed=a.seed,
                      log=lambda m: print(m, flush=True))
    ok = (s["losses"] == s["duplicates"] == s["extras"] == 0 and
          not any(s["quarantined"].values()) and
          all(rc == 0 for rc in s["stops"].values()) and
          not any(s["sanitizer"].values()))
    if not ok:
        for n, d in sorted(s["detail"].items()):
            print("  %s: %s" % (n, d))
        for n in sorted(s["stops"]):
            if s["stops"][n] != 0 or s["sanitizer"][n]:
                print("  %s: stop %s %s" % (n, s["stops"][n],
                                            s["sanitizer"][n] or ""))
        print("  homes and logs kept under %s" % root)
    elif not a.dir:
        shutil.rmtree(root, ignore_errors=True)
    print(ff.soak_line(s), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
