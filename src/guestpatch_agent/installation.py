"""Installation: the persisted step machine that installs a selection within a time budget.

Each call of a step handler does one transition (one batch, one package, one reboot decision) and
the state is saved after it, so a crash or a reboot between any two steps resumes the same operation
(``state.py`` draws the steps). The flow:

1. **Assess**: refresh, list updates, select (classifications, masks), exclude dependents of
   excluded packages.
2. **Prepare**: repair an interrupted package database and say so.
3. **Install**: batches sized by the time budget, then each failed patch once on its own. Success is
   verified by re-querying installed versions, never by the exit code alone; patches installed
   silently as dependencies are credited. No transaction starts without the time it needs.
4. **Reboot**: per the reboot setting (``reboot.decide``); ``Started`` is saved before asking.
5. **Finish**: a last re-query, the counts, the status, Azure's result; reported once.
"""

from datetime import timedelta
from typing import Any, Callable, Dict, List, Optional, Sequence

from guestpatch_agent import state as steps
from guestpatch_agent.assessment import refresh_errors
from guestpatch_agent.budget import TimeBudget
from guestpatch_agent.clock import Clock
from guestpatch_agent.errors import AgentError
from guestpatch_agent.model import Distro, InstallationState, OperationStatus, Patch, RebootSetting, RebootStatus
from guestpatch_agent.pkgmgr.base import Backend
from guestpatch_agent.reboot import MAX_REBOOTS, Rebooter, boot_changed, decide
from guestpatch_agent.report import installation_result
from guestpatch_agent.selection import exclude_dependents, select
from guestpatch_agent.settings import DEFAULT_SETTINGS, AgentSettings
from guestpatch_agent.state import InstallState, StateStore

Progress = Callable[[Dict[str, Any]], None]


class InstallOperation:
    """Drives one :class:`InstallState` to ``Done`` through the injected ports."""

    def __init__(
        self,
        *,
        backend: Backend,
        distro: Distro,
        store: StateStore,
        clock: Clock,
        rebooter: Optional[Rebooter],
        boot_id: Callable[[], Optional[str]],
        settings: AgentSettings = DEFAULT_SETTINGS,
        progress: Optional[Progress] = None,
        refresh: bool = True,
    ) -> None:
        self._backend = backend
        self._distro = distro
        self._store = store
        self._clock = clock
        self._rebooter = rebooter
        self._boot_id = boot_id
        self._settings = settings
        self._progress = progress
        self._refresh = refresh
        self._handlers: Dict[str, Callable[[InstallState], None]] = {
            steps.STARTED: self._assess,
            steps.ASSESSED: self._prepare,
            steps.INSTALLING: self._install_next,
            steps.INSTALLED: self._decide_reboot,
            steps.REBOOT_PLANNED: self._reboot,
            steps.FINISHING: self._finish,
        }

    def run(self, state: InstallState, *, resumed: bool) -> InstallState:
        """Advance ``state`` to ``Done``, saving after every transition. ``resumed``: loaded from disk."""
        if resumed and state.step == steps.REBOOT_PLANNED:
            self._after_restart(state)
            self._save(state)
        elif resumed and state.step == steps.INSTALLING:
            self._repair(state)  # the crash may have interrupted dpkg/rpm mid-transaction
        while state.step != steps.DONE:
            self._handlers[state.step](state)
            self._save(state)
        return state

    def snapshot(self, state: InstallState) -> Dict[str, Any]:
        """The result as it stands (``InProgress`` until done): what a daemon reports as progress."""
        if state.result is not None:
            return state.result
        return self._result(state, OperationStatus.IN_PROGRESS)

    # ------------------------------------------------------------------ steps
    def _assess(self, state: InstallState) -> None:
        if self._refresh:
            for code, message in refresh_errors(self._backend, self._settings):
                state.add_error(code, message)
        try:
            updates = self._backend.list_updates(timeout=self._settings.query_timeout)
            patches = select(updates, state.request.selection)
            state.patches = exclude_dependents(
                patches,
                state.request.selection.exclude,
                lambda chosen: self._backend.simulate(chosen, timeout=self._settings.query_timeout),
            )
        except AgentError as exc:
            state.assessment_failed = True
            state.add_error("AssessmentFailed", "listing the available updates failed: {}".format(exc))
            state.step = steps.FINISHING
            return
        state.step = steps.ASSESSED

    def _prepare(self, state: InstallState) -> None:
        if any(p.state == InstallationState.PENDING for p in state.patches):
            self._repair(state)
        state.step = steps.INSTALLING

    def _repair(self, state: InstallState) -> None:
        try:
            message = self._backend.repair(timeout=self._budget(state).command_timeout(self._clock.now()))
        except AgentError as exc:
            message = "the package database needed a repair that failed: {}".format(exc)
        if message:
            state.add_error("PackageManagerRepaired", message)

    def _install_next(self, state: InstallState) -> None:
        now = self._clock.now()
        budget = self._budget(state)
        first = [p for p in state.patches if p.state == InstallationState.PENDING and p.attempts == 0]
        retry = [p for p in state.patches if p.state == InstallationState.FAILED and p.attempts == 1]
        if first:
            size = budget.batch_size(now, min(len(first), self._settings.batch_limit))
            batch = first[:size]
        elif retry:
            batch = retry[:1] if budget.can_start(now, 1) else []
        else:
            state.step = steps.INSTALLED
            return
        if not batch:
            left = len(first) + len(retry)
            state.window_exceeded = True
            state.add_error(
                "MaintenanceWindowExceeded",
                "stopped installing: the maintenance window has no time left for another transaction "
                "({} patch(es) not installed)".format(left),
            )
            state.step = steps.INSTALLED
            return
        for patch in batch:
            patch.attempts += 1
        error = None
        try:
            self._backend.install([p.update for p in batch], timeout=budget.command_timeout(now))
        except AgentError as exc:
            error = str(exc)
        self._verify(state, batch, error)

    def _verify(self, state: InstallState, batch: Sequence[Patch], error: Optional[str]) -> None:
        try:
            installed = self._backend.installed_versions(
                [p.name for p in state.patches], timeout=self._settings.query_timeout
            )
        except AgentError as exc:
            for patch in batch:
                patch.state = InstallationState.FAILED
                patch.reason = "cannot verify the installed version: {}".format(exc)
            return
        for patch in batch:
            now_installed = installed.get(patch.name)
            if now_installed == patch.update.version:
                patch.state, patch.reason = InstallationState.INSTALLED, None
            else:
                patch.state = InstallationState.FAILED
                patch.reason = error or "{} is at {} after the transaction, not {}".format(
                    patch.name, now_installed or "(not installed)", patch.update.version
                )
        _credit_installed(state.patches, installed, exclude=batch)

    def _decide_reboot(self, state: InstallState) -> None:
        now = self._clock.now()
        try:
            pending = self._backend.reboot_required(timeout=self._settings.query_timeout)
        except AgentError as exc:
            pending = True
            state.add_error("RebootCheckFailed", str(exc))
        state.reboot_pending = pending
        decision = decide(
            state.request.reboot_setting,
            pending=pending,
            reboots_done=state.reboot_count,
            can_reboot=self._rebooter is not None,
            time_left=self._budget(state).reboot_fits(now),
        )
        if decision.warning:
            state.add_error("RebootNotPerformed", decision.warning)
        if decision.reboot:
            state.reboot_status = RebootStatus.STARTED
            state.reboot_count += 1
            state.boot_id = self._boot_id()
            state.reboot_requested = now
            state.step = steps.REBOOT_PLANNED
            return
        state.reboot_status = decision.status
        if decision.warning and "window" in decision.warning:
            state.window_exceeded = True
        state.step = steps.FINISHING

    def _reboot(self, state: InstallState) -> None:
        assert self._rebooter is not None  # REBOOT_PLANNED is only entered with a rebooter
        try:
            self._rebooter.request_reboot("guestpatch: installation {}".format(state.activity_id))
        except AgentError as exc:
            state.reboot_status = RebootStatus.FAILED
            state.add_error("RebootFailed", str(exc))
            state.step = steps.FINISHING
            return
        self._clock.sleep(self._settings.reboot_wait)
        # Still running: the machine did not go down.
        state.reboot_status = RebootStatus.FAILED
        state.add_error(
            "RebootFailed",
            "the machine did not restart within {:.0f} s of the reboot request".format(self._settings.reboot_wait),
        )
        state.step = steps.FINISHING

    def _after_restart(self, state: InstallState) -> None:
        if boot_changed(state.boot_id, self._boot_id()):
            state.reboot_status = RebootStatus.COMPLETED
            state.step = steps.FINISHING
        elif state.reboot_count < MAX_REBOOTS and self._rebooter is not None:
            state.reboot_count += 1  # the agent stopped before the machine did: ask again
        else:
            state.reboot_status = RebootStatus.FAILED
            state.add_error(
                "RebootFailed", "the machine did not restart after {} request(s)".format(state.reboot_count)
            )
            state.step = steps.FINISHING

    def _finish(self, state: InstallState) -> None:
        if not state.assessment_failed:
            try:
                installed = self._backend.installed_versions(
                    [p.name for p in state.patches], timeout=self._settings.query_timeout
                )
                _credit_installed(state.patches, installed, exclude=())
                state.reboot_pending = self._backend.reboot_required(timeout=self._settings.query_timeout)
            except AgentError as exc:
                state.add_error("PackageManagerFailure", "the final check failed: {}".format(exc))
        for patch in state.patches:
            if patch.state == InstallationState.FAILED:
                state.add_error(
                    "PackageInstallFailed", "{} {}: {}".format(patch.name, patch.update.version, patch.reason)
                )
        failed = (
            state.assessment_failed
            or state.window_exceeded
            or state.reboot_status == RebootStatus.FAILED
            or any(p.state == InstallationState.FAILED for p in state.patches)
        )
        if failed:
            status = OperationStatus.FAILED
        elif state.errors:
            status = OperationStatus.COMPLETED_WITH_WARNINGS
        else:
            status = OperationStatus.SUCCEEDED
        state.finished = self._clock.now()
        state.result = self._result(state, status)
        state.step = steps.DONE

    # ------------------------------------------------------------------ helpers
    def _budget(self, state: InstallState) -> TimeBudget:
        average = float(getattr(self._backend, "average_package_seconds", 90.0))
        return TimeBudget(
            start=state.request.start,
            maximum=state.request.maximum_duration,
            reboot_allowed=state.request.reboot_setting != RebootSetting.NEVER and self._rebooter is not None,
            average=timedelta(seconds=average),
        )

    def _result(self, state: InstallState, status: str) -> Dict[str, Any]:
        return installation_result(
            activity_id=state.activity_id,
            status=status,
            started=state.request.start,
            reboot_status=state.reboot_status,
            window_exceeded=state.window_exceeded,
            patches=state.patches,
            distro=self._distro,
            errors=state.errors,
            failed=status == OperationStatus.FAILED,
        )

    def _save(self, state: InstallState) -> None:
        self._store.save(state)
        if self._progress is not None:
            self._progress(self.snapshot(state))


def _credit_installed(patches: List[Patch], installed: Dict[str, str], *, exclude: Sequence[Patch]) -> None:
    """Patches that the package manager installed as dependencies of others are Installed too."""
    skip = {id(p) for p in exclude}
    for patch in patches:
        if id(patch) in skip or patch.state == InstallationState.INSTALLED:
            continue
        if installed.get(patch.name) == patch.update.version:
            patch.state, patch.reason = InstallationState.INSTALLED, None
