"""What a rehearsal records while it runs, beside the payments: its phases and events (Marks), the
weights and the writer as HAProxy holds them (Sampler), and the replication the data gate judges
(ReplicationReader)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pymysql

from bluegreen import mariadb_replication as replication
from bluegreen.local_mariadb import MariaDB

from .adapters import HAProxyTraffic, HAProxyWriterName
from .world import World


@dataclass
class Marks:
    """The phases as they happened: (name, start) in order; each ends where the next begins."""

    items: list[tuple[str, float]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    def phase(self, name: str, say: Callable[[str], None], at: float | None = None) -> None:
        self.items.append((name, at or time.time()))
        say(f"rehearsal: phase {name}")

    def event(self, what: str, **detail: Any) -> None:
        self.events.append({"at": time.time(), "event": what, **detail})

    def spans(self, end: float) -> list[tuple[str, float, float]]:
        ends = [t for _, t in self.items[1:]] + [end]
        return [(name, start, stop) for (name, start), stop in zip(self.items, ends, strict=False)]



class ReplicationReader:
    """(lag of the running path, any path failed) from each server's replica status, over one kept
    root connection per server (the data gate samples it often)."""

    def __init__(self, dbs: Mapping[str, MariaDB]) -> None:
        self.dbs = dbs
        self.conns: dict[str, pymysql.connections.Connection] = {}

    def _status(self, colour: str) -> replication.ReplicaStatus:
        try:
            conn = self.conns.get(colour) or self.dbs[colour].root()
            self.conns[colour] = conn
            return replication.replica_status(conn)
        except pymysql.err.MySQLError:
            self.conns.pop(colour, None)
            raise

    def __call__(self) -> tuple[float | None, bool]:
        statuses = [self._status(colour) for colour in self.dbs]
        lags = [st.lag for st in statuses if st.lag is not None]
        return (max(lags) if lags else None), any(st.failed for st in statuses)


class Sampler:
    """Weights and the writer as HAProxy holds them, every 0.1 s, for the plot and the rollback time."""

    def __init__(self, world: World) -> None:
        self.proxy = world.haproxy()
        self.rows: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="sampler")

    def _run(self) -> None:
        writer = HAProxyWriterName(self.proxy)
        while not self._stop.wait(0.1):
            try:
                stats = self.proxy.stats()
                w = {(r["pxname"], r["svname"]): int(r["weight"]) for r in stats if r["svname"] not in ("FRONTEND", "BACKEND")}
                self.rows.append({
                    "at": time.time(),
                    "records_green": w.get(("dns", "alb_green")),
                    "listeners_green": [w.get((HAProxyTraffic.listener(e), "green")) for e in ("blue", "green")],
                    "writer": writer.writer_colour(),
                })
            except Exception:  # noqa: BLE001 - a missed sample is a gap in the plot, not a failure
                continue

    def start(self) -> Sampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def first_all_blue(self, after: float) -> float | None:
        for row in self.rows:
            if row["at"] >= after and row["records_green"] == 0 and row["listeners_green"] == [0, 0]:
                return row["at"]
        return None


__all__ = ["Marks", "ReplicationReader", "Sampler"]
