"""Write-time rules, as properties: what the validators accept, the sender can send.

A target_url that passes is parsed by urllib3 (the sender) to a host within DNS limits; a header value that
passes is one http.client puts on the wire as is; a `whsec_` secret that passes signs, and the official
Standard Webhooks verifier accepts the signature; a body json_text reads holds only text, no deeper than its
limit. And what fails, fails with ValueError (a 400), never anything else.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import json
import string
import sys
import time
import unicodedata
from typing import Any

import json_text
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook
from urllib3.util import parse_url

from oms_webhooks.adapters.address_guard import AddressPolicy, ForbiddenAddress, check_literal_target, literal_address
from oms_webhooks.domain.hooks import HEADER_VALUE_RULE, _additional_headers
from oms_webhooks.domain.signing import (
    STANDARD_SECRET_RULE,
    check_standard_secret,
    signature_headers,
    standard_webhooks_key,
)
from oms_webhooks.domain.target_urls import check_target_url

PROPERTIES = settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

# --- target_url -----------------------------------------------------------------------------------

HOST_CHARACTERS = st.one_of(
    st.sampled_from(string.ascii_letters + string.digits + ".-_%[]:@\\"),
    st.sampled_from("\uff10\uff11\uff0e\u3002\u200d\u00ad\u24d0\u2603\u00fc\u00df\u0130\u2024\ufe52"),
    st.characters(codec="utf-8"),
)
HOSTS = st.one_of(
    st.text(HOST_CHARACTERS, max_size=40),
    st.lists(st.text(st.sampled_from("abc-0\u00fc"), min_size=0, max_size=70), min_size=1, max_size=6).map(".".join),
    st.ip_addresses().map(lambda ip: f"[{ip}]" if ip.version == 6 else str(ip)),
)
PORTS = st.one_of(st.none(), st.integers(-1, 70000).map(str), st.text(string.digits + "+-x", max_size=6))
URLS = st.one_of(
    st.builds(
        lambda scheme, host, port, path: f"{scheme}://{host}{'' if port is None else ':' + port}{path}",
        st.sampled_from(["http", "https", "HTTP", "ftp", ""]),
        HOSTS,
        PORTS,
        st.sampled_from(["", "/", "/hook?x=1", "/%zz", "#f", "/\u00fc"]),
    ),
    st.text(max_size=60),
)


@PROPERTIES
@given(URLS)
@example("http://münchen.example/")
@example("http://" + "a" * 64 + ".example/")
@example("http://[v1.x]/")
def test_an_accepted_target_is_one_the_sender_parses_within_dns_limits(url: str) -> None:
    try:
        assert check_target_url(url) == url
    except ValueError as refused:
        assert str(refused)  # every refusal says why
        return
    parsed = parse_url(url)
    assert parsed.scheme in ("http", "https")
    assert parsed.port is None or 1 <= parsed.port <= 65535
    host = parsed.host or ""
    assert host.isascii() and host
    if not host.startswith("["):
        name = host.removesuffix(".")
        assert len(name) <= 253
        assert all(1 <= len(label) <= 63 for label in name.split("."))
    with contextlib.suppress(ForbiddenAddress):  # a literal non-public address; never anything else
        check_literal_target(url, AddressPolicy())


def _nfkc_twins() -> dict[str, list[str]]:
    """For each ASCII digit and the dot, the other code points NFKC folds to it (fullwidth, mathematical...)."""
    twins: dict[str, list[str]] = {ch: [] for ch in "0123456789."}
    for code_point in range(0x80, sys.maxunicode + 1):
        ch = chr(code_point)
        folded = unicodedata.normalize("NFKC", ch)
        if folded in twins:
            twins[folded].append(ch)
    twins["."].append("\u3002")  # the ideographic full stop: IDNA 2003 reads it as a dot
    return twins


NFKC_TWINS = _nfkc_twins()


@st.composite
def disguised_addresses(draw: st.DrawFn) -> str:
    """A private IPv4 address with at least one character swapped for one NFKC folds back to it."""
    network = draw(st.sampled_from(["10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "192.168.0.0/16", "0.0.0.0/8"]))
    base = ipaddress.IPv4Network(network)
    address = str(base[draw(st.integers(0, base.num_addresses - 1))])
    swapped = draw(st.lists(st.booleans(), min_size=len(address), max_size=len(address)).filter(any))
    return "".join(
        draw(st.sampled_from(NFKC_TWINS[ch])) if swap else ch for ch, swap in zip(address, swapped, strict=True)
    )


@PROPERTIES
@given(disguised_addresses())
def test_no_normalisation_turns_a_name_into_a_private_address(host: str) -> None:
    """Refused as a name (IDNA 2008 maps nothing), though NFKC, as the system resolver's IDNA 2003 would, reads
    a private address in it."""
    assert literal_address(unicodedata.normalize("NFKC", host).replace("\u3002", ".")) is not None
    with pytest.raises(ValueError, match=r"IDNA 2008|letters, digits and hyphens"):
        check_target_url(f"http://{host}/")


# --- additional_headers ---------------------------------------------------------------------------

HEADER_VALUES = st.one_of(
    st.text(st.characters(codec="utf-8"), max_size=30),
    st.text(st.sampled_from(string.printable + "\u00e9\u65e5\x80\xff"), max_size=30),
)


@PROPERTIES
@given(HEADER_VALUES)
@example("caf\u00e9")
@example(" x")
@example("")
def test_an_accepted_header_value_goes_on_the_wire_unchanged(value: str) -> None:
    try:
        _additional_headers({"X-Value": value})
    except ValueError as refused:
        assert str(refused).startswith('The value of "X-Value" ')
        if not any(ch in value for ch in "\r\n\x00") and value.isprintable():
            assert HEADER_VALUE_RULE in str(refused)
        return
    wire = value.encode("latin-1")  # what http.client sends
    assert wire.decode("ascii") == value
    assert not http.client._is_illegal_header_value(wire)  # type: ignore[attr-defined]
    assert value == value.strip(" \t")


# --- secret_key -----------------------------------------------------------------------------------

BODY = b'{"event":{"type":"package.created","uuid":"0f1e2d3c4b5a69788796a5b4c3d2e1f0"},"payload":{}}'


@PROPERTIES
@given(st.text(st.sampled_from(string.ascii_letters[:6] + "0189+/=-_ !*\u00e9"), max_size=16))
@example("")
@example("A")
@example("YWJj=")
@example("YWJjZA")
def test_an_accepted_whsec_secret_signs_and_verifies(encoded: str) -> None:
    secret = "whsec_" + encoded
    try:
        check_standard_secret(secret)
    except ValueError as refused:
        assert str(refused) == STANDARD_SECRET_RULE
        return
    key = standard_webhooks_key(secret)
    assert key
    headers = signature_headers(BODY, secret, "0f1e2d3c4b5a69788796a5b4c3d2e1f0", int(time.time()))
    verifier = Webhook(secret)
    assert verifier._whsecret == key  # the official reading of the key is ours
    verifier.verify(BODY, headers)


def test_secrets_without_the_prefix_are_not_judged() -> None:
    for secret in ["plain", "whsec", "WHSEC_!!!", "\u00e9t\u00e9"]:
        check_standard_secret(secret)


# --- json_text ------------------------------------------------------------------------------------

TEXT = st.text(st.characters(codec="utf-8"), max_size=12)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**63), 10**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(TEXT, children, max_size=4),
    max_leaves=30,
)


def depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    return 0


@PROPERTIES
@given(JSON_VALUES, st.booleans())
def test_json_text_reads_what_json_writes(value: Any, ensure_ascii: bool) -> None:
    assert json_text.loads(json.dumps(value, ensure_ascii=ensure_ascii)) == value


@PROPERTIES
@given(st.text(st.characters(codec="utf-8") | st.sampled_from('[]{}":,\\0123456789eE.-+ntfalsu'), max_size=80))
@example("[" * 10_000)
@example('{"a":' * 5000 + "1" + "}" * 5000)
@example("9" * 5000)
@example("NaN")
@example('"\\ud800"')
def test_json_text_raises_only_parse_errors(text: str) -> None:
    try:
        json_text.loads(text)
    except (json.JSONDecodeError, json_text.NotText) as refused:
        assert str(refused)


@pytest.mark.parametrize("levels", [0, 1, 31, 32, 33, 1000, 100_000])
@pytest.mark.parametrize("kind", ["array", "object"])
def test_depth_limit(levels: int, kind: str) -> None:
    text = "[" * levels + "0" + "]" * levels if kind == "array" else '{"k":' * levels + "0" + "}" * levels
    if levels <= json_text.MAX_DEPTH:
        assert depth(json_text.loads(text)) == levels
    else:
        with pytest.raises(json.JSONDecodeError, match="nested deeper than 32 levels"):
            json_text.loads(text)


@PROPERTIES
@given(JSON_VALUES, st.integers(0xD800, 0xDFFF), st.data())
def test_a_lone_surrogate_anywhere_is_found_with_its_path(value: Any, surrogate: int, data: st.DataObject) -> None:
    """Put the surrogate in a random string (key or value) of a random document; the refusal points at it."""
    bad = chr(surrogate)
    path: list[str | int] = []
    document: Any = {"root": value}
    node, key = document, "root"
    while isinstance(node[key], (dict, list)) and node[key] and data.draw(st.booleans()):
        path.append(key)
        node = node[key]
        key = data.draw(st.sampled_from(list(node) if isinstance(node, dict) else range(len(node))))
    if isinstance(node, dict) and data.draw(st.booleans()):
        node[f"k{bad}"] = node.pop(key)  # in the key: reported at its object
        expected, message = tuple(path), "a key holds"
    else:
        node[key] = f"v{bad}"
        expected, message = (*path, key), "it holds"
    with pytest.raises(json_text.NotText) as refused:
        json_text.loads(json.dumps(document))
    assert refused.value.path == expected
    assert refused.value.message.startswith(f"Not valid Unicode text: {message} a lone surrogate (U+{surrogate:04X})")
