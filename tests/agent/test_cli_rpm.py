"""The agent's commands end to end on dnf and zypper roots built by the rpm lab (``tests/agent/rpm``).

The rpm engineer's contract suite drives the backends directly; these tests drive the same real dnf
and zypper through ``guestpatch-agent assess`` / ``install``, as a user would, and check the JSON and
the root's rpm database.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.agent.agentrun import agent, patches_by_name
from tests.agent.rpm import lab
from tests.agent.rpm.conftest import dnf_root, dnf_template, rpm_lab, zypper_root, zypper_template  # noqa: F401

pytestmark = [pytest.mark.root, pytest.mark.slow]

SECURITY_LIKE = {n for n, (_, c) in lab.EXPECTED.items() if c in ("Critical", "Security")}


@pytest.fixture
def lab_home(rpm_lab: lab.RpmLab, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """The agent inherits HOME; the lab's .rpmmacros points rpm at the root's database."""
    monkeypatch.setenv("HOME", str(rpm_lab.home))


@pytest.fixture(params=["dnf", "zypper"])
def rpm_root(request: pytest.FixtureRequest, lab_home: None) -> Path:
    return request.getfixturevalue(request.param + "_root")


def test_assess_reports_the_labs_classifications(rpm_root: Path) -> None:
    """assess on an rpm root: every update with the classification its advisory gives (Critical split)."""
    code, result = agent("assess", "--root", str(rpm_root))
    assert code == 0, result
    found = {n: p["classifications"][0] for n, p in patches_by_name(result, "availablePatches").items()}
    assert found == {n: c for n, (_, c) in lab.EXPECTED.items()}


def test_security_only_install_changes_exactly_the_security_packages(
    rpm_root: Path, rpm_lab: lab.RpmLab  # noqa: F811
) -> None:
    """install --classifications Critical,Security upgrades exactly the Critical and Security packages."""
    before = lab.rpm_qa(rpm_root, rpm_lab)
    code, result = agent("install", "--root", str(rpm_root), "--maximum-duration", "PT2H",
                         "--reboot-setting", "Never", "--classifications", "Critical,Security")
    after = lab.rpm_qa(rpm_root, rpm_lab)
    changed = {n for n, v in after.items() if before.get(n) != v}
    assert changed == SECURITY_LIKE, result
    states = {n: p["installationState"] for n, p in patches_by_name(result).items()}
    assert {n for n, s in states.items() if s == "Installed"} == SECURITY_LIKE
    assert code == 0
