"""Builders for the client events a session sends (GA shapes)."""

from __future__ import annotations

from typing import Any

from .audio import encode_audio
from .events import Event


def session_update(session: dict[str, Any]) -> Event:
    """``session.update`` carrying a full wire ``session`` object."""
    return {"type": "session.update", "session": session}


def append_audio(pcm16: bytes) -> Event:
    """``input_audio_buffer.append`` with base64 PCM16 audio."""
    return {"type": "input_audio_buffer.append", "audio": encode_audio(pcm16)}


def commit_audio() -> Event:
    """``input_audio_buffer.commit``."""
    return {"type": "input_audio_buffer.commit"}


def clear_audio() -> Event:
    """``input_audio_buffer.clear``."""
    return {"type": "input_audio_buffer.clear"}


def user_message(text: str) -> Event:
    """``conversation.item.create`` with a user text message."""
    return create_item(
        {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": text}],
        }
    )


def create_item(item: dict[str, Any], previous_item_id: str | None = None) -> Event:
    """``conversation.item.create`` for any wire item."""
    event: Event = {"type": "conversation.item.create", "item": item}
    if previous_item_id is not None:
        event["previous_item_id"] = previous_item_id
    return event


def function_call_output(call_id: str, output: str) -> Event:
    """``conversation.item.create`` answering a function call."""
    return create_item({"type": "function_call_output", "call_id": call_id, "output": output})


def delete_item(item_id: str) -> Event:
    """``conversation.item.delete``."""
    return {"type": "conversation.item.delete", "item_id": item_id}


def truncate_item(item_id: str, audio_end_ms: int, content_index: int = 0) -> Event:
    """``conversation.item.truncate`` at ``audio_end_ms`` of the item's audio."""
    return {
        "type": "conversation.item.truncate",
        "item_id": item_id,
        "content_index": content_index,
        "audio_end_ms": int(audio_end_ms),
    }


def create_response(response: dict[str, Any] | None = None) -> Event:
    """``response.create``, optionally with per-response overrides."""
    event: Event = {"type": "response.create"}
    if response:
        event["response"] = response
    return event


def cancel_response(response_id: str | None = None) -> Event:
    """``response.cancel``."""
    event: Event = {"type": "response.cancel"}
    if response_id:
        event["response_id"] = response_id
    return event


def clear_output_audio() -> Event:
    """``output_audio_buffer.clear`` (WebRTC/SIP playback buffers)."""
    return {"type": "output_audio_buffer.clear"}
