"""A server that stops reading: the session's outgoing queue stays within its bound.

A real loopback WebSocket server reads ``session.update`` and then nothing: its receive queue,
then both sockets' buffers fill, the client's sends block, and the session's own queue is all
that grows. Microphone audio queued past the bound is dropped oldest-first (one ``error`` event
says so); control events are never dropped, and arrive in order once the server reads again.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from websockets.asyncio.server import ServerConnection, serve

from rtnb import RealtimeAgent, RealtimeSession
from rtnb.session import OutgoingAudioDropped
from rtnb.session.outgoing import MAX_AUDIO_MS

CHUNK = bytes(range(256)) * 18 + bytes(192)  # 100 ms of PCM16 at 24 kHz (4,800 bytes)
CHUNK_MS = 100
CHUNKS = 5_000  # 500 s of audio, ~32 MB of JSON: far more than the socket buffers hold


async def test_a_stalled_socket_keeps_the_queue_within_its_bound() -> None:
    resume = asyncio.Event()
    committed = asyncio.Event()
    received: list[dict[str, Any]] = []

    async def stop_reading(connection: ServerConnection) -> None:
        received.append(json.loads(await connection.recv()))
        await resume.wait()
        async for message in connection:
            received.append(json.loads(message))
            if received[-1]["type"] == "input_audio_buffer.commit":
                committed.set()

    # No keepalive pings from this server: unread pongs would make it close the connection.
    server = await serve(stop_reading, "127.0.0.1", 0, max_queue=1, ping_interval=None)
    port = next(iter(server.sockets)).getsockname()[1]
    session = RealtimeSession(
        RealtimeAgent(name="a"), url=f"ws://127.0.0.1:{port}/v1/realtime", api_key="x"
    )
    reports: list[OutgoingAudioDropped] = []
    session.on(
        "error",
        lambda e: reports.append(e.error) if isinstance(e.error, OutgoingAudioDropped) else None,
    )
    try:
        await session.connect()
        for sent in range(1, CHUNKS + 1):
            session.send_audio(CHUNK)
            assert session.outgoing.audio_ms <= MAX_AUDIO_MS
            if sent == CHUNKS // 2:  # a control event queued in the stall
                session.send_message("are you still there?")
            await asyncio.sleep(0)  # a microphone's pace: the writer runs between chunks
        session.send_audio(b"", commit=True)
        stats = session.outgoing
        assert stats.dropped_audio_ms > 0
        resume.set()
        await asyncio.wait_for(committed.wait(), 60)
        await session.close()
    finally:
        resume.set()
        server.close()
        await server.wait_closed()

    kinds = [event["type"] for event in received]
    assert kinds[0] == "session.update"
    appends = kinds.count("input_audio_buffer.append")
    assert appends == CHUNKS - stats.dropped_audio_ms / CHUNK_MS  # each chunk sent or counted
    message = kinds.index("conversation.item.create")  # not dropped
    assert kinds[message + 1] == "response.create"
    assert received[message]["item"]["content"][0]["text"] == "are you still there?"
    assert kinds[-1] == "input_audio_buffer.commit"
    # Reported, but not once a chunk: once each time the queue overflowed after it had emptied.
    assert 1 <= len(reports) < stats.dropped_audio_ms / CHUNK_MS / 10
    assert sum(report.dropped_ms for report in reports) <= stats.dropped_audio_ms
