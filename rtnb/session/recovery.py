"""Keeping a conversation across lost connections: export the history, replay it elsewhere.

:func:`history_records` turns the history into plain JSON-ready records (one per item; audio
bytes are never written), :func:`export_history` writes them as JSONL, and
:func:`replay_events` gives the ``conversation.item.create`` events that rebuild the text of a
conversation in a new server-side conversation (same item ids, so the local history does not
grow duplicates as the server confirms them).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from rtnb.protocol import client_events as ce
from rtnb.protocol.events import Event, new_id

from .items import FunctionCallItem, HistoryItem, McpCallItem, MessageItem

_WIRE_TEXT_PART = {"user": "input_text", "system": "input_text", "assistant": "output_text"}


def history_records(history: Iterable[HistoryItem]) -> list[dict[str, Any]]:
    """One JSON-ready dict per item: its fields plus ``type`` and ``role`` (no audio bytes)."""
    records = []
    for item in history:
        record: dict[str, Any] = {"type": item.type}
        if isinstance(item, MessageItem):
            record["role"] = item.role
            record["text"] = item.text
        record.update(dataclasses.asdict(item))
        for part in record.get("content", []):
            part.pop("audio", None)
        records.append(record)
    return records


def export_history(history: Iterable[HistoryItem], destination: str | Path | IO[str]) -> int:
    """Write the history as JSONL (a path or an open text file); return the number of items."""
    lines = [json.dumps(record, ensure_ascii=False) for record in history_records(history)]
    text = "".join(line + "\n" for line in lines)
    if isinstance(destination, str | Path):
        Path(destination).write_text(text, encoding="utf-8")
    else:
        destination.write(text)
    return len(lines)


def replay_events(history: Iterable[HistoryItem]) -> list[Event]:
    """``conversation.item.create`` events that rebuild the conversation's words, in order.

    Messages are replayed as text (a spoken turn as its transcript); a tool call is replayed with
    its output, or left out while it has none. Messages without words are skipped, and so are
    hosted MCP calls (the server made them; they are not sent back).
    """
    events: list[Event] = []
    for item in history:
        if isinstance(item, McpCallItem):
            continue
        if isinstance(item, FunctionCallItem):
            if item.output is None:
                continue
            events.append(
                ce.create_item(
                    {
                        "id": item.item_id,
                        "type": "function_call",
                        "call_id": item.call_id,
                        "name": item.name,
                        "arguments": item.arguments,
                    }
                )
            )
            output = ce.function_call_output(item.call_id, item.output)
            output["item"]["id"] = item.output_item_id or new_id("item")
            events.append(output)
            continue
        text = item.text
        if not text:
            continue
        part = {"type": _WIRE_TEXT_PART[item.role], "text": text}
        events.append(
            ce.create_item(
                {"id": item.item_id, "type": "message", "role": item.role, "content": [part]}
            )
        )
    return events
