"""``guestpatch demo`` as a newcomer runs it: a real process, watched through its API like any client.

The admin token and the CA come from the demo's data directory, as the CLI would read them. The
first demo runs without the host agent and without random failures (so its good release completes in
its first night): one release must complete and the bad one halt in its canary phase after touching a
few machines, zones of a region must never have patched together, and Ctrl-C must stop everything
with exit 0. The second demo enrolls this machine's real agent: its VM is assessed and never gets an
installation.
"""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from guestpatch.demo.host import RESOURCE_GROUP, SUBSCRIPTION, host_vm_name
from tests.e2e.fleet import wait_for
from tests.server_fixtures import free_port

pytestmark = pytest.mark.slow

SPEED = "600"  # a night (~13 fleet hours) in about 80 s
STORY_BOUND = 300.0  # wall seconds for a release to complete and the bad one to halt


@dataclass
class Demo:
    process: subprocess.Popen[bytes]
    data_dir: Path
    url: str
    log: Path

    def client(self) -> httpx.Client:
        token = (self.data_dir / "admin.token").read_text().strip()
        context = ssl.create_default_context(cafile=str(self.data_dir / "tls" / "ca.pem"))
        return httpx.Client(base_url=self.url, verify=context, timeout=30, headers={"Authorization": f"Bearer {token}"})

    def get(self, path: str, **params: Any) -> Any:
        with self.client() as http:
            answer = http.get(path, params=params)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def children(self) -> set[int]:
        """Processes whose parent is the demo (read from /proc)."""
        found = set()
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == self.process.pid:
                    found.add(int(entry.name))
        return found

    def interrupt(self, timeout: float = 20.0) -> int:
        """Ctrl-C (SIGINT); the exit code."""
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=timeout)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def launch(where: Path, *flags: str) -> Demo:
    """``python -m guestpatch demo`` on a free port with its data in ``where``; returns once it answers."""
    port = free_port()
    data_dir = where / "demo-data"
    log = where / "demo.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUESTPATCH_")}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "guestpatch", "demo", "--speed", SPEED, "--port", str(port), "--data-dir",
             str(data_dir), *flags],
            stdout=out, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    demo = Demo(process, data_dir, f"https://127.0.0.1:{port}", log)

    def answers() -> bool:
        assert process.poll() is None, f"the demo exited with {process.returncode}:\n{demo.output()}"
        if not (data_dir / "tls" / "ca.pem").exists() or not (data_dir / "admin.token").exists():
            return False
        try:
            return demo.get("/v1/rollouts") is not None
        except (httpx.HTTPError, AssertionError, ssl.SSLError):
            return False

    wait_for(answers, timeout=60, what="the demo's API")
    return demo


def spans_overlap(a: tuple[str, str], b: tuple[str, str]) -> bool:
    return datetime.fromisoformat(a[0]) < datetime.fromisoformat(b[1]) and datetime.fromisoformat(b[0]) < (
        datetime.fromisoformat(a[1]))  # fmt: skip


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    running = launch(tmp_path_factory.mktemp("demo"), "--no-host-agent", "--failure-rate", "0")
    try:
        yield running
    finally:
        running.kill()


@pytest.fixture(scope="module")
def story(demo: Demo) -> dict[str, dict[str, Any]]:
    """The demo's rollouts by status once one has completed and another halted (bounded)."""

    def told() -> dict[str, dict[str, Any]] | None:
        assert demo.process.poll() is None, demo.output()
        rollouts = {r["status"]: r for r in demo.get("/v1/rollouts")["value"]}
        return rollouts if {"Completed", "Halted"} <= set(rollouts) else None

    result: dict[str, dict[str, Any]] = wait_for(told, timeout=STORY_BOUND, every=2.0,
                                                 what="a completed and a halted rollout")  # fmt: skip
    return result


def test_the_bad_release_halts_in_its_canary_after_a_few_machines(demo: Demo, story: dict[str, Any]) -> None:
    """Halted by the gate in phase 0 because its machines failed; a canary wave or two were touched, no more."""
    halted = demo.get(f"/v1/rollouts/{story['Halted']['id']}")
    assert halted["phase"] == 0
    assert halted["halt"]["by"] == "gate"
    assert "failed" in halted["halt"]["reason"]
    assert halted["halt"]["machines"]
    canary = {r["region"] for r in halted["phases"][0]["regions"]}
    machines = demo.get(f"/v1/rollouts/{halted['id']}/machines")["value"]
    touched = [m for m in machines if m["attempts"] > 0]
    assert 2 <= len(touched) <= 9, touched  # a first wave of 3 (or 2, then one of up to 6)
    assert {m["region"] for m in touched} <= canary
    assert not [m for m in touched if m["status"] == "Succeeded"], touched


def test_the_good_release_patched_every_machine(demo: Demo, story: dict[str, Any]) -> None:
    """Completed: every machine of the fleet Succeeded, each in one attempt (no failures in this demo)."""
    rollout = story["Completed"]["id"]
    machines = demo.get(f"/v1/rollouts/{rollout}/machines")["value"]
    assert len(machines) == 60
    assert {m["status"] for m in machines} == {"Succeeded"}
    assert len(demo.get(f"/v1/rollouts/{rollout}/attempts")["value"]) == 60


def test_zones_of_a_region_and_the_regions_of_a_pair_never_patched_together(demo: Demo,
                                                                           story: dict[str, Any]) -> None:  # fmt: skip
    """From the attempts (start to verdict) and the machines' zones: no overlap across zones or geo-pairs."""
    rollout = story["Completed"]["id"]
    machines = {m["machine"]: m for m in demo.get(f"/v1/rollouts/{rollout}/machines")["value"]}
    spans = [(machines[a["machine"]], (a["start"], a["end"])) for a in demo.get(f"/v1/rollouts/{rollout}/attempts")[
        "value"]]  # fmt: skip
    pairs = {frozenset({"westeurope", "northeurope"}), frozenset({"eastus", "westus"})}
    for m, span in spans:
        for other, other_span in spans:
            if m["region"] == other["region"] and m["zone"] and other["zone"] and m["zone"] != other["zone"]:
                assert not spans_overlap(span, other_span), (m["machine"], other["machine"])
            if frozenset({m["region"], other["region"]}) in pairs:
                assert not spans_overlap(span, other_span), (m["machine"], other["machine"])


def test_the_console_tells_the_story_and_how_to_log_in(demo: Demo, story: dict[str, Any]) -> None:
    """The URL, the token file, the CLI's environment, then phases, waves, a gate and the halt's reason."""
    text = demo.output()
    assert f"{demo.url}/ui/" in text
    assert str(demo.data_dir / "admin.token") in text
    assert f"export GUESTPATCH_DATA_DIR={demo.data_dir}" in text
    # the narrator polls the API on its own tick: what the story fixture saw is on the console moments later
    for words in ("phase 0 started: westeurope", "westeurope: wave 1 of", "opened (zone 1", "gate passed: phase 0",
                  "phase 1 started", "completed: 60 Succeeded", "HALTED by the gate:", "failing machines:"):
        wait_for(lambda words=words: words in demo.output(), timeout=15, what=f"{words!r} on the demo's console")


def test_ctrl_c_stops_everything_with_exit_0(demo: Demo, story: dict[str, Any]) -> None:
    """SIGINT: the agents and the server stop, the process exits 0 within seconds and leaves no child."""
    children = demo.children()
    started = time.monotonic()
    assert demo.interrupt() == 0, demo.output()[-3000:]
    assert time.monotonic() - started < 15
    assert "stopped: the agents, the host agent and the server are down" in demo.output()
    assert not any(Path(f"/proc/{pid}").exists() for pid in children)


def test_the_host_agent_assesses_this_machine_and_installs_nothing(tmp_path: Path) -> None:
    """This machine's VM gets an assessment result from its real agent; no installation ever reaches it."""
    running = launch(tmp_path, "--machines", "20")
    name = host_vm_name()
    base = f"/v1/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}/virtualMachines/{name}"
    try:

        def assessed() -> dict[str, Any] | None:
            assert running.process.poll() is None, running.output()
            try:
                ops = running.get(f"{base}/operations")["value"]
            except AssertionError:
                return None  # the VM is not created yet
            done = [o for o in ops if o["kind"] == "assessPatches" and o["result"]]
            return done[0] if done else None

        assessment = wait_for(assessed, timeout=240, every=1.0, what="the host's assessment")
        assert assessment["result"]["status"] in {"Succeeded", "CompletedWithWarnings"}
        agents = running.children()
        assert agents, "the host agent runs as a child of the demo"
        wait_for(lambda: running.get("/v1/rollouts")["value"], timeout=60, what="the first rollout")
        rollout = running.get("/v1/rollouts")["value"][0]["id"]
        in_rollout = [m["machine"] for m in running.get(f"/v1/rollouts/{rollout}/machines")["value"]]
        assert not [m for m in in_rollout if m.startswith(f"{SUBSCRIPTION}/")]
        assert running.get(f"{base}/operations", kind="installPatches")["value"] == []
        assert running.interrupt() == 0, running.output()[-3000:]
        assert not any(Path(f"/proc/{pid}").exists() for pid in agents)
    finally:
        running.kill()
