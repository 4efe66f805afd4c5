"""The payment metrics: EMF documents CloudWatch would extract, high resolution, per colour, by cause."""

from __future__ import annotations

import json
import uuid

from fastapi.testclient import TestClient

from payment_api import metrics as m
from payment_api.api import create_app
from payment_api.database import make_engine
from payment_api.faults import ROUTE
from payment_api.settings import Settings

from .test_api import body


def emf_documents(text: str) -> list[dict]:
    docs = []
    for line in text.splitlines():
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if isinstance(doc, dict) and "_aws" in doc:
            docs.append(doc)
    return docs


def test_metrics__flush__one_high_resolution_document_per_dimension_set(capsys):
    pm = m.PaymentMetrics("green")
    pm.record(201, "created", 12.5)
    pm.record(200, "replayed", 3.0)
    pm.record(500, "injected", 1.0)
    pm.record(503, "unavailable", 900.0)
    pm.record(422, "invalid_body", 0.5)
    pm.flush()
    docs = emf_documents(capsys.readouterr().out)
    main = next(d for d in docs if m.CAUSE not in d)
    directive = main["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == m.NAMESPACE and directive["Dimensions"] == [[m.COLOUR]]
    assert {x["Name"]: x["StorageResolution"] for x in directive["Metrics"]} == {
        m.LATENCY: 1, m.ATTEMPTED: 1, m.SUCCEEDED: 1, m.FAILED: 1}
    assert (main[m.COLOUR], main[m.ATTEMPTED], main[m.SUCCEEDED], main[m.FAILED]) == ("green", [5.0], [2.0], [2.0])
    assert sorted(main[m.LATENCY]) == [0.5, 1.0, 3.0, 12.5, 900.0]
    causes = {d[m.CAUSE]: d[m.FAILED] for d in docs if m.CAUSE in d}
    assert causes == {"injected": [1.0], "unavailable": [1.0]}
    assert all(d["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [[m.COLOUR, m.CAUSE]] for d in docs if m.CAUSE in d)


def test_metrics__idle_flush__publishes_zero_counts(capsys):
    """An idle task still reports: silence means no task alive, never no traffic."""
    m.PaymentMetrics("blue").flush()
    (doc,) = emf_documents(capsys.readouterr().out)
    assert (doc[m.ATTEMPTED], doc[m.FAILED]) == ([0.0], [0.0]) and m.LATENCY not in doc


def test_metrics__over_100_latency_values__split_into_documents_of_at_most_100(capsys):
    pm = m.PaymentMetrics("blue")
    for i in range(250):
        pm.record(201, "created", float(i))
    pm.flush()
    docs = emf_documents(capsys.readouterr().out)
    values = [v for d in docs for v in (d.get(m.LATENCY) or [])]
    assert sorted(values) == [float(i) for i in range(250)]
    assert all(len(d.get(m.LATENCY) or []) <= 100 for d in docs)


def test_metrics__service__prints_payments_by_outcome(schema, identity, capsys):
    settings = Settings.from_env({**schema["env"], "REHEARSAL_FAULTS": "true", "METRICS_FLUSH_SECONDS": "60"})
    with TestClient(create_app(settings, make_engine(settings)), headers=identity) as client:
        client.post("/payments", json=body(), headers={"Idempotency-Key": f"k-{uuid.uuid4()}"})
        client.put(ROUTE, json={"error_rate": 1})
        client.post("/payments", json=body(), headers={"Idempotency-Key": f"k-{uuid.uuid4()}"})
    docs = emf_documents(capsys.readouterr().out)  # the last flush comes at shutdown
    assert sum(d.get(m.ATTEMPTED, [0])[0] for d in docs) == 2
    assert sum(d.get(m.SUCCEEDED, [0])[0] for d in docs) == 1
    assert [d[m.FAILED] for d in docs if d.get(m.CAUSE) == "injected"] == [[1.0]]
    assert {d[m.COLOUR] for d in docs} == {"blue"}
