"""Every operation of the OpenAPI document called once, in an order that gives each one something to act on.

Run against the local stack (tests/e2e) and against the template deployed on MiniStack (tests/deploy): each answer
must carry the status the document gives as its success, with a body its schema describes, so both stacks answer
every route alike. A route added to the document without a step here fails the walk, naming it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import requests
from jsonschema import Draft202012Validator

from oms_webhooks_cli.openapi import COMMITTED

Operation = tuple[str, str]  # (method, path template), as the document names them


@cache
def documented() -> dict[Operation, dict[int, dict[str, Any] | None]]:
    """Each operation's documented answers: status → the schema of its body (None: no body)."""
    document = json.loads(COMMITTED.read_text())
    return {
        (method.upper(), path): {
            int(status): answer.get("content", {}).get("application/json", {}).get("schema")
            for status, answer in operation["responses"].items()
        }
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if method in {"get", "post", "put", "patch", "delete"}
    }


def success(operation: Operation) -> int:
    return min(status for status in documented()[operation] if 200 <= status < 300)


@cache
def _components() -> dict[str, Any]:
    return dict(json.loads(COMMITTED.read_text())["components"])


@dataclass
class Walk:
    """One owner's walk: `visited` holds what each operation answered, for the caller to compare."""

    http: requests.Session
    api_url: str  # up to and without /whisperer
    token: str
    target_url: str  # a receiver that fails its first request (a trial), then answers 200 (a trial, the retry)
    visited: dict[Operation, int] = field(default_factory=dict)

    def call(
        self,
        method: str,
        template: str,
        body: Any = None,
        status: int | None = None,
        token: str | None = None,
        **values: Any,
    ) -> Any:
        """The answer's JSON, after checking it has `status` (the documented success by default) and its schema;
        made with the owner's token, or `token` (a portal session's)."""
        status = status or success((method, template))
        assert status in documented()[(method, template)], f"{method} {template} does not document a {status}"
        schema = documented()[(method, template)][status]
        answer = self.http.request(
            method,
            self.api_url + template.format(**values),
            json=body,
            headers={"Authorization": f"Token {token or self.token}"},
            timeout=60,
        )
        self.visited[(method, template)] = answer.status_code
        assert answer.status_code == status, f"{method} {template}: {answer.status_code} {answer.text[:500]}"
        if schema is None:
            assert answer.text == "", f"{method} {template}: a {status} with a body: {answer.text[:200]!r}"
            return None
        problems = [
            f"{'/'.join(map(str, e.absolute_path)) or '(the answer)'}: {e.message}"
            for e in Draft202012Validator(
                {**schema, "components": _components()}, format_checker=Draft202012Validator.FORMAT_CHECKER
            ).iter_errors(answer.json())
        ]
        assert not problems, f"{method} {template} answered off its schema: " + "; ".join(problems)
        return answer.json()

    def run(self) -> dict[Operation, int]:
        """Calls every documented operation once; fails if the document has one this walk does not know."""
        self.call("GET", "/whisperer/openapi.json")
        self.call("GET", "/whisperer/event_types/")
        self.call("GET", "/whisperer/hooks/registry/")
        hook = self.call("POST", "/whisperer/hooks/", {"event_type": "package.created", "target_url": self.target_url})
        hook_id = hook["id"]
        self.call("GET", "/whisperer/hooks/", None)
        self.call("GET", "/whisperer/hooks/{hook_id}/", hook_id=hook_id)
        countdown = {"retry_countdown_config": {"choice": "fixed", "kwargs": {"seconds": 5}}}
        self.call("PATCH", "/whisperer/hooks/{hook_id}/", countdown, hook_id=hook_id)
        whole = {"event_type": "package.created", "target_url": self.target_url}
        self.call("PUT", "/whisperer/hooks/{hook_id}/", whole, hook_id=hook_id)
        self.call("POST", "/whisperer/hooks/{hook_id}/rotate_secret/", {}, hook_id=hook_id)
        trial = self.call("POST", "/whisperer/hooks/{hook_id}/test/", {}, status=406, hook_id=hook_id)  # it fails
        self.call("POST", "/whisperer/hooks/{hook_id}/test/", {}, hook_id=hook_id)
        self.call("GET", "/whisperer/hook_events/")
        self._logged(trial["uuid"])
        self.call("GET", "/whisperer/hook_events/{id}/", id=trial["id"])
        self.call("POST", "/whisperer/hook_events/{id}/retry/", {}, id=trial["uuid"])
        since = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.call("POST", "/whisperer/hooks/{hook_id}/recover/", {"since": since}, hook_id=hook_id)
        self.call("POST", "/whisperer/hook_events/recover/", {"since": since})
        self.call("GET", "/whisperer/hooks/{hook_id}/stats/", hook_id=hook_id)
        self.call("GET", "/whisperer/event_queues/")
        self.call("DELETE", "/whisperer/hooks/{hook_id}/", hook_id=hook_id)
        session = self.call("POST", "/whisperer/portal/sessions/", {"ttl_seconds": 60, "read_only": True})
        self.call("GET", "/whisperer/portal/sessions/current/", token=session["token"])
        self.call("DELETE", "/whisperer/portal/sessions/current/", token=session["token"])
        missing = sorted(set(documented()) - set(self.visited))
        assert not missing, f"the walk does not call these documented operations yet: {missing}"
        return self.visited

    def _logged(self, uuid: str, timeout: float = 60.0) -> None:
        """Returns once the trial's record is in the log (it is written after the attempt)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            answer = self.http.get(
                f"{self.api_url}/whisperer/hook_events/",
                params={"uuid": uuid},
                headers={"Authorization": f"Token {self.token}"},
                timeout=60,
            )
            if answer.status_code == 200 and answer.json()["results"]:
                return
            time.sleep(0.3)
        raise AssertionError(f"the trial delivery {uuid} never reached the log in {timeout} s")
