"""Logging: text and JSON lines, and no secret reaches any line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from leadbridge.logs import REDACTED, configure_logging, redact, register_secret


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    buffer = io.StringIO()
    handler = configure_logging(level="DEBUG", fmt="text", stream=buffer)
    yield buffer
    logging.getLogger().removeHandler(handler)


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        ("Authorization: Bearer 00Dxx0000001gPF!AQ4AQFake.Token", "AQ4AQFake.Token"),
        ("headers={'Authorization': 'Bearer pat-na1-abcdef'}", "pat-na1-abcdef"),
        ('{"access_token": "eyJhbGciOi.payload.sig", "instance_url": "x"}', "eyJhbGciOi"),
        ("grant_type=refresh_token&refresh_token=5Aep861abcDEF&client_id=x", "5Aep861abcDEF"),
        ("client_secret=S3cr3tValue&x=1", "S3cr3tValue"),
        ("password: hunter2hunter2", "hunter2hunter2"),
        ("postgresql+psycopg://lb:pa55word@db:5432/lb", "pa55word"),
        ("session 00D5g000004ABCD!ARcAQH0ld3rT0ken expired", "ARcAQH0ld3rT0ken"),
        ("token pat-eu1-11111111-2222-3333-4444-555555555555 rejected", "11111111-2222"),
        ("assertion=eyJ0eXAiOiJKV1Qi.body.sig", "eyJ0eXAiOiJKV1Qi"),
    ],
)
def test_credential_patterns_are_redacted(line: str, secret: str) -> None:
    cleaned = redact(line)
    assert secret not in cleaned
    assert REDACTED in cleaned


def test_ordinary_text_is_left_alone() -> None:
    line = "synced 120 leads; 3 conflicts resolved by prefer_salesforce in 2.5 s"
    assert redact(line) == line


def test_registered_secret_is_redacted_everywhere(stream: io.StringIO) -> None:
    register_secret("opaque-value-without-any-pattern")
    logger = logging.getLogger("leadbridge.test")
    logger.info("calling with %s", "opaque-value-without-any-pattern")
    logger.warning("third party said opaque-value-without-any-pattern")
    logging.getLogger("urllib3.connectionpool").warning("retrying opaque-value-without-any-pattern")
    text = stream.getvalue()
    assert "opaque-value-without-any-pattern" not in text
    assert text.count(REDACTED) == 3


def test_exception_text_is_redacted(stream: io.StringIO) -> None:
    logger = logging.getLogger("leadbridge.test")
    try:
        raise RuntimeError("login failed for access_token=abc123secretvalue")
    except RuntimeError:
        logger.exception("auth failed")
    text = stream.getvalue()
    assert "abc123secretvalue" not in text
    assert "RuntimeError" in text


def test_json_lines_are_parseable_and_redacted() -> None:
    buffer = io.StringIO()
    handler = configure_logging(level="INFO", fmt="json", stream=buffer)
    try:
        logging.getLogger("leadbridge.sync").info(
            "wrote %d records", 5, extra={"pair": "contact_lead", "auth": "Bearer abcdefsecret"}
        )
    finally:
        logging.getLogger().removeHandler(handler)
    record = json.loads(buffer.getvalue().strip())
    assert record["message"] == "wrote 5 records"
    assert record["level"] == "INFO"
    assert record["logger"] == "leadbridge.sync"
    assert record["pair"] == "contact_lead"
    assert "abcdefsecret" not in buffer.getvalue()
    assert record["time"].endswith("+00:00")


def test_configure_twice_keeps_one_handler() -> None:
    first = configure_logging(level="INFO", fmt="text", stream=io.StringIO())
    second = configure_logging(level="INFO", fmt="json", stream=io.StringIO())
    ours = [h for h in logging.getLogger().handlers if getattr(h, "_leadbridge", False)]
    assert ours == [second]
    assert first not in logging.getLogger().handlers
    logging.getLogger().removeHandler(second)
