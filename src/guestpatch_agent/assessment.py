"""Assessment: refresh the repositories, list the available updates with their classifications.

A repository that cannot be reached does not silently shrink the list: the assessment completes with
warnings naming it (the old metadata is used where the package manager keeps it), or fails when the
updates cannot be listed at all. A non-zero exit with nothing parsed is an error, never "no updates".
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Dict, List, Tuple

from guestpatch_agent.clock import Clock
from guestpatch_agent.errors import AgentError, RepositoryUnreachable
from guestpatch_agent.model import Distro, OperationStatus, Update
from guestpatch_agent.pkgmgr.base import Backend
from guestpatch_agent.report import assessment_result
from guestpatch_agent.settings import DEFAULT_SETTINGS, AgentSettings


@dataclass
class Assessment:
    activity_id: str
    started: datetime
    finished: datetime
    status: str
    reboot_pending: bool
    updates: List[Update] = field(default_factory=list)
    errors: List[Tuple[str, str]] = field(default_factory=list)

    def to_result(self, distro: Distro) -> Dict[str, Any]:
        """``VirtualMachineAssessPatchesResult``."""
        return assessment_result(
            activity_id=self.activity_id,
            status=self.status,
            started=self.started,
            finished=self.finished,
            reboot_pending=self.reboot_pending,
            updates=self.updates,
            distro=distro,
            errors=self.errors,
            failed=self.status == OperationStatus.FAILED,
        )


def refresh_errors(backend: Backend, settings: AgentSettings) -> List[Tuple[str, str]]:
    """Refresh the repository metadata; problems come back as (code, message), never raised."""
    try:
        return [("PackageManagerWarning", w) for w in backend.refresh(timeout=settings.refresh_timeout)]
    except RepositoryUnreachable as exc:
        return [("RepositoryUnreachable", str(exc))]
    except AgentError as exc:
        return [("PackageManagerFailure", "refreshing the repositories failed: {}".format(exc))]


def assess(
    backend: Backend,
    *,
    clock: Clock,
    activity_id: str,
    refresh: bool = True,
    settings: AgentSettings = DEFAULT_SETTINGS,
) -> Assessment:
    started = clock.now()
    errors = refresh_errors(backend, settings) if refresh else []
    updates: List[Update] = []
    failed = False
    try:
        updates = backend.list_updates(timeout=settings.query_timeout)
    except AgentError as exc:
        failed = True
        errors.append(("AssessmentFailed", "listing the available updates failed: {}".format(exc)))
    try:
        reboot_pending = backend.reboot_required(timeout=settings.query_timeout)
    except AgentError as exc:
        reboot_pending = True  # LPE's rule: when the check fails, assume a reboot is pending
        errors.append(("RebootCheckFailed", str(exc)))
    if failed:
        status = OperationStatus.FAILED
    elif errors:
        status = OperationStatus.COMPLETED_WITH_WARNINGS
    else:
        status = OperationStatus.SUCCEEDED
    return Assessment(activity_id, started, clock.now(), status, reboot_pending, updates, errors)
