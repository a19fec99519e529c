"""API tokens, stored as SHA-256 hashes (tokens are 256-bit random strings, so a plain hash suffices).

The set of valid hashes is small and read on every request, so :class:`TokenCache` keeps it in memory
and refreshes it at most every few seconds; a revoked token stops working within that interval.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from guestpatch.store.tables import api_tokens

TOKEN_PREFIX = "gpt_"  # noqa: S105 - a prefix, not a secret


@dataclass(frozen=True)
class TokenInfo:
    id: int
    name: str
    role: str


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create(conn: Connection, *, name: str, role: str, token: str, now: datetime) -> TokenInfo:
    result = conn.execute(
        insert(api_tokens)
        .values(name=name, role=role, token_hash=hash_token(token), created_at=now)
        .returning(api_tokens.c.id)
    )
    return TokenInfo(id=int(result.scalar_one()), name=name, role=role)


def revoke(conn: Connection, token_id: int, *, now: datetime) -> bool:
    result = conn.execute(
        update(api_tokens).where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None)).values(revoked_at=now)
    )
    return result.rowcount == 1


def active(conn: Connection) -> dict[str, TokenInfo]:
    rows = conn.execute(
        select(api_tokens.c.id, api_tokens.c.name, api_tokens.c.role, api_tokens.c.token_hash).where(
            api_tokens.c.revoked_at.is_(None)
        )
    ).mappings()
    return {r["token_hash"]: TokenInfo(id=r["id"], name=r["name"], role=r["role"]) for r in rows}


class TokenCache:
    """Valid token hashes in memory, reloaded from the store at most every ``ttl`` seconds.

    An unknown token triggers a reload (a token just created on another replica), but at most once
    per ``miss_interval`` seconds, so that a stream of bad tokens cannot hammer the database.
    """

    def __init__(
        self, load: Callable[[], dict[str, TokenInfo]], *, ttl: float = 5.0, miss_interval: float = 1.0
    ) -> None:
        self._load = load
        self._ttl = ttl
        self._miss_interval = miss_interval
        self._hashes: dict[str, TokenInfo] = {}
        self._loaded_at = float("-inf")
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        with self._lock:
            self._loaded_at = float("-inf")

    def check(self, token: str) -> TokenInfo | None:
        digest = hash_token(token)
        info = self._current(self._ttl).get(digest)
        if info is None:
            info = self._current(self._miss_interval).get(digest)
        return info

    def _current(self, max_age: float) -> dict[str, TokenInfo]:
        now = time.monotonic()
        with self._lock:
            if now - self._loaded_at > max_age:
                self._hashes = self._load()
                self._loaded_at = now
            return self._hashes
