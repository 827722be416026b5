"""Muting the user's audio input (``RealtimeSession.muted`` and ``RealtimeSession.mute``).

Muting needs a transport that owns the audio input and implements
:class:`rtnb.transport.base.Mutable` (the in-memory ``ScriptedTransport`` does). The WebSocket
transport does not: there the microphone belongs to the caller (stop calling ``send_audio``), so
``RealtimeSession.muted`` is ``None`` and ``RealtimeSession.mute`` raises
:class:`MuteNotSupportedError`.
"""

from __future__ import annotations

from rtnb.transport.base import Mutable, Transport


class MuteNotSupportedError(NotImplementedError):
    """The session's transport cannot mute the audio input."""


def is_muted(transport: Transport | None) -> bool | None:
    """Whether ``transport`` mutes the audio input; ``None`` when it cannot mute."""
    return transport.muted if isinstance(transport, Mutable) else None


def set_muted(transport: Transport | None, muted: bool) -> None:
    """Mute (or unmute) the audio input of ``transport``.

    Raises :class:`MuteNotSupportedError` when the transport cannot mute.
    """
    if not isinstance(transport, Mutable):
        name = type(transport).__name__ if transport is not None else "the default transport"
        raise MuteNotSupportedError(
            f"{name} cannot mute the audio input; stop calling send_audio() instead "
            "(muting needs a transport implementing rtnb.transport.base.Mutable)"
        )
    transport.set_muted(bool(muted))
