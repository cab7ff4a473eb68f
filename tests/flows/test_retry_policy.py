"""Retries are for Knack API failures only; any other error is final."""

from __future__ import annotations

from prefect.states import Failed

from flows.daily_sync import _is_knack_error, ingest_task
from knackhouse.errors import KnackApiError, KnackApiRefused


def test_knack_api_error_is_retried() -> None:
    assert _is_knack_error(ingest_task, None, Failed(data=KnackApiError("503 from Knack")))


def test_other_errors_are_not_retried() -> None:
    assert not _is_knack_error(ingest_task, None, Failed(data=ValueError("a bug")))


def test_ingest_task_declares_retries_with_backoff() -> None:
    assert ingest_task.retries >= 1
    assert len(ingest_task.retry_delay_seconds) == ingest_task.retries


def test_a_refused_key_or_unknown_object_is_not_retried() -> None:
    assert not _is_knack_error(ingest_task, None, Failed(data=KnackApiRefused("HTTP 401, the API key was refused")))
