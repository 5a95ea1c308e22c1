"""How the console's files are served on the local stack: without the token, with strict security and caching
headers and the right content types, nothing outside its own files, and the API itself still behind the token."""

from __future__ import annotations

import http.client
import re
from urllib.parse import urlsplit

import pytest
import requests

from oms_webhooks_cli.template import Template
from tests.e2e.conftest import LocalStackProcess

pytestmark = pytest.mark.e2e

CSP_DIRECTIVES = {
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "require-trusted-types-for 'script'",
    "trusted-types 'none'",
}


def raw_get(stack: LocalStackProcess, path: str) -> tuple[int, dict[str, str]]:
    """A GET of exactly this path (no client-side normalisation of `..` or escapes)."""
    parts = urlsplit(stack.api_url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        connection.request("GET", path)
        answer = connection.getresponse()
        answer.read()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}
    finally:
        connection.close()


def test_the_console_routes_skip_the_authorizer_and_the_api_does_not() -> None:
    routes = {(r.method, r.path): r for r in Template().routes()}
    assert sorted(key for key, r in routes.items() if r.function == "ConsoleFunction") == [
        ("GET", "/whisperer/console"),
        ("GET", "/whisperer/console/{proxy+}"),
    ]
    page, files = routes[("GET", "/whisperer/console")], routes[("GET", "/whisperer/console/{proxy+}")]
    assert (page.function, files.function) == ("ConsoleFunction", "ConsoleFunction")
    assert not page.authorized and not files.authorized
    assert all(r.authorized for r in routes.values() if r.function != "ConsoleFunction")
    assert page.pattern().match("/whisperer/console/")  # API Gateway routes /a/ to the resource /a


def test_the_page_loads_without_a_token_with_strict_security_headers(console_stack: LocalStackProcess) -> None:
    answer = requests.get(f"{console_stack.api_url}/whisperer/console/", timeout=30)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "text/html; charset=utf-8"
    assert re.search(r'<script type="module" src="v/[0-9a-f]{16}/js/boot\.js">', answer.text)
    assert "<script>" not in answer.text and "style=" not in answer.text  # nothing inline for the CSP to allow
    assert {d.strip() for d in answer.headers["Content-Security-Policy"].split(";")} >= CSP_DIRECTIVES
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Referrer-Policy"] == "no-referrer"
    assert answer.headers["Cache-Control"] == "no-cache"
    assert answer.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_the_bare_console_url_redirects_to_the_page(console_stack: LocalStackProcess) -> None:
    answer = requests.get(f"{console_stack.api_url}/whisperer/console", timeout=30, allow_redirects=False)
    assert answer.status_code == 301
    assert answer.headers["Location"] == "console/"  # relative, so a stage prefix in the URL is kept
    followed = requests.get(f"{console_stack.api_url}/whisperer/console", timeout=30)
    assert followed.url.endswith("/whisperer/console/") and followed.status_code == 200


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("js/app.js", "text/javascript; charset=utf-8"),
        ("js/pages/delivery.js", "text/javascript; charset=utf-8"),
        ("console.css", "text/css; charset=utf-8"),
        ("icon.svg", "image/svg+xml"),
    ],
)
def test_assets_have_their_type_and_are_cached_for_good_under_the_consoles_version(
    console_stack: LocalStackProcess, path: str, content_type: str
) -> None:
    page = requests.get(f"{console_stack.api_url}/whisperer/console/", timeout=30).text
    [version] = set(re.findall(r'"v/([0-9a-f]{16})/', page))
    url = f"{console_stack.api_url}/whisperer/console/v/{version}/{path}"
    answer = requests.get(url, timeout=30)
    assert answer.status_code == 200 and answer.content
    assert answer.headers["Content-Type"] == content_type
    assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    plain = requests.get(f"{console_stack.api_url}/whisperer/console/{path}", timeout=30)
    assert plain.content == answer.content and plain.headers["Cache-Control"] == "no-cache"
    again = requests.get(url, headers={"If-None-Match": answer.headers["ETag"]}, timeout=30)
    assert again.status_code == 304 and not again.content


@pytest.mark.parametrize(
    "path",
    [
        "/whisperer/console/../console/../../functions/console/app.py",
        "/whisperer/console/app.py",
        "/whisperer/console/%2e%2e/app.py",
        "/whisperer/console/..%2fapp.py",
        "/whisperer/console/js/../../app.py",
        "/whisperer/console/js/%2e%2e/%2e%2e/app.py",
        "/whisperer/console//etc/passwd",
        "/whisperer/console/static/index.html",
        "/whisperer/console/missing.js",
        "/whisperer/console/v/0000000000000000/js/app.js",  # another version's: gone, never this one's
        "/whisperer/console/v/index.html",
    ],
)
def test_nothing_but_the_consoles_own_files_is_served(console_stack: LocalStackProcess, path: str) -> None:
    status, headers = raw_get(console_stack, path)
    assert status == 404, path
    assert headers["x-content-type-options"] == "nosniff"


def test_the_api_still_needs_the_token(console_stack: LocalStackProcess) -> None:
    assert requests.get(f"{console_stack.api_url}/whisperer/hooks/", timeout=30).status_code == 401
    posted = requests.post(f"{console_stack.api_url}/whisperer/console/js/app.js", timeout=30)
    assert posted.status_code == 401  # only GET is routed to the console; anything else meets the authorizer
