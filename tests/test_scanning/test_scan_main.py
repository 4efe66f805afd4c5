"""The harness itself: a finding or a scanner that did not run fails the scan."""

import shutil
import subprocess

import pytest

from bluegreen import scan
from tests.test_templates import policy


def _fake_run(stdout="", stderr="", returncode=0):
    def run(command, **kwargs):
        return subprocess.CompletedProcess(command, returncode, stdout=stdout, stderr=stderr)
    return run


def test_main__guard_finds_a_bare_bucket__exits_non_zero(bare_templates, pci_guard_rules, capsys):
    assert scan.main(["--only", "pci-guard", "--templates", str(bare_templates)]) == 1
    assert "scan: FAILED: pci-guard" in capsys.readouterr().out


def test_main__clean_template__exits_zero(tmp_path, pci_guard_rules, capsys):
    shutil.copy(policy.TEMPLATES / "security.json", tmp_path / "security.json")
    assert scan.main(["--only", "pci-guard", "--templates", str(tmp_path)]) == 0
    assert "scan: all scanners clean" in capsys.readouterr().out


def test_checkov__no_json_report__is_an_error_not_a_pass(tmp_path):
    result = scan.checkov(tmp_path, run=_fake_run(stdout="", stderr="ModuleNotFoundError: checkov", returncode=1))
    assert not result.ok
    assert result.error == "checkov exit 1, no JSON report: ModuleNotFoundError: checkov"


def test_checkov__report_without_any_check__is_an_error(tmp_path):
    empty = '{"check_type": "cloudformation", "results": {}, "summary": {"passed": 0, "failed": 0, "skipped": 0}}'
    result = scan.checkov(tmp_path, run=_fake_run(stdout=empty))
    assert result.error == "checkov evaluated no check (no CloudFormation template found?)"


def test_cfn_lint__crash_exit_status__is_an_error(tmp_path):
    (tmp_path / "x.json").write_text("{}")
    result = scan.cfn_lint(tmp_path, run=_fake_run(stdout="[]", stderr="Traceback: boom", returncode=1))
    assert result.error == "cfn-lint exit 1: Traceback: boom"


def test_pci_guard__no_summary_line__is_an_error(tmp_path, stand_in_rules):
    result = scan.pci_guard(tmp_path, folder=stand_in_rules,
                            run=_fake_run(stderr="pci-guard: cfn-guard v3 not available", returncode=2))
    assert result.error == "pci_guard.sh exit 2 without its summary line: pci-guard: cfn-guard v3 not available"


def test_pci_guard__rule_set_missing__is_an_error_naming_the_variable(tmp_path):
    result = scan.pci_guard(tmp_path, folder=tmp_path / "nowhere")
    assert result.error == (f"{tmp_path / 'nowhere' / 'pci_guard.sh'} not found: set PCI_GUARD_RULES to the PCI DSS "
                            f"Guard rule set's folder (default {scan.DEFAULT_PCI_GUARD})")


@pytest.mark.parametrize("returncode", [0, 1])
def test_pci_guard__guard_error_line__counted_as_a_failure(tmp_path, stand_in_rules, returncode):
    out = ("templates/x.json: passed=0 failed=1 skipped=0\n"
           "  FAIL GUARD_ERROR (cfn-guard exit 5): parse error\n"
           "pci-guard: 1 failed rule checks across 1 templates\n")
    result = scan.pci_guard(tmp_path, folder=stand_in_rules, run=_fake_run(stdout=out, returncode=returncode))
    assert result.findings == [scan.Finding("x", "GUARD_ERROR", "-", "(cfn-guard exit 5): parse error")]
    assert not result.ok
