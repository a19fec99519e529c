"""One suite, every rpm-family backend that runs here: the real dnf 4 and the real zypper, each with
the real rpm, against the lab's repositories in a fresh root per test."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from guestpatch_agent.errors import AgentError, InvalidPackageName
from guestpatch_agent.model import Classification, RebootBehavior, Update
from guestpatch_agent.pkgmgr.base import Backend
from tests.agent.rpm import lab

pytestmark = [pytest.mark.root]


@dataclass
class Served:
    name: str
    backend: Backend
    root: Path


@pytest.fixture(params=["dnf", "zypper"])
def served(request: pytest.FixtureRequest) -> Served:
    backend = request.getfixturevalue(f"{request.param}_backend")
    root = request.getfixturevalue(f"{request.param}_root")
    return Served(request.param, backend, root)


def by_name(updates: list[Update]) -> dict[str, Update]:
    return {u.name: u for u in updates}


def test_lists_every_available_update_with_its_candidate_version(served: Served) -> None:
    """Each package with a newer version in an enabled repository is listed once, at that version."""
    updates = served.backend.list_updates(timeout=120)
    assert {u.name: u.version for u in updates} == {n: v for n, (v, _) in lab.EXPECTED.items()}


def test_classifies_from_updateinfo_and_marks_repositories_without_it_unclassified(served: Served) -> None:
    """Critical/Security from security advisories' severity, Other otherwise, Unclassified without updateinfo."""
    updates = served.backend.list_updates(timeout=120)
    assert {u.name: u.classification for u in updates} == {n: c for n, (_, c) in lab.EXPECTED.items()}


def test_reports_the_installed_version_including_epoch_and_tilde(served: Served) -> None:
    """installed_version is the version the update replaces, in rpm's [epoch:]version-release form."""
    updates = by_name(served.backend.list_updates(timeout=120))
    assert updates["agt-epoch"].installed_version == "2.0-1"
    assert updates["agt-epoch"].version == "1:1.0-1"
    assert updates["agt-tilde"].installed_version == "1.0~rc1-1"
    assert updates["libagt++6"].arch == "x86_64"


def test_fills_advisory_id_severity_and_issued_date(served: Served) -> None:
    """The advisory's id and severity, and its *issued* date (not the later updated date), are reported."""
    alpha = by_name(served.backend.list_updates(timeout=120))["agt-alpha"]
    assert alpha.advisories == ("AGT-2026:0001",)
    assert alpha.severity == "Critical"
    assert alpha.published == datetime(2026, 1, 10, tzinfo=UTC)


def test_reboot_behavior_follows_reboot_suggested(served: Served) -> None:
    """reboot_suggested → AlwaysRequiresReboot; advisory data without it → CanRequestReboot; none → Unknown."""
    updates = by_name(served.backend.list_updates(timeout=120))
    assert updates["agt-kernel"].reboot_behavior == RebootBehavior.ALWAYS
    assert updates["agt-bravo"].reboot_behavior == RebootBehavior.CAN_REQUEST
    assert updates["agt-foxtrot"].reboot_behavior == RebootBehavior.UNKNOWN


def test_simulate_reports_a_new_dependency_as_new(served: Served) -> None:
    """A dry run of agt-echo 1.1 shows agt-newdep, which is not installed yet (installed_version None)."""
    echo = by_name(served.backend.list_updates(timeout=120))["agt-echo"]
    transaction = served.backend.simulate([echo], timeout=120)
    changes = {u.name: u for u in transaction.updates}
    assert set(changes) == {"agt-echo", "agt-newdep"}
    assert changes["agt-newdep"].is_new
    assert changes["agt-echo"] == echo


def test_simulate_changes_nothing(served: Served, installed: Callable[[Path], dict[str, str]]) -> None:
    """A dry run leaves every installed version as it was."""
    before = installed(served.root)
    served.backend.simulate(served.backend.list_updates(timeout=120), timeout=120)
    assert installed(served.root) == before


def test_install_of_the_security_updates_changes_exactly_those_packages(
    served: Served, installed: Callable[[Path], dict[str, str]]
) -> None:
    """Installing the Critical and Security updates (pinned) moves exactly them; nothing else changes."""
    before = installed(served.root)
    updates = served.backend.list_updates(timeout=120)
    security = [u for u in updates if u.classification in (Classification.CRITICAL, Classification.SECURITY)]
    assert sorted(u.name for u in security) == lab.SECURITY_NAMES
    served.backend.install(security, timeout=300)
    after = installed(served.root)
    changed = {name for name in after if after[name] != before.get(name)}
    assert changed == set(lab.SECURITY_NAMES)
    assert all(after[u.name] == u.version for u in security)


def test_install_pulls_the_new_dependency(served: Served, installed: Callable[[Path], dict[str, str]]) -> None:
    """agt-echo 1.1 comes with agt-newdep 1.0, installed by the package manager."""
    echo = by_name(served.backend.list_updates(timeout=120))["agt-echo"]
    served.backend.install([echo], timeout=300)
    after = installed(served.root)
    assert (after["agt-echo"], after["agt-newdep"]) == ("1.1-1", "1.0-1")


def test_install_fails_loudly_when_a_scriptlet_fails_and_keeps_the_old_version(
    served: Served, installed: Callable[[Path], dict[str, str]]
) -> None:
    """agt-broken 1.1's %pre fails: install raises and agt-broken stays 1.0.

    What happens to the rest of the transaction is the tool's: dnf (rpm) installs agt-charlie anyway;
    zypper, non-interactive, answers "abort" to the failed package and stops before agt-charlie.
    """
    mate = {"dnf": "1.1-1", "zypper": "1.0-1"}[served.name]
    updates = by_name(served.backend.list_updates(timeout=120))
    with pytest.raises(AgentError):
        served.backend.install([updates["agt-broken"], updates["agt-charlie"]], timeout=300)
    after = installed(served.root)
    assert (after["agt-broken"], after["agt-charlie"]) == ("1.0-1", mate)


def test_installed_versions_reports_installed_names_only(served: Served) -> None:
    """Names that are not installed are absent from the answer."""
    versions = served.backend.installed_versions(["agt-epoch", "libagt++6", "agt-newdep"], timeout=60)
    assert versions == {"agt-epoch": "2.0-1", "libagt++6": "1.0-1"}


@pytest.mark.parametrize("name", ["-rf", "--oldpackage", "a b", "x;reboot", ""])
def test_installed_versions_refuses_names_that_are_not_package_names(served: Served, name: str) -> None:
    """A name that could be read as an option or is not an rpm name is refused before any command runs."""
    with pytest.raises(InvalidPackageName):
        served.backend.installed_versions([name], timeout=60)


def test_install_refuses_an_update_whose_version_could_be_an_option(served: Served) -> None:
    """Versions are validated too: "--nodeps" never reaches the package manager."""
    bad = Update("agt-alpha", "noarch", "--nodeps", "1.0-1", Classification.OTHER, "agt")
    with pytest.raises(InvalidPackageName):
        served.backend.install([bad], timeout=60)


def test_no_reboot_is_required_before_anything_is_installed(served: Served) -> None:
    """A fresh root has no core package installed since boot and no advisory asking for a reboot."""
    assert served.backend.reboot_required(timeout=60) is False


def test_installing_an_update_whose_advisory_suggests_a_reboot_requires_one(served: Served) -> None:
    """After agt-kernel 5.14.0-2 (reboot_suggested), reboot_required says True."""
    kernel = by_name(served.backend.list_updates(timeout=120))["agt-kernel"]
    served.backend.install([kernel], timeout=300)
    assert served.backend.reboot_required(timeout=60) is True


def test_refresh_of_reachable_repositories_has_no_warnings(served: Served) -> None:
    """Both lab repositories answer: refresh returns no warnings."""
    assert served.backend.refresh(timeout=120) == []


def test_repair_of_a_sound_database_does_nothing(served: Served) -> None:
    """The lab's rpm database is sound: repair says nothing was done."""
    assert served.backend.repair(timeout=60) is None
