"""Two results of the same suite side by side: which runs flipped, and whether the change in
pass rate is larger than chance (McNemar's exact test on the paired runs)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .stats import mcnemar_p

if TYPE_CHECKING:
    from .results import EvalResults

__all__ = ["Comparison", "compare"]

KEY = ["scenario", "voice", "noise_db", "speed", "repeat"]
SIGNIFICANCE = 0.05


@dataclass(repr=False)
class Comparison:
    """``before`` and ``after`` results of the same runs.

    ``flips`` holds the runs whose ``passed`` changed (``change``: ``fixed`` or ``broke``);
    ``p_value`` is McNemar's exact test on them; ``significant`` is ``p_value < 0.05``.
    """

    runs: int
    before_rate: float
    after_rate: float
    fixed: int
    broke: int
    p_value: float
    flips: Any

    @property
    def difference(self) -> float:
        """``after_rate - before_rate``."""
        return self.after_rate - self.before_rate

    @property
    def significant(self) -> bool:
        """Whether the change is larger than chance (McNemar p < 0.05)."""
        return self.p_value < SIGNIFICANCE

    def __str__(self) -> str:
        verdict = "larger than chance" if self.significant else "within chance"
        return (
            f"pass rate {self.before_rate:.0%} -> {self.after_rate:.0%} over {self.runs} paired "
            f"runs ({self.difference:+.0%}): {self.fixed} fixed, {self.broke} broke, "
            f"McNemar p = {self.p_value:.3g}, {verdict}"
        )

    def __repr__(self) -> str:
        flips = "" if self.flips.empty else "\n" + self.flips.to_string(index=False)
        return str(self) + flips

    def _repr_html_(self) -> str:
        from html import escape

        from rtnb.analysis.display import html_table

        return f"<p>{escape(str(self))}</p>" + html_table(self.flips)


def compare(before: EvalResults, after: EvalResults) -> Comparison:
    """Pair the runs of ``before`` and ``after`` by scenario, variant and repeat; compare."""
    from rtnb.analysis.display import BlankFrame

    a, b = before.frame, after.frame
    paired = a[[*KEY, "passed"]].merge(
        b[[*KEY, "passed", "failures"]], on=KEY, suffixes=("_before", "_after")
    )
    if paired.empty:
        raise ValueError("the two results have no run in common (not the same suite?)")
    changed = paired[paired["passed_before"] != paired["passed_after"]].copy()
    changed["change"] = changed["passed_after"].map({True: "fixed", False: "broke"})
    fixed = int((changed["change"] == "fixed").sum())
    broke = int((changed["change"] == "broke").sum())
    flips = changed[[*KEY, "change", "failures"]].reset_index(drop=True)
    return Comparison(
        runs=len(paired),
        before_rate=float(paired["passed_before"].mean()),
        after_rate=float(paired["passed_after"].mean()),
        fixed=fixed,
        broke=broke,
        p_value=mcnemar_p(fixed, broke),
        flips=BlankFrame(flips),
    )
