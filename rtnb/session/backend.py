"""Which server a session talks to, in order: an explicit URL, the OpenAI API, the local server.

A plain function of the session's settings, so the choice is easy to read and to test. The API key
goes into the transport's ``Authorization`` header and nowhere else.

An embedded server started here is locked: it requires a random bearer token
(:func:`secrets.token_urlsafe`) that only this session's transport presents, so another user of
a shared host (a JupyterHub server) cannot open a conversation on it (and spend the owner's model
key with the ``llm`` option). ``server_options={"token": ...}`` chooses the token instead.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from rtnb.transport.base import ApiKey, Transport, is_loopback_url

log = logging.getLogger("rtnb.session")


@dataclass
class Backend:
    """An unopened transport, what it reaches, and the local server started for it (if any)."""

    transport: Transport
    name: str
    """``"openai"`` or ``"local"``."""
    local_server: Any = None
    """The ``rtnb.local.server.LocalServer`` the session owns (started here or reused)."""
    local_token: str | None = field(default=None, repr=False)
    """The bearer token ``local_server`` requires (kept to reconnect to it)."""


async def open_backend(
    *,
    model: str,
    api_key: ApiKey | None,
    url: str | None,
    call_id: str | None,
    server_options: Mapping[str, Any],
    local_server: Any = None,
    local_token: str | None = None,
) -> Backend:
    """Pick and build the transport: ``url`` if given; else OpenAI when a key resolves (argument
    or ``OPENAI_API_KEY``); else the embedded local server (``local_server`` is reused when the
    session already started one, with its ``local_token``; otherwise one is started with
    ``server_options`` and a new random token)."""
    from rtnb.transport import WebSocketTransport, realtime_url, resolve_api_key

    key = await resolve_api_key(api_key)
    if url:
        name = "local" if is_loopback_url(url) else "openai"
    elif key:
        name, url = "openai", realtime_url(model, call_id)
    elif call_id:
        raise ValueError("call_id attaches to an OpenAI SIP call and needs an API key")
    else:
        if local_server is None:
            from rtnb.local.server import start_local_server

            local_token = server_options.get("token") or secrets.token_urlsafe(32)
            local_server = await start_local_server(**{**server_options, "token": local_token})
        name = "local"
        url = f"{local_server.url}?{urlencode({'model': model})}"
        key = local_token
    log.info("rtnb session using the %s backend at %s", name, url)
    transport = WebSocketTransport(url, api_key=key, backend=name)
    return Backend(transport, name, local_server, local_token if name == "local" else None)
