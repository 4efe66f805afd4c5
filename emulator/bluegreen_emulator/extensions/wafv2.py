"""WAFv2: WebACL, WebACLAssociation, LoggingConfiguration.

moto 5.2 implements the WAFv2 API but has no CloudFormation model for it (phantoms).
Rules are stored, never evaluated: no request is ever inspected.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.wafv2.exceptions import WAFNonexistentItemException
from moto.wafv2.models import wafv2_backends

from ._base import BackendResource, tags_to_list

EXTENSIONS = [
    ("AWS::WAFv2::WebACL", "new model: create/update/delete_web_acl (rules stored, not evaluated); Ref = Name|Id|Scope, GetAtt Arn, Id"),
    ("AWS::WAFv2::WebACLAssociation", "new model: associate/disassociate_web_acl"),
    ("AWS::WAFv2::LoggingConfiguration", "new model: put/delete_logging_configuration"),
]


def _backend(resource: BackendResource, scope: str = "REGIONAL"):
    # CLOUDFRONT-scoped ACLs live in us-east-1, which is also this project's region.
    return wafv2_backends[resource.account_id][resource.region_name if scope == "REGIONAL" else "us-east-1"]


def _web_acl_by_arn(resource: BackendResource, arn: str) -> Any:
    for scope in ("REGIONAL", "CLOUDFRONT"):
        wacl = _backend(resource, scope).wacls.get(arn)
        if wacl is not None:
            return wacl
    return None


class WebACLResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::WAFv2::WebACL"
    NAME_PROPERTY = "Name"
    ATTRIBUTES = ("Arn", "Id", "Capacity", "LabelNamespace")
    REPLACE_ON = ("Scope",)

    def create(self, name: str) -> None:
        p = self.properties
        wacl = _backend(self, p.get("Scope", "REGIONAL")).create_web_acl(
            name=name,
            visibility_config=p.get("VisibilityConfig"),
            default_action=p.get("DefaultAction"),
            scope=p.get("Scope", "REGIONAL"),
            description=p.get("Description"),
            tags=tags_to_list(p.get("Tags")),
            rules=list(p.get("Rules") or []),
            association_config=p.get("AssociationConfig"),
            captcha_config=p.get("CaptchaConfig"),
            challenge_config=p.get("ChallengeConfig"),
            custom_response_bodies=p.get("CustomResponseBodies"),
            token_domains=p.get("TokenDomains"),
        )
        self.arn, self.wacl_id, self.name = wacl.arn, wacl.id, wacl.name
        self.physical_id = f"{wacl.name}|{wacl.id}|{p.get('Scope', 'REGIONAL')}"

    def update(self, new_properties: dict[str, Any]) -> None:
        p = new_properties
        backend = _backend(self, p.get("Scope", "REGIONAL"))
        wacl = backend.wacls[self.arn]
        backend.update_web_acl(
            name=self.name,
            _id=self.wacl_id,
            default_action=p.get("DefaultAction"),
            rules=list(p.get("Rules") or []),
            description=p.get("Description"),
            visibility_config=p.get("VisibilityConfig"),
            lock_token=wacl.lock_token,
            custom_response_bodies=p.get("CustomResponseBodies"),
            captcha_config=p.get("CaptchaConfig"),
            challenge_config=p.get("ChallengeConfig"),
            token_domains=p.get("TokenDomains"),
            association_config=p.get("AssociationConfig"),
        )

    def remove(self) -> None:
        scope = self.properties.get("Scope", "REGIONAL")
        backend = _backend(self, scope)
        wacl = backend.wacls.get(self.arn)
        if wacl is None:
            return
        backend.delete_web_acl(self.name, scope, self.wacl_id, wacl.lock_token)

    def attribute(self, name: str) -> Any:
        if name == "Arn":
            return self.arn
        if name == "Id":
            return self.wacl_id
        if name == "Capacity":
            return 3
        return f"awswaf:{self.account_id}:webacl:{self.name}:"


class WebACLAssociationResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::WAFv2::WebACLAssociation"
    REPLACE_ON = ("ResourceArn", "WebACLArn")

    def create(self, name: str) -> None:
        p = self.properties
        _backend(self).associate_web_acl(p["WebACLArn"], p["ResourceArn"])
        self.physical_id = f"{p['ResourceArn']}|{p['WebACLArn']}"

    def remove(self) -> None:
        wacl = _web_acl_by_arn(self, self.properties["WebACLArn"])
        if wacl is not None and self.properties["ResourceArn"] in wacl.associated_resources:
            wacl.associated_resources.remove(self.properties["ResourceArn"])


class LoggingConfigurationResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::WAFv2::LoggingConfiguration"
    REPLACE_ON = ("ResourceArn",)

    def put(self, p: dict[str, Any]) -> None:
        _backend(self).put_logging_configuration(
            p["ResourceArn"],
            list(p.get("LogDestinationConfigs") or []),
            p.get("RedactedFields"),
            False,
            p.get("LoggingFilter"),
        )
        self.physical_id = p["ResourceArn"]

    def remove(self) -> None:
        with suppress(WAFNonexistentItemException):
            _backend(self).delete_logging_configuration(self.physical_id)
