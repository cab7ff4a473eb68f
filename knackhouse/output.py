"""What knackhouse prints, and where the tools' full logs go (docs/operations.md, "Output and logs").

Quiet by default: a command prints one line per step (`step`), and the full logs of dbt, dlt, GX and the
flow go to files under `KNACKHOUSE_HOME/logs/<run_id>/` (`run_logs`). `-v` (`configure(verbose=True)`)
brings every tool's own console output back instead of the step lines, so nothing is printed twice.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

# the loggers whose records go to each file of a run's log folder (dbt writes dbt.log there itself)
LOG_FILES = {"dlt": ("dlt", "ingest"), "gx": ("great_expectations", "expectations"),
             "flow": ("prefect.flow_runs", "prefect.task_runs", "flows")}
# dlt sets its own logger's level (RUNTIME__LOG_LEVEL) and handler: raised, it would print on stderr
KEEP_LEVEL = frozenset({"dlt"})
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@dataclass
class Output:
    verbose: bool = False  # every tool's own console output (dbt's lines, Prefect's INFO logs)
    echo: bool = False     # a command is printing step lines on stdout
    log_dir: Path | None = None  # the running flow's log folder
    files: dict[str, Path] = field(default_factory=dict)


OUTPUT = Output()


def configure(*, verbose: bool, echo: bool = True) -> None:
    """Called by a command before it runs anything: what goes to the console."""
    OUTPUT.verbose, OUTPUT.echo = verbose, echo


def colours() -> bool:
    """Colour codes only on a terminal."""
    return sys.stdout.isatty()


def step(line: str) -> None:
    """One line for the person at the console (in verbose mode the Prefect log line says it instead)."""
    if OUTPUT.echo and not OUTPUT.verbose:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


@contextmanager
def run_logs(home: Path, run_id: str) -> Iterator[dict[str, Path]]:
    """Full logs of one run in `home/logs/<run_id>/`: dbt.log (dbt writes it, see knackhouse.dbt), dlt.log,
    gx.log and flow.log. Yields name -> path of each file."""
    folder = home / "logs" / run_id
    folder.mkdir(parents=True, exist_ok=True)
    handlers: list[tuple[logging.Logger, logging.Handler, int]] = []
    files = {"dbt": folder / "dbt.log"}
    for name, loggers in LOG_FILES.items():
        files[name] = folder / f"{name}.log"
        handler = logging.FileHandler(files[name], encoding="utf-8")
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        handler.setLevel(logging.DEBUG)
        for logger_name in loggers:
            logger = logging.getLogger(logger_name)
            handlers.append((logger, handler, logger.level))
            logger.addHandler(handler)
            if logger_name not in KEEP_LEVEL and logger.getEffectiveLevel() > logging.INFO:
                logger.setLevel(logging.INFO)  # the console's handler still shows only warnings
    OUTPUT.log_dir, OUTPUT.files = folder, files
    try:
        yield files
    finally:
        for logger, handler, level in handlers:
            logger.removeHandler(handler)
            logger.setLevel(level)
            handler.close()
        OUTPUT.log_dir, OUTPUT.files = None, {}
