"""The payment clients' side of mutual TLS: which certificate each merchant presents, and what the
handshakes cost.

``ClientTLS`` is plain data (paths), so it crosses into the load generator's processes; each
process builds one ``ssl.SSLContext`` per merchant from it. A local rehearsal makes its own
(``stack.Stack``: a CA for the run, a certificate per merchant); against a deployment the operator
names a directory of ``<merchant_id>.crt`` / ``<merchant_id>.key`` pairs the environment's trust
store accepts (``scripts/rehearse --url ... --client-certs DIR``).
"""

from __future__ import annotations

import socket
import ssl
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit


class ClientTLSError(ValueError):
    """The client certificates cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class ClientTLS:
    #: CA bundle the server's certificate is verified against; "" for the system's, None for no verification.
    ca: str | None = ""
    #: merchant id -> (certificate, key) PEM paths.
    clients: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: The service's published public keys (kid -> base64url Ed25519 key) every answer is verified with;
    #: empty: answers are not checked.
    signing_keys: dict[str, str] = field(default_factory=dict)

    @property
    def merchants(self) -> list[str]:
        return sorted(self.clients)

    def context(self, merchant: str) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=self.ca or None)
        if self.ca is None:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        cert, key = self.clients[merchant]
        ctx.load_cert_chain(cert, key)
        return ctx

    def subset(self, merchants: list[str]) -> ClientTLS:
        return ClientTLS(self.ca, {m: self.clients[m] for m in merchants}, dict(self.signing_keys))

    def as_dict(self) -> dict:
        return {"ca": self.ca, "clients": {m: list(p) for m, p in self.clients.items()},
                "signing_keys": dict(self.signing_keys)}

    @classmethod
    def from_dict(cls, doc: dict | None) -> ClientTLS | None:
        if not doc:
            return None
        return cls(doc.get("ca", ""), {m: (p[0], p[1]) for m, p in doc.get("clients", {}).items()},
                   dict(doc.get("signing_keys") or {}))

    @classmethod
    def from_dir(cls, directory: str, ca: str | None = "", signing_keys: dict[str, str] | None = None) -> ClientTLS:
        """Every ``<merchant>.crt`` with its ``<merchant>.key`` in ``directory``."""
        base = Path(directory)
        if not base.is_dir():
            raise ClientTLSError(f"--client-certs {directory}: not a directory (one <merchant_id>.crt and .key per merchant)")
        clients = {}
        for cert in sorted(base.glob("*.crt")):
            key = cert.with_suffix(".key")
            if not key.is_file():
                raise ClientTLSError(f"{cert} has no key beside it ({key.name})")
            clients[cert.stem] = (str(cert), str(key))
        if not clients:
            raise ClientTLSError(f"--client-certs {directory}: no <merchant_id>.crt files in it")
        tls = cls(ca, clients, dict(signing_keys or {}))
        for merchant in tls.merchants:  # a bad pair is found now, not as 10,000 failed requests
            try:
                tls.context(merchant)
            except (ssl.SSLError, OSError) as err:
                raise ClientTLSError(f"the certificate or key of merchant {merchant} cannot be loaded: {err}") from None
        return tls


def handshake_ms(url: str, tls: ClientTLS, merchant: str, count: int = 40) -> dict[str, float]:
    """Full mutual-TLS handshakes (TCP connect + TLS, no resumption: the ALB offers none with mutual TLS)
    to ``url``'s host, one after another; milliseconds, client-observed."""
    parts = urlsplit(url)
    ctx = tls.context(merchant)
    times = []
    for _ in range(count):
        started = time.perf_counter()
        with socket.create_connection((parts.hostname, parts.port or 443), timeout=5) as raw, \
                ctx.wrap_socket(raw, server_hostname=parts.hostname) as conn:
            conn.do_handshake()
            times.append(1000 * (time.perf_counter() - started))
    ordered = sorted(times)
    return {"p50": round(statistics.median(ordered), 3), "p90": round(ordered[int(0.9 * (len(ordered) - 1))], 3),
            "count": count}


def cost_per_request(handshakes: int, requests: int, handshake_p50_ms: float, cpu_ms: float | None) -> dict[str, float | int | None]:
    """What the mutual TLS at the edge costs each request: the handshakes amortised over the requests
    their connections carried, and the edge's CPU per request (TLS records and handshakes together)."""
    per_handshake = requests / handshakes if handshakes else None
    return {
        "handshakes": handshakes,
        "requests": requests,
        "requests_per_handshake": round(per_handshake, 1) if per_handshake else None,
        "handshake_ms_p50": handshake_p50_ms,
        "handshake_ms_per_request": round(handshake_p50_ms * handshakes / requests, 4) if requests else None,
        "edge_cpu_ms_per_request": round(cpu_ms / requests, 4) if (cpu_ms is not None and requests) else None,
    }
