"""The observed local-server conversations the analysis tests share (one each per module)."""

from __future__ import annotations

import asyncio

import pandas  # noqa: F401  # a test dependency: missing, the tests fail (never skipped)
import pytest

from rtnb import RealtimeSession
from rtnb.analysis import SessionObserver

from .conversation import PacedConversation, converse, converse_paced


@pytest.fixture(scope="module")
def conversation() -> tuple[RealtimeSession, SessionObserver]:
    return asyncio.run(converse())


@pytest.fixture(scope="module")
def paced() -> PacedConversation:
    return asyncio.run(converse_paced())
