"""``guestpatch-agent run``: the daemon that serves one enrolled machine.

::

    start ─► resume an interrupted installation ─► heartbeat ─┐
      ┌───────────────────────────────────────────────────────┘
      └► poll the goal state (If-None-Match, ?wait=longPollSeconds)
           200 ─► apply patchMode/assessmentMode if changed (then heartbeat)
                  offer each operation to the worker (one runs at a time)
                  poll again at once
           304 ─► poll again pollIntervalSeconds ± 20 % after this poll started
           5xx, no answer ─► back off (exponential, jittered, at most 5 min), poll again
           401 ─► asked once more after CONFIRM_REVOKED s (a replica that has not seen a fresh
                  enrollment yet); a second 401: the credential was revoked: say so, exit 3
           404 ─► the VM resource is gone: say so, exit 3
           other 4xx ─► we erred: say so, exit 1 (systemd restarts the agent later)

Heartbeats, keepalive reports of the running operation and health probes run on their own thread
(``pulse.py``); operations run on the worker's thread (``work.py``); reports go through the outbox
(``outbox.py``). ``--once`` does one poll (no wait), the work it lists, and a last heartbeat.
"""

import logging
import random
import threading
import time
from typing import Any, Callable, Dict, Optional

from guestpatch_agent import __version__
from guestpatch_agent.errors import CredentialRevoked, RequestRejected, ServerError
from guestpatch_agent.health import parse_probe
from guestpatch_agent.outbox import Outbox
from guestpatch_agent.patchmode import PatchModes
from guestpatch_agent.protocol import ControlPlane
from guestpatch_agent.pulse import Pulse, backoff, jittered
from guestpatch_agent.work import Worker

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_ENROLL = 3  # not enrolled, credential revoked, VM deleted: enroll again (systemd does not restart)

DEFAULT_POLL_INTERVAL = 60
DEFAULT_LONG_POLL = 50
#: A 401 is confirmed once after this many seconds before the daemon gives up on its credential.
CONFIRM_REVOKED = 5.0
#: After a goal state that changed, the next poll waits at least this long (no tight loop on a bad server).
MIN_POLL_GAP = 1.0

log = logging.getLogger("guestpatch_agent.daemon")


def older_than(version: str, minimum: str) -> bool:
    """``1.2.3`` < ``1.10.0``; versions that do not parse are never called old."""

    def parts(text: str) -> Optional[tuple]:  # type: ignore[type-arg]
        try:
            return tuple(int(p) for p in text.split("+", 1)[0].split("-", 1)[0].split("."))
        except ValueError:
            return None

    mine, least = parts(version), parts(minimum)
    return mine is not None and least is not None and mine < least


class Stopped(BaseException):
    """SIGTERM/SIGINT: leave the loop (the step machine is saved; the next start resumes)."""


class Daemon:
    def __init__(
        self,
        *,
        plane: ControlPlane,
        worker: Worker,
        outbox: Outbox,
        modes: PatchModes,
        pulse: Pulse,
        rng: random.Random,
        monotonic: Callable[[], float] = time.monotonic,
        wait: Optional[Callable[[float], None]] = None,
    ) -> None:
        self._plane = plane
        self._worker = worker
        self._outbox = outbox
        self._modes = modes
        self._pulse = pulse
        self._rng = rng
        self._monotonic = monotonic
        self._wait = wait or threading.Event().wait
        self._poll_interval: float = DEFAULT_POLL_INTERVAL
        self._long_poll: float = DEFAULT_LONG_POLL
        self._warned_version = False

    def run(self, *, once: bool = False) -> int:
        """Serve until stopped (or one round with ``once``); the exit code."""
        self._pulse.start()
        try:
            self._worker.resume_unfinished()
            code = self._serve(once=once)
        except Stopped:
            log.info("stopping")
            self._pulse.stop(final_beat=False)
            return EXIT_OK
        if once and code == EXIT_OK:
            self._worker.wait()
            self._outbox.flush()
            self._pulse.stop(final_beat=True)
        else:
            self._pulse.stop(final_beat=False)
        return code

    def _serve(self, *, once: bool) -> int:
        etag: Optional[str] = None
        failures = 0
        refused = False
        while True:
            started = self._monotonic()
            wait = 0 if once or etag is None else self._long_poll
            try:
                tag, goal = self._plane.goal_state(etag, wait=wait)
            except CredentialRevoked as exc:
                if refused:
                    return self._revoked(exc)
                refused = True
                log.warning("the machine credential was refused; asking again in %.0f s: %s", CONFIRM_REVOKED, exc)
                self._wait(CONFIRM_REVOKED)
                continue
            except RequestRejected as exc:
                if exc.status == 404:
                    log.error("the server no longer knows this machine's VM resource (%s): enroll again", exc)
                    return EXIT_ENROLL
                log.error("the goal-state request was refused (we erred, not retried): %s", exc)
                return EXIT_FAILED
            except ServerError as exc:
                if once:
                    log.error("cannot read the goal state: %s", exc)
                    return EXIT_FAILED
                delay = backoff(failures, self._rng)
                failures += 1
                log.warning("cannot read the goal state (attempt %d; again in %.0f s): %s", failures, delay, exc)
                self._wait(delay)
                continue
            if failures:
                log.info("the control plane answers again")
            failures, refused = 0, False
            self._outbox.flush()
            if goal is not None:
                etag = tag
                self._apply(goal)
            if once:
                return EXIT_OK
            if goal is None:
                self._wait(max(0.0, started + jittered(self._poll_interval, self._rng) - self._monotonic()))
            else:
                self._wait(max(0.0, started + MIN_POLL_GAP - self._monotonic()))

    def _apply(self, goal: Dict[str, Any]) -> None:
        self._poll_interval = _seconds(goal.get("pollIntervalSeconds"), DEFAULT_POLL_INTERVAL, 1, 86400)
        self._long_poll = _seconds(goal.get("longPollSeconds"), DEFAULT_LONG_POLL, 0, 300)
        self._pulse.configure(self._poll_interval, parse_probe(goal.get("healthProbe")))
        minimum = goal.get("minimumAgentVersion")
        if isinstance(minimum, str) and older_than(__version__, minimum) and not self._warned_version:
            log.warning("this agent %s is older than the server's minimum %s: it gets no work", __version__, minimum)
            self._warned_version = True
        patch_mode, assessment_mode = goal.get("patchMode"), goal.get("assessmentMode")
        if isinstance(patch_mode, str) and isinstance(assessment_mode, str) and self._modes.apply(
            patch_mode, assessment_mode
        ):
            self._pulse.beat_soon()
        operations = goal.get("operations")
        self._worker.offer([o for o in operations if isinstance(o, dict)] if isinstance(operations, list) else [])

    @staticmethod
    def _revoked(exc: CredentialRevoked) -> int:
        log.error(
            "the server refused this machine's credential: it was revoked, or the machine enrolled again "
            "elsewhere; run guestpatch-agent enroll (%s)", exc,
        )  # fmt: skip
        return EXIT_ENROLL


def _seconds(value: Any, default: float, least: float, most: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not least <= value <= most:
        return default
    return float(value)
