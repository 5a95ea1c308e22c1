"""`sam local invoke` without Docker: one template function, one event file, against the local stack."""

from __future__ import annotations

import os
import traceback
from typing import Any

from oms_webhooks_cli.endpoint import Target
from oms_webhooks_cli.local.lambdas import LocalFunction
from oms_webhooks_cli.local.stack import LOCAL_CREDENTIALS, LOCAL_OVERRIDES
from oms_webhooks_cli.template import Template


def invoke_locally(function: str, event: dict[str, Any], target: Target) -> tuple[bool, Any]:
    """Runs the handler in this process with its template environment; (succeeded, result or Lambda's error shape)."""
    if not target.aws_endpoint or not target.stack_name:
        raise LookupError("invoking in-process needs the local stack; for a deployed stack use `sam remote invoke`")
    template = Template(stack_name=target.stack_name, aws_endpoint=target.aws_endpoint, parameters=target.parameters)
    functions = template.functions()
    if function not in functions:
        raise LookupError(f"no function {function!r} in template.yaml (there are: {', '.join(sorted(functions))})")
    spec = functions[function]
    os.environ.update({**LOCAL_CREDENTIALS, "AWS_ENDPOINT_URL": target.aws_endpoint})
    os.environ.update({**spec.environment, **LOCAL_OVERRIDES})
    try:
        return True, LocalFunction(spec).invoke(event)
    except Exception as exc:
        return False, {
            "errorMessage": str(exc),
            "errorType": type(exc).__name__,
            "stackTrace": traceback.format_tb(exc.__traceback__),
        }
