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
