"""Prints the API's OpenAPI document, as ApiFunction serves it at `GET /whisperer/openapi.json`.

    python -m oms_webhooks_cli.openapi > docs/openapi.json      (or: make openapi)

tests/integration/test_openapi.py fails when the committed docs/openapi.json differs from this output.
"""

from __future__ import annotations

import os
import sys

from oms_webhooks.settings import settings
from oms_webhooks_cli.local.lambdas import LocalFunction
from oms_webhooks_cli.template import PROJECT_ROOT, Template

API_FUNCTION = "ApiFunction"
COMMITTED = PROJECT_ROOT / "docs" / "openapi.json"  # where `make openapi` writes it


def document() -> str:
    """The handler module the template names for ApiFunction, loaded as the local stack loads it: in the template's
    environment where this process has none (the module parses its settings on import)."""
    function = LocalFunction(Template().functions()[API_FUNCTION])
    lent = {name: value for name, value in function.spec.environment.items() if name not in os.environ}
    os.environ.update(lent)
    try:
        return str(function.module.openapi_document())
    finally:
        for name in lent:
            del os.environ[name]
        settings.cache_clear()  # the import may have parsed what was lent


def main() -> int:
    sys.stdout.write(document())
    return 0


if __name__ == "__main__":
    sys.exit(main())
