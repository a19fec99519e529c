"""The simulated package repositories of the demo fleet: what each OS offers, and the bad version.

Every machine starts with :data:`INSTALLED` for its OS key. The repository offers :data:`RELEASE` (the
month's release: Critical, Security and Other updates, a kernel among them, which needs a reboot);
:meth:`Repository.publish_bad` adds :data:`BAD` (one Security update per OS key whose new version breaks
the application: a machine that installs it turns Unhealthy a few minutes later). Thread-safe: the
simulated agents read it while the story publishes.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    classification: str  # Critical, Security or Other
    reboot: bool = False  # installing it needs a reboot (a kernel)

    @property
    def pin(self) -> str:
        return f"{self.name}={self.version}"


INSTALLED: dict[str, dict[str, str]] = {
    "ubuntu-22.04": {"openssl": "3.0.2-0ubuntu1.15", "libc6": "2.35-0ubuntu3.7", "curl": "7.81.0-1ubuntu1.16",
                     "linux-image-generic": "5.15.0.122.122", "tzdata": "2024a-0ubuntu0.22.04",
                     "libxml2": "2.9.13+dfsg-1ubuntu0.4"},
    "debian-12": {"openssl": "3.0.14-1~deb12u1", "libc6": "2.36-9+deb12u7", "curl": "7.88.1-10+deb12u7",
                  "linux-image-amd64": "6.1.106-3", "tzdata": "2024a-0+deb12u1", "libxml2": "2.9.14+dfsg-1.3~deb12u1"},
    "rhel-9": {"openssl": "1:3.0.7-27.el9", "glibc": "2.34-100.el9_4.3", "curl": "7.76.1-29.el9_4.1",
               "kernel": "5.14.0-427.37.1.el9_4", "tzdata": "2024a-1.el9", "libxml2": "2.9.13-6.el9_4"},
}

RELEASE: dict[str, tuple[Package, ...]] = {
    "ubuntu-22.04": (
        Package("openssl", "3.0.2-0ubuntu1.18", "Security"),
        Package("libc6", "2.35-0ubuntu3.8", "Security"),
        Package("curl", "7.81.0-1ubuntu1.18", "Security"),
        Package("linux-image-generic", "5.15.0.124.124", "Security", reboot=True),
        Package("tzdata", "2024b-0ubuntu0.22.04", "Other"),
    ),
    "debian-12": (
        Package("openssl", "3.0.15-1~deb12u1", "Security"),
        Package("libc6", "2.36-9+deb12u8", "Security"),
        Package("curl", "7.88.1-10+deb12u8", "Security"),
        Package("linux-image-amd64", "6.1.112-1", "Security", reboot=True),
        Package("tzdata", "2024b-0+deb12u1", "Other"),
    ),
    "rhel-9": (
        Package("openssl", "1:3.0.7-28.el9_4", "Critical"),
        Package("glibc", "2.34-100.el9_4.4", "Security"),
        Package("curl", "7.76.1-29.el9_4.2", "Security"),
        Package("kernel", "5.14.0-427.40.1.el9_4", "Critical", reboot=True),
        Package("tzdata", "2024b-2.el9", "Other"),
    ),
}

BAD: dict[str, Package] = {
    "ubuntu-22.04": Package("libxml2", "2.9.13+dfsg-1ubuntu0.5", "Security"),
    "debian-12": Package("libxml2", "2.9.14+dfsg-1.3~deb12u2", "Security"),
    "rhel-9": Package("libxml2", "2.9.13-7.el9_4", "Security"),
}


class Repository:
    """What the repositories offer now, per OS key; :meth:`publish_bad` adds the bad version."""

    def __init__(self, *, bad_published: bool = False) -> None:
        self._lock = threading.Lock()
        self._bad = bad_published

    @property
    def bad_published(self) -> bool:
        with self._lock:
            return self._bad

    def publish_bad(self) -> None:
        with self._lock:
            self._bad = True

    def offers(self, os_key: str) -> tuple[Package, ...]:
        """The newest version of each package the OS key's repositories carry now."""
        packages = RELEASE.get(os_key, ())
        if self.bad_published and os_key in BAD:
            packages = (*packages, BAD[os_key])
        return packages

    def is_bad(self, name: str, version: str) -> bool:
        return any(p.name == name and p.version == version for p in BAD.values())

    def bad_pins(self) -> list[str]:
        return sorted(p.pin for p in BAD.values())
