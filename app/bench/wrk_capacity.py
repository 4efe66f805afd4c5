"""Benchmark (not a test): one `payment-api serve` process measured with Debian's wrk (an independent,
closed-loop load generator) and app/bench/wrk_payments.lua (a unique Idempotency-Key per request).

    python -m bluegreen.local_mariadb -- .venv/bin/python app/bench/wrk_capacity.py --connections 16,64,256

Migrates a fresh schema with the admin login the MariaDB starter gives (MARIADB_*), grants a self-signed
client the merchants, starts the service over plain HTTP on a free loopback port, and runs wrk once per
connection count; wrk's own summary and the statuses it saw (503: admission refusals) are printed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv: list[str] | None = None) -> int:
    from payment_api import client_identity
    from payment_api.migrate import admin_engine, migrate
    from payment_api.settings import Settings

    p = argparse.ArgumentParser(prog="wrk_capacity")
    p.add_argument("--connections", default="16,64,256")
    p.add_argument("--seconds", type=int, default=15)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    if not shutil.which("wrk"):
        print("wrk_capacity: wrk is not installed: apt-get install -y wrk", file=sys.stderr)
        return 2
    if "MARIADB_PORT" not in os.environ:
        print("wrk_capacity: run it under python -m bluegreen.local_mariadb -- ...", file=sys.stderr)
        return 2
    schema = f"wrk_{uuid.uuid4().hex[:6]}"
    env = {**os.environ, "DB_ENDPOINTS": "127.0.0.1", "DB_PORT": os.environ["MARIADB_PORT"], "DB_NAME": schema,
           "DB_USER": f"{schema}_app", "DB_PASSWORD": "wrk-pw", "DB_ADMIN_USER": os.environ["MARIADB_USER"],
           "DB_ADMIN_PASSWORD": os.environ["MARIADB_PASSWORD"], "APP_COLOUR": "blue", "PAYMENT_SIGNING_KEY": "wrk-key",
           "APP_PORT": str(free_port())}
    migrate(Settings.from_env(env, purpose="migrate"), create_app_user=True, say=lambda line: None)
    client = client_identity.self_signed_client(f"wrk-{schema}")
    identity = client_identity.alb_headers(client)
    admin = admin_engine(Settings.from_env(env, purpose="migrate"))
    with admin.begin() as conn:
        client_identity.grant(conn, identity[client_identity.SUBJECT], [f"m-{i}" for i in range(50)])
    admin.dispose()
    tmp = Path(tempfile.mkdtemp(prefix="wrk-"))
    (tmp / "identity").write_text("".join(f"{k}: {v}\n" for k, v in identity.items()))
    server = subprocess.Popen([sys.executable, "-m", "payment_api.cli", "serve", "--host", "127.0.0.1"], env=env,
                              stdout=open(tmp / "server.log", "w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{env['APP_PORT']}"
    try:
        deadline = time.time() + 30
        while True:
            try:
                urllib.request.urlopen(url + "/health", timeout=2)
                break
            except OSError:
                if time.time() > deadline or server.poll() is not None:
                    print(f"wrk_capacity: the service did not start; see {tmp / 'server.log'}", file=sys.stderr)
                    return 1
                time.sleep(0.3)
        for c in (int(x) for x in args.connections.split(",")):
            print(f"== wrk -t{args.threads} -c{c} -d{args.seconds}s", flush=True)
            subprocess.run(["wrk", f"-t{args.threads}", f"-c{c}", f"-d{args.seconds}s", "--latency", "-s",
                            str(HERE / "wrk_payments.lua"), url], env={**env, "WRK_IDENTITY": str(tmp / "identity"),
                                                                       "WRK_RUN": f"{schema}-{c}"}, check=False)
        return 0
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
