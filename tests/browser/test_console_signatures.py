"""The hook form's `signature_scheme`: an asymmetric hook's public key shown on its page and in the form, the key pair
dropped when it goes back to symmetric; and the operational event types offered beside the OMS's."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Console, unique_path
from tests.receiver import Receiver

pytestmark = pytest.mark.e2e


def test_an_asymmetric_hook_shows_its_public_key_and_goes_back_to_symmetric(
    console: Console, receiver: Receiver
) -> None:
    page, owner = console.page, console.owner
    console.sign_in()
    console.go("hooks/new")
    console.heading("New hook")
    event_type = page.get_by_label("Event type")
    expect(event_type.locator("optgroup option")).to_have_text(  # waits: the form is drawn once its reads are done
        [
            "whisperer.delivery.exhausted",
            "whisperer.hook.disabled",
            "whisperer.hook.circuit_opened",
            "whisperer.hook.circuit_closed",
        ]
    )
    event_type.select_option("whisperer.hook.disabled")
    page.get_by_label("Target URL").fill(receiver.url(unique_path()))
    page.get_by_label("Signature scheme").select_option("asymmetric")
    page.get_by_role("button", name="Create hook").click()
    expect(console.main.get_by_role("status").filter(has_text="Hook created.")).to_be_visible()
    (hook,) = owner.http.get(owner.url("hooks/")).json()["results"]
    assert hook["signature_scheme"] == "asymmetric" and hook["public_key"].startswith("whpk_")
    expect(page.locator("#public-key")).to_have_text(hook["public_key"])
    assert "whsk_" not in page.content()

    console.go(f"hooks/{hook['id']}/edit")
    console.heading(f"Edit hook {hook['id']}")
    expect(page.locator(".field", has=page.get_by_label("Signature scheme"))).to_contain_text(hook["public_key"])
    page.get_by_label("Signature scheme").select_option("symmetric")
    page.get_by_role("button", name="Save changes").click()
    expect(console.main.get_by_role("status").filter(has_text="Changes saved.")).to_be_visible()
    expect(page.locator("#public-key")).to_have_count(0)
    shown = owner.http.get(owner.url(f"hooks/{hook['id']}/")).json()
    assert (shown["signature_scheme"], shown["public_key"]) == ("symmetric", None)
