"""The PCI DSS 3.2.1 guard rules over the committed templates."""

from bluegreen import scan
from tests.test_templates import policy


def test_pci_guard__committed_templates__zero_failed_rules(pci_guard_result):
    assert pci_guard_result.error is None, pci_guard_result.error
    assert [f.line() for f in pci_guard_result.findings] == []
    assert pci_guard_result.failed == 0


def test_pci_guard__committed_templates__every_template_evaluated(pci_guard_result):
    expected = {p.stem for p in policy.template_paths() if policy.load(p).get("Resources")}
    assert expected - pci_guard_result.templates == set()


def test_pci_guard__bare_bucket__reported_with_its_pci_controls(bare_templates, pci_guard_rules):
    result = scan.pci_guard(bare_templates)
    found = {(f.rule, f.resource): f.message for f in result.findings}
    assert found[("S3_BUCKET_VERSIONING_ENABLED", "Bare")] == "PCI DSS 10.5.3"
    assert ("S3_DEFAULT_ENCRYPTION_KMS", "Bare") in found
    assert result.failed == len(result.findings)
