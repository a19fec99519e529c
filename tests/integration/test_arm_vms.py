"""The ARM surface for virtual machines: PUT/PATCH/GET/DELETE, lists, api-version, auth, instance view."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.conftest import API, SUB, Api, linux_vm, vm_url


def test_put_creates_then_replaces_and_keeps_unknown_fields(api: Api) -> None:
    """PUT answers 201 then 200; read-only members are added and members we do not interpret are kept."""
    body = linux_vm(patchSettings={"patchMode": "AutomaticByPlatform"})
    body["tags"] = {"env": "test"}
    body["zones"] = ["2"]
    body["properties"]["diagnosticsProfile"] = {"bootDiagnostics": {"enabled": True}}
    body["plan"] = {"name": "p", "publisher": "x", "product": "y"}
    created = api.put("web1", body)
    assert created.status_code == 201, created.text
    vm = created.json()
    assert vm["id"] == vm_url("web1")
    assert (vm["name"], vm["type"], vm["location"]) == ("web1", "Microsoft.Compute/virtualMachines", "westeurope")
    assert vm["properties"]["provisioningState"] == "Succeeded"
    assert len(vm["properties"]["vmId"]) == 36
    assert vm["properties"]["diagnosticsProfile"] == {"bootDiagnostics": {"enabled": True}}
    assert vm["plan"] == body["plan"]
    assert vm["tags"] == {"env": "test"}
    assert vm["zones"] == ["2"]
    assert created.headers["etag"] == vm["etag"]
    replaced = api.put("WEB1", body)
    assert replaced.status_code == 200
    assert replaced.json()["properties"]["vmId"] == vm["properties"]["vmId"]
    assert replaced.json()["name"] == "web1"


def test_get_patch_delete_round_trip(api: Api) -> None:
    """PATCH merges into the stored VM; DELETE answers 200 once, then 204; GET then answers 404."""
    assert api.put("vm1", linux_vm()).status_code == 201
    patched = api.patch(
        "vm1",
        {"tags": {"owner": "ops"},
         "properties": {"osProfile": {"linuxConfiguration": {"patchSettings": {"patchMode": "AutomaticByPlatform"}}}}},
    )
    assert patched.status_code == 200, patched.text
    settings = patched.json()["properties"]["osProfile"]["linuxConfiguration"]["patchSettings"]
    assert settings["patchMode"] == "AutomaticByPlatform"
    got = api.get("vm1").json()
    assert got["tags"] == {"owner": "ops"}
    assert got["properties"]["hardwareProfile"] == {"vmSize": "Standard_B2s"}
    assert api.client.delete(f"{vm_url('vm1')}?{API}").status_code == 200
    assert api.client.delete(f"{vm_url('vm1')}?{API}").status_code == 204
    missing = api.get("vm1")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "ResourceNotFound"


def test_defaults_are_made_explicit(api: Api) -> None:
    """A Linux VM without patch settings shows Azure's defaults: ImageDefault for both modes."""
    body = linux_vm()
    vm = api.put("vm1", body).json()
    linux = vm["properties"]["osProfile"]["linuxConfiguration"]
    assert linux["patchSettings"]["patchMode"] == "ImageDefault"
    assert linux["patchSettings"]["assessmentMode"] == "ImageDefault"
    assert vm["properties"]["storageProfile"]["osDisk"]["osType"] == "Linux"


def test_list_pages_with_next_link(api_factory: Any) -> None:
    """Lists page with an absolute nextLink; following it returns every VM exactly once."""
    api: Api = api_factory(page_size=2)
    for i in range(5):
        assert api.put(f"vm{i}", linux_vm(), rg="rg-a" if i % 2 else "rg-b").status_code == 201
    names: list[str] = []
    url = f"/subscriptions/{SUB}/providers/Microsoft.Compute/virtualMachines?{API}"
    pages = 0
    while url:
        page = api.client.get(url)
        assert page.status_code == 200, page.text
        names += [vm["name"] for vm in page.json()["value"]]
        url = page.json().get("nextLink", "")
        pages += 1
        if url:
            assert url.startswith("https://testserver/subscriptions/")
    assert sorted(names) == [f"vm{i}" for i in range(5)]
    assert pages == 3
    in_group = api.client.get(
        f"/subscriptions/{SUB}/resourceGroups/rg-a/providers/Microsoft.Compute/virtualMachines?{API}"
    )
    assert [vm["name"] for vm in in_group.json()["value"]] == ["vm1", "vm3"]


def test_bad_skiptoken_is_a_client_error(api: Api) -> None:
    response = api.client.get(f"/subscriptions/{SUB}/providers/Microsoft.Compute/virtualMachines?{API}&$skiptoken=!!")
    assert response.status_code == 400
    assert response.json()["error"]["target"] == "$skiptoken"


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("", "MissingApiVersionParameter"),
        ("?api-version=", "MissingApiVersionParameter"),
        ("?api-version=2020-06-01", "InvalidApiVersionParameter"),
        ("?api-version=2026-05-01", "InvalidApiVersionParameter"),
        ("?api-version=latest", "InvalidApiVersionParameter"),
        ("?api-version=2021-02-30", "InvalidApiVersionParameter"),
    ],
)
def test_api_version_is_required_and_checked(api: Api, query: str, code: str) -> None:
    response = api.client.get(vm_url("vm1") + query)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code


@pytest.mark.parametrize("version", ["2020-12-01", "2021-03-01", "2024-07-01", "2025-04-01", "2026-04-01"])
def test_every_version_in_range_is_accepted(api: Api, version: str) -> None:
    response = api.client.put(f"{vm_url('vm1')}?api-version={version}", json=linux_vm())
    assert response.status_code in {200, 201}, response.text


def test_routes_need_a_valid_bearer_token_except_healthz(api: Api) -> None:
    """Missing or wrong tokens get 401 with an ARM AuthenticationFailed body; /healthz is open."""
    api.client.headers.pop("Authorization")
    missing = api.client.get(f"{vm_url('vm1')}?{API}")
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "AuthenticationFailed"
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = api.client.get(f"{vm_url('vm1')}?{API}", headers={"Authorization": "Bearer gpt_nope"})
    assert wrong.status_code == 401
    basic = api.client.get("/openapi.json", headers={"Authorization": "Basic YWRtaW46YWRtaW4="})
    assert basic.status_code == 401
    assert api.client.get("/healthz").status_code == 200


def test_instance_view_before_any_agent(api: Api) -> None:
    """Until an agent reports: agent Not Ready, power state unknown, patch summaries Unknown, modes Pending."""
    api.put("vm1", linux_vm(patchSettings={"patchMode": "AutomaticByPlatform"}))
    view = api.client.get(f"{vm_url('vm1')}/instanceView?{API}").json()
    assert view["vmAgent"]["statuses"][0]["displayStatus"] == "Not Ready"
    codes = [s["code"] for s in view["statuses"]]
    assert codes == ["ProvisioningState/succeeded", "PowerState/unknown"]
    assert view["patchStatus"]["availablePatchSummary"]["status"] == "Unknown"
    assert view["patchStatus"]["lastPatchInstallationSummary"]["status"] == "Unknown"
    config = [s["code"] for s in view["patchStatus"]["configurationStatuses"]]
    assert config == ["PatchModeConfigurationState/Pending", "AssessmentModeConfigurationState/Pending"]
    expanded = api.client.get(f"{vm_url('vm1')}?{API}&$expand=instanceView").json()
    assert expanded["properties"]["instanceView"]["statuses"] == view["statuses"]


def test_availability_set_members_get_update_domains_round_robin(api: Api) -> None:
    """Machines of one availability set get update domains 0..4, then 0 again, shown in the instance view."""
    set_id = f"/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.Compute/availabilitySets/web"
    domains = []
    for i in range(7):
        body = linux_vm()
        body["properties"]["availabilitySet"] = {"id": set_id}
        assert api.put(f"vm{i}", body).status_code == 201
        view = api.client.get(f"{vm_url(f'vm{i}')}/instanceView?{API}").json()
        domains.append(view["platformUpdateDomain"])
    assert domains == [0, 1, 2, 3, 4, 0, 1]
    lone = api.put("lone", linux_vm())
    assert lone.status_code == 201
    assert "platformUpdateDomain" not in api.client.get(f"{vm_url('lone')}/instanceView?{API}").json()


def test_power_state_actions_are_recorded(api: Api) -> None:
    """deallocate / start are recorded (guestpatch does not power machines) and shown in the instance view."""
    api.put("vm1", linux_vm())
    assert api.client.post(f"{vm_url('vm1')}/deallocate?{API}").status_code == 200
    view = api.client.get(f"{vm_url('vm1')}/instanceView?{API}").json()
    assert view["statuses"][1]["code"] == "PowerState/deallocated"


def test_if_match_and_if_none_match(api: Api) -> None:
    """If-None-Match: * refuses to overwrite; a stale If-Match is refused with 412; the current one passes."""
    first = api.put("vm1", linux_vm())
    etag = first.headers["etag"]
    again = api.client.put(f"{vm_url('vm1')}?{API}", json=linux_vm(), headers={"If-None-Match": "*"})
    assert again.status_code == 412
    assert again.json()["error"]["code"] == "PreconditionFailed"
    ok = api.client.put(f"{vm_url('vm1')}?{API}", json=linux_vm(), headers={"If-Match": etag})
    assert ok.status_code == 200
    stale = api.client.patch(f"{vm_url('vm1')}?{API}", json={"tags": {}}, headers={"If-Match": etag})
    assert stale.status_code == 412


def test_unknown_path_and_wrong_method_get_arm_errors(api: Api) -> None:
    missing = api.client.get("/subscriptions/x/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "NotFound"
    wrong = api.client.post(f"{vm_url('vm1')}?{API}")
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "MethodNotAllowed"


def test_operator_regions_and_images_extend_the_catalogs(api: Api) -> None:
    """An operator site becomes a valid location; an operator golden image can use AutomaticByPlatform."""
    site = api.client.post("/v1/regions", json={"name": "Onprem-Fra1", "timeZone": "Europe/Berlin"})
    assert site.status_code == 201, site.text
    assert site.json()["name"] == "onprem-fra1"
    body: dict[str, Any] = linux_vm(location="onprem-fra1", patchSettings={"patchMode": "AutomaticByPlatform"})
    body["properties"]["storageProfile"]["imageReference"] = {
        "publisher": "Contoso", "offer": "golden-ubuntu", "sku": "24.04", "version": "1.0.0",
    }
    refused = api.put("vm1", body)
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "InvalidParameter"
    image = api.client.post(
        "/v1/images",
        json={"publisher": "Contoso", "offer": "golden-ubuntu", "sku": "24.04", "osType": "Linux",
              "family": "ubuntu", "version": "24.04", "endOfLife": "2029-05-31"},
    )
    assert image.status_code == 201, image.text
    accepted = api.put("vm1", body)
    assert accepted.status_code == 201, accepted.text
    listed = api.client.get("/v1/images").json()["value"]
    assert any(i["publisher"] == "Contoso" and i["source"] == "operator" for i in listed)
    assert any(r["name"] == "onprem-fra1" for r in api.client.get("/v1/regions").json()["value"])
    bad_zone = api.client.post("/v1/regions", json={"name": "x1", "timeZone": "Mars/Olympus"})
    assert bad_zone.status_code == 400
    assert bad_zone.json()["error"]["code"] == "InvalidParameter"
