"""Read-side queries for the dashboard: fleet figures, the machine list, one machine in full.

Every machine has one **patch status**, decided in SQL so that the list filters and pages on it:

==================  ==================================================================================
``not-reporting``   no agent has reported, or its agent has been silent for longer than the instance
                    view tolerates (3 poll intervals plus a long-poll)
``failed``          its latest finished installation failed (result ``Failed``, or no result at all)
``pending``         its latest assessment lists Critical or Security patches
``never-assessed``  its agent reports, but no assessment has produced a result yet
``compliant``       assessed, and no Critical or Security patch is pending
==================  ==================================================================================

The first rule that holds wins (a silent agent makes every other figure stale, so it comes first).
Critical/Security figures by region and tenant count the latest assessment of every machine,
whatever its status. Time is read from the clock once per query and passed into the SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, func, or_, select

from guestpatch.clock import Clock
from guestpatch.config import Config
from guestpatch.core import vm as vmdoc
from guestpatch.errors import NotFound
from guestpatch.services.catalogs import Catalogs
from guestpatch.services.instance import InstanceViews, agent_silence
from guestpatch.services.patch_ops import ASSESS, INSTALL
from guestpatch.store import agents as agent_store
from guestpatch.store import operations as op_store
from guestpatch.store import vms as vm_store
from guestpatch.store.db import Database
from guestpatch.store.tables import agent_status, api_tokens, operations, virtual_machines, vm_patches
from guestpatch.store.vms import VmKey

STATUSES = ("compliant", "pending", "never-assessed", "not-reporting", "failed")
STATUS_LABELS = {
    "compliant": "Compliant",
    "pending": "Critical/Security pending",
    "never-assessed": "Never assessed",
    "not-reporting": "Agent not reporting",
    "failed": "Last installation failed",
}
PATCH_MODES = ("AutomaticByPlatform", "ImageDefault", "AutomaticByOS", "Manual")
CRITICAL_SECURITY = ("Critical", "Security")


@dataclass(frozen=True)
class FleetFilter:
    """What the machine list is narrowed to; ``None`` means no restriction."""

    q: str | None = None  # part of the name or resource group, case-insensitive
    region: str | None = None
    tenant: str | None = None
    patch_mode: str | None = None
    status: str | None = None


@dataclass(frozen=True)
class Group:
    """One region or tenant: its machines, those with Critical/Security pending, and those patches."""

    key: str
    label: str
    machines: int
    pending_machines: int
    pending_patches: int


@dataclass(frozen=True)
class FleetSummary:
    total: int
    by_status: dict[str, int]  # every status of STATUSES, in that order
    by_patch_mode: dict[str, int]  # modes in use, PATCH_MODES order first
    by_region: list[Group]
    by_tenant: list[Group]
    pending_patches: int  # Critical/Security patches pending, summed over machines
    at: datetime


@dataclass(frozen=True)
class MachineRow:
    subscription: str
    resource_group: str
    name: str
    location: str
    patch_mode: str
    power_state: str
    status: str
    critical: int  # Critical/Security patches pending
    other: int
    agent_version: str | None
    last_seen: datetime | None


@dataclass(frozen=True)
class MachinePage:
    rows: list[MachineRow]
    total: int
    page: int
    pages: int
    page_size: int


@dataclass(frozen=True)
class OperationView:
    id: str
    kind: str
    origin: str
    status: str  # the result's status when there is one (Succeeded, Failed, ...), else the operation's
    requested_at: datetime
    ended_at: datetime | None
    installed: int | None
    failed: int | None
    reboot_pending: bool  # an assessment found a reboot pending
    error: str | None


@dataclass(frozen=True)
class MachineFacts:
    """What decides whether and when the platform patches a machine (input of the why-not-yet box)."""

    patch_mode: str
    assessment_mode: str
    bypass_platform_safety_checks: bool
    power_state: str
    agent_version: str | None  # None: no agent has ever reported
    last_seen: datetime | None
    reporting: bool
    min_agent_version: str
    configuration: list[dict[str, Any]]  # the instance view's configurationStatuses
    active_operation: tuple[str, str, datetime] | None  # kind, status, requested at
    last_installation: tuple[str, str | None] | None  # status, error message
    critical: int
    assessed: bool


@dataclass(frozen=True)
class MachineDetail:
    row: MachineRow
    vm_id: str
    os_type: str
    zone: str | None
    availability_set: str | None
    update_domain: int | None
    image: str | None
    assessment_mode: str
    reboot_setting: str | None
    instance_view: dict[str, Any]  # exactly what the ARM instanceView route answers
    health: dict[str, Any] | None
    patches: list[op_store.PatchRow]  # of the latest assessment: Critical, Security, then the rest, by name
    last_assessment: OperationView | None  # the latest that ended (not superseded)
    operations: list[OperationView]
    facts: MachineFacts
    at: datetime


@dataclass(frozen=True)
class FleetViews:
    db: Database
    config: Config
    clock: Clock
    catalogs: Catalogs
    views: InstanceViews

    # ------------------------------------------------------------------ fleet
    def summary(self) -> FleetSummary:
        now = self.clock.now()
        fleet = self._fleet(now).subquery("fleet")
        f = fleet.c
        query = select(
            f.status, f.patch_mode, f.location, f.subscription, func.count(),
            func.sum(case((f.critical > 0, 1), else_=0)), func.sum(f.critical),
        ).group_by(f.status, f.patch_mode, f.location, f.subscription)
        with self.db.connect() as conn:
            rows = conn.execute(query).all()
            regions = self.catalogs.regions(conn)
        by_status = dict.fromkeys(STATUSES, 0)
        modes: dict[str, int] = {}
        region_groups: dict[str, list[int]] = {}
        tenant_groups: dict[str, list[int]] = {}
        for status, mode, location, tenant, count, pending_machines, pending in rows:
            counts = (int(count), int(pending_machines or 0), int(pending or 0))
            by_status[status] += counts[0]
            modes[mode] = modes.get(mode, 0) + counts[0]
            for groups, key in ((region_groups, location), (tenant_groups, tenant)):
                acc = groups.setdefault(key, [0, 0, 0])
                for i, value in enumerate(counts):
                    acc[i] += value

        def label(name: str) -> str:
            region = regions.get(name)
            return region.display_name if region else name

        return FleetSummary(
            total=sum(by_status.values()),
            by_status=by_status,
            by_patch_mode=dict(sorted(modes.items(), key=lambda kv: (_mode_rank(kv[0]), kv[0]))),
            by_region=_groups(region_groups, label),
            by_tenant=_groups(tenant_groups, str),
            pending_patches=sum(g[2] for g in region_groups.values()),
            at=now,
        )

    def filter_options(self) -> tuple[list[tuple[str, str]], list[str]]:
        """Regions ``(name, display name)`` and tenants that have machines, for the list's filters."""
        t = virtual_machines.c
        with self.db.connect() as conn:
            locations = conn.execute(select(t.location).distinct().order_by(t.location)).scalars().all()
            tenants = conn.execute(select(t.subscription).distinct().order_by(t.subscription)).scalars().all()
            regions = self.catalogs.regions(conn)
        labelled = []
        for name in locations:
            region = regions.get(name)
            labelled.append((name, region.display_name if region else name))
        return labelled, list(tenants)

    def known_region(self, name: str) -> bool:
        with self.db.connect() as conn:
            return self.catalogs.regions(conn).get(name) is not None

    def token_active(self, token_id: int) -> bool:
        """Whether the API token ``token_id`` is still active (a dashboard session ends with its token)."""
        k = api_tokens.c
        with self.db.connect() as conn:
            found = conn.execute(select(k.id).where(k.id == token_id, k.revoked_at.is_(None))).first()
        return found is not None

    # ------------------------------------------------------------------ machine list
    def machines(self, flt: FleetFilter, *, page: int, page_size: int) -> MachinePage:
        """One page (1-based) of machines matching ``flt``, ordered by name, resource group, tenant."""
        fleet = self._fleet(self.clock.now()).subquery("fleet")
        f = fleet.c
        conditions: list[Any] = []
        if flt.q:
            like = "%" + flt.q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            conditions.append(or_(f.name_key.like(like, escape="\\"), f.resource_group_key.like(like, escape="\\")))
        for column, value in ((f.location, flt.region), (f.subscription_key, flt.tenant and flt.tenant.lower()),
                              (f.patch_mode, flt.patch_mode), (f.status, flt.status)):
            if value:
                conditions.append(column == value)
        with self.db.connect() as conn:
            total = int(conn.execute(select(func.count()).select_from(fleet).where(*conditions)).scalar_one())
            pages = max(1, -(-total // page_size))
            rows = conn.execute(
                select(fleet).where(*conditions)
                .order_by(f.name_key, f.resource_group_key, f.subscription_key, f.id)
                .offset((page - 1) * page_size).limit(page_size)
            ).mappings().all()
        return MachinePage([_row(r) for r in rows], total, page, pages, page_size)

    # ------------------------------------------------------------------ one machine
    def machine(self, subscription: str, resource_group: str, name: str) -> MachineDetail:
        """Everything the machine page shows; NotFound when there is no such machine."""
        now = self.clock.now()
        with self.db.connect() as conn:
            record = vm_store.get(conn, VmKey(subscription, resource_group, name))
            if record is None:
                raise NotFound(
                    f"There is no machine '{name}' in resource group '{resource_group}' of tenant '{subscription}'.",
                    target=name,
                )
            row = conn.execute(
                self._fleet(now, only=record.id).where(virtual_machines.c.id == record.id)
            ).mappings().one()
            status = agent_store.get_status(conn, record.id)
            patches = op_store.patches_of(conn, record.id)
            history = op_store.history(conn, record.id, limit=25)
            active = op_store.active_for_vm(conn, record.id)
        view = self.views.instance_view(record)
        spec = vmdoc.parse_vm(record.document, name=record.name)
        ops = [_operation(op) for op in history]
        machine_row = _row(row)
        last_install = next((o for o in ops if o.kind == INSTALL and o.ended_at is not None), None)
        facts = MachineFacts(
            patch_mode=spec.patch_mode,
            assessment_mode=spec.assessment_mode,
            bypass_platform_safety_checks=bool(spec.bypass_platform_safety_checks),
            power_state=record.power_state,
            agent_version=status.agent_version if status else None,
            last_seen=status.last_seen if status else None,
            reporting=machine_row.status != "not-reporting",
            min_agent_version=self.config.min_agent_version,
            configuration=[s for s in view["patchStatus"]["configurationStatuses"] if isinstance(s, dict)],
            active_operation=(active.kind, active.status, active.requested_at) if active else None,
            last_installation=(last_install.status, last_install.error) if last_install else None,
            critical=machine_row.critical,
            assessed=bool(row["assessed"]),
        )
        return MachineDetail(
            row=machine_row,
            vm_id=record.vm_id,
            os_type=record.os_type,
            zone=record.zone,
            availability_set=spec.availability_set_id,
            update_domain=record.update_domain,
            image=spec.image.urn if spec.image else spec.image_id,
            assessment_mode=spec.assessment_mode,
            reboot_setting=spec.reboot_setting,
            instance_view=view,
            health=status.health if status else None,
            patches=sorted(patches, key=lambda p: (_class_rank(p.classification), p.name, p.version or "")),
            last_assessment=next((o for o in ops if o.kind == ASSESS and o.ended_at and o.status != "Canceled"), None),
            operations=ops,
            facts=facts,
            at=now,
        )

    # ------------------------------------------------------------------ the status query
    def stale_before(self, now: datetime) -> datetime:
        """Agents last seen before this moment count as not reporting (as in the instance view; agent timings
        are wall seconds, converted into the clock's time)."""
        return now - agent_silence(self.config, self.clock)

    def _fleet(self, now: datetime, *, only: int | None = None) -> Select[Any]:
        """Every machine (or the one with row id ``only``) with its patch status and pending counts."""
        t, a, o, p = virtual_machines.c, agent_status.c, operations.c, vm_patches.c
        mine_p = [p.vm == only] if only is not None else []  # SQLite does not push the filter down itself
        mine_o = [o.vm == only] if only is not None else []
        counts = (
            select(
                p.vm.label("vm"),
                func.sum(case((p.classification.in_(CRITICAL_SECURITY), 1), else_=0)).label("critical"),
                func.count().label("patches"),
            )
            .where(*mine_p)
            .group_by(p.vm)
            .subquery("counts")
        )
        ranked = (
            select(
                o.vm.label("vm"),
                o.status.label("op_status"),
                o.result["status"].as_string().label("result_status"),
                func.row_number().over(partition_by=o.vm, order_by=(o.requested_at.desc(), o.id.desc())).label("rn"),
            )
            .where(o.kind == INSTALL, o.status.in_(op_store.FINAL), *mine_o)
            .subquery("ranked")
        )
        assessed = select(o.vm.label("vm")).where(o.kind == ASSESS, o.status == "Succeeded", *mine_o).group_by(o.vm)
        assessed_sq = assessed.subquery("assessed")
        critical = func.coalesce(counts.c.critical, 0)
        status = case(
            (or_(a.last_seen.is_(None), a.last_seen < self.stale_before(now)), "not-reporting"),
            (or_(ranked.c.op_status == "Failed", ranked.c.result_status == "Failed"), "failed"),
            (critical > 0, "pending"),
            (assessed_sq.c.vm.is_(None), "never-assessed"),
            else_="compliant",
        )
        joined = (
            virtual_machines.outerjoin(agent_status, a.vm == t.id)
            .outerjoin(counts, counts.c.vm == t.id)
            .outerjoin(ranked, and_(ranked.c.vm == t.id, ranked.c.rn == 1))
            .outerjoin(assessed_sq, assessed_sq.c.vm == t.id)
        )
        return select(
            t.id, t.subscription, t.subscription_key, t.resource_group, t.resource_group_key, t.name, t.name_key,
            t.location, t.patch_mode, t.power_state, status.label("status"), critical.label("critical"),
            (func.coalesce(counts.c.patches, 0) - critical).label("other"),
            a.agent_version, a.last_seen, assessed_sq.c.vm.is_not(None).label("assessed"),
        ).select_from(joined)


def _class_rank(classification: str) -> int:
    return CRITICAL_SECURITY.index(classification) if classification in CRITICAL_SECURITY else 2


def _mode_rank(mode: str) -> int:
    return PATCH_MODES.index(mode) if mode in PATCH_MODES else len(PATCH_MODES)


def _groups(groups: dict[str, list[int]], label: Any) -> list[Group]:
    """Groups with the most pending patches first, then by name."""
    out = [Group(key, label(key), m, pm, pp) for key, (m, pm, pp) in groups.items()]
    return sorted(out, key=lambda g: (-g.pending_patches, -g.pending_machines, g.key))


def _row(r: Any) -> MachineRow:
    return MachineRow(
        subscription=r["subscription"], resource_group=r["resource_group"], name=r["name"], location=r["location"],
        patch_mode=r["patch_mode"], power_state=r["power_state"], status=r["status"], critical=int(r["critical"]),
        other=int(r["other"]), agent_version=r["agent_version"], last_seen=r["last_seen"],
    )


def _operation(op: op_store.Operation) -> OperationView:
    result = op.result or {}
    error = result.get("error") or op.error
    message = None
    if isinstance(error, dict):
        message = str(error.get("message") or error.get("code") or "") or None
    installed = result.get("installedPatchCount") if op.kind == INSTALL else None
    failed = result.get("failedPatchCount") if op.kind == INSTALL else None
    return OperationView(
        id=op.id, kind=op.kind, origin=op.origin, status=str(result.get("status") or op.status),
        requested_at=op.requested_at, ended_at=op.ended_at,
        installed=installed if isinstance(installed, int) else None,
        failed=failed if isinstance(failed, int) else None, reboot_pending=result.get("rebootPending") is True,
        error=message,
    )

