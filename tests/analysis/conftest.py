"""The observed local-server conversations the analysis tests share: each runs once per test
session (the tests only read them), not once per module."""

from __future__ import annotations

import asyncio

import pandas  # noqa: F401  # a test dependency: missing, the tests fail (never skipped)
import pytest

from rtnb import RealtimeSession
from rtnb.analysis import SessionObserver

from .conversation import PacedConversation, converse, converse_paced


@pytest.fixture(scope="session")
def conversation() -> tuple[RealtimeSession, SessionObserver]:
    return asyncio.run(converse())


@pytest.fixture(scope="session")
def paced() -> PacedConversation:
    return asyncio.run(converse_paced())
