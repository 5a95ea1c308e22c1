"""The outbound HTTP path: one POST per attempt, pooled keep-alive connections, bounded in time and size."""

from __future__ import annotations

import dataclasses
import errno
import http.client
import re
import socket
import ssl
import struct
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, cast

from urllib3.connection import HTTPConnection
from urllib3.connectionpool import HTTPConnectionPool
from urllib3.exceptions import (
    HTTPError,
    IncompleteRead,
    LocationParseError,
    LocationValueError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
    URLSchemeUnknown,
)
from urllib3.util import Url
from urllib3.util.ssl_match_hostname import CertificateError

from oms_webhooks.adapters.address_guard import AddressPolicy, ForbiddenAddress, Resolver, guarded_pool_manager
from oms_webhooks.adapters.deadline import WATCHDOG, attach
from oms_webhooks.adapters.host_limits import DEFAULT_CONNECTIONS_PER_HOST, HostSlots, parsed_url, url_host
from oms_webhooks.adapters.http_headers import install as read_headers_quickly
from oms_webhooks.clock import now

USER_AGENT = "OMS-Webhooks/1.0 (whisperer-compatible)"
RESPONSE_CONTENT_LIMIT = 1024  # bytes of a subscriber's answer kept with the attempt
# An answer's headers kept with the attempt, in the order they came: at most this many, and this many bytes of names
# and values in all (the first that would pass either bound ends the list). Set-Cookie keeps its name only.
RESPONSE_HEADERS_LIMIT = 20
RESPONSE_HEADER_BYTES = 4096
REDACTED_ANSWER_HEADERS = frozenset({"set-cookie"})
KEPT_POOLS = 256  # hosts whose pools (and kept-alive connections) a process keeps, the most recently used
_OBSOLETE_FOLD = re.compile(r"(?:(?<![ \t])[ \t]+)?\r\n[ \t]+")  # urllib3's reading of a header folded over lines


@dataclass(frozen=True)
class SendResult:
    started: datetime
    duration: float  # seconds
    status_code: int | None = None
    content: str | None = None
    error: str | None = None
    retry_after: float | None = None  # seconds, when a 429/503 said when to come back
    headers: dict[str, str] = dataclasses.field(default_factory=dict)  # the answer's, bounded (kept_headers)

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class Sender:
    """Thread-safe; share one per process so connections to a subscriber are reused across deliveries.

    At most `connections_per_host` requests to one host at once, and as many pooled connections to it: a
    request waits for its host's place before its attempt (and its total timeout) starts.
    """

    def __init__(
        self,
        policy: AddressPolicy,
        connect_timeout: float = 5.0,
        total_timeout: float = 15.0,
        connections_per_host: int = DEFAULT_CONNECTIONS_PER_HOST,
        resolver: Resolver = socket.getaddrinfo,
    ) -> None:
        read_headers_quickly()  # http.client's header parsing was a quarter of a POST's CPU
        self.connect_timeout = min(connect_timeout, total_timeout)
        self.total_timeout = total_timeout
        self.hosts = HostSlots(connections_per_host)
        self.pool = guarded_pool_manager(
            policy, resolver=resolver, num_pools=KEPT_POOLS, maxsize=connections_per_host, block=False
        )
        self._pool_keys: dict[tuple[str | None, str | None, int | None], tuple[Any, dict[str, Any]]] = {}

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> SendResult:
        with self.hosts.slot(url):
            ticket = WATCHDOG.arm(self.total_timeout)
            try:
                result = self._post(url, body, headers)
            finally:
                ticket.cancel()
        if ticket.expired and result.error:
            limit = f"the answer did not complete within the total timeout ({self.total_timeout:g} s)"
            result = dataclasses.replace(result, error=f"ReadTimeoutError: Read timed out: {limit}")
        return result

    def _post(self, url: str, body: bytes, headers: dict[str, str]) -> SendResult:
        started = now()
        clock = time.perf_counter()
        deadline = clock + self.total_timeout
        try:
            target = parsed_url(url)
            pool = self._pool_of(target)
            connection, response = _exchange(
                pool, target.request_uri, body, headers, self.connect_timeout, self.total_timeout, deadline
            )
        except ForbiddenAddress as refused:
            return SendResult(started, time.perf_counter() - clock, error=f"Refused: {refused}")
        except (HTTPError, LocationParseError, OSError) as failed:
            return SendResult(started, time.perf_counter() - clock, error=_describe(failed))
        answer = _answer_headers(response.msg)
        retry_after = _retry_after(response.status, ", ".join(answer.get("retry-after", [])[1:]) or None)
        answer_headers = kept_headers((values[0], value) for values in answer.values() for value in values[1:])
        raw = bytearray()
        error = None
        try:
            _read_capped(pool, response, deadline, raw)
        except (HTTPError, OSError) as failed:  # the answer's status stands; keep what came of its body
            error = _describe(failed)
        if error or len(raw) > RESPONSE_CONTENT_LIMIT:  # the rest is not read: this connection cannot be reused
            connection.close()
        response.close()
        pool._put_conn(connection)
        return SendResult(
            started,
            time.perf_counter() - clock,
            status_code=response.status,
            content=_text(raw) if raw or not error else None,
            error=error,
            retry_after=retry_after,
            headers=answer_headers,
        )

    def _pool_of(self, target: Url) -> HTTPConnectionPool:
        """The host's pool from the pool manager (which keeps the KEPT_POOLS most recently used), by the key it
        would make of the host: made here once per host rather than on every request, settings copied and all."""
        where = (target.scheme, target.host, target.port)
        found = self._pool_keys.get(where)
        if found is None:
            scheme, host, port = url_host(target)
            if not host:
                raise LocationValueError("No host specified.")
            if scheme not in self.pool.key_fn_by_scheme:
                raise URLSchemeUnknown(scheme)  # as connection_from_host does: an attempt's error, not a crash
            context = {**self.pool.connection_pool_kw, "scheme": scheme, "host": host, "port": port}
            if len(self._pool_keys) >= 4 * KEPT_POOLS:
                self._pool_keys.clear()  # forget the hosts of long ago
            found = self._pool_keys[where] = (self.pool.key_fn_by_scheme[scheme](context), context)
        key, context = found
        return self.pool.connection_from_pool_key(key, request_context=dict(context))


def _exchange(
    pool: HTTPConnectionPool,
    uri: str,
    body: bytes,
    headers: dict[str, str],
    connect_timeout: float,
    total_timeout: float,
    deadline: float,
) -> tuple[HTTPConnection, http.client.HTTPResponse]:
    """The request on one of the host's pooled connections and the answer's head, as urllib3's `urlopen` makes them
    with retries and redirects off (its errors too), without the response object urllib3 wraps around http.client's,
    which cost as much CPU as the whole exchange. On failure the connection is closed and its place given back.

    Once connected, a connection's socket blocks, with no timeout of Python's: a socket with one makes each send and
    read two system calls (a poll, then the call), and every system call is a moment when the other threads of the
    process take the interpreter from this one. The attempt's deadline is the watchdog's (deadline.py: it shuts the
    socket down), with the kernel's own send and receive timeouts behind it (`_blocking`)."""
    # A kept-alive connection, unless the host dropped it, or a new one (the guard checks what it dials).
    connection = cast(HTTPConnection, pool._get_conn())
    try:
        if connection.sock is None:  # a new connection: the dial and the TLS handshake within the connect timeout
            connection.timeout = connect_timeout
            pool._validate_conn(connection)  # HTTPS: connects and checks the certificate now
            if connection.sock is None:
                connection.connect()
            _blocking(connection, total_timeout)
        attach(connection)  # the attempt's deadline can now end this connection's sends and reads
        if deadline - time.perf_counter() <= 0:
            raise ReadTimeoutError(pool, uri, "Read timed out. (read timeout=0)")
        try:  # http.client's own request: urllib3's sets the socket's timeout again, a system call
            http.client.HTTPConnection.request(connection, "POST", uri, body, headers)
        except BrokenPipeError:
            pass  # the receiver may have answered and hung up before the whole body went (a 413): read its answer
        except OSError as failed:
            if failed.errno not in (errno.EPROTOTYPE, errno.ECONNRESET):
                raise
        try:  # http.client's own reading of the answer, as urllib3's connection makes it before wrapping it
            response = http.client.HTTPConnection.getresponse(connection)
        except OSError as failed:
            if isinstance(failed, TimeoutError) or failed.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                raise ReadTimeoutError(pool, uri, f"Read timed out. (read timeout={total_timeout})") from failed
            raise
    except BaseException as failed:
        connection.close()
        pool._put_conn(None)  # as urllib3 does: the place is free, the next request dials anew
        if isinstance(failed, (ssl.SSLError, CertificateError)):
            raise SSLError(failed) from failed
        if isinstance(failed, (OSError, http.client.HTTPException)):
            raise ProtocolError("Connection aborted.", failed) from failed
        raise
    return connection, response


def _blocking(connection: HTTPConnection, seconds: float) -> None:
    """No timeout of Python's on the connection's socket; the kernel ends a send or a read that waits longer than
    `seconds` (EAGAIN), in case the watchdog could not."""
    sock = connection.sock
    if sock is None:
        return
    sock.settimeout(None)
    limit = struct.pack("ll", int(seconds), int(seconds % 1 * 1_000_000))  # a struct timeval
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, limit)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, limit)


def _answer_headers(message: http.client.HTTPMessage) -> dict[str, list[str]]:
    """The answer's headers as urllib3 gives them: by name, in the order each first came, spelled as it first came
    ([spelling, value, value...]), an obsolete folded line joined by a space."""
    found: dict[str, list[str]] = {}
    for name, value in message.items():
        if "\r\n" in value:
            value = _OBSOLETE_FOLD.sub(" ", value)
        found.setdefault(name.lower(), [name]).append(value)
    return found


def kept_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """What an attempt keeps of its answer's headers: the first RESPONSE_HEADERS_LIMIT, within RESPONSE_HEADER_BYTES
    (a name repeated is one entry, its values joined by ", "), a cookie's value redacted."""
    kept: dict[str, str] = {}
    size = 0
    for name, value in headers:
        value = "[redacted]" if name.lower() in REDACTED_ANSWER_HEADERS else value
        joined = f"{kept[name]}, {value}" if name in kept else value
        grown = size + len(joined.encode()) - len(kept.get(name, "").encode()) + (0 if name in kept else len(name))
        if grown > RESPONSE_HEADER_BYTES or (name not in kept and len(kept) == RESPONSE_HEADERS_LIMIT):
            break
        kept[name], size = joined, grown
    return kept


def _read_capped(pool: HTTPConnectionPool, response: http.client.HTTPResponse, deadline: float, raw: bytearray) -> None:
    """Read into `raw` up to RESPONSE_CONTENT_LIMIT + 1 bytes of the body, by `deadline` (perf_counter()) at the latest.

    One read() of that size would wait for every byte: a body trickled a byte at a time would hold the attempt until
    the watchdog cut it. So read what has arrived, and stop at the deadline between reads; the watchdog ends a read
    that waits past it. A body shorter than its Content-Length raises, as it should. Errors are urllib3's, as its
    response would raise them.
    """
    while len(raw) <= RESPONSE_CONTENT_LIMIT:
        if deadline - time.perf_counter() <= 0:
            raise TimeoutError("Read timed out. (total timeout reached while reading the answer)")
        try:
            chunk = response.read1(RESPONSE_CONTENT_LIMIT + 1 - len(raw))
            if not chunk and response.length:  # http.client's read1() takes a body cut short for its end
                raise IncompleteRead(len(raw), response.length)
        except TimeoutError as failed:
            raise ReadTimeoutError(pool, None, "Read timed out.") from failed
        except ssl.SSLError as failed:
            raise SSLError(failed) from failed
        except (http.client.HTTPException, OSError) as failed:
            raise ProtocolError(f"Connection broken: {failed!r}", failed) from failed
        if not chunk:
            return
        raw += chunk
        if response.length == 0:  # all its Content-Length said: no need to ask for the end
            return


def _text(raw: bytearray) -> str:
    return bytes(raw[:RESPONSE_CONTENT_LIMIT]).decode("utf-8", errors="replace")


def _describe(error: BaseException) -> str:
    reason = getattr(error, "reason", None) or error
    text = str(reason)
    if "Connection refused" in text:
        return "Connection refused"
    name = type(reason).__name__
    return f"{name}: {text}"[:RESPONSE_CONTENT_LIMIT]


def _retry_after(status: int, value: str | None) -> float | None:
    if status not in (429, 503) or not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # str.isdigit() also takes "²", which float() rejects
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - now()).total_seconds())
