"""Malformed requests get a 4xx with an ARM error body, never a 500."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.conftest import API, Api, linux_vm, vm_url

RAW_BODIES: list[tuple[str, bytes]] = [
    ("truncated-json", b'{"location": '),
    ("not-json", b"location=westeurope"),
    ("array", b"[1, 2, 3]"),
    ("string", b'"hello"'),
    ("null", b"null"),
    ("bad-utf8", b'{"location": "\xff\xfe"}'),
    ("empty", b""),
    ("nan", b'{"location": NaN}'),
    ("infinity", b'{"location": "westeurope", "tags": {"a": Infinity}}'),
    ("nested-too-deeply", b'{"properties": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
]

DOCUMENTS: list[tuple[str, Any]] = [
    ("location-number", {"location": 5}),
    ("properties-string", {"location": "westeurope", "properties": "x"}),
    ("tags-list", {"location": "westeurope", "tags": ["a"]}),
    ("tags-value-number", {"location": "westeurope", "tags": {"a": 1}}),
    ("zones-string", {"location": "westeurope", "zones": "1"}),
    ("zones-two", {"location": "westeurope", "zones": ["1", "2"]}),
    ("os-profile-list", {"location": "westeurope", "properties": {"osProfile": []}}),
    ("patch-settings-null-mode", {"location": "westeurope", "properties": {"osProfile": {"linuxConfiguration": {
        "patchSettings": {"patchMode": 3}}}}}),
    ("both-configurations", {"location": "westeurope", "properties": {"osProfile": {
        "linuxConfiguration": {}, "windowsConfiguration": {}}}}),
    ("set-and-scale-set", {"location": "westeurope", "properties": {
        "availabilitySet": {"id": "/subscriptions/s/resourceGroups/r/providers/Microsoft.Compute/availabilitySets/a"},
        "virtualMachineScaleSet": {"id": "/subscriptions/s/resourceGroups/r/providers/Microsoft.Compute/"
                                          "virtualMachineScaleSets/v"}}}),
    ("availability-set-not-an-id", {"location": "westeurope", "properties": {"availabilitySet": {"id": "nope"}}}),
    ("image-incomplete", {"location": "westeurope", "properties": {"storageProfile": {
        "imageReference": {"publisher": "Canonical"}}}}),
    ("computer-name-too-long", {"location": "westeurope", "properties": {"osProfile": {
        "computerName": "x" * 100, "linuxConfiguration": {}}}}),
]

NAMES = ["-leading-dash", "a" * 65, "bad/name", "trailing.", "spa ce", "ünïcode"]


@pytest.mark.parametrize("raw", [b for _, b in RAW_BODIES], ids=[i for i, _ in RAW_BODIES])
def test_unreadable_bodies_are_400_invalid_request_content(api: Api, raw: bytes) -> None:
    response = api.client.put(f"{vm_url('vm1')}?{API}", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "InvalidRequestContent"


@pytest.mark.parametrize("document", [d for _, d in DOCUMENTS], ids=[i for i, _ in DOCUMENTS])
def test_wrong_types_and_shapes_are_4xx_with_a_target(api: Api, document: Any) -> None:
    response = api.put("vm1", document)
    assert 400 <= response.status_code < 500, response.text
    error = response.json()["error"]
    assert error["code"]
    assert error["message"]


@pytest.mark.parametrize("name", NAMES)
def test_invalid_vm_names_are_refused(api: Api, name: str) -> None:
    response = api.client.put(f"{vm_url(name)}?{API}", json=linux_vm())
    assert response.status_code in {400, 404}, response.text
    if response.status_code == 400:
        assert response.json()["error"]["code"] == "InvalidResourceName"


def test_members_we_do_not_interpret_are_kept_however_nested(api: Api) -> None:
    body = linux_vm()
    body["properties"]["future"] = {"a": [[[[{"b": None, "c": 1.5}]]]]}
    assert api.put("vm1", body).status_code == 201
    assert api.get("vm1").json()["properties"]["future"] == body["properties"]["future"]


def test_bodies_over_one_mebibyte_get_413(api: Api) -> None:
    body = linux_vm()
    body["tags"] = {"big": "x" * (1024 * 1024)}
    response = api.put("vm1", body)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "RequestEntityTooLarge"


def test_chunked_body_over_the_limit_gets_413(api: Api) -> None:
    """Without a Content-Length the limit is enforced while reading."""

    def chunks() -> Any:
        yield b'{"location": "westeurope", "tags": {"big": "'
        for _ in range(20):
            yield b"x" * 65536
        yield b'"}}'

    response = api.client.put(f"{vm_url('vm1')}?{API}", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("sub", "rg", "code"),
    [("bad sub", "rg1", "InvalidSubscriptionId"), ("sub1", "rg.", "InvalidResourceGroup"),
     ("sub1", "r" * 91, "InvalidResourceGroup")],
)
def test_invalid_scope_is_refused(api: Api, sub: str, rg: str, code: str) -> None:
    response = api.client.put(f"{vm_url('vm1', rg=rg, sub=sub)}?{API}", json=linux_vm())
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code


def test_invalid_expand_is_refused(api: Api) -> None:
    api.put("vm1", linux_vm())
    response = api.client.get(f"{vm_url('vm1')}?{API}&$expand=everything")
    assert response.status_code == 400
    assert response.json()["error"]["target"] == "$expand"
