"""axe-core on every page of the console, at 1280 and 390 px, with every kind of status on screen (delivered,
retrying, failed, deferred): no serious or critical finding anywhere. Then the keyboard alone: a hook created
without the mouse, and the tables still tables to a screen reader once a narrow screen lays them out as cards."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.accessibility import blocking_findings
from tests.browser.conftest import NARROW, WIDE, Console, api_json, unique_path
from tests.receiver import Answer, Receiver

pytestmark = pytest.mark.e2e


def audit(page: Page, name: str, findings: dict[str, list[str]], ready: Callable[[], None]) -> None:
    """axe at both widths once the page shows what `ready` waits for."""
    for width, size in (("1280", WIDE), ("390", NARROW)):
        page.set_viewport_size(size)
        ready()
        page.wait_for_timeout(300)  # the layout of the new width settles
        findings[f"{name} @{width}"] = blocking_findings(page)
    page.set_viewport_size(WIDE)


def deferred_one(console: Console, hook_id: int) -> dict[str, Any]:
    """The hook's delivery that its rate limit deferred (the other of the two went at once)."""
    deadline = time.monotonic() + 30
    while True:
        waiting = [d for d in console.owner.deliveries(webhook=hook_id) if d["status"] == "deferred"]
        if waiting:
            return waiting[0]
        assert time.monotonic() < deadline, console.owner.deliveries(webhook=hook_id)
        time.sleep(0.2)


def test_every_page_has_no_serious_or_critical_axe_finding(console: Console, receiver: Receiver) -> None:
    page, owner = console.page, console.owner
    failing, fine, dead, paced = (unique_path(p) for p in ("/fail", "/fine", "/dead", "/paced"))
    receiver.script(failing, *[Answer(500, b"upstream exploded")] * 3)
    receiver.script(dead, *[Answer(503, b"down")] * 3)
    retrying = owner.subscribe(
        receiver.url(failing), retry_countdown_config={"choice": "fixed", "kwargs": {"seconds": 3600}}
    )
    owner.subscribe(receiver.url(fine))
    gone = owner.subscribe(
        receiver.url(dead),
        "shipment.created",
        retry_countdown_config={"choice": "fixed", "kwargs": {"seconds": 1}, "max_retries": 0},
    )
    slow = owner.subscribe(receiver.url(paced), "stock_location.created", rate_limit=0.01)
    owner.publish("package.created", {"id": 4711})
    owner.publish("shipment.created", {"id": 12})
    owner.publish("stock_location.created", {"id": 1})
    owner.publish("stock_location.created", {"id": 2})
    failed = owner.wait_for_delivery(gone["id"], lambda d: d["status"] == "failed", timeout=30)
    assert failed
    late = deferred_one(console, slow["id"])
    first = owner.wait_for_delivery(retrying["id"], lambda d: d["status"] == "retrying", timeout=30)
    findings: dict[str, list[str]] = {}

    console.open()
    audit(page, "sign-in", findings, lambda: expect(page.get_by_label("API token")).to_be_visible())
    console.sign_in()
    audit(page, "hooks", findings, lambda: expect(console.main.locator("tbody")).not_to_contain_text("…"))
    console.go("hooks/new")
    audit(page, "hook form", findings, lambda: expect(page.get_by_label("Target URL")).to_be_visible())
    page.get_by_role("button", name="Create hook").click()
    audit(
        page,
        "hook form with errors",
        findings,
        lambda: expect(page.locator(".field-error:visible").first).to_be_visible(),
    )
    console.go(f"hooks/{retrying['id']}")
    audit(page, "hook page", findings, lambda: expect(page.locator("figure.chart")).to_be_visible())
    console.go(f"hooks/{retrying['id']}/edit")
    audit(
        page,
        "hook edit form",
        findings,
        lambda: expect(page.get_by_label("Target URL")).to_have_value(re.compile("fail")),
    )
    console.go("deliveries")
    audit(page, "delivery log", findings, lambda: expect(console.main.locator("tbody tr")).to_have_count(5))
    console.go(f"deliveries/{first['uuid']}")
    audit(page, "delivery (retrying)", findings, lambda: expect(page.locator("ol.timeline > li")).to_have_count(1))
    console.go(f"deliveries/{late['uuid']}")
    audit(page, "delivery (deferred)", findings, lambda: console.heading("Delivery of stock_location.created"))
    console.go("catalog")
    audit(page, "event catalog", findings, lambda: expect(page.locator(".catalog-entry").first).to_be_visible())
    console.go("nowhere")
    audit(page, "not found", findings, lambda: console.heading("Page not found"))

    link = api_json(owner.http.post(owner.url("portal/sessions/"), json={"ttl_seconds": 900, "read_only": True}))
    page.goto(link["url"])
    audit(
        page,
        "portal session (read-only) hooks",
        findings,
        lambda: expect(page.locator("#session-note")).to_be_visible(),
    )
    console.go("hooks/new")
    audit(page, "read-only refusal", findings, lambda: console.heading("This portal session is read-only"))

    counts = {name: len(found) for name, found in findings.items()}
    print("axe serious/critical findings per page:", counts)
    assert not any(findings.values()), "\n".join(
        f"{name}: {line}" for name, found in findings.items() for line in found
    )


def tab_to(page: Page, selector: str, limit: int = 60) -> None:
    """Presses Tab until the element `selector` names has the focus: it is reachable by keyboard, in order."""
    for _ in range(limit):
        if page.evaluate("s => document.activeElement === document.querySelector(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} not reached in {limit} presses of Tab")


def test_a_hook_is_created_with_the_keyboard_alone(console: Console, receiver: Receiver) -> None:
    page, owner = console.page, console.owner
    path = unique_path("/keys")
    console.open()
    expect(page.get_by_label("API token")).to_be_focused()  # where typing starts
    page.keyboard.type(owner.token)
    page.keyboard.press("Enter")
    console.heading("Hooks")
    tab_to(page, "a[href='#/hooks/new']")
    page.keyboard.press("Enter")
    console.heading("New hook")
    tab_to(page, "#f-event_type")
    page.keyboard.type("shipment.created")  # a closed select's type-ahead
    expect(page.get_by_label("Event type")).to_have_value("shipment.created")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Target URL")).to_be_focused()
    page.keyboard.type(receiver.url(path))
    tab_to(page, "#f-is_active")
    expect(page.get_by_label("Active (deliver events to this hook)")).to_be_checked()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Create hook")).to_be_focused()
    page.keyboard.press("Enter")
    expect(console.main.get_by_role("status").filter(has_text="Hook created.")).to_be_visible()
    [hook] = api_json(owner.http.get(owner.url("hooks/")))["results"]
    assert (hook["event_type"], hook["target_url"]) == ("shipment.created", receiver.url(path))


def test_tables_stay_tables_on_a_narrow_screen(console: Console, receiver: Receiver) -> None:
    """Below 640 px each row is laid out as a card; a screen reader still gets a table with rows, cells and
    column headers (explicit roles: CSS display: block drops them in some browsers)."""
    page, owner = console.page, console.owner
    path = unique_path()
    hook = owner.subscribe(receiver.url(path))
    owner.publish("package.created", {"id": 1})
    owner.wait_for_delivery(hook["id"], lambda d: d["status"] == "delivered", timeout=20)
    console.sign_in()
    page.set_viewport_size(NARROW)
    for route, name, cells in (("hooks", "1 hook", 7), ("deliveries", "Deliveries, newest first", 6)):
        console.go(route)
        table = page.get_by_role("table", name=re.compile(name))
        expect(table).to_be_visible()
        expect(table.get_by_role("columnheader")).to_have_count(8 if route == "hooks" else 7)
        row = table.get_by_role("row").filter(has=page.get_by_role("rowheader"))
        expect(row).to_have_count(1)
        expect(row.get_by_role("cell")).to_have_count(cells)
        assert page.evaluate("getComputedStyle(document.querySelector('table.cards tbody tr')).display") == "block"
    page.set_viewport_size(WIDE)
