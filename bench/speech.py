"""9. Offline speech recognition: accuracy and cost per engine, on voices it was not tuned to.

Everyday open-vocabulary questions are spoken at run time by espeak-ng in several voices (and
the neural voice when the ``speech`` extra has one), one voice also under white noise at 10 dB
SNR, each padded with 300 ms of silence on both sides as the server's VAD hands a turn over.
Every engine available here transcribes every clip with a generic prompt (no tools, nothing
about the questions), as a new user's session would. Transcripts are compared in the canonical
form of :func:`rtnb.local.numbers.canonical_words` ("$20" = "twenty dollars").

Rows: word error rate and exact sentences per engine (all voices, then per voice); median
seconds per utterance and real-time factor; model load time. Whisper runs with its default beam
(5) and, side by side, greedy (``stt_beam_size=1``). The turn latency on the server
(speech end -> transcript -> first audio) is benchmark 4's, per engine.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from bench.common import Row, check, median
from rtnb.eval.wer import word_errors

BENCH = "9 speech"
PROMPT = "You are a helpful assistant. Answer briefly."
SENTENCES = (
    "Who wrote the novel Pride and Prejudice?",
    "Please cancel my order number four two seven.",
    "Tell me the time in Lima.",
    "Convert twenty dollars to yen.",
    "How tall is Mount Everest?",
    "Book a table for two at seven thirty tonight.",
    "What is the capital of Australia?",
    "Remind me to call the dentist on Friday.",
    "What is the weather in Paris?",
    "Play some jazz music in the kitchen.",
    "How many days are there in a leap year?",
    "Translate good morning into Spanish.",
    "Send a message to my sister saying I am late.",
    "What is the square root of sixty four?",
    "Turn off the lights in the living room.",
    "When does the next train to Boston leave?",
    "Add milk and eggs to my shopping list.",
    "How do I make a cup of green tea?",
    "Is it going to snow in Chicago tomorrow?",
    "Read me the latest news about football.",
    "What is the phone number of the pharmacy?",
    "Set an alarm for six fifteen in the morning.",
    "How far is the moon from the earth?",
    "Find a good Italian restaurant nearby.",
)
ESPEAK_VOICES = ("en-us+m3", "en-gb-x-rp", "en-us", "en-us+f2", "en-us+f5")
NOISE_VOICE = "en-us+m3"
NOISE_SNR_DB = 10.0
WER_TARGET = 0.10


def _with_noise(pcm: bytes, snr_db: float, seed: int) -> bytes:
    speech = np.frombuffer(pcm, "<i2").astype(np.float64)
    power = float(np.mean(speech**2)) or 1.0
    noise = np.random.default_rng(seed).normal(
        0.0, np.sqrt(power / 10 ** (snr_db / 10)), speech.size
    )
    return np.clip(np.rint(speech + noise), -32768, 32767).astype("<i2").tobytes()


def _clips(quick: bool) -> dict[str, list[tuple[str, bytes]]]:
    """Spoken sentences per voice label."""
    from rtnb.local import tts

    pad = b"\x00" * (24 * 2 * 300)
    sentences = SENTENCES[:8] if quick else SENTENCES
    voices: dict[str, Any] = {
        v: {"voice": v} for v in (ESPEAK_VOICES[:3] if quick else ESPEAK_VOICES)
    }
    if "piper" in getattr(tts, "tts_engines_available", lambda: [])():
        voices["piper"] = {"voice": "alloy", "engine": "piper"}
    clips: dict[str, list[tuple[str, bytes]]] = {}
    for label, options in voices.items():
        clips[label] = [(s, pad + tts.synthesize(s, **options) + pad) for s in sentences]
    clips[f"{NOISE_VOICE} + white noise {NOISE_SNR_DB:.0f} dB"] = [
        (s, _with_noise(pcm, NOISE_SNR_DB, seed))
        for seed, (s, pcm) in enumerate(clips[NOISE_VOICE])
    ]
    return clips


def _engine_rows(
    engine_name: str, clips: dict[str, list[tuple[str, bytes]]], beam_size: int | None = None
) -> list[Row]:
    from rtnb.local.stt import load_stt
    from rtnb.local.whisper import DEFAULT_BEAM_SIZE

    name = engine_name if beam_size is None else f"{engine_name}, beam {beam_size}"
    started = time.perf_counter()
    engine = load_stt(engine_name, beam_size=beam_size or DEFAULT_BEAM_SIZE)
    engine.prepare(PROMPT)
    load_s = time.perf_counter() - started
    errors = words = exact = total = 0
    seconds: list[float] = []
    rtf: list[float] = []
    per_voice: list[Row] = []
    worst: list[str] = []
    for voice, pairs in clips.items():
        v_errors = v_words = v_exact = 0
        for sentence, pcm in pairs:
            t0 = time.perf_counter()
            heard = engine.transcribe(pcm, 24_000, PROMPT)
            elapsed = time.perf_counter() - t0
            seconds.append(elapsed)
            rtf.append(elapsed / (len(pcm) / 48_000))
            e, n = word_errors(sentence, heard)
            v_errors, v_words, v_exact = v_errors + e, v_words + n, v_exact + (e == 0)
            if e and len(worst) < 2:
                worst.append(f"{sentence!r} -> {heard!r}")
        errors, words, exact, total = (
            errors + v_errors,
            words + v_words,
            exact + v_exact,
            total + len(pairs),
        )
        per_voice.append(
            Row(
                BENCH,
                f"{name}: WER, {voice}",
                v_errors / v_words,
                "",
                note=f"{v_exact}/{len(pairs)} exact",
            )
        )
    wer = errors / words
    return [
        Row(
            BENCH,
            f"{name}: word error rate, {len(clips)} voices",
            wer,
            "",
            "" if beam_size else f"<= {WER_TARGET}",
            None if beam_size else check(wer, "<=", WER_TARGET),
            f"{exact}/{total} sentences exact; e.g. {'; '.join(worst)}",
        ),
        *per_voice,
        Row(BENCH, f"{name}: seconds per utterance (median)", median(seconds), "s", runs=seconds),
        Row(BENCH, f"{name}: real-time factor (median)", median(rtf), "x real time", runs=rtf),
        Row(BENCH, f"{name}: model load + prepare", load_s, "s"),
    ]


def run(quick: bool = False) -> list[Row]:
    from rtnb.local.stt import stt_engines_available

    clips = _clips(quick)
    rows: list[Row] = []
    for name in stt_engines_available():
        rows += _engine_rows(name, clips)
        if name == "whisper":  # the greedy decoding, side by side with the default beam
            rows += _engine_rows(name, clips, beam_size=1)
    return rows
