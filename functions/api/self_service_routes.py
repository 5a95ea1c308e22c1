"""Self-service (issue 12) under `/whisperer/hooks/{id}/` and `/whisperer/hook_events/`: secret rotation, test
events, recovery of failed deliveries, and a hook's stats."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

import api_schema as doc
import self_service_schema as self_service_doc
from answers import answer
from hook_event_routes import detail
from oms_webhooks.adapters.hook_store import HookStore
from oms_webhooks.clock import iso
from oms_webhooks.rules.hook_stats import HookStats, Period
from oms_webhooks.rules.recovery import OwnerRecoverRequest, RecoverRequest
from oms_webhooks.rules.secret_rotation import RotateSecretRequest, SecretRotation
from oms_webhooks.rules.trial import Trial, TrialRequest, outcome
from oms_webhooks.settings import settings
from oms_webhooks.wiring import delivery_index, delivery_store, sender
from parameters import HookId, hook_number, owner
from services import recovery

router = Router()
logger = Logger(child=True)


@router.post(
    "/whisperer/hooks/<hook_id>/rotate_secret",
    summary="Rotate the hook's signing secret (an asymmetric hook's key pair); the old one signs for an overlap",
    operation_id="hooks_rotate_secret",
    tags=["hooks"],
    responses=doc.responses(
        200,
        "The new secret (only when generated), the old one's expiry and the hook.",
        self_service_doc.RotatedSecret,
        errors=(400, 404, 413, 415),
        e409=("Other rotations of this hook at the same moment; try again.", doc.Detail),
    ),
)
def rotate_secret(hook_id: HookId, request: Annotated[RotateSecretRequest | None, Body()] = None) -> Response[Any]:
    rotation = SecretRotation(HookStore(settings().hooks_table)).rotate(
        owner(), hook_number(hook_id), request or RotateSecretRequest()
    )
    expires = rotation.hook.previous_secret_expires_at
    logger.info(
        "Secret rotated",
        extra={
            "hook_id": rotation.hook.id,
            "generated": bool(rotation.generated_secret),
            "key_pair": rotation.rekeyed,
            "overlap_until": rotation.hook.previous_signing_key_expires_at if rotation.rekeyed else expires,
        },
    )
    body: dict[str, Any] = {"secret_key": rotation.generated_secret} if rotation.generated_secret else {}
    body["previous_secret_expires_at"] = iso(expires) if expires else None
    key_expires = rotation.hook.previous_signing_key_expires_at
    body["previous_signing_key_expires_at"] = iso(key_expires) if key_expires else None
    body["hook"] = rotation.hook.public()
    return answer(200, body)


@router.post(
    "/whisperer/hooks/<hook_id>/test",
    summary="Send a signed test event (`webhook.test`, or a type and payload you choose) to the hook now; record it",
    operation_id="hooks_test",
    tags=["hooks"],
    responses=doc.responses(
        200,
        "Delivered: the recorded test delivery and what came of it.",
        self_service_doc.TrialDelivery,
        errors=(400, 404, 406, 413, 415),
        e406=("Not delivered: the recorded test delivery and what came of it.", self_service_doc.TrialDelivery),
    ),
)
def send_test_event(hook_id: HookId, request: Annotated[TrialRequest | None, Body()] = None) -> Response[Any]:
    config = settings()
    trial = Trial(HookStore(config.hooks_table), delivery_store(), sender(), config.retention_days)
    delivery, result = trial.send(owner(), hook_number(hook_id), request)
    logger.info(
        "Test event sent",
        extra={"delivery_uuid": delivery.uuid, "hook_id": delivery.webhook, "delivered": delivery.delivered},
    )
    body = {**detail(owner(), delivery), "detail": outcome(delivery, result), "test": True}  # as hook_events/{id}/
    return answer(200 if delivery.delivered else 406, body)


@router.post(
    "/whisperer/hooks/<hook_id>/recover",
    summary="Re-send, once each, the hook's deliveries that failed in a window (through the retry queue)",
    operation_id="hooks_recover",
    tags=["hooks"],
    responses=doc.responses(
        202, "Queued; the retrier sends them.", self_service_doc.Recovered, errors=(400, 404, 413, 415)
    ),
)
def recover_hook(hook_id: HookId, request: Annotated[RecoverRequest, Body()]) -> Response[self_service_doc.Recovered]:
    report = recovery().recover_hook(owner(), hook_number(hook_id), request)
    logger.info("Recovery queued", extra={"hook_id": hook_id, "queued": report.queued})
    return answer(202, report.public())


@router.post(
    "/whisperer/hook_events/recover",
    summary="Re-send, once each, the owner's deliveries that failed in a window (through the retry queue)",
    operation_id="hook_events_recover",
    tags=["hook_events"],
    responses=doc.responses(202, "Queued; the retrier sends them.", self_service_doc.Recovered, errors=(400, 413, 415)),
)
def recover_deliveries(request: Annotated[OwnerRecoverRequest, Body()]) -> Response[self_service_doc.Recovered]:
    report = recovery().recover_owner(owner(), request)
    logger.info("Recovery queued", extra={"event_type": request.event_type, "queued": report.queued})
    return answer(202, report.public())


@router.get(
    "/whisperer/hooks/<hook_id>/stats",
    summary="How the hook's endpoint did over a period: outcomes, latency, a series for a chart",
    operation_id="hooks_stats",
    tags=["hooks"],
    responses=doc.responses(200, "The hook's figures.", self_service_doc.HookStats, errors=(400, 404)),
)
def hook_stats(
    hook_id: HookId,
    period: Annotated[
        Period | None, Query(description="24h (hourly series, the default), 7d (hourly) or 30d (daily).")
    ] = None,
) -> Response[self_service_doc.HookStats]:
    stats = HookStats(delivery_index(), HookStore(settings().hooks_table))
    return answer(200, stats.stats(owner(), hook_number(hook_id), period or "24h"))
