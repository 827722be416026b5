"""rtnb: realtime voice agents in Jupyter."""
