"""8. Speech end -> first audio when a streaming chat model answers (the ``llm`` server option).

An rtnb session talks to the embedded server, whose policy is a Chat Completions model: the scripted
server of :mod:`rtnb.local.policy.chat_demo` on loopback, streaming a two-sentence answer word by
word after a first-token delay of N ms (the model "thinking"). The question is spoken at microphone
pace as in benchmark 4 (``bench.latency``), whose timing transport stamps speech end,
``speech_stopped`` and the first ``response.output_audio.delta``; the scripted server stamps when
the request arrived and when its first token went out (same clock, same process).

The target: the first audio follows the first sentence, not the whole answer, so
**first token -> first audio** stays below the TTS time of the first sentence + 100 ms for every N
(the TTS time is measured here too). Rows are medians over the measured turns (one warm-up turn
per delay is dropped).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.common import Row, check, median, timed
from bench.latency import TimingTransport, _turn

BENCH = "8 llm"
QUESTION = "What is the weather in Paris?"
FIRST = "The weather in Paris is sunny."
ANSWER = FIRST + " It will stay warm all week, with a light wind in the afternoon and clear nights."
SLACK_MS = 100.0


async def _turns(delay_ms: int, speech: bytes, turns: int) -> list[dict[str, float]]:
    from rtnb import RealtimeAgent, RealtimeSession
    from rtnb.local.policy.chat_demo import ChatScript, start_scripted_chat_server
    from rtnb.local.server import start_local_server
    from rtnb.transport import WebSocketTransport

    script = ChatScript(text=ANSWER, first_token_delay_s=delay_ms / 1000)
    config = {"audio": {"input": {"turn_detection": {"type": "server_vad"}}}}
    measured: list[dict[str, float]] = []
    async with await start_scripted_chat_server(script) as chat:
        llm = {"base_url": chat.url, "model": "scripted"}
        async with await start_local_server(realtime_pacing=False, llm=llm) as server:
            timing = TimingTransport(
                WebSocketTransport(f"{server.url}?model=rtnb-local", backend="local")
            )
            agent = RealtimeAgent(name="Weather", instructions="Answer weather questions.")
            async with RealtimeSession(agent, config=config, transport=timing) as session:
                for turn in range(turns + 1):
                    relative = await _turn(session, timing, speech)
                    request = chat.requests[-1]
                    first_audio = timing.marks.get("first_audio")
                    if turn == 0 or first_audio is None or request.first_token_at is None:
                        continue  # the warm-up turn, or an unanswered one
                    speech_end = first_audio - relative["first_audio"] / 1000
                    measured.append(
                        {
                            "first_audio": relative["first_audio"],
                            "request": (request.received_at - speech_end) * 1000,
                            "token_to_audio": (first_audio - request.first_token_at) * 1000,
                        }
                    )
    return measured


def run(quick: bool = False) -> list[Row]:
    from rtnb.local.speech.tts import USER_VOICE, synthesize

    speech = synthesize(QUESTION, voice=USER_VOICE)
    synthesize(FIRST)  # load espeak before timing it
    tts_first = [timed(lambda: synthesize(FIRST)) * 1000 for _ in range(5)]
    tts_all = [timed(lambda: synthesize(ANSWER)) * 1000 for _ in range(3)]
    budget = (median(tts_first) or 0.0) + SLACK_MS
    rows = [
        Row(BENCH, "TTS of the first sentence", median(tts_first), "ms", runs=tts_first),
        Row(BENCH, "TTS of the whole answer (for comparison)", median(tts_all), "ms", runs=tts_all),
    ]
    for delay_ms in (0, 500) if quick else (0, 250, 1000):
        measured = asyncio.run(_turns(delay_ms, speech, 2 if quick else 4))
        label = f"first token after {delay_ms} ms"

        def values(key: str, m: list[dict[str, Any]] = measured) -> list[float]:
            return [r[key] for r in m]

        to_audio = values("token_to_audio")
        rows += [
            Row(
                BENCH,
                f"first token -> first audio ({label})",
                median(to_audio),
                "ms",
                f"< {budget:.0f}",
                check(median(to_audio), "<", budget),
                f"budget: first sentence TTS + {SLACK_MS:.0f} ms",
                to_audio,
            ),
            Row(
                BENCH,
                f"speech end -> first audio ({label})",
                median(values("first_audio")),
                "ms",
                note=f"{len(measured)} turns answered",
                runs=values("first_audio"),
            ),
            Row(
                BENCH,
                f"speech end -> request at the model ({label})",
                median(values("request")),
                "ms",
                runs=values("request"),
            ),
        ]
    return rows


if __name__ == "__main__":  # python -m bench.llm
    started = time.perf_counter()
    for row in run(quick=True):
        print(f"{row.metric:<60} {row.value!s:>10} {row.unit} {row.target} {row.met}")
    print(f"{time.perf_counter() - started:.1f} s")
