"""The count at the end: what the client sent and was told, against what each database holds.

A checker separate from what it checks (Jepsen's bank test is the model): it knows the requests the
client made (each body is its own: a card token no other request carries), what the client was told
(acknowledged with a payment id, replayed, or given up on) and the rows each database holds. It knows
nothing of how the service keeps keys unique, so it finds a second row for one request even under
another key. Judged against EACH database separately (a loss on the final writer and one on the
other database are both losses) and against the client's own ledger:

- lost: an acknowledged payment whose id the database does not hold for that request;
- duplicated: a request with more than one row, or one key acknowledged with two different ids;
- mismatched: an acknowledged payment stored with another amount, currency or merchant than was sent;
- charged but told failed: a row for a request the client gave up on;
- unexplained: a row no request of the client's accounts for;
- replays: payments acknowledged as replays (``Idempotent-Replayed``), the ambiguous-commit path.

``reconcile`` is a pure function of what was read, so its judgments are tested with planted faults
(tests/test_rehearsal/test_reconcile.py, against a real MariaDB). The readers below fetch its inputs
from the MariaDB servers (local rehearsal) or, against a deployed environment, through the service's own
``GET /payments?idempotency_key=`` (no database access there: divergence and the balance are then
not counted, and the report says so).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import httpx

from .client_tls import ClientTLS

#: Primary key columns of the payment tables (app/payment_api/schema.py).
PRIMARY_KEYS = {
    "accounts": ("kind", "owner_id", "currency"),
    "payments": ("payment_id",),
    "idempotency_keys": ("merchant_id", "idempotency_key"),
    "ledger_entries": ("entry_id",),
}
#: The columns of a stored payment the count reads (a row over HTTP has no card token).
ROW_COLUMNS = ("payment_id", "idempotency_key", "merchant_id", "amount_minor", "currency", "card_token")
#: What an acknowledged payment must have kept of its request.
COMPARED = ("merchant_id", "amount_minor", "currency")
#: Keys shown per figure in the report.
SHOWN = 20


@dataclass(frozen=True)
class Sent:
    """One request as the client sent it, and what it was told."""

    idempotency_key: str
    merchant_id: str
    amount_minor: int
    currency: str
    card_token: str
    #: "" when the client gave up on it (no acknowledgement within its retry budget, or a refusal).
    payment_id: str = ""
    acknowledged_at: float = 0.0
    replayed: bool = False
    colour: str = ""

    @property
    def acknowledged(self) -> bool:
        return bool(self.payment_id)


@dataclass(frozen=True)
class Books:
    """The balance facts of one database."""

    #: currency -> sum of all balances (double entry: 0).
    balance_sums: Mapping[str, int]
    #: accounts whose balance differs from the sum of their ledger entries.
    accounts_off: int
    #: payments without exactly two entries summing to 0.
    payments_unbalanced: int


def divergent(left: Mapping[str, Mapping[str, str]], right: Mapping[str, Mapping[str, str]]) -> dict[str, int]:
    """Per table: rows whose checksum differs, or that exist on one side only."""
    out = {}
    for table in sorted(set(left) | set(right)):
        a, b = left.get(table, {}), right.get(table, {})
        out[table] = sum(a.get(k) != b.get(k) for k in set(a) | set(b))
    return out


def balance_ok(books: Books) -> bool:
    return all(v == 0 for v in books.balance_sums.values()) and not books.accounts_off and not books.payments_unbalanced


def judge_database(sent: Sequence[Sent], rows: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    """One database against the requests: figure -> the idempotency keys (or payment ids) it applies to."""
    # Keyed as a row gives them (either may be missing from a row).
    by_key: dict[tuple[str | None, str | None], Sent] = {(s.merchant_id, s.idempotency_key): s for s in sent}
    by_token = {s.card_token: s for s in sent if s.card_token}
    found: dict[str, list[Mapping[str, Any]]] = defaultdict(list)  # request key -> rows that are that request
    unexplained = []
    for row in rows:
        # A row is a request's by its body's own card token when the row shows it, else by merchant and key.
        request = by_token.get(row.get("card_token") or "") or by_key.get((row.get("merchant_id"), row.get("idempotency_key")))
        if request is None:
            unexplained.append(str(row.get("payment_id")))
        else:
            found[request.idempotency_key].append(row)
    lost, mismatched = [], []
    for s in sent:
        if not s.acknowledged:
            continue
        mine = [r for r in found.get(s.idempotency_key, ()) if str(r.get("payment_id")) == s.payment_id]
        if not mine:
            lost.append(s.idempotency_key)
        elif any(str(mine[0].get(c)) != str(getattr(s, c)) for c in COMPARED):
            mismatched.append(s.idempotency_key)
    return {
        "lost": sorted(lost),
        "duplicated": sorted(k for k, rs in found.items() if len(rs) > 1),
        "mismatched": sorted(mismatched),
        "charged_but_failed": sorted(s.idempotency_key for s in sent if not s.acknowledged and found.get(s.idempotency_key)),
        "unexplained": sorted(unexplained),
    }


FIGURES = ("lost", "duplicated", "mismatched", "charged_but_failed", "unexplained")


def reconcile(sent: Sequence[Sent], databases: Mapping[str, Iterable[Mapping[str, Any]]], *,
              checksums: Mapping[str, Mapping[str, Mapping[str, str]]] | None = None,
              books: Books | None = None) -> dict[str, Any]:
    """``databases``: name -> the payment rows it holds (ROW_COLUMNS); every one is judged on its own, and a
    figure counts the requests it applies to on ANY of them. ``checksums``: colour -> table -> primary key ->
    row checksum, once replication settled; ``books``: the final writer's balance facts."""
    ids: dict[str, set[str]] = defaultdict(set)
    for s in sent:
        if s.acknowledged:
            ids[s.idempotency_key].add(s.payment_id)
    ledger_duplicated = sorted(k for k, v in ids.items() if len(v) > 1)  # one key told two different payments
    per_db = {name: judge_database(sent, rows) for name, rows in databases.items()}
    result: dict[str, Any] = {
        "requests_counted": len({s.idempotency_key for s in sent}),
        "acknowledged_counted": len(ids),
        "databases_counted": sorted(per_db),
    }
    for figure in FIGURES:
        keys = set().union(*(d[figure] for d in per_db.values())) if per_db else set()
        if figure == "duplicated":
            keys |= set(ledger_duplicated)
        result[figure] = len(keys)
        result[f"{figure}_keys"] = sorted(keys)[:SHOWN]
    result["by_database"] = {name: {f: len(d[f]) for f in FIGURES} for name, d in per_db.items()}
    result["ledger_duplicated"] = len(ledger_duplicated)
    replays = sorted(s.idempotency_key for s in sent if s.acknowledged and s.replayed)
    result["replays"] = len(replays)
    result["replay_keys"] = replays[:SHOWN]
    if checksums is not None:
        colours = sorted(checksums)
        per_table = divergent(checksums[colours[0]], checksums[colours[1]]) if len(colours) == 2 else {}
        result["divergent_rows"] = sum(per_table.values())
        result["divergent_by_table"] = per_table
    else:
        result["divergent_rows"] = None
    if books is not None:
        result["balance_ok"] = balance_ok(books)
        result["balance"] = {"sums": dict(books.balance_sums), "accounts_off": books.accounts_off,
                             "payments_unbalanced": books.payments_unbalanced}
    else:
        result["balance_ok"] = None
    return result


# -- the client's record ------------------------------------------------------------------------------------
def write_sent(path: Path, sent: Iterable[Sent]) -> None:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow([x.name for x in fields(Sent)])
        for s in sent:
            w.writerow([getattr(s, x.name) for x in fields(Sent)])


def read_sent(path: Path) -> list[Sent]:
    with path.open(newline="") as f:
        return [Sent(r["idempotency_key"], r["merchant_id"], int(r["amount_minor"]), r["currency"], r["card_token"],
                     r["payment_id"], float(r["acknowledged_at"] or 0), r["replayed"] == "True", r["colour"])
                for r in csv.DictReader(f)]


# -- readers -----------------------------------------------------------------------------------------------
def payment_rows(conn: Any, schema: str = "payments") -> list[dict[str, Any]]:
    """Every payment the database holds, as the count reads it."""
    with conn.cursor() as cur:
        cur.execute(f"SELECT {', '.join(ROW_COLUMNS)} FROM `{schema}`.payments")
        return [dict(zip(ROW_COLUMNS, r, strict=False)) for r in cur.fetchall()]


def table_checksums(conn: Any, schema: str = "payments") -> dict[str, dict[str, str]]:
    """table -> primary key -> MD5 of the whole row (every column, in order)."""
    out: dict[str, dict[str, str]] = {}
    with conn.cursor() as cur:
        for table, pk in PRIMARY_KEYS.items():
            cur.execute("SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA=%s AND TABLE_NAME=%s "
                        "ORDER BY ORDINAL_POSITION", (schema, table))
            columns = [r[0] for r in cur.fetchall()]
            row = ", ".join(f"IFNULL(`{c}`, '\\0')" for c in columns)
            key = ", ".join(f"`{c}`" for c in pk)
            cur.execute(f"SELECT CONCAT_WS('|', {key}), MD5(CONCAT_WS('|', {row})) FROM `{schema}`.`{table}`")
            out[table] = {str(k): str(v) for k, v in cur.fetchall()}
    return out


def read_books(conn: Any, schema: str = "payments") -> Books:
    with conn.cursor() as cur:
        cur.execute(f"SELECT currency, SUM(balance_minor) FROM `{schema}`.accounts GROUP BY currency")
        sums = {c: int(s) for c, s in cur.fetchall()}
        cur.execute(f"SELECT COUNT(*) FROM `{schema}`.accounts a LEFT JOIN (SELECT account_kind, account_owner_id, currency, "
                    f"SUM(amount_minor) AS total FROM `{schema}`.ledger_entries GROUP BY account_kind, account_owner_id, currency) l "
                    "ON l.account_kind = a.kind AND l.account_owner_id = a.owner_id AND l.currency = a.currency "
                    "WHERE a.balance_minor <> IFNULL(l.total, 0)")
        off = int(cur.fetchone()[0])
        cur.execute(f"SELECT COUNT(*) FROM `{schema}`.payments p LEFT JOIN (SELECT payment_id, COUNT(*) AS n, "
                    f"SUM(amount_minor) AS total FROM `{schema}`.ledger_entries GROUP BY payment_id) l ON l.payment_id = p.payment_id "
                    "WHERE IFNULL(l.n, 0) <> 2 OR l.total <> 0")
        unbalanced = int(cur.fetchone()[0])
    return Books(sums, off, unbalanced)


def payment_rows_over_http(url: str, keys: Mapping[str, str], *, tls: ClientTLS | None = None,
                           verify: bool | str = True, workers: int = 16) -> list[dict[str, Any]]:
    """The service's reconciliation look-up, one key at a time (a deployed environment: no database access):
    the payment rows it answers (without card tokens, which it never shows).

    ``keys``: idempotency key -> its merchant (keys are scoped to their merchant), every key the client sent
    (acknowledged or not: a payment for a key it gave up on is charged but told failed); with ``tls`` each
    look-up presents that merchant's client certificate, as the payment did."""
    keys = dict(keys)
    merchants = sorted(set(keys.values()))
    if tls:
        missing = [m for m in merchants if m not in tls.clients]
        if missing:
            raise ValueError(f"no client certificate for merchant(s) {', '.join(missing[:5])}")
    clients = {m: httpx.Client(base_url=url, timeout=10, verify=tls.context(m) if tls else verify) for m in merchants}

    def look(key: str) -> list[dict[str, Any]]:
        client = clients[keys[key]]
        for _ in range(5):
            resp = client.get("/payments", params={"merchant_id": keys[key], "idempotency_key": key})
            if resp.status_code == 200:
                data = resp.json()
                return [{c: data.get(c) for c in ROW_COLUMNS if c != "card_token"}]
            if resp.status_code == 404:
                return []
        raise RuntimeError(f"GET /payments?idempotency_key={key} kept answering {resp.status_code}: {resp.text[:200]}")

    try:
        with ThreadPoolExecutor(workers) as pool:
            return [row for rows in pool.map(look, keys) for row in rows]
    finally:
        for client in clients.values():
            client.close()
