"""The one lifecycle state of a session's connection, and the coarse status derived from it.

::

    NEW --connect--> CONNECTING --opened--> OPEN --close()--> CLOSING --> CLOSED
                         |                    |                             ^
                         +--failed------------+--lost (error kept)----------+
    CLOSED (lost) --reconnect()--> CONNECTING ...

A session connects once (from ``NEW``); :meth:`~rtnb.session.RealtimeSession.reconnect` opens a
new connection only after one was lost (``CLOSED`` with the error that ended it); ``close()`` is
final. Events are accepted for sending only while ``OPEN``; ``CLOSING`` still writes what was
queued before it.
"""

from __future__ import annotations

from enum import Enum

from .events import ConnectionStatus


class ConnectionState(Enum):
    """Where a session's connection is in its life."""

    NEW = "new"
    """Never connected."""
    CONNECTING = "connecting"
    """Opening the transport (and starting the embedded server if needed)."""
    OPEN = "open"
    """Connected: client events are queued and written."""
    CLOSING = "closing"
    """``close()`` runs: what was queued is written, nothing new is accepted."""
    CLOSED = "closed"
    """Closed by ``close()``, or lost (then ``reconnect()`` may open a new connection)."""


_STATUS: dict[ConnectionState, ConnectionStatus] = {
    ConnectionState.NEW: "disconnected",
    ConnectionState.CONNECTING: "connecting",
    ConnectionState.OPEN: "connected",
    ConnectionState.CLOSING: "connected",  # still writing; "disconnected" once it is closed
    ConnectionState.CLOSED: "disconnected",
}


def connection_status(state: ConnectionState) -> ConnectionStatus:
    """The status ``connection_change`` events report for ``state``."""
    return _STATUS[state]
