"""``!upload_trust_store``: put the clients' CA bundle (and revocation list) where the trust store reads
them, before the alb stack is created or updated; refuse the launch when the bundle is not there.

    hooks:
      before_create: &trust_store
        - !upload_trust_store
          bucket: !stack_output {{ environment }}/operations/artifacts.yaml::ArtifactBucketName
          ca_bundle_key: "{{ client_ca_bundle_key }}"
          ca_bundle_file: "{{ client_ca_bundle_file }}"     # "": someone else uploads it (prod's PKI owner)
          crl_key: "{{ client_crl_key }}"                   # "": no revocation list
          crl_file: "{{ client_crl_file }}"
      before_update: *trust_store

A file named is checked (every PEM block of the bundle is a CA certificate; a CRL parses) and written
with SSE-KMS under the bucket's default key when the object's content differs. Without a file, the
object must already be there: ELB cannot create a trust store from a missing bundle, and prod must not
get as far as trying (``bluegreen.trust_store``, which the preflight uses too, says what to upload).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sceptre.exceptions import InvalidHookArgumentTypeError, InvalidHookArgumentValueError
from sceptre.hooks import Hook

from bluegreen import sceptre_stack, trust_store
from bluegreen.s3_objects import default_kms_key, object_exists

KEYS = frozenset({"bucket", "ca_bundle_key", "ca_bundle_file", "crl_key", "crl_file"})


class UploadTrustStore(Hook):
    def __init__(self, argument: Any = None, stack: Any = None, *, s3_client: Any = None,
                 project_root: Path | None = None):
        super().__init__(argument, stack)
        self._s3_client = s3_client
        self._project_root = project_root

    def run(self) -> list[str]:
        arg = self.argument
        if not isinstance(arg, dict) or not {"bucket", "ca_bundle_key"} <= set(arg) <= KEYS:
            raise InvalidHookArgumentTypeError(
                f"!upload_trust_store takes a dict with bucket and ca_bundle_key (and ca_bundle_file, crl_key, "
                f"crl_file); got {arg!r}")
        bucket = arg["bucket"]
        s3 = self._s3()
        done = []
        for kind, key, file in (("CA bundle", arg["ca_bundle_key"], arg.get("ca_bundle_file") or ""),
                                ("revocation list", arg.get("crl_key") or "", arg.get("crl_file") or "")):
            if not key:
                if kind == "CA bundle":
                    raise InvalidHookArgumentValueError("!upload_trust_store: ca_bundle_key is empty (config key "
                                                        "client_ca_bundle_key): both ALBs need a trust store")
                continue
            if file:
                data = (self._root() / file).read_bytes() if (self._root() / file).is_file() else None
                if data is None:
                    raise InvalidHookArgumentValueError(f"!upload_trust_store: {file} (the {kind} file) does not exist")
                try:
                    trust_store.check(kind, data)
                except trust_store.TrustStoreError as err:
                    raise InvalidHookArgumentValueError(f"!upload_trust_store: {file}: {err}") from err
                if trust_store.same_object(s3, bucket, key, data):
                    done.append(f"s3://{bucket}/{key} already holds {file}")
                    continue
                kms = default_kms_key(s3, bucket)
                if not kms:
                    raise InvalidHookArgumentValueError(
                        f"!upload_trust_store: bucket {bucket!r} has no default SSE-KMS key; the {kind} goes only to "
                        "a bucket encrypted with our KMS key (the artifacts bucket)")
                trust_store.put(s3, bucket, key, data, kms)
                done.append(f"uploaded {file} to s3://{bucket}/{key}")
            elif not object_exists(s3, bucket, key):
                raise InvalidHookArgumentValueError(trust_store.missing_message(kind, bucket, key))
            else:
                done.append(f"s3://{bucket}/{key} is there")
        for line in done:
            self.logger.info("%s - trust store: %s", getattr(self.stack, "name", "upload_trust_store"), line)
        return done

    def _root(self) -> Path:
        return sceptre_stack.project_root(self.stack, self._project_root)

    def _s3(self) -> Any:
        self._s3_client = sceptre_stack.client(self.stack, "s3", self._s3_client)
        return self._s3_client
