"""The engine's :class:`~guestpatch.engine.ports.RolloutRepository` on SQLAlchemy (SQLite and PostgreSQL).

Records are kept as their JSON documents (``to_dict``/``from_dict`` of :mod:`guestpatch.core.records`)
with the few columns queries need beside them. ``commit`` is one transaction guarded by the rollout's
version, so a deposed engine cannot overwrite its successor; commands enter the outbox under their
idempotency key, so a command created twice is stored once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from guestpatch.core.records import AttemptRecord, Command, MachineRecord, RolloutRecord
from guestpatch.engine.ports import UnitOfWork
from guestpatch.errors import Conflict, NotFound
from guestpatch.store.db import Database
from guestpatch.store.tables import consumed_reports, engine_outbox, rollout_attempts, rollout_machines, rollouts

_CHUNK = 500  # rows per IN (...) list / executemany batch


class SqlRolloutRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # ------------------------------------------------------------------ rollouts
    def create(self, rollout: RolloutRecord, machines: Sequence[MachineRecord], commands: Sequence[Command]) -> None:
        with self.db.begin() as conn:
            try:
                with conn.begin_nested():
                    conn.execute(insert(rollouts).values(
                        id=rollout.id, version=rollout.version, status=str(rollout.status),
                        release=rollout.release, created_at=rollout.created, record=rollout.to_dict(),
                    ))
            except IntegrityError as exc:
                raise Conflict(f"The rollout '{rollout.id}' already exists.", target=rollout.id) from exc
            rows = [
                {"rollout": rollout.id, "name": m.machine.name, "position": i, "status": str(m.status),
                 "record": m.to_dict()}
                for i, m in enumerate(machines)
            ]
            for start in range(0, len(rows), _CHUNK):
                conn.execute(insert(rollout_machines), rows[start:start + _CHUNK])
            self._enqueue(conn, commands)

    def load(self, rollout_id: str) -> tuple[RolloutRecord, list[MachineRecord]]:
        with self.db.connect() as conn:
            doc = conn.execute(select(rollouts.c.record).where(rollouts.c.id == rollout_id)).scalar()
            if doc is None:
                raise NotFound(f"The rollout '{rollout_id}' does not exist.", target=rollout_id)
            m = rollout_machines.c
            machines = [
                MachineRecord.from_dict(record)
                for record in conn.execute(
                    select(m.record).where(m.rollout == rollout_id).order_by(m.position)
                ).scalars()
            ]
        return RolloutRecord.from_dict(dict(doc)), machines

    def list_rollouts(self) -> list[RolloutRecord]:
        with self.db.connect() as conn:
            docs = conn.execute(select(rollouts.c.record).order_by(rollouts.c.created_at, rollouts.c.id)).scalars()
            return [RolloutRecord.from_dict(dict(doc)) for doc in docs]

    def commit(self, unit: UnitOfWork) -> None:
        rollout = unit.rollout
        if rollout.version != unit.expected_version + 1:
            raise Conflict(
                f"A unit for rollout '{rollout.id}' must move its version from {unit.expected_version} to "
                f"{unit.expected_version + 1}, not to {rollout.version}.",
                target=rollout.id,
            )
        with self.db.begin() as conn:
            r = rollouts.c
            moved = conn.execute(
                update(rollouts)
                .where(r.id == rollout.id, r.version == unit.expected_version)
                .values(version=rollout.version, status=str(rollout.status), record=rollout.to_dict())
            )
            if moved.rowcount != 1:
                exists = conn.execute(select(r.version).where(r.id == rollout.id)).scalar()
                if exists is None:
                    raise NotFound(f"The rollout '{rollout.id}' does not exist.", target=rollout.id)
                raise Conflict(
                    f"The rollout '{rollout.id}' is at version {exists}, not {unit.expected_version}: "
                    "another engine wrote it.",
                    target=rollout.id,
                )
            self._upsert_machines(conn, rollout.id, unit.machines)
            self._append_attempts(conn, rollout.id, unit.attempts)
            self._enqueue(conn, unit.commands)
            fresh = self._new_ids(conn, unit.consumed_reports)
            if fresh:
                conn.execute(insert(consumed_reports), [{"id": i, "rollout": rollout.id} for i in fresh])

    def _upsert_machines(self, conn: Connection, rollout_id: str, machines: Sequence[MachineRecord]) -> None:
        if not machines:
            return
        m = rollout_machines.c
        names = [rec.machine.name for rec in machines]
        known: set[str] = set()
        for start in range(0, len(names), _CHUNK):
            chunk = names[start:start + _CHUNK]
            known.update(conn.execute(select(m.name).where(m.rollout == rollout_id, m.name.in_(chunk))).scalars())
        updates = [rec for rec in machines if rec.machine.name in known]
        inserts = [rec for rec in machines if rec.machine.name not in known]
        for rec in updates:
            conn.execute(
                update(rollout_machines)
                .where(m.rollout == rollout_id, m.name == rec.machine.name)
                .values(status=str(rec.status), record=rec.to_dict())
            )
        if inserts:
            position = conn.execute(
                select(func.coalesce(func.max(m.position), -1)).where(m.rollout == rollout_id)
            ).scalar_one()
            conn.execute(insert(rollout_machines), [
                {"rollout": rollout_id, "name": rec.machine.name, "position": position + 1 + i,
                 "status": str(rec.status), "record": rec.to_dict()}
                for i, rec in enumerate(inserts)
            ])

    def _append_attempts(self, conn: Connection, rollout_id: str, attempts: Sequence[AttemptRecord]) -> None:
        if not attempts:
            return
        a = rollout_attempts.c
        position = conn.execute(
            select(func.coalesce(func.max(a.position), -1)).where(a.rollout == rollout_id)
        ).scalar_one()
        conn.execute(insert(rollout_attempts), [
            {"rollout": rollout_id, "position": position + 1 + i, "record": att.to_dict()}
            for i, att in enumerate(attempts)
        ])

    # ------------------------------------------------------------------ outbox
    def _enqueue(self, conn: Connection, commands: Sequence[Command]) -> None:
        if not commands:
            return
        o = engine_outbox.c
        keys = [c.key for c in commands]
        present: set[str] = set()
        for start in range(0, len(keys), _CHUNK):
            present.update(conn.execute(select(o.key).where(o.key.in_(keys[start:start + _CHUNK]))).scalars())
        position = conn.execute(select(func.coalesce(func.max(o.position), 0))).scalar_one()
        rows = []
        for command in commands:
            if command.key in present:
                continue
            present.add(command.key)
            position += 1
            rows.append({"key": command.key, "position": position, "command": command.to_dict(), "dispatched": False})
        if rows:
            conn.execute(insert(engine_outbox), rows)

    def outbox(self, limit: int = 10_000) -> list[Command]:
        o = engine_outbox.c
        with self.db.connect() as conn:
            docs = conn.execute(
                select(o.command).where(o.dispatched.is_(False)).order_by(o.position).limit(limit)
            ).scalars()
            return [Command.from_dict(dict(doc)) for doc in docs]

    def mark_dispatched(self, keys: Sequence[str]) -> None:
        if not keys:
            return
        o = engine_outbox.c
        with self.db.begin() as conn:
            for start in range(0, len(keys), _CHUNK):
                conn.execute(update(engine_outbox).where(o.key.in_(list(keys[start:start + _CHUNK])))
                             .values(dispatched=True))

    # ------------------------------------------------------------------ reports and attempts
    def consumed(self, report_ids: Sequence[str]) -> set[str]:
        if not report_ids:
            return set()
        with self.db.connect() as conn:
            return set(report_ids) - set(self._new_ids(conn, report_ids))

    def _new_ids(self, conn: Connection, report_ids: Sequence[str]) -> list[str]:
        ids = list(dict.fromkeys(report_ids))
        seen: set[str] = set()
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start:start + _CHUNK]
            seen.update(conn.execute(select(consumed_reports.c.id).where(consumed_reports.c.id.in_(chunk))).scalars())
        return [i for i in ids if i not in seen]

    def attempts(self, rollout_id: str, offset: int = 0) -> list[AttemptRecord]:
        a = rollout_attempts.c
        with self.db.connect() as conn:
            docs = conn.execute(
                select(a.record).where(a.rollout == rollout_id, a.position >= offset).order_by(a.position)
            ).scalars()
            return [_attempt(dict(doc)) for doc in docs]


def _attempt(doc: dict[str, Any]) -> AttemptRecord:
    def when(value: str | None) -> datetime | None:
        return None if value is None else datetime.fromisoformat(value)

    start, end = when(doc["start"]), when(doc["end"])
    assert start is not None
    assert end is not None
    return AttemptRecord(**{**doc, "start": start, "end": end, "back": when(doc.get("back"))})
