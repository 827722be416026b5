"""Each expectation, passing and failing, on real runs; and the pure scoring helpers."""

from __future__ import annotations

import json
from typing import Any

import pytest

from rtnb.eval import run
from rtnb.eval.expectations import args_match, score
from rtnb.eval.facts import run_facts
from rtnb.eval.scenarios import Expectation
from rtnb.eval.stats import mcnemar_p, wilson_interval
from rtnb.eval.wer import Alignment, align_words, repeats_a_phrase, word_error_rate, word_errors

from .conftest import suite

pytestmark = pytest.mark.timeout(300)


def verdicts(result: Any) -> dict[str, tuple[bool | None, str]]:
    return {check.expectation: (check.passed, check.reason) for check in result.checks}


async def test_expectations_on_a_spoken_tool_call(shop: dict[str, Any]) -> None:
    results = await run(
        suite(
            shop,
            {
                "name": "weather",
                "turns": [{"say": "What is the weather in Paris?", "voice": "en-us+f2"}],
                "expect": [
                    {"tool": "get_weather", "args": {"city": "paris"}},
                    {"tool": "get_weather", "args": {"city": "Lyon"}},
                    {"tool": "refund_order"},
                    {"no_tool": "refund_order"},
                    {"no_tool": True},
                    {"answer_contains": "PARIS"},
                    {"answer_contains": ["sunny", "Lyon"]},
                    {"answer_matches": r"sunny in \w+\.$"},
                    {"answer_matches": "rain"},
                    {"heard": 0.25},
                    {"first_audio_within_ms": 60000},
                    {"first_audio_within_ms": 1},
                    {"no_guardrail_trip": True},
                    {"guardrail_tripped": True},
                    {"handoff_to": "billing"},
                    {"judge": "The assistant gives the weather in Paris."},
                ],
            },
        ),
        progress=False,
    )
    (result,) = results.runs
    got = verdicts(result)
    assert got["tool get_weather(city=paris)"] == (True, 'called get_weather(city="Paris")')
    assert got["tool get_weather(city=Lyon)"] == (
        False,
        'get_weather was called with other arguments: get_weather(city="Paris")',
    )
    assert got["tool refund_order"] == (
        False,
        'refund_order was not called (calls: get_weather(city="Paris"))',
    )
    assert got["no_tool 'refund_order'"][0] is True
    assert got["no_tool"] == (False, 'called get_weather(city="Paris")')
    assert got["answer_contains ['PARIS']"][0] is True
    assert got["answer_contains ['sunny', 'Lyon']"] == (
        False,
        "the answer does not contain 'Lyon' (answer: 'It is sunny in Paris.')",
    )
    assert got[r"answer_matches 'sunny in \\w+\\.$'"][0] is True
    assert got["answer_matches 'rain'"][0] is False
    assert got["heard 0.25"][0] is True, got["heard 0.25"]
    assert got["first_audio_within_ms 60000.0"][0] is True
    passed, reason = got["first_audio_within_ms 1.0"]
    assert passed is False and reason.endswith("(limit 1 ms)")
    assert got["no_guardrail_trip"] == (True, "no guardrail tripped")
    assert got["guardrail_tripped"] == (False, "a guardrail did not trip (tripped: none)")
    assert got["handoff_to 'billing'"] == (False, "no handoff to billing (handoffs: none)")
    judged, why = got["judge 'The assistant gives the weather in Paris.'"]
    assert judged is None and why.startswith("not judged")
    assert result.status == "failed" and not result.passed
    row = results.frame.iloc[0]
    assert "tool refund_order: refund_order was not called" in row["failures"]
    # Scoring is a pure function of the records: the recording scores the same.
    recorded = results.records(0)
    assert any("pcm" in r for r in recorded)  # the recording has the audio
    again = score(result.run.scenario.expect, run_facts(recorded))
    assert again == result.checks


async def test_handoff_and_guardrail_expectations(shop: dict[str, Any]) -> None:
    results = await run(
        suite(
            shop,
            {
                "name": "invoice",
                "turns": [{"type": "I have a question about my invoice"}],
                "expect": [{"handoff_to": "billing"}, {"tool": "get_weather"}],
            },
        ),
        progress=False,
    )
    got = verdicts(results.runs[0])
    assert got["handoff_to 'billing'"] == (True, "handed off to billing")
    # A scenario expecting a tool the agent does not call fails, saying so.
    assert got["tool get_weather"] == (
        False,
        "get_weather was not called (calls: transfer_to_billing())",
    )
    guarded = await run(
        suite(
            shop,
            {
                "name": "refund talk",
                "turns": [{"type": "Please refund order 7"}, {"approve": "refund_order"}],
                "expect": [
                    {"guardrail_tripped": "no_refund_talk"},
                    {"no_guardrail_trip": True},
                ],
            },
            agent="shop_agents:guarded_agent",
        ),
        progress=False,
    )
    got = verdicts(guarded.runs[0])
    assert got["guardrail_tripped 'no_refund_talk'"] == (True, "tripped: no_refund_talk")
    assert got["no_guardrail_trip"] == (False, "tripped: no_refund_talk")


def test_args_match_numbers_as_numbers_and_text_ignoring_case() -> None:
    assert args_match({"order_id": 42}, {"order_id": "42", "reason": "late"})
    assert args_match({"amount": 20}, {"amount": 20.0})
    assert args_match({"city": "paris"}, {"city": " Paris "})
    assert not args_match({"city": "Paris"}, {"town": "Paris"})
    assert not args_match({"order_id": 42}, {"order_id": 43})
    assert not args_match({"urgent": True}, {"urgent": 1})
    assert args_match({"items": ["Milk", 2]}, {"items": ["milk", "2"]})
    assert not args_match({"items": ["milk"]}, {"items": ["milk", "eggs"]})


def test_word_error_rate_in_canonical_words() -> None:
    assert word_errors("Convert $20 to yen", "convert twenty dollars to yen") == (0, 6)
    assert word_errors("what is the weather in Paris", "watching the weather in Paris") == (2, 6)
    assert word_error_rate([("a b", "a b"), ("c d", "c x")]) == 0.25
    assert word_error_rate([]) == 0.0


def test_wilson_interval_and_mcnemar() -> None:
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and 0.27 < high < 0.28  # not empty at 0 passes
    low, high = wilson_interval(8, 10)
    assert 0.49 < low < 0.50 and 0.94 < high < 0.95
    assert mcnemar_p(0, 0) == 1.0
    assert mcnemar_p(6, 0) == pytest.approx(2 / 64)
    assert mcnemar_p(3, 2) == 1.0


def test_not_judged_without_a_model() -> None:
    facts = run_facts([])
    (check,) = score([Expectation("judge", "Polite")], facts)
    assert check.passed is None and check.reason.startswith("not judged")


@pytest.mark.parametrize(("verdict", "passed"), [("PASS", True), ("FAIL", False)])
async def test_judge_grades_with_the_llm_config(
    shop: dict[str, Any], verdict: str, passed: bool
) -> None:
    from rtnb.local.policy.chat_demo import ChatScript, start_scripted_chat_server

    script = ChatScript(text=f"{verdict}\nThe assistant gave the weather in Paris.")
    async with await start_scripted_chat_server(script) as chat:
        results = await run(
            suite(
                shop,
                {
                    "name": "judged",
                    "turns": [{"type": "What is the weather in Paris?"}],
                    "expect": [{"judge": "The assistant gives the weather in Paris."}],
                },
            ),
            llm={"base_url": chat.url, "model": "judge"},
            progress=False,
        )
        request = await chat.request(0)
    (check,) = results.runs[0].checks
    assert check.passed is passed
    assert check.reason == "The assistant gave the weather in Paris."
    assert results.runs[0].status == ("passed" if passed else "failed")
    asked = json.dumps(request.body)
    assert "The assistant gives the weather in Paris." in asked
    assert "It is sunny in Paris." in asked  # the conversation was shown to the judge


def test_noise_is_seeded_at_the_asked_snr() -> None:
    import numpy as np

    from rtnb.eval.user_audio import with_noise
    from tests.spoken import spoken

    speech = spoken("What is the weather in Paris?", "en-us+f2")
    noisy = with_noise(speech, 15.0, seed=7)
    assert noisy == with_noise(speech, 15.0, seed=7) != with_noise(speech, 15.0, seed=8)
    clean = np.frombuffer(speech, "<i2").astype(float)
    noise = np.frombuffer(noisy, "<i2").astype(float) - clean
    snr = 10 * np.log10(np.mean(clean**2) / np.mean(noise**2))
    assert snr == pytest.approx(15.0, abs=0.3)


def test_alignment_counts_each_kind_of_error() -> None:
    said = "Remind me to call the dentist on Friday."
    assert align_words(said, "Remind me to call the dentist on Friday. Remind meet") == (
        Alignment(substitutions=0, deletions=0, insertions=2, reference_words=8)
    )
    assert align_words(said, "Remind me to call the dentist") == Alignment(0, 2, 0, 8)
    assert align_words("How tall is Mount Everest?", "How tall is my intent released?") == (
        Alignment(substitutions=2, deletions=0, insertions=1, reference_words=5)
    )


def test_a_phrase_said_once_and_heard_twice_is_a_repeat() -> None:
    said = "Play some jazz music in the kitchen."
    assert repeats_a_phrase(said, "play some jazz music in the kitchen play some Jazz music in")
    assert not repeats_a_phrase(said, "Play some jazz music in the kitchen.")
    assert not repeats_a_phrase("stop it stop it stop it now", "stop it stop it stop it now")
