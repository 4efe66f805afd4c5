"""The count at the end: what the clients were told succeeded, against what the databases hold.

``reconcile`` is a pure function of what was read, so its judgments are tested with planted faults
(tests/test_rehearsal/test_reconcile.py). The readers below fetch its inputs from the two MariaDB
servers (local rehearsal) or, against a deployed environment, through the service's own
``GET /payments?idempotency_key=`` (no database access there: divergence and the balance are then
not counted, and the report says so).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Acknowledged:
    """One line of the ledger: a payment the client was told was made."""

    idempotency_key: str
    payment_id: str
    acknowledged_at: float
    colour: str
    merchant_id: str = ""


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


def reconcile(ledger: Sequence[Acknowledged], on_writer: Mapping[str, Sequence[str]], *,
              checksums: Mapping[str, Mapping[str, Mapping[str, str]]] | None = None,
              books: Books | None = None) -> dict[str, Any]:
    """``on_writer``: idempotency key -> payment ids the final writer holds for it (of the ledger's keys
    at least); ``checksums``: colour -> table -> primary key -> row checksum, once replication settled."""
    acked: dict[str, set[str]] = defaultdict(set)
    for row in ledger:
        acked[row.idempotency_key].add(row.payment_id)
    lost = [k for k, ids in acked.items() if not ids & set(on_writer.get(k, ()))]
    # One key, more than one payment: on the writer, or acknowledged twice with different ids.
    duplicated = sorted({k for k, ids in on_writer.items() if len(ids) > 1} | {k for k, ids in acked.items() if len(ids) > 1})
    result: dict[str, Any] = {
        "acknowledged": len(acked),
        "lost": len(lost),
        "lost_keys": sorted(lost)[:20],
        "duplicated": len(duplicated),
        "duplicated_keys": duplicated[:20],
    }
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


# -- readers -----------------------------------------------------------------------------------------------
def payments_by_key(conn: Any, schema: str = "payments") -> dict[str, list[str]]:
    with conn.cursor() as cur:
        cur.execute(f"SELECT idempotency_key, payment_id FROM `{schema}`.payments")
        out: dict[str, list[str]] = defaultdict(list)
        for key, pid in cur.fetchall():
            out[key].append(pid)
    return dict(out)


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


def payments_by_key_over_http(url: str, keys: Mapping[str, str], *, tls: ClientTLS | None = None,
                              verify: bool | str = True, workers: int = 16) -> dict[str, list[str]]:
    """The service's reconciliation look-up, one key at a time (a deployed environment: no database access).

    ``keys``: idempotency key -> its merchant (keys are scoped to their merchant); with ``tls`` each look-up
    presents that merchant's client certificate, as the payment did."""
    keys = dict(keys)
    merchants = sorted(set(keys.values()))
    if tls:
        missing = [m for m in merchants if m not in tls.clients]
        if missing:
            raise ValueError(f"no client certificate for merchant(s) {', '.join(missing[:5])}")
    clients = {m: httpx.Client(base_url=url, timeout=10, verify=tls.context(m) if tls else verify) for m in merchants}

    def look(key: str) -> tuple[str, list[str]]:
        client = clients[keys[key]]
        for _ in range(5):
            resp = client.get("/payments", params={"merchant_id": keys[key], "idempotency_key": key})
            if resp.status_code == 200:
                return key, [str(resp.json()["payment_id"])]
            if resp.status_code == 404:
                return key, []
        raise RuntimeError(f"GET /payments?idempotency_key={key} kept answering {resp.status_code}: {resp.text[:200]}")

    try:
        with ThreadPoolExecutor(workers) as pool:
            return dict(pool.map(look, keys))
    finally:
        for client in clients.values():
            client.close()
