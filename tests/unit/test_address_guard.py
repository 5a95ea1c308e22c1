"""The SSRF guard: every spelling of an inside address is refused, and refused before any connect.

Only 127.0.0.1 is ever dialled here; every other address comes from a stub resolver and is
refused (or the dial is intercepted) before a socket connects.
"""

from __future__ import annotations

import ipaddress
import pickle
import re
import socket
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import urllib3
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pytest_httpserver import HTTPServer
from urllib3.exceptions import NewConnectionError, SSLError

from oms_webhooks.adapters.address_guard import (
    AddressPolicy,
    AddrInfo,
    ForbiddenAddress,
    GuardedHTTPConnection,
    GuardedHTTPConnectionPool,
    GuardedHTTPSConnection,
    GuardedHTTPSConnectionPool,
    check_literal_target,
    guarded_pool_manager,
    is_forbidden,
    literal_address,
    resolve_checked,
)
from oms_webhooks.adapters.sender import Sender

STRICT = AddressPolicy()
LOCAL_DEV = AddressPolicy(allow_loopback=True)


def addrinfo(address: str, port: int) -> AddrInfo:
    if ":" in address:
        return (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))
    return (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))


class StubResolver:
    """Answers like getaddrinfo from a fixed table, and remembers every question."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.calls: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int, family: int = 0, type: int = 0) -> list[AddrInfo]:
        self.calls.append((host, port))
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [addrinfo(address, port) for address in self.table[host]]


@pytest.fixture
def dials(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Every way urllib3 or the guard could open a connection, or ask the system resolver, recorded and refused."""
    calls: list[tuple[Any, ...]] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        raise AssertionError(f"a connection or system lookup was attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(urllib3.util.connection, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return calls


# --- literal_address ------------------------------------------------------------------------------

LITERALS = [
    ("127.0.0.1", "127.0.0.1"),
    ("2130706433", "127.0.0.1"),
    ("0x7f000001", "127.0.0.1"),
    ("0X7F000001", "127.0.0.1"),
    ("0x7f.0.0.1", "127.0.0.1"),
    ("0x7f.0x0.0x0.0x1", "127.0.0.1"),
    ("0177.0.0.1", "127.0.0.1"),
    ("00000177.0.0.01", "127.0.0.1"),
    ("127.1", "127.0.0.1"),
    ("0x7f.1", "127.0.0.1"),
    ("127.0.1", "127.0.0.1"),
    ("10.1.1", "10.1.0.1"),
    ("10.65536", "10.1.0.0"),
    ("0251.0376.0251.0376", "169.254.169.254"),
    ("0xa9fea9fe", "169.254.169.254"),
    ("2852039166", "169.254.169.254"),
    ("169.254.43518", "169.254.169.254"),
    ("0", "0.0.0.0"),
    ("0xffffffff", "255.255.255.255"),
    ("8.8.8.8", "8.8.8.8"),
    ("134744072", "8.8.8.8"),
    ("127.0.0.1.", "127.0.0.1"),
    ("\uff11\uff12\uff17.\uff10.\uff10.\uff11", "127.0.0.1"),  # fullwidth digits, IDNA-folded
    ("127\u30020\u30020\u30021", "127.0.0.1"),  # ideographic full stops, IDNA-folded
    ("[::1]", "::1"),
    ("::1", "::1"),
    ("[::]", "::"),
    ("[fd00::1]", "fd00::1"),
    ("[fe80::1%25eth0]", "fe80::1%eth0"),
    ("[2001:4860:4860::8888]", "2001:4860:4860::8888"),
    # IPv4-mapped IPv6 dials the IPv4 address, so that is what is returned.
    ("[::ffff:127.0.0.1]", "127.0.0.1"),
    ("::ffff:7f00:1", "127.0.0.1"),
    ("[::ffff:a9fe:a9fe]", "169.254.169.254"),
    ("[0:0:0:0:0:ffff:10.0.0.1]", "10.0.0.1"),
    # Translated and deprecated forms stay IPv6; is_forbidden() judges their embedded IPv4.
    ("[::127.0.0.1]", "::127.0.0.1"),
    ("[64:ff9b::7f00:1]", "64:ff9b::7f00:1"),
    ("[2002:7f00:1::]", "2002:7f00:1::"),
]

NOT_LITERALS = [
    "example.com",
    "receiver.test",
    "localhost",
    "1.2.3.4.5",
    "1.2.3.4.example.com",
    "256.0.0.1",
    "1.256.0.1",
    "1.16777216",
    "4294967296",
    "0x100000000",
    "08.0.0.1",
    "09",
    "0x",
    "0x1g",
    "1e1",
    "1..1",
    ".1",
    "",
    "[not-v6]",
    "::ffff:0x7f.1",
]


@pytest.mark.parametrize(("host", "expected"), LITERALS)
def test_literal_address_reads_every_spelling(host: str, expected: str) -> None:
    assert literal_address(host) == ipaddress.ip_address(expected)


@pytest.mark.parametrize("host", NOT_LITERALS)
def test_literal_address_is_none_for_names_and_non_addresses(host: str) -> None:
    assert literal_address(host) is None


@pytest.mark.parametrize(
    "text",
    [host for host, _ in LITERALS if ":" not in host and host.isascii() and not host.endswith(".")]
    + [host for host in NOT_LITERALS if ":" not in host]
    + ["127.0.0.1 trailing", "1.2.3.4\t"],
)
def test_ipv4_reading_agrees_with_the_c_library(text: str) -> None:
    """inet_aton() is what the system resolver uses for numeric hosts; we must read them the same."""
    try:
        expected: ipaddress.IPv4Address | None = ipaddress.IPv4Address(socket.inet_aton(text))
    except OSError:
        expected = None
    assert literal_address(text) == expected


# --- is_forbidden ---------------------------------------------------------------------------------

FORBIDDEN = [
    "10.0.0.5",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "127.0.0.1",
    "127.255.255.254",
    "169.254.169.254",
    "169.254.0.1",
    "100.64.0.1",
    "100.127.255.255",
    "0.0.0.0",
    "0.1.2.3",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "192.0.0.8",
    "192.0.2.1",
    "198.18.0.1",
    "198.51.100.7",
    "203.0.113.9",
    "::",
    "::1",
    "fc00::1",
    "fd00:ec2::254",  # the EC2 metadata service over IPv6
    "fe80::1",
    "fe80::1%eth0",
    "fec0::1",
    "ff02::1",
    "ff0e::1",
    "100::1",
    "2001::1",  # Teredo
    "2001:db8::1",
    "3fff::1",
    "5f00::1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::ffff:127.0.0.1",
    "::127.0.0.1",  # IPv4-compatible, deprecated
    "::8.8.8.8",
    "64:ff9b::a00:1",  # NAT64 to 10.0.0.1
    "64:ff9b::a9fe:a9fe",
    "64:ff9b:1::808:808",  # local-use NAT64
    "2002:a00:1::1",  # 6to4 around 10.0.0.1
    "2002:a9fe:a9fe::1",
]

ALLOWED = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.215.14",
    "100.128.0.1",
    "172.32.0.1",
    "2606:4700:4700::1111",
    "2001:4860:4860::8888",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "2002:808:808::1",
]


@pytest.mark.parametrize("address", FORBIDDEN)
def test_non_public_addresses_are_forbidden(address: str) -> None:
    assert is_forbidden(ipaddress.ip_address(address), STRICT)


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_are_allowed(address: str) -> None:
    assert not is_forbidden(ipaddress.ip_address(address), STRICT)
    assert not is_forbidden(ipaddress.ip_address(address), LOCAL_DEV)


@pytest.mark.parametrize("address", ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"])
def test_loopback_only_with_the_policy_flag(address: str) -> None:
    assert is_forbidden(ipaddress.ip_address(address), STRICT)
    assert not is_forbidden(ipaddress.ip_address(address), LOCAL_DEV)


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.1",
        "169.254.169.254",
        "0.0.0.0",
        "::",
        "fe80::1",
        "::127.0.0.1",
        "64:ff9b::7f00:1",  # loopback behind a translator is not our loopback
        "2002:7f00:1::1",
    ],
)
def test_loopback_flag_opens_nothing_else(address: str) -> None:
    assert is_forbidden(ipaddress.ip_address(address), LOCAL_DEV)


# --- check_literal_target -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://127.1/",
        "http://0x7f.1:8080/",
        "http://2130706433/",
        "https://0177.0.0.1/",
        "http://[::1]/",
        "http://[::ffff:7f00:1]:8080/x",
        "http://[::ffff:127.0.0.1]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://user:secret@0251.0376.0251.0376/",
        "http://0xa9fea9fe/",
        "http://10.1.1/",
        "http://100.64.0.1/",
        "http://[fd00:ec2::254]/",
        "http://[fe80::1%25eth0]/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://0.0.0.0:8000/",
        "HTTP://127.0.0.1./",
    ],
)
def test_literal_targets_are_refused_at_subscribe_time(url: str) -> None:
    with pytest.raises(ForbiddenAddress):
        check_literal_target(url, STRICT)


@pytest.mark.parametrize(
    "url",
    ["https://example.com/hook", "https://receiver.test:8443/x", "http://8.8.8.8/", "http://[2606:4700::1111]/"],
)
def test_public_literals_and_names_pass_subscribe_time(url: str) -> None:
    check_literal_target(url, STRICT)


def test_loopback_target_passes_with_the_flag_only() -> None:
    check_literal_target("http://127.0.0.1:8000/hook", LOCAL_DEV)
    check_literal_target("http://[::1]:8000/hook", LOCAL_DEV)
    with pytest.raises(ForbiddenAddress):
        check_literal_target("http://127.0.0.1:8000/hook", STRICT)


def test_refusal_names_host_and_address() -> None:
    with pytest.raises(ForbiddenAddress) as caught:
        check_literal_target("http://0xa9fea9fe/", STRICT)
    assert caught.value.host == "0xa9fea9fe"
    assert caught.value.address == "169.254.169.254"
    assert "0xa9fea9fe" in str(caught.value)
    assert "169.254.169.254" in str(caught.value)
    copy = pickle.loads(pickle.dumps(caught.value))
    assert (copy.host, copy.address, str(copy)) == (caught.value.host, caught.value.address, str(caught.value))


@pytest.mark.parametrize(
    "url",
    ["http:///no-host", "not a url at all://", "http://%zz/", "http://[v1.x]/", "http://\uff11\uff12\uff17.0.0.1/"],
)
def test_urls_the_sender_cannot_parse_are_never_dialled(dials: list[tuple[Any, ...]], url: str) -> None:
    """Nothing to refuse at subscribe time (the hook validator refuses these): the sender cannot even parse them.

    A hook stored before that validator existed can still be changed, and its deliveries fail as attempts.
    """
    check_literal_target(url, STRICT)
    with pytest.raises(urllib3.exceptions.LocationValueError):  # LocationParseError and URLSchemeUnknown too
        guarded_pool_manager(STRICT).request("POST", url, retries=False)
    assert dials == []


# --- resolve_checked ------------------------------------------------------------------------------


def test_resolve_checked_returns_the_allowed_answer() -> None:
    resolver = StubResolver({"hook.test": ["8.8.8.8", "2001:4860:4860::8888"]})
    entries = resolve_checked("hook.test", 443, STRICT, resolver)
    assert [entry[4][0] for entry in entries] == ["8.8.8.8", "2001:4860:4860::8888"]
    assert resolver.calls == [("hook.test", 443)]


@pytest.mark.parametrize(
    ("answer", "refused"),
    [
        (["10.0.0.5"], "10.0.0.5"),
        (["169.254.169.254"], "169.254.169.254"),
        (["::ffff:10.0.0.1"], "10.0.0.1"),
        (["8.8.8.8", "10.0.0.5"], "10.0.0.5"),
        (["10.0.0.5", "8.8.8.8"], "10.0.0.5"),
        (["2001:4860:4860::8888", "fd00::1"], "fd00::1"),
        (["127.0.0.1"], "127.0.0.1"),
    ],
)
def test_resolve_checked_refuses_any_forbidden_answer(answer: list[str], refused: str) -> None:
    with pytest.raises(ForbiddenAddress) as caught:
        resolve_checked("hook.test", 80, STRICT, StubResolver({"hook.test": answer}))
    assert caught.value.host == "hook.test"
    assert caught.value.address == refused


def test_resolve_checked_refuses_a_forbidden_literal_without_asking_the_resolver() -> None:
    resolver = StubResolver({})
    with pytest.raises(ForbiddenAddress):
        resolve_checked("0x7f.1", 80, STRICT, resolver)
    assert resolver.calls == []


def test_resolve_checked_refuses_an_unreadable_sockaddr() -> None:
    def odd_resolver(host: str, port: int, family: int = 0, type: int = 0) -> list[AddrInfo]:
        return [(socket.AF_UNIX, socket.SOCK_STREAM, 0, "", ("/run/docker.sock",))]

    with pytest.raises(ForbiddenAddress):
        resolve_checked("hook.test", 80, STRICT, odd_resolver)


def test_resolve_checked_lets_resolution_errors_through() -> None:
    with pytest.raises(socket.gaierror):
        resolve_checked("nowhere.test", 80, STRICT, StubResolver({}))


# --- urllib3: refused before any connect ----------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [["10.0.0.5"], ["169.254.169.254"], ["::ffff:10.0.0.1"], ["8.8.8.8", "10.0.0.5"], ["fd00:ec2::254"]],
    ids=["private", "metadata", "mapped", "mixed", "ula"],
)
@pytest.mark.parametrize("scheme", ["http", "https"])
def test_pool_manager_refuses_before_connecting(dials: list[tuple[Any, ...]], answer: list[str], scheme: str) -> None:
    resolver = StubResolver({"hook.test": answer})
    with guarded_pool_manager(STRICT, resolver) as http, pytest.raises(ForbiddenAddress):
        http.request("POST", f"{scheme}://hook.test/events", body=b"{}")
    assert dials == []
    assert resolver.calls == [("hook.test", 443 if scheme == "https" else 80)]


@pytest.mark.parametrize(
    "url", ["http://0x7f.1:8080/", "http://[::ffff:a9fe:a9fe]/", "https://2852039166/", "http://10.1.1/"]
)
def test_pool_manager_refuses_literal_urls_without_resolving(dials: list[tuple[Any, ...]], url: str) -> None:
    resolver = StubResolver({})
    with guarded_pool_manager(STRICT, resolver) as http, pytest.raises(ForbiddenAddress):
        http.request("GET", url)
    assert dials == []
    assert resolver.calls == []


def test_forbidden_address_is_neither_wrapped_nor_retried(dials: list[tuple[Any, ...]]) -> None:
    """urllib3 wraps and retries OSError and its own errors; ForbiddenAddress is neither, so it surfaces as is."""
    resolver = StubResolver({"hook.test": ["10.0.0.5"]})
    with (
        guarded_pool_manager(STRICT, resolver, retries=urllib3.Retry(total=5)) as http,
        pytest.raises(ForbiddenAddress) as caught,
    ):
        http.request("GET", "http://hook.test/")
    assert type(caught.value) is ForbiddenAddress
    assert not isinstance(caught.value, urllib3.exceptions.HTTPError)
    assert resolver.calls == [("hook.test", 80)]
    assert dials == []


def test_guarded_connection_is_strict_by_default(dials: list[tuple[Any, ...]]) -> None:
    resolver = StubResolver({"hook.test": ["127.0.0.1"]})
    for connection_class in (GuardedHTTPConnection, GuardedHTTPSConnection):
        with pytest.raises(ForbiddenAddress):
            connection_class("hook.test", 80, resolver=resolver).connect()
    assert dials == []


def test_pool_manager_builds_guarded_pools_with_its_policy() -> None:
    resolver = StubResolver({})
    http = guarded_pool_manager(LOCAL_DEV, resolver, timeout=urllib3.Timeout(connect=2, read=5), maxsize=3)
    https_pool = http.connection_from_url("https://hook.test/")
    http_pool = http.connection_from_url("http://hook.test/")
    assert type(https_pool) is GuardedHTTPSConnectionPool
    assert type(http_pool) is GuardedHTTPConnectionPool
    assert https_pool.pool is not None
    assert https_pool.pool.maxsize == 3
    connection = http_pool._get_conn()
    assert isinstance(connection, GuardedHTTPConnection)
    assert connection.policy is LOCAL_DEV
    assert connection.resolver is resolver
    assert connection.timeout == 2


# --- urllib3: the checked address is the dialled address -----------------------------------------


def test_dials_the_checked_address_and_honours_the_connect_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    dialled: list[tuple[float | None, Any]] = []

    def refused(self: socket.socket, address: Any) -> None:
        dialled.append((self.gettimeout(), address))
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(socket.socket, "connect", refused)
    resolver = StubResolver({"receiver.test": ["127.0.0.1"]})
    with guarded_pool_manager(LOCAL_DEV, resolver) as http, pytest.raises(NewConnectionError):
        http.request(
            "GET",
            "http://receiver.test:8080/",
            timeout=urllib3.Timeout(connect=1.5, read=9.0),
            retries=False,
        )
    assert dialled == [(1.5, ("127.0.0.1", 8080))]


def test_reaches_a_local_receiver_by_name_keeping_the_host_header(httpserver_ipv4: HTTPServer) -> None:
    port = httpserver_ipv4.port
    httpserver_ipv4.expect_request("/hook", method="POST").respond_with_data("ok", status=204)
    resolver = StubResolver({"receiver.test": ["127.0.0.1"]})

    with guarded_pool_manager(LOCAL_DEV, resolver) as http:
        response = http.request("POST", f"http://receiver.test:{port}/hook", body=b"{}")

    assert response.status == 204
    (request, _response), *_ = httpserver_ipv4.log
    assert request.headers["Host"] == f"receiver.test:{port}"
    assert resolver.calls == [("receiver.test", port)]


def test_same_local_receiver_is_refused_without_the_flag(
    httpserver_ipv4: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = httpserver_ipv4.port
    httpserver_ipv4.expect_request("/hook").respond_with_data("ok")
    dialled: list[Any] = []
    monkeypatch.setattr(socket.socket, "connect", lambda self, address: dialled.append(address))

    resolver = StubResolver({"receiver.test": ["127.0.0.1"]})
    with guarded_pool_manager(STRICT, resolver) as http, pytest.raises(ForbiddenAddress):
        http.request("POST", f"http://receiver.test:{port}/hook", body=b"{}")

    assert dialled == []
    assert httpserver_ipv4.log == []


class RebindingResolver(StubResolver):
    """A hostile name: allowed on the first lookup, pointing inside on every later one."""

    def __call__(self, host: str, port: int, family: int = 0, type: int = 0) -> list[AddrInfo]:
        self.calls.append((host, port))
        address = "127.0.0.1" if len(self.calls) == 1 else "10.0.0.5"
        return [addrinfo(address, port)]


def test_one_lookup_per_connection_so_rebinding_cannot_slip_in(
    httpserver_ipv4: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = httpserver_ipv4.port
    httpserver_ipv4.expect_request("/hook").respond_with_data("ok")

    def no_system_lookup(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the system resolver was asked")

    monkeypatch.setattr(socket, "getaddrinfo", no_system_lookup)
    resolver = RebindingResolver({})

    with guarded_pool_manager(LOCAL_DEV, resolver) as http:
        assert http.request("GET", f"http://receiver.test:{port}/hook").status == 200
        assert len(resolver.calls) == 1
        http.clear()  # a fresh connection must look the name up, and check it, again
        with pytest.raises(ForbiddenAddress, match=re.escape("10.0.0.5")):
            http.request("GET", f"http://receiver.test:{port}/hook")

    assert len(httpserver_ipv4.log) == 1


# --- urllib3: TLS still verifies the hostname, not the dialled address ----------------------------


def write_self_signed(directory: Path, hostname: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{hostname}.crt", directory / f"{hostname}.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def tls_receiver(tmp_path: Path) -> Iterator[tuple[HTTPServer, Path, list[str | None]]]:
    """An HTTPS server on 127.0.0.1 with a certificate for receiver.test; records the SNI it is sent."""
    cert_path, key_path = write_self_signed(tmp_path, "receiver.test")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    server_names: list[str | None] = []
    context.sni_callback = lambda _sock, name, _context: server_names.append(name)
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context)
    server.start()
    try:
        yield server, cert_path, server_names
    finally:
        server.clear()
        server.stop()


def test_https_sends_sni_and_verifies_the_certificate_for_the_hostname(
    tls_receiver: tuple[HTTPServer, Path, list[str | None]],
) -> None:
    server, cert_path, server_names = tls_receiver
    server.expect_request("/hook").respond_with_data("ok")
    resolver = StubResolver({"receiver.test": ["127.0.0.1"]})

    with guarded_pool_manager(LOCAL_DEV, resolver, ca_certs=str(cert_path)) as http:
        response = http.request("GET", f"https://receiver.test:{server.port}/hook")

    assert response.status == 200
    assert server_names == ["receiver.test"]
    (request, _response), *_ = server.log
    assert request.headers["Host"] == f"receiver.test:{server.port}"


def test_https_still_rejects_a_certificate_for_another_name(
    tls_receiver: tuple[HTTPServer, Path, list[str | None]], tmp_path: Path
) -> None:
    server, _cert_path, _names = tls_receiver
    other_cert, _other_key = write_self_signed(tmp_path, "other.test")
    resolver = StubResolver({"other.test": ["127.0.0.1"]})

    with guarded_pool_manager(LOCAL_DEV, resolver, ca_certs=str(other_cert)) as http, pytest.raises(SSLError):
        http.request("GET", f"https://other.test:{server.port}/hook", retries=False)


def test_the_sender_posts_over_https_verifying_the_certificate_and_refuses_another_names(
    tls_receiver: tuple[HTTPServer, Path, list[str | None]], tmp_path: Path
) -> None:
    """Sender.post drives the pool's connection itself (urllib3's `_validate_conn` does the handshake): the
    certificate is still checked for the hook's host name, and a wrong one is a failed attempt naming it."""
    server, cert_path, server_names = tls_receiver
    server.expect_request("/hook", method="POST").respond_with_data("ok")
    other_cert, _other_key = write_self_signed(tmp_path, "other.test")
    resolver = StubResolver({"receiver.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})
    trusting = Sender(LOCAL_DEV, resolver=resolver)
    trusting.pool.connection_pool_kw["ca_certs"] = str(cert_path)
    wrong = Sender(LOCAL_DEV, resolver=resolver)
    wrong.pool.connection_pool_kw["ca_certs"] = str(other_cert)

    sent = trusting.post(f"https://receiver.test:{server.port}/hook", b"{}", {"Content-Type": "application/json"})
    refused = wrong.post(f"https://receiver.test:{server.port}/hook", b"{}", {"Content-Type": "application/json"})

    assert (sent.status_code, sent.content, sent.error) == (200, "ok", None)
    assert server_names[0] == "receiver.test"
    assert refused.status_code is None and refused.error is not None and "certificate" in refused.error.lower()
    assert len(server.log) == 1  # nothing was sent over the connection it could not verify
