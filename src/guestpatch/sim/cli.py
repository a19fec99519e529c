"""``guestpatch simulate generate|run``: synthetic fleets and simulated rollouts (docs/simulator.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from guestpatch.errors import GuestpatchError


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text())
    except OSError as exc:
        raise typer.BadParameter(f"cannot read {what} {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"{what} {path} is not JSON: {exc}") from exc


def register(app: typer.Typer) -> None:
    simulate = typer.Typer(help="Simulate fleets and rollouts on a virtual clock.", no_args_is_help=True)
    app.add_typer(simulate, name="simulate")

    @simulate.command()
    def generate(
        machines: Annotated[int, typer.Option(help="Number of machines.")] = 1000,
        regions: Annotated[int, typer.Option(help="Number of regions (they come in geo-pairs).")] = 4,
        zones: Annotated[int, typer.Option(help="Availability zones per region (0-5).")] = 3,
        availability_set_share: Annotated[float, typer.Option(help="Share of machines in availability sets.")] = 0.3,
        update_domains: Annotated[int, typer.Option(help="Update domains per availability set.")] = 5,
        tenants: Annotated[int, typer.Option(help="Number of tenants (subscriptions).")] = 50,
        seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same fleet.")] = 0,
        output: Annotated[Path, typer.Option("-o", "--output", help="Fleet file to write.")] = Path("fleet.json"),
    ) -> None:
        """Generate a synthetic fleet file."""
        from guestpatch.sim.fleetfile import generate as make

        try:
            doc = make(machines=machines, regions=regions, zones=zones,
                       availability_set_share=availability_set_share, update_domains=update_domains,
                       tenants=tenants, seed=seed)
        except GuestpatchError as exc:
            raise typer.BadParameter(exc.message) from exc
        output.write_text(json.dumps(doc, separators=(",", ":")))
        typer.echo(f"wrote {len(doc['machines'])} machines in {regions} regions to {output}")

    @simulate.command()
    def run(
        fleet: Annotated[Path, typer.Option(help="Fleet file (from 'simulate generate').")],
        out: Annotated[Path, typer.Option(help="Directory for metrics.json and timeline.jsonl.")],
        policy: Annotated[Path | None, typer.Option(help="Policy JSON file (docs/orchestrator.md).")] = None,
        bad_patch: Annotated[bool, typer.Option(help="Release a patch that breaks every machine it touches.")] = False,
        seed: Annotated[int, typer.Option(help="Seed of the simulated agents.")] = 0,
        strategy: Annotated[str, typer.Option(
            help="availability-first, all-at-once, fixed-concurrency or zone-by-zone.")] = "availability-first",
    ) -> None:
        """Run one release through the real engine against simulated agents."""
        from guestpatch.core.policy import Policy
        from guestpatch.core.strategies import STRATEGIES
        from guestpatch.sim.checker import check
        from guestpatch.sim.run import simulate as simulate_run

        if strategy not in STRATEGIES:
            raise typer.BadParameter(f"--strategy must be one of {', '.join(STRATEGIES)}")
        fleet_doc = _read_json(fleet, "fleet file")
        try:
            chosen = Policy.from_dict(_read_json(policy, "policy file")) if policy else Policy()
            outcome = simulate_run(fleet_doc, policy=chosen, strategy=strategy, seed=seed, bad_patch=bad_patch)
        except GuestpatchError as exc:
            raise typer.BadParameter(f"{exc.target or 'input'}: {exc.message}") from exc
        out.mkdir(parents=True, exist_ok=True)
        metrics = outcome.metrics
        metrics["checker"] = check(outcome.timeline, fleet_doc, metrics["policy"], halted_at=metrics["haltedAt"])
        (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
        with (out / "timeline.jsonl").open("w") as f:
            for record in outcome.timeline:
                f.write(json.dumps(record, separators=(",", ":")) + "\n")
        typer.echo(
            f"{metrics['patched']}/{metrics['eligible']} patched; full compliance after "
            f"{metrics['timeToFullComplianceHours']} h; halted: {metrics['halted']}; "
            f"violations: {metrics['violationCount']} (checker: {sum(metrics['checker'].values())}); "
            f"wrote {out}/metrics.json and {out}/timeline.jsonl"
        )
