"""A real MariaDB server (Debian's ``mariadbd`` + ``mariadb-install-db``) in a temp datadir on loopback.

The project's one starter: the rehearsal's blue and green databases, the payment service's tests,
the fence's tests and ``scripts/payment-api-local`` all start theirs here. ``MariaDB`` is a context
manager: it initialises a datadir, starts the server on a free 127.0.0.1 port (or the one asked
for: a taken port is a clear error, not a hang), waits until the server answers and stops it (and
removes the datadir unless ``keep``) on exit.

What stands in for DMS CDC between two of them (GTID replication) is in ``mariadb_replication.py``.

``python -m bluegreen.local_mariadb -- COMMAND`` runs COMMAND with a throw-away server (see ``main``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pymysql

INSTALL_HINT = "apt-get install -y mariadb-server"
ADMIN_USER, ADMIN_PASSWORD = "admin", "admin-pw"
REPL_USER, REPL_PASSWORD = "repl", "repl-pw"


class MariaDBError(RuntimeError):
    """The server cannot be started or driven; the message says what to do."""


def binaries() -> tuple[str, str]:
    """(mariadbd, mariadb-install-db) paths, or MariaDBError naming the Debian package."""
    server = shutil.which("mariadbd") or shutil.which("mysqld") or next(
        (p for p in ("/usr/sbin/mariadbd", "/usr/sbin/mysqld") if Path(p).exists()), None)
    install = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
    if not (server and install):
        missing = [name for name, path in (("mariadbd", server), ("mariadb-install-db", install)) if not path]
        raise MariaDBError(f"{' and '.join(missing)} not found: {INSTALL_HINT} (Debian package mariadb-server)")
    return server, install


def available() -> bool:
    return not missing()


def missing(purpose: str = "") -> str:
    """"" when the server can be started, else what to install (to run ``purpose``): a skip's reason."""
    try:
        binaries()
        return ""
    except MariaDBError as err:
        return f"{err}{' to run ' + purpose if purpose else ''}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check_port_free(port: int) -> None:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError as err:
            raise MariaDBError(f"port 127.0.0.1:{port} is taken ({err.strerror}): choose another port or leave "
                               "it out to take a free one") from None


@dataclass(frozen=True)
class Login:
    """How anyone (the service, the reconciliation, an operator) reaches one database."""

    host: str
    port: int
    user: str
    password: str
    database: str = ""

    def connect(self, **kw) -> pymysql.connections.Connection:
        return pymysql.connect(host=self.host, port=self.port, user=self.user, password=self.password,
                               database=self.database or None, autocommit=True, connect_timeout=5, **kw)

    def as_dict(self) -> dict:
        return {"host": self.host, "port": self.port, "user": self.user, "password": self.password,
                "database": self.database}


def root_connection(socket_path: str, *, binlog: bool = False, **kw) -> pymysql.connections.Connection:
    """root over the unix socket (no password); ``binlog=False`` keeps its statements out of the binary log."""
    init = None if binlog else "SET SESSION sql_log_bin=0"
    return pymysql.connect(unix_socket=socket_path, user="root", autocommit=True, connect_timeout=5,
                           init_command=init, **kw)


def write_test_tls(base: Path) -> dict:
    """A throw-away CA and a server certificate for 127.0.0.1 (files ca/cert/key under ``base``): a stand-in
    server's TLS that clients verify, host name included, as they verify Aurora's against the RDS CA bundle."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "payment-api test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
          .not_valid_after(now + datetime.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(ca_key, hashes.SHA256()))
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False).sign(ca_key, hashes.SHA256()))
    paths = {"ca": base / "ca.pem", "cert": base / "server-cert.pem", "key": base / "server-key.pem"}
    paths["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths["cert"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths["key"].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                               serialization.NoEncryption()))
    return {k: str(v) for k, v in paths.items()}


#: What a server that replicates (or is replicated from) runs with: the rehearsal's pair, DMS CDC's stand-in.
REPLICATION_ARGS = ("--binlog-format=ROW", "--gtid-strict-mode=ON", "--log-slave-updates=ON", "--gtid-domain-id=0",
                    "--sync-binlog=0", "--skip-slave-start")


class MariaDB:
    """One throw-away MariaDB on 127.0.0.1: own datadir, socket, port, server_id and (unless
    ``binlog=False``: a lone server nothing replicates from) binary log."""

    def __init__(self, name: str = "db", *, server_id: int = 1, port: int | None = None, base_dir: Path | None = None,
                 keep: bool = False, start_timeout: float = 60.0, binlog: bool = True,
                 extra_args: tuple[str, ...] = ()) -> None:
        self.name, self.server_id, self.keep, self.start_timeout = name, server_id, keep, start_timeout
        self.binlog = binlog
        self.extra_args = tuple(extra_args)
        self._asked_port = port
        self._base_dir = base_dir
        self.port = 0
        self.base: Path | None = None
        self.proc: subprocess.Popen | None = None

    # -- life cycle ---------------------------------------------------------------------------------
    @property
    def socket_path(self) -> str:
        assert self.base is not None, "server not started"
        return str(self.base / "mysqld.sock")

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def start(self) -> MariaDB:
        server, install = binaries()
        if self._asked_port:
            check_port_free(self._asked_port)
        self.port = self._asked_port or free_port()
        try:
            return self._start(server, install)
        except BaseException:  # a failed or interrupted start leaves no server and no datadir behind
            self.stop()
            raise

    def _start(self, server: str, install: str) -> MariaDB:
        if self._base_dir is not None:
            self._base_dir.mkdir(parents=True, exist_ok=True)
            self.base = Path(tempfile.mkdtemp(prefix=f"mariadb-{self.name}-", dir=self._base_dir))
        else:
            self.base = Path(tempfile.mkdtemp(prefix=f"mariadb-{self.name}-"))
        data = self.base / "data"
        user = ["--user=root"] if os.geteuid() == 0 else []
        # Its own temporary folder: servers of other checkouts on this machine share /tmp, and two whose
        # process ids match there name their temporary tables alike (install-db failed on one's delete).
        tmp = f"--tmpdir={self.base}"
        init = subprocess.run([install, "--no-defaults", f"--datadir={data}", "--auth-root-authentication-method=normal",
                               "--skip-test-db", *user, tmp], capture_output=True, text=True, timeout=180)
        if init.returncode != 0:
            raise MariaDBError(f"mariadb-install-db failed for {self.name}: {(init.stderr or init.stdout)[-1500:]}")
        log = ([f"--log-bin={self.base / 'binlog'}", f"--relay-log={self.base / 'relay'}", *REPLICATION_ARGS]
               if self.binlog else ["--skip-log-bin"])
        args = [server, "--no-defaults", f"--datadir={data}", f"--socket={self.socket_path}", f"--port={self.port}",
                "--bind-address=127.0.0.1", "--skip-name-resolve", f"--pid-file={self.base / 'mysqld.pid'}",
                f"--server-id={self.server_id}", *log, "--max-connections=800", "--innodb-buffer-pool-size=64M",
                "--innodb-flush-log-at-trx-commit=2", tmp, *user, *self.extra_args]
        self._err = open(self.base / "err.log", "w")
        # Own process group: a Ctrl-C to the rehearsal is handled by it (it stops the server cleanly),
        # and stop() can end everything the server started.
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=self._err, start_new_session=True)
        self._wait_ready()
        with self.root() as conn, conn.cursor() as cur:
            for stmt in (f"CREATE USER IF NOT EXISTS '{ADMIN_USER}'@'%' IDENTIFIED BY '{ADMIN_PASSWORD}'",
                         f"GRANT ALL PRIVILEGES ON *.* TO '{ADMIN_USER}'@'%' WITH GRANT OPTION",
                         f"CREATE USER IF NOT EXISTS '{REPL_USER}'@'%' IDENTIFIED BY '{REPL_PASSWORD}'",
                         f"GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO '{REPL_USER}'@'%'"):
                cur.execute(stmt)
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while True:
            try:
                pymysql.connect(unix_socket=self.socket_path, user="root", connect_timeout=2).close()
                return
            except pymysql.err.OperationalError:
                if self.proc is None or self.proc.poll() is not None or time.monotonic() > deadline:
                    log = self.error_log()[-2000:]
                    hint = " (port taken?)" if "Address already in use" in log else ""
                    raise MariaDBError(f"mariadbd {self.name} did not start{hint}: {log}") from None
                time.sleep(0.2)

    def error_log(self) -> str:
        try:
            return (self.base / "err.log").read_text(errors="replace") if self.base else ""
        except OSError:
            return ""

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 30 s) and remove its datadir unless keep."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        if getattr(self, "_err", None):
            self._err.close()
        if self.base is not None and not self.keep:
            shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> MariaDB:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- connections --------------------------------------------------------------------------------
    def root(self, *, binlog: bool = False, **kw) -> pymysql.connections.Connection:
        """An admin connection over the unix socket (root, no password): for setup, status and the fence.

        By default its statements stay out of the binary log (sql_log_bin=0): users, grants and the
        fence are local to one server, as on AWS, where DMS replicates table data, never grants.
        ``binlog=True`` for changes that must replicate.
        """
        return root_connection(self.socket_path, binlog=binlog, **kw)

    def admin_login(self, database: str = "") -> Login:
        return Login("127.0.0.1", self.port, ADMIN_USER, ADMIN_PASSWORD, database)

    def execute(self, sql: str, args=None) -> list[tuple]:
        with self.root() as conn, conn.cursor() as cur:
            cur.execute(sql, args)
            return list(cur.fetchall() or ())

    def add_rds_procedures(self) -> None:
        """Aurora's ``mysql.rds_set_configuration`` / ``rds_show_configuration``, which the stacks' schema
        migration calls (binlog retention for DMS CDC): MariaDB has none, so the stand-in gets procedures
        of the same names and parameters that keep the value (``rds_configuration``). Like RDS, only a
        name it knows is accepted."""
        for sql in (
            "CREATE TABLE IF NOT EXISTS mysql.rds_configuration (name VARCHAR(100) PRIMARY KEY, value VARCHAR(100), "
            "description VARCHAR(300))",
            "INSERT IGNORE INTO mysql.rds_configuration VALUES ('binlog retention hours', NULL, "
            "'binlog retention hours specifies the duration in hours before binary logs are automatically deleted.')",
            "CREATE OR REPLACE PROCEDURE mysql.rds_set_configuration(IN name VARCHAR(30), IN value INT) "
            "BEGIN IF NOT EXISTS (SELECT 1 FROM mysql.rds_configuration c WHERE c.name = name) THEN "
            "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'Invalid configuration name'; END IF; "
            "UPDATE mysql.rds_configuration c SET c.value = value WHERE c.name = name; END",
            "CREATE OR REPLACE PROCEDURE mysql.rds_show_configuration() "
            "SELECT name, value, description FROM mysql.rds_configuration",
        ):
            self.execute(sql)

    def gtid_current_pos(self) -> str:
        return str(self.execute("SELECT @@GLOBAL.gtid_current_pos")[0][0] or "")

    def gtid_slave_pos(self) -> str:
        return str(self.execute("SELECT @@GLOBAL.gtid_slave_pos")[0][0] or "")


# -- a command with a throw-away server (scripts/payment-api-local) -----------------------------------------
def command_after_dashes(parser: argparse.ArgumentParser, remainder: list[str], example: str) -> list[str]:
    """The COMMAND of ``... -- COMMAND [ARG...]`` (argparse.REMAINDER), or the parser's usage error."""
    command = remainder[1:] if remainder[:1] == ["--"] else remainder
    if not command:
        parser.error(f"name the command to run after --, e.g. {example}")
    return command


def run_command(command: list[str], env: dict[str, str]) -> int:
    """Run ``command`` to its end and return its exit code. SIGTERM ends the command first, so that the
    caller's servers are stopped (its with block) only once the command has gone."""
    child = subprocess.Popen(command, env=env)
    previous = signal.signal(signal.SIGTERM, lambda *_: child.terminate())
    try:
        return child.wait()
    except KeyboardInterrupt:  # the command had the same Ctrl-C (one process group): let it finish
        return child.wait()
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    """``python -m bluegreen.local_mariadb [--name N] [--port P] [--keep] -- COMMAND [ARG...]``.

    Starts a lone server (no binary log), runs COMMAND with its admin login in MARIADB_HOST,
    MARIADB_PORT, MARIADB_USER, MARIADB_PASSWORD (and MARIADB_SOCKET, MARIADB_DIR), and stops and
    removes the server when COMMAND ends, on Ctrl-C and on SIGTERM. Exits with COMMAND's code; 1 with
    a message naming the Debian package when mariadb-server is missing, or when the port is taken.
    """
    parser = argparse.ArgumentParser(prog="python -m bluegreen.local_mariadb",
                                     description="Run a command with a throw-away MariaDB on 127.0.0.1.")
    parser.add_argument("--name", default="mariadb", help="the datadir's prefix and the messages' (default mariadb)")
    parser.add_argument("--port", type=int, help="the server's port (default: a free one)")
    parser.add_argument("--keep", action="store_true", help="leave the datadir behind")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="after --: the command to run")
    args = parser.parse_args(argv)
    command = command_after_dashes(parser, args.command, "-- mariadb -uroot")
    try:
        with MariaDB(args.name, port=args.port, keep=args.keep, binlog=False) as db:
            return run_command(command, {
                **os.environ, "MARIADB_HOST": "127.0.0.1", "MARIADB_PORT": str(db.port), "MARIADB_USER": ADMIN_USER,
                "MARIADB_PASSWORD": ADMIN_PASSWORD, "MARIADB_SOCKET": db.socket_path, "MARIADB_DIR": str(db.base)})
    except MariaDBError as err:
        print(f"{args.name}: {err}", file=sys.stderr)
        return 1


__all__ = ["ADMIN_PASSWORD", "ADMIN_USER", "INSTALL_HINT", "REPLICATION_ARGS", "Login", "MariaDB", "MariaDBError",
           "REPL_PASSWORD", "REPL_USER", "available", "binaries", "check_port_free", "free_port", "missing",
           "root_connection", "write_test_tls"]


if __name__ == "__main__":
    sys.exit(main())
