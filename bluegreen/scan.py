"""Run the three template scanners and say, per scanner, what failed where.

    python -m bluegreen.scan                        # checkov, cfn-lint (+extras), pci-guard over templates/
    python -m bluegreen.scan --only pci-guard       # one scanner
    python -m bluegreen.scan --templates other/dir  # another folder of rendered templates

Scanners (each reads the committed templates/*.json):
  * checkov, from its own venv (.venv-scan: its jsonschema pin clashes with sceptre's);
    ``--skip-download`` because CI has no route to the Prisma Cloud API and checkov would
    otherwise spend its time failing to reach it.
  * cfn-lint with the opt-in rules an auditor would want on (CFN_LINT_EXTRAS):
      - ``--include-checks I``: the informational rules, of which I3011 (stateful resources
        state DeletionPolicy/UpdateReplacePolicy), I3013 (retention stated where data expires
        by default), I3510 (IAM statement resources match their actions, i.e. no resource a
        permission cannot apply to) and I3042 (ARNs built from pseudo parameters) concern
        security and data retention; the rest (limits, Sub over Join) are cheap to keep clean;
      - ``I3042:region=true`` and ``I3042:accountId=true``: I3042 checks only the partition by
        default; a hard-coded account in an ARN is a cross-account grant nobody reviewed and a
        hard-coded region a policy that silently stops matching.
    The experimental rules (``-e``: the I4010/W4011/W4012 "Context" documentation rules) are
    left off: they judge documentation blocks, not security.
  * the PCI DSS 3.2.1 guard rules (cfn-guard v3): the rule set's folder (pci_guard.sh, the AWS Guard
    Rules Registry's mapping and rules/, not part of the repository) is PCI_GUARD_RULES, relative to
    the repository, by default ../shared/pci-guard beside it.

Exit status: 0 when every scanner ran and found nothing, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
CHECKOV = ROOT / ".venv-scan" / "bin" / "checkov"
#: The variable naming the PCI DSS Guard rule set's folder, and the folder without it: in CI the
#: repository is a fresh clone with shared/ beside it.
PCI_GUARD_RULES = "PCI_GUARD_RULES"
DEFAULT_PCI_GUARD = ROOT.parent / "shared" / "pci-guard"
CFN_LINT_EXTRAS = ["--include-checks", "I", "-x", "I3042:region=true", "-x", "I3042:accountId=true"]
TIMEOUT_SECONDS = 900

Runner = Callable[..., subprocess.CompletedProcess]


@dataclass(frozen=True)
class Finding:
    template: str  # stem of the template file, e.g. "audit"
    rule: str  # CKV_AWS_18, I3042, S3_BUCKET_LOGGING_ENABLED
    resource: str  # logical ID, or the template path for template-level findings
    message: str = ""

    def line(self) -> str:
        text = f"{self.template}: {self.rule} {self.resource}"
        return f"{text} - {self.message}" if self.message else text


@dataclass
class Result:
    scanner: str
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    findings: list[Finding] = field(default_factory=list)
    error: str | None = None  # the scanner did not run or its output could not be read
    seconds: float = 0.0
    templates: set[str] = field(default_factory=set)  # stems of the templates the scanner reported on

    @property
    def ok(self) -> bool:
        return self.error is None and self.failed == 0 and not self.findings

    def by_template(self) -> dict[str, list[Finding]]:
        out: dict[str, list[Finding]] = {}
        for finding in self.findings:
            out.setdefault(finding.template, []).append(finding)
        return out

    def summary(self) -> str:
        status = "ok" if self.ok else ("ERROR" if self.error else "FAILED")
        head = (f"{self.scanner}: {self.passed} passed, {self.failed} failed, {self.skipped} skipped "
                f"({self.seconds:.1f} s) - {status}")
        lines = [head]
        if self.error:
            lines.append(f"  error: {self.error}")
        lines += [f"  {f.line()}" for f in sorted(self.findings, key=lambda f: (f.template, f.rule, f.resource))]
        return "\n".join(lines)


def _stem(path: str) -> str:
    return Path(path).stem


def _relative(path: Path) -> str:
    """Paths under the repository are passed relative to it, so reports name templates/x.json."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def _timed(scanner: str, command: list[str], parse: Callable[[subprocess.CompletedProcess], Result],
           run: Runner, env: dict[str, str] | None = None) -> Result:
    start = time.monotonic()
    try:
        proc = run(command, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, env=env)
    except (OSError, subprocess.TimeoutExpired) as err:
        result = Result(scanner, error=f"{' '.join(command[:2])}: {err}")
    else:
        result = parse(proc)
    result.seconds = time.monotonic() - start
    return result


def _first_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else "no output"


# ---------------------------------------------------------------- checkov
def parse_checkov(proc: subprocess.CompletedProcess) -> Result:
    result = Result("checkov")
    try:
        data = json.loads(proc.stdout)
    except json.JSONDecodeError:
        result.error = f"checkov exit {proc.returncode}, no JSON report: {_first_line(proc.stderr or proc.stdout)}"
        return result
    reports = data if isinstance(data, list) else [data]
    reports = [r for r in reports if r.get("check_type", "cloudformation") == "cloudformation"]
    for report in reports:
        summary = report.get("summary", {})
        result.passed += summary.get("passed", 0)
        result.failed += summary.get("failed", 0)
        result.skipped += summary.get("skipped", 0)
        results = report.get("results", {})
        for kind in ("passed_checks", "failed_checks", "skipped_checks"):
            result.templates.update(_stem(c["file_path"]) for c in results.get(kind, []))
        for check in results.get("failed_checks", []):
            result.findings.append(Finding(
                template=_stem(check["file_path"]),
                rule=check["check_id"],
                resource=check["resource"].split(".", 1)[-1],
                message=check.get("check_name", ""),
            ))
        for path in results.get("parsing_errors", []):
            result.findings.append(Finding(_stem(path), "PARSING_ERROR", path, "checkov could not parse the file"))
    if result.passed + result.failed + result.skipped == 0 and not result.findings:
        result.error = "checkov evaluated no check (no CloudFormation template found?)"
    return result


def checkov(templates: Path = TEMPLATES, *, run: Runner = subprocess.run, executable: Path = CHECKOV) -> Result:
    command = [str(executable), "-d", _relative(templates), "--framework", "cloudformation",
               "-o", "json", "--skip-download"]
    return _timed("checkov", command, parse_checkov, run)


# ---------------------------------------------------------------- cfn-lint
def parse_cfn_lint(proc: subprocess.CompletedProcess) -> Result:
    result = Result("cfn-lint")
    try:
        matches = json.loads(proc.stdout or "[]")
    except json.JSONDecodeError:
        result.error = f"cfn-lint exit {proc.returncode}, no JSON report: {_first_line(proc.stderr or proc.stdout)}"
        return result
    # Exit status is a bit mask of 2 (errors), 4 (warnings), 8 (informational); 1 means cfn-lint failed.
    if proc.returncode & 1 or proc.returncode > 15 or (proc.returncode and not matches):
        result.error = f"cfn-lint exit {proc.returncode}: {_first_line(proc.stderr)}"
    for match in matches:
        path = match.get("Location", {}).get("Path") or []
        # Resources/<logical>/... names the resource; anything else names the section path.
        resource = path[1] if len(path) > 1 and path[0] == "Resources" else "/".join(str(p) for p in path) or "-"
        result.findings.append(Finding(
            template=_stem(match["Filename"]),
            rule=match["Rule"]["Id"],
            resource=resource,
            message=match.get("Message", ""),
        ))
    result.failed = len(result.findings)
    return result


def _cfn_lint_executable() -> Path:
    beside = Path(sys.executable).parent / "cfn-lint"
    return beside if beside.exists() else ROOT / ".venv" / "bin" / "cfn-lint"


def cfn_lint(templates: Path = TEMPLATES, *, run: Runner = subprocess.run, executable: Path | None = None) -> Result:
    files = sorted(_relative(p) for p in templates.glob("*.json"))
    if not files:
        return Result("cfn-lint", error=f"no *.json template in {templates}")
    command = [str(executable or _cfn_lint_executable()), *CFN_LINT_EXTRAS,
               "--regions", "us-east-1", "--format", "json", "--", *files]
    result = _timed("cfn-lint", command, parse_cfn_lint, run)
    if result.error is None:
        # cfn-lint reports only matches: every file it was given and did not fail on passed.
        result.templates = {_stem(f) for f in files}
        result.passed = len(files) - len(result.by_template())
    return result


# ---------------------------------------------------------------- PCI DSS guard
_GUARD_TEMPLATE = re.compile(r"^(?P<path>\S+): passed=(?P<p>\d+) failed=(?P<f>\d+) skipped=(?P<s>\d+)$")
_GUARD_FAIL = re.compile(r"^\s+FAIL (?P<rule>\S+) (?:\[PCI DSS (?P<ctl>[^\]]*)\] resources: (?P<res>.*)|(?P<why>.*))$")
_GUARD_TOTAL = re.compile(r"^pci-guard: (?P<n>\d+) failed rule checks across (?P<m>\d+) templates$")


def parse_pci_guard(proc: subprocess.CompletedProcess) -> Result:
    result = Result("pci-guard")
    template = "?"
    total = None
    for line in proc.stdout.splitlines():
        if m := _GUARD_TEMPLATE.match(line):
            template = _stem(m["path"])
            result.templates.add(template)
            result.passed += int(m["p"])
            result.skipped += int(m["s"])
        elif m := _GUARD_FAIL.match(line):
            if m["res"] is None:
                result.findings.append(Finding(template, m["rule"], "-", m["why"].strip()))
                continue
            for resource in [r.strip() for r in m["res"].split(",")]:
                result.findings.append(Finding(template, m["rule"], resource, f"PCI DSS {m['ctl']}"))
        elif m := _GUARD_TOTAL.match(line):
            total = int(m["n"])
    if total is None:
        result.error = f"pci_guard.sh exit {proc.returncode} without its summary line: {_first_line(proc.stderr)}"
        return result
    result.failed = total
    if proc.returncode not in (0, 1):
        result.error = f"pci_guard.sh exit {proc.returncode}: {_first_line(proc.stderr)}"
    return result


def pci_guard_folder(environ=os.environ) -> Path:
    """The rule set's folder: PCI_GUARD_RULES (relative to the repository), else ../shared/pci-guard.

    pci_guard.sh itself reads the variable as its rules/ folder: a value naming that folder (with
    the runner beside it) names the same set.
    """
    value = environ.get(PCI_GUARD_RULES)
    folder = ROOT / value if value else DEFAULT_PCI_GUARD
    if folder.name == "rules" and (folder.parent / "pci_guard.sh").is_file():
        folder = folder.parent
    return folder


def pci_guard(templates: Path = TEMPLATES, *, run: Runner = subprocess.run, folder: Path | None = None) -> Result:
    folder = pci_guard_folder() if folder is None else folder
    script = folder / "pci_guard.sh"
    if not script.exists():
        return Result("pci-guard", error=f"{script} not found: set {PCI_GUARD_RULES} to the PCI DSS Guard rule "
                                         f"set's folder (default {DEFAULT_PCI_GUARD})")
    # The runner takes the variable as its rules/ folder, whichever form it was given here in.
    env = {**os.environ, PCI_GUARD_RULES: str(folder / "rules")}
    return _timed("pci-guard", ["bash", str(script), _relative(templates)], parse_pci_guard, run, env=env)


SCANNERS: dict[str, Callable[..., Result]] = {"checkov": checkov, "cfn-lint": cfn_lint, "pci-guard": pci_guard}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", choices=sorted(SCANNERS), help="run only this scanner (repeatable)")
    parser.add_argument("--templates", type=Path, default=TEMPLATES, help="folder of rendered templates")
    args = parser.parse_args(argv)
    results = [SCANNERS[name](args.templates) for name in SCANNERS if not args.only or name in args.only]
    for result in results:
        print(result.summary())
    failed = [r.scanner for r in results if not r.ok]
    print(f"scan: {'FAILED: ' + ', '.join(failed) if failed else 'all scanners clean'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
