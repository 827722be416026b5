"""A static HTML picture of a console: what a saved notebook shows where the widget cannot run.

A widget's output holds only the id of its model, which lives in the kernel: reopened without
that kernel, JupyterLab prints "Error displaying widget: model not found". A displayed console
is therefore followed by a second output, this snapshot as ``text/html`` (the header and the
conversation, with inline styles only, so that it reads without the widgets' stylesheet and
survives the notebook sanitizer). While the widget runs, the widgets' stylesheet hides it
(``.rtnb-saved``); reopened without the kernel (or in GitHub, nbviewer, ``nbconvert``), there is
no such stylesheet and the snapshot shows under the widget's error.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

from .transcript import Entry

MAX_ENTRIES = 100
"""The snapshot keeps the latest entries (a very long conversation is cut at the top)."""

_BOX = (
    "max-width:780px;border:1px solid rgba(128,128,128,0.5);border-radius:8px;"
    "padding:6px 10px;font-size:13px;line-height:1.4"
)
_HEADER = "padding-bottom:4px;margin-bottom:6px;border-bottom:1px solid rgba(128,128,128,0.35)"
_DIM = "opacity:0.7;font-size:11px"
_BUBBLE = "display:inline-block;padding:3px 9px;border-radius:12px;white-space:pre-wrap"
_USER = f"{_BUBBLE};border:1px solid rgba(25,118,210,0.6)"
_ASSISTANT = f"{_BUBBLE};border:1px solid rgba(128,128,128,0.5)"
_TOOL = "font-family:monospace;font-size:12px;opacity:0.8"


def _line(entry: Entry) -> str:
    kind = entry.get("kind")
    removed_mark = ["removed from the history"] if entry.get("removed") else []
    marks = [*entry.get("marks", ()), *removed_mark]
    note = "".join(f' <span style="{_DIM}">[{html.escape(m)}]</span>' for m in marks)
    removed = "text-decoration:line-through;opacity:0.6;" if entry.get("removed") else ""
    if kind == "tool":
        output = "…" if entry.get("output") is None else str(entry["output"])
        text = f"{entry.get('name')}({entry.get('arguments', '')}) → {output}"
        return f'<div style="{removed}{_TOOL}">⚙ {html.escape(text)}{note}</div>'
    if kind == "note":
        return f'<div style="{_DIM};text-align:center">· {html.escape(str(entry["text"]))}</div>'
    user = kind == "user"
    who = html.escape(str(entry.get("who") or kind))
    words = html.escape(str(entry.get("text") or ""))
    align = "right" if user else "left"
    return (
        f'<div style="text-align:{align};margin:3px 0">'
        f'<div style="{_DIM}">{who}</div>'
        f'<span style="{removed}{_USER if user else _ASSISTANT};text-align:left">{words}</span>'
        f"{note}</div>"
    )


def snapshot_html(header: str, entries: Iterable[Entry], *, title: str = "") -> str:
    """The snapshot: ``header`` (the header as one line of text) over the transcript
    ``entries``; ``title`` is a small caption under the header."""
    shown = list(entries)
    cut = len(shown) - MAX_ENTRIES
    lines = [_line(entry) for entry in shown[max(0, cut) :]]
    if cut > 0:
        lines.insert(0, f'<div style="{_DIM}">… {cut} earlier entries</div>')
    if not lines:
        lines = [f'<div style="{_DIM};font-style:italic">No conversation yet.</div>']
    caption = f'<div style="{_DIM}">{html.escape(title)}</div>' if title else ""
    return (
        f'<div class="rtnb-snapshot" style="{_BOX}">'
        f'<div style="{_HEADER}">{html.escape(header)}{caption}</div>' + "".join(lines) + "</div>"
    )


def saved_output(snapshot: str) -> str:
    """``snapshot`` as the console's second output: hidden while the widgets' CSS is loaded."""
    return f'<div class="rtnb-saved">{snapshot}</div>'
