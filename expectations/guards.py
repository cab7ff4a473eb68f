"""The guards a run must pass before it publishes: reconciled counts and growth anomalies.

`run_guards` measures this run (expectations/metrics.py), draws each metric's bounds from its own
history (expectations/bounds.py), has Great Expectations validate the observations against them
(expectations/gx_checkpoint.py), stores every result in `audit.guard_results`, and plots each guarded
table's history beside its bounds. `report.passed` is False when any error-level check failed; the flow
then stops before publishing, and yesterday's marts stay.
"""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from expectations import bounds as bounds_
from expectations import field_types
from expectations.config import GuardConfig, load_guard_config
from expectations.gx_checkpoint import Expectation, run_checkpoint
from expectations.metrics import Metric, collect, counted_day, history
from knackhouse.app_config import AppConfig, load_app_config
from knackhouse.settings import Settings, configure_environment
from knackhouse.warehouse import connect

RESULTS_DDL = """
create table if not exists audit.guard_results (
    run_id text not null,
    as_of date not null,
    check_name text not null,
    kind text not null,
    table_name text not null,
    metric text not null,
    severity text not null,
    passed boolean not null,
    observed double precision,
    lower_bound double precision,
    upper_bound double precision,
    history_points integer,
    message text not null,
    recorded_at timestamptz not null default now(),
    primary key (run_id, check_name)
);
"""


@dataclass(frozen=True)
class GuardResult:
    """One check of one run."""

    name: str
    kind: str
    table: str
    metric: str
    severity: str
    passed: bool
    observed: float | None
    lower: float | None
    upper: float | None
    detail: str
    history_points: int | None = None

    def __str__(self) -> str:
        return self.detail


@dataclass
class GuardReport:
    """What the guards found: `passed` is False when an error-level check failed."""

    results: list[GuardResult]
    plot_paths: list[str] = field(default_factory=list)
    data_docs_url: str | None = None

    @property
    def failures(self) -> list[GuardResult]:
        return [r for r in self.results if not r.passed and r.severity == "error"]

    @property
    def warnings(self) -> list[GuardResult]:
        return [r for r in self.results if not r.passed and r.severity != "error"]

    @property
    def passed(self) -> bool:
        return not self.failures


def _n(value: float | None) -> str:
    if value is None:
        return "?"
    if abs(value) < 1 and value != 0:
        return f"{value:.1%}"
    return f"{value:,.0f}"


@dataclass
class _Planned:
    """A check before GX has validated it."""

    name: str
    kind: str
    table: str
    metric: str
    observed: float
    bounds: bounds_.Bounds
    describe: str  # what the observed number is, for the message


def _value(metrics: dict[tuple[str, str], float], table: str, metric: str) -> float | None:
    return metrics.get((table, metric))


def plan_checks(conn: Any, metrics: list[Metric], as_of: date, config: GuardConfig) -> list[_Planned]:
    """Every check of this run with its observed value and bounds (reconciliations: exact or tolerated)."""
    rule = config.history
    by_key = {(m.table_name, m.metric): m.value for m in metrics}
    day = counted_day(as_of)
    planned: list[_Planned] = []
    for (table, metric), value in sorted(by_key.items()):
        if table.startswith("raw_knack.") and metric == "rows":
            staging = "staging.stg_knack__" + table.split(".", 1)[1]
            staged = _value(by_key, staging, "rows")
            if staged is not None:
                planned.append(_Planned(f"{table} raw vs staging", "reconcile_raw_staging", table, "rows", staged,
                                        bounds_.Bounds(value, value, 0, value, "live rows in raw"),
                                        f"{_n(staged)} live rows in {staging} vs {_n(value)} in {table}"))
            total = _value(by_key, table, "knack_total")
            if total is not None:
                complete = _value(by_key, table, "scan_complete") == 1.0
                upper = total if complete else total + max(1.0, config.pending_deletions * total)
                basis = "reconciled scan: exact" if complete else "full scan: deletions pending a reconcile allowed"
                planned.append(_Planned(f"{table} Knack vs raw", "reconcile_knack_raw", table, "rows", value,
                                        bounds_.Bounds(total, upper, 0, total, basis),
                                        f"{_n(value)} live rows in {table} vs {_n(total)} records in Knack"))
        if metric == "rows" and (table.startswith("raw_knack.") or table.startswith("marts_candidate.")):
            levels = history(conn, table, "rows", as_of, rule.window + 1)
            previous = levels[-1][1] if levels else None
            growth = value - previous if previous is not None else 0.0
            planned.append(_Planned(f"{table} growth", "growth", table, "growth", growth,
                                    bounds_.growth_bounds(levels, rule),
                                    f"{table}: {_n(previous)} → {_n(value)} rows ({growth:+,.0f})"
                                    if previous is not None else f"{table}: {_n(value)} rows, its first run"))
        if metric in ("created", "modified"):
            # each run's value counts the day before its as-of day: label the history by the day counted,
            # as `day` is, so a Saturday is compared with past Saturdays and Sundays, not with Fridays
            past = [(counted_day(d), v) for d, v in history(conn, table, metric, as_of, rule.window)]
            planned.append(_Planned(f"{table} {metric} on {day}", metric, table, metric, value,
                                    bounds_.count_bounds(past, day, rule),
                                    f"{table}: {_n(value)} records {metric} on {day:%a %d %b %Y}"))
        if metric in ("orphan_share", "duplicate_share"):
            past = history(conn, table, metric, as_of, rule.window)
            planned.append(_Planned(f"{table} {metric}", metric, table, metric, value,
                                    bounds_.share_bounds(past, rule),
                                    f"{table}: {metric.replace('_', ' ')} {value:.1%}"))
        if table.startswith("quarantine.") and metric == "rows":
            past = history(conn, table, metric, as_of, rule.window)
            planned.append(_Planned(f"{table} quarantined", "quarantined", table, metric, value,
                                    _level_bounds(past, rule),
                                    f"{table}: {_n(value)} records quarantined"))
        if table.startswith("entity.") and metric == "source_records":
            in_mart = _value(by_key, table, "records_in_mart") or 0.0
            quarantined = _value(by_key, table, "records_quarantined") or 0.0
            accounted = in_mart + quarantined
            planned.append(_Planned(f"{table} source vs mart + quarantine", "reconcile_entity_mart", table,
                                    "records_accounted", accounted, bounds_.Bounds(value, value, 0, value, "exact"),
                                    f"{table}: {_n(value)} live source records; {_n(in_mart)} in the mart + "
                                    f"{_n(quarantined)} quarantined = {_n(accounted)}"))
    return planned


def _level_bounds(past: list[tuple[date, float]], rule: Any) -> bounds_.Bounds:
    """A level compared with its last good value: only the change counts (see growth_bounds)."""
    levels = bounds_.growth_bounds(past, rule)
    if not levels.known or not past:
        return levels
    last = past[-1][1]
    return bounds_.Bounds(last + levels.lower, last + levels.upper, levels.points, last, levels.basis)


def _message(plan: _Planned, severity: str, passed: bool) -> str:
    b = plan.bounds
    if not b.known:
        return f"{plan.describe}; {b.basis}: not checked"
    expected = f"expected {_n(b.lower)}–{_n(b.upper)} ({b.basis})"
    if plan.kind == "growth":
        expected = f"expected a change of {b.lower:+,.0f} to {b.upper:+,.0f} ({b.basis})"
    if plan.kind == field_types.KIND:
        expected = b.basis
    verdict = "ok" if passed else ("FAILED" if severity == "error" else "WARNING")
    return f"{verdict}: {plan.describe}, {expected}"


def field_type_checks(conn: Any, mapping: AppConfig, *, full_refresh: bool) -> list[_Planned]:
    """A changed type of a mapped field since the marts were last built (expectations/field_types.py)."""
    return [_Planned(c.name, field_types.KIND, field_types.TABLE, "type_changed", c.observed,
                     bounds_.Bounds(0.0, 0.0, 0, 0.0, c.basis), c.describe)
            for c in field_types.type_checks(conn, mapping, full_refresh=full_refresh)]


def run_guards(settings: Settings, database_url: str, *, run_id: str, as_of: date, ingest_result: Any = None,
               mapping: AppConfig | None = None, config: GuardConfig | None = None,
               build_passed: bool = True, full_refresh: bool = False) -> GuardReport:
    """Measure, bound, validate with GX, store and plot this run's guards (see the module docstring).

    `build_passed` False (a dbt test failed, so the run publishes nothing) keeps this run's metrics out of
    the history later runs are bounded by, as a failed guard does. `full_refresh` (every record rebuilt)
    acknowledges a mapped field's changed type."""
    configure_environment(settings)
    config = config or load_guard_config()
    mapping = mapping or load_app_config(settings.app_config)
    with closing(connect(database_url)) as conn:
        metrics = collect(conn, run_id=run_id, as_of=as_of, mapping=mapping, database_url=database_url,
                          ingest_result=ingest_result)
        planned = plan_checks(conn, metrics, as_of, config)
        planned += field_type_checks(conn, mapping, full_refresh=full_refresh)
        checked = [p for p in planned if p.bounds.known]
        outcome = run_checkpoint(settings, conn, database_url, run_id, [
            Expectation(p.name, p.observed, p.bounds.lower, p.bounds.upper, config.severity_of(p.kind))
            for p in checked])
        missing = [p.name for p in checked if p.name not in outcome.success_by_check]
        if missing:
            raise RuntimeError(f"Great Expectations returned no result for checks {missing}")
        report = GuardReport(results_of(planned, config, outcome.success_by_check),
                             data_docs_url=outcome.data_docs_url)
        store_results(conn, run_id, as_of, report, build_passed=build_passed)
        if report.passed and build_passed:
            field_types.record_types(conn, mapping, run_id)
        from expectations.plot import growth_plots

        report.plot_paths = growth_plots(conn, settings.home / "reports", run_id, as_of, report)
    return report


def results_of(planned: list[_Planned], config: GuardConfig, success: dict[str, bool]) -> list[GuardResult]:
    """Each planned check's result, given which bounded checks passed; unbounded ones warn-pass."""
    results = []
    for p in planned:
        severity = config.severity_of(p.kind) if p.bounds.known else "warn"
        passed = success[p.name] if p.bounds.known else True
        results.append(GuardResult(p.name, p.kind, p.table, p.metric, severity, passed, p.observed,
                                   p.bounds.lower, p.bounds.upper, _message(p, severity, passed), p.bounds.points))
    return results


def store_results(conn: Any, run_id: str, as_of: date, report: GuardReport, *, build_passed: bool = True) -> None:
    """Keep every result in audit.guard_results and whether the run passed (its metrics become history)."""
    with conn.cursor() as cur:
        cur.execute(RESULTS_DDL)
        cur.execute("delete from audit.guard_results where run_id = %s", (run_id,))
        cur.executemany(
            "insert into audit.guard_results (run_id, as_of, check_name, kind, table_name, metric, severity, passed, "
            "observed, lower_bound, upper_bound, history_points, message) values "
            "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [(run_id, as_of, r.name, r.kind, r.table, r.metric, r.severity, r.passed, r.observed, r.lower, r.upper,
              r.history_points, r.detail) for r in report.results])
        cur.execute("insert into audit.guard_runs (run_id, as_of, passed) values (%s, %s, %s) "
                    "on conflict (run_id) do update set passed = excluded.passed, recorded_at = now()",
                    (run_id, as_of, report.passed and build_passed))
    conn.commit()
