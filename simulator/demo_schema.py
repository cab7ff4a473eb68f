"""The demo app's objects and fields: keys fixed across seeds and scales (named in demo_mapping.yml)."""

from __future__ import annotations

from typing import Any

from simulator.store import Field

ESTABLISHMENTS, STAFF, STUDENTS, RESULTS = "object_1", "object_2", "object_3", "object_4"

DATE_TIME = {"calendar": False, "date_format": "dd/mm/yyyy", "time_format": "HH MM (military)",
             "default_type": "current", "time_type": "current"}
DATE_ONLY = {"calendar": False, "date_format": "dd/mm/yyyy", "time_format": "Ignore Time",
             "default_type": "none", "time_type": "none"}
MODIFIED = {**DATE_TIME, "default_type": "current"}
NAME = {"format": "First Last"}
NUMBER = {"mark_decimal": "none", "precision": 0, "rounding": "none", "mark_thousands": "none",
          "format": "", "pre": "", "post": ""}
ROLES = ["Tutor", "Head of Year", "Staff Admin", "General Staff"]
YEAR_GROUPS = [f"Year {g}" for g in range(7, 14)]


def _choice(options: list[str]) -> dict[str, Any]:
    return {"options": options, "type": "single", "sorting": "custom", "blank": "Select...", "default": "kn-blank"}


def _connection(target: str, has: str) -> dict[str, Any]:
    return {"object": target, "has": has, "belongs_to": "many"}


ESTABLISHMENT_FIELDS = [
    Field("field_1", "Name", "short_text", required=True),
    Field("field_2", "Status", "multiple_choice", _choice(["Active", "Cancelled", "Trial"])),
    Field("field_3", "Portal Type", "short_text"),
    Field("field_4", "Country", "multiple_choice", _choice(["UK", "Australia"])),
    Field("field_5", "Email Domain", "short_text"),
    Field("field_6", "Date Modified", "date_time", MODIFIED),
]
STAFF_FIELDS = [
    Field("field_7", "Name", "name", NAME),
    Field("field_8", "Email", "email", {"text_format": "url"}, required=True),
    Field("field_9", "Establishment", "connection", relationship=_connection(ESTABLISHMENTS, "one")),
    Field("field_10", "Role", "multiple_choice", _choice(ROLES)),
    Field("field_11", "Date Modified", "date_time", MODIFIED),
]
STUDENT_FIELDS = [
    Field("field_12", "Name", "name", NAME),
    Field("field_13", "Email", "email", {"text_format": "url"}),
    Field("field_14", "Establishment", "connection", relationship=_connection(ESTABLISHMENTS, "one")),
    Field("field_15", "Year Group", "multiple_choice", _choice(YEAR_GROUPS)),
    Field("field_16", "Tutors", "connection", relationship=_connection(STAFF, "many")),
    Field("field_17", "Upload Date", "date_time", DATE_ONLY),
    Field("field_18", "Consent Given", "boolean", {"input": "dropdown", "format": "yes_no", "default": False}),
    Field("field_19", "Date Modified", "date_time", MODIFIED),
]
RESULT_FIELDS = [
    Field("field_20", "Student Email", "short_text"),
    Field("field_21", "Student Name", "name", NAME),
    Field("field_22", "Establishment", "connection", relationship=_connection(ESTABLISHMENTS, "one")),
    Field("field_23", "Cycle", "number", NUMBER),
    Field("field_24", "Vision", "number", NUMBER),
    Field("field_25", "Effort", "number", NUMBER),
    Field("field_26", "Systems", "number", NUMBER),
    Field("field_27", "Practice", "number", NUMBER),
    Field("field_28", "Attitude", "number", NUMBER),
    Field("field_29", "Overall", "number", NUMBER),
    Field("field_30", "Completed", "date_time", DATE_TIME),
    Field("field_31", "Date Modified", "date_time", MODIFIED),
]

OBJECTS: list[tuple[str, str, str, list[Field]]] = [
    (ESTABLISHMENTS, "Establishments", "field_1", ESTABLISHMENT_FIELDS),
    (STAFF, "Staff Accounts", "field_7", STAFF_FIELDS),
    (STUDENTS, "Students", "field_12", STUDENT_FIELDS),
    (RESULTS, "VESPA Results", "field_21", RESULT_FIELDS),
]
MODIFIED_FIELDS = {ESTABLISHMENTS: "field_6", STAFF: "field_11", STUDENTS: "field_19", RESULTS: "field_31"}

# Tuple positions of each object's typed values (same order as the field lists above).
E_NAME, E_STATUS, E_PORTAL, E_COUNTRY, E_DOMAIN, E_MODIFIED = range(6)
T_NAME, T_EMAIL, T_ESTABLISHMENT, T_ROLE, T_MODIFIED = range(5)
S_NAME, S_EMAIL, S_ESTABLISHMENT, S_YEAR_GROUP, S_TUTORS, S_UPLOAD, S_CONSENT, S_MODIFIED = range(8)
(R_EMAIL, R_NAME, R_ESTABLISHMENT, R_CYCLE, R_VISION, R_EFFORT, R_SYSTEMS, R_PRACTICE, R_ATTITUDE,
 R_OVERALL, R_COMPLETED, R_MODIFIED) = range(12)
