"""The Realtime conversation as a Chat Completions request: messages, tools, settings.

Pure functions of wire items and the session, no I/O. The mapping:

- the instructions become the first ``system`` message; ``system`` items stay system messages
  (the guardrail notice is one);
- user and assistant messages become ``user``/``assistant`` messages of their text or
  transcript (audio the server never transcribed, and empty messages, are left out);
- a finished ``function_call`` or ``mcp_call`` becomes an assistant message with ``tool_calls``,
  directly followed by its ``tool`` message (its output, or its error). Calls with no output
  yet (or cut off) are left out: the API refuses a tool call without its result;
- a refused MCP approval becomes a system note, so the model can say so.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from rtnb.local.policy.deterministic import Item, item_text

Message = dict[str, Any]

__all__ = ["chat_messages", "chat_tool_choice", "chat_tools"]


def chat_messages(items: list[Item], instructions: str = "") -> list[Message]:
    """Chat messages for the conversation ``items`` (oldest first) under ``instructions``."""
    messages: list[Message] = [{"role": "system", "content": instructions}] if instructions else []
    outputs = {
        str(i.get("call_id")): str(i.get("output", ""))
        for i in items
        if i.get("type") == "function_call_output"
    }
    requests = {i.get("id"): i for i in items if i.get("type") == "mcp_approval_request"}
    for item in items:
        kind = item.get("type")
        if kind == "message":
            text = item_text(item)
            role = item.get("role")
            if text and role in ("user", "assistant", "system"):
                messages.append({"role": role, "content": text})
        elif kind == "function_call" and str(item.get("call_id")) in outputs:
            if item.get("status", "completed") != "completed":
                continue
            call_id = str(item["call_id"])
            _add_call(messages, call_id, str(item.get("name")), item.get("arguments"))
            messages.append({"role": "tool", "tool_call_id": call_id, "content": outputs[call_id]})
        elif kind == "mcp_call" and (item.get("output") is not None or item.get("error")):
            call_id = str(item.get("id"))
            _add_call(messages, call_id, str(item.get("name")), item.get("arguments"))
            messages.append({"role": "tool", "tool_call_id": call_id, "content": _mcp_result(item)})
        elif kind == "mcp_approval_response" and item.get("approve") is False:
            request = requests.get(item.get("approval_request_id")) or {}
            name = request.get("name", "a tool")
            messages.append({"role": "system", "content": f"The user declined the call of {name}."})
    return messages


def _add_call(messages: list[Message], call_id: str, name: str, arguments: Any) -> None:
    call = {
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": arguments if isinstance(arguments, str) else "{}"},
    }
    messages.append({"role": "assistant", "content": None, "tool_calls": [call]})


def _mcp_result(item: Item) -> str:
    error = item.get("error")
    if error:
        message = error.get("message") if isinstance(error, Mapping) else None
        return json.dumps({"error": message or str(error)})
    return str(item.get("output"))


def chat_tools(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Realtime function tools (hosted MCP tools listed as function tools too) as chat tools."""
    chat: list[dict[str, Any]] = []
    for tool in tools:
        if tool.get("type", "function") != "function" or not tool.get("name"):
            continue
        parameters = tool.get("parameters") or {"type": "object", "properties": {}}
        function = {"name": str(tool["name"]), "parameters": parameters}
        if tool.get("description"):
            function["description"] = str(tool["description"])
        chat.append({"type": "function", "function": function})
    return chat


def chat_tool_choice(choice: Any) -> Any:
    """The session's ``tool_choice`` in chat form (``None``: leave it out)."""
    if choice in ("auto", "none", "required"):
        return choice
    if isinstance(choice, Mapping) and choice.get("type") == "function" and choice.get("name"):
        return {"type": "function", "function": {"name": str(choice["name"])}}
    return None  # e.g. an MCP choice: the chat API has no equivalent
