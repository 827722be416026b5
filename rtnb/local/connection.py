"""One client connection to the local server: reads client events, dispatches them, reports errors.

This is the socket-facing loop of a connection (see :mod:`rtnb.transport.server`): it decodes
each client event and hands it to the part that owns it, and turns any problem into an ``error``
event naming the field; nothing a client sends ends the connection. The parts:

- :class:`~rtnb.local.input_pipeline.InputPipeline`: ``input_audio_buffer.*``, server VAD and
  transcription of the user's audio;
- :class:`~rtnb.local.responses.ItemsAndResponses`: ``conversation.item.*`` and ``response.*``;
- :class:`~rtnb.local.mcp.tools.McpServers`: the session's hosted MCP servers (one MCP client
  per server, closed with the connection).

The connection holds the session config (``session.update``) that all of them read.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rtnb.local.conversation import ConversationItems
from rtnb.local.input_audio import InputAudio
from rtnb.local.input_pipeline import InputPipeline, recogniser_settings
from rtnb.local.mcp.tools import McpServers
from rtnb.local.policy.deterministic import Policy, default_policy
from rtnb.local.responses import ItemsAndResponses
from rtnb.local.session_config import Session, apply_update, default_session, reported_session
from rtnb.local.speech.stt import SpeechToText
from rtnb.protocol.events import Event, ProtocolError, decode_client_event, error_event, new_id
from rtnb.transport.server import Send

log = logging.getLogger("rtnb.server")


class RealtimeConnection:
    """Protocol logic for one WebSocket connection (see :mod:`rtnb.transport.server`)."""

    def __init__(
        self,
        send: Send,
        *,
        model: str | None = None,
        policy: Policy | None = None,
        realtime_pacing: bool = True,
        stt: SpeechToText | None = None,
        vad_engine: str = "auto",
        tts_engine: str = "auto",
    ) -> None:
        self._send = send
        self.session: Session = default_session(model)
        self.conversation = ConversationItems()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.mcp = McpServers(send, self.conversation, self._spawn, on_listed=self._mcp_listed)
        self.responses = ItemsAndResponses(
            send,
            self.conversation,
            self._current_session,
            policy or default_policy,
            spawn=self._spawn,
            realtime_pacing=realtime_pacing,
            mcp=self.mcp,
            tts_engine=tts_engine,
        )
        if stt is None:
            from rtnb.local.speech.stt import load_stt

            stt = load_stt()
        self.input = InputPipeline(
            send,
            InputAudio(stt, vad_engine=vad_engine),
            self.conversation,
            self._current_session,
            spawn=self._spawn,
            interrupt=self.responses.interrupt,
            respond=self.responses.respond,
            extra_vocabulary=self.mcp.vocabulary,
        )
        self._handlers: dict[str, Callable[[Event], Awaitable[None]]] = {
            "session.update": self._session_update,
            "input_audio_buffer.append": self.input.append,
            "input_audio_buffer.commit": self.input.commit,
            "input_audio_buffer.clear": self.input.clear,
            "conversation.item.create": self.responses.item_create,
            "conversation.item.delete": self.responses.item_delete,
            "conversation.item.retrieve": self.responses.item_retrieve,
            "conversation.item.truncate": self.responses.item_truncate,
            "response.create": self._response_create,
            "response.cancel": self.responses.cancel,
            "output_audio_buffer.clear": self._output_audio_clear,
        }

    # -- connection life ---------------------------------------------------------------------

    async def start(self) -> None:
        """Send ``session.created`` and start the input pipeline."""
        self.input.start()
        await self._event("session.created", session=copy.deepcopy(self.session))

    async def handle(self, message: str | bytes) -> None:
        """Handle one client message; any problem becomes an ``error`` event."""
        event: Event | None = None
        try:
            if isinstance(message, bytes):
                raise ProtocolError("binary frames are not supported; send JSON text events")
            event = decode_client_event(message)
            await self._handlers[event["type"]](event)
        except ProtocolError as exc:
            if exc.event_id is None and event is not None:
                exc.event_id = _client_event_id(event)
            await self._send(error_event(exc))
        except Exception as exc:  # a bug must not end the connection: report it as the API does
            log.exception("local server failed on a client event")
            failure = ProtocolError(
                f"the local server failed on this event: {type(exc).__name__}: {exc}",
                code="server_error",
                event_id=_client_event_id(event) if event is not None else None,
            )
            await self._send(error_event(failure, error_type="server_error"))

    async def aclose(self) -> None:
        """Stop the response and background work."""
        self.responses.interrupt("client_cancelled")
        await self.mcp.aclose()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("local server task failed", exc_info=task.exception())

    async def _event(self, kind: str, **fields: Any) -> None:
        await self._send({"type": kind, "event_id": new_id("event"), **fields})

    # -- session -----------------------------------------------------------------------------

    def _current_session(self) -> Session:
        return self.session

    async def _session_update(self, event: Event) -> None:
        before = self.session
        self.session = apply_update(self.session, event["session"])
        turn_detection = self.session["audio"]["input"]["turn_detection"]
        if turn_detection != before["audio"]["input"]["turn_detection"]:
            self.input.restart_turn_detection()
        await self._event("session.updated", session=reported_session(self.session))
        self.mcp.configure(self.session["tools"])
        if recogniser_settings(self.session) != recogniser_settings(before):
            self.input.refresh_vocabulary()

    def _mcp_listed(self) -> None:
        """An MCP server listed its tools: teach the recogniser their words."""
        self.input.refresh_vocabulary()

    # -- responses ---------------------------------------------------------------------------

    async def _response_create(self, event: Event) -> None:
        # The policy reads words: audio committed just before (turn detection off, or a clip
        # sent as one turn) is answered once its transcript is in its item.
        await self.responses.create(event, after=self.input.pending_transcripts())

    async def _output_audio_clear(self, event: Event) -> None:
        raise ProtocolError(
            "output_audio_buffer.clear is for WebRTC and SIP connections; over WebSocket the "
            "client owns playback (stop it locally and send conversation.item.truncate)",
            code="unsupported_for_transport",
            param="type",
            event_id=event.get("event_id"),
        )


def _client_event_id(event: Event) -> str | None:
    event_id = event.get("event_id")
    return event_id if isinstance(event_id, str) else None
