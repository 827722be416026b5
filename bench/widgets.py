"""6. Widgets in a browser: not measured yet.

Planned (headless Debian chromium with the fake audio device, see DESIGN.md): mic chunk ->
kernel latency, player underruns over 60 s, ``clear`` latency. The widgets are still being
built; this module only reports the rows as not yet measured.
"""

from __future__ import annotations

from bench.common import Row

BENCH = "6 widgets"
NOTE = "NOT YET MEASURED: widgets under construction (issue 6, part 6)"


def run(quick: bool = False) -> list[Row]:
    return [
        Row(BENCH, "mic chunk -> kernel latency", None, "ms", note=NOTE),
        Row(BENCH, "player underruns over 60 s", None, "count", note=NOTE),
        Row(BENCH, "player clear latency", None, "ms", note=NOTE),
    ]
