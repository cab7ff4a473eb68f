"""ingest: the dlt source that copies any Knack app into `raw_knack` (docs/architecture.md, "raw_knack").

Laid out like dlt's verified sources: the `@dlt.source` is `knack_source` (defined in `source.py`
and exported here, so it imports cleanly even where a `tests/ingest` folder shadows the package
name); beside it `client.py` (HTTP client: shared rate limiter, request budget, dlt's retrying
session), `metadata.py` (objects, fields, table names, drift), `dates.py` and `timezones.py`
(Knack's wall clock and zone names), `scan.py` (reading one object, and proving a whole-object
scan complete), `raw.py` (reads back from raw_knack), `audit.py` (`audit.object_loads`),
`progress.py` (the terminal display), `settings.py` (constants) and `pipeline.py` (`run_ingest`).

The source is fed by `ingest.pipeline.run_ingest`, which reads Knack in background threads and
hands the pages to dlt in batches (`LoadBatch`), so loading overlaps with the rate-limited reads.
Each object's rows are pyarrow tables (one per page) with the record kept whole as JSON text in a
`json` column (jsonb in PostgreSQL); `max_table_nesting=0`, so dlt never unnests a record.
dlt state (in the destination) keeps, per source: `tables` (object key → table name, fixed the
first time an object is seen) and `cursors` (object key → ISO instant of the newest modified value
loaded).
"""

from ingest.source import RAW_COLUMNS, LoadBatch, knack_source

__all__ = ["RAW_COLUMNS", "LoadBatch", "knack_source"]
