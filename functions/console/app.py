"""The delivery console's static files, served without the token authorizer: a browser navigation cannot send
an Authorization header, so the page itself calls the API with the token it keeps in sessionStorage."""

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

STATIC = Path(__file__).resolve().with_name("static")
INDEX = "index.html"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
}
# The page's own files only: no inline script or style, no other origin, never inside a frame, no form posts
# (forms are handled by script; a form submitted without it must not put a pasted token in a URL).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
INDEX_CACHE = "no-cache"  # always revalidated (ETag), so a deploy shows at once
ASSET_CACHE = "public, max-age=300"  # scripts and styles: five minutes, then revalidated

logger = Logger()


@dataclass(frozen=True)
class StaticFile:
    body: str
    content_type: str
    etag: str
    cache_control: str


@cache
def static_files() -> dict[str, StaticFile]:
    """Every servable file by its path under static/; a request names one of these or gets 404 (no traversal)."""
    found = {}
    for path in sorted(STATIC.rglob("*")):
        content_type = CONTENT_TYPES.get(path.suffix)
        if not path.is_file() or content_type is None:
            continue
        data = path.read_bytes()
        name = path.relative_to(STATIC).as_posix()
        etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
        found[name] = StaticFile(data.decode(), content_type, etag, INDEX_CACHE if name == INDEX else ASSET_CACHE)
    return found


def requested_file(event: APIGatewayProxyEvent) -> str:
    """The file a request names: the greedy path parameter, or the index for the console's own URL."""
    return (event.path_parameters or {}).get("proxy") or INDEX


def answer(status: int, headers: dict[str, str], body: str = "") -> dict[str, Any]:
    return {"statusCode": status, "headers": {**SECURITY_HEADERS, **headers}, "body": body, "isBase64Encoded": False}


def serve(event: APIGatewayProxyEvent) -> dict[str, Any]:
    if event.http_method not in ("GET", "HEAD"):
        return answer(405, {"Allow": "GET, HEAD", "Content-Type": "text/plain; charset=utf-8"}, "Method not allowed.")
    if event.path.endswith("/console"):  # relative links need the trailing slash; relative Location keeps the stage
        return answer(301, {"Location": "console/", "Cache-Control": "no-cache"})
    found = static_files().get(requested_file(event))
    if found is None:
        return answer(404, {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-cache"}, "Not found.")
    headers = {"Content-Type": found.content_type, "Cache-Control": found.cache_control, "ETag": found.etag}
    if event.headers.get("If-None-Match") == found.etag:
        return answer(304, headers)
    return answer(200, headers, found.body)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@event_source(data_class=APIGatewayProxyEvent)
def lambda_handler(event: APIGatewayProxyEvent, context: LambdaContext) -> dict[str, Any]:
    return serve(event)
