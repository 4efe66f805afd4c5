"""Route 53: weighted record sets one by one, GetAtt of zones and health checks, deletes.

moto 5.2's RecordSet model replaced or deleted every record of a name and type -- blue
*and* green of a weighted pair -- on update or delete; here a record set (name, type,
SetIdentifier) is created, updated and removed alone, and is in the zone's change journal
so that the Route 53 API can delete it too. GetAtt Id / NameServers of a hosted
zone and HealthCheckId of a health check crashed. QueryLoggingConfig had no model, and
hosted zones, health checks and record set groups outlived their stack.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.route53.exceptions import NoSuchHostedZone, NoSuchQueryLoggingConfig
from moto.route53.models import route53_backends

from ..moto_internals import patch
from ._base import BackendResource, Deleter, as_int, getatt

EXTENSIONS = [
    ("AWS::Route53::RecordSet", "replaces moto's model: weighted/failover records with a SetIdentifier are updated and deleted one by one (moto replaced or "
                                "deleted every record of the name, e.g. blue and green)"),
    ("AWS::Route53::QueryLoggingConfig", "new model: create/delete_query_logging_config (log group ARN accepted with or without ':*')"),
    ("AWS::Route53::HostedZone / HealthCheck", "fix: Fn::GetAtt Id, NameServers / HealthCheckId (moto crashed)"),
    ("stack delete (Route 53)", "HostedZone, HealthCheck are deleted with their stack"),
]


_zone_get_cfn_attribute = getatt(
    {
        "Id": lambda zone: zone.resource_id,
        "NameServers": lambda zone: [] if zone.private_zone else [
            value for r in zone.rrsets if r.type == "NS" for value in (r.records or [])
        ],
    }
)

_health_check_get_cfn_attribute = getatt({"HealthCheckId": lambda check: check.id})


def remove_record_set(zone: Any, name: str, rtype: str, set_identifier: str | None) -> None:
    """Remove exactly one record set (name, type, set identifier) from a moto zone."""
    wanted = name.rstrip(".")
    zone.rrsets = [
        r for r in zone.rrsets
        if not (r.name.rstrip(".") == wanted and r.type == rtype and r.set_identifier == set_identifier)
    ]


class RecordSetResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::Route53::RecordSet"
    REPLACE_ON = ("Name", "Type", "HostedZoneId", "HostedZoneName", "SetIdentifier")

    def _zone(self, p: dict[str, Any]) -> Any:
        backend = route53_backends[self.account_id]["aws"]
        if p.get("HostedZoneName"):
            zone = backend.get_hosted_zone_by_name(p["HostedZoneName"])
            if zone is not None:
                return zone
        return backend.get_hosted_zone(str(p["HostedZoneId"]).replace("/hostedzone/", ""))

    @staticmethod
    def _record(p: dict[str, Any]) -> dict[str, Any]:
        record = {k: v for k, v in p.items() if k not in ("HostedZoneName", "Comment")}
        # Stored fully qualified, as ChangeResourceRecordSets stores it (so API calls find it).
        record["Name"] = str(p["Name"]).rstrip(".") + "."
        for key in ("Weight", "TTL"):
            if key in record and record[key] is not None:
                record[key] = as_int(record[key])
        return record

    def create(self, name: str) -> None:
        p = self.properties
        zone = self._zone(p)
        duplicate = [r for r in zone.rrsets if r.name.rstrip(".") == p["Name"].rstrip(".")
                     and r.type == p["Type"] and r.set_identifier == p.get("SetIdentifier")]
        if duplicate:
            raise ValueError(f"[Tried to create resource record set [name='{p['Name']}', type='{p['Type']}'] but it already exists]")
        zone.add_rrset(self._record(p))
        self._journal(zone, "CREATE", p)
        self.physical_id = p["Name"]

    def update(self, new_properties: dict[str, Any]) -> None:
        zone = self._zone(new_properties)
        zone.upsert_rrset(self._record(new_properties))
        self._journal(zone, "UPSERT", new_properties)

    def _journal(self, zone: Any, action: str, p: dict[str, Any]) -> None:
        """The zone's change journal, as ChangeResourceRecordSets keeps it: moto refuses an API
        DELETE of a record it has no CREATE/UPSERT of (a stack's record could not be deleted)."""
        record = {k: v for k, v in self._record(p).items() if k != "HostedZoneId"}
        if "ResourceRecords" in record:
            record["ResourceRecords"] = [{"Value": str(v)} for v in record["ResourceRecords"] or []]
        zone.rr_changes.append({"Action": action, "ResourceRecordSet": record})

    def remove(self) -> None:
        p = self.properties
        try:
            zone = self._zone(p)
        except NoSuchHostedZone:  # the zone went first
            return
        remove_record_set(zone, p["Name"], p["Type"], p.get("SetIdentifier"))


class QueryLoggingConfigResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::Route53::QueryLoggingConfig"
    REPLACE_ON = ("HostedZoneId", "CloudWatchLogsLogGroupArn")

    def _backend(self):
        return route53_backends[self.account_id]["aws"]

    def create(self, name: str) -> None:
        p = self.properties
        arn = str(p["CloudWatchLogsLogGroupArn"])
        arn = arn[:-2] if arn.endswith(":*") else arn
        config = self._backend().create_query_logging_config(
            str(p["HostedZoneId"]).replace("/hostedzone/", ""), arn + ":*"
        )
        self.physical_id = config.id

    def remove(self) -> None:
        with suppress(NoSuchQueryLoggingConfig):
            self._backend().delete_query_logging_config(self.physical_id)


# ----------------------------------------------------------------------------- stack delete


def _route53(account_id: str):
    return route53_backends[account_id]["aws"]


def _hosted_zone(obj: Any, account_id: str, region: str) -> None:
    with suppress(NoSuchHostedZone):
        _route53(account_id).delete_hosted_zone(obj.id)


def _health_check(obj: Any, account_id: str, region: str) -> None:
    _route53(account_id).delete_health_check(obj.id)  # moto: no error when gone


DELETERS: dict[str, Deleter] = {
    "AWS::Route53::HostedZone": _hosted_zone,
    "AWS::Route53::HealthCheck": _health_check,
}


def install(port: int) -> None:
    patch("moto.route53.models.FakeZone.get_cfn_attribute", _zone_get_cfn_attribute)
    patch("moto.route53.models.HealthCheck.get_cfn_attribute", _health_check_get_cfn_attribute)
