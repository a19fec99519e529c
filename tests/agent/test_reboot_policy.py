"""The reboot policy (pure) and the boot id."""

from __future__ import annotations

from pathlib import Path

import pytest

from guestpatch_agent.pkgmgr.base import Root
from guestpatch_agent.reboot import MAX_REBOOTS, boot_changed, decide, read_boot_id


def test_if_required_reboots_only_when_pending() -> None:
    """IfRequired reboots when a reboot is pending and records NotNeeded otherwise."""
    assert decide("IfRequired", pending=True, reboots_done=0, can_reboot=True, time_left=True).reboot
    no = decide("IfRequired", pending=False, reboots_done=0, can_reboot=True, time_left=True)
    assert (no.reboot, no.status, no.warning) == (False, "NotNeeded", None)


def test_never_leaves_required_with_a_warning() -> None:
    """Never does not reboot; a pending reboot ends as Required with a warning."""
    decision = decide("Never", pending=True, reboots_done=0, can_reboot=True, time_left=True)
    assert (decision.reboot, decision.status) == (False, "Required")
    assert "Never" in (decision.warning or "")


def test_always_reboots_once() -> None:
    """Always reboots even with nothing pending, but only once per operation."""
    assert decide("Always", pending=False, reboots_done=0, can_reboot=True, time_left=True).reboot
    after = decide("Always", pending=False, reboots_done=1, can_reboot=True, time_left=True)
    assert (after.reboot, after.status) == (False, "Completed")


def test_reboot_counter_is_a_loop_guard() -> None:
    """A machine that keeps asking for reboots gets at most MAX_REBOOTS of them."""
    decision = decide("IfRequired", pending=True, reboots_done=MAX_REBOOTS, can_reboot=True, time_left=True)
    assert (decision.reboot, decision.status) == (False, "Failed")


@pytest.mark.parametrize(("can_reboot", "time_left", "words"), [(False, True, "--reboot-command"),
                                                                 (True, False, "window")])
def test_impossible_reboot_is_required_with_a_reason(can_reboot: bool, time_left: bool, words: str) -> None:
    """No rebooter, or no time for the reboot buffer: Required, and the warning says why."""
    decision = decide("IfRequired", pending=True, reboots_done=0, can_reboot=can_reboot, time_left=time_left)
    assert (decision.reboot, decision.status) == (False, "Required")
    assert words in (decision.warning or "")


def test_boot_id_is_read_under_the_root(tmp_path: Path) -> None:
    """The boot id comes from proc/sys/kernel/random/boot_id under the root; missing means unknown."""
    assert read_boot_id(Root(str(tmp_path))) is None
    (tmp_path / "proc/sys/kernel/random").mkdir(parents=True)
    (tmp_path / "proc/sys/kernel/random/boot_id").write_text("abc\n")
    assert read_boot_id(Root(str(tmp_path))) == "abc"


def test_unknown_boot_ids_count_as_a_restart() -> None:
    """Without boot ids (an offline image) a restart of the agent is taken as the reboot (LPE's rule)."""
    assert boot_changed(None, "x")
    assert boot_changed("x", None)
    assert boot_changed("a", "b")
    assert not boot_changed("a", "a")
