"""rpm versions and package specs: the pure functions of ``pkgmgr/rpm.py``, with real rpm as the oracle."""

from __future__ import annotations

import random
import shutil
import subprocess

import pytest

from guestpatch_agent.errors import InvalidPackageName, PackageManagerError
from guestpatch_agent.pkgmgr.rpm import (
    Evr,
    compare_evr,
    parse_evr,
    parse_nevra,
    pinned_spec,
    rpmvercmp,
    split_name_arch,
    validate_name,
)

EDGE_CASES = [
    ("1.0", "1.0~rc1"), ("1.0~rc1", "1.0~rc2"), ("1.0~", "1.0"), ("1.0~^", "1.0~"), ("1.0^git1", "1.0"),
    ("1.0^git1", "1.0.1"), ("1.0^", "1.0"), ("1.a", "1.1"), ("2.0", "10"), ("1.0", "1.0.0"), ("a", "b"),
    ("1_0", "1.0"), ("1.0a", "1.0"), ("0001", "1"), ("5.14.0", "5.14.0"), ("1.el9_3", "1.el9"),
    ("427.20.1.el9_4", "427.13.1.el9_4"), ("2.02", "2.2"), ("1.0+git", "1.0"), ("fc41", "fc40"),
]  # fmt: skip


def _corpus(seed: int, count: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    alphabet = "0123456789" * 3 + "abcz" + "..." + "~^_+"
    pairs = []
    for _ in range(count):
        a = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 8)))
        b = a if rng.random() < 0.1 else "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 8)))
        pairs.append((a, b))
    return pairs


def _rpm_vercmp(pairs: list[tuple[str, str]]) -> list[int]:
    """Real rpm's answer for every pair, in one process (rpm's Lua interpreter has rpm.vercmp)."""
    table = ",".join(f"{{[[{a}]],[[{b}]]}}" for a, b in pairs)
    script = f"%{{lua: for _, p in ipairs({{{table}}}) do print(rpm.vercmp(p[1], p[2]) .. ' ') end}}"
    out = subprocess.run(["rpm", "--eval", script], capture_output=True, text=True, check=True).stdout
    return [int(v) for v in out.split()]


@pytest.mark.skipif(shutil.which("rpm") is None, reason="rpm is not installed (Debian package rpm)")
def test_rpmvercmp_agrees_with_real_rpm_on_edge_cases_and_a_seeded_corpus() -> None:
    """Our rpmvercmp gives rpm's own answer for ~, ^, leading zeros, letters vs digits and 2000 random pairs."""
    pairs = EDGE_CASES + _corpus(seed=20260110, count=2000)
    expected = _rpm_vercmp(pairs)
    assert len(expected) == len(pairs)
    ours = [rpmvercmp(a, b) for a, b in pairs]
    mismatches = [(a, b, e, o) for (a, b), e, o in zip(pairs, expected, ours, strict=True) if o != e]
    assert mismatches == []


def test_epoch_outranks_version() -> None:
    """1:1.0-1 is newer than 2.0-1 (the lab's agt-epoch update)."""
    assert compare_evr(parse_evr("1:1.0-1"), parse_evr("2.0-1")) == 1


def test_a_missing_release_compares_equal_to_any_release() -> None:
    """An advisory or capability without a release matches every release of that version."""
    assert compare_evr(parse_evr("1.1"), parse_evr("1.1-7.el9")) == 0


@pytest.mark.parametrize(
    ("text", "evr"),
    [("1.0-1", Evr(0, "1.0", "1")), ("1:1.0-1", Evr(1, "1.0", "1")),
     ("32:9.16.23-18.el9_4.1", Evr(32, "9.16.23", "18.el9_4.1")),
     ("1.0", Evr(0, "1.0", "")), ("1.0~rc1-1", Evr(0, "1.0~rc1", "1"))],
)  # fmt: skip
def test_parse_evr_reads_epoch_version_release(text: str, evr: Evr) -> None:
    """``[epoch:]version[-release]`` in, the three parts out, and back to the same text."""
    assert parse_evr(text) == evr
    assert str(evr) == text


@pytest.mark.parametrize(
    ("text", "name", "evr", "arch"),
    [
        ("agt-epoch-1:1.0-1.noarch", "agt-epoch", "1:1.0-1", "noarch"),
        ("1:openssl-1.0.2k-19.el7.x86_64", "openssl", "1:1.0.2k-19.el7", "x86_64"),
        ("python3.11-minimal-3.11.5-1.el9.x86_64.rpm", "python3.11-minimal", "3.11.5-1.el9", "x86_64"),
        ("libstdc++-11.4.1-3.el9.i686", "libstdc++", "11.4.1-3.el9", "i686"),
        ("kernel-uek-5.15.0-206.153.7.el8uek.x86_64", "kernel-uek", "5.15.0-206.153.7.el8uek", "x86_64"),
    ],
)
def test_parse_nevra_reads_dnf_and_yum_forms(text: str, name: str, evr: str, arch: str) -> None:
    """name-[epoch:]version-release.arch (dnf, tdnf) and epoch:name-version-release.arch (yum)."""
    nevra = parse_nevra(text)
    assert (nevra.name, str(nevra.evr), nevra.arch) == (name, evr, arch)


@pytest.mark.parametrize("text", ["RHSA-2024:1234", "Critical/Sec.", "foo.x86_64", "kernel-5.14.0.x86_64"])
def test_parse_nevra_refuses_what_is_not_a_package(text: str) -> None:
    """Tokens that are not name-version-release.arch raise instead of producing a bogus package."""
    with pytest.raises(PackageManagerError):
        parse_nevra(text)


def test_a_dot_in_a_name_is_not_mistaken_for_an_architecture() -> None:
    """python3.11 stays whole; only a known architecture after the last dot is split off."""
    assert split_name_arch("python3.11") == ("python3.11", "")
    assert split_name_arch("python3.11.noarch") == ("python3.11", "noarch")


@pytest.mark.parametrize("name", ["libstdc++6", "python3.11-minimal", "389-ds-base", "NetworkManager", "libopenssl1_1"])
def test_real_package_names_are_accepted(name: str) -> None:
    """The names the field uses pass validation unchanged."""
    assert validate_name(name) == name


@pytest.mark.parametrize("name", ["-rf", "--nodeps", "a b", "x;y", "a/b", "", ".hidden", "x\n"])
def test_names_that_could_be_options_or_paths_are_refused(name: str) -> None:
    """A leading dash, spaces, shell or path characters: InvalidPackageName."""
    with pytest.raises(InvalidPackageName):
        validate_name(name)


def test_pinned_spec_keeps_the_epoch() -> None:
    """dnf/yum/tdnf get name-epoch:version-release.arch; stripping the epoch (as LPE does) would be wrong."""
    assert pinned_spec("agt-epoch", "1:1.0-1", "noarch") == "agt-epoch-1:1.0-1.noarch"


@pytest.mark.parametrize(("version", "arch"), [("--oldpackage", "noarch"), ("1.0 -1", "noarch"), ("1.0-1", "x86_64;")])
def test_pinned_spec_refuses_bad_versions_and_architectures(version: str, arch: str) -> None:
    """Versions and architectures are validated like names."""
    with pytest.raises(InvalidPackageName):
        pinned_spec("agt-alpha", version, arch)
