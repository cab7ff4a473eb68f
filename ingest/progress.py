"""Progress of an ingest run on a terminal: records, pages, requests and rate per object.

Shown with rich when stderr is a terminal (or when asked); silent otherwise, so logs and CI stay clean.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import Any

from ingest.client import RequestBudget
from ingest.scan import ScanStats


class IngestProgress:
    """A live table of the objects being read; `update()` is cheap and may be called often."""

    def __init__(self, enabled: bool | None, label: str) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.label = label
        self._live: Any = None
        self._started = time.monotonic()
        self._last = 0.0

    def start(self) -> None:
        if not self.enabled:
            return
        from rich.console import Console
        from rich.live import Live

        self._live = Live(console=Console(stderr=True), refresh_per_second=4, transient=False)
        self._live.start()

    def update(self, stats: Sequence[ScanStats], budget: RequestBudget, note: str = "", force: bool = False) -> None:
        if self._live is None:
            return
        now = time.monotonic()
        if not force and now - self._last < 0.25:
            return
        self._last = now
        self._live.update(self._render(stats, budget, note))

    def stop(self, stats: Sequence[ScanStats], budget: RequestBudget, note: str = "") -> None:
        if self._live is None:
            return
        self._live.update(self._render(stats, budget, note))
        self._live.stop()
        self._live = None

    def _render(self, stats: Sequence[ScanStats], budget: RequestBudget, note: str) -> Any:
        from rich.table import Table

        elapsed = max(time.monotonic() - self._started, 1e-6)
        table = Table(title=f"{self.label}: {budget.used} requests, {budget.used / elapsed:.1f}/s"
                            f"{'' if budget.limit is None else f' (budget {budget.limit})'}  {note}")
        for column in ("object", "table", "pages", "records", "requests", "records/s", "state"):
            table.add_column(column, justify="right" if column not in ("object", "table", "state") else "left")
        for s in stats:
            took = (s.finished or time.monotonic()) - s.started if s.started else 0.0
            rate = s.records_fetched / took if took > 0 else 0.0
            pages = f"{s.pages}/{s.expected_pages}" if s.expected_pages else str(s.pages)
            state = "done" if s.done else ("reading" if s.started else "waiting")
            table.add_row(s.object_key, s.table_name, pages, f"{s.records_fetched:,}",
                          str(budget.per_object.get(s.object_key, 0)), f"{rate:,.0f}", state)
        return table
