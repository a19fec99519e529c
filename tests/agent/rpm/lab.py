"""The rpm lab: tiny packages, two rpm-md repositories (one with updateinfo), and disposable roots.

Built once per test session with the real rpmbuild, createrepo_c and modifyrepo_c; each test gets a
copy of a template root in which the real dnf (or zypper) installed the 1.0 baseline.

Repository ``agt`` (publishes updateinfo):

=========================  =====================  =========================================================
package                    update                 advisory
=========================  =====================  =========================================================
agt-alpha                  1.0-1 → 1.1-1          AGT-2026:0001 security, Critical
agt-bravo                  1.0-1 → 1.1-1          AGT-2026:0002 security, Important
agt-charlie                1.0-1 → 1.1-1          AGT-2026:0003 bugfix
agt-delta                  1.0-1 → 1.1-1          none (Other: the repository has updateinfo)
agt-echo                   1.0-1 → 1.1-1          AGT-2026:0004 enhancement; 1.1 requires the new agt-newdep
agt-epoch                  2.0-1 → 1:1.0-1        AGT-2026:0005 security, Low (the epoch makes 1.0 newer)
libagt++6 (x86_64)         1.0-1 → 1.1-1          AGT-2026:0006 security, Important
python3.11-agt-minimal     1.0-1 → 1.1-1.el9_3    none
agt-kernel                 5.14.0-1 → 5.14.0-2    AGT-2026:0007 security, Important, reboot_suggested
agt-broken                 1.0-1 → 1.1-1          AGT-2026:0008 bugfix; 1.1's %pre (Lua) fails
=========================  =====================  =========================================================

Repository ``plain`` (no updateinfo, like a CentOS clone): agt-foxtrot 1.0-1 → 1.1-1 and
agt-tilde 1.0~rc1-1 → 1.0-1 (``~`` sorts before the release).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

SPEC = """\
%define debug_package %{{nil}}
Name: {name}
Version: {version}
Release: {release}
{epoch_line}Summary: lab package {name}
License: MIT
{arch_line}{requires_line}{provides_line}%description
lab package {name} {version}
{pre}%install
mkdir -p %{{buildroot}}/usr/share/{name}
echo "{name} {version}-{release}" > %{{buildroot}}/usr/share/{name}/VERSION
%files
/usr/share/{name}/VERSION
"""

FAILING_PRE = '%pre -p <lua>\nerror("lab: this scriptlet fails on purpose")\n'


@dataclass(frozen=True)
class Pkg:
    name: str
    version: str
    release: str = "1"
    epoch: int = 0
    arch: str = "noarch"
    requires: str = ""
    provides: str = ""
    failing_pre: bool = False

    @property
    def evr(self) -> str:
        text = f"{self.version}-{self.release}"
        return f"{self.epoch}:{text}" if self.epoch else text

    @property
    def filename(self) -> str:
        return f"{self.name}-{self.version}-{self.release}.{self.arch}.rpm"


@dataclass(frozen=True)
class Adv:
    id: str
    kind: str
    severity: str
    issued: str
    package: Pkg
    reboot: bool = False


# Baseline (installed in every root) and updates, per repository.
AGT_BASE = [
    Pkg("agt-alpha", "1.0"), Pkg("agt-bravo", "1.0"), Pkg("agt-charlie", "1.0"), Pkg("agt-delta", "1.0"),
    Pkg("agt-echo", "1.0"), Pkg("agt-epoch", "2.0"), Pkg("libagt++6", "1.0", arch="x86_64"),
    Pkg("python3.11-agt-minimal", "1.0"), Pkg("agt-kernel", "5.14.0", "1"), Pkg("agt-broken", "1.0"),
]  # fmt: skip
AGT_UPDATES = {
    "agt-alpha": Pkg("agt-alpha", "1.1"),
    "agt-bravo": Pkg("agt-bravo", "1.1"),
    "agt-charlie": Pkg("agt-charlie", "1.1"),
    "agt-delta": Pkg("agt-delta", "1.1"),
    "agt-echo": Pkg("agt-echo", "1.1", requires="agt-newdep"),
    "agt-epoch": Pkg("agt-epoch", "1.0", epoch=1),
    "libagt++6": Pkg("libagt++6", "1.1", arch="x86_64"),
    "python3.11-agt-minimal": Pkg("python3.11-agt-minimal", "1.1", "1.el9_3"),
    # SUSE kernels provide this: libzypp then flags the system as needing a reboot.
    "agt-kernel": Pkg("agt-kernel", "5.14.0", "2", provides="installhint(reboot-needed)"),
    "agt-broken": Pkg("agt-broken", "1.1", failing_pre=True),
}
NEW_DEP = Pkg("agt-newdep", "1.0")
PLAIN_BASE = [Pkg("agt-foxtrot", "1.0"), Pkg("agt-tilde", "1.0~rc1")]
PLAIN_UPDATES = {"agt-foxtrot": Pkg("agt-foxtrot", "1.1"), "agt-tilde": Pkg("agt-tilde", "1.0")}

ADVISORIES = [
    Adv("AGT-2026:0001", "security", "Critical", "2026-01-10", AGT_UPDATES["agt-alpha"]),
    Adv("AGT-2026:0002", "security", "Important", "2026-01-11", AGT_UPDATES["agt-bravo"]),
    Adv("AGT-2026:0003", "bugfix", "", "2026-01-12", AGT_UPDATES["agt-charlie"]),
    Adv("AGT-2026:0004", "enhancement", "", "2026-01-13", AGT_UPDATES["agt-echo"]),
    Adv("AGT-2026:0005", "security", "Low", "2026-01-14", AGT_UPDATES["agt-epoch"]),
    Adv("AGT-2026:0006", "security", "Important", "2026-01-15", AGT_UPDATES["libagt++6"]),
    Adv("AGT-2026:0007", "security", "Important", "2026-01-16", AGT_UPDATES["agt-kernel"], reboot=True),
    Adv("AGT-2026:0008", "bugfix", "", "2026-01-17", AGT_UPDATES["agt-broken"]),
]

#: What the lab's assessment must find: name → (candidate version, classification).
EXPECTED = {
    "agt-alpha": ("1.1-1", "Critical"),
    "agt-bravo": ("1.1-1", "Security"),
    "agt-charlie": ("1.1-1", "Other"),
    "agt-delta": ("1.1-1", "Other"),
    "agt-echo": ("1.1-1", "Other"),
    "agt-epoch": ("1:1.0-1", "Security"),
    "libagt++6": ("1.1-1", "Security"),
    "python3.11-agt-minimal": ("1.1-1.el9_3", "Other"),
    "agt-kernel": ("5.14.0-2", "Security"),
    "agt-broken": ("1.1-1", "Other"),
    "agt-foxtrot": ("1.1-1", "Unclassified"),
    "agt-tilde": ("1.0-1", "Unclassified"),
}
SECURITY_NAMES = sorted(n for n, (_, c) in EXPECTED.items() if c in ("Critical", "Security"))


def _build(pkg: Pkg, work: Path, out: Path) -> None:
    spec = work / f"{pkg.name}-{pkg.version}-{pkg.release}.spec"
    spec.write_text(
        SPEC.format(
            name=pkg.name,
            version=pkg.version,
            release=pkg.release,
            epoch_line=f"Epoch: {pkg.epoch}\n" if pkg.epoch else "",
            arch_line="BuildArch: noarch\n" if pkg.arch == "noarch" else "",
            requires_line=f"Requires: {pkg.requires}\n" if pkg.requires else "",
            provides_line=f"Provides: {pkg.provides}\n" if pkg.provides else "",
            pre=FAILING_PRE if pkg.failing_pre else "",
        )
    )
    target = [] if pkg.arch == "noarch" else ["--target", pkg.arch]
    subprocess.run(
        ["rpmbuild", "-bb", "--quiet", *target,
         "--define", f"_topdir {work}/build", "--define", f"_dbpath {work}/build/db",
         "--define", f"_rpmdir {out}",
         "--define", "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm", str(spec)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip


def _updateinfo(advisories: list[Adv]) -> str:
    parts = ['<?xml version="1.0" encoding="UTF-8"?>', "<updates>"]
    for a in advisories:
        p = a.package
        severity = f"<severity>{a.severity}</severity>" if a.severity else ""
        reboot = "<reboot_suggested>True</reboot_suggested>" if a.reboot else ""
        refs = (
            f'<reference href="https://example.invalid/{a.id}" id="CVE-2026-{a.id[-4:]}" type="cve" title="CVE"/>'
            if a.kind == "security"
            else ""
        )
        parts.append(
            f'  <update from="lab@example.invalid" status="stable" type="{a.kind}" version="2.0">'
            f"<id>{a.id}</id><title>{p.name} update</title>"
            f'<issued date="{a.issued} 00:00:00"/><updated date="{a.issued} 12:00:00"/>{severity}'
            f"<summary>{p.name} update</summary><description>lab</description>"
            f'<references>{refs}</references><pkglist><collection short="agt"><name>agt</name>'
            f'<package name="{p.name}" version="{p.version}" release="{p.release}" epoch="{p.epoch}" '
            f'arch="{p.arch}" src="{p.name}-{p.version}-{p.release}.src.rpm"><filename>{p.filename}</filename>'
            f"{reboot}</package></collection></pkglist></update>"
        )
    parts.append("</updates>")
    return "\n".join(parts) + "\n"


@dataclass(frozen=True)
class RpmLab:
    """Paths of a built lab."""

    base: Path
    agt_repo: Path
    plain_repo: Path
    home: Path  # HOME for every rpm/dnf/zypper call: .rpmmacros puts the rpmdb inside the root

    @property
    def env(self) -> dict[str, str]:
        return {"HOME": str(self.home)}


def build_lab(base: Path) -> RpmLab:
    work, rpms = base / "work", base / "rpms"
    for d in (work, rpms):
        d.mkdir(parents=True)
    every = [*AGT_BASE, *AGT_UPDATES.values(), NEW_DEP, *PLAIN_BASE, *PLAIN_UPDATES.values()]
    for pkg in every:
        _build(pkg, work, rpms)
    agt, plain = base / "repo-agt", base / "repo-plain"
    for repo, pkgs in ((agt, [*AGT_BASE, *AGT_UPDATES.values(), NEW_DEP]),
                       (plain, [*PLAIN_BASE, *PLAIN_UPDATES.values()])):  # fmt: skip
        repo.mkdir()
        for pkg in pkgs:
            shutil.copy(rpms / pkg.filename, repo / pkg.filename)
        subprocess.run(["createrepo_c", "--quiet", "--no-database", str(repo)], check=True)
    updateinfo = work / "updateinfo.xml"
    updateinfo.write_text(_updateinfo(ADVISORIES))
    subprocess.run(
        ["modifyrepo_c", "--mdtype=updateinfo", str(updateinfo), str(agt / "repodata")],
        check=True, capture_output=True,
    )  # fmt: skip
    home = base / "home"
    home.mkdir()
    (home / ".rpmmacros").write_text("%_dbpath /var/lib/rpm\n")
    return RpmLab(base, agt, plain, home)


OS_RELEASE = {
    "dnf": 'NAME="Red Hat Enterprise Linux"\nID="rhel"\nID_LIKE="fedora"\nVERSION_ID="9.3"\n',
    "zypper": 'NAME="SLES"\nID="sles"\nID_LIKE="suse"\nVERSION_ID="15.5"\n',
}


def write_dnf_config(root: Path, lab: RpmLab) -> None:
    """The root's own dnf configuration: its repositories, no GPG (local lab), no host plugins."""
    (root / "etc/yum.repos.d").mkdir(parents=True)
    (root / "etc/dnf/plugins").mkdir(parents=True)
    (root / "etc/os-release").write_text(OS_RELEASE["dnf"])
    (root / "etc/dnf/dnf.conf").write_text(
        "[main]\ngpgcheck=0\ninstallonly_limit=3\ninstall_weak_deps=False\nskip_if_unavailable=False\n"
    )
    (root / "etc/yum.repos.d/lab.repo").write_text(
        f"[agt]\nname=AGT lab\nbaseurl=file://{lab.agt_repo}\ngpgcheck=0\n\n"
        f"[plain]\nname=Plain lab\nbaseurl=file://{lab.plain_repo}\ngpgcheck=0\n"
    )


def dnf_argv(root: Path) -> list[str]:
    return [
        "dnf", "-q", "-y", f"--installroot={root}", f"--setopt=reposdir={root}/etc/yum.repos.d",
        f"--config={root}/etc/dnf/dnf.conf", f"--setopt=pluginconfpath={root}/etc/dnf/plugins",
        "--releasever=9",
    ]  # fmt: skip


def baseline_specs() -> list[str]:
    return [f"{p.name}-{p.evr}.{p.arch}" for p in (*AGT_BASE, *PLAIN_BASE)]


def make_dnf_template(root: Path, lab: RpmLab) -> None:
    write_dnf_config(root, lab)
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(lab.home), "LC_ALL": "C"}
    subprocess.run([*dnf_argv(root), "install", *baseline_specs()], check=True, capture_output=True, env=env)


def zypper_env(root: Path, lab: RpmLab) -> dict[str, str]:
    return {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(lab.home), "LC_ALL": "C",
            "ZYPP_LOGFILE": f"{root}/var/log/zypper.log"}  # fmt: skip


def make_zypper_template(root: Path, lab: RpmLab) -> None:
    (root / "etc").mkdir(parents=True)
    (root / "var/log").mkdir(parents=True)
    (root / "etc/os-release").write_text(OS_RELEASE["zypper"])
    env = zypper_env(root, lab)
    zypper = ["zypper", "--non-interactive", "--quiet", "--root", str(root)]
    for alias, repo in (("agt", lab.agt_repo), ("plain", lab.plain_repo)):
        subprocess.run([*zypper, "addrepo", "--no-gpgcheck", f"file://{repo}", alias],
                       check=True, capture_output=True, env=env)  # fmt: skip
    subprocess.run([*zypper, "refresh"], check=True, capture_output=True, env=env)
    specs = [f"{p.name}={p.evr}" for p in (*AGT_BASE, *PLAIN_BASE)]
    subprocess.run([*zypper, "install", "--", *specs], check=True, capture_output=True, env=env)


def rpm_qa(root: Path, lab: RpmLab) -> dict[str, str]:
    """name → version-release of every package in the root, straight from rpm."""
    out = subprocess.run(
        ["rpm", "--root", str(root), "-qa", "--qf", "%{NAME} %|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\\n"],
        check=True,
        capture_output=True,
        text=True,
        env={"HOME": str(lab.home), "PATH": "/usr/bin:/bin"},
    ).stdout
    result: dict[str, str] = {}
    for line in out.splitlines():
        name, evr = line.split(" ", 1)
        result[name] = evr  # several versions (install-only kernels) keep the last; tests avoid relying on it
    return result
