"""The writer is found through the fence, not through DNS, and each endpoint is reached by its own name.

Two real MariaDB servers stand in for the two clusters, each serving a certificate (from a CA made
for this test) that names only its own endpoint, as Aurora's names only the RDS endpoints. The
service gets both endpoint names (DB_ENDPOINTS), signs its login for the endpoint it connects to
(the IAM token stand-in: each server's password is the token for its own name), verifies TLS
identity, and writes where the fence allows: when the fence moves from blue to green under load,
every payment is acknowledged exactly once and the later ones land on green.
"""

from __future__ import annotations

import threading
import time

import pymysql
import pytest
import sqlalchemy
from cryptography import x509
from cryptography.x509.oid import NameOID

from bluegreen import local_mariadb
from bluegreen.rehearsal.pki import CertificateAuthority
from payment_api import retry
from payment_api.database import make_engine
from payment_api.migrate import migrate
from payment_api.payments import PaymentRequest, PaymentStore
from payment_api.settings import Settings
from traffic_shifter import SqlGrantFence

from .conftest import ADMIN, ADMIN_PW, APP_USER, MISSING, SIGNING_KEY

NAMES = {"blue": "aurora-blue-t.cluster-test.us-east-1.rds.amazonaws.com",
         "green": "aurora-green-t.cluster-test.us-east-1.rds.amazonaws.com"}
DB = "payments"


def token_for(host: str) -> str:
    return f"token-for-{host}"


@pytest.fixture(scope="module")
def clusters(tmp_path_factory):
    if MISSING:
        pytest.skip(MISSING)
    ca = CertificateAuthority(tmp_path_factory.mktemp("ca"), "test database CA")
    servers = {}
    try:
        for colour, name in NAMES.items():
            # Each server's certificate names only its own endpoint, as Aurora's names only the RDS endpoints.
            cert = ca.issue(colour, x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]), client=False, hosts=(name,))
            tls = (f"--ssl-ca={ca.ca_file}", f"--ssl-cert={cert.cert}", f"--ssl-key={cert.key}")
            servers[colour] = local_mariadb.MariaDB(colour, binlog=False, extra_args=tls).start()
            env = {"DB_ENDPOINTS": "127.0.0.1", "DB_PORT": str(servers[colour].port), "DB_NAME": DB,
                   "DB_USER": APP_USER, "DB_PASSWORD": "replaced-below", "DB_ADMIN_USER": ADMIN, "DB_ADMIN_PASSWORD": ADMIN_PW}
            # Green is not the writer: its application user gets SELECT only (the fence), as on AWS.
            migrate(Settings.from_env(env, purpose="migrate"), create_app_user=True, fenced=colour == "green",
                    say=lambda line: None)
            with servers[colour].root() as conn, conn.cursor() as cur:
                cur.execute(f"ALTER USER '{APP_USER}'@'%' IDENTIFIED BY '{token_for(name)}' REQUIRE SSL")
        yield {"ca": str(ca.ca_file), "servers": servers}
    finally:
        for s in servers.values():
            s.stop()


def service_env(clusters, **over) -> dict:
    s = clusters["servers"]
    env = {"APP_COLOUR": "blue", "DB_ENDPOINTS": ",".join(f"{c}={n}" for c, n in NAMES.items()), "DB_NAME": DB,
           "DB_USER": APP_USER, "DB_IAM_AUTH": "true", "AWS_REGION": "us-east-1", "DB_CA_BUNDLE": clusters["ca"],
           "DB_RESOLVE": ",".join(f"{NAMES[c]}=127.0.0.1:{s[c].port}" for c in NAMES),
           "PAYMENT_SIGNING_KEY": SIGNING_KEY, "WRITE_RETRY_SECONDS": "20"}
    env.update(over)
    return env


def fence_of(clusters):
    servers = clusters["servers"]
    return SqlGrantFence(lambda colour: pymysql.connect(unix_socket=servers[colour].socket_path, user="root"),
                         schema=DB, kill_sql="KILL %s")


def rows(server, key_prefix: str) -> dict[str, int]:
    with server.root() as conn, conn.cursor() as cur:
        cur.execute(f"SELECT idempotency_key, COUNT(*) FROM `{DB}`.payments WHERE idempotency_key LIKE %s "
                    "GROUP BY idempotency_key", (key_prefix + "%",))
        return dict(cur.fetchall())


def request(i: int) -> PaymentRequest:
    return PaymentRequest(merchant_id="m-1", customer_id=f"c-{i}", amount_minor=100 + i, currency="EUR", card_token=f"tok_{i}")


def test_writer__fence_moves_under_load__every_payment_once_the_later_ones_on_green(clusters):
    signed: list[str] = []

    def token(host: str) -> str:
        signed.append(host)
        return token_for(host)

    engine = make_engine(Settings.from_env(service_env(clusters)), token=token)
    store = PaymentStore(engine, "blue", retry.Backoff(20))
    fence = fence_of(clusters)
    results: dict[str, str] = {}
    stop = threading.Event()

    def pay(worker: int) -> None:
        i = 0
        while not stop.is_set():
            key = f"fm-{worker}-{i}"
            results[key] = store.create(key, request(i)).kind
            i += 1
            time.sleep(0.01)

    threads = [threading.Thread(target=pay, args=(w,)) for w in range(4)]
    try:
        for t in threads:
            t.start()
        time.sleep(1.5)
        assert engine.current == "blue"
        fence.fence("blue")          # blue refuses and its sessions are killed: both are fenced now
        time.sleep(1.0)
        fence.unfence("green")       # exactly one writer again, the other one
        time.sleep(1.5)
        stop.set()
        for t in threads:
            t.join(timeout=60)
        assert engine.current == "green" and engine.moves >= 1
        with engine.connect() as conn:  # the service's session really is TLS, to green's endpoint
            assert conn.exec_driver_sql("SHOW SESSION STATUS LIKE 'Ssl_cipher'").fetchone()[1]
    finally:
        stop.set()
        engine.dispose()
        fence.fence("green")
        fence.unfence("blue")
    servers = clusters["servers"]
    on_blue, on_green = rows(servers["blue"], "fm-"), rows(servers["green"], "fm-")
    assert set(results.values()) == {"created"}, {k: v for k, v in results.items() if v != "created"}
    assert not set(on_blue) & set(on_green)             # no payment on both
    assert {**on_blue, **on_green} == dict.fromkeys(results, 1)  # each acknowledged payment exactly once
    assert on_green, "no payment reached green after the fence moved"
    assert set(signed) == set(NAMES.values())            # a token signed for each endpoint it connected to


@pytest.mark.parametrize("how", ["other_endpoint_name", "ip_address"])
def test_writer__connection_through_another_name__refused_by_tls_identity(clusters, how):
    s = clusters["servers"]
    if how == "other_endpoint_name":
        # green's endpoint name, but the connection reaches blue (a CNAME pointing elsewhere): blue's
        # certificate names only blue's endpoint.
        over = {"DB_ENDPOINTS": NAMES["green"], "DB_RESOLVE": f"{NAMES['green']}=127.0.0.1:{s['blue'].port}"}
    else:
        over = {"DB_ENDPOINTS": "127.0.0.1", "DB_RESOLVE": "", "DB_PORT": str(s["blue"].port)}
    engine = make_engine(Settings.from_env(service_env(clusters, **over)), token=token_for)
    try:
        with pytest.raises(sqlalchemy.exc.OperationalError) as err:
            engine.connect()
        assert "certificate" in str(err.value).lower() or "hostname" in str(err.value).lower(), err.value
    finally:
        engine.dispose()
