"""7. What a live conversation costs the notebook kernel: CPU time and memory growth.

This process plays the kernel: a ``RealtimeSession`` on the real ``WebSocketTransport`` and the
console (``rtnb.widgets.console``: mic, player, transcript, history table, approvals), as a user
has it open. There is no browser; each widget's comm is a :class:`KernelComm`, which does what
ipykernel does with a comm message — builds and serialises it with ``jupyter_client``'s
``Session`` (JSON, HMAC signature) — and drops the frames instead of writing them to ZeroMQ.
What the browser would send reaches the widgets as ipykernel hands it over: signed frames made
in advance are deserialised (signature checked) and given to the comm's ``handle_msg``: a 100 ms
microphone chunk (PCM16, 24 kHz) every 100 ms and a ``played`` report from the player every
200 ms, the widgets' defaults (``Mic.chunk_ms``, ``Player.report_ms``).

A child process (``python -m bench.live --serve``) plays the server: a WebSocket server on
127.0.0.1 that streams the recorded local-server conversation (``bench/record.py``, looped with
fresh ids as in ``bench/memory.py``) at real-time pace — each audio delta when the audio before
it has played, the other events as they come — and reads the microphone audio. So 24 kHz audio
flows both ways at once the whole time, with the transcript deltas, tool calls and history
updates of the recording: busier than a real conversation, where people take turns.

Measured over ``seconds`` of wall time from the first assistant audio on (plus a 1 s warm-up),
in one run each:

* CPU: ``time.process_time()`` of this process (every thread) / wall seconds, as % of one core.
  The server process is not counted.
* memory: resident set growth over the run (after a garbage collection at both ends),
  scaled to an hour; short runs make this a rough figure (``bench/memory.py`` measures a full
  simulated hour of the session alone).
* context: the same for the console without its history table, and for the session alone,
  with an application reading ``audio`` (its ``.data``, as a player would) and
  ``history_updated`` events and sending the microphone audio itself; messages per second each
  way between kernel and browser.

Not included: ZeroMQ's own send/receive and IPython's ``pre_execute``/``post_execute`` hooks,
which a real kernel runs around each comm message from the browser.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import itertools
import json
import math
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from bench.common import REPO_DIR, Row, check, rss_bytes

BENCH = "7 live"
MIC_CHUNK_MS = 100
"""``Mic.chunk_ms``'s default: what the browser sends the kernel in one message."""
REPORT_MS = 200
"""``Player.report_ms``'s default: how often the browser reports the played position."""
WARMUP_S = 1.0
FIRST_AUDIO_TIMEOUT_S = 60.0
"""A loaded machine may take this long to start the replay; the clock starts after it."""
HOUR_S = 3600.0
MB = 1024 * 1024
KEY = b"rtnb-bench-live"


# ------------------------------------------------------------------------------ server side


def paced_lines(lines: list[str]) -> Iterator[tuple[float, str]]:
    """(due second, line) forever: the recording looped with fresh ids, audio at real time."""
    from bench.memory import hour_stream

    due = 0.0
    for line in hour_stream(lines, 10**6, []):
        yield due, line
        if line.startswith('{"type":"response.output_audio.delta"'):
            delta = json.loads(line)["delta"]
            due += len(delta) * 3 / 4 / 2 / 24_000


async def serve() -> None:
    """Serve the paced recording to each client on an ephemeral port (printed on stdout)."""
    from websockets.asyncio.server import ServerConnection
    from websockets.asyncio.server import serve as ws_serve
    from websockets.exceptions import ConnectionClosed

    from bench.record import load_lines

    lines = load_lines()

    async def conversation(ws: ServerConnection) -> None:
        async def read() -> None:
            async for _ in ws:  # the microphone audio and the client's requests
                pass

        reader = asyncio.create_task(read())
        loop = asyncio.get_running_loop()
        start = loop.time()
        try:
            for due, line in paced_lines(lines):
                delay = start + due - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                await ws.send(line)
        except ConnectionClosed:
            pass  # the client ended the conversation
        finally:
            reader.cancel()

    async with ws_serve(conversation, "127.0.0.1", 0, max_size=None, compression=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        print(port, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until closed


@contextlib.contextmanager
def server_process() -> Iterator[str]:
    """Start the paced server in a child process; yield its WebSocket URL."""
    child = subprocess.Popen(
        [sys.executable, "-m", "bench.live", "--serve"],
        cwd=REPO_DIR,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        yield f"ws://127.0.0.1:{port}/v1/realtime?model=rtnb-local"
    finally:
        assert child.stdin is not None
        child.stdin.close()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


# ------------------------------------------------------------------------------ kernel side


def kernel_comm_class() -> type:
    """A comm that serialises what it sends as ipykernel would (and drops the frames)."""
    from comm.base_comm import BaseComm
    from jupyter_client.session import Session

    session = Session(key=KEY)

    class KernelComm(BaseComm):
        sent = 0

        def publish_msg(
            self,
            msg_type: str,
            data: Any = None,
            metadata: Any = None,
            buffers: Any = None,
            **keys: Any,
        ) -> None:
            content = dict(data=data or {}, comm_id=self.comm_id, **keys)
            session.send(None, msg_type, content, metadata=metadata or {}, buffers=buffers)
            KernelComm.sent += 1

    return KernelComm


@contextlib.contextmanager
def kernel_comms() -> Iterator[type]:
    """Widgets made inside get a :func:`kernel_comm_class` comm."""
    import comm

    cls = kernel_comm_class()
    original = comm.create_comm
    comm.create_comm = cls
    try:
        yield cls
    finally:
        comm.create_comm = original


class Browser:
    """Signed comm messages as the browser's side would send them, and their delivery."""

    def __init__(self) -> None:
        from jupyter_client.session import Session

        self.session = Session(key=KEY)
        self.received = 0

    def frames(self, comm_id: str, content: dict[str, Any], buffers: list[bytes]) -> list[bytes]:
        data = {"method": "custom", "content": content}
        msg = self.session.msg("comm_msg", {"comm_id": comm_id, "data": data})
        return [*self.session.serialize(msg), *buffers]

    def deliver(self, comm: Any, frames: list[bytes]) -> None:
        """What ipykernel does with a comm message: check, deserialise, hand to the comm."""
        _, parts = self.session.feed_identities(frames)
        comm.handle_msg(self.session.deserialize(parts))
        self.received += 1


def mic_chunks(count: int = 50) -> list[bytes]:
    """``count`` mic chunks of a tone with noise (PCM16, 24 kHz): non-trivial audio."""
    import numpy as np

    from rtnb.protocol.audio import bytes_for_ms, to_bytes

    n = bytes_for_ms(MIC_CHUNK_MS) // 2 * count
    t = np.arange(n) / 24_000
    rng = np.random.default_rng(7)
    signal = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(n)
    pcm = to_bytes(signal)
    size = bytes_for_ms(MIC_CHUNK_MS)
    return [pcm[i : i + size] for i in range(0, len(pcm), size)]


@dataclass
class LiveResult:
    seconds: float
    cpu_seconds: float
    rss_growth: int
    audio_in_s: float
    to_browser: int
    from_browser: int
    history_items: int

    @property
    def cpu_percent(self) -> float:
        return 100 * self.cpu_seconds / self.seconds

    @property
    def mb_per_hour(self) -> float:
        return self.rss_growth / MB * HOUR_S / self.seconds


async def _every(period_s: float, action: Any) -> None:
    """Call ``action()`` every ``period_s`` on an absolute schedule (no drift)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    for tick in itertools.count(1):
        action()
        await asyncio.sleep(max(0.0, start + tick * period_s - loop.time()))


@dataclass
class Kernel:
    """The kernel side under test: periodic inputs (period s, action) and the audio heard."""

    session: Any
    inputs: list[tuple[float, Callable[[], None]]]
    heard_s: Callable[[], float]


def console_kernel(session: Any, browser: Browser, ticks: int, history: bool) -> Kernel:
    """The console's widgets; the mic chunks and player reports come as comm messages."""
    from rtnb.widgets import console

    ui = console(session, history=history)
    mic, player = ui.mic, ui.player
    if (mic.chunk_ms, player.report_ms) != (MIC_CHUNK_MS, REPORT_MS):
        raise RuntimeError("MIC_CHUNK_MS/REPORT_MS differ from the widgets' defaults")
    chunks = itertools.islice(itertools.cycle(mic_chunks()), ticks)
    # Made in advance (unique): the kernel's Session refuses a signature it has seen before.
    mic_frames = iter([browser.frames(mic.comm.comm_id, {"type": "audio"}, [c]) for c in chunks])
    positions = itertools.count(0, REPORT_MS)
    played = ({"type": "played", "item": "playing", "ms": ms} for ms in positions)
    reports = iter(
        [
            browser.frames(player.comm.comm_id, next(played), [])
            for _ in range(ticks * MIC_CHUNK_MS // REPORT_MS)
        ]
    )
    return Kernel(
        session,
        [
            (MIC_CHUNK_MS / 1000, lambda: browser.deliver(mic.comm, next(mic_frames))),
            (REPORT_MS / 1000, lambda: browser.deliver(player.comm, next(reports))),
        ],
        lambda: player.sent_ms / 1000,
    )


def bare_kernel(session: Any, ticks: int) -> Kernel:
    """The session alone: the application plays nothing but reads the audio, sends the mic."""
    heard = [0]

    def on_audio(event: Any) -> None:
        heard[0] += len(event.data)

    session.on("audio", on_audio)
    session.on("history_updated", lambda event: None)
    chunks = itertools.cycle(mic_chunks())
    return Kernel(
        session,
        [(MIC_CHUNK_MS / 1000, lambda: session.send_audio(next(chunks)))],
        lambda: heard[0] / 48_000,
    )


async def live(url: str, seconds: float, console: bool, history: bool = True) -> LiveResult:
    """One measured conversation against the server at ``url``."""
    from bench.replay import rtnb_agent
    from rtnb import RealtimeSession
    from rtnb.transport import WebSocketTransport

    ticks = math.ceil((FIRST_AUDIO_TIMEOUT_S + WARMUP_S + seconds + 2) * 1000 / MIC_CHUNK_MS)
    browser = Browser()
    with kernel_comms() as comm_class:
        session = RealtimeSession(rtnb_agent(), transport=WebSocketTransport(url, backend="local"))
        if console:
            kernel = console_kernel(session, browser, ticks, history)
        else:
            kernel = bare_kernel(session, ticks)
        first_audio = asyncio.Event()
        session.on("audio", lambda _event: first_audio.set())
        await session.connect()
        tasks = [asyncio.create_task(_every(period, action)) for period, action in kernel.inputs]
        try:
            await asyncio.wait_for(first_audio.wait(), FIRST_AUDIO_TIMEOUT_S)
            await asyncio.sleep(WARMUP_S)
            gc.collect()
            rss0, heard0 = rss_bytes(), kernel.heard_s()
            sent0, got0 = comm_class.sent, browser.received
            cpu0, wall0 = time.process_time(), time.perf_counter()
            await asyncio.sleep(seconds)  # the measured span of conversation
            cpu1, wall1 = time.process_time(), time.perf_counter()
            sent1, got1, heard1 = comm_class.sent, browser.received, kernel.heard_s()
            gc.collect()
            rss1 = rss_bytes()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await session.close()
    return LiveResult(
        seconds=wall1 - wall0,
        cpu_seconds=cpu1 - cpu0,
        rss_growth=rss1 - rss0,
        audio_in_s=heard1 - heard0,
        to_browser=sent1 - sent0,
        from_browser=got1 - got0,
        history_items=len(session.history),
    )


def run(quick: bool = False, seconds: float | None = None) -> list[Row]:
    span = seconds if seconds is not None else (15.0 if quick else 60.0)

    async def each(url: str) -> tuple[LiveResult, LiveResult, LiveResult]:
        return (
            await live(url, span, console=True),
            await live(url, span, console=True, history=False),
            await live(url, span, console=False),
        )

    with server_process() as url:
        ui, no_table, bare = asyncio.run(each(url))
    label = f"{span:.0f} s" if span >= 1 else f"{span:.1f} s"
    return [
        Row(
            BENCH,
            "kernel CPU per second of conversation",
            ui.cpu_percent,
            "% of a core",
            "< 2",
            check(ui.cpu_percent, "<", 2),
            f"session + console widgets, 24 kHz audio both ways, {label} at real-time pace",
            [ui.cpu_percent],
        ),
        Row(
            BENCH,
            "kernel memory growth per hour (console)",
            ui.mb_per_hour,
            "MB/h",
            note=f"RSS growth over {label} scaled; {ui.history_items} history items at the end",
        ),
        Row(
            BENCH,
            "console without the history table: CPU",
            no_table.cpu_percent,
            "% of a core",
            note="the table reads the history and diffs its rows a few times a second",
        ),
        Row(
            BENCH,
            "session alone: CPU per second of conversation",
            bare.cpu_percent,
            "% of a core",
            note="audio (.data read) + history_updated handlers, mic audio sent by the app",
        ),
        Row(BENCH, "session alone: memory growth per hour", bare.mb_per_hour, "MB/h"),
        Row(
            BENCH,
            "kernel -> browser comm messages/s",
            ui.to_browser / ui.seconds,
            "msg/s",
            note=f"assistant audio received: {ui.audio_in_s / ui.seconds:.2f} s per second",
        ),
        Row(BENCH, "browser -> kernel comm messages/s", ui.from_browser / ui.seconds, "msg/s"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", action="store_true", help="run the paced server (child)")
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    if args.serve:
        from bench.record import ensure_stream

        ensure_stream()  # records it on a fresh machine, before serve()'s loop starts
        asyncio.run(serve())
        return
    for row in run(seconds=args.seconds):
        print(f"{row.metric:<48} {row.value:10.3f} {row.unit}  {row.note}")


if __name__ == "__main__":
    main()
