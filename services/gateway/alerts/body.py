"""Webhook bodies: our JSON envelope, or a Slack-compatible ``text`` + ``blocks`` message."""

from __future__ import annotations

from typing import Any, Literal

import orjson

from services.gateway.alerts.model import Alert

BodyFormat = Literal["json", "slack"]
_SEVERITY_EMOJI = {
    "low": ":information_source:",
    "medium": ":warning:",
    "high": ":rotating_light:",
    "critical": ":fire:",
}


def envelope(alert: Alert, seq: int) -> dict[str, Any]:
    """The JSON document every channel sends; ``seq`` is the stream position (SSE id)."""
    return {
        "seq": seq,
        "event_id": alert.event_id,
        "source": alert.source,
        "alert_id": alert.alert_id,
        "action": alert.action,
        "account_id": alert.account_id,
        "service": alert.service,
        "severity": alert.severity,
        "impact_usd": alert.impact_usd,
        "title": alert.title,
        "occurred_at": alert.occurred_at.isoformat(),
        "detail": alert.payload,
    }


def slack_message(alert: Alert) -> dict[str, Any]:
    """A Slack incoming-webhook message (works with Mattermost and Teams' Slack mode too)."""
    emoji = _SEVERITY_EMOJI.get(alert.severity, "")
    fields = [
        {"type": "mrkdwn", "text": f"*Account*\n{alert.account_id}"},
        {"type": "mrkdwn", "text": f"*Severity*\n{alert.severity}"},
        {"type": "mrkdwn", "text": f"*Service*\n{alert.service or '-'}"},
        {
            "type": "mrkdwn",
            "text": "*Impact*\n"
            + (f"${alert.impact_usd:,.2f}" if alert.impact_usd is not None else "-"),
        },
    ]
    return {
        "text": f"{emoji} {alert.title}".strip(),
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"{emoji} *{alert.title}*"}},
            {"type": "section", "fields": fields},
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"{alert.source} `{alert.alert_id}` · {alert.action} · "
                        f"{alert.occurred_at.isoformat()}",
                    }
                ],
            },
        ],
    }


def render(alert: Alert, seq: int, body_format: BodyFormat) -> bytes:
    """The exact bytes that are signed and sent."""
    doc = slack_message(alert) if body_format == "slack" else envelope(alert, seq)
    return orjson.dumps(doc)
