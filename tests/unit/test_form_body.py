"""Form bodies as Django REST framework's FormParser and MultiPartParser read them."""

from __future__ import annotations

import pytest
import requests

from form_body import MalformedForm, form_fields


def test_urlencoded_fields_keep_the_last_of_a_repeated_one() -> None:
    assert form_fields("application/x-www-form-urlencoded", b"force=True&x=%20a&force=0") == {"force": "0", "x": " a"}
    assert form_fields("application/x-www-form-urlencoded; charset=utf-8", b"") == {}


def test_multipart_as_requests_and_djangos_test_client_send_it() -> None:
    prepared = requests.Request("POST", "http://x.test/", files={"force": (None, "True")}).prepare()
    assert isinstance(prepared.body, bytes)
    assert form_fields(prepared.headers["Content-Type"], prepared.body) == {"force": "True"}
    django_empty = b"--BoUnDaRyStRiNg--\r\n"  # APIClient.post(url) with no data
    assert form_fields("multipart/form-data; boundary=BoUnDaRyStRiNg", django_empty) == {}


@pytest.mark.parametrize(
    ("content_type", "body", "message"),
    [
        ("multipart/form-data", b"force=True", "Invalid boundary"),
        ("multipart/form-data; boundary=b", b"not a multipart body", "no part delimited"),
        ("multipart/form-data; boundary=b", b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--\r\n", "field name"),
        ("application/x-www-form-urlencoded", b"force=\xff", "Form parse error"),
        ("application/x-www-form-urlencoded", b"&".join(b"f%d=1" % n for n in range(101)), "Form parse error"),
    ],
)
def test_malformed_forms_say_why(content_type: str, body: bytes, message: str) -> None:
    with pytest.raises(MalformedForm, match=message):
        form_fields(content_type, body)
