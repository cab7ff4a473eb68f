"""Runs dbt for knackhouse: prepares a run-time copy of the project with generated staging, then builds.

`DbtProject.prepare()` copies the shipped `dbt_project/` to `<KNACKHOUSE_HOME>/dbt/project` and
writes one `stg_knack__<table>.sql` + yml per object found in `raw_knack._knack_objects/_fields`,
typed by `knackhouse.staging_sql`. dbt itself runs in-process with `dbtRunner`.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

import dbt_project
from knackhouse import staging_sql, typed_sql
from knackhouse.settings import Settings, configure_environment, make_private
from knackhouse.warehouse import connect, dbt_env

GENERATED = Path("models") / "staging" / "generated"
TYPED = Path("models") / "typed" / "generated"
# vars that change from run to run go to dbt through the environment (macro run_var): a changed --vars makes
# dbt re-parse the whole project, ~2 s of a daily build
RUN_VARS = ("as_of_date", "reopen_years")
RUN_VAR_PREFIX = "KNACKHOUSE_DBT_"
DOMAIN_PATHS = ("models/intermediate", "models/marts", "snapshots", "tests")


@dataclass(frozen=True)
class NodeResult:
    unique_id: str
    status: str
    message: str | None
    execution_time: float
    failures: int | None


@dataclass
class DbtResult:
    success: bool
    results: list[NodeResult] = field(default_factory=list)
    exception: str | None = None

    @property
    def failed_nodes(self) -> list[NodeResult]:
        return [r for r in self.results if r.status in ("error", "fail", "runtime error")]


def read_metadata(database_url: str) -> list[staging_sql.KnackObject]:
    """The objects and fields stored in raw_knack by ingest, plus the app's IANA zone."""
    with connect(database_url) as conn, conn.cursor() as cur:
        cur.execute("select timezone_iana from raw_knack._knack_app limit 1")
        row = cur.fetchone()
        zone = (row[0] if row else None) or "UTC"
        cur.execute(
            "select object_key, name, table_name, modified_field from raw_knack._knack_objects order by object_key"
        )
        objects = cur.fetchall()
        cur.execute(
            "select object_key, field_key, name, type, format, relationship from raw_knack._knack_fields"
            " order by object_key, position, field_key"
        )
        fields = cur.fetchall()
    return staging_sql.build_objects(objects, fields, zone)


def read_app_metadata(database_url: str) -> dict[str, Any]:
    """The whole application body ingest stored, for validating the app mapping against it."""
    with connect(database_url) as conn, conn.cursor() as cur:
        cur.execute("select metadata from raw_knack._knack_app limit 1")
        row = cur.fetchone()
    return _json(row[0]) if row else {}


def _json(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else dict(value or {})


class DbtProject:
    """The dbt project for one warehouse and app mapping."""

    def __init__(self, settings: Settings, database_url: str, mapping: Any = None) -> None:
        self.settings = settings
        self.database_url = database_url
        self.mapping = mapping
        self.dir = settings.home / "dbt" / "project"
        self.target_dir = settings.home / "dbt" / "target"
        self.log_dir = settings.home / "dbt" / "logs"
        self.objects: list[staging_sql.KnackObject] = []

    def _email_fields(self) -> dict[str, list[str]]:
        if self.mapping is None:
            return {}
        var = self.mapping.as_dbt_var() if hasattr(self.mapping, "as_dbt_var") else dict(self.mapping)
        return {key: list(obj.get("email_fields") or []) for key, obj in (var.get("objects") or {}).items()}

    def mapping_var(self) -> dict[str, Any]:
        if self.mapping is None:
            return {}
        return self.mapping.as_dbt_var() if hasattr(self.mapping, "as_dbt_var") else dict(self.mapping)

    def prepare(self) -> Path:
        """(Re)create the run-time project and its generated staging models; idempotent."""
        source = Path(dbt_project.PROJECT_DIR)
        self.dir.parent.mkdir(parents=True, exist_ok=True)
        keep = {"target", "logs", "dbt_packages"}
        if self.dir.exists():
            shutil.rmtree(self.dir)
        shutil.copytree(  # copyfile: the copies take the home's private mode, not the installed files'
            source, self.dir, ignore=lambda _d, names: [n for n in names if n in keep or n.startswith("__")],
            copy_function=shutil.copyfile,
        )
        make_private(self.dir)  # copytree gives the folders the installed ones' modes
        if not self.mapping_var().get("entities"):
            # a generic app (no domain entities): every object is staged, no domain layer is built
            for domain in DOMAIN_PATHS:
                shutil.rmtree(self.dir / domain, ignore_errors=True)
        self.objects = read_metadata(self.database_url)
        if self.mapping is not None and hasattr(self.mapping, "validate"):
            self.mapping.validate(read_app_metadata(self.database_url))
        files = staging_sql.render_project(
            self.objects, self._email_fields(), future_tolerance_minutes=self.settings.future_tolerance_minutes
        )
        out = self.dir / GENERATED
        out.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (out / name).write_text(text)
        typed = typed_sql.render_project(self.objects, self.mapping_var(), typed_sql.stored_shapes(self.database_url))
        (self.dir / TYPED).mkdir(parents=True, exist_ok=True)
        for name, text in typed.items():
            (self.dir / TYPED / name).write_text(text)
        return self.dir

    def staging_var(self) -> dict[str, Any]:
        return staging_sql.staging_var(self.objects)

    def _env(self) -> None:
        configure_environment(self.settings)
        os.environ["DBT_PROFILES_DIR"] = str(self.dir)
        os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"

    def _invoke(self, args: list[str], vars: dict[str, Any] | None = None) -> DbtResult:
        from dbt.cli.main import dbtRunner

        if not (self.dir / "dbt_project.yml").exists():
            self.prepare()
        elif not self.objects:
            self.objects = read_metadata(self.database_url)
        self._env()
        all_vars = {"knack_mapping": self.mapping_var(), "knack_staging": self.staging_var(), **(vars or {})}
        for name in RUN_VARS:
            key = RUN_VAR_PREFIX + name.upper()
            if name in all_vars:
                os.environ[key] = json.dumps(all_vars.pop(name))
            else:
                os.environ.pop(key, None)
        common = [
            "--project-dir",
            str(self.dir),
            "--profiles-dir",
            str(self.dir),
            "--target-path",
            str(self.target_dir),
            "--log-path",
            str(self.log_dir),
            "--vars",
            json.dumps(all_vars),
        ]
        with environment_for(dbt_env(self.database_url)):
            res = dbtRunner().invoke([*args, *common])
        nodes: list[NodeResult] = []
        result = res.result
        for r in getattr(result, "results", None) or []:
            nodes.append(
                NodeResult(
                    unique_id=getattr(r, "unique_id", None) or r.node.unique_id,
                    status=str(r.status),
                    message=r.message,
                    execution_time=float(r.execution_time or 0.0),
                    failures=r.failures,
                )
            )
        return DbtResult(
            success=bool(res.success), results=nodes, exception=str(res.exception) if res.exception else None
        )

    def build(
        self,
        select: str | list[str] | None = None,
        exclude: str | list[str] | None = None,
        full_refresh: bool = False,
        vars: dict[str, Any] | None = None,
    ) -> DbtResult:
        """`dbt build`, optionally restricted by selectors."""
        args = ["build"]
        for flag, value in (("--select", select), ("--exclude", exclude)):
            if value:
                args += [flag, *([value] if isinstance(value, str) else value)]
        if full_refresh:
            args.append("--full-refresh")
        return self._invoke(args, vars)

    def run_operation(self, macro: str, args: dict[str, Any] | None = None) -> DbtResult:
        return self._invoke(["run-operation", macro, "--args", json.dumps(args or {})])

    def docs_generate(self, compile: bool = True) -> Path:
        """dbt docs into the target dir; `compile=False` reuses the manifest a build just wrote."""
        result = self._invoke(["docs", "generate"] if compile else ["docs", "generate", "--no-compile"])
        if not result.success:
            raise RuntimeError(f"dbt docs generate failed: {result.exception}")
        return self.target_dir


@contextmanager
def environment_for(values: dict[str, str]) -> Iterator[None]:
    """The connection's variables for one dbt invocation (dbt runs in this process), then the previous ones:
    a libpq variable left behind would reach every later connection, to whatever database."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def write_yaml(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
