"""Credentials are blanked out of log records before they are written."""

from __future__ import annotations

import logging

import pytest

from rtnb.transport.redaction import RedactCredentials


@pytest.mark.parametrize(
    ("message", "args"),
    [
        ("> Authorization: Bearer %s", ("sk-abc123",)),
        ("> %s: %s", ("Authorization", "Bearer sk-abc123")),
        ("> GET /v1/realtime?model=m&token=%s HTTP/1.1", ("sk-abc123",)),
        ("headers: {'api_key': 'sk-abc123'}", ()),
    ],
)
def test_secret_values_are_redacted(message: str, args: tuple[str, ...]) -> None:
    record = logging.LogRecord("x", logging.DEBUG, __file__, 1, message, args, None)
    assert RedactCredentials().filter(record)
    assert "sk-abc123" not in record.getMessage()
    assert "[redacted]" in record.getMessage()


def test_other_records_are_untouched() -> None:
    record = logging.LogRecord("x", logging.DEBUG, __file__, 1, "> Host: %s", ("127.0.0.1",), None)
    RedactCredentials().filter(record)
    assert (record.msg, record.args) == ("> Host: %s", ("127.0.0.1",))
