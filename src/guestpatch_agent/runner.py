"""Run commands: argv lists only, never a shell; a timeout on every call; structured failures.

The :class:`Runner` is the agent's only door to other programs. Tests point it at the real package
managers (in disposable roots) or at small real scripts; nothing patches ``subprocess``.
"""

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from typing import Dict, Mapping, Optional, Sequence, Tuple

from guestpatch_agent.errors import CommandError, CommandTimeout

#: Environment every command gets: parseable output, no prompts.
BASE_ENV = {"LC_ALL": "C", "LANG": "C", "DEBIAN_FRONTEND": "noninteractive", "NEEDRESTART_MODE": "l"}

DEFAULT_TIMEOUT = 600.0


@dataclass(frozen=True)
class CommandResult:
    argv: Tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    seconds: float


class Runner:
    """Runs argv lists with a fixed base environment plus per-call additions."""

    def __init__(self, env: Optional[Mapping[str, str]] = None, inherit: bool = True) -> None:
        base: Dict[str, str] = dict(os.environ) if inherit else {}
        base.setdefault("PATH", os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"))
        base.update(BASE_ENV)
        if env:
            base.update(env)
        self._env = base

    @property
    def env(self) -> Dict[str, str]:
        return dict(self._env)

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float = DEFAULT_TIMEOUT,
        ok_codes: Sequence[int] = (0,),
        env: Optional[Mapping[str, str]] = None,
        cwd: Optional[str] = None,
        stdin: Optional[str] = None,
    ) -> CommandResult:
        """Run ``argv``; raise :class:`CommandError` unless the exit code is in ``ok_codes``."""
        if isinstance(argv, str) or not argv:
            raise TypeError("argv must be a non-empty sequence of strings, never a shell string")
        args = [str(a) for a in argv]
        call_env = dict(self._env)
        if env:
            call_env.update(env)
        started = time.monotonic()
        try:
            # A new session, so that a timeout kills the whole tree (apt-get -> dpkg -> scripts).
            proc = subprocess.Popen(
                args,
                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=call_env,
                cwd=cwd,
                universal_newlines=True,
                errors="replace",
                start_new_session=True,
            )
        except OSError as exc:
            raise CommandError(args, None, "", str(exc), message=str(exc)) from exc
        try:
            out, err = proc.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_tree(proc)
            out, err = proc.communicate()
            raise CommandTimeout(args, timeout, out or "", err or "") from None
        result = CommandResult(tuple(args), proc.returncode, out, err, time.monotonic() - started)
        if proc.returncode not in ok_codes:
            raise CommandError(args, proc.returncode, out, err)
        return result


def _kill_tree(proc: "subprocess.Popen[str]") -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
