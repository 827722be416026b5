"""Browser tests: JupyterLab in headless Debian chromium (see tests/browser/lab.py).

Run only these with ``pytest -m browser``. They are skipped when chromium, JupyterLab or
Playwright is missing, except in CI (``CI`` set), where that is an error.
"""

from __future__ import annotations

import os

import pytest

from .lab import missing_requirements


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives JupyterLab in headless chromium")


@pytest.fixture(autouse=True)
def browser_requirements() -> None:
    missing = missing_requirements()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests must run in CI: {missing}")
        pytest.skip(missing)
