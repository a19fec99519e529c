"""Dashboard sessions: signed cookies, their CSRF tokens, and the key that signs both.

A session is not stored on the server: the cookie carries ``{token id, token name, session id,
expiry}`` signed with HMAC-SHA256. Signed rather than stored because ``guestpatch serve`` runs several
worker processes that share no memory; every worker of one data directory reads the same key file
(``DATA_DIR/dashboard-session.key``, created on first use, mode 0600). A session is honoured only while
its API token is still active, so revoking the token ends its sessions at once.

The CSRF token of a session is HMAC(key, "csrf:" + session id): a hidden field in every form that
changes state, compared in constant time on POST. Together with ``SameSite=Strict`` a page of another
site can neither read the token nor make the browser send the cookie.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

log = logging.getLogger(__name__)

#: ``__Host-``: the browser accepts it only with Secure, Path=/ and no Domain (no subdomain can set it).
COOKIE_NAME = "__Host-guestpatch-session"
KEY_FILE = "dashboard-session.key"
LIFETIME = timedelta(hours=8)
_KEY_BYTES = 32


@dataclass(frozen=True)
class Session:
    token_id: int
    token_name: str
    session_id: str
    expires: datetime


class SessionCodec:
    """Issues and reads session cookies signed with ``key``."""

    def __init__(self, key: bytes, *, lifetime: timedelta = LIFETIME) -> None:
        if len(key) < 16:
            raise ValueError("a session key needs at least 16 bytes")
        self._key = key
        self.lifetime = lifetime

    def issue(self, *, token_id: int, token_name: str, now: datetime) -> tuple[str, Session]:
        """A new session for the API token ``token_id``; returns the cookie value and the session."""
        session = Session(token_id, token_name, secrets.token_urlsafe(18), now + self.lifetime)
        payload = json.dumps(
            {"t": token_id, "n": token_name, "s": session.session_id, "e": int(session.expires.timestamp())},
            separators=(",", ":"),
        ).encode()
        body = _b64(payload)
        return f"{body}.{self._sign(body.encode())}", session

    def read(self, value: str, *, now: datetime) -> Session | None:
        """The session in a cookie value, or None if it is malformed, forged or expired."""
        body, _, signature = value.partition(".")
        if not body or not signature or not hmac.compare_digest(signature, self._sign(body.encode())):
            return None
        try:
            data = json.loads(_unb64(body))
            token_id, name, sid, expiry = int(data["t"]), str(data["n"]), str(data["s"]), int(data["e"])
        except (ValueError, KeyError, TypeError, binascii.Error):
            return None
        expires = datetime.fromtimestamp(expiry, tz=now.tzinfo)
        if expires <= now:
            return None
        return Session(token_id, name, sid, expires)

    def csrf_token(self, session: Session) -> str:
        return self._sign(b"csrf:" + session.session_id.encode())

    def csrf_ok(self, session: Session, presented: str | None) -> bool:
        """Whether ``presented`` is this session's CSRF token (constant-time comparison)."""
        return bool(presented) and hmac.compare_digest(self.csrf_token(session).encode(), (presented or "").encode())

    def _sign(self, data: bytes) -> str:
        return _b64(hmac.new(self._key, data, hashlib.sha256).digest())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_or_create_key(directory: Path) -> bytes:
    """The key in ``directory/KEY_FILE``, created (0600) by whichever worker gets there first."""
    path = directory / KEY_FILE
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        key = b""
    if len(key) >= _KEY_BYTES:
        return key
    temporary = directory / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(_KEY_BYTES))
        try:
            os.link(temporary, path)  # fails if another worker linked its key first: then use theirs
        except FileExistsError:
            pass
    finally:
        temporary.unlink(missing_ok=True)
    return path.read_bytes()


def key_for(data_dir: Path | None) -> bytes:
    """The data directory's key file when the directory exists; else a key for this process only."""
    if data_dir is not None and data_dir.is_dir():
        try:
            return load_or_create_key(data_dir)
        except OSError as exc:
            log.warning(
                "cannot keep the dashboard session key in %s (%s): sessions last only as long as this process "
                "and are not shared with other workers", data_dir, exc,
            )
    return secrets.token_bytes(_KEY_BYTES)
