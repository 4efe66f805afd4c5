"""The payment transaction, idempotent by key, and its retries across a writer fence.

One transaction per attempt: insert the payment (its idempotency key is UNIQUE: a racing twin
blocks here and then gets a duplicate-key error), debit the customer's account, credit the
merchant's (each created on first use), append the two ledger entries, store the first answer
with the request's hash, COMMIT. The answer 201 is given only after COMMIT returned.

Every retry first looks the key up (a plain SELECT: the fence leaves reads alone). That one rule
resolves an ambiguous commit (the connection died during COMMIT: did it land?) by what the
database holds, never by a guess, and makes a retry after a landed commit a replay, not a second
payment.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.mysql import insert as mysql_insert

from payment_api import retry
from payment_api.schema import accounts, idempotency_keys, ledger_entries, payments

ER_DUP_ENTRY = 1062
STATUS_CAPTURED = "captured"

# Built once: SQLAlchemy then reuses their compiled form, and each payment only binds values.
_INSERT_PAYMENT = payments.insert()
_INSERT_LEDGER = ledger_entries.insert()
_INSERT_ANSWER = idempotency_keys.insert()
_UPSERT_ACCOUNT = mysql_insert(accounts)
# Created on first use with the first amount; afterwards the amount is added to the balance.
_UPSERT_ACCOUNT = _UPSERT_ACCOUNT.on_duplicate_key_update(
    balance_minor=accounts.c.balance_minor + _UPSERT_ACCOUNT.inserted.balance_minor)


@dataclass(frozen=True)
class PaymentRequest:
    merchant_id: str
    customer_id: str
    amount_minor: int
    currency: str
    card_token: str

    def fingerprint(self) -> str:
        """SHA-256 of the canonical request: equal bodies (any key order) give equal hashes."""
        canonical = json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Outcome:
    """What the API answers. ``kind``: created | replayed | conflict | unavailable."""

    kind: str
    status: int
    body: bytes = b""
    payment_id: str | None = None
    attempts: int = 1
    notes: tuple[str, ...] = field(default=())


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _answer_body(payment_id: str, colour: str) -> bytes:
    return json.dumps({"payment_id": payment_id, "status": STATUS_CAPTURED, "colour": colour},
                      separators=(",", ":")).encode()


class PaymentStore:
    """Writes and reads payments through ``engine``; ``colour`` is recorded, never used to route."""

    def __init__(self, engine: Engine, colour: str, backoff: retry.Backoff, *,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self.engine, self.colour, self.backoff = engine, colour, backoff
        self.clock, self.sleep = clock, sleep

    # -- writes ---------------------------------------------------------------------------------
    def create(self, key: str, request: PaymentRequest) -> Outcome:
        request_hash = request.fingerprint()
        notes: list[str] = []
        start, attempt = self.clock(), 0
        while True:
            try:
                if attempt:
                    found = self._stored_answer(request.merchant_id, key)
                    if found is not None:
                        return self._replay(found, request_hash, attempt + 1, notes)
                return self._insert(key, request, request_hash, attempt + 1, notes)
            except _Duplicate:
                found = self._stored_answer_or_none(request.merchant_id, key)
                if found is not None:
                    return self._replay(found, request_hash, attempt + 1, notes)
                notes.append("duplicate key rolled back by its owner")  # the twin rolled back: try again
            except _Retryable as err:
                notes.append(err.note)
            delay = self.backoff.delay(attempt, self.clock() - start)
            if delay is None:
                return Outcome("unavailable", 503, attempts=attempt + 1, notes=tuple(notes))
            self.sleep(delay)
            attempt += 1

    def _insert(self, key: str, request: PaymentRequest, request_hash: str, attempts: int, notes: list) -> Outcome:
        payment_id = str(uuid.uuid4())
        body = _answer_body(payment_id, self.colour)
        now = _now()
        stage = "checkout"
        try:
            with self.engine.connect() as conn:
                try:
                    stage = "transaction"
                    trans = conn.begin()
                    conn.execute(_INSERT_PAYMENT, {
                        "payment_id": payment_id, "idempotency_key": key, "merchant_id": request.merchant_id,
                        "customer_id": request.customer_id, "amount_minor": request.amount_minor,
                        "currency": request.currency, "card_token": request.card_token, "status": STATUS_CAPTURED,
                        "colour": self.colour, "created_at": now})
                    legs = (("customer", request.customer_id, -request.amount_minor),
                            ("merchant", request.merchant_id, request.amount_minor))
                    for kind, owner, delta in legs:  # customer first, then merchant: one lock order
                        conn.execute(_UPSERT_ACCOUNT, {"kind": kind, "owner_id": owner, "currency": request.currency,
                                                       "balance_minor": delta, "created_at": now})
                    conn.execute(_INSERT_LEDGER, [
                        {"payment_id": payment_id, "account_kind": kind, "account_owner_id": owner,
                         "currency": request.currency, "amount_minor": delta, "created_at": now}
                        for kind, owner, delta in legs])
                    conn.execute(_INSERT_ANSWER, {
                        "merchant_id": request.merchant_id, "idempotency_key": key, "request_hash": request_hash, "payment_id": payment_id,
                        "response_status": 201, "response_body": body.decode(), "created_at": now})
                    stage = "commit"
                    trans.commit()
                except sa_exc.DBAPIError as err:
                    self._drop_if_needed(conn, err)
                    raise
        except sa_exc.IntegrityError as err:
            if retry.mysql_code(err) == ER_DUP_ENTRY:
                raise _Duplicate() from err
            raise
        except sa_exc.DBAPIError as err:
            code = retry.mysql_code(err)
            if retry.decide(err) is retry.Action.FAIL:
                raise
            ambiguous = stage == "commit" and retry.commit_is_ambiguous(code)
            raise _Retryable(f"{stage}: MySQL {code}" + (" (ambiguous commit: key looked up next)" if ambiguous else "")) from err
        except sa_exc.TimeoutError as err:  # every pooled connection busy: wait within the budget
            raise _Retryable("pool checkout timed out") from err
        return Outcome("created", 201, body, payment_id, attempts, tuple(notes))

    @staticmethod
    def _drop_if_needed(conn, err: sa_exc.DBAPIError) -> None:  # a SQLAlchemy Connection
        """Killed, fenced or read-only: this connection must not be reused (a new one resolves the name again)."""
        if retry.decide(err) is retry.Action.RECONNECT_AND_RETRY and not conn.invalidated:
            conn.invalidate()

    def _replay(self, found: dict, request_hash: str, attempts: int, notes: list) -> Outcome:
        if found["request_hash"] != request_hash:
            body = json.dumps({"error": "this Idempotency-Key was used for a different request",
                               "payment_id": found["payment_id"]}, separators=(",", ":")).encode()
            return Outcome("conflict", 409, body, found["payment_id"], attempts, tuple(notes))
        return Outcome("replayed", found["response_status"], found["response_body"].encode(),
                       found["payment_id"], attempts, tuple(notes))

    def _stored_answer_or_none(self, merchant_id: str, key: str) -> dict | None:
        try:
            return self._stored_answer(merchant_id, key)
        except _Retryable:
            return None

    def _stored_answer(self, merchant_id: str, key: str) -> dict | None:
        """The first answer for this key of this merchant (keys are scoped to their merchant)."""
        row = self._read(select(idempotency_keys).where(idempotency_keys.c.merchant_id == merchant_id,
                                                        idempotency_keys.c.idempotency_key == key))
        return dict(row) if row else None

    # -- reads ----------------------------------------------------------------------------------
    def _read(self, query):
        try:
            with self.engine.connect() as conn:
                try:
                    return conn.execute(query).mappings().first()
                except sa_exc.DBAPIError as err:
                    self._drop_if_needed(conn, err)
                    raise
        except sa_exc.DBAPIError as err:
            if retry.decide(err) is retry.Action.FAIL:
                raise
            raise _Retryable(f"read: MySQL {retry.mysql_code(err)}") from err
        except sa_exc.TimeoutError as err:
            raise _Retryable("pool checkout timed out") from err

    def payment(self, payment_id: str) -> dict | None:
        """The payment row, without the card token; raises Unavailable when the database does not answer."""
        return self._public(self._read_or_unavailable(select(payments).where(payments.c.payment_id == payment_id)))

    def payment_by_key(self, merchant_id: str, key: str) -> dict | None:
        """The merchant's payment with this key: another merchant's key is not found, never revealed."""
        return self._public(self._read_or_unavailable(select(payments).where(
            payments.c.merchant_id == merchant_id, payments.c.idempotency_key == key)))

    def _read_or_unavailable(self, query):
        try:
            return self._read(query)
        except _Retryable as err:
            raise Unavailable(err.note) from err

    @staticmethod
    def _public(row) -> dict | None:
        if row is None:
            return None
        out = {k: v for k, v in dict(row).items() if k != "card_token"}
        out["created_at"] = out["created_at"].isoformat() + "Z"
        return out


class Unavailable(Exception):
    """The database did not answer a read."""


class _Retryable(Exception):
    def __init__(self, note: str) -> None:
        super().__init__(note)
        self.note = note


class _Duplicate(Exception):
    pass
