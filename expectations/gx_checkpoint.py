"""The Great Expectations side of the guards: context, suite, validation definition, checkpoint, Data Docs.

The file data context lives under KNACKHOUSE_HOME/gx (validation results and Data Docs with it); its
datasource, suite, validation definition and checkpoint are defined here, in code, and updated on every
run. The batch is this run's observations in the warehouse (`audit.guard_observations`); each check is one
`expect_column_values_to_be_between` on its row, with its bounds passed as runtime expectation
parameters — the bounds drawn from history change every day, the suite does not.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from knackhouse.settings import Settings
from knackhouse.warehouse import sqlalchemy_url

DATASOURCE = "knackhouse_warehouse"
SUITE = "knackhouse_guards"
CHECKPOINT = "knackhouse_daily_guards"
# GX stores its datasource in great_expectations.yml: the connection string there is this variable, which GX
# substitutes from the environment at run time, so the database password is never written to a file
CONNECTION_ENV = "KNACKHOUSE_GX_CONNECTION_STRING"

OBSERVATIONS_DDL = """
create table if not exists audit.guard_observations (
    run_id text not null,
    check_name text not null,
    observed double precision not null,
    primary key (run_id, check_name)
);
"""


@dataclass(frozen=True)
class Expectation:
    """One check handed to GX: its name, observed value, bounds and severity."""

    check: str
    observed: float
    lower: float
    upper: float
    severity: str


@dataclass(frozen=True)
class CheckpointOutcome:
    success_by_check: dict[str, bool]
    data_docs_url: str | None
    result_path: str | None


def _parameter(check: str, side: str) -> str:
    """A suite parameter name (an identifier) for one bound of one check."""
    return re.sub(r"\W+", "_", f"{check} {side}").strip("_")


def _context(settings: Settings) -> Any:
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="file", project_root_dir=str(settings.state_dir("gx")))
    context.variables.progress_bars = ProgressBarsConfig(globally=False)  # the flow reports; no tqdm in logs
    return context


def run_checkpoint(settings: Settings, conn: Any, database_url: str, run_id: str,
                   expectations: Sequence[Expectation]) -> CheckpointOutcome:
    """Store the observations, (re)define suite and checkpoint, run it with the bounds, build Data Docs."""
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.checkpoint import UpdateDataDocsAction
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.expectations.row_conditions import Column

    with conn.cursor() as cur:
        cur.execute(OBSERVATIONS_DDL)
        cur.execute("delete from audit.guard_observations where run_id = %s", (run_id,))
        cur.executemany("insert into audit.guard_observations (run_id, check_name, observed) values (%s, %s, %s)",
                        [(run_id, e.check, e.observed) for e in expectations])
    conn.commit()

    os.environ[CONNECTION_ENV] = sqlalchemy_url(database_url)
    context = _context(settings)
    datasource = context.data_sources.add_or_update_postgres(DATASOURCE,
                                                             connection_string="${" + CONNECTION_ENV + "}")
    asset_name = "observations"
    if any(a.name == asset_name for a in datasource.assets):
        datasource.delete_asset(asset_name)
    run_literal = run_id.replace("'", "''")
    asset = datasource.add_query_asset(
        asset_name, query=f"select check_name, observed from audit.guard_observations where run_id = '{run_literal}'")
    batch = asset.add_batch_definition_whole_table("this run")

    suite = gx.ExpectationSuite(name=SUITE)
    for e in expectations:
        suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(
            column="observed",
            min_value={"$PARAMETER": _parameter(e.check, "lower")},
            max_value={"$PARAMETER": _parameter(e.check, "upper")},
            row_condition=Column("check_name") == e.check,
            severity="critical" if e.severity == "error" else "warning",
            meta={"check": e.check},
        ))
    suite = context.suites.add_or_update(suite)
    definition = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name="guards on this run", data=batch, suite=suite))
    checkpoint = context.checkpoints.add_or_update(gx.Checkpoint(
        name=CHECKPOINT, validation_definitions=[definition],
        actions=[UpdateDataDocsAction(name="data docs")], result_format={"result_format": "BASIC"}))
    parameters = {}
    for e in expectations:
        parameters[_parameter(e.check, "lower")] = e.lower
        parameters[_parameter(e.check, "upper")] = e.upper
    # a run time of our own: without one GX parses the run name as a date, and some run ids read as an offset
    result = checkpoint.run(expectation_parameters=parameters,
                            run_id=RunIdentifier(run_name=run_id, run_time=datetime.now(UTC)))

    success: dict[str, bool] = {}
    result_path = None
    for identifier, validation in result.run_results.items():
        result_path = str(identifier)
        for item in validation.results:
            check = (item.expectation_config.meta or {}).get("check")
            if check:
                success[check] = bool(item.success)
    urls = context.get_docs_sites_urls()
    url = urls[0]["site_url"] if urls else None
    if url and url.startswith("file://") and not Path(url[len("file://"):]).exists():
        url = None
    return CheckpointOutcome(success, url, result_path)


def build_data_docs(settings: Settings) -> str | None:
    """(Re)build the GX Data Docs from the stored validation results; the site's index as a file:// URL."""
    context = _context(settings)
    context.build_data_docs()
    urls = context.get_docs_sites_urls()
    return urls[0]["site_url"] if urls else None
