"""A delivering process's threads kept to one CPU: every thread, those started before and after, and only where the
setting asks for it. Each case runs in a process of its own, so the test run itself stays free to use every CPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from oms_webhooks.settings import variables

pytestmark = pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="Linux only: processes choose CPUs")

PROBE = textwrap.dedent(
    """
    import json, os, threading
    from oms_webhooks.adapters.cpu_affinity import allow_cpus, keep_to_one_cpu
    from oms_webhooks import wiring

    def affinity_of_a_new_thread():
        found = []
        thread = threading.Thread(target=lambda: found.append(sorted(os.sched_getaffinity(0))))
        thread.start(); thread.join()
        return found[0]

    before = threading.Event(); release = threading.Event(); seen = {}
    def waiting():
        before.set(); release.wait(); seen["old"] = sorted(os.sched_getaffinity(0))
    old = threading.Thread(target=waiting); old.start(); before.wait()
    start = sorted(os.sched_getaffinity(0))
    if os.environ.get("PROBE") == "wiring":
        wiring.sender()
        had = frozenset(start)
    else:
        had = keep_to_one_cpu()
    after = {"main": sorted(os.sched_getaffinity(0)), "new": affinity_of_a_new_thread()}
    release.set(); old.join(); after["old"] = seen["old"]
    allow_cpus(had)
    print(json.dumps({"start": start, "had": sorted(had), "after": after,
                      "given_back": sorted(os.sched_getaffinity(0)), "new_after": affinity_of_a_new_thread()}))
    """
)


def _probe(**env: str) -> dict:
    settings_env = {name: "x" for name in variables() if name.endswith(("_TABLE", "_URL"))}
    answer = subprocess.run(
        [sys.executable, "-c", PROBE], env={**os.environ, **settings_env, **env}, capture_output=True, text=True
    )
    assert answer.returncode == 0, answer.stderr
    return dict(json.loads(answer.stdout))


def test_every_thread_before_and_after_goes_to_one_cpu_and_gets_the_rest_back() -> None:
    found = _probe()
    one = found["after"]["main"]
    assert len(one) == 1 and one[0] in found["start"]
    assert found["after"] == {"main": one, "new": one, "old": one}  # a thread started before too
    assert found["had"] == found["start"]
    assert found["given_back"] == found["new_after"] == found["start"]


def test_the_process_sender_keeps_to_one_cpu_as_deployed() -> None:
    found = _probe(PROBE="wiring", DELIVERY_THREADS_ON_ONE_CPU="true")
    assert len(found["after"]["main"]) == 1
    assert found["after"]["new"] == found["after"]["old"] == found["after"]["main"]


def test_with_the_setting_off_the_sender_leaves_every_cpu() -> None:
    found = _probe(PROBE="wiring", DELIVERY_THREADS_ON_ONE_CPU="false")
    assert found["after"] == {"main": found["start"], "new": found["start"], "old": found["start"]}
