"""The FastAPI application: ARM routes, operator API, health, error mapping, auth and body limits."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from guestpatch import __version__
from guestpatch.api import errors
from guestpatch.api.arm import vms as arm_vms
from guestpatch.api.middleware import BearerAuth, BodyLimit
from guestpatch.api.ops import topology as ops_topology
from guestpatch.api.state import AppState

OPEN_PATHS = ("/healthz",)


def create_app(state: AppState) -> FastAPI:
    app = FastAPI(
        title="guestpatch",
        version=__version__,
        description=(
            "Self-hosted automatic guest patching. ARM routes (`/subscriptions/...`) are wire-compatible "
            "with Azure's Compute API; operator routes live under `/v1`. Every route except `GET /healthz` "
            "needs `Authorization: Bearer <token>`."
        ),
        docs_url=None,
        redoc_url=None,
    )
    app.state.guestpatch = state
    errors.install(app)
    app.include_router(arm_vms.router)
    app.include_router(ops_topology.router)

    @app.get("/healthz", tags=["health"], summary="Liveness and store reachability (no authentication)")
    def healthz() -> JSONResponse:
        state.db.ping()
        return JSONResponse({"status": "ok", "version": __version__})

    app.add_middleware(BearerAuth, tokens=state.tokens, open_paths=OPEN_PATHS)
    app.add_middleware(BodyLimit, limit=state.config.max_body_bytes)
    return app
