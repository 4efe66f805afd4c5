"""Every AWS call the traffic shifter's code makes is granted by its role, on the resource it touches.

A dedicated run (lambda_run.py) records each call the shifter makes against moto (status, start,
advance, pause, resume, rollback, promote, both database switchovers, the fence's login). The
role's policy (templates/automation.json FunctionPolicy) is resolved with the parameters under
which the template gives the Lambda exactly the environment of that run, and each call is
evaluated against it (grants.py): the action, the ARN of the parameter, table, listener, zone,
alarm, cluster, task, secret and topic the call names, and Route 53's record-name/type/action
conditions. Service-side use of the role (KMS through the services, the runtime's log, DLQ and
network interfaces) is derived from the template. The other direction: every granted action is
used by some call, or it is excess.
"""

from __future__ import annotations

import json

import pytest

from tests.test_iam import documents, grants, lambda_run

TEMPLATE = json.loads((documents.TEMPLATES / "automation.json").read_text())
FUNCTION, POLICY = "TrafficShifterFunction", "FunctionPolicy"
#: Granted, never called, and kept for now, each with why (the test fails when the set changes either way).
#: (cloudwatch:GetMetricStatistics was one: no code path called it, so it is no longer granted.)
KNOWN_EXCESS: dict[tuple[str, str], str] = {}


@pytest.fixture(scope="module")
def parameters(recorded):
    env, _ = recorded
    return documents.parameters_from_environment(TEMPLATE, FUNCTION, env)


@pytest.fixture(scope="module")
def policy(parameters):
    return documents.resolved_policy(TEMPLATE, parameters, POLICY)


@pytest.fixture(scope="module")
def requests(recorded, parameters):
    _, calls = recorded
    return [grants.request(c.service, c.operation, c.params) for c in calls] + implied(parameters)


def implied(parameters):
    """What AWS does with the role on the function's behalf (from the template, not the code)."""
    r = documents.Resolver(TEMPLATE, parameters, check=False)
    props = TEMPLATE["Resources"][FUNCTION]["Properties"]
    log_group = r.resolve(props["LoggingConfig"]["LogGroup"])
    dlq = r.resolve(props["DeadLetterConfig"]["TargetArn"])
    table_key = r.resolve(TEMPLATE["Resources"]["StateTable"]["Properties"]["SSESpecification"]["KMSMasterKeyId"])
    queue_key = r.resolve(TEMPLATE["Resources"]["DeadLetterQueue"]["Properties"]["KmsMasterKeyId"])
    ops, data = parameters["OpsKeyArn"], parameters["DataKeyArn"]
    eni = grants._arn("ec2", "network-interface/eni-0123456789abcdef0")
    return [
        grants.Request("logs:CreateLogStream", (grants._arn("logs", f"log-group:{log_group}:log-stream:2026/01/01/x"),), why="runtime log"),
        grants.Request("logs:PutLogEvents", (grants._arn("logs", f"log-group:{log_group}:log-stream:2026/01/01/x"),), why="runtime log"),
        grants.Request("sqs:SendMessage", (dlq,), why="runtime DLQ"),
        grants.via("kms:GenerateDataKey", queue_key, "sqs", "runtime DLQ (encrypted queue)"),
        grants.via("kms:Decrypt", queue_key, "sqs", "runtime DLQ (encrypted queue)"),
        grants.Request("ec2:DescribeNetworkInterfaces", ("*",), why="VPC attach"),
        grants.Request("ec2:CreateNetworkInterface", (eni, grants._arn("ec2", "subnet/subnet-0123456789abcdef0"),
                                                      grants._arn("ec2", "security-group/sg-0123456789abcdef0")), why="VPC attach"),
        *(grants.Request(a, (eni,), why="VPC attach") for a in
          ("ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses")),
        *(grants.via(a, table_key, "dynamodb", "state table (SSE-KMS)") for a in
          ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey")),
        *(grants.via(a, ops, "sns", "notify topic (SSE-KMS, ops key)") for a in ("kms:GenerateDataKey", "kms:Decrypt")),
        grants.via("kms:Decrypt", data, "secretsmanager", "DB secrets (data key)"),
    ]


def test_run__the_template__gives_the_lambda_exactly_the_environment_of_the_run(recorded, parameters):
    env, _ = recorded
    assert documents.environment_mismatches(TEMPLATE, FUNCTION, env, parameters) == []


def test_run__every_path__calls_every_service_the_role_names(recorded):
    _, calls = recorded
    assert {c.service for c in calls} == {"ssm", "dynamodb", "elbv2", "route53", "cloudwatch", "sns", "rds", "dms",
                                          "secretsmanager"}


def test_role__every_call_of_the_code__granted_on_its_resource(requests, policy):
    denied = grants.denied(policy, requests)
    assert denied == [], "\n".join(denied)


def test_role__every_granted_action__used_by_the_run_or_known_excess(requests, policy):
    assert grants.unused(policy, requests) == set(KNOWN_EXCESS)


@pytest.mark.parametrize("call,why", [
    (lambda_run.Call("ssm", "PutParameter", {"Name": "/payments-migration/dev-d01/shift/plan"}), "the plan is read-only"),
    (lambda_run.Call("route53", "ChangeResourceRecordSets", {"HostedZoneId": "ZONE", "ChangeBatch": {"Changes": [
        {"Action": "DELETE", "ResourceRecordSet": {"Name": "RECORD", "Type": "A"}}]}}), "records are only UPSERTed"),
    (lambda_run.Call("route53", "ChangeResourceRecordSets", {"HostedZoneId": "ZONE", "ChangeBatch": {"Changes": [
        {"Action": "UPSERT", "ResourceRecordSet": {"Name": "other.example.com.", "Type": "A"}}]}}), "only the payment name"),
    (lambda_run.Call("dynamodb", "DeleteItem", {"TableName": "ddb-shift-state-dev-d01"}), "no operation but GetItem/PutItem"),
])
def test_role__calls_the_code_never_makes__denied(policy, parameters, call, why):
    params = json.loads(json.dumps(call.params).replace("ZONE", parameters["HostedZoneId"])
                        .replace("RECORD", parameters["RecordName"]))
    if call.operation == "DeleteItem":
        req = grants.Request("dynamodb:DeleteItem", (grants._arn("dynamodb", "table/ddb-shift-state-dev-d01"),))
    else:
        req = grants.request(call.service, call.operation, params)
    assert grants.allows(policy, req).allowed is False, why


def test_request__unknown_operation__names_the_table_to_extend():
    with pytest.raises(KeyError, match="ec2.RunInstances is not in OPERATIONS"):
        grants.request("ec2", "RunInstances", {})



GRANTED = grants.granted_pairs(TEMPLATE["Resources"][POLICY]["Properties"]["PolicyDocument"], KNOWN_EXCESS)


@pytest.mark.parametrize("sid,action", GRANTED, ids=[f"{s}-{a}" for s, a in GRANTED])
def test_role__any_one_action_removed__some_call_of_the_run_is_denied(requests, policy, sid, action):
    assert grants.first_denied_without(policy, requests, sid, action) == [action]
