"""What the API reads: JSON text of modest size. Before routing, a manual retry's form body becomes the JSON it says,
and bodies or query values that are not text are refused plainly; `json_body` is the routes' JSON parser."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

import json_text
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from form_values import boolean_value

from form_body import FORM_MEDIA_TYPES, MalformedForm, form_fields, media_type

MAX_BODY_BYTES = 64 * 1024
RETRY_PATH = re.compile(r"^/whisperer/hook_events/[^/]+/retry/?$")


def json_body(text: str) -> Any:
    """Powertools' body parser: JSON within json_text's limits; a string that is not text names its field."""
    try:
        return json_text.loads(text)
    except json_text.NotText as refused:
        error = {"type": "string_unicode", "loc": ("body", *refused.path), "msg": refused.message, "input": None}
        raise RequestValidationError([error]) from None


def refusal(event: dict[str, Any]) -> dict[str, Any] | None:
    """The Lambda answer that refuses this request, or None once the event (rewritten in place) may be routed."""
    return form_as_json(event) or unacceptable_body(event) or unacceptable_query(event)


def form_as_json(event: dict[str, Any]) -> dict[str, Any] | None:
    """Whisperer's clients send a retry's `force` as a form, which DRF parses; the route validates JSON, so the
    form becomes the JSON object it says (`force=True` -> `{"force": true}`). Other routes take JSON only."""
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    content_type = headers.get("content-type", "")
    if (
        event.get("httpMethod") != "POST"
        or not RETRY_PATH.match(event.get("path") or "")
        or media_type(content_type) not in FORM_MEDIA_TYPES
    ):
        return None
    body = event.get("body") or ""
    try:
        data = base64.b64decode(body, validate=True) if event.get("isBase64Encoded") else body.encode()
    except (binascii.Error, ValueError):
        return answer_now(400, {"non_field_errors": ["Form parse error - the body is not valid base64."]})
    if len(data) > MAX_BODY_BYTES:
        return plain_answer(413, f"Request body is larger than {MAX_BODY_BYTES} bytes.")
    try:
        fields: dict[str, Any] = form_fields(content_type, data)
    except MalformedForm as malformed:
        return answer_now(400, {"non_field_errors": [str(malformed)]})
    if "force" in fields:
        try:
            fields["force"] = boolean_value(fields["force"]) if fields["force"].strip() else False
        except ValueError as refused:
            return answer_now(400, {"force": [str(refused)]})
    plain = {name: value for name, value in (event.get("headers") or {}).items() if name.lower() != "content-type"}
    event["headers"] = {**plain, "Content-Type": "application/json"}
    event["multiValueHeaders"] = {name: [value] for name, value in event["headers"].items()}
    event["body"], event["isBase64Encoded"] = json.dumps(fields), False
    return None


def unacceptable_body(event: dict[str, Any]) -> dict[str, Any] | None:
    """Bodies are JSON text of modest size; say so plainly before anything tries to parse one."""
    body = event.get("body") or ""
    try:
        data = base64.b64decode(body, validate=True) if event.get("isBase64Encoded") else body.encode()
    except UnicodeEncodeError:  # a lone surrogate in a text body
        return answer_now(400, {"non_field_errors": ["JSON parse error - the body is not UTF-8 text."]})
    except (binascii.Error, ValueError):
        return answer_now(400, {"non_field_errors": ["JSON parse error - the body is not valid base64."]})
    if len(data) > MAX_BODY_BYTES:
        return plain_answer(413, f"Request body is larger than {MAX_BODY_BYTES} bytes.")
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    media_type = headers.get("content-type", "application/json").split(";")[0].strip().lower()
    carries_body = bool(data) or event.get("httpMethod") in ("POST", "PUT", "PATCH")
    if carries_body and media_type not in ("application/json", ""):
        return plain_answer(415, f'Unsupported media type "{media_type}" in request; send application/json.')
    if data and not media_type:
        event["headers"] = {**(event.get("headers") or {}), "Content-Type": "application/json"}
    if event.get("isBase64Encoded"):
        try:
            event["body"], event["isBase64Encoded"] = data.decode(), False
        except UnicodeDecodeError:
            return answer_now(400, {"non_field_errors": ["JSON parse error - the body is not UTF-8 text."]})
    return None


def unacceptable_query(event: dict[str, Any]) -> dict[str, Any] | None:
    """Query values are text: a lone surrogate (which a client can percent-encode) must never reach AWS."""
    single = event.get("queryStringParameters") or {}
    multi = event.get("multiValueQueryStringParameters") or {}
    for name, values in [*((k, [v]) for k, v in single.items()), *multi.items()]:
        name_problem = json_text.lone_surrogate(str(name))
        if name_problem:
            message = json_text.not_text_message(name_problem, "a query parameter name holds")
            return answer_now(400, {"non_field_errors": [message]})
        for value in values or ():
            problem = json_text.lone_surrogate(str(value))
            if problem:
                return answer_now(400, {name: [json_text.not_text_message(problem)]})
    return None


def answer_now(status: int, body: Any) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


def plain_answer(status: int, detail: str) -> dict[str, Any]:
    return answer_now(status, {"detail": detail})
