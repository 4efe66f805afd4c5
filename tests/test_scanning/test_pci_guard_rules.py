"""Where the tests find the PCI DSS Guard rule set, and what they do without it."""

import pytest

from tests.conftest import REQUIRE_ALL, ROOT, unavailable
from tests.test_scanning import conftest as scanning


def test_folder__no_variable__shared_pci_guard_beside_the_repository(monkeypatch):
    monkeypatch.delenv(scanning.PCI_GUARD_RULES, raising=False)
    assert scanning.pci_guard_folder() == ROOT.parent / "shared" / "pci-guard"


def test_folder__relative_variable__read_from_the_repository(monkeypatch):
    monkeypatch.setenv(scanning.PCI_GUARD_RULES, "../elsewhere/pci-guard")
    assert scanning.pci_guard_folder() == ROOT / "../elsewhere/pci-guard"


def test_folder__variable_names_its_rules_folder__the_set_around_it(monkeypatch, tmp_path):
    # pci_guard.sh reads PCI_GUARD_RULES as its rules/ folder; the tests hand it that form.
    (tmp_path / "pci_guard.sh").write_text("")
    (tmp_path / "rules").mkdir()
    monkeypatch.setenv(scanning.PCI_GUARD_RULES, str(tmp_path / "rules"))
    assert scanning.pci_guard_folder() == tmp_path


def test_folder__a_rules_folder_without_the_runner__taken_as_given(monkeypatch, tmp_path):
    (tmp_path / "rules").mkdir()
    monkeypatch.setenv(scanning.PCI_GUARD_RULES, str(tmp_path / "rules"))
    assert scanning.pci_guard_folder() == tmp_path / "rules"


def test_how_to_get__names_the_variable_the_registry_and_its_commit():
    assert scanning.PCI_GUARD_RULES in scanning.HOW_TO_GET
    assert "aws-guard-rules-registry" in scanning.HOW_TO_GET
    assert scanning.REGISTRY_COMMIT in scanning.HOW_TO_GET


def test_registry_commit__the_one_the_rule_sets_readme_names():
    readme = scanning.pci_guard_folder() / "README.md"
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
