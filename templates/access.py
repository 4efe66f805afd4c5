"""Access stack: the roles people use in the change window, as managed policies.

  * Operator: what ``bluegreen shift`` and ``bluegreen db`` need (status, start, pause, resume,
    promote, rollback; db status and switchover). ``shift status`` reads with the traffic shifter's own
    code in-process; every changing ``shift`` command and every ``db`` command invokes the function
    (lambda:InvokeFunction), which runs it inside the VPC as its own role: the operator holds no
    database secret, no DMS or RDS grant, no network path to a database. It still holds the traffic
    statements (automation.py traffic_statements, one source), from when ``shift`` ran in-process:
    no longer used by the CLI, to be narrowed to the reads (debt). Nothing of the Lambda runtime.
  * Auditor: read-only: the read actions of the same statements (no secret, no write), the
    shifter's log (the audit trail of every decision) and the function's configuration.

Both roles are assumed from this account with MFA, for one hour at most. tests/test_iam proves the
grants against the calls the code really makes (the operator can roll back; the auditor cannot).
"""

import importlib.util
from pathlib import Path

from troposphere import Ref, Sub

from bluegreen import cfn_parameters as params
from bluegreen.cfn import export, new_template, to_json
from bluegreen.cfn_iam import allow, policy_and_role, policy_document

#: One hour: a change window's session; a longer one needs a fresh MFA sign-in.
MAX_SESSION_SECONDS = 3600
#: Read actions by verb; a secret's value is never "read-only" (it is a credential).
READ_VERBS = ("Get", "Describe", "List")
NOT_READ_ONLY = {"secretsmanager:GetSecretValue"}
#: automation.py parameters these policies name (copied with their patterns: one definition).
SHIFTER_PARAMETERS = (
    "OpsKeyArn", "SsmPrefix", "BlueHttpsListenerArn", "GreenHttpsListenerArn", "HostedZoneId", "RecordName",
    "GreenHealthAlarmName", "DataHealthAlarmName", "GreenPaymentsAlarmName", "NotifyTopicArn", "WriterZoneId",
    "BlueClusterIdentifier", "GreenClusterIdentifier",
    "DbCaBundleParameterName", "ReplicationTaskArn", "CdcBlueToGreenTaskArn", "CdcGreenToBlueTaskArn",
)


def _automation():
    """templates/automation.py, where the shifter's statements are defined (templates are not a package)."""
    spec = importlib.util.spec_from_file_location("bluegreen_template_automation", Path(__file__).with_name("automation.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _parameters(t, automation):
    shifter = automation.build().parameters
    for key in SHIFTER_PARAMETERS:
        t.add_parameter(shifter[key])
    params.add(t, "StateTableName", "The shifter's state table (automation stack StateTableName).",
               AllowedPattern=r"^[A-Za-z0-9_.-]{3,255}$", ConstraintDescription="a DynamoDB table name")
    params.add(t, "TrafficShifterFunctionArn", "The traffic-shifter Lambda (automation stack TrafficShifterFunctionArn).",
               AllowedPattern=r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]{1,64}$",
               ConstraintDescription="a Lambda function ARN")


def _table_arn():
    return Sub("arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${StateTableName}")


def _function_configuration():
    return allow("ReadShifterConfiguration", ["lambda:GetFunctionConfiguration"], Ref("TrafficShifterFunctionArn"))


def operator_statements(automation):
    """The traffic statements and the ops key through DynamoDB and SNS (``bluegreen shift`` is that code),
    and invoking the function (``bluegreen db``: the function runs the switchover inside the VPC)."""
    return [_function_configuration(),
            allow("InvokeShifterForDbCommands", ["lambda:InvokeFunction"], Ref("TrafficShifterFunctionArn")),
            *automation.traffic_statements(_table_arn()), *automation.ops_key_statements(["sns"])]


def _read_only(statement):
    """The statement's read actions, or None; a statement with a Condition (record writes, KMS) has none."""
    actions = [a for a in statement["Action"] if a.split(":", 1)[1].startswith(READ_VERBS) and a not in NOT_READ_ONLY]
    if not actions or statement.get("Condition"):
        return None
    sid = statement["Sid"] if actions == statement["Action"] else statement["Sid"] + "ReadOnly"
    return {**statement, "Sid": sid, "Action": actions}


def auditor_statements(automation):
    """Read actions of the operator's statements (no write, no secret), the state item through the ops
    key, and the shifter's log: what an auditor checks every decision against."""
    reads = [r for r in (_read_only(s) for s in automation.code_statements(_table_arn())) if r]
    table_key = automation.ops_key_statements(["sns"])[0]
    return [
        _function_configuration(),
        *reads,
        {**table_key, "Sid": "OpsKeyForReadingShiftState", "Action": ["kms:Decrypt", "kms:DescribeKey"]},
        allow("ReadShifterLog", ["logs:DescribeLogStreams", "logs:GetLogEvents", "logs:FilterLogEvents"],
              Sub("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/"
                  + automation.FUNCTION_NAME + ":*")),
    ]


def _people_trust():
    return policy_document({
        "Effect": "Allow",
        "Principal": {"AWS": Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")},
        "Action": "sts:AssumeRole",
        # People, not automation: a session from a signed-in user with MFA.
        "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
    })


def _role(t, title, who, description, statements, metadata=None):
    policy, role = policy_and_role(
        t, title, [who], _people_trust(), statements, policy_description=description, role_description=description,
        policy_props={"Metadata": metadata} if metadata else None, MaxSessionDuration=MAX_SESSION_SECONDS)
    export(t, f"{title}RoleArn", role.get_att("Arn"), f"Role of the {who} (assume with MFA).")
    export(t, f"{title}PolicyArn", Ref(policy), f"Managed policy of the {who}.")
    return policy, role


def build():
    t = new_template("Operator and auditor roles of the blue-green payment platform: the bluegreen CLI's "
                     "shift and db commands, and read-only audit.")
    automation = _automation()
    _parameters(t, automation)
    policy, _ = _role(t, "Operator", "operator",
                      "bluegreen shift and db commands: status, start, pause, resume, promote, rollback, db switchover.",
                      operator_statements(automation),
                      {"parliament": {"ignore": [automation.PARLIAMENT_MODIFY_LISTENER]}})
    if len(policy.PolicyDocument["Statement"]) != len({s["Sid"] for s in policy.PolicyDocument["Statement"]}):
        raise ValueError("operator policy: duplicate Sid")
    _role(t, "Auditor", "auditor", "Read-only: shift and writer status, the shifter's configuration and its log.",
          auditor_statements(automation))
    return t


def sceptre_handler(sceptre_user_data):
    return to_json(build())
