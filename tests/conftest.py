"""Suite-wide: in CI (``CI`` set, as ``.ci/run`` does) no test may vanish as a skip.

Every test dependency is in the ``test`` extra, so a skip in CI means something is missing: it is
reported as a failure. The only skips kept are for outside services CI is not given an address
for (``ALLOWED_IN_CI``).
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
