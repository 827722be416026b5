"""Tutorial notebook tests: run them (``pytest -m notebooks``), keep them clean, check Binder.

The fresh-environment Binder build is marked ``slow`` (about a minute with a warm pip cache);
CI runs it like every other test; ``-m "not slow"`` leaves it out locally. The markers are
registered in pyproject.toml.
"""
