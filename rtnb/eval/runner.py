"""Running a suite: ``await rtnb.eval.run(suite)`` in a cell, :func:`run_sync` in a script.

In process, runs share one embedded server (started once, Whisper and the voice loaded once,
audio not paced at real time) and run ``concurrency`` at a time under an asyncio semaphore; each
run is its own session. ``executor="ray"`` sends them to Ray actors instead
(:mod:`rtnb.eval.ray_runner`). Rows arrive as runs finish, with a progress bar. A hung run is a
``timeout``, a crash an ``error``: the suite goes on. Ctrl-C (or cancelling the cell) stops the
suite and keeps the runs that finished (``results.interrupted``; after a cancelled cell they are
in :data:`last_results`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import tempfile
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

from rtnb.analysis.records import Record

from .agents import AgentFactory, agent_factory, check_agent
from .execute import RunRecord, Target, execute_run
from .expectations import score
from .facts import run_facts
from .judge import judge_check
from .plan import RunSpec, plan_runs
from .results import EvalResults, RunResult, run_status
from .scenarios import Suite, SuiteError, load_suite, parse_suite
from .user_audio import render_turns

__all__ = ["as_suite", "choose_backend", "last_results", "run", "run_sync"]

BACKENDS = ("local", "openai")
EXECUTORS = (None, "local", "ray")

last_results: EvalResults | None = None
"""The results of the latest suite run in this process (also when it was interrupted)."""


def as_suite(suite: Suite | Mapping[str, Any] | str | os.PathLike[str]) -> Suite:
    """A checked :class:`Suite` from a suite, its keys as a dict, or a YAML file path."""
    if isinstance(suite, Suite | Mapping):
        return parse_suite(suite)
    if isinstance(suite, str | os.PathLike):
        return load_suite(suite)
    raise SuiteError(f"a suite is a Suite, a dict or a YAML path, not {type(suite).__name__}")


def choose_backend(backend: str | None) -> str:
    """``"openai"`` with ``OPENAI_API_KEY`` set, else ``"local"``; an explicit choice is checked."""
    if backend is None:
        return "openai" if os.environ.get("OPENAI_API_KEY") else "local"
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if backend == "openai" and not os.environ.get("OPENAI_API_KEY"):
        raise ValueError("backend 'openai' needs OPENAI_API_KEY set")
    return backend


async def run(
    suite: Suite | Mapping[str, Any] | str | os.PathLike[str],
    agent: Any = None,
    concurrency: int = 2,
    executor: str | None = None,
    *,
    backend: str | None = None,
    address: str | None = None,
    record: str | os.PathLike[str] | None = None,
    llm: Any = None,
    server_options: Mapping[str, Any] | None = None,
    progress: bool = True,
    stop: asyncio.Event | None = None,
    on_result: Callable[[RunResult], None] | None = None,
) -> EvalResults:
    """Run every scenario x variant x repeat of ``suite``; return the :class:`EvalResults`.

    ``agent`` (an agent, a zero-argument factory or ``module:attribute``) replaces the suite's.
    ``concurrency`` runs go at once (``executor="ray"``: that many Ray actors, on the cluster at
    ``address`` or a local Ray). ``backend`` is ``"local"`` (the embedded server) or
    ``"openai"`` (default: OpenAI when ``OPENAI_API_KEY`` is set). Recordings (JSONL with audio)
    go to ``record`` (default: a new temporary folder). ``llm`` is the judge's chat model
    (default: the ``RTNB_LLM_*`` environment). ``server_options`` go to the embedded server.
    Setting ``stop`` ends the suite early, keeping finished runs, like Ctrl-C.

    Everything is checked before the first run: a bad suite raises
    :class:`~rtnb.eval.scenarios.SuiteError`.
    """
    global last_results
    checked = as_suite(suite)
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError(f"concurrency must be a whole number >= 1, got {concurrency!r}")
    if executor not in EXECUTORS:
        raise ValueError(f"executor must be None, 'local' or 'ray', got {executor!r}")
    source = agent if agent is not None else checked.agent
    make_agent = agent_factory(source, checked.base_dir)
    try:
        sample = make_agent()
    except Exception as exc:
        raise SuiteError(f"agent: the factory raised {type(exc).__name__}: {exc}") from exc
    check_agent(checked, sample)
    chosen = choose_backend(backend)
    if executor == "ray":
        from .ray_runner import check_ray

        check_ray()
    runs = plan_runs(checked)
    record_dir = Path(record) if record is not None else Path(tempfile.mkdtemp(prefix="rtnb-eval-"))
    record_dir.mkdir(parents=True, exist_ok=True)
    results = last_results = EvalResults(checked, record_dir)
    if executor == "ray":
        from .ray_runner import ray_records

        stream = ray_records(
            runs, source, checked, chosen, concurrency, address, server_options or {}
        )
    else:
        stream = _local_records(runs, make_agent, checked, chosen, concurrency, server_options)
    await _collect(stream, runs, results, llm, progress, stop, on_result)
    return results


async def _collect(
    stream: AsyncIterator[RunRecord],
    runs: list[RunSpec],
    results: EvalResults,
    llm: Any,
    progress: bool,
    stop: asyncio.Event | None,
    on_result: Callable[[RunResult], None] | None,
) -> None:
    from tqdm.auto import tqdm

    bar = tqdm(total=len(runs), desc="runs", unit="run", disable=not progress)
    stopped = asyncio.Event() if stop is None else stop
    stop_wait = asyncio.ensure_future(stopped.wait())
    iterator = stream.__aiter__()
    try:
        while True:
            step = asyncio.ensure_future(iterator.__anext__())
            done, _ = await asyncio.wait({step, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
            if step not in done:
                step.cancel()
                await asyncio.gather(step, return_exceptions=True)
                results.interrupted = True
                break
            try:
                record = step.result()
            except StopAsyncIteration:
                break
            result = await finish_run(runs[record.index], record, results.record_dir, llm)
            results.add(result)
            if on_result is not None:
                on_result(result)
            bar.update()
            bar.set_postfix(passed=f"{sum(r.passed for r in results.runs)}/{len(results)}")
    except (KeyboardInterrupt, asyncio.CancelledError):
        results.interrupted = True
        raise
    finally:
        stop_wait.cancel()
        close = getattr(iterator, "aclose", None)
        if close is not None:
            await close()
        bar.close()


async def _local_records(
    runs: list[RunSpec],
    make_agent: AgentFactory,
    suite: Suite,
    backend: str,
    concurrency: int,
    server_options: Mapping[str, Any] | None,
) -> AsyncIterator[RunRecord]:
    """Run records in this process as they finish (one embedded server for all runs)."""
    async with embedded_target(backend, server_options) as target:
        semaphore = asyncio.Semaphore(concurrency)

        async def one(run: RunSpec) -> RunRecord:
            async with semaphore:
                audio = await asyncio.to_thread(render_turns, run, suite.base_dir)
                return await execute_run(
                    run, make_agent, audio, target, config=suite.config, model=suite.model
                )

        tasks = [asyncio.ensure_future(one(r)) for r in runs]
        try:
            for finished in asyncio.as_completed(tasks):
                yield await finished
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


@contextlib.asynccontextmanager
async def embedded_target(
    backend: str, server_options: Mapping[str, Any] | None = None
) -> AsyncIterator[Target]:
    """Where the runs connect: for ``"local"`` an embedded server started here (audio not paced
    at real time, a random token), stopped on exit; else the OpenAI API."""
    if backend != "local":
        yield Target(backend)
        return
    from rtnb.local.server import start_local_server

    options = {"realtime_pacing": False} | dict(server_options or {})
    token = options.pop("token", None) or secrets.token_urlsafe(16)
    server = await start_local_server(token=token, **options)
    try:
        yield Target("local", server.url, token)
    finally:
        await server.close()


async def finish_run(
    run: RunSpec, record: RunRecord, record_dir: Path | None, llm: Any = None
) -> RunResult:
    """Score a run's records (judges included), write its recording; its :class:`RunResult`."""
    facts = run_facts(record.records)
    checks = score(run.scenario.expect, facts)
    for i, expectation in enumerate(run.scenario.expect):
        if expectation.kind == "judge":
            checks[i] = await judge_check(expectation, facts, llm)
    status, tool_error = run_status(record.status, checks, facts)
    recording = None
    if record_dir is not None:
        recording = record_dir / f"run-{run.index:04d}.jsonl"
        await asyncio.to_thread(write_recording, recording, record.records, run)
    return RunResult(
        run=run,
        status=status,
        error=record.error or tool_error,
        checks=checks,
        facts=facts,
        wall_s=record.wall_s,
        records=[_without_audio(r) for r in record.records],
        recording=recording,
    )


def write_recording(path: Path, records: list[Record], run: RunSpec) -> None:
    """A run's records as a JSONL recording (:mod:`rtnb.widgets.record`'s format)."""
    from rtnb.widgets.record import FORMAT_VERSION

    header = {"t": 0.0, "event": "recording", "version": FORMAT_VERSION, "agent": None}
    header |= {"eval_run": run.index, "scenario": run.scenario.name, "voice": run.voice}
    with path.open("w", encoding="utf-8") as file:
        for record in (header, *records):
            file.write(json.dumps(record, separators=(",", ":")) + "\n")


def _without_audio(record: Record) -> Record:
    return {k: v for k, v in record.items() if k != "pcm"} if "pcm" in record else record


def run_sync(
    suite: Suite | Mapping[str, Any] | str | os.PathLike[str],
    agent: Any = None,
    concurrency: int = 2,
    executor: str | None = None,
    **options: Any,
) -> EvalResults:
    """:func:`run` for scripts (no running event loop): Ctrl-C returns the runs that finished."""
    import signal

    async def main() -> EvalResults:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGINT, stop.set)  # not in a thread, nor on Windows
        try:
            return await run(suite, agent, concurrency, executor, stop=stop, **options)
        finally:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(signal.SIGINT)

    return asyncio.run(main())
