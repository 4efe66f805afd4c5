"""A real MariaDB (Debian's mariadb-server) for the payment service's tests, and the service on it.

The server comes from the project's one starter (bluegreen/local_mariadb.py), with a test CA for the
IAM path's verified TLS. Each test gets its own schema, migrated by `payment-api migrate
--create-app-user`'s own code with the starter's admin login.
"""

from __future__ import annotations

import itertools
import threading
import time

import pymysql
import pytest

from bluegreen import local_mariadb
from bluegreen.local_mariadb import ADMIN_PASSWORD as ADMIN_PW
from bluegreen.local_mariadb import ADMIN_USER as ADMIN
from bluegreen.local_mariadb import free_port
from bluegreen.local_mariadb import write_test_tls as write_tls
from traffic_shifter import SqlGrantFence

APP_USER, APP_PW = "payments_app", "app-pw"
SIGNING_KEY = "test-signing-key"


def _public_keys() -> dict:
    from payment_api import signing

    return signing.Signer(SIGNING_KEY).public_keys()


#: What a client is given to check answers: the public keys alone (kid -> base64url raw Ed25519 key).
PUBLIC_KEYS = _public_keys()
MISSING = local_mariadb.missing("the payment service's database tests")
#: Merchants the tests' own client certificate is granted (every merchant id the tests pay for).
TEST_MERCHANTS = ("m", *(f"m-{i}" for i in range(10)))


def alb_headers(cert) -> dict:  # a cryptography x509.Certificate
    """The X-Amzn-Mtls-Clientcert-* headers as the ALB sets them for a verified client certificate."""
    from payment_api.client_identity import alb_headers as headers

    return headers(cert)


@pytest.fixture(scope="session")
def client_ca(tmp_path_factory):
    """The tests' client CA (the rehearsal's own builder): issues per-merchant client certificates."""
    from bluegreen.rehearsal.pki import CertificateAuthority

    return CertificateAuthority(tmp_path_factory.mktemp("client-ca"), "payment-api test client CA")


@pytest.fixture(scope="session")
def identity(client_ca):
    """Headers of the tests' own client, granted TEST_MERCHANTS by the ``schema`` fixture; .subject is its subject."""
    issued = client_ca.client("test-client")
    return IdentityHeaders(alb_headers(issued.certificate), issued.subject)


class IdentityHeaders(dict):
    def __init__(self, headers: dict, subject: str) -> None:
        super().__init__(headers)
        self.subject = subject


@pytest.fixture(scope="session")
def mariadb(tmp_path_factory):
    """A throw-away MariaDB on 127.0.0.1 with a test CA: {'sock', 'port', 'ca'}; stopped and removed afterwards."""
    if MISSING:
        pytest.skip(MISSING)
    tls = write_tls(tmp_path_factory.mktemp("tls"))
    with local_mariadb.MariaDB("app", binlog=False, extra_args=(
            f"--ssl-ca={tls['ca']}", f"--ssl-cert={tls['cert']}", f"--ssl-key={tls['key']}")) as server:
        yield {"sock": server.socket_path, "port": server.port, "ca": tls["ca"]}


def root(mariadb):
    return pymysql.connect(unix_socket=mariadb["sock"], user="root", autocommit=True)


_schemas = itertools.count(1)


def base_env(mariadb, db_name: str, **extra) -> dict:
    env = {"APP_COLOUR": "blue", "DB_ENDPOINTS": "127.0.0.1", "DB_PORT": str(mariadb["port"]), "DB_NAME": db_name,
           "DB_USER": APP_USER, "DB_PASSWORD": APP_PW, "PAYMENT_SIGNING_KEY": SIGNING_KEY,
           "DB_ADMIN_USER": ADMIN, "DB_ADMIN_PASSWORD": ADMIN_PW, "WRITE_RETRY_SECONDS": "10"}
    env.update(extra)
    return env


@pytest.fixture
def schema(mariadb, identity):
    """A new schema migrated to head, a fresh DML-only app user and the tests' client granted TEST_MERCHANTS:
    {'env', 'name', 'mariadb'}."""
    from payment_api.migrate import migrate
    from payment_api.settings import Settings

    name = f"payments_t{next(_schemas)}"
    with root(mariadb) as conn, conn.cursor() as cur:
        cur.execute(f"DROP USER IF EXISTS '{APP_USER}'@'%'")
    env = base_env(mariadb, name)
    migrate(Settings.from_env(env, purpose="migrate"), create_app_user=True, say=lambda line: None)
    grant_merchants(env, identity.subject, TEST_MERCHANTS)
    yield {"env": env, "name": name, "mariadb": mariadb, "identity": identity}
    with root(mariadb) as conn, conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")


def grant_merchants(env: dict, subject: str, merchants) -> None:
    """What `payment-api clients grant` does, with the migration's admin login."""
    from payment_api import client_identity
    from payment_api.migrate import admin_engine
    from payment_api.settings import Settings

    engine = admin_engine(Settings.from_env(env, purpose="migrate"))
    try:
        with engine.begin() as conn:
            client_identity.grant(conn, subject, list(merchants))
    finally:
        engine.dispose()


def root_fence(schema) -> SqlGrantFence:
    """The writer fence on the test's MariaDB as root (both colours are this one server)."""
    sock = schema["mariadb"]["sock"]
    return SqlGrantFence(lambda colour: pymysql.connect(unix_socket=sock, user="root"), schema=schema["name"], kill_sql="KILL %s")


def payment(i: int, token: str) -> dict:
    """The body of the i-th payment of a load, its card token ``token`` + i."""
    return {"merchant_id": "m-1", "customer_id": f"c-{i}", "amount_minor": 100 + i, "currency": "EUR", "card_token": f"{token}{i}"}


def count(mariadb, sql: str, *args):
    with root(mariadb) as conn, conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchone()[0]


class RunningServer:
    """The real service on uvicorn in a background thread, on a free loopback port."""

    def __init__(self, app) -> None:
        import uvicorn

        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, access_log=False,
                                                    log_config=None, workers=1))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> RunningServer:
        self.thread.start()
        deadline = time.time() + 20
        while not self.server.started:
            if time.time() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
