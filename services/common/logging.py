"""Structured logging for every process, with personal data redacted before anything renders.

JSON lines when the output is not a terminal (services under a supervisor, CI), readable
colour output on a terminal. Standard-library loggers (aiokafka, temporalio) go through the
same chain, so their lines are redacted and rendered alike.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from typing import Any, Literal

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

__all__ = ["PERSONAL_DATA_FIELDS", "REDACTED", "configure_logging", "redact_personal_data"]

REDACTED = "[redacted]"

# Field names that carry personal data anywhere in the platform. Matching is on the
# normalised key (lower case, `-` as `_`), so `dateOfBirth`-style keys must be listed too.
PERSONAL_DATA_FIELDS: frozenset[str] = frozenset(
    {
        "name",
        "names",
        "full_name",
        "given_name",
        "given_names",
        "first_name",
        "middle_names",
        "family_name",
        "last_name",
        "surname",
        "forenames",
        "date_of_birth",
        "dateofbirth",
        "dob",
        "birth_date",
        "date_of_death",
        "ni_number",
        "nino",
        "national_insurance_number",
        "nhs_number",
        "address",
        "addresses",
        "address_lines",
        "line1",
        "line2",
        "postcode",
        "email",
        "email_address",
        "phone",
        "phone_number",
        "telephone",
        "mobile",
        "person",
        "people",
        "child",
        "deceased",
        "informant",
        "data",
    }
)


_PARAMETER_LOGGERS = ("aiosqlite", "sqlalchemy.engine", "asyncpg")


def _is_personal(key: object) -> bool:
    return isinstance(key, str) and key.lower().replace("-", "_") in PERSONAL_DATA_FIELDS


def _scrub(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: REDACTED if _is_personal(k) else _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


def redact_personal_data(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """Replace the value of every known personal-data field, at any depth."""
    for key in list(event_dict):
        event_dict[key] = REDACTED if _is_personal(key) else _scrub(event_dict[key])
    return event_dict


def _shared_processors() -> list[Processor]:
    # Context bound with bind_contextvars is merged first so that the redactor sees it too;
    # the redactor then runs before anything else can copy, format or render a value.
    return [
        structlog.contextvars.merge_contextvars,
        redact_personal_data,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]


def configure_logging(
    level: str = "INFO",
    fmt: Literal["auto", "json", "console"] = "auto",
    stream: Any = None,
) -> None:
    """Configure structlog and the standard library to write one redacted chain."""
    out = stream if stream is not None else sys.stderr
    as_json = fmt == "json" or (fmt == "auto" and not out.isatty())
    renderer: Processor = (
        structlog.processors.JSONRenderer()
        if as_json
        else structlog.dev.ConsoleRenderer(colors=out.isatty())
    )
    structlog.configure(
        processors=[
            *_shared_processors(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.ExtraAdder(), *_shared_processors()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # These log SQL statements (aiosqlite and asyncpg with their bound parameters: names,
    # NHS numbers…) at DEBUG and INFO; no key-based redaction can catch values inside a
    # statement, so they never go below WARNING.
    for chatty in _PARAMETER_LOGGERS:
        logging.getLogger(chatty).setLevel(max(logging.WARNING, root.level))
