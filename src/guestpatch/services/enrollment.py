"""Operators create enrollment tokens; agents spend them in ``POST /agent/v1/enroll``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from guestpatch.clock import Clock
from guestpatch.core.durations import format_duration, parse_duration
from guestpatch.errors import InvalidInput
from guestpatch.store import agents as agent_store
from guestpatch.store.db import Database

MAX_LIFETIME = timedelta(days=365)
MAX_USES = 100_000


@dataclass(frozen=True)
class Enrollment:
    db: Database
    clock: Clock

    def create_token(
        self, *, subscription: str, resource_group: str, expires_in: str = "PT1H", uses: int = 1
    ) -> dict[str, Any]:
        lifetime = parse_duration(expires_in, target="expiresIn")
        if not timedelta(minutes=1) <= lifetime <= MAX_LIFETIME:
            raise InvalidInput("'expiresIn' must be between PT1M and P365D.", target="expiresIn")
        if isinstance(uses, bool) or not isinstance(uses, int) or not 1 <= uses <= MAX_USES:
            raise InvalidInput(f"'uses' must be an integer between 1 and {MAX_USES}.", target="uses")
        now = self.clock.now().replace(microsecond=0)
        token = agent_store.new_secret(agent_store.ENROLLMENT_PREFIX)
        with self.db.begin() as conn:
            grant = agent_store.create_enrollment_token(
                conn, token=token, subscription=subscription, resource_group=resource_group,
                expires_at=now + lifetime, max_uses=uses, now=now,
            )
        return {
            "token": token,
            "subscription": grant.subscription,
            "resourceGroup": grant.resource_group,
            "expiresAt": grant.expires_at.isoformat().replace("+00:00", "Z"),
            "expiresIn": format_duration(lifetime),
            "uses": grant.max_uses,
        }
