"""The RDS CA bundles we trust, pinned by SHA-256: a changed bundle is refused where it is built in.

    python -m bluegreen.rds_ca record  us-east-1/us-east-1-bundle.pem   # fetch from AWS over TLS, write its pin
    python -m bluegreen.rds_ca pin     global/global-bundle.pem         # the recorded hex (for docker build)
    python -m bluegreen.rds_ca verify  us-east-1/us-east-1-bundle.pem FILE
    python -m bluegreen.rds_ca load    --env prod FILE                  # verify, then the SSM parameter

AWS publishes the bundles at ``https://truststore.pki.rds.amazonaws.com/<path>`` (the global bundle and
one per region; "Certificate bundles by AWS Region",
https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/UsingWithRDS.SSL.html). The pins live in
one file, config/rds-ca-bundles.sha256; the image build (app/Dockerfile, ``ADD --checksum``) takes
the global one, the Lambdas' bundle reaches them through ``<ssm_prefix>/db/rds-ca-bundle``, which
``load`` writes only after the regional pin matched. A new bundle (AWS adds a CA) is a reviewed
commit of the pin file, never a silent swap. Exit codes: 0 done, 1 refused, 2 usage.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
from pathlib import Path
from typing import IO

from botocore.exceptions import BotoCoreError, ClientError

from bluegreen.environments import EnvironmentConfigError, find_project_root, load_environment

BASE_URL = "https://truststore.pki.rds.amazonaws.com/"
PIN_FILE = Path(__file__).resolve().parents[1] / "config" / "rds-ca-bundles.sha256"
#: The regional bundle the Lambdas verify the databases with (the global one is over SSM's 8 KB).
REGIONAL = "us-east-1/us-east-1-bundle.pem"
GLOBAL = "global/global-bundle.pem"
SSM_STANDARD_LIMIT = 4096
HEX = re.compile(r"^[0-9a-f]{64}$")


class RdsCaError(Exception):
    """Refused; the message says what to do."""


def pins(pin_file: Path | None = None) -> dict[str, str]:
    """{bundle path: recorded hex, or "unrecorded"} from the pin file."""
    pin_file = pin_file or PIN_FILE
    found = {}
    for line in pin_file.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            digest, _, path = line.partition("  ")
            found[path.strip()] = digest.strip()
    return found


def pin(bundle: str, pin_file: Path | None = None) -> str:
    pin_file = pin_file or PIN_FILE
    recorded = pins(pin_file).get(bundle)
    if recorded is None:
        raise RdsCaError(f"{bundle} is not a bundle of {pin_file.name} ({', '.join(pins(pin_file))})")
    if not HEX.match(recorded):
        raise RdsCaError(f"the SHA-256 of {bundle} is not recorded in {pin_file} yet: run python -m bluegreen.rds_ca "
                         f"record {bundle} on a machine that reaches {BASE_URL} and commit the pin for review")
    return recorded


def check(bundle: str, data: bytes, pin_file: Path | None = None) -> str:
    """The bundle's SHA-256 when it is exactly the pinned one; RdsCaError otherwise."""
    pin_file = pin_file or PIN_FILE
    expected = pin(bundle, pin_file)
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise RdsCaError(f"{bundle}: SHA-256 {actual} is not the pinned {expected} ({pin_file.name}); refused. If AWS "
                         "published a new bundle, record and review it (python -m bluegreen.rds_ca record)")
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise RdsCaError(f"{bundle}: no PEM certificate in it")
    return actual


def record(bundle: str, data: bytes, pin_file: Path | None = None) -> str:
    """Write the bundle's SHA-256 into the pin file (its line replaced); returns it."""
    pin_file = pin_file or PIN_FILE
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise RdsCaError(f"{bundle}: no PEM certificate in what was fetched; nothing recorded")
    if bundle not in pins(pin_file):
        raise RdsCaError(f"{bundle} is not a bundle of {pin_file.name}")
    digest = hashlib.sha256(data).hexdigest()
    lines = [f"{digest}  {bundle}" if not line.startswith("#") and line.partition("  ")[2].strip() == bundle else line
             for line in pin_file.read_text().splitlines()]
    pin_file.write_text("\n".join(lines) + "\n")
    return digest


def fetch(bundle: str) -> bytes:
    import urllib.request

    with urllib.request.urlopen(BASE_URL + bundle, timeout=30) as response:  # a fixed https URL of AWS
        return bytes(response.read())


def load(env_name: str, data: bytes, session_factory=None) -> dict[str, str]:
    """Verify the regional bundle, then write it to the environment's ``<ssm_prefix>/db/rds-ca-bundle``."""
    check(REGIONAL, data)
    import boto3

    env = load_environment(env_name, find_project_root())
    session = (session_factory or boto3.Session)(region_name=env.region)
    name = f"{env.ssm_prefix}/db/rds-ca-bundle"
    tier = "Standard" if len(data) <= SSM_STANDARD_LIMIT else "Advanced"
    session.client("ssm").put_parameter(Name=name, Value=data.decode(), Type="String", Overwrite=True, Tier=tier)
    return {"parameter": name, "sha256": hashlib.sha256(data).hexdigest(), "tier": tier}


def main(argv: list[str] | None = None, *, stdout: IO[str] = sys.stdout, stderr: IO[str] = sys.stderr,
         session_factory=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bluegreen.rds_ca", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("record", "pin"):
        sub.add_parser(name).add_argument("bundle")
    verify = sub.add_parser("verify")
    verify.add_argument("bundle")
    verify.add_argument("file", type=Path)
    loader = sub.add_parser("load")
    loader.add_argument("--env", required=True)
    loader.add_argument("file", type=Path)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return 2 if exc.code else 0
    try:
        if args.command == "pin":
            print(pin(args.bundle), file=stdout)
        elif args.command == "record":
            print(record(args.bundle, fetch(args.bundle)), file=stdout)
        else:
            data = args.file.read_bytes()
            if args.command == "verify":
                print(check(args.bundle, data), file=stdout)
            else:
                print(load(args.env, data, session_factory), file=stdout)
    except (RdsCaError, EnvironmentConfigError, OSError) as exc:
        print(f"error: {exc}", file=stderr)
        return 1
    except (BotoCoreError, ClientError) as exc:  # an AWS denial or an unreachable endpoint: a message, no traceback
        print(f"error: {type(exc).__name__}: {exc}", file=stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
