"""Typed conversation history items and their conversion from wire items.

History items are small mutable dataclasses. The session updates them in place as deltas and
later versions of an item arrive, so an item taken from the history keeps showing the latest
text; ``copy.deepcopy`` it to keep a frozen copy. Audio content parts keep their transcript; their
PCM16 bytes are kept only when the session stores audio (``history_store_audio=True``).
"""

from __future__ import annotations

import base64
import binascii
import builtins
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, TypeVar

ContentType = Literal["input_text", "input_audio", "input_image", "output_text", "output_audio"]

# Older and alternative spellings of content part types, mapped onto the GA names.
_CONTENT_ALIASES: dict[str, ContentType] = {"text": "output_text", "audio": "output_audio"}
AUDIO_TYPES = frozenset({"input_audio", "output_audio"})


@dataclass
class ContentPart:
    """One part of a message: text, or the transcript of audio, or an image reference.

    ``audio`` holds the part's PCM16 audio (24 kHz mono) when the session stores audio
    (``history_store_audio=True``), else ``None``. It grows while the audio streams in.
    """

    type: ContentType
    text: str | None = None
    transcript: str | None = None
    image_url: str | None = None
    audio: bytearray | None = field(default=None, repr=False)

    @property
    def is_audio(self) -> bool:
        """True for ``input_audio``/``output_audio`` parts (whose words are in ``transcript``)."""
        return self.type in AUDIO_TYPES

    @property
    def value(self) -> str | None:
        """The part's words: ``transcript`` for audio, ``text`` otherwise."""
        return self.transcript if self.is_audio else self.text


_M = TypeVar("_M", bound="_MessageItem")  # typing.Self needs Python 3.11


@dataclass
class _MessageItem:
    item_id: str
    content: list[ContentPart] = field(default_factory=list)
    status: str | None = None
    previous_item_id: str | None = None
    type: ClassVar[str] = "message"
    role: ClassVar[str]

    @property
    def text(self) -> str:
        """All words of the message joined (texts and transcripts)."""
        return "".join(part.value or "" for part in self.content)

    @classmethod  # builtins.type: in this class, ``type`` is the ClassVar above
    def from_text(cls: builtins.type[_M], text: str, item_id: str = "") -> _M:
        """A one-part text message, e.g. to insert with ``RealtimeSession.update_history``.

        An empty ``item_id`` lets the session choose one.
        """
        part_type: ContentType = "output_text" if cls.role == "assistant" else "input_text"
        return cls(item_id=item_id, content=[ContentPart(type=part_type, text=text)])


@dataclass
class UserMessageItem(_MessageItem):
    """A user message: typed text or spoken audio (with its transcript)."""

    role: ClassVar[str] = "user"


@dataclass
class AssistantMessageItem(_MessageItem):
    """A message from the model: text or audio with its transcript."""

    role: ClassVar[str] = "assistant"


@dataclass
class SystemMessageItem(_MessageItem):
    """A system message added to the conversation."""

    role: ClassVar[str] = "system"


@dataclass
class FunctionCallItem:
    """A tool call by the model; ``output`` is filled in when the tool has answered."""

    item_id: str
    call_id: str
    name: str
    arguments: str = ""
    output: str | None = None
    status: str | None = None
    previous_item_id: str | None = None
    output_item_id: str | None = None
    """Id of the server's ``function_call_output`` item, once it is known."""
    type: ClassVar[str] = "function_call"


@dataclass
class McpCallItem:
    """A call of a hosted MCP tool, which the Realtime server made for the model; ``output`` (or,
    if it failed, ``error``: the server's error object) is filled in when the call has finished.

    Shown in the history as it happened; unlike a function call it cannot be re-created, so a
    history edit may delete it but not change, move or add one.
    """

    item_id: str
    server_label: str
    name: str
    arguments: str = ""
    output: str | None = None
    error: dict[str, Any] | None = None
    status: str | None = None
    approval_request_id: str | None = None
    previous_item_id: str | None = None
    type: ClassVar[str] = "mcp_call"


def mcp_tool_name(server_label: str, name: str) -> str:
    """A hosted MCP tool as shown beside function tools: ``server.tool`` (``tool`` unlabelled)."""
    return f"{server_label}.{name}" if server_label else name


def call_output(output: str | None, error: dict[str, Any] | None) -> str | None:
    """A call's output as shown: the output, or for a call that failed with the server's error
    object ``error: <its message>``."""
    if output is None and error is not None:
        return f"error: {error.get('message') or error.get('type') or error}"
    return output


MessageItem = UserMessageItem | AssistantMessageItem | SystemMessageItem
HistoryItem = MessageItem | FunctionCallItem | McpCallItem
"""Any item of :attr:`RealtimeSession.history`."""

_MESSAGE_CLASSES: dict[str, type[MessageItem]] = {
    "user": UserMessageItem,
    "assistant": AssistantMessageItem,
    "system": SystemMessageItem,
}


def content_part_from_wire(part: dict[str, Any]) -> ContentPart | None:
    """Convert a wire content part; ``None`` for a type the history does not show."""
    kind = part.get("type")
    kind = _CONTENT_ALIASES.get(kind, kind) if isinstance(kind, str) else None
    if kind not in ("input_text", "input_audio", "input_image", "output_text", "output_audio"):
        return None
    return ContentPart(
        type=kind,
        text=part.get("text"),
        transcript=part.get("transcript"),
        image_url=part.get("image_url"),
        audio=_decode_audio(part.get("audio")),
    )


def _decode_audio(value: Any) -> bytearray | None:
    """The bytes of a part's base64 ``audio`` field (``None`` if absent or not base64)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return bytearray(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError):
        return None


def message_class(role: str) -> type[MessageItem] | None:
    """The history class for a message role, or ``None`` for an unknown role."""
    return _MESSAGE_CLASSES.get(role)


def item_from_wire(item: dict[str, Any], previous_item_id: str | None = None) -> HistoryItem | None:
    """Convert a wire conversation item to a history item.

    Returns ``None`` for items the history does not keep as their own entry
    (``function_call_output`` is merged into its call; MCP tool lists and approvals are not
    shown, MCP calls are).
    """
    kind = item.get("type")
    item_id = item.get("id")
    if not isinstance(item_id, str):
        return None
    if kind == "message":
        cls = message_class(item.get("role", ""))
        if cls is None:
            return None
        parts = [
            content_part_from_wire(p) for p in item.get("content") or [] if isinstance(p, dict)
        ]
        return cls(
            item_id=item_id,
            content=[p for p in parts if p is not None],
            status=item.get("status"),
            previous_item_id=previous_item_id,
        )
    if kind == "function_call":
        return FunctionCallItem(
            item_id=item_id,
            call_id=item.get("call_id") or "",
            name=item.get("name") or "",
            arguments=item.get("arguments") or "",
            status=item.get("status"),
            previous_item_id=previous_item_id,
        )
    if kind == "mcp_call":
        error, approval = item.get("error"), item.get("approval_request_id")
        output = item.get("output") if isinstance(item.get("output"), str) else None
        # The GA item has no status: say how the call ended once it has (as function calls do).
        ended = "failed" if isinstance(error, dict) else "completed" if output is not None else None
        return McpCallItem(
            item_id=item_id,
            server_label=_text(item.get("server_label")),
            name=_text(item.get("name")),
            arguments=_text(item.get("arguments")),
            output=output,
            error=dict(error) if isinstance(error, dict) else None,
            status=item.get("status") or ended,
            approval_request_id=approval if isinstance(approval, str) else None,
            previous_item_id=previous_item_id,
        )
    return None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
