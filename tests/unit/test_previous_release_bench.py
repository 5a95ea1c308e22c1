"""bench/previous.py: the previous release's rows beside this run's, and a release that cannot run said, not a crash
at the end of a long `make bench`."""

from __future__ import annotations

from bench import previous


def _row(n: int, delay: int, rate: float, cpu: float) -> dict[str, object]:
    return {"n": n, "delay_ms": delay, "service": {"median": rate}, "cpu_ms": {"median": cpu}}


def test_the_release_and_this_code_are_side_by_side_row_by_row() -> None:
    release = {
        "release": "49fff1f",
        "fanout": [_row(1000, 0, 608.4, 0.7797), _row(1000, 50, 472.0, 0.9608)],
        "record": {"record_bytes": 1336, "write_units": 6},
        "cost": [{"hooks": 20, "total": 3.8908}, {"hooks": 1000, "total": 3.7928}],
    }
    current = {"fanout": [_row(1000, 0, 893.2, 0.595), _row(100, 0, 700.0, 0.7)]}
    text = "\n".join(previous.render(release, current))
    assert "| N = 1,000, 0 ms | 608 | 893 | 0.780 | 0.595 |" in text
    assert "50 ms" not in text  # measured for the release only: no row without this code's figure beside it
    assert "1,336 bytes, 6 write units" in text and "$3.89 at 20 hooks per event" in text


def test_a_release_that_is_not_in_the_clone_is_reported_not_raised() -> None:
    answer = previous.measure_previous([100], repeats=1, release="0000000000000000000000000000000000000000")
    assert set(answer) == {"release", "error"} and answer["error"]
    assert "Not measured" in "\n".join(previous.render(answer, {"fanout": []}))
