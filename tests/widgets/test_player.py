"""The player's Python side: batching, clear/end, played-ms reports, truncation."""

from __future__ import annotations

import asyncio

from rtnb.protocol.audio import bytes_for_ms, duration_ms
from rtnb.widgets import Player
from rtnb.widgets.bench import BenchPlayer
from tests.session import wire

from .conftest import Sent, from_browser, from_thread, until


async def test_a_burst_of_audio_goes_out_in_one_message() -> None:
    player = Player(min_interval=0.05)
    sent = Sent(player)
    chunks = [bytes([i]) * bytes_for_ms(20) for i in range(50)]  # 1 s, as fast as possible
    for piece in chunks:
        player.play(piece, "item_1")
    await sent.wait(
        lambda: sum(len(b[0]) for _, b in sent.of_type("audio")) == len(b"".join(chunks))
    )
    audio = sent.of_type("audio")
    assert len(audio) <= 2
    assert b"".join(b[0] for _, b in audio) == b"".join(chunks)
    assert all(content == {"type": "audio", "item": "item_1"} for content, _ in audio)  # no stamp
    assert player.sent_ms == duration_ms(b"".join(chunks))


async def test_streamed_audio_is_rate_limited() -> None:
    loop = asyncio.get_running_loop()
    player = Player(min_interval=0.05)
    sent = Sent(player)
    piece = b"\x01\x00" * 240  # 10 ms
    arrivals: list[float] = []

    def arrive() -> None:
        arrivals.append(loop.time())
        player.play(piece, "item_1")

    for i in range(60):  # 600 ms of audio arriving every 5 ms (later on a busy machine)
        loop.call_later(i * 0.005, arrive)
    await sent.wait(lambda: player.sent_ms >= 600 - 1e-6)
    gaps = [b - a for a, b in zip(sent.times, sent.times[1:], strict=False)]
    interval = 0.05 - 2e-3
    assert min(gaps) >= interval  # never two messages within the interval
    # Every message but the last carries audio that arrived before the last piece: at most one
    # message per interval over the time the audio really took to arrive (~300 ms: 8 messages).
    assert len(sent.messages) <= (arrivals[-1] - arrivals[0]) / interval + 2


async def test_items_stay_apart_and_in_order() -> None:
    player = Player()
    sent = Sent(player)
    player.play(b"\x01\x00" * 10, "a")
    player.play(b"\x02\x00" * 10, "b")
    player.play(b"\x03\x00" * 10, "b")
    player.end()  # sends what is queued now, then "end"
    assert [(c["type"], c.get("item")) for c, _ in sent.messages] == [
        ("audio", "a"),
        ("audio", "b"),
        ("end", None),
    ]
    assert sent.messages[1][1] == [b"\x02\x00" * 10 + b"\x03\x00" * 10]


async def test_clear_drops_queued_audio_and_tells_the_browser_at_once() -> None:
    player = Player(min_interval=10.0)
    sent = Sent(player)
    player.play(b"\x01\x00" * 10, "a")
    await sent.wait(lambda: len(sent.messages) == 1)
    player.play(b"\x02\x00" * 10, "a")  # held back by the 10 s interval
    player.clear()
    assert [c["type"] for c, _ in sent.messages] == ["audio", "clear"]
    player.end()
    assert [c["type"] for c, _ in sent.messages] == ["audio", "clear", "end"]


async def test_played_reports_from_a_subshell_thread_reach_the_session(scripted) -> None:
    session, transport = scripted
    player = Player(session)
    sent = Sent(player)
    await session.connect()
    transport.push(wire.response_created("resp_1"))
    transport.push(wire.audio_delta("resp_1", "item_1", wire.pcm_ms(1000)))
    await sent.wait(lambda: player.sent_ms == 1000)
    assert "MainThread" in sent.threads or len(sent.threads) == 1

    # The browser played 120 ms when the user spoke: the cut is where they stopped hearing it.
    from_thread(from_browser, player, {"type": "played", "item": "item_1", "ms": 120.0})
    await until(lambda: player.positions == {"item_1": 120.0})
    transport.push(wire.speech_started("item_user"))
    truncate = await transport.wait_for_sent("conversation.item.truncate")
    assert truncate["audio_end_ms"] == 120
    await sent.wait(lambda: bool(sent.of_type("clear")))
    assert player.played_ms == 120.0


async def test_malformed_reports_are_ignored() -> None:
    player = Player()
    from_browser(player, {"type": "played", "item": 3, "ms": "x"})
    from_browser(player, {"type": "played", "item": "a", "ms": "x"})
    from_browser(player, {"type": "played", "item": 3, "ms": 5})
    from_browser(player, {"type": "other"})
    # A good report last: once it counted, the malformed ones before it were handled.
    from_browser(player, {"type": "played", "item": "a", "ms": 7.0})
    await until(lambda: player.positions != {})
    assert player.positions == {"a": 7.0}


async def test_stop_waits_for_the_browser_and_drops_late_audio() -> None:
    player = Player()
    sent = Sent(player)
    player.play(b"\x01\x00" * 10, "a")
    await sent.wait(lambda: len(sent.messages) == 1)
    stopping = asyncio.ensure_future(player.stop())
    await sent.wait(lambda: bool(sent.of_type("clear")))
    assert not stopping.done()  # waits for the browser's acknowledgement
    from_thread(from_browser, player, {"type": "played", "item": "a", "ms": 0.4})
    from_thread(from_browser, player, {"type": "cleared"})
    await asyncio.wait_for(stopping, 5)
    assert player.positions == {"a": 0.4}
    player.play(b"\x01\x00" * 10, "a")  # late audio of the stopped item: dropped
    player.play(b"\x02\x00" * 10, "b")
    player.end()
    assert [(c["type"], c.get("item")) for c, _ in sent.messages] == [
        ("audio", "a"),
        ("clear", None),
        ("audio", "b"),
        ("end", None),
    ]


async def test_stop_gives_up_waiting_after_the_timeout() -> None:
    loop = asyncio.get_running_loop()
    player = Player(min_interval=10.0)
    sent = Sent(player)
    player.play(b"\x01\x00" * 10, "a")
    await sent.wait(lambda: len(sent.messages) == 1)
    player.play(b"\x02\x00" * 10, "a")  # queued behind the 10 s interval
    started = loop.time()
    # No browser answers: stop() waits its whole timeout, then returns anyway.
    await asyncio.wait_for(player.stop(timeout=0.2), 5)
    assert loop.time() - started >= 0.2 - 0.01
    assert [c["type"] for c, _ in sent.messages] == ["audio", "clear"]  # the queue was dropped
    assert player.positions == {}
    # The player still works: late audio of the stopped item is dropped, a new item plays,
    # and a late acknowledgement (the page's message) changes nothing.
    from_browser(player, {"type": "cleared"})
    player.play(b"\x01\x00" * 10, "a")
    player.play(b"\x03\x00" * 10, "b")
    player.end()
    assert [(c["type"], c.get("item")) for c, _ in sent.messages] == [
        ("audio", "a"),
        ("clear", None),
        ("audio", "b"),
        ("end", None),
    ]
    assert sent.messages[2][1] == [b"\x03\x00" * 10]


async def test_a_stop_in_the_page_drops_the_audio_still_coming_for_its_items() -> None:
    player = Player(min_interval=10.0)
    sent = Sent(player)
    player.play(b"\x01\x00" * 10, "a")
    await sent.wait(lambda: len(sent.messages) == 1)
    player.play(b"\x02\x00" * 10, "a")  # held back by the interval
    from_thread(from_browser, player, {"type": "stopped", "by": "user", "page_ms": 4})
    await until(lambda: bool(player.stops))
    assert player.stops == [{"by": "user", "page_ms": 4.0, "ack_ms": None}]
    player.play(b"\x03\x00" * 10, "a")  # late audio of the stopped item
    player.play(b"\x04\x00" * 10, "b")  # a new item plays
    player.end()
    assert [(c["type"], c.get("item")) for c, _ in sent.messages] == [
        ("audio", "a"),
        ("audio", "b"),
        ("end", None),
    ]


async def test_a_barge_in_pause_resumes_unless_the_session_confirms_it() -> None:
    player = Player(barge_in_wait=0.05)
    sent = Sent(player)
    player.play(b"\x01\x00" * 10, "a")
    from_thread(from_browser, player, {"type": "stopped", "by": "barge_in"})
    await sent.wait(lambda: bool(sent.of_type("resume")))  # nobody confirmed: play on

    player.play(b"\x01\x00" * 10, "a")
    from_browser(player, {"type": "stopped", "by": "barge_in"})
    await until(lambda: len(player.stops) == 2)
    player.clear()  # the session confirmed (audio_interrupted)
    # The loop runs its timers in deadline order: a timer set now, due after the pending resume,
    # fires only once that resume would have been sent, however slow the machine is.
    loop = asyncio.get_running_loop()
    resume_was_due = loop.create_future()
    loop.call_later(2 * player.barge_in_wait, resume_was_due.set_result, None)
    await resume_was_due
    assert len(sent.of_type("resume")) == 1
    assert sent.messages[-1][0] == {"type": "clear"}


async def test_reports_fill_the_buffer_log_underruns_and_latencies() -> None:
    player = BenchPlayer()
    sent = Sent(player)
    player.play(b"\x01\x00" * 240, "a")
    await sent.wait(lambda: bool(sent.messages))
    assert isinstance(sent.messages[0][0]["t"], float)  # kernel send time, epoch ms
    report = {"type": "played", "item": "a", "ms": 5.0, "level_ms": 80.0, "target_ms": 120.0}
    from_thread(from_browser, player, report)
    underrun = {"type": "underrun", "item": "a", "played_ms": 5.0, "target_ms": 120.0}
    from_thread(from_browser, player, underrun | {"late_ms": 150.0})
    # With stamped audio, the played reports carry [send -> played, send -> page, late, target,
    # output] per message; malformed rows are dropped.
    rows = [[90, 20, 30, 120, 42], "x", [1, 2, 3, 4], [1, "x", 3, 4, 5]]
    from_thread(from_browser, player, report | {"ms": 6.0, "latency": rows})
    await until(lambda: bool(player.latencies and player.underrun_log and player.buffer_log))
    assert (player.buffer_ms, player.target_ms) == (80.0, 120.0)
    frame = player.buffer_frame()
    assert frame[["item", "played_ms", "buffer_ms", "target_ms"]].values.tolist() == [
        ["a", 5.0, 80.0, 120.0],
        ["a", 6.0, 80.0, 120.0],
    ]
    assert player.underrun_log[0]["late_ms"] == 150.0
    assert player.latencies == [90.0]
    assert player.delivery_log == [
        {"to_page_ms": 20.0, "late_ms": 30.0, "target_ms": 120.0, "output_ms": 42.0}
    ]


async def test_the_console_lets_the_page_stop_its_player() -> None:
    from rtnb.widgets import console

    class Idle:
        status = "disconnected"
        connected = False

        def on(self, *_: object) -> None: ...

    ui = console(Idle(), history=False, approvals=False)
    assert ui.player.stop_class in ui.interrupt_button._dom_classes
    assert ui.mic.barge_in_player == ui.player._uid
