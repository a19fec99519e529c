"""Operation reports that are counted once: a persisted, growing ``sequence`` per operation.

The server keeps the highest ``sequence`` it has accepted for an operation and answers a report with
a sequence it has already seen as a duplicate (counted once). So the agent:

- saves the next sequence number *before* sending a report (a crash never reuses a number);
- saves the final report, with its sequence, *before* sending it, and resends exactly that report
  until the server has answered (after a timeout, a crash or a reboot): it is counted once;
- stops at a final answer: 200 (accepted or duplicate), 409 ``OperationAlreadyFinished`` or 404
  (dropped: the server ended or forgot the operation), or another 4xx (we erred; logged, dropped).

One file per operation in ``STATE_DIR/reports/<operationId>.json``::

    {"operationId": "…", "kind": "installPatches", "startedAt": "…", "sequence": 7,
     "final": {"sequence": 7, "status": "Succeeded", "startedAt": "…", "result": {…}} | null,
     "delivered": null | "accepted" | "dropped", "duplicate": true | false}

Reports of one operation are sent one at a time (a lock), so a later sequence never overtakes an
earlier one on the wire; InProgress reports after the final one are not sent.
"""

import json
import logging
import os
import threading
from typing import Any, Dict, List, Optional

from guestpatch_agent.clock import Clock, format_time
from guestpatch_agent.errors import RequestRejected, ServerError
from guestpatch_agent.protocol import ControlPlane
from guestpatch_agent.state import write_atomically

FOLDER = "reports"
#: Delivered records kept (so an operation still listed by a stale goal state is not run twice).
DELIVERED_KEPT = 20
ACCEPTED = "accepted"
DROPPED = "dropped"

log = logging.getLogger("guestpatch_agent.outbox")


class Outbox:
    def __init__(self, state_dir: str, plane: ControlPlane, clock: Clock) -> None:
        self.folder = os.path.join(state_dir, FOLDER)
        self._plane = plane
        self._clock = clock
        self._lock = threading.Lock()  # one report on the wire at a time

    # ------------------------------------------------------------------ queries
    def record(self, operation_id: str) -> Optional[Dict[str, Any]]:
        return _read(self._path(operation_id))

    def records(self) -> List[Dict[str, Any]]:
        names = sorted(os.listdir(self.folder)) if os.path.isdir(self.folder) else []
        found = (_read(os.path.join(self.folder, n)) for n in names if n.endswith(".json"))
        return [r for r in found if r is not None and isinstance(r.get("operationId"), str)]

    def knows(self, operation_id: str) -> bool:
        """Has this agent started the operation (a record exists)?"""
        return self.record(operation_id) is not None

    def finished(self, operation_id: str) -> bool:
        """Is the operation's final report saved (delivered or not)?"""
        record = self.record(operation_id)
        return record is not None and record.get("final") is not None

    def pending(self) -> List[str]:
        """Operations whose final report is saved but not yet answered by the server."""
        return [r["operationId"] for r in self.records() if r.get("final") is not None and not r.get("delivered")]

    # ------------------------------------------------------------------ reports
    def begin(self, operation_id: str, kind: str, started: str) -> None:
        """Record that the operation starts (kept if it exists: a resumed operation keeps its numbers)."""
        with self._lock:
            if self.record(operation_id) is None:
                self._save({"operationId": operation_id, "kind": kind, "startedAt": started, "sequence": 0,
                            "final": None, "delivered": None})  # fmt: skip

    def progress(self, operation_id: str, result: Optional[Dict[str, Any]]) -> bool:
        """Send an InProgress report (best effort: a failure waits for the next one). True if accepted."""
        with self._lock:
            record = self.record(operation_id)
            if record is None or record.get("final") is not None or record.get("delivered"):
                return False
            record["sequence"] = int(record["sequence"]) + 1
            self._save(record)
            body: Dict[str, Any] = {"sequence": record["sequence"], "status": "InProgress",
                                    "startedAt": record["startedAt"]}  # fmt: skip
            if result is not None:
                body["result"] = result
            try:
                self._plane.report(operation_id, body)
                return True
            except ServerError as exc:
                log.warning("progress of operation %s not sent (will send again): %s", operation_id, exc)
            except RequestRejected as exc:
                if exc.status in (404, 409):
                    log.warning("operation %s ended on the server; no more reports: %s", operation_id, exc)
                    record["delivered"] = DROPPED
                    self._save(record)
                else:
                    log.error("progress of operation %s refused: %s", operation_id, exc)
            return False

    def finish(self, operation_id: str, kind: str, started: str, result: Dict[str, Any]) -> None:
        """Save the final report (once: a second call keeps the first), then try to deliver it."""
        with self._lock:
            record = self.record(operation_id) or {
                "operationId": operation_id, "kind": kind, "startedAt": started, "sequence": 0, "delivered": None,
            }
            if record.get("final") is None:
                record["sequence"] = int(record["sequence"]) + 1
                record["final"] = {"sequence": record["sequence"], "status": str(result.get("status", "Failed")),
                                   "startedAt": record["startedAt"], "result": result}  # fmt: skip
                self._save(record)
        self.deliver(operation_id)

    def deliver(self, operation_id: str) -> bool:
        """Send the saved final report. True when the server has answered it (accepted or dropped)."""
        with self._lock:
            record = self.record(operation_id)
            if record is None or record.get("final") is None:
                return False
            if record.get("delivered"):
                return True
            try:
                answer = self._plane.report(operation_id, record["final"])
            except ServerError as exc:
                log.warning("final report of operation %s not delivered (will retry): %s", operation_id, exc)
                return False
            except RequestRejected as exc:
                if exc.status in (404, 409):
                    log.warning("final report of operation %s dropped: %s", operation_id, exc)
                else:
                    log.error("final report of operation %s refused (dropped, we erred): %s", operation_id, exc)
                record["delivered"] = DROPPED
            else:
                record["delivered"] = ACCEPTED
                record["duplicate"] = bool(answer.get("duplicate"))  # the server had it (a resend)
                log.info(
                    "operation %s reported %s%s", operation_id, record["final"]["status"],
                    " (the server had it already)" if answer.get("duplicate") else "",
                )
            record["deliveredAt"] = format_time(self._clock.now())
            self._save(record)
        self._prune()
        return True

    def flush(self) -> None:
        """Deliver every saved final report not yet answered."""
        for operation_id in self.pending():
            self.deliver(operation_id)

    # ------------------------------------------------------------------ files
    def _path(self, operation_id: str) -> str:
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in operation_id)[:128]
        return os.path.join(self.folder, safe + ".json")

    def _save(self, record: Dict[str, Any]) -> None:
        write_atomically(self._path(str(record["operationId"])), json.dumps(record, sort_keys=True) + "\n")

    def _prune(self) -> None:
        delivered = sorted((str(r.get("deliveredAt", "")), str(r["operationId"])) for r in self.records()
                           if r.get("delivered"))  # fmt: skip
        for _, operation_id in delivered[:-DELIVERED_KEPT]:
            try:
                os.unlink(self._path(operation_id))
            except FileNotFoundError:
                pass


def _read(path: str) -> Optional[Dict[str, Any]]:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("report record %s is unreadable (%s); it is ignored", path, exc)
        return None
    return data if isinstance(data, dict) else None
