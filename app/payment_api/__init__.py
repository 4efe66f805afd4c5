"""Reference payment API: idempotent double-entry payments that keep the blue-green cut-over contract."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("payment-api")
except PackageNotFoundError:  # run from a source tree without an install
    __version__ = "0+source"
