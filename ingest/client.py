"""The HTTP client for Knack's REST API: one shared rate limiter, a request budget, dlt's retrying session.

Every attempt (retries included) passes through `LimitedAdapter.send`, so the limiter and the
budget see exactly the requests Knack sees, whichever thread or object makes them. Retries are
dlt's (`dlt.sources.helpers.requests.Client`, tenacity underneath): 429 "Rate limit exceeded" and
5xx are retried with exponential backoff that honours `Retry-After`; connection resets and timeouts
are retried too; 401/403/404, a 400 and the daily-limit 429 fail at once.

The API key travels only in a request header: it is never part of a URL, a message or a log line.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import orjson
import requests
from dlt.sources.helpers.requests import Client
from requests.adapters import HTTPAdapter

from ingest.settings import (
    CONNECT_TIMEOUT_SECONDS,
    MAX_ATTEMPTS,
    MAX_RETRY_DELAY_SECONDS,
    RATE_WINDOW_MARGIN_SECONDS,
    READ_TIMEOUT_SECONDS,
    REQUESTS_PER_SECOND,
    RETRY_BACKOFF_FACTOR,
    ROWS_PER_PAGE,
)
from knackhouse.errors import KnackApiError, KnackApiRefused

OBJECT_IN_PATH = re.compile(r"/objects/([^/?]+)/records")
METADATA = "_metadata"


class RateLimiter:
    """At most `rate` requests reach Knack within any `window` seconds, across all threads.

    A sliding window like Knack's own. A request holds its slot from the moment it may start; when its
    answer begins to arrive (`settle`), the slot moves to that moment, because Knack counted the request
    somewhere in between: a request delayed on its way (a busy CPU, a new connection) can then never make
    the eleventh in Knack's second. `margin` keeps clear of the window's edge.
    """

    def __init__(self, rate: float | None = REQUESTS_PER_SECOND, window: float = 1.0,
                 margin: float = RATE_WINDOW_MARGIN_SECONDS) -> None:
        self.rate = rate
        self.span = window + margin
        self._slots: dict[int, float] = {}
        self._tickets = itertools.count()
        self._lock = threading.Lock()

    def acquire(self) -> int | None:
        """Block until one more request may start; returns its slot for `settle` (None without a limit)."""
        if not self.rate:
            return None
        while True:
            with self._lock:
                now = time.monotonic()
                for slot, at in list(self._slots.items()):
                    if now - at >= self.span:
                        del self._slots[slot]
                if len(self._slots) < self.rate:
                    slot = next(self._tickets)
                    self._slots[slot] = now
                    return slot
                wait = self.span - (now - min(self._slots.values()))
            time.sleep(max(wait, 0.001))

    def settle(self, slot: int | None) -> None:
        """The request's answer (or its failure) has arrived: Knack counted it no later than now."""
        if slot is None:
            return
        with self._lock:
            self._slots[slot] = time.monotonic()


class RequestBudget:
    """The requests this run may still make (what is left of the daily quota); counts every attempt."""

    def __init__(self, app_id: str, limit: int | None) -> None:
        self.app_id = app_id
        self.limit = limit
        self.used = 0
        self.per_object: Counter[str] = Counter()
        self._lock = threading.Lock()

    @property
    def left(self) -> int | None:
        return None if self.limit is None else self.limit - self.used

    def spend(self, what: str) -> None:
        with self._lock:
            if self.limit is not None and self.used >= self.limit:
                raise QuotaRefused(
                    f"Knack app {self.app_id}: the request budget of {self.limit} for this run is used up "
                    f"(next request: {what}); stopping rather than exceeding the daily quota"
                )
            self.used += 1
            self.per_object[what] += 1

    def ensure(self, needed: int, what: str) -> None:
        """Refuse up front when `needed` more requests would not fit."""
        left = self.left
        if left is not None and needed > left:
            raise QuotaRefused(
                f"Knack app {self.app_id}: {what} needs about {needed} more requests but only {left} of this "
                f"run's budget of {self.limit} are left; refusing to exceed the daily quota"
            )


class QuotaRefused(KnackApiRefused):
    """The run would exceed the daily request budget, so it stopped before asking."""


class LimitedAdapter(HTTPAdapter):
    """A transport that spends the budget and waits for the rate limiter before every attempt."""

    def __init__(self, limiter: RateLimiter, budget: RequestBudget, pool_maxsize: int) -> None:
        super().__init__(pool_connections=4, pool_maxsize=pool_maxsize)
        self.limiter = limiter
        self.budget = budget

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        match = OBJECT_IN_PATH.search(request.path_url or "")
        self.budget.spend(match.group(1) if match else METADATA)
        slot = self.limiter.acquire()
        try:
            return super().send(request, **kwargs)
        finally:
            self.limiter.settle(slot)


class RetryingClient(Client):
    """dlt's retrying client, sending through a `LimitedAdapter`."""

    def __init__(self, adapter: LimitedAdapter, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._adapter = adapter  # dlt mounts this adapter on every per-thread session it makes


def _rate_limited(response: requests.Response | None, exception: BaseException | None) -> bool:
    """Retry a 429 unless it is the daily quota (waiting will not help with that)."""
    return response is not None and response.status_code == 429 and not _is_daily_limit(response)


def _is_daily_limit(response: requests.Response) -> bool:
    return response.status_code == 429 and "daily" in response.text[:500].lower()


@dataclass(frozen=True)
class Page:
    """One page of records and Knack's paging envelope."""

    number: int
    total_pages: int
    total_records: int
    records: list[dict[str, Any]]


class KnackClient:
    """Reads an app's metadata and pages of records; errors are KnackApiError naming app and object."""

    def __init__(self, base_url: str, app_id: str, api_key: str, *, limiter: RateLimiter,
                 budget: RequestBudget, max_connections: int = 16) -> None:
        self.base_url = base_url.rstrip("/")
        self.app_id = app_id
        self._headers = {"X-Knack-Application-Id": app_id, "X-Knack-REST-API-Key": api_key}
        self.limiter = limiter
        self.budget = budget
        self._http = RetryingClient(
            LimitedAdapter(limiter, budget, pool_maxsize=max_connections),
            request_timeout=(CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS),
            raise_for_status=False,
            status_codes=tuple(range(500, 600)),
            retry_condition=_rate_limited,
            request_max_attempts=MAX_ATTEMPTS,
            request_backoff_factor=RETRY_BACKOFF_FACTOR,
            request_max_retry_delay=MAX_RETRY_DELAY_SECONDS,
            respect_retry_after_header=True,
        )

    def metadata(self) -> dict[str, Any]:
        """`GET /applications/{app_id}`: the app's objects, fields and settings."""
        body = self._get(f"{self.base_url}/applications/{self.app_id}", None, what="its metadata")
        if not isinstance(body, dict):
            raise KnackApiError(f"Knack app {self.app_id}: the metadata answer is not a JSON object")
        return body

    def page(self, object_key: str, number: int, *, rows_per_page: int = ROWS_PER_PAGE,
             sort_field: str | None = None, sort_order: str = "asc", filters: str | None = None) -> Page:
        """One page of an object's records (whole pages only: never one record at a time)."""
        params: dict[str, Any] = {"page": number, "rows_per_page": rows_per_page}
        if sort_field:
            params.update(sort_field=sort_field, sort_order=sort_order)
        if filters:
            params["filters"] = filters
        body = self._get(f"{self.base_url}/objects/{object_key}/records", params, what=f"object {object_key}")
        try:
            records = body["records"]
            if not isinstance(records, list):
                raise TypeError("records is not a list")
            return Page(number=int(body.get("current_page") or number), total_pages=int(body.get("total_pages") or 0),
                        total_records=int(body.get("total_records") or 0), records=records)
        except (KeyError, TypeError, ValueError) as error:
            raise KnackApiError(
                f"Knack app {self.app_id}: object {object_key} page {number} is not a records page ({error})"
            ) from None

    def record(self, object_key: str, record_id: str) -> dict[str, Any] | None:
        """`GET /objects/{key}/records/{id}`: one record, or None when Knack answers 404 (it has no such record)."""
        try:
            body = self._get(f"{self.base_url}/objects/{object_key}/records/{record_id}", None,
                             what=f"object {object_key} record {record_id}")
        except KnackApiRefused as error:
            if "(HTTP 404" in str(error):
                return None
            raise
        if not isinstance(body, dict) or body.get("id") != record_id:
            raise KnackApiError(f"Knack app {self.app_id}: object {object_key} record {record_id}: "
                                "the answer is not that record")
        return body

    def _get(self, url: str, params: dict[str, Any] | None, what: str) -> Any:
        try:
            response = self._http.get(url, params=params, headers=self._headers)
        except KnackApiError:
            raise
        except requests.RequestException as error:
            raise KnackApiError(
                f"Knack app {self.app_id}: {what}: no answer after {MAX_ATTEMPTS} attempts "
                f"({type(error).__name__})"
            ) from None
        status = response.status_code
        if status == 200:
            try:
                return orjson.loads(response.content)
            except orjson.JSONDecodeError:
                raise KnackApiError(f"Knack app {self.app_id}: {what}: the answer is not JSON") from None
        reason = _knack_message(response)
        if status in (401, 403):
            raise KnackApiRefused(
                f"Knack app {self.app_id}: {what}: HTTP {status}, the app id or API key was refused ({reason})"
            )
        if status == 404:
            raise KnackApiRefused(f"Knack app {self.app_id}: {what}: not found (HTTP 404: {reason})")
        if _is_daily_limit(response):
            raise KnackApiRefused(f"Knack app {self.app_id}: {what}: the plan's daily API limit is used up ({reason})")
        if status == 429 or status >= 500:
            raise KnackApiError(
                f"Knack app {self.app_id}: {what}: HTTP {status} still after {MAX_ATTEMPTS} attempts ({reason})"
            )
        raise KnackApiRefused(f"Knack app {self.app_id}: {what}: HTTP {status} ({reason})")


def _knack_message(response: requests.Response) -> str:
    """Knack's own error message, short; never the request (its headers hold the key)."""
    try:
        errors = orjson.loads(response.content).get("errors")
        if errors and isinstance(errors, list):
            return "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors)[:200]
    except (orjson.JSONDecodeError, AttributeError):
        pass
    return (response.text or response.reason or "no message").strip()[:200]
