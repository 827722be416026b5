"""Microphone widget: browser capture (AudioWorklet) streamed to a session as PCM16 24 kHz.

The browser captures after a click on *Start mic*, converts to mono PCM16 at 24 kHz (the browser
or the worklet resamples) and sends binary chunks of ``chunk_ms`` (100 ms by default). The level
meter and the barge-in detection work on 20 ms frames in the page; only whole chunks go to the
kernel, because each message to the kernel makes JupyterLab handle a busy/idle status round, and
50 of those a second (20 ms chunks) saturated the page's main thread in a loaded browser and made
the player stutter. Chunks may arrive on a kernel subshell thread; they are handed to the
session's event loop, where ``session.send_audio`` is called.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from rtnb.protocol.audio import duration_ms

from ._bridge import LoopBridge

DEFAULT_CONSTRAINTS = {"echoCancellation": True, "noiseSuppression": True, "autoGainControl": True}
"""``getUserMedia`` audio constraints: echo cancellation keeps the player out of the mic."""


class Mic(anywidget.AnyWidget):
    """Captures the browser microphone and forwards it to ``session.send_audio``.

    ``muted`` pauses the capture in the browser (nothing is sent) and calls ``session.mute``
    when the session supports it. ``on_audio`` callbacks see every chunk forwarded. With
    ``barge_in_player`` set (the console does), the page pauses that player as soon as the
    capture is louder than ``barge_in_db`` for ``barge_in_ms``, before the kernel hears of it.
    """

    _esm = Path(__file__).with_name("mic.js")
    _css = Path(__file__).with_name("widgets.css")
    _uid = traitlets.Unicode().tag(sync=True)
    capturing = traitlets.Bool(
        False, help="True while the browser captures (set by the browser)"
    ).tag(sync=True)
    muted = traitlets.Bool(False, help="Pause sending audio").tag(sync=True)
    chunk_ms = traitlets.Int(100, help="Audio per message to the kernel, ms").tag(sync=True)
    device_rate = traitlets.Int(0, help="Sample rate of the browser's capture context").tag(
        sync=True
    )
    constraints = traitlets.Dict(DEFAULT_CONSTRAINTS).tag(sync=True)
    error = traitlets.Unicode("", help="The browser's last capture error").tag(sync=True)
    barge_in_player = traitlets.Unicode(
        "", help="The `_uid` of a Player the page pauses as soon as the user speaks (barge-in)"
    ).tag(sync=True)
    barge_in_db = traitlets.Float(-40.0, help="Chunk peak (dBFS) that counts as speech").tag(
        sync=True
    )
    barge_in_ms = traitlets.Int(120, help="Speech this long pauses the player").tag(sync=True)

    def __init__(
        self,
        session: Any = None,
        *,
        loop: asyncio.AbstractEventLoop | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(_uid=uuid.uuid4().hex, **kwargs)
        self.session = session
        self.received_ms = 0.0
        self.chunks = 0
        self._bridge = LoopBridge(loop)
        self._listeners: list[Callable[[bytes], Any]] = []
        self.on_msg(self._on_browser_message)
        self.observe(self._on_muted, "muted")

    @traitlets.validate("chunk_ms")
    def _check_chunk_ms(self, proposal: dict[str, Any]) -> int:
        value = int(proposal["value"])
        if not 20 <= value <= 200:
            raise traitlets.TraitError("chunk_ms must be between 20 and 200")
        return value

    def on_audio(self, callback: Callable[[bytes], Any]) -> None:
        """Call ``callback(pcm16)`` on the event loop for every chunk received while unmuted."""
        self._listeners.append(callback)

    def stop(self) -> None:
        """Ask the browser to stop capturing."""
        self.send({"type": "stop"})

    # Comm side: any thread. Only hand over.
    def _on_browser_message(
        self, _widget: Any, content: dict[str, Any], buffers: list[Any]
    ) -> None:
        if content.get("type") == "audio" and buffers:
            self._bridge.call(self._deliver, bytes(buffers[0]))

    def _on_muted(self, change: dict[str, Any]) -> None:
        self._bridge.call(self._apply_mute, bool(change["new"]))

    # Loop side.
    def _deliver(self, pcm16: bytes) -> None:
        if self.muted or len(pcm16) % 2:
            return
        self.chunks += 1
        self.received_ms += duration_ms(pcm16)
        for callback in self._listeners:
            callback(pcm16)
        session = self.session
        if session is not None and session.connected:
            session.send_audio(pcm16)

    def _apply_mute(self, muted: bool) -> None:
        mute_session(self.session, muted)


def mute_session(session: Any, muted: bool) -> bool:
    """Call ``session.mute(muted)`` where the session supports it; return True if it did.

    A session whose transport cannot mute (``session.muted is None``: the WebSocket transport)
    is left alone: the mic pauses its own capture instead.
    """
    if getattr(session, "muted", None) is None:
        return False
    session.mute(muted)
    return True
