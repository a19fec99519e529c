"""Agents: enrollment tokens, machine credentials, what each agent last reported, goal-state sequence.

Secrets (enrollment tokens, machine credentials) are stored as SHA-256 hashes only.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from guestpatch.store.tables import (
    agent_status,
    counters,
    enrollment_tokens,
    machine_credentials,
    virtual_machines,
)

ENROLLMENT_PREFIX = "gpe_"
CREDENTIAL_PREFIX = "gpm_"
GOAL_COUNTER = "goal_seq"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_secret(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


# ---------------------------------------------------------------- enrollment tokens


@dataclass(frozen=True)
class EnrollmentToken:
    id: int
    subscription: str
    resource_group: str
    expires_at: datetime
    max_uses: int
    uses: int


def create_enrollment_token(
    conn: Connection, *, token: str, subscription: str, resource_group: str, expires_at: datetime,
    max_uses: int, now: datetime,
) -> EnrollmentToken:
    result = conn.execute(
        insert(enrollment_tokens)
        .values(
            token_hash=digest(token), subscription=subscription, resource_group=resource_group,
            expires_at=expires_at, max_uses=max_uses, uses=0, created_at=now,
        )
        .returning(enrollment_tokens.c.id)
    )
    return EnrollmentToken(int(result.scalar_one()), subscription, resource_group, expires_at, max_uses, 0)


def consume_enrollment_token(conn: Connection, token: str, *, now: datetime) -> EnrollmentToken | None:
    """Use the token once if it is known, unexpired and has uses left (atomic); else None."""
    t = enrollment_tokens.c
    result = conn.execute(
        update(enrollment_tokens)
        .where(t.token_hash == digest(token), t.expires_at > now, t.uses < t.max_uses)
        .values(uses=t.uses + 1)
        .returning(t.id, t.subscription, t.resource_group, t.expires_at, t.max_uses, t.uses)
    ).first()
    if result is None:
        return None
    return EnrollmentToken(*result)


# ---------------------------------------------------------------- machine credentials


def issue_credential(conn: Connection, vm: int, *, now: datetime) -> str:
    """A new credential for ``vm``; earlier ones of the same VM are revoked."""
    c = machine_credentials.c
    conn.execute(update(machine_credentials).where(c.vm == vm, c.revoked_at.is_(None)).values(revoked_at=now))
    secret = new_secret(CREDENTIAL_PREFIX)
    conn.execute(insert(machine_credentials).values(vm=vm, secret_hash=digest(secret), created_at=now))
    return secret


def active_credentials(conn: Connection) -> dict[str, int]:
    """Every valid credential hash and the VM row it belongs to."""
    c = machine_credentials.c
    rows = conn.execute(select(c.secret_hash, c.vm).where(c.revoked_at.is_(None)))
    return {str(r[0]): int(r[1]) for r in rows}


# ---------------------------------------------------------------- goal-state sequence


def bump_goal(conn: Connection, vms: Iterable[int]) -> int:
    """Move the VMs' goal state to a new position in the global change sequence; return it.

    The counter row is updated in the caller's transaction, so the new ETags become visible exactly
    when the change that caused them commits (and concurrent writers serialise on the row).
    """
    ids = sorted(set(vms))
    if not ids:
        return current_goal_seq(conn)
    k = counters.c
    updated = conn.execute(
        update(counters).where(k.name == GOAL_COUNTER).values(value=k.value + 1).returning(k.value)
    ).scalar()
    if updated is None:
        conn.execute(insert(counters).values(name=GOAL_COUNTER, value=1))
        updated = 1
    seq = int(updated)
    conn.execute(update(virtual_machines).where(virtual_machines.c.id.in_(ids)).values(goal_seq=seq))
    return seq


def current_goal_seq(conn: Connection) -> int:
    value = conn.execute(select(counters.c.value).where(counters.c.name == GOAL_COUNTER)).scalar()
    return int(value or 0)


def goal_seqs_since(conn: Connection, after: int) -> list[tuple[int, int]]:
    """(vm row, goal_seq) of every VM whose goal state changed after position ``after``."""
    t = virtual_machines.c
    return [(int(vm), int(seq)) for vm, seq in conn.execute(select(t.id, t.goal_seq).where(t.goal_seq > after))]


# ---------------------------------------------------------------- agent status


@dataclass(frozen=True)
class AgentStatus:
    vm: int
    agent_version: str
    os: dict[str, Any]
    boot_time: datetime | None
    last_seen: datetime
    configuration: dict[str, Any] | None
    health: dict[str, Any] | None


def record_heartbeat(
    conn: Connection, vm: int, *, agent_version: str, os: dict[str, Any], boot_time: datetime | None,
    configuration: dict[str, Any] | None, health: dict[str, Any] | None, now: datetime,
) -> None:
    values = {
        "agent_version": agent_version, "os": os, "boot_time": boot_time, "last_seen": now,
        "configuration": configuration, "health": health,
    }
    result = conn.execute(update(agent_status).where(agent_status.c.vm == vm).values(**values))
    if result.rowcount == 0:
        conn.execute(insert(agent_status).values(vm=vm, **values))


def touch(conn: Connection, vm: int, *, now: datetime) -> None:
    conn.execute(update(agent_status).where(agent_status.c.vm == vm).values(last_seen=now))


def all_statuses(conn: Connection) -> dict[int, AgentStatus]:
    rows = conn.execute(select(agent_status)).mappings()
    return {int(r["vm"]): AgentStatus(**{f: r[f] for f in AgentStatus.__dataclass_fields__}) for r in rows}


def get_status(conn: Connection, vm: int) -> AgentStatus | None:
    row = conn.execute(select(agent_status).where(agent_status.c.vm == vm)).mappings().first()
    if row is None:
        return None
    return AgentStatus(**{f: row[f] for f in AgentStatus.__dataclass_fields__})
