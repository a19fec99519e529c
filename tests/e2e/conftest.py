"""Fixtures of the end-to-end tests: a real server, real agent processes, disposable lab roots.

The package labs are the agent tests' own (imported, not copied): the apt lab of
``tests/agent/conftest.py`` and the rpm lab of ``tests/agent/rpm/conftest.py``. Each machine is one
fresh root served by its own ``guestpatch-agent run`` process.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from guestpatch_agent.build import build
from tests.agent.conftest import AptLab, apt_lab  # noqa: F401
from tests.agent.rpm import lab
from tests.agent.rpm.conftest import dnf_template, rpm_lab, zypper_template  # noqa: F401
from tests.e2e.fleet import AgentProcess, Arm
from tests.server_fixtures import LiveServer, launch

PYTHON38 = Path("/root/.pyenv/versions/3.8.18/bin/python3.8")

#: Fast agent cadence for tests: polls every 2 s, long-polls 2 s, keepalives every 2 s.
FAST = {"GUESTPATCH_AGENT_POLL_INTERVAL": "2", "GUESTPATCH_AGENT_LONG_POLL": "2"}


def serve(where: Path, **env: str) -> LiveServer:
    return launch(where, env={**FAST, **env})


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One control plane for the module (SQLite, HTTPS with its own CA), fast agent cadence."""
    live = serve(tmp_path_factory.mktemp("e2e-server"))
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture(scope="module")
def arm(server: LiveServer) -> Arm:
    return Arm(server)


@pytest.fixture(scope="session")
def zipapp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped artefact, built once."""
    return Path(build(str(tmp_path_factory.mktemp("dist") / "guestpatch-agent.pyz")))


MachineFactory = Callable[..., AgentProcess]


@pytest.fixture
def machines(
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Iterator[MachineFactory]:
    """``machines(kind, name)``: a fresh root of the apt, dnf or zypper lab with an agent (not started).

    ``zipapp=True`` runs the built zipapp under Python 3.8 in isolated mode instead of the sources.
    Every agent is stopped and every root unmounted afterwards.
    """
    made: list[AgentProcess] = []
    mounted: list[object] = []

    def make(kind: str, name: str, *, zipapp: bool = False) -> AgentProcess:
        where = tmp_path / name
        env: dict[str, str] = {}
        if kind == "apt":
            apt: AptLab = request.getfixturevalue("apt_lab")
            root_obj = apt.new_root(where)
            mounted.append(root_obj)
            root = root_obj.path
        else:
            template = request.getfixturevalue(f"{kind}_template")
            rpm: lab.RpmLab = request.getfixturevalue("rpm_lab")
            root = where / "root"
            shutil.copytree(template, root, symlinks=True)
            env["HOME"] = str(rpm.home)  # the lab's .rpmmacros keeps rpm's database inside the root
        agent = AgentProcess(name, root, where / "agent", env=env, apt=mounted[-1] if kind == "apt" else None)
        if zipapp:
            if not PYTHON38.exists():
                pytest.skip(f"{PYTHON38} is not installed")
            agent.command = [str(PYTHON38), "-I", str(request.getfixturevalue("zipapp"))]
        made.append(agent)
        return agent

    try:
        yield make
    finally:
        for agent in made:
            agent.stop()
        for root_obj in mounted:
            root_obj.unmount()  # type: ignore[attr-defined]
