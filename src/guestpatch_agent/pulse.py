"""The daemon's background beat: heartbeats, keepalive reports of the running operation, health probes.

One thread, three schedules (seconds on a monotonic clock):

- **heartbeat** at start, at least every ``pollIntervalSeconds`` (± 20 % jitter), and at once when
  :meth:`Pulse.beat_soon` is called (a configuration was applied) or the health state changes;
  a heartbeat that fails is tried again after a backoff (as the poll's), at most ``interval`` later;
- **keepalive**: while an operation runs, an InProgress report every ``pollIntervalSeconds`` (the
  server fails operations whose agent is silent for its ``operation_progress_timeout``);
- **health probe** every ``intervalSeconds`` of the goal state's ``healthProbe``.
"""

import logging
import random
import threading
import time
from typing import Any, Callable, Dict, Optional

from guestpatch_agent import health
from guestpatch_agent.clock import Clock, format_time
from guestpatch_agent.errors import CredentialRevoked, RequestRejected, ServerError
from guestpatch_agent.health import ProbeSpec
from guestpatch_agent.protocol import ControlPlane

BACKOFF_BASE = 2.0
BACKOFF_CAP = 300.0

log = logging.getLogger("guestpatch_agent.pulse")


def jittered(interval: float, rng: random.Random) -> float:
    """``interval`` ± 20 %, uniformly (so a fleet started together spreads out)."""
    return interval * (0.8 + 0.4 * rng.random())


def backoff(attempt: int, rng: random.Random, *, base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP) -> float:
    """Seconds to wait after ``attempt`` failures in a row (0-based): between half and all of
    ``min(cap, base * 2**attempt)``, so a fleet cut off together does not come back together."""
    ceiling = min(cap, base * float(2 ** min(attempt, 30)))
    return ceiling / 2 + rng.random() * ceiling / 2


class Pulse:
    def __init__(
        self,
        *,
        plane: ControlPlane,
        body: Callable[[Optional[Dict[str, Any]]], Dict[str, Any]],
        keepalive: Callable[[], None],
        busy: Callable[[], Optional[str]],
        clock: Clock,
        rng: random.Random,
        interval: float,
        probe: Callable[[ProbeSpec], str] = health.check,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._plane = plane
        self._body = body
        self._keepalive = keepalive
        self._busy = busy
        self._clock = clock
        self._rng = rng
        self._probe_once = probe
        self._monotonic = monotonic
        self._interval = interval
        self._spec: Optional[ProbeSpec] = None
        self._health: Optional[Dict[str, Any]] = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._next_beat = 0.0
        self._next_keepalive = 0.0
        self._next_probe = 0.0
        self._beat_failures = 0
        self._thread: Optional[threading.Thread] = None

    # ------------------------------------------------------------------ control
    def configure(self, interval: float, spec: Optional[ProbeSpec]) -> None:
        """The goal state's poll interval and health probe (a new probe is probed at once)."""
        with self._lock:
            if interval != self._interval:
                self._interval = interval
                self._next_keepalive = min(self._next_keepalive, self._monotonic() + interval)
            if spec != self._spec:
                self._spec = spec
                self._next_probe = 0.0
                if spec is None and self._health is not None:
                    self._health = None
                    self._next_beat = 0.0
        self._wake.set()

    def beat_soon(self) -> None:
        with self._lock:
            self._next_beat = 0.0
        self._wake.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="pulse", daemon=True)
        self._thread.start()

    def stop(self, *, final_beat: bool) -> None:
        """Stop the thread; with ``final_beat``, probe (if a probe is set) and send one last heartbeat."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
        if final_beat:
            if self._spec is not None and self._health is None:
                self._probe()
            self._beat()

    # ------------------------------------------------------------------ the loop
    def _loop(self) -> None:
        while not self._stop.is_set():
            now = self._monotonic()
            with self._lock:
                beat_due = now >= self._next_beat
                keepalive_due = now >= self._next_keepalive
                probe_due = self._spec is not None and now >= self._next_probe
            if probe_due and self._probe():
                beat_due = True
            if beat_due:
                sent = self._beat()
                with self._lock:
                    if sent:
                        self._beat_failures, delay = 0, jittered(self._interval, self._rng)
                    else:
                        delay = min(self._interval, backoff(self._beat_failures, self._rng))
                        self._beat_failures += 1
                    self._next_beat = self._monotonic() + delay
            if keepalive_due:
                if self._busy() is not None:
                    self._keepalive()
                with self._lock:
                    self._next_keepalive = self._monotonic() + self._interval
            with self._lock:
                upcoming = [self._next_beat, self._next_keepalive]
                if self._spec is not None:
                    upcoming.append(self._next_probe)
            self._wake.wait(max(0.05, min(upcoming) - self._monotonic()))
            self._wake.clear()

    def _probe(self) -> bool:
        """Probe once; True when the state changed (a heartbeat is then due at once)."""
        with self._lock:
            spec = self._spec
        if spec is None:
            return False
        state = self._probe_once(spec)
        with self._lock:
            self._next_probe = self._monotonic() + spec.interval
            changed = self._health is None or self._health.get("state") != state
            self._health = {"state": state, "probe": spec.target, "checkedAt": format_time(self._clock.now())}
        if changed:
            log.info("health probe %s: %s", spec.target, state)
        return changed

    def _beat(self) -> bool:
        with self._lock:
            current = dict(self._health) if self._health else None
        try:
            self._plane.heartbeat(self._body(current))
            return True
        except CredentialRevoked as exc:  # the goal-state poll decides whether the credential is gone
            log.error("heartbeat refused: the machine credential is not valid: %s", exc)
        except RequestRejected as exc:
            log.error("heartbeat refused (we erred; not retried as is): %s", exc)
            return True
        except ServerError as exc:
            log.warning("heartbeat not sent (will retry): %s", exc)
        return False
