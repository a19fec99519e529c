"""Operation reports counted once: persisted sequence numbers and final reports, against the real server."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from guestpatch_agent.clock import SystemClock
from guestpatch_agent.model import Distro
from guestpatch_agent.outbox import Outbox
from guestpatch_agent.protocol import ControlPlane, Server, tls_context
from guestpatch_agent.report import assessment_result
from tests.agent.daemon.conftest import enroll, operation_status, plane_for, queue_assessment
from tests.server_fixtures import LiveServer, free_port

ASSESS = "assessPatches"
STARTED = "2026-11-26T09:00:00Z"
WHEN = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def result(status: str = "Succeeded", activity: str = "a1") -> dict[str, Any]:
    return assessment_result(activity_id=activity, status=status, started=WHEN, finished=WHEN, reboot_pending=False,
                             updates=[], distro=Distro("debian", "12"))  # fmt: skip


def unreachable(server: LiveServer, credential: str) -> ControlPlane:
    """The same machine's client, pointed at a port where nothing listens (the server is down)."""
    return ControlPlane(Server("127.0.0.1", free_port()), context=tls_context(str(server.ca)), credential=credential)


def wait_until(check: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.2)


def test_progress_numbers_grow_and_continue_after_a_restart(live_server: LiveServer, tmp_path: Path) -> None:
    """Two InProgress reports, a restart (new Outbox on the same folder), a third: sequence 3, not 1 again."""
    credential = enroll(live_server, "box-seq")
    operation = queue_assessment(live_server, "box-seq")
    box = Outbox(str(tmp_path), plane_for(live_server, credential), SystemClock())
    box.begin(operation, ASSESS, STARTED)
    assert box.progress(operation, None)
    assert box.progress(operation, None)
    restarted = Outbox(str(tmp_path), plane_for(live_server, credential), SystemClock())
    assert restarted.progress(operation, None)
    assert restarted.record(operation)["sequence"] == 3  # type: ignore[index]


def test_a_final_report_saved_while_the_server_is_down_is_delivered_later(
    live_server: LiveServer, tmp_path: Path
) -> None:
    """finish() with no server saves the report; after a restart, flush() delivers exactly it."""
    credential = enroll(live_server, "box-down")
    operation = queue_assessment(live_server, "box-down")
    down = Outbox(str(tmp_path), unreachable(live_server, credential), SystemClock())
    down.begin(operation, ASSESS, STARTED)
    down.finish(operation, ASSESS, STARTED, result())
    saved = down.record(operation)
    assert saved is not None
    assert saved["delivered"] is None
    assert down.pending() == [operation]
    up = Outbox(str(tmp_path), plane_for(live_server, credential), SystemClock())
    up.flush()
    assert up.record(operation)["delivered"] == "accepted"  # type: ignore[index]
    assert up.record(operation)["final"] == saved["final"]  # type: ignore[index]
    assert up.pending() == []
    wait_until(lambda: operation_status(live_server, operation)["status"] == "Succeeded")


def test_a_final_report_resent_after_a_lost_answer_is_counted_once(live_server: LiveServer, tmp_path: Path) -> None:
    """A crash after sending but before saving the answer: the resend has the same sequence; the server
    answers it as a duplicate."""
    credential = enroll(live_server, "box-dup")
    operation = queue_assessment(live_server, "box-dup")
    box = Outbox(str(tmp_path), plane_for(live_server, credential), SystemClock())
    box.begin(operation, ASSESS, STARTED)
    box.finish(operation, ASSESS, STARTED, result())
    path = tmp_path / "reports" / f"{operation}.json"
    record = json.loads(path.read_text())
    assert (record["delivered"], record["duplicate"]) == ("accepted", False)
    record["delivered"] = None  # the answer was lost
    path.write_text(json.dumps(record))
    box.flush()
    again = json.loads(path.read_text())
    assert (again["delivered"], again["duplicate"]) == ("accepted", True)
    assert again["final"]["sequence"] == record["final"]["sequence"]


def test_a_second_finish_keeps_the_first_final_report(live_server: LiveServer, tmp_path: Path) -> None:
    """The final report is saved once: finishing again (after a crash) does not replace or renumber it."""
    credential = enroll(live_server, "box-once")
    box = Outbox(str(tmp_path), unreachable(live_server, credential), SystemClock())
    box.begin("op-1", ASSESS, STARTED)
    box.finish("op-1", ASSESS, STARTED, result("Succeeded", "first"))
    box.finish("op-1", ASSESS, STARTED, result("Failed", "second"))
    final = box.record("op-1")["final"]  # type: ignore[index]
    assert (final["sequence"], final["result"]["assessmentActivityId"]) == (1, "first")


def test_no_progress_is_sent_after_the_final_report(live_server: LiveServer, tmp_path: Path) -> None:
    """Once the final report is saved, InProgress reports are not sent and take no number."""
    credential = enroll(live_server, "box-late")
    box = Outbox(str(tmp_path), unreachable(live_server, credential), SystemClock())
    box.begin("op-2", ASSESS, STARTED)
    box.finish("op-2", ASSESS, STARTED, result())
    assert box.progress("op-2", None) is False
    assert box.record("op-2")["sequence"] == 1  # type: ignore[index]


def test_a_report_for_an_operation_the_server_ended_is_dropped(start_server: Any, tmp_path: Path) -> None:
    """409 OperationAlreadyFinished (the server failed the operation first) → the report is dropped."""
    server: LiveServer = start_server(env={"GUESTPATCH_AGENT_PICKUP_TIMEOUT": "1"})
    credential = enroll(server, "box-409")
    operation = queue_assessment(server, "box-409")
    wait_until(lambda: operation_status(server, operation)["status"] == "Failed")
    box = Outbox(str(tmp_path), plane_for(server, credential), SystemClock())
    box.begin(operation, ASSESS, STARTED)
    box.finish(operation, ASSESS, STARTED, result())
    assert box.record(operation)["delivered"] == "dropped"  # type: ignore[index]
    assert box.pending() == []
    assert operation_status(server, operation)["status"] == "Failed"


def test_a_report_for_an_unknown_operation_is_dropped(live_server: LiveServer, tmp_path: Path) -> None:
    """404 OperationNotFound → dropped, not retried forever."""
    box = Outbox(str(tmp_path), plane_for(live_server, enroll(live_server, "box-404")), SystemClock())
    box.finish("00000000-0000-0000-0000-000000000000", ASSESS, STARTED, result())
    assert box.pending() == []
    assert box.record("00000000-0000-0000-0000-000000000000")["delivered"] == "dropped"  # type: ignore[index]
