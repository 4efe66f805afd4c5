"""The rehearsal's edge (HAProxy, as both ALBs' HTTPS listeners with mutual TLS in verify mode): a client
without a certificate, with one from an unknown CA, with an expired or a revoked one is refused at the
handshake; a verified client's request reaches the target with the ALB's X-Amzn-Mtls-Clientcert-* headers,
which the service accepts, and whatever such headers the client sent itself are gone.

Real HAProxy on loopback; behind it a small HTTP server that answers with the headers it received.
"""

from __future__ import annotations

import datetime
import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from bluegreen.local_mariadb import free_port
from bluegreen.rehearsal import haproxy as hp
from bluegreen.rehearsal.pki import CertificateAuthority
from payment_api import client_identity as ci

pytestmark = pytest.mark.skipif(not hp.available(), reason="needs Debian's haproxy: apt-get install -y haproxy")


class Echo(BaseHTTPRequestHandler):
    def do_GET(self):  # http.server's name
        body = json.dumps(dict(self.headers.items())).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _crl(ca: CertificateAuthority, revoked_serial: int, path):
    now = datetime.datetime.now(datetime.UTC)
    crl = (x509.CertificateRevocationListBuilder().issuer_name(ca.name).last_update(now - datetime.timedelta(minutes=5))
           .next_update(now + datetime.timedelta(days=1))
           .add_revoked_certificate(x509.RevokedCertificateBuilder().serial_number(revoked_serial)
                                    .revocation_date(now - datetime.timedelta(minutes=1)).build())
           .sign(ca.key, hashes.SHA256()))
    path.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
    return str(path)


@pytest.fixture(scope="module")
def edge(tmp_path_factory):
    base = tmp_path_factory.mktemp("edge")
    ca = CertificateAuthority(base / "pki")
    revoked = ca.client("m-revoked")
    now = datetime.datetime.now(datetime.UTC)
    certs = {
        "good": ca.client("m-000"),
        "other": ca.client("m-001"),
        "expired": ca.client("m-expired", not_before=now - datetime.timedelta(days=3),
                             not_after=now - datetime.timedelta(days=1)),
        "revoked": revoked,
        "stranger": CertificateAuthority(base / "stranger", "some other CA").client("m-000"),
    }
    servers = []
    services = {}
    for colour in hp.COLOURS:
        server = ThreadingHTTPServer(("127.0.0.1", free_port()), Echo)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        services[colour] = [server.server_address[1]]
    proxy = hp.HAProxy(base, hp.Ports.pick())
    tls = hp.EdgeTLS(str(ca.server().cert), str(ca.ca_file), _crl(ca, revoked.certificate.serial_number, base / "crl.pem"))
    proxy.start(services, {"blue": free_port(), "green": free_port()}, check=hp.HealthCheck(interval_ms=100, healthy=1), tls=tls)
    try:
        yield {"url": f"https://127.0.0.1:{proxy.ports.payments}", "ca": str(ca.ca_file), "certs": certs}
    finally:
        proxy.stop()
        for server in servers:
            server.shutdown()


def get(edge, cert=None, headers=None):
    ctx = ssl.create_default_context(cafile=edge["ca"])
    if cert is not None:
        ctx.load_cert_chain(*cert.pair)
    with httpx.Client(verify=ctx, timeout=10) as client:
        return client.get(edge["url"] + "/echo", headers=headers or {})


def until_up(edge):
    import time

    deadline = time.monotonic() + 20
    while True:
        r = get(edge, edge["certs"]["good"])
        if r.status_code == 200 or time.monotonic() > deadline:
            return r
        time.sleep(0.1)


@pytest.mark.parametrize("which", [None, "stranger", "expired", "revoked"])
def test_edge__no_certificate_unknown_ca_expired_or_revoked__refused_at_the_handshake(edge, which):
    until_up(edge)
    with pytest.raises((httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)):
        get(edge, edge["certs"][which] if which else None)


def test_edge__verified_client__the_albs_headers_reach_the_target_and_the_service_accepts_them(edge):
    r = until_up(edge)
    assert r.status_code == 200
    headers = httpx.Headers(r.json())
    identity = ci.from_headers(headers)
    good = edge["certs"]["good"]
    assert identity.subject == good.subject and identity.serial == good.certificate.serial_number


def test_edge__client_sent_identity_headers__removed_or_overwritten(edge):
    until_up(edge)
    other = ci.alb_headers(edge["certs"]["other"].certificate)
    r = get(edge, edge["certs"]["good"], headers={**other, "X-Amzn-Mtls-Clientcert": "forged chain"})
    received = httpx.Headers(r.json())
    assert "x-amzn-mtls-clientcert" not in received  # the passthrough-mode header: nobody here may set it
    assert ci.from_headers(received).subject == edge["certs"]["good"].subject  # not m-001's
    for name in ci.REQUIRED:
        assert len(received.get_list(name)) == 1, name
