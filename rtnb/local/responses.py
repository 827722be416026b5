"""Conversation items and responses of one local-server connection.

Handles ``conversation.item.{create,delete,retrieve,truncate}`` and ``response.{create,cancel}``
and keeps the one active response, which :class:`~rtnb.local.responder.Responder` streams. The
responder also owns how much audio each assistant item has; truncation reads and changes it
through the responder's methods.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from typing import Any

from rtnb.local.conversation import ConversationItems, validate_item
from rtnb.local.mcp.tools import McpServers
from rtnb.local.policy.deterministic import Policy, PolicyInput
from rtnb.local.responder import Responder
from rtnb.local.response_run import ResponseRun
from rtnb.local.session_config import Session, apply_update
from rtnb.protocol.events import Event, ProtocolError, new_id
from rtnb.transport.server import Send, Spawn

__all__ = ["ItemsAndResponses"]


class ItemsAndResponses:
    """Items and responses of one connection; ``session`` returns the current session config.

    The server's side: it answers ``conversation.item.*`` and ``response.*`` client events. A
    session asks for responses through :class:`rtnb.session.parts.Responses`.
    """

    def __init__(
        self,
        send: Send,
        conversation: ConversationItems,
        session: Callable[[], Session],
        policy: Policy,
        *,
        spawn: Spawn,
        realtime_pacing: bool = True,
        mcp: McpServers | None = None,
        tts_engine: str = "auto",
    ) -> None:
        self._send = send
        self._conversation = conversation
        self._session = session
        self._spawn = spawn
        self._responder = Responder(
            send,
            conversation,
            policy,
            realtime_pacing=realtime_pacing,
            mcp=mcp,
            tts_engine=tts_engine,
        )
        self._response: ResponseRun | None = None
        self._response_task: asyncio.Task[None] | None = None

    # -- conversation items ------------------------------------------------------------------

    async def item_create(self, event: Event) -> None:
        """``conversation.item.create``."""
        item = copy.deepcopy(validate_item(event["item"]))
        item.setdefault("id", new_id("item"))
        item.setdefault("object", "realtime.item")
        item["status"] = "completed"
        previous_item_id = event.get("previous_item_id")
        if previous_item_id is not None and not isinstance(previous_item_id, str):
            raise ProtocolError("'previous_item_id' must be a string", param="previous_item_id")
        request_id = item.get("approval_request_id")
        if item["type"] == "mcp_approval_response" and (
            not isinstance(request_id, str)
            or request_id not in self._conversation
            or self._conversation.get(request_id).get("type") != "mcp_approval_request"
        ):
            raise ProtocolError(
                f"no mcp_approval_request item with id {request_id!r} to answer",
                param="item.approval_request_id",
                event_id=event.get("event_id"),
            )
        try:
            previous = self._conversation.add(item, previous_item_id)
        except ProtocolError as exc:
            exc.event_id = event.get("event_id")
            raise
        await self._event(
            "conversation.item.added", previous_item_id=previous, item=copy.deepcopy(item)
        )
        await self._event(
            "conversation.item.done", previous_item_id=previous, item=copy.deepcopy(item)
        )

    async def item_delete(self, event: Event) -> None:
        """``conversation.item.delete``."""
        item_id = _item_id(event)
        self._conversation.delete(item_id)
        self._responder.forget_audio(item_id)
        await self._event("conversation.item.deleted", item_id=item_id)

    async def item_retrieve(self, event: Event) -> None:
        """``conversation.item.retrieve``."""
        item = self._conversation.get(_item_id(event))
        await self._event("conversation.item.retrieved", item=copy.deepcopy(item))

    async def item_truncate(self, event: Event) -> None:
        """``conversation.item.truncate``: the assistant audio the user heard ends here."""
        item_id = _item_id(event)
        item = self._conversation.get(item_id)
        content_index, audio_end_ms = event["content_index"], event["audio_end_ms"]
        audio_ms = self._responder.audio_length(item_id)
        if item.get("role") != "assistant" or audio_ms is None:
            raise ProtocolError(
                "only assistant messages with audio can be truncated", param="item_id"
            )
        if content_index != 0:
            raise ProtocolError("content_index must be 0", param="content_index")
        if not isinstance(audio_end_ms, int) or not 0 <= audio_end_ms <= audio_ms + 1:
            raise ProtocolError(
                f"audio_end_ms must be from 0 to the item's audio length ({audio_ms:.0f} ms)",
                param="audio_end_ms",
            )
        # As on the OpenAI service, the transcript goes: text the user never heard is dropped.
        for part in item["content"]:
            if "transcript" in part:
                part["transcript"] = ""
        self._responder.truncate_audio(item_id, audio_end_ms)
        await self._event(
            "conversation.item.truncated",
            item_id=item_id,
            content_index=0,
            audio_end_ms=audio_end_ms,
        )

    # -- responses ---------------------------------------------------------------------------

    async def create(self, event: Event, *, after: list[asyncio.Future[None]]) -> None:
        """``response.create``; the response waits for ``after`` (transcripts still to come)."""
        if self._response is not None:
            raise ProtocolError(
                f"Conversation already has an active response in progress: {self._response.id}. "
                "Wait until the response is finished before creating a new one.",
                code="conversation_already_has_active_response",
                event_id=event.get("event_id"),
            )
        overrides = event.get("response") or {}
        if not isinstance(overrides, dict):
            raise ProtocolError("'response' must be an object", param="response")
        self._start(overrides, after=after)

    async def cancel(self, event: Event) -> None:
        """``response.cancel``."""
        run = self._response
        wanted = event.get("response_id")
        if run is None or (wanted is not None and wanted != run.id):
            raise ProtocolError(
                "Cancellation failed: no active response found",
                code="response_cancel_not_active",
                event_id=event.get("event_id"),
            )
        run.cancel("client_cancelled")

    def interrupt(self, reason: str) -> None:
        """Cancel the active response, if any (``turn_detected``: barge-in)."""
        if self._response is not None:
            self._response.cancel(reason)

    async def respond(self) -> None:
        """Start a response for a finished turn, once the active one is over."""
        if self._response_task is not None and not self._response_task.done():
            # A barge-in cancelled it, or (interrupt_response off) it finishes first.
            await asyncio.wait({self._response_task})
        self._start({})

    def _start(
        self, overrides: dict[str, Any], *, after: list[asyncio.Future[None]] | None = None
    ) -> None:
        session = self._session()
        if overrides:
            allowed = {
                k: overrides[k]
                for k in ("instructions", "tools", "output_modalities", "audio")
                if k in overrides
            }
            session = apply_update(session, allowed)
        in_conversation = overrides.get("conversation", "auto") != "none"
        tools = [] if session.get("tool_choice") == "none" else session["tools"]

        def policy_input() -> PolicyInput:
            items = overrides.get("input", self._conversation.items)
            return PolicyInput(
                items=copy.deepcopy(items),
                instructions=session["instructions"],
                tools=copy.deepcopy(tools),
            )

        run = ResponseRun(new_id("resp"), session, in_conversation=in_conversation)
        self._response = run
        self._response_task = self._spawn(self._run(run, policy_input, after or []))

    async def _run(
        self,
        run: ResponseRun,
        policy_input: Callable[[], PolicyInput],
        after: list[asyncio.Future[None]],
    ) -> None:
        try:
            if after:
                await asyncio.wait(after)
            await self._responder.run(run, policy_input())
        finally:
            if self._response is run:
                self._response = None

    async def _event(self, kind: str, **fields: Any) -> None:
        await self._send({"type": kind, "event_id": new_id("event"), **fields})


def _item_id(event: Event) -> str:
    item_id = event["item_id"]
    if not isinstance(item_id, str):
        raise ProtocolError("'item_id' must be a string", param="item_id")
    return item_id
