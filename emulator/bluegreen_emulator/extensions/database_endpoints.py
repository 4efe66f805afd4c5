"""A named Aurora cluster answered by a real local database (``EMULATOR_DB_ENDPOINTS``).

moto's RDS clusters are records: their endpoint is a made-up DNS name
(``<id>.cluster-<x>.us-east-1.rds.amazonaws.com``) where nothing listens. Code that runs
"inside the VPC" here -- the emulator runs Lambdas as local subprocesses -- reads the
endpoint from DescribeDBClusters / DescribeDBInstances, from a secret that a
SecretTargetAttachment filled in, or from the template's ``Fn::GetAtt Endpoint.Address``,
and then opens a connection. With this setting, read once when the server starts, a
named cluster reports the host and port where a real database (the Debian MariaDB a test
started on loopback) listens, on every one of those paths::

    EMULATOR_DB_ENDPOINTS="aurora-blue-dev-d01=127.0.0.1:33061,aurora-green-dev-d01=127.0.0.1:33062"

Cluster endpoint, reader endpoint and every member instance's endpoint of a named cluster
answer ``host``/``port``; clusters not named keep moto's names. The mapping is by
identifier, so it holds for a cluster created before or after the start, and for the
same name created again. Not set (the default): nothing changes. A malformed value stops
the start with a message saying the expected form.

What it does not do: the database is whatever listens there (a MariaDB, not Aurora: no
IAM token check unless the server has the PAM/auth plugin, no TLS unless configured);
the emulator neither starts nor checks it.
"""

from __future__ import annotations

import os
import re
from typing import Any

EXTENSIONS = [
    ("EMULATOR_DB_ENDPOINTS", "a named Aurora cluster (and its instances) reports host:port of a real local database: DescribeDBClusters/Instances, GetAtt Endpoint.*, SecretTargetAttachment"),
]

#: The setting, read once at server start.
FLAG = "EMULATOR_DB_ENDPOINTS"

#: RDS cluster identifier rules: a letter, then letters, digits, single hyphens; up to 63.
_CLUSTER_ID = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")

#: cluster identifier -> (host, port); set by install().
_endpoints: dict[str, tuple[str, int]] = {}


class EndpointSettingError(ValueError):
    """EMULATOR_DB_ENDPOINTS is malformed; the message says the expected form."""


def parse(raw: str) -> dict[str, tuple[str, int]]:
    """``id=host:port[,id=host:port...]`` (commas or spaces) -> {cluster id: (host, port)}."""
    form = f"{FLAG}='<cluster-id>=<host>:<port>[,<cluster-id>=<host>:<port>...]', e.g. aurora-blue-dev-d01=127.0.0.1:33061"
    result: dict[str, tuple[str, int]] = {}
    for item in re.split(r"[,\s]+", raw.strip()):
        if not item:
            continue
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
        result[cluster] = (host, port)
    return result


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
        return named[0] if named else original.fget(self)

    return property(get)


def install(port: int) -> None:
    from moto.rds.models import DBCluster, DBInstance

    from ..moto_internals import patch

    _endpoints.clear()
    _endpoints.update(parse(os.environ.get(FLAG, "")))
    patch("moto.rds.models.DBCluster.endpoint", _address_property(DBCluster.endpoint, _of_cluster))
    patch("moto.rds.models.DBCluster.reader_endpoint", _address_property(DBCluster.reader_endpoint, _of_cluster))
    patch("moto.rds.models.DBCluster.port", _port_property(_of_cluster))
    patch("moto.rds.models.DBInstance.address", _address_property(DBInstance.address, _of_instance))
    patch("moto.rds.models.DBInstance.port", _port_property(_of_instance))
