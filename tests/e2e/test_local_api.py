"""The curl walk-through of the README, over real HTTP against `oms-webhooks local`."""

from __future__ import annotations

import json
import re
import socket
import struct
import time
import uuid
from pathlib import Path

import requests

from tests.e2e.conftest import LocalStackProcess, start_local_stack, stop_local_stack
from tests.receiver import Answer, Receiver
from tests.route_walk import Walk

EVENTS = Path(__file__).resolve().parents[2] / "events"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Token {token}"}


def test_token_create_prints_the_token_alone(local_stack: LocalStackProcess) -> None:
    done = local_stack.cli("token", "create", "--owner", "acme")
    assert re.fullmatch(r"[0-9a-f]{40}\n", done.stdout)
    assert done.stderr == ""


def test_token_create_refuses_a_bad_owner_name(local_stack: LocalStackProcess) -> None:
    done = local_stack.cli("token", "create", "--owner", "#counter", check=False)
    assert done.returncode == 1
    assert "invalid owner" in done.stderr
    assert done.stdout == ""


def test_the_walkthrough(local_stack: LocalStackProcess, http: requests.Session) -> None:
    token = local_stack.token(f"shop-{uuid.uuid4().hex[:8]}")
    base = f"{local_stack.api_url}/whisperer/hooks/"
    hook = {"event_type": "package.created", "target_url": "http://127.0.0.1:8000/webhooks", "secret_key": "s"}

    created = http.post(base, json=hook, headers=auth(token))
    assert created.status_code == 201
    hook_id = created.json()["id"]

    listed = http.get(base, headers=auth(token))
    assert listed.status_code == 200
    assert [h["id"] for h in listed.json()["results"]] == [hook_id]
    assert listed.json()["next"] is None

    one = http.get(f"{base}{hook_id}/", headers=auth(token))
    assert one.status_code == 200 and one.json()["secret_key_set"] is True and "secret_key" not in one.json()
    assert http.get(f"{base}{hook_id}", headers=auth(token)).json() == one.json()

    patched = http.patch(f"{base}{hook_id}/", json={"is_active": False}, headers=auth(token))
    assert patched.status_code == 200 and patched.json()["is_active"] is False

    duplicate = http.post(base.rstrip("/"), json=hook, headers=auth(token))
    assert duplicate.status_code == 406
    assert duplicate.json() == {"code": "webhook_100_2", "en": "Webhook already registered"}

    bad = http.post(base, json={**hook, "retry_countdown_config": {"choice": "x"}}, headers=auth(token))
    assert bad.status_code == 400
    assert bad.json() == {"retry_countdown_config": {"choice": ['"x" is not a valid choice.']}}

    assert http.get(base).status_code == 401
    assert http.get(base, headers=auth("0" * 40)).status_code == 401

    stranger = local_stack.token(f"other-{uuid.uuid4().hex[:8]}")
    assert http.get(f"{base}{hook_id}/", headers=auth(stranger)).status_code == 404

    assert http.delete(f"{base}{hook_id}/", headers=auth(token)).status_code == 204
    assert http.get(f"{base}{hook_id}/", headers=auth(token)).json()["is_active"] is False  # soft, as in whisperer


def test_every_documented_route_answers_with_its_documented_status_and_schema(
    local_stack: LocalStackProcess, http: requests.Session, receiver: Receiver
) -> None:
    """The same walk runs against the deployed template (tests/deploy): both stacks answer every route alike."""
    token = local_stack.token(f"walker-{uuid.uuid4().hex[:8]}")
    visited = Walk(http, local_stack.api_url, token, receiver.script("/walk", Answer(500), Answer(200))).run()
    assert visited[("DELETE", "/whisperer/hooks/{hook_id}/")] == 204


def test_stack_logs_each_request(local_stack: LocalStackProcess, http: requests.Session) -> None:
    http.get(f"{local_stack.api_url}/whisperer/hooks/registry/")
    deadline = time.monotonic() + 30  # the line is written just after the answer is sent
    while "GET /whisperer/hooks/registry/ -> 401" not in (local_stack.home / "stack.log").read_text():
        assert time.monotonic() < deadline, "the request was not logged"
        time.sleep(0.1)


def test_a_client_that_goes_away_before_its_answer_is_one_log_line_not_a_traceback(
    local_stack: LocalStackProcess,
) -> None:
    """As a browser tab closed mid-fetch: the request sent, then the connection reset before the answer."""
    host, port = local_stack.api_url.removeprefix("http://").split(":")
    token = local_stack.token("goes-away")
    log = local_stack.home / "stack.log"
    before = log.read_text(errors="replace").count("went away before its answer")
    for _ in range(5):  # the reset lands while the request is read or while it is answered; either is covered
        with socket.create_connection((host, int(port)), timeout=5) as client:
            request = f"GET /whisperer/hooks/ HTTP/1.1\r\nHost: x\r\nAuthorization: Token {token}\r\n\r\n"
            client.sendall(request.encode())
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close() sends a reset
    deadline = time.monotonic() + 30
    while log.read_text(errors="replace").count("went away before its answer") == before:
        assert time.monotonic() < deadline, "no request of a client that went away was logged as such"
        time.sleep(0.1)
    assert "Traceback" not in log.read_text(errors="replace")  # the session's own check says the same at its end


def test_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    stack = start_local_stack(tmp_path)
    assert requests.get(f"{stack.api_url}/whisperer/hooks/", timeout=30).status_code == 401
    assert stop_local_stack(stack) == 0
    assert "Stopped." in (tmp_path / "stack.log").read_text()
    assert not (tmp_path / "local.json").exists()
    done = stack.cli("token", "create", "--owner", "acme", check=False)
    assert done.returncode == 1 and "no local stack is running" in done.stderr


def test_invoke_runs_a_function_on_an_event_file(local_stack: LocalStackProcess) -> None:
    done = local_stack.cli("invoke", "ApiFunction", "-e", str(EVENTS / "api" / "hooks-registry.json"))
    answer = json.loads(done.stdout)
    assert answer["statusCode"] == 200
    assert "package.created" in json.loads(answer["body"])

    refused = local_stack.cli(
        "invoke", "AuthorizerFunction", "-e", str(EVENTS / "authorizer" / "token-unknown.json"), check=False
    )
    assert refused.returncode == 1
    assert json.loads(refused.stdout)["errorMessage"] == "Unauthorized"

    unknown = local_stack.cli("invoke", "NoSuchFunction", "-e", str(EVENTS / "api" / "hooks-list.json"), check=False)
    assert unknown.returncode == 1 and "no function 'NoSuchFunction'" in unknown.stderr
