"""A response policy backed by any OpenAI-compatible Chat Completions model, streamed.

:meth:`ChatPolicy.stream` sends the conversation (see :mod:`rtnb.local.policy.chat_messages`) with
``stream=True`` through the ``openai`` package's async client and yields what comes back as
:class:`TextDelta`, :class:`ToolCallDelta` and a final :class:`Finished`. Every failure (server
unreachable, HTTP 4xx/5xx, timeout, a broken stream) is raised as :class:`LlmError`, with a
message that names the server and never holds the key. Closing the generator (or cancelling the
task that reads it) closes the HTTP stream at once.

The responder streams these deltas as Realtime events (:mod:`rtnb.local.policy.chat_responder`).
Called like any policy, a :class:`ChatPolicy` collects the whole answer into a :class:`Say` or a
:class:`CallTool` instead.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from typing import Any

from rtnb.local.policy.chat_messages import chat_messages, chat_tool_choice, chat_tools
from rtnb.local.policy.deterministic import CallTool, PolicyInput, Reply, Say
from rtnb.local.policy.llm_config import LlmConfig

__all__ = ["ChatPolicy", "Finished", "LlmError", "TextDelta", "ToolCallDelta", "chat_request"]


@dataclass(frozen=True)
class TextDelta:
    """More of the answer's text."""

    text: str


@dataclass(frozen=True)
class ToolCallDelta:
    """A piece of the tool call number ``index``: its name comes first, arguments in pieces."""

    index: int
    name: str | None
    arguments: str


@dataclass(frozen=True)
class Finished:
    """The model's ``finish_reason`` (``"stop"``, ``"tool_calls"``, ``"length"``, ...)."""

    reason: str | None


ChatDelta = TextDelta | ToolCallDelta | Finished


class LlmError(Exception):
    """The model server failed; ``code`` is e.g. ``llm_unreachable`` or ``llm_timeout``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def chat_request(
    turn: PolicyInput, session: Mapping[str, Any] | None, config: LlmConfig
) -> dict[str, Any]:
    """The keyword arguments of ``chat.completions.create`` for this turn (without ``stream``).

    The session's ``tool_choice``, ``max_output_tokens`` (as ``max_tokens``, which local model
    servers know) and ``temperature`` are passed on.
    """
    session = session or {}
    request: dict[str, Any] = {
        "model": config.model,
        "messages": chat_messages(turn.items, turn.instructions),
    }
    tools = chat_tools(turn.tools)
    choice = chat_tool_choice(session.get("tool_choice", "auto"))
    if tools and choice != "none":
        request["tools"] = tools
        if choice is not None:
            request["tool_choice"] = choice
    limit = session.get("max_output_tokens")
    if isinstance(limit, int) and not isinstance(limit, bool):
        request["max_tokens"] = limit
    temperature = session.get("temperature", config.temperature)
    if isinstance(temperature, int | float) and not isinstance(temperature, bool):
        request["temperature"] = temperature
    return request


class ChatPolicy:
    """Streams answers from the chat model of ``config`` (one HTTP client, opened lazily)."""

    def __init__(self, config: LlmConfig) -> None:
        self.config = config
        self._client: Any = None  # openai.AsyncOpenAI

    def __repr__(self) -> str:
        return f"ChatPolicy(model={self.config.model!r}, base_url={self.config.safe_url!r})"

    def _openai(self) -> Any:
        if self._client is None:
            try:
                import openai
            except ImportError as exc:
                raise LlmError(
                    "llm_unavailable",
                    "the chat-model policy needs the openai package: pip install 'rtnb[llm]'",
                ) from exc
            self._client = openai.AsyncOpenAI(
                api_key=self.config.key,
                base_url=self.config.base_url,
                timeout=self.config.timeout_s,
                max_retries=self.config.max_retries,
            )
        return self._client

    async def stream(
        self, turn: PolicyInput, session: Mapping[str, Any] | None = None
    ) -> AsyncGenerator[ChatDelta, None]:
        """Ask the model about ``turn`` and yield its answer as it streams in."""
        request = chat_request(turn, session, self.config)
        client = self._openai()
        try:
            stream = await client.chat.completions.create(**request, stream=True)
        except Exception as exc:
            raise self._error(exc) from None
        try:
            async for chunk in stream:
                for delta in _deltas(chunk):
                    yield delta
        except Exception as exc:
            raise self._error(exc) from None
        finally:
            await stream.close()

    async def __call__(self, turn: PolicyInput) -> Reply:
        """The whole answer at once: the first tool call, else the text."""
        text: list[str] = []
        calls: dict[int, tuple[str | None, str]] = {}
        async for delta in self.stream(turn):
            if isinstance(delta, TextDelta):
                text.append(delta.text)
            elif isinstance(delta, ToolCallDelta):
                name, arguments = calls.get(delta.index, (None, ""))
                calls[delta.index] = (name or delta.name, arguments + delta.arguments)
        if calls:
            name, arguments = calls[min(calls)]
            return CallTool(str(name), parse_arguments(str(name), arguments))
        return Say("".join(text).strip())

    async def aclose(self) -> None:
        """Close the HTTP client (its open connections)."""
        if self._client is not None:
            await self._client.close()
            self._client = None

    def _error(self, exc: Exception) -> LlmError:
        import openai

        where = f"the model server at {self.config.safe_url}"
        if isinstance(exc, LlmError):
            return exc
        if isinstance(exc, openai.APITimeoutError):
            error = LlmError(
                "llm_timeout", f"{where} did not answer within {self.config.timeout_s:g} s"
            )
        elif isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__ or exc
            error = LlmError("llm_unreachable", f"cannot reach {where}: {cause}")
        elif isinstance(exc, openai.APIStatusError):
            error = LlmError(
                "llm_http_error",
                f"{where} answered HTTP {exc.status_code}: {_status_message(exc)}",
            )
        elif isinstance(exc, openai.APIError):
            error = LlmError("llm_error", f"{where} reported an error: {exc.message}")
        else:
            error = LlmError(
                "llm_bad_response", f"{where} sent an unreadable answer: {type(exc).__name__}"
            )
        if self.config.api_key:
            error.message = error.message.replace(self.config.api_key, "***")
            error.args = (error.message,)
        return error


def _status_message(exc: Any) -> str:
    body = exc.body
    if isinstance(body, Mapping):
        error = body.get("error", body)
        message = error.get("message") if isinstance(error, Mapping) else error
        if message:
            return str(message)[:300]
    return str(exc.message)[:300]


def _deltas(chunk: Any) -> list[ChatDelta]:
    """The deltas of one ``chat.completion.chunk`` (only choice 0 counts)."""
    deltas: list[ChatDelta] = []
    for choice in chunk.choices or []:
        if choice.index != 0:
            continue
        delta = choice.delta
        if delta is not None and delta.content:
            deltas.append(TextDelta(delta.content))
        for call in (delta.tool_calls if delta is not None else None) or []:
            function = call.function
            deltas.append(
                ToolCallDelta(
                    call.index or 0,
                    function.name if function is not None else None,
                    (function.arguments if function is not None else None) or "",
                )
            )
        if choice.finish_reason:
            deltas.append(Finished(choice.finish_reason))
    return deltas


def parse_arguments(name: str, arguments: str) -> dict[str, Any]:
    """A tool call's arguments as a dict; :class:`LlmError` if they are not a JSON object."""
    try:
        value = json.loads(arguments) if arguments.strip() else {}
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        shown = arguments if len(arguments) <= 80 else arguments[:77] + "..."
        raise LlmError(
            "llm_bad_tool_arguments",
            f"the model called {name!r} with arguments that are not a JSON object: {shown!r}",
        )
    return value
