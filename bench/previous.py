"""The previous release's figures, measured in the same `make bench` run as this code's, with its own code and bench.

The release is a commit of this repository (`PREVIOUS_RELEASE`: the last one before issue 22's lean records, whose
records tests/integration/test_previous_release_records.py reads). Its files are taken with `git archive` into a
scratch folder, and its own `bench.fanout`, `bench.record_size` and `bench.cost` run there in a process of their own
(its `layers/common` and `src` on the path, this virtualenv's packages), against this code's moto: the fan-out at
N = 100 and 1,000 to an instant and a 50 ms receiver, CPU per delivery counted around each warm dispatch (its bench
did not count it), and its cost per million from its own record sizes and cost model. Nothing else of this code runs
in that process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import services

ROOT = Path(__file__).resolve().parents[1]
PREVIOUS_RELEASE = "49fff1f"
TIMEOUT_SECONDS = 1800

# Runs in the release's folder, with its code and its bench. `service_rate` is wrapped to count the process's CPU around
# each dispatch; the first (cold) run of each size is left out, as its bench leaves it out of the rate.
_SCRIPT = """
import json, resource, sys
from bench import cost, fanout, record_size, services

spent = []
service_rate = fanout.service_rate

def counted(dispatcher, event_type):
    before = resource.getrusage(resource.RUSAGE_SELF)
    answer = service_rate(dispatcher, event_type)
    after = resource.getrusage(resource.RUSAGE_SELF)
    spent.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return answer

fanout.service_rate = counted
sizes, delays, repeats, moto_port = json.loads(sys.argv[1])
rows = []
with services.receiver(0) as instant, services.receiver(50) as slow:
    endpoint = f"http://127.0.0.1:{moto_port}"
    fanout.use_endpoint(endpoint)
    for n in sizes:
        for delay in delays:
            spent.clear()
            row = fanout.measure(endpoint, {0: instant, 50: slow}[delay], n, delay, repeats, lambda _: None)
            row["cpu_ms"] = fanout.summary([seconds * 1000 / n for seconds in spent[1:]])
            rows.append(row)
record = record_size.median_row(record_size.measure_record_sizes())
shapes = cost.costs(rows, record)
print(json.dumps({"fanout": rows, "record": record, "cost": [{k: s[k] for k in ("hooks", "total")} for s in shapes]}))
"""


def extract(release: str, folder: Path) -> None:
    """The release's files, from git history, into `folder` (CalledProcessError: a clone without it, a shallow one)."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", release], check=True, capture_output=True, timeout=60
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True, timeout=60)


def measure_previous(
    sizes: list[int], repeats: int, release: str = PREVIOUS_RELEASE, delays: tuple[int, ...] = (0, 50)
) -> dict[str, Any]:
    """The release's fan-out rows (deliveries/s, CPU ms per delivery), record and cost per million, measured now; an
    `error` instead when they cannot be (a shallow clone without the release, its run failing)."""
    try:
        return _measure(sizes, repeats, release, delays)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as failed:
        why = failed.stderr.decode() if isinstance(failed.stderr, bytes) else str(failed.stderr or failed)
        return {"release": release, "error": why.strip().splitlines()[-1] if why.strip() else str(failed)}


def _measure(sizes: list[int], repeats: int, release: str, delays: tuple[int, ...]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="previous-release-") as scratch:
        folder = Path(scratch)
        extract(release, folder)
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", release], check=True, capture_output=True, text=True
        ).stdout.strip()
        path = os.pathsep.join(str(folder / part) for part in ("layers/common", "src", "."))
        with services.moto() as moto_port:  # this code's moto, as this run's figures are measured against
            answer = subprocess.run(
                [sys.executable, "-c", _SCRIPT, json.dumps([sizes, list(delays), repeats, moto_port])],
                cwd=folder,
                env={**os.environ, "PYTHONPATH": path},
                check=True,
                capture_output=True,
                text=True,
                timeout=TIMEOUT_SECONDS,
            )
    return {"release": commit, **json.loads(answer.stdout.strip().splitlines()[-1])}


def render(previous: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Side by side: the release and this code, each row measured in this run."""
    lines = ["## 9. The previous release, measured in this run", ""]
    if "error" in previous:
        return [*lines, f"Not measured: the release at {previous['release']} did not run ({previous['error']}).", ""]
    now = {(row["n"], row["delay_ms"]): row for row in current["fanout"]}
    lines += [
        f"The release at {previous['release']} (before lean records), its own code and bench run by",
        "`bench/previous.py` in a process of its own, beside this run's figures: the fan-out to one receiver (section",
        "1's shape), CPU per delivery in the dispatcher's process around each warm dispatch, and its cost per million",
        "from its own record and cost model.",
        "",
        "| | previous: deliveries/s | this code | previous: CPU ms per delivery | this code |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in previous["fanout"]:
        mine = now.get((row["n"], row["delay_ms"]))
        if mine is None:
            continue
        lines.append(
            f"| N = {row['n']:,}, {row['delay_ms']:g} ms | {row['service']['median']:,.0f} | "
            f"{mine['service']['median']:,.0f} | {row['cpu_ms']['median']:.3f} | {mine['cpu_ms']['median']:.3f} |"
        )
    record = previous["record"]
    lines += [
        "",
        f"Its median record: {record['record_bytes']:,} bytes, {record['write_units']} write units with its index "
        "entries.",
        "Its cost per million deliveries, paid once: "
        + ", ".join(f"${shape['total']:.2f} at {shape['hooks']:,} hooks per event" for shape in previous["cost"])
        + " (this code's: section 5).",
        "",
    ]
    return lines


if __name__ == "__main__":
    print(json.dumps(measure_previous([100, 1000], repeats=2), indent=2))
