"""Domain errors; the API layer turns each into whisperer's status code and body."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only read here: what imports these errors need not import pydantic
    from pydantic import ValidationError


class WebhookError(Exception):
    """Base of the errors a client can cause."""


class NotFound(WebhookError):
    """No such object for this owner (another owner's objects are not found either)."""


class DuplicateHook(WebhookError):
    """The owner already has a hook for this target_url and event_type."""


class InvalidField(WebhookError):
    """A value that is well-formed but not acceptable, named by its field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class AlreadyDelivered(WebhookError):
    """A manual retry of a delivery that already succeeded (whisperer's event_100_3)."""


class StillRetrying(WebhookError):
    """A manual retry, unforced, of a delivery whose scheduled retries are still running (event_100_6)."""


class HeldInOrder(WebhookError):
    """A manual retry of an ordered hook's delivery that waits behind an earlier one of its object: sending it now
    would overtake that one. `waits_for`: its uuid (None: the delivery is next, and about to be sent)."""

    def __init__(self, uuid: str, waits_for: str | None) -> None:
        super().__init__(f"{uuid} waits for {waits_for or 'its turn'}")
        self.uuid = uuid
        self.waits_for = waits_for


class InvalidFields(WebhookError):
    """Several fields (or query parameters) refused at once, each with its messages, as DRF reports them."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{field}: {' '.join(messages)}" for field, messages in errors.items()))
        self.errors = errors


class AmbiguousNumber(WebhookError):
    """Two of an owner's deliveries share an integer id (a chance of about n**2 / 2**54 in n): name one by uuid."""

    def __init__(self, number: int, uuids: list[str]) -> None:
        super().__init__(f"deliveries {', '.join(uuids)} share the id {number}")
        self.number = number
        self.uuids = uuids


def shown(text: str) -> str:
    """`text` safe to echo in an error message: anything but printable ASCII as a backslash escape."""
    return "".join(ch if " " <= ch <= "~" else ch.encode("unicode_escape").decode("ascii") for ch in text)


def problems(invalid: ValidationError) -> str:
    """A pydantic refusal in one line, `where: what` for each problem, so that a log or a record names the field."""
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'the whole'}: {e['msg']}" for e in invalid.errors())
