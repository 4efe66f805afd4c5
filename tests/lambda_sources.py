"""Lambda source trees and wheels made on disk, for the packaging hook and resolver tests.

The tests build real zips with the real pip, offline: dependencies come from a wheel written
here into a local wheelhouse (``--no-index --find-links``), so no registry is needed.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import zipfile
from pathlib import Path

from bluegreen import lambda_zip

HANDLER = 'def lambda_handler(event, context):\n    return {"ok": True}\n'


def write_source(root: Path, name: str = "demo", requirements: str | None = None) -> Path:
    """``<root>/lambda_src/<name>/`` with an ``__init__.py``, a handler and optional requirements."""
    package = root / "lambda_src" / name
    package.mkdir(parents=True)
    (package / "__init__.py").write_text('"""demo Lambda"""\n')
    (package / "handler.py").write_text(HANDLER)
    if requirements is not None:
        (package / "requirements.txt").write_text(requirements)
    return package


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def write_wheel(wheelhouse: Path, dist: str = "tinydep", version: str = "1.0") -> Path:
    """A pure-Python wheel with one module and one console script."""
    info = f"{dist}-{version}.dist-info"
    files = {
        f"{dist}/__init__.py": b"VALUE = 1\n\ndef main():\n    return 0\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n".encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{info}/entry_points.txt": f"[console_scripts]\n{dist} = {dist}:main\n".encode(),
    }
    record = "".join(f"{path},sha256={_digest(data)},{len(data)}\n" for path, data in files.items())
    files[f"{info}/RECORD"] = (record + f"{info}/RECORD,,\n").encode()
    wheelhouse.mkdir(parents=True, exist_ok=True)
    path = wheelhouse / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def offline_builder(cache_dir: Path, wheelhouse: Path):
    """``lambda_zip.build`` with its pip reading only ``wheelhouse``."""
    return functools.partial(
        lambda_zip.build, cache_dir=cache_dir, pip_args=("--no-index", "--find-links", str(wheelhouse))
    )


def entries(data: bytes) -> dict[str, zipfile.ZipInfo]:
    """The zip's entries by name."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: info for info in archive.infolist()}
