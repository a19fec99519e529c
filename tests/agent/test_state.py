"""The persisted step machine: JSON round trip, atomic writes, unreadable files named."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from guestpatch_agent.errors import StateError
from guestpatch_agent.model import Patch, Selection, Update
from guestpatch_agent.state import InstallRequest, InstallState, StateStore

START = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


def sample_state() -> InstallState:
    request = InstallRequest(timedelta(hours=1), "IfRequired", Selection(("Security",), ("a*",), ("b",)), START)
    state = InstallState("op-1", request, step="Installing", reboot_status="Started", reboot_count=1,
                         boot_id="boot", reboot_requested=START, window_exceeded=True)
    state.patches = [Patch(Update("libstdc++6", "all", "1:1.1~rc1", "1.0", "Security", "r"), "Failed", "why", 1)]
    state.add_error("Code", "message")
    return state


def test_state_round_trips_through_the_store(tmp_path: Path) -> None:
    """Everything saved is loaded back equal, epochs, tildes and reasons included."""
    store = StateStore(str(tmp_path / "state"))
    state = sample_state()
    store.save(state)
    assert store.load() == state


def test_no_file_means_no_operation(tmp_path: Path) -> None:
    """An empty state folder holds no operation."""
    assert StateStore(str(tmp_path)).load() is None


def test_save_replaces_atomically_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    """After a save only operation.json exists (written through a temporary file and a rename)."""
    store = StateStore(str(tmp_path))
    store.save(sample_state())
    store.save(sample_state())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["operation.json"]


@pytest.mark.parametrize("content", ["{not json", "[]", '{"formatVersion": 99}', '{"formatVersion": 1}'])
def test_unreadable_state_is_a_state_error_naming_the_file(tmp_path: Path, content: str) -> None:
    """A corrupt or foreign file raises StateError (never a traceback from json or KeyError)."""
    (tmp_path / "operation.json").write_text(content)
    with pytest.raises(StateError):
        StateStore(str(tmp_path)).load()


def test_archive_moves_the_operation_to_history(tmp_path: Path) -> None:
    """A finished operation leaves operation.json and is kept in history/ under its id."""
    store = StateStore(str(tmp_path))
    state = sample_state()
    store.save(state)
    store.archive(state)
    assert store.load() is None
    [kept] = list((tmp_path / "history").iterdir())
    assert json.loads(kept.read_text())["activityId"] == "op-1"
