"""ACM: the Certificate model moto 5.2 lacks (a phantom): request_certificate
(PENDING_VALIDATION, ISSUED after moto's ACM_VALIDATION_WAIT), tags updated in place,
delete_certificate.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from moto.acm.exceptions import CertificateNotFound
from moto.acm.models import acm_backends
from moto.core.common_models import CloudFormationModel

from ._base import BackendResource, tags_to_list

EXTENSIONS = [
    ("AWS::CertificateManager::Certificate", "new model: request_certificate (PENDING_VALIDATION, ISSUED after moto's ACM_VALIDATION_WAIT) / "
                                             "delete_certificate"),
]


class CertificateResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::CertificateManager::Certificate"
    REPLACE_ON = ("DomainName", "SubjectAlternativeNames", "ValidationMethod", "CertificateAuthorityArn", "KeyAlgorithm")

    def _backend(self):
        return acm_backends[self.account_id][self.region_name]

    def create(self, name: str) -> None:
        p = self.properties
        self.physical_id = self._backend().request_certificate(
            domain_name=p["DomainName"],
            idempotency_token=None,
            subject_alt_names=list(p.get("SubjectAlternativeNames") or []),
            tags=tags_to_list(p.get("Tags")),
            cert_authority_arn=p.get("CertificateAuthorityArn"),
        )

    def update(self, new_properties: dict[str, Any]) -> None:
        certificate = self._backend().get_certificate(self.physical_id)
        certificate.tags.clear()
        certificate.tags.add(tags_to_list(new_properties.get("Tags")))

    def remove(self) -> None:
        with suppress(CertificateNotFound):
            self._backend().delete_certificate(self.physical_id)
