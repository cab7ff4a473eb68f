"""knackhouse: a Knack app copied into PostgreSQL and modelled into tables analysts can trust."""

from __future__ import annotations


def __getattr__(name: str) -> str:
    """`__version__`, read from the installed metadata only when asked (importlib.metadata costs ~40 ms)."""
    if name != "__version__":
        raise AttributeError(f"module 'knackhouse' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("knackhouse")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0"
