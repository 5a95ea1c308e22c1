"""moto's per-request reflection done once; applied in the moto process before it serves.

For every AWS call, moto lists its own package directory (about 150 `isdir` calls, under the server's one lock) to
find the service a request names, and lists the handler class's methods with `inspect.getmembers` to check that the
action is one of them: 6 % of moto's CPU in a retry burst (py-spy on `python -m bench.noisy`). Neither answer changes
while the process runs, so each is computed once.
"""

from __future__ import annotations

import functools
from typing import Any

from moto import backends
from moto.core import responses

# What this patch replaces in moto; tests/unit/test_moto_internals.py checks each still has the shape used here.
PATCHED = ("moto.backends.list_of_moto_modules", "moto.core.responses.method_names_from_class")


def apply() -> None:
    """Caches moto's module list and each handler class's method names in this process; call once, before serving."""
    modules: Any = backends
    if not hasattr(modules.list_of_moto_modules, "cache_info"):
        listed = modules.list_of_moto_modules  # a generator function: its names are kept in a tuple
        modules.list_of_moto_modules = functools.cache(lambda: tuple(listed()))
    handlers: Any = responses
    if not hasattr(handlers.method_names_from_class, "cache_info"):
        handlers.method_names_from_class = functools.cache(handlers.method_names_from_class)
