"""Where the tests find the PCI DSS Guard rule set, and what they do without it."""

import subprocess

import pytest

from bluegreen import scan
from tests.conftest import REQUIRE_ALL, ROOT, unavailable
from tests.test_scanning import conftest as scanning


def test_folder__no_variable__shared_pci_guard_beside_the_repository(monkeypatch):
    monkeypatch.delenv(scan.PCI_GUARD_RULES, raising=False)
    assert scan.pci_guard_folder() == ROOT.parent / "shared" / "pci-guard"


def test_folder__relative_variable__read_from_the_repository(monkeypatch):
    monkeypatch.setenv(scan.PCI_GUARD_RULES, "../elsewhere/pci-guard")
    assert scan.pci_guard_folder() == ROOT / "../elsewhere/pci-guard"


def test_folder__variable_names_its_rules_folder__the_set_around_it(monkeypatch, tmp_path):
    # pci_guard.sh reads PCI_GUARD_RULES as its rules/ folder; the tests hand it that form.
    (tmp_path / "pci_guard.sh").write_text("")
    (tmp_path / "rules").mkdir()
    monkeypatch.setenv(scan.PCI_GUARD_RULES, str(tmp_path / "rules"))
    assert scan.pci_guard_folder() == tmp_path


def test_folder__a_rules_folder_without_the_runner__taken_as_given(monkeypatch, tmp_path):
    (tmp_path / "rules").mkdir()
    monkeypatch.setenv(scan.PCI_GUARD_RULES, str(tmp_path / "rules"))
    assert scan.pci_guard_folder() == tmp_path / "rules"


@pytest.mark.parametrize("given", ["folder", "rules"])
def test_pci_guard__variable_names_the_folder_or_its_rules__that_set_runs_given_its_rules_folder(monkeypatch, stand_in_rules, given):
    # pci_guard.sh reads PCI_GUARD_RULES as its rules/ folder, whichever form bluegreen.scan was given.
    (stand_in_rules / "rules").mkdir()
    monkeypatch.setenv(scan.PCI_GUARD_RULES, str(stand_in_rules if given == "folder" else stand_in_rules / "rules"))
    calls = []

    def run(command, **kwargs):
        calls.append((command, kwargs["env"][scan.PCI_GUARD_RULES]))
        return subprocess.CompletedProcess(command, 0, stdout="pci-guard: 0 failed rule checks across 0 templates\n")

    scan.pci_guard(ROOT / "templates", run=run)
    assert calls == [(["bash", str(stand_in_rules / "pci_guard.sh"), "templates"], str(stand_in_rules / "rules"))]


def test_how_to_get__names_the_variable_the_registry_and_its_commit():
    assert scan.PCI_GUARD_RULES in scanning.HOW_TO_GET
    assert "aws-guard-rules-registry" in scanning.HOW_TO_GET
    assert scanning.REGISTRY_COMMIT in scanning.HOW_TO_GET


def test_registry_commit__the_one_the_rule_sets_readme_names():
    readme = scan.pci_guard_folder() / "README.md"
    if not readme.is_file():
        unavailable(f"no {readme} to compare with")
    assert scanning.REGISTRY_COMMIT in readme.read_text()


def test_unavailable__a_clone_on_its_own__skips_with_the_reason(monkeypatch):
    monkeypatch.delenv(REQUIRE_ALL, raising=False)
    with pytest.raises(pytest.skip.Exception, match="rules not found: set PCI_GUARD_RULES"):
        unavailable("rules not found: set PCI_GUARD_RULES")


def test_unavailable__ci_flag__fails_with_the_reason(monkeypatch):
    monkeypatch.setenv(REQUIRE_ALL, "1")
    with pytest.raises(pytest.fail.Exception, match=r"rules not found: set PCI_GUARD_RULES \(BLUEGREEN_REQUIRE_ALL=1"):
        unavailable("rules not found: set PCI_GUARD_RULES")
