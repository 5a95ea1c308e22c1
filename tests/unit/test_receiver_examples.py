"""The receiver examples in docs/examples accept what the service signs and refuse anything else.

Their verify functions are checked against `oms_webhooks.domain.signing.signature_headers`, then each example runs
as a real server process on 127.0.0.1 and gets deliveries over HTTP. docs/RECEIVING.md's excerpts must
be verbatim slices of these files, so the documentation cannot drift from what is tested here.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from oms_webhooks.domain.deliveries import delivery_id, request_body
from oms_webhooks.domain.signing import signature_headers

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"
GUIDE = ROOT / "docs" / "RECEIVING.md"
NODE = shutil.which("node")
NO_NODE = "node is not on PATH: the Node.js receiver example (docs/examples/receiver.mjs) cannot be run"

DELIVERY_ID = delivery_id("4cfef4d6-6649-4412-9143-9b9f1f4b6a6c", 1)
# Non-ASCII on purpose: the body is UTF-8 JSON with ensure_ascii=False, and must be verified as raw bytes.
BODY = request_body("package.created", DELIVERY_ID, {"id": 1073, "city": "İstanbul", "state": {"name": "Waiting"}})
TAMPERED = BODY.replace(b'"id":1073', b'"id":1074')
WHSEC = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
SECRETS = {
    "whsec": WHSEC,
    "plain": "plain-secret-with-ünïcode",
    "plain-base64-lookalike": "c2VjcmV0",  # valid base64, yet the key is these 8 UTF-8 bytes, not b"secret"
}
STALE = 6 * 60  # seconds: beyond the 5-minute tolerance
WAIT = 15.0  # seconds, the longest any single wait in this module may take


def now() -> int:
    return int(time.time())


def signed(secret: str, body: bytes = BODY, timestamp: int | None = None) -> dict[str, str]:
    """The headers of a delivery as the service sends them."""
    return {
        "Content-Type": "application/json",
        "User-Agent": "OMS-Webhooks/1.0 (whisperer-compatible)",
        "X-Whisperer-Event": "package.created",
        "X-Shop": "istanbul-01",  # an additional_header
        **signature_headers(body, secret, DELIVERY_ID, now() if timestamp is None else timestamp),
    }


def other(secret: str) -> str:
    """A different secret of the same kind (appending to a whsec_ secret could decode to the same key)."""
    if secret.startswith("whsec_"):
        return "whsec_" + base64.b64encode(b"another key, also 32 bytes long!").decode()
    return "not-" + secret


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"receiver_example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


HMAC = load("receiver_hmac")
STANDARD = load("receiver_standardwebhooks")
PYTHON_VERIFIERS = {"hmac": HMAC, "standardwebhooks": STANDARD}


# --- the Python verify() functions -------------------------------------------------------------------


@pytest.mark.parametrize("secret", SECRETS.values(), ids=SECRETS.keys())
@pytest.mark.parametrize("example", PYTHON_VERIFIERS.values(), ids=PYTHON_VERIFIERS.keys())
def test_python_verify_accepts_a_signed_delivery(example: ModuleType, secret: str) -> None:
    headers = signed(secret)
    assert example.verify(BODY, headers, secret) == json.loads(BODY)
    # Header names are case-insensitive: as a framework may hand them over.
    assert example.verify(BODY, {k.lower(): v for k, v in headers.items()}, secret) == json.loads(BODY)
    assert example.verify(BODY, {k.title(): v for k, v in headers.items()}, secret) == json.loads(BODY)


@pytest.mark.parametrize("secret", SECRETS.values(), ids=SECRETS.keys())
@pytest.mark.parametrize("example", PYTHON_VERIFIERS.values(), ids=PYTHON_VERIFIERS.keys())
def test_python_verify_rejects(example: ModuleType, secret: str) -> None:
    forged: dict[str, tuple[bytes, dict[str, str]]] = {
        "tampered body": (TAMPERED, signed(secret)),
        "wrong secret": (BODY, signed(other(secret))),
        "stale timestamp": (BODY, signed(secret, timestamp=now() - STALE)),
        "future timestamp": (BODY, signed(secret, timestamp=now() + STALE)),
        "changed webhook-id": (BODY, {**signed(secret), "webhook-id": "f" * 32}),
        "unsigned": (BODY, {"Content-Type": "application/json"}),
        "malformed signature": (BODY, {**signed(secret), "webhook-signature": "v1"}),
    }
    for case, (body, headers) in forged.items():
        with pytest.raises(example.InvalidDelivery):
            example.verify(body, headers, secret)
            pytest.fail(f"accepted: {case}")


def test_standardwebhooks_example_wraps_a_plain_secret() -> None:
    """The official lib base64-decodes any str secret; a plain secret must reach it as whsec_ + base64(utf-8)."""
    webhook = STANDARD.webhook_for("c2VjcmV0")
    assert webhook._whsecret == b"c2VjcmV0"
    assert STANDARD.webhook_for(WHSEC)._whsecret == b"0123456789abcdef0123456789abcdef"


def test_hmac_example_checks_each_signature_on_its_own() -> None:
    secret = SECRETS["plain"]
    good = signed(secret)
    other = signed("another secret")
    for header in ("X-Whisperer-Signature", "webhook-signature"):
        with pytest.raises(HMAC.InvalidDelivery):
            HMAC.verify(BODY, {**good, header: other[header]}, secret)
    # X-Whisperer-Signature has no timestamp: on its own it accepts an old delivery (dedupe on event.uuid).
    old = signed(secret, timestamp=now() - 3600)
    HMAC.verify_whisperer(BODY, old, secret)
    with pytest.raises(HMAC.InvalidDelivery, match="too old"):
        HMAC.verify_standard(BODY, old, secret)
    HMAC.verify_standard(BODY, old, secret, now=now() - 3600)  # the tolerance is around `now`
    with pytest.raises(HMAC.InvalidDelivery):
        HMAC.verify_whisperer(BODY, {**good, "X-Whisperer-Signature": "sha1=" + "0" * 40}, secret)


def test_hmac_example_accepts_any_matching_signature_in_the_list() -> None:
    headers = signed(WHSEC)
    rotated = f"v1,{base64.b64encode(b'x' * 32).decode()} v1a,ignored {headers['webhook-signature']}"
    HMAC.verify(BODY, {**headers, "webhook-signature": rotated}, WHSEC)


# --- the Node.js verify() function -------------------------------------------------------------------

NODE_HARNESS = """
import { verify } from %s;
let input = "";
for await (const chunk of process.stdin) input += chunk;
const results = JSON.parse(input).map(({ body, headers, secret }) => {
  try {
    const delivery = verify(Buffer.from(body, "base64"), headers, secret);
    return { ok: true, delivery };
  } catch (error) {
    return { ok: false, error: `${error.constructor.name}: ${error.message}` };
  }
});
process.stdout.write(JSON.stringify(results));
"""


def node_verify(cases: list[tuple[bytes, dict[str, str], str]]) -> list[dict[str, Any]]:
    """Runs receiver.mjs's exported verify() on each (body, headers, secret); returns its results."""
    if NODE is None:
        pytest.skip(NO_NODE)
    module_url = (EXAMPLES / "receiver.mjs").as_uri()
    payload = [
        {"body": base64.b64encode(body).decode(), "headers": headers, "secret": secret}
        for body, headers, secret in cases
    ]
    run = subprocess.run(
        [NODE, "--input-type=module", "-e", NODE_HARNESS % json.dumps(module_url)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    results: list[dict[str, Any]] = json.loads(run.stdout)
    return results


@pytest.mark.parametrize("secret", SECRETS.values(), ids=SECRETS.keys())
def test_node_verify(secret: str) -> None:
    headers = signed(secret)
    accepted = [
        (BODY, headers, secret),
        (BODY, {k.lower(): v for k, v in headers.items()}, secret),
    ]
    rejected = {
        "tampered body": (TAMPERED, headers, secret),
        "wrong secret": (BODY, signed(other(secret)), secret),
        "stale timestamp": (BODY, signed(secret, timestamp=now() - STALE), secret),
        "future timestamp": (BODY, signed(secret, timestamp=now() + STALE), secret),
        "changed webhook-id": (BODY, {**headers, "webhook-id": "f" * 32}, secret),
        "wrong whisperer signature": (
            BODY,
            {**headers, "X-Whisperer-Signature": signed("x")["X-Whisperer-Signature"]},
            secret,
        ),
        "wrong standard signature": (BODY, {**headers, "webhook-signature": signed("x")["webhook-signature"]}, secret),
        "unsigned": (BODY, {"Content-Type": "application/json"}, secret),
        "malformed signatures": (
            BODY,
            {**headers, "webhook-signature": "v1", "X-Whisperer-Signature": "sha256=zz"},
            secret,
        ),
    }
    results = node_verify([*accepted, *rejected.values()])
    for result in results[: len(accepted)]:
        assert result == {"ok": True, "delivery": json.loads(BODY)}
    for case, result in zip(rejected, results[len(accepted) :], strict=True):
        assert not result["ok"], f"accepted: {case}"
        assert result["error"].startswith("InvalidDelivery: "), (case, result)


# --- the examples as running servers -----------------------------------------------------------------


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    output: Path
    url: str = ""

    def log(self) -> str:
        return self.output.read_text(encoding="utf-8", errors="replace")


def python_command(name: str) -> Callable[[], list[str]]:
    return lambda: [sys.executable, str(EXAMPLES / name), "--port", "0"]


def node_command() -> list[str]:
    if NODE is None:
        pytest.skip(NO_NODE)
    return [NODE, str(EXAMPLES / "receiver.mjs"), "0"]


COMMANDS = {
    "receiver_hmac.py": python_command("receiver_hmac.py"),
    "receiver_standardwebhooks.py": python_command("receiver_standardwebhooks.py"),
    "receiver.mjs": node_command,
}


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[[list[str], str], Server]]:
    """Starts an example on port 0 (the OS picks a free one) and reads the port it announces."""
    servers: list[Server] = []

    def run(command: list[str], secret: str) -> Server:
        output = tmp_path / f"server-{len(servers)}.log"
        env = {**os.environ, "WEBHOOK_SECRET": secret, "PYTHONUNBUFFERED": "1"}
        with output.open("wb") as log:
            process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
        server = Server(process, output)
        servers.append(server)
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", server.log())
            if found:
                server.url = found.group(1) + "/webhooks"
                return server
            if process.poll() is not None:
                break
            time.sleep(0.05)
        pytest.fail(f"{command} did not start listening within {WAIT}s:\n{server.log()}")

    try:
        yield run
    finally:
        for server in servers:
            server.process.terminate()
            try:
                server.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait(timeout=5)


DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1 only, never via a proxy


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with DIRECT.open(request, timeout=WAIT) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as answer:
        answer.read()
        return int(answer.code)


@pytest.mark.parametrize("secret", [WHSEC, SECRETS["plain"]], ids=["whsec", "plain"])
@pytest.mark.parametrize("example", COMMANDS.keys())
def test_example_server(example: str, secret: str, start: Callable[[list[str], str], Server]) -> None:
    server = start(COMMANDS[example](), secret)

    assert post(server.url, BODY, signed(secret)) == 200, server.log()
    # A retry of the same delivery: signed afresh, the same event.uuid; still 2xx, handled once.
    assert post(server.url, BODY, signed(secret)) == 200, server.log()

    assert post(server.url, TAMPERED, signed(secret)) == 401
    assert post(server.url, BODY, signed(other(secret))) == 401
    assert post(server.url, BODY, signed(secret, timestamp=now() - STALE)) == 401
    assert post(server.url, BODY, {"Content-Type": "application/json"}) == 401

    log = server.log()
    assert log.count(f"accepted package.created {DELIVERY_ID}") == 1, log
    assert log.count(f"duplicate package.created {DELIVERY_ID}") == 1, log


# --- the guide quotes the tested files ---------------------------------------------------------------

EXCERPT = re.compile(r"<!-- excerpt: (?P<file>docs/examples/[\w.]+) -->\n```\w*\n(?P<code>.*?)\n```", re.DOTALL)


def quoted(excerpt: list[str], source: list[str]) -> bool:
    """Whether `excerpt` is a run of whole lines of `source`, all shifted left by the same indentation."""
    for start in range(len(source) - len(excerpt) + 1):
        first = source[start]
        indent = first[: len(first) - len(first.lstrip())]
        if all(
            line == (indent + quote if quote else "")
            for quote, line in zip(excerpt, source[start : start + len(excerpt)], strict=True)
        ):
            return True
    return False


def test_guide_excerpts_are_verbatim_slices_of_the_examples() -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    excerpts = list(EXCERPT.finditer(guide))
    assert {match["file"] for match in excerpts} == {
        "docs/examples/receiver_standardwebhooks.py",
        "docs/examples/receiver_hmac.py",
        "docs/examples/receiver.mjs",
    }
    for match in excerpts:
        source = (ROOT / match["file"]).read_text(encoding="utf-8").splitlines()
        assert quoted(match["code"].splitlines(), source), f"the excerpt of {match['file']} drifted:\n{match['code']}"
    for link in re.findall(r"\]\((examples/[^)#]+)", guide):
        assert (GUIDE.parent / link).is_file(), f"docs/RECEIVING.md links to a missing {link}"
