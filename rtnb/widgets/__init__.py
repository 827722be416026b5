"""Notebook widgets for realtime sessions (anywidget, ipywidgets: ``pip install rtnb[notebook]``).

- :func:`console` — connect, talk (mic, player, text), interrupt, approve tools, read the
  transcript and the history table, all in one widget.
- :class:`Mic`, :class:`Player`, :class:`HistoryTable`, :class:`Approvals`,
  :class:`Transcript` — the parts, usable alone.
- :class:`PushToTalk` — record a whole question and send it as one turn (ipywebrtc:
  ``pip install rtnb[webrtc]``).
- :mod:`rtnb.widgets.plots` — live matplotlib plots; :mod:`rtnb.widgets.record` — record a
  session's events to JSONL and replay them into the widgets without a backend.

Browser messages may be handled on a kernel subshell thread: the widgets hand them to the
session's event loop and send to the browser from there, batched (a few dozen messages a second).
"""

from .approvals import ApprovalCard, Approvals
from .console import Console, console
from .history import HistoryTable
from .mic import Mic
from .player import Player
from .push_to_talk import PushToTalk
from .record import ReplaySession, record
from .transcript import Transcript

__all__ = [
    "ApprovalCard",
    "Approvals",
    "Console",
    "HistoryTable",
    "Mic",
    "Player",
    "PushToTalk",
    "ReplaySession",
    "Transcript",
    "console",
    "record",
]
