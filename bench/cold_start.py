"""Cold start: a fresh process imports each function's module, as `sam build` ships it, and serves its first event;
and the layer's size.

The artifacts are this tree's `sam build` (packaging/Makefile: bytecode compiled at build), the layer's folder on the
path as Lambda's /opt/python; this venv's boto3 and botocore stand in for the runtime's. The baseline, run alongside
in turn: the same artifacts without their bytecode, as SAM's Python builder ships them, which Lambda's read-only
folders make each cold start compile.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from operator import itemgetter
from pathlib import Path
from typing import Any

from bench.services import ROOT, sam_build
from oms_webhooks_cli.local.stack import LOCAL_CREDENTIALS, LOCAL_OVERRIDES
from oms_webhooks_cli.template import Template

FIRST_EVENT = {
    "ApiFunction": "events/api/hooks-registry.json",
    "AuthorizerFunction": "events/authorizer/token-unknown.json",
    "DispatcherFunction": "events/eventbridge/package.created.json",
    "RetrierFunction": "events/sqs/retry-batch.json",
    "FanoutFunction": None,  # an SQS batch naming an event that is not stored: answered as a batch item failure
}

_PROBE = r"""
import importlib.util, json, sys, time
sys.path.insert(0, sys.argv[1].rsplit("/", 1)[0])  # as on Lambda: the function's folder is importable
started = time.perf_counter()
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
imported = time.perf_counter()
from oms_webhooks_cli.local.lambdas import LocalContext
try:
    module.lambda_handler(json.loads(sys.argv[2]), LocalContext(sys.argv[3], 512, 30))
except Exception as exc:  # the authorizer refuses by raising, as API Gateway expects
    pass
served = time.perf_counter()
print(json.dumps({"import_ms": (imported - started) * 1000, "first_event_ms": (served - imported) * 1000}))
"""

FANOUT_EVENT = {
    "Records": [
        {
            "messageId": "m1",
            "receiptHandle": "r1",
            "attributes": {
                "ApproximateReceiveCount": "1",
                "SentTimestamp": "1767781294000",
                "SenderId": "AROAEXAMPLE:DispatcherFunction",
                "ApproximateFirstReceiveTimestamp": "1767781295000",
            },
            "body": json.dumps({"event_id": "nope", "event_type": "package.created", "first_id": 1, "last_id": 2}),
            "messageAttributes": {},
            "md5OfBody": "0c2c3cd4e5f6a7b8c9d0e1f2a3b4c5d6",
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:fanout",
            "awsRegion": "us-east-1",
        }
    ]
}


def build(workdir: Path) -> Path:
    """This tree's `sam build`, into `workdir`: the folder of each function's and the layer's artifacts."""
    return sam_build(ROOT, workdir / "build").parent


def without_bytecode(built: Path, workdir: Path) -> Path:
    """A copy of the artifacts with no bytecode: what each cold start compiled before packaging/Makefile."""
    target = workdir / "without-bytecode"
    shutil.copytree(built, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def measure_cold_starts(endpoint: str, stack_name: str, built: Path, baseline: Path, runs: int = 3) -> dict[str, Any]:
    """Per function, the median run (of `runs`) of the built artifacts and of the baseline's, taken in turn."""
    template = Template(stack_name=stack_name, aws_endpoint=endpoint)
    results: dict[str, dict[str, float]] = {}
    for name, spec in template.functions().items():
        path = FIRST_EVENT.get(name)
        event = FANOUT_EVENT if path is None else json.loads((ROOT / path).read_text())
        env = {**os.environ, **LOCAL_CREDENTIALS, "AWS_ENDPOINT_URL": endpoint, **spec.environment, **LOCAL_OVERRIDES}
        env["PYTHONDONTWRITEBYTECODE"] = "1"  # the baseline's runs must not leave bytecode for the next one
        samples: dict[Path, list[dict[str, float]]] = {built: [], baseline: []}
        for _ in range(runs):
            for artifacts in samples:
                probe = [sys.executable, "-c", _PROBE, str(artifacts / name / "app.py"), json.dumps(event), name]
                env["PYTHONPATH"] = str(artifacts / "CommonLayer" / "python")
                done = subprocess.run(probe, env=env, capture_output=True, text=True, timeout=60, check=True)
                samples[artifacts].append(json.loads(done.stdout.strip().splitlines()[-1]))
        results[name] = {**_median(samples[built]), "baseline_total_ms": _median(samples[baseline])["total_ms"]}
    return results


def _median(samples: list[dict[str, float]]) -> dict[str, float]:
    totals = [{**s, "total_ms": s["import_ms"] + s["first_event_ms"]} for s in samples]
    return sorted(totals, key=itemgetter("total_ms"))[len(totals) // 2]


_FIRST_ASYMMETRIC = r"""
import json, time
started = time.perf_counter()
from oms_webhooks.domain import asymmetric_signing
imported = time.perf_counter()
asymmetric_signing.asymmetric_signature(asymmetric_signing_key, b"msg.1700000000." + b"x" * 1300)
signed = time.perf_counter()
for _ in range(200):
    asymmetric_signing.asymmetric_signature(asymmetric_signing_key, b"msg.1700000000." + b"x" * 1300)
print(json.dumps({"import_ms": (imported - started) * 1000, "first_signature_ms": (signed - imported) * 1000,
                  "signature_us": (time.perf_counter() - signed) / 200 * 1e6}))
"""


def asymmetric_signing_cost(runs: int = 5) -> dict[str, float]:
    """What an asymmetric hook adds to a cold start, in a fresh process each time: importing the module (PyNaCl is
    not imported yet) and its first signature (PyNaCl's import and libsodium's start), then one signature warm
    (a 1.3 KB body, the median record's). Medians of `runs`."""
    from oms_webhooks.domain.asymmetric_signing import generate_key_pair

    key, _ = generate_key_pair()
    samples = []
    for _ in range(runs):
        code = f"asymmetric_signing_key = {key!r}\n" + _FIRST_ASYMMETRIC
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
        samples.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return {name: sorted(s[name] for s in samples)[runs // 2] for name in samples[0]}


def layer_size(built: Path) -> dict[str, Any]:
    """The layer as `sam build` made it: its files installed, and zipped as `sam deploy` uploads it."""
    with tempfile.TemporaryDirectory() as tmp:
        layer = built / "CommonLayer"
        size = sum(f.stat().st_size for f in layer.rglob("*") if f.is_file())
        archive = shutil.make_archive(str(Path(tmp) / "layer"), "zip", layer)
        return {"installed_mb": size / 1e6, "zipped_mb": Path(archive).stat().st_size / 1e6}


if __name__ == "__main__":  # section 4 alone: `python -m bench.cold_start`, against a moto of its own
    from bench import services
    from bench.fanout import use_endpoint

    with services.moto() as port, tempfile.TemporaryDirectory() as work:
        use_endpoint(f"http://127.0.0.1:{port}")
        artifacts = build(Path(work))
        found = {
            "cold_start": measure_cold_starts(
                f"http://127.0.0.1:{port}", "bench-cold", artifacts, without_bytecode(artifacts, Path(work))
            ),
            "asymmetric": asymmetric_signing_cost(),
            "layer": layer_size(artifacts),
        }
    print(json.dumps(found, indent=2))
