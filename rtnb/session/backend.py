"""Which server a session talks to, in order: an explicit URL, the OpenAI API, the local server.

A plain function of the session's settings, so the choice is easy to read and to test. The API key
goes into the transport's ``Authorization`` header and nowhere else.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
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


async def open_backend(
    *,
    model: str,
    api_key: ApiKey | None,
    url: str | None,
    call_id: str | None,
    server_options: Mapping[str, Any],
    local_server: Any = None,
) -> Backend:
    """Pick and build the transport: ``url`` if given; else OpenAI when a key resolves (argument
    or ``OPENAI_API_KEY``); else the embedded local server (``local_server`` is reused when the
    session already started one, otherwise one is started with ``server_options``)."""
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

            local_server = await start_local_server(**server_options)
        name = "local"
        url = f"{local_server.url}?{urlencode({'model': model})}"
        key = server_options.get("token")
    log.info("rtnb session using the %s backend at %s", name, url)
    return Backend(WebSocketTransport(url, api_key=key, backend=name), name, local_server)
