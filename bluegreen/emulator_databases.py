"""Stand-in databases behind the emulator's Aurora clusters (``EMULATOR_DB_ENDPOINTS``, docs/emulator.md).

On the emulator a cluster is a record; the schema stack's migration runs "inside the VPC" (a Lambda
is a local subprocess of the emulator) and connects to the cluster's endpoint. ``StandIns`` starts
one local MariaDB per cluster, run the way the stacks run Aurora: TLS with a certificate for
127.0.0.1 from a throw-away CA, no login without TLS (``require_secure_transport``, as the clusters'
parameter group), and RDS's configuration procedures. ``setting`` is the EMULATOR_DB_ENDPOINTS value
to start the emulator with (its ``@socket`` lets the emulator create the master user, as RDS does at
CreateDBCluster); ``ca_pem`` is what the RDS CA bundle is on AWS: the CA their certificates verify
against.

    with StandIns(cluster_identifiers("dev")) as databases:
        EMULATOR_DB_ENDPOINTS=databases.setting scripts/emulator start ...

``python -m bluegreen.emulator_databases --env dev -- COMMAND`` runs COMMAND with them, the setting
in its environment (and the CA in ``EMULATOR_DB_CA_FILE``), and stops them afterwards.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bluegreen import local_mariadb

COLOURS = ("blue", "green")
SETTING = "EMULATOR_DB_ENDPOINTS"
CA_FILE = "EMULATOR_DB_CA_FILE"


def cluster_identifiers(environment: str, root: Path | None = None) -> tuple[str, ...]:
    """The Aurora cluster identifiers the database stack creates for ``environment`` (its config's suffix)."""
    from bluegreen.environments import load_environment

    env = load_environment(environment, root)
    return tuple(env.resource_name("aurora", colour) for colour in COLOURS)


class StandIns:
    """One TLS-only local MariaDB per cluster identifier; a context manager that stops them all."""

    def __init__(self, clusters: Sequence[str], base_dir: Path | None = None) -> None:
        self.clusters = tuple(clusters)
        self._base_dir = base_dir
        self._tmp: str | None = None
        self.servers: dict[str, local_mariadb.MariaDB] = {}
        self.tls: dict[str, str] = {}

    def __enter__(self) -> StandIns:
        try:
            self._tmp = tempfile.mkdtemp(prefix="standins-", dir=self._base_dir)
            self.tls = local_mariadb.write_test_tls(Path(self._tmp))
            for cluster in self.clusters:
                server = local_mariadb.MariaDB(cluster, binlog=False, base_dir=Path(self._tmp), extra_args=(
                    f"--ssl-ca={self.tls['ca']}", f"--ssl-cert={self.tls['cert']}", f"--ssl-key={self.tls['key']}",
                    "--require-secure-transport=ON"))
                self.servers[cluster] = server.start()
                server.add_rds_procedures()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for server in self.servers.values():
            server.stop()
        self.servers.clear()
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    @property
    def setting(self) -> str:
        """EMULATOR_DB_ENDPOINTS: ``<cluster>=127.0.0.1:<port>@<root socket>`` for every cluster."""
        return ",".join(f"{cluster}=127.0.0.1:{server.port}@{server.socket_path}" for cluster, server in self.servers.items())

    @property
    def ca_pem(self) -> str:
        return Path(self.tls["ca"]).read_text()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bluegreen.emulator_databases", description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="dev", help="the environment whose clusters get a stand-in (default dev)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS...] to run with them")
    args = parser.parse_args(argv)
    command = local_mariadb.command_after_dashes(parser, args.command, "-- scripts/emulator start")
    try:
        clusters = cluster_identifiers(args.env)
        with StandIns(clusters) as databases:
            ca_file = Path(databases.tls["ca"])
            env = {**os.environ, SETTING: databases.setting, CA_FILE: str(ca_file)}
            return local_mariadb.run_command(command, env)
    except (local_mariadb.MariaDBError, OSError, ValueError) as err:
        print(f"emulator databases: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
