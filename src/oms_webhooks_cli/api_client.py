"""The whisperer API over HTTP, as an owner sees it: what the CLI's hooks and deliveries commands use.

It goes through API Gateway and the token authorizer like any client, so the CLI exercises the product's own
path (authorization, validation, error bodies) rather than reaching into the tables.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import urllib3

from oms_webhooks_cli.endpoint import find_target

TOKEN_ENV = "OMS_WEBHOOKS_TOKEN"
MAX_PAGE = 500  # the API's largest page
# A manual retry waits for the subscriber (the API function may take up to 28 s; API Gateway gives up at 29 s).
TIMEOUT = urllib3.Timeout(connect=5.0, read=35.0)


class CliError(Exception):
    """A failure to report to the user as one line on stderr, with a non-zero exit code."""

    exit_code = 1


class ApiError(CliError):
    """The API answered with an error status."""

    def __init__(self, status: int, body: Any, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class ApiClient:
    """One owner's view of the API at `base_url` (a stack's `ApiUrl`: the stage root, before `whisperer/`)."""

    def __init__(
        self,
        base_url: str,
        token: str,
        hint: str = "",
        http: urllib3.PoolManager | None = None,
        page_size: int = MAX_PAGE,
    ) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self.token = token
        self.hint = hint  # said after a connection failure, e.g. how to start the local stack
        self.page_size = page_size
        self.http = http or urllib3.PoolManager(timeout=TIMEOUT, retries=False)

    # -- transport ----------------------------------------------------------------------------------------------

    def url(self, path: str, params: dict[str, Any] | None = None) -> str:
        query = {k: _query_value(v) for k, v in (params or {}).items() if v is not None}
        return f"{self.base_url}whisperer/{path}" + (f"?{urlencode(query)}" if query else "")

    def call(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        body: Any = None,
        not_found: str | None = None,
        accept: tuple[int, ...] = (),
    ) -> tuple[int, Any]:
        """(status, decoded body) of a 2xx answer or of one of the `accept`ed statuses; anything else raises."""
        url = self.url(path, params)
        headers = {"Authorization": f"Token {self.token}", "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            answer = self.http.request(method, url, body=data, headers=headers)
        except urllib3.exceptions.HTTPError as exc:
            reason = getattr(exc, "reason", None) or exc
            raise CliError(f"cannot reach the API at {self.base_url}: {_one_line(str(reason))}{self.hint}") from None
        decoded = _decode(answer.data)
        if 200 <= answer.status < 300 or answer.status in accept:
            return answer.status, decoded
        raise ApiError(answer.status, decoded, _error_message(answer.status, decoded, not_found))

    def pages(self, path: str, params: dict[str, Any], limit: int) -> Iterator[dict[str, Any]]:
        """Up to `limit` results, following the pages' `next` cursors."""
        params = dict(params)
        left = limit
        while left > 0:
            _, page = self.call("GET", path, {**params, "limit": min(left, self.page_size)})
            results = page.get("results", []) if isinstance(page, dict) else []
            yield from results[:left]
            left -= len(results)
            cursor = _cursor(page.get("next") if isinstance(page, dict) else None)
            if not cursor or not results:
                return
            params["cursor"] = cursor

    # -- hooks --------------------------------------------------------------------------------------------------

    def list_hooks(self, filters: dict[str, Any], limit: int) -> list[dict[str, Any]]:
        return list(self.pages("hooks/", filters, limit))

    def get_hook(self, hook_id: int) -> dict[str, Any]:
        return dict(self.call("GET", f"hooks/{hook_id}/", not_found=f"no hook {hook_id} for this token's owner")[1])

    def create_hook(self, fields: dict[str, Any]) -> dict[str, Any]:
        return dict(self.call("POST", "hooks/", body=fields)[1])

    def delete_hook(self, hook_id: int) -> None:
        self.call("DELETE", f"hooks/{hook_id}/", not_found=f"no hook {hook_id} for this token's owner")

    # -- deliveries (hook_events) -------------------------------------------------------------------------------

    def list_deliveries(self, filters: dict[str, Any], limit: int) -> list[dict[str, Any]]:
        return list(self.pages("hook_events/", filters, limit))

    def get_delivery(self, uuid: str) -> dict[str, Any]:
        path = f"hook_events/{quote(uuid, safe='')}/"
        return dict(self.call("GET", path, not_found=f"no delivery {uuid} for this token's owner")[1])

    def retry_delivery(self, uuid: str, force: bool = False) -> dict[str, Any]:
        """One attempt now. The outcome (delivered or not, or for an ordered hook's failed delivery queued again) is
        returned; a refusal (already delivered, still retrying, held behind an earlier one, unknown) raises
        ApiError."""
        path = f"hook_events/{quote(uuid, safe='')}/retry/"
        not_found = f"no delivery {uuid} for this token's owner (or its hook was deleted)"
        _, outcome = self.call("POST", path, body={"force": force}, not_found=not_found, accept=(406,))
        if isinstance(outcome, dict) and "code" in outcome:  # 406 as a refusal (event_100_3, event_100_6)
            raise ApiError(406, outcome, _error_message(406, outcome, None))
        return dict(outcome)

    # -- self-service (rotation, test events, recovery, stats) --------------------------------------------------

    def rotate_secret(
        self, hook_id: int, secret_key: str | None = None, overlap_seconds: int | None = None
    ) -> dict[str, Any]:
        body = {
            k: v for k, v in {"secret_key": secret_key, "overlap_seconds": overlap_seconds}.items() if v is not None
        }
        path = f"hooks/{hook_id}/rotate_secret/"
        return dict(self.call("POST", path, body=body, not_found=f"no hook {hook_id} for this token's owner")[1])

    def send_test_event(self, hook_id: int) -> dict[str, Any]:
        """The recorded test delivery, delivered or not (406 is an outcome here, not a refusal)."""
        path = f"hooks/{hook_id}/test/"
        not_found = f"no hook {hook_id} for this token's owner"
        return dict(self.call("POST", path, body={}, not_found=not_found, accept=(406,))[1])

    def recover(
        self,
        since: str,
        until: str | None = None,
        include_retrying: bool = False,
        hook_id: int | None = None,
        event_type: str | None = None,
    ) -> dict[str, Any]:
        """Queues the failed deliveries of a hook (or, without one, of every hook) in the window."""
        body: dict[str, Any] = {"since": since, "include_retrying": include_retrying}
        if until is not None:
            body["until"] = until
        if hook_id is None:
            if event_type is not None:
                body["event_type"] = event_type
            return dict(self.call("POST", "hook_events/recover/", body=body)[1])
        path = f"hooks/{hook_id}/recover/"
        return dict(self.call("POST", path, body=body, not_found=f"no hook {hook_id} for this token's owner")[1])

    # -- portal sessions ----------------------------------------------------------------------------------------

    def open_portal_session(self, ttl_seconds: int, read_only: bool) -> dict[str, Any]:
        body = {"ttl_seconds": ttl_seconds, "read_only": read_only}
        return dict(self.call("POST", "portal/sessions/", body=body)[1])

    def hook_stats(self, hook_id: int, period: str | None = None) -> dict[str, Any]:
        path = f"hooks/{hook_id}/stats/"
        not_found = f"no hook {hook_id} for this token's owner"
        return dict(self.call("GET", path, {"period": period}, not_found=not_found)[1])


def client_for(api_url: str | None, token: str | None, stack_name: str | None) -> ApiClient:
    """The API of `--api-url`, else of the target stack's `ApiUrl` output, with `--token` or $OMS_WEBHOOKS_TOKEN."""
    token = token or os.environ.get(TOKEN_ENV)
    if not token:
        raise CliError(
            f"no API token: pass --token or set {TOKEN_ENV} (an operator creates one with "
            "`oms-webhooks token create --owner NAME`)"
        )
    if api_url:
        return ApiClient(api_url, token)
    target = find_target(stack_name)
    hint = "" if stack_name else "; is the local stack running? Start it with `make run` (or `oms-webhooks local`)"
    return ApiClient(target.output("ApiUrl"), token, hint)


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _cursor(next_url: str | None) -> str | None:
    """The cursor of a `next` link. Only the cursor is taken: the link's host and scheme are the server's view,
    which behind a proxy (or on the local gateway) need not be how this client reaches the API."""
    if not next_url:
        return None
    values = parse_qs(urlsplit(next_url).query).get("cursor")
    return values[-1] if values else None


def _decode(data: bytes) -> Any:
    if not data:
        return None
    try:
        return json.loads(data)
    except ValueError:
        return data.decode(errors="replace")


def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def describe(body: Any) -> str:
    """An API error body in one line: DRF's `detail`, whisperer's `code`/`en`, or field errors as `field: message`."""
    if isinstance(body, dict):
        if set(body) == {"detail"} or (len(body) == 1 and "message" in body):
            return str(body.get("detail", body.get("message")))
        if "code" in body and "en" in body:
            return f"{body['en']} ({body['code']})"
        return "; ".join(f"{field}: {message}" for field, message in _field_errors(body))
    if body is None:
        return "(no body)"
    return json.dumps(body) if not isinstance(body, str) else body


def _field_errors(errors: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(errors, dict):
        for key, value in errors.items():
            yield from _field_errors(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(errors, list) and all(isinstance(e, str) for e in errors):
        yield prefix or "error", " ".join(errors)
    else:
        yield prefix or "error", json.dumps(errors)


def _error_message(status: int, body: Any, not_found: str | None) -> str:
    if status == 401:
        return (
            f"the API refused the token (HTTP 401): it is missing, invalid or revoked; pass --token or set {TOKEN_ENV}"
        )
    if status == 403:
        return f"the API refused the request (HTTP 403): {_one_line(describe(body))}"
    if status == 404 and not_found:
        return f"{not_found} (HTTP 404)"
    if status >= 500:
        return f"the API failed (HTTP {status}): {_one_line(describe(body))}"
    return f"HTTP {status}: {_one_line(describe(body), 1000)}"
