"""The connections: one pool per cluster endpoint, and the writer found through the fence, not DNS.

Each task knows both clusters' RDS writer endpoints (DB_ENDPOINTS) and connects to them by those
names: on AWS an IAM token is valid only for the endpoint it was signed for, and the Aurora server
certificate names only the RDS endpoints, so a custom name (a CNAME) can neither log in nor pass
TLS identity verification (docs/aws-constraints.md). Exactly one cluster accepts payment writes: on
the other the fence has revoked the application user's DML (docs/db-switchover.md). The service
writes to the endpoint that accepted its last write; when a write is refused by the fence (MySQL
1142), its session is killed by the fence, or the endpoint does not answer, it turns to the other
endpoint (``WriterEngines.refused``) and the payment's retry (payments.py) carries on there. No DNS
change is on the write path; the first write after a switchover finds the new writer.

Every NEW pooled connection signs a fresh IAM token for its own endpoint (15-minute validity,
checked only at login) in SQLAlchemy's ``do_connect`` event and never caches it, and connects over
TLS verified against DB_CA_BUNDLE (the chain and the endpoint's name). Without IAM, DB_PASSWORD
(local use). DB_RESOLVE (local use) opens the TCP connection to another address while TLS still
verifies the endpoint's name, as ``curl --resolve`` does.

Why not AWS's Advanced Python Wrapper (its IAM and failover plugins): docs/db-switchover.md.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable

import pymysql
from sqlalchemy import URL, Engine, create_engine, event

from payment_api import retry
from payment_api.settings import Settings

#: A few long-lived connections per task: IAM authentication is meant for well under 200 new
#: connections per second per instance (docs/db-switchover.md), so never a connection per request.
POOL_SIZE = 8
MAX_OVERFLOW = 8
CONNECT_TIMEOUT_SECONDS = 3
IO_TIMEOUT_SECONDS = 10

#: host -> IAM token for that host (the endpoint the connection is opened to).
TokenFunction = Callable[[str], str]
log = logging.getLogger(__name__)
#: Connection-record flag: the fence refused this session; re-read its privileges before its next use.
REFRESH = "refresh_privileges"


def rds_token_function(settings: Settings) -> TokenFunction:
    """boto3's ``generate_db_auth_token`` with the task role's credentials (signed locally, no API call)."""
    import boto3

    client = boto3.client("rds", region_name=settings.aws_region)

    def token(host: str) -> str:
        # Signed for the endpoint this connection goes to: AWS refuses a token signed for another name.
        return client.generate_db_auth_token(DBHostname=host, Port=settings.db_port, DBUsername=settings.db_user,
                                             Region=settings.aws_region)

    return token


def url(settings: Settings, *, user: str | None = None, database: str | None = "", host: str | None = None) -> URL:
    return URL.create(
        "mysql+pymysql",
        username=user or settings.db_user,
        host=host or settings.db_host,
        port=settings.db_port,
        database=settings.db_name if database == "" else database,
        query={"charset": "utf8mb4"},
    )


def tls_args(settings: Settings) -> dict:
    """PyMySQL TLS arguments: verify the certificate chain and the host name against DB_CA_BUNDLE."""
    if not settings.db_ca_bundle:
        # The migration's first run, before the RDS CA bundle is loaded: encrypted, not authenticated
        # (as the DMS endpoints without a certificate). Aurora's parameter group requires TLS.
        return {"ssl": {"check_hostname": False}} if settings.db_tls_unverified else {}
    return {"ssl_ca": settings.db_ca_bundle, "ssl_verify_cert": True, "ssl_verify_identity": True}


def connect_args(settings: Settings) -> dict:
    return {
        "connect_timeout": CONNECT_TIMEOUT_SECONDS,
        "read_timeout": IO_TIMEOUT_SECONDS,
        "write_timeout": IO_TIMEOUT_SECONDS,
        **tls_args(settings),
    }


def open_connection(settings: Settings, cparams: dict) -> pymysql.connections.Connection | None:
    """A PyMySQL connection whose TCP socket goes to DB_RESOLVE's address for its host (TLS still checks
    the host's name); None when the host is not overridden (SQLAlchemy then connects as usual)."""
    host = cparams["host"]
    address = settings.db_address(host)
    if address == (host, cparams.get("port", settings.db_port)):
        return None
    conn = pymysql.connect(**cparams, defer_connect=True)
    try:
        sock = socket.create_connection(address, CONNECT_TIMEOUT_SECONDS)
    except OSError as err:
        raise pymysql.err.OperationalError(retry.CR_CONN_HOST_ERROR, f"Can't connect to MySQL server on {host!r} "
                                           f"(resolved to {address[0]}:{address[1]}: {err})") from err
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    conn.connect(sock)
    return conn


def moves_the_writer(error: BaseException | None, is_disconnect: bool = False) -> bool:
    """Refused by the fence, killed by it, or not answering: the writer may be the other endpoint now."""
    code = retry.mysql_code(error) if error is not None else None
    return is_disconnect or code in retry.FENCED or code in retry.CONNECTION_LOST or code in retry.UNREACHABLE


class WriterEngines:
    """Engine-like (``connect()``, ``dispose()``): connections to the endpoint that took the last write.

    ``refused(name)`` turns to the next endpoint, but only if ``name`` is still the current one: a
    late error from the old writer must not turn the service away from a new writer another thread
    already found. While both are fenced (the switchover's pause) the retries alternate between them
    until one accepts; the fence guarantees that at most one ever does."""

    def __init__(self, engines: dict[str, Engine], hosts: dict[str, str]) -> None:
        if not engines:
            raise ValueError("no database endpoint")
        self.engines, self.hosts = engines, hosts
        self.order = list(engines)
        self._current = self.order[0]
        self._lock = threading.Lock()
        self.moves = 0

    @property
    def current(self) -> str:
        return self._current

    def refused(self, name: str) -> None:
        with self._lock:
            if self._current != name or len(self.order) < 2:
                return
            self._current = self.order[(self.order.index(name) + 1) % len(self.order)]
            self.moves += 1
        log.info("database: %s (%s) refused or dropped a write; trying %s (%s)", name, self.hosts[name],
                 self._current, self.hosts[self._current])

    def connect(self):  # a SQLAlchemy Connection
        return self.engines[self._current].connect()

    def dispose(self) -> None:
        for engine in self.engines.values():
            engine.dispose()

    def twin(self) -> WriterEngines:
        """Same endpoints, logins and writer choice, pools of their own (the health check's: in a write
        pause every pooled connection may be busy with a retrying payment, and a full pool is no dead writer)."""
        return _Twin(self)


class _Twin(WriterEngines):
    def __init__(self, of: WriterEngines) -> None:
        self.of = of
        super().__init__({n: create_engine(e.url, pool=e.pool.recreate()) for n, e in of.engines.items()}, of.hosts)

    @property
    def current(self) -> str:
        return self.of.current

    def connect(self):
        return self.engines[self.of.current].connect()


def _engine(settings: Settings, name: str, host: str, sign: TokenFunction | None, pool_size: int,
            writers: Callable[[], WriterEngines | None]) -> Engine:
    engine = create_engine(
        url(settings, host=host),
        connect_args=connect_args(settings),
        pool_size=pool_size,
        max_overflow=MAX_OVERFLOW,
        pool_timeout=5,
        # A session the fence killed while idle in the pool is found and replaced at checkout.
        pool_pre_ping=True,
        # Each payment transaction locks only the rows it touches (no gap locks on new accounts).
        isolation_level="READ COMMITTED",
    )

    @event.listens_for(engine, "do_connect")
    def _login(dialect, conn_rec, cargs, cparams):  # SQLAlchemy's event signature
        if sign is not None:
            cparams["password"] = sign(host)  # fresh for this connection and endpoint; never stored or logged
        elif settings.db_password:
            cparams["password"] = settings.db_password
        return open_connection(settings, cparams)

    @event.listens_for(engine, "handle_error")
    def _maybe_moved(ctx):
        router = writers()
        if router is not None and moves_the_writer(ctx.original_exception, ctx.is_disconnect):
            router.refused(name)
        if retry.mysql_code(ctx.original_exception) == retry.ER_TABLEACCESS_DENIED and ctx.connection is not None:
            # Kept, not reconnected (retry.Action.REFRESH_AND_RETRY): its privileges are re-read at next use.
            try:
                ctx.connection.connection.info[REFRESH] = True
            except Exception:  # noqa: BLE001 - a connection already gone needs no refresh
                pass

    @event.listens_for(engine, "checkout")
    def _refresh_privileges(dbapi_conn, record, proxy):
        if record.info.pop(REFRESH, False):
            with dbapi_conn.cursor() as cur:  # schema-level grants apply to an open session at its next USE
                cur.execute(f"USE `{settings.db_name}`")

    return engine


def make_engine(settings: Settings, *, token: TokenFunction | None = None, pool_size: int = POOL_SIZE) -> WriterEngines:
    """The application's connections. ``token``: the IAM token signer (injected by tests; default boto3's)."""
    sign = (token or rds_token_function(settings)) if settings.db_iam_auth else None
    holder: list[WriterEngines] = []
    engines = {name: _engine(settings, name, host, sign, pool_size, lambda: holder[0] if holder else None)
               for name, host in settings.db_endpoints}
    holder.append(WriterEngines(engines, dict(settings.db_endpoints)))
    return holder[0]
