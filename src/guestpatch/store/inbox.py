"""The engine's inbox: reports about its commands, written by the server where they happen.

An agent's final report, the sweeper's timeout, a refused send, an unhealthy heartbeat: each becomes
an :class:`~guestpatch.core.records.AgentReport` row here, in the transaction that observed it. The
engine reads unacknowledged rows in order and acknowledges them after the commit that applied them.
A report id is unique, so writing the same report twice stores it once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, func, insert, select, update

from guestpatch.core.records import AgentReport, ReportKind
from guestpatch.store.tables import engine_inbox


def add(conn: Connection, report: AgentReport) -> bool:
    """Store ``report`` unless its id is there already; return whether it was new."""
    i = engine_inbox.c
    if conn.execute(select(i.id).where(i.id == report.id)).first() is not None:
        return False
    position = conn.execute(select(func.coalesce(func.max(i.position), 0))).scalar_one() + 1
    conn.execute(insert(engine_inbox).values(
        id=report.id, position=position, key=report.key, machine=report.machine, kind=str(report.kind),
        at=report.at, acked=False,
        payload={"not_offered": list(report.not_offered), "offers": [list(o) for o in report.offers],
                 "detail": report.detail},
    ))
    return True


def pending(conn: Connection, limit: int) -> list[AgentReport]:
    i = engine_inbox.c
    rows = conn.execute(
        select(engine_inbox).where(i.acked.is_(False)).order_by(i.position).limit(limit)
    ).mappings()
    return [
        AgentReport(
            id=r["id"], key=r["key"], machine=r["machine"], kind=ReportKind(r["kind"]), at=r["at"],
            not_offered=tuple(r["payload"].get("not_offered", ())),
            offers=tuple((str(o[0]), str(o[1]), str(o[2])) for o in r["payload"].get("offers", ())),
            detail=r["payload"].get("detail", ""),
        )
        for r in rows
    ]


def acknowledge(conn: Connection, ids: Sequence[str]) -> None:
    i = engine_inbox.c
    for start in range(0, len(ids), 500):
        conn.execute(update(engine_inbox).where(i.id.in_(list(ids[start:start + 500]))).values(acked=True))


def report_for(key: str, machine: str, kind: ReportKind, at: datetime, *, detail: str = "",
               not_offered: tuple[str, ...] = (), offers: tuple[tuple[str, str, str], ...] = ()) -> AgentReport:
    return AgentReport(id=f"{key}#{kind}", key=key, machine=machine, kind=kind, at=at, not_offered=not_offered,
                       offers=offers, detail=detail)
