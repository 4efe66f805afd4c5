"""templates/parameters.json: SSM parameters, and the custom resource for live state and secrets."""

import json

import pytest

PREFIX = "/${Project}/${Environment}-${EnvironmentSuffix}/"
FUNCTION_NAME = "lambda-ssm-parameter-${Environment}-${EnvironmentSuffix}"
PLAIN_PATHS = {
    "shift/plan", "health/max-5xx-percent", "health/max-p99-latency-ms", "health/min-running-tasks",
    "image/blue-tag", "image/green-tag",
}
CUSTOM_PATHS = {"traffic/green-weight", "app/payment-api-signing-key", "db/rds-ca-bundle"}
SHIFT_PLAN = {"steps": [
    {"green_weight": 10, "bake_seconds": 300},
    {"green_weight": 25, "bake_seconds": 300},
    {"green_weight": 50, "bake_seconds": 600},
    {"green_weight": 100, "bake_seconds": 0},
]}


def _of_type(resources, rtype):
    return {k: v["Properties"] for k, v in resources.items() if v["Type"] == rtype}


def _path(name):
    text = name["Fn::Sub"]
    assert text.startswith(PREFIX), text
    return text[len(PREFIX):]


def _by_path(resources, rtype):
    return {_path(props["Name"]): props for props in _of_type(resources, rtype).values()}


# ------------------------------------------------------------------------------------------ parameters
def test_ssm_parameters__names__every_one_under_the_deployment_prefix(resources):
    names = [props["Name"] for rtype in ("AWS::SSM::Parameter", "Custom::SsmParameter")
             for props in _of_type(resources, rtype).values()]
    assert sorted(_path(n) for n in names) == sorted(PLAIN_PATHS | CUSTOM_PATHS)


def test_plain_parameters__paths__configuration_only(resources):
    assert set(_by_path(resources, "AWS::SSM::Parameter")) == PLAIN_PATHS


def test_plain_parameters__type__never_secure_string(resources):
    assert {props["Type"] for props in _of_type(resources, "AWS::SSM::Parameter").values()} == {"String"}


def test_green_weight__owner__custom_resource_that_starts_at_zero(resources):
    props = _by_path(resources, "Custom::SsmParameter")["traffic/green-weight"]
    assert (props["Type"], props["Value"]) == ("String", "0")


def test_signing_key__secure_string__generated_under_the_ops_key_with_no_value_in_the_template(resources):
    props = _by_path(resources, "Custom::SsmParameter")["app/payment-api-signing-key"]
    assert (props["Type"], props["KeyId"]) == ("SecureString", {"Ref": "OpsKeyArn"})
    assert "Value" not in props
    assert props["GeneratedLength"] >= 32


def test_ca_bundle__string_owned_by_the_custom_resource__placeholder_the_switchover_refuses(resources):
    # Owned by the custom resource so a stack update never puts the placeholder back over the
    # bundle an operator loaded; the fence refuses a value without a PEM certificate.
    props = _by_path(resources, "Custom::SsmParameter")["db/rds-ca-bundle"]
    assert props["Type"] == "String"
    assert "BEGIN CERTIFICATE" not in props["Value"]
    assert "us-east-1-bundle.pem" in props["Value"]


def test_ca_bundle__name__exported_for_the_automation_stack(parameters):
    assert parameters["Outputs"]["DbCaBundleParameterName"]["Value"] == {"Ref": "DbCaBundleParameter"}


@pytest.mark.parametrize("path", sorted(CUSTOM_PATHS))
def test_custom_parameters__service_token__the_ssm_parameter_function(resources, path):
    props = _by_path(resources, "Custom::SsmParameter")[path]
    assert props["ServiceToken"] == {"Fn::GetAtt": ["SsmParameterFunction", "Arn"]}


def test_shift_plan__default__the_four_step_plan(parameters, resources):
    assert _by_path(resources, "AWS::SSM::Parameter")["shift/plan"]["Value"] == {"Ref": "ShiftPlan"}
    assert json.loads(parameters["Parameters"]["ShiftPlan"]["Default"]) == SHIFT_PLAN


@pytest.mark.parametrize("path,parameter", [
    ("health/max-5xx-percent", "Max5xxPercent"),
    ("health/max-p99-latency-ms", "MaxP99LatencyMs"),
    ("health/min-running-tasks", "MinRunningTasks"),
    ("image/blue-tag", "BlueImageTag"),
    ("image/green-tag", "GreenImageTag"),
])
def test_plain_parameters__value__from_its_template_parameter(resources, path, parameter):
    assert _by_path(resources, "AWS::SSM::Parameter")[path]["Value"] == {"Ref": parameter}


# ------------------------------------------------------------------------------------------ function
def test_function__logs__own_group_declared_encrypted_and_kept_a_year(resources):
    function = resources["SsmParameterFunction"]["Properties"]
    group = resources["SsmParameterLogGroup"]["Properties"]
    assert function["FunctionName"] == {"Fn::Sub": FUNCTION_NAME}
    assert group["LogGroupName"] == {"Fn::Sub": "/aws/lambda/" + FUNCTION_NAME}
    assert function["LoggingConfig"] == {"LogGroup": {"Ref": "SsmParameterLogGroup"}}
    assert group["KmsKeyId"] == {"Ref": "OpsKeyArn"}
    assert group["RetentionInDays"] >= 365


def test_function__network__app_subnets_behind_the_lambda_group(resources):
    assert resources["SsmParameterFunction"]["Properties"]["VpcConfig"] == {
        "SubnetIds": {"Ref": "AppSubnetIds"}, "SecurityGroupIds": [{"Ref": "LambdaSecurityGroupId"}],
    }


def test_function__environment_encryption__ops_key(resources):
    assert resources["SsmParameterFunction"]["Properties"]["KmsKeyArn"] == {"Ref": "OpsKeyArn"}


def test_function__concurrency__reserved_and_small(resources):
    assert resources["SsmParameterFunction"]["Properties"]["ReservedConcurrentExecutions"] == {
        "Fn::If": ["HasReservedConcurrency", {"Ref": "ReservedConcurrency"}, {"Ref": "AWS::NoValue"}]}


def test_function__code__the_hashed_package_in_the_artifact_bucket(parameters, resources):
    assert resources["SsmParameterFunction"]["Properties"]["Code"] == {
        "S3Bucket": {"Ref": "ArtifactBucketName"}, "S3Key": {"Ref": "SsmParameterCodeKey"},
    }
    assert parameters["Parameters"]["SsmParameterCodeKey"]["AllowedPattern"] == r"^lambda/ssm_parameter/[0-9a-f]{64}\.zip$"


def test_function_role__trust__lambda_only(resources):
    role = resources["SsmParameterRole"]["Properties"]
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert role["ManagedPolicyArns"] == [{"Ref": "SsmParameterPolicy"}]
    assert "Policies" not in role


def test_function_policy__statements__exactly_what_the_function_needs(resources):
    statements = resources["SsmParameterPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statements == [
        {
            "Sid": "ManageParametersUnderPrefix",
            "Effect": "Allow",
            "Action": ["ssm:PutParameter", "ssm:GetParameter", "ssm:DeleteParameter", "ssm:AddTagsToResource"],
            "Resource": {"Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter"
                                    + PREFIX + "*"},
        },
        {
            "Sid": "EncryptSecureStringsWithOpsKey",
            "Effect": "Allow",
            "Action": ["kms:Encrypt", "kms:GenerateDataKey"],
            "Resource": {"Ref": "OpsKeyArn"},
            "Condition": {"StringEquals": {"kms:ViaService": {"Fn::Sub": "ssm.${AWS::Region}.amazonaws.com"}}},
        },
        {
            "Sid": "WriteOwnLogGroup",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": {"Fn::GetAtt": ["SsmParameterLogGroup", "Arn"]},
        },
        {
            "Sid": "VpcNetworkInterfaces",
            "Effect": "Allow",
            "Action": ["ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
                       "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"],
            "Resource": "*",
        },
    ]


def test_function_policy__kms__never_decrypt(resources):
    actions = [a for s in resources["SsmParameterPolicy"]["Properties"]["PolicyDocument"]["Statement"] for a in s["Action"]]
    assert not [a for a in actions if a.startswith("kms:Decrypt") or a == "kms:*"]


# ------------------------------------------------------------------------------------------ outputs
@pytest.mark.parametrize("key,value", [
    ("SsmPrefix", {"Fn::Sub": PREFIX.rstrip("/")}),
    ("GreenWeightParameterName", {"Ref": "GreenWeightParameter"}),
    ("ShiftPlanParameterName", {"Ref": "ShiftPlanParameter"}),
])
def test_outputs__stack_contract__exported_under_the_stack_name(parameters, key, value):
    assert parameters["Outputs"][key]["Value"] == value
    assert parameters["Outputs"][key]["Export"]["Name"] == {"Fn::Sub": f"${{AWS::StackName}}-{key}"}
