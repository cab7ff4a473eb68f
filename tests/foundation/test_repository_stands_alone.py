"""The repository stands alone: no tracked file cites a `shared` folder beside it or an absolute path under /work.

On a user's machine nothing outside the clone exists, so a citation of one is a file that cannot be found
(the knackpy fixture, for one, lives in tests/fixtures/knackpy/).
"""
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# the folder names stand apart from their slashes so that this file's own source matches neither pattern
SHARED, WORK = "shared", "/work"
FORBIDDEN = {
    "a shared folder outside the repository": re.compile(rf"(?<![\w.-])(?:\.\./)*{SHARED}/"),
    "an absolute path under /work": re.compile(rf"(?<![\w.-]){WORK}/"),
}


def tracked_files() -> list[str]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the tracked files are not known")
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [name for name in listed.decode().split("\0") if name]


def citations(root: Path, names: list[str]) -> list[str]:
    """One line per citation: the file, the line number, what it cites and the line itself."""
    found = []
    for name in names:
        path = root / name
        if not path.is_file():  # deleted in the work tree, not yet committed
            continue
        data = path.read_bytes()
        if b"\0" in data:  # binary
            continue
        for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), start=1):
            for what, pattern in FORBIDDEN.items():
                if pattern.search(line):
                    found.append(f"{name}:{number}: {what}: {line.strip()[:120]}")
    return found


def test_the_patterns_catch_the_citations_they_are_for(tmp_path: Path) -> None:
    sample = tmp_path / "sample.md"
    sample.write_text(f"fine line\nsee ../{SHARED}/knackpy/app.json\nand {WORK}/main/x\n")
    assert [line.split(": ")[1] for line in citations(tmp_path, ["sample.md"])] == [
        "a shared folder outside the repository", "an absolute path under /work"]


def test_the_patterns_leave_ordinary_words_alone(tmp_path: Path) -> None:
    sample = tmp_path / "sample.md"
    sample.write_text("one shared rate limiter\nshared_buffers = 32MB\nnetwork/work items\ntests/fixtures/knackpy/\n")
    assert citations(tmp_path, ["sample.md"]) == []


def test_no_tracked_file_cites_a_path_outside_the_repository() -> None:
    found = citations(ROOT, tracked_files())
    assert not found, "paths outside the repository (use a path inside it):\n" + "\n".join(found)
