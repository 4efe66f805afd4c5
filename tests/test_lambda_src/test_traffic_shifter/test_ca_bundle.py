"""The RDS CA bundle the fence verifies the databases against: read from its SSM parameter once per execution
environment, into a file of its own; a file another process left under /tmp never stands in for it."""

from __future__ import annotations

from pathlib import Path

import pytest

from traffic_shifter.db import fence
from traffic_shifter.db.config import DbConfig
from traffic_shifter.errors import ConfigError

PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


class Ssm:
    def __init__(self, value: str) -> None:
        self.value, self.reads = value, 0

    def get_parameter(self, Name: str) -> dict:
        self.reads += 1
        return {"Parameter": {"Name": Name, "Value": self.value}}


def config(parameter: str) -> DbConfig:
    return DbConfig(*("unused",) * 10, ca_bundle_parameter=parameter)


@pytest.fixture(autouse=True)
def fresh(monkeypatch, tmp_path):
    monkeypatch.setattr(fence, "_ca_bundle_files", {})
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))


def test_ca_bundle__placeholder_in_ssm__refused_even_with_a_pem_left_under_tmp(tmp_path):
    (tmp_path / "rds-ca-bundle.pem").write_text(PEM)  # what the old fixed name would have picked up
    with pytest.raises(ConfigError, match="holds no PEM certificate"):
        fence.ca_bundle_path(lambda service: Ssm("placeholder"), config("/p/db/rds-ca-bundle"))


def test_ca_bundle__loaded__written_to_its_own_file_and_read_once_per_environment():
    ssm = Ssm(PEM)
    first = fence.ca_bundle_path(lambda service: ssm, config("/p/db/rds-ca-bundle"))
    again = fence.ca_bundle_path(lambda service: ssm, config("/p/db/rds-ca-bundle"))

    assert first == again and Path(first).read_text() == PEM and Path(first).name != "rds-ca-bundle.pem"
    assert ssm.reads == 1
