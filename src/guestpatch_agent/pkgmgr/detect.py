"""Choose the backend from ``/etc/os-release`` (under the root) and the package-manager binaries present.

:func:`choose_backend` is pure: the distribution's ``ID`` and ``ID_LIKE`` pick the family, the
binaries break ties (EL 8+ without dnf falls back to yum, EL 7 with dnf uses dnf). The rpm-family
backends are imported lazily by module and class name, so an apt machine never imports them.
"""

import importlib
import shutil
from typing import AbstractSet, Callable, Dict, Iterable, Optional, Tuple, cast

from guestpatch_agent.errors import PackageManagerError
from guestpatch_agent.model import Distro
from guestpatch_agent.pkgmgr.base import Backend, Root
from guestpatch_agent.runner import Runner

#: backend name -> (module, class, the binary it drives)
BACKENDS: Dict[str, Tuple[str, str, str]] = {
    "apt": ("guestpatch_agent.pkgmgr.apt", "AptBackend", "apt-get"),
    "dnf": ("guestpatch_agent.pkgmgr.dnf", "DnfBackend", "dnf"),
    "yum": ("guestpatch_agent.pkgmgr.dnf", "YumBackend", "yum"),
    "zypper": ("guestpatch_agent.pkgmgr.zypper", "ZypperBackend", "zypper"),
    "tdnf": ("guestpatch_agent.pkgmgr.tdnf", "TdnfBackend", "tdnf"),
}

_APT_IDS = {"debian", "ubuntu", "raspbian", "linuxmint", "pop"}
_EL_IDS = {"rhel", "centos", "almalinux", "rocky", "ol", "fedora", "amzn", "cloudlinux", "eurolinux"}
_SUSE_IDS = {"sles", "sled", "opensuse", "opensuse-leap", "opensuse-tumbleweed", "suse", "sle-micro"}
_TDNF_IDS = {"azurelinux", "mariner", "photon"}


def choose_backend(distro: Distro, present: Iterable[str]) -> str:
    """The backend name for ``distro`` given the binaries ``present`` (e.g. ``{"apt-get", "dnf"}``)."""
    binaries = set(present)
    ids = (distro.id, *distro.id_like)
    major = _major(distro.version_id)
    if any(i in _TDNF_IDS for i in ids):
        return _first(binaries, ("tdnf", "dnf", "yum"), distro)
    if any(i in _SUSE_IDS or i.startswith("opensuse") for i in ids):
        return _first(binaries, ("zypper",), distro)
    if any(i in _APT_IDS for i in ids):
        return _first(binaries, ("apt-get",), distro)
    if any(i in _EL_IDS for i in ids):
        el7 = distro.id != "fedora" and major is not None and major < 8 and distro.id != "amzn"
        return _first(binaries, ("yum", "dnf") if el7 else ("dnf", "yum"), distro)
    return _first(binaries, ("apt-get", "dnf", "yum", "zypper", "tdnf"), distro)


def detect_backend(
    runner: Runner,
    root: Root,
    distro: Distro,
    *,
    which: Callable[[str], Optional[str]] = shutil.which,
) -> Backend:
    """Construct the backend for ``distro``; the binaries are looked up on the host's PATH.

    With ``--root DIR`` the host's package manager drives the image (apt's directory options, dnf
    ``--installroot``, zypper ``--root``), so the host must have the image's package manager.
    """
    present = {binary for (_, _, binary) in BACKENDS.values() if which(binary)}
    name = choose_backend(distro, present)
    module_name, class_name, _ = BACKENDS[name]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise PackageManagerError("the {} backend is not available in this agent: {}".format(name, exc)) from exc
    factory = getattr(module, class_name)
    return cast(Backend, factory(runner, root, distro))


def _first(present: AbstractSet[str], order: Tuple[str, ...], distro: Distro) -> str:
    for binary in order:
        if binary in present:
            return _name_of(binary)
    raise PackageManagerError(
        "no supported package manager for {}: looked for {} on PATH".format(
            distro.pretty_name or distro.id or "this system", ", ".join(order)
        )
    )


def _name_of(binary: str) -> str:
    return "apt" if binary == "apt-get" else binary


def _major(version_id: str) -> Optional[int]:
    head = version_id.split(".", 1)[0]
    return int(head) if head.isdigit() else None
