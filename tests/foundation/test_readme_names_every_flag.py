"""README.md names every command and every flag the CLI accepts, each in its command's row of the table."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from knackhouse.cli import build_parser

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def _flags(parser: argparse.ArgumentParser) -> list[str]:
    return [o for a in parser._actions for o in a.option_strings if o not in ("-h", "--help")]


def _row(command: str) -> str:
    """The README table row of `knackhouse COMMAND` (its first cell starts with it)."""
    rows = [line for line in README.splitlines() if re.match(rf"^\| `knackhouse {command}\b", line)]
    assert rows, f"README.md has no row for `knackhouse {command}` in its command table"
    return rows[0]


@pytest.mark.parametrize("command", sorted(_commands()))
def test_every_flag_of_a_command_is_in_its_readme_row(command):
    row = _row(command)
    missing = [flag for flag in _flags(_commands()[command]) if not re.search(rf"{re.escape(flag)}\b", row)]
    assert not missing, f"README.md's row for `knackhouse {command}` does not name {', '.join(missing)}"


def test_every_top_level_flag_is_in_the_readme():
    missing = [flag for flag in _flags(build_parser()) if f"knackhouse {flag}" not in README]
    assert not missing, f"README.md does not name {', '.join(missing)}"
