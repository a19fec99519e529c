"""Fixtures of the agent tests: the apt lab (built once per session) and a fresh root per test.

The rpm-family fixtures live in ``tests/agent/rpm/conftest.py``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.agent import aptlab

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
REPO_ROOT = Path(__file__).resolve().parents[2]
SRC = REPO_ROOT / "src"


def _lab_missing() -> str | None:
    if os.geteuid() != 0:
        return "the apt lab needs root (overlay mounts, chroots for maintainer scripts)"
    for tool in ("apt-get", "dpkg", "dpkg-deb", "apt-ftparchive", "mount"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (Debian package apt-utils / dpkg-dev)"
    return None


@dataclass
class AptLab:
    repo: Path
    template: aptlab.AptRoot
    workdir: Path

    def new_root(self, where: Path) -> aptlab.AptRoot:
        return aptlab.copy_root(self.template, where / "root", where / "overlay")


@pytest.fixture(scope="session")
def apt_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AptLab]:
    """Packages, a repository (main + security suites) and a template root with the baseline installed."""
    reason = _lab_missing()
    if reason:
        if IN_CI:
            pytest.fail("CI=true requires the apt lab: " + reason)
        pytest.skip(reason)
    work = tmp_path_factory.mktemp("apt-lab")
    debs: dict[str, list[Path]] = {}
    out = work / "debs"
    out.mkdir()
    baseline = [aptlab.Deb(n, v, "bookworm") for n, v in aptlab.BASELINE.items()]
    for deb in [*baseline, *aptlab.UPDATES, *aptlab.SLOW]:
        debs.setdefault(deb.suite, []).append(aptlab.build_deb(deb, work / "build", out))
    repo = work / "repo"
    aptlab.build_repository(debs, repo)
    template = aptlab.AptRoot(work / "template", work / "template-overlay", repo)
    template.path.mkdir()
    aptlab.make_skeleton(template.path, repo)
    template.mount()
    try:
        template.apt_get("-qq", "update")
        pins = [f"{n}={v}" for n, v in aptlab.BASELINE.items()]
        template.apt_get("-qq", "-y", "install", "--", *pins)
        (template.path / "var/log/dpkg.log").write_text("")
        yield AptLab(repo, template, work)
    finally:
        template.unmount()


@pytest.fixture
def apt_root(apt_lab: AptLab, tmp_path: Path) -> Iterator[aptlab.AptRoot]:
    """A fresh disposable root: the baseline installed, the updates available, lists refreshed."""
    root = apt_lab.new_root(tmp_path)
    try:
        yield root
    finally:
        root.unmount()


def agent_process(*args: str, python: str | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the agent as its own process (``python -m guestpatch_agent``) from the source tree."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUESTPATCH_")}
    env["PYTHONPATH"] = str(SRC)
    return subprocess.run(
        [python or str(REPO_ROOT / ".venv/bin/python"), "-m", "guestpatch_agent", *args],
        text=True,
        capture_output=True,
        env=env,
        timeout=timeout,
        check=False,
    )
