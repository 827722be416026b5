"""The embedded local server: the OpenAI Realtime protocol served offline on loopback.

The server core is this package: :mod:`~rtnb.local.server` starts it,
:mod:`~rtnb.local.connection` reads and dispatches one connection's client events to its parts
(:mod:`~rtnb.local.input_pipeline` and :mod:`~rtnb.local.input_audio` for the input audio,
:mod:`~rtnb.local.responses` for items and responses, streamed by :mod:`~rtnb.local.responder`
and :mod:`~rtnb.local.response_run`), :mod:`~rtnb.local.conversation` keeps the items and
:mod:`~rtnb.local.session_config` the session. The subpackages hold what the core uses:

- :mod:`rtnb.local.speech`: voice activity detection, speech to text, text to speech;
- :mod:`rtnb.local.policy`: what the assistant says or does (deterministic, or a chat model);
- :mod:`rtnb.local.mcp`: hosted MCP tools (client, listing, calls, a demo server).
"""
