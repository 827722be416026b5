"""Browser tests: JupyterLab in headless Debian chromium (see tests/browser/lab.py).

Run only these with ``pytest -m browser``. They are skipped when chromium, JupyterLab or
Playwright is missing, except in CI (``CI`` set), where that is an error.

One JupyterLab and one chromium serve all of them (starting each takes seconds to tens of
seconds on a busy machine): a test asks for ``lab`` (a folder, a workspace and kernels of its
own in the shared JupyterLab, reset after it) and ``chromium`` (pages in fresh browser contexts,
with the fake microphone playing the test's file: :meth:`~tests.browser.lab.Chromium.new_page`).
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterator

import pytest

from .lab import Chromium, Lab, chromium_with_fake_mic, jupyter_lab, missing_requirements

_numbers = itertools.count(1)
_shared_chromium: list[Chromium] = []  # the package's, while it exists


def require_browser() -> None:
    """Skip (fail in CI) when the browser tests cannot run here."""
    missing = missing_requirements()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests must run in CI: {missing}")
        pytest.skip(missing)


@pytest.fixture(autouse=True)
def browser_requirements() -> None:
    require_browser()


@pytest.fixture(scope="package")
def shared_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The JupyterLab of every browser test (started when the first one asks)."""
    require_browser()
    with jupyter_lab(tmp_path_factory.mktemp("lab")) as running:
        yield running


@pytest.fixture
def lab(shared_lab: Lab, request: pytest.FixtureRequest) -> Iterator[Lab]:
    """The shared JupyterLab seen from this test's folder and workspace; after the test its
    kernels are stopped and the settings it changed dropped."""
    name = f"{next(_numbers):02d}-{re.sub(r'[^a-z0-9]+', '-', request.node.name.lower())[:48]}"
    try:
        yield shared_lab.for_test(name.strip("-"))
    finally:
        shared_lab.reset()


@pytest.fixture(scope="package")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    """The chromium of every browser test; each page comes in a fresh context."""
    require_browser()
    with chromium_with_fake_mic(tmp_path_factory.mktemp("chromium")) as running:
        _shared_chromium.append(running)
        try:
            yield running
        finally:
            _shared_chromium.remove(running)


@pytest.fixture(autouse=True)
def own_playwright(request: pytest.FixtureRequest) -> None:
    """A test without ``chromium`` may start Playwright itself (``launch_with_fake_mic``), and
    Playwright's sync API runs one instance per thread at a time: the shared browser stops
    first (the next test that uses it starts it again)."""
    if "chromium" not in request.fixturenames:
        for running in _shared_chromium:
            running.close()
