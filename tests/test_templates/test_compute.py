"""The compute stack's security and resilience properties, one test each, on the committed JSON.

Each test fails when the property it names is removed from templates/compute.py (and
re-rendered): placement without public IPs, the container's hardening, how secrets reach it,
what each role may do (no master secret, IAM database login as payments_app only), logs,
deployment safety and auto scaling.
"""

import json
from pathlib import Path

import pytest

from tests.test_templates import lookup

COLOURS = ("Blue", "Green")
APP_DB_USER = "payments_app"


def container(resources, colour):
    (definition,) = resources[f"{colour}TaskDefinition"]["Properties"]["ContainerDefinitions"]
    return definition


def service(resources, colour):
    return resources[f"{colour}Service"]["Properties"]


def statements(resources, colour, kind="Execution"):
    return lookup.statements(resources[f"{colour}{kind}Policy"]["Properties"]["PolicyDocument"])


def environment(resources, colour):
    return {e["Name"]: e["Value"] for e in container(resources, colour)["Environment"]}


def role_policies(resources, role):
    """Every policy document that reaches a role: inline, attached managed, or attached from the policy side."""
    props = resources[role]["Properties"]
    documents = [p["PolicyDocument"] for p in props.get("Policies", [])]
    for arn in props.get("ManagedPolicyArns", []):
        assert isinstance(arn, dict) and "Ref" in arn, f"{role}: unexpected managed policy {arn}"
        documents.append(resources[arn["Ref"]]["Properties"]["PolicyDocument"])
    documents += [v["Properties"]["PolicyDocument"] for v in resources.values()
                  if v["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
                  and {"Ref": role} in v["Properties"].get("Roles", [])]
    return documents


def db_user_arn(colour):
    return {"Fn::Sub": ["arn:${AWS::Partition}:rds-db:${AWS::Region}:${AWS::AccountId}:dbuser:${ClusterId}/"
                        + APP_DB_USER, {"ClusterId": {"Ref": f"{colour}ClusterResourceId"}}]}


@pytest.mark.parametrize("colour", COLOURS)
def test_service__network__private_app_subnets_without_public_ip(resources, colour):
    vpc = service(resources, colour)["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert vpc["AssignPublicIp"] == "DISABLED"
    assert vpc["Subnets"] == {"Ref": "AppSubnetIds"}


@pytest.mark.parametrize("colour", COLOURS)
def test_service__security_groups__only_the_app_security_group(resources, colour):
    vpc = service(resources, colour)["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert vpc["SecurityGroups"] == [{"Ref": "AppSecurityGroupId"}]


@pytest.mark.parametrize("colour", COLOURS)
def test_container__user__non_root(resources, colour):
    user = container(resources, colour)["User"]
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) >= 1000, user


@pytest.mark.parametrize("colour", COLOURS)
def test_container__root_filesystem__read_only(resources, colour):
    assert container(resources, colour)["ReadonlyRootFilesystem"] is True


@pytest.mark.parametrize("colour", COLOURS)
def test_container__privileges__not_privileged_and_all_capabilities_dropped(resources, colour):
    definition = container(resources, colour)
    assert definition["Privileged"] is False
    assert definition["LinuxParameters"]["Capabilities"] == {"Drop": ["ALL"]}


@pytest.mark.parametrize("colour", COLOURS)
def test_container__secrets__none_injected_the_task_reads_the_signing_key_itself(resources, colour):
    assert not container(resources, colour).get("Secrets")
    assert environment(resources, colour)["PAYMENT_SIGNING_KEY_SECRET_ARN"] == {"Ref": "SigningKeySecret"}


def test_signing_key__secret_under_the_data_key_generated_and_exported(resources, compute):
    secret = resources["SigningKeySecret"]
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    assert secret["Properties"]["KmsKeyId"] == {"Ref": "DataKeyArn"}
    assert secret["Properties"]["GenerateSecretString"]["PasswordLength"] >= 32
    assert compute["Outputs"]["SigningKeySecretArn"]["Value"] == {"Ref": "SigningKeySecret"}


def test_template__master_secrets__not_even_a_parameter(compute):
    # The master secret is what the fence and DMS log in with; the app must never hold it.
    assert "DbSecretArn" not in json.dumps(compute)


@pytest.mark.parametrize("role", [f"{c}{kind}" for c in COLOURS for kind in ("ExecutionRole", "TaskRole")])
def test_role__secrets_manager__the_task_roles_read_the_signing_key_and_nothing_else(resources, role):
    documents = role_policies(resources, role)
    assert documents, role
    found = []
    for document in documents:
        for statement in document["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert "*" not in actions, statement
            found += [(a, statement["Resource"]) for a in actions if a.lower().startswith("secretsmanager:")]
    expected = [("secretsmanager:GetSecretValue", {"Ref": "SigningKeySecret"})] if role.endswith("TaskRole") else []
    assert found == expected


@pytest.mark.parametrize("colour", COLOURS)
def test_container__db_login__payments_app_with_iam_auth(resources, colour):
    env = environment(resources, colour)
    assert env["DB_USER"] == APP_DB_USER
    assert env["DB_IAM_AUTH"] == "true"


def test_container__db_user__the_user_the_database_stack_names(compute, database):
    assert database["Outputs"]["AppDbUser"]["Value"] == APP_DB_USER
    assert {environment(compute["Resources"], c)["DB_USER"] for c in COLOURS} == {APP_DB_USER}


@pytest.mark.parametrize("colour", COLOURS)
def test_container__db_name_and_port__those_of_both_clusters(compute, database, colour):
    clusters = {(b["Properties"]["DatabaseName"], str(b["Properties"]["Port"]))
                for b in database["Resources"].values() if b["Type"] == "AWS::RDS::DBCluster"}
    env = environment(compute["Resources"], colour)
    assert clusters == {(env["DB_NAME"], env["DB_PORT"])}


@pytest.mark.parametrize("colour", COLOURS)
def test_container__environment__holds_no_secret(resources, colour):
    environment = container(resources, colour).get("Environment", [])
    # TLS_KEY_FILE names where the task writes its own self-signed key at start (a /tmp path, no secret).
    assert all(e["Value"].startswith("/tmp/") for e in environment if e["Name"] == "TLS_KEY_FILE")
    # PAYMENT_SIGNING_KEY_SECRET_ARN names the secret (an ARN); the task role reads the key itself.
    text = json.dumps([e for e in environment if e["Name"] not in ("TLS_KEY_FILE", "PAYMENT_SIGNING_KEY_SECRET_ARN")])
    for marker in ("Secret", "secret", "ssm", "SsmPrefix", "signing", "password", "KEY"):
        assert marker not in text, f"{marker!r} in Environment: {environment}"


@pytest.mark.parametrize("colour", COLOURS)
def test_container__logs__awslogs_to_colour_group_in_blocking_mode(resources, colour):
    log = container(resources, colour)["LogConfiguration"]
    assert log["LogDriver"] == "awslogs"
    assert log["Options"]["awslogs-group"] == {"Ref": f"{colour}LogGroup"}
    assert log["Options"]["mode"] == "blocking"


@pytest.mark.parametrize("colour", COLOURS)
def test_log_group__encryption_and_retention__ops_key_one_year(resources, colour):
    group = resources[f"{colour}LogGroup"]
    assert group["Properties"]["KmsKeyId"] == {"Ref": "OpsKeyArn"}
    assert group["Properties"]["RetentionInDays"] >= 365
    assert group["DeletionPolicy"] == "Delete"


@pytest.mark.parametrize("colour", COLOURS)
def test_task_definition__fargate__awsvpc_with_both_roles(resources, colour):
    props = resources[f"{colour}TaskDefinition"]["Properties"]
    assert props["RequiresCompatibilities"] == ["FARGATE"]
    assert props["NetworkMode"] == "awsvpc"
    assert props["ExecutionRoleArn"] == {"Fn::GetAtt": [f"{colour}ExecutionRole", "Arn"]}
    assert props["TaskRoleArn"] == {"Fn::GetAtt": [f"{colour}TaskRole", "Arn"]}


@pytest.mark.parametrize("colour", COLOURS)
def test_execution_role__statements__exactly_image_and_log(resources, colour):
    # No secret: the signing key is read by the task role, not injected by ECS.
    assert set(statements(resources, colour)) == {"EcrLogin", "PullThisColoursImage", "WriteThisColoursLog"}


@pytest.mark.parametrize("colour", COLOURS)
def test_execution_role__ecr_and_logs__own_repository_and_log_group_only(resources, colour):
    stmts = statements(resources, colour)
    assert stmts["PullThisColoursImage"]["Resource"]["Fn::Sub"][1] == {"Repo": {"Ref": f"{colour}ImageRepository"}}
    assert stmts["WriteThisColoursLog"]["Resource"] == {"Fn::GetAtt": [f"{colour}LogGroup", "Arn"]}
    # Only the registry login, which AWS cannot scope, uses "*".
    wildcard = [sid for sid, s in stmts.items() if s["Resource"] == "*"]
    assert wildcard == ["EcrLogin"] and stmts["EcrLogin"]["Action"] == "ecr:GetAuthorizationToken"


@pytest.mark.parametrize("colour", COLOURS)
def test_execution_role__policy__managed_and_attached(resources, colour):
    role = resources[f"{colour}ExecutionRole"]["Properties"]
    assert role["ManagedPolicyArns"] == [{"Ref": f"{colour}ExecutionPolicy"}]
    assert "Policies" not in role


@pytest.mark.parametrize("colour", COLOURS)
def test_task_role__permissions__only_its_managed_task_policy(resources, colour):
    role = resources[f"{colour}TaskRole"]["Properties"]
    assert role["ManagedPolicyArns"] == [{"Ref": f"{colour}TaskPolicy"}]
    assert "Policies" not in role
    assert len(role_policies(resources, f"{colour}TaskRole")) == 1


@pytest.mark.parametrize("colour", COLOURS)
def test_task_role__rds_db_connect__as_payments_app_to_exactly_both_clusters(resources, colour):
    found = statements(resources, colour, "Task")
    # Beside the login: reading the signing key (and decrypting it only through Secrets Manager), nothing else.
    assert set(found) == {"ConnectAsTheAppUser", "ReadTheSigningKey", "DecryptTheSigningKeyThroughSecretsManager"}
    assert found["DecryptTheSigningKeyThroughSecretsManager"]["Condition"]["StringEquals"]["kms:ViaService"] == {
        "Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com"}
    statement = found["ConnectAsTheAppUser"]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "rds-db:connect"
    assert "Condition" not in statement and "NotResource" not in statement
    # Both clusters: the writer name the task connects through can point at either colour.
    assert statement["Resource"] == [db_user_arn("Blue"), db_user_arn("Green")]


@pytest.mark.parametrize("colour", COLOURS)
def test_task_role__db_user__no_wildcard_user_or_cluster(resources, colour):
    for arn in statements(resources, colour, "Task")["ConnectAsTheAppUser"]["Resource"]:
        text, variables = arn["Fn::Sub"]
        assert "*" not in text and text.endswith(":dbuser:${ClusterId}/" + APP_DB_USER)
        assert variables["ClusterId"]["Ref"] in ("BlueClusterResourceId", "GreenClusterResourceId")


@pytest.mark.parametrize("colour", COLOURS)
def test_cluster_resource_id__parameter__constrained_to_an_aurora_resource_id(compute, colour):
    parameter = compute["Parameters"][f"{colour}ClusterResourceId"]
    assert parameter["AllowedPattern"].startswith("^cluster-") and parameter["AllowedPattern"].endswith("$")


@pytest.mark.parametrize("role", [f"{c}{kind}" for c in COLOURS for kind in ("ExecutionRole", "TaskRole")])
def test_role__trust__ecs_tasks_of_this_account_only(resources, role):
    (statement,) = resources[role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert "aws:SourceArn" in statement["Condition"]["ArnLike"]


@pytest.mark.parametrize("colour", COLOURS)
def test_service__deployment__circuit_breaker_rolls_back(resources, colour):
    deployment = service(resources, colour)["DeploymentConfiguration"]
    assert deployment["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}


@pytest.mark.parametrize("colour", COLOURS)
def test_service__deployment__full_capacity_kept_min_100_max_200(resources, colour):
    deployment = service(resources, colour)["DeploymentConfiguration"]
    assert (deployment["MinimumHealthyPercent"], deployment["MaximumPercent"]) == (100, 200)


@pytest.mark.parametrize("colour", COLOURS)
def test_service__execute_command__disabled(resources, colour):
    assert service(resources, colour)["EnableExecuteCommand"] is False


@pytest.mark.parametrize("colour", COLOURS)
def test_service__load_balancers__its_colours_target_group_in_each_alb(resources, colour):
    # A target group belongs to one ALB: the colour's tasks register once per ALB, so either edge
    # can send traffic to them (a rollback does not wait for DNS).
    lbs = service(resources, colour)["LoadBalancers"]
    assert [lb["TargetGroupArn"] for lb in lbs] == [
        {"Ref": f"BlueAlb{colour}TargetGroupArn"}, {"Ref": f"GreenAlb{colour}TargetGroupArn"}]
    for lb in lbs:
        assert lb["ContainerPort"] == {"Ref": "AppPort"}
        assert lb["ContainerName"] == container(resources, colour)["Name"]


def test_cluster__container_insights__enabled(resources):
    assert {"Name": "containerInsights", "Value": "enabled"} in resources["Cluster"]["Properties"]["ClusterSettings"]


@pytest.mark.parametrize("colour", COLOURS)
def test_scalable_target__capacity__desired_count_to_max(resources, colour):
    props = resources[f"{colour}ScalableTarget"]["Properties"]
    assert (props["MinCapacity"], props["MaxCapacity"]) == ({"Ref": f"{colour}DesiredCount"}, {"Ref": "MaxTaskCount"})
    assert props["ScalableDimension"] == "ecs:service:DesiredCount"


@pytest.mark.parametrize("colour", COLOURS)
def test_scaling__cpu__target_tracking_on_average_cpu(resources, colour):
    config = resources[f"{colour}CpuScaling"]["Properties"]["TargetTrackingScalingPolicyConfiguration"]
    assert config["PredefinedMetricSpecification"]["PredefinedMetricType"] == "ECSServiceAverageCPUUtilization"


@pytest.mark.parametrize("colour", COLOURS)
def test_scaling__requests__target_tracking_on_the_sum_over_both_albs(resources, colour):
    config = resources[f"{colour}RequestScaling"]["Properties"]["TargetTrackingScalingPolicyConfiguration"]
    queries = {q["Id"]: q for q in config["CustomizedMetricSpecification"]["Metrics"]}
    assert [i for i, q in queries.items() if q["ReturnData"]] == ["requests"]
    assert queries["requests"]["Expression"] == "SUM([viablue, viagreen])"
    for edge in ("Blue", "Green"):
        assert queries[f"via{edge.lower()}"]["MetricStat"] == {
            "Metric": {"Namespace": "AWS/ApplicationELB", "MetricName": "RequestCountPerTarget", "Dimensions": [
                {"Name": "LoadBalancer", "Value": {"Ref": f"{edge}LoadBalancerFullName"}},
                {"Name": "TargetGroup", "Value": {"Ref": f"{edge}Alb{colour}TargetGroupFullName"}},
            ]},
            "Stat": "Sum",
        }
    assert config["TargetValue"] == 1000


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
def test_container__db_endpoints__both_clusters_rds_endpoints_no_writer_name(resources, colour):
    env = environment(resources, colour)
    assert env["DB_ENDPOINTS"] == {"Fn::Sub": "blue=${BlueDbEndpoint},green=${GreenDbEndpoint}"}
    assert "DB_WRITER_HOST" not in env  # the service finds the writer through the fence, not a DNS name


def test_container__write_retry_window__covers_the_switchovers_worst_case_pause(resources):
    from traffic_shifter.db import DbConfig
    from traffic_shifter.db.config import pause_budget_seconds

    automation = json.loads((Path(__file__).resolve().parents[2] / "templates" / "automation.json").read_text())
    variables = next(r["Properties"]["Environment"]["Variables"] for r in automation["Resources"].values()
                     if r["Type"] == "AWS::Lambda::Function" and "DMS_TASK_INITIAL_ARN" in r["Properties"].get("Environment", {}).get("Variables", {}))
    drain = float(variables.get("DRAIN_TIMEOUT_SECONDS", DbConfig.drain_timeout_seconds))
    config = DbConfig(*(["x"] * 10), drain_timeout_seconds=drain)
    for colour in COLOURS:
        assert float(environment(resources, colour)["WRITE_RETRY_SECONDS"]) >= pause_budget_seconds(config)
