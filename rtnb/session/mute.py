"""Muting the user's audio input (mixed into the session).

Muting needs a transport that owns the audio input and implements
:class:`rtnb.transport.base.Mutable` (the in-memory ``ScriptedTransport`` does). The WebSocket
transport does not: there the microphone belongs to the caller (stop calling ``send_audio``), so
:attr:`Muting.muted` is ``None`` and :meth:`Muting.mute` raises :class:`MuteNotSupportedError`.
"""

from __future__ import annotations

from rtnb.transport.base import Mutable, Transport


class MuteNotSupportedError(NotImplementedError):
    """The session's transport cannot mute the audio input."""


class Muting:
    """``muted`` and ``mute()`` of a session (the session provides ``_transport``)."""

    _transport: Transport | None

    @property
    def muted(self) -> bool | None:
        """Whether the audio input is muted; ``None`` when the transport cannot mute."""
        transport = self._transport
        return transport.muted if isinstance(transport, Mutable) else None

    def mute(self, muted: bool = True) -> None:
        """Mute (or, with ``False``, unmute) the audio input.

        While muted, ``send_audio`` drops the audio (and a ``commit``): the model hears nothing.
        Raises :class:`MuteNotSupportedError` when the transport cannot mute.
        """
        transport = self._transport
        if not isinstance(transport, Mutable):
            name = type(transport).__name__ if transport is not None else "the default transport"
            raise MuteNotSupportedError(
                f"{name} cannot mute the audio input; stop calling send_audio() instead "
                "(muting needs a transport implementing rtnb.transport.base.Mutable)"
            )
        transport.set_muted(bool(muted))
