"""The metrics AWS would publish, built from what the rehearsal's real parts record.

* ``PaymentService/...`` (the service's own): extracted from the embedded-metric-format documents in
  the services' logs, exactly as CloudWatch Logs extracts them from the tasks' ``awslogs`` stream
  (every dimension set of every directive, every value at the document's Timestamp).
* ``AWS/ApplicationELB`` per target group: RequestCount and TargetResponseTime for every request
  HAProxy's ``tg_<colour>`` frontend logged, ``HTTPCode_Target_5XX_Count`` only for the 5xx a target
  answered (HAProxy's termination state ``--``). The load balancer's own 5xx (no target answered:
  dead tasks, refused connections) are ``HTTPCode_ELB_5XX_Count``, per load balancer, which no
  target-group alarm sees (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html).
  HAProxy logs per colour, not per edge: a colour's requests are all given to the blue edge's target
  group, so the alarms' SUM and MAX over both edges see the colour's whole traffic.
* ``UnHealthyHostCount``: HAProxy's health-check states, sampled every (compressed) health-check interval.
* ``ECS/ContainerInsights`` RunningTaskCount: the colour's live service processes, sampled.
"""

from __future__ import annotations

import json
import threading
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path

from .alarms import MetricRef

ALB = "AWS/ApplicationELB"
ECS = "ECS/ContainerInsights"
CLUSTER = "rehearsal"


def key(namespace: str, name: str, dimensions: Iterable[tuple[str, str]]) -> tuple:
    return namespace, name, tuple(sorted(dimensions))


def local_names(colours: Iterable[str], edges: Iterable[str]) -> dict[str, str]:
    """What the monitoring template's parameters resolve to here (dimension values and identity)."""
    names = {"Environment": "rehearsal", "EnvironmentSuffix": "local", "ClusterName": CLUSTER,
             "AWS::Region": "us-east-1", "AWS::AccountId": "000000000000", "AWS::Partition": "aws"}
    for edge in edges:
        names[f"{edge.capitalize()}LoadBalancerFullName"] = load_balancer(edge)
        for colour in colours:
            names[f"{edge.capitalize()}Alb{colour.capitalize()}TargetGroupFullName"] = target_group(edge, colour)
    for colour in colours:
        names[f"{colour.capitalize()}ServiceName"] = service(colour)
    return names


def load_balancer(edge: str) -> str:
    return f"app/alb-{edge}/rehearsal"


def target_group(edge: str, colour: str) -> str:
    return f"targetgroup/tg-{edge}-{colour}/rehearsal"


def service(colour: str) -> str:
    return f"service-{colour}"


class MetricStore:
    """Raw values by (namespace, metric, dimensions), each at its timestamp (real seconds)."""

    def __init__(self) -> None:
        self._series: dict[tuple, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
        self._lock = threading.Lock()

    def put(self, namespace: str, name: str, dimensions: Iterable[tuple[str, str]], at: float, value: float) -> None:
        with self._lock:
            times, values = self._series[key(namespace, name, dimensions)]
            # Documents arrive nearly in order; keep the series sorted for the period look-ups.
            i = len(times)
            while i and times[i - 1] > at:
                i -= 1
            times.insert(i, at)
            values.insert(i, value)

    def values(self, metric: MetricRef, start: float, end: float) -> list[float]:
        with self._lock:
            series = self._series.get(key(metric.namespace, metric.name, metric.dimensions))
            if not series:
                return []
            times, values = series
            return values[bisect_left(times, start):bisect_left(times, end)]

    def __call__(self, metric: MetricRef, start: float, end: float) -> list[float]:
        return self.values(metric, start, end)

    def forget_before(self, at: float) -> None:
        with self._lock:
            for times, values in self._series.values():
                cut = bisect_left(times, at)
                del times[:cut], values[:cut]


def put_emf(store: MetricStore, document: dict) -> int:
    """Extract an EMF document's metrics as CloudWatch Logs does; returns how many values it held."""
    meta = document.get("_aws")
    if not isinstance(meta, dict):
        return 0
    at = float(meta["Timestamp"]) / 1000
    count = 0
    for directive in meta.get("CloudWatchMetrics", []):
        for dimension_set in directive.get("Dimensions", [[]]):
            dims = [(d, str(document[d])) for d in dimension_set]
            for metric in directive.get("Metrics", []):
                raw = document.get(metric["Name"])
                for value in raw if isinstance(raw, list) else [raw]:
                    if isinstance(value, (int, float)):
                        store.put(directive["Namespace"], metric["Name"], dims, at, float(value))
                        count += 1
    return count


class EmfTail:
    """Follows the services' log files and feeds every EMF document into the store."""

    def __init__(self, store: MetricStore, files: Callable[[], Iterable[Path]]) -> None:
        self.store, self.files = store, files
        self.offsets: dict[Path, int] = {}
        self.partial: dict[Path, str] = {}
        self.documents = 0

    def poll(self) -> None:
        for path in self.files():
            try:
                with path.open("r", errors="replace") as f:
                    f.seek(self.offsets.get(path, 0))
                    chunk = f.read()
                    self.offsets[path] = f.tell()
            except FileNotFoundError:
                continue
            text = self.partial.pop(path, "") + chunk
            lines = text.split("\n")
            if lines and lines[-1]:
                self.partial[path] = lines[-1]
            for line in lines[:-1]:
                if '"_aws"' not in line:
                    continue
                try:
                    document = json.loads(line)
                except ValueError:
                    continue
                if put_emf(self.store, document):
                    self.documents += 1


def put_request(store: MetricStore, colour: str, at: float, status: int, seconds: float, termination: str) -> None:
    """One request HAProxy's tg_<colour> frontend logged, as the ALB's target-group metrics count it."""
    dims = [("LoadBalancer", load_balancer("blue")), ("TargetGroup", target_group("blue", colour))]
    store.put(ALB, "RequestCount", dims, at, 1.0)
    answered = termination.startswith("-")
    if answered:
        store.put(ALB, "TargetResponseTime", dims, at, seconds)
        if status >= 500:
            store.put(ALB, "HTTPCode_Target_5XX_Count", dims, at, 1.0)
    elif status >= 500:
        store.put(ALB, "HTTPCode_ELB_5XX_Count", [("LoadBalancer", load_balancer("blue"))], at, 1.0)


def put_unhealthy(store: MetricStore, colour: str, edges: Iterable[str], at: float, count: int) -> None:
    for edge in edges:
        store.put(ALB, "UnHealthyHostCount", [("LoadBalancer", load_balancer(edge)),
                                              ("TargetGroup", target_group(edge, colour))], at, float(count))


def put_running(store: MetricStore, colour: str, at: float, count: int) -> None:
    store.put(ECS, "RunningTaskCount", [("ClusterName", CLUSTER), ("ServiceName", service(colour))], at, float(count))
