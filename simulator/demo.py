"""The generated school-coaching demo app: establishments, staff, students and VESPA results.

Deterministic for a seed. Scale 1 is a realistic platform: about 140 establishments, 25,000
students per academic year over three academic years, results up to three cycles a year. The app
has a clock (`now`, wall time in Europe/London): history before it is generated at once; what is
planned after it (uploads, results) and each day's ordinary change happen as `advance()` moves the
clock. Scripted incidents (`trigger`) replay docs/incidents.md; `truth()` says what a correct
warehouse holds. Dirty data comes in fixed, documented shares (see `DIRT`).
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from simulator.app import KnackApp
from simulator.demo_people import (
    AU_TOWNS,
    FIRST_NAMES,
    LAST_NAMES,
    PERSONAL_DOMAINS,
    SCHOOL_KINDS,
    UK_TOWNS,
    DayPicker,
    html_wrapped,
    mixed_case,
    school_time,
    slug,
)
from simulator.demo_schema import (
    E_PORTAL,
    E_STATUS,
    ESTABLISHMENTS,
    MODIFIED_FIELDS,
    OBJECTS,
    R_MODIFIED,
    R_OVERALL,
    R_VISION,
    RESULTS,
    ROLES,
    S_ESTABLISHMENT,
    S_MODIFIED,
    S_TUTORS,
    S_YEAR_GROUP,
    STAFF,
    STUDENTS,
)
from simulator.knack_values import LONDON, academic_year, id_created_at, utc_seconds
from simulator.store import Field, Table

STUDENTS_PER_YEAR = 25_000
ESTABLISHMENTS_AT_SCALE_1 = 140
# Shares of dirty data, per student record or per result record (each one knowable from truth()).
DIRT = {
    "student_orphan": 0.03,            # no establishment connection (half with a personal email domain)
    "student_duplicate": 0.02,         # a second record of the same student differing by case or spaces
    "student_mixed_case_email": 0.05,
    "student_missing_last_name": 0.02,
    "student_missing_first_name": 0.01,
    "student_no_tutor": 0.05,
    "result_html_email": 0.08,         # `<a href="mailto:x">x</a>` in the text email field
    "result_mixed_case_email": 0.05,
    "result_spaced_email": 0.02,
    "result_on_year_boundary": 0.008,  # cycle-3 results at 23:xx on the last day or 00:xx on the next year's first
}
CYCLE_COMPLETION = (0.95, 0.88, 0.8)
# Cycle windows as (month, day) pairs relative to the academic year's first calendar year.
CYCLE_WINDOWS = {
    "UK": (((9, 15), (12, 12), 0), ((1, 8), (3, 28), 1), ((4, 15), (7, 15), 1)),
    "Australia": (((2, 10), (4, 30), 0), ((5, 10), (8, 20), 0), ((9, 1), (11, 30), 0)),
}
YEAR_START = {"UK": "08-01", "Australia": "01-01"}
# Normal deviates (sd 1.3) drawn once: a score's noise is one of them, picked by 12 random bits.
SCORE_NOISE = (lambda draw: tuple(draw.gauss(0, 1.3) for _ in range(4096)))(random.Random(0))
INCIDENTS = ("runaway_duplicates", "mass_orphan_creation", "reimport_school", "establishments_vanish",
             "orphan_spike", "zero_results_day", "full_reimport")


@dataclass
class Person:
    """A student as a person: the same email across academic years (each year a new Knack record)."""

    name: dict[str, str]
    email: str
    group: int
    ability: float


@dataclass
class School:
    index: int
    id: str
    name: str
    domain: str
    country: str
    size: int
    tutors: list[str] = field(default_factory=list)
    persons: list[Person] = field(default_factory=list)
    planned_years: int = 0


@dataclass(frozen=True)
class IncidentReport:
    """What a scripted incident did: which object, how many records, over which window."""

    name: str
    object_key: str
    records: int
    starts: datetime
    ends: datetime
    detail: dict[str, Any] = field(default_factory=dict)


class DemoApp(KnackApp):
    """The demo app; `DemoApp(scale, seed)` and `DemoApp.generate(scale=, seed=)` are the same."""

    incidents = INCIDENTS

    def __init__(self, scale: float = 0.02, seed: int = 1, start: date = date(2025, 10, 1), history_years: int = 3,
                 words: dict[str, str] | None = None):
        """`words`: another platform's words for the establishments' status and portal-type values, by the demo's
        own ("Active", "Cancelled", "Trial", "coaching portal", "COACHING PORTAL", "RESOURCE PORTAL"); the
        records and the status field's choices use them, everything else is the same app."""
        if scale <= 0:
            raise ValueError("scale must be positive")
        self.scale = scale
        self.seed = seed
        self.history_years = history_years
        self.words = dict(words or {})
        rng = random.Random(f"demo-{seed}")
        tables = [Table(key=key, name=name, fields=[self._worded(f) for f in fields], identifier=identifier)
                  for key, name, identifier, fields in OBJECTS]
        self.api_key = _uuid(rng)
        super().__init__(app_id=f"{rng.getrandbits(96):024x}", name="VESPA Coaching Platform",
                         slug="vespa-coaching", timezone=LONDON, account_slug="vespa-academy", tables=tables,
                         now=datetime.combine(start, time()), id_salt=rng.getrandbits(40),
                         modified_fields=MODIFIED_FIELDS)
        self.schools: list[School] = []
        self.first_year = academic_start_year(start, "08-01") - (history_years - 1)
        self.reports: list[IncidentReport] = []
        self.records_by_year: dict[tuple[int, int], list[str]] = {}   # (school index, year) → student ids
        self.result_ids_by_year: dict[int, list[str]] = {}
        self.boundary_results: set[str] = set()
        self._events: list[tuple[datetime, int, str, Any]] = []
        self._seq = 0
        self._pickers: dict[tuple[str, int, int], DayPicker] = {}
        self._deferred_results: tuple[datetime, datetime] | None = None
        self._generate(rng)

    def word(self, value: str) -> str:
        """The app's word for one of the demo's establishment values."""
        return self.words.get(value, value)

    def canonical(self, value: str | None) -> str | None:
        """The demo's own word for one of the app's establishment values (the inverse of `word`)."""
        return next((own for own, theirs in self.words.items() if theirs == value), value)

    def _worded(self, spec: Field) -> Field:
        options = (spec.format or {}).get("options")
        if not self.words or spec.type != "multiple_choice" or not options:
            return spec
        return replace(spec, format={**(spec.format or {}), "options": [self.word(o) for o in options]})

    @classmethod
    def generate(cls, scale: float = 0.02, seed: int = 1, start: date = date(2025, 10, 1),
                 history_years: int = 3) -> DemoApp:
        return cls(scale=scale, seed=seed, start=start, history_years=history_years)

    # ------------------------------------------------------------------ generation
    def _generate(self, rng: random.Random) -> None:
        self._make_establishments(rng)
        self._make_staff(rng)
        for year in range(self.first_year, self.first_year + self.history_years):
            for school in self.schools:
                self._plan_year(school, year)
        # a calendar-year school's current year starts before the split year's (January against August): an app
        # starting between the two holds it too, or its first days would insert its whole year, backdated
        for school in self.schools:
            for year in range(self.first_year + school.planned_years,
                              academic_start_year(self.today, YEAR_START[school.country]) + 1):
                self._plan_year(school, year)
        self._run_events(self.now)

    def _make_establishments(self, rng: random.Random) -> None:
        count = max(8, round(ESTABLISHMENTS_AT_SCALE_1 * self.scale))
        ratio = count / ESTABLISHMENTS_AT_SCALE_1
        australian = max(1, round(14 * ratio))
        portals = (["coaching portal"] * max(1, round(26 * ratio)) + [""] * max(1, round(13 * ratio))
                   + ["RESOURCE PORTAL"] * max(1, round(7 * ratio)))
        portals += ["COACHING PORTAL"] * (count - len(portals))
        rng.shuffle(portals)
        portals = [self.word(p) if p else p for p in portals]
        countries = ["Australia"] * australian + ["UK"] * (count - australian)
        rng.shuffle(countries)
        cancelled = set(rng.sample([i for i in range(count) if portals[i] == self.word("COACHING PORTAL")],
                                   max(1, round(ratio))))
        weights = [rng.lognormvariate(0, 0.45) for _ in range(count)]
        per_year = STUDENTS_PER_YEAR * self.scale
        names: set[str] = set()
        for index in range(count):
            country = countries[index]
            while True:
                town = rng.choice(AU_TOWNS if country == "Australia" else UK_TOWNS)
                name = f"{town} {rng.choice(SCHOOL_KINDS)}"
                if name not in names:
                    break
                name = f"{name} {len(names)}" if rng.random() < 0.3 else name
                if name not in names:
                    break
            names.add(name)
            domain = slug(name) + (".vic.edu.au" if country == "Australia" else ".sch.uk")
            created = school_time(rng, date(2021, 1, 4) + timedelta(days=rng.randrange(700)))
            status = self.word("Cancelled" if index in cancelled else "Active")
            values = (name, status, portals[index], country, domain, created.replace(second=0))
            school_id = self.insert(ESTABLISHMENTS, values, created)
            size = max(3, round(per_year * weights[index] / sum(weights)))
            self.schools.append(School(index, school_id, name, domain, country, size))

    def _make_staff(self, rng: random.Random) -> None:
        for school in self.schools:
            count = max(3, round(school.size / 12))
            used: set[str] = set()
            for n in range(count):
                role = "Staff Admin" if n == 0 else rng.choices(ROLES, (70, 15, 5, 10))[0]
                first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
                local = slug(first[0]) + "." + slug(last)
                while local in used:
                    local += str(rng.randrange(10))
                used.add(local)
                email = f"{local}@{school.domain}"
                if rng.random() < 0.03:
                    email = mixed_case(email)
                created = school_time(rng, date(2022, 6, 1) + timedelta(days=rng.randrange(200)))
                values = ({"first": first, "last": last}, email, (school.id,), role, created.replace(second=0))
                staff_id = self.insert(STAFF, values, created)
                if role in ("Tutor", "Head of Year"):
                    school.tutors.append(staff_id)
            if not school.tutors:
                school.tutors.append(staff_id)

    def _new_person(self, rng: random.Random, school: School, group: int, taken: set[str]) -> Person:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        base = f"{slug(first)}.{slug(last)}"
        email = f"{base}@{school.domain}"
        while email in taken:
            email = f"{base}{rng.randrange(1000)}@{school.domain}"
        taken.add(email)
        name = {"first": first, "last": last}
        draw = rng.random()
        if draw < DIRT["student_missing_last_name"]:
            name = {"first": first}
        elif draw < DIRT["student_missing_last_name"] + DIRT["student_missing_first_name"]:
            name = {"last": last}
        return Person(name, email, group, min(9.0, max(2.0, rng.gauss(6.0, 1.2))))

    def _picker(self, country: str, year: int, cycle: int) -> DayPicker:
        key = (country, year, cycle)
        if key not in self._pickers:
            (m1, d1), (m2, d2), offset = CYCLE_WINDOWS[country][cycle - 1]
            self._pickers[key] = DayPicker(date(year + offset, m1, d1), date(year + offset, m2, d2))
        return self._pickers[key]

    def _plan_year(self, school: School, year: int) -> None:
        """Plan one academic year of a school: its upload, late joiners and their results."""
        rng = random.Random(f"demo-{self.seed}-school-{school.index}-year-{year}")
        groups = range(7, 14) if school.country == "UK" else range(7, 13)
        taken = {p.email for p in school.persons}
        if not school.persons:
            school.persons = [self._new_person(rng, school, rng.choice(groups), taken) for _ in range(school.size)]
        else:
            kept = [p for p in school.persons if p.group < groups[-1] and rng.random() > 0.04]
            for person in kept:
                person.group += 1
            target = max(3, round(school.size * rng.uniform(0.97, 1.03)))
            kept += [self._new_person(rng, school, groups[0], taken) for _ in range(max(0, target - len(kept)))]
            school.persons = kept
        if school.country == "UK":
            upload_day = date(year, 9, 1) + timedelta(days=rng.randrange(14))
            last_join = date(year + 1, 5, 31)
        else:
            upload_day = date(year, 1, 27) + timedelta(days=rng.randrange(10))
            last_join = date(year, 10, 31)
        upload_at = datetime.combine(upload_day, time(9, rng.randrange(60)))
        for n, person in enumerate(school.persons):
            self._plan_student(rng, school, year, person, upload_at + timedelta(seconds=3 * n))
        late = max(0, round(school.size * 0.03))
        span = (last_join - upload_day).days - 14
        for _ in range(late):
            person = self._new_person(rng, school, rng.choice(groups), taken)
            school.persons.append(person)
            joined = school_time(rng, upload_day + timedelta(days=14 + rng.randrange(max(1, span))))
            self._plan_student(rng, school, year, person, joined)
        school.planned_years = max(school.planned_years, year - self.first_year + 1)

    def _plan_student(self, rng: random.Random, school: School, year: int, person: Person, created: datetime) -> None:
        email = person.email
        connection: tuple[str, ...] = (school.id,)
        draw = rng.random()
        if draw < DIRT["student_orphan"]:
            connection = ()
            if draw < DIRT["student_orphan"] / 2:
                local = email.split("@")[0].replace(".", "") + str(rng.randrange(100))
                email = f"{local}@{rng.choice(PERSONAL_DOMAINS)}"
        if rng.random() < DIRT["student_mixed_case_email"]:
            email = mixed_case(email)
        tutors: tuple[str, ...] = ()
        if connection and rng.random() >= DIRT["student_no_tutor"]:
            tutors = tuple(sorted(set(rng.sample(school.tutors, min(len(school.tutors), 1 + (rng.random() < 0.15))))))
        consent_draw = rng.random()
        consent = True if consent_draw < 0.9 else (False if consent_draw < 0.95 else None)
        upload = datetime.combine(created.date(), time())
        values = (person.name, email, connection, f"Year {person.group}", tutors, upload, consent, None)
        self._push(created, "student", (school.index, year, values))
        if rng.random() < DIRT["student_duplicate"]:
            twin = mixed_case(email) if rng.random() < 0.5 else (" " + email if rng.random() < 0.5 else email + " ")
            self._push(created + timedelta(minutes=rng.randrange(2, 30)), "student",
                       (school.index, year, (person.name, twin) + values[2:]))
        for cycle in (1, 2, 3):
            if rng.random() >= CYCLE_COMPLETION[cycle - 1]:
                continue
            completed = self._picker(school.country, year, cycle).pick(rng, created.date() + timedelta(days=1))
            if completed is None:
                continue
            if cycle == 3 and rng.random() < DIRT["result_on_year_boundary"]:
                completed = self._year_boundary(rng, school.country, year)
            self._push(completed, "result", self._result_values(rng, person, email, school, cycle))

    def _year_boundary(self, rng: random.Random, country: str, year: int) -> datetime:
        first_next = date(year + 1, 8, 1) if country == "UK" else date(year + 1, 1, 1)
        if rng.random() < 0.5:
            return datetime.combine(first_next - timedelta(days=1), time(23, rng.randrange(60)))
        return datetime.combine(first_next, time(0, rng.randrange(60)))

    def _result_values(self, rng: random.Random, person: Person, email: str, school: School,
                       cycle: int) -> tuple[Any, ...]:
        text = email.strip().lower()
        draw = rng.random()
        if draw < DIRT["result_html_email"]:
            text = html_wrapped(text)
        elif draw < DIRT["result_html_email"] + DIRT["result_mixed_case_email"]:
            text = mixed_case(text)
        elif draw < DIRT["result_html_email"] + DIRT["result_mixed_case_email"] + DIRT["result_spaced_email"]:
            text = f" {text} "
        centre = person.ability + 0.2 * cycle + 0.5
        getrandbits = rng.getrandbits
        scores = [_score(centre + SCORE_NOISE[getrandbits(12)]) for _ in range(5)]
        overall = _score(sum(scores) / 5 + 0.5)
        return (text, person.name, (school.id,), cycle, *scores, overall, None, None)

    # ------------------------------------------------------------------ events and the clock
    def _push(self, when: datetime, kind: str, payload: Any) -> None:
        self._seq += 1
        heapq.heappush(self._events, (when, self._seq, kind, payload))

    def _run_events(self, until: datetime) -> None:
        events = self._events
        while events and events[0][0] < until:
            when, _, kind, payload = heapq.heappop(events)
            if kind == "result" and self._deferred_results and \
                    self._deferred_results[0] <= when < self._deferred_results[1]:
                start, end = self._deferred_results
                self._push(when + (end - start), kind, payload)
                continue
            self._apply(when, kind, payload)

    def _apply(self, when: datetime, kind: str, payload: Any) -> None:
        stamp = when.replace(second=0, microsecond=0)
        if kind == "student":
            school_index, year, values = payload
            record_id = self.insert(STUDENTS, values[:S_MODIFIED] + (stamp,), when)
            self.records_by_year.setdefault((school_index, year), []).append(record_id)
        elif kind == "result":
            values = payload[:R_OVERALL + 1] + (stamp, stamp)
            record_id = self.insert(RESULTS, values, when)
            if (stamp.month, stamp.day, stamp.hour) in ((7, 31, 23), (8, 1, 0), (12, 31, 23), (1, 1, 0)):
                self.boundary_results.add(record_id)
        elif kind == "insert":
            object_key, values = payload
            self.insert(object_key, values[:-1] + (stamp,), when)
        elif kind == "edit":
            object_key, record_id, position, value = payload
            table = self.tables[object_key]
            if record_id in table.rows:
                row = list(table.rows[record_id])
                if position is not None:
                    row[position] = value
                self.touch(object_key, record_id, tuple(row), when)
        elif kind == "delete":
            object_key, record_id = payload
            if record_id in self.tables[object_key].rows:
                self.delete(object_key, record_id)

    def advance(self, days: int = 1) -> None:
        """Move the clock `days` midnights forward through ordinary change (uploads, results, edits, deletions)."""
        with self.lock:
            for _ in range(days):
                end = datetime.combine(self.today + timedelta(days=1), time())
                self._plan_ahead(end + timedelta(days=60))
                self._ordinary_day(self.now, end)
                self._run_events(end)
                self.now = end

    def _plan_ahead(self, horizon: datetime) -> None:
        for school in self.schools:
            next_year = self.first_year + school.planned_years
            upload_season = date(next_year, 8, 1) if school.country == "UK" else date(next_year, 1, 1)
            if upload_season <= horizon.date():
                self._plan_year(school, next_year)

    def _ordinary_day(self, start: datetime, end: datetime) -> None:
        day = start.date()
        rng = random.Random(f"demo-{self.seed}-day-{day.isoformat()}")
        weekday = day.weekday() < 5
        students = self.tables[STUDENTS]
        this_year = {country: academic_start_year(day, start) for country, start in YEAR_START.items()}
        current = [rid for (school, year), ids in self.records_by_year.items()
                   if year == this_year[self.schools[school].country] for rid in ids]

        def at() -> datetime:
            moment = school_time(rng, day)
            return moment if moment >= start else start + timedelta(seconds=rng.randrange(60))

        edits = _draw_count(rng, len(current) * (0.002 if weekday else 0.0005))
        for record_id in rng.sample(current, min(edits, len(current))):
            if record_id not in students.rows:
                continue
            row = students.rows[record_id]
            if rng.random() < 0.5 and row[S_YEAR_GROUP]:
                group = int(row[S_YEAR_GROUP].split()[-1])
                group = min(13, max(7, group + rng.choice((-1, 1))))
                self._push(at(), "edit", (STUDENTS, record_id, S_YEAR_GROUP, f"Year {group}"))
            elif row[S_ESTABLISHMENT]:
                school = self._school(row[S_ESTABLISHMENT][0])
                self._push(at(), "edit", (STUDENTS, record_id, S_TUTORS, (rng.choice(school.tutors),)))
            else:
                self._push(at(), "edit", (STUDENTS, record_id, None, None))
        leavers = _draw_count(rng, len(current) * (0.0003 if weekday else 0.0))
        for record_id in rng.sample(current, min(leavers, len(current))):
            self._push(at(), "delete", (STUDENTS, record_id))
        results = self.result_ids_by_year.get(academic_start_year(day, "08-01"), [])
        for record_id in rng.sample(results, min(_draw_count(rng, len(results) * 0.0005), len(results))):
            self._push(at(), "edit", (RESULTS, record_id, R_VISION, rng.randint(1, 10)))
        if weekday and rng.random() < 0.3:
            school = rng.choice(self.schools)
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            email = f"{slug(first[0])}.{slug(last)}{rng.randrange(100, 999)}@{school.domain}"
            self._push(at(), "insert", (STAFF, ({"first": first, "last": last}, email, (school.id,), "Tutor", None)))
        if rng.random() < 0.05:
            school = rng.choice(self.schools)
            self._push(at(), "edit", (ESTABLISHMENTS, school.id, None, None))

    def insert(self, object_key: str, values: tuple[Any, ...], created: datetime) -> str:
        record_id = super().insert(object_key, values, created)
        if object_key == RESULTS:
            completed = values[R_MODIFIED - 1]
            year = academic_start_year(completed.date(), "08-01") if completed else self.first_year
            self.result_ids_by_year.setdefault(year, []).append(record_id)
        return record_id

    # ------------------------------------------------------------------ incidents
    def trigger(self, name: str, **options: Any) -> IncidentReport:
        """Start a scripted incident from docs/incidents.md now; see docs/simulator.md for each one."""
        handlers = {
            "runaway_duplicates": self._runaway_duplicates,
            "mass_orphan_creation": self._mass_orphan_creation,
            "reimport_school": self._reimport_school,
            "establishments_vanish": self._establishments_vanish,
            "orphan_spike": self._orphan_spike,
            "zero_results_day": self._zero_results_day,
            "full_reimport": self._full_reimport,
        }
        if name not in handlers:
            raise ValueError(f"unknown incident {name!r} (known: {', '.join(INCIDENTS)})")
        rng = random.Random(f"demo-{self.seed}-incident-{name}-{self.now.isoformat()}")
        with self.lock:
            report = handlers[name](rng, **options)
            if report.ends <= self.now + timedelta(minutes=1):  # an instant incident: the clock moves past it
                self.now = report.starts + timedelta(minutes=1)
        self.reports.append(report)
        return report

    def clean_up(self, report: IncidentReport) -> int:
        """What an operator does after an incident that created records (a runaway loop, a mass creation):
        delete every record of its object created in its window. Returns how many were deleted."""
        first = utc_seconds(report.starts.replace(second=0, microsecond=0), self.zone)
        last = utc_seconds(report.ends, self.zone)
        with self.lock:
            doomed = [i for i in self.tables[report.object_key].rows
                      if first <= id_created_at(i).timestamp() <= last]
            self.delete_many(report.object_key, doomed)
        return len(doomed)

    def _instant(self) -> tuple[datetime, datetime]:
        start = self.now.replace(second=0, microsecond=0)
        return start, start + timedelta(seconds=59)

    def _runaway_duplicates(self, rng: random.Random, object_key: str = ESTABLISHMENTS,
                            copies: int | None = None) -> IncidentReport:
        table = self.tables[object_key]
        ids = sorted(table.rows)
        count = copies if copies is not None else 20 * len(ids)
        start, end = self._instant()
        for n in range(count):
            source = ids[n % len(ids)]
            when = start + timedelta(seconds=n * 59 // max(1, count))
            self.touch_insert(object_key, table.rows[source], when)
        return IncidentReport("runaway_duplicates", object_key, count, start, end, {"copied_from": len(ids)})

    def touch_insert(self, object_key: str, values: tuple[Any, ...], when: datetime) -> str:
        row = list(values)
        row[self.tables[object_key].index[self.modified_fields[object_key]]] = when.replace(second=0, microsecond=0)
        return self.insert(object_key, tuple(row), when)

    def _mass_orphan_creation(self, rng: random.Random, count: int | None = None,
                              hours: float = 48) -> IncidentReport:
        total = count if count is not None else max(50, round(4822 * self.scale))
        start = self.now
        span = timedelta(hours=hours)
        for n in range(total):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            email = f"{slug(first)}.{slug(last)}{rng.randrange(10_000)}@{rng.choice(PERSONAL_DOMAINS)}"
            values = ({"first": first, "last": last}, email, (), None, (), None, None, None)
            when = start + span * (n / total) if hours else start
            if hours:
                self._push(when, "insert", (STUDENTS, values))
            else:
                self.touch_insert(STUDENTS, values, when)
        return IncidentReport("mass_orphan_creation", STUDENTS, total, start, start + span, {"hours": hours})

    def _reimport_school(self, rng: random.Random, establishment_id: str | None = None) -> IncidentReport:
        school = self._school(establishment_id)
        year = academic_start_year(self.today, YEAR_START[school.country])
        students = self.tables[STUDENTS]
        start, end = self._instant()
        old_ids = [rid for rid in self.records_by_year.get((school.index, year), []) if rid in students.rows]
        new_ids = []
        for record_id in old_ids:
            values = students.rows[record_id]
            self.delete(STUDENTS, record_id)
            new_ids.append(self.touch_insert(STUDENTS, values, start))
        self.records_by_year[(school.index, year)] = new_ids
        return IncidentReport("reimport_school", STUDENTS, len(new_ids), start, end,
                              {"establishment_id": school.id, "old_ids": old_ids, "new_ids": new_ids})

    def _full_reimport(self, rng: random.Random, object_key: str = STUDENTS) -> IncidentReport:
        table = self.tables[object_key]
        start, end = self._instant()
        mapping: dict[str, str] = {}
        for record_id in sorted(table.rows):
            values = table.rows[record_id]
            self.delete(object_key, record_id)
            mapping[record_id] = self.touch_insert(object_key, values, start)
        for key, ids in self.records_by_year.items():
            self.records_by_year[key] = [mapping.get(rid, rid) for rid in ids]
        if object_key == RESULTS:
            for year, ids in self.result_ids_by_year.items():
                self.result_ids_by_year[year] = [mapping.get(rid, rid) for rid in ids]
        return IncidentReport("full_reimport", object_key, len(mapping), start, end, {"new_ids": mapping})

    def _establishments_vanish(self, rng: random.Random) -> IncidentReport:
        table = self.tables[ESTABLISHMENTS]
        start, end = self._instant()
        gone = [rid for rid, row in sorted(table.rows.items())
                if row[E_STATUS] == self.word("Cancelled") or self.word("COACHING PORTAL") not in (row[E_PORTAL] or "")]
        for record_id in gone:
            self.delete(ESTABLISHMENTS, record_id)
        return IncidentReport("establishments_vanish", ESTABLISHMENTS, len(gone), start, end,
                              {"before": len(gone) + len(table.rows), "after": len(table.rows), "deleted_ids": gone})

    def _orphan_spike(self, rng: random.Random, share: float = 0.18) -> IncidentReport:
        students = self.tables[STUDENTS]
        start, end = self._instant()
        this_year = {country: academic_start_year(self.today, start) for country, start in YEAR_START.items()}
        current = sorted(rid for (school, y), ids in self.records_by_year.items()
                         if y == this_year[self.schools[school].country] for rid in ids
                         if rid in students.rows and students.rows[rid][S_ESTABLISHMENT])
        chosen = rng.sample(current, round(len(current) * share))
        for record_id in chosen:
            row = list(students.rows[record_id])
            row[S_ESTABLISHMENT] = ()
            self.touch(STUDENTS, record_id, tuple(row), start)
        return IncidentReport("orphan_spike", STUDENTS, len(chosen), start, end, {"share": share})

    def _zero_results_day(self, rng: random.Random, days: int = 1) -> IncidentReport:
        start = datetime.combine(self.today, time())
        end = start + timedelta(days=days)
        self._deferred_results = (max(start, self.now), end)
        return IncidentReport("zero_results_day", RESULTS, 0, start, end, {"days": days})

    def _school(self, establishment_id: str | None) -> School:
        if establishment_id is not None:
            by_id = {school.id: school for school in self.schools}
            if establishment_id not in by_id:
                raise ValueError(f"no establishment {establishment_id}")
            return by_id[establishment_id]
        rows = self.tables[ESTABLISHMENTS].rows
        active = [s for s in self.schools
                  if s.id in rows and rows[s.id][E_STATUS] == self.word("Active") and s.country == "UK"]
        return max(active, key=lambda s: (s.size, s.id))

    # ------------------------------------------------------------------ truth
    def truth(self) -> Any:
        from simulator.truth import compute_truth

        with self.lock:
            return compute_truth(self)


def academic_start_year(day: date, start: str) -> int:
    """The calendar year in which the academic year containing `day` starts."""
    return int(academic_year(day, start)[:4])


def _score(value: float) -> int:
    """A 1–10 score from a real value (truncated: callers add 0.5 to round)."""
    whole = int(value)
    return 1 if whole < 1 else 10 if whole > 10 else whole


def _draw_count(rng: random.Random, expected: float) -> int:
    """A whole number of events with the given expectation (small apps still see rare events)."""
    return int(expected) + (rng.random() < expected - int(expected))


def _uuid(rng: random.Random) -> str:
    hexes = f"{rng.getrandbits(128):032x}"
    return f"{hexes[:8]}-{hexes[8:12]}-{hexes[12:16]}-{hexes[16:20]}-{hexes[20:]}"

