"""One run: a fresh session, the scenario's turns, everything recorded, never an exception.

Whatever happens (a hung answer, a crashing agent factory, a server error), the run ends with a
:class:`RunRecord`: its status, its error and the records made until then. Only cancellation
(Ctrl-C) goes through, after the session is closed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rtnb.analysis.observer import SessionObserver
from rtnb.analysis.records import Record

from .agents import AgentFactory
from .guardrail_probe import GuardrailProbe
from .plan import RunSpec
from .turns import play_turns

__all__ = ["RunRecord", "Target", "execute_run"]


@dataclass(frozen=True)
class Target:
    """Where the sessions of runs connect.

    ``backend`` is ``"local"`` (the embedded server at ``url``, which the runner started, with
    its ``token``) or ``"openai"`` (the OpenAI Realtime API, key from the environment).
    """

    backend: str
    url: str | None = None
    token: str | None = None

    @property
    def realtime(self) -> bool:
        """Whether the user's speech is paced at real time (the embedded server needs not)."""
        return self.backend != "local"


@dataclass
class RunRecord:
    """What a run left: ``status`` ``"done"``, ``"timeout"`` or ``"error"``, and its records."""

    index: int
    status: str
    error: str | None
    records: list[Record]
    wall_s: float


async def execute_run(
    run: RunSpec,
    make_agent: AgentFactory,
    audio: dict[int, bytes],
    target: Target,
    *,
    config: Mapping[str, Any] | None = None,
    model: str | None = None,
) -> RunRecord:
    """Play ``run`` in a fresh session to ``target``; return its record (never raises, except
    :class:`asyncio.CancelledError`)."""
    from rtnb.session.session import DEFAULT_MODEL, RealtimeSession

    start = time.perf_counter()
    session: Any = None
    observer: SessionObserver | None = None
    turn = [0]
    status, error = "done", None
    try:
        url = None
        if target.url is not None:
            url = f"{target.url}?model={model or DEFAULT_MODEL}"
        probe = GuardrailProbe()
        session = RealtimeSession(
            probe.instrument(make_agent()),
            model=model or DEFAULT_MODEL,
            config=dict(config) if config else None,
            url=url,
            api_key=target.token,
        )
        observer = SessionObserver(session, audio=True)
        await asyncio.wait_for(
            _converse(session, run, audio, observer, target, turn, probe), run.timeout_s
        )
    except asyncio.TimeoutError:
        status = "timeout"
        action = run.scenario.turns[turn[0]].action
        error = f"no end after {run.timeout_s:g} s, in turn {turn[0]} ({action})"
    except Exception as exc:
        status, error = "error", f"{type(exc).__name__}: {exc}"
    finally:
        if session is not None:
            await session.close()
    return RunRecord(
        run.index,
        status,
        error,
        list(observer.records) if observer is not None else [],
        time.perf_counter() - start,
    )


async def _converse(
    session: Any,
    run: RunSpec,
    audio: dict[int, bytes],
    observer: SessionObserver,
    target: Target,
    turn: list[int],
    probe: GuardrailProbe,
) -> None:
    await session.connect()

    def started(index: int) -> None:
        turn[0] = index

    await play_turns(
        session, run, audio, observer, realtime=target.realtime, on_turn=started, probe=probe
    )
