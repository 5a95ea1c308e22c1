"""Rotation without downtime: both secrets sign during the overlap, only the new one after; the old never shows."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from oms_webhooks.domain.deliveries import Delivery
from oms_webhooks.domain.hooks import Hook, HookPatch
from oms_webhooks.domain.signing import signature_headers
from oms_webhooks.rules.attempt import delivery_headers, recorded_headers
from oms_webhooks.rules.secret_rotation import (
    RotateSecretRequest,
    generate_secret,
    live_previous_secret,
    rotated,
)

OLD = "whsec_" + base64.b64encode(b"old secret bytes").decode()
NEW = "whsec_" + base64.b64encode(b"new secret bytes").decode()
MOMENT = datetime(2026, 1, 7, 10, 0, tzinfo=UTC)


def hook(**fields: object) -> Hook:
    return Hook.model_validate(
        {
            "id": 1,
            "owner": "o",
            "event_type": "package.created",
            "target_url": "http://r.test/",
            "created_date": MOMENT,
            "modified_date": MOMENT,
            **fields,
        }
    )


def delivery() -> Delivery:
    return Delivery(
        uuid="0" * 32,
        owner="o",
        webhook=1,
        event_id="e",
        event_type="package.created",
        request_payload={"id": 1},
        target_url="http://r.test/",
        created_date=MOMENT,
        modified_date=MOMENT,
    )


def test_generated_secrets_are_whsec_with_24_random_bytes() -> None:
    secrets = {generate_secret() for _ in range(50)}
    assert len(secrets) == 50
    for secret in secrets:
        assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:], validate=True)) == 24
        Webhook(secret)  # the official library takes it as is


def test_during_the_overlap_both_standard_signatures_verify_and_whisperers_is_the_new_one() -> None:
    body = delivery().body()
    headers = signature_headers(body, NEW, "0" * 32, int(time.time()), previous_secret=OLD)
    new_sig, old_sig = headers["webhook-signature"].split(" ")
    assert new_sig.startswith("v1,") and old_sig.startswith("v1,")
    for secret in (NEW, OLD):
        assert Webhook(secret).verify(body, headers) == json.loads(body)
    assert headers["X-Whisperer-Signature"] == "sha256=" + hmac.new(NEW.encode(), body, hashlib.sha256).hexdigest()
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + base64.b64encode(b"a third secret").decode()).verify(body, headers)


def test_the_same_secret_twice_signs_once() -> None:
    headers = signature_headers(b"{}", NEW, "0" * 32, 1_700_000_000, previous_secret=NEW)
    assert " " not in headers["webhook-signature"]


def test_rotated_keeps_the_current_secret_for_the_overlap_only() -> None:
    before = hook(secret_key=OLD)
    after = rotated(before, NEW, 3600, MOMENT)
    assert (after.secret_key, after.previous_secret_key) == (NEW, OLD)
    assert after.previous_secret_expires_at == MOMENT + timedelta(hours=1)
    assert live_previous_secret(after, MOMENT + timedelta(minutes=59)) == OLD
    assert live_previous_secret(after, MOMENT + timedelta(hours=1)) is None
    assert rotated(before, NEW, 0, MOMENT).previous_secret_key is None
    assert rotated(hook(), NEW, 3600, MOMENT).previous_secret_expires_at is None  # no secret: nothing to keep
    again = rotated(after, "third", 60, MOMENT)
    assert again.previous_secret_key == NEW  # only the secret just replaced stays valid


def test_an_expired_previous_secret_never_signs_whatever_the_hook_still_holds() -> None:
    past = hook(secret_key=NEW, previous_secret_key=OLD, previous_secret_expires_at=datetime.now(UTC))
    current = hook(
        secret_key=NEW, previous_secret_key=OLD, previous_secret_expires_at=datetime.now(UTC) + timedelta(hours=1)
    )
    record = delivery()
    assert " " not in delivery_headers(record, past, record.body())["webhook-signature"]
    assert len(delivery_headers(record, current, record.body())["webhook-signature"].split(" ")) == 2


def test_the_old_secret_is_never_in_an_answer() -> None:
    shown = json.dumps(rotated(hook(secret_key=OLD), NEW, 60, MOMENT).public())
    assert OLD not in shown and NEW not in shown and "previous" not in shown


def test_setting_a_secret_by_hand_drops_the_old_one() -> None:
    during = rotated(hook(secret_key=OLD), NEW, 3600, MOMENT)
    changed = during.changed(HookPatch.model_validate({"secret_key": "by-hand"}))
    assert changed.previous_secret_key is None and changed.previous_secret_expires_at is None
    untouched = during.changed(HookPatch.model_validate({"is_active": False}))
    assert untouched.previous_secret_key == OLD


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"secret_key": ""}, "secret_key"),
        ({"secret_key": "whsec_"}, "secret_key"),
        ({"secret_key": "whsec_***"}, "secret_key"),
        ({"overlap_seconds": 604_801}, "overlap_seconds"),
        ({"overlap_seconds": -1}, "overlap_seconds"),
        ({"overlap_seconds": 1.5}, "overlap_seconds"),
        ({"overlap_seconds": True}, "overlap_seconds"),
    ],
)
def test_rotation_requests_are_checked(body: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        RotateSecretRequest.model_validate(body)
    assert [error["loc"][0] for error in raised.value.errors()] == [field]


def test_recorded_headers_keep_everything_but_credentials() -> None:
    headers = {"Authorization": "Basic dXNlcjpwYXNz", "webhook-signature": "v1,abc", "X-Shop": "1"}
    assert recorded_headers(headers) == {
        "Authorization": "Basic [redacted]",
        "webhook-signature": "v1,abc",
        "X-Shop": "1",
    }
