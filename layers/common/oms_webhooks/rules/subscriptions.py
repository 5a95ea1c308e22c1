"""Subscribing, changing and unsubscribing hooks: the rules of whisperer's hook API."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from oms_webhooks.adapters.address_guard import AddressPolicy, ForbiddenAddress, check_literal_target
from oms_webhooks.adapters.hook_store import HookStore, hook_sk
from oms_webhooks.domain.errors import InvalidField
from oms_webhooks.domain.event_catalog import EVENT_TYPES, canonical_event_type
from oms_webhooks.domain.hooks import Hook, HookIn, HookPatch, now
from oms_webhooks.domain.ordering import schedule_refusal
from oms_webhooks.domain.pagination import MAX_LIMIT, Page, decode_cursor, encode_cursor, page_size, previous_start
from oms_webhooks.rules.secret_rotation import keyed

MAX_COUNTED_PAGES = 100  # hooks counted for a list's `count`: up to 50,000 per owner


@dataclass
class HookFilters:
    """Whisperer's WebhookFilter: `target_url` and `event_type` ignore case (Django's `iexact`), `is_active` exact."""

    target_url: str | None = None
    event_type: str | None = None
    is_active: bool | None = None

    def as_conditions(self) -> dict[str, Any]:
        """What DynamoDB compares. Stored event types are the catalog's lower-case names, so `iexact` on them is
        equality with the lower-cased filter (its dashed form read as the dotted one); a name outside the catalog
        matches no hook, as in whisperer."""
        conditions: dict[str, Any] = {}
        if self.event_type is not None:
            lowered = self.event_type.lower()
            conditions["event_type"] = canonical_event_type(lowered) or lowered
        if self.is_active is not None:
            conditions["is_active"] = self.is_active
        return conditions

    def matches(self, hook: Hook) -> bool:
        """What DynamoDB cannot compare, ignoring case: the target URL, checked on the Query's items."""
        return self.target_url is None or hook.target_url.casefold() == self.target_url.casefold()


class Subscriptions:
    def __init__(self, store: HookStore, policy: AddressPolicy) -> None:
        self.store = store
        self.policy = policy

    def _check_target(self, hook: Hook) -> None:
        """A literal non-public address can be refused now; names are checked again when dialled."""
        try:
            check_literal_target(hook.target_url, self.policy)
        except ForbiddenAddress as refused:
            raise InvalidField("target_url", f"{refused.address} is not a public address.") from None

    @staticmethod
    def _check_ordering(hook: Hook, sent: set[str]) -> None:
        """An ordered hook's whole retry schedule must fit in its queue's retention; the field the request set is
        named (the countdown, else `ordering`)."""
        refusal = schedule_refusal(hook.retry_countdown_config) if hook.ordering == "object" else None
        if refusal:
            raise InvalidField("retry_countdown_config" if "retry_countdown_config" in sent else "ordering", refusal)

    def create(self, owner: str, data: HookIn) -> Hook:
        moment = now()
        fields = {name: getattr(data, name) for name in data.model_fields_set if getattr(data, name) is not None}
        if not fields.get("secret_key"):
            fields.pop("secret_key", None)
        if "config" in fields:
            fields["config"] = fields["config"].completed(None)  # a new hook has no stored password to keep
        hook = keyed(Hook(id=0, owner=owner, created_date=moment, modified_date=moment, **fields))
        self._check_target(hook)
        self._check_ordering(hook, data.model_fields_set)
        hook = hook.model_copy(update={"id": self.store.next_id()})
        self.store.add(hook)
        return hook

    def find(self, owner: str, filters: HookFilters, limit: int | None, cursor: str | None) -> Page[Hook]:
        start = decode_cursor(cursor)
        after = start.get("sk") if start else None
        size = page_size(limit)
        hooks, last = self.store.query_owner(owner, filters.as_conditions(), size, after, _matcher(filters))
        page = Page(hooks, encode_cursor({"sk": last}) if last else None, count=len(hooks))
        if after is not None or last is not None:
            self._count(owner, filters, size, after, page)
        return page

    def _count(self, owner: str, filters: HookFilters, size: int, after: str | None, page: Page[Hook]) -> None:
        """`count` and `previous` of a list longer than one page, from the keys of every hook the filters select.

        An owner has hooks by the tens or hundreds: this reads them all again (Query, 500 per call), about one read
        unit per 8 hooks, rather than keep a counter that every subscribe and unsubscribe would have to update.
        """
        keys: list[str] = []
        last: str | None = None
        for _ in range(MAX_COUNTED_PAGES):
            hooks, last = self.store.query_owner(owner, filters.as_conditions(), MAX_LIMIT, last, _matcher(filters))
            keys.extend(hook_sk(hook.id) for hook in hooks)
            if last is None:
                break
        else:
            page.count = None  # too many to count on a request: no count, and no `previous` past the first page
            return
        page.count = len(keys)
        before = previous_start(keys, after, size)
        page.previous = encode_cursor({"sk": before}) if before else before

    def get(self, owner: str, hook_id: int) -> Hook:
        return self.store.get(owner, hook_id)

    def update(self, owner: str, hook_id: int, patch: HookPatch) -> Hook:
        """PATCH, and PUT too: as in DRF, fields a PUT leaves out keep their value (the secret included)."""
        old = self.store.get(owner, hook_id)
        new = keyed(old.changed(patch))
        self._check_target(new)
        self._check_ordering(new, patch.model_fields_set)
        self.store.replace(old, new)
        return new

    def delete(self, owner: str, hook_id: int) -> None:
        """Soft, as whisperer's: the hook is deactivated and stays readable with its delivery log (see README)."""
        self.store.deactivate(self.store.get(owner, hook_id))

    @staticmethod
    def registry() -> list[str]:
        return list(EVENT_TYPES)


def _matcher(filters: HookFilters) -> Callable[[Hook], bool] | None:
    """The filters' test DynamoDB cannot make (the target URL ignoring case), when there is one."""
    return None if filters.target_url is None else filters.matches
