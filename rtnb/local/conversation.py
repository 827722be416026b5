"""The local server's conversation: ordered wire items with insert-after and lookup by id."""

from __future__ import annotations

from typing import Any

from rtnb.protocol.events import ProtocolError

Item = dict[str, Any]

_MESSAGE_PARTS = {
    "user": {"input_text", "input_audio", "input_image"},
    "system": {"input_text"},
    "assistant": {"output_text", "output_audio", "text", "audio"},
}
_ITEM_TYPES = {
    "message",
    "function_call",
    "function_call_output",
    "mcp_approval_response",
    "mcp_call",
    "mcp_list_tools",
    "mcp_approval_request",
}


def validate_item(item: Any) -> Item:
    """Check a client-created item; raise :class:`ProtocolError` naming the bad field."""
    if not isinstance(item, dict):
        raise ProtocolError("'item' must be an object", param="item")
    kind = item.get("type")
    if kind not in _ITEM_TYPES:
        raise ProtocolError(f"unknown item type {kind!r}", param="item.type")
    if kind == "message":
        role = item.get("role")
        if role not in _MESSAGE_PARTS:
            raise ProtocolError(f"unknown message role {role!r}", param="item.role")
        content = item.get("content")
        if not isinstance(content, list):
            raise ProtocolError("message 'content' must be a list", param="item.content")
        for index, part in enumerate(content):
            if not isinstance(part, dict) or part.get("type") not in _MESSAGE_PARTS[role]:
                raise ProtocolError(
                    f"content part {index} has a type not allowed for role {role!r}",
                    param=f"item.content[{index}].type",
                )
    elif kind == "function_call_output":
        for name in ("call_id", "output"):
            if not isinstance(item.get(name), str):
                raise ProtocolError(
                    f"function_call_output needs a string {name!r}",
                    code="missing_required_parameter",
                    param=f"item.{name}",
                )
    elif kind == "mcp_approval_response":
        if not isinstance(item.get("approval_request_id"), str):
            raise ProtocolError(
                "mcp_approval_response needs a string 'approval_request_id'",
                code="missing_required_parameter",
                param="item.approval_request_id",
            )
        if not isinstance(item.get("approve"), bool):
            raise ProtocolError(
                "mcp_approval_response needs a boolean 'approve'",
                code="missing_required_parameter",
                param="item.approve",
            )
    elif kind == "function_call":
        for name in ("call_id", "name", "arguments"):
            if not isinstance(item.get(name), str):
                raise ProtocolError(
                    f"function_call needs a string {name!r}",
                    code="missing_required_parameter",
                    param=f"item.{name}",
                )
    item_id = item.get("id")
    if item_id is not None and (not isinstance(item_id, str) or not 0 < len(item_id) <= 64):
        raise ProtocolError("item 'id' must be a string of 1-64 characters", param="item.id")
    return item


class ConversationItems:
    """The server's items of one connection, in order; ``previous_item_id`` ``"root"`` is the start.

    The client's side is :class:`rtnb.session.conversation.Conversation`, which keeps a session's
    history in step with these items through the server's events.
    """

    def __init__(self, max_items: int = 4096) -> None:
        self.items: list[Item] = []
        self._by_id: dict[str, Item] = {}
        self.max_items = max_items

    def __contains__(self, item_id: str) -> bool:
        return item_id in self._by_id

    def get(self, item_id: str) -> Item:
        """The item with this id; :class:`ProtocolError` if there is none."""
        try:
            return self._by_id[item_id]
        except KeyError:
            raise ProtocolError(
                f"item with id {item_id!r} not found", code="item_not_found", param="item_id"
            ) from None

    def last_id(self) -> str | None:
        """Id of the last item, or None when empty."""
        return self.items[-1]["id"] if self.items else None

    def previous_id(self, item_id: str) -> str | None:
        """Id of the item before ``item_id`` (None at the start)."""
        index = self.items.index(self._by_id[item_id])
        return self.items[index - 1]["id"] if index else None

    def add(self, item: Item, previous_item_id: str | None = None) -> str | None:
        """Insert after ``previous_item_id`` (append when None); return the actual previous id."""
        if item["id"] in self._by_id:
            raise ProtocolError(f"an item with id {item['id']!r} already exists", param="item.id")
        if len(self.items) >= self.max_items:
            raise ProtocolError(
                f"conversation holds at most {self.max_items} items; delete some first",
                code="conversation_full",
                param="item",
            )
        if previous_item_id is None:
            previous = self.last_id()
            self.items.append(item)
        elif previous_item_id == "root":
            previous = None
            self.items.insert(0, item)
        else:
            anchor = self.get(previous_item_id)
            self.items.insert(self.items.index(anchor) + 1, item)
            previous = previous_item_id
        self._by_id[item["id"]] = item
        return previous

    def delete(self, item_id: str) -> Item:
        """Remove and return the item."""
        item = self.get(item_id)
        self.items.remove(item)
        del self._by_id[item_id]
        return item
