"""`payment-api serve` and `payment-api healthcheck` as real processes: HTTPS with the per-task
self-signed pair (as in the task definition), the container health check's exit status."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest

from .conftest import free_port

CLI = [sys.executable, "-m", "payment_api.cli"]


def start(env):
    proc = subprocess.Popen([*CLI, "serve", "--host", "127.0.0.1"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    url = f"https://127.0.0.1:{env['APP_PORT']}"
    deadline = time.time() + 30
    while True:
        try:
            httpx.get(url + "/health", verify=False, timeout=2)
            return proc, url
        except httpx.HTTPError:
            if time.time() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError(f"serve did not start: {proc.stdout.read()[-2000:]}") from None
            time.sleep(0.2)


def healthcheck(env):
    return subprocess.run([*CLI, "healthcheck"], env=env, capture_output=True, text=True, timeout=30)


@pytest.fixture
def https_env(schema, tmp_path):
    return {**os.environ, **schema["env"], "APP_PORT": str(free_port()), "TLS_SELF_SIGNED": "true",
            "TLS_CERT_FILE": str(tmp_path / "tls" / "cert.pem"), "TLS_KEY_FILE": str(tmp_path / "tls" / "key.pem")}


def test_serve__self_signed_https__answers_and_healthcheck_exits_0(https_env, schema, tmp_path):
    proc, url = start(https_env)
    try:
        r = httpx.post(url + "/payments", verify=False, headers={**schema["identity"], "Idempotency-Key": "cli-1"},
                       json={"merchant_id": "m", "customer_id": "c", "amount_minor": 5, "currency": "USD",
                             "card_token": "tok"})
        assert r.status_code == 201
        assert oct((tmp_path / "tls" / "key.pem").stat().st_mode & 0o777) == "0o600"
        check = healthcheck(https_env)
        assert check.returncode == 0 and check.stdout.strip() == "ok", check.stderr
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    lines = [line for line in out.splitlines() if '"event":"request"' in line]
    assert any('"idempotency_key":"cli-1"' in line and '"outcome":"created"' in line for line in lines)
    assert '"card_token"' not in out and "tok" not in "".join(lines)


def test_healthcheck__database_down__exits_1(https_env):
    env = dict(https_env, DB_PORT=str(free_port()))
    proc, _ = start(env)
    try:
        assert healthcheck(env).returncode == 1
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_serve__missing_variable__exit_2_naming_it():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "APP_", "PAYMENT_"))}
    done = subprocess.run([*CLI, "serve"], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert "DB_ENDPOINTS is not set" in done.stderr and "set exactly one of PAYMENT_SIGNING_KEY (local) and PAYMENT_SIGNING_KEY_SECRET_ARN" in done.stderr
