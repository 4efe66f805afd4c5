"""app/Dockerfile holds the task definition's contract. Docker is not available here, so these tests
read the Dockerfile; that the built image really runs read-only is not proven (docs/deployment.md)."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "app" / "Dockerfile"


def instructions():
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def final_stage():
    ins = instructions()
    last_from = max(i for i, (w, _) in enumerate(ins) if w == "FROM")
    return ins[last_from:]


def container():
    resources = json.loads((ROOT / "templates" / "compute.json").read_text())["Resources"]
    return resources["BlueTaskDefinition"]["Properties"]["ContainerDefinitions"][0]


def test_dockerfile__base_images__slim_release_tag_pinned_by_one_digest():
    bases = [rest.split()[0] for w, rest in instructions() if w == "FROM"]
    assert bases
    for base in bases:
        assert re.match(r"^python:3\.12\.\d+-slim-bookworm@sha256:[0-9a-f]{64}$", base), base
    # Build and run stage on the same image: one digest to review and to update.
    assert len(set(bases)) == 1


def test_dockerfile__user__the_task_definitions_uid_gid():
    users = [rest for w, rest in final_stage() if w == "USER"]
    assert users == [container()["User"]] == ["10001:10001"]


def test_dockerfile__after_user__nothing_runs_at_build_time_as_root_or_writes():
    stage = final_stage()
    after = stage[[w for w, _ in stage].index("USER"):]
    assert not [w for w, _ in after if w in ("RUN", "COPY", "ADD", "VOLUME")]


def test_dockerfile__read_only_root__writes_go_to_tmp_only():
    env = " ".join(rest for w, rest in final_stage() if w == "ENV")
    for setting in ("PYTHONDONTWRITEBYTECODE=1", "HOME=/tmp", "TMPDIR=/tmp"):
        assert setting in env.split()
    c = container()
    assert c["ReadonlyRootFilesystem"] is True
    assert [m["ContainerPath"] for m in c["MountPoints"]] == ["/tmp"]
    tls = {e["Name"]: e["Value"] for e in c["Environment"] if e["Name"] in ("TLS_CERT_FILE", "TLS_KEY_FILE")}
    assert all(v.startswith("/tmp/") for v in tls.values()) and len(tls) == 2


def test_dockerfile__healthcheck__equals_the_task_definitions():
    [check] = [rest for w, rest in final_stage() if w == "HEALTHCHECK"]
    options = dict(re.findall(r"--([a-z-]+)=(\S+)", check))
    command = json.loads(check[check.index("CMD") + 3:].strip())
    want = container()["HealthCheck"]
    assert ["CMD", *command] == want["Command"]
    seconds = {k: int(v.rstrip("s")) for k, v in options.items()}
    assert seconds == {"interval": want["Interval"], "timeout": want["Timeout"],
                       "start-period": want["StartPeriod"], "retries": want["Retries"]}


def test_dockerfile__ca_bundle__where_the_task_definition_points():
    ca = {e["Name"]: e["Value"] for e in container()["Environment"]}["DB_CA_BUNDLE"]
    adds = [shlex.split(rest) for w, rest in final_stage() if w == "ADD"]
    assert any(a[-1] == ca for a in adds), adds


def test_dockerfile__dependencies__exactly_the_lock_then_pip_check():
    runs = " ".join(rest for w, rest in instructions() if w == "RUN")
    assert "pip install --no-deps -r /src/requirements.txt" in runs and "pip check" in runs


def test_dockerfile__entrypoint__the_console_script_serving_by_default():
    stage = {w: rest for w, rest in final_stage() if w in ("ENTRYPOINT", "CMD", "EXPOSE")}
    assert json.loads(stage["ENTRYPOINT"]) == ["payment-api"] and json.loads(stage["CMD"]) == ["serve"]
    assert stage["EXPOSE"] == "8080"


@pytest.mark.parametrize("line", [r for r in (ROOT / "app" / "requirements.txt").read_text().splitlines()
                                  if r.strip() and not r.startswith("#")])
def test_app_requirements__every_line__an_exact_pin(line):
    assert re.match(r"^[A-Za-z0-9_.-]+==[0-9][0-9A-Za-z.+-]*$", line), line
