"""The FastAPI application: ARM routes, operator API, health, error mapping, auth and body limits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from guestpatch import __version__, metrics, web
from guestpatch.api import errors
from guestpatch.api.agent import routes as agent_routes
from guestpatch.api.agent.fastpath import AgentFastPath
from guestpatch.api.arm import patches as arm_patches
from guestpatch.api.arm import vms as arm_vms
from guestpatch.api.middleware import BearerAuth, BodyLimit
from guestpatch.api.ops import agents as ops_agents
from guestpatch.api.ops import history as ops_history
from guestpatch.api.ops import rollouts as ops_rollouts
from guestpatch.api.ops import topology as ops_topology
from guestpatch.api.state import AppState

#: The dashboard's paths are open here because it authenticates its own pages (session cookie or bearer).
OPEN_PATHS = ("/healthz", *web.PUBLIC_PATHS)
#: Paths authenticated by enrollment tokens or machine credentials instead of operator tokens.
AGENT_PREFIX = "/agent/"
OPEN_PREFIXES = (AGENT_PREFIX, web.PUBLIC_PREFIX)


def create_app(state: AppState, *, background: bool = False, follow: bool = False) -> FastAPI:
    """The application.

    ``background=True``: this process also runs the goal-index catch-up, the operation sweeper and the
    orchestrator (one process does it all). ``follow=True``: this process only keeps its goal index
    current (a worker process of ``guestpatch serve``, where one background process runs the rest).
    """

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if background:
            state.start_background()
        else:
            state.index.load()
            if follow:
                state.index.follow()
        try:
            yield
        finally:
            if background:
                state.stop_background()
            state.index.stop()

    app = FastAPI(
        lifespan=lifespan,
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
    app.include_router(arm_patches.router)
    app.include_router(ops_topology.router)
    app.include_router(ops_agents.router)
    app.include_router(ops_history.router)
    app.include_router(ops_rollouts.router)
    app.include_router(agent_routes.router)
    web.install(app, state)

    @app.get("/healthz", tags=["health"], summary="Liveness and store reachability (no authentication)")
    def healthz() -> JSONResponse:
        state.db.ping()
        return JSONResponse({"status": "ok", "version": __version__})

    app.add_middleware(BearerAuth, tokens=state.tokens, open_paths=OPEN_PATHS, open_prefixes=OPEN_PREFIXES)
    app.add_middleware(AgentFastPath, index=state.index, agents=state.agents, max_wait=state.config.agent_long_poll)
    app.add_middleware(BodyLimit, limit=state.config.max_body_bytes)
    metrics.install(app, state)  # last: its timing middleware wraps all the others
    return app
