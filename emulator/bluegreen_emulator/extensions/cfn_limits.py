"""CloudFormation's request limits: refused as AWS refuses them, where moto accepts any template.

AWS CloudFormation quotas (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html,
docs/aws-constraints.md): a template body passed in the request (``TemplateBody``) is at most 51,200
bytes; one passed by ``TemplateURL`` at most 1 MB (held here as 1,000,000 bytes, the stricter
reading); a template declares at most 500 resources, 200 outputs, 200 parameters and 200 mappings
(each of at most 200 attributes), its description is at most 1,024 bytes and every resource,
parameter, output and mapping name at most 255 characters.
moto 5.2 checks none of them, so a stack Sceptre sends inline at 84 KB was created here and refused
by AWS. The messages are AWS's own (the ValidationError texts CloudFormation returns), so Sceptre
prints here what it would print on AWS.

Checked on CreateStack, UpdateStack, CreateChangeSet, ValidateTemplate and GetTemplateSummary,
before the request does anything, and on a nested stack's child template (its ``TemplateURL`` read
by the parent's ``AWS::CloudFormation::Stack``: cfn_nested_stacks.py), which fails that resource and
so the parent; ``tests/test_templates/test_cfn_limits.py`` also holds every child template of ours
to the same limits.

Standard library only at import time (the project venv imports ``problem`` and the numbers).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

EXTENSIONS = [
    ("CloudFormation request limits", "TemplateBody over 51,200 bytes, TemplateURL body over 1 MB, more than 500 resources / 200 outputs / 200 parameters / "
                                      "200 mappings: refused with AWS's ValidationError and message (moto: accepted)"),
]

#: "Template body size in a request" (CreateStack, UpdateStack, ValidateTemplate; change sets alike).
INLINE_BODY_MAX_BYTES = 51_200
#: "Template body size in an Amazon S3 object": 1 MB; 1,000,000 is the stricter reading.
URL_BODY_MAX_BYTES = 1_000_000
#: Per-template quotas: section -> (maximum, AWS's "Template format error" message).
SECTION_QUOTAS: dict[str, tuple[int, str]] = {
    "Resources": (500, "Number of resources, {count}, is greater than maximum allowed, {maximum}"),
    "Outputs": (200, "Outputs count {count} is greater than max allowed {maximum}"),
    "Parameters": (200, "Parameter count {count} is greater than max allowed {maximum}"),
    "Mappings": (200, "Mappings count {count} is greater than max allowed {maximum}"),
}
#: "Template description": at most 1,024 bytes.
DESCRIPTION_MAX_BYTES = 1_024
#: "Mapping attributes": at most 200 per mapping.
MAPPING_ATTRIBUTES_MAX = 200
#: "Resource name", "Parameter name", "Output name", "Mapping name": at most 255 characters.
NAME_MAX_CHARS = 255
#: The request actions that carry a template (moto's CloudFormationResponse method names).
ACTIONS = ("create_stack", "update_stack", "create_change_set", "validate_template", "get_template_summary")


def parse(body: str) -> dict[str, Any] | None:
    """The template as a dict (JSON or YAML, short-form tags kept as plain values); None if neither."""
    try:
        loaded = json.loads(body)
    except ValueError:
        import yaml

        class Loader(yaml.SafeLoader):
            pass

        def any_tag(loader: Any, suffix: str, node: Any) -> Any:
            if isinstance(node, yaml.ScalarNode):
                return loader.construct_scalar(node)
            if isinstance(node, yaml.SequenceNode):
                return loader.construct_sequence(node)
            return loader.construct_mapping(node)

        Loader.add_multi_constructor("!", any_tag)
        try:
            loaded = yaml.load(body, Loader=Loader)
        except yaml.YAMLError:
            return None
    return loaded if isinstance(loaded, dict) else None


def problem(body: str, *, by_url: bool) -> str | None:
    """AWS's refusal of this template body, or None. ``by_url``: it came from a TemplateURL."""
    size = len(body.encode("utf-8"))
    if not by_url and size > INLINE_BODY_MAX_BYTES:
        return (f"1 validation error detected: Value '{body}' at 'templateBody' failed to satisfy constraint: "
                f"Member must have length less than or equal to {INLINE_BODY_MAX_BYTES}")
    if by_url and size > URL_BODY_MAX_BYTES:
        return f"Template may not exceed {URL_BODY_MAX_BYTES} bytes in size."
    template = parse(body)
    if template is None:
        return None  # not a template: moto's own parsing says what is wrong
    for section, (maximum, message) in SECTION_QUOTAS.items():
        entries = template.get(section)
        count = len(entries) if isinstance(entries, dict) else 0
        if count > maximum:
            return "Template format error: " + message.format(count=count, maximum=maximum)
    # The quotas below are AWS's; their messages are modelled in the same form (no AWS text at hand).
    description = template.get("Description")
    if isinstance(description, str) and len(description.encode("utf-8")) > DESCRIPTION_MAX_BYTES:
        return (f"Template format error: Description length {len(description.encode('utf-8'))} is greater than "
                f"max allowed {DESCRIPTION_MAX_BYTES}")
    for section in ("Resources", "Parameters", "Outputs", "Mappings"):
        for name in template.get(section) or {}:
            if len(str(name)) > NAME_MAX_CHARS:
                return f"Template format error: {section} name {name} is longer than {NAME_MAX_CHARS} characters"
    for name, mapping in (template.get("Mappings") or {}).items():
        count = len(mapping) if isinstance(mapping, dict) else 0
        if count > MAPPING_ATTRIBUTES_MAX:
            return (f"Template format error: Mapping {name} attributes count {count} is greater than "
                    f"max allowed {MAPPING_ATTRIBUTES_MAX}")
    return None


def _checked(action: Callable[[Any], Any]) -> Callable[[Any], Any]:
    @functools.wraps(action)
    def check_then_act(self: Any) -> Any:
        from moto.cloudformation.exceptions import ValidationError

        body, url = self._get_param("TemplateBody"), self._get_param("TemplateURL")
        if body:
            found = problem(body, by_url=False)
        elif url:
            found = problem(self._get_stack_from_s3_url(url), by_url=True)
        else:
            found = None
        if found:
            raise ValidationError(message=found)
        return action(self)

    return check_then_act


def install(port: int) -> None:
    from moto.cloudformation.responses import CloudFormationResponse

    from ..moto_internals import patch

    for name in ACTIONS:
        patch(f"moto.cloudformation.responses.CloudFormationResponse.{name}", _checked(getattr(CloudFormationResponse, name)))
