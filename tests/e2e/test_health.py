"""The VM's health-probe tag reaches the agent; the agent's probe results reach the control plane."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator

import pytest

from tests.agent.daemon.test_pulse import Application
from tests.e2e.conftest import MachineFactory
from tests.e2e.fleet import Arm, wait_for

pytestmark = [pytest.mark.root, pytest.mark.slow]


@pytest.fixture
def application() -> Iterator[Application]:
    app = Application()
    yield app
    app.server.shutdown()


def recorded_health(arm: Arm, name: str) -> str | None:
    """The health state the server stored from the machine's last heartbeat."""
    with sqlite3.connect(arm.server.data_dir / "guestpatch.db") as db:
        row = db.execute(
            "SELECT s.health FROM agent_status s JOIN virtual_machines v ON v.id = s.vm WHERE v.name = ?", (name,)
        ).fetchone()
    health = json.loads(row[0]) if row and row[0] else None
    return str(health["state"]) if health else None


def test_the_probe_named_by_the_tag_is_probed_and_its_changes_reported(
    machines: MachineFactory, arm: Arm, application: Application
) -> None:
    """Tag guestpatch-health-probe → heartbeats say Healthy; the application failing → Unhealthy."""
    agent = machines("apt", "probed1")
    agent.enroll(arm.server, arm.enrollment_token())
    agent.start()
    arm.patch_vm("probed1", {"tags": {"guestpatch-health-probe": application.target}})
    wait_for(lambda: recorded_health(arm, "probed1") == "Healthy", timeout=30, what="a Healthy heartbeat")
    application.status = 503
    wait_for(lambda: recorded_health(arm, "probed1") == "Unhealthy", timeout=40, what="an Unhealthy heartbeat")
