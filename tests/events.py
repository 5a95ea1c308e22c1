"""The sample events of events/api and events/authorizer, made in API Gateway's real shape by one function each.

The files stay committed (`oms-webhooks invoke -e events/api/hooks-list.json` reads them), and
tests/unit/test_sample_events.py fails when one differs from what this module makes: rewrite them with `make events`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

EVENTS = Path(__file__).resolve().parents[1] / "events"

ACCOUNT = "123456789012"
REGION = "eu-central-1"
API_ID = "abc123"
STAGE = "prod"
DOMAIN = f"{API_ID}.execute-api.{REGION}.amazonaws.com"
RESOURCE = "/whisperer/{proxy+}"
RESOURCE_ID = "x1y2z3"  # API Gateway's id of the {proxy+} resource: one per resource, the same in every request
CLIENT_IP = "198.51.100.7"  # a documentation address (RFC 5737)
USER_AGENT = "python-requests/2.32.3"
TOKEN = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c"
OWNER = "events-owner"  # what the authorizer answers for TOKEN; the samples act as them
RECEIVED = datetime(2026, 1, 7, 10, 21, 33, tzinfo=UTC)
HOOK_BODY = {
    "event_type": "package.created",
    "target_url": "https://erp.example.com/oms/webhooks/",
    "retry_countdown_config": {"choice": "exponential", "kwargs": {"base": 2, "factor": 3, "limit": 600}},
    "additional_headers": {"X-Shop": "istanbul-01"},
    "secret_key": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
}
DELIVERY = "7084307527205819"  # the sample delivery's id; its uuid is c9591f0d1c1d4da58ade880921bd7e93

# name: (method, path with its query string, body). A dict body is sent as JSON, a str one as a form.
API_REQUESTS: dict[str, tuple[str, str, dict[str, Any] | str | None]] = {
    "hooks-create": ("POST", "/whisperer/hooks/", HOOK_BODY),
    "hooks-create-invalid": ("POST", "/whisperer/hooks/", {**HOOK_BODY, "retry_countdown_config": {"choice": "x"}}),
    "hooks-list": ("GET", "/whisperer/hooks/?limit=2&event_type=package.created", None),
    "hooks-registry": ("GET", "/whisperer/hooks/registry/", None),
    "hooks-retrieve": ("GET", "/whisperer/hooks/1/", None),
    "hooks-update": ("PATCH", "/whisperer/hooks/1/", {"is_active": False}),
    "hooks-replace": (
        "PUT",
        "/whisperer/hooks/1/",
        {"event_type": "package.status.shipped", "target_url": "https://erp.example.com/oms/shipped/"},
    ),
    "hooks-delete": ("DELETE", "/whisperer/hooks/1/", None),
    "hooks-rotate-secret": ("POST", "/whisperer/hooks/1/rotate_secret/", {"overlap_seconds": 3600}),
    "hooks-test": ("POST", "/whisperer/hooks/1/test/", {}),
    "hooks-stats": ("GET", "/whisperer/hooks/1/stats/?period=7d", None),
    "hooks-recover": (
        "POST",
        "/whisperer/hooks/1/recover/",
        {"since": "2026-01-07T00:00:00Z", "include_retrying": False},
    ),
    "hook-events-list": ("GET", "/whisperer/hook_events/?delivered=True&created_date__gte=2026-01-01&limit=20", None),
    "hook-events-list-invalid": ("GET", "/whisperer/hook_events/?uuid=nope&created_date__gt=yesterday", None),
    "hook-events-retrieve": ("GET", f"/whisperer/hook_events/{DELIVERY}/", None),
    "hook-events-retrieve-uuid": ("GET", "/whisperer/hook_events/c9591f0d-1c1d-4da5-8ade-880921bd7e93/", None),
    "hook-events-retry-form": ("POST", f"/whisperer/hook_events/{DELIVERY}/retry/", "force=True"),
    "hook-events-recover": (
        "POST",
        "/whisperer/hook_events/recover/",
        {"since": "2026-01-07T00:00:00Z", "event_type": "package.created"},
    ),
    "event-types-list": ("GET", "/whisperer/event_types/", None),
    "event-queues-list": ("GET", "/whisperer/event_queues/?event_type=package.created", None),
}
AUTHORIZER_TOKENS = {"token-valid": TOKEN, "token-unknown": "f" * 40}


def api_event(name: str, method: str, target: str, body: dict[str, Any] | str | None) -> dict[str, Any]:
    """What API Gateway (REST, Lambda proxy integration) hands the ApiFunction for this request, once the
    TOKEN authorizer let `events-owner` in. `name` seeds the request's ids, so that each sample has its own."""
    path, _, query = target.partition("?")
    multi_query = parse_qs(query, keep_blank_values=True)
    seed = hashlib.sha256(name.encode()).digest()
    request_id = str(uuid.UUID(bytes=seed[:16], version=4))
    headers = {
        "Accept": "*/*",
        "Accept-Encoding": "gzip, deflate",
        "Authorization": f"Token {TOKEN}",
        "Host": DOMAIN,
        "User-Agent": USER_AGENT,
        "X-Amzn-Trace-Id": f"Root=1-{int(RECEIVED.timestamp()):08x}-{seed[16:28].hex()}",
        "X-Forwarded-For": CLIENT_IP,
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    }
    if isinstance(body, dict):
        headers["Content-Type"] = "application/json"
    elif isinstance(body, str):
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    return {
        "resource": RESOURCE,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {key: [value] for key, value in headers.items()},
        "queryStringParameters": {key: values[-1] for key, values in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": {"proxy": path.removeprefix("/whisperer/")},
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": API_ID,
            "authorizer": {"principalId": OWNER, "owner": OWNER, "integrationLatency": 0},
            "domainName": DOMAIN,
            "domainPrefix": API_ID,
            "extendedRequestId": base64.b64encode(seed[:10]).decode(),
            "httpMethod": method,
            "identity": {
                "accessKey": None,
                "accountId": None,
                "caller": None,
                "cognitoAuthenticationProvider": None,
                "cognitoAuthenticationType": None,
                "cognitoIdentityId": None,
                "cognitoIdentityPoolId": None,
                "principalOrgId": None,
                "sourceIp": CLIENT_IP,
                "user": None,
                "userAgent": USER_AGENT,
                "userArn": None,
            },
            "path": f"/{STAGE}{path}",
            "protocol": "HTTP/1.1",
            "requestId": request_id,
            "requestTime": RECEIVED.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(RECEIVED.timestamp() * 1000),
            "resourceId": RESOURCE_ID,
            "resourcePath": RESOURCE,
            "stage": STAGE,
        },
        "body": json.dumps(body) if isinstance(body, dict) else body,
        "isBase64Encoded": False,
    }


def authorizer_event(token: str) -> dict[str, Any]:
    """What API Gateway hands a TOKEN authorizer for `GET /whisperer/hooks/` with this token."""
    return {
        "type": "TOKEN",
        "authorizationToken": f"Token {token}",
        "methodArn": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{API_ID}/{STAGE}/GET/whisperer/hooks/",
    }


def sample_files() -> dict[Path, str]:
    """Every generated file under events/, with the text it should hold."""
    events = {EVENTS / "api" / f"{name}.json": api_event(name, *request) for name, request in API_REQUESTS.items()}
    events |= {EVENTS / "authorizer" / f"{name}.json": authorizer_event(t) for name, t in AUTHORIZER_TOKENS.items()}
    return {path: json.dumps(event, indent=2, ensure_ascii=False) + "\n" for path, event in events.items()}


def main() -> None:
    for path, text in sample_files().items():
        path.write_text(text)
        print(path.relative_to(EVENTS.parent))


if __name__ == "__main__":
    main()
