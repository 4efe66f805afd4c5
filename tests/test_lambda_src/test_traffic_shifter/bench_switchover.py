"""Benchmark: the write pause (fence -> unfence) of the database switchover in the moto world.

    .venv/bin/python -m tests.test_lambda_src.test_traffic_shifter.bench_switchover [--runs 20]

Real clock, 10 ms polling, the Lambda's procedure and its AWS adapters against moto in-process
(Route 53 writer name, DMS tasks, RDS, CloudWatch, the journal in DynamoDB); the fence and the drain
are db_world.FakeFence (their SQL is measured on a real MariaDB by test_sql_fence.py and on a real
pair by the rehearsal, docs/rehearsal.md). Switches blue -> green -> blue ... and prints each run's
pause and the median per-action timeline. Reported in docs/db-switchover.md; not a test, nothing
is asserted about time.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time

from moto import mock_aws

from traffic_shifter import DbSwitchover, Shifter, StepKinds

from . import world as w
from .db_world import FakeFence, build_db_world


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    for var, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                       ("AWS_DEFAULT_REGION", w.REGION), ("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")):
        os.environ[var] = value
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.pop("AWS_PROFILE", None)
    w.enable_composite_alarms(_MonkeyPatch())
    with mock_aws():
        world = w.build_world()
        db = build_db_world(world, time.time)
        fence = FakeFence(db)
        slept = [0.0]

        def sleep(seconds: float) -> None:
            # Every poll inside the pause is a wait on the world; in moto only the wait for the reverse
            # CDC start's whole second ever sleeps (the marker, INSYNC and the DMS states are there at once).
            slept[0] += seconds
            time.sleep(seconds)

        kind = DbSwitchover(lambda clients, config: fence, drain_factory=lambda clients, config: fence,
                            poll_seconds=0.01, sleep=sleep)
        shifter = Shifter.from_env(world.env, clients=w.shifter_clients(), kinds=StepKinds(kind))
        pauses, work, timelines = [], [], []
        rng = random.Random(14)
        for i in range(args.runs):
            to = "green" if i % 2 == 0 else "blue"
            db.publish_healthy()
            time.sleep(rng.uniform(0, 1))  # back-to-back runs would all meet the same phase of the second
            slept[0] = 0.0
            kind.switch(shifter.clients, shifter.config, to, "bench")
            assert db.writer_colour() == to, "the switchover did not move the writer"
            pauses.append(kind.last.write_pause)
            work.append(kind.last.write_pause - slept[0])
            timelines.append(kind.last.timeline)
            print(f"run {i + 1:2d} -> {to:<5}  write pause {kind.last.write_pause * 1000:7.1f} ms "
                  f"(waiting {slept[0] * 1000:6.1f} ms, working {work[-1] * 1000:5.1f} ms)")
        db.close()
    for what, values in (("write pause (fence -> unfence)", pauses), ("of it working (not sleeping in a poll)", work)):
        ms = sorted(v * 1000 for v in values)
        print(f"{what}, {len(ms)} runs: min {ms[0]:.1f} ms, median {statistics.median(ms):.1f} ms, max {ms[-1]:.1f} ms")
    print("median seconds since the fence, per action:")
    for n, (name, _) in enumerate(timelines[0]):
        print(f"  {name:<32} {statistics.median(t[n][1] for t in timelines) * 1000:7.1f} ms")


class _MonkeyPatch:
    """world.enable_composite_alarms takes pytest's monkeypatch; a plain setattr will do here."""

    @staticmethod
    def setattr(target, name, value, raising=True):  # mirrors pytest's signature
        setattr(target, name, value)


if __name__ == "__main__":
    main()
