"""A person at the console, on the routes every version of the API has: sign in, hooks, the create form and its
errors, the delivery log, a delivery's attempts, a manual retry, deactivate, delete, sign out."""

from __future__ import annotations

import json
import re
import time

import pytest
from playwright.sync_api import Locator, Page, ViewportSize, expect

from tests.browser.conftest import NARROW, WIDE, Console, unique_path
from tests.receiver import Answer, Receiver

pytestmark = pytest.mark.e2e

HOSTILE_BODY = "<img src=x onerror=alert(1)><script>window.__pwned = 1; alert(2)</script>"


def fact(page: Page, term: str) -> Locator:
    """The value beside `term` in a page's first list of facts."""
    return page.locator(".facts").first.locator(f"xpath=dt[normalize-space()='{term}']/following-sibling::dd[1]")


def test_an_integrator_finds_and_fixes_a_failing_delivery(console: Console, receiver: Receiver) -> None:
    page, owner = console.page, console.owner
    path = unique_path()
    receiver.script(path, Answer(500, b"upstream exploded", headers={"X-Upstream": "db-1"}), Answer(200, b"thanks"))

    # Sign in: a wrong token is refused and not kept; the right one opens the hooks page.
    console.open()
    console.shot("sign-in")
    page.get_by_label("API token").fill("wrongtoken123")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("The API did not accept this token.")).to_be_visible()
    assert page.evaluate("sessionStorage.length") == 0
    page.get_by_label("API token").fill(owner.token)
    page.get_by_role("button", name="Sign in").click()
    console.heading("Hooks")
    expect(page.get_by_text("No hooks yet.")).to_be_visible()

    # Create with a bad URL: the API's message appears beside the field; fix it and the hook is created.
    page.get_by_role("link", name="New hook").click()
    console.heading("New hook")
    page.get_by_label("Event type").select_option("package.created")
    page.get_by_label("Target URL").fill("not a url")
    page.get_by_role("button", name="Create hook").click()
    url_field = page.locator(".field", has=page.get_by_label("Target URL"))
    expect(url_field).to_contain_text("Enter a valid URL")
    expect(page.get_by_label("Target URL")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Target URL")).to_be_focused()
    console.shot("hook-form-error")
    page.get_by_label("Target URL").fill(receiver.url(path))
    page.get_by_label("Countdown").select_option("fixed")
    page.get_by_label("Seconds between attempts").fill("3600")  # the next automatic retry is an hour away
    page.get_by_label("Additional headers").fill("X-Shop: istanbul-01")
    page.get_by_role("button", name="Create hook").click()
    expect(console.main.get_by_role("status").filter(has_text="Hook created.")).to_be_visible()
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(re.compile(r"^Hook \d+: package\.created$"))
    hook_id = int(re.findall(r"\d+", heading.inner_text())[0])
    expect(page.locator(".facts")).to_contain_text("X-Shop: istanbul-01")
    expect(page.locator(".facts")).to_contain_text("fixed (seconds 3600)")

    # The OMS publishes; the subscriber answers 500; the log shows a retrying delivery.
    owner.publish("package.created", {"id": 4711, "number": "PKG-4711"})
    receiver.wait_for(path, 1, timeout=20)
    owner.wait_for_delivery(hook_id, lambda d: d["status"] == "retrying", timeout=20)
    console.nav("Delivery log")
    console.heading("Delivery log")
    row = page.get_by_role("row").filter(has_text="package.created")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Retrying")
    expect(row).to_contain_text("HTTP 500")
    console.shot("delivery-log")

    # Its attempt timeline and the exact request; a retry without force is refused, with force it lands.
    row.get_by_role("link").first.click()
    console.heading("Delivery of package.created")
    attempts = page.locator("ol.timeline > li")
    expect(attempts).to_have_count(1)
    expect(attempts.first.get_by_role("heading", level=3)).to_have_text(re.compile(r"^Attempt 1: HTTP 500 in \d+"))
    expect(attempts.first.locator("pre")).to_have_text("upstream exploded")
    body = page.get_by_label("Request body")
    expect(body).to_contain_text('"number": "PKG-4711"')
    sent = json.loads(receiver.received[path][0].body)
    assert json.loads(body.inner_text()) == sent  # what the page shows is what the subscriber got
    expect(page.get_by_text(f"POST {receiver.url(path)}")).to_be_visible()
    page.get_by_role("button", name="Retry now").click()
    refused = console.main.get_by_role("alert")
    expect(refused).to_contain_text("(event_100_6)")  # the API's own refusal, with its code
    expect(refused).to_contain_text("Tick Force to send it now anyway.")
    page.get_by_label("Force (retry even while automatic retries are scheduled)").check()
    page.get_by_role("button", name="Retry now").click()
    expect(console.main.get_by_role("status").filter(has_text="Delivered: HTTP 200")).to_be_visible()
    expect(attempts).to_have_count(2)
    expect(attempts.nth(1).get_by_role("heading", level=3)).to_have_text(re.compile(r"^Attempt 2: HTTP 200 in \d+"))
    expect(attempts.nth(1)).to_contain_text("manual retry")
    expect(attempts.nth(1).locator("pre")).to_have_text("thanks")
    expect(attempts.first.locator("pre")).to_have_text("upstream exploded")  # each attempt keeps its own answer
    attempts.first.get_by_text("Answer headers").click()
    answer_headers = attempts.first.get_by_role("table", name="Headers of the answer to attempt 1")
    expect(answer_headers.get_by_role("row").filter(has_text="X-Upstream")).to_contain_text("db-1")
    expect(attempts.nth(1).get_by_text("Answer headers")).to_be_visible()
    expect(page.locator(".facts").first).to_contain_text("Delivered")
    expect(fact(page, "Attempts")).to_have_text("2")
    expect(fact(page, "Retries made")).to_have_text("1")  # retry_count is 2: it counts the first try too
    assert len(receiver.received[path]) == 2
    console.shot("delivery")

    # The hook page, then the hooks table: deactivate it there.
    page.get_by_role("link", name=f"Hook {hook_id}").first.click()
    console.heading(f"Hook {hook_id}: package.created")
    expect(page.get_by_role("table", name=re.compile("newest deliveries"))).to_contain_text("Delivered")
    console.shot("hook-detail")
    console.nav("Hooks")
    hook_row = page.get_by_role("row").filter(has=page.get_by_role("link", name="package.created"))
    expect(hook_row).to_contain_text(receiver.url(path))
    expect(hook_row).to_contain_text("Active")
    expect(hook_row).not_to_contain_text("…")  # its 24-hour figures have loaded (or are marked n/a)
    console.shot("hooks")
    hook_row.get_by_role("button", name="Deactivate").click()
    expect(console.main.get_by_role("status").filter(has_text=f"Hook {hook_id} deactivated.")).to_be_visible()
    expect(hook_row).to_contain_text("Inactive")
    assert owner.http.get(owner.url(f"hooks/{hook_id}/")).json()["is_active"] is False

    # The token went only in the Authorization header: never in a URL, never in localStorage.
    api_calls = [r for r in console.requests if "/whisperer/" in r.url and "/whisperer/console/" not in r.url]
    assert {r.headers.get("authorization") for r in api_calls} == {"Token wrongtoken123", f"Token {owner.token}"}
    assert all(owner.token not in r.url for r in console.requests)
    assert owner.token not in page.url
    assert page.evaluate("localStorage.length") == 0

    # Sign out forgets it: the sign-in form, and no way back to the hooks without the token.
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert page.evaluate("sessionStorage.length") == 0
    console.go("hooks")
    page.reload()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_role("navigation", name="Console")).to_be_hidden()
    assert console.dialogs == []


# Where each of the page's buttons and button-like links is, one box a control, in document order.
CONTROL_BOXES = """selector => [...document.querySelectorAll(selector)].map((control) => {
  const box = control.getBoundingClientRect();
  return [control.textContent, Math.round(box.x), Math.round(box.y), Math.round(box.width)];
})"""


@pytest.mark.parametrize("size", [WIDE, NARROW], ids=["1280px", "390px"])
def test_the_hooks_actions_stay_put_while_their_figures_arrive(
    console: Console, receiver: Receiver, size: ViewportSize
) -> None:
    """Each hook's 24 h figures (its sparkline) answer after the list (a slow network, a busy machine). When they
    land, no Edit, Deactivate or Delete moves: a press on one must not be released over another row's Deactivate,
    which acts at once (they moved 23 px down and 35 px sideways at 1280 px, up to 140 px down at 390 px)."""
    page, owner = console.page, console.owner
    for event_type in ("package.created", "shipment.created", "package.created", "shipment.created"):
        owner.subscribe(receiver.url(unique_path()), event_type)  # the package hooks get a delivery, the others none
    owner.publish("package.created", {"id": 4711})
    for hook in owner.http.get(owner.url("hooks/")).json()["results"]:
        if hook["event_type"] == "package.created":
            owner.wait_for_delivery(hook["id"], lambda d: d["status"] == "delivered", timeout=30)
    page.set_viewport_size(size)
    console.count_answers_read()
    figures = console.hold(lambda url: "/stats/" in url)
    console.sign_in()
    expect(console.main.locator("tbody tr")).to_have_count(4)
    before = page.evaluate(CONTROL_BOXES, "td.actions .button")
    figures.release(until_read=True)
    expect(console.main.locator("tbody")).not_to_contain_text("…")
    expect(console.main.locator(".spark")).to_have_count(2)  # the hooks with a delivery chart their latency
    assert page.evaluate(CONTROL_BOXES, "td.actions .button") == before


@pytest.mark.parametrize("size", [WIDE, NARROW], ids=["1280px", "390px"])
def test_retry_now_stays_put_while_the_delivery_page_refreshes(
    console: Console, receiver: Receiver, size: ViewportSize
) -> None:
    """An unfinished delivery's page redraws its summary every 3 s; when the delivery ends, lines come and go
    ("refreshes every 3 s", the next attempt, why it waits). "Retry now" must not move under a pointer meanwhile
    (it moved up by the lines that went)."""
    page, owner = console.page, console.owner
    path = unique_path()
    receiver.script(path, Answer(500, b"not yet"), Answer(200))
    hook = owner.subscribe(receiver.url(path), retry_countdown_config={"choice": "fixed", "kwargs": {"seconds": 3600}})
    owner.publish("package.created", {"id": 4711})
    retrying = owner.wait_for_delivery(hook["id"], lambda d: d["status"] == "retrying", timeout=30)
    page.set_viewport_size(size)
    console.sign_in()
    console.go(f"deliveries/{retrying['uuid']}")
    expect(page.get_by_text("Unfinished: this page refreshes every 3 s.")).to_be_visible()
    retry = page.get_by_role("button", name="Retry now")
    before = retry.bounding_box()
    # The delivery ends behind the page's back (another person's retry, the service's next attempt).
    forced = owner.http.post(owner.url(f"hook_events/{retrying['uuid']}/retry/"), json={"force": True})
    assert forced.ok, forced.text
    expect(fact(page, "Status")).to_contain_text("Delivered")  # the page's refresh has drawn it
    expect(page.get_by_text("Unfinished: this page refreshes every 3 s.")).to_have_count(0)
    assert retry.bounding_box() == before


def test_editing_shows_the_apis_messages_beside_each_field(console: Console, receiver: Receiver) -> None:
    page, owner = console.page, console.owner
    hook = owner.subscribe(receiver.url(unique_path()), "shipment.created")
    console.sign_in()
    console.go(f"hooks/{hook['id']}/edit")
    console.heading(f"Edit hook {hook['id']}")
    expect(page.get_by_label("Event type")).to_have_value("shipment.created")
    page.get_by_label("Additional headers").fill("Bad Header: x\nX-Webhook-Signature: forged")
    page.get_by_label("Countdown").select_option("random")
    page.get_by_label("Shortest wait in seconds").fill("30")
    page.get_by_label("Longest wait in seconds").fill("10")
    page.get_by_label("Max retries").fill("many")
    page.get_by_label("Username").fill("shop:1")
    page.get_by_label("Password", exact=True).fill("s3cret")
    page.get_by_label("Callback").fill("x" * 65)
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".field", has=page.get_by_label("Username"))).to_contain_text("colon")
    expect(page.locator(".field", has=page.get_by_label("Callback"))).to_contain_text("64 characters")
    headers = page.locator(".field", has=page.get_by_label("Additional headers"))
    expect(headers).to_contain_text('"Bad Header" is not a valid header name.')
    expect(page.locator(".field", has=page.get_by_label("Max retries"))).to_contain_text("A valid integer is required.")
    expect(page.get_by_role("group", name="Retries after a failed attempt")).to_contain_text(
        "min_value must be less than max_value"
    )
    assert owner.http.get(owner.url(f"hooks/{hook['id']}/")).json()["retry_countdown_config"]["choice"] != "random"

    page.get_by_label("Additional headers").fill("X-Shop: ankara-02")
    page.get_by_label("Longest wait in seconds").fill("90")
    page.get_by_label("Max retries").fill("3")
    page.get_by_label("Username").fill("shop")
    page.get_by_label("Password", exact=True).fill("s3cret")
    page.get_by_label("Callback").fill("")
    page.get_by_role("button", name="Save changes").click()
    expect(console.main.get_by_role("status").filter(has_text="Changes saved.")).to_be_visible()
    expect(page.locator(".facts")).to_contain_text("random (min_value 30, max_value 90); at most 3 retries")
    expect(page.locator(".facts")).to_contain_text("X-Shop: ankara-02")
    expect(page.locator(".facts")).to_contain_text("as shop (password stored, never shown)")
    assert "s3cret" not in page.content()
    saved = owner.http.get(owner.url(f"hooks/{hook['id']}/")).json()
    assert saved["config"] == {"auth": {"auth_type": "basic", "username": "shop"}}
    assert saved["retry_countdown_config"] == {
        "choice": "random",
        "kwargs": {"min_value": 30, "max_value": 90},
        "max_retries": 3,
    }


def test_delete_asks_first_and_removes_the_hook(console: Console, receiver: Receiver) -> None:
    page, owner = console.page, console.owner
    hook = owner.subscribe(receiver.url(unique_path()), "transfer.status.created")
    console.sign_in()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="transfer.status.created"))
    row.get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("dialog", name=f"Delete hook {hook['id']}?")
    expect(dialog).to_contain_text("stays listed with its delivery log")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(row).to_have_count(1)
    row.get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete hook").click()
    expect(console.main.get_by_role("status").filter(has_text=f"Hook {hook['id']} deleted.")).to_be_visible()
    expect(row).to_contain_text("Inactive")  # whisperer's soft delete: deactivated, listed with its log
    assert owner.http.get(owner.url(f"hooks/{hook['id']}/")).json()["is_active"] is False


def test_a_hostile_answer_is_shown_as_text_and_runs_nothing(console: Console, receiver: Receiver) -> None:
    page, owner = console.page, console.owner
    path, query = unique_path(), "?<img/src=x/onerror=alert(3)>"
    for sent_as in (path + query, path + query.replace("<", "%3C").replace(">", "%3E")):  # raw or escaped
        receiver.script(sent_as, Answer(500, HOSTILE_BODY.encode()))
    hostile_url = receiver.url(path + query)
    hook = owner.subscribe(
        hostile_url,
        additional_headers={"X-Note": "<script>alert(4)</script>"},
        retry_countdown_config={"choice": "fixed", "kwargs": {"seconds": 3600}},
    )
    owner.publish("package.created", {"id": 1, "note": "<b onmouseover=alert(5)>bold</b>"})
    owner.wait_for_delivery(hook["id"], lambda d: d["status"] == "retrying", timeout=20)
    console.sign_in()
    expect(page.get_by_role("row").filter(has_text="package.created")).to_contain_text(hostile_url)
    console.go(f"hooks/{hook['id']}")
    expect(page.locator(".facts")).to_contain_text("X-Note: <script>alert(4)</script>")
    console.go("deliveries")
    page.get_by_role("row").filter(has_text="package.created").get_by_role("link").first.click()
    answer = page.locator("ol.timeline pre")
    expect(answer).to_have_text(HOSTILE_BODY)  # shown literally, character for character
    expect(page.get_by_label("Request body")).to_contain_text("<b onmouseover=alert(5)>bold</b>")
    assert page.locator("main img, main script, main b").count() == 0  # none of it became an element
    assert page.evaluate("window.__pwned") is None
    assert console.dialogs == []  # no alert() ran


def test_the_log_filters_and_pages_by_the_apis_cursor(console: Console, receiver: Receiver) -> None:
    page, owner = console.page, console.owner
    packages = owner.subscribe(receiver.url(unique_path()), "package.created")
    shipments = owner.subscribe(receiver.url(unique_path()), "shipment.created")
    for n in range(11):
        owner.publish("package.created", {"id": n})
    owner.publish("shipment.created", {"id": 99})
    deadline = time.monotonic() + 60
    while len(owner.deliveries(limit=50, delivered="true")) < 12:
        assert time.monotonic() < deadline, owner.deliveries(limit=50)
        time.sleep(0.2)

    console.sign_in()
    console.go("deliveries?limit=10")
    rows = page.locator("table.deliveries tbody tr")
    expect(rows).to_have_count(10)
    expect(page.get_by_role("button", name="← Newer")).to_be_disabled()
    page.get_by_role("button", name="Older →").click()
    expect(rows).to_have_count(2)
    expect(page.get_by_text("Page 2")).to_be_visible()
    expect(page.get_by_role("button", name="Older →")).to_be_disabled()
    page.get_by_role("button", name="← Newer").click()
    expect(rows).to_have_count(10)

    page.get_by_label("Event type").select_option("shipment.created")
    page.get_by_role("button", name="Apply filters").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(f"Hook {shipments['id']}")
    assert "event_type=shipment.created" in page.url  # the filtered view has an address of its own

    console.go(f"deliveries?webhook={packages['id']}&delivered=false")
    expect(page.get_by_label("Hook", exact=True)).to_have_value(str(packages["id"]))
    expect(page.get_by_text("No deliveries match these filters.")).to_be_visible()
    console.go("deliveries?response_http_status=abc")
    expect(console.main.get_by_role("alert")).to_contain_text("response_http_status")


def test_the_log_follows_new_deliveries_without_a_reload(console: Console, receiver: Receiver) -> None:
    page, owner = console.page, console.owner
    path = unique_path()
    hook = owner.subscribe(receiver.url(path), "stock_location.created")
    console.sign_in()
    console.go("deliveries")
    expect(page.get_by_text("No deliveries match these filters.")).to_be_visible()
    page.evaluate("window.__sameDocument = true")
    page.get_by_label("Follow new deliveries live").check()
    owner.publish("stock_location.created", {"id": 1})
    owner.publish("stock_location.created", {"id": 2})
    receiver.wait_for(path, 2, timeout=20)
    rows = page.locator("table.deliveries tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text(f"Hook {hook['id']}")
    expect(rows.first).to_contain_text("Delivered")
    assert page.evaluate("window.__sameDocument") is True


def test_a_poll_answering_after_older_does_not_draw_over_the_older_page(console: Console, receiver: Receiver) -> None:
    """Following live, a poll of the first page is on its way when "Older →" is pressed, and answers after the
    older page (a slow network): page 2 stays page 2 (it showed the first page's rows under "Page 2")."""
    page, owner = console.page, console.owner
    path = unique_path()
    hook = owner.subscribe(receiver.url(path), "stock_location.created")
    owner.publish("stock_location.created", {"id": 1})
    receiver.wait_for(path, 1, timeout=20)
    owner.publish("stock_location.created", {"id": 2})
    receiver.wait_for(path, 2, timeout=20)
    newest, older = owner.wait_for_deliveries(hook["id"], 2)  # newest first
    console.count_answers_read()
    console.sign_in()
    console.go("deliveries?limit=1")
    first_link = page.locator("table.deliveries tbody tr").first.get_by_role("link").first
    expect(first_link).to_have_attribute("href", f"#/deliveries/{newest['uuid']}")
    poll = console.hold(lambda url: "/hook_events/?" in url and "cursor=" not in url)
    with page.expect_request(lambda request: "/hook_events/?" in request.url):
        page.get_by_label("Follow new deliveries live").check()  # polls the first page 3 s on
    page.get_by_role("button", name="Older →").click()
    expect(page.get_by_text("Page 2")).to_be_visible()
    expect(first_link).to_have_attribute("href", f"#/deliveries/{older['uuid']}")
    poll.release(until_read=True)
    expect(page.get_by_text("Page 2")).to_be_visible()
    expect(first_link).to_have_attribute("href", f"#/deliveries/{older['uuid']}")


def test_a_double_press_on_older_goes_one_page_back(console: Console, receiver: Receiver) -> None:
    """ "Older →" pressed twice before the older page answers (a double click, a slow network) goes one page back:
    it took the same page again and called it "Page 3", since the next page's cursor comes with that answer."""
    page, owner = console.page, console.owner
    path = unique_path()
    hook = owner.subscribe(receiver.url(path), "stock_location.created")
    for number in (1, 2, 3):
        owner.publish("stock_location.created", {"id": number})
        receiver.wait_for(path, number, timeout=20)
    newest, second, _ = owner.wait_for_deliveries(hook["id"], 3)  # newest first
    console.sign_in()
    console.go("deliveries?limit=1")
    first_link = page.locator("table.deliveries tbody tr").first.get_by_role("link").first
    expect(first_link).to_have_attribute("href", f"#/deliveries/{newest['uuid']}")
    older_page = console.hold(lambda url: "/hook_events/?" in url and "cursor=" in url)
    page.get_by_role("button", name="Older →").dblclick()
    older_page.release()
    expect(first_link).to_have_attribute("href", f"#/deliveries/{second['uuid']}")
    expect(page.get_by_text("Page 2")).to_be_visible()
    expect(page.get_by_text("Page 3")).to_have_count(0)


def test_a_held_delivery_shows_what_it_waits_for_and_cannot_jump_ahead(console: Console, receiver: Receiver) -> None:
    """An ordered hook's later event waits behind the earlier one of its object: the log and the delivery say so,
    link to the one it waits for, and a retry by hand is refused with the API's reason."""
    page, owner = console.page, console.owner
    path = unique_path("/ordered")
    receiver.script(path, Answer(500, b"not yet"), Answer(200))
    hook_id = owner.subscribe(
        receiver.url(path),
        "package.status.transitioned",
        ordering="object",
        retry_countdown_config={"choice": "fixed", "kwargs": {"seconds": 3600}},
    )["id"]
    owner.publish("package.status.transitioned", {"id": 815, "state": "packed"})
    receiver.wait_for(path, 1, timeout=20)
    owner.publish("package.status.transitioned", {"id": 815, "state": "shipped"})
    deadline = time.monotonic() + 20
    while not any(d["held"] for d in owner.deliveries(webhook=hook_id)):
        assert time.monotonic() < deadline, "the later delivery never showed as held"
        time.sleep(0.2)
    first = next(d for d in owner.deliveries(webhook=hook_id) if not d["held"])

    console.sign_in()
    console.nav("Delivery log")
    held_row = page.get_by_role("row").filter(has_text=f"held behind {first['uuid'][:8]}")
    expect(held_row).to_have_count(1)
    expect(held_row).to_contain_text("Pending")
    console.shot("delivery-log-held")
    held_row.get_by_role("link").first.click()
    expect(fact(page, "Object")).to_have_text("package:815")
    expect(fact(page, "Waits for")).to_contain_text(f"held: waits for {first['uuid']} to end")
    page.get_by_label("Force (retry even while automatic retries are scheduled)").check()
    page.get_by_role("button", name="Retry now").click()
    expect(console.main.get_by_role("alert")).to_contain_text("(ordered_100_1)")
    assert len(receiver.received[path]) == 1  # nothing jumped ahead of the waiting delivery
    console.shot("delivery-held")
    fact(page, "Waits for").get_by_role("link").click()
    expect(fact(page, "Waits for")).to_have_text("not waiting for an earlier delivery")
    expect(fact(page, "Status")).to_contain_text("Retrying")

    # The hook's form offers the choice, and its page says which it has.
    console.go(f"hooks/{hook_id}")
    expect(fact(page, "Ordering")).to_have_text("each object's deliveries in the order of its events")
    page.get_by_role("link", name="Edit").click()
    expect(page.get_by_label("Ordering")).to_have_value("object")
    page.get_by_label("Ordering").select_option("none")
    page.get_by_role("button", name="Save changes").click()
    expect(fact(page, "Ordering")).to_have_text("none (as they come)")
    assert owner.http.get(owner.url(f"hooks/{hook_id}/")).json()["ordering"] == "none"
