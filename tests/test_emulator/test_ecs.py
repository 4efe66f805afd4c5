"""extensions/ecs.py: a new image registers a task-definition revision the service moves to."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.emulator


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
