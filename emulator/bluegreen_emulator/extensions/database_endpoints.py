"""A named Aurora cluster answered by a real local database (``EMULATOR_DB_ENDPOINTS``).

moto's RDS clusters are records: their endpoint is a made-up DNS name
(``<id>.cluster-<x>.us-east-1.rds.amazonaws.com``) where nothing listens. Code that runs
"inside the VPC" here -- the emulator runs Lambdas as local subprocesses -- reads the
endpoint from DescribeDBClusters / DescribeDBInstances, from a secret that a
SecretTargetAttachment filled in, or from the template's ``Fn::GetAtt Endpoint.Address``,
and then opens a connection. With this setting, read once when the server starts, a
named cluster reports the host and port where a real database (the Debian MariaDB a test
started on loopback) listens, on every one of those paths::

    EMULATOR_DB_ENDPOINTS="aurora-blue-dev-d01=127.0.0.1:33061@/tmp/blue/mysqld.sock,aurora-green-dev-d01=127.0.0.1:33062"

Cluster endpoint, reader endpoint and every member instance's endpoint of a named cluster
answer ``host``/``port``; clusters not named keep moto's names. The mapping is by
identifier, so it holds for a cluster created before or after the start, and for the
same name created again. Not set (the default): nothing changes. A malformed value stops
the start with a message saying the expected form.

With ``@<unix socket>`` (the local server's root socket), the emulator also does what RDS does
when it creates or modifies a cluster: it creates the master user (``MasterUsername`` /
``MasterUserPassword``, all privileges, as Aurora's master) there, or sets its new password, with
Debian's ``mariadb`` client. A failure of that fails the CreateDBCluster call, naming the cause.

What it does not do: the database is whatever listens there (a MariaDB, not Aurora: no
IAM token check unless the server has the PAM/auth plugin, no TLS unless configured);
the emulator neither starts nor checks it.
"""

from __future__ import annotations

import os
import re
from typing import Any

EXTENSIONS = [
    ("EMULATOR_DB_ENDPOINTS", "a named Aurora cluster (and its instances) reports host:port of a real local database: DescribeDBClusters/Instances, GetAtt "
                              "Endpoint.*, SecretTargetAttachment"),
]

#: The setting, read once at server start.
FLAG = "EMULATOR_DB_ENDPOINTS"

#: RDS cluster identifier rules: a letter, then letters, digits, single hyphens; up to 63.
_CLUSTER_ID = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")

#: cluster identifier -> (host, port); set by install().
_endpoints: dict[str, tuple[str, int]] = {}
#: cluster identifier -> the local server's root unix socket, where the master user is created.
_sockets: dict[str, str] = {}
#: The client that runs the master-user SQL (Debian package mariadb-client, beside mariadb-server).
CLIENT = "mariadb"


class EndpointSettingError(ValueError):
    """EMULATOR_DB_ENDPOINTS is malformed; the message says the expected form."""


def parse(raw: str) -> dict[str, tuple[str, int]]:
    """``id=host:port[@socket][,...]`` (commas or spaces) -> {cluster id: (host, port)}."""
    return {cluster: address for cluster, (address, _socket) in parse_full(raw).items()}


def parse_full(raw: str) -> dict[str, tuple[tuple[str, int], str]]:
    """``id=host:port[@socket][,...]`` -> {cluster id: ((host, port), root socket or "")}."""
    form = (f"{FLAG}='<cluster-id>=<host>:<port>[@<unix socket>][,...]', e.g. "
            "aurora-blue-dev-d01=127.0.0.1:33061@/tmp/blue/mysqld.sock")
    result: dict[str, tuple[tuple[str, int], str]] = {}
    for item in re.split(r"[,\s]+", raw.strip()):
        if not item:
            continue
        item, _at, socket_path = item.partition("@")
        if _at and not socket_path.startswith("/"):
            raise EndpointSettingError(f"{FLAG}: the socket after '@' must be an absolute path, got {socket_path!r}; use {form}")
        cluster, sep, address = item.partition("=")
        host, colon, port_text = address.rpartition(":")
        cluster = cluster.strip().lower()
        if not sep or not colon or not host or not port_text.isdigit():
            raise EndpointSettingError(f"{FLAG}: {item!r} is not <cluster-id>=<host>:<port>; use {form}")
        if not _CLUSTER_ID.match(cluster) or len(cluster) > 63:
            raise EndpointSettingError(f"{FLAG}: {cluster!r} is not an RDS cluster identifier; use {form}")
        port = int(port_text)
        if not 0 < port < 65536:
            raise EndpointSettingError(f"{FLAG}: port {port} of {cluster!r} is outside 1-65535")
        if cluster in result:
            raise EndpointSettingError(f"{FLAG}: {cluster!r} is named twice")
        result[cluster] = ((host, port), socket_path)
    return result


def _quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def master_user_sql(username: str, password: str) -> str:
    """What RDS does for the master user at CreateDBCluster / a MasterUserPassword change."""
    if not re.match(r"^[A-Za-z][A-Za-z0-9_]{0,31}$", username or ""):
        raise EndpointSettingError(f"MasterUsername {username!r} is not a MySQL user name RDS accepts")
    user = f"{_quoted(username)}@'%'"
    return (f"CREATE USER IF NOT EXISTS {user} IDENTIFIED BY {_quoted(password)}; "
            f"ALTER USER {user} IDENTIFIED BY {_quoted(password)}; "
            f"GRANT ALL PRIVILEGES ON *.* TO {user} WITH GRANT OPTION;")


def _run_sql(socket_path: str, sql: str) -> None:
    import subprocess

    from moto.rds.exceptions import RDSClientError

    try:
        result = subprocess.run([CLIENT, f"--socket={socket_path}", "--user=root", "--batch"], input=sql, text=True,
                                capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise RDSClientError("InternalFailure", f"{FLAG}: the local database at {socket_path} cannot be reached: {err}") from None
    if result.returncode != 0:
        raise RDSClientError("InternalFailure", f"{FLAG}: creating the master user at {socket_path} failed: {result.stderr.strip()}")


def _with_master_user(original: Any) -> Any:
    def create_or_modify(self: Any, kwargs: dict[str, Any]) -> Any:
        cluster = original(self, kwargs)
        socket_path = _sockets.get(str(cluster.db_cluster_identifier).lower())
        password = kwargs.get("master_user_password")
        if socket_path and password:
            _run_sql(socket_path, master_user_sql(cluster.master_username, password))
        return cluster

    return create_or_modify


def endpoints() -> dict[str, str]:
    """The mapping in force, as {cluster id: "host:port"} (for the health answer and tests)."""
    return {cluster: f"{host}:{port}" for cluster, (host, port) in _endpoints.items()}


def _of_cluster(record: Any) -> tuple[str, int] | None:
    return _endpoints.get(str(getattr(record, "db_cluster_identifier", "") or "").lower())


def _of_instance(record: Any) -> tuple[str, int] | None:
    # A member of a named cluster; a stand-alone instance has no cluster identifier.
    return _of_cluster(record)


def _port_property(lookup: Any) -> property:
    """``port`` as a data descriptor: the named endpoint's port, else the record's own.

    moto keeps ``port`` as a plain instance attribute; a data descriptor on the class takes
    precedence over the instance dict, which stays the storage (so moto's own assignments
    and a ModifyDBCluster port change still work for records that are not named).
    """

    def get(self: Any) -> Any:
        named = lookup(self)
        return named[1] if named else self.__dict__.get("port")

    def set_(self: Any, value: Any) -> None:
        self.__dict__["port"] = value

    return property(get, set_)


def _address_property(original: property, lookup: Any) -> property:
    def get(self: Any) -> Any:
        named = lookup(self)
        return named[0] if named else original.fget(self)  # type: ignore[misc]  # moto's attribute is a property: fget is set

    return property(get)


def install(port: int) -> None:
    from moto.rds.models import DBCluster, DBInstance, RDSBackend

    from ..moto_internals import patch

    setting = parse_full(os.environ.get(FLAG, ""))
    _endpoints.clear()
    _endpoints.update({cluster: address for cluster, (address, _socket) in setting.items()})
    _sockets.clear()
    _sockets.update({cluster: socket_path for cluster, (_address, socket_path) in setting.items() if socket_path})
    patch("moto.rds.models.RDSBackend.create_db_cluster", _with_master_user(RDSBackend.create_db_cluster))
    patch("moto.rds.models.RDSBackend.modify_db_cluster", _with_master_user(RDSBackend.modify_db_cluster))
    patch("moto.rds.models.DBCluster.endpoint", _address_property(DBCluster.endpoint, _of_cluster))
    patch("moto.rds.models.DBCluster.reader_endpoint", _address_property(DBCluster.reader_endpoint, _of_cluster))
    patch("moto.rds.models.DBCluster.port", _port_property(_of_cluster))
    patch("moto.rds.models.DBInstance.address", _address_property(DBInstance.address, _of_instance))
    patch("moto.rds.models.DBInstance.port", _port_property(_of_instance))
