"""Which OpenAI-compatible chat model the local server speaks for, if any.

The deterministic policy is the default. A chat model is chosen with ``llm`` options
(``server_options={"llm": {"base_url": ..., "model": ...}}``, ``rtnb serve --llm-url URL
--llm-model NAME``) or, when neither a policy nor ``llm`` is given, from the environment:
``RTNB_LLM_URL``, ``RTNB_LLM_MODEL`` and ``RTNB_LLM_API_KEY``.

The key is sent to the model server and nowhere else: it is left out of the repr, and
``OPENAI_API_KEY`` is never used for it (a key for OpenAI must not reach another host).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import urlsplit, urlunsplit

__all__ = ["ENV_API_KEY", "ENV_MODEL", "ENV_URL", "LlmConfig", "llm_config"]

ENV_URL = "RTNB_LLM_URL"
ENV_MODEL = "RTNB_LLM_MODEL"
ENV_API_KEY = "RTNB_LLM_API_KEY"
NO_KEY = "no-key"
"""Sent when no key is set: local model servers ignore it, and the client needs some key."""


@dataclass(frozen=True)
class LlmConfig:
    """An OpenAI-compatible Chat Completions endpoint and how to call it."""

    base_url: str
    """E.g. ``http://127.0.0.1:11434/v1`` (Ollama) or ``http://127.0.0.1:8080/v1`` (llama.cpp)."""
    model: str
    api_key: str | None = field(default=None, repr=False)
    timeout_s: float = 30.0
    """Longest wait for the connection, the first token and each later chunk."""
    temperature: float | None = None
    """Sent when set (a session's own ``temperature`` wins)."""
    max_retries: int = 0
    """Retries of a failed request; 0 because a voice reply that comes late is no reply."""

    def __post_init__(self) -> None:
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"llm base_url must be an http(s) URL, got {self.safe_url!r}")
        if not isinstance(self.model, str) or not self.model:
            raise ValueError("llm model must be a non-empty string (e.g. 'llama3.2')")
        if not self.timeout_s > 0:
            raise ValueError(f"llm timeout_s must be positive, got {self.timeout_s}")

    @property
    def safe_url(self) -> str:
        """``base_url`` without any ``user:password@`` part (for messages and logs)."""
        parts = urlsplit(self.base_url)
        host = parts.netloc.rpartition("@")[2]
        return urlunsplit((parts.scheme, host, parts.path, parts.query, ""))

    @property
    def key(self) -> str:
        """The key to send (a placeholder when none is set)."""
        return self.api_key or NO_KEY


_ALIASES = {"url": "base_url", "timeout": "timeout_s"}


def llm_config(options: LlmConfig | Mapping[str, Any] | None) -> LlmConfig | None:
    """``options`` as an :class:`LlmConfig`; ``None`` reads the environment (``None`` if unset).

    A mapping takes the field names (``url`` and ``timeout`` also work); a missing ``api_key``
    comes from ``RTNB_LLM_API_KEY``. Unknown keys raise :class:`ValueError` naming them.
    """
    if isinstance(options, LlmConfig):
        return options
    if options is None:
        url = os.environ.get(ENV_URL)
        if not url:
            return None
        model = os.environ.get(ENV_MODEL)
        if not model:
            raise ValueError(f"{ENV_URL} is set: set {ENV_MODEL} to the model's name too")
        return LlmConfig(url, model, os.environ.get(ENV_API_KEY) or None)
    if not isinstance(options, Mapping):
        raise ValueError(f"llm options must be a dict or LlmConfig, got {type(options).__name__}")
    known = {f.name for f in fields(LlmConfig)}
    values = {_ALIASES.get(k, k): v for k, v in options.items()}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"unknown llm option(s) {unknown}; known: {sorted(known)}")
    missing = [name for name in ("base_url", "model") if not values.get(name)]
    if missing:
        raise ValueError(f"llm options need {' and '.join(missing)}")
    values.setdefault("api_key", os.environ.get(ENV_API_KEY) or None)
    return LlmConfig(**values)
