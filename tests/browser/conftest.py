"""The delivery console in a real browser: Debian's Chromium, headless, driven by Playwright (the system browser
through `executable_path`, nothing downloaded), against the local stack as `make run` starts it."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Dialog,
    Locator,
    Page,
    Playwright,
    Request,
    Route,
    ViewportSize,
    expect,
    sync_playwright,
)

from tests.e2e.conftest import Client, LocalStackProcess, start_local_stack, stop_local_stack

INSTALL_HINT = "browser tests need Debian's chromium: run `make install-browser` (apt-get install -y chromium)"
WIDE = ViewportSize(width=1280, height=900)
NARROW = ViewportSize(width=390, height=844)
# `make screenshots` sets this; each test then saves PNGs of the pages it walks through, at both widths.
SCREENSHOTS = os.environ.get("CONSOLE_SCREENSHOTS")

# Generous: both cores may be busy with other test runs.
expect.set_options(timeout=20_000)


def chromium_path() -> str:
    """The system Chromium: $CHROMIUM, else Debian's `chromium` on PATH."""
    found = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail(INSTALL_HINT, pytrace=False)
    return found


@pytest.fixture(scope="package")
def console_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStackProcess]:
    stack = start_local_stack(tmp_path_factory.mktemp("console-home"))
    yield stack
    if stack.process.poll() is None:
        stop_local_stack(stack)


# Package scope, not session: Playwright's sync API keeps an asyncio loop running in this thread until it stops,
# and the tests that run after these (the retrier's asyncio.run) need that loop gone.
@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=chromium_path(), headless=True)
    yield browser
    browser.close()


@pytest.fixture
def owner(console_stack: LocalStackProcess) -> Iterator[Client]:
    """A fresh owner with a token of its own; its hooks are deleted afterwards."""
    with requests.Session() as http:
        client = Client(console_stack, http)
        yield client
        client.erase_hooks()


# Counts the answers the page has read, each once the page's code awaiting it has run on to its end:
# Response.text() settles, the awaits on it resume as microtasks, and only then does this timer's task count it.
COUNT_ANSWERS_READ = """
const text = Response.prototype.text;
window.answersRead = {};
Response.prototype.text = async function () {
  const body = await text.call(this);
  setTimeout(() => (window.answersRead[this.url] = (window.answersRead[this.url] || 0) + 1));
  return body;
};
"""


@dataclass
class HeldAnswers:
    """The API requests of the page whose URL `matches`, held unanswered until `release`: a slow answer on cue."""

    page: Page
    matches: Callable[[str], bool]
    routes: list[Route] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.page.route(self.matches, lambda route: self.routes.append(route))

    def release(self, *, until_read: bool = False) -> None:
        """Sends the held requests on to the API, and lets later ones through at once. With `until_read`, returns
        once the page has read their answers and acted on them (Console.count_answers_read before it loaded)."""
        urls = [route.request.url for route in self.routes]
        before = (
            self.page.evaluate("urls => urls.map((url) => window.answersRead[url] || 0)", urls) if until_read else []
        )
        for route in self.routes:
            route.continue_()
        self.routes.clear()
        self.page.unroute(self.matches)
        if until_read:
            self.page.wait_for_function(
                "([urls, before]) => urls.every((url, i) => (window.answersRead[url] || 0) > before[i])",
                arg=[urls, before],
            )


@dataclass
class Console:
    """One person at the console: the page, what the page did, and the owner whose token they paste."""

    page: Page
    stack: LocalStackProcess
    owner: Client
    errors: list[str] = field(default_factory=list)  # uncaught exceptions in the page
    dialogs: list[str] = field(default_factory=list)  # alert()/confirm() opened by anything
    requests: list[Request] = field(default_factory=list)

    @property
    def main(self) -> Locator:
        """The page's content (the screen-reader announcer outside it repeats some messages)."""
        return self.page.get_by_role("main")

    def nav(self, name: str) -> None:
        """Follows a link of the site navigation."""
        self.page.get_by_role("navigation", name="Console").get_by_role("link", name=name, exact=True).click()

    @property
    def url(self) -> str:
        return f"{self.stack.api_url}/whisperer/console/"

    def open(self, route: str = "") -> None:
        self.page.goto(self.url + (f"#/{route}" if route else ""))

    def go(self, route: str) -> None:
        """Follows a console link (same document, no reload)."""
        self.page.evaluate("route => { location.hash = '#/' + route; }", route)

    def count_answers_read(self) -> None:
        """From the next page load on, HeldAnswers.release(until_read=True) can wait for the page to act."""
        self.page.add_init_script(COUNT_ANSWERS_READ)

    def hold(self, matches: Callable[[str], bool]) -> HeldAnswers:
        """Holds the page's API requests whose URL `matches` until the test releases them."""
        return HeldAnswers(self.page, matches)

    def sign_in(self) -> None:
        self.open()
        self.page.get_by_label("API token").fill(self.owner.token)
        self.page.get_by_role("button", name="Sign in").click()
        expect(self.page.get_by_role("heading", name="Hooks", exact=True)).to_be_visible()

    def heading(self, name: str) -> None:
        expect(self.page.get_by_role("heading", level=1)).to_have_text(name)

    def shot(self, name: str) -> None:
        """With CONSOLE_SCREENSHOTS set, the page as it is now at 1280 px and at 390 px wide."""
        if not SCREENSHOTS:
            return
        folder = Path(SCREENSHOTS)
        folder.mkdir(parents=True, exist_ok=True)
        self.page.evaluate("document.activeElement && document.activeElement.blur()")
        self.page.screenshot(path=folder / f"{name}-1280.png", full_page=True, animations="disabled")
        self.page.set_viewport_size(NARROW)
        self.page.screenshot(path=folder / f"{name}-390.png", full_page=True, animations="disabled")
        self.page.set_viewport_size(WIDE)


@pytest.fixture
def console(browser: Browser, console_stack: LocalStackProcess, owner: Client) -> Iterator[Console]:
    context = browser.new_context(viewport=WIDE, locale="en-GB", timezone_id="UTC")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=console_stack.api_url)
    page = context.new_page()
    person = Console(page, console_stack, owner)
    page.on("pageerror", lambda error: person.errors.append(str(error)))
    page.on("console", lambda message: _keep_errors(message, person))
    page.on("dialog", lambda dialog: _dismiss(dialog, person))
    page.on("request", lambda request: person.requests.append(request))
    yield person
    context.close()
    assert not person.errors, f"the page threw: {person.errors}"


def _keep_errors(message: ConsoleMessage, person: Console) -> None:
    # A CSP refusal is reported on the console; the console must never trigger one.
    if message.type == "error" and "Content Security Policy" in message.text:
        person.errors.append(message.text)


def _dismiss(dialog: Dialog, person: Console) -> None:
    person.dialogs.append(f"{dialog.type}: {dialog.message}")
    dialog.dismiss()


def unique_path(prefix: str = "/hook") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def api_json(answer: requests.Response) -> Any:
    assert answer.ok, answer.text
    return answer.json()
