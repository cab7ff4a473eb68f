"""Runs dbt for knackhouse: prepares a run-time copy of the project with generated staging, then builds.

`DbtProject.prepare()` copies the shipped `dbt_project/` to `<KNACKHOUSE_HOME>/dbt/project` and
writes one `stg_knack__<table>.sql` + yml per object found in `raw_knack._knack_objects/_fields`,
typed by `knackhouse.staging_sql`, and `<KNACKHOUSE_HOME>/dbt/profiles.yml` (no password in it: the profile
reads KNACKHOUSE_DATABASE_PASSWORD), so plain `dbt` runs the same project (docs/dbt.md). dbt itself runs
in-process with `dbtRunner`, quiet unless `knackhouse.output` is verbose; its full log is the run's dbt.log.
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
from knackhouse.output import OUTPUT, colours
from knackhouse.settings import DATABASE_PASSWORD_ENV, Settings, configure_environment, make_private
from knackhouse.warehouse import connect, dbt_env, dbt_profile, password_of

GENERATED = Path("models") / "staging" / "generated"
TYPED = Path("models") / "typed" / "generated"
# vars that change from run to run go to dbt through the environment (macro run_var): a changed --vars makes
# dbt re-parse the whole project, ~2 s of a daily build
RUN_VARS = ("as_of_date", "reopen_years")
RUN_VAR_PREFIX = "KNACKHOUSE_DBT_"
DOMAIN_PATHS = ("models/intermediate", "models/marts", "snapshots", "tests")
PROFILE = "knackhouse"
TARGET = "warehouse"
PASSED = ("success", "pass")
WARNED = ("warn",)


@dataclass(frozen=True)
class NodeResult:
    unique_id: str
    status: str
    message: str | None
    execution_time: float
    failures: int | None
    age_seconds: float | None = None  # source freshness: how old the source's newest load is


@dataclass
class DbtResult:
    success: bool
    results: list[NodeResult] = field(default_factory=list)
    exception: str | None = None

    @property
    def failed_nodes(self) -> list[NodeResult]:
        return [r for r in self.results if r.status in ("error", "fail", "runtime error")]

    @property
    def warned_nodes(self) -> list[NodeResult]:
        return [r for r in self.results if r.status in WARNED]

    def summary_line(self, step: str) -> str:
        """`dbt build: 120 passed, 1 warned, 0 failed` and each node not passing by name."""
        passed = sum(r.status in PASSED for r in self.results)
        line = (f"{step}: {passed} passed, {len(self.warned_nodes)} warned, {len(self.failed_nodes)} failed"
                + (f", {len(self.results) - passed - len(self.warned_nodes) - len(self.failed_nodes)} skipped"
                   if any(r.status == "skipped" for r in self.results) else ""))
        for label, nodes in (("failed", self.failed_nodes), ("warned", self.warned_nodes)):
            if nodes:
                line += f"\n  {label}: " + ", ".join(short_name(n.unique_id) for n in nodes)
        if self.exception:
            line += f"\n  error: {' '.join(self.exception.split())[:500]}"
        return line


def short_name(unique_id: str) -> str:
    """`test.knackhouse.unique_dim_students_student_key.3c9f` -> `unique_dim_students_student_key`."""
    parts = unique_id.split(".")
    if parts[0] == "test" and len(parts) > 3:
        return parts[2]
    return ".".join(parts[2:]) if len(parts) > 2 else unique_id


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
            self.objects, self._email_fields(), future_tolerance_minutes=self.settings.future_tolerance_minutes,
            freshness_hours=(self.settings.freshness_warn_hours, self.settings.freshness_hours),
        )
        out = self.dir / GENERATED
        out.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (out / name).write_text(text)
        typed = typed_sql.render_project(self.objects, self.mapping_var(), typed_sql.stored_shapes(self.database_url))
        (self.dir / TYPED).mkdir(parents=True, exist_ok=True)
        for name, text in typed.items():
            (self.dir / TYPED / name).write_text(text)
        self._write_vars()
        self.write_profile()
        return self.dir

    @property
    def profiles_dir(self) -> Path:
        return self.settings.home / "dbt"

    def write_profile(self) -> Path:
        """`<KNACKHOUSE_HOME>/dbt/profiles.yml` for this warehouse; the password is read from
        KNACKHOUSE_DATABASE_PASSWORD by the profile, never written."""
        profile = {PROFILE: {"target": TARGET, "outputs": {TARGET: {
            **dbt_profile(self.database_url),
            "password": "{{ env_var('" + DATABASE_PASSWORD_ENV + "', '') }}",
            "schema": "public", "threads": 4}}}}
        path = self.profiles_dir / "profiles.yml"
        path.parent.mkdir(parents=True, exist_ok=True)
        text = "# written by knackhouse for its warehouse (docs/dbt.md); the password comes from the environment\n"
        path.write_text(text + write_yaml(profile))
        return path

    def _write_vars(self) -> None:
        """The mapping and staging vars in the run-time project's dbt_project.yml, so plain `dbt` gets them too
        (the same text each day: partial parsing keeps working)."""
        path = self.dir / "dbt_project.yml"
        project = yaml.safe_load(path.read_text())
        wanted = {**(project.get("vars") or {}), "knack_mapping": self.mapping_var(),
                  "knack_staging": self.staging_var()}
        if project.get("vars") != wanted:
            project["vars"] = wanted
            path.write_text(write_yaml(project))

    def staging_var(self) -> dict[str, Any]:
        return staging_sql.staging_var(self.objects)

    def _env(self) -> None:
        configure_environment(self.settings)
        os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"

    def _connection_env(self) -> dict[str, str]:
        env = dbt_env(self.database_url)
        password = password_of(self.database_url)
        if password:  # for the profile's env_var(); else the user's own variable stays in force
            env[DATABASE_PASSWORD_ENV] = password
        return env

    def _ready(self) -> None:
        if not (self.dir / "dbt_project.yml").exists():
            self.prepare()
        elif not self.objects:
            self.objects = read_metadata(self.database_url)
        self._write_vars()
        self.write_profile()  # this project's warehouse, whichever one the home's last run used
        self._env()

    def console_flags(self) -> list[str]:
        """dbt's console: quiet (the full log goes to the run's dbt.log) unless verbose; colours on a terminal."""
        flags = [] if OUTPUT.verbose else ["--log-level", "none", "--log-level-file", "debug"]
        return flags + ([] if colours() else ["--no-use-colors"]) + ["--no-use-colors-file"]

    def _invoke(self, args: list[str], vars: dict[str, Any] | None = None) -> DbtResult:
        from dbt.cli.main import dbtRunner

        self._ready()
        extra = dict(vars or {})
        for name in RUN_VARS:
            key = RUN_VAR_PREFIX + name.upper()
            if name in extra:
                os.environ[key] = json.dumps(extra.pop(name))
            else:
                os.environ.pop(key, None)
        common = [
            "--project-dir",
            str(self.dir),
            "--profiles-dir",
            str(self.profiles_dir),
            "--target-path",
            str(self.target_dir),
            "--log-path",
            str(OUTPUT.log_dir or self.log_dir),
            *self.console_flags(),
            *(["--vars", json.dumps(extra)] if extra else []),
        ]
        with environment_for(self._connection_env()):
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
                    failures=getattr(r, "failures", None),
                    age_seconds=getattr(r, "age", None),
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
        """dbt docs into the target dir, with `static_index.html` (one file a browser opens from file://);
        `compile=False` reuses the manifest a build just wrote."""
        result = self._invoke(["docs", "generate", "--static", *([] if compile else ["--no-compile"])])
        if not result.success:
            raise RuntimeError(f"dbt docs generate failed: {result.exception}")
        return self.target_dir

    @property
    def static_docs(self) -> Path:
        return self.target_dir / "static_index.html"

    def source_freshness(self) -> DbtResult:
        """`dbt source freshness`: each source's age against the warn/error hours of the sources yml."""
        result = self._invoke(["source", "freshness"])
        result.results = [r for r in result.results if r.unique_id.startswith("source.")]  # not the hooks
        return result

    def run_cli(self, args: list[str]) -> int:
        """`knackhouse dbt ARGS`: any dbt command on this project and profile, dbt's own output and exit code
        (0 success, 1 a failed node, 2 an error)."""
        from dbt.cli.main import dbtRunner

        self.prepare()
        self._env()
        where = {"DBT_PROJECT_DIR": str(self.dir), "DBT_PROFILES_DIR": str(self.profiles_dir),
                 "DBT_TARGET_PATH": str(self.target_dir), "DBT_LOG_PATH": str(self.log_dir)}
        if not colours():
            where["DBT_USE_COLORS"] = "false"
        for name in RUN_VARS:
            os.environ.pop(RUN_VAR_PREFIX + name.upper(), None)
        with environment_for({**self._connection_env(), **where}):
            res = dbtRunner().invoke(list(args))
        if res.success:
            return 0
        return 2 if res.exception is not None else 1


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
