"""What the commands print: aligned plain-text tables for people, JSON for scripts. Results go to stdout only."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any


def emit_json(value: Any) -> None:
    print(json.dumps(value, indent=2, default=str), flush=True)


def emit_json_line(value: Any) -> None:
    """One object per line (JSON Lines), for streams such as `deliveries tail --follow`."""
    print(json.dumps(value, default=str, separators=(",", ":")), flush=True)


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return " ".join(str(value).split())  # a cell stays on its line


def clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Columns left-aligned to their widest cell, two spaces apart; the last column is not padded."""
    cells = [[cell(v) for v in row] for row in rows]
    widths = [max([len(h), *(len(row[i]) for row in cells)]) for i, h in enumerate(headers)]
    lines = []
    for row in [list(headers), *cells]:
        padded = [value.ljust(width) for value, width in zip(row[:-1], widths[:-1], strict=True)]
        lines.append("  ".join([*padded, row[-1]]).rstrip())
    return "\n".join(lines)


def fields(pairs: Sequence[tuple[str, Any]]) -> str:
    """`name: value` lines with the values aligned, for one object."""
    width = max((len(name) for name, _ in pairs), default=0) + 1
    return "\n".join(f"{(name + ':').ljust(width)}  {cell(value)}" for name, value in pairs)


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], empty: str) -> None:
    """The table, or, when there are no rows, a note on stderr (stdout stays empty)."""
    if rows:
        print(table(headers, rows), flush=True)
    else:
        print(empty, file=sys.stderr)


def short_time(iso: str | None) -> str:
    """`2024-05-01T12:00:00.123456Z` as `2024-05-01 12:00:00Z`: to the second, still UTC."""
    if not iso:
        return "-"
    date, _, time = iso.partition("T")
    return f"{date} {time.split('.')[0].rstrip('Z')}Z" if time else iso
