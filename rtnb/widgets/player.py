"""Player widget: the session's audio played gaplessly in the browser.

Audio events are batched on the event loop and sent as binary messages at most once every
``min_interval`` seconds (Jupyter caps iopub at 1000 messages a second; this stays far below).
The browser plays them behind an adaptive jitter buffer (``player.js``): it starts after
``prebuffer_ms``, raises its target when audio comes late (or runs out), lowers it slowly while
the stream is steady, within ``min_buffer_ms``-``max_buffer_ms``. It stops at once on
``audio_interrupted`` (the queue is dropped) and reports the milliseconds it really played of each
item, which go to ``session.set_playback_position`` so an interruption truncates the item where
the user stopped hearing it.

Stops where the user acts happen in the page first: a click on an element of class
:attr:`Player.stop_class` (the console's Interrupt button) stops playback there and then reports
the position; a :class:`~rtnb.widgets.Mic` that hears the user speak pauses it (barge-in), and
the kernel either confirms (``audio_interrupted`` -> clear) or resumes it after
``barge_in_wait`` seconds.

Tests and benchmarks measure delivery and inject jitter through the subclass
:class:`~rtnb.widgets.bench.BenchPlayer`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from pathlib import Path
from typing import Any, TypeGuard

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
    _worklet = traitlets.Unicode(Path(__file__).with_name("player_worklet.js").read_text()).tag(
        sync=True
    )
    prebuffer_ms = traitlets.Int(100, help="Audio queued before playback starts").tag(sync=True)
    report_ms = traitlets.Int(
        200,
        help="How often the browser reports the position while playing (a stop and the end of "
        "the audio report at once)",
    ).tag(sync=True)
    error = traitlets.Unicode("", help="The browser's last audio error").tag(sync=True)
    min_buffer_ms = traitlets.Int(60, help="Lowest jitter-buffer target").tag(sync=True)
    max_buffer_ms = traitlets.Int(600, help="Highest jitter-buffer target").tag(sync=True)
    underruns = traitlets.Int(
        0, help="Times the browser ran out of audio while playing, before an end (set by it)"
    ).tag(sync=True)

    def __init__(
        self,
        session: Any = None,
        *,
        loop: asyncio.AbstractEventLoop | None = None,
        min_interval: float = 0.05,
        barge_in_wait: float = 1.5,
        **kwargs: Any,
    ) -> None:
        super().__init__(_uid=uuid.uuid4().hex, **kwargs)
        self.session = session
        self.positions: dict[str, float] = {}
        """Item id -> milliseconds the browser reports having played."""
        self.sent: dict[str, float] = {}
        """Item id -> milliseconds sent to the browser."""
        self.messages = 0
        self.buffer_ms = 0.0
        """The browser's buffer level at its last report."""
        self.target_ms = 0.0
        """The browser's jitter-buffer target at its last report."""
        self.buffer_log: list[dict[str, Any]] = []
        """One row per report: time, item, played ms, buffer level and target (ms)."""
        self.underrun_log: list[dict[str, Any]] = []
        """One row per underrun: item, played_ms (where), target_ms, slack_ms and peak_ms (the
        buffer's target, real slack and learned peak lateness then), late_ms (how late the audio
        that ended it was)."""
        self.stops: list[dict[str, Any]] = []
        """Stops made in the page: ``by`` ("user", "barge_in"), ``page_ms`` (the act -> silence in
        the rendered audio) and ``ack_ms`` (the act -> the page's main thread heard it)."""
        self.barge_in_wait = barge_in_wait
        self._resume: asyncio.TimerHandle | None = None
        self._pending: list[tuple[str, bytearray]] = []
        self._stopped: set[str] = set()  # items cleared: their late audio is dropped
        self._cleared: asyncio.Event | None = None
        self._bridge = LoopBridge(loop)
        self._throttle = Throttle(self._flush, min_interval, self._bridge.loop)
        self.on_msg(self._on_browser_message)
        if session is not None:
            self.attach(session)

    @property
    def stop_class(self) -> str:
        """CSS class: a click on an element with it stops playback in the page at once."""
        return f"rtnb-stop-{self._uid}"

    def buffer_frame(self) -> Any:
        """:attr:`buffer_log` as a :class:`pandas.DataFrame` (time in s since the first report)."""
        import pandas as pd

        frame = pd.DataFrame(
            self.buffer_log, columns=["time", "item", "played_ms", "buffer_ms", "target_ms"]
        )
        if len(frame):
            frame["time"] -= frame["time"].iloc[0]
        return frame

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
        self._cancel_resume()
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
        kind = content.get("type")
        if kind == "cleared":
            self._bridge.call(self._on_cleared)
        elif kind == "played":
            item, ms = content.get("item"), content.get("ms")
            if isinstance(item, str) and isinstance(ms, (int, float)):
                self._bridge.call(self._on_played, item, float(ms))
                level, target = content.get("level_ms"), content.get("target_ms")
                if isinstance(level, (int, float)) and isinstance(target, (int, float)):
                    self._bridge.call(self._on_level, item, float(ms), float(level), float(target))
        elif kind == "stopped":
            times = [content.get(k) for k in ("page_ms", "ack_ms")]
            page_ms, ack_ms = (float(t) if _number(t) else None for t in times)
            self._bridge.call(self._on_stopped, str(content.get("by")), page_ms, ack_ms)
        elif kind == "underrun":
            keys = ("item", "played_ms", "target_ms", "slack_ms", "peak_ms", "late_ms")
            row = {k: content.get(k) for k in keys}
            self._bridge.call(self.underrun_log.append, row)

    # Loop side.
    def _on_cleared(self) -> None:
        if self._cleared is not None:
            self._cleared.set()

    def _on_level(self, item_id: str, played: float, level: float, target: float) -> None:
        self.buffer_ms, self.target_ms = level, target
        self.buffer_log.append(
            {"time": time.time(), "item": item_id, "played_ms": played}
            | {"buffer_ms": level, "target_ms": target}
        )

    def _on_stopped(self, by: str, page_ms: float | None, ack_ms: float | None) -> None:
        self.stops.append({"by": by, "page_ms": page_ms, "ack_ms": ack_ms})
        if by == "barge_in":
            # Paused in the page: the session confirms with audio_interrupted (-> clear), else
            # the answer plays on.
            self._cancel_resume()
            self._resume = self._bridge.loop.call_later(self.barge_in_wait, self._resume_play)
        else:
            # Stopped in the page by the user: the audio still coming for these items is dropped.
            self._throttle.cancel()
            self._stopped.update(self.sent)
            self._stopped.update(item for item, _ in self._pending)
            self._pending.clear()

    def _resume_play(self) -> None:
        self._resume = None
        self._post({"type": "resume"})

    def _cancel_resume(self) -> None:
        if self._resume is not None:
            self._resume.cancel()
            self._resume = None

    def _on_played(self, item_id: str, ms: float) -> None:
        self.positions[item_id] = ms
        report = getattr(self.session, "set_playback_position", None)
        if report is not None and item_id:
            report(item_id, ms)


def _number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
