"""The `oms-webhooks` CLI as people and scripts run it: the real console script against the local stack."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from oms_webhooks.adapters.tokens import TokenStore, token_hash
from oms_webhooks_cli.api_client import ApiClient
from oms_webhooks_cli.endpoint import Target
from tests.e2e.conftest import CLI, LocalStackProcess
from tests.receiver import Answer, Receiver

RETRY_NEVER = '{"choice":"fixed","kwargs":{"seconds":60},"max_retries":0}'  # a failed first attempt ends it


class Owner:
    """An owner with its own token, running CLI commands with it."""

    def __init__(self, stack: LocalStackProcess) -> None:
        self.stack = stack
        self.name = f"cli-{uuid.uuid4().hex[:10]}"
        self.token = stack.token(self.name)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.stack.cli(*args, "--token", self.token, check=False)

    def ok(self, *args: str) -> str:
        done = self.cli(*args)
        assert done.returncode == 0, f"{args} exited {done.returncode}: {done.stderr}"
        return done.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json"))

    def create_hook(self, url: str, *extra: str) -> dict[str, Any]:
        return dict(self.json("hooks", "create", "--event-type", "package.created", "--target-url", url, *extra))

    def wait_for_delivery(self, hook_id: int, done: Callable[[dict[str, Any]], bool], timeout: float = 60) -> Any:
        """Polls `deliveries list` until the hook's newest delivery is done; bounded by time."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.json("deliveries", "list", "--webhook", str(hook_id))
            if found and done(found[0]):
                return found[0]
            assert time.monotonic() < deadline, f"no finished delivery for hook {hook_id} in {timeout} s: {found}"
            time.sleep(0.2)


@pytest.fixture
def owner(local_stack: LocalStackProcess) -> Iterator[Owner]:
    owner = Owner(local_stack)
    yield owner
    headers = {"Authorization": f"Token {owner.token}"}  # hooks go, so later events don't reach dead receivers
    for hook in requests.get(f"{local_stack.api_url}/whisperer/hooks/", headers=headers, timeout=10).json()["results"]:
        requests.delete(f"{local_stack.api_url}/whisperer/hooks/{hook['id']}/", headers=headers, timeout=10)


def test_token_create_list_revoke(local_stack: LocalStackProcess) -> None:
    name = f"cli-{uuid.uuid4().hex[:10]}"
    created = json.loads(local_stack.cli("token", "create", "--owner", name, "--label", "ci", "--json").stdout)
    token, prefix = created["token"], created["token_hash_prefix"]
    assert len(prefix) == 12 and created["owner"] == name
    second = local_stack.cli("token", "create", "--owner", name).stdout.strip()  # the token alone
    assert len(second) == 40 and "\n" not in second

    listing = local_stack.cli("token", "list", "--owner", name).stdout
    lines = listing.splitlines()
    assert lines[0].split() == ["HASH", "OWNER", "LABEL", "CREATED"]
    assert len(lines) == 3
    assert any(line.startswith(prefix) and name in line and " ci " in line for line in lines)
    assert token not in listing and second not in listing
    listed = json.loads(local_stack.cli("token", "list", "--owner", name, "--json").stdout)
    assert listed[0]["token_hash_prefix"] == prefix
    assert all(set(t) == {"token_hash_prefix", "owner", "label", "created_date"} for t in listed)
    assert prefix in local_stack.cli("token", "list").stdout  # every owner's (the operator's Scan)

    hooks = ["hooks", "list", "--json", "--token"]
    assert local_stack.cli(*hooks, token).returncode == 0
    wrong_owner = local_stack.cli("token", "revoke", prefix, "--owner", "someone-else", check=False)
    assert wrong_owner.returncode == 1 and "no token" in wrong_owner.stderr
    revoked = local_stack.cli("token", "revoke", prefix)  # by the hash prefix that `list` shows
    assert f"revoked token {prefix} of {name}" in revoked.stdout
    refused = local_stack.cli(*hooks, token, check=False)  # the local gateway caches no authorizer answers
    assert refused.returncode == 1 and "401" in refused.stderr and refused.stdout == ""

    assert local_stack.cli(*hooks, second).returncode == 0
    by_token = json.loads(local_stack.cli("token", "revoke", second, "--json").stdout)  # by the token itself
    assert by_token["revoked"]["owner"] == name and "token" not in by_token["revoked"]
    assert local_stack.cli(*hooks, second, check=False).returncode == 1
    assert local_stack.cli("token", "list", "--owner", name, "--json").stdout.strip() == "[]"
    again = local_stack.cli("token", "revoke", second, check=False)
    assert again.returncode == 1 and "no token" in again.stderr


def test_hooks_create_list_show_delete(owner: Owner, receiver: Receiver) -> None:
    url = receiver.url("/hooks")
    hook = owner.create_hook(
        url,
        "--secret-key",
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "--retry-config",
        '{"choice":"exponential","kwargs":{"base":2,"factor":3,"limit":600}}',
        "--header",
        "X-Shop=istanbul-01",
        "--header",
        "X-Team=a=b",
    )
    assert hook["event_type"] == "package.created" and hook["target_url"] == url
    assert hook["secret_key_set"] is True and "secret_key" not in hook
    assert hook["additional_headers"] == {"X-Shop": "istanbul-01", "X-Team": "a=b"}
    hook_id = str(hook["id"])
    inactive = owner.ok("hooks", "create", "--event-type", "shipment-created", "--target-url", url, "--inactive")
    assert "is_active:" in inactive and "no" in inactive.split("is_active:")[1].splitlines()[0]

    table = owner.ok("hooks", "list").splitlines()
    assert table[0].split()[:3] == ["ID", "EVENT", "TYPE"]
    assert len(table) == 3
    row = next(line for line in table if line.startswith(hook_id + " "))
    assert "package.created" in row and url in row and "exponential(base=2,factor=3,limit=600)" in row
    assert table[1].index(url) == table[2].index(url) == table[0].index("TARGET URL")  # aligned columns
    assert [h["id"] for h in owner.json("hooks", "list", "--inactive")] == [
        h["id"] for h in owner.json("hooks", "list") if not h["is_active"]
    ]
    assert len(owner.json("hooks", "list", "--event-type", "shipment.created")) == 1
    assert len(owner.json("hooks", "list", "--limit", "1")) == 1

    assert owner.json("hooks", "show", hook_id) == hook
    shown = owner.ok("hooks", "show", hook_id)
    assert f"target_url:              {url}" in shown and "secret_key_set:          yes" in shown

    duplicate = owner.cli("hooks", "create", "--event-type", "package.created", "--target-url", url)
    assert duplicate.returncode == 1 and "Webhook already registered (webhook_100_2)" in duplicate.stderr
    invalid = owner.cli(
        "hooks",
        "create",
        "--event-type",
        "package.created",
        "--target-url",
        url + "2",
        "--retry-config",
        '{"choice":"x"}',
    )
    assert invalid.returncode == 1
    assert 'HTTP 400: retry_countdown_config.choice: "x" is not a valid choice.' in invalid.stderr

    assert owner.ok("hooks", "delete", hook_id).strip() == f"deleted hook {hook_id}"
    assert owner.json("hooks", "show", hook_id)["is_active"] is False  # soft, as in whisperer
    assert owner.cli("hooks", "delete", hook_id).returncode == 0


def test_published_event_shows_in_deliveries_list_show_and_tail(owner: Owner, receiver: Receiver) -> None:
    hook = owner.create_hook(receiver.script("/ok", Answer(200, b"thanks")))
    published = json.loads(owner.stack.cli("publish", "package.created", "--payload", '{"id": 71}', "--json").stdout)
    assert published["event_type"] == "package.created" and published["event_id"]
    delivery = owner.wait_for_delivery(hook["id"], lambda d: d["delivered"])
    uid = delivery["uuid"]
    assert delivery["request_payload"]["payload"] == {"id": 71}

    table = owner.ok("deliveries", "list", "--webhook", str(hook["id"])).splitlines()
    assert table[0].split() == ["UUID", "HOOK", "EVENT", "TYPE", "STATUS", "HTTP", "ATTEMPTS", "CREATED"]
    assert table[1].split()[:6] == [uid, str(hook["id"]), "package.created", "delivered", "200", "1"]
    assert [d["uuid"] for d in owner.json("deliveries", "list", "--delivered", "--status-code", "200")][:1] == [uid]
    assert owner.json("deliveries", "list", "--failed", "--webhook", str(hook["id"])) == []
    assert owner.json("deliveries", "list", "--since", "2999-01-01T00:00:00Z") == []
    assert [d["uuid"] for d in owner.json("deliveries", "list", "--since", delivery["created_date"])] == [uid]

    assert owner.json("deliveries", "show", uid)["attempts"][0]["status_code"] == 200
    shown = owner.ok("deliveries", "show", uid)
    assert "status:                delivered" in shown and '"payload":{"id":71}' in shown
    assert any(
        line.split()[:4] == ["1", delivery["request_datetimes"][0], "HTTP", "200"] for line in shown.splitlines()
    )

    tail = owner.ok("deliveries", "tail").splitlines()
    assert len(tail) == 1 and uid in tail[0] and "HTTP 200" in tail[0] and "#1" in tail[0]
    lines = owner.ok("deliveries", "tail", "--json", "-n", "5").splitlines()
    assert [json.loads(line)["uuid"] for line in lines] == [uid]
    assert json.loads(lines[0])["attempt"] == 1 and json.loads(lines[0])["delivery_status"] == "delivered"


def test_tail_follow_prints_attempts_as_they_happen(owner: Owner, receiver: Receiver) -> None:
    hook = owner.create_hook(receiver.script("/live", Answer(200, b"ok")))
    owner.stack.cli("publish", "package.created", "--payload", '{"id": 1}')
    first = owner.wait_for_delivery(hook["id"], lambda d: d["delivered"])

    command = [CLI, "deliveries", "tail", "--follow", "-n", "1", "--interval", "0.3", "--token", owner.token]
    process = subprocess.Popen(command, env=owner.stack.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = read_lines(process)
    try:
        assert first["uuid"] in lines.get(timeout=60)  # the latest attempt first: it has taken its baseline
        owner.stack.cli("publish", "package.created", "--payload", '{"id": 2}')
        second = owner.wait_for_delivery(hook["id"], lambda d: d["uuid"] != first["uuid"] and d["delivered"])
        line = lines.get(timeout=60)
        assert second["uuid"] in line and "HTTP 200" in line and "#1" in line
        time.sleep(1)  # a few more polls: nothing is printed twice
        assert lines.empty()
        assert process.poll() is None  # still following
    finally:
        process.terminate()
        process.wait(timeout=10)


def read_lines(process: subprocess.Popen[str]) -> queue.Queue[str]:
    """The process's stdout lines as they come, so the test can wait for each with a timeout."""
    lines: queue.Queue[str] = queue.Queue()
    stream = process.stdout
    assert stream is not None

    def pump() -> None:
        for line in stream:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def test_retry_a_failed_delivery(owner: Owner, receiver: Receiver) -> None:
    url = receiver.script("/flaky", Answer(500, b"down"), Answer(503, b"still down"), Answer(200, b"thanks"))
    hook = owner.create_hook(url, "--retry-config", RETRY_NEVER)
    owner.stack.cli("publish", "package.created", "--payload", '{"id": 5}')
    failed = owner.wait_for_delivery(hook["id"], lambda d: d["status"] == "failed")
    uid = failed["uuid"]
    assert [d["uuid"] for d in owner.json("deliveries", "list", "--failed", "--status-code", "500")] == [uid]

    not_yet = owner.cli("deliveries", "retry", uid)
    assert not_yet.returncode == 1 and not_yet.stdout.startswith("not delivered: HTTP 503 in ")
    assert "still down" in not_yet.stdout
    retried = owner.cli("deliveries", "retry", uid, "--json")
    assert retried.returncode == 0, retried.stderr
    assert json.loads(retried.stdout) == {**json.loads(retried.stdout), "delivered": True, "response_status": 200}

    delivery = owner.json("deliveries", "show", uid)
    assert delivery["status"] == "delivered"
    assert [(a["status_code"], a["manual"]) for a in delivery["attempts"]] == [(500, False), (503, True), (200, True)]
    assert len(receiver.received["/flaky"]) == 3
    again = owner.cli("deliveries", "retry", uid)
    assert again.returncode == 1 and "event_100_3" in again.stderr and again.stdout == ""


def test_an_ordered_hooks_failed_delivery_retried_by_hand_is_queued_behind_its_object(
    owner: Owner, receiver: Receiver
) -> None:
    url = receiver.script("/ordered-cli", Answer(500, b"down"), Answer(200, b"thanks"))
    hook = owner.create_hook(url, "--retry-config", RETRY_NEVER, "--ordering", "object")
    assert hook["ordering"] == "object"
    owner.stack.cli("publish", "package.created", "--payload", '{"id": 6}')
    uid = owner.wait_for_delivery(hook["id"], lambda d: d["status"] == "failed")["uuid"]
    queued = owner.cli("deliveries", "retry", uid)
    assert queued.returncode == 0 and queued.stdout.strip() == "queued behind the earlier deliveries of its object"
    assert owner.wait_for_delivery(hook["id"], lambda d: d["status"] == "delivered")["uuid"] == uid
    assert len(receiver.received["/ordered-cli"]) == 2


def test_errors_are_one_line_on_stderr_with_exit_1(owner: Owner, tmp_path: Path) -> None:
    bad = owner.stack.cli("hooks", "list", "--token", "not-a-token", check=False)
    assert bad.returncode == 1 and bad.stdout == ""
    assert bad.stderr.strip() == (
        "oms-webhooks: the API refused the token (HTTP 401): it is missing, invalid or revoked; "
        "pass --token or set OMS_WEBHOOKS_TOKEN"
    )
    env = {k: v for k, v in owner.stack.env.items() if k != "OMS_WEBHOOKS_TOKEN"}
    missing = subprocess.run([CLI, "hooks", "list"], env=env, capture_output=True, text=True, timeout=60)
    assert missing.returncode == 1 and "no API token: pass --token or set OMS_WEBHOOKS_TOKEN" in missing.stderr
    from_env = subprocess.run(
        [CLI, "hooks", "list", "--json"],
        env={**env, "OMS_WEBHOOKS_TOKEN": owner.token},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert from_env.returncode == 0 and json.loads(from_env.stdout) == []

    for args, message in [
        (["hooks", "show", "987654"], "no hook 987654 for this token's owner (HTTP 404)"),
        (["hooks", "delete", "987654"], "no hook 987654 for this token's owner (HTTP 404)"),
        (["deliveries", "show", "f" * 32], f"no delivery {'f' * 32} for this token's owner (HTTP 404)"),
        (["deliveries", "retry", "f" * 32], "(HTTP 404)"),
        (["hooks", "create", "--event-type", "nope", "--target-url", "http://x.test/"], "HTTP 400: event_type"),
        (["hooks", "create", "--event-type", "package.created", "--target-url", "u", "--retry-config", "{"], "JSON"),
        (["hooks", "create", "--event-type", "package.created", "--target-url", "u", "--header", "X"], "NAME=VALUE"),
        (["deliveries", "list", "--since", "yesterday"], "HTTP 400: created_date__gte"),
    ]:
        done = owner.cli(*args, "--json")
        assert done.returncode == 1, (args, done.stdout, done.stderr)
        assert done.stdout == "" and message in done.stderr and len(done.stderr.strip().splitlines()) == 1, (args, done)

    nowhere = {**env, "OMS_WEBHOOKS_HOME": str(tmp_path)}
    no_stack = subprocess.run([CLI, "hooks", "list", "--token", "t"], env=nowhere, capture_output=True, text=True)
    assert no_stack.returncode == 1 and "no local stack is running" in no_stack.stderr and "make run" in no_stack.stderr
    no_stack = subprocess.run([CLI, "token", "list"], env=nowhere, capture_output=True, text=True, timeout=60)
    assert no_stack.returncode == 1 and "make run" in no_stack.stderr
    closed = owner.cli("hooks", "list", "--api-url", "http://127.0.0.1:9/")
    assert closed.returncode == 1 and "cannot reach the API at http://127.0.0.1:9/" in closed.stderr


def test_api_client_follows_next_pages(owner: Owner, receiver: Receiver) -> None:
    for i in range(5):
        owner.create_hook(receiver.url(f"/page/{i}"))
    client = ApiClient(owner.stack.api_url, owner.token, page_size=2)
    assert [h["target_url"] for h in client.list_hooks({}, limit=4)] == [receiver.url(f"/page/{i}") for i in range(4)]
    everything = client.list_hooks({"event_type": "package.created"}, limit=100)
    assert len({h["id"] for h in everything}) == 5


def test_api_url_overrides_the_stack(owner: Owner) -> None:
    env = {**owner.stack.env, "OMS_WEBHOOKS_HOME": "/nonexistent"}  # no state file: only --api-url says where
    done = subprocess.run(
        [CLI, "hooks", "list", "--json", "--token", owner.token, "--api-url", owner.stack.api_url + "/"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


def test_token_store_lists_an_owner_with_a_query(local_stack: LocalStackProcess) -> None:
    """Per owner, listing and revoking by prefix are Queries on `ByOwner`; only listing every owner Scans."""
    client = Target({}, local_stack.aws_endpoint).client("dynamodb")
    operations: list[str] = []
    client.meta.events.register("before-call.dynamodb", lambda model, **_: operations.append(model.name))
    store = TokenStore(local_stack.outputs["TokensTableName"], client=client)
    name = f"cli-{uuid.uuid4().hex[:10]}"
    tokens = [store.create(name, f"label-{i}") for i in range(3)]
    operations.clear()

    listed = store.list(name)
    assert [info.label for info in listed] == ["label-0", "label-1", "label-2"]
    assert {info.token_hash for info in listed} == {token_hash(t) for t in tokens}
    assert store.revoke(listed[1].hash_prefix, owner=name).label == "label-1"
    assert store.revoke(tokens[0]).label == "label-0"
    assert store.revoke(token_hash(tokens[2]).upper()).label == "label-2"  # a whole hash, in any case
    assert set(operations) == {"Query", "DeleteItem"}  # no Scan
    assert store.list(name) == []
    with pytest.raises(ValueError, match="at least 12"):
        store.revoke("abc")
    with pytest.raises(LookupError):
        store.revoke(tokens[0])
