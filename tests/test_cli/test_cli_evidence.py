"""bluegreen evidence: a hash-chained pack per change, and a verify that catches any edit, loss or addition."""

from __future__ import annotations

import json

import pytest

from bluegreen import evidence
from tests.test_cli.conftest import PROJECT_ROOT

DIR = ("--env", "dev", "--project-dir", str(PROJECT_ROOT))


def test_chain__each_link__depends_on_every_entry_before():
    a = evidence.chain([("a", b"1"), ("b", b"2")])
    b = evidence.chain([("a", b"X"), ("b", b"2")])
    assert a[1]["sha256"] == b[1]["sha256"] and a[1]["chain"] != b[1]["chain"]


@pytest.fixture
def pack(world, bluegreen, tmp_path):
    assert bluegreen("shift", "start", "--change-id", "CHG-42", "--reason", "cut-over", *DIR).code == 0
    assert bluegreen("shift", "rollback", "--change-id", "CHG-42", "--reason", "declines", *DIR).code == 0
    report = tmp_path / "rehearsal-report.txt"
    report.write_text("lost 0, duplicated 0, divergent rows 0\n")
    folder = tmp_path / "pack"
    run = bluegreen("evidence", "CHG-42", "--out", str(folder), "--attach", str(report), "--json", *DIR)
    assert run.code == 0, run.err
    return folder, json.loads(run.out)


def test_evidence__after_a_shift_and_rollback__every_source_an_entry_and_verify_passes(pack, bluegreen):
    folder, result = pack
    names = [e["name"] for e in json.loads((folder / "manifest.json").read_text())["entries"]]
    assert names[:7] == ["meta.json", "approvals.json", "shift-state.json", "weights.json", "gates.json",
                         "shifter-decisions.json", "replication.json"]
    assert {"attached--rehearsal-report.txt", "timeline.png", "summary.html"} <= set(names)
    weights = [w["green_weight"] for w in json.loads((folder / "weights.json").read_text())]
    assert weights[-2:] == ["10", "0"]  # the step applied, then the rollback
    assert (folder / "timeline.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    verified = bluegreen("evidence", "verify", str(folder), "--json", *DIR)
    assert verified.code == 0, verified.err
    assert json.loads(verified.out)["head"] == result["head"]


@pytest.mark.parametrize("tamper, message", [
    (lambda f: (f / "weights.json").write_text("[]\n"), "weights.json: edited"),
    (lambda f: (f / "approvals.json").unlink(), "approvals.json: missing"),
    (lambda f: (f / "extra.json").write_text("{}"), "extra.json: not in the manifest"),
])
def test_evidence_verify__entry_edited_removed_or_added__fails_naming_it(pack, bluegreen, tamper, message):
    folder, _ = pack
    tamper(folder)
    run = bluegreen("evidence", "verify", str(folder))
    assert run.code == 1
    assert message in run.err


def test_evidence_verify__manifest_rewritten_for_an_edit__head_differs_from_the_recorded(pack, bluegreen):
    folder, _ = pack
    (folder / "weights.json").write_text("[]\n")
    manifest = json.loads((folder / "manifest.json").read_text())
    contents = [(e["name"], (folder / e["name"]).read_bytes()) for e in manifest["entries"]]
    entries = evidence.chain(contents)  # a forger recomputes every hash and the chain
    (folder / "manifest.json").write_bytes(evidence.as_json({**manifest, "entries": entries, "head": entries[-1]["chain"]}))

    assert bluegreen("evidence", "verify", str(folder)).code == 0  # the folder alone agrees with itself ...
    run = bluegreen("evidence", "verify", str(folder), *DIR)  # ... the head recorded in the state table does not
    assert run.code == 1
    assert "is not the one recorded in the audit trail" in run.err
