"""Evaluation tests run suites for real: fresh sessions over a socket to the embedded server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

SUITES = Path(__file__).parent / "suites"


@pytest.fixture
def shop(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The base of a suite on the shop's agents (scenarios to be added), run offline."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("RTNB_LLM_URL", raising=False)
    monkeypatch.syspath_prepend(str(SUITES))
    return {"agent": "shop_agents:support_agent", "timeout_s": 60}


def suite(base: dict[str, Any], *scenarios: dict[str, Any], **keys: Any) -> dict[str, Any]:
    """``base`` with ``scenarios`` and more keys."""
    return base | {"scenarios": list(scenarios)} | keys


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: starts a local Ray (tens of seconds)")
