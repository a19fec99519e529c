"""Which patches a machine gets: classifications, the frozen patch set, and name masks.

A rollout freezes its patch set at start (``freeze``): per OS key (family, version and repository,
as the fleet names it, e.g. ``"ubuntu-22.04/archive"``), the package versions that were Critical or
Security in the assessments of the canary phase. OS keys that the canary did not have are frozen from
the assessments of the first phase that has them. When assessments disagree on a version, the version
offered by the most machines wins (ties: the greater string), and the disagreement is noted.

Every later installation pins exactly those versions (``name=version``); the agent reports any pinned
package whose frozen version its repositories no longer offer, and the machine is reported
``NotOffered`` for it instead of being given another version.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

CRITICAL = "Critical"
SECURITY = "Security"
OTHER = "Other"
AUTOMATIC_CLASSIFICATIONS = (CRITICAL, SECURITY)


@dataclass(frozen=True)
class Selection:
    """A filter over offered patches: classifications plus include/exclude name masks (fnmatch)."""

    classifications: tuple[str, ...] = AUTOMATIC_CLASSIFICATIONS
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def accepts(self, name: str, classification: str) -> bool:
        if classification not in self.classifications:
            return False
        if self.include and not any(fnmatchcase(name, m) for m in self.include):
            return False
        return not any(fnmatchcase(name, m) for m in self.exclude)


@dataclass
class Freeze:
    """The outcome of :func:`freeze`: the frozen set per OS key and any disagreements seen."""

    frozen: dict[str, dict[str, str]]
    notes: list[str] = field(default_factory=list)


Votes = dict[str, dict[str, dict[str, int]]]


def add_votes(
    votes: Votes, os_key: str, offers: Iterable[tuple[str, str, str]], selection: Selection = Selection(),
) -> None:
    """Count one assessment's selected offers into ``votes[os_key][name][version]``."""
    per_key = votes.setdefault(os_key, {})
    for name, version, classification in offers:
        if selection.accepts(name, classification):
            counter = per_key.setdefault(name, {})
            counter[version] = counter.get(version, 0) + 1


def decide(votes: Votes) -> Freeze:
    """The frozen set from counted votes: per name the version most machines offered (ties: greater)."""
    frozen: dict[str, dict[str, str]] = {}
    notes: list[str] = []
    for os_key in sorted(votes):
        chosen: dict[str, str] = {}
        for name in sorted(votes[os_key]):
            counter = votes[os_key][name]
            version = max(counter, key=lambda v: (counter[v], v))
            if len(counter) > 1:
                notes.append(f"{os_key}: {name} offered as {sorted(counter)}; froze {version}")
            chosen[name] = version
        frozen[os_key] = chosen
    return Freeze(frozen, notes)


def freeze(
    assessments: Iterable[tuple[str, Sequence[tuple[str, str, str]]]],
    selection: Selection = Selection(),
) -> Freeze:
    """Freeze from ``(os_key, offers)`` pairs, where offers are ``(name, version, classification)``."""
    votes: Votes = {}
    for os_key, offers in assessments:
        add_votes(votes, os_key, offers, selection)
    return decide(votes)


def pins(frozen: Mapping[str, str]) -> tuple[str, ...]:
    """The install request's pins for one OS key: ``name=version``, sorted."""
    return tuple(f"{name}={version}" for name, version in sorted(frozen.items()))


def not_offered(frozen: Mapping[str, str], offers: Iterable[tuple[str, str, str]]) -> tuple[str, ...]:
    """Frozen ``name=version`` pins that an assessment offers under the same name but another version."""
    offered: dict[str, set[str]] = {}
    for name, version, _ in offers:
        offered.setdefault(name, set()).add(version)
    return tuple(
        f"{name}={version}"
        for name, version in sorted(frozen.items())
        if name in offered and version not in offered[name]
    )
