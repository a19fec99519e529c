"""``guestpatch-agent run``: assemble the daemon from the stored enrollment and the machine, and run it.

::

    guestpatch-agent run [--state-dir DIR] [--root DIR] [--once] [--reboot-command CMD]
                         [--assessment-only] [--no-refresh]

Exit codes: 0 stopped (SIGTERM) or ``--once`` done; 1 the machine cannot be served (no os-release,
a goal-state request refused, the server unreachable with ``--once``); 2 bad flags; 3 enroll again
(not enrolled, the credential revoked, the VM resource deleted). Without an enrollment, an
installation interrupted by a reboot is still finished and printed (as ``resume`` does) before the
exit 3, so the boot unit keeps finishing local installations.

``--assessment-only`` serves a machine that must not be changed (the demo's host): assessments run,
every installation is refused (``work.py``), the OS's auto-updaters are left as they are
(:class:`LeaveAutoUpdates`), nothing reboots. ``--no-refresh`` assesses from the package lists as they
are, which needs no root.
"""

import logging
import os
import random
import signal
import sys
from typing import Any, List, Optional, TextIO, Tuple

from guestpatch_agent import __version__
from guestpatch_agent.autoupdate import AutoUpdateControl
from guestpatch_agent.clock import SystemClock, format_time
from guestpatch_agent.daemon import EXIT_ENROLL, Daemon, Stopped
from guestpatch_agent.errors import AgentError, NotEnrolled, UsageError
from guestpatch_agent.identity import load_identity
from guestpatch_agent.machine import boot_time, os_facts
from guestpatch_agent.osrelease import read_distro
from guestpatch_agent.outbox import Outbox
from guestpatch_agent.patchmode import PatchModes
from guestpatch_agent.pkgmgr.base import Backend, Root
from guestpatch_agent.pkgmgr.detect import detect_backend
from guestpatch_agent.protocol import ControlPlane, parse_server, tls_context
from guestpatch_agent.pulse import Pulse
from guestpatch_agent.reboot import CommandRebooter, Rebooter, system_rebooter
from guestpatch_agent.runner import Runner
from guestpatch_agent.settings import AgentSettings
from guestpatch_agent.work import Machine, Worker

STATE_DIR = "var/lib/guestpatch-agent"


def cmd_run(args: Any, out: TextIO, settings: AgentSettings) -> int:
    if not os.path.isdir(args.root):
        raise UsageError("--root {}: no such directory".format(args.root))
    _configure_logging()
    root = Root(args.root)
    state_dir = args.state_dir or root.join(STATE_DIR)
    runner = Runner()
    distro = read_distro(root)
    try:
        identity = load_identity(state_dir)
    except NotEnrolled as exc:
        from guestpatch_agent.cli import cmd_resume

        cmd_resume(args, out)
        sys.stderr.write("guestpatch-agent: {}\n".format(exc))
        return EXIT_ENROLL
    clock = SystemClock()
    rng = random.Random()  # noqa: S311 - jitter, not secrets
    plane = ControlPlane(parse_server(identity.server), context=tls_context(identity.ca_file),
                         credential=identity.credential)  # fmt: skip
    detected: List[Backend] = []

    def backend() -> Backend:
        if not detected:
            detected.append(detect_backend(runner, root, distro))
        return detected[0]

    assessment_only = bool(getattr(args, "assessment_only", False))
    rebooter = None if assessment_only else _rebooter(args.reboot_command, runner, root)
    machine = Machine(root=root, distro=distro, state_dir=state_dir, clock=clock, settings=settings,
                      rebooter=rebooter, backend=backend, installations=not assessment_only,
                      refresh=not getattr(args, "no_refresh", False))  # fmt: skip
    outbox = Outbox(state_dir, plane, clock)
    worker = Worker(machine, outbox, threaded=not args.once, out=out)
    control = LeaveAutoUpdates() if assessment_only else AutoUpdateControl(runner, root, state_dir)
    modes = PatchModes(state_dir, control, clock)
    facts = os_facts(distro)
    booted = boot_time(root)

    def heartbeat(health: Optional[Any]) -> Any:
        body = {"agentVersion": __version__, "os": facts, "configuration": modes.current(), "health": health}
        if booted is not None:
            body["bootTime"] = format_time(booted)
        return body

    pulse = Pulse(plane=plane, body=heartbeat, keepalive=worker.keepalive, busy=worker.busy, clock=clock, rng=rng,
                  interval=60)  # fmt: skip
    daemon = Daemon(plane=plane, worker=worker, outbox=outbox, modes=modes, pulse=pulse, rng=rng)
    logging.getLogger("guestpatch_agent").info(
        "guestpatch-agent %s serving %s (%s) for %s%s", __version__, root.path, distro.pretty_name or distro.id,
        identity.resource_id or identity.vm_id, " (assessment-only: installations are refused)" * assessment_only,
    )  # fmt: skip
    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        return daemon.run(once=args.once)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class LeaveAutoUpdates:
    """The auto-updater control of an assessment-only agent: it changes nothing on the machine.

    ``ImageDefault`` is what an untouched machine already has; ``AutomaticByPlatform`` would need the
    OS's auto-updaters turned off, which an assessment-only agent must not do, so it fails, saying why.
    """

    def configure(self, mode: str) -> Tuple[str, List[str]]:
        if mode == "ImageDefault":
            return "Unknown", []
        raise AgentError(
            "assessment-only: patch mode {} is not applied; the OS's auto-updaters are left as they are".format(mode)
        )


def _stop(signum: int, frame: Any) -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_DFL)  # a second signal stops at once
    raise Stopped(signum)


def _rebooter(command: Optional[List[str]], runner: Runner, root: Root) -> Optional[Rebooter]:
    if command:
        return CommandRebooter(runner, [command])
    return system_rebooter(runner) if root.is_host else None


def _configure_logging() -> None:
    logger = logging.getLogger("guestpatch_agent")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s guestpatch-agent %(levelname)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
