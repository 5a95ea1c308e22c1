"""Outbound SSRF guard: deliveries may only reach public addresses.

A target is checked twice: its literal host when a hook is subscribed, and every
address its name resolves to at send time. The send-time check lives inside the
urllib3 connection, which dials the very address it checked, so a DNS answer that
changes between check and connect (rebinding) cannot slip through.

A refusal raises `ForbiddenAddress`. It is deliberately not an `OSError` or a urllib3
error, so urllib3 neither retries it nor wraps it: `PoolManager.request()` raises it
as is, and a caller catches `ForbiddenAddress` next to `urllib3.exceptions.HTTPError`.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from urllib3 import PoolManager
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    LocationParseError,
    NameResolutionError,
    NewConnectionError,
)
from urllib3.util import parse_url
from urllib3.util.connection import allowed_gai_family
from urllib3.util.timeout import _DEFAULT_TIMEOUT

from oms_webhooks.adapters.deadline import attach
from oms_webhooks.adapters.request_wire import OneSendRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# One getaddrinfo() entry: (family, type, proto, canonname, sockaddr).
AddrInfo = tuple[socket.AddressFamily, socket.SocketKind, int, str, tuple[Any, ...]]
# Called like socket.getaddrinfo(host, port, family, type).
Resolver = Callable[[str, int, int, int], Sequence[AddrInfo]]


@dataclass(frozen=True)
class AddressPolicy:
    """What the guard lets through besides public addresses; loopback is for local development only."""

    allow_loopback: bool = False


class ForbiddenAddress(Exception):
    """A target host is, or resolves to, an address deliveries must not reach."""

    def __init__(self, host: str, address: str) -> None:
        super().__init__(host, address)  # args kept as given, so the error pickles
        self.host = host
        self.address = address

    def __str__(self) -> str:
        return f"refusing to connect to {self.host!r}: {self.address} is not a public address"


# Non-public blocks from the IANA special-purpose registries, listed here as well because
# `is_global` differs between Python releases (3.11 calls 192.0.0.8, fec0::/10 and ff0e::1 global).
_IPV4_NON_PUBLIC = tuple(
    ipaddress.IPv4Network(net)
    for net in (
        "0.0.0.0/8",  # "this network"
        "10.0.0.0/8",
        "100.64.0.0/10",  # carrier-grade NAT
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, cloud metadata
        "172.16.0.0/12",
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",
        "192.88.99.0/24",  # 6to4 relay anycast (deprecated)
        "192.168.0.0/16",
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, and the broadcast address
    )
)
_IPV6_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
_IPV6_NON_PUBLIC = tuple(
    ipaddress.IPv6Network(net)
    for net in (
        "2001::/23",  # IETF protocol assignments, Teredo included
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation
    )
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# Embedded IPv4 behind a translator is judged without the loopback allowance: it is not our loopback.
_STRICT = AddressPolicy()
_DIGITS = {8: set("01234567"), 10: set("0123456789"), 16: set("0123456789abcdefABCDEF")}


def literal_address(host: str) -> IPAddress | None:
    """The address `host` spells, in any notation the resolver accepts, or None for a real hostname.

    IPv4-mapped IPv6 is returned as its IPv4 address, since that is what a socket dials.
    """
    host = host.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if ":" in host:
        try:
            address = ipaddress.IPv6Address(host.replace("%25", "%", 1))
        except ValueError:
            return None
        return address.ipv4_mapped or address
    if not host.isascii():
        # socket.getaddrinfo() IDNA-encodes names, which folds e.g. fullwidth digits to ASCII.
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    # inet_aton() stops at whitespace; a trailing dot makes a name absolute. Neither may dodge the check.
    host = host.split(maxsplit=1)[0] if host else host
    if host.endswith(".") and not host.endswith(".."):
        host = host[:-1]
    return _inet_aton(host)


def _inet_aton(text: str) -> ipaddress.IPv4Address | None:
    """IPv4 as inet_aton() reads it: 1-4 parts, each decimal, 0-octal or 0x-hex; the last fills the rest."""
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers = []
    for part in parts:
        number = _inet_aton_part(part)
        if number is None:
            return None
        numbers.append(number)
    *leading, last = numbers
    if any(number > 0xFF for number in leading) or last >= 1 << (8 * (5 - len(numbers))):
        return None
    value = last
    for position, number in enumerate(leading):
        value |= number << (8 * (3 - position))
    return ipaddress.IPv4Address(value)


def _inet_aton_part(part: str) -> int | None:
    if part[:2] in ("0x", "0X"):
        digits, base = part[2:], 16
    elif part.startswith("0") and len(part) > 1:
        digits, base = part[1:], 8
    else:
        digits, base = part, 10
    if not digits or not set(digits) <= _DIGITS[base]:
        return None
    return int(digits, base)


def is_forbidden(ip: IPAddress, policy: AddressPolicy) -> bool:
    """Whether deliveries must not reach `ip`; IPv6 forms that carry an IPv4 address are judged by it."""
    if isinstance(ip, ipaddress.IPv4Address):
        return _ipv4_forbidden(ip, policy)
    if ip.ipv4_mapped is not None:
        return _ipv4_forbidden(ip.ipv4_mapped, policy)
    if ip in _NAT64:
        return _ipv4_forbidden(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF), _STRICT)
    if ip.sixtofour is not None and _ipv4_forbidden(ip.sixtofour, _STRICT):
        return True
    if ip.is_loopback:
        return not policy.allow_loopback
    if ip not in _IPV6_GLOBAL_UNICAST:  # the rest of the space is unspecified, ULA, link-local, multicast...
        return True
    return not ip.is_global or any(ip in net for net in _IPV6_NON_PUBLIC)


def _ipv4_forbidden(ip: ipaddress.IPv4Address, policy: AddressPolicy) -> bool:
    if ip.is_loopback:
        return not policy.allow_loopback
    return not ip.is_global or ip.is_multicast or any(ip in net for net in _IPV4_NON_PUBLIC)


def check_literal_target(url: str, policy: AddressPolicy) -> None:
    """Refuse a target URL whose host is itself a forbidden address; names are checked when dialled.

    The host is read as the sender reads it. A URL the sender cannot parse, or without a host, is never
    dialled, so there is nothing here to refuse (hooks.py refuses such URLs when they are written).
    """
    try:
        host = parse_url(url).host
    except LocationParseError:
        return
    if not host:
        return
    address = literal_address(host)
    if address is not None and is_forbidden(address, policy):
        raise ForbiddenAddress(host, str(address))


def resolve_checked(
    host: str,
    port: int,
    policy: AddressPolicy,
    resolver: Resolver = socket.getaddrinfo,
    family: int = socket.AF_UNSPEC,
) -> list[AddrInfo]:
    """Resolve `host` and return its addresses, refusing the lot if any one of them is forbidden.

    A mixed answer is refused rather than filtered: a name that points inside is not a public target.
    """
    host = host.strip("[]")
    literal = literal_address(host)
    if literal is not None and is_forbidden(literal, policy):
        raise ForbiddenAddress(host, str(literal))
    entries = list(resolver(host, port, family, socket.SOCK_STREAM))
    for entry in entries:
        sockaddr = entry[4]
        try:
            address = ipaddress.ip_address(sockaddr[0])
        except (ValueError, IndexError, TypeError):
            raise ForbiddenAddress(host, repr(sockaddr)) from None
        if is_forbidden(address, policy):
            shown = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
            raise ForbiddenAddress(host, str(shown or address))
    return entries


def _connect_checked(connection: HTTPConnection, policy: AddressPolicy, resolver: Resolver) -> socket.socket:
    """urllib3's create_connection(), except that it dials only addresses resolve_checked() let through."""
    try:
        connection._dns_host.encode("idna")
    except UnicodeError:
        raise LocationParseError(f"'{connection._dns_host}', label empty or too long") from None
    entries = resolve_checked(connection._dns_host, connection.port, policy, resolver, allowed_gai_family())
    error: OSError | None = None
    for family, socktype, proto, _canonname, sockaddr in entries:
        sock = None
        try:
            sock = socket.socket(family, socktype, proto)
            for option in connection.socket_options or ():
                sock.setsockopt(*option)
            if connection.timeout is not _DEFAULT_TIMEOUT:
                sock.settimeout(connection.timeout)
            if connection.source_address:
                sock.bind(connection.source_address)
            sock.connect(sockaddr)
            return sock
        except OSError as failure:
            error = failure
            if sock is not None:
                sock.close()
    if error is not None:
        raise error
    raise OSError("getaddrinfo returned no addresses")


def _new_guarded_conn(connection: HTTPConnection, policy: AddressPolicy, resolver: Resolver) -> socket.socket:
    """HTTPConnection._new_conn() with the checked dial; errors map to the same urllib3 exceptions."""
    try:
        sock = _connect_checked(connection, policy, resolver)
    except socket.gaierror as error:
        raise NameResolutionError(connection.host, connection, error) from error
    except TimeoutError as error:
        raise ConnectTimeoutError(
            connection,
            f"Connection to {connection.host} timed out. (connect timeout={connection.timeout})",
        ) from error
    except OSError as error:
        raise NewConnectionError(connection, f"Failed to establish a new connection: {error}") from error
    sys.audit("http.client.connect", connection, connection.host, connection.port)
    return sock


class _Guarded:
    """What both connection classes add: dial only allowed addresses, and let the attempt's deadline end reads."""

    def __init__(
        self,
        *args: Any,
        policy: AddressPolicy = _STRICT,
        resolver: Resolver = socket.getaddrinfo,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.policy = policy
        self.resolver = resolver

    def _new_conn(self) -> socket.socket:
        return _new_guarded_conn(self, self.policy, self.resolver)  # type: ignore[arg-type]

    def request(self, *args: Any, **kwargs: Any) -> None:
        attach(self)  # the attempt's deadline can now end this connection's reads
        super().request(*args, **kwargs)  # type: ignore[misc]


class GuardedHTTPConnection(_Guarded, OneSendRequest, HTTPConnection):
    """An HTTP connection that dials only the addresses the policy allows."""


class GuardedHTTPSConnection(_Guarded, OneSendRequest, HTTPSConnection):
    """An HTTPS connection that dials only allowed addresses; SNI and certificate checks keep the hostname."""


class GuardedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


class GuardedPoolManager(PoolManager):
    """A PoolManager whose every connection goes through the guard with one policy and resolver."""

    def __init__(
        self,
        policy: AddressPolicy,
        resolver: Resolver = socket.getaddrinfo,
        num_pools: int = 10,
        headers: Mapping[str, str] | None = None,
        **connection_pool_kw: Any,
    ) -> None:
        super().__init__(num_pools, headers, **connection_pool_kw)
        self.policy = policy
        self.resolver = resolver
        self.pool_classes_by_scheme = {"http": GuardedHTTPConnectionPool, "https": GuardedHTTPSConnectionPool}

    def _new_pool(
        self,
        scheme: str,
        host: str,
        port: int,
        request_context: dict[str, Any] | None = None,
    ) -> HTTPConnectionPool:
        # Handed over here rather than in connection_pool_kw, which must only hold PoolKey fields.
        context = dict(self.connection_pool_kw if request_context is None else request_context)
        context.update(policy=self.policy, resolver=self.resolver)
        return super()._new_pool(scheme, host, port, context)


def guarded_pool_manager(
    policy: AddressPolicy, resolver: Resolver = socket.getaddrinfo, **pool_kwargs: Any
) -> GuardedPoolManager:
    """A urllib3 PoolManager for deliveries: only allowed addresses, each checked as it is dialled."""
    return GuardedPoolManager(policy, resolver, **pool_kwargs)
