"""Which available updates an installation touches: classifications, include/exclude masks, dependents.

Rules (Azure's ``linuxParameters``, with LPE's matching semantics, written down):

- a mask is an ``fnmatch`` pattern (``*``, ``?``, ``[...]``, case-sensitive) matched against the
  package ``name`` and against ``name.arch``; ``name=version`` also matches the version (fnmatch);
- a patch is **Excluded** when an exclusion mask matches it: exclusion always wins;
- otherwise it is **Pending** (selected) when its classification is requested or an inclusion mask
  matches it (the union, as LPE does); ``Unclassified`` patches (no advisory data) are selected only
  when every classification is requested, never guessed into one;
- otherwise it is **NotSelected**;
- a selected patch whose transaction needs an update of an excluded package is Excluded too, with
  the reason; packages that the transaction newly installs (new dependencies) are allowed.

Everything here is pure; the dependency information comes from a ``simulate`` callable.
"""

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Callable, Iterable, List, Optional, Sequence, Tuple

from guestpatch_agent.errors import AgentError, InvalidPackageName, UsageError
from guestpatch_agent.model import Classification, InstallationState, Patch, Selection, Update
from guestpatch_agent.pkgmgr.base import Transaction

_MASK_RE = re.compile(r"^[A-Za-z0-9*?\[\]!+.~:_@-]+(?:=[A-Za-z0-9*?\[\]!+.~:_-]+)?$")


@dataclass(frozen=True)
class Mask:
    text: str
    pattern: str
    version: Optional[str] = None

    def matches(self, update: Update) -> bool:
        if not (
            fnmatchcase(update.name, self.pattern)
            or fnmatchcase("{}.{}".format(update.name, update.arch), self.pattern)
        ):
            return False
        return self.version is None or fnmatchcase(update.version, self.version)


def parse_mask(text: str) -> Mask:
    """Validate one mask; anything that could be read as an option or by a shell is refused."""
    value = text.strip()
    if not value or value.startswith("-") or not _MASK_RE.match(value):
        raise InvalidPackageName(
            "invalid package mask {!r}: use letters, digits, + . ~ : _ - and the wildcards * ? [ ], "
            "optionally =VERSION".format(text)
        )
    pattern, _, version = value.partition("=")
    return Mask(value, pattern, version or None)


def parse_classifications(values: Iterable[str]) -> Tuple[str, ...]:
    """Case-insensitive classification names (Azure accepts ``critical``), in canonical spelling."""
    canonical = {c.lower(): c for c in Classification.SELECTABLE}
    chosen: List[str] = []
    for raw in values:
        for word in (w.strip() for w in raw.split(",")):
            if not word:
                continue
            if word.lower() not in canonical:
                allowed = ", ".join(Classification.SELECTABLE)
                raise UsageError("unknown classification {!r}: allowed values are {}".format(word, allowed))
            if canonical[word.lower()] not in chosen:
                chosen.append(canonical[word.lower()])
    return tuple(chosen)


def is_selected_class(classification: str, wanted: Sequence[str]) -> bool:
    if classification == Classification.UNCLASSIFIED:
        return all(c in wanted for c in Classification.SELECTABLE)
    return classification in wanted


def select(updates: Sequence[Update], selection: Selection) -> List[Patch]:
    """A :class:`Patch` per available update (new packages are dependencies, not patches)."""
    includes = [parse_mask(m) for m in selection.include]
    excludes = [parse_mask(m) for m in selection.exclude]
    patches = []
    for update in updates:
        if update.is_new:
            continue
        excluded_by = next((m for m in excludes if m.matches(update)), None)
        if excluded_by is not None:
            reason = "matches exclusion mask {}".format(excluded_by.text)
            patches.append(Patch(update, InstallationState.EXCLUDED, reason))
        elif is_selected_class(update.classification, selection.classifications) or any(
            m.matches(update) for m in includes
        ):
            patches.append(Patch(update, InstallationState.PENDING))
        else:
            patches.append(Patch(update, InstallationState.NOT_SELECTED))
    return patches


def exclude_dependents(
    patches: Sequence[Patch],
    exclude: Sequence[str],
    simulate: Callable[[Sequence[Update]], Transaction],
) -> List[Patch]:
    """Exclude every selected patch whose transaction needs an update of an excluded package.

    One simulation of the whole selection answers the common case (nothing excluded is touched);
    only when it touches an excluded package is each selected patch simulated on its own.
    """
    masks = [parse_mask(m) for m in exclude]
    selected = [p for p in patches if p.state == InstallationState.PENDING]
    if not masks or not selected:
        return list(patches)

    def blocked_by(transaction: Transaction, own: Optional[str]) -> Optional[Update]:
        for update in transaction.updates:
            if update.name != own and any(m.matches(update) for m in masks):
                return update
        return None

    try:
        if blocked_by(simulate([p.update for p in selected]), None) is None:
            return list(patches)
    except AgentError:
        pass  # the group cannot be resolved together: look at each one
    for patch in selected:
        try:
            blocker = blocked_by(simulate([patch.update]), patch.name)
        except AgentError:
            continue  # left selected; its installation will fail and say why
        if blocker is not None:
            patch.state = InstallationState.EXCLUDED
            patch.reason = "needs {} {}, which is excluded".format(blocker.name, blocker.version)
    return list(patches)
