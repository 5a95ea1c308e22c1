"""What every route answers when it raises: whisperer's refusals for the core's errors, 400 with field errors for
invalid input, 404 for no route, and a JSON 500, logged with its traceback, for anything else."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from answers import answer
from field_errors import field_errors
from oms_webhooks.domain.errors import (
    AlreadyDelivered,
    AmbiguousNumber,
    DuplicateHook,
    HeldInOrder,
    InvalidField,
    InvalidFields,
    NotFound,
    StillRetrying,
)
from oms_webhooks.domain.hook_config import MissingPassword
from oms_webhooks.rules.secret_rotation import ConcurrentChange

SERVER_ERROR = "A server error occurred."  # Django REST framework's words for a 500

router = Router()  # exception handlers only: included in the app, they apply to every router's routes
logger = Logger(child=True)


@router.exception_handler(RequestValidationError)
def invalid_request(error: RequestValidationError) -> Response[Any]:
    return answer(400, field_errors(error.errors()))


@router.exception_handler(InvalidField)
def invalid_field(error: InvalidField) -> Response[Any]:
    return answer(400, {error.field: [error.message]})


@router.exception_handler(InvalidFields)
def invalid_fields(error: InvalidFields) -> Response[Any]:
    return answer(400, error.errors)


@router.exception_handler(AmbiguousNumber)
def ambiguous_number(error: AmbiguousNumber) -> Response[Any]:
    detail = f"Several deliveries have the id {error.number}; name one by its uuid."
    return answer(409, {"detail": detail, "uuids": error.uuids})


@router.exception_handler(MissingPassword)
def missing_password(error: MissingPassword) -> Response[Any]:
    return answer(400, {"config": {"auth": {"password": ["This field is required."]}}})  # a missing nested field


@router.exception_handler(NotFound)
def not_found(error: NotFound) -> Response[Any]:
    return answer(404, {"detail": "Not found."})


@router.exception_handler(AlreadyDelivered)
def already_delivered(error: AlreadyDelivered) -> Response[Any]:
    return answer(406, {"code": "event_100_3", "en": "Event already delivered"})


@router.exception_handler(StillRetrying)
def still_retrying(error: StillRetrying) -> Response[Any]:
    return answer(406, {"code": "event_100_6", "en": "Event is still in retry process"})


@router.exception_handler(HeldInOrder)
def held_in_order(error: HeldInOrder) -> Response[Any]:
    text = "Event waits behind an earlier event of its object: retrying it now would overtake it"
    return answer(406, {"code": "ordered_100_1", "en": text, "waits_for": error.waits_for})


@router.exception_handler(DuplicateHook)
def duplicate(error: DuplicateHook) -> Response[Any]:
    return answer(406, {"code": "webhook_100_2", "en": "Webhook already registered"})


@router.exception_handler(ConcurrentChange)
def concurrent_change(error: ConcurrentChange) -> Response[Any]:
    return answer(409, {"detail": "The hook changed meanwhile; try again."})


@router.exception_handler(NotFoundError)  # what `app.not_found` registers: no route for this method and path
def no_route(error: NotFoundError) -> Response[Any]:
    return answer(404, {"detail": "Not found."})


@router.exception_handler(Exception)
def server_error(error: Exception) -> Response[Any]:
    """A fault of ours or of AWS (a DynamoDB ClientError, a bug): logged with its traceback, answered as JSON,
    where unhandled it would reach API Gateway as a bare 502."""
    logger.exception("Unhandled error answered 500")
    return answer(500, {"detail": SERVER_ERROR})
