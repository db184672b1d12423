#!/usr/bin/python3
"""`make demo`: three partner nodes on this machine, federated as a triangle.

KR (NCSC), JP (NISC) and US (CISA) each run `strait serve` on a loopback
port with their own home under one demo folder. Each node makes a peer
account for the other two and registers them as peers with a sharing
policy. Then a short scenario:

  1. KR imports indicators of a Lazarus-style campaign against crypto-asset
     exchanges (TLP:GREEN); they reach JP and US, and the time it took is
     printed, for the bundle and for single objects posted over TAXII;
  2. a TLP:AMBER+STRICT object reaches JP (whose policy admits it) and not
     US (whose policy does not);
  3. a TLP:RED object stays home, and so does a relationship pointing at it;
  4. a tampered copy of a KR object, posted to JP with KR's genuine
     attestation, is quarantined at JP;
  5. a FLASH hotline message from KR's director to JP's, acknowledged
     with a signed receipt;
  6. a joint incident KR and JP both write to;
  7. `strait lookup 198.51.100.7` at KR: the address is known here and
     to both partners, each with its own indicator or sighting.

Then the nodes keep running until Ctrl-C, and their URLs and tokens are
printed for exploring with curl or any TAXII 2.1 client. Addresses are
documentation ranges (RFC 5737) and domains are example ones (RFC 2606).

    /usr/bin/python3 scripts/demo.py [--bin PATH] [--dir DIR] [--no-wait]

Only Python's standard library is used.
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

TAXII = "application/taxii+json;version=2.1"
TLP = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict":
        "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
NODES = [
    # name, node name, organisation, country
    ("kr", "NCSC", "National Cyber Security Center", "KR"),
    ("jp", "NISC", "National center of Incident readiness and Strategy "
     "for Cybersecurity", "JP"),
    ("us", "CISA", "Cybersecurity and Infrastructure Security Agency", "US"),
]
# What each node lets each partner receive (docs/FEDERATION.md).
POLICIES = {
    ("kr", "jp"): ["clear", "green", "amber", "amber+strict"],
    ("kr", "us"): ["clear", "green", "amber"],
    ("jp", "kr"): ["clear", "green", "amber", "amber+strict"],
    ("jp", "us"): ["clear", "green", "amber"],
    ("us", "kr"): ["clear", "green", "amber"],
    ("us", "jp"): ["clear", "green", "amber"],
}
MARKER = ".strait-demo"
# The principals' key files are sealed with this (a demo: a real
# principal chooses their own, and keeps the file off the node).
PASSPHRASE = "demo passphrase, not for real use"


def say(msg=""):
    print(msg, flush=True)


class Node:
    def __init__(self, binary, root, name, node_name, org, country):
        self.bin = binary
        self.name = name
        self.home = os.path.join(root, name)
        self.node_name, self.org, self.country = node_name, org, country
        self.proc = None
        self.url = None
        self.tokens = {}  # account name -> token

    def run(self, *args, stdin=None, check=True):
        p = subprocess.run([self.bin, "--home", self.home] + list(args),
                           input=stdin, capture_output=True, text=True)
        if check and p.returncode != 0:
            raise SystemExit("demo: strait %s on %s failed:\n%s%s" % (
                " ".join(args), self.name, p.stdout, p.stderr))
        return p

    def start(self):
        log = open(os.path.join(self.home, "serve.log"), "w")
        self.proc = subprocess.Popen(
            [self.bin, "--home", self.home, "serve", "--listen",
             "127.0.0.1:0"], stdout=subprocess.PIPE, stderr=log, text=True)
        line = self.proc.stdout.readline()
        m = re.search(r"(https?://[^ ]+/taxii2/)", line)
        if not m:
            raise SystemExit("demo: %s did not start; see %s/serve.log" % (
                self.name, self.home))
        self.url = m.group(1)
        self.base = self.url[:-len("taxii2/")]

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def request(self, token, method, path, body=None):
        url = path if path.startswith("http") else self.base + path
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Authorization", "Bearer " + token)
        req.add_header("Accept", TAXII)
        if data is not None:
            req.add_header("Content-Type", TAXII)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def collection(self):
        return json.loads(self.run("node", "show", "--json").stdout)[
            "collections"][0]["id"]


def sid(t):
    return "%s--%s" % (t, uuid.uuid4())


def now_ts():
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + \
        ".%03dZ" % (int(t * 1000) % 1000)


def campaign(kr_identity):
    """The objects KR shares: a Lazarus-style intrusion set against
    crypto-asset exchanges, with indicators, and three held back."""
    t = now_ts()
    base = {"spec_version": "2.1", "created": t, "modified": t,
            "created_by_ref": kr_identity}

    def obj(type_, tlp, **kw):
        o = dict(base, type=type_, id=sid(type_),
                 object_marking_refs=[TLP[tlp]])
        o.update(kw)
        return o

    actor = obj("intrusion-set", "green",
                name="Example Group (Lazarus-style)",
                description="Targets crypto-asset exchanges with fake job "
                "offers and trojanised trading apps.",
                aliases=["EXAMPLE-APT-38"])
    objs = [actor]
    iocs = [("domain-name", "wallet-update.example.com"),
            ("domain-name", "exchange-careers.example.net"),
            ("ipv4-addr", "203.0.113.17"),
            ("ipv4-addr", "198.51.100.44"),
            ("url", "https://download.example.org/TradeCore-2.4.dmg")]
    for kind, value in iocs:
        pat = "[%s:value = '%s']" % (kind, value)
        ind = obj("indicator", "green", name="%s used by the campaign" %
                  value, pattern=pat, pattern_type="stix",
                  valid_from=t, indicator_types=["malicious-activity"])
        rel = obj("relationship", "green", relationship_type="indicates",
                  source_ref=ind["id"], target_ref=actor["id"])
        objs += [ind, rel]
    strict = obj("indicator", "amber+strict",
                 name="Staging server seen only in a KR victim's network",
                 pattern="[ipv4-addr:value = '192.0.2.77']",
                 pattern_type="stix", valid_from=t,
                 indicator_types=["malicious-activity"])
    red = obj("indicator", "red",
              name="Source inside an ongoing operation (RED)",
              pattern="[domain-name:value = 'ops.example.test']",
              pattern_type="stix", valid_from=t,
              indicator_types=["malicious-activity"])
    red_rel = obj("relationship", "green", relationship_type="indicates",
                  source_ref=red["id"], target_ref=actor["id"])
    return objs, strict, red, red_rel


def wait_for(node, token, coll, ids, timeout=30.0):
    """Polls node until every id is readable; returns the elapsed time."""
    t0 = time.monotonic()
    left = set(ids)
    while left and time.monotonic() - t0 < timeout:
        for i in list(left):
            st, _ = node.request(token, "GET",
                                 "taxii2/root/collections/%s/objects/%s/"
                                 % (coll, i))
            if st == 200:
                left.discard(i)
        if left:
            time.sleep(0.002)
    return time.monotonic() - t0, left


def has(node, token, coll, oid):
    st, _ = node.request(token, "GET", "taxii2/root/collections/%s/objects/"
                         "%s/" % (coll, oid))
    return st == 200


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="build/src/daemon/strait")
    ap.add_argument("--dir", default="demo-run")
    ap.add_argument("--no-wait", action="store_true",
                    help="stop the nodes after the scenario")
    a = ap.parse_args()
    binary = os.path.abspath(a.bin)
    root = os.path.abspath(a.dir)
    if os.path.exists(root):
        if not os.path.exists(os.path.join(root, MARKER)):
            raise SystemExit("demo: %s exists and is not a demo folder; "
                             "choose another with --dir" % root)
        shutil.rmtree(root)
    os.makedirs(root, mode=0o700)
    open(os.path.join(root, MARKER), "w").close()

    nodes = {n[0]: Node(binary, root, *n) for n in NODES}
    say("== three nodes under %s" % root)
    for n in nodes.values():
        n.run("init", "--name", n.node_name, "--org", n.org, "--country",
              n.country)
        info = json.loads(n.run("node", "show", "--json").stdout)
        n.identity, n.public_key = info["id"], info["public_key"]
        n.coll = info["collections"][0]["id"]
        n.tokens["analyst"] = n.run("user", "add", "analyst", "--role",
                                    "analyst").stdout.strip()
        n.run("collection", "grant", "default", "analyst", "write")
        for p in nodes.values():
            if p is n:
                continue
            tok = n.run("user", "add", p.name, "--role", "peer", "--org",
                        p.org).stdout.strip()
            n.tokens[p.name] = tok
            n.run("collection", "grant", "default", p.name, "write")
    # hotline principals: KR's and JP's directors, JP's deputy
    for n, name, title in ((nodes["kr"], "director", "Director, NCSC"),
                           (nodes["jp"], "director", "Director, NISC"),
                           (nodes["jp"], "deputy", "Deputy director")):
        n.run("user", "add", name, "--role", "principal")
        key = os.path.join(root, "%s-%s.key" % (n.name, name))
        n.run("hotline", "keygen", "--out", key, "--kdf", "interactive",
              stdin=PASSPHRASE + "\n")
        out = n.run("hotline", "enroll", name, "--key", key,
                    "--title", title).stdout
        n.keys = getattr(n, "keys", {})
        n.keys[name] = key
        n.fps = getattr(n, "fps", {})
        n.fps[name] = out.split("fingerprint ", 1)[1].strip()
    nodes["jp"].run("hotline", "chain", "director", "--deputy", "deputy")
    try:
        for n in nodes.values():
            n.start()
            say("   %s %-5s %s  identity %s" % (n.country, n.node_name,
                                                n.url, n.identity))
        say("== linking them as a triangle")
        for n in nodes.values():
            for p in nodes.values():
                if p is n:
                    continue
                pol = os.path.join(root, "%s-to-%s.yaml" % (n.name, p.name))
                with open(pol, "w") as f:
                    f.write("tlp: [%s]\ncollections: [\"*\"]\n"
                            "types: [\"*\"]\nlabels: [\"*\"]\n"
                            "relay_green: true\n" %
                            ", ".join(POLICIES[(n.name, p.name)]))
                n.run("peer", "add", p.name, "--url", p.url, "--key",
                      p.public_key, "--token", "-", "--policy", pol,
                      stdin=p.tokens[n.name] + "\n")
                say("   %s -> %s: %s" % (n.node_name, p.node_name,
                                         ", ".join(POLICIES[(n.name,
                                                             p.name)])))
        wait_links(nodes)
        scenario(nodes, root)
        say()
        say("== the nodes keep running; explore them:")
        for n in nodes.values():
            say("   %s  %s" % (n.node_name, n.url))
            say("        analyst token  %s" % n.tokens["analyst"])
        kr = nodes["kr"]
        say()
        say("   curl -H 'Authorization: Bearer %s' -H 'Accept: %s' \\" %
            (kr.tokens["analyst"], TAXII))
        say("        %staxii2/root/collections/%s/objects/" %
            (kr.base, kr.coll))
        say("   strait --home %s peer status" % kr.home)
        say("   strait --home %s quarantine list" % nodes["jp"].home)
        if a.no_wait:
            return 0
        say()
        say("Ctrl-C stops the three nodes.")
        try:
            signal.pause()
        except KeyboardInterrupt:
            pass
    finally:
        for n in nodes.values():
            n.stop()
    return 0


def wait_links(nodes, timeout=60.0):
    """Waits until every node has reached both partners once."""
    t0 = time.monotonic()
    for n in nodes.values():
        while True:
            st = json.loads(n.run("peer", "status", "--json").stdout)
            peers = st if isinstance(st, list) else st.get("peers", [])
            if len(peers) == 2 and all(p.get("identity") and
                                       not p.get("down_since")
                                       for p in peers):
                break
            if time.monotonic() - t0 > timeout:
                raise SystemExit("demo: the links did not come up in %d s;"
                                 " see %s/serve.log" % (timeout, n.home))
            time.sleep(0.05)
    say("   links up after %.1f s" % (time.monotonic() - t0))


def scenario(nodes, root):
    kr, jp, us = nodes["kr"], nodes["jp"], nodes["us"]
    objs, strict, red, red_rel = campaign(kr.identity)
    path = os.path.join(root, "campaign.json")
    with open(path, "w") as f:
        json.dump({"type": "bundle", "id": sid("bundle"),
                   "objects": objs + [strict, red, red_rel]}, f, indent=1)
    say("== 1. KR imports %d objects of a Lazarus-style campaign against "
        "crypto-asset exchanges" % (len(objs) + 3))
    kr.run("import", "--quiet", path)
    shared = [o["id"] for o in objs]
    for p in (jp, us):
        took, left = wait_for(p, p.tokens["analyst"], p.coll, shared)
        if left:
            raise SystemExit("demo: %d objects did not reach %s in 30 s "
                             "(see %s/serve.log)" % (len(left), p.node_name,
                                                     kr.home))
        say("   all %d TLP:GREEN objects readable at %s %.0f ms after the "
            "import finished" % (len(shared), p.node_name, took * 1000))
    # single objects over TAXII: time from KR's 202 to readable at JP
    times = []
    for k in range(20):
        t = now_ts()
        o = {"type": "indicator", "spec_version": "2.1", "id":
             sid("indicator"), "created": t, "modified": t,
             "created_by_ref": kr.identity,
             "name": "Phishing domain %d" % k,
             "pattern": "[domain-name:value = 'login%d.example.com']" % k,
             "pattern_type": "stix", "valid_from": t,
             "object_marking_refs": [TLP["green"]]}
        st, _ = kr.request(kr.tokens["analyst"], "POST",
                           "taxii2/root/collections/%s/objects/" % kr.coll,
                           {"objects": [o]})
        took, left = wait_for(jp, jp.tokens["analyst"], jp.coll, [o["id"]])
        if st == 202 and not left:
            times.append(took * 1000)
    times.sort()
    if times:
        say("   20 single indicators posted to KR: at JP after %.1f ms "
            "(median), %.1f ms (slowest), polled every 2 ms" %
            (times[len(times) // 2], times[-1]))
    say("== 2. TLP:AMBER+STRICT: JP's policy admits it, US's does not")
    took, left = wait_for(jp, jp.tokens["analyst"], jp.coll, [strict["id"]])
    time.sleep(0.5)
    say("   at JP: %s   at US: %s" % (
        "yes" if not left else "NO",
        "yes (a leak!)" if has(us, us.tokens["analyst"], us.coll,
                               strict["id"]) else "no"))
    say("== 3. TLP:RED stays home, and so does what points at it")
    for label, o in (("the RED indicator", red),
                     ("a GREEN relationship to it", red_rel)):
        seen = [p.node_name for p in (jp, us)
                if p.run("get", o["id"], check=False).returncode == 0]
        held = kr.run("get", o["id"], check=False).returncode == 0
        say("   %-28s held at KR: %s   at JP or US: %s" % (
            label, "yes" if held else "NO",
            ", ".join(seen) + " (a leak!)" if seen else "no"))
    say("== 4. a tampered copy is quarantined")
    # What KR released to JP, read with JP's account at KR: the objects
    # and KR's signed attestation beside them.
    st, page = kr.request(kr.tokens["jp"], "GET",
                          "taxii2/root/collections/%s/objects/?match[id]=%s"
                          % (kr.coll, shared[1]))
    objects = page.get("objects", []) if st == 200 else []
    att = [o for o in objects if o["type"] == "x-strait-attestation"]
    ind = [o for o in objects if o["type"] == "indicator"]
    if not att or not ind:
        raise SystemExit("demo: KR served no attested copy (HTTP %d)" % st)
    forged = dict(ind[0])
    forged["pattern"] = "[domain-name:value = 'harmless.example.com']"
    st, status = jp.request(jp.tokens["kr"], "POST",
                            "taxii2/root/collections/%s/objects/" % jp.coll,
                            {"objects": [forged, att[0]]})
    msg = (status or {}).get("failures", [{}])
    say("   posted to JP as KR, pattern changed, KR's attestation "
        "beside it: HTTP %d, %s" % (st, msg[0].get("message", "?")
                                    if msg else "accepted (!)"))
    q = jp.run("quarantine", "list").stdout.strip()
    say("   strait quarantine list (JP):")
    for line in q.splitlines():
        say("     " + line)
    hotline(kr, jp)
    joint_incident(kr, jp, us, shared[0])
    who_knows(kr, jp, us, root)


def wait_true(fn, what, timeout=30.0):
    t0 = time.monotonic()
    while not fn():
        if time.monotonic() - t0 > timeout:
            raise SystemExit("demo: %s did not happen in %d s" % (
                what, timeout))
        time.sleep(0.05)
    return time.monotonic() - t0


def hotline(kr, jp):
    say("== 5. the hotline: KR's director to JP's director, FLASH, an "
        "exercise")

    def knows(n, peer):
        doc = json.loads(n.run("contacts", "--json").stdout)
        return any(p["partner"] == peer and p["profile"]["principals"]
                   for p in doc["partners"])
    wait_true(lambda: knows(kr, "jp") and knows(jp, "kr"),
              "the exchange of contact profiles")
    # the fingerprints, compared out of band (here: read from the other
    # node's enrolment), confirm the keys
    for name in ("director", "deputy"):
        kr.run("hotline", "trust", "jp:" + name, jp.fps[name])
    jp.run("hotline", "trust", "kr:director", kr.fps["director"])
    say("   keys confirmed by fingerprint: jp:director %s" %
        jp.fps["director"])
    t0 = time.monotonic()
    sent = json.loads(kr.run(
        "hotline", "send", "--as", "director", "--key", kr.keys["director"],
        "--to", "jp:director", "--precedence", "FLASH", "--status",
        "Exercise", "--body", "탐지: 교환소 침해 / 検知: 取引所への侵入 / "
        "Detected: exchange intrusion, wave 7", "--json",
        stdin=PASSPHRASE + "\n").stdout)
    mid = sent["id"]

    def inbox():
        return json.loads(jp.run(
            "hotline", "inbox", "--as", "director", "--key",
            jp.keys["director"], "--json",
            stdin=PASSPHRASE + "\n").stdout)
    wait_true(lambda: any(m["header"]["id"] == mid for m in inbox()),
              "the FLASH message at JP")
    took = time.monotonic() - t0
    m = [m for m in inbox() if m["header"]["id"] == mid][0]
    say("   at JP's director after %.0f ms (including both passphrases' "
        "key derivation): [%s] %s %s, signature %s" % (
            took * 1000, m["header"]["status"].upper(),
            m["header"]["precedence"], m["header"]["type"],
            "verified" if m["verified"] else "NOT VERIFIED"))
    say("   body: %s" % m["body"])
    jp.run("hotline", "ack", mid, "--as", "director", "--key",
           jp.keys["director"], stdin=PASSPHRASE + "\n")

    def receipts():
        s = json.loads(kr.run(
            "hotline", "show", mid, "--as", "director", "--key",
            kr.keys["director"], "--json",
            stdin=PASSPHRASE + "\n").stdout)
        return {r["receipt"] for r in s["receipts"] if r["verified"]}
    wait_true(lambda: "acknowledged" in receipts(),
              "the signed acknowledgement at KR")
    say("   signed receipts verified at KR: %s" %
        ", ".join(sorted(receipts())))


def joint_incident(kr, jp, us, stix_id):
    say("== 6. a joint incident KR and JP both write to")
    iid = kr.run("incident", "open", "--title",
                 "Exchange intrusion, wave 7", "--with", "jp",
                 "--severity", "high").stdout.strip()
    kr.run("incident", "link", iid, stix_id, "--why", "the C2 indicator")
    kr.run("incident", "note", iid, "KR: hosts isolated", "--as",
           "analyst")
    wait_true(lambda: iid in jp.run("incident", "list").stdout,
              "the incident at JP")
    jp.run("incident", "task", iid, "JP: block the C2 range", "--owner",
           "nisc-soc", "--as", "analyst")
    jp.run("incident", "note", iid, "JP: same actor seen in Osaka",
           "--decision", "--as", "analyst")

    def entries(n):
        return [e["id"] for e in json.loads(
            n.run("incident", "show", iid, "--json").stdout)["entries"]]
    wait_true(lambda: len(entries(kr)) == 5 and entries(kr) == entries(jp),
              "the same timeline at KR and JP")
    say("   the same %d entries, in the same order, at KR and JP; US "
        "(not a participant) holds %s" % (
            len(entries(kr)),
            "it (a leak!)" if iid in us.run("incident", "list").stdout
            else "nothing of it"))
    for line in kr.run("incident", "show", iid).stdout.splitlines()[4:]:
        say("     " + line)


def who_knows(kr, jp, us, root):
    say("== 7. who knows 198.51.100.7? (strait lookup at KR)")
    value = "198.51.100.7"
    t = now_ts()

    def ind(n, name):
        return {"type": "indicator", "spec_version": "2.1",
                "id": sid("indicator"), "created": t, "modified": t,
                "created_by_ref": n.identity, "name": name,
                "pattern": "[ipv4-addr:value = '%s']" % value,
                "pattern_type": "stix", "valid_from": t,
                "indicator_types": ["malicious-activity"],
                "object_marking_refs": [TLP["green"]]}
    # The address as an SCO at KR (its id is deterministic, RFC 4122 v5).
    sco = {"type": "ipv4-addr", "spec_version": "2.1", "value": value,
           "id": "ipv4-addr--%s" % uuid.uuid5(
               uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7"),
               json.dumps({"value": value}, separators=(",", ":"))),
           "object_marking_refs": [TLP["green"]]}
    jp_ind = ind(jp, "Scanner hitting NISC sensors")
    us_ind = ind(us, "Mixer front-end seen by CISA")
    us_sight = {"type": "sighting", "spec_version": "2.1",
                "id": sid("sighting"), "created": t, "modified": t,
                "created_by_ref": us.identity,
                "sighting_of_ref": us_ind["id"], "count": 4,
                "first_seen": t, "last_seen": t,
                "object_marking_refs": [TLP["green"]]}
    for n, objs in ((kr, [sco]), (jp, [jp_ind]), (us, [us_ind, us_sight])):
        path = os.path.join(root, "%s-knows.json" % n.name)
        with open(path, "w") as f:
            json.dump({"type": "bundle", "id": sid("bundle"),
                       "objects": objs}, f)
        n.run("import", "--quiet", path)
    took, left = wait_for(kr, kr.tokens["analyst"], kr.coll,
                          [jp_ind["id"], us_ind["id"], us_sight["id"]])
    if left:
        raise SystemExit("demo: JP's and US's objects did not reach KR")
    for line in kr.run("lookup", value).stdout.splitlines():
        say("   " + line)


if __name__ == "__main__":
    sys.exit(main())
