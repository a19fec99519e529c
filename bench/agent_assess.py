"""Agent assessment: wall time against the raw package-manager commands it needs, and peak RSS.

``python -m bench agent_assess [--runs N] [--no-dnf] [--host]``

For each root (the apt lab root; the rpm lab's dnf root when dnf is installed; with ``--host`` this
machine, read-only):

1. the assessment runs once in-process with a recording Runner, which captures the exact commands
   (argv and environment) the agent needs on that root;
2. then, interleaved ``--runs`` times: the agent as a user runs it (the zipapp, ``python3 -I
   guestpatch-agent.pyz assess --root R``, a new process each time), the daemon's path (what
   ``guestpatch-agent run`` does for an ``assessPatches`` operation: detect the backend, assess and
   render Azure's result JSON, in its already-running process) and the recorded raw commands
   replayed one after the other with nothing around them;
3. the ratios are median(agent) / median(raw commands) and median(daemon) / median(raw) (goal <= 1.10);
4. the agent process's peak RSS is its ``VmHWM`` (``/proc/PID/status``, the kernel's high-water mark),
   read until it exits; the package manager's own memory is not the agent's (goal <= 40 MB).

Needs root (the labs use overlay mounts and dnf --installroot).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO))

from guestpatch_agent.assessment import assess  # noqa: E402
from guestpatch_agent.build import build  # noqa: E402
from guestpatch_agent.clock import SystemClock  # noqa: E402
from guestpatch_agent.osrelease import read_distro  # noqa: E402
from guestpatch_agent.pkgmgr.base import Root  # noqa: E402
from guestpatch_agent.pkgmgr.detect import detect_backend  # noqa: E402
from guestpatch_agent.runner import CommandResult, Runner  # noqa: E402

PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable  # not a pyenv shim


class RecordingRunner(Runner):
    """The real Runner, also remembering every call (argv and the per-call environment)."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        super().__init__(env=env)
        self.calls: list[tuple[list[str], dict[str, str]]] = []

    def run(self, argv: Sequence[str], **kwargs: Any) -> CommandResult:
        self.calls.append((list(argv), dict(kwargs.get("env") or {})))
        return super().run(argv, **kwargs)


@dataclass
class Figures:
    root: str
    commands: list[str]
    agent_seconds: float
    raw_seconds: float
    agent_fastest: float
    raw_fastest: float
    peak_rss_mb: float
    daemon_seconds: float
    daemon_fastest: float

    @property
    def ratio(self) -> float:
        return self.agent_seconds / self.raw_seconds

    @property
    def daemon_ratio(self) -> float:
        return self.daemon_seconds / self.raw_seconds

    @property
    def ratio_fastest(self) -> float:
        """Fastest against fastest: the least disturbed runs (robust on a shared, loaded machine)."""
        return self.agent_fastest / self.raw_fastest


def run_agent(zipapp: Path, root: str, extra: Sequence[str], env: Mapping[str, str]) -> tuple[float, int]:
    """One agent process: its wall time and its peak RSS in kB (VmHWM, polled until exit)."""
    started = time.perf_counter()
    process = subprocess.Popen([PYTHON, "-I", str(zipapp), "assess", "--root", root, *extra],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=dict(env))
    peak = 0
    status = Path(f"/proc/{process.pid}/status")
    while process.poll() is None:
        try:
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except (OSError, ValueError):
            pass
        time.sleep(0.002)
    elapsed = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit("the agent failed: " + (process.stderr.read().decode() if process.stderr else ""))
    return elapsed, peak


def run_raw(calls: Sequence[tuple[list[str], dict[str, str]]], base_env: Mapping[str, str]) -> float:
    started = time.perf_counter()
    for argv, extra in calls:
        subprocess.run(argv, env={**base_env, **extra}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=False)
    return time.perf_counter() - started


def run_daemon_path(root: str, *, refresh: bool, env: Mapping[str, str]) -> float:
    """One assessment as the daemon runs it: in its own (already started) process, result rendered."""
    started = time.perf_counter()
    agent_root = Root(root)
    distro = read_distro(agent_root)
    backend = detect_backend(Runner(env=env), agent_root, distro)
    result = assess(backend, clock=SystemClock(), activity_id="bench", refresh=refresh)
    json.dumps(result.to_result(distro))
    elapsed = time.perf_counter() - started
    if result.status == "Failed":
        raise SystemExit(f"assessment failed on {root}: {result.errors}")
    del backend
    return elapsed


def measure(name: str, root: str, zipapp: Path, runs: int, *, refresh: bool, env: Mapping[str, str]) -> Figures:
    recorder = RecordingRunner(env=env)
    agent_root = Root(root)
    backend = detect_backend(recorder, agent_root, read_distro(agent_root))
    result = assess(backend, clock=SystemClock(), activity_id="bench", refresh=refresh)
    if result.status == "Failed":
        raise SystemExit(f"assessment failed on {name}: {result.errors}")
    calls = list(recorder.calls)
    base_env = recorder.env
    extra = [] if refresh else ["--no-refresh"]
    agent_times, raw_times, daemon_times, peaks = [], [], [], []
    run_agent(zipapp, root, extra, base_env)  # warm-up (page cache, apt's pkgcache)
    run_raw(calls, base_env)
    for _ in range(runs):
        seconds, peak = run_agent(zipapp, root, extra, base_env)
        agent_times.append(seconds)
        peaks.append(peak)
        raw_times.append(run_raw(calls, base_env))
        daemon_times.append(run_daemon_path(root, refresh=refresh, env=env))
    del backend  # keeps the backend's temporary apt configuration alive until here
    return Figures(
        root=name,
        commands=[" ".join(argv[:3]) + (" ..." if len(argv) > 3 else "") for argv, _ in calls],
        agent_seconds=statistics.median(agent_times),
        raw_seconds=statistics.median(raw_times),
        agent_fastest=min(agent_times),
        raw_fastest=min(raw_times),
        peak_rss_mb=max(peaks) / 1024,
        daemon_seconds=statistics.median(daemon_times),
        daemon_fastest=min(daemon_times),
    )


@contextmanager
def apt_lab_root(work: Path) -> Iterator[str]:
    from tests.agent import aptlab

    debs: dict[str, list[Path]] = {}
    out = work / "debs"
    out.mkdir()
    baseline = [aptlab.Deb(n, v, "bookworm") for n, v in aptlab.BASELINE.items()]
    for deb in [*baseline, *aptlab.UPDATES]:
        debs.setdefault(deb.suite, []).append(aptlab.build_deb(deb, work / "build", out))
    aptlab.build_repository(debs, work / "repo")
    template = aptlab.AptRoot(work / "root", work / "overlay", work / "repo")
    template.path.mkdir()
    aptlab.make_skeleton(template.path, work / "repo")
    template.mount()
    try:
        template.apt_get("-qq", "update")
        template.apt_get("-qq", "-y", "install", "--", *[f"{n}={v}" for n, v in aptlab.BASELINE.items()])
        yield str(template.path)
    finally:
        template.unmount()


def dnf_lab_root(work: Path) -> tuple[str, dict[str, str]]:
    from tests.agent.rpm import lab

    rpm = lab.build_lab(work / "rpm-lab")
    root = work / "dnf-root"
    lab.make_dnf_template(root, rpm)
    return str(root), {"HOME": str(rpm.home)}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench agent_assess")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-dnf", action="store_true", help="skip the dnf root")
    parser.add_argument("--host", action="store_true", help="also assess this machine (read-only, --no-refresh)")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("agent_assess needs root (overlay mounts, dnf --installroot)", file=sys.stderr)
        return 2
    figures: list[Figures] = []
    with tempfile.TemporaryDirectory(prefix="bench-agent-") as scratch:
        work = Path(scratch)
        zipapp = Path(build(str(work / "guestpatch-agent.pyz")))
        apt_work = work / "apt"
        apt_work.mkdir()
        with apt_lab_root(apt_work) as root:
            env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")}
            figures.append(measure("apt lab root (refresh + list)", root, zipapp, args.runs, refresh=True, env=env))
            figures.append(measure("apt lab root (--no-refresh)", root, zipapp, args.runs, refresh=False, env=env))
        if not args.no_dnf and shutil.which("dnf") and shutil.which("rpmbuild"):
            root, env = dnf_lab_root(work)
            figures.append(measure("dnf lab root (refresh + list)", root, zipapp, args.runs, refresh=True, env=env))
        if args.host:
            figures.append(measure("this host, Debian 12 (--no-refresh)", "/", zipapp, args.runs, refresh=False,
                                   env={}))
    print("| root | commands | raw median / fastest | agent process median / fastest | ratio median / fastest "
          "| daemon path median / fastest | ratio median / fastest | agent peak RSS |")
    print("|---|---|---|---|---|---|---|---|")
    for f in figures:
        cells = [
            f.root,
            str(len(f.commands)),
            f"{f.raw_seconds:.3f} / {f.raw_fastest:.3f} s",
            f"{f.agent_seconds:.3f} / {f.agent_fastest:.3f} s",
            f"{f.ratio:.2f}x / {f.ratio_fastest:.2f}x",
            f"{f.daemon_seconds:.3f} / {f.daemon_fastest:.3f} s",
            f"{f.daemon_ratio:.2f}x / {f.daemon_fastest / f.raw_fastest:.2f}x",
            f"{f.peak_rss_mb:.1f} MB",
        ]
        print("| " + " | ".join(cells) + " |")
    print(json.dumps([{**f.__dict__, "ratio": round(f.ratio, 3), "ratio_fastest": round(f.ratio_fastest, 3),
                       "daemon_ratio": round(f.daemon_ratio, 3)}
                      for f in figures]))
    return 0
