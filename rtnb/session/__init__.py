"""Agents, tools, history and session events on top of a Realtime transport."""

from .agent import RealtimeAgent
from .events import (
    EVENT_CLASSES,
    EVENT_NAMES,
    AgentEndEvent,
    AgentStartEvent,
    AgentToolEndEvent,
    AgentToolStartEvent,
    AudioEvent,
    AudioInterruptedEvent,
    AudioStartEvent,
    AudioStoppedEvent,
    ConnectionChangeEvent,
    ErrorEvent,
    HistoryAddedEvent,
    HistoryUpdatedEvent,
    SessionEvent,
    TransportEvent,
)
from .items import (
    AssistantMessageItem,
    ContentPart,
    FunctionCallItem,
    HistoryItem,
    SystemMessageItem,
    UserMessageItem,
)
from .session import RealtimeSession
from .tools import FunctionTool, function_tool, tool

__all__ = [
    "EVENT_CLASSES",
    "EVENT_NAMES",
    "AgentEndEvent",
    "AgentStartEvent",
    "AgentToolEndEvent",
    "AgentToolStartEvent",
    "AssistantMessageItem",
    "AudioEvent",
    "AudioInterruptedEvent",
    "AudioStartEvent",
    "AudioStoppedEvent",
    "ConnectionChangeEvent",
    "ContentPart",
    "ErrorEvent",
    "FunctionCallItem",
    "FunctionTool",
    "HistoryAddedEvent",
    "HistoryItem",
    "HistoryUpdatedEvent",
    "RealtimeAgent",
    "RealtimeSession",
    "SessionEvent",
    "SystemMessageItem",
    "TransportEvent",
    "UserMessageItem",
    "function_tool",
    "tool",
]
