"""Unit tests of rtnb.protocol.gate.ResponseGate (hold response.create during a response)."""

from __future__ import annotations

from rtnb.protocol.client_events import create_response
from rtnb.protocol.events import Event, error_event
from rtnb.protocol.gate import ResponseGate
from tests.schema import validate_client_event


def created(response_id: str) -> Event:
    return {"type": "response.created", "event_id": "e", "response": {"id": response_id}}


def done(response_id: str) -> Event:
    return {"type": "response.done", "event_id": "e", "response": {"id": response_id}}


def error_for(event_id: str | None, code: str = "invalid_value") -> Event:
    return {
        "type": "error",
        "event_id": "e",
        "error": {
            "type": "invalid_request_error",
            "code": code,
            "message": "x",
            "event_id": event_id,
        },
    }


def test_first_request_goes_out_with_an_event_id() -> None:
    gate = ResponseGate()
    request = create_response()
    out = gate.request(request)
    assert out == [request]
    assert request["event_id"].startswith("event_")
    validate_client_event(out[0])
    assert gate.busy and gate.held == 0


def test_existing_event_id_is_kept() -> None:
    gate = ResponseGate()
    assert gate.request({"type": "response.create", "event_id": "mine"})[0]["event_id"] == "mine"


def test_request_is_held_while_awaiting_created_and_during_response() -> None:
    gate = ResponseGate()
    first = gate.request(create_response())[0]
    second = create_response({"instructions": "second"})
    assert gate.request(second) == []
    assert gate.held == 1
    assert gate.on_server_event(created("resp_1")) == []
    assert gate.active_response_id == "resp_1"
    third = create_response({"instructions": "third"})
    assert gate.request(third) == []
    assert gate.held == 2
    # Unrelated events change nothing.
    delta = {"type": "response.output_text.delta", "response_id": "resp_1", "delta": "hi"}
    assert gate.on_server_event(delta) == []
    assert gate.busy
    # The response ends: exactly one held request is released, in order.
    assert gate.on_server_event(done("resp_1")) == [second]
    assert gate.held == 1 and gate.busy and gate.active_response_id is None
    assert gate.on_server_event(created("resp_2")) == []
    assert gate.on_server_event(done("resp_2")) == [third]
    assert gate.on_server_event(created("resp_3")) == []
    assert gate.on_server_event(done("resp_3")) == []
    assert not gate.busy and gate.held == 0
    assert first["event_id"] != second["event_id"] != third["event_id"]


def test_server_initiated_response_holds_requests() -> None:
    """A response started by server VAD (no request of ours) also blocks response.create."""
    gate = ResponseGate()
    assert gate.on_server_event(created("resp_vad")) == []
    request = create_response()
    assert gate.request(request) == []
    assert gate.on_server_event(done("resp_vad")) == [request]


def test_done_of_another_response_does_not_release() -> None:
    gate = ResponseGate()
    gate.on_server_event(created("resp_a"))
    request = create_response()
    assert gate.request(request) == []
    assert gate.on_server_event(done("resp_other")) == []
    assert gate.active_response_id == "resp_a" and gate.held == 1
    assert gate.on_server_event(done("resp_a")) == [request]


def test_error_naming_the_request_releases_the_next() -> None:
    gate = ResponseGate()
    first = gate.request(create_response())[0]
    second = create_response()
    assert gate.request(second) == []
    assert gate.on_server_event(error_for(first["event_id"])) == [second]
    assert gate.busy  # now awaiting the second one's response.created


def test_error_naming_another_event_does_not_release() -> None:
    gate = ResponseGate()
    gate.request(create_response())
    second = create_response()
    gate.request(second)
    assert gate.on_server_event(error_for("event_unrelated")) == []
    assert gate.on_server_event(error_for(None)) == []
    assert gate.held == 1 and gate.busy


def test_error_built_by_error_event_releases() -> None:
    """The local server's own error events (rtnb.protocol.events.error_event) work with the gate."""
    from rtnb.protocol.events import ProtocolError

    gate = ResponseGate()
    first = gate.request(create_response())[0]
    second = create_response()
    gate.request(second)
    event = error_event(ProtocolError("nope", event_id=first["event_id"]))
    assert gate.on_server_event(event) == [second]


def test_active_response_error_clears_awaiting() -> None:
    gate = ResponseGate()
    gate.request(create_response())
    gate.on_server_event(error_for("someone_else", code="conversation_already_has_active_response"))
    assert not gate.busy
    request = create_response()
    assert gate.request(request) == [request]


def test_reset_forgets_everything() -> None:
    gate = ResponseGate()
    gate.on_server_event(created("resp_1"))
    gate.request(create_response())
    gate.reset()
    assert not gate.busy and gate.held == 0 and gate.active_response_id is None
    request = create_response()
    assert gate.request(request) == [request]


def test_only_gate_events_change_the_gate() -> None:
    # The session skips on_server_event for other types: they must leave the gate alone.
    from rtnb.protocol.events import SERVER_EVENT_FIELDS
    from rtnb.protocol.gate import GATE_EVENTS

    gate = ResponseGate()
    first = gate.request({"type": "response.create"})
    assert gate.request({"type": "response.create"}) == []  # held
    before = (gate.active_response_id, gate.busy, gate.held)
    for kind, fields in SERVER_EVENT_FIELDS.items():
        if kind in GATE_EVENTS:
            continue
        event = {"type": kind, **dict.fromkeys(fields, "x")}
        event["response"] = {"id": "resp_x"}
        event["error"] = {"event_id": first[0]["event_id"]}
        assert gate.on_server_event(event) == []
        assert (gate.active_response_id, gate.busy, gate.held) == before
