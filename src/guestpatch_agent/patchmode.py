"""Apply the goal state's patch mode and assessment mode, and remember what was applied.

- ``patchMode`` **AutomaticByPlatform**: the OS's own auto-updaters are turned off (the platform
  patches); **ImageDefault**: they are restored exactly (``autoupdate.py``).
- ``assessmentMode`` needs nothing on the machine: the platform queues the periodic assessments as
  operations (origin Platform), which the daemon runs like any other. It is checked and recorded.

The outcome, ``{patchMode, assessmentMode, status: Succeeded|Failed, error, appliedAt}``, is saved to
``STATE_DIR/configuration.json`` and sent in every heartbeat. A mode pair that was applied
successfully is not applied again; a failed one is tried again when the goal state's modes change
or when the agent starts, not in a loop.
"""

import json
import logging
import os
import threading
from typing import Any, Dict, List, Optional, Protocol, Tuple

from guestpatch_agent.clock import Clock, format_time
from guestpatch_agent.errors import AgentError
from guestpatch_agent.state import write_atomically

FILE = "configuration.json"
LINUX_PATCH_MODES = ("ImageDefault", "AutomaticByPlatform")
ASSESSMENT_MODES = ("ImageDefault", "AutomaticByPlatform")
#: The protocol's limit for ``configuration.error`` (characters).
MAX_ERROR = 2000
SUCCEEDED = "Succeeded"
FAILED = "Failed"

log = logging.getLogger("guestpatch_agent.patchmode")


class AutoUpdates(Protocol):
    def configure(self, mode: str) -> Tuple[str, List[str]]:
        """Apply ``mode`` to the OS's auto-updaters; (automaticOSPatchState, changes)."""
        ...


class PatchModes:
    def __init__(self, state_dir: str, control: AutoUpdates, clock: Clock) -> None:
        self._path = os.path.join(state_dir, FILE)
        self._control = control
        self._clock = clock
        self._lock = threading.Lock()
        self._attempted: Optional[Tuple[str, str]] = None
        self._applied = self._load()

    def current(self) -> Optional[Dict[str, Any]]:
        """The heartbeat's ``configuration`` (None before the first application)."""
        with self._lock:
            return dict(self._applied) if self._applied else None

    def apply(self, patch_mode: str, assessment_mode: str) -> bool:
        """Apply the goal's modes if they differ from what was applied; True when something was done."""
        desired = (patch_mode, assessment_mode)
        with self._lock:
            applied = self._applied
            if self._attempted == desired:
                return False
            if applied and applied.get("status") == SUCCEEDED and (
                applied.get("patchMode"),
                applied.get("assessmentMode"),
            ) == desired:
                self._attempted = desired
                return False
            self._attempted = desired
        error = None
        changes: List[str] = []
        try:
            if patch_mode not in LINUX_PATCH_MODES:
                modes = " or ".join(LINUX_PATCH_MODES)
                raise AgentError("patch mode {!r} is not a Linux patch mode (use {})".format(patch_mode, modes))
            if assessment_mode not in ASSESSMENT_MODES:
                raise AgentError(
                    "assessment mode {!r} is unknown (use {})".format(assessment_mode, " or ".join(ASSESSMENT_MODES))
                )
            _, changes = self._control.configure(patch_mode)
        except (AgentError, OSError) as exc:
            error = (str(exc) or type(exc).__name__)[:MAX_ERROR]
        record = {
            "patchMode": patch_mode,
            "assessmentMode": assessment_mode,
            "status": FAILED if error else SUCCEEDED,
            "error": error,
            "appliedAt": format_time(self._clock.now()),
        }
        if error:
            log.error("configure-patching %s / %s failed: %s", patch_mode, assessment_mode, error)
        else:
            log.info("configure-patching %s / %s: %s", patch_mode, assessment_mode, "; ".join(changes) or "no change")
        write_atomically(self._path, json.dumps(record, sort_keys=True) + "\n")
        with self._lock:
            self._applied = record
        return True

    def _load(self) -> Optional[Dict[str, Any]]:
        try:
            with open(self._path, encoding="utf-8") as handle:
                data = json.load(handle)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.warning("%s is unreadable (%s): the modes are applied again", self._path, exc)
            return None
        keys = ("patchMode", "assessmentMode", "status", "error", "appliedAt")
        return {k: data.get(k) for k in keys} if isinstance(data, dict) else None
