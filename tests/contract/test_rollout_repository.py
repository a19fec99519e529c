"""Contract of the rollout repository port, run against every adapter.

Adapters are chosen by the ``repository`` fixture's parameters. To add one, add its name to
``ADAPTERS`` and a branch in ``_make`` (the SQL adapters: ``"sqlite"`` with a temporary file,
``"postgres"`` with the ``postgres_url`` fixture from ``tests/conftest.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from guestpatch.core.fleet import Machine
from guestpatch.core.records import (
    AttemptRecord,
    Command,
    MachineRecord,
    MachineStatus,
    RolloutRecord,
    RolloutStatus,
)
from guestpatch.core.windows import OffPeak
from guestpatch.engine.ports import RolloutRepository, UnitOfWork
from guestpatch.errors import Conflict, NotFound
from guestpatch.store.db import Database
from guestpatch.store.rollouts import SqlRolloutRepository
from guestpatch.testing import InMemoryRolloutRepository

ADAPTERS = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
NOW = datetime(2026, 1, 13, 8, tzinfo=UTC)


def _make(name: str, request: pytest.FixtureRequest) -> RolloutRepository:
    if name == "memory":
        return InMemoryRolloutRepository()
    if name == "sqlite":
        db = Database(f"sqlite:///{request.getfixturevalue('tmp_path') / 'rollouts.db'}")
        db.migrate()
        return SqlRolloutRepository(db)
    if name == "postgres":
        return SqlRolloutRepository(Database(request.getfixturevalue("postgres_clean_url")))
    raise AssertionError(f"no adapter {name}")  # pragma: no cover


@pytest.fixture(params=ADAPTERS)
def repository(request: pytest.FixtureRequest) -> Iterator[RolloutRepository]:
    return _make(request.param, request)


def _rollout(version: int = 1, rollout_id: str = "r1") -> RolloutRecord:
    return RolloutRecord(
        id=rollout_id, release="2026-01", strategy="availability-first", policy={"tenantShare": 0.2},
        rules={"zones_exclusive": True}, created=NOW, deadline=NOW + timedelta(days=30),
        phases=[["eastus"], ["westus"]], wave_count={"eastus": 2, "westus": 1}, version=version,
        frozen={"ubuntu": {"openssl": "3.0.2-1"}},
        regions=[{"name": "eastus", "time_zone": "America/New_York", "pair": "westus"}],
    )


def _machine(name: str, **changes: object) -> MachineRecord:
    machine = Machine(name=name, tenant="t1", region="eastus", zone="2", off_peak_override=OffPeak(60, 300))
    record = MachineRecord(machine=machine, phase=0, wave=1, since=NOW)
    for key, value in changes.items():
        setattr(record, key, value)
    return record


def _command(key: str) -> Command:
    return Command(key=key, rollout="r1", kind="install", machine="m1", attempt=1, issued=NOW,
                   max_duration_s=3600, pins=("openssl=3.0.2-1",))


def test_created_rollout_loads_back_equal(repository: RolloutRepository) -> None:
    """create then load returns the same rollout and machines, in creation order."""
    machines = [_machine(f"m{k}") for k in (3, 1, 2)]
    repository.create(_rollout(), machines, [])
    record, loaded = repository.load("r1")
    assert record == _rollout()
    assert loaded == machines


def test_loading_an_unknown_rollout_is_not_found(repository: RolloutRepository) -> None:
    """load of an id never created raises NotFound."""
    with pytest.raises(NotFound):
        repository.load("nope")


def test_creating_an_existing_id_conflicts(repository: RolloutRepository) -> None:
    """A second create with the same id raises Conflict."""
    repository.create(_rollout(), [], [])
    with pytest.raises(Conflict):
        repository.create(_rollout(), [], [])


def test_commit_replaces_record_and_upserts_machines(repository: RolloutRepository) -> None:
    """A unit replaces the rollout record and updates machines by name, keeping their order."""
    repository.create(_rollout(), [_machine("m1"), _machine("m2")], [])
    changed = _rollout(version=2)
    changed.status = RolloutStatus.RUNNING
    m2 = _machine("m2", status=MachineStatus.INSTALLING, attempts=1, key="r1/m2/1")
    repository.commit(UnitOfWork(rollout=changed, expected_version=1, machines=[m2]))
    record, machines = repository.load("r1")
    assert record.status is RolloutStatus.RUNNING
    assert record.version == 2
    assert [m.machine.name for m in machines] == ["m1", "m2"]
    assert machines[1] == m2


def test_commit_with_a_stale_version_changes_nothing(repository: RolloutRepository) -> None:
    """A unit whose expected version is not the stored one raises Conflict and writes nothing."""
    repository.create(_rollout(), [_machine("m1")], [])
    stale = _rollout(version=5)
    with pytest.raises(Conflict):
        repository.commit(UnitOfWork(rollout=stale, expected_version=4, machines=[_machine("m1", attempts=9)],
                                     commands=[_command("k1")]))
    record, machines = repository.load("r1")
    assert record.version == 1
    assert machines[0].attempts == 0
    assert repository.outbox() == []


def test_outbox_holds_commands_until_dispatched(repository: RolloutRepository) -> None:
    """Committed commands are in the outbox in order until marked dispatched."""
    repository.create(_rollout(), [], [_command("k0")])
    repository.commit(UnitOfWork(rollout=_rollout(version=2), expected_version=1,
                                 commands=[_command("k1"), _command("k2")]))
    assert [c.key for c in repository.outbox()] == ["k0", "k1", "k2"]
    repository.mark_dispatched(["k0", "k2", "unknown"])
    assert [c.key for c in repository.outbox()] == ["k1"]


def test_a_command_key_is_stored_once(repository: RolloutRepository) -> None:
    """Committing a command whose key is already in the outbox keeps one."""
    repository.create(_rollout(), [], [_command("k1")])
    repository.commit(UnitOfWork(rollout=_rollout(version=2), expected_version=1, commands=[_command("k1")]))
    assert [c.key for c in repository.outbox()] == ["k1"]


def test_consumed_reports_are_remembered(repository: RolloutRepository) -> None:
    """Report ids of a committed unit are reported as consumed; others are not."""
    repository.create(_rollout(), [], [])
    repository.commit(UnitOfWork(rollout=_rollout(version=2), expected_version=1, consumed_reports=["a", "b"]))
    assert repository.consumed(["a", "c", "b"]) == {"a", "b"}


def test_attempts_are_appended_in_order_and_paged(repository: RolloutRepository) -> None:
    """Attempts come back in commit order; offset skips the ones already read."""
    repository.create(_rollout(), [], [])
    attempts = [AttemptRecord("r1", f"m{k}", 1, 0, 0, NOW, NOW + timedelta(minutes=k + 1), "Succeeded")
                for k in range(3)]
    repository.commit(UnitOfWork(rollout=_rollout(version=2), expected_version=1, attempts=attempts[:2]))
    repository.commit(UnitOfWork(rollout=_rollout(version=3), expected_version=2, attempts=attempts[2:]))
    assert repository.attempts("r1") == attempts
    assert repository.attempts("r1", offset=2) == attempts[2:]


def test_stored_record_does_not_follow_later_changes(repository: RolloutRepository) -> None:
    """Changing the record object after commit does not change what is stored (it is a copy)."""
    repository.create(_rollout(), [], [])
    live = _rollout(version=2)
    repository.commit(UnitOfWork(rollout=live, expected_version=1))
    live.frozen["ubuntu"]["openssl"] = "changed"
    live.history.append({"event": "x"})
    record, _ = repository.load("r1")
    assert record.frozen == {"ubuntu": {"openssl": "3.0.2-1"}}
    assert record.history == []


def test_list_rollouts_oldest_first(repository: RolloutRepository) -> None:
    """list_rollouts returns every rollout in creation order."""
    repository.create(_rollout(rollout_id="a"), [], [])
    repository.create(_rollout(rollout_id="b"), [], [])
    assert [r.id for r in repository.list_rollouts()] == ["a", "b"]


def test_records_survive_their_json_form() -> None:
    """to_dict/from_dict round-trips (for adapters that keep JSON columns)."""
    record, machine = _rollout(), _machine("m1", due=NOW, not_offered=("curl=8.0",))
    assert RolloutRecord.from_dict(record.to_dict()) == record
    assert MachineRecord.from_dict(machine.to_dict()) == machine
    assert Command.from_dict(_command("k").to_dict()) == _command("k")
