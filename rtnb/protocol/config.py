"""Session-config builder: user config (GA nested or legacy flat) -> wire ``session`` object.

Users may write the GA nested shape (``audio.input``/``audio.output``) or the older flat fields
(``modalities``, ``input_audio_format``, ``output_audio_format``, ``input_audio_transcription``,
``turn_detection``, ``voice``, ``speed``). Both are normalised into the GA shape; ``provider_data``
is merged last so it can override anything.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from .audio import SAMPLE_RATE

DEFAULT_TRANSCRIPTION: dict[str, Any] = {"model": "gpt-4o-mini-transcribe"}
DEFAULT_TURN_DETECTION: dict[str, Any] = {"type": "semantic_vad", "interrupt_response": True}

_LEGACY_FORMATS: dict[str, dict[str, Any]] = {
    "pcm16": {"type": "audio/pcm", "rate": SAMPLE_RATE},
    "g711_ulaw": {"type": "audio/pcmu"},
    "g711_alaw": {"type": "audio/pcma"},
}

# Top-level session fields passed through unchanged.
_PASSTHROUGH = (
    "include",
    "max_output_tokens",
    "prompt",
    "tool_choice",
    "truncation",
    "parallel_tool_calls",
    "reasoning",
)


class ConfigError(ValueError):
    """A session config field has a value that cannot be put on the wire; names the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"session config field {field!r}: {message}")
        self.field = field


def audio_format(value: str | Mapping[str, Any], field: str) -> dict[str, Any]:
    """Normalise a legacy format name (``pcm16``...) or a GA format object."""
    if isinstance(value, str):
        if value in _LEGACY_FORMATS:
            return dict(_LEGACY_FORMATS[value])
        if value in ("audio/pcm", "audio/pcmu", "audio/pcma"):
            fmt: dict[str, Any] = {"type": value}
            if value == "audio/pcm":
                fmt["rate"] = SAMPLE_RATE
            return fmt
        raise ConfigError(field, f"unknown audio format {value!r}")
    if isinstance(value, Mapping) and isinstance(value.get("type"), str):
        return dict(value)
    raise ConfigError(field, "expected a format name or an object with a 'type'")


def deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``override`` into ``base`` recursively (dicts merge, other values replace)."""
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            deep_merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def _output_modalities(config: Mapping[str, Any]) -> list[str]:
    modalities = config.get("output_modalities", config.get("modalities"))
    if modalities is None:
        return ["audio"]
    if isinstance(modalities, str) or not all(isinstance(m, str) for m in modalities):
        raise ConfigError("output_modalities", "expected a list such as ['audio'] or ['text']")
    unknown = set(modalities) - {"audio", "text"}
    if unknown:
        raise ConfigError("output_modalities", f"unknown modalities {sorted(unknown)}")
    # GA accepts one modality: audio output always carries its transcript.
    return ["audio"] if "audio" in modalities else ["text"]


def tracing_config(
    *,
    disabled: bool = False,
    workflow_name: str | None = None,
    group_id: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> dict[str, Any] | str | None:
    """The wire ``tracing`` field: ``None`` (off), ``"auto"``, or a tracing object.

    The object (``workflow_name``, ``group_id``, ``metadata``; only the fields given) is used when
    any of them is given. Disabling tracing while naming a trace is contradictory: ValueError.
    """
    fields: dict[str, Any] = {
        "workflow_name": workflow_name,
        "group_id": group_id,
        "metadata": metadata,
    }
    given = {key: value for key, value in fields.items() if value is not None}
    if disabled:
        if given:
            raise ConfigError(
                "tracing", f"tracing_disabled=True contradicts {', '.join(sorted(given))}"
            )
        return None
    if "metadata" in given:
        given["metadata"] = copy.deepcopy(dict(given["metadata"]))
    return given or "auto"


def build_session_config(
    config: Mapping[str, Any] | None = None,
    *,
    model: str | None = None,
    instructions: str | None = None,
    tools: list[dict[str, Any]] | None = None,
    voice: str | None = None,
    tracing: Any = "auto",
) -> dict[str, Any]:
    """Build the wire ``session`` object of ``session.update``.

    ``config`` is the user's config; keyword arguments come from the agent and session and fill
    what the config does not set. Input transcription and ``semantic_vad`` turn detection are on by
    default (guardrails and history need transcripts).
    """
    config = dict(config or {})
    legacy_input: dict[str, Any] = {}
    legacy_output: dict[str, Any] = {}
    if "input_audio_format" in config:
        legacy_input["format"] = audio_format(config["input_audio_format"], "input_audio_format")
    if "output_audio_format" in config:
        legacy_output["format"] = audio_format(config["output_audio_format"], "output_audio_format")
    for legacy, ga in (
        ("input_audio_transcription", "transcription"),
        ("turn_detection", "turn_detection"),
        ("input_audio_noise_reduction", "noise_reduction"),
    ):
        if legacy in config:
            legacy_input[ga] = copy.deepcopy(config[legacy])
    for legacy in ("voice", "speed"):
        if legacy in config:
            legacy_output[legacy] = config[legacy]

    audio: dict[str, Any] = {
        "input": {
            "format": dict(_LEGACY_FORMATS["pcm16"]),
            "transcription": dict(DEFAULT_TRANSCRIPTION),
            "turn_detection": dict(DEFAULT_TURN_DETECTION),
        },
        "output": {"format": dict(_LEGACY_FORMATS["pcm16"])},
    }
    if voice is not None:
        audio["output"]["voice"] = voice
    deep_merge(audio["input"], legacy_input)
    deep_merge(audio["output"], legacy_output)
    nested = config.get("audio")
    if nested is not None:
        if not isinstance(nested, Mapping):
            raise ConfigError("audio", "expected an object with 'input' and/or 'output'")
        deep_merge(audio, nested)
    # A format replaces the default as a whole: merging would leak pcm's ``rate`` into G.711.
    for side, legacy_side in (("input", legacy_input), ("output", legacy_output)):
        chosen = ((nested or {}).get(side) or {}).get("format", legacy_side.get("format"))
        if chosen is not None:
            audio[side]["format"] = audio_format(chosen, f"audio.{side}.format")

    session: dict[str, Any] = {"type": "realtime"}
    if config.get("model", model) is not None:
        session["model"] = config.get("model", model)
    session["output_modalities"] = _output_modalities(config)
    session["audio"] = audio
    if config.get("instructions", instructions) is not None:
        session["instructions"] = config.get("instructions", instructions)
    session["tools"] = copy.deepcopy(config.get("tools", tools or []))
    for key in _PASSTHROUGH:
        if key in config:
            session[key] = copy.deepcopy(config[key])
    session.setdefault("tool_choice", "auto")
    session["tracing"] = config.get("tracing", tracing)
    provider_data = config.get("provider_data")
    if provider_data is not None:
        if not isinstance(provider_data, Mapping):
            raise ConfigError("provider_data", "expected an object")
        deep_merge(session, provider_data)
    return session
