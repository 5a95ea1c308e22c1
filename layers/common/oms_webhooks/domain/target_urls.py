"""A hook's target_url: refused when written unless the sender can parse it and dial its host.

The host is read as urllib3 (the sender) reads it. Names follow RFC 1035 limits (labels of 1-63 letters,
digits and hyphens, 253 characters in all); a non-ASCII name must be valid IDNA 2008, encoded exactly as
the sender encodes it, which maps nothing: no NFKC, no case folding beyond lower case. So a spelling that
only normalisation would turn into an address (fullwidth digits, U+FF10...) is refused as a name,
never normalised into one; the address guard then judges the very host the sender would dial.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import SplitResult, urlsplit

import idna
from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

from oms_webhooks.domain.errors import shown

MAX_TARGET_URL_LENGTH = 2048
MAX_NAME_LENGTH = 253  # RFC 1035: 255 octets on the wire, 253 characters written out
MAX_LABEL_LENGTH = 63
ACE_PREFIX = "xn--"

_LDH_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
_INVALID = "Enter a valid URL: "


def check_target_url(url: str) -> str:
    """`url` itself when a delivery could be sent to it; otherwise ValueError saying why, in DRF's words."""
    if len(url) > MAX_TARGET_URL_LENGTH:
        raise ValueError(f"Ensure this field has no more than {MAX_TARGET_URL_LENGTH} characters.")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise ValueError(_INVALID + "whitespace and control characters are not allowed.")
    if "\\" in url:  # parsers disagree on it (WHATWG reads a slash), so a host could mean two things
        raise ValueError(_INVALID + "a backslash is not allowed; write %5C.")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise ValueError(f"{_INVALID}{exc}.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(_INVALID + "an absolute http or https URL is required.")
    _check_port(parts)
    host = _ascii_host(parts)
    try:
        dialled = parse_url(url).host
    except LocationParseError as exc:
        raise ValueError(f"{_INVALID}{exc}.") from None
    if dialled is None or dialled.strip("[]") != host:
        raise ValueError(_INVALID + "its host is read differently by different URL parsers.")
    return url


def _check_port(parts: SplitResult) -> None:
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port is not None and not 1 <= port <= 65535:
        raise ValueError(_INVALID + "the port must be a number from 1 to 65535.")


def _ascii_host(parts: SplitResult) -> str:
    """The host as the sender dials it: an IPv6 address, or a name (IPv4 included) in ASCII."""
    host = parts.hostname or ""
    if "[" in parts.netloc.rpartition("@")[2]:
        return _ipv6_host(host)
    if "%" in host:
        raise ValueError(_INVALID + "a host name may not be percent-encoded; write the name itself.")
    name = host[:-1] if host.endswith(".") else host  # a trailing dot only makes the name absolute
    labels = [_ascii_label(label, name) for label in name.split(".")]
    ascii_name = ".".join(labels)
    if len(ascii_name) > MAX_NAME_LENGTH:
        raise ValueError(f"{_INVALID}the host name is longer than {MAX_NAME_LENGTH} characters.")
    return ascii_name + ("." if host.endswith(".") else "")


def _ipv6_host(host: str) -> str:
    if "%" in host:
        raise ValueError(_INVALID + "an IPv6 zone (%25...) names an interface of this machine; it is not allowed.")
    try:
        ipaddress.IPv6Address(host)
    except ValueError:
        raise ValueError(f'{_INVALID}"[{shown(host)}]" is not an IPv6 address.') from None
    return host


def _ascii_label(label: str, name: str) -> str:
    if not label:
        raise ValueError(f'{_INVALID}the host name "{shown(name)}" has an empty label.')
    if not label.isascii():
        try:
            label = idna.encode(label, strict=True, std3_rules=True).decode("ascii")
        except idna.IDNAError as exc:
            raise ValueError(
                f'{_INVALID}"{shown(label)}" in the host name is not valid IDNA 2008 ({shown(str(exc))}).'
            ) from None
    if len(label) > MAX_LABEL_LENGTH:
        raise ValueError(f"{_INVALID}a label of the host name is longer than {MAX_LABEL_LENGTH} characters.")
    if label.startswith(ACE_PREFIX):
        try:
            idna.decode(label)
        except (idna.IDNAError, UnicodeError):
            raise ValueError(f'{_INVALID}"{shown(label)}" is not a valid A-label (punycode).') from None
    if not _LDH_LABEL.match(label):
        if label.startswith("-") or label.endswith("-"):
            raise ValueError(f'{_INVALID}the host label "{shown(label)}" starts or ends with a hyphen.')
        raise ValueError(
            f'{_INVALID}the host label "{shown(label)}" may hold only letters, digits and hyphens '
            "(IDNA 2008 for other letters)."
        )
    return label
