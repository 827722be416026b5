"""Keeps benchmark 7 (``bench/llm.py``) from rotting: one measured turn, its marks in order.

Nothing here checks speed: the target lives in the benchmark's table.
"""

from __future__ import annotations

import asyncio

from bench import llm
from rtnb.local.speech.tts import synthesize
from tests.spoken import USER_VOICE


def test_one_turn_yields_ordered_marks() -> None:
    speech = synthesize(llm.QUESTION, voice=USER_VOICE)
    [turn] = asyncio.run(llm._turns(100, speech, 1))
    assert set(turn) == {"first_audio", "request", "token_to_audio"}
    assert 0 < turn["request"] < turn["first_audio"]
    assert turn["token_to_audio"] > 0
