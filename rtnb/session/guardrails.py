"""Output guardrails: checks on what the assistant says, run while it says it.

An :class:`OutputGuardrail` wraps a function that receives the assistant's text (the transcript
of its audio, or its text output) and returns a :class:`GuardrailFunctionOutput` (or a plain
``bool``: ``True`` trips the wire)::

    @output_guardrail
    def no_secrets(text: str) -> GuardrailFunctionOutput:
        return GuardrailFunctionOutput("password" in text.lower(), "mentions a password")

    session = RealtimeSession(agent, output_guardrails=[no_secrets])

When they run: each output item's text is accumulated from the transcript/text deltas; the
guardrails check the whole text so far each time it grows past another multiple of
``OutputGuardrailSettings.debounce_text_length`` characters (default 100), and once more on the
final text (``...transcript.done`` / ``output_text.done``) unless that exact text was checked
already. ``-1`` checks the final text only. Checks run as background tasks, one after the other
per response, so the session keeps receiving (and playing) audio while they run; sync functions
run in a worker thread.

The first trip in a response stops it: the response is cancelled if it is still active, its
audio is cut like a barge-in (``audio_interrupted``, truncation), ``guardrail_tripped`` is emitted
once, and the model is told why with a system message ("The previous answer was blocked by
guardrail ...") followed by a new response. (The OpenAI Agents SDK sends that notice as a user
message; a system message keeps the history from attributing it to the user.) Later checks of
the same response are skipped. A guardrail that raises emits an ``error`` event carrying an
:class:`OutputGuardrailError` and counts as not tripped.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

from rtnb.protocol import client_events as ce
from rtnb.protocol.events import Event

from .events import ErrorEvent, GuardrailTrippedEvent, SessionEvent

log = logging.getLogger("rtnb.session")


@dataclass(frozen=True)
class GuardrailFunctionOutput:
    """What a guardrail function returns: did it trip, and any details (shown to the model
    when a string)."""

    tripwire_triggered: bool
    output_info: Any = None


GuardrailFunction = Callable[
    [str], "GuardrailFunctionOutput | bool | Awaitable[GuardrailFunctionOutput | bool]"
]
"""``execute(text) -> GuardrailFunctionOutput | bool``, sync or async."""


@dataclass(frozen=True)
class OutputGuardrail:
    """A named check on the assistant's output text.

    ``execute(text)`` gets the text so far and returns a :class:`GuardrailFunctionOutput` or a
    ``bool`` (``True`` = tripped). It may be sync (run in a worker thread) or async.
    """

    name: str
    execute: GuardrailFunction

    async def run(self, text: str) -> GuardrailFunctionOutput:
        """Check ``text``; exceptions from ``execute`` propagate."""
        if inspect.iscoroutinefunction(self.execute):
            result = await self.execute(text)
        else:
            result = await asyncio.to_thread(self.execute, text)
            if inspect.isawaitable(result):
                result = await result
        if isinstance(result, bool):
            return GuardrailFunctionOutput(result)
        if not isinstance(result, GuardrailFunctionOutput):
            raise TypeError(
                f"output guardrail {self.name!r} returned {type(result).__name__}, "
                "expected GuardrailFunctionOutput or bool"
            )
        return result


@overload
def output_guardrail(func: GuardrailFunction, *, name: str | None = None) -> OutputGuardrail: ...


@overload
def output_guardrail(
    func: None = None, *, name: str | None = None
) -> Callable[[GuardrailFunction], OutputGuardrail]: ...


def output_guardrail(
    func: GuardrailFunction | None = None, *, name: str | None = None
) -> OutputGuardrail | Callable[[GuardrailFunction], OutputGuardrail]:
    """Make an :class:`OutputGuardrail` of a function, named after it unless ``name`` is given.

    Use as ``@output_guardrail`` or ``@output_guardrail(name="no_secrets")``.
    """

    def wrap(function: GuardrailFunction) -> OutputGuardrail:
        return OutputGuardrail(name or str(getattr(function, "__name__", "guardrail")), function)

    return wrap if func is None else wrap(func)


@dataclass(frozen=True)
class OutputGuardrailResult:
    """One guardrail's verdict on one text."""

    guardrail: OutputGuardrail
    output: GuardrailFunctionOutput
    text: str


@dataclass(frozen=True)
class OutputGuardrailSettings:
    """When output guardrails run.

    ``debounce_text_length``: check each time an item's text grows past another multiple of
    this many characters, and on the final text; ``-1`` checks the final text only.
    """

    debounce_text_length: int = 100

    def __post_init__(self) -> None:
        if self.debounce_text_length == 0 or self.debounce_text_length < -1:
            raise ValueError("debounce_text_length must be a positive number of characters or -1")

    @classmethod
    def coerce(
        cls, value: OutputGuardrailSettings | Mapping[str, Any] | None
    ) -> OutputGuardrailSettings:
        """Settings from an instance, a mapping of its fields, or ``None`` (defaults)."""
        if value is None:
            return cls()
        if isinstance(value, OutputGuardrailSettings):
            return value
        return cls(**dict(value))


class OutputGuardrailError(RuntimeError):
    """An output guardrail raised; ``__cause__`` is its exception (sent in an ``error`` event)."""

    def __init__(self, guardrail: str, error: BaseException) -> None:
        super().__init__(f"output guardrail {guardrail!r} failed: {type(error).__name__}: {error}")
        self.guardrail = guardrail
        self.__cause__ = error


def blocked_message(results: Sequence[OutputGuardrailResult]) -> str:
    """The notice that tells the model its answer was blocked, and by what."""
    reasons = []
    for result in results:
        info = result.output.output_info
        detail = f": {info}" if isinstance(info, str) and info else ""
        reasons.append(f"{result.guardrail.name}{detail}")
    return (
        f"The previous answer was blocked by guardrail {'; '.join(reasons)}. "
        "Answer again without what the guardrail objected to."
    )


@dataclass(frozen=True)
class GuardrailHooks:
    """What the runner may do to its session: all it needs, and nothing else."""

    agent_guardrails: Callable[[], Sequence[OutputGuardrail]]
    """The guardrails of the agent answering now."""
    start_task: Callable[[Coroutine[Any, Any, None], str], None]
    emit: Callable[[SessionEvent], None]
    stop_response: Callable[[str], None]
    """Cancel the response if it is still active and cut its audio if it is playing."""
    send: Callable[[Event], None]
    request_response: Callable[[], None]


@dataclass
class _ItemText:
    text: str = ""
    runs: int = 0  # debounce thresholds already checked
    last_checked: str | None = None


@dataclass
class _ResponseChecks:
    items: dict[str, _ItemText] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # FIFO: checks run in order
    tripped: bool = False


class OutputGuardrailRunner:
    """Decides when a session's output guardrails run, runs them, and stops a tripped response."""

    def __init__(
        self,
        hooks: GuardrailHooks,
        guardrails: Sequence[OutputGuardrail] = (),
        settings: OutputGuardrailSettings | Mapping[str, Any] | None = None,
    ) -> None:
        self._hooks = hooks
        self._session_guardrails = list(guardrails)
        self.settings = OutputGuardrailSettings.coerce(settings)
        self._responses: dict[str, _ResponseChecks] = {}

    @property
    def guardrails(self) -> list[OutputGuardrail]:
        """The current agent's guardrails, then the session's (each once)."""
        unique: dict[int, OutputGuardrail] = {}
        for guardrail in [*self._agent_guardrails(), *self._session_guardrails]:
            unique.setdefault(id(guardrail), guardrail)
        return list(unique.values())

    def _agent_guardrails(self) -> Sequence[OutputGuardrail]:
        return self._hooks.agent_guardrails() or ()

    def on_text(self, response_id: str, item_id: str, text: str, *, final: bool) -> None:
        """Record output words of an item: a delta, or (``final``) the whole text."""
        if not text or not (self._session_guardrails or self._agent_guardrails()):
            return  # the common case, once per delta: no guardrails to feed
        checks = self._responses.setdefault(response_id, _ResponseChecks())
        if checks.tripped:
            return
        item = checks.items.setdefault(item_id, _ItemText())
        if final:
            item.text = text
            if text != item.last_checked:
                self._check(checks, response_id, item_id, item, text)
            return
        item.text += text
        step = self.settings.debounce_text_length
        if step > 0 and len(item.text) // step > item.runs:
            item.runs = len(item.text) // step
            self._check(checks, response_id, item_id, item, item.text)

    def on_response_done(self, event: Event) -> None:
        """``response.done``: forget the response (see :meth:`response_done`)."""
        self.response_done(event["response"].get("id"))

    def response_done(self, response_id: str | None) -> None:
        """Forget a finished response (checks still running keep their own state)."""
        if response_id is not None:
            self._responses.pop(response_id, None)

    def _check(
        self,
        checks: _ResponseChecks,
        response_id: str,
        item_id: str,
        item: _ItemText,
        text: str,
    ) -> None:
        item.last_checked = text
        self._hooks.start_task(
            self._run(checks, response_id, item_id, text), "rtnb-output-guardrails"
        )

    async def _run(
        self, checks: _ResponseChecks, response_id: str, item_id: str, text: str
    ) -> None:
        async with checks.lock:
            if checks.tripped:
                return
            guardrails = self.guardrails
            outcomes = await asyncio.gather(
                *(guardrail.run(text) for guardrail in guardrails), return_exceptions=True
            )
            tripped: list[OutputGuardrailResult] = []
            for guardrail, outcome in zip(guardrails, outcomes, strict=True):
                if isinstance(outcome, Exception):
                    self._failed(guardrail, outcome)
                elif isinstance(outcome, BaseException):
                    raise outcome
                elif outcome.tripwire_triggered:
                    tripped.append(OutputGuardrailResult(guardrail, outcome, text))
            if tripped and not checks.tripped:
                checks.tripped = True
                self._stop(response_id, item_id, text, tripped)

    def _failed(self, guardrail: OutputGuardrail, error: Exception) -> None:
        log.warning("output guardrail %r raised %r", guardrail.name, error)
        self._hooks.emit(ErrorEvent(OutputGuardrailError(guardrail.name, error)))

    def _stop(
        self, response_id: str, item_id: str, text: str, results: list[OutputGuardrailResult]
    ) -> None:
        """Cancel the response, cut its audio, report the trip and tell the model."""
        hooks = self._hooks
        hooks.stop_response(response_id)
        hooks.emit(GuardrailTrippedEvent(results, item_id, response_id, text))
        notice = {
            "type": "message",
            "role": "system",
            "content": [{"type": "input_text", "text": blocked_message(results)}],
        }
        hooks.send(ce.create_item(notice))
        hooks.request_response()
