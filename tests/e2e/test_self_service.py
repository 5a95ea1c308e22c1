"""The self-service API end to end on `oms-webhooks local`, with real receivers: a secret rotated under subscribers
that verify with the official `standardwebhooks` package, recovery after an outage, and the CLI commands."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.e2e.conftest import Client, LocalStackProcess
from tests.receiver import Receiver

pytestmark = pytest.mark.e2e

EVENT_TYPE = "transfer.status.transitioned"  # no other end-to-end test publishes it
OLD = "whsec_" + base64.b64encode(b"the secret before rotation").decode()
NEW = "whsec_" + base64.b64encode(b"the secret after rotation!").decode()
NO_RETRIES = {"choice": "fixed", "kwargs": {"seconds": 1}, "max_retries": 0}


class VerifyingSubscriber:
    """A subscriber as an integrator writes one: `standardwebhooks.Webhook(secret).verify`, 204 if it verifies,
    else 401. Records each delivery uuid with whether it verified."""

    def __init__(self, secret: str) -> None:
        self.webhook = Webhook(secret)
        self.verdicts: list[tuple[str, bool]] = []
        self.changed = threading.Condition()
        subscriber = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    subscriber.webhook.verify(body, dict(self.headers.items()))
                    verified = True
                except WebhookVerificationError:
                    verified = False
                with subscriber.changed:
                    subscriber.verdicts.append((json.loads(body)["event"]["uuid"], verified))
                    subscriber.changed.notify_all()
                self.send_response(204 if verified else 401)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def wait_for(self, count: int, timeout: float = 15.0) -> list[tuple[str, bool]]:
        deadline = time.monotonic() + timeout
        with self.changed:
            while len(self.verdicts) < count and (left := deadline - time.monotonic()) > 0:
                self.changed.wait(left)
            return list(self.verdicts)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def subscribers() -> Iterator[dict[str, VerifyingSubscriber]]:
    made = {"new": VerifyingSubscriber(NEW), "old": VerifyingSubscriber(OLD)}
    yield made
    for subscriber in made.values():
        subscriber.stop()


def test_subscribers_verify_with_the_new_secret_always_and_the_old_one_during_the_overlap_only(
    client: Client, subscribers: dict[str, VerifyingSubscriber]
) -> None:
    hooks = {
        name: client.subscribe(s.url, EVENT_TYPE, secret_key=OLD, retry_countdown_config=NO_RETRIES)
        for name, s in subscribers.items()
    }
    overlap = 4  # seconds: short, so the test sees it end
    for hook in hooks.values():
        answer = client.http.post(
            client.url(f"hooks/{hook['id']}/rotate_secret/"), json={"secret_key": NEW, "overlap_seconds": overlap}
        )
        assert answer.status_code == 200, answer.text
        assert "secret_key" not in answer.json()  # chosen by the client: never echoed
    expires = datetime.fromisoformat(answer.json()["previous_secret_expires_at"].replace("Z", "+00:00"))

    client.publish(EVENT_TYPE, {"id": 1, "number": "during"})
    during = {name: s.wait_for(1) for name, s in subscribers.items()}
    assert datetime.now(UTC) < expires, "the overlap ended before the event arrived; the test machine is too slow"
    assert [ok for _, ok in during["new"]] == [True]
    assert [ok for _, ok in during["old"]] == [True]
    for hook in hooks.values():
        assert client.wait_for_delivery(hook["id"], lambda d: d["status"] != "pending")["delivered"] is True

    while datetime.now(UTC) <= expires + timedelta(milliseconds=200):
        time.sleep(0.1)  # the overlap is time itself: there is nothing else to poll
    client.publish(EVENT_TYPE, {"id": 2, "number": "after"})
    after = {name: s.wait_for(2) for name, s in subscribers.items()}
    assert [ok for _, ok in after["new"]] == [True, True]
    assert [ok for _, ok in after["old"]] == [True, False]
    old_log = client.wait_for_delivery(hooks["old"]["id"], lambda d: d["status"] == "failed")
    assert old_log["response_http_status"] == 401
    assert client.wait_for_delivery(hooks["new"]["id"], lambda d: d["status"] == "delivered")["delivered"]


def test_recover_after_an_outage_delivers_each_failed_delivery_exactly_once_more(client: Client) -> None:
    down = Receiver()
    port = down.port
    down.stop()  # the subscriber's outage: connections to its port are refused
    hook = client.subscribe(
        f"http://127.0.0.1:{port}/back",
        EVENT_TYPE,
        retry_countdown_config={"choice": "fixed", "kwargs": {"seconds": 1}, "max_retries": 2},
    )
    started = datetime.now(UTC) - timedelta(seconds=1)
    for number in range(50):
        client.publish(EVENT_TYPE, {"id": number, "number": f"T{number}"})

    deadline = time.monotonic() + 60
    while True:
        found = client.deliveries(webhook=hook["id"], limit=100)
        if len(found) == 50 and all(d["status"] == "failed" for d in found):
            break
        assert time.monotonic() < deadline, f"{Counter(d['status'] for d in found)} of 50 after 60 s"
        time.sleep(0.5)
    assert all(len(d["attempts"]) == 3 for d in found)  # the first attempt and both retries, spent
    failed = {d["uuid"] for d in found}

    back = Receiver(port=port)
    try:
        recover = client.url(f"hooks/{hook['id']}/recover/")
        first = client.http.post(recover, json={"since": started.isoformat()})
        assert first.status_code == 202, first.text
        assert first.json()["queued"] == 50
        again = client.http.post(recover, json={"since": started.isoformat()})
        assert again.json()["queued"] == 0  # the first call's deliveries are still queued or on their way

        requests = back.wait_for("/back", 50, timeout=60)
        counted = Counter(json.loads(r.body)["event"]["uuid"] for r in requests)
        assert set(counted) == failed and set(counted.values()) == {1}
        deadline = time.monotonic() + 30
        while not all(d["delivered"] for d in client.deliveries(webhook=hook["id"], limit=100)):
            assert time.monotonic() < deadline, "recovered deliveries were not all recorded as delivered"
            time.sleep(0.3)
        later = client.http.post(recover, json={"since": started.isoformat()})
        assert later.json()["queued"] == 0
        time.sleep(1)  # nothing more may come; an absence has no condition to poll
        assert len(back.received["/back"]) == 50
    finally:
        back.stop()


def test_the_cli_rotates_tests_recovers_and_shows_stats(local_stack: LocalStackProcess, client: Client) -> None:
    receiver = Receiver()
    try:
        url = receiver.url("/cli")
        hook = client.subscribe(url, EVENT_TYPE, secret_key=OLD, retry_countdown_config=NO_RETRIES)
        hook_id = str(hook["id"])

        def cli(*args: str) -> Any:
            done = local_stack.cli(*args, "--token", client.token, "--json", check=False)
            return done.returncode, json.loads(done.stdout) if done.stdout else None, done.stderr

        code, rotated, _ = cli("hooks", "rotate-secret", hook_id, "--overlap", "60")
        assert code == 0 and rotated["secret_key"].startswith("whsec_") and rotated["hook"]["id"] == hook["id"]
        code, tested, _ = cli("hooks", "test", hook_id)
        assert code == 0 and tested["test"] is True and tested["delivered"] is True
        [request] = receiver.wait_for("/cli", 1)
        Webhook(rotated["secret_key"]).verify(request.body, request.headers)
        Webhook(OLD).verify(request.body, request.headers)

        since = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
        code, recovered, _ = cli("hooks", "recover", hook_id, "--since", since)
        assert code == 0 and recovered["queued"] == 0  # nothing failed
        code, recovered, _ = cli("deliveries", "recover", "--since", since, "--event-type", EVENT_TYPE)
        assert code == 0 and recovered["queued"] == 0
        code, stats, _ = cli("hooks", "stats", hook_id, "--period", "7d")
        assert code == 0 and stats["period"] == "7d" and stats["bucket"] == "hour"
        code, _, error = cli("hooks", "stats", "999999999")
        assert code == 1 and "no hook 999999999" in error
        code, _, error = cli("hooks", "recover", hook_id, "--since", "yesterday")
        assert code == 1 and "since" in error

        text = local_stack.cli("hooks", "stats", hook_id, "--token", client.token, check=False)
        assert text.returncode == 0 and "success_rate" in text.stdout
        down = client.subscribe("http://127.0.0.1:9/cli-down", EVENT_TYPE)
        failed = local_stack.cli("hooks", "test", str(down["id"]), "--token", client.token, check=False)
        assert failed.returncode == 1 and failed.stdout.startswith("Not delivered: ")
    finally:
        receiver.stop()
