"""The observed local-server conversation the analysis tests share (one per module)."""

from __future__ import annotations

import asyncio

import pytest

from rtnb import RealtimeSession
from rtnb.analysis import SessionObserver

from .conversation import converse

pytest.importorskip("pandas")


@pytest.fixture(scope="module")
def conversation() -> tuple[RealtimeSession, SessionObserver]:
    return asyncio.run(converse())
