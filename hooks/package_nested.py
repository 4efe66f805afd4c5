"""``!package_nested``: upload the nested parent's child templates and Lambda zips before Sceptre
creates, updates or makes a change set of the parent (config/nested-<env>/main.yaml).

    hooks:
      before_create: &package
        - !package_nested
      before_update: *package
      before_create_change_set: *package

No argument: the environment, the packaging bucket, the region, the project folder and Sceptre's
``--var`` values are the stack's ``sceptre_user_data``, the same ones the template handler
(templates/main.py) builds the parent's TemplateURLs from, so the two name the same objects. Each
child goes to ``templates/<stack>/<sha256>.json`` and each Lambda to ``lambda/<name>/<sha256>.zip``
(the key the parent's ``!lambda_code_key`` parameters resolve to), only when that key is not there
yet, with SSE-KMS under the bucket's own default key (``bluegreen.package.upload``); a missing bucket or
one without a default KMS key is refused before anything is uploaded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sceptre.exceptions import InvalidHookArgumentTypeError, SceptreException
from sceptre.hooks import Hook

from bluegreen import lambda_zip, nested, package, sceptre_stack
from bluegreen.aws_failures import names_aws_failures


class NestedPackagingError(SceptreException):
    """The parent's children or Lambda code could not be uploaded; nothing was deployed."""


class PackageNested(Hook):
    """Uploads what the parent's TemplateURLs and code parameters name."""

    def __init__(self, argument: Any = None, stack: Any = None, *, s3_client: Any = None,
                 builder: Callable[..., lambda_zip.Package] = lambda_zip.build):
        super().__init__(argument, stack)
        self._s3_client = s3_client
        self._builder = builder

    def setup(self):
        if self._argument not in (None, ""):
            raise InvalidHookArgumentTypeError(
                f"!package_nested takes no argument (it reads the stack's sceptre_user_data); got {self._argument!r}"
            )

    @names_aws_failures
    def run(self) -> dict[str, bool]:
        try:
            env, bucket, _, root, variables = package.settings(self.stack.sceptre_user_data)
            parent = nested.generate(env, root, variables)
            s3 = sceptre_stack.client(self.stack, "s3", self._s3_client)
            done = package.upload(parent, bucket, s3, root=root, builder=self._builder)
        except (package.PackageError, nested.NestedError) as err:
            raise NestedPackagingError(f"{self.stack.name} - {err}") from err
        for key, uploaded in done.items():
            self.logger.info("%s - %s s3://%s/%s", self.stack.name, "uploaded" if uploaded else "already there:",
                             bucket, key)
        return done
