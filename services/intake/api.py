"""The intake HTTP API: structured-mode CloudEvents in, binary-mode records on Kafka out.

`create_app` builds the FastAPI application; everything a request needs (store, keys,
publisher, status reader, rate limiter) comes from one `Intake`, opened in the app's lifespan
by a factory that tests can replace.

Errors are one JSON shape (`error` code, fixed `message`, `violations` as field + rule) and
never carry a submitted value: life events are personal data.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal, cast
from urllib.parse import quote, unquote

import structlog
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from pydantic_core import from_json
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.client import Client

import contracts
from contracts import (
    EVENT_TYPES,
    CloudEvent,
    ContractViolation,
    UnknownEventType,
    Violation,
    from_structured,
    payload_model,
)
from contracts.events.common import EventReference
from contracts.schema import envelope_schema
from services.common.kafka import kafka_access
from services.common.metrics import INTAKE_ACCEPTED, INTAKE_REJECTED
from services.common.temporal import connect
from services.intake.deadletters import DeadLetterIndex
from services.intake.keys import ApiKey, ApiKeys
from services.intake.limits import BodySizeLimit, RateLimiter
from services.intake.publisher import KafkaProducerLike, Publisher, PublishUnavailable
from services.intake.settings import IntakeSettings
from services.intake.status import EventState, StatusReader, StatusUnavailable
from services.intake.store import IntakeStore

__all__ = ["Intake", "create_app", "running_intake"]

log = structlog.get_logger(__name__)

EVENTS_PATH = "/v1/events"
BATCH_PATH = "/v1/events:batch"
SINGLE_MEDIA_TYPES = frozenset({"application/cloudevents+json", "application/json"})
BATCH_MEDIA_TYPES = frozenset({"application/cloudevents-batch+json", "application/json"})


# --- what a request needs -----------------------------------------------------------------


@dataclass
class Intake:
    settings: IntakeSettings
    store: IntakeStore
    keys: ApiKeys
    publisher: Publisher
    status: StatusReader
    limiter: RateLimiter


@contextlib.asynccontextmanager
async def running_intake(
    settings: IntakeSettings,
    *,
    temporal: Client | None = None,
    producer_factory: Callable[[], KafkaProducerLike] | None = None,
) -> AsyncIterator[Intake]:
    """Open the store, and connect to Kafka and Temporal in the background (never blocking
    start-up: while Kafka is down, publishing answers 503, and status queries answer 503
    while Temporal is)."""
    store = await IntakeStore.open(settings.database_url("intake"))
    kafka = kafka_access(settings)
    publisher = Publisher(
        kafka,
        settings.life_events_topic,
        send_timeout=settings.intake_publish_timeout_seconds,
        # Topics are made before the first send; a producer handed in brings its own.
        ensure=[]
        if producer_factory
        else [settings.life_events_topic, settings.life_events_dlq_topic],
        partitions=settings.kafka_topic_partitions,
        replication=settings.kafka_topic_replication,
        producer_factory=producer_factory,
    )
    index = DeadLetterIndex(
        store,
        kafka,
        settings.life_events_dlq_topic,
        settings.intake_dlq_group_id,
        partitions=settings.kafka_topic_partitions,
        replication=settings.kafka_topic_replication,
    )
    client = temporal if temporal is not None else await connect(settings, lazy=True)
    publisher.start()
    index.start()
    try:
        # Serving before Kafka is there would answer the first requests 503; waiting for ever
        # would keep a broker outage from ever letting the API start.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                publisher.wait_ready(), settings.intake_kafka_startup_grace_seconds
            )
        yield Intake(
            settings=settings,
            store=store,
            keys=ApiKeys(store),
            publisher=publisher,
            status=StatusReader(store, client, timeout=settings.intake_status_timeout_seconds),
            limiter=RateLimiter(settings.intake_rate_per_second, settings.intake_rate_burst),
        )
    finally:
        await index.stop()
        await publisher.stop()
        await store.close()


IntakeFactory = Callable[[IntakeSettings], AbstractAsyncContextManager[Intake]]


# --- the documents the API speaks ----------------------------------------------------------


class ViolationOut(BaseModel):
    loc: str = Field(description="Where: a dotted field path, e.g. data.child.date_of_birth.")
    rule: str = Field(description="Which rule, as a stable code.")
    message: str = Field(description="Why, in words. Never contains the submitted value.")


class ErrorOut(BaseModel):
    error: str = Field(description="A stable code, e.g. contract_violation, type_not_allowed.")
    message: str
    violations: list[ViolationOut] = Field(default_factory=list)


class AcceptedOut(BaseModel):
    id: str
    source: str
    type: str
    status: Literal["accepted"] = "accepted"
    status_url: str = Field(description="Where to ask what became of the event.")


class BatchItemOut(BaseModel):
    index: int = Field(description="Position of the event in the submitted array.")
    id: str | None = Field(description="The event's id, when it had a well-formed one.")
    status: int = Field(description="What a single POST of this event would have answered.")
    status_url: str | None = None
    error: str | None = None
    message: str | None = None
    violations: list[ViolationOut] = Field(default_factory=list)


class BatchOut(BaseModel):
    accepted: int
    rejected: int
    results: list[BatchItemOut]


class StatusOut(BaseModel):
    source: str
    id: str
    status: EventState = Field(
        description="accepted: the intake wrote it to Kafka, no workflow yet; running (see "
        "stage); completed; merged and contradicted (another report of a life event already "
        "reported: see merged_into); withdrawn (by its source: what it did is undone); "
        "corrected (by its source: run again on the corrected facts); "
        "failed (also terminated, timed out, cancelled); "
        "dead_lettered (see reason)."
    )
    type: str | None = None
    stage: str | None = Field(default=None, description="While running: the current stage.")
    reason: str | None = Field(
        default=None, description="dead_lettered: the reason code; failed: how it ended."
    )
    accepted_at: datetime | None = Field(
        default=None, description="When the intake took it, if it came through the intake."
    )
    merged_into: EventReference | None = Field(
        default=None,
        description="merged: the event this one was another report of, which was acted on "
        "(nothing was done twice); contradicted: the event it contradicted (a caseworker "
        "settled it, nothing was done automatically); withdrawn or corrected: the "
        "withdrawal or correction.",
    )


class HealthOut(BaseModel):
    status: Literal["ok"] = "ok"
    kafka: Literal["connected", "connecting"]


# --- errors ------------------------------------------------------------------------------


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        *,
        violations: Sequence[Violation] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.message = message
        self.violations = tuple(violations)
        self.headers = headers or {}

    def body(self) -> ErrorOut:
        return ErrorOut(
            error=self.error,
            message=self.message,
            violations=[
                ViolationOut(loc=v.loc, rule=v.rule, message=v.message) for v in self.violations
            ],
        )


def _unauthorized(detail: str) -> ApiError:
    return ApiError(
        401,
        "unauthorized",
        detail,
        headers={"WWW-Authenticate": 'Bearer realm="lifeevents-intake"'},
    )


def _unavailable(settings: IntakeSettings, error: str, message: str) -> ApiError:
    return ApiError(
        503, error, message, headers={"Retry-After": str(settings.intake_retry_after_seconds)}
    )


def _kafka_unavailable(settings: IntakeSettings) -> ApiError:
    return _unavailable(
        settings,
        "kafka_unavailable",
        "the event was not written to Kafka; send it again later, with the same id",
    )


def _error_response(error: ApiError) -> JSONResponse:
    return JSONResponse(
        error.body().model_dump(mode="json"), status_code=error.status, headers=error.headers
    )


def _responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    text = {
        400: "The request is malformed.",
        401: "No API key, or an unknown or revoked one (`WWW-Authenticate: Bearer`).",
        403: "The key may not send this event type, or as this source, or ask about it.",
        404: "Neither the intake nor the workflows know of this event.",
        413: "The body is larger than the limit.",
        415: "The content type is not one of those accepted.",
        422: "The body is not valid JSON or breaks the contract (field and rule, never values).",
        429: "Too many events from this source; wait `Retry-After` seconds.",
        503: "Kafka (or Temporal) is not available; retry after `Retry-After` seconds.",
    }
    retry = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}}
    return {
        code: {
            "model": ErrorOut,
            "description": text[code],
            **({"headers": retry} if code in (429, 503) else {}),
        }
        for code in codes
    }


# --- the request body schema, from contracts -----------------------------------------------


def _event_components() -> tuple[dict[str, Any], dict[str, Any]]:
    """The OpenAPI components for every event type and a oneOf over them (from contracts'
    JSON Schemas, with `$defs` moved to `components/schemas`)."""
    components: dict[str, Any] = {}
    refs: list[dict[str, str]] = []

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                k: (
                    v.replace("#/$defs/", "#/components/schemas/")
                    if k == "$ref" and isinstance(v, str)
                    else rewrite(v)
                )
                for k, v in node.items()
            }
        if isinstance(node, list):
            return [rewrite(v) for v in node]
        return node

    for event_type in sorted(EVENT_TYPES):
        schema = envelope_schema(event_type)
        for name, definition in schema.pop("$defs", {}).items():
            # The types share models (PersonName, UkAddress...): one component each.
            if components.setdefault(name, rewrite(definition)) != rewrite(definition):
                raise RuntimeError(f"two different contract models are both named {name}")
        schema.pop("$schema", None)
        schema.pop("$id", None)
        name = f"{payload_model(event_type).__name__}Event"
        components[name] = rewrite(schema)
        refs.append({"$ref": f"#/components/schemas/{name}"})
    return components, {"oneOf": refs}


_COMPONENTS, _ANY_EVENT = _event_components()


def _examples() -> dict[str, Any]:
    """The synthetic events of contracts/examples, as OpenAPI examples."""
    folder = Path(contracts.__file__).parent / "examples"
    return {
        path.stem: {"summary": path.stem, "value": json.loads(path.read_text())}
        for path in sorted(folder.glob("*.json"))
    }


_EXAMPLES = _examples()


def _body(
    schema: dict[str, Any],
    media_types: frozenset[str],
    description: str,
    examples: dict[str, Any],
) -> dict[str, Any]:
    content = {media: {"schema": schema, "examples": examples} for media in sorted(media_types)}
    return {"requestBody": {"required": True, "description": description, "content": content}}


# --- request handling --------------------------------------------------------------------

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="A source system's API key (`lifeevents keys issue`), as a bearer token.",
)


def _intake(request: Request) -> Intake:
    return cast(Intake, request.app.state.intake)


async def authenticated(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> ApiKey:
    if credentials is None:
        raise _unauthorized("an API key is required: Authorization: Bearer <key>")
    key = await _intake(request).keys.authenticate(credentials.credentials)
    if key is None:
        raise _unauthorized("the API key is unknown or revoked")
    return key


Authenticated = Annotated[ApiKey, Depends(authenticated)]


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _require_media_type(request: Request, accepted: frozenset[str]) -> None:
    if _media_type(request) not in accepted:
        raise ApiError(415, "unsupported_media_type", f"send {' or '.join(sorted(accepted))}")


def _parse_json(body: bytes) -> Any:
    try:
        return from_json(body, allow_inf_nan=False)
    except ValueError:
        raise ApiError(
            422,
            "json_invalid",
            "the body is not valid JSON",
            violations=[Violation("<root>", "json_invalid", "is not valid JSON")],
        ) from None


def _rate_limit(intake: Intake, key: ApiKey, cost: int) -> None:
    wait = intake.limiter.take(key.source, cost)
    if wait:
        log.info("intake.rate_limited", key_id=key.key_id, cost=cost)
        raise ApiError(
            429,
            "rate_limited",
            "too many events from this source; slow down",
            headers={"Retry-After": str(wait)},
        )


def check_event(document: Any, key: ApiKey) -> CloudEvent[Any]:
    """The validated event, or an ApiError (403 before 422: a key learns nothing about the
    rules for events it may not send)."""
    if not isinstance(document, dict):
        raise ApiError(
            422,
            "contract_violation",
            "an event must be a JSON object",
            violations=[Violation("<root>", "object_required", "must be a JSON object")],
        )
    source, event_type = document.get("source"), document.get("type")
    if isinstance(source, str) and source != key.source:
        raise ApiError(403, "source_not_allowed", "this key may not send events as this source")
    if isinstance(event_type, str) and event_type not in key.event_types:
        raise ApiError(403, "type_not_allowed", "this key may not send events of this type")
    try:
        event = from_structured(document)
    except ContractViolation as violation:
        raise ApiError(
            422,
            "contract_violation",
            "the event breaks the contract",
            violations=violation.violations,
        ) from None
    except UnknownEventType:
        raise ApiError(422, "unknown_event_type", "no such life-event type") from None
    return event


def _tracking_url(intake: Intake, request: Request, source: str, event_id: str) -> str:
    base = intake.settings.intake_public_url or str(request.base_url)
    # The source's leading "/" is the one that separates it from /v1/events; an id keeps any
    # "/" of its own percent-encoded, and the status route reads the raw path to honour that.
    path = f"{EVENTS_PATH}/{quote(source.removeprefix('/'), safe='/:')}/{quote(event_id, safe=':')}"
    return base.rstrip("/") + path


def _status_path(request: Request, source: str, event_id: str) -> tuple[str, str]:
    raw = request.scope.get("raw_path")
    if isinstance(raw, bytes):
        path = raw.decode("latin-1").split("?", 1)[0]
        start = path.find(EVENTS_PATH + "/")
        if start >= 0:
            rest = path[start + len(EVENTS_PATH) + 1 :]
            raw_source, sep, raw_id = rest.rpartition("/")
            if sep and raw_source and raw_id:
                return unquote(raw_source), unquote(raw_id)
    return source, event_id


async def _remember(intake: Intake, events: Sequence[CloudEvent[Any]]) -> None:
    # Best effort: the events are already on Kafka, so the caller hears 202 either way; without
    # the record, a status query says 404 until the workflow exists.
    for event in events:
        INTAKE_ACCEPTED.labels(event_type=event.type).inc()
    try:
        await intake.store.record_accepted([(e.source, e.id, e.type) for e in events])
    except Exception as error:
        log.warning("intake.accept_record_failed", count=len(events), error=type(error).__name__)


def _log_rejected(error: ApiError, key: ApiKey, index: int | None = None) -> None:
    INTAKE_REJECTED.labels(reason=error.error).inc()
    log.info(
        "intake.event_rejected",
        key_id=key.key_id,
        status=error.status,
        error=error.error,
        index=index,
        violations=[f"{v.loc}:{v.rule}" for v in error.violations][:20],
    )


def create_app(settings: IntakeSettings, *, intake_factory: IntakeFactory | None = None) -> FastAPI:
    open_intake: IntakeFactory = intake_factory or running_intake

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_intake(settings) as intake:
            app.state.intake = intake
            yield

    app = FastAPI(
        title="Life Events intake",
        version="1",
        summary="Publish life events over HTTP, for systems that cannot produce to Kafka.",
        description="Each event is a structured-mode CloudEvent (see contracts/README.md). It "
        "is validated, written to Kafka in binary mode with acks=all, and only then "
        "answered 202 with a URL that tells what became of it.",
        lifespan=lifespan,
    )
    app.add_middleware(
        BodySizeLimit,
        default_limit=settings.intake_max_body_bytes,
        limits={BATCH_PATH: settings.intake_max_batch_body_bytes},
    )

    @app.exception_handler(ApiError)
    async def on_api_error(_request: Request, error: ApiError) -> JSONResponse:
        return _error_response(error)

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
        return _error_response(
            ApiError(
                error.status_code,
                code,
                str(error.detail) if error.status_code in (404, 405) else "request refused",
                headers=dict(error.headers or {}),
            )
        )

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(
        _request: Request, _error: RequestValidationError
    ) -> JSONResponse:
        # FastAPI's own handler echoes the input; this one names nothing but the problem.
        return _error_response(ApiError(422, "request_invalid", "the request is malformed"))

    @app.post(
        EVENTS_PATH,
        status_code=202,
        response_model=AcceptedOut,
        responses=_responses(401, 403, 413, 415, 422, 429, 503),
        openapi_extra=_body(
            _ANY_EVENT, SINGLE_MEDIA_TYPES, "One structured-mode CloudEvent.", _EXAMPLES
        ),
        summary="Publish one life event",
    )
    async def publish_event(request: Request, key: Authenticated) -> JSONResponse:
        intake = _intake(request)
        _require_media_type(request, SINGLE_MEDIA_TYPES)
        document = _parse_json(await request.body())
        _rate_limit(intake, key, 1)
        try:
            event = check_event(document, key)
        except ApiError as error:
            _log_rejected(error, key)
            raise
        try:
            await intake.publisher.publish(event)
        except PublishUnavailable as error:
            log.warning("intake.publish_unavailable", event_id=event.id, error=str(error))
            raise _kafka_unavailable(intake.settings) from None
        await _remember(intake, [event])
        log.info(
            "intake.event_accepted",
            key_id=key.key_id,
            source=event.source,
            event_id=event.id,
            type=event.type,
        )
        url = _tracking_url(intake, request, event.source, event.id)
        accepted = AcceptedOut(id=event.id, source=event.source, type=event.type, status_url=url)
        return JSONResponse(
            accepted.model_dump(mode="json"), status_code=202, headers={"Location": url}
        )

    @app.post(
        BATCH_PATH,
        response_model=BatchOut,
        responses=_responses(401, 413, 415, 422, 429),
        openapi_extra=_body(
            {
                "type": "array",
                "minItems": 1,
                "maxItems": settings.intake_max_batch_events,
                # Any item is taken: one that is not a valid event is answered on its own in
                # `results`, and does not fail the batch. Each should be one of the events
                # of the single POST.
                "items": {},
            },
            BATCH_MEDIA_TYPES,
            "A JSON array of structured-mode CloudEvents (the CloudEvents batched mode), each "
            "as for `POST /v1/events`. An item that is not a valid event is answered on its "
            "own, with the status and errors a single POST of it would get.",
            {"all-examples": {"value": [e["value"] for e in _EXAMPLES.values()]}},
        ),
        summary="Publish many life events",
        description="Each event is checked and answered on its own (`results`, in order); the "
        "valid ones are written to Kafka concurrently and every ack is awaited before the "
        "answer. An item's `status` is what a single POST of it would have answered.",
    )
    async def publish_batch(request: Request, key: Authenticated) -> JSONResponse:
        intake = _intake(request)
        _require_media_type(request, BATCH_MEDIA_TYPES)
        documents = _parse_json(await request.body())
        limit = intake.settings.intake_max_batch_events
        if not isinstance(documents, list) or not 1 <= len(documents) <= limit:
            raise ApiError(
                422,
                "batch_invalid",
                f"a batch is a JSON array of 1 to {limit} events",
                violations=[Violation("<root>", "batch_size", f"must be an array of 1-{limit}")],
            )
        _rate_limit(intake, key, len(documents))

        results: list[BatchItemOut | None] = [None] * len(documents)
        valid: list[tuple[int, CloudEvent[Any]]] = []
        for index, document in enumerate(documents):
            try:
                valid.append((index, check_event(document, key)))
            except ApiError as error:
                _log_rejected(error, key, index)
                results[index] = BatchItemOut(
                    index=index,
                    id=_well_formed_id(document),
                    **error.body().model_dump(),
                    status=error.status,
                )
        outcomes = await asyncio.gather(
            *(intake.publisher.publish(event) for _, event in valid), return_exceptions=True
        )
        accepted: list[CloudEvent[Any]] = []
        unavailable = False
        for (index, event), outcome in zip(valid, outcomes, strict=True):
            if outcome is None:
                accepted.append(event)
                results[index] = BatchItemOut(
                    index=index,
                    id=event.id,
                    status=202,
                    status_url=_tracking_url(intake, request, event.source, event.id),
                )
                continue
            if not isinstance(outcome, PublishUnavailable):
                log.error("intake.publish_failed", event_id=event.id, error=type(outcome).__name__)
            unavailable = True
            refusal = _kafka_unavailable(intake.settings)
            results[index] = BatchItemOut(
                index=index, id=event.id, status=503, error=refusal.error, message=refusal.message
            )
        await _remember(intake, accepted)
        log.info(
            "intake.batch_answered", key_id=key.key_id, size=len(documents), accepted=len(accepted)
        )
        body = BatchOut(
            accepted=len(accepted),
            rejected=len(documents) - len(accepted),
            results=[r for r in results if r is not None],
        )
        headers = (
            {"Retry-After": str(intake.settings.intake_retry_after_seconds)} if unavailable else {}
        )
        return JSONResponse(body.model_dump(mode="json"), headers=headers)

    @app.get(
        EVENTS_PATH + "/{source:path}/{event_id}",
        response_model=StatusOut,
        responses=_responses(401, 403, 404, 503),
        summary="What became of an event",
        description="`source` is the event's source without its leading `/` "
        "(`/v1/events/register-office/exampleshire/<id>`); the id is the last segment. A key "
        "may ask only about events of its own source.",
    )
    async def event_status(
        request: Request, source: str, event_id: str, key: Authenticated
    ) -> StatusOut:
        intake = _intake(request)
        source, event_id = _status_path(request, source, event_id)
        if source not in (key.source, key.source.removeprefix("/")):
            raise ApiError(
                403, "not_your_event", "a key may only ask about its own source's events"
            )
        try:
            status = await intake.status.status(key.source, event_id)
        except StatusUnavailable as error:
            log.warning("intake.status_unavailable", error=str(error))
            raise _unavailable(
                intake.settings,
                "status_unavailable",
                "the status cannot be read at the moment; ask again later",
            ) from None
        if status is None:
            raise ApiError(404, "not_found", "no event with this source and id is known")
        return StatusOut(
            source=status.source,
            id=status.event_id,
            status=status.state,
            type=status.event_type,
            stage=status.stage,
            reason=status.reason,
            accepted_at=status.accepted_at,
            merged_into=status.merged_into,
        )

    @app.get(
        "/healthz", response_model=HealthOut, summary="Liveness, and whether Kafka is connected"
    )
    async def health(request: Request) -> HealthOut:
        ready = _intake(request).publisher.ready
        return HealthOut(kafka="connected" if ready else "connecting")

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            document.setdefault("components", {}).setdefault("schemas", {}).update(_COMPONENTS)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _well_formed_id(document: Any) -> str | None:
    # Only an id that passes the contract's own rule is echoed back; anything else might be
    # a value the sender put in the wrong field.
    if isinstance(document, dict):
        value = document.get("id")
        if (
            isinstance(value, str)
            and 0 < len(value) <= 128
            and value.isascii()
            and value.isprintable()
            and " " not in value
        ):
            return value
    return None
