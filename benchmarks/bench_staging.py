"""Benchmark staging: SQL generation for a wide app, and `dbt build` of staging over many records.

Usage: python benchmarks/bench_staging.py [--records N] [--repeat K]
Needs KNACKHOUSE_DATABASE_URL (a server; a scratch database is created and dropped).
Prints min/median/max seconds for each measurement.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "staging"))

from bench_args import print_spread  # noqa: E402
from raw_loader import load_metadata, load_records  # noqa: E402
from synthetic_app import synthetic_metadata, synthetic_records  # noqa: E402

from knackhouse import staging_sql, warehouse  # noqa: E402
from knackhouse.dbt import DbtProject  # noqa: E402
from knackhouse.settings import Settings  # noqa: E402


def timed(label: str, repeat: int, run: Callable[[], object]) -> None:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    print_spread(label, times)


def generate_wide_app() -> None:
    """50 objects x 20 fields = 1,000 fields: slugging, typing SQL, parse problems, yml."""
    app = synthetic_metadata(objects=50, fields_per_object=20)["application"]
    objects = [(o["key"], o["name"], f"thing_{i}") for i, o in enumerate(app["objects"], 1)]
    fields = [
        (o["key"], f["key"], f["name"], f["type"], f.get("format"), f.get("relationship"))
        for o in app["objects"]
        for f in o["fields"]
    ]
    built = staging_sql.build_objects(objects, fields, "Europe/London")
    files = staging_sql.render_project(built, {})
    assert len(files) == 53


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=200_000, help="records in the large object")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    settings = Settings.from_env()
    server = warehouse.resolve_url(settings)

    timed("SQL generation, 50 objects / 1,000 fields", args.repeat, generate_wide_app)

    name = f"kh_bench_{uuid.uuid4().hex[:8]}"
    url = warehouse.create_database(server, name)
    try:
        metadata = synthetic_metadata(objects=3, fields_per_object=18)
        tables = load_metadata(url, metadata)
        template = synthetic_records(metadata["application"]["objects"][0], 1)[0]
        load_records(url, tables["object_1"], [template])
        with warehouse.connect(url) as conn, conn.cursor() as cur:
            cur.execute(
                f"insert into raw_knack.\"{tables['object_1']}\" select lpad(to_hex(n), 24, '0'),"
                " jsonb_set(record, '{id}', to_jsonb(lpad(to_hex(n), 24, '0'))), _knack_created_at,"
                " _knack_modified_at, _first_seen_at, _last_seen_at, null, _dlt_load_id, n::text"
                f' from raw_knack."{tables["object_1"]}", generate_series(1, %s) n',
                (args.records - 1,),
            )
            cur.execute("analyze")
        with tempfile.TemporaryDirectory() as home:
            project = DbtProject(Settings(home=Path(home), database_url=url), url)
            project.prepare()

            def build() -> None:
                result = project.build(select="path:models/staging")  # staging alone: bench_typed.py times the rest
                if not result.success:
                    raise SystemExit(json.dumps([n.unique_id for n in result.failed_nodes]))

            timed(f"dbt build of staging over {args.records:,} records (3 objects x 18 fields)", args.repeat, build)

            def read_every_typed_column() -> None:
                with warehouse.connect(url) as conn, conn.cursor() as cur:
                    cur.execute(f"create temp table typed as select * from staging.stg_knack__{tables['object_1']}")
                    cur.execute("select count(*) from staging.stg_knack__parse_problems")

            timed(
                f"reading every typed column of {args.records:,} records + parse problems",
                args.repeat,
                read_every_typed_column,
            )
    finally:
        warehouse.drop_database(server, name)


if __name__ == "__main__":
    main()
