"""ELBv2 trust stores (mutual TLS at the ALBs), which moto 5.2 lacks entirely, and the listener's
``MutualAuthentication``, which moto drops.

As AWS does, a trust store is created only from a CA bundle that is in S3 and is a PEM bundle of CA
certificates (CaCertificatesBundleNotFound / InvalidCaCertificatesBundle otherwise), under a name of
at most 32 letters, digits and hyphens that no other trust store has; a revocation list is added only
from a CRL that is in S3 and parses (RevocationContentNotFound / InvalidRevocationContent); a trust
store a listener uses cannot be deleted (TrustStoreInUse). A listener's MutualAuthentication in verify
mode must name a trust store that exists (TrustStoreNotFound) and is then what DescribeListeners shows.
(AWS: CreateTrustStore, AddTrustStoreRevocations, DeleteTrustStore and the listener's
MutualAuthentication in the Elastic Load Balancing API reference and
https://docs.aws.amazon.com/elasticloadbalancing/latest/application/mutual-authentication.html.)

The API: Create/Describe/Modify/DeleteTrustStore(s), Add/DescribeTrustStoreRevocations, through
moto's ELBv2 backend and responses, so the phantom check and any client see them. Not modelled: the
handshake itself (no traffic flows through the emulator; the rehearsal's HAProxy verifies client
certificates, tests/test_rehearsal/test_mtls_edge.py).
"""

from __future__ import annotations

import itertools
import re
from contextlib import suppress
from typing import Any

from cryptography import x509
from moto.core.common_models import CloudFormationModel
from moto.elbv2.exceptions import ELBClientError
from moto.elbv2.models import ELBv2Backend, FakeListener, elbv2_backends
from moto.elbv2.responses import ELBV2Response
from moto.moto_api._internal import mock_random

from ..moto_internals import patch
from ._base import BackendResource, tags_to_list

EXTENSIONS = [
    ("AWS::ElasticLoadBalancingV2::TrustStore", "new model and API: the CA bundle must be in S3 and a PEM bundle of CA certificates; unique name <= 32; not "
                                                "deleted while a listener uses it"),
    ("AWS::ElasticLoadBalancingV2::TrustStoreRevocation", "new model and API: the CRL must be in S3 and parse"),
    ("AWS::ElasticLoadBalancingV2::Listener", "MutualAuthentication kept and shown by DescribeListeners; verify mode needs an existing trust store"),
]

_NAME = re.compile(r"^([a-zA-Z0-9]+-)*[a-zA-Z0-9]+$")
_PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)
MODES = ("off", "passthrough", "verify")


def _error(code: str, message: str) -> ELBClientError:
    return ELBClientError(code, message)


def _stores(backend: ELBv2Backend) -> dict[str, dict[str, Any]]:
    if not hasattr(backend, "_bg_trust_stores"):
        backend._bg_trust_stores = {}
        backend._bg_revocation_ids = itertools.count(1)
    return backend._bg_trust_stores


def _s3_bytes(backend: ELBv2Backend, bucket: str, key: str, version: str | None) -> bytes | None:
    from moto.s3.models import s3_backends

    with suppress(Exception):  # no such bucket: as no such key
        obj = s3_backends[backend.account_id]["aws"].get_object(bucket, key, version_id=version or None)
        return obj.value if obj is not None else None
    return None


def _ca_count(data: bytes | None, bucket: str, key: str) -> int:
    if data is None:
        raise _error("CaCertificatesBundleNotFound", f"The specified CA certificates bundle s3://{bucket}/{key} does not exist.")
    blocks = _PEM_CERT.findall(data)
    if not blocks:
        raise _error("InvalidCaCertificatesBundle", "The CA certificates bundle holds no PEM certificate.")
    for block in blocks:
        try:
            cert = x509.load_pem_x509_certificate(block)
            is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except (ValueError, x509.ExtensionNotFound):
            is_ca = False
        if not is_ca:
            raise _error("InvalidCaCertificatesBundle", "The CA certificates bundle holds a certificate that is not a CA.")
    return len(blocks)


def _get(self: ELBv2Backend, arn: str) -> dict[str, Any]:
    store = _stores(self).get(arn)
    if store is None:
        raise _error("TrustStoreNotFound", f"The specified trust store does not exist: {arn}")
    return store


def create_trust_store(self: ELBv2Backend, name: str, bucket: str, key: str, version: str | None = None,
                       tags: list[dict[str, str]] | None = None) -> dict[str, Any]:
    if not name or len(name) > 32 or not _NAME.match(name):
        raise _error("ValidationError", f"Trust store name '{name}' must be 1-32 letters, digits and hyphens, "
                                        "not starting or ending with a hyphen")
    if any(s["Name"] == name for s in _stores(self).values()):
        raise _error("DuplicateTrustStoreName", f"A trust store with the name '{name}' already exists.")
    count = _ca_count(_s3_bytes(self, bucket, key, version), bucket, key)
    arn = f"arn:aws:elasticloadbalancing:{self.region_name}:{self.account_id}:truststore/{name}/{mock_random.get_random_hex(16)}"
    store = {"Name": name, "TrustStoreArn": arn, "Status": "ACTIVE", "NumberOfCaCertificates": count,
             "TotalRevokedEntries": 0, "_bundle": (bucket, key, version), "_revocations": {}, "_tags": tags or []}
    _stores(self)[arn] = store
    return store


def modify_trust_store(self: ELBv2Backend, arn: str, bucket: str, key: str, version: str | None = None) -> dict[str, Any]:
    store = _get(self, arn)
    store["NumberOfCaCertificates"] = _ca_count(_s3_bytes(self, bucket, key, version), bucket, key)
    store["_bundle"] = (bucket, key, version)
    return store


def describe_trust_stores(self: ELBv2Backend, arns: list[str] | None = None, names: list[str] | None = None) -> list[dict[str, Any]]:
    stores = list(_stores(self).values())
    if arns:
        stores = [_get(self, a) for a in arns]
    if names:
        stores = [s for s in stores if s["Name"] in names]
        if len(stores) < len(set(names)):
            raise _error("TrustStoreNotFound", "One or more of the specified trust stores do not exist.")
    return stores


def delete_trust_store(self: ELBv2Backend, arn: str) -> None:
    _get(self, arn)
    users = [listener.arn for balancer in self.load_balancers.values() for listener in balancer.listeners.values()
             if (getattr(listener, "mutual_authentication", None) or {}).get("TrustStoreArn") == arn]
    if users:
        raise _error("TrustStoreInUse", f"The trust store is in use by listener(s) {', '.join(users)}.")
    _stores(self).pop(arn)


def add_trust_store_revocations(self: ELBv2Backend, arn: str, contents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    store = _get(self, arn)
    added = []
    for content in contents:
        bucket, key = content.get("S3Bucket", ""), content.get("S3Key", "")
        data = _s3_bytes(self, bucket, key, content.get("S3ObjectVersion"))
        if data is None:
            raise _error("RevocationContentNotFound", f"The specified revocation file s3://{bucket}/{key} does not exist.")
        if (content.get("RevocationType") or "CRL") != "CRL":
            raise _error("InvalidRevocationContent", "RevocationType must be CRL.")
        try:
            crl = x509.load_pem_x509_crl(data)
        except ValueError:
            try:
                crl = x509.load_der_x509_crl(data)
            except ValueError:
                raise _error("InvalidRevocationContent", "The revocation file is not a certificate revocation list.") from None
        revocation = {"TrustStoreArn": arn, "RevocationId": next(self._bg_revocation_ids),
                      "RevocationType": "CRL", "NumberOfRevokedEntries": len(list(crl))}
        store["_revocations"][revocation["RevocationId"]] = revocation
        store["TotalRevokedEntries"] += revocation["NumberOfRevokedEntries"]
        added.append(revocation)
    return added


def describe_trust_store_revocations(self: ELBv2Backend, arn: str, ids: list[int] | None = None) -> list[dict[str, Any]]:
    revocations = _get(self, arn)["_revocations"]
    if ids:
        missing = [i for i in ids if int(i) not in revocations]
        if missing:
            raise _error("RevocationIdNotFound", f"The specified revocation ID(s) {missing} do not exist.")
        return [revocations[int(i)] for i in ids]
    return list(revocations.values())


def remove_trust_store_revocations(self: ELBv2Backend, arn: str, ids: list[int]) -> None:
    store = _get(self, arn)
    for i in ids:
        revocation = store["_revocations"].pop(int(i), None)
        if revocation:
            store["TotalRevokedEntries"] -= revocation["NumberOfRevokedEntries"]


def _public(store: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in store.items() if not k.startswith("_")}


# ----------------------------------------------------------------------------- the API (query protocol)
def _r_create_trust_store(self: ELBV2Response):  # moto's ActionResult
    from moto.core.responses import ActionResult

    store = self.elbv2_backend.create_trust_store(
        self._get_param("Name"), self._get_param("CaCertificatesBundleS3Bucket"), self._get_param("CaCertificatesBundleS3Key"),
        self._get_param("CaCertificatesBundleS3ObjectVersion"), self._get_param("Tags", []))
    return ActionResult({"TrustStores": [_public(store)]})


def _r_describe_trust_stores(self: ELBV2Response):
    from moto.core.responses import ActionResult

    stores = self.elbv2_backend.describe_trust_stores(self._get_param("TrustStoreArns", []), self._get_param("Names", []))
    return ActionResult({"TrustStores": [_public(s) for s in stores]})


def _r_modify_trust_store(self: ELBV2Response):
    from moto.core.responses import ActionResult

    store = self.elbv2_backend.modify_trust_store(
        self._get_param("TrustStoreArn"), self._get_param("CaCertificatesBundleS3Bucket"),
        self._get_param("CaCertificatesBundleS3Key"), self._get_param("CaCertificatesBundleS3ObjectVersion"))
    return ActionResult({"TrustStores": [_public(store)]})


def _r_delete_trust_store(self: ELBV2Response):
    from moto.core.responses import ActionResult

    self.elbv2_backend.delete_trust_store(self._get_param("TrustStoreArn"))
    return ActionResult({})


def _r_add_trust_store_revocations(self: ELBV2Response):
    from moto.core.responses import ActionResult

    added = self.elbv2_backend.add_trust_store_revocations(self._get_param("TrustStoreArn"),
                                                            self._get_param("RevocationContents", []))
    return ActionResult({"TrustStoreRevocations": added})


def _r_describe_trust_store_revocations(self: ELBV2Response):
    from moto.core.responses import ActionResult

    found = self.elbv2_backend.describe_trust_store_revocations(self._get_param("TrustStoreArn"),
                                                                self._get_param("RevocationIds", []))
    return ActionResult({"TrustStoreRevocations": found})


BACKEND_METHODS = {
    "create_trust_store": create_trust_store, "modify_trust_store": modify_trust_store,
    "describe_trust_stores": describe_trust_stores, "delete_trust_store": delete_trust_store,
    "add_trust_store_revocations": add_trust_store_revocations,
    "describe_trust_store_revocations": describe_trust_store_revocations,
    "remove_trust_store_revocations": remove_trust_store_revocations,
}
RESPONSE_METHODS = {
    "create_trust_store": _r_create_trust_store, "describe_trust_stores": _r_describe_trust_stores,
    "modify_trust_store": _r_modify_trust_store, "delete_trust_store": _r_delete_trust_store,
    "add_trust_store_revocations": _r_add_trust_store_revocations,
    "describe_trust_store_revocations": _r_describe_trust_store_revocations,
}


# ----------------------------------------------------------------------------- the listener's MutualAuthentication
def mutual_authentication(backend: ELBv2Backend, properties: dict[str, Any]) -> dict[str, Any] | None:
    """The listener's MutualAuthentication as AWS keeps it, or the error AWS gives."""
    given = properties.get("MutualAuthentication")
    if not given:
        return None
    mode = str(given.get("Mode") or "off").lower()
    if mode not in MODES:
        raise _error("ValidationError", f"MutualAuthentication Mode '{given.get('Mode')}' must be one of {', '.join(MODES)}")
    if mode != "off" and str(properties.get("Protocol", "")).upper() != "HTTPS":
        raise _error("ValidationError", "Mutual authentication is supported only on HTTPS listeners")
    out: dict[str, Any] = {"Mode": mode}
    if mode == "verify":
        arn = given.get("TrustStoreArn")
        if not arn:
            raise _error("ValidationError", "A trust store is required when the mutual authentication mode is verify")
        _get(backend, arn)
        out["TrustStoreArn"] = arn
        out["IgnoreClientCertificateExpiry"] = str(given.get("IgnoreClientCertificateExpiry", False)).lower() == "true"
        out["AdvertiseTrustStoreCaNames"] = str(given.get("AdvertiseTrustStoreCaNames") or "off").lower()
        out["TrustStoreAssociationStatus"] = "active"
    elif given.get("TrustStoreArn"):
        raise _error("ValidationError", f"A trust store cannot be given in {mode} mode")
    return out


_original_listener_create = FakeListener.create_from_cloudformation_json.__func__
_original_listener_update = FakeListener.update_from_cloudformation_json.__func__


def _listener_create(cls: type, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str,
                     **kwargs: Any) -> FakeListener:
    checked = mutual_authentication(elbv2_backends[account_id][region_name], cloudformation_json.get("Properties") or {})
    listener = _original_listener_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    listener.mutual_authentication = checked
    return listener


def _listener_update(cls: type, original_resource: Any, new_resource_name: str, cloudformation_json: Any,
                     account_id: str, region_name: str) -> FakeListener:
    checked = mutual_authentication(elbv2_backends[account_id][region_name], cloudformation_json.get("Properties") or {})
    listener = _original_listener_update(cls, original_resource, new_resource_name, cloudformation_json, account_id,
                                         region_name)
    listener.mutual_authentication = checked
    return listener


# ----------------------------------------------------------------------------- CloudFormation models
class TrustStoreResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::ElasticLoadBalancingV2::TrustStore"
    NAME_PROPERTY = "Name"
    GETATT = {
        "TrustStoreArn": lambda r: r.physical_id,
        "NumberOfCaCertificates": lambda r: r._store()["NumberOfCaCertificates"],
        "Status": lambda r: r._store()["Status"],
    }

    def _backend(self) -> ELBv2Backend:
        return elbv2_backends[self.account_id][self.region_name]

    def _store(self) -> dict[str, Any]:
        return _get(self._backend(), self.physical_id)

    def create(self, name: str) -> None:
        p = self.properties
        self.physical_id = create_trust_store(
            self._backend(), p.get("Name") or name[:32], p.get("CaCertificatesBundleS3Bucket", ""),
            p.get("CaCertificatesBundleS3Key", ""), p.get("CaCertificatesBundleS3ObjectVersion"),
            tags_to_list(p.get("Tags")))["TrustStoreArn"]

    def update(self, new_properties: dict[str, Any]) -> None:
        modify_trust_store(self._backend(), self.physical_id, new_properties.get("CaCertificatesBundleS3Bucket", ""),
                           new_properties.get("CaCertificatesBundleS3Key", ""),
                           new_properties.get("CaCertificatesBundleS3ObjectVersion"))
        self._store()["_tags"] = tags_to_list(new_properties.get("Tags"))

    def remove(self) -> None:
        with suppress(ELBClientError):
            if self.physical_id in _stores(self._backend()):
                delete_trust_store(self._backend(), self.physical_id)


class TrustStoreRevocationResource(BackendResource, CloudFormationModel):
    TYPE = "AWS::ElasticLoadBalancingV2::TrustStoreRevocation"
    REPLACE_ON = ("TrustStoreArn", "RevocationContents")
    GETATT = {"RevocationId": lambda r: int(r.physical_id.split("|")[1])}

    def _backend(self) -> ELBv2Backend:
        return elbv2_backends[self.account_id][self.region_name]

    def create(self, name: str) -> None:
        arn = self.properties.get("TrustStoreArn", "")
        added = add_trust_store_revocations(self._backend(), arn, list(self.properties.get("RevocationContents") or []))
        self.physical_id = f"{arn}|{','.join(str(r['RevocationId']) for r in added)}"

    def remove(self) -> None:
        arn, ids = self.physical_id.split("|", 1)
        with suppress(ELBClientError):
            remove_trust_store_revocations(self._backend(), arn, [int(i) for i in ids.split(",") if i])


def install(port: int) -> None:
    for name, func in BACKEND_METHODS.items():
        patch(f"moto.elbv2.models.ELBv2Backend.{name}", func)
    for name, func in RESPONSE_METHODS.items():
        patch(f"moto.elbv2.responses.ELBV2Response.{name}", func)
    patch("moto.elbv2.models.FakeListener.create_from_cloudformation_json", classmethod(_listener_create))
    patch("moto.elbv2.models.FakeListener.update_from_cloudformation_json", classmethod(_listener_update))
