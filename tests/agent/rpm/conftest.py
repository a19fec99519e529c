"""Fixtures of the rpm-family tests: the rpm lab (built once per session) and a fresh root per test.

The lab needs root (dnf refuses ``--installroot`` otherwise) and the Debian packages rpm, dnf,
createrepo-c and zypper (``scripts/bootstrap.sh test`` installs them). Without them the tests skip
with the reason, except under ``CI=true`` where they fail.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from guestpatch_agent.model import Distro
from guestpatch_agent.pkgmgr.base import Root
from guestpatch_agent.pkgmgr.dnf import DnfBackend
from guestpatch_agent.pkgmgr.zypper import ZypperBackend
from guestpatch_agent.runner import Runner
from tests.agent.rpm import lab

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
RHEL = Distro("rhel", "9.3", ("fedora",), "Red Hat Enterprise Linux 9.3")
SLES = Distro("sles", "15.5", ("suse",), "SUSE Linux Enterprise Server 15 SP5")


def _missing(*tools: str) -> str | None:
    if os.geteuid() != 0:
        return "the rpm lab needs root (dnf --installroot refuses other users)"
    for tool in tools:
        if shutil.which(tool) is None:
            return f"{tool} is not installed (Debian packages rpm, dnf, createrepo-c, zypper)"
    return None


def _require(*tools: str) -> None:
    reason = _missing(*tools)
    if reason:
        if IN_CI:
            pytest.fail("CI=true requires the rpm lab: " + reason)
        pytest.skip(reason)


@pytest.fixture(scope="session")
def rpm_lab(tmp_path_factory: pytest.TempPathFactory) -> lab.RpmLab:
    """Packages and the two repositories (``agt`` with updateinfo, ``plain`` without)."""
    _require("rpm", "rpmbuild", "createrepo_c", "modifyrepo_c")
    return lab.build_lab(tmp_path_factory.mktemp("rpm-lab"))


@pytest.fixture(scope="session")
def dnf_template(rpm_lab: lab.RpmLab, tmp_path_factory: pytest.TempPathFactory) -> Path:
    _require("dnf")
    root = tmp_path_factory.mktemp("dnf-template") / "root"
    lab.make_dnf_template(root, rpm_lab)
    return root


@pytest.fixture(scope="session")
def zypper_template(rpm_lab: lab.RpmLab, tmp_path_factory: pytest.TempPathFactory) -> Path:
    _require("zypper")
    root = tmp_path_factory.mktemp("zypper-template") / "root"
    lab.make_zypper_template(root, rpm_lab)
    return root


@pytest.fixture
def dnf_root(dnf_template: Path, tmp_path: Path) -> Path:
    """A fresh root: the 1.0 baseline installed by dnf, metadata cached, both repositories configured."""
    root = tmp_path / "dnf-root"
    shutil.copytree(dnf_template, root, symlinks=True)
    return root


@pytest.fixture
def zypper_root(zypper_template: Path, tmp_path: Path) -> Path:
    root = tmp_path / "zypper-root"
    shutil.copytree(zypper_template, root, symlinks=True)
    return root


@pytest.fixture
def lab_runner(rpm_lab: lab.RpmLab) -> Runner:
    """The agent's Runner with the lab's HOME (its .rpmmacros points rpm at the root's database)."""
    return Runner(env=rpm_lab.env)


@pytest.fixture
def dnf_backend(dnf_root: Path, lab_runner: Runner) -> DnfBackend:
    return DnfBackend(lab_runner, Root(str(dnf_root)), RHEL)


@pytest.fixture
def zypper_backend(zypper_root: Path, lab_runner: Runner) -> ZypperBackend:
    return ZypperBackend(lab_runner, Root(str(zypper_root)), SLES)


@pytest.fixture
def installed(rpm_lab: lab.RpmLab) -> Callable[[Path], dict[str, str]]:
    """``rpm --root R -qa`` straight from rpm, as name → [epoch:]version-release."""
    return lambda root: lab.rpm_qa(root, rpm_lab)
