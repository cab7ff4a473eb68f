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
from prefect.states import Failed, State
from prefect.tasks import exponential_backoff

from flows import alerts, audit, report
from flows.lock import RunLocked, run_lock
from knackhouse import output
from knackhouse.errors import ConfigError, GuardFailed, KnackApiError, KnackApiRefused, KnackhouseError
from knackhouse.settings import (
    DATABASE_PASSWORD_ENV,
    DEFAULT_FRESHNESS_HOURS,
    DEFAULT_FRESHNESS_WARN_HOURS,
    Settings,
    secure_home,
)
from knackhouse.warehouse import connect, password_of, relation_exists, tables_in, with_password, without_password

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

    @classmethod
    def coerce(cls, value: RunOptions | dict[str, Any] | None) -> RunOptions:
        """Options as given in-process, or as a deployment's JSON parameters (`{"dry_run": true}`)."""
        if value is None or isinstance(value, RunOptions):
            return value or cls()
        try:
            options = cls(**value)
            as_of = date.fromisoformat(options.as_of) if isinstance(options.as_of, str) else options.as_of
        except (TypeError, ValueError) as error:
            raise ConfigError(f"bad flow parameter options={value!r}: {error}") from error
        return replace(options, as_of=as_of)


@dataclass
class RunOutcome:
    """How a run ended: its exit code (README.md), summary and report file."""

    exit_code: int
    summary: dict[str, Any]
    report_path: str | None = None


def without_secret(settings: Settings) -> Settings:
    """Settings safe to pass as a flow parameter (Prefect stores parameters): the API key and the database
    password go to the environment, where the flow reads them back (`_with_secrets`); the alert URLs (their
    tokens) are read from the environment by the flow itself."""
    if settings.knack_api_key:
        os.environ["KNACK_API_KEY"] = settings.knack_api_key
    url = settings.database_url
    _stash_password(settings.database_password or (password_of(url) if url else ""))
    return replace(settings, knack_api_key=None, database_password=None, alert_urls=(),
                   database_url=without_password(url) if url else None)


def secret_free_url(database_url: str) -> str:
    """A database URL safe to pass as a flow parameter: its password goes to the environment."""
    _stash_password(password_of(database_url))
    return without_password(database_url)


def _stash_password(password: str) -> None:
    if password:
        os.environ[DATABASE_PASSWORD_ENV] = password


def _with_secrets(settings: Settings) -> Settings:
    """The parameters' settings with the secrets the environment holds (the API key, the database password,
    the alert URLs)."""
    env = Settings.from_env()
    # the freshness hours, like the alert URLs, are the environment's where the parameters left the defaults
    default_freshness = (settings.freshness_warn_hours, settings.freshness_hours) == (
        DEFAULT_FRESHNESS_WARN_HOURS, DEFAULT_FRESHNESS_HOURS)
    return replace(settings, knack_api_key=settings.knack_api_key or env.knack_api_key,
                   database_password=settings.database_password or env.database_password,
                   alert_urls=settings.alert_urls or env.alert_urls,
                   freshness_warn_hours=env.freshness_warn_hours if default_freshness
                   else settings.freshness_warn_hours,
                   freshness_hours=env.freshness_hours if default_freshness else settings.freshness_hours)


def run_flow(settings: Settings, database_url: str | None = None, options: RunOptions | None = None) -> RunOutcome:
    """Run daily-sync in this process and return its outcome, whether Prefect ended it Completed or Failed.

    An error that stopped the flow before its run began (the lock, the configuration) is raised as is.
    """
    state = daily_sync(settings=without_secret(settings),
                       database_url=secret_free_url(database_url) if database_url else None, options=options,
                       return_state=True)
    value = state.result(raise_on_failure=False)
    if isinstance(value, RunOutcome):
        return value
    if isinstance(value, BaseException):
        raise value
    raise RuntimeError(f"daily-sync ended {state.type.value} without an outcome: {state.message}")


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
                      full_refresh=options.full_refresh, run_id=run_id, sweep=settings.deletion_sweep)


def say(line: str) -> None:
    """A step's one line: the flow's log, and the console of the command that runs it (knackhouse.output)."""
    get_run_logger().info("%s", line)
    output.step(line)


@task(name="source freshness")
def freshness_task(settings: Settings, database_url: str) -> Any:
    """`dbt source freshness` before anything is read: how late each object's last successful load, and the
    last published run, are (None before the first published run: nothing can be late yet)."""
    from knackhouse.app_config import load_app_config
    from knackhouse.dbt import DbtProject

    if audit.last_success(database_url) is None:
        return None
    project = DbtProject(settings, database_url, mapping=load_app_config(settings.app_config))
    project.prepare()
    return project.source_freshness()


@task(name="dbt build")
def dbt_build_task(settings: Settings, database_url: str, options: RunOptions) -> Any:
    """Build staging, intermediate and marts_candidate with their tests (each node's result: the run's dbt.log
    and the report)."""
    from knackhouse.app_config import load_app_config
    from knackhouse.dbt import DbtProject

    project = DbtProject(settings, database_url, mapping=load_app_config(settings.app_config))
    project.prepare()
    dbt_vars: dict[str, Any] = {"reopen_years": options.reopen_years}
    if options.as_of:
        dbt_vars["as_of_date"] = options.as_of.isoformat()
    result = project.build(full_refresh=options.full_refresh, vars=dbt_vars)
    say(result.summary_line("dbt build"))
    return result


@task(name="dbt docs")
def dbt_docs_task(settings: Settings, database_url: str) -> str | None:
    """Static dbt docs (models, columns, lineage; one page a browser opens from file://), linked from the report."""
    from knackhouse.app_config import load_app_config
    from knackhouse.dbt import DbtProject

    project = DbtProject(settings, database_url, mapping=load_app_config(settings.app_config))
    try:
        project.docs_generate(compile=False)
        return project.static_docs.as_uri()
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
        summary["growth_plot"] = next(iter(summary.get("guard_plots") or []), None)
    markdown = report.redact(report.render(summary), secrets)
    if not summary.get("dry_run"):
        audit.record_finish(database_url, summary["run_id"], datetime.now(UTC), summary, markdown)
    path = report.write(reports_dir, summary, secrets)
    create_markdown_artifact(key="daily-sync-report", markdown=markdown,
                             description=f"daily-sync {summary['run_id']}: {summary['status']}")
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
               options: RunOptions | dict[str, Any] | None = None) -> RunOutcome | State:
    """One run: ingest -> dbt build -> guards -> publish -> report, under the run lock.

    Prefect's state tells the truth: a run whose exit code is not 0 ends Failed, with the run's one-line
    reason as the state's message and its RunOutcome as the state's data (see `run_flow`).
    """
    from knackhouse.warehouse import resolve_url

    settings = _with_secrets(settings or Settings.from_env())
    alerts.check_urls(settings.alert_urls)
    options = RunOptions.coerce(options)
    database_url = with_password(database_url or resolve_url(settings), settings.database_password)
    logger = get_run_logger()
    try:
        with run_lock(database_url, wait_seconds=_env_float(LOCK_WAIT_ENV, 0.0),
                      stale_after=timedelta(hours=settings.lock_stale_hours)):
            outcome = _run_locked(settings, database_url, options, logger)
    except RunLocked as error:
        # a frozen run (SIGSTOP, a hung connection) keeps the lock: every refused run says so, and who holds it
        summary = {"status": "blocked", "failed_task": "lock", "message": str(error), "lock_stale": error.stale,
                   "lock_holder": error.holder.as_dict() if error.holder else None,
                   "headline": f"daily-sync did not start: {error}"}
        logger.error("%s", summary["headline"])
        _alert(settings, summary, logger)
        raise
    if outcome.exit_code != 0:
        return Failed(message=one_line(outcome.summary.get("headline") or outcome.summary.get("message")),
                      data=outcome)
    return outcome


def one_line(text: object, limit: int = 1000) -> str:
    """A state message: the reason on one line, bounded."""
    line = " ".join(str(text or "failed").split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _alert(settings: Settings, summary: dict[str, Any], logger: Any) -> None:
    """Send the summary to every alert target; one target down changes nothing for the others or the run."""
    if settings.alert_urls:
        sent = alerts.send_alerts(settings.alert_urls, summary)
        logger.info("alerts: %s", ", ".join(f"{t} {'sent' if ok else 'NOT sent'}" for t, ok in sent.items()))
    else:
        logger.info("no alert sent: KNACKHOUSE_ALERT_URLS is not set")


def _run_locked(settings: Settings, database_url: str, options: RunOptions, logger: Any) -> RunOutcome:
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]
    with output.run_logs(settings.home, run_id) as log_files:
        return _run_logged(settings, database_url, options, logger, run_id, log_files)


def _freshness(settings: Settings, database_url: str, summary: dict[str, Any], logger: Any) -> None:
    """`dbt source freshness` decides: a source past its error hours makes the run's data STALE (loud in the
    report, alerted), past its warn hours it is a warning; each source's age goes to the report."""
    try:
        result = freshness_task(settings, database_url)
    except Exception as error:  # noqa: BLE001 - a check, not the run's work: the step that needs it fails
        logger.warning("source freshness not checked: %s", error)
        return
    if result is None:
        return
    from knackhouse.dbt import short_name

    rows = [{"source": short_name(n.unique_id), "status": n.status,
             "age_hours": None if n.age_seconds is None else round(n.age_seconds / 3600, 2)} for n in result.results]
    summary["freshness"] = rows
    late = {status: [r for r in rows if r["status"] == status] for status in ("warn", "error", "runtime error")}
    line = (f"source freshness: {len(rows)} sources, {len(late['warn'])} warn, {len(late['error'])} error"
            + "".join(f"\n  {status}: " + ", ".join(r["source"] for r in late[status])
                      for status in late if late[status]))
    say(line)
    if late["error"]:
        age = max(r["age_hours"] or 0.0 for r in late["error"])
        summary["stale"] = (f"last successful load was {age:.0f} h ago (threshold {settings.freshness_hours:g} h): "
                            + ", ".join(r["source"] for r in late["error"]))
        logger.warning("STALE: %s", summary["stale"])
    if late["runtime error"] or not result.results:
        logger.warning("source freshness not measured: %s", result.exception or
                       ", ".join(r["source"] for r in late["runtime error"]))


def _run_logged(settings: Settings, database_url: str, options: RunOptions, logger: Any, run_id: str,
                log_files: dict[str, Any]) -> RunOutcome:
    started = datetime.now(UTC)
    as_of = options.as_of or started.date()
    steps: dict[str, float] = {}
    summary: dict[str, Any] = {"run_id": run_id, "status": "running", "dry_run": options.dry_run,
                               "started_at": started.isoformat(), "options": asdict(options),
                               "logs": {name: str(path) for name, path in log_files.items()}}
    _timed(steps, "source freshness", lambda: _freshness(settings, database_url, summary, logger))
    if not options.dry_run:
        audit.record_start(database_url, run_id, started, dry_run=False)
    current = "ingest"
    exit_code = 0
    try:
        options = _scheduled_reconcile(settings, database_url, options, started, summary, logger)
        ingest_result = _timed(steps, "ingest", lambda: ingest_task(settings, database_url, options, run_id))
        say(_ingest_line(ingest_result))
        summary["api_requests"] = ingest_result.api_requests
        summary["records_per_object"] = {o.object_key: _object_figures(o) for o in ingest_result.objects}
        summary["postponed"] = list(ingest_result.postponed)
        postponed = _postponed_line(ingest_result.postponed)
        if postponed and settings.budget_shortfall == "error":
            raise KnackApiRefused(f"{postponed} (KNACKHOUSE_BUDGET_SHORTFALL=error)")
        if postponed:
            logger.warning("%s", postponed)
        if options.dry_run:
            summary.update(status="success", headline="dry run: nothing was written; the figures show what "
                           "would change")
        elif not _read_any(ingest_result):
            summary.update(status="success", headline="nothing was read from Knack: marts left as they were")
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
            say(_guards_line(guards))
            summary["data_docs_url"] = guards.data_docs_url
            summary["guard_plots"] = list(guards.plot_paths)
            problems = [] if built.success else [f"dbt tests failed: {dbt_failed}"]
            problems += [str(f) for f in guards.failures]
            if problems:
                raise GuardFailed("; ".join(problems))
            current = "publish"
            _timed(steps, current, lambda: publish_task(settings, database_url, run_id, options.reopen_years))
            summary.update(status="success", headline="all steps passed; marts published")
        if postponed:
            summary["headline"] += f"; {postponed}"
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
        if current == "publish" and summary["status"] == "success":
            marts = summary["rows_per_mart"]
            say(f"publish: {len(marts)} marts published, {sum(marts.values()):,} rows")
        summary["quarantined"] = _quarantined(database_url)
        summary["business_filters"] = _business_filters(database_url)
    summary["step_seconds"] = steps
    summary["finished_at"] = datetime.now(UTC).isoformat()
    secrets = [settings.knack_api_key]
    for key in ("message", "headline"):
        if key in summary:
            summary[key] = report.redact(str(summary[key]), secrets)
    summary["exit_code"] = exit_code
    summary["flow_run_id"] = _flow_run_id()
    path = report_task(settings, database_url, summary)
    _housekeeping(settings, started, logger, prune=summary["status"] == "success" and not options.dry_run)
    if exit_code != 0 or summary.get("stale") or summary.get("postponed"):
        _alert(settings, {**summary, "report": path}, logger)
    return RunOutcome(exit_code=exit_code, summary=summary, report_path=path)


def _housekeeping(settings: Settings, started: datetime, logger: Any, *, prune: bool) -> None:
    """After the run: prune the home (after a success only: a failed run's packages and results are what an
    operator reads), then take group and other rights off whatever a tool created with its own modes."""
    from knackhouse.retention import prune as prune_home

    try:
        if prune:
            pruned = prune_home(settings, started)
            logger.info("retention (%g days): removed %d loaded dlt packages and %d older files, %.1f MB%s",
                        settings.retention_days, pruned.packages, pruned.files, pruned.bytes / 1e6,
                        f"; could not remove {'; '.join(pruned.errors)}" if pruned.errors else "")
        secure_home(settings.home)
    except OSError as error:  # housekeeping never fails a run that did its work
        logger.warning("housekeeping of %s failed: %s", settings.home, error)


def _ingest_line(result: Any) -> str:
    """`ingest: 4 objects, 12 requests, 35 records read (3 new, 2 changed, 0 retired)`."""
    objects = list(result.objects)
    total = {name: sum(getattr(o, name, 0) or 0 for o in objects)
             for name in ("records_fetched", "inserted", "updated", "retired")}
    line = (f"ingest: {len(objects)} objects, {result.api_requests} requests, {total['records_fetched']} records "
            f"read ({total['inserted']} new, {total['updated']} changed, {total['retired']} retired)")
    return line + (f", {len(result.postponed)} postponed" if result.postponed else "")


def _guards_line(guards: Any) -> str:
    """`guards: 14 passed, 1 warned, 0 failed` and each failing guard by name."""
    failed, warned = list(guards.failures), [r for r in guards.results if not r.passed and r.severity != "error"]
    passed = len(guards.results) - len(failed) - len(warned)
    line = f"guards: {passed} passed, {len(warned)} warned, {len(failed)} failed"
    for label, found in (("failed", failed), ("warned", warned)):
        if found:
            line += f"\n  {label}: " + ", ".join(g.name for g in found)
    return line


def _read_any(ingest_result: Any) -> bool:
    postponed = {p["object_key"] for p in ingest_result.postponed}
    return any(o.object_key not in postponed for o in ingest_result.objects)


def _postponed_line(postponed: list[dict[str, Any]]) -> str:
    """One line naming the objects the day's request budget could not fit (empty when none)."""
    if not postponed:
        return ""
    return (f"{len(postponed)} object(s) postponed to stay within the daily request budget: "
            + "; ".join(f"{p['object_key']} ({p['reason']})" for p in postponed))


def _flow_run_id() -> str | None:
    from prefect.runtime import flow_run

    return str(flow_run.id) if flow_run.id else None


def _scheduled_reconcile(settings: Settings, database_url: str, options: RunOptions, now: datetime,
                         summary: dict[str, Any], logger: Any) -> RunOptions:
    """A complete reconcile scan every `reconcile_every_days` if it fits the budget (ingest/reconcile_schedule)."""
    if options.reconcile or options.dry_run or options.full_refresh:
        return options
    from ingest.reconcile_schedule import plan_reconcile

    decision = plan_reconcile(database_url, now, settings.reconcile_every_days,
                               settings.daily_request_budget)
    summary["reconcile"] = decision.reason
    if decision.due:
        logger.info("%s", decision.reason)
    return replace(options, reconcile=True) if decision.run else options


def _object_figures(load: Any) -> dict[str, Any]:
    names = ("table_name", "requests", "records_fetched", "inserted", "updated", "retired", "total_records",
             "full_scan", "reconcile_status", "seconds", "note", "sweep_status", "sweep_requests", "sweep_retired")
    return {name: getattr(load, name, None) for name in names}


def _guard_figures(result: Any) -> dict[str, Any]:
    if isinstance(result, dict):
        return result
    return {name: getattr(result, name, None)
            for name in ("name", "kind", "table", "severity", "passed", "observed", "lower", "upper", "detail")}
