"""Evaluate a voice agent over many spoken scenarios (``rtnb eval``, ``rtnb.eval.run``).

A suite (:mod:`rtnb.eval.scenarios`, YAML or Python) lists scenarios: the simulated user's turns
(spoken by the local TTS in several voices, with noise, typed, approving tool calls, barging in)
and expectations about what the agent did. Every scenario runs for every variant and repeat, each
run in a fresh session, recorded; the results are frames, pass rates with intervals, plots,
comparisons and replays (:class:`EvalResults`)::

    results = await rtnb.eval.run("suite.yaml", concurrency=2)
    results.summary(by="voice")
    results.replay(results.failed[0].run.index)

Needs the ``eval`` extra (pyyaml, tqdm, pandas); ``executor="ray"`` the ``ray`` extra.
"""

from .compare import Comparison
from .expectations import Check
from .plan import RunSpec
from .results import EvalResults, RunResult
from .runner import as_suite, run, run_sync
from .scenarios import Expectation, Scenario, Suite, SuiteError, Turn, load_suite, parse_suite
from .wer import align_words, repeats_a_phrase, word_error_rate, word_errors

__all__ = [
    "Check",
    "Comparison",
    "EvalResults",
    "Expectation",
    "RunResult",
    "RunSpec",
    "Scenario",
    "Suite",
    "SuiteError",
    "Turn",
    "align_words",
    "as_suite",
    "load_suite",
    "parse_suite",
    "repeats_a_phrase",
    "run",
    "run_sync",
    "word_error_rate",
    "word_errors",
]


def __getattr__(name: str) -> object:
    if name == "last_results":  # the runner's, read at access time
        from . import runner

        return runner.last_results
    raise AttributeError(f"module 'rtnb.eval' has no attribute {name!r}")
