"""Runs a template function's handler in this process, as Lambda would: one invocation at a time."""

from __future__ import annotations

import importlib.util
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from oms_webhooks_cli.template import Function


@dataclass
class LocalContext:
    """The parts of Lambda's context object that handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int
    timeout_seconds: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = "local"
    log_stream_name: str = "local"
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"
        self._deadline = time.monotonic() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class LocalFunction:
    """One function's handler. `concurrency` invocations may run at once, as Lambda runs several instances;
    functions behind the API keep 1, since Powertools' resolver holds the current request on the module."""

    def __init__(self, spec: Function, concurrency: int = 1) -> None:
        self.spec = spec
        self._module: ModuleType | None = None
        self._loading = threading.Lock()
        self._slots = threading.BoundedSemaphore(concurrency)

    @property
    def module(self) -> ModuleType:
        with self._loading:
            return self._load()

    def _load(self) -> ModuleType:
        if self._module is None:
            module_file, _, _ = self.spec.handler.rpartition(".")
            path = self.spec.code_uri / f"{module_file.replace('.', '/')}.py"
            name = f"oms_local_fn_{self.spec.logical_id}"
            loader_spec = importlib.util.spec_from_file_location(name, path)
            if loader_spec is None or loader_spec.loader is None:
                raise ImportError(f"cannot load {path} for {self.spec.logical_id}")
            code = str(self.spec.code_uri)
            if code not in sys.path:  # as on Lambda, the function's own folder is importable (its sibling modules)
                sys.path.insert(0, code)
            module = importlib.util.module_from_spec(loader_spec)
            sys.modules[name] = module
            loader_spec.loader.exec_module(module)
            self._module = module
        return self._module

    def invoke(self, event: dict[str, Any]) -> Any:
        handler = getattr(self.module, self.spec.handler.rpartition(".")[2])
        context = LocalContext(self.spec.logical_id, self.spec.memory, self.spec.timeout)
        with self._slots:
            return handler(event, context)
