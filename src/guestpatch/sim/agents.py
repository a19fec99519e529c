"""Simulated agents: what each machine does with a command, drawn from documented distributions.

Every draw comes from a generator seeded with ``(seed, machine, command key)``, so a machine answers
the same command the same way however often and in whatever order it is asked: a restarted engine
that re-sends a command sees the same outcome, and runs with the same seed are identical.

Distributions (``docs/simulator.md``):

- installation duration: log-normal, median 8 min, sigma 0.5 (p99 ~ 26 min), at least 1 min;
  longer than the command's maximum duration -> ``WindowExceeded`` at the maximum duration;
- installation failure: 0.5 % of attempts, reported at the end of the installation;
- reboot: needed after 70 % of installations, 1-4 min (uniform); 0.1 % never come back (the engine's
  report timeout fails them);
- health: 0.3 % of attempts turn unhealthy 1-8 min after coming back; with ``bad_release`` every
  machine that installs turns unhealthy 1-3 min after coming back;
- power: 3 % of machines are off for a spell starting 0-10 days into the run and lasting 1-6 days
  (uniform); the platform answers a command for a machine that is off within a minute (``PoweredOff``);
- assessment: answered after 1-3 min with the release's patches for the machine's OS key.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from guestpatch.core.records import AgentReport, Command
from guestpatch.core.records import ReportKind as K
from guestpatch.testing import InMemoryAgentGateway


@dataclass(frozen=True)
class AgentModel:
    """The distributions' parameters (defaults as documented above)."""

    install_median_min: float = 8.0
    install_sigma: float = 0.5
    install_failure: float = 0.005
    reboot_share: float = 0.7
    reboot_min: tuple[float, float] = (1.0, 4.0)
    lost_after_reboot: float = 0.001
    unhealthy: float = 0.003
    power_off_share: float = 0.03
    power_off_start_days: tuple[float, float] = (0.0, 10.0)
    power_off_days: tuple[float, float] = (1.0, 6.0)


@dataclass
class SimulatedAgents:
    """The fleet's agents: take commands from the gateway, deliver reports when their time comes."""

    names: list[str]
    os_of: list[str]
    release: dict[str, tuple[tuple[str, str, str], ...]]
    start: datetime
    seed: int
    bad_release: bool = False
    model: AgentModel = field(default_factory=AgentModel)
    drift: dict[str, dict[str, str]] = field(default_factory=dict)
    drift_at: datetime | None = None

    def __post_init__(self) -> None:
        self._index = {n: i for i, n in enumerate(self.names)}
        self._events: list[tuple[float, int, AgentReport]] = []
        self._counter = 0
        self.installs: dict[str, list[Command]] = {}
        self.touched: set[str] = set()
        self.off: dict[int, tuple[float, float]] = {}
        rng = random.Random(f"{self.seed}:power")  # noqa: S311 - simulation draws, not secrets
        base = self.start.timestamp()
        m = self.model
        for i in range(len(self.names)):
            if rng.random() < m.power_off_share:
                begin = base + rng.uniform(*m.power_off_start_days) * 86_400
                self.off[i] = (begin, begin + rng.uniform(*m.power_off_days) * 86_400)

    def powered_on(self, i: int, t: float) -> bool:
        spell = self.off.get(i)
        return spell is None or not spell[0] <= t < spell[1]

    def accept(self, commands: list[Command], now: datetime) -> None:
        for command in commands:
            self._accept(command, now)

    def _accept(self, c: Command, now: datetime) -> None:
        i = self._index[c.machine]
        t = now.timestamp()
        rng = random.Random(f"{self.seed}:{c.key}")  # noqa: S311 - simulation draws, not secrets
        if not self.powered_on(i, t):
            self._emit(c, K.POWERED_OFF, t + 60)
            return
        if c.kind == "assess":
            self._emit(c, K.ASSESSED, t + rng.uniform(60, 180), offers=self._offers(i, now))
            return
        m = self.model
        self.installs.setdefault(c.machine, []).append(c)
        self.touched.add(c.machine)
        duration = max(60.0, rng.lognormvariate(0.0, m.install_sigma) * m.install_median_min * 60)
        if duration > c.max_duration_s:
            self._emit(c, K.WINDOW_EXCEEDED, t + c.max_duration_s)
            return
        done = t + duration
        if rng.random() < m.install_failure:
            self._emit(c, K.INSTALL_FAILED, done, detail="simulated package manager error")
            return
        missing = self._not_offered(i, c, now)
        back = done
        if rng.random() < m.reboot_share:
            self._emit(c, K.INSTALLED_REBOOTING, done, not_offered=missing)
            if rng.random() < m.lost_after_reboot:
                return
            back = done + rng.uniform(*m.reboot_min) * 60
            self._emit(c, K.BACK, back)
        else:
            self._emit(c, K.INSTALLED, done, not_offered=missing)
        if self.bad_release:
            self._emit(c, K.UNHEALTHY, back + rng.uniform(60, 180), detail="(bad release)")
        elif rng.random() < m.unhealthy:
            self._emit(c, K.UNHEALTHY, back + rng.uniform(60, 480))

    def _offers(self, i: int, now: datetime) -> tuple[tuple[str, str, str], ...]:
        os_key = self.os_of[i]
        offers = {n: (v, c) for n, v, c in self.release.get(os_key, ())}
        if self.drift_at is not None and now >= self.drift_at:
            for name, version in self.drift.get(os_key, {}).items():
                if name in offers:
                    offers[name] = (version, offers[name][1])
        return tuple((n, v, c) for n, (v, c) in sorted(offers.items()))

    def _not_offered(self, i: int, c: Command, now: datetime) -> tuple[str, ...]:
        offered = {(n, v) for n, v, _ in self._offers(i, now)}
        names = {n for n, _ in offered}
        out = []
        for pin in c.pins:
            name, _, version = pin.partition("=")
            if name in names and (name, version) not in offered:
                out.append(pin)
        return tuple(out)

    def _emit(self, c: Command, kind: K, at: float, *, not_offered: tuple[str, ...] = (),
              offers: tuple[tuple[str, str, str], ...] = (), detail: str = "") -> None:
        self._counter += 1
        when = datetime.fromtimestamp(at, self.start.tzinfo)
        report = AgentReport(id=f"{c.key}#{kind}", key=c.key, machine=c.machine, kind=kind, at=when,
                             not_offered=not_offered, offers=offers, detail=detail)
        heapq.heappush(self._events, (at, self._counter, report))

    def deliver(self, now: datetime, gateway: InMemoryAgentGateway) -> int:
        """Hand every report due by ``now`` to the gateway; returns how many."""
        t = now.timestamp()
        n = 0
        while self._events and self._events[0][0] <= t:
            _, _, report = heapq.heappop(self._events)
            gateway.deliver(report)
            n += 1
        return n

    def next_time(self) -> datetime | None:
        if not self._events:
            return None
        return datetime.fromtimestamp(self._events[0][0], self.start.tzinfo) + timedelta(0)
