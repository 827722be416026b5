"""The console on a scripted session: buttons from a subshell thread, its header, transcript
and history, and no API key anywhere in the widgets' state or messages."""

from __future__ import annotations

import json
import re
from typing import Any

import ipywidgets

from rtnb import RealtimeAgent, RealtimeSession
from rtnb.testing import ScriptedTransport
from rtnb.widgets import console
from tests.session import wire

from .conftest import Sent, from_thread, until


def all_state(widget: ipywidgets.Widget) -> str:
    """Every synced trait of a widget and its children, as JSON."""
    seen: list[dict[str, Any]] = []

    def walk(w: Any) -> None:
        seen.append(w.get_state())
        for child in getattr(w, "children", ()):
            walk(child)

    walk(widget)
    return json.dumps(seen, default=str)


async def test_connect_send_and_interrupt_from_button_clicks(scripted) -> None:
    session, transport = scripted
    ui = console(session)
    assert 'data-status="disconnected"' in ui.status.value
    assert ui.send_button.disabled

    from_thread(ui.connect_button.click)
    await until(lambda: session.connected and 'data-status="connected"' in ui.status.value)
    header = re.sub("<[^>]+>", "", ui.status.value)
    assert "backend: scripted" in header
    assert "agent: Weather assistant" in header
    assert "model: gpt-realtime" in header
    assert ui.connect_button.disabled and not ui.send_button.disabled

    ui.text.value = "What is the weather in Paris?"
    from_thread(ui.send_button.click)
    message = await transport.wait_for_sent("conversation.item.create")
    assert message["item"]["content"][0]["text"] == "What is the weather in Paris?"
    await until(lambda: ui.text.value == "")

    transport.push(wire.response_created("resp_1"))
    await transport.settle()
    from_thread(ui.interrupt_button.click)
    await transport.wait_for_sent("response.cancel")

    from_thread(ui.disconnect_button.click)
    await until(lambda: 'data-status="disconnected"' in ui.status.value)
    assert ui.connect_button.disabled  # a session connects once


async def test_transcript_and_history_follow_the_conversation(scripted) -> None:
    session, transport = scripted
    ui = console(session)
    await session.connect()
    transport.push(wire.item_added(wire.user_text_item("item_u", "Weather <in> Paris?")))
    transport.push(wire.item_added(wire.assistant_item("item_a", "It is sunny.")))
    await until(lambda: "It is sunny." in ui.transcript.text)
    assert ui.transcript.text.splitlines() == [
        "user: Weather <in> Paris?",
        "Weather assistant: It is sunny.",
    ]
    await until(lambda: len(ui.history.frame) == 2)
    assert list(ui.history.frame["role"]) == ["user", "assistant"]
    assert "item_a" not in ui.history.text  # ids only with show_all
    ui.history.show_all = True
    assert "item_a" in ui.history.text


async def test_errors_are_shown(scripted) -> None:
    session, transport = scripted
    ui = console(session)
    await session.connect()
    transport.push(wire.error("bad thing happened"))
    await until(lambda: "bad thing happened" in ui.status.value)


async def test_the_api_key_never_reaches_a_widget() -> None:
    secret = "sk-test-secret-0123456789"
    transport = ScriptedTransport()
    session = RealtimeSession(RealtimeAgent(name="A"), transport=transport, api_key=secret)
    ui = console(session)
    sent = [Sent(ui.transcript), Sent(ui.history)]  # what they send to the page
    await session.connect()
    transport.push(wire.error(f"denied for key {secret[:6]}"))
    transport.push(wire.item_added(wire.user_text_item("item_u", "hello")))
    # The events reached every view, so the state checked below is the state they produced.
    await until(lambda: f"denied for key {secret[:6]}" in ui.status.value)
    await until(lambda: "hello" in ui.transcript.text)
    await until(
        lambda: len(ui.history.frame) == 1 and list(ui.history.frame["item_id"]) == ["item_u"]
    )
    ui.transcript.flush()
    ui.history.refresh()
    state = all_state(ui) + json.dumps([s.messages for s in sent], default=str)
    assert "denied for key" in state and "hello" in state and "item_u" in state
    assert secret not in state
    await session.close()


async def test_session_widget_is_the_console(scripted) -> None:
    session, _ = scripted
    ui = session.widget(history=False)
    assert type(ui).__name__ == "Console"
    assert ui.session is session


async def test_the_page_sends_the_words_with_enter_or_send(scripted) -> None:
    session, transport = scripted
    ui = console(session)
    await session.connect()
    ui.text.value = "I have a question about invoi"  # the page's last value sync lagged behind
    # What entry.js sends on Enter (or a Send click): the words as typed, with it.
    from_thread(
        ui.entry_keys._handle_custom_msg,
        {"type": "send", "text": "I have a question about invoice 42"},
        [],
    )
    message = await transport.wait_for_sent("conversation.item.create")
    assert message["item"]["content"][0]["text"] == "I have a question about invoice 42"
    await until(lambda: ui.text.value == "")


async def test_enter_in_the_message_box_sends(scripted) -> None:
    session, transport = scripted
    ui = console(session)
    await session.connect()
    ui.text.value = "Is it raining in Oslo?"
    # What the page's Text view sends on Enter, delivered on a subshell thread.
    from_thread(ui.text._handle_custom_msg, {"event": "submit"}, [])
    message = await transport.wait_for_sent("conversation.item.create")
    assert message["item"]["content"][0]["text"] == "Is it raining in Oslo?"
    await until(lambda: ui.text.value == "")


def header_text(ui: Any) -> str:
    return re.sub("<[^>]+>", "", ui.status.value)


async def test_the_header_names_the_agent_after_update_agent_and_handoff(scripted) -> None:
    session, transport = scripted
    billing = RealtimeAgent(name="Billing")
    triage = RealtimeAgent(name="Triage", handoffs=[billing])
    session.update_agent(triage)
    ui = console(session)
    await session.connect()
    await until(lambda: "agent: Triage" in header_text(ui))
    # A handoff: the model calls the transfer tool.
    call = wire.function_call_item("item_h", "call_h", "transfer_to_billing", "{}")
    transport.push(wire.item_added(call))
    transport.push(wire.response_created("resp_h"))
    transport.push(wire.response_done("resp_h", output=[call]))
    await until(lambda: "agent: Billing" in header_text(ui))
    # update_agent: no session event; the server confirms its session.update.
    session.update_agent(triage)
    await transport.wait_for_sent("session.update", count=3)  # connect, handoff, update_agent
    transport.push(wire.session_updated(None))
    await until(lambda: "agent: Triage" in header_text(ui))


async def test_the_header_names_the_local_policy_not_a_realtime_model() -> None:
    session = RealtimeSession(RealtimeAgent(name="A"), server_options={"realtime_pacing": False})
    ui = console(session)
    try:
        # Before connecting, who answers is not known: no Realtime model name stands in for it.
        assert "model:" not in header_text(ui) and "gpt-realtime" not in header_text(ui)
        await session.connect()
        await until(lambda: "backend: local" in header_text(ui))
        header = header_text(ui)
        assert "policy: deterministic" in header
        assert "model:" not in header and "gpt-realtime" not in header
        await session.close()
        await until(lambda: 'data-status="disconnected"' in ui.status.value)
        assert "policy: deterministic" in header_text(ui)  # still what answered
    finally:
        await session.close()


async def test_interrupt_while_idle_changes_nothing(scripted) -> None:
    from rtnb.analysis import latency_frame

    session, transport = scripted
    ui = console(session)
    await session.connect()
    transport.push(wire.item_added(wire.user_text_item("item_u", "Weather in Paris?")))
    transport.push(wire.response_created("resp_1"))
    transport.push(wire.audio_delta("resp_1", "item_a", wire.pcm_ms(300)))
    transport.push(wire.item_added(wire.assistant_item("item_a", "It is sunny.")))
    transport.push(wire.response_done("resp_1"))
    await until(lambda: "It is sunny." in ui.transcript.text)
    await until(lambda: list(latency_frame(session)["outcome"]) == ["answered"])
    ui.transcript.flush()
    before = (ui.transcript.text, ui.history.text, dict(ui.transcript.entries))
    sent = Sent(ui.transcript)

    interrupted: list[Any] = []
    session.on("audio_interrupted", interrupted.append)  # after the views' handlers
    from_thread(ui.interrupt_button.click)  # nothing plays: the answer was heard to its end
    await until(lambda: bool(interrupted), timeout=10)  # the views had the event too
    ui.transcript.flush()
    ui.history.refresh()
    assert interrupted[0].item_id is None
    assert (ui.transcript.text, ui.history.text, dict(ui.transcript.entries)) == before
    assert sent.messages == []
    assert list(latency_frame(session)["outcome"]) == ["answered"]
    assert transport.sent_of_type("conversation.item.truncate") == []


async def test_connect_and_disconnect_are_one_toggle(scripted) -> None:
    session, _ = scripted
    ui = console(session)

    def shown() -> list[str]:
        buttons = (ui.connect_button, ui.disconnect_button)
        return [b.description for b in buttons if b.layout.display != "none"]

    assert shown() == ["Connect"]
    await session.connect()
    await until(lambda: shown() == ["Disconnect"])
    await session.close()
    await until(lambda: shown() == ["Connect"])
    assert ui.connect_button.disabled  # a session connects once


async def test_the_empty_conversation_says_what_can_be_done_now(scripted) -> None:
    session, _ = scripted
    ui = console(session)
    # Before connecting, typing is disabled and the mic's audio goes nowhere: press Connect first.
    assert ui.text.disabled and ui.transcript.hint.startswith("Not connected: press Connect")
    await session.connect()
    await until(lambda: ui.transcript.hint.startswith("No conversation yet: type a message"))
    assert not ui.text.disabled
    await session.close()
    await until(lambda: ui.transcript.hint.startswith("The session has ended"))


async def test_a_displayed_console_leaves_a_snapshot_for_a_saved_notebook(
    scripted, monkeypatch
) -> None:
    import IPython.display

    shown: list[tuple[str, dict[str, Any], str | None]] = []

    def publish(kind: str):
        return lambda data, raw, display_id=None: shown.append((kind, data, display_id))

    monkeypatch.setattr(IPython.display, "display", publish("display"))
    monkeypatch.setattr(IPython.display, "update_display", publish("update"))
    session, transport = scripted
    ui = console(session)
    ui._ipython_display_()  # what a cell ending with `ui` (or display(ui)) calls
    await session.connect()
    transport.push(wire.item_added(wire.user_text_item("item_u", "Weather <in> Paris?")))
    transport.push(wire.item_added(wire.assistant_item("item_a", "It is sunny.", "completed")))
    await until(lambda: "It is sunny." in ui.transcript.text)
    await session.close()
    await until(lambda: any(kind == "update" for kind, _, _ in shown))

    (widget, view, _), (first, saved, saved_id), *_, (last, final, same_id) = shown
    assert (widget, first, last) == ("display", "display", "update")
    # The widget's own output, then the snapshot's (which its updates replace).
    assert view["application/vnd.jupyter.widget-view+json"]["model_id"] == ui.model_id
    assert "text/html" not in view
    assert saved_id == same_id and "application/vnd.jupyter.widget-view+json" not in final
    assert "No conversation yet" in saved["text/html"]
    snapshot = final["text/html"]
    assert snapshot.startswith('<div class="rtnb-saved">')  # hidden while the widgets run
    assert "It is sunny." in snapshot and "Weather &lt;in&gt; Paris?" in snapshot  # escaped
    assert "disconnected" in snapshot and "agent: Weather assistant" in snapshot
    assert "<script" not in snapshot and "<style" not in snapshot
    assert final["text/plain"].startswith("rtnb console: disconnected")
