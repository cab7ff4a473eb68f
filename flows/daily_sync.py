"""The Prefect 3 flow `daily-sync`: ingest -> dbt build -> guards -> publish -> report, one run at a time."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from contextlib import closing
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from prefect import flow, get_run_logger, task
from prefect.tasks import exponential_backoff

from flows import alerts, audit, report
from flows.lock import run_lock
from knackhouse.errors import ConfigError, GuardFailed, KnackApiError, KnackhouseError
from knackhouse.settings import Settings
from knackhouse.warehouse import connect, relation_exists, tables_in

FRESHNESS_ENV = "KNACKHOUSE_FRESHNESS_HOURS"
LOCK_WAIT_ENV = "KNACKHOUSE_LOCK_WAIT_SECONDS"
KNACK_RETRIES_ENV = "KNACKHOUSE_KNACK_RETRIES"
T = TypeVar("T")


@dataclass
class RunOptions:
    """What `knackhouse run` asked for."""

    dry_run: bool = False
    full_refresh: bool = False
    reconcile: bool = False
    reopen_years: list[str] = field(default_factory=list)
    as_of: date | None = None


@dataclass
class RunOutcome:
    """How a run ended: its exit code (shared/contract.md), summary and report file."""

    exit_code: int
    summary: dict[str, Any]
    report_path: str | None = None


def without_secret(settings: Settings) -> Settings:
    """Settings safe to pass as a flow parameter (Prefect stores parameters): the key goes to the env."""
    if settings.knack_api_key:
        os.environ["KNACK_API_KEY"] = settings.knack_api_key
    return replace(settings, knack_api_key=None)


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    try:
        return float(value) if value else default
    except ValueError as error:
        raise ConfigError(f"{name} must be a number, got {value!r}") from error


def _is_knack_error(task: Any, task_run: Any, state: Any) -> bool:
    """Retry only Knack API failures that waiting may cure (an outage, a 429 storm); a refused key, an unknown
    object, the used-up quota and every bug fail at once."""
    try:
        state.result()
    except KnackApiError as error:
        return error.transient
    except Exception:  # noqa: BLE001 - any other failure is final
        return False
    return False


@task(name="ingest", retries=int(os.environ.get(KNACK_RETRIES_ENV, "2")),
      retry_delay_seconds=exponential_backoff(backoff_factor=5), retry_jitter_factor=0.5,
      retry_condition_fn=_is_knack_error)
def ingest_task(settings: Settings, database_url: str, options: RunOptions, run_id: str) -> Any:
    """Load every Knack object into raw_knack (all objects share one rate limit inside run_ingest)."""
    from ingest.pipeline import run_ingest

    return run_ingest(settings, database_url, reconcile=options.reconcile, dry_run=options.dry_run,
                      full_refresh=options.full_refresh, run_id=run_id)


@task(name="dbt build")
def dbt_build_task(settings: Settings, database_url: str, options: RunOptions) -> Any:
    """Build staging, intermediate and marts_candidate with their tests; log each node's result."""
    from knackhouse.app_config import load_app_config
    from knackhouse.dbt import DbtProject

    logger = get_run_logger()
    project = DbtProject(settings, database_url, mapping=load_app_config(settings.app_config))
    project.prepare()
    dbt_vars: dict[str, Any] = {"reopen_years": options.reopen_years}
    if options.as_of:
        dbt_vars["as_of_date"] = options.as_of.isoformat()
    result = project.build(full_refresh=options.full_refresh, vars=dbt_vars)
    for node in result.results:
        logger.info("dbt %s: %s (%.1f s)%s", node.unique_id, node.status, node.execution_time,
                    f" - {node.message}" if node.status not in ("success", "pass") and node.message else "")
    return result


@task(name="dbt docs")
def dbt_docs_task(settings: Settings, database_url: str) -> str | None:
    """dbt docs (models, columns, lineage) from the build's manifest, linked from the report."""
    from knackhouse.app_config import load_app_config
    from knackhouse.dbt import DbtProject

    project = DbtProject(settings, database_url, mapping=load_app_config(settings.app_config))
    try:
        return (project.docs_generate(compile=False) / "index.html").as_uri()
    except RuntimeError as error:  # the docs are a convenience: the run goes on and says why they are missing
        get_run_logger().warning("dbt docs not generated: %s", error)
        return None


@task(name="guards")
def guards_task(settings: Settings, database_url: str, run_id: str, as_of: date, ingest_result: Any,
                build_passed: bool, full_refresh: bool = False) -> Any:
    """Run the Great Expectations guards on the candidate marts (a run whose dbt tests failed is no history)."""
    from expectations.guards import run_guards

    return run_guards(settings, database_url, run_id=run_id, as_of=as_of, ingest_result=ingest_result,
                      build_passed=build_passed, full_refresh=full_refresh)


@task(name="publish")
def publish_task(settings: Settings, database_url: str, run_id: str, reopen_years: list[str]) -> Any:
    """Swap marts_candidate into marts in one transaction (frozen years stay unless reopened)."""
    from knackhouse.app_config import load_app_config
    from knackhouse.dbt import DbtProject

    if reopen_years:
        get_run_logger().warning("reopening frozen academic years %s on request", ", ".join(reopen_years))
    project = DbtProject(settings, database_url, mapping=load_app_config(settings.app_config))
    result = project.run_operation("publish_marts", {"reopen_years": list(reopen_years)})
    if not result.success:
        raise RuntimeError(f"publish_marts failed: {result.exception or result.failed_nodes}")
    return result


@task(name="report")
def report_task(settings: Settings, database_url: str, summary: dict[str, Any]) -> str:
    """Write the report file, the Prefect markdown artifact and audit.runs."""
    from prefect.artifacts import create_markdown_artifact

    secrets = [settings.knack_api_key]
    reports_dir = settings.home / "reports"
    if not summary.get("dry_run"):
        audit.record_finish(database_url, summary["run_id"], datetime.now(UTC), summary)
        summary["growth_plot"] = next(iter(summary.get("guard_plots") or []), None)
    path = report.write(reports_dir, summary, secrets)
    create_markdown_artifact(key="daily-sync-report", markdown=report.redact(report.render(summary), secrets),
                             description=f"daily-sync {summary['run_id']}")
    return str(path)


def _rows_per_mart(database_url: str) -> dict[str, int]:
    with closing(connect(database_url)) as conn, conn.cursor() as cur:
        counts = {}
        for name in tables_in(cur, "marts"):
            cur.execute(f'select count(*) from marts."{name}"')
            counts[name] = cur.fetchone()[0]
    return counts


def _quarantined(database_url: str) -> dict[str, int]:
    with closing(connect(database_url)) as conn, conn.cursor() as cur:
        if not relation_exists(cur, "quarantine.rejected_records"):
            return {}
        cur.execute("select reason, count(*) from quarantine.rejected_records group by 1 order by 2 desc")
        return dict(cur.fetchall())


def _business_filters(database_url: str) -> list[dict[str, Any]]:
    """Rows each business filter of the models kept and dropped (intermediate.int_filter_summary)."""
    with closing(connect(database_url)) as conn, conn.cursor() as cur:
        if not relation_exists(cur, "intermediate.int_filter_summary"):
            return []
        cur.execute("select filter_name, rows_in, rows_kept, rows_dropped, rows_empty "
                    "from intermediate.int_filter_summary order by 1")
        names = [c.name for c in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _timed(steps: dict[str, float], name: str, call: Callable[[], T]) -> T:
    start = time.monotonic()
    try:
        return call()
    finally:
        steps[name] = round(time.monotonic() - start, 2)


UNCHANGED = {
    "ingest": "raw_knack keeps the last completed load of each object; staging and marts were not touched",
    "dbt build": "marts were not touched (the build writes marts_candidate only)",
    "guards": "marts were not touched (nothing published)",
    "publish": "marts were not touched (publishing is one transaction)",
}


@flow(name="daily-sync", validate_parameters=False, log_prints=True)
def daily_sync(settings: Settings | None = None, database_url: str | None = None,
               options: RunOptions | None = None) -> RunOutcome:
    """One run: ingest -> dbt build -> guards -> publish -> report, under the run lock."""
    from knackhouse.warehouse import resolve_url

    settings = settings or Settings.from_env()
    if settings.knack_api_key is None and os.environ.get("KNACK_API_KEY"):
        settings = replace(settings, knack_api_key=os.environ["KNACK_API_KEY"])
    options = options or RunOptions()
    database_url = database_url or resolve_url(settings)
    logger = get_run_logger()
    with run_lock(database_url, wait_seconds=_env_float(LOCK_WAIT_ENV, 0.0)):
        return _run_locked(settings, database_url, options, logger)


def _run_locked(settings: Settings, database_url: str, options: RunOptions, logger: Any) -> RunOutcome:
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]
    started = datetime.now(UTC)
    as_of = options.as_of or started.date()
    steps: dict[str, float] = {}
    summary: dict[str, Any] = {"run_id": run_id, "status": "running", "dry_run": options.dry_run,
                               "started_at": started.isoformat(), "options": asdict(options)}
    threshold = timedelta(hours=_env_float(FRESHNESS_ENV, 36.0))
    stale = audit.stale_by(database_url, started, threshold)
    if stale is not None:
        summary["stale"] = (f"last successful load was {stale.total_seconds() / 3600:.0f} h ago "
                            f"(threshold {threshold.total_seconds() / 3600:.0f} h)")
        logger.warning("STALE: %s", summary["stale"])
    if not options.dry_run:
        audit.record_start(database_url, run_id, started, dry_run=False)
    current = "ingest"
    exit_code = 0
    try:
        ingest_result = _timed(steps, "ingest", lambda: ingest_task(settings, database_url, options, run_id))
        summary["api_requests"] = ingest_result.api_requests
        summary["records_per_object"] = {o.object_key: _object_figures(o) for o in ingest_result.objects}
        if options.dry_run:
            summary.update(status="success", headline="dry run: nothing was written; the figures show what "
                           "would change")
        else:
            current = "dbt build"
            built = _timed(steps, current, lambda: dbt_build_task(settings, database_url, options))
            summary["dbt_nodes"] = [{"name": n.unique_id, "status": n.status, "message": n.message}
                                    for n in built.results]
            dbt_failed = ", ".join(n.unique_id for n in built.failed_nodes) or built.exception
            models_built = built.success or all(n.unique_id.startswith("test.") for n in built.failed_nodes)
            if not models_built:
                raise GuardFailed(f"dbt build failed: {dbt_failed}")
            summary["dbt_docs"] = _timed(steps, "dbt docs", lambda: dbt_docs_task(settings, database_url))
            # the marts were built even if a dbt test failed: the guards still measure them for the report
            current = "guards"
            guards = _timed(steps, current, lambda: guards_task(settings, database_url, run_id, as_of,
                                                                  ingest_result, built.success,
                                                                  options.full_refresh))
            summary["guard_results"] = [_guard_figures(g) for g in guards.results]
            summary["data_docs_url"] = guards.data_docs_url
            summary["guard_plots"] = list(guards.plot_paths)
            problems = [] if built.success else [f"dbt tests failed: {dbt_failed}"]
            problems += [str(f) for f in guards.failures]
            if problems:
                raise GuardFailed("; ".join(problems))
            current = "publish"
            _timed(steps, current, lambda: publish_task(settings, database_url, run_id, options.reopen_years))
            summary.update(status="success", headline="all steps passed; marts published")
    except KnackhouseError as error:
        exit_code = error.exit_code
        summary.update(status="failed", failed_task=current, message=str(error), unchanged=UNCHANGED[current],
                       headline=f"daily-sync failed in task {current}: {error}")
    except Exception as error:  # noqa: BLE001 - a crash is reported, alerted and re-raised as exit 2
        exit_code = 2
        summary.update(status="crashed", failed_task=current, message=f"{type(error).__name__}: {error}",
                       unchanged=UNCHANGED[current], headline=f"daily-sync crashed in task {current}: {error}")
    if not options.dry_run:
        summary["rows_per_mart"] = _rows_per_mart(database_url)
        summary["quarantined"] = _quarantined(database_url)
        summary["business_filters"] = _business_filters(database_url)
    summary["step_seconds"] = steps
    summary["finished_at"] = datetime.now(UTC).isoformat()
    secrets = [settings.knack_api_key]
    for key in ("message", "headline"):
        if key in summary:
            summary[key] = report.redact(str(summary[key]), secrets)
    path = report_task(settings, database_url, summary)
    if exit_code != 0 or summary.get("stale"):
        sent = alerts.send_alert(alerts.webhook_url(), {**summary, "report": path})
        logger.info("alert %s", "sent" if sent else "not sent (no KNACKHOUSE_ALERT_WEBHOOK or it failed)")
    return RunOutcome(exit_code=exit_code, summary=summary, report_path=path)


def _object_figures(load: Any) -> dict[str, Any]:
    names = ("table_name", "requests", "records_fetched", "inserted", "updated", "retired", "total_records",
             "full_scan", "reconcile_status", "seconds")
    return {name: getattr(load, name, None) for name in names}


def _guard_figures(result: Any) -> dict[str, Any]:
    if isinstance(result, dict):
        return result
    return {name: getattr(result, name, None)
            for name in ("name", "kind", "table", "severity", "passed", "observed", "lower", "upper", "detail")}
