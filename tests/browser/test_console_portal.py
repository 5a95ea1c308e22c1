"""Portal links end to end in headless Chromium: minted by the CLI or the API, opened, landing on the owner's hooks
and nothing else, read-only refusals with the actions hidden, Sign out ending the session on the server, expiry;
and the console's hardening: frame-ancestors with and without PortalFrameAncestors, Trusted Types enforced, and an
error page, never a blank one, when a module fails to load."""

from __future__ import annotations

import hashlib
import html
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from playwright.sync_api import Browser, Page, expect

from oms_webhooks_cli.endpoint import Target
from tests.browser.conftest import WIDE, Console, api_json, unique_path
from tests.e2e.conftest import Client, LocalStackProcess, start_local_stack, stop_local_stack
from tests.receiver import Receiver

pytestmark = pytest.mark.e2e

SESSION_ENDED = "The portal session has ended (it expired or was signed out). Ask the owner for a new link."


def open_link(owner: Client, **body: Any) -> dict[str, Any]:
    """A portal session minted through the API with the owner's token."""
    return dict(api_json(owner.http.post(owner.url("portal/sessions/"), json=body)))


def refused_with(stack: LocalStackProcess, token: str) -> int:
    answer = requests.get(f"{stack.api_url}/whisperer/hooks/", headers={"Authorization": f"Token {token}"}, timeout=30)
    return answer.status_code


def test_a_link_from_the_cli_lands_on_the_owners_hooks_and_sign_out_ends_it(
    console: Console, receiver: Receiver, console_stack: LocalStackProcess
) -> None:
    page, owner = console.page, console.owner
    hook = owner.subscribe(receiver.url(unique_path("/portal")), event_type="shipment.cancelled")
    with requests.Session() as http:
        stranger = Client(console_stack, http)
        theirs = stranger.subscribe(receiver.url(unique_path("/stranger")), event_type="shipment.cancelled")
        minted = console_stack.cli("portal", "link", "--ttl", "900", "--token", owner.token)
        url = minted.stdout.strip()
        token = url.split("#session=", 1)[1]
        assert url == f"{console_stack.api_url}/whisperer/console/#session={token}"
        assert "until" in minted.stderr and "may change hooks" in minted.stderr

        page.goto(url)
        console.heading("Hooks")
        assert "#session=" not in page.url and token not in page.url  # out of the address bar and the history
        assert page.url.endswith("/whisperer/console/#/hooks")
        rows = console.main.locator("tbody tr")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text(hook["target_url"])
        expect(console.main).not_to_contain_text(theirs["target_url"])
        expect(page.locator("#session-note")).to_contain_text("Portal session · ends")
        expect(page.get_by_role("link", name="New hook")).to_be_visible()  # a writable session keeps its actions
        console.shot("portal-hooks")

        page.get_by_role("button", name="Sign out").click()
        expect(console.main).to_contain_text("The portal session is ended: its link no longer works.")
        ended = [r for r in console.requests if r.method == "DELETE" and r.url.endswith("/portal/sessions/current/")]
        assert len(ended) == 1
        assert refused_with(console_stack, token) == 401
        assert page.evaluate("sessionStorage.length") == 0
        page.goto(url)  # the same link again: refused, and said so
        expect(console.main).to_contain_text("This portal link does not sign in")
        stranger.unsubscribe_all()


def test_a_read_only_link_shows_everything_and_offers_no_change(
    console: Console, receiver: Receiver, console_stack: LocalStackProcess
) -> None:
    page, owner = console.page, console.owner
    hook = owner.subscribe(receiver.url(unique_path("/read-only")), event_type="shipment.cancelled")
    owner.publish("shipment.cancelled", {"id": 4711})
    delivery = owner.wait_for_delivery(hook["id"], lambda d: d["delivered"], timeout=30)
    opened = open_link(owner, ttl_seconds=600, read_only=True)
    assert opened["read_only"] is True

    page.goto(opened["url"])
    console.heading("Hooks")
    expect(page.locator("#session-note")).to_contain_text("read-only")
    expect(console.main.locator("tbody tr")).to_have_count(1)
    for name in ("New hook", "Edit"):
        expect(page.get_by_role("link", name=name)).to_have_count(0)
    for name in ("Deactivate", "Delete"):
        expect(page.get_by_role("button", name=name)).to_have_count(0)
    expect(page.get_by_role("columnheader", name="Actions")).to_have_count(0)
    console.shot("portal-read-only")

    console.go(f"hooks/{hook['id']}")
    console.heading(f"Hook {hook['id']}: shipment.cancelled")
    expect(page.get_by_role("heading", name="Recent deliveries")).to_be_visible()
    for name in ("Send test event", "Re-send failed deliveries", "Rotate secret", "Deactivate", "Delete"):
        expect(page.get_by_role("button", name=name)).to_have_count(0)
    expect(page.get_by_role("link", name="Edit")).to_have_count(0)

    console.go(f"deliveries/{delivery['uuid']}")
    console.heading("Delivery of shipment.cancelled")
    expect(page.get_by_role("heading", name="Attempts")).to_be_visible()
    expect(page.get_by_role("button", name="Retry now")).to_have_count(0)

    for route in ("hooks/new", f"hooks/{hook['id']}/edit"):
        console.go(route)
        console.heading("This portal session is read-only")

    # What the page no longer offers, the API refuses anyway.
    refused = page.evaluate(
        """async (token) => {
            const answer = await fetch("../hooks/", {method: "POST", headers: {Authorization: `Token ${token}`,
                "Content-Type": "application/json"}, body: JSON.stringify({event_type: "package.created",
                target_url: "http://127.0.0.1:9/x"})});
            return [answer.status, await answer.json()];
        }""",
        opened["token"],
    )
    assert refused[0] == 403 and "read-only" in refused[1]["detail"]
    assert len(owner.http.get(owner.url("hooks/")).json()["results"]) == 1


def test_an_expired_link_signs_the_page_out_and_is_refused(console: Console, console_stack: LocalStackProcess) -> None:
    page, owner = console.page, console.owner
    opened = open_link(owner, ttl_seconds=60)
    page.goto(opened["url"])
    console.heading("Hooks")
    # The session's clock, moved on: its expiry rewritten to 2 s from now (a minute of waiting otherwise).
    table = console_stack.outputs["PortalSessionsTableName"]
    dynamodb = Target({}, console_stack.aws_endpoint).client("dynamodb")
    ends = int(time.time()) + 2
    dynamodb.update_item(
        TableName=table,
        Key={"token_hash": {"S": hashlib.sha256(opened["token"].encode()).hexdigest()}},
        UpdateExpression="SET expires_at = :e",
        ExpressionAttributeValues={":e": {"N": str(ends)}},
    )
    time.sleep(max(0.0, ends - time.time()) + 0.5)  # bounded: about 2.5 s
    assert refused_with(console_stack, opened["token"]) == 401
    console.nav("Delivery log")
    expect(console.main).to_contain_text(SESSION_ENDED)
    expect(page.get_by_label("API token")).to_be_visible()
    page.goto(opened["url"])
    expect(console.main).to_contain_text("This portal link does not sign in")


# --- hardening -------------------------------------------------------------------------------------------------


class AdminPage(BaseHTTPRequestHandler):
    """An OMS admin's page on another origin, showing the console (`?src=`) in an iframe."""

    def do_GET(self) -> None:
        src = html.escape(parse_qs(urlsplit(self.path).query)["src"][0])
        body = f'<!doctype html><title>OMS admin</title><h1>OMS admin</h1><iframe src="{src}"></iframe>'.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture(scope="module")
def admin_site() -> Iterator[str]:
    """The embedding page's origin, a real server on 127.0.0.1 (Chromium lets only local pages frame local ones)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), AdminPage)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def framable_stack(tmp_path_factory: pytest.TempPathFactory, admin_site: str) -> Iterator[LocalStackProcess]:
    """A second local stack, deployed with PortalFrameAncestors naming the admin page's origin."""
    home = tmp_path_factory.mktemp("framable-home")
    stack = start_local_stack(home, parameters=[f"PortalFrameAncestors={admin_site}"])
    yield stack
    if stack.process.poll() is None:
        stop_local_stack(stack)


def embed(browser: Browser, admin_site: str, console_url: str) -> tuple[Page, list[str]]:
    """The admin page showing the console in an iframe; with what the browser logged."""
    context = browser.new_context(viewport=WIDE)
    page = context.new_page()
    logged: list[str] = []
    page.on("console", lambda message: logged.append(message.text))
    page.goto(f"{admin_site}/admin?{urlencode({'src': console_url})}")
    page.wait_for_load_state("load")
    return page, logged


def headers_of(stack: LocalStackProcess) -> requests.structures.CaseInsensitiveDict[str]:
    answer = requests.get(f"{stack.api_url}/whisperer/console/", timeout=30)
    assert answer.status_code == 200
    return answer.headers


def test_no_page_may_frame_the_console_by_default(
    browser: Browser, console_stack: LocalStackProcess, admin_site: str
) -> None:
    headers = headers_of(console_stack)
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    page, logged = embed(browser, admin_site, f"{console_stack.api_url}/whisperer/console/")
    try:
        frame = page.frame_locator("iframe")
        time.sleep(1)  # bounded: time for a console that would load to show its sign-in form
        expect(frame.get_by_role("heading", name="Sign in")).to_have_count(0)
        assert any("frame-ancestors 'none'" in text for text in logged), logged
    finally:
        page.context.close()


def test_pages_named_by_portal_frame_ancestors_may_frame_it(
    browser: Browser, framable_stack: LocalStackProcess, admin_site: str
) -> None:
    headers = headers_of(framable_stack)
    policy = {d.strip() for d in headers["Content-Security-Policy"].split(";")}
    assert f"frame-ancestors {admin_site}" in policy and "frame-ancestors 'none'" not in policy
    assert "X-Frame-Options" not in headers  # it cannot name an origin, and would forbid what the policy allows
    page, logged = embed(browser, admin_site, f"{framable_stack.api_url}/whisperer/console/")
    try:
        expect(page.frame_locator("iframe").get_by_role("heading", name="Sign in")).to_be_visible()
        assert not [text for text in logged if "Content Security Policy" in text], logged
    finally:
        page.context.close()


def test_trusted_types_refuse_a_string_as_markup(browser: Browser, console_stack: LocalStackProcess) -> None:
    context = browser.new_context(viewport=WIDE)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"{console_stack.api_url}/whisperer/console/")
        expect(page.get_by_label("API token")).to_be_visible()
        policy = {d.strip() for d in headers_of(console_stack)["Content-Security-Policy"].split(";")}
        assert {"require-trusted-types-for 'script'", "trusted-types 'none'"} <= policy
        outcome = page.evaluate(
            "() => { try { document.body.innerHTML = '<img src=x>'; return 'assigned'; }"
            " catch (error) { return `${error.name}: ${error.message}`; } }"
        )
        assert outcome.startswith("TypeError") and "TrustedHTML" in outcome, outcome
        page.evaluate("() => { setTimeout(() => { document.getElementById('main').innerHTML = '<b>x</b>'; }); }")
        deadline = time.monotonic() + 10
        while not errors and time.monotonic() < deadline:
            page.wait_for_timeout(50)
        assert errors and "TrustedHTML" in errors[0], errors
        expect(page.get_by_label("API token")).to_be_visible()  # the page is as it was
    finally:
        context.close()


@pytest.mark.parametrize("failing", ["js/app.js", "js/pages/catalog.js", "js/api.js"])
def test_a_module_that_fails_to_load_shows_an_error_not_a_blank_page(
    browser: Browser, console_stack: LocalStackProcess, failing: str
) -> None:
    context = browser.new_context(viewport=WIDE)
    page = context.new_page()
    try:
        page.route(f"**/whisperer/console/v/*/{failing}", lambda route: route.fulfill(status=404, body="Not found."))
        page.goto(f"{console_stack.api_url}/whisperer/console/")
        expect(page.get_by_role("heading", name="The console could not load")).to_be_visible()
        expect(page.get_by_role("alert")).to_contain_text("reload the page")
        page.unroute(f"**/whisperer/console/v/*/{failing}")
        page.get_by_role("button", name="Reload").click()
        expect(page.get_by_label("API token")).to_be_visible()
    finally:
        context.close()


def test_an_old_pages_modules_are_gone_after_a_deploy_never_mixed(console_stack: LocalStackProcess) -> None:
    page = requests.get(f"{console_stack.api_url}/whisperer/console/", timeout=30)
    [version] = set(re.findall(r'src="v/([0-9a-f]+)/js/boot\.js"', page.text))
    current = requests.get(f"{console_stack.api_url}/whisperer/console/v/{version}/js/app.js", timeout=30)
    assert current.status_code == 200
    assert current.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    stale = "0" * len(version)
    assert requests.get(f"{console_stack.api_url}/whisperer/console/v/{stale}/js/app.js", timeout=30).status_code == 404
    assert page.headers["Cache-Control"] == "no-cache"  # the page names the version: always revalidated
