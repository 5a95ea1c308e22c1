"""What `sam build` makes (packaging/Makefile) is what Lambda runs: a cold start imports bytecode, compiles nothing,
and takes boto3 and botocore from the runtime rather than from the layer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from oms_webhooks_cli.template import Template
from tests.deploy.conftest import BUILT_TEMPLATE

pytestmark = pytest.mark.deploy
BUILD = BUILT_TEMPLATE.parent
LAYER = BUILD / "CommonLayer" / "python"
FUNCTIONS = Template().functions()  # logical id -> the function as template.yaml declares it
UNCHECKED_HASH = 0b01  # PEP 552 flags: hash-based, source not checked

# Imports a built function's module as Lambda does (its folder first, then the layer's `python`), counting every
# module compiled from source on the way; prints that count, then where the core and botocore came from.
_COLD_IMPORT = r"""
import importlib.machinery, importlib.util, sys
compiled = []
to_code = importlib.machinery.SourceFileLoader.source_to_code
def counted(self, *args, **kwargs):
    compiled.append(self.path)
    return to_code(self, *args, **kwargs)
importlib.machinery.SourceFileLoader.source_to_code = counted
sys.path[:0] = [sys.argv[1], sys.argv[2]]
spec = importlib.util.spec_from_file_location("app", sys.argv[1] + "/app.py")
spec.loader.exec_module(importlib.util.module_from_spec(spec))
import botocore, oms_webhooks
print(len(compiled), compiled[:3], oms_webhooks.__file__, botocore.__file__, sep="\n")
"""


def _pyc_flags(source: Path) -> int | None:
    """The flags of the python3.11 bytecode beside `source`, None when there is none."""
    cached = source.parent / "__pycache__" / f"{source.stem}.cpython-311.pyc"
    return int.from_bytes(cached.read_bytes()[4:8], "little") if cached.exists() else None


@pytest.mark.parametrize("artifact", [*FUNCTIONS, "CommonLayer"])
def test_every_module_is_shipped_as_unchecked_hash_bytecode(prerequisites: None, artifact: str) -> None:
    sources = list((BUILD / artifact).rglob("*.py"))
    assert sources, f"{artifact} holds no Python source"
    without = [str(s.relative_to(BUILD)) for s in sources if _pyc_flags(s) != UNCHECKED_HASH]
    assert without == [], f"{len(without)} of {len(sources)} modules lack unchecked-hash bytecode: {without[:5]}"


def test_the_layer_leaves_what_the_runtime_provides_to_the_runtime(prerequisites: None) -> None:
    shipped = {path.name.split("-")[0].lower() for path in LAYER.iterdir()}
    assert shipped.isdisjoint({"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "python_dateutil", "bin"})
    assert {"oms_webhooks", "pydantic", "pydantic_core", "aws_lambda_powertools", "urllib3", "nacl"} <= shipped


@pytest.mark.parametrize("function", list(FUNCTIONS))
def test_a_cold_start_compiles_no_module(prerequisites: None, function: str, tmp_path: Path) -> None:
    env = {"AWS_DEFAULT_REGION": "us-east-1", "PYTHONDONTWRITEBYTECODE": "1", "PATH": "/usr/bin:/bin"}
    env |= {"POWERTOOLS_SERVICE_NAME": "oms-webhooks", "POWERTOOLS_TRACE_DISABLED": "true"}
    env |= FUNCTIONS[function].environment
    done = subprocess.run(
        [sys.executable, "-c", _COLD_IMPORT, str(BUILD / function), str(LAYER)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    count, first, core, botocore = done.stdout.splitlines()[-4:]
    assert count == "0", f"compiled at import: {first}"
    assert core.startswith(str(LAYER)), core
    assert not botocore.startswith(str(BUILD)), botocore  # the runtime's (this venv's, standing in for it)
