"""Suite-wide: in CI (``CI`` set, as ``.ci/run`` does) no test may vanish as a skip; the tests
run on pytest-xdist workers, one more than the cores.

Every test dependency is in the ``test`` extra, so a skip in CI means something is missing: it is
reported as a failure. The only skips kept are for outside services CI is not given an address
for (``ALLOWED_IN_CI``).

Many tests wait on real-time audio, a browser or a subprocess, so workers (``-n auto
--dist loadgroup`` in pyproject.toml's addopts; ``-n 0`` runs in one process) divide the suite's
time: with one worker per core the cores still sat idle a third of the time, so there is one
more (:func:`pytest_xdist_auto_num_workers`). Tests that share a fixture made once for many tests
run on one worker (:func:`pytest_collection_modifyitems`; tests/test_xdist_groups.py checks
that pytest-xdist keeps the groups).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

# Skip reasons that are not a missing dependency: a real model server only a developer has.
ALLOWED_IN_CI = ("RTNB_TEST_LLM_URL",)


def _fail_skip_in_ci(report: pytest.TestReport | pytest.CollectReport) -> None:
    if not (os.environ.get("CI") and report.skipped) or hasattr(report, "wasxfail"):
        return
    longrepr = report.longrepr
    reason = str(longrepr[2]) if isinstance(longrepr, tuple) else str(longrepr)
    if any(allowed in reason for allowed in ALLOWED_IN_CI):
        return
    report.outcome = "failed"
    report.longrepr = f"skipped in CI, where every test dependency must be installed: {reason}"


SCOPES = ("module", "package", "session")


def _shared_fixture_home(item: pytest.Item) -> str | None:
    """Where the widest fixture of this project that outlives a test is defined (a module or a
    folder's conftest), or None when the test uses none."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return None
    homes = [
        (SCOPES.index(fixturedef.scope), fixturedef.baseid)
        for name in info.names_closure
        for fixturedef in info.name2fixturedefs.get(name, ())
        # baseid is "" for the fixtures of pytest and its plugins
        if fixturedef.baseid and fixturedef.scope in SCOPES
    ]
    return max(homes)[1] if homes else None


MAX_WORKERS = 4
"""``-n auto`` uses at most this many workers: each loads the speech models (about 1 GB), and the
largest groups (browser, notebooks) take one worker each."""


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """The workers of ``-n auto``: one more than the cores this process may run on (the tests
    wait more than they compute: on 2 cores the suite took 374 s with 2 workers, 323 s with 3),
    at most ``MAX_WORKERS``."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min((cores or 1) + 1, MAX_WORKERS))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """With pytest-xdist (``-n``, pyproject.toml's addopts), tests that share a fixture wider
    than a test (one JupyterLab and chromium, the notebook runs, a loaded model, an observed
    conversation) run on one worker, so it is made once (``--dist loadgroup``)."""
    for item in items:
        home = _shared_fixture_home(item)
        if home is not None and item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(home))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    """A test (or its fixture) that skips."""
    outcome = yield
    _fail_skip_in_ci(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[None]:
    """A whole module that skips while it is collected (``importorskip`` at its top)."""
    outcome = yield
    _fail_skip_in_ci(outcome.get_result())
