"""HTTPS on real `strait serve` processes: server certificates, protocol
versions, client certificates bound to accounts, and the refusal of plain
HTTP on non-loopback addresses.

Every certificate is made at test time with Debian's `openssl` command in a
temporary directory (scripts/setup.sh installs it): a test CA, a server
certificate for IP:127.0.0.1 and DNS:localhost, client certificates issued
by the CA, and a self-signed "rogue" client certificate the server must not
trust.
"""
import hashlib
import http.client
import socket
import ssl
import subprocess
import threading
import time
import warnings

import pytest
import requests

from conftest import BIN
from taxii_fixtures import (TAXII, Server, add_user, collection_id,
                            sanitizer_report, stop_clean, wait_signal_wait)
import taxii2client_emu as emu

DAYS = "2"


def _openssl(*args, cwd):
    r = subprocess.run(["openssl"] + list(args), cwd=cwd,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, (args, r.stdout, r.stderr)
    return r.stdout


class Pki:
    """A CA and the certificates it issues, as files in one directory."""

    def __init__(self, d):
        self.dir = d
        _openssl("req", "-x509", "-new", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:prime256v1", "-nodes",
                 "-keyout", "ca.key", "-out", "ca.pem", "-days", DAYS,
                 "-subj", "/CN=strait test CA",
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
        self.ca = str(d / "ca.pem")
        self.serial = 1

    def issue(self, name, usage, san=None):
        """A key and a certificate signed by the CA; returns (cert, key)."""
        key, csr, pem = name + ".key", name + ".csr", name + ".pem"
        _openssl("req", "-new", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
                 "-out", csr, "-subj", "/CN=" + name, cwd=self.dir)
        ext = ["[v3]", "basicConstraints=CA:FALSE",
               "keyUsage=critical,digitalSignature",
               "extendedKeyUsage=" + usage]
        if san:
            ext.append("subjectAltName=" + san)
        (self.dir / (name + ".ext")).write_text("\n".join(ext) + "\n")
        self.serial += 1
        _openssl("x509", "-req", "-in", csr, "-CA", "ca.pem", "-CAkey",
                 "ca.key", "-set_serial", str(self.serial), "-days", DAYS,
                 "-out", pem, "-extfile", name + ".ext", "-extensions", "v3",
                 cwd=self.dir)
        return str(self.dir / pem), str(self.dir / key)

    def self_signed(self, name):
        _openssl("req", "-x509", "-new", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                 name + ".key", "-out", name + ".pem", "-days", DAYS,
                 "-subj", "/CN=" + name, cwd=self.dir)
        return str(self.dir / (name + ".pem")), str(self.dir / (name + ".key"))


def fingerprint_openssl(cert):
    """SHA-256 as `openssl x509 -fingerprint` prints it (AB:CD:...)."""
    out = subprocess.run(["openssl", "x509", "-noout", "-fingerprint",
                          "-sha256", "-in", cert], capture_output=True,
                         text=True, timeout=30, check=True).stdout
    return out.strip().split("=", 1)[1]


def fingerprint_der(cert):
    """SHA-256 over the certificate's DER, in lower-case hex."""
    with open(cert, encoding="ascii") as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    return hashlib.sha256(der).hexdigest()


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    p = Pki(tmp_path_factory.mktemp("pki"))
    p.server = p.issue("server", "serverAuth",
                       "IP:127.0.0.1,DNS:localhost")
    p.alice = p.issue("alice", "clientAuth")
    p.bob = p.issue("bob", "clientAuth")
    p.rogue = p.self_signed("rogue")
    return p


def tls_args(pki, *extra):
    return ["--tls-cert", pki.server[0], "--tls-key", pki.server[1]] + \
        list(extra)


@pytest.fixture
def https(node, pki):
    node.admin = add_user(node, "admin", "admin")
    s = Server(node, *tls_args(pki))
    yield s
    stop_clean(s)


@pytest.fixture
def mtls(node, pki):
    """HTTPS asking for client certificates: alice's account is bound to
    alice's certificate; bob's account is not bound to anything."""
    node.alice = add_user(node, "alice", "analyst")
    node.bob = add_user(node, "bob", "analyst")
    node.run("user", "bind-cert", "alice", fingerprint_openssl(pki.alice[0]),
             check=0)
    s = Server(node, *tls_args(pki, "--tls-client-ca", pki.ca))
    yield s
    stop_clean(s)


def get(url, token=None, **kw):
    headers = {"Accept": TAXII}
    if token:
        headers["Authorization"] = "Bearer " + token
    kw.setdefault("timeout", 30)
    return requests.get(url, headers=headers, **kw)


def port_of(server):
    return int(server.base.rstrip("/").rsplit(":", 1)[1])


def https_get(server, ctx, token, path="/taxii2/"):
    """One request over a TLS connection made with `ctx`; returns
    (status, negotiated protocol version)."""
    conn = http.client.HTTPSConnection("127.0.0.1", port_of(server),
                                       context=ctx, timeout=30)
    try:
        conn.request("GET", path, headers={
            "Accept": TAXII, "Authorization": "Bearer " + token})
        resp = conn.getresponse()
        resp.read()
        return resp.status, conn.sock.version()
    finally:
        conn.close()


def client_context(pki, lo=None, hi=None, legacy=False):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(pki.ca)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        if legacy:
            # OpenSSL 3 refuses TLS < 1.2 at its default security level;
            # level 0 makes this client really offer the old version.
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        if lo is not None:
            ctx.minimum_version = lo
        if hi is not None:
            ctx.maximum_version = hi
    return ctx


# ------------------------------------------------------------ server side


def test_https_verifies_against_the_test_ca(https, node, pki):
    assert https.discovery.startswith("https://127.0.0.1:")
    r = get(https.discovery, node.admin, verify=pki.ca)
    assert r.status_code == 200, r.text
    assert r.json()["api_roots"] == [https.root]
    assert r.headers["Content-Type"].replace(" ", "") == TAXII
    # The certificate also names DNS:localhost.
    url = https.discovery.replace("127.0.0.1", "localhost")
    assert get(url, node.admin, verify=pki.ca).status_code == 200
    # A client that trusts only the system CAs refuses the node's
    # certificate: the test CA really is what makes it verify.
    with pytest.raises(requests.exceptions.SSLError):
        get(https.discovery, node.admin)
    # And without credentials, still a 401 over TLS.
    assert get(https.discovery, verify=pki.ca).status_code == 401


def test_tls13_preferred_and_tls12_accepted(https, node, pki):
    status, version = https_get(https, client_context(pki), node.admin)
    assert (status, version) == (200, "TLSv1.3")
    ctx = client_context(pki, hi=ssl.TLSVersion.TLSv1_2)
    status, version = https_get(https, ctx, node.admin)
    assert (status, version) == (200, "TLSv1.2")


def _handshake(port, ctx):
    """Returns the negotiated version, or None when the handshake failed."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        try:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as t:
                return t.version()
        except (ssl.SSLError, ConnectionError, socket.timeout, OSError):
            return None


@pytest.mark.parametrize("old", ["TLSv1", "TLSv1_1"])
def test_old_tls_versions_refused(https, node, pki, old):
    """The client really offers the old version: the same context completes
    a handshake with a local Python server that allows it (a positive
    control), and strait refuses it. The local OpenSSL 3 does offer TLS 1.0
    and 1.1 at security level 0, so python's ssl module is enough here."""
    version = getattr(ssl.TLSVersion, old)
    ctx = client_context(pki, lo=version, hi=version, legacy=True)

    # Positive control on 127.0.0.1:0.
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(*pki.server)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        sctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        sctx.minimum_version = version
        sctx.maximum_version = version
    ls = socket.create_server(("127.0.0.1", 0))
    ls.settimeout(10)

    def accept_one():
        try:
            c, _ = ls.accept()
            c.settimeout(10)
            with sctx.wrap_socket(c, server_side=True):
                pass
        except (OSError, ssl.SSLError):
            pass

    t = threading.Thread(target=accept_one, daemon=True)
    t.start()
    want = {"TLSv1": "TLSv1", "TLSv1_1": "TLSv1.1"}[old]
    try:
        assert _handshake(ls.getsockname()[1], ctx) == want, \
            "this client cannot offer %s: the refusal test would prove " \
            "nothing" % old
    finally:
        t.join(10)
        ls.close()

    assert _handshake(port_of(https), ctx) is None
    # The refusal did not hurt the server.
    assert get(https.discovery, node.admin, verify=pki.ca).status_code == 200


def test_plain_http_gets_no_taxii_answer(https, node, pki):
    """A plain-HTTP request on the HTTPS port, with a valid token: no HTTP
    answer, no TAXII body, the token is not echoed, the server lives on."""
    req = ("GET /taxii2/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: %s\r\n"
           "Authorization: Bearer %s\r\nConnection: close\r\n\r\n"
           % (TAXII, node.admin)).encode()
    got = b""
    with socket.create_connection(("127.0.0.1", port_of(https)),
                                  timeout=10) as s:
        s.sendall(req)
        deadline = time.time() + 10
        while time.time() < deadline and len(got) < 65536:
            try:
                chunk = s.recv(4096)
            except (ConnectionError, socket.timeout):
                break
            if not chunk:
                break
            got += chunk
    assert not got.startswith(b"HTTP/"), got[:200]
    assert b"api_roots" not in got and node.admin.encode() not in got
    # requests sees a broken connection or garbage, never a TAXII answer.
    try:
        r = get(https.discovery.replace("https://", "http://"), node.admin)
    except requests.exceptions.RequestException:
        pass
    else:
        assert r.status_code != 200 and "api_roots" not in r.text
    assert get(https.discovery, node.admin, verify=pki.ca).status_code == 200


def test_client_walk_over_https(https, node, pki):
    """The OASIS client (emulated) walks the node over HTTPS, verifying
    the server against the test CA."""
    server = emu.Server(https.discovery, verify=pki.ca,
                        auth=emu.TokenAuth(node.admin))
    assert server.title == "strait node TEST"
    root = server.default
    assert root.url == https.root and TAXII in root.versions
    assert [c.id for c in root.collections] == [collection_id(node)]


# ------------------------------------------------------ client certificates


def test_fingerprints_agree(pki):
    """openssl's colon form and the DER hash name the same certificate."""
    a = fingerprint_openssl(pki.alice[0])
    assert a.replace(":", "").lower() == fingerprint_der(pki.alice[0])
    assert fingerprint_der(pki.alice[0]) != fingerprint_der(pki.bob[0])


def test_bound_account_needs_its_certificate(mtls, node, pki):
    url = mtls.discovery
    ca = pki.ca
    # alice's token alone: refused.
    r = get(url, node.alice, verify=ca)
    assert r.status_code == 401 and "WWW-Authenticate" in r.headers
    # With her certificate: accepted, on every route.
    assert get(url, node.alice, verify=ca, cert=pki.alice).status_code == 200
    assert get(mtls.root + "collections/", node.alice, verify=ca,
               cert=pki.alice).status_code == 200
    # Another account's (valid, CA-issued) certificate does not help.
    assert get(url, node.alice, verify=ca, cert=pki.bob).status_code == 401
    # Nor does a certificate the CA did not issue.
    assert get(url, node.alice, verify=ca, cert=pki.rogue).status_code == 401
    # The certificate is not a credential by itself.
    assert get(url, None, verify=ca, cert=pki.alice).status_code == 401
    # bob is not bound: his token works with or without a certificate.
    assert get(url, node.bob, verify=ca).status_code == 200
    assert get(url, node.bob, verify=ca, cert=pki.bob).status_code == 200
    assert get(url, node.bob, verify=ca, cert=pki.alice).status_code == 200


def test_binding_to_an_untrusted_certificate_does_not_work(mtls, node, pki):
    """Binding an account to a certificate the client CA did not issue
    (here self-signed) makes the account unusable: the server only takes
    fingerprints of verified certificates."""
    node.run("user", "bind-cert", "bob", fingerprint_der(pki.rogue[0]),
             check=0)
    deadline = time.time() + 5
    while time.time() < deadline:  # the running server re-reads auth.db
        if get(mtls.discovery, node.bob, verify=pki.ca).status_code == 401:
            break
        time.sleep(0.1)
    assert get(mtls.discovery, node.bob, verify=pki.ca,
               cert=pki.rogue).status_code == 401
    assert get(mtls.discovery, node.bob, verify=pki.ca).status_code == 401


def test_bound_certificate_is_not_locked_out(mtls, node, pki):
    """Repeated bad tokens from this address lock tokens out (429), but a
    request whose verified certificate is bound to an account still gets
    through (a partner's peer must not be locked out by someone else)."""
    bad = "strait_" + "B" * 43
    statuses = []
    for _ in range(30):
        statuses.append(get(mtls.discovery, bad, verify=pki.ca).status_code)
        if statuses[-1] == 429:
            break
    assert statuses[-1] == 429, statuses
    r = get(mtls.discovery, node.bob, verify=pki.ca)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert get(mtls.discovery, node.alice, verify=pki.ca,
               cert=pki.alice).status_code == 200


def test_require_client_cert(node, pki):
    node.admin = add_user(node, "admin", "admin")
    s = Server(node, *tls_args(pki, "--tls-client-ca", pki.ca,
                               "--require-client-cert"))
    try:
        r = get(s.discovery, node.admin, verify=pki.ca)
        assert r.status_code == 403 and r.json()["http_status"] == "403"
        r = get(s.root + "collections/", node.admin, verify=pki.ca)
        assert r.status_code == 403
        # A certificate the CA did not issue is no certificate.
        assert get(s.discovery, node.admin, verify=pki.ca,
                   cert=pki.rogue).status_code == 403
        # A verified one (not bound to anyone) plus the token: fine.
        assert get(s.discovery, node.admin, verify=pki.ca,
                   cert=pki.bob).status_code == 200
        # The certificate does not replace the token.
        assert get(s.discovery, None, verify=pki.ca,
                   cert=pki.bob).status_code == 401
    finally:
        stop_clean(s)


def test_client_certificate_must_allow_client_auth(node, pki):
    """RFC 5280: a certificate with an extended key usage may be used only
    for the purposes it lists. The node's own server certificate (same CA,
    serverAuth only) must not count as a client certificate."""
    node.admin = add_user(node, "admin", "admin")
    s = Server(node, *tls_args(pki, "--tls-client-ca", pki.ca,
                               "--require-client-cert"))
    try:
        assert get(s.discovery, node.admin, verify=pki.ca,
                   cert=pki.bob).status_code == 200
        try:
            r = get(s.discovery, node.admin, verify=pki.ca, cert=pki.server)
        except requests.exceptions.SSLError:
            return  # refused in the handshake: fine too
        assert r.status_code == 403
    finally:
        stop_clean(s)


def test_tls_option_errors(node, pki):
    for args, msg in [
            (["--tls-cert", pki.server[0]], "go together"),
            (["--tls-client-ca", pki.ca], "needs --tls-cert"),
            (tls_args(pki, "--require-client-cert"),
             "needs --tls-client-ca")]:
        r = node.run("serve", "--listen", "127.0.0.1:0", *args, check=2,
                     timeout=30)
        assert msg in r.err, r
    # A key that does not exist: refused at start, exit 2.
    r = node.run("serve", "--listen", "127.0.0.1:0", "--tls-cert",
                 pki.server[0], "--tls-key", str(pki.dir / "missing.key"),
                 check=2, timeout=30)
    assert r.err.strip(), r


# --------------------------------------------------- plain HTTP off loopback


def test_plain_http_refused_off_loopback(node):
    """The refusal comes before the listener binds, so this binds nothing."""
    for listen in ("0.0.0.0:0", "192.0.2.1:0"):
        r = node.run("serve", "--listen", listen, check=2, timeout=30)
        assert "refusing plain HTTP on non-loopback address " + listen \
            in r.err, r
        assert r.out == "", r


def test_allow_plain_starts_off_loopback(node):
    """With --allow-plain it starts; it is stopped at once (it listens on
    every interface for a moment, acceptable on this isolated machine)."""
    node.admin = add_user(node, "admin", "admin")
    proc = subprocess.Popen(
        [BIN, "--home", node.home, "serve", "--listen", "0.0.0.0:0",
         "--allow-plain"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("serving TAXII 2.1 at http://0.0.0.0:"), line
        # It answers (through loopback).
        port = line.strip().rsplit(":", 1)[1].split("/")[0]
        r = get("http://127.0.0.1:%s/taxii2/" % port, node.admin)
        assert r.status_code == 200
    finally:
        wait_signal_wait(proc.pid)
        proc.terminate()
        try:
            rc = proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise
        err = proc.stderr.read()
        proc.stdout.close()
        proc.stderr.close()
    assert rc == 0 and sanitizer_report(err) is None, err
