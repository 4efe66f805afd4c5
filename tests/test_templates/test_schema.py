"""Schema stack: both clusters migrated by the payment service's own code, before compute, secrets kept inside."""

from __future__ import annotations

import json

from tests.test_templates import policy


def migrations(resources: dict) -> dict[str, dict]:
    return {k: v["Properties"] for k, v in resources.items() if v["Type"] == "Custom::SchemaMigration"}


def test_migrations__one_per_cluster__green_fenced_blue_writer(resources):
    found = migrations(resources)

    assert set(found) == {"BlueSchema", "GreenSchema"}
    assert {k: (p["Fenced"], p["ClusterIdentifier"], p["MasterSecretArn"]) for k, p in found.items()} == {
        "BlueSchema": ("false", {"Ref": "BlueClusterIdentifier"}, {"Ref": "BlueDbSecretArn"}),
        "GreenSchema": ("true", {"Ref": "GreenClusterIdentifier"}, {"Ref": "GreenDbSecretArn"})}
    assert all(p["DatabaseName"] == "payments" and p["AppUser"] == "payments_app" for p in found.values())


def test_migrations__new_code__run_again(resources):
    # The zip's key changes with the code (a new Alembic revision): an update of both resources.
    assert all(p["Release"] == {"Ref": "SchemaMigrationCodeKey"} for p in migrations(resources).values())


def test_secrets__never_an_output_nor_a_property_value(schema):
    outputs = json.dumps(schema["Outputs"])
    assert "Secret" not in outputs and "password" not in json.dumps(schema).lower().replace("masteruserpassword", "")


def test_compute__depends_on_the_schema_stack():
    compute = (policy.ROOT / "config" / "dev" / "compute" / "compute.yaml").read_text()
    assert "- {{ environment }}/database/schema.yaml" in compute
