"""Start and stop the embedded local realtime server.

>>> server = await start_local_server()          # ws://127.0.0.1:<ephemeral>/v1/realtime
>>> ...                                          # connect any Realtime client to server.url
>>> await server.close()
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server
from websockets.http11 import Request

from rtnb.local.connection import RealtimeConnection
from rtnb.local.policy.chat import ChatPolicy
from rtnb.local.policy.deterministic import Policy
from rtnb.local.policy.llm_config import LlmConfig, llm_config
from rtnb.local.speech.stt import SttChoice, check_stt, load_stt
from rtnb.local.speech.tts import default_tts_engine, synthesize
from rtnb.local.speech.vad import ServerVad
from rtnb.local.speech.whisper import DEFAULT_BEAM_SIZE, check_beam_size
from rtnb.transport.base import is_loopback_host
from rtnb.transport.server import REALTIME_PATH, Send, serve_realtime

__all__ = ["LocalServer", "start_local_server"]


@dataclass
class LocalServer:
    """A running local server; ``url`` is its Realtime endpoint."""

    host: str
    port: int
    _server: Server
    _chat: ChatPolicy | None = None
    engines: dict[str, str] = field(default_factory=dict)
    """The speech engines each connection runs: ``{"stt": ..., "vad": ...}``."""

    @property
    def url(self) -> str:
        """``ws://HOST:PORT/v1/realtime``; add ``?model=...`` as with the OpenAI endpoint."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ws://{host}:{self.port}{REALTIME_PATH}"

    async def close(self) -> None:
        """Stop accepting connections and close the open ones."""
        self._server.close()
        await self._server.wait_closed()
        if self._chat is not None:
            await self._chat.aclose()

    async def __aenter__(self) -> LocalServer:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"LocalServer(url={self.url!r}, engines={self.engines!r})"


async def start_local_server(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    policy: Policy | None = None,
    realtime_pacing: bool = True,
    token: str | None = None,
    allowed_origins: list[str] | None = None,
    allow_remote: bool = False,
    llm: LlmConfig | Mapping[str, Any] | None = None,
    stt: SttChoice = None,
    stt_model: str | None = None,
    stt_beam_size: int = DEFAULT_BEAM_SIZE,
    vad: str = "auto",
    tts: str = "auto",
) -> LocalServer:
    """Serve the Realtime protocol offline at ``ws://host:port/v1/realtime``.

    ``port=0`` picks a free port. ``policy`` decides the assistant's replies (default:
    :func:`rtnb.local.policy.default_policy`). ``realtime_pacing=False`` streams audio as fast as
    it is made (tests). ``llm`` (an :class:`~rtnb.local.policy.llm_config.LlmConfig` or a dict with
    ``base_url``, ``model`` and optionally ``api_key``, ``timeout_s``, ``temperature``) lets an
    OpenAI-compatible chat model answer instead; without ``policy`` or ``llm`` the
    ``RTNB_LLM_URL``/``RTNB_LLM_MODEL``/``RTNB_LLM_API_KEY`` environment picks one, if set.
    ``token``, when set, must be presented by clients as
    ``Authorization: Bearer``. Binding a non-loopback address needs ``allow_remote=True``.

    ``stt`` chooses the speech-to-text engine (``"whisper"``, ``"pocketsphinx"``, a function
    ``(pcm16, sample_rate, prompt) -> str``; default: Whisper when the ``speech`` extra is
    installed), ``stt_model`` a Whisper model name or directory (default: the bundled tiny.en),
    ``stt_beam_size`` Whisper's decoding beam (5; 1 is greedy: faster, less accurate),
    ``vad`` the voice activity detector (``"auto"``, ``"silero"``, ``"webrtc"``) and ``tts``
    the assistant's voice (``"auto"``: piper when installed, ``"piper"``, ``"espeak"``). Bad options
    raise :class:`~rtnb.local.speech.stt.SpeechEngineError` (or ``ValueError``) before anything is
    served; a model file that fails its hash check raises
    :class:`~rtnb.local.speech.whisper.ModelFileError`.
    """
    if not allow_remote and not is_loopback_host(host):
        raise ValueError(
            f"host {host!r} is not a loopback address; pass allow_remote=True (rtnb serve "
            "--allow-remote) to expose the "
            "server to other machines"
        )

    check_stt(stt)
    check_beam_size(stt_beam_size)
    vad_engine = ServerVad(engine=vad).engine  # raises on an unknown name
    # Loads Whisper once, here.
    stt_engine = await asyncio.to_thread(load_stt, stt, stt_model, stt_beam_size)
    tts_engine = await asyncio.to_thread(_ready_tts, tts)
    engines = {"stt": _stt_label(stt_engine), "vad": vad_engine, "tts": tts_engine}
    config = llm_config(llm) if policy is None or llm is not None else None
    chat = ChatPolicy(config) if config is not None else None
    engines["policy"] = (
        f"chat ({config.model})" if config else "custom" if policy else "deterministic"
    )
    policy = chat or policy

    def handler_factory(send: Send, request: Request) -> RealtimeConnection:
        model = parse_qs(urlsplit(request.path).query).get("model", [None])[0]
        return RealtimeConnection(
            send,
            model=model,
            policy=policy,
            realtime_pacing=realtime_pacing,
            stt=load_stt(stt, stt_model, stt_beam_size),
            vad_engine=vad_engine,
            tts_engine=tts_engine,
        )

    server = await serve_realtime(
        handler_factory, host, port, token=token, allowed_origins=allowed_origins
    )
    bound_port = next(iter(server.sockets)).getsockname()[1]
    return LocalServer(host, bound_port, server, chat, engines)


def _ready_tts(engine: str) -> str:
    """Check the ``tts`` option and load the neural voice once, here, not on the first answer."""
    synthesize("Ready.", engine=engine)  # raises for an unknown or missing engine
    return default_tts_engine() if engine == "auto" else engine


def _stt_label(engine: object) -> str:
    name = str(getattr(engine, "name", "custom"))
    model = getattr(engine, "model_name", None)
    return f"{name} ({model})" if model else name
