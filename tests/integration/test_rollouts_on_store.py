"""The orchestrator on the real store and the real agent protocol, on a fake clock.

Machines are enrolled through the API and played through the agent protocol (goal-state polls,
reports, heartbeats); the engine ticks as the leader would. The rollout must freeze its patch set,
pin it in every installation, respect windows, and finish; operators halt, resume and ask why.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.integration.conftest import API, SUB, Api, vm_url
from tests.integration.test_agent_protocol import as_agent, enroll, goal, report
from tests.scripted_agent import installation_result

OFFER = {"patchId": "libssl3_3.0.15_debian_12", "name": "libssl3", "version": "3.0.15-1~deb12u1",
         "classifications": ["Security"], "rebootBehavior": "CanRequestReboot", "assessmentState": "Available"}
OS = {"family": "Linux", "distro": "debian", "version": "12"}


def _fleet(api: Api, layout: list[tuple[str, str, str | None]]) -> dict[str, str]:
    credentials = {}
    for name, location, zone in layout:
        body: dict[str, Any] = {"location": location}
        if zone:
            body["zone"] = zone
        credentials[name] = enroll(api, name, **body)
        assert api.patch(name, {"properties": {"osProfile": {"linuxConfiguration": {
            "patchSettings": {"patchMode": "AutomaticByPlatform"}}}}}).status_code == 200
    return credentials


def _play(api: Api, credentials: dict[str, str], *, unhealthy: set[str] = frozenset(),  # type: ignore[assignment]
          installs: list[dict[str, Any]] | None = None) -> None:
    """Every machine polls once, answers its operations, and sends a heartbeat."""
    for name, credential in credentials.items():
        health = {"state": "Unhealthy" if name in unhealthy else "Healthy"}
        api.client.post("/agent/v1/heartbeat", headers=as_agent(credential),
                        json={"agentVersion": "0.1.0", "os": OS, "health": health})
        for op in goal(api, credential).json()["operations"]:
            if op["kind"] == "assessPatches":
                result = {"status": "Succeeded", "rebootPending": False, "criticalAndSecurityPatchCount": 1,
                          "otherPatchCount": 0, "availablePatches": [OFFER]}
            else:
                if installs is not None:
                    installs.append({"machine": name, "at": api.clock.now(), **op})
                result = installation_result(installed=1)
                result["patches"][0].update(name="libssl3", version=OFFER["version"])
            assert report(api, credential, op["id"], 1, "Succeeded", result).status_code == 200
        if name in unhealthy:  # the probe turned red after the installation
            api.client.post("/agent/v1/heartbeat", headers=as_agent(credential),
                            json={"agentVersion": "0.1.0", "os": OS, "health": health})


def _run(api: Api, credentials: dict[str, str], rollout: str, *, hours: int, step_minutes: int = 20,
         **play: Any) -> dict[str, Any]:
    detail: dict[str, Any] = {}
    for _ in range(hours * 60 // step_minutes):
        _play(api, credentials, **play)
        api.state.orchestrator.tick()
        detail = api.client.get(f"/v1/rollouts/{rollout}").json()
        if detail["status"] in {"Completed", "Halted", "Cancelled"}:
            break
        api.clock.advance(timedelta(minutes=step_minutes))
    return detail


LAYOUT = [
    ("we1", "westeurope", "1"), ("we2", "westeurope", "2"), ("we3", "westeurope", "3"),
    ("ne1", "northeurope", "1"), ("ne2", "northeurope", "2"), ("ea1", "eastasia", None),
]


def test_a_release_rolls_out_with_a_frozen_patch_set_inside_windows(api: Api) -> None:
    credentials = _fleet(api, LAYOUT)
    plan = api.client.get("/v1/rolloutPlan").json()
    assert plan  # the preview answers before anything starts
    started = api.client.post("/v1/rollouts", json={"release": "2026-11-hotfix"})
    assert started.status_code == 201, started.text
    rollout = started.json()["id"]
    regions_by_phase = [{r["region"] for r in p["regions"]} for p in started.json()["phases"]]
    assert not any({"westeurope", "northeurope"} <= phase for phase in regions_by_phase)  # geo-pair apart
    installs: list[dict[str, Any]] = []
    detail = _run(api, credentials, rollout, hours=96, installs=installs)
    assert detail["status"] == "Completed", detail
    assert detail["frozen"], "the canary assessment froze a patch set"
    assert sorted(i["machine"] for i in installs) == sorted(credentials)
    for install in installs:
        linux = install["parameters"]["linuxParameters"]
        assert linux["packageNameMasksToInclude"] == [f"libssl3={OFFER['version']}"]
        assert linux["classificationsToInclude"] == []
    machines = api.client.get(f"/v1/rollouts/{rollout}/machines").json()["value"]
    assert {m["status"] for m in machines} == {"Succeeded"}
    assert all(m["since"] is None or m["since"].endswith("Z") for m in machines)
    first = api.client.get(f"/v1/rollouts/{rollout}/machines", params={"limit": 4}).json()
    second = api.client.get(first["nextLink"].replace("https://testserver", "")).json()
    assert [m["machine"] for m in first["value"] + second["value"]] == [m["machine"] for m in machines]
    assert "nextLink" not in second
    bogus = api.client.get(f"/v1/rollouts/{rollout}/machines", params={"status": "Bogus"})
    assert bogus.status_code == 400
    outsider = api.client.get(f"/v1/rollouts/{rollout}/why", params={"machine": "x/y/z"})
    assert outsider.status_code == 404
    attempts = api.client.get(f"/v1/rollouts/{rollout}/attempts").json()["value"]
    assert len(attempts) == len(LAYOUT)
    by_zone: dict[tuple[str, str | None], list[tuple[str, str]]] = {}
    for a in attempts:
        machine = next(m for m in machines if m["machine"] == a["machine"])
        by_zone.setdefault((machine["region"], machine["zone"]), []).append((a["start"], a["end"]))
    for (region, zone), spans in by_zone.items():  # different zones of a region never overlap
        for (other_region, other_zone), other_spans in by_zone.items():
            if region == other_region and zone != other_zone:
                assert all(e <= s2 or e2 <= s for s, e in spans for s2, e2 in other_spans)


def test_an_unhealthy_wave_halts_and_operators_resume_or_cancel(api: Api) -> None:
    """Machines whose application turns unhealthy after patching fail the gate: the rollout halts."""
    layout = [(f"w{i}", "westeurope", str(1 + i % 3)) for i in range(6)]
    credentials = _fleet(api, layout)
    rollout = api.client.post("/v1/rollouts", json={"release": "bad", "policy": {"haltMinFailures": 1}}).json()["id"]
    detail = _run(api, credentials, rollout, hours=72, unhealthy=set(credentials))
    assert detail["status"] == "Halted", detail
    assert detail["halt"]["reason"]
    unpatched = api.client.get(f"/v1/rollouts/{rollout}/unpatched").json()["value"]
    assert unpatched
    assert all(u["reason"] for u in unpatched)
    first = next(iter(credentials))
    why = api.client.get(f"/v1/subscriptions/{SUB}/resourceGroups/rg1/virtualMachines/{first}/why").json()
    assert why["rollout"] == rollout
    assert why["reason"]
    resumed = api.client.post(f"/v1/rollouts/{rollout}/resume")
    assert resumed.status_code == 200
    assert resumed.json()["status"] != "Halted"
    cancelled = api.client.post(f"/v1/rollouts/{rollout}/cancel")
    assert cancelled.json()["status"] == "Cancelled"


def test_rollout_api_errors(api: Api) -> None:
    assert api.client.get("/v1/rollouts/nope").status_code == 404
    assert api.client.post("/v1/rollouts", json={"release": ""}).status_code == 400
    assert api.client.post("/v1/rollouts", json={"release": "x", "strategy": "yolo"}).status_code == 400
    bad_policy = api.client.post("/v1/rollouts", json={"release": "x", "policy": {"tenantShare": 7}})
    assert bad_policy.status_code == 400
    assert bad_policy.json()["error"]["target"]
    assert api.client.post("/v1/rollouts", json={"release": "x", "surprise": 1}).status_code == 400
    assert api.client.post("/v1/rollouts/nope/halt").status_code == 404


def test_a_machine_without_an_agent_is_not_eligible_and_says_why(api: Api) -> None:
    api.put("bare", {"location": "westeurope", "properties": {"osProfile": {"linuxConfiguration": {
        "patchSettings": {"patchMode": "AutomaticByPlatform"}}}}})
    why = api.client.get(f"/v1/subscriptions/{SUB}/resourceGroups/rg1/virtualMachines/bare/why").json()
    assert why["status"] == "NotEligible"
    assert "no guest agent" in why["reason"]
    assert api.client.get(f"{vm_url('bare')}?{API}").status_code == 200


def test_periodic_assessments_are_queued_inside_the_window(api: Api) -> None:
    """AutomaticByPlatform machines get an assessment in their off-peak hours, not at 08:00."""
    credentials = _fleet(api, [("p1", "westeurope", "1")])
    api.client.post("/agent/v1/heartbeat", headers=as_agent(credentials["p1"]),
                    json={"agentVersion": "0.1.0", "os": OS})
    assert api.state.orchestrator.queue_periodic_assessments() == []  # 08:00 UTC: outside 22:00-06:00 local
    api.clock.advance(timedelta(hours=14))  # 22:00 UTC = 23:00 in Amsterdam
    api.client.post("/agent/v1/heartbeat", headers=as_agent(credentials["p1"]),
                    json={"agentVersion": "0.1.0", "os": OS})
    assert api.state.orchestrator.queue_periodic_assessments() == [f"{SUB}/rg1/p1"]
    op = goal(api, credentials["p1"]).json()["operations"][0]
    assert (op["kind"], op["origin"]) == ("assessPatches", "Platform")
    assert api.state.orchestrator.queue_periodic_assessments() == []  # busy now
