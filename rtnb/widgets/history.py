"""A live table of a session's history (:func:`rtnb.analysis.history_frame`)."""

from __future__ import annotations

import asyncio
from typing import Any

import ipywidgets
import pandas as pd

from rtnb.analysis import history_frame, observe
from rtnb.analysis._session import subscribe

from ._bridge import LoopBridge, Throttle


class HistoryTable(ipywidgets.HTML):
    """The session's history as a table, refreshed at most every ``interval`` seconds.

    ``frame`` is the latest :class:`pandas.DataFrame` shown; ``max_rows`` keeps the last rows.
    """

    def __init__(
        self,
        session: Any,
        *,
        loop: asyncio.AbstractEventLoop | None = None,
        interval: float = 0.3,
        max_rows: int = 50,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.session = session
        self.max_rows = max_rows
        self.observer = observe(session)
        self.frame = history_frame(session)
        self._throttle = Throttle(self.refresh, interval, LoopBridge(loop).loop)
        subscribe(
            session,
            dict.fromkeys(("history_updated", "audio_stopped", "agent_end"), self._on_change),
        )
        self.refresh()

    def _on_change(self, _event: Any) -> None:
        self._throttle.trigger()

    def refresh(self) -> None:
        """Rebuild the frame and the table now."""
        self.frame = history_frame(self.session)
        self.value = frame_html(self.frame.tail(self.max_rows))


def frame_html(frame: pd.DataFrame) -> str:
    """A compact HTML table of a history frame (values escaped, audio ms rounded)."""
    shown = frame.copy()
    shown["audio_ms"] = shown["audio_ms"].round(0)
    table = shown.to_html(index=False, na_rep="", classes="rtnb-history", border=0, escape=True)
    return f'<div class="rtnb-history-view">{table}</div>'
