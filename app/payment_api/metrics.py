"""The service's own payment metrics, per colour, as high-resolution CloudWatch metrics in its logs.

Each task prints, once per ``METRICS_FLUSH_SECONDS`` (1 s), embedded-metric-format documents (EMF,
written by aws-lambda-powertools' CloudWatch EMF provider, not by hand) on stdout; the ``awslogs``
driver ships them to CloudWatch Logs, which extracts the metrics
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
Every metric carries ``StorageResolution: 1``, so alarms can judge 10-second periods
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/publishingMetrics.html#high-resolution-metrics).

Why the service publishes its own: the ALB's metrics come per minute and only count what the
targets answered; these come per second and count payments by outcome. A task also publishes its
counts when they are 0, so "the colour published nothing" means no task of it is alive (the
monitoring stack's "silent" alarm), never "no traffic".

The names and the namespace are used by templates/monitoring.py (one source: it imports them).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import warnings
from collections import Counter

from aws_lambda_powertools.metrics import MetricResolution, MetricUnit
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

#: The namespace is the prefix and the environment (METRICS_NAMESPACE, set by the task definition).
NAMESPACE_PREFIX = "PaymentService/"
NAMESPACE = NAMESPACE_PREFIX + "local"
COLOUR = "Colour"
CAUSE = "Cause"
ATTEMPTED = "PaymentsAttempted"
SUCCEEDED = "PaymentsSucceeded"
FAILED = "PaymentsFailed"
LATENCY = "PaymentLatency"
#: Every (metric, dimensions) the service publishes: the monitoring stack may alarm on these only.
PUBLISHED = {
    ATTEMPTED: (COLOUR,),
    SUCCEEDED: (COLOUR,),
    FAILED: (COLOUR,),
    LATENCY: (COLOUR,),
    f"{FAILED} by {CAUSE}": (COLOUR, CAUSE),
}


def failure_cause(status: int, outcome: str) -> str | None:
    """The cause a payment failed for (the service's fault: a 5xx), None when it did not fail.
    A 4xx is the client's error: attempted, neither succeeded nor failed."""
    return outcome if status >= 500 else None


class PaymentMetrics:
    """Counts payments as they end and prints them as EMF every ``flush_seconds`` (from the event loop only,
    where the request log is written too, so the two never interleave on stdout)."""

    def __init__(self, colour: str, flush_seconds: float = 1.0, namespace: str = NAMESPACE) -> None:
        self.colour, self.flush_seconds, self.namespace = colour, flush_seconds, namespace
        self._main = self._provider()
        self._by_cause: dict[str, AmazonCloudWatchEMFProvider] = {}
        self._counts: Counter[str] = Counter()
        self._causes: Counter[str] = Counter()
        self._task: asyncio.Task | None = None

    def _provider(self, **extra: str) -> AmazonCloudWatchEMFProvider:
        return AmazonCloudWatchEMFProvider(namespace=self.namespace, default_dimensions={COLOUR: self.colour, **extra})

    def record(self, status: int, outcome: str, latency_ms: float) -> None:
        self._counts[ATTEMPTED] += 1
        cause = failure_cause(status, outcome)
        if cause:
            self._counts[FAILED] += 1
            self._causes[cause] += 1
        elif status < 300:
            self._counts[SUCCEEDED] += 1
        # Every value is kept (at most 100 per document; the provider prints a full one at once), so
        # CloudWatch computes the p99 from the values themselves.
        self._main.add_metric(LATENCY, MetricUnit.Milliseconds, round(latency_ms, 3), resolution=MetricResolution.High)

    def flush(self) -> None:
        for name in (ATTEMPTED, SUCCEEDED, FAILED):
            self._main.add_metric(name, MetricUnit.Count, self._counts[name], resolution=MetricResolution.High)
        self._counts.clear()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._main.flush_metrics()
            for cause, count in self._causes.items():
                provider = self._by_cause.setdefault(cause, self._provider(**{CAUSE: cause}))
                provider.add_metric(FAILED, MetricUnit.Count, count, resolution=MetricResolution.High)
                provider.flush_metrics()
        self._causes.clear()

    async def _run(self) -> None:
        # Flushes at whole multiples of the interval, so every task's documents share timestamps.
        while True:
            await asyncio.sleep(self.flush_seconds - time.time() % self.flush_seconds)
            self.flush()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.flush()
