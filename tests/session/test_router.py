"""ServerEventRouter: handlers per event type, run in the order they were registered."""

from __future__ import annotations

import pytest

from rtnb.protocol.events import Event
from rtnb.session.router import ServerEventRouter


def test_handlers_of_a_type_run_in_registration_order() -> None:
    router = ServerEventRouter()
    seen: list[tuple[str, str]] = []
    router.on("response.done", lambda event: seen.append(("first", event["type"])))
    router.on(("response.done", "error"), lambda event: seen.append(("second", event["type"])))
    router.dispatch({"type": "response.done"})
    router.dispatch({"type": "error"})
    assert seen == [("first", "response.done"), ("second", "response.done"), ("second", "error")]


def test_an_event_nobody_owns_is_ignored() -> None:
    router = ServerEventRouter()
    router.dispatch({"type": "rate_limits.updated"})
    assert router.handlers("rate_limits.updated") == ()


def test_a_failing_handler_stops_the_event_and_propagates() -> None:
    router = ServerEventRouter()
    seen: list[str] = []

    def fail(event: Event) -> None:
        raise KeyError("item")

    router.on("conversation.item.added", fail)
    router.on("conversation.item.added", lambda event: seen.append("later"))
    with pytest.raises(KeyError):
        router.dispatch({"type": "conversation.item.added"})
    assert seen == []  # as before the split: one failing step ends the event's handling
