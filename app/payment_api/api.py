"""The HTTP routes (FastAPI). Decisions live in payments.py, pan.py and retry.py; this is the adapter.

Every payment route first asks who is calling: the client certificate the load balancer verified
(client_identity.py; 403 without one, or for a merchant the certificate is not granted). Then the
request is checked in the order a client can act on: the Idempotency-Key header (400), then
the body (422, without echoing any input: a body may hold a PAN), then the card token (422 when it
looks like a card number). Every answer is signed (signing.py) and logged as one JSON line.
"""

from __future__ import annotations

import json
import time
from contextlib import asynccontextmanager
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from sqlalchemy import Engine, text
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from payment_api import __version__, client_identity, pan, request_log, retry, signing
from payment_api.faults import ROUTE as FAULTS_ROUTE
from payment_api.faults import FaultInjector, Faults
from payment_api.metrics import PaymentMetrics
from payment_api.payments import PaymentRequest, PaymentStore, Unavailable
from payment_api.schema import KEY_MAX
from payment_api.settings import Settings

KEY_HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"


class PaymentIn(BaseModel):
    """The body of POST /payments. Strict: no coercion ("10" is not an amount), no extra fields."""

    model_config = ConfigDict(extra="forbid", strict=True)
    merchant_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    customer_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    amount_minor: int = Field(gt=0, le=10**12)
    # ISO 4217 alphabetic code: three upper-case letters (shape only; the code list is the acquirer's).
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    card_token: str = Field(min_length=1, max_length=128)


_PAYMENT_IN = TypeAdapter(PaymentIn)


def _safe_errors(err: ValidationError) -> list[dict]:
    """Where and what, never the offending value (it could be a PAN)."""
    return [{"field": ".".join(str(p) for p in e["loc"]) or "body", "problem": e["msg"]} for e in err.errors()]


#: Threads for payments and look-ups (anyio's default is 40; see lifespan below) and for /health.
WORKER_THREADS = 400
HEALTH_THREADS = 2


def create_app(settings: Settings, engine: Engine) -> FastAPI:
    store = PaymentStore(engine, settings.app_colour, retry.Backoff(settings.write_retry_seconds))
    backoff = store.backoff
    # Local runs and the rehearsal give the key; a task in AWS reads it once from Secrets Manager (task role).
    key = settings.payment_signing_key or signing.load_stored_key(settings.payment_signing_key_secret_arn,
                                                                  settings.aws_region)
    signer = signing.Signer(key, settings.payment_signing_key_previous)
    colour = settings.app_colour

    def answer(status: int, body: bytes | dict, headers: dict | None = None) -> Response:
        raw = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode()
        response = Response(raw, status_code=status, media_type="application/json", headers=headers)
        response.headers[signing.HEADER] = signer.sign(status, raw)
        return response

    def unavailable(note: str) -> Response:
        return answer(503, {"error": "the database writer is not accepting writes right now; retry with the same "
                                     "Idempotency-Key", "detail": note},
                      {"Retry-After": backoff.retry_after_header()})

    directory = client_identity.MerchantDirectory(engine)

    async def caller(request: Request) -> tuple[frozenset[str], Response | None, str]:
        """The merchants the verified client certificate may act for, or the refusal (and its log outcome)."""
        try:
            identity = client_identity.from_headers(request.headers)
        except client_identity.IdentityError as err:
            return frozenset(), answer(403, {"error": f"no verified client certificate: {err}"}), "no_identity"
        try:
            merchants = await run_in_threadpool(directory.merchants, identity.subject)
        except Exception as err:  # noqa: BLE001 - the grants cannot be read: retry later, as for any read
            return frozenset(), unavailable(f"client grants not readable ({type(err).__name__})"), "unavailable"
        if not merchants:
            return frozenset(), answer(403, {"error": "this client certificate is not granted any merchant"}), "forbidden"
        return merchants, None, ""

    def not_yours(merchant_id: str) -> Response:
        return answer(403, {"error": f"this client certificate may not act for merchant {merchant_id}"})

    limiters: dict[str, anyio.CapacityLimiter] = {}
    metrics = PaymentMetrics(colour, settings.metrics_flush_seconds, settings.metrics_namespace)
    # Only with the rehearsal's explicit setting (settings.py refuses it on ECS): see faults.py.
    faults = FaultInjector(engine) if settings.rehearsal_faults else None

    @asynccontextmanager
    async def lifespan(_app: FastAPI):  # FastAPI's lifespan signature
        # A write pause (the fence, the name move) keeps each paying request's thread asleep between
        # retries; at 70 payments/s per task a 2 s pause holds ~150 of them. anyio's default of 40
        # threads would queue every request behind those (and the health check with them, so the
        # load balancer would mark a healthy task down: the rehearsal found exactly that).
        anyio.to_thread.current_default_thread_limiter().total_tokens = WORKER_THREADS
        # The health check has threads of its own: it answers whatever the payments are doing.
        limiters["health"] = anyio.CapacityLimiter(HEALTH_THREADS)
        metrics.start()
        yield
        await metrics.stop()

    app = FastAPI(title="payment-api", version=__version__, docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=lifespan)
    app.state.store = store
    app.state.metrics = metrics

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return answer(exc.status_code, {"error": str(exc.detail)})

    @app.post("/payments")
    async def create_payment(request: Request) -> Response:
        started = time.perf_counter()
        idem = request.headers.get(KEY_HEADER)
        logged_key = idem
        notes: tuple[str, ...] = ()
        outcome, status, payment_id, attempts = "error", 500, None, None
        try:
            merchants, refusal, refused = await caller(request)
            if refusal is not None:
                outcome, status = refused, refusal.status_code
                return refusal
            if not idem:
                outcome, status = "missing_key", 400
                return answer(400, {"error": f"the {KEY_HEADER} header is required: one unique key per payment, "
                                             "reused only to retry that payment"})
            if len(idem) > KEY_MAX or not idem.isascii() or not idem.isprintable():
                logged_key = None
                outcome, status = "bad_key", 400
                return answer(400, {"error": f"{KEY_HEADER} must be 1-{KEY_MAX} printable ASCII characters"})
            if pan.looks_like_pan(idem):
                logged_key = "<refused: looks like a card number>"
                outcome, status = "pan_refused", 422
                return answer(422, {"error": f"{KEY_HEADER} looks like a card number (PAN); use a random key"})
            try:
                raw = json.loads(await request.body())
                body = _PAYMENT_IN.validate_python(raw)
            except (ValueError, ValidationError) as err:
                outcome, status = "invalid_body", 422
                problems = _safe_errors(err) if isinstance(err, ValidationError) else [
                    {"field": "body", "problem": "not valid JSON"}]
                return answer(422, {"error": "invalid payment request", "problems": problems})
            if body.merchant_id not in merchants:
                outcome, status = "forbidden", 403
                return not_yours(body.merchant_id)
            if pan.looks_like_pan(body.card_token):
                # PCI DSS 3.4: refused before anything stores or logs it.
                outcome, status = "pan_refused", 422
                return answer(422, {"error": "card_token looks like a card number (PAN): send the token your "
                                             "card vault issued, never the number"})
            if faults is not None and await faults.before_payment():
                outcome, status = "injected", 500
                return answer(500, {"error": "injected fault (rehearsal); the payment was not acknowledged, retry "
                                             "with the same key"})
            result = await run_in_threadpool(store.create, idem, PaymentRequest(**body.model_dump()))
            outcome, status, payment_id, attempts, notes = (result.kind, result.status, result.payment_id,
                                                            result.attempts, result.notes)
            if result.kind == "unavailable":
                return unavailable(f"gave up after {result.attempts} attempts in {settings.write_retry_seconds:g} s")
            headers = {REPLAY_HEADER: "true"} if result.kind == "replayed" else None
            return answer(result.status, result.body, headers)
        except Exception as err:  # noqa: BLE001 - answered 500 and logged without parameters
            notes = (f"{type(err).__name__} (MySQL {retry.mysql_code(err)})",)
            return answer(500, {"error": "internal error; the payment was not acknowledged, retry with the same key"})
        finally:
            latency_ms = 1000 * (time.perf_counter() - started)
            metrics.record(status, outcome, latency_ms)
            request_log.request(method="POST", route="/payments", status=status, outcome=outcome, colour=colour,
                                latency_ms=latency_ms, key=logged_key,
                                payment_id=payment_id, attempts=attempts, notes=notes)

    async def _lookup(route: str, request: Request, fetch: Any, *args: str, logged_key: str | None = None) -> Response:
        started = time.perf_counter()
        status, outcome = 500, "error"
        try:
            merchants, refusal, refused = await caller(request)
            if refusal is not None:
                status, outcome = refusal.status_code, refused
                return refusal
            if route == "/payments" and args[0] not in merchants:
                status, outcome = 403, "forbidden"
                return not_yours(args[0])
            row = await run_in_threadpool(fetch, *args)
            if row is None:
                status, outcome = 404, "not_found"
                return answer(404, {"error": "no such payment"})
            if row["merchant_id"] not in merchants:
                status, outcome = 403, "forbidden"
                return not_yours(row["merchant_id"])
            status, outcome = 200, "found"
            return answer(200, row)
        except Unavailable as err:
            status, outcome = 503, "unavailable"
            return unavailable(str(err))
        except Exception:  # noqa: BLE001 - a signed 500, logged without parameters
            return answer(500, {"error": "internal error"})
        finally:
            request_log.request(method="GET", route=route, status=status, outcome=outcome, colour=colour,
                                latency_ms=1000 * (time.perf_counter() - started), key=logged_key)

    @app.get("/payments/{payment_id}")
    async def get_payment(payment_id: str, request: Request) -> Response:
        return await _lookup("/payments/{payment_id}", request, store.payment, payment_id)

    @app.get("/payments")
    async def find_payment(request: Request) -> Response:
        idem, merchant = request.query_params.get("idempotency_key"), request.query_params.get("merchant_id")
        if not idem or not merchant:
            return answer(400, {"error": "GET /payments needs ?merchant_id=M&idempotency_key=K (reconciliation "
                                         "look-up; keys are scoped to their merchant)"})
        return await _lookup("/payments", request, store.payment_by_key, merchant, idem, logged_key=idem)

    # The health check's own pool (same login, same events, e.g. the IAM token per connection): in a write
    # pause every pooled connection may be busy with a retrying payment, and a full pool is not a dead writer.
    health_engine = engine.twin()  # type: ignore[attr-defined]  # the WriterEngines make_engine gives (an Engine with its twin)

    def _writer_state() -> str | None:
        """None when the writer answers as a writer; else why not."""
        try:
            with health_engine.connect() as conn:
                read_only = conn.execute(text("SELECT @@global.read_only")).scalar()
            return "the database answers but is read-only (not the writer)" if read_only else None
        except Exception as err:  # noqa: BLE001 - any failure means unhealthy
            return f"the database does not answer ({type(err).__name__}, MySQL {retry.mysql_code(err)})"

    @app.get("/signing-keys")
    async def signing_keys() -> Response:
        """The public keys answers are signed with (kid -> base64url raw Ed25519 key): public by nature."""
        return answer(200, {"algorithm": "Ed25519", "header": signing.HEADER, "keys": signer.public_keys()})

    @app.get("/health")
    async def health() -> Response:
        started = time.perf_counter()
        limiter = limiters.get("health") or anyio.CapacityLimiter(HEALTH_THREADS)
        problem = await anyio.to_thread.run_sync(_writer_state, limiter=limiter)
        status = 503 if problem else 200
        body = {"status": "unavailable" if problem else "ok", "colour": colour, "version": __version__}
        if problem:
            body["problem"] = problem
        request_log.request(method="GET", route="/health", status=status, outcome=body["status"], colour=colour,
                            latency_ms=1000 * (time.perf_counter() - started))
        return answer(status, body)

    if faults is not None:
        @app.get(FAULTS_ROUTE)
        async def get_faults() -> Response:
            return answer(200, faults.get())

        @app.put(FAULTS_ROUTE)
        async def put_faults(request: Request) -> Response:
            try:
                wanted = Faults.parse(json.loads(await request.body()))
            except ValueError as err:
                return answer(422, {"error": f"faults: {err}"})
            return answer(200, faults.set(wanted))

    return app
