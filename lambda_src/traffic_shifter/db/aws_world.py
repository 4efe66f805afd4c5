"""The AWS adapters of the switchover: DMS replication, RDS health, and the writer name (for people).

boto3 clients with the shifter's retry configuration. The waits poll with our own deadline instead
of botocore's waiters: DMS's and Route 53's waiters sleep 15-30 s between polls, longer than the
whole write pause we aim for.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from ..errors import ConfigError
from .config import COLOURS, DbConfig, other
from .guardrails import IDLE
from .ports import ReplicationSnapshot, Wait

TASK_STOPPED = frozenset({"stopped", "ready", "failed"})


def task_id(arn: str) -> str:
    return arn.split(":")[-1]


class DbWorld:
    """WriterName, Replication and TargetHealth on AWS (see ports.py)."""

    def __init__(self, clients: Callable[[str], Any], config: DbConfig, clock: Callable[[], float]) -> None:
        self.clients = clients
        self.config = config
        self.clock = clock

    # -- writer name --------------------------------------------------------------------------------
    def writer_target(self) -> str | None:
        rrs = self.clients("route53").list_resource_record_sets(
            HostedZoneId=self.config.writer_zone_id, StartRecordName=self.config.writer_record_name, StartRecordType="CNAME", MaxItems="1"
        )["ResourceRecordSets"]
        for rr in rrs:
            if rr["Name"].lower() == self.config.writer_record_name and rr["Type"] == "CNAME":
                return rr["ResourceRecords"][0]["Value"].lower().rstrip(".")
        return None

    def cluster(self, colour: str) -> dict[str, Any]:
        return self.clients("rds").describe_db_clusters(DBClusterIdentifier=self.config.cluster_id(colour))["DBClusters"][0]

    def endpoint(self, colour: str) -> str:
        return self.cluster(colour)["Endpoint"].lower().rstrip(".")

    def writer_colour(self) -> str:
        target = self.writer_target()
        for colour in COLOURS:
            if target == self.endpoint(colour):
                return colour
        raise ConfigError(
            f"writer name {self.config.writer_record_name} points at {target!r}, which is neither cluster's writer endpoint; "
            "fix the record (database stack) before any switchover"
        )

    def set_writer(self, colour: str, wait: Wait) -> str:
        """Point the writer name at ``colour``'s endpoint: information for people (runbooks, dashboards).
        The service does not use it (it finds the writer through the fence), so nothing waits for INSYNC."""
        endpoint = self.endpoint(colour)
        self.clients("route53").change_resource_record_sets(
            HostedZoneId=self.config.writer_zone_id,
            ChangeBatch={"Comment": f"db switchover: writer -> {colour}", "Changes": [{"Action": "UPSERT", "ResourceRecordSet": {
                "Name": self.config.writer_record_name, "Type": "CNAME", "TTL": 5, "ResourceRecords": [{"Value": endpoint}]}}]},
        )
        return f"writer name {self.config.writer_record_name} -> {endpoint} ({colour})"

    # -- DMS ----------------------------------------------------------------------------------------
    def task(self, arn: str) -> dict[str, Any]:
        tasks = self.clients("dms").describe_replication_tasks(
            Filters=[{"Name": "replication-task-arn", "Values": [arn]}], WithoutSettings=True
        )["ReplicationTasks"]
        if not tasks:
            raise ConfigError(f"DMS task {arn} not found")
        return tasks[0]

    def table_statistics(self, arn: str) -> list[dict[str, Any]]:
        pages = self.clients("dms").get_paginator("describe_table_statistics").paginate(ReplicationTaskArn=arn)
        return [s for page in pages for s in page.get("TableStatistics", [])]

    def metrics(self, arn: str, names: Sequence[str], since: float, until: float) -> dict[str, list[tuple[float, float]]]:
        """Maximum per period of the task's CDC metrics, [(period start, value)] oldest first."""
        dims = [{"Name": "ReplicationInstanceIdentifier", "Value": self.config.dms_instance_id},
                {"Name": "ReplicationTaskIdentifier", "Value": task_id(arn)}]
        resp = self.clients("cloudwatch").get_metric_data(
            MetricDataQueries=[{"Id": f"m{i}", "Label": n, "ReturnData": True, "MetricStat": {
                "Metric": {"Namespace": "AWS/DMS", "MetricName": n, "Dimensions": dims},
                "Period": self.config.metric_period, "Stat": "Maximum"}} for i, n in enumerate(names)],
            StartTime=datetime.fromtimestamp(since, tz=UTC),
            EndTime=datetime.fromtimestamp(until, tz=UTC),
            ScanBy="TimestampAscending",
        )
        out: dict[str, list[tuple[float, float]]] = {n: [] for n in names}
        for r in resp["MetricDataResults"]:
            out[names[int(r["Id"][1:])]] = sorted(zip((t.timestamp() for t in r["Timestamps"]), r["Values"], strict=False))
        return out

    def running_into(self, to: str) -> str | None:
        return next((a for a in self.config.tasks_into(to) if self.task(a)["Status"] == "running"), None)

    def snapshot(self, to: str) -> ReplicationSnapshot:
        into = {task_id(a): self.task(a)["Status"] for a in self.config.tasks_into(to)}
        reverse_arn = self.config.cdc_task_from(to)
        reverse = {task_id(reverse_arn): self.task(reverse_arn)["Status"]}
        incoming = self.running_into(to)
        latency: dict[str, float | None] = {}
        tables: tuple[dict[str, Any], ...] = ()
        if incoming:
            now = self.clock()
            series = self.metrics(incoming, ("CDCLatencySource", "CDCLatencyTarget"), now - 5 * self.config.metric_period, now)
            latency = {n: (s[-1][1] if s else None) for n, s in series.items()}
            tables = tuple(
                {"table": f"{s['SchemaName']}.{s['TableName']}", "state": s.get("TableState"), "validation": s.get("ValidationState"),
                 "failed": s.get("ValidationFailedRecords", 0), "suspended": s.get("ValidationSuspendedRecords", 0)}
                for s in self.table_statistics(incoming)
            )
        return ReplicationSnapshot(into=into, reverse=reverse, latency=latency, tables=tables)

    def _stop(self, arn: str, wait: Wait) -> str:
        if self.task(arn)["Status"] == "running":
            self.clients("dms").stop_replication_task(ReplicationTaskArn=arn)
        wait(lambda: self.task(arn)["Status"] in TASK_STOPPED, 120, f"DMS task {task_id(arn)} stopped")
        return f"DMS task {task_id(arn)} stopped"

    def _start(self, arn: str, wait: Wait, *, position: str | None = None) -> str:
        if self.task(arn)["Status"] == "running":
            return f"DMS task {task_id(arn)} already running"
        if position is None:
            # Continue a task that ran before from its own checkpoint (used by undo).
            self.clients("dms").start_replication_task(ReplicationTaskArn=arn, StartReplicationTaskType="resume-processing")
            what = "resumed from its checkpoint"
        else:
            self.clients("dms").start_replication_task(
                ReplicationTaskArn=arn, StartReplicationTaskType="start-replication",
                CdcStartPosition=position,
            )
            what = f"started, changes after binlog position {position}"
        wait(lambda: self.task(arn)["Status"] == "running", 120, f"DMS task {task_id(arn)} running")
        return f"DMS task {task_id(arn)} {what}"

    def stop_into(self, to: str, wait: Wait) -> str:
        stopped = [self._stop(a, wait) for a in self.config.tasks_into(to) if self.task(a)["Status"] not in IDLE]
        return "; ".join(stopped) or f"no DMS task was replicating into {to}"

    def resume_into(self, to: str, path: str, wait: Wait) -> str:
        arn = next((a for a in self.config.tasks_into(to) if task_id(a) == path), None)
        if arn is None:
            raise ConfigError(f"{path!r} is not a DMS task replicating into {to}")
        return self._start(arn, wait)

    def start_from(self, colour: str, wait: Wait, *, position: str) -> str:
        # CdcStartPosition, not CdcStartTime: a position read before the unfence splits the forward applies
        # from the new writes exactly, where a start time has whole seconds and would make the unfence wait
        # for the next one (API_StartReplicationTask: "LSN Example: mysql-bin-changelog.000024:373").
        return self._start(self.config.cdc_task_from(colour), wait, position=position)

    def stop_from(self, colour: str, wait: Wait) -> str:
        return self._stop(self.config.cdc_task_from(colour), wait)

    # -- RDS ----------------------------------------------------------------------------------------
    def cluster_health(self, colour: str) -> dict[str, Any]:
        cluster = self.cluster(colour)
        writer = next((m["DBInstanceIdentifier"] for m in cluster.get("DBClusterMembers", []) if m.get("IsClusterWriter")), None)
        writer_status = None
        if writer:
            writer_status = self.clients("rds").describe_db_instances(DBInstanceIdentifier=writer)["DBInstances"][0]["DBInstanceStatus"]
        return {"cluster": cluster["DBClusterIdentifier"], "status": cluster["Status"], "writer": writer, "writer_status": writer_status}


__all__ = ["DbWorld", "TASK_STOPPED", "other", "task_id"]
