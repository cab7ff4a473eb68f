"""Disk retention under KNACKHOUSE_HOME: after a successful run, remove what no tool needs to resume.

- dlt's loaded packages (`dlt/pipelines/*/load/loaded/*`): every one. Their rows are in raw_knack and their
  state in the destination; they are full copies of the records (names, emails). Packages a crashed run
  left (`load/new`, `load/normalized`) are never touched: the next run loads them first.
- Files older than `KNACKHOUSE_RETENTION_DAYS` (by modification time): reports, runs' logs, GX validation results and
  their Data Docs pages, dbt's logs and target files (the ones a build still uses are rewritten every run),
  and what a killed run left in `dlt/import` (its package, if extracted, holds its own copies).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from knackhouse.settings import Settings

# folders under KNACKHOUSE_HOME whose files are pruned by age
AGED = ("reports", "logs", "dbt/logs", "dbt/target", "dlt/import", "gx/gx/uncommitted/validations",
        "gx/gx/uncommitted/data_docs/local_site/validations")
LOADED_PACKAGES = "dlt/pipelines/*/load/loaded/*"


@dataclass
class Pruned:
    """What one pruning removed."""

    packages: int = 0
    files: int = 0
    bytes: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"dlt_packages": self.packages, "files": self.files, "megabytes": round(self.bytes / 1e6, 1),
                "errors": self.errors}


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def prune(settings: Settings, now: datetime) -> Pruned:
    """Remove the loaded dlt packages, and the aged files older than the retention, under the home."""
    home = settings.home
    pruned = Pruned()
    for package in sorted(home.glob(LOADED_PACKAGES)):
        if package.is_dir():
            try:
                size = _size(package)
                shutil.rmtree(package)
                pruned.packages += 1
                pruned.bytes += size
            except OSError as error:
                pruned.errors.append(f"{package}: {error}")
    cutoff = (now - timedelta(days=settings.retention_days)).timestamp()
    for folder in (home / name for name in AGED):
        if not folder.is_dir():
            continue
        for root, _dirs, files in os.walk(folder, topdown=False):
            for name in files:
                path = Path(root) / name
                try:
                    info = path.lstat()
                    if info.st_mtime < cutoff:
                        path.unlink()
                        pruned.files += 1
                        pruned.bytes += info.st_size
                except OSError as error:
                    pruned.errors.append(f"{path}: {error}")
            if Path(root) != folder and not os.listdir(root):
                os.rmdir(root)
    return pruned
