"""Runs on Ray actors: each actor keeps one warm embedded server; rows stream back as they finish.

``rtnb.eval.run(suite, executor="ray", concurrency=N)`` starts ``N`` actors (``ray.init()`` on
this machine, or ``address=`` an existing cluster) and hands them the runs through
:class:`ray.util.ActorPool` (Ray schedules; nothing home-made). An actor starts its server once
(Whisper and the voice loaded once) and plays one run at a time in a fresh session; the driver
renders the user's speech (so every executor sends the same audio), scores and records.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any

from .execute import RunRecord
from .plan import RunSpec
from .scenarios import Suite

__all__ = ["INSTALL", "check_ray", "ray_records"]

INSTALL = "executor='ray' needs Ray: pip install 'rtnb[ray]'"


def check_ray() -> Any:
    """The ``ray`` module; :class:`ImportError` with the install command when it is missing."""
    try:
        import ray
    except ImportError:
        raise ImportError(INSTALL) from None
    return ray


class EvalActor:
    """A Ray actor's state: one embedded server, reused by every run it plays."""

    def __init__(
        self,
        agent: Any,
        suite: Suite,
        backend: str,
        server_options: Mapping[str, Any],
    ) -> None:
        from .agents import agent_factory

        self.make_agent = agent_factory(agent, suite.base_dir)
        self.suite = suite
        self.target: Any = None
        self.server = contextlib.AsyncExitStack()
        self.backend = backend
        self.server_options = dict(server_options)

    async def run(self, run: RunSpec, audio: dict[int, bytes]) -> RunRecord:
        from .execute import execute_run
        from .runner import embedded_target

        if self.target is None:  # the first run starts the actor's server, the next ones reuse it
            context = embedded_target(self.backend, self.server_options)
            self.target = await self.server.enter_async_context(context)
        return await execute_run(
            run,
            self.make_agent,
            audio,
            self.target,
            config=self.suite.config,
            model=self.suite.model,
        )


async def ray_records(
    runs: list[RunSpec],
    agent: Any,
    suite: Suite,
    backend: str,
    actors: int,
    address: str | None,
    server_options: Mapping[str, Any],
) -> AsyncIterator[RunRecord]:
    """Run records from ``actors`` Ray actors, as they finish."""
    ray = check_ray()
    from ray.util import ActorPool

    from .user_audio import render_turns

    if not ray.is_initialized():
        ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
    remote = ray.remote(num_cpus=1, max_concurrency=1)(EvalActor)
    handles = [remote.remote(agent, suite, backend, server_options) for _ in range(actors)]
    pool = ActorPool(handles)
    try:
        for run in runs:
            audio = await asyncio.to_thread(render_turns, run, suite.base_dir)
            pool.submit(lambda actor, job: actor.run.remote(*job), (run, audio))
        while pool.has_next():
            yield await asyncio.to_thread(pool.get_next_unordered)
    finally:
        for handle in handles:
            ray.kill(handle)
