"""Compressed text: read back whole at every size, with and without a preset dictionary."""

from __future__ import annotations

import json
import random

import pytest

from oms_webhooks.adapters.compressed import DETAIL, PLAIN, compress, decompress


def _text(size: int) -> str:
    """JSON-like text of about `size` characters, repetitive as a delivery's detail is, with some non-ASCII."""
    chooser = random.Random(size)
    words = ["attempts", "status_code", "request_headers", "webhook-id", "ünïcode", "☃", "200", "sha256="]
    parts: list[str] = []
    while sum(map(len, parts)) < size:
        parts.append(json.dumps({chooser.choice(words): chooser.getrandbits(40)}, ensure_ascii=False))
    return "".join(parts)[:size]


@pytest.mark.parametrize("version", [PLAIN, DETAIL])
@pytest.mark.parametrize("size", [0, 1, 700, 4_200, 300_000])
def test_read_back_whole(version: int, size: int) -> None:
    text = _text(size)
    packed = compress(text, version)
    assert packed[0] == version
    assert decompress(packed) == text
    if size >= 700:
        assert len(packed) < len(text.encode()) / 2
