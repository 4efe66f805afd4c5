"""DMS certificates, which moto 5.2 lacks: the CA a DMS endpoint verifies its database against.

As AWS does (ImportCertificate, AWS::DMS::Certificate): the PEM must hold certificates that parse
(InvalidCertificateFault), the identifier is unique (ResourceAlreadyExistsFault), and a certificate an
endpoint uses cannot be deleted (InvalidResourceStateFault). An endpoint whose SslMode is verify-ca or
verify-full must name a certificate that exists (the dms extension's endpoint model asks ``known``).
API: ImportCertificate, DescribeCertificates, DeleteCertificate through moto's DMS backend and
responses, so the phantom check and any client see them. Not modelled: the TLS handshake.
"""

from __future__ import annotations

import json
import re
from typing import Any

from cryptography import x509
from moto.core.common_models import CloudFormationModel
from moto.dms.exceptions import DmsClientError

from ..moto_internals import patch
from ._base import BackendResource

EXTENSIONS = [
    ("AWS::DMS::Certificate", "new model and API: the PEM must parse; unique identifier; not deleted while an endpoint uses it"),
]


def _certificates(backend: Any) -> dict[str, dict[str, Any]]:
    if not hasattr(backend, "_bg_certificates"):
        backend._bg_certificates = {}
    return backend._bg_certificates


def known(backend: Any, arn: str) -> bool:
    return arn in _certificates(backend)


#: AWS::DMS::Certificate CertificateIdentifier: a letter first, letters, digits and hyphens, no "--", no hyphen last.
IDENTIFIER = re.compile(r"^[A-Za-z](?!.*--)[A-Za-z0-9-]{0,254}(?<!-)$")


def import_certificate(self: Any, identifier: str, pem: str) -> dict[str, Any]:
    if not IDENTIFIER.match(identifier or ""):
        raise DmsClientError("InvalidParameterValueException", f"Invalid certificate identifier {identifier!r}: begin with a "
                             "letter, only ASCII letters, digits and hyphens, no two consecutive hyphens, no hyphen at the end")
    try:
        certificates = x509.load_pem_x509_certificates((pem or "").encode())
    except ValueError as err:
        raise DmsClientError("InvalidCertificateFault", f"The certificate is not valid: {err}") from None
    if any(c["CertificateIdentifier"] == identifier for c in _certificates(self).values()):
        raise DmsClientError("ResourceAlreadyExistsFault", f"Certificate {identifier} already exists")
    arn = f"arn:aws:dms:{self.region_name}:{self.account_id}:cert:{identifier.upper().replace('-', '')[:26]}"
    first = certificates[0]
    _certificates(self)[arn] = {
        "CertificateIdentifier": identifier, "CertificateArn": arn, "CertificatePem": pem,
        "CertificateOwner": self.account_id, "KeyLength": getattr(first.public_key(), "key_size", 0),
        "SigningAlgorithm": first.signature_algorithm_oid._name,
        "ValidFromDate": first.not_valid_before_utc.timestamp(), "ValidToDate": first.not_valid_after_utc.timestamp(),
    }
    return _certificates(self)[arn]


def delete_certificate(self: Any, arn: str) -> dict[str, Any]:
    if arn not in _certificates(self):
        raise DmsClientError("ResourceNotFoundFault", f"Certificate {arn} not found")
    users = [e.endpoint_arn for e in self.endpoints.values() if getattr(e, "certificate_arn", None) == arn]
    if users:
        raise DmsClientError("InvalidResourceStateFault", f"Certificate {arn} is in use by {', '.join(users)}")
    return _certificates(self).pop(arn)


def _r_import_certificate(self: Any) -> str:
    cert = self.dms_backend.import_certificate(self._get_param("CertificateIdentifier"), self._get_param("CertificatePem"))
    return json.dumps({"Certificate": cert})


def _r_describe_certificates(self: Any) -> str:
    found = list(_certificates(self.dms_backend).values())
    for f in self._get_param("Filters") or []:
        if f.get("Name") == "certificate-arn":
            found = [c for c in found if c["CertificateArn"] in f.get("Values", [])]
        elif f.get("Name") == "certificate-id":
            found = [c for c in found if c["CertificateIdentifier"] in f.get("Values", [])]
    return json.dumps({"Certificates": found})


def _r_delete_certificate(self: Any) -> str:
    return json.dumps({"Certificate": self.dms_backend.delete_certificate(self._get_param("CertificateArn"))})


class CertificateResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::DMS::Certificate"
    NAME_PROPERTY = "CertificateIdentifier"
    REPLACE_ON = ("CertificateIdentifier", "CertificatePem", "CertificateWallet")

    def _backend(self) -> Any:
        from moto.dms.models import dms_backends

        return dms_backends[self.account_id][self.region_name]

    def create(self, name: str) -> None:
        if self.properties.get("CertificateWallet"):
            raise DmsClientError("InvalidParameterValueException", "the emulator models PEM certificates only")
        self.physical_id = import_certificate(self._backend(), name, str(self.properties.get("CertificatePem") or ""))["CertificateArn"]

    def remove(self) -> None:
        if known(self._backend(), self.physical_id):
            delete_certificate(self._backend(), self.physical_id)


def install(port: int) -> None:
    patch("moto.dms.models.DatabaseMigrationServiceBackend.import_certificate", import_certificate)
    patch("moto.dms.models.DatabaseMigrationServiceBackend.delete_certificate", delete_certificate)
    patch("moto.dms.responses.DatabaseMigrationServiceResponse.import_certificate", _r_import_certificate)
    patch("moto.dms.responses.DatabaseMigrationServiceResponse.describe_certificates", _r_describe_certificates)
    patch("moto.dms.responses.DatabaseMigrationServiceResponse.delete_certificate", _r_delete_certificate)
