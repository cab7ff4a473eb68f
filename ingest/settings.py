"""Ingest's tuning constants: Knack's limits, retries, the incremental overlap, batching."""

from __future__ import annotations

from datetime import timedelta

ROWS_PER_PAGE = 1000                # Knack's maximum page size
REQUESTS_PER_SECOND = 10            # Knack's limit per app, on every plan
RATE_WINDOW_MARGIN_SECONDS = 0.03   # the limiter's window is 1 s plus this, to stay clear of Knack's

CONNECT_TIMEOUT_SECONDS = 10
READ_TIMEOUT_SECONDS = 120
MAX_ATTEMPTS = 8                    # per request, the first included
RETRY_BACKOFF_FACTOR = 0.5          # 0.5, 1, 2, 4 ... seconds, unless Knack sends Retry-After
MAX_RETRY_DELAY_SECONDS = 30

CONFIRM_BY_ID_LIMIT = 500          # records a reconcile may confirm gone one request each (GET /records/{id})
OVERLAP = timedelta(hours=1)        # an incremental read starts this long before the stored cursor
PREFETCH_PAGES = 4                  # pages of one object in flight at once (never during a reconcile scan)
OBJECT_WORKERS = 4                  # objects read at the same time (all share the one rate limiter)
MAX_QUEUED_PAGES = 24               # pages fetched but not yet handed to dlt (bounds memory)
BATCH_RECORDS = 40_000              # records per dlt load while the API is still being read

PIPELINE_NAME = "knackhouse_ingest"
SOURCE_NAME = "knack"
DATASET_NAME = "raw_knack"
AUDIT_SCHEMA = "audit"
