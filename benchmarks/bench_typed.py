"""Benchmark the typed tables (schema `knack`) of a generic app against its staging views.

Usage: python benchmarks/bench_typed.py [--records N] [--repeat K]
Needs KNACKHOUSE_DATABASE_URL (a server; a scratch database is created and dropped).
One object of N records (18 fields of every common type), no mapping. Prints min/median/max seconds of:
the first build (every record typed), a build with nothing new, a build after 1% of records changed, and
reading every typed column of the object from its table and through its staging view (same run, alternated).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "staging"))

from bench_args import print_spread  # noqa: E402
from raw_loader import load_metadata, load_records  # noqa: E402
from synthetic_app import synthetic_metadata, synthetic_records  # noqa: E402

from knackhouse import warehouse  # noqa: E402
from knackhouse.dbt import DbtProject  # noqa: E402
from knackhouse.settings import Settings  # noqa: E402


def fill(url: str, table: str, records: int) -> None:
    """`records` copies of one synthetic record as one load, with the load-id index ingest builds."""
    with warehouse.connect(url) as conn, conn.cursor() as cur:
        cur.execute(
            f"insert into raw_knack.\"{table}\" select lpad(to_hex(n), 24, '0'),"
            " jsonb_set(record, '{id}', to_jsonb(lpad(to_hex(n), 24, '0'))), _knack_created_at,"
            " _knack_modified_at, _first_seen_at, _last_seen_at, null, _dlt_load_id, n::text"
            f' from raw_knack."{table}", generate_series(1, %s) n',
            (records - 1,),
        )
        cur.execute(f'create index on raw_knack."{table}" ((_dlt_load_id::numeric))')
        cur.execute("analyze")


def change(url: str, table: str, fraction: float) -> None:
    """Rewrite `fraction` of the records as a newer load, as a daily ingest does."""
    load_id = f"{time.time():.6f}"
    with warehouse.connect(url) as conn, conn.cursor() as cur:
        cur.execute(f'update raw_knack."{table}" set _dlt_load_id = %s, _last_seen_at = now()'
                    " where case when _dlt_id ~ '^[0-9]+$' then _dlt_id::bigint %% %s = 0 else false end",
                    (load_id, round(1 / fraction)))
        cur.execute("insert into raw_knack._dlt_loads values (%s, 'knack', 0, now(), null)", (load_id,))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=500_000, help="records in the object")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    settings = Settings.from_env()
    server = warehouse.resolve_url(settings)
    name = f"kh_bench_{uuid.uuid4().hex[:8]}"
    url = warehouse.create_database(server, name)
    try:
        metadata = synthetic_metadata(objects=1, fields_per_object=18)
        table = load_metadata(url, metadata)["object_1"]
        load_records(url, table, synthetic_records(metadata["application"]["objects"][0], 1))
        fill(url, table, args.records)
        with tempfile.TemporaryDirectory() as home:
            project = DbtProject(Settings(home=Path(home), database_url=url), url, mapping={})

            def build() -> float:
                project.prepare()
                start = time.perf_counter()
                result = project.build(select="+path:models/typed")
                if not result.success:
                    raise SystemExit(json.dumps([n.unique_id for n in result.failed_nodes]))
                return time.perf_counter() - start

            print_spread(f"first build of the typed tables, {args.records:,} records", [build()])
            print_spread("build with nothing new", [build() for _ in range(args.repeat)])
            daily = []
            for _ in range(args.repeat):
                change(url, table, 0.01)
                daily.append(build())
            print_spread("build after 1% of the records changed", daily)

            def read(relation: str) -> float:
                with warehouse.connect(url) as conn, conn.cursor() as cur:
                    start = time.perf_counter()
                    cur.execute(f"create temp table typed as select * from {relation}")
                    return time.perf_counter() - start

            from_table, from_view = [], []
            for _ in range(args.repeat):
                from_table.append(read(f'knack."{table}"'))
                from_view.append(read(f'staging."stg_knack__{table}"'))
            print_spread(f"every typed column of {args.records:,} records from knack.{table}", from_table)
            print_spread(f"every typed column of {args.records:,} records through the staging view", from_view)
            ratio = statistics.median(from_view) / statistics.median(from_table)
            print(f"table vs view: {ratio:.1f}x faster (medians)")
    finally:
        warehouse.drop_database(server, name)


if __name__ == "__main__":
    main()
