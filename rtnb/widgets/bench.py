"""Widgets for tests and benchmarks (``bench/widgets.py``): a Mic and a Player that measure.

The production :class:`~rtnb.widgets.Mic` and :class:`~rtnb.widgets.Player` carry no measurement
hooks; these subclasses add them, through what the pages (``mic.js``, ``player.js``) already
understand.

:class:`BenchMic`: the page stamps each chunk with its clock (the ``bench`` trait); the kernel
keeps (page sent, kernel received) per chunk in :attr:`BenchMic.stamps`.

:class:`BenchPlayer`:

- ``jitter_ms``: the page delays each audio message by a random 0-N ms, in order (a network
  with jitter, reproduced in the browser).
- every audio message carries its kernel send time ``t`` (epoch ms); the page then adds one
  latency row per message played to its ``played`` reports, collected here as
  :attr:`BenchPlayer.latencies` and :attr:`BenchPlayer.delivery_log`.
- :meth:`BenchPlayer.act_stop` asks the page to stop as a click on the Interrupt button would.
"""

from __future__ import annotations

import time
from typing import Any

import traitlets

from .mic import Mic
from .player import Player

_DELIVERY_KEYS = ("to_page_ms", "late_ms", "target_ms", "output_ms")


class BenchMic(Mic):
    """A :class:`~rtnb.widgets.Mic` whose chunks carry the page's send time."""

    bench = traitlets.Bool(True, help="The page stamps each chunk with its clock").tag(sync=True)

    def __init__(self, session: Any = None, **kwargs: Any) -> None:
        super().__init__(session, **kwargs)
        self.stamps: list[tuple[float, float]] = []
        """(page sent, kernel comm handler received) per chunk, epoch seconds."""

    # Comm side: any thread. The kernel's clock is read first thing.
    def _on_browser_message(self, widget: Any, content: dict[str, Any], buffers: list[Any]) -> None:
        received = time.time()
        if content.get("type") == "audio" and buffers and _number(content.get("t")):
            self.stamps.append((content["t"] / 1000, received))
        super()._on_browser_message(widget, content, buffers)


class BenchPlayer(Player):
    """A :class:`~rtnb.widgets.Player` that measures delivery and can inject jitter."""

    jitter_ms = traitlets.Int(
        0, help="The page delays audio by a random 0-N ms, in order (tests and benchmarks)"
    ).tag(sync=True)

    def __init__(self, session: Any = None, **kwargs: Any) -> None:
        super().__init__(session, **kwargs)
        self.latencies: list[float] = []
        """Kernel send -> first sample played in the page, ms per audio message."""
        self.delivery_log: list[dict[str, float]] = []
        """One row per audio message, as :attr:`latencies`: ``to_page_ms`` (kernel send -> the
        page's main thread), ``late_ms`` (how late it reached the playback worklet against the
        stream's best arrival), ``target_ms`` (the jitter buffer's target as it began to play)
        and ``output_ms`` (the audio output's own latency, rendered -> heard)."""
        self.on_msg(self._on_latency_report)

    def act_stop(self) -> None:
        """Ask the page to stop as if the user had clicked a stop element."""
        self._post({"type": "act_stop"})

    def _post(self, content: dict[str, Any], buffers: list[bytes] | None = None) -> None:
        if content.get("type") == "audio":
            content = {**content, "t": time.time() * 1000}  # the page measures from here
        super()._post(content, buffers)

    # Comm side: any thread. Only hand over.
    def _on_latency_report(self, _widget: Any, content: dict[str, Any], _buffers: Any) -> None:
        # "played" reports carry [send -> played, send -> page, late, target, output] per
        # message, in ms; malformed rows are dropped.
        rows = content.get("latency") if content.get("type") == "played" else None
        if not isinstance(rows, list):
            return
        rows = [
            row for row in rows if isinstance(row, list) and len(row) == 1 + len(_DELIVERY_KEYS)
        ]
        rows = [row for row in rows if all(_number(value) for value in row)]
        self._bridge.call(self.latencies.extend, [float(row[0]) for row in rows])
        self._bridge.call(
            self.delivery_log.extend,
            [dict(zip(_DELIVERY_KEYS, map(float, row[1:]), strict=True)) for row in rows],
        )


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
