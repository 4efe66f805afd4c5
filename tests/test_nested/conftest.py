"""Fixtures of the nested-parent tests: the committed parent, Sceptre's own reading of the
configs (the oracle the parent is compared with), and a scratch copy of the project to edit."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sceptre.context import SceptreContext
from sceptre.plan.plan import SceptrePlan

from bluegreen import cfn, nested

ROOT = Path(__file__).resolve().parents[2]
ENVS = ("dev", "prod")


def sceptre_stacks(env: str) -> dict:
    """Sceptre's stacks of ``env`` by short name (``network`` of ``dev/networking/network``), read by
    Sceptre's config reader; what `sceptre launch` skips (obsolete: the data-centre leg where it is off) is not one."""
    plan = SceptrePlan(SceptreContext(project_path=str(ROOT), command_path=env))
    return {stack.name.rsplit("/", 1)[-1]: stack for stack in plan.graph if not (stack.ignore or stack.obsolete)}


def config_file(root: Path, env: str, name: str) -> Path:
    """The stack config ``name`` of ``env`` wherever its sub-group puts it (``dev/networking/network.yaml``)."""
    (path,) = (Path(root) / "config" / env).rglob(name)
    return path


def stack_path(root: Path, env: str, name: str) -> str:
    """The ``!stack_output`` path of stack ``name``: ``{{ environment }}/networking/network.yaml``."""
    relative = config_file(root, env, f"{name}.yaml").relative_to(Path(root) / "config" / env)
    return "{{ environment }}/" + relative.as_posix()


@pytest.fixture(scope="session")
def sceptre():
    return {env: sceptre_stacks(env) for env in ENVS}


@pytest.fixture(scope="session")
def generated():
    """``{env: parent template as a dict}``, generated from this checkout's configs."""
    return {env: json.loads(cfn.to_json(nested.generate(env).template)) for env in ENVS}


@pytest.fixture(scope="session")
def main_json():
    return json.loads((ROOT / "templates" / "main.json").read_text())


@pytest.fixture(scope="session")
def child():
    """Return a loader: child("network") -> the parsed templates/network.json."""
    cache: dict[str, dict] = {}

    def load(filename: str) -> dict:
        if filename not in cache:
            cache[filename] = json.loads((ROOT / "templates" / filename).read_text())
        return cache[filename]
    return load


@pytest.fixture
def project(tmp_path):
    """A scratch copy of config/ (prod's symlinks kept) and templates/*.json to edit."""
    root = tmp_path / "project"
    shutil.copytree(ROOT / "config", root / "config", symlinks=True)
    (root / "templates").mkdir()
    for path in (ROOT / "templates").glob("*.json"):
        shutil.copy(path, root / "templates" / path.name)
    return root


def edit(path: Path, old: str, new: str) -> None:
    """Replace ``old`` (which must be there exactly once) with ``new`` in ``path``."""
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} not exactly once in {path}"
    path.write_text(text.replace(old, new))


