"""What an integrator debugging "why didn't order 4711 arrive" needs from the console (issue 25, section 2):
deferred deliveries labelled and followed, the API's searches, one event's deliveries to every hook, a page's
undelivered ones retried, every hook recovered, a test event of one's choosing, the body copied byte for byte,
UTC times that stay current, a sparkline with numbers, and a 390 px layout that keeps its parts in place."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from playwright.sync_api import FloatRect, Locator, Page, expect

from tests.browser.conftest import NARROW, WIDE, Console, api_json, unique_path
from tests.receiver import Answer, Receiver

pytestmark = pytest.mark.e2e


def status_of(owner: Any, hook_id: int, status: str) -> dict[str, Any]:
    """The hook's delivery in `status`, once there is one (bounded by time)."""
    deadline = time.monotonic() + 30
    while True:
        found = [d for d in owner.deliveries(webhook=hook_id) if d["status"] == status]
        if found:
            return found[0]
        assert time.monotonic() < deadline, owner.deliveries(webhook=hook_id)
        time.sleep(0.2)


def box(locator: Locator) -> FloatRect:
    found = locator.bounding_box()
    assert found is not None, locator
    return found


def test_a_deferred_delivery_says_why_and_when_and_its_page_follows_it(console: Console, receiver: Receiver) -> None:
    page, owner = console.page, console.owner
    path = unique_path("/paced")
    hook = owner.subscribe(receiver.url(path), "stock_location.created", rate_limit=0.01)
    owner.publish("stock_location.created", {"id": 1})
    owner.publish("stock_location.created", {"id": 2})
    late = status_of(owner, hook["id"], "deferred")
    console.sign_in()
    console.go(f"deliveries?status=deferred&webhook={hook['id']}")
    row = page.locator("table.deliveries tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator(".badge")).to_have_text("Deferred")
    expect(row.locator(".wait-note")).to_have_text("rate limit of 0.01 per second: queued for its turn")
    expect(row).to_contain_text(re.compile(r"\(in \d+ (s|min)\)"))
    console.shot("deferred-in-log")

    row.get_by_role("link").first.click()
    console.heading("Delivery of stock_location.created")
    waiting = page.locator(".facts").first.locator("xpath=dt[.='Waiting because']/following-sibling::dd[1]")
    expect(waiting).to_contain_text("rate limit of 0.01 per second: queued for its turn; next attempt")
    following = page.get_by_text("Unfinished: this page refreshes every 3 s.")
    expect(following).to_be_visible()
    # Sent by hand elsewhere: the open page shows the new attempt and the end of it, with no reload.
    page.evaluate("window.__sameDocument = true")
    sent = owner.http.post(owner.url(f"hook_events/{late['uuid']}/retry/"), json={"force": True})
    assert sent.status_code == 200, sent.text
    expect(page.locator("ol.timeline > li")).to_have_count(1, timeout=15_000)
    expect(page.locator(".facts").first.locator(".badge")).to_have_text("Delivered")
    expect(following).to_be_hidden()
    assert page.evaluate("window.__sameDocument") is True


def test_the_log_searches_as_the_api_does_and_shows_one_events_delivery_to_each_hook(
    console: Console, receiver: Receiver
) -> None:
    page, owner = console.page, console.owner
    failing, fine = unique_path("/down"), unique_path("/up")
    receiver.script(failing, Answer(500, b"down"), Answer(200, b"back"))
    down = owner.subscribe(
        receiver.url(failing), retry_countdown_config={"choice": "fixed", "kwargs": {"seconds": 3600}}
    )
    up = owner.subscribe(receiver.url(fine))
    owner.publish("package.created", {"id": 4711})
    owner.publish("package.created", {"id": 4712})
    retrying = status_of(owner, down["id"], "retrying")
    receiver.wait_for(fine, 2, timeout=20)
    console.sign_in()

    console.nav("Delivery log")
    page.get_by_label("Status", exact=True).select_option("retrying")
    page.get_by_role("button", name="Apply filters").click()
    rows = page.locator("table.deliveries tbody tr")
    expect(rows).to_have_count(1)
    assert "status=retrying" in page.url
    console.go(f"deliveries?object_id={retrying['object_id']}")
    expect(rows).to_have_count(2)  # that order's delivery to each hook
    console.go(f"deliveries?uuid={retrying['uuid']}")
    expect(rows).to_have_count(1)
    expect(page.get_by_label("Delivery uuid")).to_have_value(retrying["uuid"])

    # One event, every hook: from a row's link, one row per hook the event reached.
    rows.first.get_by_role("link", name=re.compile("^to every hook")).click()
    console.heading("One event's deliveries")
    expect(rows).to_have_count(2)
    expect(page.locator("table.deliveries")).to_contain_text(f"Hook {up['id']}")
    assert f"event_id={retrying['event_id']}" in page.url
    console.shot("event-deliveries")

    # Retry what is not delivered on the page: one request each, with the progress shown.
    page.get_by_role("button", name="Retry the undelivered ones on this page").click()
    # In the page, not the screen readers' live region, which says the same once its polite pause has passed.
    expect(page.locator("#main").get_by_text("1 of 1 retried: 1 delivered, 0 not delivered.")).to_be_visible()
    expect(page.get_by_role("progressbar", name="Retry progress")).to_have_attribute("value", "1")
    expect(rows.filter(has_text=f"Hook {down['id']}").locator(".badge")).to_have_text("Delivered")
    sent = receiver.received[failing]
    assert len(sent) == 3 and retrying["uuid"].encode() in sent[-1].body  # two events, then the one retry


def test_every_hooks_failed_deliveries_are_recovered_from_the_log(console: Console, receiver: Receiver) -> None:
    page, owner = console.page, console.owner
    path = unique_path("/outage")
    receiver.script(path, Answer(503, b"outage"), Answer(200, b"back"))
    hook = owner.subscribe(
        receiver.url(path),
        "shipment.created",
        retry_countdown_config={"choice": "fixed", "kwargs": {"seconds": 1}, "max_retries": 0},
    )
    owner.publish("shipment.created", {"id": 9})
    status_of(owner, hook["id"], "failed")
    console.sign_in()
    console.nav("Delivery log")
    page.get_by_text("Recover after an outage: every hook").click()
    page.get_by_label("Only deliveries of").select_option("shipment.created")
    page.get_by_role("button", name="Re-send failed deliveries of every hook").click()
    expect(console.main.get_by_role("status").filter(has_text="Queued 1 delivery of every active hook")).to_be_visible()
    receiver.wait_for(path, 2, timeout=30)
    status_of(owner, hook["id"], "delivered")


def test_a_test_event_of_a_catalog_type_with_its_example_payload(console: Console, receiver: Receiver) -> None:
    page, owner = console.page, console.owner
    path = unique_path("/trial")
    receiver.script(path, Answer(200, b"ok"))
    hook = owner.subscribe(receiver.url(path), "package.created")
    console.sign_in()
    console.go(f"hooks/{hook['id']}")
    panel = page.get_by_role("region", name="Test event")
    panel.get_by_label("Event type").select_option("package.created")
    payload = panel.get_by_label("Payload (JSON; empty: the default)")
    expect(payload).to_have_value(re.compile(r"^\{\n  \""))  # the catalog's example, to edit
    example = api_json(owner.http.get(owner.url("event_types/"), params={"limit": 100}))
    [entry] = [e for e in example["results"] if e["event_type"] == "package.created"]
    assert api_json_text(payload) == entry["example"]
    payload.fill('{"id": 4711, "total": 1.0}')
    panel.get_by_role("button", name="Send test event").click()
    expect(panel.get_by_role("status").filter(has_text="Test event delivered.")).to_be_visible()
    [request] = receiver.wait_for(path, 1, timeout=20)
    assert request.headers["X-Whisperer-Event"] == "package.created"
    assert b'"payload":{"id":4711,"total":1.0}' in request.body
    payload.fill("{not json")
    panel.get_by_role("button", name="Send test event").click()
    expect(panel.locator(".field-error")).to_contain_text("Not valid JSON")
    expect(payload).to_be_focused()


def api_json_text(field: Locator) -> Any:
    import json

    return json.loads(field.input_value())


def test_copy_body_copies_the_exact_bytes_sent(console: Console, receiver: Receiver) -> None:
    """A float 1.0 and an integer above 2^53 are where JSON.parse and JSON.stringify would change the body."""
    page, owner = console.page, console.owner
    path = unique_path("/exact")
    hook = owner.subscribe(receiver.url(path), secret_key="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    owner.publish("package.created", {"id": 4711, "total": 1.0, "big": 9007199254740993})
    [request] = receiver.wait_for(path, 1, timeout=20)
    assert b'"total":1.0' in request.body and b'"big":9007199254740993' in request.body
    delivery = status_of(owner, hook["id"], "delivered")
    console.sign_in()
    console.go(f"deliveries/{delivery['uuid']}")
    shown = page.get_by_label("Request body")
    expect(shown).to_contain_text('"total": 1.0')
    expect(shown).to_contain_text('"big": 9007199254740993')
    page.get_by_role("button", name="Copy body as sent").click()
    expect(page.get_by_text("Copied.")).to_be_visible()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.encode() == request.body  # byte for byte: what was signed


def test_times_are_utc_with_their_zone_and_relative_times_keep_up(console: Console, receiver: Receiver) -> None:
    page, owner = console.page, console.owner
    path = unique_path("/clock")
    hook = owner.subscribe(receiver.url(path))
    owner.publish("package.created", {"id": 1})
    status_of(owner, hook["id"], "delivered")
    console.sign_in()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="package.created"))
    last = row.locator("td[data-label='Last delivery'] time")
    expect(last).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(\d+ s ago\)$"))
    first = row.locator(".ago").inner_text()
    expect(row.locator(".ago")).not_to_have_text(first, timeout=5_000)  # it moves on by itself
    figures = row.locator(".spark-figures")  # the sparkline says its numbers
    expect(figures).to_have_text(re.compile(r"\d+ ms"))
    expect(row.get_by_role("img")).to_have_attribute("aria-label", re.compile(r"p95 latency .*: .*\d+ ms"))


def test_rate_limit_is_shown_and_set_in_the_form(console: Console, receiver: Receiver) -> None:
    page, owner = console.page, console.owner
    hook = owner.subscribe(receiver.url(unique_path()), "shipment.created")
    console.sign_in()
    console.go(f"hooks/{hook['id']}/edit")
    page.get_by_label("Rate limit (deliveries a second)").fill("0.001")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".field", has=page.get_by_label("Rate limit"))).to_contain_text("0.01")  # the API's words
    page.get_by_label("Rate limit (deliveries a second)").fill("2.5")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".facts")).to_contain_text("at most 2.5 deliveries a second")
    assert api_json(owner.http.get(owner.url(f"hooks/{hook['id']}/")))["rate_limit"] == 2.5
    console.go(f"hooks/{hook['id']}/edit")
    page.get_by_label("Rate limit (deliveries a second)").fill("")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".facts")).to_contain_text("Rate limit")
    assert api_json(owner.http.get(owner.url(f"hooks/{hook['id']}/")))["rate_limit"] is None


def test_at_390_px_the_parts_stay_in_place(console: Console, receiver: Receiver) -> None:
    page, owner = console.page, console.owner
    path = unique_path()
    hook = owner.subscribe(receiver.url(path))
    owner.publish("package.created", {"id": 1})
    status_of(owner, hook["id"], "delivered")
    console.sign_in()
    page.set_viewport_size(NARROW)
    console.go(f"hooks/{hook['id']}")
    expect(page.locator("figure.chart")).to_be_visible()
    width = NARROW["width"]

    # The chart keeps its y-axis, labels and all, inside the screen; the page does not scroll sideways.
    axis = page.locator("svg.y-axis")
    expect(axis.locator("text").first).to_be_visible()
    assert box(axis)["x"] >= 0 and box(axis)["x"] + box(axis)["width"] <= width
    assert box(page.locator("svg.bar-chart"))["x"] + box(page.locator("svg.bar-chart"))["width"] <= width
    assert page.evaluate("document.documentElement.scrollWidth") <= width

    # A checkbox's label stays beside its box.
    check = page.locator("#recover-retrying")
    label = page.locator("label[for='recover-retrying']")
    assert abs(box(label)["y"] - box(check)["y"]) < box(check)["height"]
    assert box(label)["x"] > box(check)["x"] + box(check)["width"]

    # The header: each navigation link on one line, all on the same one.
    tops = [box(link)["y"] for link in page.get_by_role("navigation", name="Console").get_by_role("listitem").all()]
    assert max(tops) - min(tops) < 4, tops
    for link in page.get_by_role("navigation", name="Console").get_by_role("link").all():
        assert box(link)["height"] < 32 and box(link)["x"] + box(link)["width"] <= width

    # Recent deliveries come before the stats and the actions.
    recent = box(page.get_by_role("heading", name="Recent deliveries"))["y"]
    assert recent < box(page.get_by_role("heading", name="Deliveries by status"))["y"]
    assert recent < box(page.get_by_role("heading", name="Test event"))["y"]
    page.set_viewport_size(WIDE)


def relative_luminance(rgb: str) -> float:
    channels = [int(n) / 255 for n in re.findall(r"\d+", rgb)[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(one: str, other: str) -> float:
    high, low = sorted((relative_luminance(one), relative_luminance(other)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def focus_ring(page: Page) -> tuple[str, str]:
    """The focused element's outline colour, and the colour behind the ring (its nearest opaque background)."""
    return page.evaluate(
        """() => {
          const el = document.activeElement;
          let behind = el.parentElement;
          const clear = (node) => /rgba\\(.*, 0\\)|transparent/.test(getComputedStyle(node).backgroundColor);
          while (behind && clear(behind)) behind = behind.parentElement;
          const under = getComputedStyle(behind || document.documentElement).backgroundColor;
          return [getComputedStyle(el).outlineColor, under];
        }"""
    )


def test_the_focus_ring_stands_out_by_at_least_3_to_1(console: Console) -> None:
    page = console.page
    console.sign_in()
    page.keyboard.press("Tab")  # the skip link
    page.keyboard.press("Tab")  # Hooks, in the header's blue
    ring, behind = focus_ring(page)
    assert contrast(ring, behind) >= 3, (ring, behind)
    page.get_by_role("link", name="New hook").focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")  # New hook again, by keyboard, on the page's own background
    ring, behind = focus_ring(page)
    assert contrast(ring, behind) >= 3, (ring, behind)
