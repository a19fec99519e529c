"""Run the demo: its data directory, the control plane in this process, the story, and a clean Ctrl-C.

The control plane is the real one (:func:`guestpatch.server.prepare`: store and migrations, admin
token, TLS; :func:`guestpatch.api.app.create_app` with its background work and the orchestrator),
served over HTTPS by uvicorn in a thread of this process, on the demo's accelerated clock
(:class:`~guestpatch.clock.ScaledClock`, held until the fleet is set up); ``guestpatch serve`` runs
granian worker processes, but
one process keeps the demo's clock, engine and agents together. SIGINT or SIGTERM stops the agents,
the host agent and the server, and the demo exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
import signal
import socket
import ssl
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import uvicorn

from guestpatch.api.app import create_app
from guestpatch.clock import ScaledClock
from guestpatch.config import Config, load_config
from guestpatch.demo import knobs, timing
from guestpatch.demo.agents import Behaviour
from guestpatch.demo.fleet import demo_fleet
from guestpatch.demo.host import HostAgent
from guestpatch.demo.story import CANARY, DEMO_POLICY, TIME_ZONES, Story
from guestpatch.errors import ConfigError, GuestpatchError
from guestpatch.server import Prepared, prepare

MARKER = ".guestpatch-demo"
#: Seconds the server keeps an idle connection: longer than httpx keeps one (5 s), so the client always
#: drops it first and never sends a request on a connection the server is closing.
KEEP_ALIVE = 30
STATE_FILE = "demo-state.json"
POLICY_FILE = "demo-policy.json"
log = logging.getLogger("guestpatch.demo")


@dataclass(frozen=True)
class DemoOptions:
    speed: float = knobs.DEFAULT_SPEED
    machines: int = knobs.DEFAULT_MACHINES
    port: int = knobs.DEFAULT_PORT
    data_dir: Path | None = None
    host_agent: bool = True
    seed: int = 1
    keep: bool = False
    failure_rate: float = knobs.DEFAULT_FAILURE_RATE


def default_demo_dir(environ: Mapping[str, str]) -> Path:
    """``$XDG_DATA_HOME/guestpatch-demo``, else ``~/.local/share/guestpatch-demo`` (never the server's own)."""
    base = environ.get("XDG_DATA_HOME") or str(Path(environ.get("HOME", "~")).expanduser() / ".local/share")
    return Path(base) / "guestpatch-demo"


def prepare_data_dir(path: Path, *, keep: bool) -> Path:
    """The demo's data directory, emptied unless ``keep``; only a demo's own directory is ever emptied."""
    path = path.expanduser().resolve()
    if path.exists() and not path.is_dir():
        raise ConfigError(f"--data-dir {path} is not a directory.", target="--data-dir")
    if path.exists() and any(path.iterdir()) and not (path / MARKER).exists():
        raise ConfigError(
            f"--data-dir {path} holds files that are not a demo's (no {MARKER} in it): the demo empties its "
            "directory on every run, so give it a new or empty one.", target="--data-dir",
        )  # fmt: skip
    if path.exists() and not keep:
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    (path / MARKER).write_text("guestpatch demo data; emptied by the next `guestpatch demo` without --keep\n")
    return path


def demo_config(data_dir: Path, port: int) -> Config:
    """The demo's settings: SQLite in ``data_dir``, fast agent cadence, the demo policy, no monthly release.

    The process environment is ignored on purpose: a developer's GUESTPATCH_* settings (a PostgreSQL
    URL, say) must not reach the demo.
    """
    policy = data_dir / POLICY_FILE
    policy.write_text(json.dumps(DEMO_POLICY, indent=1) + "\n")  # the default policy: previews show it
    return load_config({
        "data_dir": data_dir, "host": "127.0.0.1", "port": port, "agent_poll_interval": 15, "agent_long_poll": 15,
        "engine_interval": 1, "auto_release": False, "rollout_policy_file": policy, "log_level": "warning",
        "workers": 1,
    }, {})  # fmt: skip


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, or a clear error when the port is taken."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port} ({exc.strerror}): is another guestpatch running? "
                          "Pass --port.", target="--port") from exc  # fmt: skip
    sock.listen(512)
    sock.set_inheritable(True)
    return sock


class InProcessServer:
    """uvicorn serving the real application over HTTPS in a thread of this process."""

    def __init__(self, prepared: Prepared, sock: socket.socket) -> None:
        assert prepared.tls is not None
        app = create_app(prepared.state, background=True)
        config = uvicorn.Config(app, ssl_certfile=str(prepared.tls.cert), ssl_keyfile=str(prepared.tls.key),
                                log_level="warning", access_log=False, server_header=False, lifespan="on",
                                timeout_graceful_shutdown=2, timeout_keep_alive=KEEP_ALIVE)  # fmt: skip
        self.server = uvicorn.Server(config)
        self._sock = sock
        self._thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, name="demo-server",
                                        daemon=True)  # fmt: skip

    def start(self, timeout: float = 30.0) -> None:
        self._thread.start()
        waited = 0.0
        while not self.server.started:
            if not self._thread.is_alive() or waited > timeout:
                raise GuestpatchError("the control plane did not start (see the messages above)")
            threading.Event().wait(0.05)
            waited += 0.05

    def stop(self) -> None:
        # long-polls still held when the grace period ends are cancelled: expected, not worth a traceback
        logging.getLogger("uvicorn.error").setLevel(logging.CRITICAL)
        self.server.should_exit = True
        self._thread.join(timeout=20)
        self._sock.close()


def run(options: DemoOptions, *, say: Callable[[str], None] = print, environ: Mapping[str, str] | None = None) -> int:
    """The whole demo, until SIGINT/SIGTERM; 0 on a clean stop."""
    if not knobs.MIN_SPEED <= options.speed <= knobs.MAX_SPEED:
        raise ConfigError(f"--speed must be between {knobs.MIN_SPEED:g} and {knobs.MAX_SPEED:g}.", target="--speed")
    if not 0 <= options.failure_rate <= 1:
        raise ConfigError("--failure-rate must be between 0 and 1.", target="--failure-rate")
    demo_fleet(options.machines, seed=options.seed)  # a bad --machines is refused before anything starts
    data_dir = prepare_data_dir(options.data_dir or default_demo_dir(environ or {}), keep=options.keep)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = demo_config(data_dir, options.port)
    sock = bind(config.host, config.port)
    clock = ScaledClock(rate=options.speed, start=_start(data_dir, options), held=True)
    prepared = prepare(config, clock=clock)
    server = InProcessServer(prepared, sock)
    server.start()
    url = f"https://127.0.0.1:{config.port}"
    host = HostAgent(url, data_dir / "tls" / "ca.pem", data_dir) if options.host_agent else None
    banner(say, url=url, data_dir=data_dir, token=prepared.token_path, options=options)
    code = 0
    try:
        asyncio.run(_main(options, url, clock, data_dir, host, say))
    except (GuestpatchError, httpx.HTTPError) as exc:
        say(f"the demo's script failed: {getattr(exc, 'message', None) or exc} (the server log is above)")
        code = 1
    finally:
        if host is not None:
            host.stop()
        server.stop()
    say("stopped: the agents, the host agent and the server are down")
    return code


def _start(data_dir: Path, options: DemoOptions) -> datetime:
    """The virtual clock's start: before the canary region's night; with --keep, where the last run stopped."""
    start = timing.clock_start(datetime.now(UTC), TIME_ZONES[CANARY])
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        if options.keep:
            return max(start, datetime.fromisoformat(json.loads((data_dir / STATE_FILE).read_text())["clock"]))
    return start


async def _main(options: DemoOptions, url: str, clock: ScaledClock, data_dir: Path, host: HostAgent | None,
                say: Callable[[str], None]) -> None:  # fmt: skip
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    verify = ssl.create_default_context(cafile=str(data_dir / "tls" / "ca.pem"))
    token = (data_dir / "admin.token").read_text().strip()
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=200)
    async with (
        httpx.AsyncClient(base_url=url, verify=verify, timeout=30, headers={"Authorization": f"Bearer {token}"}) as api,
        httpx.AsyncClient(base_url=url, verify=verify, timeout=30, limits=limits) as agents,
    ):
        story = Story(api, agents, clock, options.speed, options.machines, options.seed, say, data_dir / STATE_FILE,
                      behaviour=Behaviour(failure_share=options.failure_rate))
        tasks = [asyncio.create_task(story.run(), name="story")]
        if host is not None:
            tasks.append(asyncio.create_task(_host(story, host), name="host"))
        stopped = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([stopped, tasks[0]], return_when=asyncio.FIRST_COMPLETED)
        for task in (*tasks, stopped):
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        failure = next((r for r in results if isinstance(r, BaseException)
                        and not isinstance(r, asyncio.CancelledError)), None)  # fmt: skip
        if failure is not None and stopped not in done:
            raise failure


async def _host(story: Story, host: HostAgent) -> None:
    try:
        await story.host(host)
    except (GuestpatchError, httpx.HTTPError, OSError) as exc:
        story.line(f"this machine's agent is not part of the demo: {exc}")


def banner(say: Callable[[str], None], *, url: str, data_dir: Path, token: Path, options: DemoOptions) -> None:
    cli = Path(sys.executable).parent / "guestpatch"
    command = str(cli) if cli.exists() else "guestpatch"
    minutes = options.speed / 60
    say(f"guestpatch demo: {options.machines} simulated machines on an accelerated clock "
        f"(1 s = {minutes:g} min of fleet time), served at {url}")  # fmt: skip
    say(f"  dashboard  {url}/ui/   (HTTPS with the demo's own CA: {data_dir / 'tls' / 'ca.pem'};")
    say("             the browser warns once: accept the certificate, or import that CA)")
    say(f"  log in     paste the admin token from {token} on {url}/ui/login")
    say(f"  CLI        export GUESTPATCH_DATA_DIR={data_dir} GUESTPATCH_SERVER={url}")
    say(f"             {command} rollout list")
    say(f"             {command} rollout show ID --watch")
    say(f"  data       {data_dir} ({'kept' if options.keep else 'fresh on every run; --keep keeps it'})")
    say("  Ctrl-C stops everything")
