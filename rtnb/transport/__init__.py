"""Async loops that move Realtime protocol events over a WebSocket."""

from .base import Mutable, Transport
from .websocket import (
    OPENAI_REALTIME_URL,
    TransportError,
    WebSocketTransport,
    realtime_url,
    resolve_api_key,
)

__all__ = [
    "OPENAI_REALTIME_URL",
    "Mutable",
    "Transport",
    "TransportError",
    "WebSocketTransport",
    "realtime_url",
    "resolve_api_key",
]
