"""A local API Gateway: HTTP requests in, REST proxy events to the template's functions, their answers out."""

from __future__ import annotations

import base64
import fnmatch
import json
import logging
import sys
import time
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from oms_webhooks_cli.local.lambdas import LocalFunction
from oms_webhooks_cli.template import Route, Template

log = logging.getLogger("oms_webhooks.local.api")

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's own limit
MAX_HEADER_BYTES = 10240  # API Gateway's quota on the request line and header values together
ANY_METHODS = frozenset({"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"})  # what `ANY` stands for
SKIP_HEAD_BYTES, SKIP_HEAD_SECONDS = 1024 * 1024, 2.0  # what is read of an oversize head before answering
LISTEN_BACKLOG = 1024  # connections the kernel queues while every thread is busy (http.server's default: 5)
ACCOUNT, API_ID = "123456789012", "localapi"


class Gateway:
    """Routing, authorization and gateway responses as template.yaml declares them."""

    def __init__(self, template: Template, functions: dict[str, LocalFunction]) -> None:
        self.template = template
        self.functions = functions
        self.routes = [(route, route.pattern()) for route in template.routes()]
        self.authorizer = template.authorizer()
        self.stage = str(template.resolve(template.api().get("StageName", "prod")))

    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        url = urlsplit(raw_path)
        match = self._match(method, url.path)
        if match is None:  # what API Gateway answers for a path, or a method of a path, it does not route
            return _json(403, {"message": "Missing Authentication Token"})
        route, params = match
        authorized = self._authorize(method, url.path, headers) if route.authorized else {}
        if isinstance(authorized, tuple):
            return authorized
        event = self._proxy_event(route, params, method, url.path, url.query, headers, body, authorized)
        try:
            result = self.functions[route.function].invoke(event)
            return _from_proxy_result(result)
        except Exception:
            log.exception("%s raised on %s %s", route.function, method, url.path)
            return _json(502, {"message": "Internal server error"})

    def _match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route, pattern in self.routes:
            found = pattern.match(path)
            if found and (route.method == method or (route.method == "ANY" and method in ANY_METHODS)):
                return route, found.groupdict()
        return None

    def _authorize(
        self, method: str, path: str, headers: dict[str, str]
    ) -> dict[str, Any] | tuple[int, dict[str, str], bytes]:
        if self.authorizer is None:
            return {}
        token = _header(headers, self.authorizer.header)
        if not token or (self.authorizer.validation and not self.authorizer.validation.match(token)):
            return self._gateway_response("UNAUTHORIZED", 401, {"message": "Unauthorized"})
        method_arn = f"arn:aws:execute-api:us-east-1:{ACCOUNT}:{API_ID}/{self.stage}/{method}{path}"
        try:
            policy = self.functions[self.authorizer.function].invoke(
                {"type": "TOKEN", "authorizationToken": token, "methodArn": method_arn}
            )
        except Exception as exc:
            if str(exc) == "Unauthorized":
                return self._gateway_response("UNAUTHORIZED", 401, {"message": "Unauthorized"})
            log.exception("authorizer failed")
            return _json(500, {"message": None})
        if not _allows(policy, method_arn):
            return self._gateway_response("ACCESS_DENIED", 403, {"message": "User is not authorized"})
        return {"principalId": policy["principalId"], **policy.get("context", {}), "integrationLatency": 0}

    def _gateway_response(self, kind: str, status: int, body: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        custom = self.template.gateway_response(kind)
        if custom:
            return custom[0], {"Content-Type": "application/json"}, custom[1].encode()
        return _json(status, body)

    def _proxy_event(
        self,
        route: Route,
        params: dict[str, str],
        method: str,
        path: str,
        query: str,
        headers: dict[str, str],
        body: bytes,
        authorizer: dict[str, Any],
    ) -> dict[str, Any]:
        multi_query = parse_qs(query, keep_blank_values=True)
        if not _header(headers, "X-Forwarded-Proto"):  # API Gateway says how the client came in; here, plain HTTP
            headers = {**headers, "X-Forwarded-Proto": "http"}
        try:
            text, is_base64 = body.decode(), False
        except UnicodeDecodeError:
            text, is_base64 = base64.b64encode(body).decode(), True
        return {
            "resource": route.path,
            "path": path,
            "httpMethod": method,
            "headers": headers or None,
            "multiValueHeaders": {k: [v] for k, v in headers.items()} or None,
            "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": params or None,
            "stageVariables": None,
            "requestContext": {
                "accountId": ACCOUNT,
                "apiId": API_ID,
                "authorizer": authorizer,
                "domainName": _header(headers, "Host") or "127.0.0.1",
                "httpMethod": method,
                "identity": {"sourceIp": "127.0.0.1", "userAgent": _header(headers, "User-Agent")},
                "path": path,
                "protocol": "HTTP/1.1",
                "requestId": str(uuid.uuid4()),
                "requestTimeEpoch": int(time.time() * 1000),
                "resourcePath": route.path,
                "stage": self.stage,
            },
            "body": text if body else None,
            "isBase64Encoded": is_base64,
        }


def _allows(policy: dict[str, Any], method_arn: str) -> bool:
    statements = policy.get("policyDocument", {}).get("Statement", [])
    matches = [
        s
        for s in statements
        if any(fnmatch.fnmatchcase(method_arn, r) for r in _as_list(s.get("Resource")))
        and "execute-api:Invoke" in _as_list(s.get("Action"))
    ]
    return bool(matches) and all(s.get("Effect") == "Allow" for s in matches)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _header(headers: dict[str, str], name: str) -> str | None:
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)


def _json(status: int, body: Any) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


def _from_proxy_result(result: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    headers = {k: str(v) for k, v in (result.get("headers") or {}).items()}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers[name] = ", ".join(str(v) for v in values)
    body = result.get("body") or ""
    raw = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
    return int(result["statusCode"]), headers, raw


class _RequestHandler(BaseHTTPRequestHandler):
    server: GatewayServer
    protocol_version = "HTTP/1.1"
    # http.server writes the head and the body apart; with Nagle on, the body waits for the client's delayed ACK
    # of the head, 40 ms on every answer of a kept-alive connection (measured: 48 ms a GET, 8 ms without).
    disable_nagle_algorithm = True

    def _serve(self) -> None:
        started = time.perf_counter()
        length = int(self.headers.get("Content-Length") or 0)
        if len(self.requestline) + sum(len(k) + len(v) for k, v in self.headers.items()) > MAX_HEADER_BYTES:
            status, headers, body = _json(431, {"message": HTTPStatus(431).phrase})
            self.close_connection = True
        elif length > MAX_PAYLOAD_BYTES:
            status, headers, body = _json(413, {"message": "Request Too Long"})
            self.close_connection = True
        else:
            payload = self.rfile.read(length) if length else b""
            status, headers, body = self.server.gateway.handle(
                self.command, self.path, dict(self.headers.items()), payload
            )
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        took = (time.perf_counter() - started) * 1000
        log.info("%s %s -> %d (%.1f ms)", self.command, self.path, status, took)

    def __getattr__(self, name: str) -> Any:
        """Every method, TRACE and made-up ones too, reaches the gateway, which answers for it as API Gateway does."""
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (a malformed request line, a header line over 64 KB, over 100 headers) in
        JSON, as every other answer, instead of its HTML page."""
        log.info("%s refused: %d %s", getattr(self, "requestline", "") or "request", code, message or "")
        if code in (414, 431):
            self._skip_request_head()
        _, _, body = _json(code, {"message": HTTPStatus(code).phrase})
        self.close_connection = True
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Connection", "close")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _skip_request_head(self) -> None:
        """Reads what is left of a request head refused part-way, so closing the connection does not reset it
        before the client has read the answer. Bounded by size and time."""
        self.connection.settimeout(SKIP_HEAD_SECONDS)
        skipped = 0
        try:
            while skipped < SKIP_HEAD_BYTES:
                line = self.rfile.readline(65537)
                skipped += len(line)
                if line in (b"\r\n", b"\n", b""):
                    return
        except OSError:
            return

    def log_message(self, format: str, *args: Any) -> None:
        """Requests are logged once, with their timing, by _serve."""


class GatewayServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = LISTEN_BACKLOG

    def __init__(self, address: tuple[str, int], gateway: Gateway) -> None:
        super().__init__(address, _RequestHandler)
        self.gateway = gateway

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-request or before its answer (a page closed while fetching) is no fault of
        the stack's and gets one log line; anything else is printed with its traceback, as socketserver does."""
        error = sys.exc_info()[1]
        if isinstance(error, (BrokenPipeError, ConnectionResetError)):
            log.info("client %s went away before its answer: %s", client_address, error)
            return
        super().handle_error(request, client_address)
