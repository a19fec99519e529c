"""The apt lab: tiny .deb packages, a local repository with a main and a security suite, disposable roots.

Roots are real chroots: ``usr`` is an overlay of the host's ``/usr`` (so maintainer scripts find
``/bin/sh``) with ``bin``/``sbin``/``lib``/``lib64`` linked into it, and ``var/run`` is the absolute
link ``/run`` as on a real system. apt and dpkg run on the host against the root (the agent's
``--root`` mode: ``APT_CONFIG`` plus ``dpkg --root``), and dpkg chroots into it for maintainer scripts.
One template root with the 1.0 packages installed is built per session and copied per test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ENV = {**os.environ, "LC_ALL": "C", "DEBIAN_FRONTEND": "noninteractive"}

OS_RELEASE = """PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
"""

REBOOT_POSTINST = """if [ "$1" = configure ]; then
  touch /var/run/reboot-required
  echo agt-kernel >> /var/run/reboot-required.pkgs
fi"""
BROKEN_POSTINST = 'echo "agt-broken: failing on purpose" >&2\nexit 1'
SLOW_POSTINST = """if [ "$1" = configure ]; then
  touch /tmp/agt-slow-started
  while [ ! -e /tmp/agt-slow-go ]; do sleep 0.05; done
fi"""


@dataclass(frozen=True)
class Deb:
    name: str
    version: str
    suite: str  # "bookworm", "bookworm-security" or "bookworm-slow"
    depends: str = ""
    postinst: str = ""


#: Baseline versions installed in every root.
BASELINE = {
    "agt-alpha": "1.0",
    "agt-bravo": "1.0",
    "agt-charlie": "1.0",
    "libstdc++6": "1.0",
    "python3.11-minimal": "1.0",
    "agt-epoch": "1:1.0",
    "agt-tilde": "2.0~rc1",
    "agt-needsdep": "1.0",
    "agt-parent": "1.0",
    "agt-child": "1.0",
    "agt-kernel": "1.0",
    "agt-broken": "1.0",
}

#: The updates the lab offers, and where.
UPDATES = [
    Deb("agt-alpha", "1.1", "bookworm-security"),
    Deb("agt-bravo", "1.1", "bookworm-security"),
    Deb("libstdc++6", "1.1", "bookworm-security"),
    Deb("python3.11-minimal", "1.1", "bookworm-security"),
    Deb("agt-epoch", "1:1.1", "bookworm-security"),
    Deb("agt-kernel", "1.1", "bookworm-security", postinst=REBOOT_POSTINST),
    Deb("agt-charlie", "1.1", "bookworm"),
    Deb("agt-tilde", "2.0", "bookworm"),
    Deb("agt-needsdep", "1.1", "bookworm", depends="agt-newdep"),
    Deb("agt-newdep", "1.0", "bookworm"),
    Deb("agt-parent", "1.1", "bookworm", depends="agt-child (>= 1.1)"),
    Deb("agt-child", "1.1", "bookworm"),
    Deb("agt-broken", "1.1", "bookworm", postinst=BROKEN_POSTINST),
]
SLOW = [Deb("agt-slow", "1.0", "bookworm-slow"), Deb("agt-slow", "1.1", "bookworm-slow", postinst=SLOW_POSTINST)]

SECURITY = {d.name: d.version for d in UPDATES if d.suite == "bookworm-security"}
OTHER = {d.name: d.version for d in UPDATES if d.suite == "bookworm" and d.name in BASELINE}

SUITES = {
    "bookworm": ("Debian", "stable"),
    "bookworm-security": ("Debian-Security", "stable-security"),
    "bookworm-slow": ("Debian", "slow"),
}


def run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, check=True, text=True, capture_output=True, env=ENV, **kwargs)  # type: ignore[call-overload,no-any-return]


def build_deb(deb: Deb, work: Path, out: Path) -> Path:
    tree = work / "{}-{}".format(deb.name, deb.version.replace(":", "_"))
    (tree / "DEBIAN").mkdir(parents=True)
    share = tree / "usr" / "share" / deb.name
    share.mkdir(parents=True)
    (share / "VERSION").write_text(f"{deb.name} {deb.version}\n")
    control = [
        "Package: " + deb.name,
        "Version: " + deb.version,
        "Architecture: all",
        "Maintainer: Lab <lab@example.invalid>",
        "Description: guestpatch lab package",
    ]
    if deb.depends:
        control.append("Depends: " + deb.depends)
    (tree / "DEBIAN" / "control").write_text("\n".join(control) + "\n")
    if deb.postinst:
        script = tree / "DEBIAN" / "postinst"
        script.write_text("#!/bin/sh\n" + deb.postinst + "\n")
        script.chmod(0o755)
    target = out / "{}_{}_all.deb".format(deb.name, deb.version.replace(":", "%3a"))
    run(["dpkg-deb", "-Zgzip", "--root-owner-group", "--build", str(tree), str(target)])
    return target


def build_repository(debs: dict[str, list[Path]], repo: Path) -> None:
    for suite, files in debs.items():
        pool = repo / "pool" / suite
        pool.mkdir(parents=True, exist_ok=True)
        for deb in files:
            shutil.copy(deb, pool / deb.name)
        label, archive = SUITES[suite]
        binary = repo / "dists" / suite / "main" / "binary-amd64"
        binary.mkdir(parents=True, exist_ok=True)
        packages = run(["apt-ftparchive", "packages", "pool/" + suite], cwd=repo).stdout
        (binary / "Packages").write_text(packages)
        options = {
            "Origin": "Debian",
            "Label": label,
            "Suite": archive,
            "Codename": suite,
            "Version": "12",
            "Architectures": "amd64 all",
            "Components": "main",
        }
        argv = ["apt-ftparchive"]
        for key, value in options.items():
            argv += ["-o", f"APT::FTPArchive::Release::{key}={value}"]
        release = run([*argv, "release", "dists/" + suite], cwd=repo).stdout
        (repo / "dists" / suite / "Release").write_text(release)


@dataclass
class AptRoot:
    """One disposable root: ``path`` (the chroot) with its overlay state in ``overlay``."""

    path: Path
    overlay: Path
    repo: Path
    mounted: bool = field(default=False)

    def mount(self) -> None:
        upper, work = self.overlay / "upper", self.overlay / "work"
        upper.mkdir(parents=True, exist_ok=True)
        work.mkdir(parents=True, exist_ok=True)
        (self.path / "usr").mkdir(exist_ok=True)
        run(["mount", "-t", "overlay", "overlay", "-o",
             f"lowerdir=/usr,upperdir={upper},workdir={work}", str(self.path / "usr")])
        self.mounted = True

    def unmount(self) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.path / "usr")], check=False, capture_output=True)
            self.mounted = False

    # ------------------------------------------------------------------ observations
    def dpkg_status(self) -> dict[str, tuple[str, str]]:
        """name -> (version, dpkg status abbreviation) as the root's dpkg database says."""
        out = run(["dpkg-query", f"--admindir={self.path}/var/lib/dpkg", "-W",
                   "-f=${Package}\\t${Version}\\t${db:Status-Abbrev}\\n"]).stdout
        rows = (line.split("\t") for line in out.splitlines() if line.strip())
        return {name: (version, status.strip()) for name, version, status in rows}

    def installed(self) -> dict[str, str]:
        """name -> version of the fully installed packages."""
        return {n: v for n, (v, s) in self.dpkg_status().items() if s in ("ii", "hi")}

    def reboot_required(self) -> bool:
        return (self.path / "run" / "reboot-required").exists()

    # ------------------------------------------------------------------ actions
    def add_suite(self, suite: str) -> None:
        line = f"deb [trusted=yes] file:{self.repo} {suite} main\n"
        (self.path / "etc/apt/sources.list.d" / f"{suite}.list").write_text(line)

    def apt_get(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run apt-get against this root the way the tests' set-up does (not the agent)."""
        conf = self.path / "lab-apt.conf"
        env = {**ENV, "APT_CONFIG": str(conf)}
        return subprocess.run(["apt-get", *args], check=True, text=True, capture_output=True, env=env)

    def reboot(self) -> None:
        """What a reboot does to the root: a new boot id, an empty /run."""
        for flag in (self.path / "run").glob("reboot-required*"):
            flag.unlink()
        self.boot_id_file.write_text(str(uuid.uuid4()) + "\n")

    @property
    def boot_id_file(self) -> Path:
        return self.path / "proc/sys/kernel/random/boot_id"


def make_skeleton(path: Path, repo: Path) -> None:
    for folder in ("etc/apt/apt.conf.d", "etc/apt/preferences.d", "etc/apt/sources.list.d",
                   "var/lib/apt/lists/partial", "var/cache/apt/archives/partial", "var/log/apt",
                   "var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers", "run", "tmp", "dev",
                   "proc/sys/kernel/random"):
        (path / folder).mkdir(parents=True, exist_ok=True)
    (path / "tmp").chmod(0o1777)
    for name in ("status", "available"):
        (path / "var/lib/dpkg" / name).write_text("")
    (path / "var/run").symlink_to("/run")
    for link in ("bin", "sbin", "lib", "lib64"):
        (path / link).symlink_to("usr/" + link)
    (path / "etc/os-release").write_text(OS_RELEASE)
    (path / "proc/sys/kernel/random/boot_id").write_text(str(uuid.uuid4()) + "\n")
    os.mknod(path / "dev/null", 0o666 | 0o020000, os.makedev(1, 3))
    os.chmod(path / "dev/null", 0o666)
    for suite in ("bookworm", "bookworm-security"):
        line = f"deb [trusted=yes] file:{repo} {suite} main\n"
        (path / "etc/apt/sources.list.d" / f"{suite}.list").write_text(line)
    (path / "lab-apt.conf").write_text(
        f'Dir "{path}/";\nDir::State::status "{path}/var/lib/dpkg/status";\n'
        f'DPkg::Options {{ "--root={path}"; "--log={path}/var/log/dpkg.log"; }};\nDpkg::Use-Pty "0";\n'
    )


def copy_root(template: AptRoot, path: Path, overlay: Path) -> AptRoot:
    """A fresh root from the template (its own dpkg database, lists and overlay upper layer)."""
    top = str(template.path)

    def skip(folder: str, names: list[str]) -> list[str]:
        if folder == top:
            return ["usr"]
        return ["null"] if folder == os.path.join(top, "dev") else []

    shutil.copytree(template.path, path, symlinks=True, ignore=skip)
    os.mknod(path / "dev/null", 0o666 | 0o020000, os.makedev(1, 3))
    os.chmod(path / "dev/null", 0o666)
    (path / "usr").mkdir()
    shutil.copytree(template.overlay / "upper", overlay / "upper", symlinks=True)
    conf = (template.path / "lab-apt.conf").read_text().replace(top, str(path))
    (path / "lab-apt.conf").write_text(conf)
    (path / "proc/sys/kernel/random/boot_id").write_text(str(uuid.uuid4()) + "\n")
    root = AptRoot(path, overlay, template.repo)
    root.mount()
    return root
