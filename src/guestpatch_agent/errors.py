"""The one exception root of the guest agent, and its tree.

::

    AgentError                         root of every error the agent raises on purpose
    ├── UsageError                     bad command-line input (exit code 2)
    ├── CommandError                   a command failed (argv, returncode, stdout, stderr)
    │   └── CommandTimeout             ... or ran past its timeout and was killed
    ├── PackageManagerError            the package manager failed or said something we cannot parse
    │   ├── RepositoryUnreachable      a configured repository could not be read (names it)
    │   └── LockTimeout                the dpkg/rpm/zypp lock stayed held past our budget
    ├── InvalidPackageName             a package name or mask that could be read as an option
    ├── StateError                     the persisted step machine is unreadable
    ├── ProtocolError                  the control plane and the agent disagree (docs/agent-protocol.md)
    │   ├── ServerError                the server erred (5xx, no answer, malformed answer): retry later
    │   └── RequestRejected            we erred (4xx): do not retry the same request
    │       └── CredentialRevoked      401: the machine credential is not (or no longer) valid
    └── NotEnrolled                    ``run`` without a stored enrollment (``guestpatch-agent enroll`` first)
"""

from typing import Optional, Sequence


class AgentError(Exception):
    """Root of every error the guest agent raises on purpose."""


class UsageError(AgentError):
    """Bad command-line input."""


class CommandError(AgentError):
    """A command exited with a code outside its accepted set."""

    def __init__(
        self,
        argv: Sequence[str],
        returncode: Optional[int],
        stdout: str = "",
        stderr: str = "",
        message: Optional[str] = None,
    ) -> None:
        self.argv = tuple(argv)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        detail = message or _last_line(stderr) or _last_line(stdout)
        program = self.argv[0] if self.argv else "?"
        super().__init__("{} exited with {}{}".format(program, returncode, ": " + detail if detail else ""))


class CommandTimeout(CommandError):
    """A command ran past its timeout and was killed."""

    def __init__(self, argv: Sequence[str], timeout: float, stdout: str = "", stderr: str = "") -> None:
        super().__init__(argv, None, stdout, stderr, message="timed out after {:.0f} s".format(timeout))
        self.timeout = timeout


class PackageManagerError(AgentError):
    """The package manager failed, or its output could not be understood."""


class RepositoryUnreachable(PackageManagerError):
    """A configured repository could not be read."""

    def __init__(self, repository: str, detail: str) -> None:
        super().__init__("repository {} cannot be reached: {}".format(repository, detail))
        self.repository = repository
        self.detail = detail


class LockTimeout(PackageManagerError):
    """The package database lock stayed held past our budget."""


class InvalidPackageName(AgentError):
    """A package name or mask that is not a valid name (and could be read as an option)."""


class StateError(AgentError):
    """The persisted step machine cannot be read."""


class ProtocolError(AgentError):
    """The control plane and the agent disagree."""


class ServerError(ProtocolError):
    """The server erred (5xx, no answer, malformed answer): retry later."""


class RequestRejected(ProtocolError):
    """We erred (4xx): do not retry the same request. ``status`` and ARM ``code`` say how."""

    def __init__(self, message: str, *, status: int, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class CredentialRevoked(RequestRejected):
    """401: the machine credential is unknown to the server (revoked, or the machine enrolled again)."""


class NotEnrolled(AgentError):
    """No stored enrollment: ``guestpatch-agent enroll`` has not run (or its files are unreadable)."""


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""
