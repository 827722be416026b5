"""The suite's parallel plan holds: tests that share a fixture run on one pytest-xdist worker.

``--dist loadgroup`` (pyproject.toml's addopts) groups tests by the ``xdist_group`` mark that
tests/conftest.py gives them; pytest-xdist carries the group in the test's node id. If a pytest or
pytest-xdist release drops it (pytest 9.2 with pytest-xdist 3.8 did, silently), every worker
builds every shared fixture (a JupyterLab, eleven notebook runs, the analysis conversations) and
the suite takes minutes longer. Run without xdist (``-n 0``) there is nothing to check.
"""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="module")
def shared() -> str:
    return "made once for this module"


def test_tests_sharing_a_fixture_carry_their_group(
    shared: str, request: pytest.FixtureRequest
) -> None:
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        pytest.skip("not run by a pytest-xdist worker (-n 0)")
    assert request.node.nodeid.endswith("@tests/test_xdist_groups.py"), request.node.nodeid
