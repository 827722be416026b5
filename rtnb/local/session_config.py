"""The local server's view of a session's configuration: defaults and ``session.update`` checks.

The server keeps the session as the GA wire object it reports in ``session.created`` and
``session.updated``. An update is merged into a copy and checked as a whole, so a rejected update
leaves the session unchanged; every rejection names the offending field.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping
from typing import Any

from rtnb.local.speech.tts import VOICES
from rtnb.protocol.audio import SAMPLE_RATE
from rtnb.protocol.config import deep_merge
from rtnb.protocol.events import ProtocolError, new_id
from rtnb.protocol.mcp import mcp_tool_problem, redact_mcp_secrets

Session = dict[str, Any]

DEFAULT_MODEL = "rtnb-local"
SESSION_LIFETIME_S = 60 * 60

_TURN_DETECTION_DEFAULTS: dict[str, dict[str, Any]] = {
    "server_vad": {
        "threshold": 0.5,
        "prefix_padding_ms": 300,
        "silence_duration_ms": 500,
        "idle_timeout_ms": None,
        "create_response": True,
        "interrupt_response": True,
    },
    "semantic_vad": {"eagerness": "auto", "create_response": True, "interrupt_response": True},
}
_TOOL_CHOICES = ("auto", "none", "required")


def default_session(model: str | None = None) -> Session:
    """The session a new connection starts with (as reported in ``session.created``)."""
    return {
        "type": "realtime",
        "object": "realtime.session",
        "id": new_id("sess"),
        "model": model or DEFAULT_MODEL,
        "expires_at": int(time.time()) + SESSION_LIFETIME_S,
        "output_modalities": ["audio"],
        "instructions": "",
        "tools": [],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
        "tracing": None,
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": SAMPLE_RATE},
                "transcription": None,
                "noise_reduction": None,
                "turn_detection": {"type": "server_vad", **_TURN_DETECTION_DEFAULTS["server_vad"]},
            },
            "output": {
                "format": {"type": "audio/pcm", "rate": SAMPLE_RATE},
                "voice": "alloy",
                "speed": 1.0,
            },
        },
    }


def apply_update(session: Session, update: Any) -> Session:
    """Return ``session`` with ``update`` merged in; raise :class:`ProtocolError` if invalid.

    ``None`` clears a field (e.g. ``turn_detection: null`` turns server VAD off). The input is not
    modified.
    """
    if not isinstance(update, Mapping):
        raise ProtocolError("'session' must be an object", param="session")
    if update.get("type", "realtime") != "realtime":
        raise ProtocolError(
            "the local server supports only realtime sessions (type 'realtime')",
            param="session.type",
        )
    merged = copy.deepcopy(session)
    update = dict(update)
    turn_detection = _pop_nested(update, ("audio", "input", "turn_detection"))
    tools = update.pop("tools", None)
    deep_merge(merged, update)
    if turn_detection is not _MISSING:
        merged["audio"]["input"]["turn_detection"] = _turn_detection(turn_detection)
    if tools is not None:
        merged["tools"] = _tools(tools)
    _check(merged)
    return merged


_MISSING = object()


def _pop_nested(update: dict[str, Any], path: tuple[str, ...]) -> Any:
    """Remove ``update[a][b][c]`` (copying the dicts on the way) and return it, or ``_MISSING``."""
    node = update
    for key in path[:-1]:
        child = node.get(key)
        if not isinstance(child, Mapping):
            return _MISSING
        node[key] = node = dict(child)
    return node.pop(path[-1], _MISSING)


def _turn_detection(value: Any) -> dict[str, Any] | None:
    """Fill a turn-detection object with the defaults of its type (replacing, not merging)."""
    field = "session.audio.input.turn_detection"
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ProtocolError("turn_detection must be an object or null", param=field)
    kind = value.get("type", "server_vad")
    if kind not in _TURN_DETECTION_DEFAULTS:
        raise ProtocolError(
            f"unknown turn detection type {kind!r}; use 'server_vad' or 'semantic_vad'",
            param=f"{field}.type",
        )
    result = {"type": kind, **_TURN_DETECTION_DEFAULTS[kind], **value}
    threshold = result.get("threshold")
    if threshold is not None and not (
        isinstance(threshold, int | float) and 0.0 <= threshold <= 1.0
    ):
        raise ProtocolError("threshold must be a number from 0 to 1", param=f"{field}.threshold")
    for name in ("prefix_padding_ms", "silence_duration_ms", "idle_timeout_ms"):
        ms = result.get(name)
        if ms is not None and (not isinstance(ms, int) or isinstance(ms, bool) or ms < 0):
            raise ProtocolError(f"{name} must be a whole number >= 0", param=f"{field}.{name}")
    if result.get("eagerness", "auto") not in ("low", "medium", "high", "auto"):
        raise ProtocolError(
            "eagerness must be 'low', 'medium', 'high' or 'auto'", param=f"{field}.eagerness"
        )
    return result


def _tools(tools: Any) -> list[dict[str, Any]]:
    if not isinstance(tools, list):
        raise ProtocolError("tools must be a list", param="session.tools")
    names: set[str] = set()
    labels: set[str] = set()
    checked = []
    for index, tool in enumerate(tools):
        field = f"session.tools[{index}]"
        if not isinstance(tool, Mapping):
            raise ProtocolError("each tool must be an object", param=field)
        kind = tool.get("type", "function")
        if kind == "mcp":
            problem = mcp_tool_problem(tool)
            if problem is not None:
                raise ProtocolError(problem[1], param=f"{field}.{problem[0]}")
            if tool["server_label"] in labels:
                raise ProtocolError(
                    f"duplicate MCP server_label {tool['server_label']!r}",
                    param=f"{field}.server_label",
                )
            labels.add(tool["server_label"])
            checked.append(dict(tool))
            continue
        if kind != "function":
            raise ProtocolError(f"unknown tool type {kind!r}", param=f"{field}.type")
        name = tool.get("name")
        if not isinstance(name, str) or not name:
            raise ProtocolError("a function tool needs a 'name'", param=f"{field}.name")
        if name in names:
            raise ProtocolError(f"duplicate tool name {name!r}", param=f"{field}.name")
        names.add(name)
        parameters = tool.get("parameters", {"type": "object", "properties": {}})
        if not isinstance(parameters, Mapping):
            raise ProtocolError(
                "parameters must be a JSON schema object", param=f"{field}.parameters"
            )
        checked.append({**tool, "type": "function", "parameters": dict(parameters)})
    return checked


def _check(session: Session) -> None:
    modalities = session.get("output_modalities")
    if not isinstance(modalities, list) or not modalities or len(modalities) > 1:
        raise ProtocolError(
            "output_modalities must be ['audio'] or ['text']", param="session.output_modalities"
        )
    if modalities[0] not in ("audio", "text"):
        raise ProtocolError(
            f"unknown output modality {modalities[0]!r}", param="session.output_modalities"
        )
    if not isinstance(session.get("instructions"), str):
        raise ProtocolError("instructions must be a string", param="session.instructions")
    choice = session.get("tool_choice")
    if not (choice in _TOOL_CHOICES or isinstance(choice, Mapping)):
        raise ProtocolError(
            "tool_choice must be 'auto', 'none', 'required' or a function choice",
            param="session.tool_choice",
        )
    audio = session.get("audio")
    if not isinstance(audio, Mapping):
        raise ProtocolError("audio must be an object", param="session.audio")
    for side in ("input", "output"):
        fmt = (audio.get(side) or {}).get("format") or {}
        if fmt.get("type") != "audio/pcm" or fmt.get("rate", SAMPLE_RATE) != SAMPLE_RATE:
            raise ProtocolError(
                "the local server supports only 24 kHz PCM16 audio ({'type': 'audio/pcm', "
                "'rate': 24000})",
                param=f"session.audio.{side}.format",
            )
    output = audio.get("output") or {}
    voice = output.get("voice", "alloy")
    if not isinstance(voice, str) or voice.lower() not in VOICES:
        raise ProtocolError(
            f"unknown voice {voice!r}; choose one of {sorted(VOICES)}",
            param="session.audio.output.voice",
        )
    speed = output.get("speed", 1.0)
    if not isinstance(speed, int | float) or not 0.25 <= speed <= 1.5:
        raise ProtocolError("speed must be from 0.25 to 1.5", param="session.audio.output.speed")


def reported_session(session: Session) -> Session:
    """A copy of ``session`` for ``session.updated``: MCP headers and tokens redacted."""
    reported = copy.deepcopy(session)
    reported["tools"] = redact_mcp_secrets(reported.get("tools"))
    return reported


def vocabulary_texts(session: Session) -> list[str]:
    """Texts the speech recogniser should expect: instructions and tool names/descriptions."""
    texts = [session.get("instructions") or ""]
    for tool in session.get("tools") or []:
        texts.append(str(tool.get("name", "")))
        texts.append(str(tool.get("description", "")))
    return [t for t in texts if t]
