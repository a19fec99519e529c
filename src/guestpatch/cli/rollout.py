"""``guestpatch rollout``: list, show (and watch), start, halt, resume and cancel rollouts; preview the next
one (``plan``); list a rollout's machines and its timeline of installation attempts.

Every command is one call of the operator API under ``/v1`` (``docs/api.md``, ``docs/orchestrator.md``);
``-o json`` prints the server's body as it came. ``rollout why`` and ``vm why`` are in
:mod:`guestpatch.cli.why`; the rollout view with its bars in :mod:`guestpatch.cli.rollout_view`; the
watch loop in :mod:`guestpatch.cli.watch`.
"""

from __future__ import annotations

import enum
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import typer
from rich.console import Console

from guestpatch.cli.client import quote_segment
from guestpatch.cli.common import EXIT_ERROR, EXIT_USAGE, Invocation, choice, choices, command, require_name
from guestpatch.cli.output import Column, OutputFormat, dig, field, render, render_table
from guestpatch.cli.rollout_view import PLAIN, TERMINAL, plain_text, rollout_view
from guestpatch.cli.watch import DEFAULT_INTERVAL, watch
from guestpatch.core.records import MachineStatus
from guestpatch.errors import InvalidInput, UpstreamError

group = typer.Typer(
    name="rollout",
    help="Rollouts of releases: list, show (--watch), start, halt, resume, cancel, plan the next one, "
    "and why a machine is not patched yet.",
    no_args_is_help=True,
)

ROLLOUTS_PATH = "/v1/rollouts"
PLAN_PATH = "/v1/rolloutPlan"
EXIT_INTERRUPTED = 130


class Strategy(enum.StrEnum):
    """The server's strategies (``guestpatch.core.strategies.STRATEGIES``; a unit test keeps them equal)."""

    availability_first = "availability-first"
    all_at_once = "all-at-once"
    fixed_concurrency = "fixed-concurrency"
    zone_by_zone = "zone-by-zone"


RolloutId = Annotated[str, typer.Argument(metavar="ID", help="Rollout id, as `rollout list` shows it.",
                                          show_default=False)]
StrategyOpt = Annotated[str | None, typer.Option(
    "--strategy", metavar=choices(Strategy), callback=choice(Strategy), show_default=False,
    help="How machines are grouped and paced; default: availability-first (docs/orchestrator.md).",
)]


def rollout_path(rollout_id: str, *rest: str) -> str:
    """The operator API's path of one rollout (and of its sub-resources)."""
    return "/".join([ROLLOUTS_PATH, quote_segment(require_name(rollout_id, "ID")), *rest])


SUMMARY_COLUMNS = (
    field("Id", "id"),
    field("Release", "release"),
    field("Strategy", "strategy"),
    field("Status", "status"),
    field("Phase", "phase"),
    Column("Phases", lambda r: len(r.get("phases") or []) if isinstance(r, dict) else None),
    field("PhaseStatus", "phaseStatus"),
    field("PhaseDue", "phaseDue"),
    field("Created", "created"),
    field("Halted", "halted"),
)
MACHINE_COLUMNS = (
    field("Machine", "machine"),
    field("Region", "region"),
    field("Zone", "zone"),
    field("AvailabilitySet", "availabilitySet"),
    field("UpdateDomain", "updateDomain"),
    field("Tenant", "tenant"),
    field("Phase", "phase"),
    field("Wave", "wave"),
    field("Status", "status"),
    field("Attempts", "attempts"),
    field("Due", "due"),
    field("Reason", "reason"),
)
ATTEMPT_COLUMNS = (
    field("Machine", "machine"),
    field("Attempt", "attempt"),
    field("Phase", "phase"),
    field("Wave", "wave"),
    field("Start", "start"),
    field("End", "end"),
    field("Back", "back"),
    field("Outcome", "outcome"),
)
PLAN_COLUMNS = (
    field("Phase", "phase"),
    field("Canary", "canary"),
    field("Region", "region"),
    field("TimeZone", "timeZone"),
    field("Wave", "wave"),
    field("Machines", "machines"),
    field("Zones", "zones"),
    field("Tenants", "tenants"),
    field("AvailabilitySets", "availabilitySets"),
)


def print_rollout(invocation: Invocation, detail: Any) -> None:
    """A rollout body: as JSON (the default), as the view with bars (``-o table``), or not at all."""
    output = invocation.output or OutputFormat.json
    if output is not OutputFormat.table or not isinstance(detail, dict):
        render(detail, output, ())
        return
    now = datetime.now(UTC)
    if sys.stdout.isatty():
        Console(file=sys.stdout, highlight=False).print(rollout_view(detail, style=TERMINAL, now=now), soft_wrap=False)
    else:
        sys.stdout.write(plain_text(rollout_view(detail, style=PLAIN, now=now)))


def _detail(invocation: Invocation, rollout_id: str) -> dict[str, Any]:
    detail = invocation.client().json("GET", rollout_path(rollout_id), arm=False)
    if not isinstance(detail, dict):
        raise UpstreamError(f"the server answered GET {rollout_path(rollout_id)} without a rollout.", status=502,
                            code="BadResponse")
    return detail


@command(group, "list")
def list_(invocation: Invocation) -> None:
    """List every rollout, oldest first, with its status and current phase."""
    invocation.show(invocation.every(ROLLOUTS_PATH), SUMMARY_COLUMNS)


@command(group, "show", plain_output="json; with --watch: the view (table)")
def show(
    invocation: Invocation,
    *,
    rollout_id: RolloutId,
    watch_: Annotated[bool, typer.Option(
        "--watch", help="Follow the rollout until it is Completed or Cancelled: a live view on a terminal, one "
        "snapshot per interval elsewhere. Ctrl-C stops watching (exit 130).",
    )] = False,
    interval: Annotated[float | None, typer.Option(
        "--interval", metavar="S", min=0.5, max=3600, show_default=False,
        help=f"Seconds between two looks with --watch; default {DEFAULT_INTERVAL:g}.",
    )] = None,
) -> None:
    """Show a rollout: phases → regions with a bar each, the current gate, a halt and the machines behind it."""
    if interval is not None and not watch_:
        raise typer.BadParameter("only goes with --watch.", param_hint="--interval")
    rollout_id = require_name(rollout_id, "ID")
    if not watch_:
        print_rollout(invocation, _detail(invocation, rollout_id))
        return
    try:
        last = watch(
            lambda: _detail(invocation, rollout_id),
            interval=interval or DEFAULT_INTERVAL,
            output=invocation.output or OutputFormat.table,
            stream=sys.stdout,
        )
    except KeyboardInterrupt:
        typer.echo(f"error: stopped watching rollout {rollout_id}; it goes on on the server.", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    if last.get("status") == "Cancelled":
        typer.echo(f"error: rollout {rollout_id} was cancelled{_by_whom(last)}.", err=True)
        raise typer.Exit(EXIT_ERROR)


def _by_whom(detail: dict[str, Any]) -> str:
    for event in reversed(detail.get("history") or []):
        if isinstance(event, dict) and event.get("event") == "cancel" and event.get("by"):
            return f" by {event['by']}"
    return ""


def read_policy_file(path: Path) -> dict[str, Any]:
    """The policy object in a JSON file; :class:`InvalidInput` saying what is wrong with it otherwise."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot read the policy file {path}: {exc.strerror or exc}.",
                           target="--policy-file") from exc
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"the policy file {path} is not UTF-8 text.", target="--policy-file") from exc
    try:
        policy = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"the policy file {path} is not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).",
            target="--policy-file",
        ) from exc
    if not isinstance(policy, dict):
        raise InvalidInput(
            f"the policy file {path} must hold a JSON object of policy keys (docs/orchestrator.md), not "
            f"{type(policy).__name__ if policy is not None else 'null'}.",
            target="--policy-file",
        )
    return policy


@command(group, "start")
def start(
    invocation: Invocation,
    *,
    release: Annotated[str, typer.Option(
        "--release", metavar="RELEASE", help="Name of the release to roll out, e.g. 2026-11 or 2026-11-hotfix.",
    )],
    strategy: StrategyOpt = None,
    policy_file: Annotated[Path | None, typer.Option(
        "--policy-file", metavar="FILE", show_default=False,
        help='JSON object of policy keys (docs/orchestrator.md), e.g. {"offPeak": {"start": "01:00", '
        '"end": "05:00"}, "bakeTimeMinutes": 60}; default: the server\'s policy.',
    )] = None,
) -> None:
    """Start a rollout of a release now (the monthly release starts by itself)."""
    body: dict[str, Any] = {"release": require_name(release, "--release")}
    if strategy is not None:
        body["strategy"] = strategy
    if policy_file is not None:
        try:
            body["policy"] = read_policy_file(policy_file)
        except InvalidInput as exc:
            typer.echo(f"error: {exc.message}", err=True)
            raise typer.Exit(EXIT_USAGE) from exc
    try:
        detail = invocation.client().json("POST", ROLLOUTS_PATH, body=body, arm=False)
    except UpstreamError as exc:
        if policy_file is None or exc.target in {None, "release", "strategy", "fleet", "policy"}:
            raise
        raise UpstreamError(f"{exc.message} (policy key '{exc.target}' of {policy_file})", status=exc.status,
                            code=exc.code, target=exc.target) from exc
    print_rollout(invocation, detail)


@command(group, "halt")
def halt(
    invocation: Invocation,
    *,
    rollout_id: RolloutId,
    reason: Annotated[str | None, typer.Option(
        "--reason", metavar="TEXT", show_default=False,
        help="Why, for the record and for everyone who asks why a machine is not patched (at most 500 characters).",
    )] = None,
) -> None:
    """Halt a rollout: machines in flight finish, nothing new starts until it is resumed."""
    body = {"reason": reason} if reason is not None else None
    print_rollout(invocation, invocation.client().json("POST", rollout_path(rollout_id, "halt"), body=body, arm=False))


@command(group, "resume")
def resume(invocation: Invocation, *, rollout_id: RolloutId) -> None:
    """Resume a halted rollout (the gate that halted it is overridden)."""
    print_rollout(invocation, invocation.client().json("POST", rollout_path(rollout_id, "resume"), arm=False))


@command(group, "cancel")
def cancel(
    invocation: Invocation,
    *,
    rollout_id: RolloutId,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not prompt for confirmation.")] = False,
) -> None:
    """Cancel a rollout for good: nothing new starts; its waiting machines become Cancelled."""
    path = rollout_path(rollout_id, "cancel")
    if not yes:
        if not sys.stdin.isatty():
            raise typer.BadParameter("no terminal to confirm on: pass --yes to cancel.", param_hint="--yes")
        typer.confirm(f"Cancel rollout '{rollout_id}'? Its waiting machines will not be patched by it.", abort=True)
    print_rollout(invocation, invocation.client().json("POST", path, arm=False))


def plan_rows(plan: Any) -> list[dict[str, Any]]:
    """One row per wave of the plan (a region without waves gets one row of its own)."""
    rows: list[dict[str, Any]] = []
    for phase in (plan.get("phases") or []) if isinstance(plan, dict) else []:
        for region in phase.get("regions") or []:
            where = {"phase": phase.get("phase"), "canary": phase.get("canary"), "region": region.get("region"),
                     "timeZone": region.get("timeZone")}
            waves = region.get("waves") or [{"machines": region.get("machines")}]
            rows.extend({**where, **wave} for wave in waves)
    return rows


@command(group, "plan")
def plan(invocation: Invocation, *, strategy: StrategyOpt = None) -> None:
    """Preview the next rollout over the current fleet: its phases, their regions, and each region's waves."""
    url = PLAN_PATH + (f"?{urlencode({'strategy': strategy})}" if strategy else "")
    preview = invocation.client().json("GET", url, arm=False)
    output = invocation.output or OutputFormat.json
    if output is not OutputFormat.table:
        render(preview, output, ())
        return
    phases = dig(preview, "phases") or []
    typer.echo(f"{dig(preview, 'strategy')}: {dig(preview, 'machines')} machines in {len(phases)} "
               f"phase{'s' if len(phases) != 1 else ''}")
    rows = plan_rows(preview)
    if rows:
        render_table(rows, PLAN_COLUMNS, stream=sys.stdout)


@command(group, "machines")
def machines(
    invocation: Invocation,
    *,
    rollout_id: RolloutId,
    status: Annotated[str | None, typer.Option(
        "--status", metavar=choices(MachineStatus), callback=choice(MachineStatus), show_default=False,
        help="Only the machines with this status.",
    )] = None,
) -> None:
    """List a rollout's machines: where each is (region, zone, phase, wave), its status and its reason."""
    invocation.show(invocation.every(rollout_path(rollout_id, "machines"), {"status": status} if status else None),
                    MACHINE_COLUMNS)


@command(group, "timeline")
def timeline(invocation: Invocation, *, rollout_id: RolloutId) -> None:
    """List a rollout's finished installation attempts in order: machine, start, end, outcome."""
    invocation.show(invocation.every(rollout_path(rollout_id, "attempts")), ATTEMPT_COLUMNS)
