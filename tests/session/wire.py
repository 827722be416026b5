"""GA-shaped server events for session tests (field names as in ``openai.types.realtime``)."""

from __future__ import annotations

from typing import Any

from rtnb.protocol.audio import encode_audio
from rtnb.protocol.events import Event, new_id


def _event(kind: str, **fields: Any) -> Event:
    return {"type": kind, "event_id": new_id("event"), **fields}


def response(response_id: str, status: str, output: list[dict[str, Any]] | None = None) -> dict:
    return {
        "id": response_id,
        "object": "realtime.response",
        "status": status,
        "output": output or [],
        "conversation_id": "conv_1",
        "output_modalities": ["audio"],
    }


def response_created(response_id: str) -> Event:
    return _event("response.created", response=response(response_id, "in_progress"))


def response_done(
    response_id: str, status: str = "completed", output: list[dict[str, Any]] | None = None
) -> Event:
    return _event("response.done", response=response(response_id, status, output))


def user_audio_item(item_id: str, transcript: str | None = None) -> dict[str, Any]:
    return {
        "id": item_id,
        "object": "realtime.item",
        "type": "message",
        "role": "user",
        "status": "completed",
        "content": [{"type": "input_audio", "transcript": transcript}],
    }


def user_text_item(item_id: str, text: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "object": "realtime.item",
        "type": "message",
        "role": "user",
        "status": "completed",
        "content": [{"type": "input_text", "text": text}],
    }


def assistant_item(
    item_id: str, transcript: str | None = None, status: str = "in_progress"
) -> dict[str, Any]:
    content = [] if transcript is None else [{"type": "output_audio", "transcript": transcript}]
    return {
        "id": item_id,
        "object": "realtime.item",
        "type": "message",
        "role": "assistant",
        "status": status,
        "content": content,
    }


def function_call_item(
    item_id: str, call_id: str, name: str, arguments: str, status: str = "completed"
) -> dict[str, Any]:
    return {
        "id": item_id,
        "object": "realtime.item",
        "type": "function_call",
        "status": status,
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
    }


def item_added(item: dict[str, Any], previous_item_id: str | None = None) -> Event:
    event = _event("conversation.item.added", item=item)
    if previous_item_id is not None:
        event["previous_item_id"] = previous_item_id
    return event


def item_done(item: dict[str, Any]) -> Event:
    return _event("conversation.item.done", item=item)


def item_retrieved(item: dict[str, Any]) -> Event:
    return _event("conversation.item.retrieved", item=item)


def output_item_done(response_id: str, item: dict[str, Any], output_index: int = 0) -> Event:
    return _event(
        "response.output_item.done", response_id=response_id, output_index=output_index, item=item
    )


def item_deleted(item_id: str) -> Event:
    return _event("conversation.item.deleted", item_id=item_id)


def _part(kind: str, response_id: str, item_id: str, **fields: Any) -> Event:
    return _event(
        kind, response_id=response_id, item_id=item_id, output_index=0, content_index=0, **fields
    )


def audio_delta(response_id: str, item_id: str, pcm16: bytes) -> Event:
    return _part("response.output_audio.delta", response_id, item_id, delta=encode_audio(pcm16))


def transcript_delta(response_id: str, item_id: str, delta: str) -> Event:
    return _part("response.output_audio_transcript.delta", response_id, item_id, delta=delta)


def transcript_done(response_id: str, item_id: str, transcript: str) -> Event:
    return _part(
        "response.output_audio_transcript.done", response_id, item_id, transcript=transcript
    )


def text_delta(response_id: str, item_id: str, delta: str) -> Event:
    return _part("response.output_text.delta", response_id, item_id, delta=delta)


def arguments_done(
    response_id: str, item_id: str, call_id: str, name: str, arguments: str
) -> Event:
    return _event(
        "response.function_call_arguments.done",
        response_id=response_id,
        item_id=item_id,
        output_index=0,
        call_id=call_id,
        name=name,
        arguments=arguments,
    )


def transcription_delta(item_id: str, delta: str) -> Event:
    return _event(
        "conversation.item.input_audio_transcription.delta",
        item_id=item_id,
        content_index=0,
        delta=delta,
    )


def transcription_completed(item_id: str, transcript: str) -> Event:
    return _event(
        "conversation.item.input_audio_transcription.completed",
        item_id=item_id,
        content_index=0,
        transcript=transcript,
        usage={"type": "duration", "seconds": 1.2},
    )


def speech_started(item_id: str, audio_start_ms: int = 1000) -> Event:
    return _event(
        "input_audio_buffer.speech_started", item_id=item_id, audio_start_ms=audio_start_ms
    )


def output_audio_buffer_stopped(response_id: str) -> Event:
    return _event("output_audio_buffer.stopped", response_id=response_id)


def session_updated(turn_detection: dict[str, Any] | None) -> Event:
    return _event(
        "session.updated",
        session={
            "type": "realtime",
            "object": "realtime.session",
            "id": "sess_1",
            "model": "gpt-realtime",
            "output_modalities": ["audio"],
            "audio": {"input": {"turn_detection": turn_detection}},
        },
    )


def error(message: str, code: str = "invalid_value", event_id: str | None = None) -> Event:
    return _event(
        "error",
        error={
            "type": "invalid_request_error",
            "code": code,
            "message": message,
            "param": None,
            "event_id": event_id,
        },
    )


def pcm_ms(ms: int) -> bytes:
    """Silent PCM16 audio lasting ``ms`` milliseconds at 24 kHz."""
    return b"\x00\x00" * (24 * ms)
