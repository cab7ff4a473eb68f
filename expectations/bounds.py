"""Bounds for a metric from its own recent history: robust, weekday-aware, with floors for small tables.

A metric's bounds are its trailing median ± k × 1.4826 × MAD (the MAD scaled to a standard deviation,
so a few outliers in the history don't widen or shift them), never tighter than a Poisson spread for
counts (± poisson_k × sqrt(median)) nor than a floor (rows, share of the table, percentage points).
Counts by day use only days of the same kind (weekday or weekend) once there are enough of them, and
then a count of zero where that kind of day has a median of `zero_min` or more is an anomaly.
Fewer points than `min_history` give no bounds: the check warns and never fails — except that a table of
`ratio_min_rows` or more that multiplies (or shrinks) by `max_ratio` since its last good run is an anomaly
from the second run on.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from statistics import median

from expectations.config import HistoryRule

MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True)
class Bounds:
    lower: float | None
    upper: float | None
    points: int
    centre: float | None
    basis: str  # how they were drawn, for the report

    @property
    def known(self) -> bool:
        return self.lower is not None and self.upper is not None


def _is_weekend(day: date) -> bool:
    return day.weekday() >= 5


def _spread(values: Sequence[float], rule: HistoryRule, *, count: bool, floor: float) -> tuple[float, float]:
    centre = median(values)
    mad = median(abs(v - centre) for v in values)
    spread = max(rule.k * MAD_TO_SIGMA * mad, floor)
    if count:
        spread = max(spread, rule.poisson_k * math.sqrt(abs(centre)))
    return centre, spread


def count_bounds(history: Sequence[tuple[date, float]], day: date, rule: HistoryRule) -> Bounds:
    """Bounds for a count of things that happened on `day` (creations, modifications)."""
    recent = list(history)[-rule.window:]
    if len(recent) < rule.min_history:
        return Bounds(None, None, len(recent), None, f"no history yet ({len(recent)} of {rule.min_history} runs)")
    same_kind = [v for d, v in recent if _is_weekend(d) == _is_weekend(day)]
    kind = "weekend" if _is_weekend(day) else "weekday"
    if len(same_kind) >= rule.weekday_min:
        centre, spread = _spread(same_kind, rule, count=True, floor=rule.floor_count)
        lower = max(centre - spread, 1.0 if centre >= rule.zero_min else 0.0)
        return Bounds(lower, centre + spread, len(same_kind), centre, f"median of {len(same_kind)} {kind}s")
    values = [v for _, v in recent]
    centre, spread = _spread(values, rule, count=True, floor=rule.floor_count)
    # days of both kinds mixed: only the upper bound means anything
    return Bounds(0.0, max(values) + spread, len(values), centre, f"all {len(values)} days (too few {kind}s)")


def growth_bounds(levels: Sequence[tuple[date, float]], rule: HistoryRule) -> Bounds:
    """Bounds for a table's change in rows since the last good run, from the changes between earlier runs."""
    recent = list(levels)[-(rule.window + 1):]
    deltas = [b[1] - a[1] for a, b in zip(recent, recent[1:], strict=False)]
    if len(deltas) < rule.min_history:
        last = recent[-1][1] if recent else 0.0
        if last >= rule.ratio_min_rows:
            # too little history for statistics, but a table that multiplies or collapses is never ordinary
            return Bounds(last / rule.max_ratio - last, last * (rule.max_ratio - 1), len(deltas), 0.0,
                          f"no history yet ({len(deltas)} of {rule.min_history} runs): within ×{rule.max_ratio:g} "
                          "of the last good size")
        if last > 0:
            # a small table may grow, but not past ratio_min_rows rows and max_ratio times its size together:
            # 8 establishments becoming 168 overnight is a runaway, 8 becoming 12 is not
            ceiling = max(rule.ratio_min_rows, last * rule.max_ratio)
            return Bounds(-last, ceiling - last, len(deltas), 0.0,
                          f"no history yet ({len(deltas)} of {rule.min_history} runs): at most {ceiling:,.0f} rows, "
                          f"×{rule.max_ratio:g} of the last good size or {rule.ratio_min_rows:,.0f}, the larger")
        return Bounds(None, None, len(deltas), None, f"no history yet ({len(deltas)} of {rule.min_history} runs)")
    size = recent[-1][1]
    centre, spread = _spread(deltas, rule, count=True, floor=max(rule.floor_count, rule.floor_relative * size))
    return Bounds(centre - spread, centre + spread, len(deltas), centre, f"median change of {len(deltas)} runs")


def share_bounds(history: Sequence[tuple[date, float]], rule: HistoryRule) -> Bounds:
    """Bounds for a share (0..1) such as the orphan share."""
    values = [v for _, v in list(history)[-rule.window:]]
    if len(values) < rule.min_history:
        return Bounds(None, None, len(values), None, f"no history yet ({len(values)} of {rule.min_history} runs)")
    centre, spread = _spread(values, rule, count=False, floor=rule.floor_share)
    return Bounds(max(centre - spread, 0.0), min(centre + spread, 1.0), len(values), centre,
                  f"median of {len(values)} runs")
