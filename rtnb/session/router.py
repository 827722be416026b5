"""One table from server event type to the handlers that the session's parts registered.

Each part of a session registers the server events it owns. An event type may have several
handlers (``response.done`` concerns the response gate, playback, tool calls and the agent): they
run in the order they were registered, which the session sets in one place when it wires its
parts. Handlers are synchronous; they update their part's state, emit session events and queue
client events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from rtnb.protocol.events import Event

ServerEventHandler = Callable[[Event], None]


class ServerEventRouter:
    """Dispatches each server event to the handlers registered for its ``type``."""

    def __init__(self) -> None:
        self._handlers: dict[str, tuple[ServerEventHandler, ...]] = {}

    def on(self, kinds: str | Iterable[str], handler: ServerEventHandler) -> None:
        """Call ``handler(event)`` for every server event whose type is (one of) ``kinds``."""
        for kind in (kinds,) if isinstance(kinds, str) else kinds:
            self._handlers[kind] = (*self._handlers.get(kind, ()), handler)

    def handlers(self, kind: str) -> tuple[ServerEventHandler, ...]:
        """The handlers of ``kind``, in the order they run."""
        return self._handlers.get(kind, ())

    def dispatch(self, event: Event) -> None:
        """Run the handlers of ``event["type"]`` in order (none for types nobody owns)."""
        for handler in self._handlers.get(event["type"], ()):
            handler(event)
