"""Browser tests: JupyterLab in headless Debian chromium (see tests/browser/lab.py).

Run only these with ``pytest -m browser``. They are skipped when chromium, JupyterLab or
Playwright is missing, except in CI (``CI`` set), where that is an error.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from .lab import CHROMIUM


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives JupyterLab in headless chromium")


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is not installed (apt-get install chromium)"
    for module in ("playwright", "jupyterlab"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed (pip install -e '.[test]')"
    return None


@pytest.fixture(autouse=True)
def browser_requirements() -> None:
    missing = _missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests must run in CI: {missing}")
        pytest.skip(missing)
