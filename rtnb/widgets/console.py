"""The console: one widget to talk to a session from a notebook.

Connect/disconnect, backend and connection status, the current agent, a text box for
``send_message``, an interrupt button, the microphone, the player, tool approvals, the running
transcript and the history table. Everything that touches the session runs on its event loop;
button clicks (which may arrive on a kernel subshell thread) only hand over.
"""

from __future__ import annotations

import asyncio
import html
from typing import Any

import ipywidgets

from rtnb.analysis import observe
from rtnb.analysis._session import agent_name, subscribe

from ._bridge import LoopBridge, Throttle
from .mic import Mic
from .player import Player
from .transcript import Transcript


class Console(ipywidgets.VBox):
    """Controls and live views of one :class:`~rtnb.RealtimeSession`.

    Build it with :func:`console`. A session connects once: after *Disconnect*, make a new
    session (and console) to talk again.
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
        self.error = ""
        self._used = getattr(session, "status", "disconnected") != "disconnected"
        self.status = ipywidgets.HTML()
        self.connect_button = ipywidgets.Button(description="Connect", icon="plug")
        self.disconnect_button = ipywidgets.Button(description="Disconnect")
        self.text = ipywidgets.Text(placeholder="Type a message", continuous_update=True)
        self.send_button = ipywidgets.Button(description="Send")
        self.interrupt_button = ipywidgets.Button(description="Interrupt", icon="stop")
        self.mic = Mic(session, loop=loop)
        self.player = Player(session, loop=loop)
        self.transcript = Transcript(session, loop=loop)
        children: list[ipywidgets.Widget] = [
            ipywidgets.HBox([self.status, self.connect_button, self.disconnect_button]),
            ipywidgets.HBox([self.text, self.send_button, self.interrupt_button]),
            ipywidgets.HBox([self.mic, self.player]),
        ]
        self.approvals = None
        if approvals:
            from .approvals import Approvals

            self.approvals = Approvals(session, loop=loop)
            children.append(self.approvals)
        children.append(self.transcript)
        self.history = None
        if history:
            from .history import HistoryTable

            self.history = HistoryTable(session, loop=loop)
            children.append(self.history)
        super().__init__(children)
        self.add_class("rtnb-console")
        for name in ("connect", "disconnect", "send", "interrupt"):
            getattr(self, f"{name}_button").add_class(f"rtnb-{name}")
        self.text.add_class("rtnb-text")
        # Stops where the user acts happen in the page first (see Player).
        self.interrupt_button.add_class(self.player.stop_class)
        self.mic.barge_in_player = self.player._uid

        self.connect_button.on_click(lambda _: self._bridge.spawn(self._connect, "rtnb-connect"))
        self.disconnect_button.on_click(
            lambda _: self._bridge.spawn(self._disconnect, "rtnb-disconnect")
        )
        self.send_button.on_click(lambda _: self._bridge.call(self._send_text, self.text.value))
        self.interrupt_button.on_click(lambda _: self._bridge.spawn(self._interrupt, "rtnb-stop"))
        self._refresh = Throttle(self._render_status, 0.2, loop)
        subscribe(
            session,
            {
                name: self._on_change
                for name in ("connection_change", "agent_start", "agent_end", "agent_handoff")
            }
            | {"error": self._on_error},
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

    def _on_change(self, _event: Any) -> None:
        self._refresh.trigger()

    def _on_error(self, event: Any) -> None:
        error = event.error
        if isinstance(error, dict):
            self.error = str(error.get("message") or error.get("type") or error)
        else:
            self.error = f"{type(error).__name__}: {error}"
        self._refresh.trigger()

    def _render_status(self) -> None:
        status = getattr(self.session, "status", "disconnected")
        backend = getattr(self.session, "backend", None) or "-"
        connected = status == "connected"
        self._used = self._used or status != "disconnected"
        self.connect_button.disabled = self._used  # a session connects once
        self.disconnect_button.disabled = not connected
        self.send_button.disabled = self.interrupt_button.disabled = not connected
        error = (
            f' · <span class="rtnb-error">{html.escape(self.error)}</span>' if self.error else ""
        )
        agent = agent_name(self.session) or "-"
        self.status.value = (
            f'<span class="rtnb-status" data-status="{html.escape(status)}">● {status}</span>'
            f" · backend: {html.escape(backend)} · agent: {html.escape(agent)}{error}"
        )


def console(session: Any, **options: Any) -> Console:
    """The console widget for ``session`` (display it, or make it a cell's last expression).

    Options: ``history`` and ``approvals`` (show those views; default True), ``loop`` (the event
    loop the session runs on; default: the running/current loop).
    """
    return Console(session, **options)
