"""Alerts: post a run's summary to the webhook URL in KNACKHOUSE_ALERT_WEBHOOK."""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Mapping
from typing import Any

WEBHOOK_ENV = "KNACKHOUSE_ALERT_WEBHOOK"


def webhook_url(environ: Mapping[str, str] | None = None) -> str | None:
    """The configured alert webhook, or None when alerts are off."""
    env = os.environ if environ is None else environ
    return env.get(WEBHOOK_ENV) or None


def send_alert(url: str | None, summary: Mapping[str, Any], *, timeout: float = 10.0) -> bool:
    """POST the summary as JSON (with a one-line `text` for chat webhooks); False when not sent."""
    if not url:
        return False
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
