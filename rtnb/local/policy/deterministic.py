"""The default response policy of the local server, and the types every policy shares.

A policy is a plain callable: it sees the conversation and the session's instructions and tools, and
returns either text to say or a tool to call. The default policy is deterministic so tutorials and
tests behave the same on every run: it routes the user's words to the best-matching function tool,
fills simple arguments from the words, speaks a tool's output once it arrives, and otherwise answers
briefly.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from rtnb.local.conversation import Item
from rtnb.local.policy.numbers import find_numbers
from rtnb.local.speech.sphinx import normalize_sentences


@dataclass(frozen=True)
class PolicyInput:
    """What a policy sees when a response is requested."""

    items: list[Item]
    """Conversation wire items, oldest first (copies: changing them changes nothing)."""
    instructions: str = ""
    tools: list[dict[str, Any]] = field(default_factory=list)
    """Wire tool definitions of the session (``{"type": "function", "name", "description",
    "parameters"}``; handoffs are function tools named ``transfer_to_...``). The tools listed by
    the session's hosted MCP servers come as function tools too, with a ``server_label``."""


@dataclass(frozen=True)
class Say:
    """Answer with this text (spoken when audio output is on)."""

    text: str


@dataclass(frozen=True)
class CallTool:
    """Call the tool ``name`` with ``arguments``.

    ``server_label`` names the hosted MCP server of an MCP tool: the local server calls it
    itself. Without it, a function tool called ``name`` is called, else a listed MCP tool.
    """

    name: str
    arguments: dict[str, Any]
    server_label: str | None = None


Reply = Say | CallTool
Policy = Callable[[PolicyInput], Reply | Awaitable[Reply]]
"""A response policy: sync or async callable from :class:`PolicyInput` to a :class:`Reply`."""


def item_text(item: Item) -> str:
    """The text or transcript of a message item (``""`` for other items)."""
    if item.get("type") != "message":
        return ""
    parts = []
    for part in item.get("content") or []:
        if not isinstance(part, dict):
            continue
        text = part.get("text") if part.get("text") is not None else part.get("transcript")
        if isinstance(text, str):
            parts.append(text)
    return " ".join(parts).strip()


_STOPWORDS = frozenset(
    "a an the is are was were be to of in on at for and or what whats how who which me my "
    "you your i it its this that please can could would will do does tell give get set "
    "with from about like today now".split()
)


def _words(text: str) -> list[str]:
    return [w for s in normalize_sentences([text]) for w in s.split()]


def _keywords(text: str) -> set[str]:
    return {w for w in _words(text) if w not in _STOPWORDS and len(w) > 1}


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


def _tool_score(tool: dict[str, Any], said: set[str]) -> int:
    """How many of the user's keywords name or describe the tool (name words count double)."""
    said_stems = {_stem(w) for w in said}
    name_words = {_stem(w) for w in _keywords(str(tool.get("name", "")))}
    description_words = {_stem(w) for w in _keywords(str(tool.get("description", "")))}
    return 2 * len(name_words & said_stems) + len(description_words & said_stems)


def _fill_arguments(tool: dict[str, Any], text: str) -> dict[str, Any]:
    """Fill required string/number/boolean parameters from the user's words.

    Numbers take the first number said, in digits or words ("$20", "twenty dollars"); strings
    take the words after the last preposition such as "in", "for", "to", "about" (e.g.
    "weather in paris" -> "Paris"), else the last keyword.
    """
    params = tool.get("parameters") or {}
    properties: dict[str, Any] = params.get("properties") or {}
    required = params.get("required") or list(properties)
    words = _words(text)
    numbers = find_numbers(text)
    args: dict[str, Any] = {}
    for name in required:
        schema = properties.get(name) or {}
        kind = schema.get("type")
        enum = schema.get("enum")
        if enum:
            said = set(words)
            args[name] = next((v for v in enum if str(v).lower() in said), enum[0])
        elif kind in ("number", "integer"):
            value = numbers[0] if numbers else 0
            args[name] = int(value) if kind == "integer" else value
        elif kind == "boolean":
            args[name] = not any(w in ("no", "not", "off", "false") for w in words)
        else:
            args[name] = _phrase_after_preposition(words)
    return args


_PREPOSITIONS = ("in", "for", "to", "about", "at", "of", "called", "named")


def _phrase_after_preposition(words: list[str]) -> str:
    for index in range(len(words) - 1, -1, -1):
        if words[index] in _PREPOSITIONS and index + 1 < len(words):
            phrase = [w for w in words[index + 1 :] if w not in _STOPWORDS]
            if phrase:
                return " ".join(phrase).title()
    keywords = [w for w in words if w not in _STOPWORDS]
    return keywords[-1].title() if keywords else ""


HANDOFF_PREFIX = "transfer_to_"
"""Function tools named so are handoffs to another agent."""


def default_policy(turn: PolicyInput) -> Reply:
    """Deterministic policy: speak a fresh tool result, else call the best tool, else answer.

    After a handoff (the output of a ``transfer_to_...`` call), the new agent takes the user's
    last request over: it calls its best-matching tool (never a handoff back), else greets.
    A finished hosted MCP call is spoken like a tool result; a refused MCP approval is told.
    """
    items = [i for i in turn.items if i.get("type") != "mcp_list_tools"]  # server bookkeeping
    if not items:
        return Say("Hello! How can I help?")
    last = items[-1]
    user_text = next(
        (item_text(i) for i in reversed(turn.items) if i.get("role") == "user" and item_text(i)),
        "",
    )
    functions = [t for t in turn.tools if t.get("type", "function") == "function"]
    if last.get("type") in ("mcp_call", "mcp_approval_response"):
        return Say(_mcp_outcome(turn.items, last))
    if last.get("type") == "function_call_output":
        new_agent = _handed_off_to(turn.items, last)
        if new_agent is None:  # a tool result (or a refused handoff's error): say it
            return Say(_speak_output(str(last.get("output", ""))))
        own = [t for t in functions if not str(t.get("name", "")).startswith(HANDOFF_PREFIX)]
        call = _best_tool_call(own, user_text)
        return call or Say(f"Hello, {new_agent} here. How can I help?")
    return _best_tool_call(functions, user_text) or Say(_answer(user_text))


def _best_tool_call(functions: list[dict[str, Any]], user_text: str) -> CallTool | None:
    said = _keywords(user_text)
    scored = [(score, t) for t in functions if (score := _tool_score(t, said)) > 0]
    if not scored:
        return None
    _, tool = max(scored, key=lambda pair: pair[0])
    label = tool.get("server_label")
    return CallTool(
        str(tool["name"]), _fill_arguments(tool, user_text), str(label) if label else None
    )


def _mcp_outcome(items: list[Item], last: Item) -> str:
    """What to say after an MCP call (its output or error) or a refused approval."""
    if last.get("type") == "mcp_call":
        error = last.get("error")
        if isinstance(error, dict):
            return f"Sorry, that did not work: {error.get('message') or error.get('type')}"
        return _speak_output(str(last.get("output") or ""))
    if last.get("approve") is True:
        return "Approved."
    request = next(
        (i for i in items if i.get("id") == last.get("approval_request_id")), {"name": "tool"}
    )
    return f"Okay, I did not run {str(request.get('name')).replace('_', ' ')}."


def _handed_off_to(items: list[Item], output: Item) -> str | None:
    """The new agent's name if ``output`` completes a ``transfer_to_...`` call, else ``None``.

    A completed transfer answers ``{"assistant": "<name>"}``; a refused one answers an error.
    """
    transfer = any(
        i.get("type") == "function_call"
        and i.get("call_id") == output.get("call_id")
        and str(i.get("name", "")).startswith(HANDOFF_PREFIX)
        for i in items
    )
    try:
        value = json.loads(str(output.get("output", ""))) if transfer else None
    except (json.JSONDecodeError, ValueError):
        return None
    name = value.get("assistant") if isinstance(value, dict) else None
    return name if isinstance(name, str) and name else None


def _speak_output(output: str) -> str:
    try:
        value = json.loads(output)
    except (json.JSONDecodeError, ValueError):
        return output.strip() or "Done."
    if isinstance(value, str):
        return value.strip() or "Done."
    if isinstance(value, dict) and isinstance(value.get("error"), str):
        return f"Sorry, that did not work: {value['error']}"
    return json.dumps(value) if value not in (None, "") else "Done."


def _answer(user_text: str) -> str:
    words = set(_words(user_text))
    if not words:
        return "Sorry, I did not catch that."
    if words & {"hello", "hi", "hey", "morning", "afternoon", "evening"}:
        return "Hello! How can I help you today?"
    if words & {"thanks", "thank"}:
        return "You are welcome."
    if words & {"bye", "goodbye"}:
        return "Goodbye!"
    return f"You said: {user_text.strip().rstrip('.!?')}."
