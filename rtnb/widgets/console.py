"""The console: one compact panel to talk to a session from a notebook.

A header (status light, backend, agent, policy or model, one Connect/Disconnect toggle), a
fixed-height transcript that follows the newest turn (the history table in a second tab), tool
approvals, the microphone and the player, and the text box (Enter sends), Send and Interrupt.
A replay (:class:`ReplaySession`) gets Play/Stop, no microphone and no text box, and ends in a
*replay finished* state.

Everything that touches the session runs on its event loop; button clicks (which may arrive on a
kernel subshell thread) only hand over.
"""

from __future__ import annotations

import asyncio
import html
import uuid
from typing import Any

import ipywidgets

from rtnb.analysis import observe
from rtnb.analysis._session import agent_name, subscribe

from ._bridge import LoopBridge, Throttle
from .entry import EntryKeys
from .mic import Mic
from .player import Player
from .snapshot import saved_output, snapshot_html
from .transcript import Transcript

SNAPSHOT_INTERVAL = 2.0
"""Seconds between refreshes of the saved snapshot (after turns; at once when the session ends)."""
TRANSCRIPT_HEIGHT = "300px"
"""Height of the transcript and history boxes: the console stays this compact however long
the conversation."""


def header_html(
    status: str,
    label: str,
    fields: list[tuple[str, str]],
    error: str = "",
) -> str:
    """The console's header: a status light (``data-status`` is ``status``), its ``label`` and
    ``name: value`` fields, all escaped."""
    parts = [
        f'<span class="rtnb-status" data-status="{html.escape(status)}">'
        f'<span class="rtnb-light"></span>{html.escape(label)}</span>'
    ]
    parts += [
        f'<span class="rtnb-field"><span class="rtnb-label">{html.escape(name)}:</span> '
        f"{html.escape(value)}</span>"
        for name, value in fields
    ]
    if error:
        parts.append(f'<span class="rtnb-error">{html.escape(error)}</span>')
    return '<div class="rtnb-header">' + "".join(parts) + "</div>"


def answerer_fields(session: Any) -> list[tuple[str, str]]:
    """Who answers, as header fields: the embedded server's ``policy`` (deterministic, or the
    chat model it asks) on the local backend, else the Realtime ``model``; none for a replay,
    nor before the session has connected (the backend, so who answers, is not known yet).

    On the local backend the Realtime model name is only a label the server ignores.
    """
    if is_replay(session):
        return []
    policy = (getattr(session, "engines", None) or {}).get("policy")
    if policy:
        return [("policy", str(policy))]
    backend = getattr(session, "backend", None)
    if backend is None or backend == "local":
        return []  # not connected yet, or a server started elsewhere (its policy not known here)
    model = getattr(session, "model", None)
    return [("model", str(model))] if model else []


def empty_hint(status: str, *, replay: bool, used: bool) -> str:
    """What the conversation box says while it is empty: what the person can do now."""
    if replay:
        return "Nothing replayed yet: press Play."
    if status == "connected":
        return "No conversation yet: type a message or start the mic."
    if status == "connecting":
        return "Connecting..."
    if used:
        return "The session has ended: make a new session (and console) to talk again."
    return "Not connected: press Connect, then type a message or start the mic."


def is_replay(session: Any) -> bool:
    """True for a recorded session played back (it cannot hear or be typed to)."""
    return bool(getattr(session, "is_replay", False))


class Console(ipywidgets.VBox):
    """Controls and live views of one :class:`~rtnb.RealtimeSession` (or a replay).

    Build it with :func:`console`. A session connects once: after *Disconnect*, make a new
    session (and console) to talk again. ``mic`` is ``None`` for a replay.
    """

    def __init__(
        self,
        session: Any,
        *,
        loop: asyncio.AbstractEventLoop | None = None,
        history: bool = True,
        approvals: bool = True,
    ) -> None:
        self.session = session
        self.observer = observe(session)  # first, so the views see its records up to date
        self._bridge = LoopBridge(loop)
        loop = self._bridge.loop
        self.replay = is_replay(session)
        self.error = ""
        self._used = getattr(session, "status", "disconnected") != "disconnected"
        self._answerer: list[tuple[str, str]] = []
        self.header_line = ""
        self._display_id = uuid.uuid4().hex
        self._displayed = self._snapped = False
        self.status = ipywidgets.HTML()
        self.status.add_class("rtnb-header-box")
        self.connect_button = ipywidgets.Button(
            description="Play" if self.replay else "Connect",
            icon="play" if self.replay else "plug",
        )
        self.disconnect_button = ipywidgets.Button(
            description="Stop" if self.replay else "Disconnect",
            icon="stop" if self.replay else "times",
        )
        self.text = ipywidgets.Text(placeholder="Type a message…", continuous_update=True)
        self.send_button = ipywidgets.Button(description="Send", icon="paper-plane")
        self.interrupt_button = ipywidgets.Button(description="Interrupt", icon="hand-paper-o")
        self.mic = None if self.replay else Mic(session, loop=loop)
        self.player = Player(session, loop=loop)
        self.transcript = Transcript(session, loop=loop, height=TRANSCRIPT_HEIGHT)
        self.history = None
        views: ipywidgets.Widget = self.transcript
        if history:
            from .history import HistoryTable

            self.history = HistoryTable(session, loop=loop, height=TRANSCRIPT_HEIGHT)
            views = ipywidgets.Tab(
                [self.transcript, self.history], titles=("Conversation", "History")
            )
            views.add_class("rtnb-tabs")
        header = ipywidgets.HBox([self.status, self.connect_button, self.disconnect_button])
        header.add_class("rtnb-top")
        audio = ipywidgets.HBox([w for w in (self.mic, self.player) if w is not None])
        audio.add_class("rtnb-audio")
        children: list[ipywidgets.Widget] = [header, views]
        self.approvals = None
        if approvals:
            from .approvals import Approvals

            self.approvals = Approvals(session, loop=loop)
            children.append(self.approvals)
        children.append(audio)
        if not self.replay:
            self.entry_keys = EntryKeys(lambda text: self._bridge.call(self._send_text, text))
            self.entry_keys.layout.display = "none"
            entry = ipywidgets.HBox(
                [self.text, self.send_button, self.interrupt_button, self.entry_keys]
            )
            entry.add_class("rtnb-entry-row")
            children.append(entry)
        super().__init__(children)
        self.add_class("rtnb-console")
        for name in ("connect", "disconnect", "send", "interrupt"):
            getattr(self, f"{name}_button").add_class(f"rtnb-{name}")
        self.text.add_class("rtnb-text")
        # Stops where the user acts happen in the page first (see Player).
        self.interrupt_button.add_class(self.player.stop_class)
        if self.mic is not None:
            self.mic.barge_in_player = self.player._uid

        self.connect_button.on_click(lambda _: self._bridge.spawn(self._connect, "rtnb-connect"))
        self.disconnect_button.on_click(
            lambda _: self._bridge.spawn(self._disconnect, "rtnb-disconnect")
        )
        self.send_button.on_click(lambda _: self._bridge.call(self._send_text, self.text.value))
        # Enter in the box: in the page, EntryKeys sends the words with it; without that view,
        # the Text widget's own "submit" message (its on_submit is deprecated) is taken here.
        self.text.on_msg(self._on_text_message)
        self.interrupt_button.on_click(lambda _: self._bridge.spawn(self._interrupt, "rtnb-stop"))
        self._refresh = Throttle(self._render_status, 0.2, loop)
        self._snapshots = Throttle(self._update_snapshot, SNAPSHOT_INTERVAL, loop)
        subscribe(
            session,
            {
                name: self._on_change
                for name in ("connection_change", "agent_start", "agent_end", "agent_handoff")
            }
            | {"error": self._on_error, "transport_event": self._on_server_event},
        )
        self._render_status()

    # Loop side.
    async def _connect(self) -> None:
        self.error = ""
        self.connect_button.disabled = True
        try:
            await self.session.connect()
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"
        self._render_status()

    async def _disconnect(self) -> None:
        if self.mic is not None:
            self.mic.stop()
        self.player.clear()
        await self.session.close()
        self._render_status()

    def _send_text(self, text: str) -> None:
        if text.strip() and self.session.connected:
            self.session.send_message(text)
            self.text.value = ""

    async def _interrupt(self) -> None:
        # The page stopped the player on the click already (its stop_class); this clear waits for
        # its last played-ms report, so the session truncates where the user stopped hearing.
        # A page that plays (it reported positions) is waited for longer: on a busy machine its
        # last report can take a second, and the truncation must not be shorter than the truth.
        await self.player.stop(timeout=2.0 if self.player.positions else 0.5)
        if self.session.connected:
            self.session.interrupt()

    # Comm side: any thread. Only hand over.
    def _on_text_message(self, _widget: Any, content: dict[str, Any], _buffers: Any) -> None:
        if content.get("event") == "submit":
            self._bridge.call(self._send_text, self.text.value)

    def _on_change(self, event: Any) -> None:
        self._refresh.trigger()
        if self._displayed and getattr(event, "type", "") == "agent_end":
            self._snapshots.trigger()  # a turn ended: the saved snapshot follows

    def _on_server_event(self, event: Any) -> None:
        # ``update_agent`` emits no session event; the server's confirmation of its
        # ``session.update`` is when the header learns of the new agent.
        if event.event.get("type") == "session.updated":
            self._refresh.trigger()

    def _on_error(self, event: Any) -> None:
        error = event.error
        if isinstance(error, dict):
            self.error = str(error.get("message") or error.get("type") or error)
        else:
            self.error = f"{type(error).__name__}: {error}"
        self._refresh.trigger()

    def _status_label(self, status: str) -> tuple[str, str]:
        """(``data-status``, the words shown) for the session's status."""
        if not self.replay:
            return status, status
        if getattr(self.session, "finished", False):
            return "finished", "replay finished"
        if status == "connected":
            return "connected", "replaying"
        return status, "replay ready: press Play"

    def _render_status(self) -> None:
        status = getattr(self.session, "status", "disconnected")
        connected = status == "connected"
        self._used = self._used or status != "disconnected"
        self.connect_button.disabled = self._used  # a session connects once
        self.disconnect_button.disabled = not connected
        # One toggle: Connect (Play) until the session is up, Disconnect (Stop) while it is.
        live = status in ("connecting", "connected")
        self.connect_button.layout.display = "none" if live else None
        self.disconnect_button.layout.display = None if live else "none"
        self.send_button.disabled = self.interrupt_button.disabled = not connected
        self.text.disabled = not connected
        self.transcript.hint = empty_hint(status, replay=self.replay, used=self._used)
        fields = [("backend", getattr(self.session, "backend", None) or "-")]
        fields.append(("agent", agent_name(self.session) or "-"))
        # Kept after a disconnect: the local server that answered is gone, not forgotten.
        self._answerer = answerer_fields(self.session) or self._answerer
        fields += self._answerer
        shown, label = self._status_label(status)
        self.status.value = header_html(shown, label, fields, self.error)
        words = [label, *(f"{name}: {value}" for name, value in fields)]
        self.header_line = " · ".join([*words, self.error] if self.error else words)
        if self._displayed and status == "disconnected" and self._used and not self._snapped:
            self._snapped = True  # the session is over: the saved output keeps how it ended
            self._snapshots.cancel()
            self._update_snapshot()

    # The notebook output: the widget, then a static snapshot for where widgets cannot run.
    def snapshot(self) -> str:
        """The console as static HTML (header and conversation): see :mod:`.snapshot`."""
        self.transcript.flush()
        entries = (self.transcript.entries[key] for key in self.transcript.order)
        return snapshot_html(
            self.header_line, entries, title="rtnb console (a snapshot: run the notebook to talk)"
        )

    def _snapshot_bundle(self) -> dict[str, Any]:
        return {
            "text/plain": f"rtnb console: {self.header_line}",
            "text/html": saved_output(self.snapshot()),
        }

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(super()._repr_mimebundle_(), raw=True)
        display(self._snapshot_bundle(), raw=True, display_id=self._display_id)
        self._displayed = True

    def _update_snapshot(self) -> None:
        from IPython.display import update_display

        update_display(self._snapshot_bundle(), raw=True, display_id=self._display_id)


def console(session: Any, **options: Any) -> Console:
    """The console widget for ``session`` (display it, or make it a cell's last expression).

    Options: ``history`` and ``approvals`` (show those views; default True), ``loop`` (the event
    loop the session runs on; default: the running/current loop).
    """
    return Console(session, **options)
