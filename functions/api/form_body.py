"""Form bodies, as Django REST framework's FormParser and MultiPartParser read them: whisperer's clients send a
manual retry's `force` as a form (`force=True`)."""

from __future__ import annotations

from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import parse_qsl

URLENCODED = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
FORM_MEDIA_TYPES = (URLENCODED, MULTIPART)
MAX_FIELDS = 100


class MalformedForm(ValueError):
    """The body does not parse as its content type says; the message says why, in DRF's words."""


def media_type(content_type: str) -> str:
    return content_type.split(";")[0].strip().lower()


def form_fields(content_type: str, data: bytes) -> dict[str, str]:
    """The form's fields; a field sent twice keeps its last value, as `QueryDict.get` does."""
    if not data.strip():
        return {}
    if media_type(content_type) == URLENCODED:
        return _urlencoded(data)
    if media_type(content_type) == MULTIPART:
        return _multipart(content_type, data)
    raise MalformedForm(f'Unsupported media type "{media_type(content_type)}".')


def _urlencoded(data: bytes) -> dict[str, str]:
    try:
        return dict(parse_qsl(data.decode(), keep_blank_values=True, max_num_fields=MAX_FIELDS))
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedForm(f"Form parse error - {exc}.") from None


def _multipart(content_type: str, data: bytes) -> dict[str, str]:
    header = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(header + data)
    assert isinstance(message, EmailMessage)
    boundary = message.get_boundary()
    if not boundary:
        raise MalformedForm("Multipart form parse error - Invalid boundary in multipart: None")
    if not message.is_multipart():  # no part at all: only the closing delimiter is a form, an empty one
        if data.strip() == f"--{boundary}--".encode():
            return {}
        raise MalformedForm(f"Multipart form parse error - no part delimited by {boundary!r}.")
    fields: dict[str, str] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or len(fields) >= MAX_FIELDS:
            raise MalformedForm("Multipart form parse error - a part without a field name.")
        payload = part.get_payload(decode=True)
        try:
            fields[name] = payload.decode(part.get_content_charset() or "utf-8") if isinstance(payload, bytes) else ""
        except (LookupError, UnicodeDecodeError):
            raise MalformedForm(f'Multipart form parse error - the field "{name}" is not text.') from None
    return fields
