"""The observed local-server conversation the analysis tests share (one per module)."""

from __future__ import annotations

import asyncio

import pandas  # noqa: F401  # a test dependency: missing, the tests fail (never skipped)
import pytest

from rtnb import RealtimeSession
from rtnb.analysis import SessionObserver

from .conversation import converse


@pytest.fixture(scope="module")
def conversation() -> tuple[RealtimeSession, SessionObserver]:
    return asyncio.run(converse())
