"""Typed errors for contract failures, safe to log, to raise and to put in DLQ headers.

Pydantic puts the offending input into ``ValidationError`` (``errors()[i]["input"]``) and
some validators (e-mail, for one) quote parts of it in their messages. Life events carry
personal data, so nothing here ever holds an input value: only where (field location), which
rule, and a fixed message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import ValidationError
from pydantic_core import ErrorDetails, PydanticCustomError

__all__ = [
    "ContractError",
    "ContractViolation",
    "UnknownEventType",
    "Violation",
    "rule_error",
    "safe_errors",
]

# A location part that looks like a field name is kept; anything else (a dict key chosen
# by the sender, a tagged-union label) could be personal data or noise, so it is masked.
_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_MASKED_KEY = "<key>"
_GENERIC_MESSAGE = "value is not valid"

# Pydantic's own messages for these types are built only from the rule (expected type,
# constraint values), never from the input, so they are passed on as they are.
_SAFE_PYDANTIC_TYPES = frozenset(
    {
        "missing",
        "extra_forbidden",
        "frozen_instance",
        "literal_error",
        "enum",
        "string_type",
        "string_too_short",
        "string_too_long",
        "string_pattern_mismatch",
        "int_type",
        "int_parsing",
        "float_type",
        "float_parsing",
        "bool_type",
        "bool_parsing",
        "dict_type",
        "model_type",
        "model_attributes_type",
        "list_type",
        "tuple_type",
        "too_short",
        "too_long",
        "greater_than",
        "greater_than_equal",
        "less_than",
        "less_than_equal",
        "date_type",
        "date_parsing",
        "date_from_datetime_parsing",
        "date_from_datetime_inexact",
        "datetime_type",
        "datetime_parsing",
        "datetime_from_date_parsing",
        "timezone_aware",
        "json_invalid",
        "json_type",
        "none_required",
        "union_tag_invalid",
        "union_tag_not_found",
        "bytes_type",
        "recursion_loop",
    }
)


def _clean_location(loc: Iterable[int | str]) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
            continue
        # Pydantic adds validator labels such as "function-after[...]" inside unions.
        if "[" in part or "-" in part:
            continue
        name = part if _FIELD_NAME.match(part) else _MASKED_KEY
        parts.append(name if not parts else f".{name}")
    return "".join(parts) or "<root>"


def _scalar_texts(value: Any) -> list[str]:
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, str | int | float):
        text = str(value)
        return [text] if len(text) >= 2 else []
    return []


def _safe_message(error: ErrorDetails, *, own_rule: bool) -> str:
    message = error["msg"]
    if not own_rule and error["type"] not in _SAFE_PYDANTIC_TYPES:
        return _GENERIC_MESSAGE
    # Belt and braces: even a "safe" message must not contain the input it rejected.
    if any(text in message for text in _scalar_texts(error.get("input"))):
        return _GENERIC_MESSAGE
    return message


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule: where (dotted field path), which rule (a stable code), and why."""

    loc: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.loc}: {self.message} [{self.rule}]"


# Rule codes raised by our own validators (PydanticCustomError); their messages are ours,
# written never to include the value.
_OWN_RULE_PREFIX = "le_"


def rule_error(rule: str, message: str) -> PydanticCustomError:
    """An error for a validator to raise: a stable rule code and a fixed, value-free message."""
    return PydanticCustomError(_OWN_RULE_PREFIX + rule, message)


def safe_errors(exc: ValidationError) -> tuple[Violation, ...]:
    """Field locations and rule messages from a ValidationError, without any input value."""
    violations: list[Violation] = []
    for error in exc.errors(include_url=False, include_context=False):
        own_rule = error["type"].startswith(_OWN_RULE_PREFIX)
        rule = error["type"].removeprefix(_OWN_RULE_PREFIX)
        violations.append(
            Violation(
                loc=_clean_location(error["loc"]),
                rule=rule,
                message=_safe_message(error, own_rule=own_rule),
            )
        )
    return tuple(violations)


class ContractError(ValueError):
    """Base for every contract failure. ``reason`` is a stable code for DLQ headers/metrics."""

    reason: ClassVar[str] = "contract_error"


class ContractViolation(ContractError):
    """A message or payload broke the contract. Carries locations and rules, never values."""

    reason: ClassVar[str] = "contract_violation"

    def __init__(self, violations: Sequence[Violation], *, event_type: str | None = None):
        self.violations = tuple(violations)
        self.event_type = event_type
        prefix = f"{event_type}: " if event_type else ""
        count = len(self.violations)
        details = "; ".join(str(v) for v in self.violations)
        plural = "s" if count != 1 else ""
        super().__init__(f"{prefix}{count} contract violation{plural}: {details}")

    @classmethod
    def from_validation_error(
        cls, exc: ValidationError, *, event_type: str | None = None
    ) -> ContractViolation:
        return cls(safe_errors(exc), event_type=event_type)

    @classmethod
    def single(cls, loc: str, rule: str, message: str) -> ContractViolation:
        return cls([Violation(loc=loc, rule=rule, message=message)])


# Event types arrive from outside: keep only a short, harmless rendering in messages.
_PRINTABLE_TYPE = re.compile(r"[^A-Za-z0-9._-]")


class UnknownEventType(ContractError):
    """The ``type`` attribute names no event type this version of contracts knows."""

    reason: ClassVar[str] = "unknown_event_type"

    def __init__(self, event_type: str) -> None:
        self.event_type = _PRINTABLE_TYPE.sub("?", event_type)[:120]
        super().__init__(f"unknown life-event type {self.event_type!r}")
