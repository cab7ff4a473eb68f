"""The limits and faults a simulator server can apply, each switchable; their randomness is seeded."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Faults:
    """Which of Knack's limits and failures to reproduce (all off by default).

    - `rate_limit`: more than `requests_per_second` requests within one second → 429 "Rate limit exceeded".
    - `daily_quota`: requests allowed per simulated day (the app's date); over it → 429.
    - `error_rate`: probability of a 503 on any request.
    - `slow_seconds`, `slow_rate`: delay that share of responses by that many seconds.
    - `inflate_total`: add this many to `total_records` (and the pages it implies) beyond what the pages hold.
    - `page_shift_inserts/deletes/modifies`: before serving page 2 and later of a scan, insert copies of,
      delete and modify that many records of the object (the boundaries shift under the client).
    - `reset_rate`: probability that a records response is cut mid-body by a connection reset.
    """

    rate_limit: bool = False
    requests_per_second: int = 10
    daily_quota: int | None = None
    error_rate: float = 0.0
    slow_seconds: float = 0.0
    slow_rate: float = 1.0
    inflate_total: int = 0
    page_shift_inserts: int = 0
    page_shift_deletes: int = 0
    page_shift_modifies: int = 0
    reset_rate: float = 0.0

    @property
    def page_shift(self) -> bool:
        return bool(self.page_shift_inserts or self.page_shift_deletes or self.page_shift_modifies)
