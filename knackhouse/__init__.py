"""knackhouse: a Knack app copied into PostgreSQL and modelled into tables analysts can trust."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("knackhouse")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
