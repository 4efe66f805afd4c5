"""The compute stack's security and resilience properties, one test each, on the committed JSON.

Each test fails when the property it names is removed from templates/compute.py (and
re-rendered): placement without public IPs, the container's hardening, how secrets reach it,
what each role may do, logs, deployment safety and auto scaling.
"""

import json

import pytest

COLOURS = ("Blue", "Green")
OTHER = {"Blue": "Green", "Green": "Blue"}


@pytest.fixture(scope="module")
def res(compute):
    return compute["Resources"]


def container(res, colour):
    (definition,) = res[f"{colour}TaskDefinition"]["Properties"]["ContainerDefinitions"]
    return definition


def service(res, colour):
    return res[f"{colour}Service"]["Properties"]


def statements(res, colour):
    return {s["Sid"]: s for s in res[f"{colour}ExecutionPolicy"]["Properties"]["PolicyDocument"]["Statement"]}


@pytest.mark.parametrize("colour", COLOURS)
def test_service__network__private_app_subnets_without_public_ip(res, colour):
    vpc = service(res, colour)["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert vpc["AssignPublicIp"] == "DISABLED"
    assert vpc["Subnets"] == {"Ref": "AppSubnetIds"}


@pytest.mark.parametrize("colour", COLOURS)
def test_service__security_groups__only_the_app_security_group(res, colour):
    vpc = service(res, colour)["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert vpc["SecurityGroups"] == [{"Ref": "AppSecurityGroupId"}]


@pytest.mark.parametrize("colour", COLOURS)
def test_container__user__non_root(res, colour):
    user = container(res, colour)["User"]
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) >= 1000, user


@pytest.mark.parametrize("colour", COLOURS)
def test_container__root_filesystem__read_only(res, colour):
    assert container(res, colour)["ReadonlyRootFilesystem"] is True


@pytest.mark.parametrize("colour", COLOURS)
def test_container__privileges__not_privileged_and_all_capabilities_dropped(res, colour):
    definition = container(res, colour)
    assert definition["Privileged"] is False
    assert definition["LinuxParameters"]["Capabilities"] == {"Drop": ["ALL"]}


@pytest.mark.parametrize("colour", COLOURS)
def test_container__secrets__injected_from_colour_secret_and_signing_key(res, colour):
    secrets = {s["Name"]: s["ValueFrom"] for s in container(res, colour)["Secrets"]}
    assert secrets["DB_SECRET"] == {"Ref": f"{colour}DbSecretArn"}
    assert secrets["PAYMENT_SIGNING_KEY"]["Fn::Sub"].endswith(
        ":parameter${SsmPrefix}/app/payment-api-signing-key")


@pytest.mark.parametrize("colour", COLOURS)
def test_container__environment__holds_no_secret(res, colour):
    environment = container(res, colour).get("Environment", [])
    text = json.dumps(environment)
    for marker in ("Secret", "secret", "ssm", "SsmPrefix", "signing", "password", "KEY"):
        assert marker not in text, f"{marker!r} in Environment: {environment}"


@pytest.mark.parametrize("colour", COLOURS)
def test_container__logs__awslogs_to_colour_group_in_blocking_mode(res, colour):
    log = container(res, colour)["LogConfiguration"]
    assert log["LogDriver"] == "awslogs"
    assert log["Options"]["awslogs-group"] == {"Ref": f"{colour}LogGroup"}
    assert log["Options"]["mode"] == "blocking"


@pytest.mark.parametrize("colour", COLOURS)
def test_log_group__encryption_and_retention__ops_key_one_year(res, colour):
    group = res[f"{colour}LogGroup"]
    assert group["Properties"]["KmsKeyId"] == {"Ref": "OpsKeyArn"}
    assert group["Properties"]["RetentionInDays"] >= 365
    assert group["DeletionPolicy"] == "Delete"


@pytest.mark.parametrize("colour", COLOURS)
def test_task_definition__fargate__awsvpc_with_both_roles(res, colour):
    props = res[f"{colour}TaskDefinition"]["Properties"]
    assert props["RequiresCompatibilities"] == ["FARGATE"]
    assert props["NetworkMode"] == "awsvpc"
    assert props["ExecutionRoleArn"] == {"Fn::GetAtt": [f"{colour}ExecutionRole", "Arn"]}
    assert props["TaskRoleArn"] == {"Fn::GetAtt": [f"{colour}TaskRole", "Arn"]}


@pytest.mark.parametrize("colour", COLOURS)
def test_execution_role__secrets__only_its_own_colours(res, colour):
    statement = statements(res, colour)["ReadThisColoursDbSecret"]
    assert statement["Action"] == "secretsmanager:GetSecretValue"
    assert statement["Resource"] == {"Ref": f"{colour}DbSecretArn"}
    assert f"{OTHER[colour]}DbSecretArn" not in json.dumps(res[f"{colour}ExecutionPolicy"])


@pytest.mark.parametrize("colour", COLOURS)
def test_execution_role__ssm__only_the_signing_key(res, colour):
    statement = statements(res, colour)["ReadTheSigningKey"]
    assert statement["Action"] == "ssm:GetParameters"
    assert statement["Resource"]["Fn::Sub"].endswith("/app/payment-api-signing-key")


@pytest.mark.parametrize("colour", COLOURS)
def test_execution_role__kms__decrypt_only_through_secretsmanager_and_ssm(res, colour):
    statement = statements(res, colour)["DecryptTheSecretsThroughTheirServices"]
    assert statement["Action"] == "kms:Decrypt"
    assert statement["Resource"] == [{"Ref": "DataKeyArn"}, {"Ref": "OpsKeyArn"}]
    assert statement["Condition"]["StringEquals"]["kms:ViaService"] == [
        {"Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com"}, {"Fn::Sub": "ssm.${AWS::Region}.amazonaws.com"}]


@pytest.mark.parametrize("colour", COLOURS)
def test_execution_role__ecr_and_logs__own_repository_and_log_group_only(res, colour):
    stmts = statements(res, colour)
    assert stmts["PullThisColoursImage"]["Resource"]["Fn::Sub"][1] == {"Repo": {"Ref": f"{colour}ImageRepository"}}
    assert stmts["WriteThisColoursLog"]["Resource"] == {"Fn::GetAtt": [f"{colour}LogGroup", "Arn"]}
    # Only the registry login, which AWS cannot scope, uses "*".
    wildcard = [sid for sid, s in stmts.items() if s["Resource"] == "*"]
    assert wildcard == ["EcrLogin"] and stmts["EcrLogin"]["Action"] == "ecr:GetAuthorizationToken"


@pytest.mark.parametrize("colour", COLOURS)
def test_execution_role__policy__managed_and_attached(res, colour):
    role = res[f"{colour}ExecutionRole"]["Properties"]
    assert role["ManagedPolicyArns"] == [{"Ref": f"{colour}ExecutionPolicy"}]
    assert "Policies" not in role


@pytest.mark.parametrize("colour", COLOURS)
def test_task_role__permissions__none(res, colour):
    role = res[f"{colour}TaskRole"]["Properties"]
    assert "Policies" not in role and "ManagedPolicyArns" not in role
    attached = [k for k, v in res.items() if v["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
                and {"Ref": f"{colour}TaskRole"} in v["Properties"].get("Roles", [])]
    assert attached == []


@pytest.mark.parametrize("role", [f"{c}{kind}" for c in COLOURS for kind in ("ExecutionRole", "TaskRole")])
def test_role__trust__ecs_tasks_of_this_account_only(res, role):
    (statement,) = res[role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert "aws:SourceArn" in statement["Condition"]["ArnLike"]


@pytest.mark.parametrize("colour", COLOURS)
def test_service__deployment__circuit_breaker_rolls_back(res, colour):
    deployment = service(res, colour)["DeploymentConfiguration"]
    assert deployment["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}


@pytest.mark.parametrize("colour", COLOURS)
def test_service__deployment__full_capacity_kept_min_100_max_200(res, colour):
    deployment = service(res, colour)["DeploymentConfiguration"]
    assert (deployment["MinimumHealthyPercent"], deployment["MaximumPercent"]) == (100, 200)


@pytest.mark.parametrize("colour", COLOURS)
def test_service__execute_command__disabled(res, colour):
    assert service(res, colour)["EnableExecuteCommand"] is False


@pytest.mark.parametrize("colour", COLOURS)
def test_service__load_balancer__its_colours_target_group(res, colour):
    (lb,) = service(res, colour)["LoadBalancers"]
    assert lb["TargetGroupArn"] == {"Ref": f"{colour}TargetGroupArn"}
    assert lb["ContainerPort"] == {"Ref": "AppPort"}
    assert lb["ContainerName"] == container(res, colour)["Name"]


def test_cluster__container_insights__enabled(res):
    assert {"Name": "containerInsights", "Value": "enabled"} in res["Cluster"]["Properties"]["ClusterSettings"]


@pytest.mark.parametrize("colour", COLOURS)
def test_scalable_target__capacity__desired_count_to_max(res, colour):
    props = res[f"{colour}ScalableTarget"]["Properties"]
    assert (props["MinCapacity"], props["MaxCapacity"]) == ({"Ref": f"{colour}DesiredCount"}, {"Ref": "MaxTaskCount"})
    assert props["ScalableDimension"] == "ecs:service:DesiredCount"


@pytest.mark.parametrize("colour", COLOURS)
def test_scaling__cpu__target_tracking_on_average_cpu(res, colour):
    config = res[f"{colour}CpuScaling"]["Properties"]["TargetTrackingScalingPolicyConfiguration"]
    assert config["PredefinedMetricSpecification"]["PredefinedMetricType"] == "ECSServiceAverageCPUUtilization"


@pytest.mark.parametrize("colour", COLOURS)
def test_scaling__requests__target_tracking_on_its_target_group(res, colour):
    spec = res[f"{colour}RequestScaling"]["Properties"]["TargetTrackingScalingPolicyConfiguration"][
        "PredefinedMetricSpecification"]
    assert spec["PredefinedMetricType"] == "ALBRequestCountPerTarget"
    assert spec["ResourceLabel"] == {"Fn::Join": ["/", [{"Ref": "LoadBalancerFullName"},
                                                        {"Ref": f"{colour}TargetGroupFullName"}]]}


@pytest.mark.parametrize("colour", COLOURS)
def test_parameters__desired_count__at_least_one_task_per_az(compute, colour):
    assert compute["Parameters"][f"{colour}DesiredCount"]["MinValue"] >= 3


def test_rules__image_tag_latest__refused(compute):
    refused = {a["Assert"]["Fn::Not"][0]["Fn::Equals"][0]["Ref"] for a in compute["Rules"]["ImagesArePinned"]["Assertions"]
               if a["Assert"]["Fn::Not"][0]["Fn::Equals"][1] == "latest"}
    assert refused == {"BlueImageTag", "GreenImageTag"}


def test_outputs__contract__exported(compute):
    for key in ("ClusterName", "BlueServiceName", "GreenServiceName"):
        assert compute["Outputs"][key]["Export"]["Name"] == {"Fn::Sub": "${AWS::StackName}-" + key}


@pytest.mark.parametrize("colour", COLOURS)
def test_container__db_writer_host__both_colours_the_one_movable_writer_name(res, colour):
    environment = {e["Name"]: e["Value"] for e in container(res, colour)["Environment"]}
    assert environment["DB_WRITER_HOST"] == {"Ref": "DbWriterHost"}
