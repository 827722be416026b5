"""Plots of evaluation results, in the style of :mod:`rtnb.analysis.plots`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .results import EvalResults

__all__ = ["results_plot", "variant_columns"]

PASS_COLOR, LATENCY_COLOR = "tab:green", "tab:orange"


def variant_columns(results: EvalResults) -> list[str]:
    """The variant columns whose values differ between runs (else ``["scenario"]``)."""
    frame = results.frame
    varying = [c for c in ("voice", "noise_db", "speed") if frame[c].nunique(dropna=False) > 1]
    return varying or ["scenario"]


def _label(values: Any, keys: list[str]) -> str:
    values = values if isinstance(values, tuple) else (values,)
    parts = []
    for key, value in zip(keys, values, strict=True):
        if key == "noise_db":
            parts.append("clean" if value is None or value != value else f"{value:g} dB")
        elif key == "speed":
            parts.append(f"×{value:g}")
        else:
            parts.append(str(value))
    return " · ".join(parts)


def results_plot(results: EvalResults, by: str | Sequence[str] | None = None) -> Any:
    """Two panels: the pass rate per variant with its 95 % Wilson interval, and the first-audio
    latency of each run per variant (its median marked). Returns the two Axes.

    ``by`` picks the grouping columns (default: the variant columns that vary).
    """
    import matplotlib.pyplot as plt

    keys = variant_columns(results) if by is None else [by] if isinstance(by, str) else list(by)
    summary = results.summary(by=keys)
    frame = results.frame
    _fig, (rate_ax, latency_ax) = plt.subplots(
        1, 2, figsize=(9, max(2.2, 0.45 * len(summary) + 1.2)), layout="constrained"
    )
    labels = [_label(tuple(row[k] for k in keys), keys) for _, row in summary.iterrows()]
    rows = range(len(summary))
    rates = summary["pass_rate"].to_numpy()
    low = rates - summary["low"].to_numpy()
    high = summary["high"].to_numpy() - rates
    rate_ax.barh(rows, rates, color=PASS_COLOR, alpha=0.6)
    rate_ax.errorbar(rates, rows, xerr=[low, high], fmt="none", ecolor="0.2", capsize=3)
    for i, row in summary.iterrows():
        rate_ax.text(1.02, i, f"{row['passed']}/{row['runs']}", va="center", fontsize="small")
    rate_ax.set(title="Pass rate (95 % interval)", xlim=(0, 1.15), xlabel="runs passed")
    rate_ax.set_yticks(list(rows), labels)
    rate_ax.set_ylim(len(summary) - 0.5, -0.5)
    groups = frame.groupby(keys, dropna=False, sort=True)
    for i, (_, group) in enumerate(groups):
        values = [v for v in group["first_audio_ms"] if not math.isnan(v)]
        latency_ax.scatter(values, [i] * len(values), color=LATENCY_COLOR, alpha=0.6, s=18)
        if values:
            median = sorted(values)[len(values) // 2]
            latency_ax.plot([median, median], [i - 0.3, i + 0.3], color="0.2")
    latency_ax.set(title="First audio after the user's speech", xlabel="ms")
    latency_ax.set_yticks(list(rows), [""] * len(summary))
    latency_ax.set_ylim(len(summary) - 0.5, -0.5)
    latency_ax.set_xlim(left=0)
    return rate_ax, latency_ax
