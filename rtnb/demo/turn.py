"""When the terminal demo's turn is over: an answer with audio, or a reason why there is none.

The demo reports a failure as soon as the session shows it (an error event, a closed connection,
a response that failed or ended without audio) instead of waiting out a timeout.
"""

from __future__ import annotations

import asyncio
from typing import Any

STAGES: dict[str, str] = {
    "session.updated": "session configured, no speech detected yet",
    "input_audio_buffer.speech_started": "speech detected, waiting for its end",
    "input_audio_buffer.speech_stopped": "end of speech detected, waiting for the transcript",
    "conversation.item.input_audio_transcription.completed": "transcribed, waiting for a response",
    "response.created": "a response started",
    "response.done": "a response finished, waiting for the next",
}
"""Server event -> the step of the turn it shows (named when the last-resort limit expires)."""


class TurnWatch:
    """Decides when a spoken turn is over, and whether it succeeded.

    Feed it the responses as they finish (:meth:`response_done`), the ids of the responses that
    carried audio (:attr:`voiced`) and failures (:meth:`fail`); :attr:`done` is set at the first
    outcome, which is kept: :attr:`failure` is ``None`` after a spoken answer.
    """

    def __init__(self) -> None:
        self.done = asyncio.Event()
        self.failure: str | None = None
        self.voiced: set[str] = set()
        self.stage = "connecting"

    def response_done(self, response: dict[str, Any]) -> bool:
        """Judge a finished response (the ``response`` of ``response.done``); True if it answered.

        A response that calls a tool is a step (the tool runs and the next response speaks);
        one that ends otherwise must have carried audio.
        """
        status = response.get("status")
        if status != "completed":
            self.fail(f"the response ended {status}: {_status_reason(response)}")
            return False
        outputs = response.get("output") or []
        if any(isinstance(item, dict) and item.get("type") == "function_call" for item in outputs):
            return False
        if response.get("id") in self.voiced:
            self._finish(None)
            return True
        text = " ".join(_output_texts(outputs)) or "nothing"
        self.fail(f"the response had no audio (it said {text!r})")
        return False

    def fail(self, reason: str) -> None:
        """End the turn as failed, unless it is already over."""
        self._finish(reason)

    def _finish(self, failure: str | None) -> None:
        if not self.done.is_set():
            self.failure = failure
            self.done.set()


def describe_error(error: dict[str, Any] | BaseException) -> str:
    """One line for a session error: the server's message, or the exception."""
    if isinstance(error, BaseException):
        return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    message = error.get("message") or error.get("code") or error.get("type") or "unknown error"
    return str(message)


def _status_reason(response: dict[str, Any]) -> str:
    details = response.get("status_details") or {}
    error = details.get("error") if isinstance(details, dict) else None
    if isinstance(error, dict):
        return describe_error(error)
    reason = details.get("reason") if isinstance(details, dict) else None
    return str(reason or "no reason given")


def _output_texts(outputs: list[Any]) -> list[str]:
    texts = []
    for item in outputs:
        if isinstance(item, dict) and item.get("type") == "message":
            for part in item.get("content") or []:
                if isinstance(part, dict):
                    text = part.get("text") or part.get("transcript")
                    if isinstance(text, str) and text:
                        texts.append(text)
    return texts
