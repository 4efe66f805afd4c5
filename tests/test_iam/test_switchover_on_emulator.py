"""The database switchover's AWS calls on the emulator, IAM enforced, as the role that makes them in AWS.

Every call the switchover's code makes (``db switchover`` to green and back, ``db status``: the recorded
run of test_lambda_calls.py, lambda_run.py) is made again on the launched dev group (conftest.py's
``world``), naming the resources the stacks really created (replay.Translation: the clusters
``aurora-<colour>-dev-d01`` and their writer instances ``aurora-<colour>-1-dev-d01``, the DMS tasks, the
master secrets, the writer zone and name, the CA bundle parameter), signed as a session of the
traffic-shifter's own role ``role-traffic-shifter-dev-d01`` (session name: the function, as the Lambda
service names it). So the emulator judges each call with the role's own policy, on the real ARN,
including the KMS use Secrets Manager and DynamoDB make with the caller's permissions.

* with the policy as deployed, no call is denied;
* with any one grant the switchover uses removed (a new default version of the managed policy), the
  first call that needs it is refused, AccessDenied(Fault/Exception) naming that action, the resource
  and the role, and the product's own explanation (traffic_shifter.aws_errors) says it in one line;
* every grant of the policy is proven here, by the shift/rollback (test_roles_on_emulator.py SHIFT_PATH),
  or named as the Lambda runtime's (no code of ours makes that call, so no replay can).

How the test signs as the role: the role trusts only lambda.amazonaws.com; the deployer adds its own
account to the trust policy for one AssumeRole and puts it back at once (a trust policy grants no
permission: what the session may do is still the role's policy alone). The SQL side of the switchover
(fence, drain) is not an AWS call; it runs against real MariaDB in test_db_switchover.py and the rehearsal.
"""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.config import Config

from tests.test_iam import replay
from tests.test_iam.launched import ACCOUNT, FUNCTION  # also puts emulator/ on sys.path
from tests.test_iam.test_lambda_calls import GRANTED, TEMPLATE
from tests.test_iam.test_roles_on_emulator import SHIFT_PATH

pytestmark = pytest.mark.emulator

ROLE = "role-traffic-shifter-dev-d01"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/{ROLE}/{FUNCTION}"
PHASES = ("db switchover", "db status")
#: (statement, action) of the function's policy the switchover's calls need, directly or through a service
#: (KMS via Secrets Manager for the master secrets, via DynamoDB for the journal in the state table).
SWITCHOVER = [
    ("ReadAndWriteShiftState", "dynamodb:GetItem"),
    ("ReadAndWriteShiftState", "dynamodb:PutItem"),
    ("OpsKeyForStateTable", "kms:Decrypt"),
    ("OpsKeyForStateTable", "kms:GenerateDataKey"),
    ("ReadWriterName", "route53:ListResourceRecordSets"),
    ("MoveWriterName", "route53:ChangeResourceRecordSets"),
    ("ReadReplicationTasks", "dms:DescribeReplicationTasks"),
    ("StartStopTheReplicationTasks", "dms:StartReplicationTask"),
    ("StartStopTheReplicationTasks", "dms:StopReplicationTask"),
    ("StartStopTheReplicationTasks", "dms:DescribeTableStatistics"),
    ("ReadTheClusters", "rds:DescribeDBClusters"),
    ("ReadTheClusters", "rds:DescribeDBInstances"),
    ("ReadReplicationMetrics", "cloudwatch:GetMetricData"),
    ("ReadDbCaBundle", "ssm:GetParameter"),
    ("FenceLogin", "secretsmanager:GetSecretValue"),
    ("DataKeyForFenceLogin", "kms:Decrypt"),
]
#: Granted for what AWS does with the role on the function's behalf, never a call of our code (so nothing
#: here can replay it): test_lambda_calls.py derives each from the template.
RUNTIME = {
    ("WriteOwnLog", "logs:CreateLogStream"): "the Lambda service writes the function's log",
    ("WriteOwnLog", "logs:PutLogEvents"): "the Lambda service writes the function's log",
    ("DescribeVpcNetworkInterfaces", "ec2:DescribeNetworkInterfaces"): "the Lambda service attaches the function to the VPC",
    **{("ManageVpcNetworkInterfaces", a): "the Lambda service attaches the function to the VPC" for a in
       ("ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses")},
    ("DeadLetter", "sqs:SendMessage"): "the Lambda service sends a failed asynchronous event to the DLQ",
    ("OpsKeyForStateTable", "kms:Encrypt"): "DynamoDB's own use of the table key (the emulator checks Decrypt/GenerateDataKey)",
    ("OpsKeyForStateTable", "kms:DescribeKey"): "DynamoDB's own use of the table key (the emulator checks Decrypt/GenerateDataKey)",
}
#: What a service may answer a replayed call after IAM allowed it: the state the replay finds differs from
#: the recorded run's (a task already stopped, a journal version already moved on), never a denial.
SERVICE_REFUSALS = frozenset({"InvalidResourceStateFault", "ConditionalCheckFailedException"})


@pytest.fixture(scope="module")
def calls(recorded):
    """The switchover's distinct calls of the recorded run, in its order."""
    _, made = recorded
    found = replay.distinct(made, PHASES)
    assert {(c.service, c.operation) for c in found} >= {("rds", "DescribeDBInstances"), ("dms", "StartReplicationTask"),
                                                          ("route53", "ChangeResourceRecordSets"), ("secretsmanager", "GetSecretValue")}
    return found


@pytest.fixture(scope="module")
def translation(recorded, world):
    env, _ = recorded
    rds = world.client("rds")
    endpoints = {c: rds.describe_db_clusters(DBClusterIdentifier=c)["DBClusters"][0]["Endpoint"]
                 for c in (world.lambda_env["BLUE_CLUSTER_ID"], world.lambda_env["GREEN_CLUSTER_ID"])}
    return replay.Translation.between(env, world.lambda_env, endpoints)


@pytest.fixture(scope="module")
def as_role(world):
    """``client(service)`` signed as a session of the shifter's role, and the launched state put back after."""
    iam = world.client("iam")
    trust = iam.get_role(RoleName=ROLE)["Role"]["AssumeRolePolicyDocument"]
    widened = json.loads(json.dumps(trust))
    widened["Statement"].append({"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}})
    iam.update_assume_role_policy(RoleName=ROLE, PolicyDocument=json.dumps(widened))
    try:
        credentials = world.client("sts").assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{ROLE}", RoleSessionName=FUNCTION)["Credentials"]
    finally:
        iam.update_assume_role_policy(RoleName=ROLE, PolicyDocument=json.dumps(trust))
    session = boto3.session.Session(aws_access_key_id=credentials["AccessKeyId"], aws_secret_access_key=credentials["SecretAccessKey"],
                                    aws_session_token=credentials["SessionToken"], region_name="us-east-1")
    made: dict[str, object] = {}

    def client(service: str):
        if service not in made:  # one attempt: a denial is an answer, not something to retry
            made[service] = session.client(service, endpoint_url=world.env["AWS_ENDPOINT_URL"], config=Config(retries={"max_attempts": 1}))
        return made[service]

    before = launched_state(world)
    yield client
    restore(world, before)


def launched_state(world) -> dict:
    """What the replayed writes touch: the journal's item, the writer name, the DMS tasks' status."""
    env = world.lambda_env
    item = world.client("dynamodb").get_item(TableName=env["STATE_TABLE"], Key={"plan_id": {"S": "db-writer"}}).get("Item")
    records = world.client("route53").list_resource_record_sets(HostedZoneId=env["WRITER_ZONE_ID"])["ResourceRecordSets"]
    writer = next((r for r in records if r["Name"] == env["WRITER_RECORD_NAME"] and r["Type"] == "CNAME"), None)
    tasks = {t["ReplicationTaskArn"]: t["Status"] for t in world.client("dms").describe_replication_tasks()["ReplicationTasks"]}
    return {"item": item, "writer": writer, "tasks": tasks}


def restore(world, before: dict) -> None:
    env, ddb = world.lambda_env, world.client("dynamodb")
    if before["item"] is None:
        ddb.delete_item(TableName=env["STATE_TABLE"], Key={"plan_id": {"S": "db-writer"}})
    else:
        ddb.put_item(TableName=env["STATE_TABLE"], Item=before["item"])
    if before["writer"] is not None:
        world.client("route53").change_resource_record_sets(HostedZoneId=env["WRITER_ZONE_ID"], ChangeBatch={"Changes": [
            {"Action": "UPSERT", "ResourceRecordSet": before["writer"]}]})
    dms = world.client("dms")
    for task in dms.describe_replication_tasks()["ReplicationTasks"]:
        if task["Status"] == "running" and before["tasks"].get(task["ReplicationTaskArn"]) != "running":
            dms.stop_replication_task(ReplicationTaskArn=task["ReplicationTaskArn"])
    assert launched_state(world)["item"] == before["item"]


def resource_of(sid: str):
    return next(s["Resource"] for s in TEMPLATE["Resources"]["FunctionPolicy"]["Properties"]["PolicyDocument"]["Statement"]
                if s["Sid"] == sid)


def denied_action(outcome: replay.Outcome) -> str:
    return outcome.message.split("is not authorized to perform: ", 1)[1].split()[0]


def test_switchover_calls__the_role_as_deployed__every_call_allowed_on_the_real_resources(calls, translation, as_role):
    outcomes = [replay.replay(as_role, call, translation) for call in calls]

    assert [str(o) for o in outcomes if o.denied] == []
    assert [str(o) for o in outcomes if o.code is not None and o.code not in SERVICE_REFUSALS] == []
    named = json.dumps([translation.params(c.params) for c in calls], default=str)
    assert "aurora-blue-1-dev-d01" in named and "aurora-green-1-dev-d01" in named  # the writer instances the stack creates


@pytest.mark.parametrize("sid,action", SWITCHOVER, ids=[f"{s}-{a}" for s, a in SWITCHOVER])
def test_switchover_calls__one_grant_removed__the_call_that_needs_it_refused_naming_it(calls, translation, as_role, reduced_policy,
                                                                                        sid, action):
    from traffic_shifter.aws_errors import explain

    reduced_policy(sid, action)

    first = next((o for o in (replay.replay(as_role, call, translation) for call in calls) if o.code is not None and o.denied), None)

    assert first is not None, f"no switchover call needed {sid} {action}"
    assert denied_action(first) == action, str(first)
    # An action AWS authorizes only on "*" (DescribeReplicationTasks, GetMetricData) names no resource, as AWS's own message.
    on = "" if resource_of(sid) == "*" else " on resource: arn:aws:"
    assert f"User: {SESSION} is not authorized to perform: {action}{on or ' because'}" in first.message, first.message
    said = explain(first.error)
    assert said.startswith(f"{first.code}: {SESSION} may not {action}{on.replace(' resource:', '')}"), said


def test_every_grant__proven_by_the_switchover_the_shift_or_named_as_the_runtimes():
    proven = set(SWITCHOVER) | set(SHIFT_PATH) | set(RUNTIME)
    granted = set(GRANTED)

    assert granted - proven == set(), "a grant no test removes"
    assert proven - granted == set(), "a grant the policy no longer has"
    assert TEMPLATE["Resources"]["TrafficShifterFunction"]["Properties"]["Role"] == {"Fn::GetAtt": ["FunctionRole", "Arn"]}
