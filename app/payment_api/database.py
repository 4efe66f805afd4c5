"""The connection pool: SQLAlchemy's QueuePool over PyMySQL, one login per new connection.

With IAM database authentication every NEW pooled connection signs a fresh token (15-minute
validity, checked only at login) in SQLAlchemy's ``do_connect`` event and never caches it, and
connects over TLS verified against DB_CA_BUNDLE (the server's certificate and host name). PyMySQL
resolves DB_WRITER_HOST on every connect, so a reconnect after the fence lands wherever the writer
name points now. Without IAM, DB_PASSWORD (local use).
"""

from __future__ import annotations

from typing import Callable

from sqlalchemy import URL, Engine, create_engine, event

from payment_api.settings import Settings

#: A few long-lived connections per task: IAM authentication is meant for well under 200 new
#: connections per second per instance (docs/db-switchover.md), so never a connection per request.
POOL_SIZE = 8
MAX_OVERFLOW = 8
CONNECT_TIMEOUT_SECONDS = 3
IO_TIMEOUT_SECONDS = 10

TokenFunction = Callable[[], str]


def rds_token_function(settings: Settings) -> TokenFunction:
    """boto3's ``generate_db_auth_token`` with the task role's credentials (signed locally, no API call)."""
    import boto3

    client = boto3.client("rds", region_name=settings.aws_region)

    def token() -> str:
        return client.generate_db_auth_token(
            DBHostname=settings.db_writer_host, Port=settings.db_port, DBUsername=settings.db_user,
            Region=settings.aws_region)

    return token


def url(settings: Settings, *, user: str | None = None, database: str | None = "") -> URL:
    return URL.create(
        "mysql+pymysql",
        username=user or settings.db_user,
        host=settings.db_writer_host,
        port=settings.db_port,
        database=settings.db_name if database == "" else database,
        query={"charset": "utf8mb4"},
    )


def tls_args(settings: Settings) -> dict:
    """PyMySQL TLS arguments: verify the certificate chain and the host name against DB_CA_BUNDLE."""
    if not settings.db_ca_bundle:
        return {}
    return {"ssl_ca": settings.db_ca_bundle, "ssl_verify_cert": True, "ssl_verify_identity": True}


def connect_args(settings: Settings) -> dict:
    return {
        "connect_timeout": CONNECT_TIMEOUT_SECONDS,
        "read_timeout": IO_TIMEOUT_SECONDS,
        "write_timeout": IO_TIMEOUT_SECONDS,
        **tls_args(settings),
    }


def make_engine(settings: Settings, *, token: TokenFunction | None = None, pool_size: int = POOL_SIZE) -> Engine:
    """The application's engine. ``token``: the IAM token signer (injected by tests; default boto3's)."""
    engine = create_engine(
        url(settings),
        connect_args=connect_args(settings),
        pool_size=pool_size,
        max_overflow=MAX_OVERFLOW,
        pool_timeout=5,
        # A session the fence killed while idle in the pool is found and replaced at checkout.
        pool_pre_ping=True,
        # Each payment transaction locks only the rows it touches (no gap locks on new accounts).
        isolation_level="READ COMMITTED",
    )
    if settings.db_iam_auth:
        sign = token or rds_token_function(settings)

        @event.listens_for(engine, "do_connect")
        def _fresh_token(dialect, conn_rec, cargs, cparams):  # noqa: ANN001 - SQLAlchemy's event signature
            cparams["password"] = sign()  # fresh for this connection only; never stored or logged
    elif settings.db_password:
        @event.listens_for(engine, "do_connect")
        def _password(dialect, conn_rec, cargs, cparams):  # noqa: ANN001
            cparams["password"] = settings.db_password
    return engine
