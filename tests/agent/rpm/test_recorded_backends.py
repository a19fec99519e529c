"""Behaviour that the real tools cannot be made to show here, driven through a recorded stand-in (a real
process printing output in the tool's format for the lab's packages) over the lab root's real rpm
database and a real repository cache laid out as each tool keeps it: the tdnf and yum 3 backends
(neither program runs on Debian), dnf's needs-restarting plugin (Debian's conflicts with zypper), and
zypper's exit codes 102, 103, 8 and 4."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest

from guestpatch_agent.errors import CommandError
from guestpatch_agent.model import Distro, Update
from guestpatch_agent.pkgmgr.base import Root
from guestpatch_agent.pkgmgr.dnf import DnfBackend, YumBackend
from guestpatch_agent.pkgmgr.tdnf import TdnfBackend
from guestpatch_agent.pkgmgr.zypper import ZypperBackend
from guestpatch_agent.runner import Runner
from tests.agent.rpm import lab
from tests.agent.rpm.conftest import RHEL, SLES
from tests.agent.rpm.standin import StandIn, make_standin

pytestmark = [pytest.mark.root]

AZL = Distro("azurelinux", "3.0", (), "Microsoft Azure Linux 3.0")
EL7 = Distro("rhel", "7.9", ("fedora",), "Red Hat Enterprise Linux Server 7.9")


def _updates() -> list[tuple[lab.Pkg, str]]:
    return [(p, "agt") for p in lab.AGT_UPDATES.values()] + [(p, "plain") for p in lab.PLAIN_UPDATES.values()]


def list_updates_output() -> str:
    """``tdnf list updates`` / ``yum check-update`` rows for the lab (the long name wraps, as yum does)."""
    rows = []
    for pkg, repo in _updates():
        token = f"{pkg.name}.{pkg.arch}"
        if len(token) > 30:
            rows.append(f"{token}\n{'':38}{pkg.evr:<20} {repo}")
        else:
            rows.append(f"{token:<38}{pkg.evr:<20} {repo}")
    return "\n".join(rows) + "\n"


def tdnf_updateinfo_output() -> str:
    """tdnf's ``updateinfo --list``: id, capitalised type, and the package *file* name (no epoch)."""
    return "".join(f"{a.id} {a.kind.capitalize()} {a.package.filename}\n" for a in lab.ADVISORIES)


def yum_updateinfo_output() -> str:
    """yum 3's ``updateinfo list available``: id, severity label, name-epoch:version-release.arch."""
    lines = ["Loaded plugins: product-id, search-disabled-repos"]
    for a in lab.ADVISORIES:
        label = f"{a.severity}/Sec." if a.kind == "security" else a.kind
        lines.append(f"{a.id} {label:<14} {a.package.name}-{a.package.evr}.{a.package.arch}")
    return "\n".join([*lines, "updateinfo list done"]) + "\n"


def cache_repos(rpm_lab: lab.RpmLab, root: Path, layout: str) -> None:
    """Copy the lab repositories' metadata where the tool caches it (tdnf: <repo>/repodata; yum 3: flat)."""
    for repo, source in (("agt", rpm_lab.agt_repo), ("plain", rpm_lab.plain_repo)):
        if layout == "tdnf":
            shutil.copytree(source / "repodata", root / "var/cache/tdnf" / repo / "repodata")
        else:
            target = root / "var/cache/yum/x86_64/7Server" / repo
            shutil.copytree(source / "repodata", target)


@pytest.fixture
def standin(tmp_path: Path) -> StandIn:
    return make_standin(tmp_path / "standin")


@pytest.fixture
def tdnf(standin: StandIn, dnf_root: Path, rpm_lab: lab.RpmLab) -> TdnfBackend:
    cache_repos(rpm_lab, dnf_root, "tdnf")
    standin.answer("list", list_updates_output())
    standin.answer("updateinfo", tdnf_updateinfo_output())
    return TdnfBackend(Runner(env=rpm_lab.env), Root(str(dnf_root)), AZL, program=standin.program)


@pytest.fixture
def yum(standin: StandIn, dnf_root: Path, rpm_lab: lab.RpmLab) -> YumBackend:
    cache_repos(rpm_lab, dnf_root, "yum")
    standin.answer("check-update", list_updates_output(), rc=100)
    standin.answer("updateinfo", yum_updateinfo_output())
    return YumBackend(Runner(env=rpm_lab.env), Root(str(dnf_root)), EL7, program=standin.program)


def test_tdnf_classifies_with_severity_and_epochs_from_the_cached_updateinfo(tdnf: TdnfBackend) -> None:
    """tdnf lists no severity and file names without epochs; the cache restores both: Critical and the
    epoch-bumped agt-epoch come out as the lab defines them."""
    found = {u.name: (u.version, u.classification) for u in tdnf.list_updates(timeout=60)}
    assert found == lab.EXPECTED


def test_tdnf_queries_run_cache_only_under_the_root(tdnf: TdnfBackend, standin: StandIn, dnf_root: Path) -> None:
    """Every listing is -C (no network) and carries --installroot and the root's releasever."""
    tdnf.list_updates(timeout=60)
    for call in standin.calls_of("list") + standin.calls_of("updateinfo"):
        assert "-C" in call
        assert f"--installroot={dnf_root}" in call
        assert "--releasever=3.0" in call


def test_tdnf_simulate_reads_the_declined_transaction(tdnf: TdnfBackend, standin: StandIn) -> None:
    """tdnf prints the transaction and exits 8 (Error(1032)); the new dependency is reported as new."""
    standin.answer(
        "install",
        "\nUpgrading:\nagt-echo      noarch      1.1-1      agt      6.00k     6144\n"
        "\nInstalling:\nagt-newdep    noarch      1.0-1      agt      5.90k     6041\n"
        "\nTotal installed size:  11.90k  12185\n",
        stderr="Error(1032) : Operation aborted.\n",
        rc=8,
    )
    echo = {u.name: u for u in tdnf.list_updates(timeout=60)}["agt-echo"]
    changes = {u.name: u for u in tdnf.simulate([echo], timeout=60).updates}
    assert changes["agt-echo"] == echo
    assert changes["agt-newdep"].is_new


def test_tdnf_install_pins_name_epoch_version_release_arch_after_a_double_dash(
    tdnf: TdnfBackend, standin: StandIn
) -> None:
    """The epoch stays in the spec (LPE strips it, which picks the wrong package after an epoch bump)."""
    update = Update("agt-epoch", "noarch", "1:1.0-1", "2.0-1", "Security", "agt")
    tdnf.install([update], timeout=60)
    (call,) = standin.calls_of("install")
    assert call[-2:] == ["--", "agt-epoch-1:1.0-1.noarch"]
    assert "-y" in call


def test_tdnf_refresh_warns_and_disables_the_repository_it_could_not_read(tdnf: TdnfBackend, standin: StandIn) -> None:
    """tdnf names the repository by label and by id; the warning and --disablerepo use the id."""
    standin.answer(
        "makecache",
        stderr="Refreshing metadata for: 'Plain lab'\nError: Failed to synchronize cache for repo 'Plain lab'\n"
        "Disabling Repo: 'plain'\n",
    )
    standin.answer(
        "repolist", "repo id            repo name        status\nagt   AGT lab   enabled\nplain  Plain lab  enabled\n"
    )
    assert tdnf.refresh(timeout=60) == ["repository plain cannot be reached; its updates are not assessed"]
    tdnf.list_updates(timeout=60)
    assert "--disablerepo=plain" in standin.calls_of("list")[-1]


def test_yum_classifies_from_check_update_and_updateinfo_list(yum: YumBackend) -> None:
    """yum 3's check-update (exit 100, a wrapped row) and updateinfo list give the lab's classes."""
    found = {u.name: (u.version, u.classification) for u in yum.list_updates(timeout=60)}
    assert found == lab.EXPECTED


def test_yum_update_announced_but_unparseable_is_an_error(yum: YumBackend, standin: StandIn) -> None:
    """check-update exits 100 ("updates available") but prints nothing readable: an error, never "no updates"."""
    standin.answer("check-update", "ce paquet a une mise à jour\n", rc=100)
    with pytest.raises(CommandError):
        yum.list_updates(timeout=60)


def test_yum_removes_the_transaction_file_its_dry_run_saved(yum: YumBackend, standin: StandIn) -> None:
    """yum --assumeno saves the declined transaction in /tmp; the backend deletes it (osconfig PR #445)."""
    saved = Path(f"/tmp/yum_save_tx.{uuid.uuid4().hex}.yumtx")
    saved.write_text("saved")
    standin.answer(
        "install",
        "Updating:\n agt-alpha   noarch   1.1-1   agt   6.0 k\n\nTransaction Summary\n"
        f"Exiting on user command\nYour transaction was saved, rerun it with:\n yum load-transaction {saved}\n",
        rc=1,
    )
    alpha = Update("agt-alpha", "noarch", "1.1-1", "1.0-1", "Critical", "agt")
    try:
        assert [u.name for u in yum.simulate([alpha], timeout=60).updates] == ["agt-alpha"]
        assert not saved.exists()
    finally:
        saved.unlink(missing_ok=True)


@pytest.fixture
def dnf_standin(standin: StandIn, dnf_root: Path, rpm_lab: lab.RpmLab) -> DnfBackend:
    return DnfBackend(Runner(env=rpm_lab.env), Root(str(dnf_root)), RHEL, program=standin.program)


def test_dnf_needs_restarting_exit_1_with_its_message_means_reboot(dnf_standin: DnfBackend, standin: StandIn) -> None:
    """dnf-plugins-core's needs-restarting -r: exit 1 and "Reboot is required" → a reboot is required."""
    standin.answer(
        "needs-restarting",
        "Core libraries or services have been updated since boot-up:\n  * kernel\n\n"
        "Reboot is required to fully utilize these updates.\nMore information: https://access.redhat.com/solutions/27943\n",
        rc=1,
    )
    assert dnf_standin.reboot_required(timeout=60) is True


def test_dnf_without_the_plugin_falls_back_to_install_times_and_stops_asking(
    dnf_standin: DnfBackend, standin: StandIn
) -> None:
    """ "No such command" also exits 1: it is not a reboot. The core-package check decides (nothing on the
    core list was installed in the lab root), and the missing plugin is not asked again."""
    standin.answer(
        "needs-restarting",
        stderr="No such command: needs-restarting. Please use /usr/bin/dnf --help\n",
        rc=1,
    )
    assert dnf_standin.reboot_required(timeout=60) is False
    assert dnf_standin.reboot_required(timeout=60) is False
    assert len(standin.calls_of("needs-restarting")) == 1


# ---------------------------------------------------------------- zypper exit codes (not producible on demand)

ALPHA = Update("agt-alpha", "noarch", "1.1-1", "1.0-1", "Critical", "agt")


@pytest.fixture
def zypper_standin(standin: StandIn, dnf_root: Path, rpm_lab: lab.RpmLab) -> ZypperBackend:
    return ZypperBackend(Runner(env=rpm_lab.env), Root(str(dnf_root)), SLES, program=standin.program)


def test_zypper_exit_102_after_install_means_a_reboot_is_required(
    zypper_standin: ZypperBackend, standin: StandIn
) -> None:
    """Exit 102 (ZYPPER_EXIT_INF_REBOOT_NEEDED) is success, remembered: no need to ask needs-rebooting."""
    standin.answer("install", rc=102)
    zypper_standin.install([ALPHA], timeout=60)
    assert zypper_standin.reboot_required(timeout=60) is True
    assert standin.calls_of("needs-rebooting") == []


def test_zypper_exit_103_runs_the_same_request_again_once(zypper_standin: ZypperBackend, standin: StandIn) -> None:
    """Exit 103: zypper updated itself; the request is repeated once with the new zypper, not forever."""
    standin.answer("install", rc=103)
    zypper_standin.install([ALPHA], timeout=60)
    assert len(standin.calls_of("install")) == 2


def test_zypper_exit_8_is_retried_once_with_replacefiles(zypper_standin: ZypperBackend, standin: StandIn) -> None:
    """Exit 8 (commit error, e.g. file conflicts): one retry with --replacefiles, then the error stands."""
    standin.answer("install", stderr="Problem occurred during or after installation or removal of packages:\n", rc=8)
    with pytest.raises(CommandError):
        zypper_standin.install([ALPHA], timeout=60)
    first, second = standin.calls_of("install")
    assert "--replacefiles" not in first
    assert "--replacefiles" in second


def test_zypper_exit_4_is_retried_twice_then_fails(zypper_standin: ZypperBackend, standin: StandIn) -> None:
    """Exit 4 (a libzypp error, often transient): two retries with back-off, then CommandError."""
    standin.answer("install", stderr="Error: transient\n", rc=4)
    with pytest.raises(CommandError):
        zypper_standin.install([ALPHA], timeout=60)
    assert len(standin.calls_of("install")) == 3


def test_zypper_install_pins_after_a_double_dash(zypper_standin: ZypperBackend, standin: StandIn) -> None:
    """zypper gets name.arch=version after "--" (never read as an option)."""
    zypper_standin.install([ALPHA], timeout=60)
    (call,) = standin.calls_of("install")
    assert call[-2:] == ["--", "agt-alpha.noarch=1.1-1"]
