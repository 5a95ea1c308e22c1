"""Text values read as Django's form fields read them, so whisperer's query filters and form bodies mean the same here.

Each reader takes the text a client sent and returns the value, or raises ValueError with Django's message.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from oms_webhooks.domain.deliveries import uuid_hex

INVALID_DATETIME = "Enter a valid date/time."
INVALID_NUMBER = "Enter a number."
INVALID_UUID = "Enter a valid UUID."
INVALID_BOOLEAN = "Must be a valid boolean."

# Django's parse_datetime (after datetime.fromisoformat): one-digit fields, a comma before the fraction, a space
# before the zone.
_DJANGO_DATETIME = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})[T ](?P<hour>\d{1,2}):(?P<minute>\d{1,2})"
    r"(?::(?P<second>\d{1,2})(?:[.,](?P<microsecond>\d{1,6})\d{0,6})?)?"
    r"\s*(?P<tzinfo>Z|[+-]\d{2}(?::?\d{2})?)?$",
    re.ASCII,
)
# Django's DATETIME_INPUT_FORMATS, then its DATE_INPUT_FORMATS (forms.DateTimeField tries both, in this order).
_INPUT_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%d %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M:%S.%f",
    "%m/%d/%Y %H:%M",
    "%m/%d/%y %H:%M:%S",
    "%m/%d/%y %H:%M:%S.%f",
    "%m/%d/%y %H:%M",
    "%Y-%m-%d",
    "%m/%d/%Y",
    "%m/%d/%y",
    "%b %d %Y",
    "%b %d, %Y",
    "%d %b %Y",
    "%d %b, %Y",
    "%B %d %Y",
    "%B %d, %Y",
    "%d %B %Y",
    "%d %B, %Y",
)
_TRUE = frozenset({"true", "1", "yes", "on", "t", "y"})
_FALSE = frozenset({"false", "0", "no", "off", "f", "n"})


def datetime_value(text: str) -> datetime:
    """forms.DateTimeField: ISO 8601 or one of Django's input formats; without a zone, UTC (USE_TZ, TIME_ZONE UTC)."""
    value = text.strip()
    moment = _iso(value) or _django_iso(value) or _input_format(value)
    if moment is None:
        raise ValueError(INVALID_DATETIME)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def integer_value(text: str) -> int:
    """django-filter's NumberFilter (a DecimalField) on an integer column: a finite number, its integer part."""
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(INVALID_NUMBER) from None
    if not number.is_finite():
        raise ValueError(INVALID_NUMBER)
    if number.adjusted() > 30:  # no column holds it; int() of 1e999999999 would take minutes
        return 10**31 if number > 0 else -(10**31)
    return int(number)


def uuid_value(text: str) -> str:
    """forms.UUIDField: any form `uuid.UUID` reads (dashed, 32 hex, braces, urn:uuid:); the 32-hex form back."""
    try:
        return uuid_hex(text)
    except ValueError:
        raise ValueError(INVALID_UUID) from None


def boolean_value(text: str) -> bool:
    """Django REST framework's BooleanField words, in any case."""
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(INVALID_BOOLEAN)


def _iso(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _django_iso(value: str) -> datetime | None:
    found = _DJANGO_DATETIME.match(value)
    if not found:
        return None
    parts = found.groupdict()
    zone, fraction = parts["tzinfo"], parts["microsecond"]
    year, month, day, hour, minute = (int(parts[name]) for name in ("year", "month", "day", "hour", "minute"))
    try:
        moment = datetime(
            year, month, day, hour, minute, int(parts["second"] or 0), int(fraction.ljust(6, "0")) if fraction else 0
        )
        if zone:
            return datetime.fromisoformat(f"{moment.isoformat()}{'+00:00' if zone == 'Z' else zone}")
    except ValueError:
        return None
    return moment


def _input_format(value: str) -> datetime | None:
    for form in _INPUT_FORMATS:
        try:
            return datetime.strptime(value, form)
        except ValueError:
            continue
    return None
