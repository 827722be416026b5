"""rtnb: realtime voice agents in Jupyter.

The public API is the session layer's: agents, tools, the session, history items and events.
"""

from rtnb.session import *  # noqa: F403
from rtnb.session import __all__ as __all__
