"""The platform's Lambda functions, built one way: in the VPC, code from the artifact bucket, the
environment encrypted with the ops key, logging to a log group the stack owns.

The automation stack (traffic shifter), the parameters and schema stacks (their custom resources)
use them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from troposphere import Equals, GetAtt, If, Not, NoValue, Ref, Sub, Template
from troposphere.awslambda import Code, Function, LoggingConfig, VPCConfig
from troposphere.iam import ManagedPolicy, Role
from troposphere.logs import LogGroup

from bluegreen import cfn_parameters as params
from bluegreen.cfn import suppressions, tags
from bluegreen.cfn_iam import allow, policy_and_role, service_trust
from bluegreen.cfn_storage import log_group

RUNTIME = "python3.12"
#: The zips' dependencies are built for manylinux2014_x86_64 (bluegreen.lambda_zip).
ARCHITECTURES = ["x86_64"]
#: The EC2 actions with resource-level permissions that Lambda performs with the execution role to
#: attach a function to the VPC (beside DescribeNetworkInterfaces, which has none).
ENI_ACTIONS = ["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface",
               "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"]
VPC_ENI_REASON = (
    "The EC2 network-interface actions Lambda needs to attach the function to the VPC (the set of "
    "the AWS managed policy AWSLambdaVPCAccessExecutionRole); Lambda performs them with the "
    "execution role and checks the role for them on Resource '*' before it attaches the function."
)
#: Why a custom resource's function has no dead-letter queue (checkov CKV_AWS_116).
NO_DLQ = (
    "Invoked by CloudFormation as a custom resource: the function reports every failure to "
    "CloudFormation itself (FAILED with the reason), so there is no unprocessed event to keep."
)


def trust() -> dict:
    return service_trust("lambda.amazonaws.com")


def parameters(t: Template, code_key: str, package: str) -> None:
    """Where the function's code is and where it runs: the artifact bucket, the S3 key of ``package``'s
    zip (as the package_lambda hook uploads it), the app subnets and the Lambda security group."""
    params.add(t, "ArtifactBucketName", "Artifacts bucket (artifacts stack ArtifactBucketName) holding the Lambda zip.",
               params.BUCKET_NAME)
    params.add(t, code_key, f"S3 key of the {package} zip (!lambda_code_key lambda_src/{package}).",
               AllowedPattern=rf"^lambda/{package}/[0-9a-f]{{64}}\.zip$",
               ConstraintDescription=f"lambda/{package}/<sha256>.zip, as the package_lambda hook uploads it.")
    params.add(t, "AppSubnetIds", "Private app subnets (network stack AppSubnetIds) the function runs in.",
               params.SUBNET_IDS)
    params.add(t, "LambdaSecurityGroupId", "Security group of the platform Lambdas (network stack "
               "LambdaSecurityGroupId).", params.SECURITY_GROUP_ID)


def custom_resource_role(t: Template, logical: str, qualifiers: Sequence[str], statements: Sequence[dict],
                         logs: LogGroup, *, policy_description: str, role_description: str) -> tuple[ManagedPolicy, Role]:
    """The execution role of a custom resource's function: ``statements`` (its own work), then what every
    such function in the VPC needs, its log group and the ENI actions Lambda checks on '*' (VPC_ENI_REASON)."""
    return policy_and_role(
        t, logical, qualifiers, trust(), [
            *statements,
            allow("WriteOwnLogGroup", ["logs:CreateLogStream", "logs:PutLogEvents"], GetAtt(logs, "Arn")),
            allow("VpcNetworkInterfaces", ["ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces",
                                           "ec2:DescribeSubnets", "ec2:DeleteNetworkInterface",
                                           "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"], "*"),
        ],
        policy_description=policy_description,
        role_description=role_description,
        policy_props={"Metadata": {
            **suppressions(checkov={"CKV_AWS_111": VPC_ENI_REASON}),
            "parliament": {"ignore": [{"issue": "RESOURCE_STAR", "actions": ENI_ACTIONS, "reason": VPC_ENI_REASON}]}}},
    )


def custom_resource_function(t: Template, logical: str, qualifier: str, function_name: str, statements: Sequence[dict], *,
                             policy_description: str, role_description: str, description: str, handler: str,
                             code_key: str, checkov: dict[str, str] | None = None, **props: Any) -> Function:
    """A custom resource's function (``<logical>Function``) with its log group and execution role
    (custom_resource_role); CloudFormation is its only caller, which hears of every failure (NO_DLQ)."""
    logs = function_log_group(t, f"{logical}LogGroup", function_name)
    _, role = custom_resource_role(t, logical, [qualifier], statements, logs, policy_description=policy_description,
                                   role_description=role_description)
    return function(t, f"{logical}Function", function_name, description, handler, code_key, role, logs,
                    Metadata=suppressions(checkov={"CKV_AWS_116": NO_DLQ, **(checkov or {})}), **props)


def function_log_group(t: Template, logical: str, function_name: str) -> LogGroup:
    """The function's log group under Lambda's own name, declared (and, through LoggingConfig, created
    before the function) so Lambda never creates it itself unencrypted and without retention."""
    return log_group(t, logical, Sub("/aws/lambda/" + function_name))


def function(t: Template, logical: str, function_name: str, description: str, handler: str, code_key: str,
             role: Any, logs: LogGroup, **props: Any) -> Function:
    return t.add_resource(Function(
        logical,
        FunctionName=Sub(function_name),
        Description=description,
        Runtime=RUNTIME,
        Architectures=ARCHITECTURES,
        Handler=handler,
        Code=Code(S3Bucket=Ref("ArtifactBucketName"), S3Key=Ref(code_key)),
        Role=GetAtt(role, "Arn"),
        KmsKeyArn=Ref("OpsKeyArn"),
        VpcConfig=VPCConfig(SubnetIds=Ref("AppSubnetIds"), SecurityGroupIds=[Ref("LambdaSecurityGroupId")]),
        # The Ref also orders the function after its log group.
        LoggingConfig=LoggingConfig(LogGroup=Ref(logs)),
        Tags=tags(),
        **props,
    ))


#: The parameter of a function's reserved concurrency (0: none) and its condition.
RESERVED_CONCURRENCY = "ReservedConcurrency"
HAS_RESERVED_CONCURRENCY = "HasReservedConcurrency"


def reserved_concurrency(t: Template, default: int, why: str) -> Any:
    """``ReservedConcurrentExecutions`` from a parameter (config: ``lambda_reserved_concurrency``): AWS refuses
    a reservation that leaves the account under 100 unreserved executions, and a new account's quota can be
    10, so the value is the environment's, checked by the preflight against GetAccountSettings; 0 reserves
    nothing (the property is left out)."""
    params.add(t, RESERVED_CONCURRENCY, f"Reserved concurrent executions of the function, 0 for none ({why}). AWS keeps 100 of "
               "the account's executions unreserved: the preflight checks this against the account's quota.",
               params.NUMBER, Default=default, MinValue=0, MaxValue=default)
    t.add_condition(HAS_RESERVED_CONCURRENCY, Not(Equals(Ref(RESERVED_CONCURRENCY), 0)))
    return If(HAS_RESERVED_CONCURRENCY, Ref(RESERVED_CONCURRENCY), NoValue)
