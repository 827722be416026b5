"""The conversation history and its update rules.

Rules: an item whose id is known is merged into the existing entry; a new item
goes right after its ``previous_item_id`` when that item is known (a ``function_call_output``
item's id stands for its call), first when the server said it has no predecessor (:data:`ROOT`),
else at the end. A later
version of an item that comes back with an empty transcript or text (an interrupted, truncated or
retrieved item) keeps the words already known. Input transcriptions and output text/transcript
deltas are written into their item, creating it if it is not known yet.

Updates happen in place on the item objects and an ``item_id -> position`` index is kept, so a
delta or an append costs O(1) whatever the history length; only inserts in the middle and
deletions re-index the tail. :meth:`History.snapshot` returns a :class:`HistoryView`: an
immutable view of the first ``n`` items of the list. Appends leave earlier views valid; the
other structural changes copy the list first when views of it are out (copy-on-write).

Audio bytes are kept only with ``History(store_audio=True)``: then model audio deltas are
appended to their content part and cut where the item was truncated.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from typing import overload

from rtnb.protocol.audio import bytes_for_ms
from rtnb.protocol.events import ProtocolError

from .items import (
    AssistantMessageItem,
    ContentPart,
    ContentType,
    FunctionCallItem,
    HistoryItem,
    McpCallItem,
    MessageItem,
    UserMessageItem,
    _MessageItem,
)

ROOT = "root"
"""``previous_item_id`` of an item the server put at the start of the conversation."""


def merge_content(existing: list[ContentPart], incoming: list[ContentPart]) -> list[ContentPart]:
    """Merge a new version of a message's content into the known one.

    Incoming parts win, except that an empty transcript/text never erases known words; known
    parts beyond the end of the incoming list are kept (items are announced empty first);
    audio bytes already received are kept when the new version carries none.
    """
    merged: list[ContentPart] = []
    for index in range(max(len(existing), len(incoming))):
        old = existing[index] if index < len(existing) else None
        new = incoming[index] if index < len(incoming) else None
        if new is None:
            assert old is not None
            merged.append(old)
            continue
        if old is not None and not new.value and old.value and old.is_audio == new.is_audio:
            _set_value(new, old.value)
        if old is not None and new.audio is None and old.is_audio == new.is_audio:
            new.audio = old.audio
        merged.append(new)
    return merged


def merge_item(existing: HistoryItem, incoming: HistoryItem) -> HistoryItem:
    """Merge ``incoming`` into ``existing`` in place when they are the same kind of item.

    Returns the object to keep: ``existing`` (updated) or, when the kind changed, ``incoming``.
    """
    if isinstance(existing, _MessageItem) and type(existing) is type(incoming):
        assert isinstance(incoming, _MessageItem)
        existing.content = merge_content(existing.content, incoming.content)
        existing.status = incoming.status or existing.status
        existing.previous_item_id = existing.previous_item_id or incoming.previous_item_id
        return existing
    if isinstance(existing, FunctionCallItem) and isinstance(incoming, FunctionCallItem):
        existing.call_id = incoming.call_id or existing.call_id
        existing.name = incoming.name or existing.name
        existing.arguments = incoming.arguments or existing.arguments
        if existing.output is None:
            existing.status = incoming.status or existing.status
        return existing
    if isinstance(existing, McpCallItem) and isinstance(incoming, McpCallItem):
        # Announced empty, then done: a later version without the result keeps the known one.
        for name in ("server_label", "name", "arguments", "output", "error", "status"):
            value = getattr(incoming, name)
            if value is not None and value != "":
                setattr(existing, name, value)
        existing.approval_request_id = incoming.approval_request_id or existing.approval_request_id
        return existing
    return incoming


def _set_value(part: ContentPart, value: str | None) -> None:
    if part.is_audio:
        part.transcript = value
    else:
        part.text = value


class HistoryView(Sequence[HistoryItem]):
    """An immutable snapshot of the history's order (the items themselves are live)."""

    __slots__ = ("_items", "_length")

    def __init__(self, items: list[HistoryItem], length: int) -> None:
        self._items = items
        self._length = length

    def __len__(self) -> int:
        return self._length

    def shows(self, items: list[HistoryItem]) -> bool:
        """True if this view reads the list ``items``."""
        return self._items is items

    @overload
    def __getitem__(self, index: int) -> HistoryItem: ...

    @overload
    def __getitem__(self, index: slice) -> list[HistoryItem]: ...

    def __getitem__(self, index: int | slice) -> HistoryItem | list[HistoryItem]:
        if isinstance(index, slice):
            return [self._items[i] for i in range(self._length)[index]]
        return self._items[range(self._length)[index]]

    def __iter__(self) -> Iterator[HistoryItem]:
        items = self._items
        return (items[i] for i in range(self._length))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"HistoryView({list(self)!r})"


class History:
    """Ordered conversation items with an id index (see the module docstring for the rules)."""

    def __init__(self, *, store_audio: bool = False) -> None:
        self.store_audio = store_audio
        self._items: list[HistoryItem] = []
        self._index: dict[str, int] = {}
        self._calls: dict[str, str] = {}  # call_id -> item_id
        self._outputs: dict[str, str] = {}  # function_call_output item id -> call item id
        self._view: HistoryView | None = None

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[HistoryItem]:
        return iter(self._items)

    def get(self, item_id: str) -> HistoryItem | None:
        """The item with this id, or ``None``."""
        position = self._index.get(item_id)
        return None if position is None else self._items[position]

    def snapshot(self) -> HistoryView:
        """The items in order, as an immutable view (O(1); see the module docstring)."""
        view = self._view
        if view is None or not view.shows(self._items) or len(view) != len(self._items):
            view = self._view = HistoryView(self._items, len(self._items))
        return view

    def upsert(self, item: HistoryItem) -> tuple[HistoryItem, bool, bool]:
        """Merge, insert or append ``item``.

        Returns (the stored item, whether it is new, whether anything changed).
        """
        at_start = item.previous_item_id == ROOT
        if at_start:
            item.previous_item_id = None
        if not self.store_audio and isinstance(item, _MessageItem):
            for part in item.content:
                part.audio = None
        position = self._index.get(item.item_id)
        if position is not None:
            existing = self._items[position]
            before = copy.copy(existing)
            kept = merge_item(existing, item)
            if kept is not existing:
                self._unshare()[position] = kept
            self._remember_call(kept)
            moved = self._follow_previous(position, item.previous_item_id)
            return kept, False, moved or kept != before
        previous = self._anchor(item.previous_item_id) if not at_start else -1
        if previous is None or previous == len(self._items) - 1:
            self._index[item.item_id] = len(self._items)
            self._items.append(item)  # views keep their length: still valid
        else:
            self._unshare().insert(previous + 1, item)
            self._reindex(previous + 1)
        self._remember_call(item)
        return item, True, True

    def remove(self, item_id: str) -> HistoryItem | None:
        """Delete the item with this id; return it, or ``None`` if unknown."""
        position = self._index.pop(item_id, None)
        if position is None:
            return None
        item = self._unshare().pop(position)
        if isinstance(item, FunctionCallItem):
            self._calls.pop(item.call_id, None)
            self._outputs.pop(item.output_item_id or "", None)
        self._reindex(position)
        return item

    def write_text(
        self,
        item_id: str,
        content_index: int,
        part_type: ContentType,
        text: str,
        *,
        append: bool,
    ) -> tuple[HistoryItem, bool]:
        """Append a delta to (or set) the words of one content part of a message.

        The item is created when unknown (a user item for ``input_*`` parts, else an assistant
        item) and the content list is padded with ``part_type`` parts up to ``content_index``.
        A final value that is empty never erases known words. Returns (item, whether it is new).
        """
        item, part, added = self._part(item_id, content_index, part_type)
        if append:
            _set_value(part, (part.value or "") + text)
        elif text or not part.value:
            _set_value(part, text)
        return item, added

    def append_audio(self, item_id: str, content_index: int, pcm: bytes) -> None:
        """Add model audio to its content part (only when storing audio)."""
        if self.store_audio:
            _, part, _ = self._part(item_id, content_index, "output_audio")
            if part.audio is None:
                part.audio = bytearray()
            part.audio += pcm

    def truncate_audio(self, item_id: str, content_index: int, audio_end_ms: int) -> bool:
        """Cut an item's stored audio at ``audio_end_ms``; True if bytes were dropped."""
        item = self.get(item_id)
        if not isinstance(item, _MessageItem) or content_index >= len(item.content):
            return False
        audio = item.content[content_index].audio
        end = bytes_for_ms(audio_end_ms)
        if audio is None or len(audio) <= end:
            return False
        del audio[end:]
        return True

    def _part(
        self, item_id: str, content_index: int, part_type: ContentType
    ) -> tuple[MessageItem, ContentPart, bool]:
        """The content part (item created, content padded with ``part_type`` parts if needed)."""
        item = self.get(item_id)
        added = False
        if not isinstance(item, _MessageItem):
            cls = UserMessageItem if part_type.startswith("input_") else AssistantMessageItem
            item, added, _ = self.upsert(cls(item_id=item_id, status="in_progress"))
        assert isinstance(item, _MessageItem)
        if not 0 <= content_index <= len(item.content):  # parts arrive in order, one at a time
            raise ProtocolError(
                f"content_index {content_index} does not exist on item {item_id!r}",
                param="content_index",
            )
        while len(item.content) <= content_index:
            item.content.append(ContentPart(type=part_type))
        return item, item.content[content_index], added

    def set_tool_output(
        self, call_id: str, output: str, output_item_id: str | None = None
    ) -> FunctionCallItem | None:
        """Record a tool's output (and the id of the server's output item) on its call item.

        Returns the item, or ``None`` if the call is unknown or already had this output.
        """
        item = self.get(self._calls.get(call_id, ""))
        if isinstance(item, FunctionCallItem) and output_item_id:
            item.output_item_id = output_item_id
            self._outputs[output_item_id] = item.item_id
        if not isinstance(item, FunctionCallItem) or (item.output, item.status) == (
            output,
            "completed",
        ):
            return None
        item.output = output
        item.status = "completed"
        return item

    def _unshare(self) -> list[HistoryItem]:
        """The item list, copied first if a view of it was handed out (copy-on-write)."""
        if self._view is not None:
            self._items = list(self._items)
            self._view = None
        return self._items

    def _anchor(self, previous_item_id: str | None) -> int | None:
        """Position to insert after: the item, or the call whose output item this is."""
        if not previous_item_id:
            return None
        position = self._index.get(previous_item_id)
        if position is None:
            position = self._index.get(self._outputs.get(previous_item_id, ""))
        return position

    def _follow_previous(self, position: int, previous_item_id: str | None) -> bool:
        """Move the item at ``position`` after its previous item if that now stands after it.

        Happens when an item was first seen without its place (e.g. a transcript delta that
        arrived before ``conversation.item.added``); the server's latest word on order wins.
        """
        anchor = self._anchor(previous_item_id)
        if anchor is None or anchor < position:
            return False
        items = self._unshare()
        items.insert(anchor, items.pop(position))
        self._reindex(position)
        return True

    def _remember_call(self, item: HistoryItem) -> None:
        if isinstance(item, FunctionCallItem) and item.call_id:
            self._calls[item.call_id] = item.item_id

    def _reindex(self, start: int) -> None:
        for position in range(start, len(self._items)):
            self._index[self._items[position].item_id] = position
