"""A short sustained stream through the local stack in `make test`; `make soak` runs the full one."""

from __future__ import annotations

from tests.e2e.conftest import LocalStackProcess
from tests.load.soak import soak


def test_a_sustained_stream_loses_and_duplicates_nothing(local_stack: LocalStackProcess) -> None:
    token = local_stack.token("load-test")
    result = soak(
        local_stack.api_url,
        local_stack.aws_endpoint,
        local_stack.outputs["EventBusName"],
        token,
        rate=20,
        hooks=10,
        seconds=8,
        drain_timeout=180,
    )
    assert result.events_published == 160
    assert result.expected == 1600
    assert (result.undelivered, result.duplicated) == (0, 0), result
