"""Several processes on one store: each worker's goal index learns what the others changed.

Each test builds two application states on the same database, as two worker processes of ``guestpatch
serve`` (or two replicas) have: a change made through one must reach the other's index — by the
catch-up every interval, and on PostgreSQL at once through ``NOTIFY``. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import event

from guestpatch.api.state import AppState
from guestpatch.config import load_config
from guestpatch.services.catalogs import Catalogs
from guestpatch.services.enrollment import Enrollment
from guestpatch.store.db import Database
from guestpatch.store.vms import VmKey
from guestpatch.testing import FakeClock

OS = {"family": "Linux", "distro": "debian", "version": "12"}
PATIENCE = 30.0  # seconds a test waits for something that must happen (never asserted as a speed)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        sqlite_url = f"sqlite:///{tmp_path / 'store.db'}"
        Database(sqlite_url).migrate()
        return sqlite_url
    postgres_url: str = request.getfixturevalue("postgres_clean_url")
    return postgres_url


@pytest.fixture
def process_state(store_url: str) -> Iterator[Callable[[], AppState]]:
    """Build the state one worker process holds (own engine, own index) on the shared store."""
    built: list[AppState] = []

    def build() -> AppState:
        config = load_config({"data_dir": Path("/nonexistent")}, {})
        clock = FakeClock(datetime(2026, 11, 26, 8, 0, tzinfo=UTC))
        state = AppState(config=config, db=Database(store_url), clock=clock, catalogs=Catalogs())
        state.index.load()
        built.append(state)
        return state

    yield build
    for state in built:
        state.index.stop()
        state.db.dispose()


def enroll(state: AppState, name: str) -> tuple[int, str]:
    """Enroll a machine through ``state`` (its VM row and credential)."""
    token = Enrollment(state.db, state.clock).create_token(subscription="sub", resource_group="rg")["token"]
    answer = state.agents.enroll(token, {"name": name, "location": "westeurope", "agentVersion": "0.1.0", "os": OS})
    credential: str = answer["credential"]
    vm = state.index.machine(credential)
    assert vm is not None
    return vm, credential


def assess(state: AppState, name: str) -> None:
    state.patch_ops.start(VmKey("sub", "rg", name), "assessPatches", {}, api_version="2024-03-01")


def eventually(check: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def long_poll(state: AppState, vm: int, etag: str) -> tuple[threading.Event, list[bool]]:
    """Start ``index.wait`` in a thread of its own (as a worker's event loop would hold a poll)."""
    started = threading.Event()
    outcome: list[bool] = []

    def run() -> None:
        async def poll() -> bool:
            started.set()
            return await state.index.wait(vm, etag, PATIENCE)

        outcome.append(asyncio.run(poll()))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(PATIENCE)
    return started, outcome


def test_a_change_made_through_one_process_reaches_a_following_index(
    process_state: Callable[[], AppState],
) -> None:
    """A goal change committed by one worker moves the ETag in another worker's index (catch-up)."""
    one, other = process_state(), process_state()
    vm, _ = enroll(one, "host1")
    other.index.follow(interval=0.1)
    assert eventually(lambda: other.index.etag(vm) == one.index.etag(vm))
    before = other.index.etag(vm)
    assess(one, "host1")
    assert one.index.etag(vm) != before
    assert eventually(lambda: other.index.etag(vm) == one.index.etag(vm))


def test_an_index_that_does_not_follow_keeps_its_old_etag(process_state: Callable[[], AppState]) -> None:
    """Without following, another process's change stays unseen (what the follower thread is for)."""
    one, other = process_state(), process_state()
    vm, _ = enroll(one, "host1")
    other.index.catch_up()
    before = other.index.etag(vm)
    assess(one, "host1")
    time.sleep(0.3)
    assert other.index.etag(vm) == before
    other.index.catch_up()
    assert other.index.etag(vm) == one.index.etag(vm)


def test_a_long_poll_in_one_process_is_woken_by_a_change_made_through_another(
    process_state: Callable[[], AppState],
) -> None:
    """An agent holding a long-poll on worker B gets its answer when worker A queues it an operation."""
    one, other = process_state(), process_state()
    vm, _ = enroll(one, "host1")
    other.index.follow(interval=0.1)
    assert eventually(lambda: other.index.etag(vm) == one.index.etag(vm))
    _, outcome = long_poll(other, vm, other.index.etag(vm))
    assess(one, "host1")
    assert eventually(lambda: bool(outcome))
    assert outcome == [True]


@pytest.mark.postgres
def test_postgres_notify_wakes_a_follower_whose_catch_up_interval_is_an_hour(postgres_clean_url: str) -> None:
    """On PostgreSQL the change is announced: a follower catching up only hourly still learns it now."""
    Database(postgres_clean_url).migrate()
    config = load_config({"data_dir": Path("/nonexistent")}, {})
    clock = FakeClock(datetime(2026, 11, 26, 8, 0, tzinfo=UTC))
    one = AppState(config=config, db=Database(postgres_clean_url), clock=clock, catalogs=Catalogs())
    other = AppState(config=config, db=Database(postgres_clean_url), clock=clock, catalogs=Catalogs())
    try:
        one.index.load()
        vm, _ = enroll(one, "host1")
        other.index.load()
        other.index.follow(interval=3600)
        time.sleep(0.5)  # the follower is listening (its first catch-up happens right after LISTEN)
        etag = other.index.etag(vm)
        assert etag == one.index.etag(vm)
        _, outcome = long_poll(other, vm, etag)
        assess(one, "host1")
        assert eventually(lambda: bool(outcome))
        assert outcome == [True]
        assert other.index.etag(vm) == one.index.etag(vm)
    finally:
        for state in (one, other):
            state.index.stop()
            state.db.dispose()


def test_a_credential_issued_by_another_process_is_accepted_at_once(process_state: Callable[[], AppState]) -> None:
    """A machine enrolled through worker A is served by worker B before B's catch-up, even right after a
    miss (an agent exits on 401, so a valid credential must never be refused)."""
    one, other = process_state(), process_state()
    assert other.index.machine("gpm_not-a-credential") is None  # a miss just before
    vm, credential = enroll(one, "host1")
    assert other.index.known(credential) is None  # B has not caught up
    assert other.index.machine(credential) == vm


def test_an_unknown_credential_is_remembered_so_repeating_it_does_not_query_the_store(
    process_state: Callable[[], AppState],
) -> None:
    """A flood of one bad credential costs one store lookup per ``negative_ttl``, not one per request."""
    state = process_state()
    statements: list[str] = []
    event.listen(state.db.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    for _ in range(20):
        assert state.index.machine("gpm_unknown") is None
    lookups = [s for s in statements if "machine_credentials" in s]
    assert len(lookups) == 1


def test_a_catch_up_that_does_not_move_the_etag_does_not_end_a_long_poll(
    process_state: Callable[[], AppState],
) -> None:
    """Worker B, behind the store, learned the ETag from a store read; its next catch-up brings the same
    position and must not answer the held long-poll (an early 304); a real change then does."""
    one, other = process_state(), process_state()
    vm, _ = enroll(one, "host1")
    etag = one.index.etag(vm)
    other.index.observe(vm, etag)
    _, outcome = long_poll(other, vm, etag)
    other.index.catch_up()  # wakes the VM's waiters: the enrollment's change, already known
    time.sleep(0.5)
    assert outcome == []
    assess(one, "host1")
    other.index.catch_up()
    assert eventually(lambda: bool(outcome))
    assert outcome == [True]
