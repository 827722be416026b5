"""``rtnb demo``: a spoken question to a tool-using agent on the embedded local server.

:mod:`~rtnb.demo.run` runs the conversation and prints it; :mod:`~rtnb.demo.turn` says when the
turn is over (an answer with audio, or the reason there is none).
"""
