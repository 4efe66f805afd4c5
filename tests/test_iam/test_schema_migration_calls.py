"""Every AWS call the schema-migration custom resource makes is granted by its role, on the resource it touches.

As for the ssm_parameter custom resource (test_ssm_parameter_calls.py): a run of the handler's own
``run`` for each ``Custom::SchemaMigration`` of templates/schema.json, its properties resolved for the
sample deployment, against moto (the master secrets under the data key, the CA bundle parameter) and a
real local MariaDB behind each cluster, records each call (botocore's ``before-parameter-build``).
Each call becomes its IAM action and ARN (grants.request) plus the KMS use Secrets Manager makes on the
caller's behalf (grants.service_side), evaluated against SchemaMigrationPolicy resolved for the same
deployment; the runtime's own use (its log group, the VPC network interfaces) comes from the template.
The other direction: every granted action is used, and removing any one denies a call.
"""

from __future__ import annotations

import json
import sys

import boto3
import pytest
from moto import mock_aws

from bluegreen import local_mariadb
from bluegreen.emulator_databases import StandIns
from bluegreen.local_mariadb import ADMIN_PASSWORD, ADMIN_USER
from tests.conftest import offline_aws, unavailable
from tests.test_iam import documents, grants, lambda_run
from tests.test_iam.lambda_run import Call

sys.path.insert(0, str(documents.ROOT / "lambda_src"))
from schema_migration import handler

TEMPLATE = json.loads((documents.TEMPLATES / "schema.json").read_text())
POLICY, LOG_GROUP = "SchemaMigrationPolicy", "SchemaMigrationLogGroup"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """(the template parameters of the run, every call the handler made), once per module."""
    if local_mariadb.missing():
        unavailable(local_mariadb.missing("the schema-migration IAM test"))
    mp = pytest.MonkeyPatch()
    calls: list[Call] = []
    parameters = dict(documents.SAMPLE_PARAMETERS)
    clusters = [parameters["BlueClusterIdentifier"], parameters["GreenClusterIdentifier"]]
    try:
        offline_aws(mp)
        mp.setattr(handler, "CA_BUNDLE_FILE", tmp_path_factory.mktemp("ca") / "bundle.pem")
        with StandIns(clusters) as databases, mock_aws():
            data_key = boto3.client("kms").create_key(Description="data key")["KeyMetadata"]["Arn"]
            parameters["DataKeyArn"] = data_key
            sm, ssm = boto3.client("secretsmanager"), boto3.client("ssm")
            for colour, cluster in zip(("Blue", "Green"), clusters, strict=False):
                server = databases.servers[cluster]
                parameters[f"{colour}DbSecretArn"] = sm.create_secret(
                    Name=f"secret-db-{colour.lower()}-dev-d01", KmsKeyId=data_key, SecretString=json.dumps(
                        {"username": ADMIN_USER, "password": ADMIN_PASSWORD, "host": "127.0.0.1", "port": server.port}))["ARN"]
            ssm.put_parameter(Name=parameters["DbCaBundleParameterName"], Type="String", Value=databases.ca_pem)
            parameters["SchemaMigrationCodeKey"] = "lambda/schema_migration/" + "0" * 64 + ".zip"
            for client in (sm, ssm):
                lambda_run.record_client(client, calls, ["run"])
            resolver = documents.Resolver(TEMPLATE, parameters, check=False)
            for body in TEMPLATE["Resources"].values():
                if body["Type"] != "Custom::SchemaMigration":
                    continue
                properties = {k: str(v) for k, v in resolver.resolve(body["Properties"]).items()}
                spec = handler.parse_spec(properties)
                handler.run(spec, clients={"secretsmanager": sm, "ssm": ssm}.__getitem__, region="us-east-1")
    finally:
        mp.undo()
    return parameters, calls


@pytest.fixture(scope="module")
def policy(recorded):
    parameters, _ = recorded
    return documents.resolved_policy(TEMPLATE, parameters, POLICY)


@pytest.fixture(scope="module")
def requests(recorded):
    parameters, calls = recorded
    found = []
    for c in calls:
        found.append(grants.request(c.service, c.operation, c.params))
        if c.operation == "GetSecretValue":
            found += grants.service_side(c.service, c.operation, parameters["DataKeyArn"])
    log_group = documents.Resolver(TEMPLATE, parameters, check=False).resolve(
        TEMPLATE["Resources"][LOG_GROUP]["Properties"]["LogGroupName"])
    return found + grants.runtime_use(log_group)


def test_run__both_clusters__reads_each_master_secret_and_the_ca_bundle(recorded):
    parameters, calls = recorded
    assert sorted((c.operation, c.params.get("SecretId") or c.params.get("Name")) for c in calls) == sorted(
        [("GetSecretValue", parameters["BlueDbSecretArn"]), ("GetSecretValue", parameters["GreenDbSecretArn"]),
         ("GetParameter", parameters["DbCaBundleParameterName"]), ("GetParameter", parameters["DbCaBundleParameterName"])])


def test_role__every_call_of_the_code__granted_on_its_resource(requests, policy):
    denied = grants.denied(policy, requests)
    assert denied == [], "\n".join(denied)


def test_role__every_granted_action__used_by_the_run(requests, policy):
    assert grants.unused(policy, requests) == set()


def test_role__another_secret_or_parameter__denied(policy):
    other_secret = grants._arn("secretsmanager", "secret:secret-db-blue-prod-p01-XyZ")
    assert grants.allows(policy, grants.request("secretsmanager", "GetSecretValue", {"SecretId": other_secret})).allowed is False
    assert grants.allows(policy, grants.request("ssm", "GetParameter", {"Name": "/payments-migration/dev-d01/app/payment-api-signing-key"})).allowed is False


GRANTED = grants.granted_pairs(TEMPLATE["Resources"][POLICY]["Properties"]["PolicyDocument"], {})


@pytest.mark.parametrize("sid,action", GRANTED, ids=[f"{s}-{a}" for s, a in GRANTED])
def test_role__any_one_action_removed__some_call_of_the_run_is_denied(requests, policy, sid, action):
    assert grants.first_denied_without(policy, requests, sid, action) == [action]
