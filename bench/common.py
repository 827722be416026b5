"""Shared pieces of the benchmarks: result rows, timing helpers, machine description."""

from __future__ import annotations

import asyncio
import gc
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
DATA_DIR = BENCH_DIR / "data"
RESULTS_DIR = BENCH_DIR / "results"


@dataclass
class Row:
    """One line of the results table.

    ``value`` is the median of ``runs`` (or a single measurement); ``target`` is a readable
    condition such as ``">= 5"`` and ``met`` says whether the value meets it (``None``: the row
    has no target, or was not measured).
    """

    bench: str
    metric: str
    value: float | None
    unit: str = ""
    target: str = ""
    met: bool | None = None
    note: str = ""
    runs: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def check(value: float | None, op: str, bound: float) -> bool | None:
    """Whether ``value op bound`` holds (``None`` when there is no value)."""
    if value is None:
        return None
    return {"<=": value <= bound, "<": value < bound, ">=": value >= bound, ">": value > bound}[op]


def median(values: Iterable[float]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def timed(func: Callable[[], Any]) -> float:
    """Wall-clock seconds of one call, after a garbage collection."""
    gc.collect()
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def rss_bytes() -> int:
    """Resident set size of this process (Linux ``/proc``; 0 elsewhere)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO_DIR,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        usable = os.cpu_count() or 0
    return {
        "cores": usable,
        "cpu_count": os.cpu_count(),
        "cpu": _cpu_model(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "numpy": _version("numpy"),
        "openai_agents": _version("openai-agents"),
        "rtnb_commit": _git_commit(),
        "openblas_env": {
            name: os.environ[name]
            for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
            if name in os.environ
        },
    }


def ends_turn(event: dict[str, Any]) -> bool:
    """A ``response.done`` without a function call: the answer that ends a turn."""
    if event.get("type") != "response.done":
        return False
    output = event["response"].get("output") or []
    return not any(item.get("type") == "function_call" for item in output)


class TappedTransport:
    """Delegates to a transport and shows every decoded server event to :meth:`observe`.

    ``turn_done`` is for subclasses to set when their turn is over.
    """

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.backend = inner.backend
        self.turn_done = asyncio.Event()

    def observe(self, event: dict[str, Any]) -> None:
        """Called with each server event as it arrives (before the session sees it)."""

    async def connect(self) -> None:
        await self._inner.connect()

    async def send(self, event: dict[str, Any]) -> None:
        await self._inner.send(event)

    async def receive(self) -> AsyncIterator[Any]:
        async for event in self._inner.receive():
            if isinstance(event, dict):
                self.observe(event)
            yield event

    async def close(self) -> None:
        await self._inner.close()
