"""A suite as a list of runs: every scenario x every combination of variants x every repeat."""

from __future__ import annotations

import itertools
import zlib
from dataclasses import dataclass

from .scenarios import VARIANT_KEYS, Scenario, Suite

__all__ = ["RunSpec", "plan_runs"]


@dataclass(frozen=True)
class RunSpec:
    """One run of one scenario: its variant, its repeat, its noise seed and its time limit."""

    index: int
    scenario: Scenario
    voice: str
    """The simulated user's voice (the local TTS's default user voice when the suite has none)."""
    noise_db: float | None
    speed: float
    repeat: int
    seed: int
    timeout_s: float


def plan_runs(suite: Suite) -> list[RunSpec]:
    """The runs of ``suite``, scenario by scenario, in a stable order (their ``index``)."""
    from rtnb.local.speech.tts import USER_VOICE

    grid = suite.variant_grid
    runs: list[RunSpec] = []
    for scenario in suite.scenarios:
        for values in itertools.product(*(grid[key] for key in VARIANT_KEYS)):
            variant = dict(zip(VARIANT_KEYS, values, strict=True))
            for repeat in range(suite.repeats):
                key = f"{suite.seed}|{scenario.name}|{variant}|{repeat}"
                runs.append(
                    RunSpec(
                        index=len(runs),
                        scenario=scenario,
                        voice=variant["voice"] or USER_VOICE,
                        noise_db=variant["noise_db"],
                        speed=variant["speed"],
                        repeat=repeat,
                        seed=zlib.crc32(key.encode("utf-8")),
                        timeout_s=scenario.timeout_s or suite.timeout_s,
                    )
                )
    return runs
