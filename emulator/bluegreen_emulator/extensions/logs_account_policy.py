"""CloudWatch Logs account-level subscription filter policy (PutAccountPolicy), which moto 5.2 lacks.

The audit stack's log archive rests on it (templates/audit.py): every log group of the account,
existing or created later, sends its events to one Firehose stream. Without it the template's
AWS::Logs::AccountPolicy was a phantom and no event ever reached the archive bucket.

What AWS does, and the emulator with it (PutAccountPolicy in botocore's CloudWatch Logs model,
https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutAccountPolicy.html):
  * one account-level subscription filter policy per Region: a second name is refused
    (LimitExceededException); putting the same name again replaces it;
  * the destination must exist in this account and Region, and a Firehose or Kinesis destination
    needs a RoleArn (InvalidParameterException otherwise);
  * selection criteria for this type are ``LogGroupName NOT IN [...]`` only;
  * the policy applies to existing log groups and to those created later: every PutLogEvents of a
    selected group is delivered, as a log-group subscription filter's are (moto's own delivery:
    gzip JSON batches into the Firehose stream's bucket).
Only SUBSCRIPTION_FILTER_POLICY is emulated; another type is refused saying so, not accepted and
ignored. AWS applies a new policy to existing groups "with eventual consistency"; the emulator at
once (kinder in timing only; nothing here relies on the delay).
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.logs.exceptions import InvalidParameterException, LogsClientError, ResourceNotFoundException
from moto.logs.models import LogsBackend, LogStream, logs_backends
from moto.logs.responses import LogsResponse

from ..moto_internals import patch
from ._base import BackendResource

EXTENSIONS = [
    ("AWS::Logs::AccountPolicy", "new model and API: Put/Describe/DeleteAccountPolicy (SUBSCRIPTION_FILTER_POLICY), "
                                 "one per Region, events of every selected log group delivered to its destination"),
]

SUBSCRIPTION = "SUBSCRIPTION_FILTER_POLICY"
_NOT_IN = re.compile(r"^\s*LogGroupName\s+NOT\s+IN\s+(\[.*\])\s*$", re.S)


def _policies(backend: LogsBackend) -> dict[str, dict[str, Any]]:
    # Stored on the backend instance, so moto's reset clears it with everything else.
    return backend.__dict__.setdefault("bluegreen_account_policies", {})


def excluded_groups(selection_criteria: str | None) -> list[str]:
    """The log groups a subscription filter policy leaves out; refuses any other criteria."""
    if not selection_criteria:
        return []
    match = _NOT_IN.match(selection_criteria)
    if match:
        try:
            names = json.loads(match.group(1))
        except ValueError:
            names = None
        if isinstance(names, list) and all(isinstance(n, str) for n in names):
            return names
    raise InvalidParameterException(
        f"selectionCriteria {selection_criteria!r}: a subscription filter policy takes only "
        'LogGroupName NOT IN ["name", ...]')


def _check_destination(backend: LogsBackend, document: dict[str, Any]) -> None:
    destination = document.get("DestinationArn") or ""
    service = destination.split(":")[2] if destination.count(":") >= 5 else ""
    if service not in ("firehose", "kinesis", "lambda"):
        raise InvalidParameterException(f"DestinationArn {destination!r}: not a Firehose, Kinesis or Lambda ARN")
    if service in ("firehose", "kinesis") and not document.get("RoleArn"):
        raise InvalidParameterException(f"RoleArn is required for a {service} destination")
    if service == "firehose":
        from moto.firehose.models import firehose_backends

        if not firehose_backends[backend.account_id][backend.region_name].lookup_name_from_arn(destination):
            raise InvalidParameterException(f"Could not deliver test message to specified Firehose stream ({destination})")


def put_account_policy(self: LogsBackend, policy_name: str, policy_document: str, policy_type: str,
                       scope: str | None = None, selection_criteria: str | None = None) -> dict[str, Any]:
    if policy_type != SUBSCRIPTION:
        raise InvalidParameterException(f"policyType {policy_type}: the emulator models only {SUBSCRIPTION}")
    try:
        document = json.loads(policy_document)
    except ValueError as exc:
        raise InvalidParameterException(f"policyDocument is not JSON: {exc}") from exc
    excluded_groups(selection_criteria)
    _check_destination(self, document)
    policies = _policies(self)
    others = [name for name, p in policies.items() if p["policyType"] == policy_type and name != policy_name]
    if others:
        # moto's LimitExceededException takes no message; the same code with AWS's reason.
        raise LogsClientError("LimitExceededException", "Each account can have one account-level subscription "
                              f"filter policy per Region ({others[0]} exists)")
    policies[policy_name] = {
        "policyName": policy_name, "policyDocument": policy_document, "policyType": policy_type,
        "scope": scope or "ALL", "selectionCriteria": selection_criteria or "",
        "lastUpdatedTime": int(time.time() * 1000), "accountId": self.account_id,
    }
    return policies[policy_name]


def describe_account_policies(self: LogsBackend, policy_type: str,
                              policy_name: str | None = None) -> list[dict[str, Any]]:
    return [p for p in _policies(self).values()
            if p["policyType"] == policy_type and (not policy_name or p["policyName"] == policy_name)]


def delete_account_policy(self: LogsBackend, policy_name: str, policy_type: str) -> None:
    policies = _policies(self)
    if policies.get(policy_name, {}).get("policyType") != policy_type:
        raise ResourceNotFoundException(f"Policy {policy_name} of type {policy_type} does not exist")
    del policies[policy_name]


def _r_put_account_policy(self: LogsResponse) -> str:
    policy = self.logs_backend.put_account_policy(
        self._get_param("policyName"), self._get_param("policyDocument"), self._get_param("policyType"),
        self._get_param("scope"), self._get_param("selectionCriteria"))
    return json.dumps({"accountPolicy": policy})


def _r_describe_account_policies(self: LogsResponse) -> str:
    return json.dumps({"accountPolicies": self.logs_backend.describe_account_policies(
        self._get_param("policyType"), self._get_param("policyName"))})


def _r_delete_account_policy(self: LogsResponse) -> str:
    self.logs_backend.delete_account_policy(self._get_param("policyName"), self._get_param("policyType"))
    return ""


_original_put_log_events = LogStream.put_log_events


def put_log_events(self: LogStream, log_events: list[dict[str, Any]]) -> str:
    """moto's delivery to the group's own filters, then to the account-level policy if it selects the group."""
    token = _original_put_log_events(self, log_events)
    for policy in _policies(logs_backends[self.account_id][self.region]).values():
        if self.log_group.name in excluded_groups(policy["selectionCriteria"]):
            continue
        document = json.loads(policy["policyDocument"])
        destination = document["DestinationArn"]
        sent = [{"id": e.event_id, "timestamp": e.timestamp, "message": e.message}
                for e in self.events[-len(log_events):]] if log_events else []
        if sent:
            self._send_log_events(service=destination.split(":")[2], destination_arn=destination,
                                  filter_name=policy["policyName"], log_events=sent)
    return token


class AccountPolicyResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::Logs::AccountPolicy"
    NAME_PROPERTY = "PolicyName"
    REPLACE_ON = ("PolicyType",)

    def _backend(self) -> LogsBackend:
        return logs_backends[self.account_id][self.region_name]

    def put(self, properties: dict[str, Any]) -> None:
        document = properties.get("PolicyDocument")
        self.physical_id = properties.get("PolicyName") or self.physical_id
        self._backend().put_account_policy(
            self.physical_id, document if isinstance(document, str) else json.dumps(document),
            properties["PolicyType"], properties.get("Scope"), properties.get("SelectionCriteria"))

    def create(self, name: str) -> None:
        self.physical_id = self.properties.get("PolicyName") or name
        self.put(self.properties)

    def remove(self) -> None:
        try:
            self._backend().delete_account_policy(self.physical_id, self.properties["PolicyType"])
        except ResourceNotFoundException:
            pass


def install(port: int) -> None:
    for name, backend_func, response_func in (
        ("put_account_policy", put_account_policy, _r_put_account_policy),
        ("describe_account_policies", describe_account_policies, _r_describe_account_policies),
        ("delete_account_policy", delete_account_policy, _r_delete_account_policy),
    ):
        patch(f"moto.logs.models.LogsBackend.{name}", backend_func)
        patch(f"moto.logs.responses.LogsResponse.{name}", response_func)
    patch("moto.logs.models.LogStream.put_log_events", put_log_events)
