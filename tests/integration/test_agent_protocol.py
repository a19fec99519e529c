"""The agent protocol on the server: enrollment, credentials, goal state, heartbeats, reports, timeouts.

The app runs in-process on SQLite and PostgreSQL; a test plays the agent with plain HTTP calls, as the
protocol document describes them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.integration.conftest import API, SUB, Api, linux_vm, vm_url
from tests.scripted_agent import assessment_result, installation_result

RG = "rg1"


def enrollment_token(api: Api, **body: Any) -> str:
    response = api.client.post("/v1/enrollmentTokens", json={"subscription": SUB, "resourceGroup": RG, **body})
    assert response.status_code == 201, response.text
    token: str = response.json()["token"]
    return token


def enroll(api: Api, name: str, token: str | None = None, **body: Any) -> str:
    token = token or enrollment_token(api)
    response = api.client.post(
        "/agent/v1/enroll",
        json={"name": name, "location": "westeurope", "agentVersion": "0.1.0",
              "os": {"family": "Linux", "distro": "debian", "version": "12"}, **body},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201, response.text
    credential: str = response.json()["credential"]
    return credential


def as_agent(credential: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {credential}"}


def goal(api: Api, credential: str, etag: str | None = None, wait: float | None = None) -> Any:
    headers = as_agent(credential) | ({"If-None-Match": etag} if etag else {})
    params = {"wait": wait} if wait is not None else {}
    return api.client.get("/agent/v1/goalstate", headers=headers, params=params)


def report(api: Api, credential: str, op_id: str, sequence: int, status: str, result: Any = None) -> Any:
    body: dict[str, Any] = {"sequence": sequence, "status": status}
    if result is not None:
        body["result"] = result
    return api.client.put(f"/agent/v1/operations/{op_id}", json=body, headers=as_agent(credential))


def start(api: Api, name: str, kind: str, body: Any = None) -> Any:
    return api.client.post(f"{vm_url(name)}/{kind}?{API}", json=body)


def test_enrollment_creates_the_vm_and_tokens_run_out(api: Api) -> None:
    """A one-use token enrolls one machine (creating its VM resource); the second use is refused."""
    token = enrollment_token(api, uses=1)
    credential = enroll(api, "host1", token, zone="2", timeZone="Europe/Berlin")
    assert credential.startswith("gpm_")
    vm = api.get("host1").json()
    assert vm["zones"] == ["2"]
    assert vm["tags"] == {"guestpatch-time-zone": "Europe/Berlin"}
    assert vm["properties"]["storageProfile"]["osDisk"]["osType"] == "Linux"
    again = api.client.post("/agent/v1/enroll", json={"name": "host2", "location": "westeurope",
                                                      "agentVersion": "0.1.0", "os": {"family": "Linux",
                                                                                      "distro": "debian"}},
                            headers={"Authorization": f"Bearer {token}"})
    assert again.status_code == 401
    assert again.json()["error"]["code"] == "AuthenticationFailed"


def test_expired_tokens_are_refused_and_a_failed_enrollment_does_not_spend_the_token(api: Api) -> None:
    token = enrollment_token(api, uses=1, expiresIn="PT1M")
    bad = api.client.post("/agent/v1/enroll", json={"name": "h", "location": "atlantis", "agentVersion": "0.1.0",
                                                    "os": {"family": "Linux", "distro": "debian"}},
                          headers={"Authorization": f"Bearer {token}"})
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "LocationNotAvailableForResourceType"
    api.clock.advance(timedelta(minutes=2))
    late = api.client.post("/agent/v1/enroll", json={"name": "h", "location": "westeurope", "agentVersion": "0.1.0",
                                                     "os": {"family": "Linux", "distro": "debian"}},
                           headers={"Authorization": f"Bearer {token}"})
    assert late.status_code == 401


def test_enrolling_an_existing_vm_binds_it_and_revokes_the_old_credential(api: Api) -> None:
    assert api.put("web1", linux_vm()).status_code == 201
    first = enroll(api, "web1")
    second = enroll(api, "web1")
    assert goal(api, first).status_code == 401
    assert goal(api, second).status_code == 200
    assert api.get("web1").json()["properties"]["storageProfile"]["imageReference"]["sku"] == "22_04-lts-gen2"


def test_goal_state_etag_304_and_a_change_gives_a_new_etag(api: Api) -> None:
    credential = enroll(api, "host1")
    first = goal(api, credential)
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert first.json()["patchMode"] == "ImageDefault"
    assert goal(api, credential, etag).status_code == 304
    api.patch("host1", {"properties": {"osProfile": {"linuxConfiguration": {
        "patchSettings": {"patchMode": "AutomaticByPlatform"}}}}})
    changed = goal(api, credential, etag)
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert changed.json()["patchMode"] == "AutomaticByPlatform"


def test_long_poll_returns_304_after_the_wait_when_nothing_changes(api: Api) -> None:
    credential = enroll(api, "host1")
    etag = goal(api, credential).headers["etag"]
    assert goal(api, credential, etag, wait=0.2).status_code == 304
    bad = goal(api, credential, etag, wait=-3)
    assert bad.status_code == 400


def test_a_credential_cannot_touch_another_machines_operations(api: Api) -> None:
    mine, theirs = enroll(api, "a"), enroll(api, "b")
    accepted = start(api, "b", "assessPatches")
    assert accepted.status_code == 202
    op_id = goal(api, theirs).json()["operations"][0]["id"]
    assert goal(api, mine).json()["operations"] == []
    refused = report(api, mine, op_id, 1, "InProgress")
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "OperationNotFound"
    assert api.client.get("/agent/v1/goalstate", headers=as_agent("gpm_forged")).status_code == 401
    assert api.client.get(f"{vm_url('a')}?{API}", headers=as_agent(mine)).status_code == 401


def test_reports_are_idempotent_and_final_is_final(api: Api) -> None:
    """A report retried with the same sequence counts once; reports after the final one get 409."""
    credential = enroll(api, "host1")
    status_url = start(api, "host1", "assessPatches").headers["azure-asyncoperation"]
    op_id = goal(api, credential).json()["operations"][0]["id"]
    assert report(api, credential, op_id, 1, "InProgress").json()["duplicate"] is False
    assert report(api, credential, op_id, 1, "InProgress").json()["duplicate"] is True
    final = report(api, credential, op_id, 2, "Succeeded", assessment_result(critical=2, other=3))
    assert final.status_code == 200
    assert report(api, credential, op_id, 2, "Succeeded", assessment_result()).json()["duplicate"] is True
    late = report(api, credential, op_id, 3, "InProgress")
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "OperationAlreadyFinished"
    status = api.client.get(status_url.replace("https://testserver", ""))
    assert status.json()["status"] == "Succeeded"
    assert status.json()["properties"]["output"]["criticalAndSecurityPatchCount"] == 2
    assert goal(api, credential).json()["operations"] == []
    summary = api.client.get(f"{vm_url('host1')}/instanceView?{API}").json()["patchStatus"]["availablePatchSummary"]
    assert (summary["status"], summary["criticalAndSecurityPatchCount"], summary["otherPatchCount"]) == (
        "Succeeded", 2, 3)


def test_location_url_answers_202_then_the_bare_result(api: Api) -> None:
    credential = enroll(api, "host1")
    location = start(api, "host1", "assessPatches").headers["location"].replace("https://testserver", "")
    running = api.client.get(location)
    assert running.status_code == 202
    assert int(running.headers["retry-after"]) >= 1
    op_id = goal(api, credential).json()["operations"][0]["id"]
    report(api, credential, op_id, 1, "Succeeded", assessment_result())
    done = api.client.get(location)
    assert done.status_code == 200
    assert done.json()["status"] == "Succeeded"
    assert "properties" not in done.json()


def test_malformed_reports_are_400_and_change_nothing(api: Api) -> None:
    credential = enroll(api, "host1")
    start(api, "host1", "assessPatches")
    op_id = goal(api, credential).json()["operations"][0]["id"]
    bad = report(api, credential, op_id, 1, "Succeeded", {"status": "Succeeded", "otherPatchCount": -4})
    assert bad.status_code == 400
    assert bad.json()["error"]["target"] == "result.otherPatchCount"
    assert goal(api, credential).json()["operations"][0]["id"] == op_id


def test_an_installation_queues_a_platform_assessment_that_a_user_request_supersedes(api: Api) -> None:
    credential = enroll(api, "host1")
    start(api, "host1", "installPatches", {"maximumDuration": "PT1H", "rebootSetting": "Never",
                                           "linuxParameters": {"classificationsToInclude": ["Security"]}})
    install = goal(api, credential).json()["operations"][0]
    assert install["parameters"]["rebootSetting"] == "Never"
    report(api, credential, install["id"], 1, "Succeeded", installation_result(installed=2))
    follow_up = goal(api, credential).json()["operations"]
    assert [(o["kind"], o["origin"]) for o in follow_up] == [("assessPatches", "Platform")]
    assert start(api, "host1", "assessPatches").status_code == 202  # not 409: the platform's is replaced
    ops = goal(api, credential).json()["operations"]
    assert [(o["kind"], o["origin"]) for o in ops] == [("assessPatches", "User")]
    history = api.client.get(f"/v1/subscriptions/{SUB}/resourceGroups/{RG}/virtualMachines/host1/operations").json()
    kinds = [(o["kind"], o["origin"], o["status"]) for o in history["value"]]
    assert ("assessPatches", "Platform", "Canceled") in kinds
    assert ("installPatches", "User", "Succeeded") in kinds
    view = api.client.get(f"{vm_url('host1')}/instanceView?{API}").json()["patchStatus"]
    assert view["lastPatchInstallationSummary"]["installedPatchCount"] == 2


def test_operations_fail_when_no_agent_picks_them_up_or_the_agent_goes_quiet(api_factory: Any) -> None:
    api: Api = api_factory(agent_pickup_timeout=60, operation_progress_timeout=120)
    api.put("nobody", linux_vm())
    status_url = start(api, "nobody", "assessPatches").headers["azure-asyncoperation"].replace("https://testserver", "")
    credential = enroll(api, "quiet")
    quiet_url = start(api, "quiet", "assessPatches").headers["azure-asyncoperation"].replace("https://testserver", "")
    op_id = goal(api, credential).json()["operations"][0]["id"]
    report(api, credential, op_id, 1, "InProgress")
    api.clock.advance(timedelta(seconds=61))
    assert api.state.patch_ops.sweep() != []
    failed = api.client.get(status_url).json()
    assert failed["status"] == "Failed"
    assert failed["error"]["code"] == "VMAgentStatusCommunicationError"
    assert api.client.get(quiet_url).json()["status"] == "InProgress"
    api.clock.advance(timedelta(seconds=120))
    api.state.patch_ops.sweep()
    silent = api.client.get(quiet_url).json()
    assert silent["status"] == "Failed"
    assert "stopped reporting" in silent["error"]["message"]


def test_keepalives_keep_a_running_operation_alive_and_stale_ones_do_not(api_factory: Any) -> None:
    """Each newer InProgress report restarts the progress timeout; a replayed one neither counts nor extends."""
    api: Api = api_factory(operation_progress_timeout=120)
    credential = enroll(api, "busy")
    url = start(api, "busy", "assessPatches").headers["azure-asyncoperation"]
    url = url.replace("https://testserver", "")
    op_id = goal(api, credential).json()["operations"][0]["id"]
    for sequence in (1, 2, 3):
        assert report(api, credential, op_id, sequence, "InProgress").json()["duplicate"] is False
        api.clock.advance(timedelta(seconds=100))
        api.state.patch_ops.sweep()
        assert api.client.get(url).json()["status"] == "InProgress"
    assert report(api, credential, op_id, 2, "InProgress").json()["duplicate"] is True  # no new keepalive
    api.clock.advance(timedelta(seconds=30))
    api.state.patch_ops.sweep()
    assert api.client.get(url).json()["status"] == "Failed"


def test_heartbeat_configuration_moves_the_instance_view_from_pending_to_ready(api: Api) -> None:
    credential = enroll(api, "host1")
    api.patch("host1", {"properties": {"osProfile": {"linuxConfiguration": {
        "patchSettings": {"patchMode": "AutomaticByPlatform"}}}}})
    codes = lambda: [s["code"] for s in api.client.get(  # noqa: E731
        f"{vm_url('host1')}/instanceView?{API}").json()["patchStatus"]["configurationStatuses"]]
    assert codes()[0] == "PatchModeConfigurationState/Pending"
    beat = api.client.post("/agent/v1/heartbeat", headers=as_agent(credential), json={
        "agentVersion": "0.1.0", "os": {"family": "Linux", "distro": "debian", "version": "12"},
        "configuration": {"patchMode": "AutomaticByPlatform", "assessmentMode": "ImageDefault",
                          "status": "Succeeded", "appliedAt": "2026-11-26T08:00:00Z"}})
    assert beat.status_code == 204
    assert codes()[:2] == ["PatchModeConfigurationState/Ready", "AssessmentModeConfigurationState/Ready"]
    api.client.post("/agent/v1/heartbeat", headers=as_agent(credential), json={
        "agentVersion": "0.1.0", "os": {"family": "Linux", "distro": "debian", "version": "12"},
        "configuration": {"patchMode": "ImageDefault", "assessmentMode": "ImageDefault",
                          "status": "Failed", "error": "unattended-upgrades could not be disabled"}})
    assert codes()[0] == "PatchModeConfigurationState/Failed"


def test_application_health_shows_as_vm_health(api: Api) -> None:
    credential = enroll(api, "host1")
    beat = {"agentVersion": "0.1.0", "os": {"family": "Linux", "distro": "debian", "version": "12"},
            "health": {"state": "Unhealthy", "probe": "http://127.0.0.1:8080/h", "checkedAt": "2026-11-26T08:00:00Z"}}
    api.client.post("/agent/v1/heartbeat", headers=as_agent(credential), json=beat)
    view = api.client.get(f"{vm_url('host1')}/instanceView?{API}").json()
    assert view["vmHealth"]["status"]["code"] == "HealthState/unhealthy"
    assert view["vmHealth"]["status"]["level"] == "Error"


def test_an_agent_older_than_the_minimum_is_given_no_work_and_says_so(api_factory: Any) -> None:
    api: Api = api_factory(min_agent_version="0.2.0")
    credential = enroll(api, "old")
    refused = start(api, "old", "assessPatches")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "OperationNotAllowed"
    assert "0.2.0" in refused.json()["error"]["message"]
    view = api.client.get(f"{vm_url('old')}/instanceView?{API}").json()
    assert "older than the minimum 0.2.0" in view["vmAgent"]["statuses"][0]["message"]
    assert goal(api, credential).json()["minimumAgentVersion"] == "0.2.0"


def test_fleet_wide_history_queries(api: Api) -> None:
    for name in ("a", "b"):
        credential = enroll(api, name)
        start(api, name, "assessPatches")
        op_id = goal(api, credential).json()["operations"][0]["id"]
        report(api, credential, op_id, 1, "Succeeded", assessment_result(critical=1 if name == "a" else 0, other=1))
    missing = api.client.get("/v1/compliance/missing", params={"name": "libssl0"}).json()["value"]
    assert [m["name"] for m in missing] == ["a"]
    pending = api.client.get("/v1/compliance/pending").json()["value"]
    assert pending == [{"region": "westeurope", "machines": 1, "patches": 1}]
    patches = api.client.get(f"/v1/subscriptions/{SUB}/resourceGroups/{RG}/virtualMachines/b/patches").json()
    assert [p["name"] for p in patches["value"]] == ["tzdata0"]


@pytest.mark.parametrize("wait", ["abc", "5000"])
def test_bad_wait_values_are_client_errors(api: Api, wait: str) -> None:
    credential = enroll(api, "host1")
    response = api.client.get("/agent/v1/goalstate", params={"wait": wait}, headers=as_agent(credential))
    assert response.status_code == 400
