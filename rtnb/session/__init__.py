"""Agents, tools, history and session events on top of a Realtime transport."""

from .agent import RealtimeAgent
from .approvals import ToolApprovalItem, ToolErrorFormatterArgs
from .events import (
    EVENT_CLASSES,
    EVENT_NAMES,
    AgentEndEvent,
    AgentHandoffEvent,
    AgentStartEvent,
    AgentToolEndEvent,
    AgentToolStartEvent,
    AudioEvent,
    AudioInterruptedEvent,
    AudioStartEvent,
    AudioStoppedEvent,
    ConnectionChangeEvent,
    ErrorEvent,
    GuardrailTrippedEvent,
    HistoryAddedEvent,
    HistoryUpdatedEvent,
    McpToolCallCompletedEvent,
    McpToolsChangedEvent,
    SessionEvent,
    ToolApprovalDecidedEvent,
    ToolApprovalRequestedEvent,
    TransportEvent,
)
from .guardrails import (
    GuardrailFunctionOutput,
    OutputGuardrail,
    OutputGuardrailError,
    OutputGuardrailResult,
    OutputGuardrailSettings,
    output_guardrail,
)
from .handoffs import Handoff, realtime_handoff
from .history_edit import HistoryEditError
from .items import (
    AssistantMessageItem,
    ContentPart,
    FunctionCallItem,
    HistoryItem,
    McpCallItem,
    SystemMessageItem,
    UserMessageItem,
)
from .lifecycle import ConnectionState
from .mcp import HostedMcpTool, McpApprovalItem, McpToolCall, McpToolInfo, hosted_mcp_tool
from .mute import MuteNotSupportedError
from .outgoing import OutgoingAudioDropped, OutgoingQueueFull, OutgoingStats
from .session import RealtimeSession
from .switching import HandoffError
from .tool_context import ToolContext, background_result
from .tools import FunctionTool, ToolTimeoutError, function_tool, tool

__all__ = [
    "EVENT_CLASSES",
    "EVENT_NAMES",
    "AgentEndEvent",
    "AgentHandoffEvent",
    "AgentStartEvent",
    "AgentToolEndEvent",
    "AgentToolStartEvent",
    "AssistantMessageItem",
    "AudioEvent",
    "AudioInterruptedEvent",
    "AudioStartEvent",
    "AudioStoppedEvent",
    "ConnectionChangeEvent",
    "ConnectionState",
    "ContentPart",
    "ErrorEvent",
    "FunctionCallItem",
    "FunctionTool",
    "GuardrailFunctionOutput",
    "GuardrailTrippedEvent",
    "Handoff",
    "HandoffError",
    "HistoryAddedEvent",
    "HistoryEditError",
    "HistoryItem",
    "HistoryUpdatedEvent",
    "HostedMcpTool",
    "McpApprovalItem",
    "McpCallItem",
    "McpToolCall",
    "McpToolCallCompletedEvent",
    "McpToolInfo",
    "McpToolsChangedEvent",
    "MuteNotSupportedError",
    "OutgoingAudioDropped",
    "OutgoingQueueFull",
    "OutgoingStats",
    "OutputGuardrail",
    "OutputGuardrailError",
    "OutputGuardrailResult",
    "OutputGuardrailSettings",
    "RealtimeAgent",
    "RealtimeSession",
    "SessionEvent",
    "SystemMessageItem",
    "ToolApprovalDecidedEvent",
    "ToolApprovalItem",
    "ToolApprovalRequestedEvent",
    "ToolContext",
    "ToolErrorFormatterArgs",
    "ToolTimeoutError",
    "TransportEvent",
    "UserMessageItem",
    "background_result",
    "function_tool",
    "hosted_mcp_tool",
    "output_guardrail",
    "realtime_handoff",
    "tool",
]
