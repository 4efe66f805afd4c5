"""`payment-api serve | migrate | healthcheck`."""

from __future__ import annotations

import argparse
import json
import ssl
import sys
import urllib.request
from typing import Any

from payment_api import __version__
from payment_api.settings import Settings, SettingsError


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from payment_api import request_log, tls
    from payment_api.admission import Admission
    from payment_api.api import create_app
    from payment_api.database import make_engine

    settings = Settings.from_env(purpose="serve")
    request_log.configure()
    if settings.tls_self_signed:
        tls.write_self_signed(settings.tls_cert_file, settings.tls_key_file)
    # Bounded admission (admission.py): beyond its capacity the process answers 503 + Retry-After at once.
    app = Admission(create_app(settings, make_engine(settings)))  # type: ignore[arg-type]  # WriterEngines serves as the Engine
    https: dict[str, Any] = {"ssl_certfile": settings.tls_cert_file, "ssl_keyfile": settings.tls_key_file} if settings.https else {}
    # One worker per task (ECS scales tasks, not processes); no access log: our own JSON line per request.
    uvicorn.run(app, host=args.host, port=args.port or settings.app_port, workers=1, access_log=False,
                log_config=None, timeout_graceful_shutdown=20, **https)
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from payment_api.migrate import migrate

    migrate(Settings.from_env(purpose="migrate"), create_app_user=args.create_app_user, fenced=args.fenced)
    return 0


def _healthcheck(args: argparse.Namespace) -> int:
    """The container health check: GET /health on this task, 0 when it answers 200 (no curl in the image)."""
    settings = Settings.from_env(purpose="serve")
    scheme = "https" if settings.https else "http"
    context = None
    if settings.https:  # our own self-signed certificate on loopback: encrypted, not verified
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(f"{scheme}://127.0.0.1:{settings.app_port}/health", timeout=args.timeout,
                                    context=context) as response:
            print(json.loads(response.read()).get("status"))
            return 0 if response.status == 200 else 1
    except Exception as err:  # noqa: BLE001 - any failure is unhealthy
        print(f"unhealthy: {err}", file=sys.stderr)
        return 1


def _clients(args: argparse.Namespace) -> int:
    """Onboard, revoke and list clients: which certificate subject may act for which merchants."""
    from payment_api import client_identity
    from payment_api.migrate import admin_engine

    engine = admin_engine(Settings.from_env(purpose="migrate"))
    try:
        with engine.begin() as conn:
            if args.action == "grant":
                print(f"payment-api clients: {client_identity.grant(conn, args.subject, args.merchant)} grant(s) added")
            elif args.action == "revoke":
                print(f"payment-api clients: {client_identity.revoke(conn, args.subject, args.merchant)} grant(s) removed")
            else:
                for subject, merchant in client_identity.grants(conn, args.subject):
                    print(f"{subject}\t{merchant}")
    except client_identity.IdentityError as err:
        print(f"payment-api clients: {err}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="payment-api", description=f"Reference payment API {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the API (settings from the environment: docs/deployment.md)")
    serve.add_argument("--host", default="0.0.0.0", help="address to bind (default 0.0.0.0, the container's)")
    serve.add_argument("--port", type=int, default=None, help="port (default APP_PORT)")
    serve.set_defaults(run=_serve)
    mig = sub.add_parser("migrate", help="create/upgrade the schema with an admin login (DB_ADMIN_USER)")
    mig.add_argument("--create-app-user", action="store_true",
                     help="also create DB_USER with DML only (an existing user's grants are left alone)")
    mig.add_argument("--fenced", action="store_true",
                     help="with --create-app-user: SELECT only, for the cluster that is not the writer")
    mig.set_defaults(run=_migrate)
    hc = sub.add_parser("healthcheck", help="exit 0 when this task's /health answers 200 (container health check)")
    hc.add_argument("--timeout", type=float, default=4.0)
    hc.set_defaults(run=_healthcheck)
    cl = sub.add_parser("clients", help="grant, revoke or list which merchants a client certificate subject may act for "
                                        "(admin login, DB_ADMIN_USER)")
    cl.add_argument("action", choices=("grant", "revoke", "list"))
    cl.add_argument("--subject", default=None, help="the certificate's subject as the load balancer passes it (RFC 2253), "
                                                    "e.g. from `openssl x509 -noout -subject -nameopt RFC2253`")
    cl.add_argument("--merchant", action="append", default=[], help="a merchant id (repeat); revoke without it: every grant")
    cl.set_defaults(run=_clients)
    args = parser.parse_args(argv)
    if getattr(args, "action", None) in ("grant", "revoke") and not args.subject:
        parser.error(f"clients {args.action} needs --subject")
    if getattr(args, "action", None) == "grant" and not args.merchant:
        parser.error("clients grant needs at least one --merchant")
    try:
        return args.run(args)
    except SettingsError as err:
        print(err, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
