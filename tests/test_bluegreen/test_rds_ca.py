"""The RDS CA bundles pinned by SHA-256 (bluegreen.rds_ca, config/rds-ca-bundles.sha256): a changed bundle
is refused before it reaches the image or the SSM parameter the Lambdas read; an unrecorded pin refuses all."""

from __future__ import annotations

import hashlib
import io
import re
import shutil
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from bluegreen import rds_ca

ROOT = Path(__file__).resolve().parents[2]
# A PEM-shaped stand-in: what is checked is its bytes' SHA-256, not the certificates.
BUNDLE = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


@pytest.fixture
def pin_file(tmp_path, monkeypatch):
    """A copy of the project's pin file with the regional bundle recorded as BUNDLE."""
    copy = tmp_path / "rds-ca-bundles.sha256"
    shutil.copy(rds_ca.PIN_FILE, copy)
    rds_ca.record(rds_ca.REGIONAL, BUNDLE, copy)
    monkeypatch.setattr(rds_ca, "PIN_FILE", copy)
    return copy


def test_pin_file__names_both_bundles_we_build_in():
    assert set(rds_ca.pins()) == {rds_ca.GLOBAL, rds_ca.REGIONAL}


def test_check__the_pinned_bundle__accepted(pin_file):
    assert rds_ca.check(rds_ca.REGIONAL, BUNDLE, pin_file) == hashlib.sha256(BUNDLE).hexdigest()


@pytest.mark.parametrize("changed", [BUNDLE + b"\n", BUNDLE.replace(b"MIIB", b"MIIC"), b""])
def test_check__a_changed_bundle__refused(pin_file, changed):
    with pytest.raises(rds_ca.RdsCaError, match="is not the pinned"):
        rds_ca.check(rds_ca.REGIONAL, changed, pin_file)


def test_check__pin_not_recorded__refused_saying_how_to_record_it():
    text = rds_ca.PIN_FILE.read_text()
    if re.search(r"^[0-9a-f]{64}  global/", text, re.M):
        pytest.skip("the global pin is recorded")
    with pytest.raises(rds_ca.RdsCaError, match="not recorded .* python -m bluegreen.rds_ca record global/global-bundle.pem"):
        rds_ca.check(rds_ca.GLOBAL, BUNDLE)


def test_dockerfile__the_bundle_added_with_the_pinned_checksum_from_a_build_arg():
    text = (ROOT / "app" / "Dockerfile").read_text()
    [add] = [line for line in text.splitlines() if line.startswith("ADD") and rds_ca.BASE_URL in line]
    assert f"--checksum=sha256:${{RDS_GLOBAL_BUNDLE_SHA256}} {rds_ca.BASE_URL}{rds_ca.GLOBAL} " in add
    assert "ARG RDS_GLOBAL_BUNDLE_SHA256\n" in text
    assert f'RDS_GLOBAL_BUNDLE_SHA256="$(python -m bluegreen.rds_ca pin {rds_ca.GLOBAL})"' in text


@pytest.fixture
def aws(monkeypatch):
    for var, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"), ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(var, value)
    for var in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    with mock_aws():
        yield boto3.client("ssm", region_name="us-east-1")


PARAMETER = "/payments-migration/dev-d01/db/rds-ca-bundle"


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return rds_ca.main(list(argv), stdout=out, stderr=err), out.getvalue(), err.getvalue()


def test_load__pinned_bundle__written_to_the_environments_parameter(pin_file, aws, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    (tmp_path / "b.pem").write_bytes(BUNDLE)
    code, out, err = run("load", "--env", "dev", str(tmp_path / "b.pem"))
    assert code == 0, err
    assert aws.get_parameter(Name=PARAMETER)["Parameter"]["Value"] == BUNDLE.decode()


def test_load__changed_bundle__refused_and_the_parameter_untouched(pin_file, aws, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    aws.put_parameter(Name=PARAMETER, Value="placeholder", Type="String")
    (tmp_path / "b.pem").write_bytes(BUNDLE.replace(b"MIIB", b"EVIL"))
    code, _, err = run("load", "--env", "dev", str(tmp_path / "b.pem"))
    assert code == 1
    assert "is not the pinned" in err and "Traceback" not in err
    assert aws.get_parameter(Name=PARAMETER)["Parameter"]["Value"] == "placeholder"
