"""Editing the conversation: turn a wanted history into item deletions and creations.

The Realtime API edits a conversation only by deleting items (``conversation.item.delete``) and
creating items after a given one (``conversation.item.create`` with ``previous_item_id``). So:

- an item left out of the new list is deleted (a tool call together with its output item);
- a new text message (user, system or assistant) is created right after the item before it in
  the new list (``"root"`` when it comes first);
- a changed text message, or one moved out of order, is deleted and created again with a new id
  (the fewest text messages are moved: the longest run of items in their old order stays, tool
  calls and audio messages first);
- tool calls (function and hosted MCP calls) and audio messages can be deleted, but not changed,
  moved or added: their calls and audio cannot be re-sent. Such an edit raises
  :class:`ValueError` naming the item, and nothing is sent.

:func:`plan_history_edit` is the pure diff; :func:`apply_history_edit` (behind
``RealtimeSession.update_history``) sends the plan and waits until the server has confirmed every
deletion and creation, so the local history, which follows the server's events, is in its final
order when it returns.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rtnb.protocol import client_events as ce
from rtnb.protocol.events import Event, new_id

from .dispatch import EventDispatcher
from .events import ConnectionChangeEvent, ErrorEvent, TransportEvent
from .history import History
from .items import FunctionCallItem, HistoryItem, McpCallItem, _MessageItem, mcp_tool_name

HistoryUpdate = Sequence[HistoryItem] | Callable[[list[HistoryItem]], Sequence[HistoryItem]]
"""A new history, or a function from (a copy of) the current history to the new one."""

_TEXT_TYPES = frozenset({"input_text", "output_text"})


class HistoryEditError(RuntimeError):
    """The server refused part of a history edit; ``error`` is its ``error`` object."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(f"the server refused a history edit: {error.get('message', error)}")
        self.error = error


@dataclass
class HistoryEditPlan:
    """Client events that turn the current history into the wanted one, in sending order."""

    deletes: list[str] = field(default_factory=list)
    """Ids of items to delete (including output items of deleted tool calls)."""
    creates: list[Event] = field(default_factory=list)
    """``conversation.item.create`` events, each after the previous item of the new list."""

    def events(self) -> list[Event]:
        """Deletions first, then creations (each creation's anchor exists when it arrives)."""
        return [ce.delete_item(item_id) for item_id in self.deletes] + self.creates


def _describe(item: HistoryItem) -> str:
    if isinstance(item, FunctionCallItem):
        return f"tool call {item.item_id!r} ({item.name})"
    if isinstance(item, McpCallItem):
        return f"MCP call {item.item_id!r} ({mcp_tool_name(item.server_label, item.name)})"
    audio = " audio" if any(part.is_audio for part in item.content) else ""
    return f"{item.role}{audio} message {item.item_id or '(new)'!r}"


def _signature(item: HistoryItem) -> tuple[Any, ...]:
    """What an edit can change: the kind and the words (audio bytes are not compared)."""
    if isinstance(item, FunctionCallItem):
        return ("function_call", item.call_id, item.name, item.arguments, item.output)
    if isinstance(item, McpCallItem):
        return ("mcp_call", item.server_label, item.name, item.arguments, item.output, item.error)
    parts = tuple((p.type, p.text, p.transcript, p.image_url) for p in item.content)
    return (item.role, parts)


def _is_text_message(item: HistoryItem) -> bool:
    return (
        isinstance(item, _MessageItem)
        and bool(item.content)
        and all(part.type in _TEXT_TYPES for part in item.content)
    )


def _wire_message(item: _MessageItem, item_id: str) -> dict[str, Any]:
    part_type = "output_text" if item.role == "assistant" else "input_text"
    return {
        "id": item_id,
        "type": "message",
        "role": item.role,
        "content": [{"type": part_type, "text": part.text or ""} for part in item.content],
    }


def _refuse(item: HistoryItem, action: str) -> ValueError:
    return ValueError(
        f"cannot {action} {_describe(item)}: only text messages can be added, changed or moved; "
        "tool calls and audio messages can only be deleted"
    )


def _heaviest_increasing(positions: list[int], weights: list[int]) -> set[int]:
    """Indexes (into ``positions``) of the heaviest strictly increasing subsequence.

    ``positions`` are distinct integers from 0; O(n log n) with a Fenwick tree of prefix maxima.
    """
    size = max(positions, default=-1) + 1
    tree: list[tuple[int, int]] = [(0, -1)] * (size + 1)  # (best weight, index ending it)
    best: list[int] = [0] * len(positions)
    parent: list[int] = [-1] * len(positions)
    for i, position in enumerate(positions):
        prefix, k = (0, -1), position  # best run over positions < position
        while k > 0:
            prefix = max(prefix, tree[k])
            k -= k & -k
        best[i], parent[i] = prefix[0] + weights[i], prefix[1]
        k = position + 1
        while k <= size:
            tree[k] = max(tree[k], (best[i], i))
            k += k & -k
    chosen: set[int] = set()
    i = max(range(len(best)), key=best.__getitem__, default=-1)
    while i >= 0:
        chosen.add(i)
        i = parent[i]
    return chosen


def plan_history_edit(
    current: Sequence[HistoryItem], wanted: Sequence[HistoryItem]
) -> HistoryEditPlan:
    """The deletions and creations that turn ``current`` into ``wanted`` (see the module doc).

    Items of ``wanted`` are matched to ``current`` by ``item_id``; an unknown or empty id is a
    new item. Raises :class:`ValueError` (naming the item) for an edit the API cannot make, and
    :class:`TypeError` for something that is not a history item.
    """
    position = {item.item_id: i for i, item in enumerate(current)}
    seen: set[str] = set()
    candidates: list[int] = []  # indexes into wanted of unchanged known items
    for index, item in enumerate(wanted):
        if not isinstance(item, _MessageItem | FunctionCallItem | McpCallItem):
            raise TypeError(f"history item {index} is a {type(item).__name__}, not a history item")
        if item.item_id and item.item_id in seen:
            raise ValueError(f"item {item.item_id!r} appears twice in the new history")
        seen.add(item.item_id)
        old = current[position[item.item_id]] if item.item_id in position else None
        if old is not None and _signature(old) == _signature(item):
            candidates.append(index)
        elif old is not None and not (_is_text_message(old) and _is_text_message(item)):
            raise _refuse(old, "change")
        elif not _is_text_message(item):
            raise _refuse(item, "add")
    # Keep the most items in their old order, tool calls and audio first (they cannot move).
    heavy = len(candidates) + 1
    runs = _heaviest_increasing(
        [position[wanted[i].item_id] for i in candidates],
        [1 if _is_text_message(wanted[i]) else heavy for i in candidates],
    )
    kept = {candidates[k] for k in runs}
    for index in candidates:
        if index not in kept and not _is_text_message(wanted[index]):
            raise _refuse(wanted[index], "move")

    plan = HistoryEditPlan()
    kept_ids = {wanted[index].item_id for index in kept}
    for item in current:
        if item.item_id not in kept_ids:
            plan.deletes.append(item.item_id)
            if isinstance(item, FunctionCallItem) and item.output_item_id:
                plan.deletes.append(item.output_item_id)
    previous = "root"
    for index, item in enumerate(wanted):
        if index in kept:
            out = item.output_item_id if isinstance(item, FunctionCallItem) else None
            previous = out or item.item_id
            continue
        assert isinstance(item, _MessageItem)
        item_id = new_id("item")
        plan.creates.append(ce.create_item(_wire_message(item, item_id), previous))
        previous = item_id
    return plan


async def apply_history_edit(
    history: History,
    wanted: HistoryUpdate,
    *,
    send: Callable[[Event], None],
    events: EventDispatcher,
    timeout: float = 10.0,
) -> None:
    """Make the conversation (on the server, then locally) match ``wanted``.

    ``wanted`` is the wanted list of items, or a function that receives a deep copy of the
    current history and returns it. Raises :class:`ValueError` before sending anything for
    edits the API cannot make, then waits (up to ``timeout`` seconds) until the server
    confirmed every step: :class:`HistoryEditError` if it refused one.
    """
    current = list(history.snapshot())
    new = wanted(copy.deepcopy(current)) if callable(wanted) else wanted
    plan = plan_history_edit(current, list(new))
    edit_events = plan.events()
    if not edit_events:
        return
    await _send_and_confirm(plan, edit_events, timeout, send, events)


async def _send_and_confirm(
    plan: HistoryEditPlan,
    events: list[Event],
    timeout: float,
    send: Callable[[Event], None],
    dispatcher: EventDispatcher,
) -> None:
    pending = set(plan.deletes) | {event["item"]["id"] for event in plan.creates}
    for event in events:
        event["event_id"] = new_id("event")
    event_ids = {event["event_id"] for event in events}
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def finish(error: BaseException | None = None) -> None:
        if done.done():
            return
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)

    def on_server_event(event: TransportEvent) -> None:
        kind = event.event.get("type")
        if kind == "conversation.item.deleted":
            pending.discard(event.event.get("item_id"))
        elif kind in ("conversation.item.added", "conversation.item.created"):
            pending.discard((event.event.get("item") or {}).get("id"))
        if not pending:
            finish()

    def on_error(event: ErrorEvent) -> None:
        error = event.error
        if isinstance(error, dict) and error.get("event_id") in event_ids:
            finish(HistoryEditError(error))

    def on_status(event: ConnectionChangeEvent) -> None:
        if event.status == "disconnected":
            finish(ConnectionError("the session disconnected during a history edit"))

    handlers: list[tuple[str, Callable[[Any], None]]] = [
        ("transport_event", on_server_event),
        ("error", on_error),
        ("connection_change", on_status),
    ]
    for name, handler in handlers:
        dispatcher.on(name, handler)
    try:
        for event in events:
            send(event)
        await asyncio.wait_for(done, timeout)
    finally:
        for name, handler in handlers:
            dispatcher.off(name, handler)
