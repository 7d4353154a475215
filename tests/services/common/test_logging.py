"""Personal data never reaches the log output, whichever way it is logged."""

from __future__ import annotations

import io
import json
import logging

import structlog

from services.common.logging import REDACTED, configure_logging

NAME = "Zebedee Quillfeather"
DATE_OF_BIRTH = "1987-03-14"
NI_NUMBER = "QQ123456C"
SECRETS = (NAME, "Zebedee", "Quillfeather", DATE_OF_BIRTH, NI_NUMBER)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def assert_no_personal_data(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


def test_top_level_fields_are_redacted(output: io.StringIO) -> None:
    structlog.get_logger("t").info(
        "resident.matched",
        name=NAME,
        date_of_birth=DATE_OF_BIRTH,
        ni_number=NI_NUMBER,
        event_id="evt-1",
    )
    assert_no_personal_data(output.getvalue())
    [line] = lines(output)
    assert line["name"] == REDACTED
    assert line["date_of_birth"] == REDACTED
    assert line["ni_number"] == REDACTED
    assert line["event_id"] == "evt-1"  # what ops need still gets through


def test_nested_and_differently_cased_fields_are_redacted(output: io.StringIO) -> None:
    structlog.get_logger("t").warning(
        "event.rejected",
        payload={"child": {"given_names": "Zebedee"}, "parents": [{"Family-Name": "Quillfeather"}]},
        extra={"NI_Number": NI_NUMBER, "dateOfBirth": DATE_OF_BIRTH},
    )
    assert_no_personal_data(output.getvalue())


def test_bound_context_is_redacted(output: io.StringIO) -> None:
    structlog.contextvars.bind_contextvars(full_name=NAME, nino=NI_NUMBER)
    structlog.get_logger("t").info("step.done")
    assert_no_personal_data(output.getvalue())


def test_standard_library_loggers_are_redacted(output: io.StringIO) -> None:
    logging.getLogger("some.library").error(
        "could not deliver", extra={"full_name": NAME, "dob": DATE_OF_BIRTH, "ni_number": NI_NUMBER}
    )
    assert_no_personal_data(output.getvalue())
    [line] = lines(output)
    assert line["event"] == "could not deliver"


def test_console_format_is_readable_and_redacted() -> None:
    stream = io.StringIO()
    configure_logging("INFO", "console", stream=stream)
    structlog.get_logger("t").info("resident.matched", name=NAME, event_id="evt-2")
    text = stream.getvalue()
    assert "resident.matched" in text
    assert "evt-2" in text
    assert not text.lstrip().startswith("{")
    assert_no_personal_data(text)


def test_database_drivers_never_log_statement_parameters(output: io.StringIO) -> None:
    # At DEBUG, aiosqlite logs each statement with its parameters: values no key can redact.
    logging.getLogger("aiosqlite").debug("executing %s with %s", "INSERT ...", (NAME, NI_NUMBER))
    logging.getLogger("sqlalchemy.engine.Engine").info("[parameters] %s", (DATE_OF_BIRTH,))
    assert_no_personal_data(output.getvalue())
