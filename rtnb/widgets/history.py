"""A live table of a session's history (:func:`rtnb.analysis.history_frame`), readable first.

By default it shows who spoke (the agent only where it changes, and only when several agents
spoke), the words or the tool call,
the status and the audio length, with blanks where a value is missing; ``show_all`` shows every
column of the frame, ids included. The kernel sends only the rows that changed; the page
(``history.js``) patches those rows in place.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import anywidget
import pandas as pd
import traitlets

from rtnb.analysis import history_records, observe
from rtnb.analysis._session import subscribe
from rtnb.analysis.display import BlankFrame
from rtnb.analysis.frames import HISTORY_COLUMNS, records_frame

from ._bridge import LoopBridge, Throttle

Row = dict[str, str]

READABLE_COLUMNS = ["who", "agent", "text", "status", "audio"]
"""The columns shown by default (``show_all=False``); ``agent`` only when several agents spoke
(with one, the console's header names it and the column would stay empty)."""


def readable_columns(rows: Iterable[Row]) -> list[str]:
    """:data:`READABLE_COLUMNS` for these rows: without ``agent`` unless agents changed."""
    agents = {row["agent"] for row in rows if row.get("agent")}
    return [c for c in READABLE_COLUMNS if c != "agent" or len(agents) > 1]


def cell(value: Any) -> str:
    """A value as table text: blank for ``None``/NaN, numbers without a useless ``.0``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.0f}"
    return str(value)


def table_rows(records: Iterable[dict[str, Any]]) -> list[Row]:
    """One row per history item (:func:`~rtnb.analysis.history_records`): every column as text,
    plus the readable ones.

    ``who`` is the role (or ``tool``), ``agent`` is blank unless it changed since the row above,
    ``text`` is the words or ``tool(arguments) → output``, ``audio`` is the audio length in s.
    """
    rows = []
    previous_agent: str | None = None
    for record in records:
        row = {column: cell(value) for column, value in record.items()}
        call = record["type"] in ("function_call", "mcp_call")
        agent = row["agent"]
        if call:
            output = "…" if not row["output"] else row["output"]
            words = f"{row['tool']}({row['arguments']}) → {output}"
        else:
            words = row["text"]
        ms = record["audio_ms"]
        row |= {
            "key": row["item_id"],
            "who": "tool" if call else row["role"],
            "agent_shown": agent if agent != previous_agent else "",
            "text_shown": words,
            "audio": "" if cell(ms) == "" else f"{ms / 1000:.1f} s",
        }
        previous_agent = agent
        rows.append(row)
    return rows


class HistoryTable(anywidget.AnyWidget):
    """The session's history as a table, refreshed at most every ``interval`` seconds.

    ``frame`` is the history shown, as a :class:`pandas.DataFrame` (built when read: the
    refreshes work on plain rows, several times a second); ``max_rows`` keeps the last rows;
    ``show_all`` shows every column (ids, the agent on every row). ``height`` is the CSS height.
    """

    _esm = Path(__file__).with_name("history.js")
    _css = Path(__file__).with_name("widgets.css")
    _uid = traitlets.Unicode().tag(sync=True)
    show_all = traitlets.Bool(False, help="Show every column of the frame").tag(sync=True)
    height = traitlets.Unicode("300px", help="CSS height of the table box").tag(sync=True)

    def __init__(
        self,
        session: Any,
        *,
        loop: asyncio.AbstractEventLoop | None = None,
        interval: float = 0.3,
        max_rows: int = 200,
        **kwargs: Any,
    ) -> None:
        super().__init__(_uid=uuid.uuid4().hex, **kwargs)
        self.session = session
        self.max_rows = max_rows
        self.observer = observe(session)
        self._records: list[dict[str, Any]] = []
        self._frame: BlankFrame | None = None
        self.rows: list[Row] = []
        self.updates = 0
        """Messages sent to the page (each carries only the rows that changed)."""
        self._sent: dict[str, Row] = {}
        self._sent_order: list[str] = []
        self._bridge = LoopBridge(loop)
        self._throttle = Throttle(self.refresh, interval, self._bridge.loop)
        self.on_msg(self._on_browser_message)
        subscribe(
            session,
            dict.fromkeys(("history_updated", "audio_stopped", "agent_end"), self._on_change),
        )
        self.refresh()

    @property
    def frame(self) -> pd.DataFrame:
        """The history as of the last refresh (all items, not only the last ``max_rows``)."""
        if self._frame is None:
            self._frame = records_frame(self._records)
        return self._frame

    @property
    def text(self) -> str:
        """The table as tab-separated text (the columns shown, with a header line)."""
        columns = HISTORY_COLUMNS if self.show_all else readable_columns(self.rows)
        shown = {"agent": "agent" if self.show_all else "agent_shown"}
        shown |= {"text": "text" if self.show_all else "text_shown"}
        lines = ["\t".join(columns)]
        lines += ["\t".join(row[shown.get(c, c)] for c in columns) for row in self.rows]
        return "\n".join(lines)

    def _on_change(self, _event: Any) -> None:
        self._throttle.trigger()

    def refresh(self) -> None:
        """Read the history now and send the rows that changed."""
        self._records = history_records(self.session)
        self._frame = None
        self.rows = table_rows(self._records[max(0, len(self._records) - self.max_rows) :])
        order = [row["key"] for row in self.rows]
        changed = [row for row in self.rows if self._sent.get(row["key"]) != row]
        if not changed and order == self._sent_order:
            return
        self._sent = {row["key"]: row for row in self.rows}
        self._sent_order = order
        self._post(changed, order)

    def _post(self, rows: list[Row], order: list[str]) -> None:
        self.updates += 1
        self.send(
            {
                "type": "update",
                "rows": rows,
                "order": order,
                "columns": HISTORY_COLUMNS,
                "readable": readable_columns(self.rows),
            }
        )

    def _send_all(self) -> None:
        self._post(self.rows, self._sent_order)

    # Comm side: any thread. Only hand over.
    def _on_browser_message(self, _widget: Any, content: dict[str, Any], _buffers: Any) -> None:
        if content.get("type") == "sync":
            self._bridge.call(self._send_all)
