"""Capture the real dnf 4, zypper and rpm output of the lab as golden files (``*-lab-debian-12.*``).

Run as root on a Debian host with the lab's tools: ``python -m tests.agent.rpm.capture``; then
regenerate the expectations (``python -m tests.agent.rpm.test_golden_rpm``) and review the diff.
Every file written here is real output of the tool named in its file name; nothing is edited.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.agent.rpm import lab

GOLDEN = Path(__file__).resolve().parent.parent / "golden"


def _run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, env=env, check=False)


def _write(name: str, text: str) -> None:
    (GOLDEN / name).write_text(text)
    print("wrote", name, file=sys.stderr)


def capture(work: Path) -> None:
    rpm_lab = lab.build_lab(work / "lab")
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(rpm_lab.home), "LC_ALL": "C"}

    droot = work / "dnf-root"
    lab.make_dnf_template(droot, rpm_lab)
    dnf = lab.dnf_argv(droot)
    prefix = "dnf-lab-debian-12."
    _write(prefix + "dnf-check-update.stdout", _run([*dnf, "-C", "check-update"], env).stdout)
    qf = "%{name}\t%{epoch}\t%{version}\t%{release}\t%{arch}\t%{repoid}"
    repoquery = [*dnf, "-C", "repoquery", "--upgrades", "--latest-limit=1", "--queryformat", qf]
    _write(prefix + "dnf-repoquery-upgrades.stdout", _run(repoquery, env).stdout)
    _write(prefix + "dnf-updateinfo-list.stdout", _run([*dnf, "-C", "updateinfo", "list", "--available"], env).stdout)
    verbose = [a for a in dnf if a != "-q"]
    _write(
        prefix + "dnf-updateinfo-list-all-verbose.stdout",
        _run([*verbose, "-C", "-v", "updateinfo", "list", "--all"], env).stdout,
    )
    specs = ["agt-echo-1.1-1.noarch", "agt-epoch-1:1.0-1.noarch", "libagt++6-1.1-1.x86_64",
             "python3.11-agt-minimal-1.1-1.el9_3.noarch"]  # fmt: skip
    no_yes = [a for a in verbose if a != "-y"]
    _write(
        prefix + "dnf-install-assumeno.stdout", _run([*no_yes, "-C", "install", "--assumeno", "--", *specs], env).stdout
    )
    (droot / "etc/yum.repos.d/broken.repo").write_text(
        f"[broken]\nname=Broken lab\nbaseurl=file://{work}/nonexistent\ngpgcheck=0\n"
    )
    made = _run([*no_yes, "makecache", "--refresh", "--setopt=skip_if_unavailable=True"], env)
    _write(prefix + "dnf-makecache-unreachable.stderr", made.stderr)
    qa = ["rpm", "--root", str(droot), "-qa", "--qf", "%{NAME}\\t%|EPOCH?{%{EPOCH}}:{0}|\\t%{VERSION}\\t"
          "%{RELEASE}\\t%{ARCH}\\t%{INSTALLTIME}\\n"]  # fmt: skip
    _write("rpm-lab-debian-12.rpm-qa-qf.stdout", "".join(sorted(_run(qa, env).stdout.splitlines(True))))
    _write("rpm-lab.repomd-xml.stdout", (rpm_lab.agt_repo / "repodata/repomd.xml").read_text())
    _write("rpm-lab.updateinfo-xml.stdout", (rpm_lab.base / "work/updateinfo.xml").read_text())

    zroot = work / "zypper-root"
    lab.make_zypper_template(zroot, rpm_lab)
    zenv = lab.zypper_env(zroot, rpm_lab)
    z = ["zypper", "--non-interactive", "--root", str(zroot)]
    prefix = "zypper-lab-debian-12."
    _write(
        prefix + "zypper-xmlout-list-updates.stdout",
        _run([*z, "--xmlout", "--no-refresh", "list-updates"], zenv).stdout,
    )
    patches = _run([*z, "--xmlout", "--no-refresh", "list-patches", "--all"], zenv).stdout
    _write(prefix + "zypper-xmlout-list-patches-all.stdout", patches)
    names = [f"AGT-2026:000{i}" for i in range(1, 9)]
    _write(
        prefix + "zypper-info-patch.stdout",
        _run([*z, "--no-refresh", "info", "-t", "patch", "--", *names], zenv).stdout,
    )
    zspecs = ["agt-echo.noarch=1.1-1", "agt-epoch.noarch=1:1.0-1", "libagt++6.x86_64=1.1-1"]
    dry = _run([*z, "--xmlout", "--no-refresh", "install", "--dry-run", "--", *zspecs], zenv)
    _write(prefix + "zypper-xmlout-install-dry-run.stdout", dry.stdout)
    _write(prefix + "zypper-xmlout-repos.stdout", _run([*z, "--xmlout", "repos"], zenv).stdout)
    _run([*z, "addrepo", "--no-gpgcheck", f"file://{work}/nonexistent", "broken"], zenv)
    refreshed = _run([*z, "refresh"], zenv)
    _write(prefix + "zypper-refresh-unreachable.stdout", refreshed.stdout)
    _write(prefix + "zypper-refresh-unreachable.stderr", refreshed.stderr)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="rpm-capture-") as tmp:
        try:
            capture(Path(tmp))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
