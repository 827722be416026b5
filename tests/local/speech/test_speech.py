"""The local speech components for real: espeak-ng speaks, pocketsphinx listens."""

from __future__ import annotations

import numpy as np
import pytest

from rtnb.local.speech.sphinx import Transcriber, normalize_sentences
from rtnb.local.speech.tts import (
    SPHINX_USER_VOICE,
    VOICES,
    split_sentences,
    synthesize,
    synthesize_sentences,
)
from rtnb.protocol.audio import SAMPLE_RATE, duration_ms, to_int16
from tests.spoken import spoken

DOMAIN = [
    "You answer questions about the weather. Use the get weather tool.",
    "get_weather",
    "Return the weather for a city.",
    "book_table: Book a table at a restaurant for a number of people.",
]
UTTERANCES = [
    "What is the weather in Paris?",
    "What is the weather in London?",
    "What is the weather like in Tokyo?",
    "How is the weather in New York?",
    "What is the temperature in Berlin?",
    "What is the weather in Madrid?",
    "Hello, how are you?",
    "What time is it?",
    "Thank you very much.",
    "Set a timer for five minutes.",
    "Good morning.",
    "Can you help me?",
]


def words(text: str) -> str:
    return " ".join(normalize_sentences([text]))


@pytest.fixture(scope="module")
def transcriber() -> Transcriber:
    return Transcriber(DOMAIN)


def test_synthesize_gives_24khz_speech_of_plausible_length() -> None:
    pcm = synthesize("What is the weather in Paris?")
    samples = to_int16(pcm)
    assert 800 < duration_ms(pcm) < 3000
    assert np.abs(samples).max() > 3000, "speech should be loud enough to hear"
    spectrum = np.abs(np.fft.rfft(samples.astype(float)))
    freqs = np.fft.rfftfreq(samples.size, 1 / SAMPLE_RATE)
    voiced = spectrum[(freqs > 80) & (freqs < 4000)].sum()
    assert voiced > 0.7 * spectrum.sum(), "energy should sit in the speech band"


def test_speed_and_voice_change_the_audio() -> None:
    # espeak-ng, as this module says: piper's timing is random (its speed: test_piper.py)
    normal = synthesize("Testing one two three", engine="espeak")
    fast = synthesize("Testing one two three", speed=1.5, engine="espeak")
    assert duration_ms(fast) < 0.85 * duration_ms(normal)
    coral = synthesize("Testing", voice="coral", engine="espeak")
    assert coral != synthesize("Testing", voice="echo", engine="espeak")
    assert set(VOICES) >= {"alloy", "coral", "marin", "cedar"}


def test_bad_voice_speed_and_blank_text() -> None:
    with pytest.raises(ValueError, match="unknown voice"):
        synthesize("hi", voice="no-such-voice")
    with pytest.raises(ValueError, match="speed"):
        synthesize("hi", speed=0)
    assert synthesize("   ") == b""


def test_sentences_are_split_and_spoken_one_by_one() -> None:
    assert split_sentences("One. Two! Three?\nFour") == ["One.", "Two!", "Three?", "Four"]
    spoken = list(synthesize_sentences("It is sunny. Take a hat."))
    assert [s for s, _ in spoken] == ["It is sunny.", "Take a hat."]
    assert all(duration_ms(pcm) > 300 for _, pcm in spoken)


def test_normalize_sentences_splits_identifiers_and_spells_numbers() -> None:
    assert normalize_sentences(["get_weather: Return it.", "bookTable for 21"]) == [
        "get weather",
        "return it",
        "book table for twenty one",
    ]
    assert normalize_sentences(["the zyzzq cat"], known={"the", "cat"}) == ["the", "cat"]


def test_recogniser_hears_the_user_voice(transcriber: Transcriber) -> None:
    exact = [
        u for u in UTTERANCES if transcriber.transcribe(spoken(u, SPHINX_USER_VOICE)) == words(u)
    ]
    # Measured 12 of 12 on 2026-11-25; a regression in TTS, resampling or the LM drops it fast.
    assert len(exact) >= 10, sorted(set(UTTERANCES) - set(exact))


def test_domain_words_come_from_the_vocabulary(transcriber: Transcriber) -> None:
    assert {"weather", "table", "restaurant"} <= transcriber.words
    transcriber.set_vocabulary([*DOMAIN, "Ask about the zanzibar archipelago."])
    assert "zanzibar" in transcriber.words
    heard = transcriber.transcribe(spoken("What is the weather in Zanzibar?", SPHINX_USER_VOICE))
    assert heard.endswith("zanzibar")
    transcriber.set_vocabulary(DOMAIN)


def test_silence_gives_no_words(transcriber: Transcriber) -> None:
    assert transcriber.transcribe(b"\x00" * SAMPLE_RATE) == ""
