"""Speech-to-text engines and the input-audio pipeline: choice, Whisper, bad input, speculation."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from rtnb.local.policy.numbers import canonical_words
from rtnb.local.server import LocalServer, start_local_server
from rtnb.local.speech import whisper
from rtnb.local.speech.stt import SpeechEngineError, load_stt, stt_engines_available
from rtnb.local.speech.tts import WHISPER_USER_VOICE
from rtnb.protocol.audio import bytes_for_ms, duration_ms, resample, to_bytes, to_int16
from tests.spoken import spoken
from tests.wire import WireClient

QUESTION = "What is the weather in Paris?"
TRANSCRIBED = {"type": "realtime", "audio": {"input": {"transcription": {}}}}
SERVER_VAD = {
    "type": "realtime",
    "audio": {
        "input": {
            "transcription": {},
            "turn_detection": {"type": "server_vad", "create_response": False},
        }
    },
}
MANUAL = {"type": "realtime", "audio": {"input": {"turn_detection": None, "transcription": {}}}}


def silence(ms: int) -> bytes:
    return b"\x00" * bytes_for_ms(ms)


@pytest.fixture
def engine() -> whisper.WhisperEngine:
    return whisper.load_whisper()


def test_whisper_is_the_default_where_the_speech_extra_is_installed() -> None:
    assert stt_engines_available() == ["whisper", "pocketsphinx"]
    assert load_stt().name == "whisper"
    assert load_stt("pocketsphinx").name == "pocketsphinx"


def test_whisper_hears_open_vocabulary_questions(engine: whisper.WhisperEngine) -> None:
    from rtnb.eval.wer import align_words

    heard = {
        question: engine.transcribe(silence(300) + spoken(question, "en-gb-x-rp") + silence(500))
        for question in (
            "Who wrote the novel Pride and Prejudice?",
            "Please cancel my order number four two seven.",
            "Set an alarm for six fifteen in the morning.",
        )
    }
    # tiny.en slips now and then ("six fifteen" -> "650" here, two word errors): no more.
    errors = sum(align_words(q, text).errors for q, text in heard.items())
    assert errors <= 2, heard


def test_audio_at_other_rates(engine: whisper.WhisperEngine) -> None:
    speech = to_int16(silence(300) + spoken(QUESTION, WHISPER_USER_VOICE) + silence(500))
    for rate in (16_000, 48_000):
        pcm = to_bytes(resample(speech, 24_000, rate))
        heard = engine.transcribe(pcm, sample_rate=rate)
        assert canonical_words(heard) == canonical_words(QUESTION), (rate, heard)


def test_silence_and_quiet_noise_give_no_words(engine: whisper.WhisperEngine) -> None:
    assert engine.transcribe(silence(10 * 60 * 1000)) == ""  # ten minutes, without decoding
    hiss = np.random.default_rng(1).normal(0, 60, 24_000 * 3).astype("<i2").tobytes()
    assert engine.transcribe(hiss) == ""


def test_words_whisper_places_after_the_audio_are_dropped() -> None:
    # Alignments as faster-whisper makes them: 1.5 s of audio, then Whisper going on in the
    # silence appended for the encoder ("Hello?" again from 1.9 s).
    words = [
        {"word": " Hello", "start": 0.0, "end": 0.6},
        {"word": "?", "start": 0.6, "end": 0.9},
        {"word": " Who", "start": 0.9, "end": 1.0},
        {"word": " are", "start": 1.0, "end": 1.2},
        {"word": " you", "start": 1.2, "end": 1.9},
        {"word": "?", "start": 1.9, "end": 1.9},
        {"word": " Hello", "start": 1.9, "end": 2.6},
        {"word": "?", "start": 2.6, "end": 4.0},
    ]
    assert whisper.heard_words(words, spoken_s=1.5) == "Hello? Who are you?"
    assert whisper.heard_words(words, spoken_s=3.0) == "Hello? Who are you? Hello?"
    assert whisper.heard_words(words[:1], spoken_s=0.0) == ""


def test_the_speech_ends_where_the_voice_stops_not_where_the_turn_does() -> None:
    # A CI run heard "Tell me the time in Lima Tell": Whisper placed "Tell" in the half second
    # of silence that ended the turn, inside the audio, so a guard at the audio's end kept it.
    speech = to_int16(spoken("Tell me the time in Lima.", "en-us+f2")).astype(np.float32) / 32768
    speech = np.asarray(resample(speech, 24_000, 16_000), dtype=np.float32)
    quiet = np.zeros(8_000, np.float32)  # 0.5 s
    end = whisper.speech_end_s(np.concatenate([quiet, speech, quiet]))
    spoken_end = (quiet.size + speech.size) / 16_000
    assert spoken_end - 0.1 < end <= spoken_end
    noisy = np.random.default_rng(0).normal(0, 0.05, 16_000).astype(np.float32)
    assert whisper.speech_end_s(noisy) == 1.0  # never quiet: ends where the audio does
    assert whisper.speech_end_s(np.zeros(16_000, np.float32)) == 1.0


async def test_whisper_stops_where_the_speech_stops() -> None:
    # Through server VAD, as a user's audio goes. With half a second of silence after the turn
    # Whisper went on: "Remind me to call the dentist on Friday. Remind meet", "Tell me the time
    # in Lima Tell me my time", "play some jazz music in the kitchen play some Jazz music in".
    from rtnb.eval.wer import align_words

    said = {
        "Remind me to call the dentist on Friday.": "en-us",
        "Tell me the time in Lima.": "en-us+f2",
        "Play some jazz music in the kitchen.": "en-us+f5",
    }
    async with await start_local_server(realtime_pacing=False) as server:
        client = await WireClient.open(server.url)
        await client.send({"type": "session.update", "session": SERVER_VAD})
        for question, voice in said.items():
            after = len(client.events)
            await client.send_audio(silence(300) + spoken(question, voice) + silence(1000))
            done = await client.wait_for(
                "conversation.item.input_audio_transcription.completed", after=after
            )
            assert align_words(question, done["transcript"]).insertions == 0, done["transcript"]
        await client.close()


async def test_the_default_voice_is_heard_whole_through_server_vad() -> None:
    # rtnb.speak's default voice said "Hello, who are you?": Whisper heard "Hello? Hello?" in
    # the espeak-ng voice it had, and a cut of restarts in the text made that "Hello."
    from rtnb.local.speech.tts import USER_VOICE, synthesize

    async with await start_local_server(realtime_pacing=False) as server:
        client = await WireClient.open(server.url)
        await client.send({"type": "session.update", "session": SERVER_VAD})
        for question in ("Hello, who are you?", "What is the weather in Paris?"):
            after = len(client.events)
            await client.send_audio(synthesize(question, voice=USER_VOICE) + silence(1000))
            done = await client.wait_for(
                "conversation.item.input_audio_transcription.completed", after=after
            )
            assert canonical_words(done["transcript"]) == canonical_words(question), done
        await client.close()


def test_an_altered_model_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "model"
    shutil.copytree(whisper.bundled_model_dir(), copy)
    with (copy / "model.bin").open("r+b") as f:
        f.seek(1000)
        f.write(b"\x00\x01\x02\x03")
    monkeypatch.setattr(whisper, "bundled_model_dir", lambda: copy)
    whisper._load_model.cache_clear()
    try:
        with pytest.raises(whisper.ModelFileError, match=r"model\.bin has SHA-256"):
            whisper.load_whisper()
        (copy / "model.bin").unlink()
        with pytest.raises(whisper.ModelFileError, match=r"model\.bin is missing"):
            whisper.load_whisper()
    finally:
        whisper._load_model.cache_clear()


async def test_bad_engine_options_fail_before_serving() -> None:
    with pytest.raises(SpeechEngineError, match="stt: unknown engine 'vosk'"):
        await start_local_server(stt="vosk")
    with pytest.raises(ValueError, match="vad"):
        await start_local_server(vad="loud")
    for beam in (0, 11, 2.5, "5"):
        with pytest.raises(ValueError, match="stt_beam_size"):
            await start_local_server(stt_beam_size=beam)


async def test_a_failing_engine_fails_the_transcription_not_the_session() -> None:
    def broken(pcm: bytes, rate: int, prompt: str) -> str:
        raise RuntimeError("the recogniser fell over")

    async with await start_local_server(realtime_pacing=False, stt=broken) as server:
        client = await WireClient.open(server.url)
        await client.send({"type": "session.update", "session": MANUAL})
        await client.send_audio(spoken(QUESTION, WHISPER_USER_VOICE))
        await client.send({"type": "input_audio_buffer.commit"})
        failed = await client.wait_for("conversation.item.input_audio_transcription.failed")
        assert "the recogniser fell over" in failed["error"]["message"]
        await client.send({"type": "input_audio_buffer.append", "audio": "AAAA"})
        await client.send({"type": "input_audio_buffer.clear"})
        await client.wait_for("input_audio_buffer.cleared")  # still serving
        await client.close()


async def test_ten_minutes_of_silence_commit_to_an_empty_transcript() -> None:
    async with await start_local_server(realtime_pacing=False) as server:
        client = await WireClient.open(server.url)
        await client.send({"type": "session.update", "session": MANUAL})
        minute = silence(60_000)
        for _ in range(10):
            await client.send_audio(minute, chunk_ms=5_000)
        await client.send({"type": "input_audio_buffer.commit"})
        done = await client.wait_for("conversation.item.input_audio_transcription.completed")
        assert done["transcript"] == ""
        await client.close()
        assert client.invalid == []


class Recorder:
    """A transcribe function that reports the length of the audio it was given."""

    def __init__(self) -> None:
        self.lengths: list[float] = []

    def __call__(self, pcm: bytes, rate: int, prompt: str) -> str:
        self.lengths.append(duration_ms(pcm))
        return f"{duration_ms(pcm):.0f}"


@pytest.fixture
async def recorded() -> AsyncIterator[tuple[LocalServer, Recorder]]:
    recorder = Recorder()
    async with await start_local_server(realtime_pacing=False, stt=recorder) as server:
        yield server, recorder


async def test_a_pause_that_ends_the_turn_was_transcribed_during_the_pause(
    recorded: tuple[LocalServer, Recorder],
) -> None:
    server, recorder = recorded
    client = await WireClient.open(server.url)
    await client.send({"type": "session.update", "session": TRANSCRIBED})
    speech = spoken(QUESTION, WHISPER_USER_VOICE)
    await client.send_audio(silence(300) + speech + silence(900))
    stopped = await client.wait_for("input_audio_buffer.speech_stopped")
    done = await client.wait_for("conversation.item.input_audio_transcription.completed")
    await client.close()
    assert len(recorder.lengths) == 1, "one transcription: the pause's guess"
    guessed = float(done["transcript"])
    committed_ms = stopped["audio_end_ms"]  # the turn starts at the stream start (padding)
    assert duration_ms(speech) < guessed < committed_ms


async def test_speech_after_a_pause_makes_the_guess_stale(
    recorded: tuple[LocalServer, Recorder],
) -> None:
    server, recorder = recorded
    client = await WireClient.open(server.url)
    await client.send({"type": "session.update", "session": TRANSCRIBED})
    first, second = spoken("What is the weather", WHISPER_USER_VOICE), spoken("in Paris?")
    await client.send_audio(silence(300) + first + silence(300) + second + silence(900))
    done = await client.wait_for("conversation.item.input_audio_transcription.completed")
    await client.close()
    assert len(recorder.lengths) == 2, "a guess in the inner pause, then one that covers both"
    assert float(done["transcript"]) > duration_ms(first) + 300 + duration_ms(second)
