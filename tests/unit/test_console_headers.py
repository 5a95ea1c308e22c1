"""The console's security headers as PortalFrameAncestors sets them, and that parameter's shape: the template's
AllowedPattern and the console's own check are one pattern, and nothing that could end the directive passes."""

from __future__ import annotations

import re
from types import ModuleType

import pytest

from oms_webhooks_cli.local.lambdas import LocalFunction
from oms_webhooks_cli.template import Template


@pytest.fixture(scope="module")
def console() -> ModuleType:
    return LocalFunction(Template().functions()["ConsoleFunction"]).module


def allowed_pattern() -> str:
    return str(Template().doc["Parameters"]["PortalFrameAncestors"]["AllowedPattern"])


def test_the_template_and_the_console_check_the_same_shape(console: ModuleType) -> None:
    assert console.FRAME_ANCESTORS.pattern == allowed_pattern()


@pytest.mark.parametrize(
    "value",
    [
        "",
        "'self'",
        "https://oms.example.com",
        "https://*.example.com",
        "https://oms.example.com:8443 https://admin.example.net 'self'",
        "http://localhost:8080",
        "http://127.0.0.1:5173",
    ],
)
def test_sources_a_frame_ancestors_directive_takes_are_allowed(value: str) -> None:
    assert re.match(allowed_pattern(), value)


@pytest.mark.parametrize(
    "value",
    [
        "*",
        "https:",
        "'none'",
        "http://oms.example.com",  # plain HTTP only for local development
        "https://oms.example.com; script-src *",  # a second directive
        "https://oms.example.com,https://b.example.com",
        "https://oms.example.com/path",
        "https://oms.example.com  https://b.example.com",
        " https://oms.example.com",
        "https://*",
        "javascript:alert(1)",
        "https://oms.example.com\nX-Evil: 1",
    ],
)
def test_anything_else_is_refused_by_both(console: ModuleType, value: str) -> None:
    assert not re.match(allowed_pattern(), value)
    with pytest.raises(ValueError, match="PORTAL_FRAME_ANCESTORS"):
        console.security_headers(value)


def directives(headers: dict[str, str]) -> set[str]:
    return {part.strip() for part in headers["Content-Security-Policy"].split(";")}


def test_no_ancestors_means_none_may_frame_it(console: ModuleType) -> None:
    headers = console.security_headers("")
    assert "frame-ancestors 'none'" in directives(headers)
    assert headers["X-Frame-Options"] == "DENY"
    assert {"require-trusted-types-for 'script'", "trusted-types 'none'"} <= directives(headers)
    assert headers["Strict-Transport-Security"] == "max-age=31536000"


def test_named_ancestors_replace_none_and_x_frame_options_goes(console: ModuleType) -> None:
    headers = console.security_headers("https://oms.example.com 'self'")
    assert "frame-ancestors https://oms.example.com 'self'" in directives(headers)
    assert "frame-ancestors 'none'" not in directives(headers)
    assert "X-Frame-Options" not in headers
    assert {"require-trusted-types-for 'script'", "trusted-types 'none'"} <= directives(headers)
