"""The error every protocol check raises."""

from __future__ import annotations


class ProtocolError(ValueError):
    """A wire event that cannot be accepted.

    ``code`` and ``param`` follow the Realtime ``error`` event: ``param`` names the offending
    field, ``event_id`` the client event that caused it (when known).
    """

    def __init__(
        self,
        message: str,
        *,
        code: str = "invalid_value",
        param: str | None = None,
        event_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.param = param
        self.event_id = event_id
