"""Time as the service records and shows it: aware UTC, formatted as Django REST framework does."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """Django REST framework's datetime format, so clients parse it as before."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
