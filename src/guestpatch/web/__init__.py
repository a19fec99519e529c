"""The web dashboard: server-rendered pages under ``/ui`` (no JavaScript), served by the control plane.

:func:`install` mounts it on the API application. The bearer-token middleware leaves
:data:`PUBLIC_PATHS` and everything under :data:`PUBLIC_PREFIX` to the dashboard, which authenticates
its own pages (session cookie or bearer header; see :mod:`guestpatch.web.auth`). The dashboard reads
through :mod:`guestpatch.services` only, never the store. See ``docs/dashboard.md``.
"""

from __future__ import annotations

from fastapi import FastAPI

from guestpatch.api.state import AppState
from guestpatch.services.counts import Counts
from guestpatch.services.fleet_views import FleetViews
from guestpatch.web import auth, rollouts, routes
from guestpatch.web.sessions import LIFETIME, SessionCodec, key_for

#: Paths the API's bearer middleware hands to the dashboard unauthenticated (the dashboard decides).
PUBLIC_PATHS = ("/", "/ui")
PUBLIC_PREFIX = "/ui/"


def install(app: FastAPI, state: AppState) -> None:
    """Mount the dashboard on ``app``: its routes, and its session key (``DATA_DIR/dashboard-session.key``)."""
    app.state.dashboard = auth.Dashboard(
        state=state,
        # a session lasts LIFETIME of wall time, also under the demo's accelerated clock (its rate)
        codec=SessionCodec(key_for(state.config.data_dir), lifetime=LIFETIME * getattr(state.clock, "rate", 1.0)),
        fleet=FleetViews(state.db, state.config, state.clock, state.catalogs, state.views),
        counts=Counts(state.db),
    )
    app.include_router(routes.root)
    app.include_router(auth.router)
    app.include_router(rollouts.router)
    app.include_router(routes.router)  # last: it ends with the catch-all not-found page
