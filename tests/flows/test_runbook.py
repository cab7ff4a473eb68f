"""docs/operations.md is a tested runbook: each command in its shell blocks, and each of its SQL blocks, is run by
the test named here."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# command in the runbook -> the test function or fixture that runs it (a port, pool or URL substituted)
RUNBOOK = {
    "knackhouse run":
        "tests/flows/test_prefect_states.py::test_a_refused_api_key_run_from_the_cli_is_failed_in_prefect",
    "knackhouse serve": "tests/flows/test_serve.py::_serve_until",
    "prefect server start --host 127.0.0.1 --port 4200": "tests/conftest.py::prefect_harness",
    "export PREFECT_API_URL=http://127.0.0.1:4200/api": "tests/flows/test_deployment.py::environment",
    "knackhouse deploy --pool knackhouse": "tests/flows/test_deployment.py::deployed",
    "prefect worker start --pool knackhouse --type process": "tests/flows/test_deployment.py::worker",
    "prefect --no-prompt deploy --name daily --pool knackhouse":
        "tests/flows/test_deployment.py::test_prefect_deploy_with_the_prefect_yaml_registers_the_same_deployment",
}
SUBSTITUTED = {"knackhouse", "4200"}  # the runbook's pool name and port; tests use their own
# the heading above each SQL block of the runbook -> the function of the test that reads that block and runs it
RUNBOOK_SQL = {
    "### The role knackhouse runs as": "tests/production/test_tls_postgres.py::_administrators_sql",
    "## The analyst role and PUBLIC": "tests/production/test_administrator_sql.py::_public_revokes_sql",
}


def _runbook_commands() -> list[str]:
    text = (REPO / "docs" / "operations.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def _sql_block_headings() -> list[str]:
    """For each ```sql block of the runbook, the heading it stands under."""
    text = (REPO / "docs" / "operations.md").read_text()
    headings = []
    for block in re.finditer(r"```sql\n", text):
        headings.append(re.findall(r"^#+ .*$", text[:block.start()], flags=re.M)[-1])
    return headings


def _function_source(where: str) -> str:
    path, name = where.split("::")
    source = (REPO / path).read_text()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return ast.get_source_segment(source, node) or ""
    raise AssertionError(f"{where} does not exist")


def test_every_runbook_command_is_run_by_a_test() -> None:
    commands = _runbook_commands()
    assert sorted(commands) == sorted(RUNBOOK), "a runbook command without a test (or a test for a removed one)"
    for command, where in RUNBOOK.items():
        source = _function_source(where)
        if command.startswith("export "):
            name = command.split()[1].split("=")[0]
            assert f'"{name}"' in source, f"{where} does not set {name}"
            continue
        for word in command.split()[1:]:
            if word not in SUBSTITUTED:
                assert f'"{word}"' in source, f"{where} does not run `{command}` (no {word!r})"


def test_every_sql_block_of_the_runbook_is_run_by_a_test() -> None:
    headings = _sql_block_headings()
    assert len(headings) == len(set(headings)), "one SQL block per heading, so a test can find it"
    assert sorted(headings) == sorted(RUNBOOK_SQL), "an SQL block without a test (or a test for a removed one)"
    for heading, where in RUNBOOK_SQL.items():
        assert f'"{heading}"' in _function_source(where), f"{where} does not read the block under {heading!r}"
