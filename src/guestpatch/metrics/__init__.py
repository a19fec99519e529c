"""Prometheus metrics: ``GET /metrics`` in the Prometheus text format, behind the API's bearer token.

Two kinds of figures (``docs/metrics.md`` lists every metric):

- **From the store, at scrape time** (:class:`~guestpatch.metrics.collector.FleetCollector`): machines by
  patch status, Critical/Security patches pending by region, operations by kind and state, rollout
  progress and halts. Any worker or replica that is scraped gives the same answer.
- **Measured in each server process** (:mod:`guestpatch.metrics.requests`): request durations by route
  template, and the agents' check-in latency. ``guestpatch serve`` runs several worker processes, so each
  writes its histograms to ``DATA_DIR/metrics`` and a scrape adds up every worker's
  (:mod:`guestpatch.metrics.tally`).

:func:`install` is called last by :func:`guestpatch.api.app.create_app`, so that the timing middleware
wraps every other one.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from starlette.concurrency import run_in_threadpool

from guestpatch.api.state import AppState
from guestpatch.metrics.collector import FleetCollector, RequestCollector
from guestpatch.metrics.requests import RequestMetrics, checkin_tally, request_tally
from guestpatch.metrics.tally import Recorder, directory_for
from guestpatch.services.counts import Counts
from guestpatch.services.fleet_views import FleetViews

PATH = "/metrics"


def install(app: FastAPI, state: AppState) -> Recorder:
    """Add ``GET /metrics`` and the request-timing middleware (outermost) to ``app``; returns the recorder."""
    requests, checkins = request_tally(), checkin_tally()
    recorder = Recorder((requests, checkins), directory=directory_for(state.config.data_dir))
    recorder.start()
    registry = CollectorRegistry()
    registry.register(RequestCollector(recorder))
    registry.register(FleetCollector(FleetViews(state.db, state.config, state.clock, state.catalogs, state.views),
                                     Counts(state.db)))

    @app.get(PATH, include_in_schema=False)
    async def metrics() -> Response:
        body = await run_in_threadpool(generate_latest, registry)
        return Response(body, media_type=CONTENT_TYPE_PLAIN_0_0_4)

    app.add_middleware(RequestMetrics, requests=requests, checkins=checkins, routes=lambda: app.router.routes)
    app.state.metrics = recorder
    return recorder
