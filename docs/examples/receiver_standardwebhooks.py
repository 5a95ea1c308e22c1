"""A webhook receiver that verifies deliveries with the official Standard Webhooks library.

    pip install standardwebhooks
    WEBHOOK_SECRET='whsec_...' python receiver_standardwebhooks.py --port 8000

The library checks `webhook-signature` over "<webhook-id>.<webhook-timestamp>.<body>" and refuses a
`webhook-timestamp` more than 5 minutes away from the local clock.
"""

from __future__ import annotations

import argparse
import base64
import os
import sys
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

MAX_BODY_BYTES = 1024 * 1024


class InvalidDelivery(Exception):
    """The request is not a genuine delivery: answer 4xx, do not process it."""


def webhook_for(secret: str) -> Webhook:
    """The official verifier for a hook's secret_key.

    `Webhook(str)` always base64-decodes the secret (after an optional `whsec_`). The service keys a
    secret without that prefix by its UTF-8 bytes, so such a secret is wrapped as whsec_ + base64(bytes).
    """
    if not secret.startswith("whsec_"):
        secret = "whsec_" + base64.b64encode(secret.encode("utf-8")).decode("ascii")
    return Webhook(secret)


def verify(body: bytes, headers: Mapping[str, str], secret: str) -> Any:
    """Verify the raw body bytes against the headers; return the parsed delivery."""
    webhook = webhook_for(secret)  # a malformed whsec_ secret raises here: a configuration error, not a 4xx
    try:
        return webhook.verify(body, dict(headers))
    except (WebhookVerificationError, ValueError) as refused:  # ValueError: undecodable body or header
        raise InvalidDelivery(str(refused) or type(refused).__name__) from refused


class Seen:
    """Deliveries already accepted, by event.uuid (= webhook-id). In production: a unique key in your database."""

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
