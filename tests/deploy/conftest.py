"""The deployed path on an emulator: MiniStack (pinned, in .venv-ministack) on a free port of 127.0.0.1, and the
`sam build` output (`make sam-check`) deployed onto it with `sam deploy`, as an operator deploys to AWS.

`make deploy-local` (and `make test`) installs both and builds first; a bare `pytest` without them skips these
tests with that advice, unless OMS_WEBHOOKS_DEPLOY_TESTS=required (set by make), where that is a failure.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
import requests

from bench.previous import PREVIOUS_RELEASE, extract
from bench.services import SAM, sam_build

ROOT = Path(__file__).resolve().parents[2]
BUILT_TEMPLATE = ROOT / ".aws-sam" / "build" / "template.yaml"
MINISTACK = ROOT / ".venv-ministack" / "bin" / "ministack"
COMPAT = Path(__file__).with_name("ministack_compat.py")
STACK_NAME = "oms-webhooks-deployed"
REGION = "us-east-1"
# As deployed, except: loopback receivers allowed (the test's subscribers are on 127.0.0.1), short delivery
# timeouts, and small fan-out batches so that a few dozen hooks go through the fan-out queue.
PARAMETERS = {
    "Stage": "prod",
    "LogLevel": "INFO",
    "AllowLoopbackTargets": "true",
    "FanoutBatchSize": "25",
    "DeliveryConnectTimeout": "2",
    "DeliveryTotalTimeout": "5",
}
SOURCES = ("template.yaml", "functions", "layers/common", "packaging/Makefile")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "deploy: deploys template.yaml with sam deploy onto MiniStack (make deploy-local)"
    )


def _missing_prerequisite() -> str | None:
    for tool, how in ((SAM, "make sam-check"), (MINISTACK, "make deploy-local"), (BUILT_TEMPLATE, "make sam-check")):
        if not tool.exists():
            return f"{tool.relative_to(ROOT)} is missing: run `{how}` (or `make deploy-local`, which does both)"
    built = BUILT_TEMPLATE.stat().st_mtime
    for source in SOURCES:
        path = ROOT / source
        files = [path] if path.is_file() else [f for f in path.rglob("*") if f.suffix in (".py", ".txt")]
        stale = [f for f in files if "__pycache__" not in f.parts and f.stat().st_mtime > built]
        if stale:
            return f"{stale[0].relative_to(ROOT)} changed after the last `sam build`: run `make sam-check`"
    return None


@pytest.fixture(scope="session")
def prerequisites() -> None:
    problem = _missing_prerequisite()
    if problem is None:
        return
    if os.environ.get("OMS_WEBHOOKS_DEPLOY_TESTS") == "required":
        pytest.fail(problem)
    pytest.skip(problem)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Emulator:
    """A MiniStack server and everything it spawns (Lambda workers), in a process group of their own."""

    process: subprocess.Popen[bytes]
    endpoint: str
    log: Path

    @property
    def env(self) -> dict[str, str]:
        """What any AWS SDK (boto3, the SAM CLI, `oms-webhooks --stack-name`) needs to use it instead of AWS."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM to the whole group, SIGKILL to what outlives the timeout; returns once no process is left."""
        group = self.process.pid
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(group, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and _group_alive(group):
                self.process.poll()  # reap the leader, else it lingers as a zombie in the group
                time.sleep(0.1)
            if not _group_alive(group):
                break
        self.process.wait(timeout=timeout)
        assert not _group_alive(group), f"processes of MiniStack's group {group} outlived SIGKILL"


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def start_emulator(workdir: Path, attempts: int = 3) -> Emulator:
    """MiniStack on a free port of 127.0.0.1 only, with no other listener (IoT mTLS and SFTP off), IAM enforced,
    its temporary files (Lambda code, pid file) in `workdir`, and an environment of its own (its Lambdas inherit
    it)."""
    for attempt in range(attempts):
        port = free_port()
        log = workdir / f"ministack-{port}.log"
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(workdir),
            "TMPDIR": str(workdir),
            "GATEWAY_PORT": str(port),
            "BIND_HOST": "127.0.0.1",
            "MINISTACK_HOST": "127.0.0.1",  # the host in the URLs it hands out (queue URLs)
            "MINISTACK_REGION": REGION,
            "IOT_MTLS_ENABLED": "0",
            "SFTP_ENABLED": "0",
            "LOG_LEVEL": "INFO",
            # IAM enforced: requests need the root keys below, and each Lambda runs as its execution role, so a
            # permission missing from template.yaml fails the walk-through (an authorizer that may not read the
            # tokens table answers 500 everywhere).
            "AUTH": "true",
        }
        with log.open("wb") as out:
            process = subprocess.Popen(
                [str(MINISTACK.parent / "python"), str(COMPAT)],  # MiniStack, with what CloudFormation would convert
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        emulator = Emulator(process, f"http://127.0.0.1:{port}", log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if requests.get(f"{emulator.endpoint}/_ministack/health", timeout=2).status_code == 200:
                    return emulator
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        emulator.stop()
        if attempt == attempts - 1 or "already in use" not in log.read_text(errors="replace"):
            raise RuntimeError(f"MiniStack did not start on port {port}:\n{emulator.log_tail()}")
    raise AssertionError("unreachable")


@pytest.fixture(scope="module")
def emulator(prerequisites: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    emulator = start_emulator(tmp_path_factory.mktemp("ministack"))
    try:
        yield emulator
    finally:
        emulator.stop()


@dataclass
class Deployed:
    stack_name: str
    seconds: float  # how long `sam deploy` took
    output: str  # what it printed


def sam_deploy(
    emulator: Emulator, stack_name: str, parameters: dict[str, str], template: Path = BUILT_TEMPLATE
) -> Deployed:
    """`sam deploy` of the built template with the project's samconfig.toml (capabilities, resolve_s3), as an
    operator runs it after `sam build`, only without the changeset prompt."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(emulator.log.parent),
        "SAM_CLI_TELEMETRY": "0",
        **emulator.env,
    }
    overrides = [f"{name}={value}" for name, value in parameters.items()]
    command = [
        str(SAM),
        "deploy",
        "--template-file",
        str(template),
        "--config-file",
        str(ROOT / "samconfig.toml"),
        "--stack-name",
        stack_name,
        "--region",
        REGION,
        "--no-confirm-changeset",
        "--parameter-overrides",
        *overrides,
    ]
    started = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    took = time.monotonic() - started
    if done.returncode != 0:
        raise AssertionError(
            f"sam deploy failed ({done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}\n"
            f"MiniStack:\n{emulator.log_tail()}"
        )
    return Deployed(stack_name, took, done.stdout + done.stderr)


def deploy_beside(
    emulator: Emulator, first: Deployed, suffix: str, parameters: dict[str, str], template: Path = BUILT_TEMPLATE
) -> Deployed:
    """Another stack in the first one's account, as staging beside prod: it leaves API Gateway's account-wide
    CloudWatch role to the first (SetApiGatewayAccountRole off) and has a bus of its own; `parameters` add to those."""
    beside = {**PARAMETERS, "SetApiGatewayAccountRole": "false", "EventBusName": f"oms-events-{suffix}"}
    return sam_deploy(emulator, f"{first.stack_name}-{suffix}", {**beside, **parameters}, template)


def build_previous_release(workdir: Path) -> Path:
    """The previous release's code and template from git history, built by `sam build` as its operators built it;
    the built template's path."""
    source = workdir / "previous-release"
    source.mkdir()
    extract(PREVIOUS_RELEASE, source)
    return sam_build(source, source / ".aws-sam" / "build")


@pytest.fixture(scope="module")
def deployed(emulator: Emulator) -> Iterator[Deployed]:
    """The stack deployed, with this process's AWS SDK pointed at the emulator while the module runs."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in emulator.env.items():
            patch.setenv(name, value)
        # A default boto3 session of its own: one made earlier in this process (the in-process moto's tests, which
        # may run first in a pytest-xdist worker) keeps the credentials it found then, which MiniStack refuses.
        patch.setattr(boto3, "DEFAULT_SESSION", None)
        yield sam_deploy(emulator, STACK_NAME, PARAMETERS)
