"""Growth plots for a person: per guarded table, its daily figures beside the bounds they were checked against."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from expectations.guards import GuardReport

PLOTTED_KINDS = ("created", "growth")


def _series(conn: Any, kind: str, table: str) -> list[tuple[date, float, float | None, float | None, bool]]:
    """(as_of, observed, lower, upper, passed) of every run's check of this kind on this table."""
    with conn.cursor() as cur:
        cur.execute("select distinct on (as_of) as_of, observed, lower_bound, upper_bound, passed "
                    "from audit.guard_results where kind = %s and table_name = %s "
                    "order by as_of, recorded_at desc", (kind, table))
        return cur.fetchall()


def growth_plots(conn: Any, reports_dir: Path, run_id: str, as_of: date, report: GuardReport) -> list[str]:
    """One PNG per guarded table (creations per day and growth per run), anomalies marked in red."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tables: dict[str, set[str]] = defaultdict(set)
    for result in report.results:
        if result.kind in PLOTTED_KINDS:
            tables[result.table].add(result.kind)
    if not tables:
        return []
    reports_dir.mkdir(parents=True, exist_ok=True)
    path = reports_dir / f"{run_id}-guards.png"
    names = sorted(tables)
    figure, axes = plt.subplots(len(names), 2, figsize=(11, 2.4 * len(names)), squeeze=False)
    for row, table in enumerate(names):
        for column, kind in enumerate(PLOTTED_KINDS):
            axis = axes[row][column]
            series = _series(conn, kind, table) if kind in tables[table] else []
            axis.set_title(f"{table}: {'created per day' if kind == 'created' else 'rows added per run'}",
                           fontsize=8)
            axis.tick_params(labelsize=6)
            if not series:
                axis.text(0.5, 0.5, "not guarded", ha="center", va="center", fontsize=7, transform=axis.transAxes)
                continue
            days = [s[0] for s in series]
            axis.plot(days, [s[1] for s in series], marker=".", linewidth=1, label="observed")
            bounded = [s for s in series if s[2] is not None and s[3] is not None]
            if bounded:
                axis.fill_between([s[0] for s in bounded], [s[2] for s in bounded], [s[3] for s in bounded],
                                  alpha=0.2, label="bounds")
            anomalies = [s for s in series if not s[4]]
            if anomalies:
                axis.scatter([s[0] for s in anomalies], [s[1] for s in anomalies], color="red", zorder=3,
                             label="anomaly")
            axis.legend(fontsize=6, loc="upper left")
    figure.suptitle(f"knackhouse guards, run {run_id} (as of {as_of})", fontsize=9)
    figure.autofmt_xdate()
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return [str(path)]
