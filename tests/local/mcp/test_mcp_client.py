"""The local server's MCP client against the demo MCP server, served on loopback by each test."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from mcp.types import CallToolResult, ImageContent, TextContent

from rtnb.local.mcp.client import McpClient, McpClientError, result_outcome
from rtnb.local.mcp.demo_server import DemoMcpServer, McpDemoCall, start_demo_mcp_server

KEY = {"X-Api-Key": "demo-key-42"}


@pytest.fixture
def demo() -> Iterator[DemoMcpServer]:
    server = start_demo_mcp_server(require_headers=KEY)
    yield server
    server.stop()


def dead_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/mcp"  # nothing listens there any more


async def test_lists_and_calls_tools_with_headers(demo: DemoMcpServer) -> None:
    client = McpClient("weather", demo.url, KEY)
    await client.start()
    try:
        tools = await client.list_tools()
        outcome = await client.call_tool("get_forecast", {"city": "oslo"})
    finally:
        await client.aclose()
    forecast, population = tools
    assert forecast["name"] == "get_forecast"
    assert forecast["description"] == "Return tomorrow's weather forecast for a city."
    assert forecast["input_schema"]["properties"]["city"]["type"] == "string"
    assert forecast["annotations"] == {"readOnlyHint": True}
    assert population["name"] == "get_population"
    assert outcome.output == "Tomorrow in Oslo: light rain and 12 degrees."
    assert outcome.error is None
    assert demo.calls == [McpDemoCall("get_forecast", {"city": "oslo"})]
    assert "demo-key-42" not in repr(client)


async def test_tool_failures_come_back_as_errors(demo: DemoMcpServer) -> None:
    client = McpClient("weather", demo.url, KEY)
    await client.start()
    try:
        unknown = await client.call_tool("launch_rocket", {})
        invalid = await client.call_tool("get_forecast", {})
    finally:
        await client.aclose()
    assert unknown.output is None
    assert unknown.error == {
        "type": "tool_execution_error",
        "message": "Unknown tool: launch_rocket",
    }
    assert invalid.error is not None and "city" in invalid.error["message"]
    closed = await client.call_tool("get_forecast", {"city": "oslo"})
    assert closed.error == {
        "type": "tool_execution_error",
        "message": "MCP server 'weather' is not connected",
    }
    assert demo.calls == []


async def test_missing_credentials_are_a_clear_error(demo: DemoMcpServer) -> None:
    client = McpClient("weather", demo.url, {"X-Api-Key": "wrong-key"})
    with pytest.raises(McpClientError, match="cannot connect to MCP server 'weather'") as failed:
        await client.start()
    assert "wrong-key" not in str(failed.value)


async def test_a_dead_url_fails_fast_and_clearly() -> None:
    url = dead_url()
    client = McpClient("weather", url, KEY, connect_timeout=5)
    with pytest.raises(McpClientError) as failed:
        await client.start()
    assert f"cannot connect to MCP server 'weather' at {url}" in failed.value.message
    assert "ConnectError" in failed.value.message
    assert failed.value.to_wire()["type"] == "tool_execution_error"
    assert KEY["X-Api-Key"] not in str(failed.value)


def test_results_become_text() -> None:
    text = CallToolResult(
        content=[TextContent(type="text", text="a"), TextContent(type="text", text="b")]
    )
    assert result_outcome(text).output == "a\nb"
    structured = CallToolResult(content=[], structured_content={"temperature": 12})
    assert result_outcome(structured).output == '{"temperature": 12}'
    image = CallToolResult(content=[ImageContent(type="image", data="AAAA", mime_type="image/png")])
    assert '"mimeType": "image/png"' in (result_outcome(image).output or "")
    failed = CallToolResult(content=[TextContent(type="text", text="boom")], is_error=True)
    assert result_outcome(failed).error == {"type": "tool_execution_error", "message": "boom"}


def test_errors_have_the_wire_shapes() -> None:
    assert McpClientError("x", kind="http_error", code=401).to_wire() == {
        "type": "http_error",
        "code": 401,
        "message": "x",
    }
    assert McpClientError("y", kind="protocol_error", code=-32601).to_wire()["code"] == -32601
