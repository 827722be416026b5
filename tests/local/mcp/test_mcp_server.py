"""The local server as an MCP client, over a real loopback WebSocket, with a real MCP server.

Every server event is validated against the ``openai`` package's schema by :class:`WireClient`;
every client event it sends is validated too.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from rtnb.local.conversation import ConversationItems
from rtnb.local.mcp.demo_server import DemoMcpServer, McpDemoCall, start_demo_mcp_server
from rtnb.local.mcp.tools import McpServers
from rtnb.local.policy.deterministic import CallTool, PolicyInput, Say, default_policy
from rtnb.local.server import LocalServer, start_local_server
from rtnb.protocol.events import Event
from tests.local.mcp.test_mcp_client import dead_url
from tests.wire import WireClient

KEY = {"X-Api-Key": "wire-secret-7"}


class Recording:
    """The default policy, or a forced reply; keeps every turn it was asked."""

    def __init__(self) -> None:
        self.turns: list[PolicyInput] = []
        self.forced: CallTool | None = None

    def __call__(self, turn: PolicyInput) -> Say | CallTool:
        self.turns.append(turn)
        if self.forced is not None and turn.items[-1].get("type") == "message":
            return self.forced
        return default_policy(turn)


@pytest.fixture
def demo() -> Iterator[DemoMcpServer]:
    server = start_demo_mcp_server(require_headers=KEY)
    yield server
    server.stop()


@pytest.fixture
def policy() -> Recording:
    return Recording()


@pytest.fixture
async def server(policy: Recording) -> AsyncIterator[LocalServer]:
    async with await start_local_server(realtime_pacing=False, policy=policy) as running:
        yield running


@pytest.fixture
async def client(server: LocalServer) -> AsyncIterator[WireClient]:
    wire = await WireClient.open(server.url)
    yield wire
    await wire.close()
    assert wire.invalid == []


def mcp_tool(url: str, **fields: Any) -> dict[str, Any]:
    return {"type": "mcp", "server_label": "weather", "server_url": url, "headers": KEY, **fields}


async def configure(client: WireClient, *tools: dict[str, Any]) -> Event:
    """Send the session's tools (text output); return the ``conversation.item.done`` of the
    first server's tool list."""
    after = len(client.events)
    session = {"type": "realtime", "output_modalities": ["text"], "tools": list(tools)}
    await client.send({"type": "session.update", "session": session})
    return await client.wait_for(
        "conversation.item.done", lambda e: e["item"]["type"] == "mcp_list_tools", after=after
    )


async def ask(client: WireClient, text: str) -> Event:
    """Send a user message and a response.create; return that response's ``response.done``."""
    after = len(client.events)
    item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
    await client.send({"type": "conversation.item.create", "item": item})
    await client.send({"type": "response.create"})
    return await client.wait_for("response.done", after=after)


async def respond(client: WireClient) -> Event:
    after = len(client.events)
    await client.send({"type": "response.create"})
    return await client.wait_for("response.done", after=after)


def said(done: Event) -> str:
    [message] = done["response"]["output"]
    return message["content"][0]["text"]


async def test_listing_follows_the_openai_event_flow(
    client: WireClient, demo: DemoMcpServer
) -> None:
    after = len(client.events)
    listed = await configure(client, mcp_tool(demo.url, allowed_tools=["get_forecast"]))
    kinds = [e["type"] for e in client.events[after:]]
    assert kinds == [
        "session.updated",
        "conversation.item.added",
        "mcp_list_tools.in_progress",
        "mcp_list_tools.completed",
        "conversation.item.done",
    ]
    updated = client.events[after]
    assert updated["session"]["tools"][0]["headers"] == {"X-Api-Key": "[redacted]"}
    assert KEY["X-Api-Key"] not in json.dumps(client.events)
    added = client.events[after + 1]["item"]
    assert (added["type"], added["server_label"], added["tools"]) == (
        "mcp_list_tools",
        "weather",
        [],
    )
    assert listed["item"]["id"] == added["id"]
    [tool] = listed["item"]["tools"]  # allowed_tools: get_population is never listed
    assert tool["name"] == "get_forecast" and tool["input_schema"]["required"] == ["city"]


async def test_a_dead_server_fails_the_listing_with_a_clear_error(client: WireClient) -> None:
    after = len(client.events)
    listed = await configure(client, mcp_tool(dead_url()))
    failed = await client.wait_for("mcp_list_tools.failed", after=after)
    error = await client.wait_for("error", after=after)
    assert failed["item_id"] == listed["item"]["id"]
    assert listed["item"]["tools"] == []
    assert error["error"]["code"] == "mcp_list_tools_failed"
    assert "Error retrieving tool list from MCP server 'weather'" in error["error"]["message"]
    assert "ConnectError" in error["error"]["message"]
    assert client.of_type("mcp_list_tools.completed") == []


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"require_approval": "sometimes"}, "session.tools[0].require_approval"),
        ({"server_label": ""}, "session.tools[0].server_label"),
        ({"allowed_tools": "get_forecast"}, "session.tools[0].allowed_tools"),
    ],
)
async def test_bad_mcp_tools_are_refused(client: WireClient, fields: dict, param: str) -> None:
    after = len(client.events)
    session = {"type": "realtime", "tools": [mcp_tool("http://127.0.0.1:1/mcp", **fields)]}
    await client.send({"type": "session.update", "session": session}, check=False)
    error = await client.wait_for("error", after=after)
    assert error["error"]["param"] == param


async def test_duplicate_server_labels_are_refused(client: WireClient) -> None:
    after = len(client.events)
    tool = mcp_tool("http://127.0.0.1:1/mcp")
    await client.send(
        {"type": "session.update", "session": {"type": "realtime", "tools": [tool, tool]}}
    )
    error = await client.wait_for("error", after=after)
    assert error["error"]["param"] == "session.tools[1].server_label"


async def test_the_policy_picks_the_mcp_tool_and_the_call_streams(
    client: WireClient, demo: DemoMcpServer, policy: Recording
) -> None:
    await configure(client, mcp_tool(demo.url, require_approval="never"))
    after = len(client.events)
    done = await ask(client, "What is the weather forecast for Paris?")
    [call] = done["response"]["output"]
    assert done["response"]["status"] == "completed"
    assert (call["type"], call["server_label"], call["name"]) == (
        "mcp_call",
        "weather",
        "get_forecast",
    )
    assert json.loads(call["arguments"]) == {"city": "Paris"}
    assert call["output"] == "Tomorrow in Paris: sunny and 24 degrees."
    assert call["error"] is None and call["approval_request_id"] is None
    assert demo.calls == [McpDemoCall("get_forecast", {"city": "Paris"})]
    mcp_kinds = [
        e["type"] for e in client.events[after:] if "mcp" in e["type"] or "output_item" in e["type"]
    ]
    assert mcp_kinds == [
        "response.output_item.added",
        "response.mcp_call_arguments.delta",
        "response.mcp_call_arguments.done",
        "response.mcp_call.in_progress",
        "response.mcp_call.completed",
        "response.output_item.done",
    ]
    offered = {t["name"]: t for t in policy.turns[-1].tools}
    assert offered["get_forecast"]["server_label"] == "weather"
    assert offered["get_forecast"]["parameters"]["required"] == ["city"]
    assert "headers" not in json.dumps(policy.turns[-1].tools)

    # As on the OpenAI API, the response ends with the call: the client asks for the next one.
    answer = await respond(client)
    assert said(answer) == "Tomorrow in Paris: sunny and 24 degrees."
    assert policy.turns[-1].items[-1]["type"] == "mcp_call"


async def test_a_tool_outside_allowed_tools_is_never_called(
    client: WireClient, demo: DemoMcpServer, policy: Recording
) -> None:
    await configure(
        client, mcp_tool(demo.url, require_approval="never", allowed_tools=["get_forecast"])
    )
    await respond(client)  # a turn, to see what the policy is offered
    assert [t["name"] for t in policy.turns[-1].tools] == ["get_forecast"]
    policy.forced = CallTool("get_population", {"city": "Oslo"}, server_label="weather")
    done = await ask(client, "How many people live in Oslo?")
    [call] = done["response"]["output"]
    failed = client.of_type("response.mcp_call.failed")
    assert [e["item_id"] for e in failed] == [call["id"]]
    assert call["output"] is None
    assert "offers no tool 'get_population'" in call["error"]["message"]
    assert demo.calls == []
    answer = await respond(client)
    assert said(answer).startswith("Sorry, that did not work: MCP server 'weather' offers no tool")


@pytest.mark.parametrize("approve", [True, False])
async def test_require_approval_waits_for_the_client(
    client: WireClient, demo: DemoMcpServer, approve: bool
) -> None:
    rule = {"always": {"tool_names": ["get_forecast"]}, "never": {"tool_names": ["get_population"]}}
    await configure(client, mcp_tool(demo.url, require_approval=rule))
    done = await ask(client, "What is the weather forecast for Oslo?")
    [request] = done["response"]["output"]
    assert request["type"] == "mcp_approval_request"
    assert (request["server_label"], request["name"]) == ("weather", "get_forecast")
    assert demo.calls == []

    answer = {
        "type": "mcp_approval_response",
        "id": "item_answer_1",
        "approval_request_id": request["id"],
        "approve": approve,
    }
    await client.send({"type": "conversation.item.create", "item": answer})
    after = await respond(client)
    if approve:
        [call] = after["response"]["output"]
        assert call["type"] == "mcp_call" and call["approval_request_id"] == request["id"]
        assert demo.calls == [McpDemoCall("get_forecast", {"city": "Oslo"})]
        assert said(await respond(client)) == "Tomorrow in Oslo: light rain and 12 degrees."
    else:
        assert said(after) == "Okay, I did not run get forecast."
        assert demo.calls == []
    # get_population never needs approval under this rule
    done = await ask(client, "How many people live in Berlin? What is the population?")
    assert done["response"]["output"][0]["type"] == "mcp_call"


async def test_an_approval_for_an_unknown_request_is_refused(client: WireClient) -> None:
    after = len(client.events)
    answer = {
        "type": "mcp_approval_response",
        "id": "item_answer_1",
        "approval_request_id": "mcpr_nope",
        "approve": True,
    }
    await client.send({"type": "conversation.item.create", "item": answer})
    error = await client.wait_for("error", after=after)
    assert error["error"]["param"] == "item.approval_request_id"


async def test_servers_are_disconnected_when_dropped_or_closed(demo: DemoMcpServer) -> None:
    sent: list[Event] = []
    tasks: set[asyncio.Task[Any]] = set()

    async def send(event: Event) -> None:
        sent.append(event)

    def spawn(coro: Any) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        tasks.add(task)
        return task

    servers = McpServers(send, ConversationItems(), spawn)
    servers.configure([mcp_tool(demo.url, require_approval="never")])
    await servers.wait_listed()
    first = servers.get("weather")
    assert first is not None and first.client is not None and first.tools
    assert "wire-secret-7" not in repr(first) + repr(first.client)

    servers.configure([mcp_tool(demo.url, require_approval="always")])  # same server: kept
    assert servers.get("weather") is first and first.requires_approval("get_forecast")
    servers.configure([mcp_tool(demo.url, allowed_tools=["get_forecast"])])  # changed: relisted
    await servers.wait_listed()
    second = servers.get("weather")
    assert second is not first and [t["name"] for t in second.tools] == ["get_forecast"]  # type: ignore[union-attr]
    await asyncio.gather(*tasks)
    assert first.client._owner is None  # the dropped server's connection is closed

    await servers.aclose()
    assert second.client is not None and second.client._owner is None  # type: ignore[union-attr]
    assert servers.get("weather") is None
    outcome = await servers.call("weather", "get_forecast", {"city": "Oslo"})
    assert outcome.error is not None and "names no MCP server" in outcome.error["message"]
