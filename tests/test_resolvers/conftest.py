"""Fixtures of the resolver tests: Lambda sources on disk and an offline wheelhouse."""

import pytest

from tests import lambda_sources


@pytest.fixture
def source_root(tmp_path):
    """A project root with ``lambda_src/demo/`` depending on one wheel of ``wheelhouse``."""
    root = tmp_path / "project"
    lambda_sources.write_source(root, requirements="tinydep==1.0\n")
    return root


@pytest.fixture
def builder(tmp_path):
    lambda_sources.write_wheel(tmp_path / "wheels")
    return lambda_sources.offline_builder(tmp_path / "cache", tmp_path / "wheels")


@pytest.fixture
def aws_env(monkeypatch, fresh_sceptre_connections):
    """Credentials that reach nothing real, and no profile or config file to fall back on."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_MAX_ATTEMPTS": "1", "AWS_RETRY_MODE": "standard",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def network_attempts(monkeypatch):
    """Every DNS look-up or connect the code under test tries, refused and recorded."""
    import socket

    attempts = []

    def refuse_lookup(host, *args, **kwargs):
        attempts.append(("getaddrinfo", host))
        raise socket.gaierror(f"network disabled in this test (lookup of {host})")

    def refuse_connect(sock, address):
        attempts.append(("connect", address))
        raise OSError(f"network disabled in this test (connect to {address})")

    monkeypatch.setattr(socket, "getaddrinfo", refuse_lookup)
    monkeypatch.setattr(socket.socket, "connect", refuse_connect)
    return attempts
