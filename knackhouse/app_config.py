"""The app mapping: which Knack object and field hold what (format in README.md, "The app mapping").

`load_app_config()` reads the YAML named by KNACKHOUSE_APP_CONFIG (default: the bundled demo app's
mapping) and checks its shape; `AppConfig.validate(metadata)` checks every object and field key
against the app's own metadata, so a typo is a clear error naming it, never an empty column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from knackhouse.errors import ConfigError

DEMO_MAPPING_PATH = Path(__file__).resolve().parent.parent / "simulator" / "demo_mapping.yml"
DEFAULT_ACADEMIC_YEAR_START = "08-01"
# dates the marts accept (upload and completion dates): from `earliest` to `days_ahead` days after the run's
# as-of date; anything outside is quarantined as implausible_date
DEFAULT_PLAUSIBLE_DATES: dict[str, Any] = {"earliest": "2000-01-01", "days_ahead": 366}
# the scale of the VESPA scores (vision .. overall); a score outside it is quarantined as score_out_of_scale
DEFAULT_SCORE_SCALE: dict[str, float] = {"min": 1, "max": 10}

# The domain attributes the marts read, per entity; the first set must be mapped, the second may be.
ENTITY_ATTRIBUTES: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "establishments": (
        frozenset({"name"}),
        frozenset({"status", "portal_type", "country", "email_domain", "academic_year_start"}),
    ),
    "staff": (
        frozenset({"email"}),
        frozenset({"name", "establishment", "role"}),
    ),
    "students": (
        frozenset({"email", "establishment"}),
        frozenset({"name", "year_group", "tutors", "upload_date"}),
    ),
    "vespa_results": (
        frozenset({"student_email", "completed_at"}),
        frozenset(
            {"student_name", "establishment", "cycle", "vision", "effort", "systems", "practice", "attitude", "overall"}
        ),
    ),
}
# which establishments are kept (status) and flagged as coaching portals (portal type): values as the app writes
# them; compared case-insensitively, portal types as SQL LIKE patterns after runs of spaces become one space
DEFAULT_ACTIVE_STATUSES: tuple[str, ...] = ("active",)
DEFAULT_COACHING_PORTAL_TYPES: tuple[str, ...] = ("%coaching portal%",)
ESTABLISHMENT_VALUE_LISTS = {"active_statuses": ("status", DEFAULT_ACTIVE_STATUSES),
                             "coaching_portal_types": ("portal_type", DEFAULT_COACHING_PORTAL_TYPES)}
# the Knack type an attribute's field must have, where the marts depend on it
ATTRIBUTE_TYPES = {"establishment": "connection", "tutors": "connection", "upload_date": "date_time",
                   "completed_at": "date_time"}
TOP_LEVEL_KEYS = frozenset({"academic_year", "objects", "entities", "analyst_role", "plausible_dates"})
ENTITY_KEYS = {name: frozenset({"object", "fields"}) for name in ENTITY_ATTRIBUTES} | {
    "vespa_results": frozenset({"object", "fields", "score_scale"}),
    "establishments": frozenset({"object", "fields", *ESTABLISHMENT_VALUE_LISTS}),
}
ISO_DATE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")
OBJECT_SETTINGS = frozenset({"modified_field", "email_fields", "connection_severity"})
# what a dangling connection (to a record raw lacks, or a deleted one) makes of its link table's test
CONNECTION_SEVERITIES = ("warn", "error")
MONTH_DAY = re.compile(r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")
ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")  # a PostgreSQL identifier that needs no quoting


@dataclass(frozen=True)
class EntityMapping:
    """One domain entity: the Knack object that holds it and the field key of each attribute."""

    name: str
    object_key: str
    fields: dict[str, str]


@dataclass(frozen=True)
class AppConfig:
    """A validated app mapping."""

    raw: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def entities(self) -> dict[str, EntityMapping]:
        return {
            name: EntityMapping(name, spec["object"], dict(spec.get("fields") or {}))
            for name, spec in (self.raw.get("entities") or {}).items()
        }

    @property
    def has_entities(self) -> bool:
        return bool(self.raw.get("entities"))

    @property
    def academic_year_start(self) -> str:
        return (self.raw.get("academic_year") or {}).get("start", DEFAULT_ACADEMIC_YEAR_START)

    @property
    def plausible_dates(self) -> dict[str, Any]:
        """{earliest: 'YYYY-MM-DD', days_ahead: N}: the window of dates the marts accept."""
        window = {**DEFAULT_PLAUSIBLE_DATES, **(self.raw.get("plausible_dates") or {})}
        return {**window, "earliest": str(window["earliest"])}  # YAML reads an unquoted 2000-01-01 as a date

    @property
    def score_scale(self) -> dict[str, float]:
        """{min, max} of the VESPA scores."""
        spec = (self.raw.get("entities") or {}).get("vespa_results") or {}
        return {**DEFAULT_SCORE_SCALE, **(spec.get("score_scale") or {})}

    def establishment_values(self, setting: str) -> list[str]:
        """`active_statuses` or `coaching_portal_types` of the establishments, defaults filled in."""
        spec = (self.raw.get("entities") or {}).get("establishments") or {}
        return [str(v) for v in spec.get(setting, ESTABLISHMENT_VALUE_LISTS[setting][1])]

    def object_settings(self, object_key: str) -> dict[str, Any]:
        return dict((self.raw.get("objects") or {}).get(object_key) or {})

    def modified_field(self, object_key: str) -> str | None:
        """The object's "Date Modified" field key, or None (the object is then scanned whole)."""
        return self.object_settings(object_key).get("modified_field")

    def email_fields(self, object_key: str) -> list[str]:
        """Text fields of the object that hold email addresses and get the email normalisation."""
        return list(self.object_settings(object_key).get("email_fields") or [])

    def as_dbt_var(self) -> dict[str, Any]:
        """The mapping as dbt's `knack_mapping` var, with the defaults filled in."""
        mapping = dict(self.raw)
        mapping["academic_year"] = {"start": self.academic_year_start, **(self.raw.get("academic_year") or {})}
        mapping["plausible_dates"] = self.plausible_dates
        mapping.setdefault("objects", {})
        mapping["entities"] = {name: dict(spec) for name, spec in (self.raw.get("entities") or {}).items()}
        if "vespa_results" in mapping["entities"]:
            mapping["entities"]["vespa_results"]["score_scale"] = self.score_scale
        if "establishments" in mapping["entities"]:  # as the models compare them: lower case, spaces collapsed
            for setting in ESTABLISHMENT_VALUE_LISTS:
                mapping["entities"]["establishments"][setting] = [
                    " ".join(v.lower().split()) for v in self.establishment_values(setting)]
        return mapping

    def validate(self, metadata: dict[str, Any]) -> None:
        """Check every object and field key against the app's metadata; ConfigError names the first wrong one."""
        application = metadata.get("application", metadata)
        fields_by_object = {
            obj["key"]: {f["key"]: f for f in obj.get("fields", [])} for obj in application.get("objects", [])
        }
        where = f"app mapping {self.path}" if self.path else "app mapping"

        def check_field(object_key: str, field_key: str, role: str) -> None:
            if field_key not in fields_by_object[object_key]:
                raise ConfigError(f"{where}: {role} names field {field_key}, which object {object_key} does not have")

        for object_key, settings in (self.raw.get("objects") or {}).items():
            if object_key not in fields_by_object:
                raise ConfigError(f"{where}: objects names {object_key}, which the Knack app does not have")
            if settings.get("modified_field"):
                check_field(object_key, settings["modified_field"], f"objects.{object_key}.modified_field")
                field_type = fields_by_object[object_key][settings["modified_field"]].get("type")
                if field_type != "date_time":
                    raise ConfigError(
                        f"{where}: objects.{object_key}.modified_field {settings['modified_field']} "
                        f"is a {field_type} field, not a date_time"
                    )
            for field_key in settings.get("email_fields") or []:
                check_field(object_key, field_key, f"objects.{object_key}.email_fields")
            for field_key in settings.get("connection_severity") or {}:
                role = f"objects.{object_key}.connection_severity"
                check_field(object_key, field_key, role)
                field_type = fields_by_object[object_key][field_key].get("type")
                if field_type != "connection":
                    raise ConfigError(f"{where}: {role} names {field_key}, a {field_type} field, not a connection")
        for entity in self.entities.values():
            if entity.object_key not in fields_by_object:
                raise ConfigError(
                    f"{where}: entities.{entity.name}.object is {entity.object_key}, which the Knack app does not have"
                )
            for attribute, field_key in entity.fields.items():
                role = f"entities.{entity.name}.fields.{attribute}"
                check_field(entity.object_key, field_key, role)
                field_type = fields_by_object[entity.object_key][field_key].get("type")
                if attribute in ATTRIBUTE_TYPES and field_type != ATTRIBUTE_TYPES[attribute]:
                    raise ConfigError(f"{where}: {role} names {field_key}, a {field_type} field; "
                                      f"{attribute} must be a {ATTRIBUTE_TYPES[attribute]} field")
        establishments = self.entities.get("establishments")
        if establishments:
            fields = fields_by_object[establishments.object_key]
            for setting, (attribute, _) in ESTABLISHMENT_VALUE_LISTS.items():
                field_key = establishments.fields.get(attribute)
                if field_key:
                    _check_choices(self.establishment_values(setting), fields[field_key],
                                   f"{where}: entities.establishments.{setting}", like=setting != "active_statuses")


def _check_choices(values: list[str], field: dict[str, Any], where: str, *, like: bool) -> None:
    """Each value is one of a multiple-choice field's options (`like`: each pattern matches one); a field of
    another type lists no options, so nothing can be checked."""
    options = (field.get("format") or {}).get("options") if field.get("type") == "multiple_choice" else None
    if not options:
        return
    written = [" ".join(str(o).lower().split()) for o in options]
    for value in values:
        wanted = " ".join(value.lower().split())
        matches = [o for o in written if (_like(wanted).fullmatch(o) if like else o == wanted)]
        if not matches:
            raise ConfigError(f"{where}: {value!r} matches none of field {field.get('key')}'s options "
                              f"({', '.join(map(str, options))}); write the values as the app does")


def _like(pattern: str) -> re.Pattern[str]:
    """A SQL LIKE pattern as a regular expression (% any text, _ one character)."""
    return re.compile("".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern), re.DOTALL)


def _expect(value: Any, kind: type | tuple[type, ...], label: str, example: str) -> None:
    if not isinstance(value, kind) or isinstance(value, bool):
        found = "nothing" if value is None else f"a {type(value).__name__} ({value!r})"
        raise ConfigError(f"{label} must be {example}; found {found}")


def _check_types(raw: dict[str, Any], where: str) -> None:
    """Every section has the YAML type the loader reads, so a wrong one is named, never a crash."""
    for section, example in (("academic_year", 'a mapping, e.g. {start: "08-01"}'),
                             ("objects", "a mapping of object keys, e.g. {object_1: {modified_field: field_6}}"),
                             ("entities", "a mapping of entities, e.g. {students: {object: object_3, fields: ...}}"),
                             ("plausible_dates", 'a mapping, e.g. {earliest: "2000-01-01", days_ahead: 366}')):
        if raw.get(section) is not None:
            _expect(raw[section], dict, f"{where}: {section}", example)
    by_country = (raw.get("academic_year") or {}).get("by_country")
    if by_country is not None:
        _expect(by_country, dict, f"{where}: academic_year.by_country", 'a mapping, e.g. {Australia: "01-01"}')
    for object_key, settings in (raw.get("objects") or {}).items():
        label = f"{where}: objects.{object_key}"
        if settings is None:
            continue
        _expect(settings, dict, label, "a mapping, e.g. {modified_field: field_6}")
        if settings.get("modified_field") is not None:
            _expect(settings["modified_field"], str, f"{label}.modified_field", "a field key, e.g. field_6")
        emails = settings.get("email_fields")
        if emails is not None:
            _expect(emails, list, f"{label}.email_fields", "a list of field keys, e.g. [field_20]")
            for key in emails:
                _expect(key, str, f"{label}.email_fields", "a list of field keys, e.g. [field_20]")
    for name, spec in (raw.get("entities") or {}).items():
        label = f"{where}: entities.{name}"
        _expect(spec, dict, label, "a mapping, e.g. {object: object_3, fields: {email: field_13}}")
        if spec.get("object") is not None:
            _expect(spec["object"], str, f"{label}.object", "an object key, e.g. object_3")
        fields = spec.get("fields")
        if fields is not None:
            _expect(fields, dict, f"{label}.fields", "a mapping of attribute to field key, e.g. {email: field_13}")
            for attribute, key in fields.items():
                _expect(key, str, f"{label}.fields.{attribute}", "a field key, e.g. field_13")
        for setting in ESTABLISHMENT_VALUE_LISTS if name == "establishments" else ():
            if setting in spec:
                example = f"a list of values, e.g. {setting}: {list(ESTABLISHMENT_VALUE_LISTS[setting][1])}"
                _expect(spec[setting], list, f"{label}.{setting}", example)
                if not spec[setting]:
                    raise ConfigError(f"{label}.{setting} is empty; give at least one value ({example})")
                for value in spec[setting]:
                    _expect(value, str, f"{label}.{setting}", example)


def _check_shape(raw: dict[str, Any], where: str) -> None:
    _check_types(raw, where)
    unknown = set(raw) - TOP_LEVEL_KEYS
    if unknown:
        raise ConfigError(
            f"{where}: unknown section {sorted(unknown)[0]!r} (known: {', '.join(sorted(TOP_LEVEL_KEYS))})"
        )
    academic_year = raw.get("academic_year") or {}
    for label, value in [
        ("academic_year.start", academic_year.get("start", DEFAULT_ACADEMIC_YEAR_START)),
        *[(f"academic_year.by_country.{k}", v) for k, v in (academic_year.get("by_country") or {}).items()],
    ]:
        if not MONTH_DAY.match(str(value)):
            raise ConfigError(f'{where}: {label} is {value!r}; write it as MM-DD, e.g. "08-01"')
    if "analyst_role" in raw and not ROLE_NAME.match(str(raw["analyst_role"])):
        raise ConfigError(f"{where}: analyst_role is {raw['analyst_role']!r}; use lower-case letters, digits and _ "
                          "(a PostgreSQL role name), e.g. knackhouse_analyst")
    _check_plausible_dates(raw.get("plausible_dates"), where)
    for object_key, settings in (raw.get("objects") or {}).items():
        unknown = set(settings or {}) - OBJECT_SETTINGS
        if unknown:
            raise ConfigError(f"{where}: objects.{object_key} has unknown setting {sorted(unknown)[0]!r}")
        severities = (settings or {}).get("connection_severity") or {}
        if not isinstance(severities, dict):
            raise ConfigError(f"{where}: objects.{object_key}.connection_severity maps field keys to warn or error, "
                              "e.g. {field_43: error}")
        for field_key, severity in severities.items():
            if severity not in CONNECTION_SEVERITIES:
                raise ConfigError(f"{where}: objects.{object_key}.connection_severity.{field_key} is {severity!r}; "
                                  "use warn or error")
    for name, spec in (raw.get("entities") or {}).items():
        if name not in ENTITY_ATTRIBUTES:
            raise ConfigError(f"{where}: unknown entity {name!r} (known: {', '.join(sorted(ENTITY_ATTRIBUTES))})")
        if not isinstance(spec, dict) or not spec.get("object"):
            raise ConfigError(f"{where}: entities.{name} must name its Knack object (object: object_N)")
        unknown_keys = set(spec) - ENTITY_KEYS[name]
        if unknown_keys:
            raise ConfigError(f"{where}: entities.{name} has unknown setting {sorted(unknown_keys)[0]!r} "
                              f"(known: {', '.join(sorted(ENTITY_KEYS[name]))})")
        if "score_scale" in spec:
            _check_score_scale(spec["score_scale"], f"{where}: entities.{name}.score_scale")
        required, optional = ENTITY_ATTRIBUTES[name]
        attributes = set(spec.get("fields") or {})
        if attributes - required - optional:
            raise ConfigError(
                f"{where}: entities.{name}.fields has unknown attribute {sorted(attributes - required - optional)[0]!r}"
            )
        if required - attributes:
            raise ConfigError(f"{where}: entities.{name}.fields must map {sorted(required - attributes)[0]!r}")


def _check_plausible_dates(value: Any, where: str) -> None:
    if value is None:
        return
    example = 'e.g. plausible_dates: {earliest: "2000-01-01", days_ahead: 366}'
    if not isinstance(value, dict) or set(value) - set(DEFAULT_PLAUSIBLE_DATES):
        raise ConfigError(f"{where}: plausible_dates takes earliest and days_ahead, {example}")
    earliest = value.get("earliest", DEFAULT_PLAUSIBLE_DATES["earliest"])
    if not ISO_DATE.match(str(earliest)):
        raise ConfigError(f"{where}: plausible_dates.earliest is {earliest!r}; write it as YYYY-MM-DD, {example}")
    days = value.get("days_ahead", DEFAULT_PLAUSIBLE_DATES["days_ahead"])
    if isinstance(days, bool) or not isinstance(days, int) or days < 0:
        raise ConfigError(f"{where}: plausible_dates.days_ahead is {days!r}; use a whole number of days >= 0, "
                          f"{example}")


def _check_score_scale(value: Any, where: str) -> None:
    example = "e.g. score_scale: {min: 1, max: 10}"
    if not isinstance(value, dict) or set(value) != {"min", "max"}:
        raise ConfigError(f"{where} must give min and max, {example}")
    numbers = [value["min"], value["max"]]
    if any(isinstance(n, bool) or not isinstance(n, int | float) for n in numbers):
        raise ConfigError(f"{where}: min and max must be numbers, {example}")
    if not value["min"] < value["max"]:
        raise ConfigError(f"{where}: min {value['min']} must be below max {value['max']}, {example}")


def load_app_config(path: Path | str | None = None) -> AppConfig:
    """Read and shape-check a mapping file; None means the bundled demo app's mapping."""
    chosen = Path(path) if path else DEMO_MAPPING_PATH
    where = f"app mapping {chosen}"
    try:
        text = chosen.read_text()
    except OSError as error:
        raise ConfigError(f"{where}: cannot read it ({error.strerror})") from error
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        reason = " ".join(str(getattr(error, "problem", None) or error).split())  # one line
        raise ConfigError(f"{where}: not valid YAML{at} ({reason})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping at the top, found {type(raw).__name__}")
    _check_shape(raw, where)
    return AppConfig(raw=raw, path=chosen)
