"""The running transcript of a session: chat bubbles, tool rows and inline marks.

The kernel keeps one *entry* per history item (a message bubble or a tool-call row) plus notes
(handoffs, errors, guardrail trips on items no longer in the history), and sends the browser only
the entries that changed since the last update, a few times a second; the page
(``transcript.js``) patches those elements in place, in a fixed-height box that follows the
newest turn. Items removed from the history (``update_history``) stay, marked *removed*.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from rtnb.analysis import observe
from rtnb.analysis._session import subscribe
from rtnb.analysis.records import guardrail_names, item_from_dict, name_of
from rtnb.session.items import call_output, mcp_tool_name

from ._bridge import LoopBridge, Throttle

Entry = dict[str, Any]


def item_entry(item: Any, agent: str | None = None) -> Entry:
    """The transcript entry of a history item (a message, a function call or an MCP call)."""
    if getattr(item, "type", "") == "mcp_call":
        entry = mcp_entry(item)
        if item.output is None and item.error is None:
            entry["output"], entry["status"] = None, item.status  # still running
        return entry
    if getattr(item, "type", "") == "function_call":
        return {
            "key": item.item_id,
            "kind": "tool",
            "name": item.name,
            "arguments": item.arguments or "",
            "output": item.output,
            "status": item.status,
        }
    role = getattr(item, "role", "") or ""
    text = getattr(item, "text", "") or ""
    return {
        "key": item.item_id,
        "kind": role,
        "who": (agent or "assistant") if role == "assistant" else role,
        "text": text,
        "status": getattr(item, "status", None),
    }


def mcp_entry(call: Any) -> Entry:
    """The transcript entry of a finished hosted MCP call (a tool row named ``server.tool``):
    an :class:`~rtnb.session.mcp.McpToolCall` or a history ``McpCallItem``."""
    output = call_output(call.output, call.error)
    return {
        "key": call.item_id,
        "kind": "tool",
        "name": mcp_tool_name(call.server_label, call.name),
        "arguments": call.arguments or "",
        "output": output if output is not None else "",
        "status": "failed" if call.error is not None else "completed",
        "mcp": True,
    }


def entry_text(entry: Entry) -> str:
    """One line of plain text for an entry (what :attr:`Transcript.text` shows)."""
    if entry["kind"] == "tool":
        output = "…" if entry.get("output") is None else entry["output"]
        line = f"tool {entry['name']}({entry['arguments']}) → {output}"
    elif entry["kind"] == "note":
        line = f"· {entry['text']}"
    else:
        line = f"{entry['who']}: {entry['text']}"
    marks = [*entry.get("marks", ()), *(["removed"] if entry.get("removed") else [])]
    return line + "".join(f" [{mark}]" for mark in marks)


class Transcript(anywidget.AnyWidget):
    """The conversation so far, sent to the page as changes at most every ``interval`` s.

    ``entries`` (key -> entry) and ``order`` are what the page shows; :attr:`text` is the same
    as plain text. ``height`` is the CSS height of the scrolling box.
    """

    _esm = Path(__file__).with_name("transcript.js")
    _css = Path(__file__).with_name("widgets.css")
    _uid = traitlets.Unicode().tag(sync=True)
    height = traitlets.Unicode("300px", help="CSS height of the transcript box").tag(sync=True)
    hint = traitlets.Unicode(
        "No conversation yet: type a message or start the mic.",
        help="What the box says while the conversation is empty",
    ).tag(sync=True)

    def __init__(
        self,
        session: Any,
        *,
        loop: asyncio.AbstractEventLoop | None = None,
        interval: float = 0.25,
        **kwargs: Any,
    ) -> None:
        super().__init__(_uid=uuid.uuid4().hex, **kwargs)
        self.session = session
        self.observer = observe(session)
        self.entries: dict[str, Entry] = {}
        self.order: list[str] = []
        self.updates = 0
        """Messages sent to the page (each carries only the entries that changed)."""
        self._history: Iterable[Any] = ()
        self._marks: dict[str, list[str]] = {}  # item id -> inline marks (interrupted, ...)
        self._tools: dict[str, dict[str, Any]] = {}  # call id -> {"start", "ms"}
        self._notes = itertools.count()
        self._sent: dict[str, Entry] = {}
        self._sent_order: list[str] = []
        self._bridge = LoopBridge(loop)
        self._throttle = Throttle(self._render, interval, self._bridge.loop)
        self.on_msg(self._on_browser_message)
        subscribe(
            session,
            {
                "history_updated": self._on_history,
                "agent_tool_start": self._on_tool_start,
                "agent_tool_end": self._on_tool_end,
                "audio_interrupted": self._on_interrupted,
                "guardrail_tripped": self._on_guardrail,
                "agent_handoff": self._on_handoff,
                "mcp_tool_call_completed": self._on_mcp_call,
            },
        )
        self._history = tuple(getattr(session, "history", ()) or ())
        self._render()

    @property
    def text(self) -> str:
        """The transcript as plain text, one line per entry."""
        return "\n".join(entry_text(self.entries[key]) for key in self.order)

    def flush(self) -> None:
        """Send pending changes now."""
        self._throttle.trigger()
        self._throttle.flush()

    # Session events (loop side).
    def _on_history(self, event: Any) -> None:
        self._history = event.history
        self._throttle.trigger()

    def _on_tool_start(self, event: Any) -> None:
        self._tools[event.call_id] = {"start": self._bridge.loop.time(), "ms": None}

    def _on_tool_end(self, event: Any) -> None:
        call = self._tools.setdefault(event.call_id, {"start": None, "ms": None})
        if call["start"] is not None:
            ms = (self._bridge.loop.time() - call["start"]) * 1000
            call["ms"] = round(ms) if ms >= 10 else round(ms, 1)  # not "0 ms" for a fast tool
        self._throttle.trigger()

    def _on_interrupted(self, event: Any) -> None:
        if not event.item_id:
            return  # nothing was playing: no answer was cut
        at = event.audio_end_ms
        self._mark(event.item_id, "interrupted" + (f" at {at / 1000:.1f} s" if at else ""))

    def _on_guardrail(self, event: Any) -> None:
        names = ", ".join(guardrail_names(event.guardrail_results)) or "guardrail"
        self._mark(event.item_id, f"guardrail tripped: {names}")

    def _on_handoff(self, event: Any) -> None:
        source, target = name_of(event.from_agent), name_of(event.to_agent)
        self._note(f"handoff: {source} → {target}")

    def _on_mcp_call(self, event: Any) -> None:
        # The history shows the call (McpCallItem); a recording made before it did shows the
        # call where it ended. One key either way: the mcp_call item's id.
        entry = mcp_entry(event.call)
        self._rebuild()  # the items before it first (a rare event: the cost is fine)
        if entry["key"] not in self.entries:
            self.order.append(entry["key"])
        self.entries[entry["key"]] = entry
        self._throttle.trigger()

    def _mark(self, item_id: str | None, mark: str) -> None:
        if item_id:
            self._marks.setdefault(item_id, []).append(mark)
        else:
            self._note(mark)
        self._throttle.trigger()

    def _note(self, text: str) -> None:
        key = f"note-{next(self._notes)}"
        self.entries[key] = {"key": key, "kind": "note", "text": text}
        self.order.append(key)
        self._throttle.trigger()

    # Building and sending (loop side).
    def _render(self) -> None:
        self._rebuild()
        changed = [self.entries[k] for k in self.order if self._sent.get(k) != self.entries[k]]
        order = self.order if self.order != self._sent_order else None
        if not changed and order is None:
            return
        self._sent.update({e["key"]: dict(e) for e in changed})
        self._sent_order = list(self.order)
        self._post(changed, order)

    def _entry(self, item: Any) -> Entry:
        entry = item_entry(item, self.observer.item_agent.get(item.item_id, self.observer.agent))
        if entry["kind"] == "tool":
            call = self._tools.get(getattr(item, "call_id", ""), {})
            entry["ms"] = call.get("ms")
        marks = self._marks.get(item.item_id)
        if marks:
            entry["marks"] = list(marks)
        return entry

    def _rebuild(self) -> None:
        keys: list[str] = []
        for item in self._history:
            entry = self._entry(item)
            self.entries[entry["key"]] = entry
            keys.append(entry["key"])
        current = set(keys)
        for key in self.order:
            entry = self.entries[key]
            if key in current or entry["kind"] == "note" or entry.get("removed"):
                continue
            # The item as it last was: words may have arrived since the last render (the
            # observer, subscribed first, saw every version).
            last = self.observer.items.get(key)
            if entry.get("mcp") and last is None:
                continue  # an MCP call known from its event only (a recording without MCP items)
            if last is not None:
                entry = self._entry(item_from_dict(last))
            self.entries[key] = entry | {"removed": True}
        self.order = _merge(self.order, keys)

    def _post(self, entries: list[Entry], order: list[str] | None) -> None:
        self.updates += 1
        message: dict[str, Any] = {"type": "update", "entries": entries}
        if order is not None:
            message["order"] = order
        self.send(message)

    def _send_all(self) -> None:
        self._post([self.entries[k] for k in self.order], self.order)

    # Comm side: any thread. Only hand over.
    def _on_browser_message(self, _widget: Any, content: dict[str, Any], _buffers: Any) -> None:
        if content.get("type") == "sync":  # a view was rendered: it needs everything
            self._bridge.call(self._send_all)


def _merge(order: list[str], keys: list[str]) -> list[str]:
    """``order`` with the new ``keys`` (history order) added, keeping the entries that left the
    history where they were.

    A new item the history has before a known one goes right before it (an insertion, a
    system message put first); any other new item is the newest: it goes at the end.
    """
    merged = list(order)
    known = set(merged)
    for index, key in enumerate(keys):
        if key in known:
            continue
        after = next((k for k in keys[index + 1 :] if k in known), None)
        merged.insert(merged.index(after) if after is not None else len(merged), key)
        known.add(key)
    return merged
