"""moto's memory held to what its data needs, for a local stack that runs all day; applied in the moto process.

moto keeps every model object it ever creates in a list on its class, for its dashboard: each SQS message sent
and each copy of it handed out, each DynamoDB item and each copy a transaction takes of a whole table. Nothing
is ever freed; with hooks whose receivers were gone, moto reached 5.7 GB in an hour. Here it keeps none.
What its request threads free, glibc keeps as holes in its heaps; here they are handed back now and then.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from typing import Any

from moto.core import common_models

TRIM_EVERY_SECONDS = 10.0
# What this patch replaces in moto; tests/unit/test_moto_internals.py checks each still has the shape used here.
PATCHED = ("moto.core.common_models.BaseModel.__new__",)


def _untracked_new(cls: Any, *args: Any, **kwargs: Any) -> Any:
    """BaseModel.__new__ without `cls.instances_tracked.append(instance)`."""
    return super(common_models.BaseModel, cls).__new__(cls)


def trim_freed_memory(stop: threading.Event) -> None:
    """Gives freed heap memory back to the system every TRIM_EVERY_SECONDS until `stop` (glibc only)."""
    try:
        trim = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return
    while not stop.wait(TRIM_EVERY_SECONDS):
        trim(0)


def apply(stop: threading.Event) -> None:
    """Stops moto's instance tracking in this process (before any model is created) and trims the heap until
    `stop` is set."""
    base: Any = common_models.BaseModel
    base.__new__ = _untracked_new
    threading.Thread(target=trim_freed_memory, args=(stop,), name="malloc-trim", daemon=True).start()
