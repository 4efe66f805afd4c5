"""Local AWS emulator: moto server plus the CloudFormation resource models this project needs.

Importing this package does not import moto, so the launcher API works from any
interpreter (the project venv included)::

    from bluegreen_emulator import start, stop
    url = start(5100)          # background server on http://127.0.0.1:5100, health-checked
    ...
    stop(5100)

The server process itself (``python -m bluegreen_emulator serve``) must run with the
emulator venv's interpreter; ``start`` picks ``<repo>/.venv-emulator/bin/python``.
"""

from .launcher import (
    DEFAULT_PORT,
    EmulatorError,
    Status,
    credentials_file,
    env_lines,
    env_vars,
    start,
    status,
    stop,
)

__all__ = [
    "DEFAULT_PORT",
    "EmulatorError",
    "Status",
    "credentials_file",
    "env_lines",
    "env_vars",
    "start",
    "status",
    "stop",
]
