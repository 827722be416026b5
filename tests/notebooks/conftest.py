"""Tutorial notebook tests: run them (``pytest -m notebooks``), keep them clean, check Binder.

The fresh-environment Binder build is marked ``slow`` (about a minute with a warm pip cache);
CI runs it like every other test; ``-m "not slow"`` leaves it out locally.
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "notebooks: executes the tutorial notebooks")
    config.addinivalue_line("markers", "slow: builds a fresh environment (about a minute)")
