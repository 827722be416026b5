"""A recorded run as a :class:`~rtnb.widgets.record.ReplaySession` that also plays the user.

The recording keeps the simulated user's speech in its ``eval_turn`` records; for listening, each
becomes an ``audio`` record of its own item (``eval-user-<turn>``) at the moment it was sent, so
the console plays the user's turn and the assistant's answer in order.
"""

from __future__ import annotations

from typing import Any

from rtnb.analysis.records import Record

__all__ = ["listening_records", "replay_session"]


def listening_records(records: list[Record]) -> list[Record]:
    """``records`` with the user's speech as ``audio`` records (after the turn's record)."""
    out: list[Record] = []
    for record in records:
        out.append(record)
        if record["event"] == "eval_turn" and "pcm" in record:
            out.append(
                {
                    "t": record["t"],
                    "event": "audio",
                    "item_id": f"eval-user-{record['index']}",
                    "content_index": 0,
                    "response_id": "eval-user",
                    "ms": record["ms"],
                    "pcm": record["pcm"],
                }
            )
    return out


def replay_session(records: list[Record], *, speed: float | None = 1.0) -> Any:
    """A replay of a run's records, the user's speech included."""
    from rtnb.widgets.record import ReplaySession

    return ReplaySession(listening_records(records), speed=speed)
