"""Hosted MCP tools on the local server, as the OpenAI Realtime service runs them.

- :mod:`~rtnb.local.mcp.client`: one connection to one remote MCP server (streamable HTTP);
- :mod:`~rtnb.local.mcp.tools`: the MCP servers of one connection: connect, list, offer, call;
- :mod:`~rtnb.local.mcp.steps`: the MCP part of a response (approval requests, calls, results);
- :mod:`~rtnb.local.mcp.demo_server`: a small MCP server for tests and the tutorials
  (:func:`~rtnb.local.mcp.demo_server.start_demo_mcp_server`).

The ``mcp`` package is optional: ``pip install 'rtnb[mcp]'``.
"""
