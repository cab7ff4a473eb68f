"""The run report: markdown for a person, written to KNACKHOUSE_HOME/reports and as a Prefect artifact."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

REDACTED = "***"


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """The text with every secret replaced, so no key reaches a log, artifact or report."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in rows]
    return lines


def render(summary: Mapping[str, Any]) -> str:
    """The report's markdown from a run summary (the dict also written to audit.runs)."""
    lines = [f"# knackhouse daily-sync {summary['run_id']}: {summary['status'].upper()}", ""]
    lines.append(str(summary.get("headline", "")))
    lines.append("")
    if summary.get("stale"):
        lines += [f"**STALE DATA: {summary['stale']}**", ""]
    if summary.get("failed_task"):
        lines += [f"- failed task: `{summary['failed_task']}`", f"- why: {summary.get('message', '')}",
                  f"- left unchanged: {summary.get('unchanged', '')}", ""]
    lines += [f"- started {summary.get('started_at')}, finished {summary.get('finished_at')}",
              f"- Knack API requests: {summary.get('api_requests')}", ""]
    freshness = summary.get("freshness") or []
    if freshness:
        lines += ["## Source freshness (before this run read anything)", ""]
        lines += _table(["source", "status", "last successful load (h ago)"],
                        [[f.get("source"), f.get("status"), f.get("age_hours")] for f in freshness]) + [""]
    postponed = summary.get("postponed") or []
    if postponed:
        lines += ["## Postponed (daily request budget)", ""]
        lines += _table(["object", "why"], [[p.get("object_key"), p.get("reason")] for p in postponed]) + [""]
    objects = summary.get("records_per_object") or {}
    if objects:
        lines += ["## Objects", ""]
        lines += _table(
            ["object", "table", "requests", "fetched", "new", "changed", "retired", "total", "seconds",
             "deletion sweep (requests)"],
            [[k, o.get("table_name"), o.get("requests"), o.get("records_fetched"), o.get("inserted"),
              o.get("updated"), o.get("retired"), o.get("total_records"), o.get("seconds"),
              f"{o['sweep_status']} ({o.get('sweep_requests')})" if o.get("sweep_status") else ""]
             for k, o in objects.items()],
        ) + [""]
        # why an object was read whole, or what ingest noticed (records modified in the future...)
        lines += [f"- {k}: {o['note']}" for k, o in objects.items() if o.get("note")]
        lines += [""] if any(o.get("note") for o in objects.values()) else []
    if summary.get("reconcile"):
        lines += [f"- full reconcile: {summary['reconcile']}", ""]
    marts = summary.get("rows_per_mart") or {}
    if marts:
        lines += ["## Marts", ""] + _table(["mart", "rows"], [[k, v] for k, v in marts.items()]) + [""]
    quarantined = summary.get("quarantined") or {}
    if quarantined:
        lines += ["## Quarantined", ""]
        lines += _table(["reason", "records"], [[k, v] for k, v in quarantined.items()]) + [""]
    filters = summary.get("business_filters") or []
    if filters:
        lines += ["## Business filters (in the models, never at extraction)", ""]
        lines += _table(["filter", "rows in", "kept", "dropped", "of which empty"],
                        [[f.get("filter_name"), f.get("rows_in"), f.get("rows_kept"), f.get("rows_dropped"),
                          f.get("rows_empty")] for f in filters]) + [""]
    guards = summary.get("guard_results") or []
    if guards:
        lines += ["## Guards", ""]
        lines += _table(["guard", "severity", "passed", "observed", "detail"],
                        [[g.get("name"), g.get("severity"), g.get("passed"), g.get("observed"), g.get("detail")]
                         for g in guards]) + [""]
    dbt_nodes = summary.get("dbt_nodes") or []
    if dbt_nodes:
        failed = [n for n in dbt_nodes if n.get("status") not in ("success", "pass", "skipped")]
        lines += [f"## dbt build: {len(dbt_nodes)} nodes, {len(failed)} not passing", ""]
        if failed:
            lines += _table(["node", "status", "message"],
                            [[n.get("name"), n.get("status"), n.get("message")] for n in failed]) + [""]
    steps = summary.get("step_seconds") or {}
    if steps:
        lines += ["## Durations", ""] + _table(["step", "seconds"], [[k, f"{v:.1f}"] for k, v in steps.items()])
        lines.append("")
    links = [(name, summary.get(key)) for name, key in
             (("dbt docs", "dbt_docs"), ("GX Data Docs", "data_docs_url"), ("growth plot", "growth_plot"))]
    if any(url for _, url in links):
        lines += ["## Links", ""] + [f"- {name}: {url}" for name, url in links if url] + [""]
    logs = summary.get("logs") or {}
    if logs:
        lines += ["## Logs (full output of each tool)", ""] + [f"- {name}: {path}" for name, path in logs.items()]
        lines.append("")
    return "\n".join(lines)


def write(reports_dir: Path, summary: Mapping[str, Any], secrets: Iterable[str | None]) -> Path:
    """Write the markdown (and the summary as JSON beside it); returns the markdown's path."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    markdown = redact(render(summary), list(secrets))
    path = reports_dir / f"{summary['run_id']}.md"
    path.write_text(markdown)
    path.with_suffix(".json").write_text(redact(json.dumps(summary, default=str, indent=2), list(secrets)))
    return path
