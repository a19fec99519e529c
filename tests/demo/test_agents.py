"""The demo's simulated agents against the real control plane over HTTPS (``guestpatch serve``).

Each test creates its VM through ARM, enrolls a simulated agent with a real enrollment token and
queues operations through ARM; the agent answers them in virtual time (speed 6000: a virtual minute is
a hundredth of a second).
"""

from __future__ import annotations

import asyncio
import json
import random
import ssl
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from guestpatch.demo.agents import Behaviour, SimulatedAgent
from guestpatch.demo.fleet import DemoMachine, vm_body
from guestpatch.demo.repository import BAD, RELEASE, Repository
from tests.server_fixtures import LiveServer, live_server  # noqa: F401

API = {"api-version": "2026-04-01"}
SPEED = 6000.0
INSTALL = {"maximumDuration": "PT2H", "rebootSetting": "IfRequired",
           "linuxParameters": {"classificationsToInclude": ["Critical", "Security"]}}  # fmt: skip


class LoseFirstFinalAnswer(httpx.AsyncBaseTransport):
    """Forwards to the real server; the answer to the first final report is lost (read, then a timeout)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.reports: list[tuple[dict[str, Any], dict[str, Any] | None]] = []  # (body, answer or None if lost)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method != "PUT":
            return response
        await response.aread()
        body = json.loads(request.content)
        lose = body["sequence"] == 2 and not any(b["sequence"] == 2 for b, _ in self.reports)
        self.reports.append((body, None if lose else json.loads(response.content)))
        if lose:
            raise httpx.ReadTimeout("the answer was lost", request=request)
        return response


def machine(name: str, os_key: str = "debian-12") -> DemoMachine:
    return DemoMachine(name, "demo-agents", "rg", "westeurope", os_key, zone="1")


def create_vm(server: LiveServer, m: DemoMachine) -> str:
    """PUT the VM through ARM; an enrollment token for its resource group."""
    with server.client() as http:
        assert http.put(m.path, params=API, json=vm_body(m)).status_code in (200, 201)
        answer = http.post("/v1/enrollmentTokens", json={"subscription": m.tenant, "resourceGroup": m.resource_group})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["token"])


def queue(server: LiveServer, m: DemoMachine, action: str, body: dict[str, Any] | None = None) -> str:
    """POST an ARM action; its Azure-AsyncOperation URL."""
    with server.client() as http:
        answer = http.post(f"{m.path}/{action}", params=API, json=body)
    assert answer.status_code == 202, answer.text
    return answer.headers["Azure-AsyncOperation"]


def get(server: LiveServer, url: str) -> dict[str, Any]:
    with server.client() as http:
        answer = http.get(url)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def run(server: LiveServer, m: DemoMachine, scenario: Callable[[SimulatedAgent], Any], *,
        behaviour: Behaviour | None = None, repository: Repository | None = None,
        transport: httpx.AsyncBaseTransport | None = None) -> SimulatedAgent:  # fmt: skip
    """Enroll a simulated agent for ``m`` and run ``scenario(agent)`` in an event loop; the agent."""
    token = create_vm(server, m)
    context = ssl.create_default_context(cafile=str(server.ca))

    async def main() -> SimulatedAgent:
        wrapped = transport or httpx.AsyncHTTPTransport(verify=context)
        async with httpx.AsyncClient(base_url=server.url, transport=wrapped, timeout=30) as client:
            agent = SimulatedAgent(m, client, repository or Repository(), lambda: datetime.now(UTC), SPEED,
                                   random.Random(1), behaviour or Behaviour(failure_share=0.0))  # fmt: skip
            await agent.enroll(token)
            await scenario(agent)
            return agent

    return asyncio.run(main())


async def run_queued(agent: SimulatedAgent) -> None:
    """Read the goal state once and run the operation it lists."""
    goal = await agent.client.get("/agent/v1/goalstate", headers=agent.headers)
    assert goal.status_code == 200, goal.text
    for operation in goal.json()["operations"]:
        await agent.run_operation(operation)


def test_an_assessment_offers_the_release_newer_than_what_is_installed(live_server: LiveServer) -> None:  # noqa: F811
    """assessPatches lists the OS key's release (4 Security, 1 Other) with Azure's patch ids."""
    m = machine("assess-1")

    async def scenario(agent: SimulatedAgent) -> None:
        await asyncio.to_thread(queue, live_server, m, "assessPatches")
        await run_queued(agent)

    run(live_server, m, scenario)
    with live_server.client() as http:
        ops = http.get(f"/v1/subscriptions/{m.tenant}/resourceGroups/rg/virtualMachines/{m.name}/operations").json()
    result = ops["value"][0]["result"]
    assert (result["criticalAndSecurityPatchCount"], result["otherPatchCount"]) == (4, 1)
    assert sorted(p["name"] for p in result["availablePatches"]) == sorted(p.name for p in RELEASE["debian-12"])
    assert all(p["patchId"].endswith("_debian_12") for p in result["availablePatches"])


def test_a_report_whose_answer_is_lost_is_resent_unchanged_and_counted_once(live_server: LiveServer) -> None:  # noqa: F811
    """The final report's answer times out: the same body (sequence 2) goes again; the server says duplicate."""
    m = machine("lost-1")
    transport = LoseFirstFinalAnswer(httpx.AsyncHTTPTransport(verify=ssl.create_default_context(
        cafile=str(live_server.ca))))  # fmt: skip

    async def scenario(agent: SimulatedAgent) -> None:
        await asyncio.to_thread(queue, live_server, m, "assessPatches")
        await run_queued(agent)

    run(live_server, m, scenario, transport=transport)
    finals = [(body, answer) for body, answer in transport.reports if body["sequence"] == 2]
    assert len(finals) == 2
    assert finals[0][0] == finals[1][0]  # resent unchanged
    assert finals[0][1] is None  # the first answer was lost
    assert finals[1][1] == {"accepted": True, "duplicate": True, "status": "Succeeded"}


def test_an_installation_with_a_kernel_reboots_and_installs_the_selection(live_server: LiveServer) -> None:  # noqa: F811
    """installPatches Critical+Security: 4 patches Installed, the Other one NotSelected, the reboot Completed."""
    m = machine("install-1")

    async def scenario(agent: SimulatedAgent) -> None:
        await asyncio.to_thread(queue, live_server, m, "installPatches", INSTALL)
        await run_queued(agent)

    agent = run(live_server, m, scenario)
    result = agent.finished[-1]
    assert result[1:] == ("installPatches", "Succeeded")
    with live_server.client() as http:
        ops = http.get(f"/v1/subscriptions/{m.tenant}/resourceGroups/rg/virtualMachines/{m.name}/operations",
                       params={"kind": "installPatches"}).json()["value"]  # fmt: skip
    output = ops[0]["result"]
    counts = (output["installedPatchCount"], output["notSelectedPatchCount"], output["rebootStatus"])
    assert counts == (4, 1, "Completed")
    assert agent.installed["openssl"] == "3.0.15-1~deb12u1"
    assert agent.installed["tzdata"] != "2024b-0+deb12u1"


def test_a_failed_installation_names_the_package_and_installs_nothing_of_it(live_server: LiveServer) -> None:  # noqa: F811
    """With every installation failing: result Failed, one patch Failed, dpkg's message, no reboot."""
    m = machine("fail-1")

    async def scenario(agent: SimulatedAgent) -> None:
        await asyncio.to_thread(queue, live_server, m, "installPatches", INSTALL)
        await run_queued(agent)

    agent = run(live_server, m, scenario, behaviour=Behaviour(failure_share=1.0))
    with live_server.client() as http:
        ops = http.get(f"/v1/subscriptions/{m.tenant}/resourceGroups/rg/virtualMachines/{m.name}/operations",
                       params={"kind": "installPatches"}).json()["value"]  # fmt: skip
    output = ops[0]["result"]
    assert (output["status"], output["failedPatchCount"], output["rebootStatus"]) == ("Failed", 1, "NotNeeded")
    failed = [p["name"] for p in output["patches"] if p["installationState"] == "Failed"]
    assert len(failed) == 1
    assert "dpkg: error processing package " + failed[0] in output["error"]["message"]
    assert agent.installed[failed[0]] != next(p.version for p in RELEASE["debian-12"] if p.name == failed[0])


def health_after_install(server: LiveServer, m: DemoMachine, repository: Repository) -> str:
    """Serve the machine, install Critical+Security through ARM, wait 10 virtual minutes; its vmHealth code."""

    async def scenario(agent: SimulatedAgent) -> None:
        serving = asyncio.create_task(agent.serve())
        url = await asyncio.to_thread(queue, server, m, "installPatches", INSTALL)
        for _ in range(300):
            if (await asyncio.to_thread(get, server, url))["status"] != "InProgress":
                break
            await asyncio.sleep(0.05)
        await agent.sleep_virtual(10)
        serving.cancel()
        await asyncio.gather(serving, return_exceptions=True)

    run(server, m, scenario, repository=repository)
    view = get(server, f"{m.path}/instanceView?api-version=2026-04-01")
    return str(view["vmHealth"]["status"]["code"])


def test_the_bad_version_turns_the_machine_unhealthy(live_server: LiveServer) -> None:  # noqa: F811
    """After the bad libxml2 is published and installed, the agent's heartbeat reports Unhealthy."""
    repository = Repository()
    repository.publish_bad()
    assert health_after_install(live_server, machine("bad-1", "ubuntu-22.04"), repository) == "HealthState/unhealthy"
    assert BAD["ubuntu-22.04"].name == "libxml2"


def test_the_good_release_leaves_the_machine_healthy(live_server: LiveServer) -> None:  # noqa: F811
    """The same installation without the bad version: the heartbeat still says Healthy."""
    assert health_after_install(live_server, machine("good-1", "ubuntu-22.04"), Repository()) == "HealthState/healthy"


def test_a_machine_that_kept_the_bad_version_starts_unhealthy() -> None:
    """--keep: an agent restarted with the bad libxml2 installed reports Unhealthy from its first heartbeat."""
    installed = {"libxml2": BAD["debian-12"].version}
    agent = SimulatedAgent(machine("kept-1"), httpx.AsyncClient(), Repository(bad_published=True),
                           lambda: datetime.now(UTC), SPEED, random.Random(1), installed=installed)  # fmt: skip
    assert agent.heartbeat_body()["health"]["state"] == "Unhealthy"
