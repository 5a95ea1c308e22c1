"""What CloudFormation does and MiniStack 1.5.33 does not, applied in MiniStack's process before it serves.

CloudFormation hands a resource every parameter as text and converts it to the type the resource's schema says.
MiniStack's provisioner converts an event source mapping's `BatchSize` but keeps `ScalingConfig.MaximumConcurrency`
as text, so a `!Ref` to a Number parameter there (template.yaml's `RetrierMaxConcurrency`) made its SQS poller
compare an int with a str and never invoke the function. Here the value becomes the integer AWS would store.
Run as MiniStack's entry point: `python ministack_compat.py` with MiniStack's interpreter.
"""

from __future__ import annotations

import sys
from typing import Any

from ministack.app import main
from ministack.services import lambda_svc

PATCHED = "ministack.services.lambda_svc._sqs_esm_concurrency"


def apply() -> None:
    original = getattr(lambda_svc, "_sqs_esm_concurrency", None)
    if original is None:
        raise RuntimeError(f"ministack_compat patches {PATCHED}, which this MiniStack lacks")

    def _sqs_esm_concurrency(esm: dict[str, Any], *args: Any, **kwargs: Any) -> int:
        scaling = esm.get("ScalingConfig") or {}
        if isinstance(scaling.get("MaximumConcurrency"), str):
            scaling["MaximumConcurrency"] = int(scaling["MaximumConcurrency"])
        return int(original(esm, *args, **kwargs))

    lambda_svc._sqs_esm_concurrency = _sqs_esm_concurrency


if __name__ == "__main__":
    apply()
    sys.argv[0] = "ministack"
    sys.exit(main())
