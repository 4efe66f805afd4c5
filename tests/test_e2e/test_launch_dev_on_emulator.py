"""The README's main path, in CI: `sceptre launch dev` on the local emulator, then the checks.

One emulator and one launch for the module (about a minute); the tests run in file order:
launch, no phantoms, encryption and weights seen through the service APIs, a `--var`
weight change, the two edges (each record aliases its own colour's ALB, each service sits in both
ALBs), the automatic rollback of both listeners, and a `sceptre delete` that leaves nothing behind.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bluegreen import demo, environments
from bluegreen.cfn import cap
from bluegreen.emulator_databases import StandIns, cluster_identifiers
from tests.emulator_process import aws_env as deployer_env
from tests.emulator_process import free_port, run_launcher, session, start_with_databases
from tests.test_app.test_migrate import head_revision

pytestmark = pytest.mark.emulator

ROOT = Path(__file__).resolve().parents[2]
SCEPTRE = Path(sys.executable).parent / "sceptre"
#: Each dev stack's short name -> its concern's sub-group (config/dev/<group>/<stack>.yaml).
STACK_GROUPS = {p.stem: p.parent.name for p in (ROOT / "config" / "dev").glob("*/*.yaml") if p.name != "config.yaml"}
#: The stacks `sceptre launch dev` creates: the data-centre leg's are off in dev (obsolete, not launched).
STACK_CONFIGS = sorted(s.name.rsplit("/", 1)[-1] for s in environments.stacks(ROOT, "dev"))


def stack_name(stack: str) -> str:
    """CloudFormation name Sceptre gives dev/<group>/<stack>: payments-dev-<group>-<stack>."""
    return f"payments-dev-{STACK_GROUPS[stack]}-{stack}"


class Launched:
    def __init__(self, port: int, url: str):
        self.port = port
        # The emulator's deployer (IAM is enforced): what `scripts/emulator env` exports.
        self.env = {**{k: v for k, v in os.environ.items() if k not in ("AWS_PROFILE", "AWS_SESSION_TOKEN")},
                    **deployer_env(port), "EMULATOR_PORT": str(port)}
        self.session = session(port)
        self.url = url

    def client(self, service: str):
        return self.session.client(service, endpoint_url=self.url)

    def sceptre(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(SCEPTRE), "--dir", str(ROOT), *args], env=self.env, cwd=ROOT,
                              capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)

    def outputs(self, stack: str) -> dict[str, str]:
        described = self.client("cloudformation").describe_stacks(StackName=stack_name(stack))["Stacks"][0]
        return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


@pytest.fixture(scope="module")
def launched():
    port = free_port()
    with StandIns(cluster_identifiers("dev")) as databases:  # the schema stack migrates real databases
        started = start_with_databases(port, databases)
        assert started.returncode == 0, started.stderr
        world = Launched(port, started.stdout.strip().splitlines()[-1])
        world.databases = databases
        result = world.sceptre("launch", "-y", "dev")
        world.launch = result
        yield world
        world.sceptre("delete", "-y", "dev")
        run_launcher("stop", port=port, timeout=60)


@pytest.fixture
def aws_env(launched, monkeypatch):
    """The demo's helpers read AWS_ENDPOINT_URL like every boto3 client does."""
    for key in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
        monkeypatch.setenv(key, launched.env[key])
    return launched


def test_launch__dev_group__every_stack_create_complete(launched):
    assert launched.launch.returncode == 0, launched.launch.stdout[-3000:] + launched.launch.stderr[-3000:]
    statuses = {
        s["StackName"]: s["StackStatus"]
        for s in launched.client("cloudformation").list_stacks()["StackSummaries"]
        if s["StackStatus"] != "DELETE_COMPLETE"
    }
    assert statuses == {stack_name(name): "CREATE_COMPLETE" for name in STACK_CONFIGS}


def test_schema__before_compute__both_clusters_migrated_by_the_stack_itself(launched):
    """The schema stack's custom resource ran the payment service's migration inside the "VPC" against
    the database behind each cluster: schema at head, payments_app with TLS required (DML on blue,
    SELECT on green), before the compute stack's services were created."""
    outputs = launched.outputs("schema")
    events = launched.client("cloudformation").describe_stack_events(StackName=stack_name("compute"))["StackEvents"]
    schema_done = launched.client("cloudformation").describe_stacks(StackName=stack_name("schema"))["Stacks"][0]
    for colour, cluster in zip(("blue", "green"), launched.databases.clusters, strict=False):
        server = launched.databases.servers[cluster]
        tables = {row[0] for row in server.execute("SHOW TABLES FROM payments")}
        grants = " ".join(row[0] for row in server.execute("SHOW GRANTS FOR 'payments_app'@'%'"))
        assert outputs[f"{cap(colour)}SchemaRevision"] == head_revision()
        assert "alembic_version" in tables and len(tables) > 1
        assert ("INSERT" in grants) == (colour == "blue") and "REQUIRE SSL" in server.execute(
            "SHOW CREATE USER 'payments_app'@'%'")[0][0]
    first_compute_event = min(e["Timestamp"] for e in events)
    assert schema_done["CreationTime"] <= first_compute_event


def test_phantoms__every_resource_of_every_stack__returned_by_its_service(launched):
    result = subprocess.run([str(ROOT / "scripts" / "emulator"), "phantoms", "--json"], env=launched.env,
                            capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    rows = json.loads(result.stdout)
    failing = [r for r in rows if r["verdict"] not in ("ok", "skipped")]
    assert failing == [] and result.returncode == 0
    assert len(rows) > 200  # every resource of the 14 stacks was looked at, not an empty list
    # Only resources whose condition is false may be absent: dev runs one NAT gateway, not three.
    skipped = {(r["logical_id"], r["detail"]) for r in rows if r["verdict"] == "skipped"}
    assert skipped == {(f"Nat{kind}{az}", "condition ThreeNatGateways (not created?)")
                       for kind in ("Eip", "Gateway") for az in (2, 3)}


def test_encryption__aurora_dms_backup_secrets__use_the_data_key(launched):
    data_key = launched.outputs("security")["DataKeyArn"]
    clusters = launched.client("rds").describe_db_clusters()["DBClusters"]
    assert {(c["DBClusterIdentifier"], c["StorageEncrypted"], c["KmsKeyId"]) for c in clusters} == {
        ("aurora-blue-dev-d01", True, data_key), ("aurora-green-dev-d01", True, data_key)}
    [instance] = launched.client("dms").describe_replication_instances()["ReplicationInstances"]
    assert (instance["KmsKeyId"], instance["PubliclyAccessible"]) == (data_key, False)
    vaults = launched.client("backup").list_backup_vaults()["BackupVaultList"]
    assert [v["EncryptionKeyArn"] for v in vaults] == [data_key]
    secrets = launched.client("secretsmanager").list_secrets()["SecretList"]
    # The master secrets rotate every 30 days; the response-signing key by its procedure (an overlap window).
    assert {s["Name"]: (data_key.endswith(s["KmsKeyId"]), (s.get("RotationRules") or {}).get("AutomaticallyAfterDays"))
            for s in secrets} == {"secret-db-blue-dev-d01": (True, 30), "secret-db-green-dev-d01": (True, 30),
                                  "secret-signing-dev-d01": (True, None)}


def test_encryption__artifact_and_trail_buckets__kms_with_our_keys(launched):
    keys = launched.outputs("security")
    s3 = launched.client("s3")

    def default(bucket):
        rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
        return rule["ApplyServerSideEncryptionByDefault"]

    artifacts = launched.outputs("artifacts")["ArtifactBucketName"]
    assert default(artifacts) == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": keys["DataKeyArn"]}
    trail_bucket = launched.outputs("audit")["TrailBucketName"]
    assert default(trail_bucket) == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": keys["OpsKeyArn"]}


def test_encryption__queue_and_topics__use_the_ops_key(launched):
    ops_key = launched.outputs("security")["OpsKeyArn"]
    sqs, sns = launched.client("sqs"), launched.client("sns")
    queues = sqs.list_queues()["QueueUrls"]
    assert {sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["KmsMasterKeyId"])["Attributes"]["KmsMasterKeyId"]
            for q in queues} == {ops_key}
    topics = [t["TopicArn"] for t in sns.list_topics()["Topics"]]
    assert {sns.get_topic_attributes(TopicArn=t)["Attributes"]["KmsMasterKeyId"] for t in topics} == {ops_key}


def test_encryption__log_groups__use_the_ops_key(launched):
    groups = launched.client("logs").describe_log_groups()["logGroups"]
    if all("kmsKeyId" not in g for g in groups):
        pytest.skip("moto 5.2's CloudFormation model of AWS::Logs::LogGroup drops KmsKeyId: "
                    "proved by the policy tests on the templates instead")
    ops_key = launched.outputs("security")["OpsKeyArn"]
    assert {g["logGroupName"]: g.get("kmsKeyId") for g in groups} == {g["logGroupName"]: ops_key for g in groups}


def test_encryption__state_table__kms_with_the_ops_key(launched):
    table = launched.client("dynamodb").describe_table(TableName="ddb-shift-state-dev-d01")["Table"]
    if "SSEDescription" not in table:
        pytest.skip("moto 5.2's CloudFormation model of AWS::DynamoDB::Table drops SSESpecification: "
                    "proved by tests/test_templates/test_automation.py instead")
    assert table["SSEDescription"]["KMSMasterKeyArn"] == launched.outputs("security")["OpsKeyArn"]


def _weights(launched) -> tuple[tuple[tuple[int, int], ...], tuple[int, int], str]:
    """Each ALB's listener (blue ALB first) on its own target groups, the two records, SSM."""
    alb = {**launched.outputs("alb"), **launched.outputs("listeners")}
    elb = launched.client("elbv2")
    listeners = []
    for edge in ("Blue", "Green"):
        listener = elb.describe_listeners(ListenerArns=[alb[f"{edge}HttpsListenerArn"]])["Listeners"][0]
        groups = {g["TargetGroupArn"]: g["Weight"] for g in listener["DefaultActions"][0]["ForwardConfig"]["TargetGroups"]}
        listeners.append((groups[alb[f"{edge}AlbBlueTargetGroupArn"]], groups[alb[f"{edge}AlbGreenTargetGroupArn"]]))
    zone = launched.outputs("dns")["HostedZoneId"]
    records = launched.client("route53").list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
    r53 = {r["SetIdentifier"]: r["Weight"] for r in records if "Weight" in r}
    ssm = launched.client("ssm").get_parameter(Name="/payments-migration/dev-d01/traffic/green-weight")["Parameter"]["Value"]
    return tuple(listeners), (r53["blue"], r53["green"]), ssm


def split(blue: int, green: int) -> tuple[tuple[tuple[int, int], ...], tuple[int, int]]:
    """Both listeners and the records at blue/green."""
    return ((blue, green), (blue, green)), (blue, green)


def test_diff__right_after_launch__no_difference_in_any_stack(launched):
    result = launched.sceptre("diff", "dev")
    assert result.returncode == 0, result.stderr[-2000:]
    clean = {line.rsplit(" ", 1)[-1] for line in result.stdout.splitlines() if "No difference to deployed stack" in line}
    assert clean == {stack_name(name) for name in STACK_CONFIGS}


def test_diff__var_green_weight_40__shows_only_the_weights_of_the_route53_group(launched):
    # The route53 group holds every weight (listeners and records): the diff covers both stacks, and
    # nothing else moves, though Sceptre diffs their dependencies too.
    result = launched.sceptre("--var", "green_weight=40", "diff", "dev/route53")
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [line.strip() for line in result.stdout.splitlines()]
    differing = {line.split("stack ", 1)[1].rstrip("!") for line in lines if line.startswith("==> Difference detected")}
    assert differing == {stack_name("listeners"), stack_name("route53")}
    changed = sorted(line for line in lines if line.startswith("root."))
    assert changed == sorted(["root.parameters['BlueWeight']:", "root.parameters['GreenWeight']:"] * 2)
    assert "Template difference" not in result.stdout


def test_weights__after_launch__all_traffic_on_blue(launched):
    assert _weights(launched) == (*split(100, 0), "0")


def test_weights__sceptre_var_green_weight_30_update_route53_group__both_listeners_route53_and_ssm_follow(launched):
    # One command, the design's own: every weight of the environment moves together.
    result = launched.sceptre("--var", "green_weight=30", "update", "-y", "dev/route53")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert _weights(launched) == (*split(70, 30), "30")


def test_weights__plain_launch_after_a_shift__keeps_the_shift(launched):
    # Without --var the weights come from SSM, so a later launch does not undo the shift.
    result = launched.sceptre("launch", "-y", "dev/route53/listeners.yaml")
    assert result.returncode == 0, result.stderr[-2000:]
    assert _weights(launched) == (*split(70, 30), "30")


def test_weights__bad_green_weight__refused_and_nothing_changes(launched):
    result = launched.sceptre("--var", "green_weight=150", "update", "-y", "dev/route53")
    assert result.returncode != 0
    assert "green_weight" in result.stdout + result.stderr
    assert _weights(launched) == (*split(70, 30), "30")


def test_edges__records__alias_the_blue_alb_and_the_green_alb(launched):
    alb = launched.outputs("alb")
    zone = launched.outputs("dns")["HostedZoneId"]
    records = launched.client("route53").list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
    aliases = {r["SetIdentifier"]: r["AliasTarget"]["DNSName"].rstrip(".").lower() for r in records if "Weight" in r}
    assert aliases == {"blue": alb["BlueLoadBalancerDnsName"].lower(), "green": alb["GreenLoadBalancerDnsName"].lower()}
    assert aliases["blue"] != aliases["green"]


def test_edges__each_service__registered_in_a_target_group_of_each_alb(launched):
    alb = launched.outputs("alb")
    compute = launched.outputs("compute")
    ecs = launched.client("ecs")
    for colour in ("Blue", "Green"):
        (service,) = ecs.describe_services(cluster=compute["ClusterName"],
                                           services=[compute[f"{colour}ServiceName"]])["services"]
        assert [lb["targetGroupArn"] for lb in service["loadBalancers"]] == [
            alb[f"BlueAlb{colour}TargetGroupArn"], alb[f"GreenAlb{colour}TargetGroupArn"]]


def test_ca_bundle__parameter__placeholder_until_an_operator_loads_the_bundle(launched):
    name = launched.outputs("parameters")["DbCaBundleParameterName"]
    env = launched.client("lambda").get_function_configuration(
        FunctionName="lambda-traffic-shifter-dev-d01")["Environment"]["Variables"]
    assert env["DB_CA_BUNDLE_PARAMETER"] == name and "DB_TLS_VERIFY" not in env
    parameter = launched.client("ssm").get_parameter(Name=name)["Parameter"]
    assert parameter["Type"] == "String" and "BEGIN CERTIFICATE" not in parameter["Value"]


def test_monitoring__fast_line__ten_second_alarms_on_the_services_metrics_and_a_gate(launched):
    """Issue 25: the service's own high-resolution payment metrics, alarmed per 10 s, and the shifter gating on them."""
    cw = launched.client("cloudwatch")
    alarms = {a["AlarmName"]: a for page in cw.get_paginator("describe_alarms").paginate(AlarmNamePrefix="alarm-")
              for a in page["MetricAlarms"]}
    for colour in ("blue", "green"):
        failed = alarms[f"alarm-{colour}-payments-failed-dev-d01"]
        assert {q["MetricStat"]["Period"] for q in failed["Metrics"] if "MetricStat" in q} == {10}
        assert {q["MetricStat"]["Metric"]["Namespace"] for q in failed["Metrics"] if "MetricStat" in q} == {
            "PaymentService/dev-d01"}
        assert (failed["DatapointsToAlarm"], failed["EvaluationPeriods"], failed["TreatMissingData"]) == (2, 3, "missing")
        silent = alarms[f"alarm-{colour}-silent-dev-d01"]
        assert (silent["Period"], silent["TreatMissingData"], silent["Statistic"]) == (10, "breaching", "SampleCount")
        assert f"alarm-{colour}-payments-latency-dev-d01" in alarms
    env = launched.client("lambda").get_function_configuration(
        FunctionName="lambda-traffic-shifter-dev-d01")["Environment"]["Variables"]
    assert env["GATE_ALARMS"].split(",") == ["alarm-green-health-dev-d01", "alarm-data-health-dev-d01",
                                             "alarm-green-payments-failed-dev-d01"]
    composite = cw.describe_alarms(AlarmNames=["alarm-green-health-dev-d01"], AlarmTypes=["CompositeAlarm"])
    assert "alarm-green-silent-dev-d01" in composite["CompositeAlarms"][0]["AlarmRule"]


def test_shift__healthy_gates_then_fault_at_50__lambda_rolls_back_both_listeners_and_route53(aws_env):
    assert aws_env.sceptre("--var", "green_weight=0", "update", "-y", "dev/route53").returncode == 0
    report = demo.Report()
    demo.shift_with_fault(demo.Emulated("dev"), report)
    both = lambda w: (w, w)  # noqa: E731 - the same weights on the blue and the green ALB
    assert [(s["listeners"], s["r53"], s["ssm"]) for s in report.steps] == [
        (both("100/0"), "100/0", "0"),    # before start
        (both("90/10"), "90/10", "10"),   # start
        (both("75/25"), "75/25", "25"),   # advance after the bake
        (both("50/50"), "50/50", "50"),   # advance after the bake
        (both("100/0"), "100/0", "0"),    # alarm event: both listeners back to blue in this one run
        (both("100/0"), "100/0", "0"),    # next tick: the plan stays stopped
    ]
    assert {tuple(sorted(s["aliases"].items())) for s in report.steps} == {
        (("blue", "alb-blue-dev-d01"), ("green", "alb-green-dev-d01"))}
    assert report.steps[-1]["status"] == "rolled_back"
    assert "alarm-green-health-dev-d01 is ALARM" in report.rollback["reason"]


def _archived_groups(launched) -> dict[str, list[str]]:
    """Log group -> messages found in the audit stack's log-archive bucket (gzip JSON batches)."""
    import gzip

    s3 = launched.client("s3")
    bucket = launched.outputs("audit")["LogArchiveBucketName"]
    found: dict[str, list[str]] = {}
    for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        batch = json.loads(gzip.decompress(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()))
        found.setdefault(batch["logGroup"], []).extend(e["message"] for e in batch["logEvents"])
    return found


def test_evidence__after_the_demo_run__pack_verifies_and_an_edited_entry_fails(aws_env, tmp_path):
    import io

    from bluegreen import cli

    def bluegreen(*argv: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        code = cli.main([*argv, "--project-dir", str(ROOT)], stdout=out, stderr=err)
        return code, out.getvalue(), err.getvalue()

    folder = tmp_path / "CHG-1"
    code, out, err = bluegreen("evidence", "CHG-1", "--env", "dev", "--out", str(folder), "--json")
    assert code == 0, err
    weights = [w["green_weight"] for w in json.loads((folder / "weights.json").read_text())]
    assert {"10", "25", "50"} <= set(weights) and weights[-1] == "0"  # the demo's steps and its rollback
    # moto has no DescribeAlarmHistory: the entry says so instead of being silently empty (on AWS it
    # lists every gate's state changes); the gate that rolled back is in the shift state.
    gates = json.loads((folder / "gates.json").read_text())
    assert "DescribeAlarmHistory" in gates["unavailable"] if isinstance(gates, dict) else any(
        (g.get("data") or {}).get("newState", {}).get("stateValue") == "ALARM" for g in gates)
    assert "alarm-green-health-dev-d01 is ALARM" in (folder / "shift-state.json").read_text()
    assert bluegreen("evidence", "verify", str(folder), "--env", "dev")[0] == 0

    (folder / "gates.json").write_text("[]\n")
    code, _, err = bluegreen("evidence", "verify", str(folder), "--env", "dev")
    assert code == 1 and "gates.json: edited" in err


def test_log_archive__the_shifters_log__reaches_the_audit_stacks_bucket(launched):
    shifter_groups = [g for g in _archived_groups(launched) if g.startswith("/aws/lambda/") and "traffic-shifter" in g]
    assert shifter_groups, "the shifter's invocations above logged nothing that reached the archive"


def test_log_archive__blue_app_log_group_deleted__its_events_stay_archived(launched):
    import time

    logs = launched.client("logs")
    # A group of its own: the compute stack's would be gone under its stack's delete below.
    group = "/ecs/log-app-blue-decommissioned-dev-d01"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="payment-api/evidence")
    logs.put_log_events(logGroupName=group, logStreamName="payment-api/evidence", logEvents=[
        {"timestamp": int(time.time() * 1000), "message": "payment 42 captured by blue"}])
    # Decommissioning blue deletes its log group (with its stack, or by hand as here).
    logs.delete_log_group(logGroupName=group)
    assert "payment 42 captured by blue" in _archived_groups(launched).get(group, [])


# ------------------------------------------------------------------ the data-centre leg, turned on and off again
DATACENTRE = {"datacentre_link": "vpn", "datacentre_cidrs": ["172.20.0.0/16", "172.21.0.0/16"],
              "datacentre_db_host": "mysql-pay-01.dc.payments.internal", "datacentre_vpn_customer_gateway_ip": "18.0.0.1",
              "datacentre_vpn_bgp_asn": "65010"}
DATACENTRE_STACKS = ("datacentre-link", "datacentre-dms")


def test_datacentre__link_on_with_placeholders__refused_and_nothing_created(launched):
    result = launched.sceptre("--var", "datacentre_link=vpn", "launch", "-y", "dev/networking/datacentre-link.yaml")

    assert result.returncode != 0
    assert "datacentre_cidrs is still the placeholder" in result.stderr + result.stdout
    assert "'203.0.113.1' is not a public address" in result.stderr + result.stdout
    assert launched.client("ec2").describe_customer_gateways()["CustomerGateways"] == []


def test_datacentre__link_on__link_and_dms_stacks_launch_with_their_resources(launched, tmp_path):
    var_file = tmp_path / "datacentre.yaml"
    var_file.write_text(json.dumps(DATACENTRE))  # JSON is YAML
    # The operator's one-off step (docs/deployment.md): the data centre's CA into SSM.
    launched.client("ssm").put_parameter(Name="/payments-migration/dev-d01/datacentre/db-ca-pem", Type="String",
                                         Value=launched.databases.ca_pem)
    result = launched.sceptre("--var-file", str(var_file), "launch", "-y", "dev/database/datacentre-dms.yaml")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    ec2 = launched.client("ec2")
    network = launched.outputs("network")
    [vpn] = ec2.describe_vpn_connections()["VpnConnections"]
    [gateway] = ec2.describe_customer_gateways()["CustomerGateways"]
    assert (gateway["IpAddress"], gateway["BgpAsn"], vpn["CustomerGatewayId"]) == ("18.0.0.1", "65010", gateway["CustomerGatewayId"])
    tables = ec2.describe_route_tables(RouteTableIds=network["PrivateRouteTableIds"].split(","))["RouteTables"]
    to_datacentre = {(t["RouteTableId"], r["DestinationCidrBlock"], r.get("GatewayId")) for t in tables for r in t["Routes"]
                     if r.get("DestinationCidrBlock", "").startswith("172.2")}
    assert to_datacentre == {(t["RouteTableId"], cidr, vpn["VpnGatewayId"]) for t in tables for cidr in DATACENTRE["datacentre_cidrs"]}
    public = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [network["VpcId"]]}])["RouteTables"]
    assert not [t for t in public if t["RouteTableId"] not in network["PrivateRouteTableIds"]
                and any(r.get("GatewayId") == vpn["VpnGatewayId"] for r in t["Routes"])]
    [dms_group] = ec2.describe_security_groups(GroupIds=[network["DmsSecurityGroupId"]])["SecurityGroups"]
    to_dc = [(p["FromPort"], p["ToPort"], r["CidrIp"]) for p in dms_group["IpPermissionsEgress"] for r in p["IpRanges"]
             if r["CidrIp"].startswith("172.2")]
    assert sorted(to_dc) == [(3306, 3306, "172.20.0.0/16"), (3306, 3306, "172.21.0.0/16")]

    dms = launched.client("dms")
    outputs = launched.outputs("datacentre-dms")
    endpoints = {e["EndpointArn"]: e for e in dms.describe_endpoints()["Endpoints"]}
    source = endpoints[outputs["DatacentreSourceEndpointArn"]]
    [certificate] = dms.describe_certificates()["Certificates"]
    assert (source["EngineName"], source["SslMode"], source["CertificateArn"]) == ("mysql", "verify-full", certificate["CertificateArn"])
    tasks = {t["ReplicationTaskArn"]: t for t in dms.describe_replication_tasks()["ReplicationTasks"]}
    inbound, reverse = tasks[outputs["DatacentreToBlueTaskArn"]], tasks[outputs["CdcBlueToDatacentreTaskArn"]]
    assert (inbound["MigrationType"], inbound["TargetEndpointArn"]) == ("full-load-and-cdc", launched.outputs("dms")["BlueTargetEndpointArn"])
    assert (reverse["MigrationType"], reverse["SourceEndpointArn"], reverse["Status"]) == (
        "cdc", launched.outputs("dms")["BlueSourceEndpointArn"], "ready")  # created, never started
    assert json.loads(inbound["ReplicationTaskSettings"])["ValidationSettings"]["EnableValidation"] is True
    secret = launched.client("secretsmanager").describe_secret(SecretId=outputs["DatacentreDbSecretArn"])
    assert launched.outputs("security")["DataKeyArn"].endswith(secret["KmsKeyId"])


def test_datacentre__link_on__every_resource_returned_by_its_service(launched):
    result = subprocess.run([str(ROOT / "scripts" / "emulator"), "phantoms", "--json"], env=launched.env,
                            capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    rows = [r for r in json.loads(result.stdout) if r["stack"].endswith(("datacentre-link", "datacentre-dms"))]
    assert [r for r in rows if r["verdict"] not in ("ok", "skipped")] == []
    assert {r["resource_type"] for r in rows if r["verdict"] == "ok"} >= {
        "AWS::EC2::CustomerGateway", "AWS::EC2::VPNGateway", "AWS::EC2::VPNConnection", "AWS::EC2::Route",
        "AWS::EC2::SecurityGroupEgress", "AWS::DMS::Certificate", "AWS::DMS::Endpoint", "AWS::DMS::ReplicationTask"}


def test_datacentre__turned_off_again__prune_removes_both_stacks_and_their_resources(launched):
    result = launched.sceptre("prune", "-y", "dev")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    names = {s["StackName"] for s in launched.client("cloudformation").list_stacks()["StackSummaries"]
             if s["StackStatus"] != "DELETE_COMPLETE"}
    assert names & {"payments-dev-networking-datacentre-link", "payments-dev-database-datacentre-dms"} == set()
    ec2 = launched.client("ec2")
    assert ec2.describe_vpn_connections()["VpnConnections"] == []
    assert ec2.describe_customer_gateways()["CustomerGateways"] == []
    assert launched.client("dms").describe_certificates()["Certificates"] == []
    [dms_group] = ec2.describe_security_groups(GroupIds=[launched.outputs("network")["DmsSecurityGroupId"]])["SecurityGroups"]
    assert not [r for p in dms_group["IpPermissionsEgress"] for r in p["IpRanges"] if r["CidrIp"].startswith("172.2")]


def test_delete__dev_group__no_stack_and_no_resource_left(launched):
    result = launched.sceptre("delete", "-y", "dev")
    assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-1000:]
    left = [s["StackName"] for s in launched.client("cloudformation").list_stacks()["StackSummaries"]
            if s["StackStatus"] != "DELETE_COMPLETE"]
    assert left == []
    assert launched.client("rds").describe_db_clusters()["DBClusters"] == []
    assert launched.client("dms").describe_replication_instances()["ReplicationInstances"] == []
    assert launched.client("backup").list_backup_vaults()["BackupVaultList"] == []
    assert [v["VpcId"] for v in launched.client("ec2").describe_vpcs()["Vpcs"] if not v["IsDefault"]] == []
    assert launched.client("lambda").list_functions()["Functions"] == []
    assert launched.client("s3").list_buckets()["Buckets"] == []
    assert launched.client("cloudwatch").describe_alarms()["MetricAlarms"] == []
    assert launched.client("secretsmanager").list_secrets()["SecretList"] == []
