"""Reproducible deployment packages for the Lambdas in ``lambda_src/<name>/``.

One build function serves both the ``!package_lambda`` hook (which uploads the zip) and the
``!lambda_code_key`` resolver (which hands the template the object key), so the key a stack is
given is always the key of the bytes that were uploaded: ``lambda/<name>/<sha256>.zip``.

The same source gives the same bytes on every run and machine with the same dependency wheels:
entries are sorted, every timestamp is 1980-01-01 00:00, every file is mode 0644, and nothing
that depends on the build machine gets in (``__pycache__``, ``*.pyc``, console scripts whose
shebang names the local interpreter). The zip therefore only changes when code or pinned
dependencies change, and an unchanged Lambda is neither re-uploaded nor redeployed.

Runtime dependencies come from the package's ``requirements.txt`` (every line pinned with
``==``), installed for the Lambda runtime rather than for this machine: binary wheels only,
``manylinux2014_x86_64``, CPython 3.12, no byte-compiling. boto3 and botocore are left out
because the runtime provides them. The installed tree is cached in ``.build/deps/<hash>/``,
keyed by the requirements and the target platform, so repeated builds do not call pip.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIR = "lambda_src"
BUILD_DIR = ".build"

#: The Lambda runtime the dependencies are installed for (template: python3.12, x86_64).
PLATFORM = "manylinux2014_x86_64"
PYTHON_VERSION = "3.12"
IMPLEMENTATION = "cp"
#: Distributions the Lambda Python runtime already provides.
RUNTIME_PROVIDED = frozenset({"boto3", "botocore"})

#: The file of a Lambda source folder that names repository packages to vendor (read_local_packages).
LOCAL_PACKAGES = "local-packages.txt"

FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644  # regular file, rw-r--r--
EXCLUDED_DIRS = frozenset({"__pycache__"})
EXCLUDED_SUFFIXES = (".pyc", ".pyo")
#: Bumped when the zip layout changes, so cached dependency trees are not reused across layouts.
LAYOUT_VERSION = "1"

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_REQUIREMENT = re.compile(r"^(?P<dist>[A-Za-z0-9][A-Za-z0-9._-]*)(\[[A-Za-z0-9_,.-]+\])?==[A-Za-z0-9.+!*-]+$")

PipRunner = Callable[[Sequence[str]], None]


class LambdaSourceError(ValueError):
    """A Lambda source argument or folder that cannot be packaged."""


@dataclass(frozen=True)
class Package:
    """A built deployment package."""

    name: str
    data: bytes
    sha256: str

    @property
    def key(self) -> str:
        """The S3 object key: content-addressed, so a key never names two different zips."""
        return code_key(self.name, self.sha256)


def code_key(name: str, sha256: str) -> str:
    return f"lambda/{name}/{sha256}.zip"


def parse_source(value: object) -> str:
    """The Lambda name of a ``lambda_src/<name>`` argument."""
    if not isinstance(value, str):
        raise LambdaSourceError(f"expected a string 'lambda_src/<name>', got {value!r}")
    parts = value.strip().rstrip("/").split("/")
    if len(parts) != 2 or parts[0] != SOURCE_DIR or not _NAME.match(parts[1]):
        raise LambdaSourceError(
            f"expected 'lambda_src/<name>' with <name> a Python package name (e.g. "
            f"lambda_src/traffic_shifter), got {value!r}"
        )
    return parts[1]


def source_path(name: str, root: Path = ROOT) -> Path:
    """The package folder ``<root>/lambda_src/<name>``; it must hold the package's ``__init__.py``."""
    path = Path(root) / SOURCE_DIR / name
    if not (path / "__init__.py").is_file():
        raise LambdaSourceError(f"{path} is not a Python package (no __init__.py): nothing to package for {name!r}")
    return path


def read_requirements(path: Path) -> list[str]:
    """The pinned requirements of ``path`` (comments and blanks dropped), runtime-provided ones left out."""
    if not path.is_file():
        return []
    wanted = []
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = _REQUIREMENT.match(line)
        if not match:
            # An unpinned dependency would make the zip depend on the day it was built.
            raise LambdaSourceError(f"{path}:{number}: requirement must be pinned as 'name==version', got {line!r}")
        if _canonical(match["dist"]) in RUNTIME_PROVIDED:
            continue
        wanted.append(line)
    return sorted(wanted, key=str.lower)


def _canonical(dist: str) -> str:
    return re.sub(r"[-_.]+", "-", dist).lower()


def deps_key(requirements: Sequence[str]) -> str:
    """Cache key of an installed dependency tree: the requirements and the target platform."""
    text = "\n".join([LAYOUT_VERSION, PLATFORM, PYTHON_VERSION, IMPLEMENTATION, *requirements])
    return hashlib.sha256(text.encode()).hexdigest()


def pip_install_command(requirements_file: Path, target: Path, extra_args: Sequence[str] = ()) -> list[str]:
    return [
        sys.executable, "-m", "pip", "install",
        "--quiet", "--disable-pip-version-check", "--no-input",
        "--target", str(target),
        "--no-compile",
        "--only-binary=:all:",
        "--platform", PLATFORM,
        "--python-version", PYTHON_VERSION,
        "--implementation", IMPLEMENTATION,
        "--requirement", str(requirements_file),
        *extra_args,
    ]


def run_pip(command: Sequence[str]) -> None:
    result = subprocess.run(list(command), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise LambdaSourceError(
            f"pip could not install the Lambda dependencies (exit {result.returncode}): {result.stderr.strip()}"
        )


def install_deps(
    requirements: Sequence[str],
    cache_dir: Path,
    *,
    pip_args: Sequence[str] = (),
    runner: PipRunner = run_pip,
) -> Path | None:
    """The folder holding ``requirements`` installed for the runtime, built once per key."""
    if not requirements:
        return None
    target = Path(cache_dir) / "deps" / deps_key(requirements)
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Build beside the cache entry and rename it into place: an interrupted build never
    # leaves a half-installed tree that a later build would take for a complete one.
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".tmp-") as tmp:
        requirements_file = Path(tmp) / "requirements.txt"
        requirements_file.write_text("\n".join(requirements) + "\n")
        site = Path(tmp) / "site"
        runner(pip_install_command(requirements_file, site, pip_args))
        # Console scripts name this machine's interpreter in their shebang: useless in a Lambda
        # and different on every machine.
        shutil.rmtree(site / "bin", ignore_errors=True)
        for dist in RUNTIME_PROVIDED:
            # A dependency may pull them in; the runtime's own copies must win.
            for path in site.glob(f"{dist}*"):
                shutil.rmtree(path) if path.is_dir() else path.unlink()
        try:
            site.rename(target)
        except OSError:
            if not target.is_dir():  # another build won the race: its tree is the same
                raise
    return target


def _files(base: Path, prefix: str = "") -> Iterable[tuple[str, Path]]:
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = [d for d in dirnames if d not in EXCLUDED_DIRS and not d.startswith(".")]
        for filename in filenames:
            if filename.endswith(EXCLUDED_SUFFIXES) or filename.startswith("."):
                continue
            path = Path(dirpath) / filename
            yield prefix + path.relative_to(base).as_posix(), path


def read_local_packages(path: Path, root: Path = ROOT) -> list[Path]:
    """The repository packages ``local-packages.txt`` names (one repository-relative folder a line),
    copied to the zip's root: a Lambda that runs code of this repository (the schema migration runs
    the payment service's own) packages that code, never a copy of it."""
    if not path.is_file():
        return []
    packages = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        package = Path(root) / line
        if Path(line).is_absolute() or ".." in Path(line).parts or not (package / "__init__.py").is_file():
            raise LambdaSourceError(f"{path}: {line!r} is not a Python package folder of this repository")
        packages.append(package)
    return packages


def zip_entries(entries: dict[str, bytes]) -> bytes:
    """A zip of ``entries`` that depends on nothing but their names and contents."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for arcname in sorted(entries):
            info = zipfile.ZipInfo(arcname, date_time=FIXED_DATE_TIME)
            info.create_system = 3  # unix, so that external_attr carries the mode
            info.external_attr = FILE_MODE << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, entries[arcname], compresslevel=9)
    return buffer.getvalue()


def build(
    name: str,
    *,
    root: Path = ROOT,
    cache_dir: Path | None = None,
    pip_args: Sequence[str] = (),
    runner: PipRunner = run_pip,
) -> Package:
    """Build the deployment package of ``lambda_src/<name>``.

    ``pip_args`` are appended to the pip command (tests pass ``--no-index --find-links``);
    ``runner`` runs it.
    """
    source = source_path(name, root)
    requirements = read_requirements(source / "requirements.txt")
    deps = install_deps(
        requirements, Path(cache_dir) if cache_dir else Path(root) / BUILD_DIR, pip_args=pip_args, runner=runner
    )
    entries: dict[str, bytes] = {}
    if deps is not None:
        entries.update((arcname, path.read_bytes()) for arcname, path in _files(deps))
    for package in read_local_packages(source / LOCAL_PACKAGES, root):
        for arcname, path in _files(package, prefix=f"{package.name}/"):
            entries[arcname] = path.read_bytes()
    for arcname, path in _files(source, prefix=f"{name}/"):
        if arcname in (f"{name}/requirements.txt", f"{name}/{LOCAL_PACKAGES}"):
            continue
        if arcname in entries:
            raise LambdaSourceError(f"{arcname} exists both in the source and in its dependencies")
        entries[arcname] = path.read_bytes()
    data = zip_entries(entries)
    return Package(name=name, data=data, sha256=hashlib.sha256(data).hexdigest())
