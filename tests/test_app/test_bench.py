"""The benchmark still runs end to end (a tiny run; its figures are for docs/sizing.md, never asserted)."""

from __future__ import annotations

import os
import subprocess
import sys

from .conftest import ADMIN, ADMIN_PW


def test_bench__tiny_run__every_payment_answered_and_a_verdict_printed(mariadb):
    env = {**os.environ, "DB_ENDPOINTS": "127.0.0.1", "DB_PORT": str(mariadb["port"]), "DB_ADMIN_USER": ADMIN,
           "DB_ADMIN_PASSWORD": ADMIN_PW}
    done = subprocess.run([sys.executable, "-m", "payment_api.bench", "--rates", "20", "--seconds", "1",
                           "--warmup-seconds", "0.5", "--p99-limit-ms", "10000", "--schema", "payments_bench_smoke"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [line.split() for line in done.stdout.splitlines() if line.strip().startswith("20 ")]
    assert rows and rows[0][1] == rows[0][2] == "20" and rows[0][3] == "0"  # sent == 201, none other
    assert "highest sustained rate with p99 < 10000 ms: 20.0 payments/s" in done.stdout
