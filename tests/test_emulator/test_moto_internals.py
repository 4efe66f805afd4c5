"""The emulator's boundary with moto: bluegreen_emulator.moto_internals lists every moto internal
the emulator replaces, wraps or adds to, and these tests hold the list to the installed moto.

The moto checks run in the emulator venv (moto_boundary.py, a subprocess): installing the
emulator into this process's moto would change it under the in-process mock_aws tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "emulator") not in sys.path:
    sys.path.insert(0, str(ROOT / "emulator"))

from bluegreen_emulator import moto_internals  # noqa: E402 - after sys.path has the emulator folder; standard library only at import

pytestmark = pytest.mark.emulator

#: Exception classes of the moto packages the emulator uses that derive from none of
#: MOTO_ERRORS, and why the narrowed excepts may leave them out.
FOREIGN_ERRORS = {
    "moto.cloudformation.exceptions.UnformattedGetAttTemplateException": "moto's 'no such attribute' of Fn::GetAtt: named where resolving may raise it "
                                                                         "(RESOLVE_ERRORS)",
    "moto.core.exceptions.ServiceNotWhitelisted": "moto's guard against services outside mock_aws: never raised in server mode",
    "moto.ec2.exceptions.MotoNotImplementedError": "a feature moto lacks: must surface, not be retried or suppressed",
    "moto.ec2.exceptions.FilterNotImplementedError": "the same, for describe filters",
    "moto.s3.exceptions.HeadOnDeleteMarker": "S3's internal signal for HEAD on a delete marker, handled inside moto's responses",
}


@pytest.fixture(scope="module")
def boundary() -> dict:
    python = ROOT / ".venv-emulator" / "bin" / "python"
    if not python.exists():
        pytest.fail("the emulator venv is missing: run scripts/bootstrap")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "emulator")}
    result = subprocess.run(
        [str(python), str(Path(__file__).with_name("moto_boundary.py"))],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_pin__installed_moto_is_the_one_pinned_in_requirements_emulator(boundary):
    assert boundary["moto"] == moto_internals.pinned_moto()


def test_entries__each_checked_against_the_pinned_moto():
    pinned = moto_internals.pinned_moto()
    stale = [f"{e.target} (checked against {e.moto}): {e.reason}" for e in moto_internals.INTERNALS if e.moto != pinned]
    assert not stale, f"moto is pinned at {pinned}; recheck these, then raise their moto field:\n" + "\n".join(stale)


def test_entries__well_formed_and_unique():
    targets = [e.target for e in moto_internals.INTERNALS]
    assert len(targets) == len(set(targets))
    for entry in moto_internals.INTERNALS:
        assert entry.target.startswith("moto."), entry
        assert entry.how in moto_internals.KINDS, entry
        assert entry.reason.strip() and entry.owner.strip(), entry


def test_installed_moto__matches_every_entry(boundary):
    # wrap/replace: moto still defines it there; add: moto still has none of its own; model: still a model
    assert boundary["problems"] == []


def test_install__changes_exactly_the_registered_internals(boundary):
    changed, registered = set(boundary["changed"]), set(boundary["registered"])
    assert sorted(changed - registered) == [], "moto changed outside moto_internals.patch: register it"
    assert sorted(registered - changed) == [], "registered but not installed by the server: drop or install it"
    assert boundary["applied"] == boundary["patch_targets"]


def test_models__every_moto_model_an_extension_replaces_is_listed(boundary):
    assert boundary["replaced_models"] == boundary["model_entries"]


def test_moto_errors__the_narrowed_excepts_name_every_moto_error_class(boundary):
    assert sorted(boundary["foreign_errors"]) == sorted(FOREIGN_ERRORS)


# ------------------------------------------------------------------------- patch() itself


@pytest.fixture
def fake_moto(monkeypatch: pytest.MonkeyPatch):
    """A stand-in module and registry: patch() checked without touching the real moto."""

    class Backend:
        def wrapped(self) -> str:
            return "moto"

    module = types.ModuleType("moto_fake_service")
    module.Backend = Backend  # type: ignore[attr-defined]  # a stand-in module for the patch tests
    module.TABLE = {}  # type: ignore[attr-defined]  # a stand-in module for the patch tests
    monkeypatch.setitem(sys.modules, "moto_fake_service", module)
    entries = {
        "moto_fake_service.Backend.wrapped": moto_internals.Internal("moto_fake_service.Backend.wrapped", moto_internals.WRAP, "test", "r"),
        "moto_fake_service.Backend.added": moto_internals.Internal("moto_fake_service.Backend.added", moto_internals.ADD, "test", "r"),
        "moto_fake_service.TABLE[key]": moto_internals.Internal("moto_fake_service.TABLE[key]", moto_internals.ADD, "test", "r"),
        "moto_fake_service.Backend": moto_internals.Internal("moto_fake_service.Backend", moto_internals.MODEL, "test", "r"),
    }
    monkeypatch.setattr(moto_internals, "_BY_TARGET", entries)
    monkeypatch.setattr(moto_internals, "_applied", {})
    return module


def test_patch__registered_wrap__replaces_and_returns_the_original(fake_moto):
    original = moto_internals.patch("moto_fake_service.Backend.wrapped", lambda self: "emulator")

    assert original(None) == "moto"
    assert fake_moto.Backend().wrapped() == "emulator"
    assert list(moto_internals.applied()) == ["moto_fake_service.Backend.wrapped"]


def test_patch__add_and_mapping_item__set(fake_moto):
    assert moto_internals.patch("moto_fake_service.Backend.added", lambda self: 1) is None
    moto_internals.patch("moto_fake_service.TABLE[key]", "value")

    assert fake_moto.Backend().added() == 1
    assert fake_moto.TABLE == {"key": "value"}


def test_patch__unregistered_target__refused_and_moto_unchanged(fake_moto):
    with pytest.raises(moto_internals.MotoInternalsError, match="not in moto_internals.INTERNALS"):
        moto_internals.patch("moto_fake_service.Backend.other", lambda self: 0)
    assert not hasattr(fake_moto.Backend, "other")


def test_patch__moto_now_defines_what_the_emulator_adds__refused(fake_moto):
    fake_moto.Backend.added = lambda self: "moto's own"

    with pytest.raises(moto_internals.MotoInternalsError, match="moto now defines it"):
        moto_internals.patch("moto_fake_service.Backend.added", lambda self: 1)
    assert fake_moto.Backend().added() == "moto's own"


def test_patch__moto_dropped_what_the_emulator_wraps__refused(fake_moto):
    del fake_moto.Backend.wrapped

    with pytest.raises(moto_internals.MotoInternalsError, match="no longer defines it"):
        moto_internals.patch("moto_fake_service.Backend.wrapped", lambda self: 1)


def test_patch__model_entry__refused(fake_moto):
    with pytest.raises(moto_internals.MotoInternalsError, match="not patched"):
        moto_internals.patch("moto_fake_service.Backend", object)


def test_pinned_moto__no_pin__says_which_file(tmp_path, monkeypatch):
    requirements = tmp_path / "requirements-emulator.txt"
    requirements.write_text("boto3==1.44.8\n")
    monkeypatch.setattr(moto_internals, "REQUIREMENTS", requirements)

    with pytest.raises(moto_internals.MotoInternalsError, match="no 'moto==<version>' pin"):
        moto_internals.pinned_moto()
