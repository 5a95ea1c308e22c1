"""A webhook receiver that verifies deliveries with the standard library only (`hmac`, `hashlib`).

It checks both signatures the service sends, so either half can be lifted out on its own:

- `X-Whisperer-Signature: sha256=<hex HMAC-SHA256(secret, body)>` (whisperer-compatible; the body only);
- `webhook-signature: v1,<base64 HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<body>")>`
  (Standard Webhooks; also binds the delivery id and the time, so a captured request goes stale).

Run:  WEBHOOK_SECRET='whsec_...' python receiver_hmac.py --port 8000
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import hmac
import json
import os
import sys
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOLERANCE_SECONDS = 5 * 60  # how far webhook-timestamp may be from our clock, either way
MAX_BODY_BYTES = 1024 * 1024


class InvalidDelivery(Exception):
    """The request is not a genuine delivery: answer 4xx, do not process it."""


def standard_webhooks_key(secret: str) -> bytes:
    """A `whsec_` secret's key is its base64-decoded remainder; any other secret's key is its UTF-8 bytes."""
    if secret.startswith("whsec_"):
        return base64.b64decode(secret[len("whsec_") :] + "==")  # tolerant of missing padding, like the official lib
    return secret.encode("utf-8")


def verify_whisperer(body: bytes, headers: Mapping[str, str], secret: str) -> None:
    """Check `X-Whisperer-Signature`. It covers the body only: no timestamp, so dedupe on event.uuid."""
    received = _lowercase(headers).get("x-whisperer-signature", "")
    scheme, _, hex_digest = received.partition("=")
    try:
        received_digest = bytes.fromhex(hex_digest)
    except ValueError:
        raise InvalidDelivery("malformed X-Whisperer-Signature") from None
    expected_digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    if scheme != "sha256" or not hmac.compare_digest(expected_digest, received_digest):
        raise InvalidDelivery("X-Whisperer-Signature does not match")


def verify_standard(
    body: bytes,
    headers: Mapping[str, str],
    secret: str,
    now: float | None = None,
    tolerance: float = TOLERANCE_SECONDS,
) -> None:
    """Check `webhook-signature` (Standard Webhooks v1) and that `webhook-timestamp` is recent."""
    lowered = _lowercase(headers)
    msg_id = lowered.get("webhook-id", "")
    timestamp = lowered.get("webhook-timestamp", "")
    signatures = lowered.get("webhook-signature", "")
    if not (msg_id and timestamp and signatures):
        raise InvalidDelivery("missing webhook-id, webhook-timestamp or webhook-signature")
    if not (timestamp.isascii() and timestamp.isdigit()):
        raise InvalidDelivery("malformed webhook-timestamp")
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > tolerance:
        raise InvalidDelivery("webhook-timestamp is too old or too new")
    signed_content = f"{msg_id}.{timestamp}.".encode() + body
    expected = hmac.new(standard_webhooks_key(secret), signed_content, hashlib.sha256).digest()
    for versioned in signatures.split(" "):  # a space-separated list: Standard Webhooks allows several
        version, _, encoded = versioned.partition(",")
        if version != "v1":
            continue
        try:
            candidate = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            continue
        if hmac.compare_digest(expected, candidate):
            return
    raise InvalidDelivery("no webhook-signature matches")


def verify(body: bytes, headers: Mapping[str, str], secret: str, now: float | None = None) -> Any:
    """Verify both signatures over the raw body bytes, then (and only then) parse it."""
    verify_standard(body, headers, secret, now)
    verify_whisperer(body, headers, secret)
    try:
        return json.loads(body)
    except ValueError:
        raise InvalidDelivery("body is not JSON") from None


def _lowercase(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


class Seen:
    """Deliveries already accepted, by event.uuid. In production: a unique key in your database."""

    def __init__(self) -> None:
        self.uuids: set[str] = set()
        self.lock = threading.Lock()

    def add(self, uuid: str) -> bool:
        """True the first time a uuid is seen."""
        with self.lock:
            if uuid in self.uuids:
                return False
            self.uuids.add(uuid)
            return True


def make_handler(secret: str, seen: Seen) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = self.headers.get("Content-Length")
            if length is None or not length.isdigit():
                return self.answer(411, "Content-Length required")
            if int(length) > MAX_BODY_BYTES:
                return self.answer(413, "too large")
            body = self.rfile.read(int(length))  # the raw bytes: verify these, never a re-serialised copy
            try:
                delivery = verify(body, dict(self.headers.items()), secret)
                event = delivery["event"]
                event_type, uuid = str(event["type"]), str(event["uuid"])
            except InvalidDelivery as refused:
                return self.answer(401, str(refused))
            except (KeyError, TypeError):
                return self.answer(400, "not a delivery")
            if seen.add(uuid):
                # Answer first, work later: hand `delivery` to a queue or worker here.
                print(f"accepted {event_type} {uuid}", flush=True)
            else:
                print(f"duplicate {event_type} {uuid}", flush=True)  # already handled: still 2xx
            self.answer(200, "ok")

        def answer(self, status: int, text: str) -> None:
            content = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

    return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    args = parser.parse_args(argv)
    secret = os.environ.get("WEBHOOK_SECRET", "")
    if not secret:
        sys.exit("set WEBHOOK_SECRET to the hook's secret_key")
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(secret, Seen()))
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
