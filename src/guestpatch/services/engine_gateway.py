"""The engine's ports on the real system: commands become patch operations, reports come from the inbox,
and the fleet is read from the VMs and what their agents last reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from guestpatch.clock import Clock
from guestpatch.config import Config
from guestpatch.core import fleet as core_fleet
from guestpatch.core import outcomes
from guestpatch.core import vm as vmdoc
from guestpatch.core.records import AgentReport, Command, ReportKind
from guestpatch.core.regions import RegionCatalog
from guestpatch.core.windows import OffPeak
from guestpatch.errors import Conflict, GuestpatchError, NotFound
from guestpatch.services import engine_reports
from guestpatch.services.agents import TIME_ZONE_TAG
from guestpatch.services.catalogs import Catalogs
from guestpatch.services.instance import agent_silence
from guestpatch.services.patch_ops import ASSESS, INSTALL, PatchOperations
from guestpatch.services.versions import older_than
from guestpatch.store import agents as agent_store
from guestpatch.store import inbox
from guestpatch.store import vms as vm_store
from guestpatch.store.db import Database
from guestpatch.store.operations import ActiveOperationExists
from guestpatch.store.vms import VmKey

#: Tag holding a machine's own off-peak hours, "HH:MM-HH:MM" in its time zone.
OFF_PEAK_TAG = "guestpatch-off-peak"


def vm_key(machine: str) -> VmKey:
    subscription, resource_group, name = machine.split("/", 2)
    return VmKey(subscription, resource_group, name)


@dataclass(frozen=True)
class OperationsGateway:
    """:class:`guestpatch.engine.ports.AgentGateway` over patch operations and the engine inbox."""

    db: Database
    config: Config
    clock: Clock
    patch_ops: PatchOperations

    def send(self, command: Command) -> None:
        now = self.clock.now()
        kind = INSTALL if command.kind == "install" else ASSESS
        body = (
            outcomes.install_parameters(
                max_duration_s=command.max_duration_s, reboot_setting=command.reboot_setting, pins=command.pins
            )
            if kind == INSTALL
            else {}
        )
        refusal: tuple[ReportKind, str] | None = None
        try:
            key = vm_key(command.machine)
            if not self._agent_alive(key):
                refusal = (ReportKind.POWERED_OFF, "the machine's agent is not reporting (machine off or unreachable)")
            else:
                self.patch_ops.start(
                    key, kind, body, api_version=None, origin=engine_reports.ROLLOUT, idempotency_key=command.key
                )
        except ActiveOperationExists as exc:
            refusal = (ReportKind.WINDOW_EXCEEDED, f"another operation was running: {exc.message}")
        except NotFound:
            refusal = (ReportKind.INSTALL_FAILED, "the virtual machine was deleted")
        except Conflict as exc:  # deallocated, agent too old
            refusal = (ReportKind.POWERED_OFF if "deallocated" in exc.message else ReportKind.INSTALL_FAILED,
                       exc.message)
        except (GuestpatchError, ValueError) as exc:
            refusal = (ReportKind.INSTALL_FAILED, str(exc))
        if refusal is not None:
            with self.db.begin() as conn:
                engine_reports.on_refused(conn, command.key, command.machine, refusal[0], refusal[1], now)

    def _agent_alive(self, key: VmKey) -> bool:
        with self.db.connect() as conn:
            record = vm_store.get(conn, key)
            if record is None:
                raise NotFound(f"virtual machine {key.name} does not exist")
            status = agent_store.get_status(conn, record.id)
        if status is None:
            return False
        return self.clock.now() - status.last_seen <= agent_silence(self.config, self.clock)

    def reports(self, limit: int = 10_000) -> list[AgentReport]:
        with self.db.connect() as conn:
            return inbox.pending(conn, limit)

    def acknowledge(self, report_ids: Sequence[str]) -> None:
        if report_ids:
            with self.db.begin() as conn:
                inbox.acknowledge(conn, list(report_ids))


@dataclass(frozen=True)
class StoreFleetSource:
    """:class:`guestpatch.engine.ports.FleetSource`: the VMs as the orchestrator sees them, right now."""

    db: Database
    config: Config
    catalogs: Catalogs

    def snapshot(self) -> core_fleet.Fleet:
        with self.db.connect() as conn:
            regions = self.catalogs.regions(conn)
            records = list(vm_store.all_records(conn))
            statuses = agent_store.all_statuses(conn)
        builder = core_fleet.FleetBuilder(_core_regions(regions, {r.location for r in records}))
        for record in records:
            builder.add_machine(self._machine(record, statuses.get(record.id)))
        return builder.build()

    def _machine(self, record: vm_store.VmRecord, status: agent_store.AgentStatus | None) -> core_fleet.Machine:
        spec = vmdoc.parse_vm(record.document, name=record.name)
        tags = record.document.get("tags") if isinstance(record.document.get("tags"), dict) else {}
        assert isinstance(tags, dict)
        reason = None
        if status is None:
            reason = "no guest agent has reported from this machine"
        elif older_than(status.agent_version, self.config.min_agent_version):
            reason = f"its guest agent {status.agent_version} is older than the minimum {self.config.min_agent_version}"
        os_key = "linux" if spec.os_type == "Linux" else "windows"
        if status is not None and status.os.get("distro"):
            os_key = f"{status.os['distro']}-{status.os.get('version', '')}".rstrip("-")
        return core_fleet.Machine(
            name=engine_reports.machine_name(record),
            tenant=record.subscription,
            region=record.location,
            zone=record.zone,
            availability_set=record.availability_set_key,
            update_domain=record.update_domain,
            windows_time_zone=spec.time_zone,
            time_zone_override=_tag(tags, TIME_ZONE_TAG),
            off_peak_override=_off_peak(_tag(tags, OFF_PEAK_TAG)),
            scale_set_flex=record.scale_set_key is not None,
            patch_mode=spec.patch_mode,
            assessment_mode=spec.assessment_mode,
            bypass_platform_safety_checks=bool(spec.bypass_platform_safety_checks),
            os=os_key,
            ineligible_reason=reason,
        )


def _tag(tags: dict[str, object], name: str) -> str | None:
    value = tags.get(name)
    return value if isinstance(value, str) and value else None


def _off_peak(text: str | None) -> OffPeak | None:
    if text is None:
        return None
    start, _, end = text.partition("-")
    try:
        return OffPeak.parse(start.strip(), end.strip())
    except GuestpatchError:
        return None  # a malformed tag falls back to the region's hours (shown by "why not yet")


def _core_regions(catalog: RegionCatalog, used: set[str]) -> list[core_fleet.Region]:
    out = []
    for region in catalog.regions():
        out.append(core_fleet.Region(name=region.name, time_zone=region.time_zone, pair=region.pair))
    known = {r.name for r in out}
    missing = used - known
    if missing:  # an operator region removed while VMs still live there: keep them plannable
        out += [core_fleet.Region(name=name, time_zone="UTC") for name in sorted(missing)]
    return out
