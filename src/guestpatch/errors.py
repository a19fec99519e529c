"""The one exception root of the control plane, and its tree.

Every error the control plane raises on purpose derives from :class:`GuestpatchError`.
Each carries what an ARM error body needs (``code``, ``message``, ``target``) and the
HTTP status it maps to, so the API layer renders any of them without knowing the
subclass. Foreign exceptions (SQLAlchemy, httpx, OS errors) are mapped at the
boundary that meets them; they never travel through the core.

::

    GuestpatchError                      500 InternalServerError   (we erred)
    ├── ClientError                      400 InvalidParameter      (the caller erred)
    │   ├── InvalidInput                 400 (code per rule, e.g. InvalidParameter, BadRequest)
    │   ├── AuthenticationFailed         401 AuthenticationFailed
    │   ├── Forbidden                    403 AuthorizationFailed
    │   ├── NotFound                     404 ResourceNotFound
    │   ├── Conflict                     409 Conflict (code per rule, e.g. PropertyChangeNotAllowed)
    │   └── PayloadTooLarge              413 RequestEntityTooLarge
    ├── ConfigError                      a setting, flag or config file is invalid
    ├── StoreError                       the database failed (mapped from SQLAlchemy)
    └── UpstreamError                    the server we called answered with an error (CLI side)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorDetail:
    """One entry of an ARM error body's ``details`` list."""

    code: str
    message: str
    target: str | None = None


class GuestpatchError(Exception):
    """Root of every error the control plane raises on purpose."""

    status: int = 500
    default_code: str = "InternalServerError"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        target: str | None = None,
        details: Sequence[ErrorDetail] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.target = target
        self.details = tuple(details)

    def to_arm(self) -> dict[str, object]:
        """The ARM ``CloudError`` body for this error."""
        error: dict[str, object] = {"code": self.code, "message": self.message}
        if self.target is not None:
            error["target"] = self.target
        if self.details:
            error["details"] = [
                {"code": d.code, "message": d.message, **({"target": d.target} if d.target else {})}
                for d in self.details
            ]
        return {"error": error}


class ClientError(GuestpatchError):
    """The caller erred: bad input, missing resource, conflicting state."""

    status = 400
    default_code = "InvalidParameter"


class InvalidInput(ClientError):
    """A request, flag or document failed validation."""


class AuthenticationFailed(ClientError):
    status = 401
    default_code = "AuthenticationFailed"


class Forbidden(ClientError):
    status = 403
    default_code = "AuthorizationFailed"


class NotFound(ClientError):
    status = 404
    default_code = "ResourceNotFound"


class Conflict(ClientError):
    status = 409
    default_code = "Conflict"


class PayloadTooLarge(ClientError):
    status = 413
    default_code = "RequestEntityTooLarge"


class ConfigError(GuestpatchError):
    """A setting, command-line flag or configuration file is invalid."""

    status = 500
    default_code = "InvalidConfiguration"


class StoreError(GuestpatchError):
    """The database failed; raised where SQLAlchemy errors are mapped."""

    status = 503
    default_code = "StoreUnavailable"


class UpstreamError(GuestpatchError):
    """A server we called (the CLI calling the API) answered with an error body."""

    def __init__(self, message: str, *, status: int, code: str, target: str | None = None) -> None:
        super().__init__(message, code=code, target=target)
        self.status = status
