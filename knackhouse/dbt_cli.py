"""`knackhouse dbt ARGS` and `knackhouse docs` (dispatched from knackhouse/cli.py; docs/dbt.md)."""

from __future__ import annotations

import argparse
from contextlib import closing
from typing import TYPE_CHECKING

from knackhouse.errors import ConfigError
from knackhouse.settings import Settings, configure_environment

if TYPE_CHECKING:
    from knackhouse.dbt import DbtProject


def _project(settings: Settings) -> DbtProject:
    from knackhouse.app_config import load_app_config
    from knackhouse.dbt import DbtProject
    from knackhouse.warehouse import connect, relation_exists, resolve_url

    url = resolve_url(settings)
    with closing(connect(url)) as conn, conn.cursor() as cur:
        loaded = relation_exists(cur, "raw_knack._knack_objects")
    if not loaded:
        raise ConfigError("the warehouse holds no Knack metadata yet (raw_knack._knack_objects): run "
                          "`knackhouse run` once first, then dbt has a project to work on")
    return DbtProject(settings, url, mapping=load_app_config(settings.app_config))


def dbt(args: argparse.Namespace, settings: Settings) -> int:
    """Any dbt command on the project knackhouse runs, with its profile; dbt's exit code."""
    configure_environment(settings)
    return _project(settings).run_cli(list(args.dbt_args))


def docs(args: argparse.Namespace, settings: Settings) -> int:
    """Static dbt docs and GX Data Docs; prints where each is."""
    configure_environment(settings)
    from expectations.gx_checkpoint import build_data_docs

    project = _project(settings)
    project.docs_generate()
    print(f"dbt docs: {project.static_docs}")
    print(f"GX Data Docs: {build_data_docs(settings) or 'none yet (no run has validated the guards)'}")
    return 0
