"""The delivery console's static files, served without the token authorizer: a browser navigation cannot send
an Authorization header, so the page itself calls the API with the token it keeps in sessionStorage.

Scripts and styles are served under a name with the version of the whole console (`v/<version>/js/app.js`, the
version a hash of every file), cached for good; the page itself is always revalidated and names the version it
goes with. So a page loads the modules of one version only, and once a deploy has changed them, an old page's
request for a module gets 404 (boot.js then says to reload) rather than a module of another version.
"""

import hashlib
import os
import re
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
# The page's own files only: no inline script or style, no other origin, no form posts (forms are handled by
# script; a form submitted without it must not put a pasted token in a URL), and Trusted Types with no policy at
# all: the console never turns a string into markup or script (no innerHTML), and the browser now refuses it too.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
    "require-trusted-types-for 'script'; trusted-types 'none'"
)
# The template's PortalFrameAncestors: the pages that may frame the console (its AllowedPattern, checked again here).
FRAME_SOURCE = (
    r"'self'|https://(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:[0-9]{1,5})?|http://(localhost|127\.0\.0\.1)(:[0-9]{1,5})?"
)
NO_ANCESTORS = "'none'"
FRAME_ANCESTORS = re.compile(rf"^$|^({FRAME_SOURCE})( ({FRAME_SOURCE}))*$")
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    # API Gateway serves HTTPS only; browsers ignore this over plain HTTP (the local stack). No includeSubDomains:
    # a custom domain's sibling hosts are not this stack's to bind.
    "Strict-Transport-Security": "max-age=31536000",
}
INDEX_CACHE = "no-cache"  # always revalidated (ETag), so a deploy shows at once
VERSIONED_CACHE = "public, max-age=31536000, immutable"  # a versioned name never changes what it serves
PLAIN_CACHE = "no-cache"  # the same files by their plain names (nothing links them but the icon): revalidated
VERSIONED = re.compile(r"^v/(?P<version>[0-9a-f]+)/(?P<name>.+)$")
LINKED_ASSET = re.compile(r'(src|href)="((?:js/|console\.css)[^"]*)"')  # what the page names by version

logger = Logger()


def security_headers(frame_ancestors: str) -> dict[str, str]:
    """With no ancestors, no page may frame the console; with some, those may, and X-Frame-Options (which cannot
    name an origin) is left out so it does not forbid what the policy allows."""
    if not FRAME_ANCESTORS.match(frame_ancestors):
        raise ValueError(f"PORTAL_FRAME_ANCESTORS={frame_ancestors!r} is not a list of frame-ancestors sources")
    policy = f"{CONTENT_SECURITY_POLICY}; frame-ancestors {frame_ancestors or NO_ANCESTORS}"
    framing = {} if frame_ancestors else {"X-Frame-Options": "DENY"}
    return {"Content-Security-Policy": policy, **framing, **HEADERS}


SECURITY_HEADERS = security_headers(os.environ.get("PORTAL_FRAME_ANCESTORS", "").strip())  # checked at cold start


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
        found[path.relative_to(STATIC).as_posix()] = StaticFile(data.decode(), content_type, etag(data), PLAIN_CACHE)
    index = found[INDEX]
    page = LINKED_ASSET.sub(rf'\1="v/{version()}/\2"', index.body)
    found[INDEX] = StaticFile(page, index.content_type, etag(page.encode()), INDEX_CACHE)
    return found


@cache
def version() -> str:
    """The version of the console as a whole: a hash of every file's name and bytes."""
    digest = hashlib.sha256()
    for path in sorted(p for p in STATIC.rglob("*") if p.is_file()):
        digest.update(path.relative_to(STATIC).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def etag(data: bytes) -> str:
    return '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


def lookup(name: str) -> StaticFile | None:
    """A file by its plain name, or by its versioned one if that is this version's (the page has none)."""
    versioned = VERSIONED.match(name)
    if versioned is None:
        return static_files().get(name)
    found = static_files().get(versioned["name"])
    if versioned["version"] != version() or found is None or versioned["name"] == INDEX:
        return None
    return StaticFile(found.body, found.content_type, found.etag, VERSIONED_CACHE)


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
    found = lookup(requested_file(event))
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
