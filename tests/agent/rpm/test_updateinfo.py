"""Advisories and the classification they give an update (``pkgmgr/updateinfo.py``), and reading them
from a package manager's cache (``pkgmgr/repocache.py``) in each tool's layout."""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from guestpatch_agent.errors import PackageManagerError
from guestpatch_agent.model import Classification, RebootBehavior
from guestpatch_agent.pkgmgr.repocache import find_repo_dir, read_repo_metadata
from guestpatch_agent.pkgmgr.rpm import Evr, parse_evr
from guestpatch_agent.pkgmgr.updateinfo import (
    Advisory,
    AdvisoryPackage,
    classified_update,
    covering,
    merge_details,
    parse_advisory_date,
    parse_updateinfo_xml,
)


def adv(id_: str, kind: str, severity: str | None, version: str, *, name: str = "openssl", reboot: bool = False,
        issued: datetime | None = None) -> Advisory:  # fmt: skip
    return Advisory(id_, kind, severity, (AdvisoryPackage(name, "x86_64", parse_evr(version)),), issued, reboot)


def classify(advisories: list[Advisory], *, installed: str | None = "1.0-1", candidate: str = "1.2-1",
             has_updateinfo: bool = True):  # type: ignore[no-untyped-def]  # fmt: skip
    inst = parse_evr(installed) if installed else None
    cand = parse_evr(candidate)
    found = covering(advisories, "openssl", "x86_64", inst, cand)
    return classified_update(name="openssl", arch="x86_64", version=cand, installed=inst, repository="base",
                             advisories=found, has_updateinfo=has_updateinfo)  # fmt: skip


# ---------------------------------------------------------------- classification rules


def test_a_critical_security_advisory_makes_the_update_critical() -> None:
    """Security + severity Critical → Critical."""
    assert classify([adv("A-1", "security", "Critical", "1.1-1")]).classification == Classification.CRITICAL


def test_other_security_severities_make_the_update_security() -> None:
    """Security with Important (or no severity) → Security, not Critical."""
    assert classify([adv("A-1", "security", "Important", "1.1-1")]).classification == Classification.SECURITY
    assert classify([adv("A-1", "security", None, "1.1-1")]).classification == Classification.SECURITY


def test_the_most_severe_covering_advisory_wins() -> None:
    """Skipping 1.1 (Important) and 1.2 (Critical) in one upgrade is Critical, severity Critical."""
    update = classify([adv("A-1", "security", "Important", "1.1-1"), adv("A-2", "security", "Critical", "1.2-1")])
    assert (update.classification, update.severity, update.advisories) == ("Critical", "Critical", ("A-1", "A-2"))


def test_bugfix_advisories_make_the_update_other() -> None:
    """Only a bugfix advisory covers it → Other (severity of a bugfix is still reported)."""
    update = classify([adv("B-1", "bugfix", "Moderate", "1.1-1")])
    assert (update.classification, update.severity) == (Classification.OTHER, "Moderate")


def test_no_advisory_in_a_repository_with_updateinfo_is_other() -> None:
    """The repository publishes updateinfo, none covers this update → Other."""
    assert classify([], has_updateinfo=True).classification == Classification.OTHER


def test_no_advisory_in_a_repository_without_updateinfo_is_unclassified() -> None:
    """No updateinfo at all (a CentOS-like clone) → Unclassified, reboot Unknown: never guessed."""
    update = classify([], has_updateinfo=False)
    assert (update.classification, update.reboot_behavior) == (Classification.UNCLASSIFIED, RebootBehavior.UNKNOWN)


def test_an_advisory_for_the_installed_or_an_older_version_does_not_cover() -> None:
    """A security fix already installed (1.0) says nothing about the upgrade to 1.2."""
    assert classify([adv("A-0", "security", "Critical", "1.0-1")]).classification == Classification.OTHER


def test_an_advisory_for_a_version_beyond_the_candidate_does_not_cover() -> None:
    """A fix in 1.3 is not delivered by upgrading to 1.2."""
    assert classify([adv("A-3", "security", "Critical", "1.3-1")]).classification == Classification.OTHER


def test_a_new_package_is_covered_up_to_its_candidate() -> None:
    """Nothing installed: every advisory up to the candidate counts."""
    assert classify([adv("A-1", "security", "Low", "1.1-1")], installed=None).classification == "Security"


def test_reboot_suggested_means_always_requires_reboot() -> None:
    """Any covering advisory with reboot_suggested → AlwaysRequiresReboot."""
    update = classify([adv("K-1", "security", "Important", "1.1-1", reboot=True)])
    assert update.reboot_behavior == RebootBehavior.ALWAYS


def test_published_is_the_latest_issued_date_of_the_covering_advisories() -> None:
    """Two covering advisories: the update is published when the later one was issued."""
    first, second = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
    update = classify(
        [adv("A-1", "bugfix", None, "1.1-1", issued=second), adv("A-2", "bugfix", None, "1.2-1", issued=first)]
    )
    assert update.published == second


def test_an_advisory_for_another_architecture_does_not_cover() -> None:
    """The i686 build's advisory does not classify the x86_64 update."""
    i686 = Advisory("A-1", "security", "Critical", (AdvisoryPackage("openssl", "i686", parse_evr("1.1-1")),))
    assert classify([i686]).classification == Classification.OTHER


def test_merge_details_fills_what_the_listing_lacks_without_overriding_it() -> None:
    """tdnf lists no severity, dnf 4 no issued date or reboot hint: the cached updateinfo adds them."""
    issued = datetime(2026, 1, 10, tzinfo=UTC)
    listed = [Advisory("A-1", "security", None, ()), Advisory("A-2", "bugfix", "Low", ())]
    details = {
        "A-1": Advisory("A-1", "security", "Critical", (), issued, True),
        "A-2": Advisory("A-2", "bugfix", "Moderate", ()),
    }
    merged = merge_details(listed, details)
    assert (merged[0].severity, merged[0].issued, merged[0].reboot_suggested) == ("Critical", issued, True)
    assert merged[1].severity == "Low"


def test_merge_details_prefers_the_updateinfo_package_list_which_has_epochs() -> None:
    """tdnf lists file names (agt-epoch-1.0-1.noarch.rpm: no epoch); the updateinfo says 1:1.0-1."""
    listed = [Advisory("A-5", "security", None, (AdvisoryPackage("agt-epoch", "noarch", Evr(0, "1.0", "1")),))]
    exact = (AdvisoryPackage("agt-epoch", "noarch", Evr(1, "1.0", "1")),)
    merged = merge_details(listed, {"A-5": Advisory("A-5", "security", "Low", exact)})
    assert merged[0].packages == exact


# ---------------------------------------------------------------- updateinfo.xml

SUSE_STYLE = """<?xml version="1.0" encoding="UTF-8"?>
<updates xmlns="http://novell.com/package/metadata/suse/updateinfo">
  <update from="maint-coord@suse.de" status="stable" type="security" version="1">
    <id>SUSE-SLE-Module-Basesystem-15-SP5-2024-2394</id>
    <title>Security update for the Linux Kernel</title>
    <severity>critical</severity>
    <release>SUSE Updates SLE-Module-Basesystem 15-SP5 x86_64</release>
    <issued date="1720449600"/>
    <references/>
    <description>kernel</description>
    <pkglist><collection>
      <package name="kernel-default" epoch="0" version="5.14.21" release="150500.55.68.1" arch="x86_64" src="x">
        <filename>kernel-default.rpm</filename></package>
      <package name="kernel-source" epoch="0" version="5.14.21" release="150500.55.68.1" arch="src" src="x">
        <filename>kernel-source.src.rpm</filename></package>
    </collection></pkglist>
    <reboot_suggested>true</reboot_suggested>
  </update>
  <update from="x" status="stable" type="recommended" version="1">
    <id>SUSE-2024-1</id><issued date="1720449600"/><severity>moderate</severity>
    <pkglist><collection>
      <package name="timezone" epoch="0" version="2024a" release="1" arch="noarch"/>
    </collection></pkglist>
  </update>
</updates>
"""


def test_suse_updateinfo_epoch_dates_namespace_and_update_level_reboot_are_read() -> None:
    """SUSE writes issued dates as epoch seconds, lower-case severities and reboot_suggested on the update;
    source packages are not packages anyone installs."""
    kernel, timezone = parse_updateinfo_xml(SUSE_STYLE)
    assert kernel.severity == "Critical"
    assert kernel.reboot_suggested
    assert kernel.issued == datetime(2024, 7, 8, 14, 40, tzinfo=UTC)
    assert [p.name for p in kernel.packages] == ["kernel-default"]
    assert (timezone.kind, timezone.severity, timezone.reboot_suggested) == ("recommended", "Moderate", False)


def test_broken_updateinfo_is_an_error_not_an_empty_list() -> None:
    """Truncated XML raises PackageManagerError (never "no advisories")."""
    with pytest.raises(PackageManagerError):
        parse_updateinfo_xml(SUSE_STYLE[:300])


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2026-01-10 00:00:00", datetime(2026, 1, 10, tzinfo=UTC)),
     ("2026-01-10", datetime(2026, 1, 10, tzinfo=UTC)),
     ("1768003200", datetime(2026, 1, 10, tzinfo=UTC)),
     ("2026-01-10T00:00:00Z", datetime(2026, 1, 10, tzinfo=UTC)),
     ("next tuesday", None), ("", None)],
)  # fmt: skip
def test_advisory_dates_in_every_form_repositories_use(text: str, expected: datetime | None) -> None:
    """Red Hat's, ISO's and SUSE's date forms become aware UTC datetimes; nonsense becomes None."""
    assert parse_advisory_date(text) == expected


# ---------------------------------------------------------------- the cache, per tool layout

REPOMD = """<?xml version="1.0" encoding="UTF-8"?>
<repomd xmlns="http://linux.duke.edu/metadata/repo"><revision>1</revision>
<data type="primary"><location href="repodata/abc-primary.xml.gz"/></data>{extra}
</repomd>
"""


def _cache(repo_dir: Path, *, updateinfo: str | None, suffix: str = ".gz", flat: bool = False) -> None:
    meta = repo_dir if flat else repo_dir / "repodata"
    meta.mkdir(parents=True, exist_ok=True)
    href = f"repodata/def-updateinfo.xml{suffix}"
    extra = f'<data type="updateinfo"><location href="{href}"/></data>' if updateinfo else ""
    (meta / "repomd.xml").write_text(REPOMD.format(extra=extra))
    if updateinfo is None:
        return
    data = updateinfo.encode()
    opener = {".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress, "": lambda d: d, ".zst": lambda d: d}
    (meta / f"def-updateinfo.xml{suffix}").write_bytes(opener[suffix](data))


@pytest.mark.parametrize("suffix", [".gz", ".bz2", ".xz", ""])
def test_dnf_cache_layout_is_found_and_read_in_every_compression(tmp_path: Path, suffix: str) -> None:
    """dnf 4/5 keep <repoid>-<hash>/repodata/; gzip, bzip2, xz and plain updateinfo are read."""
    _cache(tmp_path / "var/cache/dnf/updates-0123456789abcdef", updateinfo=SUSE_STYLE, suffix=suffix)
    meta = read_repo_metadata([str(tmp_path / "var/cache/dnf")], "updates", {"kernel-default"})
    assert (meta.has_updateinfo, sorted(meta.advisories), meta.problem) == (
        True, ["SUSE-SLE-Module-Basesystem-15-SP5-2024-2394"], None)  # fmt: skip


def test_yum3_flat_layout_under_arch_and_releasever_is_found(tmp_path: Path) -> None:
    """yum 3 keeps <basearch>/<releasever>/<repoid>/repomd.xml with the files beside it."""
    _cache(tmp_path / "x86_64/7Server/rhel-7-server-rpms", updateinfo=SUSE_STYLE, flat=True)
    meta = read_repo_metadata([str(tmp_path)], "rhel-7-server-rpms", {"timezone"})
    assert list(meta.advisories) == ["SUSE-2024-1"]


def test_a_repository_without_updateinfo_is_known_to_have_none(tmp_path: Path) -> None:
    """repomd.xml without an updateinfo entry: has_updateinfo False (→ Unclassified), no problem."""
    _cache(tmp_path / "plain-0123456789abcdef", updateinfo=None)
    meta = read_repo_metadata([str(tmp_path)], "plain", set())
    assert (meta.has_updateinfo, meta.problem) == (False, None)


def test_no_cache_at_all_is_unknown_not_false(tmp_path: Path) -> None:
    """Nothing cached for the repository: has_updateinfo None, with the reason."""
    meta = read_repo_metadata([str(tmp_path)], "missing", set())
    assert meta.has_updateinfo is None
    assert meta.problem


def test_zstd_updateinfo_is_reported_unreadable_but_present(tmp_path: Path) -> None:
    """Fedora's zstd metadata: the repository has updateinfo, its details cannot be read here (said so)."""
    _cache(tmp_path / "fedora-0123456789abcdef", updateinfo=SUSE_STYLE, suffix=".zst")
    meta = read_repo_metadata([str(tmp_path)], "fedora", {"kernel-default"})
    assert meta.has_updateinfo is True
    assert meta.advisories == {}
    assert "zstd" in (meta.problem or "")


def test_a_repository_whose_id_prefixes_another_is_not_confused_with_it(tmp_path: Path) -> None:
    """ "epel" must not find "epel-testing-<hash>": only <repoid> or <repoid>-<hex digest> match."""
    _cache(tmp_path / "epel-testing-0123456789abcdef", updateinfo=None)
    assert find_repo_dir([str(tmp_path)], "epel") is None


def test_the_newest_copy_of_a_repository_wins(tmp_path: Path) -> None:
    """A stale cache of the same repository (another baseurl hash) is ignored for the newer one."""
    _cache(tmp_path / "base-aaaaaaaaaaaaaaaa", updateinfo=None)
    _cache(tmp_path / "base-bbbbbbbbbbbbbbbb", updateinfo=SUSE_STYLE)
    old = time.time() - 3600
    os.utime(tmp_path / "base-aaaaaaaaaaaaaaaa/repodata/repomd.xml", (old, old))
    assert find_repo_dir([str(tmp_path)], "base") == str(tmp_path / "base-bbbbbbbbbbbbbbbb")


def test_evr_without_release_from_updateinfo_round_trips() -> None:
    """An advisory package without a release keeps an empty release (it matches any)."""
    assert str(Evr(0, "2024a", "")) == "2024a"
