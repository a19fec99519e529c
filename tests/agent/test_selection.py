"""Selection: classifications, include/exclude masks (fnmatch on name and name.arch), dependents."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from guestpatch_agent.errors import InvalidPackageName, UsageError
from guestpatch_agent.model import Classification, InstallationState, Selection, Update
from guestpatch_agent.pkgmgr.base import Transaction
from guestpatch_agent.selection import exclude_dependents, parse_classifications, parse_mask, select


def upd(name: str, classification: str = Classification.OTHER, version: str = "1.1", arch: str = "amd64",
        installed: str | None = "1.0") -> Update:
    return Update(name, arch, version, installed, classification, "repo")


def states(patches: Sequence[object]) -> dict[str, str]:
    return {p.name: p.state for p in patches}  # type: ignore[attr-defined]


def test_classification_selects_and_others_are_not_selected() -> None:
    """Only updates of a requested classification are Pending; the rest are NotSelected."""
    patches = select([upd("a", Classification.SECURITY), upd("b")], Selection((Classification.SECURITY,)))
    assert states(patches) == {"a": InstallationState.PENDING, "b": InstallationState.NOT_SELECTED}


def test_new_packages_are_dependencies_not_patches() -> None:
    """A package the upgrade would newly install is not reported as a patch."""
    patches = select([upd("dep", installed=None), upd("a")], Selection((Classification.OTHER,)))
    assert [p.name for p in patches] == ["a"]


def test_exclusion_wins_over_classification_and_inclusion() -> None:
    """An excluded patch stays Excluded even when its class is requested and a mask includes it."""
    patches = select([upd("libssl3", Classification.SECURITY)],
                     Selection((Classification.SECURITY,), include=("libssl*",), exclude=("libssl3",)))
    assert patches[0].state == InstallationState.EXCLUDED
    assert patches[0].reason == "matches exclusion mask libssl3"


def test_include_mask_adds_to_classifications() -> None:
    """Inclusion masks select patches of unrequested classifications (the union, as LPE does)."""
    patches = select([upd("curl"), upd("vim")], Selection((Classification.SECURITY,), include=("cur?",)))
    assert states(patches) == {"curl": InstallationState.PENDING, "vim": InstallationState.NOT_SELECTED}


def test_mask_matches_name_dot_arch() -> None:
    """``name.arch`` masks match only that architecture."""
    patches = select([upd("libc6", arch="i386"), upd("libc6x", arch="amd64")],
                     Selection((Classification.OTHER,), exclude=("libc6*.i386",)))
    assert states(patches) == {"libc6": InstallationState.EXCLUDED, "libc6x": InstallationState.PENDING}


def test_include_with_version_matches_only_that_version() -> None:
    """``name=version`` includes the patch only when the candidate version matches (fnmatch)."""
    updates = [upd("a", version="1:2.0-1"), upd("b", version="3.0")]
    patches = select(updates, Selection((), include=("a=1:2.*", "b=3.1")))
    assert states(patches) == {"a": InstallationState.PENDING, "b": InstallationState.NOT_SELECTED}


def test_unclassified_is_selected_only_when_everything_is_requested() -> None:
    """Updates without advisory data are never guessed into Critical or Security."""
    update = upd("x", Classification.UNCLASSIFIED)
    assert select([update], Selection((Classification.CRITICAL, Classification.SECURITY)))[0].state == "NotSelected"
    assert select([update], Selection(Classification.SELECTABLE))[0].state == "Pending"


@pytest.mark.parametrize("mask", ["-rf", "--force", "a b", "a;b", "$(x)", "", "a==b", "pkg`x`"])
def test_masks_that_could_be_options_or_shell_are_refused(mask: str) -> None:
    """A mask that could be read as an option or by a shell is refused with a clear error."""
    with pytest.raises(InvalidPackageName, match="invalid package mask"):
        parse_mask(mask)


def test_classifications_are_case_insensitive_and_validated() -> None:
    """``critical,SECURITY`` is accepted as Azure does; an unknown word names the allowed values."""
    assert parse_classifications(["critical,SECURITY"]) == ("Critical", "Security")
    with pytest.raises(UsageError, match="allowed values are Critical, Security, Other"):
        parse_classifications(["Security,Bugfix"])


def fake_simulate(dependencies: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    """A simulate function over a fixed dependency graph (the real apt one is exercised in the lab tests)."""
    def simulate(chosen: Sequence[Update]) -> Transaction:
        names = set()
        for update in chosen:
            names.add(update.name)
            names.update(dependencies.get(update.name, []))
        return Transaction([upd(n) for n in sorted(names)])
    return simulate


def test_patch_needing_an_excluded_update_is_excluded_with_the_reason() -> None:
    """A selected patch whose transaction upgrades an excluded package is Excluded, naming it."""
    selection = Selection((Classification.OTHER,), exclude=("child",))
    patches = select([upd("parent"), upd("child"), upd("other")], selection)
    result = exclude_dependents(patches, ("child",), fake_simulate({"parent": ["child"]}))
    by_name = {p.name: p for p in result}
    assert by_name["parent"].state == InstallationState.EXCLUDED
    assert by_name["parent"].reason == "needs child 1.1, which is excluded"
    assert by_name["other"].state == InstallationState.PENDING


def test_one_simulation_suffices_when_nothing_excluded_is_touched() -> None:
    """The whole selection is simulated once; single simulations happen only when needed."""
    calls: list[int] = []
    base = fake_simulate({})

    def counting(chosen: Sequence[Update]) -> Transaction:
        calls.append(len(chosen))
        return base(chosen)

    patches = select([upd("a"), upd("b"), upd("c")], Selection((Classification.OTHER,), exclude=("c",)))
    exclude_dependents(patches, ("c",), counting)
    assert calls == [2]
