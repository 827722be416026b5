"""Loggers for the WebSocket library that never write credentials.

At DEBUG level the ``websockets`` library logs every handshake header, ``Authorization`` with
its bearer key among them, and the request path with any ``?token=``. The transports hand it
loggers that blank those values out before anything is written.
"""

from __future__ import annotations

import logging
import re

_SECRET = re.compile(
    r"(?i)(authorization:\s*\S+\s+|bearer\s+|[?&]token=|api[_-]?key['\"]?\s*[=:]\s*['\"]?)"
    r"([^\s&'\"]+)"
)


class RedactCredentials(logging.Filter):
    """Replaces bearer keys, ``Authorization`` values and ``token=`` parameters in records."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _SECRET.sub(r"\1[redacted]", message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


def redacting_logger(name: str) -> logging.Logger:
    """The logger ``name`` with :class:`RedactCredentials` attached (once)."""
    logger = logging.getLogger(name)
    if not any(isinstance(f, RedactCredentials) for f in logger.filters):
        logger.addFilter(RedactCredentials())
    return logger
