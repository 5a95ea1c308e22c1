"""moto's EventBridge without recompiling its JSONPath expressions for every event; applied in the moto process.

For each event and target, moto renders the target's input template through eight JSONPath expressions and
compiles each one anew with jsonpath-ng's parser: 14 % of moto's CPU in a 50 events/s soak (py-spy,
`make soak-profile`). The compiled expressions are kept instead; they are only read when matched.
"""

from __future__ import annotations

import functools
from typing import Any

PARSED_EXPRESSIONS = 1024  # a rule's input paths; far more than any template here uses
# What this patch replaces, and the moto function that must keep looking it up when it renders;
# tests/unit/test_moto_internals.py checks each still has the shape used here.
PATCHED = ("jsonpath_ng.ext.parse", "moto.events.utils.EventTemplateParser.parse")


def apply() -> None:
    """Patches the parser moto imports when it renders a template; call once, before the server handles a request."""
    import jsonpath_ng.ext

    module: Any = jsonpath_ng.ext
    if not hasattr(module.parse, "cache_info"):
        module.parse = functools.lru_cache(maxsize=PARSED_EXPRESSIONS)(module.parse)
