"""The hook form's `filter`: written as JSON, shown on the hook's page and in the form, refused with the API's own
message beside the field, and cleared back to every event."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Console, unique_path
from tests.receiver import Receiver

pytestmark = pytest.mark.e2e

WEB_ONLY = {"channel": ["web"], "total": [{"numeric": [">=", 100]}]}


def test_a_filter_is_written_shown_refused_and_cleared_in_the_form(console: Console, receiver: Receiver) -> None:
    page, owner = console.page, console.owner
    console.sign_in()
    console.go("hooks/new")
    console.heading("New hook")
    page.get_by_label("Event type").select_option("package.created")
    page.get_by_label("Target URL").fill(receiver.url(unique_path()))
    field = page.get_by_label("Filter (EventBridge event pattern)")
    field.fill('{"channel": ["web"')  # not JSON: said before anything is sent
    page.get_by_role("button", name="Create hook").click()
    expect(page.locator(".field", has=field)).to_contain_text("Not valid JSON")
    field.fill('{"channel": "web"}')  # JSON, but no pattern: the API's message, beside the field
    page.get_by_role("button", name="Create hook").click()
    expect(page.locator(".field", has=field)).to_contain_text('"channel" must be an object or an array')
    assert owner.http.get(owner.url("hooks/")).json()["results"] == []

    field.fill(json.dumps(WEB_ONLY))
    page.get_by_role("button", name="Create hook").click()
    expect(console.main.get_by_role("status").filter(has_text="Hook created.")).to_be_visible()
    (hook,) = owner.http.get(owner.url("hooks/")).json()["results"]
    assert hook["filter"] == WEB_ONLY
    expect(page.locator(".facts")).to_contain_text('"numeric"')

    console.go(f"hooks/{hook['id']}/edit")
    console.heading(f"Edit hook {hook['id']}")
    assert json.loads(field.input_value()) == WEB_ONLY
    field.fill("")  # empty: every event
    page.get_by_role("button", name="Save changes").click()
    expect(console.main.get_by_role("status").filter(has_text="Changes saved.")).to_be_visible()
    expect(page.locator(".facts")).to_contain_text("Every event")
    assert owner.http.get(owner.url(f"hooks/{hook['id']}/")).json()["filter"] is None
