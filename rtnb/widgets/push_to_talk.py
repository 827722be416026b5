"""Push to talk on ipywebrtc: record a whole question in the browser, send it as one user turn.

``pip install 'rtnb[webrtc]'``. ipywebrtc's ``AudioRecorder`` records the browser microphone
(its ``CameraStream``, audio only) with ``MediaRecorder`` while its record button is on; when it
is clicked off, the whole clip (WebM/Opus) reaches the kernel as the value of the recorder's
``Audio`` widget. The clip is decoded with PyAV to PCM16 mono 24 kHz
(:func:`rtnb.clips.decode_clip`) and sent as one committed user turn
(:func:`rtnb.clips.send_turn`), whatever the session's turn detection.

The clip may arrive on a kernel subshell thread: it is handed to the session's event loop, and
decoded in the loop's default executor.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Callable
from typing import Any

import ipywidgets
import traitlets

from rtnb.clips import ClipError, decode_clip, send_turn
from rtnb.protocol.audio import duration_ms

from ._bridge import LoopBridge

log = logging.getLogger("rtnb.widgets")

CONSTRAINTS = {"echoCancellation": True, "noiseSuppression": True, "autoGainControl": True}
"""``getUserMedia`` audio constraints of the recording (as the streaming mic's)."""

HINT = "Click ● to record, click it again to send the question."


def _ipywebrtc() -> Any:
    try:
        import ipywebrtc
    except ImportError as exc:
        raise ImportError("PushToTalk needs ipywebrtc: pip install 'rtnb[webrtc]'") from exc
    return ipywebrtc


class PushToTalk(ipywidgets.VBox):
    """Records a question in the browser and sends it to ``session`` as one committed turn.

    The recorder (:attr:`recorder`, an ipywebrtc ``AudioRecorder``) shows a record button, a
    download button and the last clip; the line under it (:attr:`status`) says what happened to
    the last clip. A clip that cannot be a turn (empty, unreadable, too short) or that arrives
    while the session is closed is not sent: :attr:`error` says why and the session goes on.
    A question sent while an answer runs stops that answer first (``session.interrupt()``), as
    speaking over it does with server turn detection, unless the turn detection says
    ``interrupt_response: false``. ``on_turn`` callbacks see the PCM16 of every turn sent.
    The widget follows the answers of the session it was made with (set ``session`` there).
    """

    error = traitlets.Unicode("", help="Why the last clip was not sent ('' if it was)")

    def __init__(
        self,
        session: Any = None,
        *,
        loop: asyncio.AbstractEventLoop | None = None,
        constraints: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        webrtc = _ipywebrtc()
        audio = dict(CONSTRAINTS if constraints is None else constraints)
        self.stream = webrtc.CameraStream(constraints={"audio": audio, "video": False})
        self.recorder = webrtc.AudioRecorder(stream=self.stream, format="webm", codecs="opus")
        self.status = ipywidgets.HTML(_status(HINT))
        super().__init__(children=[self.recorder, self.status], **kwargs)
        self.add_class("rtnb-push-to-talk")
        self.session = session
        self.turns = 0
        self.sent_ms = 0.0
        self._bridge = LoopBridge(loop)
        self._listeners: list[Callable[[bytes], Any]] = []
        self._answering: set[str | None] = set()  # responses between agent_start and agent_end
        if session is not None:
            session.on("agent_start", lambda e: self._answering.add(e.response_id))
            session.on("agent_end", lambda e: self._answering.discard(e.response_id))
        self.recorder.audio.observe(self._on_clip, "value")

    def on_turn(self, callback: Callable[[bytes], Any]) -> None:
        """Call ``callback(pcm16)`` on the event loop for every clip sent as a turn."""
        self._listeners.append(callback)

    async def send_clip(self, clip: bytes | bytearray | memoryview) -> float:
        """Decode ``clip`` and send it to the session as one committed turn; return its seconds.

        Raises :class:`~rtnb.clips.ClipError` when the clip cannot be a turn and
        :class:`RuntimeError` when there is no connected session. Call it on the session's loop.
        """
        loop = asyncio.get_running_loop()
        pcm = await loop.run_in_executor(None, decode_clip, bytes(clip))
        session = self.session
        if session is None or not session.connected:
            raise RuntimeError("the session is not connected: connect it, then record again")
        if session.muted:
            raise RuntimeError("the session is muted: unmute it, then record again")
        turn_detection = session.turn_detection or {}
        if self._answering and turn_detection.get("interrupt_response", True):
            session.interrupt()
        send_turn(session, pcm)
        self.turns += 1
        self.sent_ms += duration_ms(pcm)
        for callback in self._listeners:
            callback(pcm)
        return duration_ms(pcm) / 1000

    # Comm side: any thread. Only hand over.
    def _on_clip(self, change: dict[str, Any]) -> None:
        clip = bytes(change["new"] or b"")
        if clip:
            self._bridge.spawn(lambda: self._deliver(clip), "rtnb-push-to-talk")

    # Loop side.
    async def _deliver(self, clip: bytes) -> None:
        self.status.value = _status("Decoding the recording…")
        try:
            seconds = await self.send_clip(clip)
        except Exception as exc:
            if isinstance(exc, ClipError | RuntimeError):
                log.warning("push to talk: clip not sent: %s", exc)
            else:  # not the clip's fault: keep the traceback
                log.exception("push to talk: clip not sent")
            self.error = str(exc) or type(exc).__name__
            self.status.value = _status(f"Not sent: {self.error}", error=True)
            return
        self.error = ""
        self.status.value = _status(f"Sent {seconds:.1f} s as one turn. {HINT}")


def _status(text: str, *, error: bool = False) -> str:
    kind = " rtnb-ptt-error" if error else ""
    return f'<span class="rtnb-ptt-status{kind}">{html.escape(text)}</span>'
