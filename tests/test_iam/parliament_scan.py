"""parliament over every policy document of the rendered templates, and what its findings mean.

parliament (https://github.com/duo-labs/parliament) is a linter of IAM *identity* policies: it
checks actions, resource ARN formats, condition keys and types against the IAM definition, and
its community auditors look for privilege escalation, credential exposure and permissions
management. It runs in the scanner venv (.venv-scan, beside checkov) through parliament_runner.py.

Three kinds of documents, each held to what parliament can judge of it:
  * identity policies (managed and inline): every check, community auditors included; a finding
    is accepted only by a suppression in the resource's Metadata, with its reason::

        {"parliament": {"ignore": [{"issue": "RESOURCE_STAR", "actions": ["ec2:CreateNetworkInterface"],
                                    "reason": "<why>"}]}}

    ``actions`` (optional) narrows the suppression: it covers a finding only when every action the
    finding names is listed;
  * trust policies (AssumeRolePolicyDocument): every check but the community auditors. A trust
    policy has no Resource element (IAM rejects one: the role is the resource) and parliament stops
    at a statement without one, so each statement is analysed with the role's ARN as its Resource;
  * resource policies (bucket, topic, queue, key, endpoint, log policies): parliament's own checks
    without the community auditors and RESOURCE_STAR, which assume the document grants to the
    principal that holds it (a key policy's "*" is the key itself; an endpoint policy's
    Principal "*" with aws:PrincipalAccount fences, it does not grant). What remains must match
    RESOURCE_POLICY_FALSE_POSITIVES, each with the reason it is parliament's error and not ours.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.test_iam import documents

ROOT = documents.ROOT
PYTHON = ROOT / ".venv-scan" / "bin" / "python"
RUNNER = Path(__file__).with_name("parliament_runner.py")
TRUST_PROPERTIES = {"AssumeRolePolicyDocument"}

#: (issue, detail pattern) -> why the finding on a resource policy is parliament's error.
RESOURCE_POLICY_FALSE_POSITIVES: dict[tuple[str, str], str] = {
    ("MISMATCHED_TYPE", r"s3:TlsVersion requires a value of type Numeric but given \['1\.2'\]"):
        "Condition values are strings in the policy grammar; NumericLessThan parses '1.2' as the number "
        "(the form of AWS's own TLS-version bucket policy examples).",
    ("UNKNOWN_CONDITION_FOR_ACTION", r"Unknown condition s3:TlsVersion for action s3:\w+"):
        "The TLS Deny covers s3:* on purpose; s3:TlsVersion is present in every request that comes over TLS, "
        "and the definition parliament ships omits it from a few actions.",
    ("MISMATCHED_TYPE_BUT_USABLE", r"StringNotEquals requires a value of type String but given Arn"):
        "String operators on ARN keys are exact comparisons, which is the intent (parliament suggests "
        "ArnNotEquals, which would add wildcard matching).",
    ("UNKNOWN_CONDITION_FOR_ACTION", r"Unknown condition kms:EncryptionContext:aws:logs:arn for action kms:\w+"):
        "CloudWatch Logs' documented key policy condition; kms:EncryptionContext:<key> is a family of keys "
        "parliament's definition lists only as a template.",
    ("MISMATCHED_TYPE", r"ArnLike requires a value of type Arn but given String"):
        "kms:EncryptionContext:aws:logs:arn holds an ARN; CloudWatch Logs' documentation uses ArnLike for it.",
}


@dataclass(frozen=True)
class Finding:
    label: str  # template.resource.property
    issue: str
    severity: str
    detail: str
    actions: frozenset[str]  # lower case, as the auditors report them

    def line(self) -> str:
        names = f" [{', '.join(sorted(self.actions))}]" if self.actions else ""
        return f"{self.label}: {self.issue} ({self.severity}) {self.detail}{names}"


def kind(doc: documents.Document) -> str:
    if doc.where in TRUST_PROPERTIES:
        return "trust"
    return "identity" if doc.rtype in documents.IDENTITY_TYPES else "resource"


def _actions(raw: dict) -> frozenset[str]:
    found = set()
    detail, location = raw.get("detail"), raw.get("location") or {}
    if isinstance(location, dict):
        found.update(location.get("actions") or [])
    for item in detail if isinstance(detail, list) else []:
        found.add(item["action"] if isinstance(item, dict) else item)
    return frozenset(a.lower() for a in found if isinstance(a, str))


def _analysable(doc: documents.Document) -> dict:
    """The document as parliament can analyse it: a trust policy's statements get their role as Resource."""
    if kind(doc) != "trust":
        return doc.document
    role = f"arn:aws:iam::{documents.ACCOUNT}:role/{doc.resource}"
    statements = doc.document["Statement"]
    statements = statements if isinstance(statements, list) else [statements]
    return {**doc.document, "Statement": [{**s, "Resource": role} for s in statements]}


def run(docs: list[documents.Document], *, python: Path = PYTHON) -> list[Finding]:
    """Every parliament finding on ``docs`` (nothing is filtered here)."""
    if not python.exists():
        raise FileNotFoundError(f"{python} is missing: run scripts/bootstrap (requirements-scan.txt pins parliament)")
    items = [{"label": d.label, "document": _analysable(d), "community": kind(d) == "identity"} for d in docs]
    proc = subprocess.run([str(python), str(RUNNER)], input=json.dumps(items), capture_output=True, text=True,
                          timeout=600, check=False)
    if proc.returncode:
        raise RuntimeError(f"parliament_runner exit {proc.returncode}: {proc.stderr.strip()[-2000:]}")
    out = []
    for raw in json.loads(proc.stdout):
        detail = raw["detail"] if isinstance(raw["detail"], str) else json.dumps(raw["detail"])
        out.append(Finding(raw["label"], raw["issue"], raw["severity"], detail, _actions(raw)))
    return sorted(set(out), key=lambda f: (f.label, f.issue, f.detail))


def ignores(resource: dict) -> list[dict]:
    return ((resource.get("Metadata") or {}).get("parliament") or {}).get("ignore") or []


def _covers(ignore: dict, finding: Finding) -> bool:
    if ignore.get("issue") != finding.issue:
        return False
    listed = {a.lower() for a in ignore.get("actions") or []}
    return not listed or (bool(finding.actions) and finding.actions <= listed)


def accepted(doc: documents.Document, finding: Finding, resource: dict) -> bool:
    """True if the finding is one this module explains (see the docstring), or a Metadata suppression covers it."""
    if kind(doc) == "resource":
        if finding.issue == "RESOURCE_STAR":
            return True
        return any(issue == finding.issue and re.search(pattern, finding.detail)
                   for issue, pattern in RESOURCE_POLICY_FALSE_POSITIVES)
    return any(_covers(ignore, finding) for ignore in ignores(resource))


def unused_ignores(findings: list[Finding], templates: Path = documents.TEMPLATES) -> list[str]:
    """Metadata suppressions that cover no finding: stale, and misleading to a reviewer."""
    out = []
    for path in sorted(templates.glob("*.json")):
        for logical, resource in json.loads(path.read_text()).get("Resources", {}).items():
            mine = [f for f in findings if f.label.startswith(f"{path.stem}.{logical}.")]
            for ignore in ignores(resource):
                if not any(_covers(ignore, f) for f in mine):
                    out.append(f"{path.stem}.{logical}: parliament ignore {ignore.get('issue')} covers no finding")
    return out
