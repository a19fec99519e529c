"""Assessment with the real apt against the lab root, and read-only against this host."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from guestpatch_agent.model import Classification
from guestpatch_agent.osrelease import read_distro
from guestpatch_agent.pkgmgr.apt import AptBackend
from guestpatch_agent.pkgmgr.base import Root
from guestpatch_agent.runner import Runner
from tests.agent import aptlab
from tests.agent.agentrun import agent, patches_by_name

pytestmark = pytest.mark.root


def test_security_candidates_are_security_and_the_rest_other(apt_root: aptlab.AptRoot) -> None:
    """Updates whose candidate comes from the security suite are Security; the others Other; none Critical."""
    code, result = agent("assess", "--root", str(apt_root.path))
    assert code == 0
    assert result["status"] == "Succeeded"
    classes = {name: p["classifications"] for name, p in patches_by_name(result, "availablePatches").items()}
    assert {n for n, c in classes.items() if c == ["Security"]} == set(aptlab.SECURITY)
    assert {n for n, c in classes.items() if c == ["Other"]} == set(aptlab.OTHER)
    assert Classification.CRITICAL not in {c[0] for c in classes.values()}
    assert (result["criticalAndSecurityPatchCount"], result["otherPatchCount"]) == (6, 6)


def test_versions_keep_epochs_and_tildes(apt_root: aptlab.AptRoot) -> None:
    """Candidate versions are reported in Debian's full form, epoch and ~ included."""
    _, result = agent("assess", "--root", str(apt_root.path))
    patches = patches_by_name(result, "availablePatches")
    assert patches["agt-epoch"]["version"] == "1:1.1"
    assert patches["agt-epoch"]["patchId"] == "agt-epoch_1:1.1_debian_12"
    assert patches["agt-tilde"]["version"] == "2.0"
    assert patches["libstdc++6"]["patchId"] == "libstdc++6_1.1_debian_12"


def test_a_new_dependency_is_not_a_patch(apt_root: aptlab.AptRoot) -> None:
    """agt-newdep (pulled in by agt-needsdep 1.1, not installed) is not an available patch."""
    _, result = agent("assess", "--root", str(apt_root.path))
    assert "agt-newdep" not in patches_by_name(result, "availablePatches")
    assert "agt-needsdep" in patches_by_name(result, "availablePatches")


def test_reboot_pending_follows_the_roots_reboot_required_flag(apt_root: aptlab.AptRoot) -> None:
    """rebootPending reads var/run/reboot-required inside the root (var/run -> /run is followed there)."""
    assert agent("assess", "--root", str(apt_root.path), "--no-refresh")[1]["rebootPending"] is False
    (apt_root.path / "run/reboot-required").write_text("")
    assert agent("assess", "--root", str(apt_root.path), "--no-refresh")[1]["rebootPending"] is True


def test_unreachable_repository_is_named_and_the_assessment_warns(apt_root: aptlab.AptRoot) -> None:
    """A repository that cannot be read makes the assessment complete with warnings naming it."""
    bad = apt_root.path / "etc/apt/sources.list.d/unreachable.list"
    bad.write_text("deb [trusted=yes] file:/nonexistent/guestpatch-repo bookworm main\n")
    code, result = agent("assess", "--root", str(apt_root.path))
    assert code == 0
    assert result["status"] == "CompletedWithWarnings"
    assert result["error"]["details"][0]["code"] == "RepositoryUnreachable"
    assert "file:/nonexistent/guestpatch-repo bookworm" in result["error"]["details"][0]["message"]
    assert result["criticalAndSecurityPatchCount"] == 6


def test_a_failing_package_manager_is_an_error_not_no_updates(apt_root: aptlab.AptRoot) -> None:
    """A broken source list makes apt exit non-zero: the assessment fails, never reports zero updates."""
    (apt_root.path / "etc/apt/sources.list.d/broken.list").write_text("this is not a source line\n")
    code, result = agent("assess", "--root", str(apt_root.path))
    assert code == 1
    assert result["status"] == "Failed"
    assert result["availablePatches"] == []
    assert "AssessmentFailed" in [d["code"] for d in result["error"]["details"]]
    assert all("broken.list" in d["message"] for d in result["error"]["details"])


def test_the_hosts_apt_configuration_is_not_read_for_a_root(apt_root: aptlab.AptRoot) -> None:
    """Serving a root reads the root's sources only: without them, no updates and no host packages."""
    for source in (apt_root.path / "etc/apt/sources.list.d").iterdir():
        source.unlink()
    for lists in (apt_root.path / "var/lib/apt/lists").glob("*_Packages"):
        lists.unlink()
    code, result = agent("assess", "--root", str(apt_root.path))
    assert code == 0
    assert result["availablePatches"] == []


# ---------------------------------------------------------------------- this host, read-only
def _policy_security(names: list[str]) -> set[str]:
    """The packages whose candidate version apt-cache policy lists from a *-security suite."""
    out = subprocess.run(["apt-cache", "policy", "--", *names], capture_output=True, text=True, check=True,
                         env={**os.environ, "LC_ALL": "C"}).stdout
    security: set[str] = set()
    package = candidate = None
    in_candidate = False
    for line in out.splitlines():
        if line and not line.startswith(" "):
            package, candidate, in_candidate = line.rstrip(":").split(":")[0], None, False
        elif line.strip().startswith("Candidate:"):
            candidate = line.split(":", 1)[1].strip()
        elif line.startswith(("     ", " *** ")) and not line.startswith("        "):
            in_candidate = line[5:].split()[0] == candidate
        elif line.startswith("        ") and in_candidate:
            fields = line.split()
            if len(fields) >= 3 and fields[2].split("/")[0].endswith("-security"):
                security.add(str(package))
    return security


def test_host_security_set_equals_apt_cache_policy() -> None:
    """On this Debian 12 host, the agent's Security set equals the candidates apt-cache policy shows
    from a *-security suite (read-only: no refresh, nothing written)."""
    lists = Path("/var/lib/apt/lists")
    if os.geteuid() != 0 or not list(lists.glob("*_Packages*")):
        pytest.skip("this host has no apt package lists to assess")
    if not any("security" in p.name for p in lists.glob("*Release")):
        pytest.skip("this host has no security suite configured")
    status_before = Path("/var/lib/dpkg/status").stat().st_mtime_ns
    root = Root("/")
    backend = AptBackend(Runner(), root, read_distro(root))
    updates = [u for u in backend.list_updates(timeout=600) if not u.is_new]
    if not updates:
        pytest.skip("this host is fully up to date: nothing to compare")
    ours = {u.name for u in updates if u.classification == Classification.SECURITY}
    assert ours == _policy_security(sorted({u.name for u in updates}))
    assert Path("/var/lib/dpkg/status").stat().st_mtime_ns == status_before
