"""rtnb: realtime voice agents in Jupyter.

The public API is the session layer's: agents, tools, the session, history items and events;
plus :func:`speak`, which talks to a session without a microphone (see :mod:`rtnb.speech`).
"""

from rtnb.session import *  # noqa: F403
from rtnb.session import __all__ as _session_all
from rtnb.speech import speak

__all__ = [*_session_all, "speak"]
