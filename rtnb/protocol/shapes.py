"""Shape checks for the nested objects of events: conversation items and responses.

:func:`rtnb.protocol.events.check_event` checks the top-level fields of every event; these
functions check the objects inside (``item``, ``response``, their content parts and output
items), so that code handling an event can trust the type of every field it reads. Unknown
fields are left alone: the schema grows, and extra fields are not errors.
"""

from __future__ import annotations

from typing import Any

from .errors import ProtocolError

_ITEM_STRINGS = ("id", "type", "role", "status", "call_id", "name", "arguments", "output", "object")
_PART_STRINGS = ("type", "text", "transcript", "audio")
_RESPONSE_STRINGS = ("id", "status", "object", "conversation_id")


def _strings(value: dict[str, Any], names: tuple[str, ...], path: str) -> None:
    for name in names:
        field = value.get(name)
        if field is not None and not isinstance(field, str):
            raise ProtocolError(
                f"'{path}.{name}' must be a string, got {type(field).__name__}",
                param=f"{path}.{name}",
            )


def check_item(item: Any, path: str = "item") -> None:
    """Raise :class:`ProtocolError` naming the field if a conversation item is malformed."""
    if not isinstance(item, dict):
        raise ProtocolError(f"'{path}' must be an object", param=path)
    _strings(item, _ITEM_STRINGS, path)
    content = item.get("content")
    if content is None:
        return
    if not isinstance(content, list):
        raise ProtocolError(f"'{path}.content' must be a list", param=f"{path}.content")
    for index, part in enumerate(content):
        part_path = f"{path}.content[{index}]"
        if not isinstance(part, dict):
            raise ProtocolError(f"'{part_path}' must be an object", param=part_path)
        _strings(part, _PART_STRINGS, part_path)


def check_response(response: Any, path: str = "response") -> None:
    """Raise :class:`ProtocolError` naming the field if a response resource is malformed."""
    if not isinstance(response, dict):
        raise ProtocolError(f"'{path}' must be an object", param=path)
    _strings(response, _RESPONSE_STRINGS, path)
    details = response.get("status_details")
    if details is not None and not isinstance(details, dict):
        raise ProtocolError(
            f"'{path}.status_details' must be an object", param=f"{path}.status_details"
        )
    output = response.get("output")
    if output is None:
        return
    if not isinstance(output, list):
        raise ProtocolError(f"'{path}.output' must be a list", param=f"{path}.output")
    for index, item in enumerate(output):
        check_item(item, f"{path}.output[{index}]")
