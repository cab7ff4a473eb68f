"""Alerts: a run's one-line outcome to every target in KNACKHOUSE_ALERT_URLS (and KNACKHOUSE_ALERT_WEBHOOK).

A target is an Apprise URL (`slack://`, `msteams://`, `mailto://`, `ntfy://`, `json://`, ... and the
services' own webhook URLs that Apprise recognises, e.g. `https://hooks.slack.com/services/...`). A plain
`http(s)://` URL that is no such service gets the JSON POST knackhouse always sent: `text` (the headline)
and the run summary. Each target is tried on its own: one that is down or refuses is logged and does not
stop the others, nor change the run's outcome.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from knackhouse.errors import ConfigError

WEBHOOK_ENV = "KNACKHOUSE_ALERT_WEBHOOK"
log = logging.getLogger(__name__)


def webhook_url(environ: Mapping[str, str] | None = None) -> str | None:
    """The configured alert webhook, or None when alerts are off."""
    env = os.environ if environ is None else environ
    return env.get(WEBHOOK_ENV) or None


def send_alert(url: str | None, summary: Mapping[str, Any], *, timeout: float = 10.0) -> bool:
    """Send the summary to one target (an Apprise URL, or a plain webhook: a JSON POST); False when not sent."""
    if not url:
        return False
    if _is_plain_webhook(url):
        return _post_json(url, summary, timeout)
    return _send_apprise(url, summary)


def send_alerts(urls: Sequence[str], summary: Mapping[str, Any]) -> dict[str, bool]:
    """Send to every target, each on its own; returns {target shown without secrets: sent}."""
    results = {}
    for url in urls:
        try:
            sent = send_alert(url, summary)
        except Exception as error:  # noqa: BLE001 - an alert target must never fail the run
            log.warning("alert to %s failed: %s", shown(url), type(error).__name__)
            sent = False
        if not sent:
            log.warning("alert to %s was not delivered", shown(url))
        results[shown(url)] = sent
    return results


def check_urls(urls: Sequence[str]) -> None:
    """Refuse before the run a target no alert could reach (a typo would silence every alert)."""
    for number, url in enumerate(urls, 1):
        if not _is_plain_webhook(url) and _apprise_for(url) is None:
            raise ConfigError(f"alert target {number} ({shown(url)}) is not a URL Apprise knows: check "
                              "KNACKHOUSE_ALERT_URLS / KNACKHOUSE_ALERT_WEBHOOK (e.g. slack://..., mailto://..., "
                              "ntfy://..., json://host/path)")


def shown(url: str) -> str:
    """A target as it may be logged: scheme and host only (the rest of an alert URL is often a token)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if _port(parts) else ''}"


def title(summary: Mapping[str, Any]) -> str:
    return f"knackhouse daily-sync {str(summary.get('status', 'alert')).upper()}"


def text(summary: Mapping[str, Any]) -> str:
    """The alert's body: the headline, then where to look."""
    lines = [str(summary.get("headline", "knackhouse run alert"))]
    if summary.get("stale"):
        lines.append(f"STALE DATA: {summary['stale']}")
    if summary.get("postponed"):
        lines.append("postponed: " + ", ".join(p["object_key"] for p in summary["postponed"]))
    lines += [f"run {summary.get('run_id', '?')}", f"report: {summary.get('report', 'none')}"]
    return "\n".join(lines)


def _port(parts: Any) -> int | None:
    try:
        return parts.port
    except ValueError:
        return None


def _is_plain_webhook(url: str) -> bool:
    return urlsplit(url).scheme in ("http", "https") and _apprise_for(url) is None


def _apprise_for(url: str) -> Any:
    import apprise

    notifier = apprise.Apprise()
    return notifier if notifier.add(url) else None


def _send_apprise(url: str, summary: Mapping[str, Any]) -> bool:
    import apprise

    notifier = _apprise_for(url)
    if notifier is None:
        return False
    failed = summary.get("status") not in ("success", None)
    return bool(notifier.notify(title=title(summary), body=text(summary),
                                notify_type=apprise.NotifyType.FAILURE if failed else apprise.NotifyType.WARNING))


def _post_json(url: str, summary: Mapping[str, Any], timeout: float) -> bool:
    """POST the summary as JSON (with a one-line `text` for chat webhooks)."""
    body = {"text": str(summary.get("headline", "knackhouse run alert")), **summary}
    request = urllib.request.Request(
        url,
        data=json.dumps(body, default=str).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return 200 <= response.status < 300
    except OSError:
        return False
