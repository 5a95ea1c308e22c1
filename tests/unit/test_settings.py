"""Settings are parsed when a function starts: a missing or malformed variable fails its init, naming the variable."""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import ModuleType

import pytest

from oms_webhooks.settings import SettingsError, settings, variables
from oms_webhooks_cli.local.lambdas import LocalFunction
from oms_webhooks_cli.template import Template
from tests.unit.conftest import InEnvironment

FUNCTIONS = Template(stack_name="t").functions()
PARSING = sorted(set(FUNCTIONS) - {"ConsoleFunction"})  # the console serves its bundled files and reads none
VARIABLES = variables()

Start = Callable[..., ModuleType]


@pytest.fixture
def start(in_environment: InEnvironment) -> Start:
    """Loads a function's module as Lambda's init does, in its template environment with `changes` (None: unset)."""

    def load(function: str, **changes: str | None) -> ModuleType:
        in_environment(FUNCTIONS[function].environment, **changes)
        loading = LocalFunction(FUNCTIONS[function])
        module_name = f"oms_local_fn_{function}"
        loaded = sys.modules.get(module_name)
        try:
            return loading.module
        finally:  # the session's local stack may hold its own copy under this name
            if loaded is None:
                sys.modules.pop(module_name, None)
            else:
                sys.modules[module_name] = loaded

    return load


@pytest.mark.parametrize("function", PARSING)
def test_each_function_starts_in_the_environment_the_template_gives_it(start: Start, function: str) -> None:
    start(function)
    parsed = settings()
    assert parsed.tokens_table == "t-TokensTable" and parsed.fanout_queue_url.endswith("/t-FanoutQueue")
    assert (parsed.fanout_batch_size, parsed.allow_loopback_targets, parsed.auto_disable_after_seconds) == (
        1000,
        False,
        432000.0,
    )


@pytest.mark.parametrize("function", PARSING)
def test_a_missing_variable_fails_the_init_naming_it(start: Start, function: str) -> None:
    with pytest.raises(SettingsError, match=r"environment is not usable: TOKENS_TABLE is not set$"):
        start(function, TOKENS_TABLE=None)


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("DELIVERY_TOTAL_TIMEOUT", "soon", "Input should be a valid number"),
        ("FANOUT_BATCH_SIZE", "10", "Input should be greater than or equal to 25"),
        ("ALLOW_LOOPBACK_TARGETS", "maybe", "Input should be a valid boolean"),
        ("MAX_CONNECTIONS_PER_HOST", "1.5", "Input should be a valid integer"),
        ("HOOKS_TABLE", "", "String should have at least 1 character"),
    ],
)
def test_a_malformed_variable_fails_the_init_naming_it(start: Start, name: str, value: str, problem: str) -> None:
    with pytest.raises(SettingsError) as failed:
        start("DispatcherFunction", **{name: value})
    assert str(failed.value).startswith(f"the function's environment is not usable: {name}={value!r}: {problem}")


def test_every_problem_is_named_at_once(start: Start) -> None:
    with pytest.raises(SettingsError) as failed:
        start("ApiFunction", HOOKS_TABLE=None, DELIVERY_RETENTION_DAYS="0")
    assert str(failed.value) == (
        "the function's environment is not usable: HOOKS_TABLE is not set; "
        "DELIVERY_RETENTION_DAYS='0': Input should be greater than or equal to 1"
    )


def test_the_console_starts_without_any(start: Start) -> None:
    assert start("ConsoleFunction", **dict.fromkeys(VARIABLES)).lambda_handler
