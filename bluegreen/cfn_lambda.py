"""The platform's Lambda functions, built one way: in the VPC, code from the artifact bucket, the
environment encrypted with the ops key, logging to a log group the stack owns.

The automation stack (traffic shifter) and the parameters stack (its custom resource) use them.
"""

from __future__ import annotations

from typing import Any

from troposphere import GetAtt, Ref, Sub, Template
from troposphere.awslambda import Code, Function, LoggingConfig, VPCConfig
from troposphere.logs import LogGroup

from bluegreen import cfn_parameters as params
from bluegreen.cfn import tags
from bluegreen.cfn_iam import service_trust
from bluegreen.cfn_storage import log_group

RUNTIME = "python3.12"
#: The zips' dependencies are built for manylinux2014_x86_64 (bluegreen.lambda_zip).
ARCHITECTURES = ["x86_64"]
#: The EC2 actions with resource-level permissions that Lambda performs with the execution role to
#: attach a function to the VPC (beside DescribeNetworkInterfaces, which has none).
ENI_ACTIONS = ["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface",
               "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"]


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
