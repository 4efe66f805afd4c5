"""The documents a change board and an auditor read stay in step with what they describe."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from bluegreen import nested
from tests.test_nested.conftest import ROOT

DOCS = ROOT / "docs"


def bracketed_stacks(text: str) -> set[str]:
    """Stack names the diagram labels carry in brackets, e.g. ``[dns, route53]``."""
    return {name.strip() for group in re.findall(r"\[([a-z0-9, -]+)\]", text) for name in group.split(",")}


def test_architecture_dot__every_stack_of_the_group__appears_in_the_diagram():
    stacks = {path.stem for path in (ROOT / "config" / "prod").glob("*/*.yaml") if path.name != "config.yaml"}
    assert len(stacks) > 10, "the stack configs moved: update this glob"
    assert stacks - bracketed_stacks((DOCS / "architecture.dot").read_text()) == set()


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz is not installed (apt-get install -y graphviz)")
def test_architecture_dot__rendered_by_graphviz__a_png(tmp_path):
    result = subprocess.run(["dot", "-Tpng", str(DOCS / "architecture.dot"), "-o", str(tmp_path / "a.png")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "a.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_architecture_md__image__the_committed_png():
    assert "](architecture.png)" in (DOCS / "architecture.md").read_text()
    assert (DOCS / "architecture.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_deployment_md__every_hook_the_package_command_replaces__explained():
    text = (DOCS / "deployment.md").read_text()
    assert [hook for hook in sorted(nested.HANDLED_HOOKS) if f"`!{hook}`" not in text] == []


def test_deployment_md__package_options__each_one_exists():
    text = (DOCS / "deployment.md").read_text()
    documented = set(re.findall(r"(--[a-z][a-z-]+)", " ".join(re.findall(r"python -m bluegreen\.package[^\n`]*", text))))
    documented |= set(re.findall(r"`(--[a-z][a-z-]+)", text.split("Options:")[1].split("\n\n")[0]))
    source = (ROOT / "bluegreen" / "package.py").read_text()
    assert {option for option in documented if f'"{option}"' not in source} == set()


def test_runbook__writer_switchover__a_marked_section_to_be_filled():
    text = (DOCS / "runbook-cutover.md").read_text()
    assert "## 5. Database writer switchover" in text
    assert "<!-- db-writer-switchover: start -->" in text and "<!-- db-writer-switchover: end -->" in text


def test_runbook__operator_commands__every_shift_command_the_cli_has():
    text = (DOCS / "runbook-cutover.md").read_text()
    used = set(re.findall(r"bluegreen shift (\w+)", text))
    assert used == {"status", "start", "pause", "resume", "promote", "rollback"}


def test_runbook__alarm_names__each_one_a_template_declares():
    declared = set()
    for path in (ROOT / "templates").glob("*.json"):
        declared |= set(re.findall(r'"(alarm-[a-z0-9-]+?)-\$\{Environment\}', path.read_text()))
    mentioned = set(re.findall(r"`(alarm-[a-z0-9-]+?)-(?:\*|prod-p01)`", (DOCS / "runbook-cutover.md").read_text()))
    assert mentioned - declared == set()
    assert declared - mentioned == set()


def test_sizing_and_cost__total_row__the_sum_of_the_lines():
    table = [line for line in (DOCS / "sizing-and-cost.md").read_text().splitlines() if line.startswith("| ")]
    lines = [row for row in table if re.search(r"\| [0-9,]+\.[0-9]{2} \|", row)]
    columns = [[float(cell.replace(",", "")) for cell in re.findall(r"\| ([0-9,]+\.[0-9]{2})(?= \|)", row)[-3:]]
               for row in lines]
    totals = [float(v.replace(",", "")) for v in re.findall(r"≈ ([0-9,]+)", [r for r in table if "total per month" in r][0])]
    assert [round(sum(c[i] for c in columns)) for i in range(3)] == totals
