"""The ``guestpatch-agent`` command: local one-shot operations printing Azure's JSON.

::

    guestpatch-agent assess [--root DIR] [--no-refresh]
    guestpatch-agent install [--root DIR] --maximum-duration PT1H --reboot-setting IfRequired|Never|Always
                             --classifications Critical,Security[,Other] [--include MASK]... [--exclude MASK]...
    guestpatch-agent resume [--root DIR]
    guestpatch-agent configure-patching --mode AutomaticByPlatform|ImageDefault [--root DIR]
    guestpatch-agent enroll --server https://HOST:PORT --token T [--ca-file F] [--name N --location L ...]
    guestpatch-agent run [--root DIR] [--once] [--assessment-only] [--no-refresh]

Exit codes: 0 the operation succeeded (or completed with warnings), 1 it failed (the JSON says why),
2 bad command-line input (one line on stderr); ``run`` also 3: enroll again (``service.py``).
The environment is read here and nowhere else.
"""

import argparse
import json
import os
import shlex
import sys
import uuid
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Dict, List, NoReturn, Optional, Sequence, TextIO

from guestpatch_agent import __version__
from guestpatch_agent.assessment import assess
from guestpatch_agent.budget import parse_duration
from guestpatch_agent.clock import Clock, SystemClock, format_time, parse_time
from guestpatch_agent.errors import AgentError, InvalidPackageName, UsageError
from guestpatch_agent.model import Distro, OperationStatus, RebootSetting, Selection
from guestpatch_agent.osrelease import read_distro
from guestpatch_agent.pkgmgr.base import Backend, Root
from guestpatch_agent.pkgmgr.detect import detect_backend
from guestpatch_agent.runner import Runner
from guestpatch_agent.selection import parse_classifications, parse_mask
from guestpatch_agent.settings import HELP, AgentSettings

if TYPE_CHECKING:  # the install/resume/configure modules are imported by their commands only
    from guestpatch_agent.installation import InstallOperation
    from guestpatch_agent.reboot import Rebooter
    from guestpatch_agent.state import InstallState, StateStore

PROG = "guestpatch-agent"
MODES = ("AutomaticByPlatform", "ImageDefault")  # autoupdate.MODES, checked by a test
STATE_DIR = "var/lib/guestpatch-agent"


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad flag is one clear line and exit 2 (no usage block)."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write("{}: error: {}\n".format(PROG, message))
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="guestpatch guest agent: assess and install Linux patches.")
    parser.add_argument("--version", action="version", version="%(prog)s " + __version__)
    common = _Parser(add_help=False)
    common.add_argument("--root", default="/", metavar="DIR", help="serve the file system at DIR (default /)")
    common.add_argument(
        "--state-dir", metavar="DIR", help="where operations are persisted (default ROOT/" + STATE_DIR + ")"
    )
    for setting in fields(AgentSettings):
        common.add_argument(
            "--" + setting.name.replace("_", "-"),
            type=_positive(int if setting.type in (int, "int") else float),
            default=setting.default,
            metavar="N",
            help=HELP[setting.name] + " (default %(default)s)",
        )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    a = commands.add_parser("assess", parents=[common], help="list the available patches (assessPatches)")
    a.add_argument("--no-refresh", action="store_true", help="read the package lists as they are (writes nothing)")
    a.add_argument("--activity-id", type=_activity_id, help="the assessmentActivityId (default: a new UUID)")

    i = commands.add_parser("install", parents=[common], help="install patches (installPatches)")
    i.add_argument("--maximum-duration", required=True, type=_duration, metavar="ISO8601", help="e.g. PT1H")
    i.add_argument("--reboot-setting", required=True, type=_reboot_setting, metavar="|".join(RebootSetting.ALL))
    i.add_argument("--classifications", default="", metavar="LIST", help="Critical,Security,Other (comma-separated)")
    i.add_argument(
        "--include", action="append", default=[], metavar="MASK", help="package mask to include (fnmatch; NAME=VERSION)"
    )
    i.add_argument(
        "--exclude", action="append", default=[], metavar="MASK", help="package mask to exclude (exclusion wins)"
    )
    i.add_argument("--activity-id", type=_activity_id, help="the installationActivityId (default: a new UUID)")
    i.add_argument("--start-time", type=_time, metavar="ISO8601", help="requested start; the window counts from it")
    i.add_argument("--no-refresh", action="store_true", help="do not refresh the repositories first")
    _reboot_flags(i)

    r = commands.add_parser("resume", parents=[common], help="finish an installation interrupted by a reboot or crash")
    _reboot_flags(r)

    c = commands.add_parser("configure-patching", parents=[common], help="disable or restore the OS auto-updaters")
    c.add_argument("--mode", required=True, type=_mode, metavar="|".join(MODES))

    e = commands.add_parser("enroll", parents=[common], help="bind this machine to the control plane")
    e.add_argument("--server", required=True, metavar="URL", help="the control plane, https://HOST:PORT")
    e.add_argument("--token", required=True, metavar="TOKEN", help="enrollment token (guestpatch enroll-token create)")
    e.add_argument("--ca-file", metavar="FILE", help="PEM CA of the server's certificate (default: the system store)")
    e.add_argument("--name", metavar="NAME", help="VM resource name (default: the host name)")
    e.add_argument("--location", metavar="REGION", help="region, needed when the VM resource does not exist yet")
    e.add_argument("--zone", metavar="ZONE", help="availability zone of a new VM resource")
    e.add_argument("--availability-set", metavar="NAME", help="availability set (name or ARM id) of a new VM resource")
    e.add_argument("--time-zone", metavar="TZ", help="IANA time zone of a new VM resource (off-peak windows)")

    d = commands.add_parser("run", parents=[common], help="serve the enrolled machine: the daemon")
    d.add_argument("--once", action="store_true", help="one goal-state poll, its work and a heartbeat, then exit")
    d.add_argument(
        "--assessment-only", action="store_true",
        help="assess only: refuse every installation and leave the OS's auto-updaters as they are",
    )
    d.add_argument("--no-refresh", action="store_true", help="assess without refreshing the package lists (no root)")
    _reboot_flags(d)
    return parser


def _reboot_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--reboot-command",
        type=_command,
        metavar="CMD",
        help="command that reboots the machine (default: systemctl reboot on the host; none under --root)",
    )


# ---------------------------------------------------------------------- flag types (-> one-line errors)
def _typed(function: Any) -> Any:
    def convert(text: str) -> Any:
        try:
            return function(text)
        except (AgentError, ValueError) as exc:
            raise argparse.ArgumentTypeError(str(exc)) from exc

    convert.__name__ = function.__name__.strip("_")
    return convert


def _positive(kind: type) -> Any:
    def positive(text: str) -> Any:
        value = kind(text)
        if value <= 0:
            raise ValueError("{} must be greater than zero".format(text))
        return value

    return _typed(positive)


_duration = _typed(parse_duration)
_time = _typed(parse_time)


@_typed
def _activity_id(text: str) -> str:
    if not text or len(text) > 128 or not all(c.isalnum() or c in "-_." for c in text):
        raise ValueError("invalid activity id {!r}: letters, digits, - _ . (at most 128)".format(text))
    return text


@_typed
def _reboot_setting(text: str) -> str:
    for setting in RebootSetting.ALL:
        if text.lower() == setting.lower():
            return setting
    raise ValueError("invalid reboot setting {!r}: use {}".format(text, ", ".join(RebootSetting.ALL)))


@_typed
def _mode(text: str) -> str:
    for mode in MODES:
        if text.lower() == mode.lower():
            return mode
    raise ValueError("invalid mode {!r}: use {}".format(text, " or ".join(MODES)))


@_typed
def _command(text: str) -> List[str]:
    argv = shlex.split(text)
    if not argv:
        raise ValueError("the reboot command is empty")
    return argv


# ---------------------------------------------------------------------- the runtime
@dataclass
class Runtime:
    runner: Runner
    root: Root
    distro: Distro
    backend: Backend
    state_dir: str
    clock: Clock

    @property
    def store(self) -> "StateStore":
        from guestpatch_agent.state import StateStore

        return StateStore(self.state_dir)


def _runtime(args: argparse.Namespace, *, with_backend: bool = True) -> Runtime:
    if not os.path.isdir(args.root):
        raise UsageError("--root {}: no such directory".format(args.root))
    root = Root(args.root)
    runner = Runner()
    state_dir = args.state_dir or root.join(STATE_DIR)
    distro = read_distro(root) if with_backend else Distro("", "")
    backend: Any = detect_backend(runner, root, distro) if with_backend else None
    return Runtime(runner, root, distro, backend, state_dir, SystemClock())


def _settings(args: argparse.Namespace) -> AgentSettings:
    return AgentSettings(**{f.name: getattr(args, f.name) for f in fields(AgentSettings)})


def _rebooter(args: argparse.Namespace, rt: Runtime) -> Optional["Rebooter"]:
    from guestpatch_agent.reboot import CommandRebooter, system_rebooter

    if args.reboot_command:
        return CommandRebooter(rt.runner, [args.reboot_command])
    return system_rebooter(rt.runner) if rt.root.is_host else None


def _operation(args: argparse.Namespace, rt: Runtime, *, refresh: bool) -> "InstallOperation":
    from guestpatch_agent.installation import InstallOperation
    from guestpatch_agent.reboot import read_boot_id

    return InstallOperation(
        backend=rt.backend,
        distro=rt.distro,
        store=rt.store,
        clock=rt.clock,
        rebooter=_rebooter(args, rt),
        boot_id=lambda: read_boot_id(rt.root),
        settings=_settings(args),
        refresh=refresh,
    )


# ---------------------------------------------------------------------- commands
def cmd_assess(args: argparse.Namespace, out: TextIO) -> int:
    rt = _runtime(args)
    result = assess(
        rt.backend,
        clock=rt.clock,
        activity_id=args.activity_id or str(uuid.uuid4()),
        refresh=not args.no_refresh,
        settings=_settings(args),
    ).to_result(rt.distro)
    return _emit(result, out)


def cmd_install(args: argparse.Namespace, out: TextIO) -> int:
    from guestpatch_agent import state as steps
    from guestpatch_agent.state import InstallRequest, InstallState

    classifications = parse_classifications([args.classifications])
    include = tuple(parse_mask(m).text for m in args.include)
    exclude = tuple(parse_mask(m).text for m in args.exclude)
    if not classifications and not include:
        raise UsageError("give at least one classification (--classifications) or one --include mask")
    rt = _runtime(args)
    request = InstallRequest(
        maximum_duration=args.maximum_duration,
        reboot_setting=args.reboot_setting,
        selection=Selection(classifications, include, exclude),
        start=args.start_time or rt.clock.now(),
    )
    operation = _operation(args, rt, refresh=not args.no_refresh)
    existing = rt.store.load()
    if existing is not None and existing.step != steps.DONE and existing.request.same_request(request):
        sys.stderr.write("{}: resuming installation {}\n".format(PROG, existing.activity_id))
        state, resumed = existing, True
    else:
        if existing is not None:
            if existing.step != steps.DONE:
                existing.add_error("Superseded", "a newer installation request replaced this unfinished one")
                sys.stderr.write("{}: unfinished installation {} superseded\n".format(PROG, existing.activity_id))
            rt.store.archive(existing)
        state, resumed = InstallState(args.activity_id or str(uuid.uuid4()), request), False
        rt.store.save(state)
    return _finish_install(operation.run(state, resumed=resumed), rt, out)


def cmd_resume(args: argparse.Namespace, out: TextIO) -> int:
    from guestpatch_agent.outbox import FOLDER

    rt = _runtime(args)
    state = rt.store.load()
    if state is None or state.reported:
        sys.stderr.write("{}: nothing to resume\n".format(PROG))
        return 0
    if os.path.exists(os.path.join(rt.state_dir, FOLDER, state.activity_id + ".json")):
        sys.stderr.write("{}: installation {} belongs to guestpatch-agent run, which finishes and reports it\n".format(
            PROG, state.activity_id))
        return 0
    operation = _operation(args, rt, refresh=True)
    return _finish_install(operation.run(state, resumed=True), rt, out)


def _finish_install(state: "InstallState", rt: Runtime, out: TextIO) -> int:
    assert state.result is not None
    code = _emit(state.result, out)
    state.reported = True
    rt.store.save(state)
    rt.store.archive(state)
    return code


def cmd_configure(args: argparse.Namespace, out: TextIO) -> int:
    from guestpatch_agent.autoupdate import AutoUpdateControl

    rt = _runtime(args, with_backend=False)
    started = rt.clock.now()
    result: Dict[str, Any] = {
        "status": OperationStatus.SUCCEEDED,
        "activityId": str(uuid.uuid4()),
        "startDateTime": format_time(started),
        "patchMode": args.mode,
    }
    try:
        state, changes = AutoUpdateControl(rt.runner, rt.root, rt.state_dir).configure(args.mode)
        result.update({"automaticOSPatchState": state, "changes": changes, "error": None})
    except AgentError as exc:
        result.update(
            {
                "status": OperationStatus.FAILED,
                "automaticOSPatchState": "Unknown",
                "changes": [],
                "error": {"code": "ConfigurePatchingFailed", "message": str(exc), "details": []},
            }
        )
    return _emit(result, out)


def _emit(result: Dict[str, Any], out: TextIO) -> int:
    out.write(json.dumps(result, indent=2) + "\n")
    out.flush()
    return 1 if result.get("status") == OperationStatus.FAILED else 0


def cmd_enroll(args: argparse.Namespace, out: TextIO) -> int:
    from guestpatch_agent.enroll import cmd_enroll as enroll

    return enroll(args, out)


def cmd_run(args: argparse.Namespace, out: TextIO) -> int:
    from guestpatch_agent.service import cmd_run as run

    return run(args, out, _settings(args))


COMMANDS = {
    "assess": cmd_assess,
    "install": cmd_install,
    "resume": cmd_resume,
    "configure-patching": cmd_configure,
    "enroll": cmd_enroll,
    "run": cmd_run,
}


def main(argv: Optional[Sequence[str]] = None, out: TextIO = sys.stdout) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args, out)
    except (UsageError, InvalidPackageName) as exc:
        sys.stderr.write("{}: error: {}\n".format(PROG, exc))
        return 2
    except AgentError as exc:
        sys.stderr.write("{}: {}\n".format(PROG, exc))
        return 1
