"""Ground truth of the demo app at its current clock, computed from its live records with knackhouse's
identity rules (a student-year is one normalised email in one academic year of its own upload date,
with the establishment's year start), so tests compare the warehouse with it, not with the code's output.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from simulator.demo_schema import (
    E_COUNTRY,
    E_DOMAIN,
    E_NAME,
    E_PORTAL,
    E_STATUS,
    ESTABLISHMENTS,
    R_COMPLETED,
    R_CYCLE,
    R_EMAIL,
    R_ESTABLISHMENT,
    RESULTS,
    S_EMAIL,
    S_ESTABLISHMENT,
    S_UPLOAD,
    STUDENTS,
)
from simulator.knack_values import academic_year, id_created_at, normalise_email

if TYPE_CHECKING:
    from simulator.demo import DemoApp, IncidentReport

DEFAULT_START = "08-01"
START_BY_COUNTRY = {"Australia": "01-01"}


@dataclass(frozen=True)
class EstablishmentTruth:
    id: str
    name: str
    status: str | None
    portal_type: str | None
    country: str | None
    email_domain: str | None
    year_start: str

    @property
    def is_active(self) -> bool:
        return (self.status or "").strip().lower() == "active"


@dataclass(frozen=True)
class Truth:
    """What a correct warehouse holds for the demo app as of `as_of` (the app's wall clock)."""

    as_of: datetime
    today: date
    live_ids: dict[str, frozenset[str]]
    deleted_ids: dict[str, frozenset[str]]
    establishments: dict[str, EstablishmentTruth]
    student_years: dict[tuple[str, str], int]
    student_year_keys: dict[tuple[str, str], str]
    orphans: dict[str, str]
    orphan_domain_matches: dict[str, str]
    duplicate_student_ids: frozenset[str]
    results: dict[tuple[str, str], int]
    result_keys: frozenset[tuple[str, str, int]]
    boundary_result_ids: frozenset[str]
    html_email_result_ids: frozenset[str]
    incidents: tuple[IncidentReport, ...]

    def counts(self) -> dict[str, int]:
        """Live records per object (what a complete scan returns)."""
        return {key: len(ids) for key, ids in self.live_ids.items()}

    def student_years_total(self, active_only: bool = False) -> int:
        return sum(n for (est, _), n in self.student_years.items()
                   if not active_only or self.establishments[est].is_active)

    def orphan_share(self) -> float:
        live = len(self.live_ids[STUDENTS])
        return len(self.orphans) / live if live else 0.0


def year_start(establishment: EstablishmentTruth | None) -> str:
    if establishment is None:
        return DEFAULT_START
    return START_BY_COUNTRY.get((establishment.country or "").strip(), DEFAULT_START)


def compute_truth(app: DemoApp) -> Truth:
    zone = app.zone
    establishments: dict[str, EstablishmentTruth] = {}
    for rid, row in app.tables[ESTABLISHMENTS].rows.items():
        country = row[E_COUNTRY]
        establishments[rid] = EstablishmentTruth(
            rid, row[E_NAME], app.canonical(row[E_STATUS]), row[E_PORTAL] or None, country, row[E_DOMAIN],
            START_BY_COUNTRY.get(country or "", DEFAULT_START))
    by_domain: dict[str, list[str]] = defaultdict(list)
    for est in establishments.values():
        if est.email_domain:
            by_domain[est.email_domain.lower()].append(est.id)

    student_emails: dict[tuple[str, str], set[str]] = defaultdict(set)
    student_year_keys: dict[tuple[str, str], str] = {}
    orphans: dict[str, str] = {}
    domain_matches: dict[str, str] = {}
    duplicates: set[str] = set()
    for rid in sorted(app.tables[STUDENTS].rows):
        row = app.tables[STUDENTS].rows[rid]
        email = normalise_email(row[S_EMAIL])
        connection = row[S_ESTABLISHMENT]
        if not connection or connection[0] not in establishments:
            orphans[rid] = "no_establishment" if not connection else "unknown_establishment"
            domain = (email or "").partition("@")[2]
            if len(by_domain.get(domain, [])) == 1:
                domain_matches[rid] = by_domain[domain][0]
            continue
        if email is None:
            continue
        est = establishments[connection[0]]
        day = row[S_UPLOAD].date() if row[S_UPLOAD] else id_created_at(rid).astimezone(zone).date()
        key = (email, academic_year(day, est.year_start))
        if key in student_year_keys:
            duplicates.add(rid)
        else:
            student_year_keys[key] = est.id
        student_emails[(est.id, key[1])].add(email)

    result_sets: dict[tuple[str, str], set[tuple[str, int]]] = defaultdict(set)
    result_keys: set[tuple[str, str, int]] = set()
    html_results: set[str] = set()
    for rid, row in app.tables[RESULTS].rows.items():
        text = row[R_EMAIL] or ""
        if "<" in text:
            html_results.add(rid)
        email = normalise_email(text)
        connection = row[R_ESTABLISHMENT]
        if email is None or row[R_COMPLETED] is None:
            continue
        est = establishments.get(connection[0]) if connection else None
        year = academic_year(row[R_COMPLETED].date(), year_start(est))
        result_keys.add((email, year, int(row[R_CYCLE])))
        if est is not None:
            result_sets[(est.id, year)].add((email, int(row[R_CYCLE])))

    live = {key: frozenset(t.rows) for key, t in app.tables.items()}
    return Truth(
        as_of=app.now, today=app.today, live_ids=live,
        deleted_ids={key: frozenset(ids) - live[key] for key, ids in app.deleted.items()},
        establishments=establishments,
        student_years={key: len(emails) for key, emails in sorted(student_emails.items())},
        student_year_keys=student_year_keys, orphans=orphans, orphan_domain_matches=domain_matches,
        duplicate_student_ids=frozenset(duplicates),
        results={key: len(keys) for key, keys in sorted(result_sets.items())},
        result_keys=frozenset(result_keys),
        boundary_result_ids=frozenset(app.boundary_results & live[RESULTS]),
        html_email_result_ids=frozenset(html_results),
        incidents=tuple(app.reports),
    )



