"""Values the agent reasons about, with Azure's vocabulary for the wire.

Azure's JSON shapes (``VirtualMachineAssessPatchesResult``, ``VirtualMachineInstallPatchesResult``)
are rendered from these values by ``report.py``; nothing else builds those dicts.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Optional, Tuple


class Classification:
    """Patch classifications. ``Unclassified``: the repository carries no advisory data (never guessed)."""

    CRITICAL = "Critical"
    SECURITY = "Security"
    OTHER = "Other"
    UNCLASSIFIED = "Unclassified"
    SELECTABLE = (CRITICAL, SECURITY, OTHER)
    #: report order (LPE's and Azure's: most important first)
    ORDER = (CRITICAL, SECURITY, OTHER, UNCLASSIFIED)


class RebootBehavior:
    UNKNOWN = "Unknown"
    NEVER = "NeverReboots"
    ALWAYS = "AlwaysRequiresReboot"
    CAN_REQUEST = "CanRequestReboot"


class InstallationState:
    INSTALLED = "Installed"
    FAILED = "Failed"
    PENDING = "Pending"
    NOT_SELECTED = "NotSelected"
    EXCLUDED = "Excluded"


class RebootStatus:
    UNKNOWN = "Unknown"
    NOT_NEEDED = "NotNeeded"
    REQUIRED = "Required"
    STARTED = "Started"
    COMPLETED = "Completed"
    FAILED = "Failed"


class RebootSetting:
    IF_REQUIRED = "IfRequired"
    NEVER = "Never"
    ALWAYS = "Always"
    ALL = (IF_REQUIRED, NEVER, ALWAYS)


class OperationStatus:
    """``PatchOperationStatus`` of Azure's result bodies."""

    UNKNOWN = "Unknown"
    IN_PROGRESS = "InProgress"
    FAILED = "Failed"
    SUCCEEDED = "Succeeded"
    COMPLETED_WITH_WARNINGS = "CompletedWithWarnings"


@dataclass(frozen=True)
class Update:
    """One available update of one package, as the package manager offers it.

    ``version`` is the candidate version in the package manager's own full form (``epoch:ver-rel`` for
    rpm, the Debian version for apt). ``installed_version`` is ``None`` for a package that the update
    would newly install (a new dependency).
    """

    name: str
    arch: str
    version: str
    installed_version: Optional[str]
    classification: str
    repository: str
    advisories: Tuple[str, ...] = ()
    severity: Optional[str] = None
    published: Optional[datetime] = None
    reboot_behavior: str = RebootBehavior.UNKNOWN

    @property
    def is_new(self) -> bool:
        return self.installed_version is None


@dataclass
class Patch:
    """One available update as an installation tracks it: its state and, when not Installed, why."""

    update: Update
    state: str
    reason: Optional[str] = None
    attempts: int = 0

    @property
    def name(self) -> str:
        return self.update.name


@dataclass(frozen=True)
class Distro:
    """What ``/etc/os-release`` says (under the root being served)."""

    id: str
    version_id: str
    id_like: Tuple[str, ...] = ()
    pretty_name: str = ""

    def patch_id(self, name: str, version: str) -> str:
        """Azure's Linux patch id: ``<name>_<version>_<distro>_<distroVersion>``."""
        return "{}_{}_{}_{}".format(name, version, self.id, self.version_id)


@dataclass(frozen=True)
class Selection:
    """Which updates an installation may touch (``linuxParameters`` of installPatches)."""

    classifications: Tuple[str, ...]
    include: Tuple[str, ...] = ()
    exclude: Tuple[str, ...] = ()


@dataclass
class Warnings:
    """Non-fatal problems gathered during an operation, reported in the result's ``error``."""

    items: list = field(default_factory=list)  # type: ignore[type-arg]

    def add(self, code: str, message: str) -> None:
        self.items.append((code, message))
