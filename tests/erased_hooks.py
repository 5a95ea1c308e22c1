"""Tests' cleanup of an owner's hooks: erased, not only switched off, and without a transaction each.

moto copies the whole hooks table for every TransactWriteItems, so a table grown by every earlier test's hooks made
each later hook write slower (200 hooks took 25 to 50 s to unsubscribe one by one late in a run, and a 100-hook fan-out
test ten times as long as alone)."""

from __future__ import annotations

from oms_webhooks.adapters.dynamodb_batches import batch_write
from oms_webhooks.adapters.hook_store import HookStore, dispatch_key, hook_sk, unique_sk
from oms_webhooks.domain.hooks import Hook


def erase_hooks(store: HookStore, owner: str) -> None:
    """Plain batch deletes first; then, per dispatch key, one of its active hooks is switched off by the store, whose
    transaction bumps the key's version, so no dispatcher keeps a cached list holding the erased hooks; then that
    hook is erased too."""
    hooks = store.query_owner(owner, {}, 500, None)[0]
    last = {dispatch_key(hook.event_type, hook.owner): hook for hook in hooks if hook.is_active}
    kept = {hook.id for hook in last.values()}
    _erase(store, [hook for hook in hooks if hook.id not in kept])
    for hook in last.values():
        store.deactivate(hook)
    _erase(store, list(last.values()))


def _erase(store: HookStore, hooks: list[Hook]) -> None:
    """Each hook's item and its uniqueness item, in BatchWriteItem calls (which bump no version)."""
    keys = [
        (hook.owner, sk) for hook in hooks for sk in (hook_sk(hook.id), unique_sk(hook.event_type, hook.target_url))
    ]
    deletes = [{"DeleteRequest": {"Key": {"owner": {"S": owner}, "sk": {"S": sk}}}} for owner, sk in keys]
    batch_write(store.client, store.table, deletes)
