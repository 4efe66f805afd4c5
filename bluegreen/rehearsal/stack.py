"""Start (and stop) the rehearsal's real parts on one machine, each in a temp dir on loopback ports:

a moto server (the AWS control plane the shifter talks to), a blue and a green MariaDB with the
payment schema migrated on blue and carried to green by GTID replication (green fenced), HAProxy,
and two payment-service instances per colour.

As on AWS, each database serves TLS with a certificate naming only its own endpoint (a CA made for
this run, pki.py), the service knows both endpoint names, verifies TLS identity
against them, and writes to whichever the fence allows (app/payment_api/database.py): nothing on the
write path resolves or moves a name. The names resolve nowhere on this machine, so the service
opens the TCP connection to the loopback port (DB_RESOLVE, as curl --resolve) and TLS still checks
the name. The fence and the drain log in as root over each server's socket, never as the service.

Clients reach the services as they reach the ALBs: mutual TLS, verified against a CA made for the
run, which issues one client certificate per merchant; each merchant's certificate subject is
granted that merchant in the database (client_merchants), as `payment-api clients grant` does.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.x509.oid import NameOID

from bluegreen import local_mariadb as mdb
from bluegreen.local_mariadb import MariaDB, free_port
from bluegreen.mariadb_replication import replicate, wait_caught_up
from traffic_shifter.db import SqlGrantFence
from traffic_shifter.model import COLOURS

from . import haproxy as hp
from .adapters import socket_login
from .client_tls import ClientTLS
from .loadgen import MERCHANTS
from .pki import CertificateAuthority
from .started import started
from .world import APP_PASSWORD, APP_SCHEMA, APP_USER, ENDPOINTS, World, aws_env

ROOT = Path(__file__).resolve().parents[2]
MOTO_PYTHON = ROOT / ".venv-emulator" / "bin" / "python"
SIGNING_KEY = "rehearsal-signing-key"
SERVICE_NICE = 10
#: The service's write retry window (WRITE_RETRY_SECONDS, as compute.py deploys it): covers the switchover's
#: worst-case pause budget (docs/db-switchover.md).
WRITE_RETRY_SECONDS = 10
DEBIAN_PACKAGES = {"mariadb-server": mdb.available, "haproxy": hp.available}


class StackError(RuntimeError):
    """A part cannot start; the message says what to do (and everything started is stopped)."""


def missing_packages() -> list[str]:
    return [name for name, ok in DEBIAN_PACKAGES.items() if not ok()]


def wait_http(url: str, timeout: float, what: str, proc: subprocess.Popen | None = None, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        if (proc is not None and proc.poll() is not None) or time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-1500:] if log and log.exists() else ""
            raise StackError(f"{what} did not answer on {url}: {tail}")
        time.sleep(0.1)


@dataclass
class Service:
    colour: str
    index: int
    port: int
    proc: subprocess.Popen | None = None

    @property
    def name(self) -> str:
        return f"{self.colour}-{self.index}"

    @property
    def pid(self) -> int:
        return started(self.proc, f"payment service {self.name}").pid


@dataclass
class Stack:
    keep: bool = False
    payments_port: int | None = None
    per_colour: int = 2
    #: The time-compression factor (monitor.TimeModel.scale): the health-check interval and the EMF flush.
    scale: float = 10.0
    #: The payment metrics' namespace, as the monitoring template resolves it here.
    metrics_namespace: str = "PaymentService/rehearsal-local"
    base: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="rehearsal-")))
    dbs: dict[str, MariaDB] = field(default_factory=dict)
    services: list[Service] = field(default_factory=list)
    proxy: hp.HAProxy | None = None
    moto: subprocess.Popen | None = None
    world: World | None = None
    tls: ClientTLS | None = None
    ca: CertificateAuthority | None = None

    ca_path: str = ""

    def service_env(self, colour: str, port: int) -> dict[str, str]:
        """The service's settings: both endpoint names, TLS verified against the run's CA (identity included)."""
        return {**os.environ, "APP_COLOUR": colour, "APP_PORT": str(port),
                "DB_ENDPOINTS": ",".join(f"{c}={ENDPOINTS[c]}" for c in hp.COLOURS),
                "DB_RESOLVE": ",".join(f"{ENDPOINTS[c]}=127.0.0.1:{self.dbs[c].port}" for c in hp.COLOURS),
                "DB_CA_BUNDLE": self.ca_path, "DB_NAME": APP_SCHEMA, "DB_USER": APP_USER, "DB_PASSWORD": APP_PASSWORD,
                "PAYMENT_SIGNING_KEY": SIGNING_KEY, "WRITE_RETRY_SECONDS": str(WRITE_RETRY_SECONDS),
                # The rehearsal's own settings (never in a task definition): faults can be injected, and the
                # one-second EMF flush is compressed with every other period.
                "REHEARSAL_FAULTS": "true", "METRICS_FLUSH_SECONDS": f"{max(0.05, 1.0 / self.scale):g}",
                "METRICS_NAMESPACE": self.metrics_namespace}

    def _bin(self, name: str) -> str:
        return str(Path(sys.executable).parent / name)

    def start(self, say=print) -> World:
        missing = missing_packages()
        if missing:
            raise StackError(f"missing Debian package(s) {', '.join(missing)}: apt-get install -y {' '.join(missing)} "
                             "(scripts/rehearse installs them when run as root)")
        if not MOTO_PYTHON.exists():
            raise StackError(f"{MOTO_PYTHON} is missing: run scripts/bootstrap first")
        try:
            return self._start(say)
        except BaseException:
            self.stop()
            raise

    def _start(self, say) -> World:
        ports = hp.Ports.pick(payments=self.payments_port)
        moto_port = free_port()
        self._moto_log = open(self.base / "moto.log", "w")
        self.moto = moto = subprocess.Popen([str(MOTO_PYTHON), "-m", "moto.server", "-H", "127.0.0.1", "-p", str(moto_port)],
                                            stdout=self._moto_log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True)
        moto_url = f"http://127.0.0.1:{moto_port}"
        # The databases' CA (the RDS CA's stand-in), its own: each certificate names only its database's endpoint.
        db_ca = CertificateAuthority(self.base / "db-tls", "rehearsal database CA")
        self.ca_path = str(db_ca.ca_file)
        for colour, server_id in (("blue", 1), ("green", 2)):
            cert = db_ca.issue(f"db-{colour}", x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ENDPOINTS[colour])]),
                               client=False, hosts=(ENDPOINTS[colour],))
            tls = (f"--ssl-ca={db_ca.ca_file}", f"--ssl-cert={cert.cert}", f"--ssl-key={cert.key}")
            self.dbs[colour] = MariaDB(colour, server_id=server_id, base_dir=self.base, keep=self.keep,
                                       extra_args=tls).start()
        say(f"rehearsal: MariaDB blue :{self.dbs['blue'].port}, green :{self.dbs['green'].port} ({self.base})")
        self._migrate_blue()
        edge = self._certificates()
        replicate(self.dbs["blue"], self.dbs["green"])
        wait_caught_up(self.dbs["blue"], self.dbs["green"])
        for db in self.dbs.values():  # as the IAM-auth user on Aurora: TLS or no login (local, not replicated)
            db.execute(f"ALTER USER '{APP_USER}'@'%' REQUIRE SSL")
        # Green is not the writer: the same fence the switchover uses, on green only (never replicated).
        SqlGrantFence(lambda _c: socket_login(self.dbs["green"].socket_path, binlog=False)(), user=APP_USER,
                      schema=APP_SCHEMA, kill_sql="KILL %s").fence("green")
        self.services = [Service(c, i + 1, free_port()) for c in COLOURS for i in range(self.per_colour)]
        by_colour = {c: [s.port for s in self.services if s.colour == c] for c in COLOURS}
        check = hp.HealthCheck.from_template(ROOT / "templates" / "alb.json", self.scale)
        self.proxy_check_interval = check.interval_ms / 1000
        self.proxy = proxy = hp.HAProxy(self.base, ports).start(by_colour, {c: d.port for c, d in self.dbs.items()},
                                                                check=check, tls=edge)
        for s in self.services:
            self.start_service(s)
        for s in self.services:
            wait_http(f"http://127.0.0.1:{s.port}/health", 60, f"payment service {s.name}", s.proc,
                      self.base / f"service-{s.name}.log")
        self._wait_all_up(proxy)
        wait_http(f"{moto_url}/moto-api/", 60, "the moto server", moto, self.base / "moto.log")
        self.world = World(
            base=str(self.base), moto_url=moto_url, haproxy_socket=proxy.socket_path,
            ports={"payments": ports.payments, "writer": ports.writer, "log": ports.log, "alb": ports.alb, "tg": ports.tg},
            db_sockets={c: d.socket_path for c, d in self.dbs.items()}, db_ports={c: d.port for c, d in self.dbs.items()},
            ca_path=self.ca_path,
            services={c: by_colour[c] for c in COLOURS},
            pids={"moto": moto.pid, "haproxy": proxy.pid, **{f"mariadb-{c}": started(d.pid, f"MariaDB {c}") for c, d in self.dbs.items()},
                  **{f"service-{s.name}": s.pid for s in self.services}},
            tls=started(self.tls, "the merchants' client TLS").as_dict(),
        )
        self.world.save()
        say(f"rehearsal: HAProxy {self.world.url} (writer name :{ports.writer}), {len(self.services)} payment-service "
            f"instances, moto {moto_url}")
        return self.world

    def _wait_all_up(self, proxy: hp.HAProxy, timeout: float = 30) -> None:
        """HAProxy routes only to instances its health checks passed (rise 2)."""
        deadline = time.monotonic() + timeout
        while True:
            states = {c: proxy.server_states(c) for c in COLOURS}
            if all(v == "UP" for st in states.values() for v in st.values()):
                return
            if time.monotonic() > deadline:
                raise StackError(f"HAProxy's health checks did not pass on every instance: {states}")
            time.sleep(0.1)

    def _migrate_blue(self) -> None:
        blue = self.dbs["blue"]
        env = {**self.service_env("blue", 8080), "DB_ENDPOINTS": "127.0.0.1", "DB_PORT": str(blue.port), "DB_RESOLVE": "",
               "DB_CA_BUNDLE": "", "DB_ADMIN_USER": mdb.ADMIN_USER, "DB_ADMIN_PASSWORD": mdb.ADMIN_PASSWORD}
        done = subprocess.run([self._bin("payment-api"), "migrate", "--create-app-user"], env=env, capture_output=True,
                              text=True, timeout=120, stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            raise StackError(f"payment-api migrate on blue failed: {(done.stderr or done.stdout)[-1500:]}")

    def _certificates(self) -> hp.EdgeTLS:
        """The run's CA, HAProxy's server certificate, a client certificate per merchant, each granted its
        merchant on blue (replicated to green with the schema)."""
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        from payment_api import client_identity, signing

        self.ca = CertificateAuthority(self.base / "pki")
        server = self.ca.server()
        issued = {m: self.ca.client(m) for m in MERCHANTS}
        # The public keys a client is given (docs/payment-service.md): every answer is checked with them alone.
        published = signing.Signer(SIGNING_KEY).public_keys()
        self.tls = ClientTLS(str(self.ca.ca_file), {m: i.pair for m, i in issued.items()}, published)
        blue = self.dbs["blue"]
        engine = create_engine("mysql+pymysql://", creator=lambda: blue.root(binlog=True, database=APP_SCHEMA),
                               poolclass=NullPool)
        try:
            with engine.begin() as conn:
                for merchant, cert in issued.items():
                    client_identity.grant(conn, cert.subject, [merchant])
        finally:
            engine.dispose()
        return hp.EdgeTLS(str(server.cert), str(self.ca.ca_file))

    def identity_probe(self, colour: str, *, through: str) -> str | None:
        """Log in with the service's own connection code (payment_api.database) to ``colour``'s database,
        reached through ``through`` (a name or address): None when it connects, else why it was refused."""
        from payment_api.database import make_engine  # the service's package, installed in .venv
        from payment_api.settings import Settings

        env = self.service_env(colour, 8080)
        env.update(DB_ENDPOINTS=through, DB_RESOLVE=f"{through}=127.0.0.1:{self.dbs[colour].port}")
        engine = make_engine(Settings.from_env(env))
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
            return None
        except Exception as err:  # noqa: BLE001 - the reason is the answer
            return f"{type(err).__name__}: {getattr(err, 'orig', err)}"[:300]
        finally:
            engine.dispose()

    def tls_report(self) -> dict:
        """What report.json says about TLS and identity: each endpoint by its name, and another name refused."""
        other = {c: ENDPOINTS["green" if c == "blue" else "blue"] for c in hp.COLOURS}
        return {"ca": "made for this run (bluegreen/rehearsal/pki.py, the databases' own CA)", "endpoints": dict(ENDPOINTS),
                "by_endpoint_name": {c: self.identity_probe(c, through=ENDPOINTS[c]) or "connected, identity verified"
                                     for c in hp.COLOURS},
                "through_another_name": {c: self.identity_probe(c, through=other[c]) or "CONNECTED (identity not checked!)"
                                         for c in hp.COLOURS}}

    def start_service(self, s: Service) -> None:
        """Start (or start again, as ECS replaces a task) one payment-service instance on its port."""
        log = open(self.base / f"service-{s.name}.log", "a")
        # On AWS the shifter and the switchover run on their own (Lambda) CPUs; here every part shares
        # this machine's cores, so the services yield to them (and to the databases): nice 10.
        s.proc = subprocess.Popen(["nice", "-n", str(SERVICE_NICE), self._bin("payment-api"), "serve", "--host", "127.0.0.1"],
                                  env=self.service_env(s.colour, s.port), stdout=log,
                                  stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        if self.world is not None:
            self.world.pids[f"service-{s.name}"] = s.proc.pid
            self.world.save()

    def log_files(self) -> list[Path]:
        return [self.base / f"service-{s.name}.log" for s in self.services]

    def running(self, colour: str) -> int:
        """Live instances of a colour (what Container Insights' RunningTaskCount counts)."""
        return sum(1 for s in self.services if s.colour == colour and s.proc is not None and s.proc.poll() is None)

    def set_faults(self, name: str, **faults: float) -> dict:
        """The rehearsal's fault injection on one instance (payment_api/faults.py), through its own port."""
        s = next(x for x in self.services if x.name == name)
        answer = httpx.put(f"http://127.0.0.1:{s.port}/rehearsal/faults", json=faults, timeout=10)
        answer.raise_for_status()
        return answer.json()

    def kill_colour(self, colour: str) -> list[str]:
        """The fault: every instance of ``colour`` dies at once (SIGKILL, no goodbye)."""
        killed = []
        for s in self.services:
            if s.colour == colour and s.proc and s.proc.poll() is None:
                os.killpg(s.proc.pid, signal.SIGKILL)
                s.proc.wait(timeout=10)
                killed.append(s.name)
        return killed

    def stop(self) -> None:
        """Stop everything this stack started (services, HAProxy, databases, moto); remove the dir unless keep."""
        for s in self.services:
            if s.proc and s.proc.poll() is None:
                try:
                    os.killpg(s.proc.pid, signal.SIGTERM)
                    s.proc.wait(timeout=15)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    try:
                        os.killpg(s.proc.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
        if self.proxy:
            self.proxy.stop()
        for db in self.dbs.values():
            db.stop()
        if self.moto and self.moto.poll() is None:
            self.moto.terminate()
            try:
                self.moto.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.moto.kill()
        if not self.keep:
            shutil.rmtree(self.base, ignore_errors=True)


def stop_kept(world_path: str) -> list[str]:
    """The ``stop_command`` of a ``--keep`` run: end every process it left and remove its dir."""
    world = World.load(world_path)
    stopped = []
    for name, pid in world.pids.items():
        try:
            os.killpg(pid, signal.SIGTERM)
            stopped.append(name)
        except (ProcessLookupError, PermissionError):
            try:
                os.kill(pid, signal.SIGTERM)
                stopped.append(name)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + 30
    for pid in world.pids.values():
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
    shutil.rmtree(world.base, ignore_errors=True)
    return stopped


__all__ = ["Stack", "StackError", "aws_env", "missing_packages", "stop_kept"]
