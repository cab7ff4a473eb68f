"""The pieces under ingest: zone names, Knack's wall clock, filter values, table names, drift, the limiter."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from ingest.client import QuotaRefused, RateLimiter, RequestBudget
from ingest.dates import created_at, filter_support, filter_value, true_instant
from ingest.metadata import KnackField, KnackObject, assign_table_names, field_changes, slug
from ingest.timezones import KNACK_TIMEZONES, iana_timezone
from knackhouse.errors import ConfigError, KnackApiError
from knackhouse.warehouse import connect

LONDON = ZoneInfo("Europe/London")


def _field(key: str = "field_9", date_format: str = "dd/mm/yyyy", time_format: str = "HH MM (military)",
           type_: str = "date_time") -> KnackField:
    return KnackField(key, "Date Modified", type_, {"date_format": date_format, "time_format": time_format}, None,
                      False, 0)


def test_every_knack_zone_name_maps_to_a_zone_python_and_postgresql_both_know(server_url: str) -> None:
    assert len(KNACK_TIMEZONES) == 97
    connection = connect(server_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute("select name from pg_timezone_names")
            postgres_zones = {row[0] for row in cursor}
    finally:
        connection.close()
    for iana in KNACK_TIMEZONES.values():
        ZoneInfo(iana)
        assert iana in postgres_zones, iana


def test_knack_zone_names_are_matched_even_with_other_spacing_after_commas() -> None:
    assert iana_timezone("Canberra,Melbourne, Sydney") == "Australia/Sydney"
    assert iana_timezone("Canberra, Melbourne, Sydney") == "Australia/Sydney"
    assert iana_timezone("Greenwich Mean Time : Dublin, Edinburgh, Lisbon, London") == "Europe/London"
    assert iana_timezone("Europe/Paris") == "Europe/Paris"
    assert iana_timezone(None) == "UTC"


def test_an_unknown_zone_name_is_a_config_error_naming_it() -> None:
    with pytest.raises(ConfigError, match="Mars Standard Time"):
        iana_timezone("Mars Standard Time")


def test_a_wall_clock_labelled_utc_is_read_in_the_apps_zone() -> None:
    # 01/08/2025 00:30 in London (BST) happened at 23:30 UTC on 31 July
    raw = {"date": "08/01/2025", "hours": "12", "minutes": "30", "am_pm": "AM",
           "iso_timestamp": "2025-08-01T00:30:00.000Z", "unix_timestamp": 1754008200000}
    assert true_instant(raw, LONDON) == datetime(2025, 7, 31, 23, 30, tzinfo=UTC)


def test_an_iso_timestamp_is_read_to_the_minute() -> None:
    assert true_instant({"iso_timestamp": "2025-01-15T14:05:59.999Z"}, LONDON) == datetime(2025, 1, 15, 14, 5,
                                                                                         tzinfo=UTC)


def test_an_iso_timestamp_that_is_no_date_gives_way_to_the_unix_timestamp() -> None:
    raw = {"iso_timestamp": "2025-02-30T14:05:00.000Z", "unix_timestamp": 1736949900000}  # 30 February
    assert true_instant(raw, LONDON) == datetime(2025, 1, 15, 14, 5, tzinfo=UTC)


def test_a_wall_clock_without_iso_timestamp_comes_from_date_hours_minutes_and_am_pm() -> None:
    raw = {"date": "01/15/2025", "hours": "02", "minutes": "05", "am_pm": "PM"}
    assert true_instant(raw, LONDON) == datetime(2025, 1, 15, 14, 5, tzinfo=UTC)
    assert true_instant(None, LONDON) is None


def test_a_record_id_carries_its_creation_instant() -> None:
    assert created_at("5d79619aa6ca4c0010f305ed") == datetime.fromtimestamp(0x5D79619A, UTC)
    assert created_at("not-an-object-id") is None


def test_filter_values_are_the_apps_wall_clock_in_the_fields_format_by_minute() -> None:
    after = datetime(2025, 7, 31, 23, 30, 42, tzinfo=UTC)  # 00:30 on 1 August in London
    assert filter_value(after, _field(), LONDON) == "01/08/2025 00:30"
    assert filter_value(after, _field(date_format="mm/dd/yyyy"), LONDON) == "08/01/2025 00:30"
    assert filter_value(after, _field(time_format="HH:MM am"), LONDON) == "01/08/2025 12:30am"
    assert filter_value(after, _field(), ZoneInfo("America/Chicago")) == "31/07/2025 18:30"


def test_a_date_only_modified_field_filters_from_the_day_before() -> None:
    after = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
    assert filter_value(after, _field(time_format="Ignore Time"), LONDON) == "09/03/2025"


def test_fields_that_cannot_carry_an_incremental_filter_say_why() -> None:
    assert filter_support(_field()) is None
    assert "no modified field" in str(filter_support(None))
    assert "short_text" in str(filter_support(_field(type_="short_text")))
    assert "Ignore Date" in str(filter_support(_field(date_format="Ignore Date")))


def test_table_names_are_slugs_of_object_names() -> None:
    objects = [KnackObject("object_4", "VESPA Results", ()), KnackObject("object_1", "Établissements & Co", ())]
    assert assign_table_names(objects, {}) == {"object_4": "vespa_results", "object_1": "tablissements_co"}
    assert slug("  Staff Accounts (2024) ") == "staff_accounts_2024"


def test_a_table_name_never_changes_once_given_even_when_the_object_is_renamed() -> None:
    renamed = [KnackObject("object_4", "Questionnaire Scores", ())]
    assert assign_table_names(renamed, {"object_4": "vespa_results"}) == {"object_4": "vespa_results"}


def test_clashing_empty_or_numeric_names_get_the_object_key_and_none_starts_like_the_metadata_tables() -> None:
    objects = [KnackObject("object_1", "Results", ()), KnackObject("object_2", "results!", ()),
               KnackObject("object_3", "2024", ()), KnackObject("object_5", "***", ()),
               KnackObject("object_6", "_knack app", ())]
    names = assign_table_names(objects, {})
    assert names == {"object_1": "results", "object_2": "object_2_results", "object_3": "object_3_2024",
                     "object_5": "object_5", "object_6": "knack_app"}
    assert len(set(names.values())) == len(names)


def test_field_changes_name_added_removed_renamed_and_retyped_fields() -> None:
    before = [{"object_key": "object_1", "field_key": "field_1", "name": "Name", "type": "short_text"},
              {"object_key": "object_1", "field_key": "field_2", "name": "Score", "type": "short_text"},
              {"object_key": "object_1", "field_key": "field_3", "name": "Gone", "type": "number"}]
    after = [KnackObject("object_1", "Things", (
        KnackField("field_1", "Full Name", "short_text", None, None, False, 0),
        KnackField("field_2", "Score", "number", None, None, False, 1),
        KnackField("field_4", "New", "email", None, None, False, 2)))]
    changes = {(c["field_key"], c["change"]): c for c in field_changes(before, after, datetime.now(UTC), "r1")}
    assert set(changes) == {("field_1", "renamed"), ("field_2", "type_changed"), ("field_3", "removed"),
                            ("field_4", "added")}
    assert (changes[("field_2", "type_changed")]["old_value"], changes[("field_2", "type_changed")]["new_value"]) \
        == ("short_text", "number")


def test_the_first_load_reports_no_field_changes() -> None:
    objects = [KnackObject("object_1", "Things", (KnackField("field_1", "Name", "short_text", None, None, False, 0),))]
    assert field_changes([], objects, datetime.now(UTC), "r1") == []


def test_the_rate_limiter_lets_no_more_than_ten_requests_start_in_any_second_across_threads() -> None:
    limiter = RateLimiter(rate=10, window=1.0, margin=0.0)
    starts: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(8):
            limiter.acquire()
            with lock:
                starts.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    starts.sort()
    assert len(starts) == 24
    for first, eleventh in zip(starts, starts[10:], strict=False):
        assert eleventh - first >= 0.999


def test_a_slow_request_holds_its_rate_slot_until_its_answer_arrives() -> None:
    limiter = RateLimiter(rate=2, window=0.5, margin=0.0)
    slots = [limiter.acquire(), limiter.acquire()]
    time.sleep(0.3)  # both requests are still on their way when their answers arrive
    answered = time.monotonic()
    for slot in slots:
        limiter.settle(slot)
    limiter.acquire()
    assert time.monotonic() - answered >= 0.499


def test_the_request_budget_refuses_the_request_past_its_limit() -> None:
    budget = RequestBudget("app1", limit=2)
    budget.spend("object_1")
    budget.spend("object_1")
    with pytest.raises(QuotaRefused, match="budget of 2") as refused:
        budget.spend("object_2")
    assert isinstance(refused.value, KnackApiError) and refused.value.exit_code == 3
    assert budget.used == 2 and budget.per_object["object_1"] == 2
