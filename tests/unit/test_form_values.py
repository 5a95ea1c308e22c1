"""Query and form values read as Django's form fields read them (whisperer's filters and retry bodies)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from form_values import boolean_value, datetime_value, integer_value, uuid_value

MIDNIGHT = datetime(2024, 5, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("2024-05-01", MIDNIGHT),
        ("  2024-05-01 ", MIDNIGHT),
        ("20240501", MIDNIGHT),
        ("2024-05-01 10:30", MIDNIGHT + timedelta(hours=10, minutes=30)),
        ("2024-05-01T10:30:05.25Z", MIDNIGHT + timedelta(hours=10, minutes=30, seconds=5.25)),
        ("2024-5-1 1:2:3,5", MIDNIGHT + timedelta(hours=1, minutes=2, seconds=3.5)),  # Django's own ISO pattern
        ("2024-05-01 13:00:00 +03:00", MIDNIGHT + timedelta(hours=10)),
        ("2024-05-01T13:00:00+0300", MIDNIGHT + timedelta(hours=10)),
        ("05/01/2024", MIDNIGHT),
        ("05/01/24 10:30", MIDNIGHT + timedelta(hours=10, minutes=30)),
        ("May 1 2024", MIDNIGHT),
        ("1 May, 2024", MIDNIGHT),
    ],
)
def test_datetimes_in_djangos_formats(text: str, moment: datetime) -> None:
    assert datetime_value(text) == moment


def test_a_zone_is_kept_and_none_is_utc() -> None:
    assert datetime_value("2024-05-01T03:00:00+03:00").utcoffset() == timedelta(hours=3)
    assert datetime_value("2024-05-01T03:00:00").tzinfo == UTC
    assert datetime_value("2024-05-01T03:00:00-05:00").tzinfo == timezone(timedelta(hours=-5))


@pytest.mark.parametrize("text", ["", "x", "yesterday", "2024-13-01", "2024-05-01T25:00", "1.5", "2024-05-01T10:00+25"])
def test_other_text_is_no_datetime(text: str) -> None:
    with pytest.raises(ValueError, match=r"^Enter a valid date/time\.$"):
        datetime_value(text)


@pytest.mark.parametrize(
    ("text", "number"), [("500", 500), (" 500 ", 500), ("500.0", 500), ("500.9", 500), ("5e2", 500)]
)
def test_numbers_as_djangos_number_filter_on_an_integer_column(text: str, number: int) -> None:
    assert integer_value(text) == number


def test_a_huge_number_is_read_at_once_and_matches_no_column() -> None:
    assert integer_value("1e999999999") > 10**30
    assert integer_value("-1e999999999") < -(10**30)


@pytest.mark.parametrize("text", ["x", "", "NaN", "Infinity", "-inf", "5,0", "0x1f"])
def test_other_text_is_no_number(text: str) -> None:
    with pytest.raises(ValueError, match=r"^Enter a number\.$"):
        integer_value(text)


def test_uuids_in_every_form_pythons_uuid_reads() -> None:
    hexed = "c9591f0d1c1d4da58ade880921bd7e93"
    for form in (hexed, hexed.upper(), "c9591f0d-1c1d-4da5-8ade-880921bd7e93", f"{{{hexed}}}", f"urn:uuid:{hexed}"):
        assert uuid_value(form) == hexed
    for bad in ("abc", hexed[:-1], hexed + "0", "g" * 32, "\u0661" * 32, "0" * 3000):
        with pytest.raises(ValueError, match=r"^Enter a valid UUID\.$"):
            uuid_value(bad)


def test_booleans_in_drfs_words() -> None:
    assert [boolean_value(t) for t in ("True", "true", "1", "yes", "on", "T")] == [True] * 6
    assert [boolean_value(t) for t in ("False", "false", "0", "no", "off", "F")] == [False] * 6
    for bad in ("maybe", "", "2", "truee"):
        with pytest.raises(ValueError, match=r"^Must be a valid boolean\.$"):
            boolean_value(bad)
