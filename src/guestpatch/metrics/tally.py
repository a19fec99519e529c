"""Histograms kept by each server process, and how the processes' figures are added up.

A :class:`Tally` is a histogram by label values, in plain Python lists: observing a duration is a
bisection and two additions (about half a microsecond, no lock: only the event loop's thread writes).
prometheus_client's own multiprocess histograms cost several microseconds per observation (a lock and
two writes to a memory-mapped file), which the agents' check-in path — answered from memory in about ten
microseconds of Python — cannot afford (``python -m bench metrics_overhead``).

``guestpatch serve`` answers HTTP from several worker processes that share no memory, and a scrape
reaches one of them. So a :class:`Recorder` with a directory (``DATA_DIR/metrics``) writes its process's
tallies to ``requests-<pid>.json`` there — at most once a second, from a daemon thread, and only when
something changed — and a scrape adds up the files of every process (its own tallies first written out,
so they are current). Another worker's last second may not be in a scrape yet; it is in the next.
``guestpatch serve`` empties the directory when it starts (:func:`prepare`), so a restarted server
starts from zero, which Prometheus reads as a counter reset. A worker that dies leaves its file, so its
counts stay in the totals, as they should for counters and histograms.

Without a directory (the in-process test app), a recorder's figures are its own process's.
"""

from __future__ import annotations

import bisect
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from guestpatch.errors import ConfigError

log = logging.getLogger(__name__)

SUBDIRECTORY = "metrics"
FILE_PREFIX = "requests-"
FLUSH_EVERY = 1.0  # seconds

#: label values → [count in bucket 0, ..., count in +Inf, sum of the observations]
Series = dict[tuple[str, ...], list[float]]


class Tally:
    """A histogram by label values: per bucket counts (not cumulative) and the sum of observations."""

    def __init__(self, name: str, help_text: str, labels: Sequence[str], bounds: Sequence[float]) -> None:
        self.name = name
        self.help = help_text
        self.labels = tuple(labels)
        self.bounds = tuple(bounds)
        self.series: Series = {}
        self.changed = False

    def observe(self, key: tuple[str, ...], seconds: float) -> None:
        row = self.series.get(key)
        if row is None:
            row = self.series[key] = [0.0] * (len(self.bounds) + 2)
        row[bisect.bisect_left(self.bounds, seconds)] += 1  # the first bucket whose bound is >= seconds
        row[-1] += seconds
        self.changed = True

    def snapshot(self) -> Series:
        """A copy that later observations do not change (safe from another thread: copies are atomic)."""
        return {key: list(row) for key, row in dict(self.series).items()}


def add(total: Series, more: Series) -> None:
    for key, row in more.items():
        mine = total.get(key)
        if mine is None or len(mine) != len(row):
            total[key] = list(row)
        else:
            for i, value in enumerate(row):
                mine[i] += value


@dataclass
class Recorder:
    """The tallies of one process; with ``directory``, shared with the other processes through files."""

    tallies: Sequence[Tally]
    directory: Path | None = None
    _thread: threading.Thread | None = field(default=None, init=False, repr=False)
    _thread_pid: int = field(default=0, init=False, repr=False)

    def start(self) -> None:
        """Write this process's tallies out every second (when they changed), from a daemon thread."""
        if self.directory is None or (self._thread is not None and self._thread_pid == os.getpid()):
            return
        self._thread_pid = os.getpid()
        self._thread = threading.Thread(target=self._loop, name="guestpatch-metrics", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            time.sleep(FLUSH_EVERY)
            if any(t.changed for t in self.tallies):
                try:
                    self.flush()
                except OSError as exc:  # a full or read-only disk must not end the thread
                    log.warning("cannot write the request metrics to %s: %s", self.directory, exc)

    def flush(self) -> None:
        """Write this process's tallies to ``requests-<pid>.json`` (atomically: a reader sees old or new)."""
        if self.directory is None:
            return
        for tally in self.tallies:
            tally.changed = False
        body = {t.name: [[list(key), row] for key, row in t.snapshot().items()] for t in self.tallies}
        fd, temporary = tempfile.mkstemp(prefix=".requests-", dir=self.directory)
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump(body, handle, separators=(",", ":"))
            os.replace(temporary, self.directory / f"{FILE_PREFIX}{os.getpid()}.json")
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def totals(self) -> dict[str, Series]:
        """Every tally added up over the processes (this one's from memory)."""
        out: dict[str, Series] = {t.name: t.snapshot() for t in self.tallies}
        if self.directory is None:
            return out
        mine = f"{FILE_PREFIX}{os.getpid()}.json"
        for path in sorted(self.directory.glob(f"{FILE_PREFIX}*.json")):
            if path.name == mine:
                continue
            for name, rows in _read(path).items():
                if name in out:
                    add(out[name], {tuple(key): row for key, row in rows})
        return out


def _read(path: Path) -> dict[str, list[tuple[Iterable[str], list[float]]]]:
    """A process's file; an unreadable one (a worker killed while writing cannot leave one) counts nothing."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        log.warning("ignoring the metrics file %s: %s", path, exc)
        return {}
    return data if isinstance(data, dict) else {}


def prepare(data_dir: Path) -> Path:
    """Empty ``data_dir/metrics`` of a previous run's files (``guestpatch serve`` calls it once, first thing)."""
    directory = data_dir / SUBDIRECTORY
    try:
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)  # as the server makes it (it holds secrets)
        directory.mkdir(exist_ok=True, mode=0o700)
        for stale in directory.iterdir():
            if stale.is_file():
                stale.unlink(missing_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot prepare the metrics directory {directory}: {exc}", target="data_dir") from exc
    return directory


def directory_for(data_dir: Path | None) -> Path | None:
    """Where this process shares its tallies: ``data_dir/metrics`` when the data directory exists."""
    if data_dir is None or not data_dir.is_dir():
        return None
    directory = data_dir / SUBDIRECTORY
    try:
        directory.mkdir(exist_ok=True, mode=0o700)
    except OSError as exc:
        log.warning("request metrics stay in this process: cannot use %s (%s)", directory, exc)
        return None
    return directory
