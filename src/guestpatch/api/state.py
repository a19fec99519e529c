"""What the request handlers share: configuration, store, clock, catalogs and the services."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from guestpatch.clock import Clock
from guestpatch.config import Config
from guestpatch.services import views
from guestpatch.services.catalogs import Catalogs
from guestpatch.services.vms import VmService
from guestpatch.store import tokens as token_store
from guestpatch.store.db import Database
from guestpatch.store.tokens import TokenCache
from guestpatch.store.vms import VmRecord


@dataclass
class AppState:
    config: Config
    db: Database
    clock: Clock
    catalogs: Catalogs
    tokens: TokenCache = field(init=False)
    vms: VmService = field(init=False)

    def __post_init__(self) -> None:
        def load() -> dict[str, token_store.TokenInfo]:
            with self.db.connect() as conn:
                return token_store.active(conn)

        self.tokens = TokenCache(load)
        self.vms = VmService(self.db, self.catalogs, self.config, self.clock)

    def instance_view(self, record: VmRecord) -> dict[str, Any]:
        now = self.clock.now()
        with self.db.connect() as conn:
            images = self.catalogs.images(conn)
        return views.instance_view(record, images=images, today=now.date(), now=now)


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.guestpatch
    return state
