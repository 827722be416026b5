"""The console's text entry keys: Enter and Send carry the words typed, in one message.

ipywidgets' ``Text`` syncs its value as state and its Enter (``submit``) and the ``Button``
click as separate messages that may reach the kernel before the last value: the kernel would
send a half-typed question. :class:`EntryKeys` is an invisible view in the entry row whose page
side (``entry.js``) takes Enter in the row's text box and clicks on its Send button first and
sends ``{"type": "send", "text": ...}``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget


class EntryKeys(anywidget.AnyWidget):
    """Calls ``on_send(text)`` (on the comm thread: hand over) for each message sent in the page."""

    _esm = Path(__file__).with_name("entry.js")

    def __init__(self, on_send: Callable[[str], None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._on_send = on_send
        self.on_msg(self._on_browser_message)

    def _on_browser_message(self, _widget: Any, content: dict[str, Any], _buffers: Any) -> None:
        text = content.get("text") if isinstance(content, dict) else None
        if content.get("type") == "send" and isinstance(text, str):
            self._on_send(text)
