"""The header reading the sender installs gives the message http.client's own reading gives, whatever the block."""

from __future__ import annotations

import email.parser
import http.client
import io

import pytest

from oms_webhooks.adapters.http_headers import parse_headers


def _email_parse(block: bytes) -> http.client.HTTPMessage:
    """What http.client does without the fast path (its own function may be replaced in this process)."""
    lines = http.client._read_headers(io.BytesIO(block))  # type: ignore[attr-defined]
    parsed = email.parser.Parser(_class=http.client.HTTPMessage).parsestr(b"".join(lines).decode("iso-8859-1"))
    assert isinstance(parsed, http.client.HTTPMessage)
    return parsed


BLOCKS = [
    b"\r\n",
    b"",
    b"Content-Length: 2\r\n\r\n",
    b"Server: Werkzeug/3.1.9 Python/3.11.7\r\nDate: Sat, 05 Dec 2026 04:59:30 GMT\r\nserver: amazon.com\r\n"
    b"x-amzn-requestid: AlEx\r\nContent-Length: 2\r\nConnection: close\r\n\r\n",
    b"X-A: 1\r\nx-a: 2\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n",  # repeated names
    b"X-Empty:\r\nX-Spaces:   \t padded  \r\nX-Tight:value\r\n\r\n",  # empty, padded, no space
    b"X-Latin: caf\xe9 \xff\r\n\r\n",  # bytes over 0x7F in a value
    b"X-Bare-LF: yes\nContent-Length: 0\n\n",  # lines ended by LF alone
    b"X-Folded: a\r\n b\r\n\tc\r\nX-Next: d\r\n\r\n",  # obsolete folding: the email parser's
    b"nocolon\r\nX: y\r\n\r\n",  # not a header line: the email parser's (a defect, the rest a body)
    b"From someone\r\nX: y\r\n\r\n",  # a Unix From line
    b"Bad Name: v\r\n\r\n",  # a space in the name
    b"X-CR: a\rb\r\n\r\n",  # a carriage return inside a value
    b": no name\r\n\r\n",
    b"X-Unicode-\xe9: v\r\n\r\n",  # a name outside ASCII
]


@pytest.mark.parametrize("block", BLOCKS)
def test_the_same_message_as_the_email_parser(block: bytes) -> None:
    fast, expected = parse_headers(io.BytesIO(block)), _email_parse(block)

    assert type(fast) is type(expected)
    assert fast.items() == expected.items()
    assert fast.get_payload() == expected.get_payload()
    assert [type(defect) for defect in fast.defects] == [type(defect) for defect in expected.defects]
    assert fast.get_unixfrom() == expected.get_unixfrom()
    assert fast.get_content_type() == expected.get_content_type()
    assert fast.is_multipart() == expected.is_multipart()


def test_http_clients_bounds_still_hold() -> None:
    with pytest.raises(http.client.LineTooLong):
        parse_headers(io.BytesIO(b"X: " + b"a" * 70000 + b"\r\n\r\n"))
    with pytest.raises(http.client.HTTPException, match="more than 100 headers"):
        parse_headers(io.BytesIO(b"X: y\r\n" * 101 + b"\r\n"))


def test_the_body_after_the_block_is_left_unread() -> None:
    stream = io.BytesIO(b"Content-Length: 4\r\n\r\nbody")

    parse_headers(stream)

    assert stream.read() == b"body"


@pytest.mark.parametrize("block", BLOCKS[:8])
def test_plain_blocks_are_read_without_the_email_parser(block: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the email parser was used")

    monkeypatch.setattr(email.parser, "Parser", refuse)

    assert parse_headers(io.BytesIO(block)).items() == _items(block)


def _items(block: bytes) -> list[tuple[str, str]]:
    return [
        (name.decode("iso-8859-1"), value.lstrip(b" \t").decode("iso-8859-1"))
        for name, _, value in (line.rstrip(b"\r\n").partition(b":") for line in block.splitlines(keepends=True))
        if name
    ]
