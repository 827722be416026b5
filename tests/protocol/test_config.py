"""Unit tests of rtnb.protocol.config.build_session_config (GA shape, legacy fields)."""

from __future__ import annotations

from typing import Any

import pytest

from rtnb.protocol.client_events import session_update
from rtnb.protocol.config import (
    DEFAULT_TRANSCRIPTION,
    DEFAULT_TURN_DETECTION,
    ConfigError,
    audio_format,
    build_session_config,
    deep_merge,
)
from tests.samples import WEATHER_TOOL
from tests.schema import unknown_fields, validate_client_event

PCM = {"type": "audio/pcm", "rate": 24_000}


def _check_wire(session: dict[str, Any]) -> None:
    """The session is a valid GA ``session.update`` payload with no unknown fields."""
    event = session_update(session)
    validate_client_event(event)
    assert unknown_fields(event, "client") == []


def test_defaults_are_nested_ga_shape() -> None:
    session = build_session_config()
    _check_wire(session)
    assert session["type"] == "realtime"
    assert session["output_modalities"] == ["audio"]
    assert session["audio"] == {
        "input": {
            "format": PCM,
            "transcription": DEFAULT_TRANSCRIPTION,
            "turn_detection": DEFAULT_TURN_DETECTION,
        },
        "output": {"format": PCM},
    }
    assert session["tools"] == []
    assert session["tool_choice"] == "auto"
    assert session["tracing"] == "auto"
    assert "model" not in session and "instructions" not in session
    for legacy in ("modalities", "voice", "input_audio_format", "turn_detection"):
        assert legacy not in session


def test_keyword_arguments_fill_the_session() -> None:
    session = build_session_config(
        model="gpt-realtime",
        instructions="Answer weather questions.",
        tools=[WEATHER_TOOL],
        voice="marin",
        tracing=None,
    )
    _check_wire(session)
    assert session["model"] == "gpt-realtime"
    assert session["instructions"] == "Answer weather questions."
    assert session["tools"] == [WEATHER_TOOL]
    assert session["tools"][0] is not WEATHER_TOOL
    assert session["audio"]["output"]["voice"] == "marin"
    assert session["tracing"] is None


def test_config_wins_over_keyword_arguments() -> None:
    session = build_session_config(
        {"model": "m2", "instructions": "from config", "voice": "cedar", "tools": []},
        model="m1",
        instructions="from agent",
        voice="alloy",
        tools=[WEATHER_TOOL],
    )
    _check_wire(session)
    assert session["model"] == "m2"
    assert session["instructions"] == "from config"
    assert session["audio"]["output"]["voice"] == "cedar"
    assert session["tools"] == []


def test_defaults_are_not_shared_between_calls() -> None:
    first = build_session_config()
    first["audio"]["input"]["turn_detection"]["interrupt_response"] = False
    first["audio"]["input"]["format"]["rate"] = 8000
    second = build_session_config()
    assert second["audio"]["input"]["turn_detection"] == DEFAULT_TURN_DETECTION
    assert second["audio"]["input"]["format"] == PCM
    assert DEFAULT_TURN_DETECTION["interrupt_response"] is True


@pytest.mark.parametrize(
    ("modalities", "expected"),
    [(["text"], ["text"]), (["audio"], ["audio"]), (["text", "audio"], ["audio"])],
)
def test_legacy_modalities(modalities: list[str], expected: list[str]) -> None:
    session = build_session_config({"modalities": modalities})
    _check_wire(session)
    assert session["output_modalities"] == expected
    assert "modalities" not in session


def test_output_modalities_ga_name() -> None:
    session = build_session_config({"output_modalities": ["text"]})
    _check_wire(session)
    assert session["output_modalities"] == ["text"]


def test_legacy_pcm16_formats() -> None:
    session = build_session_config({"input_audio_format": "pcm16", "output_audio_format": "pcm16"})
    _check_wire(session)
    assert session["audio"]["input"]["format"] == PCM
    assert session["audio"]["output"]["format"] == PCM
    assert "input_audio_format" not in session and "output_audio_format" not in session


def test_ga_format_names_as_strings() -> None:
    session = build_session_config(
        {"audio": {"input": {"format": "audio/pcm"}, "output": {"format": "audio/pcm"}}}
    )
    _check_wire(session)
    assert session["audio"]["input"]["format"] == PCM


@pytest.mark.parametrize(
    ("name", "wire"), [("g711_ulaw", {"type": "audio/pcmu"}), ("g711_alaw", {"type": "audio/pcma"})]
)
def test_legacy_g711_formats_have_no_rate(name: str, wire: dict[str, str]) -> None:
    session = build_session_config({"input_audio_format": name, "output_audio_format": name})
    assert session["audio"]["input"]["format"] == wire
    assert session["audio"]["output"]["format"] == wire
    _check_wire(session)


@pytest.mark.parametrize(
    ("name", "wire"), [("g711_ulaw", "audio/pcmu"), ("g711_alaw", "audio/pcma")]
)
def test_legacy_g711_format_types(name: str, wire: str) -> None:
    session = build_session_config({"input_audio_format": name, "output_audio_format": name})
    validate_client_event(session_update(session))
    assert session["audio"]["input"]["format"]["type"] == wire
    assert session["audio"]["output"]["format"]["type"] == wire


def test_audio_format_function() -> None:
    assert audio_format("pcm16", "f") == PCM
    assert audio_format("g711_ulaw", "f") == {"type": "audio/pcmu"}
    assert audio_format("audio/pcma", "f") == {"type": "audio/pcma"}
    given = {"type": "audio/pcm", "rate": 24_000}
    assert audio_format(given, "f") == given and audio_format(given, "f") is not given


def test_legacy_transcription_turn_detection_noise_reduction() -> None:
    session = build_session_config(
        {
            "input_audio_transcription": {"model": "whisper-1", "language": "en"},
            "turn_detection": {"type": "server_vad", "threshold": 0.6, "silence_duration_ms": 300},
            "input_audio_noise_reduction": {"type": "near_field"},
        }
    )
    _check_wire(session)
    audio_in = session["audio"]["input"]
    assert audio_in["transcription"] == {"model": "whisper-1", "language": "en"}
    assert audio_in["turn_detection"]["type"] == "server_vad"
    assert audio_in["turn_detection"]["threshold"] == 0.6
    assert audio_in["turn_detection"]["silence_duration_ms"] == 300
    assert audio_in["noise_reduction"] == {"type": "near_field"}
    for legacy in ("input_audio_transcription", "turn_detection", "input_audio_noise_reduction"):
        assert legacy not in session


def test_turn_detection_none_disables_vad() -> None:
    session = build_session_config({"turn_detection": None})
    _check_wire(session)
    assert session["audio"]["input"]["turn_detection"] is None


def test_legacy_voice_and_speed() -> None:
    session = build_session_config({"voice": "verse", "speed": 1.2})
    _check_wire(session)
    assert session["audio"]["output"]["voice"] == "verse"
    assert session["audio"]["output"]["speed"] == 1.2
    assert "voice" not in session and "speed" not in session


def test_nested_audio_wins_over_legacy_fields() -> None:
    session = build_session_config(
        {"voice": "verse", "audio": {"output": {"voice": "cedar"}, "input": {"format": "pcm16"}}}
    )
    _check_wire(session)
    assert session["audio"]["output"]["voice"] == "cedar"
    assert session["audio"]["input"]["format"] == PCM
    # Merging, not replacing: the defaults next to the override survive.
    assert session["audio"]["input"]["transcription"] == DEFAULT_TRANSCRIPTION


def test_passthrough_fields() -> None:
    session = build_session_config(
        {
            "max_output_tokens": 512,
            "tool_choice": "required",
            "truncation": "disabled",
            "include": ["item.input_audio_transcription.logprobs"],
            "prompt": {"id": "pmpt_123"},
        }
    )
    _check_wire(session)
    assert session["max_output_tokens"] == 512
    assert session["tool_choice"] == "required"
    assert session["truncation"] == "disabled"
    assert session["prompt"] == {"id": "pmpt_123"}


def test_provider_data_is_merged_last() -> None:
    session = build_session_config(
        {
            "voice": "verse",
            "max_output_tokens": 100,
            "provider_data": {
                "audio": {"output": {"voice": "shimmer"}, "input": {"turn_detection": None}},
                "max_output_tokens": "inf",
                "instructions": "override",
            },
        },
        instructions="agent",
        voice="alloy",
    )
    _check_wire(session)
    assert session["audio"]["output"]["voice"] == "shimmer"
    assert session["audio"]["output"]["format"] == PCM
    assert session["audio"]["input"]["turn_detection"] is None
    assert session["max_output_tokens"] == "inf"
    assert session["instructions"] == "override"
    assert "provider_data" not in session


def test_build_does_not_mutate_the_config() -> None:
    config = {
        "turn_detection": {"type": "server_vad"},
        "audio": {"output": {"voice": "cedar"}},
        "provider_data": {"audio": {"output": {"speed": 1.1}}},
    }
    snapshot = {
        "turn_detection": {"type": "server_vad"},
        "audio": {"output": {"voice": "cedar"}},
        "provider_data": {"audio": {"output": {"speed": 1.1}}},
    }
    session = build_session_config(config)
    session["audio"]["input"]["turn_detection"]["threshold"] = 0.1
    assert config == snapshot


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"input_audio_format": "mp3"}, "input_audio_format"),
        ({"output_audio_format": "wav"}, "output_audio_format"),
        ({"input_audio_format": 16000}, "input_audio_format"),
        ({"audio": {"input": {"format": "flac"}}}, "audio.input.format"),
        ({"audio": {"output": {"format": ["pcm16"]}}}, "audio.output.format"),
        ({"audio": "loud"}, "audio"),
        ({"modalities": ["video"]}, "output_modalities"),
        ({"modalities": "audio"}, "output_modalities"),
        ({"output_modalities": [1]}, "output_modalities"),
        ({"provider_data": ["x"]}, "provider_data"),
    ],
)
def test_config_error_names_the_field(config: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        build_session_config(config)
    assert info.value.field == field
    assert repr(field) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_deep_merge() -> None:
    base = {"a": {"b": 1, "c": {"d": 2}}, "e": [1]}
    override = {"a": {"c": {"d": 3, "f": 4}}, "e": [2], "g": {"h": 5}}
    result = deep_merge(base, override)
    assert result is base
    assert base == {"a": {"b": 1, "c": {"d": 3, "f": 4}}, "e": [2], "g": {"h": 5}}
    override["g"]["h"] = 6
    assert base["g"]["h"] == 5
