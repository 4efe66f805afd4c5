"""The database stack's security and resilience properties, one test each, on the committed JSON.

Every test names the property it guards and fails when that property is removed from
templates/database.py (and re-rendered): encryption and its key, network placement, TLS,
binlog, audit logging, IAM authentication, deletion protection, credentials, rotation,
Multi-AZ, monitoring, alarms and the outputs other stacks consume.
"""

import re

import pytest

from tests.test_templates.lookup import of_type

COLOURS = ("Blue", "Green")
SECRETS_TRANSFORMS = {"AWS::SecretsManager-2020-07-23", "AWS::SecretsManager-2024-09-16"}


@pytest.fixture(scope="module")
def cluster_params(database):
    (group,) = of_type(database, "AWS::RDS::DBClusterParameterGroup").values()
    return group["Properties"]["Parameters"]


def cluster(resources, colour):
    return resources[f"{colour}Cluster"]["Properties"]


def members(database, colour):
    """The instances of one colour's cluster, in template order."""
    return [
        body["Properties"] for body in of_type(database, "AWS::RDS::DBInstance").values()
        if body["Properties"]["DBClusterIdentifier"] == {"Ref": f"{colour}Cluster"}
    ]


# ---------------------------------------------------------------- encryption
@pytest.mark.parametrize("colour", COLOURS)
def test_cluster__storage__encrypted_with_the_data_key(resources, colour):
    props = cluster(resources, colour)
    assert props["StorageEncrypted"] is True
    assert props["KmsKeyId"] == {"Ref": "DataKeyArn"}


@pytest.mark.parametrize("colour", COLOURS)
def test_instances__performance_insights__on_and_encrypted_with_the_data_key(database, colour):
    for props in members(database, colour):
        assert props["EnablePerformanceInsights"] is True
        assert props["PerformanceInsightsKMSKeyId"] == {"Ref": "DataKeyArn"}


def test_log_groups__every_one__encrypted_with_the_ops_key_for_a_year(database):
    groups = of_type(database, "AWS::Logs::LogGroup").values()
    assert groups
    for group in groups:
        assert group["Properties"]["KmsKeyId"] == {"Ref": "OpsKeyArn"}
        assert group["Properties"]["RetentionInDays"] >= 365


# ---------------------------------------------------------------- network placement
@pytest.mark.parametrize("colour", COLOURS)
def test_cluster__security_group__only_the_network_stacks_db_group(resources, colour):
    assert cluster(resources, colour)["VpcSecurityGroupIds"] == [{"Ref": "DbSecurityGroupId"}]


@pytest.mark.parametrize("colour", COLOURS)
def test_cluster__subnets__the_private_db_subnets(database, resources, colour):
    group_ref = cluster(resources, colour)["DBSubnetGroupName"]
    group = resources[group_ref["Ref"]]
    assert group["Type"] == "AWS::RDS::DBSubnetGroup"
    assert group["Properties"]["SubnetIds"] == {"Ref": "DbSubnetIds"}
    assert database["Parameters"]["DbSubnetIds"]["Type"] == "List<AWS::EC2::Subnet::Id>"


@pytest.mark.parametrize("colour", COLOURS)
def test_instances__publicly_accessible__false(database, colour):
    for props in members(database, colour):
        assert props["PubliclyAccessible"] is False


@pytest.mark.parametrize("colour", COLOURS)
def test_cluster__multi_az__writer_and_reader_pinned_to_different_azs(database, colour):
    instances = members(database, colour)
    assert len(instances) >= 2
    azs = [props["AvailabilityZone"] for props in instances]
    for az in azs:
        assert az["Fn::Select"][1] == {"Fn::GetAZs": {"Ref": "AWS::Region"}}
    assert len({az["Fn::Select"][0] for az in azs}) == len(azs), f"instances share an AZ: {azs}"
    assert sorted(props["PromotionTier"] for props in instances) == list(range(len(instances)))


# ---------------------------------------------------------------- engine settings
def test_parameter_group__require_secure_transport__on(cluster_params):
    assert cluster_params["require_secure_transport"] == "ON"


def test_parameter_group__tls_version__only_1_2_and_newer(cluster_params):
    versions = set(cluster_params["tls_version"].split(","))
    assert versions and versions <= {"TLSv1.2", "TLSv1.3"}


def test_parameter_group__binlog_format__row_with_full_images(cluster_params):
    assert cluster_params["binlog_format"] == "ROW"
    assert cluster_params["binlog_row_image"] == "full"


def test_parameter_group__audit_logging__on_for_connections_privileges_and_schema(cluster_params):
    assert cluster_params["server_audit_logging"] == "1"
    events = set(cluster_params["server_audit_events"].split(","))
    assert {"CONNECT", "QUERY_DCL", "QUERY_DDL"} <= events


def test_parameter_group__audit_events__never_record_dml_statement_text(cluster_params):
    # Statement text of INSERT/UPDATE/SELECT carries card data: it must not reach the audit log.
    events = set(cluster_params["server_audit_events"].split(","))
    assert not events & {"QUERY", "QUERY_DML", "TABLE"}


def test_parameter_group__slow_query_log__on_so_the_export_has_content(cluster_params):
    assert cluster_params["slow_query_log"] == "1"
    assert cluster_params["log_output"] == "FILE"


@pytest.mark.parametrize("colour", COLOURS)
def test_cluster__parameter_group__the_shared_hardened_group(database, resources, colour):
    (logical,) = of_type(database, "AWS::RDS::DBClusterParameterGroup")
    assert cluster(resources, colour)["DBClusterParameterGroupName"] == {"Ref": logical}


@pytest.mark.parametrize("colour", COLOURS)
def test_cluster__log_exports__audit_error_and_slowquery(resources, colour):
    assert set(cluster(resources, colour)["EnableCloudwatchLogsExports"]) == {"audit", "error", "slowquery"}


@pytest.mark.parametrize("colour", COLOURS)
def test_cluster__exported_logs__go_to_precreated_encrypted_groups(resources, colour):
    props = cluster(resources, colour)
    names = {resources[d]["Properties"]["LogGroupName"]["Fn::Sub"] for d in resources[f"{colour}Cluster"]["DependsOn"]
             if resources[d]["Type"] == "AWS::Logs::LogGroup"}
    cluster_id = props["DBClusterIdentifier"]["Fn::Sub"]
    assert names == {f"/aws/rds/cluster/{cluster_id}/{kind}" for kind in props["EnableCloudwatchLogsExports"]}


@pytest.mark.parametrize("colour", COLOURS)
def test_cluster__iam_database_authentication__enabled(resources, colour):
    assert cluster(resources, colour)["EnableIAMDatabaseAuthentication"] is True


@pytest.mark.parametrize("colour", COLOURS)
def test_cluster__deletion_protection__follows_the_parameter(resources, colour):
    assert cluster(resources, colour)["DeletionProtection"] == {"Ref": "DeletionProtection"}


def test_deletion_protection_parameter__default__on(database):
    param = database["Parameters"]["DeletionProtection"]
    assert param["Default"] == "true"
    assert param["AllowedValues"] == ["true", "false"]


@pytest.mark.parametrize("colour", COLOURS)
def test_cluster__point_in_time_restore__retention_from_parameter_and_no_backtrack(database, resources, colour):
    props = cluster(resources, colour)
    assert props["BackupRetentionPeriod"] == {"Ref": "BackupRetentionDays"}
    assert database["Parameters"]["BackupRetentionDays"]["MinValue"] >= 1
    # Backtrack rewinds without binlog events, which DMS cannot replicate.
    assert "BacktrackWindow" not in props


@pytest.mark.parametrize("colour", COLOURS)
def test_cluster__copy_tags_to_snapshot__true(resources, colour):
    assert cluster(resources, colour)["CopyTagsToSnapshot"] is True


@pytest.mark.parametrize("colour", COLOURS)
def test_instances__auto_minor_version_upgrade__true(database, colour):
    for props in members(database, colour):
        assert props["AutoMinorVersionUpgrade"] is True


@pytest.mark.parametrize("colour", COLOURS)
def test_instances__enhanced_monitoring__on_with_the_monitoring_role(database, resources, colour):
    for props in members(database, colour):
        assert props["MonitoringInterval"] == {"Ref": "MonitoringIntervalSeconds"}
        role = resources[props["MonitoringRoleArn"]["Fn::GetAtt"][0]]["Properties"]
        assert role["ManagedPolicyArns"] == [
            {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"}]
        (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Principal"] == {"Service": "monitoring.rds.amazonaws.com"}
    assert "0" not in database["Parameters"]["MonitoringIntervalSeconds"]["AllowedValues"]


# ---------------------------------------------------------------- credentials and rotation
@pytest.mark.parametrize("colour", COLOURS)
@pytest.mark.parametrize("prop,field", [("MasterUsername", "username"), ("MasterUserPassword", "password")])
def test_cluster__master_credentials__dynamic_reference_to_its_own_secret(resources, colour, prop, field):
    value = cluster(resources, colour)[prop]
    assert value == {"Fn::Sub": f"{{{{resolve:secretsmanager:${{{colour}DbSecretArn}}:SecretString:{field}}}}}"}


def test_template__passwords__never_a_parameter_or_literal(database):
    assert not [p for p in database["Parameters"] if re.search("password|username", p, re.I)]
    for logical, body in of_type(database, "AWS::RDS::DBCluster").items():
        assert "ManageMasterUserPassword" not in body["Properties"], logical
        assert isinstance(body["Properties"]["MasterUserPassword"], dict), logical


@pytest.mark.parametrize("colour", COLOURS)
def test_secret_attachment__each_secret__attached_to_its_cluster(database, colour):
    attachments = [b["Properties"] for b in of_type(database, "AWS::SecretsManager::SecretTargetAttachment").values()
                   if b["Properties"]["SecretId"] == {"Ref": f"{colour}DbSecretArn"}]
    assert attachments == [{"SecretId": {"Ref": f"{colour}DbSecretArn"},
                            "TargetId": {"Ref": f"{colour}Cluster"},
                            "TargetType": "AWS::RDS::DBCluster"}]


def test_template__transform__secrets_manager_hosted_rotation(database):
    assert database["Transform"] in SECRETS_TRANSFORMS


@pytest.mark.parametrize("colour", COLOURS)
def test_rotation__schedule__every_30_days(database, colour):
    (schedule,) = [b for b in of_type(database, "AWS::SecretsManager::RotationSchedule").values()
                   if b["Properties"]["SecretId"] == {"Ref": f"{colour}DbSecretArn"}]
    assert schedule["Properties"]["RotationRules"] == {"AutomaticallyAfterDays": 30}


@pytest.mark.parametrize("colour", COLOURS)
def test_rotation__function__hosted_single_user_inside_the_vpc_with_the_data_key(database, colour):
    (schedule,) = [b for b in of_type(database, "AWS::SecretsManager::RotationSchedule").values()
                   if b["Properties"]["SecretId"] == {"Ref": f"{colour}DbSecretArn"}]
    hosted = schedule["Properties"]["HostedRotationLambda"]
    assert hosted["RotationType"] == "MySQLSingleUser"
    assert hosted["VpcSubnetIds"] == {"Fn::Join": [",", {"Ref": "DbSubnetIds"}]}
    assert hosted["VpcSecurityGroupIds"] == {"Ref": "RotationSecurityGroupId"}
    assert hosted["KmsKeyArn"] == {"Ref": "DataKeyArn"}
    assert f"{colour}SecretAttachment" in schedule["DependsOn"]


@pytest.mark.parametrize("colour", COLOURS)
def test_rotation__function_logs__precreated_encrypted_group(database, colour):
    (schedule,) = [b for b in of_type(database, "AWS::SecretsManager::RotationSchedule").values()
                   if b["Properties"]["SecretId"] == {"Ref": f"{colour}DbSecretArn"}]
    function = schedule["Properties"]["HostedRotationLambda"]["RotationLambdaName"]["Fn::Sub"]
    groups = {b["Properties"]["LogGroupName"]["Fn::Sub"]: b for b in of_type(database, "AWS::Logs::LogGroup").values()}
    assert f"/aws/lambda/{function}" in groups


# ---------------------------------------------------------------- alarms
@pytest.mark.parametrize("colour", COLOURS)
def test_replica_lag_alarm__per_cluster__aurora_replica_lag_in_seconds_against_the_parameter(resources, colour):
    alarm = resources[f"{colour}ReplicaLagAlarm"]["Properties"]
    stat = next(q["MetricStat"] for q in alarm["Metrics"] if "MetricStat" in q)
    assert stat["Metric"]["MetricName"] == "AuroraReplicaLag"
    assert stat["Metric"]["Dimensions"] == [{"Name": "DBClusterIdentifier", "Value": {"Ref": f"{colour}Cluster"}}]
    (returned,) = [q for q in alarm["Metrics"] if q.get("ReturnData", True)]
    assert returned["Expression"] == f"{next(q['Id'] for q in alarm['Metrics'] if 'MetricStat' in q)} / 1000"
    assert alarm["Threshold"] == {"Ref": "ReplicaLagThresholdSeconds"}
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"


@pytest.mark.parametrize("colour", COLOURS)
def test_replica_lag_alarm__missing_data__breaching(resources, colour):
    assert resources[f"{colour}ReplicaLagAlarm"]["Properties"]["TreatMissingData"] == "breaching"


@pytest.mark.parametrize("colour", COLOURS)
def test_replica_lag_alarm__name__alarm_what_env_suffix(resources, colour):
    name = resources[f"{colour}ReplicaLagAlarm"]["Properties"]["AlarmName"]["Fn::Sub"]
    assert name == f"alarm-replica-lag-{colour.lower()}-${{Environment}}-${{EnvironmentSuffix}}"


def test_outputs__replica_lag_alarm_names__both_alarms_comma_joined(database):
    value = database["Outputs"]["ReplicaLagAlarmNames"]["Value"]
    assert value == {"Fn::Join": [",", [{"Ref": "BlueReplicaLagAlarm"}, {"Ref": "GreenReplicaLagAlarm"}]]}


# ---------------------------------------------------------------- contract
CONTRACT_OUTPUTS = ["BlueClusterIdentifier", "GreenClusterIdentifier", "BlueClusterArn", "GreenClusterArn",
                    "BlueWriterEndpoint", "GreenWriterEndpoint", "ReplicaLagAlarmNames",
                    "BlueClusterResourceId", "GreenClusterResourceId", "AppDbUser"]


@pytest.mark.parametrize("output", CONTRACT_OUTPUTS)
def test_outputs__stack_contract__exported_under_the_stack_name(database, output):
    assert database["Outputs"][output]["Export"]["Name"] == {"Fn::Sub": f"${{AWS::StackName}}-{output}"}


@pytest.mark.parametrize("colour", COLOURS)
def test_outputs__cluster_resource_id__the_clusters_own_for_rds_db_connect(database, colour):
    # rds-db:connect names a cluster by its resource ID; another colour's ID would let a task in elsewhere.
    assert database["Outputs"][f"{colour}ClusterResourceId"]["Value"] == {
        "Fn::GetAtt": [f"{colour}Cluster", "DBClusterResourceId"]}


def test_outputs__app_db_user__payments_app_the_fence_revokes(database):
    assert database["Outputs"]["AppDbUser"]["Value"] == "payments_app"
