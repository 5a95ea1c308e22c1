"""Text kept compressed in a binary attribute: a version byte naming a preset dictionary, then raw DEFLATE (zlib).

A preset dictionary holds what every text of its kind repeats (a delivery's detail: its JSON keys, the headers this
service sends), so even a short text compresses: a delivery's detail to about two fifths. A dictionary, once used,
is never changed; a new one takes a new version byte.
"""

from __future__ import annotations

import zlib

PLAIN = 0  # no preset dictionary: an event's payload
DETAIL = 1  # a delivery's detail (delivery_items.py)

_DICTIONARIES: dict[int, bytes] = {
    PLAIN: b"",
    DETAIL: (
        b'{"target_url":"https://","modified_date":17,"attempts":[{"at":17,"status_code":200,"error":"HTTP 500",'
        b'"duration":,"manual":true,"request_headers":{"Content-Type":"application/json",'
        b'"User-Agent":"OMS-Webhooks/1.0 (whisperer-compatible)","X-Whisperer-Event":"","Authorization":'
        b'"Basic [redacted]","X-Whisperer-Signature":"sha256=","webhook-id":"","webhook-timestamp":"17",'
        b'"webhook-signature":"v1,"}}],"response_content":"","response_time":,"retry_count":,"deferrals":'
        b'[{"at":17,"until":17,"reason":""}],"deferral_count":,"payload_claim":"","request_payload":'
    ),
}


def compress(text: str, version: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15, 8, zdict=_DICTIONARIES[version])
    return bytes([version]) + packer.compress(text.encode()) + packer.flush()


def decompress(data: bytes) -> str:
    unpacker = zlib.decompressobj(-15, zdict=_DICTIONARIES[data[0]])
    return (unpacker.decompress(data[1:]) + unpacker.flush()).decode()
