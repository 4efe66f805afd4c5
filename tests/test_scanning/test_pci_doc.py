"""docs/pci-dss.md: every control row cites tests, and every cited test exists."""

import pytest

from tests.test_scanning import pci_doc


def test_pci_doc__table__has_rows(pci_rows):
    assert len(pci_rows) >= 20


def test_pci_doc__every_row__cites_a_test(pci_rows):
    assert [req for req, _, ids in pci_rows if not ids] == []


def test_pci_doc__every_cited_test__exists(pci_rows):
    missing = [p for _, _, ids in pci_rows for node_id in ids if (p := pci_doc.problem(node_id))]
    assert missing == [], "\n".join(missing)


def test_problem__test_not_defined__names_file_and_test():
    node_id = "tests/test_scanning/test_pci_doc.py::test_pci_doc__nothing__never_written"
    assert pci_doc.problem(node_id) == (
        f"{node_id}: tests/test_scanning/test_pci_doc.py defines no test test_pci_doc__nothing__never_written")


def test_problem__file_missing__says_so():
    assert pci_doc.problem("tests/nowhere.py::test_x") == "tests/nowhere.py::test_x: no file tests/nowhere.py"


def test_problem__parameter_not_in_module__says_so():
    node_id = "tests/test_templates/test_audit.py::test_trail__regions__multi_region[NoSuchEvent]"
    assert pci_doc.problem(node_id) == (
        f"{node_id}: parameter 'NoSuchEvent' is not a literal in tests/test_templates/test_audit.py")


def test_rows__table_header_missing__raises():
    with pytest.raises(ValueError, match=r"no table with header 'requirement \| control in the templates"):
        pci_doc.rows("# nothing here\n")


def test_rows__row_with_two_cells__raises():
    text = "| requirement | control in the templates | test that proves it |\n|---|---|---|\n| 1.1 | x |\n"
    with pytest.raises(ValueError, match=r"row without three cells: '\| 1.1 \| x \|'"):
        pci_doc.rows(text)


def _stacks() -> set[str]:
    """Every stack handler of templates/ (main is the nested parent of the same stacks)."""
    return {p.stem for p in (pci_doc.ROOT / "templates").glob("*.py") if p.stem not in ("main", "__init__")}


def test_scope_doc__every_stack__placed_in_scope():
    rows = pci_doc.scope_rows(pci_doc.SCOPE_DOC.read_text())
    assert set(rows) == _stacks()
    assert {stack: scope for stack, scope in rows.items() if scope not in pci_doc.SCOPES} == {}


def test_scope_doc__data_flow__names_every_store_of_the_cde():
    text = pci_doc.SCOPE_DOC.read_text()
    flow = pci_doc.section(text, "Data flow")
    cde = {stack for stack, scope in pci_doc.scope_rows(text).items() if scope == "CDE"}
    assert {stack for stack in cde if f"({stack}" not in flow and f", {stack})" not in flow} == set()


def test_pci_doc__standard__v4_0_1_not_the_retired_3_2_1(pci_rows):
    assert "PCI DSS v4.0.1" in pci_doc.DOC.read_text().splitlines()[0]
    # Requirement numbers that exist only in 3.2.1 (its 10.7 retention, 6.4.5 change control).
    assert [req for req, _, _ in pci_rows if req.split()[0] in ("10.7", "6.4.5", "6.4.5.4", "10.5.5")] == []
