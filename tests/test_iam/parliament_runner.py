"""Run parliament over policy documents; executed by the scanner venv's Python (.venv-scan).

    .venv-scan/bin/python tests/test_iam/parliament_runner.py < documents.json > findings.json

stdin: a JSON list of {"label": ..., "document": {...}, "community": bool}; stdout: a JSON list of
{"label", "issue", "severity", "title", "detail", "location"} for every finding at or above LOW
(parliament's own CLI default). ``community`` turns on the community auditors: the checks for
privilege escalation, credential exposure and permissions management an auditor asks about.
Standard library and parliament only, so it runs in the scanner venv without this project.
"""

import json
import sys
from pathlib import Path

import parliament

SEVERITIES = ["MUTE", "INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"]


def main() -> int:
    items = json.load(sys.stdin)
    # As parliament's CLI does for --include-community-auditors: their issues' titles and severities.
    parliament.override_config(Path(parliament.__file__).parent / "community_auditors" / "config_override.yaml")
    findings = []
    for item in items:
        policy = parliament.analyze_policy_string(json.dumps(item["document"]), include_community_auditors=item["community"])
        for finding in policy.findings:
            finding = parliament.enhance_finding(finding)
            if SEVERITIES.index(finding.severity) < SEVERITIES.index("LOW"):
                continue
            findings.append({"label": item["label"], "issue": finding.issue, "severity": finding.severity,
                             "title": finding.title, "detail": finding.detail,
                             "location": json.loads(json.dumps(finding.location, default=str))})
    json.dump(findings, sys.stdout, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
