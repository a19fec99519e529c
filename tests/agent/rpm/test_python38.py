"""The rpm-family backends run on the oldest Python the agent supports (3.8), not only compile there."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.agent.rpm import lab

pytestmark = [pytest.mark.root]

PYTHON38 = Path("/root/.pyenv/versions/3.8.18/bin/python3.8")
SRC = Path(__file__).resolve().parents[3] / "src"

SCRIPT = """
import json, sys
sys.path.insert(0, sys.argv[1])
from guestpatch_agent.model import Distro
from guestpatch_agent.pkgmgr.base import Root
from guestpatch_agent.pkgmgr.dnf import DnfBackend
from guestpatch_agent.pkgmgr.zypper import ZypperBackend
from guestpatch_agent.runner import Runner
choices = {"dnf": (DnfBackend, Distro("rhel", "9.3")), "zypper": (ZypperBackend, Distro("sles", "15.5"))}
cls, distro = choices[sys.argv[3]]
backend = cls(Runner(env={"HOME": sys.argv[4]}), Root(sys.argv[2]), distro)
updates = backend.list_updates(timeout=120)
echo = [u for u in updates if u.name == "agt-echo"]
print(json.dumps({
    "version": sys.version_info[:2],
    "updates": {u.name: [u.version, u.classification] for u in updates},
    "simulated": sorted(u.name for u in backend.simulate(echo, timeout=120).updates),
    "reboot": backend.reboot_required(timeout=60),
}))
"""


@pytest.mark.parametrize("tool", ["dnf", "zypper"])
def test_list_simulate_and_reboot_hint_work_under_python_3_8(
    tool: str, request: pytest.FixtureRequest, rpm_lab: lab.RpmLab
) -> None:
    """In isolated mode under Python 3.8, the backend lists the lab's updates with their classes,
    simulates agt-echo (with its new dependency) and answers the reboot question."""
    if not PYTHON38.exists():
        pytest.skip(f"Python 3.8 is not installed at {PYTHON38}")
    root = request.getfixturevalue(f"{tool}_root")
    out = subprocess.run(
        [str(PYTHON38), "-I", "-c", SCRIPT, str(SRC), str(root), tool, str(rpm_lab.home)],
        capture_output=True, text=True, check=True, timeout=300,
    ).stdout  # fmt: skip
    result = json.loads(out)
    assert result["version"] == [3, 8]
    assert {n: tuple(v) for n, v in result["updates"].items()} == lab.EXPECTED
    assert result["simulated"] == ["agt-echo", "agt-newdep"]
    assert result["reboot"] is False
