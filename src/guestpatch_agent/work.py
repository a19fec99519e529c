"""Run the goal state's operations on this machine, one at a time, and report them through the outbox.

- ``assessPatches`` → :func:`~guestpatch_agent.assessment.assess`, then the
  ``VirtualMachineAssessPatchesResult`` as the final report.
- ``installPatches`` → the persisted step machine (:class:`~guestpatch_agent.installation.InstallOperation`)
  with the request's parameters; ``maximumDuration`` counts from the operation's ``requestedAt``.
  Every saved transition sends an InProgress report with the result so far; the final result is
  saved in the outbox *before* the step machine's state is archived, so a crash in between neither
  loses nor repeats it.

The installation's activity id is the operation id. At start, :meth:`Worker.resume_unfinished`
finishes an installation interrupted by a reboot or a crash: one this daemon started is reported to
the server; one started by a local ``guestpatch-agent install`` is printed, as ``resume`` would.
Invalid parameters, a machine without a usable package manager, or an unexpected error end the
operation Failed with a reason; nothing is left running silently.

A machine served ``--assessment-only`` (``Machine.installations`` false) runs assessments only: every
``installPatches`` ends Failed with ``InstallationRefused`` before anything is looked at, and an
interrupted installation is left as it is (logged), never resumed.
"""

import functools
import json
import logging
import sys
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Dict, List, Optional, TextIO, Tuple

from guestpatch_agent import state as steps
from guestpatch_agent.assessment import assess
from guestpatch_agent.budget import parse_duration
from guestpatch_agent.clock import Clock, format_time, parse_time
from guestpatch_agent.errors import AgentError, StateError
from guestpatch_agent.installation import InstallOperation
from guestpatch_agent.model import Distro, OperationStatus, RebootSetting, RebootStatus, Selection
from guestpatch_agent.outbox import Outbox
from guestpatch_agent.pkgmgr.base import Backend, Root
from guestpatch_agent.reboot import Rebooter, read_boot_id
from guestpatch_agent.report import assessment_result, installation_result
from guestpatch_agent.selection import parse_classifications, parse_mask
from guestpatch_agent.settings import AgentSettings
from guestpatch_agent.state import InstallRequest, InstallState, StateStore

ASSESS = "assessPatches"
INSTALL = "installPatches"
KINDS = (ASSESS, INSTALL)

log = logging.getLogger("guestpatch_agent.work")


@dataclass
class Machine:
    """The ports an operation needs. ``backend`` is detected when first needed (and may fail then)."""

    root: Root
    distro: Distro
    state_dir: str
    clock: Clock
    settings: AgentSettings
    rebooter: Optional[Rebooter]
    backend: Callable[[], Backend]
    installations: bool = True  # False: assessment-only, every installPatches is refused
    refresh: bool = True  # False: assessments read the package lists as they are (no root needed)


#: Why an assessment-only agent refuses an installation (the operation's error message).
REFUSED = (
    "this machine's agent runs assessment-only (guestpatch-agent run --assessment-only): installations are refused"
)


def install_request(operation: Dict[str, Any]) -> InstallRequest:
    """The :class:`InstallRequest` of an ``installPatches`` operation; :class:`AgentError` names a bad field."""
    params = operation.get("parameters")
    if not isinstance(params, dict):
        raise AgentError("the operation has no parameters object")
    duration = params.get("maximumDuration")
    if not isinstance(duration, str):
        raise AgentError("parameters.maximumDuration is missing")
    reboot = params.get("rebootSetting", RebootSetting.IF_REQUIRED)
    setting = next((s for s in RebootSetting.ALL if isinstance(reboot, str) and s.lower() == reboot.lower()), None)
    if setting is None:
        raise AgentError("parameters.rebootSetting {!r} is not one of {}".format(reboot, ", ".join(RebootSetting.ALL)))
    linux = params.get("linuxParameters") or {}
    if not isinstance(linux, dict):
        raise AgentError("parameters.linuxParameters must be an object")

    def strings(key: str) -> Tuple[str, ...]:
        value = linux.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise AgentError("parameters.linuxParameters.{} must be a list of strings".format(key))
        return tuple(value)

    classifications = parse_classifications(strings("classificationsToInclude"))
    include = tuple(parse_mask(m).text for m in strings("packageNameMasksToInclude"))
    exclude = tuple(parse_mask(m).text for m in strings("packageNameMasksToExclude"))
    if not classifications and not include:
        raise AgentError("the installation selects nothing: no classification and no package to include")
    try:
        start = parse_time(str(operation.get("requestedAt")))
    except ValueError as exc:
        raise AgentError("requestedAt is not a time: {}".format(exc)) from exc
    return InstallRequest(parse_duration(duration), setting, Selection(classifications, include, exclude), start)


def failure_result(
    kind: str, operation_id: str, code: str, message: str, *, distro: Distro, when: datetime
) -> Dict[str, Any]:
    """A Failed result of ``kind`` that says why, in Azure's shape."""
    errors = [(code, message)]
    if kind == ASSESS:
        return assessment_result(
            activity_id=operation_id, status=OperationStatus.FAILED, started=when, finished=when,
            reboot_pending=False, updates=[], distro=distro, errors=errors, failed=True,
        )  # fmt: skip
    return installation_result(
        activity_id=operation_id, status=OperationStatus.FAILED, started=when, reboot_status=RebootStatus.UNKNOWN,
        window_exceeded=False, patches=[], distro=distro, errors=errors, failed=True,
    )  # fmt: skip


class Worker:
    """Runs one operation at a time: in a thread (the daemon) or in the caller (``run --once``)."""

    def __init__(self, machine: Machine, outbox: Outbox, *, threaded: bool = True, out: TextIO = sys.stdout) -> None:
        self._machine = machine
        self._outbox = outbox
        self._threaded = threaded
        self._out = out
        self._lock = threading.Lock()
        self._busy: Optional[str] = None
        self._queue: List[Dict[str, Any]] = []
        self._latest: Optional[Dict[str, Any]] = None
        self._thread: Optional[threading.Thread] = None

    # ------------------------------------------------------------------ what the daemon asks
    def busy(self) -> Optional[str]:
        with self._lock:
            return self._busy

    def keepalive(self) -> None:
        """An InProgress report of the running operation (the latest result so far), if one runs."""
        with self._lock:
            operation_id, latest = self._busy, self._latest
        if operation_id is not None and self._outbox.knows(operation_id):
            self._outbox.progress(operation_id, latest)

    def wait(self) -> None:
        """Until no operation runs (the queue drained)."""
        while True:
            thread = self._thread
            if thread is None:
                return
            thread.join()
            with self._lock:
                if self._thread is thread and self._busy is None:
                    return

    def offer(self, operations: List[Dict[str, Any]]) -> None:
        """The goal state's operations (oldest first): they replace the queue, which is then served.

        One operation runs at a time; when it ends, the next one of the latest goal state starts (an
        operation queued while another runs is not lost). Each is started, resumed, has its saved
        report resent, or is skipped when its report was answered.
        """
        queue = []
        for operation in operations:
            operation_id, kind = operation.get("id"), operation.get("kind")
            if isinstance(operation_id, str) and operation_id and kind in KINDS:
                queue.append(operation)
            else:
                log.error("the goal state lists an operation this agent cannot run (ignored): %r", operation)
        with self._lock:
            self._queue = queue
        self._serve_queue()

    def _serve_queue(self) -> None:
        with self._lock:
            if self._busy is not None:
                return
            queue = list(self._queue)
        for operation in queue:
            operation_id, kind = str(operation["id"]), str(operation["kind"])
            record = self._outbox.record(operation_id)
            if record is not None and record.get("delivered"):
                continue  # reported; the server drops it from the goal state
            if record is not None and record.get("final") is not None:
                self._outbox.deliver(operation_id)
                continue
            self._start(operation_id, functools.partial(self._run, operation_id, kind, operation))
            return

    def resume_unfinished(self) -> None:
        """Finish an installation that a reboot or a crash interrupted (see the module docstring)."""
        store = StateStore(self._machine.state_dir)
        try:
            state = store.load()
        except StateError as exc:
            log.error("the saved installation cannot be resumed: %s", exc)
            return
        if state is None or state.reported:
            return
        if not self._machine.installations:
            log.warning("installation %s is unfinished; assessment-only: it is left as it is", state.activity_id)
            return
        if self._outbox.knows(state.activity_id):
            log.info("resuming installation %s (step %s)", state.activity_id, state.step)
            self._start(state.activity_id, lambda: self._guarded(state.activity_id, INSTALL,
                                                                 lambda: self._installation(state, resumed=True)))
        else:
            log.info("finishing local installation %s (step %s)", state.activity_id, state.step)
            self._start(state.activity_id, lambda: self._local(state))

    # ------------------------------------------------------------------ running
    def _start(self, operation_id: str, target: Callable[[], None]) -> None:
        with self._lock:
            if self._busy is not None:
                return
            self._busy, self._latest = operation_id, None

        def body() -> None:
            try:
                target()
            finally:
                with self._lock:
                    self._busy, self._latest = None, None
            self._serve_queue()

        if self._threaded:
            self._thread = threading.Thread(target=body, name="operation-" + operation_id[:8], daemon=True)
            self._thread.start()
        else:
            body()

    def _run(self, operation_id: str, kind: str, operation: Dict[str, Any]) -> None:
        def work() -> None:
            if kind == ASSESS:
                self._assess(operation_id)
            else:
                self._install(operation_id, operation)

        if kind == INSTALL and not self._machine.installations:
            self._refuse(operation_id)
            return
        self._guarded(operation_id, kind, work)

    def _refuse(self, operation_id: str) -> None:
        now = self._machine.clock.now()
        log.warning("installPatches %s refused: assessment-only", operation_id)
        self._outbox.begin(operation_id, INSTALL, format_time(now))
        result = failure_result(INSTALL, operation_id, "InstallationRefused", REFUSED, distro=self._machine.distro,
                                when=now)  # fmt: skip
        self._outbox.finish(operation_id, INSTALL, format_time(now), result)

    def _guarded(self, operation_id: str, kind: str, work: Callable[[], None]) -> None:
        now = self._machine.clock.now()
        self._outbox.begin(operation_id, kind, format_time(now))
        try:
            work()
            return
        except AgentError as exc:
            code, message = "OperationFailed", str(exc)
            log.error("%s %s failed: %s", kind, operation_id, message)
        except Exception as exc:  # a bug must end the operation with a reason, not leave it hanging
            code, message = "AgentInternalError", "{}: {}".format(type(exc).__name__, exc)
            log.exception("%s %s stopped by an unexpected error", kind, operation_id)
        result = failure_result(kind, operation_id, code, message, distro=self._machine.distro, when=now)
        self._outbox.finish(operation_id, kind, format_time(now), result)

    def _assess(self, operation_id: str) -> None:
        machine = self._machine
        self._outbox.progress(operation_id, None)
        log.info("assessPatches %s: assessing", operation_id)
        result = assess(machine.backend(), clock=machine.clock, activity_id=operation_id, refresh=machine.refresh,
                        settings=machine.settings).to_result(machine.distro)  # fmt: skip
        self._outbox.finish(operation_id, ASSESS, _started(self._outbox, operation_id, machine.clock), result)

    def _install(self, operation_id: str, operation: Dict[str, Any]) -> None:
        request = install_request(operation)
        store = StateStore(self._machine.state_dir)
        try:
            existing = store.load()
        except StateError as exc:
            log.error("the saved installation is unreadable and is replaced: %s", exc)
            existing = None
        if existing is not None and existing.activity_id == operation_id and not existing.reported:
            state, resumed = existing, True
        else:
            if existing is not None:
                if existing.step != steps.DONE:
                    replaced = "installation {} replaced this unfinished one".format(operation_id)
                    existing.add_error("Superseded", replaced)
                store.archive(existing)
            state, resumed = InstallState(operation_id, request), False
            store.save(state)
        log.info("installPatches %s: %s", operation_id, "resuming" if resumed else "installing")
        self._outbox.progress(operation_id, None)
        self._installation(state, resumed=resumed)

    def _installation(self, state: InstallState, *, resumed: bool) -> None:
        operation_id = state.activity_id
        if state.step != steps.DONE:
            state = self._operation(lambda snapshot: self._progress(operation_id, snapshot)).run(state, resumed=resumed)
        assert state.result is not None
        started = _started(self._outbox, operation_id, self._machine.clock)
        self._outbox.finish(operation_id, INSTALL, started, state.result)
        self._archive(state)

    def _local(self, state: InstallState) -> None:
        try:
            if state.step != steps.DONE:
                state = self._operation(None).run(state, resumed=True)
        except AgentError as exc:
            log.error("the local installation %s could not be finished: %s", state.activity_id, exc)
            return
        assert state.result is not None
        self._out.write(json.dumps(state.result, indent=2) + "\n")
        self._out.flush()
        self._archive(state)

    def _operation(self, progress: Optional[Callable[[Dict[str, Any]], None]]) -> InstallOperation:
        machine = self._machine
        return InstallOperation(
            backend=machine.backend(), distro=machine.distro, store=StateStore(machine.state_dir),
            clock=machine.clock, rebooter=machine.rebooter, boot_id=lambda: read_boot_id(machine.root),
            settings=machine.settings, progress=progress,
        )  # fmt: skip

    def _archive(self, state: InstallState) -> None:
        store = StateStore(self._machine.state_dir)
        state.reported = True
        store.save(state)
        store.archive(state)

    def _progress(self, operation_id: str, snapshot: Dict[str, Any]) -> None:
        if snapshot.get("status") != OperationStatus.IN_PROGRESS:
            return  # the final result goes out once, through finish()
        with self._lock:
            self._latest = snapshot
        self._outbox.progress(operation_id, snapshot)


def _started(outbox: Outbox, operation_id: str, clock: Clock) -> str:
    record = outbox.record(operation_id) or {}
    return str(record.get("startedAt") or format_time(clock.now()))
