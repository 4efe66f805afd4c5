"""The emulator server: moto's WSGI app with our extensions and IAM enforcement installed first.

Runs in the foreground; ``launcher.start`` runs it in the background. Listens on
127.0.0.1 only: custom-resource Lambdas run as local subprocesses (see
extensions/awslambda.py), so nothing outside this machine ever needs to reach it.
At start it creates the deployer (iam.principals.create_deployer) and writes its keys to
``launcher.credentials_file(port)``, which ``scripts/emulator env`` prints.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from .launcher import HEALTH_PATH, HOST


def build_app(port: int) -> Callable[..., Any]:
    os.environ["MOTO_PORT"] = str(port)  # read by moto wherever it builds self-URLs
    os.environ["EMULATOR_PORT"] = str(port)
    # AWS's managed policies (a role may attach arn:aws:iam::aws:policy/...): IAM is enforced, so they must exist.
    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")

    from .extensions import install  # imports moto and patches it

    extensions = install(port)

    from . import launcher
    from .extensions import database_endpoints
    from .iam import enforcement as iam_enforcement
    from .iam.principals import create_deployer
    from .iam.signature import keep_raw_body

    iam = "enforce" if iam_enforcement.install() else "off"
    deployer = create_deployer()
    launcher.write_credentials(port, deployer, iam)

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    moto_app = DomainDispatcherApplication(create_backend_app)
    started = time.time()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO") == HEALTH_PATH:
            body = json.dumps(
                {
                    "service": "bluegreen-emulator",
                    "pid": os.getpid(),
                    "port": port,
                    "uptime_seconds": round(time.time() - started, 1),
                    "extensions": extensions,
                    "iam": iam,
                    "deployer": deployer["Arn"],
                    "db_endpoints": database_endpoints.endpoints(),
                }
            ).encode()
            start_response(
                "200 OK",
                [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
            )
            return [body]
        keep_raw_body(environ)
        return moto_app(environ, start_response)

    return app


def serve(port: int) -> None:
    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import make_server

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = build_app(port)
    server = make_server(HOST, port, app, threaded=True, request_handler=MotoRequestHandler)

    def _stop(signum: int, frame: Any) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print(f"bluegreen-emulator: listening on http://{HOST}:{port} (pid {os.getpid()})", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        print("bluegreen-emulator: stopped", file=sys.stderr, flush=True)
