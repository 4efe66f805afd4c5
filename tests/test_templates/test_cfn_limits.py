"""Every stack of dev and prod fits CloudFormation's request limits as Sceptre sends it, with room to grow.

Sceptre sends each stack's body inline (``TemplateBody``: the project sets no
``template_bucket_name``, whose upload cannot use our KMS key; docs/deployment.md), so each body
must stay within 51,200 bytes; the nested parent (``config/nested-<env>/main.yaml``) is sent the same
way and its children go by URL (1 MB). The limits and AWS's messages are the emulator's
(``extensions/cfn_limits.py``), the same the emulator refuses a launch with. Bodies are read through
Sceptre's own objects (``stack.template.body``), so what is measured is what is sent.

Room to grow: each inline body stays below ``HEADROOM`` of the limit, cfn-lint's own threshold for
"approaching a limit" (its ``LIMITS["threshold"]``, 0.9). A stack past it is split by concern
before it can fail a deployment. The measured sizes are in docs/deployment.md ("Template sizes").
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import pytest

from bluegreen.environments import stacks

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "emulator") not in sys.path:
    sys.path.insert(0, str(ROOT / "emulator"))

from bluegreen_emulator.extensions import cfn_limits  # noqa: E402 - after sys.path has the emulator folder; standard library only at import

ENVS = ("dev", "prod")
HEADROOM = 0.9
#: The longest S3 bucket name there is: the parent's TemplateURLs as long as they can get.
LONGEST_BUCKET = "b" * 63


@functools.cache
def sent_bodies() -> dict[str, str]:
    """stack -> body as Sceptre sends it, for every stack of dev and prod and both nested parents
    (read once, when the first test needs it: not at collection)."""
    found = {}
    for env in ENVS:
        # With the data-centre link on, so the stacks dev leaves off by default are measured too.
        found.update({s.name: s.template.body for s in stacks(ROOT, env, {"datacentre_link": "vpn"})})
        found.update({s.name: s.template.body
                      for s in stacks(ROOT, f"nested-{env}", {"packaging_bucket": LONGEST_BUCKET})})
    return found


#: The stack names, from the config files (cheap at collection); the test below checks they are Sceptre's.
NAMES = sorted(str(p.relative_to(ROOT / "config").with_suffix(""))
               for env in ENVS for p in [*(ROOT / "config" / env).glob("*/*.yaml"),
                                         *(ROOT / "config" / f"nested-{env}").glob("*.yaml")]
               if p.name != "config.yaml")


def template(body: str) -> dict:
    return cfn_limits.parse(body)


def test_template_bucket_name__no_stack__sets_it():
    # Sceptre's upload (sceptre/template.py, upload_to_s3) always sends ServerSideEncryption: AES256,
    # which S3 applies instead of the bucket's default KMS key: our templates would not be encrypted
    # with our key. Every stack goes inline instead, which this file holds under the limits.
    uploading = [s.name for env in ENVS for s in stacks(ROOT, env) if s.template_bucket_name]

    assert uploading == []


def test_bodies__every_stack_of_dev_prod_and_the_nested_parents__measured():
    names = set(sent_bodies())

    assert {"dev/networking/network", "prod/networking/network", "nested-prod/main", "nested-dev/main"} <= names
    assert names == set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_inline_body__as_sceptre_sends_it__within_every_cloudformation_limit(name):
    body = sent_bodies()[name]
    assert cfn_limits.problem(body, by_url=False) is None, f"{name}: CloudFormation would refuse it"


@pytest.mark.parametrize("name", NAMES)
def test_inline_body__room_to_grow__below_the_headroom_of_each_limit(name):
    body = sent_bodies()[name]
    size = len(body.encode())
    counts = {section: len(template(body).get(section) or {}) for section in cfn_limits.SECTION_QUOTAS}

    assert size <= HEADROOM * cfn_limits.INLINE_BODY_MAX_BYTES, (
        f"{name}: {size} bytes, over {HEADROOM:.0%} of {cfn_limits.INLINE_BODY_MAX_BYTES}: split the stack by concern")
    for section, (maximum, _) in cfn_limits.SECTION_QUOTAS.items():
        assert counts[section] <= HEADROOM * maximum, f"{name}: {counts[section]} {section} of at most {maximum}"


def test_nested_children__by_url__within_the_url_limits():
    parent = template(sent_bodies()["nested-prod/main"])
    children = {logical: r["Properties"]["TemplateURL"] for logical, r in parent["Resources"].items()
                if r["Type"] == "AWS::CloudFormation::Stack"}
    files = {url.rsplit("/", 2)[-2] for url in children.values()}  # .../templates/<stack>/<sha256>.json

    assert files, "the parent nests no stacks"
    for stack in sorted(files):
        body = (ROOT / "templates" / f"{stack}.json").read_text()
        assert cfn_limits.problem(body, by_url=True) is None, f"templates/{stack}.json as a nested child"


def test_emulator_rule__the_network_body_before_this_fix__refused():
    # The network stack as Sceptre sent it before (indented JSON, 84,500 bytes): the emulator refuses it.
    network = sent_bodies()["dev/networking/network"]
    indented = json.dumps(template(network), indent=2, sort_keys=True) + "\n"

    assert len(indented.encode()) > cfn_limits.INLINE_BODY_MAX_BYTES
    assert "Member must have length less than or equal to 51200" in cfn_limits.problem(indented, by_url=False)
