"""One evidence pack per cut-over: what an assessor asks for, in one folder, chained so nothing can be
edited or left out unnoticed.

    bluegreen evidence CHG-4711 --env prod --out evidence/CHG-4711 [--review review/CHG-4711] \
        [--attach .rehearsal/report.txt --attach scan-results.txt ...]
    bluegreen evidence verify evidence/CHG-4711 [--env prod]

Collected from the deployment (the traffic-shifter Lambda's own configuration names every resource):
the approvals of the change and the shift state (state table), the weights over time (the SSM
green-weight parameter's history), the gates' state changes (CloudWatch alarm history), the shifter's
decisions (its log group), the writer and the switchover journal (``bluegreen db status``'s answer from the
function, which alone reaches the databases), replication and validation (DMS task status and table
statistics); from files: the reviewed change sets (``--review``: the folder ``bluegreen.change_sets``
wrote) and anything ``--attach``-ed (scanner and test results, the rehearsal report). What cannot be
read is an entry too, saying why -- an absent source is visible, never silently missing.

Each entry is a file; ``manifest.json`` lists them in order with their SHA-256 and a hash chain
(``chain_i = sha256(chain_{i-1} + name + sha256_i)``), whose head is recorded in the state table
(``evidence#<change id>``, with who collected it, as their STS identity). ``summary.html`` shows the
timeline plot (``timeline.png``: green weight, gate alarms and writer moves over time) and every entry
with its hash. ``verify`` recomputes every hash and the chain: an edited, missing or added entry, or
a head that differs from the recorded one (with ``--env``), fails it.
"""

from __future__ import annotations

import hashlib
import html
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
GENESIS = "0" * 64


class EvidenceError(Exception):
    """Refused or failed; the message says what."""


# ----------------------------------------------------------------------------- the chain (pure)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def link(previous: str, name: str, digest: str) -> str:
    return sha256(f"{previous}\n{name}\n{digest}".encode())


def chain(entries: list[tuple[str, bytes]]) -> list[dict[str, str]]:
    """[(name, content)] in order -> the manifest's entries, each linked to the one before."""
    previous, out = GENESIS, []
    for name, data in entries:
        digest = sha256(data)
        previous = link(previous, name, digest)
        out.append({"name": name, "sha256": digest, "chain": previous})
    return out


def problems(folder: Path, manifest: dict[str, Any]) -> list[str]:
    """Why the folder is not the pack the manifest describes ([] when it is)."""
    found = []
    listed = {e["name"] for e in manifest.get("entries", [])}
    previous = GENESIS
    for entry in manifest.get("entries", []):
        path = folder / entry["name"]
        if not path.is_file():
            found.append(f"{entry['name']}: missing")
            previous = entry["chain"]
            continue
        digest = sha256(path.read_bytes())
        if digest != entry["sha256"]:
            found.append(f"{entry['name']}: edited (sha256 {digest[:12]}..., recorded {entry['sha256'][:12]}...)")
        if link(previous, entry["name"], entry["sha256"]) != entry["chain"]:
            found.append(f"{entry['name']}: the chain is broken at this entry (manifest edited)")
        previous = entry["chain"]
    if manifest.get("entries") and previous != manifest.get("head"):
        found.append("the manifest's head is not the last link of its chain")
    extra = sorted(p.name for p in folder.iterdir() if p.is_file() and p.name not in listed | {MANIFEST})
    found += [f"{name}: not in the manifest (added after the pack was made)" for name in extra]
    return found


def as_json(document: Any) -> bytes:
    return (json.dumps(document, indent=2, sort_keys=True, default=str) + "\n").encode()


# ----------------------------------------------------------------------------- collection (adapters)


@dataclass
class Source:
    name: str
    read: Callable[[], Any]


def _unavailable(err: BaseException) -> dict[str, str]:
    return {"unavailable": f"{type(err).__name__}: {err}"}


def deployment_sources(session: Any, variables: dict[str, str], change_id: str, function: str,
                       db_status: Callable[[], Any] | None) -> list[Source]:
    """What the deployment holds about a change, each read lazily by its own source."""
    table = session.resource("dynamodb").Table(variables["STATE_TABLE"])
    prefix = variables["SSM_PREFIX"].rstrip("/")
    gates = [g for g in variables.get("GATE_ALARMS", "").split(",") if g]
    tasks = [variables[k] for k in ("DMS_TASK_INITIAL_ARN", "DMS_TASK_BLUE_TO_GREEN_ARN", "DMS_TASK_GREEN_TO_BLUE_ARN")
             if variables.get(k)]

    def items(predicate: Callable[[str], bool]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {}
        while True:
            page = table.scan(ConsistentRead=True, **kwargs)
            out += [i for i in page.get("Items", []) if predicate(str(i.get("plan_id", "")))]
            if "LastEvaluatedKey" not in page:
                return sorted(out, key=lambda i: str(i.get("plan_id")))
            kwargs = {"ExclusiveStartKey": page["LastEvaluatedKey"]}

    def weights() -> list[dict[str, Any]]:
        ssm, out = session.client("ssm"), []
        kwargs: dict[str, Any] = {}
        while True:
            page = ssm.get_parameter_history(Name=f"{prefix}/traffic/green-weight", **kwargs)
            out += [{"at": p["LastModifiedDate"], "green_weight": p["Value"], "by": p.get("LastModifiedUser")}
                    for p in page["Parameters"]]
            if not page.get("NextToken"):
                return out
            kwargs = {"NextToken": page["NextToken"]}

    def gate_history() -> list[dict[str, Any]]:
        cloudwatch, out = session.client("cloudwatch"), []
        for gate in gates:
            history = cloudwatch.describe_alarm_history(AlarmName=gate, HistoryItemType="StateUpdate", MaxRecords=100)
            out += [{"gate": gate, "at": h["Timestamp"], "summary": h.get("HistorySummary"),
                     "data": json.loads(h["HistoryData"]) if h.get("HistoryData") else None}
                    for h in history["AlarmHistoryItems"]]
        return sorted(out, key=lambda h: h["at"])

    def decisions() -> list[dict[str, Any]]:
        logs, out = session.client("logs"), []
        kwargs: dict[str, Any] = {}
        while True:
            page = logs.filter_log_events(logGroupName=f"/aws/lambda/{function}", **kwargs)
            out += [{"at": e["timestamp"], "stream": e["logStreamName"], "message": e["message"]} for e in page["events"]]
            if not page.get("nextToken") or len(out) > 20000:
                return out
            kwargs = {"nextToken": page["nextToken"]}

    def replication() -> list[dict[str, Any]]:
        dms, out = session.client("dms"), []
        for arn in tasks:
            task = dms.describe_replication_tasks(Filters=[{"Name": "replication-task-arn", "Values": [arn]}])
            stats = dms.describe_table_statistics(ReplicationTaskArn=arn).get("TableStatistics", [])
            out.append({"task": arn, "status": [t.get("Status") for t in task["ReplicationTasks"]],
                        "stats": [t.get("ReplicationTaskStats") for t in task["ReplicationTasks"]],
                        "tables": stats})
        return out

    sources = [
        Source("approvals.json", lambda: items(lambda k: k.startswith(f"approval#{change_id}#"))),
        Source("shift-state.json", lambda: items(lambda k: not k.startswith(("approval#", "evidence#")))),
        Source("weights.json", weights),
        Source("gates.json", gate_history),
        Source("shifter-decisions.json", decisions),
        Source("replication.json", replication),
    ]
    if db_status is not None:
        sources.append(Source("writer-and-switchover-journal.json", db_status))
    return sources


def file_sources(review: Path | None, attachments: list[Path]) -> list[Source]:
    sources = []
    if review is not None:
        for path in sorted(review.glob("*.json")):
            sources.append(Source(f"change-set--{path.name}", path.read_bytes))
    for path in attachments:
        sources.append(Source(f"attached--{path.name}", path.read_bytes))
    return sources


def read(source: Source) -> bytes:
    try:
        value = source.read()
    except Exception as err:  # noqa: BLE001 - an unreadable source is itself evidence, said in its entry
        value = _unavailable(err)
    return value if isinstance(value, bytes) else as_json(value)


# ----------------------------------------------------------------------------- the timeline


def _when(value: Any) -> datetime:
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value / 1000, UTC)
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def timeline(weights: list[dict[str, Any]], gates: list[dict[str, Any]], writer_moves: list[dict[str, Any]],
             out: Path, title: str) -> None:
    """Green weight (a step line), gate alarms (red marks) and writer moves (vertical lines) over time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 3.6), dpi=100)
    if weights:
        times = [_when(w["at"]) for w in weights]
        ax.step(times, [float(w["green_weight"]) for w in weights], where="post", label="green weight %")  # type: ignore[arg-type]  # matplotlib plots datetimes (its stubs say numbers)
    alarms = [g for g in gates if (g.get("data") or {}).get("newState", {}).get("stateValue") == "ALARM"]
    if alarms:
        ax.scatter([_when(g["at"]) for g in alarms], [100] * len(alarms), color="red", marker="v",  # type: ignore[arg-type]  # matplotlib plots datetimes
                   label="gate ALARM")
    for move in writer_moves:
        ax.axvline(_when(move["at"]), color="purple", linestyle="--", label=f"writer -> {move.get('to')}")  # type: ignore[arg-type]  # a datetime
    ax.set_ylim(-5, 110)
    ax.set_ylabel("% of traffic on green")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(out, format="png", metadata={"Software": None})
    plt.close(fig)


def summary_html(change_id: str, meta: dict[str, Any], entries: list[dict[str, str]]) -> bytes:
    rows = "\n".join(f"<tr><td>{html.escape(e['name'])}</td><td><code>{e['sha256']}</code></td></tr>" for e in entries)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Evidence {html.escape(change_id)}</title></head>
<body>
<h1>Evidence pack {html.escape(change_id)}</h1>
<p>Environment {html.escape(str(meta['environment']))}; collected {html.escape(str(meta['collected_at']))} by
{html.escape(str(meta['collected_by']))}. <code>bluegreen evidence verify &lt;this folder&gt;</code> checks every entry.</p>
<img src="timeline.png" alt="green weight, gate alarms and writer moves over time">
<h2>Entries (in chain order)</h2>
<table border="1" cellpadding="4"><tr><th>entry</th><th>SHA-256</th></tr>
{rows}
</table>
</body></html>
""".encode()


def build(folder: Path, change_id: str, meta: dict[str, Any], sources: list[Source]) -> dict[str, Any]:
    """Read every source, write the entries, the timeline, the summary and the manifest; return the manifest."""
    if folder.exists() and any(folder.iterdir()):
        raise EvidenceError(f"{folder} is not empty: each change's pack gets a folder of its own")
    folder.mkdir(parents=True, exist_ok=True)
    contents: list[tuple[str, bytes]] = [("meta.json", as_json(meta))]
    contents += [(s.name, read(s)) for s in sources]
    by_name = dict(contents)

    def loaded(name: str) -> list[dict[str, Any]]:
        try:
            value = json.loads(by_name.get(name, b"[]"))
        except ValueError:
            return []
        return value if isinstance(value, list) else []

    try:
        writer = json.loads(by_name.get("writer-and-switchover-journal.json", b"{}")).get("writer")
    except (ValueError, AttributeError):
        writer = None
    # Writer moves: the switchovers the shifter logged (its log is the one record of when they happened).
    moves = [{"at": e["at"], "to": "green" if "green" in e["message"] else "blue"}
             for e in loaded("shifter-decisions.json") if "switchover" in e.get("message", "")
             and "unfenced" in e.get("message", "")]
    timeline(loaded("weights.json"), loaded("gates.json"), moves, folder / "timeline.png",
             f"{change_id}: green weight, gate alarms, writer (now: {writer or 'unknown'})")
    contents.append(("timeline.png", (folder / "timeline.png").read_bytes()))
    entries = chain(contents)
    contents.append(("summary.html", summary_html(change_id, meta, entries)))
    entries = chain(contents)
    for name, data in contents:
        (folder / name).write_bytes(data)
    manifest = {"change_id": change_id, "entries": entries, "head": entries[-1]["chain"]}
    (folder / MANIFEST).write_bytes(as_json(manifest))
    return manifest


def verify(folder: Path, recorded_head: str | None = None) -> dict[str, Any]:
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError) as err:
        raise EvidenceError(f"{folder / MANIFEST}: not an evidence pack ({err})") from err
    found = problems(folder, manifest)
    if recorded_head is not None and recorded_head != manifest.get("head"):
        found.append(f"the head {manifest.get('head', '')[:12]}... is not the one recorded in the audit trail "
                     f"({recorded_head[:12]}...)")
    if found:
        raise EvidenceError("evidence pack does not verify: " + "; ".join(found))
    return {"ok": True, "change_id": manifest["change_id"], "entries": len(manifest["entries"]), "head": manifest["head"]}


def record_head(session: Any, variables: dict[str, str], change_id: str, head: str, by: str, at: str) -> None:
    """The head into the state table (the shifter's audit store), as the collector's identity."""
    session.resource("dynamodb").Table(variables["STATE_TABLE"]).put_item(Item={
        "plan_id": f"evidence#{change_id}", "head": head, "collected_by": by, "collected_at": at})


def recorded_head(session: Any, variables: dict[str, str], change_id: str) -> str | None:
    item = session.resource("dynamodb").Table(variables["STATE_TABLE"]).get_item(
        Key={"plan_id": f"evidence#{change_id}"}, ConsistentRead=True).get("Item")
    return str(item["head"]) if item else None
