"""CloudFormation engine fixes: nested stacks, failures, dynamic references, EC2/ELBv2/KMS/SSM models."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from .parts import kms_key, network

pytestmark = pytest.mark.emulator

CHILD = {
    "Parameters": {"Suffix": {"Type": "String"}},
    "Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Fn::Sub": "orders-${Suffix}"}}}},
    "Outputs": {"QueueName": {"Value": {"Fn::GetAtt": ["Queue", "QueueName"]}}, "QueueUrl": {"Value": {"Ref": "Queue"}}},
}


def parent_template(bucket: str, suffix: str) -> dict:
    return {
        "Resources": {
            "Child": {
                "Type": "AWS::CloudFormation::Stack",
                "Properties": {"TemplateURL": f"https://{bucket}.s3.amazonaws.com/child.json", "Parameters": {"Suffix": suffix}},
            },
            "Pointer": {
                "Type": "AWS::SSM::Parameter",
                "Properties": {"Type": "String", "Value": {"Fn::GetAtt": ["Child", "Outputs.QueueName"]}},
            },
        },
        "Outputs": {
            "ChildStack": {"Value": {"Ref": "Child"}},
            "QueueUrl": {"Value": {"Fn::GetAtt": ["Child", "Outputs.QueueUrl"]}},
        },
    }


@pytest.fixture
def template_bucket(emulator, stacks):
    bucket = stacks.unique("templates")
    s3 = emulator.client("s3")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="child.json", Body=json.dumps(CHILD).encode())
    return bucket


def test_nested_stack__getatt_child_outputs__resolved_in_parent(emulator, stacks, template_bucket):
    deployed = stacks.create(parent_template(template_bucket, "a1"))

    child = emulator.client("cloudformation").describe_stacks(StackName=deployed.outputs["ChildStack"])["Stacks"][0]
    pointer = emulator.client("ssm").get_parameter(Name=deployed.resources["Pointer"])["Parameter"]["Value"]

    assert deployed.outputs["ChildStack"].startswith("arn:aws:cloudformation:us-east-1:")
    assert child["StackStatus"] == "CREATE_COMPLETE"
    assert pointer == "orders-a1"
    assert deployed.outputs["QueueUrl"].endswith("/orders-a1")


def test_nested_stack__parameter_changed__child_updated_in_place(emulator, stacks, template_bucket):
    name = stacks.unique("parent")
    deployed = stacks.create(parent_template(template_bucket, "a1"), name=name)

    updated = stacks.update(name, parent_template(template_bucket, "b2"))

    child = emulator.client("cloudformation").describe_stacks(StackName=updated.outputs["ChildStack"])["Stacks"][0]
    assert updated.outputs["ChildStack"] == deployed.outputs["ChildStack"]
    assert child["StackStatus"] == "UPDATE_COMPLETE"
    assert emulator.client("ssm").get_parameter(Name=updated.resources["Pointer"])["Parameter"]["Value"] == "orders-b2"


def test_nested_stack__parent_deleted__child_and_its_queue_gone(emulator, stacks, template_bucket):
    deployed = stacks.create(parent_template(template_bucket, "c3"))

    stacks.delete(deployed)

    child = emulator.client("cloudformation").describe_stacks(StackName=deployed.outputs["ChildStack"])["Stacks"][0]
    assert child["StackStatus"] == "DELETE_COMPLETE"
    with pytest.raises(ClientError, match="NonExistentQueue|QueueDoesNotExist"):
        emulator.client("sqs").get_queue_url(QueueName="orders-c3")


def test_create__resource_fails__rollback_complete_with_reason_and_nothing_left(emulator, stacks):
    template = {
        "Resources": {
            "First": {"Type": "AWS::SSM::Parameter", "Properties": {"Name": f"/{stacks.unique('p')}", "Type": "String", "Value": "x"}},
            "Broken": {"Type": "AWS::RDS::DBCluster", "DependsOn": "First",
                       "Properties": {"Engine": "no-such-engine", "MasterUsername": "a", "MasterUserPassword": "password123"}},
        }
    }
    name = template["Resources"]["First"]["Properties"]["Name"]

    deployed = stacks.create(template, expect="ROLLBACK_COMPLETE")

    reasons = stacks.failure_reasons(deployed.stack_id)
    assert any(r.startswith("Broken: CREATE_FAILED: ") and "no-such-engine" in r for r in reasons), reasons
    with pytest.raises(ClientError, match="ParameterNotFound"):
        emulator.client("ssm").get_parameter(Name=name)


def test_dynamic_references__ssm_and_secretsmanager__resolved_in_properties(emulator, stacks):
    ssm = emulator.client("ssm")
    sm = emulator.client("secretsmanager")
    source = f"/{stacks.unique('src')}"
    ssm.put_parameter(Name=source, Value="from-ssm", Type="String")
    secret = sm.create_secret(Name=stacks.unique("sec"), SecretString=json.dumps({"password": "s3cr3t"}))["ARN"]
    template = {"Resources": {
        "FromSsm": {"Type": "AWS::SSM::Parameter", "Properties": {"Type": "String", "Value": f"{{{{resolve:ssm:{source}}}}}"}},
        "FromSecret": {"Type": "AWS::SSM::Parameter", "Properties": {
            "Type": "String", "Value": f"pw={{{{resolve:secretsmanager:{secret}:SecretString:password}}}}"}},
    }}

    deployed = stacks.create(template)

    assert ssm.get_parameter(Name=deployed.resources["FromSsm"])["Parameter"]["Value"] == "from-ssm"
    assert ssm.get_parameter(Name=deployed.resources["FromSecret"])["Parameter"]["Value"] == "pw=s3cr3t"


def test_kms_key__key_policy_object__describable_and_pending_deletion_after_delete(emulator, stacks):
    deployed = stacks.create({"Resources": {"Key": kms_key("data")}, "Outputs": {"Arn": {"Value": {"Fn::GetAtt": ["Key", "Arn"]}}}})
    kms = emulator.client("kms")

    metadata = kms.describe_key(KeyId=deployed.resources["Key"])["KeyMetadata"]
    policy = json.loads(kms.get_key_policy(KeyId=deployed.resources["Key"], PolicyName="default")["Policy"])
    rotation = kms.get_key_rotation_status(KeyId=deployed.resources["Key"])["KeyRotationEnabled"]
    stacks.delete(deployed)

    assert metadata["Arn"] == deployed.outputs["Arn"] and metadata["Description"] == "data"
    assert policy["Statement"][0]["Action"] == "kms:*"
    assert rotation is True
    assert kms.describe_key(KeyId=deployed.resources["Key"])["KeyMetadata"]["KeyState"] == "PendingDeletion"


def vpc_endpoints_template(with_route_table: bool) -> dict:
    gateway = {"VpcId": {"Ref": "Vpc"}, "ServiceName": "com.amazonaws.us-east-1.s3"}
    if with_route_table:
        gateway["RouteTableIds"] = [{"Ref": "Routes"}]
    return {"Resources": {
        **network("10.51"),
        "Routes": {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": {"Ref": "Vpc"}}},
        "Sg": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "endpoints", "VpcId": {"Ref": "Vpc"}}},
        "S3Gateway": {"Type": "AWS::EC2::VPCEndpoint", "Properties": gateway},
        "SecretsInterface": {"Type": "AWS::EC2::VPCEndpoint", "Properties": {
            "VpcId": {"Ref": "Vpc"}, "ServiceName": "com.amazonaws.us-east-1.secretsmanager", "VpcEndpointType": "Interface",
            "SubnetIds": [{"Ref": "SubnetA"}, {"Ref": "SubnetB"}], "SecurityGroupIds": [{"Ref": "Sg"}], "PrivateDnsEnabled": True,
            "PolicyDocument": {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}}},
    }}


def test_vpc_endpoint__gateway_without_route_tables__created(emulator, stacks):
    deployed = stacks.create(vpc_endpoints_template(with_route_table=False))
    ec2 = emulator.client("ec2")

    endpoints = {e["VpcEndpointId"]: e for e in ec2.describe_vpc_endpoints(
        VpcEndpointIds=[deployed.resources["S3Gateway"], deployed.resources["SecretsInterface"]])["VpcEndpoints"]}

    gateway, interface = endpoints[deployed.resources["S3Gateway"]], endpoints[deployed.resources["SecretsInterface"]]
    assert gateway["VpcEndpointType"] == "Gateway" and gateway["RouteTableIds"] == []
    assert interface["VpcEndpointType"] == "Interface" and len(interface["NetworkInterfaceIds"]) == 2
    assert json.loads(interface["PolicyDocument"])["Statement"][0]["Action"] == "secretsmanager:GetSecretValue"


def test_vpc_endpoint__route_table_added__modified_in_place_then_deleted_with_stack(emulator, stacks):
    name = stacks.unique("vpce")
    deployed = stacks.create(vpc_endpoints_template(with_route_table=False), name=name)
    ec2 = emulator.client("ec2")

    updated = stacks.update(name, vpc_endpoints_template(with_route_table=True))
    gateway = ec2.describe_vpc_endpoints(VpcEndpointIds=[updated.resources["S3Gateway"]])["VpcEndpoints"][0]
    stacks.delete(updated)

    assert updated.resources["S3Gateway"] == deployed.resources["S3Gateway"]
    assert gateway["RouteTableIds"] == [updated.resources["Routes"]]
    remaining = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [deployed.resources["Vpc"]]}])["VpcEndpoints"]
    assert remaining == []
    assert ec2.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [deployed.resources["Vpc"]]}])["Vpcs"] == []


def alb_template(blue: int, green: int) -> dict:
    return {"Resources": {
        **network("10.61"),
        "Sg": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "alb", "VpcId": {"Ref": "Vpc"}}},
        "Alb": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer", "Properties": {
            "Subnets": [{"Ref": "SubnetA"}, {"Ref": "SubnetB"}], "SecurityGroups": [{"Ref": "Sg"}]}},
        "Blue": {"Type": "AWS::ElasticLoadBalancingV2::TargetGroup", "Properties": {
            "VpcId": {"Ref": "Vpc"}, "Port": 8080, "Protocol": "HTTP", "TargetType": "ip"}},
        "Green": {"Type": "AWS::ElasticLoadBalancingV2::TargetGroup", "Properties": {
            "VpcId": {"Ref": "Vpc"}, "Port": 8080, "Protocol": "HTTP", "TargetType": "ip"}},
        "Listener": {"Type": "AWS::ElasticLoadBalancingV2::Listener", "Properties": {
            "LoadBalancerArn": {"Ref": "Alb"}, "Port": 80, "Protocol": "HTTP",
            "DefaultActions": [{"Type": "forward", "ForwardConfig": {"TargetGroups": [
                {"TargetGroupArn": {"Ref": "Blue"}, "Weight": blue}, {"TargetGroupArn": {"Ref": "Green"}, "Weight": green}]}}]}},
    }, "Outputs": {
        "ZoneId": {"Value": {"Fn::GetAtt": ["Alb", "CanonicalHostedZoneID"]}},
        "AlbFullName": {"Value": {"Fn::GetAtt": ["Alb", "LoadBalancerFullName"]}},
        "GreenFullName": {"Value": {"Fn::GetAtt": ["Green", "TargetGroupFullName"]}},
    }}


def _weights(emulator, listener_arn: str) -> dict[str, int]:
    listener = emulator.client("elbv2").describe_listeners(ListenerArns=[listener_arn])["Listeners"][0]
    groups = listener["DefaultActions"][0]["ForwardConfig"]["TargetGroups"]
    return {g["TargetGroupArn"]: g["Weight"] for g in groups}


def test_listener__weighted_forward_config__weights_in_elbv2_and_shift_updates_them(emulator, stacks):
    name = stacks.unique("alb")
    deployed = stacks.create(alb_template(blue=90, green=10), name=name)
    r = deployed.resources
    before = _weights(emulator, r["Listener"])

    updated = stacks.update(name, alb_template(blue=50, green=50))

    assert before == {r["Blue"]: 90, r["Green"]: 10}
    assert _weights(emulator, updated.resources["Listener"]) == {r["Blue"]: 50, r["Green"]: 50}
    assert deployed.outputs["ZoneId"] == "Z35SXDOTRQ7X7K"
    assert deployed.outputs["AlbFullName"].startswith("app/") and deployed.outputs["GreenFullName"].startswith("targetgroup/")


def test_network_and_alb__stack_deleted__no_leftovers_and_vpc_gone(emulator, stacks):
    template = alb_template(blue=100, green=0)
    template["Resources"].update({
        "Igw": {"Type": "AWS::EC2::InternetGateway"},
        "Attach": {"Type": "AWS::EC2::VPCGatewayAttachment", "Properties": {"VpcId": {"Ref": "Vpc"}, "InternetGatewayId": {"Ref": "Igw"}}},
        "Eip": {"Type": "AWS::EC2::EIP", "Properties": {"Domain": "vpc"}},
        "Nat": {"Type": "AWS::EC2::NatGateway", "Properties": {"SubnetId": {"Ref": "SubnetA"}, "AllocationId": {"Fn::GetAtt": ["Eip", "AllocationId"]}}},
        "Routes": {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": {"Ref": "Vpc"}}},
        "Default": {"Type": "AWS::EC2::Route", "DependsOn": "Attach", "Properties": {
            "RouteTableId": {"Ref": "Routes"}, "DestinationCidrBlock": "0.0.0.0/0", "GatewayId": {"Ref": "Igw"}}},
        "Assoc": {"Type": "AWS::EC2::SubnetRouteTableAssociation", "Properties": {"SubnetId": {"Ref": "SubnetA"}, "RouteTableId": {"Ref": "Routes"}}},
        "Cluster": {"Type": "AWS::ECS::Cluster"},
    })
    deployed = stacks.create(template)
    ec2 = emulator.client("ec2")
    r = deployed.resources
    associated = ec2.describe_route_tables(RouteTableIds=[r["Routes"]])["RouteTables"][0]["Associations"]

    stacks.delete(deployed)

    assert [a["SubnetId"] for a in associated] == [r["SubnetA"]]
    assert ec2.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [r["Vpc"]]}])["Vpcs"] == []
    assert ec2.describe_internet_gateways(Filters=[{"Name": "internet-gateway-id", "Values": [r["Igw"]]}])["InternetGateways"] == []
    assert ec2.describe_addresses(Filters=[{"Name": "public-ip", "Values": [r["Eip"]]}])["Addresses"] == []
    assert [n for n in ec2.describe_nat_gateways()["NatGateways"] if n["NatGatewayId"] == r["Nat"]] == []
    assert emulator.client("elbv2").describe_target_groups()["TargetGroups"] == [] or r["Blue"] not in [
        t["TargetGroupArn"] for t in emulator.client("elbv2").describe_target_groups()["TargetGroups"]]
    clusters = emulator.client("ecs").describe_clusters(clusters=[r["Cluster"]])["clusters"]
    assert [c for c in clusters if c["status"] == "ACTIVE"] == []


def weighted_dns_template(zone: str, blue: int, green: int) -> dict:
    def record(color: str, weight: int) -> dict:
        return {"Type": "AWS::Route53::RecordSet", "Properties": {
            "HostedZoneId": {"Ref": "Zone"}, "Name": f"api.{zone}", "Type": "CNAME", "TTL": "60",
            "SetIdentifier": color, "Weight": weight, "ResourceRecords": [f"{color}.{zone}"]}}

    return {"Resources": {
        "Zone": {"Type": "AWS::Route53::HostedZone", "Properties": {"Name": zone}},
        "Blue": record("blue", blue),
        "Green": record("green", green),
    }}


def test_weighted_record_sets__one_weight_changed__only_that_record_updated(emulator, stacks):
    zone = f"{stacks.unique('pay')}.example.com"
    name = stacks.unique("dns")
    deployed = stacks.create(weighted_dns_template(zone, blue=100, green=0), name=name)

    stacks.update(name, weighted_dns_template(zone, blue=100, green=25))

    records = emulator.client("route53").list_resource_record_sets(HostedZoneId=deployed.resources["Zone"])["ResourceRecordSets"]
    weights = {r["SetIdentifier"]: r["Weight"] for r in records if r["Type"] == "CNAME"}
    assert weights == {"blue": 100, "green": 25}


def ecs_template(image: str) -> dict:
    return {"Resources": {
        "Cluster": {"Type": "AWS::ECS::Cluster"},
        "Task": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
            "Family": "payments-api", "ContainerDefinitions": [{"Name": "api", "Image": image, "Memory": 512}]}},
        "Service": {"Type": "AWS::ECS::Service", "Properties": {
            "Cluster": {"Ref": "Cluster"}, "TaskDefinition": {"Ref": "Task"}, "DesiredCount": 2}},
    }}


def test_ecs_service__new_image__service_moves_to_the_new_task_definition_revision(emulator, stacks):
    name = stacks.unique("ecs")
    deployed = stacks.create(ecs_template("payments/api:1.0"), name=name)

    updated = stacks.update(name, ecs_template("payments/api:1.1"))

    ecs = emulator.client("ecs")
    service = ecs.describe_services(cluster=updated.resources["Cluster"], services=[updated.resources["Service"]])["services"][0]
    assert updated.resources["Task"] != deployed.resources["Task"]
    assert service["taskDefinition"] == updated.resources["Task"]
    image = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]["containerDefinitions"][0]["image"]
    assert image == "payments/api:1.1"


def test_describe_stacks__list_and_no_echo_parameters__returned_as_aws_returns_them(emulator, stacks):
    # What `sceptre diff` compares against: a list must not look changed, a NoEcho value must not leak.
    template = {
        "Parameters": {
            "SubnetIds": {"Type": "CommaDelimitedList"},
            "Secret": {"Type": "String", "NoEcho": True},
            "Plain": {"Type": "String"},
        },
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
    }
    deployed = stacks.create(template, parameters={"SubnetIds": "subnet-a,subnet-b", "Secret": "hunter2", "Plain": "x"})
    described = emulator.client("cloudformation").describe_stacks(StackName=deployed.name)["Stacks"][0]
    assert {p["ParameterKey"]: p["ParameterValue"] for p in described["Parameters"]} == {
        "SubnetIds": "subnet-a,subnet-b", "Secret": "****", "Plain": "x"}
