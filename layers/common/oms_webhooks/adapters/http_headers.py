"""http.client's reading of a header block, plain `Name: value` lines read without the email package.

http.client hands every answer's header block to email.parser's FeedParser, a generator over each line and several
regular expressions: in the dispatcher's threads, about 50 µs of CPU per delivery, a quarter of its POST
(bench/RESULTS.md §1c). The lines of the plain form are read here into the same message; a block with any other line
(folded, without a colon, a name outside the characters the email parser takes for one) goes to the email parser as
before, so what a reader of the message sees does not change. `install()` puts this reading in http.client, for every
client and server of the process (urllib3, botocore).
"""

from __future__ import annotations

import email.parser
import http.client
import re
from typing import Any

# A header line as the email parser reads it (`Name:` of printable ASCII but the colon, the value after spaces and
# tabs), with nothing that parser would read differently: no carriage return inside, no folding.
_PLAIN_LINE = re.compile(rb"([\x21-\x39\x3b-\x7e]+):[ \t]*([^\r\n]*)\r?\n")


def parse_headers(fp: Any, _class: type[http.client.HTTPMessage] = http.client.HTTPMessage) -> http.client.HTTPMessage:
    """http.client.parse_headers(), the same message for a block of plain lines, in a fifth of the CPU."""
    lines = http.client._read_headers(fp)  # type: ignore[attr-defined]  # http.client's bounds on lines and their count
    message = _class()
    for line in lines[:-1]:  # the last is the empty line that ends the block (or the end of the stream)
        plain = _PLAIN_LINE.fullmatch(line)
        if plain is None:
            return email.parser.Parser(_class=_class).parsestr(b"".join(lines).decode("iso-8859-1"))
        message.set_raw(plain[1].decode("iso-8859-1"), plain[2].decode("iso-8859-1"))
    message.set_payload("")  # as the email parser leaves a message without a body
    return message


def install() -> None:
    """From now on, http.client reads header blocks here (idempotent)."""
    http.client.parse_headers = parse_headers  # type: ignore[assignment]
