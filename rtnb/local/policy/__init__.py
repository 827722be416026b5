"""What the local server's assistant says or does: response policies.

A policy is a plain callable: it sees the conversation and the session's instructions and tools
(:class:`PolicyInput`) and returns text to say (:class:`Say`) or a tool to call
(:class:`CallTool`). Pass one as ``server_options={"policy": ...}``.

- :mod:`~rtnb.local.policy.deterministic`: :func:`default_policy`, the same answer on every run
  (tutorials and tests), with :mod:`~rtnb.local.policy.numbers` reading numbers in speech;
- :mod:`~rtnb.local.policy.chat`: any OpenAI-compatible Chat Completions model, streamed
  (:mod:`~rtnb.local.policy.llm_config` chooses it, :mod:`~rtnb.local.policy.chat_messages` maps
  the conversation to its request, :mod:`~rtnb.local.policy.chat_responder` turns its stream into
  Realtime output items); :mod:`~rtnb.local.policy.chat_demo` is a scripted model server for
  tests and the tutorials.
"""

from rtnb.local.policy.deterministic import (
    CallTool,
    Item,
    Policy,
    PolicyInput,
    Reply,
    Say,
    default_policy,
    item_text,
)

__all__ = [
    "CallTool",
    "Item",
    "Policy",
    "PolicyInput",
    "Reply",
    "Say",
    "default_policy",
    "item_text",
]
