"""The console's flows on the self-service routes (test event, stats, recover, rotate secret, event catalog),
as a person walks them. They need those routes (docs: the self-service API) on the stack under test."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect
from standardwebhooks import Webhook

from oms_webhooks.domain.event_catalog import SUBSCRIBABLE_EVENT_TYPES
from tests.browser.conftest import Console, unique_path
from tests.receiver import Answer, Receiver

pytestmark = pytest.mark.e2e


def test_send_a_test_event_and_see_what_the_endpoint_answered(console: Console, receiver: Receiver) -> None:
    page, owner = console.page, console.owner
    path = unique_path()
    receiver.script(path, Answer(200, b"test received"))
    hook = owner.subscribe(receiver.url(path), "shipment.created")
    console.sign_in()
    console.go(f"hooks/{hook['id']}")
    page.get_by_role("button", name="Send test event").click()
    result = page.get_by_role("region", name="Test event")
    expect(result.get_by_role("status").filter(has_text="Test event delivered.")).to_be_visible()
    expect(result).to_contain_text("HTTP 200")
    expect(result.locator("pre")).to_have_text("test received")
    assert len(receiver.wait_for(path, 1, timeout=20)) == 1
    result.get_by_role("link", name="Open this delivery's attempts and request").click()
    expect(page.locator(".facts").first).to_contain_text("test")
    expect(page.locator("ol.timeline > li")).to_have_count(1)


def test_a_press_on_send_test_event_is_not_lost_while_the_hook_page_loads(console: Console, receiver: Receiver) -> None:
    """The hook's statistics and recent deliveries answer after the hook itself (a slow network, a busy machine).
    If they land between the press and the release of "Send test event", the button must not have moved from
    under the pointer (it did: 450 px down, the click went nowhere, and the panel never said "Sending…")."""
    page, owner = console.page, console.owner
    path = unique_path()
    receiver.script(path, Answer(200, b"test received"))
    hook = owner.subscribe(receiver.url(path), "shipment.created")
    console.sign_in()
    slow = console.hold(lambda url: f"/hooks/{hook['id']}/stats/" in url or "/hook_events/?" in url)
    console.go(f"hooks/{hook['id']}")
    console.heading(f"Hook {hook['id']}: shipment.created")
    button = page.get_by_role("button", name="Send test event")
    if button.is_visible():  # shown before the slow answers came: pressed while they arrive
        button.scroll_into_view_if_needed()
        box = button.bounding_box()
        assert box is not None
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.down()
        slow.release()
        expect(page.locator(".figures")).to_be_visible()
        expect(page.get_by_text("No deliveries yet.")).to_be_visible()
        page.mouse.up()
    else:  # the page waits for them before it shows the button: nothing moves it once shown
        slow.release()
        button.click()
    result = page.get_by_role("region", name="Test event")
    expect(result.get_by_role("status").filter(has_text="Test event delivered.")).to_be_visible()
    assert len(receiver.wait_for(path, 1, timeout=20)) == 1


def test_the_hook_page_charts_deliveries_by_outcome(console: Console, receiver: Receiver) -> None:
    page, owner = console.page, console.owner
    path = unique_path()
    receiver.script(path, Answer(200), Answer(500, b"down"))
    hook = owner.subscribe(receiver.url(path), retry_countdown_config={"choice": "fixed", "kwargs": {"seconds": 3600}})
    owner.publish("package.created", {"id": 1})
    owner.wait_for_delivery(hook["id"], lambda d: d["status"] == "delivered", timeout=20)
    owner.publish("package.created", {"id": 2})
    receiver.wait_for(path, 2, timeout=20)
    owner.wait_for_delivery(hook["id"], lambda d: d["status"] == "retrying", timeout=20)
    console.sign_in()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="package.created"))
    expect(row).to_contain_text("50 %")
    expect(row.get_by_role("img")).to_have_attribute("aria-label", re.compile(r"p95 latency"))
    console.go(f"hooks/{hook['id']}")
    chart = page.get_by_role("img", name=re.compile("Deliveries per hour by status"))
    expect(chart).to_have_attribute("aria-label", re.compile(r": 2 in all over 2[45] hours"))
    expect(page.locator(".figures")).to_contain_text("1 delivered, 1 retrying, 0 failed")
    console.shot("hook-detail-stats")
    page.get_by_text("Show these figures as a table").click()
    figures = page.get_by_role("table", name="Deliveries per hour")
    expect(figures).to_be_visible()
    assert figures.locator("tbody tr").count() in (24, 25)  # a day of hours, the current one maybe apart
    page.get_by_role("button", name="7 days").click()
    expect(page.get_by_role("button", name="7 days")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_role("img", name=re.compile("Deliveries per (hour|day) by status"))).to_have_attribute(
        "aria-label", re.compile(r": 2 in all")
    )


def test_the_period_chosen_last_is_charted_though_an_earlier_one_answers_after_it(
    console: Console, receiver: Receiver
) -> None:
    """Choosing "7 days" then "30 days" while the 7 days' figures answer last (a slow network): the chart shows
    the 30 days pressed (it showed the 7 days, drawn over the 30 by their late answer)."""
    page, owner = console.page, console.owner
    hook = owner.subscribe(receiver.url(unique_path()))
    console.count_answers_read()
    console.sign_in()
    console.go(f"hooks/{hook['id']}")
    chart = page.get_by_role("img", name=re.compile("Deliveries per (hour|day) by status"))
    expect(chart).to_have_attribute("aria-label", re.compile(r" over 2[45] hours$"))
    week = console.hold(lambda url: "period=7d" in url)
    page.get_by_role("button", name="7 days").click()
    page.get_by_role("button", name="30 days").click()
    expect(chart).to_have_attribute("aria-label", re.compile(r" over 3[01] days$"))
    week.release(until_read=True)
    expect(chart).to_have_attribute("aria-label", re.compile(r" over 3[01] days$"))
    expect(page.get_by_role("button", name="30 days")).to_have_attribute("aria-pressed", "true")


def test_rotate_the_secret_see_it_once_copy_it_and_verify_with_it(console: Console, receiver: Receiver) -> None:
    page, owner = console.page, console.owner
    path = unique_path()
    hook = owner.subscribe(receiver.url(path), secret_key="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    console.sign_in()
    console.go(f"hooks/{hook['id']}")
    page.get_by_label("Old secret keeps signing for (seconds)").fill("0")
    page.get_by_role("button", name="Rotate secret").click()
    shown = page.get_by_label("New secret", exact=True)
    expect(shown).to_have_value(re.compile(r"^whsec_[A-Za-z0-9+/=]{32}$"))
    secret = shown.input_value()
    expect(page.get_by_text("This is the only time the new secret is shown")).to_be_visible()
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_text("Copied.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == secret
    console.shot("rotate-secret")

    owner.publish("package.created", {"id": 7})  # signed with the new secret alone (no overlap)
    [request] = receiver.wait_for(path, 1, timeout=20)
    Webhook(secret).verify(request.body, {k.lower(): v for k, v in request.headers.items()})

    page.reload()  # shown once: gone from the page once it is left
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Hook {hook['id']}: package.created")
    assert secret not in page.content()


def test_recover_resends_what_failed_during_an_outage(console: Console, receiver: Receiver) -> None:
    page, owner = console.page, console.owner
    path = unique_path()
    receiver.script(path, Answer(503, b"maintenance"), Answer(200, b"back"))
    hook = owner.subscribe(
        receiver.url(path), retry_countdown_config={"choice": "fixed", "kwargs": {"seconds": 1}, "max_retries": 0}
    )
    owner.publish("package.created", {"id": 8})
    owner.wait_for_delivery(hook["id"], lambda d: d["status"] == "failed", timeout=20)
    console.sign_in()
    console.go(f"hooks/{hook['id']}")
    page.get_by_role("button", name="Re-send failed deliveries").click()
    expect(page.get_by_role("region", name="Recover after an outage")).to_contain_text(
        "Queued 1 delivery to be sent again"
    )
    assert len(receiver.wait_for(path, 2, timeout=30)) == 2
    owner.wait_for_delivery(hook["id"], lambda d: d["status"] == "delivered", timeout=30)


def test_the_event_catalog_shows_each_type_with_schema_and_example(console: Console) -> None:
    page = console.page
    console.sign_in()
    console.nav("Event catalog")
    console.heading("Event catalog")
    entries = page.locator("section.catalog-entry")
    every = len(SUBSCRIBABLE_EVENT_TYPES)  # the OMS's 18 and this service's 4 operational types
    expect(entries).to_have_count(every)
    page.get_by_label("Find an event type").fill("package-created")
    expect(page.get_by_text(f"1 of {every} event types")).to_be_visible()
    entry = page.get_by_role("region", name="package.created")
    example = entry.locator("details").filter(has_text="Example payload").locator("pre")
    expect(example).to_be_hidden()
    entry.get_by_text("Example payload").click()
    expect(example).to_be_visible()
    assert isinstance(json.loads(example.inner_text()), dict)
    entry.get_by_text("JSON Schema of the payload").click()
    schema = json.loads(entry.locator("details").filter(has_text="JSON Schema").locator("pre").inner_text())
    assert schema.get("type") == "object"
    console.shot("catalog")
    page.get_by_label("Find an event type").fill("")
    expect(page.get_by_text(f"{every} of {every} event types")).to_be_visible()
