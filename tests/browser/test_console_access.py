"""The console for people who use a keyboard, a screen reader or a phone: every flow reachable by keyboard
with a visible focus, named landmarks and controls, and no page wider than a 390 px screen."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import NARROW, Console, unique_path
from tests.receiver import Receiver

pytestmark = pytest.mark.e2e

FOCUS_STYLE = "() => { const s = getComputedStyle(document.activeElement); return [s.outlineStyle, s.outlineWidth]; }"


def test_sign_in_and_move_around_with_the_keyboard_alone(console: Console) -> None:
    page = console.page
    console.open()
    expect(page.get_by_label("API token")).to_be_focused()  # ready to paste into
    page.keyboard.press("Shift+Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label("API token")).to_be_focused()
    page.keyboard.type(console.owner.token)
    page.keyboard.press("Enter")
    console.heading("Hooks")
    expect(page.get_by_role("heading", level=1)).to_be_focused()  # a screen reader hears where it landed
    for _ in range(10):  # bounded: the navigation is within the first few stops
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Delivery log":
            break
    expect(page.get_by_role("navigation", name="Console").get_by_role("link", name="Delivery log")).to_be_focused()
    style, width = page.evaluate(FOCUS_STYLE)
    assert style == "solid" and width == "3px"  # the focus is visible
    page.keyboard.press("Enter")
    console.heading("Delivery log")
    page.get_by_label("Follow new deliveries live").focus()
    page.keyboard.press("Space")
    expect(page.get_by_label("Follow new deliveries live")).to_be_checked()


def test_every_page_fits_a_phone_screen(console: Console, receiver: Receiver) -> None:
    page, owner = console.page, console.owner
    path = unique_path("/a-rather-long-path-that-a-real-subscriber-might-well-use/webhooks/oms/v2/package-events")
    hook = owner.subscribe(receiver.url(path), additional_headers={"X-Shop": "istanbul-01"})
    owner.publish("package.created", {"id": 12, "number": "PKG-12-" + "x" * 200})
    delivery = owner.wait_for_delivery(hook["id"], lambda d: d["status"] == "delivered", timeout=20)
    page.set_viewport_size(NARROW)
    console.sign_in()
    pages = {
        "hooks": "Hooks",
        "hooks/new": "New hook",
        f"hooks/{hook['id']}": f"Hook {hook['id']}: package.created",
        f"hooks/{hook['id']}/edit": f"Edit hook {hook['id']}",
        "deliveries": "Delivery log",
        f"deliveries/{delivery['uuid']}": "Delivery of package.created",
        "catalog": "Event catalog",
    }
    for route, title in pages.items():
        console.go(route)
        console.heading(title)
        expect(page.get_by_role("navigation", name="Console").get_by_role("link", name="Hooks")).to_be_visible()
        page.wait_for_load_state("networkidle")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"#/{route} is {overflow} px wider than the screen"
