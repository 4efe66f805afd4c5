"""HAProxy (Debian's ``haproxy``) as the stand-in for Route 53, the two ALBs and the writer name.

One process, driven at run time through its runtime API (a unix socket, ``level admin``):

    payments (the payment hostname)  --dns weights-->  alb_blue | alb_green   (Route 53's weighted records)
    alb_<edge>  --listener weights-->  tg_blue | tg_green                     (each ALB's weighted forward)
    tg_<colour> --> backend <colour>: the colour's payment-service instances, health-checked on /health
    writer (TCP) --> the one database the writer name points to                (the Route 53 writer CNAME)

Weights are server weights (``set weight``); the writer name is a TCP backend with one server per
database, all but one in maintenance (``set server ... state``). Like a CNAME change, moving it
sends only NEW connections to the other database; sessions already open stay where they are until
the fence kills them. Each request through ``payments`` and ``tg_<colour>`` is logged by UDP to the
rehearsal's gate monitor, which computes the alarms from it as CloudWatch does from the ALB's metrics.
"""

from __future__ import annotations

import csv
import io
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bluegreen.local_mariadb import check_port_free, free_port
from traffic_shifter.model import COLOURS

from .started import started

INSTALL_HINT = "apt-get install -y haproxy"
#: One log line per request: the frontend, the backend, the status, the total active time (ms) and the
#: termination state ("--": the server answered; else the proxy ended it, e.g. "SC" connection refused).
LOG_FORMAT = "RH %f %b %ST %Ta %ts"
#: The headers an ALB with mutual TLS in verify mode passes to its targets (app/payment_api/client_identity.py
#: reads them), as HAProxy's sample fetches give them: hex serial, RFC 2253 names, ISO 8601 validity (the
#: certificate's UTCTime rewritten), the leaf as URL-encoded PEM. A client's own X-Amzn-Mtls-* headers are
#: removed first, so only what the TLS layer verified reaches a service.
_UTC_TO_ISO = "regsub('^([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})Z','20\\1-\\2-\\3T\\4:\\5:\\6Z')"
MTLS_HEADERS = (
    ("X-Amzn-Mtls-Clientcert-Serial-Number", "%[ssl_c_serial,hex]"),
    ("X-Amzn-Mtls-Clientcert-Issuer", "%[ssl_c_i_dn(,0,rfc2253)]"),
    ("X-Amzn-Mtls-Clientcert-Subject", "%[ssl_c_s_dn(,0,rfc2253)]"),
    ("X-Amzn-Mtls-Clientcert-Validity",
     f"NotBefore=%[ssl_c_notbefore,{_UTC_TO_ISO}];NotAfter=%[ssl_c_notafter,{_UTC_TO_ISO}]"),
    ("X-Amzn-Mtls-Clientcert-Leaf",
     "-----BEGIN%%20CERTIFICATE-----%%0A%[ssl_c_der,base64]%%0A-----END%%20CERTIFICATE-----%%0A"),
)


@dataclass(frozen=True)
class EdgeTLS:
    """The ALBs' HTTPS listener with mutual TLS (verify mode): HAProxy's certificate+key file and the CA
    bundle of the trust store, and optionally its revocation list."""

    certificate: str
    ca_file: str
    crl_file: str = ""

    def bind_options(self) -> str:
        crl = f" crl-file {self.crl_file}" if self.crl_file else ""
        # TLS 1.2+ as the listeners' policy (ELBSecurityPolicy-TLS13-1-2-2021-06); no client certificate,
        # an unknown CA, an expired or a revoked certificate: the handshake fails.
        return f" ssl crt {self.certificate} ca-file {self.ca_file}{crl} verify required ssl-min-ver TLSv1.2"


class HAProxyError(RuntimeError):
    """HAProxy cannot be started or driven; the message says what to do."""


def binary() -> str:
    found = shutil.which("haproxy") or ("/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None)
    if not found:
        raise HAProxyError(f"haproxy not found: {INSTALL_HINT} (Debian package haproxy)")
    return found


def available() -> bool:
    try:
        binary()
        return True
    except HAProxyError:
        return False


@dataclass(frozen=True)
class Ports:
    payments: int
    writer: int
    log: int
    alb: dict[str, int]
    tg: dict[str, int]

    @classmethod
    def pick(cls, payments: int | None = None, writer: int | None = None) -> Ports:
        for port in (payments, writer):
            if port:
                check_port_free(port)
        return cls(payments=payments or free_port(), writer=writer or free_port(), log=free_port(),
                   alb={c: free_port() for c in COLOURS}, tg={c: free_port() for c in COLOURS})


@dataclass(frozen=True)
class HealthCheck:
    """The target groups' health check (templates/alb.json): its timeout and thresholds as deployed;
    the interval is the deployed one divided by the rehearsal's time-compression factor."""

    interval_ms: int = 500
    timeout_s: int = 5
    unhealthy: int = 2
    healthy: int = 3

    @classmethod
    def from_template(cls, path: Path, scale: float = 20.0) -> HealthCheck:
        import json

        resources = json.loads(path.read_text())["Resources"].values()
        tg = next(r["Properties"] for r in resources if r["Type"] == "AWS::ElasticLoadBalancingV2::TargetGroup")
        return cls(interval_ms=max(1, round(1000 * int(tg["HealthCheckIntervalSeconds"]) / scale)),
                   timeout_s=int(tg["HealthCheckTimeoutSeconds"]), unhealthy=int(tg["UnhealthyThresholdCount"]),
                   healthy=int(tg["HealthyThresholdCount"]))


def render_config(ports: Ports, socket_path: str, services: dict[str, list[int]], databases: dict[str, int],
                  *, writer: str = "blue", green_weight: int = 0, check: HealthCheck = HealthCheck(),
                  tls: EdgeTLS | None = None) -> str:
    """The configuration text; weights start at ``green_weight`` and the writer name at ``writer``.

    With ``tls`` the client-facing frontend terminates mutual TLS as both ALBs' HTTPS listeners do (one
    trust store for both edges, so which edge a client reached never changes who may connect)."""
    w = {"blue": 100 - green_weight, "green": green_weight}
    lines = [
        "global",
        f"  log 127.0.0.1:{ports.log} len 1024 local0 info",
        f"  stats socket {socket_path} mode 600 level admin",
        "  maxconn 4000",
        "defaults",
        "  log global",
        "  mode http",
        "  option dontlognull",
        "  timeout connect 2s",
        # Above the service's write retry budget (WRITE_RETRY_SECONDS 10): a paused write is answered, not cut.
        "  timeout client 30s",
        "  timeout server 30s",
        "  retries 2",
        "  option redispatch",
        "",
        "frontend payments",
        f"  bind 127.0.0.1:{ports.payments}" + (tls.bind_options() if tls else ""),
        f"  log-format \"{LOG_FORMAT}\"",
        *(["  http-request del-header x-amzn-mtls- -m beg"]
          + [f"  http-request set-header {name} \"{value}\"" for name, value in MTLS_HEADERS] if tls else []),
        "  default_backend dns",
        "backend dns",
        "  balance roundrobin",
        *(f"  server alb_{c} 127.0.0.1:{ports.alb[c]} weight {w[c]}" for c in COLOURS),
    ]
    for edge in COLOURS:
        lines += [
            f"frontend alb_{edge}",
            f"  bind 127.0.0.1:{ports.alb[edge]}",
            "  no log",
            f"  default_backend alb_{edge}_forward",
            f"backend alb_{edge}_forward",
            "  balance roundrobin",
            *(f"  server {c} 127.0.0.1:{ports.tg[c]} weight {w[c]}" for c in COLOURS),
        ]
    for colour in COLOURS:
        lines += [
            f"frontend tg_{colour}",
            f"  bind 127.0.0.1:{ports.tg[colour]}",
            f"  log-format \"{LOG_FORMAT}\"",
            f"  default_backend {colour}",
            f"backend {colour}",
            "  balance roundrobin",
            "  option httpchk",
            "  http-check send meth GET uri /health",
            "  http-check expect status 200",
            f"  timeout check {check.timeout_s}s",
            *(f"  server {colour}-{i + 1} 127.0.0.1:{port} check inter {check.interval_ms} fall {check.unhealthy} rise {check.healthy}"
              for i, port in enumerate(services[colour])),
        ]
    lines += [
        "frontend writer",
        "  mode tcp",
        "  no log",
        f"  bind 127.0.0.1:{ports.writer}",
        # Pooled database connections sit idle between payments.
        "  timeout client 1h",
        "  default_backend writer",
        "backend writer",
        "  mode tcp",
        "  timeout server 1h",
        *(f"  server {c} 127.0.0.1:{databases[c]}" + ("" if c == writer else " disabled") for c in COLOURS),
    ]
    return "\n".join(lines) + "\n"


class HAProxy:
    """The HAProxy process and its runtime API."""

    def __init__(self, base: Path, ports: Ports) -> None:
        self.base, self.ports = base, ports
        self.socket_path = str(base / "haproxy.sock")
        self.config_path = base / "haproxy.cfg"
        self.proc: subprocess.Popen | None = None

    def start(self, services: dict[str, list[int]], databases: dict[str, int], *, writer: str = "blue",
              green_weight: int = 0, check: HealthCheck = HealthCheck(), tls: EdgeTLS | None = None) -> HAProxy:
        exe = binary()
        self.base.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(render_config(self.ports, self.socket_path, services, databases,
                                                  writer=writer, green_weight=green_weight, check=check, tls=tls))
        validated = subprocess.run([exe, "-c", "-f", str(self.config_path)], capture_output=True, text=True, timeout=30)
        if validated.returncode != 0:
            raise HAProxyError(f"haproxy refused its configuration {self.config_path}: {validated.stderr[-1500:]}")
        self._log = open(self.base / "haproxy.log", "w")
        self.proc = subprocess.Popen([exe, "-db", "-f", str(self.config_path)], stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 15
        while True:
            try:
                self.command("show info")
                return self
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    log = (self.base / "haproxy.log").read_text(errors="replace")[-1500:]
                    self.stop()
                    raise HAProxyError(f"haproxy did not start (a port taken?): {log}") from None
                time.sleep(0.1)

    @property
    def pid(self) -> int:
        return started(self.proc, "haproxy").pid

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if getattr(self, "_log", None):
            self._log.close()

    # -- the runtime API ------------------------------------------------------------------------------
    def command(self, cmd: str) -> str:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(self.socket_path)
            s.sendall(cmd.encode() + b"\n")
            chunks = []
            while chunk := s.recv(65536):
                chunks.append(chunk)
        out = b"".join(chunks).decode(errors="replace")
        if out.strip() and any(word in out for word in ("Unknown command", "No such", "Require ")):
            raise HAProxyError(f"haproxy runtime API refused {cmd!r}: {out.strip()}")
        return out

    def info(self) -> dict[str, str]:
        """``show info``: the process's counters (CumSslConns: TLS connections accepted, each a full handshake)."""
        pairs = (line.split(":", 1) for line in self.command("show info").splitlines() if ":" in line)
        return {k.strip(): v.strip() for k, v in pairs}

    def stats(self) -> list[dict[str, str]]:
        text = self.command("show stat").lstrip("# ")
        return [row for row in csv.DictReader(io.StringIO(text)) if row.get("pxname")]

    def weights(self, backend: str) -> dict[str, int]:
        """Server -> current weight of ``backend`` (``get weight`` answers ``current (initial)``)."""
        return {row["svname"]: int(row["weight"]) for row in self.stats()
                if row["pxname"] == backend and row["svname"] not in ("FRONTEND", "BACKEND")}

    def set_weight(self, backend: str, server: str, weight: int) -> None:
        self.command(f"set weight {backend}/{server} {int(weight)}")

    def unhealthy(self, backend: str) -> int:
        """Servers the health checks hold down (``DOWN``, ``DOWN 1/3`` rising again) or in maintenance:
        what the ALB's UnHealthyHostCount counts. ``UP 1/2`` (one check failed) still serves."""
        return sum(status.split()[0] in ("DOWN", "MAINT") for status in self.server_states(backend).values())

    def server_states(self, backend: str) -> dict[str, str]:
        """Server -> status as HAProxy reports it (UP, DOWN, MAINT, no check, ...)."""
        return {row["svname"]: row["status"] for row in self.stats()
                if row["pxname"] == backend and row["svname"] not in ("FRONTEND", "BACKEND")}

    def set_state(self, backend: str, server: str, state: str) -> None:
        self.command(f"set server {backend}/{server} state {state}")
