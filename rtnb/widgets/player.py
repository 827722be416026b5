"""Player widget: the session's audio played gaplessly in the browser.

Audio events are batched on the event loop and sent as binary messages at most once every
``min_interval`` seconds (Jupyter caps iopub at 1000 messages a second; this stays far below).
The browser starts after about 100 ms of pre-buffer, stops at once on ``audio_interrupted``
(the queue is dropped) and reports the milliseconds it really played of each item, which go to
``session.set_playback_position`` so an interruption truncates the item where the user stopped
hearing it.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from rtnb.analysis._session import subscribe
from rtnb.protocol.audio import duration_ms

from ._bridge import LoopBridge, Throttle


class Player(anywidget.AnyWidget):
    """Plays a session's audio (PCM16 24 kHz mono) and reports the playback position."""

    _esm = Path(__file__).with_name("player.js")
    _css = Path(__file__).with_name("widgets.css")
    _uid = traitlets.Unicode().tag(sync=True)
    prebuffer_ms = traitlets.Int(100, help="Audio queued before playback starts").tag(sync=True)
    report_ms = traitlets.Int(50, help="How often the browser reports the position").tag(sync=True)
    error = traitlets.Unicode("", help="The browser's last audio error").tag(sync=True)
    underruns = traitlets.Int(
        0, help="Times the browser ran out of audio while playing, before an end (set by it)"
    ).tag(sync=True)

    def __init__(
        self,
        session: Any = None,
        *,
        loop: asyncio.AbstractEventLoop | None = None,
        min_interval: float = 0.05,
        **kwargs: Any,
    ) -> None:
        super().__init__(_uid=uuid.uuid4().hex, **kwargs)
        self.session = session
        self.positions: dict[str, float] = {}
        """Item id -> milliseconds the browser reports having played."""
        self.sent: dict[str, float] = {}
        """Item id -> milliseconds sent to the browser."""
        self.messages = 0
        self._pending: list[tuple[str, bytearray]] = []
        self._stopped: set[str] = set()  # items cleared: their late audio is dropped
        self._cleared: asyncio.Event | None = None
        self._bridge = LoopBridge(loop)
        self._throttle = Throttle(self._flush, min_interval, self._bridge.loop)
        self.on_msg(self._on_browser_message)
        if session is not None:
            self.attach(session)

    @property
    def played_ms(self) -> float:
        """Milliseconds played in the browser, over all items."""
        return sum(self.positions.values())

    @property
    def sent_ms(self) -> float:
        """Milliseconds sent to the browser, over all items."""
        return sum(self.sent.values())

    def attach(self, session: Any) -> None:
        """Play ``session``'s audio and report positions to it."""
        self.session = session
        subscribe(
            session,
            {
                "audio": lambda e: self.play(e.data, e.item_id),
                "audio_stopped": lambda e: self.end(),
                "audio_interrupted": lambda e: self.clear(),
            },
        )

    def play(self, pcm16: bytes, item_id: str = "") -> None:
        """Queue audio of ``item_id`` (call on the event loop)."""
        if item_id in self._stopped:
            return
        if self._pending and self._pending[-1][0] == item_id:
            self._pending[-1][1].extend(pcm16)
        else:
            self._pending.append((item_id, bytearray(pcm16)))
        self._throttle.trigger()

    def end(self) -> None:
        """No more audio for now: send what is queued and let the browser play all of it."""
        self._throttle.flush()
        self._post({"type": "end"})

    def clear(self) -> None:
        """Stop playback at once and drop everything queued (here and in the browser).

        Audio still arriving for the items sent so far is dropped too.
        """
        self._throttle.cancel()
        self._stopped.update(self.sent)
        self._stopped.update(item for item, _ in self._pending)
        self._pending.clear()
        self._post({"type": "clear"})

    async def stop(self, timeout: float = 0.5) -> None:
        """:meth:`clear`, then wait (up to ``timeout`` s) until the browser has stopped and
        reported its final positions, so an ``interrupt()`` that follows truncates the item
        exactly where the user stopped hearing it."""
        self._cleared = cleared = asyncio.Event()
        self.clear()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(cleared.wait(), timeout)

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        for item_id, pcm in pending:
            self.sent[item_id] = self.sent.get(item_id, 0.0) + duration_ms(len(pcm))
            self._post({"type": "audio", "item": item_id}, [bytes(pcm)])

    def _post(self, content: dict[str, Any], buffers: list[bytes] | None = None) -> None:
        self.messages += 1
        self.send(content, buffers)

    # Comm side: any thread. Only hand over.
    def _on_browser_message(self, _widget: Any, content: dict[str, Any], _buffers: Any) -> None:
        if content.get("type") == "cleared":
            self._bridge.call(self._on_cleared)
        elif content.get("type") == "played":
            item, ms = content.get("item"), content.get("ms")
            if isinstance(item, str) and isinstance(ms, (int, float)):
                self._bridge.call(self._on_played, item, float(ms))

    # Loop side.
    def _on_cleared(self) -> None:
        if self._cleared is not None:
            self._cleared.set()

    def _on_played(self, item_id: str, ms: float) -> None:
        self.positions[item_id] = ms
        report = getattr(self.session, "set_playback_position", None)
        if report is not None and item_id:
            report(item_id, ms)
