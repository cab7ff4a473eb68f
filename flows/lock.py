"""One run at a time: a PostgreSQL advisory lock held on a dedicated connection for the whole run.

PostgreSQL releases a session's advisory locks when its connection ends, so a crashed (even
kill -9) run never leaves the lock behind.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from knackhouse.errors import ConfigError
from knackhouse.warehouse import connect

LOCK_KEY = 0x6B6E6163  # "knac": the one key every daily-sync run takes
POLL_SECONDS = 0.5


class RunLocked(ConfigError):
    """Another run holds the lock and did not finish within the wait."""


@contextmanager
def run_lock(database_url: str, *, wait_seconds: float = 0.0, key: int = LOCK_KEY) -> Iterator[None]:
    """Hold the run lock for the body; wait up to wait_seconds for another run, then refuse."""
    conn = connect(database_url)
    conn.autocommit = True
    try:
        deadline = time.monotonic() + max(wait_seconds, 0.0)
        with conn.cursor() as cur:
            while True:
                cur.execute("select pg_try_advisory_lock(%s)", (key,))
                if cur.fetchone()[0]:
                    break
                if time.monotonic() >= deadline:
                    raise RunLocked(
                        f"another knackhouse run holds the run lock (waited {wait_seconds:.0f} s); "
                        "nothing was changed — try again when it has finished"
                    )
                time.sleep(POLL_SECONDS)
        yield
    finally:
        conn.close()
