"""Knack's value shapes: formatted and `_raw` values per field type, record ids, time zones.

Date/times are kept as naive wall-clock datetimes in the app's time zone; Knack labels that wall
clock as UTC in `iso_timestamp` and `unix_timestamp` (the single-time-zone quirk), and the record
id's first 8 hex digits carry the true creation instant.
"""

from __future__ import annotations

import html
import re
import unicodedata
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

# Knack's time zone names (settings.timezone) for the zones the simulator uses, mapped to IANA.
KNACK_TIMEZONES: dict[str, str] = {
    "Greenwich Mean Time : Dublin, Edinburgh, Lisbon, London": "Europe/London",
    "Central Time (US & Canada)": "America/Chicago",
    "Eastern Time (US & Canada)": "America/New_York",
    "Pacific Time (US & Canada)": "America/Los_Angeles",
    "Canberra,Melbourne, Sydney": "Australia/Sydney",
    "UTC": "UTC",
}
LONDON = "Greenwich Mean Time : Dublin, Edinburgh, Lisbon, London"
_EPOCH = datetime(1970, 1, 1)
_EPOCH_ORDINAL = _EPOCH.toordinal()
_TAG = re.compile(r"<[^>]*>")
_INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")


def iana_zone(knack_timezone: str) -> ZoneInfo:
    """The IANA zone of a Knack time zone name (UTC when unknown)."""
    return ZoneInfo(KNACK_TIMEZONES.get(knack_timezone, "UTC"))


def utc_seconds(wall: datetime, zone: ZoneInfo) -> int:
    """True Unix seconds of a naive wall-clock time in `zone`."""
    offset = _utc_offset(wall.year, wall.month, wall.day, wall.hour, zone)
    return int((wall - _EPOCH).total_seconds()) - offset


@lru_cache(maxsize=100_000)
def _utc_offset(year: int, month: int, day: int, hour: int, zone: ZoneInfo) -> int:
    offset = datetime(year, month, day, hour, tzinfo=zone).utcoffset()
    return int(offset.total_seconds()) if offset else 0


def object_id(created_unix: int, serial: int, salt: int) -> str:
    """A 24-hex MongoDB-style ObjectId: 4 bytes creation time, 5 bytes salt, 3 bytes serial."""
    return f"{created_unix & 0xFFFFFFFF:08x}{salt & 0xFFFFFFFFFF:010x}{serial & 0xFFFFFF:06x}"


def id_created_at(record_id: str) -> datetime:
    """The creation instant (UTC) encoded in a record id."""
    return datetime.fromtimestamp(int(record_id[:8], 16), UTC)


def normalise_email(value: str | None) -> str | None:
    """knackhouse's identity rule: NFKC, invisible format characters, HTML tags, `mailto:` and spaces removed,
    lower case."""
    if value is None:
        return None
    text = _INVISIBLE.sub("", unicodedata.normalize("NFKC", value))
    text = html.unescape(_TAG.sub("", text)).replace("mailto:", "")
    text = "".join(text.split()).lower()
    return text or None


def academic_year(day: date, start: str = "08-01") -> str:
    """The `YYYY/YYYY` label of the academic year containing `day` for a year starting on MM-DD `start`."""
    month, day_of_month = int(start[:2]), int(start[3:5])
    first = day.year - (1 if (day.month, day.day) < (month, day_of_month) else 0)
    return f"{first}/{first if start == '01-01' else first + 1}"


# ---- date_time -------------------------------------------------------------------------------

def _display_date(day: date, date_format: str) -> str:
    if date_format == "dd/mm/yyyy":
        return f"{day.day:02d}/{day.month:02d}/{day.year}"
    if date_format == "yyyy-mm-dd":
        return f"{day.year}-{day.month:02d}-{day.day:02d}"
    if date_format == "M D, yyyy":
        return f"{day.strftime('%B')} {day.day}, {day.year}"
    return f"{day.month:02d}/{day.day:02d}/{day.year}"


def _display_time(wall: datetime, time_format: str) -> str:
    if time_format == "HH:MM am":
        hour = wall.hour % 12 or 12
        return f"{hour}:{wall.minute:02d}{'am' if wall.hour < 12 else 'pm'}"
    return f"{wall.hour:02d}:{wall.minute:02d}"


@lru_cache(maxsize=200_000)
def date_time_values(wall: datetime, date_format: str, time_format: str) -> tuple[str, dict[str, Any]]:
    """(formatted, raw) of a date_time value, Knack's shape, wall clock labelled as UTC."""
    ignore_time = time_format == "Ignore Time"
    if ignore_time:
        wall = wall.replace(hour=0, minute=0, second=0, microsecond=0)
    else:
        wall = wall.replace(second=0, microsecond=0)
    day = wall.date()
    shown_date = _display_date(day, date_format)
    formatted = shown_date if ignore_time else f"{shown_date} {_display_time(wall, time_format)}"
    hour12 = wall.hour % 12 or 12
    am_pm = "AM" if wall.hour < 12 else "PM"
    us_date = f"{day.month:02d}/{day.day:02d}/{day.year}"
    raw = {
        "date": us_date,
        "date_formatted": shown_date,
        "hours": f"{hour12:02d}",
        "minutes": f"{wall.minute:02d}",
        "am_pm": am_pm,
        "unix_timestamp": int((wall - _EPOCH).total_seconds()) * 1000,
        "iso_timestamp": wall.strftime("%Y-%m-%dT%H:%M:00.000Z"),
        "timestamp": f"{us_date} {hour12:02d}:{wall.minute:02d} {am_pm.lower()}",
        "time": (wall.hour or 12) * 60 + wall.minute,
    }
    return formatted, raw


@lru_cache(maxsize=65_536)
def date_time_json(wall: datetime, date_format: str, time_format: str) -> tuple[str, str]:
    """(formatted, raw) of a date_time as JSON text, the same values as `date_time_values`, written fast."""
    shown, us_date, day_ms = _date_parts(wall.year, wall.month, wall.day, date_format)
    hour, minute = (0, 0) if time_format == "Ignore Time" else (wall.hour, wall.minute)
    clock, hm, hour12_text, am_pm, stamp_time, minutes_of_day = _time_parts(hour, minute, time_format)
    formatted = shown if time_format == "Ignore Time" else f"{shown} {clock}"
    raw = (f'{{"date":"{us_date}","date_formatted":"{shown}",{hour12_text},"am_pm":"{am_pm}",'
           f'"unix_timestamp":{day_ms + (hour * 3600 + minute * 60) * 1000},'
           f'"iso_timestamp":"{wall.year:04d}-{us_date[:2]}-{us_date[3:5]}T{hm}:00.000Z",'
           f'"timestamp":"{us_date} {stamp_time}","time":{minutes_of_day}}}')
    return f'"{formatted}"', raw


@lru_cache(maxsize=8_192)
def _date_parts(year: int, month: int, day: int, date_format: str) -> tuple[str, str, int]:
    moment = date(year, month, day)
    shown = _display_date(moment, "mm/dd/yyyy" if date_format == "Ignore Date" else date_format)
    return shown, f"{month:02d}/{day:02d}/{year}", (moment.toordinal() - _EPOCH_ORDINAL) * 86_400_000


@lru_cache(maxsize=8_192)
def _time_parts(hour: int, minute: int, time_format: str) -> tuple[str, str, str, str, str, int]:
    hour12 = hour % 12 or 12
    am_pm = "AM" if hour < 12 else "PM"
    clock = f"{hour12}:{minute:02d}{am_pm.lower()}" if time_format == "HH:MM am" else f"{hour:02d}:{minute:02d}"
    return (clock, f"{hour:02d}:{minute:02d}", f'"hours":"{hour12:02d}","minutes":"{minute:02d}"', am_pm,
            f"{hour12:02d}:{minute:02d} {am_pm.lower()}", (hour or 12) * 60 + minute)


def parse_filter_date(value: str, date_format: str) -> tuple[datetime, bool] | None:
    """A filter value in the field's display format → (wall clock, has_time), None when unreadable."""
    text = str(value).strip()
    match = re.match(r"^(\d{1,4})[/-](\d{1,2})[/-](\d{1,4})(?:[ T]+(\d{1,2}):(\d{2})\s*(am|pm)?)?", text, re.I)
    if not match:
        return None
    a, b, c, hh, mm, ampm = match.groups()
    try:
        if len(a) == 4:
            year, month, day = int(a), int(b), int(c)
        elif date_format == "dd/mm/yyyy":
            day, month, year = int(a), int(b), int(c)
        else:
            month, day, year = int(a), int(b), int(c)
        hour, minute = (int(hh), int(mm)) if hh else (0, 0)
        if ampm:
            hour = hour % 12 + (12 if ampm.lower() == "pm" else 0)
        return datetime(year, month, day, hour, minute), hh is not None
    except ValueError:
        return None


# ---- other types -----------------------------------------------------------------------------

def email_values(address: str) -> tuple[str, dict[str, str]]:
    return f'<a href="mailto:{address}">{address}</a>', {"email": address}


def name_text(raw: dict[str, str], name_format: str = "First Last") -> str:
    first, last = raw.get("first", ""), raw.get("last", "")
    middle = raw.get("middle", "")
    if name_format.startswith("Last"):
        given = " ".join(p for p in (first, middle) if p)
        return ", ".join(p for p in (last, given) if p)
    return " ".join(p for p in (raw.get("title", ""), first, middle, last) if p)


def connection_values(targets: list[tuple[str, str]]) -> tuple[str, list[dict[str, str]]]:
    formatted = "<br />".join(f'<span class="{rid}">{html.escape(label, quote=False)}</span>' for rid, label in targets)
    return formatted, [{"id": rid, "identifier": label} for rid, label in targets]


def strip_html(text: str) -> str:
    return html.unescape(_TAG.sub("", text))
