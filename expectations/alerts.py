"""Alert payloads: what a failed check or a quarantining delivery tells people. Pure data."""

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime

SAMPLE_SIZE = 10


@dataclass(frozen=True)
class Alert:
    raised_at: datetime
    severity: str  # error, warn or engine
    rule: str  # rule ids ("E2,E7"), a check name, or "engine"
    title: str
    counts: dict = field(default_factory=dict)
    run_id: str | None = None
    sample_keys: tuple[str, ...] = ()
    subject: str | None = None  # what the alert is about, e.g. a delivery's sha256

    @property
    def message(self) -> str:
        counts = ", ".join(f"{k} {v}" for k, v in self.counts.items())
        sample = f"; e.g. {', '.join(self.sample_keys[:5])}" if self.sample_keys else ""
        return f"[{self.severity.upper()}] {self.title} ({counts}){sample}"

    def to_json(self) -> dict:
        data = asdict(self)
        data["raised_at"] = self.raised_at.isoformat()
        data["sample_keys"] = list(self.sample_keys)
        data["message"] = self.message
        return data


def webhook_payload(alert: Alert) -> bytes:
    """The generic JSON webhook body."""
    return json.dumps({"source": "tallyhouse", "alert": alert.to_json()}).encode()


def slack_payload(alert: Alert) -> bytes:
    """A Slack-compatible incoming-webhook body."""
    icon = {"error": ":rotating_light:", "warn": ":warning:"}.get(alert.severity, ":boom:")
    return json.dumps({"text": f"{icon} tallyhouse: {alert.message}"}).encode()


def sample_keys(keys, size: int = SAMPLE_SIZE) -> tuple[str, ...]:
    return tuple(str(k) for k in list(keys)[:size])
