"""What `knackhouse run` checks before anything runs, so a configuration error is one line within seconds.

In order: the credentials, the flags (`--as-of`, `--reopen-year`), the mapping file's shape, the database
(reachable, TLS, password, one server session), that each reopened year is frozen, then one metadata request
to Knack against which every object and field key of the mapping is checked. Each failure is a ConfigError
(exit 2). No heavy library is imported here: the checks end before dlt, dbt or Prefect load.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from knackhouse.errors import ConfigError
from knackhouse.settings import Settings

# an academic year as the marts label it: a split year (2024/2025) or a calendar year (2025/2025)
ACADEMIC_YEAR = re.compile(r"^(\d{4})/(\d{4})$")
# the last time zone to start a day (UTC+14): an as-of date later than its date there is in the future
LATEST_ZONE_AHEAD = timedelta(hours=14)
METADATA_TIMEOUT_SECONDS = (5.0, 30.0)  # connect, read


@dataclass(frozen=True)
class RunChecks:
    """What the checks return: the parsed flags and the database URL they reached."""

    as_of: date | None
    reopen_years: list[str]
    database_url: str


def parse_as_of(text: str | None, now: datetime | None = None) -> date | None:
    """`--as-of YYYY-MM-DD`, not after today anywhere on Earth."""
    if not text:
        return None
    try:
        value = date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"--as-of must be a date written YYYY-MM-DD, e.g. 2025-03-31; got {text!r}") from None
    latest = ((now or datetime.now(UTC)) + LATEST_ZONE_AHEAD).date()
    if value > latest:
        raise ConfigError(f"--as-of {value} is in the future; give today or an earlier date, or leave it out "
                          "for today")
    return value


def parse_reopen_years(values: Sequence[str] | None) -> list[str]:
    """`--reopen-year YYYY/YYYY`: a split year (2024/2025) or a calendar year (2025/2025)."""
    years = []
    for text in values or []:
        match = ACADEMIC_YEAR.match(text.strip())
        if not match or int(match.group(2)) - int(match.group(1)) not in (0, 1):
            raise ConfigError(f"--reopen-year must be an academic year written YYYY/YYYY, e.g. 2024/2025 (or "
                              f"2025/2025 for a calendar year); got {text!r}")
        years.append(match.group(0))
    return years


def frozen_years(database_url: str) -> list[str]:
    """The academic years whose partitions of fct_vespa_results are frozen (audit.frozen_partitions)."""
    from knackhouse.warehouse import connect, relation_exists

    with closing(connect(database_url, autocommit=True)) as conn, conn.cursor() as cur:
        if not relation_exists(cur, "audit.frozen_partitions"):
            return []
        cur.execute("select academic_year from audit.frozen_partitions where table_name = 'fct_vespa_results' "
                    "order by 1")
        return [row[0] for row in cur.fetchall()]


def check_frozen(database_url: str, years: Sequence[str]) -> None:
    """Every year to reopen is frozen: reopening any other one would do nothing and say it did."""
    if not years:
        return
    frozen = frozen_years(database_url)
    for year in years:
        if year not in frozen:
            known = ", ".join(frozen) if frozen else "none yet"
            raise ConfigError(f"--reopen-year {year}: that year is not frozen, so there is nothing to reopen "
                              f"(frozen years: {known})")


def app_metadata(settings: Settings) -> dict[str, Any] | None:
    """One `GET /applications/{app_id}`; None when Knack gives no metadata (the run then reports why, through
    the flow, as a Knack API error)."""
    import requests

    url = f"{settings.knack_api_url}/applications/{settings.knack_app_id}"
    headers = {"X-Knack-Application-Id": str(settings.knack_app_id),
               "X-Knack-REST-API-Key": str(settings.knack_api_key)}
    try:
        response = requests.get(url, headers=headers, timeout=METADATA_TIMEOUT_SECONDS)
        body = response.json() if response.status_code == 200 else None
    except (requests.RequestException, ValueError):
        return None
    return body if isinstance(body, dict) else None


def check_run(settings: Settings, *, as_of: str | None, reopen_years: Sequence[str] | None) -> RunChecks:
    """Every check of `knackhouse run`, cheapest first; raises ConfigError on the first that fails."""
    if not settings.knack_app_id or not settings.knack_api_key:
        raise ConfigError("KNACK_APP_ID and KNACK_API_KEY must be set for `knackhouse run` "
                          "(try `knackhouse demo` to see it work against the simulator)")
    run_as_of = parse_as_of(as_of)
    years = parse_reopen_years(reopen_years)
    from knackhouse.app_config import load_app_config

    mapping = load_app_config(settings.app_config)
    from flows.lock import check_session
    from knackhouse.warehouse import resolve_url

    database_url = resolve_url(settings)
    check_session(database_url)  # unreachable, TLS, password, a pooler: one line each
    check_frozen(database_url, years)
    metadata = app_metadata(settings)
    if metadata is not None:
        mapping.validate(metadata)
    return RunChecks(as_of=run_as_of, reopen_years=years, database_url=database_url)
