"""Benchmark (not a test): one `payment-api serve` process (uvicorn, 1 worker) against a MariaDB.

Open loop, constant arrival rate: request i is due at start + i/rate whether or not earlier ones
have answered, and its latency is counted from when it was due (no coordinated omission). Steps
up the rate until p99 reaches the limit, and reports p50/p99 and the server's CPU ms per payment
(process CPU time from /proc over the payments it answered).

    DB_ENDPOINTS=127.0.0.1 DB_PORT=3306 DB_ADMIN_USER=admin DB_ADMIN_PASSWORD=... \\
        python -m payment_api.bench --rates 50,100,140,200,300 --seconds 15

It migrates a fresh schema (``--schema``, default payments_bench) with the admin login, creates the
app user ``<schema>_app`` with DB_PASSWORD (default bench-pw) and starts the server over HTTPS (a self-signed pair
in a temp dir, as the tasks do) on a free loopback port.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
MERCHANTS = 50


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def step(url: str, rate: float, seconds: float, run_id: str, identity: dict[str, str]) -> dict:
    import httpx

    latencies: list[float] = []
    statuses: dict[int | str, int] = {}
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=url, verify=False, timeout=30, limits=limits) as client:
        async def one(i: int, due: float) -> None:
            body = {"merchant_id": f"m-{i % MERCHANTS}", "customer_id": f"c-{i % 1000}", "amount_minor": 100 + i % 900,
                    "currency": "EUR", "card_token": f"tok_{run_id}_{i}"}
            try:
                r = await client.post("/payments", json=body, headers={**identity, "Idempotency-Key": f"{run_id}-{rate}-{i}"})
                status: int | str = r.status_code
            except httpx.HTTPError:
                status = "error"
            latencies.append(time.perf_counter() - due)
            statuses[status] = statuses.get(status, 0) + 1

        tasks, start, n = [], time.perf_counter(), int(rate * seconds)
        for i in range(n):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i, due)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    return {"rate": rate, "sent": n, "elapsed": elapsed, "statuses": statuses,
            "p50_ms": 1000 * percentile(latencies, 50), "p99_ms": 1000 * percentile(latencies, 99),
            "mean_ms": 1000 * statistics.fmean(latencies)}


def main(argv: list[str] | None = None) -> int:
    from payment_api.migrate import migrate
    from payment_api.settings import Settings

    parser = argparse.ArgumentParser(prog="python -m payment_api.bench")
    parser.add_argument("--rates", default="50,100,140,200,260,320,400", help="payments/s per step, ascending")
    parser.add_argument("--seconds", type=float, default=15, help="duration of each step")
    parser.add_argument("--warmup-seconds", type=float, default=5)
    parser.add_argument("--p99-limit-ms", type=float, default=50)
    parser.add_argument("--schema", default="payments_bench")
    parser.add_argument("--mariadbd-pid", type=int, default=None, help="also report the database's CPU ms per payment")
    parser.add_argument("--http", action="store_true", help="plain HTTP instead of the tasks' HTTPS")
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="payment-bench-"))
    env = {**os.environ, "DB_NAME": args.schema, "DB_USER": f"{args.schema}_app"[:32],
           "DB_PASSWORD": os.environ.get("DB_PASSWORD", "bench-pw"), "APP_COLOUR": "blue",
           "PAYMENT_SIGNING_KEY": "bench-key", "APP_PORT": str(free_port())}
    if not args.http:
        env.update(TLS_CERT_FILE=str(tmp / "cert.pem"), TLS_KEY_FILE=str(tmp / "key.pem"), TLS_SELF_SIGNED="true")
    migrate(Settings.from_env(env, purpose="migrate"), create_app_user=True, say=lambda line: None)
    # The benchmark talks to the service directly, so it sets the headers the load balancer would set for
    # a verified client certificate, and grants that client the merchants it pays for.
    from payment_api import client_identity
    from payment_api.migrate import admin_engine

    client = client_identity.self_signed_client(f"bench-{uuid.uuid4().hex[:8]}")
    identity = client_identity.alb_headers(client)
    admin = admin_engine(Settings.from_env(env, purpose="migrate"))
    with admin.begin() as conn:
        client_identity.grant(conn, identity[client_identity.SUBJECT], [f"m-{i}" for i in range(MERCHANTS)])
    admin.dispose()
    log = open(tmp / "server.log", "w")
    server = subprocess.Popen([sys.executable, "-m", "payment_api.cli", "serve", "--host", "127.0.0.1"], env=env,
                              stdout=log, stderr=subprocess.STDOUT)
    url = f"{'http' if args.http else 'https'}://127.0.0.1:{env['APP_PORT']}"
    try:
        import httpx

        deadline = time.time() + 30
        while True:
            try:
                if httpx.get(url + "/health", verify=False, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline or server.poll() is not None:
                raise SystemExit(f"server did not become healthy: {(tmp / 'server.log').read_text()[-2000:]}")
            time.sleep(0.2)
        run_id = uuid.uuid4().hex[:8]
        asyncio.run(step(url, 50, args.warmup_seconds, run_id + "w", identity))
        print(f"{'rate/s':>7} {'sent':>6} {'201':>6} {'other':>6} {'p50 ms':>7} {'p99 ms':>7} {'app CPU ms/pay':>15}"
              + (f" {'db CPU ms/pay':>14}" if args.mariadbd_pid else ""))
        best = None
        for rate in [float(r) for r in args.rates.split(",")]:
            cpu0 = cpu_seconds(server.pid)
            db0 = cpu_seconds(args.mariadbd_pid) if args.mariadbd_pid else 0
            res = asyncio.run(step(url, rate, args.seconds, run_id, identity))
            ok = res["statuses"].get(201, 0)
            cpu_ms = 1000 * (cpu_seconds(server.pid) - cpu0) / max(ok, 1)
            db_ms = 1000 * (cpu_seconds(args.mariadbd_pid) - db0) / max(ok, 1) if args.mariadbd_pid else None
            other = res["sent"] - ok
            sustained = ok == res["sent"] and res["elapsed"] < args.seconds * 1.1
            print(f"{rate:7.0f} {res['sent']:6d} {ok:6d} {other:6d} {res['p50_ms']:7.1f} {res['p99_ms']:7.1f} "
                  f"{cpu_ms:15.2f}" + (f" {db_ms:14.2f}" if db_ms is not None else ""), flush=True)
            if sustained and res["p99_ms"] < args.p99_limit_ms:
                best = rate
            elif not sustained or res["p99_ms"] > 10 * args.p99_limit_ms:
                break  # overloaded: the queue only grows from here
            # else a noisy step above the limit: keep going, the report names the highest rate under it
        print(f"highest sustained rate with p99 < {args.p99_limit_ms:g} ms: {best if best else 'none'} payments/s")
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
