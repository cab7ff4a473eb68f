"""Errors that end a command, each with the exit status README.md gives it."""


class KnackhouseError(Exception):
    """Base of every error a command reports as one clear line."""

    exit_code = 2


class ConfigError(KnackhouseError):
    """Bad configuration or usage: exit 2."""

    exit_code = 2


class GuardFailed(KnackhouseError):
    """A data-quality guard failed and nothing was published: exit 1."""

    exit_code = 1


class KnackApiError(KnackhouseError):
    """The Knack API failed (after retries): exit 3."""

    exit_code = 3
    transient = True  # Knack may answer later (an outage, a storm of 429s): the flow's task retry may help


class KnackApiRefused(KnackApiError):
    """Knack refused the request for a reason that waiting does not change (a wrong key, an unknown object,
    the daily quota used up): exit 3, and never retried."""

    transient = False


class RecordsRefused(KnackApiRefused):
    """Knack sent records the warehouse refused to store: their load package was set aside, nothing of it was
    committed, and the next run reads them from Knack again (exit 3, never retried: the same records would fail)."""


class NotBuiltYet(KnackhouseError):
    """A command that this version does not provide yet: exit 2."""

    exit_code = 2
